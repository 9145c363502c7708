/*
 * Internal interface of fact sources: the one batch validation every consumer uses, and
 * the one reading loop the modules call to stream facts from a host's sp_fact_source.
 */
#ifndef SPI_FACTS_INTERNAL_H
#define SPI_FACTS_INTERNAL_H

#include <stdint.h>

#include "../core/internal.h"
#include "salesplan/storage.h"

/* Civil days and epoch seconds of 0001-01-01T00:00:00 and 9999-12-31T23:59:59 UTC: the
 * dates a batch may hold. */
#define SPI_DAY_MIN INT32_C(-719162)
#define SPI_DAY_MAX INT32_C(2932896)
#define SPI_TIME_MIN INT64_C(-62135596800)
#define SPI_TIME_MAX INT64_C(253402300799)

/*
 * Sizes the index columns of a batch are checked against: a value must be below the size
 * or SP_NONE (stage: below the size, never SP_NONE). SPI_FACT_ANY skips a column's check;
 * sp_dict_count() of the host's dictionary is the usual size.
 */
#define SPI_FACT_ANY UINT32_MAX

typedef struct spi_fact_bounds {
    uint32_t rep, grid, product, customer, channel, stage;
} spi_fact_bounds;

#define SPI_FACT_BOUNDS_ANY \
    { SPI_FACT_ANY, SPI_FACT_ANY, SPI_FACT_ANY, SPI_FACT_ANY, SPI_FACT_ANY, SPI_FACT_ANY }

/* "order lines", "payments", ...; NULL for an unknown kind. */
const char *spi_fact_kind_name(uint32_t kind);

/*
 * Validate a batch by the rules of storage.h and docs/facts.md: version, a known kind,
 * the kind's required columns present (when count > 0) and no column the kind does not
 * use, days and times between years 1 and 9999, no INT64_MIN amount, quantity or cost,
 * no negative refund amount, stage never SP_NONE, and, when `bounds` is not NULL, every
 * index below its size or SP_NONE. Messages name the kind, the batch's ordinal (when not
 * 0), the column and the row: "order lines batch 3: rep[12] = 9001 is not a known index
 * (dictionary has 40)".
 *
 * On success *out is the batch as of the current version (columns a caller's older
 * struct version lacks are NULL) and, when count > 0 and `days` is not NULL, days[0] and
 * days[1] are the lowest and highest day.
 */
int spi_fact_batch_check(sp_ctx *ctx, const sp_fact_batch *batch, const spi_fact_bounds *bounds,
                         uint64_t ordinal, sp_fact_batch *out, int32_t days[2]);

/*
 * Receives facts from spi_facts_scan: the rows of `batch` (a current-version batch of at
 * most SPI_FACT_SLICE rows) whose positions are rows[0..nrows), or, when rows is NULL,
 * all batch->count rows (then nrows == batch->count). Returns 0 to go on or a negative
 * status (with its message recorded), which ends the scan and is returned as it is.
 */
typedef int (*spi_fact_consumer_fn)(void *arg, const sp_fact_batch *batch, const uint32_t *rows,
                                    size_t nrows);

/* Rows handed to a consumer at once: bounds the selection vector and the time between
 * progress reports and cancellation checks. A slice (16 bytes a row of order lines: 256
 * KiB) stays in the L2 cache between the checks and the consumer; 16384 rows measured
 * faster than 4096 and 8192 (bench_facts: 1.3 and 1.17 times the bare loop, against 1.1),
 * and no slower than 32768. */
#define SPI_FACT_SLICE 16384u

/*
 * Stream the facts of `query` from `src` to `consume`: checks the source table and the
 * query, calls src->scan with a sink that checks every batch (against `bounds`, may be
 * NULL), drops rows outside [from_day, to_day) and hands over the rest slice by slice.
 * A slice whose rows are all in range is passed without a selection vector (rows NULL);
 * otherwise the positions of the rows in range are gathered into one vector allocated
 * once per scan.
 *
 * `progress` (may be NULL) is reported in rows received from the source (kept or not),
 * with total 0 until the end, where done == total == all rows; a cancel returns
 * SP_ECANCELED. An error from the source becomes a status by spi_host_status with the
 * source's errmsg. An error of the consumer, of a batch check or a cancel is returned even
 * if the source ignores the sink's status (goes on calling it, or returns something
 * else): the message then says what the source did.
 */
int spi_facts_scan(sp_ctx *ctx, const sp_fact_source *src, const sp_fact_query *query,
                   const spi_fact_bounds *bounds, const sp_progress *progress,
                   spi_fact_consumer_fn consume, void *arg);

#endif /* SPI_FACTS_INTERNAL_H */
