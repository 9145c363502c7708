/*
 * Exact allocation of a total over 1M parts by weights (largest remainder, the lower
 * index among equals), on every side: salesplan's sp_allocate, a bare C loop (floors,
 * then a quickselect of the remainders), DuckDB and SQLite (window functions) and pandas/numpy,
 * every side's parts compared value by value. Two more salesplan variants (every tenth
 * part capped; a unit of 1000) are reported beside the bare loop.
 *
 *   bench_allocate [parts]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"
#include "bench_company.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

/* Chosen so that w * total fits int64 (SQLite, DuckDB and numpy need that). */
#define TOTAL INT64_C(1234567890123)

typedef struct run {
    sp_ctx *ctx;
    const int64_t *w;
    size_t n;
    const sp_alloc_options *o;
    int64_t *out;
    bare_rem *scratch;
#ifdef HAVE_SQLITE
    sqlite3 *db;
#endif
} run;

static void run_allocate(void *arg)
{
    run *r = arg;
    if (sp_allocate(r->ctx, TOTAL, r->w, r->n, r->o, r->out) != SP_OK)
        bench_die("sp_allocate: %s", sp_ctx_errmsg(r->ctx));
}

/* The floor: floors and remainders, then one more unit for the largest remainders. */
static void run_bare(void *arg)
{
    run *r = arg;
    int64_t wsum = 0, left = TOTAL;
    for (size_t i = 0; i < r->n; i++)
        wsum += r->w[i];
    for (size_t i = 0; i < r->n; i++) {
        int64_t prod = r->w[i] * TOTAL;
        r->out[i] = prod / wsum;
        left -= r->out[i];
        r->scratch[i].rem = prod % wsum;
        r->scratch[i].id = (uint32_t)i;
    }
    bare_give_left(r->scratch, r->n, left, r->out);
}

#ifdef HAVE_SQLITE
static void run_sqlite(void *arg)
{
    run *r = arg;
    sqlite3_stmt *st = bench_sql_prepare(
        r->db, "WITH s AS (SELECT sum(w) AS wsum FROM w),"
               " q AS (SELECT i, (w * ?1) / wsum AS fl, (w * ?1) % wsum AS rem FROM w, s),"
               " k AS (SELECT ?1 - sum(fl) AS k FROM q),"
               " r AS (SELECT i, fl, ROW_NUMBER() OVER (ORDER BY rem DESC, i) AS rn FROM q)"
               " SELECT i, fl + (rn <= (SELECT k FROM k)) FROM r");
    sqlite3_bind_int64(st, 1, TOTAL);
    while (sqlite3_step(st) == SQLITE_ROW)
        r->out[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
}

static double sqlite_load(sqlite3 *db, const int64_t *w, size_t n)
{
    double t0 = bench_now_ms();
    bench_sql_exec(db, "CREATE TABLE w(i INTEGER PRIMARY KEY, w INTEGER NOT NULL); BEGIN");
    sqlite3_stmt *st = bench_sql_prepare(db, "INSERT INTO w VALUES(?, ?)");
    for (size_t i = 0; i < n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_int64(st, 2, w[i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bench_sql_exec(db, "COMMIT");
    return bench_now_ms() - t0;
}
#endif

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    int64_t *w = malloc(n * sizeof *w), *want = malloc(n * sizeof *want);
    int64_t *got = malloc(n * sizeof *got), *max = malloc(n * sizeof *max);
    uint64_t seed = 42;
    int64_t wsum = 0;
    for (size_t i = 0; i < n; i++) {
        w[i] = (int64_t)(bench_splitmix(&seed) % 1000000);
        wsum += w[i];
    }
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    printf("exact allocation of %lld over %zu parts; warm, then min/median/max of %d runs "
           "(ms)\n\n",
           (long long)TOTAL, n, BENCH_RUNS);

    run r = { .ctx = ctx, .w = w, .n = n, .out = want, .scratch = malloc(n * sizeof(bare_rem)) };
    bench_report("allocate", "salesplan", -1, bench_measure(run_allocate, &r), "sp_allocate");
    r.out = got;
    bench_stats bare = bench_measure(run_bare, &r);
    bench_same("allocate", "bare", want, got, n);
    bench_report("allocate", "bare", -1, bare, "same result; floors, then a quickselect of the remainders");

    /* With a cap on every tenth part at 80 % of its share: clamping rounds. */
    for (size_t i = 0; i < n; i++) {
        max[i] = INT64_MAX;
        if (i % 10 == 0)
            sp_muldiv(w[i] * 8, TOTAL, wsum * 10, SP_ROUND_FLOOR, &max[i]);
    }
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.max = max;
    r.o = &o;
    bench_report("allocate.capped", "salesplan", -1, bench_measure(run_allocate, &r),
                 "every 10th part capped (clamping rounds)");
    o.max = NULL;
    o.unit = 1000;
    bench_report("allocate.unit1000", "salesplan", -1, bench_measure(run_allocate, &r),
                 "unit 1000");
    r.o = NULL;

    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "w", w, sizeof *w, n);
    char args[32];
    snprintf(args, sizeof args, "%lld", (long long)TOTAL);
    bench_peer_result res[1];
    bench_peer("duckdb", "allocate", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "allocate", "allocate", "duckdb", want, got, n);
    bench_peer("python", "allocate_pandas.py", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "allocate", "allocate", "pandas", want, got, n);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    double load = sqlite_load(db, w, n);
    r.db = db;
    bench_stats s = bench_measure(run_sqlite, &r);
    bench_same("allocate", "sqlite", want, got, n);
    bench_report("allocate", "sqlite", load, s, "same result; window functions");
    sqlite3_close(db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    sp_ctx_free(ctx);
    free(r.scratch);
    free(w);
    free(want);
    free(got);
    free(max);
    return 0;
}
