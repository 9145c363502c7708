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
 * Every change first reserves what it needs (index array, table, arena) and then inserts
 * without allocating, so an allocation failure leaves the dictionary as it was. sp_dict_add_all
 * inserts a batch and, on a duplicate, removes what it inserted in reverse order: with
 * linear probing and no rehash in between, that restores the table slot for slot.
 */
#include <stdio.h>
#include <string.h>

#include "../core/internal.h"
#include "salesplan/storage.h"

#define ID_MAX 65535u
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
 * observable changes and no block is added. *fresh tells whether a new block was made
 * (a failed batch frees it again).
 */
static int reserve(sp_dict *d, size_t n, size_t bytes, bool *fresh)
{
    *fresh = false;
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
        *fresh = true;
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

static int check_id(sp_ctx *ctx, size_t pos, const char *id, size_t len)
{
    size_t at;
    const char *why;
    const void *nul = id != NULL ? memchr(id, 0, len) : NULL;
    if (id != NULL && len > 0 && len <= ID_MAX && nul == NULL &&
        spi_utf8_check((const uint8_t *)id, len, &at, &why))
        return SP_OK;
    where_buf w;
    const char *where = where_text(&w, pos);
    char q[SPI_QUOTE_CAP];
    if (id == NULL)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid is NULL", where);
    if (len == 0)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid is empty", where);
    if (len > ID_MAX)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid %s is %zu bytes long (at most %u)", where,
                        spi_quote(q, id, len), len, ID_MAX);
    if (nul != NULL)
        return spi_fail(ctx, SP_EINVAL, "dict: %sid %s has a NUL byte at byte %zu", where,
                        spi_quote(q, id, len), (size_t)((const char *)nul - id));
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
    bool fresh;
    size_t before = d->mask;
    int rc = reserve(d, 1, len + ID_OVERHEAD, &fresh);
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

/* Take out the ids from index `from` on, newest first (see the top of the file). */
static void remove_since(sp_dict *d, size_t from)
{
    while (d->count > from) {
        const unsigned char *id = d->ids[d->count - 1];
        size_t len = id_len(id);
        slot *s = probe(d, id, len, hash_id(id, len));
        s->id = NULL;
        s->hash = 0;
        d->count--;
        d->blocks->used -= len + ID_OVERHEAD;
    }
}

/* Drop the block a failed batch made; it is empty again by then. */
static void drop_fresh_block(sp_dict *d, bool fresh)
{
    if (!fresh)
        return;
    block *b = d->blocks;
    d->blocks = b->next;
    spi_free(d->ctx, b);
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
    /* Every id valid before anything changes. */
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = ids[i] == NULL ? 0 : lens != NULL ? lens[i] : strlen(ids[i]);
        int rc = check_id(d->ctx, i, ids[i], len);
        if (rc != SP_OK)
            return rc;
        if (__builtin_add_overflow(bytes, len + ID_OVERHEAD, &bytes))
            return spi_fail(d->ctx, SP_ENOMEM, "dict: %zu ids overflow size_t", n);
    }
    bool fresh;
    int rc = reserve(d, n, bytes, &fresh);
    if (rc != SP_OK)
        return rc;
    size_t first = d->count;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *u = (const unsigned char *)ids[i];
        size_t len = lens != NULL ? lens[i] : strlen(ids[i]);
        uint64_t h = hash_id(u, len);
        slot *s = probe(d, u, len, h);
        if (s->id != NULL) {
            uint32_t other = id_index(s->id);
            remove_since(d, first);
            drop_fresh_block(d, fresh);
            if (other < first)
                return conflict(d->ctx, i, ids[i], len, other);
            char q[SPI_QUOTE_CAP];
            return spi_fail(d->ctx, SP_ECONFLICT, "dict: ids[%zu]: id %s repeats ids[%zu]", i,
                            spi_quote(q, u, len), (size_t)other - first);
        }
        insert(d, s, u, len, h);
    }
    if (indices != NULL)
        for (size_t i = 0; i < n; i++)
            indices[i] = (uint32_t)(first + i);
    return SP_OK;
}

int sp_dict_find(const sp_dict *d, const char *id, size_t len, uint32_t *index)
{
    if (d == NULL)
        return SP_EINVAL;
    if (id == NULL)
        return spi_fail(d->ctx, SP_EINVAL, "dict: id is NULL");
    const unsigned char *u = (const unsigned char *)id;
    const slot *s = probe(d, u, len, hash_id(u, len));
    if (s->id == NULL) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(d->ctx, SP_ENOTFOUND, "dict: id %s not found", spi_quote(q, u, len));
    }
    if (index != NULL)
        *index = id_index(s->id);
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
