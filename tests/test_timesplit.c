/* Splitting annual amounts over time, and re-planning mid-year: worked examples by hand,
 * properties against sp_allocate called row by row, bad input, allocation failures. */
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

static void expect_row(const int64_t *got, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("[%zu]: got %lld, expected %lld", i, (long long)got[i], (long long)want[i]);
}

static void expect_untouched(const int64_t *v, size_t n, int64_t fill)
{
    for (size_t i = 0; i < n; i++)
        assert_int_equal(v[i], fill);
}

/* ---- the split ---- */

static void test_split_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[24];
    /* 1,000.00 by 8 % for ten months and 10 % for the last two: 80.00 and 100.00. */
    sp_dec profile[12];
    for (size_t p = 0; p < 12; p++)
        profile[p] = p < 10 ? PCT(8) : PCT(10);
    int64_t annual[2] = { 100000, 0 };
    assert_int_equal(sp_timesplit(ctx, annual, 1, profile, 1, 12, NULL, out), SP_OK);
    expect_row(out, (int64_t[]){ 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000, 8000,
                                 10000, 10000 },
               12);

    /* 100 by thirds given as 33.3333333 %, 33.3333333 %, 33.3333334 %: exact shares 33.33,
     * 33.33, 33.33(34); floors 33 33 33, the unit left to the largest remainder, the third. */
    const sp_dec thirds[3] = { 333333333, 333333333, 333333334 };
    annual[0] = 100;
    assert_int_equal(sp_timesplit(ctx, annual, 1, thirds, 1, 3, NULL, out), SP_OK);
    expect_row(out, (int64_t[]){ 33, 33, 34 }, 3);

    /* A held-cell spread: a quarter of 20/20/20 raised from 60 to 100 with the middle month
     * held at 20: the other two take 80 by their equal shares, 40 each. */
    const sp_dec even3[3] = { PCT(20), PCT(20), PCT(20) };
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    o.held = (uint8_t[]){ 0, 1, 0 };
    o.held_value = (int64_t[]){ 0, 20, 0 };
    assert_int_equal(sp_timesplit(ctx, annual, 1, even3, 1, 3, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 40, 20, 40 }, 3);

    /* A rounding unit: 1,234,567 in thousands over an even year: 1234 thousands / 12 = 102
     * r 10 -> 103000 for the first ten months, 102000 for the last two; the 567 below the
     * unit goes to the largest month, the first on a tie. */
    const sp_dec ones[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    o = (sp_timesplit_options)SP_TIMESPLIT_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    o.unit = 1000;
    annual[0] = 1234567;
    assert_int_equal(sp_timesplit(ctx, annual, 1, ones, 1, 12, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 103567, 103000, 103000, 103000, 103000, 103000, 103000, 103000,
                                 103000, 103000, 102000, 102000 },
               12);

    /* Two nodes, two profiles: node 0 by profile 1 (all in the first quarter), node 1 by
     * profile 0 (even); a negative amount mirrors a positive one. */
    const sp_dec two[8] = { PCT(25), PCT(25), PCT(25), PCT(25), PCT(100), 0, 0, 0 };
    o = (sp_timesplit_options)SP_TIMESPLIT_OPTIONS_INIT;
    o.profile_of = (uint32_t[]){ 1, 0 };
    annual[0] = 999;
    annual[1] = -10;
    assert_int_equal(sp_timesplit(ctx, annual, 2, two, 2, 4, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 999, 0, 0, 0, -3, -3, -2, -2 }, 8);
    sp_ctx_free(ctx);
}

static void test_split_working_days(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.weekend = SP_SATURDAY | SP_SUNDAY;
    sp_calendar *cal = NULL;
    assert_int_equal(sp_calendar_new(&cal, ctx, &co), SP_OK);
    /* 2026 starts on a Thursday; its months have 22 20 22 22 21 22 23 21 22 22 21 23 weekdays
     * (261 in all). An even profile weighted by working days splits 261,000 by them. */
    const sp_dec ones[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    o.calendar = cal;
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_MONTH;
    o.weighting = SP_TIME_WEIGHT_WORKING_DAYS;
    int64_t annual = 261000, out[12];
    assert_int_equal(sp_timesplit(ctx, &annual, 1, ones, 1, 12, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 22000, 20000, 22000, 22000, 21000, 22000, 23000, 21000, 22000,
                                 22000, 21000, 23000 },
               12);
    /* Share x working days: a first half twice as intense per working day as the second:
     * weights 2 x (22 20 22 22 21 22) = 258 and 1 x (23 21 22 22 21 23) = 132, 390 in all.
     * 390,000 splits as 44000 40000 44000 44000 42000 44000 | 23000 21000 22000 22000 21000
     * 23000. */
    const sp_dec halves[12] = { 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1 };
    annual = 390000;
    assert_int_equal(sp_timesplit(ctx, &annual, 1, halves, 1, 12, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 44000, 40000, 44000, 44000, 42000, 44000, 23000, 21000, 22000,
                                 22000, 21000, 23000 },
               12);
    /* Without the weighting the calendar only checks the number of periods. */
    o.weighting = SP_TIME_WEIGHT_PROFILE;
    annual = 1200;
    assert_int_equal(sp_timesplit(ctx, &annual, 1, ones, 1, 12, &o, out), SP_OK);
    expect_row(out, (int64_t[]){ 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 100 }, 12);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* Every row equals sp_allocate of that row; rows sum exactly; scaling a profile changes
 * nothing; held periods keep their values. */
static void test_property_split(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 31 };
    enum { NODES = 40, MAXP = 70 };
    static sp_dec profiles[3 * MAXP], scaled[3 * MAXP];
    static int64_t annual[NODES], out[NODES * MAXP], again[NODES * MAXP], row[MAXP];
    static int64_t held_value[NODES * MAXP];
    static uint8_t held[NODES * MAXP];
    static uint32_t profile_of[NODES];
    for (unsigned it = 0; it < spt_iterations(600); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, it % 3 == 0 ? MAXP : 13);
        size_t nprof = (size_t)spt_rng_range(&rng, 1, 3);
        size_t nodes = (size_t)spt_rng_range(&rng, 0, NODES);
        for (size_t k = 0; k < nprof; k++) {
            for (size_t p = 0; p < n; p++)
                profiles[k * n + p] = spt_rng_chance(&rng, 10) ? 0 : spt_rng_range(&rng, 1, 90000000);
            profiles[k * n] += 1; /* never all zero */
        }
        bool with_held = spt_rng_chance(&rng, 40);
        for (size_t i = 0; i < nodes; i++) {
            annual[i] = spt_rng_range(&rng, -1000000000, 1000000000);
            profile_of[i] = (uint32_t)spt_rng_range(&rng, 0, (int64_t)nprof - 1);
            for (size_t p = 0; p < n; p++) {
                held[i * n + p] = with_held && p > 0 && spt_rng_chance(&rng, 15);
                held_value[i * n + p] = annual[i] / (int64_t)(4 * n);
            }
        }
        sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
        o.policy = SP_PROFILE_NORMALISE;
        o.profile_of = profile_of;
        o.unit = spt_rng_chance(&rng, 20) ? 100 : 0;
        if (with_held) {
            o.held = held;
            o.held_value = held_value;
        }
        int rc = sp_timesplit(ctx, annual, nodes, profiles, nprof, n, &o, out);
        if (rc != SP_OK)
            fail_msg("case %u: %s", it, sp_ctx_errmsg(ctx));
        for (size_t i = 0; i < nodes; i++) {
            sp_alloc_options ao = SP_ALLOC_OPTIONS_INIT;
            ao.unit = o.unit;
            if (with_held) {
                ao.locked = held + i * n;
                ao.locked_value = held_value + i * n;
            }
            assert_int_equal(sp_allocate(ctx, annual[i], profiles + profile_of[i] * n, n, &ao, row),
                             SP_OK);
            expect_row(out + i * n, row, n);
            int64_t sum = 0;
            for (size_t p = 0; p < n; p++) {
                sum += out[i * n + p];
                if (with_held && held[i * n + p])
                    assert_int_equal(out[i * n + p], held_value[i * n + p]);
            }
            assert_int_equal(sum, annual[i]);
        }
        int64_t c = spt_rng_range(&rng, 2, 50);
        for (size_t k = 0; k < nprof * n; k++)
            scaled[k] = profiles[k] * c;
        assert_int_equal(sp_timesplit(ctx, annual, nodes, scaled, nprof, n, &o, again), SP_OK);
        expect_row(again, out, nodes * n);
    }
    sp_ctx_free(ctx);
}

static void test_split_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.kind = SP_CALENDAR_RETAIL_454;
    co.start_month = 2;
    co.label = SP_FISCAL_LABEL_START;
    co.year_end_weekday = 6;
    co.year_end_rule = SP_YEAR_END_NEAREST;
    sp_calendar *nrf = NULL;
    assert_int_equal(sp_calendar_new(&nrf, ctx, &co), SP_OK);
    sp_dec weekly[52];
    for (size_t p = 0; p < 52; p++)
        weekly[p] = 1;
    const sp_dec q[4] = { PCT(25), PCT(25), PCT(25), PCT(25) };
    int64_t annual[2] = { 100, 200 }, out[2 * 52];
    for (size_t i = 0; i < 2 * 52; i++)
        out[i] = -7;
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;

    /* A 52-week profile for FY2023, a 53-week year. */
    o.policy = SP_PROFILE_NORMALISE;
    o.calendar = nrf;
    o.fiscal_year = 2023;
    o.grain = SP_GRAIN_WEEK;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, weekly, 1, 52, &o, out), SP_EINVAL,
                     "timesplit: the profiles have 52 periods, but FY2023 of the calendar has 53 "
                     "at grain 4");
    o.fiscal_year = 2024;
    assert_int_equal(sp_timesplit(ctx, annual, 1, weekly, 1, 52, &o, out), SP_OK);
    for (size_t i = 0; i < 2 * 52; i++)
        out[i] = -7;

    o = (sp_timesplit_options)SP_TIMESPLIT_OPTIONS_INIT;
    const sp_dec short_sum[4] = { PCT(25), PCT(25), PCT(25), PCT(24.5) };
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, short_sum, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: profiles[0]: the shares sum to 99.5%, not 100%");
    const sp_dec two[8] = { PCT(25), PCT(25), PCT(25), PCT(25), PCT(50), PCT(-10), PCT(30),
                            PCT(30) };
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, two, 2, 4, &o, out), SP_EINVAL,
                     "timesplit: profiles[1][1] = -10% is negative");
    o.profile_of = (uint32_t[]){ 0, 2 };
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: profile_of[1] = 2, but there are 1 profiles");
    o.profile_of = NULL;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 0, &o, out), SP_EINVAL,
                     "timesplit: there are no periods");
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 0, 4, &o, out), SP_EINVAL,
                     "timesplit: there are no profiles");
    o.weighting = SP_TIME_WEIGHT_WORKING_DAYS;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: weighting by working days needs a calendar");
    o.weighting = 5;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: weighting 5 is not an sp_time_weighting (0 or 1)");
    o.weighting = 0;
    o.unit = -1;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: unit -1 is negative");
    o.unit = 0;
    o.held = (uint8_t[]){ 0, 0, 0, 0, 1, 1, 0, 0 };
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: held is set but held_value is NULL");
    /* Node 1 holds 150 + 100 of its 200: beyond it. */
    o.held_value = (int64_t[]){ 0, 0, 0, 0, 150, 100, 0, 0 };
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: node 1: locked parts sum to 250, beyond the total 200");
    o.held = NULL;
    o.held_value = NULL;
    annual[1] = INT64_MIN;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EOVERFLOW,
                     "timesplit: annual[1] is INT64_MIN");
    annual[1] = 200;
    o.calendar = nrf;
    o.fiscal_year = 0;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EINVAL,
                     "timesplit: fiscal year 0 is outside 1 to 9999");
    o.calendar = NULL;
    o.version = 3;
    spt_expect_error(ctx, sp_timesplit(ctx, annual, 2, q, 1, 4, &o, out), SP_EVERSION,
                     "sp_timesplit_options: version 3 is not supported (this library knows 1 to 1)");
    spt_expect_error(ctx, sp_timesplit(ctx, NULL, 2, q, 1, 4, NULL, out), SP_EINVAL,
                     "timesplit: annual is NULL");
    assert_int_equal(sp_timesplit(NULL, annual, 2, q, 1, 4, NULL, out), SP_EINVAL);
    expect_untouched(out, 2 * 52, -7);
    /* No nodes: nothing to do, but the profiles are still checked. */
    assert_int_equal(sp_timesplit(ctx, NULL, 0, q, 1, 4, NULL, NULL), SP_OK);
    sp_calendar_free(nrf);
    sp_ctx_free(ctx);
}

/* ---- re-plan ---- */

/* sp_replan with the closed periods and the outputs given as the cases below read best. */
static int replan(sp_ctx *ctx, const int64_t *target, const int64_t *actual, size_t n,
                  size_t closed, const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                  const sp_replan_options *opts, int64_t *rows, int64_t *excess)
{
    sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
    if (opts != NULL)
        o = *opts;
    o.closed = closed;
    sp_replan_output out = { SP_REPLAN_OUTPUT_VERSION, rows, excess };
    return sp_replan(ctx, target, actual, n, profiles, nprofiles, nperiods, &o, &out);
}

static void test_replan_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const sp_dec ones[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    int64_t out[12], excess = -1;
    /* 1200 for the year; the first quarter closed at 50 + 80 + 120 = 250. The 950 left over
     * nine even months: 105 each and 5 left, one each to the first five open months. */
    int64_t target = 1200, actual[12] = { 50, 80, 120, 999, 999, 999, 999, 999, 999, 999, 999, 999 };
    assert_int_equal(replan(ctx, &target, actual, 1, 3, ones, 1, 12, &o, out, &excess), SP_OK);
    expect_row(out, (int64_t[]){ 50, 80, 120, 106, 106, 106, 106, 106, 105, 105, 105, 105 }, 12);
    assert_int_equal(excess, 0);

    /* Held open period: 1000 over four even periods, period 0 closed at 300, period 2 held
     * at 100: 600 left for periods 1 and 3, 300 each. */
    const sp_dec q[4] = { PCT(25), PCT(25), PCT(25), PCT(25) };
    o = (sp_replan_options)SP_REPLAN_OPTIONS_INIT;
    o.held = (uint8_t[]){ 1, 0, 1, 0 }; /* the hold on closed period 0 is ignored */
    o.held_value = (int64_t[]){ 5, 0, 100, 0 };
    target = 1000;
    int64_t act4[4] = { 300, 0, 0, 0 };
    assert_int_equal(replan(ctx, &target, act4, 1, 1, q, 1, 4, &o, out, &excess), SP_OK);
    expect_row(out, (int64_t[]){ 300, 300, 100, 300 }, 4);

    /* Above target already: 500 with 300 + 250 closed. The open periods get 0 (the held
     * one keeps 100) and the excess is 550 + 100 - 500 = 150. */
    target = 500;
    act4[1] = 250;
    assert_int_equal(replan(ctx, &target, act4, 1, 2, q, 1, 4, &o, out, &excess), SP_OK);
    expect_row(out, (int64_t[]){ 300, 250, 100, 0 }, 4);
    assert_int_equal(excess, 150);
    /* The same under SP_OVERSHOOT_KEEP_PLAN: the open periods keep the original plan, 500
     * with period 0 held at 5 and period 2 at 100: 395 over periods 1 and 3 -> 198, 197. */
    o.overshoot = SP_OVERSHOOT_KEEP_PLAN;
    assert_int_equal(replan(ctx, &target, act4, 1, 2, q, 1, 4, &o, out, &excess), SP_OK);
    expect_row(out, (int64_t[]){ 300, 250, 100, 197 }, 4);
    assert_int_equal(excess, 150);

    /* Every period closed: the row is the actuals. */
    o = (sp_replan_options)SP_REPLAN_OPTIONS_INIT;
    int64_t done[4] = { 100, 100, 100, 250 };
    target = 500;
    assert_int_equal(replan(ctx, &target, done, 1, 4, q, 1, 4, &o, out, &excess), SP_OK);
    expect_row(out, done, 4);
    assert_int_equal(excess, 50);
    /* Nothing closed: the split itself. Negative actuals (returns) leave more to spread. */
    int64_t none[4] = { 0 };
    target = 400;
    assert_int_equal(replan(ctx, &target, none, 1, 0, q, 1, 4, &o, out, NULL), SP_OK);
    expect_row(out, (int64_t[]){ 100, 100, 100, 100 }, 4);
    int64_t refunds[4] = { -40, 0, 0, 0 };
    assert_int_equal(replan(ctx, &target, refunds, 1, 1, q, 1, 4, &o, out, NULL), SP_OK);
    expect_row(out, (int64_t[]){ -40, 147, 147, 146 }, 4);
    sp_ctx_free(ctx);
}

static void test_property_replan(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 32 };
    enum { NODES = 30, P = 12 };
    static sp_dec profile[P];
    static int64_t target[NODES], actual[NODES * P], out[NODES * P], excess[NODES];
    for (unsigned it = 0; it < spt_iterations(500); it++) {
        for (size_t p = 0; p < P; p++)
            profile[p] = spt_rng_range(&rng, 1, 1000);
        size_t closed = (size_t)spt_rng_range(&rng, 0, P), nodes = (size_t)spt_rng_range(&rng, 1, NODES);
        for (size_t i = 0; i < nodes; i++) {
            target[i] = spt_rng_range(&rng, 0, 1200000);
            for (size_t p = 0; p < P; p++)
                actual[i * P + p] = spt_rng_range(&rng, -1000, 150000);
        }
        sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
        o.policy = SP_PROFILE_NORMALISE;
        o.overshoot = (uint32_t)(it % 2);
        assert_int_equal(replan(ctx, target, actual, nodes, closed, profile, 1, P, &o, out,
                                excess),
                         SP_OK);
        for (size_t i = 0; i < nodes; i++) {
            int64_t to_date = 0, sum = 0;
            for (size_t p = 0; p < closed; p++) {
                assert_int_equal(out[i * P + p], actual[i * P + p]);
                to_date += actual[i * P + p];
            }
            for (size_t p = 0; p < P; p++)
                sum += out[i * P + p];
            if (to_date <= target[i] && closed < P) {
                /* What remains is spread: the row meets the target, no period negative. */
                assert_int_equal(sum, target[i]);
                assert_int_equal(excess[i], 0);
                for (size_t p = closed; p < P; p++)
                    assert_true(out[i * P + p] >= 0);
            } else if (closed < P) {
                assert_int_equal(excess[i], to_date - target[i]);
                if (o.overshoot == SP_OVERSHOOT_ZERO)
                    assert_int_equal(sum, to_date);
                else
                    assert_true(sum >= to_date);
            } else {
                assert_int_equal(excess[i], to_date > target[i] ? to_date - target[i] : 0);
            }
        }
    }
    sp_ctx_free(ctx);
}

static void test_replan_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const sp_dec q[4] = { PCT(50), PCT(50), 0, 0 };
    int64_t target[2] = { 100, 1000 }, actual[8] = { 10, 10, 0, 0, 100, 100, 0, 0 };
    int64_t out[8], excess[2] = { -3, -3 };
    for (size_t i = 0; i < 8; i++)
        out[i] = -3;
    sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 2, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: node 0: 80 remains, but its profile gives the open periods 2 to 3 no "
                     "weight");
    target[0] = -1;
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 1, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: target[0] = -1 is negative");
    target[0] = 100;
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 5, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: 5 closed periods, but there are 4");
    o.overshoot = 2;
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 1, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: overshoot 2 is not an sp_overshoot_policy (0 or 1)");
    o.overshoot = SP_OVERSHOOT_KEEP_PLAN;
    o.held = (uint8_t[]){ 0, 0, 1, 0, 0, 0, 0, 0 };
    o.held_value = (int64_t[]){ 0, 0, 500, 0, 0, 0, 0, 0 };
    /* Node 0 closed at 20 of 100 with 500 held: beyond the target, and its original plan
     * cannot hold 500 within 100 either. */
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 2, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: node 0: locked parts sum to 500, beyond the total 100");
    actual[4] = INT64_MAX;
    target[0] = 20; /* node 0 meets its target exactly: nothing left to spread */
    o.held = NULL;
    o.held_value = NULL;
    spt_expect_error(ctx, replan(ctx, target, actual, 2, 2, q, 1, 4, &o, out, excess),
                     SP_EOVERFLOW, "replan: node 1: the actuals overflow at period 1");
    spt_expect_error(ctx, replan(ctx, target, NULL, 2, 2, q, 1, 4, &o, out, excess), SP_EINVAL,
                     "replan: actual is NULL");
    /* INT64_MAX remains and a held credit of -1 would leave more than int64_t for the rest. */
    int64_t big = INT64_MAX, zeros[4] = { 0 };
    o.held = (uint8_t[]){ 0, 1, 0, 0 };
    o.held_value = (int64_t[]){ 0, -1, 0, 0 };
    spt_expect_error(ctx, replan(ctx, &big, zeros, 1, 0, q, 1, 4, &o, out, excess), SP_EOVERFLOW,
                     "replan: node 0: what remains less the held values overflows");
    /* The outputs are a struct: it and its rows are required. */
    o = (sp_replan_options)SP_REPLAN_OPTIONS_INIT;
    spt_expect_error(ctx, sp_replan(ctx, target, actual, 2, q, 1, 4, &o, NULL), SP_EINVAL,
                     "replan: out is NULL");
    sp_replan_output no_rows = { SP_REPLAN_OUTPUT_VERSION, NULL, excess };
    spt_expect_error(ctx, sp_replan(ctx, target, actual, 2, q, 1, 4, &o, &no_rows), SP_EINVAL,
                     "replan: out->rows is NULL");
    sp_replan_output newer = { SP_REPLAN_OUTPUT_VERSION + 1, out, excess };
    spt_expect_error(ctx, sp_replan(ctx, target, actual, 2, q, 1, 4, &o, &newer), SP_EVERSION,
                     "sp_replan_output: version 2 is not supported (this library knows 1 to 1)");
    expect_untouched(out, 8, -3);
    expect_untouched(excess, 2, -3);
    sp_replan_options ro;
    assert_int_equal(sp_replan_options_init(&ro, SP_REPLAN_OPTIONS_VERSION), SP_OK);
    assert_int_equal(ro.overshoot, 0);
    assert_int_equal(sp_replan_options_init(NULL, 1), SP_EINVAL);
    sp_timesplit_options so;
    assert_int_equal(sp_timesplit_options_init(&so, SP_TIMESPLIT_OPTIONS_VERSION), SP_OK);
    assert_null(so.calendar);
    assert_int_equal(sp_timesplit_options_init(&so, 0), SP_EVERSION);
    sp_ctx_free(ctx);
}

/* ---- allocation failures: 100 periods need heap scratch ---- */

#define FP 100

typedef struct split_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_dec profile[FP];
    int64_t annual[2], actual[2 * FP], out[2 * FP], held_value[2 * FP];
    uint8_t held[2 * FP];
    bool replan;
} split_fault;

static int run_split(void *user)
{
    split_fault *f = user;
    if (f->replan) {
        sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
        o.held = f->held;
        o.held_value = f->held_value;
        return replan(f->ctx, f->annual, f->actual, 2, 10, f->profile, 1, FP, &o, f->out, NULL);
    }
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.held = f->held;
    o.held_value = f->held_value;
    return sp_timesplit(f->ctx, f->annual, 2, f->profile, 1, FP, &o, f->out);
}

static void undo_split(void *user)
{
    split_fault *f = user;
    /* Split: node 0 gets 10000 by 1 % shares, 100 each; node 1 holds period 50 at 100 and
     * spreads 9900 over 99 periods, 100 each. Re-plan: 10 periods closed at 100 each, 9000
     * left over the other 90 (node 1: 8900 over 89 besides the held one): 100 each again. */
    for (size_t i = 0; i < 2 * FP; i++) {
        assert_int_equal(f->out[i], 100);
        f->out[i] = -1;
    }
}

static void check_split_unchanged(void *user)
{
    split_fault *f = user;
    expect_untouched(f->out, 2 * FP, -1);
}

static size_t live_split(void *user)
{
    return ((split_fault *)user)->alloc.live_blocks;
}

static void test_fault_loops(void **state)
{
    (void)state;
    static split_fault f;
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    f.annual[0] = f.annual[1] = 10000;
    for (size_t p = 0; p < FP; p++)
        f.profile[p] = SP_DEC_ONE / FP;
    for (size_t i = 0; i < 2 * FP; i++) {
        f.out[i] = -1;
        f.held[i] = i == FP + 50;
        f.held_value[i] = 100;
        f.actual[i] = 100;
    }
    static const int errors[] = { SP_ENOMEM };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    spt_fault_case fc = { "sp_timesplit", run_split, undo_split, check_split_unchanged,
                          live_split, errors, 1, &f };
    /* The weights and the scratch every split of the call runs in. */
    assert_int_equal(spt_fault_loop(&fc, &inj), 2);
    /* The re-plan has one more: the open weights per profile. */
    f.replan = true;
    fc.name = "sp_replan";
    assert_int_equal(spt_fault_loop(&fc, &inj), 3);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

/* 1M nodes by one profile must not allocate per node: count the allocations. */
static void test_split_allocations(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    enum { N = 5000 };
    static int64_t annual[N], out[N * 12];
    for (size_t i = 0; i < N; i++)
        annual[i] = (int64_t)(i * 7919 % 100003);
    const sp_dec ones[12] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1 };
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    uint64_t before = a.calls;
    assert_int_equal(sp_timesplit(ctx, annual, N, ones, 1, 12, &o, out), SP_OK);
    assert_int_equal(a.calls - before, 1); /* the weights */
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_examples),
        cmocka_unit_test(test_split_working_days),
        cmocka_unit_test(test_property_split),
        cmocka_unit_test(test_split_bad_input),
        cmocka_unit_test(test_replan_examples),
        cmocka_unit_test(test_property_replan),
        cmocka_unit_test(test_replan_bad_input),
        cmocka_unit_test(test_fault_loops),
        cmocka_unit_test(test_split_allocations),
    };
    return cmocka_run_group_tests_name("timesplit", tests, NULL, NULL);
}
