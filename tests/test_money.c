/* Money: rounding modes, checked and 128-bit arithmetic, currencies, text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

static const sp_rounding modes[7] = { SP_ROUND_UP,      SP_ROUND_DOWN,      SP_ROUND_CEILING,
                                      SP_ROUND_FLOOR,   SP_ROUND_HALF_UP,   SP_ROUND_HALF_DOWN,
                                      SP_ROUND_HALF_EVEN };

/*
 * The table of java.math.RoundingMode's documentation (the published reference for these
 * seven modes): input in tenths, then the result for UP, DOWN, CEILING, FLOOR, HALF_UP,
 * HALF_DOWN, HALF_EVEN.
 */
static const struct {
    int64_t tenths;
    const char *text;
    int64_t expect[7];
} rounding_table[] = {
    { 55, "5.5", { 6, 5, 6, 5, 6, 5, 6 } },
    { 25, "2.5", { 3, 2, 3, 2, 3, 2, 2 } },
    { 16, "1.6", { 2, 1, 2, 1, 2, 2, 2 } },
    { 11, "1.1", { 2, 1, 2, 1, 1, 1, 1 } },
    { 10, "1.0", { 1, 1, 1, 1, 1, 1, 1 } },
    { -10, "-1.0", { -1, -1, -1, -1, -1, -1, -1 } },
    { -11, "-1.1", { -2, -1, -1, -2, -1, -1, -1 } },
    { -16, "-1.6", { -2, -1, -1, -2, -2, -2, -2 } },
    { -25, "-2.5", { -3, -2, -2, -3, -3, -2, -2 } },
    { -55, "-5.5", { -6, -5, -5, -6, -6, -5, -6 } },
};

static void test_rounding_table_division(void **state)
{
    (void)state;
    for (size_t r = 0; r < sizeof rounding_table / sizeof rounding_table[0]; r++) {
        for (size_t m = 0; m < 7; m++) {
            int64_t got = 999;
            assert_int_equal(sp_div_round(rounding_table[r].tenths, 10, modes[m], &got), SP_OK);
            if (got != rounding_table[r].expect[m])
                fail_msg("%s in mode %d: got %lld, expected %lld", rounding_table[r].text,
                         (int)modes[m], (long long)got, (long long)rounding_table[r].expect[m]);
            /* A negative divisor gives the same quotient as negating both. */
            assert_int_equal(sp_div_round(-rounding_table[r].tenths, -10, modes[m], &got), SP_OK);
            assert_int_equal(got, rounding_table[r].expect[m]);
        }
    }
}

static void test_rounding_table_text(void **state)
{
    (void)state;
    /* The same table through the text parser, a separate code path to the same rule. */
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    for (size_t r = 0; r < sizeof rounding_table / sizeof rounding_table[0]; r++) {
        for (size_t m = 0; m < 7; m++) {
            int64_t got = 999;
            assert_int_equal(sp_money_parse(ctx, rounding_table[r].text, 0, SP_TEXT_ROUND,
                                            modes[m], &got),
                             SP_OK);
            assert_int_equal(got, rounding_table[r].expect[m]);
        }
    }
    sp_ctx_free(ctx);
}

static void test_rounding_halves(void **state)
{
    (void)state;
    /* Half-even on successive halves: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 3.5 -> 4, mirrored. */
    static const int64_t halves[][2] = { { 5, 0 },   { 15, 2 },  { 25, 2 },   { 35, 4 },
                                         { -5, 0 },  { -15, -2 }, { -25, -2 }, { -35, -4 } };
    for (size_t i = 0; i < sizeof halves / sizeof halves[0]; i++) {
        int64_t got;
        assert_int_equal(sp_div_round(halves[i][0], 10, SP_ROUND_HALF_EVEN, &got), SP_OK);
        assert_int_equal(got, halves[i][1]);
    }
    /* Just above and below one half. */
    int64_t got;
    assert_int_equal(sp_div_round(501, 1000, SP_ROUND_HALF_DOWN, &got), SP_OK);
    assert_int_equal(got, 1);
    assert_int_equal(sp_div_round(-499, 1000, SP_ROUND_HALF_UP, &got), SP_OK);
    assert_int_equal(got, 0);
    assert_int_equal(sp_div_round(7, 0, SP_ROUND_HALF_UP, &got), SP_EINVAL);
    assert_int_equal(sp_div_round(7, 2, (sp_rounding)7, &got), SP_EINVAL);
    assert_int_equal(sp_div_round(7, 2, (sp_rounding)-1, &got), SP_EINVAL);
}

static void test_checked_edges(void **state)
{
    (void)state;
    int64_t r = 42;
    assert_int_equal(sp_money_add(INT64_MAX - 1, 1, &r), SP_OK);
    assert_true(r == INT64_MAX);
    assert_int_equal(sp_money_add(INT64_MAX, 1, &r), SP_EOVERFLOW);
    assert_true(r == INT64_MAX); /* untouched on error */
    assert_int_equal(sp_money_add(INT64_MIN, -1, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_sub(INT64_MIN, 1, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_sub(0, INT64_MIN, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_sub(-1, INT64_MAX, &r), SP_OK);
    assert_true(r == INT64_MIN);
    assert_int_equal(sp_money_mul(INT64_MIN, -1, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_mul(INT64_C(4611686018427387904), 2, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_mul(INT64_C(-4611686018427387904), 2, &r), SP_OK);
    assert_true(r == INT64_MIN);
    assert_int_equal(sp_money_add(1, 1, NULL), SP_EINVAL);
}

static void test_muldiv_128(void **state)
{
    (void)state;
    int64_t r;
    /* The intermediate product is far beyond 64 bits; the quotient is exact. */
    assert_int_equal(sp_muldiv(INT64_MAX, INT64_MAX, INT64_MAX, SP_ROUND_DOWN, &r), SP_OK);
    assert_true(r == INT64_MAX);
    assert_int_equal(sp_muldiv(INT64_MIN, INT64_MAX, INT64_MAX, SP_ROUND_DOWN, &r), SP_OK);
    assert_true(r == INT64_MIN);
    assert_int_equal(sp_muldiv(INT64_MIN, -1, 1, SP_ROUND_DOWN, &r), SP_EOVERFLOW);
    assert_int_equal(sp_muldiv(INT64_MAX, 2, 1, SP_ROUND_DOWN, &r), SP_EOVERFLOW);
    /* (2^62 * 3) / 2^61 = 6 */
    assert_int_equal(sp_muldiv(INT64_C(1) << 62, 3, INT64_C(1) << 61, SP_ROUND_DOWN, &r), SP_OK);
    assert_int_equal(r, 6);
    /* 10^18 * 10^18 / (3 * 10^18) = 333333333333333333.33... */
    int64_t e18 = INT64_C(1000000000000000000);
    assert_int_equal(sp_muldiv(e18, e18, 3 * e18, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_true(r == INT64_C(333333333333333333));
    assert_int_equal(sp_muldiv(e18, e18, 3 * e18, SP_ROUND_CEILING, &r), SP_OK);
    assert_true(r == INT64_C(333333333333333334));
    assert_int_equal(sp_muldiv(1, 1, 0, SP_ROUND_DOWN, &r), SP_EINVAL);
}

static void test_money_times_rate(void **state)
{
    (void)state;
    int64_t r;
    /* 123.45 at 3.5 % = 4.32075 -> 4.32 in every nearest mode */
    assert_int_equal(sp_money_mul_dec(12345, 35000000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 432);
    assert_int_equal(sp_money_mul_dec(12345, 35000000, SP_ROUND_UP, &r), SP_OK);
    assert_int_equal(r, 433);
    /* 2.50 at 1 % = 2.5 cents: a tie */
    assert_int_equal(sp_money_mul_dec(250, 10000000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 2);
    assert_int_equal(sp_money_mul_dec(250, 10000000, SP_ROUND_HALF_UP, &r), SP_OK);
    assert_int_equal(r, 3);
    assert_int_equal(sp_money_mul_dec(-250, 10000000, SP_ROUND_HALF_UP, &r), SP_OK);
    assert_int_equal(r, -3);
    assert_int_equal(sp_money_mul_dec(-250, 10000000, SP_ROUND_CEILING, &r), SP_OK);
    assert_int_equal(r, -2);
    /* A huge amount times a rate above one overflows only when the result does. */
    assert_int_equal(sp_money_mul_dec(INT64_MAX / 2, 2 * SP_DEC_ONE, SP_ROUND_DOWN, &r), SP_OK);
    assert_true(r == INT64_MAX - 1);
    assert_int_equal(sp_money_mul_dec(INT64_MAX, 2 * SP_DEC_ONE, SP_ROUND_DOWN, &r), SP_EOVERFLOW);
}

static void test_decimals(void **state)
{
    (void)state;
    sp_dec r;
    assert_int_equal(sp_dec_mul(1500000000, 1500000000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 2250000000);
    assert_int_equal(sp_dec_div(1, 3, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 333333333);
    assert_int_equal(sp_dec_div(1, 3, SP_ROUND_UP, &r), SP_OK);
    assert_int_equal(r, 333333334);
    assert_int_equal(sp_dec_div(2, 3, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 666666667);
    /* Attainment: 12,000.00 achieved of 10,000.00 = 1.2 */
    assert_int_equal(sp_dec_div(1200000, 1000000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 1200000000);
    assert_int_equal(sp_dec_div(5, 0, SP_ROUND_HALF_EVEN, &r), SP_EINVAL);
}

static void test_rescale_and_round_to(void **state)
{
    (void)state;
    int64_t r;
    assert_int_equal(sp_money_rescale(12345, 2, 0, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 123);
    assert_int_equal(sp_money_rescale(12350, 2, 0, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 124);
    assert_int_equal(sp_money_rescale(12250, 2, 0, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 122);
    assert_int_equal(sp_money_rescale(12345, 2, 3, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 123450);
    assert_int_equal(sp_money_rescale(INT64_MAX / 10 + 1, 0, 1, SP_ROUND_DOWN, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_rescale(1, 0, 19, SP_ROUND_DOWN, &r), SP_EINVAL);
    assert_int_equal(sp_money_rescale(1, -1, 0, SP_ROUND_DOWN, &r), SP_EINVAL);

    assert_int_equal(sp_money_round_to(123456, 1000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 123000);
    assert_int_equal(sp_money_round_to(123500, 1000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 124000);
    assert_int_equal(sp_money_round_to(122500, 1000, SP_ROUND_HALF_EVEN, &r), SP_OK);
    assert_int_equal(r, 122000);
    assert_int_equal(sp_money_round_to(-122500, 1000, SP_ROUND_HALF_UP, &r), SP_OK);
    assert_int_equal(r, -123000);
    assert_int_equal(sp_money_round_to(INT64_MAX, 1000, SP_ROUND_UP, &r), SP_EOVERFLOW);
    assert_int_equal(sp_money_round_to(5, 0, SP_ROUND_UP, &r), SP_EINVAL);
}

static void test_currencies(void **state)
{
    (void)state;
    static const struct {
        const char *code;
        int32_t exponent;
    } known[] = { { "CNY", 2 }, { "USD", 2 }, { "EUR", 2 }, { "JPY", 0 },
                  { "KRW", 0 }, { "KWD", 3 }, { "BHD", 3 }, { "CLF", 4 } };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        int32_t e = -1;
        assert_int_equal(sp_currency_exponent(known[i].code, &e), SP_OK);
        assert_int_equal(e, known[i].exponent);
    }
    int32_t e = 77;
    assert_int_equal(sp_currency_exponent("cny", &e), SP_ENOTFOUND);
    assert_int_equal(sp_currency_exponent("XAU", &e), SP_ENOTFOUND);
    assert_int_equal(sp_currency_exponent("US", &e), SP_ENOTFOUND);
    assert_int_equal(sp_currency_exponent("USDX", &e), SP_ENOTFOUND);
    assert_int_equal(sp_currency_exponent("", &e), SP_ENOTFOUND);
    assert_int_equal(e, 77);
    assert_int_equal(sp_currency_exponent(NULL, &e), SP_EINVAL);
}

typedef struct parse_case {
    const char *text;
    int32_t exponent;
    uint32_t flags;
    sp_rounding mode;
    int rc;
    int64_t value;
} parse_case;

static void test_money_parse(void **state)
{
    (void)state;
    static const parse_case cases[] = {
        { "1234.56", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 123456 },
        { "-1234.56", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, -123456 },
        { "+7", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 700 },
        { "0", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 0 },
        { "-0", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 0 },
        { "007.5", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 750 },
        { "12.340", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, 1234 }, /* extra zeros are exact */
        { "-0.005", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "-0.005", 2, SP_TEXT_ROUND, SP_ROUND_HALF_EVEN, SP_OK, 0 },
        { "-0.005", 2, SP_TEXT_ROUND, SP_ROUND_HALF_UP, SP_OK, -1 },
        { "-0.005", 2, SP_TEXT_ROUND, SP_ROUND_FLOOR, SP_OK, -1 },
        { "0.0050000000000000000000001", 2, SP_TEXT_ROUND, SP_ROUND_HALF_DOWN, SP_OK, 1 },
        { "0.015", 2, SP_TEXT_ROUND, SP_ROUND_HALF_EVEN, SP_OK, 2 },
        { "100.5", 0, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1,234.56", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1,234.56", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_OK, 123456 },
        { "12,345,678.9", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_OK, 1234567890 },
        { "1234", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_OK, 123400 },
        { "1,23.4", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1,2345", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1234,567", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { ",123", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1,,234", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1,234,", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "0.1,2", 2, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "-", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1.", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { ".5", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { " 1", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1 ", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1e5", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "--1", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1.2.3", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1%", 2, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "9223372036854775807", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, INT64_MAX },
        { "-9223372036854775807", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, -INT64_MAX },
        { "9223372036854775808", 0, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
        { "-9223372036854775808", 0, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
        { "92233720368547758.07", 2, 0, SP_ROUND_HALF_EVEN, SP_OK, INT64_MAX },
        { "92233720368547758.08", 2, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
        { "92233720368547758.075", 2, SP_TEXT_ROUND, SP_ROUND_DOWN, SP_OK, INT64_MAX },
        { "92233720368547758.075", 2, SP_TEXT_ROUND, SP_ROUND_UP, SP_EOVERFLOW, 0 },
        { "99999999999999999999999999", 0, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
        { "99999999999999999999999999x", 0, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1", 18, 0, SP_ROUND_HALF_EVEN, SP_OK, INT64_C(1000000000000000000) },
        { "10", 18, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
        { "1", 19, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "1", 2, 0, (sp_rounding)9, SP_EINVAL, 0 },
    };
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parse_case *c = &cases[i];
        int64_t v = 4242;
        int rc = sp_money_parse(ctx, c->text, c->exponent, c->flags, c->mode, &v);
        if (rc != c->rc)
            fail_msg("\"%s\" (exp %d, flags %u): rc %d, expected %d (%s)", c->text,
                     (int)c->exponent, (unsigned)c->flags, rc, c->rc, sp_ctx_errmsg(ctx));
        if (rc == SP_OK && v != c->value)
            fail_msg("\"%s\": got %lld, expected %lld", c->text, (long long)v,
                     (long long)c->value);
        if (rc != SP_OK) {
            assert_int_equal(v, 4242);
            assert_int_equal(sp_ctx_errcode(ctx), rc);
        }
    }
    int64_t v;
    assert_int_equal(sp_money_parse(ctx, "1,234.56", 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "money: \"1,234.56\": unexpected ',' (digit grouping "
                                            "needs SP_TEXT_GROUPING) at byte 1");
    assert_int_equal(sp_money_parse(ctx, "-0.005", 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "money: \"-0.005\" has more than 2 fractional digits "
                                            "(pass SP_TEXT_ROUND to round)");
    assert_int_equal(sp_money_parse(ctx, NULL, 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
    assert_int_equal(sp_money_parse(ctx, "1", 2, 0, SP_ROUND_HALF_EVEN, NULL), SP_EINVAL);
    sp_ctx_free(ctx);
}

static void test_dec_parse(void **state)
{
    (void)state;
    static const parse_case cases[] = {
        { "0.035", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, 35000000 },
        { "1", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, 1000000000 },
        { "-2.5", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, -2500000000 },
        { "3.5", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_OK, 35000000 },
        { "3.5%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_OK, 35000000 },
        { "100%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_OK, 1000000000 },
        { "0.0000001%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_OK, 1 },
        { "0.00000001%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "3.5%", 0, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "3.5%%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "%", 0, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "0.000000001", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, 1 },
        { "0.0000000005", 0, 0, SP_ROUND_HALF_EVEN, SP_EINVAL, 0 },
        { "0.0000000005", 0, SP_TEXT_ROUND, SP_ROUND_HALF_EVEN, SP_OK, 0 },
        { "0.0000000015", 0, SP_TEXT_ROUND, SP_ROUND_HALF_EVEN, SP_OK, 2 },
        { "0.0000000005", 0, SP_TEXT_ROUND, SP_ROUND_HALF_UP, SP_OK, 1 },
        { "9223372036.854775807", 0, 0, SP_ROUND_HALF_EVEN, SP_OK, INT64_MAX },
        { "9223372036.854775808", 0, 0, SP_ROUND_HALF_EVEN, SP_EOVERFLOW, 0 },
    };
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parse_case *c = &cases[i];
        sp_dec v = 4242;
        int rc = sp_dec_parse(ctx, c->text, c->flags, c->mode, &v);
        if (rc != c->rc)
            fail_msg("\"%s\" (flags %u): rc %d, expected %d (%s)", c->text, (unsigned)c->flags,
                     rc, c->rc, sp_ctx_errmsg(ctx));
        if (rc == SP_OK && v != c->value)
            fail_msg("\"%s\": got %lld, expected %lld", c->text, (long long)v,
                     (long long)c->value);
    }
    sp_ctx_free(ctx);
}

static void format_is(int rc, const char *buf, const char *expect)
{
    assert_int_equal(rc, SP_OK);
    assert_string_equal(buf, expect);
}

static void test_format(void **state)
{
    (void)state;
    char buf[SP_TEXT_MAX];
    size_t len = 0;
    format_is(sp_money_format(123456, 2, 0, buf, sizeof buf, &len), buf, "1234.56");
    assert_int_equal(len, 7);
    format_is(sp_money_format(-5, 2, 0, buf, sizeof buf, NULL), buf, "-0.05");
    format_is(sp_money_format(0, 2, 0, buf, sizeof buf, NULL), buf, "0.00");
    format_is(sp_money_format(0, 0, 0, buf, sizeof buf, NULL), buf, "0");
    format_is(sp_money_format(1234567, 0, SP_TEXT_GROUPING, buf, sizeof buf, NULL), buf,
              "1,234,567");
    format_is(sp_money_format(123456789, 2, SP_TEXT_GROUPING, buf, sizeof buf, NULL), buf,
              "1,234,567.89");
    format_is(sp_money_format(-100000, 2, SP_TEXT_GROUPING, buf, sizeof buf, NULL), buf,
              "-1,000.00");
    format_is(sp_money_format(INT64_MIN, 2, 0, buf, sizeof buf, NULL), buf,
              "-92233720368547758.08");
    format_is(sp_money_format(INT64_MIN, 0, SP_TEXT_GROUPING, buf, sizeof buf, NULL), buf,
              "-9,223,372,036,854,775,808");
    format_is(sp_money_format(INT64_MAX, 18, 0, buf, sizeof buf, NULL), buf,
              "9.223372036854775807");
    format_is(sp_money_format(5, 3, 0, buf, sizeof buf, NULL), buf, "0.005");

    format_is(sp_dec_format(35000000, 0, buf, sizeof buf, NULL), buf, "0.035");
    format_is(sp_dec_format(SP_DEC_ONE, 0, buf, sizeof buf, NULL), buf, "1");
    format_is(sp_dec_format(-1, 0, buf, sizeof buf, NULL), buf, "-0.000000001");
    format_is(sp_dec_format(35000000, SP_TEXT_PERCENT, buf, sizeof buf, NULL), buf, "3.5%");
    format_is(sp_dec_format(SP_DEC_ONE, SP_TEXT_PERCENT, buf, sizeof buf, NULL), buf, "100%");
    format_is(sp_dec_format(0, SP_TEXT_PERCENT, buf, sizeof buf, NULL), buf, "0%");

    /* Too small a buffer: SP_EBUFFER, the needed length, the buffer untouched. */
    char small[7];
    memset(small, 'q', sizeof small);
    assert_int_equal(sp_money_format(123456, 2, 0, small, sizeof small, &len), SP_EBUFFER);
    assert_int_equal(len, 7);
    assert_int_equal(small[0], 'q');
    char exact[8];
    format_is(sp_money_format(123456, 2, 0, exact, sizeof exact, NULL), exact, "1234.56");
    assert_int_equal(sp_money_format(1, 2, 0, NULL, 0, &len), SP_EBUFFER);
    assert_int_equal(len, 4);
    assert_int_equal(sp_money_format(1, 19, 0, buf, sizeof buf, &len), SP_EINVAL);
}

/* A parse refused for its flags: SP_EINVAL, the message, out untouched. */
static void parse_refused(sp_ctx *ctx, int rc, const int64_t *v, const char *msg)
{
    assert_int_equal(rc, SP_EINVAL);
    assert_int_equal(*v, 4242);
    assert_string_equal(sp_ctx_errmsg(ctx), msg);
}

/* A format refused with SP_EINVAL: buffer and length untouched. */
static void format_refused(int rc, const char *buf, size_t len)
{
    assert_int_equal(rc, SP_EINVAL);
    assert_int_equal(buf[0], 'q');
    assert_int_equal(len, 99);
}

static void test_text_flags(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t v = 4242;
    /* Each function takes only the flags that apply to it: money parse GROUPING and ROUND,
     * decimal parse also PERCENT; format GROUPING, decimal format also PERCENT. */
    parse_refused(ctx, sp_money_parse(ctx, "1", 2, 8, SP_ROUND_HALF_EVEN, &v), &v,
                  "money: unknown flag bits 0x8 (flags 0x8)");
    parse_refused(ctx,
                  sp_money_parse(ctx, "1", 2, SP_TEXT_GROUPING | 0x80000000u, SP_ROUND_HALF_EVEN,
                                 &v),
                  &v, "money: unknown flag bits 0x80000000 (flags 0x80000001)");
    parse_refused(ctx, sp_money_parse(ctx, "1", 2, SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, &v), &v,
                  "money: SP_TEXT_PERCENT does not apply to money (flags 0x4)");
    parse_refused(ctx, sp_dec_parse(ctx, "1", 0x10 | SP_TEXT_PERCENT, SP_ROUND_HALF_EVEN, &v),
                  &v, "decimal: unknown flag bits 0x10 (flags 0x14)");
    assert_int_equal(sp_money_parse(ctx, "1,234.565", 2, SP_TEXT_GROUPING | SP_TEXT_ROUND,
                                    SP_ROUND_HALF_UP, &v),
                     SP_OK);
    assert_int_equal(v, 123457);
    assert_int_equal(sp_dec_parse(ctx, "1,234.5%",
                                  SP_TEXT_GROUPING | SP_TEXT_ROUND | SP_TEXT_PERCENT,
                                  SP_ROUND_HALF_EVEN, &v),
                     SP_OK);
    assert_int_equal(v, INT64_C(12345000000));

    char buf[SP_TEXT_MAX];
    size_t len = 99;
    memset(buf, 'q', sizeof buf);
    format_refused(sp_money_format(1, 2, 8, buf, sizeof buf, &len), buf, len);
    format_refused(sp_money_format(1, 2, SP_TEXT_PERCENT, buf, sizeof buf, &len), buf, len);
    format_refused(sp_money_format(1, 2, SP_TEXT_ROUND, buf, sizeof buf, &len), buf, len);
    format_refused(sp_dec_format(1, 8, buf, sizeof buf, &len), buf, len);
    format_refused(sp_dec_format(1, SP_TEXT_ROUND, buf, sizeof buf, &len), buf, len);
    format_refused(sp_dec_format(1, SP_TEXT_PERCENT | 0x100, buf, sizeof buf, &len), buf, len);
    /* A NULL buffer with a capacity is a bad argument, not a short buffer. */
    format_refused(sp_money_format(1, 2, 0, NULL, 10, &len), buf, len);
    format_refused(sp_dec_format(1, 0, NULL, 10, &len), buf, len);
    /* NULL with capacity 0 asks for the length, like snprintf: "0.01" and "0.5%". */
    assert_int_equal(sp_money_format(1, 2, 0, NULL, 0, &len), SP_EBUFFER);
    assert_int_equal(len, 4);
    assert_int_equal(sp_dec_format(5000000, SP_TEXT_PERCENT, NULL, 0, &len), SP_EBUFFER);
    assert_int_equal(len, 4);
    assert_int_equal(sp_money_format(1234567, 2, SP_TEXT_GROUPING, NULL, 0, NULL), SP_EBUFFER);
    sp_ctx_free(ctx);
}

static void test_text_round_trip(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    spt_rng rng = { 20261123 };
    unsigned iterations = spt_iterations(20000);
    for (unsigned it = 0; it < iterations; it++) {
        int64_t v = (int64_t)spt_rng_next(&rng);
        if (v == INT64_MIN)
            continue;
        if (it % 3 == 0)
            v %= 1000000; /* plenty of short values too */
        int32_t exponent = (int32_t)(it % (SP_MONEY_MAX_EXPONENT + 1));
        uint32_t flags = it % 2 ? SP_TEXT_GROUPING : 0;
        char buf[SP_TEXT_MAX];
        assert_int_equal(sp_money_format(v, exponent, flags, buf, sizeof buf, NULL), SP_OK);
        int64_t back;
        assert_int_equal(sp_money_parse(ctx, buf, exponent, flags, SP_ROUND_HALF_EVEN, &back),
                         SP_OK);
        assert_true(back == v);
        uint32_t dflags = flags | (it % 4 < 2 ? SP_TEXT_PERCENT : 0);
        assert_int_equal(sp_dec_format(v, dflags, buf, sizeof buf, NULL), SP_OK);
        assert_int_equal(sp_dec_parse(ctx, buf, dflags, SP_ROUND_HALF_EVEN, &back), SP_OK);
        assert_true(back == v);
    }
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rounding_table_division),
        cmocka_unit_test(test_rounding_table_text),
        cmocka_unit_test(test_rounding_halves),
        cmocka_unit_test(test_checked_edges),
        cmocka_unit_test(test_muldiv_128),
        cmocka_unit_test(test_money_times_rate),
        cmocka_unit_test(test_decimals),
        cmocka_unit_test(test_rescale_and_round_to),
        cmocka_unit_test(test_currencies),
        cmocka_unit_test(test_money_parse),
        cmocka_unit_test(test_dec_parse),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_text_flags),
        cmocka_unit_test(test_text_round_trip),
    };
    return cmocka_run_group_tests_name("money", tests, NULL, NULL);
}
