/*
 * salesplan/target.h - target (quota) decomposition over a hierarchy and a calendar.
 *
 * A target is money in minor units (or a quantity in whole units): int64_t, never
 * negative. Rates (growth, blend weights, seasonal shares) are sp_dec. Kernels are pure:
 * arrays in, arrays out, no storage. docs/target.md has the methods, their formulas, the
 * rounding rules and the policies.
 */
#ifndef SALESPLAN_TARGET_H
#define SALESPLAN_TARGET_H

#include "core.h"
#include "money.h"
#include "storage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Hierarchy and decomposition ==== */

/* ======================================================================================
 * The hierarchy: company, regions, grids, reps, ... as host ids with parents
 * ====================================================================================== */

/* An index that stands for "no node" (the root's parent). Same value as SP_NONE of
 * storage.h. */
#define SP_HIERARCHY_NONE UINT32_MAX

/*
 * A tree of nodes named by the host's ids (UTF-8, 1 to 65535 bytes, no NUL). Nodes get
 * dense indices 0, 1, 2, ... in the order they are added; every per-node array of this
 * header is indexed by them. A node's level is its depth: the root is level 0, its
 * children level 1, and so on; sp_hierarchy_set_levels names the levels. Leaves may sit
 * at any depth (a rep directly under a region is at level 2).
 *
 * Nodes are added in any order (a child may come before its parent), then
 * sp_hierarchy_validate checks the whole and freezes it: exactly one root, every parent
 * a node, no cycle. Siblings are kept in canonical order: by their ids' bytes (unsigned,
 * a proper prefix first), so that results never depend on the order nodes were added.
 * Adding a node after validation makes the hierarchy unvalidated again.
 */
typedef struct sp_hierarchy sp_hierarchy;

SP_API int sp_hierarchy_new(sp_hierarchy **out, sp_ctx *ctx);
SP_API void sp_hierarchy_free(sp_hierarchy *h);

/*
 * Add one node with its parent's id; `parent` NULL makes it a root candidate. The parent
 * need not exist yet. `*index` (may be NULL) receives the node's index.
 * SP_ECONFLICT for an id already present, SP_EINVAL for an empty, too long or invalid id
 * or parent id (messages quote the id), SP_EOVERFLOW beyond 2^32 - 3 nodes.
 */
SP_API int sp_hierarchy_add(sp_hierarchy *h, const char *id, size_t id_len, const char *parent,
                            size_t parent_len, uint32_t *index);
/*
 * Add n nodes at once, all or nothing. `id_lens` / `parent_lens` may be NULL for
 * NUL-terminated strings; `parents` may be NULL (n roots) and parents[i] NULL marks a
 * root. `indices` (may be NULL) receives the n indices, which are consecutive.
 */
SP_API int sp_hierarchy_add_all(sp_hierarchy *h, const char *const *ids, const size_t *id_lens,
                                const char *const *parents, const size_t *parent_lens, size_t n,
                                uint32_t *indices);
/* Name the levels from the root down (e.g. "company", "region", "grid", "rep",
 * "product"); replaces earlier names. Names are NUL-terminated UTF-8, non-empty, unique.
 * Validation then requires every node's depth to have a name. */
SP_API int sp_hierarchy_set_levels(sp_hierarchy *h, const char *const *names, size_t n);

/*
 * Check and freeze the hierarchy. Errors (SP_EINVAL, nothing changed, the message quotes
 * the ids): no nodes; a parent id that is no node's id; no root or more than one; a cycle
 * (the message lists its ids, each followed by its parent); a node deeper than the level
 * names. SP_ENOMEM.
 */
SP_API int sp_hierarchy_validate(sp_hierarchy *h);
SP_API int sp_hierarchy_is_valid(const sp_hierarchy *h);

SP_API uint32_t sp_hierarchy_count(const sp_hierarchy *h);
/* SP_ENOTFOUND when absent. */
SP_API int sp_hierarchy_find(const sp_hierarchy *h, const char *id, size_t len, uint32_t *index);
/* The id of a node; *id is NUL-terminated and owned by the hierarchy. */
SP_API int sp_hierarchy_id(const sp_hierarchy *h, uint32_t index, const char **id, size_t *len);

/* The functions below need a validated hierarchy (SP_EINVAL otherwise). Pointers they
 * return stay valid until the next change to the hierarchy. */
SP_API int sp_hierarchy_root(const sp_hierarchy *h, uint32_t *root);
/* SP_HIERARCHY_NONE for the root. */
SP_API int sp_hierarchy_parent(const sp_hierarchy *h, uint32_t index, uint32_t *parent);
/* The children of a node in canonical order. */
SP_API int sp_hierarchy_children(const sp_hierarchy *h, uint32_t index, const uint32_t **children,
                                 size_t *count);
SP_API int sp_hierarchy_depth(const sp_hierarchy *h, uint32_t index, uint32_t *depth);
/* Every node, parents before children: the root, then its children, then theirs (level by
 * level, siblings in canonical order). */
SP_API int sp_hierarchy_order(const sp_hierarchy *h, const uint32_t **order, size_t *count);
/* Number of levels in use: the greatest depth + 1. */
SP_API int sp_hierarchy_level_count(const sp_hierarchy *h, uint32_t *count);
/* The name of a level, or SP_ENOTFOUND when levels are unnamed or `level` is beyond them;
 * the level of a name. These work before validation too. */
SP_API int sp_hierarchy_level_name(const sp_hierarchy *h, uint32_t level, const char **name);
SP_API int sp_hierarchy_level_find(const sp_hierarchy *h, const char *name, uint32_t *level);

/* ---- roll-ups ---- */

/* Flags of sp_hierarchy_rollup. */
typedef enum sp_rollup_flags {
    SP_ROLLUP_LEAVES = 0, /* a node's value is the sum of its leaves' values */
    SP_ROLLUP_OWN = 1     /* a node's value is its own value plus its children's sums
                             (measures booked on inner nodes too, e.g. house accounts) */
} sp_rollup_flags;

/*
 * out[v] = sum of values over the leaves below v (a leaf is its own sum), or with
 * SP_ROLLUP_OWN also the values of every node below v and of v itself. Any sign.
 * SP_EOVERFLOW when a sum leaves int64_t (the message names the node); out written only
 * on success.
 */
SP_API int sp_hierarchy_rollup(const sp_hierarchy *h, const int64_t *values, uint32_t flags,
                               int64_t *out);
/* totals[l] = sum of values[v] over the nodes of level l, for l < the level count, which
 * `cap` must reach (SP_EBUFFER otherwise). SP_EOVERFLOW naming the level. */
SP_API int sp_hierarchy_level_totals(const sp_hierarchy *h, const int64_t *values,
                                     int64_t *totals, size_t cap);

/* ---- bottom-up commitments against a top-down target ---- */

typedef enum sp_reconcile_mode {
    SP_RECONCILE_TOP_DOWN = 0,  /* keep the top-down targets */
    SP_RECONCILE_BOTTOM_UP = 1, /* take the leaves' commitments, rolled up */
    SP_RECONCILE_BLEND = 2      /* weight w of bottom-up, 1 - w of top-down (see below) */
} sp_reconcile_mode;

typedef struct sp_reconcile_options {
    uint32_t version;         /* SP_RECONCILE_OPTIONS_VERSION */
    uint32_t mode;            /* sp_reconcile_mode */
    sp_dec bottom_up_weight;  /* SP_RECONCILE_BLEND: w in [0, 1] */
    const uint8_t *committed; /* committed[leaf] != 0 when the leaf gave a commitment;
                                 NULL: every leaf did. A leaf without one counts with its
                                 top-down target. */
} sp_reconcile_options;

#define SP_RECONCILE_OPTIONS_VERSION 1u
#define SP_RECONCILE_OPTIONS_INIT { SP_RECONCILE_OPTIONS_VERSION, SP_RECONCILE_TOP_DOWN, 0, NULL }

SP_API int sp_reconcile_options_init(sp_reconcile_options *opts, uint32_t version);

/* Output arrays of sp_hierarchy_reconcile, one entry per node; each may be NULL. */
typedef struct sp_reconcile_output {
    uint32_t version;   /* SP_RECONCILE_OUTPUT_VERSION */
    int64_t *bottom_up; /* the commitments rolled up */
    int64_t *gap;       /* bottom_up - top_down */
    int64_t *result;    /* the reconciled targets */
} sp_reconcile_output;

#define SP_RECONCILE_OUTPUT_VERSION 1u
#define SP_RECONCILE_OUTPUT_INIT { SP_RECONCILE_OUTPUT_VERSION, NULL, NULL, NULL }

SP_API int sp_reconcile_output_init(sp_reconcile_output *out, uint32_t version);

/*
 * Compare the leaves' own commitments with top-down targets and reconcile them.
 * `top_down` holds a target per node whose children sum to it (checked);
 * `commitments` is read at the leaves only (>= 0). With SP_RECONCILE_BLEND and
 * w = p / q in lowest terms, the root gets round_half_even((p·BU + (q-p)·TD) / q) and
 * every node's result is split over its children by sp_allocate with weights
 * p·BU_c + (q-p)·TD_c, so children always sum to their parent (SP_EOVERFLOW when the
 * root's weight exceeds 2^63 - 1: use a weight with fewer decimals). `opts` NULL means
 * SP_RECONCILE_TOP_DOWN. Outputs written only on success.
 */
SP_API int sp_hierarchy_reconcile(const sp_hierarchy *h, const int64_t *top_down,
                                  const int64_t *commitments, const sp_reconcile_options *opts,
                                  const sp_reconcile_output *out);

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
    size_t blend_count;
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

/* ==== Calendar and seasonality ==== */

/*
 * Days are civil days (proleptic Gregorian, UTC) counted from 1970-01-01, as in storage.h:
 * 2026-01-01 is 20454. A period is the half-open range [first_day, end_day). Years 1 to
 * 9999 are supported.
 */
#define SP_CALENDAR_MIN_YEAR 1
#define SP_CALENDAR_MAX_YEAR 9999

/* The day number of year-month-mday (month 1..12). SP_EINVAL for a date that does not
 * exist or a year outside 1..9999. */
SP_API int sp_calendar_day_from_civil(int32_t year, int32_t month, int32_t mday, int32_t *day);
/* The civil date of a day number; any output pointer may be NULL. SP_EINVAL outside
 * years 1..9999. */
SP_API int sp_calendar_civil_from_day(int32_t day, int32_t *year, int32_t *month,
                                      int32_t *mday);

/* Kinds of calendar. Values are frozen. */
typedef enum sp_calendar_kind {
    SP_CALENDAR_MONTHS = 0,     /* civil months; the fiscal year starts on the 1st of start_month */
    SP_CALENDAR_RETAIL_445 = 1, /* 52/53 weeks; each quarter has months of 4, 4, 5 weeks */
    SP_CALENDAR_RETAIL_454 = 2, /* ... of 4, 5, 4 weeks (the NRF calendar) */
    SP_CALENDAR_RETAIL_544 = 3  /* ... of 5, 4, 4 weeks */
} sp_calendar_kind;

/* How a fiscal year is named. FY2026 is the year that ... Values are frozen. */
typedef enum sp_fiscal_label {
    SP_FISCAL_LABEL_END = 0,  /* ... ends in 2026 (US federal, Apple, Microsoft) */
    SP_FISCAL_LABEL_START = 1 /* ... starts in 2026 (Japan, the NRF retail calendar) */
} sp_fiscal_label;

/* Where a retail year ends, in the month before start_month. Values are frozen. */
typedef enum sp_year_end_rule {
    SP_YEAR_END_LAST = 0,   /* on the last year_end_weekday of that month */
    SP_YEAR_END_NEAREST = 1 /* on the year_end_weekday nearest that month's last day (NRF) */
} sp_year_end_rule;

/* Grains of a calendar, coarse to fine. Values are frozen. */
typedef enum sp_grain {
    SP_GRAIN_YEAR = 0,
    SP_GRAIN_HALF = 1,
    SP_GRAIN_QUARTER = 2,
    SP_GRAIN_MONTH = 3,
    SP_GRAIN_WEEK = 4 /* ISO 8601 weeks (Monday to Sunday) in a months calendar; the
                         retail weeks, ending on year_end_weekday, in a retail calendar */
} sp_grain;

/* ISO weekdays: 1 Monday .. 7 Sunday. As bits for the weekend: bit (weekday - 1). */
typedef enum sp_weekday_bits {
    SP_MONDAY = 1,
    SP_TUESDAY = 2,
    SP_WEDNESDAY = 4,
    SP_THURSDAY = 8,
    SP_FRIDAY = 16,
    SP_SATURDAY = 32,
    SP_SUNDAY = 64
} sp_weekday_bits;

/* The most periods a fiscal year has at any grain (a 53-week year), and the longest label
 * with its NUL ("FY2026-W53"). */
#define SP_CALENDAR_MAX_PERIODS 53
#define SP_CALENDAR_LABEL_MAX 16

/*
 * A calendar's rules. Zero fields are the defaults: civil months, a year from January,
 * every day a working day.
 */
typedef struct sp_calendar_options {
    uint32_t version;          /* SP_CALENDAR_OPTIONS_VERSION */
    uint32_t kind;             /* sp_calendar_kind */
    uint32_t start_month;      /* 1..12 (0: January). Retail: the month after the one the
                                  year ends in (NRF: 2, the year ends around January 31) */
    uint32_t label;            /* sp_fiscal_label */
    /* Retail calendars only. */
    uint32_t year_end_weekday; /* ISO weekday (1..7) of the last day of the year and of
                                  every week (NRF: 6, Saturday) */
    uint32_t year_end_rule;    /* sp_year_end_rule */
    uint32_t week53_month;     /* fiscal month (1..12) that takes the 53rd week of a long
                                  year; 0: the last (NRF) */
    /* Working days. */
    uint32_t weekend;          /* sp_weekday_bits that are not working days, e.g.
                                  SP_SATURDAY | SP_SUNDAY; 0: every weekday works */
    const int32_t *holidays;   /* days that are not working days (duplicates allowed) */
    size_t nholidays;
    const int32_t *workdays;   /* weekend days that are working days (make-up days, 调休) */
    size_t nworkdays;
} sp_calendar_options;

#define SP_CALENDAR_OPTIONS_VERSION 1u
#define SP_CALENDAR_OPTIONS_INIT \
    { SP_CALENDAR_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }

SP_API int sp_calendar_options_init(sp_calendar_options *opts, uint32_t version);

/* A calendar: the rules above, for every fiscal year 1..9999. Copies the day lists. */
typedef struct sp_calendar sp_calendar;

/* `opts` may be NULL for the defaults. SP_EINVAL names the offending option or day. */
SP_API int sp_calendar_new(sp_calendar **out, sp_ctx *ctx, const sp_calendar_options *opts);
SP_API void sp_calendar_free(sp_calendar *cal);

/*
 * The periods of one fiscal year at one grain: 1 year, 2 halves, 4 quarters, 12 months, or
 * 52 or 53 weeks. Writes *count and, for each period, its first_day, end_day and number of
 * working days into those arrays that are not NULL. SP_EBUFFER (with *count set) when
 * `cap` is below the count; SP_CALENDAR_MAX_PERIODS always suffices.
 * The weeks of a months calendar are the ISO weeks whose Thursday lies in the fiscal year,
 * so the first may start before the year and the last end after it.
 */
SP_API int sp_calendar_periods(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                               int32_t *first_day, int32_t *end_day, int32_t *working_days,
                               size_t cap, size_t *count);

/* The fiscal year and the period (0-based) of `day` at `grain`; for ISO weeks the fiscal
 * year of the week's Thursday (2021-01-03 is in FY2020-W53 of a January calendar). */
SP_API int sp_calendar_locate(const sp_calendar *cal, int32_t day, uint32_t grain,
                              int32_t *fiscal_year, uint32_t *index);
/* The same for n days at once (columnar facts). Nothing is written unless every day is
 * in range. */
SP_API int sp_calendar_locate_many(const sp_calendar *cal, const int32_t *days, size_t n,
                                   uint32_t grain, int32_t *fiscal_year, uint32_t *index);

/*
 * The period at the coarser `parent_grain` that contains period `index` of `grain` in the
 * same fiscal year (the quarter of a month). ISO weeks of a months calendar do not nest in
 * months: a week belongs to the month, quarter or half of its Thursday.
 */
SP_API int sp_calendar_parent(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                              uint32_t index, uint32_t parent_grain, uint32_t *parent_index);

/* "FY2026", "FY2026-H1", "FY2026-Q1", "FY2026-M03", "FY2026-W05" (1-based numbers).
 * NUL-terminated; *len (may be NULL) gets the length; SP_EBUFFER when cap is too small
 * (SP_CALENDAR_LABEL_MAX always suffices). */
SP_API int sp_calendar_label(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                             uint32_t index, char *buf, size_t cap, size_t *len);

/* The number of working days in [first_day, end_day) (0 when end_day <= first_day). */
SP_API int sp_calendar_working_days(const sp_calendar *cal, int32_t first_day,
                                    int32_t end_day, int32_t *count);

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
    SP_SEASON_MEAN = 0,
    SP_SEASON_MEDIAN = 1
} sp_season_average;

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

/* Weight of a period when splitting. Values are frozen. */
typedef enum sp_time_weighting {
    SP_TIME_WEIGHT_PROFILE = 0,     /* the profile's share */
    SP_TIME_WEIGHT_WORKING_DAYS = 1 /* share x working days of the period (the profile is
                                       then a rate per working day; an even profile splits
                                       by working days alone); needs the calendar */
} sp_time_weighting;

typedef struct sp_timesplit_options {
    uint32_t version;             /* SP_TIMESPLIT_OPTIONS_VERSION */
    uint32_t policy;              /* sp_profile_policy */
    const uint32_t *profile_of;   /* per node: its profile; NULL: profile 0 for every node */
    const sp_calendar *calendar;  /* optional: the periods are this calendar's periods of
                                     fiscal_year at grain, and their number must match */
    int32_t fiscal_year;
    uint32_t grain;               /* sp_grain */
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

/* What a re-plan does for a node whose actuals already exceed its target. Values are
 * frozen. */
typedef enum sp_overshoot_policy {
    SP_OVERSHOOT_ZERO = 0,     /* the open periods get 0 (held ones keep their values) */
    SP_OVERSHOOT_KEEP_PLAN = 1 /* the open periods keep the original split of the target */
} sp_overshoot_policy;

typedef struct sp_replan_options {
    uint32_t version;             /* SP_REPLAN_OPTIONS_VERSION */
    uint32_t policy;              /* sp_profile_policy */
    const uint32_t *profile_of;   /* as sp_timesplit_options */
    const sp_calendar *calendar;
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t weighting;
    int64_t unit;
    const uint8_t *held;          /* nnodes x nperiods; ignored in closed periods */
    const int64_t *held_value;
    uint32_t overshoot;           /* sp_overshoot_policy */
} sp_replan_options;

#define SP_REPLAN_OPTIONS_VERSION 1u
#define SP_REPLAN_OPTIONS_INIT \
    { SP_REPLAN_OPTIONS_VERSION, 0, NULL, NULL, 0, 0, 0, 0, NULL, NULL, 0 }

SP_API int sp_replan_options_init(sp_replan_options *opts, uint32_t version);

/*
 * Re-plan mid-year. Periods 0 .. closed - 1 are closed: their row entries are the actuals
 * (actual[i * nperiods + p]; later entries of `actual` are not read). What remains, target
 * - actual to date, is spread over the open periods by the profile, held periods locked,
 * so that each row sums to its target (target[i] >= 0). When the actuals and held values
 * already exceed the target the overshoot policy applies and `excess[i]` (may be NULL)
 * reports by how much; otherwise excess[i] is 0. Nothing is written on error.
 */
SP_API int sp_replan(sp_ctx *ctx, const int64_t *target, const int64_t *actual, size_t nnodes,
                     size_t closed, const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                     const sp_replan_options *opts, int64_t *out, int64_t *excess);

/* Pacing status. Values are frozen. */
typedef enum sp_pace_status {
    SP_PACE_BEHIND = -1,
    SP_PACE_ON_TRACK = 0,
    SP_PACE_AHEAD = 1
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

typedef struct sp_pacing_options {
    uint32_t version;           /* SP_PACING_OPTIONS_VERSION */
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
#define SP_PACING_OPTIONS_INIT { SP_PACING_OPTIONS_VERSION, 0, NULL, 0, 0, 0, 0, 0 }

SP_API int sp_pacing_options_init(sp_pacing_options *opts, uint32_t version);

/*
 * Pacing of each node on the days before `elapsed_end` of `fiscal_year`, whose periods at
 * `grain` the profiles describe. expected[i] = target x (the shares of the periods passed
 * + the current period's share x its elapsed fraction); projection[i] is the year-end
 * projection of actual[i] (the actual to date); status[i] an sp_pace_status. Any output
 * may be NULL. Nothing is written on error.
 */
SP_API int sp_pacing(sp_ctx *ctx, const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                     int32_t elapsed_end, const int64_t *target, const int64_t *actual,
                     size_t nnodes, const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                     const sp_pacing_options *opts, int64_t *expected, int64_t *projection,
                     int32_t *status);

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
 * A new plan with id `id` (UTF-8, 1 to 1000 bytes, no NUL) over a copy of the validated
 * hierarchy `h` (ids, parents, level names: node indices stay the same). Revision 0 until
 * first saved. Errors name the option.
 */
SP_API int sp_target_plan_new(sp_target_plan **out, sp_ctx *ctx, const char *id,
                              const sp_hierarchy *h, const sp_target_plan_options *opts);
SP_API void sp_target_plan_free(sp_target_plan *plan);

/* What a plan is; strings and the hierarchy are owned by the plan. */
typedef struct sp_target_plan_info {
    uint32_t version;             /* SP_TARGET_PLAN_INFO_VERSION */
    const char *id;
    const char *name;             /* "" when none */
    uint32_t measure;             /* sp_target_measure */
    const char *currency;         /* "" when none */
    int32_t exponent;             /* 0 for quantities */
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t nperiods;            /* periods of the plan's year at its grain */
    uint32_t revision;            /* 0 until saved; each save adds one */
    uint32_t nnodes;
    const sp_hierarchy *hierarchy;
    const sp_calendar *calendar;
} sp_target_plan_info;

#define SP_TARGET_PLAN_INFO_VERSION 1u
#define SP_TARGET_PLAN_INFO_INIT \
    { SP_TARGET_PLAN_INFO_VERSION, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL }

SP_API int sp_target_plan_info_init(sp_target_plan_info *info, uint32_t version);

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

/* ---- history from facts ---- */

/* The fact column that names a hierarchy node. Values are frozen. */
typedef enum sp_target_key {
    SP_TARGET_KEY_REP = 0,
    SP_TARGET_KEY_GRID = 1,
    SP_TARGET_KEY_PRODUCT = 2,
    SP_TARGET_KEY_CUSTOMER = 3
} sp_target_key;

/* Flags of sp_target_history_options. */
typedef enum sp_target_history_flags {
    SP_TARGET_HISTORY_NET_REFUNDS = 1, /* subtract refunds, on the day of the refund */
    SP_TARGET_HISTORY_STRICT_IDS = 2   /* a key whose id is no node is an error (default:
                                          counted in the report and skipped) */
} sp_target_history_flags;

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
    uint32_t unknown_ids; /* distinct such ids */
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
SP_API int sp_target_plan_decompose(const sp_target_plan *plan, int64_t total,
                                    const sp_progress *progress, sp_target_set **out);

SP_API void sp_target_set_free(sp_target_set *set);

/* What a set is; strings are owned by the set. */
typedef struct sp_target_set_info {
    uint32_t version;       /* SP_TARGET_SET_INFO_VERSION */
    const char *plan_id;
    uint32_t plan_revision; /* the plan's revision when the set was made */
    uint32_t measure;
    const char *currency;   /* "" when none */
    int32_t exponent;
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t nperiods;
    uint32_t nnodes;
    int64_t total;          /* the root's target */
    uint32_t based_on;      /* a re-plan: the version it was made from (0: none) */
    uint32_t closed;        /* a re-plan: periods closed with actuals */
    const char *scenario;   /* "" until saved */
    uint32_t set_version;   /* 0 until saved */
    const char *note;       /* "" until saved */
    int32_t saved_day;      /* the day passed to sp_target_set_save; INT32_MIN until then */
    const sp_hierarchy *hierarchy; /* ids and parents of the set's nodes */
} sp_target_set_info;

#define SP_TARGET_SET_INFO_VERSION 1u
#define SP_TARGET_SET_INFO_INIT \
    { SP_TARGET_SET_INFO_VERSION, NULL, 0, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0, NULL }

SP_API int sp_target_set_info_init(sp_target_set_info *info, uint32_t version);

SP_API int sp_target_set_get_info(const sp_target_set *set, sp_target_set_info *info);

/* The set's arrays, indexed by node (its hierarchy's indices). Owned by the set. */
typedef struct sp_target_set_data {
    uint32_t version;            /* SP_TARGET_SET_DATA_VERSION */
    size_t nnodes, nperiods;
    const int64_t *annual;       /* nnodes */
    const uint32_t *flags;       /* nnodes: sp_decomp_flag bits */
    const sp_dec *growth;        /* nnodes: where SP_DECOMP_F_GROWTH */
    const sp_dec *common_growth; /* nnodes: where SP_DECOMP_F_COMMON_GROWTH */
    const int64_t *periods;      /* nnodes x nperiods: periods[node * nperiods + p] */
    size_t nprofiles;
    const sp_dec *profiles;      /* nprofiles x nperiods weights (normalised when used) */
    const uint32_t *profile_of;  /* nnodes: the profile each node was split by */
    uint32_t weighting;          /* sp_time_weighting of the split */
} sp_target_set_data;

#define SP_TARGET_SET_DATA_VERSION 1u
#define SP_TARGET_SET_DATA_INIT \
    { SP_TARGET_SET_DATA_VERSION, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, NULL, NULL, 0 }

SP_API int sp_target_set_data_init(sp_target_set_data *data, uint32_t version);

SP_API int sp_target_set_get_data(const sp_target_set *set, sp_target_set_data *data);
/* The node of an id; SP_ENOTFOUND when the set has none. */
SP_API int sp_target_set_find(const sp_target_set *set, const char *id, size_t len,
                              uint32_t *node);
/* The lock reason of a node, or NULL when it was not locked. */
SP_API const char *sp_target_set_lock_reason(const sp_target_set *set, uint32_t node);

/* ---- comparing two sets ---- */

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
SP_API int sp_target_plan_replan(const sp_target_plan *plan, const sp_target_set *base,
                                 const int64_t *actual, size_t closed,
                                 const sp_target_replan_options *opts, sp_target_set **out);

typedef struct sp_target_pacing_options {
    uint32_t version;     /* SP_TARGET_PACING_OPTIONS_VERSION */
    uint32_t rolled_up;   /* 0: actual holds each node's own bookings, rolled up here
                             (SP_ROLLUP_OWN); 1: actual is already rolled up */
    uint32_t elapsed;     /* sp_elapsed_measure */
    uint32_t projection;  /* sp_projection_method */
    sp_dec threshold;     /* as sp_pacing_options */
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
 * namespace "target.set", with a note (may be NULL) and the day it is saved (the library
 * reads no clock). The version is found inside the transaction; a stored version is never
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

/* A list of names (UTF-8, NUL-terminated), in ascending byte order. */
typedef struct sp_target_names sp_target_names;

SP_API size_t sp_target_names_count(const sp_target_names *names);
SP_API const char *sp_target_names_at(const sp_target_names *names, size_t k);
SP_API void sp_target_names_free(sp_target_names *names);

/* The scenarios of a plan that have saved sets; the ids of the saved plans. */
SP_API int sp_target_scenarios(sp_target_names **out, sp_ctx *ctx, const sp_storage *storage,
                               const char *plan_id);
SP_API int sp_target_plans(sp_target_names **out, sp_ctx *ctx, const sp_storage *storage);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_TARGET_H */
