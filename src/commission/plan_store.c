/*
 * Commission plans in a store (plan_store.h): the records of a plan's revisions, a
 * versioned object of the stored-object layer (src/record/stored.h), and the edits and
 * reads over them. docs/record-format.md lists the members in the order written here:
 *
 *   head   commission.plan: the plan id, the revision, the currency, every version's
 *          effective days (day numbers, as the target records write days), the chunking
 *   chunk  commission.plan.chunk: the owner, then "documents": the canonical documents of
 *          versions [first, first + count), embedded as JSON values (hosts can query them)
 *
 * Reading is strict, every finding SP_ECORRUPT naming the record: each document is copied
 * out of its chunk, read by spi_cplan_read and must be in canonical form and agree with
 * the head; the set of versions passes the checks a save makes; the head's id and
 * revision are its key's.
 */
#include <stdio.h>
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "../record/record.h"
#include "../targets/plan.h"
#include "plan_store.h"

#define HEAD_V 1u
#define CHUNK_V 1u
/* Versions a message lists before "...". */
#define LIST_MAX 6
/* "2027-01-01 .. 2027-12-31", "(out of range) .. (open)" */
#define SPAN_CAP 64
#define LIST_CAP (LIST_MAX * (SPAN_CAP + 2) + 32)
/* `commission plan "<id>" revision <n>` and a record's name before it. */
#define WHO_CAP (SPI_QUOTE_CAP + 96)

static const spi_stored_type cplan_stored;

/* ---- revisions ---- */

void spi_cplan_rev_free(spi_cplan_rev *rev)
{
    if (rev == NULL)
        return;
    sp_ctx *ctx = rev->ctx;
    for (size_t i = 0; rev->versions != NULL && i < rev->n; i++)
        spi_cplan_free(ctx, &rev->versions[i]);
    spi_free(ctx, rev->versions);
    spi_free(ctx, rev->plan);
    spi_free(ctx, rev);
}

static bool in_effect(const spi_cplan *v, int32_t day)
{
    return day >= v->from && (v->to == SPI_CPLAN_NO_DAY || day <= v->to);
}

size_t spi_cplan_rev_find(const spi_cplan_rev *rev, int32_t day)
{
    for (size_t i = 0; i < rev->n; i++)
        if (in_effect(&rev->versions[i], day))
            return i;
    return SIZE_MAX;
}

/* ---- messages ---- */

static const char *span_text(char *buf, int32_t from, int32_t to)
{
    char a[24], b[24];
    snprintf(buf, SPAN_CAP, "%s .. %s", spi_day_text(from, a),
             to == SPI_CPLAN_NO_DAY ? "(open)" : spi_day_text(to, b));
    return buf;
}

/* The versions of v[0 .. n), LIST_MAX at most, then how many in all. */
static const char *list_text(char *buf, const spi_cplan *v, size_t n)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && i < LIST_MAX; i++) {
        char s[SPAN_CAP];
        int w = snprintf(buf + o, LIST_CAP - o, "%s%s", i > 0 ? ", " : "",
                         span_text(s, v[i].from, v[i].to));
        o += w > 0 ? (size_t)w : 0;
    }
    if (n > LIST_MAX)
        snprintf(buf + o, LIST_CAP - o, ", ... (%zu in all)", n);
    return buf;
}

/* `commission plan "AE"`, with ` revision 3` when revision is not 0. */
static const char *who_text(char *buf, const char *plan, uint32_t revision)
{
    char q[SPI_QUOTE_CAP];
    int w = snprintf(buf, WHO_CAP, "commission plan %s", spi_quote(q, plan, strlen(plan)));
    if (revision != 0 && w > 0 && (size_t)w < WHO_CAP)
        snprintf(buf + w, WHO_CAP - (size_t)w, " revision %u", (unsigned)revision);
    return buf;
}

/*
 * The set of versions v[0 .. n) holds together: ascending `from`; each ends before the
 * next starts; no day between two unless the later declares "gap": "allowed"; one
 * currency. `code` and `who` (the message's start) are the caller's: a save's SP_EINVAL,
 * a read's SP_ECORRUPT.
 */
static int check_set(sp_ctx *ctx, int code, const char *who, const spi_cplan *v, size_t n)
{
    char a[SPAN_CAP], b[SPAN_CAP], g[SPAN_CAP];
    for (size_t i = 1; i < n; i++) {
        const spi_cplan *p = &v[i - 1], *c = &v[i];
        span_text(a, p->from, p->to);
        span_text(b, c->from, c->to);
        if (c->from <= p->from)
            return spi_fail(ctx, code, "%s: version %s comes after version %s, which does not "
                                       "start before it",
                            who, b, a);
        if (p->to == SPI_CPLAN_NO_DAY || p->to >= c->from)
            return spi_fail(ctx, code, "%s: version %s overlaps version %s", who, a, b);
        if (p->to + 1 < c->from && !c->gap_allowed)
            return spi_fail(ctx, code, "%s: a gap between version %s and version %s (%s in "
                                       "neither; the later version may declare \"gap\": "
                                       "\"allowed\")",
                            who, a, b, span_text(g, p->to + 1, c->from - 1));
        if (strcmp(c->currency, v[0].currency) != 0)
            return spi_fail(ctx, code, "%s: version %s is in %s, version %s in %s (a plan's "
                                       "versions share one currency)",
                            who, span_text(a, v[0].from, v[0].to), v[0].currency, b,
                            c->currency);
    }
    return SP_OK;
}

/* ---- writing ---- */

/* A revision to write: versions v[0 .. n) (shallow copies, not owned), cut into chunks. */
typedef struct rev_out {
    const char *plan;
    const spi_cplan *v;
    size_t n;
    spi_chunking chunks;
} rev_out;

/* Chunks sized by the widest document: its values and bytes, as the writer counts them. */
static int rev_out_init(sp_ctx *ctx, rev_out *o, const spi_cplan *v, size_t n,
                        uint32_t chunk_rows)
{
    uint64_t values = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        spi_writer w;
        spi_writer_init(&w, ctx);
        spi_cplan_write_to(&w, &v[i]);
        int rc = spi_writer_status(&w);
        values = w.values > values ? w.values : values;
        bytes = w.len + 1 > bytes ? w.len + 1 : bytes; /* and its comma */
        spi_writer_discard(&w);
        if (rc != SP_OK)
            return rc;
    }
    o->plan = v[0].plan;
    o->v = v;
    o->n = n;
    o->chunks = spi_chunking_make(chunk_rows, values, bytes, n);
    return SP_OK;
}

static void rev_encode_head(const void *arg, uint32_t revision, spi_writer *w)
{
    const rev_out *o = arg;
    spi_writer_member_string(w, "id", o->plan, strlen(o->plan));
    spi_writer_member_int(w, "revision", revision);
    spi_writer_member_string(w, "currency", o->v[0].currency, strlen(o->v[0].currency));
    spi_writer_key(w, "versions");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < o->n; i++) {
        spi_writer_begin_object(w);
        spi_writer_member_int(w, "from", o->v[i].from);
        spi_writer_key(w, "to");
        if (o->v[i].to == SPI_CPLAN_NO_DAY)
            spi_writer_null(w);
        else
            spi_writer_int(w, o->v[i].to);
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
    spi_stored_write_chunking(w, (uint32_t)o->n, &o->chunks);
}

static void rev_encode_chunk(const void *arg, uint32_t revision, uint32_t k, spi_writer *w)
{
    const rev_out *o = arg;
    const size_t first = (size_t)k * o->chunks.nodes,
                 count = spi_chunking_items(&o->chunks, k, o->n);
    spi_writer_member_string(w, "plan_id", o->plan, strlen(o->plan));
    spi_writer_member_int(w, "revision", revision);
    spi_stored_write_chunk_at(w, &o->chunks, k);
    spi_writer_key(w, "documents");
    spi_writer_begin_array(w);
    for (size_t i = first; i < first + count; i++)
        spi_cplan_write_to(w, &o->v[i]);
    spi_writer_end_array(w);
}

/* ---- reading ---- */

typedef struct rev_in {
    sp_ctx *ctx;
    spi_chunking chunks;
    spi_cplan_span *spans; /* the head's, one per version */
    char currency[4];      /* the head's */
    spi_cplan_rev *rev;    /* versions filled by the chunks */
} rev_in;

static void rev_in_free(void *arg)
{
    rev_in *in = arg;
    if (in == NULL)
        return;
    spi_cplan_rev_free(in->rev);
    spi_free(in->ctx, in->spans);
    spi_free(in->ctx, in);
}

static int read_spans(rev_in *in, const spi_rdoc *doc, const spi_rnode *arr, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(doc, arr, i), *to = spi_rnode_member(doc, e, "to");
        int64_t from, end = SPI_CPLAN_NO_DAY;
        int rc = spi_rec_int(doc, e, "from", 0, SPI_DAY_MIN, SPI_DAY_MAX, &from);
        if (rc == SP_OK && (to == NULL || spi_rnode_type(to) != SPI_RNULL))
            rc = spi_rec_int(doc, e, "to", 0, from, SPI_DAY_MAX, &end);
        if (rc != SP_OK)
            return rc;
        in->spans[i].from = (int32_t)from;
        in->spans[i].to = (int32_t)end;
    }
    return SP_OK;
}

static int read_head(rev_in *in, const spi_rdoc *doc, uint32_t present)
{
    const spi_rnode *root = spi_rdoc_root(doc), *arr;
    sp_ctx *ctx = in->ctx;
    char *id = NULL;
    const char *cur;
    size_t clen, n;
    uint32_t revision, nnodes;
    int32_t exponent;
    int rc;
    if ((rc = spi_rec_strdup(doc, root, "id", 0, &id)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "revision", 0, 1, UINT32_MAX, &revision)) != SP_OK ||
        (rc = spi_rec_string(doc, root, "currency", 0, &cur, &clen)) != SP_OK ||
        (rc = spi_rec_array(doc, root, "versions", 0, &arr, &n)) != SP_OK ||
        (rc = spi_stored_read_chunking(doc, root, 0, present, &nnodes, &in->chunks)) != SP_OK)
        goto done;
    if (id[0] == '\0' || strlen(id) > SPI_CPLAN_ID_MAX) {
        rc = spi_rec_fail(doc, spi_rnode_member(doc, root, "id"), "an id has 1 to %u bytes",
                          SPI_CPLAN_ID_MAX);
        goto done;
    }
    if (clen == 3)
        memcpy(in->currency, cur, 3);
    if (clen != 3 || sp_currency_exponent(in->currency, &exponent) != SP_OK) {
        rc = spi_rec_fail(doc, spi_rnode_member(doc, root, "currency"),
                          "not an ISO 4217 currency code this library knows");
        goto done;
    }
    if (n != nnodes) {
        rc = spi_rec_fail(doc, spi_rnode_member(doc, root, "nnodes"),
                          "%u versions where the head lists %zu", (unsigned)nnodes, n);
        goto done;
    }
    spi_cplan_rev *rev = spi_calloc(ctx, 1, sizeof *rev);
    if (rev == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    rev->ctx = ctx;
    rev->plan = id;
    id = NULL;
    rev->revision = revision;
    in->rev = rev;
    if ((rev->versions = spi_calloc(ctx, n, sizeof *rev->versions)) == NULL ||
        (in->spans = spi_malloc_array(ctx, n, sizeof *in->spans)) == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    rev->n = n;
    rc = read_spans(in, doc, arr, n);
done:
    spi_free(ctx, id);
    return rc;
}

static int rev_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                      uint32_t present, uint32_t *chunks)
{
    rev_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    spi_rdoc *doc = NULL;
    int rc = spi_stored_open_head(&doc, ctx, &cplan_stored, head, len);
    if (rc == SP_OK)
        rc = read_head(in, doc, present);
    spi_rdoc_free(doc);
    if (rc != SP_OK) {
        rev_in_free(in);
        return rc;
    }
    *chunks = in->chunks.count;
    *out = in;
    return SP_OK;
}

/* Document `node` of chunk k, version i of the revision: copied out, read by
 * spi_cplan_read, in canonical form and agreeing with the head. */
static int read_document(rev_in *in, const spi_rdoc *doc, const spi_rnode *node, uint32_t k,
                         size_t i)
{
    sp_ctx *ctx = in->ctx;
    spi_cplan_rev *rev = in->rev;
    const spi_cplan_span *s = &in->spans[i];
    uint8_t *text = NULL, *canon = NULL;
    size_t tlen, clen;
    spi_cplan p;
    memset(&p, 0, sizeof p);
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_writer_copy(&w, doc, node);
    int rc = spi_writer_finish(&w, &text, &tlen);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_cplan_read(ctx, (const char *)text, tlen, &p)) != SP_OK) {
        if (rc == SP_EINVAL) {
            char path[64];
            spi_rec_path(doc, node, path, sizeof path);
            rc = spi_fail_prefix(ctx, SP_ECORRUPT, NULL, "record %s %u: %s",
                                 SPI_CPLAN_CHUNK_TYPE, (unsigned)k, path);
        }
        goto done;
    }
    if ((rc = spi_cplan_write(ctx, &p, &canon, &clen)) != SP_OK)
        goto done;
    char q[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP], a[SPAN_CAP], b[SPAN_CAP];
    if (clen != tlen || memcmp(canon, text, clen) != 0)
        rc = spi_rec_fail(doc, node, "the document is not in canonical form");
    else if (strcmp(p.plan, rev->plan) != 0)
        rc = spi_rec_fail(doc, node, "a version of plan %s in a revision of plan %s",
                          spi_quote(q, p.plan, strlen(p.plan)),
                          spi_quote(q2, rev->plan, strlen(rev->plan)));
    else if (p.from != s->from || p.to != s->to)
        rc = spi_rec_fail(doc, node, "effective %s where the head lists %s",
                          span_text(a, p.from, p.to), span_text(b, s->from, s->to));
    else if (strcmp(p.currency, in->currency) != 0)
        rc = spi_rec_fail(doc, node, "in %s where the head's currency is %s", p.currency,
                          in->currency);
    if (rc == SP_OK) {
        rev->versions[i] = p;
        memset(&p, 0, sizeof p);
    }
done:
    spi_cplan_free(ctx, &p);
    spi_free(ctx, text);
    spi_free(ctx, canon);
    return rc;
}

static int rev_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    rev_in *in = arg;
    const spi_cplan_rev *rev = in->rev;
    const size_t first = (size_t)k * in->chunks.nodes;
    const uint32_t count = spi_chunking_items(&in->chunks, k, rev->n);
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, &cplan_stored, &in->chunks, k, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *arr;
    size_t m;
    if ((rc = spi_stored_check_owner_str(doc, "plan_id", "plan", rev->plan)) == SP_OK &&
        (rc = spi_stored_check_owner_u32(doc, "revision", rev->revision)) == SP_OK &&
        (rc = spi_rec_array(doc, spi_rdoc_root(doc), "documents", 0, &arr, &m)) == SP_OK &&
        m != count)
        rc = spi_rec_fail(doc, arr, "%zu documents where %u are due", m, (unsigned)count);
    for (size_t i = 0; i < count && rc == SP_OK; i++)
        rc = read_document(in, doc, spi_rnode_at(doc, arr, i), k, first + i);
    spi_rdoc_free(doc);
    return rc;
}

static int rev_in_finish(void *arg, void **out)
{
    rev_in *in = arg;
    spi_cplan_rev *rev = in->rev;
    char who[WHO_CAP + 32], w[WHO_CAP];
    snprintf(who, sizeof who, "record %s: %s", SPI_CPLAN_TYPE,
             who_text(w, rev->plan, rev->revision));
    int rc = check_set(in->ctx, SP_ECORRUPT, who, rev->versions, rev->n);
    if (rc != SP_OK)
        return rc;
    *out = rev;
    in->rev = NULL;
    return SP_OK;
}

static const spi_stored_type cplan_stored = {
    "commission plan", SPI_CPLAN_TYPE, SPI_CPLAN_CHUNK_TYPE, HEAD_V, CHUNK_V,
    SPI_STORED_VERSIONED, 1, NULL, NULL, rev_encode_head, rev_encode_chunk, rev_in_new,
    rev_in_chunk, rev_in_finish, rev_in_free,
};

/* ---- loading ---- */

/* Revision `revision` (>= 1) of names[0], whose head must be under its own key. */
static int load_rev(spi_store *s, const char *const *names, uint32_t revision,
                    spi_cplan_rev **out)
{
    void *obj;
    int rc = spi_stored_load(s, &cplan_stored, names, revision, &obj);
    if (rc != SP_OK)
        return rc;
    spi_cplan_rev *rev = obj;
    if (strcmp(rev->plan, names[0]) != 0 || rev->revision != revision) {
        char a[WHO_CAP], b[WHO_CAP];
        rc = spi_fail(s->ctx, SP_ECORRUPT, "record %s: %s is stored under the key of %s",
                      SPI_CPLAN_TYPE, who_text(a, rev->plan, rev->revision),
                      who_text(b, names[0], revision));
        spi_cplan_rev_free(rev);
        return rc;
    }
    *out = rev;
    return SP_OK;
}

/* Revision `revision` of `plan`, 0: the latest; SP_ENOTFOUND naming what is missing. */
static int read_revision(spi_store *s, const char *plan, uint32_t revision,
                         spi_cplan_rev **out)
{
    const char *names[] = { plan };
    size_t count;
    uint32_t last;
    char who[WHO_CAP];
    int rc = spi_stored_versions(s, &cplan_stored, names, NULL, &count, &last);
    if (rc != SP_OK)
        return rc;
    if (count == 0)
        return spi_fail(s->ctx, SP_ENOTFOUND, "%s is not in the store", who_text(who, plan, 0));
    if (revision > last)
        return spi_fail(s->ctx, SP_ENOTFOUND, "%s: revision %u is not in the store (the latest "
                                              "is %u)",
                        who_text(who, plan, 0), (unsigned)revision, (unsigned)last);
    return load_rev(s, names, revision != 0 ? revision : last, out);
}

static int open_plan(spi_store *s, sp_ctx *ctx, const sp_storage *storage, const char *plan)
{
    int rc = spi_plan_check_name(ctx, "commission plan: id", plan, SPI_CPLAN_ID_MAX);
    return rc != SP_OK ? rc : spi_store_open(s, ctx, storage);
}

int spi_cplan_store_revision(spi_cplan_rev **out, sp_ctx *ctx, const sp_storage *storage,
                             const char *plan, uint32_t revision)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: out is NULL");
    spi_store s;
    int rc = open_plan(&s, ctx, storage, plan);
    return rc != SP_OK ? rc : read_revision(&s, plan, revision, out);
}

int spi_cplan_store_load(spi_cplan *out, sp_ctx *ctx, const sp_storage *storage,
                         const char *plan, uint32_t revision, int32_t day, uint32_t *loaded)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: out is NULL");
    spi_cplan_rev *rev = NULL;
    int rc = spi_cplan_store_revision(&rev, ctx, storage, plan, revision);
    if (rc != SP_OK)
        return rc;
    size_t i = spi_cplan_rev_find(rev, day);
    if (i == SIZE_MAX) {
        char who[WHO_CAP], d[24], list[LIST_CAP];
        rc = spi_fail(ctx, SP_ENOTFOUND, "%s has no version in effect on %s; its versions: %s",
                      who_text(who, plan, rev->revision), spi_day_text(day, d),
                      list_text(list, rev->versions, rev->n));
    } else {
        *out = rev->versions[i];
        memset(&rev->versions[i], 0, sizeof rev->versions[i]);
        if (loaded != NULL)
            *loaded = rev->revision;
    }
    spi_cplan_rev_free(rev);
    return rc;
}

int spi_cplan_store_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                             uint32_t revision, spi_cplan_span **spans, size_t *count,
                             uint32_t *loaded)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (spans == NULL || count == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan versions: %s is NULL",
                        spans == NULL ? "spans" : "count");
    spi_cplan_rev *rev = NULL;
    int rc = spi_cplan_store_revision(&rev, ctx, storage, plan, revision);
    if (rc != SP_OK)
        return rc;
    spi_cplan_span *a = spi_malloc_array(ctx, rev->n, sizeof *a);
    if (a == NULL) {
        spi_cplan_rev_free(rev);
        return SP_ENOMEM;
    }
    for (size_t i = 0; i < rev->n; i++) {
        a[i].from = rev->versions[i].from;
        a[i].to = rev->versions[i].to;
    }
    *spans = a;
    *count = rev->n;
    if (loaded != NULL)
        *loaded = rev->revision;
    spi_cplan_rev_free(rev);
    return SP_OK;
}

int spi_cplan_store_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plans: out is NULL");
    spi_store s;
    int rc = spi_store_open(&s, ctx, storage);
    return rc == SP_OK ? spi_stored_list(out, &s, &cplan_stored, NULL, 0) : rc;
}

int spi_cplan_store_revisions(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                              uint32_t **revisions, size_t *count)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (revisions == NULL || count == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan revisions: %s is NULL",
                        revisions == NULL ? "revisions" : "count");
    spi_store s;
    const char *names[] = { plan };
    uint32_t last;
    int rc = open_plan(&s, ctx, storage, plan);
    return rc != SP_OK ? rc
                       : spi_stored_versions(&s, &cplan_stored, names, revisions, count, &last);
}

/* ---- edits ---- */

typedef struct edit_job {
    const char *names[1];
    const spi_cplan_edit *e;
    uint32_t revision; /* written */
} edit_job;

/* The versions of `old` (may be NULL) with the edit applied, into set (room for one more
 * than old has), shallow copies; *n their number. */
static int apply_edit(sp_ctx *ctx, const char *who, const spi_cplan_edit *e,
                      const spi_cplan_rev *old, spi_cplan *set, size_t *n)
{
    const size_t nold = old != NULL ? old->n : 0;
    size_t m = 0;
    if (e->add != NULL) {
        bool placed = false;
        for (size_t i = 0; i < nold; i++) {
            const spi_cplan *o = &old->versions[i];
            if (!placed && e->add->from <= o->from) {
                set[m++] = *e->add;
                placed = true;
                if (e->add->from == o->from)
                    continue; /* replaced */
            }
            set[m++] = *o;
        }
        if (!placed)
            set[m++] = *e->add;
        *n = m;
        return SP_OK;
    }
    size_t k = 0;
    while (k < nold && old->versions[k].from != e->remove)
        k++;
    char d[24], list[LIST_CAP], s[SPAN_CAP];
    if (k == nold)
        return spi_fail(ctx, SP_ENOTFOUND, "%s has no version from %s; its versions: %s", who,
                        spi_day_text(e->remove, d), list_text(list, old->versions, nold));
    if (nold == 1)
        return spi_fail(ctx, SP_EINVAL, "%s: version %s is its only version (a plan keeps at "
                                        "least one)",
                        who, span_text(s, old->versions[0].from, old->versions[0].to));
    for (size_t i = 0; i < nold; i++)
        if (i != k)
            set[m++] = old->versions[i];
    *n = m;
    return SP_OK;
}

static int edit_tx(spi_store *tx, void *arg)
{
    edit_job *j = arg;
    const spi_cplan_edit *e = j->e;
    sp_ctx *ctx = tx->ctx;
    const char *plan = j->names[0];
    char who[WHO_CAP], whor[WHO_CAP];
    size_t count;
    uint32_t last;
    int rc = spi_stored_versions(tx, &cplan_stored, j->names, NULL, &count, &last);
    if (rc != SP_OK)
        return rc;
    who_text(who, plan, 0);
    if (last != e->expected) {
        char stored[48];
        if (last == 0)
            snprintf(stored, sizeof stored, "no revision is stored");
        else
            snprintf(stored, sizeof stored, "revision %u is stored", (unsigned)last);
        return spi_fail(ctx, SP_ECONFLICT, "%s: %s, the %s was based on revision %u%s", who,
                        stored, e->add != NULL ? "save" : "removal", (unsigned)e->expected,
                        e->expected == 0 ? " (a new plan)" : "");
    }
    if (last == 0 && e->add == NULL)
        return spi_fail(ctx, SP_ENOTFOUND, "%s is not in the store", who);
    spi_cplan_rev *old = NULL;
    if (last > 0 && (rc = load_rev(tx, j->names, last, &old)) != SP_OK)
        return rc;
    spi_cplan *set = spi_malloc_array(ctx, (old != NULL ? old->n : 0) + 1, sizeof *set);
    size_t n = 0;
    rev_out o;
    if (set == NULL)
        rc = SP_ENOMEM;
    else if ((rc = apply_edit(ctx, who_text(whor, plan, last), e, old, set, &n)) == SP_OK &&
             (rc = check_set(ctx, SP_EINVAL, who, set, n)) == SP_OK &&
             (rc = rev_out_init(ctx, &o, set, n, e->chunk_rows)) == SP_OK)
        rc = spi_stored_save(tx, &cplan_stored, j->names, &o, o.chunks.count, &j->revision);
    spi_free(ctx, set);
    spi_cplan_rev_free(old);
    return rc;
}

int spi_cplan_store_edit(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                         const spi_cplan_edit *e, uint32_t *revision)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (e == NULL || revision == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: %s is NULL",
                        e == NULL ? "edit" : "revision");
    int rc = spi_plan_check_name(ctx, "commission plan: id", plan, SPI_CPLAN_ID_MAX);
    if (rc != SP_OK)
        return rc;
    char who[WHO_CAP], q[SPI_QUOTE_CAP];
    if (e->add != NULL && (e->add->plan == NULL || strcmp(e->add->plan, plan) != 0))
        return spi_fail(ctx, SP_EINVAL, "%s: the version is of plan %s", who_text(who, plan, 0),
                        e->add->plan == NULL
                            ? "(none)"
                            : spi_quote(q, e->add->plan, strlen(e->add->plan)));
    edit_job j = { { plan }, e, 0 };
    if ((rc = spi_store_write(ctx, storage, edit_tx, &j)) == SP_OK)
        *revision = j.revision;
    return rc;
}

int spi_cplan_store_save(sp_ctx *ctx, const sp_storage *storage, const spi_cplan *version,
                         uint32_t expected, uint32_t *revision)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (version == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: version is NULL");
    spi_cplan_edit e = { version, 0, expected, 0 };
    return spi_cplan_store_edit(ctx, storage, version->plan, &e, revision);
}

int spi_cplan_store_remove(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                           int32_t from, uint32_t expected, uint32_t *revision)
{
    spi_cplan_edit e = { NULL, from, expected, 0 };
    return spi_cplan_store_edit(ctx, storage, plan, &e, revision);
}
