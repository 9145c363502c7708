/*
 * sp_commission_plan: one version of a commission plan, read from its document
 * (plan_doc.c) and kept with its canonical text and calendar (commission.h).
 */
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "handles.h"
#include "plan_store.h"

#define WHAT "commission plan"

static const size_t plan_info_sizes[] = { 0, sizeof(sp_commission_plan_info) };
static const size_t component_info_sizes[] = { 0, sizeof(sp_commission_component_info) };

SPI_DEFINE_INIT(sp_commission_plan_info, plan_info_sizes, SP_COMMISSION_PLAN_INFO_VERSION,
                SP_COMMISSION_PLAN_INFO_INIT)
SPI_DEFINE_INIT(sp_commission_component_info, component_info_sizes,
                SP_COMMISSION_COMPONENT_INFO_VERSION, SP_COMMISSION_COMPONENT_INFO_INIT)

int spi_commission_plan_make(sp_commission_plan **out, sp_ctx *ctx, spi_cplan *doc,
                             uint32_t revision)
{
    sp_commission_plan *p = spi_calloc(ctx, 1, sizeof *p);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = p == NULL ? SP_ENOMEM : spi_cplan_write(ctx, doc, &bytes, &len);
    if (rc == SP_OK && (p->json = spi_malloc(ctx, len + 1)) == NULL)
        rc = SP_ENOMEM;
    if (rc == SP_OK)
        rc = sp_calendar_new(&p->cal, ctx, &doc->calendar.opts);
    if (rc != SP_OK) {
        spi_free(ctx, bytes);
        if (p != NULL)
            spi_free(ctx, p->json);
        spi_free(ctx, p);
        spi_cplan_free(ctx, doc);
        return rc;
    }
    memcpy(p->json, bytes, len);
    p->json[len] = '\0';
    p->len = len;
    spi_free(ctx, bytes);
    p->ctx = ctx;
    p->doc = *doc;
    memset(doc, 0, sizeof *doc);
    p->revision = revision;
    *out = p;
    return SP_OK;
}

int sp_commission_plan_new(sp_commission_plan **out, sp_ctx *ctx, const char *json, size_t len)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL || json == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL", out == NULL ? "out" : "json");
    spi_cplan doc;
    int rc = spi_cplan_read(ctx, json, len, &doc);
    if (rc != SP_OK)
        return rc;
    return spi_commission_plan_make(out, ctx, &doc, 0);
}

void sp_commission_plan_free(sp_commission_plan *plan)
{
    if (plan == NULL)
        return;
    sp_ctx *ctx = plan->ctx;
    spi_cplan_free(ctx, &plan->doc);
    sp_calendar_free(plan->cal);
    spi_free(ctx, plan->json);
    spi_free(ctx, plan);
}

int sp_commission_plan_get_document(const sp_commission_plan *plan, const char **json,
                                    size_t *len)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (json == NULL || len == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, WHAT ": %s is NULL", json == NULL ? "json" : "len");
    *json = plan->json;
    *len = plan->len;
    return SP_OK;
}

int sp_commission_plan_get_info(const sp_commission_plan *plan, sp_commission_plan_info *info)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (info == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, WHAT ": info is NULL");
    const spi_cplan *d = &plan->doc;
    sp_commission_plan_info i;
    memset(&i, 0, sizeof i);
    i.id = d->plan;
    i.name = d->name != NULL ? d->name : "";
    i.currency = d->currency;
    i.exponent = d->exponent;
    i.effective_from = d->from;
    i.effective_to = d->to == SPI_CPLAN_NO_DAY ? INT32_MAX : d->to;
    i.rounding = d->rounding_mode;
    i.policy = d->policy;
    i.ncomponents = d->ncomponents;
    i.revision = plan->revision;
    i.calendar = plan->cal;
    return spi_info_out(plan->ctx, "sp_commission_plan_info", info, &i, plan_info_sizes,
                        SP_COMMISSION_PLAN_INFO_VERSION);
}

int sp_commission_plan_component(const sp_commission_plan *plan, size_t k,
                                 sp_commission_component_info *info)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (info == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, WHAT ": info is NULL");
    if (k >= plan->doc.ncomponents)
        return spi_fail(plan->ctx, SP_EINVAL, WHAT " \"%s\": component %zu: it has %zu",
                        plan->doc.plan, k, plan->doc.ncomponents);
    const spi_cplan_component *c = &plan->doc.components[k];
    sp_commission_component_info i;
    memset(&i, 0, sizeof i);
    i.id = c->id;
    i.measure = c->measure;
    i.grain = spi_cplan_grain(c->period);
    i.on_attainment = c->schedule.on == SPI_CON_ATTAINMENT;
    return spi_info_out(plan->ctx, "sp_commission_component_info", info, &i,
                        component_info_sizes, SP_COMMISSION_COMPONENT_INFO_VERSION);
}

/* ---- plans in a store (plan_store.c) ---- */

int sp_commission_plan_save(sp_commission_plan *plan, const sp_storage *storage,
                            uint32_t based_on, uint32_t *revision)
{
    if (plan == NULL)
        return SP_EINVAL;
    if (storage == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, WHAT ": storage is NULL");
    uint32_t rev;
    int rc = spi_cplan_store_save(plan->ctx, storage, &plan->doc, based_on, &rev);
    if (rc != SP_OK)
        return rc;
    plan->revision = rev;
    if (revision != NULL)
        *revision = rev;
    return SP_OK;
}

int sp_commission_plan_remove_version(sp_ctx *ctx, const sp_storage *storage,
                                      const char *plan_id, int32_t from, uint32_t based_on,
                                      uint32_t *revision)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (storage == NULL || plan_id == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL",
                        storage == NULL ? "storage" : "plan_id");
    uint32_t rev;
    int rc = spi_cplan_store_remove(ctx, storage, plan_id, from, based_on, &rev);
    if (rc == SP_OK && revision != NULL)
        *revision = rev;
    return rc;
}

int sp_commission_plan_load(sp_commission_plan **out, sp_ctx *ctx, const sp_storage *storage,
                            const char *plan_id, int32_t day, uint32_t revision)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL || storage == NULL || plan_id == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL",
                        out == NULL ? "out" : storage == NULL ? "storage" : "plan_id");
    spi_cplan doc;
    uint32_t loaded = 0;
    int rc = spi_cplan_store_load(&doc, ctx, storage, plan_id, revision, day, &loaded);
    if (rc != SP_OK)
        return rc;
    return spi_commission_plan_make(out, ctx, &doc, loaded);
}

/* n items into out[0 .. cap) with *count: SP_EBUFFER when they do not fit. */
static int fill_check(sp_ctx *ctx, const char *what, size_t n, const void *out, size_t cap,
                      size_t *count)
{
    if (count == NULL || (out == NULL && cap > 0))
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s: %s is NULL", what,
                        count == NULL ? "count" : "the output array");
    *count = n;
    if (n > cap)
        return spi_fail(ctx, SP_EBUFFER, WHAT ": %s: %zu do not fit in %zu", what, n, cap);
    return SP_OK;
}

int sp_commission_plan_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                                uint32_t revision, int32_t *from, int32_t *to, size_t cap,
                                size_t *count, uint32_t *loaded)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (storage == NULL || plan_id == NULL || (cap > 0 && (from == NULL || to == NULL)))
        return spi_fail(ctx, SP_EINVAL, WHAT ": versions: %s is NULL",
                        storage == NULL ? "storage" : plan_id == NULL ? "plan_id"
                                                      : from == NULL  ? "from" : "to");
    spi_cplan_span *spans = NULL;
    size_t n = 0;
    uint32_t rev = 0;
    int rc = spi_cplan_store_versions(ctx, storage, plan_id, revision, &spans, &n, &rev);
    if (rc == SP_OK && (rc = fill_check(ctx, "versions", n, from, cap, count)) == SP_OK) {
        for (size_t k = 0; k < n; k++) {
            from[k] = spans[k].from;
            to[k] = spans[k].to == SPI_CPLAN_NO_DAY ? INT32_MAX : spans[k].to;
        }
        if (loaded != NULL)
            *loaded = rev;
    }
    spi_free(ctx, spans);
    return rc;
}

int sp_commission_plan_revisions(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                                 uint32_t *revisions, size_t cap, size_t *count)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (storage == NULL || plan_id == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": revisions: %s is NULL",
                        storage == NULL ? "storage" : "plan_id");
    uint32_t *all = NULL;
    size_t n = 0;
    int rc = spi_cplan_store_revisions(ctx, storage, plan_id, &all, &n);
    if (rc == SP_OK && (rc = fill_check(ctx, "revisions", n, revisions, cap, count)) == SP_OK &&
        n > 0)
        memcpy(revisions, all, n * sizeof *all);
    spi_free(ctx, all);
    return rc;
}

int sp_commission_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL || storage == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL", out == NULL ? "out" : "storage");
    return spi_cplan_store_plans(out, ctx, storage);
}
