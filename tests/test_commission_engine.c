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
    uint32_t kind; /* SP_FACT_ORDER_LINES, SP_FACT_PAYMENTS or SP_FACT_REFUNDS */
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
    bool line_ref;     /* order lines carry their ref (a deal) */
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
        if (q->kind != SP_FACT_ORDER_LINES || s->line_ref)
            b.ref = ref;
        if (q->kind == SP_FACT_PAYMENTS) /* id, ref, day, amount */
            b.product = NULL, b.quantity = NULL, b.cost = NULL;
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
    tsrc src, inv; /* the booking source; the invoice source (in.invoices when used) */
    sp_fact_source fs, fi;
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
    e->fi = source_of(&e->inv);
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
    e->src.batches = e->inv.batches = 0;
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
        int64_t sum = 0,
                ctot = o->draws != NULL ? o->draws[p].paid - o->draws[p].recovered : 0;
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

/* 6.3's split: fact 7 to payees 0, 1, 2 by 50 / 30 / 20 %. */
static const sp_dec shares_6_3[3] = { 500000000, 300000000, 200000000 };

static spi_split_table *split_6_3(sp_ctx *ctx)
{
    static const uint64_t ids[3] = { 7, 7, 7 };
    static const uint32_t who[3] = { 0, 1, 2 };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, ids, who, shares_6_3, 3, 3), SP_OK);
    return t;
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
    spi_split_table *t = split_6_3(ctx);
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
            assert_int_equal(l->share, shares_6_3[p]);
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

/* ---- the invoice and payment bases, the deals measure ---- */

/* A payment: id, the line it pays, its day, its amount (negative: a reversal). */
static void pay(tsrc *s, uint64_t id, uint64_t line, int32_t day, int64_t amount)
{
    add(s, SP_FACT_PAYMENTS, id, line, day, SP_NONE, SP_NONE, amount, 0, 0);
}

/* The line of payee p's statement at k. */
static const spi_cline *line_at(const spi_crun *o, size_t p, size_t k)
{
    assert_true(k < o->statements[p].nlines);
    return &o->lines[o->statements[p].first + k];
}

#define FLAT(rate) "{\"kind\": \"flat\", \"tiers\": [{\"rate\": \"" rate "\"}]}"

/*
 * 7.1 (ADempiere) on the invoice basis: an invoice line of 1,000.00 at 4 % earns 4,000; a
 * credit note of 200.00 against it (a refund of the invoice source) earns
 * R(P(80,000)) - R(P(100,000)) = 3,200 - 4,000 = -800: 3,200 in all, never (1,000 +
 * 200) x 4 % = 4,800. The booking component beside it reads the order line of the booking
 * source alone (500,000 x 1 % = 5,000), and the invoice component never sees it, though
 * it has the invoice line's id. The credit note as a negative invoice line of its own
 * subtracts the same: 100,000 - 20,000 = 80,000, 3,200. 7.2 (OCA #55) at 4 %: an invoice
 * line of 100.00 (400) refunded in full nets 0 (never 800).
 */
static void test_ex_7_invoice(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan_of(ctx, "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, "
                          "\"currency\": \"USD\", \"components\": [{\"id\": \"inv\", "
                          "\"measure\": {\"kind\": \"amount\", \"basis\": \"invoice\"}, "
                          "\"period\": \"month\", \"schedule\": " FLAT("4%") "}, {\"id\": "
                          "\"book\", \"measure\": {\"kind\": \"amount\"}, \"period\": "
                          "\"month\", \"schedule\": " FLAT("1%") "}]}"),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.invoices = &e.fi;
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 10), A, P1, 500000, 1, 0);
    add(&e.inv, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 15), A, P1, 100000, 1, 0);
    add(&e.inv, SP_FACT_REFUNDS, 2, 1, spt_day(2024, 1, 20), SP_NONE, P1, 20000, 0, 0);
    add(&e.inv, SP_FACT_ORDER_LINES, 3, 0, spt_day(2024, 1, 16), B, P1, 10000, 1, 0);
    add(&e.inv, SP_FACT_REFUNDS, 4, 3, spt_day(2024, 1, 17), SP_NONE, P1, 10000, 0, 0);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.totals[0], 3200); /* A, inv */
    assert_int_equal(o.totals[1], 5000); /* A, book */
    assert_int_equal(o.measure[0], 80000);
    assert_int_equal(o.measure[1], 500000);
    assert_int_equal(o.statements[0].nlines, 3);
    assert_int_equal(line_at(&o, 0, 0)->kind, SPI_CLINE_ORDER);
    assert_int_equal(line_at(&o, 0, 0)->earned, 4000);
    assert_int_equal(line_at(&o, 0, 0)->day, spt_day(2024, 1, 15));
    assert_int_equal(line_at(&o, 0, 1)->kind, SPI_CLINE_REFUND);
    assert_int_equal(line_at(&o, 0, 1)->fact, 2);
    assert_int_equal(line_at(&o, 0, 1)->base, -20000);
    assert_int_equal(line_at(&o, 0, 1)->earned, -800);
    assert_int_equal(line_at(&o, 0, 2)->component, 1);
    assert_int_equal(line_at(&o, 0, 2)->earned, 5000);
    assert_int_equal(o.totals[2], 0); /* B: 400 - 400 */
    assert_int_equal(line_at(&o, 1, 0)->earned, 400);
    assert_int_equal(line_at(&o, 1, 1)->earned, -400);
    assert_int_equal(o.report.lines_read, 3);
    assert_int_equal(o.report.refunds_read, 2);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    /* The totals path: the same sums. */
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_true(o.report.totals_path);
    assert_int_equal(o.totals[0], 3200);
    assert_int_equal(o.totals[1], 5000);
    assert_int_equal(o.totals[2], 0);
    spi_crun_free(ctx, &o);
    e.in.want_lines = true;
    /* The credit note as a negative invoice line. */
    e.inv.f[1].kind = SP_FACT_ORDER_LINES;
    e.inv.f[1].rep = A;
    e.inv.f[1].amount = -20000;
    o = run_ok(&e);
    assert_int_equal(o.measure[0], 80000);
    assert_int_equal(o.totals[0], 3200);
    assert_int_equal(line_at(&o, 0, 1)->kind, SPI_CLINE_ORDER);
    assert_int_equal(line_at(&o, 0, 1)->earned, -800);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * 7.2 (OCA #607): an invoice of 1,000.00 at 20 % fully reversed by a credit note nets 0,
 * on the invoice basis (+20,000 in January, the credit note -20,000 in January) and on
 * the payment basis, where the reversal returns the money paid: paid in full in January
 * (+20,000), the payment reversed in February (-100,000: -20,000). Never the -20,000 of
 * skipping the reversed invoice.
 */
static void test_ex_7_2_reversed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    for (int basis = 0; basis < 2; basis++) {
        char measure[128];
        snprintf(measure, sizeof measure, "{\"kind\": \"amount\", \"basis\": \"%s\"}",
                 basis == 0 ? "invoice" : "payment");
        env e;
        env_init(&e, ctx, plan1(ctx, "2024", "{}", measure, "month", FLAT("20%"), ""), 2024,
                 SPI_CPERIOD_MONTH, 0);
        e.in.invoices = &e.fi;
        add(&e.inv, SP_FACT_ORDER_LINES, 7, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
        if (basis == 0) {
            add(&e.inv, SP_FACT_REFUNDS, 8, 7, spt_day(2024, 1, 25), SP_NONE, P1, 100000, 0, 0);
            spi_crun o = run_ok(&e);
            assert_int_equal(o.statements[0].nlines, 2);
            assert_int_equal(line_at(&o, 0, 0)->earned, 20000);
            assert_int_equal(line_at(&o, 0, 1)->earned, -20000);
            assert_int_equal(o.statements[0].total, 0);
            spi_crun_free(ctx, &o);
        } else {
            pay(&e.inv, 71, 7, spt_day(2024, 1, 20), 100000);
            pay(&e.inv, 72, 7, spt_day(2024, 2, 3), -100000);
            spi_crun jan = run_ok(&e);
            e.in.index = 1;
            spi_crun feb = run_ok(&e);
            assert_int_equal(jan.statements[0].total, 20000);
            assert_int_equal(line_at(&jan, 0, 0)->kind, SPI_CLINE_PAYMENT);
            assert_int_equal(line_at(&jan, 0, 0)->fact, 71);
            assert_int_equal(feb.statements[0].nlines, 1);
            assert_int_equal(line_at(&feb, 0, 0)->fact, 72);
            assert_int_equal(line_at(&feb, 0, 0)->base, -100000);
            assert_int_equal(feb.statements[0].total, -20000);
            assert_int_equal(jan.statements[0].total + feb.statements[0].total, 0);
            assert_int_equal(feb.report.payments_read, 2);
            spi_crun_free(ctx, &jan);
            spi_crun_free(ctx, &feb);
        }
        env_free(&e);
    }
    sp_ctx_free(ctx);
}

/*
 * 8.1 (OCA), on the payment basis at 20 %: #104, an invoice line of 20,000.00 paid in two
 * payments of 10,000.00 (January, February): each month 1,000,000 x 20 % = 200,000
 * (400,000 in all); #480, a line of 1,000.00 paid 500.00: 50,000 x 20 % = 10,000. The
 * same facts as order lines of the booking source (no invoice source: payments are read
 * from it and reference its lines) give the same. #385 at 10 % on product P1 only: two
 * lines of 1,000.00 (P1, P2) and a down payment of 1,500.00, which the host prorates to
 * the lines by amount (3/4 of each: 75,000 and 75,000): 75,000 x 10 % = 7,500 (never
 * 150,000 x 10 % = 15,000).
 */
static void test_ex_8_1_payments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    for (int invoices = 0; invoices < 2; invoices++) {
        env e;
        env_init(&e, ctx,
                 plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"payment\"}",
                       "month", FLAT("20%"), ""),
                 2024, SPI_CPERIOD_MONTH, 0);
        tsrc *s = invoices ? &e.inv : &e.src;
        e.in.invoices = invoices ? &e.fi : NULL;
        add(s, SP_FACT_ORDER_LINES, 10, 0, spt_day(2024, 1, 5), A, P1, 2000000, 1, 0);
        add(s, SP_FACT_ORDER_LINES, 20, 0, spt_day(2024, 1, 6), B, P1, 100000, 1, 0);
        pay(s, 101, 10, spt_day(2024, 1, 20), 1000000);
        pay(s, 102, 10, spt_day(2024, 2, 20), 1000000);
        pay(s, 201, 20, spt_day(2024, 1, 25), 50000);
        spi_crun jan = run_ok(&e);
        assert_int_equal(jan.totals[0], 200000);
        assert_int_equal(jan.measure[0], 1000000);
        assert_int_equal(jan.totals[1], 10000);
        assert_int_equal(line_at(&jan, 0, 0)->rate, 200000000);
        check_sums(&jan);
        e.in.index = 1;
        spi_crun feb = run_ok(&e);
        assert_int_equal(feb.totals[0], 200000);
        assert_int_equal(feb.totals[1], 0);
        assert_int_equal(feb.statements[0].nlines, 1);
        assert_int_equal(line_at(&feb, 0, 0)->fact, 102);
        assert_int_equal(line_at(&feb, 0, 0)->day, spt_day(2024, 2, 20));
        e.in.want_lines = false;
        spi_crun tot = run_ok(&e);
        assert_true(tot.report.totals_path);
        assert_int_equal(tot.totals[0], 200000);
        spi_crun_free(ctx, &tot);
        spi_crun_free(ctx, &jan);
        spi_crun_free(ctx, &feb);
        env_free(&e);
    }
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}",
                   "{\"kind\": \"amount\", \"basis\": \"payment\", \"filter\": {\"product\": "
                   "[\"P1\"]}}",
                   "month", FLAT("10%"), ""),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.invoices = &e.fi;
    add(&e.inv, SP_FACT_ORDER_LINES, 30, 0, spt_day(2024, 1, 7), C, P1, 100000, 1, 0);
    add(&e.inv, SP_FACT_ORDER_LINES, 31, 0, spt_day(2024, 1, 7), C, P2, 100000, 1, 0);
    pay(&e.inv, 301, 30, spt_day(2024, 1, 8), 75000);
    pay(&e.inv, 302, 31, spt_day(2024, 1, 8), 75000);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.totals[2], 7500);
    assert_int_equal(o.statements[2].nlines, 1);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* 8.2's plan: L1 (product P1) at 10 %, L2 (P2) at 4 %, monthly, on the payment basis. */
static spi_cplan plan_8_2(sp_ctx *ctx, const char *policy)
{
    char json[2048];
    snprintf(json, sizeof json,
             "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": "
             "\"USD\", \"rounding\": {\"policy\": \"%s\"}, \"components\": [{\"id\": \"l1\", "
             "\"measure\": {\"kind\": \"amount\", \"basis\": \"payment\", \"filter\": "
             "{\"product\": [\"P1\"]}}, \"period\": \"month\", \"schedule\": " FLAT("10%%")
             "}, {\"id\": \"l2\", \"measure\": {\"kind\": \"amount\", \"basis\": "
             "\"payment\", \"filter\": {\"product\": [\"P2\"]}}, \"period\": \"month\", "
             "\"schedule\": " FLAT("4%%") "}]}",
             policy);
    return plan_of(ctx, json);
}

/*
 * 8.2: invoice INV-7 (2024-03-01), L1 123.45 at 10 %, L2 876.55 at 4 %, paid 333.33,
 * 333.33, 333.34 (03-10, 04-10, 05-10), each prorated to the lines by the host (the table
 * of the example: L1 4,115 each time, L2 29,218, 29,218, 29,219). Per line, a flat rate
 * without modifiers: each line's earning is computed once, L1 R(1,234.5) = 1,234 and L2
 * R(3,506.2) = 3,506 (half even), and a payment earns R(earning x paid to date / amount)
 * less the same before it: L1 R(411.33) = 411, R(822.67) = 823 (412), 1,234 (411); L2
 * R(1,168.65) = 1,169, R(2,337.31) = 2,337 (1,168), 3,506 (1,169): 1,580 a month, 4,740
 * in all (rounding each part x rate drifts to 4,743). A full refund after settlement (the
 * money returned on 06-15: -12,345 and -87,655) reverses -1,234 and -3,506: 0 net.
 * Per total, each period rounds its own paid measure once: March pays R(411.5) = 412 and
 * R(1,168.72) = 1,169.
 */
static void test_ex_8_2_payments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx, plan_8_2(ctx, "per_line"), 2024, SPI_CPERIOD_MONTH, 2);
    e.in.invoices = &e.fi;
    add(&e.inv, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 3, 1), A, P1, 12345, 1, 0);
    add(&e.inv, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 3, 1), A, P2, 87655, 1, 0);
    pay(&e.inv, 11, 1, spt_day(2024, 3, 10), 4115);
    pay(&e.inv, 12, 2, spt_day(2024, 3, 10), 29218);
    pay(&e.inv, 21, 1, spt_day(2024, 4, 10), 4115);
    pay(&e.inv, 22, 2, spt_day(2024, 4, 10), 29218);
    pay(&e.inv, 31, 1, spt_day(2024, 5, 10), 4115);
    pay(&e.inv, 32, 2, spt_day(2024, 5, 10), 29219);
    pay(&e.inv, 41, 1, spt_day(2024, 6, 15), -12345);
    pay(&e.inv, 42, 2, spt_day(2024, 6, 15), -87655);
    static const int64_t l1[4] = { 411, 412, 411, -1234 }, l2[4] = { 1169, 1168, 1169, -3506 };
    static const int64_t base2[4] = { 29218, 29218, 29219, -87655 };
    int64_t sum = 0;
    for (uint32_t m = 0; m < 4; m++) {
        e.in.index = 2 + m;
        spi_crun o = run_ok(&e);
        assert_int_equal(o.statements[0].nlines, 2);
        const spi_cline *a = line_at(&o, 0, 0), *b = line_at(&o, 0, 1);
        assert_int_equal(a->fact, 11 + 10 * m);
        assert_int_equal(a->kind, SPI_CLINE_PAYMENT);
        assert_int_equal(a->component, 0);
        assert_int_equal(a->base, m < 3 ? 4115 : -12345);
        assert_int_equal(a->earned, l1[m]);
        assert_int_equal(a->rate, 100000000);
        assert_int_equal(b->fact, 12 + 10 * m);
        assert_int_equal(b->component, 1);
        assert_int_equal(b->base, base2[m]);
        assert_int_equal(b->earned, l2[m]);
        assert_int_equal(o.statements[0].total, m < 3 ? 1580 : -4740);
        check_sums(&o);
        sum += o.statements[0].total;
        spi_crun_free(ctx, &o);
    }
    assert_int_equal(sum, 0);
    env_free(&e);

    tsrc facts = e.inv;
    env_init(&e, ctx, plan_8_2(ctx, "per_total"), 2024, SPI_CPERIOD_MONTH, 2);
    e.in.invoices = &e.fi;
    e.inv = facts;
    spi_crun o = run_ok(&e);
    assert_int_equal(o.totals[0], 412);
    assert_int_equal(o.totals[1], 1169);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * A split line paid in parts (6.3's line: 1.01 at 5 %, split 50/30/20, per line): paid
 * 0.33, 0.33, 0.35 (03-10, 03-11, 03-12). The credited amount to date is the paid amount,
 * allocated by the shares: 33 -> 16.5 / 9.9 / 6.6 -> 16 / 10 / 7 (the two units left to
 * .9 and .6); 66 -> 33 / 19.8 / 13.2 -> 33 / 20 / 13; 101 -> 51 / 30 / 20; so the
 * payments credit 16 / 10 / 7, 17 / 10 / 6 and 18 / 10 / 7. The line's earning R(5.05) =
 * 5, to date R(5 x 33 / 101) = R(1.63) = 2 -> 1 / 0.6 / 0.4 -> 1 / 1 / 0; R(3.27) = 3 ->
 * 1.5 / 0.9 / 0.6 -> 1 / 1 / 1; 5 -> 2.5 / 1.5 / 1 -> 3 / 1 / 1 (the tie to the first
 * entry): the payments earn 1 / 1 / 0, 0 / 0 / 1 and 2 / 0 / 0, in all 3 / 1 / 1, 6.3's
 * per-line split. The money returned on 03-20 (-101) takes back 51 / 30 / 20 and 3 / 1 / 1.
 */
static void test_paid_split(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_split_table *t = split_6_3(ctx);
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{\"policy\": \"per_line\"}",
                   "{\"kind\": \"amount\", \"basis\": \"payment\"}", "month", FLAT("5%"),
                   ", \"crediting\": {\"splits\": \"facts\"}"),
             2024, SPI_CPERIOD_MONTH, 2);
    e.in.splits = t;
    add(&e.src, SP_FACT_ORDER_LINES, 7, 0, spt_day(2024, 2, 20), A, P1, 101, 1, 0);
    pay(&e.src, 51, 7, spt_day(2024, 3, 10), 33);
    pay(&e.src, 52, 7, spt_day(2024, 3, 11), 33);
    pay(&e.src, 53, 7, spt_day(2024, 3, 12), 35);
    spi_crun o = run_ok(&e);
    static const int64_t base[3][3] = { { 16, 17, 18 }, { 10, 10, 10 }, { 7, 6, 7 } },
                         earned[3][3] = { { 1, 0, 2 }, { 1, 0, 0 }, { 0, 1, 0 } },
                         total[3] = { 3, 1, 1 };
    for (size_t p = 0; p < 3; p++) {
        assert_int_equal(o.statements[p].nlines, 3);
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(line_at(&o, p, k)->fact, 51 + k);
            assert_int_equal(line_at(&o, p, k)->share, shares_6_3[p]);
            assert_int_equal(line_at(&o, p, k)->base, base[p][k]);
            assert_int_equal(line_at(&o, p, k)->earned, earned[p][k]);
        }
        assert_int_equal(o.statements[p].total, total[p]);
    }
    check_sums(&o);
    spi_crun_free(ctx, &o);
    pay(&e.src, 54, 7, spt_day(2024, 3, 20), -101);
    o = run_ok(&e);
    for (size_t p = 0; p < 3; p++) {
        assert_int_equal(line_at(&o, p, 3)->base, -(base[p][0] + base[p][1] + base[p][2]));
        assert_int_equal(line_at(&o, p, 3)->earned, -total[p]);
        assert_int_equal(o.statements[p].total, 0);
        assert_int_equal(o.measure[p], 0);
    }
    spi_crun_free(ctx, &o);
    env_free(&e);
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

/*
 * A SPIFF on the payment basis is paid with its line: a line of 400.00 with 4 units of
 * P9 (50.00 per unit: 20,000), paid 100.00 then 300.00, credits R(20,000 x 1/4) = 5,000
 * then 15,000 of it (and R(4 x 1/4) = 1, then 3 units), on lines of their own after each
 * payment's.
 */
static void test_paid_spiff(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"payment\"}", "month",
                   FLAT("2%"), ", \"spiffs\": [{\"product\": \"P9\", \"per_unit\": 50}]"),
             2024, SPI_CPERIOD_MONTH, 1);
    add(&e.src, SP_FACT_ORDER_LINES, 5, 0, spt_day(2024, 2, 1), B, P9, 40000, 4, 0);
    pay(&e.src, 61, 5, spt_day(2024, 2, 2), 10000);
    pay(&e.src, 62, 5, spt_day(2024, 2, 3), 30000);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.statements[1].nlines, 4);
    static const uint8_t kind[4] = { SPI_CLINE_PAYMENT, SPI_CLINE_PAYMENT_SPIFF,
                                     SPI_CLINE_PAYMENT, SPI_CLINE_PAYMENT_SPIFF };
    static const int64_t base[4] = { 10000, 1, 30000, 3 }, earned[4] = { 200, 5000, 600, 15000 };
    for (size_t k = 0; k < 4; k++) {
        assert_int_equal(line_at(&o, 1, k)->kind, kind[k]);
        assert_int_equal(line_at(&o, 1, k)->base, base[k]);
        assert_int_equal(line_at(&o, 1, k)->earned, earned[k]);
    }
    assert_int_equal(line_at(&o, 1, 1)->rate, 5000);
    assert_int_equal(o.statements[1].total, 20800);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_true(o.report.totals_path);
    assert_int_equal(o.totals[1], 20800);
    spi_crun_free(ctx, &o);
    env_free(&e);

    /* Measured per line, each payment is measured on its own: 1.1's tiers, a line of
     * 1,500.00 paid 1,000.00 then 500.00 earns 100,000 x 1 % = 1,000 and 50,000 x 1 % =
     * 500 (the line alone would earn 1,000 + 1,000 = 2,000). */
    char sched[512];
    snprintf(sched, sizeof sched, MARGINAL_11, "marginal", ", \"accumulate\": \"line\"");
    env_init(&e, ctx,
             plan1(ctx, "2015", "{}", "{\"kind\": \"amount\", \"basis\": \"payment\"}",
                   "quarter", sched, ""),
             2015, SPI_CPERIOD_QUARTER, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 3, 0, spt_day(2015, 1, 15), A, P1, 150000, 1, 0);
    pay(&e.src, 31, 3, spt_day(2015, 2, 1), 100000);
    pay(&e.src, 32, 3, spt_day(2015, 3, 1), 50000);
    o = run_ok(&e);
    assert_int_equal(line_at(&o, 0, 0)->earned, 1000);
    assert_int_equal(line_at(&o, 0, 1)->earned, 500);
    assert_int_equal(o.statements[0].total, 1500);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * The deals measure at 50.00 per deal (January): lines carry their deal in `ref`. A: deal
 * 100 (lines 2 on 01-02 and 1 on 01-03: the first in the statement's order counts, line 1
 * has base 0), 200 (line 3, refunded in full on 01-09: a refund never uncounts), 300
 * (line 4, split A / B 50 %: a deal counts for each payee with a share of it) and 400
 * (line 5, split A 100 % / C 0 %: C has no share, no count): 4 deals, 20,000. B: 300 and
 * 500: 10,000. C: 0. Line 8 of deal 100 is February's. Without the ref column a deal is
 * its line: A 5 (lines 1 to 5), B 2, C 0.
 */
static void test_deals(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const uint64_t ids[4] = { 4, 4, 5, 5 };
    static const uint32_t who[4] = { 0, 1, 0, 2 };
    static const sp_dec shares[4] = { 500000000, 500000000, SP_DEC_ONE, 0 };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, ids, who, shares, 4, 3), SP_OK);
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"deals\"}", "month",
                   "{\"kind\": \"flat\", \"tiers\": [{\"per_unit\": 50}]}",
                   ", \"crediting\": {\"splits\": \"facts\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.splits = t;
    e.src.line_ref = true;
    add(&e.src, SP_FACT_ORDER_LINES, 1, 100, spt_day(2024, 1, 3), A, P1, 1000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 100, spt_day(2024, 1, 2), A, P1, 2000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 3, 200, spt_day(2024, 1, 5), A, P2, 500, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 4, 300, spt_day(2024, 1, 6), A, P2, 700, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 5, 400, spt_day(2024, 1, 7), C, P2, 800, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 6, 500, spt_day(2024, 1, 8), B, P2, 900, 1, 0);
    add(&e.src, SP_FACT_REFUNDS, 7, 3, spt_day(2024, 1, 9), SP_NONE, P2, 500, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 8, 100, spt_day(2024, 2, 1), A, P1, 3000, 1, 0);
    spi_crun o = run_ok(&e);
    static const uint64_t fact[6] = { 2, 1, 3, 4, 5, 7 };
    static const int64_t base[6] = { 1, 0, 1, 1, 1, 0 };
    assert_int_equal(o.statements[0].nlines, 6);
    for (size_t k = 0; k < 6; k++) {
        assert_int_equal(line_at(&o, 0, k)->fact, fact[k]);
        assert_int_equal(line_at(&o, 0, k)->base, base[k]);
        assert_int_equal(line_at(&o, 0, k)->earned, 5000 * base[k]);
    }
    assert_int_equal(o.measure[0], 4);
    assert_int_equal(o.totals[0], 20000);
    assert_int_equal(o.measure[1], 2);
    assert_int_equal(o.totals[1], 10000);
    assert_int_equal(o.statements[2].nlines, 1); /* line 5 with no share */
    assert_int_equal(line_at(&o, 2, 0)->share, 0);
    assert_int_equal(o.measure[2], 0);
    assert_int_equal(o.totals[2], 0);
    check_sums(&o);
    spi_crun_free(ctx, &o);
    /* Counting needs the lines: the totals are computed from them. */
    e.in.want_lines = false;
    o = run_ok(&e);
    assert_false(o.report.totals_path);
    assert_null(o.lines);
    assert_int_equal(o.totals[0], 20000);
    assert_int_equal(o.measure[1], 2);
    spi_crun_free(ctx, &o);
    e.in.want_lines = true;
    e.src.line_ref = false;
    o = run_ok(&e);
    assert_int_equal(o.measure[0], 5);
    assert_int_equal(o.measure[1], 2);
    assert_int_equal(o.measure[2], 0);
    spi_crun_free(ctx, &o);
    env_free(&e);
    spi_split_table_free(t);
    sp_ctx_free(ctx);
}

/*
 * A flat amount per unit, per line, split: the line's earning (3 units at 12.50: 3,750)
 * allocated by the shares, 1,875 / 1,875; 1 unit: 1,250 -> 625 / 625 (the rate is the
 * kernel's: 12.50 per unit is 1,250 minor units per unit).
 */
static void test_split_per_unit(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const uint64_t ids[4] = { 1, 1, 2, 2 };
    static const uint32_t who[4] = { 0, 1, 0, 1 };
    static const sp_dec shares[4] = { 500000000, 500000000, 500000000, 500000000 };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, ids, who, shares, 4, 3), SP_OK);
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{\"policy\": \"per_line\"}", "{\"kind\": \"quantity\"}",
                   "month", "{\"kind\": \"flat\", \"tiers\": [{\"per_unit\": 12.5}]}",
                   ", \"crediting\": {\"splits\": \"facts\"}"),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.splits = t;
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 3), A, P1, 1000, 3, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 4), A, P1, 1000, 1, 0);
    spi_crun o = run_ok(&e);
    for (size_t p = 0; p < 2; p++) {
        assert_int_equal(line_at(&o, p, 0)->earned, 1875);
        assert_int_equal(line_at(&o, p, 1)->earned, 625);
        assert_int_equal(line_at(&o, p, 0)->rate, 1250 * SP_DEC_ONE);
        assert_int_equal(o.statements[p].total, 2500);
    }
    spi_crun_free(ctx, &o);
    env_free(&e);
    spi_split_table_free(t);
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

/*
 * A plan of every basis, run in March 2024: bookings (monthly, split), invoices (margin of
 * P1 and P2 with a SPIFF, quarterly, split; deals, monthly), payments (the amount, no
 * split: a second implementation below sums it; a SPIFF per line on P9; a flat rate,
 * split, which per line pays the line's earning; the quantity of P9 per unit). Without
 * deals the last component measures the invoices' quantity (so that the totals path is
 * taken under per total).
 */
#define BASES_PLAN \
    "{\"plan\": \"B\", \"effective\": {\"from\": \"2024-01-01\"}, \"currency\": \"USD\", " \
    "\"rounding\": {\"mode\": \"%s\", \"policy\": \"%s\"}, \"components\": [" \
    "{\"id\": \"book\", \"measure\": {\"kind\": \"amount\"}, \"period\": \"month\", " \
    "\"schedule\": {\"kind\": \"marginal\", \"tiers\": [{\"rate\": \"3%%\"}, {\"from\": 500, " \
    "\"rate\": \"5%%\"}]}, \"crediting\": {\"splits\": \"facts\"}}," \
    "{\"id\": \"inv\", \"measure\": {\"kind\": \"margin\", \"basis\": \"invoice\", " \
    "\"filter\": {\"product\": [\"P1\", \"P2\"]}}, \"period\": \"quarter\", \"schedule\": " \
    "{\"kind\": \"retroactive\", \"tiers\": [{\"rate\": \"2%%\"}, {\"from\": 1000, " \
    "\"rate\": \"4%%\"}]}, \"spiffs\": [{\"product\": \"P2\", \"per_unit\": 0.75}], " \
    "\"crediting\": {\"splits\": \"facts\"}}," \
    "{\"id\": \"pay\", \"measure\": {\"kind\": \"amount\", \"basis\": \"payment\"}, " \
    "\"period\": \"month\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": [{\"rate\": " \
    "\"4%%\"}, {\"from\": 400, \"rate\": \"7%%\"}]}, \"spiffs\": [{\"product\": \"P9\", " \
    "\"per_line\": 2.5}]}," \
    "{\"id\": \"flat\", \"measure\": {\"kind\": \"amount\", \"basis\": \"payment\"}, " \
    "\"period\": \"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": " \
    "\"6.5%%\"}]}, \"crediting\": {\"splits\": \"facts\"}}," \
    "{\"id\": \"qty\", \"measure\": {\"kind\": \"quantity\", \"basis\": \"payment\", " \
    "\"filter\": {\"product\": [\"P9\"]}}, \"period\": \"month\", \"schedule\": {\"kind\": " \
    "\"flat\", \"tiers\": [{\"per_unit\": 1.25}]}}," \
    "{\"id\": \"deals\", \"measure\": {\"kind\": \"%s\", \"basis\": \"invoice\"}, " \
    "\"period\": \"month\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": [{\"per_unit\": " \
    "10}, {\"from\": 3, \"per_unit\": 15}]}, \"crediting\": {\"splits\": \"facts\"}}]}"

/* Order lines in March, invoice lines in the quarter, with refunds in their month, and
 * payments of the invoice lines (from their day, up to April: reversals included) whose
 * paid amount to date stays within the line. */
static void random_bases(env *e, spt_rng *r)
{
    tsrc *s = &e->src, *v = &e->inv;
    s->n = v->n = 0;
    s->line_ref = v->line_ref = true;
    size_t n = (size_t)spt_rng_range(r, 0, 100);
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 1000 + i * 3;
        int64_t amount = spt_rng_range(r, -2000, 60000);
        int32_t day = spt_day(2024, 3, 1) + (int32_t)spt_rng_range(r, 0, 30);
        add(s, SP_FACT_ORDER_LINES, id, 50 + (uint64_t)spt_rng_range(r, 0, 20), day,
            (uint32_t)spt_rng_range(r, A, X), (uint32_t)spt_rng_range(r, P1, P9), amount,
            spt_rng_range(r, 0, 5), 0);
        if (amount > 0 && spt_rng_chance(r, 30))
            add(s, SP_FACT_REFUNDS, id + 1, id, day + (int32_t)spt_rng_range(r, 0, 3), SP_NONE,
                P1, spt_rng_range(r, 0, amount), 0, 0);
    }
    n = (size_t)spt_rng_range(r, 0, 120);
    for (size_t i = 0; i < n; i++) {
        uint64_t id = 5000 + i * 10;
        int64_t amount = spt_rng_chance(r, 10) ? spt_rng_range(r, -3000, 0)
                                              : spt_rng_range(r, 0, 50000);
        int32_t day = spt_day(2024, 1, 1) + (int32_t)spt_rng_range(r, 0, 89);
        /* The last day of the line's month: its refund's last day. */
        int32_t month_end = day < spt_day(2024, 2, 1)   ? spt_day(2024, 1, 31)
                            : day < spt_day(2024, 3, 1) ? spt_day(2024, 2, 29)
                                                        : spt_day(2024, 3, 31);
        add(v, SP_FACT_ORDER_LINES, id, 70 + (uint64_t)spt_rng_range(r, 0, 30), day,
            (uint32_t)spt_rng_range(r, A, X), (uint32_t)spt_rng_range(r, P1, P9), amount,
            spt_rng_range(r, 0, 4), spt_rng_range(r, 0, amount > 0 ? amount : 0));
        if (amount > 0 && spt_rng_chance(r, 20))
            add(v, SP_FACT_REFUNDS, id + 1, id,
                day + (int32_t)spt_rng_range(r, 0, month_end - day), SP_NONE, P2,
                spt_rng_range(r, 0, amount), spt_rng_range(r, 0, 1), spt_rng_range(r, 0, 100));
        int64_t paid = 0;
        int32_t pday = day;
        for (uint64_t k = 0, np = (uint64_t)spt_rng_range(r, 0, 4); k < np; k++) {
            pday += (int32_t)spt_rng_range(r, 0, 25);
            if (pday > spt_day(2024, 4, 10))
                break;
            int64_t to = spt_rng_chance(r, 30) ? amount
                         : amount >= 0   ? spt_rng_range(r, 0, amount)
                                         : spt_rng_range(r, amount, 0);
            pay(v, id + 2 + k, id, pday, to - paid);
            paid = to;
        }
    }
}

/* The payment component's measure by a second implementation: per payee, the payments in
 * March of the lines of its rep (every line's payments, the amounts as paid). */
static void paid_in_march(const tsrc *v, int64_t out[3])
{
    out[0] = out[1] = out[2] = 0;
    for (size_t i = 0; i < v->n; i++) {
        const tfact *g = &v->f[i];
        if (g->kind != SP_FACT_PAYMENTS || g->day < spt_day(2024, 3, 1) ||
            g->day >= spt_day(2024, 4, 1))
            continue;
        for (size_t j = 0; j < v->n; j++)
            if (v->f[j].kind == SP_FACT_ORDER_LINES && v->f[j].id == g->ref &&
                v->f[j].rep < X)
                out[v->f[j].rep] += g->amount;
    }
}

static spi_split_table *random_splits(sp_ctx *ctx, const tsrc *const *srcs, spt_rng *r)
{
    uint64_t sid[128];
    uint32_t spay[128];
    sp_dec sshare[128];
    size_t ns = 0;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < srcs[k]->n && ns + 2 <= 128; i++) {
            if (srcs[k]->f[i].kind != SP_FACT_ORDER_LINES || !spt_rng_chance(r, 25))
                continue;
            uint32_t p = (uint32_t)spt_rng_range(r, 0, 2);
            sp_dec sh = spt_rng_range(r, 0, SP_DEC_ONE);
            sid[ns] = sid[ns + 1] = srcs[k]->f[i].id;
            spay[ns] = p;
            spay[ns + 1] = (p + 1) % 3;
            sshare[ns] = sh;
            sshare[ns + 1] = SP_DEC_ONE - sh;
            ns += 2;
        }
    spi_split_table *t = NULL;
    if (ns > 0)
        assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, ns, 3), SP_OK);
    return t;
}

/*
 * The bases on random facts: facts of both sources in any order and batch sizes give
 * identical statements (payments walked in their order whatever the order they come in);
 * totals path == lines path; the payment component's measure equals a second
 * implementation's; the flat payment component's credits sum to what was paid.
 */
static void test_bases_properties(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 20240331 };
    static const char *const modes[] = { "half_even", "half_up", "floor", "up" };
    unsigned iters = spt_iterations(60);
    static env e;
    for (unsigned it = 0; it < iters; it++) {
        char json[8192];
        bool per_line = spt_rng_chance(&r, 30), deals = spt_rng_chance(&r, 50);
        snprintf(json, sizeof json, BASES_PLAN, modes[it % 4], per_line ? "per_line" : "per_total",
                 deals ? "deals" : "quantity");
        env_init(&e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 2);
        e.in.invoices = &e.fi;
        random_bases(&e, &r);
        const tsrc *srcs[2] = { &e.src, &e.inv };
        spi_split_table *t = random_splits(ctx, srcs, &r);
        e.in.splits = t;
        spi_crun base = run_ok(&e);
        check_sums(&base);
        int64_t want[3];
        paid_in_march(&e.inv, want);
        int64_t flat = 0;
        for (size_t p = 0; p < 3; p++) {
            assert_int_equal(base.measure[p * 6 + 2], want[p]);
            flat += base.measure[p * 6 + 3];
        }
        /* Split or not, the flat component's credits are what was paid of the payees'
         * lines (split lines of reps that are no payee are skipped with their rep). */
        assert_int_equal(flat, want[0] + want[1] + want[2]);
        for (int k = 0; k < 3; k++) {
            e.src.seed = spt_rng_next(&r) | 1;
            e.inv.seed = spt_rng_next(&r) | 1;
            e.src.max_batch = (size_t)spt_rng_range(&r, 1, 64);
            e.inv.max_batch = (size_t)spt_rng_range(&r, 1, 64);
            spi_crun o = run_ok(&e);
            same_runs(&base, &o);
            assert_int_equal(o.report.lines_read, base.report.lines_read);
            assert_int_equal(o.report.refunds_read, base.report.refunds_read);
            assert_int_equal(o.report.payments_read, base.report.payments_read);
            assert_int_equal(o.report.not_payee, base.report.not_payee);
            spi_crun_free(ctx, &o);
        }
        e.in.want_lines = false;
        spi_crun tot = run_ok(&e);
        assert_int_equal(tot.report.totals_path, !per_line && !deals);
        assert_memory_equal(tot.totals, base.totals, 18 * sizeof *tot.totals);
        assert_memory_equal(tot.measure, base.measure, 18 * sizeof *tot.measure);
        assert_int_equal(tot.report.not_payee, base.report.not_payee);
        spi_crun_free(ctx, &tot);
        spi_crun_free(ctx, &base);
        spi_split_table_free(t);
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
    e->src.batches = e->inv.batches = 0;
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
               "no order line of the days read and no line paid earlier "
               "(sp_commission_run_set_paid)");
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
               "commission run: components[0].measure.basis: the invoice basis reads the run's "
               "invoice lines, and the run has none (no invoice source)");
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
     * period's line, clawed back only from the lines paid earlier (none given here). */
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
               "earlier period of components[1], which is no line paid earlier "
               "(sp_commission_run_set_paid)");
    env_free(&e);
    sp_ctx_free(ctx);
}

/* Bad input on the invoice and payment bases: each error with its message. */
static void test_bad_bases(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"payment\"}", "month",
                   FLAT("4%"), ""),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
    pay(&e.src, 901, 1, spt_day(2024, 1, 10), 50000);
    pay(&e.src, 902, 1, spt_day(2024, 1, 12), 50001);
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 1: payment 902 of 50001 brings the paid "
               "amount of line 1 to 100001, beyond its amount 100000");
    e.src.f[2].amount = -60000;
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 1: payment 902 of -60000 brings the paid "
               "amount of line 1 to -10000: it reverses more than was paid");
    e.src.f[2].amount = 1;
    e.src.f[2].ref = 77;
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 1: payment 902 references line 77, which "
               "is no order line from 2024-01-01 on");
    e.src.f[2].ref = 1;
    e.src.f[2].day = spt_day(2024, 1, 4);
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 1: payment 902 is dated before its line 1");
    e.src.f[2].day = spt_day(2024, 1, 12);
    /* A line before the lookback day: its payments find no line. */
    e.src.f[0].day = spt_day(2023, 12, 20);
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 0: payment 901 references line 1, which "
               "is no order line from 2024-01-01 on");
    e.in.lookback_from = spt_day(2023, 12, 1);
    spi_crun o = run_ok(&e);
    assert_int_equal(o.measure[0], 50001);
    assert_int_equal(o.report.lines_read, 1);
    assert_int_equal(o.report.payments_read, 2);
    spi_crun_free(ctx, &o);
    /* A lookback after the period's first day reads from that day. */
    e.in.lookback_from = spt_day(2024, 1, 7);
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 0: payment 901 references line 1, which "
               "is no order line from 2024-01-01 on");
    e.in.lookback_from = 0;
    e.src.f[0].day = spt_day(2024, 1, 5);
    /* A rep that is no payee: skipped and counted per payment, or an error. */
    e.src.f[0].rep = X;
    o = run_ok(&e);
    assert_int_equal(o.report.not_payee, 2);
    assert_int_equal(o.statements[0].total, 0);
    spi_crun_free(ctx, &o);
    e.in.unknown = SPI_CENGINE_ERROR;
    expect_run(&e, SP_EINVAL,
               "commission run: payments batch 1 row 0: payment 901: the rep X of line 1 is no "
               "payee of the run");
    e.in.unknown = SPI_CENGINE_SKIP;
    e.src.f[0].rep = A;
    /* Two lines with one id, two payments with one id on one day. */
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 6), A, P1, 100000, 1, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: order lines batch 1 row 1: fact 1: a second order line with "
               "this id (payment 901 references it)");
    e.src.n--;
    e.src.f[2].id = 901;
    e.src.f[2].day = spt_day(2024, 1, 10);
    expect_run(&e, SP_EINVAL, "commission run: fact 901: two payments with this id on one day");
    env_free(&e);

    /* A SPIFF beyond int64_t, named by its line. */
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"payment\"}", "month",
                   FLAT("4%"), ", \"spiffs\": [{\"product\": \"P9\", \"per_unit\": 50}]"),
             2024, SPI_CPERIOD_MONTH, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P9, 100000,
        4000000000000000, 0);
    pay(&e.src, 901, 1, spt_day(2024, 1, 10), 50000);
    expect_run(&e, SP_EOVERFLOW,
               "commission run: order lines batch 1 row 0: fact 1: the SPIFF overflows");
    env_free(&e);

    /* Counts on the payment basis. */
    static const char *const counts[2] = { "lines", "deals" };
    for (int k = 0; k < 2; k++) {
        char measure[128], msg[256];
        snprintf(measure, sizeof measure, "{\"kind\": \"%s\", \"basis\": \"payment\"}",
                 counts[k]);
        env_init(&e, ctx,
                 plan1(ctx, "2024", "{}", measure, "month",
                       "{\"kind\": \"flat\", \"tiers\": [{\"per_unit\": 1}]}", ""),
                 2024, SPI_CPERIOD_MONTH, 0);
        snprintf(msg, sizeof msg,
                 "commission run: components[0].measure.kind: '%s' counts whole %s, and the "
                 "payment basis credits a line in parts as it is paid (count them on the "
                 "booking or invoice basis)", counts[k], counts[k]);
        expect_run(&e, SP_EINVAL, msg);
        env_free(&e);
    }

    /* The invoice basis: its refunds and lines named as invoice lines. */
    env_init(&e, ctx,
             plan1(ctx, "2024", "{}", "{\"kind\": \"amount\", \"basis\": \"invoice\"}", "month",
                   FLAT("4%"), ""),
             2024, SPI_CPERIOD_MONTH, 0);
    e.in.invoices = &e.fi;
    add(&e.inv, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
    add(&e.inv, SP_FACT_REFUNDS, 3, 99, spt_day(2024, 1, 20), SP_NONE, P1, 100, 0, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: refunds batch 1 row 0: refund 3 references line 99, which is no "
               "invoice line of the days read and no line paid earlier "
               "(sp_commission_run_set_paid)");
    e.inv.f[1].ref = 1;
    add(&e.inv, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 6), A, P1, 100000, 1, 0);
    expect_run(&e, SP_EINVAL,
               "commission run: invoice lines batch 1 row 1: fact 1: a second invoice line "
               "with this id (refund 3 references it)");
    e.inv.f[2].day = spt_day(2024, 1, 5);
    e.inv.f[1].ref = 2;
    e.inv.f[2].id = 2;
    e.inv.f[2].rep = X;
    e.in.unknown = SPI_CENGINE_ERROR;
    expect_run(&e, SP_EINVAL,
               "commission run: invoice lines batch 1 row 1: fact 2: rep X is no payee of the run");
    e.inv.f[2].id = 1;
    e.inv.f[2].rep = A;
    e.inv.n = 1;
    add(&e.inv, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), A, P1, 100000, 1, 0);
    expect_run(&e, SP_EINVAL, "commission run: fact 1: two invoice lines with this id on one day");
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
    f->e.src.batches = f->e.inv.batches = 0;
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
    /* only a plan with caps has their figures, only one with a draw the draw's */
    assert_true((t.caps == NULL) == (o.caps == NULL) && (t.draws == NULL) == (o.draws == NULL));
    if (o.caps != NULL)
        assert_memory_equal(t.caps, o.caps, cells * sizeof *o.caps);
    if (o.draws != NULL)
        assert_true((t.draws == NULL) == (o.draws == NULL));
    if (o.draws != NULL)
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

/* The same on the bases: every allocation in turn, then each source failing at each of
 * its batches, on a run of every basis (lines and totals, per total and per line). */
static void test_faults_bases(void **state)
{
    (void)state;
    static fault f;
    for (int v = 0; v < 2; v++) {
        memset(&f, 0, sizeof f);
        spt_alloc_init(&f.alloc);
        sp_ctx *ctx = spt_ctx_with(&f.alloc);
        char json[8192];
        snprintf(json, sizeof json, BASES_PLAN, "half_even", v ? "per_line" : "per_total",
                 v ? "deals" : "quantity");
        env_init(&f.e, ctx, plan_of(ctx, json), 2024, SPI_CPERIOD_MONTH, 2);
        f.e.in.invoices = &f.e.fi;
        spt_rng r = { 77 + (uint64_t)v };
        random_bases(&f.e, &r);
        f.e.src.seed = 3;
        f.e.inv.seed = 4;
        f.e.src.max_batch = f.e.inv.max_batch = 40;
        const tsrc *srcs[2] = { &f.e.src, &f.e.inv };
        spi_split_table *t = random_splits(ctx, srcs, &r);
        f.e.in.splits = t;
        size_t live = f.alloc.live_blocks;
        static const int errors[] = { SP_ENOMEM };
        for (int lines = 0; lines < 2; lines++) {
            f.e.in.want_lines = lines == 1;
            spt_fault_case fc = { "engine bases", run_fault, undo_fault, check_fault,
                                  live_fault, errors, 1, &f };
            spt_injector inj = spt_alloc_injector(&f.alloc);
            assert_true(spt_fault_loop(&fc, &inj) >= 5);
        }
        spi_crun o = run_ok(&f.e);
        uint64_t batches[2] = { f.e.src.batches, f.e.inv.batches };
        spi_crun_free(ctx, &o);
        assert_true(batches[0] > 2 && batches[1] > 2);
        for (int w = 0; w < 2; w++) {
            tsrc *s = w == 0 ? &f.e.src : &f.e.inv;
            for (uint64_t k = 1; k <= batches[w]; k++) {
                s->fail_at = k;
                memset(&o, 0, sizeof o);
                f.e.src.batches = f.e.inv.batches = 0;
                assert_int_equal(spi_cengine_run(ctx, &f.e.in, NULL, &o), SP_EUSER);
                assert_null(o.totals);
                assert_int_equal(f.alloc.live_blocks, live);
            }
            s->fail_at = 0;
        }
        spi_split_table_free(t);
        env_free(&f.e);
        sp_ctx_free(ctx);
        assert_int_equal(f.alloc.live_blocks, 0);
    }
}

/* ---- roll-ups to managers (docs/commission.md, "Roll-ups to managers") ---- */

/* The payees' hierarchy: VP (level "vp") over managers M and N ("manager"), M over reps
 * A..E, N over F and G ("rep"); X is no node, P9 a product. */
enum { RVP, RM, RA, RB, RC, RD, RE, RN, RF, RG, RX, RP9, RNDICT };

static sp_dict *rollup_dict(sp_ctx *ctx)
{
    static const char *const ids[RNDICT] = { "VP", "M", "A", "B", "C", "D",
                                             "E",  "N", "F", "G", "X", "P9" };
    sp_dict *d;
    assert_int_equal(sp_dict_new(&d, ctx), SP_OK);
    for (uint32_t i = 0; i < RNDICT; i++) {
        uint32_t ix;
        assert_int_equal(sp_dict_add(d, ids[i], strlen(ids[i]), &ix), SP_OK);
        assert_int_equal(ix, i);
    }
    return d;
}

static sp_hierarchy *rollup_hierarchy(sp_ctx *ctx, bool validate)
{
    static const char *const ids[] = { "VP", "M", "N", "A", "B", "C", "D", "E", "F", "G" };
    static const char *const parents[] = { NULL, "VP", "VP", "M", "M", "M", "M", "M", "N", "N" };
    static const char *const levels[] = { "vp", "manager", "rep" };
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, 10, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_set_levels(h, levels, 3), SP_OK);
    if (validate)
        assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    return h;
}

/* The payees of the examples: VP, M and A..E are payees 0 .. 6. */
static const uint32_t team7[7] = { RVP, RM, RA, RB, RC, RD, RE };

static void renv_init(env *e, sp_ctx *ctx, spi_cplan plan, const sp_hierarchy *h)
{
    env_init(e, ctx, plan, 2024, SPI_CPERIOD_MONTH, 0);
    sp_dict_free(e->dict);
    e->dict = rollup_dict(ctx);
    e->in.dict = e->dict;
    e->in.npayees = 7;
    e->in.payees = team7;
    e->in.hierarchy = h;
}

/* A plan paying 10 % of the amount a month, with the roll-up `rollup` (a JSON object). */
static spi_cplan plan_rollup(sp_ctx *ctx, const char *measure, const char *rollup)
{
    char extra[1024];
    snprintf(extra, sizeof extra, ", \"crediting\": {\"splits\": \"facts\", \"rollup\": %s}",
             rollup);
    return plan1(ctx, "2024", "{}", measure, "month", FLAT("10%"), extra);
}

/*
 * Both paths: the same totals, measures, teams, overrides and settlement (the totals path
 * takes the lines path for a roll-up); every statement sums; within a component a
 * statement holds its fact lines by day, then its overrides by day, then its settlement's.
 */
static spi_crun run_rollup(env *e)
{
    e->in.want_lines = false;
    spi_crun t = run_ok(e);
    e->in.want_lines = true;
    spi_crun o = run_ok(e);
    check_sums(&o);
    size_t cells = o.npayees * o.ncomponents;
    assert_false(t.report.totals_path);
    assert_null(t.statements);
    assert_memory_equal(t.totals, o.totals, cells * sizeof *o.totals);
    assert_memory_equal(t.measure, o.measure, cells * sizeof *o.measure);
    assert_memory_equal(t.team, o.team, cells * sizeof *o.team);
    assert_memory_equal(t.overrides, o.overrides, cells * sizeof *o.overrides);
    assert_true((t.draws == NULL) == (o.draws == NULL));
    if (o.draws != NULL)
        assert_memory_equal(t.draws, o.draws, o.npayees * sizeof *o.draws);
    assert_int_equal(t.report.overrides_not_payee, o.report.overrides_not_payee);
    spi_crun_free(e->ctx, &t);
    for (size_t p = 0; p < o.npayees; p++) {
        const spi_cstatement *st = &o.statements[p];
        int64_t ov[8] = { 0 };
        for (size_t i = 0; i < st->nlines; i++) {
            const spi_cline *b = &o.lines[st->first + i];
            if (b->kind == SPI_CLINE_OVERRIDE)
                ov[b->component] += b->earned;
            if (i == 0)
                continue;
            const spi_cline *a = b - 1;
            assert_true(a->component <= b->component);
            if (a->component != b->component)
                continue;
            int ra = a->kind == SPI_CLINE_OVERRIDE ? 1 : a->kind >= SPI_CLINE_CAP_RELEASE ? 2 : 0;
            int rb = b->kind == SPI_CLINE_OVERRIDE ? 1 : b->kind >= SPI_CLINE_CAP_RELEASE ? 2 : 0;
            assert_true(ra <= rb);
            if (ra == rb && ra < 2)
                assert_true(a->day <= b->day);
        }
        for (size_t c = 0; c < o.ncomponents; c++)
            assert_int_equal(ov[c], o.overrides[p * o.ncomponents + c]);
    }
    return o;
}

/* An override line (engine.h's SPI_CLINE_OVERRIDE). */
static void check_override(const spi_cline *l, uint64_t fact, int32_t day, int64_t base,
                           sp_dec rate, int64_t earned, uint32_t via, uint16_t level, bool held)
{
    assert_int_equal(l->kind, SPI_CLINE_OVERRIDE);
    assert_int_equal(l->component, 0);
    assert_int_equal(l->fact, fact);
    assert_int_equal(l->day, day);
    assert_int_equal(l->base, base);
    assert_int_equal(l->rate, rate);
    assert_int_equal(l->earned, earned);
    assert_int_equal(l->own, earned);
    assert_int_equal(l->true_up, 0);
    assert_int_equal(l->share, via);
    assert_int_equal(l->tier_before, level);
    assert_int_equal(l->tier_after, held ? 1 : 0);
}

/* 6.1's reps A..E: one order line each, facts 1..5 on January 5..9, 2024 (cents). */
static const int64_t sales_61[5] = { 7500000, 6000000, 6750000, 5250000, 4500000 };

static void add_61(tsrc *s)
{
    for (uint32_t i = 0; i < 5; i++)
        add(s, SP_FACT_ORDER_LINES, i + 1, 0, spt_day(2024, 1, 5 + (int)i), RA + i, RP9,
            sales_61[i], 1, 0);
}

#define PCT(x) ((sp_dec)(x) * 10000000) /* x % as an sp_dec */

/*
 * 6.1 (Prowi): reps A..E sell 75,000.00, 60,000.00, 67,500.00, 52,500.00 and 45,000.00 at
 * 10 %: 750,000, 600,000, 675,000, 525,000, 450,000 cents. M's override at 3 %, first
 * dollar: one line per rep line, 225,000, 180,000, 202,500, 157,500, 135,000 = 900,000.
 * The threshold model ("above": 225,000.00): the team base to date runs 7,500,000 ->
 * 13,500,000 -> 20,250,000 -> 25,500,000 -> 30,000,000, so A, B and C pay on 0, D on
 * 25,500,000 - 22,500,000 = 3,000,000 (90,000), E on 4,500,000 (135,000): 225,000 =
 * (30,000,000 - 22,500,000) x 3 %. VP has no rule: nothing. Each override line shows the
 * rep it came through (payee index 2 + i) and M's level (depth 1).
 */
static void test_ex_6_1_override(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    static const int64_t first[5] = { 225000, 180000, 202500, 157500, 135000 },
                         base_t[5] = { 0, 0, 0, 3000000, 4500000 },
                         earned_t[5] = { 0, 0, 0, 90000, 135000 };
    for (int model = 0; model < 2; model++) {
        env e;
        renv_init(&e, ctx,
                  plan_rollup(ctx, "{\"kind\": \"amount\"}",
                              model ? "{\"levels\": {\"manager\": {\"rate\": \"3%\", \"above\": "
                                      "225000}}}"
                                    : "{\"levels\": {\"manager\": {\"rate\": \"3%\"}}}"),
                  h);
        add_61(&e.src);
        spi_crun o = run_rollup(&e);
        for (size_t i = 0; i < 5; i++) {
            assert_int_equal(o.statements[2 + i].nlines, 1);
            assert_int_equal(o.statements[2 + i].total, sales_61[i] / 10);
        }
        assert_int_equal(o.statements[1].nlines, 5);
        for (uint32_t i = 0; i < 5; i++)
            check_override(line_at(&o, 1, i), i + 1, spt_day(2024, 1, 5 + (int)i),
                           model ? base_t[i] : sales_61[i], PCT(3),
                           model ? earned_t[i] : first[i], 2 + i, 1, false);
        assert_int_equal(o.statements[1].total, model ? 225000 : 900000);
        assert_int_equal(o.totals[1], model ? 225000 : 900000);
        assert_int_equal(o.overrides[1], model ? 225000 : 900000);
        assert_int_equal(o.statements[0].nlines, 0);
        assert_int_equal(o.statements[0].total, 0);
        /* The teams: M's and VP's are the reps' 30,000,000; a rep has none. */
        assert_int_equal(o.team[0], 30000000);
        assert_int_equal(o.team[1], 30000000);
        assert_int_equal(o.team[2], 0);
        spi_crun_free(ctx, &o);
        /* Facts in any order and batches: the same statements. */
        e.src.seed = 11;
        e.src.max_batch = 2;
        spi_crun s = run_ok(&e);
        assert_int_equal(s.statements[1].total, model ? 225000 : 900000);
        for (uint32_t i = 0; i < 5; i++)
            assert_int_equal(line_at(&s, 1, i)->earned, model ? earned_t[i] : first[i]);
        spi_crun_free(ctx, &s);
        env_free(&e);
    }
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * Refunds reverse overrides along the team base. 6.1 with a refund of 10,000.00 of A's
 * line on January 20 (fact 11): first dollar, M's override -1,000,000 x 3 % = -30,000,
 * 870,000 in all. Threshold model: the team base 30,000,000 -> 29,000,000, still above
 * 22,500,000: the slice -1,000,000, -30,000, 195,000 in all. With a refund of 60,000.00 of
 * A's line instead: 30,000,000 -> 24,000,000, the slice 1,500,000 - 7,500,000 =
 * -6,000,000 (-180,000; 45,000 left = 1,500,000 x 3 %); then 20,000.00 of C's line on
 * January 21 (fact 12): 24,000,000 -> 22,000,000, the slice 0 - 1,500,000 = -1,500,000
 * (-45,000): 0 left, the measure below `above` paying nothing. First dollar the same
 * refunds: -180,000 and -60,000: 660,000 = 22,000,000 x 3 %.
 */
static void test_rollup_refunds(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    for (int model = 0; model < 2; model++)
        for (int big = 0; big < 2; big++) {
            env e;
            renv_init(&e, ctx,
                      plan_rollup(ctx, "{\"kind\": \"amount\"}",
                                  model ? "{\"levels\": {\"manager\": {\"rate\": \"3%\", "
                                          "\"above\": 225000}}}"
                                        : "{\"levels\": {\"manager\": {\"rate\": \"3%\"}}}"),
                      h);
            add_61(&e.src);
            add(&e.src, SP_FACT_REFUNDS, 11, 1, spt_day(2024, 1, 20), SP_NONE, RP9,
                big ? 6000000 : 1000000, 0, 0);
            if (big)
                add(&e.src, SP_FACT_REFUNDS, 12, 3, spt_day(2024, 1, 21), SP_NONE, RP9,
                    2000000, 0, 0);
            spi_crun o = run_rollup(&e);
            assert_int_equal(o.statements[1].nlines, big ? 7 : 6);
            if (!big) {
                check_override(line_at(&o, 1, 5), 11, spt_day(2024, 1, 20), -1000000, PCT(3),
                               -30000, 2, 1, false);
                assert_int_equal(o.statements[1].total, model ? 195000 : 870000);
            } else {
                check_override(line_at(&o, 1, 5), 11, spt_day(2024, 1, 20), -6000000, PCT(3),
                               -180000, 2, 1, false);
                check_override(line_at(&o, 1, 6), 12, spt_day(2024, 1, 21),
                               model ? -1500000 : -2000000, PCT(3), model ? -45000 : -60000,
                               4, 1, false);
                assert_int_equal(o.statements[1].total, model ? 0 : 660000);
            }
            assert_int_equal(o.team[1], big ? 22000000 : 29000000);
            spi_crun_free(ctx, &o);
            env_free(&e);
        }
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * 6.2: VP over M over A..E, M also selling D_M, 20,000.00 (fact 6, January 10); levels
 * manager 2 % with a threshold of 100 % of M's team quota, vp 1 % without. M's own line
 * is rep commission, 2,000,000 x 10 % = 200,000, and credits M no override (no double
 * counting); it reaches the VP.
 *   a) M's quota 32,000,000, the team 30,000,000: 93.75 %, held: five override lines of
 *      M with their bases and 0, marked held; M 200,000 in all.
 *   b) quota 28,000,000: 107.1 % reached: 2 % of each rep line, 150,000, 120,000,
 *      135,000, 105,000, 90,000 = 600,000; M 800,000 (never 840,000: D_M is M's own).
 *   c) quota 30,000,000: exactly 100 %, reached ("from" the threshold on): as b.
 *   d) no threshold: as b.
 * The VP in every case: 1 % of the six lines below it, 75,000, 60,000, 67,500, 52,500,
 * 45,000 and 20,000 (through M, payee 1) = 320,000 = 32,000,000 x 1 %. The other payees'
 * quotas are 0: only a manager at a level with a threshold needs one.
 */
static void test_ex_6_2_levels(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    static const int64_t quota[4] = { 32000000, 28000000, 30000000, 28000000 };
    static const int64_t m_over[5] = { 150000, 120000, 135000, 105000, 90000 },
                         vp_over[6] = { 75000, 60000, 67500, 52500, 45000, 20000 };
    for (int k = 0; k < 4; k++) {
        env e;
        renv_init(&e, ctx,
                  plan_rollup(ctx, "{\"kind\": \"amount\"}",
                              k < 3 ? "{\"levels\": {\"manager\": {\"rate\": \"2%\", "
                                      "\"threshold\": \"100%\"}, \"vp\": {\"rate\": \"1%\"}}}"
                                    : "{\"levels\": {\"manager\": {\"rate\": \"2%\"}, \"vp\": "
                                      "{\"rate\": \"1%\"}}, \"count\": \"every_path\"}"),
                  h);
        add_61(&e.src);
        add(&e.src, SP_FACT_ORDER_LINES, 6, 0, spt_day(2024, 1, 10), RM, RP9, 2000000, 1, 0);
        int64_t quotas[7] = { 0, quota[k], 0, 0, 0, 0, 0 };
        e.in.quotas = quotas;
        spi_crun o = run_rollup(&e);
        bool held = k == 0;
        /* M: its own line, then its overrides. */
        assert_int_equal(o.statements[1].nlines, 6);
        assert_int_equal(line_at(&o, 1, 0)->kind, SPI_CLINE_ORDER);
        assert_int_equal(line_at(&o, 1, 0)->earned, 200000);
        for (uint32_t i = 0; i < 5; i++)
            check_override(line_at(&o, 1, 1 + i), i + 1, spt_day(2024, 1, 5 + (int)i),
                           sales_61[i], PCT(2), held ? 0 : m_over[i], 2 + i, 1, held);
        assert_int_equal(o.statements[1].total, held ? 200000 : 800000);
        assert_int_equal(o.team[1], 30000000);
        /* VP: through A..E, then through M. */
        assert_int_equal(o.statements[0].nlines, 6);
        for (uint32_t i = 0; i < 6; i++)
            check_override(line_at(&o, 0, i), i + 1, spt_day(2024, 1, 5 + (int)i),
                           i < 5 ? sales_61[i] : 2000000, PCT(1), vp_over[i],
                           i < 5 ? 2 + i : 1, 0, false);
        assert_int_equal(o.statements[0].total, 320000);
        assert_int_equal(o.team[0], 32000000);
        spi_crun_free(ctx, &o);
        env_free(&e);
    }
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * count: 1.01 (fact 1, 101 cents) split 50/50 between A and B, both under M (3 %) under
 * VP (1 %): credited 51 / 50 (the odd cent to the first entry). once_per_payee: M one
 * override on 101, R(3.03) = 3 (through A), VP R(1.01) = 1. every_path: M two, R(1.53) =
 * 2 through A and R(1.5) = 2 through B (half even); VP R(0.51) = 1 and R(0.50) = 0. A
 * refund of the whole line on January 20 (fact 2) reverses each exactly: -3; -2 and -2;
 * -1; -1 and 0. The reps earn R(5.1) = 5 and R(5.0) = 5, then 0.
 */
static void test_rollup_count(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    static const uint64_t sid[2] = { 1, 1 };
    static const uint32_t spay[2] = { 2, 3 };
    static const sp_dec sshare[2] = { PCT(50), PCT(50) };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, 2, 7), SP_OK);
    for (int every = 0; every < 2; every++)
        for (int refund = 0; refund < 2; refund++) {
            char rollup[256];
            snprintf(rollup, sizeof rollup,
                     "{\"levels\": {\"manager\": {\"rate\": \"3%%\"}, \"vp\": {\"rate\": "
                     "\"1%%\"}}, \"count\": \"%s\"}",
                     every ? "every_path" : "once_per_payee");
            env e;
            renv_init(&e, ctx, plan_rollup(ctx, "{\"kind\": \"amount\"}", rollup), h);
            e.in.splits = t;
            add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9, 101, 1, 0);
            if (refund)
                add(&e.src, SP_FACT_REFUNDS, 2, 1, spt_day(2024, 1, 20), SP_NONE, RP9, 101,
                    0, 0);
            spi_crun o = run_rollup(&e);
            int32_t d5 = spt_day(2024, 1, 5), d20 = spt_day(2024, 1, 20);
            size_t per = every ? 2 : 1; /* override lines per team line */
            assert_int_equal(o.statements[1].nlines, per * (refund ? 2 : 1));
            assert_int_equal(o.statements[0].nlines, per * (refund ? 2 : 1));
            if (!every) {
                check_override(line_at(&o, 1, 0), 1, d5, 101, PCT(3), 3, 2, 1, false);
                check_override(line_at(&o, 0, 0), 1, d5, 101, PCT(1), 1, 2, 0, false);
                if (refund) {
                    check_override(line_at(&o, 1, 1), 2, d20, -101, PCT(3), -3, 2, 1, false);
                    check_override(line_at(&o, 0, 1), 2, d20, -101, PCT(1), -1, 2, 0, false);
                }
            } else {
                check_override(line_at(&o, 1, 0), 1, d5, 51, PCT(3), 2, 2, 1, false);
                check_override(line_at(&o, 1, 1), 1, d5, 50, PCT(3), 2, 3, 1, false);
                check_override(line_at(&o, 0, 0), 1, d5, 51, PCT(1), 1, 2, 0, false);
                check_override(line_at(&o, 0, 1), 1, d5, 50, PCT(1), 0, 3, 0, false);
                if (refund) {
                    check_override(line_at(&o, 1, 2), 2, d20, -51, PCT(3), -2, 2, 1, false);
                    check_override(line_at(&o, 1, 3), 2, d20, -50, PCT(3), -2, 3, 1, false);
                    check_override(line_at(&o, 0, 2), 2, d20, -51, PCT(1), -1, 2, 0, false);
                    check_override(line_at(&o, 0, 3), 2, d20, -50, PCT(1), 0, 3, 0, false);
                }
            }
            assert_int_equal(o.statements[1].total, refund ? 0 : every ? 4 : 3);
            assert_int_equal(o.statements[0].total, refund ? 0 : 1);
            assert_int_equal(o.statements[2].total, refund ? 0 : 5);
            assert_int_equal(o.statements[3].total, refund ? 0 : 5);
            spi_crun_free(ctx, &o);
            env_free(&e);
        }
    spi_split_table_free(t);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * An earnings base and the payment basis. A level "on": "earnings" takes the payees'
 * earnings on the line, its SPIFF's included: A's line of 75,000.00 on P9 earns 750,000
 * and the SPIFF's 50.00 per line, 5,000: the VP's 10 % is R(75,500) = 75,500; B's line
 * (no SPIFF) 600,000: 60,000; 135,500 in all. M at 3 % of the measure beside it: 225,000
 * + 180,000 = 405,000 (the SPIFF is no measure).
 * Payments: A's line of 1,000.00 (fact 1) paid 400.00 on January 10 (payment 901) and
 * 600.00 on January 20 (902): A earns 4,000 and 6,000, M 3 % of each payment's credit,
 * 1,200 and 1,800 (the lines' facts are the payments').
 */
static void test_rollup_earnings_payments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    env e;
    renv_init(&e, ctx,
              plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month", FLAT("10%"),
                    ", \"spiffs\": [{\"product\": \"P9\", \"per_line\": 50}], \"crediting\": "
                    "{\"rollup\": {\"levels\": {\"manager\": {\"rate\": \"3%\"}, \"vp\": "
                    "{\"rate\": \"10%\", \"on\": \"earnings\"}}}}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9, 7500000, 1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), RB, RX, 6000000, 1, 0);
    spi_crun o = run_rollup(&e);
    assert_int_equal(o.statements[2].total, 755000);
    check_override(line_at(&o, 0, 0), 1, spt_day(2024, 1, 5), 755000, PCT(10), 75500, 2, 0,
                   false);
    check_override(line_at(&o, 0, 1), 2, spt_day(2024, 1, 6), 600000, PCT(10), 60000, 3, 0,
                   false);
    assert_int_equal(o.statements[0].total, 135500);
    check_override(line_at(&o, 1, 0), 1, spt_day(2024, 1, 5), 7500000, PCT(3), 225000, 2, 1,
                   false);
    assert_int_equal(o.statements[1].total, 405000);
    spi_crun_free(ctx, &o);
    env_free(&e);

    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\", \"basis\": \"payment\"}",
                          "{\"levels\": {\"manager\": {\"rate\": \"3%\"}}}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9, 100000, 1, 0);
    pay(&e.src, 901, 1, spt_day(2024, 1, 10), 40000);
    pay(&e.src, 902, 1, spt_day(2024, 1, 20), 60000);
    o = run_rollup(&e);
    assert_int_equal(o.statements[2].total, 10000);
    assert_int_equal(o.statements[1].nlines, 2);
    check_override(line_at(&o, 1, 0), 901, spt_day(2024, 1, 10), 40000, PCT(3), 1200, 2, 1,
                   false);
    check_override(line_at(&o, 1, 1), 902, spt_day(2024, 1, 20), 60000, PCT(3), 1800, 2, 1,
                   false);
    assert_int_equal(o.statements[1].total, 3000);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * Overrides are earnings of the manager's draw: M draws 5,000.00 a month (non
 * recoverable) and earns only overrides, 6.1's 900,000 (9,000.00): above the draw, no
 * top-up. With A's line alone, 225,000: the top-up is 500,000 - 225,000 = 275,000. The
 * reps earn 750,000 and more, above the draw.
 */
static void test_rollup_draw(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    for (int alone = 0; alone < 2; alone++) {
        env e;
        renv_init(&e, ctx,
                  plan_of(ctx, "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, "
                               "\"currency\": \"USD\", \"components\": [{\"id\": \"c\", "
                               "\"measure\": {\"kind\": \"amount\"}, \"period\": \"month\", "
                               "\"schedule\": " FLAT("10%") ", \"crediting\": {\"rollup\": "
                               "{\"levels\": {\"manager\": {\"rate\": \"3%\"}}}}}], \"draw\": "
                               "{\"kind\": \"non_recoverable\", \"amount\": 5000, \"period\": "
                               "\"month\"}}"),
                  h);
        if (alone)
            add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9, 7500000, 1, 0);
        else
            add_61(&e.src);
        spi_crun o = run_rollup(&e);
        assert_int_equal(o.draws[1].earned, alone ? 225000 : 900000);
        assert_int_equal(o.draws[1].paid, alone ? 275000 : 0);
        assert_int_equal(o.statements[1].total, alone ? 500000 : 900000);
        /* M's statement: the override(s), then the draw's line. */
        const spi_cline *last = line_at(&o, 1, o.statements[1].nlines - 1);
        assert_int_equal(last->kind, alone ? SPI_CLINE_DRAW : SPI_CLINE_OVERRIDE);
        assert_int_equal(o.draws[2].paid, 0);
        spi_crun_free(ctx, &o);
        env_free(&e);
    }
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * Overrides are not under the component's cap (it holds the schedule's payout): a cap of
 * 1,000.00 a month, not carried. M's own 20,000.00 earns 200,000, capped to 100,000 (a
 * lost line of 100,000); its overrides, 6.1's 900,000 at 3 %, are paid whole: 1,000,000.
 * M's statement: its line, its five overrides, then the cap's line. A earns 750,000,
 * capped to 100,000 too.
 */
static void test_rollup_cap(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    env e;
    renv_init(&e, ctx,
              plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month", FLAT("10%"),
                    ", \"cap\": {\"amount\": 1000}, \"crediting\": {\"rollup\": {\"levels\": "
                    "{\"manager\": {\"rate\": \"3%\"}}}}"),
              h);
    add_61(&e.src);
    add(&e.src, SP_FACT_ORDER_LINES, 6, 0, spt_day(2024, 1, 10), RM, RP9, 2000000, 1, 0);
    spi_crun o = run_rollup(&e);
    assert_int_equal(o.statements[1].nlines, 7);
    assert_int_equal(line_at(&o, 1, 0)->kind, SPI_CLINE_ORDER);
    for (size_t i = 1; i < 6; i++)
        assert_int_equal(line_at(&o, 1, i)->kind, SPI_CLINE_OVERRIDE);
    check_settle_line(line_at(&o, 1, 6), SPI_CLINE_CAP_LOST, 0, spt_day(2024, 1, 31), 100000,
                      100000, 0);
    assert_int_equal(o.statements[1].total, 1000000);
    assert_int_equal(o.caps[1].excess, 100000);
    assert_int_equal(o.statements[2].total, 100000);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * A manager who is no payee (M left out of the payees: VP, A..E are payees 0..5):
 * skipped and counted, or an error naming the manager, the payee and the fact. The VP
 * still gets its 1 % of 30,000,000.
 */
static void test_rollup_not_payee(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    static const uint32_t six[6] = { RVP, RA, RB, RC, RD, RE };
    env e;
    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"manager\": {\"rate\": \"3%\", \"threshold\": "
                          "\"50%\"}, \"vp\": {\"rate\": \"1%\"}}}"),
              h);
    e.in.npayees = 6;
    e.in.payees = six;
    add_61(&e.src);
    spi_crun o = run_rollup(&e);
    assert_int_equal(o.report.overrides_not_payee, 5);
    assert_int_equal(o.statements[0].total, 300000);
    assert_int_equal(o.statements[0].nlines, 5);
    assert_int_equal(line_at(&o, 0, 4)->share, 5); /* through E, payee 5 */
    spi_crun_free(ctx, &o);
    e.in.unknown = SPI_CENGINE_ERROR;
    expect_run(&e, SP_EINVAL,
               "commission run: components[0] (\"c\"): fact 1: manager \"M\" of payee \"A\" is "
               "no payee of the run");
    env_free(&e);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_rollup_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true), *open = rollup_hierarchy(ctx, false);
    env e;
    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"manager\": {\"rate\": \"3%\", \"threshold\": "
                          "\"80%\"}}}"),
              NULL);
    add_61(&e.src);
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].crediting.rollup: a roll-up needs the payees' "
               "hierarchy");
    e.in.hierarchy = open;
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].crediting.rollup: the payees' hierarchy is not "
               "validated (sp_hierarchy_validate)");
    e.in.hierarchy = h;
    static const uint32_t with_x[7] = { RVP, RM, RA, RB, RC, RD, RX };
    e.in.payees = with_x;
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].crediting.rollup: payee \"X\" is no node of the "
               "payees' hierarchy");
    e.in.payees = team7;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"M\": components[0] (\"c\"): "
               "crediting.rollup.levels.manager.threshold: the team's attainment needs the "
               "manager's quota (the run has no quotas)");
    int64_t quotas[7] = { 5, 0, 5, 5, 5, 5, 5 };
    e.in.quotas = quotas;
    expect_run(&e, SP_EINVAL,
               "commission run: payee \"M\": components[0] (\"c\"): "
               "crediting.rollup.levels.manager.threshold: the team's attainment needs the "
               "manager's quota (it is 0)");
    env_free(&e);

    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"director\": {\"rate\": \"3%\"}}}"),
              h);
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].crediting.rollup: levels.director: the payees' "
               "hierarchy has no level \"director\"");
    env_free(&e);
    renv_init(&e, ctx,
              plan1(ctx, "2024", "{}", "{\"kind\": \"quantity\"}", "month",
                    "{\"kind\": \"flat\", \"tiers\": [{\"per_unit\": 1}]}",
                    ", \"crediting\": {\"rollup\": {\"levels\": {\"vp\": {\"rate\": \"3%\", "
                    "\"on\": \"earnings\", \"above\": 10}, \"manager\": {\"rate\": \"3%\", "
                    "\"above\": 10}}}}"),
              h);
    expect_run(&e, SP_EINVAL,
               "commission run: components[0].crediting.rollup.levels.manager.above: 'above' "
               "is an amount, and the level's base is the component's measure of quantity "
               "(only a level \"on\": \"earnings\" of such a component may have one)");
    env_free(&e);

    /* Overflow: an override (4e18 at 1000 %), the team's measure (two lines of 5e18: the
     * VP, payee 0, is named first), the kernel's team base to date (5e18 twice, then a
     * refund of the second: the team ends at 5e18, but passed 1e19 on fact 2), and M's
     * earnings with its overrides (its own 9e17 at 1000 % and A's 9e17 at 100 %). */
    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"manager\": {\"rate\": \"1000%\"}}}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9, 4000000000000000000,
        1, 0);
    expect_run(&e, SP_EOVERFLOW,
               "commission run: components[0] (\"c\"): fact 1: the override of manager \"M\" "
               "overflows");
    env_free(&e);
    for (int k = 0; k < 2; k++) {
        renv_init(&e, ctx,
                  plan_rollup(ctx, "{\"kind\": \"amount\"}",
                              k == 0 ? "{\"levels\": {\"vp\": {\"rate\": \"1%\"}}}"
                                     : "{\"levels\": {\"manager\": {\"rate\": \"1%\"}}}"),
                  h);
        add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RP9,
            5000000000000000000, 1, 0);
        add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), RB, RP9,
            5000000000000000000, 1, 0);
        if (k == 1)
            add(&e.src, SP_FACT_REFUNDS, 3, 2, spt_day(2024, 1, 7), SP_NONE, RP9,
                5000000000000000000, 0, 0);
        expect_run(&e, SP_EOVERFLOW,
                   k == 0 ? "commission run: payee \"VP\": components[0] (\"c\"): the team's "
                            "measure overflows int64_t"
                          : "commission run: components[0] (\"c\"): fact 2: the team base of "
                            "manager \"M\" overflows");
        env_free(&e);
    }
    renv_init(&e, ctx,
              plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month", FLAT("1000%"),
                    ", \"crediting\": {\"rollup\": {\"levels\": {\"manager\": {\"rate\": "
                    "\"100%\"}}}}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RM, RP9, 900000000000000000,
        1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), RA, RP9, 900000000000000000,
        1, 0);
    expect_run(&e, SP_EOVERFLOW,
               "commission run: payee \"M\": components[0] (\"c\"): the earnings with the "
               "overrides overflow int64_t");
    env_free(&e);
    /* A line's earnings with its SPIFF's (A: -9e17 then 9.2e17 at 1000 %, the second
     * with a SPIFF of 1e17: A's total fits, the second line's earnings do not). */
    renv_init(&e, ctx,
              plan1(ctx, "2024", "{}", "{\"kind\": \"amount\"}", "month", FLAT("1000%"),
                    ", \"spiffs\": [{\"product\": \"P9\", \"per_line\": 1000000000000000}], "
                    "\"crediting\": {\"rollup\": {\"levels\": {\"manager\": {\"rate\": "
                    "\"1%\", \"on\": \"earnings\"}}}}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RA, RX, -900000000000000000,
        1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), RA, RP9, 920000000000000000,
        1, 0);
    expect_run(&e, SP_EOVERFLOW,
               "commission run: payee \"A\": components[0] (\"c\"): fact 2: the earnings "
               "overflow int64_t");
    env_free(&e);
    /* M's statement over two components: its own 5e18 in "c", A's override of 5e18 in "d"
     * (each component's total fits, their sum does not). */
    renv_init(&e, ctx,
              plan_of(ctx, "{\"plan\": \"T\", \"effective\": {\"from\": \"2024-01-01\"}, "
                           "\"currency\": \"USD\", \"components\": [{\"id\": \"c\", "
                           "\"measure\": {\"kind\": \"amount\"}, \"period\": \"month\", "
                           "\"schedule\": " FLAT("1000%") "}, {\"id\": \"d\", \"measure\": "
                           "{\"kind\": \"amount\"}, \"period\": \"month\", \"schedule\": "
                           FLAT("1%") ", \"crediting\": {\"rollup\": {\"levels\": "
                           "{\"manager\": {\"rate\": \"1000%\"}}}}}]}"),
              h);
    add(&e.src, SP_FACT_ORDER_LINES, 1, 0, spt_day(2024, 1, 5), RM, RP9, 500000000000000000,
        1, 0);
    add(&e.src, SP_FACT_ORDER_LINES, 2, 0, spt_day(2024, 1, 6), RA, RP9, 500000000000000000,
        1, 0);
    expect_run(&e, SP_EOVERFLOW, "commission run: payee \"M\": the total overflows");
    env_free(&e);
    /* A hierarchy deeper than a line's 16-bit level: a chain of 65,537 nodes (unnamed
     * levels: the depth is checked before the names). */
    {
        enum { DEEP = 65537 };
        char (*names)[12] = malloc(DEEP * sizeof *names);
        const char **ids = malloc(DEEP * sizeof *ids), **parents = malloc(DEEP * sizeof *ids);
        assert_non_null(names);
        assert_non_null(ids);
        assert_non_null(parents);
        for (size_t i = 0; i < DEEP; i++) {
            snprintf(names[i], sizeof names[i], "n%zu", i);
            ids[i] = names[i];
            parents[i] = i > 0 ? names[i - 1] : NULL;
        }
        sp_hierarchy *deep = NULL;
        assert_int_equal(sp_hierarchy_new(&deep, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_add_all(deep, ids, NULL, parents, NULL, DEEP, NULL), SP_OK);
        assert_int_equal(sp_hierarchy_validate(deep), SP_OK);
        renv_init(&e, ctx,
                  plan_rollup(ctx, "{\"kind\": \"amount\"}",
                              "{\"levels\": {\"n1\": {\"rate\": \"3%\"}}}"),
                  deep);
        expect_run(&e, SP_EINVAL,
                   "commission run: components[0].crediting.rollup: the payees' hierarchy is "
                   "65537 levels deep (an override's line holds a level up to 65535)");
        env_free(&e);
        sp_hierarchy_free(deep);
        free(names);
        free(ids);
        free(parents);
    }
    /* A level named by the hierarchy that no node is on: its rule credits nobody. */
    static const char *const four[] = { "vp", "manager", "rep", "intern" };
    assert_int_equal(sp_hierarchy_set_levels(open, four, 4), SP_OK);
    assert_int_equal(sp_hierarchy_validate(open), SP_OK);
    renv_init(&e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"intern\": {\"rate\": \"3%\"}}}"),
              open);
    add_61(&e.src);
    spi_crun o = run_rollup(&e);
    assert_int_equal(o.statements[1].nlines, 0);
    assert_int_equal(o.statements[2].total, 750000);
    spi_crun_free(ctx, &o);
    env_free(&e);
    sp_hierarchy_free(open);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/*
 * Random roll-up plans (levels manager and vp, with or without a threshold and an
 * `above`, on the measure or the earnings, either count rule; flat, marginal or
 * retroactive schedules, per line or per total) over random lines, refunds and 50/50
 * splits of the whole hierarchy's reps (N, and with it F's and G's managers, sometimes no
 * payee). Both paths give the same totals, the facts in any order and batches the same
 * statements; and, with amounts of whole 2.00 (so that splits and every base are whole
 * 1.00) at whole percents, a manager's overrides on the measure telescope exactly:
 * rate x max(T - above, 0) for its team's measure T when its threshold is reached (T x
 * 100 >= threshold % x quota), else 0 (a second implementation from the measures alone).
 */
static void test_rollup_properties(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    spt_rng r = { 6102 };
    static tsrc facts;
    static const uint32_t all[10] = { RVP, RM, RN, RA, RB, RC, RD, RE, RF, RG };
    static const uint32_t reps[11] = { RVP, RM, RN, RA, RB, RC, RD, RE, RF, RG, RX };
    static const char *const scheds[3] = {
        FLAT("10%"),
        "{\"kind\": \"marginal\", \"tiers\": [{\"rate\": \"3%\"}, {\"from\": 5000, \"rate\": "
        "\"7%\"}]}",
        "{\"kind\": \"retroactive\", \"tiers\": [{\"rate\": \"2%\"}, {\"from\": 20000, "
        "\"rate\": \"5%\"}]}",
    };
    unsigned iters = spt_iterations(60);
    for (unsigned it = 0; it < iters; it++) {
        int mrate = (int)spt_rng_range(&r, 1, 5), vrate = (int)spt_rng_range(&r, 1, 3);
        int mthr = spt_rng_chance(&r, 50) ? (int)spt_rng_range(&r, 50, 150) : -1;
        int64_t mabove = spt_rng_chance(&r, 50) ? spt_rng_range(&r, 1, 30000) : 0;
        int64_t vabove = spt_rng_chance(&r, 30) ? spt_rng_range(&r, 1, 60000) : 0;
        bool vearn = spt_rng_chance(&r, 30), every = spt_rng_chance(&r, 50);
        char mrule[128], vrule[128], extra[512], rounding[64];
        int n = snprintf(mrule, sizeof mrule, "{\"rate\": \"%d%%\"", mrate);
        if (mthr >= 0)
            n += snprintf(mrule + n, sizeof mrule - (size_t)n, ", \"threshold\": \"%d%%\"",
                          mthr);
        if (mabove > 0)
            n += snprintf(mrule + n, sizeof mrule - (size_t)n, ", \"above\": %lld",
                          (long long)mabove);
        snprintf(mrule + n, sizeof mrule - (size_t)n, "}");
        n = snprintf(vrule, sizeof vrule, "{\"rate\": \"%d%%\", \"on\": \"%s\"", vrate,
                     vearn ? "earnings" : "measure");
        if (vabove > 0)
            n += snprintf(vrule + n, sizeof vrule - (size_t)n, ", \"above\": %lld",
                          (long long)vabove);
        snprintf(vrule + n, sizeof vrule - (size_t)n, "}");
        snprintf(extra, sizeof extra,
                 ", \"crediting\": {\"splits\": \"facts\", \"rollup\": {\"levels\": "
                 "{\"manager\": %s, \"vp\": %s}, \"count\": \"%s\"}}",
                 mrule, vrule, every ? "every_path" : "once_per_payee");
        snprintf(rounding, sizeof rounding, "{\"policy\": \"%s\"}",
                 spt_rng_chance(&r, 30) ? "per_line" : "per_total");
        env e;
        renv_init(&e, ctx,
                  plan1(ctx, "2024", rounding, "{\"kind\": \"amount\"}", "month",
                        scheds[it % 3], extra),
                  h);
        /* Payees: all ten, or without N (payee 2 then stands for F's and G's manager no
         * more: its overrides are skipped). */
        bool no_n = spt_rng_chance(&r, 30);
        uint32_t payees[10];
        size_t np = 0;
        for (size_t i = 0; i < 10; i++)
            if (!(no_n && all[i] == RN))
                payees[np++] = all[i];
        e.in.npayees = np;
        e.in.payees = payees;
        int64_t quotas[10];
        for (size_t i = 0; i < np; i++)
            quotas[i] = spt_rng_range(&r, 100000, 20000000);
        e.in.quotas = quotas;
        facts.n = 0;
        size_t nf = (size_t)spt_rng_range(&r, 0, 200);
        uint64_t sid[64];
        uint32_t spay[64];
        sp_dec sshare[64];
        size_t ns = 0;
        for (size_t i = 0; i < nf; i++) {
            uint32_t rep = reps[spt_rng_range(&r, 0, 10)];
            int64_t amount = 200 * spt_rng_range(&r, -10, 3000);
            int32_t day = spt_day(2024, 1, 1) + (int32_t)spt_rng_range(&r, 0, 30);
            uint64_t id = 1000 + i * 3;
            add(&facts, SP_FACT_ORDER_LINES, id, 0, day, rep, RP9, amount, 1, 0);
            if (amount > 0 && spt_rng_chance(&r, 30)) {
                int64_t a = 200 * spt_rng_range(&r, 0, amount / 200);
                int32_t rd = day + (int32_t)spt_rng_range(&r, 0, spt_day(2024, 2, 1) - 1 - day);
                add(&facts, SP_FACT_REFUNDS, id + 1, id, rd, SP_NONE, RP9, a, 0, 0);
            }
            if (ns + 2 <= 64 && spt_rng_chance(&r, 20)) {
                uint32_t p = (uint32_t)spt_rng_range(&r, 0, (int64_t)np - 1);
                uint32_t q = (p + 1 + (uint32_t)spt_rng_range(&r, 0, (int64_t)np - 2)) %
                             (uint32_t)np;
                sid[ns] = sid[ns + 1] = id;
                spay[ns] = p;
                spay[ns + 1] = q;
                sshare[ns] = sshare[ns + 1] = PCT(50);
                ns += 2;
            }
        }
        memcpy(&e.src, &facts, sizeof facts);
        spi_split_table *t = NULL;
        if (ns > 0)
            assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, ns,
                                                 (uint32_t)np), SP_OK);
        e.in.splits = t;
        spi_crun base = run_rollup(&e);
        for (int k = 0; k < 2; k++) {
            e.src.seed = spt_rng_next(&r) | 1;
            e.src.max_batch = (size_t)spt_rng_range(&r, 1, 64);
            spi_crun o = run_ok(&e);
            same_runs(&base, &o);
            assert_memory_equal(o.overrides, base.overrides, np * sizeof *o.overrides);
            spi_crun_free(ctx, &o);
        }
        /* The second implementation: teams from the measures, overrides telescoping. */
        int64_t meas[RNDICT] = { 0 };
        size_t at[RNDICT];
        for (size_t i = 0; i < RNDICT; i++)
            at[i] = SIZE_MAX;
        for (size_t i = 0; i < np; i++) {
            meas[payees[i]] = base.measure[i];
            at[payees[i]] = i;
        }
        int64_t team_m = meas[RA] + meas[RB] + meas[RC] + meas[RD] + meas[RE];
        int64_t team_n = meas[RF] + meas[RG];
        int64_t team_vp = team_m + team_n + meas[RM] + meas[RN];
        struct {
            uint32_t who;
            int64_t team, above;
            int rate, thr;
            bool skip;
        } mgr[3] = { { RM, team_m, mabove * 100, mrate, mthr, false },
                     { RN, team_n, mabove * 100, mrate, mthr, no_n },
                     { RVP, team_vp, vabove * 100, vrate, -1, vearn } };
        for (int k = 0; k < 3; k++) {
            if (at[mgr[k].who] == SIZE_MAX)
                continue;
            size_t p = at[mgr[k].who];
            assert_int_equal(base.team[p], mgr[k].team);
            if (mgr[k].skip)
                continue;
            bool reached = mgr[k].thr < 0 || mgr[k].team * 100 >= mgr[k].thr * quotas[p];
            int64_t over = mgr[k].team > mgr[k].above ? mgr[k].team - mgr[k].above : 0;
            assert_int_equal(base.overrides[p], reached ? over / 100 * mgr[k].rate : 0);
        }
        /* N no payee: its overrides counted: once per line of F's or G's (a line split
         * between the two once), or once per path. */
        uint64_t want_skipped = 0;
        if (no_n) {
            uint64_t keys[4096];
            size_t nk = 0;
            for (size_t i = 0; i < np; i++) {
                if (payees[i] != RF && payees[i] != RG)
                    continue;
                const spi_cstatement *st = &base.statements[i];
                for (size_t j = 0; j < st->nlines; j++) {
                    const spi_cline *l = &base.lines[st->first + j];
                    if (l->kind == SPI_CLINE_ORDER || l->kind == SPI_CLINE_REFUND)
                        keys[nk++] = l->fact;
                }
            }
            for (size_t i = 0; i < nk; i++) {
                bool seen = false;
                for (size_t j = 0; !every && j < i; j++)
                    seen = seen || keys[j] == keys[i];
                want_skipped += !seen;
            }
        }
        assert_int_equal(base.report.overrides_not_payee, want_skipped);
        spi_crun_free(ctx, &base);
        spi_split_table_free(t);
        env_free(&e);
    }
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* The roll-up's allocations fail in turn (both paths), and the source at every batch:
 * nothing made, nothing leaked. */
static void test_rollup_faults(void **state)
{
    (void)state;
    static fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    sp_ctx *ctx = spt_ctx_with(&f.alloc);
    sp_hierarchy *h = rollup_hierarchy(ctx, true);
    renv_init(&f.e, ctx,
              plan_rollup(ctx, "{\"kind\": \"amount\"}",
                          "{\"levels\": {\"manager\": {\"rate\": \"2%\", \"threshold\": "
                          "\"100%\"}, \"vp\": {\"rate\": \"1%\", \"on\": \"earnings\"}}, "
                          "\"count\": \"every_path\"}"),
              h);
    add_61(&f.e.src);
    add(&f.e.src, SP_FACT_ORDER_LINES, 6, 0, spt_day(2024, 1, 10), RM, RP9, 2000000, 1, 0);
    add(&f.e.src, SP_FACT_REFUNDS, 7, 1, spt_day(2024, 1, 20), SP_NONE, RP9, 100000, 0, 0);
    f.e.src.seed = 3;
    f.e.src.max_batch = 2;
    static const int64_t quotas[7] = { 0, 28000000, 0, 0, 0, 0, 0 };
    f.e.in.quotas = quotas;
    static const uint64_t sid[2] = { 2, 2 };
    static const uint32_t spay[2] = { 3, 4 };
    static const sp_dec sshare[2] = { PCT(40), PCT(60) };
    spi_split_table *t;
    assert_int_equal(spi_split_table_new(&t, ctx, sid, spay, sshare, 2, 7), SP_OK);
    f.e.in.splits = t;
    size_t live = f.alloc.live_blocks;
    static const int errors[] = { SP_ENOMEM };
    for (int lines = 0; lines < 2; lines++) {
        f.e.in.want_lines = lines == 1;
        spt_fault_case fc = { "roll-up", run_fault, undo_fault, check_fault, live_fault,
                              errors, 1, &f };
        spt_injector inj = spt_alloc_injector(&f.alloc);
        assert_true(spt_fault_loop(&fc, &inj) >= 10);
    }
    spi_crun o = run_ok(&f.e);
    uint64_t batches = f.e.src.batches;
    assert_int_equal(o.statements[1].total, 200000 + 600000 - 2000); /* refund: -100,000 x 2 % */
    spi_crun_free(ctx, &o);
    for (uint64_t k = 1; k <= batches; k++) {
        f.e.src.fail_at = k;
        memset(&o, 0, sizeof o);
        f.e.src.batches = 0;
        assert_int_equal(spi_cengine_run(ctx, &f.e.in, NULL, &o), SP_EUSER);
        assert_null(o.totals);
        assert_int_equal(f.alloc.live_blocks, live);
    }
    spi_split_table_free(t);
    env_free(&f.e);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ex_1_1_marginal), cmocka_unit_test(test_ex_1_1_retroactive),
        cmocka_unit_test(test_ex_1_2_spiff),    cmocka_unit_test(test_ex_6_3_split),
        cmocka_unit_test(test_ex_7_refunds),    cmocka_unit_test(test_spiff_per_line),
        cmocka_unit_test(test_ex_7_invoice),    cmocka_unit_test(test_ex_7_2_reversed),
        cmocka_unit_test(test_ex_8_1_payments), cmocka_unit_test(test_ex_8_2_payments),
        cmocka_unit_test(test_paid_split),      cmocka_unit_test(test_paid_spiff),
        cmocka_unit_test(test_deals),           cmocka_unit_test(test_split_per_unit),
        cmocka_unit_test(test_properties),      cmocka_unit_test(test_fast_totals),
        cmocka_unit_test(test_bases_properties),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_bad_bases),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_ex_3_4_cap_carry), cmocka_unit_test(test_cap_carry_cases),
        cmocka_unit_test(test_ex_4_1_4_2_draws), cmocka_unit_test(test_ex_4_3_forgiven),
        cmocka_unit_test(test_settle_model),     cmocka_unit_test(test_settle_errors),
        cmocka_unit_test(test_settle_faults),
        cmocka_unit_test(test_faults_bases),
        cmocka_unit_test(test_ex_6_1_override), cmocka_unit_test(test_rollup_refunds),
        cmocka_unit_test(test_ex_6_2_levels),   cmocka_unit_test(test_rollup_count),
        cmocka_unit_test(test_rollup_earnings_payments),
        cmocka_unit_test(test_rollup_draw),     cmocka_unit_test(test_rollup_cap),
        cmocka_unit_test(test_rollup_not_payee),
        cmocka_unit_test(test_rollup_errors),   cmocka_unit_test(test_rollup_properties),
        cmocka_unit_test(test_rollup_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
