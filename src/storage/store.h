/*
 * The storage layer: the only way library code reaches an sp_storage table. It validates
 * the table, maps host codes to statuses (spi_host_status), copies values out of host
 * memory, runs scans through a callback, builds keys that sort usefully, and runs every
 * write operation as exactly one transaction (spi_store_write). docs/storage.md states
 * the rules the layer enforces.
 *
 * Misuse by library code (a nested write transaction, a write outside a transaction or
 * during a scan, an invalid namespace) is a bug in salesplan: SP_EINTERNAL. Input that
 * can come from users (a key or value over the limits) is SP_EINVAL.
 */
#ifndef SPI_STORAGE_STORE_H
#define SPI_STORAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"
#include "salesplan/storage.h"

/* Limits the library promises backends (docs/storage.md): keys of 1 to 1024 bytes and
 * values of at most 10^9 bytes (SQLite's default blob limit; PostgreSQL's bytea holds
 * 1 GiB). Namespaces: 1 to 32 bytes of [a-z0-9_.]. */
#define SPI_KEY_MAX 1024u
#define SPI_VALUE_MAX 1000000000u
#define SPI_NS_MAX 32u

/* True when `ns` is a valid namespace name. */
bool spi_ns_valid(const char *ns);
/* The order of keys: bytewise as unsigned bytes, a proper prefix first (<0, 0, >0). */
int spi_key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen);

/* A validated storage table in use by one operation. Lives on the caller's stack. */
typedef struct spi_store {
    sp_ctx *ctx;
    sp_storage table; /* the caller's table as of its version, validated */
    bool in_tx;       /* inside spi_store_write */
    unsigned scans;   /* scans running (writes are refused meanwhile) */
} spi_store;

/* Validate `table` (struct version, the seven required callbacks) for use with `ctx`.
 * SP_EVERSION or SP_EINVAL naming the missing callback. */
int spi_store_open(spi_store *s, sp_ctx *ctx, const sp_storage *table);

/* Read one record into memory from the context's allocator (the caller frees *value with
 * spi_free; a zero-length value still gets a block). SP_ENOTFOUND, with a message, when
 * the key is absent. Outputs are written only on success. */
int spi_store_get(spi_store *s, const char *ns, const uint8_t *key, size_t key_len,
                  uint8_t **value, size_t *value_len);
/* Writes: only inside spi_store_write and never during a scan. */
int spi_store_put(spi_store *s, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len);
int spi_store_remove(spi_store *s, const char *ns, const uint8_t *key, size_t key_len);

/*
 * Visit the records of `ns` with from <= key < to in key order (from NULL: from the
 * first key; to NULL: no upper end). `visit` returns 0 to go on, SP_SCAN_STOP to end the
 * scan (which then returns SP_OK), or a negative status, which the scan returns as it is
 * (with the message the visitor recorded). Reads are allowed inside `visit`, writes are
 * not. A host error is mapped as for every call.
 */
int spi_store_scan(spi_store *s, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg);
/* The records whose key starts with `prefix` (all of `ns` for an empty prefix). */
int spi_store_scan_prefix(spi_store *s, const char *ns, const uint8_t *prefix,
                          size_t prefix_len, sp_storage_visit_fn visit, void *arg);
/* The smallest key above every key that starts with `prefix`: the prefix without its
 * trailing 0xFF bytes, last byte plus one. Writes it to `end` (room for prefix_len bytes)
 * and returns true; false when the prefix is empty or all 0xFF (no upper end). */
bool spi_key_prefix_end(const uint8_t *prefix, size_t prefix_len, uint8_t *end,
                        size_t *end_len);

/*
 * Run one write operation as one transaction: begin; fn(tx, arg) reads and writes
 * through `tx`; commit. When fn, commit or anything else fails, rollback is called (also
 * after a failed commit, as the contract says) and the FIRST error is returned with its
 * message; a failing rollback only appends a note to that message. When begin fails
 * nothing else is called. fn returns SP_OK or a negative status. One write transaction
 * per context at a time: a nested call returns SP_EINTERNAL without calling the host.
 */
typedef int (*spi_store_fn)(spi_store *tx, void *arg);
int spi_store_write(sp_ctx *ctx, const sp_storage *table, spi_store_fn fn, void *arg);

/* ---- keys ---------------------------------------------------------------------------
 *
 * Keys are built from components that keep their natural order under bytewise
 * comparison (docs/storage.md, "Key encoding"):
 *   u32, u64  big-endian
 *   i64       big-endian with the sign bit flipped (negatives first)
 *   str       the bytes with 0x00 written as 00 FF, then the terminator 00 01, so that a
 *             string sorts before its extensions and a component never runs into the next
 *   bytes     raw; only as the last component
 * A key holds at most SPI_KEY_MAX bytes. Appends after an error do nothing and return the
 * first error, so a caller may check only the last one.
 */
typedef struct spi_key {
    sp_ctx *ctx;
    int status;
    size_t len;
    uint8_t data[SPI_KEY_MAX];
} spi_key;

void spi_key_init(spi_key *k, sp_ctx *ctx);
int spi_key_u32(spi_key *k, uint32_t v);
int spi_key_u64(spi_key *k, uint64_t v);
int spi_key_i64(spi_key *k, int64_t v);
int spi_key_str(spi_key *k, const char *s, size_t len);
int spi_key_bytes(spi_key *k, const uint8_t *b, size_t len);

/* Reading the components of a key back (in a scan, for instance). A key that does not
 * hold the component asked for gives SP_ECORRUPT. */
typedef struct spi_key_reader {
    sp_ctx *ctx;
    const uint8_t *data;
    size_t len, pos;
} spi_key_reader;

void spi_key_reader_init(spi_key_reader *r, sp_ctx *ctx, const uint8_t *key, size_t len);
int spi_key_read_u32(spi_key_reader *r, uint32_t *v);
int spi_key_read_u64(spi_key_reader *r, uint64_t *v);
int spi_key_read_i64(spi_key_reader *r, int64_t *v);
/* Decode a str component into `out` (NUL-terminated; SPI_KEY_MAX bytes always suffice). */
int spi_key_read_str(spi_key_reader *r, char *out, size_t cap, size_t *len);
/* True when every component has been read. */
bool spi_key_reader_done(const spi_key_reader *r);

/* ---- name lists (names.c) ---- */

/* An empty sp_names list. */
int spi_names_new(sp_names **out, sp_ctx *ctx);
/* Append a copy of s[0..len) (no NUL inside: the caller read it from a key component
 * or checked it). */
int spi_names_add(sp_names *names, const char *s, size_t len);

#endif /* SPI_STORAGE_STORE_H */
