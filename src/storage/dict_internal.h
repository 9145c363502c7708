/*
 * Internal interface of the dictionary (src/storage/dict.c), for the modules built on it:
 * batches of ids in either form the API takes, a lookup that records nothing, and a
 * clone for the frozen copies plans hold.
 */
#ifndef SPI_STORAGE_DICT_INTERNAL_H
#define SPI_STORAGE_DICT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../core/internal.h"
#include "salesplan/storage.h"

/* Longest id in bytes: the arena keeps an id's length in two bytes. */
#define SPI_ID_MAX 65535u

/* True when id[0..len) is a valid id: 1 to SPI_ID_MAX bytes of well-formed UTF-8 without
 * a NUL byte. The one rule for dictionary ids and for the ids that name them (a
 * hierarchy's parent ids); callers word their own message when it fails. */
bool spi_id_valid(const char *id, size_t len);

/*
 * n ids, either as pointers (`ptrs[i]`, with `lens[i]` or NUL-terminated when `lens` is
 * NULL) or packed (`offsets` not NULL): id i is data[offsets[i] .. offsets[i + 1]), the
 * offsets checked by spi_ids_check_packed.
 */
typedef struct spi_ids {
    size_t n;
    const char *const *ptrs;
    const size_t *lens;
    const char *data;
    const uint64_t *offsets;
} spi_ids;

/* Id i and its length; NULL (length 0) for a NULL pointer of the pointer form. */
static inline const char *spi_ids_at(const spi_ids *v, size_t i, size_t *len)
{
    if (v->offsets != NULL) {
        *len = (size_t)(v->offsets[i + 1] - v->offsets[i]);
        return v->data + v->offsets[i];
    }
    const char *p = v->ptrs[i];
    *len = p == NULL ? 0 : v->lens != NULL ? v->lens[i] : strlen(p);
    return p;
}

/*
 * Check a packed batch of n > 0 ids: data and offsets not NULL, every offsets[i] (i <= n)
 * within data_len and none below the one before. Messages start with `who` and name the
 * arguments `data_name`, `data_name`_len and `offsets_name` ("dict: offsets[3] = 9 is
 * beyond data_len 8").
 */
int spi_ids_check_packed(sp_ctx *ctx, const char *who, const char *data_name,
                         const char *offsets_name, const char *data, size_t data_len,
                         const uint64_t *offsets, size_t n);

/* The core of sp_dict_add_all and sp_dict_add_packed: v->n new ids, all or nothing;
 * messages name positions as ids[i]. `indices` may be NULL. */
int spi_dict_add_ids(sp_dict *d, const spi_ids *v, uint32_t *indices);

/* The index of id[0..len), or SP_NONE when absent; records nothing, since absence is an
 * answer here, not an error. `id` may be NULL only when len is 0. */
uint32_t spi_dict_lookup(const sp_dict *d, const char *id, size_t len);
/* The id of `index` for a message, or "?" when the dictionary has no such index (records
 * nothing). */
const char *spi_dict_text(const sp_dict *d, uint32_t index);

/* A copy of d in ctx with the same ids and indices, made without hashing an id. */
int spi_dict_clone(sp_ctx *ctx, const sp_dict *d, sp_dict **out);

#endif /* SPI_STORAGE_DICT_INTERNAL_H */
