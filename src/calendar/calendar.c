/*
 * Fiscal calendars: civil months from any start month, and the retail 4-4-5 / 4-5-4 / 5-4-4
 * calendars of 52 or 53 weeks. Nothing is stored per year: each query lays out the fiscal
 * year it needs from the rules (a few civil-date conversions), so every year 1..9999 is
 * available in O(1) time and no memory.
 *
 * The nominal months of fiscal year Y start with start_month of civil year sy(Y): sy = Y
 * when years are named by their start, and Y - 1 when named by their end (unless the year
 * starts in January). A retail year ends on its weekday in or near the last nominal month
 * and starts the day after the previous one ends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calendar_internal.h"

/* A run of days [first, end) and how many counted days the runs before it hold: for
 * holidays the days that would otherwise be working days, for make-up days all of them. */
typedef struct day_run {
    int32_t first, end;
    int32_t before;
} day_run;

struct sp_calendar {
    sp_ctx *ctx;
    uint32_t kind, start_month, label, end_weekday, end_rule, week53_month, weekend;
    day_run *holidays; /* the union of the holiday ranges: sorted, disjoint, not adjacent */
    size_t nholidays;
    day_run *workdays; /* the same for the make-up ranges (all weekend days) */
    size_t nworkdays;
    int64_t lo_day, hi_day; /* [first day of FY1, end of FY9999): the days locate accepts */
};

/* Weeks per month of a 52-week retail year, by kind. */
static const uint8_t retail_pattern[4][3] = { { 0, 0, 0 }, { 4, 4, 5 }, { 4, 5, 4 }, { 5, 4, 4 } };

static const size_t calendar_options_sizes[] = { 0, sizeof(sp_calendar_options) };

SPI_DEFINE_INIT(sp_calendar_options, calendar_options_sizes,
                SP_CALENDAR_OPTIONS_VERSION, SP_CALENDAR_OPTIONS_INIT)

/* ---- civil dates at the boundary ---- */

static const int64_t first_supported_day = SPI_DAY_MIN;
static const int64_t last_supported_day = SPI_DAY_MAX;

static bool day_supported(int64_t day)
{
    return day >= first_supported_day && day <= last_supported_day;
}

int sp_calendar_day_from_civil(int32_t year, int32_t month, int32_t mday, int32_t *day)
{
    if (day == NULL || year < SP_CALENDAR_MIN_YEAR || year > SP_CALENDAR_MAX_YEAR ||
        month < 1 || month > 12 || mday < 1 || mday > spi_days_in_month(year, month))
        return SP_EINVAL;
    *day = (int32_t)spi_days_from_civil(year, month, mday);
    return SP_OK;
}

int sp_calendar_civil_from_day(int32_t day, int32_t *year, int32_t *month, int32_t *mday)
{
    if (!day_supported(day))
        return SP_EINVAL;
    int64_t y;
    int m, d;
    spi_civil_from_days(day, &y, &m, &d);
    if (year != NULL)
        *year = (int32_t)y;
    if (month != NULL)
        *month = m;
    if (mday != NULL)
        *mday = d;
    return SP_OK;
}

/* ---- the layout of one fiscal year ---- */

/* Civil year in which the nominal months of fiscal year fy begin. */
static int64_t nominal_start_year(const sp_calendar *cal, int64_t fy)
{
    if (cal->label == SP_FISCAL_LABEL_START || cal->start_month == 1)
        return fy;
    return fy - 1;
}

/* The inverse: the fiscal year whose nominal months begin in civil year sy. */
static int64_t fiscal_of_nominal(const sp_calendar *cal, int64_t sy)
{
    if (cal->label == SP_FISCAL_LABEL_START || cal->start_month == 1)
        return sy;
    return sy + 1;
}

/* Last day (inclusive) of retail year fy: its weekday in or near the last nominal month. */
static int64_t retail_last_day(const sp_calendar *cal, int64_t fy)
{
    int64_t y = nominal_start_year(cal, fy) + 1;
    int m = (int)cal->start_month - 1;
    if (m == 0) {
        y -= 1;
        m = 12;
    }
    int64_t month_end = spi_days_from_civil(y, m, spi_days_in_month(y, m));
    int back = (spi_weekday(month_end) - (int)cal->end_weekday + 7) % 7;
    if (cal->end_rule == SP_YEAR_END_NEAREST && back > 3)
        return month_end + 7 - back;
    return month_end - back;
}

/* Monday of ISO-style week 1 of fiscal year fy of a months calendar: the week holding the
 * first Thursday on or after the year's first day. */
static int64_t iso_week_one(const sp_calendar *cal, int64_t fy)
{
    int64_t first = spi_days_from_civil(nominal_start_year(cal, fy), (int)cal->start_month, 1);
    int64_t thursday = first + (4 - spi_weekday(first) + 7) % 7;
    return thursday - 3;
}

void spi_calendar_layout(const sp_calendar *cal, int64_t fy, spi_year_layout *yl)
{
    if (cal->kind == SP_CALENDAR_MONTHS) {
        int64_t sy = nominal_start_year(cal, fy);
        for (int k = 0; k <= 12; k++) {
            int month0 = (int)cal->start_month - 1 + k;
            yl->month_start[k] = spi_days_from_civil(sy + month0 / 12, month0 % 12 + 1, 1);
        }
        yl->first = yl->month_start[0];
        yl->end = yl->month_start[12];
        yl->week_first = iso_week_one(cal, fy);
        yl->nweeks = (uint32_t)((iso_week_one(cal, fy + 1) - yl->week_first) / 7);
        return;
    }
    yl->first = retail_last_day(cal, fy - 1) + 1;
    yl->end = retail_last_day(cal, fy) + 1;
    yl->week_first = yl->first;
    yl->nweeks = (uint32_t)((yl->end - yl->first) / 7);
    uint32_t long_month = cal->week53_month != 0 ? cal->week53_month - 1 : 11;
    int64_t day = yl->first;
    for (uint32_t k = 0; k < 12; k++) {
        yl->month_start[k] = day;
        uint32_t weeks = retail_pattern[cal->kind][k % 3];
        if (yl->nweeks == 53 && k == long_month)
            weeks++;
        day += 7 * (int64_t)weeks;
    }
    yl->month_start[12] = day;
}

static bool year_supported(int64_t fy)
{
    return fy >= SP_CALENDAR_MIN_YEAR && fy <= SP_CALENDAR_MAX_YEAR;
}

const char *const spi_grain_names[SP_GRAIN_WEEK + 1] = { "year", "half", "quarter", "month",
                                                         "week" };

static const char *grain_name(uint32_t grain)
{
    return grain <= SP_GRAIN_WEEK ? spi_grain_names[grain] : "?";
}

uint32_t spi_calendar_count_in(const spi_year_layout *yl, uint32_t grain)
{
    static const uint32_t counts[] = { 1, 2, 4, 12 };
    return grain == SP_GRAIN_WEEK ? yl->nweeks : counts[grain];
}

void spi_calendar_bounds_in(const spi_year_layout *yl, uint32_t grain, uint32_t index,
                            int64_t *first, int64_t *end)
{
    static const uint32_t months_per[] = { 12, 6, 3, 1 };
    if (grain == SP_GRAIN_WEEK) {
        *first = yl->week_first + 7 * (int64_t)index;
        *end = *first + 7;
        return;
    }
    uint32_t m = index * months_per[grain];
    *first = yl->month_start[m];
    *end = yl->month_start[m + months_per[grain]];
}

int spi_calendar_check_year(sp_ctx *ctx, const char *what, const sp_calendar *cal, int32_t fy,
                            uint32_t grain)
{
    if (cal == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: calendar is NULL", what);
    if (!year_supported(fy))
        return spi_fail(ctx, SP_EINVAL, "%s: fiscal year %d is outside %d to %d", what, (int)fy,
                        SP_CALENDAR_MIN_YEAR, SP_CALENDAR_MAX_YEAR);
    if (grain > SP_GRAIN_WEEK)
        return spi_fail(ctx, SP_EINVAL, "%s: grain %u is not an sp_grain (0 to %d)", what,
                        (unsigned)grain, SP_GRAIN_WEEK);
    return SP_OK;
}

/* ---- working days ---- */

static bool is_weekend(const sp_calendar *cal, int64_t day)
{
    return (cal->weekend >> (spi_weekday(day) - 1) & 1u) != 0;
}

/* Days in [first, end) that are not weekend days. */
static int64_t weekdays_in(const sp_calendar *cal, int64_t first, int64_t end)
{
    if (end <= first)
        return 0;
    int64_t weeks = (end - first) / 7;
    int64_t count = weeks * (7 - __builtin_popcount(cal->weekend));
    for (int64_t d = first + weeks * 7; d < end; d++)
        count += !is_weekend(cal, d);
    return count;
}

/* How many days a run counts in [first, end): weekdays for holidays, all for make-up days. */
static int64_t run_days(const sp_calendar *cal, bool holidays, int64_t first, int64_t end)
{
    return holidays ? weekdays_in(cal, first, end) : end - first;
}

/* The counted days of runs[0..n-1] before `day`: a binary search for the last run that
 * starts before it, whose prefix count is stored. */
static int64_t counted_below(const sp_calendar *cal, bool holidays, const day_run *runs,
                             size_t n, int64_t day)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (runs[mid].first < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return 0;
    const day_run *r = &runs[lo - 1];
    return r->before + run_days(cal, holidays, r->first, day < r->end ? day : r->end);
}

/* Weekdays, less the holidays among them, plus the make-up days (each a weekend day that
 * is no holiday, so each adds one). O(log ranges). */
int64_t spi_calendar_working_days_in(const sp_calendar *cal, int64_t first, int64_t end)
{
    if (end <= first)
        return 0;
    return weekdays_in(cal, first, end) -
           (counted_below(cal, true, cal->holidays, cal->nholidays, end) -
            counted_below(cal, true, cal->holidays, cal->nholidays, first)) +
           (counted_below(cal, false, cal->workdays, cal->nworkdays, end) -
            counted_below(cal, false, cal->workdays, cal->nworkdays, first));
}

int sp_calendar_working_days(const sp_calendar *cal, int32_t first_day, int32_t end_day,
                             int32_t *count)
{
    if (cal == NULL)
        return SP_EINVAL;
    if (count == NULL)
        return spi_fail(cal->ctx, SP_EINVAL, "calendar: count is NULL");
    int64_t n = spi_calendar_working_days_in(cal, first_day, end_day);
    if (n > INT32_MAX)
        return spi_fail(cal->ctx, SP_EOVERFLOW,
                        "calendar: [%d, %d) holds %lld working days, beyond 2^31 - 1",
                        (int)first_day, (int)end_day, (long long)n);
    *count = (int32_t)n;
    return SP_OK;
}

/* ---- periods ---- */

int spi_calendar_periods(sp_ctx *ctx, const char *what, const sp_calendar *cal, int32_t fy,
                         uint32_t grain, int32_t *first_day, int32_t *end_day,
                         int32_t *working_days, size_t cap, size_t *count)
{
    int rc = spi_calendar_check_year(ctx, what, cal, fy, grain);
    if (rc != SP_OK)
        return rc;
    if (count == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: count is NULL", what);
    spi_year_layout yl;
    spi_calendar_layout(cal, fy, &yl);
    uint32_t n = spi_calendar_count_in(&yl, grain);
    *count = n;
    if (cap < n && (first_day != NULL || end_day != NULL || working_days != NULL))
        return spi_fail(ctx, SP_EBUFFER, "%s: FY%d has %u %ss, room for %zu", what, (int)fy,
                        (unsigned)n, grain_name(grain), cap);
    for (uint32_t k = 0; k < n; k++) {
        int64_t first, end;
        spi_calendar_bounds_in(&yl, grain, k, &first, &end);
        if (first_day != NULL)
            first_day[k] = (int32_t)first;
        if (end_day != NULL)
            end_day[k] = (int32_t)end;
        if (working_days != NULL)
            working_days[k] = (int32_t)spi_calendar_working_days_in(cal, first, end);
    }
    return SP_OK;
}

int sp_calendar_periods(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                        int32_t *first_day, int32_t *end_day, int32_t *working_days,
                        size_t cap, size_t *count)
{
    if (cal == NULL)
        return SP_EINVAL;
    return spi_calendar_periods(cal->ctx, "calendar", cal, fiscal_year, grain, first_day,
                                end_day, working_days, cap, count);
}

/* ---- day -> period ---- */

/* The fiscal year holding `day` (not range-checked). */
static int64_t fiscal_year_of(const sp_calendar *cal, int64_t day, spi_year_layout *yl)
{
    int64_t y;
    int m, d;
    spi_civil_from_days(day, &y, &m, &d);
    int64_t fy = fiscal_of_nominal(cal, m >= (int)cal->start_month ? y : y - 1);
    spi_calendar_layout(cal, fy, yl);
    /* A retail year starts and ends within a week of its nominal months. */
    while (day < yl->first)
        spi_calendar_layout(cal, --fy, yl);
    while (day >= yl->end)
        spi_calendar_layout(cal, ++fy, yl);
    return fy;
}

/* The day that decides the fiscal year of `day`'s period: the Thursday for ISO weeks. */
static int64_t anchor_of(const sp_calendar *cal, int64_t day, uint32_t grain)
{
    if (grain == SP_GRAIN_WEEK && cal->kind == SP_CALENDAR_MONTHS)
        return day - (spi_weekday(day) - 1) + 3;
    return day;
}

static int check_day(sp_ctx *ctx, const sp_calendar *cal, int64_t day, uint32_t grain)
{
    int64_t anchor = anchor_of(cal, day, grain);
    if (anchor >= cal->lo_day && anchor < cal->hi_day)
        return SP_OK;
    spi_year_layout yl;
    char t[24];
    return spi_fail(ctx, SP_EINVAL, "day %lld (%s) falls in fiscal year %lld, outside %d to %d",
                    (long long)day, spi_day_text(day, t),
                    (long long)fiscal_year_of(cal, anchor, &yl), SP_CALENDAR_MIN_YEAR,
                    SP_CALENDAR_MAX_YEAR);
}

void spi_calendar_locate(const sp_calendar *cal, int64_t day, uint32_t grain,
                         int32_t *fiscal_year, uint32_t *index)
{
    spi_year_layout yl;
    int64_t fy = fiscal_year_of(cal, anchor_of(cal, day, grain), &yl);
    uint32_t k;
    if (grain == SP_GRAIN_WEEK) {
        k = (uint32_t)((day - yl.week_first) / 7);
    } else {
        static const uint32_t months_per[] = { 12, 6, 3, 1 };
        uint32_t m = 0;
        while (m < 11 && day >= yl.month_start[m + 1])
            m++;
        k = m / months_per[grain];
    }
    *fiscal_year = (int32_t)fy;
    *index = k;
}

static int check_grain(sp_ctx *ctx, uint32_t grain)
{
    if (grain > SP_GRAIN_WEEK)
        return spi_fail(ctx, SP_EINVAL, "calendar: grain %u is not an sp_grain (0 to %d)",
                        (unsigned)grain, SP_GRAIN_WEEK);
    return SP_OK;
}

int sp_calendar_locate(const sp_calendar *cal, int32_t day, uint32_t grain,
                       int32_t *fiscal_year, uint32_t *index)
{
    return sp_calendar_locate_many(cal, &day, 1, grain, fiscal_year, index);
}

int sp_calendar_locate_many(const sp_calendar *cal, const int32_t *days, size_t n,
                            uint32_t grain, int32_t *fiscal_year, uint32_t *index)
{
    if (cal == NULL)
        return SP_EINVAL;
    int rc = check_grain(cal->ctx, grain);
    if (rc != SP_OK)
        return rc;
    if (n > 0 && (days == NULL || fiscal_year == NULL || index == NULL))
        return spi_fail(cal->ctx, SP_EINVAL, "calendar: days, fiscal_year or index is NULL");
    for (size_t i = 0; i < n; i++) {
        if (check_day(cal->ctx, cal, days[i], grain) != SP_OK)
            return n == 1 ? spi_fail_prefix(cal->ctx, SP_EINVAL, NULL, "calendar")
                          : spi_fail_prefix(cal->ctx, SP_EINVAL, NULL, "calendar: days[%zu]", i);
    }
    for (size_t i = 0; i < n; i++)
        spi_calendar_locate(cal, days[i], grain, &fiscal_year[i], &index[i]);
    return SP_OK;
}

/* Lay out fiscal year fy (checked by the caller) and check that it has period `index`. */
static int layout_period(const sp_calendar *cal, int32_t fy, uint32_t grain, uint32_t index,
                         spi_year_layout *yl)
{
    spi_calendar_layout(cal, fy, yl);
    uint32_t n = spi_calendar_count_in(yl, grain);
    if (index >= n)
        return spi_fail(cal->ctx, SP_EINVAL, "calendar: FY%d has %u %ss, no index %u", (int)fy,
                        (unsigned)n, grain_name(grain), (unsigned)index);
    return SP_OK;
}

int sp_calendar_parent(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                       uint32_t index, uint32_t parent_grain, uint32_t *parent_index)
{
    if (cal == NULL)
        return SP_EINVAL;
    int rc = spi_calendar_check_year(cal->ctx, "calendar", cal, fiscal_year, grain);
    if (rc != SP_OK || (rc = check_grain(cal->ctx, parent_grain)) != SP_OK)
        return rc;
    if (parent_index == NULL)
        return spi_fail(cal->ctx, SP_EINVAL, "calendar: parent_index is NULL");
    if (parent_grain > grain)
        return spi_fail(cal->ctx, SP_EINVAL, "calendar: a %s is not within a %s",
                        grain_name(parent_grain), grain_name(grain));
    spi_year_layout yl;
    if ((rc = layout_period(cal, fiscal_year, grain, index, &yl)) != SP_OK)
        return rc;
    int64_t first, end;
    spi_calendar_bounds_in(&yl, grain, index, &first, &end);
    /* The period's own anchor day decides, as it decided its fiscal year. */
    int32_t fy;
    spi_calendar_locate(cal, anchor_of(cal, first, grain), parent_grain, &fy, parent_index);
    return SP_OK;
}

int sp_calendar_label(const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                      uint32_t index, char *buf, size_t cap, size_t *len)
{
    if (cal == NULL)
        return SP_EINVAL;
    spi_year_layout yl;
    int rc = spi_calendar_check_year(cal->ctx, "calendar", cal, fiscal_year, grain);
    if (rc != SP_OK || (rc = layout_period(cal, fiscal_year, grain, index, &yl)) != SP_OK)
        return rc;
    static const char letters[] = "YHQMW";
    char text[SP_CALENDAR_LABEL_MAX + 16];
    int w = snprintf(text, sizeof text, "FY%04d", (int)fiscal_year);
    if (grain != SP_GRAIN_YEAR)
        w += snprintf(text + w, sizeof text - (size_t)w, "-%c%0*u", letters[grain],
                      grain >= SP_GRAIN_MONTH ? 2 : 1, (unsigned)index + 1);
    if (len != NULL)
        *len = (size_t)w;
    if (buf == NULL || cap <= (size_t)w)
        return spi_fail(cal->ctx, SP_EBUFFER, "calendar: label \"%s\" needs %d bytes, room for %zu",
                        text, w + 1, cap);
    memcpy(buf, text, (size_t)w + 1);
    return SP_OK;
}

/* ---- presets ---- */

/* The calendar fields of each sp_calendar_preset (docs/calendar.md cites the sources). */
typedef struct preset_fields {
    uint32_t kind, start_month, label, year_end_weekday, year_end_rule, week53_month;
} preset_fields;

static const preset_fields presets[] = {
    [SP_CALENDAR_PRESET_CIVIL] = { SP_CALENDAR_MONTHS, 1, 0, 0, 0, 0 },
    [SP_CALENDAR_PRESET_NRF_454] = { SP_CALENDAR_RETAIL_454, 2, SP_FISCAL_LABEL_START, 6,
                                     SP_YEAR_END_NEAREST, 12 },
    [SP_CALENDAR_PRESET_RETAIL_445] = { SP_CALENDAR_RETAIL_445, 2, SP_FISCAL_LABEL_START, 6,
                                        SP_YEAR_END_NEAREST, 12 },
    [SP_CALENDAR_PRESET_RETAIL_544] = { SP_CALENDAR_RETAIL_544, 2, SP_FISCAL_LABEL_START, 6,
                                        SP_YEAR_END_NEAREST, 12 },
    [SP_CALENDAR_PRESET_APRIL_START] = { SP_CALENDAR_MONTHS, 4, SP_FISCAL_LABEL_START, 0, 0, 0 },
    [SP_CALENDAR_PRESET_APRIL_END] = { SP_CALENDAR_MONTHS, 4, SP_FISCAL_LABEL_END, 0, 0, 0 },
    [SP_CALENDAR_PRESET_JULY_END] = { SP_CALENDAR_MONTHS, 7, SP_FISCAL_LABEL_END, 0, 0, 0 },
    [SP_CALENDAR_PRESET_OCTOBER_END] = { SP_CALENDAR_MONTHS, 10, SP_FISCAL_LABEL_END, 0, 0, 0 },
};

int sp_calendar_options_preset(sp_calendar_options *opts, uint32_t version, uint32_t preset)
{
    if (opts == NULL || preset == 0 || preset >= sizeof presets / sizeof presets[0])
        return SP_EINVAL;
    const preset_fields *p = &presets[preset];
    sp_calendar_options t = SP_CALENDAR_OPTIONS_INIT;
    t.kind = p->kind;
    t.start_month = p->start_month;
    t.label = p->label;
    t.year_end_weekday = p->year_end_weekday;
    t.year_end_rule = p->year_end_rule;
    t.week53_month = p->week53_month;
    return spi_struct_init(opts, version, calendar_options_sizes, SP_CALENDAR_OPTIONS_VERSION,
                           &t);
}

/* ---- construction ---- */

static const char *const weekday_names[] = { "Monday", "Tuesday", "Wednesday", "Thursday",
                                             "Friday", "Saturday", "Sunday" };

/* A field that a months calendar does not use must be 0, so that a retail field set on
 * the wrong kind is not silently ignored. */
static int check_unused(sp_ctx *ctx, const char *field, uint32_t value)
{
    if (value == 0)
        return SP_OK;
    return spi_fail(ctx, SP_EINVAL,
                    "calendar: %s is %u, but a months calendar (kind 0) does not use it: it "
                    "must be 0",
                    field, (unsigned)value);
}

static int check_retail(sp_ctx *ctx, const sp_calendar_options *o)
{
    if (o->start_month == 0)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: start_month is not set; a retail calendar needs the month "
                        "after the one its year ends in (1 to 12; NRF: 2)");
    if (o->year_end_weekday == 0)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: year_end_weekday is not set; a retail calendar needs the ISO "
                        "weekday its weeks end on (1 Monday to 7 Sunday; NRF: 6)");
    if (o->year_end_weekday > 7)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: year_end_weekday %u is not an ISO weekday (1 Monday to 7 "
                        "Sunday)",
                        (unsigned)o->year_end_weekday);
    if (o->year_end_rule == 0)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: year_end_rule is not set; a retail calendar needs "
                        "SP_YEAR_END_LAST (1) or SP_YEAR_END_NEAREST (2)");
    if (o->year_end_rule > SP_YEAR_END_NEAREST)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: year_end_rule %u is not an sp_year_end_rule (1 or 2)",
                        (unsigned)o->year_end_rule);
    if (o->week53_month > 12)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: week53_month %u is not a fiscal month (1 to 12, or 0 for the "
                        "last)",
                        (unsigned)o->week53_month);
    return SP_OK;
}

/* The pairs of v[0 .. 2n-1]: present, within the supported days, not reversed. */
static int check_ranges(sp_ctx *ctx, const char *name, const int32_t *v, size_t n)
{
    if (n > 0 && v == NULL)
        return spi_fail(ctx, SP_EINVAL, "calendar: %s is NULL with a count of %zu", name, n);
    if (n > SIZE_MAX / (2 * sizeof *v))
        return spi_fail(ctx, SP_EINVAL, "calendar: %zu %s are more than memory can hold", n,
                        name);
    char t1[24], t2[24];
    for (size_t i = 0; i < n; i++) {
        int32_t first = v[2 * i], last = v[2 * i + 1];
        if (!day_supported(first) || !day_supported(last))
            return spi_fail(ctx, SP_EINVAL,
                            "calendar: %s[%zu] = (%d, %d) is outside the years 1 to 9999", name,
                            i, (int)first, (int)last);
        if (last < first)
            return spi_fail(ctx, SP_EINVAL,
                            "calendar: %s[%zu] = (%s, %s) is reversed: its last day is before "
                            "its first",
                            name, i, spi_day_text(first, t1), spi_day_text(last, t2));
    }
    return SP_OK;
}

/* Every day of every make-up range is a weekend day. A range of 7 days or more holds every
 * weekday, so looking at its first 7 days is enough. */
static int check_makeup_weekend(sp_ctx *ctx, const sp_calendar_options *o)
{
    char t1[24], t2[24], t3[24];
    for (size_t i = 0; i < o->nworkday_ranges; i++) {
        int64_t first = o->workday_ranges[2 * i], last = o->workday_ranges[2 * i + 1];
        for (int64_t d = first; d <= last && d < first + 7; d++) {
            int wd = spi_weekday(d);
            if ((o->weekend >> (wd - 1) & 1u) == 0)
                return spi_fail(ctx, SP_EINVAL,
                                "calendar: workday_ranges[%zu] = (%s, %s): %s is a %s, not a "
                                "weekend day",
                                i, spi_day_text(first, t1), spi_day_text(last, t2),
                                spi_day_text(d, t3), weekday_names[wd - 1]);
        }
    }
    return SP_OK;
}

static int check_options(sp_ctx *ctx, const sp_calendar_options *o)
{
    if (o->kind > SP_CALENDAR_RETAIL_544)
        return spi_fail(ctx, SP_EINVAL, "calendar: kind %u is not an sp_calendar_kind (0 to 3)",
                        (unsigned)o->kind);
    if (o->start_month > 12)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: start_month %u is not a month (1 to 12, or 0 for January in "
                        "a months calendar)",
                        (unsigned)o->start_month);
    int rc;
    if (o->kind != SP_CALENDAR_MONTHS) {
        if ((rc = check_retail(ctx, o)) != SP_OK)
            return rc;
    } else if ((rc = check_unused(ctx, "year_end_weekday", o->year_end_weekday)) != SP_OK ||
               (rc = check_unused(ctx, "year_end_rule", o->year_end_rule)) != SP_OK ||
               (rc = check_unused(ctx, "week53_month", o->week53_month)) != SP_OK) {
        return rc;
    }
    if (o->label > SP_FISCAL_LABEL_START)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: label %u is not an sp_fiscal_label (1 END or 2 START)",
                        (unsigned)o->label);
    /* A year from January is named the same either way; any other needs the choice. */
    if (o->label == 0 && o->start_month > 1)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: label is not set; a fiscal year from month %u needs "
                        "SP_FISCAL_LABEL_END (1: FY2026 ends in 2026) or SP_FISCAL_LABEL_START "
                        "(2: FY2026 starts in 2026)",
                        (unsigned)o->start_month);
    if (o->weekend > 0x7Fu)
        return spi_fail(ctx, SP_EINVAL,
                        "calendar: weekend 0x%X has bits beyond SP_SUNDAY (0x40)",
                        (unsigned)o->weekend);
    if ((rc = check_ranges(ctx, "holiday_ranges", o->holiday_ranges, o->nholiday_ranges)) !=
            SP_OK ||
        (rc = check_ranges(ctx, "workday_ranges", o->workday_ranges, o->nworkday_ranges)) !=
            SP_OK ||
        (rc = check_makeup_weekend(ctx, o)) != SP_OK)
        return rc;
    if (o->weekend == 0x7Fu && o->nworkday_ranges == 0)
        return spi_fail(ctx, SP_EINVAL, "calendar: the weekend covers all seven days and no "
                                        "workday_ranges are given, so no day is a working day");
    return SP_OK;
}

static int cmp_run(const void *a, const void *b)
{
    const day_run *x = a, *y = b;
    return (x->first > y->first) - (x->first < y->first);
}

/* The union of the inclusive ranges v[0 .. 2n-1] as sorted, disjoint half-open runs in
 * out[0 .. n-1], with their prefix counts; returns the number of runs. */
static size_t build_runs(const sp_calendar *cal, bool holidays, const int32_t *v, size_t n,
                         day_run *out)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        out[i] = (day_run){ v[2 * i], v[2 * i + 1] + 1, 0 };
    qsort(out, n, sizeof *out, cmp_run);
    size_t k = 1;
    for (size_t i = 1; i < n; i++) {
        if (out[i].first <= out[k - 1].end) { /* overlapping or adjacent: one run */
            if (out[i].end > out[k - 1].end)
                out[k - 1].end = out[i].end;
        } else {
            out[k++] = out[i];
        }
    }
    int64_t before = 0; /* at most the 3652059 supported days */
    for (size_t i = 0; i < k; i++) {
        out[i].before = (int32_t)before;
        before += run_days(cal, holidays, out[i].first, out[i].end);
    }
    return k;
}

/* The first range of v[0 .. 2n-1] that holds `day` (one is known to). */
static size_t range_holding(const int32_t *v, size_t n, int64_t day)
{
    size_t i = 0;
    while (i + 1 < n && !(v[2 * i] <= day && day <= v[2 * i + 1]))
        i++;
    return i;
}

/* No day is both a holiday and a make-up day: a walk along both sorted unions. The message
 * names the earliest such day and the first range of each list that holds it. */
static int check_disjoint(sp_ctx *ctx, const sp_calendar *cal, const sp_calendar_options *o)
{
    size_t i = 0, j = 0;
    while (i < cal->nholidays && j < cal->nworkdays) {
        const day_run *h = &cal->holidays[i], *w = &cal->workdays[j];
        if (h->end <= w->first) {
            i++;
        } else if (w->end <= h->first) {
            j++;
        } else {
            int64_t day = h->first > w->first ? h->first : w->first;
            size_t hi = range_holding(o->holiday_ranges, o->nholiday_ranges, day);
            size_t wi = range_holding(o->workday_ranges, o->nworkday_ranges, day);
            char t[24], h1[24], h2[24], w1[24], w2[24];
            return spi_fail(ctx, SP_EINVAL,
                            "calendar: %s is both a holiday (holiday_ranges[%zu] = (%s, %s)) "
                            "and a make-up working day (workday_ranges[%zu] = (%s, %s))",
                            spi_day_text(day, t), hi,
                            spi_day_text(o->holiday_ranges[2 * hi], h1),
                            spi_day_text(o->holiday_ranges[2 * hi + 1], h2), wi,
                            spi_day_text(o->workday_ranges[2 * wi], w1),
                            spi_day_text(o->workday_ranges[2 * wi + 1], w2));
        }
    }
    return SP_OK;
}

int sp_calendar_new(sp_calendar **out, sp_ctx *ctx, const sp_calendar_options *opts)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "calendar: out is NULL");
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_calendar_options", &o, opts, calendar_options_sizes,
                             SP_CALENDAR_OPTIONS_VERSION);
    if (rc != SP_OK || (rc = check_options(ctx, &o)) != SP_OK)
        return rc;

    sp_calendar *cal = spi_calloc(ctx, 1, sizeof *cal);
    if (cal == NULL)
        return SP_ENOMEM;
    size_t nranges = o.nholiday_ranges + o.nworkday_ranges; /* bounded by check_ranges */
    day_run *runs = nranges > 0 ? spi_malloc_array(ctx, nranges, sizeof *runs) : NULL;
    if (nranges > 0 && runs == NULL) {
        spi_free(ctx, cal);
        return SP_ENOMEM;
    }
    cal->ctx = ctx;
    cal->kind = o.kind;
    cal->start_month = o.start_month != 0 ? o.start_month : 1;
    cal->label = o.label;
    cal->end_weekday = o.year_end_weekday;
    cal->end_rule = o.year_end_rule;
    cal->week53_month = o.week53_month;
    cal->weekend = o.weekend;
    cal->holidays = runs;
    cal->nholidays = build_runs(cal, true, o.holiday_ranges, o.nholiday_ranges, runs);
    cal->workdays = runs != NULL ? runs + o.nholiday_ranges : NULL;
    cal->nworkdays = build_runs(cal, false, o.workday_ranges, o.nworkday_ranges, cal->workdays);
    if ((rc = check_disjoint(ctx, cal, &o)) != SP_OK) {
        sp_calendar_free(cal);
        return rc;
    }
    spi_year_layout yl;
    spi_calendar_layout(cal, SP_CALENDAR_MIN_YEAR, &yl);
    cal->lo_day = yl.first;
    spi_calendar_layout(cal, SP_CALENDAR_MAX_YEAR, &yl);
    cal->hi_day = yl.end;
    *out = cal;
    return SP_OK;
}

void sp_calendar_free(sp_calendar *cal)
{
    if (cal == NULL)
        return;
    spi_free(cal->ctx, cal->holidays);
    spi_free(cal->ctx, cal);
}
