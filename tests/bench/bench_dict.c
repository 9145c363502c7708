/*
 * Dictionaries: 1M distinct host ids (ASCII and Chinese mixed, shuffled) added in one
 * batch, then each found, and a 2M-row id column interned (factorised), on every side that
 * has the operation: salesplan's sp_dict, a bare C hash table (a hash of 8 bytes a step,
 * linear probing over (hash, index) slots, the ids copied into one arena, no UTF-8 check), pandas (factorize, Index.get_indexer)
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

/* 16 bytes: what a probe compares before it reads the id. */
typedef struct bare_slot {
    uint64_t hash;
    uint32_t index; /* UINT32_MAX: empty */
    uint32_t len;
} bare_slot;

typedef struct bare_dict {
    bare_slot *slot; /* cap entries, at most 3/4 full */
    size_t cap, count, used;
    size_t *off; /* per index: where its id starts in the arena */
    char *arena;
} bare_dict;

/* Eight bytes a step: a multiply and a rotation each (not a hash to defend against
 * adversarial ids, like the library's). */
static uint64_t hash_of(const char *s, size_t n)
{
    uint64_t h = 0x9E3779B97F4A7C15u ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xBF58476D1CE4E5B9u;
        h ^= h >> 29;
    }
    w = 0;
    for (size_t k = 0; k < n; k++) /* the tail: a loop, not a memcpy call of a variable size */
        w |= (uint64_t)(unsigned char)s[k] << (8 * k);
    h = (h ^ w) * 0x94D049BB133111EBu; /* then splitmix64's finaliser: every bit mixed */
    h = (h ^ (h >> 30)) * 0xBF58476D1CE4E5B9u;
    h = (h ^ (h >> 27)) * 0x94D049BB133111EBu;
    return h ^ (h >> 31);
}

/* Room for n ids of `bytes` bytes in all. */
static void bare_new(bare_dict *d, size_t n, size_t bytes)
{
    d->cap = 16;
    while (d->cap / 4 * 3 < n)
        d->cap *= 2;
    d->slot = malloc(d->cap * sizeof *d->slot);
    memset(d->slot, 0xff, d->cap * sizeof *d->slot);
    d->off = malloc(n * sizeof *d->off);
    d->arena = malloc(bytes);
    d->count = d->used = 0;
}

static void bare_free(bare_dict *d)
{
    free(d->slot);
    free(d->off);
    free(d->arena);
}

/* The index of s, added when `add` and new; UINT32_MAX when absent and not added. */
static uint32_t bare_lookup(bare_dict *d, const char *s, size_t n, bool add)
{
    uint64_t h = hash_of(s, n);
    for (size_t at = (size_t)h & (d->cap - 1);; at = (at + 1) & (d->cap - 1)) {
        bare_slot *e = &d->slot[at];
        if (e->index == UINT32_MAX) {
            if (!add)
                return UINT32_MAX;
            bare_slot fresh = { h, (uint32_t)d->count++, (uint32_t)n };
            d->off[fresh.index] = d->used;
            memcpy(d->arena + d->used, s, n);
            d->used += n;
            *e = fresh;
            return fresh.index;
        }
        if (e->hash == h && e->len == n && memcmp(d->arena + d->off[e->index], s, n) == 0)
            return e->index;
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
    bench_report("dict.add", "bare", -1, s, "same codes; 8-byte hash steps, linear probing, one arena");
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
