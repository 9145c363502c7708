/*
 * Seasonality profiles: checking given shares, and deriving them from history by the
 * average share per period or by ratio-to-moving-average seasonal indices.
 *
 * No floating point: every statistic is an integer in fixed point with an explicit
 * half-even rounding at each documented step, and the final shares or indices come from
 * sp_allocate, so they sum exactly (100 %, or nperiods) and are the same bits everywhere.
 */
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../money/numeric.h"
#include "time_internal.h"

/* Per-year shares are truncated at 15 decimals before they are averaged. */
#define SHARE_SCALE INT64_C(1000000000000000)
/* Seasonal ratios are rounded to 12 decimals. */
#define RATIO_SCALE INT64_C(1000000000000)

static const size_t season_options_sizes[] = { 0, sizeof(sp_season_options) };

SPI_DEFINE_INIT(sp_season_options, season_options_sizes,
                SP_SEASON_OPTIONS_VERSION, SP_SEASON_OPTIONS_INIT)

int spi_profile_check(sp_ctx *ctx, const char *what, const sp_dec *shares, size_t n,
                      uint32_t policy, int64_t *sum)
{
    char t[SP_TEXT_MAX];
    if (policy > SP_PROFILE_NORMALISE)
        return spi_fail(ctx, SP_EINVAL, "%s: policy %u is not an sp_profile_policy (0 or 1)",
                        what, (unsigned)policy);
    int64_t s = 0;
    for (size_t p = 0; p < n; p++) {
        if (shares[p] < 0)
            return spi_fail(ctx, SP_EINVAL, "%s[%zu] = %s is negative", what, p,
                            spi_percent_text(shares[p], t));
        if (__builtin_add_overflow(s, shares[p], &s))
            return spi_fail(ctx, SP_EOVERFLOW, "%s: the shares sum beyond 2^63 - 1", what);
    }
    if (s == 0)
        return spi_fail(ctx, SP_EINVAL, "%s: every share is zero", what);
    if (policy == SP_PROFILE_REJECT && s != SP_DEC_ONE)
        return spi_fail(ctx, SP_EINVAL, "%s: the shares sum to %s, not 100%%", what,
                        spi_percent_text(s, t));
    *sum = s;
    return SP_OK;
}

int sp_season_shares(sp_ctx *ctx, const sp_dec *profile, size_t n, uint32_t policy,
                     sp_dec *shares)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (n == 0)
        return spi_fail(ctx, SP_EINVAL, "season: the profile has no periods");
    if (profile == NULL || shares == NULL)
        return spi_fail(ctx, SP_EINVAL, "season: %s is NULL",
                        profile == NULL ? "profile" : "shares");
    int64_t sum;
    int rc = spi_profile_check(ctx, "season: profile", profile, n, policy, &sum);
    if (rc != SP_OK)
        return rc;
    if (sum == SP_DEC_ONE) {
        memmove(shares, profile, n * sizeof *shares);
        return SP_OK;
    }
    return sp_allocate(ctx, SP_DEC_ONE, profile, n, NULL, shares);
}

/* ---- history ---- */

typedef struct history {
    const int64_t *v;
    size_t nvalues, nperiods, nyears;
    sp_season_options o;
} history;

static int read_history(sp_ctx *ctx, const int64_t *values, size_t nvalues, size_t nperiods,
                        const sp_season_options *opts, const void *out, size_t min_years,
                        const char *method, history *h)
{
    if (ctx == NULL)
        return SP_EINVAL;
    sp_season_options o = SP_SEASON_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_season_options", &o, opts, season_options_sizes,
                             SP_SEASON_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (o.zero_policy > SP_SEASON_ZERO_EVEN)
        return spi_fail(ctx, SP_EINVAL,
                        "season: zero_policy %u is not an sp_season_zero_policy (0 or 1)",
                        (unsigned)o.zero_policy);
    if (o.average > SP_SEASON_MEDIAN)
        return spi_fail(ctx, SP_EINVAL, "season: average %u is not an sp_season_average (0 or 1)",
                        (unsigned)o.average);
    if (nperiods == 0)
        return spi_fail(ctx, SP_EINVAL, "season: nperiods is 0");
    if (nvalues == 0)
        return spi_fail(ctx, SP_EINVAL, "season: the history is empty");
    if (values == NULL || out == NULL)
        return spi_fail(ctx, SP_EINVAL, "season: %s is NULL", values == NULL ? "history" : "out");
    if (nvalues % nperiods != 0)
        return spi_fail(ctx, SP_EINVAL,
                        "season: %zu history values are not whole years of %zu periods",
                        nvalues, nperiods);
    size_t nyears = nvalues / nperiods;
    if (nyears < min_years)
        return spi_fail(ctx, SP_EINVAL, "season: %s needs at least %zu years of history, got %zu",
                        method, min_years, nyears);
    for (size_t i = 0; i < nvalues; i++) {
        if (o.missing != NULL && o.missing[i] != 0)
            return spi_fail(ctx, SP_EINVAL,
                            "season: history[%zu] (year %zu, period %zu) is missing", i,
                            i / nperiods, i % nperiods);
        if (values[i] < 0)
            return spi_fail(ctx, SP_EINVAL,
                            "season: history[%zu] (year %zu, period %zu) = %lld is negative", i,
                            i / nperiods, i % nperiods, (long long)values[i]);
    }
    h->v = values;
    h->nvalues = nvalues;
    h->nperiods = nperiods;
    h->nyears = nyears;
    h->o = o;
    return SP_OK;
}

/* Even shares (or indices) of `total`: the fallback when no history has sales. */
static int even(sp_ctx *ctx, int64_t total, size_t n, sp_dec *out)
{
    return sp_allocate(ctx, total, NULL, n, NULL, out);
}

int sp_season_average_share(sp_ctx *ctx, const int64_t *history_values, size_t nvalues,
                            size_t nperiods, const sp_season_options *opts, sp_dec *shares)
{
    history h;
    int rc = read_history(ctx, history_values, nvalues, nperiods, opts, shares, 1,
                          "the average share", &h);
    if (rc != SP_OK)
        return rc;
    spi_u128 *acc = spi_calloc(ctx, nperiods, sizeof *acc);
    int64_t *weights = spi_malloc_array(ctx, nperiods, sizeof *weights);
    if (acc == NULL || weights == NULL) {
        spi_free(ctx, acc);
        spi_free(ctx, weights);
        return SP_ENOMEM;
    }
    size_t used = 0;
    for (size_t y = 0; y < h.nyears && rc == SP_OK; y++) {
        const int64_t *row = h.v + y * nperiods;
        int64_t total = 0;
        for (size_t p = 0; p < nperiods && rc == SP_OK; p++)
            if (__builtin_add_overflow(total, row[p], &total))
                rc = spi_fail(ctx, SP_EOVERFLOW, "season: year %zu of the history sums beyond "
                                                 "2^63 - 1",
                              y);
        if (rc != SP_OK)
            break;
        if (total == 0) {
            if (h.o.zero_policy == SP_SEASON_ZERO_ERROR)
                rc = spi_fail(ctx, SP_EINVAL,
                              "season: year %zu of the history sums to zero (SP_SEASON_ZERO_EVEN "
                              "would leave it out)",
                              y);
            continue;
        }
        used++;
        /* share = floor(amount * 10^15 / total) <= 10^15, exact in 128 bits */
        for (size_t p = 0; p < nperiods; p++)
            acc[p] += (spi_u128)row[p] * (uint64_t)SHARE_SCALE / (uint64_t)total;
    }
    if (rc == SP_OK) {
        spi_u128 sum = 0;
        for (size_t p = 0; p < nperiods; p++)
            sum += acc[p];
        if (sum > INT64_MAX)
            rc = spi_fail(ctx, SP_EOVERFLOW, "season: %zu years are too many to average (at most "
                                             "9000)",
                          h.nyears);
    }
    if (rc == SP_OK) {
        for (size_t p = 0; p < nperiods; p++)
            weights[p] = (int64_t)acc[p];
        rc = used == 0 ? even(ctx, SP_DEC_ONE, nperiods, shares)
                       : sp_allocate(ctx, SP_DEC_ONE, weights, nperiods, NULL, shares);
    }
    spi_free(ctx, acc);
    spi_free(ctx, weights);
    return rc;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* round_half_even(n / d) for n >= 0, d > 0. */
static int64_t div_even(spi_u128 n, spi_u128 d)
{
    return (int64_t)spi_div_round_i128((spi_i128)n, (spi_i128)d, SP_ROUND_HALF_EVEN);
}

int sp_season_ratio_to_ma(sp_ctx *ctx, const int64_t *history_values, size_t nvalues,
                          size_t nperiods, const sp_season_options *opts, sp_dec *indices)
{
    history h;
    int rc = read_history(ctx, history_values, nvalues, nperiods, opts, indices, 2,
                          "the ratio to moving average", &h);
    if (rc != SP_OK)
        return rc;
    const size_t L = nperiods, N = nvalues;
    if (L > INT64_MAX / SP_DEC_ONE)
        return spi_fail(ctx, SP_EOVERFLOW, "season: %zu periods are too many for indices that "
                                           "sum to the number of periods",
                        L);
    /* ratio[t] in RATIO_SCALE, -1 where there is none; then one period's ratios (one per
     * year at most), then the average ratio of each period. */
    int64_t *ratio = spi_malloc_array(ctx, N + h.nyears + L, sizeof *ratio);
    if (ratio == NULL)
        return SP_ENOMEM;
    int64_t *group = ratio + N, *mean = group + h.nyears;

    /* Even L: the 2 x L average, D_t = S[t - L/2 .. t + L/2 - 1] + S[t - L/2 + 1 .. t + L/2]
     * and ratio = y_t * 2L / D_t. Odd L: D_t = S[t - (L-1)/2 .. t + (L-1)/2], ratio = y_t * L
     * / D_t. Window sums are exact in 128 bits. */
    const bool even_l = L % 2 == 0;
    const size_t half = L / 2, first = half, last = N - half - 1;
    const uint64_t scale = even_l ? 2 * (uint64_t)L : (uint64_t)L;
    spi_u128 window = 0; /* S[t - half .. t - half + L - 1] */
    for (size_t i = 0; i < L; i++)
        window += (uint64_t)h.v[i];
    size_t zero_ma = SIZE_MAX;
    for (size_t t = 0; t < N; t++) {
        ratio[t] = -1;
        if (t < first || t > last)
            continue;
        spi_u128 d = window;
        if (even_l) {
            window += (uint64_t)h.v[t + half];
            window -= (uint64_t)h.v[t - half];
            d += window;
        } else if (t + half + 1 < N) {
            window += (uint64_t)h.v[t + half + 1];
            window -= (uint64_t)h.v[t - half];
        }
        if (d == 0) {
            if (zero_ma == SIZE_MAX)
                zero_ma = t;
            continue;
        }
        ratio[t] = div_even((spi_u128)(uint64_t)h.v[t] * scale * (uint64_t)RATIO_SCALE, d);
    }
    if (zero_ma != SIZE_MAX && h.o.zero_policy == SP_SEASON_ZERO_ERROR) {
        spi_free(ctx, ratio);
        return spi_fail(ctx, SP_EINVAL,
                        "season: the centred moving average at history[%zu] (year %zu, period "
                        "%zu) is zero (SP_SEASON_ZERO_EVEN would leave it out)",
                        zero_ma, zero_ma / L, zero_ma % L);
    }

    /* Each period's ratios, averaged; a period with none is neutral (1). */
    spi_u128 total = 0;
    for (size_t p = 0; p < L; p++) {
        size_t k = 0;
        for (size_t t = p; t < N; t += L)
            if (ratio[t] >= 0)
                group[k++] = ratio[t];
        if (k == 0) {
            mean[p] = RATIO_SCALE;
        } else if (h.o.average == SP_SEASON_MEAN) {
            spi_u128 s = 0;
            for (size_t i = 0; i < k; i++)
                s += (uint64_t)group[i];
            mean[p] = div_even(s, k);
        } else {
            qsort(group, k, sizeof *group, cmp_i64);
            mean[p] = k % 2 == 1 ? group[k / 2]
                                 : div_even((spi_u128)(uint64_t)group[k / 2 - 1] +
                                                (uint64_t)group[k / 2],
                                            2);
        }
        total += (uint64_t)mean[p];
    }
    if (total > INT64_MAX) {
        rc = spi_fail(ctx, SP_EOVERFLOW, "season: %zu periods are too many for the ratio method",
                      L);
    } else if (total == 0) {
        rc = h.o.zero_policy == SP_SEASON_ZERO_ERROR
                 ? spi_fail(ctx, SP_EINVAL, "season: every seasonal ratio is zero (SP_SEASON_"
                                            "ZERO_EVEN would make the indices even)")
                 : even(ctx, (int64_t)L * SP_DEC_ONE, L, indices);
    } else {
        /* Rescale so the indices sum to exactly L: largest remainder of L x 10^9. */
        rc = sp_allocate(ctx, (int64_t)L * SP_DEC_ONE, mean, L, NULL, indices);
    }
    spi_free(ctx, ratio);
    return rc;
}
