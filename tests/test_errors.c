/*
 * The error contract (docs/conventions.md): every failing call that has a context records
 * its status and a message in that context, prefixed by the module and object it comes
 * from. Each row below makes one public function fail one way; before each call the
 * context holds an unrelated sentinel error, and after it the context must hold the call's
 * own status and a new message that starts with the expected prefix. A function that
 * failed silently would leave the sentinel, which a binding would then show as the reason.
 * Pure functions without a context (money arithmetic, civil dates) are not here: their
 * status says everything.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"

typedef struct fixture {
    sp_ctx *ctx;
    sp_hierarchy *h;     /* Co -> A, B; validated; levels company, region */
    sp_hierarchy *open;  /* one node, never validated */
    sp_calendar *cal;
    sp_dict *dict;
    sp_fact_source *facts;
    sp_storage *store;
    sp_decomp *decomp;
    sp_target_plan *plan;
    sp_target_set *set;
    sp_target_comparison *cmp;
} fixture;

static fixture fx;

static void setup_fixture(void)
{
    assert_int_equal(sp_ctx_new(&fx.ctx, NULL), SP_OK);
    sp_ctx *ctx = fx.ctx;
    const char *ids[] = { "Co", "A", "B" }, *parents[] = { NULL, "Co", "Co" };
    const char *levels[] = { "company", "region" };
    assert_int_equal(sp_hierarchy_new(&fx.h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(fx.h, ids, NULL, parents, NULL, 3, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_set_levels(fx.h, levels, 2), SP_OK);
    assert_int_equal(sp_hierarchy_validate(fx.h), SP_OK);
    assert_int_equal(sp_hierarchy_new(&fx.open, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add(fx.open, "x", 1, NULL, 0, NULL), SP_OK);
    assert_int_equal(sp_calendar_new(&fx.cal, ctx, NULL), SP_OK);
    assert_int_equal(sp_dict_new(&fx.dict, ctx), SP_OK);
    assert_int_equal(sp_dict_add(fx.dict, "A", 1, NULL), SP_OK);
    assert_int_equal(sp_fact_source_memory_new(&fx.facts, ctx), SP_OK);
    assert_int_equal(sp_storage_memory_new(&fx.store, ctx), SP_OK);
    assert_int_equal(sp_decomp_new(&fx.decomp, fx.h), SP_OK);
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.fiscal_year = 2026;
    assert_int_equal(sp_target_plan_new(&fx.plan, ctx, "p", fx.h, &po), SP_OK);
    assert_int_equal(sp_target_plan_decompose(&fx.set, fx.plan, 1000, NULL), SP_OK);
    assert_int_equal(sp_target_compare(&fx.cmp, fx.set, fx.set), SP_OK);
}

static void teardown_fixture(void)
{
    sp_target_comparison_free(fx.cmp);
    sp_target_set_free(fx.set);
    sp_target_plan_free(fx.plan);
    sp_decomp_free(fx.decomp);
    sp_storage_free(fx.store);
    sp_fact_source_free(fx.facts);
    sp_dict_free(fx.dict);
    sp_calendar_free(fx.cal);
    sp_hierarchy_free(fx.open);
    sp_hierarchy_free(fx.h);
    sp_ctx_free(fx.ctx);
}

/* One failing call. */
typedef struct error_case {
    const char *what;
    int (*call)(void);
    int rc;
    const char *prefix; /* the message starts with it */
} error_case;

/* Scratch outputs the calls write to (never on error). */
static int64_t i64[16];
static uint32_t u32[16];
static int32_t i32[64];
static size_t count;
static const char *text;
static char buf[64];

#define CALL(name, expr)                                                                      \
    static int name(void) { return expr; }

/* ---- money and allocation ---- */
CALL(money_parse_bad, sp_money_parse(fx.ctx, "1.2.3", 2, 0, SP_ROUND_HALF_EVEN, i64))
CALL(money_parse_null_out, sp_money_parse(fx.ctx, "1", 2, 0, SP_ROUND_HALF_EVEN, NULL))
CALL(dec_parse_bad, sp_dec_parse(fx.ctx, "x", 0, SP_ROUND_HALF_EVEN, i64))
CALL(allocate_negative_weight,
     sp_allocate(fx.ctx, 10, (const int64_t[]){ 1, -1 }, 2, NULL, i64))
CALL(allocate_null_out, sp_allocate(fx.ctx, 10, NULL, 2, NULL, NULL))

/* ---- storage, dictionaries, facts ---- */
CALL(memory_store_null_out, sp_storage_memory_new(NULL, fx.ctx))
CALL(file_store_missing, sp_storage_file_new(&(sp_storage *){ NULL }, fx.ctx,
                                             "/nonexistent-dir-of-salesplan/x.store", NULL))
CALL(file_store_absent, sp_storage_file_new(&(sp_storage *){ NULL }, fx.ctx,
                                            "/nonexistent-dir-of-salesplan/x.store",
                                            &(sp_file_store_options){ 1, 0 }))
CALL(file_store_null_path, sp_storage_file_new(&(sp_storage *){ NULL }, fx.ctx, NULL, NULL))
CALL(dict_new_null_out, sp_dict_new(NULL, fx.ctx))
CALL(dict_add_duplicate, sp_dict_add(fx.dict, "A", 1, u32))
CALL(dict_add_empty, sp_dict_add(fx.dict, "", 0, u32))
CALL(dict_intern_bad_utf8, sp_dict_intern(fx.dict, "\xff", 1, u32))
CALL(dict_add_all_null, sp_dict_add_all(fx.dict, NULL, NULL, 2, NULL))
CALL(dict_find_missing, sp_dict_find(fx.dict, "nope", 4, u32))
CALL(dict_add_packed_offsets, sp_dict_add_packed(fx.dict, "ab", 2, (const uint64_t[]){ 0, 3 },
                                                 1, u32))
CALL(dict_intern_packed_decreasing, sp_dict_intern_packed(fx.dict, "ab", 2,
                                                          (const uint64_t[]){ 2, 1 }, 1, u32))
CALL(dict_find_packed_null, sp_dict_find_packed(fx.dict, "ab", 2, NULL, 1, u32, &count))
CALL(dict_id_beyond, sp_dict_id(fx.dict, 99, &text, &count))
CALL(facts_new_null_out, sp_fact_source_memory_new(NULL, fx.ctx))
CALL(facts_append_no_amount, sp_fact_source_memory_append(fx.facts, &(sp_fact_batch){
    .version = SP_FACT_BATCH_VERSION, .kind = SP_FACT_ORDER_LINES, .count = 1,
    .id = (const uint64_t[]){ 1 }, .day = (const int32_t[]){ 20454 },
    .rep = (const uint32_t[]){ 0 } }))

/* ---- hierarchy ---- */
CALL(hierarchy_new_null_out, sp_hierarchy_new(NULL, fx.ctx))
CALL(hierarchy_add_null_id, sp_hierarchy_add(fx.open, NULL, 0, NULL, 0, NULL))
CALL(hierarchy_add_frozen_or_dup, sp_hierarchy_add(fx.open, "x", 1, NULL, 0, NULL))
CALL(hierarchy_add_packed_empty_id,
     sp_hierarchy_add_packed(fx.open, "ab", 2, (const uint64_t[]){ 0, 0 }, NULL, 0, NULL, 1,
                             u32))
CALL(hierarchy_add_all_null, sp_hierarchy_add_all(fx.open, NULL, NULL, NULL, NULL, 1, NULL))
CALL(hierarchy_levels_empty, sp_hierarchy_set_levels(fx.open, (const char *[]){ "" }, 1))
CALL(hierarchy_validate_no_root, sp_hierarchy_validate(fx.open) == SP_OK
                                     ? sp_hierarchy_add(fx.open, "y", 1, "z", 1, NULL) == SP_OK
                                           ? sp_hierarchy_validate(fx.open)
                                           : SP_EINTERNAL
                                     : SP_EINTERNAL)
CALL(hierarchy_find_missing, sp_hierarchy_find(fx.h, "nope", 4, u32))
CALL(hierarchy_id_beyond, sp_hierarchy_id(fx.h, 99, &text, &count))
CALL(hierarchy_root_unvalidated, sp_hierarchy_root(fx.open, u32))
CALL(hierarchy_root_null, sp_hierarchy_root(fx.h, NULL))
CALL(hierarchy_parent_null, sp_hierarchy_parent(fx.h, 0, NULL))
CALL(hierarchy_parent_beyond, sp_hierarchy_parent(fx.h, 99, u32))
CALL(hierarchy_children_null, sp_hierarchy_children(fx.h, 0, NULL, &count))
CALL(hierarchy_depth_null, sp_hierarchy_depth(fx.h, 0, NULL))
CALL(hierarchy_order_null, sp_hierarchy_order(fx.h, NULL, &count))
CALL(hierarchy_level_count_null, sp_hierarchy_level_count(fx.h, NULL))
CALL(hierarchy_level_name_beyond, sp_hierarchy_level_name(fx.h, 7, &text))
CALL(hierarchy_level_name_null, sp_hierarchy_level_name(fx.h, 0, NULL))
CALL(hierarchy_level_find_missing, sp_hierarchy_level_find(fx.h, "planet", u32))
CALL(hierarchy_level_find_null, sp_hierarchy_level_find(fx.h, NULL, u32))
CALL(hierarchy_rollup_null, sp_hierarchy_rollup(fx.h, NULL, 0, i64))
CALL(hierarchy_level_totals_small, sp_hierarchy_level_totals(fx.h, i64, i64, 1))
CALL(hierarchy_reconcile_unbalanced,
     sp_hierarchy_reconcile(fx.h, (const int64_t[]){ 10, 1, 1 }, (const int64_t[]){ 0, 1, 1 },
                            NULL, &(sp_reconcile_output){ SP_RECONCILE_OUTPUT_VERSION, NULL,
                                                          NULL, i64 }))

/* ---- calendar ---- */
CALL(calendar_new_bad, sp_calendar_new(&(sp_calendar *){ NULL }, fx.ctx,
                                       &(sp_calendar_options){ .version = 1, .kind = 9 }))
CALL(calendar_new_null_out, sp_calendar_new(NULL, fx.ctx, NULL))
CALL(calendar_periods_year, sp_calendar_periods(fx.cal, 0, SP_GRAIN_MONTH, i32, NULL, NULL, 64,
                                                &count))
CALL(calendar_periods_small, sp_calendar_periods(fx.cal, 2026, SP_GRAIN_MONTH, i32, NULL, NULL,
                                                 2, &count))
CALL(calendar_locate_far, sp_calendar_locate(fx.cal, INT32_MAX, SP_GRAIN_MONTH, i32, u32))
CALL(calendar_locate_many_null, sp_calendar_locate_many(fx.cal, NULL, 2, SP_GRAIN_MONTH, i32, u32))
CALL(calendar_parent_finer, sp_calendar_parent(fx.cal, 2026, SP_GRAIN_QUARTER, 0,
                                               SP_GRAIN_MONTH, u32))
CALL(calendar_label_small, sp_calendar_label(fx.cal, 2026, SP_GRAIN_MONTH, 0, buf, 2, &count))
CALL(calendar_working_days_null, sp_calendar_working_days(fx.cal, 0, 10, NULL))

/* ---- target kernels ---- */
CALL(decomp_new_null_out, sp_decomp_new(NULL, fx.h))
CALL(decomp_add_driver_short, sp_decomp_add_driver(fx.decomp, "d", i64, NULL, 1, u32))
CALL(decomp_find_driver_missing, sp_decomp_find_driver(fx.decomp, "nope", u32))
CALL(decomp_level_rule_bad, sp_decomp_set_level_rule(fx.decomp, 1, &(sp_decomp_rule){
    .version = SP_DECOMP_RULE_VERSION, .method = 9 }))
CALL(decomp_node_rule_beyond, sp_decomp_set_node_rule(fx.decomp, 99, NULL))
CALL(decomp_bounds_reversed, sp_decomp_set_bounds(fx.decomp, 1, 5, 4))
CALL(decomp_bounds_all_short, sp_decomp_set_bounds_all(fx.decomp, i64, NULL, 1))
CALL(decomp_growth_limits_reversed, sp_decomp_set_growth_limits(fx.decomp, 1, 5, 4))
CALL(decomp_lock_root, sp_decomp_lock(fx.decomp, 0, 5, "why"))
CALL(decomp_unlock_unlocked, sp_decomp_unlock(fx.decomp, 1))
CALL(decomp_lock_at_beyond, sp_decomp_lock_at(fx.decomp, 3, u32, i64, &text))
CALL(decomp_run_negative, sp_decomp_run(fx.decomp, -1, &(sp_decomp_output){
    SP_DECOMP_OUTPUT_VERSION, i64, NULL, NULL, NULL }))
CALL(season_shares_sum, sp_season_shares(fx.ctx, (const sp_dec[]){ 1, 2 }, 2,
                                         SP_PROFILE_REJECT, i64))
CALL(season_average_share_empty, sp_season_average_share(fx.ctx, i64, 0, 4, NULL, i64))
CALL(season_ratio_to_ma_short, sp_season_ratio_to_ma(fx.ctx, (const int64_t[]){ 1, 2, 3, 4 },
                                                     4, 4, NULL, i64))
CALL(timesplit_negative, sp_timesplit(fx.ctx, (const int64_t[]){ -1 }, 1,
                                      (const sp_dec[]){ 1, 1 }, 1, 2, NULL, i64))

/* ---- target plans and sets ---- */
CALL(plan_new_no_year, sp_target_plan_new(&(sp_target_plan *){ NULL }, fx.ctx, "q", fx.h, NULL))
CALL(plan_new_unvalidated, sp_target_plan_new(&(sp_target_plan *){ NULL }, fx.ctx, "q", fx.open,
                                              &(sp_target_plan_options){
                                                  .version = 1, .fiscal_year = 2026 }))
CALL(plan_get_info_null, sp_target_plan_get_info(fx.plan, NULL))
CALL(plan_set_driver_reserved, sp_target_plan_set_driver(fx.plan, "prior_year", i64, NULL, 3))
CALL(plan_driver_at_beyond, sp_target_plan_driver_at(fx.plan, 9, &text, NULL, NULL))
CALL(plan_set_settings_bad, sp_target_plan_set_settings(fx.plan, "{\"levls\": {}}", 13))
CALL(plan_get_settings_null, sp_target_plan_get_settings(fx.plan, NULL, &count))
CALL(plan_load_history_null, sp_target_plan_load_history(fx.plan, NULL, fx.dict, NULL, NULL,
                                                         NULL))
CALL(plan_history_none, sp_target_plan_history(fx.plan, 1, &(const int64_t *){ NULL }, &count,
                                               i32))
CALL(plan_history_null, sp_target_plan_history(fx.plan, 1, NULL, &count, i32))
CALL(plan_load_actuals_null, sp_target_plan_load_actuals(fx.plan, fx.facts, fx.dict, NULL, NULL,
                                                         NULL, NULL))
CALL(plan_decompose_null_out, sp_target_plan_decompose(NULL, fx.plan, 10, NULL))
CALL(plan_decompose_negative, sp_target_plan_decompose(&(sp_target_set *){ NULL }, fx.plan, -1,
                                                       NULL))
CALL(set_get_info_null, sp_target_set_get_info(fx.set, NULL))
CALL(set_get_data_null, sp_target_set_get_data(fx.set, NULL))
CALL(set_find_missing, sp_target_set_find(fx.set, "nope", 4, u32))
CALL(set_find_null, sp_target_set_find(fx.set, NULL, 0, u32))
CALL(compare_null_b, sp_target_compare(&(sp_target_comparison *){ NULL }, fx.set, NULL))
CALL(compare_null_out, sp_target_compare(NULL, fx.set, fx.set))
CALL(comparison_get_data_null, sp_target_comparison_get_data(fx.cmp, NULL))
CALL(set_reconcile_null, sp_target_set_reconcile(fx.set, NULL, NULL, NULL))
CALL(plan_replan_null_actual, sp_target_plan_replan(&(sp_target_set *){ NULL }, fx.plan, fx.set,
                                                    NULL, 1, NULL))
CALL(plan_pacing_null_actual, sp_target_plan_pacing(fx.plan, fx.set, 20500, NULL, NULL, NULL))
CALL(plan_save_null_store, sp_target_plan_save(fx.plan, NULL))
CALL(plan_load_missing, sp_target_plan_load(&(sp_target_plan *){ NULL }, fx.ctx, fx.store, "zz"))
CALL(set_save_bad_scenario, sp_target_set_save(fx.set, fx.store, "", NULL, 0, u32))
CALL(set_load_missing, sp_target_set_load(&(sp_target_set *){ NULL }, fx.ctx, fx.store, "zz", "b",
                                          0))
CALL(set_versions_null, sp_target_set_versions(fx.ctx, fx.store, "p", "base", NULL, 1, &count))
CALL(scenarios_null_out, sp_target_scenarios(NULL, fx.ctx, fx.store, "p"))
CALL(plans_null_out, sp_target_plans(NULL, fx.ctx, fx.store))

#define ROW(fn, rc, prefix) { #fn, fn, rc, prefix }

static const error_case cases[] = {
    ROW(money_parse_bad, SP_EINVAL, "money: "),
    ROW(money_parse_null_out, SP_EINVAL, "money: "),
    ROW(dec_parse_bad, SP_EINVAL, "decimal: "),
    ROW(allocate_negative_weight, SP_EINVAL, "allocate: "),
    ROW(allocate_null_out, SP_EINVAL, "allocate: "),
    ROW(memory_store_null_out, SP_EINVAL, "memory store: "),
    ROW(file_store_missing, SP_ESTORAGE, "file store: "),
    ROW(file_store_absent, SP_ENOTFOUND, "file store: "),
    ROW(file_store_null_path, SP_EINVAL, "file store: "),
    ROW(dict_new_null_out, SP_EINVAL, "dict: "),
    ROW(dict_add_duplicate, SP_ECONFLICT, "dict: "),
    ROW(dict_add_empty, SP_EINVAL, "dict: "),
    ROW(dict_intern_bad_utf8, SP_EINVAL, "dict: "),
    ROW(dict_add_all_null, SP_EINVAL, "dict: "),
    ROW(dict_find_missing, SP_ENOTFOUND, "dict: "),
    ROW(dict_add_packed_offsets, SP_EINVAL, "dict: "),
    ROW(dict_intern_packed_decreasing, SP_EINVAL, "dict: "),
    ROW(dict_find_packed_null, SP_EINVAL, "dict: "),
    ROW(dict_id_beyond, SP_ENOTFOUND, "dict: "),
    ROW(facts_new_null_out, SP_EINVAL, "memory fact source: "),
    ROW(facts_append_no_amount, SP_EINVAL, "order lines batch"),
    ROW(hierarchy_new_null_out, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_add_null_id, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_add_frozen_or_dup, SP_ECONFLICT, "hierarchy: "),
    ROW(hierarchy_add_packed_empty_id, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_add_all_null, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_levels_empty, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_validate_no_root, SP_EINVAL, "hierarchy: "),
    ROW(hierarchy_find_missing, SP_ENOTFOUND, "hierarchy: "),
    ROW(hierarchy_id_beyond, SP_ENOTFOUND, "hierarchy: "),
    ROW(hierarchy_root_unvalidated, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_root_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_parent_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_parent_beyond, SP_ENOTFOUND, "hierarchy "),
    ROW(hierarchy_children_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_depth_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_order_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_level_count_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_level_name_beyond, SP_ENOTFOUND, "hierarchy "),
    ROW(hierarchy_level_name_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_level_find_missing, SP_ENOTFOUND, "hierarchy "),
    ROW(hierarchy_level_find_null, SP_EINVAL, "hierarchy "),
    ROW(hierarchy_rollup_null, SP_EINVAL, "rollup: "),
    ROW(hierarchy_level_totals_small, SP_EBUFFER, "level totals: "),
    ROW(hierarchy_reconcile_unbalanced, SP_EINVAL, "reconcile: "),
    ROW(calendar_new_bad, SP_EINVAL, "calendar: "),
    ROW(calendar_new_null_out, SP_EINVAL, "calendar: "),
    ROW(calendar_periods_year, SP_EINVAL, "calendar: "),
    ROW(calendar_periods_small, SP_EBUFFER, "calendar: "),
    ROW(calendar_locate_far, SP_EINVAL, "calendar: "),
    ROW(calendar_locate_many_null, SP_EINVAL, "calendar: "),
    ROW(calendar_parent_finer, SP_EINVAL, "calendar: "),
    ROW(calendar_label_small, SP_EBUFFER, "calendar: "),
    ROW(calendar_working_days_null, SP_EINVAL, "calendar: "),
    ROW(decomp_new_null_out, SP_EINVAL, "decompose: "),
    ROW(decomp_add_driver_short, SP_EINVAL, "decompose: "),
    ROW(decomp_find_driver_missing, SP_ENOTFOUND, "decompose: "),
    ROW(decomp_level_rule_bad, SP_EINVAL, "decompose: "),
    ROW(decomp_node_rule_beyond, SP_ENOTFOUND, "decompose: "),
    ROW(decomp_bounds_reversed, SP_EINVAL, "decompose: "),
    ROW(decomp_bounds_all_short, SP_EINVAL, "decompose: "),
    ROW(decomp_growth_limits_reversed, SP_EINVAL, "decompose: "),
    ROW(decomp_lock_root, SP_EINVAL, "decompose: "),
    ROW(decomp_unlock_unlocked, SP_ENOTFOUND, "decompose: "),
    ROW(decomp_lock_at_beyond, SP_ENOTFOUND, "decompose: "),
    ROW(decomp_run_negative, SP_EINVAL, "decompose: "),
    ROW(season_shares_sum, SP_EINVAL, "season: "),
    ROW(season_average_share_empty, SP_EINVAL, "season: "),
    ROW(season_ratio_to_ma_short, SP_EINVAL, "season: "),
    ROW(timesplit_negative, SP_EINVAL, "timesplit: "),
    ROW(plan_new_no_year, SP_EINVAL, "target plan: "),
    ROW(plan_new_unvalidated, SP_EINVAL, "target plan: "),
    ROW(plan_get_info_null, SP_EINVAL, "target plan: "),
    ROW(plan_set_driver_reserved, SP_ECONFLICT, "target plan: "),
    ROW(plan_driver_at_beyond, SP_ENOTFOUND, "target plan: "),
    ROW(plan_set_settings_bad, SP_EINVAL, "target settings"),
    ROW(plan_get_settings_null, SP_EINVAL, "target plan: "),
    ROW(plan_load_history_null, SP_EINVAL, "target history: "),
    ROW(plan_history_none, SP_ENOTFOUND, "target plan: "),
    ROW(plan_history_null, SP_EINVAL, "target plan: "),
    ROW(plan_load_actuals_null, SP_EINVAL, "target actuals: "),
    ROW(plan_decompose_null_out, SP_EINVAL, "target plan: "),
    ROW(plan_decompose_negative, SP_EINVAL, "target plan: "),
    ROW(set_get_info_null, SP_EINVAL, "target set: "),
    ROW(set_get_data_null, SP_EINVAL, "target set: "),
    ROW(set_find_missing, SP_ENOTFOUND, "target set: "),
    ROW(set_find_null, SP_EINVAL, "target set: "),
    ROW(compare_null_b, SP_EINVAL, "target compare: "),
    ROW(compare_null_out, SP_EINVAL, "target compare: "),
    ROW(comparison_get_data_null, SP_EINVAL, "target comparison: "),
    ROW(set_reconcile_null, SP_EINVAL, "target set: reconcile: "),
    ROW(plan_replan_null_actual, SP_EINVAL, "target replan: "),
    ROW(plan_pacing_null_actual, SP_EINVAL, "target pacing: "),
    ROW(plan_save_null_store, SP_EINVAL, "storage: "),
    ROW(plan_load_missing, SP_ENOTFOUND, "target plan "),
    ROW(set_save_bad_scenario, SP_EINVAL, "target set: "),
    ROW(set_load_missing, SP_ENOTFOUND, "target set of plan "),
    ROW(set_versions_null, SP_EINVAL, "target set versions: "),
    ROW(scenarios_null_out, SP_EINVAL, "target scenarios: "),
    ROW(plans_null_out, SP_EINVAL, "target plans: "),
};

/* An unrelated error the call under test must replace. */
static void plant_sentinel(void)
{
    sp_ctx_clear_error(fx.ctx);
    int64_t v;
    assert_int_equal(sp_money_parse(fx.ctx, "sentinel", 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
}

static void test_every_failure_records_its_message(void **state)
{
    (void)state;
    setup_fixture();
    plant_sentinel();
    char sentinel[1024];
    snprintf(sentinel, sizeof sentinel, "%s", sp_ctx_errmsg(fx.ctx));
    int failures = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const error_case *c = &cases[i];
        plant_sentinel();
        int rc = c->call();
        const char *msg = sp_ctx_errmsg(fx.ctx);
        const char *why = NULL;
        if (rc != c->rc)
            why = "wrong status";
        else if (sp_ctx_errcode(fx.ctx) != rc)
            why = "the context's status is not the call's";
        else if (strcmp(msg, sentinel) == 0)
            why = "no message recorded (the sentinel is still there)";
        else if (strncmp(msg, c->prefix, strlen(c->prefix)) != 0)
            why = "the message does not start with the module's prefix";
        if (why != NULL) {
            print_error("%s: %s: rc %d (want %d), message \"%s\" (want prefix \"%s\")\n",
                        c->what, why, rc, c->rc, msg, c->prefix);
            failures++;
        }
    }
    teardown_fixture();
    assert_int_equal(failures, 0);
}

/* A call that succeeds leaves the last error as it was. */
static void test_success_keeps_the_last_error(void **state)
{
    (void)state;
    setup_fixture();
    plant_sentinel();
    char sentinel[1024];
    snprintf(sentinel, sizeof sentinel, "%s", sp_ctx_errmsg(fx.ctx));
    uint32_t index;
    assert_int_equal(sp_hierarchy_find(fx.h, "A", 1, &index), SP_OK);
    assert_int_equal(sp_dict_intern(fx.dict, "B", 1, &index), SP_OK);
    assert_int_equal(sp_decomp_add_driver(fx.decomp, "d", (const int64_t[]){ 1, 2, 3 }, NULL, 3,
                                          &index),
                     SP_OK);
    assert_int_equal(sp_target_set_find(fx.set, "B", 1, &index), SP_OK);
    /* Lookups that may miss: a dictionary id that is no node, nodes in one set only. */
    assert_int_equal(sp_dict_intern(fx.dict, "ghost", 5, &index), SP_OK);
    assert_int_equal(sp_target_plan_load_history(fx.plan, fx.facts, fx.dict, NULL, NULL, NULL),
                     SP_OK);
    sp_hierarchy *other;
    const char *ids[] = { "Co", "A", "C" }, *parents[] = { NULL, "Co", "Co" };
    assert_int_equal(sp_hierarchy_new(&other, fx.ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(other, ids, NULL, parents, NULL, 3, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(other), SP_OK);
    sp_target_plan *plan2;
    sp_target_set *set2;
    sp_target_comparison *cmp2;
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.fiscal_year = 2026;
    assert_int_equal(sp_target_plan_new(&plan2, fx.ctx, "q", other, &po), SP_OK);
    assert_int_equal(sp_target_plan_decompose(&set2, plan2, 10, NULL), SP_OK);
    assert_int_equal(sp_target_compare(&cmp2, fx.set, set2), SP_OK);
    sp_target_comparison_free(cmp2);
    sp_target_set_free(set2);
    sp_target_plan_free(plan2);
    sp_hierarchy_free(other);
    assert_int_equal(sp_ctx_errcode(fx.ctx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(fx.ctx), sentinel);
    teardown_fixture();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_failure_records_its_message),
        cmocka_unit_test(test_success_keeps_the_last_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
