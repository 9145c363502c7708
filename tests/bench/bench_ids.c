/*
 * Bulk ids for FFI: 1M ids added to a dictionary and a hierarchy as an array of pointers
 * and packed in one buffer with offsets (what a binding hands over without making a
 * string object per id), interned and found packed; and the copy of a 1M-node hierarchy
 * that sp_target_plan_new makes, beside a bare copy of as many bytes into fresh memory
 * (the floor: the copy is first touches of fresh memory). Medians of 5 runs, each on a
 * fresh object.
 *
 *   bench_ids [ids]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "bench_company.h"

#define RUNS 5

static void check(int rc, sp_ctx *ctx, const char *what)
{
    if (rc != SP_OK) {
        fprintf(stderr, "%s: %s\n", what, sp_ctx_errmsg(ctx));
        exit(1);
    }
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *ms)
{
    qsort(ms, RUNS, sizeof *ms, by_value);
    return ms[RUNS / 2];
}

/* ids[0..n) packed: data and n + 1 offsets (malloc'd). */
static char *pack(const char *const *ids, const size_t *lens, size_t n, uint64_t **offsets)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += lens[i];
    char *data = malloc(total + 1);
    *offsets = malloc((n + 1) * sizeof **offsets);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        (*offsets)[i] = at;
        memcpy(data + at, ids[i], lens[i]);
        at += lens[i];
    }
    (*offsets)[n] = at;
    return data;
}

static void row(const char *what, double ms, double base)
{
    if (base > 0)
        printf("%-56s %9.1f  (%.2fx)\n", what, ms, ms / base);
    else
        printf("%-56s %9.1f\n", what, ms);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 1;
    company c;
    company_generate(&c, n);
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    size_t *perm = company_shuffle(&c, ids, parents);
    size_t *lens = malloc(n * sizeof *lens), *plens = malloc(n * sizeof *plens);
    for (size_t i = 0; i < n; i++) {
        lens[i] = strlen(ids[i]);
        plens[i] = parents[i] != NULL ? strlen(parents[i]) : 0;
    }
    uint64_t *offsets, *poffsets;
    char *data = pack(ids, lens, n, &offsets);
    const char **pp = malloc(n * sizeof *pp);
    for (size_t i = 0; i < n; i++)
        pp[i] = parents[i] != NULL ? parents[i] : "";
    char *pdata = pack(pp, plens, n, &poffsets);
    size_t data_len = (size_t)offsets[n], pdata_len = (size_t)poffsets[n];
    uint32_t *indices = malloc(n * sizeof *indices);
    double ms[6][RUNS];

    printf("%zu ids (%zu bytes), times in ms, median of %d\n\n", n, data_len, RUNS);
    printf("dictionary\n");
    for (int r = 0; r < RUNS; r++) {
        sp_dict *d[4];
        for (int k = 0; k < 4; k++)
            check(sp_dict_new(&d[k], ctx), ctx, "dict");
        double t0 = bench_now_ms();
        check(sp_dict_add_all(d[0], ids, lens, n, indices), ctx, "add_all");
        double t1 = bench_now_ms();
        check(sp_dict_add_all(d[1], ids, NULL, n, indices), ctx, "add_all");
        double t2 = bench_now_ms();
        check(sp_dict_add_packed(d[2], data, data_len, offsets, n, indices), ctx, "add_packed");
        double t3 = bench_now_ms();
        check(sp_dict_intern_packed(d[3], data, data_len, offsets, n, indices), ctx, "intern");
        double t4 = bench_now_ms();
        check(sp_dict_intern_packed(d[3], data, data_len, offsets, n, indices), ctx, "intern");
        double t5 = bench_now_ms();
        size_t missing = 1;
        check(sp_dict_find_packed(d[3], data, data_len, offsets, n, indices, &missing), ctx,
              "find");
        double t6 = bench_now_ms();
        if (missing != 0 || indices[n - 1] != n - 1)
            return fprintf(stderr, "find_packed: wrong result\n"), 1;
        ms[0][r] = t1 - t0;
        ms[1][r] = t2 - t1;
        ms[2][r] = t3 - t2;
        ms[3][r] = t4 - t3;
        ms[4][r] = t5 - t4;
        ms[5][r] = t6 - t5;
        for (int k = 0; k < 4; k++)
            sp_dict_free(d[k]);
    }
    double base = median(ms[0]);
    row("sp_dict_add_all (pointers and lengths)", base, 0);
    row("sp_dict_add_all (pointers, NUL-terminated)", median(ms[1]), base);
    row("sp_dict_add_packed", median(ms[2]), base);
    row("sp_dict_intern_packed, all new", median(ms[3]), base);
    row("sp_dict_intern_packed, all present", median(ms[4]), base);
    row("sp_dict_find_packed, all present", median(ms[5]), base);

    printf("\nhierarchy of %zu nodes (added shuffled, then validated)\n", n);
    const char *levels[] = { "company", "region", "grid", "rep" };
    sp_hierarchy *keep = NULL;
    for (int r = 0; r < RUNS; r++) {
        sp_hierarchy *a, *b;
        check(sp_hierarchy_new(&a, ctx), ctx, "hierarchy");
        check(sp_hierarchy_new(&b, ctx), ctx, "hierarchy");
        double t0 = bench_now_ms();
        check(sp_hierarchy_add_all(a, ids, lens, parents, plens, n, NULL), ctx, "add_all");
        double t1 = bench_now_ms();
        check(sp_hierarchy_add_packed(b, data, data_len, offsets, pdata, pdata_len, poffsets, n,
                                      NULL),
              ctx, "add_packed");
        double t2 = bench_now_ms();
        check(sp_hierarchy_set_levels(b, levels, 4), ctx, "levels");
        check(sp_hierarchy_validate(b), ctx, "validate");
        double t3 = bench_now_ms();
        ms[0][r] = t1 - t0;
        ms[1][r] = t2 - t1;
        ms[2][r] = t3 - t2;
        sp_hierarchy_free(a);
        if (keep == NULL)
            keep = b;
        else
            sp_hierarchy_free(b);
    }
    base = median(ms[0]);
    row("sp_hierarchy_add_all (pointers and lengths)", base, 0);
    row("sp_hierarchy_add_packed", median(ms[1]), base);
    row("sp_hierarchy_validate (for scale)", median(ms[2]), 0);

    printf("\ncopy of that hierarchy\n");
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.currency = "CNY";
    po.fiscal_year = 2027;
    double first = 0;
    for (int r = 0; r < RUNS; r++) {
        sp_target_plan *plan;
        double t0 = bench_now_ms();
        check(sp_target_plan_new(&plan, ctx, "FY2027", keep, &po), ctx, "plan");
        ms[0][r] = bench_now_ms() - t0;
        if (r == 0)
            first = ms[0][r];
        sp_target_plan_free(plan);
    }
    /* What the copy holds: the table (a power of two of 16-byte slots, at most 3/4 full),
     * id pointers, the ids with 7 bytes around each, parents, the four tree arrays. */
    size_t slots = 16;
    while (n > slots / 4 * 3)
        slots *= 2;
    size_t bytes = slots * 16 + n * 8 + data_len + 7 * n + n * 4 + n * 16;
    char *src = malloc(bytes), *warm = malloc(bytes);
    memset(src, 1, bytes);
    memset(warm, 0, bytes);
    for (int r = 0; r < RUNS; r++) {
        double t0 = bench_now_ms();
        char *dst = malloc(bytes); /* beyond glibc's mmap threshold: fresh pages each time */
        memcpy(dst, src, bytes);
        double t1 = bench_now_ms();
        memcpy(warm, src, bytes);
        ms[1][r] = t1 - t0;
        ms[2][r] = bench_now_ms() - t1;
        if (dst[bytes - 1] != 1 || warm[0] != 1)
            return 1;
        free(dst);
    }
    free(src);
    free(warm);
    row("sp_target_plan_new (copies the hierarchy), first call", first, 0);
    row("sp_target_plan_new, median", median(ms[0]), 0);
    char what[96];
    snprintf(what, sizeof what, "floor: %.0f MiB copied into fresh memory",
             (double)bytes / 1048576.0);
    row(what, median(ms[1]), 0);
    row("floor: the same into memory already touched", median(ms[2]), 0);

    sp_hierarchy_free(keep);
    sp_ctx_free(ctx);
    free(indices);
    free(pp);
    free(pdata);
    free(poffsets);
    free(data);
    free(offsets);
    free(lens);
    free(plens);
    free(perm);
    free(ids);
    free(parents);
    company_free(&c);
    return 0;
}
