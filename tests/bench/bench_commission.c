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
 * (one warm run, BENCH_RUNS timed); every side's totals are compared with the engine's,
 * rep by rep. The peers compute the same totals from the same order lines (every line
 * falls in the quarter, so no side filters by day): sum by rep, then the tiers in exact
 * integer arithmetic, in cents x the rate in basis points (3 % = 300; the sum of the tiers
 * fits int64 with room to spare), divided by 10,000 and rounded half even to the cent:
 *
 *   duckdb   2 threads, SQL: GROUP BY rep, then the tiers as CASE arithmetic
 *            (tests/bench/duckdb_bench.mjs, workload commission)
 *   pandas   groupby sum, then the tiers vectorised in int64 (commission_pandas.py)
 *   sqlite   the same SQL, a covering index (rep, amount)
 *
 * Loading (their tables, index, DataFrame) is timed apart; salesplan's is the dictionary
 * of 10k payees and the plan. Then the ledger (src/commission/ledger.c) on the statements
 * with every line:
 *
 *   post       the 10k statements and their 10M lines posted to a new file store: one
 *              transaction, its commit one write and fsync (the budget: 10 s)
 *   statement  one payee's statement read back from that store (the chunks that hold it)
 *   correct    the quarter closed, a recomputed truth with 1 % of its lines changed posted
 *              into the next quarter: the closed quarter loaded whole, both sides' lines
 *              matched, the delta lines written
 *
 * beside the floor of the post: the 640 MB of lines written raw to a new file and fsynced.
 * Run it from a release build: build-release/tests/bench/bench_commission [rows] [ledger]
 * ("ledger": the statements and the ledger only, no totals and no peers).
 */
#include <sys/stat.h>

#include <salesplan/salesplan.h>

#include "bench.h"
#include "commission/engine.h"
#include "commission/ledger.h"
#include "money/numeric.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

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

#ifdef HAVE_SQLITE
/* The SQL of the peers (DuckDB's the same with `//` for the integer division): the tiers
 * in cents x basis points, then R(v / 10,000) half even. */
static const char sqlite_sql[] =
    "WITH s AS (SELECT rep, SUM(amount) AS x FROM lines GROUP BY rep),"
    " v AS (SELECT rep, CASE WHEN x < 500000 THEN x * 300"
    "                        WHEN x < 1000000 THEN 150000000 + (x - 500000) * 500"
    "                        ELSE 400000000 + (x - 1000000) * 800 END AS v FROM s)"
    " SELECT rep, v / 10000 + CASE WHEN v % 10000 > 5000"
    "                              OR (v % 10000 = 5000 AND (v / 10000) % 2 = 1)"
    "                         THEN 1 ELSE 0 END FROM v";

typedef struct ctx_sqlite {
    sqlite3 *db;
    int64_t *totals;
} ctx_sqlite;

static void run_sqlite(void *arg)
{
    ctx_sqlite *c = arg;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(c->db, sqlite_sql, -1, &st, 0) != SQLITE_OK)
        bench_die("sqlite: %s", sqlite3_errmsg(c->db));
    memset(c->totals, 0, REPS * sizeof *c->totals);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        c->totals[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    if (rc != SQLITE_DONE)
        bench_die("sqlite: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
}

/* The order lines and the covering index a DBA would give a sum by rep. */
static double sqlite_load(sqlite3 *db, const data *d)
{
    sqlite3_stmt *st;
    double t0 = bench_now_ms();
    if (sqlite3_exec(db, "CREATE TABLE lines(id INTEGER PRIMARY KEY, rep INTEGER NOT NULL, "
                         "day INTEGER NOT NULL, amount INTEGER NOT NULL); BEGIN",
                     0, 0, 0) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "INSERT INTO lines VALUES(?, ?, ?, ?)", -1, &st, 0) != SQLITE_OK)
        bench_die("sqlite: %s", sqlite3_errmsg(db));
    for (size_t i = 0; i < d->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)d->id[i]);
        sqlite3_bind_int64(st, 2, d->rep[i]);
        sqlite3_bind_int64(st, 3, d->day[i]);
        sqlite3_bind_int64(st, 4, d->amount[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            bench_die("sqlite insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT; CREATE INDEX lines_rep ON lines(rep, amount); ANALYZE", 0, 0,
                     0) != SQLITE_OK)
        bench_die("sqlite: %s", sqlite3_errmsg(db));
    return bench_now_ms() - t0;
}
#endif

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

/* ---- the ledger ---- */

typedef struct ctx_ledger {
    sp_ctx *ctx;
    char path[160];
    sp_storage *st;
    spi_cledger_run run;
    const spi_cline *lines;
    size_t nlines;
} ctx_ledger;

/* A new, empty file store (untimed). */
static void ledger_reset(void *arg)
{
    ctx_ledger *c = arg;
    sp_storage_free(c->st);
    c->st = NULL;
    unlink(c->path);
    if (sp_storage_file_new(&c->st, c->ctx, c->path, NULL) != SP_OK)
        bench_die("file store: %s", sp_ctx_errmsg(c->ctx));
}

static void ledger_post(void *arg)
{
    ctx_ledger *c = arg;
    spi_cledger_posted out;
    if (spi_cledger_post(c->ctx, c->st, &c->run, NULL, &out) != SP_OK)
        bench_die("post: %s", sp_ctx_errmsg(c->ctx));
    if (out.nlines != c->nlines)
        bench_die("post: %zu lines written of %zu", out.nlines, c->nlines);
}

static void ledger_statement(void *arg)
{
    ctx_ledger *c = arg;
    spi_cledger_statement s;
    if (spi_cledger_statement_load(c->ctx, c->st, c->run.plan, &c->run.period,
                                   c->run.payees[REPS / 2], &s) != SP_OK)
        bench_die("statement: %s", sp_ctx_errmsg(c->ctx));
    const spi_cstatement *want = &c->run.run->statements[REPS / 2];
    if (s.nparts != 1 || s.parts[0].nlines != want->nlines || s.total != want->total ||
        memcmp(s.parts[0].lines, c->lines + want->first, want->nlines * sizeof(spi_cline)))
        bench_die("statement: not the payee's lines");
    spi_cledger_statement_free(c->ctx, &s);
}

/* The closed quarter's truth changed: every 100th line earns one cent more. */
typedef struct ctx_correct {
    ctx_ledger *c;
    spi_cledger_run truth;
    spi_crun run;
} ctx_correct;

/* A new store holding the quarter posted and closed (untimed). */
static void correct_reset(void *arg)
{
    ctx_correct *k = arg;
    ledger_reset(k->c);
    ledger_post(k->c);
    if (spi_cledger_close(k->c->ctx, k->c->st, k->c->run.plan, &k->c->run.period) != SP_OK)
        bench_die("close: %s", sp_ctx_errmsg(k->c->ctx));
}

static void correct(void *arg)
{
    ctx_correct *k = arg;
    const spi_cledger_period q2 = { 2026, SPI_CPERIOD_QUARTER, 1 };
    spi_cledger_posted out;
    if (spi_cledger_post(k->c->ctx, k->c->st, &k->truth, &q2, &out) != SP_OK)
        bench_die("corrections: %s", sp_ctx_errmsg(k->c->ctx));
    if (out.nlines != (k->c->nlines + 99) / 100 || out.total != (int64_t)out.nlines)
        bench_die("corrections: %zu lines of total %lld", out.nlines, (long long)out.total);
}

/* The floor: the lines' bytes to a new file, then fsync. */
static void ledger_bare(void *arg)
{
    ctx_ledger *c = arg;
    char path[176];
    snprintf(path, sizeof path, "%s.raw", c->path);
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(c->lines, sizeof *c->lines, c->nlines, f) != c->nlines ||
        fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
        bench_die("bare: cannot write %s", path);
    unlink(path);
}

static void ledger_bench(sp_ctx *ctx, const sp_dict *dict, const spi_cplan *plan,
                         const spi_crun *run)
{
    const char **ids = malloc(REPS * sizeof *ids);
    if (ids == NULL)
        bench_die("out of memory");
    for (uint32_t p = 0; p < REPS; p++) {
        size_t len;
        if (sp_dict_id(dict, p, &ids[p], &len) != SP_OK)
            bench_die("dict id");
    }
    static const char *const comps[] = { "amount" };
    bench_dir dir;
    bench_dir_new(&dir);
    ctx_ledger c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    snprintf(c.path, sizeof c.path, "%s/ledger.store", dir.path);
    bench_dir_note(&dir, "ledger.store");
    spi_cledger_run r = { run, plan->plan, plan->from, 1, ids, comps,
                          { 2026, SPI_CPERIOD_QUARTER, 0 }, plan->currency, plan->rounding_mode,
                          plan->policy };
    c.run = r;
    c.lines = run->lines;
    c.nlines = run->nlines;
    bench_stats sp = bench_measure_reset(ledger_post, ledger_reset, &c);
    struct stat fst;
    if (stat(c.path, &fst) != 0)
        bench_die("no file store at %s", c.path);
    bench_stats sb = bench_measure(ledger_bare, &c);
    char note[160];
    snprintf(note, sizeof note, "%u statements, %zu lines, %.0f MB in the store; %.2fx the raw "
                                "lines written and fsynced",
             REPS, run->nlines, (double)fst.st_size / 1e6, sp.med / sb.med);
    bench_report("commission.post", "salesplan", -1, sp, note);
    snprintf(note, sizeof note, "%zu lines of %zu bytes to a new file, fsync", run->nlines,
             sizeof(spi_cline));
    bench_report("commission.post", "bare", -1, sb, note);
    bench_stats ss = bench_measure(ledger_statement, &c);
    snprintf(note, sizeof note, "%zu lines of one payee", run->statements[REPS / 2].nlines);
    bench_report("commission.statement", "salesplan", -1, ss, note);

    /* Corrections: the truth of the closed quarter against what it holds, line by line. */
    ctx_correct k;
    memset(&k, 0, sizeof k);
    k.c = &c;
    k.run = *run;
    k.run.lines = malloc(run->nlines * sizeof *k.run.lines);
    k.run.totals = malloc(REPS * sizeof *k.run.totals);
    k.run.statements = malloc(REPS * sizeof *k.run.statements);
    if (k.run.lines == NULL || k.run.totals == NULL || k.run.statements == NULL)
        bench_die("out of memory");
    memcpy(k.run.lines, run->lines, run->nlines * sizeof *k.run.lines);
    memcpy(k.run.totals, run->totals, REPS * sizeof *k.run.totals);
    memcpy(k.run.statements, run->statements, REPS * sizeof *k.run.statements);
    for (uint32_t p = 0; p < REPS; p++) {
        spi_cstatement *st = &k.run.statements[p];
        for (size_t i = st->first; i < st->first + st->nlines; i++)
            if (i % 100 == 0) {
                k.run.lines[i].earned++;
                k.run.lines[i].own++;
                k.run.totals[p]++;
                st->total++;
            }
    }
    k.truth = r;
    k.truth.run = &k.run;
    bench_stats sc = bench_measure_reset(correct, correct_reset, &k);
    snprintf(note, sizeof note, "a closed quarter of %zu lines against its truth (1%% of the "
                                "lines changed), the delta lines posted",
             run->nlines);
    bench_report("commission.correct", "salesplan", -1, sc, note);
    free(k.run.lines);
    free(k.run.totals);
    free(k.run.statements);
    sp_storage_free(c.st);
    bench_dir_free(&dir);
    free(ids);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000u;
    const bool ledger_only = argc > 2 && strcmp(argv[2], "ledger") == 0;
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
    int64_t *want = malloc(REPS * sizeof *want), *got = malloc(REPS * sizeof *got);
    if (cb.sums == NULL || cb.totals == NULL || want == NULL || got == NULL)
        bench_die("out of memory");
    printf("%zu order lines, %u reps, one quarter; warm, then min/median/max of %d runs (ms)\n\n",
           n, REPS, BENCH_RUNS);

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
    if (ledger_only) {
        ce.in.want_lines = true;
        engine(&ce);
        ledger_bench(ctx, dict, &plan, &ce.out);
        engine_reset(&ce);
        goto done;
    }
    bench_stats st = bench_measure_reset(engine, engine_reset, &ce);
    if (!ce.out.report.totals_path)
        bench_die("the totals path was not taken");
    memcpy(want, ce.out.totals, REPS * sizeof *want);
    engine_reset(&ce);

    bench_stats sb = bench_measure(bare, &cb);
    bench_same("commission.totals", "bare", want, cb.totals, REPS);
    char note[128];
    snprintf(note, sizeof note, "totals path, %.2fx bare", st.med / sb.med);
    bench_report("commission.totals", "salesplan", load, st, note);
    snprintf(note, sizeof note, "%zu lines, %u reps, sum by rep + 3 tiers", n, REPS);
    bench_report("commission.totals", "bare", -1, sb, note);

    ce.in.want_lines = true;
    bench_stats sl = bench_measure_reset(engine, engine_reset, &ce);
    bench_same("commission.lines", "salesplan", want, ce.out.totals, REPS);
    snprintf(note, sizeof note, "%zu lines of %zu bytes, %.2fx bare", ce.out.nlines,
             sizeof(spi_cline), sl.med / sb.med);
    bench_report("commission.lines", "salesplan", load, sl, note);
    ledger_bench(ctx, dict, &plan, &ce.out);
    engine_reset(&ce);

    /* ---- the peers: DuckDB and pandas read the same columns from files ---- */
    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "rep", d.rep, sizeof *d.rep, n);
    bench_dir_write(&dir, "amount", d.amount, sizeof *d.amount, n);
    char args[32];
    snprintf(args, sizeof args, "%u", REPS);
    bench_peer_result res[1];
    bench_peer("duckdb", "commission", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "commission", "commission.totals", "duckdb", want, got, REPS);
    bench_peer("python", "commission_pandas.py", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "commission", "commission.totals", "pandas", want, got, REPS);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        bench_die("sqlite: cannot open a database in memory");
    ctx_sqlite cs = { db, got };
    double sload = sqlite_load(db, &d);
    bench_stats sq = bench_measure(run_sqlite, &cs);
    bench_same("commission.totals", "sqlite", want, got, REPS);
    bench_report("commission.totals", "sqlite", sload, sq,
                 "same result; covering index (rep, amount)");
    sqlite3_close(db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif

done:
    spi_cplan_free(ctx, &plan);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
    free(payees);
    free(cb.sums);
    free(cb.totals);
    free(want);
    free(got);
    free(d.id);
    free(d.rep);
    free(d.day);
    free(d.amount);
    return 0;
}
