/*
 * Dictionaries: host string ids <-> dense uint32_t indices.
 *
 * Ids live in an arena of blocks that never move, each id stored as its index (4 bytes),
 * its length (2 bytes, little-endian), its bytes and a NUL; `ids[index]` points at the
 * bytes, so sp_dict_id is one load and the pointers it returns stay valid until
 * sp_dict_free. The lookup table is open addressing with linear probing over 16-byte slots
 * (the full hash and a pointer to the id), at most 3/4 full: a probe compares hashes in
 * the slot's cache line, and a hit costs one more cache line, the id's own, which holds
 * the index too. A table growth moves slots by their stored hash without reading an id.
 *
 * Every batch takes the ids in either form of the API (pointers, or one packed buffer
 * with offsets: spi_ids) through one core per operation. A batch that fails takes out
 * what it inserted, newest first, by linear probing's deletion (later slots of a cluster
 * move back), which is right whatever the table did in between, and frees the arena
 * blocks it made: an error, allocation failure included, leaves the dictionary as it
 * was. Adding reserves the whole batch first; interning grows as it goes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "dict_internal.h"

/* Index, length and NUL around every id in the arena. */
#define ID_OVERHEAD 7u
#define FIRST_SLOTS 16u
#define FIRST_BLOCK 4096u
#define MAX_BLOCK ((size_t)4 << 20)
/* Indices run from 0 to UINT32_MAX - 1: UINT32_MAX is SP_NONE. */
#define COUNT_MAX ((size_t)UINT32_MAX)

__extension__ typedef unsigned __int128 u128;

typedef struct slot {
    uint64_t hash;
    const unsigned char *id; /* NULL: empty */
} slot;

typedef struct block {
    struct block *next;
    size_t cap, used;
    unsigned char data[];
} block;

struct sp_dict {
    sp_ctx *ctx;
    slot *slots;
    size_t mask; /* slot count - 1; the count is a power of two */
    const unsigned char **ids;
    size_t ids_cap;
    size_t count;
    block *blocks; /* the block being filled, then older ones */
    size_t next_block;
};

/* ---- hashing ---- */

static uint64_t load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint64_t load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* The two halves of the 128-bit product folded together: every input bit reaches most
 * output bits in one multiplication. */
static uint64_t fold_mul(uint64_t a, uint64_t b)
{
    u128 r = (u128)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

#define K1 UINT64_C(0x9E3779B97F4A7C15) /* 2^64 / golden ratio */
#define K2 UINT64_C(0xC2B2AE3D27D4EB4F)
#define K3 UINT64_C(0x165667B19E3779F9)

/*
 * 16 bytes per multiplication; the last 1 to 16 bytes are read as two (possibly
 * overlapping) words that together cover every byte, and the length is mixed in, so equal
 * words from texts of different lengths differ. Native byte order: hashes are never
 * stored, so they need not agree across machines.
 */
static uint64_t hash_id(const unsigned char *p, size_t len)
{
    uint64_t h = K1 ^ ((uint64_t)len * K3);
    while (len > 16) {
        h = fold_mul(load64(p) ^ K2, load64(p + 8) ^ h);
        p += 16;
        len -= 16;
    }
    uint64_t a, b;
    if (len >= 8) {
        a = load64(p);
        b = load64(p + len - 8);
    } else if (len >= 4) {
        a = load32(p);
        b = load32(p + len - 4);
    } else {
        a = len > 0 ? (uint64_t)p[0] << 16 | (uint64_t)p[len / 2] << 8 | p[len - 1] : 0;
        b = 0;
    }
    h = fold_mul(a ^ K2, b ^ h ^ K1);
    return fold_mul(h ^ K3, h ^ K2 ^ (h >> 29));
}


/* ---- the dictionary ---- */

static size_t id_len(const unsigned char *id)
{
    return (size_t)id[-2] | (size_t)id[-1] << 8;
}

static uint32_t id_index(const unsigned char *id)
{
    uint32_t index;
    memcpy(&index, id - 6, sizeof index);
    return index;
}

int sp_dict_new(sp_dict **out, sp_ctx *ctx)
{
    if (out == NULL || ctx == NULL)
        return spi_fail(ctx, SP_EINVAL, "dict: %s is NULL", out == NULL ? "out" : "ctx");
    sp_dict *d = spi_malloc(ctx, sizeof *d);
    if (d == NULL)
        return SP_ENOMEM;
    memset(d, 0, sizeof *d);
    d->ctx = ctx;
    /* The arrays exist from the start, so that growing them later never changes the
     * number of blocks a failed call could leave behind. */
    d->slots = spi_calloc(ctx, FIRST_SLOTS, sizeof *d->slots);
    d->ids = spi_malloc_array(ctx, FIRST_SLOTS, sizeof *d->ids);
    d->blocks = spi_malloc(ctx, sizeof(block) + FIRST_BLOCK);
    if (d->blocks != NULL) {
        d->blocks->next = NULL;
        d->blocks->cap = FIRST_BLOCK;
        d->blocks->used = 0;
    }
    if (d->slots == NULL || d->ids == NULL || d->blocks == NULL) {
        sp_dict_free(d);
        return SP_ENOMEM;
    }
    d->mask = FIRST_SLOTS - 1;
    d->ids_cap = FIRST_SLOTS;
    d->next_block = 2 * FIRST_BLOCK;
    *out = d;
    return SP_OK;
}

void sp_dict_free(sp_dict *d)
{
    if (d == NULL)
        return;
    for (block *b = d->blocks, *next; b != NULL; b = next) {
        next = b->next;
        spi_free(d->ctx, b);
    }
    spi_free(d->ctx, d->slots);
    spi_free(d->ctx, d->ids);
    spi_free(d->ctx, d);
}

size_t sp_dict_count(const sp_dict *d)
{
    return d != NULL ? d->count : 0;
}

/* The slot holding id, or the empty slot where it would go. */
static slot *probe(const sp_dict *d, const unsigned char *id, size_t len, uint64_t h)
{
    for (size_t pos = (size_t)h & d->mask;; pos = (pos + 1) & d->mask) {
        slot *s = &d->slots[pos];
        if (s->id == NULL ||
            (s->hash == h && id_len(s->id) == len && memcmp(s->id, id, len) == 0))
            return s;
    }
}

/* Rebuild the table with `cap` slots; on failure the old table stays. */
static int rehash(sp_dict *d, size_t cap)
{
    slot *slots = spi_calloc(d->ctx, cap, sizeof *slots);
    if (slots == NULL)
        return SP_ENOMEM;
    /* Ids are distinct, so each goes to the first empty slot of its probe sequence. */
    for (size_t k = 0; k <= d->mask; k++) {
        const slot *old = &d->slots[k];
        if (old->id == NULL)
            continue;
        size_t pos = (size_t)old->hash & (cap - 1);
        while (slots[pos].id != NULL)
            pos = (pos + 1) & (cap - 1);
        slots[pos] = *old;
    }
    spi_free(d->ctx, d->slots);
    d->slots = slots;
    d->mask = cap - 1;
    return SP_OK;
}

/*
 * Room for n more ids of `bytes` arena bytes in all, in one block. On failure nothing
 * observable changes and no block is added; a block made for a batch that fails later
 * is freed by roll_back.
 */
static int reserve(sp_dict *d, size_t n, size_t bytes)
{
    if (n > COUNT_MAX - d->count)
        return spi_fail(d->ctx, SP_EOVERFLOW,
                        "dict: %zu more ids would exceed the %zu a dictionary holds", n,
                        COUNT_MAX);
    size_t need = d->count + n;
    if (need > d->ids_cap) {
        size_t cap = d->ids_cap * 2 > need ? d->ids_cap * 2 : need;
        const unsigned char **ids = spi_realloc_array(d->ctx, d->ids, cap, sizeof *ids);
        if (ids == NULL)
            return SP_ENOMEM;
        d->ids = ids;
        d->ids_cap = cap;
    }
    size_t slots = d->mask + 1;
    if (need > slots / 4 * 3) {
        while (need > slots / 4 * 3)
            slots *= 2;
        if (rehash(d, slots) != SP_OK)
            return SP_ENOMEM;
    }
    if (d->blocks->cap - d->blocks->used < bytes) {
        size_t cap = d->next_block > bytes ? d->next_block : bytes;
        block *b = spi_malloc(d->ctx, sizeof *b + cap);
        if (b == NULL)
            return SP_ENOMEM;
        b->next = d->blocks;
        b->cap = cap;
        b->used = 0;
        d->blocks = b;
        if (d->next_block < MAX_BLOCK)
            d->next_block *= 2;
    }
    return SP_OK;
}

/* Copy id into the arena and put it in `s`, the empty slot probe() found. Room reserved. */
static uint32_t insert(sp_dict *d, slot *s, const unsigned char *id, size_t len, uint64_t h)
{
    block *b = d->blocks;
    unsigned char *p = b->data + b->used;
    uint32_t index = (uint32_t)d->count;
    memcpy(p, &index, sizeof index);
    p[4] = (unsigned char)(len & 0xFF);
    p[5] = (unsigned char)(len >> 8);
    memcpy(p + 6, id, len);
    p[6 + len] = '\0';
    b->used += len + ID_OVERHEAD;
    d->ids[d->count++] = p + 6;
    s->hash = h;
    s->id = p + 6;
    return index;
}

/* An id's position in a batch for messages ("ids[4]: "); NO_POS for a single id. */
#define NO_POS SIZE_MAX

typedef struct where_buf {
    char text[40];
} where_buf;

static const char *where_text(where_buf *w, size_t pos)
{
    w->text[0] = '\0';
    if (pos != NO_POS)
        snprintf(w->text, sizeof w->text, "ids[%zu]: ", pos);
    return w->text;
}

bool spi_id_valid(const char *id, size_t len)
{
    return len > 0 && len <= SPI_ID_MAX && memchr(id, 0, len) == NULL &&
           spi_utf8_check((const uint8_t *)id, len, NULL, NULL);
}

static int check_id(sp_ctx *ctx, size_t pos, const char *id, size_t len)
{
    if (id != NULL && spi_id_valid(id, len))
        return SP_OK;
    where_buf w;
    const char *where = where_text(&w, pos);
    char q[SPI_QUOTE_CAP];
    if (id == NULL)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid is NULL", where);
    if (len == 0)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid is empty", where);
    if (len > SPI_ID_MAX)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid %s is %zu bytes long (at most %u)", where,
                        spi_quote(q, id, len), len, SPI_ID_MAX);
    const char *nul = memchr(id, 0, len);
    if (nul != NULL)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid %s has a NUL byte at byte %zu", where,
                        spi_quote(q, id, len), (size_t)(nul - id));
    size_t at = 0;
    const char *why = "";
    (void)spi_utf8_check((const uint8_t *)id, len, &at, &why);
    return spi_fail(ctx, SP_EINVAL, "dict: %sid %s is not valid UTF-8: %s at byte %zu", where,
                    spi_quote(q, id, len), why, at);
}

static int conflict(sp_ctx *ctx, size_t pos, const char *id, size_t len, uint32_t index)
{
    where_buf w;
    char q[SPI_QUOTE_CAP];
    return spi_fail(ctx, SP_ECONFLICT, "dict: %sid %s is already present (index %u)",
                    where_text(&w, pos), spi_quote(q, id, len), (unsigned)index);
}

/* Add an id known to be absent; `s` is the empty slot probe() found for it. */
static int add_new(sp_dict *d, slot *s, const char *id, size_t len, uint64_t h,
                   uint32_t *index)
{
    const unsigned char *u = (const unsigned char *)id;
    size_t before = d->mask;
    int rc = reserve(d, 1, len + ID_OVERHEAD);
    if (rc != SP_OK)
        return rc;
    if (d->mask != before)
        s = probe(d, u, len, h);
    uint32_t i = insert(d, s, u, len, h);
    if (index != NULL)
        *index = i;
    return SP_OK;
}

int sp_dict_add(sp_dict *d, const char *id, size_t len, uint32_t *index)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc = check_id(d->ctx, NO_POS, id, len);
    if (rc != SP_OK)
        return rc;
    const unsigned char *u = (const unsigned char *)id;
    uint64_t h = hash_id(u, len);
    slot *s = probe(d, u, len, h);
    if (s->id != NULL)
        return conflict(d->ctx, NO_POS, id, len, id_index(s->id));
    return add_new(d, s, id, len, h, index);
}

int sp_dict_intern(sp_dict *d, const char *id, size_t len, uint32_t *index)
{
    if (d == NULL)
        return SP_EINVAL;
    if (id == NULL)
        return check_id(d->ctx, NO_POS, id, len);
    const unsigned char *u = (const unsigned char *)id;
    uint64_t h = hash_id(u, len);
    slot *s = probe(d, u, len, h);
    if (s->id != NULL) {
        if (index != NULL)
            *index = id_index(s->id);
        return SP_OK;
    }
    int rc = check_id(d->ctx, NO_POS, id, len);
    if (rc != SP_OK)
        return rc;
    return add_new(d, s, id, len, h, index);
}

/* ---- batches ---- */

/* The state a batch returns to when it fails. */
typedef struct mark {
    size_t count;
    block *blocks;
    size_t used, next_block;
} mark;

static mark mark_now(const sp_dict *d)
{
    mark m = { d->count, d->blocks, d->blocks->used, d->next_block };
    return m;
}

/* Empty slot `s`, moving back each later slot of its cluster whose probe sequence
 * passes the hole, so that every id stays reachable (no tombstones). */
static void delete_slot(sp_dict *d, slot *s)
{
    size_t hole = (size_t)(s - d->slots);
    for (size_t j = (hole + 1) & d->mask; d->slots[j].id != NULL; j = (j + 1) & d->mask) {
        size_t home = (size_t)d->slots[j].hash & d->mask;
        /* The hole lies on the path home .. j (cyclically): the id may move into it. */
        if (((j - home) & d->mask) >= ((j - hole) & d->mask)) {
            d->slots[hole] = d->slots[j];
            hole = j;
        }
    }
    d->slots[hole].id = NULL;
    d->slots[hole].hash = 0;
}

/* Take out the ids added since `m`, newest first, and free the blocks made since. */
static void roll_back(sp_dict *d, const mark *m)
{
    while (d->count > m->count) {
        const unsigned char *id = d->ids[--d->count];
        size_t len = id_len(id);
        delete_slot(d, probe(d, id, len, hash_id(id, len)));
    }
    while (d->blocks != m->blocks) {
        block *b = d->blocks;
        d->blocks = b->next;
        spi_free(d->ctx, b);
    }
    d->blocks->used = m->used;
    d->next_block = m->next_block;
}

/*
 * The hashes of a batch, computed AHEAD ids in advance with the slot each starts at
 * prefetched: in a large table every probe is a cache miss, and this way several are in
 * flight at once instead of one after the other. hashes_next(a, i) is the hash of id i,
 * called with i = 0, 1, 2, ...
 */
#define AHEAD 8

typedef struct hashes {
    const sp_dict *d;
    const spi_ids *v;
    uint64_t h[AHEAD];
} hashes;

static void hash_ahead(hashes *a, size_t i)
{
    size_t len;
    const unsigned char *u = (const unsigned char *)spi_ids_at(a->v, i, &len);
    uint64_t h = hash_id(u, len);
    a->h[i % AHEAD] = h;
    __builtin_prefetch(&a->d->slots[(size_t)h & a->d->mask]);
}

static void hashes_start(hashes *a, const sp_dict *d, const spi_ids *v)
{
    a->d = d;
    a->v = v;
    for (size_t i = 0; i < AHEAD && i < v->n; i++)
        hash_ahead(a, i);
}

static uint64_t hashes_next(hashes *a, size_t i)
{
    uint64_t h = a->h[i % AHEAD];
    if (i + AHEAD < a->v->n)
        hash_ahead(a, i + AHEAD);
    return h;
}

int spi_ids_check_packed(sp_ctx *ctx, const char *who, const char *data_name,
                         const char *offsets_name, const char *data, size_t data_len,
                         const uint64_t *offsets, size_t n)
{
    if (data == NULL || offsets == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", who,
                        data == NULL ? data_name : offsets_name);
    /* n + 1 offsets: more than memory could hold is a count gone wrong. */
    if (n >= SIZE_MAX / sizeof *offsets)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu ids is more than an offsets array holds", who,
                        n);
    for (size_t i = 0; i <= n; i++) {
        if (offsets[i] > data_len)
            return spi_fail(ctx, SP_EINVAL, "%s: %s[%zu] = %" PRIu64 " is beyond %s_len %zu",
                            who, offsets_name, i, offsets[i], data_name, data_len);
        if (i > 0 && offsets[i] < offsets[i - 1])
            return spi_fail(ctx, SP_EINVAL,
                            "%s: %s[%zu] = %" PRIu64 " is below %s[%zu] = %" PRIu64
                            " (offsets never decrease)",
                            who, offsets_name, i, offsets[i], offsets_name, i - 1,
                            offsets[i - 1]);
    }
    return SP_OK;
}

int spi_dict_add_ids(sp_dict *d, const spi_ids *v, uint32_t *indices)
{
    const size_t n = v->n;
    /* Every id valid before anything changes. */
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *id = spi_ids_at(v, i, &len);
        int rc = check_id(d->ctx, i, id, len);
        if (rc != SP_OK)
            return rc;
        if (__builtin_add_overflow(bytes, len + ID_OVERHEAD, &bytes))
            return spi_fail(d->ctx, SP_ENOMEM, "dict: %zu ids overflow size_t", n);
    }
    const mark m = mark_now(d);
    int rc = reserve(d, n, bytes);
    if (rc != SP_OK)
        return rc;
    hashes ahead;
    hashes_start(&ahead, d, v);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const unsigned char *u = (const unsigned char *)spi_ids_at(v, i, &len);
        uint64_t h = hashes_next(&ahead, i);
        slot *s = probe(d, u, len, h);
        if (s->id != NULL) {
            uint32_t other = id_index(s->id);
            roll_back(d, &m);
            if (other < m.count)
                return conflict(d->ctx, i, (const char *)u, len, other);
            char q[SPI_QUOTE_CAP];
            return spi_fail(d->ctx, SP_ECONFLICT, "dict: ids[%zu]: id %s repeats ids[%zu]", i,
                            spi_quote(q, u, len), (size_t)other - m.count);
        }
        insert(d, s, u, len, h);
    }
    if (indices != NULL)
        for (size_t i = 0; i < n; i++)
            indices[i] = (uint32_t)(m.count + i);
    return SP_OK;
}

/* Each id's index, adding the new ones; all or nothing. One pass: an id found needs no
 * check, and a failure takes out what the batch added. The indices go through a buffer
 * of ours, since the caller's array changes only on success. */
static int intern_ids(sp_dict *d, const spi_ids *v, uint32_t *indices)
{
    uint32_t *out = NULL;
    if (indices != NULL && (out = spi_malloc_array(d->ctx, v->n, sizeof *out)) == NULL)
        return SP_ENOMEM;
    const mark m = mark_now(d);
    int rc = SP_OK;
    hashes ahead;
    hashes_start(&ahead, d, v);
    for (size_t i = 0; i < v->n; i++) {
        size_t len;
        const char *id = spi_ids_at(v, i, &len);
        const unsigned char *u = (const unsigned char *)id;
        uint64_t h = hashes_next(&ahead, i);
        slot *s = probe(d, u, len, h);
        uint32_t index;
        if (s->id != NULL)
            index = id_index(s->id);
        else if ((rc = check_id(d->ctx, i, id, len)) != SP_OK ||
                 (rc = add_new(d, s, id, len, h, &index)) != SP_OK)
            break;
        if (out != NULL)
            out[i] = index;
    }
    if (rc != SP_OK)
        roll_back(d, &m);
    else if (out != NULL)
        memcpy(indices, out, v->n * sizeof *out);
    spi_free(d->ctx, out);
    return rc;
}

int sp_dict_add_all(sp_dict *d, const char *const *ids, const size_t *lens, size_t n,
                    uint32_t *indices)
{
    if (d == NULL)
        return SP_EINVAL;
    if (n == 0)
        return SP_OK;
    if (ids == NULL)
        return spi_fail(d->ctx, SP_EINVAL, "dict: ids is NULL");
    const spi_ids v = { n, ids, lens, NULL, NULL };
    return spi_dict_add_ids(d, &v, indices);
}

/* A packed batch of the public API, checked. */
static int packed(const sp_dict *d, const char *data, size_t data_len, const uint64_t *offsets,
                  size_t n, spi_ids *v)
{
    int rc = spi_ids_check_packed(d->ctx, "dict", "data", "offsets", data, data_len, offsets, n);
    if (rc == SP_OK) {
        const spi_ids p = { n, NULL, NULL, data, offsets };
        *v = p;
    }
    return rc;
}

int sp_dict_add_packed(sp_dict *d, const char *data, size_t data_len, const uint64_t *offsets,
                       size_t n, uint32_t *indices)
{
    if (d == NULL)
        return SP_EINVAL;
    if (n == 0)
        return SP_OK;
    spi_ids v;
    int rc = packed(d, data, data_len, offsets, n, &v);
    return rc != SP_OK ? rc : spi_dict_add_ids(d, &v, indices);
}

int sp_dict_intern_packed(sp_dict *d, const char *data, size_t data_len,
                          const uint64_t *offsets, size_t n, uint32_t *indices)
{
    if (d == NULL)
        return SP_EINVAL;
    if (n == 0)
        return SP_OK;
    spi_ids v;
    int rc = packed(d, data, data_len, offsets, n, &v);
    return rc != SP_OK ? rc : intern_ids(d, &v, indices);
}

/* ---- lookups ---- */

uint32_t spi_dict_lookup(const sp_dict *d, const char *id, size_t len)
{
    const unsigned char *u = (const unsigned char *)id;
    const slot *s = probe(d, u, len, hash_id(u, len));
    return s->id != NULL ? id_index(s->id) : SP_NONE;
}

int sp_dict_find(const sp_dict *d, const char *id, size_t len, uint32_t *index)
{
    if (d == NULL)
        return SP_EINVAL;
    if (id == NULL)
        return spi_fail(d->ctx, SP_EINVAL, "dict: id is NULL");
    uint32_t i = spi_dict_lookup(d, id, len);
    if (i == SP_NONE) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(d->ctx, SP_ENOTFOUND, "dict: id %s not found", spi_quote(q, id, len));
    }
    if (index != NULL)
        *index = i;
    return SP_OK;
}

int sp_dict_find_packed(const sp_dict *d, const char *data, size_t data_len,
                        const uint64_t *offsets, size_t n, uint32_t *indices, size_t *missing)
{
    if (d == NULL)
        return SP_EINVAL;
    spi_ids v = { 0, NULL, NULL, NULL, NULL };
    int rc = n > 0 ? packed(d, data, data_len, offsets, n, &v) : SP_OK;
    if (rc != SP_OK)
        return rc;
    size_t absent = 0;
    hashes ahead;
    hashes_start(&ahead, d, &v);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const unsigned char *u = (const unsigned char *)spi_ids_at(&v, i, &len);
        const slot *s = probe(d, u, len, hashes_next(&ahead, i));
        uint32_t index = s->id != NULL ? id_index(s->id) : SP_NONE;
        absent += index == SP_NONE;
        if (indices != NULL)
            indices[i] = index;
    }
    if (missing != NULL)
        *missing = absent;
    return SP_OK;
}

int sp_dict_id(const sp_dict *d, uint32_t index, const char **id, size_t *len)
{
    if (d == NULL)
        return SP_EINVAL;
    if (id == NULL)
        return spi_fail(d->ctx, SP_EINVAL, "dict: id is NULL");
    if (index >= d->count)
        return spi_fail(d->ctx, SP_ENOTFOUND, "dict: index %u is not in the dictionary (count %zu)",
                        (unsigned)index, d->count);
    *id = (const char *)d->ids[index];
    if (len != NULL)
        *len = id_len(d->ids[index]);
    return SP_OK;
}

int sp_dict_ids_packed(const sp_dict *d, uint32_t first, size_t n, char *data, size_t cap,
                       uint64_t *offsets, size_t *data_len)
{
    if (d == NULL)
        return SP_EINVAL;
    if (data_len == NULL || (data != NULL && offsets == NULL) || (data == NULL && cap != 0))
        return spi_fail(d->ctx, SP_EINVAL, "dict: %s",
                        data_len == NULL ? "data_len is NULL"
                        : data != NULL   ? "offsets is NULL"
                                         : "data is NULL with cap > 0");
    if (first > d->count || n > d->count - first)
        return spi_fail(d->ctx, SP_ENOTFOUND,
                        "dict: %zu ids from index %u are not all in the dictionary (count %zu)",
                        n, (unsigned)first, d->count);
    size_t need = 0;
    for (size_t k = 0; k < n; k++)
        need += id_len(d->ids[first + k]);
    if (data == NULL) {
        *data_len = need;
        return SP_OK;
    }
    if (cap < need) {
        *data_len = need;
        return spi_fail(d->ctx, SP_EBUFFER, "dict: the ids need %zu bytes, cap is %zu", need, cap);
    }
    size_t at = 0;
    offsets[0] = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = id_len(d->ids[first + k]);
        memcpy(data + at, d->ids[first + k], len);
        at += len;
        offsets[k + 1] = at;
    }
    *data_len = at;
    return SP_OK;
}

/* ---- clones ---- */

/* Where a source block's bytes land in the clone's single block. */
typedef struct moved {
    uintptr_t start; /* of the source block's data */
    size_t to;       /* offset in the clone's block */
} moved;

/* The move of the block holding p (sorted by start, n > 0, p in one of them). */
static const moved *find_moved(const moved *m, size_t n, uintptr_t p)
{
    size_t lo = 0, hi = n; /* m[lo].start <= p < m[hi].start */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (m[mid].start <= p)
            lo = mid;
        else
            hi = mid;
    }
    return &m[lo];
}

int spi_dict_clone(sp_ctx *ctx, const sp_dict *src, sp_dict **out)
{
    size_t used = 0, nblocks = 0;
    for (const block *b = src->blocks; b != NULL; b = b->next) {
        used += b->used;
        nblocks++;
    }
    sp_dict *d = spi_calloc(ctx, 1, sizeof *d);
    if (d == NULL)
        return SP_ENOMEM;
    d->ctx = ctx;
    /* One block holds every id, oldest block first, so ids stay in index order. */
    size_t cap = used > FIRST_BLOCK ? used : FIRST_BLOCK;
    size_t ids_cap = src->count > FIRST_SLOTS ? src->count : FIRST_SLOTS;
    d->blocks = spi_malloc(ctx, sizeof(block) + cap);
    if (d->blocks != NULL)
        d->blocks->next = NULL;
    d->slots = spi_malloc_array(ctx, src->mask + 1, sizeof *d->slots);
    d->ids = spi_malloc_array(ctx, ids_cap, sizeof *d->ids);
    moved *map = spi_malloc_array(ctx, nblocks, sizeof *map);
    if (d->blocks == NULL || d->slots == NULL || d->ids == NULL || map == NULL) {
        spi_free(ctx, map);
        sp_dict_free(d);
        return SP_ENOMEM;
    }
    d->blocks->cap = cap;
    d->blocks->used = used;
    d->mask = src->mask;
    d->ids_cap = ids_cap;
    d->count = src->count;
    d->next_block = src->next_block;

    /* The list runs newest first: fill the map from its end. */
    size_t k = nblocks, to = used;
    for (const block *b = src->blocks; b != NULL; b = b->next) {
        to -= b->used;
        map[--k] = (moved){ (uintptr_t)b->data, to };
        memcpy(d->blocks->data + to, b->data, b->used);
    }
    /* Each entry names its index: the id array straight from the copy. */
    for (size_t pos = 0; pos < used;) {
        unsigned char *p = d->blocks->data + pos + 6;
        d->ids[id_index(p)] = p;
        pos += id_len(p) + ID_OVERHEAD;
    }
    /* The table slot for slot, each pointer moved with its block: no id is read. */
    for (size_t i = 1; i < nblocks; i++) { /* few blocks: insertion sort by address */
        moved x = map[i];
        size_t j = i;
        for (; j > 0 && map[j - 1].start > x.start; j--)
            map[j] = map[j - 1];
        map[j] = x;
    }
    for (size_t i = 0; i <= src->mask; i++) {
        const slot *s = &src->slots[i];
        d->slots[i].hash = s->hash;
        d->slots[i].id = NULL;
        if (s->id != NULL) {
            const moved *m = find_moved(map, nblocks, (uintptr_t)s->id);
            d->slots[i].id = d->blocks->data + m->to + ((uintptr_t)s->id - m->start);
        }
    }
    spi_free(ctx, map);
    *out = d;
    return SP_OK;
}

const char *spi_dict_text(const sp_dict *d, uint32_t index)
{
    const char *id = NULL;
    size_t len;
    return sp_dict_id(d, index, &id, &len) == SP_OK ? id : "?";
}
