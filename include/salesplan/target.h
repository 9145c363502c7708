/*
 * salesplan/target.h - target (quota) decomposition over a hierarchy and a calendar.
 *
 * Kernels are pure: arrays in, arrays out, no storage. docs/target.md has the methods,
 * their formulas, the rounding rules and the policies.
 */
#ifndef SALESPLAN_TARGET_H
#define SALESPLAN_TARGET_H

#include "core.h"
#include "money.h"

#ifdef __cplusplus
extern "C" {
#endif

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

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_TARGET_H */
