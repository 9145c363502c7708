/*
 * Decomposition of a company target over a 1M-node hierarchy (1 company, 30 regions,
 * 3000 grids, ~997k reps as leaves) by a driver (prior-period actuals), beside the same
 * level-by-level largest-remainder split in SQLite (window functions) and in pandas
 * (groupby), on the same generated data. Each alternative's result is checked against
 * salesplan's by a checksum. Prints time and peak memory (getrusage ru_maxrss).
 *
 *   bench_decompose [nodes]
 *
 * Ids are zero-padded so that their byte order is the order they were generated in: the
 * alternatives break equal remainders by that number, salesplan by the id bytes (its
 * canonical sibling order), which is the same. salesplan is given the nodes shuffled.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <salesplan/salesplan.h>

#include "bench.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define RUNS 5
#define REGIONS 30
#define GRIDS 3000
#define ID_LEN 24

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

/* The generated company, in generation order. */
typedef struct company {
    size_t n;
    char *ids;        /* n x ID_LEN, NUL-terminated */
    int64_t *parent;  /* -1 for the root */
    int64_t *level;
    int64_t *weight;  /* prior-period actuals, 1 .. 1,000,000 */
} company;

static void generate(company *c, size_t n)
{
    c->n = n;
    c->ids = malloc(n * ID_LEN);
    c->parent = malloc(n * sizeof *c->parent);
    c->level = malloc(n * sizeof *c->level);
    c->weight = malloc(n * sizeof *c->weight);
    uint64_t seed = 7;
    const size_t first_grid = 1 + REGIONS, first_leaf = first_grid + GRIDS;
    for (size_t i = 0; i < n; i++) {
        char *id = c->ids + i * ID_LEN;
        if (i == 0) {
            snprintf(id, ID_LEN, "C");
            c->parent[i] = -1;
            c->level[i] = 0;
        } else if (i < first_grid) {
            snprintf(id, ID_LEN, "R%02zu", i);
            c->parent[i] = 0;
            c->level[i] = 1;
        } else if (i < first_leaf) {
            snprintf(id, ID_LEN, "G%04zu", i - first_grid);
            c->parent[i] = (int64_t)(1 + (i - first_grid) / (GRIDS / REGIONS));
            c->level[i] = 2;
        } else {
            snprintf(id, ID_LEN, "L%07zu", i - first_leaf);
            c->parent[i] = (int64_t)(first_grid + (i - first_leaf) % GRIDS);
            c->level[i] = 3;
        }
        c->weight[i] = (int64_t)(bench_splitmix(&seed) % 1000000) + 1;
    }
}

#ifdef HAVE_SQLITE
static void sql_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", err);
        exit(1);
    }
}

/* Level by level: floors, then ROW_NUMBER over remainders within each parent. */
static double sqlite_decompose(const company *c, int64_t total, uint64_t *sum, double *load_ms,
                               double *mib)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    sqlite3_open(":memory:", &db);
    double t0 = bench_now_ms();
    sql_exec(db, "CREATE TABLE node(id INTEGER PRIMARY KEY, parent INTEGER, level INTEGER, "
                 "w INTEGER NOT NULL);"
                 "CREATE TABLE target(id INTEGER PRIMARY KEY, t INTEGER NOT NULL); BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO node VALUES(?, ?, ?, ?)", -1, &st, 0);
    for (size_t i = 0; i < c->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        if (c->parent[i] < 0)
            sqlite3_bind_null(st, 2);
        else
            sqlite3_bind_int64(st, 2, c->parent[i]);
        sqlite3_bind_int64(st, 3, c->level[i]);
        sqlite3_bind_int64(st, 4, c->weight[i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sql_exec(db, "COMMIT; CREATE INDEX node_level ON node(level, parent)");
    *load_ms = bench_now_ms() - t0;

    t0 = bench_now_ms();
    char root[64];
    snprintf(root, sizeof root, "INSERT INTO target VALUES(0, %lld)", (long long)total);
    sql_exec(db, root);
    for (int level = 1; level <= 3; level++) {
        char sql[1024];
        snprintf(sql, sizeof sql,
                 "INSERT INTO target(id, t) "
                 "WITH g AS (SELECT n.id, n.parent, n.w, p.t AS pt,"
                 "                  SUM(n.w) OVER (PARTITION BY n.parent) AS ws"
                 "           FROM node n JOIN target p ON p.id = n.parent WHERE n.level = %d),"
                 " q AS (SELECT id, parent, pt, (w * pt) / ws AS fl, (w * pt) %% ws AS rem FROM g),"
                 " k AS (SELECT id, fl, pt - SUM(fl) OVER (PARTITION BY parent) AS lft,"
                 "              ROW_NUMBER() OVER (PARTITION BY parent ORDER BY rem DESC, id) AS rn"
                 "       FROM q)"
                 " SELECT id, fl + (rn <= lft) FROM k",
                 level);
        sql_exec(db, sql);
    }
    double ms = bench_now_ms() - t0;
    int64_t *out = calloc(c->n, sizeof *out);
    sqlite3_prepare_v2(db, "SELECT id, t FROM target", -1, &st, 0);
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
    char dir[] = "/tmp/sp-bench-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return -1;
    const char *names[] = { "parent", "level", "w" };
    const int64_t *cols[] = { c->parent, c->level, c->weight };
    char path[3][64];
    for (int k = 0; k < 3; k++) {
        snprintf(path[k], sizeof path[k], "%s/%s", dir, names[k]);
        FILE *f = fopen(path[k], "wb");
        fwrite(cols[k], sizeof(int64_t), c->n, f);
        fclose(f);
    }
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/decompose_pandas.py %s %lld 2>/dev/null",
             BENCH_DIR, dir, (long long)total);
    FILE *p = popen(cmd, "r");
    int got = p != NULL ? fscanf(p, "%lf %llu %lf", ms, (unsigned long long *)sum, mib) : 0;
    if (p != NULL)
        pclose(p);
    for (int k = 0; k < 3; k++)
        remove(path[k]);
    remove(dir);
    return got == 3 ? 0 : -1;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    if (n < 1 + REGIONS + GRIDS + 1) {
        fprintf(stderr, "bench_decompose: at least %d nodes\n", 2 + REGIONS + GRIDS);
        return 2;
    }
    const int64_t total = INT64_C(1000000000000); /* 10 billion yuan in fen */
    company c;
    generate(&c, n);

    /* salesplan gets the nodes in a shuffled order; perm[k] is the generated node added
     * k-th, so node index k of the hierarchy is generated node perm[k]. */
    size_t *perm = malloc(n * sizeof *perm);
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    int64_t *w = malloc(n * sizeof *w), *t = malloc(n * sizeof *t);
    int64_t *back = malloc(n * sizeof *back);
    uint64_t seed = 99;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)(bench_splitmix(&seed) % (i + 1));
        size_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = perm[k];
        ids[k] = c.ids + i * ID_LEN;
        parents[k] = c.parent[i] < 0 ? NULL : c.ids + (size_t)c.parent[i] * ID_LEN;
        w[k] = c.weight[i];
    }
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
           n, REGIONS, GRIDS, n - 1 - REGIONS - GRIDS);
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
    free(c.ids);
    free(c.parent);
    free(c.level);
    free(c.weight);
    return 0;
}
