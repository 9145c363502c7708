/*
 * The record writer: canonical bytes (no whitespace, minimal escaping, minimal digits)
 * into one growing buffer, with a sticky first error. It tracks just enough state to
 * place the commas and to catch calls that do not nest: a bit per open container
 * (object or array; at most SPI_REC_MAX_DEPTH of them) and whether a key awaits its value.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "rdoc.h"

static void wfail(spi_writer *w, int code, const char *fmt, ...) SPI_PRINTF(3, 4);

static void wfail(spi_writer *w, int code, const char *fmt, ...)
{
    if (w->status != SP_OK)
        return;
    char msg[SPI_ERRMSG_CAP / 2], q[SPI_WRITER_NAME_MAX * 6 + 16], where[sizeof q + 16] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (w->key_len > 0 || w->key_cut)
        snprintf(where, sizeof where, ": field %s",
                 spi_rdoc_quote(q, sizeof q, w->key, (size_t)w->key_len + w->key_cut,
                                w->key_len, '\''));
    spi_fail(w->ctx, code, "record %s%s: %s", w->type[0] != '\0' ? w->type : "writer", where, msg);
    w->status = code;
}

void spi_writer_init(spi_writer *w, sp_ctx *ctx)
{
    memset(w, 0, sizeof *w);
    w->ctx = ctx;
}

int spi_writer_status(const spi_writer *w)
{
    return w->status;
}

static bool grow(spi_writer *w, size_t n)
{
    if (n > SPI_REC_MAX_BYTES - w->len) {
        wfail(w, SP_EINVAL, "the record is larger than the limit of %zu bytes", SPI_REC_MAX_BYTES);
        return false;
    }
    size_t c = w->cap > 0 ? w->cap : 256;
    while (c < w->len + n)
        c *= 2;
    if (c > SPI_REC_MAX_BYTES)
        c = SPI_REC_MAX_BYTES;
    uint8_t *q = spi_realloc_array(w->ctx, w->buf, c, 1);
    if (q == NULL) {
        w->status = SP_ENOMEM; /* the allocator recorded the message */
        return false;
    }
    w->buf = q;
    w->cap = c;
    return true;
}

static void put(spi_writer *w, const void *s, size_t n)
{
    if (n == 0 || (n > w->cap - w->len && !grow(w, n)))
        return;
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put1(spi_writer *w, char c)
{
    if (w->len == w->cap && !grow(w, 1))
        return;
    w->buf[w->len++] = (uint8_t)c;
}

static bool in_object(const spi_writer *w)
{
    return w->depth > 0 && ((w->objects >> (w->depth - 1)) & 1u) != 0;
}

/* Before any value: check the nesting, count it, place the comma. */
static bool value_begin(spi_writer *w)
{
    if (w->status != SP_OK)
        return false;
    if (w->depth == 0 && w->done) {
        wfail(w, SP_EINTERNAL, "a second value after the complete document");
        return false;
    }
    if (in_object(w) && !w->after_key) {
        wfail(w, SP_EINTERNAL, "a value inside an object without a key");
        return false;
    }
    if (w->values >= SPI_REC_MAX_NODES) {
        wfail(w, SP_EINVAL, "more than %u values (the limit)", (unsigned)SPI_REC_MAX_NODES);
        return false;
    }
    w->values++;
    if (w->comma)
        put1(w, ',');
    w->after_key = false;
    return w->status == SP_OK;
}

static void value_end(spi_writer *w)
{
    w->comma = true;
    if (w->depth == 0)
        w->done = true;
}

/* The quoted, escaped string; `s` must be valid UTF-8. */
static void put_string(spi_writer *w, const char *s, size_t len)
{
    if (s == NULL && len > 0) {
        wfail(w, SP_EINTERNAL, "a string is NULL");
        return;
    }
    if (len > SPI_REC_MAX_STRING) {
        wfail(w, SP_EINVAL, "a string of %zu bytes is longer than the limit of %zu", len,
              SPI_REC_MAX_STRING);
        return;
    }
    put1(w, '"');
    if (len == 0) {
        put1(w, '"');
        return;
    }
    const uint8_t *u = (const uint8_t *)s;
    size_t i = 0, run = 0;
    while (i < len) {
        uint8_t c = u[i];
        if (spi_json_plain[c]) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            const char *why;
            size_t k = spi_utf8_seq(u + i, u + len, &why);
            if (k == 0) {
                wfail(w, SP_EINVAL, "invalid UTF-8 (%s at byte %zu)", why, i);
                return;
            }
            i += k;
            continue;
        }
        put(w, u + run, i - run);
        char e[8];
        const char *esc = e;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: snprintf(e, sizeof e, "\\u%04x", (unsigned)c); break;
        }
        put(w, esc, strlen(esc));
        run = ++i;
    }
    put(w, u + run, len - run);
    put1(w, '"');
}

static void open_container(spi_writer *w, char c, bool object)
{
    if (!value_begin(w))
        return;
    if (w->depth >= SPI_REC_MAX_DEPTH) {
        wfail(w, SP_EINVAL, "nesting deeper than %u levels (the limit)", SPI_REC_MAX_DEPTH);
        return;
    }
    put1(w, c);
    if (object)
        w->objects |= UINT64_C(1) << w->depth;
    else
        w->objects &= ~(UINT64_C(1) << w->depth);
    w->depth++;
    w->comma = false;
}

static void close_container(spi_writer *w, char c, bool object)
{
    if (w->status != SP_OK)
        return;
    if (w->depth == 0 || in_object(w) != object || w->after_key) {
        wfail(w, SP_EINTERNAL, "'%c' does not close the open %s", c,
              w->depth == 0 ? "document (nothing is open)"
              : w->after_key ? "field (its value is missing)"
              : in_object(w) ? "object" : "array");
        return;
    }
    put1(w, c);
    w->depth--;
    value_end(w);
}

void spi_writer_begin_object(spi_writer *w)
{
    open_container(w, '{', true);
}

void spi_writer_end_object(spi_writer *w)
{
    close_container(w, '}', true);
}

void spi_writer_begin_array(spi_writer *w)
{
    open_container(w, '[', false);
}

void spi_writer_end_array(spi_writer *w)
{
    close_container(w, ']', false);
}

void spi_writer_key_n(spi_writer *w, const char *key, size_t len)
{
    if (w->status != SP_OK)
        return;
    if (!in_object(w) || w->after_key) {
        wfail(w, SP_EINTERNAL, "a key %s", w->after_key ? "where a value is due" : "outside an object");
        return;
    }
    /* Keep the start of the key (whole characters) for messages. */
    size_t keep = len;
    if (key == NULL) {
        keep = 0;
    } else if (keep > SPI_WRITER_NAME_MAX) {
        keep = SPI_WRITER_NAME_MAX;
        while (keep > 0 && ((uint8_t)key[keep] & 0xC0u) == 0x80u)
            keep--;
    }
    if (keep > 0)
        memcpy(w->key, key, keep);
    w->key[keep] = '\0';
    w->key_len = (uint8_t)keep;
    w->key_cut = keep < len;
    if (w->comma)
        put1(w, ',');
    put_string(w, key, len);
    put1(w, ':');
    w->after_key = true;
    w->comma = false;
}

void spi_writer_key(spi_writer *w, const char *key)
{
    if (key == NULL) {
        wfail(w, SP_EINTERNAL, "a key is NULL");
        return;
    }
    spi_writer_key_n(w, key, strlen(key));
}

void spi_writer_string(spi_writer *w, const char *s, size_t len)
{
    if (!value_begin(w))
        return;
    put_string(w, s, len);
    value_end(w);
}

void spi_writer_cstr(spi_writer *w, const char *s)
{
    if (s == NULL) {
        wfail(w, SP_EINTERNAL, "a string is NULL");
        return;
    }
    spi_writer_string(w, s, strlen(s));
}

/* value / 10^digits with minimal digits: the money module's formatter. */
static void put_fixed(spi_writer *w, int64_t value, int digits)
{
    if (value == INT64_MIN) {
        wfail(w, SP_EINVAL, "%s is outside the range of the format (INT64_MIN has no negation)",
              digits == 0 ? "-9223372036854775808" : "-9223372036.854775808");
        return;
    }
    if (!value_begin(w))
        return;
    char buf[SP_TEXT_MAX];
    size_t n = 0;
    spi_format_fixed(value, digits, true, false, "", buf, sizeof buf, &n);
    put(w, buf, n);
    value_end(w);
}

void spi_writer_int(spi_writer *w, int64_t v)
{
    put_fixed(w, v, 0);
}

void spi_writer_dec(spi_writer *w, sp_dec v)
{
    put_fixed(w, v, SP_DEC_DIGITS);
}

void spi_writer_fixed(spi_writer *w, int64_t value, int32_t digits)
{
    put_fixed(w, value, (int)digits);
}

void spi_writer_bool(spi_writer *w, bool v)
{
    if (!value_begin(w))
        return;
    put(w, v ? "true" : "false", v ? 4 : 5);
    value_end(w);
}

void spi_writer_null(spi_writer *w)
{
    if (!value_begin(w))
        return;
    put(w, "null", 4);
    value_end(w);
}

void spi_writer_member_int(spi_writer *w, const char *key, int64_t v)
{
    spi_writer_key(w, key);
    spi_writer_int(w, v);
}

void spi_writer_member_dec(spi_writer *w, const char *key, sp_dec v)
{
    spi_writer_key(w, key);
    spi_writer_dec(w, v);
}

void spi_writer_member_bool(spi_writer *w, const char *key, bool v)
{
    spi_writer_key(w, key);
    spi_writer_bool(w, v);
}

void spi_writer_member_string(spi_writer *w, const char *key, const char *s, size_t len)
{
    spi_writer_key(w, key);
    spi_writer_string(w, s, len);
}

void spi_writer_member_cstr_or_null(spi_writer *w, const char *key, const char *s)
{
    spi_writer_key(w, key);
    if (s != NULL)
        spi_writer_cstr(w, s);
    else
        spi_writer_null(w);
}

void spi_writer_enum(spi_writer *w, const char *const *names, size_t n, uint32_t v)
{
    if (v >= n) {
        wfail(w, SP_EINTERNAL, "enumeration value %u has no name (%zu names)", (unsigned)v, n);
        return;
    }
    spi_writer_cstr(w, names[v]);
}

void spi_writer_member_enum(spi_writer *w, const char *key, const char *const *names, size_t n,
                            uint32_t v)
{
    spi_writer_key(w, key);
    spi_writer_enum(w, names, n, v);
}

/* A number as parsed (valid grammar), without '-0' and trailing fractional zeros. */
static void put_number_text(spi_writer *w, const char *t, size_t n)
{
    if (!value_begin(w))
        return;
    if (memchr(t, '.', n) != NULL) {
        while (t[n - 1] == '0')
            n--;
        if (t[n - 1] == '.')
            n--;
    }
    if (n == 2 && t[0] == '-' && t[1] == '0')
        put1(w, '0');
    else
        put(w, t, n);
    value_end(w);
}

void spi_writer_copy(spi_writer *w, const spi_rdoc *doc, const spi_rnode *node)
{
    if (w->status != SP_OK)
        return;
    size_t len;
    const char *text = spi_rnode_text(doc, node, &len);
    switch (spi_rnode_type(node)) {
    case SPI_RNULL:
        spi_writer_null(w);
        break;
    case SPI_RBOOL:
        spi_writer_bool(w, spi_rnode_bool(node));
        break;
    case SPI_RNUMBER:
        put_number_text(w, text, len);
        break;
    case SPI_RSTRING:
        spi_writer_string(w, text, len);
        break;
    case SPI_RARRAY:
        /* The writer's depth limit stops the recursion: a failed call returns at once. */
        spi_writer_begin_array(w);
        for (size_t i = 0; i < spi_rnode_count(node) && w->status == SP_OK; i++)
            spi_writer_copy(w, doc, spi_rnode_at(doc, node, i));
        spi_writer_end_array(w);
        break;
    case SPI_ROBJECT:
        spi_writer_begin_object(w);
        for (size_t i = 0; i < spi_rnode_count(node) && w->status == SP_OK; i++) {
            const spi_rnode *m = spi_rnode_at(doc, node, i);
            size_t klen;
            const char *key = spi_rnode_key(doc, m, &klen);
            spi_writer_key_n(w, key, klen);
            spi_writer_copy(w, doc, m);
        }
        spi_writer_end_object(w);
        break;
    }
}

void spi_record_begin(spi_writer *w, const char *type, uint32_t version)
{
    if (w->status != SP_OK)
        return;
    if (type == NULL || version == 0) {
        wfail(w, SP_EINTERNAL, "a record needs a type and a version >= 1");
        return;
    }
    snprintf(w->type, sizeof w->type, "%s", type);
    spi_writer_begin_object(w);
    spi_writer_key(w, "type");
    spi_writer_cstr(w, type);
    spi_writer_key(w, "v");
    spi_writer_int(w, version);
}

void spi_record_end(spi_writer *w)
{
    spi_writer_end_object(w);
}

void spi_writer_discard(spi_writer *w)
{
    sp_ctx *ctx = w->ctx;
    spi_free(ctx, w->buf);
    spi_writer_init(w, ctx);
}

int spi_writer_finish(spi_writer *w, uint8_t **out, size_t *out_len)
{
    if (w->status == SP_OK && (!w->done || w->depth != 0))
        wfail(w, SP_EINTERNAL, "the document is incomplete");
    int rc = w->status;
    if (rc == SP_OK) {
        *out = w->buf;
        *out_len = w->len;
        w->buf = NULL;
    }
    spi_writer_discard(w);
    return rc;
}
