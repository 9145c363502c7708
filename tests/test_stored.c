/*
 * The stored-object layer (src/record/stored.c) with a toy object type: rows of a nullable
 * integer and a nullable string, saved as a head and chunks. "toy" objects are revised
 * (key: id); "toy version" objects are versioned (key: toy id, name) and need their toy
 * in the store. Save, load, list, versions, revision conflicts, the parent check, corrupt
 * heads and chunks, chunk counting before the head is trusted, stale chunk removal, fault
 * loops over every allocation and storage call, and a property: objects of random sizes
 * and chunk sizes come back equal and encode to the very bytes stored.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "record/record.h"
#include "support/spt.h"
#include "support/spt_storage.h"

/* ======================================================================================
 * The toy type
 * ====================================================================================== */

typedef struct toy {
    sp_ctx *ctx;
    char *id;
    uint32_t n;
    int64_t *vals;  /* n */
    uint8_t *valid; /* n: 0 marks a null value */
    char **tags;    /* n, NULL entries allowed */
} toy;

static void toy_free(toy *t)
{
    if (t == NULL)
        return;
    for (uint32_t i = 0; t->tags != NULL && i < t->n; i++)
        spi_free(t->ctx, t->tags[i]);
    spi_free(t->ctx, t->tags);
    spi_free(t->ctx, t->vals);
    spi_free(t->ctx, t->valid);
    spi_free(t->ctx, t->id);
    spi_free(t->ctx, t);
}

/* Rows the readers allocated room for: a corrupt head must not make them allocate. */
static uint64_t rows_allocated;

static int toy_alloc(toy **out, sp_ctx *ctx, const char *id, size_t id_len, uint32_t n)
{
    toy *t = spi_calloc(ctx, 1, sizeof *t);
    if (t == NULL)
        return SP_ENOMEM;
    t->ctx = ctx;
    t->n = n;
    rows_allocated += n;
    if ((t->id = spi_malloc(ctx, id_len + 1)) == NULL ||
        (t->vals = spi_calloc(ctx, n, sizeof *t->vals)) == NULL ||
        (t->valid = spi_calloc(ctx, n, 1)) == NULL ||
        (t->tags = spi_calloc(ctx, n, sizeof *t->tags)) == NULL) {
        toy_free(t);
        return SP_ENOMEM;
    }
    memcpy(t->id, id, id_len);
    t->id[id_len] = '\0';
    *out = t;
    return SP_OK;
}

/* A toy of n rows: value i * 1000 - 7 (null every fifth), tag "t<i>" (none every third). */
static toy *toy_make(sp_ctx *ctx, const char *id, uint32_t n)
{
    toy *t = NULL;
    assert_int_equal(toy_alloc(&t, ctx, id, strlen(id), n), SP_OK);
    for (uint32_t i = 0; i < n; i++) {
        t->vals[i] = (int64_t)i * 1000 - 7;
        t->valid[i] = i % 5 != 4;
        if (i % 3 != 2) {
            char tag[16];
            snprintf(tag, sizeof tag, "t%u", (unsigned)i);
            t->tags[i] = spi_malloc(ctx, strlen(tag) + 1);
            assert_non_null(t->tags[i]);
            memcpy(t->tags[i], tag, strlen(tag) + 1);
        }
    }
    return t;
}

static void expect_equal_toys(const toy *a, const toy *b)
{
    assert_string_equal(a->id, b->id);
    assert_int_equal(a->n, b->n);
    for (uint32_t i = 0; i < a->n; i++) {
        assert_int_equal(a->valid[i] != 0, b->valid[i] != 0);
        if (a->valid[i])
            assert_int_equal(a->vals[i], b->vals[i]);
        assert_true((a->tags[i] == NULL) == (b->tags[i] == NULL));
        if (a->tags[i] != NULL)
            assert_string_equal(a->tags[i], b->tags[i]);
    }
}

/* The encoder state: a toy of type `type`, cut in chunks of `rows`. */
typedef struct toy_out {
    const toy *t;
    const spi_stored_type *type;
    spi_chunking c;
} toy_out;

static const char *stamp_key(const spi_stored_type *type)
{
    return type->kind == SPI_STORED_REVISED ? "revision" : "version";
}

static toy_out toy_out_make(const toy *t, const spi_stored_type *type, uint32_t rows)
{
    toy_out o = { t, type, spi_chunking_make(rows, 0, 0, t->n) };
    return o;
}

static void toy_head(const void *arg, uint32_t stamp, spi_writer *w)
{
    const toy_out *o = arg;
    spi_writer_member_string(w, "id", o->t->id, strlen(o->t->id));
    spi_writer_member_int(w, stamp_key(o->type), stamp);
    spi_stored_write_chunking(w, o->t->n, &o->c);
}

static void toy_chunk(const void *arg, uint32_t stamp, uint32_t k, spi_writer *w)
{
    const toy_out *o = arg;
    const uint32_t first = k * o->c.nodes, count = spi_chunking_items(&o->c, k, o->t->n);
    spi_writer_member_string(w, "id", o->t->id, strlen(o->t->id));
    spi_writer_member_int(w, stamp_key(o->type), stamp);
    spi_stored_write_chunk_at(w, &o->c, k);
    spi_col_write_i64(w, "vals", o->t->vals + first, o->t->valid + first, count);
    spi_col_write_str(w, "tags", (const char *const *)o->t->tags + first, count);
}

typedef struct toy_in {
    sp_ctx *ctx;
    const spi_stored_type *type;
    uint32_t stamp;
    spi_chunking c;
    toy *t;
} toy_in;

static void toy_in_free(void *arg)
{
    toy_in *in = arg;
    if (in == NULL)
        return;
    toy_free(in->t);
    spi_free(in->ctx, in);
}

static int toy_in_new(const spi_stored_type *type, void **out, sp_ctx *ctx,
                      const uint8_t *head, size_t len, uint32_t present, uint32_t *chunks)
{
    toy_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    in->type = type;
    spi_rdoc *doc = NULL;
    const char *id;
    size_t id_len;
    uint32_t n;
    int rc = spi_stored_open_head(&doc, ctx, type, head, len);
    const spi_rnode *root = rc == SP_OK ? spi_rdoc_root(doc) : NULL;
    if (rc == SP_OK && (rc = spi_rec_string(doc, root, "id", SPI_REC_NO_NUL, &id, &id_len)) ==
                           SP_OK &&
        (rc = spi_rec_u32(doc, root, stamp_key(type), 0, 0, UINT32_MAX, &in->stamp)) == SP_OK &&
        (rc = spi_stored_read_chunking(doc, root, 0, present, &n, &in->c)) == SP_OK)
        rc = toy_alloc(&in->t, ctx, id, id_len, n);
    spi_rdoc_free(doc);
    if (rc != SP_OK) {
        toy_in_free(in);
        return rc;
    }
    *chunks = in->c.count;
    *out = in;
    return SP_OK;
}

static int toy_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    toy_in *in = arg;
    toy *t = in->t;
    const uint32_t first = k * in->c.nodes, count = spi_chunking_items(&in->c, k, t->n);
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, in->type, &in->c, k, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    if ((rc = spi_stored_check_owner_str(doc, "id", "toy", t->id)) == SP_OK &&
        (rc = spi_stored_check_owner_u32(doc, stamp_key(in->type), in->stamp)) == SP_OK &&
        (rc = spi_col_read_i64(doc, root, "vals", count, -INT64_MAX, INT64_MAX,
                               t->vals + first, t->valid + first)) == SP_OK)
        rc = spi_col_read_str(doc, root, "tags", count, SPI_REC_NULL, t->tags + first);
    spi_rdoc_free(doc);
    return rc;
}

static int toy_in_finish(void *arg, void **out)
{
    toy_in *in = arg;
    *out = in->t;
    in->t = NULL;
    return SP_OK;
}

extern const spi_stored_type toy_doc, toy_ver;

static int doc_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                      uint32_t present, uint32_t *chunks)
{
    return toy_in_new(&toy_doc, out, ctx, head, len, present, chunks);
}

static int ver_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                      uint32_t present, uint32_t *chunks)
{
    return toy_in_new(&toy_ver, out, ctx, head, len, present, chunks);
}

static const char *const ver_labels[] = { "of toy", "named" };

const spi_stored_type toy_doc = {
    "toy", "toy.doc", "toy.doc.chunk", 1, 1, SPI_STORED_REVISED, 1, NULL, NULL,
    toy_head, toy_chunk, doc_in_new, toy_in_chunk, toy_in_finish, toy_in_free,
};

const spi_stored_type toy_ver = {
    "toy version", "toy.ver", "toy.ver.chunk", 1, 1, SPI_STORED_VERSIONED, 2, ver_labels,
    &toy_doc, toy_head, toy_chunk, ver_in_new, toy_in_chunk, toy_in_finish, toy_in_free,
};

static const char *const all_ns[] = { "toy.doc", "toy.doc.chunk", "toy.ver", "toy.ver.chunk" };

/* ======================================================================================
 * Operations as the module's store functions run them
 * ====================================================================================== */

typedef struct save_job {
    const spi_stored_type *type;
    const char *names[2];
    const toy_out *o;
    uint32_t number;
} save_job;

static int save_tx(spi_store *tx, void *arg)
{
    save_job *j = arg;
    return spi_stored_save(tx, j->type, j->names, j->o, j->o->c.count, &j->number);
}

/* Save toy t as revision `*revision` + 1 in chunks of `rows`. */
static int save_doc(sp_ctx *ctx, const sp_storage *st, const toy *t, uint32_t rows,
                    uint32_t *revision)
{
    toy_out o = toy_out_make(t, &toy_doc, rows);
    save_job j = { &toy_doc, { t->id, NULL }, &o, *revision };
    int rc = spi_store_write(ctx, st, save_tx, &j);
    if (rc == SP_OK)
        *revision = j.number;
    return rc;
}

/* Save t as the next version of (id, name); *version gets it. */
static int save_ver(sp_ctx *ctx, const sp_storage *st, const toy *t, const char *name,
                    uint32_t rows, uint32_t *version)
{
    toy_out o = toy_out_make(t, &toy_ver, rows);
    save_job j = { &toy_ver, { t->id, name }, &o, 0 };
    int rc = spi_store_write(ctx, st, save_tx, &j);
    if (rc == SP_OK)
        *version = j.number;
    return rc;
}

static int load(sp_ctx *ctx, const sp_storage *st, const spi_stored_type *type,
                const char *id, const char *name, uint32_t version, toy **out)
{
    spi_store s;
    const char *names[] = { id, name };
    void *obj;
    int rc = spi_store_open(&s, ctx, st);
    if (rc == SP_OK && (rc = spi_stored_load(&s, type, names, version, &obj)) == SP_OK)
        *out = obj;
    return rc;
}

/* A load that must succeed. */
static toy *loaded(sp_ctx *ctx, const sp_storage *st, const spi_stored_type *type,
                   const char *id, const char *name, uint32_t version)
{
    toy *t = NULL;
    int rc = load(ctx, st, type, id, name, version, &t);
    if (rc != SP_OK || t == NULL) {
        fail_msg("load: %d %s", rc, sp_ctx_errmsg(ctx));
        abort(); /* not reached */
    }
    return t;
}

static int list(sp_ctx *ctx, const sp_storage *st, const spi_stored_type *type,
                const char *id, size_t depth, sp_names **out)
{
    spi_store s;
    const char *names[] = { id };
    int rc = spi_store_open(&s, ctx, st);
    return rc == SP_OK ? spi_stored_list(out, &s, type, names, depth) : rc;
}

static int versions(sp_ctx *ctx, const sp_storage *st, const char *id, const char *name,
                    uint32_t **v, size_t *count, uint32_t *last)
{
    spi_store s;
    const char *names[] = { id, name };
    int rc = spi_store_open(&s, ctx, st);
    return rc == SP_OK ? spi_stored_versions(&s, &toy_ver, names, v, count, last) : rc;
}

/* Keys of the toy records (docs/storage.md): the id; a chunk's adds its number. */
static spt_key toy_key(const char *id)
{
    return spt_key_str(SPT_KEY_EMPTY, id);
}

static spt_key chunk_key(const char *id, uint32_t chunk)
{
    return spt_key_u32(toy_key(id), chunk);
}

/* ======================================================================================
 * Tests
 * ====================================================================================== */

/* Revised objects: records as written, round trip, optimistic revisions, the last one. */
static void test_revised(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    toy *t = toy_make(ctx, "a", 5), *back = NULL;
    uint32_t rev = 0;
    assert_int_equal(save_doc(ctx, e->st, t, 2, &rev), SP_OK);
    assert_int_equal(rev, 1);
    /* Head and chunks, byte for byte (rows 0-1, 2-3, 4). */
    char *head = spt_record_get(e->st, "toy.doc", toy_key("a"));
    assert_string_equal(head, "{\"type\":\"toy.doc\",\"v\":1,\"id\":\"a\",\"revision\":1,"
                              "\"nnodes\":5,\"chunk_nodes\":2,\"chunks\":3}");
    free(head);
    char *c1 = spt_record_get(e->st, "toy.doc.chunk", chunk_key("a", 1));
    assert_string_equal(c1, "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"a\",\"revision\":1,"
                            "\"chunk\":1,\"first\":2,\"vals\":[1993,2993],\"tags\":[null,\"t3\"]}");
    free(c1);
    char *c2 = spt_record_get(e->st, "toy.doc.chunk", chunk_key("a", 2));
    assert_string_equal(c2, "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"a\",\"revision\":1,"
                            "\"chunk\":2,\"first\":4,\"vals\":[null],\"tags\":[\"t4\"]}");
    free(c2);
    back = loaded(ctx, e->st, &toy_doc, "a", NULL, 0);
    expect_equal_toys(t, back);
    toy_free(back);

    /* Held revision 1 saves as 2; a second copy still at 1 conflicts, a copy that never
     * saw the store (0) too; nothing changes. */
    assert_int_equal(save_doc(ctx, e->st, t, 2, &rev), SP_OK);
    assert_int_equal(rev, 2);
    spt_snapshot *before = spt_snapshot_take(e->st, all_ns, 4);
    uint32_t stale = 1, fresh = 0;
    spt_expect_error(ctx, save_doc(ctx, e->st, t, 2, &stale), SP_ECONFLICT,
                     "toy \"a\": the store holds revision 2, this copy is revision 1 (load the toy "
                     "again before saving)");
    assert_int_equal(stale, 1);
    spt_expect_error(ctx, save_doc(ctx, e->st, t, 2, &fresh), SP_ECONFLICT,
                     "toy \"a\": the store holds revision 2, this copy is revision 0 (load the toy "
                     "again before saving)");
    /* A copy of a toy that is no longer stored. */
    toy *b = toy_make(ctx, "b", 1);
    uint32_t three = 3;
    spt_expect_error(ctx, save_doc(ctx, e->st, b, 0, &three), SP_ECONFLICT,
                     "toy \"b\": the store holds no revision, this copy is revision 3");
    spt_snapshot_assert_store(before, e->st);
    spt_snapshot_free(before);
    spt_expect_error(ctx, load(ctx, e->st, &toy_doc, "b", NULL, 0, &back), SP_ENOTFOUND,
                     "toy \"b\" is not in the store");

    /* The last revision: a stored head at UINT32_MAX cannot be saved over. */
    toy_out o = toy_out_make(b, &toy_doc, 1);
    uint8_t *bytes;
    size_t len;
    assert_int_equal(spi_stored_encode_head(ctx, o.type, &o, UINT32_MAX, &bytes, &len), SP_OK);
    spt_key kb = toy_key("b");
    spt_storage_begin(e->st);
    spt_storage_put(e->st, "toy.doc", kb.b, kb.len, bytes, len);
    spt_storage_commit(e->st);
    spi_free(ctx, bytes);
    uint32_t last = UINT32_MAX;
    spt_expect_error(ctx, save_doc(ctx, e->st, b, 1, &last), SP_EOVERFLOW,
                     "toy \"b\": revision 4294967295 is the last");
    toy_free(b);
    toy_free(t);
}

/* A scan over the versions of a name that misses the newest (a stale index): the save
 * then meets the head it would write, and refuses to replace it. */
typedef struct hiding {
    sp_storage table;
    const sp_storage *inner;
    bool hide;
    sp_storage_visit_fn visit;
    void *arg;
    size_t from_len;
    bool held;
    uint8_t key[64]; /* the key held back, copied */
    size_t key_len;
} hiding;

static int hide_get(void *u, const char *ns, const uint8_t *k, size_t kl, const uint8_t **v,
                    size_t *vl)
{
    const hiding *h = u;
    return h->inner->get(h->inner->user, ns, k, kl, v, vl);
}

static int hide_put(void *u, const char *ns, const uint8_t *k, size_t kl, const uint8_t *v,
                    size_t vl)
{
    const hiding *h = u;
    return h->inner->put(h->inner->user, ns, k, kl, v, vl);
}

static int hide_remove(void *u, const char *ns, const uint8_t *k, size_t kl)
{
    const hiding *h = u;
    return h->inner->remove(h->inner->user, ns, k, kl);
}

/* Versions scans (a prefix shorter than the keys by the u32) skip the newest key: each
 * such key is held back until the next one comes. Values are not passed on (the layer's
 * versions scan reads keys only). */
static int hide_visit(void *arg, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl)
{
    hiding *h = arg;
    if (kl != h->from_len + 4 || kl > sizeof h->key)
        return h->visit(h->arg, k, kl, v, vl);
    int rc = h->held ? h->visit(h->arg, h->key, h->key_len, (const uint8_t *)"", 0) : 0;
    memcpy(h->key, k, kl);
    h->key_len = kl;
    h->held = true;
    return rc;
}

static int hide_scan(void *u, const char *ns, const uint8_t *from, size_t from_len,
                     const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    hiding *h = u;
    if (!h->hide || strcmp(ns, "toy.ver") != 0)
        return h->inner->scan(h->inner->user, ns, from, from_len, to, to_len, visit, arg);
    h->visit = visit;
    h->arg = arg;
    h->from_len = from_len;
    h->held = false;
    return h->inner->scan(h->inner->user, ns, from, from_len, to, to_len, hide_visit, h);
}

static int hide_begin(void *u)
{
    const hiding *h = u;
    return h->inner->begin(h->inner->user);
}

static int hide_commit(void *u)
{
    const hiding *h = u;
    return h->inner->commit(h->inner->user);
}

static int hide_rollback(void *u)
{
    const hiding *h = u;
    return h->inner->rollback(h->inner->user);
}

/* Versioned objects: the parent check, versions in order, latest and given versions,
 * never replaced, the last version. */
static void test_versioned(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    toy *t = toy_make(ctx, "p", 4), *back = NULL;
    uint32_t v = 77, rev = 0;

    /* The toy is not stored: nothing is written. */
    spt_expect_error(ctx, save_ver(ctx, e->st, t, "n", 3, &v), SP_ENOTFOUND,
                     "toy version of toy \"p\", named \"n\": toy \"p\" is not in the store (save "
                     "it first)");
    assert_int_equal(v, 77);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(spt_record_count(e->st, all_ns[i]), 0);
    /* Another toy whose id extends this one's does not count ("p" vs "pq"). */
    toy *pq = toy_make(ctx, "pq", 1);
    assert_int_equal(save_doc(ctx, e->st, pq, 0, &rev), SP_OK);
    spt_expect_error(ctx, save_ver(ctx, e->st, t, "n", 3, &v), SP_ENOTFOUND,
                     "toy version of toy \"p\", named \"n\": toy \"p\" is not in the store (save "
                     "it first)");
    toy_free(pq);
    rev = 0;
    assert_int_equal(save_doc(ctx, e->st, t, 0, &rev), SP_OK);

    /* 300 versions: big-endian numbers keep their order past 255. */
    for (uint32_t i = 1; i <= 300; i++) {
        t->vals[0] = i;
        assert_int_equal(save_ver(ctx, e->st, t, "n", 3, &v), SP_OK);
        assert_int_equal(v, i);
    }
    uint32_t *all = NULL, last = 0;
    size_t count = 0;
    assert_int_equal(versions(ctx, e->st, "p", "n", &all, &count, &last), SP_OK);
    assert_int_equal(count, 300);
    assert_int_equal(last, 300);
    for (uint32_t i = 0; i < 300; i++)
        assert_int_equal(all[i], i + 1);
    spi_free(ctx, all);
    assert_int_equal(versions(ctx, e->st, "p", "none", &all, &count, &last), SP_OK);
    assert_int_equal(count, 0);
    assert_int_equal(last, 0);
    assert_null(all);

    /* Latest and given versions. */
    back = loaded(ctx, e->st, &toy_ver, "p", "n", 0);
    assert_int_equal(back->vals[0], 300);
    toy_free(back);
    back = loaded(ctx, e->st, &toy_ver, "p", "n", 256);
    t->vals[0] = 256;
    expect_equal_toys(t, back);
    toy_free(back);
    back = NULL;
    spt_expect_error(ctx, load(ctx, e->st, &toy_ver, "p", "n", 301, &back), SP_ENOTFOUND,
                     "toy version of toy \"p\", named \"n\", version 301 is not in the store");
    spt_expect_error(ctx, load(ctx, e->st, &toy_ver, "p", "m", 0, &back), SP_ENOTFOUND,
                     "toy version of toy \"p\", named \"m\": no version is stored");
    assert_null(back);

    /* A version the scan did not show is still never replaced. */
    hiding h = { SP_STORAGE_INIT, e->st, true, NULL, NULL, 0, false, { 0 }, 0 };
    h.table.user = &h;
    h.table.get = hide_get;
    h.table.put = hide_put;
    h.table.remove = hide_remove;
    h.table.scan = hide_scan;
    h.table.begin = hide_begin;
    h.table.commit = hide_commit;
    h.table.rollback = hide_rollback;
    assert_int_equal(versions(ctx, &h.table, "p", "n", NULL, &count, &last), SP_OK);
    assert_int_equal(last, 299);
    spt_snapshot *before = spt_snapshot_take(e->st, all_ns, 4);
    spt_expect_error(ctx, save_ver(ctx, &h.table, t, "n", 3, &v), SP_ECONFLICT,
                     "toy version of toy \"p\", named \"n\", version 300 is already stored");
    spt_snapshot_assert_store(before, e->st);
    spt_snapshot_free(before);

    /* The last version. */
    toy_out o = toy_out_make(t, &toy_ver, 3);
    uint8_t *bytes;
    size_t len;
    assert_int_equal(spi_stored_encode_head(ctx, o.type, &o, UINT32_MAX, &bytes, &len), SP_OK);
    spt_key k = spt_key_u32(spt_key_str(toy_key("p"), "z"), UINT32_MAX);
    spt_storage_begin(e->st);
    spt_storage_put(e->st, "toy.ver", k.b, k.len, bytes, len);
    spt_storage_commit(e->st);
    spi_free(ctx, bytes);
    spt_expect_error(ctx, save_ver(ctx, e->st, t, "z", 3, &v), SP_EOVERFLOW,
                     "toy version of toy \"p\", named \"z\": version 4294967295 is the last");
    /* A key that is not the names and a version. */
    k = spt_key_str(toy_key("p"), "z");
    k.b[k.len++] = 1;
    k.b[k.len++] = 2;
    spt_record_put(e->st, "toy.ver", k, "{}");
    spt_expect_error(ctx, save_ver(ctx, e->st, t, "z", 3, &v), SP_ECORRUPT,
                     "toy version: a key of namespace toy.ver is not 2 names and a version");
    toy_free(t);
}

static void expect_names(const sp_names *l, const char *const *want, size_t n)
{
    assert_int_equal(sp_names_count(l), n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(sp_names_at(l, i), want[i]);
    assert_null(sp_names_at(l, n));
}

/* Names under a prefix: each once, in byte order, whatever the records under them. */
static void test_list(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    static const char *const ids[] = { "b", "\xc3\xa9", "ab", "a b", "a" };
    static const char *const sorted[] = { "a", "a b", "ab", "b", "\xc3\xa9" };
    sp_names *l = NULL;
    assert_int_equal(list(ctx, e->st, &toy_doc, NULL, 0, &l), SP_OK);
    expect_names(l, NULL, 0);
    sp_names_free(l);
    for (size_t i = 0; i < 5; i++) {
        toy *t = toy_make(ctx, ids[i], 3);
        uint32_t rev = 0, v;
        assert_int_equal(save_doc(ctx, e->st, t, 1, &rev), SP_OK);
        /* Names of versions under "a" only; several versions each. */
        for (size_t j = 0; strcmp(ids[i], "a") == 0 && j < 5; j++)
            for (int k = 0; k < 3; k++)
                assert_int_equal(save_ver(ctx, e->st, t, ids[j], 2, &v), SP_OK);
        toy_free(t);
    }
    assert_int_equal(list(ctx, e->st, &toy_doc, NULL, 0, &l), SP_OK);
    expect_names(l, sorted, 5);
    sp_names_free(l);
    const char *a[] = { "a" };
    assert_int_equal(list(ctx, e->st, &toy_ver, a[0], 1, &l), SP_OK);
    expect_names(l, sorted, 5);
    sp_names_free(l);
    assert_int_equal(list(ctx, e->st, &toy_ver, "a b", 1, &l), SP_OK);
    expect_names(l, NULL, 0);
    sp_names_free(l);
    /* Toy ids through the versioned type: the toys that have versions. */
    assert_int_equal(list(ctx, e->st, &toy_ver, NULL, 0, &l), SP_OK);
    expect_names(l, a, 1);
    sp_names_free(l);
    sp_names_free(NULL);
    assert_int_equal(sp_names_count(NULL), 0);
    assert_null(sp_names_at(NULL, 0));
}

/* Saving again in fewer chunks, and over fewer rows, leaves no chunk behind; an orphan
 * chunk beyond the new count goes too. */
static void test_stale_chunks(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    toy *t = toy_make(ctx, "s", 10), *small = toy_make(ctx, "s", 2), *back = NULL;
    uint32_t rev = 0;
    assert_int_equal(save_doc(ctx, e->st, t, 1, &rev), SP_OK);
    assert_int_equal(spt_record_count(e->st, "toy.doc.chunk"), 10);
    assert_int_equal(save_doc(ctx, e->st, t, 4, &rev), SP_OK);
    assert_int_equal(spt_record_count(e->st, "toy.doc.chunk"), 3);
    spt_record_put(e->st, "toy.doc.chunk", chunk_key("s", 40), "{}");
    assert_int_equal(save_doc(ctx, e->st, small, 0, &rev), SP_OK);
    assert_int_equal(rev, 3);
    assert_int_equal(spt_record_count(e->st, "toy.doc.chunk"), 1);
    back = loaded(ctx, e->st, &toy_doc, "s", NULL, 0);
    expect_equal_toys(small, back);
    toy_free(back);
    toy_free(small);
    toy_free(t);
}

/* Corrupt heads and chunks: missing, extra, misplaced, of another revision, of the wrong
 * shape; a head that claims more chunks than exist takes no memory for them. */
static void test_corrupt(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    toy *t = toy_make(ctx, "c", 5), *back = NULL;
    uint32_t rev = 0;
    assert_int_equal(save_doc(ctx, e->st, t, 2, &rev), SP_OK);
    char *old1 = spt_record_get(e->st, "toy.doc.chunk", chunk_key("c", 1));
    assert_int_equal(save_doc(ctx, e->st, t, 2, &rev), SP_OK);
    spt_snapshot *saved = spt_snapshot_take(e->st, all_ns, 4);
    const spt_key head = toy_key("c");
    const spt_key c0 = chunk_key("c", 0), c1 = chunk_key("c", 1), c2 = chunk_key("c", 2),
                  c3 = chunk_key("c", 3);
#define LOAD_FAILS(code, msg)                                                                \
    do {                                                                                     \
        spt_expect_error(ctx, load(ctx, e->st, &toy_doc, "c", NULL, 0, &back), code, msg);       \
        assert_null(back);                                                                   \
        spt_snapshot_restore(saved, e->st);                                                  \
    } while (0)

    spt_record_remove(e->st, "toy.doc.chunk", c1);
    LOAD_FAILS(SP_ECORRUPT, "record toy.doc: chunk 1 of 3 is missing");
    spt_record_remove(e->st, "toy.doc.chunk", c2);
    LOAD_FAILS(SP_ECORRUPT, "record toy.doc: chunk 2 of 3 is missing");
    char *last = spt_record_get(e->st, "toy.doc.chunk", c2);
    spt_record_put(e->st, "toy.doc.chunk", c3, last);
    LOAD_FAILS(SP_ECORRUPT, "record toy.doc: chunk 3 is beyond the 3 chunks of the head");
    spt_key odd = head;
    odd.b[odd.len++] = 7;
    spt_record_put(e->st, "toy.doc.chunk", odd, last);
    LOAD_FAILS(SP_ECORRUPT, "record toy.doc: a chunk key is not the head's key and a chunk "
                            "number");
    spt_record_put(e->st, "toy.doc.chunk", c1, last);
    spt_expect_corrupt_marker(ctx, load(ctx, e->st, &toy_doc, "c", NULL, 0, &back), last,
                              "2,\"first",
                              "record toy.doc.chunk 1: chunk: chunk 2 stored under the key of "
                              "chunk 1");
    spt_snapshot_restore(saved, e->st);
    spt_record_put(e->st, "toy.doc.chunk", c1, old1);
    spt_expect_corrupt_marker(ctx, load(ctx, e->st, &toy_doc, "c", NULL, 0, &back), old1,
                              "1,\"chunk",
                              "record toy.doc.chunk 1: revision: a chunk of revision 1 under "
                              "revision 2");
    spt_snapshot_restore(saved, e->st);
    free(last);
    free(old1);

    /* Chunk 0 with a string among the values, a row short, and starting elsewhere. */
    static const struct {
        const char *json, *marker, *msg;
    } bad[] = {
        { "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"c\",\"revision\":2,\"chunk\":0,"
          "\"first\":0,\"vals\":[-7,\"x\"],\"tags\":[\"t0\",\"t1\"]}",
          "\"x\"", "record toy.doc.chunk 0: vals[1]: expected an integer, found a string" },
        { "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"c\",\"revision\":2,\"chunk\":0,"
          "\"first\":0,\"vals\":[-7,993],\"tags\":[\"t0\"]}",
          "[\"t0\"]", "record toy.doc.chunk 0: tags: 1 values where 2 are due" },
        { "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"c\",\"revision\":2,\"chunk\":0,"
          "\"first\":1,\"vals\":[-7,993],\"tags\":[\"t0\",\"t1\"]}",
          "1,\"vals", "record toy.doc.chunk 0: first: first node 1 where chunk 0 starts at node 0" },
        { "{\"type\":\"toy.doc.chunk\",\"v\":1,\"id\":\"d\",\"revision\":2,\"chunk\":0,"
          "\"first\":0,\"vals\":[-7,993],\"tags\":[\"t0\",\"t1\"]}",
          "\"d\"", "record toy.doc.chunk 0: id: a chunk of toy \"d\" under toy \"c\"" },
        { "{\"type\":\"toy.ver.chunk\",\"v\":1}", "\"toy.ver.chunk\"",
          "record toy.doc.chunk 0: type: expected record type 'toy.doc.chunk', found "
          "'toy.ver.chunk'" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        spt_record_put(e->st, "toy.doc.chunk", c0, bad[i].json);
        spt_expect_corrupt_marker(ctx, load(ctx, e->st, &toy_doc, "c", NULL, 0, &back),
                                  bad[i].json, bad[i].marker, bad[i].msg);
        assert_null(back);
        spt_snapshot_restore(saved, e->st);
    }

    /* Heads: chunk counts that do not add up; a head claiming about 4 billion rows in
     * chunks of one, consistent with itself, over the 3 chunk records that exist: refused
     * before any row is allocated. A newer format version: SP_EVERSION. */
    static const char inconsistent[] = "{\"type\":\"toy.doc\",\"v\":1,\"id\":\"c\",\"revision\":2,"
                                       "\"nnodes\":5,\"chunk_nodes\":2,\"chunks\":4}";
    spt_record_put(e->st, "toy.doc", head, inconsistent);
    spt_expect_corrupt_marker(ctx, load(ctx, e->st, &toy_doc, "c", NULL, 0, &back),
                              inconsistent, "4}",
                              "record toy.doc: chunks: 4 chunks where 5 node indices in chunks of "
                              "2 make 3");
    spt_snapshot_restore(saved, e->st);
    spt_record_put(e->st, "toy.doc", head,
            "{\"type\":\"toy.doc\",\"v\":1,\"id\":\"c\",\"revision\":2,"
            "\"nnodes\":4294967292,\"chunk_nodes\":1,\"chunks\":4294967292}");
    rows_allocated = 0;
    LOAD_FAILS(SP_ECORRUPT, "record toy.doc: chunk 3 of 4294967292 is missing");
    assert_int_equal(rows_allocated, 0);
    spt_record_put(e->st, "toy.doc", head, "{\"type\":\"toy.doc\",\"v\":2}");
    LOAD_FAILS(SP_EVERSION, "record toy.doc: v: 'toy.doc' version 2 is newer than version 1, "
                            "the newest this library reads (line 1, column 23, byte 22)");
    /* A save over a head that is not a record fails and changes nothing. */
    spt_record_put(e->st, "toy.doc", head, "{\"type\":\"toy.doc\",\"v\":1}");
    spt_snapshot *broken = spt_snapshot_take(e->st, all_ns, 4);
    spt_expect_error(ctx, save_doc(ctx, e->st, t, 2, &rev), SP_ECORRUPT,
                     "record toy.doc: missing field 'revision' (line 1, column 1, byte 0)");
    spt_snapshot_assert_store(broken, e->st);
    spt_snapshot_free(broken);
#undef LOAD_FAILS
    spt_snapshot_free(saved);
    toy_free(t);
}

/* ---- property ---- */

/* A random tag: ASCII, quotes, control characters, and multi-byte UTF-8. */
static char *random_tag(sp_ctx *ctx, spt_rng *rng)
{
    static const char *const pieces[] = { "a", "Z", "\"", "\\", "\n", "\x01", "\x7f",
                                          "\xc3\xa9", "\xe7\x9b\xae", "\xf0\x9f\x98\x80", " " };
    char buf[64] = "";
    size_t len = 0, parts = (size_t)spt_rng_range(rng, 0, 8);
    for (size_t i = 0; i < parts; i++) {
        const char *p = pieces[spt_rng_range(rng, 0, 10)];
        memcpy(buf + len, p, strlen(p));
        len += strlen(p);
    }
    char *s = spi_malloc(ctx, len + 1);
    assert_non_null(s);
    memcpy(s, buf, len);
    s[len] = '\0';
    return s;
}

/* Every stored record of the object equals the encoding of the loaded copy. */
static void expect_canonical(const sp_storage *st, const toy *back, uint32_t rows,
                             uint32_t stamp)
{
    toy_out o = toy_out_make(back, &toy_doc, rows);
    uint8_t *bytes;
    size_t len;
    spt_key k = toy_key(back->id);
    assert_int_equal(spi_stored_encode_head(back->ctx, o.type, &o, stamp, &bytes, &len), SP_OK);
    char *stored = spt_record_get(st, "toy.doc", k);
    assert_int_equal(strlen(stored), len);
    assert_memory_equal(stored, bytes, len);
    free(stored);
    spi_free(back->ctx, bytes);
    for (uint32_t c = 0; c < o.c.count; c++) {
        assert_int_equal(spi_stored_encode_chunk(back->ctx, o.type, &o, stamp, c, &bytes, &len),
                         SP_OK);
        stored = spt_record_get(st, "toy.doc.chunk", spt_key_u32(k, c));
        assert_int_equal(strlen(stored), len);
        assert_memory_equal(stored, bytes, len);
        free(stored);
        spi_free(back->ctx, bytes);
    }
    assert_int_equal(spt_record_count(st, "toy.doc.chunk"), o.c.count);
}

static void test_property(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    spt_rng rng = { 2026 };
    const unsigned iterations = spt_iterations(200);
    uint32_t rev = 0;
    for (unsigned it = 0; it < iterations; it++) {
        uint32_t n = (uint32_t)spt_rng_range(&rng, 1, 300);
        uint32_t rows = (uint32_t)spt_rng_range(&rng, 1, n + 3);
        toy *t = NULL, *back = NULL;
        assert_int_equal(toy_alloc(&t, ctx, "prop", 4, n), SP_OK);
        for (uint32_t i = 0; i < n; i++) {
            t->valid[i] = spt_rng_chance(&rng, 90);
            t->vals[i] = t->valid[i] ? spt_rng_range(&rng, -INT64_MAX, INT64_MAX) : 0;
            t->tags[i] = spt_rng_chance(&rng, 20) ? NULL : random_tag(ctx, &rng);
        }
        /* The same object, saved over the previous one of another size. */
        assert_int_equal(save_doc(ctx, e->st, t, rows, &rev), SP_OK);
        back = loaded(ctx, e->st, &toy_doc, "prop", NULL, 0);
        expect_equal_toys(t, back);
        assert_int_equal(back->n, n);
        expect_canonical(e->st, back, rows, rev);
        toy_free(back);
        toy_free(t);
    }
}

/* ---- fault loops ---- */

typedef struct fault_case {
    spt_alloc alloc;
    sp_ctx *ctx;       /* the operations' (failing allocator) */
    sp_ctx *store_ctx; /* the store's own */
    sp_storage *store;
    const sp_storage *table;
    spt_snapshot *before;
    toy *doc, *ver;
    uint32_t rev;
    toy *loaded;
} fault_case;

static int run_save_doc(void *user)
{
    fault_case *c = user;
    uint32_t rev = c->rev;
    int rc = save_doc(c->ctx, c->table, c->doc, 3, &rev); /* 3 chunks: 2 stale */
    assert_int_equal(rev, rc == SP_OK ? c->rev + 1 : c->rev);
    return rc;
}

static int run_save_ver(void *user)
{
    fault_case *c = user;
    uint32_t v = 99;
    int rc = save_ver(c->ctx, c->table, c->ver, "n", 2, &v);
    assert_int_equal(v, rc == SP_OK ? 3 : 99);
    return rc;
}

static void undo_save(void *user)
{
    fault_case *c = user;
    spt_snapshot_restore(c->before, c->store);
}

static void check_unchanged(void *user)
{
    fault_case *c = user;
    spt_snapshot_assert_store(c->before, c->store);
}

static int run_load_doc(void *user)
{
    fault_case *c = user;
    return load(c->ctx, c->table, &toy_doc, "f", NULL, 0, &c->loaded);
}

static int run_load_ver(void *user)
{
    fault_case *c = user;
    return load(c->ctx, c->table, &toy_ver, "f", "n", 0, &c->loaded);
}

static void undo_load(void *user)
{
    fault_case *c = user;
    toy_free(c->loaded);
    c->loaded = NULL;
}

static int run_lists(void *user)
{
    fault_case *c = user;
    sp_names *l = NULL;
    uint32_t *v = NULL, last;
    size_t count;
    int rc = list(c->ctx, c->table, &toy_ver, "f", 1, &l);
    if (rc == SP_OK)
        assert_int_equal(sp_names_count(l), 2);
    sp_names_free(l);
    if (rc == SP_OK && (rc = versions(c->ctx, c->table, "f", "n", &v, &count, &last)) == SP_OK)
        assert_int_equal(count, 2);
    spi_free(c->ctx, v);
    return rc;
}

static size_t live(void *user)
{
    return ((fault_case *)user)->alloc.live_blocks;
}

/* Toy "f" of 9 rows stored in 5 chunks at revision 1, versions 1 and 2 of "f"/"n" and one
 * of "f"/"o". */
static void fault_setup(fault_case *c)
{
    memset(c, 0, sizeof *c);
    spt_alloc_init(&c->alloc);
    c->ctx = spt_ctx_with(&c->alloc);
    c->store_ctx = spt_new_ctx();
    assert_int_equal(sp_storage_memory_new(&c->store, c->store_ctx), SP_OK);
    c->table = c->store;
    c->doc = toy_make(c->ctx, "f", 9);
    c->ver = toy_make(c->ctx, "f", 5);
    assert_int_equal(save_doc(c->ctx, c->store, c->doc, 2, &c->rev), SP_OK);
    uint32_t v;
    assert_int_equal(save_ver(c->ctx, c->store, c->ver, "n", 2, &v), SP_OK);
    assert_int_equal(save_ver(c->ctx, c->store, c->ver, "n", 2, &v), SP_OK);
    assert_int_equal(save_ver(c->ctx, c->store, c->ver, "o", 5, &v), SP_OK);
    c->before = spt_snapshot_take(c->store, all_ns, 4);
}

static void fault_teardown(fault_case *c)
{
    spt_snapshot_free(c->before);
    toy_free(c->doc);
    toy_free(c->ver);
    sp_storage_free(c->store);
    sp_ctx_free(c->store_ctx);
    assert_int_equal(c->alloc.live_blocks, 1); /* the context */
    sp_ctx_free(c->ctx);
}

static void fault_loops(fault_case *c, const spt_injector *inj, int error)
{
    const int errors[] = { error };
    spt_fault_case cases[] = {
        { "save revised", run_save_doc, undo_save, check_unchanged, live, errors, 1, c },
        { "save versioned", run_save_ver, undo_save, check_unchanged, live, errors, 1, c },
        { "load revised", run_load_doc, undo_load, check_unchanged, live, errors, 1, c },
        { "load versioned", run_load_ver, undo_load, check_unchanged, live, errors, 1, c },
        { "list and versions", run_lists, NULL, check_unchanged, live, errors, 1, c },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (spt_fault_loop(&cases[i], inj) < 1)
            fail_msg("%s: no failure point", cases[i].name);
}

static void test_faults_allocator(void **state)
{
    (void)state;
    fault_case c;
    fault_setup(&c);
    spt_injector inj = spt_alloc_injector(&c.alloc);
    fault_loops(&c, &inj, SP_ENOMEM);
    fault_teardown(&c);
}

static void test_faults_storage(void **state)
{
    (void)state;
    for (int apply = 0; apply < 2; apply++) {
        fault_case c;
        fault_setup(&c);
        spt_failing_storage f;
        spt_failing_storage_init(&f, c.store);
        f.apply_then_fail = apply != 0;
        c.table = &f.table;
        spt_injector inj = spt_failing_storage_injector(&f);
        fault_loops(&c, &inj, SP_ESTORAGE);
        fault_teardown(&c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_revised, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_versioned, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_list, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_stale_chunks, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_property, spt_env_setup, spt_env_teardown),
        cmocka_unit_test(test_faults_allocator),
        cmocka_unit_test(test_faults_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
