/*
 * Stored objects (stored.h): save, load, list and versions of objects kept as a head
 * record and chunk records, over the storage layer (src/storage/store.h). Nothing here
 * knows what an object holds: the type's encoders and reader do.
 */
#include <stdio.h>
#include <string.h>

#include "rdoc.h"

/* A chunk takes at most half the record limits; a head's other members need far less. */
#define CHUNK_VALUES ((uint64_t)SPI_REC_MAX_NODES / 2)
#define CHUNK_BYTES ((uint64_t)SPI_REC_MAX_BYTES / 2)
/* Room for an object's description in messages. */
#define DESC_CAP 400

/* ---- chunking ---- */

spi_chunking spi_chunking_make(uint32_t want, uint64_t values, uint64_t bytes, uint64_t items)
{
    uint64_t c = want != 0 ? want : SPI_STORED_CHUNK_ROWS;
    if (values > 0 && c * values > CHUNK_VALUES)
        c = CHUNK_VALUES / values;
    if (bytes > 0 && c * bytes > CHUNK_BYTES)
        c = CHUNK_BYTES / bytes;
    if (c == 0)
        c = 1;
    if (items == 0)
        items = 1;
    spi_chunking k = { (uint32_t)c, (uint32_t)((items + c - 1) / c) };
    return k;
}

uint32_t spi_chunking_items(const spi_chunking *c, uint32_t k, uint64_t items)
{
    uint64_t first = (uint64_t)k * c->nodes;
    if (first >= items)
        return 0;
    return (uint32_t)(items - first < c->nodes ? items - first : c->nodes);
}

/* ---- types, keys, descriptions ---- */

/* The type holds together and names[0 .. n) are there. */
static int check_type(sp_ctx *ctx, const spi_stored_type *t, const char *const *names, size_t n)
{
    if (t->nnames == 0 || t->nnames > SPI_STORED_NAMES_MAX ||
        (t->kind != SPI_STORED_REVISED && t->kind != SPI_STORED_VERSIONED) ||
        (t->parent != NULL &&
         (t->parent->kind != SPI_STORED_REVISED || t->parent->nnames > t->nnames)))
        return spi_fail(ctx, SP_EINTERNAL, "stored object %s: the type is not valid", t->what);
    for (size_t i = 0; i < n; i++)
        if (names == NULL || names[i] == NULL)
            return spi_fail(ctx, SP_EINTERNAL, "stored object %s: name %zu is NULL", t->what, i);
    return SP_OK;
}

static bool versioned(const spi_stored_type *t)
{
    return t->kind == SPI_STORED_VERSIONED;
}

/* names[0 .. n) as str components, then u32(version) when `with_version`. */
static int make_key(spi_key *k, sp_ctx *ctx, const char *const *names, size_t n,
                    bool with_version, uint32_t version)
{
    spi_key_init(k, ctx);
    for (size_t i = 0; i < n; i++)
        (void)spi_key_str(k, names[i], strlen(names[i]));
    if (with_version)
        (void)spi_key_u32(k, version);
    return k->status; /* a key's first error sticks */
}

/* The object's description in messages: `target plan "P"`, `target set of plan "P",
 * scenario "base", version 2` (no version when 0). Returns buf. */
static const char *describe(char *buf, size_t cap, const spi_stored_type *t,
                            const char *const *names, size_t nnames, uint32_t version)
{
    if (cap == 0)
        return buf;
    int w = snprintf(buf, cap, "%s", t->what);
    size_t o = w > 0 ? (size_t)w : 0;
    for (size_t i = 0; i < nnames && o < cap; i++) {
        char q[SPI_QUOTE_CAP];
        const char *label = t->labels != NULL ? t->labels[i] : NULL;
        w = snprintf(buf + o, cap - o, "%s %s%s%s", i > 0 ? "," : "", label ? label : "",
                     label ? " " : "", spi_quote(q, names[i], strlen(names[i])));
        o += w > 0 ? (size_t)w : 0;
    }
    if (version != 0 && o < cap)
        snprintf(buf + o, cap - o, ", version %u", (unsigned)version);
    return buf;
}

/* ---- scans over keys ---- */

/* Append v to the growing array *a of *n entries (room for *cap). */
static int push_u32(sp_ctx *ctx, uint32_t **a, size_t *n, size_t *cap, uint32_t v)
{
    if (*n == *cap) {
        size_t grown_cap = *cap < 16 ? 16 : 2 * *cap;
        uint32_t *grown = spi_realloc_array(ctx, *a, grown_cap, sizeof *grown);
        if (grown == NULL)
            return SP_ENOMEM;
        *a = grown;
        *cap = grown_cap;
    }
    (*a)[(*n)++] = v;
    return SP_OK;
}

/* The u32 that ends a key after its first prefix_len bytes; false when the rest of the
 * key is not exactly one. */
static bool key_tail_u32(sp_ctx *ctx, size_t prefix_len, const uint8_t *key, size_t key_len,
                         uint32_t *v)
{
    spi_key_reader r;
    spi_key_reader_init(&r, ctx, key + prefix_len, key_len - prefix_len);
    return spi_key_read_u32(&r, v) == SP_OK && spi_key_reader_done(&r);
}

/* The chunk number of a chunk key: the head's key (prefix_len bytes), then a u32. */
static int chunk_number(sp_ctx *ctx, const spi_stored_type *t, size_t prefix_len,
                        const uint8_t *key, size_t key_len, uint32_t *k)
{
    if (!key_tail_u32(ctx, prefix_len, key, key_len, k))
        return spi_fail(ctx, SP_ECORRUPT,
                        "record %s: a chunk key is not the head's key and a chunk number",
                        t->head_type);
    return SP_OK;
}

/* Whether the key exists: the first key of a prefix scan is the prefix itself if any. */
typedef struct exists_job {
    size_t len;
    bool found;
} exists_job;

static int visit_exists(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    (void)key;
    (void)value;
    (void)value_len;
    exists_job *j = arg;
    j->found = key_len == j->len;
    return SP_SCAN_STOP;
}

static int key_exists(spi_store *s, const char *ns, const spi_key *k, bool *found)
{
    exists_job j = { k->len, false };
    int rc = spi_store_scan_prefix(s, ns, k->data, k->len, visit_exists, &j);
    *found = j.found;
    return rc;
}

/* The versions under a prefix of names. */
typedef struct version_job {
    sp_ctx *ctx;
    const spi_stored_type *t;
    size_t prefix_len;
    uint32_t last;
    bool collect;
    uint32_t *v;
    size_t n, cap;
} version_job;

static int visit_version(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len)
{
    (void)value;
    (void)value_len;
    version_job *j = arg;
    uint32_t v;
    if (!key_tail_u32(j->ctx, j->prefix_len, key, key_len, &v))
        return spi_fail(j->ctx, SP_ECORRUPT, "%s: a key of namespace %s is not %zu names and a "
                                             "version",
                        j->t->what, j->t->head_type, j->t->nnames);
    j->last = v;
    if (!j->collect) {
        j->n++;
        return 0;
    }
    return push_u32(j->ctx, &j->v, &j->n, &j->cap, v);
}

static int scan_versions(spi_store *s, const spi_stored_type *t, const char *const *names,
                         version_job *j)
{
    spi_key k;
    int rc = make_key(&k, s->ctx, names, t->nnames, false, 0);
    if (rc != SP_OK)
        return rc;
    j->ctx = s->ctx;
    j->t = t;
    j->prefix_len = k.len;
    rc = spi_store_scan_prefix(s, t->head_type, k.data, k.len, visit_version, j);
    if (rc != SP_OK) {
        spi_free(s->ctx, j->v);
        j->v = NULL;
    }
    return rc;
}

int spi_stored_versions(spi_store *s, const spi_stored_type *t, const char *const *names,
                        uint32_t **versions, size_t *count, uint32_t *last)
{
    int rc = check_type(s->ctx, t, names, t->nnames);
    if (rc == SP_OK && !versioned(t))
        rc = spi_fail(s->ctx, SP_EINTERNAL, "stored object %s has no versions", t->what);
    version_job j;
    memset(&j, 0, sizeof j);
    j.collect = versions != NULL;
    if (rc != SP_OK || (rc = scan_versions(s, t, names, &j)) != SP_OK)
        return rc;
    if (versions != NULL)
        *versions = j.v;
    *count = j.n;
    *last = j.last;
    return SP_OK;
}

/* ---- saving ---- */

/* Chunk numbers from a scan, to remove once it is over (no writes during a scan). */
typedef struct stale_job {
    sp_ctx *ctx;
    const spi_stored_type *t;
    size_t prefix_len;
    uint32_t *k;
    size_t n, cap;
} stale_job;

static int visit_stale(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    (void)value;
    (void)value_len;
    stale_job *j = arg;
    uint32_t k;
    int rc = chunk_number(j->ctx, j->t, j->prefix_len, key, key_len, &k);
    return rc != SP_OK ? rc : push_u32(j->ctx, &j->k, &j->n, &j->cap, k);
}

/* The envelope around an encoder's members: the record opened as `type`, format version
 * `v`; then closed and handed over. */
static void begin_record(spi_writer *w, sp_ctx *ctx, const char *type, uint32_t v)
{
    spi_writer_init(w, ctx);
    spi_record_begin(w, type, v);
}

static int finish_record(spi_writer *w, uint8_t **out, size_t *len)
{
    spi_record_end(w);
    return spi_writer_finish(w, out, len);
}

int spi_stored_encode_head(sp_ctx *ctx, const spi_stored_type *t, const void *obj,
                           uint32_t stamp, uint8_t **out, size_t *len)
{
    spi_writer w;
    begin_record(&w, ctx, t->head_type, t->head_v);
    t->encode_head(obj, stamp, &w);
    return finish_record(&w, out, len);
}

int spi_stored_encode_chunk(sp_ctx *ctx, const spi_stored_type *t, const void *obj,
                            uint32_t stamp, uint32_t k, uint8_t **out, size_t *len)
{
    spi_writer w;
    begin_record(&w, ctx, t->chunk_type, t->chunk_v);
    t->encode_chunk(obj, stamp, k, &w);
    return finish_record(&w, out, len);
}

/* Put chunks 0 .. count - 1 of the object under `key` (its head's key; used as scratch
 * and restored), encoded one at a time, then remove the chunks an earlier revision had
 * beyond them. */
static int put_chunks(spi_store *tx, const spi_stored_type *t, spi_key *key, const void *obj,
                      uint32_t stamp, uint32_t count)
{
    const size_t prefix_len = key->len;
    const char *ns = t->chunk_type;
    int rc = SP_OK;
    for (uint32_t k = 0; k < count && rc == SP_OK; k++) {
        uint8_t *bytes;
        size_t len;
        key->len = prefix_len;
        if ((rc = spi_key_u32(key, k)) != SP_OK ||
            (rc = spi_stored_encode_chunk(tx->ctx, t, obj, stamp, k, &bytes, &len)) != SP_OK)
            break;
        rc = spi_store_put(tx, ns, key->data, key->len, bytes, len);
        spi_free(tx->ctx, bytes);
    }
    uint8_t end[SPI_KEY_MAX];
    size_t end_len = 0;
    key->len = prefix_len;
    if (rc != SP_OK || (rc = spi_key_u32(key, count)) != SP_OK ||
        !spi_key_prefix_end(key->data, prefix_len, end, &end_len)) {
        key->len = prefix_len;
        return rc;
    }
    stale_job j = { tx->ctx, t, prefix_len, NULL, 0, 0 };
    rc = spi_store_scan(tx, ns, key->data, key->len, end, end_len, visit_stale, &j);
    key->len = prefix_len;
    for (size_t i = 0; i < j.n && rc == SP_OK; i++) {
        if ((rc = spi_key_u32(key, j.k[i])) == SP_OK)
            rc = spi_store_remove(tx, ns, key->data, key->len);
        key->len = prefix_len;
    }
    spi_free(tx->ctx, j.k);
    return rc;
}

static int check_parent(spi_store *tx, const spi_stored_type *t, const char *const *names)
{
    const spi_stored_type *p = t->parent;
    if (p == NULL)
        return SP_OK;
    spi_key k;
    bool found;
    int rc = make_key(&k, tx->ctx, names, p->nnames, false, 0);
    if (rc != SP_OK || (rc = key_exists(tx, p->head_type, &k, &found)) != SP_OK || found)
        return rc;
    char d[DESC_CAP], dp[DESC_CAP];
    return spi_fail(tx->ctx, SP_ENOTFOUND, "%s: %s is not in the store (save it first)",
                    describe(d, sizeof d, t, names, t->nnames, 0),
                    describe(dp, sizeof dp, p, names, p->nnames, 0));
}

/* The revision in a stored head of a revised type; *found false when there is none. */
static int stored_revision(spi_store *tx, const spi_stored_type *t, const spi_key *k,
                           uint32_t *revision, bool *found)
{
    uint8_t *bytes;
    size_t len;
    int rc = spi_store_get(tx, t->head_type, k->data, k->len, &bytes, &len);
    *found = rc != SP_ENOTFOUND;
    if (rc != SP_OK)
        return *found ? rc : SP_OK;
    spi_rdoc *doc;
    if ((rc = spi_stored_open_head(&doc, tx->ctx, t, bytes, len)) == SP_OK) {
        rc = spi_rec_u32(doc, spi_rdoc_root(doc), "revision", 0, 0, UINT32_MAX, revision);
        spi_rdoc_free(doc);
    }
    spi_free(tx->ctx, bytes);
    return rc;
}

/* The key a save writes, and the revision or version it stamps. */
static int save_target(spi_store *tx, const spi_stored_type *t, const char *const *names,
                       uint32_t held, spi_key *k, uint32_t *stamp)
{
    sp_ctx *ctx = tx->ctx;
    char d[DESC_CAP];
    int rc;
    if (!versioned(t)) {
        uint32_t stored = 0;
        bool found;
        if ((rc = make_key(k, ctx, names, t->nnames, false, 0)) != SP_OK ||
            (rc = stored_revision(tx, t, k, &stored, &found)) != SP_OK)
            return rc;
        describe(d, sizeof d, t, names, t->nnames, 0);
        if (!found && held != 0)
            return spi_fail(ctx, SP_ECONFLICT,
                            "%s: the store holds no revision, this copy is revision %u", d,
                            (unsigned)held);
        if (stored != held)
            return spi_fail(ctx, SP_ECONFLICT,
                            "%s: the store holds revision %u, this copy is revision %u (load "
                            "the %s again before saving)",
                            d, (unsigned)stored, (unsigned)held, t->what);
        if (held == UINT32_MAX)
            return spi_fail(ctx, SP_EOVERFLOW, "%s: revision %u is the last", d, (unsigned)held);
        *stamp = held + 1;
        return SP_OK;
    }
    version_job j;
    memset(&j, 0, sizeof j);
    if ((rc = scan_versions(tx, t, names, &j)) != SP_OK)
        return rc;
    if (j.n > 0 && j.last == UINT32_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, "%s: version %u is the last",
                        describe(d, sizeof d, t, names, t->nnames, 0),
                        (unsigned)j.last);
    *stamp = j.last + 1;
    bool found;
    if ((rc = make_key(k, ctx, names, t->nnames, true, *stamp)) != SP_OK ||
        (rc = key_exists(tx, t->head_type, k, &found)) != SP_OK)
        return rc;
    if (found)
        return spi_fail(ctx, SP_ECONFLICT, "%s is already stored",
                        describe(d, sizeof d, t, names, t->nnames, *stamp));
    return SP_OK;
}

int spi_stored_save(spi_store *tx, const spi_stored_type *t, const char *const *names,
                    const void *obj, uint32_t nchunks, uint32_t *number)
{
    spi_key k;
    uint32_t stamp = 0;
    uint8_t *bytes;
    size_t len;
    int rc = check_type(tx->ctx, t, names, t->nnames);
    if (rc != SP_OK || (rc = check_parent(tx, t, names)) != SP_OK ||
        (rc = save_target(tx, t, names, *number, &k, &stamp)) != SP_OK ||
        (rc = spi_stored_encode_head(tx->ctx, t, obj, stamp, &bytes, &len)) != SP_OK)
        return rc;
    rc = spi_store_put(tx, t->head_type, k.data, k.len, bytes, len);
    spi_free(tx->ctx, bytes);
    if (rc == SP_OK)
        rc = put_chunks(tx, t, &k, obj, stamp, nchunks);
    if (rc == SP_OK)
        *number = stamp;
    return rc;
}

int spi_stored_remove(spi_store *tx, const spi_stored_type *t, const char *const *names)
{
    spi_key k;
    int rc = check_type(tx->ctx, t, names, t->nnames);
    if (rc == SP_OK && versioned(t))
        rc = spi_fail(tx->ctx, SP_EINTERNAL, "stored object %s: a version is never removed",
                      t->what);
    if (rc != SP_OK || (rc = make_key(&k, tx->ctx, names, t->nnames, false, 0)) != SP_OK ||
        (rc = spi_store_remove(tx, t->head_type, k.data, k.len)) != SP_OK)
        return rc;
    return put_chunks(tx, t, &k, NULL, 0, 0); /* no chunks kept: every one removed */
}

/* ---- loading ---- */

/* How many chunk records 0, 1, 2, ... lead the object's chunks: counted before the head
 * is decoded. Only keys are looked at. */
typedef struct present_job {
    sp_ctx *ctx;
    const spi_stored_type *t;
    size_t prefix_len;
    uint32_t count;
} present_job;

static int visit_present(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len)
{
    (void)value;
    (void)value_len;
    present_job *j = arg;
    uint32_t k;
    int rc = chunk_number(j->ctx, j->t, j->prefix_len, key, key_len, &k);
    if (rc != SP_OK)
        return rc;
    if (k != j->count)
        return SP_SCAN_STOP;
    j->count++;
    return 0;
}

/* Every chunk, in order, each handed to the reader as it is read. */
typedef struct chunk_job {
    sp_ctx *ctx;
    const spi_stored_type *t;
    size_t prefix_len;
    uint32_t next, count;
    void *in;
} chunk_job;

static int missing(sp_ctx *ctx, const spi_stored_type *t, uint32_t k, uint32_t count)
{
    return spi_fail(ctx, SP_ECORRUPT, "record %s: chunk %u of %u is missing", t->head_type,
                    (unsigned)k, (unsigned)count);
}

static int visit_chunk(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    chunk_job *j = arg;
    uint32_t k;
    int rc = chunk_number(j->ctx, j->t, j->prefix_len, key, key_len, &k);
    if (rc != SP_OK)
        return rc;
    if (k != j->next || k >= j->count)
        return j->next < j->count
                   ? missing(j->ctx, j->t, j->next, j->count)
                   : spi_fail(j->ctx, SP_ECORRUPT,
                              "record %s: chunk %u is beyond the %u chunks of the head",
                              j->t->head_type, (unsigned)k, (unsigned)j->count);
    j->next++;
    return j->t->reader_chunk(j->in, k, value, value_len);
}

/* The head's bytes, and the chunks present, of an object that exists. */
static int read_object(spi_store *s, const spi_stored_type *t, const spi_key *k,
                       const uint8_t *head, size_t len, void **out)
{
    sp_ctx *ctx = s->ctx;
    present_job p = { ctx, t, k->len, 0 };
    int rc = spi_store_scan_prefix(s, t->chunk_type, k->data, k->len, visit_present, &p);
    void *in = NULL;
    uint32_t count = 0;
    if (rc != SP_OK || (rc = t->reader_new(&in, ctx, head, len, p.count, &count)) != SP_OK)
        return rc;
    if (count > p.count) {
        rc = missing(ctx, t, p.count, count);
    } else {
        chunk_job j = { ctx, t, k->len, 0, count, in };
        rc = spi_store_scan_prefix(s, t->chunk_type, k->data, k->len, visit_chunk, &j);
        if (rc == SP_OK && j.next < count)
            rc = missing(ctx, t, j.next, count);
    }
    if (rc == SP_OK)
        rc = t->reader_finish(in, out);
    t->reader_free(in);
    return rc;
}

int spi_stored_load(spi_store *s, const spi_stored_type *t, const char *const *names,
                    uint32_t version, void **out)
{
    sp_ctx *ctx = s->ctx;
    char d[DESC_CAP];
    int rc = check_type(ctx, t, names, t->nnames);
    if (rc != SP_OK)
        return rc;
    if (!versioned(t)) {
        version = 0;
    } else if (version == 0) {
        version_job j;
        memset(&j, 0, sizeof j);
        if ((rc = scan_versions(s, t, names, &j)) != SP_OK)
            return rc;
        if (j.n == 0)
            return spi_fail(ctx, SP_ENOTFOUND, "%s: no version is stored",
                            describe(d, sizeof d, t, names, t->nnames, 0));
        version = j.last;
    }
    spi_key k;
    uint8_t *head;
    size_t len;
    if ((rc = make_key(&k, ctx, names, t->nnames, versioned(t), version)) != SP_OK)
        return rc;
    if ((rc = spi_store_get(s, t->head_type, k.data, k.len, &head, &len)) != SP_OK)
        return rc == SP_ENOTFOUND
                   ? spi_fail(ctx, rc, "%s is not in the store",
                              describe(d, sizeof d, t, names, t->nnames, version))
                   : rc;
    rc = read_object(s, t, &k, head, len, out);
    spi_free(ctx, head);
    return rc;
}

/* ---- listing names ---- */

/* The first str component after `skip` bytes of the first key the scan meets. */
typedef struct name_job {
    sp_ctx *ctx;
    size_t skip;
    char name[SPI_KEY_MAX];
    size_t len;
    bool found;
} name_job;

static int visit_name(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                      size_t value_len)
{
    (void)value;
    (void)value_len;
    name_job *j = arg;
    spi_key_reader r;
    spi_key_reader_init(&r, j->ctx, key + j->skip, key_len - j->skip);
    int rc = spi_key_read_str(&r, j->name, sizeof j->name, &j->len);
    if (rc != SP_OK)
        return rc;
    j->found = true;
    return SP_SCAN_STOP;
}

int spi_stored_list(sp_names **out, spi_store *s, const spi_stored_type *t,
                    const char *const *names, size_t depth)
{
    sp_ctx *ctx = s->ctx;
    int rc = check_type(ctx, t, names, depth);
    if (rc == SP_OK && depth >= t->nnames)
        rc = spi_fail(ctx, SP_EINTERNAL, "stored object %s: no names at depth %zu", t->what,
                      depth);
    spi_key prefix;
    sp_names *l = NULL;
    if (rc != SP_OK || (rc = make_key(&prefix, ctx, names, depth, false, 0)) != SP_OK ||
        (rc = spi_names_new(&l, ctx)) != SP_OK)
        return rc;
    uint8_t to[SPI_KEY_MAX], from[SPI_KEY_MAX];
    size_t to_len = 0, from_len = prefix.len;
    bool bounded = prefix.len > 0 && spi_key_prefix_end(prefix.data, prefix.len, to, &to_len);
    memcpy(from, prefix.data, prefix.len);
    for (;;) {
        name_job j;
        j.ctx = ctx;
        j.skip = prefix.len;
        j.len = 0;
        j.found = false;
        rc = spi_store_scan(s, t->head_type, from_len > 0 ? from : NULL, from_len,
                            bounded ? to : NULL, to_len, visit_name, &j);
        if (rc != SP_OK || !j.found || (rc = spi_names_add(l, j.name, j.len)) != SP_OK)
            break;
        /* Next: past every key that starts with prefix + this name. */
        spi_key k;
        spi_key_init(&k, ctx);
        if ((rc = spi_key_bytes(&k, prefix.data, prefix.len)) != SP_OK ||
            (rc = spi_key_str(&k, j.name, j.len)) != SP_OK)
            break;
        if (!spi_key_prefix_end(k.data, k.len, from, &from_len))
            break;
    }
    if (rc != SP_OK) {
        sp_names_free(l);
        return rc;
    }
    *out = l;
    return SP_OK;
}

/* ---- codec helpers ---- */

void spi_stored_write_chunking(spi_writer *w, uint32_t nnodes, const spi_chunking *c)
{
    spi_writer_member_int(w, "nnodes", nnodes);
    spi_writer_member_int(w, "chunk_nodes", c->nodes);
    spi_writer_member_int(w, "chunks", c->count);
}

void spi_stored_write_chunk_at(spi_writer *w, const spi_chunking *c, uint32_t k)
{
    spi_writer_member_int(w, "chunk", k);
    spi_writer_member_int(w, "first", (int64_t)k * c->nodes);
}

/* Parse a record named `name` and check its envelope. */
static int open_record(spi_rdoc **doc, sp_ctx *ctx, const char *name, const char *type,
                       uint32_t known, const uint8_t *data, size_t len)
{
    spi_rdoc *d;
    int rc = spi_rdoc_parse(&d, ctx, name, data, len, SPI_RDOC_STORED, NULL);
    if (rc != SP_OK)
        return rc;
    uint32_t v;
    if ((rc = spi_record_open(d, type, known, &v)) != SP_OK) {
        spi_rdoc_free(d);
        return rc;
    }
    *doc = d;
    return SP_OK;
}

int spi_stored_open_head(spi_rdoc **doc, sp_ctx *ctx, const spi_stored_type *t,
                         const uint8_t *data, size_t len)
{
    char name[RDOC_NAME_CAP];
    snprintf(name, sizeof name, "record %s", t->head_type);
    return open_record(doc, ctx, name, t->head_type, t->head_v, data, len);
}

int spi_stored_open_chunk(spi_rdoc **doc, sp_ctx *ctx, const spi_stored_type *t,
                          const spi_chunking *c, uint32_t k, const uint8_t *data, size_t len)
{
    char name[RDOC_NAME_CAP];
    snprintf(name, sizeof name, "record %s %u", t->chunk_type, (unsigned)k);
    spi_rdoc *d;
    int rc = open_record(&d, ctx, name, t->chunk_type, t->chunk_v, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(d);
    uint32_t stored, first;
    const uint64_t want = (uint64_t)k * c->nodes;
    if ((rc = spi_rec_u32(d, root, "chunk", 0, 0, UINT32_MAX, &stored)) == SP_OK &&
        stored != k)
        rc = spi_rec_fail(d, spi_rnode_member(d, root, "chunk"),
                          "chunk %u stored under the key of chunk %u", (unsigned)stored,
                          (unsigned)k);
    if (rc == SP_OK && (rc = spi_rec_u32(d, root, "first", 0, 0, UINT32_MAX, &first)) == SP_OK &&
        first != want)
        rc = spi_rec_fail(d, spi_rnode_member(d, root, "first"),
                          "first node %u where chunk %u starts at node %llu", (unsigned)first,
                          (unsigned)k, (unsigned long long)want);
    if (rc != SP_OK) {
        spi_rdoc_free(d);
        return rc;
    }
    *doc = d;
    return SP_OK;
}

int spi_stored_read_chunking(const spi_rdoc *doc, const spi_rnode *root, uint64_t extra,
                             uint32_t present, uint32_t *nnodes, spi_chunking *c)
{
    int rc;
    if ((rc = spi_rec_u32(doc, root, "nnodes", 0, 1, UINT32_MAX - 3, nnodes)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "chunk_nodes", 0, 1, SPI_STORED_CHUNK_ROWS, &c->nodes)) !=
            SP_OK ||
        (rc = spi_rec_u32(doc, root, "chunks", 0, 1, UINT32_MAX, &c->count)) != SP_OK)
        return rc;
    const uint64_t items = *nnodes > extra ? *nnodes : extra;
    const uint64_t need = (items + c->nodes - 1) / c->nodes;
    if (c->count != need)
        return spi_rec_fail(doc, spi_rnode_member(doc, root, "chunks"),
                            "%u chunks where %llu node indices in chunks of %u make %llu",
                            (unsigned)c->count, (unsigned long long)items, (unsigned)c->nodes,
                            (unsigned long long)need);
    if (c->count > present)
        return spi_fail(doc->ctx, SP_ECORRUPT, "%s: chunk %u of %u is missing", doc->name,
                        (unsigned)present, (unsigned)c->count);
    return SP_OK;
}

int spi_stored_check_owner_str(const spi_rdoc *doc, const char *key, const char *what,
                               const char *want)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, root, key, 0, &s, &len);
    if (rc != SP_OK || (len == strlen(want) && memcmp(s, want, len) == 0))
        return rc;
    char q[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP];
    return spi_rec_fail(doc, spi_rnode_member(doc, root, key), "a chunk of %s %s under %s %s",
                        what, spi_quote(q, s, len), what, spi_quote(q2, want, strlen(want)));
}

int spi_stored_check_owner_u32(const spi_rdoc *doc, const char *key, uint32_t want)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    uint32_t v;
    int rc = spi_rec_u32(doc, root, key, 0, 0, UINT32_MAX, &v);
    if (rc != SP_OK || v == want)
        return rc;
    return spi_rec_fail(doc, spi_rnode_member(doc, root, key), "a chunk of %s %u under %s %u",
                        key, (unsigned)v, key, (unsigned)want);
}
