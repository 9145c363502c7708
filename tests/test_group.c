/*
 * Fact grouping (spi_group_facts): every dimension, measure, key map, period map, roll-up,
 * netting, unknown ids, overflow, cancellation and bad input; random facts against a
 * naive second implementation (each row looked up the slow way: sp_calendar_locate for its
 * period, the key map by hand, ancestors by sp_hierarchy_parent, sums in 128 bits), in
 * any batch order and size; allocation faults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"
/* The kernel is internal: this program links the objects library. */
#include "facts/facts_internal.h"

__extension__ typedef __int128 i128;

#define NCOL 5 /* rep, grid, product, customer, channel: spi_fact_column order */
#define NKIND 6

static int32_t day_of(int y, int m, int d)
{
    return spt_day(y, m, d);
}

/* ---- facts the test holds, and a source that serves them in any order and size ---- */

typedef struct fact {
    int32_t day;
    uint32_t key[NCOL];
    int64_t amount, quantity, cost;
} fact;

typedef struct kindset {
    fact *rows;
    size_t n, cap;
    bool col[NCOL];             /* index columns the batches carry */
    bool quantity, cost;        /* optional value columns the batches carry */
    bool no_amount;             /* stage events without deals */
} kindset;

typedef struct source {
    kindset kinds[NKIND];
    uint64_t seed;   /* order and batch sizes */
    bool shuffle;    /* rows in a random order (else as added) */
    bool filter;     /* leave out rows outside the query's days (else send them all) */
    size_t max_batch; /* batch sizes from 0 to max_batch (at least 1) */
    bool fixed;      /* every batch max_batch rows (the last one fewer) */
    uint64_t scans;
} source;

static void add_fact(source *s, uint32_t kind, fact f)
{
    kindset *k = &s->kinds[kind];
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 64;
        k->rows = realloc(k->rows, k->cap * sizeof *k->rows);
        assert_non_null(k->rows);
    }
    k->rows[k->n++] = f;
}

static void free_source(source *s)
{
    for (int k = 0; k < NKIND; k++)
        free(s->kinds[k].rows);
}

/* Which index columns a kind may carry (storage.h): rep grid product customer channel. */
static const char *const kind_cols[NKIND] = {
    [SP_FACT_ORDER_LINES] = "RGPC-", [SP_FACT_PAYMENTS] = "-----",
    [SP_FACT_REFUNDS] = "RGPC-",     [SP_FACT_STAGE_EVENTS] = "RG-CH",
    [SP_FACT_MARKETING_SPEND] = "-G--H",
};

static bool kind_has_col(uint32_t kind, uint32_t col)
{
    return kind_cols[kind][col] != '-';
}

/* Required: rep of lines and stage events, channel of marketing spend. */
static bool kind_needs_col(uint32_t kind, uint32_t col)
{
    return (col == SPI_COLUMN_REP &&
            (kind == SP_FACT_ORDER_LINES || kind == SP_FACT_STAGE_EVENTS)) ||
           (col == SPI_COLUMN_CHANNEL && kind == SP_FACT_MARKETING_SPEND);
}

static int scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    source *s = user;
    s->scans++;
    const kindset *k = &s->kinds[q->kind];
    size_t n = k->n, cap = n > 0 ? n : 1;
    size_t *order = malloc(cap * sizeof *order);
    uint64_t *id = malloc(cap * sizeof *id);
    int32_t *day = malloc(cap * sizeof *day);
    uint32_t *keys[NCOL], *stage = calloc(cap, sizeof *stage);
    int64_t *amount = malloc(cap * sizeof *amount), *quantity = malloc(cap * sizeof *quantity),
            *cost = malloc(cap * sizeof *cost);
    for (int c = 0; c < NCOL; c++)
        keys[c] = malloc(cap * sizeof *keys[c]);
    spt_rng r = { s->seed * 31 + q->kind };
    for (size_t i = 0; i < n; i++)
        order[i] = i;
    for (size_t i = n; s->shuffle && i > 1; i--) {
        size_t j = (size_t)spt_rng_range(&r, 0, (int64_t)i - 1), t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    int rc = 0;
    size_t at = 0;
    while (rc == 0 && at <= n) {
        /* Batch sizes from 0 (empty batches) to max_batch; the rows go to the columns'
         * start, so each batch is its own arrays. */
        size_t want = s->fixed ? s->max_batch : (size_t)spt_rng_range(&r, 0, (int64_t)s->max_batch),
               m = 0;
        for (; m < want && at < n; at++) {
            const fact *f = &k->rows[order[at]];
            if (s->filter && (f->day < q->from_day || f->day >= q->to_day))
                continue;
            id[m] = order[at] + 1;
            day[m] = f->day;
            for (int c = 0; c < NCOL; c++)
                keys[c][m] = f->key[c];
            amount[m] = f->amount;
            quantity[m] = f->quantity;
            cost[m] = f->cost;
            m++;
        }
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = q->kind;
        b.count = m;
        b.day = day;
        if (q->kind != SP_FACT_MARKETING_SPEND)
            b.id = id;
        if (q->kind == SP_FACT_PAYMENTS || q->kind == SP_FACT_REFUNDS)
            b.ref = id;
        if (q->kind == SP_FACT_STAGE_EVENTS)
            b.stage = stage;
        const uint32_t **cols[NCOL] = { &b.rep, &b.grid, &b.product, &b.customer, &b.channel };
        for (int c = 0; c < NCOL; c++)
            if (k->col[c])
                *cols[c] = keys[c];
        if (!k->no_amount)
            b.amount = amount;
        if (k->quantity)
            b.quantity = quantity;
        if (k->cost)
            b.cost = cost;
        rc = sink(arg, &b);
        if (at == n)
            break;
    }
    free(order);
    free(id);
    free(day);
    free(stage);
    free(amount);
    free(quantity);
    free(cost);
    for (int c = 0; c < NCOL; c++)
        free(keys[c]);
    return rc;
}

static sp_fact_source source_of(source *s)
{
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = s;
    src.scan = scan;
    return src;
}

/* ---- period maps, described so that the naive side can read them the slow way ---- */

enum { MAP_WHOLE, MAP_CALENDAR };

typedef struct mapdesc {
    int type;
    int32_t whole_from, whole_to;
    const sp_calendar *cal;
    uint32_t grain;
    int32_t first_year;
    uint32_t years;
    uint32_t nwin;
    int32_t win[SPI_PERIOD_WINDOWS_MAX][2];
    bool limit;
    int32_t lim_from, lim_to;
} mapdesc;

static int build_map(sp_ctx *ctx, const mapdesc *d, spi_period_map *m)
{
    int rc = SP_OK;
    if (d->type == MAP_WHOLE)
        spi_period_map_whole(m, d->whole_from, d->whole_to);
    else
        rc = spi_period_map_calendar(ctx, "test", m, d->cal, d->grain, d->first_year, d->years);
    for (uint32_t w = 0; rc == SP_OK && w < d->nwin; w++)
        rc = spi_period_map_window(ctx, "test", m, d->win[w][0], d->win[w][1]);
    if (rc != SP_OK) {
        spi_period_map_free(ctx, m);
        return rc;
    }
    if (d->limit)
        spi_period_map_limit(m, d->lim_from, d->lim_to);
    return SP_OK;
}

static uint32_t periods_in(const mapdesc *d, int32_t fy)
{
    size_t count;
    assert_int_equal(sp_calendar_periods(d->cal, fy, d->grain, NULL, NULL, NULL, 0, &count),
                     SP_OK);
    return (uint32_t)count;
}

static uint32_t nbuckets_of(const mapdesc *d)
{
    if (d->type == MAP_WHOLE)
        return 1;
    uint32_t n = 0;
    for (uint32_t y = 0; y < d->years; y++)
        n += periods_in(d, d->first_year + (int32_t)y);
    return n;
}

/* The days read: the periods' days and the windows, as one range, within the limit. */
static void read_range(const mapdesc *d, int32_t *from, int32_t *to)
{
    int32_t lo, hi;
    if (d->type == MAP_WHOLE) {
        lo = d->whole_from;
        hi = d->whole_to;
    } else {
        int32_t fd[SP_CALENDAR_MAX_PERIODS], ed[SP_CALENDAR_MAX_PERIODS];
        size_t count;
        assert_int_equal(sp_calendar_periods(d->cal, d->first_year, d->grain, fd, ed, NULL,
                                             SP_CALENDAR_MAX_PERIODS, &count),
                         SP_OK);
        lo = fd[0];
        assert_int_equal(sp_calendar_periods(d->cal, d->first_year + (int32_t)d->years - 1,
                                             d->grain, fd, ed, NULL, SP_CALENDAR_MAX_PERIODS,
                                             &count),
                         SP_OK);
        hi = ed[count - 1];
    }
    for (uint32_t w = 0; w < d->nwin; w++) {
        if (d->win[w][0] == d->win[w][1])
            continue;
        if (lo >= hi) {
            lo = d->win[w][0];
            hi = d->win[w][1];
        } else {
            lo = d->win[w][0] < lo ? d->win[w][0] : lo;
            hi = d->win[w][1] > hi ? d->win[w][1] : hi;
        }
    }
    if (d->limit) {
        lo = d->lim_from > lo ? d->lim_from : lo;
        hi = d->lim_to < hi ? d->lim_to : hi;
        hi = hi < lo ? lo : hi;
    }
    *from = lo;
    *to = hi;
}

/* The columns a day adds to, the slow way: its period by sp_calendar_locate, windows by
 * comparison. */
static size_t columns_of(const mapdesc *d, int32_t day, uint32_t *cols)
{
    size_t k = 0;
    if (d->type == MAP_WHOLE) {
        if (day >= d->whole_from && day < d->whole_to)
            cols[k++] = 0;
    } else {
        int32_t fy;
        uint32_t index;
        if (sp_calendar_locate(d->cal, day, d->grain, &fy, &index) == SP_OK &&
            fy >= d->first_year && fy < d->first_year + (int32_t)d->years) {
            uint32_t before = 0;
            for (int32_t y = d->first_year; y < fy; y++)
                before += periods_in(d, y);
            cols[k++] = before + index;
        }
    }
    uint32_t nb = nbuckets_of(d);
    for (uint32_t w = 0; w < d->nwin; w++)
        if (day >= d->win[w][0] && day < d->win[w][1])
            cols[k++] = nb + w;
    return k;
}

/* ---- the naive grouping ---- */

typedef struct naive {
    size_t width, ncells; /* per measure: ngroups * width */
    i128 *own;            /* nmeasures x ncells, before the roll-up */
    i128 *total;          /* after it (own when none) */
    spi_group_report rep;
    i128 unknown_sum;
} naive;

static i128 measure_value(uint32_t measure, const fact *f)
{
    switch (measure) {
    case SPI_MEASURE_AMOUNT: return f->amount;
    case SPI_MEASURE_QUANTITY: return f->quantity;
    case SPI_MEASURE_COST: return f->cost;
    case SPI_MEASURE_MARGIN: return (i128)f->amount - f->cost;
    default: return 1;
    }
}

static void naive_group(const source *s, const spi_group_spec *spec, const mapdesc *d,
                        naive *out)
{
    memset(out, 0, sizeof *out);
    out->width = nbuckets_of(d) + d->nwin;
    out->ncells = (size_t)spec->ngroups * out->width;
    size_t all = spec->nmeasures * out->ncells;
    out->own = calloc(all + 1, sizeof *out->own);
    out->total = calloc(all + 1, sizeof *out->total);
    uint8_t *seen = calloc(spec->nkeys + 1, 1);
    int32_t from, to;
    read_range(d, &from, &to);
    for (size_t k = 0; k < spec->nkinds; k++) {
        const kindset *ks = &s->kinds[spec->kinds[k].kind];
        int sign = spec->kinds[k].negate ? -1 : 1;
        for (size_t i = 0; i < ks->n; i++) {
            const fact *f = &ks->rows[i];
            if (f->day < from || f->day >= to)
                continue;
            out->rep.rows++;
            uint32_t key = ks->col[spec->column] ? f->key[spec->column] : SP_NONE;
            if (key == SP_NONE) {
                out->rep.no_key++;
                continue;
            }
            uint32_t g = spec->key_map != NULL ? spec->key_map[key] : key;
            if (g == SPI_GROUP_SKIP) {
                out->rep.skipped++;
                continue;
            }
            if (g == SPI_GROUP_UNKNOWN) {
                out->rep.unknown++;
                out->rep.unknown_ids += !seen[key];
                seen[key] = 1;
                if (!ks->no_amount)
                    out->unknown_sum += sign * (i128)f->amount;
                continue;
            }
            uint32_t cols[1 + SPI_PERIOD_WINDOWS_MAX];
            size_t nc = columns_of(d, f->day, cols);
            if (nc == 0) {
                out->rep.unplaced++;
                continue;
            }
            out->rep.used++;
            for (size_t m = 0; m < spec->nmeasures; m++)
                for (size_t c = 0; c < nc; c++)
                    out->own[m * out->ncells + (size_t)g * out->width + cols[c]] +=
                        sign * measure_value(spec->measures[m], f);
        }
    }
    out->rep.unknown_amount = out->unknown_sum > INT64_MAX    ? INT64_MAX
                              : out->unknown_sum < -INT64_MAX ? -INT64_MAX
                                                              : (int64_t)out->unknown_sum;
    memcpy(out->total, out->own, all * sizeof *out->total);
    if (spec->rollup) {
        memset(out->total, 0, all * sizeof *out->total);
        for (uint32_t g = 0; g < spec->ngroups; g++) {
            uint32_t a = g;
            while (a != SP_HIERARCHY_NONE) {
                for (size_t m = 0; m < spec->nmeasures; m++)
                    for (size_t c = 0; c < out->width; c++)
                        out->total[m * out->ncells + (size_t)a * out->width + c] +=
                            out->own[m * out->ncells + (size_t)g * out->width + c];
                assert_int_equal(sp_hierarchy_parent(spec->nodes, a, &a), SP_OK);
            }
        }
    }
    free(seen);
}

static void naive_free(naive *n)
{
    free(n->own);
    free(n->total);
}

/* Run the kernel into fresh cells (nmeasures arrays). */
static int run_group(sp_ctx *ctx, const spi_group_spec *spec, source *s, int64_t **cells,
                     spi_group_report *rep, const sp_progress *progress)
{
    sp_fact_source src = source_of(s);
    return spi_group_facts(ctx, spec, &src, progress, cells, rep);
}

static int64_t **new_cells(const spi_group_spec *spec, size_t width)
{
    int64_t **cells = calloc(SPI_GROUP_MEASURES_MAX, sizeof *cells);
    for (size_t m = 0; m < spec->nmeasures; m++) {
        cells[m] = malloc(((size_t)spec->ngroups * width + 1) * sizeof *cells[m]);
        /* Garbage in: the kernel writes every cell. */
        memset(cells[m], 0xA5, ((size_t)spec->ngroups * width + 1) * sizeof *cells[m]);
    }
    return cells;
}

static void free_cells(int64_t **cells)
{
    for (size_t m = 0; m < SPI_GROUP_MEASURES_MAX; m++)
        free(cells[m]);
    free(cells);
}

static void expect_naive(int64_t *const *cells, const spi_group_report *rep, const naive *n,
                         const spi_group_spec *spec)
{
    for (size_t m = 0; m < spec->nmeasures; m++)
        for (size_t i = 0; i < n->ncells; i++) {
            i128 want = n->total[m * n->ncells + i];
            assert_true(want >= INT64_MIN && want <= INT64_MAX);
            if (cells[m][i] != (int64_t)want)
                fail_msg("measure %zu cell %zu (group %zu column %zu): %lld, want %lld", m, i,
                         i / n->width, i % n->width, (long long)cells[m][i], (long long)want);
        }
    assert_int_equal(rep->rows, n->rep.rows);
    assert_int_equal(rep->used, n->rep.used);
    assert_int_equal(rep->no_key, n->rep.no_key);
    assert_int_equal(rep->skipped, n->rep.skipped);
    assert_int_equal(rep->unknown, n->rep.unknown);
    assert_int_equal(rep->unplaced, n->rep.unplaced);
    assert_int_equal(rep->unknown_ids, n->rep.unknown_ids);
    assert_int_equal(rep->unknown_amount, n->rep.unknown_amount);
}

/* ---- small helpers for the hand-written cases ---- */

static fact line(int32_t day, uint32_t rep, int64_t amount)
{
    fact f = { day, { rep, SP_NONE, SP_NONE, SP_NONE, SP_NONE }, amount, 0, 0 };
    return f;
}

static spi_group_spec spec_of(uint32_t column, uint32_t ngroups, const spi_period_map *pm)
{
    spi_group_spec s;
    memset(&s, 0, sizeof s);
    s.what = "test grouping";
    s.column = column;
    s.nkeys = ngroups;
    s.ngroups = ngroups;
    s.periods = pm;
    s.nkinds = 1;
    s.kinds[0] = (spi_group_kind){ SP_FACT_ORDER_LINES, false };
    s.nmeasures = 1;
    s.measures[0] = SPI_MEASURE_AMOUNT;
    return s;
}

static source lines_source(void)
{
    source s;
    memset(&s, 0, sizeof s);
    s.max_batch = 7;
    s.fixed = true;
    s.kinds[SP_FACT_ORDER_LINES].col[SPI_COLUMN_REP] = true;
    return s;
}

static sp_hierarchy *tree(sp_ctx *ctx, const char *const *ids, const char *const *parents,
                          size_t n)
{
    sp_hierarchy *h;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, n, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    return h;
}

/* ---- period maps ---- */

static void test_period_maps(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *cal;
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.start_month = 4; /* FY2026 = April 2025 .. March 2026 (named by its end) */
    co.label = SP_FISCAL_LABEL_END;
    assert_int_equal(sp_calendar_new(&cal, ctx, &co), SP_OK);
    spi_period_map m;
    assert_int_equal(spi_period_map_calendar(ctx, "t", &m, cal, SP_GRAIN_MONTH, 2025, 2), SP_OK);
    assert_int_equal(m.nbuckets, 24);
    assert_int_equal(m.from, day_of(2024, 4, 1));
    assert_int_equal(m.to, day_of(2026, 4, 1));
    assert_false(m.gaps);
    assert_int_equal(m.year_first[0], 0);
    assert_int_equal(m.year_first[1], 12);
    assert_int_equal(m.year_first[2], 24);
    /* 2025-03-31 is the last month of FY2025 (column 11), 2025-04-01 the first of FY2026. */
    assert_int_equal(m.bucket[day_of(2025, 3, 31) - m.base], 11);
    assert_int_equal(m.bucket[day_of(2025, 4, 1) - m.base], 12);
    /* A window beyond the table: the table grows, its new days have no period. */
    assert_int_equal(spi_period_map_window(ctx, "t", &m, day_of(2026, 1, 1), day_of(2026, 7, 1)),
                     SP_OK);
    assert_int_equal(m.to, day_of(2026, 7, 1));
    assert_true(m.gaps);
    assert_int_equal(m.bucket[day_of(2026, 5, 1) - m.base], SPI_GROUP_SKIP);
    assert_int_equal(m.bucket[day_of(2026, 3, 1) - m.base], 23);
    spi_period_map_limit(&m, day_of(2025, 1, 1), day_of(2025, 2, 1));
    assert_int_equal(m.from, day_of(2025, 1, 1));
    assert_int_equal(m.to, day_of(2025, 2, 1));
    spi_period_map_limit(&m, day_of(2025, 6, 1), day_of(2025, 7, 1)); /* disjoint: empty */
    assert_int_equal(m.from, m.to);
    /* A window after a limit grows the table from its own end, keeping every period. */
    assert_int_equal(spi_period_map_window(ctx, "t", &m, day_of(2026, 8, 1), day_of(2026, 9, 1)),
                     SP_OK);
    assert_int_equal(m.bucket[day_of(2026, 3, 1) - m.base], 23);
    assert_int_equal(m.bucket[day_of(2026, 8, 1) - m.base], SPI_GROUP_SKIP);
    assert_int_equal(m.to, day_of(2026, 9, 1));
    spi_period_map_free(ctx, &m);

    /* Bad maps. */
    spt_expect_error(ctx, spi_period_map_calendar(ctx, "t", &m, cal, SP_GRAIN_MONTH, 2025, 0),
                     SP_EINVAL, "t: 0 fiscal years is outside 1..9999");
    spt_expect_error(ctx, spi_period_map_calendar(ctx, "t", &m, cal, SP_GRAIN_MONTH, 9999, 2),
                     SP_EINVAL, "t: FY9999 + 1 years is after FY9999");
    assert_int_equal(spi_period_map_calendar(ctx, "t", &m, cal, 9, 2025, 1), SP_EINVAL);
    spi_period_map_whole(&m, 100, 200);
    spt_expect_error(ctx, spi_period_map_window(ctx, "t", &m, 5, 4), SP_EINVAL,
                     "t: day window [5, 4) is empty backwards or outside years 1 to 9999");
    spt_expect_error(ctx, spi_period_map_window(ctx, "t", &m, -800000, 4), SP_EINVAL,
                     "t: day window [-800000, 4) is empty backwards or outside years 1 to 9999");
    for (int w = 0; w < SPI_PERIOD_WINDOWS_MAX; w++)
        assert_int_equal(spi_period_map_window(ctx, "t", &m, 150, 300), SP_OK);
    spt_expect_error(ctx, spi_period_map_window(ctx, "t", &m, 150, 300), SP_EINVAL,
                     "t: more than 4 day windows");
    assert_int_equal(m.from, 100);
    assert_int_equal(m.to, 300);
    assert_true(m.gaps);
    spi_period_map_free(ctx, &m);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
}

/* ---- hand-checked cases ---- */

/* Every measure on three lines of one rep, then refunds netted: by hand. */
static void test_measures_and_netting(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    kindset *lk = &s.kinds[SP_FACT_ORDER_LINES], *rk = &s.kinds[SP_FACT_REFUNDS];
    lk->quantity = lk->cost = true;
    rk->col[SPI_COLUMN_REP] = rk->quantity = rk->cost = true;
    /* rep 1: amounts 1000, 250, -100 (a credit note); quantities 3, 1, -1; costs 600, 100,
     * -40. A refund of 300 (quantity 1, cost 120) to rep 1. */
    fact f = line(100, 1, 1000);
    f.quantity = 3, f.cost = 600;
    add_fact(&s, SP_FACT_ORDER_LINES, f);
    f = line(101, 1, 250);
    f.quantity = 1, f.cost = 100;
    add_fact(&s, SP_FACT_ORDER_LINES, f);
    f = line(102, 1, -100);
    f.quantity = -1, f.cost = -40;
    add_fact(&s, SP_FACT_ORDER_LINES, f);
    f = line(103, 1, 300);
    f.quantity = 1, f.cost = 120;
    add_fact(&s, SP_FACT_REFUNDS, f);

    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 2, &pm);
    spec.nmeasures = 5;
    for (uint32_t m = 0; m < 5; m++)
        spec.measures[m] = m; /* amount quantity cost margin count */
    spec.nkinds = 2;
    spec.kinds[1] = (spi_group_kind){ SP_FACT_REFUNDS, true };
    int64_t **cells = new_cells(&spec, 1);
    spi_group_report rep;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    /* amount 1150 - 300; quantity 3 - 1; cost 660 - 120; margin 490 - 180; count 3 - 1 */
    const int64_t want[5] = { 850, 2, 540, 310, 2 };
    for (int m = 0; m < 5; m++) {
        assert_int_equal(cells[m][0], 0);
        assert_int_equal(cells[m][1], want[m]);
    }
    assert_int_equal(rep.rows, 4);
    assert_int_equal(rep.used, 4);

    /* Refunds read but not netted: they add. */
    spec.kinds[1].negate = false;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][1], 1450);
    assert_int_equal(cells[4][1], 4);

    /* A measure whose column a batch lacks: the batch is named. */
    lk->cost = false;
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EINVAL,
                     "test grouping: order lines batch 1 has no cost column, which the costs "
                     "measure reads");
    spec.nmeasures = 4; /* margin reads cost too */
    spec.measures[2] = SPI_MEASURE_AMOUNT;
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EINVAL,
                     "test grouping: order lines batch 1 has no cost column, which the margins "
                     "measure reads");
    free_cells(cells);
    free_source(&s);
    sp_ctx_free(ctx);
}

/* Each index column as the key, with the batch's other columns ignored. */
static void test_dimensions(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_period_map pm;
    spi_period_map_whole(&pm, 0, 1000);
    for (uint32_t col = 0; col < NCOL; col++) {
        source s;
        memset(&s, 0, sizeof s);
        s.max_batch = 3;
        /* Channels are on stage events and marketing spend only: read spend there. */
        uint32_t kind = col == SPI_COLUMN_CHANNEL ? SP_FACT_MARKETING_SPEND : SP_FACT_ORDER_LINES;
        for (uint32_t c = 0; c < NCOL; c++)
            s.kinds[kind].col[c] = kind_has_col(kind, c);
        /* Row i: column c holds (i + c) mod 3; amounts 1, 10, 100, 1000, 10000, 100000. */
        for (uint32_t i = 0; i < 6; i++) {
            fact f = { (int32_t)(10 + i), { 0 }, 0, 0, 0 };
            for (uint32_t c = 0; c < NCOL; c++)
                f.key[c] = (i + c) % 3;
            f.amount = (int64_t[]){ 1, 10, 100, 1000, 10000, 100000 }[i];
            add_fact(&s, kind, f);
        }
        spi_group_spec spec = spec_of(col, 3, &pm);
        spec.kinds[0].kind = kind;
        int64_t **cells = new_cells(&spec, 1);
        spi_group_report rep;
        assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
        /* Group g gets rows i with (i + col) mod 3 == g. */
        for (uint32_t g = 0; g < 3; g++) {
            int64_t want = 0;
            for (uint32_t i = 0; i < 6; i++)
                if ((i + col) % 3 == g)
                    want += (int64_t[]){ 1, 10, 100, 1000, 10000, 100000 }[i];
            assert_int_equal(cells[0][g], want);
        }
        assert_int_equal(rep.used, 6);
        free_cells(cells);
        free_source(&s);
    }
    sp_ctx_free(ctx);
}

/* Key maps: groups, skipped keys, unknown ids (counted; strict), SP_NONE; the report. */
static void test_key_maps_and_unknown(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *dict;
    assert_int_equal(sp_dict_new(&dict, ctx), SP_OK);
    const char *const ids[] = { "北京", "skip", "ghost", "上海", "ghost2" };
    assert_int_equal(sp_dict_add_all(dict, ids, NULL, 5, NULL), SP_OK);
    const uint32_t map[5] = { 1, SPI_GROUP_SKIP, SPI_GROUP_UNKNOWN, 0, SPI_GROUP_UNKNOWN };
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    s.kinds[SP_FACT_REFUNDS].col[SPI_COLUMN_REP] = true;
    s.max_batch = 5000;
    /* 5000 lines: row i has key i mod 5, amount i + 1, key SP_NONE every 7th. */
    for (uint32_t i = 0; i < 5000; i++)
        add_fact(&s, SP_FACT_ORDER_LINES,
                 line((int32_t)i, i % 7 == 6 ? SP_NONE : i % 5, (int64_t)i + 1));
    add_fact(&s, SP_FACT_REFUNDS, line(3, 2, 1000000)); /* an unknown refund */
    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 2, &pm);
    spec.nkeys = 5;
    spec.key_map = map;
    spec.dict = dict;
    spec.nkinds = 2;
    spec.kinds[1] = (spi_group_kind){ SP_FACT_REFUNDS, true };
    int64_t want[2] = { 0, 0 }, unknown_amount = -1000000;
    uint64_t none = 0, skipped = 0, unknown = 1;
    for (uint32_t i = 0; i < 5000; i++) {
        int64_t a = (int64_t)i + 1;
        if (i % 7 == 6)
            none++;
        else if (i % 5 == 0)
            want[1] += a;
        else if (i % 5 == 3)
            want[0] += a;
        else if (i % 5 == 1)
            skipped++;
        else
            unknown++, unknown_amount += a;
    }
    int64_t **cells = new_cells(&spec, 1);
    spi_group_report rep;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][0], want[0]);
    assert_int_equal(cells[0][1], want[1]);
    assert_int_equal(rep.rows, 5001);
    assert_int_equal(rep.no_key, none);
    assert_int_equal(rep.skipped, skipped);
    assert_int_equal(rep.unknown, unknown);
    assert_int_equal(rep.unknown_ids, 2);
    assert_int_equal(rep.unknown_amount, unknown_amount);
    assert_int_equal(rep.used, 5001 - none - skipped - unknown);

    /* Strict: the first unknown row is an error naming its column, row, index and id. */
    spec.strict = true;
    spec.unknown_as = "no rep of the test";
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_ENOTFOUND,
                     "test grouping: rep[2] = 2 has id \"ghost\", which is no rep of the test "
                     "(strict ids)");
    /* The row is the batch's, beyond its first slice. */
    free_source(&s);
    s = lines_source();
    const uint32_t nrows = SPI_FACT_SLICE + 904, bad_row = SPI_FACT_SLICE + 404;
    s.max_batch = nrows;
    for (uint32_t i = 0; i < nrows; i++)
        add_fact(&s, SP_FACT_ORDER_LINES, line((int32_t)i, i == bad_row ? 4 : 0, 1));
    spec.nkinds = 1;
    char msg[200];
    snprintf(msg, sizeof msg, "test grouping: rep[%u] = 4 has id \"ghost2\", which is no rep of "
                              "the test (strict ids)",
             (unsigned)bad_row);
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_ENOTFOUND, msg);
    /* Without the dictionary the id is not quoted. */
    spec.dict = NULL;
    spec.unknown_as = NULL;
    snprintf(msg, sizeof msg, "test grouping: rep[%u] = 4 is unknown (strict ids)",
             (unsigned)bad_row);
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_ENOTFOUND, msg);
    free_cells(cells);
    free_source(&s);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
}

/* Calendar maps: months of a months calendar, weeks of a 4-5-4 calendar (a 53-week year),
 * a trailing window, days outside every column; against a hand count. */
static void test_calendar_columns(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_calendar *nrf;
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.kind = SP_CALENDAR_RETAIL_454;
    co.start_month = 2;
    co.label = SP_FISCAL_LABEL_START;
    co.year_end_weekday = 6;
    co.year_end_rule = SP_YEAR_END_NEAREST;
    assert_int_equal(sp_calendar_new(&nrf, ctx, &co), SP_OK);
    /* NRF FY2023: 2023-01-29 .. 2024-02-03, 53 weeks; FY2024 from 2024-02-04, 52 weeks. */
    spi_period_map pm;
    assert_int_equal(spi_period_map_calendar(ctx, "t", &pm, nrf, SP_GRAIN_WEEK, 2023, 2), SP_OK);
    assert_int_equal(pm.nbuckets, 105);
    assert_int_equal(pm.year_first[1], 53);
    assert_int_equal(pm.from, day_of(2023, 1, 29));
    source s = lines_source();
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2023, 1, 29), 0, 1));  /* week 0 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2023, 2, 4), 0, 2));   /* week 0 (Sat) */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2023, 2, 5), 0, 4));   /* week 1 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2024, 2, 3), 0, 8));   /* week 52 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2024, 2, 4), 1, 16));  /* FY2024 week 0 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2023, 1, 28), 1, 32)); /* before: not read */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2025, 2, 1), 1, 64));  /* last day */
    add_fact(&s, SP_FACT_ORDER_LINES, line(day_of(2025, 2, 2), 1, 128)); /* after: not read */
    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 2, &pm);
    int64_t **cells = new_cells(&spec, 106);
    spi_group_report rep;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    int64_t want[2 * 105] = { 0 };
    want[0] = 3, want[1] = 4, want[52] = 8, want[105 + 53] = 16, want[105 + 104] = 64;
    assert_memory_equal(cells[0], want, sizeof want);
    assert_int_equal(rep.rows, 6);

    /* A window [2024-01-01, 2024-03-01) beside the weeks: column 105. */
    assert_int_equal(spi_period_map_window(ctx, "t", &pm, day_of(2024, 1, 1), day_of(2024, 3, 1)),
                     SP_OK);
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][105], 8);
    assert_int_equal(cells[0][106 + 105], 16);
    assert_int_equal(cells[0][52], 8);
    /* A window before the weeks: its days are read, in no period (unplaced when outside
     * the window too: none here). */
    assert_int_equal(spi_period_map_window(ctx, "t", &pm, day_of(2023, 1, 1), day_of(2023, 1, 29)),
                     SP_OK);
    free_cells(cells);
    cells = new_cells(&spec, 107);
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][107 + 106], 32);
    assert_int_equal(rep.rows, 7);
    assert_int_equal(rep.used, 7);
    /* Limited to FY2023: FY2024's rows are not read. */
    spi_period_map_limit(&pm, INT32_MIN, day_of(2024, 2, 4));
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(rep.rows, 5);
    assert_int_equal(cells[0][107 + 53], 0);
    free_cells(cells);
    spi_period_map_free(ctx, &pm);

    /* A whole-range map and a window beyond it: days in the window only are unplaced in
     * column 0 but placed in the window; days in neither are unplaced. */
    spi_period_map_whole(&pm, 100, 200);
    assert_int_equal(spi_period_map_window(ctx, "t", &pm, 150, 300), SP_OK);
    free_source(&s);
    s = lines_source();
    add_fact(&s, SP_FACT_ORDER_LINES, line(99, 0, 1));   /* not read */
    add_fact(&s, SP_FACT_ORDER_LINES, line(100, 0, 2));  /* column 0 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(160, 0, 4));  /* both */
    add_fact(&s, SP_FACT_ORDER_LINES, line(250, 0, 8));  /* window */
    add_fact(&s, SP_FACT_ORDER_LINES, line(300, 0, 16)); /* not read */
    spec = spec_of(SPI_COLUMN_REP, 1, &pm);
    cells = new_cells(&spec, 2);
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][0], 6);
    assert_int_equal(cells[0][1], 12);
    assert_int_equal(rep.rows, 3);
    assert_int_equal(rep.used, 3);
    /* Two windows with a gap between: [100, 200) and [400, 500); day 300 is read but in
     * neither. */
    spi_period_map_free(ctx, &pm);
    spi_period_map_whole(&pm, 100, 200);
    assert_int_equal(spi_period_map_window(ctx, "t", &pm, 400, 500), SP_OK);
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][0], 6);
    assert_int_equal(cells[0][1], 0);
    assert_int_equal(rep.rows, 4);
    assert_int_equal(rep.unplaced, 2);
    free_cells(cells);
    free_source(&s);
    sp_calendar_free(nrf);
    sp_ctx_free(ctx);
}

/* Groups that are hierarchy nodes, by id from the dictionary, rolled up: own + children. */
static void test_nodes_and_rollup(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const char *const ids[] = { "CN", "East", "West", "e1", "e2", "w1" };
    const char *const parents[] = { NULL, "CN", "CN", "East", "East", "West" };
    sp_hierarchy *h = tree(ctx, ids, parents, 6);
    sp_dict *dict;
    assert_int_equal(sp_dict_new(&dict, ctx), SP_OK);
    /* The dictionary's order differs from the hierarchy's; "x" is no node. */
    const char *const keys[] = { "w1", "x", "e2", "East", "e1" };
    assert_int_equal(sp_dict_add_all(dict, keys, NULL, 5, NULL), SP_OK);
    uint32_t *map;
    assert_int_equal(spi_group_map_nodes(ctx, dict, h, &map), SP_OK);
    uint32_t node[6];
    for (int i = 0; i < 6; i++)
        assert_int_equal(sp_hierarchy_find(h, ids[i], strlen(ids[i]), &node[i]), SP_OK);
    assert_int_equal(map[0], node[5]);
    assert_int_equal(map[1], SPI_GROUP_UNKNOWN);
    assert_int_equal(map[3], node[1]);
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 0, 1));    /* w1 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 1, 2));    /* x: unknown */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 2, 4));    /* e2 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 3, 8));    /* East's own */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 4, 16));   /* e1 */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 4, 32));   /* e1 */
    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 6, &pm);
    spec.nkeys = 5;
    spec.key_map = map;
    spec.dict = dict;
    spec.nodes = h;
    spec.rollup = true;
    int64_t **cells = new_cells(&spec, 1);
    spi_group_report rep;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][node[0]], 1 + 4 + 8 + 16 + 32);
    assert_int_equal(cells[0][node[1]], 4 + 8 + 16 + 32);
    assert_int_equal(cells[0][node[2]], 1);
    assert_int_equal(cells[0][node[3]], 48);
    assert_int_equal(cells[0][node[4]], 4);
    assert_int_equal(cells[0][node[5]], 1);
    assert_int_equal(rep.unknown, 1);
    /* Without the roll-up: own only. */
    spec.rollup = false;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
    assert_int_equal(cells[0][node[0]], 0);
    assert_int_equal(cells[0][node[1]], 8);
    free_cells(cells);
    free(map);
    free_source(&s);
    sp_dict_free(dict);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* Sums are exact in any order: a partial sum beyond int64_t that comes back is fine; a
 * final one that does not fit is SP_EOVERFLOW naming the group, whatever the order. */
static void test_overflow(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    s.kinds[SP_FACT_ORDER_LINES].cost = true;
    s.shuffle = true;
    /* Group 1: MAX - 10, +20, -30 = MAX - 20, in every order some partial sum is beyond
     * int64_t unless -30 comes first. Group 0: -MAX, -5, +10. */
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 1, INT64_MAX - 10));
    add_fact(&s, SP_FACT_ORDER_LINES, line(2, 1, 20));
    add_fact(&s, SP_FACT_ORDER_LINES, line(3, 1, -30));
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 0, -INT64_MAX));
    add_fact(&s, SP_FACT_ORDER_LINES, line(2, 0, -5));
    add_fact(&s, SP_FACT_ORDER_LINES, line(3, 0, 10));
    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 2, &pm);
    int64_t **cells = new_cells(&spec, 1);
    spi_group_report rep;
    for (uint64_t seed = 0; seed < 24; seed++) {
        s.seed = seed;
        s.max_batch = 1 + seed % 4;
        assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
        assert_int_equal(cells[0][1], INT64_MAX - 20);
        assert_int_equal(cells[0][0], -INT64_MAX + 5);
    }
    /* Margin: amount MAX with cost -1 is MAX + 1 on its own; a line of -1 brings it back. */
    free_source(&s);
    s = lines_source();
    s.kinds[SP_FACT_ORDER_LINES].cost = true;
    s.shuffle = true;
    fact f = line(1, 0, INT64_MAX);
    f.cost = -1;
    add_fact(&s, SP_FACT_ORDER_LINES, f);
    add_fact(&s, SP_FACT_ORDER_LINES, line(2, 0, -1));
    spec.measures[0] = SPI_MEASURE_MARGIN;
    for (uint64_t seed = 0; seed < 4; seed++) {
        s.seed = seed;
        assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, NULL), SP_OK);
        assert_int_equal(cells[0][0], INT64_MAX);
    }
    /* Without the -1: the margin MAX + 1 does not fit; the rep is named (identity map over
     * a dictionary). */
    s.kinds[SP_FACT_ORDER_LINES].n = 1;
    sp_dict *dict;
    assert_int_equal(sp_dict_new(&dict, ctx), SP_OK);
    const char *const ids[] = { "wang", "li" };
    assert_int_equal(sp_dict_add_all(dict, ids, NULL, 2, NULL), SP_OK);
    spec.dict = dict;
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EOVERFLOW,
                     "test grouping: the margins of rep \"wang\" overflow int64_t");
    /* Two groups overflow: the lower group is named, whatever the order. */
    free_source(&s);
    s = lines_source();
    s.shuffle = true;
    for (int k = 0; k < 3; k++) {
        add_fact(&s, SP_FACT_ORDER_LINES, line(1, 1, INT64_MAX / 2));
        add_fact(&s, SP_FACT_ORDER_LINES, line(1, 0, -INT64_MAX / 2));
    }
    spec.measures[0] = SPI_MEASURE_AMOUNT;
    spec.dict = NULL;
    for (uint64_t seed = 0; seed < 6; seed++) {
        s.seed = seed;
        spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EOVERFLOW,
                         "test grouping: the amounts of group 0 overflow int64_t");
    }
    /* A window's cell and a node's: named as a node. */
    const char *const nids[] = { "R", "a", "b" };
    const char *const nparents[] = { NULL, "R", "R" };
    sp_hierarchy *h = tree(ctx, nids, nparents, 3);
    uint32_t a;
    assert_int_equal(sp_hierarchy_find(h, "a", 1, &a), SP_OK);
    free_source(&s);
    s = lines_source();
    add_fact(&s, SP_FACT_ORDER_LINES, line(5, a, INT64_MAX));
    add_fact(&s, SP_FACT_ORDER_LINES, line(150, a, INT64_MAX));
    spi_period_map_whole(&pm, 0, 100);
    assert_int_equal(spi_period_map_window(ctx, "t", &pm, 0, 200), SP_OK);
    spec = spec_of(SPI_COLUMN_REP, 3, &pm);
    spec.nodes = h;
    free_cells(cells);
    cells = new_cells(&spec, 2);
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EOVERFLOW,
                     "test grouping: the amounts of node \"a\" overflow int64_t");
    /* Own cells that fit, a roll-up that does not: the roll-up's message. */
    uint32_t b;
    assert_int_equal(sp_hierarchy_find(h, "b", 1, &b), SP_OK);
    s.kinds[SP_FACT_ORDER_LINES].rows[1].day = 50;
    s.kinds[SP_FACT_ORDER_LINES].rows[1].key[0] = b;
    spi_period_map_free(ctx, &pm);
    spi_period_map_whole(&pm, 0, 100);
    spec.rollup = true;
    free_cells(cells);
    cells = new_cells(&spec, 1);
    spt_expect_error(ctx, run_group(ctx, &spec, &s, cells, &rep, NULL), SP_EOVERFLOW,
                     "test grouping: the sum at node \"R\" overflows int64_t");
    free_cells(cells);
    free_source(&s);
    sp_hierarchy_free(h);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
}

static int cancel_at_first(void *user, uint64_t done, uint64_t total)
{
    (void)total;
    *(uint64_t *)user = done;
    return 1;
}

static int count_reports(void *user, uint64_t done, uint64_t total)
{
    (void)done, (void)total;
    (*(uint64_t *)user)++;
    return 0;
}

static void test_progress_and_cancel(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    s.kinds[SP_FACT_REFUNDS].col[SPI_COLUMN_REP] = true;
    s.max_batch = 3000;
    for (uint32_t i = 0; i < 20000; i++)
        add_fact(&s, SP_FACT_ORDER_LINES, line(1, 0, 1));
    add_fact(&s, SP_FACT_REFUNDS, line(1, 0, 1));
    spi_group_spec spec = spec_of(SPI_COLUMN_REP, 1, &pm);
    spec.nkinds = 2;
    spec.kinds[1] = (spi_group_kind){ SP_FACT_REFUNDS, true };
    int64_t **cells = new_cells(&spec, 1);
    spi_group_report rep;
    uint64_t reports = 0;
    sp_progress p = SP_PROGRESS_INIT;
    p.user = &reports;
    p.report = count_reports;
    assert_int_equal(run_group(ctx, &spec, &s, cells, &rep, &p), SP_OK);
    assert_int_equal(cells[0][0], 19999);
    assert_true(reports >= 20000 / 8192 + 2); /* each kind reports at least at its end */
    uint64_t at = 0;
    p.user = &at;
    p.report = cancel_at_first;
    int rc = run_group(ctx, &spec, &s, cells, &rep, &p);
    assert_int_equal(rc, SP_ECANCELED);
    char want[128];
    snprintf(want, sizeof want, "fact source: scan of order lines: canceled by the host at %llu "
                                "of 0",
             (unsigned long long)at);
    assert_string_equal(sp_ctx_errmsg(ctx), want);
    assert_true(at > 0 && at < 20000);
    free_cells(cells);
    free_source(&s);
    sp_ctx_free(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_period_map pm;
    spi_period_map_whole(&pm, INT32_MIN, INT32_MAX);
    source s = lines_source();
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 0, 5));
    add_fact(&s, SP_FACT_ORDER_LINES, line(1, 3, 5));
    sp_fact_source src = source_of(&s);
    spi_group_spec good = spec_of(SPI_COLUMN_REP, 2, &pm), spec;
    int64_t c0[8], *cells[SPI_GROUP_MEASURES_MAX] = { c0, c0, c0, c0, c0 };
    spi_group_report rep;
    spt_expect_error(ctx, spi_group_facts(ctx, NULL, &src, NULL, cells, &rep), SP_EINVAL,
                     "fact grouping: the spec is NULL");
    spt_expect_error(ctx, spi_group_facts(ctx, &good, NULL, NULL, cells, &rep), SP_EINVAL,
                     "fact grouping: the fact source is NULL");
    spt_expect_error(ctx, spi_group_facts(ctx, &good, &src, NULL, NULL, &rep), SP_EINVAL,
                     "fact grouping: cells is NULL");
    spec = good, spec.what = NULL;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "fact grouping: what is NULL");
    spec = good, spec.periods = NULL;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: the period map is NULL");
    spec = good, spec.column = 5;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: column 5 is not an index column (0 to 4)");
    spec = good, spec.nkinds = 0;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: 0 kinds is outside 1..4");
    spec = good, spec.kinds[0].kind = 6;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: kinds[0]: unknown kind 6");
    spec = good, spec.nmeasures = 6;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: 6 measures is outside 1..5");
    spec = good, spec.measures[0] = 5;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: measures[0]: unknown measure 5");
    spec = good, spec.nmeasures = 2, spec.measures[1] = SPI_MEASURE_COUNT;
    int64_t *one[SPI_GROUP_MEASURES_MAX] = { c0, NULL, NULL, NULL, NULL };
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, one, &rep), SP_EINVAL,
                     "test grouping: cells[1] is NULL");
    spec = good, spec.ngroups = SPI_GROUP_LIMIT;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: 4294967292 groups are too many");
    spec = good, spec.nkeys = 3;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: 3 keys without a key map need as many groups (there are 2)");
    const uint32_t bad_map[2] = { 1, 2 };
    spec = good, spec.key_map = bad_map;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: key_map[1] = 2 is no group (2 groups)");
    spec = good, spec.rollup = true;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: a roll-up needs the hierarchy of the groups");
    sp_hierarchy *h;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add(h, "R", 1, NULL, 0, NULL), SP_OK);
    spec = good, spec.nodes = h;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: the hierarchy is not validated");
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: 2 groups, but the hierarchy has 1 nodes");
    spi_period_map broken = pm;
    broken.nbuckets = 0;
    spec = good, spec.periods = &broken;
    spt_expect_error(ctx, spi_group_facts(ctx, &spec, &src, NULL, cells, &rep), SP_EINVAL,
                     "test grouping: the period map was not built by spi_period_map_*");
    /* A key beyond the dictionary: the batch check names it (rep 3, nkeys 2). */
    memset(&rep, 0x5A, sizeof rep);
    spi_group_report before = rep;
    spt_expect_error(ctx, spi_group_facts(ctx, &good, &src, NULL, cells, &rep), SP_EINVAL,
                     "order lines batch 1: rep[1] = 3 is not a known index (dictionary has 2)");
    assert_memory_equal(&rep, &before, sizeof rep); /* the report is written on success only */
    sp_hierarchy_free(h);
    free_source(&s);
    sp_ctx_free(ctx);
}

/* ---- random facts against the naive grouping ---- */

typedef struct world {
    sp_calendar *months, *nrf;
    sp_hierarchy *h; /* when the groups are nodes */
    uint32_t *map;
} world;

/* A random tree of n nodes: node i's parent is one of 0 .. i-1. */
static sp_hierarchy *random_tree(sp_ctx *ctx, spt_rng *r, uint32_t n)
{
    char (*ids)[16] = calloc(n, sizeof *ids), (*par)[16] = calloc(n, sizeof *par);
    const char **idp = calloc(n, sizeof *idp), **parp = calloc(n, sizeof *parp);
    for (uint32_t i = 0; i < n; i++) {
        snprintf(ids[i], sizeof ids[i], "n%u", (unsigned)i);
        idp[i] = ids[i];
        if (i > 0) {
            snprintf(par[i], sizeof par[i], "n%u", (unsigned)spt_rng_range(r, 0, i - 1));
            parp[i] = par[i];
        }
    }
    sp_hierarchy *h = tree(ctx, idp, parp, n);
    free(ids);
    free(par);
    free(idp);
    free(parp);
    return h;
}

static void random_map(spt_rng *r, const world *w, mapdesc *d)
{
    memset(d, 0, sizeof *d);
    switch (spt_rng_range(r, 0, 3)) {
    case 0:
        d->type = MAP_WHOLE;
        d->whole_from = spt_rng_chance(r, 30)
                            ? INT32_MIN
                            : day_of(2024, 1, 1) + (int32_t)spt_rng_range(r, -100, 100);
        d->whole_to = spt_rng_chance(r, 30)
                          ? INT32_MAX
                          : day_of(2025, 6, 1) + (int32_t)spt_rng_range(r, -100, 100);
        break;
    case 1:
        d->type = MAP_CALENDAR;
        d->cal = w->months;
        d->grain = (uint32_t)spt_rng_range(r, SP_GRAIN_YEAR, SP_GRAIN_WEEK);
        d->first_year = (int32_t)spt_rng_range(r, 2023, 2025);
        d->years = (uint32_t)spt_rng_range(r, 1, 3);
        break;
    default:
        d->type = MAP_CALENDAR;
        d->cal = w->nrf;
        d->grain = spt_rng_chance(r, 70) ? SP_GRAIN_WEEK : SP_GRAIN_MONTH;
        d->first_year = (int32_t)spt_rng_range(r, 2022, 2024);
        d->years = (uint32_t)spt_rng_range(r, 1, 3);
        break;
    }
    d->nwin = (uint32_t)(spt_rng_chance(r, 50) ? spt_rng_range(r, 1, 3) : 0);
    for (uint32_t k = 0; k < d->nwin; k++) {
        int32_t a = day_of(2022, 6, 1) + (int32_t)spt_rng_range(r, 0, 1600);
        d->win[k][0] = a;
        d->win[k][1] = a + (int32_t)spt_rng_range(r, 0, 400);
    }
    if (spt_rng_chance(r, 25)) {
        d->limit = true;
        d->lim_from = day_of(2023, 1, 1) + (int32_t)spt_rng_range(r, -200, 400);
        d->lim_to = d->lim_from + (int32_t)spt_rng_range(r, -10, 900);
    }
}

/* One random grouping: spec, map and facts; the kernel against the naive side, then the
 * same facts in other orders and batch sizes give the very same cells and report. */
static void one_random(sp_ctx *ctx, spt_rng *r, const world *w0, bool big)
{
    world w = *w0;
    source s;
    memset(&s, 0, sizeof s);
    /* Kinds: lines (+ refunds, netted or not), stage events, or marketing spend. */
    spi_group_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.what = "random";
    int64_t pick = spt_rng_range(r, 0, 99);
    int scenario = pick < 30 ? 0 : pick < 70 ? 1 : pick < 85 ? 2 : 3;
    uint32_t k0 = scenario == 2 ? SP_FACT_STAGE_EVENTS
                  : scenario == 3 ? SP_FACT_MARKETING_SPEND
                                  : SP_FACT_ORDER_LINES;
    spec.kinds[spec.nkinds++] = (spi_group_kind){ k0, false };
    if (scenario == 1)
        spec.kinds[spec.nkinds++] = (spi_group_kind){ SP_FACT_REFUNDS, spt_rng_chance(r, 70) };
    /* The key: a column every kind read may carry. */
    uint32_t col;
    do
        col = (uint32_t)spt_rng_range(r, 0, NCOL - 1);
    while (!kind_has_col(k0, col) || (scenario == 1 && !kind_has_col(SP_FACT_REFUNDS, col)));
    spec.column = col;
    bool values = k0 == SP_FACT_ORDER_LINES; /* quantity and cost: lines and refunds */
    for (size_t k = 0; k < spec.nkinds; k++) {
        kindset *ks = &s.kinds[spec.kinds[k].kind];
        for (uint32_t c = 0; c < NCOL; c++)
            ks->col[c] = kind_needs_col(spec.kinds[k].kind, c) ||
                         (kind_has_col(spec.kinds[k].kind, c) &&
                          spt_rng_chance(r, c == col ? 95 : 50));
        ks->quantity = ks->cost = values;
        ks->no_amount = spec.kinds[k].kind == SP_FACT_STAGE_EVENTS && spt_rng_chance(r, 30);
    }
    /* Measures: 1 to 3, of what every kind carries. */
    bool amount = !s.kinds[k0].no_amount;
    /* Half the time one measure (the fast loops), most often the amount. */
    size_t nm = spt_rng_chance(r, 50) ? 1 : (size_t)spt_rng_range(r, 2, 3);
    for (size_t m = 0; m < nm; m++) {
        uint32_t me;
        do
            me = spt_rng_chance(r, 40) ? SPI_MEASURE_AMOUNT
                                       : (uint32_t)spt_rng_range(r, 0, SPI_MEASURE_COUNT);
        while ((me != SPI_MEASURE_COUNT && !amount) ||
               ((me == SPI_MEASURE_QUANTITY || me == SPI_MEASURE_COST ||
                 me == SPI_MEASURE_MARGIN) &&
                !values));
        spec.measures[spec.nmeasures++] = me;
    }
    /* Groups: the identity over the keys, a key map, or the nodes of a tree. */
    uint32_t nkeys = (uint32_t)spt_rng_range(r, 1, big ? 3000 : 60);
    int mode = (int)spt_rng_range(r, 0, 2);
    spec.nkeys = nkeys;
    w.map = NULL;
    w.h = NULL;
    if (mode == 0) {
        spec.ngroups = nkeys + (uint32_t)spt_rng_range(r, 0, 3);
    } else {
        spec.ngroups = (uint32_t)spt_rng_range(r, 1, 40);
        w.map = malloc(nkeys * sizeof *w.map);
        for (uint32_t i = 0; i < nkeys; i++) {
            int64_t t = spt_rng_range(r, 0, 9);
            w.map[i] = t == 0 ? SPI_GROUP_SKIP
                       : t == 1 ? SPI_GROUP_UNKNOWN
                                : (uint32_t)spt_rng_range(r, 0, spec.ngroups - 1);
        }
        spec.key_map = w.map;
        if (mode == 2) {
            w.h = random_tree(ctx, r, spec.ngroups);
            spec.nodes = w.h;
            spec.rollup = spt_rng_chance(r, 80);
        }
    }
    mapdesc d;
    random_map(r, &w, &d);
    spi_period_map pm;
    assert_int_equal(build_map(ctx, &d, &pm), SP_OK);
    spec.periods = &pm;
    /* Facts: days from 2021 to 2027, keys with SP_NONE now and then, every value column. */
    for (size_t k = 0; k < spec.nkinds; k++) {
        uint32_t kind = spec.kinds[k].kind;
        size_t n = (size_t)spt_rng_range(r, 0, big ? 3 * SPI_FACT_SLICE : 600);
        for (size_t i = 0; i < n; i++) {
            fact f;
            f.day = day_of(2021, 1, 1) + (int32_t)spt_rng_range(r, 0, 7 * 365);
            for (uint32_t c = 0; c < NCOL; c++)
                f.key[c] = spt_rng_chance(r, 5) ? SP_NONE
                                                : (uint32_t)spt_rng_range(r, 0, nkeys - 1);
            bool refund = kind == SP_FACT_REFUNDS;
            f.amount = spt_rng_range(r, refund ? 0 : -100000, 10000000);
            f.quantity = spt_rng_range(r, -5, 50);
            f.cost = spt_rng_range(r, -50000, 5000000);
            add_fact(&s, kind, f);
        }
    }
    naive want;
    naive_group(&s, &spec, &d, &want);
    int64_t **cells = new_cells(&spec, want.width), **again = new_cells(&spec, want.width);
    spi_group_report rep, rep2;
    s.max_batch = (size_t)spt_rng_range(r, 1, big ? 2 * SPI_FACT_SLICE : 300);
    s.filter = spt_rng_chance(r, 50);
    s.seed = spt_rng_next(r);
    int rc = run_group(ctx, &spec, &s, cells, &rep, NULL);
    if (rc != SP_OK)
        fail_msg("random grouping: %s", sp_ctx_errmsg(ctx));
    expect_naive(cells, &rep, &want, &spec);
    for (int t = 0; t < 2; t++) {
        s.shuffle = true;
        s.filter = !s.filter;
        s.max_batch = (size_t)spt_rng_range(r, 1, big ? 2 * SPI_FACT_SLICE : 300);
        s.seed = spt_rng_next(r);
        assert_int_equal(run_group(ctx, &spec, &s, again, &rep2, NULL), SP_OK);
        for (size_t m = 0; m < spec.nmeasures; m++)
            assert_memory_equal(cells[m], again[m], want.ncells * sizeof *cells[m]);
        assert_memory_equal(&rep, &rep2, sizeof rep);
    }
    free_cells(cells);
    free_cells(again);
    naive_free(&want);
    spi_period_map_free(ctx, &pm);
    free(w.map);
    sp_hierarchy_free(w.h);
    free_source(&s);
}

static void make_world(sp_ctx *ctx, world *w)
{
    memset(w, 0, sizeof *w);
    sp_calendar_options co = SP_CALENDAR_OPTIONS_INIT;
    co.start_month = 7;
    co.label = SP_FISCAL_LABEL_END;
    assert_int_equal(sp_calendar_new(&w->months, ctx, &co), SP_OK);
    co = (sp_calendar_options)SP_CALENDAR_OPTIONS_INIT;
    co.kind = SP_CALENDAR_RETAIL_454;
    co.start_month = 2;
    co.label = SP_FISCAL_LABEL_START;
    co.year_end_weekday = 6;
    co.year_end_rule = SP_YEAR_END_NEAREST;
    assert_int_equal(sp_calendar_new(&w->nrf, ctx, &co), SP_OK);
}

static void test_random_against_naive(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    world w;
    make_world(ctx, &w);
    spt_rng r = { 2026 };
    unsigned iters = spt_iterations(300);
    for (unsigned it = 0; it < iters; it++)
        one_random(ctx, &r, &w, false);
    /* A few with many rows: several slices within large batches, selection vectors. */
    for (unsigned it = 0; it < spt_iterations(20); it++)
        one_random(ctx, &r, &w, true);
    sp_calendar_free(w.months);
    sp_calendar_free(w.nrf);
    sp_ctx_free(ctx);
}

/* ---- allocation faults ---- */

typedef struct fault_state {
    spt_alloc alloc;
    sp_ctx *ctx;
    source s;
    sp_calendar *cal;
    sp_hierarchy *h;
    sp_dict *dict;
    int64_t *cells[SPI_GROUP_MEASURES_MAX];
    bool overflow;
} fault_state;

/* Everything a module does: the map, a window, the key map by id, the grouping with a
 * roll-up (and, when `overflow`, a carry). */
static int fault_run(void *user)
{
    fault_state *f = user;
    spi_period_map pm;
    memset(&pm, 0, sizeof pm);
    uint32_t *map = NULL;
    int rc = spi_period_map_calendar(f->ctx, "t", &pm, f->cal, SP_GRAIN_MONTH, 2025, 1);
    if (rc == SP_OK)
        rc = spi_period_map_window(f->ctx, "t", &pm, day_of(2024, 7, 1), day_of(2025, 7, 1));
    if (rc == SP_OK)
        rc = spi_group_map_nodes(f->ctx, f->dict, f->h, &map);
    if (rc == SP_OK) {
        spi_group_spec spec = spec_of(SPI_COLUMN_REP, 3, &pm);
        spec.nkeys = 3;
        spec.key_map = map;
        spec.nodes = f->h;
        spec.rollup = true;
        spec.nmeasures = 2;
        spec.measures[1] = SPI_MEASURE_COUNT;
        sp_fact_source src = source_of(&f->s);
        spi_group_report rep;
        rc = spi_group_facts(f->ctx, &spec, &src, NULL, f->cells, &rep);
    }
    spi_free(f->ctx, map);
    spi_period_map_free(f->ctx, &pm);
    return rc;
}

static size_t fault_live(void *user)
{
    return ((fault_state *)user)->alloc.live_blocks;
}

static void test_allocation_faults(void **state)
{
    (void)state;
    fault_state f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    assert_int_equal(sp_calendar_new(&f.cal, f.ctx, NULL), SP_OK);
    const char *const ids[] = { "R", "a", "b" };
    const char *const parents[] = { NULL, "R", "R" };
    f.h = tree(f.ctx, ids, parents, 3);
    assert_int_equal(sp_dict_new(&f.dict, f.ctx), SP_OK);
    const char *const keys[] = { "b", "a", "zz" };
    assert_int_equal(sp_dict_add_all(f.dict, keys, NULL, 3, NULL), SP_OK);
    for (int m = 0; m < 2; m++)
        f.cells[m] = calloc(3 * 13, sizeof *f.cells[m]);
    f.s = lines_source();
    f.s.max_batch = 10;
    for (uint32_t i = 0; i < 50; i++)
        add_fact(&f.s, SP_FACT_ORDER_LINES,
                 line(day_of(2024, 1, 1) + (int32_t)(i * 17), i % 3, (int64_t)i));
    static const int enomem[] = { SP_ENOMEM };
    spt_fault_case c = { "grouping", fault_run, NULL, NULL, fault_live, enomem, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&c, &inj) >= 5);
    /* With a transient overflow (net 0), so that the carry is allocated too. */
    add_fact(&f.s, SP_FACT_ORDER_LINES, line(day_of(2024, 12, 1), 0, INT64_MAX));
    add_fact(&f.s, SP_FACT_ORDER_LINES, line(day_of(2024, 12, 2), 0, INT64_MAX));
    add_fact(&f.s, SP_FACT_ORDER_LINES, line(day_of(2024, 12, 3), 0, -INT64_MAX));
    add_fact(&f.s, SP_FACT_ORDER_LINES, line(day_of(2024, 12, 4), 0, -INT64_MAX));
    f.s.max_batch = 60;
    assert_true(spt_fault_loop(&c, &inj) >= 6);
    free(f.cells[0]);
    free(f.cells[1]);
    free_source(&f.s);
    sp_dict_free(f.dict);
    sp_hierarchy_free(f.h);
    sp_calendar_free(f.cal);
    sp_ctx_free(f.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_period_maps),
        cmocka_unit_test(test_measures_and_netting),
        cmocka_unit_test(test_dimensions),
        cmocka_unit_test(test_key_maps_and_unknown),
        cmocka_unit_test(test_calendar_columns),
        cmocka_unit_test(test_nodes_and_rollup),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_progress_and_cancel),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_random_against_naive),
        cmocka_unit_test(test_allocation_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
