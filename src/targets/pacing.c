/*
 * Pacing: how far each node should be by a day, where its actuals project it at year end,
 * and whether it is ahead, on track or behind.
 *
 * The expected fraction of the year is exact: with the profile's shares q_p (normalised
 * to sp_dec shares summing to exactly 10^9), c the current period, el and len the elapsed
 * and total (working) days of c,
 *     E = (sum_{p<c} q_p * len + q_c * el) / (10^9 * len),
 * and every result is one rounding of an exact 128-bit quotient.
 */
#include <string.h>

#include "../core/internal.h"
#include "../money/allocate.h"
#include "../money/numeric.h"
#include "time_internal.h"

static const size_t pacing_options_sizes[] = { 0, sizeof(sp_pacing_options) };
static const size_t pacing_output_sizes[] = { 0, sizeof(sp_pacing_output) };

SPI_DEFINE_INIT(sp_pacing_options, pacing_options_sizes,
                SP_PACING_OPTIONS_VERSION, SP_PACING_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_pacing_output, pacing_output_sizes,
                SP_PACING_OUTPUT_VERSION, SP_PACING_OUTPUT_INIT)

typedef struct pace_job {
    sp_ctx *ctx;
    sp_pacing_options o;
    const int64_t *target, *actual;
    const int64_t *num; /* per profile: E = num[k] / den */
    int64_t den;
    int64_t year_elapsed, year_length; /* (working) days of the periods' span */
} pace_job;

/* The (working) days of [first, end) by the elapsed measure. */
static int64_t measure(const sp_calendar *cal, uint32_t how, int64_t first, int64_t end)
{
    if (end <= first)
        return 0;
    return how == SP_ELAPSED_WORKING_DAYS ? spi_calendar_working_days_in(cal, first, end)
                                          : end - first;
}

static int fit(spi_i128 v, int64_t *out)
{
    if (v < INT64_MIN || v > INT64_MAX)
        return SP_EOVERFLOW;
    *out = (int64_t)v;
    return SP_OK;
}

static int pace_node(const pace_job *j, size_t i, int64_t *expected, int64_t *projection,
                     int32_t *status)
{
    int64_t target = j->target[i], actual = j->actual[i];
    if (target < 0)
        return spi_fail(j->ctx, SP_EINVAL, "pacing: target[%zu] = %lld is negative", i,
                        (long long)target);
    size_t k = j->o.profile_of != NULL ? j->o.profile_of[i] : 0;
    uint32_t mode = j->o.rounding;
    int64_t num = j->num[k];
    *expected = (int64_t)spi_div_round_i128((spi_i128)target * num, j->den, mode);

    spi_i128 proj = actual;
    if (j->o.projection == SP_PROJECT_PROFILE && num > 0)
        proj = spi_div_round_i128((spi_i128)actual * j->den, num, mode);
    else if (j->o.projection == SP_PROJECT_LINEAR && j->year_elapsed > 0)
        proj = spi_div_round_i128((spi_i128)actual * j->year_length, j->year_elapsed, mode);
    if (fit(proj, projection) != SP_OK)
        return spi_fail(j->ctx, SP_EOVERFLOW, "pacing: node %zu: the projection of %lld "
                                              "overflows",
                        i, (long long)actual);

    /* Ahead when actual > expected x (1 + t), behind when actual < expected x (1 - t). */
    spi_i128 a = (spi_i128)actual * SP_DEC_ONE, e = *expected;
    if (a > e * ((spi_i128)SP_DEC_ONE + j->o.threshold))
        *status = SP_PACE_AHEAD;
    else if (a < e * ((spi_i128)SP_DEC_ONE - j->o.threshold))
        *status = SP_PACE_BEHIND;
    else
        *status = SP_PACE_ON_TRACK;
    return SP_OK;
}

static int check_options(sp_ctx *ctx, const sp_pacing_options *o)
{
    if (o->elapsed > SP_ELAPSED_WORKING_DAYS)
        return spi_fail(ctx, SP_EINVAL, "pacing: elapsed %u is not an sp_elapsed_measure (0 or 1)",
                        (unsigned)o->elapsed);
    if (o->projection > SP_PROJECT_LINEAR)
        return spi_fail(ctx, SP_EINVAL,
                        "pacing: projection %u is not an sp_projection_method (0 or 1)",
                        (unsigned)o->projection);
    if (!spi_rounding_valid(o->rounding))
        return spi_fail(ctx, SP_EINVAL, "pacing: rounding %u is not an sp_rounding (0 to 6)",
                        (unsigned)o->rounding);
    if (o->threshold < 0)
        return spi_fail(ctx, SP_EINVAL, "pacing: threshold %lld is negative",
                        (long long)o->threshold);
    return SP_OK;
}

int sp_pacing(sp_ctx *ctx, const int64_t *target, const int64_t *actual, size_t nnodes,
              const sp_dec *profiles, size_t nprofiles, size_t nperiods,
              const sp_pacing_options *opts, const sp_pacing_output *out)
{
    static const char what[] = "pacing";
    if (ctx == NULL)
        return SP_EINVAL;
    pace_job j = { .ctx = ctx, .o = SP_PACING_OPTIONS_INIT, .target = target, .actual = actual };
    sp_pacing_output o = SP_PACING_OUTPUT_INIT;
    int rc = spi_struct_read(ctx, "sp_pacing_options", &j.o, opts, pacing_options_sizes,
                             SP_PACING_OPTIONS_VERSION);
    if (rc == SP_OK)
        rc = spi_struct_read(ctx, "sp_pacing_output", &o, out, pacing_output_sizes,
                             SP_PACING_OUTPUT_VERSION);
    if (rc != SP_OK || (rc = check_options(ctx, &j.o)) != SP_OK)
        return rc;
    if (nnodes > 0 && (target == NULL || actual == NULL))
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what,
                        target == NULL ? "target" : "actual");
    const sp_calendar *cal = j.o.calendar;
    const int32_t fiscal_year = j.o.fiscal_year, elapsed_end = j.o.elapsed_end;
    const uint32_t grain = j.o.grain;
    if ((rc = spi_calendar_check_year(ctx, what, cal, fiscal_year, grain)) != SP_OK)
        return rc;
    if ((rc = spi_time_profile_of(ctx, what, j.o.profile_of, nnodes, nprofiles)) != SP_OK)
        return rc;
    spi_time_spec spec = { j.o.policy, j.o.profile_of, cal, fiscal_year, grain, j.o.weighting,
                           0, NULL, NULL };
    spi_time_weights tw;
    rc = spi_time_weights_build(ctx, what, &spec, profiles, nprofiles, nperiods, &tw);
    if (rc != SP_OK)
        return rc;

    /* The periods, the current one and how much of it has elapsed. */
    int32_t first[SP_CALENDAR_MAX_PERIODS], end[SP_CALENDAR_MAX_PERIODS];
    size_t count;
    (void)spi_calendar_periods(ctx, what, cal, fiscal_year, grain, first, end, NULL,
                               SP_CALENDAR_MAX_PERIODS, &count);
    size_t current = 0;
    while (current < nperiods && end[current] <= elapsed_end)
        current++;
    int64_t el = 0, len = 1;
    if (current < nperiods) {
        el = measure(cal, j.o.elapsed, first[current], elapsed_end);
        len = measure(cal, j.o.elapsed, first[current], end[current]);
    }
    j.year_length = measure(cal, j.o.elapsed, first[0], end[nperiods - 1]);
    j.year_elapsed = measure(cal, j.o.elapsed, first[0],
                             elapsed_end < end[nperiods - 1] ? elapsed_end : end[nperiods - 1]);

    /* Shares summing to exactly 10^9 per profile, and E's numerator per profile. A current
     * period without (working) days adds nothing until it has passed. */
    int64_t *buf = spi_malloc_array(ctx, nprofiles + nperiods, sizeof *buf);
    if (buf == NULL) {
        spi_time_weights_free(ctx, &tw);
        return SP_ENOMEM;
    }
    int64_t *num = buf, *shares = buf + nprofiles;
    j.den = len > 0 ? SP_DEC_ONE * len : SP_DEC_ONE;
    for (size_t k = 0; k < nprofiles && rc == SP_OK; k++) {
        /* A calendar has at most SP_CALENDAR_MAX_PERIODS periods, so stack scratch fits. */
        int64_t plain_scratch[2 * SP_CALENDAR_MAX_PERIODS];
        rc = spi_allocate_plain(ctx, SP_DEC_ONE, tw.w + k * nperiods, nperiods, tw.sum[k], 1,
                                plain_scratch, shares);
        int64_t before = 0;
        for (size_t p = 0; p < current && p < nperiods; p++)
            before += shares[p];
        num[k] = len > 0 ? before * len + (current < nperiods ? shares[current] * el : 0)
                         : before;
    }
    spi_time_weights_free(ctx, &tw);

    /* Pass 1 checks every node, pass 2 writes: nothing is written on error. */
    j.num = num;
    int64_t e, p;
    int32_t s;
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++)
        rc = pace_node(&j, i, &e, &p, &s);
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++) {
        (void)pace_node(&j, i, &e, &p, &s);
        if (o.expected != NULL)
            o.expected[i] = e;
        if (o.projection != NULL)
            o.projection[i] = p;
        if (o.status != NULL)
            o.status[i] = s;
    }
    spi_free(ctx, buf);
    return rc;
}
