/*
 * The issue's budget through the plan API: a 1M-node hierarchy (1 company, 30 regions,
 * 3000 grids, ~997k reps, added shuffled) x 12 months decomposed by
 * sp_target_plan_decompose from a settings document: regions by a driver, grids by growth
 * over a baseline with a floor and a cap (some grids with limits of their own), reps by a
 * driver, a seasonality profile at the company and another for five regions. Setup
 * included on every side: each run starts from the host's arrays (salesplan: hierarchy,
 * validate, plan, settings, drivers, decompose; the bare C loop: its children index and
 * the same arithmetic; SQLite and DuckDB: tables, indexes and SQL; pandas: the DataFrame
 * and its operations). Prints every step's min/median/max (the library is
 * single-threaded: one core), its memory (the library's heap through counting allocator
 * hooks, and the process's peak RSS), and the "@" lines of target_plan (load + compute)
 * and target_plan.decompose (compute alone); every side's result is compared with
 * salesplan's cell by cell.
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

/* SQLite, both steps: load node and profile tables with the index (level, parent); then
 * the three levels, the leaves' periods and the sums per period up the tree, every cell
 * read back into out (n x MONTHS, generation order). Returns the load ms in *load. */
static int sqlite_plan(const company *c, const plan_data *p, int64_t *out, double *load,
                       double *compute)
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
    double t1 = bench_now_ms();
    *load = t1 - t0;

    char sql[2048];
    snprintf(sql, sizeof sql, "INSERT INTO target VALUES(0, %lld)", (long long)total);
    bench_sql_exec(db, sql);
    bench_sql_split_level(db, 1);
    int rounds = sqlite_growth_level(db, 2);
    bench_sql_split_level(db, 3);
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
    memset(out, 0, c->n * MONTHS * sizeof *out);
    sqlite3_stmt *st = bench_sql_prepare(db, "SELECT i, m, v FROM cell");
    while (sqlite3_step(st) == SQLITE_ROW)
        out[(size_t)sqlite3_column_int64(st, 0) * MONTHS + (size_t)sqlite3_column_int64(st, 1)] =
            sqlite3_column_int64(st, 2);
    sqlite3_finalize(st);
    *compute = bench_now_ms() - t1;
    sqlite3_close(db);
    return rounds;
}
#endif

/* ---- the bare loop: the same decomposition in plain C over the generation-order arrays ---- */

/* Growth at the grids: each region's target over its grids by the baseline b within
 * [ceil(b (1 + f)), floor(b (1 + c))], by the clamping rounds the peers run (sp_allocate's),
 * then the free grids share what is left by largest remainder. */
static void bare_growth(const company *c, const bare_tree *t, const plan_data *p,
                        int64_t *target, bare_rem *scratch, int64_t *lo, int64_t *hi,
                        uint8_t *st)
{
    for (size_t r = 0; r < c->n; r++) {
        if (c->level[r] != 1)
            continue;
        const uint32_t *k = t->kids + t->first[r];
        size_t m = t->first[r + 1] - t->first[r];
        for (size_t j = 0; j < m; j++) {
            int64_t b = p->prior[k[j]];
            lo[j] = (b * (ONE + p->floor[k[j]]) + ONE - 1) / ONE;
            hi[j] = b * (ONE + p->cap[k[j]]) / ONE;
            st[j] = 0;
        }
        int64_t r0, w0;
        bool changed;
        do {
            int64_t fixed = 0, ex = 0, sh = 0;
            w0 = 0;
            for (size_t j = 0; j < m; j++) {
                fixed += st[j] == 1 ? lo[j] : st[j] == 2 ? hi[j] : 0;
                w0 += st[j] == 0 ? p->prior[k[j]] : 0;
            }
            r0 = target[r] - fixed;
            for (size_t j = 0; j < m; j++) {
                if (st[j] != 0)
                    continue;
                int64_t bp = p->prior[k[j]] * r0, hw = hi[j] * w0, lw = lo[j] * w0;
                ex += bp > hw ? bp - hw : 0;
                sh += bp < lw ? lw - bp : 0;
            }
            changed = false;
            for (size_t j = 0; j < m; j++) {
                if (st[j] != 0)
                    continue;
                int64_t bp = p->prior[k[j]] * r0;
                if (bp > hi[j] * w0 && ex >= sh)
                    st[j] = 2, changed = true;
                else if (bp < lo[j] * w0 && sh >= ex)
                    st[j] = 1, changed = true;
            }
        } while (changed);
        int64_t left = r0;
        size_t nfree = 0;
        for (size_t j = 0; j < m; j++) {
            if (st[j] != 0) {
                target[k[j]] = st[j] == 1 ? lo[j] : hi[j];
                continue;
            }
            int64_t bp = p->prior[k[j]] * r0;
            target[k[j]] = bp / w0;
            left -= bp / w0;
            scratch[nfree].rem = bp % w0;
            scratch[nfree++].id = k[j];
        }
        bare_give_left(scratch, nfree, left, target);
    }
}

/* Each leaf's target over the months of its profile (largest remainder, the earlier month
 * among equals); every inner node's months the sums of its children's. */
static void bare_months(const company *c, const plan_data *p, const int64_t *target,
                        int64_t *cells)
{
    int64_t wsum[PROFILES] = { 0 };
    for (int q = 0; q < PROFILES; q++)
        for (int m = 0; m < MONTHS; m++)
            wsum[q] += shares[q][m];
    memset(cells, 0, c->n * MONTHS * sizeof *cells);
    for (size_t i = 0; i < c->n; i++) {
        if (c->level[i] != 3)
            continue;
        const int64_t *w = shares[p->pid[i]], a = target[i];
        int64_t rem[MONTHS], left = a, *out = cells + i * MONTHS;
        for (int m = 0; m < MONTHS; m++) {
            int64_t prod = a * w[m];
            out[m] = prod / wsum[p->pid[i]];
            rem[m] = prod % wsum[p->pid[i]];
            left -= out[m];
        }
        for (; left > 0; left--) {
            int best = 0;
            for (int m = 1; m < MONTHS; m++)
                best = rem[m] > rem[best] ? m : best;
            out[best]++;
            rem[best] = -1;
        }
    }
    /* Children come after their parent: from the last node up, each is complete when
     * it is added to its parent. */
    for (size_t i = c->n; i-- > 1;) {
        int64_t *to = cells + (size_t)c->parent[i] * MONTHS, *from = cells + i * MONTHS;
        for (int m = 0; m < MONTHS; m++)
            to[m] += from[m];
    }
}

typedef struct bare_state {
    const company *c;
    const plan_data *p;
    int64_t *target, *cells, *lo, *hi;
    bare_rem *scratch;
    uint8_t *st;
    double load_ms, compute_ms;
} bare_state;

/* Loading: the children index. Compute: the three levels, the months, the sums. */
static void bare_plan(bare_state *b)
{
    double t0 = bench_now_ms();
    bare_tree t;
    bare_tree_build(&t, b->c);
    double t1 = bench_now_ms();
    memset(b->target, 0, b->c->n * sizeof *b->target);
    b->target[0] = total;
    bare_split_level(b->c, &t, 1, b->p->w, b->target, b->scratch);
    bare_growth(b->c, &t, b->p, b->target, b->scratch, b->lo, b->hi, b->st);
    bare_split_level(b->c, &t, 3, b->p->w, b->target, b->scratch);
    bare_months(b->c, b->p, b->target, b->cells);
    double t2 = bench_now_ms();
    bare_tree_free(&t);
    b->load_ms = t1 - t0;
    b->compute_ms = t2 - t1;
}

/* ---- salesplan: every step a host goes through ---- */

typedef struct sp_state {
    sp_ctx *ctx;
    tally *heap;
    size_t n;
    const char **ids, **parents;
    const int64_t *potential, *prior;
    const char *json;
    size_t json_len;
    sp_target_plan *plan;
    sp_target_set *set;
    double ms[6]; /* add_all, levels + validate, plan_new, settings, drivers, decompose */
    size_t heap_ready, heap_set;
} sp_state;

static void sp_plan_run(sp_state *s)
{
    sp_ctx *ctx = s->ctx;
    sp_target_set_free(s->set);
    sp_target_plan_free(s->plan);
    s->set = NULL;
    s->plan = NULL;
    size_t heap0 = s->heap->now;
    double t0 = bench_now_ms(), t1;
    sp_hierarchy *h;
    check(sp_hierarchy_new(&h, ctx), ctx, "hierarchy");
    check(sp_hierarchy_add_all(h, s->ids, NULL, s->parents, NULL, s->n, NULL), ctx, "add_all");
    t1 = bench_now_ms();
    s->ms[0] = t1 - t0;
    const char *levels[] = { "company", "region", "grid", "rep" };
    check(sp_hierarchy_set_levels(h, levels, 4), ctx, "levels");
    check(sp_hierarchy_validate(h), ctx, "validate");
    t0 = bench_now_ms();
    s->ms[1] = t0 - t1;
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.currency = "CNY";
    po.fiscal_year = 2027;
    check(sp_target_plan_new(&s->plan, ctx, "FY2027", h, &po), ctx, "plan");
    t1 = bench_now_ms();
    s->ms[2] = t1 - t0;
    check(sp_target_plan_set_settings(s->plan, s->json, s->json_len), ctx, "settings");
    t0 = bench_now_ms();
    s->ms[3] = t0 - t1;
    check(sp_target_plan_set_driver(s->plan, "potential", s->potential, NULL, s->n), ctx,
          "driver");
    check(sp_target_plan_set_driver(s->plan, "prior", s->prior, NULL, s->n), ctx, "driver");
    /* The plan holds its own copy of the hierarchy: the host's may go. */
    sp_hierarchy_free(h);
    t1 = bench_now_ms();
    s->ms[4] = t1 - t0;
    s->heap_ready = s->heap->now - heap0;
    check(sp_target_plan_decompose(&s->set, s->plan, total, NULL), ctx, "decompose");
    s->ms[5] = bench_now_ms() - t1;
    s->heap_set = s->heap->now - heap0 - s->heap_ready;
}

/* Report a side whose runs gave load[r] and compute[r] ms: target_plan (setup included:
 * load + compute per run) and target_plan.decompose (compute only). */
static void report_both(const char *side, double *load, double *compute, int runs,
                        const char *note)
{
    double sum[BENCH_RUNS];
    for (int r = 0; r < runs; r++)
        sum[r] = load[r] + compute[r];
    bench_stats l = bench_stats_of(load, runs);
    bench_report("target_plan", side, l.med, bench_stats_of(sum, runs), note);
    bench_report("target_plan.decompose", side, l.med, bench_stats_of(compute, runs), note);
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

    printf("target plan decomposition through the plan API: %zu nodes (1 company, %d regions, "
           "%d grids, %zu reps) x %d months\n",
           n, COMPANY_REGIONS, COMPANY_GRIDS, n - COMPANY_FIRST_LEAF, MONTHS);
    printf("settings: regions by driver \"potential\"; grids by growth over \"prior\" (floor "
           "-5%%, cap +30%%;\n  %d grids with 0%%..+3%%, %d with +15%%..+60%%); reps by driver "
           "\"prior\"; shares at the company\n  and at %d regions (inherited by their grids and "
           "reps). Total %lld fen (last year's + 11%%).\n",
           COMPANY_GRIDS / 10, COMPANY_GRIDS / 10, SOUTH_REGIONS, (long long)total);
    printf("Every side starts from the same arrays each run (setup included: salesplan's "
           "hierarchy,\nplan, settings and drivers; the bare loop's children index; SQL tables "
           "and indexes;\nthe DataFrame), warm, then min/median/max of %d runs (ms).\n\n",
           BENCH_RUNS);

    /* salesplan: one untimed run, then BENCH_RUNS, each from the host's arrays. */
    sp_state s = { .ctx = ctx, .heap = &heap, .n = n, .ids = ids, .parents = parents,
                   .potential = potential, .prior = prior, .json = json, .json_len = json_len };
    double steps[6][BENCH_RUNS], load[BENCH_RUNS], compute[BENCH_RUNS];
    sp_plan_run(&s);
    double first_ms = s.ms[5];
    for (int r = 0; r < BENCH_RUNS; r++) {
        sp_plan_run(&s);
        for (int k = 0; k < 6; k++)
            steps[k][r] = s.ms[k];
        load[r] = s.ms[0] + s.ms[1] + s.ms[2] + s.ms[3] + s.ms[4];
        compute[r] = s.ms[5];
    }
    double rss_run = peak_mib();
    double touch = first_touch_ms(s.heap_set);
    sp_target_set_data data = SP_TARGET_SET_DATA_INIT;
    check(sp_target_set_get_data(s.set, &data), ctx, "data");
    int64_t *want = malloc(n * MONTHS * sizeof *want), *got = malloc(n * MONTHS * sizeof *got);
    size_t at_floor = 0, at_cap = 0, rows_exact = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(want + perm[k] * MONTHS, data.periods + k * MONTHS, MONTHS * sizeof *want);
        at_floor += (data.flags[k] & SP_DECOMP_F_AT_FLOOR) != 0;
        at_cap += (data.flags[k] & SP_DECOMP_F_AT_CAP) != 0;
        int64_t sum = 0;
        for (size_t m = 0; m < MONTHS; m++)
            sum += data.periods[k * MONTHS + m];
        rows_exact += sum == data.annual[k];
    }
    const double cells = (double)n * MONTHS;
    printf("result: %zu grids at their growth floor, %zu at their cap; %zu of %zu rows sum to "
           "their annual target\n\n",
           at_floor, at_cap, rows_exact, n);
    static const char *const step_names[6] = {
        "hierarchy: sp_hierarchy_add_all (shuffled)", "hierarchy: set_levels + validate",
        "plan: sp_target_plan_new (copies the hierarchy)", "plan: sp_target_plan_set_settings",
        "plan: 2 x sp_target_plan_set_driver", "sp_target_plan_decompose",
    };
    printf("%-52s %9s %9s %9s\n", "step (salesplan)", "min", "median", "max");
    for (int k = 0; k < 6; k++) {
        bench_stats st = bench_stats_of(steps[k], BENCH_RUNS);
        printf("%-52s %9.1f %9.1f %9.1f\n", step_names[k], st.min, st.med, st.max);
    }
    printf("sp_target_plan_decompose, first call: %.1f ms\n", first_ms);
    printf("memory: generated data %.0f MiB RSS; the plan %.1f MiB heap, the set %.1f MiB "
           "(%.1f bytes per node x month); peak RSS %.0f MiB\n",
           rss_data, mib(s.heap_ready), mib(s.heap_set), (double)s.heap_set / cells, rss_run);
    printf("this machine: first touch of fresh memory of the set's size (page faults): "
           "%.1f ms\n\n", touch);
    report_both("salesplan", load, compute, BENCH_RUNS, "every step from the host's arrays");

    /* The bare loop, the same way. */
    bare_state b = { .c = &c, .p = &pd, .target = malloc(n * sizeof(int64_t)), .cells = got,
                     .lo = malloc(n * sizeof(int64_t)), .hi = malloc(n * sizeof(int64_t)),
                     .scratch = malloc(n * sizeof(bare_rem)), .st = malloc(n) };
    bare_plan(&b);
    for (int r = 0; r < BENCH_RUNS; r++) {
        bare_plan(&b);
        load[r] = b.load_ms;
        compute[r] = b.compute_ms;
    }
    bench_same("target_plan", "bare", want, got, n * MONTHS);
    report_both("bare", load, compute, BENCH_RUNS, "same result; a quickselect per sibling group");
    free(b.target);
    free(b.lo);
    free(b.hi);
    free(b.scratch);
    free(b.st);

    if (alternatives) {
        bench_dir dir;
        bench_dir_new(&dir);
        const char *names[] = { "parent", "level", "w", "b", "f", "c", "pid", "profiles" };
        const int64_t *cols[] = { c.parent, c.level, pd.w, pd.prior, pd.floor, pd.cap, pd.pid,
                                  shares[0] };
        for (int k = 0; k < 8; k++)
            bench_dir_write(&dir, names[k], cols[k], sizeof(int64_t),
                            k < 7 ? n : PROFILES * MONTHS);
        char args[32];
        snprintf(args, sizeof args, "%lld", (long long)total);
        bench_peer_result res[2];
        bench_peer("duckdb", "target_plan", &dir, args, res, 2);
        bench_peer_check(&dir, res, 2, "total", "target_plan", "duckdb", want, got, n * MONTHS);
        bench_peer_check(&dir, res, 2, "decompose", "target_plan.decompose", "duckdb", want, got,
                         n * MONTHS);
        bench_peer("python", "target_plan_pandas.py", &dir, args, res, 2);
        bench_peer_check(&dir, res, 2, "total", "target_plan", "pandas", want, got, n * MONTHS);
        bench_peer_check(&dir, res, 2, "decompose", "target_plan.decompose", "pandas", want, got,
                         n * MONTHS);
        bench_dir_free(&dir);
#ifdef HAVE_SQLITE
        int rounds = 0;
        for (int r = -1; r < BENCH_RUNS; r++) {
            double l, m;
            rounds = sqlite_plan(&c, &pd, got, &l, &m);
            if (r >= 0) {
                load[r] = l;
                compute[r] = m;
            }
        }
        bench_same("target_plan", "sqlite", want, got, n * MONTHS);
        char note[96];
        snprintf(note, sizeof note, "same result; index (level, parent); growth: %d rounds",
                 rounds);
        report_both("sqlite", load, compute, BENCH_RUNS, note);
#else
        bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    }

    sp_target_set_free(s.set);
    sp_target_plan_free(s.plan);
    sp_ctx_free(ctx);
    free(want);
    free(got);
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
