/*
 * Exact allocation of a total over 1M parts (budget: well under 100 ms), beside the same
 * largest-remainder split in SQLite (window functions) and in pandas, on the same data.
 * Each alternative's result is checked against salesplan's by a checksum.
 *
 *   bench_allocate [parts]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define RUNS 5

static double time_allocate(sp_ctx *ctx, int64_t total, const int64_t *w, size_t n,
                            const sp_alloc_options *o, int64_t *out)
{
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now_ms();
        int rc = sp_allocate(ctx, total, w, n, o, out);
        double t = bench_now_ms() - t0;
        if (rc != SP_OK) {
            fprintf(stderr, "sp_allocate: %s\n", sp_ctx_errmsg(ctx));
            exit(1);
        }
        if (t < best)
            best = t;
    }
    return best;
}

#ifdef HAVE_SQLITE
/* Largest remainder in SQL: floors, then ROW_NUMBER over remainders (desc, then index). */
static double sqlite_split(int64_t total, const int64_t *w, size_t n, uint64_t *sum_out)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(":memory:", &db);
    sqlite3_exec(db, "CREATE TABLE w(i INTEGER PRIMARY KEY, w INTEGER NOT NULL); BEGIN", 0, 0, 0);
    sqlite3_prepare_v2(db, "INSERT INTO w VALUES(?, ?)", -1, &st, 0);
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_int64(st, 2, w[i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sqlite3_exec(db, "COMMIT", 0, 0, 0);
    const char *sql =
        "WITH s AS (SELECT sum(w) AS wsum FROM w),"
        " q AS (SELECT i, (w * ?1) / wsum AS fl, (w * ?1) % wsum AS rem FROM w, s),"
        " k AS (SELECT ?1 - sum(fl) AS k FROM q),"
        " r AS (SELECT i, fl, ROW_NUMBER() OVER (ORDER BY rem DESC, i) AS rn FROM q)"
        " SELECT fl + (rn <= (SELECT k FROM k)) FROM r ORDER BY i";
    double t0 = bench_now_ms();
    if (sqlite3_prepare_v2(db, sql, -1, &st, 0) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    sqlite3_bind_int64(st, 1, total);
    int64_t *out = malloc(n * sizeof *out);
    size_t k = 0;
    while (sqlite3_step(st) == SQLITE_ROW && k < n)
        out[k++] = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    double t = bench_now_ms() - t0;
    *sum_out = k == n ? bench_checksum(out, n) : 0;
    free(out);
    sqlite3_close(db);
    return t;
}
#endif

/* pandas, through Debian's python3 (python3-pandas), reading the same weights. */
static int pandas_split(int64_t total, const int64_t *w, size_t n, double *ms, uint64_t *sum)
{
    char path[] = "/tmp/sp-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    FILE *f = fdopen(fd, "wb");
    fwrite(w, sizeof *w, n, f);
    fclose(f);
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/allocate_pandas.py %s %lld 2>/dev/null",
             BENCH_DIR, path, (long long)total);
    FILE *p = popen(cmd, "r");
    int got = p != NULL ? fscanf(p, "%lf %llu", ms, (unsigned long long *)sum) : 0;
    if (p != NULL)
        pclose(p);
    remove(path);
    return got == 2 ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int64_t *w = malloc(n * sizeof *w), *out = malloc(n * sizeof *out);
    int64_t *max = malloc(n * sizeof *max);
    uint64_t seed = 42;
    int64_t wsum = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (int64_t)(bench_splitmix(&seed) % 1000000);
        wsum += w[i];
    }
    /* Total chosen so that w * total fits int64 (SQLite and pandas need that). */
    const int64_t total = INT64_C(1234567890123);
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);

    printf("exact allocation of %lld over %zu parts (best of %d)\n\n", (long long)total, n, RUNS);
    printf("%-44s %10s\n", "method", "ms");
    double t = time_allocate(ctx, total, w, n, NULL, out);
    uint64_t ours = bench_checksum(out, n);
    printf("%-44s %10.1f\n", "salesplan sp_allocate", t);

    /* With a cap on every tenth part at 80 % of its share: clamping rounds. */
    for (size_t i = 0; i < n; i++) {
        max[i] = INT64_MAX;
        if (i % 10 == 0)
            sp_muldiv(w[i] * 8, total, wsum * 10, SP_ROUND_FLOOR, &max[i]);
    }
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.max = max;
    printf("%-44s %10.1f\n", "salesplan, every 10th part capped",
           time_allocate(ctx, total, w, n, &o, out));
    o.max = NULL;
    o.unit = 1000;
    printf("%-44s %10.1f\n", "salesplan, unit 1000",
           time_allocate(ctx, total, w, n, &o, out));

#ifdef HAVE_SQLITE
    uint64_t sql_sum;
    double sql_ms = sqlite_split(total, w, n, &sql_sum);
    printf("%-44s %10.1f  %s\n", "SQLite window functions (query only)", sql_ms,
           sql_sum == ours ? "same result" : "RESULT DIFFERS");
#else
    printf("%-44s %10s\n", "SQLite window functions", "n/a");
#endif
    double pd_ms;
    uint64_t pd_sum;
    if (pandas_split(total, w, n, &pd_ms, &pd_sum) == 0)
        printf("%-44s %10.1f  %s\n", "pandas/numpy (compute only)", pd_ms,
               pd_sum == ours ? "same result" : "RESULT DIFFERS");
    else
        printf("%-44s %10s\n", "pandas (python3-pandas not installed)", "n/a");

    sp_ctx_free(ctx);
    free(w);
    free(out);
    free(max);
    return 0;
}
