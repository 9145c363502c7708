/*
 * Internal interface of fact sources: the one batch validation every consumer uses, and
 * the one reading loop the modules call to stream facts from a host's sp_fact_source.
 */
#ifndef SPI_FACTS_INTERNAL_H
#define SPI_FACTS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../calendar/calendar_internal.h"
#include "../core/internal.h"
#include "salesplan/calendar.h"
#include "salesplan/hierarchy.h"
#include "salesplan/storage.h"

/* Epoch seconds of 0001-01-01T00:00:00 and 9999-12-31T23:59:59 UTC: with SPI_DAY_MIN and
 * SPI_DAY_MAX (the calendar's), the dates a batch may hold. */
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

/* Where a slice handed to a consumer comes from. */
typedef struct spi_fact_where {
    uint64_t batch;         /* the batch's ordinal within the scan, from 1 */
    size_t first;           /* the position in that batch of the slice's row 0 */
    int32_t day_lo, day_hi; /* the lowest and highest day of the slice's rows, selected or
                               not: every selected row's day is within them */
} spi_fact_where;

/*
 * Receives facts from spi_facts_scan: the rows of `batch` (a current-version batch of at
 * most SPI_FACT_SLICE rows) whose positions are rows[0..nrows), or, when rows is NULL,
 * all batch->count rows (then nrows == batch->count). Row r of the slice is row
 * at->first + r of batch at->batch (what messages name). Returns 0 to go on or a negative
 * status (with its message recorded), which ends the scan and is returned as it is.
 */
typedef int (*spi_fact_consumer_fn)(void *arg, const sp_fact_batch *batch, const uint32_t *rows,
                                    size_t nrows, const spi_fact_where *at);

/* Rows handed to a consumer at once: bounds the selection vector and the time between
 * progress reports and cancellation checks. */
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

/* ======================================================================================
 * Fact grouping (group.c): facts of some kinds summed per group of a key column and per
 * calendar period, the one kernel every module groups facts with (docs/facts.md,
 * "Grouping facts").
 * ====================================================================================== */

/* The index columns a grouping keys on. */
typedef enum spi_fact_column {
    SPI_COLUMN_REP = 0,
    SPI_COLUMN_GRID = 1,
    SPI_COLUMN_PRODUCT = 2,
    SPI_COLUMN_CUSTOMER = 3,
    SPI_COLUMN_CHANNEL = 4
} spi_fact_column;

/* The column table of facts.c answers for these too, so that grouping keeps no second
 * list of the index columns. spi_fact_column_name: "rep", "grid", ...; NULL for an
 * unknown column. The others take a known column: the batch's key column (NULL when the
 * batch has none), and the size in `bounds` that column is checked against. */
const char *spi_fact_column_name(uint32_t column);
const uint32_t *spi_fact_key_column(const sp_fact_batch *b, uint32_t column);
void spi_fact_bounds_set(spi_fact_bounds *bounds, uint32_t column, uint32_t size);

/* What a grouping adds up per row. Values of a netted kind count negative. */
typedef enum spi_measure {
    SPI_MEASURE_AMOUNT = 0,
    SPI_MEASURE_QUANTITY = 1,
    SPI_MEASURE_COST = 2,
    SPI_MEASURE_MARGIN = 3, /* amount - cost */
    SPI_MEASURE_COUNT = 4   /* 1 per row */
} spi_measure;

/*
 * Key maps: per index of the key column's dictionary, the group of its rows, or one of
 * these. Groups are below SPI_GROUP_LIMIT.
 */
#define SPI_GROUP_SKIP UINT32_MAX          /* no group: the rows are skipped (counted) */
#define SPI_GROUP_UNKNOWN (UINT32_MAX - 1) /* an id the grouping does not know: counted,
                                              or an error when strict */
#define SPI_GROUP_LIMIT (UINT32_MAX - 3)

/*
 * Which day goes to which column. A map reads the days [from, to) (the scan's query) and
 * gives each of them a period column below nbuckets, or none; besides, up to
 * SPI_PERIOD_WINDOWS_MAX windows of days each add to a column of their own after the
 * periods (column nbuckets + k), whatever period a day is in. A row of a grouping has
 * width = nbuckets + nwindows columns.
 *
 * Calendar maps hold one table entry per day from `base` to `end` (O(days), built once);
 * the whole-range map holds none. Fields are read by the kernel; build maps with the
 * functions below only.
 */
#define SPI_PERIOD_WINDOWS_MAX 4

typedef struct spi_period_map {
    int32_t from, to;        /* the days read */
    uint32_t nbuckets;       /* period columns */
    uint32_t *bucket;        /* day d in [base, end): bucket[d - base], a column or
                                SPI_GROUP_SKIP; NULL: a whole-range map */
    int32_t base, end;       /* the table's days, which cover [from, to) */
    int32_t whole_from, whole_to; /* whole-range map: the days of column 0 */
    bool gaps;               /* some day of [from, to) has no period column */
    uint32_t nwindows;
    int32_t window[SPI_PERIOD_WINDOWS_MAX][2]; /* [from, to) of window k */
    /* Calendar maps: period p of the y-th fiscal year built (from 0) is column
     * year_first[y] + p; year_first[years] == nbuckets. */
    uint32_t *year_first;
} spi_period_map;

/* One column for the days [from, to) (from <= to; INT32_MIN / INT32_MAX for no end).
 * Allocates nothing (spi_period_map_free is still fine to call). */
void spi_period_map_whole(spi_period_map *m, int32_t from, int32_t to);
/*
 * The periods at `grain` of fiscal years first_year .. first_year + years - 1 of `cal`,
 * year after year (a year of 53 weeks has 53 columns). Errors (a year out of range, an
 * unknown grain) are recorded under `what`; *m is written only on success.
 */
int spi_period_map_calendar(sp_ctx *ctx, const char *what, spi_period_map *m,
                            const sp_calendar *cal, uint32_t grain, int32_t first_year,
                            uint32_t years);
/* Add a window [from, to) within years 1..9999 (the map reads its days too: a calendar
 * map's table grows to cover them). Unchanged on error. */
int spi_period_map_window(sp_ctx *ctx, const char *what, spi_period_map *m, int32_t from,
                          int32_t to);
/* Read no day before `from` and none from `to` on (periods and windows keep their
 * columns; days outside the limits are just not read). A window added later reads its
 * days again: limit last. */
void spi_period_map_limit(spi_period_map *m, int32_t from, int32_t to);
void spi_period_map_free(sp_ctx *ctx, spi_period_map *m);

/* Kinds one grouping reads (one scan each) and measures it sums (in the same scan). */
#define SPI_GROUP_KINDS_MAX 4
#define SPI_GROUP_MEASURES_MAX 5

typedef struct spi_group_kind {
    uint32_t kind;  /* sp_fact_kind */
    bool negate;    /* netted: its values count negative (refunds against order lines) */
} spi_group_kind;

typedef struct spi_group_spec {
    const char *what;        /* names the operation in messages: "target history" */
    uint32_t column;         /* spi_fact_column: the key */
    uint32_t nkeys;          /* indices the key column may hold (SP_NONE aside): the size
                                of its dictionary; a batch holding another fails */
    const uint32_t *key_map; /* nkeys entries: a group, SPI_GROUP_SKIP or SPI_GROUP_UNKNOWN;
                                NULL: the index is the group (nkeys <= ngroups) */
    const sp_dict *dict;     /* may be NULL: the key's ids, which messages quote */
    uint32_t ngroups;        /* 1 .. SPI_GROUP_LIMIT */
    const spi_period_map *periods;
    size_t nkinds;
    spi_group_kind kinds[SPI_GROUP_KINDS_MAX];
    size_t nmeasures;
    uint32_t measures[SPI_GROUP_MEASURES_MAX]; /* spi_measure */
    bool strict;             /* an unknown id is an error (SP_ENOTFOUND) */
    const char *unknown_as;  /* what a strict error calls an unknown id ("no node of plan
                                \"FY2026\""); NULL: "unknown" */
    const sp_hierarchy *nodes; /* may be NULL: the groups are its nodes (ngroups is its
                                  count), which messages name */
    bool rollup;             /* with nodes: each node's cells become its own plus its
                                descendants' (spi_rollup_rows) */
} spi_group_spec;

/* What a grouping read, over all its kinds. */
typedef struct spi_group_report {
    uint64_t rows;      /* rows the source delivered in the days read */
    uint64_t used;      /* rows added to at least one cell */
    uint64_t no_key;    /* key SP_NONE, or the batch has no key column */
    uint64_t skipped;   /* key mapped to SPI_GROUP_SKIP */
    uint64_t unknown;   /* key mapped to SPI_GROUP_UNKNOWN (not strict) */
    uint64_t unplaced;  /* a known group, but the day is in no period and no window */
    uint64_t unknown_ids;   /* distinct indices among the unknown rows */
    int64_t unknown_amount; /* the unknown rows' amounts (netted kinds negative), exact,
                               then saturated to +-INT64_MAX */
} spi_group_report;

/*
 * Group the facts of spec->kinds from `src`: for each measure m, cells[m] (ngroups x
 * width, row g at cells[m] + g * width, written over) gets per group and column the exact
 * sum of the measure over the rows of that group whose day is in that column's days, then,
 * with spec->rollup, rolled up along spec->nodes. The result does not depend on the
 * order or size of batches: sums are exact (a partial sum beyond int64_t that comes back
 * is fine) and only a group's final cell that does not fit is SP_EOVERFLOW, naming the
 * group ("target history: the amounts of node \"x\" overflow int64_t").
 *
 * Batches are checked by spi_facts_scan (the key column against nkeys). A batch without
 * the key column counts all its rows as no_key; one with the key column but without a
 * column a measure reads is an error naming the batch. Progress and cancellation are
 * those of spi_facts_scan, per kind. On success *report (may be NULL) is written; on
 * error the cells hold garbage and the message names the problem. With a roll-up, the
 * roll-up's messages go to the context of spec->nodes (the caller's, in practice).
 *
 * The inner loop does no allocation, no call and no division per row. With one measure
 * of one column (amount, quantity or cost) it runs a loop chosen once per slice among 32
 * specialised ones: a selection vector or none, a key map or none, a day table or the
 * whole-range map, the kind's sign, and windows (or days without a period) or none.
 * Several measures or margin or count run one general loop.
 */
int spi_group_facts(sp_ctx *ctx, const spi_group_spec *spec, const sp_fact_source *src,
                    const sp_progress *progress, int64_t *const *cells,
                    spi_group_report *report);

/* The key map of dictionary ids to the nodes of h with the same id (SPI_GROUP_UNKNOWN for
 * an id that is no node): sp_dict_count(dict) entries (at least one allocated), freed
 * with spi_free. h must be validated. */
int spi_group_map_nodes(sp_ctx *ctx, const sp_dict *dict, const sp_hierarchy *h,
                        uint32_t **map);

#endif /* SPI_FACTS_INTERNAL_H */
