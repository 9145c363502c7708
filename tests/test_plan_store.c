/* Plans and target sets in a store: round trips, versions, scenarios, conflicts, corrupt
 * records, and fault loops (allocator and storage) on every store-backed operation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"
#include "support/spt_storage.h"
#include "target_fixtures.h"

static const spec org[] = {
    { "CN", NULL },   { "East", "CN" }, { "West", "CN" }, { "e1", "East" },
    { "e2", "East" }, { "w1", "West" }, { "w2", "West" },
};
#define ORG_N (sizeof org / sizeof org[0])
static const char *const levels[] = { "company", "region", "rep" };
static const char *const all_ns[] = { "target.plan", "target.set" };

static const char plan_settings[] =
    "{\"levels\": {\"rep\": {\"method\": \"driver\", \"driver\": \"potential\"}},"
    " \"locks\": {\"West\": {\"value\": 40, \"reason\": \"agreed in person\"}},"
    " \"seasonality\": {\"profiles\": {\"East\": {\"method\": \"average_share\"},"
    " \"w1\": {\"method\": \"shares\", \"shares\": [1,1,1,2], \"policy\": \"normalise\"}}}}";

/* A plan with a driver, settings and one year of history (e1 sells in Q1 and Q4). */
static sp_target_plan *make_plan(sp_ctx *ctx, const char *id)
{
    sp_hierarchy *h = fx_build(ctx, org, ORG_N);
    assert_int_equal(sp_hierarchy_set_levels(h, levels, 3), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.name = "计划 2026";
    o.currency = "CNY";
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_QUARTER;
    int32_t hol[] = { 20454 };
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    cal.weekend = SP_SATURDAY | SP_SUNDAY;
    cal.holidays = hol;
    cal.nholidays = 1;
    o.calendar = &cal;
    sp_target_plan *p = NULL;
    assert_int_equal(sp_target_plan_new(&p, ctx, id, h, &o), SP_OK);
    sp_hierarchy_free(h);
    const int64_t potential[ORG_N] = { 0, 0, 0, 3, 1, 1, 1 };
    const uint8_t valid[ORG_N] = { 0, 1, 1, 1, 1, 1, 1 };
    assert_int_equal(sp_target_plan_set_driver(p, "potential", potential, valid, ORG_N), SP_OK);
    assert_int_equal(sp_target_plan_set_settings(p, plan_settings, strlen(plan_settings)), SP_OK);
    sp_dict *dict = NULL;
    sp_fact_source *src = NULL;
    assert_int_equal(sp_dict_new(&dict, ctx), SP_OK);
    assert_int_equal(sp_fact_source_memory_new(&src, ctx), SP_OK);
    uint32_t e1;
    assert_int_equal(sp_dict_add(dict, "e1", 2, &e1), SP_OK);
    uint64_t ids[] = { 1, 2 };
    int32_t days[] = { 20100, 20400 }; /* 2025-01-13, 2025-11-09 */
    uint32_t reps[] = { e1, e1 };
    int64_t amounts[] = { 300, 700 };
    sp_fact_batch b = SP_FACT_BATCH_INIT;
    b.kind = SP_FACT_ORDER_LINES;
    b.count = 2;
    b.id = ids;
    b.day = days;
    b.rep = reps;
    b.amount = amounts;
    assert_int_equal(sp_fact_source_memory_append(src, &b), SP_OK);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 1;
    assert_int_equal(sp_target_plan_load_history(p, src, dict, &ho, NULL, NULL), SP_OK);
    sp_fact_source_free(src);
    sp_dict_free(dict);
    return p;
}

static void expect_equal_sets(const sp_target_set *a, const sp_target_set *b)
{
    sp_target_set_data da = SP_TARGET_SET_DATA_INIT, db = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_data(a, &da), SP_OK);
    assert_int_equal(sp_target_set_get_data(b, &db), SP_OK);
    assert_int_equal(da.nnodes, db.nnodes);
    assert_int_equal(da.nperiods, db.nperiods);
    assert_int_equal(da.nprofiles, db.nprofiles);
    assert_int_equal(da.weighting, db.weighting);
    assert_memory_equal(da.annual, db.annual, da.nnodes * 8);
    assert_memory_equal(da.flags, db.flags, da.nnodes * 4);
    assert_memory_equal(da.growth, db.growth, da.nnodes * 8);
    assert_memory_equal(da.common_growth, db.common_growth, da.nnodes * 8);
    assert_memory_equal(da.periods, db.periods, da.nnodes * da.nperiods * 8);
    assert_memory_equal(da.profiles, db.profiles, da.nprofiles * da.nperiods * 8);
    assert_memory_equal(da.profile_of, db.profile_of, da.nnodes * 4);
    for (uint32_t v = 0; v < da.nnodes; v++) {
        const char *ra = sp_target_set_lock_reason(a, v), *rb = sp_target_set_lock_reason(b, v);
        assert_true((ra == NULL) == (rb == NULL));
        if (ra != NULL)
            assert_string_equal(ra, rb);
    }
}

static void test_round_trips(void **state)
{
    (void)state;
    sp_ctx *ctx = fx_ctx();
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_memory_new(&st, ctx), SP_OK);
    sp_target_plan *p = make_plan(ctx, "FY2026");
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(p, &pi), SP_OK);
    assert_int_equal(pi.revision, 1);

    sp_target_plan *q = NULL;
    assert_int_equal(sp_target_plan_load(&q, ctx, st, "FY2026"), SP_OK);
    sp_target_plan_info qi = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(q, &qi), SP_OK);
    assert_int_equal(qi.revision, 1);
    assert_string_equal(qi.name, "计划 2026");
    assert_string_equal(qi.currency, "CNY");
    assert_int_equal(qi.nperiods, 4);
    const char *js, *jq;
    size_t ls, lq;
    assert_int_equal(sp_target_plan_get_settings(p, &js, &ls), SP_OK);
    assert_int_equal(sp_target_plan_get_settings(q, &jq, &lq), SP_OK);
    assert_int_equal(ls, lq);
    assert_memory_equal(js, jq, ls);
    assert_int_equal(sp_target_plan_driver_count(q), 3);
    /* The history row the settings use (East) came along; others did not. */
    const int64_t *row;
    assert_int_equal(sp_target_plan_history(q, 1, &row, NULL, NULL), SP_OK);
    assert_int_equal(row[0], 300);
    assert_int_equal(row[3], 700);
    assert_int_equal(sp_target_plan_history(q, 3, &row, NULL, NULL), SP_ENOTFOUND);

    sp_target_set *sp = NULL, *sq = NULL;
    assert_int_equal(sp_target_plan_decompose(p, 100000, NULL, &sp), SP_OK);
    assert_int_equal(sp_target_plan_decompose(q, 100000, NULL, &sq), SP_OK);
    expect_equal_sets(sp, sq);

    /* Versions and scenarios. */
    uint32_t v = 0;
    assert_int_equal(sp_target_set_save(sp, st, "base", "first cut", 20500, &v), SP_OK);
    assert_int_equal(v, 1);
    fx_expect_error(ctx, sp_target_set_save(sp, st, "base", NULL, 20500, &v), SP_ECONFLICT,
                    "target set: already saved as \"base\" version 1 (a saved set is immutable)");
    assert_int_equal(sp_target_set_save(sq, st, "base", NULL, 20501, &v), SP_OK);
    assert_int_equal(v, 2);
    sp_target_set *stretch = NULL;
    assert_int_equal(sp_target_plan_decompose(p, 120000, NULL, &stretch), SP_OK);
    assert_int_equal(sp_target_set_save(stretch, st, "stretch", "+20 %", 20502, &v), SP_OK);
    assert_int_equal(v, 1);
    uint32_t versions[4] = { 9, 9, 9, 9 };
    size_t count = 0;
    assert_int_equal(sp_target_set_versions(ctx, st, "FY2026", "base", versions, 4, &count), SP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(versions[0], 1);
    assert_int_equal(versions[1], 2);
    assert_int_equal(sp_target_set_versions(ctx, st, "FY2026", "base", versions, 1, &count),
                     SP_EBUFFER);
    assert_int_equal(count, 2);
    sp_target_names *names = NULL;
    assert_int_equal(sp_target_scenarios(&names, ctx, st, "FY2026"), SP_OK);
    assert_int_equal(sp_target_names_count(names), 2);
    assert_string_equal(sp_target_names_at(names, 0), "base");
    assert_string_equal(sp_target_names_at(names, 1), "stretch");
    assert_null(sp_target_names_at(names, 2));
    sp_target_names_free(names);
    assert_int_equal(sp_target_plans(&names, ctx, st), SP_OK);
    assert_int_equal(sp_target_names_count(names), 1);
    assert_string_equal(sp_target_names_at(names, 0), "FY2026");
    sp_target_names_free(names);

    sp_target_set *l = NULL;
    assert_int_equal(sp_target_set_load(&l, ctx, st, "FY2026", "base", 0), SP_OK);
    sp_target_set_info li = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(l, &li), SP_OK);
    assert_int_equal(li.set_version, 2);
    assert_int_equal(li.saved_day, 20501);
    assert_string_equal(li.scenario, "base");
    assert_string_equal(li.note, "");
    assert_int_equal(li.plan_revision, 1);
    expect_equal_sets(l, sp);
    fx_expect_error(ctx, sp_target_set_save(l, st, "base", NULL, 1, &v), SP_ECONFLICT,
                    "target set: already saved as \"base\" version 2 (a saved set is immutable)");
    sp_target_set_free(l);
    assert_int_equal(sp_target_set_load(&l, ctx, st, "FY2026", "stretch", 1), SP_OK);
    expect_equal_sets(l, stretch);
    assert_string_equal(sp_target_set_lock_reason(l, 2), "agreed in person");
    sp_target_set_free(l);
    l = NULL;
    fx_expect_error(ctx, sp_target_set_load(&l, ctx, st, "FY2026", "base", 3), SP_ENOTFOUND,
                    "target set: plan \"FY2026\" has no version 3 of scenario \"base\"");
    fx_expect_error(ctx, sp_target_set_load(&l, ctx, st, "FY2026", "wild", 0), SP_ENOTFOUND,
                    "target set: plan \"FY2026\" has no saved scenario \"wild\"");
    assert_null(l);

    /* Optimistic revisions: q (revision 1) saves; p (also 1) is then out of date. */
    assert_int_equal(sp_target_plan_save(q, st), SP_OK);
    fx_expect_error(ctx, sp_target_plan_save(p, st), SP_ECONFLICT,
                    "target plan \"FY2026\": the store holds revision 2, this copy is revision 1 "
                    "(load the plan again before saving)");
    sp_target_plan *missing = NULL;
    fx_expect_error(ctx, sp_target_plan_load(&missing, ctx, st, "FY2027"), SP_ENOTFOUND,
                    "target plan \"FY2027\" is not in the store");

    sp_target_set_free(stretch);
    sp_target_set_free(sp);
    sp_target_set_free(sq);
    sp_target_plan_free(p);
    sp_target_plan_free(q);
    sp_storage_free(st);
    sp_ctx_free(ctx);
}

/* A stored set whose periods were edited no longer sums: SP_ECORRUPT, nothing made. */
static void test_corrupt_records(void **state)
{
    (void)state;
    sp_ctx *ctx = fx_ctx();
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_memory_new(&st, ctx), SP_OK);
    sp_target_plan *p = make_plan(ctx, "P");
    sp_target_set *s = NULL;
    assert_int_equal(sp_target_plan_decompose(p, 100000, NULL, &s), SP_OK);
    assert_int_equal(sp_target_set_save(s, st, "base", NULL, 0, NULL), SP_OK);
    /* Read the record back through the table and change one period. */
    const uint8_t key[] = { 'P', 0, 1, 'b', 'a', 's', 'e', 0, 1, 0, 0, 0, 1 };
    const uint8_t *val;
    size_t len;
    assert_int_equal(st->get(st->user, "target.set", key, sizeof key, &val, &len), SP_OK);
    char *copy = malloc(len + 1);
    memcpy(copy, val, len);
    copy[len] = '\0';
    char *periods = strstr(copy, "\"periods\":[");
    assert_non_null(periods);
    periods += strlen("\"periods\":[");
    /* The root's first period is a number; make its first digit a different one. */
    *periods = *periods == '1' ? '2' : '1';
    spt_storage_begin(st);
    spt_storage_put(st, "target.set", key, sizeof key, copy, len);
    spt_storage_commit(st);
    free(copy);
    sp_target_set *l = NULL;
    int rc = sp_target_set_load(&l, ctx, st, "P", "base", 1);
    assert_int_equal(rc, SP_ECORRUPT);
    assert_null(l);
    assert_non_null(strstr(sp_ctx_errmsg(ctx), "record target.set: periods: the periods of node 0 "
                                               "do not sum to its annual target"));
    /* A plan record of a newer format version: SP_EVERSION. */
    const uint8_t pkey[] = { 'Q', 0, 1 };
    spt_storage_begin(st);
    spt_storage_put(st, "target.plan", pkey, sizeof pkey, "{\"type\":\"target.plan\",\"v\":9}", 28);
    spt_storage_commit(st);
    sp_target_plan *q = NULL;
    rc = sp_target_plan_load(&q, ctx, st, "Q");
    if (rc != SP_EVERSION)
        fail_msg("%d %s", rc, sp_ctx_errmsg(ctx));
    assert_null(q);
    sp_target_set_free(s);
    sp_target_plan_free(p);
    sp_storage_free(st);
    sp_ctx_free(ctx);
}

/* ---- fault loops ---- */

typedef struct store_case {
    spt_alloc alloc;
    sp_ctx *ctx;       /* the operations' context (failing allocator) */
    sp_ctx *store_ctx; /* the store's own */
    sp_storage *store;
    const sp_storage *table;
    spt_snapshot *before;
    sp_target_plan *plan;
    sp_target_set *set;
    uint32_t revision;
    sp_target_plan *loaded_plan;
    sp_target_set *loaded_set;
} store_case;

static int run_plan_save(void *user)
{
    store_case *c = user;
    c->revision = 0;
    int rc = sp_target_plan_save(c->plan, c->table);
    sp_target_plan_info i = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(c->plan, &i), SP_OK);
    c->revision = i.revision;
    assert_int_equal(c->revision, rc == SP_OK ? 2 : 1);
    return rc;
}

static void undo_plan_save(void *user)
{
    store_case *c = user;
    spt_snapshot_restore(c->before, c->store);
    /* Back to revision 1: load the stored copy again. */
    sp_target_plan_free(c->plan);
    c->plan = NULL;
    assert_int_equal(sp_target_plan_load(&c->plan, c->ctx, c->store, "P"), SP_OK);
}

static void check_unchanged(void *user)
{
    store_case *c = user;
    spt_snapshot_assert_store(c->before, c->store);
}

static int run_set_save(void *user)
{
    store_case *c = user;
    uint32_t v = 77;
    int rc = sp_target_set_save(c->set, c->table, "base", "note", 5, &v);
    sp_target_set_info i = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(c->set, &i), SP_OK);
    assert_int_equal(i.set_version, rc == SP_OK ? 2 : 0);
    assert_int_equal(v, rc == SP_OK ? 2 : 77);
    return rc;
}

static void undo_set_save(void *user)
{
    store_case *c = user;
    spt_snapshot_restore(c->before, c->store);
    sp_target_set_free(c->set);
    c->set = NULL;
    assert_int_equal(sp_target_plan_decompose(c->plan, 100000, NULL, &c->set), SP_OK);
}

static int run_plan_load(void *user)
{
    store_case *c = user;
    return sp_target_plan_load(&c->loaded_plan, c->ctx, c->table, "P");
}

static int run_set_load(void *user)
{
    store_case *c = user;
    return sp_target_set_load(&c->loaded_set, c->ctx, c->table, "P", "base", 0);
}

static int run_lists(void *user)
{
    store_case *c = user;
    sp_target_names *n = NULL;
    uint32_t v[4];
    size_t count;
    int rc = sp_target_scenarios(&n, c->ctx, c->table, "P");
    sp_target_names_free(n);
    if (rc == SP_OK)
        rc = sp_target_set_versions(c->ctx, c->table, "P", "base", v, 4, &count);
    return rc;
}

static void undo_loads(void *user)
{
    store_case *c = user;
    sp_target_plan_free(c->loaded_plan);
    sp_target_set_free(c->loaded_set);
    c->loaded_plan = NULL;
    c->loaded_set = NULL;
}

static size_t live(void *user)
{
    return ((store_case *)user)->alloc.live_blocks;
}

static void setup_case(store_case *c)
{
    memset(c, 0, sizeof *c);
    spt_alloc_init(&c->alloc);
    c->ctx = spt_ctx_with(&c->alloc);
    c->store_ctx = fx_ctx();
    assert_int_equal(sp_storage_memory_new(&c->store, c->store_ctx), SP_OK);
    c->table = c->store;
    c->plan = make_plan(c->ctx, "P");
    assert_int_equal(sp_target_plan_save(c->plan, c->store), SP_OK);
    assert_int_equal(sp_target_plan_decompose(c->plan, 100000, NULL, &c->set), SP_OK);
    assert_int_equal(sp_target_set_save(c->set, c->store, "base", NULL, 1, NULL), SP_OK);
    sp_target_set_free(c->set);
    assert_int_equal(sp_target_plan_decompose(c->plan, 100000, NULL, &c->set), SP_OK);
    c->before = spt_snapshot_take(c->store, all_ns, 2);
}

static void teardown_case(store_case *c)
{
    spt_snapshot_free(c->before);
    sp_target_set_free(c->set);
    sp_target_plan_free(c->plan);
    sp_storage_free(c->store);
    sp_ctx_free(c->store_ctx);
    assert_int_equal(c->alloc.live_blocks, 1);
    sp_ctx_free(c->ctx);
}

static void loops(store_case *c, const spt_injector *inj, const int *errors, size_t nerrors)
{
    spt_fault_case cases[] = {
        { "plan save", run_plan_save, undo_plan_save, check_unchanged, live, errors, nerrors, c },
        { "set save", run_set_save, undo_set_save, check_unchanged, live, errors, nerrors, c },
        { "plan load", run_plan_load, undo_loads, check_unchanged, live, errors, nerrors, c },
        { "set load", run_set_load, undo_loads, check_unchanged, live, errors, nerrors, c },
        { "lists", run_lists, NULL, check_unchanged, live, errors, nerrors, c },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (spt_fault_loop(&cases[i], inj) < 1)
            fail_msg("%s: no failure point", cases[i].name);
}

static void test_faults_allocator(void **state)
{
    (void)state;
    store_case c;
    setup_case(&c);
    static const int enomem[] = { SP_ENOMEM };
    spt_injector inj = spt_alloc_injector(&c.alloc);
    loops(&c, &inj, enomem, 1);
    teardown_case(&c);
}

static void storage_faults(bool apply_then_fail)
{
    store_case c;
    setup_case(&c);
    spt_failing_storage f;
    spt_failing_storage_init(&f, c.store);
    f.apply_then_fail = apply_then_fail;
    c.table = &f.table;
    static const int estorage[] = { SP_ESTORAGE };
    spt_injector inj = spt_failing_storage_injector(&f);
    loops(&c, &inj, estorage, 1);
    teardown_case(&c);
}

static void test_faults_storage(void **state)
{
    (void)state;
    storage_faults(false);
    storage_faults(true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trips),
        cmocka_unit_test(test_corrupt_records),
        cmocka_unit_test(test_faults_allocator),
        cmocka_unit_test(test_faults_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
