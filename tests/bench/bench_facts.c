/*
 * Fact reading: 10M order lines of 10,000 reps over 2025 and 2026, three workloads, each
 * on every side (salesplan, a bare C loop over the same arrays, DuckDB with 2 threads,
 * pandas, SQLite with a covering index), every side's sums compared value by value:
 *
 *   facts.rep        amount per rep, all rows: salesplan through spi_facts_scan (the
 *                    loop every module reads facts with: checks each batch, then hands
 *                    it to the consumer), the host's arrays in 64K-row batches
 *   facts.rep.2026   the same for 2026 only (the day filter; selection vectors)
 *   facts.actuals    2026 per rep and month: salesplan through the public
 *                    sp_target_plan_load_actuals (dictionary keys, the plan's calendar,
 *                    rolled up a company > 100 grids > 10,000 reps hierarchy); the others
 *                    group by rep and a day -> month table
 *
 * Loading: salesplan reads the host's arrays in place (nothing to load; the dictionary,
 * hierarchy and plan of facts.actuals are its loading), SQLite inserts the rows and builds
 * the index a DBA would add, DuckDB appends the columns, pandas builds the DataFrame.
 *
 *   bench_facts [rows]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"
#include "facts/facts_internal.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define REPS 10000
#define GRIDS 100
#define MONTHS 12
#define DAY0 20089         /* 2025-01-01 */
#define YEAR2026 20454     /* 2026-01-01 */
#define YEAR2027 20819     /* 2027-01-01 */
#define HOST_BATCH 65536u  /* rows per batch of the host's source */

typedef struct lines {
    size_t n;
    uint64_t *id;
    uint32_t *rep;
    int32_t *day;
    int64_t *amount;
} lines;

/* Month (0..11) of each day of 2026, from the civil calendar: the day -> month table the
 * bare loop and the peers group by. */
static int64_t month_of[YEAR2027 - YEAR2026];

static void make_months(void)
{
    static const int len[MONTHS] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int d = 0;
    for (int m = 0; m < MONTHS; m++)
        for (int k = 0; k < len[m]; k++)
            month_of[d++] = m;
}

/* ---- the host's source: its arrays, handed out in place ---- */

static int host_scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    const lines *l = user;
    (void)q;
    for (size_t start = 0; start < l->n; start += HOST_BATCH) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = l->n - start < HOST_BATCH ? l->n - start : HOST_BATCH;
        b.id = l->id + start;
        b.day = l->day + start;
        b.rep = l->rep + start;
        b.amount = l->amount + start;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The consumer a module would write: amount per rep, selection vector or not. */
static int sum_per_rep(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t nrows,
                       const spi_fact_where *at)
{
    (void)at;
    int64_t *sums = arg;
    if (rows == NULL) {
        for (size_t i = 0; i < nrows; i++)
            sums[b->rep[i]] += b->amount[i];
    } else {
        for (size_t k = 0; k < nrows; k++)
            sums[b->rep[rows[k]]] += b->amount[rows[k]];
    }
    return SP_OK;
}

static int quiet_progress(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    *(uint64_t *)user = done;
    return 0;
}

/* ---- the timed functions ---- */

typedef struct run {
    sp_ctx *ctx;
    const lines *l;
    const sp_fact_source *src;
    const sp_progress *progress;
    int32_t from, to;
    int64_t *sums; /* REPS, or REPS x MONTHS */
    /* facts.actuals */
    sp_target_plan *plan;
    const sp_dict *dict;
    int64_t *actual; /* nodes x MONTHS */
#ifdef HAVE_SQLITE
    sqlite3 *db;
    const char *sql;
#endif
} run;

static void run_scan(void *arg)
{
    run *r = arg;
    sp_fact_query q = { SP_FACT_QUERY_VERSION, SP_FACT_ORDER_LINES, r->from, r->to };
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    bounds.rep = REPS;
    memset(r->sums, 0, REPS * sizeof *r->sums);
    if (spi_facts_scan(r->ctx, r->src, &q, &bounds, r->progress, sum_per_rep, r->sums) != SP_OK)
        bench_die("scan: %s", sp_ctx_errmsg(r->ctx));
}

/* The floor: the same sums over the same arrays, no checks, no batches. */
static void run_bare(void *arg)
{
    run *r = arg;
    const lines *l = r->l;
    int64_t *sums = r->sums;
    memset(sums, 0, REPS * sizeof *sums);
    if (r->from == INT32_MIN && r->to == INT32_MAX) {
        for (size_t i = 0; i < l->n; i++)
            sums[l->rep[i]] += l->amount[i];
    } else {
        /* Without a branch: half the rows are out, at random. */
        uint32_t from = (uint32_t)r->from, span = (uint32_t)r->to - from;
        for (size_t i = 0; i < l->n; i++) {
            int64_t keep = -(int64_t)((uint32_t)l->day[i] - from < span);
            sums[l->rep[i]] += l->amount[i] & keep;
        }
    }
}

static void run_bare_months(void *arg)
{
    run *r = arg;
    const lines *l = r->l;
    int64_t *sums = r->sums;
    memset(sums, 0, REPS * MONTHS * sizeof *sums);
    /* The fastest way found: the positions of a block's rows in 2026 gathered without a
     * branch, then summed (a branch per row, or a masked add to every row, is 2.5x
     * slower: half the rows are out, at random). */
    static uint32_t sel[4096];
    for (size_t start = 0; start < l->n; start += 4096) {
        size_t n = l->n - start < 4096 ? l->n - start : 4096, k = 0;
        const int32_t *day = l->day + start;
        for (size_t i = 0; i < n; i++) {
            sel[k] = (uint32_t)i;
            k += (uint32_t)day[i] - (uint32_t)YEAR2026 < YEAR2027 - YEAR2026;
        }
        for (size_t j = 0; j < k; j++) {
            size_t i = start + sel[j];
            sums[(size_t)l->rep[i] * MONTHS + (size_t)month_of[l->day[i] - YEAR2026]] +=
                l->amount[i];
        }
    }
}

static void run_actuals(void *arg)
{
    run *r = arg;
    sp_target_history_options o = SP_TARGET_HISTORY_OPTIONS_INIT;
    o.flags = SP_TARGET_HISTORY_STRICT_IDS;
    if (sp_target_plan_load_actuals(r->plan, r->src, r->dict, &o, NULL, r->actual, NULL) != SP_OK)
        bench_die("load_actuals: %s", sp_ctx_errmsg(r->ctx));
}

#ifdef HAVE_SQLITE
static void run_sqlite(void *arg)
{
    run *r = arg;
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(r->db, r->sql, -1, &st, 0) != SQLITE_OK)
        bench_die("sqlite: %s", sqlite3_errmsg(r->db));
    sqlite3_bind_int64(st, 1, r->from);
    sqlite3_bind_int64(st, 2, r->to);
    bool months = sqlite3_column_count(st) == 3;
    memset(r->sums, 0, (months ? REPS * MONTHS : REPS) * sizeof *r->sums);
    while (sqlite3_step(st) == SQLITE_ROW) {
        size_t at = (size_t)sqlite3_column_int64(st, 0);
        if (months)
            at = at * MONTHS + (size_t)sqlite3_column_int64(st, 1);
        r->sums[at] = sqlite3_column_int64(st, months ? 2 : 1);
    }
    sqlite3_finalize(st);
}

/* The rows, a calendar table (day -> month of 2026) and the covering index a DBA would
 * give a grouped sum: (rep, day, amount) serves all rows and a day range alike. */
static double sqlite_load(sqlite3 *db, const lines *l)
{
    sqlite3_stmt *st;
    double t0 = bench_now_ms();
    sqlite3_exec(db, "CREATE TABLE lines(id INTEGER PRIMARY KEY, rep INTEGER NOT NULL, "
                     "day INTEGER NOT NULL, amount INTEGER NOT NULL); "
                     "CREATE TABLE cal(day INTEGER PRIMARY KEY, m INTEGER NOT NULL); BEGIN",
                 0, 0, 0);
    sqlite3_prepare_v2(db, "INSERT INTO lines VALUES(?, ?, ?, ?)", -1, &st, 0);
    for (size_t i = 0; i < l->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)l->id[i]);
        sqlite3_bind_int64(st, 2, l->rep[i]);
        sqlite3_bind_int64(st, 3, l->day[i]);
        sqlite3_bind_int64(st, 4, l->amount[i]);
        if (sqlite3_step(st) != SQLITE_DONE)
            bench_die("sqlite insert: %s", sqlite3_errmsg(db));
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_prepare_v2(db, "INSERT INTO cal VALUES(?, ?)", -1, &st, 0);
    for (int d = 0; d < YEAR2027 - YEAR2026; d++) {
        sqlite3_bind_int64(st, 1, YEAR2026 + d);
        sqlite3_bind_int64(st, 2, month_of[d]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "COMMIT; CREATE INDEX lines_rep ON lines(rep, day, amount); ANALYZE",
                     0, 0, 0) != SQLITE_OK)
        bench_die("sqlite: %s", sqlite3_errmsg(db));
    return bench_now_ms() - t0;
}
#endif

/* The hierarchy of facts.actuals: company C, grids G00..G99, reps R00000..R09999 (rep i
 * in grid i % GRIDS), and the dictionary of the rep column (index i: rep i). Its ids live
 * in `idbuf`. */
static double make_plan(sp_ctx *ctx, char *idbuf, sp_dict **dict, sp_target_plan **plan,
                        uint32_t *rep_node)
{
    const size_t n = 1 + GRIDS + REPS;
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    for (size_t k = 0; k < n; k++) {
        char *id = idbuf + k * 8;
        if (k == 0)
            snprintf(id, 8, "C");
        else if (k <= GRIDS)
            snprintf(id, 8, "G%02zu", k - 1);
        else
            snprintf(id, 8, "R%05zu", k - 1 - GRIDS);
        ids[k] = id;
        parents[k] = k == 0 ? NULL : k <= GRIDS ? idbuf : idbuf + (1 + (k - 1 - GRIDS) % GRIDS) * 8;
    }
    double t0 = bench_now_ms();
    sp_hierarchy *h;
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.currency = "CNY";
    po.fiscal_year = 2026;
    if (sp_dict_new(dict, ctx) != SP_OK ||
        sp_dict_add_all(*dict, ids + 1 + GRIDS, NULL, REPS, NULL) != SP_OK ||
        sp_hierarchy_new(&h, ctx) != SP_OK ||
        sp_hierarchy_add_all(h, ids, NULL, parents, NULL, n, NULL) != SP_OK ||
        sp_hierarchy_validate(h) != SP_OK ||
        sp_target_plan_new(plan, ctx, "FY2026", h, &po) != SP_OK)
        bench_die("plan: %s", sp_ctx_errmsg(ctx));
    double ms = bench_now_ms() - t0;
    for (size_t i = 0; i < REPS; i++)
        if (sp_hierarchy_find(h, ids[1 + GRIDS + i], strlen(ids[1 + GRIDS + i]), &rep_node[i]) !=
            SP_OK)
            bench_die("rep %zu: %s", i, sp_ctx_errmsg(ctx));
    sp_hierarchy_free(h);
    free(ids);
    free(parents);
    return ms;
}

int main(int argc, char **argv)
{
    lines l;
    l.n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    l.id = malloc(l.n * sizeof *l.id);
    l.rep = malloc(l.n * sizeof *l.rep);
    l.day = malloc(l.n * sizeof *l.day);
    l.amount = malloc(l.n * sizeof *l.amount);
    uint64_t seed = 3;
    for (size_t i = 0; i < l.n; i++) {
        uint64_t r = bench_splitmix(&seed);
        l.id[i] = i + 1;
        l.rep[i] = (uint32_t)(r % REPS);
        l.day[i] = DAY0 + (int32_t)((r >> 20) % 730); /* 2025 and 2026 */
        l.amount[i] = (int64_t)((r >> 40) % 1000000); /* up to 9,999.99 */
    }
    make_months();
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    int64_t *want_all = malloc(REPS * sizeof *want_all), *want_year = malloc(REPS * sizeof *want_year);
    int64_t *want_months = malloc(REPS * MONTHS * sizeof *want_months);
    int64_t *sums = malloc(REPS * MONTHS * sizeof *sums);

    printf("%zu order lines, %d reps, days in 2025 and 2026; warm, then min/median/max of %d "
           "runs (ms)\n\n",
           l.n, REPS, BENCH_RUNS);

    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = &l;
    src.scan = host_scan;
    run r = { .ctx = ctx, .l = &l, .src = &src, .from = INT32_MIN, .to = INT32_MAX, .sums = sums };

    /* ---- facts.rep: all rows ---- */
    bench_stats s = bench_measure(run_scan, &r);
    memcpy(want_all, sums, REPS * sizeof *sums);
    bench_report("facts.rep", "salesplan", -1, s, "spi_facts_scan, host arrays in 64K batches");
    bench_stats bare = bench_measure(run_bare, &r);
    bench_same("facts.rep", "bare", want_all, sums, REPS);
    bench_report("facts.rep", "bare", -1, bare, "sums[rep[i]] += amount[i]");

    uint64_t done = 0;
    sp_progress progress = SP_PROGRESS_INIT;
    progress.user = &done;
    progress.report = quiet_progress;
    r.progress = &progress;
    s = bench_measure(run_scan, &r);
    bench_same("facts.rep.progress", "salesplan", want_all, sums, REPS);
    bench_report("facts.rep.progress", "salesplan", -1, s, "the same with a progress callback");
    r.progress = NULL;

    sp_fact_source *mem;
    sp_fact_source_memory_new(&mem, ctx);
    double t0 = bench_now_ms();
    sp_fact_batch b = SP_FACT_BATCH_INIT;
    b.kind = SP_FACT_ORDER_LINES;
    b.count = l.n;
    b.id = l.id;
    b.day = l.day;
    b.rep = l.rep;
    b.amount = l.amount;
    if (sp_fact_source_memory_append(mem, &b) != SP_OK)
        bench_die("append: %s", sp_ctx_errmsg(ctx));
    double mem_load = bench_now_ms() - t0;
    r.src = mem;
    s = bench_measure(run_scan, &r);
    bench_same("facts.rep.memsource", "salesplan", want_all, sums, REPS);
    bench_report("facts.rep.memsource", "salesplan", mem_load, s,
                 "memory fact source (load: append, a checked copy)");
    sp_fact_source_free(mem);
    r.src = &src;

    /* ---- facts.rep.2026: one year of two ---- */
    r.from = YEAR2026;
    r.to = YEAR2027;
    s = bench_measure(run_scan, &r);
    memcpy(want_year, sums, REPS * sizeof *sums);
    bench_report("facts.rep.2026", "salesplan", -1, s, "spi_facts_scan, selection vectors");
    bare = bench_measure(run_bare, &r);
    bench_same("facts.rep.2026", "bare", want_year, sums, REPS);
    bench_report("facts.rep.2026", "bare", -1, bare, "if (day in 2026) sums[rep] += amount");

    /* ---- facts.actuals: the public API, per rep and month of 2026 ---- */
    char *idbuf = malloc((1 + GRIDS + REPS) * 8);
    uint32_t *rep_node = malloc(REPS * sizeof *rep_node);
    sp_dict *dict;
    sp_target_plan *plan;
    double plan_ms = make_plan(ctx, idbuf, &dict, &plan, rep_node);
    r.plan = plan;
    r.dict = dict;
    r.actual = malloc((1 + GRIDS + REPS) * MONTHS * sizeof *r.actual);
    s = bench_measure(run_actuals, &r);
    for (size_t i = 0; i < REPS; i++)
        memcpy(want_months + i * MONTHS, r.actual + (size_t)rep_node[i] * MONTHS,
               MONTHS * sizeof *want_months);
    bench_report("facts.actuals", "salesplan", plan_ms, s,
                 "sp_target_plan_load_actuals (load: dict, hierarchy, plan)");
    bare = bench_measure(run_bare_months, &r);
    bench_same("facts.actuals", "bare", want_months, sums, REPS * MONTHS);
    bench_report("facts.actuals", "bare", -1, bare, "selection vector, sums[rep][month_of[day]] += amount");
    sp_target_plan_free(plan);
    sp_dict_free(dict);

    /* ---- the peers: DuckDB and pandas read the same columns from files ---- */
    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "rep", l.rep, sizeof *l.rep, l.n);
    bench_dir_write(&dir, "day", l.day, sizeof *l.day, l.n);
    bench_dir_write(&dir, "amount", l.amount, sizeof *l.amount, l.n);
    bench_dir_write(&dir, "month_of", month_of, sizeof *month_of, YEAR2027 - YEAR2026);
    char args[128];
    snprintf(args, sizeof args, "%d %d %d", REPS, YEAR2026, YEAR2027);
    bench_peer_result res[3];
    bench_peer("duckdb", "facts", &dir, args, res, 3);
    bench_peer_check(&dir, res, 3, "rep", "facts.rep", "duckdb", want_all, sums, REPS);
    bench_peer_check(&dir, res, 3, "rep2026", "facts.rep.2026", "duckdb", want_year, sums, REPS);
    bench_peer_check(&dir, res, 3, "actuals", "facts.actuals", "duckdb", want_months, sums,
                     REPS * MONTHS);
    bench_peer("python", "facts_pandas.py", &dir, args, res, 3);
    bench_peer_check(&dir, res, 3, "rep", "facts.rep", "pandas", want_all, sums, REPS);
    bench_peer_check(&dir, res, 3, "rep2026", "facts.rep.2026", "pandas", want_year, sums, REPS);
    bench_peer_check(&dir, res, 3, "actuals", "facts.actuals", "pandas", want_months, sums,
                     REPS * MONTHS);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    double load = sqlite_load(db, &l);
    r.db = db;
    r.sql = "SELECT rep, SUM(amount) FROM lines GROUP BY rep";
    s = bench_measure(run_sqlite, &r);
    bench_same("facts.rep", "sqlite", want_all, sums, REPS);
    bench_report("facts.rep", "sqlite", load, s, "same result; covering index (rep, day, amount)");
    r.from = YEAR2026;
    r.to = YEAR2027;
    r.sql = "SELECT rep, SUM(amount) FROM lines WHERE day >= ?1 AND day < ?2 GROUP BY rep";
    s = bench_measure(run_sqlite, &r);
    bench_same("facts.rep.2026", "sqlite", want_year, sums, REPS);
    bench_report("facts.rep.2026", "sqlite", load, s, "same result; the same index");
    r.sql = "SELECT l.rep, c.m, SUM(l.amount) FROM lines l JOIN cal c ON c.day = l.day "
            "WHERE l.day >= ?1 AND l.day < ?2 GROUP BY l.rep, c.m";
    s = bench_measure(run_sqlite, &r);
    bench_same("facts.actuals", "sqlite", want_months, sums, REPS * MONTHS);
    bench_report("facts.actuals", "sqlite", load, s, "same result; the same index + day table");
    sqlite3_close(db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    sp_ctx_free(ctx);
    free(idbuf);
    free(rep_node);
    free(r.actual);
    free(want_all);
    free(want_year);
    free(want_months);
    free(sums);
    free(l.id);
    free(l.rep);
    free(l.day);
    free(l.amount);
    return 0;
}
