/*
 * Splitting 1M nodes' annual targets over 12 months by one seasonality profile (budget:
 * well under 1 s on one core), beside the same largest-remainder split in SQLite (window
 * functions) and in pandas (vectorised numpy), on the same data. Each alternative's result
 * is checked against salesplan's by a checksum of all 12M values.
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

#define RUNS 3
#define MONTHS 12

/* A retail-like profile: a slow spring, a summer bump, a strong fourth quarter. Shares of
 * 100 %, in sp_dec. */
static const sp_dec profile[MONTHS] = { 62000000, 58000000, 74000000, 78000000, 81000000,
                                        86000000, 83000000, 80000000, 79000000, 88000000,
                                        103000000, 128000000 };

static double time_split(sp_ctx *ctx, const int64_t *annual, size_t n,
                         const sp_timesplit_options *o, int64_t *out)
{
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now_ms();
        int rc = sp_timesplit(ctx, annual, n, profile, 1, MONTHS, o, out);
        double t = bench_now_ms() - t0;
        if (rc != SP_OK) {
            fprintf(stderr, "sp_timesplit: %s\n", sp_ctx_errmsg(ctx));
            exit(1);
        }
        if (t < best)
            best = t;
    }
    return best;
}

#ifdef HAVE_SQLITE
/* bench_sql_time_split over annual(i, pid, a), every row by the one profile. */
static double sqlite_split(const int64_t *annual, size_t n, double *load_ms, uint64_t *sum_out)
{
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
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
    *load_ms = bench_now_ms() - t0;
    char sql[1024];
    bench_sql_time_split(sql, sizeof sql - 20, "annual");
    strcat(sql, " ORDER BY i, m");
    t0 = bench_now_ms();
    st = bench_sql_prepare(db, sql);
    int64_t *out = malloc(n * MONTHS * sizeof *out);
    size_t k = 0;
    while (sqlite3_step(st) == SQLITE_ROW && k < n * MONTHS)
        out[k++] = sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    double t = bench_now_ms() - t0;
    *sum_out = k == n * MONTHS ? bench_checksum(out, k) : 0;
    free(out);
    sqlite3_close(db);
    return t;
}
#endif

/* pandas/numpy through Debian's python3 (python3-pandas), reading the same amounts. */
static int pandas_split(const int64_t *annual, size_t n, double *ms, uint64_t *sum)
{
    char args[512];
    int len = 0;
    for (int m = 0; m < MONTHS; m++)
        len += snprintf(args + len, sizeof args - (size_t)len, " %lld", (long long)profile[m]);
    return bench_python("time_split_pandas.py", annual, n, args, ms, sum);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int64_t *annual = malloc(n * sizeof *annual), *out = malloc(n * MONTHS * sizeof *out);
    uint64_t seed = 7;
    /* Annual targets up to 50,000,000.00 in cents, so that amount x share fits int64_t,
     * as SQLite and numpy need. */
    for (size_t i = 0; i < n; i++)
        annual[i] = (int64_t)(bench_splitmix(&seed) % INT64_C(5000000000));
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);

    printf("time split of %zu annual targets over %d months by one profile (best of %d)\n\n", n,
           MONTHS, RUNS);
    printf("%-48s %10s\n", "method", "ms");
    double t = time_split(ctx, annual, n, NULL, out);
    uint64_t ours = bench_checksum(out, n * MONTHS);
    printf("%-48s %10.1f\n", "salesplan sp_timesplit", t);

    /* The same through sp_allocate once per node: what a host would write by hand. */
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now_ms();
        for (size_t i = 0; i < n; i++)
            sp_allocate(ctx, annual[i], profile, MONTHS, NULL, out + i * MONTHS);
        double dt = bench_now_ms() - t0;
        best = dt < best ? dt : best;
    }
    printf("%-48s %10.1f  %s\n", "sp_allocate called per node", best,
           bench_checksum(out, n * MONTHS) == ours ? "same result" : "RESULT DIFFERS");

    sp_timesplit_options o = SP_TIMESPLIT_OPTIONS_INIT;
    o.unit = 10000;
    printf("%-48s %10.1f\n", "salesplan, whole hundreds (unit 10000)",
           time_split(ctx, annual, n, &o, out));

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
    printf("%-48s %10.1f\n", "salesplan, share x working days of FY2026",
           time_split(ctx, annual, n, &o, out));
    sp_calendar_free(cal);

#ifdef HAVE_SQLITE
    uint64_t sql_sum;
    double load_ms;
    double sql_ms = sqlite_split(annual, n, &load_ms, &sql_sum);
    printf("%-48s %10.1f  %s (loading took %.0f ms more)\n", "SQLite window functions (query only)",
           sql_ms, sql_sum == ours ? "same result" : "RESULT DIFFERS", load_ms);
#else
    printf("%-48s %10s\n", "SQLite window functions", "n/a");
#endif
    double pd_ms;
    uint64_t pd_sum;
    if (pandas_split(annual, n, &pd_ms, &pd_sum) == 0)
        printf("%-48s %10.1f  %s\n", "pandas/numpy, vectorised (compute only)", pd_ms,
               pd_sum == ours ? "same result" : "RESULT DIFFERS");
    else
        printf("%-48s %10s\n", "pandas (python3-pandas not installed)", "n/a");

    sp_ctx_free(ctx);
    free(annual);
    free(out);
    return 0;
}
