/*
 * salesplan/target.h - target (quota) plans: decomposition over a hierarchy and a
 * calendar, target sets, scenarios, re-plans and pacing, stored through sp_storage.
 *
 * A target is money in minor units (or a quantity in whole units): int64_t, never
 * negative. Rates (growth, blend weights, seasonal shares) are sp_dec. The kernels under
 * the plan (pure functions over arrays) are in target_kernels.h. docs/target.md has the
 * methods, their formulas, the rounding rules and the policies.
 */
#ifndef SALESPLAN_TARGET_H
#define SALESPLAN_TARGET_H

#include "core.h"
#include "money.h"
#include "calendar.h"
#include "hierarchy.h"
#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Plans, target sets and scenarios ==== */

/*
 * A plan gathers what a decomposition needs (docs/target.md, "Plans"): an id, the unit of
 * its amounts, a calendar, the fiscal year and period grain, a copy of the hierarchy,
 * driver columns, history read from facts, and the settings document (rules, locks,
 * bounds, seasonality). sp_target_plan_decompose turns it into a target set: every node's
 * annual target and its periods. Sets are immutable; saved ones are versioned per
 * scenario. Plans and sets are saved and loaded through an sp_storage (storage.h).
 */
typedef struct sp_target_plan sp_target_plan;
typedef struct sp_target_set sp_target_set;

/* What a plan's amounts are. Values are frozen. */
typedef enum sp_target_measure {
    SP_TARGET_MONEY = 0,   /* minor units of a currency (or of an exponent) */
    SP_TARGET_QUANTITY = 1 /* whole units */
} sp_target_measure;

/* Options of sp_target_plan_new: what the plan's amounts are and which calendar, year and
 * grain its periods come from. */
typedef struct sp_target_plan_options {
    uint32_t version;                    /* SP_TARGET_PLAN_OPTIONS_VERSION */
    const char *name;                    /* display name (UTF-8); NULL: none */
    uint32_t measure;                    /* sp_target_measure */
    const char *currency;                /* MONEY: ISO 4217 code ("CNY"), which gives the
                                            exponent; NULL: `exponent` below */
    int32_t exponent;                    /* MONEY without a currency: 0..18 (default 2) */
    const sp_calendar_options *calendar; /* NULL: civil months from January; copied */
    int32_t fiscal_year;                 /* the plan's year, 1..9999 (required) */
    uint32_t grain;                      /* sp_grain of the periods (default month) */
} sp_target_plan_options;

#define SP_TARGET_PLAN_OPTIONS_VERSION 1u
#define SP_TARGET_PLAN_OPTIONS_INIT \
    { SP_TARGET_PLAN_OPTIONS_VERSION, NULL, SP_TARGET_MONEY, NULL, 2, NULL, 0, SP_GRAIN_MONTH }

SP_API int sp_target_plan_options_init(sp_target_plan_options *opts, uint32_t version);

/*
 * A new plan with id `id` (UTF-8, 1 to 512 bytes, no NUL) over a copy of the validated
 * hierarchy `h` (ids, parents, level names: node indices stay the same). Revision 0 until
 * first saved. Errors name the option.
 */
SP_API int sp_target_plan_new(sp_target_plan **out, sp_ctx *ctx, const char *id,
                              const sp_hierarchy *h, const sp_target_plan_options *opts);
SP_API void sp_target_plan_free(sp_target_plan *plan);

/* What a plan is; strings and the hierarchy are owned by the plan. */
typedef struct sp_target_plan_info {
    uint32_t version;             /* SP_TARGET_PLAN_INFO_VERSION */
    const char *id;               /* the plan's id */
    const char *name;             /* "" when none */
    uint32_t measure;             /* sp_target_measure */
    const char *currency;         /* "" when none */
    int32_t exponent;             /* 0 for quantities */
    int32_t fiscal_year;          /* the plan's year */
    uint32_t grain;               /* sp_grain of its periods */
    size_t nperiods;              /* periods of the plan's year at its grain */
    uint32_t revision;            /* 0 until saved; each save adds one */
    size_t nnodes;                /* nodes of its hierarchy */
    const sp_hierarchy *hierarchy; /* the plan's copy, frozen (sp_hierarchy_get_state) */
    const sp_calendar *calendar;  /* the plan's calendar */
} sp_target_plan_info;

#define SP_TARGET_PLAN_INFO_VERSION 1u
#define SP_TARGET_PLAN_INFO_INIT \
    { SP_TARGET_PLAN_INFO_VERSION, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL }

SP_API int sp_target_plan_info_init(sp_target_plan_info *info, uint32_t version);

/* Fill `info` (as of info->version, which the caller sets: SP_TARGET_PLAN_INFO_INIT) with
 * what the plan is. SP_EVERSION for a version this library does not write. */
SP_API int sp_target_plan_get_info(const sp_target_plan *plan, sp_target_plan_info *info);

/*
 * Add or replace a driver column: one value per node (n = the node count), copied;
 * valid[i] == 0 marks a null (NULL: none). Names are 1 to 255 bytes of UTF-8; the
 * built-in drivers "prior_year" and "trailing_12m" come from sp_target_plan_load_history
 * and cannot be set here (SP_ECONFLICT).
 */
SP_API int sp_target_plan_set_driver(sp_target_plan *plan, const char *name,
                                     const int64_t *values, const uint8_t *valid, size_t n);
SP_API size_t sp_target_plan_driver_count(const sp_target_plan *plan);
/* The k-th driver in name order; *valid is NULL when it has no nulls. */
SP_API int sp_target_plan_driver_at(const sp_target_plan *plan, size_t k, const char **name,
                                    const int64_t **values, const uint8_t **valid);

/*
 * Replace the settings with the JSON document json[0..len) (docs/target.md, "Settings"):
 * rules per level and per node, bounds, growth limits, locks with reasons, seasonality.
 * Read strictly: an error names the path and the line and column, an unknown field gets a
 * "did you mean"; on any error nothing changes. Driver names are resolved when the plan is
 * decomposed.
 */
SP_API int sp_target_plan_set_settings(sp_target_plan *plan, const char *json, size_t len);
/* The settings in canonical form (members in schema order, defaults written, maps by id
 * bytes); "{}"-equivalent defaults when none were set. Owned by the plan, valid until the
 * settings change. */
SP_API int sp_target_plan_get_settings(const sp_target_plan *plan, const char **json,
                                       size_t *len);

/* ---- flags and policies the plan API shares with the kernels (target_kernels.h) ---- */

/* Flags of a node in the result. */
typedef enum sp_decomp_flag {
    SP_DECOMP_F_LOCKED = 1,        /* the target is the node's lock */
    SP_DECOMP_F_AT_MIN = 2,        /* the target equals its min (> 0) */
    SP_DECOMP_F_AT_MAX = 4,        /* the target equals its max */
    SP_DECOMP_F_AT_FLOOR = 8,      /* the target equals baseline·(1 + floor), rounded up */
    SP_DECOMP_F_AT_CAP = 16,       /* the target equals baseline·(1 + cap), rounded down */
    SP_DECOMP_F_FALLBACK = 32,     /* a driver of the node was null: the policy applied */
    SP_DECOMP_F_GROWTH = 64,       /* growth[node] holds the node's growth */
    SP_DECOMP_F_COMMON_GROWTH = 128 /* common_growth[node] holds its children's */
} sp_decomp_flag;

/* Weight of a period when splitting. Values are frozen. */
typedef enum sp_time_weighting {
    SP_TIME_WEIGHT_PROFILE = 0,     /* the profile's share */
    SP_TIME_WEIGHT_WORKING_DAYS = 1 /* share x working days of the period (the profile is
                                       then a rate per working day; an even profile splits
                                       by working days alone); needs the calendar */
} sp_time_weighting;

/* What a re-plan does for a node whose actuals already exceed its target. Values are
 * frozen. */
typedef enum sp_overshoot_policy {
    SP_OVERSHOOT_ZERO = 0,     /* the open periods get 0 (held ones keep their values) */
    SP_OVERSHOOT_KEEP_PLAN = 1 /* the open periods keep the original split of the target */
} sp_overshoot_policy;

/* Pacing status. Values are frozen. */
typedef enum sp_pace_status {
    SP_PACE_BEHIND = -1,  /* actual below expected by more than the threshold */
    SP_PACE_ON_TRACK = 0, /* within the threshold */
    SP_PACE_AHEAD = 1     /* actual above expected by more than the threshold */
} sp_pace_status;

/* How much of the current period has elapsed. Values are frozen. */
typedef enum sp_elapsed_measure {
    SP_ELAPSED_DAYS = 0,        /* calendar days */
    SP_ELAPSED_WORKING_DAYS = 1 /* working days of the calendar */
} sp_elapsed_measure;

/* How the year-end projection extrapolates. Values are frozen. */
typedef enum sp_projection_method {
    SP_PROJECT_PROFILE = 0, /* actual / expected fraction of the year (seasonally adjusted
                               run rate) */
    SP_PROJECT_LINEAR = 1   /* actual / elapsed fraction of the year's (working) days */
} sp_projection_method;

/* ---- history from facts ---- */

/* The fact column that names a hierarchy node. Values are frozen. */
typedef enum sp_target_key {
    SP_TARGET_KEY_REP = 0,     /* the rep column: node ids are rep ids */
    SP_TARGET_KEY_GRID = 1,    /* the grid column */
    SP_TARGET_KEY_PRODUCT = 2, /* the product column */
    SP_TARGET_KEY_CUSTOMER = 3 /* the customer column */
} sp_target_key;

/* Flags of sp_target_history_options. */
typedef enum sp_target_history_flags {
    SP_TARGET_HISTORY_NET_REFUNDS = 1, /* subtract refunds, on the day of the refund */
    SP_TARGET_HISTORY_STRICT_IDS = 2   /* a key whose id is no node is an error (default:
                                          counted in the report and skipped) */
} sp_target_history_flags;

/* Options of sp_target_plan_load_history and sp_target_plan_load_actuals. */
typedef struct sp_target_history_options {
    uint32_t version; /* SP_TARGET_HISTORY_OPTIONS_VERSION */
    uint32_t key;     /* sp_target_key */
    uint32_t years;   /* fiscal years before the plan's (1..20; default 3) */
    uint32_t flags;   /* sp_target_history_flags */
    int32_t as_of;    /* trailing_12m ends before this day; INT32_MIN: the plan year's
                         first day. sp_target_plan_load_actuals: facts before this day
                         (INT32_MIN: the whole year) */
} sp_target_history_options;

#define SP_TARGET_HISTORY_OPTIONS_VERSION 1u
#define SP_TARGET_HISTORY_OPTIONS_INIT \
    { SP_TARGET_HISTORY_OPTIONS_VERSION, SP_TARGET_KEY_REP, 3, 0, INT32_MIN }

SP_API int sp_target_history_options_init(sp_target_history_options *opts, uint32_t version);

/* What a history or actuals scan found. Amounts in the plan's minor units. */
typedef struct sp_target_history_report {
    uint32_t version;     /* SP_TARGET_HISTORY_REPORT_VERSION */
    uint64_t rows;        /* rows the source delivered in the days asked for */
    uint64_t used;        /* rows booked to a node */
    uint64_t no_key;      /* rows whose key is SP_NONE or whose key column is absent */
    uint64_t unknown;     /* rows whose key's id is no node of the plan */
    int64_t unknown_amount; /* their amounts (refunds negative), saturating */
    uint64_t unknown_ids; /* distinct such ids */
} sp_target_history_report;

#define SP_TARGET_HISTORY_REPORT_VERSION 1u
#define SP_TARGET_HISTORY_REPORT_INIT { SP_TARGET_HISTORY_REPORT_VERSION, 0, 0, 0, 0, 0, 0 }

SP_API int sp_target_history_report_init(sp_target_history_report *report, uint32_t version);

/*
 * Read the order lines (and refunds, when asked) of the `years` fiscal years before the
 * plan's year, and of the trailing twelve months before `as_of`, from `src`, whose index
 * columns are indices of `dict`. Each dictionary id maps to the node with the same id.
 * Amounts are summed per node, fiscal year and period, then rolled up to the ancestors
 * (a node's history is its own facts plus its descendants'). Sets the built-in drivers
 * "prior_year" (the last full fiscal year) and "trailing_12m" (days from the same
 * calendar day a year before as_of up to as_of, docs/target.md) and the history the
 * seasonality methods read. All or nothing: on error the plan keeps its previous
 * history. Progress in rows received. `report` may be NULL.
 */
SP_API int sp_target_plan_load_history(sp_target_plan *plan, const sp_fact_source *src,
                                       const sp_dict *dict,
                                       const sp_target_history_options *opts,
                                       const sp_progress *progress,
                                       sp_target_history_report *report);
/* The history of one node: years x nperiods amounts, oldest year first; *first_year the
 * oldest fiscal year. SP_ENOTFOUND when the plan holds none for the node. */
SP_API int sp_target_plan_history(const sp_target_plan *plan, uint32_t node,
                                  const int64_t **values, size_t *years, int32_t *first_year);

/*
 * Actuals of the plan's year, grouped as the history is: actual[node * nperiods + p],
 * rolled up to the ancestors, for facts before opts->as_of (INT32_MIN: the whole year).
 * `opts` gives the key and flags (years is ignored). `actual` has nnodes x nperiods
 * entries, written only on success.
 */
SP_API int sp_target_plan_load_actuals(const sp_target_plan *plan, const sp_fact_source *src,
                                       const sp_dict *dict,
                                       const sp_target_history_options *opts,
                                       const sp_progress *progress, int64_t *actual,
                                       sp_target_history_report *report);

/* ---- decomposition into a target set ---- */

/*
 * Decompose `total` (>= 0) by the settings: each sibling group split by its rule
 * (sp_decomp_run), then each leaf's annual target split over the periods by its profile
 * (its own or its nearest ancestor's; sp_timesplit), and every inner node's periods the
 * sums of its children's. So children sum to their parent in every period and every
 * node's periods sum to its annual target. Progress in nodes (three passes).
 */
SP_API int sp_target_plan_decompose(sp_target_set **out, const sp_target_plan *plan,
                                    int64_t total, const sp_progress *progress);

SP_API void sp_target_set_free(sp_target_set *set);

/* What a set is; strings are owned by the set. */
typedef struct sp_target_set_info {
    uint32_t version;       /* SP_TARGET_SET_INFO_VERSION */
    const char *plan_id;    /* the plan the set was made from */
    uint32_t plan_revision; /* the plan's revision when the set was made */
    uint32_t measure;       /* sp_target_measure, as the plan's */
    const char *currency;   /* "" when none */
    int32_t exponent;       /* of the amounts, as the plan's */
    int32_t fiscal_year;    /* the plan's year */
    uint32_t grain;         /* sp_grain of the periods */
    size_t nperiods;        /* periods per node */
    size_t nnodes;          /* nodes of the set's hierarchy */
    int64_t total;          /* the root's target */
    uint32_t based_on;      /* a re-plan: the version it was made from (0: none) */
    size_t closed;          /* a re-plan: periods closed with actuals */
    const char *scenario;   /* "" until saved */
    uint32_t set_version;   /* 0 until saved */
    const char *note;       /* "" until saved */
    int32_t saved_day;      /* the day passed to sp_target_set_save; INT32_MIN until then */
    const sp_hierarchy *hierarchy; /* ids and parents of the set's nodes */
} sp_target_set_info;

#define SP_TARGET_SET_INFO_VERSION 1u
#define SP_TARGET_SET_INFO_INIT                                                               \
    { SP_TARGET_SET_INFO_VERSION, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, \
      INT32_MIN, NULL }

SP_API int sp_target_set_info_init(sp_target_set_info *info, uint32_t version);

/* Fill `info` (as of info->version: SP_TARGET_SET_INFO_INIT) with what the set is. */
SP_API int sp_target_set_get_info(const sp_target_set *set, sp_target_set_info *info);

/* The set's arrays, indexed by node (its hierarchy's indices). Owned by the set. */
typedef struct sp_target_set_data {
    uint32_t version;            /* SP_TARGET_SET_DATA_VERSION */
    size_t nnodes, nperiods;     /* the rows and the periods per row */
    const int64_t *annual;       /* nnodes */
    const uint32_t *flags;       /* nnodes: sp_decomp_flag bits */
    const sp_dec *growth;        /* nnodes: where SP_DECOMP_F_GROWTH */
    const sp_dec *common_growth; /* nnodes: where SP_DECOMP_F_COMMON_GROWTH */
    const int64_t *periods;      /* nnodes x nperiods: periods[node * nperiods + p] */
    size_t nprofiles;            /* seasonal profiles the split used */
    const sp_dec *profiles;      /* nprofiles x nperiods weights (normalised when used) */
    const uint32_t *profile_of;  /* nnodes: the profile each node was split by */
    uint32_t weighting;          /* sp_time_weighting of the split */
} sp_target_set_data;

#define SP_TARGET_SET_DATA_VERSION 1u
#define SP_TARGET_SET_DATA_INIT \
    { SP_TARGET_SET_DATA_VERSION, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 }

SP_API int sp_target_set_data_init(sp_target_set_data *data, uint32_t version);

/* Fill `data` (as of data->version: SP_TARGET_SET_DATA_INIT) with pointers to the set's
 * arrays, valid until the set is freed. */
SP_API int sp_target_set_get_data(const sp_target_set *set, sp_target_set_data *data);
/* The node of an id; SP_ENOTFOUND when the set has none. */
SP_API int sp_target_set_find(const sp_target_set *set, const char *id, size_t len,
                              uint32_t *node);
/* The lock reason of a node, or NULL when it was not locked. */
SP_API const char *sp_target_set_lock_reason(const sp_target_set *set, uint32_t node);

/* ---- comparing two sets ---- */

/* The comparison of two target sets, node by node and period by period (immutable). */
typedef struct sp_target_comparison sp_target_comparison;

/* Flags of a compared node or cell. */
typedef enum sp_compare_flag {
    SP_COMPARE_IN_A = 1,   /* the node is in set a */
    SP_COMPARE_IN_B = 2,   /* the node is in set b */
    SP_COMPARE_NO_BASE = 4 /* a is 0 (or the node is not in a): no relative change */
} sp_compare_flag;

/*
 * Compare b against a node by node (matched by id): the nodes of a in a's index order,
 * then those only in b in b's order. Per node and, when both sets have the same number of
 * periods, per period: a, b, b - a and the relative change (b - a) / a as sp_dec rounded
 * half-even (flag NO_BASE and 0 when a is 0). A node missing from a set counts 0 there.
 */
SP_API int sp_target_compare(sp_target_comparison **out, const sp_target_set *a,
                             const sp_target_set *b);
SP_API void sp_target_comparison_free(sp_target_comparison *cmp);

/* The comparison's arrays, owned by it. */
typedef struct sp_target_comparison_data {
    uint32_t version;               /* SP_TARGET_COMPARISON_DATA_VERSION */
    size_t count;                   /* nodes compared */
    size_t nperiods;                /* 0 when the sets' periods differ */
    const char *const *ids;         /* count */
    const uint32_t *flags;          /* count: sp_compare_flag */
    const int64_t *a, *b, *diff;    /* count */
    const sp_dec *relative;         /* count */
    const uint32_t *period_flags;   /* count x nperiods (only NO_BASE) */
    const int64_t *period_a, *period_b, *period_diff; /* count x nperiods */
    const sp_dec *period_relative;  /* count x nperiods */
    size_t only_in_a, only_in_b;    /* nodes found in one set only */
} sp_target_comparison_data;

#define SP_TARGET_COMPARISON_DATA_VERSION 1u
#define SP_TARGET_COMPARISON_DATA_INIT                                                  \
    { SP_TARGET_COMPARISON_DATA_VERSION, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL, NULL, 0, 0 }

SP_API int sp_target_comparison_data_init(sp_target_comparison_data *data, uint32_t version);

/* Fill `data` (as of data->version: SP_TARGET_COMPARISON_DATA_INIT) with pointers to the
 * comparison's arrays, valid until it is freed. */
SP_API int sp_target_comparison_get_data(const sp_target_comparison *cmp,
                                         sp_target_comparison_data *data);

/* ---- living with the plan ---- */

/*
 * Bottom-up: the leaves' commitments (indexed by the set's nodes) against the set's annual
 * targets, reconciled by sp_hierarchy_reconcile on the set's hierarchy.
 */
SP_API int sp_target_set_reconcile(const sp_target_set *set, const int64_t *commitments,
                                   const sp_reconcile_options *opts,
                                   const sp_reconcile_output *out);

/* Options of sp_target_plan_replan. */
typedef struct sp_target_replan_options {
    uint32_t version;   /* SP_TARGET_REPLAN_OPTIONS_VERSION */
    uint32_t overshoot; /* sp_overshoot_policy */
} sp_target_replan_options;

#define SP_TARGET_REPLAN_OPTIONS_VERSION 1u
#define SP_TARGET_REPLAN_OPTIONS_INIT { SP_TARGET_REPLAN_OPTIONS_VERSION, SP_OVERSHOOT_ZERO }

SP_API int sp_target_replan_options_init(sp_target_replan_options *opts, uint32_t version);

/*
 * Re-plan mid-year: a new set from `base` (a set of this plan's year and grain) where
 * periods 0 .. closed - 1 of every leaf are its actuals (actual[node * nperiods + p],
 * read at the leaves; e.g. from sp_target_plan_load_actuals) and what remains of its
 * annual target is spread over the open periods by the leaf's profile (sp_replan, with
 * the plan's period unit). Inner nodes are the sums of their children in every period; a
 * node's annual target is the sum of its periods (above the base's only where a leaf
 * overshot). The new set records the base's version in `based_on`.
 */
SP_API int sp_target_plan_replan(sp_target_set **out, const sp_target_plan *plan,
                                 const sp_target_set *base, const int64_t *actual, size_t closed,
                                 const sp_target_replan_options *opts);

/* Options of sp_target_plan_pacing. */
typedef struct sp_target_pacing_options {
    uint32_t version;     /* SP_TARGET_PACING_OPTIONS_VERSION */
    uint32_t rolled_up;   /* 0: actual holds each node's own bookings, rolled up here
                             (SP_ROLLUP_OWN); 1: actual is already rolled up */
    uint32_t elapsed;     /* sp_elapsed_measure */
    uint32_t projection;  /* sp_projection_method */
    sp_dec threshold;     /* on track while |actual - expected| <= threshold x expected
                             (0.05 for +-5 %); 0: any difference counts */
    uint32_t rounding;    /* sp_rounding */
} sp_target_pacing_options;

#define SP_TARGET_PACING_OPTIONS_VERSION 1u
#define SP_TARGET_PACING_OPTIONS_INIT { SP_TARGET_PACING_OPTIONS_VERSION, 0, 0, 0, 0, 0 }

SP_API int sp_target_pacing_options_init(sp_target_pacing_options *opts, uint32_t version);

/* Output arrays of sp_target_plan_pacing, one entry per node; each may be NULL. */
typedef struct sp_target_pacing_output {
    uint32_t version;    /* SP_TARGET_PACING_OUTPUT_VERSION */
    int64_t *actual;     /* the actuals to date, rolled up */
    int64_t *expected;   /* expected to date by the node's own periods */
    int64_t *projection; /* year-end projection */
    int32_t *status;     /* sp_pace_status */
} sp_target_pacing_output;

#define SP_TARGET_PACING_OUTPUT_VERSION 1u
#define SP_TARGET_PACING_OUTPUT_INIT { SP_TARGET_PACING_OUTPUT_VERSION, NULL, NULL, NULL, NULL }

SP_API int sp_target_pacing_output_init(sp_target_pacing_output *out, uint32_t version);

/*
 * Pacing of every node of `set` (of this plan's year and grain) on the days before
 * `elapsed_end`: sp_pacing with each node's own periods as its profile, so an inner node
 * is paced by the sum of its children's periods, against its actuals rolled up.
 */
SP_API int sp_target_plan_pacing(const sp_target_plan *plan, const sp_target_set *set,
                                 int32_t elapsed_end, const int64_t *actual,
                                 const sp_target_pacing_options *opts,
                                 const sp_target_pacing_output *out);

/* ---- storage: each operation one transaction ---- */

/*
 * Save the plan under its id in namespace "target.plan". The stored revision must be the
 * plan's (0: not stored yet), else SP_ECONFLICT (another copy saved it since); the record
 * gets revision + 1, which the plan takes on success.
 */
SP_API int sp_target_plan_save(sp_target_plan *plan, const sp_storage *storage);
SP_API int sp_target_plan_load(sp_target_plan **out, sp_ctx *ctx, const sp_storage *storage,
                               const char *plan_id);

/*
 * Save a set as the next version of `scenario` (1 to 255 bytes of UTF-8) of its plan in
 * namespace "target.set", with a note (may be NULL) and the day it is saved (a day of the
 * years 1 to 9999; the library reads no clock). The plan must be in the store: checked inside the transaction, else
 * SP_ENOTFOUND naming the plan and nothing is written (a plan never saved, or removed
 * since). The version is found inside the transaction; a stored version is never
 * replaced (SP_ECONFLICT). The set takes scenario, version, note and day on success; a
 * set can be saved once (SP_ECONFLICT after).
 */
SP_API int sp_target_set_save(sp_target_set *set, const sp_storage *storage,
                              const char *scenario, const char *note, int32_t day,
                              uint32_t *version);
/* Load a saved set; version 0: the latest of the scenario. */
SP_API int sp_target_set_load(sp_target_set **out, sp_ctx *ctx, const sp_storage *storage,
                              const char *plan_id, const char *scenario, uint32_t version);
/* The saved versions of a scenario, ascending: *count gets their number, versions[0..cap)
 * the first of them; SP_EBUFFER (with *count) when cap is too small. */
SP_API int sp_target_set_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                                  const char *scenario, uint32_t *versions, size_t cap,
                                  size_t *count);

/* The scenarios of a plan that have saved sets; the ids of the saved plans (sp_names:
 * storage.h). */
SP_API int sp_target_scenarios(sp_names **out, sp_ctx *ctx, const sp_storage *storage,
                               const char *plan_id);
SP_API int sp_target_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_TARGET_H */
