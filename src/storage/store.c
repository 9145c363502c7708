/* The storage layer: table validation, error mapping, copies, scans, transactions, keys. */
#include <stdio.h>
#include <string.h>

#include "store.h"

static const size_t storage_sizes[] = { 0, sizeof(sp_storage) };

SPI_DEFINE_INIT(sp_storage, storage_sizes, SP_STORAGE_VERSION, SP_STORAGE_INIT)

void sp_storage_free(sp_storage *storage)
{
    if (storage != NULL && storage->destroy != NULL)
        storage->destroy(storage->user);
}

bool spi_ns_valid(const char *ns)
{
    if (ns == NULL)
        return false;
    size_t n = 0;
    for (; ns[n] != '\0'; n++) {
        char c = ns[n];
        if (n == SPI_NS_MAX ||
            !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
            return false;
    }
    return n > 0;
}

int spi_key_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n > 0 ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

/* "key 0000002a" for messages: the first 16 bytes in hex, then the length. */
static const char *describe_key(char *buf, size_t cap, const uint8_t *key, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = len < 16 ? len : 16, at = 0;
    at += (size_t)snprintf(buf, cap, "key ");
    for (size_t i = 0; i < shown && at + 3 < cap; i++) {
        buf[at++] = hex[key[i] >> 4];
        buf[at++] = hex[key[i] & 15];
    }
    buf[at] = '\0';
    if (shown < len)
        snprintf(buf + at, cap - at, "... (%zu bytes)", len);
    else if (len == 0)
        snprintf(buf + at, cap - at, "(empty)");
    return buf;
}

#define KEY_TEXT_CAP 80

static const char *host_msg(const spi_store *s)
{
    return s->table.errmsg != NULL ? s->table.errmsg(s->table.user) : NULL;
}

/* Map a host return code; `what` and `ns`, `key` say which call failed. */
static int host_status(spi_store *s, int rc, const char *what, const char *ns,
                       const uint8_t *key, size_t key_len)
{
    if (rc == SP_OK)
        return SP_OK;
    char kt[KEY_TEXT_CAP];
    if (ns == NULL)
        return spi_host_status(s->ctx, rc, host_msg(s), "storage: %s", what);
    if (key == NULL)
        return spi_host_status(s->ctx, rc, host_msg(s), "storage: %s \"%s\"", what, ns);
    return spi_host_status(s->ctx, rc, host_msg(s), "storage: %s \"%s\" %s", what, ns,
                           describe_key(kt, sizeof kt, key, key_len));
}

int spi_store_open(spi_store *s, sp_ctx *ctx, const sp_storage *table)
{
    memset(s, 0, sizeof *s);
    s->ctx = ctx;
    if (table == NULL)
        return spi_fail(ctx, SP_EINVAL, "storage: no storage table given");
    int rc = spi_struct_read(ctx, "sp_storage", &s->table, table, storage_sizes,
                             SP_STORAGE_VERSION);
    if (rc != SP_OK)
        return rc;
    const struct {
        const char *name;
        bool set;
    } required[] = {
        { "get", s->table.get != NULL },       { "put", s->table.put != NULL },
        { "remove", s->table.remove != NULL }, { "scan", s->table.scan != NULL },
        { "begin", s->table.begin != NULL },   { "commit", s->table.commit != NULL },
        { "rollback", s->table.rollback != NULL },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(required); i++)
        if (!required[i].set)
            return spi_fail(ctx, SP_EINVAL, "sp_storage: callback '%s' is NULL",
                            required[i].name);
    return SP_OK;
}

/* Arguments every call shares; failures here are bugs of the calling module, except
 * sizes, which may come from user data. */
static int check_call(spi_store *s, const char *what, const char *ns, const uint8_t *key,
                      size_t key_len)
{
    if (!spi_ns_valid(ns))
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: %s: invalid namespace \"%.40s\"", what,
                        ns != NULL ? ns : "(null)");
    if (key == NULL && key_len > 0)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: %s \"%s\": key is NULL", what, ns);
    if (key_len == 0 || key_len > SPI_KEY_MAX)
        return spi_fail(s->ctx, SP_EINVAL,
                        "storage: %s \"%s\": key of %zu bytes (keys are 1 to %u bytes)", what,
                        ns, key_len, SPI_KEY_MAX);
    return SP_OK;
}

static int check_write(spi_store *s, const char *what, const char *ns)
{
    if (!s->in_tx)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: %s \"%s\" outside a transaction", what,
                        ns != NULL ? ns : "(null)");
    if (s->scans > 0)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: %s \"%s\" during a scan", what,
                        ns != NULL ? ns : "(null)");
    return SP_OK;
}

int spi_store_get(spi_store *s, const char *ns, const uint8_t *key, size_t key_len,
                  uint8_t **value, size_t *value_len)
{
    int rc = check_call(s, "get", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    const uint8_t *v = NULL;
    size_t vlen = 0;
    rc = s->table.get(s->table.user, ns, key, key_len, &v, &vlen);
    if (rc == SP_ENOTFOUND) {
        /* An ordinary outcome: the host's message for its last error would be stale. */
        char kt[KEY_TEXT_CAP];
        return spi_fail(s->ctx, SP_ENOTFOUND, "storage: get \"%s\" %s: not found", ns,
                        describe_key(kt, sizeof kt, key, key_len));
    }
    if (rc != SP_OK)
        return host_status(s, rc, "get", ns, key, key_len);
    if (v == NULL && vlen > 0)
        return spi_fail(s->ctx, SP_ESTORAGE,
                        "storage: get \"%s\": the host returned no bytes for a value of %zu "
                        "bytes",
                        ns, vlen);
    uint8_t *copy = spi_malloc(s->ctx, vlen);
    if (copy == NULL)
        return SP_ENOMEM;
    if (vlen > 0)
        memcpy(copy, v, vlen);
    *value = copy;
    *value_len = vlen;
    return SP_OK;
}

int spi_store_put(spi_store *s, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    int rc = check_write(s, "put", ns);
    if (rc == SP_OK)
        rc = check_call(s, "put", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: put \"%s\": value is NULL", ns);
    if (value_len > SPI_VALUE_MAX)
        return spi_fail(s->ctx, SP_EINVAL,
                        "storage: put \"%s\": value of %zu bytes (values hold at most %u bytes)",
                        ns, value_len, SPI_VALUE_MAX);
    /* Some hosts treat a NULL pointer as "no value" even for zero bytes. */
    static const uint8_t empty[1] = { 0 };
    rc = s->table.put(s->table.user, ns, key, key_len, value != NULL ? value : empty,
                      value_len);
    return host_status(s, rc, "put", ns, key, key_len);
}

int spi_store_remove(spi_store *s, const char *ns, const uint8_t *key, size_t key_len)
{
    int rc = check_write(s, "remove", ns);
    if (rc == SP_OK)
        rc = check_call(s, "remove", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    rc = s->table.remove(s->table.user, ns, key, key_len);
    return host_status(s, rc, "remove", ns, key, key_len);
}

/* Stands between the host's scan and the module's visitor, so that the layer knows who
 * ended the scan and why. */
typedef struct scan_relay {
    spi_store *s;
    sp_storage_visit_fn visit;
    void *arg;
    bool ended;
    int status; /* the visitor's error, once ended */
} scan_relay;

static int relay_visit(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    scan_relay *r = arg;
    if (r->ended) /* a host that did not stop when told */
        return r->status != SP_OK ? r->status : SP_SCAN_STOP;
    static const uint8_t empty[1] = { 0 };
    int rc = r->visit(r->arg, key, key_len, value != NULL ? value : empty, value_len);
    if (rc == SP_OK)
        return SP_OK;
    r->ended = true;
    if (rc == SP_SCAN_STOP)
        return SP_SCAN_STOP;
    if (rc > 0)
        rc = spi_fail(r->s->ctx, SP_EINTERNAL, "storage: scan visitor returned %d", rc);
    r->status = rc;
    return rc;
}

int spi_store_scan(spi_store *s, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    if (!spi_ns_valid(ns))
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: scan: invalid namespace \"%.40s\"",
                        ns != NULL ? ns : "(null)");
    if ((from == NULL && from_len > 0) || (to == NULL && to_len > 0) || visit == NULL)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: scan \"%s\": NULL bound or visitor",
                        ns);
    if (s->scans > 0)
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: scan \"%s\" during a scan", ns);
    if (from_len == 0)
        from = NULL;
    /* An empty range needs no host call (and hosts need not handle from > to). */
    if (to != NULL && from != NULL && spi_key_compare(from, from_len, to, to_len) >= 0)
        return SP_OK;
    if (to != NULL && to_len == 0)
        return SP_OK;
    scan_relay r = { s, visit, arg, false, SP_OK };
    s->scans++;
    int rc = s->table.scan(s->table.user, ns, from, from_len, to, to_len, relay_visit, &r);
    s->scans--;
    if (r.status != SP_OK)
        return r.status;
    if (r.ended && rc == SP_SCAN_STOP)
        return SP_OK;
    return host_status(s, rc, "scan", ns, from, from_len);
}

bool spi_key_prefix_end(const uint8_t *prefix, size_t prefix_len, uint8_t *end,
                        size_t *end_len)
{
    size_t n = prefix_len;
    while (n > 0 && prefix[n - 1] == 0xFF)
        n--;
    if (n == 0)
        return false;
    memcpy(end, prefix, n);
    end[n - 1]++;
    *end_len = n;
    return true;
}

int spi_store_scan_prefix(spi_store *s, const char *ns, const uint8_t *prefix,
                          size_t prefix_len, sp_storage_visit_fn visit, void *arg)
{
    if (prefix_len > SPI_KEY_MAX || (prefix == NULL && prefix_len > 0))
        return spi_fail(s->ctx, SP_EINTERNAL, "storage: scan: prefix of %zu bytes", prefix_len);
    uint8_t end[SPI_KEY_MAX];
    size_t end_len = 0;
    bool bounded = prefix_len > 0 && spi_key_prefix_end(prefix, prefix_len, end, &end_len);
    return spi_store_scan(s, ns, prefix, prefix_len, bounded ? end : NULL, end_len, visit, arg);
}

/* Roll back after a failure whose status and message are already recorded; a failing
 * rollback adds a note but never replaces them. */
static void rollback_after_failure(spi_store *s)
{
    int rc = s->table.rollback(s->table.user);
    if (rc == SP_OK)
        return;
    const char *hm = host_msg(s);
    char code[32];
    if (rc <= SP_EINVAL && rc >= SP_EINTERNAL)
        snprintf(code, sizeof code, "%s", sp_strerror(rc));
    else
        snprintf(code, sizeof code, "host error %d", rc);
    size_t used = strlen(s->ctx->errmsg);
    snprintf(s->ctx->errmsg + used, sizeof s->ctx->errmsg - used, " (rollback failed too: %s%s%s)",
             code, hm != NULL && hm[0] != '\0' ? ": " : "", hm != NULL ? hm : "");
}

int spi_store_write(sp_ctx *ctx, const sp_storage *table, spi_store_fn fn, void *arg)
{
    spi_store s;
    int rc = spi_store_open(&s, ctx, table);
    if (rc != SP_OK)
        return rc;
    if (ctx->storage_tx != NULL)
        return spi_fail(ctx, SP_EINTERNAL,
                        "storage: begin: a write transaction is already running in this "
                        "context (transactions do not nest)");
    rc = host_status(&s, s.table.begin(s.table.user), "begin", NULL, NULL, 0);
    if (rc != SP_OK)
        return rc;
    ctx->storage_tx = &s;
    s.in_tx = true;
    rc = fn(&s, arg);
    if (rc > 0)
        rc = spi_fail(ctx, SP_EINTERNAL, "storage: a write operation returned %d", rc);
    if (rc == SP_OK)
        rc = host_status(&s, s.table.commit(s.table.user), "commit", NULL, NULL, 0);
    if (rc != SP_OK)
        rollback_after_failure(&s);
    s.in_tx = false;
    ctx->storage_tx = NULL;
    return rc;
}

/* ---- keys ---- */

void spi_key_init(spi_key *k, sp_ctx *ctx)
{
    k->ctx = ctx;
    k->status = SP_OK;
    k->len = 0;
}

static int key_room(spi_key *k, size_t n)
{
    if (k->status != SP_OK)
        return k->status;
    if (n > SPI_KEY_MAX - k->len)
        k->status = spi_fail(k->ctx, SP_EINVAL, "storage: key longer than %u bytes",
                             SPI_KEY_MAX);
    return k->status;
}

static void put_be(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
}

static uint64_t get_be(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v = v << 8 | p[i];
    return v;
}

static int key_be(spi_key *k, uint64_t v, unsigned bytes)
{
    int rc = key_room(k, bytes);
    if (rc != SP_OK)
        return rc;
    put_be(k->data + k->len, v, bytes);
    k->len += bytes;
    return SP_OK;
}

int spi_key_u32(spi_key *k, uint32_t v)
{
    return key_be(k, v, 4);
}

int spi_key_u64(spi_key *k, uint64_t v)
{
    return key_be(k, v, 8);
}

#define SIGN_BIT (UINT64_C(1) << 63)

int spi_key_i64(spi_key *k, int64_t v)
{
    return key_be(k, (uint64_t)v ^ SIGN_BIT, 8);
}

int spi_key_str(spi_key *k, const char *s, size_t len)
{
    if (k->status == SP_OK && s == NULL && len > 0)
        k->status = spi_fail(k->ctx, SP_EINTERNAL, "storage: key string is NULL");
    size_t need = len + 2;
    for (size_t i = 0; i < len && k->status == SP_OK; i++)
        need += s[i] == '\0';
    int rc = key_room(k, need);
    if (rc != SP_OK)
        return rc;
    uint8_t *p = k->data + k->len;
    for (size_t i = 0; i < len; i++) {
        *p++ = (uint8_t)s[i];
        if (s[i] == '\0')
            *p++ = 0xFF;
    }
    *p++ = 0x00;
    *p++ = 0x01;
    k->len += need;
    return SP_OK;
}

int spi_key_bytes(spi_key *k, const uint8_t *b, size_t len)
{
    if (k->status == SP_OK && b == NULL && len > 0)
        k->status = spi_fail(k->ctx, SP_EINTERNAL, "storage: key bytes are NULL");
    int rc = key_room(k, len);
    if (rc != SP_OK)
        return rc;
    if (len > 0)
        memcpy(k->data + k->len, b, len);
    k->len += len;
    return SP_OK;
}

void spi_key_reader_init(spi_key_reader *r, sp_ctx *ctx, const uint8_t *key, size_t len)
{
    r->ctx = ctx;
    r->data = key;
    r->len = len;
    r->pos = 0;
}

static int read_be(spi_key_reader *r, unsigned bytes, uint64_t *v)
{
    if (r->len - r->pos < bytes)
        return spi_fail(r->ctx, SP_ECORRUPT,
                        "storage: key of %zu bytes ends at byte %zu inside a %u-byte number",
                        r->len, r->pos, bytes);
    *v = get_be(r->data + r->pos, bytes);
    r->pos += bytes;
    return SP_OK;
}

int spi_key_read_u32(spi_key_reader *r, uint32_t *v)
{
    uint64_t x = 0;
    int rc = read_be(r, 4, &x);
    if (rc == SP_OK)
        *v = (uint32_t)x;
    return rc;
}

int spi_key_read_u64(spi_key_reader *r, uint64_t *v)
{
    return read_be(r, 8, v);
}

int spi_key_read_i64(spi_key_reader *r, int64_t *v)
{
    uint64_t x = 0;
    int rc = read_be(r, 8, &x);
    if (rc == SP_OK)
        *v = (int64_t)(x ^ SIGN_BIT);
    return rc;
}

int spi_key_read_str(spi_key_reader *r, char *out, size_t cap, size_t *len)
{
    size_t n = 0;
    for (size_t i = r->pos; i < r->len; i++) {
        uint8_t b = r->data[i];
        if (b == 0x00) {
            if (i + 1 == r->len || (r->data[i + 1] != 0x01 && r->data[i + 1] != 0xFF))
                break;
            i++;
            if (r->data[i] == 0x01) {
                if (n >= cap)
                    return spi_fail(r->ctx, SP_EBUFFER,
                                    "storage: key string of %zu bytes does not fit %zu", n,
                                    cap);
                out[n] = '\0';
                *len = n;
                r->pos = i + 1;
                return SP_OK;
            }
        }
        if (n + 1 < cap)
            out[n] = (char)b;
        n++;
    }
    return spi_fail(r->ctx, SP_ECORRUPT,
                    "storage: key of %zu bytes holds no complete string at byte %zu", r->len,
                    r->pos);
}

bool spi_key_reader_done(const spi_key_reader *r)
{
    return r->pos == r->len;
}
