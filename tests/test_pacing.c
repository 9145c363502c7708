/* Pacing: expected-to-date, run-rate projections and status, worked by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

#define PCT(x) ((sp_dec)((x) * 10000000))

static sp_calendar *calendar(sp_ctx *ctx, uint32_t weekend)
{
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    o.weekend = weekend;
    sp_calendar *cal = NULL;
    assert_int_equal(sp_calendar_new(&cal, ctx, &o), SP_OK);
    return cal;
}

static const sp_dec quarters[4] = { PCT(25), PCT(25), PCT(25), PCT(25) };

/* sp_pacing with the calendar, year, grain and day given beside the other options, as the
 * cases below read best. */
static int pace(sp_ctx *ctx, const sp_calendar *cal, int32_t fiscal_year, uint32_t grain,
                int32_t elapsed_end, const int64_t *target, const int64_t *actual, size_t n,
                const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                const sp_pacing_options *opts, int64_t *expected, int64_t *projection,
                int32_t *status)
{
    sp_pacing_options o = SP_PACING_OPTIONS_INIT;
    if (opts != NULL)
        o = *opts;
    if (o.version == SP_PACING_OPTIONS_VERSION) {
        o.calendar = cal;
        o.fiscal_year = fiscal_year;
        o.grain = grain;
        o.elapsed_end = elapsed_end;
    }
    sp_pacing_output out = { SP_PACING_OUTPUT_VERSION, expected, projection, status };
    return sp_pacing(ctx, target, actual, n, profiles, nprofiles, nperiods, &o, &out);
}

static void test_pacing_by_days(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = calendar(ctx, 0);
    /*
     * FY2026 by quarters at 25 % each, every day counted, on the days before 2026-05-16.
     * Q1 has passed; of Q2 (April 1 .. June 30, 91 days) 30 + 15 = 45 days have: the
     * expected fraction is 0.25 + 0.25 x 45 / 91 = 34 / 91. Of a 1,000,000 target that is
     * 373,626.37 -> 373,626. The band of +-5 % is 354,944.7 .. 392,307.3.
     * Projections of 400,000: by the profile 400,000 x 91 / 34 = 1,070,588.24 -> 1,070,588;
     * linear, 135 of 365 days (31 + 28 + 31 + 30 + 15): 1,081,481.48 -> 1,081,481.
     */
    int64_t target[6] = { 1000000, 1000000, 1000000, 1000000, 1000000, 1000000 };
    int64_t actual[6] = { 400000, 392307, 392308, 354945, 354944, 0 };
    int64_t expected[6], projection[6];
    int32_t status[6];
    sp_pacing_options o = SP_PACING_OPTIONS_INIT;
    o.threshold = PCT(5);
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 16), target,
                          actual, 6, quarters, 1, 4, &o, expected, projection, status),
                     SP_OK);
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(expected[i], 373626);
    assert_int_equal(projection[0], 1070588);
    assert_int_equal(status[0], SP_PACE_AHEAD);
    assert_int_equal(status[1], SP_PACE_ON_TRACK);
    assert_int_equal(status[2], SP_PACE_AHEAD);
    assert_int_equal(status[3], SP_PACE_ON_TRACK);
    assert_int_equal(status[4], SP_PACE_BEHIND);
    assert_int_equal(status[5], SP_PACE_BEHIND);
    assert_int_equal(projection[5], 0);

    o.projection = SP_PROJECT_LINEAR;
    o.rounding = SP_ROUND_CEILING;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 16), target,
                          actual, 1, quarters, 1, 4, &o, expected, projection, NULL),
                     SP_OK);
    assert_int_equal(expected[0], 373627);
    assert_int_equal(projection[0], 1081482);
    /* Threshold 0: any difference counts. */
    o = (sp_pacing_options)SP_PACING_OPTIONS_INIT;
    int64_t exact = 373626;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 16), target,
                          &exact, 1, quarters, 1, 4, &o, NULL, NULL, status),
                     SP_OK);
    assert_int_equal(status[0], SP_PACE_ON_TRACK);
    exact++;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 16), target,
                          &exact, 1, quarters, 1, 4, &o, NULL, NULL, status),
                     SP_OK);
    assert_int_equal(status[0], SP_PACE_AHEAD);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

static void test_pacing_by_working_days(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = calendar(ctx, SP_SATURDAY | SP_SUNDAY);
    /*
     * The same day, counting working days (Monday to Friday). Q2 2026 has 22 + 21 + 22 = 65;
     * before May 16: April's 22 and May 1 (a Friday), 4-8, 11-15: 33. Expected fraction
     * 0.25 + 0.25 x 33 / 65 = 98 / 260, of 1,000,000: 376,923.08 -> 376,923.
     * Linear: 97 of the year's 261 working days (22 + 20 + 22 + 22 + 11): 400,000 x 261 / 97
     * = 1,076,288.66 -> 1,076,289.
     */
    int64_t target = 1000000, actual = 400000, expected, projection;
    sp_pacing_options o = SP_PACING_OPTIONS_INIT;
    o.elapsed = SP_ELAPSED_WORKING_DAYS;
    o.projection = SP_PROJECT_LINEAR;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 16), &target,
                          &actual, 1, quarters, 1, 4, &o, &expected, &projection, NULL),
                     SP_OK);
    assert_int_equal(expected, 376923);
    assert_int_equal(projection, 1076289);
    /* A Saturday adds nothing: the same figures on the days before Sunday May 17. */
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 5, 18), &target,
                          &actual, 1, quarters, 1, 4, &o, &expected, &projection, NULL),
                     SP_OK);
    assert_int_equal(expected, 376923);

    /* Weighted by working days as a split would be: equal quarterly shares times the
     * quarters' working days, 22 + 20 + 22 = 64, 22 + 21 + 22 = 65, 23 + 21 + 22 = 66 and
     * 22 + 21 + 23 = 66 (261 in all). On the days before April 1 the expected fraction is
     * Q1's normalised share. */
    o = (sp_pacing_options)SP_PACING_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    o.weighting = SP_TIME_WEIGHT_WORKING_DAYS;
    target = 261000000;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 4, 1), &target,
                          &actual, 1, quarters, 1, 4, &o, &expected, NULL, NULL),
                     SP_OK);
    /* shares by largest remainder of 10^9 over 64:65:66:66 -> 245210727.97, 249042145.59,
     * 252873563.22 (twice): floors sum to 999999998, the two units to .97 and .59; Q1's
     * share 245210728 of 261,000,000 = 64,000,000.008 -> 64,000,000. */
    assert_int_equal(expected, 64000000);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

static void test_pacing_edges(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = calendar(ctx, 0);
    int64_t target[2] = { 1000, 1000 }, actual[2] = { 0, 5 }, expected[2], projection[2];
    int32_t status[2];
    /* Before the year: nothing expected, nothing to extrapolate from. */
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_MONTH, spt_day(2025, 6, 1), target, actual,
                          2, (sp_dec[]){ 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 }, 1, 12,
                          &(sp_pacing_options){ .version = 1, .policy = SP_PROFILE_NORMALISE },
                          expected, projection, status),
                     SP_OK);
    assert_int_equal(expected[0], 0);
    assert_int_equal(projection[1], 5);
    assert_int_equal(status[0], SP_PACE_ON_TRACK);
    assert_int_equal(status[1], SP_PACE_AHEAD);
    /* After the year: the whole target is expected and the projection is the actual. */
    actual[1] = 990;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2027, 3, 1), target,
                          actual, 2, quarters, 1, 4, NULL, expected, projection, status),
                     SP_OK);
    assert_int_equal(expected[1], 1000);
    assert_int_equal(projection[1], 990);
    assert_int_equal(status[1], SP_PACE_BEHIND);
    /* Two profiles: node 1 expects everything in Q1; at April 1 it should be complete. */
    const sp_dec two[8] = { PCT(25), PCT(25), PCT(25), PCT(25), PCT(100), 0, 0, 0 };
    sp_pacing_options o = SP_PACING_OPTIONS_INIT;
    o.profile_of = (uint32_t[]){ 0, 1 };
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_QUARTER, spt_day(2026, 4, 1), target,
                          actual, 2, two, 2, 4, &o, expected, projection, status),
                     SP_OK);
    assert_int_equal(expected[0], 250);
    assert_int_equal(expected[1], 1000);
    assert_int_equal(projection[1], 990);
    sp_calendar_free(cal);

    /* The NRF calendar by weeks, an even profile normalised: 10^9 / 52 = 19230769 r 12, so
     * the first twelve weeks get 19230770. After 13 weeks the expected share is 12 x
     * 19230770 + 19230769 = 250000009, of 5,200,000: 1,300,000.05 -> 1,300,000. */
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.kind = SP_CALENDAR_RETAIL_454;
    co.start_month = 2;
    co.label = SP_FISCAL_LABEL_START;
    co.year_end_weekday = 6;
    co.year_end_rule = SP_YEAR_END_NEAREST;
    assert_int_equal(sp_calendar_new(&cal, ctx, &co), SP_OK);
    sp_dec weekly[52];
    for (size_t p = 0; p < 52; p++)
        weekly[p] = 1;
    o = (sp_pacing_options)SP_PACING_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    target[0] = 5200000;
    assert_int_equal(pace(ctx, cal, 2024, SP_GRAIN_WEEK, spt_day(2024, 2, 4) + 91, target,
                          actual, 1, weekly, 1, 52, &o, expected, NULL, NULL),
                     SP_OK);
    assert_int_equal(expected[0], 1300000);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

static void test_pacing_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal = calendar(ctx, 0);
    int64_t target[2] = { 1000, -5 }, actual[2] = { 0, 0 };
    int64_t expected[2] = { 7, 7 }, projection[2] = { 7, 7 };
    int32_t status[2] = { 7, 7 };
    int32_t day = spt_day(2026, 5, 16);
    struct {
        const char *what;
        sp_pacing_options o;
        const sp_calendar *cal;
        uint32_t grain;
        size_t nperiods;
        int rc;
        const char *msg;
    } cases[] = {
        { "negative target", SP_PACING_OPTIONS_INIT, cal, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: target[1] = -5 is negative" },
        { "no calendar", SP_PACING_OPTIONS_INIT, NULL, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: calendar is NULL" },
        { "profile length", SP_PACING_OPTIONS_INIT, cal, SP_GRAIN_MONTH, 4, SP_EINVAL,
          "pacing: the profiles have 4 periods, but FY2026 of the calendar has 12 at grain 3" },
        /* pace() fills in the calendar, year, grain and day of the options of version 1. */
        { "threshold", { .version = 1, .threshold = -1 }, cal, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: threshold -1 is negative" },
        { "rounding", { .version = 1, .rounding = 7 }, cal, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: rounding 7 is not an sp_rounding (0 to 6)" },
        { "elapsed", { .version = 1, .elapsed = 2 }, cal, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: elapsed 2 is not an sp_elapsed_measure (0 or 1)" },
        { "projection", { .version = 1, .projection = 2 }, cal, SP_GRAIN_QUARTER, 4, SP_EINVAL,
          "pacing: projection 2 is not an sp_projection_method (0 or 1)" },
        { "profile_of", { .version = 1, .profile_of = (uint32_t[]){ 0, 1 } }, cal,
          SP_GRAIN_QUARTER, 4, SP_EINVAL, "pacing: profile_of[1] = 1, but there are 1 profiles" },
        { "version", { .version = 2 }, cal, SP_GRAIN_QUARTER, 4, SP_EVERSION,
          "sp_pacing_options: version 2 is not supported (this library knows 1 to 1)" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = pace(ctx, cases[i].cal, 2026, cases[i].grain, day, target, actual, 2,
                      quarters, 1, cases[i].nperiods, &cases[i].o, expected, projection,
                      status);
        if (rc != cases[i].rc || strcmp(sp_ctx_errmsg(ctx), cases[i].msg) != 0)
            fail_msg("%s: rc %d, \"%s\"", cases[i].what, rc, sp_ctx_errmsg(ctx));
    }
    /* A projection beyond int64_t: everything sold on day one of an even year by months. */
    target[1] = 1000;
    actual[1] = INT64_MAX / 2;
    sp_dec months[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    sp_pacing_options o = SP_PACING_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_MONTH, spt_day(2026, 1, 2), target, actual,
                          2, months, 1, 12, &o, expected, projection, status),
                     SP_EOVERFLOW);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "pacing: node 1: the projection of 4611686018427387903 overflows");
    assert_int_equal(pace(ctx, cal, 2026, SP_GRAIN_MONTH, day, NULL, actual, 2, months, 1,
                          12, &o, expected, projection, status),
                     SP_EINVAL);
    assert_int_equal(pace(NULL, cal, 2026, SP_GRAIN_MONTH, day, target, actual, 2, months, 1,
                          12, &o, expected, projection, status),
                     SP_EINVAL);
    /* The calendar, year and grain are options: without them there is nothing to pace by. */
    assert_int_equal(sp_pacing(ctx, target, actual, 2, months, 1, 12, NULL, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "pacing: calendar is NULL");
    sp_pacing_output bad_out = { 0, expected, NULL, NULL };
    o.calendar = cal;
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_MONTH;
    assert_int_equal(sp_pacing(ctx, target, actual, 2, months, 1, 12, &o, &bad_out), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "sp_pacing_output: version 0 is not supported (this library knows 1 to 1)");
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(expected[i], 7);
        assert_int_equal(projection[i], 7);
        assert_int_equal(status[i], 7);
    }
    sp_pacing_options init;
    assert_int_equal(sp_pacing_options_init(&init, SP_PACING_OPTIONS_VERSION), SP_OK);
    assert_int_equal(init.threshold, 0);
    assert_int_equal(init.rounding, SP_ROUND_HALF_EVEN);
    assert_int_equal(sp_pacing_options_init(&init, 0), SP_EVERSION);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

typedef struct pacing_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_calendar *cal;
    int64_t target, actual, expected;
} pacing_fault;

static int run_pacing(void *user)
{
    pacing_fault *f = user;
    return pace(f->ctx, f->cal, 2026, SP_GRAIN_QUARTER, 20454 + 90, &f->target, &f->actual,
                1, quarters, 1, 4, NULL, &f->expected, NULL, NULL);
}

static void undo_pacing(void *user)
{
    pacing_fault *f = user;
    assert_int_equal(f->expected, 250); /* the days before April 1: the first quarter */
    f->expected = -1;
}

static void check_pacing_unchanged(void *user)
{
    assert_int_equal(((pacing_fault *)user)->expected, -1);
}

static size_t live_pacing(void *user)
{
    return ((pacing_fault *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    pacing_fault f = { .target = 1000, .actual = 10, .expected = -1 };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    f.cal = calendar(f.ctx, 0);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_pacing", run_pacing, undo_pacing, check_pacing_unchanged,
                          live_pacing, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_int_equal(spt_fault_loop(&fc, &inj), 2); /* the weights, the shares */
    sp_calendar_free(f.cal);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pacing_by_days),
        cmocka_unit_test(test_pacing_by_working_days),
        cmocka_unit_test(test_pacing_edges),
        cmocka_unit_test(test_pacing_bad_input),
        cmocka_unit_test(test_fault_loop),
    };
    return cmocka_run_group_tests_name("pacing", tests, NULL, NULL);
}
