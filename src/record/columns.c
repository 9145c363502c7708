/*
 * Typed columns (record.h): one writer and one strict reader per element type. Readers
 * take a fast path over the parsed numbers (the grammar is already checked, so digits
 * are digits); any value the fast path does not take goes through the typed accessor
 * (access.c), which either reads it the same way or reports it, so both paths accept the
 * same values and word the same errors.
 */
#include <string.h>

#include "rdoc.h"

/* ---- writing ---- */

static void open_col(spi_writer *w, const char *key)
{
    if (key != NULL)
        spi_writer_key(w, key);
    spi_writer_begin_array(w);
}

void spi_col_write_i64(spi_writer *w, const char *key, const int64_t *v, const uint8_t *valid,
                       size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++) {
        if (valid != NULL && !valid[i])
            spi_writer_null(w);
        else
            spi_writer_int(w, v[i]);
    }
    spi_writer_end_array(w);
}

void spi_col_write_i32(spi_writer *w, const char *key, const int32_t *v, size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++)
        spi_writer_int(w, v[i]);
    spi_writer_end_array(w);
}

void spi_col_write_u32(spi_writer *w, const char *key, const uint32_t *v, size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++)
        spi_writer_int(w, v[i]);
    spi_writer_end_array(w);
}

void spi_col_write_index(spi_writer *w, const char *key, const uint32_t *v, size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == UINT32_MAX)
            spi_writer_null(w);
        else
            spi_writer_int(w, v[i]);
    }
    spi_writer_end_array(w);
}

void spi_col_write_dec(spi_writer *w, const char *key, const sp_dec *v, size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++)
        spi_writer_dec(w, v[i]);
    spi_writer_end_array(w);
}

void spi_col_write_flags(spi_writer *w, const char *key, const uint32_t *v, size_t n)
{
    spi_col_write_u32(w, key, v, n);
}

void spi_col_write_enum(spi_writer *w, const char *key, const uint32_t *v, size_t n,
                        const char *const *names, size_t nnames)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++)
        spi_writer_enum(w, names, nnames, v[i]);
    spi_writer_end_array(w);
}

void spi_col_write_str(spi_writer *w, const char *key, const char *const *v, size_t n)
{
    open_col(w, key);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL)
            spi_writer_null(w);
        else
            spi_writer_cstr(w, v[i]);
    }
    spi_writer_end_array(w);
}

/* ---- reading ---- */

/* The array of exactly n values: member `key` of obj, or obj itself. */
static int column(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                  const spi_rnode **arr)
{
    size_t count;
    int rc = spi_rec_array(doc, obj, key, 0, arr, &count);
    if (rc == SP_OK && count != n)
        return spi_rec_fail(doc, *arr, "%zu values where %zu are due", count, n);
    return rc;
}

static inline const spi_rnode *elem(const spi_rdoc *doc, const spi_rnode *arr, size_t i)
{
    return &doc->nodes[doc->kids[arr->off + i]];
}

/* An integer of at most 19 digits within int64_t: true with its value. Anything else
 * (fractions, longer texts, other types) is left to the typed accessor. */
static bool fast_int(const spi_rdoc *doc, const spi_rnode *v, int64_t *out)
{
    if (v->type != SPI_RNUMBER || (v->flags & RNODE_FRACTION))
        return false;
    const char *t = spi_rnode_text_ptr(doc, v);
    const bool neg = t[0] == '-';
    if (v->len - neg > 19)
        return false;
    uint64_t x = 0;
    for (size_t i = neg; i < v->len; i++)
        x = x * 10 + (uint64_t)(t[i] - '0');
    if (x > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)x : (int64_t)x;
    return true;
}

/* A decimal of at most 10 integer and 9 fractional digits within int64_t (value x 10^9):
 * true with its value. */
static bool fast_dec(const spi_rdoc *doc, const spi_rnode *v, int64_t *out)
{
    if (v->type != SPI_RNUMBER)
        return false;
    const char *t = spi_rnode_text_ptr(doc, v);
    const bool neg = t[0] == '-';
    size_t i = neg, digits = 0, frac = 0;
    uint64_t whole = 0, part = 0;
    for (; i < v->len && t[i] != '.'; i++, digits++)
        whole = whole * 10 + (uint64_t)(t[i] - '0');
    if (i < v->len)
        for (i++; i < v->len; i++, frac++)
            part = part * 10 + (uint64_t)(t[i] - '0');
    if (digits > 10 || frac > 9)
        return false;
    for (; frac < 9; frac++)
        part *= 10;
    const uint64_t x = whole * 1000000000u + part;
    if (x > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)x : (int64_t)x;
    return true;
}

enum { K_I64, K_I32, K_U32, K_INDEX, K_FLAGS };

/* Integer columns: each value in [min, max]; null where the kind allows it (i64 with a
 * valid mask: valid 0 and 0 in out; index: UINT32_MAX). */
static int int_column(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                      int64_t min, int64_t max, int kind, void *out, uint8_t *valid,
                      uint32_t known)
{
    const spi_rnode *arr;
    int rc = column(doc, obj, key, n, &arr);
    if (rc != SP_OK)
        return rc;
    const bool nullable = valid != NULL || kind == K_INDEX;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = elem(doc, arr, i);
        const bool null = nullable && e->type == SPI_RNULL;
        int64_t x = 0;
        if (!null && !(fast_int(doc, e, &x) && x >= min && x <= max) &&
            (rc = spi_rec_int(doc, e, NULL, 0, min, max, &x)) != SP_OK)
            return rc;
        switch (kind) {
        case K_I64:
            ((int64_t *)out)[i] = x;
            if (valid != NULL)
                valid[i] = !null;
            break;
        case K_I32:
            ((int32_t *)out)[i] = (int32_t)x;
            break;
        case K_INDEX:
            ((uint32_t *)out)[i] = null ? UINT32_MAX : (uint32_t)x;
            break;
        case K_FLAGS:
            if (((uint64_t)x & ~(uint64_t)known) != 0)
                return spi_rec_fail(doc, e, "%lld has bits outside the known ones (0x%x)",
                                    (long long)x, (unsigned)known);
            ((uint32_t *)out)[i] = (uint32_t)x;
            break;
        default:
            ((uint32_t *)out)[i] = (uint32_t)x;
        }
    }
    return SP_OK;
}

int spi_col_read_i64(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     int64_t min, int64_t max, int64_t *out, uint8_t *valid)
{
    return int_column(doc, obj, key, n, min, max, K_I64, out, valid, 0);
}

int spi_col_read_i32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     int32_t min, int32_t max, int32_t *out)
{
    return int_column(doc, obj, key, n, min, max, K_I32, out, NULL, 0);
}

int spi_col_read_u32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     uint32_t min, uint32_t max, uint32_t *out)
{
    return int_column(doc, obj, key, n, min, max, K_U32, out, NULL, 0);
}

int spi_col_read_index(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                       uint32_t max, uint32_t *out)
{
    if (max == UINT32_MAX)
        max = UINT32_MAX - 1; /* UINT32_MAX is the null */
    return int_column(doc, obj, key, n, 0, max, K_INDEX, out, NULL, 0);
}

int spi_col_read_flags(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                       uint32_t known, uint32_t *out)
{
    return int_column(doc, obj, key, n, 0, UINT32_MAX, K_FLAGS, out, NULL, known);
}

int spi_col_read_dec(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     sp_dec min, sp_dec max, sp_dec *out)
{
    const spi_rnode *arr;
    int rc = column(doc, obj, key, n, &arr);
    for (size_t i = 0; rc == SP_OK && i < n; i++) {
        const spi_rnode *e = elem(doc, arr, i);
        int64_t x;
        if (fast_dec(doc, e, &x) && x >= min && x <= max)
            out[i] = x;
        else
            rc = spi_rec_dec(doc, e, NULL, 0, min, max, &out[i]);
    }
    return rc;
}

int spi_col_read_enum(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                      const char *const *names, size_t nnames, uint32_t *out)
{
    const spi_rnode *arr;
    int rc = column(doc, obj, key, n, &arr);
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        rc = spi_rec_enum(doc, elem(doc, arr, i), NULL, 0, names, nnames, &out[i]);
    return rc;
}

int spi_col_read_str(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     uint32_t flags, char **out)
{
    const spi_rnode *arr;
    int rc = column(doc, obj, key, n, &arr);
    for (size_t i = 0; rc == SP_OK && i < n; i++)
        rc = spi_rec_strdup(doc, elem(doc, arr, i), NULL, flags & SPI_REC_NULL, &out[i]);
    return rc;
}

/* ---- sparse columns ---- */

int spi_col_sparse_open(spi_col_sparse *s, const spi_rdoc *doc, const spi_rnode *obj,
                        const char *key, uint32_t lo, uint32_t hi)
{
    memset(s, 0, sizeof *s);
    s->doc = doc;
    s->lo = lo;
    s->hi = hi;
    s->last = (int64_t)lo - 1;
    return spi_rec_array(doc, obj, key, 0, &s->arr, &s->count);
}

bool spi_col_sparse_next(spi_col_sparse *s, int *rc, const spi_rnode **entry, uint32_t *row)
{
    *rc = SP_OK;
    if (s->next == s->count)
        return false;
    const spi_rnode *e = elem(s->doc, s->arr, s->next++);
    int64_t r;
    if (s->hi <= s->lo) {
        *rc = spi_rec_fail(s->doc, e, "an entry where the record holds no rows");
        return false;
    }
    if ((*rc = spi_rec_int(s->doc, e, SPI_COL_ROW, 0, s->lo, s->hi - 1, &r)) != SP_OK)
        return false;
    if (r <= s->last) {
        *rc = spi_rec_fail(s->doc, spi_rnode_member(s->doc, e, SPI_COL_ROW),
                           "%s %lld after %s %lld (ascending, each once)", SPI_COL_ROW,
                           (long long)r, SPI_COL_ROW, (long long)s->last);
        return false;
    }
    s->last = r;
    *entry = e;
    *row = (uint32_t)r;
    return true;
}
