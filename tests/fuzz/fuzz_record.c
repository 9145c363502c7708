/*
 * Fuzz target for the record reader (src/record). Each input is parsed twice: as a stored
 * record (default limits, SP_ECORRUPT) and as a user document (tight limits, SP_EINVAL,
 * strict members). Invariants, any breach of which aborts:
 *  - parsing returns SP_OK or the document's code, with a message naming the document;
 *  - a parsed document copies to canonical bytes no longer than the input, which parse
 *    under the same limits to an equal tree and copy to the same bytes again;
 *  - every typed reader, on every value, returns SP_OK or the document's code.
 * Built by -Dfuzzing=true with libFuzzer; tests/fuzz/replay.c replays the corpus in
 * `meson test` with any compiler.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/internal.h"
#include "record/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
    if (!ok)
        abort();
}

static bool status_ok(int rc, int code)
{
    return rc == SP_OK || rc == code;
}

/* A number's text without trailing fractional zeros and without "-0": equal values, equal
 * texts (written here independently of the writer's copy). */
static size_t number_norm(const char *t, size_t n, char *out)
{
    size_t dot = n;
    for (size_t i = 0; i < n; i++)
        if (t[i] == '.')
            dot = i;
    size_t end = n;
    if (dot < n) {
        while (end > dot + 1 && t[end - 1] == '0')
            end--;
        if (end == dot + 1)
            end = dot;
    }
    bool zero = true;
    for (size_t i = t[0] == '-' ? 1 : 0; i < end; i++)
        zero = zero && (t[i] == '0' || t[i] == '.');
    size_t start = zero && t[0] == '-' ? 1 : 0;
    memcpy(out, t + start, end - start);
    return end - start;
}

static bool same_text(const char *a, size_t an, const char *b, size_t bn)
{
    return an == bn && (an == 0 || memcmp(a, b, an) == 0);
}

static bool tree_equal(const spi_rdoc *da, const spi_rnode *a, const spi_rdoc *db,
                       const spi_rnode *b)
{
    if (spi_rnode_type(a) != spi_rnode_type(b) || spi_rnode_count(a) != spi_rnode_count(b))
        return false;
    size_t an, bn;
    const char *at = spi_rnode_text(da, a, &an), *bt = spi_rnode_text(db, b, &bn);
    switch (spi_rnode_type(a)) {
    case SPI_RNULL:
        return true;
    case SPI_RBOOL:
        return spi_rnode_bool(a) == spi_rnode_bool(b);
    case SPI_RSTRING:
        return same_text(at, an, bt, bn);
    case SPI_RNUMBER: {
        char *x = malloc(an + 1), *y = malloc(bn + 1);
        require(x != NULL && y != NULL);
        bool eq = same_text(x, number_norm(at, an, x), y, number_norm(bt, bn, y));
        free(x);
        free(y);
        return eq;
    }
    case SPI_RARRAY:
    case SPI_ROBJECT:
        for (size_t i = 0; i < spi_rnode_count(a); i++) {
            const spi_rnode *ca = spi_rnode_at(da, a, i), *cb = spi_rnode_at(db, b, i);
            const char *ka = spi_rnode_key(da, ca, &an), *kb = spi_rnode_key(db, cb, &bn);
            if ((ka == NULL) != (kb == NULL) || !same_text(ka, an, kb, bn) ||
                !tree_equal(da, ca, db, cb))
                return false;
        }
        return true;
    }
    return false;
}

static void read_all(const spi_rdoc *doc, const spi_rnode *n, int code)
{
    static const char *const names[] = { "type", "v", "rate", "even", "proportional" };
    int64_t i;
    sp_dec d;
    const char *s;
    size_t len;
    bool b;
    uint32_t e;
    const spi_rnode *x;
    char path[96];
    require(status_ok(spi_rec_int(doc, n, NULL, 0, -1000, 1000, &i), code));
    require(status_ok(spi_rec_money(doc, n, NULL, 0, &i), code));
    require(status_ok(spi_rec_money_major(doc, n, NULL, 0, 2, &i), code));
    require(status_ok(spi_rec_dec(doc, n, NULL, SPI_REC_PERCENT, 0, SP_DEC_ONE, &d), code));
    require(status_ok(spi_rec_string(doc, n, NULL, SPI_REC_NO_NUL, &s, &len), code));
    require(status_ok(spi_rec_bool(doc, n, NULL, 0, &b), code));
    require(status_ok(spi_rec_enum(doc, n, NULL, 0, names + 3, 2, &e), code));
    require(status_ok(spi_rec_array(doc, n, NULL, 0, &x, &len), code));
    require(spi_rec_path(doc, n, path, sizeof path) < sizeof path);
    if (spi_rnode_type(n) == SPI_ROBJECT) {
        require(status_ok(spi_rec_check_members(doc, n, names, 5), code));
        require(status_ok(spi_rec_int(doc, n, "v", SPI_REC_OPTIONAL, 1, 9, &i), code));
        require(status_ok(spi_rec_get(doc, n, "rate", 0, &x), code));
    }
    for (size_t k = 0; k < spi_rnode_count(n); k++)
        read_all(doc, spi_rnode_at(doc, n, k), code);
}

static void round_trip(sp_ctx *ctx, const spi_rdoc *doc, uint32_t flags,
                       const spi_rec_limits *lim, size_t size)
{
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_writer_copy(&w, doc, spi_rdoc_root(doc));
    uint8_t *once = NULL, *twice = NULL;
    size_t n1 = 0, n2 = 0;
    require(spi_writer_finish(&w, &once, &n1) == SP_OK);
    require(n1 <= size);
    spi_rdoc *again = NULL;
    require(spi_rdoc_parse(&again, ctx, "canonical", once, n1, flags, lim) == SP_OK);
    require(spi_rdoc_nodes(again) == spi_rdoc_nodes(doc));
    require(tree_equal(doc, spi_rdoc_root(doc), again, spi_rdoc_root(again)));
    spi_writer_copy(&w, again, spi_rdoc_root(again));
    require(spi_writer_finish(&w, &twice, &n2) == SP_OK);
    require(n1 == n2 && memcmp(once, twice, n1) == 0);
    spi_free(ctx, once);
    spi_free(ctx, twice);
    spi_rdoc_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_ctx *ctx = NULL;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 0;
    static const spi_rec_limits tight = { 8, 512, 1u << 16, 64 };
    for (int mode = 0; mode < 2; mode++) {
        uint32_t flags = mode == 0 ? SPI_RDOC_STORED : SPI_RDOC_USER;
        const spi_rec_limits *lim = mode == 0 ? NULL : &tight;
        int code = mode == 0 ? SP_ECORRUPT : SP_EINVAL;
        spi_rdoc *doc = NULL;
        int rc = spi_rdoc_parse(&doc, ctx, "fuzz", data, size, flags, lim);
        if (rc != SP_OK) {
            require(rc == code && strncmp(sp_ctx_errmsg(ctx), "fuzz: ", 6) == 0);
            continue;
        }
        require(spi_rdoc_code(doc) == code);
        round_trip(ctx, doc, flags, lim, size);
        read_all(doc, spi_rdoc_root(doc), code);
        uint32_t v;
        rc = spi_record_open(doc, "example.note", 1, &v);
        require(rc == SP_OK || rc == code || rc == SP_EVERSION);
        spi_rdoc_free(doc);
    }
    sp_ctx_free(ctx);
    return 0;
}
