/* Exact allocation: worked examples, bad input, properties against a brute-force reference. */
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

#define NONE INT64_MAX /* "no max" entry in a max array */

static void expect_parts(const int64_t *got, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("part %zu: got %lld, expected %lld", i, (long long)got[i],
                     (long long)want[i]);
}

/* ---- worked examples, each computed by hand in its comment ---- */

static void test_even_splits(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[6];
    /* 100 / 3 = 33 r 1: the one leftover cent goes to the first part. */
    assert_int_equal(sp_allocate(ctx, 100, NULL, 3, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 34, 33, 33 }, 3);
    /* 5 / 4 = 1 r 1 */
    assert_int_equal(sp_allocate(ctx, 5, (int64_t[]){ 1, 1, 1, 1 }, 4, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 2, 1, 1, 1 }, 4);
    /* 7 / 6 = 1 r 1 */
    assert_int_equal(sp_allocate(ctx, 7, NULL, 6, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 2, 1, 1, 1, 1, 1 }, 6);
    /* -100 mirrors 100 */
    assert_int_equal(sp_allocate(ctx, -100, NULL, 3, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ -34, -33, -33 }, 3);
    /* Nothing to split */
    assert_int_equal(sp_allocate(ctx, 0, (int64_t[]){ 3, 0, 1 }, 3, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 0, 0, 0 }, 3);
    assert_int_equal(sp_allocate(ctx, 0, NULL, 0, NULL, NULL), SP_OK);
    sp_ctx_free(ctx);
}

static void test_largest_remainder_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[6];
    /* 10 seats for 15:10:5 -> quotas 5, 3.33, 1.67 -> floors 5, 3, 1 and the last seat to
     * the largest remainder (.67). */
    assert_int_equal(sp_allocate(ctx, 10, (int64_t[]){ 15, 10, 5 }, 3, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 5, 3, 2 }, 3);
    /* The Hare-quota example of the "largest remainder method" article: 10 seats,
     * votes 47000, 16000, 15800, 12000, 6100, 3100 -> quotas 4.70 1.60 1.58 1.20 0.61 0.31,
     * automatic seats 4 1 1 1 0 0, the three left go to .70, .61, .60 -> 5 2 1 1 1 0. */
    assert_int_equal(sp_allocate(ctx, 10, (int64_t[]){ 47000, 16000, 15800, 12000, 6100, 3100 },
                                 6, NULL, out),
                     SP_OK);
    expect_parts(out, (int64_t[]){ 5, 2, 1, 1, 1, 0 }, 6);
    /* 1,000,000.00 by last year's 300,000 / 200,000 / 100,000: exactly 1/2, 1/3, 1/6
     * -> 50,000,000 / 33,333,333.33 / 16,666,666.67 cents: floors 50000000, 33333333,
     * 16666666 leave one cent for the larger remainder (2/3 of part 2, 1/3 of part 1). */
    assert_int_equal(sp_allocate(ctx, 100000000, (int64_t[]){ 300000, 200000, 100000 }, 3, NULL,
                                 out),
                     SP_OK);
    expect_parts(out, (int64_t[]){ 50000000, 33333333, 16666667 }, 3);
    sp_ctx_free(ctx);
}

static void test_bounds_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[4];
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;

    /* 100 by 6:3:1 with part 0 capped at 50: shares 60, 30, 10; part 0 capped; 50 left by
     * 3:1 -> 37.5, 12.5 -> floors 37, 12, the tie of remainders goes to the lower index. */
    o.max = (int64_t[]){ 50, NONE, NONE };
    assert_int_equal(sp_allocate(ctx, 100, (int64_t[]){ 6, 3, 1 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 50, 38, 12 }, 3);

    /* 100 by 1:1:8 with part 0 at least 20: shares 10, 10, 80; part 0 raised to 20; 80 left
     * by 1:8 -> 8.89, 71.11 -> floors 8, 71 and the cent to .89. */
    o = (sp_alloc_options)SP_ALLOC_OPTIONS_INIT;
    o.min = (int64_t[]){ 20, 0, 0 };
    assert_int_equal(sp_allocate(ctx, 100, (int64_t[]){ 1, 1, 8 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 20, 9, 71 }, 3);

    /* Both sides bind: 1000 by 1:1:1:7, min 150 each, max 500 each. Shares 100, 100, 100,
     * 700: three below min (short 150 in all), one above max (200 over): the max side is
     * larger, so part 3 is capped at 500 first; 500 left by 1:1:1 -> 166.67 each, within
     * bounds -> floors 166 and the two cents to the first two. */
    o = (sp_alloc_options)SP_ALLOC_OPTIONS_INIT;
    o.min = (int64_t[]){ 150, 150, 150, 150 };
    o.max = (int64_t[]){ 500, 500, 500, 500 };
    assert_int_equal(sp_allocate(ctx, 1000, (int64_t[]){ 1, 1, 1, 7 }, 4, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 167, 167, 166, 500 }, 4);

    /* Zero weights get nothing unless a minimum says otherwise. */
    o = (sp_alloc_options)SP_ALLOC_OPTIONS_INIT;
    o.min = (int64_t[]){ 5, 0, 0 };
    assert_int_equal(sp_allocate(ctx, 100, (int64_t[]){ 0, 1, 0 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 5, 95, 0 }, 3);

    /* A negative minimum cannot bind for a positive amount. */
    o.min = (int64_t[]){ -50, -50, -50 };
    assert_int_equal(sp_allocate(ctx, 90, (int64_t[]){ 1, 1, 1 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 30, 30, 30 }, 3);

    /* Negative total, mirrored bounds: -100 by 6:3:1 with part 0 at least -50. */
    o = (sp_alloc_options)SP_ALLOC_OPTIONS_INIT;
    o.min = (int64_t[]){ -50, INT64_MIN + 1, INT64_MIN + 1 };
    assert_int_equal(sp_allocate(ctx, -100, (int64_t[]){ 6, 3, 1 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ -50, -38, -12 }, 3);
    sp_ctx_free(ctx);
}

static void test_locked_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[4];
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    /* 1000 over four, part 2 locked at 400: 600 left over three -> 200 each. */
    o.locked = (uint8_t[]){ 0, 0, 1, 0 };
    o.locked_value = (int64_t[]){ 0, 0, 400, 0 };
    assert_int_equal(sp_allocate(ctx, 1000, NULL, 4, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 200, 200, 400, 200 }, 4);

    /* A held-cell spread: a quarter of 20/20/20 raised from 60 to 100 with the middle month
     * held at 20 -> the other two months take 80 by their 20:20 weights -> 40 each. */
    o.locked = (uint8_t[]){ 0, 1, 0 };
    o.locked_value = (int64_t[]){ 0, 20, 0 };
    assert_int_equal(sp_allocate(ctx, 100, (int64_t[]){ 20, 20, 20 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 40, 20, 40 }, 3);

    /* A negative locked part (a credit) leaves more for the others. */
    o.locked = (uint8_t[]){ 1, 0, 0 };
    o.locked_value = (int64_t[]){ -30, 0, 0 };
    assert_int_equal(sp_allocate(ctx, 100, NULL, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ -30, 65, 65 }, 3);

    /* Every part locked and matching the total. */
    o.locked = (uint8_t[]){ 1, 1 };
    o.locked_value = (int64_t[]){ 30, 70 };
    assert_int_equal(sp_allocate(ctx, 100, NULL, 2, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 30, 70 }, 2);
    sp_ctx_free(ctx);
}

static void test_unit_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[3];
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    /* 12,345 in thousands over three: 12 thousands -> 4 each; the 345 left goes to the
     * largest part, the first on a tie. */
    o.unit = 1000;
    assert_int_equal(sp_allocate(ctx, 12345, NULL, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 4345, 4000, 4000 }, 3);
    /* By 1:2:1: 12 thousands -> 3, 6, 3; the 345 to the largest (part 1). */
    assert_int_equal(sp_allocate(ctx, 12345, (int64_t[]){ 1, 2, 1 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 3000, 6345, 3000 }, 3);
    /* Part 1 capped at 6200: its max rounds down to 6000 for the thousands, and it cannot
     * take the 345 on top (6345 > 6200), so the next largest part, 0 (a tie with 2 at 3000,
     * lower index), takes it. */
    o.max = (int64_t[]){ NONE, 6200, NONE };
    assert_int_equal(sp_allocate(ctx, 12345, (int64_t[]){ 1, 2, 1 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 3345, 6000, 3000 }, 3);
    /* Negative: mirror image of the first case. */
    o.max = NULL;
    assert_int_equal(sp_allocate(ctx, -12345, NULL, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ -4345, -4000, -4000 }, 3);
    sp_ctx_free(ctx);
}

static void test_unit_remainder_and_zero_weights(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[3];
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.unit = 100;
    /* 5050 by 0:1, part 0 at least 5000. Without a unit: clamp(0 * L, 5000) + L = 5050
     * gives L = 50, so 5000 and 50. In hundreds: part 0 holds its minimum (50 hundreds),
     * part 1 gets the 0 hundreds left, and the remainder 50 goes to part 1, the only part
     * with a weight, though part 0 is larger: 5000, 50, the unrounded split itself. */
    o.min = (int64_t[]){ 5000, 0 };
    assert_int_equal(sp_allocate(ctx, 5050, (int64_t[]){ 0, 1 }, 2, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 5000, 50 }, 2);
    /* Mirror image: -5050 with part 0 at most -5000. */
    o.min = NULL;
    o.max = (int64_t[]){ -5000, 0 };
    assert_int_equal(sp_allocate(ctx, -5050, (int64_t[]){ 0, 1 }, 2, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ -5000, -50 }, 2);
    /* 50 by 0:1: no whole hundred; both parts are at 0 and part 0 has the lower index, but
     * a zero weight gets nothing without a minimum, so part 1 takes the 50. */
    o.max = NULL;
    assert_int_equal(sp_allocate(ctx, 50, (int64_t[]){ 0, 1 }, 2, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 0, 50 }, 2);
    /* 12,345 in thousands by 0:1:2, part 0 at least 9000: part 0 holds 9 thousands, the 3
     * left go 1:2, and the 345 to the largest part with a weight, part 2 (2000 > 1000),
     * not to part 0 (9000). */
    o.unit = 1000;
    o.min = (int64_t[]){ 9000, 0, 0 };
    assert_int_equal(sp_allocate(ctx, 12345, (int64_t[]){ 0, 1, 2 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 9000, 1000, 2345 }, 3);
    /* "No maximum" for one part is INT64_MAX (NONE): the same split as without a max. */
    o.max = (int64_t[]){ NONE, NONE, NONE };
    assert_int_equal(sp_allocate(ctx, 12345, (int64_t[]){ 0, 1, 2 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ 9000, 1000, 2345 }, 3);
    /* For a negative total the min array bounds away from zero; -INT64_MAX is "none". */
    o.min = (int64_t[]){ -INT64_MAX, -INT64_MAX, -INT64_MAX };
    o.max = (int64_t[]){ -9000, 0, 0 };
    assert_int_equal(sp_allocate(ctx, -12345, (int64_t[]){ 0, 1, 2 }, 3, &o, out), SP_OK);
    expect_parts(out, (int64_t[]){ -9000, -1000, -2345 }, 3);
    sp_ctx_free(ctx);
}

/* ---- bad input: the right code, a message naming the input, out untouched ---- */

typedef struct bad_case {
    const char *what;
    int64_t total;
    const int64_t *weights;
    size_t n;
    sp_alloc_options opts;
    int rc;
    const char *msg; /* the whole expected message */
} bad_case;

static void test_bad_input(void **state)
{
    (void)state;
    static const int64_t w3[] = { 1, 1, 1 };
    const bad_case cases[] = {
        { "negative weight", 100, (int64_t[]){ 1, -2, 3 }, 3, SP_ALLOC_OPTIONS_INIT, SP_EINVAL,
          "allocate: weights[1] = -2 is negative" },
        { "min above max", 100, w3, 3,
          { 1, (int64_t[]){ 0, 0, 9 }, (int64_t[]){ 50, 50, 8 }, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: part 2: min 9 is above max 8" },
        { "locked beyond total", 100, w3, 3,
          { 1, NULL, NULL, (uint8_t[]){ 1, 0, 0 }, (int64_t[]){ 150, 0, 0 }, 0 }, SP_EINVAL,
          "allocate: locked parts sum to 150, beyond the total 100" },
        { "minimums beyond", 100, w3, 3,
          { 1, (int64_t[]){ 40, 40, 30 }, NULL, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: the minimums of the unlocked parts sum to 110, beyond the 100 left after "
          "locked parts" },
        { "maximums short", 100, w3, 3,
          { 1, NULL, (int64_t[]){ 30, 30, 30 }, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: the maximums of the unlocked parts sum to 90 (zero-weight parts count at "
          "their minimums), short of the 100 left after locked parts" },
        { "negative total, minimums short", -100, w3, 3,
          { 1, (int64_t[]){ -30, -30, -30 }, NULL, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: the minimums of the unlocked parts sum to -90 (zero-weight parts count at "
          "their maximums), short of the -100 left after locked parts" },
        { "all weights zero", 100, (int64_t[]){ 0, 0 }, 2, SP_ALLOC_OPTIONS_INIT, SP_EINVAL,
          "allocate: every unlocked weight is zero, so only the minimums (0) can be placed of "
          "the 100 left after locked parts" },
        { "no parts", 100, NULL, 0, SP_ALLOC_OPTIONS_INIT, SP_EINVAL,
          "allocate: no parts: the locked parts sum to 0, not the total 100" },
        { "all locked, wrong sum", 100, w3, 2,
          { 1, NULL, NULL, (uint8_t[]){ 1, 1 }, (int64_t[]){ 30, 60 }, 0 }, SP_EINVAL,
          "allocate: every part is locked: the locked parts sum to 90, not the total 100" },
        { "max below zero", 100, w3, 3,
          { 1, NULL, (int64_t[]){ 90, -1, 90 }, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: max[1] = -1 is below zero, but the parts of a positive amount are not "
          "negative unless locked" },
        { "min above zero for a negative total", -100, w3, 3,
          { 1, (int64_t[]){ 1, -90, -90 }, NULL, NULL, NULL, 0 }, SP_EINVAL,
          "allocate: min[0] = 1 is above zero, but the parts of a negative amount are not "
          "positive unless locked" },
        { "no multiple of the unit", 10000, w3, 3,
          { 1, (int64_t[]){ 0, 1100, 0 }, (int64_t[]){ NONE, 1900, NONE }, NULL, NULL, 1000 },
          SP_EINVAL, "allocate: part 1: no multiple of unit 1000 lies between its min and max" },
        { "residue fits nowhere", 2050, (int64_t[]){ 1, 1 }, 2,
          { 1, NULL, (int64_t[]){ 1000, 1000 }, NULL, NULL, 100 }, SP_EINVAL,
          "allocate: the maximums of the unlocked parts sum to 2000 (zero-weight parts count at "
          "their minimums), short of the 2050 left after locked parts" },
        { "maximums short in units", 2000, (int64_t[]){ 1, 1 }, 2,
          { 1, NULL, (int64_t[]){ 1050, 950 }, NULL, NULL, 100 }, SP_EINVAL,
          "allocate: the maximums of the unlocked parts hold only 1900 in multiples of unit "
          "100, short of the 2000 left after locked parts" },
        { "residue over max", 2050, (int64_t[]){ 1, 1 }, 2,
          { 1, NULL, (int64_t[]){ 1030, 1030 }, NULL, NULL, 100 }, SP_EINVAL,
          "allocate: the remainder 50 of the amount left (not a multiple of unit 100) fits on no "
          "part of positive weight within its maximums" },
        /* 5250 by 0:1:1 in hundreds, part 0 at least 5000, parts 1 and 2 at most 130: 50, 1
         * and 1 hundreds; the 50 left exceeds 130 on parts 1 and 2, and part 0, unbounded,
         * has no weight, so it keeps its minimum. */
        { "residue only fits a zero-weight part", 5250, (int64_t[]){ 0, 1, 1 }, 3,
          { 1, (int64_t[]){ 5000, 0, 0 }, (int64_t[]){ NONE, 130, 130 }, NULL, NULL, 100 },
          SP_EINVAL,
          "allocate: the remainder 50 of the amount left (not a multiple of unit 100) fits on no "
          "part of positive weight within its maximums" },
        { "total INT64_MIN", INT64_MIN, w3, 3, SP_ALLOC_OPTIONS_INIT, SP_EOVERFLOW,
          "allocate: total is INT64_MIN, which has no mirror image" },
        { "weights overflow", 100, (int64_t[]){ INT64_MAX, 1 }, 2, SP_ALLOC_OPTIONS_INIT,
          SP_EOVERFLOW,
          "allocate: the weights of the unlocked parts sum to 9223372036854775808, beyond 2^63 - "
          "1" },
        { "locked overflow", 100, w3, 3,
          { 1, NULL, NULL, (uint8_t[]){ 1, 1, 0 }, (int64_t[]){ INT64_MAX, 1, 0 }, 0 },
          SP_EOVERFLOW, "allocate: locked values overflow at part 1" },
        { "bound INT64_MIN", 100, w3, 3,
          { 1, (int64_t[]){ 0, INT64_MIN, 0 }, NULL, NULL, NULL, 0 }, SP_EOVERFLOW,
          "allocate: a bound of part 1 is INT64_MIN" },
        { "locked without values", 100, w3, 3,
          { 1, NULL, NULL, (uint8_t[]){ 1, 0, 0 }, NULL, 0 }, SP_EINVAL,
          "allocate: locked is set but locked_value is NULL" },
        { "negative unit", 100, w3, 3, { 1, NULL, NULL, NULL, NULL, -5 }, SP_EINVAL,
          "allocate: unit -5 is negative" },
        { "version 0", 100, w3, 3, { 0, NULL, NULL, NULL, NULL, 0 }, SP_EVERSION,
          "sp_alloc_options: version 0 is not supported (this library knows 1 to 1)" },
    };
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        int64_t out[4] = { 7, 7, 7, 7 };
        int rc = sp_allocate(ctx, c->total, c->weights, c->n, &c->opts, out);
        if (rc != c->rc)
            fail_msg("%s: rc %d, expected %d (%s)", c->what, rc, c->rc, sp_ctx_errmsg(ctx));
        if (strcmp(sp_ctx_errmsg(ctx), c->msg) != 0)
            fail_msg("%s: message\n  \"%s\"\nexpected\n  \"%s\"", c->what, sp_ctx_errmsg(ctx),
                     c->msg);
        for (size_t k = 0; k < 4; k++)
            assert_int_equal(out[k], 7);
    }
    int64_t out[2];
    assert_int_equal(sp_allocate(NULL, 1, NULL, 2, NULL, out), SP_EINVAL);
    assert_int_equal(sp_allocate(ctx, 1, NULL, 2, NULL, NULL), SP_EINVAL);
    sp_ctx_free(ctx);
}

static void test_options_init(void **state)
{
    (void)state;
    sp_alloc_options o;
    memset(&o, 0x5A, sizeof o);
    assert_int_equal(sp_alloc_options_init(&o, SP_ALLOC_OPTIONS_VERSION), SP_OK);
    assert_int_equal(o.version, SP_ALLOC_OPTIONS_VERSION);
    assert_null(o.min);
    assert_null(o.max);
    assert_null(o.locked);
    assert_null(o.locked_value);
    assert_int_equal(o.unit, 0);
    assert_int_equal(sp_alloc_options_init(&o, 2), SP_EVERSION);
    assert_int_equal(sp_alloc_options_init(NULL, 1), SP_EINVAL);
}

/* ---- a second, simple implementation of the specification ---- */

#define REF_MAX_PARTS 400
#define REF_MAX_BOUNDED 7

typedef struct alloc_case {
    int64_t total;
    size_t n;
    bool equal_weights;
    int64_t w[REF_MAX_PARTS];
    bool has_min, has_max, has_lock;
    int64_t min[REF_MAX_PARTS], max[REF_MAX_PARTS];
    uint8_t locked[REF_MAX_PARTS];
    int64_t lv[REF_MAX_PARTS];
    int64_t unit;
} alloc_case;

enum { AT_LO, AT_HI, FREE };

static int64_t ref_w(const alloc_case *c, size_t i)
{
    return c->equal_weights ? 1 : c->w[i];
}

/*
 * The specification, written the slow way: orient, round the bounds to units, then try
 * every assignment of the bounded parts to "at min", "at max" or "free" and keep the one
 * that is consistent with a common factor L (free parts strictly proportional and within
 * bounds, parts at a bound beyond it). Returns false when no allocation exists.
 */
static bool ref_allocate(const alloc_case *c, int64_t *out)
{
    size_t n = c->n;
    i128 locked_sum = 0;
    size_t unlocked = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->has_lock && c->locked[i])
            locked_sum += c->lv[i];
        else
            unlocked++;
    }
    i128 rest = (i128)c->total - locked_sum;
    if ((c->total > 0 && rest < 0) || (c->total < 0 && rest > 0))
        return false;
    if (unlocked == 0)
        return rest == 0 ? (memcpy(out, c->lv, n * sizeof *out), true) : false;
    bool neg = rest < 0 || (rest == 0 && c->total < 0);
    i128 r_all = neg ? -rest : rest;
    i128 u = c->unit > 1 ? c->unit : 1;
    i128 lo[REF_MAX_PARTS], hi[REF_MAX_PARTS], raw_hi[REF_MAX_PARTS];
    bool bounded_hi[REF_MAX_PARTS];
    size_t bounded[REF_MAX_PARTS], nb = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->has_lock && c->locked[i])
            continue;
        i128 l, h;
        bool hb;
        if (!neg) {
            l = c->has_min ? c->min[i] : 0;
            hb = c->has_max && c->max[i] != INT64_MAX;
            h = hb ? c->max[i] : 0;
        } else {
            l = c->has_max ? -(i128)c->max[i] : 0;
            hb = c->has_min && c->min[i] != -INT64_MAX;
            h = hb ? -(i128)c->min[i] : 0;
        }
        if (l < 0)
            l = 0;
        if (hb && h < 0)
            return false;
        lo[i] = (l + u - 1) / u;
        hi[i] = hb ? h / u : 0;
        raw_hi[i] = h;
        bounded_hi[i] = hb;
        if (hb && lo[i] > hi[i])
            return false;
        if (ref_w(c, i) > 0 && (lo[i] > 0 || hb))
            bounded[nb++] = i;
    }
    assert_true(nb <= REF_MAX_BOUNDED);
    i128 r_units = r_all / u, residue = r_all % u;

    uint8_t state[REF_MAX_PARTS];
    size_t combos = 1;
    for (size_t k = 0; k < nb; k++)
        combos *= 3;
    bool found = false;
    i128 vals[REF_MAX_PARTS];
    for (size_t combo = 0; combo < combos && !found; combo++) {
        size_t code = combo;
        for (size_t i = 0; i < n; i++)
            state[i] = FREE;
        bool skip = false;
        for (size_t k = 0; k < nb; k++, code /= 3) {
            state[bounded[k]] = (uint8_t)(code % 3);
            if (state[bounded[k]] == AT_HI && !bounded_hi[bounded[k]])
                skip = true;
        }
        if (skip)
            continue;
        i128 fixed = 0, wsum = 0;
        for (size_t i = 0; i < n; i++) {
            if (c->has_lock && c->locked[i])
                continue;
            if (ref_w(c, i) == 0)
                fixed += lo[i];
            else if (state[i] == AT_LO)
                fixed += lo[i];
            else if (state[i] == AT_HI)
                fixed += hi[i];
            else
                wsum += ref_w(c, i);
        }
        i128 r = r_units - fixed;
        bool ok = r >= 0;
        if (ok && wsum == 0) {
            /* No free part: consistent when the fixed parts make the sum and some L puts
             * every part at max at or above it and every part at min at or below it:
             * max over at-max of hi/w <= min over at-min of lo/w. */
            ok = r == 0;
            for (size_t a = 0; ok && a < n; a++)
                for (size_t b = 0; ok && b < n; b++)
                    if (!(c->has_lock && (c->locked[a] || c->locked[b])) && ref_w(c, a) > 0 &&
                        ref_w(c, b) > 0 && state[a] == AT_HI && state[b] == AT_LO)
                        ok = hi[a] * ref_w(c, b) <= lo[b] * ref_w(c, a);
        }
        for (size_t i = 0; ok && wsum > 0 && i < n; i++) {
            if ((c->has_lock && c->locked[i]) || ref_w(c, i) == 0)
                continue;
            i128 p = (i128)ref_w(c, i) * r; /* share * wsum */
            if (state[i] == FREE)
                ok = p >= lo[i] * wsum && (!bounded_hi[i] || p <= hi[i] * wsum);
            else if (state[i] == AT_LO)
                ok = p <= lo[i] * wsum;
            else
                ok = p >= hi[i] * wsum;
        }
        if (!ok)
            continue;
        found = true;
        /* Hamilton: floors, then the leftover to the largest remainders, lowest index
         * first among equals (selection, the slow obvious way). */
        i128 rem[REF_MAX_PARTS];
        bool bumped[REF_MAX_PARTS] = { false };
        i128 floors = 0;
        for (size_t i = 0; i < n; i++) {
            if (c->has_lock && c->locked[i])
                continue;
            if (ref_w(c, i) == 0 || state[i] == AT_LO)
                vals[i] = lo[i];
            else if (state[i] == AT_HI)
                vals[i] = hi[i];
            else {
                vals[i] = (i128)ref_w(c, i) * r / wsum;
                rem[i] = (i128)ref_w(c, i) * r % wsum;
                floors += vals[i];
            }
        }
        for (i128 left = r - floors; wsum > 0 && left > 0; left--) {
            size_t best = SIZE_MAX;
            for (size_t i = 0; i < n; i++)
                if (!(c->has_lock && c->locked[i]) && ref_w(c, i) > 0 && state[i] == FREE &&
                    !bumped[i] && (best == SIZE_MAX || rem[i] > rem[best]))
                    best = i;
            bumped[best] = true;
            vals[best]++;
        }
    }
    if (!found)
        return false;
    size_t take = SIZE_MAX;
    for (size_t i = 0; residue > 0 && i < n; i++) {
        if ((c->has_lock && c->locked[i]) || ref_w(c, i) == 0)
            continue;
        if (bounded_hi[i] && vals[i] * u + residue > raw_hi[i])
            continue;
        if (take == SIZE_MAX || vals[i] > vals[take])
            take = i;
    }
    if (residue > 0 && take == SIZE_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (c->has_lock && c->locked[i]) {
            out[i] = c->lv[i];
            continue;
        }
        i128 v = vals[i] * u + (i == take ? residue : 0);
        out[i] = (int64_t)(neg ? -v : v);
    }
    return true;
}

static int run_case(sp_ctx *ctx, const alloc_case *c, int64_t *out)
{
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.min = c->has_min ? c->min : NULL;
    o.max = c->has_max ? c->max : NULL;
    o.locked = c->has_lock ? c->locked : NULL;
    o.locked_value = c->has_lock ? c->lv : NULL;
    o.unit = c->unit;
    return sp_allocate(ctx, c->total, c->equal_weights ? NULL : c->w, c->n, &o, out);
}

/* Whether the unlocked parts of a feasible case are negative (the sign of what is left). */
static bool parts_negative(const alloc_case *c)
{
    i128 rest = c->total;
    for (size_t i = 0; i < c->n; i++)
        if (c->has_lock && c->locked[i])
            rest -= c->lv[i];
    return rest < 0 || (rest == 0 && c->total < 0);
}

/* The invariants, checked directly on an output. */
static void check_invariants(const alloc_case *c, const int64_t *out)
{
    i128 sum = 0;
    bool neg = parts_negative(c);
    int64_t u = c->unit > 1 ? c->unit : 1;
    for (size_t i = 0; i < c->n; i++) {
        sum += out[i];
        if (c->has_lock && c->locked[i]) {
            assert_true(out[i] == c->lv[i]);
            continue;
        }
        if (c->has_min)
            assert_true(out[i] >= c->min[i]);
        if (c->has_max)
            assert_true(out[i] <= c->max[i]);
        if (ref_w(c, i) == 0) {
            /* A zero-weight part holds its bound nearest zero, rounded away from zero to
             * the unit, and never takes the unit's remainder. */
            int64_t near = neg ? (c->has_max ? -c->max[i] : 0) : (c->has_min ? c->min[i] : 0);
            int64_t want = near <= 0 ? 0 : (near + u - 1) / u * u;
            assert_true(out[i] == (neg ? -want : want));
        }
    }
    assert_true(sum == c->total);
}

/* The output puts the unit's remainder on a part smaller than some zero-weight part: the
 * case where "the largest part" and "the largest part with a weight" differ. */
static bool remainder_beside_larger_zero_weight(const alloc_case *c, const int64_t *out)
{
    if (c->unit <= 1)
        return false;
    int64_t took = -1, zero_max = -1;
    for (size_t i = 0; i < c->n; i++) {
        if (c->has_lock && c->locked[i])
            continue;
        int64_t mag = out[i] < 0 ? -out[i] : out[i];
        if (ref_w(c, i) == 0 && mag > zero_max)
            zero_max = mag;
        else if (mag % c->unit != 0)
            took = mag;
    }
    return took >= 0 && zero_max > took;
}

static int64_t pick_total(spt_rng *rng)
{
    switch (spt_rng_next(rng) % 4) {
    case 0: return spt_rng_range(rng, -20, 20);
    case 1: return spt_rng_range(rng, -100000, 100000);
    case 2: return spt_rng_range(rng, -INT64_C(1000000000000), INT64_C(1000000000000));
    default: return spt_rng_range(rng, 0, 5000);
    }
}

static void generate(spt_rng *rng, alloc_case *c, size_t max_n, bool bounds)
{
    memset(c, 0, sizeof *c);
    c->n = (size_t)spt_rng_range(rng, 1, (int64_t)max_n);
    c->total = pick_total(rng);
    c->equal_weights = spt_rng_chance(rng, 10);
    for (size_t i = 0; i < c->n; i++)
        c->w[i] = spt_rng_chance(rng, 15) ? 0 : spt_rng_range(rng, 1, spt_rng_chance(rng, 50) ? 10 : 1000000);
    int64_t mag = c->total < 0 ? -c->total : c->total;
    int64_t per = mag / (int64_t)c->n + 1;
    int64_t sign = c->total < 0 ? -1 : 1;
    c->unit = spt_rng_chance(rng, 20) ? (int64_t[]){ 10, 100, 1000 }[spt_rng_next(rng) % 3] : 0;
    if (!bounds)
        return;
    c->has_min = spt_rng_chance(rng, 40);
    c->has_max = spt_rng_chance(rng, 40);
    c->has_lock = spt_rng_chance(rng, 25);
    for (size_t i = 0; i < c->n; i++) {
        /* In the direction of the total: a lower magnitude bound and an upper one. */
        int64_t small = spt_rng_chance(rng, 50) ? 0 : spt_rng_range(rng, -per / 4, 2 * per);
        int64_t big = spt_rng_chance(rng, 30) ? INT64_MAX : spt_rng_range(rng, small, 2 * per);
        if (sign > 0) {
            c->min[i] = small;
            c->max[i] = big;
        } else {
            c->min[i] = big == INT64_MAX ? -INT64_MAX : -big;
            c->max[i] = -small;
        }
        c->locked[i] = spt_rng_chance(rng, 20);
        c->lv[i] = spt_rng_range(rng, -per / 8, per) * sign;
    }
}

static void compare_with_reference(sp_ctx *ctx, const alloc_case *c, unsigned it)
{
    int64_t got[REF_MAX_PARTS], want[REF_MAX_PARTS];
    memset(got, 0x11, sizeof got);
    int rc = run_case(ctx, c, got);
    bool feasible = ref_allocate(c, want);
    if (!feasible) {
        if (rc != SP_EINVAL)
            fail_msg("case %u: reference finds no allocation, library returned %d", it, rc);
        for (size_t i = 0; i < c->n; i++)
            assert_true(got[i] == 0x1111111111111111);
        return;
    }
    if (rc != SP_OK)
        fail_msg("case %u: library failed (%d: %s) where the reference allocates", it, rc,
                 sp_ctx_errmsg(ctx));
    for (size_t i = 0; i < c->n; i++)
        if (got[i] != want[i])
            fail_msg("case %u (n=%zu total=%lld unit=%lld): part %zu: got %lld, reference %lld",
                     it, c->n, (long long)c->total, (long long)c->unit, i, (long long)got[i],
                     (long long)want[i]);
    check_invariants(c, got);
}

static void test_property_against_reference_bounded(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 1 };
    unsigned iterations = spt_iterations(6000), feasible = 0, binding = 0, beside_zero = 0;
    for (unsigned it = 0; it < iterations; it++) {
        alloc_case c;
        generate(&rng, &c, REF_MAX_BOUNDED, true);
        compare_with_reference(ctx, &c, it);
        int64_t bounded[REF_MAX_PARTS], free_run[REF_MAX_PARTS];
        if (!ref_allocate(&c, bounded))
            continue;
        feasible++;
        beside_zero += remainder_beside_larger_zero_weight(&c, bounded);
        alloc_case loose = c;
        loose.has_min = loose.has_max = false;
        if (ref_allocate(&loose, free_run) && memcmp(bounded, free_run, c.n * sizeof *bounded))
            binding++;
    }
    /* The generator must exercise both outcomes, and bounds that change the result, in
     * earnest. */
    assert_true(feasible > iterations / 4);
    assert_true(feasible < iterations - iterations / 10);
    assert_true(binding > feasible / 5);
    assert_true(beside_zero > 0);
    sp_ctx_free(ctx);
}

static void test_property_against_reference_unbounded(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 2 };
    unsigned iterations = spt_iterations(3000);
    for (unsigned it = 0; it < iterations; it++) {
        alloc_case c;
        generate(&rng, &c, 120, false);
        compare_with_reference(ctx, &c, it);
    }
    sp_ctx_free(ctx);
}

static void test_property_scaling_and_mirror(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 3 };
    unsigned iterations = spt_iterations(4000);
    for (unsigned it = 0; it < iterations; it++) {
        alloc_case c;
        generate(&rng, &c, 40, true);
        c.equal_weights = false;
        int64_t base[REF_MAX_PARTS], other[REF_MAX_PARTS];
        int rc = run_case(ctx, &c, base);

        /* Scaling every weight by a constant changes nothing, errors included. */
        alloc_case scaled = c;
        int64_t factor = (int64_t[]){ 2, 3, 1000, 999983 }[it % 4];
        for (size_t i = 0; i < c.n; i++)
            scaled.w[i] = c.w[i] * factor;
        assert_int_equal(run_case(ctx, &scaled, other), rc);
        if (rc == SP_OK)
            expect_parts(other, base, c.n);

        /* allocate(-T, w, min=-M, max=-m, locked=-v) = -allocate(T, w, min=m, max=M, v) */
        alloc_case mirror = c;
        mirror.total = -c.total;
        for (size_t i = 0; i < c.n; i++) {
            mirror.min[i] = -c.max[i];
            mirror.max[i] = -c.min[i];
            mirror.lv[i] = -c.lv[i];
        }
        mirror.has_min = c.has_max;
        mirror.has_max = c.has_min;
        int mrc = run_case(ctx, &mirror, other);
        if (c.total != 0 || !c.has_lock)
            assert_int_equal(mrc, rc);
        if (rc == SP_OK && mrc == SP_OK)
            for (size_t i = 0; i < c.n; i++)
                assert_true(other[i] == -base[i]);
    }
    sp_ctx_free(ctx);
}

static void test_property_equal_weights_order(void **state)
{
    (void)state;
    /* With equal weights the leftover units go to the first parts, whatever the weight. */
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 4 };
    int64_t w[50], out[50];
    for (unsigned it = 0; it < spt_iterations(2000); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, 50);
        int64_t total = spt_rng_range(&rng, 0, 1000000), weight = spt_rng_range(&rng, 1, 1000);
        for (size_t i = 0; i < n; i++)
            w[i] = weight;
        assert_int_equal(sp_allocate(ctx, total, w, n, NULL, out), SP_OK);
        int64_t q = total / (int64_t)n, r = total % (int64_t)n;
        for (size_t i = 0; i < n; i++)
            assert_int_equal(out[i], q + ((int64_t)i < r));
    }
    sp_ctx_free(ctx);
}

static void test_large_values(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t out[3];
    /* INT64_MAX by 1:1:1 = 3074457345618258602 r 1 */
    assert_int_equal(sp_allocate(ctx, INT64_MAX, NULL, 3, NULL, out), SP_OK);
    expect_parts(out, (int64_t[]){ 3074457345618258603, 3074457345618258602,
                                   3074457345618258602 },
                 3);
    /* Weights whose sum is INT64_MAX: (2^62, 2^62 - 1), total 2^62 - 1 ... exact halves. */
    int64_t w[2] = { INT64_C(4611686018427387904), INT64_C(4611686018427387903) };
    assert_int_equal(sp_allocate(ctx, INT64_MAX, w, 2, NULL, out), SP_OK);
    expect_parts(out, w, 2);
    assert_int_equal(sp_allocate(ctx, -INT64_MAX, w, 2, NULL, out), SP_OK);
    assert_true(out[0] == -w[0] && out[1] == -w[1]);
    sp_ctx_free(ctx);
}

static void test_million_parts(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    size_t n = 1000000;
    int64_t *w = malloc(n * sizeof *w), *out = malloc(n * sizeof *out);
    assert_non_null(w);
    assert_non_null(out);
    spt_rng rng = { 5 };
    i128 wsum = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = spt_rng_range(&rng, 0, 1000000);
        wsum += w[i];
    }
    int64_t total = INT64_C(123456789012345);
    assert_int_equal(sp_allocate(ctx, total, w, n, NULL, out), SP_OK);
    i128 sum = 0;
    for (size_t i = 0; i < n; i++) {
        /* Each part is its exact share rounded down or up. */
        i128 floor = (i128)w[i] * total / wsum;
        assert_true(out[i] == floor || out[i] == floor + 1);
        sum += out[i];
    }
    assert_true(sum == total);
    free(w);
    free(out);
    sp_ctx_free(ctx);
}

/* 100 parts, so that the split needs heap scratch: 1000 by 5:1:1:...:1 with part 0 capped
 * at 10 -> 990 over 99 equal parts = 10 each. */
#define FAULT_PARTS 100

typedef struct alloc_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    int64_t w[FAULT_PARTS], max[FAULT_PARTS], out[FAULT_PARTS];
} alloc_fault;

static int run_alloc_fault(void *user)
{
    alloc_fault *f = user;
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.max = f->max;
    return sp_allocate(f->ctx, 1000, f->w, FAULT_PARTS, &o, f->out);
}

static void undo_alloc_fault(void *user)
{
    alloc_fault *f = user;
    for (size_t i = 0; i < FAULT_PARTS; i++) {
        assert_int_equal(f->out[i], 10); /* check the success before resetting */
        f->out[i] = -1;
    }
}

static void check_alloc_fault_unchanged(void *user)
{
    alloc_fault *f = user;
    for (size_t i = 0; i < FAULT_PARTS; i++)
        assert_int_equal(f->out[i], -1);
    assert_int_equal(sp_ctx_errcode(f->ctx), SP_ENOMEM);
}

static size_t live_alloc_fault(void *user)
{
    return ((alloc_fault *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    alloc_fault f;
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    for (size_t i = 0; i < FAULT_PARTS; i++) {
        f.w[i] = i == 0 ? 5 : 1;
        f.max[i] = i == 0 ? 10 : NONE;
        f.out[i] = -1;
    }
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_allocate", run_alloc_fault, undo_alloc_fault,
                          check_alloc_fault_unchanged, live_alloc_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_int_equal(spt_fault_loop(&fc, &inj), 1);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

static void test_small_splits_do_not_allocate(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    int64_t out[64];
    uint64_t before = a.calls;
    assert_int_equal(sp_allocate(ctx, 1000003, NULL, 64, NULL, out), SP_OK);
    assert_int_equal(sp_allocate(ctx, 12, NULL, 12, NULL, out), SP_OK);
    assert_int_equal(a.calls, before);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_even_splits),
        cmocka_unit_test(test_largest_remainder_examples),
        cmocka_unit_test(test_bounds_examples),
        cmocka_unit_test(test_locked_examples),
        cmocka_unit_test(test_unit_examples),
        cmocka_unit_test(test_unit_remainder_and_zero_weights),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_options_init),
        cmocka_unit_test(test_property_against_reference_bounded),
        cmocka_unit_test(test_property_against_reference_unbounded),
        cmocka_unit_test(test_property_scaling_and_mirror),
        cmocka_unit_test(test_property_equal_weights_order),
        cmocka_unit_test(test_large_values),
        cmocka_unit_test(test_million_parts),
        cmocka_unit_test(test_fault_loop),
        cmocka_unit_test(test_small_splits_do_not_allocate),
    };
    return cmocka_run_group_tests_name("allocate", tests, NULL, NULL);
}
