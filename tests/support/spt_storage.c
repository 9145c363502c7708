#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "spt_storage.h"

/* ---- failing storage table ---- */

/* Count a call of `kind`; true when it is to fail. */
static bool fail_now(spt_failing_storage *f, spt_call kind)
{
    f->count[kind]++;
    f->last_failed = false;
    if (!(f->fail_mask & (1u << kind)))
        return false;
    f->calls++;
    if (f->fail_at != 0 && (f->calls == f->fail_at || (f->persistent && f->calls > f->fail_at))) {
        f->failures++;
        f->last_failed = true;
        snprintf(f->msg, sizeof f->msg, "injected failure %llu", (unsigned long long)f->calls);
        return true;
    }
    return false;
}

static int fs_get(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t **value, size_t *value_len)
{
    spt_failing_storage *f = user;
    if (fail_now(f, SPT_CALL_GET))
        return f->code;
    return f->inner->get(f->inner->user, ns, key, key_len, value, value_len);
}

static int fs_put(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    spt_failing_storage *f = user;
    if (!fail_now(f, SPT_CALL_PUT))
        return f->inner->put(f->inner->user, ns, key, key_len, value, value_len);
    if (f->apply_then_fail)
        f->inner->put(f->inner->user, ns, key, key_len, value, value_len);
    return f->code;
}

static int fs_remove(void *user, const char *ns, const uint8_t *key, size_t key_len)
{
    spt_failing_storage *f = user;
    if (!fail_now(f, SPT_CALL_REMOVE))
        return f->inner->remove(f->inner->user, ns, key, key_len);
    if (f->apply_then_fail)
        f->inner->remove(f->inner->user, ns, key, key_len);
    return f->code;
}

static int fs_scan(void *user, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    spt_failing_storage *f = user;
    if (fail_now(f, SPT_CALL_SCAN))
        return f->code;
    return f->inner->scan(f->inner->user, ns, from, from_len, to, to_len, visit, arg);
}

static int fs_begin(void *user)
{
    spt_failing_storage *f = user;
    if (fail_now(f, SPT_CALL_BEGIN))
        return f->code;
    return f->inner->begin(f->inner->user);
}

static int fs_commit(void *user)
{
    spt_failing_storage *f = user;
    if (fail_now(f, SPT_CALL_COMMIT))
        return f->code;
    return f->inner->commit(f->inner->user);
}

static int fs_rollback(void *user)
{
    spt_failing_storage *f = user;
    bool fail = fail_now(f, SPT_CALL_ROLLBACK);
    int rc = f->inner->rollback(f->inner->user);
    return fail ? f->code : rc;
}

static const char *fs_errmsg(void *user)
{
    spt_failing_storage *f = user;
    if (f->last_failed)
        return f->msg;
    return f->inner->errmsg != NULL ? f->inner->errmsg(f->inner->user) : NULL;
}

void spt_failing_storage_init(spt_failing_storage *f, const sp_storage *inner)
{
    memset(f, 0, sizeof *f);
    f->inner = inner;
    f->code = SP_ESTORAGE;
    f->fail_mask = (1u << SPT_CALL_KINDS) - 1;
    sp_storage t = SP_STORAGE_INIT;
    t.user = f;
    t.get = fs_get;
    t.put = fs_put;
    t.remove = fs_remove;
    t.scan = fs_scan;
    t.begin = fs_begin;
    t.commit = fs_commit;
    t.rollback = fs_rollback;
    t.errmsg = fs_errmsg;
    f->table = t;
}

void spt_failing_storage_arm(spt_failing_storage *f, uint64_t n, bool persistent)
{
    f->calls = 0;
    f->failures = 0;
    f->fail_at = n;
    f->persistent = persistent;
}

uint64_t spt_failing_storage_disarm(spt_failing_storage *f)
{
    f->fail_at = 0;
    f->persistent = false;
    f->last_failed = false;
    return f->failures;
}

static void injector_arm(void *self, uint64_t n, bool persistent)
{
    spt_failing_storage_arm(self, n, persistent);
}

static uint64_t injector_disarm(void *self)
{
    return spt_failing_storage_disarm(self);
}

spt_injector spt_failing_storage_injector(spt_failing_storage *f)
{
    spt_injector inj = { injector_arm, injector_disarm, f };
    return inj;
}

/* ---- snapshots ---- */

typedef struct snap_rec {
    size_t ns;
    uint8_t *key, *value;
    size_t key_len, value_len;
} snap_rec;

struct spt_snapshot {
    char **ns;
    size_t nns;
    snap_rec *recs;
    size_t n, cap;
};

typedef struct snap_visit {
    spt_snapshot *s;
    size_t ns;
} snap_visit;

uint8_t *spt_dup_bytes(const void *p, size_t n)
{
    uint8_t *d = malloc(n > 0 ? n : 1);
    assert_non_null(d);
    if (n > 0)
        memcpy(d, p, n);
    return d;
}

static int snap_record(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    snap_visit *v = arg;
    spt_snapshot *s = v->s;
    if (s->n == s->cap) {
        s->cap = s->cap > 0 ? 2 * s->cap : 64;
        s->recs = realloc(s->recs, s->cap * sizeof *s->recs);
        assert_non_null(s->recs);
    }
    snap_rec *r = &s->recs[s->n++];
    r->ns = v->ns;
    r->key = spt_dup_bytes(key, key_len);
    r->key_len = key_len;
    r->value = spt_dup_bytes(value, value_len);
    r->value_len = value_len;
    return 0;
}

spt_snapshot *spt_snapshot_take(const sp_storage *st, const char *const *ns, size_t nns)
{
    spt_snapshot *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->ns = calloc(nns > 0 ? nns : 1, sizeof *s->ns);
    assert_non_null(s->ns);
    s->nns = nns;
    for (size_t i = 0; i < nns; i++) {
        s->ns[i] = (char *)spt_dup_bytes((const uint8_t *)ns[i], strlen(ns[i]) + 1);
        snap_visit v = { s, i };
        int rc = st->scan(st->user, ns[i], NULL, 0, NULL, 0, snap_record, &v);
        if (rc != 0)
            fail_msg("snapshot: scan of \"%s\" returned %d", ns[i], rc);
    }
    return s;
}

void spt_snapshot_free(spt_snapshot *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->recs[i].key);
        free(s->recs[i].value);
    }
    for (size_t i = 0; i < s->nns; i++)
        free(s->ns[i]);
    free(s->ns);
    free(s->recs);
    free(s);
}

size_t spt_snapshot_count(const spt_snapshot *s)
{
    return s->n;
}

static bool same_bytes(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

void spt_snapshot_assert_equal(const spt_snapshot *a, const spt_snapshot *b)
{
    size_t n = a->n < b->n ? a->n : b->n;
    for (size_t i = 0; i < n; i++) {
        const snap_rec *x = &a->recs[i], *y = &b->recs[i];
        if (strcmp(a->ns[x->ns], b->ns[y->ns]) != 0 ||
            !same_bytes(x->key, x->key_len, y->key, y->key_len))
            fail_msg("snapshot: record %zu: \"%s\" key of %zu bytes, expected \"%s\" key of %zu "
                     "bytes",
                     i, b->ns[y->ns], y->key_len, a->ns[x->ns], x->key_len);
        if (!same_bytes(x->value, x->value_len, y->value, y->value_len))
            fail_msg("snapshot: record %zu (\"%s\"): value of %zu bytes differs from the "
                     "expected %zu bytes",
                     i, a->ns[x->ns], y->value_len, x->value_len);
    }
    if (a->n != b->n)
        fail_msg("snapshot: %zu records, expected %zu", b->n, a->n);
}

void spt_snapshot_assert_store(const spt_snapshot *s, const sp_storage *st)
{
    spt_snapshot *now = spt_snapshot_take(st, (const char *const *)s->ns, s->nns);
    spt_snapshot_assert_equal(s, now);
    spt_snapshot_free(now);
}

void spt_snapshot_restore(const spt_snapshot *s, const sp_storage *st)
{
    spt_snapshot *now = spt_snapshot_take(st, (const char *const *)s->ns, s->nns);
    spt_storage_begin(st);
    for (size_t i = 0; i < now->n; i++) {
        const snap_rec *r = &now->recs[i];
        int rc = st->remove(st->user, now->ns[r->ns], r->key, r->key_len);
        if (rc != 0)
            fail_msg("snapshot restore: remove returned %d", rc);
    }
    for (size_t i = 0; i < s->n; i++) {
        const snap_rec *r = &s->recs[i];
        spt_storage_put(st, s->ns[r->ns], r->key, r->key_len, r->value, r->value_len);
    }
    spt_storage_commit(st);
    spt_snapshot_free(now);
}

/* ---- direct calls ---- */

static void expect_ok(const sp_storage *st, int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s returned %d (%s)", what, rc,
                 st->errmsg != NULL && st->errmsg(st->user) != NULL ? st->errmsg(st->user) : "");
}

void spt_storage_begin(const sp_storage *st)
{
    expect_ok(st, st->begin(st->user), "begin");
}

void spt_storage_commit(const sp_storage *st)
{
    expect_ok(st, st->commit(st->user), "commit");
}

void spt_storage_put(const sp_storage *st, const char *ns, const void *key, size_t key_len,
                     const void *value, size_t value_len)
{
    expect_ok(st, st->put(st->user, ns, key, key_len, value, value_len), "put");
}

void spt_storage_put_str(const sp_storage *st, const char *ns, const char *key,
                         const char *value)
{
    spt_storage_begin(st);
    spt_storage_put(st, ns, key, strlen(key), value, strlen(value));
    spt_storage_commit(st);
}

/* ---- records under keys built by hand ---- */

spt_key spt_key_str(spt_key k, const char *s)
{
    size_t n = strlen(s);
    assert_true(k.len + n + 2 <= sizeof k.b);
    memcpy(k.b + k.len, s, n);
    k.len += n;
    k.b[k.len++] = 0;
    k.b[k.len++] = 1;
    return k;
}

spt_key spt_key_u32(spt_key k, uint32_t v)
{
    assert_true(k.len + 4 <= sizeof k.b);
    for (int i = 3; i >= 0; i--)
        k.b[k.len++] = (uint8_t)(v >> (8 * i));
    return k;
}

char *spt_record_get(const sp_storage *st, const char *ns, spt_key k)
{
    const uint8_t *v;
    size_t len;
    expect_ok(st, st->get(st->user, ns, k.b, k.len, &v, &len), "get");
    char *copy = malloc(len + 1);
    assert_non_null(copy);
    memcpy(copy, v, len);
    copy[len] = '\0';
    return copy;
}

void spt_record_put(const sp_storage *st, const char *ns, spt_key k, const char *value)
{
    spt_storage_begin(st);
    spt_storage_put(st, ns, k.b, k.len, value, strlen(value));
    spt_storage_commit(st);
}

void spt_record_remove(const sp_storage *st, const char *ns, spt_key k)
{
    spt_storage_begin(st);
    expect_ok(st, st->remove(st->user, ns, k.b, k.len), "remove");
    spt_storage_commit(st);
}

static int count_record(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    (void)key, (void)key_len, (void)value, (void)value_len;
    ++*(size_t *)arg;
    return 0;
}

size_t spt_record_count(const sp_storage *st, const char *ns)
{
    size_t n = 0;
    expect_ok(st, st->scan(st->user, ns, NULL, 0, NULL, 0, count_record, &n), "scan");
    return n;
}

/* ---- a test's context and memory store ---- */

int spt_env_setup(void **state)
{
    spt_env *e = calloc(1, sizeof *e);
    assert_non_null(e);
    e->ctx = spt_new_ctx();
    assert_int_equal(sp_storage_memory_new(&e->st, e->ctx), SP_OK);
    *state = e;
    return 0;
}

int spt_env_teardown(void **state)
{
    spt_env *e = *state;
    sp_storage_free(e->st);
    sp_ctx_free(e->ctx);
    free(e);
    return 0;
}

/* ---- fault loops over a store ---- */

void spt_store_faults_init(spt_store_faults *f)
{
    memset(f, 0, sizeof *f);
    spt_alloc_init(&f->alloc);
    f->ctx = spt_ctx_with(&f->alloc);
    f->store_ctx = spt_new_ctx();
    assert_int_equal(sp_storage_memory_new(&f->store, f->store_ctx), SP_OK);
    f->table = f->store;
}

static void run_with(const spt_fault_case *cases, size_t n, const spt_injector *inj, int error)
{
    const int errors[] = { error };
    for (size_t i = 0; i < n; i++) {
        spt_fault_case c = cases[i];
        c.errors = errors;
        c.nerrors = 1;
        spt_fault_loops(&c, 1, inj);
    }
}

void spt_store_faults_run(spt_store_faults *f, const spt_fault_case *cases, size_t n,
                          const char *const *ns, size_t nns)
{
    spt_snapshot_free(f->before);
    f->before = spt_snapshot_take(f->store, ns, nns);
    spt_injector alloc = spt_alloc_injector(&f->alloc);
    run_with(cases, n, &alloc, SP_ENOMEM);
    for (int applied = 0; applied < 2; applied++) {
        spt_failing_storage fs;
        spt_failing_storage_init(&fs, f->store);
        fs.apply_then_fail = applied == 1;
        f->table = &fs.table;
        spt_injector inj = spt_failing_storage_injector(&fs);
        run_with(cases, n, &inj, SP_ESTORAGE);
        f->table = f->store;
    }
}

void spt_store_faults_restore(spt_store_faults *f)
{
    spt_snapshot_restore(f->before, f->store);
}

void spt_store_faults_unchanged(spt_store_faults *f)
{
    spt_snapshot_assert_store(f->before, f->store);
}

size_t spt_store_faults_live(void *f)
{
    return ((spt_store_faults *)f)->alloc.live_blocks;
}

void spt_store_faults_free(spt_store_faults *f)
{
    spt_snapshot_free(f->before);
    sp_storage_free(f->store);
    sp_ctx_free(f->store_ctx);
    assert_int_equal(f->alloc.live_blocks, 1);
    sp_ctx_free(f->ctx);
    memset(f, 0, sizeof *f);
}
