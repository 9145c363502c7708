/*
 * The storage layer (src/storage/store.c): table validation, error mapping, copies,
 * scans, the transaction runner, key encoding; fault loops over sample write operations
 * with a failing allocator and a failing storage table.
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

static sp_storage *new_memory(sp_ctx *ctx)
{
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_memory_new(&st, ctx), SP_OK);
    return st;
}

/* ---- a scripted host over a memory store: forced codes, a call log ---- */

typedef struct script {
    sp_storage table;
    sp_storage *inner;
    int rc[SPT_CALL_KINDS]; /* non-zero: return this instead (rollback still happens) */
    const char *msg;        /* errmsg; NULL: none */
    char log[512];
    bool keep_visiting;     /* scan: ignore the visitor's stop and errors */
    int scan_result;        /* with keep_visiting: what the scan returns */
    sp_storage_visit_fn visit;
    void *visit_arg;
    int destroyed;
} script;

static void note(script *s, const char *what)
{
    size_t n = strlen(s->log);
    snprintf(s->log + n, sizeof s->log - n, "%s%s", n > 0 ? " " : "", what);
}

static int sc_get(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t **value, size_t *value_len)
{
    script *s = user;
    note(s, "get");
    if (s->rc[SPT_CALL_GET] != 0)
        return s->rc[SPT_CALL_GET];
    return s->inner->get(s->inner->user, ns, key, key_len, value, value_len);
}

static int sc_put(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    script *s = user;
    note(s, "put");
    if (s->rc[SPT_CALL_PUT] != 0)
        return s->rc[SPT_CALL_PUT];
    return s->inner->put(s->inner->user, ns, key, key_len, value, value_len);
}

static int sc_remove(void *user, const char *ns, const uint8_t *key, size_t key_len)
{
    script *s = user;
    note(s, "remove");
    if (s->rc[SPT_CALL_REMOVE] != 0)
        return s->rc[SPT_CALL_REMOVE];
    return s->inner->remove(s->inner->user, ns, key, key_len);
}

static int sc_visit_all(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    script *s = arg;
    s->visit(s->visit_arg, key, key_len, value, value_len);
    return 0;
}

static int sc_scan(void *user, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    script *s = user;
    note(s, "scan");
    if (s->rc[SPT_CALL_SCAN] != 0)
        return s->rc[SPT_CALL_SCAN];
    if (!s->keep_visiting)
        return s->inner->scan(s->inner->user, ns, from, from_len, to, to_len, visit, arg);
    s->visit = visit;
    s->visit_arg = arg;
    s->inner->scan(s->inner->user, ns, from, from_len, to, to_len, sc_visit_all, s);
    return s->scan_result;
}

static int sc_begin(void *user)
{
    script *s = user;
    note(s, "begin");
    if (s->rc[SPT_CALL_BEGIN] != 0)
        return s->rc[SPT_CALL_BEGIN];
    return s->inner->begin(s->inner->user);
}

static int sc_commit(void *user)
{
    script *s = user;
    note(s, "commit");
    if (s->rc[SPT_CALL_COMMIT] != 0)
        return s->rc[SPT_CALL_COMMIT];
    return s->inner->commit(s->inner->user);
}

static int sc_rollback(void *user)
{
    script *s = user;
    note(s, "rollback");
    int rc = s->inner->rollback(s->inner->user);
    return s->rc[SPT_CALL_ROLLBACK] != 0 ? s->rc[SPT_CALL_ROLLBACK] : rc;
}

static const char *sc_errmsg(void *user)
{
    return ((script *)user)->msg;
}

static void sc_destroy(void *user)
{
    ((script *)user)->destroyed++;
}

static void script_init(script *s, sp_storage *inner)
{
    memset(s, 0, sizeof *s);
    s->inner = inner;
    sp_storage t = SP_STORAGE_INIT;
    t.user = s;
    t.get = sc_get;
    t.put = sc_put;
    t.remove = sc_remove;
    t.scan = sc_scan;
    t.begin = sc_begin;
    t.commit = sc_commit;
    t.rollback = sc_rollback;
    t.errmsg = sc_errmsg;
    t.destroy = sc_destroy;
    s->table = t;
}

/* ---- versioned structs and validation ---- */

static void test_struct_init(void **state)
{
    (void)state;
    sp_storage t;
    memset(&t, 0xAB, sizeof t);
    assert_int_equal(sp_storage_init(&t, SP_STORAGE_VERSION), SP_OK);
    assert_int_equal(t.version, 1);
    assert_null(t.user);
    assert_null(t.get);
    assert_null(t.rollback);
    assert_null(t.destroy);
    assert_int_equal(sp_storage_init(&t, 0), SP_EVERSION);
    assert_int_equal(sp_storage_init(&t, 2), SP_EVERSION);
    assert_int_equal(sp_storage_init(NULL, 1), SP_EINVAL);

    sp_file_store_options o;
    memset(&o, 0xAB, sizeof o);
    assert_int_equal(sp_file_store_options_init(&o, SP_FILE_STORE_OPTIONS_VERSION), SP_OK);
    assert_int_equal(o.version, 1);
    assert_int_equal(o.flags, SP_FILE_STORE_CREATE); /* as SP_FILE_STORE_OPTIONS_INIT */
    assert_int_equal(sp_file_store_options_init(&o, 2), SP_EVERSION);
    assert_int_equal(sp_file_store_options_init(NULL, 1), SP_EINVAL);

    /* sp_storage_free calls destroy when set, accepts NULL and tables without it. */
    script s;
    script_init(&s, NULL);
    sp_storage_free(&s.table);
    assert_int_equal(s.destroyed, 1);
    s.table.destroy = NULL;
    sp_storage_free(&s.table);
    assert_int_equal(s.destroyed, 1);
    sp_storage_free(NULL);
}

static void test_open_validates(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_store s;
    assert_int_equal(spi_store_open(&s, ctx, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: no storage table given");

    script sc;
    script_init(&sc, NULL);
    sc.table.version = 0;
    assert_int_equal(spi_store_open(&s, ctx, &sc.table), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "sp_storage: version 0 is not supported (this library knows 1 to 1)");
    sc.table.version = 2;
    assert_int_equal(spi_store_open(&s, ctx, &sc.table), SP_EVERSION);
    sc.table.version = 1;
    assert_int_equal(spi_store_open(&s, ctx, &sc.table), SP_OK);

    /* Each required callback, named when missing; errmsg and destroy are optional. */
    static const char *const names[] = { "get", "put", "remove", "scan",
                                         "begin", "commit", "rollback" };
    for (size_t i = 0; i < SPI_ARRAY_LEN(names); i++) {
        sp_storage t = sc.table;
        switch (i) {
        case 0: t.get = NULL; break;
        case 1: t.put = NULL; break;
        case 2: t.remove = NULL; break;
        case 3: t.scan = NULL; break;
        case 4: t.begin = NULL; break;
        case 5: t.commit = NULL; break;
        default: t.rollback = NULL; break;
        }
        assert_int_equal(spi_store_open(&s, ctx, &t), SP_EINVAL);
        char want[64];
        snprintf(want, sizeof want, "sp_storage: callback '%s' is NULL", names[i]);
        assert_string_equal(sp_ctx_errmsg(ctx), want);
        assert_int_equal(spi_store_write(ctx, &t, NULL, NULL), SP_EINVAL);
    }
    sp_storage t = sc.table;
    t.errmsg = NULL;
    t.destroy = NULL;
    assert_int_equal(spi_store_open(&s, ctx, &t), SP_OK);
    assert_string_equal(sc.log, ""); /* validation calls nothing */
    sp_ctx_free(ctx);
}

/* ---- error mapping ---- */

typedef struct one_put {
    const char *ns, *key, *value;
} one_put;

static int do_one_put(spi_store *tx, void *arg)
{
    one_put *p = arg;
    return spi_store_put(tx, p->ns, (const uint8_t *)p->key, strlen(p->key),
                         (const uint8_t *)p->value, strlen(p->value));
}

static void test_error_mapping(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_storage *mem = new_memory(ctx);
    script s;
    script_init(&s, mem);
    one_put p = { "plans", "k1", "v" };

    /* A salesplan status passes through, the host's message appended. */
    s.rc[SPT_CALL_PUT] = SP_ESTORAGE;
    s.msg = "disk full";
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_ESTORAGE);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: put \"plans\" key 6b31: storage failure: disk full");
    assert_int_equal(sp_ctx_user_errcode(ctx), 0);
    assert_string_equal(s.log, "begin put rollback");

    /* Any other code is the host's own: SP_EUSER, code and message kept. */
    static const int host_codes[] = { 19, 1, -200, -13 /* just past SP_EINTERNAL */ };
    for (size_t i = 0; i < SPI_ARRAY_LEN(host_codes); i++) {
        s.rc[SPT_CALL_PUT] = host_codes[i];
        s.msg = "constraint failed";
        assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_EUSER);
        assert_int_equal(sp_ctx_user_errcode(ctx), host_codes[i]);
        assert_string_equal(sp_ctx_user_errmsg(ctx), "constraint failed");
        char want[128];
        snprintf(want, sizeof want, "storage: put \"plans\" key 6b31: host error %d: "
                 "constraint failed", host_codes[i]);
        assert_string_equal(sp_ctx_errmsg(ctx), want);
    }
    /* Without errmsg. */
    s.table.errmsg = NULL;
    s.rc[SPT_CALL_PUT] = 7;
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_EUSER);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: put \"plans\" key 6b31: host error 7");
    assert_string_equal(sp_ctx_user_errmsg(ctx), "");
    s.table.errmsg = sc_errmsg;

    /* Begin and commit failures. */
    s.rc[SPT_CALL_PUT] = 0;
    s.log[0] = '\0';
    s.rc[SPT_CALL_BEGIN] = SP_ECONFLICT;
    s.msg = "busy";
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: begin: conflict: busy");
    assert_string_equal(s.log, "begin"); /* nothing else after a failed begin */
    s.rc[SPT_CALL_BEGIN] = 0;
    s.log[0] = '\0';
    s.rc[SPT_CALL_COMMIT] = 5;
    s.msg = "database is locked";
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_EUSER);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: commit: host error 5: database is locked");
    assert_string_equal(s.log, "begin put commit rollback");
    assert_int_equal(sp_ctx_user_errcode(ctx), 5);
    /* The store holds nothing from the failed operations. */
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(mem->get(mem->user, "plans", (const uint8_t *)"k1", 2, &v, &vlen),
                     SP_ENOTFOUND);

    /* A failing rollback never masks the first error: it only adds a note. */
    s.rc[SPT_CALL_ROLLBACK] = SP_ESTORAGE;
    s.msg = "connection lost";
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_EUSER);
    assert_int_equal(sp_ctx_errcode(ctx), SP_EUSER);
    assert_int_equal(sp_ctx_user_errcode(ctx), 5);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: commit: host error 5: connection lost (rollback failed too: "
                        "storage failure: connection lost)");
    sp_storage_free(mem);
    sp_ctx_free(ctx);
}

/* ---- get ---- */

static void test_get_copies(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    sp_storage *mem = new_memory(ctx);
    spt_storage_put_str(mem, "plans", "k", "first");
    spi_store s;
    assert_int_equal(spi_store_open(&s, ctx, mem), SP_OK);
    uint8_t *v = (uint8_t *)&s; /* a sentinel: untouched on failure */
    size_t vlen = 99;
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"k", 1, &v, &vlen), SP_OK);
    assert_int_equal(vlen, 5);
    assert_memory_equal(v, "first", 5);
    /* The host frees its bytes on the next write: the copy stays valid (ASan checks). */
    spt_storage_put_str(mem, "plans", "k", "second value");
    assert_memory_equal(v, "first", 5);
    spi_free(ctx, v);

    /* Missing keys: SP_ENOTFOUND with the key, outputs untouched. */
    uint8_t *const sentinel = (uint8_t *)&s;
    v = sentinel;
    vlen = 99;
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"missing", 7, &v, &vlen),
                     SP_ENOTFOUND);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: get \"plans\" key 6d697373696e67: not found");
    assert_ptr_equal(v, sentinel);
    assert_int_equal(vlen, 99);
    /* Long keys are shown by their first 16 bytes. */
    uint8_t longkey[40];
    memset(longkey, 0xAB, sizeof longkey);
    assert_int_equal(spi_store_get(&s, "plans", longkey, sizeof longkey, &v, &vlen),
                     SP_ENOTFOUND);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: get \"plans\" key "
                                            "abababababababababababababababab... (40 bytes): "
                                            "not found");

    /* Empty values still get a block; allocation failure leaves outputs alone. */
    spt_storage_begin(mem);
    spt_storage_put(mem, "plans", "e", 1, "", 0);
    spt_storage_commit(mem);
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"e", 1, &v, &vlen), SP_OK);
    assert_int_equal(vlen, 0);
    assert_non_null(v);
    spi_free(ctx, v);
    v = sentinel;
    spt_alloc_arm(&a, 1, false);
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"k", 1, &v, &vlen), SP_ENOMEM);
    spt_alloc_disarm(&a);
    assert_ptr_equal(v, sentinel);

    /* Host errors are mapped; a host returning no bytes for a value is caught. */
    script sc;
    script_init(&sc, mem);
    assert_int_equal(spi_store_open(&s, ctx, &sc.table), SP_OK);
    sc.rc[SPT_CALL_GET] = SP_ECORRUPT;
    sc.msg = "bad page";
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"k", 1, &v, &vlen),
                     SP_ECORRUPT);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: get \"plans\" key 6b: corrupt data: bad page");
    sp_storage_free(mem);
    sp_ctx_free(ctx);
    assert_int_equal(a.live_blocks, 0);
}

/* ---- arguments the layer refuses ---- */

static int write_outside(spi_store *tx, void *arg)
{
    (void)tx;
    spi_store *other = arg;
    /* A handle from spi_store_open is not a transaction. */
    return spi_store_put(other, "plans", (const uint8_t *)"k", 1, (const uint8_t *)"v", 1);
}

static int nested(spi_store *tx, void *arg)
{
    (void)arg;
    int rc = spi_store_put(tx, "plans", (const uint8_t *)"outer", 5, (const uint8_t *)"v", 1);
    if (rc != SP_OK)
        return rc;
    one_put p = { "plans", "inner", "v" };
    return spi_store_write(tx->ctx, &tx->table, do_one_put, &p);
}

static int write_in_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                          size_t value_len)
{
    (void)value;
    (void)value_len;
    return spi_store_put(arg, "plans", key, key_len, (const uint8_t *)"x", 1);
}

static int scan_in_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    return spi_store_scan(arg, "plans", NULL, 0, NULL, 0, write_in_visit, arg);
}

typedef struct visitor {
    sp_storage_visit_fn fn;
} visitor;

static int write_during_scan(spi_store *tx, void *arg)
{
    return spi_store_scan(tx, "plans", NULL, 0, NULL, 0, ((visitor *)arg)->fn, tx);
}

static int returns_positive(spi_store *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return 3;
}

static int bad_arguments(spi_store *tx, void *arg)
{
    int which = *(int *)arg;
    static const uint8_t k[1] = { 'k' };
    switch (which) {
    case 0: return spi_store_put(tx, "Plans", k, 1, k, 1);
    case 1: return spi_store_put(tx, "", k, 1, k, 1);
    case 2: return spi_store_put(tx, "abcdefghijklmnopqrstuvwxyz0123456", k, 1, k, 1);
    case 3: return spi_store_put(tx, NULL, k, 1, k, 1);
    case 4: return spi_store_put(tx, "plans", k, 0, k, 1);
    case 5: return spi_store_put(tx, "plans", k, SPI_KEY_MAX + 1, k, 1);
    case 6: return spi_store_put(tx, "plans", k, 1, k, (size_t)SPI_VALUE_MAX + 1);
    case 7: return spi_store_put(tx, "plans", NULL, 1, k, 1);
    case 8: return spi_store_put(tx, "plans", k, 1, NULL, 1);
    case 9: return spi_store_remove(tx, "pl ans", k, 1);
    default: return spi_store_scan(tx, "plans", NULL, 1, NULL, 0, write_in_visit, tx);
    }
}

static void test_refusals(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_storage *mem = new_memory(ctx);
    script s;
    script_init(&s, mem);
    spt_storage_put_str(mem, "plans", "a", "1");
    static const char *const ns[] = { "plans" };
    spt_snapshot *before = spt_snapshot_take(mem, ns, 1);

    spi_store plain;
    assert_int_equal(spi_store_open(&plain, ctx, &s.table), SP_OK);
    assert_int_equal(spi_store_write(ctx, &s.table, write_outside, &plain), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: put \"plans\" outside a transaction");
    assert_int_equal(spi_store_remove(&plain, "plans", (const uint8_t *)"a", 1), SP_EINTERNAL);

    s.log[0] = '\0';
    assert_int_equal(spi_store_write(ctx, &s.table, nested, NULL), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: begin: a write transaction is already running in this "
                        "context (transactions do not nest)");
    assert_string_equal(s.log, "begin put rollback"); /* the inner begin never reached the host */
    /* The context is usable again afterwards. */
    one_put p = { "plans", "b", "2" };
    assert_int_equal(spi_store_write(ctx, &s.table, do_one_put, &p), SP_OK);
    spt_snapshot_restore(before, mem);

    visitor writer = { write_in_visit }, scanner = { scan_in_visit };
    assert_int_equal(spi_store_write(ctx, &s.table, write_during_scan, &writer), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: put \"plans\" during a scan");
    assert_int_equal(spi_store_write(ctx, &s.table, write_during_scan, &scanner), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: scan \"plans\" during a scan");

    assert_int_equal(spi_store_write(ctx, &s.table, returns_positive, NULL), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: a write operation returned 3");

    static const struct {
        int code;
        const char *msg;
    } bad[] = {
        { SP_EINTERNAL, "storage: put: invalid namespace \"Plans\"" },
        { SP_EINTERNAL, "storage: put: invalid namespace \"\"" },
        { SP_EINTERNAL, "storage: put: invalid namespace \"abcdefghijklmnopqrstuvwxyz0123456\"" },
        { SP_EINTERNAL, "storage: put: invalid namespace \"(null)\"" },
        { SP_EINVAL, "storage: put \"plans\": key of 0 bytes (keys are 1 to 1024 bytes)" },
        { SP_EINVAL, "storage: put \"plans\": key of 1025 bytes (keys are 1 to 1024 bytes)" },
        { SP_EINVAL, "storage: put \"plans\": value of 1000000001 bytes (values hold at most "
                     "1000000000 bytes)" },
        { SP_EINTERNAL, "storage: put \"plans\": key is NULL" },
        { SP_EINTERNAL, "storage: put \"plans\": value is NULL" },
        { SP_EINTERNAL, "storage: remove: invalid namespace \"pl ans\"" },
        { SP_EINTERNAL, "storage: scan \"plans\": NULL bound or visitor" },
    };
    for (int i = 0; i < (int)SPI_ARRAY_LEN(bad); i++) {
        s.log[0] = '\0';
        assert_int_equal(spi_store_write(ctx, &s.table, bad_arguments, &i), bad[i].code);
        assert_string_equal(sp_ctx_errmsg(ctx), bad[i].msg);
        assert_string_equal(s.log, "begin rollback"); /* the host saw no bad call */
    }
    spt_snapshot_assert_store(before, mem);
    spt_snapshot_free(before);
    sp_storage_free(mem);
    sp_ctx_free(ctx);
}

/* ---- scans ---- */

typedef struct seen {
    sp_ctx *ctx;
    char keys[64][8];
    size_t klen[64];
    size_t n;
    size_t stop_at; /* 0: never */
    int stop_with;
} seen;

static int record_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    (void)value;
    (void)value_len;
    seen *s = arg;
    assert_true(s->n < 64 && key_len <= 8);
    memcpy(s->keys[s->n], key, key_len);
    s->klen[s->n++] = key_len;
    if (s->stop_at != 0 && s->n == s->stop_at) {
        if (s->stop_with < 0)
            return spi_fail(s->ctx, s->stop_with, "visitor refused record %zu", s->n);
        return s->stop_with;
    }
    return 0;
}

static void test_scan_relay(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_storage *mem = new_memory(ctx);
    spt_storage_begin(mem);
    for (int i = 0; i < 6; i++) {
        char key[2] = { (char)('a' + i), 0 };
        spt_storage_put(mem, "t", key, 1, "v", 1);
    }
    spt_storage_commit(mem);
    script sc;
    script_init(&sc, mem);
    spi_store s;
    assert_int_equal(spi_store_open(&s, ctx, &sc.table), SP_OK);

    seen v = { .ctx = ctx };
    assert_int_equal(spi_store_scan(&s, "t", (const uint8_t *)"b", 1, (const uint8_t *)"e", 1,
                                    record_visit, &v),
                     SP_OK);
    assert_int_equal(v.n, 3); /* b c d */
    assert_memory_equal(v.keys[0], "b", 1);
    assert_memory_equal(v.keys[2], "d", 1);

    /* An empty or inverted range never reaches the host. */
    sc.log[0] = '\0';
    v.n = 0;
    assert_int_equal(spi_store_scan(&s, "t", (const uint8_t *)"e", 1, (const uint8_t *)"b", 1,
                                    record_visit, &v),
                     SP_OK);
    assert_int_equal(spi_store_scan(&s, "t", (const uint8_t *)"c", 1, (const uint8_t *)"c", 1,
                                    record_visit, &v),
                     SP_OK);
    assert_int_equal(v.n, 0);
    assert_string_equal(sc.log, "");

    /* SP_SCAN_STOP ends the scan with SP_OK; a visitor's error comes back with its own
     * message. */
    v = (seen){ .ctx = ctx, .stop_at = 2, .stop_with = SP_SCAN_STOP };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_OK);
    assert_int_equal(v.n, 2);
    sc.msg = "stale host message";
    v = (seen){ .ctx = ctx, .stop_at = 3, .stop_with = SP_ECANCELED };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_ECANCELED);
    assert_int_equal(v.n, 3);
    assert_string_equal(sp_ctx_errmsg(ctx), "visitor refused record 3");
    v = (seen){ .ctx = ctx, .stop_at = 1, .stop_with = 7 };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_EINTERNAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: scan visitor returned 7");

    /* A host that goes on visiting after being told to stop: the visitor is not called
     * again, and what the host returns afterwards does not hide the visitor's status. */
    sc.keep_visiting = true;
    sc.scan_result = SP_SCAN_STOP;
    v = (seen){ .ctx = ctx, .stop_at = 2, .stop_with = SP_SCAN_STOP };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_OK);
    assert_int_equal(v.n, 2);
    sc.scan_result = 0;
    v = (seen){ .ctx = ctx, .stop_at = 2, .stop_with = SP_ENOMEM };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_ENOMEM);
    assert_int_equal(v.n, 2);
    assert_string_equal(sp_ctx_errmsg(ctx), "visitor refused record 2");
    /* ...but a real host failure after a stop is reported. */
    sc.scan_result = SP_ESTORAGE;
    sc.msg = "read error";
    v = (seen){ .ctx = ctx, .stop_at = 1, .stop_with = SP_SCAN_STOP };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_ESTORAGE);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: scan \"t\": storage failure: read error");
    /* A host returning SP_SCAN_STOP when nobody stopped: a host error. */
    sc.scan_result = SP_SCAN_STOP;
    v = (seen){ .ctx = ctx };
    assert_int_equal(spi_store_scan(&s, "t", NULL, 0, NULL, 0, record_visit, &v), SP_EUSER);
    assert_int_equal(sp_ctx_user_errcode(ctx), SP_SCAN_STOP);
    sc.keep_visiting = false;
    sc.rc[SPT_CALL_SCAN] = SP_ECORRUPT;
    assert_int_equal(spi_store_scan(&s, "t", (const uint8_t *)"c", 1, NULL, 0, record_visit, &v),
                     SP_ECORRUPT);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: scan \"t\" key 63: corrupt data: read error");
    sp_storage_free(mem);
    sp_ctx_free(ctx);
}

static void test_prefix_end(void **state)
{
    (void)state;
    uint8_t end[8];
    size_t len = 0;
    assert_true(spi_key_prefix_end((const uint8_t *)"ab", 2, end, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(end, "ac", 2);
    assert_true(spi_key_prefix_end((const uint8_t *)"a\xff", 2, end, &len));
    assert_int_equal(len, 1);
    assert_memory_equal(end, "b", 1);
    assert_true(spi_key_prefix_end((const uint8_t *)"\x01\xfe\xff\xff", 4, end, &len));
    assert_int_equal(len, 2);
    assert_memory_equal(end, "\x01\xff", 2);
    assert_false(spi_key_prefix_end((const uint8_t *)"\xff\xff", 2, end, &len));
    assert_false(spi_key_prefix_end((const uint8_t *)"", 0, end, &len));
}

/* Prefix scans against a filter over every key. */
static void test_scan_prefix(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_storage *mem = new_memory(ctx);
    static const struct {
        const char *b;
        size_t n;
    } keys[] = {
        { "a", 1 },         { "ab", 2 },         { "abc", 3 },       { "ab\xff", 3 },
        { "ab\xff\xff", 4 }, { "ab\xff\x00", 4 }, { "ac", 2 },        { "b", 1 },
        { "\xff", 1 },      { "\xff\xff", 2 },   { "\xff\xff\x00", 3 }, { "\xfe\xff", 2 },
        { "\0", 1 },        { "ab\0", 3 },
    };
    spt_storage_begin(mem);
    for (size_t i = 0; i < SPI_ARRAY_LEN(keys); i++)
        spt_storage_put(mem, "t", keys[i].b, keys[i].n, "v", 1);
    spt_storage_commit(mem);
    spi_store s;
    assert_int_equal(spi_store_open(&s, ctx, mem), SP_OK);
    for (size_t p = 0; p <= SPI_ARRAY_LEN(keys); p++) {
        const char *prefix = p < SPI_ARRAY_LEN(keys) ? keys[p].b : "";
        size_t plen = p < SPI_ARRAY_LEN(keys) ? keys[p].n : 0;
        size_t want = 0;
        for (size_t i = 0; i < SPI_ARRAY_LEN(keys); i++)
            want += keys[i].n >= plen && memcmp(keys[i].b, prefix, plen) == 0;
        seen v = { .ctx = ctx };
        assert_int_equal(spi_store_scan_prefix(&s, "t", (const uint8_t *)prefix, plen,
                                               record_visit, &v),
                         SP_OK);
        if (v.n != want)
            fail_msg("prefix %zu: %zu records, expected %zu", p, v.n, want);
        for (size_t i = 0; i < v.n; i++)
            assert_true(v.klen[i] >= plen && memcmp(v.keys[i], prefix, plen) == 0);
    }
    sp_storage_free(mem);
    sp_ctx_free(ctx);
}

/* ---- keys ---- */

static int raw_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    for (size_t i = 0; i < alen && i < blen; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return alen == blen ? 0 : alen < blen ? -1 : 1;
}

static int sign(int64_t x)
{
    return (x > 0) - (x < 0);
}

static void test_key_order(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 7 };
    unsigned n = spt_iterations(20000);
    static const int64_t edges[] = { INT64_MIN, INT64_MIN + 1, -256, -1, 0, 1, 255, 256,
                                     INT64_MAX };
    for (unsigned it = 0; it < n; it++) {
        /* (str, i64, u32) tuples: encoded order equals tuple order. */
        char s1[6], s2[6];
        size_t l1 = (size_t)spt_rng_range(&rng, 0, 5), l2 = (size_t)spt_rng_range(&rng, 0, 5);
        for (size_t i = 0; i < 6; i++) { /* a small alphabet with NUL and high bytes */
            static const char alpha[] = { 0, 1, 'a', 'b', (char)0x80, (char)0xFF };
            s1[i] = alpha[spt_rng_range(&rng, 0, 5)];
            s2[i] = spt_rng_chance(&rng, 60) ? s1[i] : alpha[spt_rng_range(&rng, 0, 5)];
        }
        int64_t i1 = spt_rng_chance(&rng, 30) ? edges[spt_rng_range(&rng, 0, 8)]
                                              : (int64_t)spt_rng_next(&rng);
        int64_t i2 = spt_rng_chance(&rng, 30) ? i1 : (int64_t)spt_rng_next(&rng);
        uint32_t u1 = (uint32_t)spt_rng_next(&rng);
        uint32_t u2 = spt_rng_chance(&rng, 30) ? u1 : (uint32_t)spt_rng_next(&rng);
        spi_key k1, k2;
        spi_key_init(&k1, ctx);
        spi_key_init(&k2, ctx);
        spi_key_str(&k1, s1, l1);
        spi_key_i64(&k1, i1);
        assert_int_equal(spi_key_u32(&k1, u1), SP_OK);
        spi_key_str(&k2, s2, l2);
        spi_key_i64(&k2, i2);
        assert_int_equal(spi_key_u32(&k2, u2), SP_OK);
        int want = raw_compare((const uint8_t *)s1, l1, (const uint8_t *)s2, l2);
        if (want == 0)
            want = i1 < i2 ? -1 : i1 > i2;
        if (want == 0)
            want = u1 < u2 ? -1 : u1 > u2;
        int got = sign(raw_compare(k1.data, k1.len, k2.data, k2.len));
        if (got != want)
            fail_msg("iteration %u: encoded order %d, tuple order %d", it, got, want);
        /* Read back. */
        spi_key_reader r;
        spi_key_reader_init(&r, ctx, k1.data, k1.len);
        char out[SPI_KEY_MAX];
        size_t olen = 0;
        int64_t ri = 0;
        uint32_t ru = 0;
        assert_int_equal(spi_key_read_str(&r, out, sizeof out, &olen), SP_OK);
        assert_int_equal(olen, l1);
        assert_memory_equal(out, s1, l1);
        assert_int_equal(spi_key_read_i64(&r, &ri), SP_OK);
        assert_int_equal(ri, i1);
        assert_false(spi_key_reader_done(&r));
        assert_int_equal(spi_key_read_u32(&r, &ru), SP_OK);
        assert_int_equal(ru, u1);
        assert_true(spi_key_reader_done(&r));
    }
    /* u64 by hand: big-endian. */
    spi_key k;
    spi_key_init(&k, ctx);
    assert_int_equal(spi_key_u64(&k, UINT64_C(0x0102030405060708)), SP_OK);
    assert_int_equal(k.len, 8);
    assert_memory_equal(k.data, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
    spi_key_init(&k, ctx);
    spi_key_i64(&k, -1); /* 0xFFFF...FF with the sign bit flipped */
    assert_memory_equal(k.data, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8);
    spi_key_init(&k, ctx);
    spi_key_str(&k, "a\0b", 3);
    assert_int_equal(k.len, 6);
    assert_memory_equal(k.data, "a\x00\xff" "b\x00\x01", 6);
    sp_ctx_free(ctx);
}

static void test_key_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_key k;
    spi_key_init(&k, ctx);
    uint8_t big[SPI_KEY_MAX];
    memset(big, 'x', sizeof big);
    assert_int_equal(spi_key_bytes(&k, big, SPI_KEY_MAX - 2), SP_OK);
    assert_int_equal(spi_key_u32(&k, 1), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: key longer than 1024 bytes");
    assert_int_equal(k.len, SPI_KEY_MAX - 2); /* unchanged */
    /* Sticky: later appends return the first error and add nothing. */
    sp_ctx_clear_error(ctx);
    assert_int_equal(spi_key_bytes(&k, big, 1), SP_EINVAL);
    assert_int_equal(k.len, SPI_KEY_MAX - 2);
    assert_int_equal(sp_ctx_errcode(ctx), SP_OK);
    spi_key_init(&k, ctx);
    assert_int_equal(spi_key_str(&k, (const char *)big, SPI_KEY_MAX - 1), SP_EINVAL);

    /* Readers: truncated numbers, unterminated or badly escaped strings, small buffers. */
    spi_key_reader r;
    uint32_t u;
    uint64_t u64;
    char out[4];
    size_t len;
    spi_key_reader_init(&r, ctx, (const uint8_t *)"\x00\x00\x01", 3);
    assert_int_equal(spi_key_read_u32(&r, &u), SP_ECORRUPT);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: key of 3 bytes ends at byte 0 inside a 4-byte number");
    assert_int_equal(spi_key_read_u64(&r, &u64), SP_ECORRUPT);
    spi_key_reader_init(&r, ctx, (const uint8_t *)"ab", 2);
    assert_int_equal(spi_key_read_str(&r, out, sizeof out, &len), SP_ECORRUPT);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "storage: key of 2 bytes holds no complete string at byte 0");
    spi_key_reader_init(&r, ctx, (const uint8_t *)"a\x00\x02", 3);
    assert_int_equal(spi_key_read_str(&r, out, sizeof out, &len), SP_ECORRUPT);
    spi_key_reader_init(&r, ctx, (const uint8_t *)"abcd\x00\x01", 6);
    assert_int_equal(spi_key_read_str(&r, out, sizeof out, &len), SP_EBUFFER);
    spi_key_reader_init(&r, ctx, (const uint8_t *)"abc\x00\x01", 5);
    assert_int_equal(spi_key_read_str(&r, out, sizeof out, &len), SP_OK);
    assert_string_equal(out, "abc");
    sp_ctx_free(ctx);
}

/* ---- fault loops over sample write operations ---- */

static const char *const op_ns[] = { "plans", "plans.index", "targets" };

/* A write operation as a module would write one: read a record, write some, remove one,
 * count with a prefix scan, write a summary. */
static int count_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    (void)key;
    (void)key_len;
    (void)value;
    (void)value_len;
    (*(uint32_t *)arg)++;
    return 0;
}

static int save_plan(spi_store *tx, void *arg)
{
    uint32_t plan = *(uint32_t *)arg;
    sp_ctx *ctx = tx->ctx;
    spi_key k;
    spi_key_init(&k, ctx);
    spi_key_u32(&k, plan);
    uint8_t *old = NULL;
    size_t old_len = 0;
    int rc = spi_store_get(tx, "plans", k.data, k.len, &old, &old_len);
    if (rc == SP_ENOTFOUND)
        rc = SP_OK;
    else if (rc == SP_OK)
        spi_free(ctx, old);
    for (uint32_t line = 0; line < 4 && rc == SP_OK; line++) {
        spi_key lk;
        spi_key_init(&lk, ctx);
        spi_key_u32(&lk, plan);
        spi_key_str(&lk, "line", 4);
        rc = spi_key_u32(&lk, line);
        char value[32];
        int n = snprintf(value, sizeof value, "plan %u line %u", plan, line);
        if (rc == SP_OK)
            rc = spi_store_put(tx, "plans", lk.data, lk.len, (const uint8_t *)value, (size_t)n);
    }
    if (rc == SP_OK)
        rc = spi_store_remove(tx, "plans.index", (const uint8_t *)"stale", 5);
    uint32_t lines = 0;
    if (rc == SP_OK)
        rc = spi_store_scan_prefix(tx, "plans", k.data, k.len, count_visit, &lines);
    uint8_t summary[4] = { (uint8_t)lines, 0, 0, 0 };
    if (rc == SP_OK)
        rc = spi_store_put(tx, "plans", k.data, k.len, summary, sizeof summary);
    if (rc == SP_OK)
        rc = spi_store_put(tx, "targets", (const uint8_t *)"t", 1, (const uint8_t *)"", 0);
    return rc;
}

typedef struct op_case {
    sp_ctx *ctx;
    spt_alloc *alloc;
    sp_storage *store;        /* the store whose contents are checked */
    const sp_storage *table;  /* what the operation is given (maybe a failing wrapper) */
    spt_snapshot *before;
    uint32_t plan;
} op_case;

static int run_save(void *user)
{
    op_case *c = user;
    return spi_store_write(c->ctx, c->table, save_plan, &c->plan);
}

static void undo_save(void *user)
{
    op_case *c = user;
    spt_snapshot_restore(c->before, c->store);
}

static void check_save_unchanged(void *user)
{
    op_case *c = user;
    spt_snapshot_assert_store(c->before, c->store);
}

/* Allocations outside the store's own structure (whose shape may differ after a
 * rollback): these must come back to the same number. */
static size_t live_outside_store(void *user)
{
    op_case *c = user;
    size_t held = 0;
    assert_true(spi_memory_store_blocks(c->store, &held));
    return c->alloc->live_blocks - held;
}

static void seed_store(sp_storage *st)
{
    spt_storage_begin(st);
    for (uint32_t p = 0; p < 40; p++) {
        uint8_t key[4] = { 0, 0, 0, (uint8_t)p };
        spt_storage_put(st, "plans", key, 4, "old", 3);
    }
    spt_storage_put(st, "plans.index", "stale", 5, "x", 1);
    spt_storage_put(st, "plans.index", "fresh", 5, "y", 1);
    spt_storage_commit(st);
}

static void test_fault_loop_allocator(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    sp_storage *mem = new_memory(ctx);
    seed_store(mem);
    op_case c = { ctx, &a, mem, mem, spt_snapshot_take(mem, op_ns, 3), 7 };
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "save_plan (allocator)", run_save, undo_save, check_save_unchanged,
                          live_outside_store, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&a);
    uint64_t points = spt_fault_loop(&fc, &inj);
    assert_true(points >= 8); /* copies, records, log growth, tree nodes */
    spt_snapshot_free(c.before);
    sp_storage_free(mem);
    assert_int_equal(a.live_blocks, 1); /* the context */
    sp_ctx_free(ctx);
}

static void storage_loop(bool apply_then_fail, int code, int expected)
{
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    sp_storage *mem = new_memory(ctx);
    seed_store(mem);
    spt_failing_storage f;
    spt_failing_storage_init(&f, mem);
    f.code = code;
    f.apply_then_fail = apply_then_fail;
    op_case c = { ctx, &a, mem, &f.table, spt_snapshot_take(mem, op_ns, 3), 7 };
    const int errors[] = { expected };
    spt_fault_case fc = { "save_plan (storage)", run_save, undo_save, check_save_unchanged,
                          live_outside_store, errors, 1, &c };
    spt_injector inj = spt_failing_storage_injector(&f);
    uint64_t points = spt_fault_loop(&fc, &inj);
    /* begin, get, 4 puts, remove, scan, 2 puts, commit: 11 calls, each failed in turn. */
    assert_int_equal(points, 11);
    /* No transaction was left open in the store. */
    spt_storage_begin(mem);
    assert_int_equal(mem->rollback(mem->user), SP_OK);
    /* The last run failed persistently from the commit (call 11) on; the rollback (call
     * 12) failed too, and the commit's error is the one reported. */
    if (code > 0) {
        assert_int_equal(sp_ctx_user_errcode(ctx), code);
        assert_string_equal(sp_ctx_user_errmsg(ctx), "injected failure 11");
    }
    spt_snapshot_free(c.before);
    sp_storage_free(mem);
    assert_int_equal(a.live_blocks, 1);
    sp_ctx_free(ctx);
}

static void test_fault_loop_storage(void **state)
{
    (void)state;
    storage_loop(false, SP_ESTORAGE, SP_ESTORAGE);
    storage_loop(true, SP_ESTORAGE, SP_ESTORAGE); /* the host wrote, then failed */
    storage_loop(false, 42, SP_EUSER);            /* the host's own code */
    storage_loop(true, SP_ECONFLICT, SP_ECONFLICT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_struct_init),
        cmocka_unit_test(test_open_validates),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_get_copies),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_scan_relay),
        cmocka_unit_test(test_prefix_end),
        cmocka_unit_test(test_scan_prefix),
        cmocka_unit_test(test_key_order),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_fault_loop_allocator),
        cmocka_unit_test(test_fault_loop_storage),
    };
    return cmocka_run_group_tests_name("store_layer", tests, NULL, NULL);
}
