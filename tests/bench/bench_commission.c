/*
 * The commission engine v0 (src/commission/engine.c): 10M order lines of 10k reps in one
 * quarter, a 3-tier marginal plan on the period-cumulative amount (3 % to 5,000.00, 5 % to
 * 10,000.00, 8 % above; per total, half even), beside a bare C loop that sums the amounts
 * by rep and applies the same tiers to each sum (the floor):
 *
 *   totals   the engine's totals path: one pass summing the measure by payee, then
 *            R(P(measure)) per payee
 *   lines    statements with every line (tier, rate, earning): the credits kept, radix-
 *            sorted by (payee, day, kind, id), walked through the schedule
 *
 * The host's source hands out its arrays in place, 64K rows per batch. Timing by bench.h
 * (one warm run, BENCH_RUNS timed); every side's totals are compared with the engine's,
 * rep by rep. The peers compute the same totals from the same order lines (every line
 * falls in the quarter, so no side filters by day): sum by rep, then the tiers in exact
 * integer arithmetic, in cents x the rate in basis points (3 % = 300; the sum of the tiers
 * fits int64 with room to spare), divided by 10,000 and rounded half even to the cent:
 *
 *   duckdb   2 threads, SQL: GROUP BY rep, then the tiers as CASE arithmetic
 *            (tests/bench/duckdb_bench.mjs, workload commission)
 *   pandas   groupby sum, then the tiers vectorised in int64 (commission_pandas.py)
 *   sqlite   the same SQL, a covering index (rep, amount)
 *
 * Loading (their tables, index, DataFrame) is timed apart; salesplan's is the dictionary
 * of 10k payees and the plan. Then the ledger (src/commission/ledger.c) on the statements
 * with every line:
 *
 *   post       the 10k statements and their 10M lines posted to a new file store: one
 *              transaction, its commit one write and fsync (the budget: 10 s)
 *   statement  one payee's statement read back from that store (the chunks that hold it)
 *   correct    the quarter closed, a recomputed truth with 1 % of its lines changed posted
 *              into the next quarter: the closed quarter loaded whole, both sides' lines
 *              matched, the delta lines written
 *
 * beside the floor of the post: the 640 MB of lines written raw to a new file and fsynced.
 * ("ledger" as the mode below: the statements and the ledger only, no totals and no
 * peers).
 *
 * lines_split (commission.lines_split): the same order lines with a product each (20,
 * uniform) and a split table giving about 20 % of them a 2-way split between the line's
 * rep and another rep, 50/50 or 60/40, either first (the tie rule: equal remainders go to
 * the first entry). The plan has two components filtered by product, both marginal on the
 * period-cumulative amount with "crediting": {"splits": "facts"}: core (P0..P9) 3 % to
 * 200,000.00, 5 % to 400,000.00, 8 % above; addon (P10..P19) 4 % to 300,000.00, 6.5 %
 * above (at about 1,000 order lines a rep, each rep's measures reach about 500,000.00: every
 * rep crosses every breakpoint during the quarter). The engine's side is its
 * lines path (statements with every line: about 12M); every side produces the per-line
 * table (payee, component, fact, base, earned, tier after) with
 *
 *   base     the payee's part of the line: a split line's amount by exact allocation
 *            (floors of amount x share, the units left to the largest remainders, ties
 *            to the first entry), else the whole amount to the line's rep
 *   earned   R(P(c + m)) - R(P(c)) (per total), c the payee's measure of the component
 *            before the line in the order (day, id), P in cents x basis points, R half
 *            even to the cent
 *
 *   duckdb   2 threads, SQL: the split parts by ROW_NUMBER over the remainders, the
 *            unsplit lines by an anti join, a window SUM per (payee, component) ordered by
 *            (day, id), P as CASE arithmetic at c + m and at c (workload commission_split)
 *   pandas   merge, groupby transform and cumcount for the parts, sort_values and a
 *            groupby cumsum, P vectorised in int64 (commission_split_pandas.py)
 *   sqlite   the same SQL on the first 1M order lines (commission.lines_split.1m, with
 *            salesplan on the same lines; at 10M its 6 runs would take an estimated 6
 *            to 12 minutes: SQLITE_SPLIT_LINES); primary keys lines(id), splits(id, entry),
 *            products(product)
 *
 * The peers' tables come in any row order; each row is found among the engine's by its
 * (payee, component, fact), untimed, and compared with it value by value, none twice. salesplan's loading adds the
 * 20 products to the dictionary and builds the split table; the peers' adds the split
 * and product tables. Run it from a release build:
 * build-release/tests/bench/bench_commission [order lines (10M)] [all|totals|split] [reps
 * (10k)]; fewer reps at fewer lines (100k lines of 100 reps) keep about 1,000 lines a rep,
 * so that every tier is reached.
 */
#include <sys/stat.h>

#include <salesplan/salesplan.h>

#include "bench.h"
#include "commission/engine.h"
#include "commission/ledger.h"
#include "money/numeric.h"

#ifdef HAVE_SQLITE
#include "bench_sql.h"
#endif

static uint32_t reps = 10000; /* the payees (rep i is payee i): argv[3], 10,000 by default */
#define Q1_2026 20454 /* 2026-01-01 */
#define DAYS 90
#define BATCH 65536u

typedef struct data {
    size_t n;
    uint64_t *id;
    uint32_t *rep;
    int32_t *day;
    int64_t *amount;
    const uint32_t *product; /* NULL: the batches have no product column */
} data;

static int host_scan(void *user, const sp_fact_query *q, sp_fact_sink_fn sink, void *arg)
{
    const data *d = user;
    if (q->kind != SP_FACT_ORDER_LINES)
        return 0;
    for (size_t start = 0; start < d->n; start += BATCH) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = d->n - start < BATCH ? d->n - start : BATCH;
        b.id = d->id + start;
        b.day = d->day + start;
        b.rep = d->rep + start;
        b.amount = d->amount + start;
        if (d->product != NULL)
            b.product = d->product + start;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* R(x / 10^9) half even, x >= 0 in 10^-9 minor units. */
static int64_t round_half_even(spi_i128 x)
{
    spi_i128 q = x / 1000000000, r = x % 1000000000;
    if (r > 500000000 || (r == 500000000 && (q & 1)))
        q++;
    return (int64_t)q;
}

typedef struct ctx_bare {
    const data *d;
    int64_t *sums, *totals;
} ctx_bare;

static void bare(void *arg)
{
    ctx_bare *c = arg;
    const data *d = c->d;
    memset(c->sums, 0, reps * sizeof *c->sums);
    for (size_t i = 0; i < d->n; i++)
        c->sums[d->rep[i]] += d->amount[i];
    static const int64_t b1 = 500000, b2 = 1000000;
    for (size_t p = 0; p < reps; p++) {
        int64_t x = c->sums[p];
        spi_i128 v;
        if (x < b1)
            v = (spi_i128)x * 30000000;
        else if (x < b2)
            v = (spi_i128)b1 * 30000000 + (spi_i128)(x - b1) * 50000000;
        else
            v = (spi_i128)b1 * 30000000 + (spi_i128)(b2 - b1) * 50000000 +
                (spi_i128)(x - b2) * 80000000;
        c->totals[p] = round_half_even(v);
    }
}

#ifdef HAVE_SQLITE
/* The SQL of the peers (DuckDB's the same with `//` for the integer division): the tiers
 * in cents x basis points, then R(v / 10,000) half even. */
static const char sqlite_sql[] =
    "WITH s AS (SELECT rep, SUM(amount) AS x FROM lines GROUP BY rep),"
    " v AS (SELECT rep, CASE WHEN x < 500000 THEN x * 300"
    "                        WHEN x < 1000000 THEN 150000000 + (x - 500000) * 500"
    "                        ELSE 400000000 + (x - 1000000) * 800 END AS v FROM s)"
    " SELECT rep, v / 10000 + CASE WHEN v % 10000 > 5000"
    "                              OR (v % 10000 = 5000 AND (v / 10000) % 2 = 1)"
    "                         THEN 1 ELSE 0 END FROM v";

typedef struct ctx_sqlite {
    sqlite3 *db;
    int64_t *totals;
} ctx_sqlite;

static void run_sqlite(void *arg)
{
    ctx_sqlite *c = arg;
    sqlite3_stmt *st = bench_sql_prepare(c->db, sqlite_sql);
    memset(c->totals, 0, reps * sizeof *c->totals);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        c->totals[sqlite3_column_int64(st, 0)] = sqlite3_column_int64(st, 1);
    if (rc != SQLITE_DONE)
        bench_die("sqlite: %s", sqlite3_errmsg(c->db));
    sqlite3_finalize(st);
}

/* The order lines and the covering index a DBA would give a sum by rep. */
static double sqlite_load(sqlite3 *db, const data *d)
{
    double t0 = bench_now_ms();
    bench_sql_exec(db, "CREATE TABLE lines(id INTEGER PRIMARY KEY, rep INTEGER NOT NULL, "
                       "day INTEGER NOT NULL, amount INTEGER NOT NULL); BEGIN");
    sqlite3_stmt *st = bench_sql_prepare(db, "INSERT INTO lines VALUES(?, ?, ?, ?)");
    for (size_t i = 0; i < d->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)d->id[i]);
        sqlite3_bind_int64(st, 2, d->rep[i]);
        sqlite3_bind_int64(st, 3, d->day[i]);
        sqlite3_bind_int64(st, 4, d->amount[i]);
        bench_sql_insert(db, st);
    }
    sqlite3_finalize(st);
    bench_sql_exec(db, "COMMIT; CREATE INDEX lines_rep ON lines(rep, amount); ANALYZE");
    return bench_now_ms() - t0;
}
#endif

typedef struct ctx_engine {
    sp_ctx *ctx;
    spi_cengine_input in;
    spi_crun out;
    bool have;
} ctx_engine;

static void engine_reset(void *arg)
{
    ctx_engine *c = arg;
    if (c->have)
        spi_crun_free(c->ctx, &c->out);
    c->have = false;
}

static void engine(void *arg)
{
    ctx_engine *c = arg;
    if (spi_cengine_run(c->ctx, &c->in, NULL, &c->out) != SP_OK)
        bench_die("engine: %s", sp_ctx_errmsg(c->ctx));
    c->have = true;
}

/* ---- commission.lines_split: per-product rates, 2-way splits, every line ---- */

#define PRODUCTS 20u  /* P0 .. P9 core, P10 .. P19 addon */
#define SPLIT_PCT 20u /* the share of the lines with a split, percent */
#define LINE_COLS 6   /* the per-line table: payee, component, fact, base, earned, tier */

/* The plan of the peers' SQL and scripts: core 3 % to 200,000.00, 5 % to 400,000.00, 8 %
 * above; addon 4 % to 300,000.00, 6.5 % above; both marginal on the period's cumulative
 * amount, splits from the run's table, per total, half even. */
static const char split_plan_json[] =
    "{\"plan\": \"S\", \"effective\": {\"from\": \"2026-01-01\"}, \"currency\": \"USD\", "
    "\"components\": ["
    "{\"id\": \"core\", \"measure\": {\"kind\": \"amount\", \"filter\": {\"product\": "
    "[\"P0\", \"P1\", \"P2\", \"P3\", \"P4\", \"P5\", \"P6\", \"P7\", \"P8\", \"P9\"]}}, "
    "\"period\": \"quarter\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": ["
    "{\"rate\": \"3%\"}, {\"from\": 200000, \"rate\": \"5%\"}, {\"from\": 400000, "
    "\"rate\": \"8%\"}]}, \"crediting\": {\"splits\": \"facts\"}}, "
    "{\"id\": \"addon\", \"measure\": {\"kind\": \"amount\", \"filter\": {\"product\": "
    "[\"P10\", \"P11\", \"P12\", \"P13\", \"P14\", \"P15\", \"P16\", \"P17\", \"P18\", "
    "\"P19\"]}}, \"period\": \"quarter\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": ["
    "{\"rate\": \"4%\"}, {\"from\": 300000, \"rate\": \"6.5%\"}]}, "
    "\"crediting\": {\"splits\": \"facts\"}}]}";

/* The split table, as the host keeps it: two entries per split line, in fact id order,
 * the entries of a line in their order (the tie rule); percent for the peers, sp_dec for
 * the engine. */
typedef struct split_data {
    size_t n; /* entries */
    uint64_t *id;
    int32_t *entry;
    uint32_t *payee;
    int64_t *pct;
    sp_dec *share;
} split_data;

/* About SPLIT_PCT % of the lines, split between the line's rep and another rep, 50/50 or
 * 60/40 (either first), drawn from their own seed so that the order lines stay those of
 * the totals rows. product[i] gets the product draw's number 0 .. PRODUCTS - 1. */
static void split_generate(const data *d, uint32_t *product, split_data *s)
{
    size_t cap = d->n / 4 * 2 + 64;
    s->n = 0;
    s->id = malloc(cap * sizeof *s->id);
    s->entry = malloc(cap * sizeof *s->entry);
    s->payee = malloc(cap * sizeof *s->payee);
    s->pct = malloc(cap * sizeof *s->pct);
    s->share = malloc(cap * sizeof *s->share);
    if (s->id == NULL || s->entry == NULL || s->payee == NULL || s->pct == NULL ||
        s->share == NULL)
        bench_die("out of memory");
    uint64_t seed = 4242;
    for (size_t i = 0; i < d->n; i++) {
        uint64_t r = bench_splitmix(&seed);
        product[i] = (uint32_t)(r % PRODUCTS);
        if ((r >> 8) % 100 >= SPLIT_PCT)
            continue;
        if (s->n + 2 > cap) {
            cap *= 2;
            s->id = realloc(s->id, cap * sizeof *s->id);
            s->entry = realloc(s->entry, cap * sizeof *s->entry);
            s->payee = realloc(s->payee, cap * sizeof *s->payee);
            s->pct = realloc(s->pct, cap * sizeof *s->pct);
            s->share = realloc(s->share, cap * sizeof *s->share);
            if (s->id == NULL || s->entry == NULL || s->payee == NULL || s->pct == NULL ||
                s->share == NULL)
                bench_die("out of memory");
        }
        uint32_t other = (d->rep[i] + 1u + (uint32_t)((r >> 16) % (reps - 1))) % reps;
        int64_t first = (r >> 40) & 1 ? 60 : 50;
        bool other_first = (r >> 41) & 1;
        for (int e = 0; e < 2; e++) {
            size_t k = s->n++;
            s->id[k] = d->id[i];
            s->entry[k] = e;
            s->payee[k] = (e == 0) == other_first ? other : d->rep[i];
            s->pct[k] = e == 0 ? first : 100 - first;
            s->share[k] = (sp_dec)s->pct[k] * (SP_DEC_ONE / 100);
        }
    }
}

static void split_free(split_data *s)
{
    free(s->id);
    free(s->entry);
    free(s->payee);
    free(s->pct);
    free(s->share);
}

/* The engine's statements as the per-line table: LINE_COLS columns of n rows, in the
 * statements' order. */
static int64_t *engine_table(const spi_crun *out)
{
    size_t n = out->nlines, seen = 0;
    int64_t *t = malloc(LINE_COLS * n * sizeof *t);
    if (t == NULL)
        bench_die("out of memory");
    for (size_t p = 0; p < out->npayees; p++) {
        const spi_cstatement *st = &out->statements[p];
        for (size_t j = st->first; j < st->first + st->nlines; j++) {
            const spi_cline *l = &out->lines[j];
            if (l->kind != SPI_CLINE_ORDER)
                bench_die("commission.lines_split: a line of kind %u", l->kind);
            t[j] = (int64_t)p;
            t[n + j] = l->component;
            t[2 * n + j] = (int64_t)l->fact;
            t[3 * n + j] = l->base;
            t[4 * n + j] = l->earned;
            t[5 * n + j] = l->tier_after;
        }
        seen += st->nlines;
    }
    if (seen != n)
        bench_die("commission.lines_split: the statements hold %zu of %zu lines", seen, n);
    return t;
}

/* Where salesplan's rows of each fact are (a fact's rows: one per payee of the one
 * component its product passes, so at most 2 here), to find a peer's rows in any order. */
typedef struct line_index {
    size_t n;         /* rows */
    uint64_t nfacts;  /* fact ids 1 .. nfacts */
    uint32_t *at;     /* at[2 f], at[2 f + 1]: row + 1 of fact f's rows; 0: none */
    uint8_t *seen;    /* per row: matched by the table being checked */
} line_index;

static void line_index_new(line_index *x, const int64_t *want, size_t n, uint64_t nfacts)
{
    x->n = n;
    x->nfacts = nfacts;
    x->at = calloc(2 * (nfacts + 1), sizeof *x->at);
    x->seen = malloc(n);
    if (x->at == NULL || x->seen == NULL)
        bench_die("out of memory");
    for (size_t j = 0; j < n; j++) {
        uint32_t *a = &x->at[2 * (uint64_t)want[2 * n + j]];
        if (a[0] != 0 && a[1] != 0)
            bench_die("commission.lines_split: salesplan has 3 rows of fact %lld",
                      (long long)want[2 * n + j]);
        a[a[0] != 0] = (uint32_t)(j + 1);
    }
}

static void line_index_free(line_index *x)
{
    free(x->at);
    free(x->seen);
}

/* Stop unless the table got (LINE_COLS columns of x->n rows, any row order) holds want's
 * rows: each of its rows is a row of want's, none twice, every column equal. */
static void table_same(const char *side, const int64_t *want, line_index *x,
                       const int64_t *got)
{
    static const char *const names[LINE_COLS] = { "payee", "component", "fact", "base",
                                                  "earned", "tier" };
    size_t n = x->n;
    memset(x->seen, 0, n);
    for (size_t i = 0; i < n; i++) {
        int64_t p = got[i], c = got[n + i], f = got[2 * n + i];
        size_t w = SIZE_MAX;
        for (int k = 0; f >= 1 && (uint64_t)f <= x->nfacts && k < 2; k++) {
            uint32_t r = x->at[2 * (uint64_t)f + (uint64_t)k];
            if (r != 0 && want[r - 1] == p && want[n + r - 1] == c)
                w = r - 1;
        }
        if (w == SIZE_MAX || x->seen[w])
            bench_die("commission.lines_split: %s's row %zu (payee %lld, component %lld, fact "
                      "%lld) is %s", side, i, (long long)p, (long long)c, (long long)f,
                      w == SIZE_MAX ? "no line of salesplan's" : "there twice");
        x->seen[w] = 1;
        for (int k = 3; k < LINE_COLS; k++)
            if (got[(size_t)k * n + i] != want[(size_t)k * n + w])
                bench_die("commission.lines_split: %s differs from salesplan at payee %lld, "
                          "component %lld, fact %lld: %s %lld, salesplan %lld", side,
                          (long long)p, (long long)c, (long long)f, names[k],
                          (long long)got[(size_t)k * n + i], (long long)want[(size_t)k * n + w]);
    }
}

#ifdef HAVE_SQLITE
/* The per-line table in SQL (DuckDB's the same with `//` and casts): the split lines'
 * parts by exact allocation (floors of amount x percent / 100, the units left to the
 * largest remainders, ties to the first entry), the other lines whole to their rep; each
 * part's measure to date c + m by a window sum per (payee, component) in the order (day,
 * id); the marginal payout at c + m and at c in cents x basis points, each rounded half
 * even, the difference. */
#define SQL_P(x)                                                                              \
    "CASE WHEN comp = 0 THEN CASE WHEN " x " < 20000000 THEN " x " * 300"                     \
    " WHEN " x " < 40000000 THEN 6000000000 + (" x " - 20000000) * 500"                       \
    " ELSE 16000000000 + (" x " - 40000000) * 800 END"                                        \
    " ELSE CASE WHEN " x " < 30000000 THEN " x " * 400"                                       \
    " ELSE 12000000000 + (" x " - 30000000) * 650 END END"
#define SQL_R(v)                                                                              \
    v " / 10000 + CASE WHEN " v " % 10000 > 5000 OR (" v " % 10000 = 5000 AND (" v            \
    " / 10000) % 2 = 1) THEN 1 ELSE 0 END"
static const char sqlite_split_sql[] =
    "WITH l AS (SELECT l.id, l.rep, l.day, l.amount, p.comp FROM lines l"
    "           JOIN products p ON p.product = l.product),"
    " s AS (SELECT l.id, l.day, l.comp, l.amount, s.entry, s.payee,"
    "              l.amount * s.pct / 100 AS fl, l.amount * s.pct % 100 AS rem"
    "       FROM l JOIN splits s ON s.id = l.id),"
    " parts AS (SELECT rep AS payee, comp, id, day, amount AS base FROM l"
    "           WHERE NOT EXISTS (SELECT 1 FROM splits s WHERE s.id = l.id)"
    "           UNION ALL"
    "           SELECT payee, comp, id, day, fl + (ROW_NUMBER() OVER (PARTITION BY id"
    "                  ORDER BY rem DESC, entry) <= amount - SUM(fl) OVER (PARTITION BY id))"
    "           FROM s),"
    " cum AS (SELECT payee, comp, id, base, SUM(base) OVER (PARTITION BY payee, comp"
    "                ORDER BY day, id ROWS UNBOUNDED PRECEDING) AS x FROM parts),"
    " v AS (SELECT payee, comp, id, base, x, " SQL_P("x") " AS vx, " SQL_P("(x - base)")
    "       AS vc FROM cum)"
    " SELECT payee, comp, id, base, (" SQL_R("vx") ") - (" SQL_R("vc") "),"
    "        CASE WHEN comp = 0 THEN (x >= 20000000) + (x >= 40000000) ELSE x >= 30000000 END"
    " FROM v";

typedef struct ctx_sqlite_split {
    sqlite3 *db;
    int64_t *t; /* LINE_COLS x n */
    size_t n;
} ctx_sqlite_split;

static void run_sqlite_split(void *arg)
{
    ctx_sqlite_split *c = arg;
    sqlite3_stmt *st = bench_sql_prepare(c->db, sqlite_split_sql);
    size_t k = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (k == c->n)
            bench_die("commission.lines_split: sqlite returns more than the %zu lines", c->n);
        for (int j = 0; j < LINE_COLS; j++)
            c->t[(size_t)j * c->n + k] = sqlite3_column_int64(st, j);
        k++;
    }
    if (rc != SQLITE_DONE)
        bench_die("sqlite: %s", sqlite3_errmsg(c->db));
    if (k != c->n)
        bench_die("commission.lines_split: sqlite returns %zu of the %zu lines", k, c->n);
    sqlite3_finalize(st);
}

/* The order lines with their product, the split table and the products' components; the
 * primary keys (lines by id, splits by (id, entry), products by product) are the indexes
 * the joins use. No index orders the window's input: a split part's payee comes from the
 * split table. */
static double sqlite_split_load(sqlite3 *db, const data *d, const split_data *s,
                                const uint32_t *pix)
{
    double t0 = bench_now_ms();
    bench_sql_exec(db, "CREATE TABLE lines(id INTEGER PRIMARY KEY, rep INTEGER NOT NULL, day "
                       "INTEGER NOT NULL, product INTEGER NOT NULL, amount INTEGER NOT NULL); "
                       "CREATE TABLE splits(id INTEGER NOT NULL, entry INTEGER NOT NULL, payee "
                       "INTEGER NOT NULL, pct INTEGER NOT NULL, PRIMARY KEY(id, entry)) WITHOUT "
                       "ROWID; CREATE TABLE products(product INTEGER PRIMARY KEY, comp INTEGER "
                       "NOT NULL); BEGIN");
    sqlite3_stmt *st = bench_sql_prepare(db, "INSERT INTO lines VALUES(?, ?, ?, ?, ?)");
    for (size_t i = 0; i < d->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)d->id[i]);
        sqlite3_bind_int64(st, 2, d->rep[i]);
        sqlite3_bind_int64(st, 3, d->day[i]);
        sqlite3_bind_int64(st, 4, d->product[i]);
        sqlite3_bind_int64(st, 5, d->amount[i]);
        bench_sql_insert(db, st);
    }
    sqlite3_finalize(st);
    st = bench_sql_prepare(db, "INSERT INTO splits VALUES(?, ?, ?, ?)");
    for (size_t i = 0; i < s->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)s->id[i]);
        sqlite3_bind_int64(st, 2, s->entry[i]);
        sqlite3_bind_int64(st, 3, s->payee[i]);
        sqlite3_bind_int64(st, 4, s->pct[i]);
        bench_sql_insert(db, st);
    }
    sqlite3_finalize(st);
    st = bench_sql_prepare(db, "INSERT INTO products VALUES(?, ?)");
    for (uint32_t k = 0; k < PRODUCTS; k++) {
        sqlite3_bind_int64(st, 1, pix[k]);
        sqlite3_bind_int64(st, 2, k < PRODUCTS / 2 ? 0 : 1);
        bench_sql_insert(db, st);
    }
    sqlite3_finalize(st);
    bench_sql_exec(db, "COMMIT; ANALYZE");
    return bench_now_ms() - t0;
}
#endif

/* Check a peer's table (LINE_COLS x n int64 in <dir>/out.<name>) and report it. */
static void split_peer_check(bench_dir *dir, const bench_peer_result *res, int nres,
                             const char *name, const char *workload, const char *side,
                             const int64_t *want, line_index *x, int64_t *got)
{
    const bench_peer_result *r = bench_peer_find(res, nres, name);
    char file[40];
    snprintf(file, sizeof file, "out.%s", name);
    bench_dir_read(dir, file, got, LINE_COLS * x->n);
    table_same(side, want, x, got);
    char note[64] = "same lines";
    if (r->mib >= 0)
        snprintf(note, sizeof note, "same lines; peak %.0f MiB", r->mib);
    bench_report(workload, side, r->load_ms, r->s, note);
}

/* SQLite computes the split workload's table on at most this many order lines (the first
 * ones): its window sorts go through temporary b-trees, 3 to 4 times DuckDB's time at 100k
 * and 1M lines (6 to 12 s a run at 1M on the shared machine, about 10 times its time at
 * 100k), so that its warm run and 5 timed ones at 10M would take an estimated 6 to 12
 * minutes. Above, its row is
 * commission.lines_split.1m, with salesplan on the same lines. */
#define SQLITE_SPLIT_LINES 1000000u

/* What one size of the split workload shares: the dictionary, the plan, the products. */
typedef struct split_env {
    sp_ctx *ctx;
    sp_dict *dict;
    uint32_t *payees;
    uint32_t pix[PRODUCTS];
    spi_cplan plan;
    double load_ms; /* the dictionary and the plan */
} split_env;

/* One size of the split workload: the order lines d (d->product set) and the split table
 * s (its entries of d's lines), reported as `workload`: salesplan's statements, then the
 * peers asked for (DuckDB and pandas, SQLite) on the same lines, each table compared with
 * salesplan's. */
static void split_run(split_env *e, const data *d, const split_data *s, const char *workload,
                      bool duckdb_pandas, bool sqlite)
{
    size_t n = d->n;
    double t0 = bench_now_ms();
    spi_split_table *table;
    if (spi_split_table_new(&table, e->ctx, s->id, s->payee, s->share, s->n, reps) != SP_OK)
        bench_die("splits: %s", sp_ctx_errmsg(e->ctx));
    double load = e->load_ms + (bench_now_ms() - t0);
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = (void *)d;
    src.scan = host_scan;

    ctx_engine ce;
    memset(&ce, 0, sizeof ce);
    ce.ctx = e->ctx;
    ce.in.plan = &e->plan;
    ce.in.fiscal_year = 2026;
    ce.in.period = SPI_CPERIOD_QUARTER;
    ce.in.index = 0;
    ce.in.dict = e->dict;
    ce.in.npayees = reps;
    ce.in.payees = e->payees;
    ce.in.splits = table;
    ce.in.src = &src;
    ce.in.want_lines = true;
    bench_stats se = bench_measure_reset(engine, engine_reset, &ce);
    size_t nl = ce.out.nlines;
    int64_t *want = engine_table(&ce.out);
    engine_reset(&ce);
    spi_split_table_free(table);
    size_t tiers[3] = { 0, 0, 0 };
    for (size_t i = 0; i < nl; i++)
        tiers[want[5 * nl + i] < 2 ? want[5 * nl + i] : 2]++;
    char note[160];
    snprintf(note, sizeof note, "%zu lines (%zu split parts), by tier after %zu/%zu/%zu", nl,
             s->n, tiers[0], tiers[1], tiers[2]);
    bench_report(workload, "salesplan", load, se, note);
    line_index x;
    line_index_new(&x, want, nl, n);
    int64_t *got = malloc(LINE_COLS * nl * sizeof *got);
    if (got == NULL)
        bench_die("out of memory");

    if (duckdb_pandas) {
        int32_t pcomp[PRODUCTS];
        for (uint32_t k = 0; k < PRODUCTS; k++)
            pcomp[k] = k < PRODUCTS / 2 ? 0 : 1;
        bench_dir dir;
        bench_dir_new(&dir);
        bench_dir_write(&dir, "id", d->id, sizeof *d->id, n);
        bench_dir_write(&dir, "rep", d->rep, sizeof *d->rep, n);
        bench_dir_write(&dir, "day", d->day, sizeof *d->day, n);
        bench_dir_write(&dir, "product", d->product, sizeof *d->product, n);
        bench_dir_write(&dir, "amount", d->amount, sizeof *d->amount, n);
        bench_dir_write(&dir, "s_id", s->id, sizeof *s->id, s->n);
        bench_dir_write(&dir, "s_entry", s->entry, sizeof *s->entry, s->n);
        bench_dir_write(&dir, "s_payee", s->payee, sizeof *s->payee, s->n);
        bench_dir_write(&dir, "s_pct", s->pct, sizeof *s->pct, s->n);
        bench_dir_write(&dir, "p_product", e->pix, sizeof *e->pix, PRODUCTS);
        bench_dir_write(&dir, "p_comp", pcomp, sizeof *pcomp, PRODUCTS);
        bench_peer_result res[1];
        bench_peer("duckdb", "commission_split", &dir, NULL, res, 1);
        split_peer_check(&dir, res, 1, "commission_split", workload, "duckdb", want, &x, got);
        bench_peer("python", "commission_split_pandas.py", &dir, NULL, res, 1);
        split_peer_check(&dir, res, 1, "commission_split", workload, "pandas", want, &x, got);
        bench_dir_free(&dir);
    }

#ifdef HAVE_SQLITE
    if (sqlite) {
        sqlite3 *db;
        if (sqlite3_open(":memory:", &db) != SQLITE_OK)
            bench_die("sqlite: cannot open a database in memory");
        ctx_sqlite_split cs = { db, got, nl };
        double sload = sqlite_split_load(db, d, s, e->pix);
        bench_stats sq = bench_measure(run_sqlite_split, &cs);
        table_same("sqlite", want, &x, got);
        bench_report(workload, "sqlite", sload, sq,
                     "same lines; primary keys lines(id), splits(id, entry)");
        sqlite3_close(db);
    }
#else
    if (sqlite)
        bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif
    free(want);
    line_index_free(&x);
    free(got);
}

/* commission.lines_split: the order lines d with a product each and a split table;
 * statements with every line on the engine's side, the same per-line table on the
 * peers'. SQLite on the first SQLITE_SPLIT_LINES lines (commission.lines_split.1m) when
 * there are more. */
static void split_workload(const data *dp)
{
    data d = *dp;
    size_t n = d.n;
    uint32_t *product = malloc(n * sizeof *product);
    if (product == NULL)
        bench_die("out of memory");
    split_data s;
    split_generate(&d, product, &s);

    /* Loading: the dictionary of the payees and the products and the plan (and, per
     * size, the split table). */
    split_env e;
    if (sp_ctx_new(&e.ctx, NULL) != SP_OK)
        bench_die("context");
    double t0 = bench_now_ms();
    if (sp_dict_new(&e.dict, e.ctx) != SP_OK)
        bench_die("dict");
    e.payees = malloc(reps * sizeof *e.payees);
    if (e.payees == NULL)
        bench_die("out of memory");
    char id[16];
    for (uint32_t p = 0; p < reps; p++) {
        int len = snprintf(id, sizeof id, "r%u", p);
        if (sp_dict_add(e.dict, id, (size_t)len, &e.payees[p]) != SP_OK)
            bench_die("dict add");
    }
    for (uint32_t k = 0; k < PRODUCTS; k++) {
        int len = snprintf(id, sizeof id, "P%u", k);
        if (sp_dict_add(e.dict, id, (size_t)len, &e.pix[k]) != SP_OK)
            bench_die("dict add");
    }
    if (spi_cplan_read(e.ctx, split_plan_json, strlen(split_plan_json), &e.plan) != SP_OK)
        bench_die("plan: %s", sp_ctx_errmsg(e.ctx));
    e.load_ms = bench_now_ms() - t0;
    /* The host's product column holds dictionary indices, as its rep column does. */
    for (size_t i = 0; i < n; i++)
        product[i] = e.pix[product[i]];
    d.product = product;

    split_run(&e, &d, &s, "commission.lines_split", true, n <= SQLITE_SPLIT_LINES);
    if (n > SQLITE_SPLIT_LINES) {
        /* The first lines and their splits (the entries are in fact id order). */
        data d1 = d;
        d1.n = SQLITE_SPLIT_LINES;
        split_data s1 = s;
        while (s1.n > 0 && s1.id[s1.n - 1] > d1.id[d1.n - 1])
            s1.n--;
        split_run(&e, &d1, &s1, "commission.lines_split.1m", false, true);
    }

    spi_cplan_free(e.ctx, &e.plan);
    sp_dict_free(e.dict);
    sp_ctx_free(e.ctx);
    free(e.payees);
    free(product);
    split_free(&s);
}

/* ---- the ledger ---- */

typedef struct ctx_ledger {
    sp_ctx *ctx;
    char path[160];
    sp_storage *st;
    spi_cledger_run run;
    const spi_cline *lines;
    size_t nlines;
} ctx_ledger;

/* A new, empty file store (untimed). */
static void ledger_reset(void *arg)
{
    ctx_ledger *c = arg;
    sp_storage_free(c->st);
    c->st = NULL;
    unlink(c->path);
    if (sp_storage_file_new(&c->st, c->ctx, c->path, NULL) != SP_OK)
        bench_die("file store: %s", sp_ctx_errmsg(c->ctx));
}

static void ledger_post(void *arg)
{
    ctx_ledger *c = arg;
    spi_cledger_posted out;
    if (spi_cledger_post(c->ctx, c->st, &c->run, NULL, &out) != SP_OK)
        bench_die("post: %s", sp_ctx_errmsg(c->ctx));
    if (out.nlines != c->nlines)
        bench_die("post: %zu lines written of %zu", out.nlines, c->nlines);
}

static void ledger_statement(void *arg)
{
    ctx_ledger *c = arg;
    spi_cledger_statement s;
    if (spi_cledger_statement_load(c->ctx, c->st, c->run.plan, &c->run.period,
                                   c->run.payees[reps / 2], &s) != SP_OK)
        bench_die("statement: %s", sp_ctx_errmsg(c->ctx));
    const spi_cstatement *want = &c->run.run->statements[reps / 2];
    if (s.nparts != 1 || s.parts[0].nlines != want->nlines || s.total != want->total ||
        memcmp(s.parts[0].lines, c->lines + want->first, want->nlines * sizeof(spi_cline)))
        bench_die("statement: not the payee's lines");
    spi_cledger_statement_free(c->ctx, &s);
}

/* The closed quarter's truth changed: every 100th line earns one cent more. */
typedef struct ctx_correct {
    ctx_ledger *c;
    spi_cledger_run truth;
    spi_crun run;
} ctx_correct;

/* A new store holding the quarter posted and closed (untimed). */
static void correct_reset(void *arg)
{
    ctx_correct *k = arg;
    ledger_reset(k->c);
    ledger_post(k->c);
    if (spi_cledger_close(k->c->ctx, k->c->st, k->c->run.plan, &k->c->run.period) != SP_OK)
        bench_die("close: %s", sp_ctx_errmsg(k->c->ctx));
}

static void correct(void *arg)
{
    ctx_correct *k = arg;
    const spi_cledger_period q2 = { 2026, SPI_CPERIOD_QUARTER, 1 };
    spi_cledger_posted out;
    if (spi_cledger_post(k->c->ctx, k->c->st, &k->truth, &q2, &out) != SP_OK)
        bench_die("corrections: %s", sp_ctx_errmsg(k->c->ctx));
    if (out.nlines != (k->c->nlines + 99) / 100 || out.total != (int64_t)out.nlines)
        bench_die("corrections: %zu lines of total %lld", out.nlines, (long long)out.total);
}

/* The floor: the lines' bytes to a new file, then fsync. */
static void ledger_bare(void *arg)
{
    ctx_ledger *c = arg;
    char path[176];
    snprintf(path, sizeof path, "%s.raw", c->path);
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(c->lines, sizeof *c->lines, c->nlines, f) != c->nlines ||
        fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)
        bench_die("bare: cannot write %s", path);
    unlink(path);
}

static void ledger_bench(sp_ctx *ctx, const sp_dict *dict, const spi_cplan *plan,
                         const spi_crun *run)
{
    const char **ids = malloc(reps * sizeof *ids);
    if (ids == NULL)
        bench_die("out of memory");
    for (uint32_t p = 0; p < reps; p++) {
        size_t len;
        if (sp_dict_id(dict, p, &ids[p], &len) != SP_OK)
            bench_die("dict id");
    }
    static const char *const comps[] = { "amount" };
    bench_dir dir;
    bench_dir_new(&dir);
    ctx_ledger c;
    memset(&c, 0, sizeof c);
    c.ctx = ctx;
    snprintf(c.path, sizeof c.path, "%s/ledger.store", dir.path);
    bench_dir_note(&dir, "ledger.store");
    spi_cledger_run r = { run, plan->plan, plan->from, 1, ids, comps,
                          { 2026, SPI_CPERIOD_QUARTER, 0 }, plan->currency, plan->rounding_mode,
                          plan->policy };
    c.run = r;
    c.lines = run->lines;
    c.nlines = run->nlines;
    bench_stats sp = bench_measure_reset(ledger_post, ledger_reset, &c);
    struct stat fst;
    if (stat(c.path, &fst) != 0)
        bench_die("no file store at %s", c.path);
    bench_stats sb = bench_measure(ledger_bare, &c);
    char note[160];
    snprintf(note, sizeof note, "%u statements, %zu lines, %.0f MB in the store; %.2fx the raw "
                                "lines written and fsynced",
             reps, run->nlines, (double)fst.st_size / 1e6, sp.med / sb.med);
    bench_report("commission.post", "salesplan", -1, sp, note);
    snprintf(note, sizeof note, "%zu lines of %zu bytes to a new file, fsync", run->nlines,
             sizeof(spi_cline));
    bench_report("commission.post", "bare", -1, sb, note);
    bench_stats ss = bench_measure(ledger_statement, &c);
    snprintf(note, sizeof note, "%zu lines of one payee", run->statements[reps / 2].nlines);
    bench_report("commission.statement", "salesplan", -1, ss, note);

    /* Corrections: the truth of the closed quarter against what it holds, line by line. */
    ctx_correct k;
    memset(&k, 0, sizeof k);
    k.c = &c;
    k.run = *run;
    k.run.lines = malloc(run->nlines * sizeof *k.run.lines);
    k.run.totals = malloc(reps * sizeof *k.run.totals);
    k.run.statements = malloc(reps * sizeof *k.run.statements);
    if (k.run.lines == NULL || k.run.totals == NULL || k.run.statements == NULL)
        bench_die("out of memory");
    memcpy(k.run.lines, run->lines, run->nlines * sizeof *k.run.lines);
    memcpy(k.run.totals, run->totals, reps * sizeof *k.run.totals);
    memcpy(k.run.statements, run->statements, reps * sizeof *k.run.statements);
    for (uint32_t p = 0; p < reps; p++) {
        spi_cstatement *st = &k.run.statements[p];
        for (size_t i = st->first; i < st->first + st->nlines; i++)
            if (i % 100 == 0) {
                k.run.lines[i].earned++;
                k.run.lines[i].own++;
                k.run.totals[p]++;
                st->total++;
            }
    }
    k.truth = r;
    k.truth.run = &k.run;
    bench_stats sc = bench_measure_reset(correct, correct_reset, &k);
    snprintf(note, sizeof note, "a closed quarter of %zu lines against its truth (1%% of the "
                                "lines changed), the delta lines posted",
             run->nlines);
    bench_report("commission.correct", "salesplan", -1, sc, note);
    free(k.run.lines);
    free(k.run.totals);
    free(k.run.statements);
    sp_storage_free(c.st);
    bench_dir_free(&dir);
    free(ids);
}

/* The totals and lines rows (commission.totals, commission.lines) on the order lines d. */
/* The mode "ledger": the statements with every line computed once, then the ledger only. */
static bool ledger_only;

static void totals_workloads(const data *dp)
{
    data d = *dp;
    size_t n = d.n;
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        bench_die("context");
    double t0 = bench_now_ms();
    sp_dict *dict;
    if (sp_dict_new(&dict, ctx) != SP_OK)
        bench_die("dict");
    uint32_t *payees = malloc(reps * sizeof *payees);
    for (uint32_t p = 0; p < reps; p++) {
        char id[16];
        int len = snprintf(id, sizeof id, "r%u", p);
        if (sp_dict_add(dict, id, (size_t)len, &payees[p]) != SP_OK)
            bench_die("dict add");
    }
    static const char plan_json[] =
        "{\"plan\": \"B\", \"effective\": {\"from\": \"2026-01-01\"}, \"currency\": \"USD\", "
        "\"components\": [{\"id\": \"amount\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"quarter\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": ["
        "{\"rate\": \"3%\"}, {\"from\": 5000, \"rate\": \"5%\"}, {\"from\": 10000, "
        "\"rate\": \"8%\"}]}}]}";
    spi_cplan plan;
    if (spi_cplan_read(ctx, plan_json, strlen(plan_json), &plan) != SP_OK)
        bench_die("plan: %s", sp_ctx_errmsg(ctx));
    double load = bench_now_ms() - t0;
    sp_fact_source src = SP_FACT_SOURCE_INIT;
    src.user = &d;
    src.scan = host_scan;

    ctx_bare cb = { &d, calloc(reps, sizeof(int64_t)), calloc(reps, sizeof(int64_t)) };
    int64_t *want = malloc(reps * sizeof *want), *got = malloc(reps * sizeof *got);
    if (cb.sums == NULL || cb.totals == NULL || want == NULL || got == NULL)
        bench_die("out of memory");

    ctx_engine ce;
    memset(&ce, 0, sizeof ce);
    ce.ctx = ctx;
    ce.in.plan = &plan;
    ce.in.fiscal_year = 2026;
    ce.in.period = SPI_CPERIOD_QUARTER;
    ce.in.index = 0;
    ce.in.dict = dict;
    ce.in.npayees = reps;
    ce.in.payees = payees;
    ce.in.src = &src;
    if (ledger_only) {
        ce.in.want_lines = true;
        engine(&ce);
        ledger_bench(ctx, dict, &plan, &ce.out);
        engine_reset(&ce);
        goto done;
    }
    bench_stats st = bench_measure_reset(engine, engine_reset, &ce);
    if (!ce.out.report.totals_path)
        bench_die("the totals path was not taken");
    memcpy(want, ce.out.totals, reps * sizeof *want);
    engine_reset(&ce);

    bench_stats sb = bench_measure(bare, &cb);
    bench_same("commission.totals", "bare", want, cb.totals, reps);
    char note[128];
    snprintf(note, sizeof note, "totals path, %.2fx bare", st.med / sb.med);
    bench_report("commission.totals", "salesplan", load, st, note);
    snprintf(note, sizeof note, "%zu lines, %u reps, sum by rep + 3 tiers", n, reps);
    bench_report("commission.totals", "bare", -1, sb, note);

    ce.in.want_lines = true;
    bench_stats sl = bench_measure_reset(engine, engine_reset, &ce);
    bench_same("commission.lines", "salesplan", want, ce.out.totals, reps);
    snprintf(note, sizeof note, "%zu lines of %zu bytes, %.2fx bare", ce.out.nlines,
             sizeof(spi_cline), sl.med / sb.med);
    bench_report("commission.lines", "salesplan", load, sl, note);
    ledger_bench(ctx, dict, &plan, &ce.out);
    engine_reset(&ce);

    /* ---- the peers: DuckDB and pandas read the same columns from files ---- */
    bench_dir dir;
    bench_dir_new(&dir);
    bench_dir_write(&dir, "rep", d.rep, sizeof *d.rep, n);
    bench_dir_write(&dir, "amount", d.amount, sizeof *d.amount, n);
    char args[32];
    snprintf(args, sizeof args, "%u", reps);
    bench_peer_result res[1];
    bench_peer("duckdb", "commission", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "commission", "commission.totals", "duckdb", want, got, reps);
    bench_peer("python", "commission_pandas.py", &dir, args, res, 1);
    bench_peer_check(&dir, res, 1, "commission", "commission.totals", "pandas", want, got, reps);
    bench_dir_free(&dir);

#ifdef HAVE_SQLITE
    sqlite3 *db;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        bench_die("sqlite: cannot open a database in memory");
    ctx_sqlite cs = { db, got };
    double sload = sqlite_load(db, &d);
    bench_stats sq = bench_measure(run_sqlite, &cs);
    bench_same("commission.totals", "sqlite", want, got, reps);
    bench_report("commission.totals", "sqlite", sload, sq,
                 "same result; covering index (rep, amount)");
    sqlite3_close(db);
#else
    bench_die("built without SQLite: install libsqlite3-dev and reconfigure the build");
#endif

done:
    spi_cplan_free(ctx, &plan);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
    free(payees);
    free(cb.sums);
    free(cb.totals);
    free(want);
    free(got);
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? (size_t)strtoull(argv[1], NULL, 10) : 10000000u;
    const char *only = argc > 2 ? argv[2] : "all";
    ledger_only = strcmp(only, "ledger") == 0;
    bool totals = strcmp(only, "all") == 0 || strcmp(only, "totals") == 0 || ledger_only;
    bool split = strcmp(only, "all") == 0 || strcmp(only, "split") == 0;
    if (argc > 3)
        reps = (uint32_t)strtoul(argv[3], NULL, 10);
    if (n == 0 || n > (size_t)1 << 32 || (!totals && !split) || reps < 2 || reps > 1000000)
        bench_die("usage: bench_commission [order lines, 1 to 2^32 (10M)] [all|totals|split|"
                  "ledger (all)] [reps, 2 to 1M (10k)]");
    data d = { n, malloc(n * sizeof(uint64_t)), malloc(n * sizeof(uint32_t)),
               malloc(n * sizeof(int32_t)), malloc(n * sizeof(int64_t)), NULL };
    if (d.id == NULL || d.rep == NULL || d.day == NULL || d.amount == NULL)
        bench_die("out of memory");
    uint64_t seed = 42;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = bench_splitmix(&seed);
        d.id[i] = i + 1;
        d.rep[i] = (uint32_t)(r % reps);
        d.day[i] = Q1_2026 + (int32_t)((r >> 20) % DAYS);
        d.amount[i] = (int64_t)((r >> 32) % 200000u); /* 0 .. 1,999.99 */
    }
    printf("%zu order lines, %u reps, one quarter; warm, then min/median/max of %d runs (ms)\n\n",
           n, reps, BENCH_RUNS);
    if (totals)
        totals_workloads(&d);
    if (split)
        split_workload(&d);
    free(d.id);
    free(d.rep);
    free(d.day);
    free(d.amount);
    return 0;
}
