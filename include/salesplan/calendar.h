/*
 * salesplan/calendar.h - civil days, fiscal calendars (civil months, ISO weeks, 4-4-5
 * retail calendars), periods and working days. Shared by every module; docs/calendar.md
 * is the guide.
 */
#ifndef SALESPLAN_CALENDAR_H
#define SALESPLAN_CALENDAR_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

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

/* How a fiscal year is named: FY2026 is the year that ... 0 is "not set", an error where
 * the name matters (any year not starting in January). Values are frozen. */
typedef enum sp_fiscal_label {
    SP_FISCAL_LABEL_END = 1,  /* ... ends in 2026 (US federal, Australia, India's FY26) */
    SP_FISCAL_LABEL_START = 2 /* ... starts in 2026 (Japan's 年度, the NRF retail calendar) */
} sp_fiscal_label;

/* Where a retail year ends, in the month before start_month. 0 is "not set", an error in a
 * retail calendar. Values are frozen. */
typedef enum sp_year_end_rule {
    SP_YEAR_END_LAST = 1,   /* on the last year_end_weekday of that month */
    SP_YEAR_END_NEAREST = 2 /* on the year_end_weekday nearest that month's last day (NRF) */
} sp_year_end_rule;

/* Grains of a calendar, coarse to fine. Values are frozen. */
typedef enum sp_grain {
    SP_GRAIN_YEAR = 0,    /* the fiscal year: one period */
    SP_GRAIN_HALF = 1,    /* two halves of six months */
    SP_GRAIN_QUARTER = 2, /* four quarters of three months */
    SP_GRAIN_MONTH = 3,   /* twelve months (civil, or the retail calendar's 4-4-5 months) */
    SP_GRAIN_WEEK = 4 /* ISO 8601 weeks (Monday to Sunday) in a months calendar; the
                         retail weeks, ending on year_end_weekday, in a retail calendar */
} sp_grain;

/* ISO weekdays: 1 Monday .. 7 Sunday. As bits for the weekend: bit (weekday - 1). */
typedef enum sp_weekday_bits {
    SP_MONDAY = 1,     /* weekday 1 */
    SP_TUESDAY = 2,    /* weekday 2 */
    SP_WEDNESDAY = 4,  /* weekday 3 */
    SP_THURSDAY = 8,   /* weekday 4 */
    SP_FRIDAY = 16,    /* weekday 5 */
    SP_SATURDAY = 32,  /* weekday 6 */
    SP_SUNDAY = 64     /* weekday 7 */
} sp_weekday_bits;

/* The most periods a fiscal year has at any grain (a 53-week year), and the longest label
 * with its NUL ("FY2026-W53"). */
#define SP_CALENDAR_MAX_PERIODS 53
#define SP_CALENDAR_LABEL_MAX 16

/*
 * A calendar's rules. Every field a kind needs must be set, and every field it does not
 * use must be 0, or sp_calendar_new fails naming the field. The documented defaults are:
 * kind 0 (civil months), start_month 0 in a months calendar (January), week53_month 0 (the
 * last month), weekend 0 (every weekday works), no ranges. So zero options (or NULL) are
 * the civil calendar, January to December. sp_calendar_options_preset fills the fields for
 * the common calendars.
 *
 * HOLIDAY AND WORKDAY RANGES ARE INCLUSIVE: each is a pair of day numbers (first_day,
 * last_day), both days included, as holiday announcements are written ("1月28日至2月4日"
 * is (2025-01-28, 2025-02-04), 8 days; one day is (d, d)). Periods elsewhere in this
 * header are half-open [first_day, end_day): a range is not a period.
 */
typedef struct sp_calendar_options {
    uint32_t version;          /* SP_CALENDAR_OPTIONS_VERSION */
    uint32_t kind;             /* sp_calendar_kind */
    uint32_t start_month;      /* 1..12; the first month of the fiscal year. Months calendar:
                                  0 is January. Retail: required, the month after the one
                                  the year ends in (NRF: 2, the year ends around January 31) */
    uint32_t label;            /* sp_fiscal_label; required unless the year starts in
                                  January, where both names agree (0 allowed) */
    /* Retail calendars only: 0 in a months calendar. */
    uint32_t year_end_weekday; /* required: ISO weekday (1..7) of the last day of the year
                                  and of every week (NRF: 6, Saturday) */
    uint32_t year_end_rule;    /* required: sp_year_end_rule */
    uint32_t week53_month;     /* fiscal month (1..12) that takes the 53rd week of a long
                                  year; 0: the last (NRF) */
    /* Working days. */
    uint32_t weekend;          /* sp_weekday_bits that are not working days, e.g.
                                  SP_SATURDAY | SP_SUNDAY; 0: every weekday works */
    const int32_t *holiday_ranges; /* nholiday_ranges pairs (first_day, last_day),
                                      inclusive: days off. Ranges may overlap (their union
                                      counts); weekend days in them change nothing */
    size_t nholiday_ranges;        /* pairs in holiday_ranges (its length / 2) */
    const int32_t *workday_ranges; /* nworkday_ranges pairs (first_day, last_day),
                                      inclusive: weekend days that are working days
                                      (make-up days, 调休). Every day in them must be a
                                      weekend day, and none in a holiday range */
    size_t nworkday_ranges;        /* pairs in workday_ranges (its length / 2) */
} sp_calendar_options;

#define SP_CALENDAR_OPTIONS_VERSION 1u
#define SP_CALENDAR_OPTIONS_INIT \
    { SP_CALENDAR_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }

SP_API int sp_calendar_options_init(sp_calendar_options *opts, uint32_t version);

/* Common calendars, for sp_calendar_options_preset. Values are frozen; 0 is none. */
typedef enum sp_calendar_preset {
    SP_CALENDAR_PRESET_CIVIL = 1,       /* months from January (FY2026 = 2026) */
    SP_CALENDAR_PRESET_NRF_454 = 2,     /* the NRF 4-5-4 retail calendar: the year ends on the
                                           Saturday nearest January 31 and is named by the
                                           year it starts in; the 53rd week in the last month */
    SP_CALENDAR_PRESET_RETAIL_445 = 3,  /* the same years as NRF_454, months of 4, 4, 5 weeks */
    SP_CALENDAR_PRESET_RETAIL_544 = 4,  /* the same years as NRF_454, months of 5, 4, 4 weeks */
    SP_CALENDAR_PRESET_APRIL_START = 5, /* April to March, named by its start: Japan's 年度
                                           (FY2026 = 2026-04-01 .. 2027-03-31) */
    SP_CALENDAR_PRESET_APRIL_END = 6,   /* April to March, named by its end: India's
                                           "2025-26", short FY26 (FY2026 = 2025-04-01 ..
                                           2026-03-31) */
    SP_CALENDAR_PRESET_JULY_END = 7,    /* July to June, named by its end: Australia's
                                           "2025-26", FY26 (FY2026 = 2025-07-01 .. 2026-06-30) */
    SP_CALENDAR_PRESET_OCTOBER_END = 8  /* October to September, named by its end: the US
                                           federal FY2026 = 2025-10-01 .. 2026-09-30 */
} sp_calendar_preset;

/* Like sp_calendar_options_init, then sets the calendar fields (kind, start_month, label
 * and the retail fields) of `preset`; set weekend and ranges afterwards. SP_EINVAL for a
 * NULL opts or an unknown preset, SP_EVERSION for an unknown version; nothing is written
 * on error. */
SP_API int sp_calendar_options_preset(sp_calendar_options *opts, uint32_t version,
                                      uint32_t preset);

/* A calendar: the rules above, for every fiscal year 1..9999. Copies the ranges. */
typedef struct sp_calendar sp_calendar;

/* `opts` may be NULL for the civil calendar. SP_EINVAL names the offending option, range
 * or day: a field a kind needs that is not set, a field it does not use that is not 0, a
 * range reversed (last_day before first_day) or outside the years 1..9999, a make-up range
 * holding a day that is not a weekend day, a day in both a holiday and a workday range. */
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

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_CALENDAR_H */
