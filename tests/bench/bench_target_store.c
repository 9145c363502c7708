/*
 * Saving and loading a large plan and its monthly target set: a 1M-node hierarchy
 * (1 company, 30 regions, 3000 grids, ~997k reps) x 12 months, to the memory store and to
 * the file store (commit with fsync; reopened before loading), beside SQLite storing the
 * same numbers in a table of one row per node (id, parent, annual, 12 month columns), in
 * memory and in a file, and a bare loop writing the same ids, parents and numbers as raw
 * arrays to a file (fsync) and reading them back. Every load is checked equal to the set
 * saved (a checksum over the annual targets and the periods, and the node count); SQLite's
 * and the bare loop's rows are read back and checked the same way. Budget by analogy with
 * issue 4: well under a few seconds each.
 *
 *   bench_target_store [nodes] [directory]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Save plan and set to a new store, load both back (set checked against `want`): ms of
 * the saves and of the loads (with the reopen of a file store, when reopen_path is set)
 * into ms[0] and ms[1]. Prints the records' census when `census_too`. */
static void save_and_load(sp_ctx *ctx, sp_storage *st, sp_target_plan *plan, sp_target_set *set,
                          digest want, const char *reopen_path, bool census_too, double ms[2])
{
    double t0 = bench_now_ms();
    uint32_t version;
    if (sp_target_plan_save(plan, st) != SP_OK)
        die(ctx, "plan save");
    if (sp_target_set_save(set, st, "base", NULL, 0, &version) != SP_OK)
        die(ctx, "set save");
    ms[0] = bench_now_ms() - t0;
    if (census_too) {
        census pc = take_census(st, "target.plan.chunk"), sc = take_census(st, "target.set.chunk");
        printf("  plan: %zu chunk records, %.1f MiB, largest %.2f MiB; set: %zu chunk records, "
               "%.1f MiB, largest %.2f MiB\n",
               pc.records, (double)pc.bytes / 1048576.0, (double)pc.largest / 1048576.0,
               sc.records, (double)sc.bytes / 1048576.0, (double)sc.largest / 1048576.0);
    }
    t0 = bench_now_ms();
    if (reopen_path != NULL) {
        sp_storage_free(st);
        if (sp_storage_file_new(&st, ctx, reopen_path, NULL) != SP_OK)
            die(ctx, "reopen");
    }
    sp_target_plan *p = NULL;
    sp_target_set *l = NULL;
    if (sp_target_plan_load(&p, ctx, st, "FY2026") != SP_OK)
        die(ctx, "plan load");
    if (sp_target_set_load(&l, ctx, st, "FY2026", "base", version) != SP_OK)
        die(ctx, "set load");
    ms[1] = bench_now_ms() - t0;
    digest got = set_digest(ctx, l);
    if (got.n != want.n || got.sum != want.sum)
        bench_die("target store: the set loaded differs from the set saved");
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
static void sqlite_store(const char *file, const tree *t, const int64_t *annual,
                         const int64_t *periods, digest want, double ms[2])
{
    sqlite3 *db;
    sqlite3_stmt *st;
    remove(file);
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
    ms[0] = bench_now_ms() - t0;

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
    ms[1] = bench_now_ms() - t0;
    digest d = digest_of(a, p, rows);
    if (ids_ok != t->c.n || d.n != want.n || d.sum != want.sum)
        bench_die("target store: SQLite read back other contents");
    free(a);
    free(p);
    sqlite3_close(db);
    remove(file);
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

/* The bare loop's floor: the same ids, parents, annual targets and periods written to a
 * new file as raw arrays (ids NUL-separated) and fsynced, then read back. */
static void bare_store(const char *file, const tree *t, const int64_t *annual,
                       const int64_t *periods, digest want, double ms[2])
{
    size_t n = t->c.n;
    double t0 = bench_now_ms();
    FILE *f = fopen(file, "wb");
    bool ok = f != NULL;
    for (size_t i = 0; ok && i < n; i++)
        ok = fwrite(t->ids[i], 1, strlen(t->ids[i]) + 1, f) == strlen(t->ids[i]) + 1;
    ok = ok && fwrite(t->c.parent, sizeof(int64_t), n, f) == n &&
         fwrite(annual, sizeof(int64_t), n, f) == n &&
         fwrite(periods, sizeof(int64_t), n * MONTHS, f) == n * MONTHS && fflush(f) == 0 &&
         fsync(fileno(f)) == 0;
    if (f == NULL || fclose(f) != 0 || !ok)
        bench_die("bare store: cannot write %s", file);
    ms[0] = bench_now_ms() - t0;
    t0 = bench_now_ms();
    f = fopen(file, "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0)
        bench_die("bare store: cannot read %s", file);
    size_t size = (size_t)ftell(f), ids = size - (2 + MONTHS) * n * sizeof(int64_t);
    char *text = malloc(ids);
    int64_t *parent = malloc(n * sizeof *parent), *a = malloc(n * sizeof *a),
            *p = malloc(n * MONTHS * sizeof *p);
    const char **id = malloc(n * sizeof *id);
    rewind(f);
    if (fread(text, 1, ids, f) != ids || fread(parent, sizeof *parent, n, f) != n ||
        fread(a, sizeof *a, n, f) != n || fread(p, sizeof *p, n * MONTHS, f) != n * MONTHS)
        bench_die("bare store: short read of %s", file);
    fclose(f);
    for (size_t i = 0, at = 0; i < n; i++) {
        id[i] = text + at;
        at += strlen(text + at) + 1;
    }
    ms[1] = bench_now_ms() - t0;
    digest d = digest_of(a, p, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(id[i], t->ids[i]) != 0 || parent[i] != t->c.parent[i])
            bench_die("bare store: node %zu read back differs", i);
    if (d.n != want.n || d.sum != want.sum)
        bench_die("bare store: the numbers read back differ");
    free(text);
    free(parent);
    free(a);
    free(p);
    free(id);
    remove(file);
}

/* One side's runs: ms[r][0] saves, ms[r][1] loads; reported as <prefix>.save and .load. */
static void report_store(const char *prefix, const char *side, double ms[BENCH_RUNS][2],
                         const char *note)
{
    double save[BENCH_RUNS], load[BENCH_RUNS];
    for (int r = 0; r < BENCH_RUNS; r++) {
        save[r] = ms[r][0];
        load[r] = ms[r][1];
    }
    char workload[64];
    snprintf(workload, sizeof workload, "%s.save", prefix);
    bench_report(workload, side, -1, bench_stats_of(save, BENCH_RUNS), note);
    snprintf(workload, sizeof workload, "%s.load", prefix);
    bench_report(workload, side, -1, bench_stats_of(load, BENCH_RUNS), note);
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
           "%d months\n(decomposed in %.1f ms). Save: plan + set, one transaction each; load: "
           "plan + set, every check\n(the file store reopened first). Each run a new store and "
           "a new set (made untimed); warm,\nthen min/median/max of %d runs (ms)\n\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF, MONTHS, decompose_ms,
           BENCH_RUNS);
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/sp-bench-target-%d.sps", dir, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    double mem[BENCH_RUNS][2], file[BENCH_RUNS][2], ms[2];
    for (int r = -1; r < BENCH_RUNS; r++) {
        /* A saved set is immutable: every save gets a set of its own, equal to the first. */
        for (int k = 0; k < 2; k++) {
            if (r >= 0 || k > 0) {
                sp_target_set_free(set);
                sp_target_plan_free(plan);
                make_plan(ctx, &t, &plan, &set);
            }
            sp_storage *st;
            if (k == 0) {
                if (sp_storage_memory_new(&st, ctx) != SP_OK)
                    die(ctx, "memory store");
            } else {
                remove(path);
                remove(tmp);
                if (sp_storage_file_new(&st, ctx, path, NULL) != SP_OK)
                    die(ctx, "file store");
            }
            save_and_load(ctx, st, plan, set, want, k == 0 ? NULL : path, r == -1 && k == 0,
                          ms);
            if (r >= 0)
                memcpy(k == 0 ? mem[r] : file[r], ms, sizeof ms);
        }
    }
    remove(path);
    remove(tmp);
    report_store("target_store.mem", "salesplan", mem, "memory store; loads checked equal");
    report_store("target_store.file", "salesplan", file,
                 "file store (commit with fsync; reopened); loads checked equal");

    sp_target_set_data data = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(set, &data);
    snprintf(path, sizeof path, "%s/sp-bench-target-%d.bare", dir, (int)getpid());
    for (int r = -1; r < BENCH_RUNS; r++) {
        bare_store(path, &t, data.annual, data.periods, want, ms);
        if (r >= 0)
            memcpy(file[r], ms, sizeof ms);
    }
    report_store("target_store.file", "bare", file,
                 "same contents; raw arrays written, fsync, read back");
#ifdef HAVE_SQLITE
    snprintf(path, sizeof path, "%s/sp-bench-target-%d.db", dir, (int)getpid());
    for (int r = -1; r < BENCH_RUNS; r++) {
        sqlite_store(":memory:", &t, data.annual, data.periods, want, ms);
        if (r >= 0)
            memcpy(mem[r], ms, sizeof ms);
        sqlite_store(path, &t, data.annual, data.periods, want, ms);
        if (r >= 0)
            memcpy(file[r], ms, sizeof ms);
    }
    report_store("target_store.mem", "sqlite", mem,
                 "same contents; :memory:, one row per node (id, parent, annual, m1..m12)");
    report_store("target_store.file", "sqlite", file, "same contents; a file, the same table");
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    sp_target_set_free(set);
    sp_target_plan_free(plan);
    sp_ctx_free(ctx);
    tree_free(&t);
    return 0;
}
