/*
 * Stored objects: an object saved as a head record and chunk records, the one way modules
 * keep their plans and results in a store (docs/record-format.md, "Stored objects").
 * Included by record.h. A module describes an object type once (spi_stored_type: names,
 * namespaces, key shape, encoders, a reader) and gets save, load, list and versions; its
 * codec keeps only its schema (what a head holds, what a chunk holds).
 *
 *   head   record type and namespace `head_type`
 *          key str(name 0) .. str(name k-1), then u32(version) for a versioned type
 *   chunk  record type and namespace `chunk_type`; key: the head's key, u32(chunk)
 *
 * (src/storage/store.h's key encoding: an object's chunks, a scenario's versions, a
 * plan's scenarios are contiguous and in order; listings scan heads only.)
 *
 * The head holds the object's scalars and ends with how its per-row arrays are cut:
 * "nnodes", "chunk_nodes", "chunks". Chunk k holds rows [k * chunk_nodes, ...) and names
 * its owner, then "chunk" (k) and "first" (its first row). A head of a revised type holds
 * "revision". The helpers below write and check those members; everything else is the
 * module's.
 */
#ifndef SPI_RECORD_STORED_H
#define SPI_RECORD_STORED_H

#include "../storage/store.h"
#include "record.h"

/* ---- chunking ---- */

/* Rows per chunk unless an object asks for fewer, or its rows are so wide that a chunk
 * would near the record limits (then as many as fit in half of them). */
#define SPI_STORED_CHUNK_ROWS 16384u

typedef struct spi_chunking {
    uint32_t nodes; /* rows per chunk, >= 1 */
    uint32_t count; /* chunks, >= 1 */
} spi_chunking;

/* Upper bounds of encoded sizes, to size chunks: a number with its comma; a string of
 * len bytes, every byte escaped (\u00xx), with its quotes and comma. */
#define SPI_STORED_NUM_BYTES 22u
#define SPI_STORED_STR_BYTES(len) (6u * (uint64_t)(len) + 3u)

/* `items` row indices (at least 1) cut into chunks of `want` rows (0: the default), fewer
 * when `values` and `bytes` per row would take a chunk beyond half the record limits. */
spi_chunking spi_chunking_make(uint32_t want, uint64_t values, uint64_t bytes, uint64_t items);
/* How many of `items` row indices chunk k holds (0 past the end). */
uint32_t spi_chunking_items(const spi_chunking *c, uint32_t k, uint64_t items);

/* ---- object types ---- */

typedef enum spi_stored_kind {
    /* One copy per key, replaced by each save. The head's "revision" is an optimistic
     * lock: a save must hold the stored revision and writes revision + 1. */
    SPI_STORED_REVISED = 1,
    /* The key ends with u32(version): a save adds the next version (the highest stored
     * + 1, found inside the transaction); a stored version is never replaced. */
    SPI_STORED_VERSIONED = 2
} spi_stored_kind;

#define SPI_STORED_NAMES_MAX 4

/* Write the members of the head, or of chunk k, of the object `obj` (the module's encoder
 * state) into `w`, with `stamp`, the revision or version the save gives it. The layer opens
 * the record before (its type and format version are the type's head_type and head_v, or
 * chunk_type and chunk_v) and closes it after; a writer error sticks and the save returns
 * it. */
typedef void (*spi_stored_head_fn)(const void *obj, uint32_t stamp, spi_writer *w);
typedef void (*spi_stored_chunk_fn)(const void *obj, uint32_t stamp, uint32_t k, spi_writer *w);
/*
 * A reader is made from the head (its bytes stay valid until reader_free) and `present`,
 * the number of chunk records 0, 1, 2, ... found in the store before the head is read:
 * a head claiming more is corrupt (spi_stored_read_chunking says so), so memory is only
 * taken for chunks that exist. *chunks gets the head's chunk count. On failure it frees
 * what it made. Then each chunk in order (bytes valid during the call), then finish,
 * which hands the object over (checked as a whole); reader_free always follows.
 */
typedef int (*spi_stored_reader_new_fn)(void **in, sp_ctx *ctx, const uint8_t *head,
                                        size_t len, uint32_t present, uint32_t *chunks);
typedef int (*spi_stored_reader_chunk_fn)(void *in, uint32_t k, const uint8_t *data,
                                          size_t len);
typedef int (*spi_stored_reader_finish_fn)(void *in, void **out);
typedef void (*spi_stored_reader_free_fn)(void *in);

typedef struct spi_stored_type {
    const char *what;          /* the object in messages: "target plan" */
    const char *head_type;     /* record type and namespace of heads: "target.plan" */
    const char *chunk_type;    /* ... of chunks: "target.plan.chunk" */
    uint32_t head_v, chunk_v;  /* the newest format versions this library reads */
    spi_stored_kind kind;
    size_t nnames;             /* str components of the key: 1 .. SPI_STORED_NAMES_MAX */
    /* A word per component for messages: `target set of plan "P", scenario "base",
     * version 2` has { "of plan", "scenario" }; NULL: the bare quoted name. */
    const char *const *labels;
    /* NULL, or the revised type whose object, keyed by the first parent->nnames names,
     * must be in the store when this one is saved (checked inside the transaction). */
    const struct spi_stored_type *parent;
    spi_stored_head_fn encode_head;
    spi_stored_chunk_fn encode_chunk;
    spi_stored_reader_new_fn reader_new;
    spi_stored_reader_chunk_fn reader_chunk;
    spi_stored_reader_finish_fn reader_finish;
    spi_stored_reader_free_fn reader_free;
} spi_stored_type;

/* ---- operations: names[0 .. t->nnames) key the object ---- */

/*
 * Save `obj` inside the write transaction `tx`: the head, then chunks 0 .. nchunks - 1
 * encoded and put one at a time, then the removal of chunks >= nchunks an earlier
 * revision left. First the parent must be in the store (SP_ENOTFOUND naming it), then:
 * REVISED: *number is the revision the caller holds (0: never saved); the store must hold
 * the same (SP_ECONFLICT naming both); the object is written as *number + 1 (SP_EOVERFLOW
 * past UINT32_MAX), which *number gets on success.
 * VERSIONED: *number gets the version taken (SP_EOVERFLOW past UINT32_MAX; SP_ECONFLICT if
 * that version's head is somehow present: a stored version is never replaced).
 */
int spi_stored_save(spi_store *tx, const spi_stored_type *t, const char *const *names,
                    const void *obj, uint32_t nchunks, uint32_t *number);

/* Remove an object of a revised type inside the write transaction `tx`: its head and every
 * chunk. An object that is not stored is no error. */
int spi_stored_remove(spi_store *tx, const spi_stored_type *t, const char *const *names);

/* Load an object: `version` of a versioned type (0: the latest), ignored otherwise.
 * SP_ENOTFOUND names the object; chunks missing, extra or out of order are SP_ECORRUPT
 * naming the record type and the chunk. *out gets the reader's object. */
int spi_stored_load(spi_store *s, const spi_stored_type *t, const char *const *names,
                    uint32_t version, void **out);

/* The versions of a versioned object, ascending: *count their number, *last the highest
 * (0: none); with `versions` non-NULL, *versions gets them all (free with spi_free; NULL
 * when none). */
int spi_stored_versions(spi_store *s, const spi_stored_type *t, const char *const *names,
                        uint32_t **versions, size_t *count, uint32_t *last);

/* The distinct key component `depth` (< t->nnames) of the heads whose first `depth`
 * components are names[0 .. depth), ascending bytewise: the plan ids for depth 0, a
 * plan's scenarios for depth 1. One short scan per name (it skips past each name's
 * keys). */
int spi_stored_list(sp_names **out, spi_store *s, const spi_stored_type *t,
                    const char *const *names, size_t depth);

/* The bytes a save writes for the head, or chunk k, of `obj` stamped `stamp` (*out from
 * ctx's allocator; free with spi_free). */
int spi_stored_encode_head(sp_ctx *ctx, const spi_stored_type *t, const void *obj,
                           uint32_t stamp, uint8_t **out, size_t *len);
int spi_stored_encode_chunk(sp_ctx *ctx, const spi_stored_type *t, const void *obj,
                            uint32_t stamp, uint32_t k, uint8_t **out, size_t *len);

/* ---- codec helpers for a type's encoders and readers ---- */

/* Members every head ends with: "nnodes", "chunk_nodes", "chunks". */
void spi_stored_write_chunking(spi_writer *w, uint32_t nnodes, const spi_chunking *c);
/* Members after a chunk's owner: "chunk" (k), "first" (its first row). */
void spi_stored_write_chunk_at(spi_writer *w, const spi_chunking *c, uint32_t k);

/* Parse a head (named "record <head_type>") and check its envelope. */
int spi_stored_open_head(spi_rdoc **doc, sp_ctx *ctx, const spi_stored_type *t,
                         const uint8_t *data, size_t len);
/* Parse chunk k (named "record <chunk_type> <k>"), check its envelope, that it is chunk k
 * and starts at row k * c->nodes. */
int spi_stored_open_chunk(spi_rdoc **doc, sp_ctx *ctx, const spi_stored_type *t,
                          const spi_chunking *c, uint32_t k, const uint8_t *data, size_t len);
/* A head's "nnodes" (1 .. UINT32_MAX - 3), "chunk_nodes" (1 .. SPI_STORED_CHUNK_ROWS) and
 * "chunks": as many as max(nnodes, extra) row indices make, and no more than `present`. */
int spi_stored_read_chunking(const spi_rdoc *doc, const spi_rnode *root, uint64_t extra,
                             uint32_t present, uint32_t *nnodes, spi_chunking *c);
/* A chunk belongs to its head: string member `key` is `want` (`what` names it: "a chunk
 * of plan "Q" under plan "P""), integer member `key` is `want`. */
int spi_stored_check_owner_str(const spi_rdoc *doc, const char *key, const char *what,
                               const char *want);
int spi_stored_check_owner_u32(const spi_rdoc *doc, const char *key, uint32_t want);

#endif /* SPI_RECORD_STORED_H */
