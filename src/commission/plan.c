/*
 * sp_commission_plan: one version of a commission plan, read from its document
 * (plan_doc.c) and kept with its canonical text and calendar (commission.h).
 */
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "handles.h"

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
