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

/* ---- 8.1, 8.2: payments prorated to lines ---- */

static void prorate_is(sp_ctx *ctx, const int64_t *amounts, size_t n, int64_t before,
                       int64_t payment, const int64_t *want)
{
    int64_t out[8];
    int rc = spi_credit_prorate(ctx, 7, amounts, n, 900, before, payment, out);
    if (rc != SP_OK)
        fail_msg("prorate: status %d: %s", rc, sp_ctx_errmsg(ctx));
    expect_parts(out, want, n);
}

static int64_t paid_one(sp_ctx *ctx, int64_t amount, int64_t value, int64_t before,
                        int64_t payment)
{
    spi_paid_line l = { 77, amount, 1, &value };
    int64_t out = 0;
    int rc = spi_credit_paid(ctx, &l, 901, before, payment, SP_ROUND_HALF_EVEN, &out);
    if (rc != SP_OK)
        fail_msg("paid: status %d: %s", rc, sp_ctx_errmsg(ctx));
    return out;
}

static void test_payments_oca(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* OCA #104: invoice 20 000.00, commission 4 000.00, two payments of 10 000.00: each
     * credits 400 000 x 1 000 000 / 2 000 000 = 200 000. */
    assert_int_equal(paid_one(ctx, 2000000, 400000, 0, 1000000), 200000);
    assert_int_equal(paid_one(ctx, 2000000, 400000, 1000000, 1000000), 200000);
    /* OCA #480: 1 000.00 at 20 % (200.00), 500.00 paid: 20 000 x 50 000 / 100 000. */
    assert_int_equal(paid_one(ctx, 100000, 20000, 0, 50000), 10000);
    /* OCA #385: two lines of 1 000.00, a down payment of 1 500.00 pays 3/4 of each; the
     * commission of line 1 (10 % = 100.00) credits 3/4 of 10 000 = 7 500, not 15 000. */
    const int64_t lines[2] = { 100000, 100000 };
    prorate_is(ctx, lines, 2, 0, 150000, (const int64_t[]){ 75000, 75000 });
    assert_int_equal(paid_one(ctx, 100000, 10000, 0, 75000), 7500);
    sp_ctx_free(ctx);
}

/* 8.2: INV-7, L1 123.45 at 10 %, L2 876.55 at 4 %; payments 333.33, 333.33, 333.34. */
static void test_payments_three_over_two(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const int64_t lines[2] = { 12345, 87655 };
    const int64_t pay[3] = { 33333, 33333, 33334 };
    /* Cumulative 33 333 over 12 345 : 87 655 is 4 114.959 / 29 218.041: the cent to L1:
     * 4 115 / 29 218. Cumulative 66 666: 8 229.918 / 58 436.082: 8 230 / 58 436, so P2
     * pays 4 115 / 29 218. P3 pays the rest: 4 115 / 29 219. */
    const int64_t want_parts[3][2] = { { 4115, 29218 }, { 4115, 29218 }, { 4115, 29219 } };
    /* Commissions of the lines: R(1 234.5) = 1 234 (half-even), R(3 506.2) = 3 506.
     * To date after each payment: L1 R(1 234 x 4 115 / 12 345) = R(411.33) = 411, then
     * R(822.67) = 823, then 1 234: 411, 412, 411. L2 R(3 506 x 29 218 / 87 655) =
     * R(1 168.65) = 1 169, then R(2 337.31) = 2 337, then 3 506: 1 169, 1 168, 1 169. */
    const int64_t want_comm[3][2] = { { 411, 1169 }, { 412, 1168 }, { 411, 1169 } };
    int64_t paid[2] = { 0, 0 }, comm_total[2] = { 0, 0 }, before = 0, total = 0;
    const int64_t comm[2] = { 1234, 3506 };
    for (size_t k = 0; k < 3; k++) {
        int64_t parts[2];
        prorate_is(ctx, lines, 2, before, pay[k], want_parts[k]);
        memcpy(parts, want_parts[k], sizeof parts);
        before += pay[k];
        for (size_t l = 0; l < 2; l++) {
            /* The line's amount and its commission, credited together. */
            const int64_t values[2] = { lines[l], comm[l] };
            spi_paid_line pl = { 100 + l, lines[l], 2, values };
            int64_t out[2];
            assert_int_equal(spi_credit_paid(ctx, &pl, 900 + k, paid[l], parts[l],
                                             SP_ROUND_HALF_EVEN, out),
                             SP_OK);
            assert_int_equal(out[0], parts[l]); /* the amount credited is the part paid */
            assert_int_equal(out[1], want_comm[k][l]);
            paid[l] += parts[l];
            comm_total[l] += out[1];
            total += out[1];
        }
        assert_int_equal(want_comm[k][0] + want_comm[k][1], 1580);
    }
    /* No drift: the invoice-basis commission, 4 740 (rounding each part x rate gives
     * 4 743). */
    assert_int_equal(comm_total[0], 1234);
    assert_int_equal(comm_total[1], 3506);
    assert_int_equal(total, 4740);
    /* A full refund after settlement: -1 000.00 against the invoice takes back every line
     * and its whole commission: the net is 0. */
    prorate_is(ctx, lines, 2, 100000, -100000, (const int64_t[]){ -12345, -87655 });
    int64_t back = paid_one(ctx, 12345, 1234, 12345, -12345) +
                   paid_one(ctx, 87655, 3506, 87655, -87655);
    assert_int_equal(back, -4740);
    /* A negative line (a credit note) is paid by negative payments, the mirror image. */
    assert_int_equal(paid_one(ctx, -12345, -1234, 0, -4115), -411);
    prorate_is(ctx, (const int64_t[]){ -12345, -87655 }, 2, 0, -33333,
               (const int64_t[]){ -4115, -29218 });
    /* A line of amount 0 credits nothing, and an invoice of lines of 0 pays nothing. */
    assert_int_equal(paid_one(ctx, 0, 500, 0, 0), 0);
    prorate_is(ctx, (const int64_t[]){ 0, 0 }, 2, 0, 0, (const int64_t[]){ 0, 0 });
    sp_ctx_free(ctx);
}

static void test_payment_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    int64_t value = 1000, out[4] = { 5, 5, 5, 5 };
    spi_paid_line l = { 77, 100000, 1, &value };
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 901, 60000, 50000, 0, out), SP_EINVAL,
                     "commission payment: payment 901 of 50000 brings the paid amount of line "
                     "77 to 110000, beyond its amount 100000");
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 902, 10000, -20000, 0, out), SP_EINVAL,
                     "commission payment: payment 902 of -20000 brings the paid amount of "
                     "line 77 to -10000: it reverses more than was paid");
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 903, 120000, 0, 0, out), SP_EINVAL,
                     "commission payment: line 77: paid 120000 before payment 903, beyond its "
                     "amount 100000");
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 904, 0, INT64_MAX, 0, out), SP_EINVAL,
                     "commission payment: payment 904 of 9223372036854775807 brings the paid "
                     "amount of line 77 to 9223372036854775807, beyond its amount 100000");
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 904, 1, INT64_MAX, 0, out), SP_EOVERFLOW,
                     "commission payment: payment 904 of 9223372036854775807: the paid amount "
                     "of line 77 overflows");
    spt_expect_error(ctx, spi_credit_paid(ctx, &l, 905, 0, 1, 99, out), SP_EINVAL,
                     "commission payment: unknown rounding mode 99");
    spt_expect_error(ctx, spi_credit_paid(ctx, NULL, 905, 0, 1, 0, out), SP_EINVAL,
                     "commission payment: line is NULL");
    spi_paid_line zero = { 78, 0, 1, &value };
    spt_expect_error(ctx, spi_credit_paid(ctx, &zero, 906, 0, 1, 0, out), SP_EINVAL,
                     "commission payment: payment 906 of 1 brings the paid amount of line 78 "
                     "to 1, beyond its amount 0");
    /* A negative line: a positive payment reverses more than was paid. */
    spi_paid_line neg = { 79, -100, 1, &value };
    spt_expect_error(ctx, spi_credit_paid(ctx, &neg, 907, 0, 1, 0, out), SP_EINVAL,
                     "commission payment: payment 907 of 1 brings the paid amount of line 79 "
                     "to 1: it reverses more than was paid");
    /* INT64_MIN as a value: the reversal of its whole credit does not fit. */
    int64_t minv = INT64_MIN;
    spi_paid_line big = { 80, 10, 1, &minv };
    spt_expect_error(ctx, spi_credit_paid(ctx, &big, 908, 10, -10, 0, out), SP_EOVERFLOW,
                     "commission payment: payment 908: the credit of value 0 of line 80 "
                     "overflows");
    assert_int_equal(out[0], 5); /* untouched by every failure */

    const int64_t lines[2] = { 12345, 87655 };
    spt_expect_error(ctx, spi_credit_prorate(ctx, 7, lines, 2, 909, 90000, 20000, out),
                     SP_EINVAL,
                     "commission payment: payment 909 of 20000 brings the paid amount of "
                     "invoice 7 to 110000, beyond its amount 100000");
    spt_expect_error(ctx, spi_credit_prorate(ctx, 7, (const int64_t[]){ 100, -5 }, 2, 910, 0, 1,
                                             out),
                     SP_EINVAL,
                     "commission payment: invoice 7: line 1's amount -5 has the other sign "
                     "than the total 95");
    spt_expect_error(ctx, spi_credit_prorate(ctx, 7, lines, 0, 911, 0, 1, out), SP_EINVAL,
                     "commission payment: invoice 7: no lines");
    spt_expect_error(ctx, spi_credit_prorate(ctx, 7, NULL, 2, 911, 0, 1, out), SP_EINVAL,
                     "commission payment: invoice 7: amounts is NULL");
    spt_expect_error(ctx,
                     spi_credit_prorate(ctx, 7, (const int64_t[]){ INT64_MAX, 1 }, 2, 912, 0,
                                        1, out),
                     SP_EOVERFLOW,
                     "commission payment: invoice 7: the line amounts overflow at line 1");
    assert_int_equal(out[0], 5);
    sp_ctx_free(ctx);
}

/* ---- 6.1, 6.2: overrides along the hierarchy ---- */

/* VP > M > A..E, VP > M2 > F; levels vp, manager, rep. */
enum { VP, M, A, B, C, D, E, M2, F, NNODES };

static sp_hierarchy *payees_hierarchy(sp_ctx *ctx)
{
    static const char *const ids[NNODES] = { "VP", "M", "A", "B", "C", "D", "E", "M2", "F" };
    static const char *const parents[NNODES] = { NULL, "VP", "M", "M", "M", "M", "M", "VP",
                                                 "M2" };
    static const char *const levels[3] = { "vp", "manager", "rep" };
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, NNODES, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_set_levels(h, levels, 3), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    return h;
}

static spi_cplan_level level(const char *name, sp_dec rate, bool threshold, int64_t above)
{
    spi_cplan_level l = { (char *)(uintptr_t)name, rate, threshold ? PCT(100) : -1, above,
                          SPI_CRON_MEASURE };
    return l;
}

static spi_rollup *rollup(sp_ctx *ctx, const sp_hierarchy *h, const spi_cplan_level *levels,
                          size_t n, uint32_t count)
{
    spi_rollup *r = NULL;
    int rc = spi_rollup_new(&r, ctx, h, levels, n, count, SP_ROUND_HALF_EVEN);
    if (rc != SP_OK)
        fail_msg("rollup: status %d: %s", rc, sp_ctx_errmsg(ctx));
    return r;
}

/* The overrides of a line of `n` payees; returns their number. */
static size_t line_overrides(spi_rollup *r, uint64_t fact, const uint32_t *payees,
                             const int64_t *measures, size_t n, spi_override *out)
{
    size_t k = 0;
    int rc = spi_rollup_line(r, fact, payees, measures, NULL, n, out, 16, &k);
    if (rc != SP_OK)
        fail_msg("rollup line %llu: status %d", (unsigned long long)fact, rc);
    return k;
}

static void expect_override(const spi_override *o, uint32_t manager, uint32_t via,
                            int64_t base, int64_t amount, bool held)
{
    if (o->manager != manager || o->via != via || o->base != base || o->amount != amount ||
        o->held != held)
        fail_msg("override: got manager %u via %u base %lld amount %lld held %d; expected %u "
                 "%u %lld %lld %d",
                 o->manager, o->via, (long long)o->base, (long long)o->amount, o->held, manager,
                 via, (long long)base, (long long)amount, held);
}

/* Prowi's reps A..E, in cents. */
static const int64_t SALES[5] = { 7500000, 6000000, 6750000, 5250000, 4500000 };

static void test_override_prowi(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = payees_hierarchy(ctx);
    /* 6.1: the manager's 3 % on each rep's line: 225 000, 180 000, 202 500, 157 500,
     * 135 000 = 900 000 (3 % of the team's 30 000 000). The VP has no rule. */
    spi_cplan_level lv = level("manager", PCT(3), false, 0);
    spi_rollup *r = rollup(ctx, h, &lv, 1, SPI_CCOUNT_ONCE_PER_PAYEE);
    assert_int_equal(spi_rollup_max_overrides(r, 2), 2);
    const int64_t want[5] = { 225000, 180000, 202500, 157500, 135000 };
    spi_override o[16];
    int64_t total = 0;
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t rep = A + i;
        assert_int_equal(line_overrides(r, i + 1, &rep, &SALES[i], 1, o), 1);
        expect_override(&o[0], M, rep, SALES[i], want[i], false);
        assert_int_equal(o[0].level, 1);
        total += o[0].amount;
    }
    assert_int_equal(total, 900000);
    spi_rollup_free(r);

    /* The threshold model: only the team's sales above 225 000.00 pay. In the order
     * A..E the team's sales go 7.5M, 13.5M, 20.25M, 25.5M, 30M: A, B, C pay nothing,
     * D pays (25.5M - 22.5M) x 3 % = 90 000, E 4.5M x 3 % = 135 000: 225 000. */
    lv = level("manager", PCT(3), false, 22500000);
    r = rollup(ctx, h, &lv, 1, SPI_CCOUNT_ONCE_PER_PAYEE);
    const int64_t want_base[5] = { 0, 0, 0, 3000000, 4500000 };
    const int64_t want_above[5] = { 0, 0, 0, 90000, 135000 };
    for (uint32_t i = 0; i < 5; i++) {
        uint32_t rep = A + i;
        assert_int_equal(line_overrides(r, i + 1, &rep, &SALES[i], 1, o), 1);
        expect_override(&o[0], M, rep, want_base[i], want_above[i], false);
    }
    /* A refund of 50 000.00 from E takes the team back to 25M: -5M x 3 % = -150 000 (the
     * slice above 22.5M shrinks from 7.5M to 2.5M). */
    uint32_t rep = E;
    int64_t refund = -5000000;
    assert_int_equal(line_overrides(r, 6, &rep, &refund, 1, o), 1);
    expect_override(&o[0], M, E, -5000000, -150000, false);
    /* A new period starts from a team base of 0 again. */
    spi_rollup_begin_period(r, NULL);
    assert_int_equal(line_overrides(r, 7, &rep, &SALES[4], 1, o), 1);
    expect_override(&o[0], M, E, 0, 0, false);
    spi_rollup_free(r);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* 6.2: M 2 % with a threshold, VP 1 % without; M's own deal D_M of 20 000.00. */
static void test_override_two_levels(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = payees_hierarchy(ctx);
    /* Levels in the document's order (ascending names: manager, vp). */
    const spi_cplan_level lv[2] = { level("manager", PCT(2), true, 0),
                                    level("vp", PCT(1), false, 0) };
    spi_rollup *r = rollup(ctx, h, lv, 2, SPI_CCOUNT_ONCE_PER_PAYEE);
    for (int pass = 0; pass < 2; pass++) {
        /* a: the team reached 93.75 % of its quota, M's threshold is not reached; b: 107 %. */
        bool reached[NNODES];
        for (size_t v = 0; v < NNODES; v++)
            reached[v] = true;
        reached[M] = pass == 1;
        spi_rollup_begin_period(r, reached);
        int64_t m_total = 0, vp_total = 0;
        spi_override o[16];
        for (uint32_t i = 0; i < 5; i++) {
            uint32_t rep = A + i;
            /* Nearest manager first, then up. */
            assert_int_equal(line_overrides(r, i + 1, &rep, &SALES[i], 1, o), 2);
            expect_override(&o[0], M, rep, SALES[i], pass == 1 ? SALES[i] / 50 : 0, pass == 0);
            expect_override(&o[1], VP, rep, SALES[i], SALES[i] / 100, false);
            assert_int_equal(o[1].level, 0);
            m_total += o[0].amount;
            vp_total += o[1].amount;
        }
        /* M's own deal: no override for M on it, the VP's includes it. */
        uint32_t self = M;
        const int64_t dm = 2000000;
        assert_int_equal(line_overrides(r, 6, &self, &dm, 1, o), 1);
        expect_override(&o[0], VP, M, 2000000, 20000, false);
        vp_total += o[0].amount;
        /* a: 0 and (30M + 2M) x 1 % = 320 000; b: 30M x 2 % = 600 000 and 320 000. */
        assert_int_equal(m_total, pass == 1 ? 600000 : 0);
        assert_int_equal(vp_total, 320000);
    }
    spi_rollup_free(r);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* A line of 1.01 split 50/50 between A and B (51 / 50), both under M. */
static void test_override_count(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = payees_hierarchy(ctx);
    const spi_cplan_level lv[2] = { level("manager", PCT(3), false, 0),
                                    level("vp", PCT(1), false, 0) };
    const uint32_t ab[2] = { A, B };
    const int64_t parts[2] = { 51, 50 };
    spi_override o[16];
    /* once_per_payee: M once on the line's whole 101: R(3.03) = 3; the VP once: R(1.01)
     * = 1. In the order first reached: M (through A), VP. */
    spi_rollup *r = rollup(ctx, h, lv, 2, SPI_CCOUNT_ONCE_PER_PAYEE);
    assert_int_equal(line_overrides(r, 1, ab, parts, 2, o), 2);
    expect_override(&o[0], M, A, 101, 3, false);
    expect_override(&o[1], VP, A, 101, 1, false);
    /* A and F: M on A's 51 (R(1.53) = 2), M2 on F's 50 (R(1.5) = 2), the VP once on 101. */
    const uint32_t af[2] = { A, F };
    assert_int_equal(line_overrides(r, 2, af, parts, 2, o), 3);
    expect_override(&o[0], M, A, 51, 2, false);
    expect_override(&o[1], VP, A, 101, 1, false);
    expect_override(&o[2], M2, F, 50, 2, false);
    spi_rollup_free(r);
    /* every_path: one override per path: M on 51 (2) and on 50 (R(1.5) = 2, half-even),
     * the VP on 51 (R(.51) = 1) and on 50 (R(.5) = 0). */
    r = rollup(ctx, h, lv, 2, SPI_CCOUNT_EVERY_PATH);
    assert_int_equal(line_overrides(r, 1, ab, parts, 2, o), 4);
    expect_override(&o[0], M, A, 51, 2, false);
    expect_override(&o[1], VP, A, 51, 1, false);
    expect_override(&o[2], M, B, 50, 2, false);
    expect_override(&o[3], VP, B, 50, 0, false);
    spi_rollup_free(r);
    /* On earnings: the base is the payees' earnings, not their measure. */
    spi_cplan_level le = level("manager", PCT(10), false, 0);
    le.on = SPI_CRON_EARNINGS;
    r = rollup(ctx, h, &le, 1, SPI_CCOUNT_ONCE_PER_PAYEE);
    const int64_t earn[2] = { 255, 150 };
    size_t k = 0;
    assert_int_equal(spi_rollup_line(r, 3, ab, NULL, earn, 2, o, 16, &k), SP_OK);
    assert_int_equal(k, 1);
    expect_override(&o[0], M, A, 405, 40, false); /* R(40.5) = 40, half-even */
    spi_rollup_free(r);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_override_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = payees_hierarchy(ctx);
    spi_rollup *r = (spi_rollup *)&r;
    spi_cplan_level lv = level("director", PCT(1), false, 0);
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, &lv, 1, 0, 0), SP_EINVAL,
                     "commission roll-up: levels.director: the payees' hierarchy has no level "
                     "\"director\"");
    lv = level("manager", -1, false, 0);
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, &lv, 1, 0, 0), SP_EINVAL,
                     "commission roll-up: levels.manager.rate: -0.0000001% is negative");
    lv = level("manager", PCT(1), false, -5);
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, &lv, 1, 0, 0), SP_EINVAL,
                     "commission roll-up: levels.manager.above: -5 is negative");
    lv = level("manager", PCT(1), false, 0);
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, &lv, 1, 2, 0), SP_EINVAL,
                     "commission roll-up: unknown count rule 2");
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, &lv, 1, 0, 7), SP_EINVAL,
                     "commission roll-up: unknown rounding mode 7");
    const spi_cplan_level two[2] = { lv, lv };
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, h, two, 2, 0, 0), SP_EINVAL,
                     "commission roll-up: levels.manager: the level has two rules");
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, NULL, &lv, 1, 0, 0), SP_EINVAL,
                     "commission roll-up: the hierarchy is NULL");
    assert_ptr_equal(r, (spi_rollup *)&r);
    sp_hierarchy *open = NULL;
    assert_int_equal(sp_hierarchy_new(&open, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add(open, "X", 1, NULL, 0, NULL), SP_OK);
    spt_expect_error(ctx, spi_rollup_new(&r, ctx, open, &lv, 1, 0, 0), SP_EINVAL,
                     "commission roll-up: the payees' hierarchy is not validated");
    sp_hierarchy_free(open);

    r = rollup(ctx, h, &lv, 1, SPI_CCOUNT_ONCE_PER_PAYEE);
    spi_override o[4];
    size_t k = 99;
    const int64_t m[2] = { 100, 100 };
    spt_expect_error(ctx, spi_rollup_line(r, 5, (const uint32_t[]){ A, A }, m, NULL, 2, o, 4, &k),
                     SP_EINVAL, "commission roll-up: fact 5: payee \"A\" is given twice");
    spt_expect_error(ctx, spi_rollup_line(r, 5, (const uint32_t[]){ 9 }, m, NULL, 1, o, 4, &k),
                     SP_EINVAL,
                     "commission roll-up: fact 5: payee 9 is not a node of the hierarchy (it "
                     "has 9)");
    spt_expect_error(ctx, spi_rollup_line(r, 5, (const uint32_t[]){ A }, NULL, m, 1, o, 4, &k),
                     SP_EINVAL,
                     "commission roll-up: fact 5: level 1's rule is on measures, which is NULL");
    spt_expect_error(ctx, spi_rollup_line(r, 5, (const uint32_t[]){ A, F }, m, NULL, 2, o, 0, &k),
                     SP_EBUFFER, "commission roll-up: fact 5: more than 0 overrides (cap)");
    spt_expect_error(ctx, spi_rollup_line(r, 5, (const uint32_t[]){ A }, m, NULL, 1, o, 4, NULL),
                     SP_EINVAL, "commission roll-up: fact 5: nout is NULL");
    assert_int_equal(k, 99);
    /* An overflowing team base changes nothing: the next line sees the base before. */
    spi_rollup_free(r);
    lv = level("manager", PCT(1), false, 1);
    r = rollup(ctx, h, &lv, 1, SPI_CCOUNT_ONCE_PER_PAYEE);
    const int64_t huge[2] = { INT64_MAX, 1 };
    spt_expect_error(ctx, spi_rollup_line(r, 6, (const uint32_t[]){ A, B }, huge, NULL, 2, o, 4,
                                          &k),
                     SP_EOVERFLOW, "commission roll-up: fact 6: the base of manager \"M\" overflows");
    assert_int_equal(line_overrides(r, 7, (const uint32_t[]){ A }, &huge[0], 1, o), 1);
    expect_override(&o[0], M, A, INT64_MAX - 1, (INT64_MAX - 1) / 100, false);
    spt_expect_error(ctx, spi_rollup_line(r, 8, (const uint32_t[]){ B }, &huge[0], NULL, 1, o, 4,
                                          &k),
                     SP_EOVERFLOW,
                     "commission roll-up: fact 8: the team base of manager \"M\" overflows");
    /* The team base is still INT64_MAX: a refund of 1 moves it to INT64_MAX - 1. */
    const int64_t minus1 = -1;
    assert_int_equal(line_overrides(r, 9, (const uint32_t[]){ B }, &minus1, 1, o), 1);
    expect_override(&o[0], M, B, -1, 0, false);
    spi_rollup_free(r);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- properties ---- */

/* A second, naive largest-remainder split: floors of w x v / 10^9 on magnitudes, then
 * one unit at a time to the largest remaining remainder, the lowest index on ties. */
static void naive_split(const sp_dec *w, size_t n, int64_t v, int64_t *out)
{
    bool neg = v < 0;
    i128 mag = neg ? -(i128)v : v, left = mag;
    i128 rem[16];
    for (size_t i = 0; i < n; i++) {
        i128 p = (i128)w[i] * mag;
        out[i] = (int64_t)(p / 1000000000);
        rem[i] = p % 1000000000;
        left -= out[i];
    }
    for (; left > 0; left--) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (rem[i] > rem[best])
                best = i;
        out[best]++;
        rem[best] = -1;
    }
    if (neg)
        for (size_t i = 0; i < n; i++)
            out[i] = -out[i];
}

#define PFACTS 200

static void test_split_property(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 20270109 };
    unsigned iters = spt_iterations(50);
    for (unsigned it = 0; it < iters; it++) {
        /* PFACTS facts with 1..6 payees of 40 each, random shares summing to 100 %. */
        uint64_t ids[PFACTS * 6];
        uint32_t payees[PFACTS * 6];
        sp_dec shares[PFACTS * 6];
        int64_t values[PFACTS];
        size_t n = 0, start[PFACTS + 1];
        for (size_t f = 0; f < PFACTS; f++) {
            start[f] = n;
            size_t k = (size_t)spt_rng_range(&rng, 1, 6);
            sp_dec left = SP_DEC_ONE;
            uint32_t base = (uint32_t)spt_rng_range(&rng, 0, 33);
            for (size_t j = 0; j < k; j++) {
                sp_dec sh = j + 1 == k ? left : spt_rng_range(&rng, 0, left);
                left -= sh;
                ids[n] = (uint64_t)f * 7919u + 3u; /* distinct, not in index order */
                payees[n] = base + (uint32_t)j;
                shares[n] = sh;
                n++;
            }
            values[f] = spt_rng_chance(&rng, 20) ? spt_rng_range(&rng, -1000000, 0)
                                                 : spt_rng_range(&rng, 0, 100000000);
        }
        start[PFACTS] = n;
        spi_split_table *t = table(ctx, ids, payees, shares, n, 40);
        /* The same entries with the facts in a shuffled order (each fact's entries keep
         * their order, which is the tie rule). */
        size_t perm[PFACTS];
        for (size_t f = 0; f < PFACTS; f++)
            perm[f] = f;
        for (size_t f = PFACTS - 1; f > 0; f--) {
            size_t g = (size_t)spt_rng_range(&rng, 0, (int64_t)f), x = perm[f];
            perm[f] = perm[g];
            perm[g] = x;
        }
        uint64_t ids2[PFACTS * 6];
        uint32_t payees2[PFACTS * 6];
        sp_dec shares2[PFACTS * 6];
        size_t m = 0;
        for (size_t q = 0; q < PFACTS; q++)
            for (size_t e = start[perm[q]]; e < start[perm[q] + 1]; e++) {
                ids2[m] = ids[e];
                payees2[m] = payees[e];
                shares2[m] = shares[e];
                m++;
            }
        spi_split_table *t2 = table(ctx, ids2, payees2, shares2, m, 40);
        int64_t tot1[40] = { 0 }, tot2[40] = { 0 };
        for (size_t q = 0; q < PFACTS; q++) {
            size_t f = perm[q], k = start[f + 1] - start[f];
            int64_t parts[6], parts2[6], naive[6], back[6];
            assert_int_equal(spi_credit_split(t, ids[start[f]], values[f], NULL, parts), SP_OK);
            naive_split(shares + start[f], k, values[f], naive);
            expect_parts(parts, naive, k);
            int64_t sum = 0;
            for (size_t j = 0; j < k; j++)
                sum += parts[j];
            assert_int_equal(sum, values[f]);
            /* A refund of the whole line gives back exactly each part. */
            assert_int_equal(spi_credit_split(t, ids[start[f]], -values[f], NULL, back), SP_OK);
            for (size_t j = 0; j < k; j++)
                assert_int_equal(back[j], -parts[j]);
            /* Per-payee totals: facts in index order through t, shuffled through t2. */
            for (size_t j = 0; j < k; j++)
                tot1[payees[start[f] + j]] += parts[j];
            size_t g = perm[PFACTS - 1 - q], kg = start[g + 1] - start[g];
            assert_int_equal(spi_credit_split(t2, ids[start[g]], values[g], NULL, parts2), SP_OK);
            for (size_t j = 0; j < kg; j++)
                tot2[payees[start[g] + j]] += parts2[j];
        }
        for (size_t p = 0; p < 40; p++)
            assert_int_equal(tot1[p], tot2[p]);
        spi_split_table_free(t);
        spi_split_table_free(t2);
    }
    sp_ctx_free(ctx);
}

/* Random invoices paid in random instalments (and some reversals): the parts of each
 * payment sum to it, no line is ever paid beyond its amount, a fully paid invoice pays
 * every line exactly, and the credits of a line's value total exactly the value. */
static void test_payment_property(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 8 };
    unsigned iters = spt_iterations(300);
    for (unsigned it = 0; it < iters; it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, 80); /* above 64 lines: heap scratch */
        int64_t amounts[80], values[80], paid[80] = { 0 }, credited[80] = { 0 }, total = 0;
        bool negative = spt_rng_chance(&rng, 20);
        for (size_t i = 0; i < n; i++) {
            amounts[i] = spt_rng_chance(&rng, 10) ? 0 : spt_rng_range(&rng, 1, 1000000);
            values[i] = spt_rng_range(&rng, -5000, 100000);
            if (negative)
                amounts[i] = -amounts[i];
            total += amounts[i];
        }
        int64_t before = 0;
        uint32_t mode = (uint32_t)spt_rng_range(&rng, 0, 6);
        while (before != total) {
            int64_t left = total - before, pay;
            if (spt_rng_chance(&rng, 30) || (left > 0 ? left : -left) < 10)
                pay = left;
            else if (spt_rng_chance(&rng, 10) && before != 0)
                pay = -before / 3; /* a reversal */
            else
                pay = left / spt_rng_range(&rng, 2, 5);
            int64_t parts[80];
            assert_int_equal(spi_credit_prorate(ctx, 1, amounts, n, 2, before, pay, parts),
                             SP_OK);
            int64_t sum = 0;
            for (size_t i = 0; i < n; i++) {
                spi_paid_line l = { 10 + i, amounts[i], 1, &values[i] };
                int64_t c;
                assert_int_equal(spi_credit_paid(ctx, &l, 2, paid[i], parts[i], mode, &c),
                                 SP_OK);
                credited[i] += c;
                paid[i] += parts[i];
                sum += parts[i];
                assert_true(negative ? paid[i] <= 0 && paid[i] >= amounts[i]
                                     : paid[i] >= 0 && paid[i] <= amounts[i]);
                /* Credited to date lies between 0 and the value. */
                assert_true(values[i] >= 0 ? credited[i] >= 0 && credited[i] <= values[i]
                                           : credited[i] <= 0 && credited[i] >= values[i]);
            }
            assert_int_equal(sum, pay);
            before += pay;
        }
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(paid[i], amounts[i]);
            assert_int_equal(credited[i], amounts[i] != 0 ? values[i] : 0);
        }
    }
    sp_ctx_free(ctx);
}

/* ---- fault injection ---- */

typedef struct fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_hierarchy *h;
    spi_split_table *t;
    spi_rollup *r;
    int64_t parts[100];
    bool have;
} fault;

static int run_fault(void *user)
{
    fault *f = user;
    /* Unsorted entries: the radix sort's buffers too. */
    const uint64_t ids[6] = { 9, 4, 9, 4, 1, 9 };
    const uint32_t payees[6] = { 0, 0, 1, 1, 2, 2 };
    const sp_dec shares[6] = { PCT(20), PCT(50), PCT(30), PCT(50), PCT(100), PCT(50) };
    int rc = spi_split_table_new(&f->t, f->ctx, ids, payees, shares, 6, 3);
    if (rc != SP_OK)
        return rc;
    const spi_cplan_level lv[2] = { level("manager", PCT(2), true, 0),
                                    level("vp", PCT(1), false, 0) };
    if ((rc = spi_rollup_new(&f->r, f->ctx, f->h, lv, 2, 0, 0)) != SP_OK) {
        spi_split_table_free(f->t);
        f->t = NULL;
        return rc;
    }
    /* 100 lines of 1.00: the proration's scratch is allocated. */
    int64_t amounts[100];
    for (size_t i = 0; i < 100; i++)
        amounts[i] = 100;
    int64_t parts[100];
    if ((rc = spi_credit_prorate(f->ctx, 1, amounts, 100, 2, 0, 5050, parts)) != SP_OK) {
        spi_rollup_free(f->r);
        spi_split_table_free(f->t);
        f->r = NULL;
        f->t = NULL;
        return rc;
    }
    memcpy(f->parts, parts, sizeof parts);
    f->have = true;
    return SP_OK;
}

static void undo_fault(void *user)
{
    fault *f = user;
    assert_true(f->have);
    /* What the run made works: 5 050 over 100 lines of 100 is 50.5 each, the 50 extra
     * units to the first 50 (equal remainders); fact 9 splits 20/30/50. */
    for (size_t i = 0; i < 100; i++)
        assert_int_equal(f->parts[i], i < 50 ? 51 : 50);
    split_is(f->t, 9, 10, (const int64_t[]){ 2, 3, 5 }, 3);
    spi_rollup_free(f->r);
    spi_split_table_free(f->t);
    f->r = NULL;
    f->t = NULL;
    f->have = false;
}

static void check_fault(void *user)
{
    fault *f = user;
    assert_false(f->have);
    assert_null(f->t);
    assert_null(f->r);
}

static size_t live_fault(void *user)
{
    return ((fault *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    f.h = payees_hierarchy(f.ctx);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "credit", run_fault, undo_fault, check_fault, live_fault, errors, 1,
                          &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 15);
    sp_hierarchy_free(f.h);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_50_30_20),
        cmocka_unit_test(test_split_tie_rule),
        cmocka_unit_test(test_split_erpnext),
        cmocka_unit_test(test_split_errors),
        cmocka_unit_test(test_payments_oca),
        cmocka_unit_test(test_payments_three_over_two),
        cmocka_unit_test(test_payment_errors),
        cmocka_unit_test(test_override_prowi),
        cmocka_unit_test(test_override_two_levels),
        cmocka_unit_test(test_override_count),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_split_property),
        cmocka_unit_test(test_payment_property),
        cmocka_unit_test(test_fault_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
