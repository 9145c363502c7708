/*
 * The ordered, transactional in-memory record set behind sp_storage_memory_new, and the
 * live state of the file store (file.c). Namespaces each hold a B+ tree of records;
 * a transaction keeps an undo log with one entry per key it touched, so that rollback
 * restores the state exactly and never allocates.
 *
 * Every function returns 0 or a salesplan status, with the message in spi_mem_errmsg
 * (prefixed by the label given to spi_mem_new). Writes need an open transaction and no
 * running scan (SP_EINVAL otherwise).
 */
#ifndef SPI_STORAGE_MEMORY_H
#define SPI_STORAGE_MEMORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct spi_mem spi_mem;

/* `label` (static text) starts every message: "memory store", "file store". */
int spi_mem_new(spi_mem **out, sp_ctx *ctx, const char *label);
/* Rolls back an open transaction, then frees everything. NULL is accepted. */
void spi_mem_free(spi_mem *m);

/* *value points into the store until the next call that changes it. */
int spi_mem_get(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len,
                const uint8_t **value, size_t *value_len);
int spi_mem_put(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len,
                const uint8_t *value, size_t value_len);
int spi_mem_remove(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len);
int spi_mem_scan(spi_mem *m, const char *ns, const uint8_t *from, size_t from_len,
                 const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg);
int spi_mem_begin(spi_mem *m);
/* Commit and rollback fail only when misused (no transaction, a scan running). */
int spi_mem_commit(spi_mem *m);
int spi_mem_rollback(spi_mem *m);
bool spi_mem_in_tx(const spi_mem *m);
const char *spi_mem_errmsg(const spi_mem *m);

/* Live records (the open transaction's writes included) and the sum of their namespace,
 * key and value lengths. */
uint64_t spi_mem_count(const spi_mem *m);
uint64_t spi_mem_bytes(const spi_mem *m);
/* Every live record, namespaces in name order, keys in key order; stops on and returns
 * fn's first non-zero result. Writes are refused meanwhile. */
typedef int (*spi_mem_each_fn)(void *arg, const char *ns, const uint8_t *key, size_t key_len,
                               const uint8_t *value, size_t value_len);
int spi_mem_each(spi_mem *m, spi_mem_each_fn fn, void *arg);
/* Allocations the store holds now (for the tests' leak checks). */
size_t spi_mem_blocks(const spi_mem *m);

/* For tests: the blocks a table made by sp_storage_memory_new holds; false for any other
 * table. */
bool spi_memory_store_blocks(const sp_storage *table, size_t *blocks);

#endif /* SPI_STORAGE_MEMORY_H */
