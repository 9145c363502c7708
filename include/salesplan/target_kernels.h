/*
 * salesplan/target_kernels.h - the kernels under target plans: decomposition of a total
 * down a hierarchy, seasonality profiles, the split of annual targets over periods,
 * re-planning and pacing. Pure functions over arrays: no storage.
 */
#ifndef SALESPLAN_TARGET_KERNELS_H
#define SALESPLAN_TARGET_KERNELS_H

#include "target.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * Decomposition: the root's total split down the hierarchy, each sibling group exactly
 * ====================================================================================== */

/* How a node's target is split over its children. Values are frozen. */
typedef enum sp_decomp_method {
    SP_DECOMP_EVEN = 0,   /* equal shares */
    SP_DECOMP_DRIVER = 1, /* proportional to one driver column */
    SP_DECOMP_BLEND = 2,  /* proportional to a weighted blend of driver shares */
    SP_DECOMP_GROWTH = 3  /* a common growth over a baseline column, each node's growth
                             held between the floor and the cap */
} sp_decomp_method;

/* What a null driver value (not zero: absent) of an unlocked child leads to. */
typedef enum sp_decomp_null_policy {
    SP_DECOMP_NULL_ERROR = 0, /* the split fails, naming the node and the driver */
    SP_DECOMP_NULL_EVEN = 1   /* the node counts with the mean value of its unlocked
                                 siblings that have one: the share an even split would
                                 give it; all null: an even split */
} sp_decomp_null_policy;

/* Growth limits meaning "none". */
#define SP_DECOMP_NO_FLOOR INT64_MIN
#define SP_DECOMP_NO_CAP INT64_MAX

/*
 * A rule: how one sibling group is split. Set per level (the level of the children) and
 * overridden per node (the parent whose children it splits). The rule is copied.
 */
typedef struct sp_decomp_rule {
    uint32_t version;              /* SP_DECOMP_RULE_VERSION */
    uint32_t method;               /* sp_decomp_method */
    uint32_t driver;               /* DRIVER: the column; GROWTH: the baseline column */
    uint32_t null_policy;          /* sp_decomp_null_policy */
    const uint32_t *blend_drivers; /* BLEND: the columns ... */
    const sp_dec *blend_weights;   /* ... and their weights (>= 0, not all zero) */
    size_t blend_count;            /* BLEND: entries of blend_drivers and blend_weights */
    sp_dec growth_floor;           /* GROWTH: lowest growth rate (>= -1), or NO_FLOOR */
    sp_dec growth_cap;             /* GROWTH: highest growth rate, or NO_CAP */
    int64_t unit;                  /* 0 or 1: minor units; > 1: children's targets are
                                      multiples of unit (sp_allocate's rule) */
} sp_decomp_rule;

#define SP_DECOMP_RULE_VERSION 1u
#define SP_DECOMP_RULE_INIT                                                                     \
    { SP_DECOMP_RULE_VERSION, SP_DECOMP_EVEN, 0, SP_DECOMP_NULL_ERROR, NULL, NULL, 0,          \
      SP_DECOMP_NO_FLOOR, SP_DECOMP_NO_CAP, 0 }

SP_API int sp_decomp_rule_init(sp_decomp_rule *rule, uint32_t version);

/*
 * A decomposition of a validated hierarchy: driver columns, rules, bounds, locks. It
 * refers to the hierarchy, which must outlive it and not change while it is used
 * (sp_decomp_run fails when it did).
 */
typedef struct sp_decomp sp_decomp;

/* A new decomposition of `h` (validated), with no drivers, rules, bounds or locks; it
 * allocates through h's context. */
SP_API int sp_decomp_new(sp_decomp **out, const sp_hierarchy *h);
SP_API void sp_decomp_free(sp_decomp *d);

/*
 * Add a driver column (prior-period actuals, trailing twelve months, potential,
 * headcount, capacity, any measure): one value per node (`n` = the node count), copied.
 * valid[i] == 0 marks a null; `valid` NULL: no nulls. Names are unique, non-empty,
 * NUL-terminated UTF-8. Values are checked where a rule uses them (a proportional split
 * rejects negative ones). `*column` receives the column number (0, 1, ...).
 */
SP_API int sp_decomp_add_driver(sp_decomp *d, const char *name, const int64_t *values,
                                const uint8_t *valid, size_t n, uint32_t *column);
SP_API int sp_decomp_find_driver(const sp_decomp *d, const char *name, uint32_t *column);

/* The rule for splitting nodes of level-1 into children of `level` (>= 1); NULL clears
 * it. Without a rule a group is split evenly. */
SP_API int sp_decomp_set_level_rule(sp_decomp *d, uint32_t level, const sp_decomp_rule *rule);
/* The rule for splitting `node`'s children, over the level's; NULL clears it. */
SP_API int sp_decomp_set_node_rule(sp_decomp *d, uint32_t node, const sp_decomp_rule *rule);

/* Bounds of a node's target: 0 <= min <= max (INT64_MAX: no max). */
SP_API int sp_decomp_set_bounds(sp_decomp *d, uint32_t node, int64_t min, int64_t max);
/* Bounds of every node at once (n = the node count); either array may be NULL (no
 * bound). All or nothing. */
SP_API int sp_decomp_set_bounds_all(sp_decomp *d, const int64_t *min, const int64_t *max,
                                    size_t n);
/* Growth limits of one node under a GROWTH split, over its group rule's. */
SP_API int sp_decomp_set_growth_limits(sp_decomp *d, uint32_t node, sp_dec floor, sp_dec cap);

/*
 * Lock a node's target at `value` (>= 0, a manual override), with the reason kept for
 * audit (non-empty UTF-8, copied). Its siblings share what is left. The root cannot be
 * locked: its target is the total. Locking again replaces value and reason.
 */
SP_API int sp_decomp_lock(sp_decomp *d, uint32_t node, int64_t value, const char *reason);
/* SP_ENOTFOUND when the node is not locked. */
SP_API int sp_decomp_unlock(sp_decomp *d, uint32_t node);
/* Locks in node order: their number, and the k-th (*reason owned by the decomposition,
 * valid until the lock changes). */
SP_API size_t sp_decomp_lock_count(const sp_decomp *d);
SP_API int sp_decomp_lock_at(const sp_decomp *d, size_t k, uint32_t *node, int64_t *value,
                             const char **reason);

/* Output arrays of sp_decomp_run, one entry per node. */
typedef struct sp_decomp_output {
    uint32_t version;      /* SP_DECOMP_OUTPUT_VERSION */
    int64_t *target;       /* required */
    uint32_t *flags;       /* optional: sp_decomp_flag bits */
    sp_dec *growth;        /* optional: target / baseline - 1 under a GROWTH split */
    sp_dec *common_growth; /* optional: at a parent split by GROWTH, the growth its
                              children reached in common */
} sp_decomp_output;

#define SP_DECOMP_OUTPUT_VERSION 1u
#define SP_DECOMP_OUTPUT_INIT { SP_DECOMP_OUTPUT_VERSION, NULL, NULL, NULL, NULL }

SP_API int sp_decomp_output_init(sp_decomp_output *out, uint32_t version);

/*
 * Split `total` (>= 0: the root's target) down the hierarchy: the root gets the total,
 * then, parents before children, each node's target is split over its children by the
 * group's rule through sp_allocate, so children always sum exactly to their parent.
 * Errors (SP_EINVAL / SP_EOVERFLOW; nothing written; the message names the node, its
 * group and the driver): a null or negative driver value, infeasible bounds or locks,
 * all-zero weights, sums beyond int64_t. SP_ENOMEM.
 */
SP_API int sp_decomp_run(sp_decomp *d, int64_t total, const sp_decomp_output *out);

/* ---- seasonality profiles ---- */

/*
 * A profile gives each period of a year its share as an sp_dec fraction (8.5 % is
 * 85000000); profiles[k * nperiods + p] is the share of period p in profile k.
 * The policy says what happens when the shares do not sum to exactly 100 %. Values are
 * frozen.
 */
typedef enum sp_profile_policy {
    SP_PROFILE_REJECT = 0,   /* an error that shows the sum */
    SP_PROFILE_NORMALISE = 1 /* the shares are read as weights, in proportion */
} sp_profile_policy;

/*
 * Check a profile of n shares under `policy` and write shares that sum to exactly 100 %:
 * a copy under SP_PROFILE_REJECT, the proportional shares rounded by largest remainder
 * (sp_allocate of 100 %) under SP_PROFILE_NORMALISE. Errors: a negative share, a sum of
 * zero, a sum other than 100 % under SP_PROFILE_REJECT ("season: profile: the shares sum
 * to 99.5%, not 100%").
 */
SP_API int sp_season_shares(sp_ctx *ctx, const sp_dec *profile, size_t n, uint32_t policy,
                            sp_dec *shares);

/* What a history without sales does. Values are frozen. */
typedef enum sp_season_zero_policy {
    SP_SEASON_ZERO_ERROR = 0, /* a year whose total is zero (or, for the ratio method, a
                                 zero moving average) is an error naming it */
    SP_SEASON_ZERO_EVEN = 1   /* such years (ratios) are left out; with none left the
                                 profile is even */
} sp_season_zero_policy;

/* How the ratio-to-moving-average method averages each period's ratios. Values are
 * frozen. */
typedef enum sp_season_average {
    SP_SEASON_MEAN = 0,  /* the arithmetic mean of the years' ratios */
    SP_SEASON_MEDIAN = 1 /* their median (the mean of the middle two for an even count) */
} sp_season_average;

/* Options of sp_season_average_share and sp_season_ratio_to_ma. */
typedef struct sp_season_options {
    uint32_t version;       /* SP_SEASON_OPTIONS_VERSION */
    uint32_t zero_policy;   /* sp_season_zero_policy */
    uint32_t average;       /* sp_season_average (ratio to moving average only) */
    const uint8_t *missing; /* per history value: non-zero marks a missing value, which is
                               an error naming it; NULL: none missing */
} sp_season_options;

#define SP_SEASON_OPTIONS_VERSION 1u
#define SP_SEASON_OPTIONS_INIT { SP_SEASON_OPTIONS_VERSION, 0, 0, NULL }

SP_API int sp_season_options_init(sp_season_options *opts, uint32_t version);

/*
 * Seasonality from history: `history` holds whole years of `nperiods` amounts (>= 0),
 * oldest first, history[y * nperiods + p]; nvalues is years * nperiods.
 *
 * sp_season_average_share: each year's share of each period, averaged over the years;
 * `shares` (nperiods) sum to exactly 100 %. Needs one year.
 *
 * sp_season_ratio_to_ma: ratio-to-moving-average seasonal indices. Each value is divided by
 * the centred moving average over nperiods values (the 2 x nperiods average when nperiods
 * is even); each period's ratios are averaged (mean or median) and rescaled so that the
 * `indices` (nperiods) sum to exactly nperiods (1.0 is an average period). Needs two
 * years. The indices are weights for a profile under SP_PROFILE_NORMALISE, or shares
 * through sp_season_shares.
 *
 * Integer arithmetic throughout (docs/target.md has the rounding steps): the results are
 * the same on every platform.
 */
SP_API int sp_season_average_share(sp_ctx *ctx, const int64_t *history, size_t nvalues,
                                   size_t nperiods, const sp_season_options *opts,
                                   sp_dec *shares);
SP_API int sp_season_ratio_to_ma(sp_ctx *ctx, const int64_t *history, size_t nvalues,
                                 size_t nperiods, const sp_season_options *opts,
                                 sp_dec *indices);

/* ---- splitting over time, re-planning and pacing ---- */

/* Options of sp_timesplit. */
typedef struct sp_timesplit_options {
    uint32_t version;             /* SP_TIMESPLIT_OPTIONS_VERSION */
    uint32_t policy;              /* sp_profile_policy */
    const uint32_t *profile_of;   /* per node: its profile; NULL: profile 0 for every node */
    const sp_calendar *calendar;  /* optional: the periods are this calendar's periods of
                                     fiscal_year at grain, and their number must match */
    int32_t fiscal_year;          /* with calendar: the year of the periods */
    uint32_t grain;               /* with calendar: the sp_grain of the periods */
    uint32_t weighting;           /* sp_time_weighting */
    int64_t unit;                 /* 0 or 1: minor units; > 1: granularity, as sp_allocate */
    const uint8_t *held;          /* nnodes x nperiods: non-zero holds a period at ... */
    const int64_t *held_value;    /* ... this value; the rest is spread over the others */
} sp_timesplit_options;

#define SP_TIMESPLIT_OPTIONS_VERSION 1u
#define SP_TIMESPLIT_OPTIONS_INIT \
    { SP_TIMESPLIT_OPTIONS_VERSION, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL }

SP_API int sp_timesplit_options_init(sp_timesplit_options *opts, uint32_t version);

/*
 * Split each node's annual amount over `nperiods` periods by its profile: out[i * nperiods
 * + p], each row summing exactly to annual[i] (sp_allocate: largest remainder, ties to the
 * earlier period; held periods locked). `profiles` holds nprofiles x nperiods shares.
 * Nothing is written unless every node splits. Errors name the node and period.
 */
SP_API int sp_timesplit(sp_ctx *ctx, const int64_t *annual, size_t nnodes,
                        const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                        const sp_timesplit_options *opts, int64_t *out);

/* ---- re-planning and pacing: outside the stable ABI ----
 *
 * The kernels under sp_target_plan_replan and sp_target_plan_pacing (target.h), which are
 * stable and cover what hosts need. These shapes changed in 0.1 and may change again
 * (docs/abi.md): define SP_STATIC_LINKING_ONLY and link libsalesplan.a to use them.
 */
#ifdef SP_STATIC_LINKING_ONLY

/* Options of sp_replan. The fields from policy to held_value are sp_timesplit_options'. */
typedef struct sp_replan_options {
    uint32_t version;             /* SP_REPLAN_OPTIONS_VERSION */
    size_t closed;                /* periods 0 .. closed - 1 are closed (0 .. nperiods) */
    uint32_t policy;              /* sp_profile_policy */
    const uint32_t *profile_of;   /* per node: its profile; NULL: profile 0 */
    const sp_calendar *calendar;  /* optional: the calendar of the periods */
    int32_t fiscal_year;          /* with calendar: the year of the periods */
    uint32_t grain;               /* with calendar: the sp_grain of the periods */
    uint32_t weighting;           /* sp_time_weighting */
    int64_t unit;                 /* 0 or 1: minor units; > 1: granularity, as sp_allocate */
    const uint8_t *held;          /* nnodes x nperiods: non-zero holds a period at ...
                                     (ignored in closed periods) */
    const int64_t *held_value;    /* ... this value */
    uint32_t overshoot;           /* sp_overshoot_policy */
} sp_replan_options;

#define SP_REPLAN_OPTIONS_VERSION 1u
#define SP_REPLAN_OPTIONS_INIT \
    { SP_REPLAN_OPTIONS_VERSION, 0, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0 }

SP_STATIC_API int sp_replan_options_init(sp_replan_options *opts, uint32_t version);

/* Output arrays of sp_replan. */
typedef struct sp_replan_output {
    uint32_t version; /* SP_REPLAN_OUTPUT_VERSION */
    int64_t *rows;    /* required: nnodes x nperiods, rows[i * nperiods + p] */
    int64_t *excess;  /* optional: nnodes, by how much the actuals (and held values) of a
                         node exceed its target; 0 where they do not */
} sp_replan_output;

#define SP_REPLAN_OUTPUT_VERSION 1u
#define SP_REPLAN_OUTPUT_INIT { SP_REPLAN_OUTPUT_VERSION, NULL, NULL }

SP_STATIC_API int sp_replan_output_init(sp_replan_output *out, uint32_t version);

/*
 * Re-plan mid-year. Periods 0 .. opts->closed - 1 are closed: their row entries are the
 * actuals (actual[i * nperiods + p]; later entries of `actual` are not read). What remains,
 * target - actual to date, is spread over the open periods by the profile, held periods
 * locked, so that each row sums to its target (target[i] >= 0). When the actuals and held
 * values already exceed the target the overshoot policy applies and out->excess reports by
 * how much. `opts` NULL: nothing closed, the defaults. Nothing is written on error.
 */
SP_STATIC_API int sp_replan(sp_ctx *ctx, const int64_t *target, const int64_t *actual,
                            size_t nnodes, const sp_dec *profiles, size_t nprofiles,
                            size_t nperiods, const sp_replan_options *opts,
                            const sp_replan_output *out);

/* Options of sp_pacing: the periods the profiles describe and how to judge the pace. */
typedef struct sp_pacing_options {
    uint32_t version;           /* SP_PACING_OPTIONS_VERSION */
    const sp_calendar *calendar; /* required: the calendar whose periods ... */
    int32_t fiscal_year;        /* ... of this fiscal year ... */
    uint32_t grain;             /* ... at this sp_grain the profiles describe */
    int32_t elapsed_end;        /* the days before this day have elapsed */
    uint32_t policy;            /* sp_profile_policy */
    const uint32_t *profile_of; /* per node; NULL: profile 0 */
    uint32_t weighting;         /* sp_time_weighting, as the split used */
    uint32_t elapsed;           /* sp_elapsed_measure */
    uint32_t projection;        /* sp_projection_method */
    sp_dec threshold;           /* on track while |actual - expected| <= threshold x expected
                                   (0.05 for +-5 %); 0: any difference counts */
    uint32_t rounding;          /* sp_rounding of expected and projection */
} sp_pacing_options;

#define SP_PACING_OPTIONS_VERSION 1u
#define SP_PACING_OPTIONS_INIT \
    { SP_PACING_OPTIONS_VERSION, NULL, 0, SP_GRAIN_MONTH, 0, 0, NULL, 0, 0, 0, 0, 0 }

SP_STATIC_API int sp_pacing_options_init(sp_pacing_options *opts, uint32_t version);

/* Output arrays of sp_pacing, one entry per node; each may be NULL. */
typedef struct sp_pacing_output {
    uint32_t version;    /* SP_PACING_OUTPUT_VERSION */
    int64_t *expected;   /* expected to date */
    int64_t *projection; /* year-end projection of the actual to date */
    int32_t *status;     /* sp_pace_status */
} sp_pacing_output;

#define SP_PACING_OUTPUT_VERSION 1u
#define SP_PACING_OUTPUT_INIT { SP_PACING_OUTPUT_VERSION, NULL, NULL, NULL }

SP_STATIC_API int sp_pacing_output_init(sp_pacing_output *out, uint32_t version);

/*
 * Pacing of each node on the days before opts->elapsed_end of the fiscal year whose
 * periods the profiles describe. expected[i] = target x (the shares of the periods passed
 * + the current period's share x its elapsed fraction); projection[i] is the year-end
 * projection of actual[i] (the actual to date); status[i] an sp_pace_status. Nothing is
 * written on error.
 */
SP_STATIC_API int sp_pacing(sp_ctx *ctx, const int64_t *target, const int64_t *actual,
                            size_t nnodes, const sp_dec *profiles, size_t nprofiles,
                            size_t nperiods, const sp_pacing_options *opts,
                            const sp_pacing_output *out);

#endif /* SP_STATIC_LINKING_ONLY */

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_TARGET_KERNELS_H */
