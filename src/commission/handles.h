/*
 * The public handles of commission.h: a plan version (its document read and written back
 * canonically) and a run (a plan's copy, its payees, quotas and splits, and the engine's
 * result). Internal: plan storage and the ledger make and read these.
 */
#ifndef SPI_COMMISSION_HANDLES_H
#define SPI_COMMISSION_HANDLES_H

#include "../core/internal.h"
#include "credit.h"
#include "engine.h"
#include "plan_doc.h"
#include "salesplan/commission.h"

struct sp_commission_plan {
    sp_ctx *ctx;
    spi_cplan doc;
    char *json;        /* the canonical document, NUL-terminated */
    size_t len;
    sp_calendar *cal;
    uint32_t revision; /* the stored revision it came from; 0: not stored */
};

/* A plan handle from a read document (taken over: freed on failure too) and the revision
 * it was stored under. SP_ENOMEM, or the calendar's SP_EINVAL. */
int spi_commission_plan_make(sp_commission_plan **out, sp_ctx *ctx, spi_cplan *doc,
                             uint32_t revision);

struct sp_commission_run {
    sp_ctx *ctx;
    spi_cplan plan;           /* the plan's copy */
    char *plan_json;          /* its canonical document (explain names paths in it) */
    uint32_t revision;        /* the plan's stored revision */
    sp_commission_run_options opts;
    uint32_t period;          /* spi_cplan_period of opts.grain */
    size_t np;
    uint32_t *payees;         /* np dict indices */
    int64_t *quotas;          /* np x ncomponents, or NULL */
    int64_t *used_quotas;     /* the last compute's, prorated by the days on the version */
    bool *from_set;           /* ncomponents: its quotas came from a target set */
    spi_split_table *splits;  /* NULL: none */
    int64_t *carry;           /* np x (1 + ncomponents), or NULL: zeros */
    int32_t *assign_first, *assign_last; /* np each, or NULL: every payee every day */
    spi_cpaid *paid;          /* ascending (fact, payee, component); NULL: none */
    spi_cadjust *adjust;      /* nadjust, in the order added */
    char **reasons;           /* nadjust */
    size_t nadjust, capadjust;
    size_t npaid;
    sp_hierarchy *hierarchy;  /* the payees' (a copy), for roll-ups; NULL: none */
    bool computed;
    spi_crun res;
    int64_t *totals;          /* np: each payee's total */
    char *ids;                /* the payees' ids at the last compute, NUL-separated */
    size_t *id_at;            /* np: where payee k's id starts in ids */
};

#endif /* SPI_COMMISSION_HANDLES_H */
