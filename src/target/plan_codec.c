/*
 * The records of plans ("target.plan") and target sets ("target.set"), in the record
 * format (docs/record-format.md; members in the order written here, which the table of
 * that page lists). Decoding is strict: a record that does not hold together (lengths,
 * parents, sums) is SP_ECORRUPT, never a crash and never a half-made object.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "plan.h"

#define PLAN_TYPE "target.plan"
#define SET_TYPE "target.set"
#define PLAN_V 1u
#define SET_V 1u

static const char *const measure_names[] = { "money", "quantity" };

/* ---- writing ---- */

static void write_opt_string(spi_writer *w, const char *key, const char *s)
{
    spi_writer_key(w, key);
    if (s != NULL && s[0] != '\0')
        spi_writer_cstr(w, s);
    else
        spi_writer_null(w);
}

static void write_ints(spi_writer *w, const char *key, const int64_t *v, size_t n,
                       const uint8_t *valid)
{
    spi_writer_key(w, key);
    spi_writer_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        if (valid != NULL && !valid[i])
            spi_writer_null(w);
        else
            spi_writer_int(w, v[i]);
    }
    spi_writer_end_array(w);
}

static void write_u32s(spi_writer *w, const char *key, const uint32_t *v, size_t n)
{
    spi_writer_key(w, key);
    spi_writer_begin_array(w);
    for (size_t i = 0; i < n; i++)
        spi_writer_int(w, v[i]);
    spi_writer_end_array(w);
}

static void write_days(spi_writer *w, const char *key, const int32_t *v, size_t n)
{
    spi_writer_key(w, key);
    spi_writer_begin_array(w);
    for (size_t i = 0; i < n; i++)
        spi_writer_int(w, v[i]);
    spi_writer_end_array(w);
}

/* levels, ids, parents (index, null for the root) of a hierarchy. */
static void write_hierarchy(spi_writer *w, const sp_hierarchy *h)
{
    spi_writer_key(w, "levels");
    spi_writer_begin_array(w);
    for (size_t l = 0; l < h->nlevels; l++)
        spi_writer_cstr(w, h->levels[l]);
    spi_writer_end_array(w);
    spi_writer_key(w, "ids");
    spi_writer_begin_array(w);
    for (uint32_t i = 0; i < h->tree.n; i++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(h->ids, i, &id, &len);
        spi_writer_string(w, id, len);
    }
    spi_writer_end_array(w);
    spi_writer_key(w, "parents");
    spi_writer_begin_array(w);
    for (uint32_t i = 0; i < h->tree.n; i++) {
        if (h->parent[i] == SPI_TREE_NONE)
            spi_writer_null(w);
        else
            spi_writer_int(w, h->parent[i]);
    }
    spi_writer_end_array(w);
}

int spi_plan_encode(const sp_target_plan *plan, uint32_t revision, uint8_t **out, size_t *len)
{
    spi_writer w;
    spi_writer_init(&w, plan->ctx);
    spi_record_begin(&w, PLAN_TYPE, PLAN_V);
    spi_writer_member_string(&w, "id", plan->id, strlen(plan->id));
    spi_writer_member_int(&w, "revision", revision);
    write_opt_string(&w, "name", plan->name);
    spi_writer_key(&w, "measure");
    spi_writer_cstr(&w, measure_names[plan->measure]);
    write_opt_string(&w, "currency", plan->currency);
    spi_writer_member_int(&w, "exponent", plan->exponent);
    spi_writer_member_int(&w, "fiscal_year", plan->fiscal_year);
    spi_writer_member_int(&w, "grain", plan->grain);
    const sp_calendar_options *c = &plan->cal_opts;
    spi_writer_key(&w, "calendar");
    spi_writer_begin_object(&w);
    spi_writer_member_int(&w, "kind", c->kind);
    spi_writer_member_int(&w, "start_month", c->start_month);
    spi_writer_member_int(&w, "label", c->label);
    spi_writer_member_int(&w, "year_end_weekday", c->year_end_weekday);
    spi_writer_member_int(&w, "year_end_rule", c->year_end_rule);
    spi_writer_member_int(&w, "week53_month", c->week53_month);
    spi_writer_member_int(&w, "weekend", c->weekend);
    write_days(&w, "holidays", c->holidays, c->nholidays);
    write_days(&w, "workdays", c->workdays, c->nworkdays);
    spi_writer_end_object(&w);
    write_hierarchy(&w, plan->sh->h);
    spi_writer_key(&w, "drivers");
    spi_writer_begin_array(&w);
    for (size_t i = 0; i < plan->ndrivers; i++) {
        spi_writer_begin_object(&w);
        spi_writer_member_string(&w, "name", plan->drivers[i].name, strlen(plan->drivers[i].name));
        write_ints(&w, "values", plan->drivers[i].values, plan->n, plan->drivers[i].valid);
        spi_writer_end_object(&w);
    }
    spi_writer_end_array(&w);
    spi_writer_key(&w, "settings");
    spi_settings_write(plan, &plan->settings, &w);
    /* History: the rows of the nodes whose profiles the settings take from history. */
    const spi_history *hs = &plan->history;
    spi_writer_key(&w, "history");
    if (hs->years == 0) {
        spi_writer_null(&w);
    } else {
        spi_writer_begin_object(&w);
        spi_writer_member_int(&w, "first_year", hs->first_year);
        spi_writer_member_int(&w, "years", hs->years);
        spi_writer_key(&w, "rows");
        spi_writer_begin_array(&w);
        for (uint32_t v = 0; v < plan->n; v++) {
            const int64_t *row = spi_history_row(hs, v);
            if (row == NULL || !spi_plan_wants_history(plan, v))
                continue;
            spi_writer_begin_object(&w);
            spi_writer_member_int(&w, "node", v);
            write_ints(&w, "values", row, (size_t)hs->years * hs->nperiods, NULL);
            spi_writer_end_object(&w);
        }
        spi_writer_end_array(&w);
        spi_writer_end_object(&w);
    }
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

int spi_set_encode(const sp_target_set *set, const char *scenario, uint32_t version,
                   const char *note, int32_t day, uint8_t **out, size_t *len)
{
    const size_t n = set->n, P = set->nperiods;
    spi_writer w;
    spi_writer_init(&w, set->ctx);
    spi_record_begin(&w, SET_TYPE, SET_V);
    spi_writer_member_string(&w, "plan_id", set->plan_id, strlen(set->plan_id));
    spi_writer_member_int(&w, "plan_revision", set->plan_revision);
    spi_writer_member_string(&w, "scenario", scenario, strlen(scenario));
    spi_writer_member_int(&w, "version", version);
    spi_writer_member_string(&w, "note", note, strlen(note));
    spi_writer_member_int(&w, "saved_day", day);
    spi_writer_key(&w, "measure");
    spi_writer_cstr(&w, measure_names[set->measure]);
    write_opt_string(&w, "currency", set->currency);
    spi_writer_member_int(&w, "exponent", set->exponent);
    spi_writer_member_int(&w, "fiscal_year", set->fiscal_year);
    spi_writer_member_int(&w, "grain", set->grain);
    spi_writer_member_int(&w, "nperiods", set->nperiods);
    spi_writer_member_int(&w, "total", set->total);
    spi_writer_member_int(&w, "based_on", set->based_on);
    spi_writer_member_int(&w, "closed", set->closed);
    spi_writer_member_int(&w, "weighting", set->weighting);
    write_hierarchy(&w, set->sh->h);
    write_ints(&w, "annual", set->annual, n, NULL);
    write_u32s(&w, "flags", set->flags, n);
    write_ints(&w, "growth", set->growth, n, NULL);
    write_ints(&w, "common_growth", set->common_growth, n, NULL);
    write_ints(&w, "periods", set->periods, n * P, NULL);
    write_ints(&w, "profiles", set->profiles, set->nprofiles * P, NULL);
    write_u32s(&w, "profile_of", set->profile_of, n);
    spi_writer_key(&w, "locks");
    spi_writer_begin_array(&w);
    for (uint32_t v = 0; set->reasons != NULL && v < n; v++) {
        if (set->reasons[v] == NULL)
            continue;
        spi_writer_begin_object(&w);
        spi_writer_member_int(&w, "node", v);
        spi_writer_member_string(&w, "reason", set->reasons[v], strlen(set->reasons[v]));
        spi_writer_end_object(&w);
    }
    spi_writer_end_array(&w);
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

/* ---- reading ---- */

/* A NUL-terminated copy of a string member (which must hold no NUL). */
static int read_str(const spi_rdoc *doc, const spi_rnode *obj, const char *key, bool optional,
                    sp_ctx *ctx, char **out)
{
    const spi_rnode *v = spi_rnode_member(doc, obj, key);
    *out = NULL;
    if (optional && v != NULL && spi_rnode_type(v) == SPI_RNULL)
        return SP_OK;
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, obj, key, SPI_REC_NO_NUL, &s, &len);
    return rc != SP_OK ? rc : spi_set_strdup(ctx, out, s, len);
}

/* An array member of exactly n integers in [min, max] (nulls allowed when valid != NULL,
 * where they are marked 0). */
static int read_ints(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     int64_t min, int64_t max, int64_t *out, uint8_t *valid)
{
    const spi_rnode *arr;
    size_t count;
    int rc = spi_rec_array(doc, obj, key, 0, &arr, &count);
    if (rc != SP_OK)
        return rc;
    if (count != n)
        return spi_rec_fail(doc, arr, "%zu values where %zu are due", count, n);
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(doc, arr, i);
        if (valid != NULL) {
            valid[i] = spi_rnode_type(e) != SPI_RNULL;
            if (!valid[i]) {
                out[i] = 0;
                continue;
            }
        }
        if ((rc = spi_rec_int(doc, e, NULL, 0, min, max, &out[i])) != SP_OK)
            return rc;
    }
    return SP_OK;
}

static int read_u32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, uint32_t max,
                    uint32_t *out)
{
    int64_t v;
    int rc = spi_rec_int(doc, obj, key, 0, 0, max, &v);
    if (rc == SP_OK)
        *out = (uint32_t)v;
    return rc;
}

/* The hierarchy of a record: levels, ids, parents. */
typedef struct read_h {
    char **levels, **ids;
    size_t nlevels, n;
    uint32_t *parents;
} read_h;

static void free_read_h(sp_ctx *ctx, read_h *r)
{
    for (size_t i = 0; r->levels != NULL && i < r->nlevels; i++)
        spi_free(ctx, r->levels[i]);
    for (size_t i = 0; r->ids != NULL && i < r->n; i++)
        spi_free(ctx, r->ids[i]);
    spi_free(ctx, r->levels);
    spi_free(ctx, r->ids);
    spi_free(ctx, r->parents);
}

/* Re-code a hierarchy's complaint about stored nodes as corruption. */
static int corrupt(sp_ctx *ctx, const char *type, int rc)
{
    if (rc == SP_ENOMEM || rc == SP_ECORRUPT)
        return rc;
    char msg[SPI_ERRMSG_CAP];
    snprintf(msg, sizeof msg, "%s", sp_ctx_errmsg(ctx));
    return spi_fail(ctx, SP_ECORRUPT, "record %s: %s", type, msg);
}

static int read_hierarchy(sp_ctx *ctx, const spi_rdoc *doc, const spi_rnode *root,
                          const char *type, sp_hierarchy **out)
{
    read_h r;
    memset(&r, 0, sizeof r);
    const spi_rnode *levels, *ids, *parents;
    size_t np;
    int rc = spi_rec_array(doc, root, "levels", 0, &levels, &r.nlevels);
    if (rc == SP_OK)
        rc = spi_rec_array(doc, root, "ids", 0, &ids, &r.n);
    if (rc == SP_OK)
        rc = spi_rec_array(doc, root, "parents", 0, &parents, &np);
    if (rc == SP_OK && (np != r.n || r.n == 0 || r.n > UINT32_MAX - 3))
        rc = spi_rec_fail(doc, parents, "%zu parents for %zu ids", np, r.n);
    if (rc == SP_OK && ((r.levels = spi_calloc(ctx, r.nlevels + 1, sizeof *r.levels)) == NULL ||
                        (r.ids = spi_calloc(ctx, r.n, sizeof *r.ids)) == NULL ||
                        (r.parents = spi_malloc_array(ctx, r.n, sizeof *r.parents)) == NULL))
        rc = SP_ENOMEM;
    for (size_t i = 0; rc == SP_OK && i < r.nlevels; i++)
        rc = read_str(doc, spi_rnode_at(doc, levels, i), NULL, false, ctx, &r.levels[i]);
    for (size_t i = 0; rc == SP_OK && i < r.n; i++) {
        const char *s;
        size_t len;
        const spi_rnode *e = spi_rnode_at(doc, parents, i);
        if ((rc = spi_rec_string(doc, spi_rnode_at(doc, ids, i), NULL, SPI_REC_NO_NUL, &s,
                                 &len)) == SP_OK)
            rc = spi_set_strdup(ctx, &r.ids[i], s, len);
        int64_t p = -1;
        if (rc == SP_OK && spi_rnode_type(e) != SPI_RNULL)
            rc = spi_rec_int(doc, e, NULL, 0, 0, (int64_t)r.n - 1, &p);
        r.parents[i] = p < 0 ? SPI_TREE_NONE : (uint32_t)p;
    }
    if (rc == SP_OK) {
        rc = spi_hierarchy_from_parents(ctx, type, r.ids, r.parents, (uint32_t)r.n, r.levels,
                                        r.nlevels, out);
        if (rc != SP_OK)
            rc = corrupt(ctx, type, rc);
    }
    free_read_h(ctx, &r);
    return rc;
}

static int open_record(sp_ctx *ctx, const char *type, uint32_t known, const uint8_t *data,
                       size_t len, spi_rdoc **doc)
{
    char name[48];
    snprintf(name, sizeof name, "record %s", type);
    int rc = spi_rdoc_parse(doc, ctx, name, data, len, SPI_RDOC_STORED, NULL);
    if (rc != SP_OK)
        return rc;
    uint32_t v;
    if ((rc = spi_record_open(*doc, type, known, &v)) != SP_OK) {
        spi_rdoc_free(*doc);
        *doc = NULL;
    }
    return rc;
}

int spi_plan_stored_revision(sp_ctx *ctx, const uint8_t *data, size_t len, uint32_t *revision)
{
    spi_rdoc *doc;
    int rc = open_record(ctx, PLAN_TYPE, PLAN_V, data, len, &doc);
    if (rc == SP_OK) {
        rc = read_u32(doc, spi_rdoc_root(doc), "revision", UINT32_MAX, revision);
        spi_rdoc_free(doc);
    }
    return rc;
}

static int read_calendar(const spi_rdoc *doc, const spi_rnode *root, sp_ctx *ctx,
                         sp_calendar_options *o, int32_t **days)
{
    const spi_rnode *c, *hol, *wk;
    size_t nh, nw;
    int rc = spi_rec_object(doc, root, "calendar", 0, &c);
    if (rc != SP_OK || (rc = read_u32(doc, c, "kind", 3, &o->kind)) != SP_OK ||
        (rc = read_u32(doc, c, "start_month", 12, &o->start_month)) != SP_OK ||
        (rc = read_u32(doc, c, "label", 1, &o->label)) != SP_OK ||
        (rc = read_u32(doc, c, "year_end_weekday", 7, &o->year_end_weekday)) != SP_OK ||
        (rc = read_u32(doc, c, "year_end_rule", 1, &o->year_end_rule)) != SP_OK ||
        (rc = read_u32(doc, c, "week53_month", 12, &o->week53_month)) != SP_OK ||
        (rc = read_u32(doc, c, "weekend", 127, &o->weekend)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "holidays", 0, &hol, &nh)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "workdays", 0, &wk, &nw)) != SP_OK)
        return rc;
    int64_t *tmp = spi_malloc_array(ctx, nh + nw + 1, sizeof *tmp);
    int32_t *d = spi_malloc_array(ctx, nh + nw + 1, sizeof *d);
    if (tmp == NULL || d == NULL) {
        spi_free(ctx, tmp);
        spi_free(ctx, d);
        return SP_ENOMEM;
    }
    rc = read_ints(doc, c, "holidays", nh, INT32_MIN, INT32_MAX, tmp, NULL);
    if (rc == SP_OK)
        rc = read_ints(doc, c, "workdays", nw, INT32_MIN, INT32_MAX, tmp + nh, NULL);
    for (size_t i = 0; i < nh + nw; i++)
        d[i] = (int32_t)tmp[i];
    spi_free(ctx, tmp);
    if (rc != SP_OK) {
        spi_free(ctx, d);
        return rc;
    }
    o->holidays = nh > 0 ? d : NULL;
    o->nholidays = nh;
    o->workdays = nw > 0 ? d + nh : NULL;
    o->nworkdays = nw;
    *days = d;
    return SP_OK;
}

static int read_drivers(const spi_rdoc *doc, const spi_rnode *root, sp_target_plan *p)
{
    const spi_rnode *arr;
    size_t nd;
    int rc = spi_rec_array(doc, root, "drivers", 0, &arr, &nd);
    if (rc != SP_OK)
        return rc;
    int64_t *values = spi_malloc_array(p->ctx, p->n, sizeof *values + 1);
    if (values == NULL)
        return SP_ENOMEM;
    uint8_t *valid = (uint8_t *)(values + p->n);
    for (size_t i = 0; i < nd && rc == SP_OK; i++) {
        const spi_rnode *e = spi_rnode_at(doc, arr, i);
        char *name = NULL;
        if ((rc = read_str(doc, e, "name", false, p->ctx, &name)) == SP_OK &&
            (rc = read_ints(doc, e, "values", p->n, -INT64_MAX, INT64_MAX, values, valid)) ==
                SP_OK) {
            if (spi_plan_driver(p, name) != NULL)
                rc = spi_rec_fail(doc, e, "driver '%s' appears twice", name);
            else {
                const char *names[] = { name };
                const int64_t *vals[] = { values };
                const uint8_t *vds[] = { valid };
                rc = spi_plan_put_drivers(p, 1, names, vals, vds);
            }
        }
        spi_free(p->ctx, name);
    }
    spi_free(p->ctx, values);
    return rc;
}

static int read_history(const spi_rdoc *doc, const spi_rnode *root, sp_target_plan *p)
{
    const spi_rnode *h = spi_rnode_member(doc, root, "history"), *rows;
    if (h != NULL && spi_rnode_type(h) == SPI_RNULL)
        return SP_OK;
    spi_history hs;
    memset(&hs, 0, sizeof hs);
    int64_t first, years;
    size_t nrows;
    int rc = spi_rec_object(doc, root, "history", 0, &h);
    if (rc != SP_OK || (rc = spi_rec_int(doc, h, "first_year", 0, 1, 9999, &first)) != SP_OK ||
        (rc = spi_rec_int(doc, h, "years", 0, 1, SPI_HISTORY_YEARS_MAX, &years)) != SP_OK ||
        (rc = spi_rec_array(doc, h, "rows", 0, &rows, &nrows)) != SP_OK)
        return rc;
    if (nrows > p->n)
        return spi_rec_fail(doc, rows, "%zu rows for %u nodes", nrows, (unsigned)p->n);
    const size_t width = (size_t)years * p->nperiods;
    hs.years = (uint32_t)years;
    hs.first_year = (int32_t)first;
    hs.nperiods = p->nperiods;
    hs.nrows = (uint32_t)nrows;
    if ((hs.row_of = spi_malloc_array(p->ctx, p->n, sizeof *hs.row_of)) == NULL ||
        (hs.rows = spi_malloc_array(p->ctx, nrows * width + 1, sizeof *hs.rows)) == NULL) {
        spi_history_free(p->ctx, &hs);
        return SP_ENOMEM;
    }
    for (uint32_t v = 0; v < p->n; v++)
        hs.row_of[v] = SPI_TREE_NONE;
    for (size_t i = 0; i < nrows && rc == SP_OK; i++) {
        const spi_rnode *e = spi_rnode_at(doc, rows, i);
        int64_t node;
        if ((rc = spi_rec_int(doc, e, "node", 0, 0, (int64_t)p->n - 1, &node)) != SP_OK)
            break;
        if (hs.row_of[node] != SPI_TREE_NONE)
            rc = spi_rec_fail(doc, e, "node %lld has two rows", (long long)node);
        else {
            hs.row_of[node] = (uint32_t)i;
            rc = read_ints(doc, e, "values", width, -INT64_MAX, INT64_MAX, hs.rows + i * width,
                           NULL);
        }
    }
    if (rc != SP_OK) {
        spi_history_free(p->ctx, &hs);
        return rc;
    }
    p->history = hs;
    return SP_OK;
}

int spi_plan_decode(sp_ctx *ctx, const uint8_t *data, size_t len, sp_target_plan **out)
{
    spi_rdoc *doc;
    int rc = open_record(ctx, PLAN_TYPE, PLAN_V, data, len, &doc);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    char *id = NULL, *name = NULL, *currency = NULL;
    int32_t *days = NULL;
    uint32_t revision = 0, measure = 0, grain = 0;
    int64_t exponent = 0, fy = 0;
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    sp_hierarchy *h = NULL;
    spi_shared_h *sh = NULL;
    sp_target_plan *p = NULL;
    if ((rc = read_str(doc, root, "id", false, ctx, &id)) != SP_OK ||
        (rc = read_u32(doc, root, "revision", UINT32_MAX, &revision)) != SP_OK ||
        (rc = read_str(doc, root, "name", true, ctx, &name)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, 2, &measure)) != SP_OK ||
        (rc = read_str(doc, root, "currency", true, ctx, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = read_u32(doc, root, "grain", SP_GRAIN_WEEK, &grain)) != SP_OK ||
        (rc = read_calendar(doc, root, ctx, &cal, &days)) != SP_OK ||
        (rc = read_hierarchy(ctx, doc, root, PLAN_TYPE, &h)) != SP_OK)
        goto done;
    if ((rc = spi_shared_h_new(ctx, h, &sh)) != SP_OK)
        goto done;
    h = NULL;
    spi_plan_spec spec = { id, name, measure, currency, (int32_t)exponent, &cal, (int32_t)fy,
                           grain };
    if ((rc = spi_plan_make(ctx, &spec, sh, &p)) != SP_OK) {
        rc = corrupt(ctx, PLAN_TYPE, rc);
        goto done;
    }
    p->revision = revision;
    const spi_rnode *settings;
    spi_settings s;
    if ((rc = read_drivers(doc, root, p)) != SP_OK ||
        (rc = spi_rec_object(doc, root, "settings", 0, &settings)) != SP_OK ||
        (rc = read_history(doc, root, p)) != SP_OK ||
        (rc = spi_settings_read(p, doc, settings, &s)) != SP_OK)
        goto done;
    if ((rc = spi_plan_take_settings(p, &s)) != SP_OK)
        spi_settings_free(ctx, &s);
done:
    if (rc != SP_OK) {
        sp_target_plan_free(p);
        p = NULL;
    }
    spi_shared_h_unref(ctx, sh);
    sp_hierarchy_free(h);
    spi_free(ctx, id);
    spi_free(ctx, name);
    spi_free(ctx, currency);
    spi_free(ctx, days);
    spi_rdoc_free(doc);
    if (rc == SP_OK)
        *out = p;
    return rc;
}

/* The invariants of every set: periods sum to the annual target, inner nodes are the sums
 * of their children in every period; profiles index in range. */
static int check_set(const spi_rdoc *doc, const sp_target_set *s)
{
    const spi_tree *t = &s->sh->h->tree;
    const size_t P = s->nperiods;
    const spi_rnode *root = spi_rdoc_root(doc);
    for (uint32_t v = 0; v < s->n; v++) {
        spi_i128 sum = 0;
        for (size_t p = 0; p < P; p++)
            sum += s->periods[v * P + p];
        if (sum != s->annual[v])
            return spi_rec_fail(doc, spi_rnode_member(doc, root, "periods"),
                                "the periods of node %u do not sum to its annual target",
                                (unsigned)v);
        if (s->profile_of[v] >= s->nprofiles)
            return spi_rec_fail(doc, spi_rnode_member(doc, root, "profile_of"),
                                "node %u has profile %u of %zu", (unsigned)v,
                                (unsigned)s->profile_of[v], s->nprofiles);
        if (t->count[v] == 0)
            continue;
        const uint32_t *kids = spi_tree_children(t, v);
        for (size_t p = 0; p < P; p++) {
            spi_i128 c = 0;
            for (uint32_t j = 0; j < t->count[v]; j++)
                c += s->periods[(size_t)kids[j] * P + p];
            if (c != s->periods[v * P + p])
                return spi_rec_fail(doc, spi_rnode_member(doc, root, "periods"),
                                    "period %zu of node %u is not the sum of its children's", p,
                                    (unsigned)v);
        }
    }
    if (s->total != s->annual[t->root])
        return spi_rec_fail(doc, spi_rnode_member(doc, root, "total"),
                            "the total is not the root's annual target");
    return SP_OK;
}

int spi_set_decode(sp_ctx *ctx, const uint8_t *data, size_t len, sp_target_set **out)
{
    spi_rdoc *doc;
    int rc = open_record(ctx, SET_TYPE, SET_V, data, len, &doc);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    char *plan_id = NULL, *scenario = NULL, *note = NULL, *currency = NULL;
    uint32_t rev, version, measure, grain, nperiods, based_on, closed, weighting;
    int64_t day, exponent, fy, total;
    const spi_rnode *profiles, *locks;
    size_t nprof, nlocks;
    sp_hierarchy *h = NULL;
    spi_shared_h *sh = NULL;
    sp_target_set *s = NULL;
    int64_t *tmp = NULL;
    if ((rc = read_str(doc, root, "plan_id", false, ctx, &plan_id)) != SP_OK ||
        (rc = read_u32(doc, root, "plan_revision", UINT32_MAX, &rev)) != SP_OK ||
        (rc = read_str(doc, root, "scenario", false, ctx, &scenario)) != SP_OK ||
        (rc = read_u32(doc, root, "version", UINT32_MAX, &version)) != SP_OK ||
        (rc = read_str(doc, root, "note", false, ctx, &note)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "saved_day", 0, INT32_MIN, INT32_MAX, &day)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, 2, &measure)) != SP_OK ||
        (rc = read_str(doc, root, "currency", true, ctx, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = read_u32(doc, root, "grain", SP_GRAIN_WEEK, &grain)) != SP_OK ||
        (rc = read_u32(doc, root, "nperiods", SP_CALENDAR_MAX_PERIODS, &nperiods)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "total", 0, 0, INT64_MAX, &total)) != SP_OK ||
        (rc = read_u32(doc, root, "based_on", UINT32_MAX, &based_on)) != SP_OK ||
        (rc = read_u32(doc, root, "closed", nperiods, &closed)) != SP_OK ||
        (rc = read_u32(doc, root, "weighting", 1, &weighting)) != SP_OK ||
        (rc = spi_rec_array(doc, root, "profiles", 0, &profiles, &nprof)) != SP_OK ||
        (rc = spi_rec_array(doc, root, "locks", 0, &locks, &nlocks)) != SP_OK ||
        (rc = read_hierarchy(ctx, doc, root, SET_TYPE, &h)) != SP_OK)
        goto done;
    if (nperiods == 0 || nprof == 0 || nprof % nperiods != 0 || (currency != NULL && strlen(currency) > 3)) {
        rc = spi_rec_fail(doc, profiles, "%zu profile values for %u periods", nprof,
                          (unsigned)nperiods);
        goto done;
    }
    if ((rc = spi_shared_h_new(ctx, h, &sh)) != SP_OK)
        goto done;
    h = NULL;
    if ((rc = spi_set_alloc(ctx, sh, nperiods, nprof / nperiods, &s)) != SP_OK)
        goto done;
    const size_t n = s->n;
    if ((tmp = spi_malloc_array(ctx, 2 * n + 1, sizeof *tmp)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    if ((rc = read_ints(doc, root, "annual", n, -INT64_MAX, INT64_MAX, s->annual, NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "flags", n, 0, 255, tmp, NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "profile_of", n, 0, UINT32_MAX, tmp + n, NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "growth", n, -INT64_MAX, INT64_MAX, s->growth, NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "common_growth", n, -INT64_MAX, INT64_MAX, s->common_growth,
                        NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "periods", n * nperiods, -INT64_MAX, INT64_MAX, s->periods,
                        NULL)) != SP_OK ||
        (rc = read_ints(doc, root, "profiles", nprof, 0, INT64_MAX, s->profiles, NULL)) != SP_OK)
        goto done;
    for (size_t i = 0; i < n; i++) {
        s->flags[i] = (uint32_t)tmp[i];
        s->profile_of[i] = (uint32_t)tmp[n + i];
    }
    for (size_t i = 0; i < nlocks && rc == SP_OK; i++) {
        const spi_rnode *e = spi_rnode_at(doc, locks, i);
        int64_t node;
        const char *reason;
        size_t rlen;
        if ((rc = spi_rec_int(doc, e, "node", 0, 0, (int64_t)n - 1, &node)) == SP_OK &&
            (rc = spi_rec_string(doc, e, "reason", SPI_REC_NO_NUL, &reason, &rlen)) == SP_OK)
            rc = spi_set_reason(s, (uint32_t)node, reason, rlen);
    }
    if (rc != SP_OK)
        goto done;
    s->plan_id = plan_id;
    plan_id = NULL;
    s->plan_revision = rev;
    s->measure = measure;
    if (currency != NULL)
        memcpy(s->currency, currency, strlen(currency) + 1);
    s->exponent = (int32_t)exponent;
    s->fiscal_year = (int32_t)fy;
    s->grain = grain;
    s->total = total;
    s->based_on = based_on;
    s->closed = closed;
    s->weighting = weighting;
    s->scenario = scenario;
    scenario = NULL;
    s->note = note;
    note = NULL;
    s->set_version = version;
    s->saved_day = (int32_t)day;
    rc = check_set(doc, s);
done:
    if (rc != SP_OK) {
        sp_target_set_free(s);
        s = NULL;
    }
    spi_free(ctx, tmp);
    spi_shared_h_unref(ctx, sh);
    sp_hierarchy_free(h);
    spi_free(ctx, plan_id);
    spi_free(ctx, scenario);
    spi_free(ctx, note);
    spi_free(ctx, currency);
    spi_rdoc_free(doc);
    if (rc == SP_OK)
        *out = s;
    return rc;
}
