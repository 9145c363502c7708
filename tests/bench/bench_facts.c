/*
 * Fact sources: 10M order lines summed per rep through spi_facts_scan (the loop every
 * module reads facts with), beside a plain C loop over the same arrays, SQLite GROUP BY
 * and pandas groupby on the same data, all rows and one year of two. The alternatives'
 * sums are checked against salesplan's.
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

#define RUNS 3
#define REPS 1000
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

static uint64_t checksum(const int64_t *v, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)v[i]) * 1099511628211u;
    return h;
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

static double time_scan(sp_ctx *ctx, const sp_fact_source *src, int32_t from, int32_t to,
                        const sp_progress *progress, int64_t *sums)
{
    sp_fact_query q = { SP_FACT_QUERY_VERSION, SP_FACT_ORDER_LINES, from, to };
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    bounds.rep = REPS;
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        memset(sums, 0, REPS * sizeof *sums);
        double t0 = bench_now_ms();
        int rc = spi_facts_scan(ctx, src, &q, &bounds, progress, sum_per_rep, sums);
        double t = bench_now_ms() - t0;
        if (rc != SP_OK) {
            fprintf(stderr, "scan: %s\n", sp_ctx_errmsg(ctx));
            exit(1);
        }
        best = t < best ? t : best;
    }
    return best;
}

static double time_plain(const lines *l, int32_t from, int32_t to, int64_t *sums)
{
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        memset(sums, 0, REPS * sizeof *sums);
        double t0 = bench_now_ms();
        for (size_t i = 0; i < l->n; i++)
            if (l->day[i] >= from && l->day[i] < to)
                sums[l->rep[i]] += l->amount[i];
        double t = bench_now_ms() - t0;
        best = t < best ? t : best;
    }
    return best;
}

static void row(const char *what, double ms, uint64_t got, uint64_t want)
{
    printf("%-52s %9.1f  %s\n", what, ms, got == want ? "same sums" : "SUMS DIFFER");
}

#ifdef HAVE_SQLITE
static double sqlite_load(sqlite3 *db, const lines *l)
{
    sqlite3_stmt *st;
    double t0 = bench_now_ms();
    sqlite3_exec(db, "CREATE TABLE lines(id INTEGER PRIMARY KEY, rep INTEGER NOT NULL, "
                     "day INTEGER NOT NULL, amount INTEGER NOT NULL); BEGIN", 0, 0, 0);
    sqlite3_prepare_v2(db, "INSERT INTO lines VALUES(?, ?, ?, ?)", -1, &st, 0);
    for (size_t i = 0; i < l->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)l->id[i]);
        sqlite3_bind_int64(st, 2, l->rep[i]);
        sqlite3_bind_int64(st, 3, l->day[i]);
        sqlite3_bind_int64(st, 4, l->amount[i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    return bench_now_ms() - t0;
}

static double sqlite_query(sqlite3 *db, int32_t from, int32_t to, int64_t *sums)
{
    sqlite3_stmt *st;
    memset(sums, 0, REPS * sizeof *sums);
    double t0 = bench_now_ms();
    if (sqlite3_prepare_v2(db, "SELECT rep, SUM(amount) FROM lines WHERE day >= ?1 AND day < ?2 "
                               "GROUP BY rep", -1, &st, 0) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_bind_int64(st, 1, from);
    sqlite3_bind_int64(st, 2, to);
    while (sqlite3_step(st) == SQLITE_ROW)
        sums[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    return bench_now_ms() - t0;
}
#endif

/* pandas through Debian's python3, reading the same columns from raw files. */
static int pandas_side(const lines *l, double ms[2], uint64_t sums[2])
{
    char dir[] = "/tmp/sp-bench-facts-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    const struct {
        const char *name;
        const void *data;
        size_t size;
    } cols[] = { { "rep", l->rep, 4 }, { "day", l->day, 4 }, { "amount", l->amount, 8 } };
    char path[128];
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, cols[c].name);
        FILE *f = fopen(path, "wb");
        fwrite(cols[c].data, cols[c].size, l->n, f);
        fclose(f);
    }
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/facts_pandas.py %s %d %d %d 2>/dev/null",
             BENCH_DIR, dir, REPS, YEAR2026, YEAR2027);
    FILE *p = popen(cmd, "r");
    int got = p != NULL ? fscanf(p, "%lf %lf %llu %llu", &ms[0], &ms[1],
                                 (unsigned long long *)&sums[0], (unsigned long long *)&sums[1])
                        : 0;
    if (p != NULL)
        pclose(p);
    for (int c = 0; c < 3; c++) {
        snprintf(path, sizeof path, "%s/%s", dir, cols[c].name);
        remove(path);
    }
    remove(dir);
    return got == 4 ? 0 : -1;
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
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    int64_t sums[REPS];

    printf("%zu order lines, %d reps, days in 2025 and 2026; amount per rep (best of %d)\n\n",
           l.n, REPS, RUNS);
    printf("%-52s %9s\n", "method", "ms");
    double t = time_plain(&l, INT32_MIN, INT32_MAX, sums);
    uint64_t want_all = checksum(sums, REPS);
    printf("%-52s %9.1f\n", "plain C loop over the arrays (the floor)", t);
    t = time_plain(&l, YEAR2026, YEAR2027, sums);
    uint64_t want_year = checksum(sums, REPS);
    printf("%-52s %9.1f\n", "plain C loop, 2026 only", t);

    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = &l;
    src.scan = host_scan;
    t = time_scan(ctx, &src, INT32_MIN, INT32_MAX, NULL, sums);
    row("spi_facts_scan, host arrays in 64K batches", t, checksum(sums, REPS), want_all);
    uint64_t done = 0;
    sp_progress progress = SP_PROGRESS_INIT;
    progress.user = &done;
    progress.report = quiet_progress;
    t = time_scan(ctx, &src, INT32_MIN, INT32_MAX, &progress, sums);
    row("  the same with a progress callback", t, checksum(sums, REPS), want_all);
    t = time_scan(ctx, &src, YEAR2026, YEAR2027, NULL, sums);
    row("  2026 only (selection vectors)", t, checksum(sums, REPS), want_year);

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
    if (sp_fact_source_memory_append(mem, &b) != SP_OK) {
        fprintf(stderr, "append: %s\n", sp_ctx_errmsg(ctx));
        return 1;
    }
    printf("%-52s %9.1f\n", "memory fact source: append (copy, checked)", bench_now_ms() - t0);
    t = time_scan(ctx, mem, INT32_MIN, INT32_MAX, NULL, sums);
    row("spi_facts_scan, memory fact source", t, checksum(sums, REPS), want_all);
    sp_fact_source_free(mem);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    printf("%-52s %9.1f\n", "SQLite: load the table (not compared)", sqlite_load(db, &l));
    t = sqlite_query(db, INT32_MIN, INT32_MAX, sums);
    row("SQLite GROUP BY rep", t, checksum(sums, REPS), want_all);
    t = sqlite_query(db, YEAR2026, YEAR2027, sums);
    row("SQLite GROUP BY rep, 2026 only", t, checksum(sums, REPS), want_year);
    sqlite3_close(db);
#else
    printf("%-52s %9s\n", "SQLite (libsqlite3 not found)", "n/a");
#endif
    double pd_ms[2];
    uint64_t pd_sums[2];
    if (pandas_side(&l, pd_ms, pd_sums) == 0) {
        row("pandas groupby('rep').amount.sum()", pd_ms[0], pd_sums[0], want_all);
        row("pandas groupby, 2026 only", pd_ms[1], pd_sums[1], want_year);
    } else {
        printf("%-52s %9s\n", "pandas (python3-pandas not installed)", "n/a");
    }
    sp_ctx_free(ctx);
    free(l.id);
    free(l.rep);
    free(l.day);
    free(l.amount);
    return 0;
}
