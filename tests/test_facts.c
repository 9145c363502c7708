/* Fact batches, the reading loop (spi_facts_scan) and the memory fact source. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"
/* The reading loop is internal: this program links the objects library. */
#include "facts/facts_internal.h"

/* ---- test data: every column filled, for any kind ---- */

#define MAX_ROWS 50000

typedef struct table {
    uint64_t id[MAX_ROWS], ref[MAX_ROWS];
    int32_t day[MAX_ROWS];
    int64_t time[MAX_ROWS];
    uint32_t rep[MAX_ROWS], grid[MAX_ROWS], product[MAX_ROWS], customer[MAX_ROWS],
        channel[MAX_ROWS], stage[MAX_ROWS];
    int64_t amount[MAX_ROWS], quantity[MAX_ROWS], cost[MAX_ROWS];
} table;

static table *new_table(size_t n)
{
    table *t = calloc(1, sizeof *t);
    for (size_t i = 0; i < n; i++) {
        t->id[i] = 1000 + i;
        t->ref[i] = 500 + i / 2;
        t->day[i] = 20454 + (int32_t)(i % 365); /* 2026-01-01 + i mod 365 */
        t->time[i] = (int64_t)t->day[i] * 86400 + 3600;
        t->rep[i] = (uint32_t)(i % 40);
        t->grid[i] = (uint32_t)(i % 7);
        t->product[i] = (uint32_t)(i % 11);
        t->customer[i] = (uint32_t)(i % 13);
        t->channel[i] = (uint32_t)(i % 3);
        t->stage[i] = (uint32_t)(i % 5);
        t->amount[i] = 100 * (int64_t)(i + 1);
        t->quantity[i] = (int64_t)(i % 4) + 1;
        t->cost[i] = 60 * (int64_t)(i + 1);
    }
    return t;
}

static const char *const column_names[] = { "id",      "ref",      "day",     "time",  "rep",
                                            "grid",    "product",  "customer", "channel",
                                            "stage",   "amount",   "quantity", "cost" };
#define NCOL (sizeof column_names / sizeof column_names[0])

/* Point column `name` of b at row `start` of t, or NULL it. */
static void set_column(sp_fact_batch *b, const table *t, const char *name, size_t start, bool on)
{
    if (strcmp(name, "id") == 0) b->id = on ? t->id + start : NULL;
    else if (strcmp(name, "ref") == 0) b->ref = on ? t->ref + start : NULL;
    else if (strcmp(name, "day") == 0) b->day = on ? t->day + start : NULL;
    else if (strcmp(name, "time") == 0) b->time = on ? t->time + start : NULL;
    else if (strcmp(name, "rep") == 0) b->rep = on ? t->rep + start : NULL;
    else if (strcmp(name, "grid") == 0) b->grid = on ? t->grid + start : NULL;
    else if (strcmp(name, "product") == 0) b->product = on ? t->product + start : NULL;
    else if (strcmp(name, "customer") == 0) b->customer = on ? t->customer + start : NULL;
    else if (strcmp(name, "channel") == 0) b->channel = on ? t->channel + start : NULL;
    else if (strcmp(name, "stage") == 0) b->stage = on ? t->stage + start : NULL;
    else if (strcmp(name, "amount") == 0) b->amount = on ? t->amount + start : NULL;
    else if (strcmp(name, "quantity") == 0) b->quantity = on ? t->quantity + start : NULL;
    else if (strcmp(name, "cost") == 0) b->cost = on ? t->cost + start : NULL;
    else fail_msg("no column %s", name);
}

/* The column table of storage.h, written out again: required and unused columns. */
static const struct {
    const char *name;
    const char *required, *optional, *unused;
} kind_table[] = {
    [SP_FACT_ORDER_LINES] = { "order lines", "id day rep amount",
                              "ref time grid product customer quantity cost", "channel stage" },
    [SP_FACT_PAYMENTS] = { "payments", "id ref day amount", "time",
                           "rep grid product customer channel stage quantity cost" },
    [SP_FACT_REFUNDS] = { "refunds", "id ref day amount",
                          "time rep grid product customer quantity cost", "channel stage" },
    [SP_FACT_STAGE_EVENTS] = { "stage events", "id day rep stage",
                               "time grid customer channel amount", "ref product quantity cost" },
    [SP_FACT_MARKETING_SPEND] = { "marketing spend", "day channel amount", "grid",
                                  "id ref time rep product customer stage quantity cost" },
};

static bool listed(const char *list, const char *name)
{
    char copy[200];
    snprintf(copy, sizeof copy, "%s", list);
    for (char *w = strtok(copy, " "); w != NULL; w = strtok(NULL, " "))
        if (strcmp(w, name) == 0)
            return true;
    return false;
}

/* A batch of `kind` over rows [start, start + n) of t with every column the kind uses. */
static sp_fact_batch full_batch(uint32_t kind, const table *t, size_t start, size_t n)
{
    sp_fact_batch b = SP_FACT_BATCH_INIT;
    b.kind = kind;
    b.count = n;
    for (size_t c = 0; c < NCOL; c++)
        set_column(&b, t, column_names[c], start,
                   !listed(kind_table[kind].unused, column_names[c]));
    return b;
}

static int check(sp_ctx *ctx, const sp_fact_batch *b, const spi_fact_bounds *bounds)
{
    sp_fact_batch out;
    return spi_fact_batch_check(ctx, b, bounds, 0, &out, NULL);
}

/* ---- versioned structs ---- */

static void test_init(void **state)
{
    (void)state;
    sp_fact_batch b;
    memset(&b, 0xAB, sizeof b);
    assert_int_equal(sp_fact_batch_init(&b, SP_FACT_BATCH_VERSION), SP_OK);
    assert_int_equal(b.version, 1);
    assert_int_equal(b.kind, 0);
    assert_int_equal(b.count, 0);
    assert_null(b.id);
    assert_null(b.cost);
    assert_int_equal(sp_fact_batch_init(&b, 0), SP_EVERSION);
    assert_int_equal(sp_fact_batch_init(&b, 2), SP_EVERSION);
    assert_int_equal(sp_fact_batch_init(NULL, 1), SP_EINVAL);

    sp_fact_source s;
    memset(&s, 0xAB, sizeof s);
    assert_int_equal(sp_fact_source_init(&s, SP_FACT_SOURCE_VERSION), SP_OK);
    assert_int_equal(s.version, 1);
    assert_null(s.user);
    assert_null(s.scan);
    assert_null(s.errmsg);
    assert_null(s.destroy);
    assert_int_equal(sp_fact_source_init(&s, 2), SP_EVERSION);
    assert_int_equal(sp_fact_source_init(NULL, 1), SP_EINVAL);
    sp_fact_source_free(NULL);
}

/* ---- batch validation ---- */

static void test_required_and_unused_columns(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(10);
    for (uint32_t kind = SP_FACT_ORDER_LINES; kind <= SP_FACT_MARKETING_SPEND; kind++) {
        sp_fact_batch b = full_batch(kind, t, 0, 10);
        assert_int_equal(check(ctx, &b, NULL), SP_OK);
        char want[200];
        for (size_t c = 0; c < NCOL; c++) {
            const char *col = column_names[c];
            if (listed(kind_table[kind].required, col)) {
                /* Each required column missing in turn. */
                set_column(&b, t, col, 0, false);
                snprintf(want, sizeof want, "%s batch: required column %s is NULL (count 10)",
                         kind_table[kind].name, col);
                assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
                assert_string_equal(sp_ctx_errmsg(ctx), want);
                /* An empty batch needs no columns. */
                b.count = 0;
                assert_int_equal(check(ctx, &b, NULL), SP_OK);
                b.count = 10;
                set_column(&b, t, col, 0, true);
            } else if (listed(kind_table[kind].optional, col)) {
                set_column(&b, t, col, 0, false);
                assert_int_equal(check(ctx, &b, NULL), SP_OK);
                set_column(&b, t, col, 0, true);
            } else {
                /* A column the kind does not use is refused, even in an empty batch. */
                assert_true(listed(kind_table[kind].unused, col));
                set_column(&b, t, col, 0, true);
                snprintf(want, sizeof want,
                         "%s batch: column %s is not part of %s facts (must be NULL)",
                         kind_table[kind].name, col, kind_table[kind].name);
                assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
                assert_string_equal(sp_ctx_errmsg(ctx), want);
                b.count = 0;
                assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
                b.count = 10;
                set_column(&b, t, col, 0, false);
            }
        }
    }
    free(t);
    sp_ctx_free(ctx);
}

static void test_batch_header(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(4);
    sp_fact_batch b = full_batch(SP_FACT_PAYMENTS, t, 0, 4);
    assert_int_equal(check(ctx, NULL, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact batch is NULL");
    b.version = 2;
    assert_int_equal(check(ctx, &b, NULL), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "sp_fact_batch: version 2 is not supported (this library knows 1 to 1)");
    b.version = 0;
    assert_int_equal(check(ctx, &b, NULL), SP_EVERSION);
    b.version = 1;
    b.kind = 0;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact batch: unknown kind 0");
    b.kind = 6;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact batch: unknown kind 6");
    free(t);
    sp_ctx_free(ctx);
}

static void test_values(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(20);
    sp_fact_batch b = full_batch(SP_FACT_ORDER_LINES, t, 0, 20);
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    bounds.rep = 40;
    sp_fact_batch out;
    int32_t days[2];
    assert_int_equal(spi_fact_batch_check(ctx, &b, &bounds, 0, &out, days), SP_OK);
    assert_int_equal(days[0], 20454);
    assert_int_equal(days[1], 20454 + 19);
    assert_ptr_equal(out.rep, t->rep);
    assert_int_equal(out.version, SP_FACT_BATCH_VERSION);

    /* Indices: below the dictionary's size or SP_NONE. */
    t->rep[12] = 9001;
    assert_int_equal(check(ctx, &b, &bounds), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "order lines batch: rep[12] = 9001 is not a known index (dictionary has 40)");
    assert_int_equal(spi_fact_batch_check(ctx, &b, &bounds, 3, &out, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "order lines batch 3: rep[12] = 9001 is not a known "
                                            "index (dictionary has 40)");
    /* Without bounds (or with SPI_FACT_ANY) indices are not checked. */
    assert_int_equal(check(ctx, &b, NULL), SP_OK);
    t->rep[12] = 40;
    assert_int_equal(check(ctx, &b, &bounds), SP_EINVAL);
    t->rep[12] = 39;
    t->rep[13] = SP_NONE;
    assert_int_equal(check(ctx, &b, &bounds), SP_OK);
    bounds.customer = 13;
    t->customer[19] = 13;
    assert_int_equal(check(ctx, &b, &bounds), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "order lines batch: customer[19] = 13 is not a known "
                                            "index (dictionary has 13)");
    t->customer[19] = 12;

    /* Days: years 1 to 9999, both ends included. */
    t->day[0] = -719162; /* 0001-01-01 */
    t->day[1] = 2932896; /* 9999-12-31 */
    assert_int_equal(spi_fact_batch_check(ctx, &b, NULL, 0, &out, days), SP_OK);
    assert_int_equal(days[0], -719162);
    assert_int_equal(days[1], 2932896);
    t->day[5] = 2932897;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "order lines batch: day[5] = 2932897 is outside years "
                                            "1 to 9999 (days -719162 to 2932896)");
    t->day[5] = -719163;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    t->day[5] = 20454;

    /* Times likewise: 0001-01-01T00:00:00 is -719162 * 86400 s. */
    t->time[2] = INT64_C(-62135596800);
    t->time[3] = INT64_C(253402300799);
    assert_int_equal(check(ctx, &b, NULL), SP_OK);
    t->time[4] = INT64_C(-62135596801);
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "order lines batch: time[4] = -62135596801 is outside years 1 to 9999 "
                        "(seconds -62135596800 to 253402300799)");
    t->time[4] = 0;

    /* Money and quantities: anything but INT64_MIN; negative amounts are credit notes. */
    t->amount[7] = -500;
    t->amount[8] = INT64_MIN + 1;
    assert_int_equal(check(ctx, &b, NULL), SP_OK);
    t->cost[9] = INT64_MIN;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "order lines batch: cost[9] is INT64_MIN, which has no negation");
    t->cost[9] = 0;
    t->quantity[1] = INT64_MIN;
    assert_int_equal(check(ctx, &b, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "order lines batch: quantity[1] is INT64_MIN, which has no negation");
    t->quantity[1] = 1;

    /* Refunds are money returned: zero or more. */
    sp_fact_batch r = full_batch(SP_FACT_REFUNDS, t, 0, 20);
    assert_int_equal(check(ctx, &r, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "refunds batch: amount[7] = -500 is negative (a refund "
                                            "is money returned)");
    t->amount[7] = 0;
    t->amount[8] = 1;
    assert_int_equal(check(ctx, &r, NULL), SP_OK);

    /* Stages: known to the funnel, never SP_NONE. */
    sp_fact_batch s = full_batch(SP_FACT_STAGE_EVENTS, t, 0, 20);
    bounds = (spi_fact_bounds)SPI_FACT_BOUNDS_ANY;
    bounds.stage = 5;
    assert_int_equal(check(ctx, &s, &bounds), SP_OK);
    t->stage[6] = 5;
    assert_int_equal(check(ctx, &s, &bounds), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "stage events batch: stage[6] = 5 is not a known stage (the funnel has 5)");
    t->stage[6] = SP_NONE;
    assert_int_equal(check(ctx, &s, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "stage events batch: stage[6] is SP_NONE (every stage "
                                            "event names a stage)");
    free(t);
    sp_ctx_free(ctx);
}

/* ---- a host's fact source over a table, with ways to misbehave ---- */

typedef enum host_mode {
    HOST_GOOD,          /* stops on the sink's status and returns it */
    HOST_IGNORES,       /* goes on calling the sink, returns 0 */
    HOST_STOPS_SILENT,  /* stops, but returns 0 */
    HOST_STOPS_OWN,     /* stops, returns its own code -1000 */
} host_mode;

typedef struct host {
    const table *t;
    size_t rows;
    uint32_t kind;
    const size_t *sizes; /* batch sizes, used in turn */
    size_t nsizes;
    host_mode mode;
    int fail_code;     /* returned after fail_after batches when not 0 */
    size_t fail_after;
    const char *errmsg;
    uint32_t wrong_kind_at; /* deliver batch k (1-based) as payments */
    size_t calls;
} host;

static int host_scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    host *h = user;
    assert_int_equal(q->version, SP_FACT_QUERY_VERSION);
    assert_int_equal(q->kind, h->kind);
    int status = 0;
    size_t k = 0;
    for (size_t start = 0; start < h->rows; k++) {
        if (h->fail_code != 0 && k == h->fail_after)
            return h->fail_code;
        size_t n = h->sizes[k % h->nsizes];
        if (n > h->rows - start)
            n = h->rows - start;
        uint32_t kind = h->wrong_kind_at == k + 1 ? SP_FACT_PAYMENTS : h->kind;
        sp_fact_batch b = full_batch(kind, h->t, start, n);
        start += n;
        h->calls++;
        int rc = sink(arg, &b);
        if (rc != 0 && status == 0)
            status = rc;
        if (rc != 0 && h->mode != HOST_IGNORES)
            break;
    }
    switch (h->mode) {
    case HOST_GOOD: return status;
    case HOST_STOPS_OWN: return status != 0 ? -1000 : 0;
    default: return 0;
    }
}

static const char *host_errmsg(void *user)
{
    return ((host *)user)->errmsg;
}

static sp_fact_source host_source(host *h)
{
    sp_fact_source s = SP_FACT_SOURCE_INIT;
    s.user = h;
    s.scan = host_scan;
    s.errmsg = host_errmsg;
    return s;
}

/* A consumer that adds up what it gets and can fail on its k-th call. */
typedef struct tally {
    sp_ctx *ctx;
    uint64_t rows, calls, whole_calls;
    int64_t amount;
    uint64_t id_sum;
    uint64_t fail_at; /* 0: never */
} tally;

static int count_rows(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t nrows,
                      const spi_fact_where *at)
{
    tally *t = arg;
    t->calls++;
    assert_true(b->count <= SPI_FACT_SLICE);
    /* Slices start every SPI_FACT_SLICE rows of a batch; their day range covers every row. */
    assert_true(at->batch >= 1);
    assert_int_equal(at->first % SPI_FACT_SLICE, 0);
    for (size_t i = 0; i < b->count; i++)
        assert_true(b->day[i] >= at->day_lo && b->day[i] <= at->day_hi);
    if (t->fail_at != 0 && t->calls == t->fail_at)
        return spi_fail(t->ctx, SP_ECONFLICT, "consumer: stop here");
    if (rows == NULL) {
        assert_int_equal(nrows, b->count);
        t->whole_calls++;
    } else {
        assert_true(nrows > 0 && nrows < b->count);
    }
    for (size_t k = 0; k < nrows; k++) {
        size_t i = rows != NULL ? rows[k] : k;
        if (k > 0 && rows != NULL)
            assert_true(rows[k] > rows[k - 1]);
        t->rows++;
        t->amount += b->amount[i];
        t->id_sum += b->id[i];
    }
    return SP_OK;
}

static sp_fact_query query_of(uint32_t kind, int32_t from, int32_t to)
{
    sp_fact_query q = { SP_FACT_QUERY_VERSION, kind, from, to };
    return q;
}

/* What a filter by [from, to) over rows [0, n) of t must give, row by row. */
static void oracle(const table *t, size_t n, int32_t from, int32_t to, tally *want)
{
    memset(want, 0, sizeof *want);
    for (size_t i = 0; i < n; i++)
        if (t->day[i] >= from && t->day[i] < to) {
            want->rows++;
            want->amount += t->amount[i];
            want->id_sum += t->id[i];
        }
}

static void expect_tally(const tally *got, const tally *want)
{
    assert_int_equal(got->rows, want->rows);
    assert_int_equal(got->amount, want->amount);
    assert_int_equal(got->id_sum, want->id_sum);
}

/* ---- the reading loop ---- */

static void test_day_filter_boundaries(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* 730 rows: days 20454 + (i mod 365), so every day of 2026 twice. */
    table *t = new_table(730);
    static const size_t sizes[] = { 100 };
    host h = { .t = t, .rows = 730, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 1 };
    sp_fact_source src = host_source(&h);
    static const struct {
        int32_t from, to;
        uint64_t rows;
    } cases[] = {
        { INT32_MIN, INT32_MAX, 730 }, /* unbounded */
        { 20454, 20455, 2 },           /* one day: 2026-01-01 */
        { 20454, 20454, 0 },           /* empty */
        { 20818, 20819, 2 },           /* the last day, 2026-12-31 */
        { 20819, INT32_MAX, 0 },       /* after it */
        { INT32_MIN, 20454, 0 },       /* before the first: `to` is excluded */
        { INT32_MIN, 20455, 2 },
        { 20485, 20513, 56 },          /* February 2026: 28 days, twice */
        { 20454, 20553, 198 },         /* the first batch ends on day 20553, excluded */
        { 20454 + 300, INT32_MAX, 130 },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        sp_fact_query q = query_of(SP_FACT_ORDER_LINES, cases[c].from, cases[c].to);
        tally got = { .ctx = ctx }, want;
        h.calls = 0;
        assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_OK);
        oracle(t, 730, cases[c].from, cases[c].to, &want);
        assert_int_equal(want.rows, cases[c].rows);
        expect_tally(&got, &want);
        /* An empty range does not call the source at all. */
        assert_int_equal(h.calls, cases[c].from == cases[c].to ? 0 : 8);
    }
    /* All in range: no selection vector. The first 100-row batch holds days 20454 to
     * 20553; a range covering them passes it whole, and skips batches wholly outside. */
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, 20454, 20554);
    tally got = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_OK);
    /* Batches 1 and 5 (rows 0-99, 400-499: days 20454-20553 and 20489-20588): the first
     * whole, the fifth in part (days 20489-20553 are 65 rows); batch 4 (rows 300-399) holds
     * days 20754-20818 and 20454-20488 (35 rows). 100 + 65 + 35 = 200 rows = 100 days x 2. */
    assert_int_equal(got.rows, 200);
    assert_int_equal(got.whole_calls, 1);
    assert_int_equal(got.calls, 3);

    /* Days on both sides of a range but none in it: the consumer is not called. */
    t->day[0] = 20454;
    t->day[1] = 20460;
    h.rows = 2;
    q = query_of(SP_FACT_ORDER_LINES, 20456, 20458);
    got = (tally){ .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_OK);
    assert_int_equal(got.calls, 0);
    q = query_of(SP_FACT_ORDER_LINES, 20456, 20461);
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_OK);
    assert_int_equal(got.calls, 1);
    assert_int_equal(got.id_sum, 1001);
    free(t);
    sp_ctx_free(ctx);
}

static void test_filter_property(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 21 };
    table *t = new_table(MAX_ROWS);
    for (unsigned it = 0; it < spt_iterations(200); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 0, MAX_ROWS);
        /* Days spread or clustered, batches small, odd, empty or above a slice. */
        int32_t base = (int32_t)spt_rng_range(&rng, -719162, 2932896 - 1000);
        int64_t spread = spt_rng_chance(&rng, 50) ? 1000 : 20;
        for (size_t i = 0; i < n; i++)
            t->day[i] = base + (int32_t)spt_rng_range(&rng, 0, spread - 1);
        size_t sizes[3];
        for (int k = 0; k < 3; k++)
            sizes[k] = (size_t)(spt_rng_chance(&rng, 20) ? 0 : spt_rng_range(&rng, 1, 3 * SPI_FACT_SLICE));
        if (sizes[0] + sizes[1] + sizes[2] == 0)
            sizes[2] = 1;
        host h = { .t = t, .rows = n, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 3 };
        sp_fact_source src = host_source(&h);
        int32_t from = spt_rng_chance(&rng, 10) ? INT32_MIN : base + (int32_t)spt_rng_range(&rng, -5, spread);
        int32_t to = spt_rng_chance(&rng, 10) ? INT32_MAX : from + (int32_t)spt_rng_range(&rng, 0, spread);
        if (from == INT32_MIN && to != INT32_MAX && spt_rng_chance(&rng, 50))
            to = base + (int32_t)spt_rng_range(&rng, 0, spread);
        sp_fact_query q = query_of(SP_FACT_ORDER_LINES, from, to);
        tally got = { .ctx = ctx }, want;
        int rc = spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got);
        if (rc != SP_OK)
            fail_msg("iteration %u: %s", it, sp_ctx_errmsg(ctx));
        oracle(t, n, from, to, &want);
        expect_tally(&got, &want);
    }
    free(t);
    sp_ctx_free(ctx);
}

static void test_scan_arguments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(10);
    static const size_t sizes[] = { 4 };
    host h = { .t = t, .rows = 10, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 1 };
    sp_fact_source src = host_source(&h);
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
    tally got = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, NULL, &q, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: source is NULL");
    assert_int_equal(spi_facts_scan(ctx, &src, NULL, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: query is NULL");
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, NULL, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: consumer is NULL");

    sp_fact_source bad = src;
    bad.version = 2;
    assert_int_equal(spi_facts_scan(ctx, &bad, &q, NULL, NULL, count_rows, &got), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "sp_fact_source: version 2 is not supported (this library knows 1 to 1)");
    bad = src;
    bad.scan = NULL;
    assert_int_equal(spi_facts_scan(ctx, &bad, &q, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: scan is NULL");

    sp_fact_query bq = q;
    bq.version = 0;
    assert_int_equal(spi_facts_scan(ctx, &src, &bq, NULL, NULL, count_rows, &got), SP_EVERSION);
    bq = q;
    bq.kind = 9;
    assert_int_equal(spi_facts_scan(ctx, &src, &bq, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact query: unknown kind 9");
    bq = query_of(SP_FACT_ORDER_LINES, 20, 10);
    assert_int_equal(spi_facts_scan(ctx, &src, &bq, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact query: from_day 20 is after to_day 10");
    sp_progress p = SP_PROGRESS_INIT;
    p.version = 5;
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, &p, count_rows, &got), SP_EVERSION);
    assert_int_equal(h.calls, 0);
    assert_int_equal(got.calls, 0);

    /* The source delivers another kind than asked for. */
    h.wrong_kind_at = 2;
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: asked for order lines, batch 2 holds "
                                            "payments");
    assert_int_equal(got.rows, 4);
    free(t);
    sp_ctx_free(ctx);
}

static void test_bad_batch_from_the_source(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(100);
    t->rep[42] = 9001; /* row 12 of the second 30-row batch */
    static const size_t sizes[] = { 30 };
    host h = { .t = t, .rows = 100, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 1 };
    sp_fact_source src = host_source(&h);
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    bounds.rep = 40;
    tally got = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, &src, &q, &bounds, NULL, count_rows, &got), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "order lines batch 2: rep[12] = 9001 is not a known "
                                            "index (dictionary has 40)");
    assert_int_equal(got.rows, 30);
    assert_int_equal(h.calls, 2);
    free(t);
    sp_ctx_free(ctx);
}

/*
 * The scan's checks over random batch sizes and positions (the checks run in unrolled,
 * vectorised loops with tails, and with or without a day filter): one bad value (a day
 * out of years 1 to 9999, a rep at its bound, an INT64_MIN amount) is found at its batch
 * and row, among values that are fine (SP_NONE reps, negative amounts: credit notes);
 * without the bad value the scan delivers every row.
 */
static void test_scan_finds_every_bad_row(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(300);
    spt_rng rng = { 20260101 };
    for (int iter = 0; iter < 600; iter++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, 300), size[1];
        size[0] = (size_t)spt_rng_range(&rng, 1, (int64_t)n);
        for (size_t i = 0; i < n; i++) {
            t->day[i] = 20454 + (int32_t)(i % 365);
            t->rep[i] = spt_rng_chance(&rng, 10) ? SP_NONE : (uint32_t)(i % 40);
            t->amount[i] = spt_rng_chance(&rng, 10) ? -(int64_t)i : 100 * (int64_t)(i + 1);
        }
        bool filter = spt_rng_chance(&rng, 50);
        sp_fact_query q = query_of(SP_FACT_ORDER_LINES, filter ? 20454 : INT32_MIN,
                                   filter ? 20454 + 365 : INT32_MAX);
        spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
        bounds.rep = 40;
        host h = { .t = t, .rows = n, .kind = SP_FACT_ORDER_LINES, .sizes = size, .nsizes = 1 };
        sp_fact_source src = host_source(&h);
        tally got = { .ctx = ctx }, want;
        int what = (int)spt_rng_range(&rng, 0, 3); /* 3: nothing bad */
        size_t p = (size_t)spt_rng_range(&rng, 0, (int64_t)n - 1);
        char expect[160];
        snprintf(expect, sizeof expect, "order lines batch %zu: ", p / size[0] + 1);
        size_t at = strlen(expect), row = p % size[0];
        if (what == 0) {
            t->day[p] = spt_rng_chance(&rng, 50) ? SPI_DAY_MAX + 1 : SPI_DAY_MIN - 1;
            snprintf(expect + at, sizeof expect - at, "day[%zu] = %ld is outside years 1 to 9999",
                     row, (long)t->day[p]);
        } else if (what == 1) {
            t->rep[p] = 40;
            snprintf(expect + at, sizeof expect - at,
                     "rep[%zu] = 40 is not a known index (dictionary has 40)", row);
        } else if (what == 2) {
            t->amount[p] = INT64_MIN;
            snprintf(expect + at, sizeof expect - at,
                     "amount[%zu] is INT64_MIN, which has no negation", row);
        }
        int rc = spi_facts_scan(ctx, &src, &q, &bounds, NULL, count_rows, &got);
        if (what == 3) {
            assert_int_equal(rc, SP_OK);
            oracle(t, n, q.from_day, q.to_day, &want);
            expect_tally(&got, &want);
        } else {
            assert_int_equal(rc, SP_EINVAL);
            assert_non_null(strstr(sp_ctx_errmsg(ctx), expect));
            assert_int_equal(strncmp(sp_ctx_errmsg(ctx), expect, strlen(expect)), 0);
        }
    }
    free(t);
    sp_ctx_free(ctx);
}

/* A stage bound of 0 (a funnel without stages) admits no stage at all. */
static void test_stage_bound_zero(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(20);
    sp_fact_batch b = full_batch(SP_FACT_STAGE_EVENTS, t, 0, 20);
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    bounds.stage = 0;
    sp_fact_batch out;
    assert_int_equal(spi_fact_batch_check(ctx, &b, &bounds, 0, &out, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "stage events batch: stage[0] = 0 is not a known "
                                            "stage (the funnel has 0)");
    free(t);
    sp_ctx_free(ctx);
}

static void test_host_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(100);
    static const size_t sizes[] = { 30 };
    host h = { .t = t, .rows = 100, .kind = SP_FACT_PAYMENTS, .sizes = sizes, .nsizes = 1,
               .fail_code = 19, .fail_after = 2, .errmsg = "connection lost" };
    sp_fact_source src = host_source(&h);
    sp_fact_query q = query_of(SP_FACT_PAYMENTS, INT32_MIN, INT32_MAX);
    tally got = { .ctx = ctx };
    /* The host's own code: SP_EUSER, its code and text kept. */
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_EUSER);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: scan of payments: host error 19: "
                                            "connection lost");
    assert_int_equal(sp_ctx_user_errcode(ctx), 19);
    assert_string_equal(sp_ctx_user_errmsg(ctx), "connection lost");
    assert_int_equal(got.rows, 60);

    /* A salesplan status passes through; without errmsg there is no host text. */
    h.fail_code = SP_ESTORAGE;
    src.errmsg = NULL;
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_ESTORAGE);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact source: scan of payments: storage failure");
    assert_int_equal(sp_ctx_user_errcode(ctx), 0);
    /* A positive code is the host's too. */
    h.fail_code = 1;
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_EUSER);
    assert_int_equal(sp_ctx_user_errcode(ctx), 1);
    free(t);
    sp_ctx_free(ctx);
}

static void test_host_ignores_the_sink(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(100);
    static const size_t sizes[] = { 10 };
    static const struct {
        host_mode mode;
        const char *note;
    } cases[] = {
        { HOST_GOOD, "" },
        { HOST_IGNORES, " [the fact source did not stop on status -5: it called the sink 7 more "
                        "times and its scan returned 0]" },
        { HOST_STOPS_SILENT, " [the fact source did not stop on status -5: its scan returned 0]" },
        { HOST_STOPS_OWN, " [the fact source did not stop on status -5: its scan returned -1000]" },
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        host h = { .t = t, .rows = 100, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 1,
                   .mode = cases[c].mode };
        sp_fact_source src = host_source(&h);
        sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
        /* The consumer fails on its third batch: 20 rows taken, 7 batches left. */
        tally got = { .ctx = ctx, .fail_at = 3 };
        assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, NULL, count_rows, &got), SP_ECONFLICT);
        char want[300];
        snprintf(want, sizeof want, "consumer: stop here%s", cases[c].note);
        assert_string_equal(sp_ctx_errmsg(ctx), want);
        assert_int_equal(got.rows, 20);
        assert_int_equal(got.calls, 3); /* never called again */
    }

    free(t);
    sp_ctx_free(ctx);
}

/* ---- progress and cancellation ---- */

typedef struct reports {
    unsigned calls;
    uint64_t done[64], total[64];
    unsigned cancel_at; /* 0: never */
} reports;

static int record_report(void *user, uint64_t done, uint64_t total)
{
    reports *r = user;
    assert_true(r->calls < 64);
    r->done[r->calls] = done;
    r->total[r->calls] = total;
    r->calls++;
    return r->cancel_at != 0 && r->calls == r->cancel_at;
}

static void test_progress_and_cancel(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    enum { ROWS = 50000 };
    table *t = new_table(ROWS);
    static const size_t sizes[] = { 1000, 5000, 9000 };
    host h = { .t = t, .rows = ROWS, .kind = SP_FACT_ORDER_LINES, .sizes = sizes, .nsizes = 3 };
    sp_fact_source src = host_source(&h);
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);

    reports full = { 0 };
    sp_progress p = SP_PROGRESS_INIT;
    p.user = &full;
    p.report = record_report;
    tally got = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, &p, count_rows, &got), SP_OK);
    assert_int_equal(got.rows, ROWS);
    /* Reports in rows, total unknown (0) until the last, which says done == total; a
     * report at least every 2 slices (the total is unknown: every 4096 rows, checked
     * after each slice of at most SPI_FACT_SLICE, here the host's batches). */
    assert_true(full.calls >= ROWS / (2 * SPI_FACT_SLICE));
    for (unsigned k = 0; k < full.calls; k++) {
        uint64_t prev = k > 0 ? full.done[k - 1] : 0;
        /* The final report may repeat the last tick's count, now with the total. */
        assert_true(full.done[k] > prev || (k + 1 == full.calls && full.done[k] == prev));
        assert_true(full.done[k] - prev < 2 * SPI_FACT_SLICE);
        assert_int_equal(full.total[k], k + 1 < full.calls ? 0 : ROWS);
    }
    assert_int_equal(full.done[full.calls - 1], ROWS);

    /* Cancel at each report in turn, with a good host and with one that ignores it. */
    for (int mode = 0; mode < 2; mode++) {
        h.mode = mode == 0 ? HOST_GOOD : HOST_IGNORES;
        for (unsigned k = 1; k <= full.calls; k++) {
            reports r = { .cancel_at = k };
            p.user = &r;
            tally part = { .ctx = ctx };
            assert_int_equal(spi_facts_scan(ctx, &src, &q, NULL, &p, count_rows, &part),
                             SP_ECANCELED);
            assert_int_equal(r.calls, k);
            /* Every row was in range: the consumer had exactly the rows reported. */
            assert_int_equal(part.rows, full.done[k - 1]);
            char want[300];
            int len = snprintf(want, sizeof want,
                               "fact source: scan of order lines: canceled by the host at %llu "
                               "of %llu",
                               (unsigned long long)full.done[k - 1],
                               (unsigned long long)full.total[k - 1]);
            /* The final report comes after the source returned: nothing to ignore. Before
             * it, the ignoring host goes on (or, after its last batch, returns 0). */
            if (mode == 1 && k < full.calls)
                snprintf(want + len, sizeof want - (size_t)len,
                         " [the fact source did not stop on status -9: %s",
                         full.done[k - 1] < ROWS ? "it called the sink" : "its scan returned 0]");
            if (strncmp(sp_ctx_errmsg(ctx), want, strlen(want)) != 0)
                fail_msg("mode %d report %u: %s\nwanted %s", mode, k, sp_ctx_errmsg(ctx), want);
            if (mode == 0 || k == full.calls)
                assert_string_equal(sp_ctx_errmsg(ctx), want);
        }
    }
    free(t);
    sp_ctx_free(ctx);
}

/* ---- the memory fact source ---- */

static sp_fact_source *new_memory(sp_ctx *ctx)
{
    sp_fact_source *m = NULL;
    assert_int_equal(sp_fact_source_memory_new(&m, ctx), SP_OK);
    assert_non_null(m);
    return m;
}

/* What a raw scan of a source hands out: batch sizes and every row of order lines. */
typedef struct raw {
    size_t batches, sizes[16];
    size_t rows;
    const table *t; /* rows must equal t's rows in order */
    bool has_time;
    int fail_at;
} raw;

static int raw_sink(void *arg, const sp_fact_batch *b)
{
    raw *r = arg;
    if (r->fail_at != 0 && (int)r->batches + 1 == r->fail_at)
        return -77;
    assert_true(r->batches < 16);
    r->sizes[r->batches++] = b->count;
    assert_int_equal(b->version, SP_FACT_BATCH_VERSION);
    assert_int_equal(b->kind, SP_FACT_ORDER_LINES);
    assert_null(b->channel);
    for (size_t i = 0; i < b->count; i++, r->rows++) {
        size_t j = r->rows;
        assert_int_equal(b->id[i], r->t->id[j]);
        assert_int_equal(b->ref[i], r->t->ref[j]);
        assert_int_equal(b->day[i], r->t->day[j]);
        assert_int_equal(b->rep[i], r->t->rep[j]);
        assert_int_equal(b->grid[i], r->t->grid[j]);
        assert_int_equal(b->product[i], r->t->product[j]);
        assert_int_equal(b->customer[i], r->t->customer[j]);
        assert_int_equal(b->amount[i], r->t->amount[j]);
        assert_int_equal(b->quantity[i], r->t->quantity[j]);
        assert_int_equal(b->cost[i], r->t->cost[j]);
        if (r->has_time)
            assert_int_equal(b->time[i], r->t->time[j]);
        else
            assert_null(b->time);
    }
    return 0;
}

static void test_memory_source(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(12000);
    sp_fact_source *m = new_memory(ctx);
    assert_int_equal(sp_fact_source_memory_new(NULL, ctx), SP_EINVAL);
    sp_fact_source *none = NULL;
    assert_int_equal(sp_fact_source_memory_new(&none, NULL), SP_EINVAL);
    assert_null(none);

    /* 5000 + 0 + 7000 order lines, and payments beside them. */
    sp_fact_batch b = full_batch(SP_FACT_ORDER_LINES, t, 0, 5000);
    assert_int_equal(sp_fact_source_memory_append(m, &b), SP_OK);
    b = full_batch(SP_FACT_ORDER_LINES, t, 5000, 0);
    b.time = NULL; /* an empty batch brings no rows, so its columns do not matter */
    assert_int_equal(sp_fact_source_memory_append(m, &b), SP_OK);
    b = full_batch(SP_FACT_ORDER_LINES, t, 5000, 7000);
    assert_int_equal(sp_fact_source_memory_append(m, &b), SP_OK);
    sp_fact_batch pay = full_batch(SP_FACT_PAYMENTS, t, 0, 300);
    assert_int_equal(sp_fact_source_memory_append(m, &pay), SP_OK);

    /* Read back in batches of 4096: 12000 = 4096 + 4096 + 3808, rows as appended. */
    raw r = { .t = t, .has_time = true };
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
    assert_int_equal(m->scan(m->user, &q, raw_sink, &r), 0);
    assert_int_equal(r.batches, 3);
    assert_int_equal(r.sizes[0], 4096);
    assert_int_equal(r.sizes[1], 4096);
    assert_int_equal(r.sizes[2], 3808);
    assert_int_equal(r.rows, 12000);
    assert_null(m->errmsg);
    /* A sink's status ends the scan at once. */
    raw stop = { .t = t, .has_time = true, .fail_at = 2 };
    assert_int_equal(m->scan(m->user, &q, raw_sink, &stop), -77);
    assert_int_equal(stop.batches, 1);

    /* Through the reading loop, per kind, filtered. */
    tally got = { .ctx = ctx }, want;
    q = query_of(SP_FACT_ORDER_LINES, 20500, 20600);
    assert_int_equal(spi_facts_scan(ctx, m, &q, NULL, NULL, count_rows, &got), SP_OK);
    oracle(t, 12000, 20500, 20600, &want);
    expect_tally(&got, &want);
    q = query_of(SP_FACT_PAYMENTS, INT32_MIN, INT32_MAX);
    tally paid = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, m, &q, NULL, NULL, count_rows, &paid), SP_OK);
    oracle(t, 300, INT32_MIN, INT32_MAX, &want);
    expect_tally(&paid, &want);
    assert_int_equal(paid.whole_calls, 1);
    q = query_of(SP_FACT_REFUNDS, INT32_MIN, INT32_MAX);
    tally refunds = { .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, m, &q, NULL, NULL, count_rows, &refunds), SP_OK);
    assert_int_equal(refunds.calls, 0);
    sp_fact_source_free(m);
    free(t);
    sp_ctx_free(ctx);
}

static void test_memory_append_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    table *t = new_table(100);
    sp_fact_source *m = new_memory(ctx);
    sp_fact_batch b = full_batch(SP_FACT_ORDER_LINES, t, 0, 50);
    b.cost = NULL;
    assert_int_equal(sp_fact_source_memory_append(m, &b), SP_OK);

    /* Later batches bring the columns of the first. */
    sp_fact_batch c = full_batch(SP_FACT_ORDER_LINES, t, 50, 50);
    assert_int_equal(sp_fact_source_memory_append(m, &c), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "memory fact source: order lines batch: column cost is given, but the "
                        "order lines held have none (every batch of a kind brings the same "
                        "columns)");
    c.cost = NULL;
    c.time = NULL;
    assert_int_equal(sp_fact_source_memory_append(m, &c), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "memory fact source: order lines batch: column time is NULL, but the "
                        "order lines held have one (every batch of a kind brings the same "
                        "columns)");
    /* Batches are checked as every batch is. */
    c.time = t->time + 50;
    c.amount = NULL;
    assert_int_equal(sp_fact_source_memory_append(m, &c), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "order lines batch: required column amount is NULL "
                                            "(count 50)");
    assert_int_equal(sp_fact_source_memory_append(m, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "fact batch is NULL");

    /* Only memory sources take appends. */
    host h = { .t = t };
    sp_fact_source hs = host_source(&h);
    c.amount = t->amount + 50;
    assert_int_equal(sp_fact_source_memory_append(&hs, &c), SP_EINVAL);
    assert_int_equal(sp_fact_source_memory_append(NULL, &c), SP_EINVAL);

    /* Nothing of the failed appends is held. */
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
    tally got = { .ctx = ctx }, want;
    assert_int_equal(spi_facts_scan(ctx, m, &q, NULL, NULL, count_rows, &got), SP_OK);
    oracle(t, 50, INT32_MIN, INT32_MAX, &want);
    expect_tally(&got, &want);
    /* The fitting batch goes in. */
    c.cost = NULL;
    assert_int_equal(sp_fact_source_memory_append(m, &c), SP_OK);
    got = (tally){ .ctx = ctx };
    assert_int_equal(spi_facts_scan(ctx, m, &q, NULL, NULL, count_rows, &got), SP_OK);
    oracle(t, 100, INT32_MIN, INT32_MAX, &want);
    expect_tally(&got, &want);
    sp_fact_source_free(m);
    free(t);
    sp_ctx_free(ctx);
}

/* ---- fault injection ---- */

typedef struct facts_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    table *t;
    sp_fact_source *m;
    size_t base;  /* rows held before the append */
    size_t extra; /* rows the append brings */
    int op;       /* 0 append, 1 scan */
    tally got;
} facts_fault;

static void facts_rebuild(facts_fault *f)
{
    sp_fact_source_free(f->m);
    f->m = new_memory(f->ctx);
    for (size_t start = 0; start < f->base; start += 700) {
        size_t n = f->base - start < 700 ? f->base - start : 700;
        sp_fact_batch b = full_batch(SP_FACT_ORDER_LINES, f->t, start, n);
        assert_int_equal(sp_fact_source_memory_append(f->m, &b), SP_OK);
    }
}

static int run_facts_fault(void *user)
{
    facts_fault *f = user;
    if (f->op == 0) {
        sp_fact_batch b = full_batch(SP_FACT_ORDER_LINES, f->t, f->base, f->extra);
        return sp_fact_source_memory_append(f->m, &b);
    }
    /* A range across batches: the selection vector is needed. */
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, 20454, 20500);
    f->got = (tally){ .ctx = f->ctx };
    return spi_facts_scan(f->ctx, f->m, &q, NULL, NULL, count_rows, &f->got);
}

static void facts_expect_rows(facts_fault *f, size_t rows)
{
    sp_fact_query q = query_of(SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX);
    tally got = { .ctx = f->ctx }, want;
    assert_int_equal(spi_facts_scan(f->ctx, f->m, &q, NULL, NULL, count_rows, &got), SP_OK);
    oracle(f->t, rows, INT32_MIN, INT32_MAX, &want);
    expect_tally(&got, &want);
}

static void check_facts_unchanged(void *user)
{
    facts_fault *f = user;
    facts_expect_rows(f, f->base);
    facts_rebuild(f); /* the next failure point meets the same growth */
}

static void undo_facts_fault(void *user)
{
    facts_fault *f = user;
    if (f->op == 0) {
        facts_expect_rows(f, f->base + f->extra);
        facts_rebuild(f);
    } else {
        tally want;
        oracle(f->t, f->base, 20454, 20500, &want);
        expect_tally(&f->got, &want);
    }
}

static size_t live_facts_fault(void *user)
{
    return ((facts_fault *)user)->alloc.live_blocks;
}

static uint64_t facts_fault_case(const char *name, int op, size_t base, size_t extra)
{
    facts_fault f = { .base = base, .extra = extra, .op = op };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    f.t = new_table(base + extra);
    facts_rebuild(&f);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { name, run_facts_fault, undo_facts_fault, check_facts_unchanged,
                          live_facts_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    uint64_t points = spt_fault_loop(&fc, &inj);
    sp_fact_source_free(f.m);
    free(f.t);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
    return points;
}

static void test_fault_loops(void **state)
{
    (void)state;
    /* The first order lines: one allocation per column the batch brings (all 11 that
     * order lines use). */
    assert_int_equal(facts_fault_case("append (first)", 0, 0, 100), 11);
    /* 700 rows held (capacity 700): 100 more grow each column. */
    assert_int_equal(facts_fault_case("append (grow)", 0, 700, 100), 11);
    /* 1400 held in a capacity of 1400 after the doubling from 700: the same again. */
    assert_int_equal(facts_fault_case("append (grow again)", 0, 1400, 5), 11);
    /* Room left: nothing to allocate. */
    assert_int_equal(facts_fault_case("append (room)", 0, 800, 100), 0);
    /* A filtered scan allocates its selection vector, once. */
    assert_int_equal(facts_fault_case("scan", 1, 3000, 0), 1);

    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    size_t live = a.live_blocks;
    sp_fact_source *m = (sp_fact_source *)&m;
    spt_alloc_arm(&a, 1, false);
    assert_int_equal(sp_fact_source_memory_new(&m, ctx), SP_ENOMEM);
    assert_int_equal(spt_alloc_disarm(&a), 1);
    assert_ptr_equal(m, (sp_fact_source *)&m);
    assert_int_equal(a.live_blocks, live);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_required_and_unused_columns),
        cmocka_unit_test(test_batch_header),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_day_filter_boundaries),
        cmocka_unit_test(test_filter_property),
        cmocka_unit_test(test_scan_arguments),
        cmocka_unit_test(test_bad_batch_from_the_source),
        cmocka_unit_test(test_scan_finds_every_bad_row),
        cmocka_unit_test(test_stage_bound_zero),
        cmocka_unit_test(test_host_errors),
        cmocka_unit_test(test_host_ignores_the_sink),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_memory_source),
        cmocka_unit_test(test_memory_append_errors),
        cmocka_unit_test(test_fault_loops),
    };
    return cmocka_run_group_tests_name("facts", tests, NULL, NULL);
}
