/* The storage conformance kit. Expected orders come from the kit's own comparator. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spt.h"
#include "spt_storage.h"
#include "spt_storage_contract.h"

#define KIT_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* The name of the check running, for messages. */
typedef struct kit {
    const spt_storage_backend *b;
    const char *check;
} kit;

#define KIT_FAIL(k, ...)                                                                      \
    do {                                                                                      \
        char kit_msg_[256];                                                                   \
        snprintf(kit_msg_, sizeof kit_msg_, __VA_ARGS__);                                     \
        fail_msg("%s: %s: %s", (k)->b->name, (k)->check, kit_msg_);                           \
    } while (0)

/* Unsigned bytewise, a proper prefix first: the order of the contract. */
static int ref_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen == blen ? 0 : alen < blen ? -1 : 1;
}

static void ok(kit *k, const sp_storage *st, int rc, const char *what)
{
    if (rc != 0) {
        const char *m = st->errmsg != NULL ? st->errmsg(st->user) : NULL;
        KIT_FAIL(k, "%s returned %d (%s)", what, rc, m != NULL ? m : "");
    }
}

static void begin(kit *k, const sp_storage *st)
{
    ok(k, st, st->begin(st->user), "begin");
}

static void commit(kit *k, const sp_storage *st)
{
    ok(k, st, st->commit(st->user), "commit");
}

static void rollback(kit *k, const sp_storage *st)
{
    ok(k, st, st->rollback(st->user), "rollback");
}

static void put(kit *k, const sp_storage *st, const char *ns, const void *key, size_t klen,
                const void *value, size_t vlen)
{
    ok(k, st, st->put(st->user, ns, key, klen, value, vlen), "put");
}

static void put_s(kit *k, const sp_storage *st, const char *ns, const char *key,
                  const char *value)
{
    put(k, st, ns, key, strlen(key), value, strlen(value));
}

static void del(kit *k, const sp_storage *st, const char *ns, const void *key, size_t klen)
{
    ok(k, st, st->remove(st->user, ns, key, klen), "remove");
}

/* Expect `key` to hold exactly `value`. */
static void expect_bytes(kit *k, const sp_storage *st, const char *ns, const void *key,
                         size_t klen, const void *value, size_t vlen)
{
    const uint8_t *got = NULL;
    size_t got_len = 0;
    int rc = st->get(st->user, ns, key, klen, &got, &got_len);
    if (rc != 0)
        KIT_FAIL(k, "get \"%s\" of a %zu-byte key returned %d, expected a value", ns, klen, rc);
    if (got_len != vlen || (vlen > 0 && memcmp(got, value, vlen) != 0))
        KIT_FAIL(k, "get \"%s\": %zu bytes, expected %zu bytes%s", ns, got_len, vlen,
                 got_len == vlen ? " (contents differ)" : "");
}

static void expect_s(kit *k, const sp_storage *st, const char *ns, const char *key,
                     const char *value)
{
    expect_bytes(k, st, ns, key, strlen(key), value, strlen(value));
}

static void expect_missing(kit *k, const sp_storage *st, const char *ns, const void *key,
                           size_t klen)
{
    const uint8_t *got = NULL;
    size_t got_len = 0;
    int rc = st->get(st->user, ns, key, klen, &got, &got_len);
    if (rc != SP_ENOTFOUND)
        KIT_FAIL(k, "get \"%s\" of a missing %zu-byte key returned %d, expected SP_ENOTFOUND",
                 ns, klen, rc);
}

/* ---- collecting scans ---- */

typedef struct item {
    uint8_t *key, *value;
    size_t klen, vlen;
} item;

typedef struct items {
    item *v;
    size_t n, cap;
    size_t stop_after; /* 0: never */
    int fail_with;     /* returned by the visitor at visit number stop_after */
    size_t visits;
} items;

static void items_add(items *it, const void *key, size_t klen, const void *value, size_t vlen)
{
    if (it->n == it->cap) {
        it->cap = it->cap > 0 ? 2 * it->cap : 32;
        it->v = realloc(it->v, it->cap * sizeof *it->v);
        assert_non_null(it->v);
    }
    it->v[it->n++] = (item){ spt_dup_bytes(key, klen), spt_dup_bytes(value, vlen), klen, vlen };
}

static void items_free(items *it)
{
    for (size_t i = 0; i < it->n; i++) {
        free(it->v[i].key);
        free(it->v[i].value);
    }
    free(it->v);
    memset(it, 0, sizeof *it);
}

static int collect(void *arg, const uint8_t *key, size_t klen, const uint8_t *value, size_t vlen)
{
    items *it = arg;
    it->visits++;
    if (klen > 0)
        assert_non_null(key);
    if (vlen > 0)
        assert_non_null(value);
    items_add(it, key, klen, value, vlen);
    if (it->stop_after != 0 && it->visits == it->stop_after)
        return it->fail_with;
    return 0;
}

static int scan(const sp_storage *st, const char *ns, const void *from, size_t flen,
                const void *to, size_t tlen, items *out)
{
    return st->scan(st->user, ns, from, flen, to, tlen, collect, out);
}

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return ref_compare(x->key, x->klen, y->key, y->klen);
}

static void expect_items(kit *k, const items *got, const items *want, const char *what)
{
    for (size_t i = 0; i < got->n && i < want->n; i++) {
        const item *g = &got->v[i], *w = &want->v[i];
        if (ref_compare(g->key, g->klen, w->key, w->klen) != 0)
            KIT_FAIL(k, "%s: record %zu has a %zu-byte key starting %02x, expected a %zu-byte "
                     "key starting %02x",
                     what, i, g->klen, g->klen > 0 ? g->key[0] : 0, w->klen,
                     w->klen > 0 ? w->key[0] : 0);
        if (g->vlen != w->vlen || (w->vlen > 0 && memcmp(g->value, w->value, w->vlen) != 0))
            KIT_FAIL(k, "%s: record %zu has the wrong value", what, i);
    }
    if (got->n != want->n)
        KIT_FAIL(k, "%s: %zu records, expected %zu", what, got->n, want->n);
}

/* ---- the checks ---- */

typedef void (*check_fn)(kit *k, const sp_storage *st);

static void check_missing(kit *k, const sp_storage *st)
{
    expect_missing(k, st, "t", "nothing", 7);
    items it = { 0 };
    ok(k, st, scan(st, "t", NULL, 0, NULL, 0, &it), "scan of an empty namespace");
    if (it.n != 0)
        KIT_FAIL(k, "scan of an empty namespace visited %zu records", it.n);
    begin(k, st);
    del(k, st, "t", "nothing", 7); /* a missing key is not an error */
    put_s(k, st, "t", "a", "1");
    del(k, st, "t", "b", 1);
    commit(k, st);
    expect_missing(k, st, "t", "b", 1);
    expect_missing(k, st, "other", "a", 1);
    expect_s(k, st, "t", "a", "1");
    items_free(&it);
}

/* Keys that catch the usual mistakes: prefixes, NUL bytes, bytes >= 0x80 (signed char
 * comparison), lengths (comparing lengths first), and a few thousand random ones. */
static void check_order(kit *k, const sp_storage *st)
{
    static const struct {
        const char *bytes;
        size_t len;
    } tricky[] = {
        { "a", 1 },       { "a\0", 2 },      { "a\0\0", 3 }, { "a\x01", 2 }, { "ab", 2 },
        { "abc", 3 },     { "b", 1 },        { "\x7f", 1 },  { "\x80", 1 },  { "\x80\x00", 2 },
        { "\xff", 1 },    { "\xff\xff", 2 }, { "\xff\x00", 2 }, { "\x01", 1 }, { "\0", 1 },
        { "\0\0", 2 },    { "\0\x01", 2 },   { "z", 1 },     { "Z", 1 },     { "aa", 2 },
        { "\xc3\xa9", 2 }, { "\xe4\xb8\xad", 3 },
    };
    spt_rng rng = { 20261123 };
    items want = { 0 };
    for (size_t i = 0; i < KIT_LEN(tricky); i++)
        items_add(&want, tricky[i].bytes, tricky[i].len, &i, sizeof i);
    unsigned n = spt_iterations(2000);
    for (unsigned i = 0; i < n; i++) {
        uint8_t key[12];
        size_t klen = (size_t)spt_rng_range(&rng, 1, sizeof key);
        for (size_t j = 0; j < klen; j++)
            key[j] = (uint8_t)(spt_rng_chance(&rng, 20) ? (spt_rng_chance(&rng, 50) ? 0 : 0xFF)
                                                        : spt_rng_next(&rng));
        bool seen = false;
        for (size_t j = 0; j < want.n && !seen; j++)
            seen = ref_compare(want.v[j].key, want.v[j].klen, key, klen) == 0;
        if (!seen)
            items_add(&want, key, klen, &i, sizeof i);
    }
    /* Insert in a shuffled order, in two transactions. */
    size_t *perm = malloc(want.n * sizeof *perm);
    assert_non_null(perm);
    for (size_t i = 0; i < want.n; i++)
        perm[i] = i;
    for (size_t i = want.n; i > 1; i--) {
        size_t j = (size_t)spt_rng_range(&rng, 0, (int64_t)i - 1), t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < want.n; i++) {
        if (i == 0 || i == want.n / 2)
            begin(k, st);
        const item *w = &want.v[perm[i]];
        put(k, st, "order", w->key, w->klen, w->value, w->vlen);
        if (i + 1 == want.n / 2 || i + 1 == want.n)
            commit(k, st);
    }
    free(perm);
    qsort(want.v, want.n, sizeof *want.v, item_cmp);
    items got = { 0 };
    ok(k, st, scan(st, "order", NULL, 0, NULL, 0, &got), "scan");
    expect_items(k, &got, &want, "full scan");
    for (size_t i = 0; i < want.n; i++)
        expect_bytes(k, st, "order", want.v[i].key, want.v[i].klen, want.v[i].value,
                     want.v[i].vlen);
    /* A range starting at each tricky key: exactly the keys from there on. */
    for (size_t i = 0; i < want.n; i += 97) {
        items part = { 0 }, tail = { 0 };
        for (size_t j = i; j < want.n; j++)
            items_add(&tail, want.v[j].key, want.v[j].klen, want.v[j].value, want.v[j].vlen);
        ok(k, st, scan(st, "order", want.v[i].key, want.v[i].klen, NULL, 0, &part), "scan");
        expect_items(k, &part, &tail, "scan from a key");
        items_free(&part);
        items_free(&tail);
    }
    items_free(&got);
    items_free(&want);
}

static void check_read_your_writes(kit *k, const sp_storage *st)
{
    begin(k, st);
    put_s(k, st, "t", "k1", "one");
    put_s(k, st, "t", "k2", "two");
    put_s(k, st, "t", "k4", "four");
    commit(k, st);

    begin(k, st);
    put_s(k, st, "t", "k3", "three");   /* new */
    put_s(k, st, "t", "k1", "uno");     /* replaced */
    del(k, st, "t", "k2", 2);           /* removed */
    put_s(k, st, "t", "k5", "five");
    put_s(k, st, "t", "k5", "cinco");   /* replaced twice in one transaction */
    put_s(k, st, "t", "k6", "six");
    del(k, st, "t", "k6", 2);           /* put, then removed */
    del(k, st, "t", "k4", 2);
    put_s(k, st, "t", "k4", "cuatro");  /* removed, then put */
    expect_s(k, st, "t", "k3", "three");
    expect_s(k, st, "t", "k1", "uno");
    expect_missing(k, st, "t", "k2", 2);
    expect_s(k, st, "t", "k5", "cinco");
    expect_missing(k, st, "t", "k6", 2);
    expect_s(k, st, "t", "k4", "cuatro");
    items want = { 0 }, got = { 0 };
    items_add(&want, "k1", 2, "uno", 3);
    items_add(&want, "k3", 2, "three", 5);
    items_add(&want, "k4", 2, "cuatro", 6);
    items_add(&want, "k5", 2, "cinco", 5);
    ok(k, st, scan(st, "t", NULL, 0, NULL, 0, &got), "scan inside a transaction");
    expect_items(k, &got, &want, "scan inside a transaction");
    commit(k, st);
    items_free(&got);
    ok(k, st, scan(st, "t", NULL, 0, NULL, 0, &got), "scan after commit");
    expect_items(k, &got, &want, "scan after commit");
    items_free(&got);
    items_free(&want);
}

static void check_rollback(kit *k, const sp_storage *st)
{
    static const char *const ns[] = { "t", "u" };
    begin(k, st);
    for (int i = 0; i < 50; i++) {
        char key[16], value[16];
        snprintf(key, sizeof key, "key%03d", i);
        snprintf(value, sizeof value, "v%d", i);
        put_s(k, st, "t", key, value);
    }
    put_s(k, st, "u", "only", "here");
    commit(k, st);
    spt_snapshot *before = spt_snapshot_take(st, ns, 2);

    begin(k, st);
    for (int i = 0; i < 50; i += 3) {
        char key[16];
        snprintf(key, sizeof key, "key%03d", i);
        put_s(k, st, "t", key, "changed");
    }
    for (int i = 1; i < 50; i += 3) {
        char key[16];
        snprintf(key, sizeof key, "key%03d", i);
        del(k, st, "t", key, strlen(key));
    }
    for (int i = 50; i < 120; i++) {
        char key[16];
        snprintf(key, sizeof key, "key%03d", i);
        put_s(k, st, "t", key, "new");
    }
    del(k, st, "t", "key100", 6);
    put_s(k, st, "t", "key001", "back");
    del(k, st, "u", "only", 4);
    put_s(k, st, "v", "fresh", "namespace");
    rollback(k, st);
    spt_snapshot_assert_store(before, st);
    expect_missing(k, st, "v", "fresh", 5);

    /* The store goes on normally after a rollback. */
    begin(k, st);
    put_s(k, st, "t", "key000", "after");
    commit(k, st);
    expect_s(k, st, "t", "key000", "after");
    spt_snapshot_free(before);
}

static void check_scan_bounds(kit *k, const sp_storage *st)
{
    begin(k, st);
    for (int i = 0; i < 100; i += 2) { /* k00, k02, ..., k98 */
        char key[8];
        snprintf(key, sizeof key, "k%02d", i);
        put_s(k, st, "t", key, key);
    }
    put_s(k, st, "t", "k", "short");
    put_s(k, st, "t", "l", "after");
    commit(k, st);
    static const struct {
        const char *from, *to; /* NULL: open end */
        int first, count;      /* expected: k<first>, k<first+2>, ... (-1: "k" first) */
    } cases[] = {
        { "k10", "k20", 10, 5 },  /* from inclusive, to exclusive */
        { "k11", "k21", 12, 5 },  /* bounds between keys */
        { "k10", "k10", 10, 0 },  /* empty */
        { "k20", "k10", 20, 0 },  /* from > to: nothing */
        { "k90", "k999", 90, 5 }, /* to past the last k */
        { "k", "k04", -1, 3 },    /* "k" itself, k00, k02 */
        { "k0", "k02", 0, 1 },    /* a prefix bound: k00 only */
        { "k98", "l", 98, 1 },
    };
    for (size_t c = 0; c < KIT_LEN(cases); c++) {
        items want = { 0 }, got = { 0 };
        int n = cases[c].count;
        if (cases[c].first == -1) {
            items_add(&want, "k", 1, "short", 5);
            n--;
        }
        for (int i = 0; i < n; i++) {
            char key[16];
            snprintf(key, sizeof key, "k%02d", (cases[c].first < 0 ? 0 : cases[c].first) + 2 * i);
            items_add(&want, key, 3, key, 3);
        }
        ok(k, st, scan(st, "t", cases[c].from, strlen(cases[c].from), cases[c].to,
                       strlen(cases[c].to), &got),
           "scan");
        char what[64];
        snprintf(what, sizeof what, "scan [%s, %s)", cases[c].from, cases[c].to);
        expect_items(k, &got, &want, what);
        items_free(&want);
        items_free(&got);
    }
    /* Open ends: from NULL, from of length 0, to NULL. */
    items all = { 0 }, a = { 0 }, b = { 0 }, c = { 0 };
    ok(k, st, scan(st, "t", NULL, 0, NULL, 0, &all), "scan");
    if (all.n != 52)
        KIT_FAIL(k, "full scan: %zu records, expected 52", all.n);
    ok(k, st, scan(st, "t", "", 0, "k02", 3, &a), "scan");
    if (a.n != 2) /* "k", k00 */
        KIT_FAIL(k, "scan with an empty from: %zu records, expected 2", a.n);
    ok(k, st, scan(st, "t", NULL, 0, "k02", 3, &b), "scan");
    expect_items(k, &b, &a, "scan from NULL");
    ok(k, st, scan(st, "t", "k96", 3, NULL, 0, &c), "scan");
    if (c.n != 3) /* k96, k98, l */
        KIT_FAIL(k, "scan to NULL: %zu records, expected 3", c.n);
    items_free(&all);
    items_free(&a);
    items_free(&b);
    items_free(&c);
}

static void check_scan_stop_and_errors(kit *k, const sp_storage *st)
{
    begin(k, st);
    for (int i = 0; i < 10; i++) {
        char key[4] = { 'k', (char)('0' + i), 0, 0 };
        put_s(k, st, "t", key, "v");
    }
    commit(k, st);
    items it = { .stop_after = 3, .fail_with = SP_SCAN_STOP };
    int rc = scan(st, "t", NULL, 0, NULL, 0, &it);
    if (rc != 0 || it.visits != 3)
        KIT_FAIL(k, "SP_SCAN_STOP at visit 3: scan returned %d after %zu visits, expected 0 "
                 "after 3",
                 rc, it.visits);
    items_free(&it);
    static const int errors[] = { SP_ECANCELED, SP_ENOMEM, SP_EUSER, -1000 };
    for (size_t i = 0; i < KIT_LEN(errors); i++) {
        items e = { .stop_after = 2, .fail_with = errors[i] };
        rc = scan(st, "t", "k3", 2, NULL, 0, &e);
        if (rc != errors[i] || e.visits != 2)
            KIT_FAIL(k, "visitor error %d at visit 2: scan returned %d after %zu visits",
                     errors[i], rc, e.visits);
        items_free(&e);
    }
}

typedef struct read_in_scan {
    kit *k;
    const sp_storage *st;
    size_t visits;
} read_in_scan;

static int visit_and_get(void *arg, const uint8_t *key, size_t klen, const uint8_t *value,
                         size_t vlen)
{
    read_in_scan *r = arg;
    uint8_t *v = spt_dup_bytes(value, vlen), *kk = spt_dup_bytes(key, klen);
    expect_bytes(r->k, r->st, "t", kk, klen, v, vlen);
    expect_bytes(r->k, r->st, "u", "x", 1, "y", 1);
    free(v);
    free(kk);
    r->visits++;
    return 0;
}

static void check_get_during_scan(kit *k, const sp_storage *st)
{
    begin(k, st);
    put_s(k, st, "t", "a", "1");
    put_s(k, st, "t", "b", "22");
    put_s(k, st, "t", "c", "333");
    put_s(k, st, "u", "x", "y");
    commit(k, st);
    read_in_scan r = { k, st, 0 };
    ok(k, st, st->scan(st->user, "t", NULL, 0, NULL, 0, visit_and_get, &r), "scan");
    if (r.visits != 3)
        KIT_FAIL(k, "scan with reads: %zu visits, expected 3", r.visits);
}

static void check_empty_and_large_values(kit *k, const sp_storage *st)
{
    static const uint8_t nothing[1] = { 0 };
    size_t big_len[] = { 1u << 20, (3u << 20) + 7 };
    uint8_t *big[2];
    spt_rng rng = { 99 };
    for (int i = 0; i < 2; i++) {
        big[i] = malloc(big_len[i]);
        assert_non_null(big[i]);
        for (size_t j = 0; j < big_len[i]; j++)
            big[i][j] = (uint8_t)spt_rng_next(&rng);
    }
    begin(k, st);
    put(k, st, "t", "empty", 5, nothing, 0);
    put(k, st, "t", "big1", 4, big[0], big_len[0]);
    put(k, st, "t", "big2", 4, big[1], big_len[1]);
    commit(k, st);
    expect_bytes(k, st, "t", "empty", 5, nothing, 0);
    expect_bytes(k, st, "t", "big1", 4, big[0], big_len[0]);
    expect_bytes(k, st, "t", "big2", 4, big[1], big_len[1]);
    items got = { 0 }, want = { 0 };
    items_add(&want, "big1", 4, big[0], big_len[0]);
    items_add(&want, "big2", 4, big[1], big_len[1]);
    items_add(&want, "empty", 5, nothing, 0);
    ok(k, st, scan(st, "t", NULL, 0, NULL, 0, &got), "scan");
    expect_items(k, &got, &want, "scan of empty and large values");
    /* Replace a large value by an empty one and back. */
    begin(k, st);
    put(k, st, "t", "big1", 4, nothing, 0);
    put(k, st, "t", "empty", 5, big[1], big_len[1]);
    commit(k, st);
    expect_bytes(k, st, "t", "big1", 4, nothing, 0);
    expect_bytes(k, st, "t", "empty", 5, big[1], big_len[1]);
    items_free(&got);
    items_free(&want);
    free(big[0]);
    free(big[1]);
}

static void check_namespaces(kit *k, const sp_storage *st)
{
    /* Names that are prefixes of one another and the longest allowed. */
    char names[44][40];
    size_t n = 0;
    static const char *const fixed[] = { "a", "a.b", "a_b", "ab", "a.b.c", "b", "0",
                                         "abcdefghijklmnopqrstuvwxyz012345" };
    for (size_t i = 0; i < KIT_LEN(fixed); i++)
        snprintf(names[n++], sizeof names[0], "%s", fixed[i]);
    while (n < 44) {
        snprintf(names[n], sizeof names[0], "module%zu.records", n);
        n++;
    }
    begin(k, st);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < 5; j++) {
            char key[8] = { 'k', (char)('0' + j), 0 }, value[64];
            snprintf(value, sizeof value, "%.32s/%d", names[i], j);
            put_s(k, st, names[i], key, value);
        }
    commit(k, st);
    begin(k, st);
    del(k, st, "a", "k2", 2);
    put_s(k, st, "ab", "k9", "ab/9");
    commit(k, st);
    for (size_t i = 0; i < n; i++) {
        items got = { 0 };
        ok(k, st, scan(st, names[i], NULL, 0, NULL, 0, &got), "scan");
        size_t want_n = strcmp(names[i], "a") == 0 ? 4 : strcmp(names[i], "ab") == 0 ? 6 : 5;
        if (got.n != want_n)
            KIT_FAIL(k, "namespace \"%.32s\": %zu records, expected %zu", names[i], got.n, want_n);
        for (size_t j = 0; j < got.n; j++) {
            char want[64];
            snprintf(want, sizeof want, "%.32s/%c", names[i], got.v[j].key[1]);
            if (got.v[j].vlen != strlen(want) || memcmp(got.v[j].value, want, strlen(want)) != 0)
                KIT_FAIL(k, "namespace \"%.32s\" holds a record of another namespace", names[i]);
        }
        items_free(&got);
    }
    expect_missing(k, st, "a", "k2", 2);
    expect_s(k, st, "a.b", "k2", "a.b/2");
}

static void check_many(kit *k, const sp_storage *st)
{
    unsigned n = spt_iterations(20000);
    begin(k, st);
    for (unsigned i = 0; i < n; i++) {
        uint8_t key[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        put(k, st, "many", key, 4, &i, sizeof i);
    }
    commit(k, st);
    begin(k, st);
    for (unsigned i = 0; i < n; i += 2) {
        uint8_t key[4] = { (uint8_t)(i >> 24), (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i };
        del(k, st, "many", key, 4);
    }
    commit(k, st);
    items got = { 0 };
    ok(k, st, scan(st, "many", NULL, 0, NULL, 0, &got), "scan");
    if (got.n != n / 2)
        KIT_FAIL(k, "%zu records left, expected %u", got.n, n / 2);
    for (size_t j = 0; j < got.n; j++) {
        unsigned i = (unsigned)(2 * j + 1), v;
        memcpy(&v, got.v[j].value, sizeof v);
        if (v != i)
            KIT_FAIL(k, "record %zu holds %u, expected %u", j, v, i);
    }
    items_free(&got);
}

static void run_persistence(kit *k)
{
    k->check = "persistence";
    const spt_storage_backend *b = k->b;
    sp_storage *st = b->open(b->user);
    assert_non_null(st);
    begin(k, st);
    put_s(k, st, "t", "kept", "yes");
    put_s(k, st, "t", "gone", "soon");
    commit(k, st);
    begin(k, st);
    del(k, st, "t", "gone", 4);
    put_s(k, st, "u", "x", "1");
    commit(k, st);
    begin(k, st);
    put_s(k, st, "t", "rolled", "back");
    rollback(k, st);
    static const char *const ns[] = { "t", "u" };
    spt_snapshot *before = spt_snapshot_take(st, ns, 2);
    assert_int_equal(spt_snapshot_count(before), 2);
    st = b->reopen(b->user, st);
    assert_non_null(st);
    spt_snapshot_assert_store(before, st);
    st = b->reopen(b->user, st);
    spt_snapshot_assert_store(before, st);
    b->close(b->user, st);
    spt_snapshot_free(before);
}

void spt_storage_contract(const spt_storage_backend *b)
{
    static const struct {
        const char *name;
        check_fn fn;
    } checks[] = {
        { "missing keys", check_missing },
        { "key order", check_order },
        { "read your writes", check_read_your_writes },
        { "rollback", check_rollback },
        { "scan bounds", check_scan_bounds },
        { "scan stop and visitor errors", check_scan_stop_and_errors },
        { "get during a scan", check_get_during_scan },
        { "empty and large values", check_empty_and_large_values },
        { "namespaces", check_namespaces },
        { "many records", check_many },
    };
    kit k = { b, NULL };
    for (size_t i = 0; i < KIT_LEN(checks); i++) {
        k.check = checks[i].name;
        sp_storage *st = b->open(b->user);
        if (st == NULL)
            fail_msg("%s: %s: open failed", b->name, k.check);
        checks[i].fn(&k, st);
        b->close(b->user, st);
    }
    if (b->reopen != NULL)
        run_persistence(&k);
}
