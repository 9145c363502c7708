/* Plans: settings documents, history from facts, decomposition into sets, compare,
 * re-plan, pacing. Worked examples by hand, properties, bad input, allocation faults. */
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

/*
 *  CN (company)
 *    East (region): E1 (grid): e1a e1b; E2 (grid): e2a
 *    West (region): W1 (grid): w1a w1b
 */
static const spec co[] = {
    { "w1b", "W1" },   { "CN", NULL },  { "E1", "East" }, { "East", "CN" }, { "West", "CN" },
    { "E2", "East" },  { "W1", "West" }, { "e1a", "E1" }, { "e1b", "E1" },  { "e2a", "E2" },
    { "w1a", "W1" },
};
#define CO_N (sizeof co / sizeof co[0])
static const char *const co_levels[] = { "company", "region", "grid", "rep" };

static int32_t day_of(int y, int m, int d)
{
    int32_t day;
    assert_int_equal(sp_calendar_day_from_civil(y, m, d, &day), SP_OK);
    return day;
}

static sp_hierarchy *company(sp_ctx *ctx)
{
    sp_hierarchy *h = fx_build(ctx, co, CO_N);
    assert_int_equal(sp_hierarchy_set_levels(h, co_levels, 4), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    return h;
}

static sp_target_plan *quarter_plan(sp_ctx *ctx, sp_hierarchy *h)
{
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_QUARTER;
    sp_target_plan *p = NULL;
    if (sp_target_plan_new(&p, ctx, "FY2026", h, &o) != SP_OK)
        fail_msg("plan: %s", sp_ctx_errmsg(ctx));
    return p;
}

/* ---- facts of the small company ---- */

typedef struct line {
    const char *rep; /* NULL: SP_NONE */
    int y, m, d;
    int64_t amount;
} line;

/* FY2025 per quarter (days in the 10th day of the quarter's first month):
 *   e1a 100 200 300 400 | e1b 100 x4 | e2a 50 x4 | w1a 300 300 200 200 | w1b 0 0 200 200
 * FY2024: e1a 50 100 150 200. Also: a ghost rep (no node), a line without rep, a line of
 * FY2023 (outside the years read). */
static const line lines[] = {
    { "e1a", 2025, 1, 10, 100 }, { "e1a", 2025, 4, 10, 200 }, { "e1a", 2025, 7, 10, 300 },
    { "e1a", 2025, 10, 10, 400 }, { "e1b", 2025, 1, 10, 100 }, { "e1b", 2025, 4, 10, 100 },
    { "e1b", 2025, 7, 10, 100 }, { "e1b", 2025, 10, 10, 100 }, { "e2a", 2025, 1, 10, 50 },
    { "e2a", 2025, 4, 10, 50 },  { "e2a", 2025, 7, 10, 50 },   { "e2a", 2025, 12, 31, 50 },
    { "w1a", 2025, 1, 10, 300 }, { "w1a", 2025, 4, 10, 300 },  { "w1a", 2025, 7, 10, 200 },
    { "w1a", 2025, 10, 10, 200 }, { "w1b", 2025, 7, 10, 200 }, { "w1b", 2025, 10, 10, 200 },
    { "e1a", 2024, 1, 1, 50 },   { "e1a", 2024, 4, 10, 100 },  { "e1a", 2024, 7, 10, 150 },
    { "e1a", 2024, 10, 10, 200 }, { "ghost", 2025, 5, 5, 999 }, { NULL, 2025, 5, 5, 7 },
    { "e1a", 2023, 6, 1, 5000 },
};

typedef struct facts {
    sp_dict *dict;
    sp_fact_source *src;
} facts;

static facts make_facts(sp_ctx *ctx, const line *l, size_t n, const line *refunds, size_t nr)
{
    facts f = { NULL, NULL };
    assert_int_equal(sp_dict_new(&f.dict, ctx), SP_OK);
    assert_int_equal(sp_fact_source_memory_new(&f.src, ctx), SP_OK);
    for (int kind = 0; kind < 2; kind++) {
        const line *rows = kind == 0 ? l : refunds;
        size_t count = kind == 0 ? n : nr;
        if (count == 0)
            continue;
        uint64_t *id = calloc(count, sizeof *id);
        uint64_t *ref = calloc(count, sizeof *ref);
        int32_t *day = calloc(count, sizeof *day);
        uint32_t *rep = calloc(count, sizeof *rep);
        int64_t *amount = calloc(count, sizeof *amount);
        for (size_t i = 0; i < count; i++) {
            id[i] = i + 1;
            ref[i] = i + 1;
            day[i] = day_of(rows[i].y, rows[i].m, rows[i].d);
            rep[i] = SP_NONE;
            if (rows[i].rep != NULL)
                assert_int_equal(sp_dict_intern(f.dict, rows[i].rep, strlen(rows[i].rep), &rep[i]),
                                 SP_OK);
            amount[i] = rows[i].amount;
        }
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = kind == 0 ? SP_FACT_ORDER_LINES : SP_FACT_REFUNDS;
        b.count = count;
        b.id = id;
        b.ref = kind == 1 ? ref : NULL;
        b.day = day;
        b.rep = rep;
        b.amount = amount;
        assert_int_equal(sp_fact_source_memory_append(f.src, &b), SP_OK);
        free(id);
        free(ref);
        free(day);
        free(rep);
        free(amount);
    }
    return f;
}

static void free_facts(facts *f)
{
    sp_fact_source_free(f->src);
    sp_dict_free(f->dict);
}

static void settings(sp_target_plan *p, const char *json)
{
    assert_int_equal(sp_target_plan_set_settings(p, json, strlen(json)), SP_OK);
}

static int64_t annual(const sp_target_set *s, const char *id)
{
    uint32_t v;
    assert_int_equal(sp_target_set_find(s, id, strlen(id), &v), SP_OK);
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_data(s, &d), SP_OK);
    return d.annual[v];
}

static void expect_periods(const sp_target_set *s, const char *id, const int64_t *want)
{
    uint32_t v;
    assert_int_equal(sp_target_set_find(s, id, strlen(id), &v), SP_OK);
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_data(s, &d), SP_OK);
    for (size_t p = 0; p < d.nperiods; p++)
        if (d.periods[v * d.nperiods + p] != want[p])
            fail_msg("%s period %zu: %lld, expected %lld", id, p,
                     (long long)d.periods[v * d.nperiods + p], (long long)want[p]);
}

/* Every inner node's periods are its children's sums; every node's periods sum to its
 * annual target; children's annual targets sum to the parent's. */
static void check_invariants(const sp_target_set *s)
{
    sp_target_set_info info = SP_TARGET_SET_INFO_INIT;
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_info(s, &info), SP_OK);
    assert_int_equal(sp_target_set_get_data(s, &d), SP_OK);
    const sp_hierarchy *h = info.hierarchy;
    for (uint32_t v = 0; v < d.nnodes; v++) {
        i128 sum = 0;
        for (size_t p = 0; p < d.nperiods; p++)
            sum += d.periods[v * d.nperiods + p];
        assert_true(sum == d.annual[v]);
        const uint32_t *kids;
        size_t nk;
        assert_int_equal(sp_hierarchy_children(h, v, &kids, &nk), SP_OK);
        if (nk == 0)
            continue;
        i128 ka = 0;
        for (size_t k = 0; k < nk; k++)
            ka += d.annual[kids[k]];
        assert_true(ka == d.annual[v]);
        for (size_t p = 0; p < d.nperiods; p++) {
            i128 kp = 0;
            for (size_t k = 0; k < nk; k++)
                kp += d.periods[kids[k] * d.nperiods + p];
            assert_true(kp == d.periods[v * d.nperiods + p]);
        }
    }
}

static const char example_settings[] =
    "{\n"
    "  \"levels\": {\n"
    "    \"region\": { \"method\": \"driver\", \"driver\": \"prior_year\" },\n"
    "    \"grid\": { \"method\": \"even\" },\n"
    "    \"rep\": { \"method\": \"driver\", \"driver\": \"prior_year\", \"null\": \"even\" }\n"
    "  },\n"
    "  \"seasonality\": { \"profiles\": {\n"
    "    \"CN\": { \"method\": \"shares\", \"shares\": [\"10%\", \"20%\", \"30%\", \"40%\"] },\n"
    "    \"West\": { \"method\": \"average_share\", \"years\": 1 }\n"
    "  } }\n"
    "}\n";

/* The whole pipeline by hand: settings -> history -> decompose -> periods. */
static void test_worked_example(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = company(ctx);
    sp_target_plan *p = quarter_plan(ctx, h);
    sp_hierarchy_free(h); /* the plan has its own copy */
    facts f = make_facts(ctx, lines, sizeof lines / sizeof lines[0], NULL, 0);
    settings(p, example_settings);

    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    sp_target_history_report rep = SP_TARGET_HISTORY_REPORT_INIT;
    assert_int_equal(sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, &rep), SP_OK);
    /* 24 lines in FY2024..FY2025 (the FY2023 one is outside the days asked for). */
    assert_int_equal(rep.rows, 24);
    assert_int_equal(rep.used, 22);
    assert_int_equal(rep.no_key, 1);
    assert_int_equal(rep.unknown, 1);
    assert_int_equal(rep.unknown_ids, 1);
    assert_int_equal(rep.unknown_amount, 999);

    /* History rows, rolled up: CN FY2024 = e1a's; FY2025 = the sums per quarter. */
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(p, &pi), SP_OK);
    assert_int_equal(pi.nperiods, 4);
    assert_int_equal(pi.exponent, 2);
    /* The plan's hierarchy is frozen: a host that casts the const away still cannot change
     * it, so the plan's per-node arrays keep matching its nodes. */
    sp_hierarchy *held = (sp_hierarchy *)(uintptr_t)pi.hierarchy;
    size_t nodes = sp_hierarchy_count(held);
    assert_int_equal(sp_hierarchy_get_state(held), SP_HIERARCHY_FROZEN);
    const char *frozen_msg = "hierarchy: add: the hierarchy is frozen (a plan or target set holds "
                             "it; build a new one to change it)";
    spt_expect_error(ctx, sp_hierarchy_add(held, "late", 4, "CN", 2, NULL), SP_ECONFLICT,
                     frozen_msg);
    const char *late[1] = { "late" };
    spt_expect_error(ctx, sp_hierarchy_add_all(held, late, NULL, NULL, NULL, 1, NULL), SP_ECONFLICT,
                     frozen_msg);
    spt_expect_error(ctx, sp_hierarchy_set_levels(held, late, 1), SP_ECONFLICT,
                     "hierarchy: set levels: the hierarchy is frozen (a plan or target set holds "
                     "it; build a new one to change it)");
    assert_int_equal(sp_hierarchy_validate(held), SP_OK);
    assert_int_equal(sp_hierarchy_count(held), nodes);
    const int64_t *row;
    size_t years;
    int32_t first;
    assert_int_equal(sp_target_plan_history(p, fx_node(pi.hierarchy, "CN"), &row, &years, &first),
                     SP_OK);
    assert_int_equal(years, 2);
    assert_int_equal(first, 2024);
    const int64_t cn_hist[] = { 50, 100, 150, 200, 550, 650, 850, 950 };
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(row[i], cn_hist[i]);

    /* Built-in drivers: prior_year = FY2025; trailing_12m to 2026-01-01 is FY2025 too. */
    size_t nd = sp_target_plan_driver_count(p);
    assert_int_equal(nd, 2);
    const char *name;
    const int64_t *vals;
    const uint8_t *valid;
    assert_int_equal(sp_target_plan_driver_at(p, 0, &name, &vals, &valid), SP_OK);
    assert_string_equal(name, "prior_year");
    assert_null(valid);
    assert_int_equal(vals[fx_node(pi.hierarchy, "CN")], 3000);
    assert_int_equal(vals[fx_node(pi.hierarchy, "East")], 1600);
    assert_int_equal(vals[fx_node(pi.hierarchy, "W1")], 1400);
    assert_int_equal(sp_target_plan_driver_at(p, 1, &name, &vals, &valid), SP_OK);
    assert_string_equal(name, "trailing_12m");
    assert_int_equal(vals[fx_node(pi.hierarchy, "CN")], 3000);

    sp_target_set *s = NULL;
    assert_int_equal(sp_target_plan_decompose(&s, p, 6000, NULL), SP_OK);
    /* Regions by prior year 1600 : 1400 of 6000 -> 3200, 2800. Grids even: E1 = E2 = 1600.
     * Reps by prior year: E1 1600 x 1000/1400 = 1142.86, x 400/1400 = 457.14 -> 1142 + 457
     * = 1599, the unit left to the larger remainder: 1143, 457. W1: 2000, 800. */
    assert_int_equal(annual(s, "CN"), 6000);
    assert_int_equal(annual(s, "East"), 3200);
    assert_int_equal(annual(s, "West"), 2800);
    assert_int_equal(annual(s, "E1"), 1600);
    assert_int_equal(annual(s, "e1a"), 1143);
    assert_int_equal(annual(s, "e1b"), 457);
    assert_int_equal(annual(s, "w1a"), 2000);
    assert_int_equal(annual(s, "w1b"), 800);
    /* East inherits CN's 10/20/30/40: e1a 114.3 228.6 342.9 457.2 -> floors 1141, +1 to Q3
     * (.9) and Q2 (.6); e1b 45.7 91.4 137.1 182.8 -> +1 to Q4 (.8) and Q1 (.7). */
    expect_periods(s, "e1a", (const int64_t[]){ 114, 229, 343, 457 });
    expect_periods(s, "e1b", (const int64_t[]){ 46, 91, 137, 183 });
    expect_periods(s, "E1", (const int64_t[]){ 160, 320, 480, 640 });
    expect_periods(s, "e2a", (const int64_t[]){ 160, 320, 480, 640 });
    /* West's FY2025 shares 300 300 400 400 of 1400 -> 214285714 x2, 285714286 x2 (the two
     * units left go to the .714 remainders). w1a 2000: 428.57 428.57 571.43 571.43 ->
     * 429 429 571 571; w1b 800: 171.43 171.43 228.57 228.57 -> 171 171 229 229. */
    expect_periods(s, "w1a", (const int64_t[]){ 429, 429, 571, 571 });
    expect_periods(s, "w1b", (const int64_t[]){ 171, 171, 229, 229 });
    expect_periods(s, "West", (const int64_t[]){ 600, 600, 800, 800 });
    expect_periods(s, "CN", (const int64_t[]){ 920, 1240, 1760, 2080 });
    check_invariants(s);

    sp_target_set_info si = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(s, &si), SP_OK);
    assert_string_equal(si.plan_id, "FY2026");
    assert_string_equal(si.currency, "CNY");
    assert_int_equal(si.total, 6000);
    assert_int_equal(si.set_version, 0);
    assert_string_equal(si.scenario, "");
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_data(s, &d), SP_OK);
    assert_int_equal(d.nprofiles, 3); /* even, CN, West */
    assert_int_equal(d.profile_of[fx_node(pi.hierarchy, "e1a")], 1);
    assert_int_equal(d.profile_of[fx_node(pi.hierarchy, "w1b")], 2);

    sp_target_set_free(s);
    free_facts(&f);
    sp_target_plan_free(p);
    sp_ctx_free(ctx);
}

static void test_refunds_and_trailing(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = company(ctx);
    sp_target_plan *p = quarter_plan(ctx, h);
    const line refunds[] = { { "w1b", 2025, 11, 1, 100 }, { "w1b", 2026, 2, 1, 40 } };
    facts f = make_facts(ctx, lines, sizeof lines / sizeof lines[0], refunds, 2);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    ho.flags = SP_TARGET_HISTORY_NET_REFUNDS;
    ho.as_of = day_of(2025, 7, 1);
    assert_int_equal(sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, NULL), SP_OK);
    const int64_t *prior, *trailing;
    assert_int_equal(sp_target_plan_driver_at(p, 0, NULL, &prior, NULL), SP_OK);
    assert_int_equal(sp_target_plan_driver_at(p, 1, NULL, &trailing, NULL), SP_OK);
    /* w1b FY2025: 400 less the November refund of 100 (the February 2026 one is in the plan
     * year). Trailing to 2025-07-01: 2024-07-01 .. 2025-06-30: e1a 150 + 200 + 100 + 200. */
    assert_int_equal(prior[fx_node(h, "w1b")], 300);
    assert_int_equal(prior[fx_node(h, "CN")], 2900);
    assert_int_equal(trailing[fx_node(h, "e1a")], 650);
    assert_int_equal(trailing[fx_node(h, "w1b")], 0);

    /* Actuals of the plan year to 2026-03-01: the February refund, on w1b's Q1. */
    int64_t actual[CO_N * 4];
    for (size_t i = 0; i < CO_N * 4; i++)
        actual[i] = 77;
    ho.as_of = day_of(2026, 3, 1);
    assert_int_equal(sp_target_plan_load_actuals(p, f.src, f.dict, &ho, NULL, actual, NULL),
                     SP_OK);
    assert_int_equal(actual[fx_node(h, "w1b") * 4], -40);
    assert_int_equal(actual[fx_node(h, "CN") * 4], -40);
    assert_int_equal(actual[fx_node(h, "CN") * 4 + 1], 0);

    /* Strict ids: the ghost is an error naming it; nothing changes. */
    ho.flags = SP_TARGET_HISTORY_STRICT_IDS;
    ho.as_of = INT32_MIN;
    spt_expect_error(ctx, sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, NULL),
                     SP_ENOTFOUND,
                     "target history: rep[22] = 5 has id \"ghost\", which is no node of plan "
                     "\"FY2026\" (strict ids)");
    assert_int_equal(sp_target_plan_driver_at(p, 0, NULL, &prior, NULL), SP_OK);
    assert_int_equal(prior[fx_node(h, "w1b")], 300);
    free_facts(&f);
    sp_target_plan_free(p);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- settings documents ---- */

static void expect_settings_error(sp_target_plan *p, sp_ctx *ctx, const char *json,
                                  const char *want)
{
    const char *before;
    size_t before_len;
    assert_int_equal(sp_target_plan_get_settings(p, &before, &before_len), SP_OK);
    char *copy = malloc(before_len + 1);
    memcpy(copy, before, before_len + 1);
    spt_expect_error(ctx, sp_target_plan_set_settings(p, json, strlen(json)), SP_EINVAL, want);
    const char *after;
    size_t after_len;
    assert_int_equal(sp_target_plan_get_settings(p, &after, &after_len), SP_OK);
    assert_int_equal(after_len, before_len);
    assert_memory_equal(after, copy, before_len);
    free(copy);
}

static void test_settings_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = company(ctx);
    sp_target_plan *p = quarter_plan(ctx, h);
    settings(p, example_settings);
    expect_settings_error(p, ctx, "{\"levels\": {\"regoin\": {\"method\": \"even\"}}}",
                          "target settings: levels.regoin: no level has this name; did you mean "
                          "'region'? (line 1, column 23, byte 22)");
    expect_settings_error(p, ctx, "{\n  \"level\": {}\n}",
                          "target settings: unknown field 'level'; did you mean 'levels'? (line "
                          "2, column 3, byte 4)");
    expect_settings_error(p, ctx, "{\"levels\": {\"grid\": {\"method\": \"evn\"}}}",
                          "target settings: levels.grid.method: expected one of 'even', "
                          "'driver', 'blend', 'growth', found 'evn'; did you mean 'even'? (line "
                          "1, column 32, byte 31)");
    expect_settings_error(p, ctx,
                          "{\"levels\": {\"grid\": {\"method\": \"even\", \"driver\": \"x\"}}}",
                          "target settings: levels.grid.driver: 'driver' applies to method "
                          "'driver' only (line 1, column 50, byte 49)");
    expect_settings_error(p, ctx, "{\"locks\": {\"E1\": {\"value\": 10}}}",
                          "target settings: locks.E1: missing field 'reason' (line 1, column 18, "
                          "byte 17)");
    expect_settings_error(p, ctx, "{\"locks\": {\"E9\": {\"value\": 10, \"reason\": \"r\"}}}",
                          "target settings: locks.E9: no node of the hierarchy has this id (line "
                          "1, column 18, byte 17)");
    expect_settings_error(p, ctx, "{\"locks\": {\"E1\": {\"value\": 10.001, \"reason\": \"r\"}}}",
                          "target settings: locks.E1.value: amount 10.001 has more than 2 "
                          "decimals (line 1, column 28, byte 27)");
    expect_settings_error(p, ctx, "{\"locks\": {\"CN\": {\"value\": 1, \"reason\": \"r\"}}}",
                          "target settings: locks.CN: the root cannot be locked: its target is "
                          "the total (line 1, column 18, byte 17)");
    expect_settings_error(p, ctx, "{\"nodes\": {\"e1a\": {\"method\": \"even\"}}}",
                          "target settings: nodes.e1a: the node has no children to split among "
                          "(line 1, column 19, byte 18)");
    expect_settings_error(p, ctx,
                          "{\"seasonality\": {\"profiles\": {\"CN\": {\"method\": \"shares\", "
                          "\"shares\": [\"10%\", \"20%\", \"30%\", \"39.5%\"]}}}}",
                          "target settings: seasonality.profiles.CN.shares: the shares sum to "
                          "99.5%, not 100% (or set \"policy\": \"normalise\") (line 1, column "
                          "68, byte 67)");
    expect_settings_error(p, ctx,
                          "{\"seasonality\": {\"profiles\": {\"CN\": {\"method\": \"shares\", "
                          "\"shares\": [\"50%\", \"50%\"]}}}}",
                          "target settings: seasonality.profiles.CN.shares: 2 shares for the 4 "
                          "periods of the plan's year (line 1, column 68, byte 67)");
    expect_settings_error(p, ctx, "{\"bounds\": {\"E1\": {\"min\": 5, \"max\": 4}}}",
                          "target settings: bounds.E1.max: max is below min (line 1, column 37, "
                          "byte 36)");
    expect_settings_error(p, ctx,
                          "{\"levels\": {\"rep\": {\"method\": \"growth\", \"baseline\": \"b\", "
                          "\"floor\": \"10%\", \"cap\": \"5%\"}}}",
                          "target settings: levels.rep.cap: the growth cap is below the growth "
                          "floor (line 1, column 81, byte 80)");
    expect_settings_error(p, ctx, "{\"levels\": {\"company\": {\"method\": \"even\"}}}",
                          "target settings: levels.company: the root's level has no rule: a "
                          "level's rule splits each parent among its children at that level "
                          "(line 1, column 24, byte 23)");
    expect_settings_error(p, ctx, "{\"levels\": [}",
                          "target settings: levels[0]: expected a value, found '}' (line 1, column "
                          "13, byte 12)");
    sp_target_plan_free(p);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        fail_msg("cannot open %s", path);
    char *buf = malloc(1 << 16);
    *len = fread(buf, 1, 1 << 16, fp);
    fclose(fp);
    return buf;
}

/* The example of docs/target.md parses, and its canonical form reads back to itself. */
static void test_settings_example_and_canonical(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const spec org[] = {
        { "CN", NULL },     { "East", "CN" },    { "West", "CN" },    { "E-01", "East" },
        { "E-02", "East" }, { "W-01", "West" },  { "rep-1", "E-01" }, { "rep-2", "E-01" },
        { "rep-3", "E-02" }, { "rep-9", "W-01" },
    };
    sp_hierarchy *h = fx_build(ctx, org, sizeof org / sizeof org[0]);
    assert_int_equal(sp_hierarchy_set_levels(h, co_levels, 4), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2027;
    sp_target_plan *p = NULL;
    assert_int_equal(sp_target_plan_new(&p, ctx, "plan", h, &o), SP_OK);
    size_t len;
    char *json = read_file(SP_SOURCE_ROOT "/examples/target_settings.json", &len);
    if (sp_target_plan_set_settings(p, json, len) != SP_OK)
        fail_msg("example: %s", sp_ctx_errmsg(ctx));
    free(json);
    const char *canon;
    size_t clen;
    assert_int_equal(sp_target_plan_get_settings(p, &canon, &clen), SP_OK);
    /* Units and locks in major units, percentages as decimals, maps in byte order. */
    assert_non_null(strstr(canon, "\"grid\":{\"method\":\"blend\",\"blend\":[{\"driver\":"
                                  "\"prior_year\",\"weight\":0.7},{\"driver\":\"potential\","
                                  "\"weight\":0.3}],\"null\":\"error\",\"unit\":1000}"));
    assert_non_null(strstr(canon, "\"locks\":{\"West\":{\"value\":1200000,\"reason\":"));
    assert_true(strstr(canon, "\"levels\":{\"grid\"") != NULL);
    char *copy = malloc(clen);
    memcpy(copy, canon, clen);
    assert_int_equal(sp_target_plan_set_settings(p, copy, clen), SP_OK);
    assert_int_equal(sp_target_plan_get_settings(p, &canon, &len), SP_OK);
    assert_int_equal(len, clen);
    assert_memory_equal(canon, copy, clen);
    free(copy);
    /* Decomposing names the missing driver with the settings path. */
    sp_target_set *s = NULL;
    spt_expect_error(ctx, sp_target_plan_decompose(&s, p, 100000000, NULL), SP_EINVAL,
                     "target plan: settings levels.region: the plan has no driver \"prior_year\" "
                     "(drivers: none)");
    assert_null(s);
    sp_target_plan_free(p);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- properties ---- */

typedef struct gen {
    size_t n;
    char (*ids)[24];
    int *parent; /* index into ids, -1 root */
    int64_t *driver;
} gen;

static gen gen_tree(spt_rng *r, size_t n)
{
    gen g = { n, calloc(n, 24), calloc(n, sizeof(int)), calloc(n, sizeof(int64_t)) };
    for (size_t i = 0; i < n; i++) {
        snprintf(g.ids[i], 24, "n%zu", i);
        g.parent[i] = i == 0 ? -1 : (int)spt_rng_range(r, 0, (int64_t)i - 1);
        g.driver[i] = spt_rng_range(r, 0, 1000);
    }
    return g;
}

static void free_gen(gen *g)
{
    free(g->ids);
    free(g->parent);
    free(g->driver);
}

/* The plan of g with its nodes added in the order perm, driver scaled by k. */
static sp_target_plan *gen_plan(sp_ctx *ctx, const gen *g, const size_t *perm, int64_t k,
                                const char *json)
{
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    for (size_t j = 0; j < g->n; j++) {
        size_t i = perm[j];
        const char *par = g->parent[i] < 0 ? NULL : g->ids[g->parent[i]];
        assert_int_equal(sp_hierarchy_add(h, g->ids[i], strlen(g->ids[i]), par,
                                          par != NULL ? strlen(par) : 0, NULL),
                         SP_OK);
    }
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.exponent = 0;
    o.fiscal_year = 2026;
    sp_target_plan *p = NULL;
    assert_int_equal(sp_target_plan_new(&p, ctx, "prop", h, &o), SP_OK);
    int64_t *col = calloc(g->n, sizeof *col);
    for (size_t j = 0; j < g->n; j++)
        col[j] = g->driver[perm[j]] * k;
    assert_int_equal(sp_target_plan_set_driver(p, "d", col, NULL, g->n), SP_OK);
    free(col);
    if (sp_target_plan_set_settings(p, json, strlen(json)) != SP_OK)
        fail_msg("settings: %s", sp_ctx_errmsg(ctx));
    sp_hierarchy_free(h);
    return p;
}

static void test_properties(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 42 };
    const char *json = "{\"nodes\": {\"n0\": {\"method\": \"driver\", \"driver\": \"d\", "
                       "\"null\": \"even\"}},"
                       " \"seasonality\": {\"profiles\": {\"n1\": {\"method\": \"shares\", "
                       "\"shares\": [1,2,3,4,5,6,7,8,9,10,11,12], \"policy\": \"normalise\"}}}}";
    unsigned iters = spt_iterations(60);
    for (unsigned it = 0; it < iters; it++) {
        size_t n = (size_t)spt_rng_range(&r, 2, 60);
        gen g = gen_tree(&r, n);
        g.driver[1] += 1; /* n0's children (n1 at least) have a non-zero driver */
        size_t *id = malloc(n * sizeof *id), *shuf = malloc(n * sizeof *shuf);
        for (size_t i = 0; i < n; i++)
            id[i] = shuf[i] = i;
        for (size_t i = n; i-- > 1;) {
            size_t j = (size_t)spt_rng_range(&r, 0, (int64_t)i);
            size_t t = shuf[i];
            shuf[i] = shuf[j];
            shuf[j] = t;
        }
        int64_t total = spt_rng_range(&r, 0, INT64_C(1) << 40);
        sp_target_plan *a = gen_plan(ctx, &g, id, 1, json);
        sp_target_plan *b = gen_plan(ctx, &g, shuf, 7, json);
        sp_target_set *sa = NULL, *sb = NULL;
        if (sp_target_plan_decompose(&sa, a, total, NULL) != SP_OK)
            fail_msg("decompose: %s", sp_ctx_errmsg(ctx));
        assert_int_equal(sp_target_plan_decompose(&sb, b, total, NULL), SP_OK);
        check_invariants(sa);
        check_invariants(sb);
        /* Same targets by id whatever the insertion order and the driver's scale. */
        sp_target_comparison *c = NULL;
        assert_int_equal(sp_target_compare(&c, sa, sb), SP_OK);
        sp_target_comparison_data cd = SP_TARGET_COMPARISON_DATA_INIT;
        assert_int_equal(sp_target_comparison_get_data(c, &cd), SP_OK);
        assert_int_equal(cd.count, n);
        assert_int_equal(cd.nperiods, 12);
        assert_int_equal(cd.only_in_a + cd.only_in_b, 0);
        for (size_t i = 0; i < cd.count; i++) {
            assert_int_equal(cd.diff[i], 0);
            for (size_t q = 0; q < 12; q++)
                assert_int_equal(cd.period_diff[i * 12 + q], 0);
        }
        sp_target_comparison_free(c);
        sp_target_set_free(sa);
        sp_target_set_free(sb);
        sp_target_plan_free(a);
        sp_target_plan_free(b);
        free(id);
        free(shuf);
        free_gen(&g);
    }
    sp_ctx_free(ctx);
}

/* History grouping against a second, naive computation: each row located with
 * sp_calendar_locate and added to its node and every ancestor. */
static void test_history_against_naive(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng r = { 7 };
    unsigned iters = spt_iterations(20);
    for (unsigned it = 0; it < iters; it++) {
        size_t n = (size_t)spt_rng_range(&r, 1, 30);
        gen g = gen_tree(&r, n);
        size_t *id = malloc(n * sizeof *id);
        for (size_t i = 0; i < n; i++)
            id[i] = i;
        sp_target_plan *p = gen_plan(ctx, &g, id, 1, "{}");
        sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
        assert_int_equal(sp_target_plan_get_info(p, &pi), SP_OK);
        size_t nl = (size_t)spt_rng_range(&r, 0, 400);
        line *ls = calloc(nl + 1, sizeof *ls);
        for (size_t i = 0; i < nl; i++) {
            ls[i].rep = g.ids[spt_rng_range(&r, 0, (int64_t)n - 1)];
            ls[i].y = (int)spt_rng_range(&r, 2022, 2026);
            ls[i].m = (int)spt_rng_range(&r, 1, 12);
            ls[i].d = (int)spt_rng_range(&r, 1, 28);
            ls[i].amount = spt_rng_range(&r, -1000, 100000);
        }
        facts f = make_facts(ctx, ls, nl, NULL, 0);
        sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
        ho.years = 3;
        assert_int_equal(sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, NULL), SP_OK);
        int64_t *want = calloc(n * 36, sizeof *want);
        for (size_t i = 0; i < nl; i++) {
            int32_t fy;
            uint32_t per;
            assert_int_equal(sp_calendar_locate(pi.calendar, day_of(ls[i].y, ls[i].m, ls[i].d),
                                                SP_GRAIN_MONTH, &fy, &per),
                             SP_OK);
            if (fy < 2023 || fy > 2025)
                continue;
            uint32_t v = fx_node(pi.hierarchy, ls[i].rep);
            while (v != SP_HIERARCHY_NONE) {
                want[v * 36 + (size_t)(fy - 2023) * 12 + per] += ls[i].amount;
                assert_int_equal(sp_hierarchy_parent(pi.hierarchy, v, &v), SP_OK);
            }
        }
        for (uint32_t v = 0; v < n; v++) {
            const int64_t *row;
            assert_int_equal(sp_target_plan_history(p, v, &row, NULL, NULL), SP_OK);
            assert_memory_equal(row, want + v * 36, 36 * sizeof *row);
        }
        free(want);
        free_facts(&f);
        free(ls);
        free(id);
        sp_target_plan_free(p);
        free_gen(&g);
    }
    sp_ctx_free(ctx);
}

/* ---- compare, re-plan, pacing, reconcile ---- */

static sp_target_set *example_set(sp_ctx *ctx, sp_target_plan **plan, int64_t total)
{
    sp_hierarchy *h = company(ctx);
    sp_target_plan *p = quarter_plan(ctx, h);
    sp_hierarchy_free(h);
    facts f = make_facts(ctx, lines, sizeof lines / sizeof lines[0], NULL, 0);
    settings(p, example_settings);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    assert_int_equal(sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, NULL), SP_OK);
    free_facts(&f);
    sp_target_set *s = NULL;
    assert_int_equal(sp_target_plan_decompose(&s, p, total, NULL), SP_OK);
    *plan = p;
    return s;
}

static void test_compare(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_target_plan *p;
    sp_target_set *base = example_set(ctx, &p, 6000);
    sp_target_set *stretch = NULL;
    assert_int_equal(sp_target_plan_decompose(&stretch, p, 6600, NULL), SP_OK);
    sp_target_comparison *c = NULL;
    assert_int_equal(sp_target_compare(&c, base, stretch), SP_OK);
    sp_target_comparison_data d = SP_TARGET_COMPARISON_DATA_INIT;
    assert_int_equal(sp_target_comparison_get_data(c, &d), SP_OK);
    assert_int_equal(d.count, CO_N);
    /* Row order is the base's node order: row 1 is CN. 6000 -> 6600 is +10 %. East 3200 ->
     * 3520 (6600 x 1600/3000); w1b 800 -> 880. */
    assert_string_equal(d.ids[1], "CN");
    assert_int_equal(d.a[1], 6000);
    assert_int_equal(d.b[1], 6600);
    assert_int_equal(d.diff[1], 600);
    assert_int_equal(d.relative[1], 100000000);
    assert_string_equal(d.ids[0], "w1b");
    assert_int_equal(d.b[0], 880);
    assert_int_equal(d.flags[0], SP_COMPARE_IN_A | SP_COMPARE_IN_B);
    sp_target_comparison_free(c);
    sp_target_set_free(stretch);

    /* Nodes in one set only: a plan over a hierarchy without w1b and with w1c. */
    static const spec other[] = {
        { "CN", NULL }, { "East", "CN" }, { "West", "CN" }, { "w1c", "West" },
    };
    sp_hierarchy *h2 = fx_build_valid(ctx, other, 4);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_QUARTER;
    sp_target_plan *p2 = NULL;
    assert_int_equal(sp_target_plan_new(&p2, ctx, "other", h2, &o), SP_OK);
    sp_target_set *s2 = NULL;
    assert_int_equal(sp_target_plan_decompose(&s2, p2, 4000, NULL), SP_OK);
    assert_int_equal(sp_target_compare(&c, base, s2), SP_OK);
    assert_int_equal(sp_target_comparison_get_data(c, &d), SP_OK);
    assert_int_equal(d.count, CO_N + 1);
    assert_int_equal(d.only_in_a, CO_N - 3);
    assert_int_equal(d.only_in_b, 1);
    assert_string_equal(d.ids[CO_N], "w1c");
    assert_int_equal(d.flags[CO_N], SP_COMPARE_IN_B | SP_COMPARE_NO_BASE);
    assert_int_equal(d.b[CO_N], 2000);
    /* Quarters of w1c: 500 each; relative change undefined against 0. */
    assert_int_equal(d.period_b[CO_N * 4 + 2], 500);
    assert_int_equal(d.period_flags[CO_N * 4 + 2], SP_COMPARE_NO_BASE);
    sp_target_comparison_free(c);
    sp_target_set_free(s2);
    sp_target_plan_free(p2);
    sp_hierarchy_free(h2);
    sp_target_set_free(base);
    sp_target_plan_free(p);
    sp_ctx_free(ctx);
}

static void test_replan_pacing_reconcile(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_target_plan *p;
    sp_target_set *base = example_set(ctx, &p, 6000);
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(p, &pi), SP_OK);
    const sp_hierarchy *h = pi.hierarchy;
    /* Q1 closed: e1a sold 300 (plan 114), w1b sold 900 (above its 800 target). */
    int64_t actual[CO_N * 4] = { 0 };
    actual[fx_node(h, "e1a") * 4] = 300;
    actual[fx_node(h, "e1b") * 4] = 46;
    actual[fx_node(h, "e2a") * 4] = 100;
    actual[fx_node(h, "w1a") * 4] = 429;
    actual[fx_node(h, "w1b") * 4] = 900;
    sp_target_set *re = NULL;
    assert_int_equal(sp_target_plan_replan(&re, p, base, actual, 1, NULL), SP_OK);
    /* e1a: 1143 - 300 = 843 over Q2..Q4 by 20/30/40: 187.33 281 374.67 -> 187 281 374 = 842,
     * +1 to the .67: 187 281 375. w1b: overshoot, open periods 0 (policy zero): annual 900.
     * e2a: 1500 by 20/30/40 of 90: 333.3 500 666.7 -> 333 500 667. */
    expect_periods(re, "e1a", (const int64_t[]){ 300, 187, 281, 375 });
    expect_periods(re, "w1b", (const int64_t[]){ 900, 0, 0, 0 });
    expect_periods(re, "e2a", (const int64_t[]){ 100, 333, 500, 667 });
    assert_int_equal(annual(re, "w1b"), 900);
    assert_int_equal(annual(re, "CN"), 6100);
    check_invariants(re);
    sp_target_set_info ri = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(re, &ri), SP_OK);
    assert_int_equal(ri.closed, 1);
    assert_int_equal(ri.total, 6100);

    /* Pacing on 2026-02-15 (day 45 of Q1's 90) against the base: expected of e2a 160 x
     * 45/90 = 80; its actual 100 is ahead beyond 5 %. E2 rolls up the same. */
    int64_t act[CO_N] = { 0 }, exp_[CO_N], proj[CO_N], rolled[CO_N];
    int32_t st[CO_N];
    act[fx_node(h, "e2a")] = 100;
    act[fx_node(h, "e1a")] = 40;
    sp_target_pacing_options po = SP_TARGET_PACING_OPTIONS_INIT;
    po.threshold = 50000000;
    sp_target_pacing_output out = { SP_TARGET_PACING_OUTPUT_VERSION, rolled, exp_, proj, st };
    assert_int_equal(sp_target_plan_pacing(p, base, day_of(2026, 2, 15), act, &po, &out), SP_OK);
    assert_int_equal(exp_[fx_node(h, "e2a")], 80);
    assert_int_equal(st[fx_node(h, "e2a")], SP_PACE_AHEAD);
    assert_int_equal(rolled[fx_node(h, "E2")], 100);
    assert_int_equal(st[fx_node(h, "E2")], SP_PACE_AHEAD);
    /* e1a: 114 x 1/2 = 57; 40 is behind. E1: 160 / 2 = 80, actual 40: behind. CN: 920 / 2
     * = 460, actual 140. */
    assert_int_equal(exp_[fx_node(h, "e1a")], 57);
    assert_int_equal(st[fx_node(h, "e1a")], SP_PACE_BEHIND);
    assert_int_equal(exp_[fx_node(h, "CN")], 460);
    assert_int_equal(rolled[fx_node(h, "CN")], 140);
    assert_int_equal(st[fx_node(h, "w1b")], SP_PACE_BEHIND);
    /* Against a set of zero targets every row weighs nothing, so each node paces by the
     * even profile: by day 45 of Q1's 90, 1/4 x 45/90 = 1/8 of the year is due, so e1a's
     * 40 projects to 320 and CN's rolled-up 140 to 1120. */
    sp_target_set *zero = NULL;
    assert_int_equal(sp_target_plan_decompose(&zero, p, 0, NULL), SP_OK);
    assert_int_equal(sp_target_plan_pacing(p, zero, day_of(2026, 2, 15), act, &po, &out), SP_OK);
    assert_int_equal(exp_[fx_node(h, "e1a")], 0);
    assert_int_equal(proj[fx_node(h, "e1a")], 320);
    assert_int_equal(proj[fx_node(h, "CN")], 1120);
    assert_int_equal(st[fx_node(h, "e1a")], SP_PACE_AHEAD);
    sp_target_set_free(zero);

    /* Bottom-up: e1a commits 1500 (top-down 1143): E1's gap 357. */
    int64_t commit[CO_N] = { 0 }, bu[CO_N], gap[CO_N];
    for (uint32_t v = 0; v < CO_N; v++)
        commit[v] = annual(base, co[v].id);
    commit[fx_node(h, "e1a")] = 1500;
    sp_reconcile_output ro = { SP_RECONCILE_OUTPUT_VERSION, bu, gap, NULL };
    assert_int_equal(sp_target_set_reconcile(base, commit, NULL, &ro), SP_OK);
    assert_int_equal(gap[fx_node(h, "E1")], 357);
    assert_int_equal(bu[fx_node(h, "CN")], 6357);

    sp_target_set_free(re);
    sp_target_set_free(base);
    sp_target_plan_free(p);
    sp_ctx_free(ctx);
}

/* Sums per period are exact: a partial sum beyond int64_t that cancels out is none, in the
 * history (nodes' own facts included) and in a re-plan; a sum that does not fit is an error
 * naming the node. Nodes in index order R, a, b, c, so that a + b comes first. */
static void test_sums_beyond_int64(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const spec flat[] = { { "R", NULL }, { "a", "R" }, { "b", "R" }, { "c", "R" } };
    sp_hierarchy *h = fx_build_valid(ctx, flat, 4);
    sp_target_plan *p = quarter_plan(ctx, h);
    sp_hierarchy_free(h);
    const int64_t big = INT64_MAX - 100;
    /* FY2025 Q1: a big, b 200, c -300 (returns), R 7 of its own: R = big - 93. */
    static const line ls[] = { { "a", 2025, 1, 10, INT64_MAX - 100 }, { "b", 2025, 2, 10, 200 },
                               { "c", 2025, 3, 10, -300 },            { "R", 2025, 1, 20, 7 } };
    facts f = make_facts(ctx, ls, 4, NULL, 0);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 1;
    assert_int_equal(sp_target_plan_load_history(p, f.src, f.dict, &ho, NULL, NULL), SP_OK);
    const int64_t *row;
    assert_int_equal(sp_target_plan_history(p, 0, &row, NULL, NULL), SP_OK);
    assert_memory_equal(row, ((const int64_t[]){ big - 93, 0, 0, 0 }), 4 * sizeof *row);
    for (size_t k = 0; k < 2; k++) { /* prior_year, trailing_12m: the same year */
        const int64_t *values;
        assert_int_equal(sp_target_plan_driver_at(p, k, NULL, &values, NULL), SP_OK);
        assert_int_equal(values[0], big - 93);
    }

    /* Re-plan of a zero plan with Q1 and Q2 closed: a big (beyond its target: the open
     * quarters get 0), b 200 and -200, c -300 and 300 (nothing left to spread). R's Q1 is
     * big - 100 while a + b alone leaves int64_t; R's year is big + 100 - 100 = big. */
    sp_target_set *base = NULL, *re = NULL;
    assert_int_equal(sp_target_plan_decompose(&base, p, 0, NULL), SP_OK);
    int64_t actual[4 * 4] = { 0 };
    actual[1 * 4] = big;
    actual[2 * 4] = 200;
    actual[2 * 4 + 1] = -200;
    actual[3 * 4] = -300;
    actual[3 * 4 + 1] = 300;
    assert_int_equal(sp_target_plan_replan(&re, p, base, actual, 2, NULL), SP_OK);
    expect_periods(re, "R", (const int64_t[]){ big - 100, 100, 0, 0 });
    expect_periods(re, "a", (const int64_t[]){ big, 0, 0, 0 });
    assert_int_equal(annual(re, "R"), big);
    check_invariants(re);
    sp_target_set_free(re);

    /* Without c's returns R's Q1 would be big + 200: an error, no set. */
    actual[3 * 4] = actual[3 * 4 + 1] = 0;
    re = NULL;
    spt_expect_error(ctx, sp_target_plan_replan(&re, p, base, actual, 2, NULL), SP_EOVERFLOW,
                     "target replan: the sum at node \"R\" overflows int64_t");
    assert_null(re);
    sp_target_set_free(base);
    free_facts(&f);
    sp_target_plan_free(p);
    sp_ctx_free(ctx);
}

static void test_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = company(ctx);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.fiscal_year = 2026;
    sp_target_plan *p = NULL;
    o.currency = "XYZ";
    spt_expect_error(ctx, sp_target_plan_new(&p, ctx, "x", h, &o), SP_EINVAL,
                     "target plan: currency \"XYZ\" is not an ISO 4217 code salesplan knows "
                     "(docs/money.md)");
    o.currency = NULL;
    spt_expect_error(ctx, sp_target_plan_new(&p, ctx, "", h, &o), SP_EINVAL,
                     "target plan: id is empty");
    o.fiscal_year = 0;
    spt_expect_error(ctx, sp_target_plan_new(&p, ctx, "x", h, &o), SP_EINVAL,
                     "target plan: fiscal_year 0 is outside 1..9999");
    assert_null(p);
    o.fiscal_year = 2026;
    assert_int_equal(sp_target_plan_new(&p, ctx, "x", h, &o), SP_OK);
    int64_t v[CO_N] = { 0 };
    spt_expect_error(ctx, sp_target_plan_set_driver(p, "prior_year", v, NULL, CO_N), SP_ECONFLICT,
                     "target plan: driver \"prior_year\" is built in (sp_target_plan_load_history "
                     "sets it)");
    spt_expect_error(ctx, sp_target_plan_set_driver(p, "d", v, NULL, 3), SP_EINVAL,
                     "target plan: driver \"d\" has 3 values for 11 nodes");
    assert_int_equal(sp_target_plan_driver_count(p), 0);
    /* A history-based profile without history. */
    settings(p, "{\"seasonality\": {\"profiles\": {\"East\": {\"method\": \"average_share\"}}}}");
    sp_target_set *s = NULL;
    spt_expect_error(ctx, sp_target_plan_decompose(&s, p, 100, NULL), SP_EINVAL,
                     "target plan: seasonality of node \"East\" is taken from history, but the "
                     "plan holds none for it (load it with sp_target_plan_load_history)");
    /* Locks above the total: the kernel's message. */
    settings(p, "{\"locks\": {\"East\": {\"value\": 2, \"reason\": \"r\"}}}");
    spt_expect_error(ctx, sp_target_plan_decompose(&s, p, 100, NULL), SP_EINVAL,
                     "decompose: children of \"CN\" (target 100, split evenly): allocate: locked "
                     "parts sum to 200, beyond the total 100");
    assert_null(s);
    assert_int_equal(sp_target_plan_decompose(&s, p, 1000, NULL), SP_OK);
    assert_string_equal(sp_target_set_lock_reason(s, fx_node(h, "East")), "r");
    assert_null(sp_target_set_lock_reason(s, fx_node(h, "West")));
    sp_target_set_free(s);
    sp_target_plan_free(p);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- allocation faults ---- */

typedef struct fault_state {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_target_plan *plan;
    facts f;
    sp_target_set *set;
} fault_state;

static int run_decompose(void *user)
{
    fault_state *s = user;
    return sp_target_plan_decompose(&s->set, s->plan, 6000, NULL);
}

static void undo_set(void *user)
{
    fault_state *s = user;
    sp_target_set_free(s->set);
    s->set = NULL;
}

static size_t live(void *user)
{
    return ((fault_state *)user)->alloc.live_blocks;
}

static int run_history(void *user)
{
    fault_state *s = user;
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    return sp_target_plan_load_history(s->plan, s->f.src, s->f.dict, &ho, NULL, NULL);
}

static int run_settings(void *user)
{
    fault_state *s = user;
    return sp_target_plan_set_settings(s->plan, example_settings, strlen(example_settings));
}

static void test_allocation_faults(void **state)
{
    (void)state;
    fault_state s;
    memset(&s, 0, sizeof s);
    spt_alloc_init(&s.alloc);
    s.ctx = spt_ctx_with(&s.alloc);
    sp_hierarchy *h = company(s.ctx);
    s.plan = quarter_plan(s.ctx, h);
    sp_hierarchy_free(h);
    s.f = make_facts(s.ctx, lines, sizeof lines / sizeof lines[0], NULL, 0);
    static const int enomem[] = { SP_ENOMEM };
    spt_injector inj = spt_alloc_injector(&s.alloc);
    spt_fault_case fc = { "settings", run_settings, NULL, NULL, live, enomem, 1, &s };
    assert_true(spt_fault_loop(&fc, &inj) > 3);
    fc = (spt_fault_case){ "history", run_history, NULL, NULL, live, enomem, 1, &s };
    assert_true(spt_fault_loop(&fc, &inj) > 3);
    fc = (spt_fault_case){ "decompose", run_decompose, undo_set, NULL, live, enomem, 1, &s };
    assert_true(spt_fault_loop(&fc, &inj) > 3);
    free_facts(&s.f);
    sp_target_plan_free(s.plan);
    sp_ctx_free(s.ctx);
    assert_int_equal(s.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_refunds_and_trailing),
        cmocka_unit_test(test_settings_errors),
        cmocka_unit_test(test_settings_example_and_canonical),
        cmocka_unit_test(test_properties),
        cmocka_unit_test(test_history_against_naive),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_replan_pacing_reconcile),
        cmocka_unit_test(test_sums_beyond_int64),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_allocation_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
