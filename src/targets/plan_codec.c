/*
 * The records of plans and target sets: the schema of two stored objects of the record
 * layer (src/record/stored.h), which does the storing. docs/record-format.md lists the
 * members in the order written here. Each object is a head record ("target.plan",
 * "target.set") and chunk records ("target.plan.chunk", "target.set.chunk") holding
 * consecutive node ranges of the per-node arrays (plan.h), written and read with the
 * record layer's typed columns. Decoding is strict: records that do not hold together
 * (lengths, chunks, parents, sums) are SP_ECORRUPT, never a crash and never a half-made
 * object.
 */
#include <string.h>

#include "../money/numeric.h"
#include "plan.h"

#define PLAN_V 1u
#define SET_V 1u
#define CHUNK_V 1u
#define NUM_BYTES SPI_STORED_NUM_BYTES
#define STR_BYTES(len) SPI_STORED_STR_BYTES(len)

/* Enumerations as records write them: the lowercase names of the public values. */
static const char *const measure_names[] = { "money", "quantity" };
/* sp_grain: the calendar's names (spi_grain_names). The calendar's options (calendar.h):
 * sp_calendar_kind, sp_fiscal_label, sp_year_end_rule. */
static const char *const kind_names[] = { "months", "retail_445", "retail_454",
                                          "retail_544" };
/* sp_fiscal_label and sp_year_end_rule start at 1; 0, "none", is a calendar that has no
 * use for the field (a months calendar from January; any months calendar). */
static const char *const label_names[] = { "none", "end", "start" };
static const char *const year_end_names[] = { "none", "last", "nearest" };
/* Bit sets stay integers (docs/decisions.md): every sp_decomp_flag bit, every weekday. */
#define DECOMP_FLAGS ((uint32_t)SP_DECOMP_F_COMMON_GROWTH * 2u - 1u)
#define WEEKDAYS ((uint32_t)SP_SUNDAY * 2u - 1u)

static size_t max_id_len(const sp_hierarchy *h)
{
    size_t most = 0;
    for (uint32_t i = 0; i < h->tree.n; i++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(h->ids, i, &id, &len);
        most = len > most ? len : most;
    }
    return most;
}

/* ---- writing ---- */

static void write_levels(spi_writer *w, const sp_hierarchy *h)
{
    spi_col_write_str(w, "levels", (const char *const *)h->levels, h->nlevels);
}

/* Ids and parents (index, null for the root) of nodes [first, first + count). */
static void write_nodes(spi_writer *w, const sp_hierarchy *h, uint32_t first, uint32_t count)
{
    spi_writer_key(w, "ids");
    spi_writer_begin_array(w);
    for (uint32_t i = first; i < first + count; i++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(h->ids, i, &id, &len);
        spi_writer_string(w, id, len);
    }
    spi_writer_end_array(w);
    spi_col_write_index(w, "parents", h->parent + first, count);
}

static void write_calendar(spi_writer *w, const sp_calendar_options *c)
{
    spi_writer_key(w, "calendar");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "kind", kind_names, SPI_ARRAY_LEN(kind_names), c->kind);
    spi_writer_member_int(w, "start_month", c->start_month);
    spi_writer_member_enum(w, "label", label_names, SPI_ARRAY_LEN(label_names), c->label);
    spi_writer_member_int(w, "year_end_weekday", c->year_end_weekday);
    spi_writer_member_enum(w, "year_end_rule", year_end_names, SPI_ARRAY_LEN(year_end_names),
                           c->year_end_rule);
    spi_writer_member_int(w, "week53_month", c->week53_month);
    spi_writer_member_int(w, "weekend", c->weekend);
    /* (first_day, last_day) pairs, flattened, in the order given. */
    spi_col_write_i32(w, "holiday_ranges", c->holiday_ranges, 2 * c->nholiday_ranges);
    spi_col_write_i32(w, "workday_ranges", c->workday_ranges, 2 * c->nworkday_ranges);
    spi_writer_end_object(w);
}

int spi_plan_out_init(spi_plan_out *o, const sp_target_plan *plan)
{
    memset(o, 0, sizeof *o);
    const uint32_t n = plan->n;
    const spi_history *hs = &plan->history;
    if ((o->has_row = spi_calloc(plan->ctx, n, 1)) == NULL)
        return SP_ENOMEM;
    /* The rows of the nodes whose profiles the settings take from history. */
    const spi_settings *s = &plan->settings;
    for (size_t i = 0; i < s->nprofiles; i++) {
        uint32_t v = s->profiles[i].node;
        if (s->profiles[i].method >= SPI_SEASON_AVERAGE_SHARE && !o->has_row[v] &&
            spi_history_row(hs, v) != NULL) {
            o->has_row[v] = 1;
            o->nrows++;
        }
    }
    const uint64_t width = (uint64_t)hs->years * hs->nperiods;
    uint64_t values = 2 + plan->ndrivers, bytes = STR_BYTES(max_id_len(plan->sh->h)) +
                                                  NUM_BYTES * (1 + plan->ndrivers);
    if (o->nrows > 0) {
        values += 3 + width;
        bytes += 4 * NUM_BYTES + NUM_BYTES * width;
    }
    o->plan = plan;
    o->chunks = spi_chunking_make(plan->chunk_nodes, values, bytes, n);
    return SP_OK;
}

void spi_plan_out_free(spi_plan_out *o)
{
    if (o->plan != NULL)
        spi_free(o->plan->ctx, o->has_row);
    memset(o, 0, sizeof *o);
}

static void plan_encode_head(const void *arg, uint32_t revision, spi_writer *w)
{
    const spi_plan_out *o = arg;
    const sp_target_plan *plan = o->plan;
    spi_writer_member_string(w, "id", plan->id, strlen(plan->id));
    spi_writer_member_int(w, "revision", revision);
    spi_writer_member_cstr_or_null(w, "name", plan->name);
    spi_writer_member_enum(w, "measure", measure_names, SPI_ARRAY_LEN(measure_names),
                           plan->measure);
    spi_writer_member_cstr_or_null(w, "currency",
                                   plan->currency[0] != '\0' ? plan->currency : NULL);
    spi_writer_member_int(w, "exponent", plan->exponent);
    spi_writer_member_int(w, "fiscal_year", plan->fiscal_year);
    spi_writer_member_enum(w, "grain", spi_grain_names, SPI_ARRAY_LEN(spi_grain_names),
                           plan->grain);
    write_calendar(w, &plan->cal_opts);
    write_levels(w, plan->sh->h);
    spi_writer_key(w, "drivers");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < plan->ndrivers; i++)
        spi_writer_cstr(w, plan->drivers[i].name);
    spi_writer_end_array(w);
    spi_writer_key(w, "settings");
    spi_settings_write(plan, &plan->settings, w);
    const spi_history *hs = &plan->history;
    spi_writer_key(w, "history");
    if (hs->years == 0) {
        spi_writer_null(w);
    } else {
        spi_writer_begin_object(w);
        spi_writer_member_int(w, "first_year", hs->first_year);
        spi_writer_member_int(w, "years", hs->years);
        spi_writer_member_int(w, "periods", hs->nperiods);
        spi_writer_member_int(w, "rows", o->nrows);
        spi_writer_end_object(w);
    }
    spi_stored_write_chunking(w, plan->n, &o->chunks);
}

static void plan_encode_chunk(const void *arg, uint32_t revision, uint32_t k, spi_writer *w)
{
    const spi_plan_out *o = arg;
    const sp_target_plan *plan = o->plan;
    const uint32_t first = k * o->chunks.nodes,
                   count = spi_chunking_items(&o->chunks, k, plan->n);
    spi_writer_member_string(w, "plan_id", plan->id, strlen(plan->id));
    spi_writer_member_int(w, "revision", revision);
    spi_stored_write_chunk_at(w, &o->chunks, k);
    write_nodes(w, plan->sh->h, first, count);
    spi_writer_key(w, "drivers");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < plan->ndrivers; i++) {
        const spi_pdriver *d = &plan->drivers[i];
        spi_col_write_i64(w, NULL, d->values + first, d->valid != NULL ? d->valid + first : NULL,
                          count);
    }
    spi_writer_end_array(w);
    const spi_history *hs = &plan->history;
    spi_writer_key(w, "history");
    spi_writer_begin_array(w);
    for (uint32_t v = first; v < first + count; v++) {
        if (!o->has_row[v])
            continue;
        spi_writer_begin_object(w);
        spi_writer_member_int(w, SPI_COL_ROW, v);
        spi_col_write_i64(w, "values", spi_history_row(hs, v), NULL,
                          (size_t)hs->years * hs->nperiods);
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
}

void spi_set_out_init(spi_set_out *o, const sp_target_set *set, const char *scenario,
                      const char *note, int32_t day)
{
    const uint64_t P = set->nperiods;
    size_t reason = 0;
    for (uint32_t v = 0; set->reasons != NULL && v < set->n; v++) {
        size_t len = set->reasons[v] != NULL ? strlen(set->reasons[v]) : 0;
        reason = len > reason ? len : reason;
    }
    /* Per node index: id, parent, five numbers, periods, a profile, a lock. */
    uint64_t values = 10 + 2 * P;
    uint64_t bytes = STR_BYTES(max_id_len(set->sh->h)) + NUM_BYTES * (8 + 2 * P) +
                     (set->reasons != NULL ? 32 + STR_BYTES(reason) : 0);
    o->set = set;
    o->scenario = scenario;
    o->note = note;
    o->day = day;
    o->chunks = spi_chunking_make(set->chunk_nodes, values, bytes,
                                  set->n > set->nprofiles ? set->n : set->nprofiles);
}

static void set_encode_head(const void *arg, uint32_t version, spi_writer *w)
{
    const spi_set_out *o = arg;
    const sp_target_set *set = o->set;
    spi_writer_member_string(w, "plan_id", set->plan_id, strlen(set->plan_id));
    spi_writer_member_int(w, "plan_revision", set->plan_revision);
    spi_writer_member_string(w, "scenario", o->scenario, strlen(o->scenario));
    spi_writer_member_int(w, "version", version);
    spi_writer_member_string(w, "note", o->note, strlen(o->note));
    spi_writer_member_int(w, "saved_day", o->day);
    spi_writer_member_enum(w, "measure", measure_names, SPI_ARRAY_LEN(measure_names),
                           set->measure);
    spi_writer_member_cstr_or_null(w, "currency",
                                   set->currency[0] != '\0' ? set->currency : NULL);
    spi_writer_member_int(w, "exponent", set->exponent);
    spi_writer_member_int(w, "fiscal_year", set->fiscal_year);
    spi_writer_member_enum(w, "grain", spi_grain_names, SPI_ARRAY_LEN(spi_grain_names),
                           set->grain);
    spi_writer_member_int(w, "nperiods", set->nperiods);
    spi_writer_member_int(w, "total", set->total);
    spi_writer_member_int(w, "based_on", set->based_on);
    spi_writer_member_int(w, "closed", set->closed);
    spi_writer_member_enum(w, "weighting", spi_weighting_names,
                           SPI_ARRAY_LEN(spi_weighting_names), set->weighting);
    write_levels(w, set->sh->h);
    spi_writer_member_int(w, "nprofiles", (int64_t)set->nprofiles);
    spi_stored_write_chunking(w, set->n, &o->chunks);
}

static void set_encode_chunk(const void *arg, uint32_t version, uint32_t k, spi_writer *w)
{
    const spi_set_out *o = arg;
    const sp_target_set *set = o->set;
    const size_t P = set->nperiods;
    const uint32_t first = k * o->chunks.nodes,
                   count = spi_chunking_items(&o->chunks, k, set->n),
                   nprof = spi_chunking_items(&o->chunks, k, set->nprofiles);
    spi_writer_member_string(w, "plan_id", set->plan_id, strlen(set->plan_id));
    spi_writer_member_string(w, "scenario", o->scenario, strlen(o->scenario));
    spi_writer_member_int(w, "version", version);
    spi_stored_write_chunk_at(w, &o->chunks, k);
    write_nodes(w, set->sh->h, first, count);
    spi_col_write_i64(w, "annual", set->annual + first, NULL, count);
    spi_col_write_flags(w, "flags", set->flags + first, count);
    spi_col_write_dec(w, "growth", set->growth + first, count);
    spi_col_write_dec(w, "common_growth", set->common_growth + first, count);
    spi_col_write_i64(w, "periods", set->periods + first * P, NULL, count * P);
    spi_col_write_u32(w, "profile_of", set->profile_of + first, count);
    spi_col_write_dec(w, "profiles", set->profiles + first * P, nprof * P);
    spi_writer_key(w, "locks");
    spi_writer_begin_array(w);
    for (uint32_t v = first; set->reasons != NULL && v < first + count; v++) {
        if (set->reasons[v] == NULL)
            continue;
        spi_writer_begin_object(w);
        spi_writer_member_int(w, SPI_COL_ROW, v);
        spi_writer_member_string(w, "reason", set->reasons[v], strlen(set->reasons[v]));
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
}

/* ---- reading ---- */

/* The hierarchy of a plan or set as it is read: level names from the head, ids and
 * parents from the chunks. */
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
    memset(r, 0, sizeof *r);
}

/* Level names and room for n nodes. */
static int read_levels(sp_ctx *ctx, const spi_rdoc *doc, const spi_rnode *root, uint32_t n,
                       read_h *r)
{
    const spi_rnode *levels;
    size_t nlevels;
    int rc = spi_rec_array(doc, root, "levels", 0, &levels, &nlevels);
    if (rc != SP_OK)
        return rc;
    if ((r->levels = spi_calloc(ctx, nlevels + 1, sizeof *r->levels)) == NULL ||
        (r->ids = spi_calloc(ctx, n, sizeof *r->ids)) == NULL ||
        (r->parents = spi_malloc_array(ctx, n, sizeof *r->parents)) == NULL)
        return SP_ENOMEM;
    r->nlevels = nlevels;
    r->n = n;
    return spi_col_read_str(doc, levels, NULL, nlevels, 0, r->levels);
}

/* Ids and parents of a chunk's nodes [first, first + count). */
static int read_nodes(const spi_rdoc *doc, const spi_rnode *root, uint32_t first,
                      uint32_t count, read_h *r)
{
    int rc = spi_col_read_str(doc, root, "ids", count, 0, r->ids + first);
    return rc == SP_OK ? spi_col_read_index(doc, root, "parents", count, (uint32_t)r->n - 1,
                                            r->parents + first)
                       : rc;
}

/* Re-code a hierarchy's or a plan's complaint about stored content as corruption. */
static int corrupt(sp_ctx *ctx, const char *type, int rc)
{
    if (rc == SP_ENOMEM || rc == SP_ECORRUPT)
        return rc;
    return spi_fail_prefix(ctx, SP_ECORRUPT, NULL, "record %s", type);
}

/* The hierarchy of ids, parents and level names read, shared. */
static int build_hierarchy(sp_ctx *ctx, const char *type, const read_h *r, spi_shared_h **out)
{
    sp_hierarchy *h = NULL;
    int rc = spi_hierarchy_from_parents(ctx, type, r->ids, r->parents, (uint32_t)r->n, r->levels,
                                        r->nlevels, &h);
    if (rc != SP_OK)
        return corrupt(ctx, type, rc);
    if ((rc = spi_shared_h_new(ctx, h, out)) != SP_OK)
        sp_hierarchy_free(h);
    return rc;
}

/* ---- plans ---- */

typedef struct plan_in {
    sp_ctx *ctx;
    spi_rdoc *doc;    /* the head, kept for the settings, read once the hierarchy is built */
    char *id;
    uint32_t revision, n;
    spi_chunking chunks;
    read_h h;
    spi_pdriver *drivers; /* in the head's (name) order, each with a valid mask for now */
    size_t ndrivers;
    spi_history hs;
    uint32_t nrows;       /* the head's row count; hs.nrows counts those read */
} plan_in;

static void plan_in_free(void *arg)
{
    plan_in *in = arg;
    if (in == NULL)
        return;
    sp_ctx *ctx = in->ctx;
    for (size_t i = 0; in->drivers != NULL && i < in->ndrivers; i++) {
        spi_free(ctx, in->drivers[i].name);
        spi_free(ctx, in->drivers[i].values);
        spi_free(ctx, in->drivers[i].valid);
    }
    spi_free(ctx, in->drivers);
    spi_history_free(ctx, &in->hs);
    free_read_h(ctx, &in->h);
    spi_free(ctx, in->id);
    spi_rdoc_free(in->doc);
    spi_free(ctx, in);
}

/* Driver names in ascending order, and room for their values. */
static int read_driver_names(plan_in *in, const spi_rnode *root)
{
    const spi_rdoc *doc = in->doc;
    const spi_rnode *arr;
    size_t nd;
    int rc = spi_rec_array(doc, root, "drivers", 0, &arr, &nd);
    if (rc != SP_OK)
        return rc;
    if ((in->drivers = spi_calloc(in->ctx, nd + 1, sizeof *in->drivers)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < nd; i++) {
        spi_pdriver *d = &in->drivers[i];
        const spi_rnode *e = spi_rnode_at(doc, arr, i);
        if ((rc = spi_rec_strdup(doc, e, NULL, 0, &d->name)) != SP_OK)
            return rc;
        in->ndrivers++;
        int order = i > 0 ? strcmp(in->drivers[i - 1].name, d->name) : -1;
        if (order >= 0)
            return spi_rec_fail(doc, e, "driver '%s' %s", d->name,
                                order == 0 ? "appears twice" : "is out of name order");
        if ((d->values = spi_malloc_array(in->ctx, in->n, sizeof *d->values)) == NULL ||
            (d->valid = spi_malloc_array(in->ctx, in->n, 1)) == NULL)
            return SP_ENOMEM;
    }
    return SP_OK;
}

static int read_history_shape(plan_in *in, const spi_rnode *root)
{
    const spi_rdoc *doc = in->doc;
    const spi_rnode *h = spi_rnode_member(doc, root, "history");
    if (h != NULL && spi_rnode_type(h) == SPI_RNULL)
        return SP_OK;
    int64_t first, years;
    uint32_t periods;
    int rc = spi_rec_object(doc, root, "history", 0, &h);
    if (rc != SP_OK || (rc = spi_rec_int(doc, h, "first_year", 0, 1, 9999, &first)) != SP_OK ||
        (rc = spi_rec_int(doc, h, "years", 0, 1, SPI_HISTORY_YEARS_MAX, &years)) != SP_OK ||
        (rc = spi_rec_u32(doc, h, "periods", 0, 1, SP_CALENDAR_MAX_PERIODS, &periods)) !=
            SP_OK ||
        (rc = spi_rec_u32(doc, h, "rows", 0, 0, in->n, &in->nrows)) != SP_OK)
        return rc;
    spi_history *hs = &in->hs;
    hs->years = (uint32_t)years;
    hs->first_year = (int32_t)first;
    hs->nperiods = periods;
    if ((hs->row_of = spi_malloc_array(in->ctx, in->n, sizeof *hs->row_of)) == NULL ||
        (hs->rows = spi_malloc_array(in->ctx, (size_t)in->nrows * hs->years * periods + 1,
                                     sizeof *hs->rows)) == NULL)
        return SP_ENOMEM;
    for (uint32_t v = 0; v < in->n; v++)
        hs->row_of[v] = SPI_TREE_NONE;
    return SP_OK;
}

static int plan_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                       uint32_t present, uint32_t *chunks)
{
    plan_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    int rc = spi_stored_open_head(&in->doc, ctx, &spi_plan_stored, head, len);
    const spi_rnode *root = rc == SP_OK ? spi_rdoc_root(in->doc) : NULL;
    if (rc != SP_OK || (rc = spi_rec_strdup(in->doc, root, "id", 0, &in->id)) != SP_OK ||
        (rc = spi_rec_u32(in->doc, root, "revision", 0, 0, UINT32_MAX, &in->revision)) !=
            SP_OK ||
        (rc = spi_stored_read_chunking(in->doc, root, 0, present, &in->n, &in->chunks)) !=
            SP_OK ||
        (rc = read_levels(ctx, in->doc, root, in->n, &in->h)) != SP_OK ||
        (rc = read_driver_names(in, root)) != SP_OK ||
        (rc = read_history_shape(in, root)) != SP_OK) {
        plan_in_free(in);
        return rc;
    }
    *chunks = in->chunks.count;
    *out = in;
    return SP_OK;
}

/* A chunk's history rows: nodes of the chunk, ascending, no more than the head lists. */
static int read_rows(plan_in *in, const spi_rdoc *doc, const spi_rnode *root, uint32_t first,
                     uint32_t count)
{
    spi_history *hs = &in->hs;
    const size_t width = (size_t)hs->years * hs->nperiods;
    spi_col_sparse sp;
    const spi_rnode *e;
    uint32_t node;
    int rc = spi_col_sparse_open(&sp, doc, root, "history", first, first + count);
    while (rc == SP_OK && spi_col_sparse_next(&sp, &rc, &e, &node)) {
        if (hs->nrows == in->nrows)
            return spi_rec_fail(doc, e, "more history rows than the %u of the head",
                                (unsigned)in->nrows);
        if ((rc = spi_col_read_i64(doc, e, "values", width, -INT64_MAX, INT64_MAX,
                                   hs->rows + hs->nrows * width, NULL)) != SP_OK)
            return rc;
        hs->row_of[node] = hs->nrows++;
    }
    return rc;
}

static int plan_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    plan_in *in = arg;
    const uint32_t first = k * in->chunks.nodes,
                   count = spi_chunking_items(&in->chunks, k, in->n);
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, &spi_plan_stored, &in->chunks, k, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc), *drivers;
    size_t nd;
    if ((rc = spi_stored_check_owner_str(doc, "plan_id", "plan", in->id)) == SP_OK &&
        (rc = spi_stored_check_owner_u32(doc, "revision", in->revision)) == SP_OK &&
        (rc = read_nodes(doc, root, first, count, &in->h)) == SP_OK &&
        (rc = spi_rec_array(doc, root, "drivers", 0, &drivers, &nd)) == SP_OK) {
        if (nd != in->ndrivers)
            rc = spi_rec_fail(doc, drivers, "%zu drivers where the head lists %zu", nd,
                              in->ndrivers);
        for (size_t i = 0; rc == SP_OK && i < nd; i++)
            rc = spi_col_read_i64(doc, spi_rnode_at(doc, drivers, i), NULL, count, -INT64_MAX,
                                  INT64_MAX, in->drivers[i].values + first,
                                  in->drivers[i].valid + first);
        if (rc == SP_OK)
            rc = read_rows(in, doc, root, first, count);
    }
    spi_rdoc_free(doc);
    return rc;
}

/* The calendar options of a plan head; the day lists into *days (one block). */
static int read_calendar(sp_ctx *ctx, const spi_rdoc *doc, const spi_rnode *root,
                         sp_calendar_options *cal, int32_t **days)
{
    const spi_rnode *c, *hol, *wk;
    size_t nh, nw;
    int rc;
    if ((rc = spi_rec_object(doc, root, "calendar", 0, &c)) != SP_OK ||
        (rc = spi_rec_enum(doc, c, "kind", 0, kind_names, SPI_ARRAY_LEN(kind_names),
                           &cal->kind)) != SP_OK ||
        (rc = spi_rec_u32(doc, c, "start_month", 0, 0, 12, &cal->start_month)) != SP_OK ||
        (rc = spi_rec_enum(doc, c, "label", 0, label_names, SPI_ARRAY_LEN(label_names),
                           &cal->label)) != SP_OK ||
        (rc = spi_rec_u32(doc, c, "year_end_weekday", 0, 0, 7, &cal->year_end_weekday)) !=
            SP_OK ||
        (rc = spi_rec_enum(doc, c, "year_end_rule", 0, year_end_names,
                           SPI_ARRAY_LEN(year_end_names), &cal->year_end_rule)) != SP_OK ||
        (rc = spi_rec_u32(doc, c, "week53_month", 0, 0, 12, &cal->week53_month)) != SP_OK ||
        (rc = spi_rec_u32(doc, c, "weekend", 0, 0, WEEKDAYS, &cal->weekend)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "holiday_ranges", 0, &hol, &nh)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "workday_ranges", 0, &wk, &nw)) != SP_OK)
        return rc;
    if (nh % 2 != 0 || nw % 2 != 0) /* ranges are (first_day, last_day) pairs */
        return spi_rec_fail(doc, nh % 2 != 0 ? hol : wk, "%zu day numbers, not pairs",
                            nh % 2 != 0 ? nh : nw);
    if ((*days = spi_malloc_array(ctx, nh + nw + 1, sizeof **days)) == NULL)
        return SP_ENOMEM;
    if ((rc = spi_col_read_i32(doc, hol, NULL, nh, INT32_MIN, INT32_MAX, *days)) != SP_OK ||
        (rc = spi_col_read_i32(doc, wk, NULL, nw, INT32_MIN, INT32_MAX, *days + nh)) != SP_OK)
        return rc;
    cal->holiday_ranges = nh > 0 ? *days : NULL;
    cal->nholiday_ranges = nh / 2;
    cal->workday_ranges = nw > 0 ? *days + nh : NULL;
    cal->nworkday_ranges = nw / 2;
    return SP_OK;
}

/* The head's members beyond the chunking, read into a plan over `sh`. */
static int make_plan(plan_in *in, spi_shared_h *sh, sp_target_plan **out)
{
    const spi_rdoc *doc = in->doc;
    const spi_rnode *root = spi_rdoc_root(doc);
    sp_ctx *ctx = in->ctx;
    char *name = NULL, *currency = NULL;
    int32_t *days = NULL;
    uint32_t measure = 0, grain = 0;
    int64_t exponent = 0, fy = 0;
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    int rc;
    if ((rc = spi_rec_strdup(doc, root, "name", SPI_REC_NULL, &name)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, SPI_ARRAY_LEN(measure_names),
                           &measure)) != SP_OK ||
        (rc = spi_rec_strdup(doc, root, "currency", SPI_REC_NULL, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "grain", 0, spi_grain_names,
                           SPI_ARRAY_LEN(spi_grain_names), &grain)) != SP_OK ||
        (rc = read_calendar(ctx, doc, root, &cal, &days)) != SP_OK)
        goto done;
    spi_plan_spec spec = { in->id, name, measure, currency, (int32_t)exponent, &cal,
                           (int32_t)fy, grain };
    if ((rc = spi_plan_make(ctx, &spec, sh, out)) != SP_OK)
        rc = corrupt(ctx, SPI_PLAN_TYPE, rc);
done:
    spi_free(ctx, name);
    spi_free(ctx, currency);
    spi_free(ctx, days);
    return rc;
}

static int plan_in_finish(void *arg, void **out)
{
    plan_in *in = arg;
    sp_ctx *ctx = in->ctx;
    const spi_rdoc *doc = in->doc;
    const spi_rnode *root = spi_rdoc_root(doc), *settings;
    if (in->hs.nrows != in->nrows)
        return spi_fail(ctx, SP_ECORRUPT, "record %s: history: %u rows where the head lists %u",
                        SPI_PLAN_TYPE, (unsigned)in->hs.nrows, (unsigned)in->nrows);
    spi_shared_h *sh = NULL;
    sp_target_plan *p = NULL;
    int rc = build_hierarchy(ctx, SPI_PLAN_TYPE, &in->h, &sh);
    if (rc == SP_OK)
        rc = make_plan(in, sh, &p);
    spi_shared_h_unref(ctx, sh);
    if (rc != SP_OK)
        return rc;
    p->revision = in->revision;
    if (in->hs.years > 0 && in->hs.nperiods != p->nperiods) {
        const spi_rnode *h = spi_rnode_member(doc, root, "history");
        rc = spi_rec_fail(doc, spi_rnode_member(doc, h, "periods"),
                          "%u periods a year where the plan's calendar has %u",
                          (unsigned)in->hs.nperiods, (unsigned)p->nperiods);
    }
    if (rc == SP_OK) {
        /* Hand the drivers and the history over; a mask without a null is dropped. */
        for (size_t i = 0; i < in->ndrivers; i++) {
            spi_pdriver *d = &in->drivers[i];
            uint32_t v = 0;
            while (v < in->n && d->valid[v])
                v++;
            if (v == in->n) {
                spi_free(ctx, d->valid);
                d->valid = NULL;
            }
        }
        p->drivers = in->drivers;
        p->ndrivers = in->ndrivers;
        in->drivers = NULL;
        p->history = in->hs;
        memset(&in->hs, 0, sizeof in->hs);
        spi_settings s;
        if ((rc = spi_rec_object(doc, root, "settings", 0, &settings)) == SP_OK &&
            (rc = spi_settings_read(p, doc, settings, &s)) == SP_OK &&
            (rc = spi_plan_take_settings(p, &s)) != SP_OK)
            spi_settings_free(ctx, &s);
    }
    if (rc != SP_OK) {
        sp_target_plan_free(p);
        return rc;
    }
    *out = p;
    return SP_OK;
}

/* ---- sets ---- */

typedef struct set_in {
    sp_ctx *ctx;
    spi_chunking chunks;
    sp_target_set *set; /* arrays filled by the chunks; no hierarchy until finished */
    read_h h;
} set_in;

static void set_in_free(void *arg)
{
    set_in *in = arg;
    if (in == NULL)
        return;
    sp_target_set_free(in->set);
    free_read_h(in->ctx, &in->h);
    spi_free(in->ctx, in);
}

/* The head's members into a set with its arrays allocated. */
static int read_set_head(sp_ctx *ctx, const spi_rdoc *doc, uint32_t present, set_in *in)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    char *plan_id = NULL, *scenario = NULL, *note = NULL, *currency = NULL;
    uint32_t rev, version, measure, grain, nperiods, based_on, closed, weighting, n, nprof;
    int64_t day, exponent, fy, total;
    sp_target_set *s = NULL;
    int rc;
    if ((rc = spi_rec_strdup(doc, root, "plan_id", 0, &plan_id)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "plan_revision", 0, 0, UINT32_MAX, &rev)) != SP_OK ||
        (rc = spi_rec_strdup(doc, root, "scenario", 0, &scenario)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "version", 0, 0, UINT32_MAX, &version)) != SP_OK ||
        (rc = spi_rec_strdup(doc, root, "note", 0, &note)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "saved_day", 0, SPI_DAY_MIN, SPI_DAY_MAX, &day)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, SPI_ARRAY_LEN(measure_names),
                           &measure)) != SP_OK ||
        (rc = spi_rec_strdup(doc, root, "currency", SPI_REC_NULL, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "grain", 0, spi_grain_names,
                           SPI_ARRAY_LEN(spi_grain_names), &grain)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "nperiods", 0, 1, SP_CALENDAR_MAX_PERIODS, &nperiods)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "total", 0, 0, INT64_MAX, &total)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "based_on", 0, 0, UINT32_MAX, &based_on)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "closed", 0, 0, nperiods, &closed)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "weighting", 0, spi_weighting_names,
                           SPI_ARRAY_LEN(spi_weighting_names), &weighting)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "nprofiles", 0, 1, UINT32_MAX, &nprof)) != SP_OK ||
        (rc = spi_stored_read_chunking(doc, root, nprof, present, &n, &in->chunks)) != SP_OK)
        goto done;
    if (currency != NULL && strlen(currency) > 3) {
        rc = spi_rec_fail(doc, spi_rnode_member(doc, root, "currency"),
                          "a currency code has at most 3 bytes");
        goto done;
    }
    if ((rc = read_levels(ctx, doc, root, n, &in->h)) != SP_OK ||
        (rc = spi_set_alloc_n(ctx, n, nperiods, nprof, &s)) != SP_OK)
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
    in->set = s;
done:
    spi_free(ctx, plan_id);
    spi_free(ctx, scenario);
    spi_free(ctx, note);
    spi_free(ctx, currency);
    return rc;
}

static int set_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                      uint32_t present, uint32_t *chunks)
{
    set_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    spi_rdoc *doc = NULL;
    int rc = spi_stored_open_head(&doc, ctx, &spi_set_stored, head, len);
    if (rc == SP_OK)
        rc = read_set_head(ctx, doc, present, in);
    spi_rdoc_free(doc);
    if (rc != SP_OK) {
        set_in_free(in);
        return rc;
    }
    *chunks = in->chunks.count;
    *out = in;
    return SP_OK;
}

/* Periods of the chunk's nodes sum to their annual targets. */
static int check_chunk_sums(const spi_rdoc *doc, const sp_target_set *s, uint32_t first,
                            uint32_t count)
{
    const size_t P = s->nperiods;
    for (uint32_t v = first; v < first + count; v++) {
        spi_i128 sum = 0;
        for (size_t p = 0; p < P; p++)
            sum += s->periods[v * P + p];
        if (sum != s->annual[v])
            return spi_rec_fail(doc, spi_rnode_member(doc, spi_rdoc_root(doc), "periods"),
                                "the periods of node %u do not sum to its annual target",
                                (unsigned)v);
    }
    return SP_OK;
}

static int read_locks(sp_target_set *s, const spi_rdoc *doc, uint32_t first, uint32_t count)
{
    spi_col_sparse sp;
    const spi_rnode *e;
    uint32_t node;
    int rc = spi_col_sparse_open(&sp, doc, spi_rdoc_root(doc), "locks", first, first + count);
    while (rc == SP_OK && spi_col_sparse_next(&sp, &rc, &e, &node)) {
        const char *reason;
        size_t rlen;
        if ((rc = spi_rec_string(doc, e, "reason", SPI_REC_NO_NUL, &reason, &rlen)) == SP_OK)
            rc = spi_set_reason(s, node, reason, rlen);
    }
    return rc;
}

static int set_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    set_in *in = arg;
    sp_target_set *s = in->set;
    const size_t P = s->nperiods;
    const uint32_t first = k * in->chunks.nodes,
                   count = spi_chunking_items(&in->chunks, k, s->n),
                   nprof = spi_chunking_items(&in->chunks, k, s->nprofiles);
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, &spi_set_stored, &in->chunks, k, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    const int64_t big = INT64_MAX;
    if ((rc = spi_stored_check_owner_str(doc, "plan_id", "plan", s->plan_id)) != SP_OK ||
        (rc = spi_stored_check_owner_str(doc, "scenario", "scenario", s->scenario)) != SP_OK ||
        (rc = spi_stored_check_owner_u32(doc, "version", s->set_version)) != SP_OK ||
        (rc = read_nodes(doc, root, first, count, &in->h)) != SP_OK ||
        (rc = spi_col_read_i64(doc, root, "annual", count, -big, big, s->annual + first,
                               NULL)) != SP_OK ||
        (rc = spi_col_read_flags(doc, root, "flags", count, DECOMP_FLAGS, s->flags + first)) !=
            SP_OK ||
        (rc = spi_col_read_dec(doc, root, "growth", count, -big, big, s->growth + first)) !=
            SP_OK ||
        (rc = spi_col_read_dec(doc, root, "common_growth", count, -big, big,
                               s->common_growth + first)) != SP_OK ||
        (rc = spi_col_read_i64(doc, root, "periods", count * P, -big, big,
                               s->periods + first * P, NULL)) != SP_OK ||
        (rc = spi_col_read_u32(doc, root, "profile_of", count, 0, (uint32_t)s->nprofiles - 1,
                               s->profile_of + first)) != SP_OK ||
        (rc = spi_col_read_dec(doc, root, "profiles", nprof * P, 0, big,
                               s->profiles + first * P)) != SP_OK ||
        (rc = read_locks(s, doc, first, count)) != SP_OK)
        goto done;
    rc = check_chunk_sums(doc, s, first, count);
done:
    spi_rdoc_free(doc);
    return rc;
}

/* Inner nodes are the sums of their children in every period; the total is the root's. */
static int check_set_tree(const set_in *in)
{
    const sp_target_set *s = in->set;
    const spi_tree *t = &s->sh->h->tree;
    const size_t P = s->nperiods;
    for (uint32_t v = 0; v < s->n; v++) {
        if (t->count[v] == 0)
            continue;
        const uint32_t *kids = spi_tree_children(t, v);
        for (size_t p = 0; p < P; p++) {
            spi_i128 c = 0;
            for (uint32_t j = 0; j < t->count[v]; j++)
                c += s->periods[(size_t)kids[j] * P + p];
            if (c != s->periods[v * P + p])
                return spi_fail(in->ctx, SP_ECORRUPT,
                                "record %s %u: periods: period %zu of node %u is not the sum of "
                                "its children's",
                                SPI_SET_CHUNK_TYPE, (unsigned)(v / in->chunks.nodes), p,
                                (unsigned)v);
        }
    }
    if (s->total != s->annual[t->root])
        return spi_fail(in->ctx, SP_ECORRUPT,
                        "record %s: total: %lld is not the root's annual target %lld",
                        SPI_SET_TYPE, (long long)s->total, (long long)s->annual[t->root]);
    return SP_OK;
}

static int set_in_finish(void *arg, void **out)
{
    set_in *in = arg;
    int rc = build_hierarchy(in->ctx, SPI_SET_TYPE, &in->h, &in->set->sh);
    if (rc == SP_OK)
        rc = check_set_tree(in);
    if (rc != SP_OK)
        return rc;
    *out = in->set;
    in->set = NULL;
    return SP_OK;
}

/* ---- the two stored object types ---- */

static const char *const set_labels[] = { "of plan", "scenario" };

const spi_stored_type spi_plan_stored = {
    "target plan", SPI_PLAN_TYPE, SPI_PLAN_CHUNK_TYPE, PLAN_V, CHUNK_V, SPI_STORED_REVISED,
    1, NULL, NULL, plan_encode_head, plan_encode_chunk, plan_in_new, plan_in_chunk,
    plan_in_finish, plan_in_free,
};

const spi_stored_type spi_set_stored = {
    "target set", SPI_SET_TYPE, SPI_SET_CHUNK_TYPE, SET_V, CHUNK_V, SPI_STORED_VERSIONED,
    2, set_labels, &spi_plan_stored, set_encode_head, set_encode_chunk, set_in_new,
    set_in_chunk, set_in_finish, set_in_free,
};
