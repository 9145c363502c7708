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

/* Every statement's total is the sum of its lines, and of its component totals and its
 * draw's top-up less its recovery. */
static void check_sums(const spi_crun *o)
{
    for (size_t p = 0; p < o->npayees; p++) {
        const spi_cstatement *s = &o->statements[p];
        int64_t sum = 0, ctot = o->draws[p].paid - o->draws[p].recovered;
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

/* ---- caps carried forward and draws (draw.c) ---- */

/* A plan of one component "c" paying 100 % of the amount per `period`, with `comp` members
 * in the component and `plan` members in the plan. */
static spi_cplan plan_cd(sp_ctx *ctx, const char *period, const char *from, const char *to,
                         const char *comp, const char *plan)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"plan\": \"D\", \"effective\": {\"from\": \"%s\", \"to\": \"%s\"}, "
             "\"currency\": \"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": "
             "\"amount\"}, \"period\": \"%s\", \"schedule\": {\"kind\": \"flat\", \"tiers\": "
             "[{\"rate\": \"100%%\"}]}%s}]%s}",
             from, to, period, comp, plan);
    return plan_of(ctx, json);
}

/*
 * Run period `index` with the carry state `carry_in` (NULL: zeros) on the totals path and
 * on the lines path, which must agree on every figure of the settlement; the lines path's
 * run, its sums checked.
 */
static spi_crun run_both(env *e, uint32_t index, const int64_t *carry_in)
{
    e->in.index = index;
    e->in.carry_in = carry_in;
    e->in.want_lines = false;
    spi_crun t = run_ok(e);
    e->in.want_lines = true;
    spi_crun o = run_ok(e);
    check_sums(&o);
    size_t cells = o.npayees * o.ncomponents;
    assert_true(t.report.totals_path);
    assert_null(t.statements);
    assert_memory_equal(t.totals, o.totals, cells * sizeof *o.totals);
    assert_memory_equal(t.caps, o.caps, cells * sizeof *o.caps);
    assert_memory_equal(t.draws, o.draws, o.npayees * sizeof *o.draws);
    assert_memory_equal(t.carry, o.carry,
                        o.npayees * SPI_CCARRY_WIDTH(o.ncomponents) * sizeof *o.carry);
    spi_crun_free(e->ctx, &t);
    /* The statements tile the lines; within one, components in order (the draw's last),
     * each one's fact lines by day, then its settlement lines by kind. */
    size_t at = 0;
    for (size_t p = 0; p < o.npayees; p++) {
        const spi_cstatement *st = &o.statements[p];
        assert_int_equal(st->first, at);
        for (size_t i = 1; i < st->nlines; i++) {
            const spi_cline *a = &o.lines[at + i - 1], *b = &o.lines[at + i];
            assert_true(a->component <= b->component);
            if (a->component == b->component && b->kind < SPI_CLINE_CAP_RELEASE)
                assert_true(a->kind < SPI_CLINE_CAP_RELEASE && a->day <= b->day);
            if (a->component == b->component && a->kind >= SPI_CLINE_CAP_RELEASE)
                assert_true(a->kind < b->kind);
        }
        at += st->nlines;
    }
    assert_int_equal(at, o.nlines);
    return o;
}

/* A settlement line: fact 0, share 100 %, own = earned, no true-up, no tiers. */
static void check_settle_line(const spi_cline *l, uint32_t kind, uint16_t comp, int32_t day,
                              int64_t base, int64_t rate, int64_t earned)
{
    assert_int_equal(l->kind, kind);
    assert_int_equal(l->component, comp);
    assert_int_equal(l->day, day);
    assert_int_equal(l->base, base);
    assert_int_equal(l->rate, rate);
    assert_int_equal(l->earned, earned);
    assert_int_equal(l->own, earned);
    assert_int_equal(l->true_up, 0);
    assert_int_equal(l->fact, 0);
    assert_int_equal(l->share, SP_DEC_ONE);
    assert_int_equal(l->tier_before, 0);
    assert_int_equal(l->tier_after, 0);
}

/*
 * 3.4: a cap of 5,000.00 a month on 100 % of the amount; rep A earns 6,200.00, 3,100.00
 * and 5,400.00 in January, February and March 2024 (one line each). Carried forward, each
 * month's carry-out the next one's carry-in:
 *   Jan: A = 620,000 above the cap: paid 500,000; room 0, excess 120,000 carried.
 *   Feb: A = 310,000: room 500,000 - 310,000 = 190,000, released min(120,000, 190,000) =
 *        120,000 (a line of its own): paid 430,000, carried 120,000 - 120,000 + 0 = 0.
 *   Mar: A = 540,000: paid 500,000, excess 40,000 carried.
 *   Paid 1,430,000 + carried 40,000 = earned 1,470,000.
 * Not carried: paid 500,000, 310,000, 500,000 (1,310,000); 120,000 and 40,000 lost, each
 * shown on a line; nothing carried.
 */
static void test_ex_3_4_cap_carry(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const int64_t paid[2][3] = { { 500000, 310000, 500000 },
                                        { 500000, 430000, 500000 } },
                         room[3] = { 0, 190000, 0 }, excess[3] = { 120000, 0, 40000 },
                         released[3] = { 0, 120000, 0 }, carried[3] = { 120000, 0, 40000 },
                         amounts[3] = { 620000, 310000, 540000 };
    static const int32_t last[3][3] = { { 2024, 1, 31 }, { 2024, 2, 29 }, { 2024, 3, 31 } };
    for (int carry = 0; carry < 2; carry++) {
        env e;
        env_init(&e, ctx,
                 plan_cd(ctx, "month", "2024-01-01", "2024-12-31",
                         carry ? ", \"cap\": {\"amount\": 5000, \"carry_forward\": true}"
                               : ", \"cap\": {\"amount\": 5000}",
                         ""),
                 2024, SPI_CPERIOD_MONTH, 0);
        for (int m = 0; m < 3; m++)
            add(&e.src, SP_FACT_ORDER_LINES, 1 + (uint64_t)m, 0, spt_day(2024, m + 1, 10), A,
                P1, amounts[m], 1, 0);
        int64_t in[3 * 2] = { 0 }, sum = 0;
        for (uint32_t m = 0; m < 3; m++) {
            spi_crun o = run_both(&e, m, in);
            int32_t day = spt_day(last[m][0], last[m][1], last[m][2]);
            assert_int_equal(o.totals[0], paid[carry][m]);
            assert_int_equal(o.statements[0].total, paid[carry][m]);
            assert_int_equal(o.caps[0].room, room[m]);
            assert_int_equal(o.caps[0].excess, excess[m]);
            assert_int_equal(o.caps[0].released, carry ? released[m] : 0);
            assert_int_equal(o.carry[SPI_CCARRY_CAP(0)], carry ? carried[m] : 0);
            assert_int_equal(o.carry[SPI_CCARRY_DRAW], 0);
            const spi_cstatement *st = &o.statements[0];
            const spi_cline *l = &o.lines[st->first];
            assert_int_equal(l[0].kind, SPI_CLINE_ORDER);
            assert_int_equal(l[0].earned, amounts[m] < 500000 ? amounts[m] : 500000);
            size_t k = 1;
            if (carry && released[m] > 0)
                check_settle_line(&l[k++], SPI_CLINE_CAP_RELEASE, 0, day, in[SPI_CCARRY_CAP(0)],
                                  500000, released[m]);
            if (excess[m] > 0)
                check_settle_line(&l[k++], carry ? SPI_CLINE_CAP_CARRY : SPI_CLINE_CAP_LOST, 0,
                                  day, excess[m], 500000, 0);
            assert_int_equal(st->nlines, k);
            for (size_t p = 1; p < 3; p++) {
                assert_int_equal(o.statements[p].nlines, 0);
                assert_int_equal(o.carry[p * 2 + SPI_CCARRY_CAP(0)], 0);
            }
            sum += paid[carry][m];
            memcpy(in, o.carry, sizeof in);
            spi_crun_free(ctx, &o);
        }
        assert_int_equal(sum, carry ? 1430000 : 1310000);
        assert_int_equal(sum + in[SPI_CCARRY_CAP(0)] + (carry ? 0 : 120000 + 40000), 1470000);
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/*
 * The cap's room is of the payout before the bonuses, which the cap does not hold: a cap
 * of 5,000.00 carried forward and a bonus of 1,000.00 at 3,000.00 of measure. February,
 * 120,000 carried in, a line of 310,000: the schedule pays 310,000 + the bonus 100,000;
 * room 500,000 - 310,000 = 190,000, so the 120,000 is released: 530,000.
 * A payout below 0 (a negative line of -100,000) leaves more room than the cap:
 * 500,000 + 100,000 = 600,000; 550,000 carried in is all released (paid
 * -100,000 + 550,000 = 450,000 = min(A + K, cap)); 700,000 carried in releases 600,000
 * (paid the cap, 500,000) and carries 100,000.
 * A quarterly cap in a monthly run: not due in January (its carry passes unchanged, no
 * lines); due in March over the quarter: 100,000 + 150,000 = 250,000 leaves room 250,000,
 * releasing all of the 77 carried in: 250,077.
 */
static void test_cap_carry_cases(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-12-31",
                     ", \"cap\": {\"amount\": 5000, \"carry_forward\": true}, \"bonuses\": "
                     "[{\"at\": 3000, \"amount\": 1000}]",
                     ""),
             2024, SPI_CPERIOD_MONTH, 1);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 2, 10), A, P1, 310000, 1, 0);
    int64_t in[6] = { 0, 120000, 0, 0, 0, 0 };
    spi_crun o = run_both(&e, 1, in);
    assert_int_equal(o.lines[0].earned, 410000);
    assert_int_equal(o.caps[0].room, 190000);
    assert_int_equal(o.caps[0].released, 120000);
    assert_int_equal(o.totals[0], 530000);
    assert_int_equal(o.carry[1], 0);
    spi_crun_free(ctx, &o);

    e.src.f[0].amount = -100000;
    in[1] = 550000;
    o = run_both(&e, 1, in);
    assert_int_equal(o.caps[0].room, 600000);
    assert_int_equal(o.caps[0].excess, 0);
    assert_int_equal(o.caps[0].released, 550000);
    assert_int_equal(o.totals[0], 450000);
    assert_int_equal(o.carry[1], 0);
    spi_crun_free(ctx, &o);
    in[1] = 700000;
    o = run_both(&e, 1, in);
    assert_int_equal(o.caps[0].released, 600000);
    assert_int_equal(o.totals[0], 500000);
    assert_int_equal(o.carry[1], 100000);
    spi_crun_free(ctx, &o);
    env_free(&e);

    env_init(&e, ctx,
             plan_cd(ctx, "quarter", "2024-01-01", "2024-12-31",
                     ", \"cap\": {\"amount\": 5000, \"carry_forward\": true}", ""),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1, 100000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 3, 10), A, P1, 150000, 1, 0);
    int64_t q[6] = { 0, 77, 0, 5, 0, 0 };
    o = run_both(&e, 0, q);
    assert_false(o.due[0]);
    assert_memory_equal(o.carry, q, sizeof q);
    assert_int_equal(o.nlines, 0);
    assert_int_equal(o.caps[0].room, 0);
    spi_crun_free(ctx, &o);
    o = run_both(&e, 2, q);
    assert_true(o.due[0]);
    assert_int_equal(o.caps[0].room, 250000);
    assert_int_equal(o.totals[0], 250077);
    assert_int_equal(o.totals[1], 5); /* B: nothing earned, 5 released */
    assert_int_equal(o.carry[1], 0);
    assert_int_equal(o.carry[3], 0);
    assert_int_equal(o.statements[0].nlines, 3); /* January's line, March's, the release */
    check_settle_line(&o.lines[2], SPI_CLINE_CAP_RELEASE, 0, spt_day(2024, 3, 31), 77, 500000,
                      77);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* Earnings of 4.1 (Siebel, 2002, a draw of 2,000.00 a month), one line a month. */
static const int64_t earn_41[6] = { 275000, 300000, 150000, 237500, 300000, 275000 };

/*
 * 4.1, recoverable: paid max(E, D), the top-up added to the balance, recovered only from
 * earnings above the draw:
 *   Jan 275,000, Feb 300,000: above the draw, nothing owed: paid as earned.
 *   Mar 150,000: top-up 200,000 - 150,000 = 50,000, paid 200,000, owed 50,000.
 *   Apr 237,500: recovered min(50,000, 37,500) = 37,500, paid 200,000, owed 12,500.
 *   May 300,000: recovered min(12,500, 100,000) = 12,500, paid 287,500, owed 0.
 *   Jun 275,000: paid 275,000. Paid 1,537,500 = earned; top-ups 50,000 = recovered.
 * Rep B earns nothing: topped up 200,000 a month, owing 200,000 more after each.
 * 4.2, non-recoverable on the same months: March topped up 50,000, April not reduced:
 * 275,000 + 300,000 + 200,000 + 237,500 + 300,000 + 275,000 = 1,587,500, nothing owed.
 */
static void test_ex_4_1_4_2_draws(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const int64_t topup[6] = { 0, 0, 50000, 0, 0, 0 },
                         recovered[6] = { 0, 0, 0, 37500, 12500, 0 },
                         owed[6] = { 0, 0, 50000, 12500, 0, 0 },
                         total[2][6] = { { 275000, 300000, 200000, 237500, 300000, 275000 },
                                         { 275000, 300000, 200000, 200000, 287500, 275000 } };
    static const int32_t last[6][2] = { { 1, 31 }, { 2, 28 }, { 3, 31 },
                                        { 4, 30 }, { 5, 31 }, { 6, 30 } };
    for (int rec = 0; rec < 2; rec++) {
        env e;
        env_init(&e, ctx,
                 plan_cd(ctx, "month", "2002-01-01", "2002-12-31", "",
                         rec ? ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, "
                               "\"period\": \"month\"}"
                             : ", \"draw\": {\"kind\": \"non_recoverable\", \"amount\": 2000, "
                               "\"period\": \"month\"}"),
                 2002, SPI_CPERIOD_MONTH, 0);
        for (int m = 0; m < 6; m++)
            add(&e.src, SP_FACT_ORDER_LINES, 1 + (uint64_t)m, 0, spt_day(2002, m + 1, 15), A,
                P1, earn_41[m], 1, 0);
        int64_t in[3 * 2] = { 0 }, sum = 0;
        for (uint32_t m = 0; m < 6; m++) {
            spi_crun o = run_both(&e, m, in);
            int32_t day = spt_day(2002, last[m][0], last[m][1]);
            const spi_cdraw_out *d = &o.draws[0];
            assert_int_equal(d->earned, earn_41[m]);
            assert_int_equal(d->paid, topup[m]);
            assert_int_equal(d->recovered, rec ? recovered[m] : 0);
            assert_int_equal(d->forgiven, 0);
            assert_int_equal(d->balance, rec ? owed[m] : 0);
            assert_int_equal(o.carry[SPI_CCARRY_DRAW], rec ? owed[m] : 0);
            assert_int_equal(o.statements[0].total, total[rec][m]);
            assert_int_equal(o.totals[0], earn_41[m]); /* the component's earnings */
            const spi_cstatement *st = &o.statements[0];
            const spi_cline *l = &o.lines[st->first];
            if (topup[m] > 0) {
                assert_int_equal(st->nlines, 2);
                check_settle_line(&l[1], SPI_CLINE_DRAW, SPI_CLINE_NO_COMPONENT, day,
                                  earn_41[m], 200000, topup[m]);
            } else if (rec && recovered[m] > 0) {
                assert_int_equal(st->nlines, 2);
                check_settle_line(&l[1], SPI_CLINE_DRAW_RECOVERY, SPI_CLINE_NO_COMPONENT, day,
                                  owed[m - 1], 200000, -recovered[m]);
            } else {
                assert_int_equal(st->nlines, 1);
            }
            /* B: E = 0, topped up to the draw every month. */
            assert_int_equal(o.draws[1].paid, 200000);
            assert_int_equal(o.statements[1].total, 200000);
            assert_int_equal(o.draws[1].balance, rec ? 200000 * (int64_t)(m + 1) : 0);
            check_settle_line(&o.lines[o.statements[1].first], SPI_CLINE_DRAW,
                              SPI_CLINE_NO_COMPONENT, day, 0, 200000, 200000);
            sum += o.statements[0].total;
            memcpy(in, o.carry, sizeof in);
            spi_crun_free(ctx, &o);
        }
        assert_int_equal(sum, rec ? 1537500 : 1587500);
        env_free(&e);
    }

    /* 4.2 published (QuotaPath): a draw of 5,000.00, 3,200.00 earned: top-up 180,000, paid
     * 500,000, nothing owed; the recoverable variant owes the 180,000. */
    for (int rec = 0; rec < 2; rec++) {
        env e;
        env_init(&e, ctx,
                 plan_cd(ctx, "month", "2024-01-01", "2024-12-31", "",
                         rec ? ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 5000, "
                               "\"period\": \"month\"}"
                             : ", \"draw\": {\"kind\": \"non_recoverable\", \"amount\": 5000, "
                               "\"period\": \"month\"}"),
                 2024, SPI_CPERIOD_MONTH, 0);
        add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 15), A, P1, 320000, 1, 0);
        spi_crun o = run_both(&e, 0, NULL);
        assert_int_equal(o.draws[0].paid, 180000);
        assert_int_equal(o.statements[0].total, 500000);
        assert_int_equal(o.carry[SPI_CCARRY_DRAW], rec ? 180000 : 0);
        spi_crun_free(ctx, &o);
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/*
 * 4.3: a recoverable draw of 2,000.00 a month, January to June 2024 (the version's range),
 * the balance forgiven at the close of the period holding 2024-06-30:
 *   Jan 120,000: top-up 80,000, owed 80,000.     Feb 180,000: top-up 20,000, owed 100,000.
 *   Mar 260,000: recovered 60,000, owed 40,000.  Apr 190,000: top-up 10,000, owed 50,000.
 *   May 230,000: recovered 30,000, owed 20,000.
 *   Jun 150,000: top-up 50,000, owed 70,000, then forgiven: 70,000 (a line that pays
 *   nothing), owed 0. Paid 200,000 every month, 1,200,000 = earned 1,130,000 + 70,000.
 * July is outside the version: nothing is due, no draw.
 */
static void test_ex_4_3_forgiven(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const int64_t earned[6] = { 120000, 180000, 260000, 190000, 230000, 150000 },
                         topup[6] = { 80000, 20000, 0, 10000, 0, 50000 },
                         recovered[6] = { 0, 0, 60000, 0, 30000, 0 },
                         owed[6] = { 80000, 100000, 40000, 50000, 20000, 0 };
    env e;
    env_init(&e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-06-30", "",
                     ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, \"period\": "
                     "\"month\", \"forgive_on\": \"2024-06-30\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.npayees = 1;
    for (int m = 0; m < 6; m++)
        add(&e.src, SP_FACT_ORDER_LINES, 1 + (uint64_t)m, 0, spt_day(2024, m + 1, 20), A, P1,
            earned[m], 1, 0);
    int64_t in[2] = { 0, 0 }, sum = 0, forgiven = 0;
    for (uint32_t m = 0; m < 6; m++) {
        spi_crun o = run_both(&e, m, in);
        assert_int_equal(o.draws[0].paid, topup[m]);
        assert_int_equal(o.draws[0].recovered, recovered[m]);
        assert_int_equal(o.draws[0].forgiven, m == 5 ? 70000 : 0);
        assert_int_equal(o.draws[0].balance, owed[m]);
        assert_int_equal(o.carry[SPI_CCARRY_DRAW], owed[m]);
        assert_int_equal(o.statements[0].total, 200000);
        sum += o.statements[0].total;
        forgiven += o.draws[0].forgiven;
        if (m == 5) {
            int32_t day = spt_day(2024, 6, 30);
            assert_int_equal(o.nlines, 3);
            check_settle_line(&o.lines[1], SPI_CLINE_DRAW, SPI_CLINE_NO_COMPONENT, day, 150000,
                              200000, 50000);
            check_settle_line(&o.lines[2], SPI_CLINE_DRAW_FORGIVEN, SPI_CLINE_NO_COMPONENT, day,
                              70000, 200000, 0);
        }
        memcpy(in, o.carry, sizeof in);
        spi_crun_free(ctx, &o);
    }
    assert_int_equal(sum, 1200000);
    assert_int_equal(sum - 1130000, forgiven);
    spi_crun o = run_both(&e, 6, in);
    assert_false(o.due[0]);
    assert_int_equal(o.nlines, 0);
    assert_int_equal(o.draws[0].paid, 0);
    assert_int_equal(o.carry[SPI_CCARRY_DRAW], 0);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* Half-even division by d > 0 (the plans' default rounding), for the model below. */
static int64_t div_half_even(int64_t n, int64_t d)
{
    int64_t q = n / d, r = n % d;
    if (r < 0) {
        q--;
        r += d;
    }
    if (2 * r > d || (2 * r == d && (q & 1) != 0))
        q++;
    return q;
}

#define SETTLE_PLAN                                                                           \
    "{\"plan\": \"S\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": \"USD\", "  \
    "\"components\": [{\"id\": \"m\", \"measure\": {\"kind\": \"amount\"}, \"period\": "     \
    "\"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": \"7%%\"}]}, "      \
    "\"cap\": {\"amount\": 40, \"carry_forward\": true}}, {\"id\": \"q\", \"measure\": "     \
    "{\"kind\": \"amount\"}, \"period\": \"quarter\", \"schedule\": {\"kind\": \"flat\", "   \
    "\"tiers\": [{\"rate\": \"2%%\"}]}}], \"draw\": {\"kind\": \"recoverable\", \"amount\": " \
    "30, \"period\": \"month\"%s}}"

/*
 * Random months chained through the carry state against a second implementation of the
 * settlement: a monthly component at 7 % capped at 40.00 (carried forward), a quarterly
 * one at 2 % (due in March), a recoverable draw of 30.00 a month, forgiven in February,
 * March or never; random facts of January to March (negative lines too) in random
 * batches, and a random carry-in. Per payee and month, from the facts alone:
 * A = R(7 % x M), paid under the cap min(A, 4,000) plus released = min(K, 4,000 -
 * min(A, 4,000)), carried K - released + max(A - 4,000, 0); E = that + R(2 % x the
 * quarter's M) in March; the draw as in 4.1 and 4.3.
 */
static void test_settle_model(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 20240930 };
    static const char *const forgive[3] = { "", ", \"forgive_on\": \"2024-02-10\"",
                                            ", \"forgive_on\": \"2024-03-31\"" };
    unsigned iters = spt_iterations(60);
    for (unsigned it = 0; it < iters; it++) {
        char json[2048];
        int fg = (int)(it % 3);
        snprintf(json, sizeof json, SETTLE_PLAN, forgive[fg]);
        env e;
        env_init(&e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 0);
        int64_t month[3][3] = { { 0 } }, quarter[3] = { 0 };
        size_t n = (size_t)spt_rng_range(&r, 0, 60);
        for (size_t i = 0; i < n; i++) {
            uint32_t rep = (uint32_t)spt_rng_range(&r, A, C);
            int m = (int)spt_rng_range(&r, 0, 2);
            int64_t amount = spt_rng_range(&r, -20000, 60000);
            add(&e.src, SP_FACT_ORDER_LINES, 1 + i, 0, spt_day(2024, m + 1, 1) +
                (int32_t)spt_rng_range(&r, 0, 27), rep, P1, amount, 1, 0);
            month[m][rep] += amount;
            quarter[rep] += amount;
        }
        e.src.seed = spt_rng_next(&r) | 1;
        e.src.max_batch = (size_t)spt_rng_range(&r, 1, 16);
        int64_t in[3 * 3];
        for (size_t p = 0; p < 3; p++) {
            in[p * 3 + SPI_CCARRY_DRAW] = spt_rng_chance(&r, 50) ? spt_rng_range(&r, 0, 5000) : 0;
            in[p * 3 + SPI_CCARRY_CAP(0)] = spt_rng_chance(&r, 50) ? spt_rng_range(&r, 0, 6000) : 0;
            in[p * 3 + SPI_CCARRY_CAP(1)] = 0;
        }
        for (uint32_t m = 0; m < 3; m++) {
            spi_crun o = run_both(&e, m, in);
            for (size_t p = 0; p < 3; p++) {
                int64_t a = div_half_even(month[m][p] * 7, 100), k = in[p * 3 + 1],
                        b = in[p * 3 + SPI_CCARRY_DRAW];
                int64_t under = a < 4000 ? a : 4000, room = 4000 - under;
                int64_t rel = k < room ? k : room, tm = under + rel;
                int64_t tq = m == 2 ? div_half_even(quarter[p] * 2, 100) : 0, e_ = tm + tq;
                int64_t top = e_ < 3000 ? 3000 - e_ : 0, rec = 0, fgv = 0;
                b += top;
                if (e_ > 3000 && b > 0)
                    rec = e_ - 3000 < b ? e_ - 3000 : b;
                b -= rec;
                if ((fg == 1 && m == 1) || (fg == 2 && m == 2)) {
                    fgv = b;
                    b = 0;
                }
                assert_int_equal(o.totals[p * 2], tm);
                assert_int_equal(o.totals[p * 2 + 1], tq);
                assert_int_equal(o.caps[p * 2].released, rel);
                assert_int_equal(o.carry[p * 3 + 1], k - rel + (a > 4000 ? a - 4000 : 0));
                assert_int_equal(o.carry[p * 3 + 2], 0);
                assert_int_equal(o.draws[p].earned, e_);
                assert_int_equal(o.draws[p].paid, top);
                assert_int_equal(o.draws[p].recovered, rec);
                assert_int_equal(o.draws[p].forgiven, fgv);
                assert_int_equal(o.carry[p * 3 + SPI_CCARRY_DRAW], b);
                assert_int_equal(o.statements[p].total, e_ + top - rec);
            }
            memcpy(in, o.carry, sizeof in);
            spi_crun_free(ctx, &o);
        }
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/* The carry-in and the draw's period checked before anything is read; overflow named. */
static void test_settle_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-12-31",
                     ", \"cap\": {\"amount\": 5000, \"carry_forward\": true}",
                     ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, \"period\": "
                     "\"month\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1, 620000, 1, 0);
    int64_t in[6] = { -1, 0, 0, 0, 0, 0 };
    e.in.carry_in = in;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"A\": carry-in: the draw balance -1 is negative");
    in[0] = 0;
    in[5] = -1;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"C\": components[0] (\"c\"): carry-in: the cap excess -1 "
               "is negative");
    /* Overflow: the cap's carry (INT64_MAX carried in, none released, 120,000 more); the
     * draw's balance (INT64_MAX - 10 owed, a top-up of 200,000 for B, who earns nothing). */
    in[5] = 0;
    in[1] = INT64_MAX;
    for (int lines = 0; lines < 2; lines++) {
        e.in.want_lines = lines == 1;
        expect_run(&e, SP_EOVERFLOW,
                   "commission run: payee \"A\": components[0] (\"c\"): the cap's carried excess "
                   "overflows int64_t");
    }
    in[1] = 0;
    in[2] = INT64_MAX - 10;
    for (int lines = 0; lines < 2; lines++) {
        e.in.want_lines = lines == 1;
        expect_run(&e, SP_EOVERFLOW, "commission run: payee \"B\": the draw overflows int64_t");
    }
    env_free(&e);

    /* A balance without a recoverable draw; a cap excess without carry_forward, or no cap. */
    env_init(&e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-12-31", ", \"cap\": {\"amount\": 5000}",
                     ", \"draw\": {\"kind\": \"non_recoverable\", \"amount\": 2000, \"period\": "
                     "\"month\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    int64_t in2[6] = { 0, 0, 5, 0, 0, 0 };
    e.in.carry_in = in2;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"B\": carry-in: a draw balance of 5, but the plan has no "
               "recoverable draw");
    in2[2] = 0;
    in2[5] = 7;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"C\": components[0] (\"c\"): carry-in: a cap excess of "
               "7, but the component carries none forward (cap.carry_forward is false)");
    /* A top-up beyond int64_t: E far below 0 (a line of -9,223,372,036,854,775,000). */
    in2[5] = 0;
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1, -9223372036854775000,
        1, 0);
    for (int lines = 0; lines < 2; lines++) {
        e.in.want_lines = lines == 1;
        expect_run(&e, SP_EOVERFLOW, "commission run: payee \"A\": the draw overflows int64_t");
    }
    env_free(&e);
    env_init(&e, ctx, plan_cd(ctx, "month", "2024-01-01", "2024-12-31", "", ""), 2024,
             SPI_CPERIOD_MONTH, 0);
    e.in.carry_in = in2;
    in2[5] = 7;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"C\": components[0] (\"c\"): carry-in: a cap excess of "
               "7, but the component carries none forward (no cap)");
    env_free(&e);

    /* The draw's period is the run's. */
    env_init(&e, ctx,
             plan_cd(ctx, "quarter", "2024-01-01", "2024-12-31", "",
                     ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, \"period\": "
                     "\"month\"}"),
             2024, SPI_CPERIOD_QUARTER, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: draw.period: a month draw in a quarter run (run it per month)");
    env_free(&e);
    env_init(&e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-12-31", "",
                     ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, \"period\": "
                     "\"quarter\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: draw.period: a quarter draw in a month run (a draw is settled "
               "in a run of its own period, on the earnings of the whole period; draws over "
               "several runs come later)");
    env_free(&e);

    /* The payout before the cap beyond int64_t (1000 % of 10^18): the cap would bring it
     * back, but its excess cannot be held. */
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"1000%\"}]}",
                   ", \"cap\": {\"amount\": 5000}"),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1, 1000000000000000000, 1,
        0);
    for (int lines = 0; lines < 2; lines++) {
        e.in.want_lines = lines == 1;
        expect_run(&e, SP_EOVERFLOW,
                   "commission run: payee \"A\": components[0] (\"c\"): the payout before the "
                   "cap overflows int64_t");
    }
    env_free(&e);

    /* A statement whose total leaves int64_t with the release: on the lines path (the
     * totals path has no statement), and, with a draw, on both (E is the total). */
    for (int draw = 0; draw < 2; draw++) {
        char json[2048];
        snprintf(json, sizeof json,
                 "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": "
                 "\"USD\", \"components\": [{\"id\": \"big\", \"measure\": {\"kind\": "
                 "\"amount\"}, \"period\": \"month\", \"schedule\": {\"kind\": \"flat\", "
                 "\"tiers\": [{\"rate\": \"100%%\"}]}}, {\"id\": \"c\", \"measure\": "
                 "{\"kind\": \"amount\", \"filter\": {\"product\": [\"P2\"]}}, \"period\": "
                 "\"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": "
                 "\"100%%\"}]}, \"cap\": {\"amount\": 5000, \"carry_forward\": true}}]%s}",
                 draw ? ", \"draw\": {\"kind\": \"non_recoverable\", \"amount\": 1, "
                        "\"period\": \"month\"}"
                      : "");
        env_init(&e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 0);
        add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1,
            INT64_MAX - 100000, 1, 0);
        int64_t in3[9] = { 0, 0, 300000, 0, 0, 0, 0, 0, 0 };
        e.in.carry_in = in3;
        for (int lines = 1 - draw; lines < 2; lines++) {
            e.in.want_lines = lines == 1;
            expect_run(&e, SP_EOVERFLOW, "commission run: payee \"A\": the total overflows");
        }
        e.in.want_lines = false;
        if (!draw) {
            spi_crun o = run_ok(&e);
            assert_int_equal(o.totals[1], 300000);
            spi_crun_free(ctx, &o);
        }
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/* A fault loop over the settlement's allocations: a capped component carried forward and
 * a recoverable draw forgiven in June, with a carry-in, on both paths. */
static void test_settle_faults(void **state)
{
    (void)state;
    static fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    sp_ctx *ctx = spt_ctx_with(&f.alloc);
    env_init(&f.e, ctx,
             plan_cd(ctx, "month", "2024-01-01", "2024-12-31",
                     ", \"cap\": {\"amount\": 5000, \"carry_forward\": true}",
                     ", \"draw\": {\"kind\": \"recoverable\", \"amount\": 2000, \"period\": "
                     "\"month\", \"forgive_on\": \"2024-06-30\"}"),
             2024, SPI_CPERIOD_MONTH, 5);
    add(&f.e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 6, 3), A, P1, 150000, 1, 0);
    add(&f.e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 6, 4), B, P1, 700000, 1, 0);
    add(&f.e.src, SP_FACT_ORDER_LINES, 3, 0, spt_day(2024, 6, 5), C, P1, 250000, 1, 0);
    static const int64_t in[6] = { 20000, 1000, 5000, 0, 0, 0 };
    f.e.in.carry_in = in;
    size_t live = f.alloc.live_blocks;
    static const int errors[] = { SP_ENOMEM };
    for (int lines = 0; lines < 2; lines++) {
        f.e.in.want_lines = lines == 1;
        spt_fault_case fc = { "settle", run_fault, undo_fault, check_fault, live_fault,
                              errors, 1, &f };
        spt_injector inj = spt_alloc_injector(&f.alloc);
        assert_true(spt_fault_loop(&fc, &inj) >= 5);
    }
    assert_int_equal(f.alloc.live_blocks, live);
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
        cmocka_unit_test(test_ex_3_4_cap_carry), cmocka_unit_test(test_cap_carry_cases),
        cmocka_unit_test(test_ex_4_1_4_2_draws), cmocka_unit_test(test_ex_4_3_forgiven),
        cmocka_unit_test(test_settle_model),     cmocka_unit_test(test_settle_errors),
        cmocka_unit_test(test_settle_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
