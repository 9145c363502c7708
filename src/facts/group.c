/*
 * Fact grouping: the facts of some kinds summed per group of a key column and per period
 * of a calendar (plus day windows), then rolled up along a hierarchy. Every module that
 * groups facts (target history and actuals; funnel, commission and KPI next) calls this.
 *
 * Speed: the key maps and the day table are built once per call; a row then costs a key
 * lookup (none for the identity map), a day lookup (none for the whole-range map) and a
 * checked addition: no allocation, no call, no division. The common case (one amount
 * measure, no window, no day without a period) runs a loop specialised once per slice
 * for whether there is a selection vector, a key map, a day table, and the kind's sign;
 * the rest runs one general loop.
 *
 * Exactness: a cell adds in int64_t; when an addition leaves int64_t the wrapped value is
 * kept and the cell's carry (a count of 2^64, in an array allocated on the first one)
 * takes the difference, so the sum is exact in any order and a cell overflows only when
 * its carry is not 0 at the end.
 */
#include <stdio.h>
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "../hierarchy/hierarchy_internal.h"
#include "../money/numeric.h"
#include "facts_internal.h"

#if defined(__GNUC__)
#define SPI_NOINLINE __attribute__((noinline, cold))
#define SPI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define SPI_NOINLINE
#define SPI_UNLIKELY(x) (x)
#endif

/* Internal key-map entry: the key is SP_NONE. Groups stay below all three. */
#define NO_KEY (UINT32_MAX - 2)
_Static_assert(SPI_GROUP_LIMIT <= NO_KEY && NO_KEY < SPI_GROUP_UNKNOWN,
               "special key-map entries above every group");

/* Plural, for "the amounts of node ... overflow". */
static const char *const measure_names[] = { "amounts", "quantities", "costs", "margins",
                                             "counts" };

/* ---- period maps ---- */

void spi_period_map_whole(spi_period_map *m, int32_t from, int32_t to)
{
    memset(m, 0, sizeof *m);
    m->from = m->whole_from = from;
    m->to = m->whole_to = to < from ? from : to;
    m->nbuckets = 1;
}

int spi_period_map_calendar(sp_ctx *ctx, const char *what, spi_period_map *m,
                            const sp_calendar *cal, uint32_t grain, int32_t first_year,
                            uint32_t years)
{
    if (years < 1 || years > SP_CALENDAR_MAX_YEAR)
        return spi_fail(ctx, SP_EINVAL, "%s: %u fiscal years is outside 1..%d", what,
                        (unsigned)years, SP_CALENDAR_MAX_YEAR);
    int32_t fd[SP_CALENDAR_MAX_PERIODS], ed[SP_CALENDAR_MAX_PERIODS];
    size_t count;
    int rc;
    int32_t lo = 0, hi = 0;
    /* First the extent (and every year checked), then the table. */
    for (uint32_t y = 0; y < years; y++) {
        if (first_year > SP_CALENDAR_MAX_YEAR - (int32_t)y)
            return spi_fail(ctx, SP_EINVAL, "%s: FY%d + %u years is after FY%d", what,
                            (int)first_year, (unsigned)y, SP_CALENDAR_MAX_YEAR);
        if ((rc = spi_calendar_periods(ctx, what, cal, first_year + (int32_t)y, grain, fd, ed,
                                       NULL, SP_CALENDAR_MAX_PERIODS, &count)) != SP_OK)
            return rc;
        lo = y == 0 || fd[0] < lo ? fd[0] : lo;
        hi = y == 0 || ed[count - 1] > hi ? ed[count - 1] : hi;
    }
    uint32_t *table = spi_malloc_array(ctx, (size_t)(hi - lo), sizeof *table);
    uint32_t *year_first = spi_malloc_array(ctx, (size_t)years + 1, sizeof *year_first);
    if (table == NULL || year_first == NULL) {
        spi_free(ctx, table);
        spi_free(ctx, year_first);
        return SP_ENOMEM;
    }
    for (int32_t d = lo; d < hi; d++)
        table[d - lo] = SPI_GROUP_SKIP;
    uint32_t column = 0;
    for (uint32_t y = 0; y < years; y++) {
        (void)spi_calendar_periods(ctx, what, cal, first_year + (int32_t)y, grain, fd, ed, NULL,
                                   SP_CALENDAR_MAX_PERIODS, &count);
        year_first[y] = column;
        for (size_t p = 0; p < count; p++, column++)
            for (int32_t d = fd[p]; d < ed[p]; d++)
                table[d - lo] = column;
    }
    year_first[years] = column;
    bool gaps = false;
    for (int32_t d = lo; d < hi; d++)
        gaps |= table[d - lo] == SPI_GROUP_SKIP;
    memset(m, 0, sizeof *m);
    m->from = m->base = lo;
    m->to = m->end = hi;
    m->nbuckets = column;
    m->bucket = table;
    m->gaps = gaps;
    m->year_first = year_first;
    return SP_OK;
}

int spi_period_map_window(sp_ctx *ctx, const char *what, spi_period_map *m, int32_t from,
                          int32_t to)
{
    if (m->nwindows == SPI_PERIOD_WINDOWS_MAX)
        return spi_fail(ctx, SP_EINVAL, "%s: more than %d day windows", what,
                        SPI_PERIOD_WINDOWS_MAX);
    if (from > to || from < SPI_DAY_MIN || to > SPI_DAY_MAX + 1)
        return spi_fail(ctx, SP_EINVAL,
                        "%s: day window [%ld, %ld) is empty backwards or outside years 1 to 9999",
                        what, (long)from, (long)to);
    int32_t nfrom = m->from, nto = m->to;
    if (from < to) {
        nfrom = m->from < m->to && m->from < from ? m->from : from;
        nto = m->from < m->to && m->to > to ? m->to : to;
    }
    if (m->bucket != NULL && (nfrom < m->base || nto > m->end)) {
        int32_t base = nfrom < m->base ? nfrom : m->base, end = nto > m->end ? nto : m->end;
        uint32_t *t = spi_malloc_array(ctx, (size_t)(end - base), sizeof *t);
        if (t == NULL)
            return SP_ENOMEM;
        for (int32_t d = base; d < end; d++)
            t[d - base] = d >= m->base && d < m->end ? m->bucket[d - m->base] : SPI_GROUP_SKIP;
        spi_free(ctx, m->bucket);
        m->bucket = t;
        m->base = base;
        m->end = end;
        m->gaps = true;
    } else if (m->bucket == NULL && (nfrom < m->whole_from || nto > m->whole_to)) {
        m->gaps = true;
    }
    m->from = nfrom;
    m->to = nto;
    m->window[m->nwindows][0] = from;
    m->window[m->nwindows][1] = to;
    m->nwindows++;
    return SP_OK;
}

void spi_period_map_limit(spi_period_map *m, int32_t from, int32_t to)
{
    m->from = from > m->from ? from : m->from;
    m->to = to < m->to ? to : m->to;
    if (m->to < m->from)
        m->to = m->from;
}

void spi_period_map_free(sp_ctx *ctx, spi_period_map *m)
{
    if (m == NULL)
        return;
    spi_free(ctx, m->bucket);
    spi_free(ctx, m->year_first);
    m->bucket = NULL;
    m->year_first = NULL;
}

/* ---- key maps ---- */

int spi_group_map_nodes(sp_ctx *ctx, const sp_dict *dict, const sp_hierarchy *h,
                        uint32_t **map)
{
    size_t nkeys = sp_dict_count(dict);
    uint32_t *m = spi_malloc_array(ctx, nkeys > 0 ? nkeys : 1, sizeof *m);
    if (m == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < nkeys; i++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(dict, (uint32_t)i, &id, &len);
        uint32_t node = spi_dict_lookup(h->ids, id, len); /* a miss is an unknown id */
        m[i] = node != SP_NONE ? node : SPI_GROUP_UNKNOWN;
    }
    *map = m;
    return SP_OK;
}

/* ---- the grouping ---- */

/* One measure of one kind as the loop adds it: + plus[r] - minus[r] + unit. */
typedef struct term {
    const int64_t *plus, *minus;
    int64_t unit;
} term;

typedef struct job {
    sp_ctx *ctx;
    const spi_group_spec *spec;
    const spi_period_map *pm;
    uint32_t *map1;  /* nkeys + 1 entries, map1[key + 1] (SP_NONE + 1 wraps to 0: NO_KEY);
                        NULL for the identity map */
    uint8_t *seen;   /* nkeys: the index is counted in unknown_ids */
    size_t width;
    size_t ncells;   /* ngroups * width */
    int64_t *const *cells;
    int64_t *carry[SPI_GROUP_MEASURES_MAX]; /* per cell: multiples of 2^64; NULL until one */
    bool fast;       /* one measure of one column: fast_rows */
    bool extra;      /* windows, or days without a period */
    const spi_group_kind *kind; /* being read */
    spi_group_report rep;
    spi_i128 unknown_sum;
} job;

/* A cell left int64_t by `dir` times 2^64 (+1 up, -1 down): the wrapped value stays. */
static SPI_NOINLINE int carry(job *j, size_t m, size_t cell, int dir)
{
    if (j->carry[m] == NULL &&
        (j->carry[m] = spi_calloc(j->ctx, j->ncells, sizeof *j->carry[m])) == NULL)
        return SP_ENOMEM;
    j->carry[m][cell] += dir;
    return SP_OK;
}

/* c += v (sub: c -= v), exactly. */
static SPI_FORCE_INLINE int add_exact(job *j, size_t m, size_t cell, int64_t v, bool sub)
{
    int64_t *c = j->cells[m] + cell;
    bool over = sub ? __builtin_sub_overflow(*c, v, c) : __builtin_add_overflow(*c, v, c);
    if (SPI_UNLIKELY(over))
        return carry(j, m, cell, (v > 0) != sub ? 1 : -1);
    return SP_OK;
}

static const char *name_group(const job *j, uint32_t g, char *buf, size_t cap)
{
    const spi_group_spec *s = j->spec;
    char q[SPI_QUOTE_CAP];
    const char *id;
    size_t len;
    if (s->nodes != NULL)
        snprintf(buf, cap, "node %s", spi_hierarchy_quote(s->nodes, g, q));
    else if (s->key_map == NULL && s->dict != NULL && sp_dict_id(s->dict, g, &id, &len) == SP_OK)
        snprintf(buf, cap, "%s %s", spi_fact_column_name(s->column), spi_quote(q, id, len));
    else
        snprintf(buf, cap, "group %lu", (unsigned long)g);
    return buf;
}

/* A row whose key maps to no group: NO_KEY, SKIP or UNKNOWN. */
static SPI_NOINLINE int special_key(job *j, const sp_fact_batch *b, const spi_fact_where *at,
                                    size_t r, uint32_t key, uint32_t g)
{
    const spi_group_spec *s = j->spec;
    if (g == NO_KEY || key == SP_NONE) {
        j->rep.no_key++;
        return SP_OK;
    }
    if (g == SPI_GROUP_SKIP) {
        j->rep.skipped++;
        return SP_OK;
    }
    if (s->strict) {
        const char *col = spi_fact_column_name(s->column);
        const char *as = s->unknown_as != NULL ? s->unknown_as : "unknown";
        const char *id;
        size_t len;
        char q[SPI_QUOTE_CAP];
        if (s->dict != NULL && sp_dict_id(s->dict, key, &id, &len) == SP_OK)
            return spi_fail(j->ctx, SP_ENOTFOUND, "%s: %s[%zu] = %lu has id %s, which is %s "
                                                  "(strict ids)",
                            s->what, col, at->first + r, (unsigned long)key,
                            spi_quote(q, id, len), as);
        return spi_fail(j->ctx, SP_ENOTFOUND, "%s: %s[%zu] = %lu is %s (strict ids)", s->what,
                        col, at->first + r, (unsigned long)key, as);
    }
    j->rep.unknown++;
    if (!j->seen[key]) {
        j->seen[key] = 1;
        j->rep.unknown_ids++;
    }
    if (b->amount != NULL)
        j->unknown_sum += j->kind->negate ? -(spi_i128)b->amount[r] : b->amount[r];
    return SP_OK;
}

/*
 * One measure read from one column (vals: amount, quantity or cost), specialised by the
 * compiler for each combination of the constant flags: SEL a selection vector, IDENT no
 * key map, TABLE a day table (else the whole-range map, one column), NEG a netted kind,
 * EXTRA windows or days without a period (else every row lands in exactly one cell).
 */
static SPI_FORCE_INLINE int fast_rows(job *j, const sp_fact_batch *b, const uint32_t *sel,
                                      size_t n, const spi_fact_where *at, const uint32_t *keys,
                                      const int64_t *vals, bool SEL, bool IDENT, bool TABLE,
                                      bool NEG, bool EXTRA)
{
    int64_t *cells = j->cells[0];
    const int32_t *day = b->day;
    const spi_period_map *pm = j->pm;
    const uint32_t *map1 = j->map1, *table = pm->bucket;
    const int32_t base = pm->base, wfrom = pm->whole_from;
    const uint32_t wspan = (uint32_t)pm->whole_to - (uint32_t)pm->whole_from;
    const uint32_t nwin = EXTRA ? pm->nwindows : 0, nb = pm->nbuckets;
    const size_t width = j->width;
    uint32_t wlo[SPI_PERIOD_WINDOWS_MAX], wlen[SPI_PERIOD_WINDOWS_MAX];
    for (uint32_t w = 0; w < nwin; w++) {
        wlo[w] = (uint32_t)pm->window[w][0];
        wlen[w] = (uint32_t)pm->window[w][1] - wlo[w];
    }
    uint64_t unplaced = 0;
    int rc = SP_OK;
    for (size_t k = 0; k < n; k++) {
        size_t r = SEL ? sel[k] : k;
        uint32_t key = keys[r];
        uint32_t g = IDENT ? key : map1[(uint32_t)(key + 1u)];
        if (SPI_UNLIKELY(IDENT ? g == SP_NONE : g >= SPI_GROUP_LIMIT)) {
            if ((rc = special_key(j, b, at, r, key, g)) != SP_OK)
                break;
            continue;
        }
        int64_t v = vals[r];
        size_t row = TABLE || EXTRA ? (size_t)g * width : g;
        uint32_t col = TABLE ? table[day[r] - base] : 0;
        if (EXTRA && !TABLE)
            col = (uint32_t)day[r] - (uint32_t)wfrom < wspan ? 0 : SPI_GROUP_SKIP;
        bool placed = !EXTRA || col != SPI_GROUP_SKIP;
        if (placed) {
            int64_t *c = cells + row + col;
            if (SPI_UNLIKELY(NEG ? __builtin_sub_overflow(*c, v, c)
                                 : __builtin_add_overflow(*c, v, c)) &&
                (rc = carry(j, 0, row + col, (v > 0) != NEG ? 1 : -1)) != SP_OK)
                break;
        }
        /* Windows without branches: a day is in one or not at random. */
        for (uint32_t w = 0; EXTRA && w < nwin; w++) {
            bool in = (uint32_t)day[r] - wlo[w] < wlen[w];
            int64_t x = v & -(int64_t)in, *c = cells + row + nb + w;
            placed |= in;
            if (SPI_UNLIKELY(NEG ? __builtin_sub_overflow(*c, x, c)
                                 : __builtin_add_overflow(*c, x, c)) &&
                (rc = carry(j, 0, row + nb + w, (x > 0) != NEG ? 1 : -1)) != SP_OK)
                break;
        }
        if (rc != SP_OK)
            break;
        unplaced += !placed;
    }
    j->rep.unplaced += unplaced;
    return rc;
}

/* Everything else: several measures, windows, days without a period. */
static int general_rows(job *j, const sp_fact_batch *b, const uint32_t *sel, size_t n,
                        const spi_fact_where *at, const uint32_t *keys, const term *t)
{
    const spi_period_map *pm = j->pm;
    const size_t nm = j->spec->nmeasures, width = j->width;
    const uint32_t wspan = (uint32_t)pm->whole_to - (uint32_t)pm->whole_from;
    int rc = SP_OK;
    for (size_t k = 0; rc == SP_OK && k < n; k++) {
        size_t r = sel != NULL ? sel[k] : k;
        uint32_t key = keys[r];
        uint32_t g = j->map1 == NULL ? (key == SP_NONE ? NO_KEY : key)
                                     : j->map1[(uint32_t)(key + 1u)];
        if (g >= SPI_GROUP_LIMIT) {
            rc = special_key(j, b, at, r, key, g);
            continue;
        }
        int32_t d = b->day[r];
        uint32_t col = pm->bucket != NULL                              ? pm->bucket[d - pm->base]
                       : (uint32_t)d - (uint32_t)pm->whole_from < wspan ? 0
                                                                        : SPI_GROUP_SKIP;
        bool placed = false;
        for (uint32_t w = 0; w <= pm->nwindows && rc == SP_OK; w++) {
            if (w > 0) {
                const int32_t *win = pm->window[w - 1];
                col = d >= win[0] && d < win[1] ? pm->nbuckets + w - 1 : SPI_GROUP_SKIP;
            }
            if (col == SPI_GROUP_SKIP)
                continue;
            placed = true;
            size_t cell = (size_t)g * width + col;
            for (size_t m = 0; m < nm && rc == SP_OK; m++) {
                if (t[m].plus != NULL)
                    rc = add_exact(j, m, cell, t[m].plus[r], false);
                if (rc == SP_OK && t[m].minus != NULL)
                    rc = add_exact(j, m, cell, t[m].minus[r], true);
                if (rc == SP_OK && t[m].unit != 0)
                    rc = add_exact(j, m, cell, t[m].unit, false);
            }
        }
        j->rep.unplaced += !placed;
    }
    return rc;
}

/* The columns each measure reads, for this batch and kind: + plus - minus + unit. */
static int terms_of(job *j, const sp_fact_batch *b, const spi_fact_where *at, term *t)
{
    const spi_group_spec *s = j->spec;
    for (size_t m = 0; m < s->nmeasures; m++) {
        const int64_t *plus = NULL, *minus = NULL, *need = NULL;
        int64_t unit = 0;
        const char *col = NULL;
        switch (s->measures[m]) {
        case SPI_MEASURE_AMOUNT: plus = need = b->amount, col = "amount"; break;
        case SPI_MEASURE_QUANTITY: plus = need = b->quantity, col = "quantity"; break;
        case SPI_MEASURE_COST: plus = need = b->cost, col = "cost"; break;
        case SPI_MEASURE_MARGIN:
            plus = b->amount;
            minus = b->cost;
            need = plus == NULL ? NULL : minus;
            col = plus == NULL ? "amount" : "cost";
            break;
        default: unit = 1; break;
        }
        if (col != NULL && need == NULL)
            return spi_fail(j->ctx, SP_EINVAL,
                            "%s: %s batch %llu has no %s column, which the %s measure reads",
                            s->what, spi_fact_kind_name(b->kind), (unsigned long long)at->batch,
                            col, measure_names[s->measures[m]]);
        if (j->kind->negate) {
            const int64_t *swap = plus;
            plus = minus;
            minus = swap;
            unit = -unit;
        }
        t[m] = (term){ plus, minus, unit };
    }
    return SP_OK;
}

/* Each form of fast_rows a function of its own (registers allocated for it alone),
 * picked by index: bit 0 SEL, 1 IDENT, 2 TABLE, 3 NEG, 4 EXTRA. */
typedef int (*fast_fn)(job *j, const sp_fact_batch *b, const uint32_t *sel, size_t n,
                       const spi_fact_where *at, const uint32_t *keys, const int64_t *vals);
#define FAST(F)                                                                                \
    static int fast_##F(job *j, const sp_fact_batch *b, const uint32_t *sel, size_t n,        \
                        const spi_fact_where *at, const uint32_t *keys, const int64_t *vals)   \
    {                                                                                          \
        return fast_rows(j, b, sel, n, at, keys, vals, (F & 1) != 0, (F & 2) != 0,             \
                         (F & 4) != 0, (F & 8) != 0, (F & 16) != 0);                           \
    }
FAST(0) FAST(1) FAST(2) FAST(3) FAST(4) FAST(5) FAST(6) FAST(7)
FAST(8) FAST(9) FAST(10) FAST(11) FAST(12) FAST(13) FAST(14) FAST(15)
FAST(16) FAST(17) FAST(18) FAST(19) FAST(20) FAST(21) FAST(22) FAST(23)
FAST(24) FAST(25) FAST(26) FAST(27) FAST(28) FAST(29) FAST(30) FAST(31)
#undef FAST
static const fast_fn fast_forms[32] = {
    fast_0,  fast_1,  fast_2,  fast_3,  fast_4,  fast_5,  fast_6,  fast_7,
    fast_8,  fast_9,  fast_10, fast_11, fast_12, fast_13, fast_14, fast_15,
    fast_16, fast_17, fast_18, fast_19, fast_20, fast_21, fast_22, fast_23,
    fast_24, fast_25, fast_26, fast_27, fast_28, fast_29, fast_30, fast_31,
};

/* Picks the loop once per slice. */
static int consume(void *arg, const sp_fact_batch *b, const uint32_t *sel, size_t n,
                   const spi_fact_where *at)
{
    job *j = arg;
    j->rep.rows += n;
    const uint32_t *keys = spi_fact_key_column(b, j->spec->column);
    if (keys == NULL) {
        j->rep.no_key += n;
        return SP_OK;
    }
    term t[SPI_GROUP_MEASURES_MAX];
    int rc = terms_of(j, b, at, t);
    if (rc != SP_OK)
        return rc;
    if (!j->fast)
        return general_rows(j, b, sel, n, at, keys, t);
    const int64_t *vals = t[0].plus != NULL ? t[0].plus : t[0].minus;
    unsigned form = (sel != NULL ? 1u : 0u) | (j->map1 == NULL ? 2u : 0u) |
                    (j->pm->bucket != NULL ? 4u : 0u) | (t[0].minus != NULL ? 8u : 0u) |
                    (j->extra ? 16u : 0u);
    return fast_forms[form](j, b, sel, n, at, keys, vals);
}

static int check_spec(sp_ctx *ctx, const spi_group_spec *s, const sp_fact_source *src,
                      int64_t *const *cells)
{
    if (s == NULL || src == NULL || cells == NULL)
        return spi_fail(ctx, SP_EINVAL, "fact grouping: %s is NULL",
                        s == NULL ? "the spec" : src == NULL ? "the fact source" : "cells");
    const char *what = s->what != NULL ? s->what : "fact grouping";
    const spi_period_map *pm = s->periods;
    if (s->what == NULL || pm == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what,
                        s->what == NULL ? "what" : "the period map");
    if (s->column > SPI_COLUMN_CHANNEL)
        return spi_fail(ctx, SP_EINVAL, "%s: column %lu is not an index column (0 to 4)", what,
                        (unsigned long)s->column);
    if (s->nkinds < 1 || s->nkinds > SPI_GROUP_KINDS_MAX)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu kinds is outside 1..%d", what, s->nkinds,
                        SPI_GROUP_KINDS_MAX);
    for (size_t k = 0; k < s->nkinds; k++)
        if (spi_fact_kind_name(s->kinds[k].kind) == NULL)
            return spi_fail(ctx, SP_EINVAL, "%s: kinds[%zu]: unknown kind %lu", what, k,
                            (unsigned long)s->kinds[k].kind);
    if (s->nmeasures < 1 || s->nmeasures > SPI_GROUP_MEASURES_MAX)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu measures is outside 1..%d", what,
                        s->nmeasures, SPI_GROUP_MEASURES_MAX);
    for (size_t m = 0; m < s->nmeasures; m++) {
        if (s->measures[m] > SPI_MEASURE_COUNT)
            return spi_fail(ctx, SP_EINVAL, "%s: measures[%zu]: unknown measure %lu", what, m,
                            (unsigned long)s->measures[m]);
        if (cells[m] == NULL)
            return spi_fail(ctx, SP_EINVAL, "%s: cells[%zu] is NULL", what, m);
    }
    if (s->ngroups >= SPI_GROUP_LIMIT)
        return spi_fail(ctx, SP_EINVAL, "%s: %lu groups are too many", what,
                        (unsigned long)s->ngroups);
    if (s->key_map == NULL && s->nkeys > s->ngroups)
        return spi_fail(ctx, SP_EINVAL, "%s: %lu keys without a key map need as many groups "
                                        "(there are %lu)",
                        what, (unsigned long)s->nkeys, (unsigned long)s->ngroups);
    if (s->nkeys == SP_NONE)
        return spi_fail(ctx, SP_EINVAL, "%s: %lu keys are too many", what,
                        (unsigned long)s->nkeys);
    for (uint32_t i = 0; s->key_map != NULL && i < s->nkeys; i++) {
        uint32_t g = s->key_map[i];
        if (g >= s->ngroups && g != SPI_GROUP_SKIP && g != SPI_GROUP_UNKNOWN)
            return spi_fail(ctx, SP_EINVAL, "%s: key_map[%lu] = %lu is no group (%lu groups)",
                            what, (unsigned long)i, (unsigned long)g,
                            (unsigned long)s->ngroups);
    }
    if (s->rollup && s->nodes == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: a roll-up needs the hierarchy of the groups", what);
    if (s->nodes != NULL) {
        if (!s->nodes->valid)
            return spi_fail(ctx, SP_EINVAL, "%s: the hierarchy is not validated", what);
        if (sp_hierarchy_count(s->nodes) != s->ngroups)
            return spi_fail(ctx, SP_EINVAL, "%s: %lu groups, but the hierarchy has %zu nodes",
                            what, (unsigned long)s->ngroups, sp_hierarchy_count(s->nodes));
    }
    if (pm->nbuckets < 1 || pm->nwindows > SPI_PERIOD_WINDOWS_MAX || pm->from > pm->to ||
        (pm->bucket != NULL && (pm->year_first == NULL ||
                                (pm->from < pm->to && (pm->from < pm->base || pm->to > pm->end)))))
        return spi_fail(ctx, SP_EINVAL, "%s: the period map was not built by spi_period_map_*",
                        what);
    size_t width = (size_t)pm->nbuckets + pm->nwindows;
    if (s->ngroups > SIZE_MAX / sizeof(int64_t) / width)
        return spi_fail(ctx, SP_EOVERFLOW, "%s: %lu groups x %zu columns are too many", what,
                        (unsigned long)s->ngroups, width);
    return SP_OK;
}

/* The first cell (by group, then measure) whose carry is not 0. */
static int check_carries(job *j)
{
    const spi_group_spec *s = j->spec;
    for (uint32_t g = 0; g < s->ngroups; g++)
        for (size_t m = 0; m < s->nmeasures; m++) {
            const int64_t *c = j->carry[m];
            for (size_t k = 0; c != NULL && k < j->width; k++)
                if (c[(size_t)g * j->width + k] != 0) {
                    char name[SPI_QUOTE_CAP + 32];
                    return spi_fail(j->ctx, SP_EOVERFLOW, "%s: the %s of %s overflow int64_t",
                                    s->what, measure_names[s->measures[m]],
                                    name_group(j, g, name, sizeof name));
                }
        }
    return SP_OK;
}

static int run(job *j, const sp_fact_source *src, const sp_progress *progress)
{
    const spi_group_spec *s = j->spec;
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    spi_fact_bounds_set(&bounds, s->column, s->nkeys);
    int rc = SP_OK;
    for (size_t k = 0; rc == SP_OK && k < s->nkinds; k++) {
        j->kind = &s->kinds[k];
        sp_fact_query q = { SP_FACT_QUERY_VERSION, j->kind->kind, j->pm->from, j->pm->to };
        rc = spi_facts_scan(j->ctx, src, &q, &bounds, progress, consume, j);
    }
    if (rc == SP_OK)
        rc = check_carries(j);
    for (size_t m = 0; rc == SP_OK && s->rollup && m < s->nmeasures; m++)
        rc = spi_rollup_rows(s->nodes, s->what, j->cells[m], j->width, true);
    return rc;
}

int spi_group_facts(sp_ctx *ctx, const spi_group_spec *spec, const sp_fact_source *src,
                    const sp_progress *progress, int64_t *const *cells,
                    spi_group_report *report)
{
    int rc = check_spec(ctx, spec, src, cells);
    if (rc != SP_OK)
        return rc;
    const spi_period_map *pm = spec->periods;
    job j;
    memset(&j, 0, sizeof j);
    j.ctx = ctx;
    j.spec = spec;
    j.pm = pm;
    j.width = (size_t)pm->nbuckets + pm->nwindows;
    j.ncells = (size_t)spec->ngroups * j.width;
    j.cells = cells;
    j.fast = spec->nmeasures == 1 && spec->measures[0] <= SPI_MEASURE_COST;
    j.extra = pm->nwindows > 0 || pm->gaps;
    /* map1 and seen in one block: nkeys + 1 entries, then nkeys bytes. */
    size_t nk = spec->nkeys;
    unsigned char *block = spi_malloc_array(ctx, nk + 1, sizeof(uint32_t) + 1);
    if (block == NULL)
        return SP_ENOMEM;
    j.seen = block + (nk + 1) * sizeof(uint32_t);
    memset(j.seen, 0, nk);
    if (spec->key_map != NULL) {
        j.map1 = (uint32_t *)(void *)block;
        j.map1[0] = NO_KEY;
        memcpy(j.map1 + 1, spec->key_map, nk * sizeof *j.map1);
    }
    for (size_t m = 0; m < spec->nmeasures; m++)
        memset(cells[m], 0, j.ncells * sizeof *cells[m]);
    rc = run(&j, src, progress);
    if (rc == SP_OK && report != NULL) {
        spi_group_report r = j.rep;
        r.used = r.rows - r.no_key - r.skipped - r.unknown - r.unplaced;
        r.unknown_amount = j.unknown_sum > INT64_MAX    ? INT64_MAX
                           : j.unknown_sum < -INT64_MAX ? -INT64_MAX
                                                        : (int64_t)j.unknown_sum;
        *report = r;
    }
    for (size_t m = 0; m < spec->nmeasures; m++)
        spi_free(ctx, j.carry[m]);
    spi_free(ctx, block);
    return rc;
}
