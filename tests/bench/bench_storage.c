/*
 * The built-in stores beside SQLite doing the same work (budgets from issue 3):
 *   memory store: 1M puts in one transaction, 1M gets (each well under 1 s)
 *   file store:   100k records committed in one transaction, with fsync (under 1 s)
 * SQLite runs the same records through prepared statements into a (ns, key, value)
 * WITHOUT ROWID table (its primary key is the index), in memory and in a file. The bare
 * loop is the floor of an ordered key-value set: the records copied into one array and
 * sorted by key (puts), binary searches (gets), and the same bytes written to a file and
 * fsynced (the file commit). Each side's contents are checked by a checksum over a full
 * ordered scan. Every run of puts starts from an empty store (made untimed).
 *
 *   bench_storage [records] [file-records] [directory]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <salesplan/salesplan.h>

#include "bench.h"

#ifdef HAVE_SQLITE
#include <sqlite3.h>
#endif

#define VALUE_LEN 24

static void die(const char *what, int rc, const sp_storage *st)
{
    fprintf(stderr, "%s failed (%d): %s\n", what, rc,
            st != NULL && st->errmsg != NULL ? st->errmsg(st->user) : "");
    exit(1);
}

static void make_key(uint8_t key[8], uint64_t v)
{
    for (int i = 0; i < 8; i++)
        key[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void make_value(uint8_t value[VALUE_LEN], uint64_t v)
{
    for (int i = 0; i < VALUE_LEN; i++)
        value[i] = (uint8_t)(v * 31 + (uint64_t)i);
}

typedef struct sum {
    uint64_t h, n;
} sum;

static void sum_add(sum *s, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s->h = (s->h ^ p[i]) * 1099511628211u;
    s->h = (s->h ^ n) * 1099511628211u;
}

static int sum_visit(void *arg, const uint8_t *key, size_t klen, const uint8_t *value,
                     size_t vlen)
{
    sum *s = arg;
    sum_add(s, key, klen);
    sum_add(s, value, vlen);
    s->n++;
    return 0;
}

static sum store_sum(const sp_storage *st)
{
    sum s = { 1469598103934665603u, 0 };
    int rc = st->scan(st->user, "bench", NULL, 0, NULL, 0, sum_visit, &s);
    if (rc != 0)
        die("scan", rc, st);
    return s;
}

/* Puts of `n` keys in the order of `ids`, one transaction. Returns ms. */
static double put_all(sp_storage *st, const uint64_t *ids, size_t n)
{
    double t0 = bench_now_ms();
    int rc = st->begin(st->user);
    for (size_t i = 0; i < n && rc == 0; i++) {
        uint8_t key[8], value[VALUE_LEN];
        make_key(key, ids[i]);
        make_value(value, ids[i]);
        rc = st->put(st->user, "bench", key, 8, value, VALUE_LEN);
    }
    if (rc == 0)
        rc = st->commit(st->user);
    if (rc != 0)
        die("put", rc, st);
    return bench_now_ms() - t0;
}

static double get_all(sp_storage *st, const uint64_t *ids, size_t n)
{
    double t0 = bench_now_ms();
    uint64_t check = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        make_key(key, ids[i]);
        const uint8_t *v;
        size_t vlen;
        int rc = st->get(st->user, "bench", key, 8, &v, &vlen);
        if (rc != 0)
            die("get", rc, st);
        check += v[0];
    }
    double t = bench_now_ms() - t0;
    if (check == 0 && n > 100)
        fprintf(stderr, "(unlikely checksum)\n");
    return t;
}

#ifdef HAVE_SQLITE
typedef struct sq {
    sqlite3 *db;
    sqlite3_stmt *put, *get, *scan;
} sq;

static void sq_check(sq *s, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite %s: %s\n", what, sqlite3_errmsg(s->db));
        exit(1);
    }
}

static void sq_open(sq *s, const char *file)
{
    sq_check(s, sqlite3_open(file, &s->db), "open");
    sq_check(s, sqlite3_exec(s->db,
                             "CREATE TABLE r (ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB "
                             "NOT NULL, PRIMARY KEY (ns, key)) WITHOUT ROWID",
                             0, 0, 0),
             "create");
    sq_check(s, sqlite3_prepare_v2(s->db, "INSERT OR REPLACE INTO r VALUES ('bench', ?1, ?2)",
                                   -1, &s->put, 0),
             "prepare");
    sq_check(s, sqlite3_prepare_v2(s->db, "SELECT value FROM r WHERE ns = 'bench' AND key = ?1",
                                   -1, &s->get, 0),
             "prepare");
    sq_check(s, sqlite3_prepare_v2(s->db, "SELECT key, value FROM r WHERE ns = 'bench' "
                                          "ORDER BY key", -1, &s->scan, 0),
             "prepare");
}

static void sq_close(sq *s)
{
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->get);
    sqlite3_finalize(s->scan);
    sqlite3_close(s->db);
}

static double sq_put_all(sq *s, const uint64_t *ids, size_t n)
{
    double t0 = bench_now_ms();
    sq_check(s, sqlite3_exec(s->db, "BEGIN", 0, 0, 0), "begin");
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8], value[VALUE_LEN];
        make_key(key, ids[i]);
        make_value(value, ids[i]);
        sqlite3_bind_blob(s->put, 1, key, 8, SQLITE_STATIC);
        sqlite3_bind_blob(s->put, 2, value, VALUE_LEN, SQLITE_STATIC);
        sq_check(s, sqlite3_step(s->put), "insert");
        sqlite3_reset(s->put);
    }
    sq_check(s, sqlite3_exec(s->db, "COMMIT", 0, 0, 0), "commit");
    return bench_now_ms() - t0;
}

static double sq_get_all(sq *s, const uint64_t *ids, size_t n)
{
    double t0 = bench_now_ms();
    for (size_t i = 0; i < n; i++) {
        uint8_t key[8];
        make_key(key, ids[i]);
        sqlite3_bind_blob(s->get, 1, key, 8, SQLITE_STATIC);
        if (sqlite3_step(s->get) != SQLITE_ROW)
            sq_check(s, SQLITE_ERROR, "get");
        sqlite3_reset(s->get);
    }
    return bench_now_ms() - t0;
}

static sum sq_sum(sq *s)
{
    sum out = { 1469598103934665603u, 0 };
    while (sqlite3_step(s->scan) == SQLITE_ROW)
        sum_visit(&out, sqlite3_column_blob(s->scan, 0), (size_t)sqlite3_column_bytes(s->scan, 0),
                  sqlite3_column_blob(s->scan, 1), (size_t)sqlite3_column_bytes(s->scan, 1));
    sqlite3_reset(s->scan);
    return out;
}
#endif

/* ---- the bare loop: a sorted array of records ---- */

typedef struct bare_rec {
    uint8_t key[8], value[VALUE_LEN];
} bare_rec;

static int bare_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

typedef struct run {
    sp_ctx *ctx;
    const uint64_t *ids;
    size_t n;
    sp_storage *st;
    const char *path; /* file store / SQLite file */
    bare_rec *recs;
#ifdef HAVE_SQLITE
    sq sq;
#endif
} run;

static void reset_mem(void *arg)
{
    run *r = arg;
    sp_storage_free(r->st);
    if (sp_storage_memory_new(&r->st, r->ctx) != SP_OK)
        bench_die("memory store: %s", sp_ctx_errmsg(r->ctx));
}

static void reset_file(void *arg)
{
    run *r = arg;
    char tmp[520];
    sp_storage_free(r->st);
    remove(r->path);
    snprintf(tmp, sizeof tmp, "%s.tmp", r->path);
    remove(tmp);
    if (sp_storage_file_new(&r->st, r->ctx, r->path, NULL) != SP_OK)
        bench_die("file store: %s", sp_ctx_errmsg(r->ctx));
}

static void run_put(void *arg)
{
    run *r = arg;
    put_all(r->st, r->ids, r->n);
}

static void run_get(void *arg)
{
    run *r = arg;
    get_all(r->st, r->ids, r->n);
}

static void run_reopen(void *arg)
{
    run *r = arg;
    sp_storage_free(r->st);
    if (sp_storage_file_new(&r->st, r->ctx, r->path, NULL) != SP_OK)
        bench_die("reopen: %s", sp_ctx_errmsg(r->ctx));
}

static void run_bare_put(void *arg)
{
    run *r = arg;
    for (size_t i = 0; i < r->n; i++) {
        make_key(r->recs[i].key, r->ids[i]);
        make_value(r->recs[i].value, r->ids[i]);
    }
    qsort(r->recs, r->n, sizeof *r->recs, bare_cmp);
}

static void run_bare_get(void *arg)
{
    run *r = arg;
    uint64_t check = 0;
    for (size_t i = 0; i < r->n; i++) {
        uint8_t key[8];
        make_key(key, r->ids[i]);
        const bare_rec *p = bsearch(key, r->recs, r->n, sizeof *r->recs, bare_cmp);
        if (p == NULL)
            bench_die("bare get: a key is missing");
        check += p->value[0];
    }
    if (check == 0 && r->n > 100)
        fprintf(stderr, "(unlikely checksum)\n");
}

/* The I/O floor of a commit: the records' bytes written to a new file, then fsync. */
static void run_bare_file(void *arg)
{
    run *r = arg;
    run_bare_put(r);
    FILE *f = fopen(r->path, "wb");
    if (f == NULL || fwrite(r->recs, sizeof *r->recs, r->n, f) != r->n || fflush(f) != 0 ||
        fsync(fileno(f)) != 0 || fclose(f) != 0)
        bench_die("bare file: cannot write %s", r->path);
}

static void run_bare_read(void *arg)
{
    run *r = arg;
    FILE *f = fopen(r->path, "rb");
    if (f == NULL || fread(r->recs, sizeof *r->recs, r->n, f) != r->n)
        bench_die("bare file: cannot read %s", r->path);
    fclose(f);
}

static sum bare_sum(const run *r)
{
    sum s = { 1469598103934665603u, 0 };
    for (size_t i = 0; i < r->n; i++)
        sum_visit(&s, r->recs[i].key, 8, r->recs[i].value, VALUE_LEN);
    return s;
}

#ifdef HAVE_SQLITE
static void reset_sq(void *arg)
{
    run *r = arg;
    if (r->sq.db != NULL)
        sq_close(&r->sq);
    remove(r->path);
    sq_open(&r->sq, r->path);
}

static void run_sq_put(void *arg)
{
    run *r = arg;
    sq_put_all(&r->sq, r->ids, r->n);
}

static void run_sq_get(void *arg)
{
    run *r = arg;
    sq_get_all(&r->sq, r->ids, r->n);
}
#endif

static void same(const char *what, sum a, sum b)
{
    if (a.h != b.h || a.n != b.n)
        bench_die("%s: contents differ (%llu vs %llu records)", what, (unsigned long long)a.n,
                  (unsigned long long)b.n);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t nf = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    uint64_t *ids = malloc(n * sizeof *ids), seed = 42;
    for (size_t i = 0; i < n; i++)
        ids[i] = i * 2654435761u;
    for (size_t i = n; i > 1; i--) { /* shuffled */
        size_t j = bench_splitmix(&seed) % i;
        uint64_t t = ids[i - 1];
        ids[i - 1] = ids[j];
        ids[j] = t;
    }
    run r = { .ids = ids, .n = n, .recs = malloc(n * sizeof(bare_rec)) };
    sp_ctx_new(&r.ctx, NULL);
    printf("storage: %zu records of 8-byte keys and %d-byte values, keys in random order; "
           "warm, then min/median/max of %d runs (ms)\n\n",
           n, VALUE_LEN, BENCH_RUNS);

    /* ---- memory ---- */
    bench_stats s = bench_measure_reset(run_put, reset_mem, &r);
    bench_report("storage.mem.put", "salesplan", -1, s, "memory store: 1 tx of puts");
    s = bench_measure(run_get, &r);
    bench_report("storage.mem.get", "salesplan", -1, s, "memory store: gets");
    sum want = store_sum(r.st);
    sp_storage_free(r.st);
    r.st = NULL;
    s = bench_measure(run_bare_put, &r);
    same("bare", want, bare_sum(&r));
    bench_report("storage.mem.put", "bare", -1, s, "same contents; records sorted in an array");
    bench_report("storage.mem.get", "bare", -1, bench_measure(run_bare_get, &r),
                 "binary searches");
#ifdef HAVE_SQLITE
    r.path = ":memory:";
    s = bench_measure_reset(run_sq_put, reset_sq, &r);
    same("sqlite :memory:", want, sq_sum(&r.sq));
    bench_report("storage.mem.put", "sqlite", -1, s, "same contents; :memory:, 1 tx of inserts");
    bench_report("storage.mem.get", "sqlite", -1, bench_measure(run_sq_get, &r),
                 "selects by primary key");
    sq_close(&r.sq);
    r.sq.db = NULL;
#endif

    /* ---- file ---- */
    printf("\n%zu records in one transaction, in %s, with fsync\n\n", nf, dir);
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/sp-bench-%d.sps", dir, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    r.path = path;
    r.n = nf;
    s = bench_measure_reset(run_put, reset_file, &r);
    bench_report("storage.file.commit", "salesplan", -1, s,
                 "file store: 1 tx of puts + commit (write, fsync)");
    want = store_sum(r.st);
    s = bench_measure(run_reopen, &r);
    same("file store reopened", want, store_sum(r.st));
    bench_report("storage.file.reopen", "salesplan", -1, s, "file store: reopen (replay the log)");
    bench_report("storage.file.get", "salesplan", -1, bench_measure(run_get, &r),
                 "file store: gets");
    sp_storage_free(r.st);
    r.st = NULL;
    remove(path);
    remove(tmp);
    snprintf(path, sizeof path, "%s/sp-bench-%d.bare", dir, (int)getpid());
    s = bench_measure(run_bare_file, &r);
    bench_report("storage.file.commit", "bare", -1, s, "records sorted, written, fsync");
    s = bench_measure(run_bare_read, &r);
    same("bare file", want, bare_sum(&r));
    bench_report("storage.file.reopen", "bare", -1, s, "same contents; the file read back");
    bench_report("storage.file.get", "bare", -1, bench_measure(run_bare_get, &r),
                 "binary searches");
    remove(path);
#ifdef HAVE_SQLITE
    snprintf(path, sizeof path, "%s/sp-bench-%d.db", dir, (int)getpid());
    s = bench_measure_reset(run_sq_put, reset_sq, &r);
    same("sqlite file", want, sq_sum(&r.sq));
    bench_report("storage.file.commit", "sqlite", -1, s,
                 "same contents; 1 tx of inserts + commit (journal, fsync)");
    bench_report("storage.file.get", "sqlite", -1, bench_measure(run_sq_get, &r),
                 "selects by primary key");
    sq_close(&r.sq);
    remove(path);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    printf("\ncontents checked equal between the stores, the bare loop and SQLite\n");
    free(ids);
    free(r.recs);
    sp_ctx_free(r.ctx);
    return 0;
}
