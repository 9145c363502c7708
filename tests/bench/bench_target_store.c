/*
 * Saving and loading a large plan and its monthly target set: a 1M-node hierarchy
 * (1 company, 30 regions, 3000 grids, ~997k reps) x 12 months, to the memory store and to
 * the file store (commit with fsync; reopened before loading), beside SQLite storing the
 * same numbers in a table of one row per node (id, parent, annual, 12 month columns), in
 * memory and in a file. Every load is checked equal to the set saved (a checksum over the
 * annual targets and the periods, and the node count); SQLite's rows are read back and
 * checked the same way. Budget by analogy with issue 4: well under a few seconds each.
 *
 *   bench_target_store [nodes] [directory]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <salesplan/salesplan.h>

#include "bench.h"
#include "bench_company.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define MONTHS 12

static void die(sp_ctx *ctx, const char *what)
{
    fprintf(stderr, "bench_target_store: %s: %s\n", what, sp_ctx_errmsg(ctx));
    exit(1);
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static void row(const char *what, double ms)
{
    printf("%-58s %9.1f\n", what, ms);
}

/* The shared company (bench_company.h), with its ids and parent ids as pointer arrays in
 * generation order, as sp_hierarchy_add_all takes them. */
typedef struct tree {
    company c;
    const char **ids, **parents;
} tree;

static void tree_make(tree *t, size_t n)
{
    company_generate(&t->c, n);
    t->ids = malloc(n * sizeof *t->ids);
    t->parents = malloc(n * sizeof *t->parents);
    for (size_t i = 0; i < n; i++) {
        t->ids[i] = t->c.ids + i * COMPANY_ID_LEN;
        t->parents[i] =
            t->c.parent[i] < 0 ? NULL : t->c.ids + (size_t)t->c.parent[i] * COMPANY_ID_LEN;
    }
}

static void tree_free(tree *t)
{
    company_free(&t->c);
    free(t->ids);
    free(t->parents);
}

/* A set's numbers: node count and a checksum over the annual targets then the periods. */
typedef struct digest {
    size_t n;
    uint64_t sum;
} digest;

static digest digest_of(const int64_t *annual, const int64_t *periods, size_t n)
{
    digest d = { n, bench_checksum(annual, n) ^ (bench_checksum(periods, n * MONTHS) * 31) };
    return d;
}

static digest set_digest(sp_ctx *ctx, const sp_target_set *set)
{
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    if (sp_target_set_get_data(set, &d) != SP_OK || d.nperiods != MONTHS)
        die(ctx, "set data");
    return digest_of(d.annual, d.periods, d.nnodes);
}

static const char *check(digest a, digest b)
{
    return a.n == b.n && a.sum == b.sum ? "same contents" : "CONTENTS DIFFER";
}

/* Records and bytes of a namespace, and its largest record. */
typedef struct census {
    size_t records, bytes, largest;
} census;

static int census_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    census *c = arg;
    c->records++;
    c->bytes += value_len;
    if (value_len > c->largest)
        c->largest = value_len;
    return 0;
}

static census take_census(const sp_storage *st, const char *ns)
{
    census c = { 0, 0, 0 };
    st->scan(st->user, ns, NULL, 0, NULL, 0, census_visit, &c);
    return c;
}

/* Save plan and set, load both back (set checked against `want`); ms into the rows. */
static void save_and_load(sp_ctx *ctx, const char *label, sp_storage *st, sp_target_plan *plan,
                          sp_target_set *set, digest want, const char *reopen_path)
{
    char what[96];
    double t0 = bench_now_ms();
    if (sp_target_plan_save(plan, st) != SP_OK)
        die(ctx, "plan save");
    snprintf(what, sizeof what, "%s: plan save (ids, parents, driver)", label);
    row(what, bench_now_ms() - t0);
    t0 = bench_now_ms();
    uint32_t version;
    if (sp_target_set_save(set, st, "base", NULL, 0, &version) != SP_OK)
        die(ctx, "set save");
    snprintf(what, sizeof what, "%s: set save (1 transaction)", label);
    row(what, bench_now_ms() - t0);
    census pc = take_census(st, "target.plan.chunk"), sc = take_census(st, "target.set.chunk");
    if (reopen_path != NULL) {
        sp_storage_free(st);
        t0 = bench_now_ms();
        if (sp_storage_file_new(&st, ctx, reopen_path, NULL) != SP_OK)
            die(ctx, "reopen");
        snprintf(what, sizeof what, "%s: reopen (replay the log)", label);
        row(what, bench_now_ms() - t0);
    }
    sp_target_plan *p = NULL;
    t0 = bench_now_ms();
    if (sp_target_plan_load(&p, ctx, st, "FY2026") != SP_OK)
        die(ctx, "plan load");
    snprintf(what, sizeof what, "%s: plan load", label);
    row(what, bench_now_ms() - t0);
    sp_target_set *l = NULL;
    t0 = bench_now_ms();
    if (sp_target_set_load(&l, ctx, st, "FY2026", "base", version) != SP_OK)
        die(ctx, "set load");
    double ms = bench_now_ms() - t0;
    snprintf(what, sizeof what, "%s: set load (all checks)", label);
    printf("%-58s %9.1f  %s\n", what, ms, check(want, set_digest(ctx, l)));
    printf("  plan: %zu chunk records, %.1f MiB, largest %.2f MiB; set: %zu chunk records, "
           "%.1f MiB, largest %.2f MiB\n",
           pc.records, (double)pc.bytes / 1048576.0, (double)pc.largest / 1048576.0, sc.records,
           (double)sc.bytes / 1048576.0, (double)sc.largest / 1048576.0);
    sp_target_set_free(l);
    sp_target_plan_free(p);
    sp_storage_free(st);
}

#ifdef HAVE_SQLITE
static void sq_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", err);
        exit(1);
    }
}

/* One row per node: id, parent, annual, m1..m12; inserted in one transaction, then read
 * back in node order. */
static void sqlite_store(const char *label, const char *file, const tree *t,
                         const int64_t *annual, const int64_t *periods, digest want)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    char what[96];
    if (sqlite3_open(file, &db) != SQLITE_OK)
        exit(1);
    double t0 = bench_now_ms();
    sq_exec(db, "CREATE TABLE target_set (node INTEGER PRIMARY KEY, id TEXT NOT NULL, "
                "parent INTEGER, annual INTEGER NOT NULL, m1 INTEGER, m2 INTEGER, m3 INTEGER, "
                "m4 INTEGER, m5 INTEGER, m6 INTEGER, m7 INTEGER, m8 INTEGER, m9 INTEGER, "
                "m10 INTEGER, m11 INTEGER, m12 INTEGER); BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO target_set VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1,
                       &st, 0);
    for (size_t i = 0; i < t->c.n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        sqlite3_bind_text(st, 2, t->ids[i], -1, SQLITE_STATIC);
        if (t->c.parent[i] < 0)
            sqlite3_bind_null(st, 3);
        else
            sqlite3_bind_int64(st, 3, t->c.parent[i]);
        sqlite3_bind_int64(st, 4, annual[i]);
        for (int m = 0; m < MONTHS; m++)
            sqlite3_bind_int64(st, 5 + m, periods[i * MONTHS + (size_t)m]);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "sqlite insert: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    sq_exec(db, "COMMIT");
    snprintf(what, sizeof what, "%s: 1 tx of inserts + commit", label);
    row(what, bench_now_ms() - t0);

    int64_t *a = malloc(t->c.n * sizeof *a), *p = malloc(t->c.n * MONTHS * sizeof *p);
    t0 = bench_now_ms();
    sqlite3_prepare_v2(db, "SELECT node, id, parent, annual, m1, m2, m3, m4, m5, m6, m7, m8, "
                           "m9, m10, m11, m12 FROM target_set ORDER BY node",
                       -1, &st, 0);
    size_t rows = 0, ids_ok = 0;
    while (sqlite3_step(st) == SQLITE_ROW && rows < t->c.n) {
        size_t i = (size_t)sqlite3_column_int64(st, 0);
        const unsigned char *id = sqlite3_column_text(st, 1);
        ids_ok += id != NULL && strcmp((const char *)id, t->ids[i]) == 0 &&
                  (sqlite3_column_type(st, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 2)) ==
                      t->c.parent[i];
        a[i] = sqlite3_column_int64(st, 3);
        for (int m = 0; m < MONTHS; m++)
            p[i * MONTHS + (size_t)m] = sqlite3_column_int64(st, 4 + m);
        rows++;
    }
    sqlite3_finalize(st);
    double ms = bench_now_ms() - t0;
    digest d = digest_of(a, p, rows);
    snprintf(what, sizeof what, "%s: read every row back", label);
    printf("%-58s %9.1f  %s\n", what, ms,
           ids_ok == t->c.n ? check(want, d) : "IDS OR PARENTS DIFFER");
    free(a);
    free(p);
    sqlite3_close(db);
}
#endif

static const char settings[] =
    "{\"levels\": {\"region\": {\"method\": \"driver\", \"driver\": \"prior\"},"
    " \"grid\": {\"method\": \"driver\", \"driver\": \"prior\"},"
    " \"rep\": {\"method\": \"driver\", \"driver\": \"prior\"}},"
    " \"seasonality\": {\"profiles\": {\"C\": {\"method\": \"shares\", \"policy\": "
    "\"normalise\", \"shares\": [6, 7, 8, 8, 8, 9, 8, 8, 9, 9, 10, 10]}}}}";

/* The plan over the company, with its driver and settings, and its set for 10 billion
 * yuan (in fen); returns the decomposition's ms. */
static double make_plan(sp_ctx *ctx, const tree *t, sp_target_plan **plan,
                        sp_target_set **set)
{
    static const char *const levels[] = { "company", "region", "grid", "rep" };
    sp_hierarchy *h;
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2026;
    if (sp_hierarchy_new(&h, ctx) != SP_OK ||
        sp_hierarchy_add_all(h, t->ids, NULL, t->parents, NULL, t->c.n, NULL) != SP_OK ||
        sp_hierarchy_set_levels(h, levels, 4) != SP_OK || sp_hierarchy_validate(h) != SP_OK ||
        sp_target_plan_new(plan, ctx, "FY2026", h, &o) != SP_OK ||
        sp_target_plan_set_driver(*plan, "prior", t->c.weight, NULL, t->c.n) != SP_OK ||
        sp_target_plan_set_settings(*plan, settings, strlen(settings)) != SP_OK)
        die(ctx, "plan");
    sp_hierarchy_free(h);
    double t0 = bench_now_ms();
    if (sp_target_plan_decompose(set, *plan, INT64_C(1000000000000), NULL) != SP_OK)
        die(ctx, "decompose");
    return bench_now_ms() - t0;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    const char *dir = argc > 2 ? argv[2] : "/tmp";
    if (n < COMPANY_FIRST_LEAF + 1) {
        fprintf(stderr, "bench_target_store: at least %d nodes\n", COMPANY_FIRST_LEAF + 1);
        return 2;
    }
    tree t;
    tree_make(&t, n);
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    sp_target_plan *plan;
    sp_target_set *set;
    double decompose_ms = make_plan(ctx, &t, &plan, &set);
    digest want = set_digest(ctx, set);

    printf("target store: a %zu-node hierarchy (1 company, %d regions, %d grids, %zu reps) x "
           "%d months\n(decomposed in %.1f ms; peak so far %.0f MiB)\n\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF, MONTHS, decompose_ms,
           peak_mib());
    printf("%-58s %9s\n", "step", "ms");
    sp_storage *mem;
    sp_storage_memory_new(&mem, ctx);
    save_and_load(ctx, "memory store", mem, plan, set, want, NULL);
    printf("(peak so far %.0f MiB)\n\n", peak_mib());
    /* A saved set is immutable: the file store gets a set of its own, equal to the first. */
    sp_target_set_free(set);
    sp_target_plan_free(plan);
    make_plan(ctx, &t, &plan, &set);

    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/sp-bench-target-%d.sps", dir, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    sp_storage *fs;
    if (sp_storage_file_new(&fs, ctx, path, NULL) != SP_OK)
        die(ctx, "file store");
    save_and_load(ctx, "file store", fs, plan, set, want, path);
    remove(path);
    remove(tmp);
    printf("(peak so far %.0f MiB)\n\n", peak_mib());

#ifdef HAVE_SQLITE
    sp_target_set_data data = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(set, &data);
    printf("%-58s %9s\n", "SQLite, one row per node (id, parent, annual, m1..m12)", "ms");
    sqlite_store("sqlite :memory:", ":memory:", &t, data.annual, data.periods, want);
    snprintf(path, sizeof path, "%s/sp-bench-target-%d.db", dir, (int)getpid());
    remove(path);
    sqlite_store("sqlite file", path, &t, data.annual, data.periods, want);
    remove(path);
#else
    printf("SQLite: n/a\n");
#endif
    sp_target_set_free(set);
    sp_target_plan_free(plan);
    sp_ctx_free(ctx);
    tree_free(&t);
    return 0;
}
