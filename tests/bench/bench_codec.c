/*
 * The record codec on a plan-like record of 10,000 nodes (budget: encode + decode under
 * 50 ms), beside Python's standard json module (json.loads + json.dumps) on the same
 * bytes. No bare loop: a hand-written JSON writer and reader would be the codec itself. Each node has an id, a parent, a name, a level, twelve monthly amounts and three
 * decimals. Python must find the same number of nodes; its compact json.dumps output is
 * compared byte for byte with ours (the canonical rules are Python's compact form for
 * this document).
 *
 *   bench_codec [nodes]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "core/internal.h"
#include "record/record.h"

#define MONTHS 12

typedef struct plan_node {
    int64_t id, parent, level;
    char name[48];
    size_t name_len;
    int64_t months[MONTHS];
    sp_dec weight, growth, share;
} plan_node;

static const char *const node_members[] = { "id",     "parent", "name",  "level",
                                            "months", "weight", "growth", "share" };
static const char *const plan_members[] = { "type", "v", "name", "currency", "nodes" };

static void make_plan(plan_node *nodes, size_t n)
{
    static const char *const regions[] = { "华东", "华南", "华北", "West", "Nord-Ost" };
    uint64_t seed = 7;
    for (size_t i = 0; i < n; i++) {
        plan_node *p = &nodes[i];
        p->id = (int64_t)i + 1;
        p->parent = i == 0 ? 0 : (int64_t)(bench_splitmix(&seed) % i) + 1;
        p->level = i == 0 ? 0 : nodes[p->parent - 1].level + 1;
        p->name_len = (size_t)snprintf(p->name, sizeof p->name, "%s 网格 %zu \"%c\"",
                                       regions[i % 5], i, (char)('A' + i % 26));
        for (int m = 0; m < MONTHS; m++)
            p->months[m] = (int64_t)(bench_splitmix(&seed) % 100000000); /* up to 1M.00 */
        p->weight = (sp_dec)(bench_splitmix(&seed) % SP_DEC_ONE);
        p->growth = (sp_dec)(bench_splitmix(&seed) % 200000000) - 50000000; /* -5% .. 15% */
        p->share = (sp_dec)(bench_splitmix(&seed) % 1000) * 1000000;         /* 0.001 steps */
    }
}

static int encode(sp_ctx *ctx, const plan_node *nodes, size_t n, uint8_t **out, size_t *len)
{
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_record_begin(&w, "bench.plan", 1);
    spi_writer_member_string(&w, "name", "2026 年度目标", strlen("2026 年度目标"));
    spi_writer_member_string(&w, "currency", "CNY", 3);
    spi_writer_key(&w, "nodes");
    spi_writer_begin_array(&w);
    for (size_t i = 0; i < n; i++) {
        const plan_node *p = &nodes[i];
        spi_writer_begin_object(&w);
        spi_writer_member_int(&w, "id", p->id);
        spi_writer_key(&w, "parent");
        if (p->parent == 0)
            spi_writer_null(&w);
        else
            spi_writer_int(&w, p->parent);
        spi_writer_member_string(&w, "name", p->name, p->name_len);
        spi_writer_member_int(&w, "level", p->level);
        spi_writer_key(&w, "months");
        spi_writer_begin_array(&w);
        for (int m = 0; m < MONTHS; m++)
            spi_writer_int(&w, p->months[m]);
        spi_writer_end_array(&w);
        spi_writer_member_dec(&w, "weight", p->weight);
        spi_writer_member_dec(&w, "growth", p->growth);
        spi_writer_member_dec(&w, "share", p->share);
        spi_writer_end_object(&w);
    }
    spi_writer_end_array(&w);
    spi_record_end(&w);
    return spi_writer_finish(&w, out, len);
}

/* Decode into `nodes` the way a module decoder would: typed reads, every value checked. */
static int decode(sp_ctx *ctx, const uint8_t *bytes, size_t len, uint32_t flags,
                  plan_node *nodes, size_t cap, size_t *count)
{
    spi_rdoc *doc;
    int rc = spi_rdoc_parse(&doc, ctx, "record bench.plan", bytes, len, flags, NULL);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *root = spi_rdoc_root(doc), *list;
    uint32_t v;
    size_t n = 0;
    if ((rc = spi_record_open(doc, "bench.plan", 1, &v)) != SP_OK ||
        (rc = spi_rec_check_members(doc, root, plan_members, 5)) != SP_OK ||
        (rc = spi_rec_array(doc, root, "nodes", 0, &list, &n)) != SP_OK)
        goto out;
    if (n > cap) {
        rc = spi_rec_fail(doc, list, "more than %zu nodes", cap);
        goto out;
    }
    for (size_t i = 0; i < n && rc == SP_OK; i++) {
        const spi_rnode *o = spi_rnode_at(doc, list, i), *months, *parent;
        plan_node *p = &nodes[i];
        const char *name;
        size_t mn = 0;
        p->parent = 0;
        if ((rc = spi_rec_check_members(doc, o, node_members, 8)) != SP_OK ||
            (rc = spi_rec_int(doc, o, "id", 0, 1, INT64_MAX, &p->id)) != SP_OK ||
            (rc = spi_rec_get(doc, o, "parent", 0, &parent)) != SP_OK ||
            (spi_rnode_type(parent) != SPI_RNULL &&
             (rc = spi_rec_int(doc, parent, NULL, 0, 1, INT64_MAX, &p->parent)) != SP_OK) ||
            (rc = spi_rec_string(doc, o, "name", SPI_REC_NO_NUL, &name, &p->name_len)) != SP_OK ||
            (rc = spi_rec_int(doc, o, "level", 0, 0, 64, &p->level)) != SP_OK ||
            (rc = spi_rec_array(doc, o, "months", 0, &months, &mn)) != SP_OK ||
            (rc = spi_rec_dec(doc, o, "weight", 0, 0, SP_DEC_ONE, &p->weight)) != SP_OK ||
            (rc = spi_rec_dec(doc, o, "growth", 0, -SP_DEC_ONE, SP_DEC_ONE, &p->growth)) != SP_OK ||
            (rc = spi_rec_dec(doc, o, "share", 0, 0, SP_DEC_ONE, &p->share)) != SP_OK)
            break;
        if (mn != MONTHS) {
            rc = spi_rec_fail(doc, months, "expected %d months, found %zu", MONTHS, mn);
            break;
        }
        memcpy(p->name, name, p->name_len < sizeof p->name ? p->name_len : sizeof p->name);
        for (int m = 0; m < MONTHS && rc == SP_OK; m++)
            rc = spi_rec_money(doc, spi_rnode_at(doc, months, (size_t)m), NULL, 0, &p->months[m]);
    }
    *count = n;
out:
    spi_rdoc_free(doc);
    return rc;
}

static void die(sp_ctx *ctx, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sp_ctx_errmsg(ctx));
    exit(1);
}

typedef struct run {
    sp_ctx *ctx;
    const plan_node *nodes;
    plan_node *back;
    size_t n, count, len;
    uint8_t *bytes;
    uint32_t flags;
} run;

static void run_encode(void *arg)
{
    run *r = arg;
    if (r->bytes != NULL)
        spi_free(r->ctx, r->bytes);
    r->bytes = NULL;
    if (encode(r->ctx, r->nodes, r->n, &r->bytes, &r->len) != SP_OK)
        die(r->ctx, "encode");
}

static void run_decode(void *arg)
{
    run *r = arg;
    if (decode(r->ctx, r->bytes, r->len, r->flags, r->back, r->n, &r->count) != SP_OK)
        die(r->ctx, "decode");
}

static void run_roundtrip(void *arg)
{
    run_encode(arg);
    run_decode(arg);
}

static void run_parse(void *arg)
{
    run *r = arg;
    spi_rdoc *doc;
    if (spi_rdoc_parse(&doc, r->ctx, "p", r->bytes, r->len, 0, NULL) != SP_OK)
        die(r->ctx, "parse");
    spi_rdoc_free(doc);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    run r = { .n = n, .flags = SPI_RDOC_STORED };
    plan_node *nodes = calloc(n, sizeof *nodes);
    r.back = calloc(n, sizeof *r.back);
    if (nodes == NULL || r.back == NULL || sp_ctx_new(&r.ctx, NULL) != SP_OK)
        return 1;
    make_plan(nodes, n);
    r.nodes = nodes;

    run_encode(&r);
    printf("record codec, plan of %zu nodes, %zu bytes; warm, then min/median/max of %d runs "
           "(ms)\n\n", n, r.len, BENCH_RUNS);
    bench_report("codec.encode", "salesplan", -1, bench_measure(run_encode, &r), "encode");
    bench_report("codec.decode", "salesplan", -1, bench_measure(run_decode, &r),
                 "parse + typed reads");
    bool same = r.count == n;
    for (size_t i = 0; i < n && same; i++)
        same = nodes[i].id == r.back[i].id && nodes[i].parent == r.back[i].parent &&
               nodes[i].level == r.back[i].level && nodes[i].name_len == r.back[i].name_len &&
               memcmp(nodes[i].name, r.back[i].name, nodes[i].name_len) == 0 &&
               memcmp(nodes[i].months, r.back[i].months, sizeof nodes[i].months) == 0 &&
               nodes[i].weight == r.back[i].weight && nodes[i].growth == r.back[i].growth &&
               nodes[i].share == r.back[i].share;
    if (!same)
        bench_die("codec: the round trip differs");
    r.flags = SPI_RDOC_USER;
    bench_report("codec.decode.strict", "salesplan", -1, bench_measure(run_decode, &r),
                 "strict members (user mode)");
    r.flags = SPI_RDOC_STORED;
    bench_report("codec.parse", "salesplan", -1, bench_measure(run_parse, &r), "parse only");
    bench_report("codec", "salesplan", -1, bench_measure(run_roundtrip, &r),
                 "encode + decode (budget 50 ms); round trip exact");

    /* Python's json on the same bytes: loads + dumps; its compact dumps compared byte for
     * byte with ours (the canonical rules are Python's compact form for this document). */
    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "record.json", r.bytes, 1, r.len);
    bench_peer_result res[3];
    bench_peer("python", "codec_json.py", &dir, NULL, res, 3);
    int64_t nodes_seen;
    bench_dir_read(&dir, "out.loads", &nodes_seen, 1);
    if (nodes_seen != (int64_t)n)
        bench_die("python json.loads found %lld nodes, not %zu", (long long)nodes_seen, n);
    char path[160];
    snprintf(path, sizeof path, "%s/out.dumps", dir.path);
    FILE *q = fopen(path, "rb");
    uint8_t *py = malloc(r.len + 1);
    size_t pylen = q != NULL ? fread(py, 1, r.len + 1, q) : 0;
    if (q != NULL)
        fclose(q);
    size_t at = 0;
    while (at < r.len && at < pylen && py[at] == r.bytes[at])
        at++;
    const char *names[3] = { "loads", "dumps", "roundtrip" };
    const char *rows[3] = { "codec.decode", "codec.encode", "codec" };
    for (int k = 0; k < 3; k++) {
        const bench_peer_result *p = bench_peer_find(res, 3, names[k]);
        bench_report(rows[k], "python", p->load_ms, p->s,
                     k == 0 ? "json.loads: same number of nodes"
                     : at == r.len && pylen == r.len ? "json.dumps: same bytes"
                                                     : "json.dumps: different bytes (below)");
    }
    if (at < r.len || pylen != r.len) {
        /* Python reads numbers as binary floats: it writes 1.2345e-05 for 0.000012345 and
         * rounds 17+ significant digits. */
        size_t from = at > 24 ? at - 24 : 0;
        int a = (int)(r.len - from < 48 ? r.len - from : 48);
        int b = (int)(pylen > from ? (pylen - from < 48 ? pylen - from : 48) : 0);
        printf("\nfirst difference at byte %zu:\n  record: %.*s\n  python: %.*s\n", at, a,
               (const char *)r.bytes + from, b, (const char *)py + from);
    }
    free(py);
    bench_dir_free(&dir);
    spi_free(r.ctx, r.bytes);
    sp_ctx_free(r.ctx);
    free(nodes);
    free(r.back);
    return 0;
}
