/*
 * The commission engine v0 (src/commission/engine.c; docs/commission.md, "The engine"):
 * the worked examples of docs/commission-examples.md that v0 covers, through facts (each
 * derived by hand below); the properties (facts in any order and batch size give identical
 * statements; a statement's total is the sum of its lines; the totals path equals the
 * lines path); bad input; a fault loop over the allocations and a source failing at every
 * batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commission/engine.h"
#include "core/internal.h"
#include "support/spt.h"

/* ---- a fact source: facts in any order, in random batches, failing on demand ---- */

typedef struct tfact {
    uint32_t kind; /* SP_FACT_ORDER_LINES or SP_FACT_REFUNDS */
    uint64_t id, ref;
    int32_t day;
    uint32_t rep, product;
    int64_t amount, quantity, cost;
} tfact;

typedef struct tsrc {
    tfact f[4096];
    size_t n;
    uint64_t seed;     /* 0: as added, one batch; else shuffled into random batches */
    size_t max_batch;
    uint64_t fail_at;  /* the batch (counted over the run's scans, from 1) that fails; 0 never */
    uint64_t batches;
} tsrc;

static void add(tsrc *s, uint32_t kind, uint64_t id, uint64_t ref, int32_t day, uint32_t rep,
                uint32_t product, int64_t amount, int64_t quantity, int64_t cost)
{
    assert_true(s->n < 4096);
    tfact f = { kind, id, ref, day, rep, product, amount, quantity, cost };
    s->f[s->n++] = f;
}

static int scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    tsrc *s = user;
    size_t idx[4096], m = 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->f[i].kind == q->kind)
            idx[m++] = i;
    spt_rng r = { s->seed * 7919 + q->kind };
    for (size_t i = m; s->seed != 0 && i > 1; i--) {
        size_t j = (size_t)spt_rng_range(&r, 0, (int64_t)i - 1), t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    uint64_t id[4096], ref[4096];
    int32_t day[4096];
    uint32_t rep[4096], product[4096];
    int64_t amount[4096], quantity[4096], cost[4096];
    size_t at = 0;
    do {
        size_t want = s->seed == 0 ? m : (size_t)spt_rng_range(&r, 0, (int64_t)s->max_batch);
        size_t k = 0;
        for (; k < want && at < m; k++, at++) {
            const tfact *f = &s->f[idx[at]];
            id[k] = f->id;
            ref[k] = f->ref;
            day[k] = f->day;
            rep[k] = f->rep;
            product[k] = f->product;
            amount[k] = f->amount;
            quantity[k] = f->quantity;
            cost[k] = f->cost;
        }
        if (++s->batches == s->fail_at)
            return -77;
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = q->kind;
        b.count = k;
        b.id = id;
        b.day = day;
        b.product = product;
        b.amount = amount;
        b.quantity = quantity;
        b.cost = cost;
        if (q->kind == SP_FACT_ORDER_LINES)
            b.rep = rep;
        else
            b.ref = ref;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc;
    } while (at < m);
    return 0;
}

static sp_fact_source source_of(tsrc *s)
{
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = s;
    src.scan = scan;
    return src;
}

/* ---- fixtures ---- */

/* Reps A, B, C, X (no payee), products P1, P2, P9. */
enum { A, B, C, X, P1, P2, P9, NDICT };

static sp_dict *make_dict(sp_ctx *ctx)
{
    static const char *const ids[NDICT] = { "A", "B", "C", "X", "P1", "P2", "P9" };
    sp_dict *d;
    assert_int_equal(sp_dict_new(&d, ctx), SP_OK);
    for (uint32_t i = 0; i < NDICT; i++) {
        uint32_t ix;
        assert_int_equal(sp_dict_add(d, ids[i], strlen(ids[i]), &ix), SP_OK);
        assert_int_equal(ix, i);
    }
    return d;
}

static const uint32_t payees3[3] = { A, B, C };

static spi_cplan plan_of(sp_ctx *ctx, const char *json)
{
    spi_cplan p;
    if (spi_cplan_read(ctx, json, strlen(json), &p) != SP_OK)
        fail_msg("plan: %s", sp_ctx_errmsg(ctx));
    return p;
}

/* A plan of one component on `period` with `schedule` (and more members in `extra`). */
static spi_cplan plan1(sp_ctx *ctx, const char *year, const char *rounding, const char *measure,
                       const char *period, const char *schedule, const char *extra)
{
    char json[4096];
    snprintf(json, sizeof json,
             "{\"plan\": \"T\", \"effective\": {\"from\": \"%s-01-01\", \"to\": \"%s-12-31\"}, "
             "\"currency\": \"USD\", \"rounding\": %s, \"components\": [{\"id\": \"c\", "
             "\"measure\": %s, \"period\": \"%s\", \"schedule\": %s%s}]}",
             year, year, rounding, measure, period, schedule, extra);
    return plan_of(ctx, json);
}

typedef struct env {
    sp_ctx *ctx;
    sp_dict *dict;
    spi_cplan plan;
    tsrc src;
    sp_fact_source fs;
    spi_cengine_input in;
} env;

static void env_init(env *e, sp_ctx *ctx, spi_cplan plan, int32_t fy, uint32_t period,
                     uint32_t index)
{
    memset(e, 0, sizeof *e);
    e->ctx = ctx;
    e->dict = make_dict(ctx);
    e->plan = plan;
    e->fs = source_of(&e->src);
    e->in.plan = &e->plan;
    e->in.fiscal_year = fy;
    e->in.period = period;
    e->in.index = index;
    e->in.dict = e->dict;
    e->in.npayees = 3;
    e->in.payees = payees3;
    e->in.src = &e->fs;
    e->in.want_lines = true;
}

static void env_free(env *e)
{
    spi_cplan_free(e->ctx, &e->plan);
    sp_dict_free(e->dict);
}

static spi_crun run_ok(env *e)
{
    spi_crun out;
    e->src.batches = 0;
    if (spi_cengine_run(e->ctx, &e->in, NULL, &out) != SP_OK)
        fail_msg("run: %s", sp_ctx_errmsg(e->ctx));
    return out;
}

/* Every statement's total is the sum of its lines, and of its component totals. */
static void check_sums(const spi_crun *o)
{
    for (size_t p = 0; p < o->npayees; p++) {
        const spi_cstatement *s = &o->statements[p];
        int64_t sum = 0, ctot = 0;
        for (size_t i = 0; i < s->nlines; i++)
            sum += o->lines[s->first + i].earned;
        for (size_t c = 0; c < o->ncomponents; c++)
            ctot += o->totals[p * o->ncomponents + c];
        assert_int_equal(sum, s->total);
        assert_int_equal(ctot, s->total);
    }
}

#define MARGINAL_11                                                                           \
    "{\"kind\": \"%s\", \"tiers\": [{\"rate\": \"1%%\"}, {\"from\": 1000, \"rate\": \"2%%\"}, " \
    "{\"from\": 3000, \"rate\": \"3%%\"}, {\"from\": 8000, \"rate\": \"5%%\"}]%s}"

/* Example 1.1's six transactions (cents) for rep A, 2015. */
static void add_11(tsrc *s)
{
    add(s, SP_FACT_ORDER_LINES, 1, 0, spt_day(2015, 1, 1), A, P1, 20000, 1, 0);
    add(s, SP_FACT_ORDER_LINES, 2, 0, spt_day(2015, 1, 2), A, P1, 30000, 1, 0);
    add(s, SP_FACT_ORDER_LINES, 3, 0, spt_day(2015, 1, 15), A, P1, 150000, 1, 0);
    add(s, SP_FACT_ORDER_LINES, 4, 0, spt_day(2015, 2, 1), A, P1, 120000, 1, 0);
    add(s, SP_FACT_ORDER_LINES, 5, 0, spt_day(2015, 2, 15), A, P1, 200000, 1, 0);
    add(s, SP_FACT_ORDER_LINES, 6, 0, spt_day(2015, 3, 1), A, P1, 450000, 1, 0);
}

static spi_cplan plan_11(sp_ctx *ctx, const char *kind, const char *more)
{
    char sched[512];
    snprintf(sched, sizeof sched, MARGINAL_11, kind, more);
    return plan1(ctx, "2015", "{\"mode\": \"half_even\"}", "{\"kind\": \"amount\"}", "quarter",
                 sched, "");
}

/*
 * 1.1 cumulative over the quarter, marginal (lower boundary): slices [0, 20000) 1 % = 200;
 * [20000, 50000) 1 % = 300; [50000, 200000): 50000 x 1 % + 100000 x 2 % = 2500 (tier 0 ->
 * 1); [200000, 320000): 100000 x 2 % + 20000 x 3 % = 2600 (1 -> 2); [320000, 520000) 3 %
 * = 6000; [520000, 970000): 280000 x 3 % + 170000 x 5 % = 16900 (2 -> 3). Total 28500.
 */
static void test_ex_1_1_marginal(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx, plan_11(ctx, "marginal", ""), 2015, SPI_CPERIOD_QUARTER, 0);
    add_11(&e.src);
    spi_crun o = run_ok(&e);
    static const int64_t earned[6] = { 200, 300, 2500, 2600, 6000, 16900 };
    static const uint16_t tb[6] = { 0, 0, 0, 1, 2, 2 }, ta[6] = { 0, 0, 1, 2, 2, 3 };
    assert_int_equal(o.statements[0].nlines, 6);
    for (size_t i = 0; i < 6; i++) {
        const spi_cline *l = &o.lines[o.statements[0].first + i];
        assert_int_equal(l->fact, i + 1);
        assert_int_equal(l->earned, earned[i]);
        assert_int_equal(l->own, earned[i]);
        assert_int_equal(l->true_up, 0);
        assert_int_equal(l->tier_before, tb[i]);
        assert_int_equal(l->tier_after, ta[i]);
        assert_int_equal(l->share, SP_DEC_ONE);
        assert_int_equal(l->kind, SPI_CLINE_ORDER);
    }
    assert_int_equal(o.lines[5].rate, 50000000); /* 5 % after T6 */
    assert_int_equal(o.statements[0].total, 28500);
    assert_int_equal(o.measure[0], 970000);
    assert_int_equal(o.statements[1].nlines, 0);
    check_sums(&o);
    spi_crun_free(ctx, &o);

    /* The totals path: R(P(970000)) = 28500 from the measure alone. */
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_true(o.report.totals_path);
    assert_null(o.lines);
    assert_int_equal(o.totals[0], 28500);
    spi_crun_free(ctx, &o);

    /* A monthly run: the quarter is due in March only (January computes nothing). */
    e.in.want_lines = true;
    e.in.period = SPI_CPERIOD_MONTH;
    e.in.index = 0;
    o = run_ok(&e);
    assert_false(o.due[0]);
    assert_int_equal(o.nlines, 0);
    assert_int_equal(o.statements[0].total, 0);
    spi_crun_free(ctx, &o);
    e.in.index = 2;
    o = run_ok(&e);
    assert_true(o.due[0]);
    assert_int_equal(o.first[0], spt_day(2015, 1, 1));
    assert_int_equal(o.end[0], spt_day(2015, 4, 1));
    assert_int_equal(o.statements[0].total, 28500);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * 1.1 retroactive (lower boundary owns the breakpoint): T3 reaches 2 %: own 150000 x 2 % =
 * 3000, true-up 50000 x 1 % = 500; T4 reaches 3 %: own 3600, true-up 200000 x 1 % = 2000;
 * T6 reaches 5 %: own 22500, true-up 520000 x 2 % = 10400. Total 970000 x 5 % = 48500.
 * Per line (accumulate "line", Oracle's published 164.00): 200, 300, 2000, 1400, 3000, 9500.
 */
static void test_ex_1_1_retroactive(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx, plan_11(ctx, "retroactive", ""), 2015, SPI_CPERIOD_QUARTER, 0);
    add_11(&e.src);
    spi_crun o = run_ok(&e);
    static const int64_t earned[6] = { 200, 300, 3500, 5600, 6000, 32900 },
                         own[6] = { 200, 300, 3000, 3600, 6000, 22500 },
                         tu[6] = { 0, 0, 500, 2000, 0, 10400 };
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(o.lines[i].earned, earned[i]);
        assert_int_equal(o.lines[i].own, own[i]);
        assert_int_equal(o.lines[i].true_up, tu[i]);
    }
    assert_int_equal(o.statements[0].total, 48500);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    env_free(&e);

    env_init(&e, ctx, plan_11(ctx, "marginal", ", \"accumulate\": \"line\""), 2015,
             SPI_CPERIOD_QUARTER, 0);
    add_11(&e.src);
    o = run_ok(&e);
    static const int64_t per_line[6] = { 200, 300, 2000, 1400, 3000, 9500 };
    for (size_t i = 0; i < 6; i++)
        assert_int_equal(o.lines[i].earned, per_line[i]);
    assert_int_equal(o.statements[0].total, 16400);
    spi_crun_free(ctx, &o);
    /* Per-line measures need the lines: the totals path falls back to them. */
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_false(o.report.totals_path);
    assert_null(o.statements);
    assert_int_equal(o.totals[0], 16400);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * 1.2 (Salesforce Spiff): 4 % to 150,000, 6 % to 250,000, 8 % above, over the year. A
 * 145,000.00 line (14,500,000 x 4 % = 580,000) then a 20,000.00 one: 500,000 x 4 % +
 * 1,500,000 x 6 % = 110,000 (1,100.00), tier 0 -> 1. With a SPIFF of 200.00 per unit of
 * P9 in March: the second line, 3 units of P9 on 03-10, adds 60,000 on its own line; a
 * refund of 1 unit (2,000.00 on 03-20) reverses 20,000 of it and 2,000.00 at 6 %:
 * R(P(16,300,000)) - R(P(16,500,000)) = -12,000.
 */
static void test_ex_1_2_spiff(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e,
             ctx,
             plan1(ctx, "2024", "{\"mode\": \"half_even\"}", "{\"kind\": \"amount\"}", "year",
                   "{\"kind\": \"marginal\", \"tiers\": [{\"rate\": \"4%\"}, {\"from\": 150000, "
                   "\"rate\": \"6%\"}, {\"from\": 250000, \"rate\": \"8%\"}]}",
                   ", \"spiffs\": [{\"product\": \"P9\", \"per_unit\": 200, \"from\": "
                   "\"2024-03-01\", \"to\": \"2024-03-31\"}]"),
             2024, SPI_CPERIOD_YEAR, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 10, 0, spt_day(2024, 2, 1), A, P1, 14500000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 11, 0, spt_day(2024, 3, 10), A, P9, 2000000, 3, 0);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.statements[0].nlines, 3);
    assert_int_equal(o.lines[0].earned, 580000);
    assert_int_equal(o.lines[1].earned, 110000);
    assert_int_equal(o.lines[1].tier_before, 0);
    assert_int_equal(o.lines[1].tier_after, 1);
    assert_int_equal(o.lines[2].kind, SPI_CLINE_ORDER_SPIFF);
    assert_int_equal(o.lines[2].fact, 11);
    assert_int_equal(o.lines[2].base, 3);
    assert_int_equal(o.lines[2].rate, 20000);
    assert_int_equal(o.lines[2].earned, 60000);
    assert_int_equal(o.statements[0].total, 750000);
    spi_crun_free(ctx, &o);

    add(&e.src, SP_FACT_REFUNDS, 900, 11, spt_day(2024, 3, 20), SP_NONE, P9, 200000, 1, 0);
    o = run_ok(&e);
    assert_int_equal(o.statements[0].nlines, 5);
    assert_int_equal(o.lines[3].kind, SPI_CLINE_REFUND);
    assert_int_equal(o.lines[3].fact, 900);
    assert_int_equal(o.lines[3].base, -200000);
    assert_int_equal(o.lines[3].earned, -12000);
    assert_int_equal(o.lines[4].kind, SPI_CLINE_REFUND_SPIFF);
    assert_int_equal(o.lines[4].earned, -20000);
    assert_int_equal(o.statements[0].total, 750000 - 32000);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * 6.3: a line of 1.01 at 5 % split 50/30/20. Credit: 50.5 / 30.3 / 20.2 -> floors
 * 50/30/20, the cent left to the largest remainder (.5): bases 51 / 30 / 20.
 * Per line (policy "per_line", a flat schedule): the line earns R(101 x 5 %) = R(5.05) =
 * 5, allocated 2.5 / 1.5 / 1.0 -> floors 2/1/1, the unit left to the tie .5/.5: the first
 * entry: 3 / 1 / 1 (never the per-part rounding 3 + 2 + 1 = 6).
 * Per total (the default): each payee's period measure through its own schedule:
 * R(2.55) = 3, R(1.5) = 2 (half even), R(1.0) = 1: each statement rounds once, its own.
 */
static void test_ex_6_3_split(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const uint64_t ids[3] = { 7, 7, 7 };
    static const uint32_t who[3] = { 0, 1, 2 };
    static const sp_dec shares[3] = { 500000000, 300000000, 200000000 };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, ids, who, shares, 3, 3), SP_OK);
    for (int pol = 0; pol < 2; pol++) {
        env e;
        env_init(&e,
                 ctx,
                 plan1(ctx, "2024",
                       pol ? "{\"policy\": \"per_line\"}" : "{\"policy\": \"per_total\"}",
                       "{\"kind\": \"amount\"}", "quarter",
                       "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"5%\"}]}",
                       ", \"crediting\": {\"splits\": \"facts\"}"),
                 2024, SPI_CPERIOD_QUARTER, 0);
        e.in.splits = t;
        add(&e.src, SP_FACT_ORDER_LINES, 7, 0, spt_day(2024, 2, 2), A, P1, 101, 1, 0);
        spi_crun o = run_ok(&e);
        static const int64_t base[3] = { 51, 30, 20 }, line[3] = { 3, 1, 1 },
                             total[3] = { 3, 2, 1 };
        for (size_t p = 0; p < 3; p++) {
            const spi_cline *l = &o.lines[o.statements[p].first];
            assert_int_equal(o.statements[p].nlines, 1);
            assert_int_equal(l->fact, 7);
            assert_int_equal(l->base, base[p]);
            assert_int_equal(l->share, shares[p]);
            assert_int_equal(l->earned, pol ? line[p] : total[p]);
        }
        check_sums(&o);
        spi_crun_free(ctx, &o);
        env_free(&e);
    }
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

/*
 * 7.1 (ADempiere): invoice 1,000.00 at 4 % and a credit note of 200.00 in the month:
 * 4,000 - 800 = 3,200 (never 4,800). 7.2 (OCA #55): 100.00 at 10 % refunded in full nets
 * 0 (never 2,000). 7.4, reading 1, in the quarter: T1..T4 of 1.1 (320,000, marginal 5,600)
 * and a credit note of 500.00 on T4: the measure goes back to 270,000, the refund earns
 * R(P(270,000)) - R(P(320,000)) = 4,400 - 5,600 = -1,200 (20,000 x 3 % + 30,000 x 2 %).
 */
static void test_ex_7_refunds(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"4%\"}]}", ""),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
    add(&e.src, SP_FACT_REFUNDS, 2, 1, spt_day(2024, 1, 20), SP_NONE, P1, 20000, 0, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 3, 0, spt_day(2024, 1, 6), B, P1, 10000, 1, 0);
    add(&e.src, SP_FACT_REFUNDS, 4, 3, spt_day(2024, 1, 7), SP_NONE, P1, 10000, 1, 0);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.statements[0].total, 3200);
    assert_int_equal(o.lines[o.statements[0].first + 1].earned, -800);
    assert_int_equal(o.statements[1].total, 0);
    assert_int_equal(o.lines[o.statements[1].first].earned, 400);
    assert_int_equal(o.lines[o.statements[1].first + 1].earned, -400);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_int_equal(o.totals[0], 3200);
    assert_int_equal(o.totals[1], 0);
    spi_crun_free(ctx, &o);
    env_free(&e);

    env_init(&e, ctx, plan_11(ctx, "marginal", ""), 2015, SPI_CPERIOD_QUARTER, 0);
    add_11(&e.src);
    e.src.n = 4;
    add(&e.src, SP_FACT_REFUNDS, 50, 4, spt_day(2015, 3, 3), SP_NONE, P1, 50000, 0, 0);
    o = run_ok(&e);
    assert_int_equal(o.statements[0].nlines, 5);
    assert_int_equal(o.lines[4].earned, -1200);
    assert_int_equal(o.lines[4].tier_before, 2);
    assert_int_equal(o.lines[4].tier_after, 1);
    assert_int_equal(o.statements[0].total, 4400);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* A per-line SPIFF is reversed by the refund that completes the line's refund. */
static void test_spiff_per_line(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"quantity\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"per_unit\": 1}]}",
                   ", \"spiffs\": [{\"product\": \"P2\", \"per_line\": 50}]"),
             2024, SPI_CPERIOD_MONTH, 1);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 2, 5), A, P2, 1000, 4, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 2, 5), A, P1, 1000, 4, 0);
    add(&e.src, SP_FACT_REFUNDS, 3, 1, spt_day(2024, 2, 6), SP_NONE, P2, 400, 1, 0);
    add(&e.src, SP_FACT_REFUNDS, 4, 1, spt_day(2024, 2, 7), SP_NONE, P2, 600, 3, 0);
    spi_crun o = run_ok(&e);
    /* In the order (day, kind, id): lines 1 and 2, 4 units at 1.00 each (400, 400), then
     * line 1's SPIFF 5,000 (a SPIFF comes after the order lines of its day); the refunds:
     * 1 unit (-100), then 3 units (-300) completing line 1's refund, reversing the SPIFF
     * (-5,000). Total 400 + 400 + 5,000 - 100 - 300 - 5,000 = 400. */
    assert_int_equal(o.statements[0].nlines, 6);
    assert_int_equal(o.lines[2].kind, SPI_CLINE_ORDER_SPIFF);
    assert_int_equal(o.lines[2].fact, 1);
    assert_int_equal(o.lines[2].earned, 5000);
    assert_int_equal(o.lines[3].earned, -100);
    assert_int_equal(o.lines[4].earned, -300);
    assert_int_equal(o.lines[5].kind, SPI_CLINE_REFUND_SPIFF);
    assert_int_equal(o.lines[5].earned, -5000);
    assert_int_equal(o.statements[0].total, 400);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- properties on random data ---- */

/* A string literal, so that the compiler checks the format's arguments (-Wformat=2). */
#define RANDOM_PLAN \
    "{\"plan\": \"R\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": \"USD\", " \
    "\"rounding\": {\"mode\": \"%s\", \"policy\": \"%s\"}, \"components\": [" \
    "{\"id\": \"amt\", \"measure\": {\"kind\": \"amount\", \"filter\": {\"product\": [\"P1\", " \
    "\"P9\"]}}, \"period\": \"quarter\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": " \
    "[{\"rate\": \"3%%\"}, {\"from\": 500, \"rate\": \"5.5%%\"}, {\"from\": 2000, \"rate\": " \
    "\"7%%\"}]}, \"spiffs\": [{\"product\": \"P9\", \"per_unit\": 1.5}], \"crediting\": " \
    "{\"splits\": \"facts\"}}," \
    "{\"id\": \"mar\", \"measure\": {\"kind\": \"margin\"}, \"period\": \"month\", " \
    "\"schedule\": {\"kind\": \"retroactive\", \"on\": \"attainment\", \"tiers\": [{\"rate\": " \
    "\"2%%\"}, {\"from\": \"50%%\", \"rate\": \"4.5%%\"}, {\"from\": \"100%%\", \"rate\": " \
    "\"9%%\"}]}, \"quota\": {\"given\": true}, \"gate\": \"20%%\", \"cap\": {\"amount\": 300}, " \
    "\"bonuses\": [{\"at\": \"110%%\", \"amount\": 25}]}," \
    "{\"id\": \"qty\", \"measure\": {\"kind\": \"quantity\"}, \"period\": \"month\", " \
    "\"schedule\": {\"kind\": \"table\", \"tiers\": [{\"amount\": 0}, {\"from\": 10, " \
    "\"amount\": 20}, {\"from\": 30, \"amount\": 70}]}}," \
    "{\"id\": \"cnt\", \"measure\": {\"kind\": \"lines\", \"filter\": {\"from\": " \
    "\"2024-03-05\"}}, \"period\": \"month\", \"schedule\": {\"kind\": \"interpolated\", " \
    "\"tiers\": [{\"per_unit\": 1}, {\"from\": 10, \"per_unit\": 3}]}}]}"

static void random_facts(tsrc *s, spt_rng *r)
{
    s->n = 0;
    size_t n = (size_t)spt_rng_range(r, 0, 300);
    for (size_t i = 0; i < n; i++) {
        uint32_t rep = (uint32_t)spt_rng_range(r, A, X);
        uint32_t product = (uint32_t)spt_rng_range(r, P1, P9);
        int64_t amount = spt_rng_range(r, -2000, 60000), qty = spt_rng_range(r, 0, 5);
        int32_t day = spt_day(2024, 3, 1) + (int32_t)spt_rng_range(r, 0, 30);
        uint64_t id = 1000 + i * 3;
        add(s, SP_FACT_ORDER_LINES, id, 0, day, rep, product, amount,
            qty, spt_rng_range(r, 0, amount > 0 ? amount : 0));
        if (amount > 0 && spt_rng_chance(r, 30)) {
            int64_t left = amount;
            for (int k = 0; k < 2 && left > 0; k++) {
                int64_t a = spt_rng_chance(r, 50) ? left : spt_rng_range(r, 0, left);
                left -= a;
                int32_t rd = day + (int32_t)spt_rng_range(r, 0, spt_day(2024, 4, 1) - 1 - day);
                add(s, SP_FACT_REFUNDS, id + 1 + (uint64_t)k, id, rd, SP_NONE, product, a,
                    spt_rng_range(r, 0, 2), spt_rng_range(r, 0, a / 2));
            }
        }
    }
}

static void same_runs(const spi_crun *a, const spi_crun *b)
{
    assert_int_equal(a->nlines, b->nlines);
    if (a->nlines > 0)
        assert_memory_equal(a->lines, b->lines, a->nlines * sizeof *a->lines);
    assert_memory_equal(a->statements, b->statements, a->npayees * sizeof *a->statements);
    assert_memory_equal(a->totals, b->totals, a->npayees * a->ncomponents * sizeof *a->totals);
    assert_memory_equal(a->measure, b->measure, a->npayees * a->ncomponents * sizeof *a->measure);
}

static void test_properties(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 20240301 };
    static const char *const modes[] = { "half_even", "half_up", "down", "ceiling" };
    unsigned iters = spt_iterations(60);
    static tsrc facts;
    for (unsigned it = 0; it < iters; it++) {
        char json[4096];
        bool per_line = spt_rng_chance(&r, 30);
        snprintf(json, sizeof json, RANDOM_PLAN, modes[it % 4],
                 per_line ? "per_line" : "per_total");
        env e;
        env_init(&e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 2);
        random_facts(&facts, &r);
        memcpy(&e.src, &facts, sizeof facts);
        int64_t quotas[12];
        for (size_t i = 0; i < 12; i++)
            quotas[i] = spt_rng_range(&r, 1000, 300000);
        e.in.quotas = quotas;
        /* Splits for some lines among the three payees. */
        uint64_t sid[64];
        uint32_t spay[64];
        sp_dec sshare[64];
        size_t ns = 0;
        for (size_t i = 0; i < facts.n && ns + 2 <= 64; i++) {
            if (facts.f[i].kind != SP_FACT_ORDER_LINES || !spt_rng_chance(&r, 20))
                continue;
            uint32_t p = (uint32_t)spt_rng_range(&r, 0, 2);
            sp_dec sh = spt_rng_range(&r, 0, SP_DEC_ONE);
            sid[ns] = sid[ns + 1] = facts.f[i].id;
            spay[ns] = p;
            spay[ns + 1] = (p + 1) % 3;
            sshare[ns] = sh;
            sshare[ns + 1] = SP_DEC_ONE - sh;
            ns += 2;
        }
        spi_split_table *t = NULL;
        if (ns > 0)
            assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, ns, 3), SP_OK);
        e.in.splits = t;
        spi_crun base = run_ok(&e);
        check_sums(&base);
        for (int k = 0; k < 3; k++) {
            e.src.seed = spt_rng_next(&r) | 1;
            e.src.max_batch = (size_t)spt_rng_range(&r, 1, 64);
            spi_crun o = run_ok(&e);
            same_runs(&base, &o);
            spi_crun_free(ctx, &o);
        }
        e.in.want_lines = false;
        spi_crun tot = run_ok(&e);
        assert_int_equal(tot.report.totals_path, !per_line);
        assert_memory_equal(tot.totals, base.totals, 12 * sizeof *tot.totals);
        assert_memory_equal(tot.measure, base.measure, 12 * sizeof *tot.measure);
        assert_int_equal(tot.report.not_payee, base.report.not_payee);
        spi_crun_free(ctx, &tot);
        spi_crun_free(ctx, &base);
        spi_split_table_free(t);
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/*
 * The totals path's fast loop (amount components without filters, no refunds): its
 * unchecked sums under a bound, undone and redone or checked when the bound cannot tell,
 * equal the lines path's checked ones, with and without a payee map, one component or
 * two, slices with and without a selection vector (days outside the month) and amounts
 * large enough to reach every branch.
 */
#define FAST_PLAN                                                                             \
    "{\"plan\": \"F\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": \"USD\", "  \
    "\"components\": [{\"id\": \"m\", \"measure\": {\"kind\": \"amount\"}, \"period\": "     \
    "\"month\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": [{\"rate\": \"3%%\"}, "    \
    "{\"from\": 500, \"rate\": \"5%%\"}]}}%s]}"
#define FAST_PLAN_Q                                                                           \
    ", {\"id\": \"q\", \"measure\": {\"kind\": \"amount\"}, \"period\": \"quarter\", "      \
    "\"schedule\": {\"kind\": \"retroactive\", \"tiers\": [{\"rate\": \"1%\"}, {\"from\": "  \
    "2000, \"rate\": \"2%\"}]}}"

static void test_fast_totals(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 20261208 };
    static const uint32_t all[NDICT] = { 0, 1, 2, 3, 4, 5, 6 };
    unsigned iters = spt_iterations(200);
    for (unsigned it = 0; it < iters; it++) {
        char json[2048];
        bool two = spt_rng_chance(&r, 50), outside = spt_rng_chance(&r, 50),
             huge = spt_rng_chance(&r, 50);
        snprintf(json, sizeof json, FAST_PLAN, two ? FAST_PLAN_Q : "");
        env e;
        env_init(&e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 2);
        if (spt_rng_chance(&r, 50)) { /* payee i is dict index i: no map */
            e.in.npayees = NDICT;
            e.in.payees = all;
        }
        size_t n = (size_t)spt_rng_range(&r, 0, 400);
        for (size_t i = 0; i < n; i++) {
            uint32_t rep = spt_rng_chance(&r, 5) ? SP_NONE : (uint32_t)spt_rng_range(&r, 0, NDICT - 1);
            int64_t amount = spt_rng_range(&r, -2000, 60000);
            if (huge && spt_rng_chance(&r, 2))
                amount = spt_rng_range(&r, -100000000000000000, 100000000000000000);
            int32_t day = spt_day(2024, 3, 1) + (int32_t)spt_rng_range(&r, 0, 30);
            if (outside && spt_rng_chance(&r, 20))
                day = spt_day(2024, 2, 1) + (int32_t)spt_rng_range(&r, 0, 89);
            add(&e.src, SP_FACT_ORDER_LINES, 1 + i, 0, day, rep, P1, amount, 1, 0);
        }
        e.src.seed = spt_rng_next(&r) | 1;
        e.src.max_batch = spt_rng_chance(&r, 20) ? 4096 : (size_t)spt_rng_range(&r, 1, 64);
        spi_crun lines = run_ok(&e);
        for (int k = 0; k < 2; k++) {
            e.in.want_lines = false;
            e.src.seed = k == 0 ? 0 : spt_rng_next(&r) | 1;
            spi_crun tot = run_ok(&e);
            assert_true(tot.report.totals_path);
            size_t cells = e.in.npayees * tot.ncomponents;
            assert_memory_equal(tot.measure, lines.measure, cells * sizeof *tot.measure);
            assert_memory_equal(tot.totals, lines.totals, cells * sizeof *tot.totals);
            assert_int_equal(tot.report.not_payee, lines.report.not_payee);
            spi_crun_free(ctx, &tot);
            e.in.want_lines = true;
        }
        spi_crun_free(ctx, &lines);
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/* ---- bad input ---- */

static void expect_run(env *e, int code, const char *msg)
{
    spi_crun o;
    memset(&o, 0xAB, sizeof o);
    spi_crun before = o;
    e->src.batches = 0;
    int rc = spi_cengine_run(e->ctx, &e->in, NULL, &o);
    spt_expect_error(e->ctx, rc, code, msg);
    assert_memory_equal(&o, &before, sizeof o);
}

static void test_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"4%\"}]}", ""),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
    add(&e.src, SP_FACT_REFUNDS, 2, 1, spt_day(2024, 1, 20), SP_NONE, P1, 60000, 0, 0);
    add(&e.src, SP_FACT_REFUNDS, 3, 1, spt_day(2024, 1, 21), SP_NONE, P1, 40001, 0, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: refunds batch 1 row 1: refund 3 of 40001 brings the refunded "
               "amount of line 1 above its amount 100000");
    e.src.f[2].ref = 99;
    expect_run(&e, SP_EINVAL,
               "commission run: refunds batch 1 row 1: refund 3 references line 99, which is "
               "no order line of the days read (refunds of earlier periods are clawbacks, "
               "which come later)");
    e.src.f[2].ref = 1;
    e.src.f[2].amount = 1;
    e.src.f[2].day = spt_day(2024, 1, 4);
    expect_run(&e, SP_EINVAL,
               "commission run: refunds batch 1 row 1: refund 3 is dated before its line 1");
    e.src.n = 1;
    add(&e.src, SP_FACT_ORDER_LINES, 5, 0, spt_day(2024, 1, 6), X, P1, 10, 1, 0);
    e.in.unknown = SPI_CENGINE_ERROR;
    expect_run(&e, SP_EINVAL,
               "commission run: order lines batch 1 row 1: fact 5: rep X is no payee of the run");
    e.in.unknown = SPI_CENGINE_SKIP;
    spi_crun o = run_ok(&e);
    assert_int_equal(o.report.not_payee, 1);
    spi_crun_free(ctx, &o);
    e.src.f[1].rep = A;
    e.src.f[1].id = 1;
    e.src.f[1].day = e.src.f[0].day;
    expect_run(&e, SP_EINVAL,
               "commission run: fact 1: two order lines with this id on one day");
    /* Sums are exact in any order: 6e18 + 6e18 - 6e18 is 6e18 whichever two come first;
     * 6e18 + 6e18 alone overflows, named by payee and component. */
    e.src.n = 0;
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 6000000000000000000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), A, P1, -6000000000000000000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 3, 0, spt_day(2024, 1, 7), A, P1, 6000000000000000000, 1, 0);
    for (uint64_t seed = 0; seed < 8; seed++) {
        e.src.seed = seed;
        e.src.max_batch = 2;
        for (int lines = 0; lines < 2; lines++) {
            e.in.want_lines = lines == 1;
            o = run_ok(&e);
            assert_int_equal(o.measure[0], 6000000000000000000);
            assert_int_equal(o.totals[0], 240000000000000000);
            spi_crun_free(ctx, &o);
        }
    }
    e.src.f[1].amount = 6000000000000000000;
    expect_run(&e, SP_EOVERFLOW,
               "commission run: payee \"A\": components[0] (\"c\"): the credits overflow "
               "int64_t");
    e.src.seed = 0;
    e.in.want_lines = true;
    e.src.n = 1;
    static const uint32_t twice[2] = { A, A };
    e.in.payees = twice;
    e.in.npayees = 2;
    expect_run(&e, SP_EINVAL, "commission run: payees[1]: 0 is given twice");
    e.in.payees = payees3;
    e.in.npayees = 3;
    e.in.index = 12;
    expect_run(&e, SP_EINVAL, "commission run: FY2024 has 12 periods of a month, not 13");
    e.in.index = 0;
    e.in.period = SPI_CPERIOD_QUARTER;
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].period: a month component in a quarter run "
               "(run it per month)");
    env_free(&e);

    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"invoice\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"4%\"}]}", ""),
             2024, SPI_CPERIOD_MONTH, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].measure.basis: the invoice and payment bases "
               "come later (engine v0 computes bookings and the refunds of their period)");
    env_free(&e);
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month",
                   "{\"kind\": \"flat\", \"on\": \"attainment\", \"tiers\": [{\"rate\": "
                   "\"4%\"}]}", ", \"quota\": {\"given\": true}, \"gate\": \"50%\""),
             2024, SPI_CPERIOD_MONTH, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].schedule.on: a schedule on attainment needs the "
               "payees' quotas");
    static const int64_t quotas[3] = { 1000, 0, 1000 };
    e.in.quotas = quotas;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"B\": components[0] (\"c\"): the quota is 0: attainment "
               "breakpoints need a quota above 0");
    env_free(&e);

    /* A March run of a quarterly and a monthly component: a February line refunded in
     * March is the quarter's (both in it), but for the month a refund of an earlier
     * period's line, which v0 refuses (clawbacks come later). */
    env_init(&e, ctx,
             plan_of(ctx, "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, "
                          "\"currency\": \"USD\", \"components\": [{\"id\": \"q\", "
                          "\"measure\": {\"kind\": \"amount\"}, \"period\": \"quarter\", "
                          "\"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": "
                          "\"4%\"}]}}, {\"id\": \"m\", \"measure\": {\"kind\": \"amount\"}, "
                          "\"period\": \"month\", \"schedule\": {\"kind\": \"flat\", "
                          "\"tiers\": [{\"rate\": \"1%\"}]}}]}"),
             2024, SPI_CPERIOD_MONTH, 2);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 2, 10), A, P1, 10000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 3, 10), A, P1, 20000, 1, 0);
    o = run_ok(&e);
    assert_int_equal(o.totals[0], 1200); /* the quarter: 30,000 x 4 % */
    assert_int_equal(o.totals[1], 200);  /* March: 20,000 x 1 % */
    spi_crun_free(ctx, &o);
    add(&e.src, SP_FACT_REFUNDS, 3, 1, spt_day(2024, 3, 5), SP_NONE, P1, 5000, 0, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: refunds batch 1 row 0: refund 3 references line 1 of an "
               "earlier period of components[1] (clawbacks come later)");
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- faults ---- */

typedef struct fault {
    spt_alloc alloc;
    env e;
    spi_crun out;
    bool have;
} fault;

static int run_fault(void *user)
{
    fault *f = user;
    f->e.src.batches = 0;
    int rc = spi_cengine_run(f->e.ctx, &f->e.in, NULL, &f->out);
    f->have = rc == SP_OK;
    return rc;
}

static void undo_fault(void *user)
{
    fault *f = user;
    spi_crun_free(f->e.ctx, &f->out);
    f->have = false;
}

static void check_fault(void *user)
{
    assert_false(((fault *)user)->have);
}

static size_t live_fault(void *user)
{
    return ((fault *)user)->alloc.live_blocks;
}

static void test_faults(void **state)
{
    (void)state;
    static fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    sp_ctx *ctx = spt_ctx_with(&f.alloc);
    char json[4096];
    snprintf(json, sizeof json, RANDOM_PLAN, "half_even", "per_total");
    env_init(&f.e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 2);
    spt_rng r = { 99 };
    random_facts(&f.e.src, &r);
    f.e.src.seed = 5;
    f.e.src.max_batch = 40;
    static const int64_t quotas[12] = { 5000, 5000, 5000, 5000, 9000, 9000,
                                        9000, 9000, 100, 100, 100, 100 };
    f.e.in.quotas = quotas;
    /* Splits of the first order lines between payees 0 and 1. */
    uint64_t sid[8];
    uint32_t spay[8];
    sp_dec sshare[8];
    size_t ns = 0;
    for (size_t i = 0; i < f.e.src.n && ns < 8; i++)
        if (f.e.src.f[i].kind == SP_FACT_ORDER_LINES) {
            sid[ns] = sid[ns + 1] = f.e.src.f[i].id;
            spay[ns] = 0;
            spay[ns + 1] = 1;
            sshare[ns] = 300000000;
            sshare[ns + 1] = 700000000;
            ns += 2;
        }
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, ns, 3), SP_OK);
    f.e.in.splits = t;
    size_t live = f.alloc.live_blocks;
    static const int errors[] = { SP_ENOMEM };
    for (int lines = 0; lines < 2; lines++) {
        f.e.in.want_lines = lines == 1;
        spt_fault_case fc = { "engine", run_fault, undo_fault, check_fault, live_fault,
                              errors, 1, &f };
        spt_injector inj = spt_alloc_injector(&f.alloc);
        assert_true(spt_fault_loop(&fc, &inj) >= 5);
    }
    /* The source failing at every batch: the host's status, nothing made. */
    uint64_t batches = 0;
    {
        spi_crun o = run_ok(&f.e);
        batches = f.e.src.batches;
        spi_crun_free(ctx, &o);
    }
    assert_true(batches > 2);
    for (uint64_t k = 1; k <= batches; k++) {
        f.e.src.fail_at = k;
        spi_crun o;
        memset(&o, 0, sizeof o);
        f.e.src.batches = 0;
        int rc = spi_cengine_run(ctx, &f.e.in, NULL, &o);
        assert_int_equal(rc, SP_EUSER);
        assert_null(o.totals);
        assert_int_equal(f.alloc.live_blocks, live);
    }
    spi_split_table_free(t);
    env_free(&f.e);
    sp_ctx_free(ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ex_1_1_marginal), cmocka_unit_test(test_ex_1_1_retroactive),
        cmocka_unit_test(test_ex_1_2_spiff),    cmocka_unit_test(test_ex_6_3_split),
        cmocka_unit_test(test_ex_7_refunds),    cmocka_unit_test(test_spiff_per_line),
        cmocka_unit_test(test_properties),      cmocka_unit_test(test_fast_totals),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
