/*
 * The in-memory store: the conformance kit, a model-based property test against a
 * simple oracle, allocation failures inside writes, refusals, accounting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "storage/memory.h"
#include "storage/store.h"
#include "support/spt.h"
#include "support/spt_storage.h"
#include "support/spt_storage_contract.h"

/* ---- the conformance kit ---- */

static sp_storage *kit_open(void *user)
{
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_memory_new(&st, user), SP_OK);
    return st;
}

static void kit_close(void *user, sp_storage *st)
{
    (void)user;
    sp_storage_free(st);
}

static void test_contract(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    spt_storage_backend b = { "memory store", kit_open, kit_close, NULL, ctx };
    spt_storage_contract(&b);
    assert_int_equal(a.live_blocks, 1); /* every store freed all it held */
    sp_ctx_free(ctx);
}

/* ---- the oracle: per namespace, a slot for every key of a fixed universe ---- */

#define NS_COUNT 3
static const char *const ns_names[NS_COUNT] = { "a", "a.b", "b" };

/* Two universes of keys, each listed in key order (so the oracle needs no sorting):
 * short strings over a tricky alphabet (prefixes, NUL, 0x80, 0xFF), and 3-byte
 * big-endian numbers (deep trees, many splits and deletions). */
#define NARROW_KEYS (8 + 64 + 512 + 4096)
#define WIDE_KEYS 5000
#define MAX_KEYS WIDE_KEYS

typedef struct universe {
    size_t n;
    uint8_t key[MAX_KEYS][4];
    size_t len[MAX_KEYS];
} universe;

typedef struct slot {
    bool present;
    uint8_t vlen;
    uint8_t value[24];
} slot;

typedef struct oracle {
    slot s[NS_COUNT][MAX_KEYS];
} oracle;

static int ref_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen == blen ? 0 : alen < blen ? -1 : 1;
}

static const universe *ukeys_sort_base;

static int rank_cmp(const void *a, const void *b)
{
    const universe *u = ukeys_sort_base;
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return ref_compare(u->key[x], u->len[x], u->key[y], u->len[y]);
}

static universe *make_universe(bool wide)
{
    universe *u = calloc(1, sizeof *u);
    assert_non_null(u);
    if (wide) {
        for (size_t i = 0; i < WIDE_KEYS; i++) {
            u->key[i][0] = 0;
            u->key[i][1] = (uint8_t)(i >> 8);
            u->key[i][2] = (uint8_t)i;
            u->len[i] = 3;
        }
        u->n = WIDE_KEYS;
        return u;
    }
    static const uint8_t alpha[] = { 0x00, 0x01, 'a', 'b', 0x7f, 0x80, 0xfe, 0xff };
    universe raw;
    raw.n = 0;
    for (size_t len = 1; len <= 4; len++) {
        size_t count = (size_t)1 << (3 * len);
        for (size_t c = 0; c < count; c++) {
            for (size_t i = 0; i < len; i++)
                raw.key[raw.n][i] = alpha[(c >> (3 * i)) & 7];
            raw.len[raw.n++] = len;
        }
    }
    size_t order[NARROW_KEYS];
    for (size_t i = 0; i < raw.n; i++)
        order[i] = i;
    ukeys_sort_base = &raw;
    qsort(order, raw.n, sizeof order[0], rank_cmp);
    for (size_t i = 0; i < raw.n; i++) {
        memcpy(u->key[i], raw.key[order[i]], 4);
        u->len[i] = raw.len[order[i]];
    }
    u->n = raw.n;
    return u;
}

/* ---- the property test ---- */

typedef struct got_list {
    const universe *u;
    size_t *rank; /* what was visited, as ranks in the universe */
    slot *val;
    int *ns;
    size_t n, cap;
    int cur_ns;
} got_list;

static size_t rank_of(const universe *u, const uint8_t *key, size_t klen)
{
    size_t lo = 0, hi = u->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = ref_compare(u->key[mid], u->len[mid], key, klen);
        if (c == 0)
            return mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    fail_msg("a key that was never written came back");
    return 0;
}

static int collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen)
{
    got_list *g = arg;
    assert_true(g->n < g->cap && vlen <= 24);
    g->rank[g->n] = rank_of(g->u, key, klen);
    g->ns[g->n] = g->cur_ns;
    g->val[g->n].vlen = (uint8_t)vlen;
    if (vlen > 0)
        memcpy(g->val[g->n].value, value, vlen);
    g->n++;
    return 0;
}

static int collect_each(void *arg, const char *ns, const uint8_t *key, size_t klen,
                        const uint8_t *value, size_t vlen)
{
    got_list *g = arg;
    for (g->cur_ns = 0; g->cur_ns < NS_COUNT && strcmp(ns_names[g->cur_ns], ns) != 0;
         g->cur_ns++)
        ;
    assert_true(g->cur_ns < NS_COUNT);
    return collect(arg, key, klen, value, vlen);
}

/* The visits must be exactly the present slots of namespaces [ns0, ns1] with ranks in
 * [from, to), in namespace and rank order. */
static void expect_visits(const got_list *g, const oracle *o, int ns0, int ns1, size_t from,
                          size_t to, const char *what, unsigned step)
{
    size_t k = 0;
    for (int ns = ns0; ns <= ns1; ns++)
        for (size_t r = from; r < to; r++) {
            const slot *sl = &o->s[ns][r];
            if (!sl->present)
                continue;
            if (k >= g->n)
                fail_msg("step %u: %s: %zu records, the oracle has more", step, what, g->n);
            if (g->ns[k] != ns || g->rank[k] != r || g->val[k].vlen != sl->vlen ||
                (sl->vlen > 0 && memcmp(g->val[k].value, sl->value, sl->vlen) != 0))
                fail_msg("step %u: %s: record %zu differs from the oracle", step, what, k);
            k++;
        }
    if (k != g->n)
        fail_msg("step %u: %s: %zu records, the oracle has %zu", step, what, g->n, k);
}

static void test_model(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    spt_rng rng = { 314159 };
    universe *narrow = make_universe(false), *wide = make_universe(true);
    oracle *live = calloc(1, sizeof *live), *committed = calloc(1, sizeof *committed);
    size_t cap = NS_COUNT * MAX_KEYS;
    got_list got = { NULL, malloc(cap * sizeof(size_t)), malloc(cap * sizeof(slot)),
                     malloc(cap * sizeof(int)), 0, cap, 0 };
    assert_true(live && committed && got.rank && got.val && got.ns);
    unsigned sequences = spt_iterations(20);
    for (unsigned seq = 0; seq < sequences; seq++) {
        spi_mem *m = NULL;
        assert_int_equal(spi_mem_new(&m, ctx, "memory store"), SP_OK);
        memset(live, 0, sizeof *live);
        const universe *u = seq % 2 ? wide : narrow;
        got.u = u;
        bool in_tx = false;
        unsigned steps = 8000;
        for (unsigned step = 0; step < steps; step++) {
            /* Phases: mostly puts, then mixed, then mostly removes. */
            unsigned put_pct = step < steps / 3 ? 80 : step < 2 * steps / 3 ? 45 : 10;
            uint64_t dice = spt_rng_next(&rng) % 1000;
            int ns = (int)spt_rng_range(&rng, 0, NS_COUNT - 1);
            size_t r = (size_t)spt_rng_range(&rng, 0, (int64_t)u->n - 1);
            const uint8_t *key = u->key[r];
            size_t klen = u->len[r];
            slot *sl = &live->s[ns][r];
            if (!in_tx && dice < 900) {
                assert_int_equal(spi_mem_begin(m), SP_OK);
                memcpy(committed, live, sizeof *live);
                in_tx = true;
            } else if (in_tx && dice < 15) {
                assert_int_equal(spi_mem_commit(m), SP_OK);
                in_tx = false;
            } else if (in_tx && dice < 25) {
                assert_int_equal(spi_mem_rollback(m), SP_OK);
                memcpy(live, committed, sizeof *live);
                in_tx = false;
            } else if (in_tx && dice % 100 < put_pct) {
                sl->vlen = (uint8_t)spt_rng_range(&rng, 0, 24);
                for (size_t i = 0; i < sl->vlen; i++)
                    sl->value[i] = (uint8_t)spt_rng_next(&rng);
                assert_int_equal(spi_mem_put(m, ns_names[ns], key, klen, sl->value, sl->vlen),
                                 SP_OK);
                sl->present = true;
            } else if (in_tx && dice % 100 < 95) {
                assert_int_equal(spi_mem_remove(m, ns_names[ns], key, klen), SP_OK);
                sl->present = false;
            } else if (dice % 2 == 0) {
                const uint8_t *v = NULL;
                size_t vlen = 0;
                int rc = spi_mem_get(m, ns_names[ns], key, klen, &v, &vlen);
                if (!sl->present) {
                    assert_int_equal(rc, SP_ENOTFOUND);
                } else {
                    assert_int_equal(rc, SP_OK);
                    assert_int_equal(vlen, sl->vlen);
                    if (vlen > 0)
                        assert_memory_equal(v, sl->value, vlen);
                }
            } else {
                size_t to = (size_t)spt_rng_range(&rng, 0, (int64_t)u->n - 1);
                bool open_from = spt_rng_chance(&rng, 20), open_to = spt_rng_chance(&rng, 20);
                got.n = 0;
                got.cur_ns = ns;
                assert_int_equal(spi_mem_scan(m, ns_names[ns], open_from ? NULL : key,
                                              open_from ? 0 : klen, open_to ? NULL : u->key[to],
                                              open_to ? 0 : u->len[to], collect, &got),
                                 SP_OK);
                size_t lo = open_from ? 0 : r, hi = open_to ? u->n : to;
                expect_visits(&got, live, ns, ns, lo, hi > lo ? hi : lo, "scan", step);
            }
            if (step % 500 == 499 || step + 1 == steps) {
                /* Everything, in namespace then key order, and the totals. */
                got.n = 0;
                assert_int_equal(spi_mem_each(m, collect_each, &got), SP_OK);
                expect_visits(&got, live, 0, NS_COUNT - 1, 0, u->n, "each", step);
                uint64_t count = 0, bytes = 0;
                for (int n = 0; n < NS_COUNT; n++)
                    for (size_t i = 0; i < u->n; i++)
                        if (live->s[n][i].present) {
                            count++;
                            bytes += strlen(ns_names[n]) + u->len[i] + live->s[n][i].vlen;
                        }
                assert_int_equal(spi_mem_count(m), count);
                assert_int_equal(spi_mem_bytes(m), bytes);
            }
        }
        /* Remove everything: the store gives back every node, record and namespace. */
        if (in_tx)
            assert_int_equal(spi_mem_commit(m), SP_OK);
        assert_int_equal(spi_mem_begin(m), SP_OK);
        for (int n = 0; n < NS_COUNT; n++)
            for (size_t i = 0; i < u->n; i++)
                if (live->s[n][i].present)
                    assert_int_equal(spi_mem_remove(m, ns_names[n], u->key[i], u->len[i]),
                                     SP_OK);
        assert_int_equal(spi_mem_commit(m), SP_OK);
        assert_int_equal(spi_mem_count(m), 0);
        assert_int_equal(spi_mem_bytes(m), 0);
        assert_int_equal(spi_mem_blocks(m), 1);
        spi_mem_free(m);
        assert_int_equal(a.live_blocks, 1);
    }
    free(narrow);
    free(wide);
    free(live);
    free(committed);
    free(got.rank);
    free(got.val);
    free(got.ns);
    sp_ctx_free(ctx);
}

/* ---- allocation failures inside writes ---- */

/* Every put and remove, tried with its 1st, 2nd, ... allocation failing until it
 * succeeds: each failure is SP_ENOMEM and changes nothing, seen from inside the
 * transaction (the value of the key, the totals and, every so often, every record). */
static void test_enomem_changes_nothing(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    spi_mem *m = NULL;
    assert_int_equal(spi_mem_new(&m, ctx, "memory store"), SP_OK);
    spt_rng rng = { 2718 };
    universe *u = make_universe(false);
    oracle *o = calloc(1, sizeof *o);
    size_t cap = NS_COUNT * MAX_KEYS;
    got_list got = { u, malloc(cap * sizeof(size_t)), malloc(cap * sizeof(slot)),
                     malloc(cap * sizeof(int)), 0, cap, 0 };
    assert_true(o && got.rank && got.val && got.ns);
    unsigned ops = spt_iterations(4000), failures = 0;
    assert_int_equal(spi_mem_begin(m), SP_OK);
    for (unsigned step = 0; step < ops; step++) {
        if (step % 400 == 399) { /* commit now and then: committed records get tombstones */
            assert_int_equal(spi_mem_commit(m), SP_OK);
            assert_int_equal(spi_mem_begin(m), SP_OK);
        }
        int ns = (int)spt_rng_range(&rng, 0, NS_COUNT - 1);
        size_t r = (size_t)spt_rng_range(&rng, 0, (int64_t)u->n - 1);
        slot *sl = &o->s[ns][r];
        uint8_t value[24];
        size_t vlen = (size_t)spt_rng_range(&rng, 0, 24);
        memset(value, (int)step, vlen);
        bool put = spt_rng_chance(&rng, 75);
        for (uint64_t n = 1;; n++) {
            uint64_t count = spi_mem_count(m), bytes = spi_mem_bytes(m);
            spt_alloc_arm(&a, n, false);
            int rc = put ? spi_mem_put(m, ns_names[ns], u->key[r], u->len[r], value, vlen)
                         : spi_mem_remove(m, ns_names[ns], u->key[r], u->len[r]);
            uint64_t fired = spt_alloc_disarm(&a);
            if (rc == SP_OK) {
                assert_int_equal(fired, 0);
                break;
            }
            failures++;
            assert_int_equal(rc, SP_ENOMEM);
            assert_int_equal(spi_mem_count(m), count);
            assert_int_equal(spi_mem_bytes(m), bytes);
            const uint8_t *v;
            size_t got_len;
            int grc = spi_mem_get(m, ns_names[ns], u->key[r], u->len[r], &v, &got_len);
            assert_int_equal(grc, sl->present ? SP_OK : SP_ENOTFOUND);
            if (sl->present)
                assert_int_equal(got_len, sl->vlen);
            if (failures % 64 == 0) {
                got.n = 0;
                assert_int_equal(spi_mem_each(m, collect_each, &got), SP_OK);
                expect_visits(&got, o, 0, NS_COUNT - 1, 0, u->n, "after SP_ENOMEM", step);
            }
        }
        if (put) {
            sl->present = true;
            sl->vlen = (uint8_t)vlen;
            memcpy(sl->value, value, vlen);
        } else {
            sl->present = false;
        }
    }
    assert_true(failures > ops / 2);
    assert_int_equal(spi_mem_rollback(m), SP_OK);
    spi_mem_free(m);
    assert_int_equal(a.live_blocks, 1);
    free(u);
    free(o);
    free(got.rank);
    free(got.val);
    free(got.ns);
    sp_ctx_free(ctx);
}

/* A whole write transaction under the fault loop, through the public table: every
 * failure leaves the store exactly as it was and leaks nothing. */
typedef struct tx_case {
    spt_alloc *alloc;
    sp_storage *st;
    spt_snapshot *before;
} tx_case;

static const char *const all_ns[] = { "a", "a.b", "b", "fresh" };

static int run_tx(void *user)
{
    tx_case *c = user;
    sp_storage *st = c->st;
    int rc = st->begin(st->user);
    for (uint32_t i = 0; i < 120 && rc == SP_OK; i++) {
        uint8_t key[4] = { (uint8_t)(i * 37 % 256), (uint8_t)i, 0, 1 };
        rc = st->put(st->user, i % 2 ? "a" : "b", key, 4, key, i % 5);
    }
    for (uint32_t i = 0; i < 40 && rc == SP_OK; i++) {
        uint8_t key[3] = { 0, (uint8_t)(i >> 8), (uint8_t)i };
        rc = st->remove(st->user, "a.b", key, 3);
    }
    if (rc == SP_OK)
        rc = st->put(st->user, "fresh", (const uint8_t *)"k", 1, (const uint8_t *)"v", 1);
    if (rc == SP_OK)
        return st->commit(st->user);
    st->rollback(st->user);
    return rc;
}

static void undo_tx(void *user)
{
    tx_case *c = user;
    spt_snapshot_restore(c->before, c->st);
}

static void check_tx_unchanged(void *user)
{
    tx_case *c = user;
    spt_snapshot_assert_store(c->before, c->st);
}

static size_t live_tx(void *user)
{
    tx_case *c = user;
    size_t held = 0;
    assert_true(spi_memory_store_blocks(c->st, &held));
    return c->alloc->live_blocks - held;
}

static void test_fault_loop_transaction(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_memory_new(&st, ctx), SP_OK);
    spt_storage_begin(st);
    for (uint32_t i = 0; i < 300; i++) {
        uint8_t key[3] = { 0, (uint8_t)(i >> 8), (uint8_t)i };
        spt_storage_put(st, "a.b", key, 3, "old", 3);
        spt_storage_put(st, "a", key, 3, "x", 1);
    }
    spt_storage_commit(st);
    tx_case c = { &a, st, spt_snapshot_take(st, all_ns, 4) };
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "memory store transaction", run_tx, undo_tx, check_tx_unchanged,
                          live_tx, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&a);
    assert_true(spt_fault_loop(&fc, &inj) > 160); /* a record per put and remove, and more */
    spt_snapshot_free(c.before);
    sp_storage_free(st);
    assert_int_equal(a.live_blocks, 1);
    sp_ctx_free(ctx);
}

/* ---- refusals and arguments ---- */

typedef struct scan_write {
    sp_storage *st;
    int rc[5];
} scan_write;

static int write_while_scanning(void *arg, const uint8_t *key, size_t klen,
                                const uint8_t *value, size_t vlen)
{
    (void)value;
    (void)vlen;
    scan_write *w = arg;
    sp_storage *st = w->st;
    w->rc[0] = st->put(st->user, "t", key, klen, (const uint8_t *)"x", 1);
    w->rc[1] = st->remove(st->user, "t", key, klen);
    w->rc[2] = st->begin(st->user);
    w->rc[3] = st->commit(st->user);
    w->rc[4] = st->rollback(st->user);
    return SP_SCAN_STOP;
}

static void test_refusals(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    sp_storage *st = (sp_storage *)&ctx;
    sp_storage *const sentinel = st;
    assert_int_equal(sp_storage_memory_new(NULL, ctx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "memory store: out is NULL");
    assert_int_equal(sp_storage_memory_new(&st, NULL), SP_EINVAL);
    assert_ptr_equal(st, sentinel);
    assert_int_equal(sp_storage_memory_new(&st, ctx), SP_OK);
    const uint8_t k[1] = { 'k' };

    assert_int_equal(st->put(st->user, "t", k, 1, k, 1), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: put outside a transaction");
    assert_int_equal(st->remove(st->user, "t", k, 1), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: remove outside a transaction");
    assert_int_equal(st->commit(st->user), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: commit without a transaction");
    assert_int_equal(st->rollback(st->user), SP_EINVAL);
    assert_int_equal(st->begin(st->user), SP_OK);
    assert_int_equal(st->begin(st->user), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user),
                        "memory store: begin: a transaction is already open");
    assert_int_equal(st->put(st->user, "T", k, 1, k, 1), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: put: invalid namespace \"T\"");
    assert_int_equal(st->put(st->user, "t", NULL, 1, k, 1), SP_EINVAL);
    assert_int_equal(st->put(st->user, "t", k, 1, NULL, 1), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: put \"t\": value is NULL");
    assert_int_equal(st->put(st->user, "t", k, 1, k, 1), SP_OK);
    assert_int_equal(st->commit(st->user), SP_OK);

    const uint8_t *v;
    size_t vlen;
    assert_int_equal(st->get(st->user, "t", (const uint8_t *)"z", 1, &v, &vlen), SP_ENOTFOUND);
    assert_int_equal(st->get(st->user, "no space", k, 1, &v, &vlen), SP_EINVAL);
    assert_int_equal(st->scan(st->user, "t", NULL, 1, NULL, 0, write_while_scanning, NULL),
                     SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "memory store: scan \"t\": NULL bound or visitor");

    /* Nothing that changes the store is accepted during a scan, in or out of a
     * transaction. */
    for (int in_tx = 0; in_tx < 2; in_tx++) {
        if (in_tx)
            assert_int_equal(st->begin(st->user), SP_OK);
        scan_write w = { st, { 0 } };
        assert_int_equal(st->scan(st->user, "t", NULL, 0, NULL, 0, write_while_scanning, &w),
                         SP_OK);
        for (int i = 0; i < 5; i++)
            assert_int_equal(w.rc[i], SP_EINVAL);
        if (in_tx)
            assert_int_equal(st->commit(st->user), SP_OK);
    }
    assert_int_equal(st->get(st->user, "t", k, 1, &v, &vlen), SP_OK);
    assert_int_equal(vlen, 1);
    assert_memory_equal(v, "k", 1);

    /* Freeing with a transaction open discards it and leaks nothing (ASan, valgrind). */
    assert_int_equal(st->begin(st->user), SP_OK);
    assert_int_equal(st->put(st->user, "t", (const uint8_t *)"n", 1, k, 1), SP_OK);
    assert_int_equal(st->remove(st->user, "t", k, 1), SP_OK);
    sp_storage_free(st);
    sp_ctx_free(ctx);
}

typedef struct new_case {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_storage *made;
} new_case;

static int run_new(void *user)
{
    new_case *c = user;
    return sp_storage_memory_new(&c->made, c->ctx);
}

static void undo_new(void *user)
{
    new_case *c = user;
    sp_storage_free(c->made);
    c->made = NULL;
}

static void check_new_unchanged(void *user)
{
    assert_null(((new_case *)user)->made);
}

static size_t live_new(void *user)
{
    return ((new_case *)user)->alloc.live_blocks;
}

static void test_new_fault_loop(void **state)
{
    (void)state;
    new_case c = { .made = NULL };
    spt_alloc_init(&c.alloc);
    c.ctx = spt_ctx_with(&c.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_storage_memory_new", run_new, undo_new, check_new_unchanged,
                          live_new, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&c.alloc);
    assert_int_equal(spt_fault_loop(&fc, &inj), 2); /* the table and the record set */
    sp_ctx_free(c.ctx);
}

typedef struct counted {
    uint32_t n, last;
    bool in_order; /* keys ascending as big-endian u32 */
} counted;

static int count_in_order(void *arg, const char *ns, const uint8_t *key, size_t klen,
                          const uint8_t *value, size_t vlen)
{
    (void)ns;
    (void)value;
    (void)vlen;
    counted *c = arg;
    uint32_t k = (uint32_t)key[0] << 24 | (uint32_t)key[1] << 16 | (uint32_t)key[2] << 8 | key[3];
    if (klen != 4 || (c->n > 0 && k <= c->last))
        c->in_order = false;
    c->last = k;
    c->n++;
    return 0;
}

/* Sequential loads fill leaves: a million-key B+ tree in well under a million blocks. */
static void test_sequential_fill(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    spi_mem *m = NULL;
    assert_int_equal(spi_mem_new(&m, ctx, "memory store"), SP_OK);
    assert_int_equal(spi_mem_begin(m), SP_OK);
    unsigned n = spt_iterations(32000);
    for (uint32_t i = 0; i < n; i++) {
        uint8_t key[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        assert_int_equal(spi_mem_put(m, "t", key, 4, key, 0), SP_OK);
    }
    assert_int_equal(spi_mem_commit(m), SP_OK);
    /* n records; n/32 full leaves, each but the first with a separator key in its parent;
     * about n/32/16 inner nodes; the namespace and its array. Half-full leaves (the
     * usual 50/50 split) would take n/16 leaves and n/16 separators. */
    size_t blocks = spi_mem_blocks(m);
    assert_true(blocks >= n + n / 16);
    if (blocks > n + n / 16 + n / 32 / 8 + 8)
        fail_msg("%zu blocks for %u sequential records", blocks, n);
    /* The tree (four levels at full size) holds every key, in order. */
    counted c = { 0, 0, true };
    assert_int_equal(spi_mem_each(m, count_in_order, &c), SP_OK);
    assert_int_equal(c.n, n);
    assert_true(c.in_order);
    /* Removing every other key from a range in the middle leaves exactly the rest. */
    assert_int_equal(spi_mem_begin(m), SP_OK);
    for (uint32_t i = n / 4; i < 3 * (n / 4); i += 2) {
        uint8_t key[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        assert_int_equal(spi_mem_remove(m, "t", key, 4), SP_OK);
    }
    assert_int_equal(spi_mem_commit(m), SP_OK);
    c = (counted){ 0, 0, true };
    assert_int_equal(spi_mem_each(m, count_in_order, &c), SP_OK);
    assert_int_equal(c.n, n - n / 4);
    assert_true(c.in_order);
    spi_mem_free(m);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract),
        cmocka_unit_test(test_model),
        cmocka_unit_test(test_enomem_changes_nothing),
        cmocka_unit_test(test_fault_loop_transaction),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_new_fault_loop),
        cmocka_unit_test(test_sequential_fill),
    };
    return cmocka_run_group_tests_name("storage_memory", tests, NULL, NULL);
}
