/*
 * The commission engine (docs/commission.md, "The engine"): one period's statements for
 * the payees of one plan version, in memory. Internal: the public run (run.c) calls it.
 *
 * It reads, per component's basis, order lines (basis "booking", credited on their day),
 * invoice lines (basis "invoice", from the run's invoice source, credited on the invoice
 * day) and their refunds (negative, on their day, credited like the line they reference),
 * or payments (basis "payment": a line credited as it is paid, by the cumulative rule of
 * spi_credit_paid, on the payment's day); measures amount, quantity, margin, lines and
 * deals; applies the component's filter, splits (credit.h) and schedule (convert.h,
 * schedule.h) under the plan's rounding mode and policy, and the SPIFFs, then settles
 * the caps carried forward and the draw against the carry state (draw.h); a component's
 * roll-up credits the managers above the credited payees their overrides (credit.h),
 * after the schedules and before the settlement. Two paths that
 * agree: statements with their lines (spi_cengine_run with want_lines), or the totals
 * only (one pass summing the period's measure by payee, where the policy allows it).
 */
#ifndef SPI_COMMISSION_ENGINE_H
#define SPI_COMMISSION_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "credit.h"
#include "draw.h"
#include "plan_doc.h"
#include "salesplan/core.h"
#include "salesplan/hierarchy.h"
#include "salesplan/storage.h"

/* What a statement line comes from (the order of kinds within a day). On the invoice
 * basis an order line is an invoice line, a refund a credit note or a reversal. */
typedef enum spi_cline_kind {
    SPI_CLINE_ORDER = 0,        /* an order (or invoice) line's credit through the schedule */
    SPI_CLINE_ORDER_SPIFF = 1,  /* a SPIFF on an order line */
    SPI_CLINE_REFUND = 2,       /* a refund's (negative) credit through the schedule */
    SPI_CLINE_REFUND_SPIFF = 3, /* a SPIFF reversed by a refund */
    SPI_CLINE_PAYMENT = 4,      /* a payment's credit of its line (negative: a reversal) */
    SPI_CLINE_PAYMENT_SPIFF = 5, /* the part of its line's SPIFF a payment pays */
    /* The settlement's lines (draw.h), after a component's lines or (the draw's) after
     * every component's: fact 0, share 100 %, the period's last day, rate the cap or the
     * draw (minor units), own = earned, true_up 0. */
    SPI_CLINE_CAP_RELEASE = 6,  /* carried-in cap excess paid: base the carried excess */
    SPI_CLINE_CAP_CARRY = 7,    /* the cap's excess carried forward: base it, earned 0 */
    SPI_CLINE_CAP_LOST = 8,     /* the cap's excess not carried (lost): base it, earned 0 */
    SPI_CLINE_DRAW = 9,         /* the draw's top-up: base the earnings E */
    SPI_CLINE_DRAW_RECOVERY = 10, /* recovered (negative): base the balance before */
    SPI_CLINE_DRAW_FORGIVEN = 11, /* the balance forgiven: base it, earned 0 */
    /* A manager's override on a line of its team (crediting.rollup; credit.h's spi_override),
     * after the manager's own lines of the component, in the team's order: fact and day
     * the team line's, base the override's base (after `above`), rate the level's rate,
     * earned = own = R(rate x base) (0 when held), true_up 0, share the via payee (a payee
     * index, not a share), tier_before the manager's level (its depth in the hierarchy),
     * tier_after 1 when held (the level's threshold not reached), else 0. */
    SPI_CLINE_OVERRIDE = 12,
    /* A refund of a line paid in an earlier period (spi_cpaid), reversed at the rate the
     * line was paid (docs/commission.md, "Clawbacks"): fact the refund's id, base the
     * payee's part of the refund (negative), rate the line's, earned the reversal. */
    SPI_CLINE_CLAWBACK = 13,
    /* A manual adjustment (spi_cadjust): fact the host's adjustment id, on the component
     * period's last day, earned its amount (own the same), base 0; its reason is the
     * caller's. */
    SPI_CLINE_ADJUSTMENT = 14
} spi_cline_kind;

/* The kinds' names as explain and the ledger's records write them, by value. */
#define SPI_CLINE_KINDS 15u
extern const char *const spi_cline_kind_names[SPI_CLINE_KINDS];

/*
 * One statement line: 64 bytes (10M lines: 640 MB). base is the payee's credited part of
 * the measure (a SPIFF line: units, or 1 per line); earned = own + true_up + the
 * modifiers' parts (gate, accelerators, cap, bonuses: earned - own - true_up); a SPIFF
 * line's rate is its amount per unit or per line, its own part its earning.
 */
typedef struct spi_cline {
    uint64_t fact;      /* the fact's id (an order or invoice line, a refund, a payment) */
    int64_t base;
    int64_t earned;
    int64_t own;
    int64_t true_up;
    sp_dec rate;        /* the rate at the measure after the line (spi_schedule_line_out) */
    int32_t day;
    uint32_t share;     /* the payee's share of the fact, sp_dec (10^9 = 100 %) */
    uint16_t tier_before, tier_after;
    uint16_t component; /* index in the plan */
    uint8_t kind;       /* spi_cline_kind */
    uint8_t pad;
} spi_cline;

/* Per payee: its lines (lines[first .. first + nlines) of the run, in the order component,
 * then (day, kind, fact id), the draw's last) and its total, the sum of the lines. */
typedef struct spi_cstatement {
    size_t first, nlines;
    int64_t total;
} spi_cstatement;

/* Unknown payees: the rows of reps that are no payee of the run. */
typedef enum spi_cengine_unknown {
    SPI_CENGINE_SKIP = 0, /* skipped and counted (report.not_payee) */
    SPI_CENGINE_ERROR = 1 /* an error naming the fact */
} spi_cengine_unknown;

typedef struct spi_cengine_input {
    const spi_cplan *plan;    /* one version */
    int32_t fiscal_year;      /* the run's period, of the plan's calendar */
    uint32_t period;          /* spi_cplan_period: its grain */
    uint32_t index;           /* 0-based */
    const sp_dict *dict;      /* the ids of the facts' index columns and of the payees */
    size_t npayees;
    const uint32_t *payees;   /* npayees distinct dict indices: payee i is payees[i] */
    const int64_t *quotas;    /* npayees x ncomponents, row per payee (minor units or units);
                                 NULL unless a schedule is on attainment */
    const spi_split_table *splits; /* payee indices; NULL: every line to its rep */
    const sp_fact_source *src; /* order lines and their refunds (the booking basis); the
                                  payments when there is no invoice source */
    uint32_t unknown;         /* spi_cengine_unknown */
    bool want_lines;          /* statements with lines; else the totals only (lines are
                                 still computed where the policy needs them) */
    const int64_t *carry_in;  /* the carry state before the run (draw.h): npayees x
                                 SPI_CCARRY_WIDTH(ncomponents); NULL: zeros */
    /* The host's invoices, for the invoice and payment bases; NULL: none. Invoice lines as
     * SP_FACT_ORDER_LINES (id, day = the invoice's date, rep, amount, ...), credit notes
     * and reversals as SP_FACT_REFUNDS referencing them; with it, payments are read from
     * here and reference invoice lines (without it, from src, referencing order lines). */
    const sp_fact_source *invoices;
    /* Payment basis: the lines and payments are read from this day on (or from the
     * period's first day when that is earlier), so that a payment knows its line and what
     * was paid of it before; 0: the plan version's first day. */
    int32_t lookback_from;
    /* Lines paid in earlier periods, whose refunds in the days read are clawed back:
     * ascending (fact, payee, component), no two alike (the run checks them); NULL: none. */
    const struct spi_cpaid *paid;
    size_t npaid;
    /* Manual adjustments, each added to its payee's component total (before the cap's and
     * the draw's settlement, so that a draw sees them) as a line of its own; NULL: none. */
    const struct spi_cadjust *adjust;
    size_t nadjust;
    /* The payees' hierarchy (validated, level names for the roll-ups' levels; a node's id
     * is a payee's id in `dict`); required by a plan with crediting.rollup, whose every
     * payee must be a node. A manager credited an override who is no payee follows the
     * `unknown` policy. NULL: none. */
    const sp_hierarchy *hierarchy;
    /* npayees: the days (inclusive) each payee is on this plan version, within the run
     * (a payee who starts mid-period, or changes plan): a payee is credited with a line
     * (its refunds, its payments) only when its assignment holds the line's day. Quotas
     * and draws are prorated by the caller (draw_amounts). NULL: every day. */
    const int32_t *assign_first, *assign_last;
    /* npayees: each payee's draw for the run's period (prorated); NULL: the plan's. */
    const int64_t *draw_amounts;
} spi_cengine_input;

/* A manual adjustment of a payee's component (its reason is the caller's). */
typedef struct spi_cadjust {
    uint64_t id;       /* the host's id of the adjustment */
    uint32_t payee;    /* the run's payee index */
    uint32_t component;
    int64_t amount;    /* minor units, either sign */
} spi_cadjust;

/* A line paid to a payee under a component in an earlier period: what its refunds reverse
 * (sp_commission_paid, commission.h, has the same layout). */
typedef struct spi_cpaid {
    uint64_t fact;     /* the order (or invoice) line */
    uint32_t payee;    /* the run's payee index */
    uint32_t component;
    int32_t day;       /* the line's day */
    int32_t reserved;
    int64_t amount;    /* the line's whole amount (not 0) */
    int64_t base;      /* the payee's credited part of the line's measure */
    int64_t earned;    /* what the line earned the payee (its statement line) */
    sp_dec rate;       /* the line's rate (its statement line's) */
    int64_t refunded;  /* of the line's amount, refunded before the days read */
} spi_cpaid;

typedef struct spi_cengine_report {
    uint64_t lines_read, refunds_read; /* rows in the days read (order and invoice lines,
                                          lines read for their payments; refunds) */
    uint64_t not_payee;                /* lines of reps that are no payee (skipped), and
                                          payments in the period of such lines */
    bool totals_path;                  /* the totals were summed without lines */
    uint64_t payments_read;            /* payments in the days read */
    uint64_t clawbacks;                /* refunds of lines paid earlier, clawed back (a
                                          refund counts once per payee and component) */
    uint64_t clawbacks_expired;        /* ... outside the clawback window: nothing reversed */
    uint64_t refunds_not_clawed;       /* ... under a component without a clawback rule */
    uint64_t not_assigned;             /* credits to payees on days outside their assignment
                                          (skipped) */
    uint64_t overrides_not_payee;      /* overrides of managers that are no payee (skipped) */
} spi_cengine_report;

/* A run's result. */
typedef struct spi_crun {
    size_t npayees, ncomponents;
    bool *due;                  /* per component: its period ends in the run's period */
    int32_t *first, *end;       /* per component: its period's days [first, end) */
    int64_t *measure;           /* npayees x ncomponents: the credited measure */
    int64_t *totals;            /* npayees x ncomponents: earnings (schedule + SPIFFs +
                                   carried-in cap excess released) */
    spi_cstatement *statements; /* npayees; NULL without lines */
    spi_cline *lines;           /* NULL without lines */
    size_t nlines;
    spi_cengine_report report;
    spi_ccap_out *caps;         /* npayees x ncomponents: the caps' room, excess, release;
                                   NULL for a plan without caps */
    spi_cdraw_out *draws;       /* npayees: the draw settled in the run; NULL for a plan
                                   without a draw */
    int64_t *carry;             /* the carry state after the run: npayees x
                                   SPI_CCARRY_WIDTH(ncomponents) */
    /* npayees x ncomponents, NULL when no component with a roll-up is due: the credited
     * measure of the payees below each payee in the hierarchy (its team; what its
     * thresholds' attainment is of), and the overrides credited to it (in totals). */
    int64_t *team, *overrides;
} spi_crun;

/* A component's days in a run: the period of its own grain that holds the run's last day,
 * within the version's effective range; due when that period ends with the run's. */
typedef struct spi_cdays {
    int32_t first, end; /* [first, end): within the version's effective range */
    int32_t period_first, period_end; /* the whole period, [period_first, period_end) */
    bool due;
} spi_cdays;

/* days[0 .. plan->ncomponents) for the run of (fiscal_year, period, index) under the plan's
 * calendar `cal`, and *whole the run's own period within the version (due: not empty).
 * SP_EINVAL naming the period when the year has no such period. */
int spi_cengine_days(sp_ctx *ctx, const sp_calendar *cal, const spi_cplan *plan,
                     int32_t fiscal_year, uint32_t period, uint32_t index, spi_cdays *whole,
                     spi_cdays *days);

/*
 * Compute the run. SP_OK and *out filled, or an error (SP_EINVAL naming the plan path, the
 * payee and component, or the fact by kind, batch, row and id; SP_EOVERFLOW; SP_ENOMEM;
 * the source's) with *out untouched and nothing allocated.
 */
int spi_cengine_run(sp_ctx *ctx, const spi_cengine_input *in, const sp_progress *progress,
                    spi_crun *out);
void spi_crun_free(sp_ctx *ctx, spi_crun *res);

#endif /* SPI_COMMISSION_ENGINE_H */
