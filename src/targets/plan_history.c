/*
 * History and actuals from facts: what is the plan's own here (which fiscal years, the
 * trailing window, the plan's hierarchy as the groups, the drivers it sets); the grouping
 * itself (order lines less refunds per node and period, rolled up) is the facts
 * foundation's kernel, spi_group_facts.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "../facts/facts_internal.h"
#include "plan.h"
#include "time_internal.h"

static const size_t history_options_sizes[] = { 0, sizeof(sp_target_history_options) };
static const size_t history_report_sizes[] = { 0, sizeof(sp_target_history_report) };

SPI_DEFINE_INIT(sp_target_history_options, history_options_sizes,
                SP_TARGET_HISTORY_OPTIONS_VERSION, SP_TARGET_HISTORY_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_target_history_report, history_report_sizes,
                SP_TARGET_HISTORY_REPORT_VERSION, SP_TARGET_HISTORY_REPORT_INIT)

/* One grouping of the plan's facts: its spec, the key map and the message text. */
typedef struct history_job {
    spi_group_spec spec;
    spi_period_map pm;
    uint32_t *map;
    char unknown_as[SPI_QUOTE_CAP + 32];
    spi_group_report rep;
} history_job;

/* Order lines (less refunds) keyed by o->key, each id the node with the same id, rolled up
 * along the plan's hierarchy, over `pm` (set by the caller). */
static int job_start(history_job *j, const sp_target_plan *plan, const char *what,
                     const sp_dict *dict, const sp_target_history_options *o)
{
    const sp_hierarchy *h = plan->sh->h;
    int rc = spi_group_map_nodes(plan->ctx, dict, h, &j->map);
    if (rc != SP_OK)
        return rc;
    char q[SPI_QUOTE_CAP];
    snprintf(j->unknown_as, sizeof j->unknown_as, "no node of plan %s",
             spi_quote(q, plan->id, strlen(plan->id)));
    spi_group_spec *s = &j->spec;
    s->what = what;
    s->column = o->key; /* sp_target_key and spi_fact_column agree on rep .. customer */
    s->nkeys = (uint32_t)sp_dict_count(dict);
    s->key_map = j->map;
    s->dict = dict;
    s->ngroups = plan->n;
    s->periods = &j->pm;
    s->kinds[s->nkinds++] = (spi_group_kind){ SP_FACT_ORDER_LINES, false };
    if (o->flags & SP_TARGET_HISTORY_NET_REFUNDS)
        s->kinds[s->nkinds++] = (spi_group_kind){ SP_FACT_REFUNDS, true };
    s->measures[s->nmeasures++] = SPI_MEASURE_AMOUNT;
    s->strict = (o->flags & SP_TARGET_HISTORY_STRICT_IDS) != 0;
    s->unknown_as = j->unknown_as;
    s->nodes = h;
    s->rollup = true;
    return SP_OK;
}

static void job_free(sp_ctx *ctx, history_job *j)
{
    spi_free(ctx, j->map);
    spi_period_map_free(ctx, &j->pm);
}

/* The periods of fiscal years first .. first + years - 1 at the plan's grain; every year
 * must have the plan's number of periods. */
static int plan_periods(const sp_target_plan *plan, const char *what, int32_t first,
                        uint32_t years, spi_period_map *pm)
{
    int rc = spi_period_map_calendar(plan->ctx, what, pm, plan->cal, plan->grain, first, years);
    for (uint32_t y = 0; rc == SP_OK && y < years; y++) {
        uint32_t count = pm->year_first[y + 1] - pm->year_first[y];
        if (count != plan->nperiods)
            rc = spi_fail(plan->ctx, SP_EINVAL,
                          "%s: FY%d has %u periods at the plan's grain, FY%d has %u: history "
                          "needs years of equal length (use a coarser grain)",
                          what, (int)(first + (int32_t)y), (unsigned)count,
                          (int)plan->fiscal_year, (unsigned)plan->nperiods);
    }
    return rc;
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

static int write_report(sp_ctx *ctx, const spi_group_report *g, sp_target_history_report *report)
{
    if (report == NULL)
        return SP_OK;
    sp_target_history_report r = { SP_TARGET_HISTORY_REPORT_VERSION, g->rows, g->used,
                                   g->no_key, g->unknown, g->unknown_amount, g->unknown_ids };
    return spi_info_out(ctx, "sp_target_history_report", report, &r, history_report_sizes,
                        SP_TARGET_HISTORY_REPORT_VERSION);
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
    return report != NULL ? spi_info_check(plan->ctx, "sp_target_history_report", report,
                                           SP_TARGET_HISTORY_REPORT_VERSION)
                          : SP_OK;
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

    history_job j;
    memset(&j, 0, sizeof j);
    int64_t *cells = NULL, *aux = NULL;
    const uint32_t n = plan->n;
    const size_t width = (size_t)o.years * plan->nperiods;
    if ((rc = plan_periods(plan, what, first, o.years, &j.pm)) != SP_OK ||
        (rc = spi_period_map_window(ctx, what, &j.pm, trailing_start(as_of), as_of)) != SP_OK ||
        (rc = job_start(&j, plan, what, dict, &o)) != SP_OK)
        goto done;
    /* The cells (periods, then the trailing window; kept as the history), and the trailing
     * sums and the prior-year column. */
    if (n > SIZE_MAX / sizeof(int64_t) / (width + 3)) {
        rc = spi_fail(ctx, SP_EOVERFLOW, "%s: %u nodes x %zu periods are too many", what,
                      (unsigned)n, width);
        goto done;
    }
    if ((cells = spi_malloc_array(ctx, (size_t)n * (width + 1), sizeof *cells)) == NULL ||
        (aux = spi_malloc_array(ctx, (size_t)n * 2, sizeof *aux)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    if ((rc = spi_group_facts(ctx, &j.spec, src, progress, &cells, &j.rep)) != SP_OK)
        goto done;
    /* The trailing column out, then the rows closed up in place to width columns. */
    int64_t *trailing = aux, *prior = aux + n, *rows = cells;
    for (uint32_t v = 0; v < n; v++)
        trailing[v] = cells[(size_t)v * (width + 1) + width];
    for (uint32_t v = 1; v < n; v++)
        memmove(rows + (size_t)v * width, cells + (size_t)v * (width + 1), width * sizeof *rows);
    for (uint32_t v = 0; rc == SP_OK && v < n; v++) {
        const int64_t *last = rows + (size_t)v * width + width - plan->nperiods;
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
        const int64_t *values[] = { prior, trailing };
        rc = spi_plan_put_drivers(plan, 2, names, values, NULL);
    }
    if (rc == SP_OK) {
        spi_history_free(ctx, &plan->history);
        plan->history.rows = rows;
        plan->history.years = o.years;
        plan->history.first_year = first;
        plan->history.nperiods = plan->nperiods;
        plan->history.nrows = n;
        plan->history.row_of = NULL; /* every node: row = node */
        cells = NULL;
        rc = write_report(ctx, &j.rep, report);
    }
done:
    spi_free(ctx, cells);
    spi_free(ctx, aux);
    job_free(ctx, &j);
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
    history_job j;
    memset(&j, 0, sizeof j);
    int64_t *cells = NULL;
    const uint32_t n = plan->n;
    if ((rc = plan_periods(plan, what, plan->fiscal_year, 1, &j.pm)) != SP_OK ||
        (rc = job_start(&j, plan, what, dict, &o)) != SP_OK)
        goto done;
    if (o.as_of != INT32_MIN)
        spi_period_map_limit(&j.pm, j.pm.from, o.as_of);
    if ((cells = spi_malloc_array(ctx, n, plan->nperiods * sizeof *cells)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    rc = spi_group_facts(ctx, &j.spec, src, progress, &cells, &j.rep);
    if (rc == SP_OK && (rc = write_report(ctx, &j.rep, report)) == SP_OK)
        memcpy(actual, cells, (size_t)n * plan->nperiods * sizeof *actual);
done:
    spi_free(ctx, cells);
    job_free(ctx, &j);
    return rc;
}
