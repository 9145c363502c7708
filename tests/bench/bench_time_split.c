/*
 * Splitting 1M annual targets over 12 months by one seasonality profile (largest
 * remainder, the earlier month among equals), on every side: salesplan's sp_timesplit, a
 * bare C loop, DuckDB and SQLite (window functions) and pandas/numpy, every side's 12M
 * values compared value by value. More salesplan variants (sp_allocate per node, a unit,
 * working-day weighting) are reported beside the bare loop.
 *
 *   bench_time_split [nodes]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"

#ifdef HAVE_SQLITE
#include "bench_sql.h"
#endif

#define MONTHS 12

/* A retail-like profile: a slow spring, a summer bump, a strong fourth quarter. Shares of
 * 100 %, in sp_dec. */
static const sp_dec profile[MONTHS] = { 62000000, 58000000, 74000000, 78000000, 81000000,
                                        86000000, 83000000, 80000000, 79000000, 88000000,
                                        103000000, 128000000 };

typedef struct run {
    sp_ctx *ctx;
    const int64_t *annual;
    size_t n;
    const sp_timesplit_options *o;
    int64_t *out;
#ifdef HAVE_SQLITE
    sqlite3 *db;
#endif
} run;

static void run_split(void *arg)
{
    run *r = arg;
    if (sp_timesplit(r->ctx, r->annual, r->n, profile, 1, MONTHS, r->o, r->out) != SP_OK)
        bench_die("sp_timesplit: %s", sp_ctx_errmsg(r->ctx));
}

/* What a host would write with the library's allocation alone. */
static void run_allocate_each(void *arg)
{
    run *r = arg;
    for (size_t i = 0; i < r->n; i++)
        if (sp_allocate(r->ctx, r->annual[i], profile, MONTHS, NULL, r->out + i * MONTHS) != SP_OK)
            bench_die("sp_allocate: %s", sp_ctx_errmsg(r->ctx));
}

/* The floor: floors and remainders per row, then the largest remainders one by one. */
static void run_bare(void *arg)
{
    run *r = arg;
    int64_t wsum = 0;
    for (int m = 0; m < MONTHS; m++)
        wsum += profile[m];
    for (size_t i = 0; i < r->n; i++) {
        int64_t a = r->annual[i], left = a, rem[MONTHS], *out = r->out + i * MONTHS;
        for (int m = 0; m < MONTHS; m++) {
            int64_t prod = a * profile[m];
            out[m] = prod / wsum;
            rem[m] = prod % wsum;
            left -= out[m];
        }
        for (; left > 0; left--) {
            int best = 0;
            for (int m = 1; m < MONTHS; m++)
                best = rem[m] > rem[best] ? m : best;
            out[best]++;
            rem[best] = -1;
        }
    }
}

#ifdef HAVE_SQLITE
static void run_sqlite(void *arg)
{
    run *r = arg;
    char sql[1024];
    bench_sql_time_split(sql, sizeof sql, "annual");
    sqlite3_stmt *st = bench_sql_prepare(r->db, sql);
    while (sqlite3_step(st) == SQLITE_ROW)
        r->out[sqlite3_column_int64(st, 0) * MONTHS + sqlite3_column_int64(st, 1)] =
            sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
}

static double sqlite_load(sqlite3 *db, const int64_t *annual, size_t n)
{
    double t0 = bench_now_ms();
    bench_sql_exec(db, "CREATE TABLE annual(i INTEGER PRIMARY KEY, pid INTEGER NOT NULL, "
                       "a INTEGER NOT NULL); BEGIN");
    sqlite3_stmt *st = bench_sql_prepare(db, "INSERT INTO annual VALUES(?, 0, ?)");
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_int64(st, 2, annual[i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bench_sql_load_profiles(db, profile, 1, MONTHS);
    bench_sql_exec(db, "COMMIT");
    return bench_now_ms() - t0;
}
#endif

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int64_t *annual = malloc(n * sizeof *annual), *want = malloc(n * MONTHS * sizeof *want);
    int64_t *got = malloc(n * MONTHS * sizeof *got);
    uint64_t seed = 7;
    /* Annual targets up to 50,000,000.00 in cents, so that amount x share fits int64_t,
     * as SQLite, DuckDB and numpy need. */
    for (size_t i = 0; i < n; i++)
        annual[i] = (int64_t)(bench_splitmix(&seed) % INT64_C(5000000000));
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    printf("time split of %zu annual targets over %d months by one profile; warm, then "
           "min/median/max of %d runs (ms)\n\n",
           n, MONTHS, BENCH_RUNS);

    run r = { .ctx = ctx, .annual = annual, .n = n, .out = want };
    bench_report("time_split", "salesplan", -1, bench_measure(run_split, &r), "sp_timesplit");
    r.out = got;
    bench_stats s = bench_measure(run_bare, &r);
    bench_same("time_split", "bare", want, got, n * MONTHS);
    bench_report("time_split", "bare", -1, s, "same result");
    s = bench_measure(run_allocate_each, &r);
    bench_same("time_split.allocate_each", "salesplan", want, got, n * MONTHS);
    bench_report("time_split.allocate_each", "salesplan", -1, s,
                 "same result; sp_allocate called per node");

    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.unit = 10000;
    r.o = &o;
    bench_report("time_split.unit", "salesplan", -1, bench_measure(run_split, &r),
                 "whole hundreds (unit 10000)");
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.weekend = SP_SATURDAY | SP_SUNDAY;
    sp_calendar *cal;
    sp_calendar_new(&cal, ctx, &co);
    o = (sp_timesplit_options)SP_TIMESPLIT_OPTIONS_INIT;
    o.policy = SP_PROFILE_NORMALISE;
    o.calendar = cal;
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_MONTH;
    o.weighting = SP_TIME_WEIGHT_WORKING_DAYS;
    bench_report("time_split.working_days", "salesplan", -1, bench_measure(run_split, &r),
                 "share x working days of FY2026");
    sp_calendar_free(cal);
    r.o = NULL;

    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "annual", annual, sizeof *annual, n);
    char args[512];
    int len = 0;
    for (int m = 0; m < MONTHS; m++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %lld", (long long)profile[m]);
    bench_peer_result res[1];
    bench_peer("duckdb", "time_split", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "time_split", "time_split", "duckdb", want, got, n * MONTHS);
    bench_peer("python", "time_split_pandas.py", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "time_split", "time_split", "pandas", want, got, n * MONTHS);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    double load = sqlite_load(db, annual, n);
    r.db = db;
    s = bench_measure(run_sqlite, &r);
    bench_same("time_split", "sqlite", want, got, n * MONTHS);
    bench_report("time_split", "sqlite", load, s, "same result; window functions");
    sqlite3_close(db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    sp_ctx_free(ctx);
    free(annual);
    free(want);
    free(got);
    return 0;
}
