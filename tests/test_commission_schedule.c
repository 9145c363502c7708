/* Commission rate schedules (src/commission/schedule.c): worked examples derived by hand,
 * the boundary rule, refunds, the modifiers, attainment breakpoints, every bad input, and
 * a property test against a second, simple implementation on exact rationals. Nothing in
 * the kernel allocates, so there is no fault-injection loop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commission/schedule.h"
#include "salesplan/salesplan.h"
#include "support/spt.h"

__extension__ typedef __int128 i128;

#define PCT(x) ((sp_dec)((x) * 10000000)) /* whole percent to sp_dec */

/* 10,000.00 and 20,000.00 in cents; 5 %, 8 %, 10 %. */
static const int64_t BREAKS[2] = { 1000000, 2000000 };
static const sp_dec RATES[3] = { PCT(5), PCT(8), PCT(10) };
/* 0, 500.00, 1,000.00 */
static const int64_t AMOUNTS[3] = { 0, 50000, 100000 };

static spi_schedule sched(uint32_t kind, uint32_t boundary)
{
    spi_schedule s;
    memset(&s, 0, sizeof s);
    s.kind = kind;
    s.boundary = boundary;
    s.nbreaks = 2;
    s.breaks = BREAKS;
    s.nvalues = 3;
    if (kind == SPI_SCHEDULE_TABLE || kind == SPI_SCHEDULE_CURVE)
        s.amounts = AMOUNTS;
    else
        s.rates = RATES;
    return s;
}

static spi_schedule_line_out line(const spi_schedule *s, int64_t c, int64_t m, uint32_t policy,
                                  uint32_t mode)
{
    spi_schedule_line_out o;
    memset(&o, 0, sizeof o);
    int rc = spi_schedule_line(s, c, m, policy, mode, &o);
    if (rc != SP_OK)
        fail_msg("line %lld + %lld: status %d", (long long)c, (long long)m, rc);
    if (o.own + o.true_up + o.gate + o.accel - o.capped + o.bonus != o.earned)
        fail_msg("line %lld + %lld: the parts do not sum to %lld", (long long)c, (long long)m,
                 (long long)o.earned);
    return o;
}

static void expect_line(const spi_schedule_line_out *o, int64_t earned, int64_t own,
                        int64_t true_up, size_t tb, size_t ta)
{
    if (o->earned != earned || o->own != own || o->true_up != true_up || o->tier_before != tb ||
        o->tier_after != ta)
        fail_msg("got earned %lld own %lld true-up %lld tiers %zu -> %zu; expected %lld %lld "
                 "%lld %zu -> %zu",
                 (long long)o->earned, (long long)o->own, (long long)o->true_up, o->tier_before,
                 o->tier_after, (long long)earned, (long long)own, (long long)true_up, tb, ta);
}

static int64_t payout_cents(const spi_schedule *s, int64_t x)
{
    i128 p = spi_schedule_payout(s, x);
    assert_true(p % 1000000000 == 0);
    return (int64_t)(p / 1000000000);
}

/* ---- worked examples ---- */

static void test_marginal(void **state)
{
    (void)state;
    spi_schedule s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    /* 6,000.00 at 5 % = 300.00. */
    spi_schedule_line_out o = line(&s, 0, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 30000, 30000, 0, 0, 0);
    assert_int_equal(o.rate, PCT(5));
    /* 6,000.00 from 6,000.00 to 12,000.00: 4,000.00 at 5 % = 200.00 and 2,000.00 at 8 % =
     * 160.00: 360.00, paid against the measure before it. */
    o = line(&s, 600000, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 36000, 36000, 0, 0, 1);
    assert_int_equal(o.rate_before, PCT(5));
    assert_int_equal(o.rate, PCT(8));
    /* 10,000.00 from 12,000.00 to 22,000.00: 8,000.00 at 8 % = 640.00 and 2,000.00 at
     * 10 % = 200.00: 840.00. */
    o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 84000, 84000, 0, 1, 2);
    /* The three lines telescope: 300 + 360 + 840 = 1,500.00 = P(22,000.00) = 500.00 +
     * 800.00 + 200.00. */
    assert_int_equal(payout_cents(&s, 2200000), 150000);
    /* Per line the same here: every exact earning is whole cents. */
    o = line(&s, 600000, 600000, SPI_ROUND_PER_LINE, SP_ROUND_HALF_EVEN);
    expect_line(&o, 36000, 36000, 0, 0, 1);
}

static void test_retroactive(void **state)
{
    (void)state;
    spi_schedule s = sched(SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER);
    /* The same lines. 6,000.00 at 5 % = 300.00. */
    spi_schedule_line_out o = line(&s, 0, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 30000, 30000, 0, 0, 0);
    /* To 12,000.00, tier 1: P = 8 % of 12,000.00 = 960.00, so the line earns 660.00: its own
     * 6,000.00 at 8 % = 480.00, and the true-up of the 6,000.00 before it, (8 % - 5 %) x
     * 6,000.00 = 180.00. */
    o = line(&s, 600000, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 66000, 48000, 18000, 0, 1);
    /* To 22,000.00, tier 2: P = 10 % = 2,200.00; earned 2,200.00 - 960.00 = 1,240.00: own
     * 10,000.00 at 10 % = 1,000.00, true-up 2 % x 12,000.00 = 240.00. */
    o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 124000, 100000, 24000, 1, 2);
    assert_int_equal(o.rate_before, PCT(8));
    assert_int_equal(o.rate, PCT(10));
    /* A decelerator: 2 % below 10,000.00, 5 % from it on (increasing: no flag needed). The
     * line reaching it pays back the 3 % held on the 9,000.00 before it: 270.00. */
    const int64_t b1[1] = { 1000000 };
    const sp_dec r1[2] = { PCT(2), PCT(5) };
    spi_schedule d = { .kind = SPI_SCHEDULE_RETROACTIVE, .nbreaks = 1, .breaks = b1,
                       .nvalues = 2, .rates = r1 };
    assert_int_equal(spi_schedule_check(NULL, &d, NULL), SP_OK);
    o = line(&d, 900000, 100000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    /* 5 % x 10,000.00 - 2 % x 9,000.00 = 500.00 - 180.00 = 320.00 = 50.00 own + 270.00. */
    expect_line(&o, 32000, 5000, 27000, 0, 1);
}

/* Exactly at 10,000.00: marginal pays 500.00 either way; retroactive 800.00 (lower: tier
 * 1 at 8 %) or 500.00 (upper: still tier 0); the table 500.00 (lower) or 0 (upper). */
static void test_boundary(void **state)
{
    (void)state;
    static const struct {
        uint32_t kind, boundary;
        int64_t earned;
        size_t tier;
    } cases[] = {
        { SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER, 50000, 1 },
        { SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_UPPER, 50000, 0 },
        { SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER, 80000, 1 },
        { SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_UPPER, 50000, 0 },
        { SPI_SCHEDULE_TABLE, SPI_BOUNDARY_LOWER, 50000, 1 },
        { SPI_SCHEDULE_TABLE, SPI_BOUNDARY_UPPER, 0, 0 },
        /* interpolated is continuous: 8 % at 10,000.00 whichever tier owns it */
        { SPI_SCHEDULE_INTERPOLATED, SPI_BOUNDARY_LOWER, 80000, 1 },
        { SPI_SCHEDULE_INTERPOLATED, SPI_BOUNDARY_UPPER, 80000, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        spi_schedule s = sched(cases[i].kind, cases[i].boundary);
        spi_schedule_line_out o = line(&s, 0, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
        if (o.earned != cases[i].earned || o.tier_after != cases[i].tier)
            fail_msg("case %zu: earned %lld tier %zu", i, (long long)o.earned, o.tier_after);
        /* One cent above, every kind is in the upper tier. */
        assert_int_equal(spi_schedule_tier(&s, 1000001), 1);
    }
    /* The table: the step is shared by the measure pro rata. From 6,000.00 to 12,000.00
     * the line reaches 500.00; it moved 6,000.00 of the 12,000.00: own 250.00, true-up
     * 250.00. A line within the tier earns nothing and shows nothing. */
    spi_schedule t = sched(SPI_SCHEDULE_TABLE, SPI_BOUNDARY_LOWER);
    spi_schedule_line_out o = line(&t, 600000, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 50000, 25000, 25000, 0, 1);
    assert_int_equal(o.rate, 0);
    o = line(&t, 1200000, 300000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 0, 0, 0, 1, 1);
    /* From 7,000.00 by 5,000.00: own 500.00 x 5/12 = 208.333 -> 208.33 (half even), the
     * true-up the rest, 291.67. */
    o = line(&t, 700000, 500000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 50000, 20833, 29167, 0, 1);
    /* A refund from 12,000.00 of 3,000.00 takes the step back: the refunded 3,000.00 of
     * the 12,000.00 owns a quarter, -125.00; the rest, -375.00, is the true-up. */
    o = line(&t, 1200000, -300000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -50000, -12500, -37500, 1, 0);
}

static void test_interpolated(void **state)
{
    (void)state;
    spi_schedule s = sched(SPI_SCHEDULE_INTERPOLATED, SPI_BOUNDARY_LOWER);
    /* Half-way between 10,000.00 (8 %) and 20,000.00 (10 %): 9 %, P(15,000.00) = 1,350.00. */
    assert_int_equal(spi_schedule_rate(&s, 1500000), PCT(9));
    assert_int_equal(payout_cents(&s, 1500000), 135000);
    /* Above the last breakpoint the rate is flat: 10 %. */
    assert_int_equal(spi_schedule_rate(&s, 5000000), PCT(10));
    /* 5 % at 0 to 7 % at 3,000.00; at 1,000.01: rho = (5 % x 1,999.99 + 7 % x 1,000.01) /
     * 3,000.00 = (0.05 x 199999 + 0.07 x 100001) / 300000 = 17000.02 / 300000 =
     * 0.0566667333..., toward zero 0.056666733; P = 0.056666733 x 100001 =
     * 5,666.729966733 cents: 5,667 half even, 5,666 down. */
    const int64_t b[1] = { 300000 };
    const sp_dec r[2] = { PCT(5), PCT(7) };
    spi_schedule t = { .kind = SPI_SCHEDULE_INTERPOLATED, .nbreaks = 1, .breaks = b,
                       .nvalues = 2, .rates = r };
    assert_int_equal(spi_schedule_check(NULL, &t, NULL), SP_OK);
    assert_int_equal(spi_schedule_rate(&t, 100001), 56666733);
    assert_true(spi_schedule_payout(&t, 100001) == (i128)5666729966733);
    spi_schedule_line_out o = line(&t, 0, 100001, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 5667, 5667, 0, 0, 0);
    assert_int_equal(o.rate, 56666733);
    o = line(&t, 0, 100001, SPI_ROUND_PER_TOTAL, SP_ROUND_DOWN);
    assert_int_equal(o.earned, 5666);
    /* From 1,000.00 (rho = 5 % + 2 % / 3 = 0.0566666666..., truncated 0.056666666) to
     * 2,000.00 (rho = 5 % + 4 % / 3, truncated 0.063333333), in cents: P(1,000.00) =
     * 0.056666666 x 100000 = 5,666.6666 -> 5,667 and P(2,000.00) = 0.063333333 x 200000 =
     * 12,666.6666 -> 12,667, so the line earns 7,000; own 0.063333333 x 100000 =
     * 6,333.3333 -> 6,333, the true-up the rest, 667 (exactly (0.063333333 - 0.056666666)
     * x 100000 = 666.6667). */
    o = line(&t, 100000, 100000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.rate_before, 56666666);
    assert_int_equal(o.rate, 63333333);
    expect_line(&o, 7000, 6333, 667, 0, 0);
}

/* Example 1.1 (Oracle's step rates, commission-examples.md): six transactions, 1 % to
 * 1,000.00, 2 % to 3,000.00, 3 % to 8,000.00, 5 % above (to 20,000.00). Per transaction
 * (each walked from zero, the published 164.00), and the same lines accumulated over the
 * quarter: marginal 285.00, retroactive with the boundary owned by the higher tier
 * ("lower" here) 485.00. */
static const int64_t ICM_BREAKS[4] = { 100000, 300000, 800000, 2000000 };
static const sp_dec ICM_RATES[5] = { PCT(1), PCT(2), PCT(3), PCT(5), PCT(5) };
static const int64_t ICM_LINES[6] = { 20000, 30000, 150000, 120000, 200000, 450000 };

static void run_icm(const spi_schedule *s, const int64_t want[6], int64_t total)
{
    assert_int_equal(spi_schedule_check(NULL, s, NULL), SP_OK);
    int64_t c = 0, sum = 0;
    for (int i = 0; i < 6; i++) {
        spi_schedule_line_out o = line(s, c, ICM_LINES[i], SPI_ROUND_PER_TOTAL,
                                       SP_ROUND_HALF_EVEN);
        if (o.earned != want[i])
            fail_msg("T%d: earned %lld, want %lld", i + 1, (long long)o.earned,
                     (long long)want[i]);
        sum += o.earned;
        c += ICM_LINES[i];
    }
    assert_int_equal(sum, total);
}

static void test_example_1_1(void **state)
{
    (void)state;
    spi_schedule s = { .kind = SPI_SCHEDULE_MARGINAL, .nbreaks = 4, .breaks = ICM_BREAKS,
                       .nvalues = 5, .rates = ICM_RATES, .per_line_measure = true };
    /* T3: 1,000.00 x 1 % + 500.00 x 2 % = 20.00; T6: 10.00 + 40.00 + 45.00 = 95.00. */
    run_icm(&s, (const int64_t[]){ 200, 300, 2000, 1400, 3000, 9500 }, 16400);
    /* Measured per line, c is ignored: T3 after 500.00 of sales still earns 20.00. */
    spi_schedule_line_out o = line(&s, 50000, 150000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 2000, 2000, 0, 0, 1);
    /* A refund of T3 mirrors it: -20.00, tiers as T3's. */
    o = line(&s, 200000, -150000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -2000, -2000, 0, 0, 1);
    o = line(&s, 0, -150000, SPI_ROUND_PER_LINE, SP_ROUND_HALF_EVEN);
    expect_line(&o, -2000, -2000, 0, 0, 1);
    /* Accumulated over the quarter, marginal: T3 from 500.00 to 2,000.00 = 500.00 x 1 % +
     * 1,000.00 x 2 % = 25.00; T4 to 3,200.00 = 1,000.00 x 2 % + 200.00 x 3 % = 26.00;
     * T6 from 5,200.00 to 9,700.00 = 2,800.00 x 3 % + 1,700.00 x 5 % = 169.00. */
    s.per_line_measure = false;
    run_icm(&s, (const int64_t[]){ 200, 300, 2500, 2600, 6000, 16900 }, 28500);
    /* Retroactive: 9,700.00 x 5 % = 485.00; T3 = own 1,500.00 x 2 % = 30.00 and the
     * true-up of 500.00 x 1 % = 5.00; T4 = 36.00 + 2,000.00 x 1 % = 20.00; T6 = 4,500.00 x
     * 5 % = 225.00 + 5,200.00 x 2 % = 104.00. */
    s.kind = SPI_SCHEDULE_RETROACTIVE;
    run_icm(&s, (const int64_t[]){ 200, 300, 3500, 5600, 6000, 32900 }, 48500);
    o = line(&s, 50000, 150000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 3500, 3000, 500, 0, 1);
    o = line(&s, 200000, 120000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 5600, 3600, 2000, 1, 2);
    o = line(&s, 520000, 450000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 32900, 22500, 10400, 2, 3);
    /* Retroactive measured per line: each line at the rate of the tier it reaches alone,
     * no true-up: T3 1,500.00 x 2 % = 30.00, T6 4,500.00 x 3 % = 135.00. */
    s.per_line_measure = true;
    run_icm(&s, (const int64_t[]){ 200, 300, 3000, 2400, 4000, 13500 }, 23400);
}

/* Example 2.1 (Oracle's interpolated amounts): the payout at each point is the sum of the
 * full tiers below it: 0 at 0, 10.00 at 1,000.00, 50.00 at 3,000.00, 150.00 at 8,000.00,
 * 2,150.00 at 20,000.00, linear between. */
static const int64_t ICM_CURVE[5] = { 0, 1000, 5000, 15000, 215000 };

static void test_curve_example_2_1(void **state)
{
    (void)state;
    spi_schedule s = { .kind = SPI_SCHEDULE_CURVE, .nbreaks = 4, .breaks = ICM_BREAKS,
                       .nvalues = 5, .amounts = ICM_CURVE, .per_line_measure = true };
    /* Per transaction (published, 149.00): T1 200.00 / 1,000.00 x 10.00 = 2.00; T3 10.00 +
     * 500 / 2,000 x 40.00 = 20.00; T4 10.00 + 200 / 2,000 x 40.00 = 14.00; T5 30.00; T6
     * 10.00 + 40.00 + 1,500 / 5,000 x 100.00 = 80.00. */
    run_icm(&s, (const int64_t[]){ 200, 300, 2000, 1400, 3000, 8000 }, 14900);
    /* Accumulated (derived): P at 500.00, 2,000.00, 3,200.00, 5,200.00, 9,700.00 is 5.00,
     * 30.00, 50.00 + 200 / 5,000 x 100.00 = 54.00, 50.00 + 2,200 / 5,000 x 100.00 = 94.00,
     * 150.00 + 1,700 / 12,000 x 2,000.00 = 433.333...; per total the lines are 2.00, 3.00,
     * 25.00, 24.00, 40.00 and 433.33 - 94.00 = 339.33. */
    s.per_line_measure = false;
    run_icm(&s, (const int64_t[]){ 200, 300, 2500, 2400, 4000, 33933 }, 43333);
    spi_i128 num;
    int64_t den;
    spi_schedule_payout_exact(&s, 970000, &num, &den);
    /* 15,000 x 1,030,000 + 215,000 x 170,000 over 1,200,000 cents */
    assert_true(num == (i128)15000 * 1030000 + (i128)215000 * 170000);
    assert_int_equal(den, 1200000);
    assert_true(spi_schedule_payout(&s, 970000) == (i128)43333333333333); /* floor, 10^-9 */
    /* The T3 line of the accumulated curve: from 500.00 (P 5.00) to 2,000.00 (P 30.00):
     * 25.00, of which the line moved 1,500.00 of the 2,000.00: own 18.75, true-up 6.25. */
    spi_schedule_line_out o = line(&s, 50000, 150000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 2500, 1875, 625, 0, 1);
    assert_int_equal(o.rate, 0);
    /* Rounded once from the exact value. From 9,700.00 (P = 43,333 1/3 cents) to
     * 20,000.00 (215,000 cents, the last point): per line 171,666 2/3 -> 171,666 floor,
     * 171,667 ceiling; per total 215,000 - R(43,333 1/3) = 171,667 floor, 171,666
     * ceiling. */
    assert_int_equal(line(&s, 970000, 1030000, SPI_ROUND_PER_LINE, SP_ROUND_FLOOR).earned,
                     171666);
    assert_int_equal(line(&s, 970000, 1030000, SPI_ROUND_PER_LINE, SP_ROUND_CEILING).earned,
                     171667);
    assert_int_equal(line(&s, 970000, 1030000, SPI_ROUND_PER_TOTAL, SP_ROUND_FLOOR).earned,
                     171667);
    assert_int_equal(line(&s, 970000, 1030000, SPI_ROUND_PER_TOTAL, SP_ROUND_CEILING).earned,
                     171666);
    /* Flat after the last point; a0 below 0. */
    assert_int_equal(payout_cents(&s, 5000000), 215000);
    assert_int_equal(payout_cents(&s, -5), 0);
}

/* Example 2.2 (constructed payout curve): 0 up to 50 % of quota, the target incentive
 * 10,000.00 at 100 %, twice it at 150 %, flat above. */
static void test_curve_example_2_2(void **state)
{
    (void)state;
    const sp_dec pct[3] = { PCT(50), PCT(100), PCT(150) };
    const int64_t amounts[4] = { 0, 0, 1000000, 2000000 };
    int64_t b[3];
    spi_schedule s = { .kind = SPI_SCHEDULE_CURVE, .nbreaks = 3, .breaks = b, .nvalues = 4,
                       .amounts = amounts };
    /* Quota 200,000.00: the points are 100,000.00, 200,000.00, 300,000.00. */
    assert_int_equal(spi_schedule_attainment_breaks(NULL, NULL, 20000000, pct, 3, b), SP_OK);
    assert_int_equal(b[0], 10000000);
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    static const struct {
        int64_t measure, payout;
    } rows[] = {
        { 8000000, 0 },        /* 40 % */
        { 10000000, 0 },       /* 50 %, on the point */
        { 15000000, 500000 },  /* 75 %: (0.75 - 0.5) / 0.5 x 10,000.00 */
        { 20000000, 1000000 }, /* 100 % */
        /* 123.456785 %: 10,000.00 + 4,691,357 / 10,000,000 x 10,000.00 = 14,691.357 ->
         * 14,691.36 */
        { 24691357, 1469136 },
        { 30000000, 2000000 }, /* 150 % */
        { 32000000, 2000000 }, /* 160 %: flat, not extrapolated to 22,000.00 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        spi_schedule_line_out o = line(&s, 0, rows[i].measure, SPI_ROUND_PER_TOTAL,
                                       SP_ROUND_HALF_EVEN);
        if (o.earned != rows[i].payout || o.own != rows[i].payout || o.true_up != 0)
            fail_msg("row %zu: earned %lld", i, (long long)o.earned);
    }
    /* The boundary only names the tier: on 50 % the curve pays 0 either way. */
    assert_int_equal(spi_schedule_tier(&s, 10000000), 1);
    s.boundary = SPI_BOUNDARY_UPPER;
    assert_int_equal(spi_schedule_tier(&s, 10000000), 0);
    assert_int_equal(line(&s, 0, 10000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned, 0);
    s.boundary = SPI_BOUNDARY_LOWER;
    /* From 50 % to 75 %: 5,000.00, the line moved 50,000.00 of the 150,000.00: own
     * 1,666.666... -> 1,666.67, true-up 3,333.33. */
    spi_schedule_line_out o = line(&s, 10000000, 5000000, SPI_ROUND_PER_TOTAL,
                                   SP_ROUND_HALF_EVEN);
    expect_line(&o, 500000, 166667, 333333, 1, 1);
    /* A refund from 123.456785 % back to 50 %: -14,691.36; own -14,691.36 x 14,691,357 /
     * 24,691,357 = -8,741.358953... -> -8,741.36, true-up the rest, -5,950.00. */
    o = line(&s, 24691357, -14691357, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -1469136, -874136, -595000, 2, 1);
    /* Quota 300,000.00: at 350,000.00 (7/6) 10,000.00 + (1/6) / (1/2) x 10,000.00 =
     * 13,333.333... -> 13,333.33. The next line to 400,000.01: P = 10,000.00 + 10,000,001 /
     * 15,000,000 x 10,000.00 = 16,666.667333...; per total 16,666.67 - 13,333.33 =
     * 3,333.34, per line R(3,333.334) = 3,333.33. */
    assert_int_equal(spi_schedule_attainment_breaks(NULL, NULL, 30000000, pct, 3, b), SP_OK);
    assert_int_equal(line(&s, 0, 35000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned,
                     1333333);
    assert_int_equal(line(&s, 35000000, 5000001, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned,
                     333334);
    assert_int_equal(line(&s, 35000000, 5000001, SPI_ROUND_PER_LINE, SP_ROUND_HALF_EVEN).earned,
                     333333);
    /* With a marginal accelerator x 1.5 from 100 % (a point), quota 200,000.00: at
     * 123.456785 % the payout is 14,691.357 + 0.5 x 4,691.357 = 17,037.0355 -> 17,037.04,
     * 2,345.68 of it the accelerator's. */
    assert_int_equal(spi_schedule_attainment_breaks(NULL, NULL, 20000000, pct, 3, b), SP_OK);
    s.naccel = 1;
    s.accel_from = (const int64_t[]){ 20000000 };
    s.accel_mult = (const sp_dec[]){ 1500000000 };
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    o = line(&s, 0, 24691357, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 1703704);
    assert_int_equal(o.accel, 234568);
    /* Capped at 15,000.00: the cap holds back 2,037.04. */
    s.has_cap = true;
    s.cap = 1500000;
    o = line(&s, 0, 24691357, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 1500000);
    assert_int_equal(o.capped, 203704);
}

/* A curve's value is rounded once from the exact rational, even where it lies within
 * 10^-18 of a cent or of a half cent (segments wider than 10^18 units). */
static void test_curve_exact(void **state)
{
    (void)state;
    const int64_t w = 9000000000000000000;
    spi_schedule s = { .kind = SPI_SCHEDULE_CURVE, .nbreaks = 1, .breaks = (const int64_t[]){ w },
                       .nvalues = 2, .amounts = (const int64_t[]){ 0, 2 } };
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    /* P(1) = 2 / (9 x 10^18) cents: above 0, far below half a cent. */
    assert_int_equal(line(&s, 0, 1, SPI_ROUND_PER_TOTAL, SP_ROUND_FLOOR).earned, 0);
    assert_int_equal(line(&s, 0, 1, SPI_ROUND_PER_TOTAL, SP_ROUND_CEILING).earned, 1);
    assert_int_equal(line(&s, 0, 1, SPI_ROUND_PER_LINE, SP_ROUND_UP).earned, 1);
    assert_int_equal(line(&s, 0, 1, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned, 0);
    /* P(w / 4 + 1) = 1/2 + 2 / (9 x 10^18) cents: above half, so half even and half down
     * give 1. */
    const int64_t q = w / 4 + 1;
    assert_int_equal(line(&s, 0, q, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned, 1);
    assert_int_equal(line(&s, 0, q, SPI_ROUND_PER_LINE, SP_ROUND_HALF_DOWN).earned, 1);
    assert_int_equal(line(&s, 0, w / 4, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned, 0);
    /* Per line from 1 to w: 2 - 2 / (9 x 10^18) cents, just below 2 cents. */
    assert_int_equal(line(&s, 1, w - 1, SPI_ROUND_PER_LINE, SP_ROUND_FLOOR).earned, 1);
    assert_int_equal(line(&s, 1, w - 1, SPI_ROUND_PER_LINE, SP_ROUND_CEILING).earned, 2);
    assert_int_equal(line(&s, 1, w - 1, SPI_ROUND_PER_TOTAL, SP_ROUND_FLOOR).earned, 2);
    /* ... and back: -2 + 2 / (9 x 10^18). */
    assert_int_equal(line(&s, w, 1 - w, SPI_ROUND_PER_LINE, SP_ROUND_FLOOR).earned, -2);
    assert_int_equal(line(&s, w, 1 - w, SPI_ROUND_PER_LINE, SP_ROUND_CEILING).earned, -1);
    /* The largest amounts: P < 2^63 minor units, every step in range. */
    s.amounts = (const int64_t[]){ INT64_MAX - 1, INT64_MAX };
    s.breaks = (const int64_t[]){ INT64_MAX };
    spi_i128 num;
    int64_t den;
    spi_schedule_payout_exact(&s, INT64_MAX - 1, &num, &den);
    assert_true(num == (i128)(INT64_MAX - 1) + (i128)INT64_MAX * (INT64_MAX - 1));
    assert_int_equal(den, INT64_MAX);
    assert_int_equal(line(&s, 0, INT64_MAX - 1, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned,
                     1);
}

/* Refunds move the measure back down the same function; below 0 the rate kinds are linear
 * at r0 and a table stays at a0. */
static void test_refunds(void **state)
{
    (void)state;
    spi_schedule s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    /* From 12,000.00 (P 660.00) back by 4,000.00 to 8,000.00 (P 400.00): -260.00 =
     * 2,000.00 back at 8 % (-160.00) and 2,000.00 at 5 % (-100.00). */
    spi_schedule_line_out o = line(&s, 1200000, -400000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -26000, -26000, 0, 1, 0);
    /* More refunds than sales: from 1,000.00 back by 3,000.00 to -2,000.00: P = 5 % x
     * -2,000.00 = -100.00, so -150.00. */
    o = line(&s, 100000, -300000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -15000, -15000, 0, 0, 0);
    assert_int_equal(payout_cents(&s, -200000), -10000);
    /* Retroactive: from 12,000.00 (960.00) to 8,000.00 (400.00): -560.00 = own 5 % x
     * -4,000.00 = -200.00 and the true-up (5 % - 8 %) x 12,000.00 = -360.00. */
    s = sched(SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER);
    o = line(&s, 1200000, -400000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -56000, -20000, -36000, 1, 0);
    /* Interpolated below 0: r0. */
    s = sched(SPI_SCHEDULE_INTERPOLATED, SPI_BOUNDARY_LOWER);
    assert_int_equal(spi_schedule_rate(&s, -5), PCT(5));
    assert_int_equal(payout_cents(&s, -200000), -10000);
    /* A table below 0 pays a0 (here 0); from 12,000.00 to -1.00 the line gives back the
     * whole step, all of it its own. */
    s = sched(SPI_SCHEDULE_TABLE, SPI_BOUNDARY_LOWER);
    assert_int_equal(payout_cents(&s, -200000), 0);
    o = line(&s, 1200000, -1200001, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, -50000, -50000, 0, 1, 0);
    /* The most negative measure: still exact (|P| < 2^126). */
    s = sched(SPI_SCHEDULE_FLAT, SPI_BOUNDARY_LOWER);
    s.nbreaks = 0;
    s.nvalues = 1;
    s.rates = (const sp_dec[]){ INT64_MAX };
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    assert_true(spi_schedule_payout(&s, INT64_MIN) == (i128)INT64_MAX * INT64_MIN);
}

/* Per line, each line is rounded alone; per total, the lines telescope. 1 % flat on four
 * lines of 50 cents: per total, half even, P at 50, 100, 150, 200 cents is 0.5, 1, 1.5, 2
 * -> 0, 1, 2, 2, so the lines earn 0, 1, 1, 0 (2 cents in all, R(P(200))); per line each
 * earns 0.5 -> 0 (half even: 0 in all) or 1 (half up: 4 in all). */
static void test_policies(void **state)
{
    (void)state;
    spi_schedule s = { .kind = SPI_SCHEDULE_FLAT, .nvalues = 1,
                       .rates = (const sp_dec[]){ PCT(1) } };
    const int64_t want_total[4] = { 0, 1, 1, 0 };
    for (int64_t i = 0; i < 4; i++) {
        assert_int_equal(line(&s, 50 * i, 50, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned,
                         want_total[i]);
        assert_int_equal(line(&s, 50 * i, 50, SPI_ROUND_PER_LINE, SP_ROUND_HALF_EVEN).earned, 0);
        assert_int_equal(line(&s, 50 * i, 50, SPI_ROUND_PER_LINE, SP_ROUND_HALF_UP).earned, 1);
    }
}

/* ---- modifiers ---- */

static void test_gate(void **state)
{
    (void)state;
    spi_schedule s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    s.has_gate = true;
    s.gate = 1000000;
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    /* 6,000.00: the schedule earns 300.00, the gate holds it back. */
    spi_schedule_line_out o = line(&s, 0, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 0);
    assert_int_equal(o.own, 30000);
    assert_int_equal(o.gate, -30000);
    /* The line crossing the gate earns its own 360.00 and the 300.00 held back. */
    o = line(&s, 600000, 600000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 66000);
    assert_int_equal(o.own, 36000);
    assert_int_equal(o.gate, 30000);
    /* A refund back below the gate takes it all back: -660.00. */
    o = line(&s, 1200000, -300000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, -66000);
    /* Upper boundary: exactly at the gate it is still closed. */
    s.boundary = SPI_BOUNDARY_UPPER;
    assert_int_equal(line(&s, 0, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned, 0);
    assert_int_equal(line(&s, 0, 1000001, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN).earned,
                     50000); /* 500.00 + 0.01 x 8 % = 500.0008 -> 500.00 */
}

static void test_accelerators(void **state)
{
    (void)state;
    /* Marginal, x 1.5 from 20,000.00: the line 12,000.00 -> 22,000.00 earns 840.00 and
     * half the 200.00 earned above 20,000.00: 100.00 more, 940.00. */
    spi_schedule s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    const int64_t from[2] = { 2000000, 3000000 };
    const sp_dec mult[2] = { 1500000000, 2000000000 };
    s.naccel = 1;
    s.accel_from = from;
    s.accel_mult = mult;
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    spi_schedule_line_out o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 94000);
    assert_int_equal(o.accel, 10000);
    /* Two: x 1.5 from 20,000.00, x 2 from 30,000.00. P(40,000.00) = 500 + 800 + 2,000 =
     * 3,300.00; accelerated: 1,300.00 + 1.5 x 1,000.00 + 2 x 1,000.00 = 4,800.00. */
    s.naccel = 2;
    spi_i128 v;
    assert_int_equal(spi_schedule_value(&s, 4000000, &v), SP_OK);
    assert_true(v == (spi_i128)480000 * SPI_SCHEDULE_V_DEN);
    /* Retroactive: the whole payout x 1.5 once 20,000.00 is reached: P(22,000.00) =
     * 1,500.00 -> 2,250.00, so the line earns 2,250.00 - 660.00 = 1,590.00, 750.00 of it
     * the accelerator's. */
    s.naccel = 1;
    s.accel_retroactive = true;
    o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 159000);
    assert_int_equal(o.accel, 75000);
    /* Upper boundary: at exactly 20,000.00 not yet reached: 1,300.00 - 660.00. */
    s.boundary = SPI_BOUNDARY_UPPER;
    o = line(&s, 1200000, 800000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 64000);
    assert_int_equal(o.accel, 0);
}

static void test_cap_and_bonus(void **state)
{
    (void)state;
    /* Retroactive capped at 1,000.00: the third line (P 960.00 -> 2,200.00) earns only the
     * 40.00 left under the cap; its schedule earning is 1,000.00 own + 240.00 true-up, the
     * cap holds back 1,200.00. */
    spi_schedule s = sched(SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER);
    s.has_cap = true;
    s.cap = 100000;
    spi_schedule_line_out o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    expect_line(&o, 4000, 100000, 24000, 1, 2);
    assert_int_equal(o.capped, 120000);
    assert_int_equal(o.capped_to_date, 120000);
    /* A refund of 1,000.00 (P 2,100.00, still above the cap) earns nothing: the cap
     * releases 100.00 of what it held. */
    o = line(&s, 2200000, -100000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, 0);
    assert_int_equal(o.capped, -10000);
    assert_int_equal(o.capped_to_date, 110000);
    /* A bonus of 500.00 at 20,000.00 (marginal): the third line earns 840.00 + 500.00;
     * after the cap (it is not capped: bonuses come last). */
    s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    s.has_cap = true;
    s.cap = 100000;
    s.nbonus = 1;
    s.bonus_at = (const int64_t[]){ 2000000 };
    s.bonus_amount = (const int64_t[]){ 50000 };
    assert_int_equal(spi_schedule_check(NULL, &s, NULL), SP_OK);
    o = line(&s, 1200000, 1000000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    /* capped: P 660.00 -> 1,500.00 capped at 1,000.00: 340.00 + bonus 500.00 */
    assert_int_equal(o.earned, 84000);
    assert_int_equal(o.capped, 50000);
    assert_int_equal(o.bonus, 50000);
    /* A refund back to 19,000.00 (P 1,220.00, still capped) loses the bonus. */
    o = line(&s, 2200000, -300000, SPI_ROUND_PER_TOTAL, SP_ROUND_HALF_EVEN);
    assert_int_equal(o.earned, -50000);
    assert_int_equal(o.bonus, -50000);
}

/* ---- attainment ---- */

static void test_attainment(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Quota 33,333: 50 % -> ceil(16,666.5) = 16,667; 100 % -> 33,333; 33.3333333 % ->
     * ceil(11,110.9999889) = 11,111 (attainment 11,111 / 33,333 = 33.33336 % >= a, while
     * 11,110 / 33,333 = 33.33033 % < a); 110 % -> ceil(36,666.3) = 36,667. */
    const sp_dec pct[4] = { 333333333, PCT(50), PCT(100), PCT(110) };
    int64_t b[4] = { 0 };
    assert_int_equal(spi_schedule_attainment_breaks(ctx, NULL, 33333, pct, 4, b), SP_OK);
    assert_int_equal(b[0], 11111);
    assert_int_equal(b[1], 16667);
    assert_int_equal(b[2], 33333);
    assert_int_equal(b[3], 36667);
    /* Breakpoints that collapse: quota 3, 10 % -> ceil(0.3) = 1 and 20 % -> ceil(0.6) = 1. */
    int64_t keep[2] = { 7, 7 };
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, "payee 12, component bookings",
                                                         3, (const sp_dec[]){ PCT(10), PCT(20) },
                                                         2, keep),
                     SP_EINVAL,
                     "payee 12, component bookings: pct[0] 10% and pct[1] 20% both become the "
                     "measure 1 with quota 3");
    assert_int_equal(keep[0], 7);
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, "payee 12", 0, pct, 4, keep),
                     SP_EINVAL,
                     "payee 12: the quota is 0: attainment breakpoints need a quota above 0");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, -5, pct, 4, keep),
                     SP_EINVAL,
                     "commission schedule: the quota is -5: attainment breakpoints need a quota "
                     "above 0");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, 100,
                                                         (const sp_dec[]){ PCT(50), PCT(50) },
                                                         2, keep),
                     SP_EINVAL, "commission schedule: pct[1]: 50% is not above pct[0] 50%");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, 100,
                                                         (const sp_dec[]){ 0 }, 1, keep),
                     SP_EINVAL, "commission schedule: pct[0]: 0% is not above 0%");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, INT64_MAX,
                                                         (const sp_dec[]){ PCT(200) }, 1, keep),
                     SP_EOVERFLOW,
                     "commission schedule: pct[0]: 200% of quota 9223372036854775807 is beyond "
                     "2^63 - 1");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, 100, NULL, 1, keep),
                     SP_EINVAL, "commission schedule: pct is NULL");
    spt_expect_error(ctx, spi_schedule_attainment_breaks(ctx, NULL, 100, pct, 4097, keep),
                     SP_EINVAL, "commission schedule: 4097 breakpoints are too many (at most "
                                "4096)");
    assert_int_equal(keep[0], 7);
    assert_int_equal(keep[1], 7);
    sp_ctx_free(ctx);
}

/* ---- bad input ---- */

static void test_bad_schedules(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_schedule s;
#define BAD(mutate, code, msg)                                                                  \
    do {                                                                                       \
        s = sched(SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER);                               \
        mutate;                                                                                \
        spt_expect_error(ctx, spi_schedule_check(ctx, &s, NULL), code,                         \
                         "commission schedule: " msg);                                         \
    } while (0)
    spt_expect_error(ctx, spi_schedule_check(ctx, NULL, "plan P, component c"), SP_EINVAL,
                     "plan P, component c: the schedule is NULL");
    BAD(s.kind = 0, SP_EINVAL, "kind 0 is not a schedule kind (1 to 7)");
    BAD(s.kind = 8, SP_EINVAL, "kind 8 is not a schedule kind (1 to 7)");
    BAD(s.kind = SPI_SCHEDULE_PLUGIN, SP_EINVAL,
        "a plug-in schedule has a function and no breakpoints, rates or amounts");
    BAD(s.boundary = 2, SP_EINVAL, "boundary 2 is not lower (0) or upper (1)");
    BAD(s.kind = SPI_SCHEDULE_FLAT, SP_EINVAL,
        "a flat schedule has no breakpoints, but 2 are given");
    BAD((s.breaks = (const int64_t[]){ 1000, 500 }), SP_EINVAL,
        "breaks[1]: 500 is not above breaks[0] 1000");
    BAD((s.nbreaks = 3, s.nvalues = 4, s.breaks = (const int64_t[]){ 100, 500, 500 },
         s.rates = (const sp_dec[]){ 0, 0, 0, 0 }),
        SP_EINVAL, "breaks[2]: 500 is not above breaks[1] 500");
    BAD((s.breaks = (const int64_t[]){ 0, 500 }), SP_EINVAL, "breaks[0]: 0 is not above 0");
    BAD((s.breaks = (const int64_t[]){ -3, 500 }), SP_EINVAL, "breaks[0]: -3 is not above 0");
    BAD(s.breaks = NULL, SP_EINVAL, "breaks is NULL");
    BAD(s.nbreaks = 5000, SP_EINVAL, "5000 breaks are too many (at most 4096)");
    BAD(s.nvalues = 2, SP_EINVAL, "2 breakpoints need 3 rates, but 2 are given");
    BAD(s.nvalues = 4, SP_EINVAL, "2 breakpoints need 3 rates, but 4 are given");
    BAD(s.rates = NULL, SP_EINVAL, "rates is NULL");
    BAD(s.amounts = AMOUNTS, SP_EINVAL, "a rate schedule takes rates, not amounts");
    BAD((s.kind = SPI_SCHEDULE_TABLE, s.amounts = NULL), SP_EINVAL,
        "a table schedule takes amounts, not rates");
    BAD((s.kind = SPI_SCHEDULE_TABLE, s.rates = NULL), SP_EINVAL, "amounts is NULL");
    BAD(s.kind = SPI_SCHEDULE_CURVE, SP_EINVAL, "a curve schedule takes amounts, not rates");
    BAD((s.kind = SPI_SCHEDULE_CURVE, s.rates = NULL,
         s.amounts = (const int64_t[]){ 0, 50000, 40000 }),
        SP_EINVAL,
        "amounts[2]: 40000 is below amounts[1] 50000, and the schedule does not declare "
        "decreasing");
    /* A curve's marginal accelerator starts on one of its points (retroactive: anywhere). */
    BAD((s.kind = SPI_SCHEDULE_CURVE, s.rates = NULL, s.amounts = AMOUNTS, s.naccel = 2,
         s.accel_from = (const int64_t[]){ 1000000, 1500000 },
         s.accel_mult = (const sp_dec[]){ 1500000000, 2000000000 }),
        SP_EINVAL,
        "accel_from[1]: 1500000 is not one of the breaks: a curve's marginal accelerators "
        "start on its points");
    BAD((s.kind = SPI_SCHEDULE_CURVE, s.rates = NULL, s.amounts = AMOUNTS, s.naccel = 1,
         s.accel_from = (const int64_t[]){ 2500000 },
         s.accel_mult = (const sp_dec[]){ 1500000000 }),
        SP_EINVAL,
        "accel_from[0]: 2500000 is not one of the breaks: a curve's marginal accelerators "
        "start on its points");
    /* Measured per line: no thresholds of the period's measure. */
    BAD((s.per_line_measure = true, s.has_gate = true, s.gate = 5), SP_EINVAL,
        "per_line_measure: a schedule measured per line takes no gate (a threshold of the "
        "period's measure)");
    BAD((s.per_line_measure = true, s.naccel = 1, s.accel_from = (const int64_t[]){ 5 },
         s.accel_mult = (const sp_dec[]){ 0 }),
        SP_EINVAL,
        "per_line_measure: a schedule measured per line takes no accelerators (a threshold "
        "of the period's measure)");
    BAD((s.per_line_measure = true, s.has_cap = true), SP_EINVAL,
        "per_line_measure: a schedule measured per line takes no cap (a threshold of the "
        "period's measure)");
    BAD((s.per_line_measure = true, s.nbonus = 1, s.bonus_at = (const int64_t[]){ 9 },
         s.bonus_amount = (const int64_t[]){ 2 }),
        SP_EINVAL,
        "per_line_measure: a schedule measured per line takes no bonuses (a threshold of the "
        "period's measure)");
    BAD((s.kind = SPI_SCHEDULE_TABLE, s.rates = NULL, s.nvalues = 1), SP_EINVAL,
        "2 breakpoints need 3 amounts, but 1 are given");
    BAD((s.rates = (const sp_dec[]){ 0, -100000000, 0 }), SP_EINVAL, "rates[1]: -0.1 is negative");
    BAD((s.rates = (const sp_dec[]){ PCT(5), PCT(8), PCT(6) }), SP_EINVAL,
        "rates[2]: 0.06 is below rates[1] 0.08, and the schedule does not declare decreasing");
    BAD((s.kind = SPI_SCHEDULE_TABLE, s.rates = NULL,
         s.amounts = (const int64_t[]){ 0, 50000, 40000 }),
        SP_EINVAL,
        "amounts[2]: 40000 is below amounts[1] 50000, and the schedule does not declare "
        "decreasing");
    BAD((s.kind = SPI_SCHEDULE_TABLE, s.rates = NULL, s.decreasing = true,
         s.amounts = (const int64_t[]){ 0, -1, 0 }),
        SP_EINVAL, "amounts[1]: -1 is negative");
    BAD((s.has_gate = true, s.gate = 0), SP_EINVAL, "gate: 0 is not above 0");
    BAD((s.naccel = 1, s.accel_from = NULL), SP_EINVAL, "accel_from is NULL");
    BAD((s.naccel = 1, s.accel_from = (const int64_t[]){ 5 }), SP_EINVAL, "accel_mult is NULL");
    BAD((s.naccel = 2, s.accel_from = (const int64_t[]){ 5, 5 },
         s.accel_mult = (const sp_dec[]){ 0, 0 }),
        SP_EINVAL, "accel_from[1]: 5 is not above accel_from[0] 5");
    BAD((s.naccel = 1, s.accel_from = (const int64_t[]){ 5 },
         s.accel_mult = (const sp_dec[]){ -1500000000 }),
        SP_EINVAL, "accel_mult[0]: -1.5 is negative");
    BAD((s.naccel = 4097, s.accel_from = BREAKS), SP_EINVAL,
        "4097 accel_from are too many (at most 4096)");
    BAD((s.has_cap = true, s.cap = -1), SP_EINVAL, "cap: -1 is negative");
    BAD((s.nbonus = 1, s.bonus_at = (const int64_t[]){ 0 }), SP_EINVAL,
        "bonus_at[0]: 0 is not above 0");
    BAD((s.nbonus = 1, s.bonus_at = (const int64_t[]){ 9 }), SP_EINVAL, "bonus_amount is NULL");
    BAD((s.nbonus = 1, s.bonus_at = (const int64_t[]){ 9 },
         s.bonus_amount = (const int64_t[]){ -2 }),
        SP_EINVAL, "bonus_amount[0]: -2 is negative");
#undef BAD
    /* What the flag allows. */
    s = sched(SPI_SCHEDULE_RETROACTIVE, SPI_BOUNDARY_LOWER);
    s.rates = (const sp_dec[]){ PCT(5), PCT(8), PCT(6) };
    s.decreasing = true;
    assert_int_equal(spi_schedule_check(ctx, &s, NULL), SP_OK);
    /* A curve's accelerators: marginal on its points, retroactive anywhere. */
    s = sched(SPI_SCHEDULE_CURVE, SPI_BOUNDARY_LOWER);
    s.naccel = 2;
    s.accel_from = BREAKS;
    s.accel_mult = (const sp_dec[]){ 1500000000, 2000000000 };
    assert_int_equal(spi_schedule_check(ctx, &s, NULL), SP_OK);
    s.accel_from = (const int64_t[]){ 1500000, 2500000 };
    s.accel_retroactive = true;
    assert_int_equal(spi_schedule_check(ctx, &s, NULL), SP_OK);
    /* A refund mirroring the most negative measure cannot be negated. */
    s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    s.per_line_measure = true;
    spi_schedule_line_out o1;
    assert_int_equal(spi_schedule_line(&s, 0, INT64_MIN, 0, 0, &o1), SP_EOVERFLOW);

    /* The line: bad arguments and overflow, by status only (no context). */
    s = sched(SPI_SCHEDULE_MARGINAL, SPI_BOUNDARY_LOWER);
    spi_schedule_line_out o;
    memset(&o, 0x5a, sizeof o);
    spi_schedule_line_out before = o;
    assert_int_equal(spi_schedule_line(NULL, 0, 1, 0, 0, &o), SP_EINVAL);
    assert_int_equal(spi_schedule_line(&s, 0, 1, 0, 0, NULL), SP_EINVAL);
    assert_int_equal(spi_schedule_line(&s, 0, 1, 2, 0, &o), SP_EINVAL);
    assert_int_equal(spi_schedule_line(&s, 0, 1, 0, 7, &o), SP_EINVAL);
    assert_int_equal(spi_schedule_line(&s, INT64_MAX, 1, 0, 0, &o), SP_EOVERFLOW);
    /* A rate of 1,000 cents per unit on 2^63 - 1 units: about 9.2 x 10^21 cents. */
    s.rates = (const sp_dec[]){ PCT(5), PCT(8), (sp_dec)1000 * SP_DEC_ONE };
    assert_int_equal(spi_schedule_line(&s, 0, INT64_MAX, 0, 0, &o), SP_EOVERFLOW);
    assert_int_equal(spi_schedule_line(&s, 0, INT64_MAX, 1, 0, &o), SP_EOVERFLOW);
    /* An accelerator multiplying a payout beyond 2^127 x 10^-18 cents (P(2^62) is about
     * 4.6 x 10^17 cents, times 9.2 x 10^9), even with a cap that would bring it back. */
    s.rates = RATES;
    s.naccel = 1;
    s.accel_from = (const int64_t[]){ 1 };
    s.accel_mult = (const sp_dec[]){ INT64_MAX };
    s.accel_retroactive = true;
    s.has_cap = true;
    s.cap = 0;
    spi_i128 v;
    assert_int_equal(spi_schedule_value(&s, INT64_MAX / 2, &v), SP_EOVERFLOW);
    assert_int_equal(spi_schedule_line(&s, 0, INT64_MAX / 2, 0, 0, &o), SP_EOVERFLOW);
    assert_memory_equal(&o, &before, sizeof o);
    sp_ctx_free(ctx);
}

/* ---- the property: a second implementation on exact rationals ---- */

typedef struct rat {
    i128 n, d; /* d > 0, reduced */
} rat;

static i128 gcd128(i128 a, i128 b)
{
    if (a < 0)
        a = -a;
    while (b != 0) {
        i128 t = a % b;
        a = b;
        b = t < 0 ? -t : t;
    }
    return a;
}

static rat mk(i128 n, i128 d)
{
    if (d < 0) {
        n = -n;
        d = -d;
    }
    i128 g = gcd128(n, d);
    if (g > 1) {
        n /= g;
        d /= g;
    }
    return (rat){ n, d };
}

/* Over the least common denominator (every denominator here divides 10^18 times a
 * curve's segment width, below 2^25). */
static rat radd(rat a, rat b)
{
    i128 l = a.d / gcd128(a.d, b.d) * b.d;
    return mk(a.n * (l / a.d) + b.n * (l / b.d), l);
}

static rat rsub(rat a, rat b)
{
    return radd(a, (rat){ -b.n, b.d });
}

static rat rmul(rat a, rat b)
{
    return mk(a.n * b.n, a.d * b.d);
}

static int rcmp(rat a, rat b)
{
    rat d = rsub(a, b);
    return d.n < 0 ? -1 : d.n > 0;
}

/* floor and the seven modes, written from their definitions */
static i128 rround(rat v, uint32_t mode)
{
    i128 q = v.n / v.d, r = v.n % v.d;
    if (r < 0) {
        q -= 1;
        r += v.d;
    }
    if (r == 0)
        return q;
    int half = 2 * r < v.d ? -1 : 2 * r > v.d;
    bool pos = v.n > 0;
    switch (mode) {
    case SP_ROUND_FLOOR: return q;
    case SP_ROUND_CEILING: return q + 1;
    case SP_ROUND_DOWN: return pos ? q : q + 1;
    case SP_ROUND_UP: return pos ? q + 1 : q;
    case SP_ROUND_HALF_UP: return half < 0 ? q : half > 0 ? q + 1 : (pos ? q + 1 : q);
    case SP_ROUND_HALF_DOWN: return half < 0 ? q : half > 0 ? q + 1 : (pos ? q : q + 1);
    default: return half < 0 ? q : half > 0 ? q + 1 : (q % 2 == 0 ? q : q + 1);
    }
}

static bool ref_reached(const spi_schedule *s, int64_t x, int64_t t)
{
    return s->boundary == SPI_BOUNDARY_LOWER ? x >= t : x > t;
}

static size_t ref_tier(const spi_schedule *s, int64_t x)
{
    size_t t = 0;
    while (t < s->nbreaks && ref_reached(s, x, s->breaks[t]))
        t++;
    return t;
}

static rat ref_p(const spi_schedule *s, int64_t x)
{
    const i128 G = 1000000000;
    if (s->kind == SPI_SCHEDULE_TABLE)
        return mk(s->amounts[x < 0 ? 0 : ref_tier(s, x)], 1);
    if (s->kind == SPI_SCHEDULE_CURVE) {
        /* a0 below 0, a_k from the last point on, linear between the points */
        if (x < 0)
            return mk(s->amounts[0], 1);
        size_t i = 0;
        while (i < s->nbreaks && x >= s->breaks[i])
            i++;
        if (i == s->nbreaks)
            return mk(s->amounts[i], 1);
        int64_t b0 = i == 0 ? 0 : s->breaks[i - 1], w = s->breaks[i] - b0;
        return radd(mk(s->amounts[i], 1),
                    mk(((i128)s->amounts[i + 1] - s->amounts[i]) * (x - b0), w));
    }
    if (x < 0)
        return mk((i128)s->rates[0] * x, G);
    switch (s->kind) {
    case SPI_SCHEDULE_MARGINAL: {
        rat p = mk(0, 1);
        for (size_t i = 0; i <= s->nbreaks; i++) {
            int64_t lo = i == 0 ? 0 : s->breaks[i - 1];
            int64_t hi = i == s->nbreaks || s->breaks[i] > x ? x : s->breaks[i];
            if (hi > lo)
                p = radd(p, mk((i128)s->rates[i] * (hi - lo), G));
        }
        return p;
    }
    case SPI_SCHEDULE_INTERPOLATED: {
        size_t i = 0;
        while (i < s->nbreaks && x >= s->breaks[i])
            i++;
        i128 rho = s->rates[s->nbreaks];
        if (i < s->nbreaks) {
            /* rho = r_i + (r_{i+1} - r_i) (x - b_i) / w, truncated: rho >= 0 */
            i128 b0 = i == 0 ? 0 : s->breaks[i - 1], w = s->breaks[i] - b0;
            rat exact = radd(mk(s->rates[i], 1),
                             mk(((i128)s->rates[i + 1] - s->rates[i]) * (x - b0), w));
            rho = rround(exact, SP_ROUND_FLOOR);
        }
        return mk(rho * x, G);
    }
    default:
        return mk((i128)s->rates[ref_tier(s, x)] * x, G);
    }
}

static rat ref_g(const spi_schedule *s, int64_t x)
{
    return s->has_gate && !ref_reached(s, x, s->gate) ? mk(0, 1) : ref_p(s, x);
}

static rat ref_v(const spi_schedule *s, int64_t x)
{
    const i128 G = 1000000000;
    rat a;
    if (s->naccel == 0) {
        a = ref_g(s, x);
    } else if (s->accel_retroactive) {
        size_t j = 0;
        while (j < s->naccel && ref_reached(s, x, s->accel_from[j]))
            j++;
        a = j == 0 ? ref_g(s, x) : rmul(ref_g(s, x), mk(s->accel_mult[j - 1], G));
    } else if (x <= s->accel_from[0]) {
        a = ref_g(s, x);
    } else {
        /* segment by segment: G up to the first `from`, then each segment at its multiplier */
        a = ref_g(s, s->accel_from[0]);
        for (size_t j = 0; j < s->naccel && x > s->accel_from[j]; j++) {
            int64_t end = j + 1 < s->naccel && s->accel_from[j + 1] < x ? s->accel_from[j + 1] : x;
            a = radd(a, rmul(mk(s->accel_mult[j], G),
                             rsub(ref_g(s, end), ref_g(s, s->accel_from[j]))));
        }
    }
    if (s->has_cap && rcmp(a, mk(s->cap, 1)) > 0)
        a = mk(s->cap, 1);
    for (size_t j = 0; j < s->nbonus; j++)
        if (ref_reached(s, x, s->bonus_at[j]))
            a = radd(a, mk(s->bonus_amount[j], 1));
    return a;
}

static void random_schedule(spt_rng *rng, spi_schedule *s, int64_t *breaks, sp_dec *rates,
                            int64_t *amounts, int64_t *from, sp_dec *mult, int64_t *at,
                            int64_t *bonus)
{
    memset(s, 0, sizeof *s);
    s->kind = (uint32_t)spt_rng_range(rng, 1, 6);
    s->boundary = (uint32_t)spt_rng_range(rng, 0, 1);
    s->decreasing = spt_rng_chance(rng, 30);
    s->nbreaks = s->kind == SPI_SCHEDULE_FLAT ? 0 : (size_t)spt_rng_range(rng, 0, 4);
    int64_t b = 0;
    for (size_t i = 0; i < s->nbreaks; i++)
        breaks[i] = b += spt_rng_range(rng, 1, spt_rng_chance(rng, 50) ? 50 : 3000000);
    s->breaks = breaks;
    s->nvalues = s->nbreaks + 1;
    int64_t prev = 0;
    for (size_t i = 0; i < s->nvalues; i++) {
        int64_t v = spt_rng_range(rng, 0, 300000000); /* up to 30 % (or 0.3 per unit) */
        if (!s->decreasing && v < prev)
            v = prev + spt_rng_range(rng, 0, 1000);
        rates[i] = prev = v;
        amounts[i] = v / 1000;
    }
    if (s->kind == SPI_SCHEDULE_TABLE || s->kind == SPI_SCHEDULE_CURVE)
        s->amounts = amounts;
    else
        s->rates = rates;
    if (spt_rng_chance(rng, 20)) { /* measured per line, without modifiers */
        s->per_line_measure = true;
        return;
    }
    if (spt_rng_chance(rng, 30)) {
        s->has_gate = true;
        s->gate = spt_rng_range(rng, 1, 4000000);
    }
    if (spt_rng_chance(rng, 40)) {
        s->naccel = (size_t)spt_rng_range(rng, 1, 3);
        int64_t f = 0;
        for (size_t j = 0; j < s->naccel; j++) {
            from[j] = f += spt_rng_range(rng, 1, 3000000);
            mult[j] = spt_rng_range(rng, 0, 3000000000);
        }
        s->accel_from = from;
        s->accel_mult = mult;
        s->accel_retroactive = spt_rng_chance(rng, 50);
        /* a curve's marginal accelerators start on its points */
        if (s->kind == SPI_SCHEDULE_CURVE && !s->accel_retroactive) {
            if (s->naccel > s->nbreaks)
                s->naccel = s->nbreaks;
            size_t off = (size_t)spt_rng_range(rng, 0, (int64_t)(s->nbreaks - s->naccel));
            for (size_t j = 0; j < s->naccel; j++)
                from[j] = breaks[off + j];
        }
    }
    if (spt_rng_chance(rng, 30)) {
        s->has_cap = true;
        s->cap = spt_rng_range(rng, 0, 500000);
    }
    if (spt_rng_chance(rng, 30)) {
        s->nbonus = (size_t)spt_rng_range(rng, 1, 3);
        int64_t f = 0;
        for (size_t j = 0; j < s->nbonus; j++) {
            at[j] = f += spt_rng_range(rng, 1, 3000000);
            bonus[j] = spt_rng_range(rng, 0, 100000);
        }
        s->bonus_at = at;
        s->bonus_amount = bonus;
    }
}

/*
 * For random schedules and random line sequences (sales and refunds, crossing zero and
 * breakpoints) under every mode: each line's earning equals the reference's, per total
 * and per line; per total the lines sum to R(V(total)) - R(V(0)) (R(V(total)) for every
 * schedule whose V(0) is 0); the parts sum to the earning (checked in line()); tiers and
 * P agree with the reference.
 */
static void test_property(void **state)
{
    (void)state;
    spt_rng rng = { 20260501 };
    int64_t breaks[4], amounts[5], from[3], at[3], bonus[3];
    sp_dec rates[5], mult[3];
    for (unsigned it = 0; it < spt_iterations(3000); it++) {
        spi_schedule s;
        random_schedule(&rng, &s, breaks, rates, amounts, from, mult, at, bonus);
        if (spi_schedule_check(NULL, &s, NULL) != SP_OK)
            fail_msg("case %u: the random schedule is invalid", it);
        uint32_t mode = (uint32_t)(it % 7);
        size_t nlines = (size_t)spt_rng_range(&rng, 1, 12);
        int64_t c = 0, sum = 0, total_lines = 0;
        for (size_t l = 0; l < nlines; l++) {
            int64_t m = spt_rng_chance(&rng, 25) ? -spt_rng_range(&rng, 0, 3000000)
                                                  : spt_rng_range(&rng, 0, 4000000);
            if (spt_rng_chance(&rng, 10) && s.nbreaks > 0) /* land on a breakpoint */
                m = s.breaks[(size_t)spt_rng_range(&rng, 0, (int64_t)s.nbreaks - 1)] - c;
            int64_t x = c + m;
            spi_schedule_line_out t = line(&s, c, m, SPI_ROUND_PER_TOTAL, mode);
            spi_schedule_line_out p = line(&s, c, m, SPI_ROUND_PER_LINE, mode);
            i128 want_t = rround(ref_v(&s, x), mode) - rround(ref_v(&s, c), mode);
            i128 want_p = rround(rsub(ref_v(&s, x), ref_v(&s, c)), mode);
            if (s.per_line_measure) {
                /* the line from 0 to |m|, negated for a refund */
                int64_t a = m < 0 ? -m : m;
                want_t = rround(ref_v(&s, a), mode) - rround(ref_v(&s, 0), mode);
                want_p = rround(rsub(ref_v(&s, a), ref_v(&s, 0)), mode);
                if (m < 0) {
                    want_t = -want_t;
                    want_p = -want_p;
                }
                if (t.true_up != 0 || p.true_up != 0 || t.tier_after != ref_tier(&s, a))
                    fail_msg("case %u line %zu: per line measure: true-up %lld, tier %zu", it,
                             l, (long long)t.true_up, t.tier_after);
                total_lines += (int64_t)want_t;
            }
            if (t.earned != want_t || p.earned != want_p)
                fail_msg("case %u line %zu (kind %u, %lld + %lld, mode %u): per total %lld "
                         "(want %lld), per line %lld (want %lld)",
                         it, l, s.kind, (long long)c, (long long)m, mode, (long long)t.earned,
                         (long long)want_t, (long long)p.earned, (long long)want_p);
            if (!s.per_line_measure && t.tier_after != ref_tier(&s, x))
                fail_msg("case %u line %zu: tier %zu", it, l, t.tier_after);
            rat pr = ref_p(&s, x);
            spi_i128 num;
            int64_t den;
            spi_schedule_payout_exact(&s, x, &num, &den);
            if (rcmp(pr, mk(num, den)) != 0 ||
                spi_schedule_payout(&s, x) != rround(rmul(pr, mk(1000000000, 1)), SP_ROUND_FLOOR))
                fail_msg("case %u line %zu: P differs", it, l);
            /* Without modifiers, the own part and the true-up split the schedule's earning. */
            if (s.kind == SPI_SCHEDULE_FLAT || s.kind == SPI_SCHEDULE_MARGINAL)
                assert_int_equal(t.true_up, 0);
            sum += t.earned;
            c = x;
        }
        i128 total = s.per_line_measure ? total_lines
                                        : rround(ref_v(&s, c), mode) - rround(ref_v(&s, 0), mode);
        if (sum != total)
            fail_msg("case %u: the lines sum to %lld, R(V(total)) - R(V(0)) is %lld", it,
                     (long long)sum, (long long)total);
        spi_i128 v0;
        assert_int_equal(spi_schedule_value(&s, 0, &v0), SP_OK);
        if (s.kind != SPI_SCHEDULE_TABLE && s.kind != SPI_SCHEDULE_CURVE)
            assert_true(v0 == 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marginal),
        cmocka_unit_test(test_retroactive),
        cmocka_unit_test(test_boundary),
        cmocka_unit_test(test_interpolated),
        cmocka_unit_test(test_example_1_1),
        cmocka_unit_test(test_curve_example_2_1),
        cmocka_unit_test(test_curve_example_2_2),
        cmocka_unit_test(test_curve_exact),
        cmocka_unit_test(test_refunds),
        cmocka_unit_test(test_policies),
        cmocka_unit_test(test_gate),
        cmocka_unit_test(test_accelerators),
        cmocka_unit_test(test_cap_and_bonus),
        cmocka_unit_test(test_attainment),
        cmocka_unit_test(test_bad_schedules),
        cmocka_unit_test(test_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
