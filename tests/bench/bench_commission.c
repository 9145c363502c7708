/*
 * The commission engine v0 (src/commission/engine.c): 10M order lines of 10k reps in one
 * quarter, a 3-tier marginal plan on the period-cumulative amount (3 % to 5,000.00, 5 % to
 * 10,000.00, 8 % above; per total, half even), beside a bare C loop that sums the amounts
 * by rep and applies the same tiers to each sum (the floor):
 *
 *   totals   the engine's totals path: one pass summing the measure by payee, then
 *            R(P(measure)) per payee
 *   lines    statements with every line (tier, rate, earning): the credits kept, radix-
 *            sorted by (payee, day, kind, id), walked through the schedule
 *
 * The host's source hands out its arrays in place, 64K rows per batch. Timing by bench.h
 * (one warm run, BENCH_RUNS timed); every side's totals are compared with the bare loop's.
 * DuckDB comes later. Run it from a release build:
 * build-release/tests/bench/bench_commission [rows].
 */
#include <salesplan/salesplan.h>

#include "bench.h"
#include "commission/engine.h"
#include "money/numeric.h"

#define REPS 10000u
#define Q1_2026 20454 /* 2026-01-01 */
#define DAYS 90
#define BATCH 65536u

typedef struct data {
    size_t n;
    uint64_t *id;
    uint32_t *rep;
    int32_t *day;
    int64_t *amount;
} data;

static int host_scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    const data *d = user;
    if (q->kind != SP_FACT_ORDER_LINES)
        return 0;
    for (size_t start = 0; start < d->n; start += BATCH) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = d->n - start < BATCH ? d->n - start : BATCH;
        b.id = d->id + start;
        b.day = d->day + start;
        b.rep = d->rep + start;
        b.amount = d->amount + start;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* R(x / 10^9) half even, x >= 0 in 10^-9 minor units. */
static int64_t round_half_even(spi_i128 x)
{
    spi_i128 q = x / 1000000000, r = x % 1000000000;
    if (r > 500000000 || (r == 500000000 && (q & 1)))
        q++;
    return (int64_t)q;
}

typedef struct ctx_bare {
    const data *d;
    int64_t *sums, *totals;
} ctx_bare;

static void bare(void *arg)
{
    ctx_bare *c = arg;
    const data *d = c->d;
    memset(c->sums, 0, REPS * sizeof *c->sums);
    for (size_t i = 0; i < d->n; i++)
        c->sums[d->rep[i]] += d->amount[i];
    static const int64_t b1 = 500000, b2 = 1000000;
    for (size_t p = 0; p < REPS; p++) {
        int64_t x = c->sums[p];
        spi_i128 v;
        if (x < b1)
            v = (spi_i128)x * 30000000;
        else if (x < b2)
            v = (spi_i128)b1 * 30000000 + (spi_i128)(x - b1) * 50000000;
        else
            v = (spi_i128)b1 * 30000000 + (spi_i128)(b2 - b1) * 50000000 +
                (spi_i128)(x - b2) * 80000000;
        c->totals[p] = round_half_even(v);
    }
}

typedef struct ctx_engine {
    sp_ctx *ctx;
    spi_cengine_input in;
    spi_crun out;
    bool have;
} ctx_engine;

static void engine_reset(void *arg)
{
    ctx_engine *c = arg;
    if (c->have)
        spi_crun_free(c->ctx, &c->out);
    c->have = false;
}

static void engine(void *arg)
{
    ctx_engine *c = arg;
    if (spi_cengine_run(c->ctx, &c->in, NULL, &c->out) != SP_OK)
        bench_die("engine: %s", sp_ctx_errmsg(c->ctx));
    c->have = true;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000u;
    data d = { n, malloc(n * sizeof(uint64_t)), malloc(n * sizeof(uint32_t)),
               malloc(n * sizeof(int32_t)), malloc(n * sizeof(int64_t)) };
    if (d.id == NULL || d.rep == NULL || d.day == NULL || d.amount == NULL)
        bench_die("out of memory");
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = bench_splitmix(&seed);
        d.id[i] = i + 1;
        d.rep[i] = (uint32_t)(r % REPS);
        d.day[i] = Q1_2026 + (int32_t)((r >> 20) % DAYS);
        d.amount[i] = (int64_t)((r >> 32) % 200000u); /* 0 .. 1,999.99 */
    }
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        bench_die("context");
    double t0 = bench_now_ms();
    sp_dict *dict;
    if (sp_dict_new(&dict, ctx) != SP_OK)
        bench_die("dict");
    uint32_t *payees = malloc(REPS * sizeof *payees);
    for (uint32_t p = 0; p < REPS; p++) {
        char id[16];
        int len = snprintf(id, sizeof id, "r%u", p);
        if (sp_dict_add(dict, id, (size_t)len, &payees[p]) != SP_OK)
            bench_die("dict add");
    }
    static const char plan_json[] =
        "{\"plan\": \"B\", \"effective\": {\"from\": \"2026-01-01\"}, \"currency\": \"USD\", "
        "\"components\": [{\"id\": \"amount\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"quarter\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": ["
        "{\"rate\": \"3%\"}, {\"from\": 5000, \"rate\": \"5%\"}, {\"from\": 10000, "
        "\"rate\": \"8%\"}]}}]}";
    spi_cplan plan;
    if (spi_cplan_read(ctx, plan_json, strlen(plan_json), &plan) != SP_OK)
        bench_die("plan: %s", sp_ctx_errmsg(ctx));
    double load = bench_now_ms() - t0;
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = &d;
    src.scan = host_scan;

    ctx_bare cb = { &d, calloc(REPS, sizeof(int64_t)), calloc(REPS, sizeof(int64_t)) };
    bench_stats sb = bench_measure(bare, &cb);
    char note[128];
    snprintf(note, sizeof note, "%zu lines, %u reps, sum by rep + 3 tiers", n, REPS);
    bench_report("commission totals", "bare", -1, sb, note);

    ctx_engine ce;
    memset(&ce, 0, sizeof ce);
    ce.ctx = ctx;
    ce.in.plan = &plan;
    ce.in.fiscal_year = 2026;
    ce.in.period = SPI_CPERIOD_QUARTER;
    ce.in.index = 0;
    ce.in.dict = dict;
    ce.in.npayees = REPS;
    ce.in.payees = payees;
    ce.in.src = &src;
    bench_stats st = bench_measure_reset(engine, engine_reset, &ce);
    if (!ce.out.report.totals_path)
        bench_die("the totals path was not taken");
    bench_same("commission totals", "salesplan", cb.totals, ce.out.totals, REPS);
    snprintf(note, sizeof note, "totals path, %.2fx bare", st.med / sb.med);
    bench_report("commission totals", "salesplan", load, st, note);
    engine_reset(&ce);

    ce.in.want_lines = true;
    bench_stats sl = bench_measure_reset(engine, engine_reset, &ce);
    bench_same("commission lines", "salesplan", cb.totals, ce.out.totals, REPS);
    snprintf(note, sizeof note, "%zu lines of %zu bytes, %.2fx bare", ce.out.nlines,
             sizeof(spi_cline), sl.med / sb.med);
    bench_report("commission lines", "salesplan", load, sl, note);
    engine_reset(&ce);

    spi_cplan_free(ctx, &plan);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
    free(payees);
    free(cb.sums);
    free(cb.totals);
    free(d.id);
    free(d.rep);
    free(d.day);
    free(d.amount);
    return 0;
}
