/*
 * Dictionaries: 1M distinct host ids (ASCII and Chinese mixed, shuffled) added in one
 * batch, then each found, and a 2M-row id column interned (factorised), on every side that
 * has the operation: salesplan's sp_dict, a bare C hash table (FNV-1a, linear probing,
 * the ids copied into one arena, no UTF-8 check), pandas (factorize, Index.get_indexer)
 * and, printed beside them, Python's dict. Every side's codes are compared value by value
 * (codes in order of first appearance). SQL engines have no such operation: no DuckDB or
 * SQLite side.
 *
 *   bench_dict [ids]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"

static const char *const words[] = { "东区", "华北", "网格", "门店", "shop", "Berlin", "", "K" };

/* ---- the bare hash table ---- */

typedef struct bare_dict {
    uint32_t *slot; /* cap entries: an index, or UINT32_MAX */
    size_t cap, count, used;
    uint64_t *hash;
    size_t *off, *len;
    char *arena;
} bare_dict;

static uint64_t fnv(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211u;
    return h;
}

/* Room for n ids of `bytes` bytes in all. */
static void bare_new(bare_dict *d, size_t n, size_t bytes)
{
    d->cap = 16;
    while (d->cap < 2 * n)
        d->cap *= 2;
    d->slot = malloc(d->cap * sizeof *d->slot);
    memset(d->slot, 0xff, d->cap * sizeof *d->slot);
    d->hash = malloc(n * sizeof *d->hash);
    d->off = malloc(n * sizeof *d->off);
    d->len = malloc(n * sizeof *d->len);
    d->arena = malloc(bytes);
    d->count = d->used = 0;
}

static void bare_free(bare_dict *d)
{
    free(d->slot);
    free(d->hash);
    free(d->off);
    free(d->len);
    free(d->arena);
}

/* The index of s, added when `add` and new; UINT32_MAX when absent and not added. */
static uint32_t bare_lookup(bare_dict *d, const char *s, size_t n, bool add)
{
    uint64_t h = fnv(s, n);
    for (size_t at = (size_t)h & (d->cap - 1);; at = (at + 1) & (d->cap - 1)) {
        uint32_t k = d->slot[at];
        if (k == UINT32_MAX) {
            if (!add)
                return k;
            k = (uint32_t)d->count++;
            d->hash[k] = h;
            d->off[k] = d->used;
            d->len[k] = n;
            memcpy(d->arena + d->used, s, n);
            d->used += n;
            d->slot[at] = k;
            return k;
        }
        if (d->hash[k] == h && d->len[k] == n && memcmp(d->arena + d->off[k], s, n) == 0)
            return k;
    }
}

typedef struct run {
    sp_ctx *ctx;
    char **ids;
    size_t *lens, n, rows, bytes;
    const uint32_t *col;
    uint32_t *codes;
    sp_dict *d;
    bare_dict b;
} run;

/* Untimed before each run: the previous run's dictionary or table goes. */
static void reset(void *arg)
{
    run *r = arg;
    sp_dict_free(r->d);
    r->d = NULL;
    bare_free(&r->b);
    memset(&r->b, 0, sizeof r->b);
}

static void run_add_all(void *arg)
{
    run *r = arg;
    if (sp_dict_new(&r->d, r->ctx) != SP_OK ||
        sp_dict_add_all(r->d, (const char *const *)r->ids, r->lens, r->n, r->codes) != SP_OK)
        bench_die("add_all: %s", sp_ctx_errmsg(r->ctx));
}

static void run_find(void *arg)
{
    run *r = arg;
    for (size_t i = 0; i < r->n; i++)
        if (sp_dict_find(r->d, r->ids[i], r->lens[i], &r->codes[i]) != SP_OK)
            bench_die("find: %s", sp_ctx_errmsg(r->ctx));
}

static void run_intern(void *arg)
{
    run *r = arg;
    if (sp_dict_new(&r->d, r->ctx) != SP_OK)
        bench_die("dict");
    for (size_t k = 0; k < r->rows; k++)
        if (sp_dict_intern(r->d, r->ids[r->col[k]], r->lens[r->col[k]], &r->codes[k]) != SP_OK)
            bench_die("intern: %s", sp_ctx_errmsg(r->ctx));
}

static void run_bare_add(void *arg)
{
    run *r = arg;
    bare_new(&r->b, r->n, r->bytes);
    for (size_t i = 0; i < r->n; i++)
        r->codes[i] = bare_lookup(&r->b, r->ids[i], r->lens[i], true);
}

static void run_bare_find(void *arg)
{
    run *r = arg;
    for (size_t i = 0; i < r->n; i++)
        r->codes[i] = bare_lookup(&r->b, r->ids[i], r->lens[i], false);
}

static void run_bare_intern(void *arg)
{
    run *r = arg;
    bare_new(&r->b, r->n, r->bytes);
    for (size_t k = 0; k < r->rows; k++)
        r->codes[k] = bare_lookup(&r->b, r->ids[r->col[k]], r->lens[r->col[k]], true);
}

/* Codes as int64, for the comparison with the peers' files. */
static void widen(const uint32_t *c, size_t n, int64_t *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = c[i];
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t rows = 2 * n;
    uint64_t seed = 7;
    run r = { .n = n, .rows = rows, .ids = malloc(n * sizeof(char *)),
              .lens = malloc(n * sizeof(size_t)), .codes = malloc(rows * sizeof(uint32_t)) };
    uint32_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = bench_splitmix(&seed) % i;
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    /* Distinct ids in a shuffled order: "cust-<k>-<word>". */
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "cust-%u-%s", (unsigned)perm[i] * 7919u,
                           words[perm[i] % 8]);
        r.ids[i] = malloc((size_t)len + 1);
        memcpy(r.ids[i], buf, (size_t)len + 1);
        r.lens[i] = (size_t)len;
        r.bytes += (size_t)len;
    }
    /* A column of 2n rows drawn from the ids, as an order-lines export would hold them. */
    uint32_t *col = malloc(rows * sizeof *col);
    for (size_t k = 0; k < rows; k++)
        col[k] = (uint32_t)(bench_splitmix(&seed) % n);
    r.col = col;
    int64_t *want_add = calloc(n, sizeof(int64_t)), *want_col = calloc(rows, sizeof(int64_t));
    int64_t *got = malloc(rows * sizeof(int64_t));
    sp_ctx_new(&r.ctx, NULL);
    printf("%zu distinct ids; a column of %zu rows drawn from them; warm, then "
           "min/median/max of %d runs (ms)\n\n",
           n, rows, BENCH_RUNS);

    bench_stats s = bench_measure_reset(run_add_all, reset, &r);
    widen(r.codes, n, want_add);
    bench_report("dict.add", "salesplan", -1, s, "sp_dict_add_all, one batch into a new dictionary");
    s = bench_measure(run_find, &r);
    widen(r.codes, n, got);
    bench_same("dict.find", "salesplan", want_add, got, n);
    bench_report("dict.find", "salesplan", -1, s, "sp_dict_find, each distinct id");
    s = bench_measure_reset(run_intern, reset, &r);
    widen(r.codes, rows, want_col);
    bench_report("dict.intern", "salesplan", -1, s, "sp_dict_intern over the column");
    reset(&r);

    s = bench_measure_reset(run_bare_add, reset, &r);
    widen(r.codes, n, got);
    bench_same("dict.add", "bare", want_add, got, n);
    bench_report("dict.add", "bare", -1, s, "same codes; FNV-1a, linear probing, one arena");
    s = bench_measure(run_bare_find, &r);
    widen(r.codes, n, got);
    bench_same("dict.find", "bare", want_add, got, n);
    bench_report("dict.find", "bare", -1, s, "same codes");
    s = bench_measure_reset(run_bare_intern, reset, &r);
    widen(r.codes, rows, got);
    bench_same("dict.intern", "bare", want_col, got, rows);
    bench_report("dict.intern", "bare", -1, s, "same codes");
    reset(&r);

    /* The same ids and column for Python: the distinct ids, then the column, one a line. */
    bench_dir dir;
    bench_dir_new(&dir);
    char path[160];
    snprintf(path, sizeof path, "%s/ids", dir.path);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        bench_die("cannot write %s", path);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\n", r.ids[i]);
    for (size_t k = 0; k < rows; k++)
        fprintf(f, "%s\n", r.ids[col[k]]);
    fclose(f);
    bench_dir_note(&dir, "ids");
    char args[32];
    snprintf(args, sizeof args, "%zu", n);
    bench_peer_result res[6];
    bench_peer("python", "dict_pandas.py", &dir, args, res, 6);
    bench_peer_check(&dir, res, 6, "add", "dict.add", "pandas", want_add, got, n);
    bench_peer_check(&dir, res, 6, "find", "dict.find", "pandas", want_add, got, n);
    bench_peer_check(&dir, res, 6, "intern", "dict.intern", "pandas", want_col, got, rows);
    bench_peer_check(&dir, res, 6, "py_add", "dict.add", "python", want_add, got, n);
    bench_peer_check(&dir, res, 6, "py_find", "dict.find", "python", want_add, got, n);
    bench_peer_check(&dir, res, 6, "py_intern", "dict.intern", "python", want_col, got, rows);
    bench_dir_free(&dir);

    sp_ctx_free(r.ctx);
    for (size_t i = 0; i < n; i++)
        free(r.ids[i]);
    free(r.ids);
    free(r.lens);
    free(r.codes);
    free(perm);
    free(col);
    free(want_add);
    free(want_col);
    free(got);
    return 0;
}
