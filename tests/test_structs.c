/*
 * Every public versioned struct, through its init function: the function FFI callers use
 * in place of SP_X_INIT. Each must write exactly what the macro writes for the current
 * version, refuse version 0 and versions from the future without touching the struct,
 * refuse NULL, and never write past the struct. tests/check_structs.py checks that this
 * table names every versioned struct of the public headers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"

typedef int (*init_fn)(void *s, uint32_t version);

typedef struct struct_case {
    const char *name;
    size_t size;
    uint32_t version;
    init_fn init;
    const void *tmpl; /* the macro's value */
} struct_case;

/* For each struct: a call through a generic pointer, and the macro as a static object
 * (static, so its padding bytes are zero as the library's template's are). */
#define STRUCT(type, PREFIX)                                                                  \
    static int init_##type(void *s, uint32_t version) { return type##_init(s, version); }    \
    static const type tmpl_##type = PREFIX##_INIT;
#define CASE(type, PREFIX) { #type, sizeof(type), PREFIX##_VERSION, init_##type, &tmpl_##type }

STRUCT(sp_ctx_options, SP_CTX_OPTIONS)
STRUCT(sp_progress, SP_PROGRESS)
STRUCT(sp_alloc_options, SP_ALLOC_OPTIONS)
STRUCT(sp_storage, SP_STORAGE)
STRUCT(sp_file_store_options, SP_FILE_STORE_OPTIONS)
STRUCT(sp_fact_batch, SP_FACT_BATCH)
STRUCT(sp_fact_query, SP_FACT_QUERY)
STRUCT(sp_fact_source, SP_FACT_SOURCE)
STRUCT(sp_reconcile_options, SP_RECONCILE_OPTIONS)
STRUCT(sp_reconcile_output, SP_RECONCILE_OUTPUT)
STRUCT(sp_calendar_options, SP_CALENDAR_OPTIONS)
STRUCT(sp_target_plan_options, SP_TARGET_PLAN_OPTIONS)
STRUCT(sp_target_plan_info, SP_TARGET_PLAN_INFO)
STRUCT(sp_target_history_options, SP_TARGET_HISTORY_OPTIONS)
STRUCT(sp_target_history_report, SP_TARGET_HISTORY_REPORT)
STRUCT(sp_target_set_info, SP_TARGET_SET_INFO)
STRUCT(sp_target_set_data, SP_TARGET_SET_DATA)
STRUCT(sp_target_comparison_data, SP_TARGET_COMPARISON_DATA)
STRUCT(sp_target_replan_options, SP_TARGET_REPLAN_OPTIONS)
STRUCT(sp_target_pacing_options, SP_TARGET_PACING_OPTIONS)
STRUCT(sp_target_pacing_output, SP_TARGET_PACING_OUTPUT)
STRUCT(sp_decomp_rule, SP_DECOMP_RULE)
STRUCT(sp_decomp_output, SP_DECOMP_OUTPUT)
STRUCT(sp_season_options, SP_SEASON_OPTIONS)
STRUCT(sp_timesplit_options, SP_TIMESPLIT_OPTIONS)
STRUCT(sp_replan_options, SP_REPLAN_OPTIONS)
STRUCT(sp_replan_output, SP_REPLAN_OUTPUT)
STRUCT(sp_pacing_options, SP_PACING_OPTIONS)
STRUCT(sp_pacing_output, SP_PACING_OUTPUT)
STRUCT(sp_commission_plan_info, SP_COMMISSION_PLAN_INFO)
STRUCT(sp_commission_component_info, SP_COMMISSION_COMPONENT_INFO)
STRUCT(sp_commission_run_options, SP_COMMISSION_RUN_OPTIONS)
STRUCT(sp_commission_run_info, SP_COMMISSION_RUN_INFO)
STRUCT(sp_commission_statement, SP_COMMISSION_STATEMENT)
STRUCT(sp_commission_kind, SP_COMMISSION_KIND)
STRUCT(sp_commission_posted, SP_COMMISSION_POSTED)
STRUCT(sp_commission_stored_part, SP_COMMISSION_STORED_PART)

static const struct_case cases[] = {
    CASE(sp_ctx_options, SP_CTX_OPTIONS),
    CASE(sp_progress, SP_PROGRESS),
    CASE(sp_alloc_options, SP_ALLOC_OPTIONS),
    CASE(sp_storage, SP_STORAGE),
    CASE(sp_file_store_options, SP_FILE_STORE_OPTIONS),
    CASE(sp_fact_batch, SP_FACT_BATCH),
    CASE(sp_fact_query, SP_FACT_QUERY),
    CASE(sp_fact_source, SP_FACT_SOURCE),
    CASE(sp_reconcile_options, SP_RECONCILE_OPTIONS),
    CASE(sp_reconcile_output, SP_RECONCILE_OUTPUT),
    CASE(sp_calendar_options, SP_CALENDAR_OPTIONS),
    CASE(sp_target_plan_options, SP_TARGET_PLAN_OPTIONS),
    CASE(sp_target_plan_info, SP_TARGET_PLAN_INFO),
    CASE(sp_target_history_options, SP_TARGET_HISTORY_OPTIONS),
    CASE(sp_target_history_report, SP_TARGET_HISTORY_REPORT),
    CASE(sp_target_set_info, SP_TARGET_SET_INFO),
    CASE(sp_target_set_data, SP_TARGET_SET_DATA),
    CASE(sp_target_comparison_data, SP_TARGET_COMPARISON_DATA),
    CASE(sp_target_replan_options, SP_TARGET_REPLAN_OPTIONS),
    CASE(sp_target_pacing_options, SP_TARGET_PACING_OPTIONS),
    CASE(sp_target_pacing_output, SP_TARGET_PACING_OUTPUT),
    CASE(sp_decomp_rule, SP_DECOMP_RULE),
    CASE(sp_decomp_output, SP_DECOMP_OUTPUT),
    CASE(sp_season_options, SP_SEASON_OPTIONS),
    CASE(sp_timesplit_options, SP_TIMESPLIT_OPTIONS),
    CASE(sp_replan_options, SP_REPLAN_OPTIONS),
    CASE(sp_replan_output, SP_REPLAN_OUTPUT),
    CASE(sp_pacing_options, SP_PACING_OPTIONS),
    CASE(sp_pacing_output, SP_PACING_OUTPUT),
    CASE(sp_commission_plan_info, SP_COMMISSION_PLAN_INFO),
    CASE(sp_commission_component_info, SP_COMMISSION_COMPONENT_INFO),
    CASE(sp_commission_run_options, SP_COMMISSION_RUN_OPTIONS),
    CASE(sp_commission_run_info, SP_COMMISSION_RUN_INFO),
    CASE(sp_commission_statement, SP_COMMISSION_STATEMENT),
    CASE(sp_commission_kind, SP_COMMISSION_KIND),
    CASE(sp_commission_posted, SP_COMMISSION_POSTED),
    CASE(sp_commission_stored_part, SP_COMMISSION_STORED_PART),
};

/* Room for the largest struct and a guard band after it. */
#define GUARD 64
#define ROOM 1024

static void fill(unsigned char *buf, unsigned char byte)
{
    memset(buf, byte, ROOM + GUARD);
}

static bool all_are(const unsigned char *p, size_t n, unsigned char byte)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != byte)
            return false;
    return true;
}

static void test_init_equals_macro(void **state)
{
    (void)state;
    _Alignas(max_align_t) unsigned char buf[ROOM + GUARD];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct_case *c = &cases[i];
        assert_true(c->size <= ROOM);
        /* The version field comes first and the macro sets it. */
        uint32_t v;
        memcpy(&v, c->tmpl, sizeof v);
        if (v != c->version || c->version == 0)
            fail_msg("%s: SP_X_INIT has version %u, SP_X_VERSION is %u", c->name, (unsigned)v,
                     (unsigned)c->version);
        fill(buf, 0xA5);
        int rc = c->init(buf, c->version);
        if (rc != SP_OK)
            fail_msg("%s: init(version %u) returned %d", c->name, (unsigned)c->version, rc);
        if (memcmp(buf, c->tmpl, c->size) != 0)
            fail_msg("%s: the init function and SP_X_INIT differ", c->name);
        if (!all_are(buf + c->size, GUARD, 0xA5))
            fail_msg("%s: init wrote past the struct", c->name);
    }
}

static void test_init_refuses(void **state)
{
    (void)state;
    _Alignas(max_align_t) unsigned char buf[ROOM + GUARD];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct_case *c = &cases[i];
        const uint32_t bad[] = { 0, c->version + 1, UINT32_MAX };
        for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
            fill(buf, 0x5A);
            int rc = c->init(buf, bad[k]);
            if (rc != SP_EVERSION)
                fail_msg("%s: init(version %u) returned %d, not SP_EVERSION", c->name,
                         (unsigned)bad[k], rc);
            if (!all_are(buf, ROOM + GUARD, 0x5A))
                fail_msg("%s: init(version %u) wrote to the struct", c->name, (unsigned)bad[k]);
        }
        if (c->init(NULL, c->version) != SP_EINVAL)
            fail_msg("%s: init(NULL) is not SP_EINVAL", c->name);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_equals_macro),
        cmocka_unit_test(test_init_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
