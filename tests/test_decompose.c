/* Decomposition: worked examples of every method, bad input, properties, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"
#include "target_fixtures.h"

__extension__ typedef __int128 i128;

#define NOMAX INT64_MAX

/* A per-node column given as id = value pairs; ids not named get `rest`. */
typedef struct kv {
    const char *id;
    int64_t v;
} kv;

static void column(const sp_hierarchy *h, int64_t *out, int64_t rest, const kv *pairs, size_t n)
{
    for (uint32_t i = 0; i < sp_hierarchy_count(h); i++)
        out[i] = rest;
    for (size_t i = 0; i < n; i++)
        out[fx_node(h, pairs[i].id)] = pairs[i].v;
}

#define COLUMN(h, out, rest, ...)                                                                  \
    column(h, out, rest, (const kv[]){ __VA_ARGS__ }, sizeof((const kv[]){ __VA_ARGS__ }) / sizeof(kv))

static uint32_t add_driver(sp_decomp *d, const char *name, const int64_t *v, const uint8_t *valid,
                           size_t n)
{
    uint32_t col = 99;
    assert_int_equal(sp_decomp_add_driver(d, name, v, valid, n, &col), SP_OK);
    return col;
}

static void expect_target(const sp_hierarchy *h, const int64_t *t, const char *id, int64_t want)
{
    if (t[fx_node(h, id)] != want)
        fail_msg("target of %s: %lld, expected %lld", id, (long long)t[fx_node(h, id)],
                 (long long)want);
}

/*
 *  Co
 *    North: N1 (a b c), N2 (d)
 *    South: S1 (e f), S2 (g h)
 */
static const spec org[] = {
    { "h", "S2" },     { "Co", NULL },    { "South", "Co" }, { "North", "Co" }, { "N2", "North" },
    { "N1", "North" }, { "S1", "South" }, { "S2", "South" }, { "c", "N1" },     { "b", "N1" },
    { "a", "N1" },     { "d", "N2" },     { "e", "S1" },     { "f", "S1" },     { "g", "S2" },
};
#define ORG_N (sizeof org / sizeof org[0])

static void test_every_method(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build_valid(ctx, org, ORG_N);
    sp_decomp *d = NULL;
    assert_int_equal(sp_decomp_new(&d, h), SP_OK);
    int64_t potential[ORG_N], headcount[ORG_N], prior[ORG_N];
    COLUMN(h, potential, 0, { "North", 300 }, { "South", 100 }, { "N1", 200 }, { "N2", 100 },
           { "S1", 50 }, { "S2", 50 });
    COLUMN(h, headcount, 0, { "N1", 1 }, { "N2", 3 }, { "S1", 2 }, { "S2", 2 });
    COLUMN(h, prior, 0, { "e", 30 }, { "f", 10 }, { "g", 100 }, { "h", 20 });
    uint32_t c_pot = add_driver(d, "potential", potential, NULL, ORG_N);
    uint32_t c_hc = add_driver(d, "headcount", headcount, NULL, ORG_N);
    uint32_t c_prior = add_driver(d, "prior", prior, NULL, ORG_N);
    assert_int_equal(c_pot, 0);
    assert_int_equal(c_prior, 2);
    uint32_t found = 9;
    assert_int_equal(sp_decomp_find_driver(d, "headcount", &found), SP_OK);
    assert_int_equal(found, c_hc);
    spt_expect_error(ctx, sp_decomp_find_driver(d, "nope", &found), SP_ENOTFOUND,
                     "decompose: no driver is named \"nope\"");
    spt_expect_error(ctx, sp_decomp_find_driver(d, NULL, &found), SP_EINVAL,
                     "decompose: name is NULL");

    /* Regions by potential: 1000 x 300/400 = 750, 250. */
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = c_pot;
    assert_int_equal(sp_decomp_set_level_rule(d, 1, &r), SP_OK);
    /* Grids by half potential, half headcount:
     *   North: N1 = 0.5 x 200/300 + 0.5 x 1/4 = 11/24, N2 = 13/24 of 750 = 343.75, 406.25
     *          -> floors 343, 406 and the unit to the larger remainder: 344, 406;
     *   South: S1 = S2 = 0.5 x 1/2 + 0.5 x 1/2 -> 125, 125. */
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_BLEND;
    r.blend_drivers = (const uint32_t[]){ c_pot, c_hc };
    r.blend_weights = (const sp_dec[]){ 500000000, 500000000 };
    r.blend_count = 2;
    assert_int_equal(sp_decomp_set_level_rule(d, 2, &r), SP_OK);
    /* Reps evenly by default: N1 344 / 3 -> 115, 115, 114 (a, b first); N2 -> d 406. */
    /* S1 by prior 30:10 of 125 -> 93.75, 31.25 -> 94, 31. */
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = c_prior;
    assert_int_equal(sp_decomp_set_node_rule(d, fx_node(h, "S1"), &r), SP_OK);
    /* S2 by growth over prior (100, 20), cap 10 %: 125 / 120 = +4.17 %, under the cap:
     * 104.17, 20.83 -> 104, 21; growth 4 % and 5 %, common growth 125/120 - 1 =
     * 0.041666666.. -> 0.041666667. */
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_GROWTH;
    r.driver = c_prior;
    r.growth_cap = 100000000;
    assert_int_equal(sp_decomp_set_node_rule(d, fx_node(h, "S2"), &r), SP_OK);

    int64_t t[ORG_N];
    uint32_t flags[ORG_N];
    sp_dec growth[ORG_N], common[ORG_N];
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, t, flags, growth, common };
    if (sp_decomp_run(d, 1000, &out) != SP_OK)
        fail_msg("run: %s", sp_ctx_errmsg(ctx));
    expect_target(h, t, "Co", 1000);
    expect_target(h, t, "North", 750);
    expect_target(h, t, "South", 250);
    expect_target(h, t, "N1", 344);
    expect_target(h, t, "N2", 406);
    expect_target(h, t, "S1", 125);
    expect_target(h, t, "S2", 125);
    expect_target(h, t, "a", 115);
    expect_target(h, t, "b", 115);
    expect_target(h, t, "c", 114);
    expect_target(h, t, "d", 406);
    expect_target(h, t, "e", 94);
    expect_target(h, t, "f", 31);
    expect_target(h, t, "g", 104);
    expect_target(h, t, "h", 21);
    assert_int_equal(flags[fx_node(h, "g")], SP_DECOMP_F_GROWTH);
    assert_int_equal(growth[fx_node(h, "g")], 40000000);
    assert_int_equal(growth[fx_node(h, "h")], 50000000);
    assert_int_equal(flags[fx_node(h, "S2")], SP_DECOMP_F_COMMON_GROWTH);
    assert_int_equal(common[fx_node(h, "S2")], 41666667);
    assert_int_equal(flags[fx_node(h, "a")], 0);
    assert_int_equal(flags[fx_node(h, "Co")], 0);

    /* Clearing S2's rule: it falls back to the level's (even): 62.5 -> 63, 62. */
    assert_int_equal(sp_decomp_set_node_rule(d, fx_node(h, "S2"), NULL), SP_OK);
    sp_decomp_output only_targets = { SP_DECOMP_OUTPUT_VERSION, t, NULL, NULL, NULL };
    assert_int_equal(sp_decomp_run(d, 1000, &only_targets), SP_OK);
    expect_target(h, t, "g", 63);
    expect_target(h, t, "h", 62);
    /* Clearing the level-2 rule: grids evenly: North 750 -> 375 each. */
    assert_int_equal(sp_decomp_set_level_rule(d, 2, NULL), SP_OK);
    assert_int_equal(sp_decomp_run(d, 1000, &only_targets), SP_OK);
    expect_target(h, t, "N1", 375);
    sp_decomp_free(d);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* One parent, children A, B, C (and D): the common shape of the examples below. */
static const spec flat[] = { { "P", NULL }, { "A", "P" }, { "B", "P" }, { "C", "P" }, { "D", "P" } };

typedef struct flat_run {
    sp_ctx *ctx;
    sp_hierarchy *h;
    sp_decomp *d;
    int64_t t[5];
    uint32_t f[5];
    sp_dec g[5], common[5];
} flat_run;

static void flat_new(flat_run *fr, size_t n)
{
    memset(fr, 0, sizeof *fr);
    fr->ctx = spt_new_ctx();
    fr->h = fx_build_valid(fr->ctx, flat, n);
    assert_int_equal(sp_decomp_new(&fr->d, fr->h), SP_OK);
}

static int flat_go(flat_run *fr, int64_t total)
{
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, fr->t, fr->f, fr->g, fr->common };
    return sp_decomp_run(fr->d, total, &out);
}

static void flat_free(flat_run *fr)
{
    sp_decomp_free(fr->d);
    sp_hierarchy_free(fr->h);
    sp_ctx_free(fr->ctx);
}

/* Index of child A..D is 1..4 (P is 0): nodes were added in that order. */
enum { P = 0, A = 1, B = 2, C = 3, D = 4 };

static void set_growth_rule(flat_run *fr, uint32_t baseline, sp_dec floor, sp_dec cap)
{
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_GROWTH;
    r.driver = baseline;
    r.growth_floor = floor;
    r.growth_cap = cap;
    assert_int_equal(sp_decomp_set_level_rule(fr->d, 1, &r), SP_OK);
}

static void test_growth_clamped(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 4);
    uint32_t base = add_driver(fr.d, "last year", (const int64_t[]){ 0, 500, 300, 100 }, NULL, 4);
    /* 1000 over baselines 500, 300, 100 (900), every node capped at +20 %, A at +5 %:
     * L = 1000/900 would give A 555.6 > 525, so A sits at its cap 525; 475 are left for B
     * and C: L = 475/400 = 1.1875 (+18.75 %), within their caps (360, 120):
     * B 356.25, C 118.75 -> floors 356, 118, the unit to C (.75) -> 356, 119.
     * Growth: A 525/500 - 1 = 5 %, B 356/300 - 1 = 0.18666.. -> 0.186666667,
     * C 119/100 - 1 = 19 %; common growth of the free nodes B, C: 475/400 - 1 = 18.75 %. */
    set_growth_rule(&fr, base, -50000000, 200000000);
    assert_int_equal(sp_decomp_set_growth_limits(fr.d, A, -50000000, 50000000), SP_OK);
    assert_int_equal(flat_go(&fr, 1000), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 1000, 525, 356, 119 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[A], SP_DECOMP_F_AT_CAP | SP_DECOMP_F_GROWTH);
    assert_int_equal(fr.f[B], SP_DECOMP_F_GROWTH);
    assert_int_equal(fr.f[C], SP_DECOMP_F_GROWTH);
    assert_int_equal(fr.g[A], 50000000);
    assert_int_equal(fr.g[B], 186666667);
    assert_int_equal(fr.g[C], 190000000);
    assert_int_equal(fr.f[P], SP_DECOMP_F_COMMON_GROWTH);
    assert_int_equal(fr.common[P], 187500000);

    /* 700: L = 700/900 (-22 %); A may fall at most 5 % (floor 475), B and C 50 %:
     * A at 475, 225 left for B, C: L = 225/400 (-43.75 %), above their floor of -50 %:
     * 168.75, 56.25 -> 168 + 1 (.75), 56. Common growth 225/400 - 1 = -43.75 %. */
    set_growth_rule(&fr, base, -500000000, 200000000);
    assert_int_equal(sp_decomp_set_growth_limits(fr.d, A, -50000000, SP_DECOMP_NO_CAP), SP_OK);
    assert_int_equal(flat_go(&fr, 700), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 700, 475, 169, 56 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[A], SP_DECOMP_F_AT_FLOOR | SP_DECOMP_F_GROWTH);
    assert_int_equal(fr.common[P], -437500000);
    assert_int_equal(fr.g[A], -50000000);

    /* Every node clamped: 990 = the sum of the caps (550 + 330 + 110) exactly, every
     * node +10 %; the common growth is then that of all of them: 990/900 - 1. */
    set_growth_rule(&fr, base, -50000000, 100000000);
    assert_int_equal(sp_decomp_set_growth_limits(fr.d, A, -50000000, 100000000), SP_OK);
    assert_int_equal(flat_go(&fr, 990), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 990, 550, 330, 110 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[B], SP_DECOMP_F_AT_CAP | SP_DECOMP_F_GROWTH);
    assert_int_equal(fr.common[P], 100000000);

    /* Beyond: no common growth reaches 1000 within the caps. */
    int64_t before[5];
    memcpy(before, fr.t, sizeof before);
    spt_expect_error(fr.ctx, flat_go(&fr, 1000), SP_EINVAL,
                     "decompose: children of \"P\" (target 1000, split by growth over \"last "
                     "year\"): allocate: the maximums of the unlocked parts sum to 990 "
                     "(zero-weight parts count at their minimums), short of the 1000 left after "
                     "locked parts");
    assert_memory_equal(fr.t, before, sizeof before);
    /* Nor below the floors: -5 % everywhere is 475 + 285 + 95 = 855 > 700. */
    set_growth_rule(&fr, base, -50000000, SP_DECOMP_NO_CAP);
    assert_int_equal(sp_decomp_set_growth_limits(fr.d, A, -50000000, SP_DECOMP_NO_CAP), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 700), SP_EINVAL,
                     "decompose: children of \"P\" (target 700, split by growth over \"last "
                     "year\"): allocate: the minimums of the unlocked parts sum to 855, beyond the "
                     "700 left after locked parts");
    flat_free(&fr);
}

static void test_growth_bounds_rounding(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 3);
    uint32_t base = add_driver(fr.d, "ly", (const int64_t[]){ 0, 1, 1001 }, NULL, 3);
    /* Bounds are ceil(b (1 + floor)) and floor(b (1 + cap)): with b = 1, floor +10 % and
     * cap +20 % give 2 and 1: no integer target grows between 10 % and 20 %. */
    set_growth_rule(&fr, base, 100000000, 200000000);
    spt_expect_error(fr.ctx, flat_go(&fr, 1200), SP_EINVAL,
                     "decompose: node \"A\": its lower bound 2 (growth floor) is above its upper "
                     "bound 1 (growth cap)");
    /* b = 1001 at 0 % to +3 %: [1001, 1031]; with unit 100 no multiple fits for B. */
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_GROWTH;
    r.driver = base;
    r.growth_floor = 0;
    r.growth_cap = 30000000;
    r.unit = 100;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(sp_decomp_set_growth_limits(fr.d, A, -SP_DEC_ONE, SP_DECOMP_NO_CAP), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 1200), SP_EINVAL,
                     "decompose: node \"B\": no multiple of unit 100 lies between its lower bound "
                     "1001 (growth floor) and its upper bound 1031 (growth cap)");
    flat_free(&fr);
}

static void test_locks(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 5);
    /* 1000 evenly over four, B held at 400 by agreement: 600 over three -> 200 each. */
    assert_int_equal(sp_decomp_lock(fr.d, B, 400, "agreed with the regional director"), SP_OK);
    assert_int_equal(flat_go(&fr, 1000), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 1000, 200, 400, 200, 200 }), sizeof fr.t);
    assert_int_equal(fr.f[B], SP_DECOMP_F_LOCKED);
    assert_int_equal(fr.f[A], 0);
    /* Locks are kept with their reasons, in node order; locking again replaces. */
    assert_int_equal(sp_decomp_lock(fr.d, D, 0, "on leave, 大区经理批准"), SP_OK);
    assert_int_equal(sp_decomp_lock(fr.d, B, 450, "revised 2026-11-20"), SP_OK);
    assert_int_equal(sp_decomp_lock_count(fr.d), 2);
    uint32_t n = 9;
    int64_t v = 9;
    const char *reason = NULL;
    assert_int_equal(sp_decomp_lock_at(fr.d, 0, &n, &v, &reason), SP_OK);
    assert_int_equal(n, B);
    assert_int_equal(v, 450);
    assert_string_equal(reason, "revised 2026-11-20");
    assert_int_equal(sp_decomp_lock_at(fr.d, 1, &n, &v, &reason), SP_OK);
    assert_int_equal(n, D);
    assert_string_equal(reason, "on leave, 大区经理批准");
    spt_expect_error(fr.ctx, sp_decomp_lock_at(fr.d, 2, &n, &v, &reason), SP_ENOTFOUND,
                     "decompose: lock 2 is beyond the 2 locks");
    /* 1000 - 450 - 0 = 550 over A and C -> 275 each. */
    assert_int_equal(flat_go(&fr, 1000), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 1000, 275, 450, 275, 0 }), sizeof fr.t);
    assert_int_equal(sp_decomp_unlock(fr.d, D), SP_OK);
    spt_expect_error(fr.ctx, sp_decomp_unlock(fr.d, D), SP_ENOTFOUND,
                     "decompose: node \"D\" is not locked");
    assert_int_equal(sp_decomp_lock_count(fr.d), 1);

    /* Locked beyond the parent's target. */
    assert_int_equal(sp_decomp_lock(fr.d, C, 700, "key account"), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 1000), SP_EINVAL,
                     "decompose: children of \"P\" (target 1000, split evenly): allocate: locked "
                     "parts sum to 1150, beyond the total 1000");
    /* Every child locked: they must make the target exactly. */
    assert_int_equal(sp_decomp_lock(fr.d, C, 200, "key account"), SP_OK);
    assert_int_equal(sp_decomp_lock(fr.d, A, 100, "new hire"), SP_OK);
    assert_int_equal(sp_decomp_lock(fr.d, D, 250, "x"), SP_OK);
    assert_int_equal(flat_go(&fr, 1000), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 1000, 100, 450, 200, 250 }), sizeof fr.t);
    spt_expect_error(fr.ctx, flat_go(&fr, 1001), SP_EINVAL,
                     "decompose: children of \"P\" (target 1001, split evenly): allocate: every "
                     "part is locked: the locked parts sum to 1000, not the total 1001");

    spt_expect_error(fr.ctx, sp_decomp_lock(fr.d, P, 5, "x"), SP_EINVAL,
                     "decompose: node \"P\" is the root, whose target is the total: it cannot be "
                     "locked");
    spt_expect_error(fr.ctx, sp_decomp_lock(fr.d, A, -5, "x"), SP_EINVAL,
                     "decompose: node \"A\": locked value -5 is negative");
    spt_expect_error(fr.ctx, sp_decomp_lock(fr.d, A, 5, ""), SP_EINVAL,
                     "decompose: node \"A\": a lock needs a reason (kept for audit)");
    spt_expect_error(fr.ctx, sp_decomp_lock(fr.d, A, 5, "bad \xc0\x80"), SP_EINVAL,
                     "decompose: node \"A\": the lock reason \"bad \\xC0\\x80\" is not valid "
                     "UTF-8: overlong encoding at byte 4");
    spt_expect_error(fr.ctx, sp_decomp_lock(fr.d, 9, 5, "x"), SP_ENOTFOUND,
                     "decompose: node index 9 is beyond the 5 nodes");
    assert_int_equal(sp_decomp_lock_at(fr.d, 0, &n, &v, &reason), SP_OK);
    assert_int_equal(v, 100); /* A unchanged by the failed calls */
    /* A lock outside the node's own bounds. */
    assert_int_equal(sp_decomp_set_bounds(fr.d, A, 0, 50), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 1000), SP_EINVAL,
                     "decompose: node \"A\" is locked at 100, outside its bounds [0, 50]");
    flat_free(&fr);
}

static void test_locked_inner_node(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build_valid(ctx, org, ORG_N);
    sp_decomp *d = NULL;
    assert_int_equal(sp_decomp_new(&d, h), SP_OK);
    /* North held at 600: South gets 400; North's 600 goes down to N1, N2 (300 each), N1's
     * 300 to a, b, c (100 each); South's 400 to S1, S2 (200 each) and then 100 per rep. */
    assert_int_equal(sp_decomp_lock(d, fx_node(h, "North"), 600, "strategic market"), SP_OK);
    int64_t t[ORG_N];
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, t, NULL, NULL, NULL };
    assert_int_equal(sp_decomp_run(d, 1000, &out), SP_OK);
    expect_target(h, t, "North", 600);
    expect_target(h, t, "South", 400);
    expect_target(h, t, "N2", 300);
    expect_target(h, t, "d", 300);
    expect_target(h, t, "a", 100);
    expect_target(h, t, "e", 100);
    sp_decomp_free(d);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_null_fallback(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 5);
    const uint8_t valid[5] = { 1, 1, 0, 1, 0 };
    uint32_t col = add_driver(fr.d, "prior", (const int64_t[]){ 0, 100, -7, 300, 12 }, valid, 5);
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = col;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    /* Null policy error (the default): the first null child is named. Values under a null
     * mark are never read (B's -7 is no error). */
    spt_expect_error(fr.ctx, flat_go(&fr, 800), SP_EINVAL,
                     "decompose: node \"B\": driver \"prior\" is null (the null policy is an "
                     "error)");
    /* Even share: B and D count with the mean of A and C, 200: weights 100, 200, 300, 200
     * of 800 -> exactly what an even split would give B and D (800 / 4 = 200). */
    r.null_policy = SP_DECOMP_NULL_EVEN;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(flat_go(&fr, 800), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 800, 100, 200, 300, 200 }), sizeof fr.t);
    assert_int_equal(fr.f[B], SP_DECOMP_F_FALLBACK);
    assert_int_equal(fr.f[D], SP_DECOMP_F_FALLBACK);
    assert_int_equal(fr.f[A], 0);
    flat_free(&fr);

    /* A mean that is no integer: values 1 and 2 (mean 1.5) and a null: weights 2, 3, 4 (the
     * values times 2, the null 3): 90 -> 20, 30, 40. */
    flat_new(&fr, 4);
    col = add_driver(fr.d, "prior", (const int64_t[]){ 0, 1, 0, 2 }, (const uint8_t[]){ 1, 1, 0, 1 }, 4);
    r.driver = col;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(flat_go(&fr, 90), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 90, 20, 30, 40 }), 4 * sizeof(int64_t));
    flat_free(&fr);

    /* All null: an even split. A locked child needs no driver value. */
    flat_new(&fr, 4);
    col = add_driver(fr.d, "prior", (const int64_t[]){ 0, 0, 0, 0 }, (const uint8_t[]){ 0, 0, 0, 0 }, 4);
    r.driver = col;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(sp_decomp_lock(fr.d, C, 10, "fixed"), SP_OK);
    assert_int_equal(flat_go(&fr, 101), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 101, 46, 45, 10 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[A], SP_DECOMP_F_FALLBACK);
    assert_int_equal(fr.f[C], SP_DECOMP_F_LOCKED);
    flat_free(&fr);
}

static void test_growth_null_baseline(void **state)
{
    (void)state;
    /* A null baseline under growth with the even fallback: the node's baseline is the mean
     * of its siblings' (A 100, C 300: 200), so are its bounds: cap +10 % -> B at most 220.
     * 800 over baselines 100, 200, 300 (600): +33 % wanted; caps 110, 220, 330 (660) are
     * short of 800 -> error; 650: L = 650/600: 108.33, 216.67, 325 -> 108, 217, 325. */
    flat_run fr;
    flat_new(&fr, 4);
    uint32_t col = add_driver(fr.d, "ly", (const int64_t[]){ 0, 100, 0, 300 },
                              (const uint8_t[]){ 1, 1, 0, 1 }, 4);
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_GROWTH;
    r.driver = col;
    r.null_policy = SP_DECOMP_NULL_EVEN;
    r.growth_cap = 100000000;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(flat_go(&fr, 800), SP_EINVAL);
    assert_int_equal(flat_go(&fr, 650), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 650, 108, 217, 325 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[B], SP_DECOMP_F_FALLBACK | SP_DECOMP_F_GROWTH);
    /* B: 217 / 200 - 1 = 8.5 %; common growth 650/600 - 1 = 0.083333333. */
    assert_int_equal(fr.g[B], 85000000);
    assert_int_equal(fr.common[P], 83333333);
    /* 660 puts all three at their caps. */
    assert_int_equal(flat_go(&fr, 660), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 660, 110, 220, 330 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[B], SP_DECOMP_F_FALLBACK | SP_DECOMP_F_GROWTH | SP_DECOMP_F_AT_CAP);
    flat_free(&fr);
}

static void test_bounds_and_units(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 4);
    uint32_t col = add_driver(fr.d, "potential", (const int64_t[]){ 0, 6, 3, 1 }, NULL, 4);
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = col;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    /* 100 by 6:3:1 with A capped at 50: 50, then 50 by 3:1 -> 37.5, 12.5 -> 38, 12. */
    assert_int_equal(sp_decomp_set_bounds(fr.d, A, 0, 50), SP_OK);
    assert_int_equal(flat_go(&fr, 100), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 100, 50, 38, 12 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[A], SP_DECOMP_F_AT_MAX);
    /* C at least 20: 80 left by 6:3 -> 53.3 (> 50) -> A 50, B 30, C 20. */
    assert_int_equal(sp_decomp_set_bounds(fr.d, C, 20, NOMAX), SP_OK);
    assert_int_equal(flat_go(&fr, 100), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 100, 50, 30, 20 }), 4 * sizeof(int64_t));
    assert_int_equal(fr.f[C], SP_DECOMP_F_AT_MIN);
    /* In thousands: 12345 by 6:3:1, no bounds: 12 units -> 7.2, 3.6, 1.2 -> floors 7, 3, 1
     * (11), the unit left to the largest remainder (.6): 7, 4, 1; the 345 below a thousand
     * to the largest part: 7345, 4000, 1000. */
    assert_int_equal(sp_decomp_set_bounds_all(fr.d, NULL, NULL, 4), SP_OK);
    r.unit = 1000;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(flat_go(&fr, 12345), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 12345, 7345, 4000, 1000 }), 4 * sizeof(int64_t));
    /* Minimums above the total and maximums below it. */
    r.unit = 0;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    assert_int_equal(sp_decomp_set_bounds_all(fr.d, (const int64_t[]){ 0, 40, 40, 30 }, NULL, 4),
                     SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EINVAL,
                     "decompose: children of \"P\" (target 100, split by driver \"potential\"): "
                     "allocate: the minimums of the unlocked parts sum to 110, beyond the 100 left "
                     "after locked parts");
    assert_int_equal(sp_decomp_set_bounds_all(fr.d, NULL, (const int64_t[]){ NOMAX, 30, 30, 30 }, 4),
                     SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EINVAL,
                     "decompose: children of \"P\" (target 100, split by driver \"potential\"): "
                     "allocate: the maximums of the unlocked parts sum to 90 (zero-weight parts "
                     "count at their minimums), short of the 100 left after locked parts");
    /* The root's own bounds bind the total. */
    spt_expect_error(fr.ctx,
                     sp_decomp_set_bounds_all(fr.d, NULL, (const int64_t[]){ 10, -1, 3, 3 }, 4),
                     SP_EINVAL, "decompose: node \"A\": max -1 is below min 0");
    assert_int_equal(sp_decomp_set_bounds(fr.d, P, 0, 80), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 90), SP_EINVAL,
                     "decompose: the total 90 is outside the bounds [0, 80] of the root \"P\"");
    spt_expect_error(fr.ctx, sp_decomp_set_bounds(fr.d, A, -1, 5), SP_EINVAL,
                     "decompose: node \"A\": min -1 is negative");
    flat_free(&fr);
}

static void test_bad_drivers(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 4);
    uint32_t prior = add_driver(fr.d, "prior", (const int64_t[]){ 0, 5, -5, 7 }, NULL, 4);
    uint32_t zero = add_driver(fr.d, "hc", (const int64_t[]){ 9, 0, 0, 0 }, NULL, 4);
    uint32_t big = add_driver(fr.d, "big", (const int64_t[]){ 0, INT64_MAX, 1, 0 }, NULL, 4);
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = prior;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EINVAL,
                     "decompose: node \"B\": driver \"prior\" is -5, but a proportional split "
                     "needs values >= 0");
    r.driver = zero;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EINVAL,
                     "decompose: children of \"P\" (target 100, split by driver \"hc\"): "
                     "allocate: every unlocked weight is zero, so only the minimums (0) can be "
                     "placed of the 100 left after locked parts");
    /* Nothing to place: all-zero weights are no problem. */
    assert_int_equal(flat_go(&fr, 0), SP_OK);
    r.driver = big;
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EOVERFLOW,
                     "decompose: children of \"P\": driver \"big\" sums beyond int64_t");
    r.method = SP_DECOMP_BLEND;
    r.blend_drivers = (const uint32_t[]){ big, zero };
    r.blend_weights = (const sp_dec[]){ 1, 1 };
    r.blend_count = 2;
    r.driver = 0;
    uint32_t p2 = add_driver(fr.d, "p2", (const int64_t[]){ 0, 5, 5, 7 }, NULL, 4);
    r.blend_drivers = (const uint32_t[]){ p2, zero };
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EINVAL,
                     "decompose: children of \"P\": blend driver \"hc\" is zero for every unlocked "
                     "child, so its share of the blend has nowhere to go");

    /* The even fallback's weights beyond int64_t: values 3 and 2^63 - 4 (mean not whole:
     * every value is doubled), and, with whole means, a sum of weights beyond it. */
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.null_policy = SP_DECOMP_NULL_EVEN;
    r.driver = add_driver(fr.d, "huge", (const int64_t[]){ 0, 3, 0, INT64_MAX - 3 },
                          (const uint8_t[]){ 1, 1, 0, 1 }, 4);
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EOVERFLOW,
                     "decompose: children of \"P\": driver \"huge\": weighting its nulls by the "
                     "mean of its 2 values overflows int64_t");
    r.driver = add_driver(fr.d, "huge2", (const int64_t[]){ 0, INT64_C(4000000000000000000), 0,
                                                             INT64_C(4000000000000000000) },
                          (const uint8_t[]){ 1, 1, 0, 1 }, 4);
    assert_int_equal(sp_decomp_set_level_rule(fr.d, 1, &r), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 100), SP_EOVERFLOW,
                     "decompose: children of \"P\" (target 100, split by driver \"huge2\"): "
                     "allocate: the weights of the unlocked parts sum to 12000000000000000000, "
                     "beyond 2^63 - 1");

    /* Outputs untouched by every failure above. */
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, NULL, NULL, NULL, NULL };
    spt_expect_error(fr.ctx, sp_decomp_run(fr.d, 5, &out), SP_EINVAL,
                     "decompose: the output's target array is NULL");
    spt_expect_error(fr.ctx, flat_go(&fr, -5), SP_EINVAL, "decompose: the total -5 is negative");
    for (int i = 0; i < 4; i++)
        assert_int_equal(fr.t[i], 0);

    /* Drivers themselves. */
    int64_t v4[4] = { 0 };
    spt_expect_error(fr.ctx, sp_decomp_add_driver(fr.d, "prior", v4, NULL, 4, NULL), SP_ECONFLICT,
                     "decompose: driver \"prior\" already exists (column 0)");
    spt_expect_error(fr.ctx, sp_decomp_add_driver(fr.d, "x", v4, NULL, 3, NULL), SP_EINVAL,
                     "decompose: driver \"x\" has 3 values for 4 nodes");
    spt_expect_error(fr.ctx, sp_decomp_add_driver(fr.d, "", v4, NULL, 4, NULL), SP_EINVAL,
                     "decompose: a driver name is empty");
    spt_expect_error(fr.ctx, sp_decomp_add_driver(fr.d, "x", NULL, NULL, 4, NULL), SP_EINVAL,
                     "decompose: driver \"x\": values is NULL");
    flat_free(&fr);
}

static void test_bad_rules(void **state)
{
    (void)state;
    flat_run fr;
    flat_new(&fr, 4);
    add_driver(fr.d, "prior", (const int64_t[]){ 0, 5, 5, 7 }, NULL, 4);
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_DRIVER;
    r.driver = 3;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: driver 3 is not a driver column (there are 1)");
    r.method = 9;
    spt_expect_error(fr.ctx, sp_decomp_set_node_rule(fr.d, P, &r), SP_EINVAL,
                     "decompose: rule of node \"P\": method 9 is unknown");
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.null_policy = 5;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: null policy 5 is unknown");
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.unit = -1;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: unit -1 is negative");
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_BLEND;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: a blend needs blend_count > 0, blend_drivers and "
                     "blend_weights");
    r.blend_drivers = (const uint32_t[]){ 0, 0 };
    r.blend_weights = (const sp_dec[]){ 100, -200000000 };
    r.blend_count = 2;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: blend_weights[1] = -0.2 is negative");
    r.blend_weights = (const sp_dec[]){ 0, 0 };
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: every blend weight is zero");
    /* The allocation's own message, prefixed in place (it was once formatted into the
     * buffer it was read from). The weights sum to 2 x (2^63 - 1) = 2^64 - 2. */
    r.blend_weights = (const sp_dec[]){ INT64_MAX, INT64_MAX };
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EOVERFLOW,
                     "decompose: rule of level 1: blend weights: allocate: the weights of the "
                     "unlocked parts sum to 18446744073709551614, beyond 2^63 - 1");
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_GROWTH;
    r.growth_floor = -1500000000;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: growth floor -1.5 is below -1 (a fall of 100 %)");
    r.growth_floor = 200000000;
    r.growth_cap = 100000000;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EINVAL,
                     "decompose: rule of level 1: growth cap 0.1 is below growth floor 0.2");
    spt_expect_error(fr.ctx, sp_decomp_set_growth_limits(fr.d, A, 200000000, 100000000), SP_EINVAL,
                     "decompose: node \"A\": growth cap 0.1 is below growth floor 0.2");
    r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 0, &r), SP_EINVAL,
                     "decompose: level 0 has no rule: rules are set for levels 1 to 1 (level 0 is "
                     "the root)");
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 2, &r), SP_EINVAL,
                     "decompose: level 2 has no rule: rules are set for levels 1 to 1 (level 0 is "
                     "the root)");
    r.version = 0;
    spt_expect_error(fr.ctx, sp_decomp_set_level_rule(fr.d, 1, &r), SP_EVERSION,
                     "sp_decomp_rule: version 0 is not supported (this library knows 1 to 1)");
    /* Nothing was set by the failures: the split is even. */
    assert_int_equal(flat_go(&fr, 30), SP_OK);
    assert_memory_equal(fr.t, ((int64_t[]){ 30, 10, 10, 10 }), 4 * sizeof(int64_t));

    sp_decomp_rule init;
    memset(&init, 0x5a, sizeof init);
    assert_int_equal(sp_decomp_rule_init(&init, SP_DECOMP_RULE_VERSION), SP_OK);
    assert_int_equal(init.method, SP_DECOMP_EVEN);
    assert_true(init.growth_floor == SP_DECOMP_NO_FLOOR && init.growth_cap == SP_DECOMP_NO_CAP);
    assert_null(init.blend_drivers);
    assert_int_equal(sp_decomp_rule_init(&init, 2), SP_EVERSION);
    sp_decomp_output o;
    assert_int_equal(sp_decomp_output_init(&o, SP_DECOMP_OUTPUT_VERSION), SP_OK);
    assert_null(o.target);
    sp_reconcile_options ro;
    assert_int_equal(sp_reconcile_options_init(&ro, 1), SP_OK);
    sp_reconcile_output rout;
    assert_int_equal(sp_reconcile_output_init(&rout, 1), SP_OK);

    /* A hierarchy changed under a decomposition. */
    assert_int_equal(sp_hierarchy_add(fr.h, "E", 1, "P", 1, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(fr.h), SP_OK);
    spt_expect_error(fr.ctx, flat_go(&fr, 30), SP_EINVAL,
                     "decompose: the hierarchy changed after this decomposition was made");
    sp_decomp *d2 = NULL;
    assert_int_equal(sp_hierarchy_add(fr.h, "F", 1, "P", 1, NULL), SP_OK);
    spt_expect_error(fr.ctx, sp_decomp_new(&d2, fr.h), SP_EINVAL,
                     "decompose: the hierarchy is not validated (call sp_hierarchy_validate after "
                     "adding nodes)");
    flat_free(&fr);
}

/* ---- properties ---- */

enum { PN = 160 };

typedef struct prop_case {
    size_t n;
    char ids[PN][16];
    const char *idp[PN], *parents[PN];
    int64_t drv[3][PN];
    uint8_t valid[3][PN];
    sp_decomp_rule rules[8];
    uint32_t blend_cols[2];
    sp_dec blend_w[2];
    int64_t min[PN], max[PN];
    bool has_bounds;
    uint8_t locked[PN];
    int64_t lock_value[PN];
    int64_t total;
} prop_case;

static void gen_case(spt_rng *rng, prop_case *c, bool bounds)
{
    memset(c, 0, sizeof *c);
    /* Half the cases keep to what always works (no bounds, locks or growth), so that
     * successes and failures both come in numbers. */
    bounds = bounds && spt_rng_chance(rng, 50);
    c->n = (size_t)spt_rng_range(rng, 1, PN);
    for (size_t i = 0; i < c->n; i++) {
        snprintf(c->ids[i], 16, "n%u", (unsigned)(spt_rng_next(rng) % 1000000u) * 1000u + (unsigned)i);
        c->idp[i] = c->ids[i];
        /* Mostly shallow trees with wide groups, sometimes chains. */
        int64_t lo = spt_rng_chance(rng, 20) ? (int64_t)i - 1 : 0;
        c->parents[i] = i == 0 ? NULL : c->ids[spt_rng_range(rng, lo < 0 ? 0 : lo, (int64_t)i - 1)];
        for (int k = 0; k < 3; k++) {
            bool zero = k < 2 && bounds && spt_rng_chance(rng, 3);
            c->drv[k][i] = zero ? 0 : spt_rng_range(rng, 1, k == 2 ? 50 : 1000000);
            c->valid[k][i] = !spt_rng_chance(rng, 4);
        }
        if (bounds && i > 0 && spt_rng_chance(rng, 10)) {
            c->has_bounds = true;
            c->min[i] = spt_rng_range(rng, 0, 3000);
            c->max[i] = spt_rng_chance(rng, 50) ? NOMAX : c->min[i] + spt_rng_range(rng, 0, 100000);
        } else {
            c->max[i] = NOMAX;
        }
        if (bounds && i > 0 && spt_rng_chance(rng, 5)) {
            c->locked[i] = 1;
            c->lock_value[i] = spt_rng_range(rng, 0, 500);
        }
    }
    c->total = spt_rng_range(rng, 0, spt_rng_chance(rng, 50) ? 1000000 : INT64_C(100000000000));
    c->blend_cols[0] = 0;
    c->blend_cols[1] = 2;
    c->blend_w[0] = spt_rng_range(rng, 1, SP_DEC_ONE);
    c->blend_w[1] = spt_rng_range(rng, 0, SP_DEC_ONE);
    for (int l = 0; l < 8; l++) {
        sp_decomp_rule *r = &c->rules[l];
        *r = (sp_decomp_rule)SP_DECOMP_RULE_INIT;
        int64_t pick = spt_rng_range(rng, 0, 99);
        r->method = pick < 25 ? SP_DECOMP_EVEN : pick < 55 ? SP_DECOMP_DRIVER
                  : pick < 85 || !bounds ? SP_DECOMP_BLEND : SP_DECOMP_GROWTH;
        r->driver = (uint32_t)spt_rng_range(rng, 0, 2);
        r->null_policy = !bounds || spt_rng_chance(rng, 95) ? SP_DECOMP_NULL_EVEN : SP_DECOMP_NULL_ERROR;
        r->blend_drivers = c->blend_cols;
        r->blend_weights = c->blend_w;
        r->blend_count = 2;
        if (r->method == SP_DECOMP_GROWTH) {
            r->growth_floor = spt_rng_chance(rng, 60) ? -spt_rng_range(rng, 500000000, SP_DEC_ONE)
                                                      : SP_DECOMP_NO_FLOOR;
            r->growth_cap = spt_rng_chance(rng, 60) ? spt_rng_range(rng, 0, 8000000000)
                                                    : SP_DECOMP_NO_CAP;
        }
        r->unit = spt_rng_chance(rng, 15) ? (int64_t[]){ 10, 100, 1000 }[spt_rng_next(rng) % 3] : 0;
    }
}

/* Build and run a case with drivers scaled by `scale`; nodes added in `perm` order. */
static int run_case(sp_ctx *ctx, const prop_case *c, const size_t *perm, int64_t scale,
                    sp_hierarchy **hout, int64_t *t)
{
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    for (size_t k = 0; k < c->n; k++) {
        size_t i = perm[k];
        assert_int_equal(sp_hierarchy_add(h, c->idp[i], strlen(c->idp[i]), c->parents[i],
                                          c->parents[i] ? strlen(c->parents[i]) : 0, NULL),
                         SP_OK);
    }
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    size_t levels;
    assert_int_equal(sp_hierarchy_level_count(h, &levels), SP_OK);
    sp_decomp *d = NULL;
    assert_int_equal(sp_decomp_new(&d, h), SP_OK);
    int64_t col[PN], mn[PN], mx[PN];
    uint8_t val[PN];
    for (int k = 0; k < 3; k++) {
        for (size_t j = 0; j < c->n; j++) {
            col[j] = c->drv[k][perm[j]] * scale;
            val[j] = c->valid[k][perm[j]];
        }
        char name[8];
        snprintf(name, sizeof name, "d%d", k);
        assert_int_equal(sp_decomp_add_driver(d, name, col, val, c->n, NULL), SP_OK);
    }
    for (uint32_t l = 1; l < levels; l++)
        assert_int_equal(sp_decomp_set_level_rule(d, l, &c->rules[l % 8]), SP_OK);
    for (size_t j = 0; j < c->n; j++) {
        mn[j] = c->min[perm[j]];
        mx[j] = c->max[perm[j]];
        if (c->locked[perm[j]])
            assert_int_equal(sp_decomp_lock(d, (uint32_t)j, c->lock_value[perm[j]], "p"), SP_OK);
    }
    if (c->has_bounds)
        assert_int_equal(sp_decomp_set_bounds_all(d, mn, mx, c->n), SP_OK);
    int64_t tmp[PN];
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, tmp, NULL, NULL, NULL };
    int rc = sp_decomp_run(d, c->total, &out);
    /* Results by the case's own numbering. */
    for (size_t j = 0; rc == SP_OK && j < c->n; j++)
        t[perm[j]] = tmp[j];
    sp_decomp_free(d);
    *hout = h;
    return rc;
}

/* ceil or floor of b (1 + rate), as the library defines the growth bounds. */
static i128 growth_limit(int64_t b, sp_dec rate, bool up)
{
    i128 num = (i128)b * (SP_DEC_ONE + rate);
    return num / SP_DEC_ONE + (up && num % SP_DEC_ONE != 0);
}

static void check_invariants(sp_hierarchy *h, const prop_case *c, const size_t *perm,
                             const int64_t *t)
{
    /* Growth bounds where a baseline is known; at most one child per group off the unit. */
    size_t off_unit[PN] = { 0 };
    for (size_t j = 0; j < c->n; j++) {
        uint32_t p, depth;
        assert_int_equal(sp_hierarchy_parent(h, (uint32_t)j, &p), SP_OK);
        assert_int_equal(sp_hierarchy_depth(h, (uint32_t)j, &depth), SP_OK);
        size_t i = perm[j];
        if (p == SP_HIERARCHY_NONE || c->locked[i])
            continue;
        const sp_decomp_rule *r = &c->rules[depth % 8];
        if (r->unit > 1 && t[i] % r->unit != 0)
            off_unit[perm[p]]++;
        if (r->method != SP_DECOMP_GROWTH || !c->valid[r->driver][i])
            continue;
        int64_t b = c->drv[r->driver][i];
        if (r->growth_floor != SP_DECOMP_NO_FLOOR)
            assert_true(t[i] >= growth_limit(b, r->growth_floor, true));
        if (r->growth_cap != SP_DECOMP_NO_CAP)
            assert_true(t[i] <= growth_limit(b, r->growth_cap, false));
    }
    for (size_t i = 0; i < c->n; i++)
        assert_true(off_unit[i] <= 1);

    /* Children sum to their parent everywhere; bounds and locks hold. */
    i128 sums[PN] = { 0 };
    bool inner[PN] = { false };
    for (size_t j = 0; j < c->n; j++) {
        uint32_t p;
        assert_int_equal(sp_hierarchy_parent(h, (uint32_t)j, &p), SP_OK);
        size_t i = perm[j];
        if (p != SP_HIERARCHY_NONE) {
            sums[perm[p]] += t[i];
            inner[perm[p]] = true;
        } else {
            assert_true(t[i] == c->total);
        }
        assert_true(t[i] >= 0);
        if (c->locked[i]) {
            assert_true(t[i] == c->lock_value[i]);
        } else if (p != SP_HIERARCHY_NONE) {
            assert_true(t[i] >= c->min[i]);
            assert_true(t[i] <= c->max[i]);
        }
    }
    for (size_t i = 0; i < c->n; i++)
        if (inner[i])
            assert_true(sums[i] == t[i]);
}

static void test_property_invariants(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 21 };
    static prop_case c;
    size_t id_perm[PN], perm[PN];
    int64_t t[PN], t2[PN];
    unsigned ok = 0, iterations = spt_iterations(400);
    for (unsigned it = 0; it < iterations; it++) {
        gen_case(&rng, &c, true);
        for (size_t i = 0; i < c.n; i++)
            id_perm[i] = perm[i] = i;
        for (size_t i = c.n; i-- > 1;) {
            size_t j = (size_t)spt_rng_range(&rng, 0, (int64_t)i);
            size_t tmp = perm[i];
            perm[i] = perm[j];
            perm[j] = tmp;
        }
        sp_hierarchy *h, *h2;
        int rc = run_case(ctx, &c, id_perm, 1, &h, t);
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", sp_ctx_errmsg(ctx));
        /* The input order changes nothing: the same target per id, or the same error. */
        int rc2 = run_case(ctx, &c, perm, 1, &h2, t2);
        if (rc != rc2)
            fail_msg("case %u: %d (%s) in one order, %d (%s) in another", it, rc, msg, rc2,
                     sp_ctx_errmsg(ctx));
        if (rc == SP_OK) {
            ok++;
            check_invariants(h, &c, id_perm, t);
            assert_memory_equal(t, t2, c.n * sizeof *t);
        } else {
            assert_true(rc == SP_EINVAL || rc == SP_EOVERFLOW);
            assert_string_equal(msg, sp_ctx_errmsg(ctx));
        }
        sp_hierarchy_free(h);
        sp_hierarchy_free(h2);
    }
    /* The generator exercises both outcomes in earnest. */
    assert_true(ok > iterations / 4);
    assert_true(ok < iterations);
    sp_ctx_free(ctx);
}

static void test_property_growth(void **state)
{
    (void)state;
    /* One group split by growth with floors and caps (per group and per node) and a total
     * between the sum of the floors and the sum of the caps: it always succeeds, every
     * growth stays within its limits, no node below its cap could take from a node above
     * its floor to even out their growth (the common growth), the flags say who is clamped,
     * and the common growth is that of the free nodes. */
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 24 };
    enum { K = 60 };
    static char names[K + 1][8];
    const char *ids[K + 1], *parents[K + 1];
    for (int i = 0; i <= K; i++) {
        snprintf(names[i], sizeof names[i], "c%02d", i);
        ids[i] = names[i];
        parents[i] = i == 0 ? NULL : names[0];
    }
    unsigned clamped = 0;
    for (unsigned it = 0; it < spt_iterations(400); it++) {
        size_t k = (size_t)spt_rng_range(&rng, 1, K);
        sp_hierarchy *h = NULL;
        assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, k + 1, NULL), SP_OK);
        assert_int_equal(sp_hierarchy_validate(h), SP_OK);
        sp_decomp *d = NULL;
        assert_int_equal(sp_decomp_new(&d, h), SP_OK);
        int64_t b[K + 1], lo[K + 1], hi[K + 1];
        sp_dec floor[K + 1], cap[K + 1];
        sp_dec gf = -spt_rng_range(&rng, 0, 500000000), gc = spt_rng_range(&rng, 0, 1000000000);
        i128 sum_lo = 0, sum_hi = 0;
        b[0] = 0;
        for (size_t i = 1; i <= k; i++) {
            b[i] = spt_rng_chance(&rng, 5) ? 0 : spt_rng_range(&rng, 1, 1000000);
            floor[i] = gf;
            cap[i] = gc;
            if (spt_rng_chance(&rng, 20)) {
                floor[i] = -spt_rng_range(&rng, 0, 500000000);
                cap[i] = spt_rng_range(&rng, 0, 1000000000);
                assert_int_equal(sp_decomp_set_growth_limits(d, (uint32_t)i, floor[i], cap[i]),
                                 SP_OK);
            }
            lo[i] = (int64_t)growth_limit(b[i], floor[i], true);
            hi[i] = (int64_t)growth_limit(b[i], cap[i], false);
            if (lo[i] > hi[i]) /* a tiny baseline: widen its cap */
                assert_int_equal(sp_decomp_set_growth_limits(d, (uint32_t)i, floor[i],
                                                             cap[i] = SP_DEC_ONE * 2),
                                 SP_OK);
            hi[i] = (int64_t)growth_limit(b[i], cap[i], false);
            sum_lo += lo[i];
            sum_hi += hi[i];
        }
        uint32_t col = add_driver(d, "ly", b, NULL, k + 1);
        sp_decomp_rule r = SP_DECOMP_RULE_INIT;
        r.method = SP_DECOMP_GROWTH;
        r.driver = col;
        r.growth_floor = gf;
        r.growth_cap = gc;
        assert_int_equal(sp_decomp_set_level_rule(d, 1, &r), SP_OK);
        int64_t total = (int64_t)(sum_lo + (i128)spt_rng_range(&rng, 0, (int64_t)(sum_hi - sum_lo)));
        int64_t t[K + 1];
        uint32_t f[K + 1];
        sp_dec g[K + 1], common[K + 1];
        sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, t, f, g, common };
        if (sp_decomp_run(d, total, &out) != SP_OK)
            fail_msg("case %u: %s", it, sp_ctx_errmsg(ctx));
        i128 sum = 0, free_x = 0, free_b = 0, all_x = 0, all_b = 0;
        for (size_t i = 1; i <= k; i++) {
            sum += t[i];
            assert_true(t[i] >= lo[i] && t[i] <= hi[i]);
            assert_int_equal((f[i] & SP_DECOMP_F_AT_FLOOR) != 0, t[i] == lo[i]);
            assert_int_equal((f[i] & SP_DECOMP_F_AT_CAP) != 0, t[i] == hi[i]);
            assert_int_equal((f[i] & SP_DECOMP_F_GROWTH) != 0, b[i] > 0);
            clamped += t[i] == lo[i] || t[i] == hi[i];
            for (size_t j = 1; j <= k; j++)
                if (t[i] < hi[i] && t[j] > lo[j])
                    assert_true((i128)(t[i] + 1) * b[j] >= (i128)(t[j] - 1) * b[i]);
            if (b[i] > 0) {
                all_x += t[i];
                all_b += b[i];
                if (t[i] != lo[i] && t[i] != hi[i]) {
                    free_x += t[i];
                    free_b += b[i];
                }
            }
        }
        assert_true(sum == total);
        if (free_b == 0) {
            free_x = all_x;
            free_b = all_b;
        }
        if (free_b > 0) {
            /* common = round_half_even(free_x / free_b * 10^9) - 10^9 */
            i128 num = free_x * SP_DEC_ONE, q = num / free_b, rem = num % free_b;
            if (2 * rem > free_b || (2 * rem == free_b && q % 2 != 0))
                q++;
            assert_true(common[0] == (int64_t)(q - SP_DEC_ONE));
            assert_true(f[0] == SP_DECOMP_F_COMMON_GROWTH);
        }
        sp_decomp_free(d);
        sp_hierarchy_free(h);
    }
    assert_true(clamped > 100);
    sp_ctx_free(ctx);
}

static void test_property_scaling(void **state)
{
    (void)state;
    /* Scaling every driver by a constant changes nothing (growth is left out: its bounds
     * are in money, so a scaled baseline means other bounds). */
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 22 };
    static prop_case c;
    size_t perm[PN];
    int64_t t[PN], t2[PN];
    for (unsigned it = 0; it < spt_iterations(300); it++) {
        gen_case(&rng, &c, false);
        for (size_t i = 0; i < c.n; i++)
            perm[i] = i;
        sp_hierarchy *h, *h2;
        int rc = run_case(ctx, &c, perm, 1, &h, t);
        int64_t factor = (int64_t[]){ 2, 7, 1000, 999983 }[it % 4];
        int rc2 = run_case(ctx, &c, perm, factor, &h2, t2);
        assert_int_equal(rc, rc2);
        if (rc == SP_OK)
            assert_memory_equal(t, t2, c.n * sizeof *t);
        sp_hierarchy_free(h);
        sp_hierarchy_free(h2);
    }
    sp_ctx_free(ctx);
}

/*
 * A second, simple implementation for even and single-driver splits without bounds or
 * locks: each group by Hamilton's method, the exact shares compared as fractions, the
 * leftover units to the largest remainders, equal ones to the smaller id.
 */
static void test_property_against_reference(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 23 };
    static prop_case c;
    size_t perm[PN];
    int64_t t[PN], want[PN];
    for (unsigned it = 0; it < spt_iterations(300); it++) {
        gen_case(&rng, &c, false);
        int method = (int)(it % 2); /* even or driver 0, no nulls */
        for (int l = 0; l < 8; l++) {
            c.rules[l].method = (uint32_t)method;
            c.rules[l].driver = 0;
            c.rules[l].unit = 0;
        }
        for (size_t i = 0; i < c.n; i++) {
            perm[i] = i;
            c.valid[0][i] = 1;
            if (spt_rng_chance(&rng, 10))
                c.drv[0][i] = 0;
        }
        sp_hierarchy *h;
        int rc = run_case(ctx, &c, perm, 1, &h, t);
        /* Reference: parents by id, then groups top-down in a breadth-first walk. */
        size_t par[PN], queue[PN], head = 0, tail = 0;
        for (size_t i = 0; i < c.n; i++) {
            par[i] = SIZE_MAX;
            for (size_t j = 0; c.parents[i] != NULL && j < c.n; j++)
                if (strcmp(c.parents[i], c.ids[j]) == 0)
                    par[i] = j;
        }
        bool failed = false;
        want[0] = c.total;
        queue[tail++] = 0;
        while (head < tail) {
            size_t v = queue[head++], kids[PN], k = 0;
            for (size_t j = 0; j < c.n; j++)
                if (par[j] == v)
                    kids[k++] = queue[tail++] = j;
            if (k == 0)
                continue;
            i128 wsum = 0, w[PN], floorsum = 0;
            for (size_t a = 0; a < k; a++) {
                w[a] = method == 0 ? 1 : c.drv[0][kids[a]];
                wsum += w[a];
            }
            if (wsum == 0) {
                failed |= want[v] != 0;
                for (size_t a = 0; a < k; a++)
                    want[kids[a]] = 0;
                continue;
            }
            for (size_t a = 0; a < k; a++) {
                want[kids[a]] = (int64_t)(w[a] * want[v] / wsum);
                floorsum += want[kids[a]];
            }
            bool bumped[PN] = { false };
            for (i128 left = want[v] - floorsum; left > 0; left--) {
                size_t best = SIZE_MAX;
                for (size_t a = 0; a < k; a++) {
                    if (bumped[a])
                        continue;
                    i128 ra = w[a] * want[v] % wsum;
                    i128 rb = best == SIZE_MAX ? -1 : w[best] * want[v] % wsum;
                    if (best == SIZE_MAX || ra > rb ||
                        (ra == rb && strcmp(c.ids[kids[a]], c.ids[kids[best]]) < 0))
                        best = a;
                }
                bumped[best] = true;
                want[kids[best]]++;
            }
        }
        if (failed) {
            assert_int_equal(rc, SP_EINVAL);
        } else {
            if (rc != SP_OK)
                fail_msg("case %u: %s", it, sp_ctx_errmsg(ctx));
            for (size_t i = 0; i < c.n; i++)
                if (t[i] != want[i])
                    fail_msg("case %u: node %s: %lld, reference %lld", it, c.ids[i],
                             (long long)t[i], (long long)want[i]);
        }
        sp_hierarchy_free(h);
    }
    sp_ctx_free(ctx);
}

static void test_large_groups(void **state)
{
    (void)state;
    /* A group of 1000 (heap scratch) under a group of 70: exact sums, even split. */
    sp_ctx *ctx = spt_new_ctx();
    enum { W = 70, L = 1000 };
    static char names[1 + W + L][12];
    static const char *ids[1 + W + L], *parents[1 + W + L];
    snprintf(names[0], 12, "root");
    ids[0] = names[0];
    parents[0] = NULL;
    for (int i = 0; i < W; i++) {
        snprintf(names[1 + i], 12, "g%03d", i);
        ids[1 + i] = names[1 + i];
        parents[1 + i] = names[0];
    }
    for (int i = 0; i < L; i++) {
        snprintf(names[1 + W + i], 12, "r%04d", i);
        ids[1 + W + i] = names[1 + W + i];
        parents[1 + W + i] = names[1];
    }
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, 1 + W + L, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_decomp *d = NULL;
    assert_int_equal(sp_decomp_new(&d, h), SP_OK);
    static int64_t t[1 + W + L];
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, t, NULL, NULL, NULL };
    /* 7,000,003 over 70 grids: 100000 each, the 3 left to g000..g002; g000's 100001 over
     * 1000 reps: 100 each, 1 left to r0000. */
    assert_int_equal(sp_decomp_run(d, 7000003, &out), SP_OK);
    assert_int_equal(t[1], 100001);
    assert_int_equal(t[3], 100001);
    assert_int_equal(t[4], 100000);
    assert_int_equal(t[1 + W], 101);
    assert_int_equal(t[1 + W + 1], 100);
    sp_decomp_free(d);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- fault injection ---- */

typedef struct decomp_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_hierarchy *h;
    sp_decomp *d;
    int64_t t[1 + 80];
} decomp_fault;

/* Everything a host does: a decomposition with drivers, rules, bounds, locks, then a run
 * over a group large enough (80) for heap scratch. */
static int run_decomp(void *user)
{
    decomp_fault *f = user;
    sp_decomp *d = NULL;
    int rc = sp_decomp_new(&d, f->h);
    if (rc != SP_OK)
        return rc;
    int64_t v[81];
    uint8_t valid[81];
    for (int i = 0; i < 81; i++) {
        v[i] = 10 + i;
        valid[i] = i % 7 != 3;
    }
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    r.method = SP_DECOMP_BLEND;
    r.blend_drivers = (const uint32_t[]){ 0, 1 };
    r.blend_weights = (const sp_dec[]){ 300000000, 700000000 };
    r.blend_count = 2;
    r.null_policy = SP_DECOMP_NULL_EVEN;
    sp_decomp_rule g = SP_DECOMP_RULE_INIT;
    g.method = SP_DECOMP_GROWTH;
    g.driver = 0;
    g.null_policy = SP_DECOMP_NULL_EVEN;
    g.growth_cap = 2000000000;
    if ((rc = sp_decomp_add_driver(d, "a", v, valid, 81, NULL)) == SP_OK &&
        (rc = sp_decomp_add_driver(d, "b", v, NULL, 81, NULL)) == SP_OK &&
        (rc = sp_decomp_set_level_rule(d, 1, &r)) == SP_OK &&
        (rc = sp_decomp_set_node_rule(d, 0, &g)) == SP_OK &&
        (rc = sp_decomp_set_node_rule(d, 0, &r)) == SP_OK &&
        (rc = sp_decomp_set_growth_limits(d, 5, 0, SP_DECOMP_NO_CAP)) == SP_OK &&
        (rc = sp_decomp_set_bounds(d, 3, 10, 100000)) == SP_OK &&
        (rc = sp_decomp_lock(d, 7, 500, "held")) == SP_OK &&
        (rc = sp_decomp_lock(d, 2, 400, "held")) == SP_OK &&
        (rc = sp_decomp_set_node_rule(d, 0, &g)) == SP_OK) {
        uint32_t flags[81];
        sp_dec growth[81], common[81];
        sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, f->t, flags, growth, common };
        rc = sp_decomp_run(d, 10000, &out);
    }
    if (rc != SP_OK) {
        sp_decomp_free(d);
        return rc;
    }
    f->d = d;
    return SP_OK;
}

static void undo_decomp(void *user)
{
    decomp_fault *f = user;
    i128 sum = 0;
    for (int i = 1; i < 81; i++)
        sum += f->t[i];
    assert_true(sum == 10000);
    assert_int_equal(f->t[7], 500);
    memset(f->t, 0, sizeof f->t);
    sp_decomp_free(f->d);
    f->d = NULL;
}

static void check_decomp_unchanged(void *user)
{
    decomp_fault *f = user;
    for (int i = 0; i < 81; i++)
        assert_int_equal(f->t[i], 0);
}

static size_t live_decomp(void *user)
{
    return ((decomp_fault *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    decomp_fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static char names[81][8];
    const char *ids[81], *parents[81];
    for (int i = 0; i < 81; i++) {
        snprintf(names[i], sizeof names[i], "n%02d", i);
        ids[i] = names[i];
        parents[i] = i == 0 ? NULL : names[0];
    }
    assert_int_equal(sp_hierarchy_new(&f.h, f.ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(f.h, ids, NULL, parents, NULL, 81, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(f.h), SP_OK);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "decomposition", run_decomp, undo_decomp, check_decomp_unchanged,
                          live_decomp, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) > 10);
    sp_hierarchy_free(f.h);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

static void test_no_allocation_per_node(void **state)
{
    (void)state;
    /* Groups of at most 64 children: a run allocates its result block only. */
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    sp_hierarchy *h = fx_build_valid(ctx, org, ORG_N);
    sp_decomp *d = NULL;
    assert_int_equal(sp_decomp_new(&d, h), SP_OK);
    int64_t t[ORG_N];
    sp_decomp_output out = { SP_DECOMP_OUTPUT_VERSION, t, NULL, NULL, NULL };
    uint64_t before = a.calls;
    assert_int_equal(sp_decomp_run(d, 123457, &out), SP_OK);
    assert_int_equal(a.calls - before, 1);
    sp_decomp_free(d);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_method),
        cmocka_unit_test(test_growth_clamped),
        cmocka_unit_test(test_growth_bounds_rounding),
        cmocka_unit_test(test_locks),
        cmocka_unit_test(test_locked_inner_node),
        cmocka_unit_test(test_null_fallback),
        cmocka_unit_test(test_growth_null_baseline),
        cmocka_unit_test(test_bounds_and_units),
        cmocka_unit_test(test_bad_drivers),
        cmocka_unit_test(test_bad_rules),
        cmocka_unit_test(test_property_invariants),
        cmocka_unit_test(test_property_growth),
        cmocka_unit_test(test_property_scaling),
        cmocka_unit_test(test_property_against_reference),
        cmocka_unit_test(test_large_groups),
        cmocka_unit_test(test_fault_loop),
        cmocka_unit_test(test_no_allocation_per_node),
    };
    return cmocka_run_group_tests_name("decompose", tests, NULL, NULL);
}
