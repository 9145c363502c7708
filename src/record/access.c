/*
 * Reading a parsed document: navigation, typed values, the record envelope, unknown
 * members, and the error messages with path and position that every reader error uses.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "rdoc.h"

#define PATH_CAP 320   /* longest path in a message; longer ones keep their end */
#define QUOTE_MAX 40   /* bytes of a name or value quoted in a message */
#define QUOTE_CAP (QUOTE_MAX * 6 + 16)
#define SUGGEST_MAX 64 /* names longer than this get no suggestion */

/* ---- messages ---- */

const char *spi_rdoc_quote(char *buf, size_t cap, const char *s, size_t len, size_t max,
                           char delim)
{
    if (cap < 8) {
        if (cap > 0)
            buf[0] = '\0';
        return buf;
    }
    const uint8_t *u = (const uint8_t *)s;
    bool cut = len > max;
    size_t o = 0, end = cut ? max : len;
    while (end < len && end > 0 && (u[end] & 0xC0u) == 0x80u)
        end--; /* cut on a character boundary */
    buf[o++] = delim;
    for (size_t k = 0; k < end;) {
        uint8_t c = u[k];
        char e[8];
        const char *src = e;
        size_t step = 1, el;
        if (c >= 0x80) {
            const char *why;
            step = spi_utf8_seq(u + k, u + end, &why);
            if (step > 0) {
                src = s + k;
                el = step;
            } else {
                el = (size_t)snprintf(e, sizeof e, "\\x%02x", (unsigned)c); /* not UTF-8 */
                step = 1;
            }
        } else if (c == '\\' || c == (uint8_t)delim) {
            el = (size_t)snprintf(e, sizeof e, "\\%c", (char)c);
        } else if (c == '\n') {
            el = (size_t)snprintf(e, sizeof e, "\\n");
        } else if (c == '\t') {
            el = (size_t)snprintf(e, sizeof e, "\\t");
        } else if (c < 0x20 || c == 0x7F) {
            el = (size_t)snprintf(e, sizeof e, "\\u%04x", (unsigned)c);
        } else {
            e[0] = (char)c;
            el = 1;
        }
        /* Room for this, "...", the delimiter and the NUL. */
        if (o + el + 5 > cap) {
            cut = true;
            break;
        }
        memcpy(buf + o, src, el);
        o += el;
        k += step;
    }
    if (cut) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o++] = delim;
    buf[o] = '\0';
    return buf;
}

static bool plain_name(const char *k, size_t len)
{
    if (len == 0 || len > QUOTE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)k[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c >= 0x80))
            return false;
    }
    return true;
}

/* One step of a path: "[3]", ".name" ("name" first), or ["odd name"]. */
static size_t segment(const spi_rdoc *doc, const struct spi_rnode *nd, bool first, char *buf,
                      size_t cap)
{
    int n;
    if (doc->nodes[nd->parent].type == SPI_RARRAY) {
        n = snprintf(buf, cap, "[%u]", (unsigned)nd->key_len);
    } else {
        const char *key = spi_rnode_key_ptr(doc, nd);
        if (plain_name(key, nd->key_len)) {
            n = snprintf(buf, cap, "%s%.*s", first ? "" : ".", (int)nd->key_len, key);
        } else {
            char q[QUOTE_CAP];
            n = snprintf(buf, cap, "[%s]", spi_rdoc_quote(q, sizeof q, key, nd->key_len, QUOTE_MAX, '"'));
        }
    }
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static size_t path_build(const spi_rdoc *doc, uint32_t idx, char *out, size_t cap)
{
    char tmp[PATH_CAP];
    size_t start = sizeof tmp;
    bool cut = false;
    while (idx != RDOC_NONE && doc->nodes[idx].parent != RDOC_NONE) {
        const struct spi_rnode *nd = &doc->nodes[idx];
        char seg[QUOTE_CAP + 8];
        size_t sl = segment(doc, nd, doc->nodes[nd->parent].parent == RDOC_NONE, seg, sizeof seg);
        if (sl + 4 > start) {
            cut = true;
            break;
        }
        start -= sl;
        memcpy(tmp + start, seg, sl);
        idx = nd->parent;
    }
    if (cut) {
        if (start < sizeof tmp && tmp[start] == '.')
            start++;
        start -= 3;
        memcpy(tmp + start, "...", 3);
    }
    if (cap == 0)
        return 0;
    size_t n = sizeof tmp - start;
    if (n >= cap)
        n = cap - 1;
    memcpy(out, tmp + start, n);
    out[n] = '\0';
    return n;
}

size_t spi_rec_path(const spi_rdoc *doc, const spi_rnode *node, char *buf, size_t cap)
{
    return path_build(doc, (uint32_t)(node - doc->nodes), buf, cap);
}

int spi_rdoc_vfail(const spi_rdoc *doc, int code, uint32_t node, size_t pos, const char *fmt,
                   va_list ap)
{
    char msg[SPI_ERRMSG_CAP / 2];
    vsnprintf(msg, sizeof msg, fmt, ap);
    char path[PATH_CAP] = "";
    if (node != RDOC_NONE)
        path_build(doc, node, path, sizeof path);
    char where[96] = "";
    if (pos != SIZE_MAX) {
        /* Lines end at '\n'; columns count characters (not bytes) from 1. */
        size_t line = 1, col = 1;
        for (size_t k = 0; k < pos && k < doc->size; k++) {
            uint8_t b = doc->data[k];
            if (b == '\n') {
                line++;
                col = 1;
            } else if ((b & 0xC0u) != 0x80u) {
                col++;
            }
        }
        snprintf(where, sizeof where, " (line %zu, column %zu, byte %zu)", line, col, pos);
    }
    return spi_fail(doc->ctx, code, "%s: %s%s%s%s", doc->name, path, path[0] ? ": " : "", msg,
                    where);
}

int spi_rdoc_fail(const spi_rdoc *doc, int code, uint32_t node, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = spi_rdoc_vfail(doc, code, node, pos, fmt, ap);
    va_end(ap);
    return rc;
}

static uint32_t index_of(const spi_rdoc *doc, const spi_rnode *node)
{
    return (uint32_t)(node - doc->nodes);
}

int spi_rec_fail(const spi_rdoc *doc, const spi_rnode *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = spi_rdoc_vfail(doc, doc->code, index_of(doc, node), node->pos, fmt, ap);
    va_end(ap);
    return rc;
}

/* What a value is, for "found ...": numbers and booleans as written, else their kind. */
static const char *found(const spi_rdoc *doc, const spi_rnode *v, char *buf, size_t cap)
{
    switch ((spi_rtype)v->type) {
    case SPI_RNULL: return "null";
    case SPI_RBOOL: return v->flags & RNODE_TRUE ? "true" : "false";
    case SPI_RNUMBER:
        snprintf(buf, cap, "%.*s%s", (int)(v->len > QUOTE_MAX ? QUOTE_MAX : v->len),
                 spi_rnode_text_ptr(doc, v), v->len > QUOTE_MAX ? "..." : "");
        return buf;
    case SPI_RSTRING: return "a string";
    case SPI_RARRAY: return "an array";
    case SPI_ROBJECT: return "an object";
    }
    return "a value";
}

static int expected(const spi_rdoc *doc, const spi_rnode *v, const char *what)
{
    char b[QUOTE_CAP];
    return spi_rec_fail(doc, v, "expected %s, found %s", what, found(doc, v, b, sizeof b));
}

/* ---- suggestions ---- */

/* Optimal string alignment distance (a transposition counts one), for n, m <= SUGGEST_MAX. */
static size_t edit_distance(const char *a, size_t n, const char *b, size_t m)
{
    size_t rows[3][SUGGEST_MAX + 1];
    size_t *pp = rows[0], *prev = rows[1], *cur = rows[2];
    for (size_t j = 0; j <= m; j++)
        prev[j] = j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] != b[j - 1];
            size_t d = prev[j] + 1;
            if (cur[j - 1] + 1 < d)
                d = cur[j - 1] + 1;
            if (prev[j - 1] + cost < d)
                d = prev[j - 1] + cost;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < d)
                d = pp[j - 2] + 1;
            cur[j] = d;
        }
        size_t *t = pp;
        pp = prev;
        prev = cur;
        cur = t;
    }
    return prev[m];
}

/* The nearest of names[0..n) to s: within a third of its length (at least one edit);
 * ties go to the first. SIZE_MAX when none is near. */
static size_t suggest(const char *s, size_t len, const char *const *names, size_t n)
{
    size_t best = SIZE_MAX, best_d = SIZE_MAX;
    if (len > SUGGEST_MAX)
        return SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        size_t nl = strlen(names[k]);
        size_t limit = nl / 3 > 1 ? nl / 3 : 1;
        if (nl > SUGGEST_MAX || (nl > len ? nl - len : len - nl) > limit)
            continue;
        size_t d = edit_distance(s, len, names[k], nl);
        if (d <= limit && d < best_d) {
            best = k;
            best_d = d;
        }
    }
    return best;
}

size_t spi_rec_suggest(const char *s, size_t len, const char *const *names, size_t n)
{
    return suggest(s, len, names, n);
}

static void did_you_mean(char *buf, size_t cap, const char *s, size_t len,
                         const char *const *names, size_t n)
{
    size_t k = suggest(s, len, names, n);
    char q[QUOTE_CAP];
    if (k == SIZE_MAX)
        buf[0] = '\0';
    else
        snprintf(buf, cap, "; did you mean %s?",
                 spi_rdoc_quote(q, sizeof q, names[k], strlen(names[k]), QUOTE_MAX, '\''));
}

/* s[0..len) (which may hold NUL bytes) is the NUL-terminated `name`. */
static bool equal_name(const char *s, size_t len, const char *name)
{
    return strlen(name) == len && memcmp(s, name, len) == 0;
}

/* ---- navigation ---- */

const spi_rnode *spi_rdoc_root(const spi_rdoc *doc)
{
    return &doc->nodes[0];
}

uint32_t spi_rdoc_nodes(const spi_rdoc *doc)
{
    return doc->nnodes;
}

int spi_rdoc_code(const spi_rdoc *doc)
{
    return doc->code;
}

spi_rtype spi_rnode_type(const spi_rnode *node)
{
    return (spi_rtype)node->type;
}

static bool is_container(const spi_rnode *node)
{
    return node->type == SPI_RARRAY || node->type == SPI_ROBJECT;
}

size_t spi_rnode_count(const spi_rnode *node)
{
    return is_container(node) ? node->len : 0;
}

const spi_rnode *spi_rnode_at(const spi_rdoc *doc, const spi_rnode *node, size_t i)
{
    if (!is_container(node) || i >= node->len)
        return NULL;
    return &doc->nodes[doc->kids[node->off + i]];
}

const char *spi_rnode_key(const spi_rdoc *doc, const spi_rnode *node, size_t *len)
{
    if (node->parent == RDOC_NONE || doc->nodes[node->parent].type != SPI_ROBJECT) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = node->key_len;
    return spi_rnode_key_ptr(doc, node);
}

const char *spi_rnode_text(const spi_rdoc *doc, const spi_rnode *node, size_t *len)
{
    if (node->type != SPI_RSTRING && node->type != SPI_RNUMBER) {
        if (len != NULL)
            *len = 0;
        return NULL;
    }
    if (len != NULL)
        *len = node->len;
    return spi_rnode_text_ptr(doc, node);
}

bool spi_rnode_bool(const spi_rnode *node)
{
    return node->type == SPI_RBOOL && (node->flags & RNODE_TRUE) != 0;
}

const spi_rnode *spi_rnode_member(const spi_rdoc *doc, const spi_rnode *obj, const char *key)
{
    if (obj->type != SPI_ROBJECT || obj->len == 0) /* kids may be NULL then */
        return NULL;
    size_t klen = strlen(key);
    const uint32_t *kids = doc->kids + obj->off;
    for (uint32_t i = 0; i < obj->len; i++) {
        const struct spi_rnode *m = &doc->nodes[kids[i]];
        if (m->key_len == klen && memcmp(spi_rnode_key_ptr(doc, m), key, klen) == 0)
            return m;
    }
    return NULL;
}

/* ---- typed values ---- */

/* The value to read: `node` itself, or its member `key`; NULL when optional and absent. */
static int locate(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                  const spi_rnode **out)
{
    *out = node;
    if (key == NULL)
        return SP_OK;
    if (node->type != SPI_ROBJECT)
        return expected(doc, node, "an object");
    *out = spi_rnode_member(doc, node, key);
    if (*out != NULL || (flags & SPI_REC_OPTIONAL))
        return SP_OK;
    char q[QUOTE_CAP];
    return spi_rec_fail(doc, node, "missing field %s",
                        spi_rdoc_quote(q, sizeof q, key, strlen(key), QUOTE_MAX, '\''));
}

int spi_rec_get(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                const spi_rnode **out)
{
    const spi_rnode *v;
    int rc = locate(doc, node, key, flags, &v);
    if (rc == SP_OK)
        *out = v;
    return rc;
}

static int typed(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                 spi_rtype type, const char *what, const spi_rnode **out)
{
    int rc = locate(doc, node, key, flags, out);
    if (rc == SP_OK && *out != NULL && (*out)->type != type)
        return expected(doc, *out, what);
    return rc;
}

int spi_rec_object(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                   const spi_rnode **out)
{
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_ROBJECT, "an object", &v);
    if (rc == SP_OK && v != NULL)
        *out = v;
    return rc;
}

int spi_rec_array(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                  const spi_rnode **out, size_t *count)
{
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_RARRAY, "an array", &v);
    if (rc == SP_OK && v != NULL) {
        *out = v;
        *count = v->len;
    }
    return rc;
}

/* A number's value times 10^digits; SP_EINVAL: more decimals than `digits`, SP_EOVERFLOW:
 * beyond int64_t. The text is already valid, so these are the only failures. */
static int scaled(const spi_rdoc *doc, const spi_rnode *v, int digits, int64_t *out)
{
    return spi_parse_fixed(NULL, "", spi_rnode_text_ptr(doc, v), v->len, digits, false, 0,
                           SP_ROUND_HALF_EVEN, out);
}

/* An integer of the format's range, -(2^63 - 1) .. 2^63 - 1 (INT64_MIN has no negation
 * and is never written), within [min, max]. `noun` names it in messages. */
static int integer(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                   int64_t min, int64_t max, const char *noun, int64_t *out)
{
    if (min < -INT64_MAX)
        min = -INT64_MAX;
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_RNUMBER, noun, &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    if (v->flags & RNODE_FRACTION)
        return expected(doc, v, noun);
    int64_t x;
    /* The text is valid, so the only failure left is SP_EOVERFLOW. */
    if (scaled(doc, v, 0, &x) != SP_OK || x < min || x > max) {
        char what[160];
        snprintf(what, sizeof what, "%s from %lld to %lld", noun, (long long)min, (long long)max);
        return expected(doc, v, what);
    }
    *out = x;
    return SP_OK;
}

int spi_rec_int(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                int64_t min, int64_t max, int64_t *out)
{
    return integer(doc, node, key, flags, min, max, "an integer", out);
}

int spi_rec_money(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                  int64_t *out)
{
    return integer(doc, node, key, flags, -INT64_MAX, INT64_MAX, "an amount in minor units", out);
}

int spi_rec_money_major(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                        uint32_t flags, int32_t exponent, int64_t *out)
{
    if (exponent < 0 || exponent > SP_MONEY_MAX_EXPONENT)
        return spi_fail(doc->ctx, SP_EINVAL, "record reader: exponent %d is outside 0..%d",
                        (int)exponent, SP_MONEY_MAX_EXPONENT);
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_RNUMBER, "an amount", &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    int64_t x;
    char b[QUOTE_CAP];
    rc = scaled(doc, v, (int)exponent, &x);
    if (rc == SP_EINVAL)
        return spi_rec_fail(doc, v, "amount %s has more than %d decimals",
                            found(doc, v, b, sizeof b), (int)exponent);
    if (rc != SP_OK || x == INT64_MIN)
        return spi_rec_fail(doc, v, "amount %s is out of range (at most 9223372036854775807 "
                            "minor units in magnitude)", found(doc, v, b, sizeof b));
    *out = x;
    return SP_OK;
}

int spi_rec_dec(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                sp_dec min, sp_dec max, sp_dec *out)
{
    const spi_rnode *v;
    const char *what = flags & SPI_REC_PERCENT
                           ? "a decimal number or a percentage string like '3.5%'"
                           : "a decimal number";
    int rc = locate(doc, node, key, flags, &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    sp_dec x;
    char b[QUOTE_CAP];
    if (v->type == SPI_RSTRING && (flags & SPI_REC_PERCENT)) {
        const char *s = spi_rnode_text_ptr(doc, v);
        size_t len = v->len;
        /* A percentage has two fewer decimals: "3.5%" is 0.035. */
        rc = len > 0 && s[len - 1] == '%'
                 ? spi_parse_fixed(NULL, "", s, len, SP_DEC_DIGITS - 2, true, 0,
                                   SP_ROUND_HALF_EVEN, &x)
                 : SP_EINVAL;
        spi_rdoc_quote(b, sizeof b, s, len, QUOTE_MAX, '\'');
        if (rc == SP_EINVAL)
            return spi_rec_fail(doc, v, "expected a percentage like '3.5%%' (at most %d "
                                "decimals), found %s", SP_DEC_DIGITS - 2, b);
        if (rc != SP_OK)
            return spi_rec_fail(doc, v, "percentage %s is out of range", b);
    } else if (v->type == SPI_RNUMBER) {
        rc = scaled(doc, v, SP_DEC_DIGITS, &x);
        if (rc == SP_EINVAL)
            return spi_rec_fail(doc, v, "%s has more than %d decimals", found(doc, v, b, sizeof b),
                                SP_DEC_DIGITS);
        if (rc != SP_OK)
            return spi_rec_fail(doc, v, "%s is out of range (decimals lie within "
                                "-9223372036.854775807 to 9223372036.854775807)",
                                found(doc, v, b, sizeof b));
    } else {
        return expected(doc, v, what);
    }
    if (x < min || x > max) {
        char lo[SP_TEXT_MAX], hi[SP_TEXT_MAX], text[QUOTE_CAP];
        spi_format_fixed(min, SP_DEC_DIGITS, true, false, "", lo, sizeof lo, NULL);
        spi_format_fixed(max, SP_DEC_DIGITS, true, false, "", hi, sizeof hi, NULL);
        spi_format_fixed(x, SP_DEC_DIGITS, true, false, "", text, sizeof text, NULL);
        return spi_rec_fail(doc, v, "expected a decimal from %s to %s, found %s", lo, hi, text);
    }
    *out = x;
    return SP_OK;
}

int spi_rec_string(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                   const char **s, size_t *len)
{
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_RSTRING, "a string", &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    if ((flags & SPI_REC_NO_NUL) && (v->flags & RNODE_HAS_NUL))
        return spi_rec_fail(doc, v, "the string contains U+0000, which is not accepted here");
    *s = spi_rnode_text_ptr(doc, v);
    *len = v->len;
    return SP_OK;
}

int spi_rec_u32(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                uint32_t min, uint32_t max, uint32_t *out)
{
    int64_t x = -1; /* stays when optional and absent */
    int rc = integer(doc, node, key, flags, min, max, "an integer", &x);
    if (rc == SP_OK && x >= 0)
        *out = (uint32_t)x;
    return rc;
}

int spi_rec_strdup(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                   uint32_t flags, char **out)
{
    const spi_rnode *v;
    int rc = locate(doc, node, key, flags, &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    if (v->type == SPI_RNULL && (flags & SPI_REC_NULL)) {
        *out = NULL;
        return SP_OK;
    }
    const char *s = ""; /* always set on success: v is present */
    size_t len = 0;
    if ((rc = spi_rec_string(doc, v, NULL, SPI_REC_NO_NUL, &s, &len)) != SP_OK)
        return rc;
    char *copy = spi_malloc(doc->ctx, len + 1);
    if (copy == NULL)
        return SP_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    *out = copy;
    return SP_OK;
}

int spi_rec_bool(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                 bool *out)
{
    const spi_rnode *v;
    int rc = typed(doc, node, key, flags, SPI_RBOOL, "true or false", &v);
    if (rc == SP_OK && v != NULL)
        *out = (v->flags & RNODE_TRUE) != 0;
    return rc;
}

int spi_rec_enum(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                 const char *const *names, size_t n, uint32_t *out)
{
    const spi_rnode *v;
    int rc = locate(doc, node, key, flags, &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    const char *s = spi_rnode_text_ptr(doc, v);
    if (v->type == SPI_RSTRING)
        for (size_t k = 0; k < n; k++)
            if (equal_name(s, v->len, names[k])) {
                *out = (uint32_t)k;
                return SP_OK;
            }
    char list[256], q[QUOTE_CAP], hint[QUOTE_CAP + 32] = "";
    size_t o = 0;
    for (size_t k = 0; k < n && o < sizeof list; k++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", k > 0 ? ", " : "",
                         spi_rdoc_quote(q, sizeof q, names[k], strlen(names[k]), QUOTE_MAX, '\''));
        o += w > 0 ? (size_t)w : 0;
    }
    if (v->type != SPI_RSTRING)
        return spi_rec_fail(doc, v, "expected one of %s, found %s", list,
                            found(doc, v, q, sizeof q));
    did_you_mean(hint, sizeof hint, s, v->len, names, n);
    return spi_rec_fail(doc, v, "expected one of %s, found %s%s", list,
                        spi_rdoc_quote(q, sizeof q, s, v->len, QUOTE_MAX, '\''), hint);
}

int spi_rec_check_members(const spi_rdoc *doc, const spi_rnode *obj, const char *const *known,
                          size_t n)
{
    if (obj->type != SPI_ROBJECT)
        return expected(doc, obj, "an object");
    if (!(doc->flags & SPI_RDOC_STRICT) || obj->len == 0)
        return SP_OK;
    const uint32_t *kids = doc->kids + obj->off;
    for (uint32_t i = 0; i < obj->len; i++) {
        const struct spi_rnode *m = &doc->nodes[kids[i]];
        const char *key = spi_rnode_key_ptr(doc, m);
        size_t k = 0;
        while (k < n && !equal_name(key, m->key_len, known[k]))
            k++;
        if (k < n)
            continue;
        char q[QUOTE_CAP], hint[QUOTE_CAP + 32];
        did_you_mean(hint, sizeof hint, key, m->key_len, known, n);
        return spi_rdoc_fail(doc, doc->code, index_of(doc, obj), m->key_pos, "unknown field %s%s",
                             spi_rdoc_quote(q, sizeof q, key, m->key_len, QUOTE_MAX, '\''), hint);
    }
    return SP_OK;
}

/* ---- the record envelope ---- */

int spi_record_open(const spi_rdoc *doc, const char *type, uint32_t known, uint32_t *version)
{
    const spi_rnode *root = spi_rdoc_root(doc);
    if (root->type != SPI_ROBJECT)
        return expected(doc, root, "a record (an object)");
    const char *t = "";
    size_t tl = 0;
    int rc = spi_rec_string(doc, root, "type", 0, &t, &tl);
    if (rc != SP_OK)
        return rc;
    char q[QUOTE_CAP];
    if (!equal_name(t, tl, type))
        return spi_rec_fail(doc, spi_rnode_member(doc, root, "type"),
                            "expected record type '%s', found %s", type,
                            spi_rdoc_quote(q, sizeof q, t, tl, QUOTE_MAX, '\''));
    const spi_rnode *v;
    if ((rc = spi_rec_get(doc, root, "v", 0, &v)) != SP_OK)
        return rc;
    int64_t x = 0;
    rc = v->type == SPI_RNUMBER && !(v->flags & RNODE_FRACTION) ? scaled(doc, v, 0, &x)
                                                                : SP_EINVAL;
    bool newer = rc == SP_EOVERFLOW ? spi_rnode_text_ptr(doc, v)[0] != '-' : rc == SP_OK && x > known;
    if (newer)
        return spi_rdoc_fail(doc, SP_EVERSION, index_of(doc, v), v->pos,
                             "'%s' version %s is newer than version %u, the newest this "
                             "library reads", type, found(doc, v, q, sizeof q), (unsigned)known);
    if (rc != SP_OK || x < 1)
        return expected(doc, v, "a format version (an integer from 1)");
    *version = (uint32_t)x;
    return SP_OK;
}
