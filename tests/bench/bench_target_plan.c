/*
 * The budget through the plan API: a 1M-node hierarchy (1 company, 30 regions,
 * 3000 grids, ~997k reps, added shuffled) x 12 months decomposed by
 * sp_target_plan_decompose from a settings document: regions by a driver, grids by growth
 * over a baseline with a floor and a cap (some grids with limits of their own), reps by a
 * driver, a seasonality profile at the company and another for five regions. Prints the
 * time of every step a host goes through, the decomposition's best of 5 (the library is
 * single-threaded: one core), its memory (the library's heap through counting allocator
 * hooks, and the process's peak RSS), and beside it the same decomposition, both steps,
 * in SQLite and in pandas on the same data, their results checked cell by cell against
 * salesplan's by a checksum of every node x period.
 *
 *   bench_target_plan [nodes] [--no-alternatives]
 *
 * Amounts are sized so that every product the alternatives form fits int64_t (SQLite and
 * numpy have nothing wider); that rules out blends, whose exact shares need 128 bits.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <salesplan/salesplan.h>

#include "bench_company.h"

#define RUNS 5
#define MONTHS 12
#define PROFILES 2
#define SOUTH_REGIONS 5 /* R01 .. R05 take the second profile */
#define ONE INT64_C(1000000000) /* sp_dec 1 */

/* The company's target: last year's actuals + 11 % (for 1M nodes about 1 billion yuan in
 * fen, where a region's target times a grid's baseline stays below 2^63). */
static int64_t total;

/* Seasonality in percent: the company's (retail-like) and the south's (a summer peak). */
static const char *const shares_text[PROFILES][MONTHS] = {
    { "6.2", "5.8", "7.4", "7.8", "8.1", "8.6", "8.3", "8.0", "7.9", "8.8", "10.3", "12.8" },
    { "7", "7", "8", "9", "9", "10", "10", "9", "8", "8", "7", "8" },
};
static const int64_t shares[PROFILES][MONTHS] = {
    { 62000000, 58000000, 74000000, 78000000, 81000000, 86000000, 83000000, 80000000,
      79000000, 88000000, 103000000, 128000000 },
    { 70000000, 70000000, 80000000, 90000000, 90000000, 100000000, 100000000, 90000000,
      80000000, 80000000, 70000000, 80000000 },
};

/* Growth limits: the grid rule's, and those of every tenth grid (mature markets, capped
 * low) and every tenth but five (new markets, a high floor), as sp_dec. */
#define RULE_FLOOR (-50000000)
#define RULE_CAP 300000000
#define MATURE_FLOOR 0
#define MATURE_CAP 30000000
#define NEW_FLOOR 150000000
#define NEW_CAP 600000000

/* The plan's data beyond the company's structure, in generation order. */
typedef struct plan_data {
    int64_t *potential; /* regions' driver: a market index, last year's yuan ±5 % */
    int64_t *prior;     /* prior-year actuals in fen: reps 1 .. 180,000, rolled up */
    int64_t *floor, *cap; /* growth limits of the grids (sp_dec) */
    int64_t *w;         /* what the SQL and pandas levels split by: potential or prior */
    int64_t *pid;       /* the profile of a node's leaves (0 company, 1 south) */
} plan_data;

static void generate_plan(const company *c, plan_data *p)
{
    const size_t n = c->n;
    p->potential = malloc(n * sizeof *p->potential);
    p->prior = calloc(n, sizeof *p->prior);
    p->floor = malloc(n * sizeof *p->floor);
    p->cap = malloc(n * sizeof *p->cap);
    p->w = malloc(n * sizeof *p->w);
    p->pid = malloc(n * sizeof *p->pid);
    uint64_t seed = 11;
    for (size_t i = n; i-- > 0;) {
        /* Children come after their parent: prior[i] is complete here. */
        if (c->level[i] == 3)
            p->prior[i] = (int64_t)(bench_splitmix(&seed) % 180000) + 1;
        if (c->parent[i] >= 0)
            p->prior[c->parent[i]] += p->prior[i];
        p->potential[i] = p->prior[i] / 1000 * (950 + c->weight[i] % 101) / 1000;
        size_t g = i - COMPANY_FIRST_GRID;
        bool grid = c->level[i] == 2;
        p->floor[i] = grid && g % 10 == 0 ? MATURE_FLOOR : grid && g % 10 == 5 ? NEW_FLOOR
                                                                                : RULE_FLOOR;
        p->cap[i] = grid && g % 10 == 0 ? MATURE_CAP : grid && g % 10 == 5 ? NEW_CAP : RULE_CAP;
        p->w[i] = c->level[i] == 1 ? p->potential[i] : p->prior[i];
    }
    for (size_t i = 0; i < n; i++) {
        size_t region = i;
        while (c->level[region] > 1)
            region = (size_t)c->parent[region];
        p->pid[i] = region >= 1 && region <= SOUTH_REGIONS && c->level[i] > 0;
    }
}

static void free_plan(plan_data *p)
{
    free(p->potential);
    free(p->prior);
    free(p->floor);
    free(p->cap);
    free(p->w);
    free(p->pid);
}

/* The settings document; the caller frees it. */
static char *settings_json(const company *c, size_t *len)
{
    size_t cap = 4096 + (size_t)COMPANY_GRIDS / 5 * 80, o = 0;
    char *s = malloc(cap);
#define PUT(...) o += (size_t)snprintf(s + o, cap - o, __VA_ARGS__)
    PUT("{\"levels\": {\n"
        "  \"region\": {\"method\": \"driver\", \"driver\": \"potential\"},\n"
        "  \"grid\": {\"method\": \"growth\", \"baseline\": \"prior\", \"floor\": \"-5%%\", "
        "\"cap\": \"30%%\"},\n"
        "  \"rep\": {\"method\": \"driver\", \"driver\": \"prior\"}},\n"
        " \"growth_limits\": {");
    for (size_t g = 0; g < COMPANY_GRIDS; g += 5)
        PUT("%s\n  \"%s\": {\"floor\": \"%s\", \"cap\": \"%s\"}", g > 0 ? "," : "",
            c->ids + (COMPANY_FIRST_GRID + g) * COMPANY_ID_LEN, g % 10 == 0 ? "0%" : "15%",
            g % 10 == 0 ? "3%" : "60%");
    PUT("},\n \"seasonality\": {\"profiles\": {");
    for (int r = 0; r <= SOUTH_REGIONS; r++) {
        PUT("%s\n  \"%s\": {\"method\": \"shares\", \"shares\": [", r > 0 ? "," : "",
            c->ids + (size_t)r * COMPANY_ID_LEN);
        for (int m = 0; m < MONTHS; m++)
            PUT("%s\"%s%%\"", m > 0 ? ", " : "", shares_text[r > 0][m]);
        PUT("]}");
    }
    PUT("}}}\n");
#undef PUT
    *len = o;
    return s;
}

/* Allocator hooks that count the library's heap: bytes now and the peak. */
typedef struct tally {
    size_t now, peak;
} tally;

#define TALLY_HEAD 16 /* keeps malloc's alignment */

static void *tally_malloc(void *user, size_t size)
{
    tally *t = user;
    unsigned char *p = malloc(size + TALLY_HEAD);
    if (p == NULL)
        return NULL;
    memcpy(p, &size, sizeof size);
    t->now += size;
    t->peak = t->now > t->peak ? t->now : t->peak;
    return p + TALLY_HEAD;
}

static void tally_free(void *user, void *ptr)
{
    tally *t = user;
    unsigned char *p = (unsigned char *)ptr - TALLY_HEAD;
    size_t size;
    memcpy(&size, p, sizeof size);
    t->now -= size;
    free(p);
}

static void *tally_realloc(void *user, void *ptr, size_t size)
{
    tally *t = user;
    unsigned char *p = (unsigned char *)ptr - TALLY_HEAD;
    size_t old;
    memcpy(&old, p, sizeof old);
    unsigned char *q = realloc(p, size + TALLY_HEAD);
    if (q == NULL)
        return NULL;
    memcpy(q, &size, sizeof size);
    t->now = t->now - old + size;
    t->peak = t->now > t->peak ? t->now : t->peak;
    return q + TALLY_HEAD;
}

/* How long the kernel takes to hand out `bytes` of fresh memory (page faults), which a
 * new set of that size pays once, whatever the library does. */
static double first_touch_ms(size_t bytes)
{
    unsigned char *p = malloc(bytes);
    if (p == NULL)
        return 0;
    double t0 = bench_now_ms();
    memset(p, 1, bytes);
    double ms = bench_now_ms() - t0;
    volatile unsigned char sink = p[bytes - 1]; /* keeps the memset */
    (void)sink;
    free(p);
    return ms;
}

static double peak_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

static double mib(size_t bytes)
{
    return (double)bytes / (1024.0 * 1024.0);
}

static void check(int rc, sp_ctx *ctx, const char *what)
{
    if (rc != SP_OK) {
        fprintf(stderr, "bench_target_plan: %s: %s\n", what, sp_ctx_errmsg(ctx));
        exit(1);
    }
}

#ifdef HAVE_SQLITE
/* The sums over each parent's grids that the growth split needs: what is left for the free
 * grids (r0) and their baselines (w0). */
#define GROWTH_SUMS                                                                           \
    "par AS (SELECT g.parent, t.t - SUM(CASE g.st WHEN 1 THEN g.lo WHEN 2 THEN g.hi ELSE 0 " \
    "END) AS r0, SUM(CASE WHEN g.st = 0 THEN g.b ELSE 0 END) AS w0 "                          \
    "FROM grow g JOIN target t ON t.id = g.parent GROUP BY g.parent)"

/*
 * Growth at `level` with each node's floor f and cap c: bounds lo = ceil(b (1 + f)) and
 * hi = floor(b (1 + c)), then sp_allocate's clamping rounds within each parent (the
 * shares b r0 / w0 of the free nodes against their bounds: clamp at the cap the nodes
 * above it when they exceed by at least as much in total as the nodes below their floor
 * fall short, and the other way round), one UPDATE a round until none changes; then the
 * free nodes share what is left by largest remainder, the lower id among equals.
 */
static int sqlite_growth_level(sqlite3 *db, int level)
{
    char sql[2048];
    snprintf(sql, sizeof sql,
             "CREATE TEMP TABLE grow(id INTEGER PRIMARY KEY, parent INTEGER, b INTEGER, "
             "lo INTEGER, hi INTEGER, st INTEGER);"
             "INSERT INTO grow SELECT id, parent, b, (b * (%lld + f) + %lld) / %lld, "
             "(b * (%lld + c)) / %lld, 0 FROM node WHERE level = %d;"
             "CREATE INDEX grow_parent ON grow(parent)",
             (long long)ONE, (long long)ONE - 1, (long long)ONE, (long long)ONE, (long long)ONE,
             level);
    bench_sql_exec(db, sql);
    int rounds = 0;
    do {
        bench_sql_exec(db,
                       "WITH " GROWTH_SUMS ","
                       " d AS (SELECT g.id, g.parent, g.b * p.r0 AS bp, g.hi * p.w0 AS hw,"
                       "              g.lo * p.w0 AS lw"
                       "       FROM grow g JOIN par p ON p.parent = g.parent WHERE g.st = 0),"
                       " e AS (SELECT parent, SUM(CASE WHEN bp > hw THEN bp - hw ELSE 0 END) AS ex,"
                       "              SUM(CASE WHEN bp < lw THEN lw - bp ELSE 0 END) AS sh"
                       "       FROM d GROUP BY parent)"
                       " UPDATE grow SET st = CASE WHEN d.bp > d.hw THEN 2 ELSE 1 END"
                       " FROM d JOIN e ON e.parent = d.parent"
                       " WHERE grow.id = d.id AND ((d.bp > d.hw AND e.ex >= e.sh) OR"
                       "                           (d.bp < d.lw AND e.sh >= e.ex))");
        rounds++;
    } while (sqlite3_changes(db) > 0);
    bench_sql_exec(db,
                   "INSERT INTO target(id, t) "
                   "WITH " GROWTH_SUMS ","
                   " q AS (SELECT g.id, g.parent, g.st, g.lo, g.hi, p.r0,"
                   "              CASE WHEN g.st = 0 THEN (g.b * p.r0) / p.w0 END AS fl,"
                   "              CASE WHEN g.st = 0 THEN (g.b * p.r0) % p.w0 END AS rem"
                   "       FROM grow g JOIN par p ON p.parent = g.parent),"
                   " k AS (SELECT id, st, lo, hi, fl, r0 - SUM(fl) OVER (PARTITION BY parent) AS lft,"
                   "              ROW_NUMBER() OVER (PARTITION BY parent ORDER BY st, rem DESC, id)"
                   "              AS rn FROM q)"
                   " SELECT id, CASE st WHEN 1 THEN lo WHEN 2 THEN hi ELSE fl + (rn <= lft) END"
                   " FROM k;"
                   "DROP TABLE grow");
    return rounds;
}

typedef struct sql_result {
    double load_ms, split_ms, time_ms, read_ms, mib;
    int rounds;
    uint64_t sum;
} sql_result;

/* Both steps in SQLite: the three levels, the leaves' periods, the sums per period up the
 * tree; then every cell read back. */
static void sqlite_plan(const company *c, const plan_data *p, sql_result *res)
{
    sqlite3 *db;
    sqlite3_open(":memory:", &db);
    double t0 = bench_now_ms();
    const char *names[] = { "b", "f", "c", "pid" };
    const int64_t *extra[] = { p->prior, p->floor, p->cap, p->pid };
    company_sql_load(db, c, p->w, 4, names, extra);
    bench_sql_exec(db, "BEGIN");
    bench_sql_load_profiles(db, shares[0], PROFILES, MONTHS);
    bench_sql_exec(db, "COMMIT");
    res->load_ms = bench_now_ms() - t0;

    t0 = bench_now_ms();
    char sql[2048];
    snprintf(sql, sizeof sql, "INSERT INTO target VALUES(0, %lld)", (long long)total);
    bench_sql_exec(db, sql);
    bench_sql_split_level(db, 1);
    res->rounds = sqlite_growth_level(db, 2);
    bench_sql_split_level(db, 3);
    double t1 = bench_now_ms();
    res->split_ms = t1 - t0;
    bench_sql_exec(db, "CREATE TABLE cell(i INTEGER, m INTEGER, v INTEGER NOT NULL,"
                       " PRIMARY KEY(i, m)) WITHOUT ROWID");
    strcpy(sql, "INSERT INTO cell ");
    bench_sql_time_split(sql + strlen(sql), sizeof sql - strlen(sql),
                         "(SELECT n.id AS i, n.pid, t.t AS a FROM node n"
                         " JOIN target t ON t.id = n.id WHERE n.level = 3)");
    bench_sql_exec(db, sql);
    for (int level = 3; level >= 1; level--) {
        snprintf(sql, sizeof sql,
                 "INSERT INTO cell SELECT n.parent, c.m, SUM(c.v) FROM node n"
                 " JOIN cell c ON c.i = n.id WHERE n.level = %d GROUP BY n.parent, c.m",
                 level);
        bench_sql_exec(db, sql);
    }
    double t2 = bench_now_ms();
    res->time_ms = t2 - t1;
    int64_t *out = calloc(c->n * MONTHS, sizeof *out);
    sqlite3_stmt *st = bench_sql_prepare(db, "SELECT i, m, v FROM cell");
    while (sqlite3_step(st) == SQLITE_ROW)
        out[(size_t)sqlite3_column_int64(st, 0) * MONTHS + (size_t)sqlite3_column_int64(st, 1)] =
            sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    res->read_ms = bench_now_ms() - t2;
    res->sum = bench_checksum(out, c->n * MONTHS);
    free(out);
    res->mib = mib((size_t)sqlite3_memory_highwater(0));
    sqlite3_close(db);
}
#endif

/* pandas, through Debian's python3 (python3-pandas), on the same columns. */
static int pandas_plan(const company *c, const plan_data *p, double *ms, uint64_t *sum,
                       double *mb)
{
    const char *names[] = { "parent", "level", "w", "b", "f", "c", "pid", "profiles" };
    const int64_t *cols[] = { c->parent, c->level, p->w, p->prior, p->floor, p->cap, p->pid,
                              shares[0] };
    const size_t lens[] = { c->n, c->n, c->n, c->n, c->n, c->n, c->n, PROFILES * MONTHS };
    char args[32];
    snprintf(args, sizeof args, "%lld", (long long)total);
    return bench_python_columns("target_plan_pandas.py", 8, names, cols, lens, args, ms, sum, mb);
}

/* The same decomposition in SQLite and pandas, each checked against salesplan's checksum. */
static void run_alternatives(const company *c, const plan_data *p, uint64_t ours)
{
    printf("\n%-52s %9s %11s\n", "the same in SQLite and pandas", "ms", "peak MiB");
#ifdef HAVE_SQLITE
    sql_result sr;
    sqlite_plan(c, p, &sr);
    printf("%-52s %9.1f\n", "SQLite: load node, profile tables + index", sr.load_ms);
    char label[64];
    snprintf(label, sizeof label, "SQLite: 3 levels (growth: %d clamping rounds)", sr.rounds);
    printf("%-52s %9.1f\n", label, sr.split_ms);
    printf("%-52s %9.1f %11.1f  %s\n", "SQLite: leaves' months + sums up the tree", sr.time_ms,
           sr.mib, sr.sum == ours ? "same result" : "RESULT DIFFERS");
    printf("%-52s %9.1f\n", "SQLite: read the cells back", sr.read_ms);
#else
    printf("%-52s %9s\n", "SQLite", "n/a");
#endif
    double pd_ms, pd_mib;
    uint64_t pd_sum;
    if (pandas_plan(c, p, &pd_ms, &pd_sum, &pd_mib) == 0)
        printf("%-52s %9.1f %11.1f  %s\n", "pandas: both steps (compute only)", pd_ms, pd_mib,
               pd_sum == ours ? "same result" : "RESULT DIFFERS");
    else
        printf("%-52s %9s\n", "pandas (python3-pandas not installed)", "n/a");
    printf("(SQLite: sqlite3_memory_highwater; pandas: the python process's ru_maxrss. Both do "
           "the same work:\n largest remainder with the lower id first, growth by clamping "
           "rounds, months by largest\n remainder with the earlier month first, inner nodes "
           "summed per month.)\n");
}

int main(int argc, char **argv)
{
    size_t n = 1000000;
    bool alternatives = true;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--no-alternatives") == 0)
            alternatives = false;
        else
            n = strtoul(argv[a], NULL, 10);
    }
    if (n < COMPANY_FIRST_LEAF + COMPANY_GRIDS) {
        fprintf(stderr, "bench_target_plan: at least %d nodes (a rep in every grid)\n",
                COMPANY_FIRST_LEAF + COMPANY_GRIDS);
        return 2;
    }
    company c;
    plan_data pd;
    company_generate(&c, n);
    generate_plan(&c, &pd);
    total = pd.prior[0] / 100 * 111;
    size_t json_len;
    char *json = settings_json(&c, &json_len);
    /* The host's arrays in the order salesplan gets the nodes. */
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    size_t *perm = company_shuffle(&c, ids, parents);
    int64_t *potential = malloc(n * sizeof *potential), *prior = malloc(n * sizeof *prior);
    for (size_t k = 0; k < n; k++) {
        potential[k] = pd.potential[perm[k]];
        prior[k] = pd.prior[perm[k]];
    }
    double rss_data = peak_mib();

    tally heap = { 0, 0 };
    sp_ctx_options co = SP_CTX_OPTIONS_INIT;
    co.malloc_fn = tally_malloc;
    co.realloc_fn = tally_realloc;
    co.free_fn = tally_free;
    co.alloc_user = &heap;
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, &co) != SP_OK)
        return 1;

    /* The host's steps, each timed once. */
    double t0 = bench_now_ms(), ms[6];
    sp_hierarchy *h;
    check(sp_hierarchy_new(&h, ctx), ctx, "hierarchy");
    check(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, n, NULL), ctx, "add_all");
    ms[0] = bench_now_ms() - t0;
    t0 = bench_now_ms();
    const char *levels[] = { "company", "region", "grid", "rep" };
    check(sp_hierarchy_set_levels(h, levels, 4), ctx, "levels");
    check(sp_hierarchy_validate(h), ctx, "validate");
    ms[1] = bench_now_ms() - t0;
    size_t heap_h = heap.now;
    t0 = bench_now_ms();
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.currency = "CNY";
    po.fiscal_year = 2027;
    sp_target_plan *plan;
    check(sp_target_plan_new(&plan, ctx, "FY2027", h, &po), ctx, "plan");
    ms[2] = bench_now_ms() - t0;
    size_t heap_plan = heap.now;
    t0 = bench_now_ms();
    check(sp_target_plan_set_settings(plan, json, json_len), ctx, "settings");
    ms[3] = bench_now_ms() - t0;
    t0 = bench_now_ms();
    check(sp_target_plan_set_driver(plan, "potential", potential, NULL, n), ctx, "driver");
    check(sp_target_plan_set_driver(plan, "prior", prior, NULL, n), ctx, "driver");
    ms[4] = bench_now_ms() - t0;
    /* The plan holds its own copy of the hierarchy: the host's may go. */
    sp_hierarchy_free(h);
    size_t heap_ready = heap.now;
    double rss_ready = peak_mib();

    /* The decomposition, best of RUNS; each run's set freed before the next but the last. */
    sp_target_set *set = NULL;
    double first = 0, best = 1e30;
    size_t heap_peak = 0, heap_set = 0;
    for (int r = 0; r < RUNS; r++) {
        sp_target_set_free(set);
        set = NULL;
        heap.peak = heap.now;
        t0 = bench_now_ms();
        check(sp_target_plan_decompose(&set, plan, total, NULL), ctx, "decompose");
        double t = bench_now_ms() - t0;
        first = r == 0 ? t : first;
        best = t < best ? t : best;
        heap_peak = heap.peak - heap_ready;
        heap_set = heap.now - heap_ready;
    }
    double rss_run = peak_mib();
    double touch = first_touch_ms(heap_set);

    sp_target_set_data data = SP_TARGET_SET_DATA_INIT;
    check(sp_target_set_get_data(set, &data), ctx, "data");
    int64_t *back = malloc(n * MONTHS * sizeof *back);
    size_t at_floor = 0, at_cap = 0, rows_exact = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(back + perm[k] * MONTHS, data.periods + k * MONTHS, MONTHS * sizeof *back);
        at_floor += (data.flags[k] & SP_DECOMP_F_AT_FLOOR) != 0;
        at_cap += (data.flags[k] & SP_DECOMP_F_AT_CAP) != 0;
        int64_t sum = 0;
        for (size_t m = 0; m < MONTHS; m++)
            sum += data.periods[k * MONTHS + m];
        rows_exact += sum == data.annual[k];
    }
    uint64_t ours = bench_checksum(back, n * MONTHS);
    const double cells = (double)n * MONTHS;

    printf("target plan decomposition through the plan API: %zu nodes (1 company, %d regions, "
           "%d grids, %zu reps) x %d months\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF, MONTHS);
    printf("settings: regions by driver \"potential\"; grids by growth over \"prior\" (floor "
           "-5%%, cap +30%%;\n  %d grids with 0%%..+3%%, %d with +15%%..+60%%); reps by driver "
           "\"prior\"; shares at the company\n  and at %d regions (inherited by their grids and "
           "reps). Total %lld fen (last year's + 11%%).\n",
           COMPANY_GRIDS / 10, COMPANY_GRIDS / 10, SOUTH_REGIONS, (long long)total);
    printf("result: %zu grids at their growth floor, %zu at their cap; %zu of %zu rows sum to "
           "their annual target\n\n",
           at_floor, at_cap, rows_exact, n);
    printf("%-52s %9s %11s %11s\n", "step (salesplan)", "ms", "heap MiB", "peak RSS MiB");
    printf("%-52s %9s %11s %11.1f\n", "generated data (ids, parents, drivers, settings)", "", "",
           rss_data);
    printf("%-52s %9.1f\n", "hierarchy: sp_hierarchy_add_all (shuffled)", ms[0]);
    printf("%-52s %9.1f %11.1f\n", "hierarchy: set_levels + validate", ms[1], mib(heap_h));
    printf("%-52s %9.1f %11.1f\n", "plan: sp_target_plan_new (copies the hierarchy)", ms[2],
           mib(heap_plan));
    printf("%-52s %9.1f\n", "plan: sp_target_plan_set_settings", ms[3]);
    printf("%-52s %9.1f\n", "plan: 2 x sp_target_plan_set_driver", ms[4]);
    printf("%-52s %9s %11.1f %11.1f\n", "ready (the host's hierarchy freed)", "",
           mib(heap_ready), rss_ready);
    printf("%-52s %9.1f\n", "sp_target_plan_decompose: first call", first);
    printf("%-52s %9.1f %11.1f %11.1f\n", "sp_target_plan_decompose: best of 5", best,
           mib(heap_ready + heap_set), rss_run);
    printf("  heap per node x month cell: the set keeps %.1f bytes (8 the month's target), the "
           "call peaks at %.1f\n",
           (double)heap_set / cells, (double)heap_peak / cells);
    printf("  this machine: first touch of fresh memory of the set's size (page faults) takes "
           "%.1f ms\n",
           touch);
    if (alternatives)
        run_alternatives(&c, &pd, ours);

    sp_target_set_free(set);
    sp_target_plan_free(plan);
    sp_ctx_free(ctx);
    free(back);
    free(perm);
    free(ids);
    free(parents);
    free(potential);
    free(prior);
    free(json);
    free_plan(&pd);
    company_free(&c);
    return 0;
}
