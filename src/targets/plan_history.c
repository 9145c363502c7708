/*
 * History and actuals from facts: order lines (less refunds, when asked) summed per node,
 * fiscal year and period, then rolled up to the ancestors. The facts arrive through
 * spi_facts_scan; each row costs a dictionary-index lookup (node_of, built once by id), a
 * day lookup (one table entry per day of the years read, built once from the calendar)
 * and an addition: no allocation and no string work per row.
 */
#include <string.h>

#include "../money/numeric.h"
#include "../facts/facts_internal.h"
#include "plan.h"
#include "time_internal.h"

static const size_t history_options_sizes[] = { 0, sizeof(sp_target_history_options) };
static const size_t history_report_sizes[] = { 0, sizeof(sp_target_history_report) };

#define NO_BUCKET UINT32_MAX
#define UNKNOWN_NODE (UINT32_MAX - 1) /* node_of: an id that is no node */

SPI_DEFINE_INIT(sp_target_history_options, history_options_sizes,
                SP_TARGET_HISTORY_OPTIONS_VERSION, SP_TARGET_HISTORY_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_target_history_report, history_report_sizes,
                SP_TARGET_HISTORY_REPORT_VERSION, SP_TARGET_HISTORY_REPORT_INIT)

static const char *const key_names[] = { "rep", "grid", "product", "customer" };

/* One grouping: facts of [from, to) into rows of width buckets per node. */
typedef struct group_job {
    sp_ctx *ctx;
    const sp_target_plan *plan;
    const sp_dict *dict;
    uint32_t key;
    bool strict;
    uint32_t *node_of;     /* per dictionary index: node, SPI_TREE_NONE (not yet looked up
                              never happens: built in full) or UNKNOWN_NODE */
    uint8_t *unknown_seen; /* per dictionary index */
    uint32_t nkeys;
    int32_t lo, hi;        /* the day table's range */
    const uint32_t *bucket; /* hi - lo entries: column of the row, or NO_BUCKET */
    size_t width;
    int64_t *rows;         /* n x width */
    int32_t t_from, t_to;  /* trailing window, when trailing != NULL */
    int64_t *trailing;     /* n */
    int64_t sign;
    sp_target_history_report rep;
    uint32_t overflow_node;
} group_job;

static const uint32_t *key_column(const group_job *j, const sp_fact_batch *b)
{
    switch (j->key) {
    case SP_TARGET_KEY_GRID: return b->grid;
    case SP_TARGET_KEY_PRODUCT: return b->product;
    case SP_TARGET_KEY_CUSTOMER: return b->customer;
    default: return b->rep;
    }
}

static int unknown_key(group_job *j, const sp_fact_batch *b, uint32_t key, size_t row)
{
    if (j->strict) {
        const char *id = "";
        size_t len = 0;
        char q[SPI_QUOTE_CAP], qp[SPI_QUOTE_CAP];
        (void)sp_dict_id(j->dict, key, &id, &len);
        return spi_fail(j->ctx, SP_ENOTFOUND,
                        "target history: %s[%zu] = %u has id %s, which is no node of plan %s "
                        "(strict ids)",
                        key_names[j->key], row, (unsigned)key, spi_quote(q, id, len),
                        spi_quote(qp, j->plan->id, strlen(j->plan->id)));
    }
    (void)b;
    j->rep.unknown++;
    if (!j->unknown_seen[key]) {
        j->unknown_seen[key] = 1;
        j->rep.unknown_ids++;
    }
    return SP_OK;
}

static int consume(void *arg, const sp_fact_batch *b, const uint32_t *sel, size_t nrows,
                   const spi_fact_where *at)
{
    group_job *j = arg;
    (void)at;
    const uint32_t *keys = key_column(j, b);
    j->rep.rows += nrows;
    if (keys == NULL) {
        j->rep.no_key += nrows;
        return SP_OK;
    }
    for (size_t k = 0; k < nrows; k++) {
        size_t r = sel != NULL ? sel[k] : k;
        uint32_t key = keys[r];
        if (key == SP_NONE) {
            j->rep.no_key++;
            continue;
        }
        uint32_t node = j->node_of[key];
        int64_t amount = j->sign * b->amount[r];
        if (node == UNKNOWN_NODE) {
            int rc = unknown_key(j, b, key, r);
            if (rc != SP_OK)
                return rc;
            if (__builtin_add_overflow(j->rep.unknown_amount, amount, &j->rep.unknown_amount))
                j->rep.unknown_amount = amount > 0 ? INT64_MAX : -INT64_MAX;
            continue;
        }
        int32_t day = b->day[r];
        bool used = false;
        if (day >= j->lo && day < j->hi) {
            uint32_t c = j->bucket[day - j->lo];
            if (c != NO_BUCKET) {
                int64_t *cell = &j->rows[(size_t)node * j->width + c];
                if (__builtin_add_overflow(*cell, amount, cell))
                    goto overflow;
                used = true;
            }
        }
        if (j->trailing != NULL && day >= j->t_from && day < j->t_to) {
            if (__builtin_add_overflow(j->trailing[node], amount, &j->trailing[node]))
                goto overflow;
            used = true;
        }
        j->rep.used += used;
        continue;
    overflow:
        j->overflow_node = node;
        char q[SPI_QUOTE_CAP];
        return spi_fail(j->ctx, SP_EOVERFLOW, "target history: the amounts of node %s overflow "
                                              "int64_t",
                        spi_hierarchy_quote(j->plan->sh->h, node, q));
    }
    return SP_OK;
}

static void job_init(group_job *j, const sp_target_plan *plan, const sp_dict *dict,
                     const sp_target_history_options *o)
{
    memset(j, 0, sizeof *j);
    j->ctx = plan->ctx;
    j->plan = plan;
    j->dict = dict;
    j->key = o->key;
    j->strict = (o->flags & SP_TARGET_HISTORY_STRICT_IDS) != 0;
}

/* node_of for every dictionary index, by id. */
static int map_keys(group_job *j)
{
    j->nkeys = (uint32_t)sp_dict_count(j->dict);
    size_t nk = j->nkeys > 0 ? j->nkeys : 1;
    j->node_of = spi_malloc_array(j->ctx, nk, sizeof *j->node_of + 1);
    if (j->node_of == NULL)
        return SP_ENOMEM;
    j->unknown_seen = (uint8_t *)(j->node_of + nk);
    memset(j->unknown_seen, 0, nk);
    const sp_hierarchy *h = j->plan->sh->h;
    for (uint32_t i = 0; i < j->nkeys; i++) {
        const char *id;
        size_t len;
        uint32_t node;
        (void)sp_dict_id(j->dict, i, &id, &len);
        j->node_of[i] = sp_hierarchy_find(h, id, len, &node) == SP_OK ? node : UNKNOWN_NODE;
    }
    return SP_OK;
}

static int scan_kind(group_job *j, const sp_fact_source *src, uint32_t kind, int32_t from,
                     int32_t to, const sp_progress *progress)
{
    sp_fact_query q = { SP_FACT_QUERY_VERSION, kind, from, to };
    spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
    uint32_t *col = j->key == SP_TARGET_KEY_GRID       ? &bounds.grid
                    : j->key == SP_TARGET_KEY_PRODUCT  ? &bounds.product
                    : j->key == SP_TARGET_KEY_CUSTOMER ? &bounds.customer
                                                       : &bounds.rep;
    *col = j->nkeys;
    j->sign = kind == SP_FACT_REFUNDS ? -1 : 1;
    return spi_facts_scan(j->ctx, src, &q, &bounds, progress, consume, j);
}

static int read_options(const sp_target_plan *plan, const char *what,
                        const sp_target_history_options *opts, sp_target_history_options *o)
{
    sp_target_history_options d = SP_TARGET_HISTORY_OPTIONS_INIT;
    *o = d;
    int rc = spi_struct_read(plan->ctx, "sp_target_history_options", o, opts,
                             history_options_sizes, SP_TARGET_HISTORY_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (o->key > SP_TARGET_KEY_CUSTOMER)
        return spi_fail(plan->ctx, SP_EINVAL, "%s: key %u is not an sp_target_key (0 to 3)",
                        what, (unsigned)o->key);
    if (o->flags > (SP_TARGET_HISTORY_NET_REFUNDS | SP_TARGET_HISTORY_STRICT_IDS))
        return spi_fail(plan->ctx, SP_EINVAL, "%s: unknown flags %u", what, (unsigned)o->flags);
    if (o->as_of != INT32_MIN && (o->as_of < SPI_DAY_MIN || o->as_of > SPI_DAY_MAX))
        return spi_fail(plan->ctx, SP_EINVAL, "%s: as_of %d is outside the years 1 to 9999",
                        what, (int)o->as_of);
    return SP_OK;
}

/* The day table of fiscal years first .. first + years - 1 at the plan's grain:
 * bucket[d - lo] = y * nperiods + p. Every year must have the plan's number of periods. */
static int day_table(group_job *j, const char *what, int32_t first, uint32_t years,
                     uint32_t **table)
{
    const sp_target_plan *plan = j->plan;
    int32_t fd[SP_CALENDAR_MAX_PERIODS], ed[SP_CALENDAR_MAX_PERIODS];
    size_t count;
    int rc;
    int32_t lo = 0, hi = 0;
    for (uint32_t y = 0; y < years; y++) {
        if ((rc = spi_calendar_periods(j->ctx, what, plan->cal, first + (int32_t)y, plan->grain,
                                       fd, ed, NULL, SP_CALENDAR_MAX_PERIODS, &count)) != SP_OK)
            return rc;
        if (count != plan->nperiods)
            return spi_fail(j->ctx, SP_EINVAL, "%s: FY%d has %zu periods at the plan's grain, "
                                               "FY%d has %u: history needs years of equal length "
                                               "(use a coarser grain)",
                            what, (int)(first + (int32_t)y), count, (int)plan->fiscal_year,
                            (unsigned)plan->nperiods);
        if (y == 0)
            lo = fd[0];
        hi = ed[count - 1];
    }
    uint32_t *t = spi_malloc_array(j->ctx, (size_t)(hi - lo), sizeof *t);
    if (t == NULL)
        return SP_ENOMEM;
    for (uint32_t y = 0; y < years; y++) {
        (void)spi_calendar_periods(j->ctx, what, plan->cal, first + (int32_t)y, plan->grain, fd,
                                   ed, NULL, SP_CALENDAR_MAX_PERIODS, &count);
        for (size_t p = 0; p < count; p++)
            for (int32_t d = fd[p]; d < ed[p]; d++)
                t[d - lo] = y * plan->nperiods + (uint32_t)p;
    }
    j->lo = lo;
    j->hi = hi;
    *table = t;
    return SP_OK;
}

static int write_report(sp_ctx *ctx, const group_job *j, sp_target_history_report *report)
{
    if (report == NULL)
        return SP_OK;
    sp_target_history_report r = j->rep;
    r.version = SP_TARGET_HISTORY_REPORT_VERSION;
    return spi_info_out(ctx, "sp_target_history_report", report, &r, history_report_sizes,
                        SP_TARGET_HISTORY_REPORT_VERSION);
}

static int check_report(sp_ctx *ctx, const sp_target_history_report *report)
{
    if (report != NULL &&
        (report->version == 0 || report->version > SP_TARGET_HISTORY_REPORT_VERSION))
        return spi_fail(ctx, SP_EVERSION,
                        "sp_target_history_report: version %u is not one this library writes "
                        "(1 to %u)",
                        (unsigned)report->version, (unsigned)SP_TARGET_HISTORY_REPORT_VERSION);
    return SP_OK;
}

/* The first day of the trailing twelve months ending before as_of: the same calendar day
 * a year earlier (February 29 falls back to February 28). */
static int32_t trailing_start(int32_t as_of)
{
    int64_t y;
    int m, d;
    spi_civil_from_days(as_of, &y, &m, &d);
    int dim = spi_days_in_month(y - 1, m);
    return (int32_t)spi_days_from_civil(y - 1, m, d < dim ? d : dim);
}

/* What history and actuals both check first: the options, the source, the dictionary
 * and the report. */
static int open_call(const sp_target_plan *plan, const char *what,
                     const sp_target_history_options *opts, const sp_fact_source *src,
                     const sp_dict *dict, const sp_target_history_report *report,
                     sp_target_history_options *o)
{
    int rc = read_options(plan, what, opts, o);
    if (rc != SP_OK)
        return rc;
    if (src == NULL || dict == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, "%s: %s is NULL", what,
                        src == NULL ? "the fact source" : "the dictionary");
    return check_report(plan->ctx, report);
}

int sp_target_plan_load_history(sp_target_plan *plan, const sp_fact_source *src,
                                const sp_dict *dict, const sp_target_history_options *opts,
                                const sp_progress *progress, sp_target_history_report *report)
{
    static const char what[] = "target history";
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    sp_target_history_options o;
    int rc = open_call(plan, what, opts, src, dict, report, &o);
    if (rc != SP_OK)
        return rc;
    if (o.years < 1 || o.years > SPI_HISTORY_YEARS_MAX)
        return spi_fail(ctx, SP_EINVAL, "%s: years %u is outside 1..%u", what, (unsigned)o.years,
                        SPI_HISTORY_YEARS_MAX);
    const int32_t first = plan->fiscal_year - (int32_t)o.years;
    if (first < SP_CALENDAR_MIN_YEAR)
        return spi_fail(ctx, SP_EINVAL, "%s: %u years before FY%d start before FY1", what,
                        (unsigned)o.years, (int)plan->fiscal_year);
    int32_t fy_first;
    size_t one;
    (void)spi_calendar_periods(ctx, what, plan->cal, plan->fiscal_year, SP_GRAIN_YEAR, &fy_first,
                               NULL, NULL, 1, &one);
    const int32_t as_of = o.as_of != INT32_MIN ? o.as_of : fy_first;
    if (as_of < SPI_DAY_MIN + 366)
        return spi_fail(ctx, SP_EINVAL, "%s: as_of %d leaves no trailing year", what, (int)as_of);

    group_job j;
    job_init(&j, plan, dict, &o);
    j.width = (size_t)o.years * plan->nperiods;
    j.t_from = trailing_start(as_of);
    j.t_to = as_of;
    j.overflow_node = SPI_TREE_NONE;
    uint32_t *table = NULL;
    int64_t *aux = NULL;
    const uint32_t n = plan->n;
    if ((rc = map_keys(&j)) != SP_OK)
        return rc;
    if ((rc = day_table(&j, what, first, o.years, &table)) != SP_OK)
        goto done;
    j.bucket = table;
    /* The rows (kept as the history), then the trailing sums and the prior-year column. */
    if (n > SIZE_MAX / sizeof(int64_t) / (j.width + 2)) {
        rc = spi_fail(ctx, SP_EOVERFLOW, "%s: %u nodes x %zu periods are too many", what,
                      (unsigned)n, j.width);
        goto done;
    }
    if ((j.rows = spi_calloc(ctx, (size_t)n * j.width, sizeof *j.rows)) == NULL ||
        (aux = spi_calloc(ctx, (size_t)n * 2, sizeof *aux)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    j.trailing = aux;
    int64_t *prior = aux + n;
    const int32_t from = j.lo < j.t_from ? j.lo : j.t_from;
    const int32_t to = j.hi > j.t_to ? j.hi : j.t_to;
    rc = scan_kind(&j, src, SP_FACT_ORDER_LINES, from, to, progress);
    if (rc == SP_OK && (o.flags & SP_TARGET_HISTORY_NET_REFUNDS))
        rc = scan_kind(&j, src, SP_FACT_REFUNDS, from, to, progress);
    if (rc == SP_OK)
        rc = spi_rollup_rows(plan->sh->h, what, j.rows, j.width, true);
    if (rc == SP_OK)
        rc = spi_rollup_rows(plan->sh->h, what, j.trailing, 1, true);
    for (uint32_t v = 0; rc == SP_OK && v < n; v++) {
        const int64_t *last = j.rows + (size_t)v * j.width + j.width - plan->nperiods;
        spi_i128 sum = 0;
        for (uint32_t p = 0; p < plan->nperiods; p++)
            sum += last[p];
        if (sum > INT64_MAX || sum < -INT64_MAX) {
            char q[SPI_QUOTE_CAP];
            rc = spi_fail(ctx, SP_EOVERFLOW, "%s: the prior year of node %s overflows int64_t",
                          what, spi_hierarchy_quote(plan->sh->h, v, q));
        }
        prior[v] = (int64_t)sum;
    }
    if (rc == SP_OK) {
        const char *names[] = { SPI_DRIVER_PRIOR_YEAR, SPI_DRIVER_TRAILING_12M };
        const int64_t *values[] = { prior, j.trailing };
        rc = spi_plan_put_drivers(plan, 2, names, values, NULL);
    }
    if (rc == SP_OK) {
        spi_history_free(ctx, &plan->history);
        plan->history.rows = j.rows;
        plan->history.years = o.years;
        plan->history.first_year = first;
        plan->history.nperiods = plan->nperiods;
        plan->history.nrows = n;
        plan->history.row_of = NULL; /* every node: row = node */
        j.rows = NULL;
        rc = write_report(ctx, &j, report);
    }
done:
    spi_free(ctx, j.rows);
    spi_free(ctx, aux);
    spi_free(ctx, table);
    spi_free(ctx, j.node_of);
    return rc;
}

int sp_target_plan_load_actuals(const sp_target_plan *plan, const sp_fact_source *src,
                                const sp_dict *dict, const sp_target_history_options *opts,
                                const sp_progress *progress, int64_t *actual,
                                sp_target_history_report *report)
{
    static const char what[] = "target actuals";
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    sp_target_history_options o;
    int rc = open_call(plan, what, opts, src, dict, report, &o);
    if (rc != SP_OK)
        return rc;
    if (actual == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: actual is NULL", what);
    group_job j;
    job_init(&j, plan, dict, &o);
    j.width = plan->nperiods;
    uint32_t *table = NULL;
    const uint32_t n = plan->n;
    if ((rc = map_keys(&j)) != SP_OK)
        return rc;
    if ((rc = day_table(&j, what, plan->fiscal_year, 1, &table)) != SP_OK)
        goto done;
    j.bucket = table;
    if ((j.rows = spi_calloc(ctx, n, j.width * sizeof *j.rows)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    const int32_t to = o.as_of != INT32_MIN && o.as_of < j.hi ? o.as_of : j.hi;
    rc = scan_kind(&j, src, SP_FACT_ORDER_LINES, j.lo, to, progress);
    if (rc == SP_OK && (o.flags & SP_TARGET_HISTORY_NET_REFUNDS))
        rc = scan_kind(&j, src, SP_FACT_REFUNDS, j.lo, to, progress);
    if (rc == SP_OK)
        rc = spi_rollup_rows(plan->sh->h, what, j.rows, j.width, true);
    if (rc == SP_OK && (rc = write_report(ctx, &j, report)) == SP_OK)
        memcpy(actual, j.rows, (size_t)n * j.width * sizeof *actual);
done:
    spi_free(ctx, j.rows);
    spi_free(ctx, table);
    spi_free(ctx, j.node_of);
    return rc;
}
