/* Calendars: civil dates, fiscal years, ISO and retail weeks, working days. Expected
 * values are published facts (cited) or come from a naive day-by-day walk in this file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

static sp_calendar *new_calendar(sp_ctx *ctx, const sp_calendar_options *o)
{
    sp_calendar *cal = NULL;
    if (sp_calendar_new(&cal, ctx, o) != SP_OK)
        fail_msg("sp_calendar_new: %s", sp_ctx_errmsg(ctx));
    return cal;
}

static sp_calendar_options nrf_options(void)
{
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.kind = SP_CALENDAR_RETAIL_454;
    o.start_month = 2;
    o.label = SP_FISCAL_LABEL_START;
    o.year_end_weekday = 6;
    o.year_end_rule = SP_YEAR_END_NEAREST;
    return o;
}

/* The [first, end) of period `index` at `grain`, and the number of periods. */
static size_t period(const sp_calendar *cal, int32_t fy, uint32_t grain, uint32_t index,
                     int32_t *first, int32_t *end)
{
    int32_t f[SP_CALENDAR_MAX_PERIODS], e[SP_CALENDAR_MAX_PERIODS];
    size_t n = 0;
    assert_int_equal(sp_calendar_periods(cal, fy, grain, f, e, NULL, SP_CALENDAR_MAX_PERIODS, &n),
                     SP_OK);
    assert_true(index < n);
    *first = f[index];
    *end = e[index];
    return n;
}

static void expect_year(const sp_calendar *cal, int32_t fy, int32_t first, int32_t end)
{
    int32_t f, e;
    period(cal, fy, SP_GRAIN_YEAR, 0, &f, &e);
    if (f != first || e != end)
        fail_msg("FY%d: [%d, %d), expected [%d, %d)", fy, f, e, first, end);
}

static void expect_label(const sp_calendar *cal, int32_t day, uint32_t grain, const char *want)
{
    int32_t fy;
    uint32_t k;
    char buf[SP_CALENDAR_LABEL_MAX];
    assert_int_equal(sp_calendar_locate(cal, day, grain, &fy, &k), SP_OK);
    assert_int_equal(sp_calendar_label(cal, fy, grain, k, buf, sizeof buf, NULL), SP_OK);
    if (strcmp(buf, want) != 0)
        fail_msg("day %d: %s, expected %s", day, buf, want);
}

/* ---- civil dates ---- */

static void test_civil_known_days(void **state)
{
    (void)state;
    /* storage.h: 2026-01-01 is 20454. 1970-01-01 is the epoch. */
    assert_int_equal(spt_day(1970, 1, 1), 0);
    assert_int_equal(spt_day(1969, 12, 31), -1);
    assert_int_equal(spt_day(2026, 1, 1), 20454);
    /* 2000-03-01: 30 years of 365 days + 7 leap days (72, 76, ..., 96) + Jan and Feb 2000
     * (31 + 29) = 10950 + 7 + 60 = 11017. */
    assert_int_equal(spt_day(2000, 3, 1), 11017);
    /* The ends of the supported range: the 1969 years before 1970 hold 477 leap years
     * (492 multiples of 4, less 19 of 100, plus 4 of 400), so 0001-01-01 is
     * -(1969 * 365 + 477) = -719162; the walk below reaches 9999-12-31 from there. */
    assert_int_equal(spt_day(1, 1, 1), -719162);
    assert_int_equal(spt_day(9999, 12, 31), 2932896);

    int32_t day, y, m, d;
    /* Leap years: 2000 and 2024 have a February 29, 1900 and 2100 do not. */
    assert_int_equal(sp_calendar_day_from_civil(2000, 2, 29, &day), SP_OK);
    assert_int_equal(sp_calendar_day_from_civil(2024, 2, 29, &day), SP_OK);
    assert_int_equal(sp_calendar_day_from_civil(1900, 2, 29, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(2100, 2, 29, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(2026, 4, 31, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(2026, 13, 1, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(2026, 0, 1, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(0, 12, 31, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(10000, 1, 1, &day), SP_EINVAL);
    assert_int_equal(sp_calendar_day_from_civil(2026, 1, 1, NULL), SP_EINVAL);
    assert_int_equal(sp_calendar_civil_from_day(-719163, &y, &m, &d), SP_EINVAL);
    assert_int_equal(sp_calendar_civil_from_day(2932897, &y, &m, &d), SP_EINVAL);
    assert_int_equal(sp_calendar_civil_from_day(20454, NULL, &m, NULL), SP_OK);
    assert_int_equal(m, 1);
}

/* A second, naive implementation: walk every day from 0001-01-01, one at a time. */
static void test_civil_walk(void **state)
{
    (void)state;
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    unsigned stride = spt_iterations(10) == 10 ? 1 : 37; /* valgrind checks a sample */
    int32_t day = -719162;
    unsigned k = 0;
    for (int32_t y = 1; y <= 9999; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (int32_t m = 1; m <= 12; m++) {
            int n = len[m - 1] + (m == 2 && leap);
            for (int32_t d = 1; d <= n; d++, day++) {
                if (k++ % stride != 0)
                    continue;
                int32_t got, gy, gm, gd;
                assert_int_equal(sp_calendar_day_from_civil(y, m, d, &got), SP_OK);
                if (got != day)
                    fail_msg("%04d-%02d-%02d: day %d, expected %d", y, m, d, got, day);
                assert_int_equal(sp_calendar_civil_from_day(day, &gy, &gm, &gd), SP_OK);
                if (gy != y || gm != m || gd != d)
                    fail_msg("day %d: %04d-%02d-%02d, expected %04d-%02d-%02d", day, gy, gm, gd,
                             y, m, d);
            }
        }
    }
    assert_int_equal(day, 2932897);
}

/* ---- fiscal years of a months calendar ---- */

static void test_fiscal_years(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    sp_calendar *jan = new_calendar(ctx, &o);
    expect_year(jan, 2026, spt_day(2026, 1, 1), spt_day(2027, 1, 1));
    expect_year(jan, 1970, 0, 365);

    /* The US federal fiscal year begins on October 1 of the previous calendar year and is
     * named by the year it ends in: FY2026 = 2025-10-01 .. 2026-09-30. */
    o.start_month = 10;
    o.label = SP_FISCAL_LABEL_END;
    sp_calendar *oct = new_calendar(ctx, &o);
    expect_year(oct, 2026, spt_day(2025, 10, 1), spt_day(2026, 10, 1));
    expect_label(oct, spt_day(2025, 10, 1), SP_GRAIN_QUARTER, "FY2026-Q1");
    expect_label(oct, spt_day(2025, 12, 31), SP_GRAIN_MONTH, "FY2026-M03");
    expect_label(oct, spt_day(2026, 9, 30), SP_GRAIN_HALF, "FY2026-H2");
    expect_label(oct, spt_day(2025, 9, 30), SP_GRAIN_YEAR, "FY2025");

    /* Microsoft's FY2026 is 2025-07-01 .. 2026-06-30 (named by its end). */
    o.start_month = 7;
    sp_calendar *jul = new_calendar(ctx, &o);
    expect_year(jul, 2026, spt_day(2025, 7, 1), spt_day(2026, 7, 1));
    expect_label(jul, spt_day(2026, 1, 15), SP_GRAIN_QUARTER, "FY2026-Q3");

    /* Japan's fiscal 2026 (令和8年度) is 2026-04-01 .. 2027-03-31, named by its start; the
     * same rules named by the end call it FY2027. */
    o.start_month = 4;
    o.label = SP_FISCAL_LABEL_START;
    sp_calendar *apr = new_calendar(ctx, &o);
    expect_year(apr, 2026, spt_day(2026, 4, 1), spt_day(2027, 4, 1));
    expect_label(apr, spt_day(2027, 2, 28), SP_GRAIN_MONTH, "FY2026-M11");
    o.label = SP_FISCAL_LABEL_END;
    sp_calendar *apr_end = new_calendar(ctx, &o);
    expect_year(apr_end, 2027, spt_day(2026, 4, 1), spt_day(2027, 4, 1));

    /* Leap years: the eleventh month of an April year is February, 29 days in 2024. */
    int32_t f, e;
    period(apr, 2023, SP_GRAIN_MONTH, 10, &f, &e);
    assert_int_equal(f, spt_day(2024, 2, 1));
    assert_int_equal(e - f, 29);
    period(apr, 2024, SP_GRAIN_MONTH, 10, &f, &e);
    assert_int_equal(e - f, 28);
    /* The first and last supported years. */
    expect_year(jan, 1, spt_day(1, 1, 1), spt_day(2, 1, 1));
    expect_year(apr, 9999, spt_day(9999, 4, 1), spt_day(9999, 12, 31) + 92); /* 10000 leaps */
    expect_year(apr_end, 1, spt_day(1, 4, 1) - 365, spt_day(1, 4, 1));

    sp_calendar_free(jan);
    sp_calendar_free(oct);
    sp_calendar_free(jul);
    sp_calendar_free(apr);
    sp_calendar_free(apr_end);
    sp_ctx_free(ctx);
}

/* ---- ISO weeks ---- */

static void test_iso_weeks(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = new_calendar(ctx, NULL);
    /* ISO 8601 (examples of the Wikipedia article "ISO week date"): 2005-01-01 is
     * 2004-W53-6, 2008-12-29 is 2009-W01-1, 2010-01-03 is 2009-W53-7; 2020-12-31 and
     * 2021-01-03 are in 2020-W53, 2021-01-04 starts 2021-W01, 2026-01-01 is in 2026-W01. */
    expect_label(cal, spt_day(2005, 1, 1), SP_GRAIN_WEEK, "FY2004-W53");
    expect_label(cal, spt_day(2008, 12, 29), SP_GRAIN_WEEK, "FY2009-W01");
    expect_label(cal, spt_day(2010, 1, 3), SP_GRAIN_WEEK, "FY2009-W53");
    expect_label(cal, spt_day(2020, 12, 31), SP_GRAIN_WEEK, "FY2020-W53");
    expect_label(cal, spt_day(2021, 1, 3), SP_GRAIN_WEEK, "FY2020-W53");
    expect_label(cal, spt_day(2021, 1, 4), SP_GRAIN_WEEK, "FY2021-W01");
    expect_label(cal, spt_day(2026, 1, 1), SP_GRAIN_WEEK, "FY2026-W01");
    expect_label(cal, spt_day(2026, 2, 1), SP_GRAIN_WEEK, "FY2026-W05");

    /* 2026-W01 is Monday 2025-12-29 .. Sunday 2026-01-04. */
    int32_t f, e;
    size_t n = period(cal, 2026, SP_GRAIN_WEEK, 0, &f, &e);
    assert_int_equal(f, spt_day(2025, 12, 29));
    assert_int_equal(e, spt_day(2026, 1, 5));
    /* A year has 53 ISO weeks when it starts on a Thursday, or is a leap year starting on a
     * Wednesday; 2026 starts on a Thursday. Checked for every year against that rule, with
     * the weekday of January 1 counted from 1970-01-01, a Thursday. */
    assert_int_equal(n, 53);
    for (int32_t y = 2; y <= 9998; y++) {
        int32_t jan1 = spt_day(y, 1, 1);
        int wd = (int)(((jan1 % 7) + 7 + 3) % 7) + 1;
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        size_t want = wd == 4 || (leap && wd == 3) ? 53 : 52, got;
        assert_int_equal(sp_calendar_periods(cal, y, SP_GRAIN_WEEK, NULL, NULL, NULL, 0, &got),
                         SP_OK);
        if (got != want)
            fail_msg("%d: %zu ISO weeks, expected %zu", y, got, want);
    }
    /* A week belongs to the month and quarter of its Thursday: 2025-W40 runs from Monday
     * 2025-09-29 to Sunday 2025-10-05, its Thursday is October 2: month 10, Q4. */
    uint32_t parent;
    assert_int_equal(sp_calendar_parent(cal, 2025, SP_GRAIN_WEEK, 39, SP_GRAIN_MONTH, &parent),
                     SP_OK);
    assert_int_equal(parent, 9);
    assert_int_equal(sp_calendar_parent(cal, 2025, SP_GRAIN_WEEK, 39, SP_GRAIN_QUARTER, &parent),
                     SP_OK);
    assert_int_equal(parent, 3);
    sp_calendar_free(cal);

    /* A fiscal year from April: week 1 holds the first Thursday on or after April 1. In
     * 2025 April 1 is a Tuesday, so week 1 of FY2026 (named by its end) is Monday
     * 2025-03-31 .. Sunday 2025-04-06. */
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.start_month = 4;
    o.label = SP_FISCAL_LABEL_END;
    cal = new_calendar(ctx, &o);
    period(cal, 2026, SP_GRAIN_WEEK, 0, &f, &e);
    assert_int_equal(f, spt_day(2025, 3, 31));
    expect_label(cal, spt_day(2025, 3, 31), SP_GRAIN_WEEK, "FY2026-W01");
    expect_label(cal, spt_day(2025, 3, 30), SP_GRAIN_WEEK, "FY2025-W52");
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* ---- retail calendars ---- */

static void test_nrf_454(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar_options o = nrf_options();
    sp_calendar *cal = new_calendar(ctx, &o);
    /* NRF, "4-5-4 Calendar": its earlier page (nrf.com, sp_id=391) names FY'00, FY'06,
     * FY'12 and FY'17 as the 53-week years "during the last few years", the current one
     * (nrf.com/resources/4-5-4-calendar) FY'12, FY'17 and FY'23: every other year from
     * 2000 to 2023 has 52 weeks. */
    for (int32_t fy = 2000; fy <= 2023; fy++) {
        size_t weeks;
        assert_int_equal(sp_calendar_periods(cal, fy, SP_GRAIN_WEEK, NULL, NULL, NULL, 0, &weeks),
                         SP_OK);
        bool long_year = fy == 2000 || fy == 2006 || fy == 2012 || fy == 2017 || fy == 2023;
        if (weeks != (long_year ? 53u : 52u))
            fail_msg("FY%d: %zu weeks", fy, weeks);
    }
    /* Coresight Research, "The 4-5-4 US Retail Calendar, 2023-24": fiscal 2023 ends on
     * February 3, 2024 and has 53 weeks, so it starts on 2023-01-29. */
    expect_year(cal, 2023, spt_day(2023, 1, 29), spt_day(2024, 2, 4));
    /* Target's fiscal 2009 (Saturday nearest January 31) ended on January 30, 2010. */
    expect_year(cal, 2009, spt_day(2009, 2, 1), spt_day(2010, 1, 31));
    /* DateTime::Fiscal::Retail454's example: the 2006 calendar's February begins on
     * January 29, 2006. */
    int32_t f, e;
    period(cal, 2006, SP_GRAIN_MONTH, 0, &f, &e);
    assert_int_equal(f, spt_day(2006, 1, 29));
    /* FY2023 month by month: 4-5-4 per quarter, the 53rd week in the last month (January),
     * which runs 2023-12-31 .. 2024-02-03 (5 weeks). */
    static const int weeks454[12] = { 4, 5, 4, 4, 5, 4, 4, 5, 4, 4, 5, 5 };
    int32_t start = spt_day(2023, 1, 29);
    for (uint32_t m = 0; m < 12; m++) {
        period(cal, 2023, SP_GRAIN_MONTH, m, &f, &e);
        assert_int_equal(f, start);
        assert_int_equal(e - f, 7 * weeks454[m]);
        start = e;
    }
    period(cal, 2023, SP_GRAIN_MONTH, 11, &f, &e);
    assert_int_equal(f, spt_day(2023, 12, 31));
    /* Weeks end on Saturday: week 1 of FY2025 is Sunday 2025-02-02 .. Saturday 02-08. */
    period(cal, 2025, SP_GRAIN_WEEK, 0, &f, &e);
    assert_int_equal(f, spt_day(2025, 2, 2));
    assert_int_equal(e, spt_day(2025, 2, 9));
    expect_label(cal, spt_day(2024, 2, 3), SP_GRAIN_WEEK, "FY2023-W53");
    expect_label(cal, spt_day(2024, 2, 4), SP_GRAIN_WEEK, "FY2024-W01");
    expect_label(cal, spt_day(2024, 2, 4), SP_GRAIN_QUARTER, "FY2024-Q1");
    /* FY2024 month 2 (March) is weeks 5-9: 2024-03-03 .. 2024-04-06. */
    expect_label(cal, spt_day(2024, 4, 6), SP_GRAIN_MONTH, "FY2024-M02");
    expect_label(cal, spt_day(2024, 4, 7), SP_GRAIN_MONTH, "FY2024-M03");
    sp_calendar_free(cal);

    /* The 53rd week elsewhere: in the second month, 4-6-4 in Q1 of FY2023. */
    o.week53_month = 2;
    cal = new_calendar(ctx, &o);
    period(cal, 2023, SP_GRAIN_MONTH, 1, &f, &e);
    assert_int_equal(e - f, 42);
    period(cal, 2023, SP_GRAIN_MONTH, 11, &f, &e);
    assert_int_equal(e - f, 28);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

static void test_retail_year_end_rules(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Last Saturday of August, years named by their end. UniFirst's 10-K filings (SEC) report
     * fiscal years ended August 31, 2013 and August 30, 2014; the 4-4-5 calendar article
     * lists 2006-08-26, 2007-08-25 and 2008-08-30 for this rule. 2012's last Saturday of
     * August is the 25th (the 31st is a Friday), so fiscal 2013 has 53 weeks. */
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.kind = SP_CALENDAR_RETAIL_445;
    o.start_month = 9;
    o.label = SP_FISCAL_LABEL_END;
    o.year_end_weekday = 6;
    o.year_end_rule = SP_YEAR_END_LAST;
    sp_calendar *cal = new_calendar(ctx, &o);
    expect_year(cal, 2007, spt_day(2006, 8, 27), spt_day(2007, 8, 26));
    expect_year(cal, 2008, spt_day(2007, 8, 26), spt_day(2008, 8, 31));
    expect_year(cal, 2013, spt_day(2012, 8, 26), spt_day(2013, 9, 1));
    expect_year(cal, 2014, spt_day(2013, 9, 1), spt_day(2014, 8, 31));
    size_t weeks;
    assert_int_equal(sp_calendar_periods(cal, 2013, SP_GRAIN_WEEK, NULL, NULL, NULL, 0, &weeks),
                     SP_OK);
    assert_int_equal(weeks, 53);
    /* 4-4-5: the third month of each quarter has five weeks; the 53rd week goes to the last. */
    int32_t f, e;
    period(cal, 2014, SP_GRAIN_MONTH, 2, &f, &e);
    assert_int_equal(e - f, 35);
    period(cal, 2013, SP_GRAIN_MONTH, 11, &f, &e);
    assert_int_equal(e - f, 42);
    sp_calendar_free(cal);

    /* Saturday nearest December 31 (an SEC 10-Q, CIK 1053706): "the 2011 fiscal year, which
     * began January 2, 2011 and will end December 31, 2011". 5-4-4 months. */
    o = (sp_calendar_options)SP_CALENDAR_OPTIONS_INIT;
    o.kind = SP_CALENDAR_RETAIL_544;
    o.start_month = 1;
    o.year_end_weekday = 6;
    o.year_end_rule = SP_YEAR_END_NEAREST;
    cal = new_calendar(ctx, &o);
    expect_year(cal, 2011, spt_day(2011, 1, 2), spt_day(2012, 1, 1));
    period(cal, 2011, SP_GRAIN_MONTH, 0, &f, &e);
    assert_int_equal(e - f, 35);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* ---- properties over many calendars and years ---- */

static void random_options(spt_rng *rng, sp_calendar_options *o)
{
    *o = (sp_calendar_options)SP_CALENDAR_OPTIONS_INIT;
    o->kind = (uint32_t)spt_rng_range(rng, 0, 3);
    o->start_month = (uint32_t)spt_rng_range(rng, o->kind == SP_CALENDAR_MONTHS ? 0 : 1, 12);
    o->label = (uint32_t)spt_rng_range(rng, o->start_month <= 1 ? 0 : 1, 2);
    if (o->kind != SP_CALENDAR_MONTHS) {
        o->year_end_weekday = (uint32_t)spt_rng_range(rng, 1, 7);
        o->year_end_rule = (uint32_t)spt_rng_range(rng, 1, 2);
        o->week53_month = (uint32_t)spt_rng_range(rng, 0, 12);
    }
}

static void test_property_tiling(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 11 };
    unsigned iterations = spt_iterations(400);
    for (unsigned it = 0; it < iterations; it++) {
        sp_calendar_options o;
        random_options(&rng, &o);
        sp_calendar *cal = new_calendar(ctx, &o);
        int32_t fy = (int32_t)(it % 5 == 0 ? spt_rng_range(&rng, 1, 9999)
                                            : spt_rng_range(&rng, 1960, 2100));
        int32_t yf, ye;
        period(cal, fy, SP_GRAIN_YEAR, 0, &yf, &ye);
        if (fy > 1) { /* years follow each other without gap */
            int32_t pf, pe;
            period(cal, fy - 1, SP_GRAIN_YEAR, 0, &pf, &pe);
            assert_int_equal(pe, yf);
        }
        if (o.kind != SP_CALENDAR_MONTHS)
            assert_true(ye - yf == 364 || ye - yf == 371);
        else
            assert_true(ye - yf == 365 || ye - yf == 366);
        for (uint32_t g = SP_GRAIN_YEAR; g <= SP_GRAIN_WEEK; g++) {
            int32_t f[SP_CALENDAR_MAX_PERIODS], e[SP_CALENDAR_MAX_PERIODS], w[SP_CALENDAR_MAX_PERIODS];
            size_t n;
            assert_int_equal(sp_calendar_periods(cal, fy, g, f, e, w, SP_CALENDAR_MAX_PERIODS, &n),
                             SP_OK);
            static const size_t counts[] = { 1, 2, 4, 12 };
            if (g < SP_GRAIN_WEEK)
                assert_int_equal(n, counts[g]);
            else
                assert_true(n == 52 || n == 53);
            /* Tiling: each period starts where the last ended; all but ISO weeks cover the
             * year exactly, and ISO weeks cover the weeks between two week-ones. */
            for (size_t k = 0; k < n; k++) {
                assert_true(e[k] > f[k]);
                assert_int_equal(w[k], e[k] - f[k]); /* every day works by default */
                if (k > 0)
                    assert_int_equal(f[k], e[k - 1]);
            }
            if (g != SP_GRAIN_WEEK || o.kind != SP_CALENDAR_MONTHS) {
                assert_int_equal(f[0], yf);
                assert_int_equal(e[n - 1], ye);
            } else {
                int32_t nf, ne;
                period(cal, fy + 1 <= 9999 ? fy + 1 : fy, g, 0, &nf, &ne);
                if (fy < 9999)
                    assert_int_equal(e[n - 1], nf);
                assert_true(f[0] >= yf - 3 && f[0] <= yf + 3);
            }
            /* Day -> period agrees with the ranges, at both ends and inside. */
            for (size_t k = 0; k < n; k++) {
                int32_t days[3] = { f[k], e[k] - 1, (int32_t)spt_rng_range(&rng, f[k], e[k] - 1) };
                int32_t got_fy[3];
                uint32_t got_k[3];
                assert_int_equal(sp_calendar_locate_many(cal, days, 3, g, got_fy, got_k), SP_OK);
                for (int d = 0; d < 3; d++)
                    if (got_fy[d] != fy || got_k[d] != k)
                        fail_msg("kind %u start %u label %u FY%d grain %u period %zu: day %d "
                                 "located in FY%d period %u",
                                 o.kind, o.start_month, o.label, fy, g, k, days[d], got_fy[d],
                                 got_k[d]);
                /* Containment: the parent holds the period (nested grains) or its Thursday. */
                for (uint32_t pg = SP_GRAIN_YEAR; pg < g; pg++) {
                    uint32_t parent;
                    assert_int_equal(sp_calendar_parent(cal, fy, g, (uint32_t)k, pg, &parent),
                                     SP_OK);
                    int32_t pf, pe;
                    period(cal, fy, pg, parent, &pf, &pe);
                    bool iso = g == SP_GRAIN_WEEK && o.kind == SP_CALENDAR_MONTHS;
                    int32_t lo = iso ? f[k] + 3 : f[k], hi = iso ? f[k] + 4 : e[k];
                    if (lo < pf || hi > pe)
                        fail_msg("FY%d grain %u period %zu is not within its parent %u", fy, g,
                                 k, parent);
                }
            }
        }
        sp_calendar_free(cal);
    }
    sp_ctx_free(ctx);
}

/* ---- presets ---- */

static sp_calendar *preset_calendar(sp_ctx *ctx, uint32_t preset)
{
    sp_calendar_options o;
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION, preset), SP_OK);
    return new_calendar(ctx, &o);
}

/* A retail year: its last day and its number of weeks. */
typedef struct retail_year {
    int32_t fy, y, m, d;
    size_t weeks;
} retail_year;

/* Years of the NRF rule (the Saturday nearest January 31, named by the year it starts in).
 * Published: FY2016 ended 2017-01-28 and FY2017 on 2018-02-03 (an SEC 10-K, CIK 896985,
 * "fiscal years ended February 3, 2018 and January 28, 2017" under a "4-5-4 retail fiscal
 * calendar ending on the Saturday nearest January 31"); FY2021 on 2022-01-29 (Coresight
 * Research, "The 4-5-4 US Retail Calendar, 2021–22"); FY2023 on 2024-02-03 with 53 weeks
 * (Coresight, 2023–24, and the NRF); FY2024 on 2025-02-01 (Ross Stores' 10-K, CIK 745732,
 * "12 Months Ended Feb. 01, 2025", fiscal 2024). From the rule only: FY2022 ends on
 * 2023-01-28 (January 31, 2023 is a Tuesday) and FY2025 on 2026-01-31 (a Saturday). Each
 * year starts the day after the one before ends; FY2015 and FY2020, before the first years
 * listed, ended on 2016-01-30 and 2021-01-30 by the rule (January 31 was a Sunday). */
static const retail_year nrf_years[] = {
    { 2016, 2017, 1, 28, 52 }, { 2017, 2018, 2, 3, 53 }, { 2021, 2022, 1, 29, 52 },
    { 2022, 2023, 1, 28, 52 }, { 2023, 2024, 2, 3, 53 }, { 2024, 2025, 2, 1, 52 },
    { 2025, 2026, 1, 31, 52 },
};

static const retail_year nrf_before[] = {
    { 2015, 2016, 1, 30, 0 }, { 2016, 2017, 1, 28, 0 }, { 2020, 2021, 1, 30, 0 },
    { 2021, 2022, 1, 29, 0 }, { 2022, 2023, 1, 28, 0 }, { 2023, 2024, 2, 3, 0 },
    { 2024, 2025, 2, 1, 0 },
};

static void expect_retail_years(const sp_calendar *cal)
{
    for (size_t i = 0; i < sizeof nrf_years / sizeof nrf_years[0]; i++) {
        const retail_year *r = &nrf_years[i], *p = &nrf_before[i];
        expect_year(cal, r->fy, spt_day(p->y, p->m, p->d) + 1, spt_day(r->y, r->m, r->d) + 1);
        size_t weeks;
        assert_int_equal(sp_calendar_periods(cal, r->fy, SP_GRAIN_WEEK, NULL, NULL, NULL, 0,
                                             &weeks),
                         SP_OK);
        assert_int_equal(weeks, r->weeks);
    }
}

/* Month starts as (month, day) pairs from February of fy to February of fy + 1 (13). */
static void expect_month_starts(const sp_calendar *cal, int32_t fy, const int starts[13][2])
{
    for (uint32_t k = 0; k < 12; k++) {
        int32_t f, e;
        period(cal, fy, SP_GRAIN_MONTH, k, &f, &e);
        int32_t want_f = spt_day(starts[k][0] >= 2 ? fy : fy + 1, starts[k][0], starts[k][1]);
        int32_t want_e = spt_day(starts[k + 1][0] >= 2 && k + 1 < 12 ? fy : fy + 1,
                                 starts[k + 1][0], starts[k + 1][1]);
        if (f != want_f || e != want_e)
            fail_msg("FY%d month %u: [%d, %d), expected [%d, %d)", fy, k + 1, f, e, want_f,
                     want_e);
    }
}

/* A retail preset: the years of expect_retail_years, FY2024 month by month, and FY2023's
 * last month, which takes that year's 53rd week and so runs from `last_month` (month,
 * day in 2023) to 2024-02-03. Months and dates by hand, from Sunday 2024-02-04. */
typedef struct retail_preset {
    uint32_t preset;
    int months[13][2];
    int last_month[2];
} retail_preset;

static const retail_preset retail_presets[] = {
    /* 4-5-4 (the NRF's 2024 calendar has February 4 .. March 2, March 3 .. April 6, ...);
     * the 53rd week makes January 5 weeks: 2023-12-31 .. 2024-02-03. */
    { SP_CALENDAR_PRESET_NRF_454,
      { { 2, 4 }, { 3, 3 }, { 4, 7 }, { 5, 5 }, { 6, 2 }, { 7, 7 }, { 8, 4 }, { 9, 1 },
        { 10, 6 }, { 11, 3 }, { 12, 1 }, { 1, 5 }, { 2, 2 } },
      { 12, 31 } },
    /* 4-4-5: the last month 6 weeks, 2023-12-24 .. 2024-02-03. */
    { SP_CALENDAR_PRESET_RETAIL_445,
      { { 2, 4 }, { 3, 3 }, { 3, 31 }, { 5, 5 }, { 6, 2 }, { 6, 30 }, { 8, 4 }, { 9, 1 },
        { 9, 29 }, { 11, 3 }, { 12, 1 }, { 12, 29 }, { 2, 2 } },
      { 12, 24 } },
    /* 5-4-4: the last month 5 weeks, 2023-12-31 .. 2024-02-03. */
    { SP_CALENDAR_PRESET_RETAIL_544,
      { { 2, 4 }, { 3, 10 }, { 4, 7 }, { 5, 5 }, { 6, 9 }, { 7, 7 }, { 8, 4 }, { 9, 8 },
        { 10, 6 }, { 11, 3 }, { 12, 8 }, { 1, 5 }, { 2, 2 } },
      { 12, 31 } },
};

static void test_presets_retail(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < sizeof retail_presets / sizeof retail_presets[0]; i++) {
        const retail_preset *r = &retail_presets[i];
        sp_calendar *cal = preset_calendar(ctx, r->preset);
        expect_retail_years(cal);
        expect_month_starts(cal, 2024, r->months);
        int32_t f, e;
        period(cal, 2023, SP_GRAIN_MONTH, 11, &f, &e);
        assert_int_equal(f, spt_day(2023, r->last_month[0], r->last_month[1]));
        assert_int_equal(e, spt_day(2024, 2, 4));
        sp_calendar_free(cal);
    }
    sp_ctx_free(ctx);
}

static void test_presets_nrf(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = preset_calendar(ctx, SP_CALENDAR_PRESET_NRF_454);
    expect_label(cal, spt_day(2025, 2, 1), SP_GRAIN_WEEK, "FY2024-W52");
    expect_label(cal, spt_day(2025, 2, 2), SP_GRAIN_YEAR, "FY2025");
    sp_calendar_free(cal);

    /* A preset is a starting point: the weekend and ranges are added, a field changed. */
    sp_calendar_options o;
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION,
                                                SP_CALENDAR_PRESET_NRF_454),
                     SP_OK);
    o.week53_month = 2;
    o.weekend = SP_SUNDAY;
    cal = new_calendar(ctx, &o);
    /* FY2023's 53rd week now goes to its second month: 5 + 1 weeks, 42 days. */
    int32_t f, e;
    period(cal, 2023, SP_GRAIN_MONTH, 1, &f, &e);
    assert_int_equal(e - f, 42);
    int32_t w[12];
    size_t n;
    assert_int_equal(sp_calendar_periods(cal, 2024, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n), SP_OK);
    assert_int_equal(w[0], 24); /* 4 weeks of 6 working days */
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* A months preset: FY y runs from start_month of year y + shift to the same month a year
 * later, for y = 2015 .. 2035. */
static void expect_month_years(sp_ctx *ctx, uint32_t preset, int32_t start_month, int32_t shift)
{
    sp_calendar *cal = preset_calendar(ctx, preset);
    for (int32_t y = 2015; y <= 2035; y++)
        expect_year(cal, y, spt_day(y + shift, start_month, 1),
                    spt_day(y + shift + 1, start_month, 1));
    sp_calendar_free(cal);
}

static void test_presets_months(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    expect_month_years(ctx, SP_CALENDAR_PRESET_CIVIL, 1, 0);
    /* Japan: 財政法 article 11, the national fiscal year runs from April 1 to March 31 of the
     * next year, named by the year it starts in: "2014 FY (Heisei 26) ran from April 1st,
     * 2014 until March 31st, 2015". */
    expect_month_years(ctx, SP_CALENDAR_PRESET_APRIL_START, 4, 0);
    sp_calendar *cal = preset_calendar(ctx, SP_CALENDAR_PRESET_APRIL_START);
    expect_year(cal, 2014, spt_day(2014, 4, 1), spt_day(2015, 4, 1));
    expect_label(cal, spt_day(2015, 3, 31), SP_GRAIN_MONTH, "FY2014-M12");
    sp_calendar_free(cal);
    /* India: the financial year 2024-25 runs from April 1, 2024 to March 31, 2025 and is
     * written FY25 (Ministry of Statistics estimates "for FY 2024-25", reported as "financial
     * year 2024-25 (FY25)"): named by its end. */
    expect_month_years(ctx, SP_CALENDAR_PRESET_APRIL_END, 4, -1);
    cal = preset_calendar(ctx, SP_CALENDAR_PRESET_APRIL_END);
    expect_label(cal, spt_day(2024, 4, 1), SP_GRAIN_QUARTER, "FY2025-Q1");
    expect_label(cal, spt_day(2025, 3, 31), SP_GRAIN_QUARTER, "FY2025-Q4");
    sp_calendar_free(cal);
    /* Australia: the 2024-25 financial year, FY25, runs from 1 July 2024 to 30 June 2025
     * (the ATO's "income year" is "a 12-month period ending on 30 June"). */
    expect_month_years(ctx, SP_CALENDAR_PRESET_JULY_END, 7, -1);
    cal = preset_calendar(ctx, SP_CALENDAR_PRESET_JULY_END);
    expect_label(cal, spt_day(2024, 7, 1), SP_GRAIN_MONTH, "FY2025-M01");
    expect_label(cal, spt_day(2025, 6, 30), SP_GRAIN_HALF, "FY2025-H2");
    sp_calendar_free(cal);
    /* The US federal government: "The fiscal year of the Treasury begins on October 1 of each
     * year and ends on September 30 of the following year" (31 U.S.C. 1102), named by the
     * year it ends in: "fiscal year 1992 began on October 1, 1991, and ended September 30,
     * 1992" (NSF, Federal Funds Survey, technical notes). */
    expect_month_years(ctx, SP_CALENDAR_PRESET_OCTOBER_END, 10, -1);
    cal = preset_calendar(ctx, SP_CALENDAR_PRESET_OCTOBER_END);
    expect_year(cal, 1992, spt_day(1991, 10, 1), spt_day(1992, 10, 1));
    expect_label(cal, spt_day(2025, 12, 31), SP_GRAIN_QUARTER, "FY2026-Q1");
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

static void test_preset_bad_input(void **state)
{
    (void)state;
    sp_calendar_options o, before;
    memset(&o, 0x5A, sizeof o);
    before = o;
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION, 0), SP_EINVAL);
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION, 9), SP_EINVAL);
    assert_int_equal(sp_calendar_options_preset(&o, 0, SP_CALENDAR_PRESET_CIVIL), SP_EVERSION);
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION + 1,
                                                SP_CALENDAR_PRESET_CIVIL),
                     SP_EVERSION);
    assert_memory_equal(&o, &before, sizeof o);
    assert_int_equal(sp_calendar_options_preset(NULL, SP_CALENDAR_OPTIONS_VERSION,
                                                SP_CALENDAR_PRESET_CIVIL),
                     SP_EINVAL);
    /* A preset writes the whole struct, as sp_calendar_options_init does. */
    assert_int_equal(sp_calendar_options_preset(&o, SP_CALENDAR_OPTIONS_VERSION,
                                                SP_CALENDAR_PRESET_OCTOBER_END),
                     SP_OK);
    assert_int_equal(o.version, SP_CALENDAR_OPTIONS_VERSION);
    assert_int_equal(o.weekend, 0);
    assert_null(o.holiday_ranges);
    assert_int_equal(o.nworkday_ranges, 0);
}

/* ---- working days ---- */

static void test_working_days(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* China, 2024 Spring Festival (国务院办公厅关于2024年部分节假日安排的通知): February 10
     * to 17 off; Sunday February 4 and Sunday February 18 are working days. February 2024
     * starts on a Thursday: weekdays 2 + 5 + 5 + 5 + 4 = 21; the holidays that fall on
     * weekdays are Monday 12 .. Friday 16 (5); plus the two make-up Sundays: 18. */
    const int32_t holidays[] = { spt_day(2024, 2, 10), spt_day(2024, 2, 17) };
    const int32_t workdays[] = { spt_day(2024, 2, 4), spt_day(2024, 2, 4), spt_day(2024, 2, 18),
                                 spt_day(2024, 2, 18) };
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.weekend = SP_SATURDAY | SP_SUNDAY;
    o.holiday_ranges = holidays;
    o.nholiday_ranges = 1;
    o.workday_ranges = workdays;
    o.nworkday_ranges = 2;
    sp_calendar *cal = new_calendar(ctx, &o);
    int32_t w[12];
    size_t n;
    assert_int_equal(sp_calendar_periods(cal, 2024, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n), SP_OK);
    assert_int_equal(w[1], 18);
    /* January 2024 starts on a Monday: 23 weekdays, nothing else. */
    assert_int_equal(w[0], 23);
    /* The week of Monday February 12: all five weekdays are holidays. */
    int32_t count;
    assert_int_equal(sp_calendar_working_days(cal, spt_day(2024, 2, 12), spt_day(2024, 2, 19),
                                              &count),
                     SP_OK);
    assert_int_equal(count, 1); /* Sunday the 18th */
    assert_int_equal(sp_calendar_working_days(cal, 5, 5, &count), SP_OK);
    assert_int_equal(count, 0);
    sp_calendar_free(cal);

    /* A Friday + Saturday weekend (Gulf states): March 2024 starts on a Friday. Its 31 days
     * are 4 full weeks (20 working days) and Fri 29, Sat 30, Sun 31: 21. */
    o = (sp_calendar_options)SP_CALENDAR_OPTIONS_INIT;
    o.weekend = SP_FRIDAY | SP_SATURDAY;
    cal = new_calendar(ctx, &o);
    assert_int_equal(sp_calendar_periods(cal, 2024, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n), SP_OK);
    assert_int_equal(w[2], 21);
    sp_calendar_free(cal);

    /* Overlapping holiday ranges count once: a company shutdown from Wednesday 2025-12-24 to
     * Friday 2026-01-02, the national New Year holiday of 2026-01-01 to 01-03 and a repeat of
     * Christmas Day. Of Monday 2025-12-22 .. Friday 2026-01-09, Monday 22, Tuesday 23 and
     * the week of January 5 work: 7. January 2026 has 22 weekdays (it starts on a Thursday),
     * less Thursday 1 and Friday 2: 20. */
    const int32_t shutdown[] = { spt_day(2025, 12, 24), spt_day(2026, 1, 2),
                                 spt_day(2026, 1, 1),   spt_day(2026, 1, 3),
                                 spt_day(2025, 12, 25), spt_day(2025, 12, 25) };
    o = (sp_calendar_options)SP_CALENDAR_OPTIONS_INIT;
    o.weekend = SP_SATURDAY | SP_SUNDAY;
    o.holiday_ranges = shutdown;
    o.nholiday_ranges = 3;
    cal = new_calendar(ctx, &o);
    assert_int_equal(sp_calendar_working_days(cal, spt_day(2025, 12, 22), spt_day(2026, 1, 10),
                                              &count),
                     SP_OK);
    assert_int_equal(count, 7);
    assert_int_equal(sp_calendar_periods(cal, 2026, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n), SP_OK);
    assert_int_equal(w[0], 20);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* A published holiday schedule of China: the days off as (month, day, month, day), both
 * ends included as the announcement writes them, and the make-up working days. */
typedef struct cn_schedule {
    int32_t year;
    int off[8][4];
    size_t noff;
    int work[8][2];
    size_t nwork;
} cn_schedule;

/* 国务院办公厅关于2024年部分节假日安排的通知 (国办发明电〔2023〕7号). */
static const cn_schedule cn2024 = {
    2024,
    { { 1, 1, 1, 1 }, { 2, 10, 2, 17 }, { 4, 4, 4, 6 }, { 5, 1, 5, 5 }, { 6, 10, 6, 10 },
      { 9, 15, 9, 17 }, { 10, 1, 10, 7 } },
    7,
    { { 2, 4 }, { 2, 18 }, { 4, 7 }, { 4, 28 }, { 5, 11 }, { 9, 14 }, { 9, 29 }, { 10, 12 } },
    8,
};

/* 国务院办公厅关于2025年部分节假日安排的通知 (国办发明电〔2024〕12号). */
static const cn_schedule cn2025 = {
    2025,
    { { 1, 1, 1, 1 }, { 1, 28, 2, 4 }, { 4, 4, 4, 6 }, { 5, 1, 5, 5 }, { 5, 31, 6, 2 },
      { 10, 1, 10, 8 } },
    6,
    { { 1, 26 }, { 2, 8 }, { 4, 27 }, { 9, 28 }, { 10, 11 } },
    5,
};

/* The schedule as ranges, against a day-by-day walk of the year in this test: per month,
 * and from January 1 to every day of the year. Returns the year's working days. */
static int32_t check_cn_schedule(const cn_schedule *c, int32_t *months)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    sp_ctx *ctx = spt_new_ctx();
    int32_t off[16], work[16];
    for (size_t i = 0; i < c->noff; i++) {
        off[2 * i] = spt_day(c->year, c->off[i][0], c->off[i][1]);
        off[2 * i + 1] = spt_day(c->year, c->off[i][2], c->off[i][3]);
    }
    for (size_t i = 0; i < c->nwork; i++)
        work[2 * i] = work[2 * i + 1] = spt_day(c->year, c->work[i][0], c->work[i][1]);
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.weekend = SP_SATURDAY | SP_SUNDAY;
    o.holiday_ranges = off;
    o.nholiday_ranges = c->noff;
    o.workday_ranges = work;
    o.nworkday_ranges = c->nwork;
    sp_calendar *cal = new_calendar(ctx, &o);
    int32_t w[12];
    size_t n;
    assert_int_equal(sp_calendar_periods(cal, c->year, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n),
                     SP_OK);

    bool leap = c->year % 4 == 0 && (c->year % 100 != 0 || c->year % 400 == 0);
    int32_t jan1 = spt_day(c->year, 1, 1), day = jan1, total = 0;
    for (int m = 1; m <= 12; m++) {
        int32_t in_month = 0;
        for (int d = 1; d <= len[m - 1] + (m == 2 && leap); d++, day++) {
            int wd = (int)(((day % 7) + 7 + 3) % 7) + 1; /* 1970-01-01 was a Thursday */
            bool working = wd <= 5;
            for (size_t i = 0; i < c->noff; i++)
                if (m * 100 + d >= c->off[i][0] * 100 + c->off[i][1] &&
                    m * 100 + d <= c->off[i][2] * 100 + c->off[i][3])
                    working = false;
            for (size_t i = 0; i < c->nwork; i++)
                if (m == c->work[i][0] && d == c->work[i][1])
                    working = true;
            in_month += working;
            total += working;
            int32_t got;
            assert_int_equal(sp_calendar_working_days(cal, jan1, day + 1, &got), SP_OK);
            if (got != total)
                fail_msg("%d-%02d-%02d: %d working days since January 1, expected %d",
                         c->year, m, d, got, total);
        }
        if (w[m - 1] != in_month)
            fail_msg("%d-%02d: %d working days, expected %d", c->year, m, w[m - 1], in_month);
        months[m - 1] = in_month;
    }
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
    return total;
}

static void test_china_schedules(void **state)
{
    (void)state;
    int32_t m[12];
    /* By hand, 2025: January starts on a Wednesday, 23 weekdays, less New Year's Day and
     * Tuesday 28 .. Friday 31, plus Sunday 26: 19. February starts on a Saturday, 20
     * weekdays, less Monday 3 and Tuesday 4, plus Saturday 8: 19. September starts on a
     * Monday: 22 weekdays, plus Sunday 28: 23. October starts on a Wednesday: 23 weekdays,
     * less 1, 2, 3, 6, 7, 8, plus Saturday 11: 18. The year: 365 days less 104 weekend days
     * and the 13 statutory holidays (全国年节及纪念日放假办法, as revised in 2024): 248. */
    assert_int_equal(check_cn_schedule(&cn2025, m), 248);
    assert_int_equal(m[0], 19);
    assert_int_equal(m[1], 19);
    assert_int_equal(m[8], 23);
    assert_int_equal(m[9], 18);
    /* 2024: the National Day holiday is 7 days, October 1 (Tuesday) to 7, with make-up days
     * Sunday September 29 and Saturday October 12. October: 23 weekdays less 1, 2, 3, 4 and 7,
     * plus the 12th: 19. September starts on a Sunday: 21 weekdays, less Monday 16 and Tuesday
     * 17 (Mid-Autumn), plus Saturday 14 and Sunday 29: 21. The year: 366 days less 104
     * weekend days and the 11 statutory holidays of the rules before 2025: 251. */
    assert_int_equal(check_cn_schedule(&cn2024, m), 251);
    assert_int_equal(m[1], 18);
    assert_int_equal(m[8], 21);
    assert_int_equal(m[9], 19);
}

static bool in_ranges(const int32_t *v, size_t n, int32_t day)
{
    for (size_t i = 0; i < n; i++)
        if (v[2 * i] <= day && day <= v[2 * i + 1])
            return true;
    return false;
}

/* Working days against a naive count, day by day, over random calendars and ranges:
 * overlapping holiday ranges, make-up ranges of up to three weekend days. */
static void test_property_working_days(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 12 };
    for (unsigned it = 0; it < spt_iterations(300); it++) {
        int32_t base = (int32_t)spt_rng_range(&rng, -1000, 30000);
        uint32_t weekend = (uint32_t)spt_rng_range(&rng, 0, 0x7E);
        int32_t holidays[40], workdays[40];
        size_t nh = (size_t)spt_rng_range(&rng, 0, 20), nw = 0;
        for (size_t i = 0; i < nh; i++) {
            holidays[2 * i] = base + (int32_t)spt_rng_range(&rng, 0, 120);
            holidays[2 * i + 1] = holidays[2 * i] + (int32_t)spt_rng_range(&rng, 0, 9);
        }
        for (int tries = 0; tries < 40 && nw < 20; tries++) {
            int32_t first = base + (int32_t)spt_rng_range(&rng, 0, 130);
            int32_t last = first + (int32_t)spt_rng_range(&rng, 0, 2);
            bool ok = true;
            for (int32_t d = first; d <= last; d++) {
                int wd = (int)(((d % 7) + 7 + 3) % 7) + 1;
                ok &= (weekend >> (wd - 1) & 1u) && !in_ranges(holidays, nh, d) &&
                      !in_ranges(workdays, nw, d);
            }
            if (ok) {
                workdays[2 * nw] = first;
                workdays[2 * nw + 1] = last;
                nw++;
            }
        }
        sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
        o.weekend = weekend;
        o.holiday_ranges = holidays;
        o.nholiday_ranges = nh;
        o.workday_ranges = workdays;
        o.nworkday_ranges = nw;
        sp_calendar *cal = new_calendar(ctx, &o);
        for (int q = 0; q < 5; q++) {
            int32_t from = base + (int32_t)spt_rng_range(&rng, -10, 140);
            int32_t to = from + (int32_t)spt_rng_range(&rng, 0, 60);
            int32_t want = 0, got;
            for (int32_t d = from; d < to; d++) {
                int wd = (int)(((d % 7) + 7 + 3) % 7) + 1;
                bool working = !(weekend >> (wd - 1) & 1u) && !in_ranges(holidays, nh, d);
                want += working || in_ranges(workdays, nw, d);
            }
            assert_int_equal(sp_calendar_working_days(cal, from, to, &got), SP_OK);
            if (got != want)
                fail_msg("case %u: %d working days in [%d, %d), expected %d", it, got, from, to,
                         want);
        }
        sp_calendar_free(cal);
    }
    sp_ctx_free(ctx);
}

/* ---- labels and bad input ---- */

static void test_labels(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = new_calendar(ctx, NULL);
    char buf[SP_CALENDAR_LABEL_MAX];
    size_t len;
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_YEAR, 0, buf, sizeof buf, &len), SP_OK);
    assert_string_equal(buf, "FY2026");
    assert_int_equal(len, 6);
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_HALF, 1, buf, sizeof buf, NULL), SP_OK);
    assert_string_equal(buf, "FY2026-H2");
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_QUARTER, 0, buf, sizeof buf, NULL), SP_OK);
    assert_string_equal(buf, "FY2026-Q1");
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_MONTH, 2, buf, sizeof buf, NULL), SP_OK);
    assert_string_equal(buf, "FY2026-M03");
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_WEEK, 52, buf, sizeof buf, NULL), SP_OK);
    assert_string_equal(buf, "FY2026-W53");
    assert_int_equal(sp_calendar_label(cal, 7, SP_GRAIN_WEEK, 4, buf, sizeof buf, NULL), SP_OK);
    assert_string_equal(buf, "FY0007-W05");
    /* Too small: SP_EBUFFER, the length needed, the buffer untouched. */
    memset(buf, 'x', sizeof buf);
    assert_int_equal(sp_calendar_label(cal, 2026, SP_GRAIN_MONTH, 2, buf, 10, &len), SP_EBUFFER);
    assert_int_equal(len, 10);
    assert_int_equal(buf[0], 'x');
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: label \"FY2026-M03\" needs 11 bytes, room for 10");
    assert_int_equal(sp_calendar_label(cal, 2025, SP_GRAIN_WEEK, 52, buf, sizeof buf, NULL),
                     SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: FY2025 has 52 weeks, no index 52");
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

typedef struct bad_calendar {
    const char *what;
    sp_calendar_options o;
    int rc;
    const char *msg;
} bad_calendar;

static void test_bad_options(void **state)
{
    (void)state;
    const int32_t mon[] = { 20458, 20458 };     /* 2026-01-05, a Monday */
    const int32_t sat_mon[] = { 20456, 20458 }; /* Saturday 2026-01-03 .. Monday */
    const int32_t far[] = { 20454, 20454, 20454, 2932897 };
    const int32_t early[] = { -719163, 20454 };
    const int32_t reversed[] = { 20123, 20116 }; /* 2025-02-04 back to 2025-01-28 */
    /* The 2025 Spring Festival typed as January 28 to February 8, which is a make-up
     * Saturday: the first range that holds the day is named. */
    const int32_t cny_typo[] = { 20089, 20089, 20116, 20127, 20120, 20127 };
    const int32_t cny_work[] = { 20114, 20114, 20127, 20127 };
    const bad_calendar cases[] = {
        { "start month 13", { 1, 0, 13, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: start_month 13 is not a month (1 to 12, or 0 for January in a months "
          "calendar)" },
        { "kind", { 1, 9, 1, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: kind 9 is not an sp_calendar_kind (0 to 3)" },
        { "label", { 1, 0, 1, 3, 0, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: label 3 is not an sp_fiscal_label (1 END or 2 START)" },
        /* Fields a kind needs are never guessed. */
        { "April without label", { 1, 0, 4, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: label is not set; a fiscal year from month 4 needs SP_FISCAL_LABEL_END "
          "(1: FY2026 ends in 2026) or SP_FISCAL_LABEL_START (2: FY2026 starts in 2026)" },
        { "retail without start month", { 1, 2, 0, 2, 6, 2, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: start_month is not set; a retail calendar needs the month after the one "
          "its year ends in (1 to 12; NRF: 2)" },
        { "retail without label", { 1, 2, 2, 0, 6, 2, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: label is not set; a fiscal year from month 2 needs SP_FISCAL_LABEL_END "
          "(1: FY2026 ends in 2026) or SP_FISCAL_LABEL_START (2: FY2026 starts in 2026)" },
        { "retail without weekday", { 1, 2, 2, 2, 0, 2, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_weekday is not set; a retail calendar needs the ISO weekday its "
          "weeks end on (1 Monday to 7 Sunday; NRF: 6)" },
        { "weekday 8", { 1, 2, 2, 2, 8, 2, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_weekday 8 is not an ISO weekday (1 Monday to 7 Sunday)" },
        { "retail without rule", { 1, 1, 2, 2, 6, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_rule is not set; a retail calendar needs SP_YEAR_END_LAST (1) or "
          "SP_YEAR_END_NEAREST (2)" },
        { "rule", { 1, 1, 2, 2, 6, 3, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_rule 3 is not an sp_year_end_rule (1 or 2)" },
        { "week53", { 1, 1, 2, 2, 6, 2, 13, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: week53_month 13 is not a fiscal month (1 to 12, or 0 for the last)" },
        /* Fields a kind does not use must be 0: a typo does not pass silently. */
        { "months with weekday", { 1, 0, 2, 2, 6, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_weekday is 6, but a months calendar (kind 0) does not use it: "
          "it must be 0" },
        { "months with rule", { 1, 0, 1, 0, 0, 2, 0, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: year_end_rule is 2, but a months calendar (kind 0) does not use it: it "
          "must be 0" },
        { "months with week53", { 1, 0, 0, 0, 0, 0, 12, 0, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: week53_month is 12, but a months calendar (kind 0) does not use it: it "
          "must be 0" },
        { "weekend bits", { 1, 0, 1, 0, 0, 0, 0, 0x80, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: weekend 0x80 has bits beyond SP_SUNDAY (0x40)" },
        { "holidays NULL", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 3, NULL, 0 }, SP_EINVAL,
          "calendar: holiday_ranges is NULL with a count of 3" },
        { "workdays NULL", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 0, NULL, 1 }, SP_EINVAL,
          "calendar: workday_ranges is NULL with a count of 1" },
        { "holiday after 9999", { 1, 0, 1, 0, 0, 0, 0, 0x60, far, 2, NULL, 0 }, SP_EINVAL,
          "calendar: holiday_ranges[1] = (20454, 2932897) is outside the years 1 to 9999" },
        { "workday before 1", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 0, early, 1 }, SP_EINVAL,
          "calendar: workday_ranges[0] = (-719163, 20454) is outside the years 1 to 9999" },
        { "reversed holiday", { 1, 0, 1, 0, 0, 0, 0, 0x60, reversed, 1, NULL, 0 }, SP_EINVAL,
          "calendar: holiday_ranges[0] = (2025-02-04, 2025-01-28) is reversed: its last day is "
          "before its first" },
        { "reversed workday", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 0, reversed, 1 }, SP_EINVAL,
          "calendar: workday_ranges[0] = (2025-02-04, 2025-01-28) is reversed: its last day is "
          "before its first" },
        { "workday on a Monday", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 0, mon, 1 }, SP_EINVAL,
          "calendar: workday_ranges[0] = (2026-01-05, 2026-01-05): 2026-01-05 is a Monday, not "
          "a weekend day" },
        { "workdays into Monday", { 1, 0, 1, 0, 0, 0, 0, 0x60, NULL, 0, sat_mon, 1 }, SP_EINVAL,
          "calendar: workday_ranges[0] = (2026-01-03, 2026-01-05): 2026-01-05 is a Monday, not "
          "a weekend day" },
        { "holiday and workday", { 1, 0, 1, 0, 0, 0, 0, 0x60, cny_typo, 3, cny_work, 2 },
          SP_EINVAL,
          "calendar: 2025-02-08 is both a holiday (holiday_ranges[1] = (2025-01-28, "
          "2025-02-08)) and a make-up working day (workday_ranges[1] = (2025-02-08, "
          "2025-02-08))" },
        { "empty calendar", { 1, 0, 1, 0, 0, 0, 0, 0x7F, NULL, 0, NULL, 0 }, SP_EINVAL,
          "calendar: the weekend covers all seven days and no workday_ranges are given, so no "
          "day is a working day" },
        { "version 0", { 0, 0, 1, 0, 0, 0, 0, 0, NULL, 0, NULL, 0 }, SP_EVERSION,
          "sp_calendar_options: version 0 is not supported (this library knows 1 to 1)" },
    };
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sp_calendar *cal = (sp_calendar *)&cases[i]; /* a sentinel that must stay */
        int rc = sp_calendar_new(&cal, ctx, &cases[i].o);
        if (rc != cases[i].rc)
            fail_msg("%s: rc %d (%s)", cases[i].what, rc, sp_ctx_errmsg(ctx));
        if (strcmp(sp_ctx_errmsg(ctx), cases[i].msg) != 0)
            fail_msg("%s: message\n  \"%s\"\nexpected\n  \"%s\"", cases[i].what,
                     sp_ctx_errmsg(ctx), cases[i].msg);
        assert_ptr_equal(cal, &cases[i]);
    }
    /* More pairs than an array can hold: refused before anything is read. */
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.holiday_ranges = far;
    o.nholiday_ranges = SIZE_MAX / 4;
    sp_calendar *cal = NULL;
    assert_int_equal(sp_calendar_new(&cal, ctx, &o), SP_EINVAL);
    char want[128];
    snprintf(want, sizeof want, "calendar: %zu holiday_ranges are more than memory can hold",
             SIZE_MAX / 4);
    assert_string_equal(sp_ctx_errmsg(ctx), want);
    assert_null(cal);
    assert_int_equal(sp_calendar_new(&cal, NULL, NULL), SP_EINVAL);
    assert_int_equal(sp_calendar_new(NULL, ctx, NULL), SP_EINVAL);
    assert_int_equal(sp_calendar_options_init(&o, SP_CALENDAR_OPTIONS_VERSION), SP_OK);
    assert_int_equal(o.kind, 0);
    assert_null(o.holiday_ranges);
    assert_int_equal(sp_calendar_options_init(&o, 2), SP_EVERSION);
    sp_calendar_free(NULL);
    sp_ctx_free(ctx);
}

static void test_bad_queries(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.start_month = 2;
    o.label = SP_FISCAL_LABEL_START;
    sp_calendar *cal = new_calendar(ctx, &o);
    int32_t f[SP_CALENDAR_MAX_PERIODS] = { 7 }, fy = -5;
    size_t n;
    uint32_t k = 99;
    assert_int_equal(sp_calendar_periods(cal, 0, SP_GRAIN_MONTH, f, NULL, NULL, 12, &n), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: fiscal year 0 is outside 1 to 9999");
    assert_int_equal(sp_calendar_periods(cal, 10000, SP_GRAIN_MONTH, f, NULL, NULL, 12, &n),
                     SP_EINVAL);
    assert_int_equal(sp_calendar_periods(cal, 2026, 5, f, NULL, NULL, 12, &n), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: grain 5 is not an sp_grain (0 to 4)");
    assert_int_equal(sp_calendar_periods(cal, 2026, SP_GRAIN_MONTH, f, NULL, NULL, 11, &n),
                     SP_EBUFFER);
    assert_int_equal(n, 12);
    assert_int_equal(f[0], 7);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: FY2026 has 12 months, room for 11");
    assert_int_equal(sp_calendar_periods(cal, 2026, SP_GRAIN_MONTH, f, NULL, NULL, 12, NULL),
                     SP_EINVAL);
    /* January of year 1 belongs to fiscal year 0 of a February calendar named by its start. */
    assert_int_equal(sp_calendar_locate(cal, spt_day(1, 1, 31), SP_GRAIN_MONTH, &fy, &k), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: day -719132 (0001-01-31) falls in fiscal "
                                            "year 0, outside 1 to 9999");
    assert_int_equal(fy, -5);
    assert_int_equal(k, 99);
    assert_int_equal(sp_calendar_locate(cal, spt_day(1, 2, 1), SP_GRAIN_MONTH, &fy, &k), SP_OK);
    assert_int_equal(fy, 1);
    assert_int_equal(k, 0);
    /* Far beyond the supported years, and in a batch: nothing written. */
    int32_t days[3] = { 0, INT32_MAX, 5 }, fys[3] = { 1, 1, 1 };
    uint32_t ks[3] = { 1, 1, 1 };
    assert_int_equal(sp_calendar_locate_many(cal, days, 3, SP_GRAIN_WEEK, fys, ks), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: days[1]: day 2147483647 (5881580-07-11) "
                                            "falls in fiscal year 5881580, outside 1 to 9999");
    assert_int_equal(fys[0], 1);
    assert_int_equal(sp_calendar_locate(cal, 0, 7, &fy, &k), SP_EINVAL);
    assert_int_equal(sp_calendar_locate(cal, 0, SP_GRAIN_MONTH, NULL, &k), SP_EINVAL);
    assert_int_equal(sp_calendar_locate(NULL, 0, SP_GRAIN_MONTH, &fy, &k), SP_EINVAL);
    uint32_t parent = 77;
    assert_int_equal(sp_calendar_parent(cal, 2026, SP_GRAIN_QUARTER, 1, SP_GRAIN_MONTH, &parent),
                     SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: a month is not within a quarter");
    assert_int_equal(sp_calendar_parent(cal, 2026, SP_GRAIN_MONTH, 12, SP_GRAIN_QUARTER, &parent),
                     SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: FY2026 has 12 months, no index 12");
    assert_int_equal(parent, 77);
    assert_int_equal(sp_calendar_parent(cal, 2026, SP_GRAIN_MONTH, 11, SP_GRAIN_QUARTER, &parent),
                     SP_OK);
    assert_int_equal(parent, 3);
    int32_t count = 5;
    assert_int_equal(sp_calendar_working_days(cal, INT32_MIN, INT32_MAX, &count), SP_EOVERFLOW);
    assert_string_equal(sp_ctx_errmsg(ctx), "calendar: [-2147483648, 2147483647) holds "
                                            "4294967295 working days, beyond 2^31 - 1");
    assert_int_equal(sp_calendar_working_days(cal, 0, 10, NULL), SP_EINVAL);
    assert_int_equal(sp_calendar_working_days(NULL, 0, 10, &count), SP_EINVAL);
    assert_int_equal(count, 5);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* ---- allocation failures ---- */

typedef struct calendar_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_calendar *cal;
    int32_t holidays[6], workdays[2];
} calendar_fault;

static int run_calendar_new(void *user)
{
    calendar_fault *f = user;
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.weekend = SP_SATURDAY | SP_SUNDAY;
    o.holiday_ranges = f->holidays;
    o.nholiday_ranges = 3;
    o.workday_ranges = f->workdays;
    o.nworkday_ranges = 1;
    return sp_calendar_new(&f->cal, f->ctx, &o);
}

static void undo_calendar_new(void *user)
{
    calendar_fault *f = user;
    /* The success is real: January 2026 has 22 weekdays, less Thursday 1 and Friday 2 (the
     * first two ranges overlap on the 2nd and end on Saturday the 3rd), plus the make-up
     * Sunday the 4th (the third range is in February). */
    size_t n;
    int32_t w[12];
    assert_int_equal(sp_calendar_periods(f->cal, 2026, SP_GRAIN_MONTH, NULL, NULL, w, 12, &n),
                     SP_OK);
    assert_int_equal(w[0], 21);
    sp_calendar_free(f->cal);
    f->cal = NULL;
}

static void check_calendar_unchanged(void *user)
{
    calendar_fault *f = user;
    assert_null(f->cal);
}

static size_t live_calendar(void *user)
{
    return ((calendar_fault *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    calendar_fault f = { .holidays = { 20454, 20454 + 1, 20454 + 1, 20454 + 2, 20454 + 40,
                                       20454 + 40 },
                         .workdays = { 20454 + 3, 20454 + 3 } };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_calendar_new", run_calendar_new, undo_calendar_new,
                          check_calendar_unchanged, live_calendar, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_int_equal(spt_fault_loop(&fc, &inj), 2);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_civil_known_days),
        cmocka_unit_test(test_civil_walk),
        cmocka_unit_test(test_fiscal_years),
        cmocka_unit_test(test_iso_weeks),
        cmocka_unit_test(test_nrf_454),
        cmocka_unit_test(test_retail_year_end_rules),
        cmocka_unit_test(test_property_tiling),
        cmocka_unit_test(test_presets_nrf),
        cmocka_unit_test(test_presets_retail),
        cmocka_unit_test(test_presets_months),
        cmocka_unit_test(test_preset_bad_input),
        cmocka_unit_test(test_working_days),
        cmocka_unit_test(test_china_schedules),
        cmocka_unit_test(test_property_working_days),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_bad_queries),
        cmocka_unit_test(test_fault_loop),
    };
    return cmocka_run_group_tests_name("calendar", tests, NULL, NULL);
}
