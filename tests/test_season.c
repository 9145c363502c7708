/* Seasonality profiles: given shares, average shares and ratio-to-moving-average indices
 * from history. Worked examples by hand, a published example, and a second implementation
 * in double precision for the properties. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

__extension__ typedef __int128 i128;

#define PCT(x) ((sp_dec)((x) * 10000000)) /* whole or tenth percentages, exactly */

static void expect_decs(const sp_dec *got, const sp_dec *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("[%zu]: got %lld, expected %lld", i, (long long)got[i], (long long)want[i]);
}

static sp_dec sum_of(const sp_dec *v, size_t n)
{
    sp_dec s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* ---- given shares ---- */

static void test_shares(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dec out[4];
    /* Exactly 100 %: taken as given under either policy. */
    const sp_dec q[4] = { PCT(20), PCT(30), PCT(25), PCT(25) };
    assert_int_equal(sp_season_shares(ctx, q, 4, SP_PROFILE_REJECT, out), SP_OK);
    expect_decs(out, q, 4);
    assert_int_equal(sp_season_shares(ctx, q, 4, SP_PROFILE_NORMALISE, out), SP_OK);
    expect_decs(out, q, 4);
    /* 1 : 1 : 1 normalised: 10^9 / 3 = 333333333 r 1, the extra unit to the first. */
    const sp_dec thirds[3] = { 7, 7, 7 };
    assert_int_equal(sp_season_shares(ctx, thirds, 3, SP_PROFILE_NORMALISE, out), SP_OK);
    expect_decs(out, (sp_dec[]){ 333333334, 333333333, 333333333 }, 3);
    /* 2 : 6 : 2 (a profile of 20 %, 60 %, 20 % given as percentages of 50 %): 20 %, 60 %,
     * 20 % of 100 %. */
    const sp_dec half[3] = { PCT(10), PCT(30), PCT(10) };
    assert_int_equal(sp_season_shares(ctx, half, 3, SP_PROFILE_NORMALISE, out), SP_OK);
    expect_decs(out, (sp_dec[]){ PCT(20), PCT(60), PCT(20) }, 3);
    sp_ctx_free(ctx);
}

static void test_shares_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dec out[3] = { 9, 9, 9 };
    const sp_dec short_sum[3] = { PCT(30), PCT(30), PCT(39.5) };
    assert_int_equal(sp_season_shares(ctx, short_sum, 3, SP_PROFILE_REJECT, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: profile: the shares sum to 99.5%, not 100%");
    const sp_dec negative[3] = { PCT(50), PCT(-5), PCT(55) };
    assert_int_equal(sp_season_shares(ctx, negative, 3, SP_PROFILE_NORMALISE, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: profile[1] = -5% is negative");
    const sp_dec zero[3] = { 0, 0, 0 };
    assert_int_equal(sp_season_shares(ctx, zero, 3, SP_PROFILE_NORMALISE, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: profile: every share is zero");
    const sp_dec huge[2] = { INT64_MAX, 1 };
    assert_int_equal(sp_season_shares(ctx, huge, 2, SP_PROFILE_NORMALISE, out), SP_EOVERFLOW);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: profile: the shares sum beyond 2^63 - 1");
    assert_int_equal(sp_season_shares(ctx, short_sum, 3, 2, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "season: profile: policy 2 is not an sp_profile_policy (0 or 1)");
    assert_int_equal(sp_season_shares(ctx, short_sum, 0, SP_PROFILE_REJECT, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: the profile has no periods");
    assert_int_equal(sp_season_shares(ctx, NULL, 3, SP_PROFILE_REJECT, out), SP_EINVAL);
    assert_int_equal(sp_season_shares(NULL, short_sum, 3, SP_PROFILE_REJECT, out), SP_EINVAL);
    expect_decs(out, (sp_dec[]){ 9, 9, 9 }, 3);
    sp_ctx_free(ctx);
}

/* Scaling a profile changes nothing; the normalised shares always sum to 100 % and each is
 * its exact share rounded down or up. */
static void test_property_shares(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 21 };
    sp_dec p[53], scaled[53], a[53], b[53];
    for (unsigned it = 0; it < spt_iterations(2000); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, 53);
        i128 total = 0;
        for (size_t i = 0; i < n; i++) {
            p[i] = spt_rng_range(&rng, 0, 200000000);
            total += p[i];
        }
        if (total == 0)
            p[0] = 1, total = 1;
        int64_t c = spt_rng_range(&rng, 2, 1000);
        for (size_t i = 0; i < n; i++)
            scaled[i] = p[i] * c;
        assert_int_equal(sp_season_shares(ctx, p, n, SP_PROFILE_NORMALISE, a), SP_OK);
        assert_int_equal(sp_season_shares(ctx, scaled, n, SP_PROFILE_NORMALISE, b), SP_OK);
        expect_decs(a, b, n);
        assert_true(sum_of(a, n) == SP_DEC_ONE);
        for (size_t i = 0; i < n; i++) {
            i128 fl = (i128)p[i] * SP_DEC_ONE / total;
            assert_true(a[i] == fl || a[i] == fl + 1);
        }
    }
    sp_ctx_free(ctx);
}

/* ---- average share ---- */

static void test_average_share(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dec out[4];
    /* Year 0: 100 200 300 400 of 1000 -> 10 % 20 % 30 % 40 %; year 1: 50 each of 200 ->
     * 25 % each. The average: 17.5 % 22.5 % 27.5 % 32.5 %. */
    const int64_t h[8] = { 100, 200, 300, 400, 50, 50, 50, 50 };
    assert_int_equal(sp_season_average_share(ctx, h, 8, 4, NULL, out), SP_OK);
    expect_decs(out, (sp_dec[]){ PCT(17.5), PCT(22.5), PCT(27.5), PCT(32.5) }, 4);
    /* One year of 1 : 1 : 1: thirds, the extra unit to the first period. */
    const int64_t ones[3] = { 1, 1, 1 };
    assert_int_equal(sp_season_average_share(ctx, ones, 3, 3, NULL, out), SP_OK);
    expect_decs(out, (sp_dec[]){ 333333334, 333333333, 333333333 }, 3);
    /* Scale does not matter: a big year counts as much as a small one. 1 : 3 in year 0 and
     * 3000000 : 1000000 in year 1 -> 25 % 75 % and 75 % 25 % -> 50 % 50 %. */
    const int64_t mixed[4] = { 1, 3, 3000000, 1000000 };
    assert_int_equal(sp_season_average_share(ctx, mixed, 4, 2, NULL, out), SP_OK);
    expect_decs(out, (sp_dec[]){ PCT(50), PCT(50) }, 2);

    /* A year without sales: an error, or left out under SP_SEASON_ZERO_EVEN. */
    const int64_t gap[8] = { 0, 0, 0, 0, 100, 200, 300, 400 };
    sp_dec keep[4] = { 1, 2, 3, 4 };
    assert_int_equal(sp_season_average_share(ctx, gap, 8, 4, NULL, keep), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: year 0 of the history sums to zero "
                                            "(SP_SEASON_ZERO_EVEN would leave it out)");
    expect_decs(keep, (sp_dec[]){ 1, 2, 3, 4 }, 4);
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    o.zero_policy = SP_SEASON_ZERO_EVEN;
    assert_int_equal(sp_season_average_share(ctx, gap, 8, 4, &o, out), SP_OK);
    expect_decs(out, (sp_dec[]){ PCT(10), PCT(20), PCT(30), PCT(40) }, 4);
    /* No sales at all: even shares. */
    const int64_t none[8] = { 0 };
    assert_int_equal(sp_season_average_share(ctx, none, 8, 4, &o, out), SP_OK);
    expect_decs(out, (sp_dec[]){ PCT(25), PCT(25), PCT(25), PCT(25) }, 4);
    sp_ctx_free(ctx);
}

/* ---- ratio to moving average ---- */

/* The method in double precision, straight from its definition, for comparison. */
static void reference_ratio_ma(const int64_t *y, size_t n, size_t L, bool median, double *idx)
{
    double ratios[64][64];
    size_t count[64] = { 0 };
    size_t half = L / 2;
    for (size_t t = half; t + half < n; t++) {
        double cma;
        if (L % 2 == 0) {
            double s = 0.5 * (double)y[t - half] + 0.5 * (double)y[t + half];
            for (size_t i = t - half + 1; i < t + half; i++)
                s += (double)y[i];
            cma = s / (double)L;
        } else {
            double s = 0;
            for (size_t i = t - half; i <= t + half; i++)
                s += (double)y[i];
            cma = s / (double)L;
        }
        ratios[t % L][count[t % L]++] = (double)y[t] / cma;
    }
    double total = 0;
    for (size_t p = 0; p < L; p++) {
        double *r = ratios[p];
        size_t k = count[p];
        double m = 0;
        if (median) {
            for (size_t i = 1; i < k; i++)
                for (size_t j = i; j > 0 && r[j - 1] > r[j]; j--) {
                    double tmp = r[j];
                    r[j] = r[j - 1];
                    r[j - 1] = tmp;
                }
            m = k % 2 ? r[k / 2] : (r[k / 2 - 1] + r[k / 2]) / 2;
        } else {
            for (size_t i = 0; i < k; i++)
                m += r[i];
            m /= (double)k;
        }
        idx[p] = m;
        total += m;
    }
    for (size_t p = 0; p < L; p++)
        idx[p] = idx[p] * (double)L / total;
}

static void expect_indices_near(const sp_dec *got, const double *want, size_t n, sp_dec tol)
{
    sp_dec s = 0;
    for (size_t p = 0; p < n; p++) {
        double diff = (double)got[p] - want[p] * 1e9;
        if (diff > (double)tol || diff < -(double)tol)
            fail_msg("index %zu: got %lld, expected %.3f (x 1e-9)", p, (long long)got[p],
                     want[p] * 1e9);
        s += got[p];
    }
    assert_true(s == (sp_dec)n * SP_DEC_ONE);
}

static void test_ratio_ma_published(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /*
     * HP 12C Owner's Handbook / Solutions Handbook, "Seasonal Variation Factors Based on
     * Centered Moving Averages": quarterly sales ($K) 1978: 397 376 460 501, 1979: 455 390
     * 530 560, 1980: 513 434 562 593. The book shows the centred moving average of the third
     * quarter of 1978, 440.75, and its seasonal variation factor, 104.37 (%).
     * The four-quarter sums are 1734 1792 1806 1876 1935 1993 2037 2069 2102; each centred
     * average is the mean of two neighbours / 4, e.g. (1734 + 1792) / 8 = 440.75. Ratios:
     *   Q3 1978 460 / 440.75  = 1.0436755   Q4 1978 501 / 449.75  = 1.1139522
     *   Q1 1979 455 / 460.25  = 0.9885931   Q2 1979 390 / 476.375 = 0.8186827
     *   Q3 1979 530 / 491     = 1.0794297   Q4 1979 560 / 503.75  = 1.1116625
     *   Q1 1980 513 / 513.25  = 0.9995129   Q2 1980 434 / 521.375 = 0.8324143
     * Means per quarter: Q1 0.9940530, Q2 0.8255485, Q3 1.0615526, Q4 1.1128073, summing to
     * 3.9939614; rescaled by 4 / 3.9939614: 0.9955559, 0.8267967, 1.0631576, 1.1144898.
     * With two ratios per quarter the median is the mean.
     */
    const int64_t sales[12] = { 397, 376, 460, 501, 455, 390, 530, 560, 513, 434, 562, 593 };
    const double want[4] = { 0.9955559, 0.8267967, 1.0631576, 1.1144898 };
    sp_dec idx[4];
    assert_int_equal(sp_season_ratio_to_ma(ctx, sales, 12, 4, NULL, idx), SP_OK);
    expect_indices_near(idx, want, 4, 100); /* the hand values carry 7 decimals */
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    o.average = SP_SEASON_MEDIAN;
    sp_dec med[4];
    assert_int_equal(sp_season_ratio_to_ma(ctx, sales, 12, 4, &o, med), SP_OK);
    expect_decs(med, idx, 4);
    sp_ctx_free(ctx);
}

/* Median and mean differ with an outlier: four years of a flat series of 100 with one
 * quarter at 400. Checked against the double-precision definition above. */
static void test_ratio_ma_median(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t y[16];
    for (size_t i = 0; i < 16; i++)
        y[i] = 100;
    y[9] = 400; /* year 2, Q2 */
    sp_dec mean[4], med[4];
    double want_mean[4], want_med[4];
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    assert_int_equal(sp_season_ratio_to_ma(ctx, y, 16, 4, &o, mean), SP_OK);
    o.average = SP_SEASON_MEDIAN;
    assert_int_equal(sp_season_ratio_to_ma(ctx, y, 16, 4, &o, med), SP_OK);
    reference_ratio_ma(y, 16, 4, false, want_mean);
    reference_ratio_ma(y, 16, 4, true, want_med);
    expect_indices_near(mean, want_mean, 4, 2);
    expect_indices_near(med, want_med, 4, 2);
    assert_true(mean[1] > med[1]);
    sp_ctx_free(ctx);
}

static void test_property_ratio_ma(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 22 };
    int64_t y[64 * 5], scaled[64 * 5];
    sp_dec got[64], got_scaled[64];
    double want[64];
    for (unsigned it = 0; it < spt_iterations(500); it++) {
        size_t L = (size_t)spt_rng_range(&rng, 2, 13), years = (size_t)spt_rng_range(&rng, 2, 5);
        size_t n = L * years;
        for (size_t i = 0; i < n; i++)
            y[i] = spt_rng_range(&rng, 1, 1000000) * (int64_t)(1 + i % L);
        sp_season_options o = SP_SEASON_OPTIONS_INIT;
        o.average = (uint32_t)(it % 2);
        assert_int_equal(sp_season_ratio_to_ma(ctx, y, n, L, &o, got), SP_OK);
        reference_ratio_ma(y, n, L, o.average == SP_SEASON_MEDIAN, want);
        /* The integer method rounds the ratios at 10^-12 and the indices by largest
         * remainder: within a few units of 10^-9 of the exact values. */
        expect_indices_near(got, want, L, 3);
        /* Scaling the history changes nothing, bit for bit. */
        int64_t c = spt_rng_range(&rng, 2, 1000);
        for (size_t i = 0; i < n; i++)
            scaled[i] = y[i] * c;
        assert_int_equal(sp_season_ratio_to_ma(ctx, scaled, n, L, &o, got_scaled), SP_OK);
        expect_decs(got_scaled, got, L);
        assert_int_equal(sp_season_average_share(ctx, y, n, L, NULL, got), SP_OK);
        assert_int_equal(sp_season_average_share(ctx, scaled, n, L, NULL, got_scaled), SP_OK);
        expect_decs(got_scaled, got, L);
    }
    sp_ctx_free(ctx);
}

static void test_ratio_ma_zero(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Two years of four quarters, sales only in the last two. The centred averages of
     * positions 2 .. 5 use S[t-2 .. t+1] + S[t-1 .. t+2]: 0 + 0 at positions 2 and 3, so
     * position 2 is the first zero average. */
    const int64_t y[8] = { 0, 0, 0, 0, 0, 0, 10, 20 };
    sp_dec idx[4] = { 5, 5, 5, 5 };
    assert_int_equal(sp_season_ratio_to_ma(ctx, y, 8, 4, NULL, idx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "season: the centred moving average at history[2] (year 0, period 2) is "
                        "zero (SP_SEASON_ZERO_EVEN would leave it out)");
    expect_decs(idx, (sp_dec[]){ 5, 5, 5, 5 }, 4);
    /* Left out: positions 2 and 3 have no ratio, 4 and 5 have ratios 0 / (10 / 8) = 0.
     * Quarters 0 and 1 average 0, quarters 2 and 3 have none and count as 1: indices
     * 0, 0, 2, 2. */
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    o.zero_policy = SP_SEASON_ZERO_EVEN;
    assert_int_equal(sp_season_ratio_to_ma(ctx, y, 8, 4, &o, idx), SP_OK);
    expect_decs(idx, (sp_dec[]){ 0, 0, 2 * SP_DEC_ONE, 2 * SP_DEC_ONE }, 4);
    /* No sales at all: even indices, or the error. */
    const int64_t none[8] = { 0 };
    assert_int_equal(sp_season_ratio_to_ma(ctx, none, 8, 4, &o, idx), SP_OK);
    expect_decs(idx, (sp_dec[]){ SP_DEC_ONE, SP_DEC_ONE, SP_DEC_ONE, SP_DEC_ONE }, 4);
    /* Sales only in positions 1 and 6: every centred average of positions 2 .. 5 includes
     * one of them (sums 10, 5, 5, 10), but every ratio is zero. */
    const int64_t ends[8] = { 0, 5, 0, 0, 0, 0, 5, 0 };
    assert_int_equal(sp_season_ratio_to_ma(ctx, ends, 8, 4, NULL, idx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: every seasonal ratio is zero "
                                            "(SP_SEASON_ZERO_EVEN would make the indices even)");
    assert_int_equal(sp_season_ratio_to_ma(ctx, ends, 8, 4, &o, idx), SP_OK);
    expect_decs(idx, (sp_dec[]){ SP_DEC_ONE, SP_DEC_ONE, SP_DEC_ONE, SP_DEC_ONE }, 4);
    sp_ctx_free(ctx);
}

static void test_history_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const int64_t h[8] = { 1, 2, 3, 4, 5, -6, 7, 8 };
    const int64_t ok[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    sp_dec out[4] = { 3, 3, 3, 3 };
    assert_int_equal(sp_season_average_share(ctx, h, 8, 4, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "season: history[5] (year 1, period 1) = -6 is negative");
    assert_int_equal(sp_season_ratio_to_ma(ctx, ok, 4, 4, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: the ratio to moving average needs at least "
                                            "2 years of history, got 1");
    assert_int_equal(sp_season_average_share(ctx, ok, 7, 4, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "season: 7 history values are not whole years of 4 periods");
    assert_int_equal(sp_season_average_share(ctx, ok, 0, 4, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: the history is empty");
    assert_int_equal(sp_season_average_share(ctx, ok, 8, 0, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: nperiods is 0");
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    uint8_t missing[8] = { 0, 0, 0, 0, 0, 0, 1, 0 };
    o.missing = missing;
    assert_int_equal(sp_season_ratio_to_ma(ctx, ok, 8, 4, &o, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: history[6] (year 1, period 2) is missing");
    o = (sp_season_options)SP_SEASON_OPTIONS_INIT;
    o.zero_policy = 2;
    assert_int_equal(sp_season_average_share(ctx, ok, 8, 4, &o, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "season: zero_policy 2 is not an sp_season_zero_policy (0 or 1)");
    o.zero_policy = 0;
    o.average = 2;
    assert_int_equal(sp_season_ratio_to_ma(ctx, ok, 8, 4, &o, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: average 2 is not an sp_season_average (0 or 1)");
    o.version = 0;
    assert_int_equal(sp_season_ratio_to_ma(ctx, ok, 8, 4, &o, out), SP_EVERSION);
    const int64_t big[2] = { INT64_MAX, 1 };
    assert_int_equal(sp_season_average_share(ctx, big, 2, 2, NULL, out), SP_EOVERFLOW);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: year 0 of the history sums beyond 2^63 - 1");
    assert_int_equal(sp_season_average_share(ctx, NULL, 8, 4, NULL, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "season: history is NULL");
    assert_int_equal(sp_season_ratio_to_ma(ctx, ok, 8, 4, NULL, NULL), SP_EINVAL);
    assert_int_equal(sp_season_ratio_to_ma(NULL, ok, 8, 4, NULL, out), SP_EINVAL);
    expect_decs(out, (sp_dec[]){ 3, 3, 3, 3 }, 4);
    assert_int_equal(sp_season_options_init(&o, SP_SEASON_OPTIONS_VERSION), SP_OK);
    assert_int_equal(o.zero_policy, 0);
    assert_int_equal(sp_season_options_init(&o, 9), SP_EVERSION);
    sp_ctx_free(ctx);
}

/* ---- allocation failures: 100 periods, so that the final allocation needs the heap ---- */

#define FAULT_PERIODS 100

typedef struct season_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    int64_t history[3 * FAULT_PERIODS];
    sp_dec profile[FAULT_PERIODS], out[FAULT_PERIODS];
    int which;
} season_fault;

static int run_season(void *user)
{
    season_fault *f = user;
    switch (f->which) {
    case 0: return sp_season_shares(f->ctx, f->profile, FAULT_PERIODS, SP_PROFILE_NORMALISE, f->out);
    case 1: return sp_season_average_share(f->ctx, f->history, 3 * FAULT_PERIODS, FAULT_PERIODS,
                                           NULL, f->out);
    default: return sp_season_ratio_to_ma(f->ctx, f->history, 3 * FAULT_PERIODS, FAULT_PERIODS,
                                          NULL, f->out);
    }
}

static void undo_season(void *user)
{
    season_fault *f = user;
    /* Every input is flat, so every result is even: 1 % shares, or indices of 1. */
    sp_dec want = f->which == 2 ? SP_DEC_ONE : SP_DEC_ONE / FAULT_PERIODS;
    for (size_t p = 0; p < FAULT_PERIODS; p++) {
        assert_int_equal(f->out[p], want);
        f->out[p] = -1;
    }
}

static void check_season_unchanged(void *user)
{
    season_fault *f = user;
    for (size_t p = 0; p < FAULT_PERIODS; p++)
        assert_int_equal(f->out[p], -1);
}

static size_t live_season(void *user)
{
    return ((season_fault *)user)->alloc.live_blocks;
}

static void test_fault_loops(void **state)
{
    (void)state;
    static season_fault f;
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    for (size_t i = 0; i < 3 * FAULT_PERIODS; i++)
        f.history[i] = 70;
    for (size_t p = 0; p < FAULT_PERIODS; p++) {
        f.profile[p] = 3;
        f.out[p] = -1;
    }
    static const int errors[] = { SP_ENOMEM };
    static const char *const names[] = { "sp_season_shares", "sp_season_average_share",
                                          "sp_season_ratio_to_ma" };
    static const uint64_t points[] = { 1, 3, 2 };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    for (f.which = 0; f.which < 3; f.which++) {
        spt_fault_case fc = { names[f.which], run_season, undo_season, check_season_unchanged,
                              live_season, errors, 1, &f };
        assert_int_equal(spt_fault_loop(&fc, &inj), points[f.which]);
    }
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shares),
        cmocka_unit_test(test_shares_bad_input),
        cmocka_unit_test(test_property_shares),
        cmocka_unit_test(test_average_share),
        cmocka_unit_test(test_ratio_ma_published),
        cmocka_unit_test(test_ratio_ma_median),
        cmocka_unit_test(test_property_ratio_ma),
        cmocka_unit_test(test_ratio_ma_zero),
        cmocka_unit_test(test_history_bad_input),
        cmocka_unit_test(test_fault_loops),
    };
    return cmocka_run_group_tests_name("season", tests, NULL, NULL);
}
