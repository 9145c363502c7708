/*
 * Internal entry points of the exact allocation for kernels that split many totals by the
 * same weights (a profile over months, for a million nodes). spi_allocate_plain skips
 * sp_allocate's per-call validation and options for weights the caller validated once;
 * sp_allocate itself takes that path whenever a split has no bounds and no locked parts,
 * so the two give the same parts by construction. spi_allocate_scratch is sp_allocate
 * with scratch memory from the caller.
 */
#ifndef SPI_MONEY_ALLOCATE_H
#define SPI_MONEY_ALLOCATE_H

#include <stddef.h>
#include <stdint.h>

#include "salesplan/money.h"

/* Bytes of scratch spi_allocate_plain needs for n parts (aligned for int64_t). */
#define SPI_ALLOC_PLAIN_SCRATCH(n) ((n) * 2 * sizeof(int64_t))
/* Bytes of scratch spi_allocate_scratch needs for n parts; at least the above, and a
 * multiple of 8 so that more int64_t may follow it. */
#define SPI_ALLOC_SCRATCH(n) (((n) * (2 * sizeof(int64_t) + sizeof(uint32_t)) + 7) & ~(size_t)7)

/* sp_allocate with the caller's scratch of SPI_ALLOC_SCRATCH(n) bytes (aligned for
 * int64_t), so that it never allocates: a kernel that checks its rows first and writes
 * them after cannot then fail on memory half-way. scratch NULL: sp_allocate. */
int spi_allocate_scratch(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                         const sp_alloc_options *opts, void *scratch, int64_t *out);

/*
 * Exactly what sp_allocate(ctx, total, weights, n, {unit}, out) writes, for inputs the
 * caller has validated: weights (NULL: all 1) non-negative with sum weight_sum, which is
 * at most INT64_MAX and non-zero unless total is 0; total != INT64_MIN; unit >= 1.
 * Returns SP_OK, or SP_EINTERNAL (a bug; message in ctx, which may be NULL; out untouched).
 */
int spi_allocate_plain(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                       uint64_t weight_sum, int64_t unit, void *scratch, int64_t *out);

#endif /* SPI_MONEY_ALLOCATE_H */
