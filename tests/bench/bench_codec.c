/*
 * The record codec on a plan-like record of 10,000 nodes (budget: encode + decode under
 * 50 ms), beside Python's standard json module (json.loads + json.dumps) on the same
 * bytes. Each node has an id, a parent, a name, a level, twelve monthly amounts and three
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

#define RUNS 20
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

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
    plan_node *nodes = calloc(n, sizeof *nodes), *back = calloc(n, sizeof *back);
    sp_ctx *ctx;
    if (nodes == NULL || back == NULL || sp_ctx_new(&ctx, NULL) != SP_OK)
        return 1;
    make_plan(nodes, n);

    uint8_t *bytes = NULL;
    size_t len = 0, count = 0;
    double enc = 1e30, dec = 1e30, strict = 1e30, parse_only = 1e30;
    for (int r = 0; r < RUNS; r++) {
        if (bytes != NULL)
            spi_free(ctx, bytes);
        double t0 = bench_now_ms();
        if (encode(ctx, nodes, n, &bytes, &len) != SP_OK)
            die(ctx, "encode");
        double t1 = bench_now_ms();
        if (decode(ctx, bytes, len, SPI_RDOC_STORED, back, n, &count) != SP_OK)
            die(ctx, "decode");
        double t2 = bench_now_ms();
        if (decode(ctx, bytes, len, SPI_RDOC_USER, back, n, &count) != SP_OK)
            die(ctx, "decode (strict)");
        double t3 = bench_now_ms();
        spi_rdoc *doc;
        if (spi_rdoc_parse(&doc, ctx, "p", bytes, len, 0, NULL) != SP_OK)
            die(ctx, "parse");
        double t4 = bench_now_ms();
        spi_rdoc_free(doc);
        enc = t1 - t0 < enc ? t1 - t0 : enc;
        dec = t2 - t1 < dec ? t2 - t1 : dec;
        strict = t3 - t2 < strict ? t3 - t2 : strict;
        parse_only = t4 - t3 < parse_only ? t4 - t3 : parse_only;
    }
    bool same = count == n;
    for (size_t i = 0; i < n && same; i++)
        same = nodes[i].id == back[i].id && nodes[i].parent == back[i].parent &&
               nodes[i].level == back[i].level && nodes[i].name_len == back[i].name_len &&
               memcmp(nodes[i].name, back[i].name, nodes[i].name_len) == 0 &&
               memcmp(nodes[i].months, back[i].months, sizeof nodes[i].months) == 0 &&
               nodes[i].weight == back[i].weight && nodes[i].growth == back[i].growth &&
               nodes[i].share == back[i].share;

    printf("record codec, plan of %zu nodes, %zu bytes (best of %d)\n\n", n, len, RUNS);
    printf("%-46s %10s\n", "method", "ms");
    printf("%-46s %10.2f\n", "salesplan encode", enc);
    printf("%-46s %10.2f  %s\n", "salesplan decode (parse + typed reads)", dec,
           same ? "round trip exact" : "ROUND TRIP DIFFERS");
    printf("%-46s %10.2f\n", "salesplan decode, strict members (user mode)", strict);
    printf("%-46s %10.2f\n", "salesplan parse only", parse_only);
    printf("%-46s %10.2f  (budget 50)\n", "salesplan encode + decode", enc + dec);

    /* Python's json on the same bytes. */
    char path[] = "/tmp/sp-bench-codec-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (f != NULL) {
        fwrite(bytes, 1, len, f);
        fclose(f);
        char cmd[1024];
        snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/codec_json.py %s 2>/dev/null", BENCH_DIR, path);
        FILE *p = popen(cmd, "r");
        size_t py_nodes = 0;
        double loads = 0, dumps = 0;
        int got = p != NULL ? fscanf(p, "%zu %lf %lf", &py_nodes, &loads, &dumps) : 0;
        if (p != NULL)
            pclose(p);
        char pypath[sizeof path + 4];
        snprintf(pypath, sizeof pypath, "%s.py", path);
        if (got == 3) {
            FILE *q = fopen(pypath, "rb");
            size_t cap = 2 * len + 1;
            uint8_t *pybytes = malloc(cap);
            size_t pylen = q != NULL && pybytes != NULL ? fread(pybytes, 1, cap, q) : 0;
            if (q != NULL)
                fclose(q);
            size_t at = 0;
            while (at < len && at < pylen && pybytes[at] == bytes[at])
                at++;
            printf("%-46s %10.2f  %s\n", "python json.loads", loads,
                   py_nodes == n ? "same number of nodes" : "NODE COUNT DIFFERS");
            printf("%-46s %10.2f  %s\n", "python json.dumps (compact)", dumps,
                   at == len && pylen == len ? "same bytes" : "different bytes (below)");
            printf("%-46s %10.2f\n", "python loads + dumps", loads + dumps);
            if (at < len || pylen != len) {
                /* Python reads numbers as binary floats: it writes 1.2345e-05 for
                 * 0.000012345 and rounds 17+ significant digits. */
                size_t from = at > 24 ? at - 24 : 0;
                int a = (int)(len - from < 48 ? len - from : 48);
                int b = (int)(pylen > from ? (pylen - from < 48 ? pylen - from : 48) : 0);
                printf("\nfirst difference at byte %zu:\n  record: %.*s\n  python: %.*s\n", at, a,
                       (const char *)bytes + from, b, (const char *)pybytes + from);
            }
            free(pybytes);
        } else {
            printf("%-46s %10s\n", "python json (/usr/bin/python3 not found)", "n/a");
        }
        remove(pypath);
        remove(path);
    }
    spi_free(ctx, bytes);
    sp_ctx_free(ctx);
    free(nodes);
    free(back);
    return same ? 0 : 1;
}
