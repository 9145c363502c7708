/*
 * The generated company of the decomposition benchmarks (never tests): 1 company, 30
 * regions, 3000 grids and the rest reps as leaves, each grid with as many reps as the
 * others (±1). Ids are zero-padded so that their byte order is the order they were
 * generated in: the alternatives break ties by that number, salesplan by the id bytes (its
 * canonical sibling order), which is the same. salesplan gets the nodes shuffled.
 */
#ifndef SP_BENCH_COMPANY_H
#define SP_BENCH_COMPANY_H

#include <string.h>

#include "bench.h"

#ifdef HAVE_SQLITE
#include "bench_sql.h"
#endif

#define COMPANY_REGIONS 30
#define COMPANY_GRIDS 3000
#define COMPANY_ID_LEN 24
/* The first grid and the first leaf in generation order. */
#define COMPANY_FIRST_GRID (1 + COMPANY_REGIONS)
#define COMPANY_FIRST_LEAF (COMPANY_FIRST_GRID + COMPANY_GRIDS)

/* The company in generation order. */
typedef struct company {
    size_t n;
    char *ids;       /* n x COMPANY_ID_LEN, NUL-terminated */
    int64_t *parent; /* -1 for the root */
    int64_t *level;
    int64_t *weight; /* a driver, 1 .. 1,000,000 */
} company;

static inline void company_generate(company *c, size_t n)
{
    c->n = n;
    c->ids = malloc(n * COMPANY_ID_LEN);
    c->parent = malloc(n * sizeof *c->parent);
    c->level = malloc(n * sizeof *c->level);
    c->weight = malloc(n * sizeof *c->weight);
    uint64_t seed = 7;
    for (size_t i = 0; i < n; i++) {
        char *id = c->ids + i * COMPANY_ID_LEN;
        if (i == 0) {
            snprintf(id, COMPANY_ID_LEN, "C");
            c->parent[i] = -1;
            c->level[i] = 0;
        } else if (i < COMPANY_FIRST_GRID) {
            snprintf(id, COMPANY_ID_LEN, "R%02zu", i);
            c->parent[i] = 0;
            c->level[i] = 1;
        } else if (i < COMPANY_FIRST_LEAF) {
            snprintf(id, COMPANY_ID_LEN, "G%04zu", i - COMPANY_FIRST_GRID);
            c->parent[i] =
                (int64_t)(1 + (i - COMPANY_FIRST_GRID) / (COMPANY_GRIDS / COMPANY_REGIONS));
            c->level[i] = 2;
        } else {
            snprintf(id, COMPANY_ID_LEN, "L%07zu", i - COMPANY_FIRST_LEAF);
            c->parent[i] = (int64_t)(COMPANY_FIRST_GRID + (i - COMPANY_FIRST_LEAF) % COMPANY_GRIDS);
            c->level[i] = 3;
        }
        c->weight[i] = (int64_t)(bench_splitmix(&seed) % 1000000) + 1;
    }
}

static inline void company_free(company *c)
{
    free(c->ids);
    free(c->parent);
    free(c->level);
    free(c->weight);
}

/*
 * The order salesplan gets the nodes in: perm[k] is the generated node added k-th (so node
 * index k of the hierarchy is generated node perm[k]); ids[k] and parents[k] (NULL for the
 * root) are its id and its parent's, pointing into c.
 */
static inline size_t *company_shuffle(const company *c, const char **ids, const char **parents)
{
    size_t *perm = malloc(c->n * sizeof *perm);
    uint64_t seed = 99;
    for (size_t i = 0; i < c->n; i++)
        perm[i] = i;
    for (size_t i = c->n; i-- > 1;) {
        size_t j = (size_t)(bench_splitmix(&seed) % (i + 1));
        size_t tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    for (size_t k = 0; k < c->n; k++) {
        size_t i = perm[k];
        ids[k] = c->ids + i * COMPANY_ID_LEN;
        parents[k] = c->parent[i] < 0 ? NULL : c->ids + (size_t)c->parent[i] * COMPANY_ID_LEN;
    }
    return perm;
}

/* ---- the bare loops: the same arithmetic as the peers, in plain C, no library ---- */

/* Children of every node in generation order (the lower id first), as a host would index
 * them: kids[first[p] .. first[p + 1]) are p's. Counting, no sort. */
typedef struct bare_tree {
    uint32_t *first, *kids;
} bare_tree;

static inline void bare_tree_build(bare_tree *t, const company *c)
{
    t->first = calloc(c->n + 2, sizeof *t->first);
    t->kids = malloc(c->n * sizeof *t->kids);
    for (size_t i = 0; i < c->n; i++)
        if (c->parent[i] >= 0)
            t->first[c->parent[i] + 2]++;
    for (size_t p = 2; p < c->n + 2; p++)
        t->first[p] += t->first[p - 1];
    /* first[p + 1] is p's cursor while filling; afterwards first[p] is p's start. */
    for (size_t i = 0; i < c->n; i++)
        if (c->parent[i] >= 0)
            t->kids[t->first[c->parent[i] + 1]++] = (uint32_t)i;
}

static inline void bare_tree_free(bare_tree *t)
{
    free(t->first);
    free(t->kids);
}

typedef struct bare_rem {
    int64_t rem;
    uint32_t id;
} bare_rem;

/* The larger remainder first, the lower id among equals. */
static inline bool bare_rem_before(bare_rem a, bare_rem b)
{
    return a.rem > b.rem || (a.rem == b.rem && a.id < b.id);
}

/* One unit more for the `left` (< m) largest remainders of r[0..m): a quickselect puts
 * them first (in no particular order), as a careful hand-written loop would; no sort.
 * Entries are distinct (ids are), so a two-way partition always makes progress. */
static inline void bare_give_left(bare_rem *r, size_t m, int64_t left, int64_t *target)
{
    if (left <= 0)
        return;
    size_t k = (size_t)left, lo = 0, hi = m; /* r[0..lo) are in, r[hi..m) are out */
    while (hi - lo > 1) {
        size_t a = lo, b = lo + (hi - lo) / 2, c = hi - 1, pi; /* the median of three */
        if (bare_rem_before(r[a], r[b]))
            pi = bare_rem_before(r[b], r[c]) ? b : bare_rem_before(r[a], r[c]) ? c : a;
        else
            pi = bare_rem_before(r[a], r[c]) ? a : bare_rem_before(r[b], r[c]) ? c : b;
        bare_rem t = r[pi], pivot = t;
        r[pi] = r[hi - 1];
        r[hi - 1] = t;
        size_t at = lo;
        for (size_t i = lo; i < hi - 1; i++)
            if (bare_rem_before(r[i], pivot)) {
                t = r[i];
                r[i] = r[at];
                r[at++] = t;
            }
        r[hi - 1] = r[at];
        r[at] = pivot;
        if (at == k || at + 1 == k)
            break;
        if (at + 1 < k)
            lo = at + 1;
        else
            hi = at;
    }
    for (size_t j = 0; j < k; j++)
        target[r[j].id]++;
}

/* Split each target[p] of the nodes at `level` - 1 over its children by w: floors, then
 * the largest remainders (the lower id among equals). `scratch` holds n entries. */
static inline void bare_split_level(const company *c, const bare_tree *t, int64_t level,
                                    const int64_t *w, int64_t *target, bare_rem *scratch)
{
    for (size_t p = 0; p < c->n; p++) {
        if (c->level[p] != level - 1 || t->first[p] == t->first[p + 1])
            continue;
        const uint32_t *k = t->kids + t->first[p];
        size_t m = t->first[p + 1] - t->first[p];
        int64_t ws = 0, pt = target[p], left = pt;
        for (size_t j = 0; j < m; j++)
            ws += w[k[j]];
        for (size_t j = 0; j < m; j++) {
            int64_t prod = w[k[j]] * pt;
            target[k[j]] = prod / ws;
            left -= prod / ws;
            scratch[j].rem = prod % ws;
            scratch[j].id = k[j];
        }
        bare_give_left(scratch, m, left, target);
    }
}

#ifdef HAVE_SQLITE
/*
 * Tables node(id INTEGER PRIMARY KEY, parent, level, w, <extra columns>) holding the
 * company with `w` as the weight (the generated one when w is NULL) and nextra more
 * integer columns, indexed by (level, parent); and an empty target(id, t).
 */
static inline void company_sql_load(sqlite3 *db, const company *c, const int64_t *w,
                                    size_t nextra, const char *const *names,
                                    const int64_t *const *extra)
{
    char sql[512] = "CREATE TABLE node(id INTEGER PRIMARY KEY, parent INTEGER, level INTEGER, "
                    "w INTEGER NOT NULL";
    char ins[256] = "INSERT INTO node VALUES(?, ?, ?, ?";
    for (size_t k = 0; k < nextra; k++) {
        snprintf(sql + strlen(sql), sizeof sql - strlen(sql), ", %s INTEGER", names[k]);
        snprintf(ins + strlen(ins), sizeof ins - strlen(ins), ", ?");
    }
    snprintf(sql + strlen(sql), sizeof sql - strlen(sql),
             "); CREATE TABLE target(id INTEGER PRIMARY KEY, t INTEGER NOT NULL); BEGIN");
    snprintf(ins + strlen(ins), sizeof ins - strlen(ins), ")");
    bench_sql_exec(db, sql);
    sqlite3_stmt *st = bench_sql_prepare(db, ins);
    for (size_t i = 0; i < c->n; i++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)i);
        if (c->parent[i] < 0)
            sqlite3_bind_null(st, 2);
        else
            sqlite3_bind_int64(st, 2, c->parent[i]);
        sqlite3_bind_int64(st, 3, c->level[i]);
        sqlite3_bind_int64(st, 4, w != NULL ? w[i] : c->weight[i]);
        for (size_t k = 0; k < nextra; k++)
            sqlite3_bind_int64(st, (int)(5 + k), extra[k][i]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    bench_sql_exec(db, "COMMIT; CREATE INDEX node_level ON node(level, parent)");
}
#endif

#endif
