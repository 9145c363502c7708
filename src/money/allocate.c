/*
 * Exact allocation of a total into parts by weights, with bounds and locked parts.
 *
 * The work is done on magnitudes ("oriented" values): R = |total - locked|, every part in
 * [lo, hi] with 0 <= lo <= hi. The continuous solution is x_i = clamp(L * w_i, lo_i, hi_i)
 * for the L that makes the parts sum to R; it is found exactly by clamping rounds. Each
 * round compares the proportional shares s_i = w_i * R' / W' of the free parts with
 * their bounds: if the shares above their maximums exceed by more in total than the
 * shares below their minimums fall short, the true L is larger than the current one, so
 * every part above its maximum stays there in the solution and is clamped (and the other
 * way round; both when equal). All comparisons are exact in 128 bits because the weights
 * of the free parts sum to at most 2^63 - 1 and R' < 2^63, so every product is < 2^126.
 * The free parts then get floor(s_i) and the leftover units go to the largest remainders.
 */
#include <string.h>

#include "../core/internal.h"
#include "allocate.h"
#include "numeric.h"

#define NO_MAX INT64_MAX /* oriented upper bound meaning "unbounded" */

/* Per part: its value, its remainder, its index in the free list. */
#define SCRATCH_PER_PART (sizeof(int64_t) + sizeof(uint64_t) + sizeof(uint32_t))
/* Up to this many parts the scratch lives on the stack (1.25 KiB). */
#define SMALL_PARTS 64

static void release_scratch(sp_ctx *ctx, unsigned char *scratch, const unsigned char *stack,
                            const void *given)
{
    if (scratch != stack && scratch != given)
        spi_free(ctx, scratch);
}

static const size_t alloc_options_sizes[] = { 0, sizeof(sp_alloc_options) };

SPI_DEFINE_INIT(sp_alloc_options, alloc_options_sizes,
                SP_ALLOC_OPTIONS_VERSION, SP_ALLOC_OPTIONS_INIT)

typedef struct alloc_job {
    sp_ctx *ctx;
    const int64_t *weights; /* NULL: every weight is 1 */
    sp_alloc_options o;
    bool neg;     /* the parts are negative; all work is on magnitudes */
    int64_t unit; /* >= 1 */
} alloc_job;

static int64_t weight_of(const alloc_job *j, size_t i)
{
    return j->weights != NULL ? j->weights[i] : 1;
}

static bool is_locked(const alloc_job *j, size_t i)
{
    return j->o.locked != NULL && j->o.locked[i] != 0;
}

/* Oriented bounds of unlocked part i in minor units: 0 <= *lo; *hi may be NO_MAX, and is
 * negative when the caller's bound excludes every part of R's sign (check_bounds). */
static void raw_bounds(const alloc_job *j, size_t i, int64_t *lo, int64_t *hi)
{
    const int64_t *mn = j->o.min, *mx = j->o.max;
    int64_t l = 0, h = NO_MAX;
    if (!j->neg) {
        if (mn != NULL)
            l = mn[i];
        if (mx != NULL)
            h = mx[i];
    } else {
        if (mx != NULL)
            l = -mx[i];
        if (mn != NULL)
            h = -mn[i];
    }
    *lo = l > 0 ? l : 0;
    *hi = h;
}

/* Raw bounds l, h (raw_bounds) in units of j->unit: lo rounded up, hi down. */
static void to_units(const alloc_job *j, int64_t l, int64_t h, int64_t *lo, int64_t *hi)
{
    *lo = l / j->unit + (l % j->unit != 0);
    *hi = h == NO_MAX ? NO_MAX : h / j->unit;
}

/* Oriented bounds of unlocked part i in units of j->unit. */
static void unit_bounds(const alloc_job *j, size_t i, int64_t *lo, int64_t *hi)
{
    int64_t l, h;
    raw_bounds(j, i, &l, &h);
    to_units(j, l, h, lo, hi);
}

/* The bounds of unlocked part i admit a part of R's sign that is a multiple of the unit.
 * On success: *raw_hi its upper bound in minor units, *lo and *hi its bounds in units. */
static int check_bounds(const alloc_job *j, size_t i, int64_t *raw_hi, int64_t *lo, int64_t *hi)
{
    int64_t l, h;
    raw_bounds(j, i, &l, &h);
    if (h < 0)
        return spi_fail(j->ctx, SP_EINVAL,
                        j->neg ? "allocate: min[%zu] = %lld is above zero, but the parts of a "
                                 "negative amount are not positive unless locked"
                               : "allocate: max[%zu] = %lld is below zero, but the parts of a "
                                 "positive amount are not negative unless locked",
                        i, (long long)(j->neg ? -h : h));
    to_units(j, l, h, lo, hi);
    if (*lo > *hi)
        return spi_fail(j->ctx, SP_EINVAL,
                        "allocate: part %zu: no multiple of unit %lld lies between its min "
                        "and max",
                        i, (long long)j->unit);
    *raw_hi = h;
    return SP_OK;
}

/* Decimal text of a 128-bit magnitude, for messages. */
static const char *u128_text(spi_u128 v, char buf[48])
{
    char *p = buf + 47;
    *p = '\0';
    do {
        *--p = (char)('0' + (int)(v % 10));
        v /= 10;
    } while (v > 0);
    return p;
}

/* Up to this many remainders are ranked by insertion sort instead of radix selection. */
#define SMALL_SELECT 32

/*
 * The k-th largest of v[0..m-1] (1 <= k <= m) by radix selection over the bytes from
 * `top_shift` down; every value is below 2^(top_shift + 8). *take_equal receives how many
 * of the values equal to the result are among the k largest.
 */
static uint64_t kth_largest(const uint64_t *v, size_t m, uint64_t k, int top_shift,
                            uint64_t *take_equal)
{
    if (m <= SMALL_SELECT) {
        /* A few parts (months of a year): an insertion sort beats four 256-bucket passes. */
        uint64_t sorted[SMALL_SELECT];
        for (size_t j = 0; j < m; j++) {
            size_t p = j;
            for (; p > 0 && sorted[p - 1] < v[j]; p--)
                sorted[p] = sorted[p - 1];
            sorted[p] = v[j];
        }
        uint64_t kth = sorted[k - 1], above = 0;
        while (above < k && sorted[above] > kth)
            above++;
        *take_equal = k - above;
        return kth;
    }
    uint64_t prefix = 0, mask = 0;
    for (int shift = top_shift; shift >= 0; shift -= 8) {
        uint64_t hist[256] = { 0 };
        for (size_t j = 0; j < m; j++)
            if ((v[j] & mask) == prefix)
                hist[(v[j] >> shift) & 0xFFu]++;
        unsigned b = 255;
        for (; b > 0 && hist[b] < k; b--)
            k -= hist[b];
        prefix |= (uint64_t)b << shift;
        mask |= (uint64_t)0xFF << shift;
    }
    *take_equal = k;
    return prefix;
}

/*
 * Clamping rounds over the free parts idx[0..*nfree-1] (all with positive weight),
 * moving clamped parts out of the free list with their bound as value.
 */
static void clamp_rounds(const alloc_job *j, uint32_t *idx, size_t *nfree, int64_t *vals,
                         uint64_t *r_free, uint64_t *w_free)
{
    for (;;) {
        const uint64_t r0 = *r_free, w0 = *w_free;
        spi_u128 short_lo = 0, excess_hi = 0;
        for (size_t k = 0; k < *nfree; k++) {
            size_t i = idx[k];
            int64_t lo, hi;
            unit_bounds(j, i, &lo, &hi);
            spi_u128 p = (spi_u128)(uint64_t)weight_of(j, i) * r0;
            if (hi != NO_MAX && p > (spi_u128)(uint64_t)hi * w0)
                excess_hi += p - (spi_u128)(uint64_t)hi * w0;
            else if (p < (spi_u128)(uint64_t)lo * w0)
                short_lo += (spi_u128)(uint64_t)lo * w0 - p;
        }
        if (excess_hi == 0 && short_lo == 0)
            return;
        bool clamp_hi = excess_hi >= short_lo, clamp_lo = short_lo >= excess_hi;
        size_t keep = 0;
        for (size_t k = 0; k < *nfree; k++) {
            uint32_t i = idx[k];
            int64_t lo, hi;
            unit_bounds(j, i, &lo, &hi);
            uint64_t w = (uint64_t)weight_of(j, i);
            spi_u128 p = (spi_u128)w * r0;
            if (clamp_hi && hi != NO_MAX && p > (spi_u128)(uint64_t)hi * w0) {
                vals[i] = hi;
            } else if (clamp_lo && p < (spi_u128)(uint64_t)lo * w0) {
                vals[i] = lo;
            } else {
                idx[keep++] = i;
                continue;
            }
            *r_free -= (uint64_t)vals[i];
            *w_free -= w;
        }
        *nfree = keep;
    }
}

/* Floor of each free share, then one more unit for the r_free - sum(floor) largest
 * remainders, equal remainders by lowest index. idx NULL: parts 0 .. nfree - 1 (a part of
 * weight zero then has remainder zero, and a zero remainder is never among the largest:
 * fewer than nfree leftover units need fewer than nfree non-zero remainders). */
static void round_shares(const alloc_job *j, const uint32_t *idx, size_t nfree, int64_t *vals,
                         uint64_t *rem, uint64_t r_free, uint64_t w_free)
{
    if (nfree == 0)
        return;
    uint64_t sum_floor = 0;
    for (size_t k = 0; k < nfree; k++) {
        size_t i = idx != NULL ? idx[k] : k;
        spi_u128 p = (spi_u128)(uint64_t)weight_of(j, i) * r_free;
        uint64_t q, r;
        if (p >> 64 == 0) {
            q = (uint64_t)p / w_free;
            r = (uint64_t)p % w_free;
        } else {
            q = (uint64_t)(p / w_free);
            r = (uint64_t)(p % w_free);
        }
        vals[i] = (int64_t)q;
        rem[k] = r;
        sum_floor += q;
    }
    uint64_t extra = r_free - sum_floor;
    if (extra == 0)
        return;
    int top_shift = 56;
    while (top_shift > 0 && ((w_free - 1) >> top_shift) == 0)
        top_shift -= 8;
    uint64_t take_equal;
    uint64_t threshold = kth_largest(rem, nfree, extra, top_shift, &take_equal);
    for (size_t k = 0; k < nfree; k++) {
        size_t i = idx != NULL ? idx[k] : k;
        if (rem[k] > threshold) {
            vals[i]++;
        } else if (rem[k] == threshold && take_equal > 0) {
            vals[i]++;
            take_equal--;
        }
    }
}

/* Words for messages about oriented sums, in the caller's terms. */
static const char *lower_bounds_word(const alloc_job *j)
{
    return j->neg ? "maximums" : "minimums";
}

static const char *upper_bounds_word(const alloc_job *j)
{
    return j->neg ? "minimums" : "maximums";
}

static const char *sign_text(const alloc_job *j)
{
    return j->neg ? "-" : "";
}

/*
 * The end of every split: R mod unit goes to the largest positive-weight part that can take
 * it (a zero-weight part holds exactly its minimum, as in the unrounded split), the parts
 * are checked to add up, and only then is `out` written. `vals` holds the unlocked parts in
 * whole units, oriented.
 */
static int finish_parts(const alloc_job *j, size_t n, const int64_t *vals, uint64_t r_units,
                        uint64_t residue, int64_t *out)
{
    size_t residue_part = SIZE_MAX;
    if (residue > 0) {
        for (size_t i = 0; i < n; i++) {
            if (is_locked(j, i) || weight_of(j, i) == 0)
                continue;
            int64_t lo, hi;
            raw_bounds(j, i, &lo, &hi);
            uint64_t v = (uint64_t)vals[i] * (uint64_t)j->unit;
            bool fits = hi == NO_MAX || v + residue <= (uint64_t)hi;
            if (fits && (residue_part == SIZE_MAX || vals[i] > vals[residue_part]))
                residue_part = i;
        }
        if (residue_part == SIZE_MAX)
            return spi_fail(j->ctx, SP_EINVAL,
                            "allocate: the remainder %s%llu of the amount left (not a multiple "
                            "of unit %lld) fits on no part of positive weight within its %s",
                            sign_text(j), (unsigned long long)residue, (long long)j->unit,
                            upper_bounds_word(j));
    }

    /* The parts must add up: a failure here is a bug, and nothing has been written. */
    spi_u128 check = 0;
    for (size_t i = 0; i < n; i++)
        if (!is_locked(j, i))
            check += (uint64_t)vals[i];
    if (check != r_units) {
        char t[48];
        return spi_fail(j->ctx, SP_EINTERNAL, "allocate: parts sum to %s units, expected %llu",
                        u128_text(check, t), (unsigned long long)r_units);
    }

    for (size_t i = 0; i < n; i++) {
        if (is_locked(j, i)) {
            out[i] = j->o.locked_value[i];
            continue;
        }
        int64_t v = vals[i] * j->unit + (i == residue_part ? (int64_t)residue : 0);
        out[i] = j->neg ? -v : v;
    }
    return SP_OK;
}

/* A split without bounds or locked parts: the floors and largest remainders of every part
 * (weight zero included, which gets nothing), then finish_parts. */
static int split_plain(const alloc_job *j, size_t n, uint64_t r_all, uint64_t w_sum,
                       void *scratch, int64_t *out)
{
    int64_t *vals = scratch;
    uint64_t *rem = (uint64_t *)(void *)(vals + n);
    uint64_t r_units = r_all / (uint64_t)j->unit, residue = r_all % (uint64_t)j->unit;
    if (r_units == 0)
        memset(vals, 0, n * sizeof *vals);
    else
        round_shares(j, NULL, n, vals, rem, r_units, w_sum);
    return finish_parts(j, n, vals, r_units, residue, out);
}

int spi_allocate_plain(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                       uint64_t weight_sum, int64_t unit, void *scratch, int64_t *out)
{
    alloc_job job = { ctx, weights, SP_ALLOC_OPTIONS_INIT, total < 0, unit };
    uint64_t r_all = total < 0 ? (uint64_t)-total : (uint64_t)total;
    return split_plain(&job, n, r_all, weight_sum, scratch, out);
}

int sp_allocate(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                const sp_alloc_options *opts, int64_t *out)
{
    return spi_allocate_scratch(ctx, total, weights, n, opts, NULL, out);
}

int spi_allocate_scratch(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                         const sp_alloc_options *opts, void *given_scratch, int64_t *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    alloc_job job = { ctx, weights, SP_ALLOC_OPTIONS_INIT, false, 1 };
    alloc_job *j = &job;
    int rc = spi_struct_read(ctx, "sp_alloc_options", &j->o, opts, alloc_options_sizes,
                             SP_ALLOC_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (n > 0 && out == NULL)
        return spi_fail(ctx, SP_EINVAL, "allocate: out is NULL");
    if (j->o.locked != NULL && j->o.locked_value == NULL)
        return spi_fail(ctx, SP_EINVAL, "allocate: locked is set but locked_value is NULL");
    if (j->o.unit < 0)
        return spi_fail(ctx, SP_EINVAL, "allocate: unit %lld is negative",
                        (long long)j->o.unit);
    if (n > UINT32_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, "allocate: %zu parts exceed the limit of 2^32 - 1",
                        n);
    j->unit = j->o.unit > 1 ? j->o.unit : 1;
    if (total == INT64_MIN)
        return spi_fail(ctx, SP_EOVERFLOW, "allocate: total is INT64_MIN, which has no "
                                           "mirror image");

    /* Pass 1: validate every part, sum the locked values. */
    int64_t locked_sum = 0;
    size_t unlocked = 0;
    for (size_t i = 0; i < n; i++) {
        if (is_locked(j, i)) {
            int64_t v = j->o.locked_value[i];
            if (v == INT64_MIN || __builtin_add_overflow(locked_sum, v, &locked_sum))
                return spi_fail(ctx, SP_EOVERFLOW,
                                "allocate: locked values overflow at part %zu", i);
            continue;
        }
        unlocked++;
        if (weight_of(j, i) < 0)
            return spi_fail(ctx, SP_EINVAL, "allocate: weights[%zu] = %lld is negative", i,
                            (long long)weight_of(j, i));
        if ((j->o.min != NULL && j->o.min[i] == INT64_MIN) ||
            (j->o.max != NULL && j->o.max[i] == INT64_MIN))
            return spi_fail(ctx, SP_EOVERFLOW, "allocate: a bound of part %zu is INT64_MIN", i);
        if (j->o.min != NULL && j->o.max != NULL && j->o.min[i] > j->o.max[i])
            return spi_fail(ctx, SP_EINVAL, "allocate: part %zu: min %lld is above max %lld", i,
                            (long long)j->o.min[i], (long long)j->o.max[i]);
    }
    int64_t rest;
    if (__builtin_sub_overflow(total, locked_sum, &rest) || rest == INT64_MIN)
        return spi_fail(ctx, SP_EOVERFLOW,
                        "allocate: total %lld minus locked parts %lld overflows",
                        (long long)total, (long long)locked_sum);
    if ((total > 0 && rest < 0) || (total < 0 && rest > 0))
        return spi_fail(ctx, SP_EINVAL, "allocate: locked parts sum to %lld, beyond the total "
                                        "%lld",
                        (long long)locked_sum, (long long)total);
    if (unlocked == 0 && rest != 0)
        return spi_fail(ctx, SP_EINVAL,
                        "allocate: %s: the locked parts sum to %lld, not the total %lld",
                        n == 0 ? "no parts" : "every part is locked", (long long)locked_sum,
                        (long long)total);
    j->neg = rest < 0 || (rest == 0 && total < 0);
    const uint64_t r_all = (uint64_t)(rest < 0 ? -rest : rest);
    const uint64_t r_units = r_all / (uint64_t)j->unit, residue = r_all % (uint64_t)j->unit;

    /* Pass 2: oriented bounds, their sums and the sum of the weights. Capacities are
     * summed twice: as given (the bound the caller wrote) and in whole units. */
    spi_u128 sum_lo = 0, cap_units = 0, cap_raw = 0, sum_w = 0;
    bool unbounded = false, has_bounds = false;
    for (size_t i = 0; i < n; i++) {
        if (is_locked(j, i))
            continue;
        int64_t lo = 0, hi = 0, raw_hi = 0; /* set unless check_bounds fails */
        if ((rc = check_bounds(j, i, &raw_hi, &lo, &hi)) != SP_OK)
            return rc;
        has_bounds |= lo > 0 || hi != NO_MAX;
        sum_lo += (uint64_t)lo;
        if (weight_of(j, i) == 0) {
            cap_units += (uint64_t)lo;
            cap_raw += (spi_u128)(uint64_t)lo * (uint64_t)j->unit;
        } else {
            sum_w += (uint64_t)weight_of(j, i);
            if (hi == NO_MAX) {
                unbounded = true;
            } else {
                cap_units += (uint64_t)hi;
                cap_raw += (uint64_t)raw_hi;
            }
        }
    }
    char t1[48], t2[48];
    if (sum_w > INT64_MAX)
        return spi_fail(ctx, SP_EOVERFLOW,
                        "allocate: the weights of the unlocked parts sum to %s, beyond 2^63 - 1",
                        u128_text(sum_w, t1));
    if (sum_lo > r_units)
        return spi_fail(ctx, SP_EINVAL,
                        "allocate: the %s of the unlocked parts sum to %s%s, beyond the %s%s "
                        "left after locked parts",
                        lower_bounds_word(j), sign_text(j),
                        u128_text(sum_lo * (uint64_t)j->unit, t1), sign_text(j),
                        u128_text(r_all, t2));
    if (!unbounded && sum_w == 0 && cap_units < r_units)
        return spi_fail(ctx, SP_EINVAL,
                        "allocate: every unlocked weight is zero, so only the %s (%s%s) can be "
                        "placed of the %s%s left after locked parts",
                        lower_bounds_word(j), sign_text(j),
                        u128_text(sum_lo * (uint64_t)j->unit, t1), sign_text(j),
                        u128_text(r_all, t2));
    if (!unbounded && cap_raw < r_all)
        return spi_fail(ctx, SP_EINVAL,
                        "allocate: the %s of the unlocked parts sum to %s%s (zero-weight parts "
                        "count at their %s), short of the %s%s left after locked parts",
                        upper_bounds_word(j), sign_text(j), u128_text(cap_raw, t1),
                        lower_bounds_word(j), sign_text(j), u128_text(r_all, t2));
    if (!unbounded && cap_units < r_units)
        return spi_fail(ctx, SP_EINVAL,
                        "allocate: the %s of the unlocked parts hold only %s%s in multiples of "
                        "unit %lld, short of the %s%s left after locked parts",
                        upper_bounds_word(j), sign_text(j),
                        u128_text(cap_units * (uint64_t)j->unit, t1), (long long)j->unit,
                        sign_text(j), u128_text(r_all, t2));

    /* Scratch: one block, so the only allocation failure point is here. Small splits
     * (months of a year, siblings of a node) are the common case in planning kernels
     * that call this millions of times: they use the stack. */
    size_t bytes_vals = n * sizeof(int64_t), bytes_rem = n * sizeof(uint64_t);
    _Alignas(int64_t) unsigned char stack_scratch[SMALL_PARTS * SCRATCH_PER_PART];
    unsigned char *scratch = given_scratch != NULL ? given_scratch : stack_scratch;
    if (given_scratch == NULL && n > SMALL_PARTS &&
        (scratch = spi_malloc_array(ctx, n, SCRATCH_PER_PART)) == NULL)
        return SP_ENOMEM;
    if (!has_bounds && j->o.locked == NULL) {
        rc = split_plain(j, n, r_all, (uint64_t)sum_w, scratch, out);
        release_scratch(ctx, scratch, stack_scratch, given_scratch);
        return rc;
    }
    int64_t *vals = (int64_t *)(void *)scratch;
    uint64_t *rem = (uint64_t *)(void *)(scratch + bytes_vals);
    uint32_t *idx = (uint32_t *)(void *)(scratch + bytes_vals + bytes_rem);

    uint64_t r_free = r_units, w_free = (uint64_t)sum_w;
    size_t nfree = 0;
    for (size_t i = 0; i < n; i++) {
        vals[i] = 0;
        if (is_locked(j, i))
            continue;
        if (weight_of(j, i) == 0) {
            int64_t lo, hi;
            unit_bounds(j, i, &lo, &hi);
            vals[i] = lo;
            r_free -= (uint64_t)lo;
        } else {
            idx[nfree++] = (uint32_t)i;
        }
    }
    if (has_bounds)
        clamp_rounds(j, idx, &nfree, vals, &r_free, &w_free);
    round_shares(j, idx, nfree, vals, rem, r_free, w_free);
    rc = finish_parts(j, n, vals, r_units, residue, out);
    release_scratch(ctx, scratch, stack_scratch, given_scratch);
    return rc;
}
