/*
 * Caps carried forward and draws (docs/commission.md, "Caps carried forward and draws"):
 * the step after a run's schedules, on its per-payee component totals. A run computes one
 * period; what carries between periods is a per-payee carry state the caller passes in
 * (spi_cengine_input.carry_in) and gets out (spi_crun.carry): the recoverable draw's
 * balance and each component's cap excess carried forward (the public run's
 * sp_commission_run_set_carry and the statements' carry).
 *
 * Per component with a cap, for a payee whose period's payout before the cap is A (after
 * the gate and accelerators, before the bonuses, rounded) and carried-in excess K:
 * room = cap - min(A, cap), excess = max(A - cap, 0); with carry_forward the component
 * pays released = min(K, room) more and carries K - released + excess out (example 3.4);
 * without, the excess is lost (a line shows it). Per payee with a draw D settled in the
 * run (its period is the run's), E the statement's total after the releases: E < D pays
 * the top-up D - E (recoverable: added to the balance B); a recoverable draw with E > D
 * recovers min(B, E - D) (examples 4.1, 4.2); the close of the period holding forgive_on
 * forgives what is left of B (example 4.3).
 */
#ifndef SPI_COMMISSION_DRAW_H
#define SPI_COMMISSION_DRAW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_doc.h"
#include "salesplan/core.h"
#include "salesplan/storage.h"
#include "schedule.h"

struct spi_crun;
struct spi_cline;

/* The carry state: a row of SPI_CCARRY_WIDTH(ncomponents) values per payee, each >= 0:
 * the draw balance (recoverable: advanced and not yet recovered), then per component the
 * cap excess carried forward (0 for a component without carry_forward). */
#define SPI_CCARRY_WIDTH(nc) ((size_t)(nc) + 1u)
#define SPI_CCARRY_DRAW 0u
#define SPI_CCARRY_CAP(c) ((size_t)(c) + 1u)

/* A statement line's component when it belongs to no component (a draw's lines). */
#define SPI_CLINE_NO_COMPONENT UINT16_MAX

/* One payee's cap on one component in the run (all 0 for a component that is not due or
 * has no cap). */
typedef struct spi_ccap_out {
    int64_t room;     /* cap - min(A, cap): what the period's cap leaves (> cap when A < 0) */
    int64_t excess;   /* max(A - cap, 0): held back this period (carried or lost) */
    int64_t released; /* of the carried-in excess, paid this period under the cap */
} spi_ccap_out;

/* One payee's draw in the run (all 0 but balance when no draw is settled in it). */
typedef struct spi_cdraw_out {
    int64_t earned;    /* E: the statement's total before the draw's lines */
    int64_t paid;      /* the top-up max(D - E, 0) */
    int64_t recovered; /* recoverable: min(B, E - D) when E > D */
    int64_t forgiven;  /* the balance forgiven at the close of the period holding forgive_on */
    int64_t balance;   /* after the run (the carry state's draw balance) */
} spi_cdraw_out;

/* What the step reads of the run. */
typedef struct spi_csettle {
    const spi_cplan *plan;
    const sp_dict *dict;      /* names the payees in messages */
    const uint32_t *payees;   /* npayees dict indices */
    size_t npayees;
    const int64_t *carry_in;  /* npayees x SPI_CCARRY_WIDTH(ncomponents); NULL: zeros */
    uint32_t run_period;      /* spi_cplan_period of the run */
    const bool *due;          /* per component: computed in this run */
    const int32_t *end;       /* per component: its period's days end (its lines' last day + 1) */
    int32_t first, end_day;   /* the run's period within the version: the draw's days */
    const int64_t *draw_amounts; /* npayees: each payee's draw (prorated); NULL: the plan's */
} spi_csettle;

/*
 * Check the plan's draw against the run's period (a draw is settled in a run of its own
 * period) and the carry-in (no negative value; a cap excess only for a component that
 * carries it, a draw balance only under a recoverable draw). SP_EINVAL naming the payee
 * and component. Reads plan, dict, payees, npayees, carry_in and run_period only.
 */
int spi_csettle_check(sp_ctx *ctx, const spi_csettle *s);

/*
 * The room and excess (spi_ccap_out) of payee p's cap on component c, whose schedule k
 * (thresholds set for the payee) has a cap, at the period's credited measure: from the
 * schedule's value at the measure, per total whatever the plan's policy (as the cap
 * itself). SP_EOVERFLOW naming the payee and component.
 */
int spi_csettle_cap(sp_ctx *ctx, const spi_csettle *s, size_t p, size_t c,
                    const spi_schedule *k, int64_t measure, uint32_t mode, spi_ccap_out *out);

/*
 * Settle the run out (its totals, caps' room and excess, and its statements and lines
 * when it has them): the carried-in cap excess released into the component totals, the
 * draw, the carry state after the run (out->carry) and the draw figures (out->draws);
 * statement lines of the kinds SPI_CLINE_CAP_RELEASE .. SPI_CLINE_DRAW_FORGIVEN added
 * (each component's after its lines, the draw's after every component's) with the
 * statements' totals. SP_ENOMEM, SP_EOVERFLOW naming the payee (and component); on error
 * out is partly updated and only fit for spi_crun_free.
 */
int spi_csettle_apply(sp_ctx *ctx, const spi_csettle *s, struct spi_crun *out);

/*
 * Insert new statement lines into out's lines (out has statements): add holds each payee's
 * nadd[p] lines packed, payee after payee, each payee's in ascending component order
 * (SPI_CLINE_NO_COMPONENT last); each goes after the payee's lines of its component (the
 * settlement's, the roll-ups' overrides). The statements' first and nlines follow, not
 * their totals. SP_ENOMEM with out unchanged.
 */
int spi_clines_insert(sp_ctx *ctx, struct spi_crun *out, const struct spi_cline *add,
                      const size_t *nadd);

#endif /* SPI_COMMISSION_DRAW_H */
