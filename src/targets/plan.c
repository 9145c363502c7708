/*
 * Plans: the object that gathers what a decomposition needs (unit, calendar, year and
 * grain, a copy of the hierarchy, drivers, settings, history). Settings live in
 * plan_settings.c, history in plan_history.c, decomposition and the rest of the plan's
 * life in plan_run.c.
 */
#include <stdio.h>
#include <string.h>

#include "plan.h"
#include "time_internal.h"

static const size_t plan_options_sizes[] = { 0, sizeof(sp_target_plan_options) };
static const size_t plan_info_sizes[] = { 0, sizeof(sp_target_plan_info) };
static const size_t calendar_sizes[] = { 0, sizeof(sp_calendar_options) };

SPI_DEFINE_INIT(sp_target_plan_options, plan_options_sizes,
                SP_TARGET_PLAN_OPTIONS_VERSION, SP_TARGET_PLAN_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_target_plan_info, plan_info_sizes,
                SP_TARGET_PLAN_INFO_VERSION, SP_TARGET_PLAN_INFO_INIT)

int spi_plan_check_name(sp_ctx *ctx, const char *what, const char *s, size_t max)
{
    if (s == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s is NULL", what);
    size_t len = strlen(s), bad;
    const char *why;
    char q[SPI_QUOTE_CAP];
    if (len == 0)
        return spi_fail(ctx, SP_EINVAL, "%s is empty", what);
    if (len > max)
        return spi_fail(ctx, SP_EINVAL, "%s %s is %zu bytes long (at most %zu)", what,
                        spi_quote(q, s, len), len, max);
    if (!spi_utf8_check((const uint8_t *)s, len, &bad, &why))
        return spi_fail(ctx, SP_EINVAL, "%s %s is not valid UTF-8: %s at byte %zu", what,
                        spi_quote(q, s, len), why, bad);
    return SP_OK;
}

int spi_set_strdup(sp_ctx *ctx, char **dst, const char *s, size_t len)
{
    char *p = spi_malloc(ctx, len + 1);
    if (p == NULL)
        return SP_ENOMEM;
    memcpy(p, s, len);
    p[len] = '\0';
    *dst = p;
    return SP_OK;
}

/* ---- plans ---- */

void spi_history_free(sp_ctx *ctx, spi_history *hs)
{
    spi_free(ctx, hs->row_of);
    spi_free(ctx, hs->rows);
    memset(hs, 0, sizeof *hs);
}

static void free_driver(sp_ctx *ctx, spi_pdriver *d);

static void free_drivers(sp_ctx *ctx, spi_pdriver *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free_driver(ctx, &d[i]);
    spi_free(ctx, d);
}

void sp_target_plan_free(sp_target_plan *plan)
{
    if (plan == NULL)
        return;
    sp_ctx *ctx = plan->ctx;
    spi_free(ctx, plan->id);
    spi_free(ctx, plan->name);
    spi_free(ctx, plan->cal_days);
    sp_calendar_free(plan->cal);
    spi_shared_h_unref(ctx, plan->sh);
    free_drivers(ctx, plan->drivers, plan->ndrivers);
    spi_settings_free(ctx, &plan->settings);
    spi_free(ctx, plan->settings_json);
    spi_history_free(ctx, &plan->history);
    spi_free(ctx, plan);
}

static int check_spec(sp_ctx *ctx, const spi_plan_spec *spec, int32_t *exponent)
{
    int rc = spi_plan_check_name(ctx, "target plan: id", spec->id, SPI_PLAN_ID_MAX);
    if (rc != SP_OK)
        return rc;
    if (spec->name != NULL && spec->name[0] != '\0' &&
        (rc = spi_plan_check_name(ctx, "target plan: name", spec->name, SPI_PLAN_NAME_MAX)) !=
            SP_OK)
        return rc;
    if (spec->measure > SP_TARGET_QUANTITY)
        return spi_fail(ctx, SP_EINVAL,
                        "target plan: measure %u is not an sp_target_measure (0 or 1)",
                        (unsigned)spec->measure);
    if (spec->measure == SP_TARGET_QUANTITY) {
        if (spec->currency != NULL)
            return spi_fail(ctx, SP_EINVAL, "target plan: a plan of quantities has no currency");
        *exponent = 0;
    } else if (spec->currency != NULL) {
        char q[SPI_QUOTE_CAP];
        if (strlen(spec->currency) > 3 || sp_currency_exponent(spec->currency, exponent) != SP_OK)
            return spi_fail(ctx, SP_EINVAL, "target plan: currency %s is not an ISO 4217 code "
                                            "salesplan knows (docs/money.md)",
                            spi_quote(q, spec->currency, strlen(spec->currency)));
    } else {
        if (spec->exponent < 0 || spec->exponent > SP_MONEY_MAX_EXPONENT)
            return spi_fail(ctx, SP_EINVAL, "target plan: exponent %d is outside 0..%d",
                            (int)spec->exponent, SP_MONEY_MAX_EXPONENT);
        *exponent = spec->exponent;
    }
    if (spec->fiscal_year < SP_CALENDAR_MIN_YEAR || spec->fiscal_year > SP_CALENDAR_MAX_YEAR)
        return spi_fail(ctx, SP_EINVAL, "target plan: fiscal_year %d is outside %d..%d",
                        (int)spec->fiscal_year, SP_CALENDAR_MIN_YEAR, SP_CALENDAR_MAX_YEAR);
    if (spec->grain > SP_GRAIN_WEEK)
        return spi_fail(ctx, SP_EINVAL, "target plan: grain %u is not an sp_grain (0 to 4)",
                        (unsigned)spec->grain);
    return SP_OK;
}

int spi_plan_make(sp_ctx *ctx, const spi_plan_spec *spec, spi_shared_h *sh,
                  sp_target_plan **out)
{
    int32_t exponent = 0;
    int rc = check_spec(ctx, spec, &exponent);
    if (rc != SP_OK)
        return rc;
    sp_calendar *cal = NULL;
    if ((rc = sp_calendar_new(&cal, ctx, spec->calendar)) != SP_OK)
        return rc;
    size_t nperiods = 0;
    if ((rc = spi_calendar_periods(ctx, "target plan", cal, spec->fiscal_year, spec->grain, NULL,
                                   NULL, NULL, 0, &nperiods)) != SP_OK &&
        rc != SP_EBUFFER) {
        sp_calendar_free(cal);
        return rc;
    }
    sp_target_plan *p = spi_calloc(ctx, 1, sizeof *p);
    if (p == NULL) {
        sp_calendar_free(cal);
        return SP_ENOMEM;
    }
    p->ctx = ctx;
    p->sh = spi_shared_h_ref(sh);
    p->cal = cal;
    p->measure = spec->measure;
    p->exponent = exponent;
    p->fiscal_year = spec->fiscal_year;
    p->grain = spec->grain;
    p->nperiods = (uint32_t)nperiods;
    p->n = sh->h->tree.n;
    if (spec->measure == SP_TARGET_MONEY && spec->currency != NULL)
        memcpy(p->currency, spec->currency, strlen(spec->currency) + 1);
    /* The calendar's options, copied (spi_struct_read has checked them in sp_calendar_new). */
    sp_calendar_options o = SP_CALENDAR_OPTIONS_INIT;
    (void)spi_struct_read(ctx, "sp_calendar_options", &o, spec->calendar, calendar_sizes,
                          SP_CALENDAR_OPTIONS_VERSION);
    /* The holiday pairs, then the make-up pairs (sp_calendar_new has bounded the counts). */
    size_t nh = 2 * o.nholiday_ranges, nw = 2 * o.nworkday_ranges, ndays = nh + nw;
    rc = spi_set_strdup(ctx, &p->id, spec->id, strlen(spec->id));
    if (rc == SP_OK && spec->name != NULL && spec->name[0] != '\0')
        rc = spi_set_strdup(ctx, &p->name, spec->name, strlen(spec->name));
    if (rc == SP_OK && ndays > 0 &&
        (p->cal_days = spi_malloc_array(ctx, ndays, sizeof *p->cal_days)) == NULL)
        rc = SP_ENOMEM;
    if (rc == SP_OK && ndays > 0) {
        if (nh > 0)
            memcpy(p->cal_days, o.holiday_ranges, nh * sizeof *p->cal_days);
        if (nw > 0)
            memcpy(p->cal_days + nh, o.workday_ranges, nw * sizeof *p->cal_days);
    }
    o.holiday_ranges = nh > 0 ? p->cal_days : NULL;
    o.workday_ranges = nw > 0 && p->cal_days != NULL ? p->cal_days + nh : NULL;
    p->cal_opts = o;
    if (rc == SP_OK)
        rc = spi_settings_empty(ctx, sh->h->tree.levels, &p->settings);
    if (rc == SP_OK) {
        spi_settings empty;
        if ((rc = spi_settings_empty(ctx, sh->h->tree.levels, &empty)) == SP_OK &&
            (rc = spi_plan_take_settings(p, &empty)) != SP_OK)
            spi_settings_free(ctx, &empty);
    }
    if (rc != SP_OK) {
        sp_target_plan_free(p);
        return rc;
    }
    *out = p;
    return SP_OK;
}

int sp_target_plan_new(sp_target_plan **out, sp_ctx *ctx, const char *id,
                       const sp_hierarchy *h, const sp_target_plan_options *opts)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: out is NULL");
    if (h == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: the hierarchy is NULL");
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_target_plan_options", &o, opts, plan_options_sizes,
                             SP_TARGET_PLAN_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (opts == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: options are required (the fiscal year)");
    if (!h->valid)
        return spi_fail(ctx, SP_EINVAL, "target plan: the hierarchy is not validated (call "
                                        "sp_hierarchy_validate after adding nodes)");
    spi_plan_spec spec = { id, o.name, o.measure, o.currency, o.exponent, o.calendar,
                           o.fiscal_year, o.grain };
    /* Check the options before copying a large hierarchy. */
    int32_t exponent;
    if ((rc = check_spec(ctx, &spec, &exponent)) != SP_OK)
        return rc;
    sp_hierarchy *copy = NULL;
    if ((rc = spi_hierarchy_copy(ctx, h, &copy)) != SP_OK)
        return rc;
    spi_shared_h *sh = NULL;
    if ((rc = spi_shared_h_new(ctx, copy, &sh)) != SP_OK) {
        sp_hierarchy_free(copy);
        return rc;
    }
    rc = spi_plan_make(ctx, &spec, sh, out);
    spi_shared_h_unref(ctx, sh);
    return rc;
}

int sp_target_plan_get_info(const sp_target_plan *plan, sp_target_plan_info *info)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (info == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, "target plan: info is NULL");
    sp_target_plan_info i;
    memset(&i, 0, sizeof i);
    i.id = plan->id;
    i.name = plan->name != NULL ? plan->name : "";
    i.measure = plan->measure;
    i.currency = plan->currency;
    i.exponent = plan->exponent;
    i.fiscal_year = plan->fiscal_year;
    i.grain = plan->grain;
    i.nperiods = plan->nperiods;
    i.revision = plan->revision;
    i.nnodes = plan->n;
    i.hierarchy = plan->sh->h;
    i.calendar = plan->cal;
    return spi_info_out(plan->ctx, "sp_target_plan_info", info, &i, plan_info_sizes,
                        SP_TARGET_PLAN_INFO_VERSION);
}

/* ---- drivers ---- */

const spi_pdriver *spi_plan_driver(const sp_target_plan *plan, const char *name)
{
    for (size_t i = 0; i < plan->ndrivers; i++)
        if (strcmp(plan->drivers[i].name, name) == 0)
            return &plan->drivers[i];
    return NULL;
}

static void free_driver(sp_ctx *ctx, spi_pdriver *d)
{
    spi_free(ctx, d->name);
    spi_free(ctx, d->values);
    spi_free(ctx, d->valid);
}

int spi_plan_put_drivers(sp_target_plan *plan, size_t k, const char *const *names,
                         const int64_t *const *values, const uint8_t *const *valid)
{
    sp_ctx *ctx = plan->ctx;
    const uint32_t n = plan->n;
    spi_pdriver made[4];
    memset(made, 0, sizeof made);
    if (k > SPI_ARRAY_LEN(made))
        return spi_fail(ctx, SP_EINTERNAL, "target plan: %zu drivers at once", k);
    /* Every allocation first (the array grown for the worst case), then the swap, which
     * cannot fail: all or nothing. */
    int rc = SP_OK;
    for (size_t j = 0; j < k && rc == SP_OK; j++) {
        const uint8_t *vd = valid != NULL ? valid[j] : NULL;
        bool nulls = false;
        for (uint32_t i = 0; vd != NULL && i < n && !nulls; i++)
            nulls = vd[i] == 0;
        rc = spi_set_strdup(ctx, &made[j].name, names[j], strlen(names[j]));
        if (rc == SP_OK && (made[j].values = spi_malloc_array(ctx, n, sizeof(int64_t))) == NULL)
            rc = SP_ENOMEM;
        if (rc == SP_OK && nulls && (made[j].valid = spi_malloc_array(ctx, n, 1)) == NULL)
            rc = SP_ENOMEM;
        if (rc == SP_OK) {
            memcpy(made[j].values, values[j], n * sizeof(int64_t));
            for (uint32_t i = 0; nulls && i < n; i++)
                made[j].valid[i] = vd[i] != 0;
        }
    }
    if (rc == SP_OK) {
        spi_pdriver *grown = spi_realloc_array(ctx, plan->drivers, plan->ndrivers + k,
                                               sizeof *grown);
        if (grown == NULL)
            rc = SP_ENOMEM;
        else
            plan->drivers = grown;
    }
    if (rc != SP_OK) {
        for (size_t j = 0; j < k; j++)
            free_driver(ctx, &made[j]);
        return rc;
    }
    for (size_t j = 0; j < k; j++) {
        size_t pos = 0;
        while (pos < plan->ndrivers && strcmp(plan->drivers[pos].name, made[j].name) < 0)
            pos++;
        if (pos < plan->ndrivers && strcmp(plan->drivers[pos].name, made[j].name) == 0) {
            free_driver(ctx, &plan->drivers[pos]);
        } else {
            memmove(plan->drivers + pos + 1, plan->drivers + pos,
                    (plan->ndrivers - pos) * sizeof *plan->drivers);
            plan->ndrivers++;
        }
        plan->drivers[pos] = made[j];
    }
    return SP_OK;
}

int sp_target_plan_set_driver(sp_target_plan *plan, const char *name, const int64_t *values,
                              const uint8_t *valid, size_t n)
{
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    int rc = spi_plan_check_name(ctx, "target plan: driver name", name, SPI_DRIVER_NAME_MAX);
    if (rc != SP_OK)
        return rc;
    char q[SPI_QUOTE_CAP];
    if (strcmp(name, SPI_DRIVER_PRIOR_YEAR) == 0 || strcmp(name, SPI_DRIVER_TRAILING_12M) == 0)
        return spi_fail(ctx, SP_ECONFLICT,
                        "target plan: driver %s is built in (sp_target_plan_load_history sets it)",
                        spi_quote(q, name, strlen(name)));
    if (n != plan->n)
        return spi_fail(ctx, SP_EINVAL, "target plan: driver %s has %zu values for %u nodes",
                        spi_quote(q, name, strlen(name)), n, (unsigned)plan->n);
    if (values == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: driver %s: values is NULL",
                        spi_quote(q, name, strlen(name)));
    for (size_t i = 0; i < n; i++)
        if (values[i] == INT64_MIN && (valid == NULL || valid[i] != 0))
            return spi_fail(ctx, SP_EOVERFLOW, "target plan: driver %s: values[%zu] is INT64_MIN",
                            spi_quote(q, name, strlen(name)), i);
    return spi_plan_put_drivers(plan, 1, &name, &values, &valid);
}

size_t sp_target_plan_driver_count(const sp_target_plan *plan)
{
    return plan != NULL ? plan->ndrivers : 0;
}

int sp_target_plan_driver_at(const sp_target_plan *plan, size_t k, const char **name,
                             const int64_t **values, const uint8_t **valid)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (k >= plan->ndrivers)
        return spi_fail(plan->ctx, SP_ENOTFOUND, "target plan: driver %zu is beyond the %zu drivers",
                        k, plan->ndrivers);
    if (name != NULL)
        *name = plan->drivers[k].name;
    if (values != NULL)
        *values = plan->drivers[k].values;
    if (valid != NULL)
        *valid = plan->drivers[k].valid;
    return SP_OK;
}

/* ---- settings ---- */

int spi_plan_take_settings(sp_target_plan *plan, spi_settings *s)
{
    spi_writer w;
    spi_writer_init(&w, plan->ctx);
    spi_settings_write(plan, s, &w);
    uint8_t *json;
    size_t len;
    int rc = spi_writer_finish(&w, &json, &len);
    if (rc != SP_OK)
        return rc;
    spi_settings_free(plan->ctx, &plan->settings);
    spi_free(plan->ctx, plan->settings_json);
    plan->settings = *s;
    plan->settings_json = (char *)json;
    plan->settings_len = len;
    memset(s, 0, sizeof *s);
    return SP_OK;
}

int sp_target_plan_set_settings(sp_target_plan *plan, const char *json, size_t len)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (json == NULL && len > 0)
        return spi_fail(plan->ctx, SP_EINVAL, "target settings: json is NULL");
    spi_rdoc *doc = NULL;
    int rc = spi_rdoc_parse(&doc, plan->ctx, "target settings", (const uint8_t *)json, len,
                            SPI_RDOC_USER, NULL);
    if (rc != SP_OK)
        return rc;
    spi_settings s;
    rc = spi_settings_read(plan, doc, spi_rdoc_root(doc), &s);
    spi_rdoc_free(doc);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_plan_take_settings(plan, &s)) != SP_OK)
        spi_settings_free(plan->ctx, &s);
    return rc;
}

int sp_target_plan_get_settings(const sp_target_plan *plan, const char **json, size_t *len)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (json == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, "target plan: json is NULL");
    *json = plan->settings_json;
    if (len != NULL)
        *len = plan->settings_len;
    return SP_OK;
}

/* ---- history ---- */

int sp_target_plan_history(const sp_target_plan *plan, uint32_t node, const int64_t **values,
                           size_t *years, int32_t *first_year)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (values == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, "target plan: values is NULL");
    const spi_history *hs = &plan->history;
    if (node >= plan->n)
        return spi_fail(plan->ctx, SP_ENOTFOUND, "target plan: node %u is beyond the %u nodes",
                        (unsigned)node, (unsigned)plan->n);
    const int64_t *row = spi_history_row(hs, node);
    if (row == NULL) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(plan->ctx, SP_ENOTFOUND, "target plan: no history for node %s",
                        spi_hierarchy_quote(plan->sh->h, node, q));
    }
    *values = row;
    if (years != NULL)
        *years = hs->years;
    if (first_year != NULL)
        *first_year = hs->first_year;
    return SP_OK;
}
