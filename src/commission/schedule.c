/*
 * Commission rate schedules: P(x) for the six kinds, the modifiers (gate, accelerators,
 * cap, bonuses) applied in that order, and a line's earning under either rounding policy.
 *
 * Why P(x) never overflows 128 bits. A checked schedule has every rate in [0, 2^63) and
 * every amount in [0, 2^63); a measure x is an int64_t, so |x| <= 2^63.
 *  - flat, retroactive, and every kind for x < 0: P = r x with |r x| < 2^63 * 2^63 = 2^126.
 *  - marginal, x >= 0: P = sum of r_i w_i where w_i = |[0, x] n tier i| >= 0; the widths
 *    telescope to sum w_i = x, so 0 <= P <= x max r_i < 2^126 (every partial sum too).
 *  - interpolated: rho(x) lies between two rates, so rho < 2^63 and rho x < 2^126; its
 *    numerator r_i (b_{i+1} - x) + r_{i+1} (x - b_i) is at most max(r) (b_{i+1} - b_i)
 *    < 2^63 * 2^64 = 2^127 (each term non-negative: b_i <= x < b_{i+1}).
 *  - table: a 10^9 < 2^63 * 2^30 = 2^93.
 *  - curve: P = N / w with w = b_{i+1} - b_i < 2^63 and N = a_i (b_{i+1} - x) + a_{i+1}
 *    (x - b_i), both terms non-negative, so N <= max(a) w < 2^126; P < 2^63 minor units.
 * The modifiers work in 10^-18 minor units (P times 10^9, or times an sp_dec multiplier)
 * and can overflow: every step there is checked (mul_ck, add_ck) and gives SP_EOVERFLOW.
 *
 * A curve's P is not a whole number of 10^-9 minor units: every value of x's evaluation
 * is carried as q + r / d (q in 10^-18 minor units, 0 <= r < d, d = the width w of x's
 * segment, 1 for the other kinds). Every stage keeps that one denominator: the gate takes
 * P or 0, a multiplier scales q and r (r m < 2^63 2^63), a marginal accelerator of a curve
 * starts on a point where P is whole (checked), the cap and the bonuses are whole. R needs
 * only q and whether r is 0 (the rounding thresholds are whole numbers of 10^-18 minor
 * units, so a value strictly between q and q + 1 rounds as any other there); a line's
 * difference V(x) - V(c) needs only the sign of r_x d_c - r_c d_x (< 2^126).
 */
#include <stdio.h>

#include "../core/internal.h"
#include "schedule.h"

/* ---- checked 128-bit arithmetic (no __builtin_mul_overflow on __int128: with clang it
 * needs __muloti4 from compiler-rt) ---- */

#define I128_MAX ((spi_i128)(((spi_u128)1 << 127) - 1))

static bool add_ck(spi_i128 a, spi_i128 b, spi_i128 *out)
{
    if ((b > 0 && a > I128_MAX - b) || (b < 0 && a < -I128_MAX - b))
        return false;
    *out = a + b;
    return true;
}

/* a * b with |result| <= I128_MAX (so -I128_MAX - 1 is never produced). */
static bool mul_ck(spi_i128 a, spi_i128 b, spi_i128 *out)
{
    spi_u128 ua = a < 0 ? (spi_u128)0 - (spi_u128)a : (spi_u128)a;
    spi_u128 ub = b < 0 ? (spi_u128)0 - (spi_u128)b : (spi_u128)b;
    if (ua != 0 && ub > (spi_u128)I128_MAX / ua)
        return false;
    spi_u128 p = ua * ub;
    *out = ((a < 0) != (b < 0)) ? -(spi_i128)p : (spi_i128)p;
    return true;
}

static bool fits_i64(spi_i128 v)
{
    return v >= INT64_MIN && v <= INT64_MAX;
}

/* ---- the checks ---- */

/* `n` values named `name` (a list of `what`), increasing strictly and all > 0. */
static int check_measures(sp_ctx *ctx, const char *what, const char *name, const int64_t *v,
                          size_t n)
{
    if (n > SPI_SCHEDULE_MAX_ITEMS)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu %s are too many (at most %d)", what, n, name,
                        SPI_SCHEDULE_MAX_ITEMS);
    if (n > 0 && v == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, name);
    for (size_t i = 0; i < n; i++) {
        if (i == 0 && v[0] <= 0)
            return spi_fail(ctx, SP_EINVAL, "%s: %s[0]: %lld is not above 0", what, name,
                            (long long)v[0]);
        if (i > 0 && v[i] <= v[i - 1])
            return spi_fail(ctx, SP_EINVAL, "%s: %s[%zu]: %lld is not above %s[%zu] %lld", what,
                            name, i, (long long)v[i], name, i - 1, (long long)v[i - 1]);
    }
    return SP_OK;
}

int spi_schedule_check(sp_ctx *ctx, const spi_schedule *s, const char *what)
{
    char t1[SP_TEXT_MAX], t2[SP_TEXT_MAX];
    if (what == NULL)
        what = "commission schedule";
    if (s == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: the schedule is NULL", what);
    if (s->kind < SPI_SCHEDULE_FLAT || s->kind > SPI_SCHEDULE_PLUGIN)
        return spi_fail(ctx, SP_EINVAL, "%s: kind %u is not a schedule kind (1 to 7)", what,
                        (unsigned)s->kind);
    if (s->boundary > SPI_BOUNDARY_UPPER)
        return spi_fail(ctx, SP_EINVAL, "%s: boundary %u is not lower (0) or upper (1)", what,
                        (unsigned)s->boundary);
    if (s->kind == SPI_SCHEDULE_FLAT && s->nbreaks != 0)
        return spi_fail(ctx, SP_EINVAL, "%s: a flat schedule has no breakpoints, but %zu are "
                                        "given", what, s->nbreaks);
    if (s->kind == SPI_SCHEDULE_PLUGIN &&
        (s->fn == NULL || s->nbreaks != 0 || s->nvalues != 0 || s->rates != NULL ||
         s->amounts != NULL))
        return spi_fail(ctx, SP_EINVAL, "%s: a plug-in schedule has a function and no "
                                        "breakpoints, rates or amounts", what);
    int rc = check_measures(ctx, what, "breaks", s->breaks, s->nbreaks);
    if (rc != SP_OK)
        return rc;
    if (s->kind == SPI_SCHEDULE_PLUGIN)
        goto modifiers;
    const bool table = s->kind == SPI_SCHEDULE_TABLE || s->kind == SPI_SCHEDULE_CURVE;
    const char *vname = table ? "amounts" : "rates";
    if (s->nvalues != s->nbreaks + 1)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu breakpoints need %zu %s, but %zu are given",
                        what, s->nbreaks, s->nbreaks + 1, vname, s->nvalues);
    if (table ? s->rates != NULL : s->amounts != NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: a %s schedule takes %s, not %s", what,
                        !table ? "rate" : s->kind == SPI_SCHEDULE_TABLE ? "table" : "curve",
                        vname, table ? "rates" : "amounts");
    const int64_t *v = table ? s->amounts : s->rates;
    if (v == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, vname);
    for (size_t i = 0; i < s->nvalues; i++) {
        if (v[i] < 0)
            return spi_fail(ctx, SP_EINVAL, "%s: %s[%zu]: %s is negative", what, vname, i,
                            table ? (snprintf(t1, sizeof t1, "%lld", (long long)v[i]), t1)
                                  : spi_dec_text(v[i], t1));
        if (i > 0 && v[i] < v[i - 1] && !s->decreasing)
            return spi_fail(ctx, SP_EINVAL, "%s: %s[%zu]: %s is below %s[%zu] %s, and the "
                                            "schedule does not declare decreasing",
                            what, vname, i,
                            table ? (snprintf(t1, sizeof t1, "%lld", (long long)v[i]), t1)
                                  : spi_dec_text(v[i], t1),
                            vname, i - 1,
                            table ? (snprintf(t2, sizeof t2, "%lld", (long long)v[i - 1]), t2)
                                  : spi_dec_text(v[i - 1], t2));
    }
modifiers:
    if (s->has_gate && s->gate <= 0)
        return spi_fail(ctx, SP_EINVAL, "%s: gate: %lld is not above 0", what,
                        (long long)s->gate);
    if ((rc = check_measures(ctx, what, "accel_from", s->accel_from, s->naccel)) != SP_OK)
        return rc;
    if (s->naccel > 0 && s->accel_mult == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: accel_mult is NULL", what);
    for (size_t i = 0; i < s->naccel; i++)
        if (s->accel_mult[i] < 0)
            return spi_fail(ctx, SP_EINVAL, "%s: accel_mult[%zu]: %s is negative", what, i,
                            spi_dec_text(s->accel_mult[i], t1));
    if (s->has_cap && s->cap < 0)
        return spi_fail(ctx, SP_EINVAL, "%s: cap: %lld is negative", what, (long long)s->cap);
    if ((rc = check_measures(ctx, what, "bonus_at", s->bonus_at, s->nbonus)) != SP_OK)
        return rc;
    if (s->nbonus > 0 && s->bonus_amount == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: bonus_amount is NULL", what);
    for (size_t i = 0; i < s->nbonus; i++)
        if (s->bonus_amount[i] < 0)
            return spi_fail(ctx, SP_EINVAL, "%s: bonus_amount[%zu]: %lld is negative", what, i,
                            (long long)s->bonus_amount[i]);
    /* A curve's marginal accelerator starts where P is whole: on one of its points (P(x) -
     * P(from) keeps x's denominator). */
    if (s->kind == SPI_SCHEDULE_CURVE && !s->accel_retroactive) {
        for (size_t j = 0, i = 0; j < s->naccel; j++) {
            while (i < s->nbreaks && s->breaks[i] < s->accel_from[j])
                i++;
            if (i == s->nbreaks || s->breaks[i] != s->accel_from[j])
                return spi_fail(ctx, SP_EINVAL, "%s: accel_from[%zu]: %lld is not one of the "
                                                "breaks: a curve's marginal accelerators start "
                                                "on its points",
                                what, j, (long long)s->accel_from[j]);
        }
    }
    /* Gates, accelerators, caps and bonuses are thresholds of the period's measure. */
    if (s->per_line_measure) {
        const char *mod = s->has_gate ? "gate" : s->naccel > 0 ? "accelerators"
                        : s->has_cap  ? "cap"  : s->nbonus > 0 ? "bonuses" : NULL;
        if (mod != NULL)
            return spi_fail(ctx, SP_EINVAL, "%s: per_line_measure: a schedule measured per "
                                            "line takes no %s (a threshold of the period's "
                                            "measure)", what, mod);
    }
    return SP_OK;
}

/* ---- P(x) ---- */

/* Whether the measure x has reached the threshold t under the boundary rule. */
static bool reached(const spi_schedule *s, int64_t x, int64_t t)
{
    return s->boundary == SPI_BOUNDARY_UPPER ? x > t : x >= t;
}

/* The number of the n increasing thresholds t that x has reached (binary search). */
static size_t count_reached(const spi_schedule *s, const int64_t *t, size_t n, int64_t x)
{
    size_t lo = 0, hi = n; /* t[0..lo) reached, t[hi..n) not */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (reached(s, x, t[mid]))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t spi_schedule_tier(const spi_schedule *s, int64_t x)
{
    return count_reached(s, s->breaks, s->nbreaks, x);
}

/* rho(x) for x >= 0: in tier i < k, r_i at b_i to r_{i+1} at b_{i+1}, rounded toward zero
 * (rho >= 0, so down); flat r_k from b_k on. The interpolation is continuous, so the
 * boundary rule does not change it. */
static sp_dec interpolated_rate(const spi_schedule *s, int64_t x)
{
    size_t k = s->nbreaks;
    /* the segment of x with the lower boundary rule: b_i <= x < b_{i+1} */
    size_t lo = 0, hi = k;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x >= s->breaks[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t i = lo;
    if (i == k)
        return s->rates[k];
    int64_t b0 = i == 0 ? 0 : s->breaks[i - 1], b1 = s->breaks[i];
    spi_i128 num = (spi_i128)s->rates[i] * (b1 - x) + (spi_i128)s->rates[i + 1] * (x - b0);
    return (sp_dec)(num / (b1 - b0));
}

sp_dec spi_schedule_rate(const spi_schedule *s, int64_t x)
{
    if (s->kind == SPI_SCHEDULE_TABLE || s->kind == SPI_SCHEDULE_CURVE ||
        s->kind == SPI_SCHEDULE_PLUGIN)
        return 0;
    if (x < 0)
        return s->rates[0];
    if (s->kind == SPI_SCHEDULE_INTERPOLATED)
        return interpolated_rate(s, x);
    return s->rates[spi_schedule_tier(s, x)];
}

/* The segment of x >= 0 with the lower boundary rule: b_i <= x < b_{i+1} (b_0 = 0); k
 * from the last point on. */
static size_t segment(const spi_schedule *s, int64_t x)
{
    size_t lo = 0, hi = s->nbreaks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (x >= s->breaks[mid])
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* A curve's P(x) = num / den minor units: a0 below 0, a_k from the last point on, else
 * (a_i (b_{i+1} - x) + a_{i+1} (x - b_i)) / (b_{i+1} - b_i). Continuous, so the boundary
 * rule does not change it. */
static void curve_payout(const spi_schedule *s, int64_t x, spi_i128 *num, int64_t *den)
{
    size_t k = s->nbreaks, i = x < 0 ? 0 : segment(s, x);
    if (x < 0 || i == k) {
        *num = s->amounts[x < 0 ? 0 : k];
        *den = 1;
        return;
    }
    int64_t b0 = i == 0 ? 0 : s->breaks[i - 1], b1 = s->breaks[i];
    *num = (spi_i128)s->amounts[i] * (b1 - x) + (spi_i128)s->amounts[i + 1] * (x - b0);
    *den = b1 - b0;
}

/* floor(n / d) and n mod d for d > 0 (the remainder in [0, d)). */
static spi_i128 floor_div(spi_i128 n, spi_i128 d, spi_i128 *rem)
{
    spi_i128 q = n / d, r = n % d;
    if (r < 0) {
        q -= 1;
        r += d;
    }
    *rem = r;
    return q;
}

void spi_schedule_payout_exact(const spi_schedule *s, int64_t x, spi_i128 *num, int64_t *den)
{
    if (s->kind == SPI_SCHEDULE_CURVE) {
        curve_payout(s, x, num, den);
        return;
    }
    *num = spi_schedule_payout(s, x);
    *den = (int64_t)SPI_SCHEDULE_P_DEN;
}

/* A curve's P(x) in 10^-9 minor units as q + r / den (0 <= r < den). */
static spi_i128 curve_payout9(const spi_schedule *s, int64_t x, spi_i128 *r, int64_t *den)
{
    spi_i128 n, rem, r9;
    curve_payout(s, x, &n, den);
    /* n = Q den + rem, so n 10^9 / den = Q 10^9 + rem 10^9 / den; rem 10^9 < 2^93 */
    spi_i128 q = floor_div(n, *den, &rem);
    q = q * SPI_SCHEDULE_P_DEN + floor_div(rem * SPI_SCHEDULE_P_DEN, *den, &r9);
    *r = r9;
    return q;
}

spi_i128 spi_schedule_payout(const spi_schedule *s, int64_t x)
{
    if (s->kind == SPI_SCHEDULE_CURVE) {
        spi_i128 r;
        int64_t den;
        return curve_payout9(s, x, &r, &den);
    }
    if (s->kind == SPI_SCHEDULE_TABLE) {
        size_t t = x < 0 ? 0 : spi_schedule_tier(s, x);
        return (spi_i128)s->amounts[t] * SPI_SCHEDULE_P_DEN;
    }
    if (x < 0 || s->kind != SPI_SCHEDULE_MARGINAL)
        return (spi_i128)spi_schedule_rate(s, x) * x;
    spi_i128 p = 0;
    int64_t from = 0;
    for (size_t i = 0; i <= s->nbreaks; i++) {
        int64_t to = i < s->nbreaks && s->breaks[i] < x ? s->breaks[i] : x;
        p += (spi_i128)s->rates[i] * (to - from);
        if (to == x)
            break;
        from = to;
    }
    return p;
}

/* ---- the modifiers: the stages of V(x) ---- */

enum { ST_BASE, ST_GATE, ST_ACCEL, ST_CAP, ST_BONUS, NSTAGES };

/* The stages of one evaluation point: stage k is q[k] + r[k] / d in 10^-18 minor units,
 * 0 <= r[k] < d (d = 1 and every r = 0 for the kinds other than a curve). */
typedef struct vals {
    spi_i128 q[NSTAGES], r[NSTAGES];
    spi_i128 d;
} vals;

/* P at x in 10^-9 minor units, as *q + *r / *d; a plug-in's function's status. */
static int payout9(const spi_schedule *s, int64_t x, spi_i128 *q, spi_i128 *r, spi_i128 *d)
{
    if (s->kind == SPI_SCHEDULE_PLUGIN) {
        int64_t p;
        int rc = s->fn(s->fn_arg, x, &p);
        if (rc != SP_OK)
            return rc;
        *q = (spi_i128)p * SPI_SCHEDULE_P_DEN;
        *r = 0;
        *d = 1;
        return SP_OK;
    }
    if (s->kind != SPI_SCHEDULE_CURVE) {
        *r = 0;
        *d = 1;
        *q = spi_schedule_payout(s, x);
        return SP_OK;
    }
    int64_t den;
    *q = curve_payout9(s, x, r, &den);
    *d = den;
    return SP_OK;
}

/* (q + r / d) m as *oq + *or / d: q m + floor(r m / d), with |r m| < 2^63 2^64. */
static bool scale(spi_i128 q, spi_i128 r, spi_i128 d, spi_i128 m, spi_i128 *oq, spi_i128 *or_)
{
    spi_i128 t, f = floor_div(r * m, d, or_);
    if (!mul_ck(q, m, &t) || !add_ck(t, f, oq))
        return false;
    return true;
}

/* *q + *r / d += aq + ar / d (ar in [0, d)). */
static bool add_frac(spi_i128 *q, spi_i128 *r, spi_i128 d, spi_i128 aq, spi_i128 ar)
{
    spi_i128 nr = *r + ar;
    if (nr >= d) {
        nr -= d;
        if (!add_ck(aq, 1, &aq))
            return false;
    }
    if (!add_ck(*q, aq, q))
        return false;
    *r = nr;
    return true;
}

/* The value of x after each stage. */
static int stages(const spi_schedule *s, int64_t x, vals *v)
{
    const spi_i128 P_DEN = SPI_SCHEDULE_P_DEN;
    spi_i128 pr, d, p;
    int rc = payout9(s, x, &p, &pr, &d);
    if (rc != SP_OK)
        return rc;
    bool open = !s->has_gate || reached(s, x, s->gate);
    spi_i128 g = open ? p : 0, gr = open ? pr : 0;
    v->d = d;
    if (!scale(p, pr, d, P_DEN, &v->q[ST_BASE], &v->r[ST_BASE]) ||
        !scale(g, gr, d, P_DEN, &v->q[ST_GATE], &v->r[ST_GATE]))
        return SP_EOVERFLOW;
    spi_i128 a = v->q[ST_GATE], ar = v->r[ST_GATE];
    if (s->naccel > 0 && s->accel_retroactive) {
        size_t j = count_reached(s, s->accel_from, s->naccel, x);
        if (j > 0 && !scale(g, gr, d, s->accel_mult[j - 1], &a, &ar))
            return SP_EOVERFLOW;
    } else {
        /* Each part of the gated payout at its own multiplier: with M_0 = 1,
         * A(x) = G(x) + sum over from_j < x of (M_j - M_{j-1}) (G(x) - G(from_j)). G(from_j)
         * is whole in 10^-9 minor units (a curve's from_j is one of its points). */
        for (size_t j = 0; j < s->naccel && x > s->accel_from[j]; j++) {
            spi_i128 dm = (spi_i128)s->accel_mult[j] - (j == 0 ? SP_DEC_ONE : s->accel_mult[j - 1]);
            spi_i128 fr, fd, f = 0;
            if ((!s->has_gate || reached(s, s->accel_from[j], s->gate)) &&
                (rc = payout9(s, s->accel_from[j], &f, &fr, &fd)) != SP_OK)
                return rc;
            spi_i128 t, tr;
            if (!scale(g - f, gr, d, dm, &t, &tr) || !add_frac(&a, &ar, d, t, tr))
                return SP_EOVERFLOW;
        }
    }
    v->q[ST_ACCEL] = a;
    v->r[ST_ACCEL] = ar;
    spi_i128 capv = (spi_i128)s->cap * SPI_SCHEDULE_V_DEN;
    bool capped = s->has_cap && (a > capv || (a == capv && ar > 0));
    v->q[ST_CAP] = capped ? capv : a;
    v->r[ST_CAP] = capped ? 0 : ar;
    spi_i128 b = v->q[ST_CAP];
    size_t nb = count_reached(s, s->bonus_at, s->nbonus, x);
    for (size_t j = 0; j < nb; j++)
        if (!add_ck(b, (spi_i128)s->bonus_amount[j] * SPI_SCHEDULE_V_DEN, &b))
            return SP_EOVERFLOW;
    v->q[ST_BONUS] = b;
    v->r[ST_BONUS] = v->r[ST_CAP];
    return SP_OK;
}

int spi_schedule_value(const spi_schedule *s, int64_t x, spi_i128 *out)
{
    vals v;
    if (s == NULL || out == NULL)
        return SP_EINVAL;
    int rc = stages(s, x, &v);
    if (rc == SP_OK)
        *out = v.q[ST_BONUS];
    return rc;
}

/* ---- a line ---- */

/* R((q + f) / 10^18) for f = 0 (frac false) or 0 < f < 1 (frac true). The thresholds of
 * R are whole numbers of 10^-18 minor units, so q + f rounds as q + 1/2 would: as q when
 * q's remainder is neither 0 nor half, else as q + 1. |q| < 2^127: the quotient is far
 * inside int64_t's range times 10^2. */
static spi_i128 round_q(spi_i128 q, bool frac, uint32_t mode)
{
    const spi_i128 D = SPI_SCHEDULE_V_DEN;
    if (frac) {
        spi_i128 rem;
        (void)floor_div(q, D, &rem);
        if (rem == 0 || rem == D / 2)
            q += 1; /* q is then a multiple of 10^18 or half of one: not I128_MAX */
    }
    return spi_div_round_i128(q, D, mode);
}

/* R(stage k of v). */
static spi_i128 round_v(const vals *v, int k, uint32_t mode)
{
    return round_q(v->q[k], v->r[k] != 0, mode);
}

/* R(stage k of vx - stage k of vc); false on overflow. */
static bool round_diff(const vals *vx, const vals *vc, int k, uint32_t mode, spi_i128 *out)
{
    spi_i128 dq;
    if (!add_ck(vx->q[k], -vc->q[k], &dq))
        return false;
    /* the sign of r_x / d_x - r_c / d_c: products of values below 2^63 */
    spi_i128 lx = vx->r[k] * vc->d, lc = vc->r[k] * vx->d;
    if (lx < lc && !add_ck(dq, -1, &dq)) /* in (dq - 1, dq) */
        return false;
    *out = round_q(dq, lx != lc, mode);
    return true;
}

/*
 * The schedule's own part of a line, before the modifiers; the true-up is the rest of the
 * base earning `base`, so the two sum to it exactly.
 *  - retroactive, interpolated: the line's measure m at the rate reached, rho(c + m) m,
 *    rounded by `mode` (the true-up is then (rho(c + m) - rho(c)) c plus the rounding).
 *  - table, curve, plug-in (amounts, no rate): the line's base earning, the rounded change of the
 *    payout P(x) - P(c) (a table's step), is shared by the measure pro rata: of the
 *    positive measure up to hi = max(c, x), the line moved hi - lo (lo = max(min(c, x), 0))
 *    and the measure before it lo, so the own part is base (hi - lo) / hi, rounded by
 *    `mode`. A line from no measure (c <= 0) or back to none (x <= 0) owns all of it; a
 *    line within a table's tier earns nothing and shows nothing.
 *  - flat, marginal: all of it (what the measure before earned does not change).
 */
static spi_i128 own_part(const spi_schedule *s, int64_t c, int64_t m, int64_t x, spi_i128 base,
                         uint32_t mode)
{
    switch (s->kind) {
    case SPI_SCHEDULE_RETROACTIVE:
    case SPI_SCHEDULE_INTERPOLATED:
        /* |rho m| < 2^63 * 2^63 = 2^126 */
        return spi_div_round_i128((spi_i128)spi_schedule_rate(s, x) * m, SPI_SCHEDULE_P_DEN,
                                  mode);
    case SPI_SCHEDULE_TABLE:
    case SPI_SCHEDULE_CURVE:
    case SPI_SCHEDULE_PLUGIN: {
        int64_t hi = c > x ? c : x, lo = c < x ? c : x;
        if (lo < 0)
            lo = 0;
        if (hi <= 0)
            return base;
        /* |base| < 2^63 (checked by the caller); times hi - lo < 2^63 */
        return spi_div_round_i128(base * (hi - lo), hi, mode);
    }
    default:
        return base;
    }
}

/* The line from c to c + m, accumulated. */
static int line_from(const spi_schedule *s, int64_t c, int64_t m, uint32_t policy,
                     uint32_t mode, spi_schedule_line_out *out)
{
    int64_t x;
    if (__builtin_add_overflow(c, m, &x))
        return SP_EOVERFLOW;
    vals vc, vx;
    spi_i128 part[NSTAGES];
    int rc = stages(s, c, &vc);
    if (rc != SP_OK || (rc = stages(s, x, &vx)) != SP_OK)
        return rc;
    /* e[k]: the line's earning after stage k, rounded by the policy; the part of stage k
     * is e[k] - e[k - 1], so the parts sum to e[ST_BONUS], the earning, exactly. */
    spi_i128 e[NSTAGES];
    for (int k = 0; k < NSTAGES; k++) {
        if (policy == SPI_ROUND_PER_TOTAL) {
            spi_i128 rx = round_v(&vx, k, mode), rcv = round_v(&vc, k, mode);
            if (k == ST_BONUS && (!fits_i64(rx) || !fits_i64(rcv)))
                return SP_EOVERFLOW;
            e[k] = rx - rcv;
        } else if (!round_diff(&vx, &vc, k, mode, &e[k])) {
            return SP_EOVERFLOW;
        }
        part[k] = k == 0 ? e[0] : e[k] - e[k - 1];
        if (!fits_i64(part[k]) || !fits_i64(e[k]))
            return SP_EOVERFLOW;
    }
    spi_i128 own = own_part(s, c, m, x, part[ST_BASE], mode);
    spi_i128 true_up = part[ST_BASE] - own;
    spi_i128 capped_to_date = round_v(&vx, ST_ACCEL, mode) - round_v(&vx, ST_CAP, mode);
    if (!fits_i64(own) || !fits_i64(true_up) || !fits_i64(capped_to_date))
        return SP_EOVERFLOW;
    spi_schedule_line_out o;
    o.earned = (int64_t)e[ST_BONUS];
    o.own = (int64_t)own;
    o.true_up = (int64_t)true_up;
    o.gate = (int64_t)part[ST_GATE];
    o.accel = (int64_t)part[ST_ACCEL];
    o.capped = (int64_t)-part[ST_CAP];
    o.bonus = (int64_t)part[ST_BONUS];
    o.capped_to_date = (int64_t)capped_to_date;
    o.tier_before = spi_schedule_tier(s, c);
    o.tier_after = spi_schedule_tier(s, x);
    o.rate_before = spi_schedule_rate(s, c);
    o.rate = spi_schedule_rate(s, x);
    *out = o;
    return SP_OK;
}

int spi_schedule_line(const spi_schedule *s, int64_t c, int64_t m, uint32_t policy,
                      uint32_t mode, spi_schedule_line_out *out)
{
    if (s == NULL || out == NULL || policy > SPI_ROUND_PER_LINE || !spi_rounding_valid(mode))
        return SP_EINVAL;
    if (!s->per_line_measure)
        return line_from(s, c, m, policy, mode, out);
    /* Measured per line: the line from 0 to m; a refund mirrors the sale of its size (a
     * check()ed schedule has no modifiers here, so capped_to_date is 0). */
    if (m >= 0)
        return line_from(s, 0, m, policy, mode, out);
    if (m == INT64_MIN)
        return SP_EOVERFLOW;
    spi_schedule_line_out o;
    int rc = line_from(s, 0, -m, policy, mode, &o);
    if (rc != SP_OK)
        return rc;
    o.earned = -o.earned;
    o.own = -o.own;
    o.true_up = -o.true_up;
    o.gate = -o.gate;
    o.accel = -o.accel;
    o.capped = -o.capped;
    o.bonus = -o.bonus;
    o.capped_to_date = -o.capped_to_date;
    *out = o;
    return SP_OK;
}

/* ---- attainment ---- */

int spi_schedule_attainment_breaks(sp_ctx *ctx, const char *what, int64_t quota,
                                   const sp_dec *pct, size_t k, int64_t *breaks)
{
    char t1[SP_TEXT_MAX], t2[SP_TEXT_MAX];
    if (what == NULL)
        what = "commission schedule";
    if (quota <= 0)
        return spi_fail(ctx, SP_EINVAL, "%s: the quota is %lld: attainment breakpoints need a "
                                        "quota above 0", what, (long long)quota);
    if (k > SPI_SCHEDULE_MAX_ITEMS)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu breakpoints are too many (at most %d)", what, k,
                        SPI_SCHEDULE_MAX_ITEMS);
    if (k > 0 && (pct == NULL || breaks == NULL))
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, pct == NULL ? "pct" : "breaks");
    /* Two passes: every breakpoint checked before the first is written. */
    for (int pass = 0; pass < 2; pass++) {
        int64_t prev = 0;
        for (size_t i = 0; i < k; i++) {
            if (pass == 0 && pct[i] <= 0)
                return spi_fail(ctx, SP_EINVAL, "%s: pct[%zu]: %s is not above 0%%", what, i,
                                spi_percent_text(pct[i], t1));
            if (pass == 0 && i > 0 && pct[i] <= pct[i - 1]) {
                (void)spi_percent_text(pct[i], t1);
                (void)spi_percent_text(pct[i - 1], t2);
                return spi_fail(ctx, SP_EINVAL, "%s: pct[%zu]: %s is not above pct[%zu] %s", what,
                                i, t1, i - 1, t2);
            }
            /* pct, quota < 2^63: the product < 2^126 */
            spi_i128 b = spi_div_round_i128((spi_i128)pct[i] * quota, SPI_SCHEDULE_P_DEN,
                                            SP_ROUND_CEILING);
            if (pass == 0 && b > INT64_MAX) {
                (void)spi_percent_text(pct[i], t1);
                return spi_fail(ctx, SP_EOVERFLOW, "%s: pct[%zu]: %s of quota %lld is beyond "
                                                   "2^63 - 1", what, i, t1, (long long)quota);
            }
            if (pass == 0 && i > 0 && b == prev) {
                (void)spi_percent_text(pct[i], t1);
                (void)spi_percent_text(pct[i - 1], t2);
                return spi_fail(ctx, SP_EINVAL, "%s: pct[%zu] %s and pct[%zu] %s both become "
                                                "the measure %lld with quota %lld",
                                what, i - 1, t2, i, t1, (long long)b, (long long)quota);
            }
            if (pass == 1)
                breaks[i] = (int64_t)b;
            prev = (int64_t)b;
        }
    }
    return SP_OK;
}
