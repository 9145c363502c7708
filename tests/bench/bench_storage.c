/*
 * The built-in stores beside SQLite doing the same work (budgets from issue 3):
 *   memory store: 1M puts in one transaction, 1M gets (each well under 1 s)
 *   file store:   100k records committed in one transaction, with fsync (under 1 s)
 * SQLite runs the same records through prepared statements into a (ns, key, value)
 * table, in memory and in a file. Each side's contents are checked by a checksum over a
 * full ordered scan.
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

/* What this machine gives anyone: fresh memory for a million small records, and a
 * million dependent loads from random places in 64 MiB (a tree lookup costs a few). */
static void machine_baseline(size_t n)
{
    void **blocks = malloc(n * sizeof *blocks);
    double t0 = bench_now_ms();
    for (size_t i = 0; i < n; i++) {
        blocks[i] = malloc(64);
        memset(blocks[i], (int)i, 64);
    }
    double alloc_ms = bench_now_ms() - t0;
    for (size_t i = 0; i < n; i++)
        free(blocks[i]);
    free(blocks);
    size_t m = (size_t)8 << 20;
    uint64_t *next = malloc(m * sizeof *next), seed = 7;
    for (size_t i = 0; i < m; i++)
        next[i] = i;
    for (size_t i = m - 1; i > 0; i--) { /* one random cycle through the array */
        size_t j = bench_splitmix(&seed) % i;
        uint64_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    t0 = bench_now_ms();
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x = next[x];
    double load_ms = bench_now_ms() - t0;
    free(next);
    printf("machine: %zu malloc(64) + first touch %.1f ms; %zu dependent random loads in "
           "64 MiB %.1f ms (%llu)\n\n",
           n, alloc_ms, n, load_ms, (unsigned long long)(x & 1));
}

static void row(const char *what, double ms)
{
    printf("%-58s %9.1f\n", what, ms);
}

static void same(const char *what, sum a, sum b)
{
    if (a.h != b.h || a.n != b.n) {
        fprintf(stderr, "%s: contents differ (%llu vs %llu records)\n", what,
                (unsigned long long)a.n, (unsigned long long)b.n);
        exit(1);
    }
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t nf = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
    const char *dir = argc > 3 ? argv[3] : "/tmp";
    uint64_t *seq_ids = malloc(n * sizeof *seq_ids), *rnd_ids = malloc(n * sizeof *rnd_ids);
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++)
        seq_ids[i] = rnd_ids[i] = i * 2654435761u;
    for (size_t i = 0; i < n; i++) /* sequential ids sorted, random ids shuffled */
        seq_ids[i] = i;
    for (size_t i = n; i > 1; i--) {
        size_t j = bench_splitmix(&seed) % i;
        uint64_t t = rnd_ids[i - 1];
        rnd_ids[i - 1] = rnd_ids[j];
        rnd_ids[j] = t;
    }
    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    machine_baseline(n);
    printf("storage: %zu records of 8-byte keys and %d-byte values (ms)\n\n", n, VALUE_LEN);

    /* ---- memory ---- */
    sp_storage *mem;
    sp_storage_memory_new(&mem, ctx);
    row("memory store: 1 tx of puts, keys in order", put_all(mem, seq_ids, n));
    sp_storage_free(mem);
    sp_storage_memory_new(&mem, ctx);
    row("memory store: 1 tx of puts, keys in random order", put_all(mem, rnd_ids, n));
    row("memory store: gets in random order", get_all(mem, rnd_ids, n));
    sum mem_sum = store_sum(mem);
#ifdef HAVE_SQLITE
    sq s;
    sq_open(&s, ":memory:");
    row("sqlite :memory:: 1 tx of inserts, keys in random order", sq_put_all(&s, rnd_ids, n));
    row("sqlite :memory:: selects in random order", sq_get_all(&s, rnd_ids, n));
    same("sqlite :memory:", mem_sum, sq_sum(&s));
    sq_close(&s);
#endif
    sp_storage_free(mem);

    /* ---- file ---- */
    printf("\n%zu records in one transaction, in %s, with fsync (ms)\n\n", nf, dir);
    char path[512], tmp[520];
    snprintf(path, sizeof path, "%s/sp-bench-%d.sps", dir, (int)getpid());
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    sp_storage *fs;
    int rc = sp_storage_file_new(&fs, ctx, path, NULL);
    if (rc != SP_OK) {
        fprintf(stderr, "%s\n", sp_ctx_errmsg(ctx));
        return 1;
    }
    row("file store: 1 tx of puts + commit (write, fsync)", put_all(fs, rnd_ids, nf));
    sum file_sum = store_sum(fs);
    sp_storage_free(fs);
    double t0 = bench_now_ms();
    rc = sp_storage_file_new(&fs, ctx, path, NULL);
    row("file store: reopen (replay the log)", bench_now_ms() - t0);
    if (rc != SP_OK)
        die("reopen", rc, NULL);
    same("file store reopened", file_sum, store_sum(fs));
    row("file store: gets in random order", get_all(fs, rnd_ids, nf));
    sp_storage_free(fs);
    remove(path);
    remove(tmp);
#ifdef HAVE_SQLITE
    snprintf(path, sizeof path, "%s/sp-bench-%d.db", dir, (int)getpid());
    remove(path);
    sq_open(&s, path);
    row("sqlite file: 1 tx of inserts + commit (journal, fsync)", sq_put_all(&s, rnd_ids, nf));
    row("sqlite file: selects in random order", sq_get_all(&s, rnd_ids, nf));
    same("sqlite file", file_sum, sq_sum(&s));
    sq_close(&s);
    remove(path);
#endif
    printf("\ncontents checked equal between the stores and SQLite\n");
    free(seq_ids);
    free(rnd_ids);
    sp_ctx_free(ctx);
    return 0;
}
