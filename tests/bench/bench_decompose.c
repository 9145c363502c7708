/*
 * Decomposition of a company target over a 1M-node hierarchy (1 company, 30 regions,
 * 3000 grids, ~997k reps as leaves) by a driver, level by level by largest remainder (the
 * lower id among equals), on every side: salesplan's sp_decomp_run, a bare C loop
 * (bench_company.h), DuckDB and SQLite (window functions) and pandas (groupby), on the
 * same generated data, every side's targets compared value by value.
 *
 * Loading: salesplan's hierarchy (add_all of the shuffled nodes, validate) and its
 * decomposition object with the driver; the bare loop's children index; the SQL tables
 * (SQLite with the index (level, parent)); the DataFrame.
 *
 *   bench_decompose [nodes]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench_company.h"

static const int64_t total = INT64_C(1000000000000); /* 10 billion yuan in fen */

typedef struct run {
    sp_ctx *ctx;
    const company *c;
    sp_decomp *d;
    sp_decomp_output *out;
    sp_hierarchy *h;
    int64_t *t, *rolled, *got;
    bare_tree tree;
    bare_rem *scratch;
#ifdef HAVE_SQLITE
    sqlite3 *db;
#endif
} run;

static void run_decomp(void *arg)
{
    run *r = arg;
    if (sp_decomp_run(r->d, total, r->out) != SP_OK)
        bench_die("sp_decomp_run: %s", sp_ctx_errmsg(r->ctx));
}

static void run_rollup(void *arg)
{
    run *r = arg;
    if (sp_hierarchy_rollup(r->h, r->t, SP_ROLLUP_LEAVES, r->rolled) != SP_OK)
        bench_die("rollup: %s", sp_ctx_errmsg(r->ctx));
}

static void run_bare(void *arg)
{
    run *r = arg;
    memset(r->got, 0, r->c->n * sizeof *r->got);
    r->got[0] = total;
    for (int64_t level = 1; level <= 3; level++)
        bare_split_level(r->c, &r->tree, level, r->c->weight, r->got, r->scratch);
}

#ifdef HAVE_SQLITE
static void run_sqlite(void *arg)
{
    run *r = arg;
    char root[64];
    snprintf(root, sizeof root, "DELETE FROM target; INSERT INTO target VALUES(0, %lld)",
             (long long)total);
    bench_sql_exec(r->db, root);
    for (int level = 1; level <= 3; level++)
        bench_sql_split_level(r->db, level);
    sqlite3_stmt *st = bench_sql_prepare(r->db, "SELECT id, t FROM target");
    while (sqlite3_step(st) == SQLITE_ROW)
        r->got[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    sqlite3_finalize(st);
}
#endif

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    if (n < COMPANY_FIRST_LEAF + 1) {
        fprintf(stderr, "bench_decompose: at least %d nodes\n", COMPANY_FIRST_LEAF + 1);
        return 2;
    }
    company c;
    company_generate(&c, n);
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    size_t *perm = company_shuffle(&c, ids, parents);
    int64_t *w = malloc(n * sizeof *w), *want = malloc(n * sizeof *want);
    run r = { .c = &c, .t = malloc(n * sizeof(int64_t)), .rolled = malloc(n * sizeof(int64_t)),
              .got = malloc(n * sizeof(int64_t)), .scratch = malloc(n * sizeof(bare_rem)) };
    for (size_t k = 0; k < n; k++)
        w[k] = c.weight[perm[k]];

    printf("target decomposition: %zu nodes (1 company, %d regions, %d grids, %zu leaves), "
           "by driver; warm, then min/median/max of %d runs (ms)\n\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF, BENCH_RUNS);
    sp_ctx_new(&r.ctx, NULL);
    double t0 = bench_now_ms();
    sp_decomp_rule rule = SP_DECOMP_RULE_INIT;
    rule.method = SP_DECOMP_DRIVER;
    if (sp_hierarchy_new(&r.h, r.ctx) != SP_OK ||
        sp_hierarchy_add_all(r.h, ids, NULL, parents, NULL, n, NULL) != SP_OK ||
        sp_hierarchy_validate(r.h) != SP_OK || sp_decomp_new(&r.d, r.h) != SP_OK ||
        sp_decomp_add_driver(r.d, "prior", w, NULL, n, NULL) != SP_OK)
        bench_die("setup: %s", sp_ctx_errmsg(r.ctx));
    for (uint32_t level = 1; level <= 3; level++)
        if (sp_decomp_set_level_rule(r.d, level, &rule) != SP_OK)
            bench_die("rule: %s", sp_ctx_errmsg(r.ctx));
    double load = bench_now_ms() - t0;
    sp_decomp_output out = SP_DECOMP_OUTPUT_INIT;
    out.target = r.t;
    r.out = &out;
    bench_stats s = bench_measure(run_decomp, &r);
    for (size_t k = 0; k < n; k++)
        want[perm[k]] = r.t[k];
    bench_report("decompose", "salesplan", load, s,
                 "sp_decomp_run (load: add_all, validate, decomp_new, driver, rules)");
    s = bench_measure(run_rollup, &r);
    size_t same = 0;
    for (size_t k = 0; k < n; k++)
        same += r.rolled[k] == r.t[k];
    if (same != n)
        bench_die("the roll-up of the targets differs from them at %zu nodes", n - same);
    bench_report("decompose.rollup", "salesplan", -1, s,
                 "sp_hierarchy_rollup of the targets: sums exact");

    t0 = bench_now_ms();
    bare_tree_build(&r.tree, &c);
    load = bench_now_ms() - t0;
    s = bench_measure(run_bare, &r);
    bench_same("decompose", "bare", want, r.got, n);
    bench_report("decompose", "bare", load, s, "same result; load: the children index");
    bare_tree_free(&r.tree);

    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "parent", c.parent, sizeof(int64_t), n);
    bench_dir_write(&dir, "level", c.level, sizeof(int64_t), n);
    bench_dir_write(&dir, "w", c.weight, sizeof(int64_t), n);
    char args[32];
    snprintf(args, sizeof args, "%lld", (long long)total);
    bench_peer_result res[1];
    bench_peer("duckdb", "decompose", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "decompose", "decompose", "duckdb", want, r.got, n);
    bench_peer("python", "decompose_pandas.py", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "decompose", "decompose", "pandas", want, r.got, n);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3_open(":memory:", &r.db);
    t0 = bench_now_ms();
    company_sql_load(r.db, &c, NULL, 0, NULL, NULL);
    load = bench_now_ms() - t0;
    s = bench_measure(run_sqlite, &r);
    bench_same("decompose", "sqlite", want, r.got, n);
    bench_report("decompose", "sqlite", load, s, "same result; index (level, parent)");
    sqlite3_close(r.db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    sp_decomp_free(r.d);
    sp_hierarchy_free(r.h);
    sp_ctx_free(r.ctx);
    free(r.t);
    free(r.rolled);
    free(r.got);
    free(r.scratch);
    free(perm);
    free(ids);
    free(parents);
    free(w);
    free(want);
    company_free(&c);
    return 0;
}
