/*
 * Splitting annual amounts over the periods of a year by seasonality profiles, and
 * re-planning what remains mid-year. Every row goes through the exact allocation of the
 * money module: rows without held periods through spi_allocate_plain, with the profile's
 * weights validated once per call, so a million nodes cost a million plain splits.
 */
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "../money/allocate.h"
#include "time_internal.h"

/* Rows of up to this many periods use stack scratch. */
#define SMALL_ROW 64

static const size_t timesplit_options_sizes[] = { 0, sizeof(sp_timesplit_options) };
static const size_t replan_options_sizes[] = { 0, sizeof(sp_replan_options) };
static const size_t replan_output_sizes[] = { 0, sizeof(sp_replan_output) };

SPI_DEFINE_INIT(sp_timesplit_options, timesplit_options_sizes,
                SP_TIMESPLIT_OPTIONS_VERSION, SP_TIMESPLIT_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_replan_options, replan_options_sizes,
                SP_REPLAN_OPTIONS_VERSION, SP_REPLAN_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_replan_output, replan_output_sizes,
                SP_REPLAN_OUTPUT_VERSION, SP_REPLAN_OUTPUT_INIT)

/* ---- weights per profile and period ---- */

void spi_time_weights_free(sp_ctx *ctx, spi_time_weights *tw)
{
    spi_free(ctx, tw->w);
    memset(tw, 0, sizeof *tw);
}

int spi_time_weights_build(sp_ctx *ctx, const char *what, const spi_time_spec *spec,
                           const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                           spi_time_weights *tw)
{
    memset(tw, 0, sizeof *tw);
    if (nperiods == 0)
        return spi_fail(ctx, SP_EINVAL, "%s: there are no periods", what);
    if (nprofiles == 0)
        return spi_fail(ctx, SP_EINVAL, "%s: there are no profiles", what);
    if (profiles == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: profiles is NULL", what);
    if (nprofiles > SIZE_MAX / sizeof(int64_t) / (nperiods + 1))
        return spi_fail(ctx, SP_EOVERFLOW, "%s: %zu profiles of %zu periods are too many", what,
                        nprofiles, nperiods);
    if (spec->weighting > SP_TIME_WEIGHT_WORKING_DAYS)
        return spi_fail(ctx, SP_EINVAL, "%s: weighting %u is not an sp_time_weighting (0 or 1)",
                        what, (unsigned)spec->weighting);
    int32_t wdays[SP_CALENDAR_MAX_PERIODS];
    if (spec->calendar != NULL) {
        size_t count;
        int rc = spi_calendar_check_year(ctx, what, spec->calendar, spec->fiscal_year,
                                         spec->grain);
        if (rc != SP_OK)
            return rc;
        (void)spi_calendar_periods(ctx, what, spec->calendar, spec->fiscal_year, spec->grain,
                                   NULL, NULL, NULL, 0, &count);
        if (count != nperiods)
            return spi_fail(ctx, SP_EINVAL, "%s: the profiles have %zu periods, but FY%d of the "
                                            "calendar has %zu at grain %u",
                            what, nperiods, (int)spec->fiscal_year, count, (unsigned)spec->grain);
        (void)spi_calendar_periods(ctx, what, spec->calendar, spec->fiscal_year, spec->grain,
                                   NULL, NULL, wdays, SP_CALENDAR_MAX_PERIODS, &count);
    } else if (spec->weighting == SP_TIME_WEIGHT_WORKING_DAYS) {
        return spi_fail(ctx, SP_EINVAL, "%s: weighting by working days needs a calendar", what);
    }
    const bool by_days = spec->weighting == SP_TIME_WEIGHT_WORKING_DAYS;

    /* One block: the weights, then one sum per profile. */
    int64_t *w = spi_malloc_array(ctx, nprofiles * (nperiods + 1), sizeof *w);
    if (w == NULL)
        return SP_ENOMEM;
    uint64_t *sum = (uint64_t *)(w + nprofiles * nperiods);
    char name[96];
    int rc = SP_OK;
    for (size_t k = 0; k < nprofiles && rc == SP_OK; k++) {
        const sp_dec *shares = profiles + k * nperiods;
        int64_t *row = w + k * nperiods;
        int64_t total;
        snprintf(name, sizeof name, "%s: profiles[%zu]", what, k);
        if ((rc = spi_profile_check(ctx, name, shares, nperiods, spec->policy, &total)) != SP_OK)
            break;
        sum[k] = 0;
        for (size_t p = 0; p < nperiods; p++) {
            row[p] = shares[p];
            if (by_days && __builtin_mul_overflow(shares[p], (int64_t)wdays[p], &row[p])) {
                rc = spi_fail(ctx, SP_EOVERFLOW, "%s[%zu] times %d working days overflows", name,
                              p, (int)wdays[p]);
                break;
            }
            if (__builtin_add_overflow(sum[k], (uint64_t)row[p], &sum[k]) || sum[k] > INT64_MAX) {
                rc = spi_fail(ctx, SP_EOVERFLOW, "%s: the weights sum beyond 2^63 - 1", name);
                break;
            }
        }
        if (rc == SP_OK && sum[k] == 0)
            rc = spi_fail(ctx, SP_EINVAL, "%s: weighted by working days, every period weighs zero",
                          name);
    }
    if (rc != SP_OK) {
        spi_free(ctx, w);
        return rc;
    }
    tw->w = w;
    tw->sum = sum;
    tw->nprofiles = nprofiles;
    tw->nperiods = nperiods;
    if (spec->calendar != NULL)
        memcpy(tw->working_days, wdays, nperiods * sizeof *wdays);
    return SP_OK;
}

int spi_time_profile_of(sp_ctx *ctx, const char *what, const uint32_t *profile_of,
                        size_t nnodes, size_t nprofiles)
{
    for (size_t i = 0; profile_of != NULL && i < nnodes; i++)
        if (profile_of[i] >= nprofiles)
            return spi_fail(ctx, SP_EINVAL, "%s: profile_of[%zu] = %u, but there are %zu profiles",
                            what, i, (unsigned)profile_of[i], nprofiles);
    return SP_OK;
}

/* ---- the split ---- */

typedef struct split_job {
    sp_ctx *ctx;
    const char *what;
    spi_time_spec spec;
    spi_time_weights tw;
    size_t nperiods;
    int64_t unit;
    unsigned char *scratch; /* SPI_ALLOC_SCRATCH(nperiods), then a row of nperiods: every
                               split of a call runs in it, so none allocates */
} split_job;

static int check_spec(sp_ctx *ctx, const char *what, const spi_time_spec *spec)
{
    if (spec->unit < 0)
        return spi_fail(ctx, SP_EINVAL, "%s: unit %lld is negative", what, (long long)spec->unit);
    if (spec->held != NULL && spec->held_value == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: held is set but held_value is NULL", what);
    return SP_OK;
}

static int start_job(split_job *j, sp_ctx *ctx, const char *what, const spi_time_spec *spec,
                     const sp_dec *profiles, size_t nprofiles, size_t nnodes, size_t nperiods,
                     unsigned char *stack_scratch)
{
    j->ctx = ctx;
    j->what = what;
    j->spec = *spec;
    j->nperiods = nperiods;
    j->unit = spec->unit > 1 ? spec->unit : 1;
    int rc = check_spec(ctx, what, spec);
    if (rc != SP_OK || (rc = spi_time_profile_of(ctx, what, spec->profile_of, nnodes,
                                                  nprofiles)) != SP_OK)
        return rc;
    rc = spi_time_weights_build(ctx, what, spec, profiles, nprofiles, nperiods, &j->tw);
    if (rc != SP_OK)
        return rc;
    j->scratch = stack_scratch;
    if (nperiods > SMALL_ROW) {
        j->scratch = spi_malloc(ctx, SPI_ALLOC_SCRATCH(nperiods) + nperiods * sizeof(int64_t));
        if (j->scratch == NULL) {
            spi_time_weights_free(ctx, &j->tw);
            return SP_ENOMEM;
        }
    }
    return SP_OK;
}

static void end_job(split_job *j, const unsigned char *stack_scratch)
{
    if (j->scratch != stack_scratch)
        spi_free(j->ctx, j->scratch);
    spi_time_weights_free(j->ctx, &j->tw);
}

static int64_t *job_row(const split_job *j)
{
    return (int64_t *)(void *)(j->scratch + SPI_ALLOC_SCRATCH(j->nperiods));
}

static size_t profile_index(const split_job *j, size_t node)
{
    return j->spec.profile_of != NULL ? j->spec.profile_of[node] : 0;
}

/* sp_allocate's message, prefixed with the kernel and node, for an error of a row. */
static int node_error(const split_job *j, size_t node, int rc)
{
    return spi_fail_prefix(j->ctx, rc, "allocate: ", "%s: node %zu", j->what, node);
}

/* The held flags of periods [from, nperiods) of a node, or NULL when none is held. */
static const uint8_t *held_flags(const split_job *j, size_t node, size_t from)
{
    if (j->spec.held == NULL)
        return NULL;
    const uint8_t *held = j->spec.held + node * j->nperiods + from;
    for (size_t p = 0; p < j->nperiods - from; p++)
        if (held[p] != 0)
            return held;
    return NULL;
}

/*
 * Split `total` over periods [from, nperiods) of node `node`'s profile into out[0 ..
 * nperiods - from), held periods of that range locked. Without held periods it takes the
 * plain path over the range's weights, whose sum is `range_sum`.
 */
static int split_range(const split_job *j, size_t node, int64_t total, size_t from,
                       uint64_t range_sum, int64_t *out)
{
    size_t n = j->nperiods - from;
    const int64_t *w = j->tw.w + profile_index(j, node) * j->nperiods + from;
    const uint8_t *held = held_flags(j, node, from);
    if (held == NULL && range_sum > 0 && total != INT64_MIN) {
        int rc = spi_allocate_plain(j->ctx, total, w, n, range_sum, j->unit, j->scratch, out);
        return rc == SP_OK ? rc : node_error(j, node, rc);
    }
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.unit = j->unit;
    if (held != NULL) {
        o.locked = held;
        o.locked_value = j->spec.held_value + node * j->nperiods + from;
    }
    int rc = spi_allocate_scratch(j->ctx, total, w, n, &o, j->scratch, out);
    return rc == SP_OK ? rc : node_error(j, node, rc);
}

int sp_timesplit(sp_ctx *ctx, const int64_t *annual, size_t nnodes, const sp_dec *profiles,
                 size_t nprofiles, size_t nperiods, const sp_timesplit_options *opts,
                 int64_t *out)
{
    static const char what[] = "timesplit";
    if (ctx == NULL)
        return SP_EINVAL;
    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_timesplit_options", &o, opts, timesplit_options_sizes,
                             SP_TIMESPLIT_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (nnodes > 0 && (annual == NULL || out == NULL))
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, annual == NULL ? "annual" : "out");
    spi_time_spec spec = { o.policy, o.profile_of, o.calendar, o.fiscal_year, o.grain,
                           o.weighting, o.unit, o.held, o.held_value };
    split_job j;
    _Alignas(int64_t) unsigned char stack_scratch[SPI_ALLOC_SCRATCH(SMALL_ROW) +
                                                  SMALL_ROW * sizeof(int64_t)];
    if ((rc = start_job(&j, ctx, what, &spec, profiles, nprofiles, nnodes, nperiods,
                        stack_scratch)) != SP_OK)
        return rc;

    /* Pass 1: every row that can fail, into scratch. Rows without held periods cannot:
     * their weights are checked and only INT64_MIN is left to refuse. */
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++) {
        if (annual[i] == INT64_MIN)
            rc = spi_fail(ctx, SP_EOVERFLOW, "%s: annual[%zu] is INT64_MIN", what, i);
        else if (held_flags(&j, i, 0) != NULL)
            rc = split_range(&j, i, annual[i], 0, j.tw.sum[profile_index(&j, i)], job_row(&j));
    }
    /* Pass 2: write. */
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++)
        rc = split_range(&j, i, annual[i], 0, j.tw.sum[profile_index(&j, i)], out + i * nperiods);
    end_job(&j, stack_scratch);
    return rc;
}

/* ---- re-plan ---- */

typedef struct replan_job {
    split_job s;
    const int64_t *target, *actual;
    size_t closed;
    uint32_t overshoot;
    uint64_t *open_sum; /* per profile: the weights of the open periods */
} replan_job;

/* The re-planned row of one node into row[0 .. nperiods), and its excess. */
static int replan_row(const replan_job *r, size_t i, int64_t *row, int64_t *excess)
{
    const split_job *j = &r->s;
    const size_t n = j->nperiods, closed = r->closed;
    const int64_t *act = r->actual + i * n;
    const uint8_t *held = j->spec.held != NULL ? j->spec.held + i * n : NULL;
    const int64_t *held_value = j->spec.held_value != NULL ? j->spec.held_value + i * n : NULL;
    int64_t target = r->target[i], to_date = 0, held_sum = 0, rest;
    if (target < 0)
        return spi_fail(j->ctx, SP_EINVAL, "replan: target[%zu] = %lld is negative", i,
                        (long long)target);
    for (size_t p = 0; p < closed; p++)
        if (__builtin_add_overflow(to_date, act[p], &to_date))
            return spi_fail(j->ctx, SP_EOVERFLOW, "replan: node %zu: the actuals overflow at "
                                                  "period %zu",
                            i, p);
    for (size_t p = closed; held != NULL && p < n; p++)
        if (held[p] != 0 && __builtin_add_overflow(held_sum, held_value[p], &held_sum))
            return spi_fail(j->ctx, SP_EOVERFLOW, "replan: node %zu: the held values overflow at "
                                                  "period %zu",
                            i, p);
    if (__builtin_sub_overflow(target, to_date, &rest) || rest == INT64_MIN)
        return spi_fail(j->ctx, SP_EOVERFLOW, "replan: node %zu: target %lld minus actuals %lld "
                                              "overflows",
                        i, (long long)target, (long long)to_date);
    memcpy(row, act, closed * sizeof *row);
    *excess = 0;
    if (closed == n) {
        *excess = to_date > target ? to_date - target : 0;
        return SP_OK;
    }
    size_t k = profile_index(j, i);
    int64_t spread; /* what the open periods that are not held share */
    if (__builtin_sub_overflow(rest, held_sum, &spread) || spread == INT64_MIN)
        return spi_fail(j->ctx, SP_EOVERFLOW, "replan: node %zu: what remains less the held "
                                              "values overflows",
                        i);
    if (spread >= 0) {
        if (spread > 0 && r->open_sum[k] == 0)
            return spi_fail(j->ctx, SP_EINVAL,
                            "replan: node %zu: %lld remains, but its profile gives the open "
                            "periods %zu to %zu no weight",
                            i, (long long)spread, closed, n - 1);
        return split_range(j, i, rest, closed, r->open_sum[k], row + closed);
    }
    /* Already beyond the target: no negative targets. */
    *excess = -spread;
    if (r->overshoot == SP_OVERSHOOT_ZERO) {
        for (size_t p = closed; p < n; p++)
            row[p] = held != NULL && held[p] != 0 ? held_value[p] : 0;
        return SP_OK;
    }
    /* The open periods keep the original plan: the whole target split as it was planned,
     * every held period locked; then the closed periods get their actuals back. */
    int rc = split_range(j, i, target, 0, j->tw.sum[k], row);
    if (rc == SP_OK)
        memcpy(row, act, closed * sizeof *row);
    return rc;
}

int sp_replan(sp_ctx *ctx, const int64_t *target, const int64_t *actual, size_t nnodes,
              const sp_dec *profiles, size_t nprofiles, size_t nperiods,
              const sp_replan_options *opts, const sp_replan_output *out)
{
    static const char what[] = "replan";
    if (ctx == NULL)
        return SP_EINVAL;
    sp_replan_options o = SP_REPLAN_OPTIONS_INIT;
    sp_replan_output ro = SP_REPLAN_OUTPUT_INIT;
    int rc = spi_struct_read(ctx, "sp_replan_options", &o, opts, replan_options_sizes,
                             SP_REPLAN_OPTIONS_VERSION);
    if (rc == SP_OK)
        rc = spi_struct_read(ctx, "sp_replan_output", &ro, out, replan_output_sizes,
                             SP_REPLAN_OUTPUT_VERSION);
    if (rc != SP_OK)
        return rc;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: out is NULL", what);
    if (nnodes > 0 && (target == NULL || actual == NULL || ro.rows == NULL))
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what,
                        target == NULL ? "target" : actual == NULL ? "actual" : "out->rows");
    const size_t closed = o.closed;
    if (closed > nperiods)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu closed periods, but there are %zu", what, closed,
                        nperiods);
    if (o.overshoot > SP_OVERSHOOT_KEEP_PLAN)
        return spi_fail(ctx, SP_EINVAL, "%s: overshoot %u is not an sp_overshoot_policy (0 or 1)",
                        what, (unsigned)o.overshoot);
    spi_time_spec spec = { o.policy, o.profile_of, o.calendar, o.fiscal_year, o.grain,
                           o.weighting, o.unit, o.held, o.held_value };
    replan_job r = { .target = target, .actual = actual, .closed = closed,
                     .overshoot = o.overshoot };
    _Alignas(int64_t) unsigned char stack_scratch[SPI_ALLOC_SCRATCH(SMALL_ROW) +
                                                  SMALL_ROW * sizeof(int64_t)];
    if ((rc = start_job(&r.s, ctx, what, &spec, profiles, nprofiles, nnodes, nperiods,
                        stack_scratch)) != SP_OK)
        return rc;
    r.open_sum = spi_malloc_array(ctx, nprofiles, sizeof *r.open_sum);
    if (r.open_sum == NULL) {
        end_job(&r.s, stack_scratch);
        return SP_ENOMEM;
    }
    for (size_t k = 0; k < nprofiles; k++) {
        r.open_sum[k] = 0;
        for (size_t p = closed; p < nperiods; p++)
            r.open_sum[k] += (uint64_t)r.s.tw.w[k * nperiods + p];
    }
    /* Pass 1 checks every row in scratch, pass 2 writes: nothing is written on error. */
    int64_t ex;
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++)
        rc = replan_row(&r, i, job_row(&r.s), &ex);
    for (size_t i = 0; i < nnodes && rc == SP_OK; i++)
        rc = replan_row(&r, i, ro.rows + i * nperiods, ro.excess != NULL ? &ro.excess[i] : &ex);
    spi_free(ctx, r.open_sum);
    end_job(&r.s, stack_scratch);
    return rc;
}
