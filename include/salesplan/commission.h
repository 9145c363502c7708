/*
 * salesplan/commission.h - commission plans as documents, and runs that turn facts into
 * statements whose every line traces to a fact, a component, a tier and a rate.
 *
 * Money is int64_t minor units of the plan's currency, rates are sp_dec, and no floating
 * point touches a commission; every rounding is the plan's (its mode and policy, echoed in
 * every statement). docs/commission.md has the plan documents, the engine's rules, the
 * statements and the errors; docs/commission-examples.md the worked examples the tests
 * encode.
 */
#ifndef SALESPLAN_COMMISSION_H
#define SALESPLAN_COMMISSION_H

#include "core.h"
#include "money.h"
#include "calendar.h"
#include "hierarchy.h"
#include "storage.h"
#include "target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Plans ==== */

/*
 * One effective-dated version of a commission plan, read from its JSON document
 * (docs/commission.md, "Plan documents"). Immutable once made.
 */
typedef struct sp_commission_plan sp_commission_plan;

/*
 * Read the document json[0..len) strictly: an error (SP_EINVAL) names the path, line and
 * column, an unknown member gets a "did you mean"; nothing is made on error.
 */
SP_API int sp_commission_plan_new(sp_commission_plan **out, sp_ctx *ctx, const char *json,
                                  size_t len);
SP_API void sp_commission_plan_free(sp_commission_plan *plan);

/* The document in canonical form (members in schema order, defaults written); reading it
 * gives the same plan and the same bytes. Owned by the plan. */
SP_API int sp_commission_plan_get_document(const sp_commission_plan *plan, const char **json,
                                           size_t *len);

/* What a plan version is; strings are owned by the plan. */
typedef struct sp_commission_plan_info {
    uint32_t version;         /* SP_COMMISSION_PLAN_INFO_VERSION */
    const char *id;           /* the plan's id ("plan") */
    const char *name;         /* "" when none */
    const char *currency;     /* ISO 4217 code */
    int32_t exponent;         /* decimals of the currency */
    int32_t effective_from;   /* first day of the version (days since 1970-01-01) */
    int32_t effective_to;     /* last day, inclusive; INT32_MAX when open-ended */
    uint32_t rounding;        /* sp_rounding of every amount */
    uint32_t policy;          /* sp_commission_policy */
    size_t ncomponents;       /* components of the version */
    uint32_t revision;        /* the stored revision it was loaded from; 0: not stored */
    const sp_calendar *calendar; /* the plan's calendar */
} sp_commission_plan_info;

#define SP_COMMISSION_PLAN_INFO_VERSION 1u
#define SP_COMMISSION_PLAN_INFO_INIT \
    { SP_COMMISSION_PLAN_INFO_VERSION, NULL, NULL, NULL, 0, 0, 0, 0, 0, 0, 0, NULL }

SP_API int sp_commission_plan_info_init(sp_commission_plan_info *info, uint32_t version);
/* Fill `info` (as of info->version: SP_COMMISSION_PLAN_INFO_INIT) with what the plan is. */
SP_API int sp_commission_plan_get_info(const sp_commission_plan *plan,
                                       sp_commission_plan_info *info);

/* Where a component's rounding is applied. Values are frozen. */
typedef enum sp_commission_policy {
    SP_COMMISSION_PER_TOTAL = 0, /* the period's payout rounded once; lines telescope */
    SP_COMMISSION_PER_LINE = 1   /* each line rounded alone */
} sp_commission_policy;

/* What a component measures. Values are frozen. */
typedef enum sp_commission_measure {
    SP_COMMISSION_AMOUNT = 0,   /* credited amount (money) */
    SP_COMMISSION_QUANTITY = 1, /* units */
    SP_COMMISSION_MARGIN = 2,   /* amount - cost (money) */
    SP_COMMISSION_LINES = 3,    /* count of lines */
    SP_COMMISSION_DEALS = 4     /* count of deals */
} sp_commission_measure;

/* What a component is; strings owned by the plan. */
typedef struct sp_commission_component_info {
    uint32_t version;   /* SP_COMMISSION_COMPONENT_INFO_VERSION */
    const char *id;     /* distinct within the plan */
    uint32_t measure;   /* sp_commission_measure */
    uint32_t grain;     /* sp_grain of its period: month, quarter or year */
    int on_attainment;  /* 1: its thresholds are attainments and each payee needs a quota */
} sp_commission_component_info;

#define SP_COMMISSION_COMPONENT_INFO_VERSION 1u
#define SP_COMMISSION_COMPONENT_INFO_INIT \
    { SP_COMMISSION_COMPONENT_INFO_VERSION, NULL, 0, 0, 0 }

SP_API int sp_commission_component_info_init(sp_commission_component_info *i, uint32_t version);
/* Component k (< ncomponents), in the document's order. */
SP_API int sp_commission_plan_component(const sp_commission_plan *plan, size_t k,
                                        sp_commission_component_info *info);

/* ---- plans in a store: each edit one transaction ---- */

/*
 * Save this version into the plan's next revision in `storage` (namespace
 * "commission.plan"; docs/commission.md, "Saving versions"): added, or in place of the
 * stored version with the same effective_from. `based_on` is the revision the edit was
 * made from (0: a new plan); another one stored is SP_ECONFLICT (someone saved since). The
 * whole set is checked: versions overlapping, a gap the later version does not declare
 * ("gap": "allowed") or another currency are SP_EINVAL naming both versions. On success
 * *revision (may be NULL) and the plan's info get the new revision; nothing is written on
 * error. Every revision stays readable (statements name the one they used).
 */
SP_API int sp_commission_plan_save(sp_commission_plan *plan, const sp_storage *storage,
                                   uint32_t based_on, uint32_t *revision);
/* Remove the version of plan `plan_id` that starts on `from` as the next revision (the
 * same checks; a plan keeps at least one version). */
SP_API int sp_commission_plan_remove_version(sp_ctx *ctx, const sp_storage *storage,
                                             const char *plan_id, int32_t from,
                                             uint32_t based_on, uint32_t *revision);
/* The version of plan `plan_id` in effect on `day` in revision `revision` (0: the latest).
 * SP_ENOTFOUND naming the plan, the revision and the day (and the versions there are). */
SP_API int sp_commission_plan_load(sp_commission_plan **out, sp_ctx *ctx,
                                   const sp_storage *storage, const char *plan_id,
                                   int32_t day, uint32_t revision);
/* The versions of a revision (0: the latest), ascending: from[k] .. to[k] (inclusive;
 * INT32_MAX: open-ended) for k < cap; *count gets their number; SP_EBUFFER (with *count)
 * when cap is too small. *loaded (may be NULL) gets the revision read. */
SP_API int sp_commission_plan_versions(sp_ctx *ctx, const sp_storage *storage,
                                       const char *plan_id, uint32_t revision, int32_t *from,
                                       int32_t *to, size_t cap, size_t *count,
                                       uint32_t *loaded);
/* The stored revisions of a plan, ascending, as sp_commission_plan_versions gives versions
 * (*count 0 for a plan never saved). */
SP_API int sp_commission_plan_revisions(sp_ctx *ctx, const sp_storage *storage,
                                        const char *plan_id, uint32_t *revisions, size_t cap,
                                        size_t *count);
/* The ids of the stored plans, ascending bytewise (sp_names: storage.h). */
SP_API int sp_commission_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage);

/* ==== Runs ==== */

/*
 * A run computes one period of a plan version's calendar for a set of payees: a statement
 * per payee (docs/commission.md, "The engine"). Set its payees, quotas and splits, compute
 * it over the host's facts, then read its statements. A run writes nothing; computing it
 * again (after changing its inputs) replaces its results.
 */
typedef struct sp_commission_run sp_commission_run;

/* What a run does with a fact credited to a rep that is none of its payees. */
typedef enum sp_commission_unknown {
    SP_COMMISSION_SKIP = 0, /* skipped and counted (report's not_payee) */
    SP_COMMISSION_ERROR = 1 /* an error naming the fact */
} sp_commission_unknown;

/* Flags of a run (sp_commission_run_options.flags). */
typedef enum sp_commission_run_flag {
    SP_COMMISSION_TOTALS_ONLY = 1 /* keep the totals, not the lines (explain needs lines) */
} sp_commission_run_flag;

/* What a run computes: its period and policies. */
typedef struct sp_commission_run_options {
    uint32_t version;     /* SP_COMMISSION_RUN_OPTIONS_VERSION */
    int32_t fiscal_year;  /* the run's period, of the plan's calendar (required) */
    uint32_t grain;       /* sp_grain: month, quarter or year */
    uint32_t index;       /* 0-based period of the year at that grain */
    uint32_t unknown;     /* sp_commission_unknown */
    uint32_t flags;       /* sp_commission_run_flag bits */
    int32_t lookback_from; /* payment basis: lines and payments are read from this day on
                              (or the period's first, when earlier); 0: the plan version's
                              first day */
} sp_commission_run_options;

#define SP_COMMISSION_RUN_OPTIONS_VERSION 1u
#define SP_COMMISSION_RUN_OPTIONS_INIT \
    { SP_COMMISSION_RUN_OPTIONS_VERSION, 0, SP_GRAIN_MONTH, 0, SP_COMMISSION_SKIP, 0, 0 }

SP_API int sp_commission_run_options_init(sp_commission_run_options *opts, uint32_t version);

/*
 * A run of `plan` (copied: the run does not hold it) for the period the options name.
 * SP_EINVAL naming the option (a grain other than month, quarter and year, a period the
 * year does not have, a component finer than the run).
 */
SP_API int sp_commission_run_new(sp_commission_run **out, const sp_commission_plan *plan,
                                 const sp_commission_run_options *opts);
SP_API void sp_commission_run_free(sp_commission_run *run);

/*
 * The payees: ids[0 .. n) are dictionary indices (distinct) of the dictionary the run is
 * computed with; payee i is the i-th. Replaces the payees, and clears the quotas and
 * splits (they are per payee).
 */
SP_API int sp_commission_run_set_payees(sp_commission_run *run, const uint32_t *ids,
                                        size_t n);
/*
 * The quotas: n = payees x components values, a row per payee in component order (minor
 * units for a money measure, units otherwise; ignored for a component not on attainment).
 * Required before computing a plan with a component on attainment, whose quota must be
 * above 0 for every payee. Copied.
 */
SP_API int sp_commission_run_set_quotas(sp_commission_run *run, const int64_t *quotas,
                                        size_t n);
/*
 * The quotas of component k from a target set (docs/commission.md, "Quotas from target
 * sets"): each payee's quota is its node's target (the node whose id is the payee's id in
 * `ids`) summed over the set's periods that make up the component's period in this run,
 * whose days must be exactly a run of the set's periods (the set's periods come from its
 * target plan `plan`'s calendar). A money measure needs a set of money in the plan's
 * exponent, a measure of units a set of quantities. SP_EINVAL naming the payee, the
 * period or the mismatch; nothing changes on error. Sets the component's column of the
 * quotas (the others 0 when no quotas were set).
 */
SP_API int sp_commission_run_quotas_from_set(sp_commission_run *run, size_t k,
                                             const sp_target_plan *plan,
                                             const sp_target_set *set, const sp_dict *ids);
/*
 * The quotas of every component whose document names a target set ("quota":
 * {"target_set": {...}}), loaded from `storage`: its plan, and the set of its scenario
 * and version (absent: the latest), each through sp_commission_run_quotas_from_set. A
 * component with such a quota computes only once they are loaded. SP_ENOTFOUND naming a
 * missing plan or set; nothing changes on error.
 */
SP_API int sp_commission_run_load_quotas(sp_commission_run *run, const sp_storage *storage,
                                         const sp_dict *ids);

/*
 * The split table (docs/commission.md, "Splits"): entry i gives fact fact_ids[i] to payee
 * payees[i] (a position among the run's payees) with share shares[i]; the shares of a fact
 * sum to exactly 100 %. Checked here (SP_EINVAL naming the fact and the entry); copied. n =
 * 0 removes the table. Only components with "crediting": {"splits": "facts"} use it.
 */
SP_API int sp_commission_run_set_splits(sp_commission_run *run, const uint64_t *fact_ids,
                                        const uint32_t *payees, const sp_dec *shares,
                                        size_t n);

/*
 * The payees' hierarchy, for the roll-ups to managers (a component's "crediting":
 * {"rollup": ...}; docs/commission.md, "Roll-ups to managers"): validated, its nodes' ids
 * the payees' ids in the dictionary the run is computed with, its level names those the
 * plan's levels name. Every payee must be a node; a manager credited an override who is
 * no payee is skipped and counted, or an error, by the run's unknown-payee policy.
 * Copied (the hierarchy may be changed or freed afterwards); NULL removes it. Checked
 * against the payees and the plan when the run is computed.
 */
SP_API int sp_commission_run_set_hierarchy(sp_commission_run *run, const sp_hierarchy *payees);

/*
 * The carry state before the run (docs/commission.md, "Caps carried forward and draws"):
 * n = payees x (1 + components) values, a row per payee: the recoverable draw's balance,
 * then each component's cap excess carried forward, all >= 0; the previous period's
 * statements give them (sp_commission_statement.carry). Copied; n = 0 clears it (zeros).
 * Checked when the run is computed.
 */
SP_API int sp_commission_run_set_carry(sp_commission_run *run, const int64_t *carry, size_t n);

/*
 * A manual adjustment of payee k's component c by `amount` (minor units, either sign),
 * with its reason (1 to 1,000 bytes of UTF-8, required: docs/commission.md, "Adjustments"):
 * a statement line of kind SP_COMMISSION_LINE_ADJUSTMENT on the last day of the
 * component's period, in the component's total before the caps' and the draw's
 * settlement; `id` (the host's) is its fact id, distinct per payee and component.
 * Kept until sp_commission_run_clear_adjustments or new payees; checked when the run is
 * computed (the component must be computed in it). SP_EINVAL naming what is wrong.
 */
SP_API int sp_commission_run_add_adjustment(sp_commission_run *run, uint64_t id, size_t k,
                                            size_t c, int64_t amount, const char *reason);
SP_API int sp_commission_run_clear_adjustments(sp_commission_run *run);
/* The reason of payee k's adjustment `id`, owned by the run; NULL when there is none. */
SP_API const char *sp_commission_run_adjustment_reason(const sp_commission_run *run, size_t k,
                                                       uint64_t id);

/*
 * The days each payee is on this plan version within the run (docs/commission.md,
 * "Assignments"): first[k] .. last[k], inclusive, for payee k (n = payees; INT32_MIN and
 * INT32_MAX for no bound): a payee who starts or leaves mid-period, or changes plan (run
 * each plan, or each version, for its days). A payee is credited with a line (and its
 * refunds and payments) only when its days hold the line's day. Its quotas (over each
 * component's period) and its draw (over the run's period) are prorated by its days on the
 * version: R(value x days / the period's days) by the plan's rounding mode; a version
 * that starts or ends within a period prorates them too, assignments or not. n = 0 clears
 * them (every payee every day). SP_EINVAL naming the payee when first > last.
 */
SP_API int sp_commission_run_set_assignments(sp_commission_run *run, const int32_t *first,
                                             const int32_t *last, size_t n);

/*
 * A line paid in an earlier period (64 bytes; layout frozen): what its refunds in this run
 * reverse when the component has a "clawback" rule (docs/commission.md, "Clawbacks"). The
 * earlier statement's line gives base, earned and rate; the host's facts the line's day,
 * amount and what was refunded of it before the run's days.
 */
typedef struct sp_commission_paid {
    uint64_t fact;      /* the order (or invoice) line */
    uint32_t payee;     /* a position among the run's payees */
    uint32_t component; /* index in the plan */
    int32_t day;        /* the line's day */
    int32_t reserved;   /* 0 */
    int64_t amount;     /* the line's whole amount (not 0) */
    int64_t base;       /* the payee's credited part of the line's measure */
    int64_t earned;     /* what the line earned the payee */
    sp_dec rate;        /* the rate the line was paid at (its statement line's) */
    int64_t refunded;   /* of the line's amount, refunded before the run's days */
} sp_commission_paid;

/*
 * The lines paid in earlier periods whose refunds the run claws back: at most one entry
 * per (fact, payee, component), amounts not 0, refunded between 0 and the amount (its
 * sign), payees and components of the run. Copied; n = 0 clears them. SP_EINVAL naming the
 * entry.
 */
SP_API int sp_commission_run_set_paid(sp_commission_run *run, const sp_commission_paid *paid,
                                      size_t n);

/*
 * Compute the statements from the host's facts (docs/commission.md, "The engine"):
 * `orders`, order lines and their refunds (basis "booking") and, without `invoices`, the
 * payments against order lines (basis "payment"); `invoices` (may be NULL), invoice lines
 * as SP_FACT_ORDER_LINES, credit notes and reversals as SP_FACT_REFUNDS (basis "invoice"),
 * and the payments against invoice lines. Index columns are of the dictionary `ids`, which
 * holds the payees and every id a filter or SPIFF names. On error (SP_EINVAL naming the
 * plan path, the payee and component, or the fact by kind, batch, row and id;
 * SP_EOVERFLOW; SP_ENOMEM; a source's SP_EUSER) the run keeps its earlier results, if any.
 */
SP_API int sp_commission_run_compute(sp_commission_run *run, const sp_fact_source *orders,
                                     const sp_fact_source *invoices, const sp_dict *ids,
                                     const sp_progress *progress);

/* What a computed run holds. */
typedef struct sp_commission_run_info {
    uint32_t version;          /* SP_COMMISSION_RUN_INFO_VERSION */
    int computed;              /* 1 once computed */
    size_t npayees;            /* payees set */
    size_t ncomponents;        /* components of the plan */
    size_t nlines;             /* statement lines of all payees (0: totals only) */
    int32_t first_day, end_day; /* the days read: [first_day, end_day) */
    uint64_t lines_read;       /* order lines in the days read */
    uint64_t refunds_read;     /* refunds in the days read */
    uint64_t payments_read;    /* payments in the days read */
    uint64_t clawbacks;        /* refunds of lines paid earlier clawed back (per payee and
                                  component) */
    uint64_t clawbacks_expired; /* ... refunded after the clawback window: nothing reversed */
    uint64_t refunds_not_clawed; /* ... under a component without a clawback rule */
    uint64_t not_payee;        /* rows of reps that are no payee, skipped */
    int totals_path;           /* 1: the totals were summed without lines */
    uint64_t overrides_not_payee; /* overrides of managers that are no payee, skipped */
    uint64_t not_assigned;     /* credits to payees on days outside their assignment, skipped */
} sp_commission_run_info;

#define SP_COMMISSION_RUN_INFO_VERSION 1u
#define SP_COMMISSION_RUN_INFO_INIT \
    { SP_COMMISSION_RUN_INFO_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }

SP_API int sp_commission_run_info_init(sp_commission_run_info *info, uint32_t version);
/* Fill `info` (as of info->version: SP_COMMISSION_RUN_INFO_INIT) with what the run holds. */
SP_API int sp_commission_run_get_info(const sp_commission_run *run,
                                      sp_commission_run_info *info);

/* What a statement line comes from. Values are frozen. */
typedef enum sp_commission_line_kind {
    SP_COMMISSION_LINE_ORDER = 0,       /* an order line through the schedule */
    SP_COMMISSION_LINE_ORDER_SPIFF = 1, /* a SPIFF on an order line */
    SP_COMMISSION_LINE_REFUND = 2,      /* a refund (negative) through the schedule */
    SP_COMMISSION_LINE_REFUND_SPIFF = 3, /* a SPIFF reversed by a refund */
    SP_COMMISSION_LINE_PAYMENT = 4,     /* a payment's credit of its line (payment basis) */
    SP_COMMISSION_LINE_PAYMENT_SPIFF = 5, /* the part of its line's SPIFF a payment pays */
    /* The settlement's lines: fact 0, on the period's last day, rate the cap or the draw */
    SP_COMMISSION_LINE_CAP_RELEASE = 6, /* carried-in cap excess paid (base: what was carried) */
    SP_COMMISSION_LINE_CAP_CARRY = 7,   /* the cap's excess carried forward (earned 0) */
    SP_COMMISSION_LINE_CAP_LOST = 8,    /* the cap's excess not carried (earned 0) */
    SP_COMMISSION_LINE_DRAW = 9,        /* the draw's top-up (base: the earnings) */
    SP_COMMISSION_LINE_DRAW_RECOVERY = 10, /* recovered from earnings (negative) */
    SP_COMMISSION_LINE_DRAW_FORGIVEN = 11, /* the draw's balance forgiven (earned 0) */
    SP_COMMISSION_LINE_OVERRIDE = 12,      /* a manager's override on a line of its team
                                              (crediting.rollup; see sp_commission_line) */
    SP_COMMISSION_LINE_CLAWBACK = 13,   /* a refund of a line paid earlier, reversed at the
                                           rate it was paid (fact: the refund; base: the
                                           payee's part of it, negative) */
    SP_COMMISSION_LINE_ADJUSTMENT = 14  /* a manual adjustment (fact: its id; earned: its
                                           amount; its reason: the run's) */
} sp_commission_line_kind;

/* The component of a line that belongs to none (a draw's lines). */
#define SP_COMMISSION_NO_COMPONENT 65535u

/*
 * One statement line (64 bytes; layout frozen). base is the payee's credited part of the
 * measure (a SPIFF line: the units, or 1 per line); earned = own + true_up + what the
 * gate, accelerators, cap and bonuses add (earned - own - true_up); rate is the rate at
 * the measure after the line (a SPIFF line: its amount per unit or per line).
 *
 * An override (SP_COMMISSION_LINE_OVERRIDE) is a manager's, on a line of a payee below it:
 * fact and day are that line's, base the override's base (the payees' credited measure
 * or their earnings on the line, after the level's `above`), rate the level's rate,
 * earned = own = the override rounded by the plan's mode (0 when held), true_up 0;
 * share is the payee the override came through (a position among the run's payees, not
 * a share), tier_before the manager's level (its depth in the hierarchy) and tier_after 1
 * when the override is held (the level's threshold not reached in the period), else 0.
 */
typedef struct sp_commission_line {
    uint64_t fact;      /* the fact's id (an order line, a refund) */
    int64_t base;       /* the credited measure (units of the component's measure) */
    int64_t earned;     /* minor units */
    int64_t own;        /* the schedule's part for the line itself */
    int64_t true_up;    /* a retroactive tier's true-up of earlier lines */
    sp_dec rate;        /* the rate after the line; a SPIFF: minor units per unit or line */
    int32_t day;        /* the fact's day */
    uint32_t share;     /* the payee's share of the fact, sp_dec (1000000000 = 100 %); an
                           override: the payee it came through */
    uint16_t tier_before; /* the tier at the measure before the line; an override: the
                             manager's level */
    uint16_t tier_after;  /* ... and after it; an override: 1 when held */
    uint16_t component; /* index in the plan */
    uint8_t kind;       /* sp_commission_line_kind */
    uint8_t reserved;   /* 0 */
} sp_commission_line;

/* A payee's statement: pointers into the run, valid until it is computed again or freed. */
typedef struct sp_commission_statement {
    uint32_t version;          /* SP_COMMISSION_STATEMENT_VERSION */
    uint32_t payee;            /* the dictionary index */
    int64_t total;             /* minor units: the sum of the lines, and of `components`
                                  plus draw_paid less draw_recovered */
    size_t ncomponents;        /* components of the plan */
    const int64_t *components; /* ncomponents: each component's earnings */
    const int64_t *measures;   /* ncomponents: each component's credited measure */
    const int64_t *quotas;     /* ncomponents: the quotas used; NULL when none were set */
    size_t nlines;             /* 0 when the run kept totals only */
    const sp_commission_line *lines; /* by component: its lines by day, kind and fact id,
                                        its overrides, its cap's lines; the draw's last */
    uint32_t rounding;         /* sp_rounding (the plan's) */
    uint32_t policy;           /* sp_commission_policy */
    int64_t draw_paid;         /* the draw's top-up in this period */
    int64_t draw_recovered;    /* recovered from this period's earnings */
    int64_t draw_forgiven;     /* the balance forgiven at this period's close */
    int64_t draw_balance;      /* the recoverable draw's balance after the period */
    const int64_t *carry;      /* 1 + ncomponents: the carry state after the run (the draw's
                                  balance, each component's cap excess carried), the next
                                  period's sp_commission_run_set_carry row */
} sp_commission_statement;

#define SP_COMMISSION_STATEMENT_VERSION 1u
#define SP_COMMISSION_STATEMENT_INIT \
    { SP_COMMISSION_STATEMENT_VERSION, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, \
      NULL }

SP_API int sp_commission_statement_init(sp_commission_statement *st, uint32_t version);
/* The statement of payee `k` (a position among the run's payees). SP_EINVAL before the run
 * is computed. */
SP_API int sp_commission_run_statement(const sp_commission_run *run, size_t k,
                                       sp_commission_statement *st);

/*
 * Trace line `line` of payee k's statement to its rule and sources, as one JSON object
 * (docs/commission.md, "Explain"): the component and its document path, the fact, the
 * share, the measure before and after the line, the tiers with their paths and rates, the
 * quota, the parts of the earning and the rounding. line = SIZE_MAX explains the
 * statement's total: per component its measure, quota, tiers reached and earnings.
 * Written to buf[0 .. cap) with a NUL; *len gets the length without it. SP_EBUFFER (with
 * *len) when cap is too small; SP_EINVAL for a run kept as totals only (lines are needed).
 */
SP_API int sp_commission_run_explain(const sp_commission_run *run, size_t k, size_t line,
                                     char *buf, size_t cap, size_t *len);

/* ==== The ledger ==== */

/* A fiscal period of a plan's calendar (layout frozen). */
typedef struct sp_commission_period {
    int32_t fiscal_year; /* 1 .. 9999 */
    uint32_t grain;      /* sp_grain: month, quarter or year */
    uint32_t index;      /* 0-based period of the year at that grain */
} sp_commission_period;

/* What a post wrote. */
typedef struct sp_commission_posted {
    uint32_t version;          /* SP_COMMISSION_POSTED_VERSION */
    sp_commission_period period; /* the period written into */
    int corrects;              /* 1: these are corrections of the closed period `corrected` */
    sp_commission_period corrected; /* the period corrected, when `corrects` */
    int written;               /* 0: a correction found nothing to change */
    int removed;               /* 1: earlier corrections were withdrawn (the truth is what
                                  the rest of the ledger holds) */
    uint32_t revision;         /* the ledger's revision after the post */
    size_t npayees, nlines;    /* written */
    int64_t total;             /* the sum of the lines written, minor units */
} sp_commission_posted;

#define SP_COMMISSION_POSTED_VERSION 1u
#define SP_COMMISSION_POSTED_INIT \
    { SP_COMMISSION_POSTED_VERSION, { 0, 0, 0 }, 0, { 0, 0, 0 }, 0, 0, 0, 0, 0, 0 }

SP_API int sp_commission_posted_init(sp_commission_posted *posted, uint32_t version);

/*
 * Post the computed run's statements (with their lines: not a run of totals only) to the
 * plan's ledger in `storage`, in one transaction (docs/commission.md, "Statements and the
 * ledger"). An open period (or one never posted) takes them as its statements, replacing
 * an earlier draft; `into` is then NULL or that period. A closed period is refused
 * (SP_ECONFLICT) unless `into` names a period that is not closed, which then receives the
 * delta lines by which this run differs from all the ledger holds for the closed period:
 * what was posted plus every correction always equals the latest truth. A what-if run is
 * simply not posted. `posted` (may be NULL) says what was written. Nothing is written on
 * error.
 */
SP_API int sp_commission_run_post(sp_commission_run *run, const sp_storage *storage,
                                  const sp_commission_period *into,
                                  sp_commission_posted *posted);
/* Close a posted period of plan `plan_id`: frozen from then on. SP_ENOTFOUND when it was
 * never posted, SP_ECONFLICT when it is closed already. One transaction. */
SP_API int sp_commission_period_close(sp_ctx *ctx, const sp_storage *storage,
                                      const char *plan_id, const sp_commission_period *period);

/* One statements object of a ledger: a period's own statements, or the corrections of a
 * closed period that a period holds (layout frozen). */
typedef struct sp_commission_ledger_entry {
    sp_commission_period period;   /* the period that holds it */
    int corrects;                  /* 1: corrections of `corrected` */
    sp_commission_period corrected; /* the closed period corrected, when `corrects` */
    int closed;                    /* the period is closed */
    uint32_t revision;             /* the object's */
    uint32_t npayees;              /* payees with a statement in it */
    uint64_t nlines;               /* their lines */
    int64_t total;                 /* minor units */
} sp_commission_ledger_entry;

/* The entries of a plan's ledger, by period: entries[0 .. cap) and *count; SP_EBUFFER (with
 * *count) when cap is too small; SP_ENOTFOUND when nothing was posted. */
SP_API int sp_commission_ledger_entries(sp_ctx *ctx, const sp_storage *storage,
                                        const char *plan_id,
                                        sp_commission_ledger_entry *entries, size_t cap,
                                        size_t *count);

/* A payee's stored statement for a period: its own statement and the corrections of earlier
 * closed periods the period holds for it, each a part. */
typedef struct sp_commission_stored sp_commission_stored;

/* Load payee `payee`'s statement for `period` (only the records it is in are read).
 * SP_ENOTFOUND when the period was never posted or holds nothing for the payee. */
SP_API int sp_commission_stored_load(sp_commission_stored **out, sp_ctx *ctx,
                                     const sp_storage *storage, const char *plan_id,
                                     const sp_commission_period *period, const char *payee);
SP_API void sp_commission_stored_free(sp_commission_stored *stored);

/* One part of a stored statement; pointers owned by the stored statement. */
typedef struct sp_commission_stored_part {
    uint32_t version;            /* SP_COMMISSION_STORED_PART_VERSION */
    int corrects;                /* 1: corrections of `corrected`; 0: the period's own */
    sp_commission_period corrected; /* the closed period corrected, when `corrects` */
    int closed;                  /* the statement's period is closed */
    const char *currency;        /* the plan's (ISO 4217) */
    int32_t exponent;            /* its decimals */
    uint32_t rounding, policy;   /* sp_rounding, sp_commission_policy: as computed */
    int32_t plan_from;           /* the plan version's first day */
    uint32_t plan_revision;      /* its stored revision (0: not stored) */
    size_t ncomponents;          /* components of the plan when posted */
    const char *const *components; /* ids; lines' `component` indexes them */
    const int64_t *totals;       /* ncomponents: the sums of the part's lines */
    int64_t total;               /* the part's total */
    size_t nlines;               /* the payee's lines in this part */
    const sp_commission_line *lines; /* by component, then day, kind and fact id */
} sp_commission_stored_part;

#define SP_COMMISSION_STORED_PART_VERSION 1u
#define SP_COMMISSION_STORED_PART_INIT \
    { SP_COMMISSION_STORED_PART_VERSION, 0, { 0, 0, 0 }, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, \
      NULL, 0, 0, NULL }

SP_API int sp_commission_stored_part_init(sp_commission_stored_part *part, uint32_t version);
/* The number of parts, and the statement's total (of every part), minor units. */
SP_API size_t sp_commission_stored_count(const sp_commission_stored *stored);
SP_API int64_t sp_commission_stored_total(const sp_commission_stored *stored);
/* Part k (< the count): the period's own statement first, then the corrections. */
SP_API int sp_commission_stored_get_part(const sp_commission_stored *stored, size_t k,
                                         sp_commission_stored_part *part);

/* ==== Plug-in schedule kinds ==== */

/*
 * A schedule kind of a plug-in (docs/commission.md, "Plug-in kinds"): a payout function
 * P(x) of the period-to-date measure, which plan documents name with "schedule": {"kind":
 * "plugin", "name": "...", "params": ...}. Registered on a context (the table is copied);
 * plans read in that context may name it. Callbacks return 0, a salesplan status, or any
 * other value, which becomes SP_EUSER with the host's code and errmsg (as sp_storage's).
 */
typedef struct sp_commission_kind {
    uint32_t version; /* SP_COMMISSION_KIND_VERSION */
    const char *name; /* 1 to 255 bytes of UTF-8, no NUL; copied */
    void *user;       /* passed to every callback */
    /* Read a component's "params" (its canonical JSON text, NUL-terminated; "null" when
     * absent) when a plan naming the kind is read, into *state for payout. A failure
     * refuses the plan, its message naming the params' path. */
    int (*prepare)(void *user, const char *params, size_t len, void **state);
    /* *payout = P(measure) in minor units of the plan's currency, for the payee's
     * period-to-date measure (negative after refunds) and quota (0 unless the schedule is
     * "on": "attainment"). A function of its arguments: the engine calls it at each line's
     * measure before and after, and the totals path at the period's. */
    int (*payout)(void *user, void *state, int64_t measure, int64_t quota, int64_t *payout);
    /* Optional: free a state from prepare (when the plan is freed). */
    void (*release)(void *user, void *state);
    /* Optional: the host's message for its last error, or NULL. */
    const char *(*errmsg)(void *user);
    /* Optional: called once when the context is freed. */
    void (*destroy)(void *user);
} sp_commission_kind;

#define SP_COMMISSION_KIND_VERSION 1u
#define SP_COMMISSION_KIND_INIT \
    { SP_COMMISSION_KIND_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

SP_API int sp_commission_kind_init(sp_commission_kind *kind, uint32_t version);
/* Register `kind` on ctx. SP_ECONFLICT when a kind of that name is registered;
 * SP_EINVAL for a bad name or a missing prepare or payout. */
SP_API int sp_commission_register_kind(sp_ctx *ctx, const sp_commission_kind *kind);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_COMMISSION_H */
