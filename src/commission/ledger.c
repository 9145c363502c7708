/*
 * The commission ledger (ledger.h; docs/commission.md, "Statements and the ledger"): three
 * stored object types of the record layer (src/record/stored.h). The ledger record of a
 * plan lists its statements objects with their periods' states; a period's own statements
 * and its correction sections are objects of their own, each a head and chunks whose rows
 * are payees and lines at once (chunk k holds payees and lines from k x chunk_nodes on, as
 * a target set's chunks hold nodes and profiles). So closing a period rewrites the small
 * ledger record only, and one payee's statement is read from the few chunks that hold it.
 * Every post and close is one transaction; reading is strict.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "../money/numeric.h"
#include "../record/record.h"
#include "../targets/plan.h"
#include "ledger.h"

#define WHAT "commission ledger"
#define LEDGER_TYPE "commission.ledger"
#define LEDGER_CHUNK_TYPE "commission.ledger.chunk"
#define ST_TYPE "commission.statements"
#define ST_CHUNK_TYPE "commission.statements.chunk"
#define DELTA_TYPE "commission.delta"
#define DELTA_CHUNK_TYPE "commission.delta.chunk"
#define FORMAT_V 1u
/* Lines and payees of one object: row indices of its chunks are u32 (stored.h). */
#define ROWS_MAX ((uint64_t)UINT32_MAX - 3u)

static const char *const state_names[] = { "open", "closed" };
/* Periods a fiscal year has, per spi_cplan_period. */
static const uint32_t grain_count[] = { 12, 4, 1 };

/* A column of n values, `write` writing value i (in a function with a writer `w`). */
#define COLUMN(key, n, write)                                                                 \
    do {                                                                                      \
        spi_writer_key(w, key);                                                               \
        spi_writer_begin_array(w);                                                            \
        for (size_t i = 0; i < (n); i++)                                                      \
            write;                                                                            \
        spi_writer_end_array(w);                                                              \
    } while (0)

/* Read a column of n values with `call` (into scratch), then set each row's field to
 * `value` (of i); returns the error (in a function with an `int rc`). */
#define SCATTER(call, rows, n, field, value)                                                  \
    do {                                                                                      \
        if ((rc = (call)) != SP_OK)                                                           \
            return rc;                                                                        \
        for (size_t i = 0; i < (n); i++)                                                      \
            (rows)[i].field = value;                                                          \
    } while (0)

/* v is a value of the records: -(2^63 - 1) .. 2^63 - 1. */
static bool i128_fits(spi_i128 v)
{
    return v <= INT64_MAX && v >= -INT64_MAX;
}

/* ==== periods ==== */

bool spi_cledger_period_key(const spi_cledger_period *p, char *buf)
{
    if (p == NULL || p->fiscal_year < 1 || p->fiscal_year > 9999 ||
        p->grain > SPI_CPERIOD_YEAR || p->index >= grain_count[p->grain])
        return false;
    /* YYYY, then -Qn or -Mnn: written digit by digit (the compiler cannot bound a %d). */
    unsigned fy = (unsigned)p->fiscal_year, n = p->index + 1;
    char *o = buf;
    for (unsigned d = 1000; d > 0; d /= 10)
        *o++ = (char)('0' + fy / d % 10);
    if (p->grain != SPI_CPERIOD_YEAR) {
        *o++ = '-';
        *o++ = p->grain == SPI_CPERIOD_QUARTER ? 'Q' : 'M';
        if (p->grain == SPI_CPERIOD_MONTH)
            *o++ = (char)('0' + n / 10);
        *o++ = (char)('0' + n % 10);
    }
    *o = '\0';
    return true;
}

static bool digit(char c)
{
    return c >= '0' && c <= '9';
}

bool spi_cledger_period_parse(const char *key, size_t len, spi_cledger_period *out)
{
    if (key == NULL || len < 4 || len > 8)
        return false;
    int32_t fy = 0;
    for (size_t i = 0; i < 4; i++) {
        if (!digit(key[i]))
            return false;
        fy = fy * 10 + (key[i] - '0');
    }
    spi_cledger_period p = { fy, SPI_CPERIOD_YEAR, 0 };
    if (len == 7 && key[4] == '-' && key[5] == 'Q' && digit(key[6])) {
        p.grain = SPI_CPERIOD_QUARTER;
        p.index = (uint32_t)(key[6] - '0') - 1u;
    } else if (len == 8 && key[4] == '-' && key[5] == 'M' && digit(key[6]) && digit(key[7])) {
        p.grain = SPI_CPERIOD_MONTH;
        p.index = (uint32_t)((key[6] - '0') * 10 + (key[7] - '0')) - 1u;
    } else if (len != 4) {
        return false;
    }
    char canon[SPI_CLEDGER_KEY_CAP];
    if (!spi_cledger_period_key(&p, canon) || strlen(canon) != len || memcmp(canon, key, len))
        return false;
    *out = p;
    return true;
}

/* Fiscal year, then month, quarter, year, then index. */
static int period_cmp(const spi_cledger_period *a, const spi_cledger_period *b)
{
    if (a->fiscal_year != b->fiscal_year)
        return a->fiscal_year < b->fiscal_year ? -1 : 1;
    if (a->grain != b->grain)
        return a->grain < b->grain ? -1 : 1;
    return a->index < b->index ? -1 : a->index > b->index;
}

/* A period's own statements first, then its corrections by the key corrected. */
static int entry_cmp(const spi_cledger_entry *a, const spi_cledger_entry *b)
{
    int c = period_cmp(&a->period, &b->period);
    return c != 0 ? c : strcmp(a->corrects, b->corrects);
}

/* ==== the ledger record ==== */

typedef struct ledger_out {
    const char *plan;
    const spi_cledger_list *l;
    spi_chunking chunks;
} ledger_out;

static void ledger_encode_head(const void *obj, uint32_t revision, spi_writer *w)
{
    const ledger_out *o = obj;
    spi_writer_key(w, "plan");
    spi_writer_cstr(w, o->plan);
    spi_writer_member_int(w, "revision", revision);
    spi_stored_write_chunking(w, (uint32_t)o->l->n, &o->chunks);
}

static void ledger_encode_chunk(const void *obj, uint32_t revision, uint32_t k, spi_writer *w)
{
    const ledger_out *o = obj;
    const size_t n = spi_chunking_items(&o->chunks, k, o->l->n);
    const spi_cledger_entry *e = o->l->entries + (size_t)k * o->chunks.nodes;
    spi_writer_key(w, "plan");
    spi_writer_cstr(w, o->plan);
    spi_writer_member_int(w, "revision", revision);
    spi_stored_write_chunk_at(w, &o->chunks, k);
    COLUMN("period", n, spi_writer_cstr(w, e[i].key));
    COLUMN("corrects", n,
           e[i].corrects[0] == '\0' ? spi_writer_null(w) : spi_writer_cstr(w, e[i].corrects));
    COLUMN("state", n, spi_writer_enum(w, state_names, SPI_ARRAY_LEN(state_names), e[i].state));
    COLUMN("statements_revision", n, spi_writer_int(w, e[i].revision));
    COLUMN("payees", n, spi_writer_int(w, e[i].npayees));
    COLUMN("lines", n, spi_writer_int(w, (int64_t)e[i].nlines));
    COLUMN("total", n, spi_writer_int(w, e[i].total));
}

typedef struct ledger_in {
    sp_ctx *ctx;
    char plan[SPI_CPLAN_ID_MAX + 1];
    spi_chunking chunks;
    spi_cledger_list l;
    int64_t *scratch; /* one chunk's values of a column */
} ledger_in;

static void ledger_in_free(void *arg)
{
    ledger_in *in = arg;
    if (in == NULL)
        return;
    spi_cledger_list_free(in->ctx, &in->l);
    spi_free(in->ctx, in->scratch);
    spi_free(in->ctx, in);
}

/* A string member into buf (cap bytes with the NUL): 1 .. cap - 1 bytes without U+0000. */
static int read_name(const spi_rdoc *doc, const spi_rnode *node, const char *key, char *buf,
                     size_t cap)
{
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, node, key, SPI_REC_NO_NUL, &s, &len);
    if (rc != SP_OK)
        return rc;
    if (len == 0 || len >= cap)
        return spi_rec_fail(doc, key != NULL ? spi_rnode_member(doc, node, key) : node,
                            "a name of 1 to %zu bytes, found %zu", cap - 1, len);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return SP_OK;
}

/* A period key (member `key` of node, or node itself): canonical, into buf and *p. */
static int read_period(const spi_rdoc *doc, const spi_rnode *node, const char *key, char *buf,
                       spi_cledger_period *p)
{
    const spi_rnode *v = key != NULL ? spi_rnode_member(doc, node, key) : node;
    const char *s;
    size_t len;
    int rc = spi_rec_string(doc, node, key, 0, &s, &len);
    if (rc == SP_OK && !spi_cledger_period_parse(s, len, p))
        return spi_rec_fail(doc, v, "'%.*s' is no period key (\"2027\", \"2027-Q1\", "
                                    "\"2027-M03\")",
                            (int)(len < 32 ? len : 32), s);
    if (rc == SP_OK)
        spi_cledger_period_key(p, buf);
    return rc;
}

static const spi_stored_type ledger_type;

static int ledger_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                         uint32_t present, uint32_t *chunks)
{
    ledger_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    spi_rdoc *doc = NULL;
    uint32_t n = 0;
    int rc = spi_stored_open_head(&doc, ctx, &ledger_type, head, len);
    if (rc == SP_OK) {
        const spi_rnode *root = spi_rdoc_root(doc);
        if ((rc = read_name(doc, root, "plan", in->plan, sizeof in->plan)) == SP_OK &&
            (rc = spi_rec_u32(doc, root, "revision", 0, 1, UINT32_MAX, &in->l.revision)) ==
                SP_OK)
            rc = spi_stored_read_chunking(doc, root, 0, present, &n, &in->chunks);
    }
    spi_rdoc_free(doc);
    if (rc == SP_OK) {
        in->l.entries = spi_calloc(ctx, n, sizeof *in->l.entries);
        in->scratch = spi_malloc_array(ctx, in->chunks.nodes, sizeof *in->scratch);
        if (in->l.entries == NULL || in->scratch == NULL)
            rc = SP_ENOMEM;
        in->l.n = n;
    }
    if (rc != SP_OK) {
        ledger_in_free(in);
        return rc;
    }
    *chunks = in->chunks.count;
    *out = in;
    return SP_OK;
}

/* A string column of n period keys (or null where `nullable`) into rows' key fields. */
static int read_keys(const spi_rdoc *doc, const spi_rnode *root, const char *key, size_t n,
                     bool nullable, spi_cledger_entry *e)
{
    const spi_rnode *arr;
    size_t count;
    spi_cledger_period p;
    int rc = spi_rec_array(doc, root, key, 0, &arr, &count);
    if (rc == SP_OK && count != n)
        return spi_rec_fail(doc, arr, "%zu values where %zu are due", count, n);
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        const spi_rnode *v = spi_rnode_at(doc, arr, i);
        if (!nullable)
            rc = read_period(doc, v, NULL, e[i].key, &e[i].period);
        else if (spi_rnode_type(v) != SPI_RNULL)
            rc = read_period(doc, v, NULL, e[i].corrects, &p);
    }
    return rc;
}

static int read_entries(const spi_rdoc *doc, const spi_rnode *root, size_t n,
                        spi_cledger_entry *e, int64_t *v)
{
    uint32_t *u = (uint32_t *)v;
    int rc;
    if ((rc = read_keys(doc, root, "period", n, false, e)) != SP_OK ||
        (rc = read_keys(doc, root, "corrects", n, true, e)) != SP_OK)
        return rc;
    SCATTER(spi_col_read_enum(doc, root, "state", n, state_names, SPI_ARRAY_LEN(state_names), u),
            e, n, state, u[i]);
    SCATTER(spi_col_read_u32(doc, root, "statements_revision", n, 1, UINT32_MAX, u), e, n,
            revision, u[i]);
    SCATTER(spi_col_read_u32(doc, root, "payees", n, 1, (uint32_t)ROWS_MAX, u), e, n, npayees,
            u[i]);
    SCATTER(spi_col_read_i64(doc, root, "lines", n, 0, (int64_t)ROWS_MAX, v, NULL), e, n, nlines,
            (uint64_t)v[i]);
    SCATTER(spi_col_read_i64(doc, root, "total", n, -INT64_MAX, INT64_MAX, v, NULL), e, n, total,
            v[i]);
    return SP_OK;
}

static int ledger_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    ledger_in *in = arg;
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, &ledger_type, &in->chunks, k, data, len);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_stored_check_owner_str(doc, "plan", "ledger", in->plan)) == SP_OK &&
        (rc = spi_stored_check_owner_u32(doc, "revision", in->l.revision)) == SP_OK)
        rc = read_entries(doc, spi_rdoc_root(doc), spi_chunking_items(&in->chunks, k, in->l.n),
                          in->l.entries + (size_t)k * in->chunks.nodes, in->scratch);
    spi_rdoc_free(doc);
    return rc;
}

/* The entry of (key, corrects) in l, or -1. */
static ptrdiff_t find_entry(const spi_cledger_list *l, const char *key, const char *corrects)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->entries[i].key, key) == 0 && strcmp(l->entries[i].corrects, corrects) == 0)
            return (ptrdiff_t)i;
    return -1;
}

/* The state of a period in l; false when it has no entry. */
static bool period_state(const spi_cledger_list *l, const char *key, uint32_t *state)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->entries[i].key, key) == 0) {
            *state = l->entries[i].state;
            return true;
        }
    return false;
}

static int ledger_in_finish(void *arg, void **out)
{
    ledger_in *in = arg;
    const spi_cledger_list *l = &in->l;
    for (size_t i = 0; i < l->n; i++) {
        const spi_cledger_entry *e = &l->entries[i];
        uint32_t state;
        if (i > 0 && entry_cmp(&l->entries[i - 1], e) >= 0)
            return spi_fail(in->ctx, SP_ECORRUPT,
                            "record " LEDGER_TYPE ": entry %zu (%s%s%s) is not after entry %zu "
                            "(by period, then the period corrected)",
                            i, e->key, e->corrects[0] ? " correcting " : "", e->corrects, i - 1);
        if (i > 0 && strcmp(l->entries[i - 1].key, e->key) == 0 &&
            l->entries[i - 1].state != e->state)
            return spi_fail(in->ctx, SP_ECORRUPT,
                            "record " LEDGER_TYPE ": entry %zu: %s is %s in entry %zu and %s "
                            "here",
                            i, e->key, state_names[l->entries[i - 1].state], i - 1,
                            state_names[e->state]);
        if (e->corrects[0] == '\0')
            continue;
        if (strcmp(e->corrects, e->key) == 0)
            return spi_fail(in->ctx, SP_ECORRUPT,
                            "record " LEDGER_TYPE ": entry %zu: %s corrects itself", i, e->key);
        if (!period_state(l, e->corrects, &state) || state != SPI_CLEDGER_CLOSED)
            return spi_fail(in->ctx, SP_ECORRUPT,
                            "record " LEDGER_TYPE ": entry %zu: %s corrects %s, which is %s", i,
                            e->key, e->corrects,
                            period_state(l, e->corrects, &state) ? "open" : "not in the ledger");
    }
    spi_cledger_list *l_out = spi_malloc(in->ctx, sizeof *l_out);
    if (l_out == NULL)
        return SP_ENOMEM;
    *l_out = in->l;
    memset(&in->l, 0, sizeof in->l);
    *out = l_out;
    return SP_OK;
}

static const spi_stored_type ledger_type = {
    WHAT, LEDGER_TYPE, LEDGER_CHUNK_TYPE, FORMAT_V, FORMAT_V, SPI_STORED_REVISED, 1, NULL, NULL,
    ledger_encode_head, ledger_encode_chunk, ledger_in_new, ledger_in_chunk, ledger_in_finish,
    ledger_in_free,
};

void spi_cledger_list_free(sp_ctx *ctx, spi_cledger_list *list)
{
    if (list == NULL)
        return;
    spi_free(ctx, list->entries);
    memset(list, 0, sizeof *list);
}

/* The ledger of `plan` into *l; *found false (and an empty list) when none is stored. */
static int ledger_get(spi_store *s, const char *plan, spi_cledger_list *l, bool *found)
{
    const char *names[] = { plan };
    void *obj;
    memset(l, 0, sizeof *l);
    int rc = spi_stored_load(s, &ledger_type, names, 0, &obj);
    *found = rc == SP_OK;
    if (rc == SP_ENOTFOUND)
        return SP_OK;
    if (rc != SP_OK)
        return rc;
    *l = *(spi_cledger_list *)obj;
    spi_free(s->ctx, obj);
    return SP_OK;
}

static int ledger_put(spi_store *tx, const char *plan, spi_cledger_list *l)
{
    const char *names[] = { plan };
    ledger_out o = { plan, l, spi_chunking_make(0, 7, 2 * 19 + 5 * SPI_STORED_NUM_BYTES, l->n) };
    return spi_stored_save(tx, &ledger_type, names, &o, o.chunks.count, &l->revision);
}

/* Insert or replace the entry e, keeping the order. */
static int put_entry(sp_ctx *ctx, spi_cledger_list *l, const spi_cledger_entry *e)
{
    ptrdiff_t at = find_entry(l, e->key, e->corrects);
    if (at >= 0) {
        l->entries[at] = *e;
        return SP_OK;
    }
    spi_cledger_entry *grown = spi_realloc_array(ctx, l->entries, l->n + 1, sizeof *grown);
    if (grown == NULL)
        return SP_ENOMEM;
    l->entries = grown;
    size_t i = l->n;
    while (i > 0 && entry_cmp(&grown[i - 1], e) > 0)
        i--;
    memmove(&grown[i + 1], &grown[i], (l->n - i) * sizeof *grown);
    grown[i] = *e;
    l->n++;
    return SP_OK;
}

/* ==== statements objects: a period's own statements, or its corrections ==== */

/* What the encoder writes. */
typedef struct post_out {
    const char *plan, *period, *corrects; /* corrects NULL: the period's own statements */
    int32_t plan_from;
    uint32_t plan_revision;
    const char *currency;
    int32_t exponent;
    uint32_t mode, policy;
    size_t nc;
    const char *const *components;
    const bool *due;               /* own statements: per component */
    const int32_t *first, *end;
    size_t np;
    const char *const *payees;
    const uint64_t *from;          /* np: each payee's first line */
    const uint64_t *count;         /* np: its lines */
    const int64_t *totals, *measures; /* np x nc */
    size_t nlines;
    const spi_cline *lines;
    int64_t total;
    spi_chunking chunks;
} post_out;

static void write_owner(spi_writer *w, const post_out *o, uint32_t revision)
{
    spi_writer_key(w, "plan");
    spi_writer_cstr(w, o->plan);
    spi_writer_key(w, "period");
    spi_writer_cstr(w, o->period);
    if (o->corrects != NULL) {
        spi_writer_key(w, "corrects");
        spi_writer_cstr(w, o->corrects);
    }
    spi_writer_member_int(w, "revision", revision);
}

static void st_encode_head(const void *obj, uint32_t revision, spi_writer *w)
{
    const post_out *o = obj;
    write_owner(w, o, revision);
    spi_writer_member_int(w, "plan_from", o->plan_from);
    spi_writer_member_int(w, "plan_revision", o->plan_revision);
    spi_writer_key(w, "currency");
    spi_writer_cstr(w, o->currency);
    spi_writer_member_int(w, "exponent", o->exponent);
    spi_writer_key(w, "rounding");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "mode", spi_cplan_round_names, SPI_CPLAN_ROUND_MODES, o->mode);
    spi_writer_member_enum(w, "policy", spi_cplan_policy_names, SPI_CPLAN_POLICIES, o->policy);
    spi_writer_end_object(w);
    spi_col_write_str(w, "components", o->components, o->nc);
    if (o->corrects == NULL) {
        COLUMN("due", o->nc, spi_writer_bool(w, o->due[i]));
        spi_col_write_i32(w, "first_day", o->first, o->nc);
        spi_col_write_i32(w, "end_day", o->end, o->nc);
    }
    spi_writer_member_int(w, "nlines", (int64_t)o->nlines);
    spi_writer_member_int(w, "total", o->total);
    spi_stored_write_chunking(w, (uint32_t)o->np, &o->chunks);
}

/* own is the default: earned - true_up. */
static bool own_default(const spi_cline *x)
{
    return (spi_i128)x->own == (spi_i128)x->earned - x->true_up;
}

/* The columns of lines l[0 .. n), rows first .. first + n - 1: seven dense columns, then
 * the members of the lines that differ from their defaults (kind "order", share 1, own
 * earned - true_up, true_up 0, tier_before tier_after) as a sparse column: most lines have
 * none, and a line's bytes are what every layer below (copies, checksums, the disk) pays
 * for. */
static void write_lines(spi_writer *w, const spi_cline *l, size_t n, size_t first)
{
    COLUMN("fact", n, spi_writer_int(w, (int64_t)l[i].fact));
    COLUMN("day", n, spi_writer_int(w, l[i].day));
    COLUMN("component", n, spi_writer_int(w, l[i].component));
    COLUMN("base", n, spi_writer_int(w, l[i].base));
    COLUMN("earned", n, spi_writer_int(w, l[i].earned));
    COLUMN("rate", n, spi_writer_dec(w, l[i].rate));
    COLUMN("tier_after", n, spi_writer_int(w, l[i].tier_after));
    spi_writer_key(w, "exceptions");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < n; i++) {
        const spi_cline *x = &l[i];
        if (x->kind == SPI_CLINE_ORDER && x->share == SP_DEC_ONE && x->true_up == 0 &&
            own_default(x) && x->tier_before == x->tier_after)
            continue;
        spi_writer_begin_object(w);
        spi_writer_member_int(w, SPI_COL_ROW, (int64_t)(first + i));
        if (x->kind != SPI_CLINE_ORDER)
            spi_writer_member_enum(w, "kind", spi_cline_kind_names, SPI_CLINE_KINDS, x->kind);
        if (x->share != SP_DEC_ONE)
            spi_writer_member_dec(w, "share", (sp_dec)x->share);
        if (!own_default(x))
            spi_writer_member_int(w, "own", x->own);
        if (x->true_up != 0)
            spi_writer_member_int(w, "true_up", x->true_up);
        if (x->tier_before != x->tier_after)
            spi_writer_member_int(w, "tier_before", x->tier_before);
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
}

static void st_encode_chunk(const void *obj, uint32_t revision, uint32_t k, spi_writer *w)
{
    const post_out *o = obj;
    const size_t p0 = (size_t)k * o->chunks.nodes, np = spi_chunking_items(&o->chunks, k, o->np),
                 nc = o->nc;
    write_owner(w, o, revision);
    spi_stored_write_chunk_at(w, &o->chunks, k);
    spi_col_write_str(w, "payees", o->payees + p0, np);
    COLUMN("line_first", np, spi_writer_int(w, (int64_t)o->from[p0 + i]));
    COLUMN("line_count", np, spi_writer_int(w, (int64_t)o->count[p0 + i]));
    spi_col_write_i64(w, "totals", o->totals + p0 * nc, NULL, np * nc);
    spi_col_write_i64(w, "measures", o->measures + p0 * nc, NULL, np * nc);
    write_lines(w, o->lines + p0, spi_chunking_items(&o->chunks, k, o->nlines), p0);
}

/* Rows per chunk: a payee row (its id, two counts, its totals and measures) and a line row
 * (seven values, and at most an exception of six members) share a row index. */
static spi_chunking st_chunking(size_t np, size_t nlines, size_t nc, size_t id_max)
{
    const uint64_t values = 3 + 2 * (uint64_t)nc + 7 + 7,
                   bytes = SPI_STORED_STR_BYTES(id_max) +
                           (4 + 2 * (uint64_t)nc + 7 + 6) * SPI_STORED_NUM_BYTES + 80;
    return spi_chunking_make(0, values, bytes, np > nlines ? np : nlines);
}

/* ---- reading ---- */

static const spi_stored_type st_type, delta_type;

void spi_cposting_free(sp_ctx *ctx, spi_cposting *p)
{
    if (p == NULL)
        return;
    for (size_t c = 0; p->components != NULL && c < p->ncomponents; c++)
        spi_free(ctx, p->components[c]);
    for (size_t i = 0; p->payees != NULL && i < p->npayees; i++)
        spi_free(ctx, p->payees[i]);
    spi_free(ctx, p->components);
    spi_free(ctx, p->due);
    spi_free(ctx, p->first);
    spi_free(ctx, p->end);
    spi_free(ctx, p->payees);
    spi_free(ctx, p->statements);
    spi_free(ctx, p->totals);
    spi_free(ctx, p->measures);
    spi_free(ctx, p->lines);
    memset(p, 0, sizeof *p);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Two equal names among s[0 .. n): the first pair found, or -1 (sorted copies; *dup gets
 * one of the pair). ENOMEM as -2. */
static int find_duplicate(sp_ctx *ctx, char *const *s, size_t n, const char **dup)
{
    const char **sorted = spi_malloc_array(ctx, n, sizeof *sorted);
    if (sorted == NULL)
        return -2;
    memcpy(sorted, s, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_str_ptr);
    int found = -1;
    for (size_t i = 1; i < n && found < 0; i++)
        if (strcmp(sorted[i - 1], sorted[i]) == 0) {
            *dup = sorted[i];
            found = 0;
        }
    spi_free(ctx, sorted);
    return found;
}

/*
 * The head of a statements object: its scalars, components and counts into p (no per-row
 * arrays), its chunking into *c. present: the chunks found (UINT32_MAX when not counted:
 * the chunks read are then fetched one by one).
 */
static int read_st_head(sp_ctx *ctx, const spi_rdoc *doc, const spi_stored_type *t,
                        uint32_t present, spi_cposting *p, spi_chunking *c)
{
    const spi_rnode *root = spi_rdoc_root(doc), *comps, *rounding, *due;
    const bool delta = t == &delta_type;
    spi_cledger_period at;
    int64_t from, exponent, nlines;
    uint32_t np;
    const char *cur;
    size_t len, nc;
    int32_t want_exponent;
    int rc;
    if ((rc = read_name(doc, root, "plan", p->plan, sizeof p->plan)) != SP_OK ||
        (rc = read_period(doc, root, "period", p->period, &at)) != SP_OK ||
        (delta && (rc = read_period(doc, root, "corrects", p->corrects, &at)) != SP_OK) ||
        (rc = spi_rec_u32(doc, root, "revision", 0, 1, UINT32_MAX, &p->revision)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "plan_from", 0, SPI_DAY_MIN, SPI_DAY_MAX, &from)) != SP_OK ||
        (rc = spi_rec_u32(doc, root, "plan_revision", 0, 0, UINT32_MAX, &p->plan_revision)) !=
            SP_OK ||
        (rc = spi_rec_string(doc, root, "currency", SPI_REC_NO_NUL, &cur, &len)) != SP_OK ||
        (rc = spi_rec_int(doc, root, "exponent", 0, 0, SP_MONEY_MAX_EXPONENT, &exponent)) !=
            SP_OK ||
        (rc = spi_rec_object(doc, root, "rounding", 0, &rounding)) != SP_OK ||
        (rc = spi_rec_enum(doc, rounding, "mode", 0, spi_cplan_round_names,
                           SPI_CPLAN_ROUND_MODES, &p->rounding_mode)) != SP_OK ||
        (rc = spi_rec_enum(doc, rounding, "policy", 0, spi_cplan_policy_names,
                           SPI_CPLAN_POLICIES, &p->policy)) != SP_OK ||
        (rc = spi_rec_array(doc, root, "components", 0, &comps, &nc)) != SP_OK)
        return rc;
    p->plan_from = (int32_t)from;
    p->exponent = (int32_t)exponent;
    if (len == 3) {
        memcpy(p->currency, cur, 3);
        p->currency[3] = '\0';
    }
    if (len != 3 || sp_currency_exponent(p->currency, &want_exponent) != SP_OK ||
        want_exponent != exponent)
        return spi_rec_fail(doc, spi_rnode_member(doc, root, len == 3 ? "exponent" : "currency"),
                            len == 3 ? "the exponent of %.3s is not %lld"
                                     : "no ISO 4217 currency code ('%.3s'...)",
                            cur, (long long)exponent);
    if (nc == 0 || nc > UINT16_MAX)
        return spi_rec_fail(doc, comps, "%zu components (1 to %u)", nc, (unsigned)UINT16_MAX);
    p->components = spi_calloc(ctx, nc, sizeof *p->components);
    if (p->components == NULL)
        return SP_ENOMEM;
    p->ncomponents = nc;
    if ((rc = spi_col_read_str(doc, root, "components", nc, 0, p->components)) != SP_OK)
        return rc;
    for (size_t k = 0; k < nc; k++)
        if (p->components[k][0] == '\0' || strlen(p->components[k]) > SPI_CPLAN_ID_MAX)
            return spi_rec_fail(doc, spi_rnode_at(doc, comps, k),
                                "a component id has 1 to %u bytes", (unsigned)SPI_CPLAN_ID_MAX);
    const char *dup;
    if ((rc = find_duplicate(ctx, p->components, nc, &dup)) != -1)
        return rc == -2 ? SP_ENOMEM
                        : spi_rec_fail(doc, comps, "component '%s' is there twice", dup);
    if (!delta) {
        size_t ndue;
        p->due = spi_calloc(ctx, nc, sizeof *p->due);
        p->first = spi_malloc_array(ctx, nc, sizeof *p->first);
        p->end = spi_malloc_array(ctx, nc, sizeof *p->end);
        if (p->due == NULL || p->first == NULL || p->end == NULL)
            return SP_ENOMEM;
        if ((rc = spi_rec_array(doc, root, "due", 0, &due, &ndue)) != SP_OK)
            return rc;
        if (ndue != nc)
            return spi_rec_fail(doc, due, "%zu values where %zu are due", ndue, nc);
        for (size_t k = 0; k < nc && rc == SP_OK; k++)
            rc = spi_rec_bool(doc, spi_rnode_at(doc, due, k), NULL, 0, &p->due[k]);
        if (rc != SP_OK ||
            (rc = spi_col_read_i32(doc, root, "first_day", nc, SPI_DAY_MIN, SPI_DAY_MAX,
                                   p->first)) != SP_OK ||
            (rc = spi_col_read_i32(doc, root, "end_day", nc, SPI_DAY_MIN, SPI_DAY_MAX + 1,
                                   p->end)) != SP_OK)
            return rc;
    }
    if ((rc = spi_rec_int(doc, root, "nlines", 0, 0, (int64_t)ROWS_MAX, &nlines)) != SP_OK ||
        (rc = spi_rec_money(doc, root, "total", 0, &p->total)) != SP_OK ||
        (rc = spi_stored_read_chunking(doc, root, (uint64_t)nlines, present, &np, c)) != SP_OK)
        return rc;
    p->npayees = np;
    p->nlines = (size_t)nlines;
    return SP_OK;
}

/* A chunk belongs to the object p. */
static int check_owner(const spi_rdoc *doc, const spi_cposting *p, bool delta)
{
    int rc;
    if ((rc = spi_stored_check_owner_str(doc, "plan", "plan", p->plan)) != SP_OK ||
        (rc = spi_stored_check_owner_str(doc, "period", "period", p->period)) != SP_OK ||
        (delta && (rc = spi_stored_check_owner_str(doc, "corrects", "corrected period",
                                                   p->corrects)) != SP_OK))
        return rc;
    return spi_stored_check_owner_u32(doc, "revision", p->revision);
}

/* The payee columns of a chunk's n payee rows (ids not read): their first lines, line
 * counts, totals and measures (n x nc). */
static int read_payee_rows(const spi_rdoc *doc, const spi_rnode *root, size_t n, size_t nc,
                           uint64_t nlines, int64_t *from, int64_t *count, int64_t *totals,
                           int64_t *measures)
{
    const int64_t big = INT64_MAX;
    int rc;
    if ((rc = spi_col_read_i64(doc, root, "line_first", n, 0, (int64_t)nlines, from, NULL)) !=
            SP_OK ||
        (rc = spi_col_read_i64(doc, root, "line_count", n, 0, (int64_t)nlines, count, NULL)) !=
            SP_OK ||
        (rc = spi_col_read_i64(doc, root, "totals", n * nc, -big, big, totals, NULL)) != SP_OK)
        return rc;
    return spi_col_read_i64(doc, root, "measures", n * nc, -big, big, measures, NULL);
}

/* A line's exception: the members that differ from their defaults, each refused when it
 * holds the default (one encoding per line). */
static int read_exception(const spi_rdoc *doc, const spi_rnode *e, spi_cline *x)
{
    const spi_rnode *m;
    uint32_t u;
    sp_dec share;
    int64_t v;
    bool own = false, any = false;
    int rc;
    if ((m = spi_rnode_member(doc, e, "kind")) != NULL) {
        if ((rc = spi_rec_enum(doc, m, NULL, 0, spi_cline_kind_names, SPI_CLINE_KINDS, &u)) !=
            SP_OK)
            return rc;
        if (u == SPI_CLINE_ORDER)
            return spi_rec_fail(doc, m, "'order' is the default: an exception holds only what "
                                        "differs");
        x->kind = (uint8_t)u;
        any = true;
    }
    if ((m = spi_rnode_member(doc, e, "share")) != NULL) {
        if ((rc = spi_rec_dec(doc, m, NULL, 0, 0, SP_DEC_ONE - 1, &share)) != SP_OK)
            return rc;
        x->share = (uint32_t)share;
        any = true;
    }
    if ((m = spi_rnode_member(doc, e, "true_up")) != NULL) {
        if ((rc = spi_rec_int(doc, m, NULL, 0, -INT64_MAX, INT64_MAX, &x->true_up)) != SP_OK)
            return rc;
        if (x->true_up == 0)
            return spi_rec_fail(doc, m, "0 is the default: an exception holds only what differs");
        any = true;
    }
    if ((m = spi_rnode_member(doc, e, "own")) != NULL) {
        if ((rc = spi_rec_int(doc, m, NULL, 0, -INT64_MAX, INT64_MAX, &x->own)) != SP_OK)
            return rc;
        if (own_default(x))
            return spi_rec_fail(doc, m, "earned - true_up is the default: an exception holds "
                                        "only what differs");
        own = any = true;
    }
    if ((m = spi_rnode_member(doc, e, "tier_before")) != NULL) {
        if ((rc = spi_rec_int(doc, m, NULL, 0, 0, UINT16_MAX, &v)) != SP_OK)
            return rc;
        if (v == x->tier_after)
            return spi_rec_fail(doc, m, "tier_after is the default: an exception holds only "
                                        "what differs");
        x->tier_before = (uint16_t)v;
        any = true;
    }
    if (!any)
        return spi_rec_fail(doc, e, "an exception that holds nothing");
    if (!own) {
        const spi_i128 d = (spi_i128)x->earned - x->true_up;
        if (d > INT64_MAX || d < -INT64_MAX)
            return spi_rec_fail(doc, e, "own is absent and earned - true_up overflows");
        x->own = (int64_t)d;
    }
    return SP_OK;
}

/* The lines of a chunk's n line rows (rows first ..) into l[0 .. n); v: room for n values. */
static int read_line_rows(const spi_rdoc *doc, const spi_rnode *root, size_t n, size_t first,
                          size_t nc, spi_cline *l, int64_t *v)
{
    const int64_t big = INT64_MAX;
    uint32_t *u = (uint32_t *)v;
    int32_t *d = (int32_t *)v;
    int rc;
    memset(l, 0, n * sizeof *l);
    SCATTER(spi_col_read_i64(doc, root, "fact", n, 0, big, v, NULL), l, n, fact, (uint64_t)v[i]);
    SCATTER(spi_col_read_i32(doc, root, "day", n, SPI_DAY_MIN, SPI_DAY_MAX, d), l, n, day, d[i]);
    SCATTER(spi_col_read_u32(doc, root, "component", n, 0, (uint32_t)nc - 1, u), l, n, component,
            (uint16_t)u[i]);
    SCATTER(spi_col_read_i64(doc, root, "base", n, -big, big, v, NULL), l, n, base, v[i]);
    SCATTER(spi_col_read_i64(doc, root, "earned", n, -big, big, v, NULL), l, n, earned, v[i]);
    SCATTER(spi_col_read_dec(doc, root, "rate", n, -big, big, v), l, n, rate, v[i]);
    SCATTER(spi_col_read_u32(doc, root, "tier_after", n, 0, UINT16_MAX, u), l, n, tier_after,
            (uint16_t)u[i]);
    for (size_t i = 0; i < n; i++) {
        l[i].share = SP_DEC_ONE;
        l[i].own = l[i].earned;
        l[i].tier_before = l[i].tier_after;
    }
    spi_col_sparse sp;
    const spi_rnode *e;
    uint32_t row;
    rc = spi_col_sparse_open(&sp, doc, root, "exceptions", (uint32_t)first,
                             (uint32_t)(first + n));
    while (rc == SP_OK && spi_col_sparse_next(&sp, &rc, &e, &row))
        rc = read_exception(doc, e, &l[row - first]);
    return rc;
}

/* A payee's lines hold together: components ascending, each component's lines summing to
 * its total. `what` names the record in messages. */
static int check_payee_lines(sp_ctx *ctx, const char *what, const spi_cposting *p,
                             const char *payee, const spi_cline *l, size_t n,
                             const int64_t *totals)
{
    char q[SPI_QUOTE_CAP];
    size_t at = 0;
    for (size_t c = 0; c < p->ncomponents; c++) {
        spi_i128 sum = 0;
        for (; at < n && l[at].component == c; at++)
            sum += l[at].earned;
        if (sum != totals[c])
            return spi_fail(ctx, SP_ECORRUPT,
                            "record %s: payee %s: component '%s': its lines sum to %lld, its "
                            "total is %lld",
                            what, spi_quote(q, payee, strlen(payee)), p->components[c],
                            (long long)(i128_fits(sum) ? sum : 0),
                            (long long)totals[c]);
    }
    if (at != n)
        return spi_fail(ctx, SP_ECORRUPT,
                        "record %s: payee %s: line %zu: components are not in order (component %u "
                        "after a later one)",
                        what, spi_quote(q, payee, strlen(payee)), at, (unsigned)l[at].component);
    return SP_OK;
}

/* ---- a statements object loaded whole ---- */

typedef struct st_in {
    sp_ctx *ctx;
    const spi_stored_type *t;
    spi_chunking chunks;
    spi_cposting p;
    int64_t *from, *count; /* np: as read */
    int64_t *scratch;      /* one chunk's values of a line column */
} st_in;

static void st_in_free(void *arg)
{
    st_in *in = arg;
    if (in == NULL)
        return;
    spi_cposting_free(in->ctx, &in->p);
    spi_free(in->ctx, in->from);
    spi_free(in->ctx, in->count);
    spi_free(in->ctx, in->scratch);
    spi_free(in->ctx, in);
}

static int st_in_new_as(const spi_stored_type *t, void **out, sp_ctx *ctx, const uint8_t *head,
                        size_t len, uint32_t present, uint32_t *chunks)
{
    st_in *in = spi_calloc(ctx, 1, sizeof *in);
    if (in == NULL)
        return SP_ENOMEM;
    in->ctx = ctx;
    in->t = t;
    spi_rdoc *doc = NULL;
    int rc = spi_stored_open_head(&doc, ctx, t, head, len);
    if (rc == SP_OK)
        rc = read_st_head(ctx, doc, t, present, &in->p, &in->chunks);
    spi_rdoc_free(doc);
    if (rc == SP_OK) {
        spi_cposting *p = &in->p;
        const size_t np = p->npayees, nc = p->ncomponents;
        p->payees = spi_calloc(ctx, np, sizeof *p->payees);
        p->statements = spi_calloc(ctx, np, sizeof *p->statements);
        p->totals = spi_malloc_array(ctx, np, nc * sizeof *p->totals);
        p->measures = spi_malloc_array(ctx, np, nc * sizeof *p->measures);
        p->lines = spi_malloc_array(ctx, p->nlines, sizeof *p->lines);
        in->from = spi_malloc_array(ctx, np, sizeof *in->from);
        in->count = spi_malloc_array(ctx, np, sizeof *in->count);
        in->scratch = spi_malloc_array(ctx, in->chunks.nodes, sizeof *in->scratch);
        if (p->payees == NULL || p->statements == NULL || p->totals == NULL ||
            p->measures == NULL || p->lines == NULL || in->from == NULL || in->count == NULL ||
            in->scratch == NULL)
            rc = SP_ENOMEM;
    }
    if (rc != SP_OK) {
        st_in_free(in);
        return rc;
    }
    *chunks = in->chunks.count;
    *out = in;
    return SP_OK;
}

static int st_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len, uint32_t present,
                     uint32_t *chunks)
{
    return st_in_new_as(&st_type, out, ctx, head, len, present, chunks);
}

static int delta_in_new(void **out, sp_ctx *ctx, const uint8_t *head, size_t len,
                        uint32_t present, uint32_t *chunks)
{
    return st_in_new_as(&delta_type, out, ctx, head, len, present, chunks);
}

/* The ids of a chunk's n payees into ids[0 .. n): 1 .. 65535 bytes each. */
static int read_payee_ids(const spi_rdoc *doc, const spi_rnode *root, size_t n, char **ids)
{
    const spi_rnode *arr;
    size_t count;
    int rc = spi_col_read_str(doc, root, "payees", n, 0, ids);
    if (rc != SP_OK || (rc = spi_rec_array(doc, root, "payees", 0, &arr, &count)) != SP_OK)
        return rc;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ids[i]);
        if (len == 0 || len > UINT16_MAX)
            return spi_rec_fail(doc, spi_rnode_at(doc, arr, i),
                                "a payee id has 1 to 65535 bytes, found %zu", len);
    }
    return SP_OK;
}

static int st_in_chunk(void *arg, uint32_t k, const uint8_t *data, size_t len)
{
    st_in *in = arg;
    spi_cposting *p = &in->p;
    const size_t p0 = (size_t)k * in->chunks.nodes, nc = p->ncomponents,
                 np = spi_chunking_items(&in->chunks, k, p->npayees),
                 nl = spi_chunking_items(&in->chunks, k, p->nlines);
    spi_rdoc *doc;
    int rc = spi_stored_open_chunk(&doc, in->ctx, in->t, &in->chunks, k, data, len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc);
    if ((rc = check_owner(doc, p, in->t == &delta_type)) == SP_OK &&
        (rc = read_payee_ids(doc, root, np, p->payees + p0)) == SP_OK &&
        (rc = read_payee_rows(doc, root, np, nc, p->nlines, in->from + p0, in->count + p0,
                              p->totals + p0 * nc, p->measures + p0 * nc)) == SP_OK)
        rc = read_line_rows(doc, root, nl, p0, nc, p->lines + p0, in->scratch);
    spi_rdoc_free(doc);
    return rc;
}

static int st_in_finish(void *arg, void **out)
{
    st_in *in = arg;
    spi_cposting *p = &in->p;
    sp_ctx *ctx = in->ctx;
    const size_t nc = p->ncomponents;
    const char *what = in->t->head_type;
    char q[SPI_QUOTE_CAP];
    const char *dup;
    int rc = find_duplicate(ctx, p->payees, p->npayees, &dup);
    if (rc != -1)
        return rc == -2 ? SP_ENOMEM
                        : spi_fail(ctx, SP_ECORRUPT, "record %s: payee %s is there twice", what,
                                   spi_quote(q, dup, strlen(dup)));
    uint64_t at = 0;
    spi_i128 total = 0;
    for (size_t i = 0; i < p->npayees; i++) {
        if ((uint64_t)in->from[i] != at)
            return spi_fail(ctx, SP_ECORRUPT,
                            "record %s: payee %s: its lines start at %lld, not at %llu after "
                            "the lines of the payees before it",
                            what, spi_quote(q, p->payees[i], strlen(p->payees[i])),
                            (long long)in->from[i], (unsigned long long)at);
        if ((uint64_t)in->count[i] > p->nlines - at)
            return spi_fail(ctx, SP_ECORRUPT,
                            "record %s: payee %s: %lld lines from line %llu, beyond the %zu of "
                            "the head",
                            what, spi_quote(q, p->payees[i], strlen(p->payees[i])),
                            (long long)in->count[i], (unsigned long long)at, p->nlines);
        spi_cstatement *s = &p->statements[i];
        s->first = (size_t)at;
        s->nlines = (size_t)in->count[i];
        at += s->nlines;
        if ((rc = check_payee_lines(ctx, what, p, p->payees[i], p->lines + s->first, s->nlines,
                                    p->totals + i * nc)) != SP_OK)
            return rc;
        spi_i128 sum = 0;
        for (size_t c = 0; c < nc; c++)
            sum += p->totals[i * nc + c];
        if (!i128_fits(sum))
            return spi_fail(ctx, SP_ECORRUPT, "record %s: payee %s: its total overflows int64_t",
                            what, spi_quote(q, p->payees[i], strlen(p->payees[i])));
        s->total = (int64_t)sum;
        total += sum;
    }
    if (at != p->nlines)
        return spi_fail(ctx, SP_ECORRUPT,
                        "record %s: nlines: the payees hold %llu lines, the head %zu", what,
                        (unsigned long long)at, p->nlines);
    if (total != p->total)
        return spi_fail(ctx, SP_ECORRUPT,
                        "record %s: total: %lld is not the sum of the payees' totals", what,
                        (long long)p->total);
    spi_cposting *o = spi_malloc(ctx, sizeof *o);
    if (o == NULL)
        return SP_ENOMEM;
    *o = *p;
    memset(p, 0, sizeof *p);
    *out = o;
    return SP_OK;
}

static const char *const st_labels[] = { "of plan", "period" };
static const char *const delta_labels[] = { "of plan", "in", "for" };

static const spi_stored_type st_type = {
    "commission statements", ST_TYPE, ST_CHUNK_TYPE, FORMAT_V, FORMAT_V, SPI_STORED_REVISED,
    2, st_labels, &ledger_type, st_encode_head, st_encode_chunk, st_in_new, st_in_chunk,
    st_in_finish, st_in_free,
};

static const spi_stored_type delta_type = {
    "commission corrections", DELTA_TYPE, DELTA_CHUNK_TYPE, FORMAT_V, FORMAT_V,
    SPI_STORED_REVISED, 3, delta_labels, &ledger_type, st_encode_head, st_encode_chunk,
    delta_in_new, st_in_chunk, st_in_finish, st_in_free,
};

/* The object of entry e: its type and names. */
static const spi_stored_type *entry_object(const char *plan, const spi_cledger_entry *e,
                                           const char **names)
{
    names[0] = plan;
    names[1] = e->key;
    names[2] = e->corrects;
    return e->corrects[0] == '\0' ? &st_type : &delta_type;
}

/* The head is the object the ledger's entry names, and agrees with it. */
static int check_entry(sp_ctx *ctx, const char *plan, const spi_cledger_entry *e,
                       const spi_cposting *p, const char *what)
{
    if (strcmp(p->plan, plan) != 0 || strcmp(p->period, e->key) != 0 ||
        strcmp(p->corrects, e->corrects) != 0)
        return spi_fail(ctx, SP_ECORRUPT,
                        "record %s: plan '%s', period %s%s%s stored under plan '%s', period "
                        "%s%s%s",
                        what, p->plan, p->period, p->corrects[0] ? ", correcting " : "",
                        p->corrects, plan, e->key, e->corrects[0] ? ", correcting " : "",
                        e->corrects);
    if (p->revision == e->revision && p->npayees == e->npayees && p->nlines == e->nlines &&
        p->total == e->total)
        return SP_OK;
    return spi_fail(ctx, SP_ECORRUPT,
                    "record %s: revision %u, %zu payees, %zu lines, total %lld where the ledger "
                    "lists revision %u, %u payees, %llu lines, total %lld",
                    what, (unsigned)p->revision, p->npayees, p->nlines, (long long)p->total,
                    (unsigned)e->revision, (unsigned)e->npayees, (unsigned long long)e->nlines,
                    (long long)e->total);
}

/* The object of entry e, whole. */
static int load_entry(spi_store *s, const char *plan, const spi_cledger_entry *e,
                      spi_cposting *out)
{
    const char *names[3];
    const spi_stored_type *t = entry_object(plan, e, names);
    void *obj;
    int rc = spi_stored_load(s, t, names, 0, &obj);
    if (rc == SP_ENOTFOUND)
        return spi_fail_prefix(s->ctx, SP_ECORRUPT, NULL, "record " LEDGER_TYPE
                                                          ": an entry's object is missing");
    if (rc != SP_OK)
        return rc;
    spi_cposting *p = obj;
    if ((rc = check_entry(s->ctx, plan, e, p, t->head_type)) == SP_OK)
        *out = *p;
    else
        spi_cposting_free(s->ctx, p);
    spi_free(s->ctx, p);
    return rc;
}

/* ==== the run to post ==== */

/* A validated run. */
typedef struct run_prep {
    const spi_cledger_run *r;
    char key[SPI_CLEDGER_KEY_CAP];
    int32_t exponent;
    sp_dict *payees;     /* the run's payee ids: payee i is index i */
    uint64_t *from, *count; /* per payee: its first line and its lines */
    size_t id_max;       /* bytes of the longest payee id */
    int64_t total;
} run_prep;

static void prep_free(sp_ctx *ctx, run_prep *p)
{
    sp_dict_free(p->payees);
    spi_free(ctx, p->from);
    spi_free(ctx, p->count);
}

#define PLAN_MSG WHAT " %s"

static int check_lines(sp_ctx *ctx, const char *qp, run_prep *prep)
{
    const spi_cledger_run *r = prep->r;
    const spi_crun *run = r->run;
    const size_t nc = run->ncomponents;
    char q[SPI_QUOTE_CAP];
    uint64_t at = 0;
    spi_i128 total = 0;
    spi_i128 *sums = spi_malloc_array(ctx, nc, sizeof *sums);
    if (sums == NULL)
        return SP_ENOMEM;
    int rc = SP_OK;
    for (size_t p = 0; p < run->npayees && rc == SP_OK; p++) {
        const spi_cstatement *s = &run->statements[p];
        const char *pid = r->payees[p];
        if (s->nlines > 0 && s->first != at)
            rc = spi_fail(ctx, SP_EINVAL,
                          PLAN_MSG ": payee %s: its lines start at %zu, not at %llu after the "
                                   "lines of the payees before it",
                          qp, spi_quote(q, pid, strlen(pid)), s->first, (unsigned long long)at);
        else if (s->nlines > run->nlines - at)
            rc = spi_fail(ctx, SP_EINVAL,
                          PLAN_MSG ": payee %s: %zu lines from line %llu, beyond the run's %zu",
                          qp, spi_quote(q, pid, strlen(pid)), s->nlines, (unsigned long long)at,
                          run->nlines);
        if (rc != SP_OK)
            break;
        prep->from[p] = at;
        prep->count[p] = s->nlines;
        memset(sums, 0, nc * sizeof *sums);
        uint32_t prev = 0;
        for (size_t i = 0; i < s->nlines && rc == SP_OK; i++) {
            const spi_cline *l = &run->lines[at + i];
            const char *bad = NULL;
            if (l->component >= nc || l->component < prev)
                bad = l->component >= nc ? "component out of range" : "components out of order";
            else if (l->kind >= SPI_CLINE_KINDS)
                bad = "no such kind";
            else if (l->fact > (uint64_t)INT64_MAX)
                bad = "fact ids above 9223372036854775807 are not stored (the records' integers "
                      "stop there)";
            else if (l->share > SP_DEC_ONE)
                bad = "a share above 100%";
            else if (l->base == INT64_MIN || l->earned == INT64_MIN || l->own == INT64_MIN ||
                     l->true_up == INT64_MIN || l->rate == INT64_MIN)
                bad = "INT64_MIN in a value (the records hold -(2^63 - 1) .. 2^63 - 1)";
            else if (!spi_day_supported(l->day))
                bad = "a day outside the years 1 to 9999";
            if (bad != NULL) {
                rc = spi_fail(ctx, SP_EINVAL,
                              PLAN_MSG ": payee %s: line %llu (fact %llu, component %u): %s", qp,
                              spi_quote(q, pid, strlen(pid)), (unsigned long long)(at + i),
                              (unsigned long long)l->fact, (unsigned)l->component, bad);
                break;
            }
            prev = l->component;
            sums[l->component] += l->earned;
        }
        for (size_t c = 0; c < nc && rc == SP_OK; c++) {
            const int64_t t = run->totals[p * nc + c];
            char qc[SPI_QUOTE_CAP];
            if (t == INT64_MIN || run->measure[p * nc + c] == INT64_MIN)
                rc = spi_fail(ctx, SP_EINVAL,
                              PLAN_MSG ": payee %s: component %s: INT64_MIN as its total or "
                                       "measure (the records hold -(2^63 - 1) .. 2^63 - 1)",
                              qp, spi_quote(q, pid, strlen(pid)),
                              spi_quote(qc, r->components[c], strlen(r->components[c])));
            else if (sums[c] != t)
                rc = spi_fail(ctx, SP_EINVAL,
                              PLAN_MSG ": payee %s: component %s: its lines sum to %s%lld, its "
                                       "total is %lld",
                              qp, spi_quote(q, pid, strlen(pid)),
                              spi_quote(qc, r->components[c], strlen(r->components[c])),
                              i128_fits(sums[c]) ? "" : "beyond int64_t, not ",
                              (long long)(i128_fits(sums[c]) ? sums[c] : 0), (long long)t);
            total += t;
        }
        at += s->nlines;
    }
    spi_free(ctx, sums);
    if (rc == SP_OK && at != run->nlines)
        rc = spi_fail(ctx, SP_EINVAL, PLAN_MSG ": the payees' statements hold %llu of the run's "
                                               "%zu lines",
                      qp, (unsigned long long)at, run->nlines);
    if (rc == SP_OK && !i128_fits(total))
        rc = spi_fail(ctx, SP_EOVERFLOW, PLAN_MSG ": the run's total overflows int64_t", qp);
    prep->total = (int64_t)total;
    return rc;
}

/* Validate the run (everything but the stored state) and index its payees. */
static int prepare(sp_ctx *ctx, const spi_cledger_run *r, const spi_cledger_period *into,
                   run_prep *prep)
{
    memset(prep, 0, sizeof *prep);
    prep->r = r;
    if (r == NULL || r->run == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": the run is NULL");
    int rc = spi_plan_check_name(ctx, WHAT ": plan", r->plan, SPI_CPLAN_ID_MAX);
    if (rc != SP_OK)
        return rc;
    const spi_crun *run = r->run;
    char qp[SPI_QUOTE_CAP], into_key[SPI_CLEDGER_KEY_CAP];
    spi_quote(qp, r->plan, strlen(r->plan));
    if (!spi_cledger_period_key(&r->period, prep->key))
        return spi_fail(ctx, SP_EINVAL,
                        PLAN_MSG ": the run's period (fiscal year %d, grain %u, index %u) is no "
                                 "period of a plan's calendar",
                        qp, (int)r->period.fiscal_year, (unsigned)r->period.grain,
                        (unsigned)r->period.index);
    if (into != NULL && !spi_cledger_period_key(into, into_key))
        return spi_fail(ctx, SP_EINVAL,
                        PLAN_MSG ": post_into (fiscal year %d, grain %u, index %u) is no period "
                                 "of a plan's calendar",
                        qp, (int)into->fiscal_year, (unsigned)into->grain,
                        (unsigned)into->index);
    if (!spi_day_supported(r->plan_from))
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": plan_from %d is outside the years 1 to 9999",
                        qp, (int)r->plan_from);
    if (r->currency == NULL || sp_currency_exponent(r->currency, &prep->exponent) != SP_OK)
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": currency %s is no ISO 4217 code", qp,
                        r->currency != NULL ? r->currency : "NULL");
    if (r->rounding_mode >= SPI_CPLAN_ROUND_MODES || r->policy >= SPI_CPLAN_POLICIES)
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": rounding mode %u or policy %u is unknown", qp,
                        (unsigned)r->rounding_mode, (unsigned)r->policy);
    if (run->statements == NULL || (run->nlines > 0 && run->lines == NULL))
        return spi_fail(ctx, SP_EINVAL,
                        PLAN_MSG ": the run has no lines (compute it with its lines to post it)",
                        qp);
    if (run->npayees == 0 || run->ncomponents == 0 || run->ncomponents > UINT16_MAX ||
        run->npayees > ROWS_MAX || run->nlines > ROWS_MAX)
        return spi_fail(ctx, SP_EINVAL,
                        PLAN_MSG ": a run of %zu payees, %zu components and %zu lines (1 to "
                                 "%llu payees, 1 to %u components, up to %llu lines)",
                        qp, run->npayees, run->ncomponents, run->nlines,
                        (unsigned long long)ROWS_MAX, (unsigned)UINT16_MAX,
                        (unsigned long long)ROWS_MAX);
    if (r->payees == NULL || r->components == NULL || run->totals == NULL ||
        run->measure == NULL || run->due == NULL || run->first == NULL || run->end == NULL)
        return spi_fail(ctx, SP_EINVAL,
                        PLAN_MSG ": the payee or component ids, or the run's totals, measures "
                                 "or component periods are NULL",
                        qp);
    sp_dict *comps = NULL;
    if ((rc = sp_dict_new(&comps, ctx)) != SP_OK)
        return rc;
    for (size_t c = 0; c < run->ncomponents && rc == SP_OK; c++) {
        char what[64];
        snprintf(what, sizeof what, "components[%zu]", c);
        char full[sizeof what + SPI_QUOTE_CAP + 32];
        snprintf(full, sizeof full, WHAT " %s: %s", qp, what);
        if ((rc = spi_plan_check_name(ctx, full, r->components[c], SPI_CPLAN_ID_MAX)) == SP_OK &&
            (rc = sp_dict_add(comps, r->components[c], strlen(r->components[c]), NULL)) != SP_OK)
            rc = spi_fail_prefix(ctx, rc == SP_ENOMEM ? rc : SP_EINVAL, "dict: ", "%s", full);
        if (rc == SP_OK && (!spi_day_supported(run->first[c]) ||
                            !spi_day_supported((int64_t)run->end[c] - 1)))
            rc = spi_fail(ctx, SP_EINVAL, "%s: its period's days %d .. %d are outside the "
                                          "years 1 to 9999",
                          full, (int)run->first[c], (int)run->end[c]);
    }
    sp_dict_free(comps);
    if (rc != SP_OK || (rc = sp_dict_new(&prep->payees, ctx)) != SP_OK)
        return rc;
    for (size_t p = 0; p < run->npayees && rc == SP_OK; p++) {
        const char *id = r->payees[p];
        if (id == NULL)
            rc = spi_fail(ctx, SP_EINVAL, PLAN_MSG ": payees[%zu] is NULL", qp, p);
        else if ((rc = sp_dict_add(prep->payees, id, strlen(id), NULL)) != SP_OK)
            rc = spi_fail_prefix(ctx, rc == SP_ENOMEM ? rc : SP_EINVAL, "dict: ",
                                 PLAN_MSG ": payees[%zu]", qp, p);
        else if (strlen(id) > prep->id_max)
            prep->id_max = strlen(id);
    }
    if (rc != SP_OK)
        return rc;
    prep->from = spi_malloc_array(ctx, run->npayees, sizeof *prep->from);
    prep->count = spi_malloc_array(ctx, run->npayees, sizeof *prep->count);
    if (prep->from == NULL || prep->count == NULL)
        return SP_ENOMEM;
    return check_lines(ctx, qp, prep);
}

/* ==== corrections ==== */

/* One line of either side, for matching by (payee, component, fact, kind). */
typedef struct mline {
    uint64_t fact;
    uint32_t payee, comp; /* unified indices */
    uint8_t kind, posted; /* posted: 0 the recomputed truth, 1 what the ledger holds */
    const spi_cline *l;
} mline;

static int mline_cmp(const void *pa, const void *pb)
{
    const mline *a = pa, *b = pb;
    if (a->payee != b->payee)
        return a->payee < b->payee ? -1 : 1;
    if (a->comp != b->comp)
        return a->comp < b->comp ? -1 : 1;
    if (a->fact != b->fact)
        return a->fact < b->fact ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    return (int)a->posted - (int)b->posted;
}

/* The corrections computed: the object to write (no lines: nothing differs). */
typedef struct delta {
    size_t nc, np, nlines;
    const char **components; /* nc: pointers into the run or the postings */
    const char **payees;     /* np */
    uint64_t *from, *count;
    int64_t *totals, *measures;
    spi_cline *lines;
    int64_t total;
} delta;

static void delta_free(sp_ctx *ctx, delta *d)
{
    spi_free(ctx, d->components);
    spi_free(ctx, d->payees);
    spi_free(ctx, d->from);
    spi_free(ctx, d->count);
    spi_free(ctx, d->totals);
    spi_free(ctx, d->measures);
    spi_free(ctx, d->lines);
    memset(d, 0, sizeof *d);
}

/* The work of one computation, freed as a whole. */
typedef struct dwork {
    uint32_t **cmap, **pmap; /* per posting: its component and payee indices, unified */
    mline *m;
    spi_i128 *meas, *tot;    /* unified payees x components */
    uint8_t *keep;           /* unified payees in the corrections */
    uint64_t *nl;            /* unified payees: their lines in the corrections */
    size_t *at;              /* unified payees + 1: where their lines are placed */
} dwork;

/*
 * The corrections that bring `posted` (what the ledger holds for the closed period: its
 * statements and its corrections elsewhere) to the truth `prep`: per (payee, component,
 * fact, kind) the difference of the sums of base, earned, own and true_up. Unified payees
 * are the run's, then the postings' others in the order met; components likewise.
 */
static int compute_delta(sp_ctx *ctx, const char *qp, run_prep *prep, const spi_cposting *posted,
                         size_t nposted, delta *d, dwork *w)
{
    const spi_cledger_run *r = prep->r;
    const spi_crun *run = r->run;
    size_t nc = run->ncomponents, total_lines = run->nlines;
    int rc = SP_OK;
    char q[SPI_QUOTE_CAP], qc[SPI_QUOTE_CAP];
    for (size_t j = 0; j < nposted; j++)
        nc += posted[j].ncomponents, total_lines += posted[j].nlines;
    d->components = spi_malloc_array(ctx, nc, sizeof *d->components);
    w->cmap = spi_calloc(ctx, nposted + 1, sizeof *w->cmap);
    w->pmap = spi_calloc(ctx, nposted + 1, sizeof *w->pmap);
    w->m = spi_malloc_array(ctx, total_lines, sizeof *w->m);
    if (d->components == NULL || w->cmap == NULL || w->pmap == NULL || w->m == NULL)
        return SP_ENOMEM;
    d->nc = run->ncomponents;
    for (size_t c = 0; c < run->ncomponents; c++)
        d->components[c] = r->components[c];
    for (size_t j = 0; j < nposted; j++) {
        const spi_cposting *p = &posted[j];
        w->cmap[j] = spi_malloc_array(ctx, p->ncomponents, sizeof **w->cmap);
        w->pmap[j] = spi_malloc_array(ctx, p->npayees, sizeof **w->pmap);
        if (w->cmap[j] == NULL || w->pmap[j] == NULL)
            return SP_ENOMEM;
        for (size_t c = 0; c < p->ncomponents; c++) {
            size_t u = 0;
            while (u < d->nc && strcmp(d->components[u], p->components[c]) != 0)
                u++;
            if (u == d->nc)
                d->components[d->nc++] = p->components[c];
            w->cmap[j][c] = (uint32_t)u;
        }
        for (size_t i = 0; i < p->npayees; i++)
            if ((rc = sp_dict_intern(prep->payees, p->payees[i], strlen(p->payees[i]),
                                     &w->pmap[j][i])) != SP_OK)
                return rc;
    }
    nc = d->nc;
    const size_t np = sp_dict_count(prep->payees);
    w->meas = spi_calloc(ctx, np * nc, sizeof *w->meas);
    w->tot = spi_calloc(ctx, np * nc, sizeof *w->tot);
    w->keep = spi_calloc(ctx, np, 1);
    w->nl = spi_calloc(ctx, np, sizeof *w->nl);
    if (w->meas == NULL || w->tot == NULL || w->keep == NULL || w->nl == NULL)
        return SP_ENOMEM;
    /* Both sides' lines, placed by payee (counted first), then each payee's sorted by
     * (component, fact, kind, truth first): small sorts instead of one over every line. */
    w->at = spi_calloc(ctx, np + 1, sizeof *w->at);
    if (w->at == NULL)
        return SP_ENOMEM;
    for (size_t p = 0; p < run->npayees; p++) {
        for (size_t c = 0; c < run->ncomponents; c++)
            w->meas[p * nc + c] += run->measure[p * run->ncomponents + c];
        w->at[p + 1] += prep->count[p];
    }
    for (size_t j = 0; j < nposted; j++) {
        const spi_cposting *p = &posted[j];
        for (size_t i = 0; i < p->npayees; i++) {
            const uint32_t u = w->pmap[j][i];
            for (size_t c = 0; c < p->ncomponents; c++)
                w->meas[u * nc + w->cmap[j][c]] -= p->measures[i * p->ncomponents + c];
            w->at[u + 1] += p->statements[i].nlines;
        }
    }
    for (size_t u = 0; u < np; u++)
        w->at[u + 1] += w->at[u];
    const size_t n = w->at[np];
    for (size_t p = 0; p < run->npayees; p++)
        for (uint64_t i = prep->from[p]; i < prep->from[p] + prep->count[p]; i++) {
            const spi_cline *l = &run->lines[i];
            mline e = { l->fact, (uint32_t)p, l->component, l->kind, 0, l };
            w->m[w->at[p]++] = e;
        }
    for (size_t j = 0; j < nposted; j++) {
        const spi_cposting *p = &posted[j];
        for (size_t i = 0; i < p->npayees; i++) {
            const uint32_t u = w->pmap[j][i];
            const spi_cstatement *s = &p->statements[i];
            for (size_t k = s->first; k < s->first + s->nlines; k++) {
                const spi_cline *l = &p->lines[k];
                mline e = { l->fact, u, w->cmap[j][l->component], l->kind, 1, l };
                w->m[w->at[u]++] = e;
            }
        }
    }
    /* at[u] is now where payee u's lines end. */
    for (size_t u = 0, from = 0; u < np; from = w->at[u++])
        qsort(w->m + from, w->at[u] - from, sizeof *w->m, mline_cmp);
    /* Pass 1 counts the differing groups, pass 2 writes them. */
    for (int pass = 0; pass < 2; pass++) {
        size_t out = 0;
        for (size_t i = 0; i < n;) {
            const mline *g = &w->m[i];
            spi_i128 base = 0, earned = 0, own = 0, true_up = 0;
            size_t j = i;
            for (; j < n && w->m[j].payee == g->payee && w->m[j].comp == g->comp &&
                   w->m[j].fact == g->fact && w->m[j].kind == g->kind;
                 j++) {
                const spi_cline *l = w->m[j].l;
                const int s = w->m[j].posted ? -1 : 1;
                base += s * (spi_i128)l->base;
                earned += s * (spi_i128)l->earned;
                own += s * (spi_i128)l->own;
                true_up += s * (spi_i128)l->true_up;
            }
            i = j;
            if (base == 0 && earned == 0 && own == 0 && true_up == 0)
                continue;
            if (pass == 0) {
                if (!i128_fits(base) || !i128_fits(earned) || !i128_fits(own) ||
                    !i128_fits(true_up)) {
                    const char *pid;
                    size_t len;
                    (void)sp_dict_id(prep->payees, g->payee, &pid, &len);
                    return spi_fail(ctx, SP_EOVERFLOW,
                                    PLAN_MSG ": payee %s: component %s: fact %llu: the "
                                             "correction overflows int64_t",
                                    qp, spi_quote(q, pid, len),
                                    spi_quote(qc, d->components[g->comp],
                                              strlen(d->components[g->comp])),
                                    (unsigned long long)g->fact);
                }
                w->tot[(size_t)g->payee * nc + g->comp] += earned;
                w->keep[g->payee] = 1;
                w->nl[g->payee]++;
            } else {
                spi_cline *l = &d->lines[out];
                *l = *g->l;
                l->component = (uint16_t)g->comp;
                l->base = (int64_t)base;
                l->earned = (int64_t)earned;
                l->own = (int64_t)own;
                l->true_up = (int64_t)true_up;
            }
            out++;
        }
        if (pass == 0) {
            d->nlines = out;
            spi_i128 total = 0;
            for (size_t u = 0; u < np; u++)
                for (size_t c = 0; c < nc; c++) {
                    const spi_i128 t = w->tot[u * nc + c], m = w->meas[u * nc + c];
                    if (!i128_fits(t) || !i128_fits(m)) {
                        const char *pid;
                        size_t len;
                        (void)sp_dict_id(prep->payees, (uint32_t)u, &pid, &len);
                        return spi_fail(ctx, SP_EOVERFLOW,
                                        PLAN_MSG ": payee %s: component %s: the correction of "
                                                 "its %s overflows int64_t",
                                        qp, spi_quote(q, pid, len),
                                        spi_quote(qc, d->components[c],
                                                  strlen(d->components[c])),
                                        i128_fits(t) ? "measure" : "total");
                    }
                    if (m != 0)
                        w->keep[u] = 1;
                    total += t;
                }
            if (!i128_fits(total))
                return spi_fail(ctx, SP_EOVERFLOW,
                                PLAN_MSG ": the corrections' total overflows int64_t", qp);
            d->total = (int64_t)total;
            for (size_t u = 0; u < np; u++)
                d->np += w->keep[u];
            if (d->np == 0)
                return SP_OK; /* nothing differs */
            d->lines = spi_malloc_array(ctx, d->nlines, sizeof *d->lines);
            d->payees = spi_malloc_array(ctx, d->np, sizeof *d->payees);
            d->from = spi_malloc_array(ctx, d->np, sizeof *d->from);
            d->count = spi_calloc(ctx, d->np, sizeof *d->count);
            d->totals = spi_malloc_array(ctx, d->np, nc * sizeof *d->totals);
            d->measures = spi_malloc_array(ctx, d->np, nc * sizeof *d->measures);
            if (d->lines == NULL || d->payees == NULL || d->from == NULL || d->count == NULL ||
                d->totals == NULL || d->measures == NULL)
                return SP_ENOMEM;
        }
    }
    /* The payees kept, in unified order: the lines come payee by payee in that order. */
    size_t k = 0;
    uint64_t at = 0;
    for (size_t u = 0; u < np; u++) {
        if (!w->keep[u])
            continue;
        size_t len;
        (void)sp_dict_id(prep->payees, (uint32_t)u, &d->payees[k], &len);
        d->from[k] = at;
        d->count[k] = w->nl[u];
        at += w->nl[u];
        for (size_t c = 0; c < nc; c++) {
            d->totals[k * nc + c] = (int64_t)w->tot[u * nc + c];
            d->measures[k * nc + c] = (int64_t)w->meas[u * nc + c];
        }
        k++;
    }
    return SP_OK;
}

static void dwork_free(sp_ctx *ctx, dwork *w, size_t nposted)
{
    for (size_t j = 0; j < nposted; j++) {
        spi_free(ctx, w->cmap != NULL ? w->cmap[j] : NULL);
        spi_free(ctx, w->pmap != NULL ? w->pmap[j] : NULL);
    }
    spi_free(ctx, w->cmap);
    spi_free(ctx, w->pmap);
    spi_free(ctx, w->m);
    spi_free(ctx, w->meas);
    spi_free(ctx, w->tot);
    spi_free(ctx, w->keep);
    spi_free(ctx, w->nl);
    spi_free(ctx, w->at);
    memset(w, 0, sizeof *w);
}

/* ==== posting and closing ==== */

typedef struct post_job {
    run_prep *prep;
    const spi_cledger_period *into;
    char qp[SPI_QUOTE_CAP];
    char into_key[SPI_CLEDGER_KEY_CAP];
    spi_cledger_list led;
    spi_cposting *posted; /* the closed period's statements and corrections */
    size_t nposted;
    delta d;
    dwork w;
    spi_cledger_posted out;
} post_job;

static void post_job_free(sp_ctx *ctx, post_job *j)
{
    spi_cledger_list_free(ctx, &j->led);
    dwork_free(ctx, &j->w, j->nposted);
    for (size_t i = 0; i < j->nposted; i++)
        spi_cposting_free(ctx, &j->posted[i]);
    spi_free(ctx, j->posted);
    delta_free(ctx, &j->d);
}

static int next_revision(sp_ctx *ctx, const char *qp, const spi_cledger_list *l, ptrdiff_t at,
                         uint32_t *held)
{
    *held = at >= 0 ? l->entries[at].revision : 0;
    if (*held == UINT32_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, PLAN_MSG ": %s: revision %u is the last", qp,
                        l->entries[at].key, (unsigned)*held);
    return SP_OK;
}

/* Write the object o (of type t, under names) as revision held + 1 and its entry in the
 * ledger (an open period's); say so in j->out. */
static int write_object(spi_store *tx, post_job *j, const spi_stored_type *t,
                        const char *const *names, const spi_cledger_period *period,
                        const post_out *o, uint32_t held)
{
    spi_cledger_entry e;
    memset(&e, 0, sizeof e);
    e.period = *period;
    snprintf(e.key, sizeof e.key, "%s", o->period);
    snprintf(e.corrects, sizeof e.corrects, "%s", o->corrects != NULL ? o->corrects : "");
    e.state = SPI_CLEDGER_OPEN;
    e.revision = held + 1;
    e.npayees = (uint32_t)o->np;
    e.nlines = o->nlines;
    e.total = o->total;
    int rc;
    if ((rc = put_entry(tx->ctx, &j->led, &e)) != SP_OK ||
        (rc = ledger_put(tx, o->plan, &j->led)) != SP_OK ||
        (rc = spi_stored_save(tx, t, names, o, o->chunks.count, &held)) != SP_OK)
        return rc;
    memcpy(j->out.period, e.key, sizeof j->out.period);
    memcpy(j->out.corrects, e.corrects, sizeof j->out.corrects);
    j->out.written = true;
    j->out.revision = j->led.revision;
    j->out.npayees = o->np;
    j->out.nlines = o->nlines;
    j->out.total = o->total;
    return SP_OK;
}

/* The run replaces the draft of its open period. */
static int post_own(spi_store *tx, post_job *j)
{
    const run_prep *prep = j->prep;
    const spi_cledger_run *r = prep->r;
    const spi_crun *run = r->run;
    uint32_t held;
    int rc = next_revision(tx->ctx, j->qp, &j->led, find_entry(&j->led, prep->key, ""), &held);
    if (rc != SP_OK)
        return rc;
    post_out o = { r->plan, prep->key, NULL, r->plan_from, r->plan_revision, r->currency,
                   prep->exponent, r->rounding_mode, r->policy, run->ncomponents,
                   r->components, run->due, run->first, run->end, run->npayees, r->payees,
                   prep->from, prep->count, run->totals, run->measure, run->nlines, run->lines,
                   prep->total,
                   st_chunking(run->npayees, run->nlines, run->ncomponents, prep->id_max) };
    const char *names[] = { r->plan, prep->key };
    return write_object(tx, j, &st_type, names, &r->period, &o, held);
}

/* Entry e is part of what the ledger holds for the closed period S: its statements, or its
 * corrections in another period than T (T's are what a post into T replaces). */
static bool held_for(const spi_cledger_entry *e, const char *S, const char *T)
{
    return (strcmp(e->key, S) == 0 && e->corrects[0] == '\0') ||
           (strcmp(e->corrects, S) == 0 && strcmp(e->key, T) != 0);
}

/* The run of a closed period: its differences from what the ledger holds for it, into the
 * open period `into`. */
static int post_corrections(spi_store *tx, post_job *j)
{
    sp_ctx *ctx = tx->ctx;
    const run_prep *prep = j->prep;
    const spi_cledger_run *r = prep->r;
    const char *S = prep->key, *T = j->into_key;
    uint32_t state;
    if (j->into == NULL)
        return spi_fail(ctx, SP_ECONFLICT,
                        PLAN_MSG ": %s is closed; post its corrections into an open period",
                        j->qp, S);
    if (period_state(&j->led, T, &state) && state == SPI_CLEDGER_CLOSED)
        return spi_fail(ctx, SP_ECONFLICT,
                        PLAN_MSG ": %s is closed; post the corrections of %s into an open period",
                        j->qp, T, S);
    size_t n = 0;
    for (size_t i = 0; i < j->led.n; i++)
        n += held_for(&j->led.entries[i], S, T);
    j->posted = spi_calloc(ctx, n, sizeof *j->posted);
    if (j->posted == NULL)
        return SP_ENOMEM;
    int rc = SP_OK;
    for (size_t i = 0; i < j->led.n && rc == SP_OK; i++) {
        const spi_cledger_entry *e = &j->led.entries[i];
        if (!held_for(e, S, T))
            continue;
        if ((rc = load_entry(tx, r->plan, e, &j->posted[j->nposted])) != SP_OK)
            break;
        const spi_cposting *p = &j->posted[j->nposted++];
        if (strcmp(p->currency, r->currency) != 0)
            rc = spi_fail(ctx, SP_ECONFLICT, PLAN_MSG ": %s%s%s was posted in %s; the run is in %s",
                          j->qp, e->key, e->corrects[0] ? ", correcting " : "", e->corrects,
                          p->currency, r->currency);
    }
    if (rc != SP_OK ||
        (rc = compute_delta(ctx, j->qp, j->prep, j->posted, j->nposted, &j->d, &j->w)) != SP_OK)
        return rc;
    ptrdiff_t at = find_entry(&j->led, T, S);
    const char *names[] = { r->plan, T, S };
    memcpy(j->out.period, T, sizeof j->out.period);
    memcpy(j->out.corrects, S, sizeof j->out.corrects);
    j->out.revision = j->led.revision;
    if (j->d.np == 0) {
        if (at < 0)
            return SP_OK; /* the ledger holds the truth already */
        memmove(&j->led.entries[at], &j->led.entries[at + 1],
                (j->led.n - (size_t)at - 1) * sizeof *j->led.entries);
        j->led.n--;
        if ((rc = ledger_put(tx, r->plan, &j->led)) != SP_OK ||
            (rc = spi_stored_remove(tx, &delta_type, names)) != SP_OK)
            return rc;
        j->out.written = j->out.removed = true;
        j->out.revision = j->led.revision;
        return SP_OK;
    }
    uint32_t held;
    if ((rc = next_revision(ctx, j->qp, &j->led, at, &held)) != SP_OK)
        return rc;
    const delta *d = &j->d;
    size_t id_max = 0;
    for (size_t i = 0; i < d->np; i++)
        if (strlen(d->payees[i]) > id_max)
            id_max = strlen(d->payees[i]);
    post_out o = { r->plan, T, S, r->plan_from, r->plan_revision, r->currency, prep->exponent,
                   r->rounding_mode, r->policy, d->nc, d->components, NULL, NULL, NULL, d->np,
                   d->payees, d->from, d->count, d->totals, d->measures, d->nlines, d->lines,
                   d->total, st_chunking(d->np, d->nlines, d->nc, id_max) };
    return write_object(tx, j, &delta_type, names, j->into, &o, held);
}

static int post_tx(spi_store *tx, void *arg)
{
    post_job *j = arg;
    const run_prep *prep = j->prep;
    bool found;
    uint32_t state;
    int rc = ledger_get(tx, prep->r->plan, &j->led, &found);
    if (rc != SP_OK)
        return rc;
    if (period_state(&j->led, prep->key, &state) && state == SPI_CLEDGER_CLOSED)
        return post_corrections(tx, j);
    if (j->into != NULL && strcmp(j->into_key, prep->key) != 0)
        return spi_fail(tx->ctx, SP_ECONFLICT,
                        PLAN_MSG ": %s is not closed: its run replaces its draft (post_into, "
                                 "%s, is for the corrections of a closed period)",
                        j->qp, prep->key, j->into_key);
    return post_own(tx, j);
}

int spi_cledger_post(sp_ctx *ctx, const sp_storage *st, const spi_cledger_run *run,
                     const spi_cledger_period *into, spi_cledger_posted *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    run_prep prep;
    int rc = prepare(ctx, run, into, &prep);
    if (rc != SP_OK) {
        prep_free(ctx, &prep);
        return rc;
    }
    post_job j;
    memset(&j, 0, sizeof j);
    j.prep = &prep;
    j.into = into;
    spi_quote(j.qp, run->plan, strlen(run->plan));
    if (into != NULL)
        spi_cledger_period_key(into, j.into_key);
    rc = spi_store_write(ctx, st, post_tx, &j);
    if (rc == SP_OK && out != NULL)
        *out = j.out;
    post_job_free(ctx, &j);
    prep_free(ctx, &prep);
    return rc;
}

/* The plan id and a period: checked, the period's key into key, the quoted plan into qp. */
static int check_plan_period(sp_ctx *ctx, const char *plan, const spi_cledger_period *period,
                             const char *what, char *key, char *qp)
{
    int rc = spi_plan_check_name(ctx, WHAT ": plan", plan, SPI_CPLAN_ID_MAX);
    if (rc != SP_OK)
        return rc;
    spi_quote(qp, plan, strlen(plan));
    if (period == NULL || !spi_cledger_period_key(period, key))
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": %s is %s", qp, what,
                        period == NULL ? "NULL" : "no period of a plan's calendar");
    return SP_OK;
}

typedef struct close_job {
    const char *plan;
    char key[SPI_CLEDGER_KEY_CAP];
    char qp[SPI_QUOTE_CAP];
    spi_cledger_list led;
} close_job;

static int close_tx(spi_store *tx, void *arg)
{
    close_job *j = arg;
    bool found;
    uint32_t state;
    int rc = ledger_get(tx, j->plan, &j->led, &found);
    if (rc != SP_OK)
        return rc;
    if (!period_state(&j->led, j->key, &state))
        return spi_fail(tx->ctx, SP_ENOTFOUND, PLAN_MSG ": %s was never posted", j->qp, j->key);
    if (state == SPI_CLEDGER_CLOSED)
        return spi_fail(tx->ctx, SP_ECONFLICT, PLAN_MSG ": %s is already closed", j->qp, j->key);
    for (size_t i = 0; i < j->led.n; i++)
        if (strcmp(j->led.entries[i].key, j->key) == 0)
            j->led.entries[i].state = SPI_CLEDGER_CLOSED;
    return ledger_put(tx, j->plan, &j->led);
}

int spi_cledger_close(sp_ctx *ctx, const sp_storage *st, const char *plan,
                      const spi_cledger_period *period)
{
    if (ctx == NULL)
        return SP_EINVAL;
    close_job j;
    memset(&j, 0, sizeof j);
    j.plan = plan;
    int rc = check_plan_period(ctx, plan, period, "the period", j.key, j.qp);
    if (rc == SP_OK)
        rc = spi_store_write(ctx, st, close_tx, &j);
    spi_cledger_list_free(ctx, &j.led);
    return rc;
}

/* ==== reading ==== */

/* The stored ledger of `plan`; SP_ENOTFOUND when nothing was posted. */
static int ledger_read(spi_store *s, const char *plan, const char *qp, spi_cledger_list *l)
{
    bool found;
    int rc = ledger_get(s, plan, l, &found);
    if (rc == SP_OK && !found)
        rc = spi_fail(s->ctx, SP_ENOTFOUND, PLAN_MSG ": nothing was posted", qp);
    return rc;
}

int spi_cledger_entries(sp_ctx *ctx, const sp_storage *st, const char *plan,
                        spi_cledger_list *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    spi_store s;
    spi_cledger_list l;
    char qp[SPI_QUOTE_CAP];
    int rc = spi_plan_check_name(ctx, WHAT ": plan", plan, SPI_CPLAN_ID_MAX);
    if (rc != SP_OK)
        return rc;
    spi_quote(qp, plan, strlen(plan));
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": out is NULL", qp);
    if ((rc = spi_store_open(&s, ctx, st)) != SP_OK ||
        (rc = ledger_read(&s, plan, qp, &l)) != SP_OK)
        return rc;
    *out = l;
    return SP_OK;
}

int spi_cledger_load(sp_ctx *ctx, const sp_storage *st, const char *plan,
                     const spi_cledger_period *period, const spi_cledger_period *corrects,
                     spi_cposting *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    char key[SPI_CLEDGER_KEY_CAP], ckey[SPI_CLEDGER_KEY_CAP] = "", qp[SPI_QUOTE_CAP];
    int rc = check_plan_period(ctx, plan, period, "the period", key, qp);
    if (rc != SP_OK)
        return rc;
    if (corrects != NULL && !spi_cledger_period_key(corrects, ckey))
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": the period corrected is no period of a "
                                                 "plan's calendar",
                        qp);
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": out is NULL", qp);
    spi_store s;
    spi_cledger_list l;
    if ((rc = spi_store_open(&s, ctx, st)) != SP_OK ||
        (rc = ledger_read(&s, plan, qp, &l)) != SP_OK)
        return rc;
    ptrdiff_t at = find_entry(&l, key, ckey);
    spi_cposting p;
    memset(&p, 0, sizeof p);
    if (at < 0)
        rc = ckey[0] == '\0'
                 ? spi_fail(ctx, SP_ENOTFOUND, PLAN_MSG ": %s has no statements of its own", qp,
                            key)
                 : spi_fail(ctx, SP_ENOTFOUND, PLAN_MSG ": %s holds no corrections of %s", qp,
                            key, ckey);
    else
        rc = load_entry(&s, plan, &l.entries[at], &p);
    spi_cledger_list_free(ctx, &l);
    if (rc == SP_OK)
        *out = p;
    return rc;
}

/* ---- one payee's statement ---- */

/* Record `ns` under the names of entry e and (when k != UINT32_MAX) chunk k. */
static int get_record(spi_store *s, const char *ns, const char *const *names, size_t nnames,
                      uint32_t k, uint8_t **data, size_t *len)
{
    spi_key key;
    spi_key_init(&key, s->ctx);
    for (size_t i = 0; i < nnames; i++)
        (void)spi_key_str(&key, names[i], strlen(names[i]));
    if (k != UINT32_MAX)
        (void)spi_key_u32(&key, k);
    if (key.status != SP_OK)
        return key.status;
    return spi_store_get(s, ns, key.data, key.len, data, len);
}

typedef struct payee_read {
    spi_store *s;
    const spi_stored_type *t;
    const char *names[3];
    spi_chunking c;
    size_t np, nlines;                             /* the object's */
    int64_t *v, *from, *count, *totals, *measures; /* a chunk's rows */
    spi_cline *buf;                                /* a chunk's lines */
} payee_read;

/* Chunk k, parsed and owned by p. */
static int open_chunk(payee_read *r, const spi_cposting *p, uint32_t k, spi_rdoc **doc,
                      uint8_t **data)
{
    size_t len;
    int rc = get_record(r->s, r->t->chunk_type, r->names, r->t->nnames, k, data, &len);
    if (rc == SP_ENOTFOUND)
        return spi_fail(r->s->ctx, SP_ECORRUPT, "record %s: chunk %u of %u is missing",
                        r->t->head_type, (unsigned)k, (unsigned)r->c.count);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_stored_open_chunk(doc, r->s->ctx, r->t, &r->c, k, *data, len)) == SP_OK &&
        (rc = check_owner(*doc, p, r->t == &delta_type)) != SP_OK) {
        spi_rdoc_free(*doc);
        *doc = NULL;
    }
    if (rc != SP_OK) {
        spi_free(r->s->ctx, *data);
        *data = NULL;
    }
    return rc;
}

/* The payee's row among the chunks' payees: *row (SIZE_MAX: none) in chunk *k. */
static int find_payee(payee_read *r, spi_cposting *p, const char *payee, size_t *row,
                      uint32_t *k)
{
    const size_t plen = strlen(payee);
    *row = SIZE_MAX;
    int rc = SP_OK;
    for (*k = 0; (uint64_t)*k * r->c.nodes < r->np && rc == SP_OK && *row == SIZE_MAX;
         (*k)++) {
        const size_t n = spi_chunking_items(&r->c, *k, r->np);
        spi_rdoc *doc;
        uint8_t *data;
        if ((rc = open_chunk(r, p, *k, &doc, &data)) != SP_OK)
            break;
        const spi_rnode *root = spi_rdoc_root(doc), *arr;
        size_t count;
        if ((rc = spi_rec_array(doc, root, "payees", 0, &arr, &count)) == SP_OK && count != n)
            rc = spi_rec_fail(doc, arr, "%zu values where %zu are due", count, n);
        for (size_t i = 0; i < n && rc == SP_OK; i++) {
            const char *id;
            size_t len;
            if ((rc = spi_rec_string(doc, spi_rnode_at(doc, arr, i), NULL, SPI_REC_NO_NUL, &id,
                                     &len)) == SP_OK &&
                len == plen && memcmp(id, payee, len) == 0)
                *row = i;
        }
        if (rc == SP_OK && *row != SIZE_MAX)
            rc = read_payee_rows(doc, root, n, p->ncomponents, r->nlines, r->from, r->count,
                                 r->totals, r->measures);
        spi_rdoc_free(doc);
        spi_free(r->s->ctx, data);
        if (rc == SP_OK && *row != SIZE_MAX)
            return SP_OK;
    }
    return rc;
}

/* The payee's part of entry e, into out (*found false when it has none there). */
static int load_payee(payee_read *r, const char *plan, const spi_cledger_entry *e,
                      const char *payee, spi_cposting *out, bool *found)
{
    sp_ctx *ctx = r->s->ctx;
    *found = false;
    r->t = entry_object(plan, e, r->names);
    uint8_t *head;
    size_t len;
    int rc = get_record(r->s, r->t->head_type, r->names, r->t->nnames, UINT32_MAX, &head, &len);
    if (rc == SP_ENOTFOUND)
        return spi_fail_prefix(ctx, SP_ECORRUPT, NULL,
                               "record " LEDGER_TYPE ": an entry's object is missing");
    if (rc != SP_OK)
        return rc;
    spi_cposting p;
    memset(&p, 0, sizeof p);
    spi_rdoc *doc;
    if ((rc = spi_stored_open_head(&doc, ctx, r->t, head, len)) == SP_OK) {
        rc = read_st_head(ctx, doc, r->t, UINT32_MAX, &p, &r->c);
        spi_rdoc_free(doc);
    }
    spi_free(ctx, head);
    const size_t nc = p.ncomponents, cn = r->c.nodes;
    if (rc == SP_OK)
        rc = check_entry(ctx, plan, e, &p, r->t->head_type);
    /* p becomes the payee's part: the object's counts kept apart. */
    r->np = p.npayees;
    r->nlines = p.nlines;
    p.npayees = p.nlines = 0;
    if (rc == SP_OK) {
        r->v = spi_malloc_array(ctx, cn, sizeof *r->v);
        r->from = spi_malloc_array(ctx, cn, sizeof *r->from);
        r->count = spi_malloc_array(ctx, cn, sizeof *r->count);
        r->totals = spi_malloc_array(ctx, cn, nc * sizeof *r->totals);
        r->measures = spi_malloc_array(ctx, cn, nc * sizeof *r->measures);
        r->buf = spi_malloc_array(ctx, cn, sizeof *r->buf);
        p.payees = spi_calloc(ctx, 1, sizeof *p.payees);
        p.statements = spi_calloc(ctx, 1, sizeof *p.statements);
        p.totals = spi_malloc_array(ctx, nc, sizeof *p.totals);
        p.measures = spi_malloc_array(ctx, nc, sizeof *p.measures);
        if (r->v == NULL || r->from == NULL || r->count == NULL || r->totals == NULL ||
            r->measures == NULL || r->buf == NULL || p.payees == NULL || p.statements == NULL ||
            p.totals == NULL || p.measures == NULL)
            rc = SP_ENOMEM;
    }
    size_t row = SIZE_MAX;
    uint32_t k = 0;
    if (rc == SP_OK)
        rc = find_payee(r, &p, payee, &row, &k);
    uint64_t first = 0, count = 0;
    if (rc == SP_OK && row != SIZE_MAX) {
        first = (uint64_t)r->from[row];
        count = (uint64_t)r->count[row];
        memcpy(p.totals, r->totals + row * nc, nc * sizeof *p.totals);
        memcpy(p.measures, r->measures + row * nc, nc * sizeof *p.measures);
        if (count > r->nlines - first)
            rc = spi_fail(ctx, SP_ECORRUPT,
                          "record %s %u: line_count: %llu lines from line %llu, beyond the %zu "
                          "of the head",
                          r->t->chunk_type, (unsigned)k, (unsigned long long)count,
                          (unsigned long long)first, r->nlines);
        else if ((rc = spi_set_strdup(ctx, &p.payees[0], payee, strlen(payee))) == SP_OK)
            p.npayees = 1;
    }
    /* The payee's lines, chunk by chunk: memory grows only with chunks that exist. */
    size_t got = 0;
    for (uint64_t l = first; rc == SP_OK && row != SIZE_MAX && got < count;) {
        const uint32_t kk = (uint32_t)(l / cn);
        const size_t n = spi_chunking_items(&r->c, kk, r->nlines), off = (size_t)(l % cn),
                     take = n - off < count - got ? n - off : (size_t)(count - got);
        spi_rdoc *cd;
        uint8_t *data;
        if ((rc = open_chunk(r, &p, kk, &cd, &data)) != SP_OK)
            break;
        spi_cline *grown = spi_realloc_array(ctx, p.lines, got + take, sizeof *grown);
        if (grown == NULL)
            rc = SP_ENOMEM;
        else
            p.lines = grown;
        if (rc == SP_OK &&
            (rc = read_line_rows(cd, spi_rdoc_root(cd), n, (size_t)kk * cn, nc, r->buf, r->v)) ==
                SP_OK) {
            memcpy(p.lines + got, r->buf + off, take * sizeof *p.lines);
            got += take;
            l += take;
        }
        spi_rdoc_free(cd);
        spi_free(ctx, data);
    }
    if (rc == SP_OK && row != SIZE_MAX) {
        p.nlines = got;
        rc = check_payee_lines(ctx, r->t->head_type, &p, payee, p.lines, got, p.totals);
    }
    if (rc == SP_OK && row != SIZE_MAX) {
        spi_i128 sum = 0;
        for (size_t c = 0; c < nc; c++)
            sum += p.totals[c];
        if (!i128_fits(sum))
            rc = spi_fail(ctx, SP_ECORRUPT, "record %s: payee's total overflows int64_t",
                          r->t->head_type);
        p.statements[0].nlines = got;
        p.statements[0].total = p.total = (int64_t)sum;
    }
    spi_free(ctx, r->v);
    spi_free(ctx, r->from);
    spi_free(ctx, r->count);
    spi_free(ctx, r->totals);
    spi_free(ctx, r->measures);
    spi_free(ctx, r->buf);
    r->v = r->from = r->count = r->totals = r->measures = NULL;
    r->buf = NULL;
    *found = rc == SP_OK && row != SIZE_MAX;
    if (*found)
        *out = p;
    else
        spi_cposting_free(ctx, &p);
    return rc;
}

void spi_cledger_statement_free(sp_ctx *ctx, spi_cledger_statement *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; s->parts != NULL && i < s->nparts; i++)
        spi_cposting_free(ctx, &s->parts[i]);
    spi_free(ctx, s->parts);
    memset(s, 0, sizeof *s);
}

int spi_cledger_statement_load(sp_ctx *ctx, const sp_storage *st, const char *plan,
                               const spi_cledger_period *period, const char *payee,
                               spi_cledger_statement *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    char key[SPI_CLEDGER_KEY_CAP], qp[SPI_QUOTE_CAP], q[SPI_QUOTE_CAP];
    int rc = check_plan_period(ctx, plan, period, "the period", key, qp);
    if (rc != SP_OK)
        return rc;
    if (payee == NULL || payee[0] == '\0' || out == NULL)
        return spi_fail(ctx, SP_EINVAL, PLAN_MSG ": the payee is %s", qp,
                        out == NULL ? "given no output" : payee == NULL ? "NULL" : "empty");
    spi_store s;
    spi_cledger_list l;
    if ((rc = spi_store_open(&s, ctx, st)) != SP_OK ||
        (rc = ledger_read(&s, plan, qp, &l)) != SP_OK)
        return rc;
    spi_cledger_statement res;
    memset(&res, 0, sizeof res);
    memcpy(res.period, key, sizeof res.period);
    size_t n = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strcmp(l.entries[i].key, key) == 0) {
            res.state = l.entries[i].state;
            n++;
        }
    if (n == 0)
        rc = spi_fail(ctx, SP_ENOTFOUND, PLAN_MSG ": %s was never posted", qp, key);
    else if ((res.parts = spi_calloc(ctx, n, sizeof *res.parts)) == NULL)
        rc = SP_ENOMEM;
    payee_read r;
    memset(&r, 0, sizeof r);
    r.s = &s;
    spi_i128 total = 0;
    for (size_t i = 0; i < l.n && rc == SP_OK; i++) {
        bool found;
        if (strcmp(l.entries[i].key, key) != 0)
            continue;
        rc = load_payee(&r, plan, &l.entries[i], payee, &res.parts[res.nparts], &found);
        if (rc == SP_OK && found)
            total += res.parts[res.nparts++].total;
    }
    if (rc == SP_OK && res.nparts == 0)
        rc = spi_fail(ctx, SP_ENOTFOUND, PLAN_MSG ": payee %s has no statement in %s", qp,
                      spi_quote(q, payee, strlen(payee)), key);
    if (rc == SP_OK && !i128_fits(total))
        rc = spi_fail(ctx, SP_EOVERFLOW, PLAN_MSG ": payee %s: the total of %s overflows int64_t",
                      qp, spi_quote(q, payee, strlen(payee)), key);
    res.total = (int64_t)total;
    spi_cledger_list_free(ctx, &l);
    if (rc != SP_OK) {
        spi_cledger_statement_free(ctx, &res);
        return rc;
    }
    *out = res;
    return SP_OK;
}
