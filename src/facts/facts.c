/*
 * Fact sources: the batch layouts and their validation, the reading loop every module
 * uses (spi_facts_scan), and the built-in memory fact source.
 *
 * Speed: a slice is checked in one detection pass of loops that only accumulate (a running
 * "any bad" flag per column, the lowest and highest day), which compilers vectorise (and
 * which is compiled for AVX2 too, chosen at run time); the row at fault is searched for
 * only after the pass found one. The day filter reuses the slice's lowest and highest day:
 * a slice wholly inside the query goes to the consumer as it is, with no selection vector
 * and no copy; one wholly outside is skipped; only a slice across a boundary gets a
 * selection vector, built without branches into a buffer allocated once per scan. Slices
 * are large (SPI_FACT_SLICE) because each check pass and the consumer's pass alternate:
 * fewer turns keep the processor's prefetching streaming.
 */
#include <stdio.h>
#include <string.h>

#include "facts_internal.h"

/* ---- the per-kind column table (storage.h) ---- */

enum {
    COL_ID,
    COL_REF,
    COL_DAY,
    COL_TIME,
    COL_REP,
    COL_GRID,
    COL_PRODUCT,
    COL_CUSTOMER,
    COL_CHANNEL,
    COL_STAGE,
    COL_AMOUNT,
    COL_QUANTITY,
    COL_COST,
    NCOLS
};

typedef enum col_check {
    CHECK_NONE,  /* ids: any value */
    CHECK_DAY,   /* SPI_DAY_MIN .. SPI_DAY_MAX */
    CHECK_TIME,  /* SPI_TIME_MIN .. SPI_TIME_MAX */
    CHECK_INDEX, /* below its bound or SP_NONE */
    CHECK_STAGE, /* below its bound, never SP_NONE */
    CHECK_VALUE  /* money or quantity: not INT64_MIN */
} col_check;

static const struct {
    const char *name;
    size_t size;
    col_check check;
    size_t bound; /* offset in spi_fact_bounds (index and stage columns) */
} columns[NCOLS] = {
    [COL_ID] = { "id", sizeof(uint64_t), CHECK_NONE, 0 },
    [COL_REF] = { "ref", sizeof(uint64_t), CHECK_NONE, 0 },
    [COL_DAY] = { "day", sizeof(int32_t), CHECK_DAY, 0 },
    [COL_TIME] = { "time", sizeof(int64_t), CHECK_TIME, 0 },
    [COL_REP] = { "rep", sizeof(uint32_t), CHECK_INDEX, offsetof(spi_fact_bounds, rep) },
    [COL_GRID] = { "grid", sizeof(uint32_t), CHECK_INDEX, offsetof(spi_fact_bounds, grid) },
    [COL_PRODUCT] = { "product", sizeof(uint32_t), CHECK_INDEX,
                      offsetof(spi_fact_bounds, product) },
    [COL_CUSTOMER] = { "customer", sizeof(uint32_t), CHECK_INDEX,
                       offsetof(spi_fact_bounds, customer) },
    [COL_CHANNEL] = { "channel", sizeof(uint32_t), CHECK_INDEX,
                      offsetof(spi_fact_bounds, channel) },
    [COL_STAGE] = { "stage", sizeof(uint32_t), CHECK_STAGE, offsetof(spi_fact_bounds, stage) },
    [COL_AMOUNT] = { "amount", sizeof(int64_t), CHECK_VALUE, 0 },
    [COL_QUANTITY] = { "quantity", sizeof(int64_t), CHECK_VALUE, 0 },
    [COL_COST] = { "cost", sizeof(int64_t), CHECK_VALUE, 0 },
};

#define KIND_MAX SP_FACT_MARKETING_SPEND

/* R required, O optional, - not used; one letter per column in the order above, exactly
 * the table of storage.h. */
static const struct {
    const char *name;
    char use[NCOLS + 1];
    const char *scan; /* names a scan in progress and cancel messages */
} kinds[KIND_MAX + 1] = {
    /*                                 id ref day time rep grid product customer channel
     *                                 stage amount quantity cost */
    [SP_FACT_ORDER_LINES] = { "order lines", "ROROROOO--ROO", "fact source: scan of order lines" },
    [SP_FACT_PAYMENTS] = { "payments", "RRRO------R--", "fact source: scan of payments" },
    [SP_FACT_REFUNDS] = { "refunds", "RRROOOOO--ROO", "fact source: scan of refunds" },
    [SP_FACT_STAGE_EVENTS] = { "stage events", "R-RORO-OORO--",
                               "fact source: scan of stage events" },
    [SP_FACT_MARKETING_SPEND] = { "marketing spend", "--R--O--R-R--",
                                  "fact source: scan of marketing spend" },
};

const char *spi_fact_kind_name(uint32_t kind)
{
    return kind >= 1 && kind <= KIND_MAX ? kinds[kind].name : NULL;
}

static const void *col_get(const sp_fact_batch *b, int c)
{
    switch (c) {
    case COL_ID: return b->id;
    case COL_REF: return b->ref;
    case COL_DAY: return b->day;
    case COL_TIME: return b->time;
    case COL_REP: return b->rep;
    case COL_GRID: return b->grid;
    case COL_PRODUCT: return b->product;
    case COL_CUSTOMER: return b->customer;
    case COL_CHANNEL: return b->channel;
    case COL_STAGE: return b->stage;
    case COL_AMOUNT: return b->amount;
    case COL_QUANTITY: return b->quantity;
    default: return b->cost;
    }
}

static void col_set(sp_fact_batch *b, int c, const void *p)
{
    switch (c) {
    case COL_ID: b->id = p; break;
    case COL_REF: b->ref = p; break;
    case COL_DAY: b->day = p; break;
    case COL_TIME: b->time = p; break;
    case COL_REP: b->rep = p; break;
    case COL_GRID: b->grid = p; break;
    case COL_PRODUCT: b->product = p; break;
    case COL_CUSTOMER: b->customer = p; break;
    case COL_CHANNEL: b->channel = p; break;
    case COL_STAGE: b->stage = p; break;
    case COL_AMOUNT: b->amount = p; break;
    case COL_QUANTITY: b->quantity = p; break;
    default: b->cost = p; break;
    }
}

/* The key columns of a grouping, in the table's order. */
_Static_assert(COL_REP + SPI_COLUMN_GRID == COL_GRID &&
                   COL_REP + SPI_COLUMN_PRODUCT == COL_PRODUCT &&
                   COL_REP + SPI_COLUMN_CUSTOMER == COL_CUSTOMER &&
                   COL_REP + SPI_COLUMN_CHANNEL == COL_CHANNEL,
               "spi_fact_column follows the index columns of the table");

const char *spi_fact_column_name(uint32_t column)
{
    return column <= SPI_COLUMN_CHANNEL ? columns[COL_REP + column].name : NULL;
}

const uint32_t *spi_fact_key_column(const sp_fact_batch *b, uint32_t column)
{
    return col_get(b, COL_REP + (int)column);
}

void spi_fact_bounds_set(spi_fact_bounds *bounds, uint32_t column, uint32_t size)
{
    memcpy((char *)bounds + columns[COL_REP + column].bound, &size, sizeof size);
}

/* ---- versioned structs ---- */

static const size_t batch_sizes[] = { 0, sizeof(sp_fact_batch) };
static const size_t query_sizes[] = { 0, sizeof(sp_fact_query) };
static const size_t source_sizes[] = { 0, sizeof(sp_fact_source) };

SPI_DEFINE_INIT(sp_fact_batch, batch_sizes, SP_FACT_BATCH_VERSION, SP_FACT_BATCH_INIT)

SPI_DEFINE_INIT(sp_fact_query, query_sizes, SP_FACT_QUERY_VERSION, SP_FACT_QUERY_INIT)

SPI_DEFINE_INIT(sp_fact_source, source_sizes, SP_FACT_SOURCE_VERSION, SP_FACT_SOURCE_INIT)

/* ---- batch validation ---- */

/* "order lines batch" or "order lines batch 3". */
typedef struct batch_name {
    char text[48];
} batch_name;

static const char *name_batch(batch_name *n, uint32_t kind, uint64_t ordinal)
{
    if (ordinal == 0)
        snprintf(n->text, sizeof n->text, "%s batch", kinds[kind].name);
    else
        snprintf(n->text, sizeof n->text, "%s batch %llu", kinds[kind].name,
                 (unsigned long long)ordinal);
    return n->text;
}

/*
 * Wording a failed check: check_rows calls these only for a column whose detection pass
 * (scan_slice_body) found a value at fault, so each is a plain search for the first one
 * (n when none, which the pass rules out). `b` holds rows first .. first + b->count - 1
 * of the batch, and messages give rows by their position in the batch.
 */
static size_t find_i64_outside(const int64_t *v, size_t n, int64_t lo, int64_t hi)
{
    size_t i = 0;
    while (i < n && v[i] >= lo && v[i] <= hi)
        i++;
    return i;
}

static size_t find_i64_min(const int64_t *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] != INT64_MIN)
        i++;
    return i;
}

static size_t find_i64_negative(const int64_t *v, size_t n)
{
    size_t i = 0;
    while (i < n && v[i] >= 0)
        i++;
    return i;
}

/* An index that is neither below `bound` nor, when none_ok, SP_NONE. */
static size_t find_bad_index(const uint32_t *v, size_t n, uint32_t bound, bool none_ok)
{
    size_t i = 0;
    while (i < n && (v[i] < bound || (none_ok && v[i] == SP_NONE)))
        i++;
    return i;
}

/* A day outside years 1 to 9999: the slice's lowest or highest day is one. */
static int fail_day(sp_ctx *ctx, const char *what, const int32_t *day, size_t n, size_t first)
{
    size_t i = 0;
    while (i + 1 < n && spi_day_supported(day[i]))
        i++;
    return spi_fail(ctx, SP_EINVAL,
                    "%s: day[%zu] = %ld is outside years 1 to 9999 (days %ld to %ld)", what,
                    first + i, (long)day[i], (long)SPI_DAY_MIN, (long)SPI_DAY_MAX);
}

static int check_column(sp_ctx *ctx, const char *what, const sp_fact_batch *b, size_t first,
                        int c, const uint32_t *bound)
{
    const void *p = col_get(b, c);
    size_t n = b->count, i;
    const char *name = columns[c].name;
    switch (columns[c].check) {
    case CHECK_NONE:
    case CHECK_DAY: /* with the day filter, in check_rows */
        return SP_OK;
    case CHECK_TIME:
        i = find_i64_outside(p, n, SPI_TIME_MIN, SPI_TIME_MAX);
        if (i < n)
            return spi_fail(ctx, SP_EINVAL,
                            "%s: time[%zu] = %lld is outside years 1 to 9999 (seconds %lld to "
                            "%lld)",
                            what, first + i, (long long)b->time[i], (long long)SPI_TIME_MIN,
                            (long long)SPI_TIME_MAX);
        return SP_OK;
    case CHECK_VALUE: {
        /* Refunds are money returned: never negative (INT64_MIN among them). */
        const int64_t *v = p;
        if (c == COL_AMOUNT && b->kind == SP_FACT_REFUNDS)
            i = find_i64_negative(v, n);
        else
            i = find_i64_min(v, n);
        if (i < n && v[i] == INT64_MIN)
            return spi_fail(ctx, SP_EINVAL, "%s: %s[%zu] is INT64_MIN, which has no negation",
                            what, name, first + i);
        if (i < n)
            return spi_fail(ctx, SP_EINVAL,
                            "%s: amount[%zu] = %lld is negative (a refund is money returned)",
                            what, first + i, (long long)v[i]);
        return SP_OK;
    }
    case CHECK_INDEX:
    case CHECK_STAGE: {
        bool stage = columns[c].check == CHECK_STAGE;
        const uint32_t *v = p;
        i = find_bad_index(v, n, bound[c], !stage);
        if (i == n)
            return SP_OK;
        if (v[i] == SP_NONE)
            return spi_fail(ctx, SP_EINVAL, "%s: stage[%zu] is SP_NONE (every stage event names "
                            "a stage)", what, first + i);
        if (stage)
            return spi_fail(ctx, SP_EINVAL,
                            "%s: stage[%zu] = %lu is not a known stage (the funnel has %lu)",
                            what, first + i, (unsigned long)v[i], (unsigned long)bound[c]);
        return spi_fail(ctx, SP_EINVAL,
                        "%s: %s[%zu] = %lu is not a known index (dictionary has %lu)", what,
                        name, first + i, (unsigned long)v[i], (unsigned long)bound[c]);
    }
    }
    return SP_OK;
}

/*
 * The detection pass of a slice: its lowest and highest day, and per column whether some
 * value fails its check (bit c of `bad`); the failing row is searched for (and worded)
 * only then, by check_column. Every test is a reduction without branches, run over
 * blocks of a fixed count so that compilers vectorise it even at -O2; on x86-64 the same
 * pass is also compiled for AVX2 (64-bit comparisons, 8 lanes) and picked per slice when
 * the processor has it.
 */
#define SCAN_BLOCK 64

typedef struct slice_scan {
    int32_t lo, hi;
    uint32_t bad;
} slice_scan;

/* acc |= test for each row r of 0..n, in blocks. */
#define REDUCE_OR(acc, n, test)                                                               \
    do {                                                                                      \
        size_t r0_ = 0;                                                                       \
        for (; r0_ + SCAN_BLOCK <= (n); r0_ += SCAN_BLOCK)                                    \
            for (size_t j_ = 0; j_ < SCAN_BLOCK; j_++) {                                      \
                const size_t r = r0_ + j_;                                                    \
                (acc) |= (test);                                                              \
            }                                                                                 \
        for (; r0_ < (n); r0_++) {                                                            \
            const size_t r = r0_;                                                             \
            (acc) |= (test);                                                                  \
        }                                                                                     \
    } while (0)

static SPI_FORCE_INLINE void scan_slice_body(const sp_fact_batch *b, const uint32_t *bound,
                                             slice_scan *out)
{
    const size_t n = b->count;
    const int32_t *day = b->day;
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    size_t d = 0;
    for (; d + SCAN_BLOCK <= n; d += SCAN_BLOCK)
        for (size_t j = 0; j < SCAN_BLOCK; j++) {
            lo = day[d + j] < lo ? day[d + j] : lo;
            hi = day[d + j] > hi ? day[d + j] : hi;
        }
    for (; d < n; d++) {
        lo = day[d] < lo ? day[d] : lo;
        hi = day[d] > hi ? day[d] : hi;
    }
    uint32_t bad = 0;
    if (b->time != NULL) {
        const int64_t *t = b->time;
        uint32_t x = 0;
        REDUCE_OR(x, n, (uint32_t)((t[r] < SPI_TIME_MIN) | (t[r] > SPI_TIME_MAX)));
        bad |= (uint32_t)(x != 0) << COL_TIME;
    }
    /* Index columns: v + 1 above the bound (SP_NONE wraps to 0); no bound, nothing to
     * read. Stages: never SP_NONE. */
    for (int c = COL_REP; c <= COL_CHANNEL; c++) {
        const uint32_t *v = col_get(b, c);
        uint32_t x = 0, k = bound[c];
        if (v != NULL && k != SPI_FACT_ANY) {
            REDUCE_OR(x, n, (uint32_t)((uint32_t)(v[r] + 1u) > k));
            bad |= (uint32_t)(x != 0) << c;
        }
    }
    if (b->stage != NULL) {
        const uint32_t *v = b->stage;
        uint32_t x = 0, k = bound[COL_STAGE];
        REDUCE_OR(x, n, (uint32_t)(v[r] >= k));
        bad |= (uint32_t)(x != 0) << COL_STAGE;
    }
    /* Money and quantities: INT64_MIN is u = v + 2^63 == 0, that is (u - 1) & ~u with its
     * top bit set (additions and bit operations: SSE2 has no 64-bit comparison); refund
     * amounts: the sign bits ORed. */
    for (int c = COL_AMOUNT; c <= COL_COST; c++) {
        const int64_t *v = col_get(b, c);
        const uint64_t half = UINT64_C(0x7FFFFFFFFFFFFFFF);
        uint64_t x = 0;
        if (v == NULL)
            continue;
        if (c == COL_AMOUNT && b->kind == SP_FACT_REFUNDS)
            REDUCE_OR(x, n, (uint64_t)v[r]);
        else
            REDUCE_OR(x, n, ((uint64_t)v[r] + half) & ((uint64_t)v[r] ^ half));
        bad |= (uint32_t)(x >> 63) << c;
    }
    out->lo = lo;
    out->hi = hi;
    out->bad = bad;
}

static void scan_slice_plain(const sp_fact_batch *b, const uint32_t *bound, slice_scan *out)
{
    scan_slice_body(b, bound, out);
}

#if defined(__x86_64__) && defined(__GNUC__)
#define SCAN_AVX2 1
__attribute__((target("avx2"))) static void scan_slice_avx2(const sp_fact_batch *b,
                                                            const uint32_t *bound,
                                                            slice_scan *out)
{
    scan_slice_body(b, bound, out);
}
#endif

/* Every value check of a (slice of a) batch whose header passed; days[] gets the lowest
 * and highest day. Messages in the order of the columns, the day first. */
static int check_rows(sp_ctx *ctx, const char *what, const sp_fact_batch *b, size_t first,
                      const spi_fact_bounds *bounds, int32_t days[2])
{
    uint32_t bound[NCOLS];
    for (int c = 0; c < NCOLS; c++) {
        bound[c] = SPI_FACT_ANY;
        if (bounds != NULL && (columns[c].check == CHECK_INDEX || columns[c].check == CHECK_STAGE))
            memcpy(&bound[c], (const char *)bounds + columns[c].bound, sizeof bound[c]);
    }
    slice_scan sc;
#ifdef SCAN_AVX2
    if (__builtin_cpu_supports("avx2"))
        scan_slice_avx2(b, bound, &sc);
    else
#endif
        scan_slice_plain(b, bound, &sc);
    if (sc.lo < SPI_DAY_MIN || sc.hi > SPI_DAY_MAX)
        return fail_day(ctx, what, b->day, b->count, first);
    for (int c = 0; sc.bad != 0 && c < NCOLS; c++) {
        int rc = (sc.bad >> c) & 1 ? check_column(ctx, what, b, first, c, bound) : SP_OK;
        if (rc != SP_OK)
            return rc;
    }
    days[0] = sc.lo;
    days[1] = sc.hi;
    return SP_OK;
}

/* Version, kind and which columns are there; *out gets the batch as of this version. */
static int check_header(sp_ctx *ctx, const sp_fact_batch *batch, uint64_t ordinal,
                        sp_fact_batch *out, batch_name *bn)
{
    if (batch == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact batch is NULL");
    sp_fact_batch b = SP_FACT_BATCH_INIT;
    int rc = spi_struct_read(ctx, "sp_fact_batch", &b, batch, batch_sizes, SP_FACT_BATCH_VERSION);
    if (rc != SP_OK)
        return rc;
    b.version = SP_FACT_BATCH_VERSION;
    if (spi_fact_kind_name(b.kind) == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact batch: unknown kind %lu", (unsigned long)b.kind);
    const char *what = name_batch(bn, b.kind, ordinal);
    const char *use = kinds[b.kind].use;
    /* Which columns a kind has does not depend on the count: a column of another kind is
     * a mistake even in an empty batch. */
    for (int c = 0; c < NCOLS; c++)
        if (use[c] == '-' && col_get(&b, c) != NULL)
            return spi_fail(ctx, SP_EINVAL, "%s: column %s is not part of %s facts (must be NULL)",
                            what, columns[c].name, kinds[b.kind].name);
    for (int c = 0; b.count > 0 && c < NCOLS; c++)
        if (use[c] == 'R' && col_get(&b, c) == NULL)
            return spi_fail(ctx, SP_EINVAL, "%s: required column %s is NULL (count %zu)", what,
                            columns[c].name, b.count);
    *out = b;
    return SP_OK;
}

int spi_fact_batch_check(sp_ctx *ctx, const sp_fact_batch *batch, const spi_fact_bounds *bounds,
                         uint64_t ordinal, sp_fact_batch *out, int32_t days[2])
{
    sp_fact_batch b;
    batch_name bn;
    int rc = check_header(ctx, batch, ordinal, &b, &bn);
    int32_t range[2] = { 0, 0 };
    if (rc == SP_OK && b.count > 0)
        rc = check_rows(ctx, bn.text, &b, 0, bounds, range);
    if (rc != SP_OK)
        return rc;
    *out = b;
    if (days != NULL) {
        days[0] = range[0];
        days[1] = range[1];
    }
    return SP_OK;
}

/* ---- the reading loop ---- */

typedef struct scan_state {
    sp_ctx *ctx;
    const spi_fact_bounds *bounds;
    uint32_t kind;
    int32_t from, to;
    spi_fact_consumer_fn consume;
    void *arg;
    spi_progress progress;
    uint32_t *sel; /* SPI_FACT_SLICE positions, allocated on first need */
    uint64_t rows, batches;
    int stop;              /* the status the sink stopped the scan with */
    uint64_t calls_after;  /* sink calls after it said stop */
} scan_state;

/* The rows of one slice in [from, to): positions into st->sel without branches. */
static size_t select_rows(const scan_state *st, const int32_t *day, size_t n)
{
    uint32_t from = (uint32_t)st->from, span = (uint32_t)st->to - from;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        st->sel[k] = (uint32_t)i;
        k += (uint32_t)day[i] - from < span;
    }
    return k;
}

static sp_fact_batch slice_of(const sp_fact_batch *b, size_t start, size_t n)
{
    sp_fact_batch s = *b;
    s.count = n;
    for (int c = 0; c < NCOLS; c++) {
        const unsigned char *p = col_get(b, c);
        if (p != NULL)
            col_set(&s, c, p + start * columns[c].size);
    }
    return s;
}

/* One checked slice to the consumer: whole, through the selection vector, or not at all,
 * by its lowest and highest day. */
static int deliver(scan_state *st, const sp_fact_batch *s, size_t first, const int32_t days[2])
{
    size_t n = s->count;
    int rc = SP_OK;
    const spi_fact_where at = { st->batches, first, days[0], days[1] };
    if (days[0] >= st->from && days[1] < st->to) {
        rc = st->consume(st->arg, s, NULL, n, &at);
    } else if (days[1] >= st->from && days[0] < st->to) {
        if (st->sel == NULL) {
            st->sel = spi_malloc_array(st->ctx, SPI_FACT_SLICE, sizeof *st->sel);
            if (st->sel == NULL)
                return SP_ENOMEM;
        }
        /* Some row is out (a day below from or not below to); maybe all are. */
        size_t k = select_rows(st, s->day, n);
        if (k > 0)
            rc = st->consume(st->arg, s, st->sel, k, &at);
    }
    if (rc != SP_OK)
        return rc;
    st->rows += n;
    return spi_progress_tick(&st->progress, st->rows);
}

/*
 * Slice by slice, check then deliver: the consumer reads each slice while the check has
 * just brought it into the cache, and a slice's own lowest and highest day decide the
 * filter (date-ordered sources mostly give whole or skipped slices).
 */
static int sink(void *arg, const sp_fact_batch *batch)
{
    scan_state *st = arg;
    if (st->stop != SP_OK) {
        st->calls_after++;
        return st->stop;
    }
    st->batches++;
    sp_fact_batch b;
    batch_name bn;
    int rc = check_header(st->ctx, batch, st->batches, &b, &bn);
    if (rc == SP_OK && b.kind != st->kind)
        rc = spi_fail(st->ctx, SP_EINVAL, "fact source: asked for %s, batch %llu holds %s",
                      kinds[st->kind].name, (unsigned long long)st->batches, kinds[b.kind].name);
    for (size_t start = 0; rc == SP_OK && start < b.count; start += SPI_FACT_SLICE) {
        size_t n = b.count - start < SPI_FACT_SLICE ? b.count - start : SPI_FACT_SLICE;
        sp_fact_batch s = slice_of(&b, start, n);
        int32_t days[2];
        rc = check_rows(st->ctx, bn.text, &s, start, st->bounds, days);
        if (rc == SP_OK)
            rc = deliver(st, &s, start, days);
    }
    st->stop = rc;
    return rc;
}

/* Say in the message that the source did not stop when told, keeping the code (and the
 * host's own code and text, for SP_EUSER). */
static void note_ignored_stop(const scan_state *st, int returned)
{
    char calls[64] = "", ret[48] = "";
    if (st->calls_after > 0)
        snprintf(calls, sizeof calls, "it called the sink %llu more times",
                 (unsigned long long)st->calls_after);
    if (returned != st->stop)
        snprintf(ret, sizeof ret, "its scan returned %d", returned);
    sp_ctx *ctx = st->ctx;
    size_t len = strlen(ctx->errmsg);
    snprintf(ctx->errmsg + len, sizeof ctx->errmsg - len,
             " [the fact source did not stop on status %d: %s%s%s]", st->stop, calls,
             calls[0] != '\0' && ret[0] != '\0' ? " and " : "", ret);
}

int spi_facts_scan(sp_ctx *ctx, const sp_fact_source *src, const sp_fact_query *query,
                   const spi_fact_bounds *bounds, const sp_progress *progress,
                   spi_fact_consumer_fn consume, void *arg)
{
    if (src == NULL || query == NULL || consume == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact source: %s is NULL",
                        src == NULL ? "source" : query == NULL ? "query" : "consumer");
    sp_fact_source s = SP_FACT_SOURCE_INIT;
    int rc = spi_struct_read(ctx, "sp_fact_source", &s, src, source_sizes, SP_FACT_SOURCE_VERSION);
    if (rc != SP_OK)
        return rc;
    if (s.scan == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact source: scan is NULL");
    sp_fact_query q = { SP_FACT_QUERY_VERSION, 0, INT32_MIN, INT32_MAX };
    rc = spi_struct_read(ctx, "sp_fact_query", &q, query, query_sizes, SP_FACT_QUERY_VERSION);
    if (rc != SP_OK)
        return rc;
    if (spi_fact_kind_name(q.kind) == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact query: unknown kind %lu", (unsigned long)q.kind);
    if (q.from_day > q.to_day)
        return spi_fail(ctx, SP_EINVAL, "fact query: from_day %ld is after to_day %ld",
                        (long)q.from_day, (long)q.to_day);

    scan_state st = { .ctx = ctx, .bounds = bounds, .kind = q.kind, .from = q.from_day,
                      .to = q.to_day, .consume = consume, .arg = arg };
    rc = spi_progress_start(&st.progress, ctx, progress, kinds[q.kind].scan, 0);
    if (rc != SP_OK)
        return rc;
    /* An empty range asks for nothing. */
    if (q.from_day < q.to_day)
        rc = s.scan(s.user, &q, sink, &st);
    spi_free(ctx, st.sel);
    if (st.stop != SP_OK) {
        if (rc != st.stop || st.calls_after > 0)
            note_ignored_stop(&st, rc);
        return st.stop;
    }
    if (rc != SP_OK)
        return spi_host_status(ctx, rc, s.errmsg != NULL ? s.errmsg(s.user) : NULL, "%s",
                               kinds[q.kind].scan);
    return spi_progress_finish(&st.progress, st.rows);
}

/* ---- the memory fact source ---- */

/* Rows per batch the memory source hands to the sink. */
#define MEMORY_BATCH_ROWS 4096u

typedef struct memory_kind {
    size_t count, cap;
    void *col[NCOLS]; /* the columns of the first non-empty batch; NULL for the others */
} memory_kind;

typedef struct memory_source {
    sp_fact_source table; /* first: the handle given out is &table */
    sp_ctx *ctx;
    memory_kind kinds[KIND_MAX + 1];
} memory_source;

static int memory_scan(void *user, const sp_fact_query *query, sp_fact_sink_fn sink_fn,
                       void *sink_arg)
{
    memory_source *m = user;
    if (query == NULL || spi_fact_kind_name(query->kind) == NULL)
        return spi_fail(m->ctx, SP_EINVAL, "memory fact source: the query has no known kind");
    const memory_kind *k = &m->kinds[query->kind];
    sp_fact_batch all = SP_FACT_BATCH_INIT;
    all.kind = query->kind;
    all.count = k->count;
    for (int c = 0; c < NCOLS; c++)
        col_set(&all, c, k->col[c]);
    for (size_t start = 0; start < k->count; start += MEMORY_BATCH_ROWS) {
        size_t n = k->count - start < MEMORY_BATCH_ROWS ? k->count - start : MEMORY_BATCH_ROWS;
        sp_fact_batch b = slice_of(&all, start, n);
        int rc = sink_fn(sink_arg, &b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static void memory_destroy(void *user)
{
    memory_source *m = user;
    for (int kind = 1; kind <= KIND_MAX; kind++)
        for (int c = 0; c < NCOLS; c++)
            spi_free(m->ctx, m->kinds[kind].col[c]);
    spi_free(m->ctx, m);
}

int sp_fact_source_memory_new(sp_fact_source **out, sp_ctx *ctx)
{
    if (out == NULL || ctx == NULL)
        return spi_fail(ctx, SP_EINVAL, "memory fact source: %s is NULL",
                        out == NULL ? "out" : "ctx");
    memory_source *m = spi_malloc(ctx, sizeof *m);
    if (m == NULL)
        return SP_ENOMEM;
    memset(m, 0, sizeof *m);
    m->ctx = ctx;
    sp_fact_source table = SP_FACT_SOURCE_INIT;
    table.user = m;
    table.scan = memory_scan;
    table.destroy = memory_destroy;
    m->table = table;
    *out = &m->table;
    return SP_OK;
}

/*
 * The columns of a kind are those of its first non-empty batch; later batches must bring
 * the same ones, so that every stored row has every stored column.
 */
static int same_columns(sp_ctx *ctx, const memory_kind *k, const sp_fact_batch *b)
{
    if (k->count == 0)
        return SP_OK;
    for (int c = 0; c < NCOLS; c++) {
        bool have = k->col[c] != NULL, given = col_get(b, c) != NULL;
        if (have == given)
            continue;
        batch_name bn;
        return spi_fail(ctx, SP_EINVAL,
                        given ? "memory fact source: %s: column %s is given, but the %s held "
                                "have none (every batch of a kind brings the same columns)"
                              : "memory fact source: %s: column %s is NULL, but the %s held "
                                "have one (every batch of a kind brings the same columns)",
                        name_batch(&bn, b->kind, 0), columns[c].name, kinds[b->kind].name);
    }
    return SP_OK;
}

/* Room for `need` rows in every column the batch brings; on failure, columns made here
 * are freed again and the others keep their rows. */
static int grow_columns(memory_source *m, memory_kind *k, const sp_fact_batch *b, size_t need)
{
    if (need <= k->cap)
        return SP_OK;
    size_t cap = k->cap * 2 > need ? k->cap * 2 : need;
    bool made[NCOLS] = { false };
    for (int c = 0; c < NCOLS; c++) {
        if (col_get(b, c) == NULL)
            continue;
        void *p = spi_realloc_array(m->ctx, k->col[c], cap, columns[c].size);
        if (p == NULL) {
            for (int u = 0; u < c; u++)
                if (made[u]) {
                    spi_free(m->ctx, k->col[u]);
                    k->col[u] = NULL;
                }
            return SP_ENOMEM;
        }
        made[c] = k->col[c] == NULL;
        k->col[c] = p;
    }
    k->cap = cap;
    return SP_OK;
}

int sp_fact_source_memory_append(sp_fact_source *source, const sp_fact_batch *batch)
{
    if (source == NULL || source->scan != memory_scan)
        return SP_EINVAL;
    memory_source *m = source->user;
    sp_fact_batch b;
    int rc = spi_fact_batch_check(m->ctx, batch, NULL, 0, &b, NULL);
    if (rc != SP_OK)
        return rc;
    if (b.count == 0)
        return SP_OK;
    memory_kind *k = &m->kinds[b.kind];
    rc = same_columns(m->ctx, k, &b);
    if (rc != SP_OK)
        return rc;
    if (b.count > SIZE_MAX - k->count)
        return spi_fail(m->ctx, SP_ENOMEM, "memory fact source: too many rows");
    rc = grow_columns(m, k, &b, k->count + b.count);
    if (rc != SP_OK)
        return rc;
    for (int c = 0; c < NCOLS; c++) {
        const void *p = col_get(&b, c);
        if (p != NULL)
            memcpy((unsigned char *)k->col[c] + k->count * columns[c].size, p,
                   b.count * columns[c].size);
    }
    k->count += b.count;
    return SP_OK;
}

void sp_fact_source_free(sp_fact_source *source)
{
    if (source != NULL && source->destroy != NULL)
        source->destroy(source->user);
}
