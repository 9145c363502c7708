/*
 * The commission ledger (docs/commission.md, "Statements and the ledger"): computed runs
 * posted through sp_storage, periods closed, corrections of closed periods posted as delta
 * lines into an open one, statements read back. The public ledger (ledger_api.c) is over
 * these: sp_commission_run_post over spi_cledger_post, sp_commission_period_close over
 * spi_cledger_close.
 *
 * A ledger is keyed by the plan id. Its record lists every statements object of the plan
 * with its period's state (open: a draft that the next post of the period replaces;
 * closed: frozen). Per period there are its own statements (the posted run) and any number
 * of correction sections, each holding the delta lines that correct one closed period.
 * Every post and close is one transaction (spi_store_write); on any error the store is as
 * it was. docs/record-format.md has the records:
 *
 *   commission.ledger             str(plan)                                 revised
 *   commission.ledger.chunk       str(plan) u32(chunk)
 *   commission.statements         str(plan) str(period)                     revised
 *   commission.statements.chunk   str(plan) str(period) u32(chunk)
 *   commission.delta              str(plan) str(period) str(corrected)      revised
 *   commission.delta.chunk        str(plan) str(period) str(corrected) u32(chunk)
 */
#ifndef SPI_COMMISSION_LEDGER_H
#define SPI_COMMISSION_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "salesplan/storage.h"

/* A period's key: "2027" (a year), "2027-Q1" (a quarter), "2027-M03" (a month), the fiscal
 * year and the 1-based period of the plan's calendar. Room for one with its NUL. */
#define SPI_CLEDGER_KEY_CAP 16

/* A fiscal period of the plan's calendar. */
typedef struct spi_cledger_period {
    int32_t fiscal_year; /* 1 .. 9999 */
    uint32_t grain;      /* spi_cplan_period */
    uint32_t index;      /* 0-based: 0 .. 11 months, 0 .. 3 quarters, 0 for the year */
} spi_cledger_period;

/* The state of a posted period. */
typedef enum spi_cledger_state {
    SPI_CLEDGER_OPEN = 0,  /* a draft: the next post of the period replaces its statements */
    SPI_CLEDGER_CLOSED = 1 /* frozen: later runs of it post corrections elsewhere */
} spi_cledger_state;

/*
 * A computed run and what identifies it: the plan, the version's effective-from day and
 * revision, the ids of its payees (payee i of the run is payees[i]) and components (in the
 * plan's order), its period, its currency and the plan's rounding. The run must have its
 * lines (want_lines). Read during the call only.
 */
typedef struct spi_cledger_run {
    const spi_crun *run;
    const char *plan;              /* the plan id: 1 to 255 bytes of UTF-8 */
    int32_t plan_from;             /* the version's effective-from day */
    uint32_t plan_revision;        /* the version's stored revision (0: not stored) */
    const char *const *payees;     /* run->npayees distinct ids */
    const char *const *components; /* run->ncomponents distinct ids */
    spi_cledger_period period;
    const char *currency;          /* ISO 4217: gives the exponent */
    uint32_t rounding_mode;        /* sp_round_mode */
    uint32_t policy;               /* spi_cplan_policy */
} spi_cledger_run;

/* What a post wrote. */
typedef struct spi_cledger_posted {
    char period[SPI_CLEDGER_KEY_CAP];   /* the period written into */
    char corrects[SPI_CLEDGER_KEY_CAP]; /* "": its own statements; else the closed period
                                           whose corrections these are */
    bool written;       /* false: a correction found nothing to change (nothing written) */
    bool removed;       /* the corrections of `corrects` in `period` were withdrawn: the new
                           truth is what the rest of the ledger holds */
    uint32_t revision;  /* the ledger's revision after the post */
    size_t npayees, nlines;
    int64_t total;      /* the sum of the lines written */
} spi_cledger_posted;

/*
 * Post a run. Its period open (or never posted): the run becomes the period's statements,
 * replacing the draft; `into` must then be NULL or that period. Its period closed: refused
 * (SP_ECONFLICT) unless `into` names a period that is not closed; then the lines by which
 * the run differs from what the ledger holds for the closed period (its statements and
 * every correction of it) are posted into `into` as that period's corrections of the
 * closed one, replacing those it held. One transaction; `out` (may be NULL) says what was
 * written. Errors: SP_EINVAL (the run, naming the payee, component or fact), SP_ECONFLICT,
 * SP_EOVERFLOW, SP_ECORRUPT (stored records), SP_ENOMEM, the store's; nothing written.
 */
int spi_cledger_post(sp_ctx *ctx, const sp_storage *st, const spi_cledger_run *run,
                     const spi_cledger_period *into, spi_cledger_posted *out);

/* Close a period of a plan's ledger: SP_ENOTFOUND when it was never posted, SP_ECONFLICT
 * when it is closed already. One transaction. */
int spi_cledger_close(sp_ctx *ctx, const sp_storage *st, const char *plan,
                      const spi_cledger_period *period);

/* One statements object of a ledger: a period's own statements, or its corrections of a
 * closed period. */
typedef struct spi_cledger_entry {
    spi_cledger_period period;
    char key[SPI_CLEDGER_KEY_CAP];
    char corrects[SPI_CLEDGER_KEY_CAP]; /* "" for the period's own statements */
    uint32_t state;                     /* spi_cledger_state, the period's */
    uint32_t revision;                  /* the object's */
    uint32_t npayees;
    uint64_t nlines;
    int64_t total;
} spi_cledger_entry;

/* A ledger's entries: by period (fiscal year, then month, quarter, year, then index), a
 * period's own statements before its corrections (by the key of the period corrected). */
typedef struct spi_cledger_list {
    uint32_t revision; /* the ledger's */
    size_t n;
    spi_cledger_entry *entries;
} spi_cledger_list;

/* The ledger of `plan` (SP_ENOTFOUND when nothing was posted). */
int spi_cledger_entries(sp_ctx *ctx, const sp_storage *st, const char *plan,
                        spi_cledger_list *out);
void spi_cledger_list_free(sp_ctx *ctx, spi_cledger_list *list);

/*
 * A statements object in memory: its head (the run's identification, the rounding echoed)
 * and its payees' statements. Delta lines hold differences in base, earned, own and
 * true_up, with the share, rate and tiers of the recomputed line (of the posted one when
 * the line is gone), ordered within a payee by component, fact id and kind.
 */
typedef struct spi_cposting {
    char plan[SPI_CPLAN_ID_MAX + 1];
    char period[SPI_CLEDGER_KEY_CAP];
    char corrects[SPI_CLEDGER_KEY_CAP]; /* "" for the period's own statements */
    uint32_t revision;
    int32_t plan_from;
    uint32_t plan_revision;
    char currency[4];
    int32_t exponent;
    uint32_t rounding_mode, policy;
    size_t ncomponents;
    char **components;
    bool *due;              /* own statements: per component (else NULL) */
    int32_t *first, *end;   /* own statements: per component, its period's days */
    size_t npayees;
    char **payees;
    spi_cstatement *statements; /* npayees; total: the sum of the payee's lines */
    int64_t *totals;        /* npayees x ncomponents: the sums of the lines */
    int64_t *measures;      /* npayees x ncomponents (corrections: the differences) */
    size_t nlines;
    spi_cline *lines;       /* component: an index of `components` */
    int64_t total;
} spi_cposting;

/* Load a period's own statements (`corrects` NULL) or its corrections of `corrects`,
 * whole. Strict: records that do not hold together are SP_ECORRUPT naming them. */
int spi_cledger_load(sp_ctx *ctx, const sp_storage *st, const char *plan,
                     const spi_cledger_period *period, const spi_cledger_period *corrects,
                     spi_cposting *out);
void spi_cposting_free(sp_ctx *ctx, spi_cposting *p);

/* A payee's statement for a period: its parts, each an spi_cposting of that one payee (its
 * payee, statement, totals, measures and lines; its total the payee's) from the period's
 * own statements first when the payee has a part there, then from its corrections by the
 * key of the period corrected; and the total of the parts. */
typedef struct spi_cledger_statement {
    char period[SPI_CLEDGER_KEY_CAP];
    uint32_t state; /* spi_cledger_state */
    size_t nparts;
    spi_cposting *parts;
    int64_t total;
} spi_cledger_statement;

/* Only the records the payee's statement is in are read. SP_ENOTFOUND when the period was
 * never posted or holds nothing for the payee. */
int spi_cledger_statement_load(sp_ctx *ctx, const sp_storage *st, const char *plan,
                               const spi_cledger_period *period, const char *payee,
                               spi_cledger_statement *out);
void spi_cledger_statement_free(sp_ctx *ctx, spi_cledger_statement *s);

/* The key of a period ("2027-Q1") into buf (SPI_CLEDGER_KEY_CAP bytes); false when the
 * period is not one (a year outside 1 .. 9999, no such grain or index). */
bool spi_cledger_period_key(const spi_cledger_period *p, char *buf);
/* A key back to its period: true only for a key spi_cledger_period_key writes. */
bool spi_cledger_period_parse(const char *key, size_t len, spi_cledger_period *out);

#endif /* SPI_COMMISSION_LEDGER_H */
