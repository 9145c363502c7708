/* Checked integer arithmetic and rounded multiplication and division. */
#include "numeric.h"

static const int64_t pow10_table[SP_MONEY_MAX_EXPONENT + 1] = {
    INT64_C(1),
    INT64_C(10),
    INT64_C(100),
    INT64_C(1000),
    INT64_C(10000),
    INT64_C(100000),
    INT64_C(1000000),
    INT64_C(10000000),
    INT64_C(100000000),
    INT64_C(1000000000),
    INT64_C(10000000000),
    INT64_C(100000000000),
    INT64_C(1000000000000),
    INT64_C(10000000000000),
    INT64_C(100000000000000),
    INT64_C(1000000000000000),
    INT64_C(10000000000000000),
    INT64_C(100000000000000000),
    INT64_C(1000000000000000000),
};

int64_t spi_pow10(int e)
{
    return pow10_table[e];
}

bool spi_rounding_valid(uint32_t mode)
{
    return mode <= SP_ROUND_FLOOR;
}

bool spi_round_away(uint32_t mode, bool negative, int half, bool inexact, bool odd)
{
    if (!inexact)
        return false;
    switch (mode) {
    case SP_ROUND_HALF_EVEN: return half > 0 || (half == 0 && odd);
    case SP_ROUND_HALF_UP: return half >= 0;
    case SP_ROUND_HALF_DOWN: return half > 0;
    case SP_ROUND_UP: return true;
    case SP_ROUND_DOWN: return false;
    case SP_ROUND_CEILING: return !negative;
    case SP_ROUND_FLOOR: return negative;
    }
    return false;
}

spi_i128 spi_div_round_i128(spi_i128 n, spi_i128 d, uint32_t mode)
{
    bool negative = (n < 0) != (d < 0);
    spi_u128 un = n < 0 ? (spi_u128)(-n) : (spi_u128)n;
    spi_u128 ud = d < 0 ? (spi_u128)(-d) : (spi_u128)d;
    spi_u128 q = un / ud;
    spi_u128 r = un % ud;
    /* Compare r with ud / 2 without overflow: r > ud - r  <=>  2r > ud. */
    int half = r > ud - r ? 1 : (r == ud - r ? 0 : -1);
    if (spi_round_away(mode, negative, half, r != 0, (q & 1u) != 0))
        q += 1;
    return negative ? -(spi_i128)q : (spi_i128)q;
}

static int fit_i64(spi_i128 v, int64_t *out)
{
    if (v < INT64_MIN || v > INT64_MAX)
        return SP_EOVERFLOW;
    *out = (int64_t)v;
    return SP_OK;
}

/* The result of a checked builtin: the builtin stores the wrapped value either way. */
static int checked(bool overflow, const int64_t *result, int64_t *out)
{
    if (out == NULL)
        return SP_EINVAL;
    if (overflow)
        return SP_EOVERFLOW;
    *out = *result;
    return SP_OK;
}

int sp_money_add(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    return checked(__builtin_add_overflow(a, b, &r), &r, out);
}

int sp_money_sub(int64_t a, int64_t b, int64_t *out)
{
    int64_t r;
    return checked(__builtin_sub_overflow(a, b, &r), &r, out);
}

int sp_money_mul(int64_t a, int64_t n, int64_t *out)
{
    int64_t r;
    return checked(__builtin_mul_overflow(a, n, &r), &r, out);
}

int sp_muldiv(int64_t a, int64_t b, int64_t c, uint32_t mode, int64_t *out)
{
    if (out == NULL || c == 0 || !spi_rounding_valid(mode))
        return SP_EINVAL;
    return fit_i64(spi_div_round_i128((spi_i128)a * b, c, mode), out);
}

int sp_div_round(int64_t a, int64_t b, uint32_t mode, int64_t *out)
{
    return sp_muldiv(a, 1, b, mode, out);
}

int sp_money_mul_dec(int64_t amount, sp_dec rate, uint32_t mode, int64_t *out)
{
    return sp_muldiv(amount, rate, SP_DEC_ONE, mode, out);
}

int sp_dec_mul(sp_dec a, sp_dec b, uint32_t mode, sp_dec *out)
{
    return sp_muldiv(a, b, SP_DEC_ONE, mode, out);
}

int sp_dec_div(int64_t a, int64_t b, uint32_t mode, sp_dec *out)
{
    return sp_muldiv(a, SP_DEC_ONE, b, mode, out);
}

int sp_money_rescale(int64_t amount, int32_t from_exponent, int32_t to_exponent,
                     uint32_t mode, int64_t *out)
{
    if (from_exponent < 0 || from_exponent > SP_MONEY_MAX_EXPONENT || to_exponent < 0 ||
        to_exponent > SP_MONEY_MAX_EXPONENT)
        return SP_EINVAL;
    if (to_exponent >= from_exponent)
        return sp_money_mul(amount, spi_pow10(to_exponent - from_exponent), out);
    return sp_div_round(amount, spi_pow10(from_exponent - to_exponent), mode, out);
}

int sp_money_round_to(int64_t amount, int64_t unit, uint32_t mode, int64_t *out)
{
    if (out == NULL || unit <= 0 || !spi_rounding_valid(mode))
        return SP_EINVAL;
    spi_i128 q = spi_div_round_i128(amount, unit, mode);
    return fit_i64(q * unit, out);
}
