/*
 * Store-backed operations of plans and target sets: each write is one transaction through
 * the storage layer (spi_store_write), each read goes through it too. A plan or set is a
 * head record and its chunk records (plan.h), each record type its own namespace:
 *   target.plan        str(plan id)
 *   target.plan.chunk  str(plan id) u32(chunk)
 *   target.set         str(plan id) str(scenario) u32(version)
 *   target.set.chunk   str(plan id) str(scenario) u32(version) u32(chunk)
 * (src/storage/store.h's encoding, so that a plan's sets, a scenario's versions and an
 * object's chunks are contiguous and in order; listings scan the heads only.) Nothing here
 * computes: records come from plan_codec.c.
 */
#include <string.h>

#include "../storage/store.h"
#include "plan.h"

#define NS_PLAN SPI_PLAN_TYPE
#define NS_PLAN_CHUNK SPI_PLAN_CHUNK_TYPE
#define NS_SET SPI_SET_TYPE
#define NS_SET_CHUNK SPI_SET_CHUNK_TYPE

static int plan_key(spi_key *k, sp_ctx *ctx, const char *plan_id)
{
    spi_key_init(k, ctx);
    return spi_key_str(k, plan_id, strlen(plan_id));
}

static int set_prefix(spi_key *k, sp_ctx *ctx, const char *plan_id, const char *scenario)
{
    int rc = plan_key(k, ctx, plan_id);
    return scenario != NULL ? spi_key_str(k, scenario, strlen(scenario)) : rc;
}

static int set_key(spi_key *k, sp_ctx *ctx, const char *plan_id, const char *scenario,
                   uint32_t version)
{
    int rc = set_prefix(k, ctx, plan_id, scenario);
    return rc == SP_OK ? spi_key_u32(k, version) : rc;
}

/* ---- chunks ---- */

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
static int chunk_number(sp_ctx *ctx, const char *type, size_t prefix_len, const uint8_t *key,
                        size_t key_len, uint32_t *k)
{
    if (!key_tail_u32(ctx, prefix_len, key, key_len, k))
        return spi_fail(ctx, SP_ECORRUPT, "record %s: a chunk key is not the head's key and a "
                                          "chunk number",
                        type);
    return SP_OK;
}

/* Chunk numbers from a scan, to remove once it is over (no writes during a scan). */
typedef struct stale_job {
    sp_ctx *ctx;
    const char *type;
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
    int rc = chunk_number(j->ctx, j->type, j->prefix_len, key, key_len, &k);
    if (rc != SP_OK)
        return rc;
    if (j->n == j->cap) {
        size_t cap = j->cap < 16 ? 16 : 2 * j->cap;
        uint32_t *grown = spi_realloc_array(j->ctx, j->k, cap, sizeof *grown);
        if (grown == NULL)
            return SP_ENOMEM;
        j->k = grown;
        j->cap = cap;
    }
    j->k[j->n++] = k;
    return 0;
}

/* Put chunks 0 .. count - 1 of an object under `key` (its head's key; used as scratch and
 * restored), encoded one at a time, then remove the chunks a previous revision had beyond
 * them. */
static int put_chunks(spi_store *tx, const char *ns, const char *type, spi_key *key,
                      uint32_t count, spi_chunk_encode_fn encode, const void *o)
{
    const size_t prefix_len = key->len;
    int rc = SP_OK;
    for (uint32_t k = 0; k < count && rc == SP_OK; k++) {
        uint8_t *bytes;
        size_t len;
        key->len = prefix_len;
        if ((rc = spi_key_u32(key, k)) != SP_OK || (rc = encode(o, k, &bytes, &len)) != SP_OK)
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
    stale_job j = { tx->ctx, type, prefix_len, NULL, 0, 0 };
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

/* How many chunk records 0, 1, 2, ... lead the object's chunks in the store: read before
 * the head is decoded, so that no head can make the reader allocate for chunks that do
 * not exist. Only keys are looked at. */
typedef struct present_job {
    sp_ctx *ctx;
    const char *type;
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
    int rc = chunk_number(j->ctx, j->type, j->prefix_len, key, key_len, &k);
    if (rc != SP_OK)
        return rc;
    if (k != j->count)
        return SP_SCAN_STOP;
    j->count++;
    return 0;
}

static int count_chunks(spi_store *s, const char *ns, const char *type, const spi_key *key,
                        uint32_t *present)
{
    present_job j = { s->ctx, type, key->len, 0 };
    int rc = spi_store_scan_prefix(s, ns, key->data, key->len, visit_present, &j);
    *present = j.count;
    return rc;
}

/* Every chunk of an object, in order, each handed to `decode` as it is read. */
typedef struct chunk_job {
    sp_ctx *ctx;
    const char *type;
    size_t prefix_len;
    uint32_t next, count;
    spi_chunk_decode_fn decode;
    void *in;
} chunk_job;

static int visit_chunk(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    chunk_job *j = arg;
    uint32_t k;
    int rc = chunk_number(j->ctx, j->type, j->prefix_len, key, key_len, &k);
    if (rc != SP_OK)
        return rc;
    if (k != j->next || k >= j->count)
        return j->next < j->count
                   ? spi_fail(j->ctx, SP_ECORRUPT, "record %s: chunk %u of %u is missing",
                              j->type, (unsigned)j->next, (unsigned)j->count)
                   : spi_fail(j->ctx, SP_ECORRUPT,
                              "record %s: chunk %u is beyond the %u chunks of the head",
                              j->type, (unsigned)k, (unsigned)j->count);
    j->next++;
    return j->decode(j->in, k, value, value_len);
}

static int read_chunks(spi_store *s, const char *ns, const char *type, const spi_key *key,
                       uint32_t count, spi_chunk_decode_fn decode, void *in)
{
    chunk_job j = { s->ctx, type, key->len, 0, count, decode, in };
    int rc = spi_store_scan_prefix(s, ns, key->data, key->len, visit_chunk, &j);
    if (rc == SP_OK && j.next < count)
        rc = spi_fail(s->ctx, SP_ECORRUPT, "record %s: chunk %u of %u is missing", type,
                      (unsigned)j.next, (unsigned)count);
    return rc;
}

/* ---- plans ---- */

typedef struct plan_save_job {
    sp_target_plan *plan;
    uint32_t revision; /* written */
} plan_save_job;

static int plan_save_tx(spi_store *tx, void *arg)
{
    plan_save_job *j = arg;
    sp_target_plan *plan = j->plan;
    spi_key k;
    int rc = plan_key(&k, tx->ctx, plan->id);
    if (rc != SP_OK)
        return rc;
    uint8_t *old = NULL;
    size_t old_len = 0;
    uint32_t stored = 0;
    rc = spi_store_get(tx, NS_PLAN, k.data, k.len, &old, &old_len);
    if (rc == SP_OK) {
        rc = spi_plan_stored_revision(tx->ctx, old, old_len, &stored);
        spi_free(tx->ctx, old);
        if (rc != SP_OK)
            return rc;
    } else if (rc != SP_ENOTFOUND) {
        return rc;
    }
    if (stored != plan->revision) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(tx->ctx, SP_ECONFLICT,
                        "target plan %s: the store holds revision %u, this copy is revision %u "
                        "(load the plan again before saving)",
                        spi_quote(q, plan->id, strlen(plan->id)), (unsigned)stored,
                        (unsigned)plan->revision);
    }
    if (plan->revision == UINT32_MAX)
        return spi_fail(tx->ctx, SP_EOVERFLOW, "target plan: revision %u is the last",
                        (unsigned)plan->revision);
    spi_plan_out o;
    if ((rc = spi_plan_out_init(&o, plan, plan->revision + 1)) != SP_OK)
        return rc;
    uint8_t *bytes;
    size_t len;
    if ((rc = spi_plan_encode_head(&o, &bytes, &len)) == SP_OK) {
        rc = spi_store_put(tx, NS_PLAN, k.data, k.len, bytes, len);
        spi_free(tx->ctx, bytes);
    }
    if (rc == SP_OK)
        rc = put_chunks(tx, NS_PLAN_CHUNK, NS_PLAN, &k, o.chunks.count, spi_plan_encode_chunk,
                        &o);
    spi_plan_out_free(&o);
    j->revision = plan->revision + 1;
    return rc;
}

int sp_target_plan_save(sp_target_plan *plan, const sp_storage *storage)
{
    if (plan == NULL)
        return SP_EINVAL;
    plan_save_job j = { plan, 0 };
    int rc = spi_store_write(plan->ctx, storage, plan_save_tx, &j);
    if (rc == SP_OK)
        plan->revision = j.revision;
    return rc;
}

int sp_target_plan_load(sp_target_plan **out, sp_ctx *ctx, const sp_storage *storage,
                        const char *plan_id)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: out is NULL");
    int rc = spi_plan_check_name(ctx, "target plan: id", plan_id, SPI_PLAN_ID_MAX);
    spi_store s;
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    spi_key k;
    if ((rc = plan_key(&k, ctx, plan_id)) != SP_OK)
        return rc;
    uint8_t *bytes;
    size_t len;
    if ((rc = spi_store_get(&s, NS_PLAN, k.data, k.len, &bytes, &len)) != SP_OK) {
        char q[SPI_QUOTE_CAP];
        return rc == SP_ENOTFOUND ? spi_fail(ctx, rc, "target plan %s is not in the store",
                                             spi_quote(q, plan_id, strlen(plan_id)))
                                  : rc;
    }
    spi_plan_in *in;
    spi_chunking chunks;
    uint32_t present;
    if ((rc = count_chunks(&s, NS_PLAN_CHUNK, NS_PLAN, &k, &present)) != SP_OK) {
        spi_free(ctx, bytes);
        return rc;
    }
    if ((rc = spi_plan_in_new(&in, ctx, bytes, len, present, &chunks)) != SP_OK)
        return rc;
    rc = read_chunks(&s, NS_PLAN_CHUNK, NS_PLAN, &k, chunks.count, spi_plan_in_chunk, in);
    if (rc == SP_OK)
        rc = spi_plan_in_finish(in, out);
    spi_plan_in_free(in);
    return rc;
}

/* ---- sets ---- */

/* The highest version under a (plan, scenario) prefix. */
typedef struct last_job {
    sp_ctx *ctx;
    size_t prefix_len;
    uint32_t last;
    uint32_t *versions; /* may be NULL */
    size_t cap, count;
} last_job;

static int visit_version(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                         size_t value_len)
{
    (void)value;
    (void)value_len;
    last_job *j = arg;
    uint32_t v;
    if (!key_tail_u32(j->ctx, j->prefix_len, key, key_len, &v))
        return spi_fail(j->ctx, SP_ECORRUPT, "target set: a key of namespace %s is not "
                                             "plan, scenario, version",
                        NS_SET);
    j->last = v;
    if (j->versions != NULL && j->count < j->cap)
        j->versions[j->count] = v;
    j->count++;
    return 0;
}

static int scan_versions(spi_store *s, const char *plan_id, const char *scenario, last_job *j)
{
    spi_key k;
    int rc = set_prefix(&k, s->ctx, plan_id, scenario);
    if (rc != SP_OK)
        return rc;
    j->ctx = s->ctx;
    j->prefix_len = k.len;
    return spi_store_scan_prefix(s, NS_SET, k.data, k.len, visit_version, j);
}

typedef struct set_save_job {
    sp_target_set *set;
    const char *scenario, *note;
    int32_t day;
    uint32_t version;
} set_save_job;

static int set_save_tx(spi_store *tx, void *arg)
{
    set_save_job *j = arg;
    last_job last;
    memset(&last, 0, sizeof last);
    int rc = scan_versions(tx, j->set->plan_id, j->scenario, &last);
    if (rc != SP_OK)
        return rc;
    if (last.last == UINT32_MAX)
        return spi_fail(tx->ctx, SP_EOVERFLOW, "target set: scenario has its last version");
    j->version = last.last + 1;
    spi_key k;
    if ((rc = set_key(&k, tx->ctx, j->set->plan_id, j->scenario, j->version)) != SP_OK)
        return rc;
    uint8_t *bytes;
    size_t len;
    if ((rc = spi_store_get(tx, NS_SET, k.data, k.len, &bytes, &len)) == SP_OK) {
        spi_free(tx->ctx, bytes);
        return spi_fail(tx->ctx, SP_ECONFLICT, "target set: version %u is already stored",
                        (unsigned)j->version);
    }
    if (rc != SP_ENOTFOUND)
        return rc;
    spi_set_out o;
    spi_set_out_init(&o, j->set, j->scenario, j->version, j->note, j->day);
    if ((rc = spi_set_encode_head(&o, &bytes, &len)) != SP_OK)
        return rc;
    rc = spi_store_put(tx, NS_SET, k.data, k.len, bytes, len);
    spi_free(tx->ctx, bytes);
    return rc == SP_OK ? put_chunks(tx, NS_SET_CHUNK, NS_SET, &k, o.chunks.count,
                                    spi_set_encode_chunk, &o)
                       : rc;
}

int sp_target_set_save(sp_target_set *set, const sp_storage *storage, const char *scenario,
                       const char *note, int32_t day, uint32_t *version)
{
    if (set == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = set->ctx;
    int rc = spi_plan_check_name(ctx, "target set: scenario", scenario, SPI_SCENARIO_MAX);
    if (rc != SP_OK)
        return rc;
    if (note == NULL)
        note = "";
    size_t bad;
    const char *why;
    if (!spi_utf8_check((const uint8_t *)note, strlen(note), &bad, &why))
        return spi_fail(ctx, SP_EINVAL, "target set: note is not valid UTF-8: %s at byte %zu",
                        why, bad);
    if (set->scenario != NULL) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(ctx, SP_ECONFLICT, "target set: already saved as %s version %u (a saved "
                                           "set is immutable)",
                        spi_quote(q, set->scenario, strlen(set->scenario)),
                        (unsigned)set->set_version);
    }
    char *sc = NULL, *nt = NULL;
    if ((rc = spi_set_strdup(ctx, &sc, scenario, strlen(scenario))) != SP_OK ||
        (rc = spi_set_strdup(ctx, &nt, note, strlen(note))) != SP_OK) {
        spi_free(ctx, sc);
        return rc;
    }
    set_save_job j = { set, scenario, note, day, 0 };
    rc = spi_store_write(ctx, storage, set_save_tx, &j);
    if (rc != SP_OK) {
        spi_free(ctx, sc);
        spi_free(ctx, nt);
        return rc;
    }
    set->scenario = sc;
    set->note = nt;
    set->set_version = j.version;
    set->saved_day = day;
    if (version != NULL)
        *version = j.version;
    return SP_OK;
}

static int check_ids(sp_ctx *ctx, const char *plan_id, const char *scenario)
{
    int rc = spi_plan_check_name(ctx, "target set: plan id", plan_id, SPI_PLAN_ID_MAX);
    if (rc == SP_OK && scenario != NULL)
        rc = spi_plan_check_name(ctx, "target set: scenario", scenario, SPI_SCENARIO_MAX);
    return rc;
}

int sp_target_set_load(sp_target_set **out, sp_ctx *ctx, const sp_storage *storage,
                       const char *plan_id, const char *scenario, uint32_t version)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target set: out is NULL");
    if (scenario == NULL)
        return spi_fail(ctx, SP_EINVAL, "target set: scenario is NULL");
    spi_store s;
    int rc = check_ids(ctx, plan_id, scenario);
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    char q[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP];
    if (version == 0) {
        last_job last;
        memset(&last, 0, sizeof last);
        if ((rc = scan_versions(&s, plan_id, scenario, &last)) != SP_OK)
            return rc;
        if (last.count == 0)
            return spi_fail(ctx, SP_ENOTFOUND, "target set: plan %s has no saved scenario %s",
                            spi_quote(q, plan_id, strlen(plan_id)),
                            spi_quote(q2, scenario, strlen(scenario)));
        version = last.last;
    }
    spi_key k;
    if ((rc = set_key(&k, ctx, plan_id, scenario, version)) != SP_OK)
        return rc;
    uint8_t *bytes;
    size_t len;
    if ((rc = spi_store_get(&s, NS_SET, k.data, k.len, &bytes, &len)) != SP_OK)
        return rc == SP_ENOTFOUND
                   ? spi_fail(ctx, rc, "target set: plan %s has no version %u of scenario %s",
                              spi_quote(q, plan_id, strlen(plan_id)), (unsigned)version,
                              spi_quote(q2, scenario, strlen(scenario)))
                   : rc;
    spi_set_in *in;
    spi_chunking chunks;
    uint32_t present;
    if ((rc = count_chunks(&s, NS_SET_CHUNK, NS_SET, &k, &present)) == SP_OK)
        rc = spi_set_in_new(&in, ctx, bytes, len, present, &chunks);
    spi_free(ctx, bytes);
    if (rc != SP_OK)
        return rc;
    rc = read_chunks(&s, NS_SET_CHUNK, NS_SET, &k, chunks.count, spi_set_in_chunk, in);
    if (rc == SP_OK)
        rc = spi_set_in_finish(in, out);
    spi_set_in_free(in);
    return rc;
}

int sp_target_set_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                           const char *scenario, uint32_t *versions, size_t cap, size_t *count)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (count == NULL || scenario == NULL || (versions == NULL && cap > 0))
        return spi_fail(ctx, SP_EINVAL, "target set versions: %s is NULL",
                        count == NULL ? "count" : scenario == NULL ? "scenario" : "versions");
    spi_store s;
    int rc = check_ids(ctx, plan_id, scenario);
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    /* Collect into scratch first: the caller's array is written only on success. */
    last_job j;
    memset(&j, 0, sizeof j);
    if (cap > 0 && (j.versions = spi_malloc_array(ctx, cap, sizeof *j.versions)) == NULL)
        return SP_ENOMEM;
    j.cap = cap;
    rc = scan_versions(&s, plan_id, scenario, &j);
    if (rc == SP_OK) {
        *count = j.count;
        if (j.count > cap)
            rc = spi_fail(ctx, SP_EBUFFER, "target set versions: %zu versions, room for %zu",
                          j.count, cap);
        else if (j.count > 0)
            memcpy(versions, j.versions, j.count * sizeof *versions);
    }
    spi_free(ctx, j.versions);
    return rc;
}

/* ---- name lists ---- */

struct sp_target_names {
    sp_ctx *ctx;
    char **names;
    size_t n, cap;
};

size_t sp_target_names_count(const sp_target_names *names)
{
    return names != NULL ? names->n : 0;
}

const char *sp_target_names_at(const sp_target_names *names, size_t k)
{
    return names != NULL && k < names->n ? names->names[k] : NULL;
}

void sp_target_names_free(sp_target_names *names)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < names->n; i++)
        spi_free(names->ctx, names->names[i]);
    spi_free(names->ctx, names->names);
    spi_free(names->ctx, names);
}

/* The first str component after `skip` bytes of each key; the scan stops at the first
 * record, the caller jumps past every key with that component. */
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

static int add_name(sp_target_names *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap < 8 ? 8 : 2 * l->cap;
        char **grown = spi_realloc_array(l->ctx, l->names, cap, sizeof *grown);
        if (grown == NULL)
            return SP_ENOMEM;
        l->names = grown;
        l->cap = cap;
    }
    int rc = spi_set_strdup(l->ctx, &l->names[l->n], s, len);
    l->n += rc == SP_OK;
    return rc;
}

/* Distinct first components under `prefix` (plan ids when empty, scenarios under a plan),
 * one short scan per name: skip-scanning past each name's keys. */
static int list_names(sp_target_names **out, sp_ctx *ctx, const sp_storage *storage,
                      const char *ns, const spi_key *prefix)
{
    spi_store s;
    int rc = spi_store_open(&s, ctx, storage);
    if (rc != SP_OK)
        return rc;
    sp_target_names *l = spi_calloc(ctx, 1, sizeof *l);
    if (l == NULL)
        return SP_ENOMEM;
    l->ctx = ctx;
    uint8_t to[SPI_KEY_MAX], from[SPI_KEY_MAX];
    size_t to_len = 0, from_len = prefix->len;
    bool bounded = prefix->len > 0 && spi_key_prefix_end(prefix->data, prefix->len, to, &to_len);
    memcpy(from, prefix->data, prefix->len);
    for (;;) {
        name_job j;
        memset(&j, 0, sizeof j);
        j.ctx = ctx;
        j.skip = prefix->len;
        rc = spi_store_scan(&s, ns, from_len > 0 ? from : NULL, from_len, bounded ? to : NULL,
                            to_len, visit_name, &j);
        if (rc != SP_OK || !j.found)
            break;
        if ((rc = add_name(l, j.name, j.len)) != SP_OK)
            break;
        /* Next: past every key that starts with prefix + this name. */
        spi_key k;
        spi_key_init(&k, ctx);
        if ((rc = spi_key_bytes(&k, prefix->data, prefix->len)) != SP_OK ||
            (rc = spi_key_str(&k, j.name, j.len)) != SP_OK)
            break;
        if (!spi_key_prefix_end(k.data, k.len, from, &from_len))
            break;
    }
    if (rc != SP_OK) {
        sp_target_names_free(l);
        return rc;
    }
    *out = l;
    return SP_OK;
}

int sp_target_scenarios(sp_target_names **out, sp_ctx *ctx, const sp_storage *storage,
                        const char *plan_id)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target scenarios: out is NULL");
    int rc = check_ids(ctx, plan_id, NULL);
    spi_key k;
    if (rc != SP_OK || (rc = plan_key(&k, ctx, plan_id)) != SP_OK)
        return rc;
    return list_names(out, ctx, storage, NS_SET, &k);
}

int sp_target_plans(sp_target_names **out, sp_ctx *ctx, const sp_storage *storage)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plans: out is NULL");
    spi_key k;
    spi_key_init(&k, ctx);
    return list_names(out, ctx, storage, NS_PLAN, &k);
}
