/*
 * Fact grouping: 10M order lines (10k reps, days in FY2025 and FY2026) grouped by
 * spi_group_facts, the kernel every module groups facts with, beside a bare C loop doing
 * the same arithmetic over the same arrays (the floor):
 *
 *   rep               amount per rep over the two years (whole-range map, no key map); the
 *                     bare loop filters by day as the library does
 *   rep, all days     amount per rep, no day range: the bare loop need not read the days,
 *                     the library still checks every row's day (a third more bytes)
 *   rep x month       amount per rep and fiscal month of the two years (day table)
 *   rep map x month   the same through a key map (rep -> one of 1000 groups)
 *   history           rep x month plus a trailing-twelve-months window
 *   scan only         spi_facts_scan with a consumer that does nothing: the batch checks
 *                     and the slicing, beside a bare loop reading the same columns
 *
 * The host's source hands out its arrays in place, 64K rows per batch (or as given).
 * Both sides are timed warm, 11 runs each, alternating; the medians of wall and thread
 * CPU time are reported with the median ratio to the bare loop; the results are compared
 * cell by cell. Self-contained on purpose (no shared bench header). Run it from a release
 * build: `meson setup build-rel --buildtype=release -Dwerror=false` (gcc 12 at -O3 warns
 * about code elsewhere), then build-rel/tests/bench/bench_group.
 *
 *   bench_group [rows [case|all [host batch rows]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <salesplan/salesplan.h>

#include "facts/facts_internal.h"

#define RUNS 11
#define REPS 10000u
#define GROUPS 1000u       /* the key map's groups */
#define FY2025 20089       /* 2025-01-01: a calendar-year fiscal calendar */
#define DAYS 730           /* FY2025 and FY2026 */
#define MONTHS 24

typedef struct lines {
    size_t n, batch; /* rows, rows per batch of the host's source */
    uint64_t *id;
    uint32_t *rep;
    int32_t *day;
    int64_t *amount;
} lines;

static double clock_ms(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

/* ---- the host's source: its arrays, handed out in place ---- */

static int host_scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    const lines *l = user;
    if (q->kind != SP_FACT_ORDER_LINES)
        return 0;
    for (size_t start = 0; start < l->n; start += l->batch) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = l->n - start < l->batch ? l->n - start : l->batch;
        b.id = l->id + start;
        b.day = l->day + start;
        b.rep = l->rep + start;
        b.amount = l->amount + start;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---- one case: the bare loop and the kernel, timed alike ---- */

typedef struct bench_case {
    const char *name;
    const lines *l;
    size_t ncells;
    /* the floor */
    void (*bare)(const struct bench_case *c, int64_t *cells);
    const uint32_t *table; /* day - FY2025 -> month */
    const uint32_t *map;   /* rep -> group */
    int32_t win_from, win_to;
    /* the kernel */
    sp_ctx *ctx;
    const sp_fact_source *src;
    const spi_group_spec *spec;
} bench_case;

static void bare_rep(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    for (size_t i = 0; i < l->n; i++)
        if (l->day[i] >= c->win_from && l->day[i] < c->win_to)
            cells[l->rep[i]] += l->amount[i];
}

static void bare_rep_all(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    (void)c;
    for (size_t i = 0; i < l->n; i++)
        cells[l->rep[i]] += l->amount[i];
}

static void bare_rep_month(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    for (size_t i = 0; i < l->n; i++)
        cells[(size_t)l->rep[i] * MONTHS + c->table[l->day[i] - FY2025]] += l->amount[i];
}

static void bare_map_month(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    for (size_t i = 0; i < l->n; i++)
        cells[(size_t)c->map[l->rep[i]] * MONTHS + c->table[l->day[i] - FY2025]] +=
            l->amount[i];
}

static void bare_history(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    for (size_t i = 0; i < l->n; i++) {
        int32_t d = l->day[i];
        int64_t *row = cells + (size_t)l->rep[i] * (MONTHS + 1);
        row[c->table[d - FY2025]] += l->amount[i];
        if (d >= c->win_from && d < c->win_to)
            row[MONTHS] += l->amount[i];
    }
}

static int nothing(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                   const spi_fact_where *at)
{
    (void)b, (void)rows, (void)at;
    *(size_t *)arg += n;
    return SP_OK;
}

/* The bare side of "scan only": the columns the checks read, read once. */
static void bare_read(const bench_case *c, int64_t *cells)
{
    const lines *l = c->l;
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    uint32_t rmax = 0;
    int64_t any = 0;
    for (size_t i = 0; i < l->n; i++) {
        lo = l->day[i] < lo ? l->day[i] : lo;
        hi = l->day[i] > hi ? l->day[i] : hi;
        rmax = l->rep[i] > rmax ? l->rep[i] : rmax;
        any |= l->amount[i];
    }
    cells[0] = lo, cells[1] = hi, cells[2] = rmax, cells[3] = any;
}

static double median_of(double *v)
{
    qsort(v, RUNS, sizeof *v, cmp_double);
    return v[RUNS / 2];
}

/* One run of the library's side; exits on error. */
static void run_library(const bench_case *c, int64_t *got, size_t *delivered)
{
    int64_t *cells[1] = { got };
    int rc;
    if (c->spec != NULL) {
        rc = spi_group_facts(c->ctx, c->spec, c->src, NULL, cells, NULL);
    } else {
        sp_fact_query q = { SP_FACT_QUERY_VERSION, SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX };
        spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
        bounds.rep = REPS;
        *delivered = 0;
        rc = spi_facts_scan(c->ctx, c->src, &q, &bounds, NULL, nothing, delivered);
    }
    if (rc != SP_OK) {
        fprintf(stderr, "%s: %s\n", c->name, sp_ctx_errmsg(c->ctx));
        exit(1);
    }
}

/* The two sides alternate, run after run (after one untimed run each), so that a change
 * in the machine's load hits both: the ratio is the median of the runs' ratios. */
static void run_case(const bench_case *c, int64_t *want, int64_t *got)
{
    double t[4][RUNS], ratio[2][RUNS]; /* bare wall, cpu; library wall, cpu */
    size_t delivered = 0;
    for (int r = -1; r < RUNS; r++) {
        double w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
        memset(want, 0, c->ncells * sizeof *want);
        c->bare(c, want);
        double bc = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0, bw = clock_ms(CLOCK_MONOTONIC) - w0;
        w0 = clock_ms(CLOCK_MONOTONIC), c0 = clock_ms(CLOCK_THREAD_CPUTIME_ID);
        run_library(c, got, &delivered);
        double lc = clock_ms(CLOCK_THREAD_CPUTIME_ID) - c0, lw = clock_ms(CLOCK_MONOTONIC) - w0;
        if (r < 0)
            continue;
        t[0][r] = bw, t[1][r] = bc, t[2][r] = lw, t[3][r] = lc;
        ratio[0][r] = lw / bw, ratio[1][r] = lc / bc;
    }
    bool same = c->spec != NULL ? memcmp(want, got, c->ncells * sizeof *got) == 0
                                : delivered == c->l->n;
    printf("%-16s %8.1f %8.1f %8.1f %8.1f %6.2f %6.2f  %s\n", c->name, median_of(t[0]),
           median_of(t[2]), median_of(t[1]), median_of(t[3]), median_of(ratio[0]),
           median_of(ratio[1]), same ? "same" : "RESULTS DIFFER");
}

int main(int argc, char **argv)
{
    lines l;
    l.n = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000000;
    l.batch = argc > 3 ? strtoul(argv[3], NULL, 10) : 65536;
    if (l.batch == 0)
        return 1;
    l.id = malloc(l.n * sizeof *l.id);
    l.rep = malloc(l.n * sizeof *l.rep);
    l.day = malloc(l.n * sizeof *l.day);
    l.amount = malloc(l.n * sizeof *l.amount);
    uint32_t *map = malloc(REPS * sizeof *map);
    int64_t *want = malloc((size_t)REPS * (MONTHS + 1) * sizeof *want);
    int64_t *got = malloc((size_t)REPS * (MONTHS + 1) * sizeof *got);
    if (l.id == NULL || l.rep == NULL || l.day == NULL || l.amount == NULL || map == NULL ||
        want == NULL || got == NULL)
        return 1;
    uint64_t seed = 3;
    for (size_t i = 0; i < l.n; i++) {
        uint64_t r = splitmix(&seed);
        l.id[i] = i + 1;
        l.rep[i] = (uint32_t)(r % REPS);
        l.day[i] = FY2025 + (int32_t)((r >> 20) % DAYS);
        l.amount[i] = (int64_t)((r >> 40) % 1000000) - 1000; /* a few credit notes */
    }
    for (uint32_t i = 0; i < REPS; i++)
        map[i] = (uint32_t)(splitmix(&seed) % GROUPS);

    sp_ctx *ctx;
    sp_calendar *cal;
    if (sp_ctx_new(&ctx, NULL) != SP_OK || sp_calendar_new(&cal, ctx, NULL) != SP_OK)
        return 1;
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = &l;
    src.scan = host_scan;

    /* The day table of the bare loops, from the civil calendar by hand. */
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    uint32_t table[DAYS];
    for (int y = 0, d = 0; y < 2; y++)
        for (int m = 0; m < 12; m++)
            for (int k = 0; k < mdays[m]; k++)
                table[d++] = (uint32_t)(y * 12 + m);

    spi_period_map whole, years, months, months_window;
    spi_period_map_whole(&whole, INT32_MIN, INT32_MAX);
    spi_period_map_whole(&years, FY2025, FY2025 + DAYS);
    const int32_t win_from = FY2025 + 181, win_to = FY2025 + 181 + 365; /* 2025-07-01 + 1y */
    if (spi_period_map_calendar(ctx, "bench", &months, cal, SP_GRAIN_MONTH, 2025, 2) != SP_OK ||
        spi_period_map_calendar(ctx, "bench", &months_window, cal, SP_GRAIN_MONTH, 2025, 2) !=
            SP_OK ||
        spi_period_map_window(ctx, "bench", &months_window, win_from, win_to) != SP_OK) {
        fprintf(stderr, "%s\n", sp_ctx_errmsg(ctx));
        return 1;
    }
    spi_group_spec base = { .what = "bench", .column = SPI_COLUMN_REP, .nkeys = REPS,
                            .ngroups = REPS, .nkinds = 1, .nmeasures = 1 };
    base.kinds[0] = (spi_group_kind){ SP_FACT_ORDER_LINES, false };
    base.measures[0] = SPI_MEASURE_AMOUNT;
    spi_group_spec by_rep = base, by_rep_all = base, by_month = base, by_map = base,
                   history = base;
    by_rep.periods = &years;
    by_rep_all.periods = &whole;
    by_month.periods = &months;
    by_map.periods = &months;
    by_map.key_map = map;
    by_map.ngroups = GROUPS;
    history.periods = &months_window;

    printf("%zu order lines, %u reps, days in FY2025 and FY2026; host arrays in %u-row "
           "batches\nmedians of %d warm runs, ms; ratio: median of library / bare, run by run\n\n",
           l.n, REPS, (unsigned)l.batch, RUNS);
    printf("%-16s %8s %8s %8s %8s %6s %6s\n", "", "bare", "library", "bare", "library", "wall",
           "cpu");
    printf("%-16s %8s %8s %8s %8s %6s %6s\n", "case", "wall", "wall", "cpu", "cpu", "ratio",
           "ratio");
    const bench_case cases[] = {
        { "rep", &l, REPS, bare_rep, table, map, FY2025, FY2025 + DAYS, ctx, &src, &by_rep },
        { "rep, all days", &l, REPS, bare_rep_all, table, map, 0, 0, ctx, &src, &by_rep_all },
        { "rep x month", &l, (size_t)REPS * MONTHS, bare_rep_month, table, map, 0, 0, ctx, &src,
          &by_month },
        { "rep map x month", &l, (size_t)GROUPS * MONTHS, bare_map_month, table, map, 0, 0, ctx,
          &src, &by_map },
        { "history", &l, (size_t)REPS * (MONTHS + 1), bare_history, table, map, win_from,
          win_to, ctx, &src, &history },
        { "scan only", &l, 4, bare_read, table, map, 0, 0, ctx, &src, NULL },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        if (argc < 3 || strcmp(argv[2], "all") == 0 || strcmp(argv[2], cases[k].name) == 0)
            run_case(&cases[k], want, got);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("\npeak memory %.0f MiB (the facts themselves: %.0f MiB)\n",
           (double)ru.ru_maxrss / 1024.0, (double)l.n * 24.0 / 1048576.0);

    spi_period_map_free(ctx, &months);
    spi_period_map_free(ctx, &months_window);
    sp_calendar_free(cal);
    sp_ctx_free(ctx);
    free(l.id);
    free(l.rep);
    free(l.day);
    free(l.amount);
    free(map);
    free(want);
    free(got);
    return 0;
}
