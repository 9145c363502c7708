/*
 * The records of plans and target sets, in the record format (docs/record-format.md; its
 * table lists the members in the order written here). Each object is a head record
 * ("target.plan", "target.set") and chunk records ("target.plan.chunk",
 * "target.set.chunk") holding consecutive node ranges of the per-node arrays (plan.h).
 * Decoding is strict: records that do not hold together (lengths, chunks, parents, sums)
 * are SP_ECORRUPT, never a crash and never a half-made object.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "plan.h"

#define PLAN_V 1u
#define SET_V 1u
#define CHUNK_V 1u

/* A chunk's node range may take half the record limits; its other members need far less. */
#define CHUNK_VALUES ((uint64_t)SPI_REC_MAX_NODES / 2)
#define CHUNK_BYTES ((uint64_t)SPI_REC_MAX_BYTES / 2)
/* Upper bounds of encoded sizes: a number with its comma, a string escaped (\u00xx). */
#define NUM_BYTES 22u
#define STR_BYTES(len) (6u * (uint64_t)(len) + 3u)

static const char *const measure_names[] = { "money", "quantity" };

/* ---- chunking ---- */

/* `items` (nodes, or profiles when more) cut into chunks of the object's `want` nodes
 * (0: SPI_CHUNK_NODES), fewer when `values` and `bytes` per node index would take a chunk
 * beyond CHUNK_VALUES or CHUNK_BYTES. */
static spi_chunking chunking(uint32_t want, uint64_t values, uint64_t bytes, uint64_t items)
{
    uint64_t c = want != 0 ? want : SPI_CHUNK_NODES;
    if (c * values > CHUNK_VALUES)
        c = CHUNK_VALUES / values;
    if (c * bytes > CHUNK_BYTES)
        c = CHUNK_BYTES / bytes;
    if (c == 0)
        c = 1;
    spi_chunking k = { (uint32_t)c, (uint32_t)((items + c - 1) / c) };
    return k;
}

/* How many of `items` chunk k holds. */
static uint32_t chunk_items(const spi_chunking *c, uint32_t k, uint64_t items)
{
    uint64_t first = (uint64_t)k * c->nodes;
    if (first >= items)
        return 0;
    return (uint32_t)(items - first < c->nodes ? items - first : c->nodes);
}

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

/* Element types of the arrays written and read. */
typedef enum col_kind { COL_I64, COL_DEC, COL_U32, COL_I32 } col_kind;

/* Member `key` (none when NULL): an array of v[0..n) of `kind`, null where valid[i] == 0
 * (valid may be NULL). */
static void write_col(spi_writer *w, const char *key, col_kind kind, const void *v, size_t n,
                      const uint8_t *valid)
{
    if (key != NULL)
        spi_writer_key(w, key);
    spi_writer_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        if (valid != NULL && !valid[i])
            spi_writer_null(w);
        else if (kind == COL_I64)
            spi_writer_int(w, ((const int64_t *)v)[i]);
        else if (kind == COL_DEC)
            spi_writer_dec(w, ((const sp_dec *)v)[i]);
        else if (kind == COL_U32)
            spi_writer_int(w, ((const uint32_t *)v)[i]);
        else
            spi_writer_int(w, ((const int32_t *)v)[i]);
    }
    spi_writer_end_array(w);
}

static void write_opt_string(spi_writer *w, const char *key, const char *s)
{
    spi_writer_key(w, key);
    if (s != NULL && s[0] != '\0')
        spi_writer_cstr(w, s);
    else
        spi_writer_null(w);
}

static void write_levels(spi_writer *w, const sp_hierarchy *h)
{
    spi_writer_key(w, "levels");
    spi_writer_begin_array(w);
    for (size_t l = 0; l < h->nlevels; l++)
        spi_writer_cstr(w, h->levels[l]);
    spi_writer_end_array(w);
}

/* The members every head ends with: the node count and the chunking. */
static void write_chunking(spi_writer *w, uint32_t n, const spi_chunking *c)
{
    spi_writer_member_int(w, "nnodes", n);
    spi_writer_member_int(w, "chunk_nodes", c->nodes);
    spi_writer_member_int(w, "chunks", c->count);
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
    spi_writer_key(w, "parents");
    spi_writer_begin_array(w);
    for (uint32_t i = first; i < first + count; i++) {
        if (h->parent[i] == SPI_TREE_NONE)
            spi_writer_null(w);
        else
            spi_writer_int(w, h->parent[i]);
    }
    spi_writer_end_array(w);
}

int spi_plan_out_init(spi_plan_out *o, const sp_target_plan *plan, uint32_t revision)
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
    o->revision = revision;
    o->chunks = chunking(plan->chunk_nodes, values, bytes, n);
    return SP_OK;
}

void spi_plan_out_free(spi_plan_out *o)
{
    if (o->plan != NULL)
        spi_free(o->plan->ctx, o->has_row);
    memset(o, 0, sizeof *o);
}

int spi_plan_encode_head(const spi_plan_out *o, uint8_t **out, size_t *len)
{
    const sp_target_plan *plan = o->plan;
    spi_writer w;
    spi_writer_init(&w, plan->ctx);
    spi_record_begin(&w, SPI_PLAN_TYPE, PLAN_V);
    spi_writer_member_string(&w, "id", plan->id, strlen(plan->id));
    spi_writer_member_int(&w, "revision", o->revision);
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
    write_col(&w, "holiday_ranges", COL_I32, c->holiday_ranges, 2 * c->nholiday_ranges, NULL);
    write_col(&w, "workday_ranges", COL_I32, c->workday_ranges, 2 * c->nworkday_ranges, NULL);
    spi_writer_end_object(&w);
    write_levels(&w, plan->sh->h);
    spi_writer_key(&w, "drivers");
    spi_writer_begin_array(&w);
    for (size_t i = 0; i < plan->ndrivers; i++)
        spi_writer_cstr(&w, plan->drivers[i].name);
    spi_writer_end_array(&w);
    spi_writer_key(&w, "settings");
    spi_settings_write(plan, &plan->settings, &w);
    const spi_history *hs = &plan->history;
    spi_writer_key(&w, "history");
    if (hs->years == 0) {
        spi_writer_null(&w);
    } else {
        spi_writer_begin_object(&w);
        spi_writer_member_int(&w, "first_year", hs->first_year);
        spi_writer_member_int(&w, "years", hs->years);
        spi_writer_member_int(&w, "periods", hs->nperiods);
        spi_writer_member_int(&w, "rows", o->nrows);
        spi_writer_end_object(&w);
    }
    write_chunking(&w, plan->n, &o->chunks);
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

int spi_plan_encode_chunk(const void *arg, uint32_t k, uint8_t **out, size_t *len)
{
    const spi_plan_out *o = arg;
    const sp_target_plan *plan = o->plan;
    const uint32_t first = k * o->chunks.nodes, count = chunk_items(&o->chunks, k, plan->n);
    spi_writer w;
    spi_writer_init(&w, plan->ctx);
    spi_record_begin(&w, SPI_PLAN_CHUNK_TYPE, CHUNK_V);
    spi_writer_member_string(&w, "plan_id", plan->id, strlen(plan->id));
    spi_writer_member_int(&w, "revision", o->revision);
    spi_writer_member_int(&w, "chunk", k);
    spi_writer_member_int(&w, "first", first);
    write_nodes(&w, plan->sh->h, first, count);
    spi_writer_key(&w, "drivers");
    spi_writer_begin_array(&w);
    for (size_t i = 0; i < plan->ndrivers; i++) {
        const spi_pdriver *d = &plan->drivers[i];
        write_col(&w, NULL, COL_I64, d->values + first, count,
                  d->valid != NULL ? d->valid + first : NULL);
    }
    spi_writer_end_array(&w);
    const spi_history *hs = &plan->history;
    spi_writer_key(&w, "history");
    spi_writer_begin_array(&w);
    for (uint32_t v = first; v < first + count; v++) {
        if (!o->has_row[v])
            continue;
        spi_writer_begin_object(&w);
        spi_writer_member_int(&w, "node", v);
        write_col(&w, "values", COL_I64, spi_history_row(hs, v),
                  (size_t)hs->years * hs->nperiods, NULL);
        spi_writer_end_object(&w);
    }
    spi_writer_end_array(&w);
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

void spi_set_out_init(spi_set_out *o, const sp_target_set *set, const char *scenario,
                      uint32_t version, const char *note, int32_t day)
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
    o->version = version;
    o->day = day;
    o->chunks = chunking(set->chunk_nodes, values, bytes,
                         set->n > set->nprofiles ? set->n : set->nprofiles);
}

int spi_set_encode_head(const spi_set_out *o, uint8_t **out, size_t *len)
{
    const sp_target_set *set = o->set;
    spi_writer w;
    spi_writer_init(&w, set->ctx);
    spi_record_begin(&w, SPI_SET_TYPE, SET_V);
    spi_writer_member_string(&w, "plan_id", set->plan_id, strlen(set->plan_id));
    spi_writer_member_int(&w, "plan_revision", set->plan_revision);
    spi_writer_member_string(&w, "scenario", o->scenario, strlen(o->scenario));
    spi_writer_member_int(&w, "version", o->version);
    spi_writer_member_string(&w, "note", o->note, strlen(o->note));
    spi_writer_member_int(&w, "saved_day", o->day);
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
    write_levels(&w, set->sh->h);
    spi_writer_member_int(&w, "nprofiles", (int64_t)set->nprofiles);
    write_chunking(&w, set->n, &o->chunks);
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

int spi_set_encode_chunk(const void *arg, uint32_t k, uint8_t **out, size_t *len)
{
    const spi_set_out *o = arg;
    const sp_target_set *set = o->set;
    const size_t P = set->nperiods;
    const uint32_t first = k * o->chunks.nodes, count = chunk_items(&o->chunks, k, set->n),
                   nprof = chunk_items(&o->chunks, k, set->nprofiles);
    spi_writer w;
    spi_writer_init(&w, set->ctx);
    spi_record_begin(&w, SPI_SET_CHUNK_TYPE, CHUNK_V);
    spi_writer_member_string(&w, "plan_id", set->plan_id, strlen(set->plan_id));
    spi_writer_member_string(&w, "scenario", o->scenario, strlen(o->scenario));
    spi_writer_member_int(&w, "version", o->version);
    spi_writer_member_int(&w, "chunk", k);
    spi_writer_member_int(&w, "first", first);
    write_nodes(&w, set->sh->h, first, count);
    write_col(&w, "annual", COL_I64, set->annual + first, count, NULL);
    write_col(&w, "flags", COL_U32, set->flags + first, count, NULL);
    write_col(&w, "growth", COL_DEC, set->growth + first, count, NULL);
    write_col(&w, "common_growth", COL_DEC, set->common_growth + first, count, NULL);
    write_col(&w, "periods", COL_I64, set->periods + first * P, count * P, NULL);
    write_col(&w, "profile_of", COL_U32, set->profile_of + first, count, NULL);
    write_col(&w, "profiles", COL_DEC, set->profiles + first * P, nprof * P, NULL);
    spi_writer_key(&w, "locks");
    spi_writer_begin_array(&w);
    for (uint32_t v = first; set->reasons != NULL && v < first + count; v++) {
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

/* A NUL-terminated copy of a string (which must hold no NUL): member `key` of obj, or obj
 * itself when key is NULL; NULL for an optional null. */
static int read_str(const spi_rdoc *doc, const spi_rnode *obj, const char *key, bool optional,
                    sp_ctx *ctx, char **out)
{
    const spi_rnode *v = key != NULL ? spi_rnode_member(doc, obj, key) : obj;
    *out = NULL;
    if (optional && v != NULL && spi_rnode_type(v) == SPI_RNULL)
        return SP_OK;
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, obj, key, SPI_REC_NO_NUL, &s, &len);
    return rc != SP_OK ? rc : spi_set_strdup(ctx, out, s, len);
}

/* Member `key` of obj (obj itself when key is NULL): an array of exactly n values of
 * `kind` in [min, max] into out[0..n); nulls allowed when valid != NULL (marked 0 there,
 * with 0 in out). */
static int read_col(const spi_rdoc *doc, const spi_rnode *obj, const char *key, col_kind kind,
                    size_t n, int64_t min, int64_t max, void *out, uint8_t *valid)
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
        int64_t x = 0;
        if (valid != NULL)
            valid[i] = spi_rnode_type(e) != SPI_RNULL;
        if (valid != NULL && !valid[i])
            rc = SP_OK;
        else if (kind == COL_DEC)
            rc = spi_rec_dec(doc, e, NULL, 0, min, max, &x);
        else
            rc = spi_rec_int(doc, e, NULL, 0, min, max, &x);
        if (rc != SP_OK)
            return rc;
        if (kind == COL_I64 || kind == COL_DEC)
            ((int64_t *)out)[i] = x;
        else if (kind == COL_U32)
            ((uint32_t *)out)[i] = (uint32_t)x;
        else
            ((int32_t *)out)[i] = (int32_t)x;
    }
    return SP_OK;
}

static int read_u32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, uint32_t min,
                    uint32_t max, uint32_t *out)
{
    int64_t v;
    int rc = spi_rec_int(doc, obj, key, 0, min, max, &v);
    if (rc == SP_OK)
        *out = (uint32_t)v;
    return rc;
}

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
    int rc = spi_rec_array(doc, root, "levels", 0, &levels, &r->nlevels);
    if (rc != SP_OK)
        return rc;
    if ((r->levels = spi_calloc(ctx, r->nlevels + 1, sizeof *r->levels)) == NULL ||
        (r->ids = spi_calloc(ctx, n, sizeof *r->ids)) == NULL ||
        (r->parents = spi_malloc_array(ctx, n, sizeof *r->parents)) == NULL)
        return SP_ENOMEM;
    r->n = n;
    for (size_t i = 0; rc == SP_OK && i < r->nlevels; i++)
        rc = read_str(doc, spi_rnode_at(doc, levels, i), NULL, false, ctx, &r->levels[i]);
    return rc;
}

/* Ids and parents of a chunk's nodes [first, first + count). */
static int read_nodes(sp_ctx *ctx, const spi_rdoc *doc, const spi_rnode *root, uint32_t first,
                      uint32_t count, read_h *r)
{
    const spi_rnode *ids, *parents;
    size_t nid, np;
    int rc = spi_rec_array(doc, root, "ids", 0, &ids, &nid);
    if (rc == SP_OK && nid != count)
        rc = spi_rec_fail(doc, ids, "%zu values where %u are due", nid, (unsigned)count);
    if (rc == SP_OK)
        rc = spi_rec_array(doc, root, "parents", 0, &parents, &np);
    if (rc == SP_OK && np != count)
        rc = spi_rec_fail(doc, parents, "%zu values where %u are due", np, (unsigned)count);
    for (uint32_t i = 0; rc == SP_OK && i < count; i++) {
        const spi_rnode *e = spi_rnode_at(doc, parents, i);
        int64_t p = -1;
        rc = read_str(doc, spi_rnode_at(doc, ids, i), NULL, false, ctx, &r->ids[first + i]);
        if (rc == SP_OK && spi_rnode_type(e) != SPI_RNULL)
            rc = spi_rec_int(doc, e, NULL, 0, 0, (int64_t)r->n - 1, &p);
        r->parents[first + i] = p < 0 ? SPI_TREE_NONE : (uint32_t)p;
    }
    return rc;
}

/* Re-code a hierarchy's or a plan's complaint about stored content as corruption. */
static int corrupt(sp_ctx *ctx, const char *type, int rc)
{
    if (rc == SP_ENOMEM || rc == SP_ECORRUPT)
        return rc;
    char msg[SPI_ERRMSG_CAP];
    snprintf(msg, sizeof msg, "%s", sp_ctx_errmsg(ctx));
    return spi_fail(ctx, SP_ECORRUPT, "record %s: %s", type, msg);
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

/* Parse a record named `name` and check its envelope. */
static int open_record(sp_ctx *ctx, const char *name, const char *type, uint32_t known,
                       const uint8_t *data, size_t len, spi_rdoc **doc)
{
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

static int open_head(sp_ctx *ctx, const char *type, uint32_t known, const uint8_t *data,
                     size_t len, spi_rdoc **doc)
{
    char name[48];
    snprintf(name, sizeof name, "record %s", type);
    return open_record(ctx, name, type, known, data, len, doc);
}

/* The node count and chunking of a head over `items` node indices (nodes, or profiles
 * when more), which must agree, and with the `present` chunk records of the store. */
static int read_chunking(sp_ctx *ctx, const char *type, const spi_rdoc *doc,
                         const spi_rnode *root, uint32_t *n, uint64_t nprofiles,
                         uint32_t present, spi_chunking *c)
{
    int rc;
    if ((rc = read_u32(doc, root, "nnodes", 1, UINT32_MAX - 3, n)) != SP_OK ||
        (rc = read_u32(doc, root, "chunk_nodes", 1, SPI_CHUNK_NODES, &c->nodes)) != SP_OK ||
        (rc = read_u32(doc, root, "chunks", 1, UINT32_MAX, &c->count)) != SP_OK)
        return rc;
    uint64_t items = *n > nprofiles ? *n : nprofiles;
    uint64_t need = (items + c->nodes - 1) / c->nodes;
    if (c->count != need)
        return spi_rec_fail(doc, spi_rnode_member(doc, root, "chunks"),
                            "%u chunks where %llu node indices in chunks of %u make %llu",
                            (unsigned)c->count, (unsigned long long)items, (unsigned)c->nodes,
                            (unsigned long long)need);
    if (c->count > present)
        return spi_fail(ctx, SP_ECORRUPT, "record %s: chunk %u of %u is missing", type,
                        (unsigned)present, (unsigned)c->count);
    return SP_OK;
}

/* Open chunk k of `type` and check that it is chunk k and starts where chunk k does. */
static int open_chunk(sp_ctx *ctx, const char *type, const spi_chunking *c, uint32_t k,
                      const uint8_t *data, size_t len, spi_rdoc **doc)
{
    char name[48];
    snprintf(name, sizeof name, "record %s %u", type, (unsigned)k);
    int rc = open_record(ctx, name, type, CHUNK_V, data, len, doc);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(*doc);
    uint32_t stored, first;
    const uint32_t want = (uint32_t)((uint64_t)k * c->nodes);
    if ((rc = read_u32(*doc, root, "chunk", 0, UINT32_MAX, &stored)) == SP_OK && stored != k)
        rc = spi_rec_fail(*doc, spi_rnode_member(*doc, root, "chunk"),
                          "chunk %u stored under the key of chunk %u", (unsigned)stored, (unsigned)k);
    if (rc == SP_OK && (rc = read_u32(*doc, root, "first", 0, UINT32_MAX, &first)) == SP_OK &&
        first != want)
        rc = spi_rec_fail(*doc, spi_rnode_member(*doc, root, "first"),
                          "first node %u where chunk %u starts at node %u", (unsigned)first,
                          (unsigned)k, (unsigned)want);
    if (rc != SP_OK) {
        spi_rdoc_free(*doc);
        *doc = NULL;
    }
    return rc;
}

/* A chunk must belong to its head: string member `key` equal to `want`. */
static int check_owner_str(const spi_rdoc *doc, const char *key, const char *what,
                           const char *want)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, root, key, 0, &s, &len);
    if (rc != SP_OK || (len == strlen(want) && memcmp(s, want, len) == 0))
        return rc;
    char q[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP];
    return spi_rec_fail(doc, spi_rnode_member(doc, root, key), "a chunk of %s %s under %s %s",
                        what, spi_quote(q, s, len), what, spi_quote(q2, want, strlen(want)));
}

static int check_owner_u32(const spi_rdoc *doc, const char *key, uint32_t want)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    uint32_t v;
    int rc = read_u32(doc, root, key, 0, UINT32_MAX, &v);
    if (rc != SP_OK || v == want)
        return rc;
    return spi_rec_fail(doc, spi_rnode_member(doc, root, key), "a chunk of %s %u under %s %u",
                        key, (unsigned)v, key, (unsigned)want);
}

int spi_plan_stored_revision(sp_ctx *ctx, const uint8_t *data, size_t len, uint32_t *revision)
{
    spi_rdoc *doc;
    int rc = open_head(ctx, SPI_PLAN_TYPE, PLAN_V, data, len, &doc);
    if (rc == SP_OK) {
        rc = read_u32(doc, spi_rdoc_root(doc), "revision", 0, UINT32_MAX, revision);
        spi_rdoc_free(doc);
    }
    return rc;
}

/* ---- plans ---- */

struct spi_plan_in {
    sp_ctx *ctx;
    uint8_t *head;    /* the head's bytes, which `doc` refers to */
    spi_rdoc *doc;    /* kept for the settings, read once the hierarchy is built */
    char *id;
    uint32_t revision, n;
    spi_chunking chunks;
    read_h h;
    spi_pdriver *drivers; /* in the head's (name) order, each with a valid mask for now */
    size_t ndrivers;
    spi_history hs;
    uint32_t nrows;       /* the head's row count; hs.nrows counts those read */
};

void spi_plan_in_free(spi_plan_in *in)
{
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
    spi_free(ctx, in->head);
    spi_free(ctx, in);
}

/* Driver names in ascending order, and room for their values. */
static int read_driver_names(spi_plan_in *in, const spi_rnode *root)
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
        if ((rc = read_str(doc, e, NULL, false, in->ctx, &d->name)) != SP_OK)
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

static int read_history_shape(spi_plan_in *in, const spi_rnode *root)
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
        (rc = read_u32(doc, h, "periods", 1, SP_CALENDAR_MAX_PERIODS, &periods)) != SP_OK ||
        (rc = read_u32(doc, h, "rows", 0, in->n, &in->nrows)) != SP_OK)
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

int spi_plan_in_new(spi_plan_in **out, sp_ctx *ctx, uint8_t *head, size_t len,
                    uint32_t present, spi_chunking *chunks)
{
    spi_plan_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL) {
        spi_free(ctx, head);
        return SP_ENOMEM;
    }
    in->ctx = ctx;
    in->head = head;
    int rc = open_head(ctx, SPI_PLAN_TYPE, PLAN_V, head, len, &in->doc);
    const spi_rnode *root = rc == SP_OK ? spi_rdoc_root(in->doc) : NULL;
    if (rc != SP_OK || (rc = read_str(in->doc, root, "id", false, ctx, &in->id)) != SP_OK ||
        (rc = read_u32(in->doc, root, "revision", 0, UINT32_MAX, &in->revision)) != SP_OK ||
        (rc = read_chunking(ctx, SPI_PLAN_TYPE, in->doc, root, &in->n, 0, present,
                            &in->chunks)) != SP_OK ||
        (rc = read_levels(ctx, in->doc, root, in->n, &in->h)) != SP_OK ||
        (rc = read_driver_names(in, root)) != SP_OK ||
        (rc = read_history_shape(in, root)) != SP_OK) {
        spi_plan_in_free(in);
        return rc;
    }
    *chunks = in->chunks;
    *out = in;
    return SP_OK;
}

/* A chunk's history rows: nodes of the chunk, each once, no more than the head lists. */
static int read_rows(spi_plan_in *in, const spi_rdoc *doc, const spi_rnode *root,
                     uint32_t first, uint32_t count)
{
    spi_history *hs = &in->hs;
    const spi_rnode *rows;
    size_t nrows;
    int rc = spi_rec_array(doc, root, "history", 0, &rows, &nrows);
    if (rc != SP_OK)
        return rc;
    const size_t width = (size_t)hs->years * hs->nperiods;
    for (size_t i = 0; i < nrows; i++) {
        const spi_rnode *e = spi_rnode_at(doc, rows, i);
        int64_t node;
        if (hs->nrows == in->nrows)
            return spi_rec_fail(doc, e, "more history rows than the %u of the head",
                                (unsigned)in->nrows);
        if ((rc = spi_rec_int(doc, e, "node", 0, first, (int64_t)first + count - 1, &node)) !=
            SP_OK)
            return rc;
        if (hs->row_of[node] != SPI_TREE_NONE)
            return spi_rec_fail(doc, e, "node %lld has two rows", (long long)node);
        if ((rc = read_col(doc, e, "values", COL_I64, width, -INT64_MAX, INT64_MAX,
                           hs->rows + hs->nrows * width, NULL)) != SP_OK)
            return rc;
        hs->row_of[node] = hs->nrows++;
    }
    return SP_OK;
}

int spi_plan_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    spi_plan_in *in = arg;
    const uint32_t first = k * in->chunks.nodes, count = chunk_items(&in->chunks, k, in->n);
    spi_rdoc *doc;
    int rc = open_chunk(in->ctx, SPI_PLAN_CHUNK_TYPE, &in->chunks, k, data, len, &doc);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc), *drivers;
    size_t nd;
    if ((rc = check_owner_str(doc, "plan_id", "plan", in->id)) == SP_OK &&
        (rc = check_owner_u32(doc, "revision", in->revision)) == SP_OK &&
        (rc = read_nodes(in->ctx, doc, root, first, count, &in->h)) == SP_OK &&
        (rc = spi_rec_array(doc, root, "drivers", 0, &drivers, &nd)) == SP_OK) {
        if (nd != in->ndrivers)
            rc = spi_rec_fail(doc, drivers, "%zu drivers where the head lists %zu", nd,
                              in->ndrivers);
        for (size_t i = 0; rc == SP_OK && i < nd; i++)
            rc = read_col(doc, spi_rnode_at(doc, drivers, i), NULL, COL_I64, count, -INT64_MAX,
                          INT64_MAX, in->drivers[i].values + first,
                          in->drivers[i].valid + first);
        if (rc == SP_OK)
            rc = read_rows(in, doc, root, first, count);
    }
    spi_rdoc_free(doc);
    return rc;
}

/* The head's members beyond the chunking, read into a plan over `sh`. */
static int make_plan(spi_plan_in *in, spi_shared_h *sh, sp_target_plan **out)
{
    const spi_rdoc *doc = in->doc;
    const spi_rnode *root = spi_rdoc_root(doc);
    sp_ctx *ctx = in->ctx;
    char *name = NULL, *currency = NULL;
    int32_t *days = NULL;
    uint32_t measure = 0, grain = 0;
    int64_t exponent = 0, fy = 0;
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    const spi_rnode *c, *hol, *wk;
    size_t nh, nw;
    int rc;
    if ((rc = read_str(doc, root, "name", true, ctx, &name)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, 2, &measure)) != SP_OK ||
        (rc = read_str(doc, root, "currency", true, ctx, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = read_u32(doc, root, "grain", 0, SP_GRAIN_WEEK, &grain)) != SP_OK ||
        (rc = spi_rec_object(doc, root, "calendar", 0, &c)) != SP_OK ||
        (rc = read_u32(doc, c, "kind", 0, 3, &cal.kind)) != SP_OK ||
        (rc = read_u32(doc, c, "start_month", 0, 12, &cal.start_month)) != SP_OK ||
        (rc = read_u32(doc, c, "label", 0, 2, &cal.label)) != SP_OK ||
        (rc = read_u32(doc, c, "year_end_weekday", 0, 7, &cal.year_end_weekday)) != SP_OK ||
        (rc = read_u32(doc, c, "year_end_rule", 0, 2, &cal.year_end_rule)) != SP_OK ||
        (rc = read_u32(doc, c, "week53_month", 0, 12, &cal.week53_month)) != SP_OK ||
        (rc = read_u32(doc, c, "weekend", 0, 127, &cal.weekend)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "holiday_ranges", 0, &hol, &nh)) != SP_OK ||
        (rc = spi_rec_array(doc, c, "workday_ranges", 0, &wk, &nw)) != SP_OK)
        goto done;
    if (nh % 2 != 0 || nw % 2 != 0) { /* ranges are (first_day, last_day) pairs */
        rc = spi_rec_fail(doc, nh % 2 != 0 ? hol : wk, "%zu day numbers, not pairs",
                          nh % 2 != 0 ? nh : nw);
        goto done;
    }
    if ((days = spi_malloc_array(ctx, nh + nw + 1, sizeof *days)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    if ((rc = read_col(doc, c, "holiday_ranges", COL_I32, nh, INT32_MIN, INT32_MAX, days,
                       NULL)) != SP_OK ||
        (rc = read_col(doc, c, "workday_ranges", COL_I32, nw, INT32_MIN, INT32_MAX, days + nh,
                       NULL)) != SP_OK)
        goto done;
    cal.holiday_ranges = nh > 0 ? days : NULL;
    cal.nholiday_ranges = nh / 2;
    cal.workday_ranges = nw > 0 ? days + nh : NULL;
    cal.nworkday_ranges = nw / 2;
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

int spi_plan_in_finish(spi_plan_in *in, sp_target_plan **out)
{
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

struct spi_set_in {
    sp_ctx *ctx;
    uint32_t present; /* chunk records found in the store */
    spi_chunking chunks;
    sp_target_set *set; /* arrays filled by the chunks; no hierarchy until finished */
    read_h h;
};

void spi_set_in_free(spi_set_in *in)
{
    if (in == NULL)
        return;
    sp_target_set_free(in->set);
    free_read_h(in->ctx, &in->h);
    spi_free(in->ctx, in);
}

/* The head's members into a set with its arrays allocated. */
static int read_set_head(sp_ctx *ctx, const spi_rdoc *doc, spi_set_in *in)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    char *plan_id = NULL, *scenario = NULL, *note = NULL, *currency = NULL;
    uint32_t rev, version, measure, grain, nperiods, based_on, closed, weighting, n, nprof;
    int64_t day, exponent, fy, total;
    sp_target_set *s = NULL;
    int rc;
    if ((rc = read_str(doc, root, "plan_id", false, ctx, &plan_id)) != SP_OK ||
        (rc = read_u32(doc, root, "plan_revision", 0, UINT32_MAX, &rev)) != SP_OK ||
        (rc = read_str(doc, root, "scenario", false, ctx, &scenario)) != SP_OK ||
        (rc = read_u32(doc, root, "version", 0, UINT32_MAX, &version)) != SP_OK ||
        (rc = read_str(doc, root, "note", false, ctx, &note)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "saved_day", 0, INT32_MIN, INT32_MAX, &day)) != SP_OK ||
        (rc = spi_rec_enum(doc, root, "measure", 0, measure_names, 2, &measure)) != SP_OK ||
        (rc = read_str(doc, root, "currency", true, ctx, &currency)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_int(doc, root, "fiscal_year", 0, 1, 9999, &fy)) != SP_OK ||
        (rc = read_u32(doc, root, "grain", 0, SP_GRAIN_WEEK, &grain)) != SP_OK ||
        (rc = read_u32(doc, root, "nperiods", 1, SP_CALENDAR_MAX_PERIODS, &nperiods)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "total", 0, 0, INT64_MAX, &total)) != SP_OK ||
        (rc = read_u32(doc, root, "based_on", 0, UINT32_MAX, &based_on)) != SP_OK ||
        (rc = read_u32(doc, root, "closed", 0, nperiods, &closed)) != SP_OK ||
        (rc = read_u32(doc, root, "weighting", 0, 1, &weighting)) != SP_OK ||
        (rc = read_u32(doc, root, "nprofiles", 1, UINT32_MAX, &nprof)) != SP_OK ||
        (rc = read_chunking(ctx, SPI_SET_TYPE, doc, root, &n, nprof, in->present,
                            &in->chunks)) != SP_OK)
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

int spi_set_in_new(spi_set_in **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                   uint32_t present, spi_chunking *chunks)
{
    spi_set_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    in->present = present;
    spi_rdoc *doc = NULL;
    int rc = open_head(ctx, SPI_SET_TYPE, SET_V, head, len, &doc);
    if (rc == SP_OK)
        rc = read_set_head(ctx, doc, in);
    spi_rdoc_free(doc);
    if (rc != SP_OK) {
        spi_set_in_free(in);
        return rc;
    }
    *chunks = in->chunks;
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
    const spi_rnode *locks;
    size_t nlocks;
    int rc = spi_rec_array(doc, spi_rdoc_root(doc), "locks", 0, &locks, &nlocks);
    for (size_t i = 0; i < nlocks && rc == SP_OK; i++) {
        const spi_rnode *e = spi_rnode_at(doc, locks, i);
        int64_t node;
        const char *reason;
        size_t rlen;
        if ((rc = spi_rec_int(doc, e, "node", 0, first, (int64_t)first + count - 1, &node)) ==
                SP_OK &&
            (rc = spi_rec_string(doc, e, "reason", SPI_REC_NO_NUL, &reason, &rlen)) == SP_OK)
            rc = spi_set_reason(s, (uint32_t)node, reason, rlen);
    }
    return rc;
}

int spi_set_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    spi_set_in *in = arg;
    sp_target_set *s = in->set;
    const size_t P = s->nperiods;
    const uint32_t first = k * in->chunks.nodes, count = chunk_items(&in->chunks, k, s->n),
                   nprof = chunk_items(&in->chunks, k, s->nprofiles);
    spi_rdoc *doc;
    int rc = open_chunk(in->ctx, SPI_SET_CHUNK_TYPE, &in->chunks, k, data, len, &doc);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    const int64_t big = INT64_MAX;
    if ((rc = check_owner_str(doc, "plan_id", "plan", s->plan_id)) != SP_OK ||
        (rc = check_owner_str(doc, "scenario", "scenario", s->scenario)) != SP_OK ||
        (rc = check_owner_u32(doc, "version", s->set_version)) != SP_OK ||
        (rc = read_nodes(in->ctx, doc, root, first, count, &in->h)) != SP_OK ||
        (rc = read_col(doc, root, "annual", COL_I64, count, -big, big, s->annual + first,
                       NULL)) != SP_OK ||
        (rc = read_col(doc, root, "flags", COL_U32, count, 0, 255, s->flags + first, NULL)) !=
            SP_OK ||
        (rc = read_col(doc, root, "growth", COL_DEC, count, -big, big, s->growth + first,
                       NULL)) != SP_OK ||
        (rc = read_col(doc, root, "common_growth", COL_DEC, count, -big, big,
                       s->common_growth + first, NULL)) != SP_OK ||
        (rc = read_col(doc, root, "periods", COL_I64, count * P, -big, big,
                       s->periods + first * P, NULL)) != SP_OK ||
        (rc = read_col(doc, root, "profile_of", COL_U32, count, 0,
                       (int64_t)s->nprofiles - 1, s->profile_of + first, NULL)) != SP_OK ||
        (rc = read_col(doc, root, "profiles", COL_DEC, nprof * P, 0, big,
                       s->profiles + first * P, NULL)) != SP_OK ||
        (rc = read_locks(s, doc, first, count)) != SP_OK)
        goto done;
    rc = check_chunk_sums(doc, s, first, count);
done:
    spi_rdoc_free(doc);
    return rc;
}

/* Inner nodes are the sums of their children in every period; the total is the root's. */
static int check_set_tree(const spi_set_in *in)
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

int spi_set_in_finish(spi_set_in *in, sp_target_set **out)
{
    int rc = build_hierarchy(in->ctx, SPI_SET_TYPE, &in->h, &in->set->sh);
    if (rc == SP_OK)
        rc = check_set_tree(in);
    if (rc != SP_OK)
        return rc;
    *out = in->set;
    in->set = NULL;
    return SP_OK;
}
