/*
 * Dictionaries: 1M distinct host ids added, then found, and a 2M-row id column interned
 * (factorised), beside a Python dict and pandas.factorize on the same ids. The codes of
 * the alternatives are checked against salesplan's by a checksum.
 *
 *   bench_dict [ids]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench.h"

#define RUNS 3

static const char *const words[] = { "东区", "华北", "网格", "门店", "shop", "Berlin", "", "K" };

static uint64_t checksum(const uint32_t *v, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ v[i]) * 1099511628211u;
    return h;
}

static void die(sp_ctx *ctx, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sp_ctx_errmsg(ctx));
    exit(1);
}

/* Python (dict) and pandas (factorize) over the column in `path`: prints their times. */
static void python_side(const char *path, size_t distinct, uint64_t want_add, uint64_t want_col)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/dict_pandas.py %s %zu 2>/dev/null", BENCH_DIR,
             path, distinct);
    FILE *p = popen(cmd, "r");
    double dict_add, dict_find, dict_col, pd_col;
    unsigned long long h_add, h_col, h_pd;
    int got = p != NULL ? fscanf(p, "%lf %lf %lf %lf %llu %llu %llu", &dict_add, &dict_find,
                                 &dict_col, &pd_col, &h_add, &h_col, &h_pd)
                        : 0;
    if (p != NULL)
        pclose(p);
    if (got != 7) {
        printf("%-46s %10s\n", "Python / pandas (python3-pandas missing?)", "n/a");
        return;
    }
    printf("%-46s %10.1f  %s\n", "Python dict: {id: i} of the distinct ids", dict_add,
           h_add == want_add ? "same codes" : "CODES DIFFER");
    printf("%-46s %10.1f\n", "Python dict: d[id] for each distinct id", dict_find);
    printf("%-46s %10.1f  %s\n", "Python dict: setdefault over the column", dict_col,
           h_col == want_col ? "same codes" : "CODES DIFFER");
    printf("%-46s %10.1f  %s\n", "pandas.factorize over the column", pd_col,
           h_pd == want_col ? "same codes" : "CODES DIFFER");
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    size_t rows = 2 * n;
    uint64_t seed = 7;
    /* Distinct ids in a shuffled order: "cust-<k>-<word>", ASCII and Chinese mixed. */
    char **ids = malloc(n * sizeof *ids);
    size_t *lens = malloc(n * sizeof *lens);
    uint32_t *perm = malloc(n * sizeof *perm);
    for (size_t i = 0; i < n; i++)
        perm[i] = (uint32_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = bench_splitmix(&seed) % i;
        uint32_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
    for (size_t i = 0; i < n; i++) {
        char buf[64];
        int len = snprintf(buf, sizeof buf, "cust-%u-%s", (unsigned)perm[i] * 7919u,
                           words[perm[i] % 8]);
        ids[i] = malloc((size_t)len + 1);
        memcpy(ids[i], buf, (size_t)len + 1);
        lens[i] = (size_t)len;
    }
    /* A column of 2n rows drawn from the ids, as an order-lines export would hold them. */
    uint32_t *col = malloc(rows * sizeof *col);
    for (size_t r = 0; r < rows; r++)
        col[r] = (uint32_t)(bench_splitmix(&seed) % n);

    sp_ctx *ctx;
    sp_ctx_new(&ctx, NULL);
    uint32_t *codes = malloc(rows * sizeof *codes);
    double best_add = 1e30, best_all = 1e30, best_find = 1e30, best_col = 1e30;
    for (int run = 0; run < RUNS; run++) {
        sp_dict *d;
        sp_dict_new(&d, ctx);
        double t0 = bench_now_ms();
        for (size_t i = 0; i < n; i++)
            if (sp_dict_add(d, ids[i], lens[i], NULL) != SP_OK)
                die(ctx, "add");
        double t1 = bench_now_ms();
        for (size_t i = 0; i < n; i++)
            if (sp_dict_find(d, ids[i], lens[i], &codes[i]) != SP_OK)
                die(ctx, "find");
        double t2 = bench_now_ms();
        sp_dict_free(d);
        best_add = t1 - t0 < best_add ? t1 - t0 : best_add;
        best_find = t2 - t1 < best_find ? t2 - t1 : best_find;

        sp_dict_new(&d, ctx);
        t0 = bench_now_ms();
        if (sp_dict_add_all(d, (const char *const *)ids, lens, n, NULL) != SP_OK)
            die(ctx, "add_all");
        t1 = bench_now_ms();
        sp_dict_free(d);
        best_all = t1 - t0 < best_all ? t1 - t0 : best_all;
    }
    uint64_t h_add = checksum(codes, n);
    for (int run = 0; run < RUNS; run++) {
        sp_dict *d;
        sp_dict_new(&d, ctx);
        double t0 = bench_now_ms();
        for (size_t r = 0; r < rows; r++)
            if (sp_dict_intern(d, ids[col[r]], lens[col[r]], &codes[r]) != SP_OK)
                die(ctx, "intern");
        double t1 = bench_now_ms();
        if (run == 0)
            printf("%zu distinct ids; a column of %zu rows holds %zu of them\n\n", n, rows,
                   sp_dict_count(d));
        sp_dict_free(d);
        best_col = t1 - t0 < best_col ? t1 - t0 : best_col;
    }
    uint64_t h_col = checksum(codes, rows);

    printf("%-46s %10s\n", "method (best of 3 for salesplan)", "ms");
    printf("%-46s %10.1f\n", "salesplan sp_dict_add, one id at a time", best_add);
    printf("%-46s %10.1f\n", "salesplan sp_dict_add_all, one batch", best_all);
    printf("%-46s %10.1f\n", "salesplan sp_dict_find, each distinct id", best_find);
    printf("%-46s %10.1f\n", "salesplan sp_dict_intern over the column", best_col);

    /* The same ids and column for Python: the distinct ids, then the column. */
    char path[] = "/tmp/sp-bench-dict-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f != NULL) {
        for (size_t i = 0; i < n; i++)
            fprintf(f, "%s\n", ids[i]);
        for (size_t r = 0; r < rows; r++)
            fprintf(f, "%s\n", ids[col[r]]);
        fclose(f);
        python_side(path, n, h_add, h_col);
        remove(path);
    }

    sp_ctx_free(ctx);
    for (size_t i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    free(lens);
    free(perm);
    free(col);
    free(codes);
    return 0;
}
