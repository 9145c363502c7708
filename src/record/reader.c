/*
 * The record reader: one pass over the bytes, no recursion, building a read-only tree of
 * 32-byte nodes in document order. Open containers are found through the parent links;
 * their children wait on a stack and move into doc->kids, contiguous per container, when
 * the container closes (that is also when an object's names are checked for duplicates).
 * Strings without escapes are not copied; unescaped strings go to one growing buffer.
 */
#include <stdio.h>
#include <string.h>

#include "rdoc.h"

/* Duplicate names are looked for pairwise up to this many members, by sorting above. */
#define SMALL_OBJECT 16

typedef struct parser {
    spi_rdoc *doc;
    sp_ctx *ctx;
    const uint8_t *p;
    size_t n;
    spi_rec_limits lim;
    size_t node_cap, kid_cap, dec_len, dec_cap;
    uint32_t nkids;
    uint32_t depth;
    uint32_t *stack; /* children of the open containers, innermost last */
    size_t stack_len, stack_cap;
    uint32_t *scratch; /* merge sort of large objects' names */
    size_t scratch_cap;
} parser;

static int perr(parser *P, uint32_t node, size_t pos, const char *fmt, ...) SPI_PRINTF(4, 5);

static int perr(parser *P, uint32_t node, size_t pos, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = spi_rdoc_vfail(P->doc, P->doc->code, node, pos, fmt, ap);
    va_end(ap);
    return rc;
}

static bool is_digit(uint8_t c)
{
    return c >= '0' && c <= '9';
}

static bool is_word(uint8_t c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static size_t skip_ws(const uint8_t *p, size_t n, size_t i)
{
    while (i < n && (p[i] == ' ' || p[i] == '\n' || p[i] == '\r' || p[i] == '\t'))
        i++;
    return i;
}

/* What stands at p[i], for "found ...": the end, a word, a character or a byte. */
static const char *describe(const parser *P, size_t i, char *buf, size_t cap)
{
    const uint8_t *p = P->p;
    if (i >= P->n)
        return "the end of the input";
    if (is_word(p[i])) {
        size_t k = i;
        while (k < P->n && k - i < 24 && is_word(p[k]))
            k++;
        return spi_rdoc_quote(buf, cap, (const char *)p + i, k - i, 24, '\'');
    }
    const char *why;
    size_t k = p[i] >= 0x21 && p[i] < 0x7F ? 1 : p[i] >= 0x80 ? spi_utf8_seq(p + i, p + P->n, &why) : 0;
    if (k > 0)
        return spi_rdoc_quote(buf, cap, (const char *)p + i, k, 4, '\'');
    snprintf(buf, cap, "byte 0x%02x", p[i]);
    return buf;
}

/* Grow an array to hold `need` > *cap elements (doubling, at most `max`); NULL when out of
 * memory (ptr is then left as it was). */
static void *grow(sp_ctx *ctx, void *ptr, size_t *cap, size_t need, size_t max, size_t elem)
{
    size_t c = *cap > 0 ? *cap : 16;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : c * 2;
    if (c > max && need <= max)
        c = max;
    void *q = spi_realloc_array(ctx, ptr, c, elem);
    if (q != NULL)
        *cap = c;
    return q;
}

static int push_child(parser *P, uint32_t idx)
{
    if (P->stack_len == P->stack_cap) {
        void *q = grow(P->ctx, P->stack, &P->stack_cap, P->stack_len + 1, SIZE_MAX,
                       sizeof *P->stack);
        if (q == NULL)
            return SP_ENOMEM;
        P->stack = q;
    }
    P->stack[P->stack_len++] = idx;
    return SP_OK;
}

static int append_dec(parser *P, const void *bytes, size_t len)
{
    if (len > P->dec_cap - P->dec_len) {
        void *q = grow(P->ctx, P->doc->dec, &P->dec_cap, P->dec_len + len, P->n, 1);
        if (q == NULL)
            return SP_ENOMEM;
        P->doc->dec = q;
    }
    if (len > 0)
        memcpy(P->doc->dec + P->dec_len, bytes, len);
    P->dec_len += len;
    return SP_OK;
}

static int key_cmp(const spi_rdoc *doc, uint32_t a, uint32_t b)
{
    const struct spi_rnode *x = &doc->nodes[a], *y = &doc->nodes[b];
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(spi_rnode_key_ptr(doc, x), spi_rnode_key_ptr(doc, y), n);
    if (c != 0)
        return c;
    return x->key_len < y->key_len ? -1 : x->key_len > y->key_len;
}

static bool key_eq(const spi_rdoc *doc, uint32_t a, uint32_t b)
{
    const struct spi_rnode *x = &doc->nodes[a], *y = &doc->nodes[b];
    return x->key_len == y->key_len &&
           memcmp(spi_rnode_key_ptr(doc, x), spi_rnode_key_ptr(doc, y), x->key_len) == 0;
}

static int duplicate_error(parser *P, uint32_t obj, uint32_t member)
{
    const struct spi_rnode *m = &P->doc->nodes[member];
    char q[96];
    return perr(P, obj, m->key_pos, "duplicate field %s",
                spi_rdoc_quote(q, sizeof q, spi_rnode_key_ptr(P->doc, m), m->key_len, 40, '\''));
}

/* Bottom-up merge sort of member indices by name, equal names in document order. */
static uint32_t *sort_members(parser *P, const uint32_t *members, size_t m)
{
    uint32_t *a = P->scratch, *b = P->scratch + m;
    memcpy(a, members, m * sizeof *a);
    for (size_t width = 1; width < m; width *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * width) {
            size_t mid = lo + width < m ? lo + width : m;
            size_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = key_cmp(P->doc, a[j], a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
        }
        uint32_t *t = a;
        a = b;
        b = t;
    }
    return a;
}

/* Reject a name that appears twice, naming the first repetition in document order. */
static int check_duplicates(parser *P, uint32_t obj, const uint32_t *members, size_t m)
{
    if (m <= SMALL_OBJECT) {
        for (size_t j = 1; j < m; j++)
            for (size_t k = 0; k < j; k++)
                if (key_eq(P->doc, members[k], members[j]))
                    return duplicate_error(P, obj, members[j]);
        return SP_OK;
    }
    if (2 * m > P->scratch_cap) {
        void *q = grow(P->ctx, P->scratch, &P->scratch_cap, 2 * m, SIZE_MAX, sizeof *P->scratch);
        if (q == NULL)
            return SP_ENOMEM;
        P->scratch = q;
    }
    const uint32_t *sorted = sort_members(P, members, m);
    uint32_t first = RDOC_NONE; /* node indices grow in document order */
    for (size_t k = 1; k < m; k++)
        if (key_eq(P->doc, sorted[k - 1], sorted[k]) && sorted[k] < first)
            first = sorted[k];
    return first != RDOC_NONE ? duplicate_error(P, obj, first) : SP_OK;
}

/* Move the children of `idx` from the stack into kids. */
static int close_container(parser *P, uint32_t idx)
{
    spi_rdoc *doc = P->doc;
    uint32_t m = doc->nodes[idx].len;
    if (m > P->kid_cap - P->nkids) {
        void *q = grow(P->ctx, doc->kids, &P->kid_cap, (size_t)P->nkids + m, P->node_cap,
                       sizeof *doc->kids);
        if (q == NULL)
            return SP_ENOMEM;
        doc->kids = q;
    }
    if (m > 0) /* an empty document may have neither stack nor kids */
        memcpy(doc->kids + P->nkids, P->stack + (P->stack_len - m), m * sizeof *doc->kids);
    doc->nodes[idx].off = P->nkids;
    P->nkids += m;
    P->stack_len -= m;
    P->depth--;
    if (doc->nodes[idx].type == SPI_ROBJECT && m > 1)
        return check_duplicates(P, idx, doc->kids + doc->nodes[idx].off, m);
    return SP_OK;
}

static int new_node(parser *P, uint32_t parent, size_t pos, uint32_t *out)
{
    spi_rdoc *doc = P->doc;
    if (doc->nnodes >= P->lim.max_nodes)
        return perr(P, parent, pos, "more than %u values (the limit)", (unsigned)P->lim.max_nodes);
    if (doc->nnodes == P->node_cap) {
        void *q = grow(P->ctx, doc->nodes, &P->node_cap, (size_t)doc->nnodes + 1,
                       P->lim.max_nodes, sizeof *doc->nodes);
        if (q == NULL)
            return SP_ENOMEM;
        doc->nodes = q;
    }
    struct spi_rnode *nd = &doc->nodes[doc->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->pos = (uint32_t)pos;
    nd->parent = parent;
    *out = doc->nnodes++;
    return SP_OK;
}

/* Advance over characters that need no unescaping, up to a '"', a '\' or the end. */
static int scan_run(parser *P, uint32_t node, size_t *pi)
{
    const uint8_t *p = P->p;
    size_t n = P->n, i = *pi;
    for (;;) {
        while (i < n && spi_json_plain[p[i]])
            i++;
        if (i >= n || p[i] == '"' || p[i] == '\\')
            break;
        if (p[i] < 0x20)
            return perr(P, node, i, "control character U+%04X must be escaped in a string",
                        (unsigned)p[i]);
        const char *why;
        size_t k = spi_utf8_seq(p + i, p + n, &why);
        if (k == 0)
            return perr(P, node, i, "invalid UTF-8 in a string: %s", why);
        i += k;
    }
    *pi = i;
    return SP_OK;
}

static int hex4(const uint8_t *p, size_t n, size_t i, uint32_t *out)
{
    if (i > n || n - i < 4)
        return -1;
    uint32_t v = 0;
    for (size_t k = i; k < i + 4; k++) {
        uint8_t c = p[k];
        uint32_t d = is_digit(c) ? (uint32_t)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (uint32_t)(c - 'a' + 10)
                     : (c >= 'A' && c <= 'F') ? (uint32_t)(c - 'A' + 10)
                                              : 16u;
        if (d > 15)
            return -1;
        v = v * 16 + d;
    }
    *out = v;
    return 0;
}

static size_t utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* One escape at p[i] == '\'; appends its character; *pi moves past it. */
static int unescape(parser *P, uint32_t node, size_t *pi, uint8_t *flags)
{
    const uint8_t *p = P->p;
    size_t n = P->n, at = *pi;
    if (at + 1 >= n)
        return perr(P, node, at, "unterminated string");
    uint8_t e = p[at + 1], c;
    switch (e) {
    case '"': c = '"'; break;
    case '\\': c = '\\'; break;
    case '/': c = '/'; break;
    case 'b': c = '\b'; break;
    case 'f': c = '\f'; break;
    case 'n': c = '\n'; break;
    case 'r': c = '\r'; break;
    case 't': c = '\t'; break;
    case 'u': {
        uint32_t cp, lo;
        if (hex4(p, n, at + 2, &cp) != 0)
            return perr(P, node, at, "invalid \\u escape: expected four hex digits");
        size_t next = at + 6;
        if (cp >= 0xDC00 && cp <= 0xDFFF)
            return perr(P, node, at,
                        "lone surrogate \\u%04x: a low surrogate must follow a high one",
                        (unsigned)cp);
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (next + 1 >= n || p[next] != '\\' || p[next + 1] != 'u' ||
                hex4(p, n, next + 2, &lo) != 0 || lo < 0xDC00 || lo > 0xDFFF)
                return perr(P, node, at,
                            "lone surrogate \\u%04x: a high surrogate must be followed by a "
                            "low one (\\udc00..\\udfff)",
                            (unsigned)cp);
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            next += 6;
        }
        if (cp == 0)
            *flags |= RNODE_HAS_NUL;
        uint8_t buf[4];
        *pi = next;
        return append_dec(P, buf, utf8_encode(cp, buf));
    }
    default: {
        char d[32];
        return perr(P, node, at, "invalid escape: %s after '\\'", describe(P, at + 1, d, sizeof d));
    }
    }
    *pi = at + 2;
    return append_dec(P, &c, 1);
}

/*
 * The string whose opening quote is at *pi: its text is at data + *off (RNODE_DECODED
 * clear) or dec + *off (set), *len bytes. `node` names the place in errors.
 */
static int parse_string(parser *P, uint32_t node, size_t *pi, uint32_t *off, uint32_t *len,
                        uint8_t *flags)
{
    const uint8_t *p = P->p;
    size_t quote = *pi, i = quote + 1, start = i;
    int rc = scan_run(P, node, &i);
    if (rc != SP_OK)
        return rc;
    size_t length;
    if (i < P->n && p[i] == '"') {
        *off = (uint32_t)start;
        length = i - start;
    } else {
        size_t dstart = P->dec_len;
        for (;;) {
            if ((rc = append_dec(P, p + start, i - start)) != SP_OK)
                return rc;
            if (i >= P->n)
                break;
            if (p[i] == '"')
                break;
            if ((rc = unescape(P, node, &i, flags)) != SP_OK)
                return rc;
            start = i;
            if ((rc = scan_run(P, node, &i)) != SP_OK)
                return rc;
        }
        *flags |= RNODE_DECODED;
        *off = (uint32_t)dstart;
        length = P->dec_len - dstart;
    }
    if (i >= P->n)
        return perr(P, node, quote, "unterminated string");
    if (length > P->lim.max_string)
        return perr(P, node, quote, "string of %zu bytes is longer than the limit of %zu",
                    length, P->lim.max_string);
    *len = (uint32_t)length;
    *pi = i + 1;
    return SP_OK;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)? at *pi; anything else is named precisely. */
static int parse_number(parser *P, uint32_t node, size_t *pi)
{
    const uint8_t *p = P->p;
    size_t n = P->n, start = *pi, i = start;
    struct spi_rnode *nd = &P->doc->nodes[node];
    char d[32];
    if (p[i] == '-')
        i++;
    if (i >= n || !is_digit(p[i]))
        return perr(P, node, i, "invalid number: expected a digit after '-', found %s",
                    describe(P, i, d, sizeof d));
    if (p[i] == '0') {
        i++;
        if (i < n && is_digit(p[i]))
            return perr(P, node, start, "invalid number: leading zeros are not accepted");
    } else {
        while (i < n && is_digit(p[i]))
            i++;
    }
    if (i < n && p[i] == '.') {
        i++;
        if (i >= n || !is_digit(p[i]))
            return perr(P, node, i, "invalid number: expected a digit after '.', found %s",
                        describe(P, i, d, sizeof d));
        while (i < n && is_digit(p[i]))
            i++;
        nd->flags |= RNODE_FRACTION;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E'))
        return perr(P, node, i,
                    "invalid number: exponents are not accepted; write all the digits "
                    "(1500, not 1.5e3)");
    if (i - start > P->lim.max_string)
        return perr(P, node, start, "number of %zu characters is longer than the limit of %zu",
                    i - start, P->lim.max_string);
    nd->type = SPI_RNUMBER;
    nd->off = (uint32_t)start;
    nd->len = (uint32_t)(i - start);
    *pi = i;
    return SP_OK;
}

static bool literal(const parser *P, size_t i, const char *word, size_t len)
{
    return P->n - i >= len && memcmp(P->p + i, word, len) == 0 &&
           (P->n - i == len || !is_word(P->p[i + len]));
}

static int parse(parser *P)
{
    spi_rdoc *doc = P->doc;
    const uint8_t *p = P->p;
    size_t n = P->n, i = 0;
    uint32_t cur = RDOC_NONE; /* innermost open container */
    uint32_t idx = 0, key_off = 0, key_len = 0;
    size_t key_pos = 0;
    uint8_t key_flags = 0;
    char d[32];
    int rc;

    if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
        return perr(P, RDOC_NONE, 0, "a byte order mark (U+FEFF) is not accepted");
    i = skip_ws(p, n, i);

value:
    if ((rc = new_node(P, cur, i, &idx)) != SP_OK)
        return rc;
    if (cur != RDOC_NONE) {
        struct spi_rnode *nd = &doc->nodes[idx], *parent = &doc->nodes[cur];
        if (parent->type == SPI_ROBJECT) {
            nd->key_pos = (uint32_t)key_pos;
            nd->key_off = key_off;
            nd->key_len = key_len;
            nd->flags = key_flags;
        } else {
            nd->key_len = parent->len; /* the element's index */
        }
        parent->len++;
        if ((rc = push_child(P, idx)) != SP_OK)
            return rc;
    }
    if (i >= n)
        return perr(P, idx, i, "expected a value, found the end of the input");
    switch (p[i]) {
    case '{':
    case '[': {
        bool object = p[i] == '{';
        doc->nodes[idx].type = object ? SPI_ROBJECT : SPI_RARRAY;
        if (++P->depth > P->lim.max_depth)
            return perr(P, idx, i, "nesting deeper than %u levels (the limit)",
                        (unsigned)P->lim.max_depth);
        i = skip_ws(p, n, i + 1);
        if (i < n && p[i] == (object ? '}' : ']')) {
            i++;
            if ((rc = close_container(P, idx)) != SP_OK)
                return rc;
            goto after;
        }
        cur = idx;
        if (object)
            goto member;
        goto value;
    }
    case '"': {
        struct spi_rnode *nd = &doc->nodes[idx];
        uint32_t off = 0, len = 0;
        uint8_t flags = nd->flags;
        if ((rc = parse_string(P, idx, &i, &off, &len, &flags)) != SP_OK)
            return rc;
        nd = &doc->nodes[idx];
        nd->type = SPI_RSTRING;
        nd->flags = flags;
        nd->off = off;
        nd->len = len;
        goto after;
    }
    case 't':
    case 'f':
    case 'n':
        if (literal(P, i, "true", 4)) {
            doc->nodes[idx].type = SPI_RBOOL;
            doc->nodes[idx].flags |= RNODE_TRUE;
            i += 4;
        } else if (literal(P, i, "false", 5)) {
            doc->nodes[idx].type = SPI_RBOOL;
            i += 5;
        } else if (literal(P, i, "null", 4)) {
            doc->nodes[idx].type = SPI_RNULL;
            i += 4;
        } else {
            return perr(P, idx, i, "expected a value, found %s", describe(P, i, d, sizeof d));
        }
        goto after;
    default:
        if (p[i] == '-' || is_digit(p[i])) {
            if ((rc = parse_number(P, idx, &i)) != SP_OK)
                return rc;
            goto after;
        }
        return perr(P, idx, i, "expected a value, found %s", describe(P, i, d, sizeof d));
    }

member:
    if (i >= n || p[i] != '"')
        return perr(P, cur, i, "expected a field name in double quotes, found %s",
                    describe(P, i, d, sizeof d));
    key_pos = i;
    key_flags = 0;
    if ((rc = parse_string(P, cur, &i, &key_off, &key_len, &key_flags)) != SP_OK)
        return rc;
    key_flags = key_flags & RNODE_DECODED ? RNODE_KEY_DECODED : 0;
    i = skip_ws(p, n, i);
    if (i >= n || p[i] != ':')
        return perr(P, cur, i, "expected ':' after a field name, found %s",
                    describe(P, i, d, sizeof d));
    i = skip_ws(p, n, i + 1);
    goto value;

after:
    if (cur == RDOC_NONE)
        goto done;
    i = skip_ws(p, n, i);
    {
        bool object = doc->nodes[cur].type == SPI_ROBJECT;
        if (i < n && p[i] == ',') {
            i = skip_ws(p, n, i + 1);
            if (object)
                goto member;
            goto value;
        }
        if (i < n && p[i] == (object ? '}' : ']')) {
            i++;
            if ((rc = close_container(P, cur)) != SP_OK)
                return rc;
            cur = doc->nodes[cur].parent;
            goto after;
        }
        return perr(P, cur, i, object ? "expected ',' or '}' after a field, found %s"
                                      : "expected ',' or ']' after an element, found %s",
                    describe(P, i, d, sizeof d));
    }

done:
    i = skip_ws(p, n, i);
    if (i < n)
        return perr(P, RDOC_NONE, i, "unexpected %s after the document",
                    describe(P, i, d, sizeof d));
    return SP_OK;
}

int spi_rdoc_parse(spi_rdoc **out, sp_ctx *ctx, const char *name, const uint8_t *data,
                   size_t len, uint32_t flags, const spi_rec_limits *limits)
{
    static const uint8_t empty[1] = { 0 };
    if (out == NULL || (data == NULL && len > 0))
        return spi_fail(ctx, SP_EINVAL, "record reader: %s is NULL", out == NULL ? "out" : "data");
    spi_rdoc d;
    memset(&d, 0, sizeof d);
    d.ctx = ctx;
    d.data = data != NULL ? data : empty;
    d.size = len;
    d.code = flags & SPI_RDOC_EINVAL ? SP_EINVAL : SP_ECORRUPT;
    d.flags = flags;
    snprintf(d.name, sizeof d.name, "%s", name != NULL ? name : "document");

    parser P;
    memset(&P, 0, sizeof P);
    P.doc = &d;
    P.ctx = ctx;
    P.p = d.data;
    P.n = len;
    spi_rec_limits def = SPI_REC_LIMITS_DEFAULT;
    P.lim = limits != NULL ? *limits : def;
    /* Offsets and indices are 32-bit. */
    if (P.lim.max_bytes > UINT32_MAX - 1)
        P.lim.max_bytes = UINT32_MAX - 1;
    if (P.lim.max_nodes > UINT32_MAX - 1)
        P.lim.max_nodes = UINT32_MAX - 1;

    int rc;
    if (len > P.lim.max_bytes) {
        rc = perr(&P, RDOC_NONE, SIZE_MAX, "document of %zu bytes is larger than the limit of %zu",
                  len, P.lim.max_bytes);
    } else {
        /* A first guess of one value per 12 bytes; the arrays double from there. */
        size_t guess = len / 12 + 16;
        P.node_cap = guess < P.lim.max_nodes ? guess : P.lim.max_nodes;
        d.nodes = spi_malloc_array(ctx, P.node_cap, sizeof *d.nodes);
        rc = d.nodes != NULL ? parse(&P) : SP_ENOMEM;
    }
    spi_free(ctx, P.stack);
    spi_free(ctx, P.scratch);
    spi_rdoc *doc = NULL;
    if (rc == SP_OK && (doc = spi_malloc(ctx, sizeof *doc)) == NULL)
        rc = SP_ENOMEM;
    if (rc != SP_OK) {
        spi_free(ctx, d.nodes);
        spi_free(ctx, d.kids);
        spi_free(ctx, d.dec);
        return rc;
    }
    *doc = d;
    *out = doc;
    return SP_OK;
}

void spi_rdoc_free(spi_rdoc *doc)
{
    if (doc == NULL)
        return;
    sp_ctx *ctx = doc->ctx;
    spi_free(ctx, doc->nodes);
    spi_free(ctx, doc->kids);
    spi_free(ctx, doc->dec);
    spi_free(ctx, doc);
}
