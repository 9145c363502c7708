/*
 * The public ledger (commission.h, "The ledger"): runs posted, periods closed, entries
 * listed and a payee's stored statement read, over ledger.c.
 */
#include <string.h>

#include "draw.h"
#include "handles.h"
#include "ledger.h"

#define WHAT "commission ledger"

/* The ledger's component of the draw's lines (docs/commission.md, "The ledger in the API"). */
#define DRAW_COMPONENT "(draw)"

static const size_t posted_sizes[] = { 0, sizeof(sp_commission_posted) };
static const size_t part_sizes[] = { 0, sizeof(sp_commission_stored_part) };

SPI_DEFINE_INIT(sp_commission_posted, posted_sizes, SP_COMMISSION_POSTED_VERSION,
                SP_COMMISSION_POSTED_INIT)
SPI_DEFINE_INIT(sp_commission_stored_part, part_sizes, SP_COMMISSION_STORED_PART_VERSION,
                SP_COMMISSION_STORED_PART_INIT)

struct sp_commission_stored {
    sp_ctx *ctx;
    spi_cledger_statement st;
};

/* A public period as the ledger's (its grain a component period). */
static int period_in(sp_ctx *ctx, const char *what, const sp_commission_period *p,
                     spi_cledger_period *out)
{
    if (p == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL", what);
    uint32_t grain;
    if (!spi_cplan_period_of_grain(p->grain, &grain))
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s.grain: %u is not month (%d), quarter (%d) "
                                           "or year (%d)", what, p->grain, SP_GRAIN_MONTH,
                        SP_GRAIN_QUARTER, SP_GRAIN_YEAR);
    out->fiscal_year = p->fiscal_year;
    out->grain = grain;
    out->index = p->index;
    char key[SPI_CLEDGER_KEY_CAP];
    if (!spi_cledger_period_key(out, key))
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s: FY%d has no period %u at that grain", what,
                        p->fiscal_year, p->index);
    return SP_OK;
}

/* A ledger period (or its key) as the public one. */
static sp_commission_period period_out(const spi_cledger_period *p)
{
    sp_commission_period o = { p->fiscal_year, spi_cplan_grain(p->grain), p->index };
    return o;
}

static sp_commission_period period_of_key(const char *key)
{
    spi_cledger_period p = { 0, 0, 0 };
    if (!spi_cledger_period_parse(key, strlen(key), &p))
        memset(&p, 0, sizeof p);
    return period_out(&p);
}

int sp_commission_run_post(sp_commission_run *run, const sp_storage *storage,
                           const sp_commission_period *into, sp_commission_posted *posted)
{
    if (run == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = run->ctx;
    if (storage == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": storage is NULL");
    if (!run->computed || run->res.statements == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": the run is %s (a run is posted with its "
                                           "lines)", run->computed ? "of totals only"
                                                                   : "not computed");
    int rc = posted != NULL ? spi_info_check(ctx, "sp_commission_posted", posted,
                                             SP_COMMISSION_POSTED_VERSION)
                            : SP_OK;
    spi_cledger_period target;
    if (rc == SP_OK && into != NULL)
        rc = period_in(ctx, "into", into, &target);
    if (rc != SP_OK)
        return rc;
    size_t nc = run->plan.ncomponents, np = run->np;
    /* The draw's lines belong to no component, and the ledger files every line under one:
     * a plan with a draw is posted with one more component, DRAW_COMPONENT, holding them,
     * its totals the draws' top-ups less their recoveries. */
    bool draw = run->plan.draw.kind != SPI_CDRAW_NONE;
    for (size_t c = 0; draw && c < nc; c++)
        if (strcmp(run->plan.components[c].id, DRAW_COMPONENT) == 0)
            return spi_fail(ctx, SP_EINVAL, WHAT " \"%s\": components[%zu]: the id \""
                                               DRAW_COMPONENT "\" names the draw's lines in "
                                               "the ledger (rename the component)",
                            run->plan.plan, c);
    size_t width = nc + (draw ? 1 : 0);
    const char **payees = spi_malloc_array(ctx, np, sizeof *payees);
    const char **components = spi_malloc_array(ctx, width, sizeof *components);
    spi_crun sh = run->res;
    bool *due = NULL;
    int32_t *first = NULL, *end = NULL;
    int64_t *totals = NULL, *measure = NULL;
    if (draw) {
        due = spi_malloc_array(ctx, width, sizeof *due);
        first = spi_malloc_array(ctx, width, sizeof *first);
        end = spi_malloc_array(ctx, width, sizeof *end);
        totals = spi_calloc(ctx, np * width, sizeof *totals);
        measure = spi_calloc(ctx, np * width, sizeof *measure);
    }
    if (payees == NULL || components == NULL ||
        (draw && (due == NULL || first == NULL || end == NULL || totals == NULL ||
                  measure == NULL))) {
        spi_free(ctx, payees);
        spi_free(ctx, components);
        spi_free(ctx, due);
        spi_free(ctx, first);
        spi_free(ctx, end);
        spi_free(ctx, totals);
        spi_free(ctx, measure);
        return SP_ENOMEM;
    }
    for (size_t k = 0; k < np; k++)
        payees[k] = run->ids + run->id_at[k];
    for (size_t c = 0; c < nc; c++)
        components[c] = run->plan.components[c].id;
    if (draw) {
        components[nc] = DRAW_COMPONENT;
        memcpy(due, sh.due, nc * sizeof *due);
        memcpy(first, sh.first, nc * sizeof *first);
        memcpy(end, sh.end, nc * sizeof *end);
        due[nc] = false;
        first[nc] = end[nc] = 0;
        for (size_t k = 0; k < np; k++) {
            memcpy(totals + k * width, sh.totals + k * nc, nc * sizeof *totals);
            memcpy(measure + k * width, sh.measure + k * nc, nc * sizeof *measure);
            totals[k * width + nc] = sh.draws[k].paid - sh.draws[k].recovered;
        }
        sh.ncomponents = width;
        sh.due = due;
        sh.first = first;
        sh.end = end;
        sh.totals = totals;
        sh.measure = measure;
        for (size_t i = 0; i < sh.nlines; i++) /* put back below */
            if (sh.lines[i].component == SPI_CLINE_NO_COMPONENT)
                sh.lines[i].component = (uint16_t)nc;
    }
    spi_cledger_run lr;
    memset(&lr, 0, sizeof lr);
    lr.run = &sh;
    lr.plan = run->plan.plan;
    lr.plan_from = run->plan.from;
    lr.plan_revision = run->revision;
    lr.payees = payees;
    lr.components = components;
    lr.period.fiscal_year = run->opts.fiscal_year;
    lr.period.grain = run->period;
    lr.period.index = run->opts.index;
    lr.currency = run->plan.currency;
    lr.rounding_mode = run->plan.rounding_mode;
    lr.policy = run->plan.policy;
    spi_cledger_posted out;
    rc = spi_cledger_post(ctx, storage, &lr, into != NULL ? &target : NULL, &out);
    if (draw) {
        for (size_t i = 0; i < sh.nlines; i++)
            if (sh.lines[i].component == nc && sh.lines[i].kind >= SPI_CLINE_DRAW &&
                sh.lines[i].kind <= SPI_CLINE_DRAW_FORGIVEN)
                sh.lines[i].component = SPI_CLINE_NO_COMPONENT;
        spi_free(ctx, due);
        spi_free(ctx, first);
        spi_free(ctx, end);
        spi_free(ctx, totals);
        spi_free(ctx, measure);
    }
    spi_free(ctx, payees);
    spi_free(ctx, components);
    if (rc != SP_OK || posted == NULL)
        return rc;
    sp_commission_posted p;
    memset(&p, 0, sizeof p);
    p.period = period_of_key(out.period);
    p.corrects = out.corrects[0] != '\0';
    if (p.corrects)
        p.corrected = period_of_key(out.corrects);
    p.written = out.written;
    p.removed = out.removed;
    p.revision = out.revision;
    p.npayees = out.npayees;
    p.nlines = out.nlines;
    p.total = out.total;
    return spi_info_out(ctx, "sp_commission_posted", posted, &p, posted_sizes,
                        SP_COMMISSION_POSTED_VERSION);
}

int sp_commission_period_close(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                               const sp_commission_period *period)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (storage == NULL || plan_id == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL",
                        storage == NULL ? "storage" : "plan_id");
    spi_cledger_period p;
    int rc = period_in(ctx, "period", period, &p);
    return rc != SP_OK ? rc : spi_cledger_close(ctx, storage, plan_id, &p);
}

int sp_commission_ledger_entries(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                                 sp_commission_ledger_entry *entries, size_t cap,
                                 size_t *count)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (storage == NULL || plan_id == NULL || count == NULL || (entries == NULL && cap > 0))
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL",
                        storage == NULL   ? "storage"
                        : plan_id == NULL ? "plan_id"
                        : count == NULL   ? "count"
                                          : "entries");
    spi_cledger_list list;
    int rc = spi_cledger_entries(ctx, storage, plan_id, &list);
    if (rc != SP_OK)
        return rc;
    *count = list.n;
    if (list.n > cap)
        rc = spi_fail(ctx, SP_EBUFFER, WHAT ": %zu entries do not fit in %zu", list.n, cap);
    for (size_t k = 0; rc == SP_OK && k < list.n; k++) {
        const spi_cledger_entry *e = &list.entries[k];
        sp_commission_ledger_entry o;
        memset(&o, 0, sizeof o);
        o.period = period_out(&e->period);
        o.corrects = e->corrects[0] != '\0';
        if (o.corrects)
            o.corrected = period_of_key(e->corrects);
        o.closed = e->state == SPI_CLEDGER_CLOSED;
        o.revision = e->revision;
        o.npayees = e->npayees;
        o.nlines = e->nlines;
        o.total = e->total;
        entries[k] = o;
    }
    spi_cledger_list_free(ctx, &list);
    return rc;
}

int sp_commission_stored_load(sp_commission_stored **out, sp_ctx *ctx, const sp_storage *storage,
                              const char *plan_id, const sp_commission_period *period,
                              const char *payee)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL || storage == NULL || plan_id == NULL || payee == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %s is NULL",
                        out == NULL       ? "out"
                        : storage == NULL ? "storage"
                        : plan_id == NULL ? "plan_id"
                                          : "payee");
    spi_cledger_period p;
    int rc = period_in(ctx, "period", period, &p);
    if (rc != SP_OK)
        return rc;
    sp_commission_stored *s = spi_calloc(ctx, 1, sizeof *s);
    if (s == NULL)
        return SP_ENOMEM;
    if ((rc = spi_cledger_statement_load(ctx, storage, plan_id, &p, payee, &s->st)) != SP_OK) {
        spi_free(ctx, s);
        return rc;
    }
    s->ctx = ctx;
    *out = s;
    return SP_OK;
}

void sp_commission_stored_free(sp_commission_stored *stored)
{
    if (stored == NULL)
        return;
    spi_cledger_statement_free(stored->ctx, &stored->st);
    spi_free(stored->ctx, stored);
}

size_t sp_commission_stored_count(const sp_commission_stored *stored)
{
    return stored != NULL ? stored->st.nparts : 0;
}

int64_t sp_commission_stored_total(const sp_commission_stored *stored)
{
    return stored != NULL ? stored->st.total : 0;
}

int sp_commission_stored_get_part(const sp_commission_stored *stored, size_t k,
                                  sp_commission_stored_part *part)
{
    if (stored == NULL)
        return SP_EINVAL;
    if (part == NULL)
        return spi_fail(stored->ctx, SP_EINVAL, WHAT ": part is NULL");
    if (k >= stored->st.nparts)
        return spi_fail(stored->ctx, SP_EINVAL, WHAT ": part %zu: the statement has %zu", k,
                        stored->st.nparts);
    const spi_cposting *c = &stored->st.parts[k];
    sp_commission_stored_part o;
    memset(&o, 0, sizeof o);
    o.corrects = c->corrects[0] != '\0';
    if (o.corrects)
        o.corrected = period_of_key(c->corrects);
    o.closed = stored->st.state == SPI_CLEDGER_CLOSED;
    o.currency = c->currency;
    o.exponent = c->exponent;
    o.rounding = c->rounding_mode;
    o.policy = c->policy;
    o.plan_from = c->plan_from;
    o.plan_revision = c->plan_revision;
    o.ncomponents = c->ncomponents;
    o.components = (const char *const *)c->components;
    o.totals = c->totals;
    o.total = c->total;
    o.nlines = c->nlines;
    o.lines = (const sp_commission_line *)c->lines;
    return spi_info_out(stored->ctx, "sp_commission_stored_part", part, &o, part_sizes,
                        SP_COMMISSION_STORED_PART_VERSION);
}
