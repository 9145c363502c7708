/*
 * Decomposition of a company target over a 1M-node hierarchy (1 company, 30 regions,
 * 3000 grids, ~997k reps as leaves) by a driver (prior-period actuals), beside the same
 * level-by-level largest-remainder split in SQLite (window functions) and in pandas
 * (groupby), on the same generated data. Each alternative's result is checked against
 * salesplan's by a checksum. Prints time and peak memory (getrusage ru_maxrss).
 *
 *   bench_decompose [nodes]
 *
 * The company, its shuffled order and the SQL are bench_company.h's and bench_sql.h's,
 * shared with bench_target_plan.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <salesplan/salesplan.h>

#include "bench_company.h"

#define RUNS 5

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void die(sp_ctx *ctx, const char *what)
{
    fprintf(stderr, "bench_decompose: %s: %s\n", what, sp_ctx_errmsg(ctx));
    exit(1);
}

#ifdef HAVE_SQLITE
/* Level by level: floors, then ROW_NUMBER over remainders within each parent. */
static double sqlite_decompose(const company *c, int64_t total, uint64_t *sum, double *load_ms,
                               double *mib)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(":memory:", &db);
    double t0 = bench_now_ms();
    company_sql_load(db, c, NULL, 0, NULL, NULL);
    *load_ms = bench_now_ms() - t0;

    t0 = bench_now_ms();
    char root[64];
    snprintf(root, sizeof root, "INSERT INTO target VALUES(0, %lld)", (long long)total);
    bench_sql_exec(db, root);
    for (int level = 1; level <= 3; level++)
        bench_sql_split_level(db, level);
    double ms = bench_now_ms() - t0;
    int64_t *out = calloc(c->n, sizeof *out);
    st = bench_sql_prepare(db, "SELECT id, t FROM target");
    while (sqlite3_step(st) == SQLITE_ROW)
        out[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
    *sum = bench_checksum(out, c->n);
    free(out);
    *mib = (double)sqlite3_memory_highwater(0) / (1024.0 * 1024.0);
    sqlite3_close(db);
    return ms;
}
#endif

/* pandas, through Debian's python3 (python3-pandas), reading the same columns. */
static int pandas_decompose(const company *c, int64_t total, double *ms, uint64_t *sum,
                            double *mib)
{
    const char *names[] = { "parent", "level", "w" };
    const int64_t *cols[] = { c->parent, c->level, c->weight };
    const size_t lens[] = { c->n, c->n, c->n };
    char args[32];
    snprintf(args, sizeof args, "%lld", (long long)total);
    return bench_python_columns("decompose_pandas.py", 3, names, cols, lens, args, ms, sum, mib);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    if (n < COMPANY_FIRST_LEAF + 1) {
        fprintf(stderr, "bench_decompose: at least %d nodes\n", COMPANY_FIRST_LEAF + 1);
        return 2;
    }
    const int64_t total = INT64_C(1000000000000); /* 10 billion yuan in fen */
    company c;
    company_generate(&c, n);

    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    size_t *perm = company_shuffle(&c, ids, parents);
    int64_t *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t);
    int64_t *back = malloc(n * sizeof *back);
    for (size_t k = 0; k < n; k++)
        w[k] = c.weight[perm[k]];
    double mib_data = peak_mib();

    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    sp_hierarchy *h;
    sp_hierarchy_new(&h, ctx);
    double t0 = bench_now_ms();
    if (sp_hierarchy_add_all(h, ids, NULL, parents, NULL, n, NULL) != SP_OK)
        die(ctx, "add_all");
    double add_ms = bench_now_ms() - t0;
    t0 = bench_now_ms();
    if (sp_hierarchy_validate(h) != SP_OK)
        die(ctx, "validate");
    double validate_ms = bench_now_ms() - t0;
    double mib_hierarchy = peak_mib();

    sp_decomp *d;
    if (sp_decomp_new(&d, h) != SP_OK ||
        sp_decomp_add_driver(d, "prior", w, NULL, n, NULL) != SP_OK)
        die(ctx, "decomposition");
    sp_decomp_rule rule = SP_DECOMP_RULE_INIT;
    rule.method = SP_DECOMP_DRIVER;
    for (uint32_t level = 1; level <= 3; level++)
        if (sp_decomp_set_level_rule(d, level, &rule) != SP_OK)
            die(ctx, "rule");
    double mib_setup = peak_mib();
    sp_decomp_output out = SP_DECOMP_OUTPUT_INIT;
    out.target = t;
    double best = 1e30;
    for (int r = 0; r < RUNS; r++) {
        t0 = bench_now_ms();
        if (sp_decomp_run(d, total, &out) != SP_OK)
            die(ctx, "run");
        double ms = bench_now_ms() - t0;
        if (ms < best)
            best = ms;
    }
    double mib_run = peak_mib();
    int64_t *rolled = malloc(n * sizeof *rolled);
    double rollup_ms = 1e30;
    for (int r = 0; r < RUNS; r++) {
        t0 = bench_now_ms();
        if (sp_hierarchy_rollup(h, t, SP_ROLLUP_LEAVES, rolled) != SP_OK)
            die(ctx, "rollup");
        double ms = bench_now_ms() - t0;
        if (ms < rollup_ms)
            rollup_ms = ms;
    }
    size_t same = 0;
    for (size_t k = 0; k < n; k++) {
        back[perm[k]] = t[k];
        same += rolled[k] == t[k];
    }
    uint64_t ours = bench_checksum(back, n);

    printf("target decomposition: %zu nodes (1 company, %d regions, %d grids, %zu leaves), "
           "by driver\n\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF);
    printf("%-46s %10s %12s\n", "step", "ms", "peak MiB");
    printf("%-46s %10s %12.1f\n", "generated data (ids, parents, drivers)", "", mib_data);
    printf("%-46s %10.1f\n", "salesplan hierarchy: add_all (shuffled)", add_ms);
    printf("%-46s %10.1f %12.1f\n", "salesplan hierarchy: validate", validate_ms, mib_hierarchy);
    printf("%-46s %10s %12.1f\n", "salesplan decomposition: driver copied", "", mib_setup);
    printf("%-46s %10.1f %12.1f\n", "salesplan decompose (best of 5)", best, mib_run);
    printf("%-46s %10.1f %12s\n", "salesplan roll-up of the targets (best of 5)", rollup_ms,
           same == n ? "sums exact" : "SUMS DIFFER");
    printf("  run memory beyond the setup: %.1f MiB = %.1f bytes per node (result 8)\n",
           mib_run - mib_setup, (mib_run - mib_setup) * 1048576.0 / (double)n);
    printf("\n%-46s %10s %12s\n", "alternative", "ms", "peak MiB");
#ifdef HAVE_SQLITE
    uint64_t sql_sum;
    double load_ms, sql_mib;
    double sql_ms = sqlite_decompose(&c, total, &sql_sum, &load_ms, &sql_mib);
    printf("%-46s %10.1f\n", "SQLite: load 1 table + index", load_ms);
    printf("%-46s %10.1f %12.1f  %s\n", "SQLite: 3 levels, window functions", sql_ms, sql_mib,
           sql_sum == ours ? "same result" : "RESULT DIFFERS");
#else
    printf("%-46s %10s\n", "SQLite", "n/a");
#endif
    double pd_ms, pd_mib;
    uint64_t pd_sum;
    if (pandas_decompose(&c, total, &pd_ms, &pd_sum, &pd_mib) == 0)
        printf("%-46s %10.1f %12.1f  %s\n", "pandas: 3 levels, groupby (compute only)", pd_ms,
               pd_mib, pd_sum == ours ? "same result" : "RESULT DIFFERS");
    else
        printf("%-46s %10s\n", "pandas (python3-pandas not installed)", "n/a");
    printf("(SQLite: sqlite3_memory_highwater; pandas: the python process's ru_maxrss)\n");

    sp_decomp_free(d);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
    free(rolled);
    free(perm);
    free(ids);
    free(parents);
    free(w);
    free(t);
    free(back);
    company_free(&c);
    return 0;
}
