/*
 * The public commission API (salesplan/commission.h): plans from documents, runs over the
 * built-in memory fact source, statements, explain; each expected value derived by hand in
 * the comments. Bad input names what is wrong and changes nothing; a fault loop fails every
 * allocation of the whole flow in turn.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

/* Marginal monthly tiers on the credited amount: 5 % up to 100.00, 10 % from 100.00 on. */
static const char MARGINAL[] =
    "{\"plan\": \"AE\", \"name\": \"Account executives\", "
    "\"effective\": {\"from\": \"2027-01-01\", \"to\": \"2027-12-31\"}, \"currency\": \"USD\", "
    "\"components\": [{\"id\": \"sales\", \"measure\": {\"kind\": \"amount\"}, "
    "\"period\": \"month\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": "
    "[{\"rate\": \"5%\"}, {\"from\": 100, \"rate\": \"10%\"}]}}]}";

/* Retroactive on attainment: 2 % below 100 %, 4 % of the whole from 100 % on. */
static const char RETRO[] =
    "{\"plan\": \"R\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": \"USD\", "
    "\"components\": [{\"id\": \"att\", \"measure\": {\"kind\": \"amount\"}, "
    "\"period\": \"month\", \"quota\": {\"given\": true}, \"schedule\": {\"kind\": "
    "\"retroactive\", \"on\": \"attainment\", \"tiers\": [{\"rate\": \"2%\"}, "
    "{\"from\": \"100%\", \"rate\": \"4%\"}]}}]}";

enum { A, B, X, NDICT };

typedef struct env {
    sp_ctx *ctx;
    sp_dict *dict;
    sp_fact_source *src;
} env;

/* Appends n facts of a kind to a memory source (ref NULL for order lines, rep NULL for
 * refunds and payments). */
static void append_facts(sp_fact_source *src, uint32_t kind, size_t n, const uint64_t *id,
                         const uint64_t *ref, const int32_t *day, const uint32_t *rep,
                         const int64_t *amount)
{
    sp_fact_batch b = SP_FACT_BATCH_INIT;
    b.kind = kind;
    b.count = n;
    b.id = id;
    b.ref = ref;
    b.day = day;
    b.rep = rep;
    b.amount = amount;
    assert_int_equal(sp_fact_source_memory_append(src, &b), SP_OK);
}

/* A: 60.00 on Jan 5 (fact 1), 70.00 on Jan 20 (fact 2); B: 50.00 on Jan 9 (fact 3); X,
 * no payee: 10.00 (fact 4); A: 999.00 on Feb 1 (fact 5), outside January. */
static void env_make(env *e, sp_ctx *ctx)
{
    e->ctx = ctx;
    static const char *const ids[NDICT] = { "A", "B", "X" };
    assert_int_equal(sp_dict_new(&e->dict, ctx), SP_OK);
    for (size_t i = 0; i < NDICT; i++) {
        uint32_t at;
        assert_int_equal(sp_dict_add(e->dict, ids[i], 1, &at), SP_OK);
        assert_int_equal(at, i);
    }
    assert_int_equal(sp_fact_source_memory_new(&e->src, ctx), SP_OK);
    uint64_t id[] = { 1, 2, 3, 4, 5 };
    int32_t day[] = { spt_day(2027, 1, 5), spt_day(2027, 1, 20), spt_day(2027, 1, 9),
                      spt_day(2027, 1, 9), spt_day(2027, 2, 1) };
    uint32_t rep[] = { A, A, B, X, A };
    int64_t amount[] = { 6000, 7000, 5000, 1000, 99900 };
    append_facts(e->src, SP_FACT_ORDER_LINES, 5, id, NULL, day, rep, amount);
}

static void env_free(env *e)
{
    sp_fact_source_free(e->src);
    sp_dict_free(e->dict);
}

static sp_commission_plan *plan_of(sp_ctx *ctx, const char *json)
{
    sp_commission_plan *p = NULL;
    assert_int_equal(sp_commission_plan_new(&p, ctx, json, strlen(json)), SP_OK);
    return p;
}

static sp_commission_run *january(const sp_commission_plan *p, uint32_t flags)
{
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    o.grain = SP_GRAIN_MONTH;
    o.index = 0;
    o.flags = flags;
    sp_commission_run *r = NULL;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    return r;
}

static void test_plan(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    sp_commission_plan_info info = SP_COMMISSION_PLAN_INFO_INIT;
    assert_int_equal(sp_commission_plan_get_info(p, &info), SP_OK);
    assert_string_equal(info.id, "AE");
    assert_string_equal(info.name, "Account executives");
    assert_string_equal(info.currency, "USD");
    assert_int_equal(info.exponent, 2);
    assert_int_equal(info.effective_from, spt_day(2027, 1, 1));
    assert_int_equal(info.effective_to, spt_day(2027, 12, 31));
    assert_int_equal(info.rounding, SP_ROUND_HALF_EVEN);
    assert_int_equal(info.policy, SP_COMMISSION_PER_TOTAL);
    assert_int_equal(info.ncomponents, 1);
    assert_int_equal(info.revision, 0);
    assert_non_null(info.calendar);
    sp_commission_component_info ci = SP_COMMISSION_COMPONENT_INFO_INIT;
    assert_int_equal(sp_commission_plan_component(p, 0, &ci), SP_OK);
    assert_string_equal(ci.id, "sales");
    assert_int_equal(ci.measure, SP_COMMISSION_AMOUNT);
    assert_int_equal(ci.grain, SP_GRAIN_MONTH);
    assert_int_equal(ci.on_attainment, 0);
    spt_expect_error(ctx, sp_commission_plan_component(p, 1, &ci), SP_EINVAL,
                     "commission plan \"AE\": component 1: it has 1");
    /* The canonical document reads back to the same bytes; an open end has INT32_MAX. */
    const char *doc;
    size_t len;
    assert_int_equal(sp_commission_plan_get_document(p, &doc, &len), SP_OK);
    assert_int_equal(strlen(doc), len);
    assert_non_null(strstr(doc, "\"rate\":0.05"));
    sp_commission_plan *q = plan_of(ctx, doc);
    const char *doc2;
    size_t len2;
    assert_int_equal(sp_commission_plan_get_document(q, &doc2, &len2), SP_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(doc, doc2, len);
    sp_commission_plan_free(q);
    q = plan_of(ctx, RETRO);
    assert_int_equal(sp_commission_plan_get_info(q, &info), SP_OK);
    assert_int_equal(info.effective_to, INT32_MAX);
    assert_string_equal(info.name, "");
    assert_int_equal(sp_commission_plan_component(q, 0, &ci), SP_OK);
    assert_int_equal(ci.on_attainment, 1);
    sp_commission_plan_free(q);
    /* Bad documents: the reader's message, nothing made. */
    q = NULL;
    spt_expect_error(ctx, sp_commission_plan_new(&q, ctx, "{\"plan\": 1}", 11), SP_EINVAL,
                     "commission plan: plan: expected a string, found 1 (line 1, column 10, byte 9)");
    assert_null(q);
    spt_expect_error(ctx, sp_commission_plan_new(&q, ctx, NULL, 0), SP_EINVAL,
                     "commission plan: json is NULL");
    sp_commission_plan_info bad = SP_COMMISSION_PLAN_INFO_INIT;
    bad.version = 9;
    spt_expect_error(ctx, sp_commission_plan_get_info(p, &bad), SP_EVERSION,
                     "sp_commission_plan_info: version 9 is not one this library writes (1 to 1)");
    sp_commission_plan_free(p);
    sp_commission_plan_free(NULL);
    sp_ctx_free(ctx);
}

/*
 * January under MARGINAL. A: 60.00 then 70.00. Line 1 moves the measure 0 -> 60: 60 x 5 %
 * = 3.00 (tier 0 -> 0). Line 2 moves it 60 -> 130: 40 x 5 % + 30 x 10 % = 2.00 + 3.00 =
 * 5.00 (tier 0 -> 1, rate 10 %). Total 8.00 = 100 x 5 % + 30 x 10 %. B: 50.00 x 5 % =
 * 2.50. X's line is skipped (no payee) and counted; A's February line is not read.
 */
static void test_run_marginal(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    sp_commission_run *r = january(p, 0);
    sp_commission_plan_free(p); /* the run holds its own copy */
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    spt_expect_error(ctx, sp_commission_run_statement(r, 0, &st), SP_EINVAL,
                     "commission run: not computed yet (sp_commission_run_compute)");
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.computed, 1);
    assert_int_equal(ri.npayees, 2);
    assert_int_equal(ri.ncomponents, 1);
    assert_int_equal(ri.nlines, 3);
    assert_int_equal(ri.first_day, spt_day(2027, 1, 1));
    assert_int_equal(ri.end_day, spt_day(2027, 2, 1));
    assert_int_equal(ri.lines_read, 4);
    assert_int_equal(ri.not_payee, 1);
    assert_int_equal(ri.totals_path, 0);

    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.payee, A);
    assert_int_equal(st.total, 800);
    assert_int_equal(st.ncomponents, 1);
    assert_int_equal(st.components[0], 800);
    assert_int_equal(st.measures[0], 13000);
    assert_null(st.quotas);
    assert_int_equal(st.rounding, SP_ROUND_HALF_EVEN);
    assert_int_equal(st.policy, SP_COMMISSION_PER_TOTAL);
    assert_int_equal(st.nlines, 2);
    const sp_commission_line *l = st.lines;
    assert_int_equal(l[0].fact, 1);
    assert_int_equal(l[0].base, 6000);
    assert_int_equal(l[0].earned, 300);
    assert_int_equal(l[0].tier_before, 0);
    assert_int_equal(l[0].tier_after, 0);
    assert_int_equal(l[0].day, spt_day(2027, 1, 5));
    assert_int_equal(l[0].share, SP_DEC_ONE);
    assert_int_equal(l[0].kind, SP_COMMISSION_LINE_ORDER);
    assert_int_equal(l[1].fact, 2);
    assert_int_equal(l[1].earned, 500);
    assert_int_equal(l[1].tier_after, 1);
    assert_int_equal(l[1].rate, SP_DEC_ONE / 10);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.payee, B);
    assert_int_equal(st.total, 250);
    assert_int_equal(st.nlines, 1);
    spt_expect_error(ctx, sp_commission_run_statement(r, 2, &st), SP_EINVAL,
                     "commission run: payee 2: the run has 2");

    /* Explain line 2 of A: the measure 60 -> 130 crossing into tiers[1] at 10 %. */
    char buf[2048];
    size_t len = 0;
    assert_int_equal(sp_commission_run_explain(r, 0, 1, buf, sizeof buf, &len), SP_OK);
    assert_int_equal(strlen(buf), len);
    static const char *const want[] = {
        "\"plan\":\"AE\"", "\"payee\":\"A\"", "\"component\":\"sales\"",
        "\"path\":\"components[0]\"", "\"kind\":\"order\"", "\"fact\":2",
        "\"day\":\"2027-01-20\"", "\"share\":1", "\"base\":70", "\"measure_before\":60",
        "\"measure_after\":130",
        "\"tier_before\":{\"index\":0,\"path\":\"components[0].schedule.tiers[0]\"}",
        "\"tier_after\":{\"index\":1,\"path\":\"components[0].schedule.tiers[1]\"}",
        "\"rate\":0.1", "\"earned\":5", "\"modifiers\":0",
        "\"rounding\":{\"mode\":\"half_even\",\"policy\":\"per_total\"}",
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++)
        if (strstr(buf, want[i]) == NULL)
            fail_msg("explain lacks %s: %s", want[i], buf);
    /* The total: 130 measured, 8.00 earned, the tier reached. */
    assert_int_equal(sp_commission_run_explain(r, 0, SIZE_MAX, buf, sizeof buf, &len), SP_OK);
    static const char *const want_total[] = {
        "\"total\":8", "\"id\":\"sales\"", "\"due\":true", "\"from\":\"2027-01-01\"",
        "\"to\":\"2027-01-31\"", "\"measure\":130", "\"lines\":2", "\"earned\":8",
        "\"tier\":{\"index\":1,",
    };
    for (size_t i = 0; i < sizeof want_total / sizeof *want_total; i++)
        if (strstr(buf, want_total[i]) == NULL)
            fail_msg("explain lacks %s: %s", want_total[i], buf);
    /* Too small a buffer: SP_EBUFFER with the length needed, the buffer untouched. */
    size_t need = len;
    char small[8] = "keep";
    len = 0;
    char msg[128];
    snprintf(msg, sizeof msg, "commission run: explain: a buffer of %zu bytes is too small: "
                              "the text needs %zu with its NUL", need, need + 1);
    spt_expect_error(ctx, sp_commission_run_explain(r, 0, SIZE_MAX, small, need, &len),
                     SP_EBUFFER, msg);
    assert_int_equal(len, need);
    assert_string_equal(small, "keep");
    spt_expect_error(ctx, sp_commission_run_explain(r, 1, 1, buf, sizeof buf, &len), SP_EINVAL,
                     "commission run: explain: payee \"B\" has 1 lines, not 2");

    /* A source that fails: the host's status, the earlier results kept. */
    sp_fact_source failing = *e.src;
    failing.scan = NULL;
    assert_int_not_equal(sp_commission_run_compute(r, &failing, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 800);
    sp_commission_run_free(r);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* The same run keeping totals only takes the totals path: the same totals, no lines,
 * and explain needs the lines for a line but not for the total. */
static void test_run_totals_only(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    sp_commission_run *r = january(p, SP_COMMISSION_TOTALS_ONLY);
    uint32_t payees[] = { B, A };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.totals_path, 1);
    assert_int_equal(ri.nlines, 0);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 250);
    assert_int_equal(st.nlines, 0);
    assert_null(st.lines);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 800);
    char buf[1024];
    size_t len;
    spt_expect_error(ctx, sp_commission_run_explain(r, 0, 0, buf, sizeof buf, &len), SP_EINVAL,
                     "commission run: explain: the run kept totals only (compute it without "
                     "SP_COMMISSION_TOTALS_ONLY to explain lines)");
    assert_int_equal(sp_commission_run_explain(r, 1, SIZE_MAX, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"total\":8"));
    assert_null(strstr(buf, "\"lines\""));
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * RETRO with quotas A 100.00, B 100.00. A: line 1 at 60 % earns 60 x 2 % = 1.20; line 2
 * reaches 130 %: the whole 130 at 4 % = 5.20, so 4.00 more: own 70 x 4 % = 2.80 and the
 * true-up of line 1, 60 x (4 % - 2 %) = 1.20. B at 50 %: 50 x 2 % = 1.00.
 */
static void test_run_quotas(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, RETRO);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0] (\"att\").schedule.on: a schedule on "
                     "attainment needs the payees' quotas (sp_commission_run_set_quotas)");
    int64_t quotas[] = { 10000, 10000 };
    spt_expect_error(ctx, sp_commission_run_set_quotas(r, quotas, 1), SP_EINVAL,
                     "commission run: quotas: 1 values for 2 payees x 1 components (2)");
    int64_t negative[] = { 10000, -1 };
    spt_expect_error(ctx, sp_commission_run_set_quotas(r, negative, 2), SP_EINVAL,
                     "commission run: quotas[1] (payee 1, components[0] (\"att\")): -1 is "
                     "negative");
    assert_int_equal(sp_commission_run_set_quotas(r, quotas, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 520);
    assert_int_equal(st.quotas[0], 10000);
    assert_int_equal(st.nlines, 2);
    assert_int_equal(st.lines[0].earned, 120);
    assert_int_equal(st.lines[1].earned, 400);
    assert_int_equal(st.lines[1].own, 280);
    assert_int_equal(st.lines[1].true_up, 120);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 100);
    char buf[2048];
    size_t len;
    assert_int_equal(sp_commission_run_explain(r, 0, 1, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"quota\":100"));
    assert_non_null(strstr(buf, "\"true_up\":1.2"));
    /* New payees clear the quotas: needed again. */
    assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0] (\"att\").schedule.on: a schedule on "
                     "attainment needs the payees' quotas (sp_commission_run_set_quotas)");
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* Splits: fact 2 (70.00 of A) split 50/50 between A and B. A is credited 60 + 35 = 95:
 * 95 x 5 % = 4.75; B 50 + 35 = 85: 4.25 (the splits apply to a component that takes
 * them: the plan says "splits": "facts"). */
static void test_run_splits(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    static const char SPLIT[] =
        "{\"plan\": \"S\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": \"USD\", "
        "\"components\": [{\"id\": \"sales\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"schedule\": {\"kind\": \"marginal\", \"tiers\": "
        "[{\"rate\": \"5%\"}, {\"from\": 100, \"rate\": \"10%\"}]}, "
        "\"crediting\": {\"splits\": \"facts\"}}]}";
    sp_commission_plan *p = plan_of(ctx, SPLIT);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    uint64_t facts[] = { 2, 2 };
    uint32_t who[] = { 0, 1 };
    sp_dec bad[] = { SP_DEC_ONE / 2, SP_DEC_ONE / 2 - 1 };
    spt_expect_error(ctx, sp_commission_run_set_splits(r, facts, who, bad, 2), SP_EINVAL,
                     "commission splits: fact 2: shares sum to 99.9999999%, not 100%");
    uint32_t beyond[] = { 0, 2 };
    sp_dec half[] = { SP_DEC_ONE / 2, SP_DEC_ONE / 2 };
    spt_expect_error(ctx, sp_commission_run_set_splits(r, facts, beyond, half, 2), SP_EINVAL,
                     "commission splits: fact 2: entry 1: payee 2 is not a payee (there are 2)");
    assert_int_equal(sp_commission_run_set_splits(r, facts, who, half, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.measures[0], 9500);
    assert_int_equal(st.total, 475);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.measures[0], 8500);
    assert_int_equal(st.total, 425);
    assert_int_equal(st.nlines, 2);
    assert_int_equal(st.lines[1].share, SP_DEC_ONE / 2);
    /* No table: back to the reps. */
    assert_int_equal(sp_commission_run_set_splits(r, NULL, NULL, NULL, 0), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 250);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

static void test_run_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    sp_commission_run *r = NULL;
    o.fiscal_year = 2027;
    o.grain = SP_GRAIN_WEEK;
    spt_expect_error(ctx, sp_commission_run_new(&r, p, &o), SP_EINVAL,
                     "commission run: options.grain: 4 is not month (3), quarter (2) or year (0)");
    o.grain = SP_GRAIN_MONTH;
    o.fiscal_year = 0;
    spt_expect_error(ctx, sp_commission_run_new(&r, p, &o), SP_EINVAL,
                     "commission run: options.fiscal_year: 0 is not 1 to 9999");
    o.fiscal_year = 2027;
    o.unknown = 2;
    spt_expect_error(ctx, sp_commission_run_new(&r, p, &o), SP_EINVAL,
                     "commission run: options.unknown: 2 is not skip (0) or error (1)");
    o.unknown = SP_COMMISSION_SKIP;
    o.flags = 6;
    spt_expect_error(ctx, sp_commission_run_new(&r, p, &o), SP_EINVAL,
                     "commission run: options.flags: unknown bits 0x6");
    o.flags = 0;
    spt_expect_error(ctx, sp_commission_run_new(&r, p, NULL), SP_EINVAL,
                     "commission run: options are NULL (the fiscal year is required)");
    assert_null(r);
    /* A period the year does not have, and a payee twice: found when computed. */
    o.index = 12;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    uint32_t payees[] = { A, A };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: FY2027 has 12 periods of a month, not 13");
    sp_commission_run_free(r);
    o.index = 0;
    o.unknown = SP_COMMISSION_ERROR;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: payees[1]: 0 is given twice");
    assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: order lines batch 1 row 2: fact 3: rep B is no payee of "
                     "the run");
    spt_expect_error(ctx, sp_commission_run_set_payees(r, NULL, 1), SP_EINVAL,
                     "commission run: payees: ids is NULL");
    spt_expect_error(ctx, sp_commission_run_compute(r, NULL, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: orders is NULL");
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.computed, 0);
    /* NULL outputs are named too. */
    spt_expect_error(ctx, sp_commission_run_get_info(r, NULL), SP_EINVAL,
                     "commission run: info is NULL");
    spt_expect_error(ctx, sp_commission_run_statement(r, 0, NULL), SP_EINVAL,
                     "commission run: statement is NULL");
    char buf[8];
    spt_expect_error(ctx, sp_commission_run_explain(r, 0, 0, buf, sizeof buf, NULL), SP_EINVAL,
                     "commission run: explain: len is NULL");
    spt_expect_error(ctx, sp_commission_run_set_quotas(r, NULL, 0), SP_EINVAL,
                     "commission run: quotas is NULL");
    uint64_t fact = 1;
    spt_expect_error(ctx, sp_commission_run_set_splits(r, &fact, NULL, NULL, 1), SP_EINVAL,
                     "commission run: splits: payees is NULL");
    const char *doc;
    size_t len;
    spt_expect_error(ctx, sp_commission_plan_get_document(p, NULL, &len), SP_EINVAL,
                     "commission plan: json is NULL");
    spt_expect_error(ctx, sp_commission_plan_get_document(p, &doc, NULL), SP_EINVAL,
                     "commission plan: len is NULL");
    spt_expect_error(ctx, sp_commission_plan_get_info(p, NULL), SP_EINVAL,
                     "commission plan: info is NULL");
    spt_expect_error(ctx, sp_commission_run_new(NULL, p, &o), SP_EINVAL,
                     "commission run: out is NULL");
    sp_commission_run_free(r);
    sp_commission_run_free(NULL);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- quotas from target sets ---- */

/* Target plan "FY27" over Co -> A, B, money in USD cents, FY2027 by `grain`, decomposed
 * from 2,400.00 under the default settings (every group even, every year even over its
 * periods): A and B 1,200.00 each, 100.00 a month, 300.00 a quarter. */
static void target_as(sp_ctx *ctx, uint32_t grain, uint32_t measure, const char *currency,
                      const char *id, sp_target_plan **plan, sp_target_set **set)
{
    sp_hierarchy *h;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add(h, "Co", 2, NULL, 0, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_add(h, "A", 1, "Co", 2, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_add(h, "B", 1, "Co", 2, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.measure = measure;
    o.currency = currency;
    o.fiscal_year = 2027;
    o.grain = grain;
    assert_int_equal(sp_target_plan_new(plan, ctx, id, h, &o), SP_OK);
    sp_hierarchy_free(h);
    assert_int_equal(sp_target_plan_decompose(set, *plan, 240000, NULL), SP_OK);
}

static void target_of(sp_ctx *ctx, uint32_t grain, sp_target_plan **plan, sp_target_set **set)
{
    target_as(ctx, grain, SP_TARGET_MONEY, "USD", "FY27", plan, set);
}

static const char RETRO_SET[] =
    "{\"plan\": \"R\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": \"USD\", "
    "\"components\": [{\"id\": \"att\", \"measure\": {\"kind\": \"amount\"}, "
    "\"period\": \"month\", \"quota\": {\"target_set\": {\"plan\": \"FY27\", "
    "\"scenario\": \"base\"}}, \"schedule\": {\"kind\": \"retroactive\", \"on\": "
    "\"attainment\", \"tiers\": [{\"rate\": \"2%\"}, {\"from\": \"100%\", \"rate\": \"4%\"}]}}, "
    "{\"id\": \"qtr\", \"measure\": {\"kind\": \"amount\"}, \"period\": \"quarter\", "
    "\"quota\": {\"target_set\": {\"plan\": \"FY27\", \"scenario\": \"base\"}}, "
    "\"schedule\": {\"kind\": \"flat\", \"on\": \"attainment\", \"tiers\": "
    "[{\"rate\": \"1%\"}]}}]}";

/*
 * RETRO_SET's January: the monthly component's quota is January's 100.00, so A (130.00,
 * 130 %) earns 130 x 4 % = 5.20 and B (50 %) 50 x 2 % = 1.00, as with quotas given. The
 * quarterly component is not due in January; in March its quota is 300.00 (three months)
 * and it pays a flat 1 % of A's quarter, 60.00 + 70.00 + 999.00 (Feb 1) = 1,129.00: 11.29
 * (attainment changes no flat rate).
 */
static sp_commission_run *run_of(const sp_commission_plan *p, uint32_t grain, uint32_t index)
{
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    o.grain = grain;
    o.index = index;
    sp_commission_run *r = NULL;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    return r;
}

static void test_quotas_from_set(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_target_plan *tp;
    sp_target_set *ts;
    target_of(ctx, SP_GRAIN_MONTH, &tp, &ts);
    sp_commission_plan *p = plan_of(ctx, RETRO_SET);
    sp_commission_run *r = run_of(p, SP_GRAIN_MONTH, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0] (\"att\").quota.target_set: the quotas of "
                     "target set of plan \"FY27\", scenario \"base\" are not loaded "
                     "(sp_commission_run_load_quotas)");
    assert_int_equal(sp_commission_run_quotas_from_set(r, 0, tp, ts, e.dict), SP_OK);
    /* Not due in January: no quota needed, the component counts as loaded. */
    assert_int_equal(sp_commission_run_quotas_from_set(r, 1, tp, ts, e.dict), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.quotas[0], 10000);
    assert_int_equal(st.quotas[1], 0);
    assert_int_equal(st.components[0], 520);
    assert_int_equal(st.components[1], 0);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 100);
    sp_commission_run_free(r);

    /* March: both due; the quarter's quota is 300.00 and the quarter's facts earn 1 %; the
     * monthly component sees no March facts. */
    r = run_of(p, SP_GRAIN_MONTH, 2);
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    assert_int_equal(sp_commission_run_quotas_from_set(r, 0, tp, ts, e.dict), SP_OK);
    assert_int_equal(sp_commission_run_quotas_from_set(r, 1, tp, ts, e.dict), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.quotas[0], 10000);
    assert_int_equal(st.quotas[1], 30000);
    /* A's lines: 60 + 70 in January and 999.00 on February 1: 1,129.00 x 1 % = 11.29. */
    assert_int_equal(st.measures[1], 112900);
    assert_int_equal(st.components[1], 1129);
    assert_int_equal(st.components[0], 0);
    sp_commission_run_free(r);

    /* Bad input: nothing changes. */
    r = run_of(p, SP_GRAIN_MONTH, 0);
    uint32_t with_x[] = { A, X };
    assert_int_equal(sp_commission_run_set_payees(r, with_x, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 0, tp, ts, e.dict), SP_EINVAL,
                     "commission run: components[0] (\"att\"): quotas from an unsaved target "
                     "set of plan \"FY27\": payee \"X\" is no node of the set");
    spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 2, tp, ts, e.dict), SP_EINVAL,
                     "commission run: quotas: component 2: the plan has 2");
    spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 0, tp, NULL, e.dict), SP_EINVAL,
                     "commission run: quotas: set is NULL");
    sp_target_plan *tq;
    sp_target_set *tsq;
    target_of(ctx, SP_GRAIN_QUARTER, &tq, &tsq);
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 0, tq, tsq, e.dict), SP_EINVAL,
                     "commission run: components[0] (\"att\"): quotas from an unsaved target "
                     "set of plan \"FY27\": the component's period 2027-01-01 .. 2027-01-31 is "
                     "not made of the set's quarter periods of FY2027");
    spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 0, tp, tsq, e.dict), SP_EINVAL,
                     "commission run: components[0] (\"att\"): quotas from an unsaved target "
                     "set of plan \"FY27\": the component's period 2027-01-01 .. 2027-01-31 is "
                     "not made of the set's quarter periods of FY2027");
    /* Units: quantities, another exponent, another currency, another plan's set. */
    static const struct {
        uint32_t measure;
        const char *currency, *id, *msg;
    } units[] = {
        { SP_TARGET_QUANTITY, NULL, "FY27", "the set holds quantities, the component measures amount" },
        { SP_TARGET_MONEY, "JPY", "FY27", "the set's amounts have 0 decimals, the plan's currency USD has 2" },
        { SP_TARGET_MONEY, "EUR", "FY27", "the set is in EUR, the plan in USD" },
        { SP_TARGET_MONEY, "USD", "FY28", NULL },
    };
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        sp_target_plan *up;
        sp_target_set *us;
        target_as(ctx, SP_GRAIN_MONTH, units[i].measure, units[i].currency, units[i].id, &up, &us);
        char msg[512];
        snprintf(msg, sizeof msg, "commission run: components[0] (\"att\"): quotas from an "
                                  "unsaved target set of plan \"%s\": %s", units[i].id,
                 units[i].msg != NULL ? units[i].msg : "the target plan given is \"FY27\"");
        spt_expect_error(ctx, sp_commission_run_quotas_from_set(r, 0, units[i].msg != NULL ? up : tp,
                                                                us, e.dict),
                         SP_EINVAL, msg);
        sp_target_set_free(us);
        sp_target_plan_free(up);
    }
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.computed, 0);

    /* Loaded from a store, as the document names them: the latest set of "base". */
    sp_storage *store;
    assert_int_equal(sp_storage_memory_new(&store, ctx), SP_OK);
    spt_expect_error(ctx, sp_commission_run_load_quotas(r, store, e.dict), SP_ENOTFOUND,
                     "commission run: components[0].quota.target_set: target plan \"FY27\" "
                     "is not in the store");
    assert_int_equal(sp_target_plan_save(tp, store), SP_OK);
    uint32_t version;
    assert_int_equal(sp_target_set_save(tsq, store, "base", NULL, 0, &version), SP_OK);
    assert_int_equal(sp_target_set_save(ts, store, "base", NULL, 0, &version), SP_OK);
    assert_int_equal(version, 2);
    assert_int_equal(sp_commission_run_load_quotas(r, store, e.dict), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.quotas[0], 10000);
    assert_int_equal(st.total, 520);
    sp_commission_run_free(r);
    sp_storage_free(store);
    sp_commission_plan_free(p);
    sp_target_set_free(tsq);
    sp_target_plan_free(tq);
    sp_target_set_free(ts);
    sp_target_plan_free(tp);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- draws, carry, the invoice and payment bases ---- */

/*
 * Flat 10 % a month with a recoverable draw of 10.00 a month. January: A earns 13.00 (130
 * x 10 %), above the draw, nothing to recover; B earns 5.00: topped up by 5.00 to 10.00,
 * balance 5.00. February, each payee's carry row from January: A earns 99.90 (999.00 x
 * 10 %), above the draw with no balance to recover; B earns 0: topped up by 10.00, balance
 * 15.00.
 */
static void test_draw_carry(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    static const char DRAW[] =
        "{\"plan\": \"D\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "
        "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": "
        "[{\"rate\": \"10%\"}]}}], \"draw\": {\"kind\": \"recoverable\", \"amount\": 10, "
        "\"period\": \"month\"}}";
    sp_commission_plan *p = plan_of(ctx, DRAW);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    int64_t carry[4];
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 1300);
    assert_int_equal(st.draw_paid, 0);
    assert_int_equal(st.draw_balance, 0);
    memcpy(carry, st.carry, 2 * sizeof *carry);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.components[0], 500);
    assert_int_equal(st.draw_paid, 500);
    assert_int_equal(st.draw_balance, 500);
    assert_int_equal(st.total, 1000);
    assert_int_equal(st.nlines, 2);
    assert_int_equal(st.lines[1].kind, SP_COMMISSION_LINE_DRAW);
    assert_int_equal(st.lines[1].component, SP_COMMISSION_NO_COMPONENT);
    assert_int_equal(st.lines[1].earned, 500);
    assert_int_equal(st.carry[0], 500);
    memcpy(carry + 2, st.carry, 2 * sizeof *carry);
    char buf[2048];
    size_t len;
    assert_int_equal(sp_commission_run_explain(r, 1, 1, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"kind\":\"draw\",\"day\":\"2027-01-31\",\"rule\":\"draw\","
                                "\"draw\":10,\"base\":5,\"earned\":5}"));
    assert_int_equal(sp_commission_run_explain(r, 1, SIZE_MAX, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"draw\":{\"earned\":5,\"paid\":5,\"recovered\":0,"
                                "\"forgiven\":0,\"balance\":5}"));
    /* Posted: the draw's lines under the component "(draw)" (they belong to none), B's stored
     * statement 5.00 + 5.00 = 10.00; the run's lines are as they were. */
    sp_storage *store;
    assert_int_equal(sp_storage_memory_new(&store, ctx), SP_OK);
    sp_commission_posted posted = SP_COMMISSION_POSTED_INIT;
    int prc = sp_commission_run_post(r, store, NULL, &posted);
    if (prc != SP_OK)
        fail_msg("post: %s", sp_ctx_errmsg(ctx));
    assert_int_equal(posted.total, 2300);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.lines[1].component, SP_COMMISSION_NO_COMPONENT);
    sp_commission_period jan = { 2027, SP_GRAIN_MONTH, 0 };
    sp_commission_stored *stored;
    assert_int_equal(sp_commission_stored_load(&stored, ctx, store, "D", &jan, "B"), SP_OK);
    assert_int_equal(sp_commission_stored_total(stored), 1000);
    sp_commission_stored_part part = SP_COMMISSION_STORED_PART_INIT;
    assert_int_equal(sp_commission_stored_get_part(stored, 0, &part), SP_OK);
    assert_int_equal(part.ncomponents, 2);
    assert_string_equal(part.components[0], "c");
    assert_string_equal(part.components[1], "(draw)");
    assert_int_equal(part.totals[0], 500);
    assert_int_equal(part.totals[1], 500);
    assert_int_equal(part.nlines, 2);
    assert_int_equal(part.lines[1].kind, SP_COMMISSION_LINE_DRAW);
    assert_int_equal(part.lines[1].component, 1);
    sp_commission_stored_free(stored);
    sp_storage_free(store);
    sp_commission_run_free(r);

    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    o.index = 1;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_set_carry(r, carry, 3), SP_EINVAL,
                     "commission run: carry: 3 values for 2 payees x (1 + 1 components) (4)");
    assert_int_equal(sp_commission_run_set_carry(r, carry, 4), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 9990);
    assert_int_equal(st.draw_recovered, 0);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 1000);
    assert_int_equal(st.draw_paid, 1000);
    assert_int_equal(st.draw_balance, 1500);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/*
 * The invoice basis: A's invoice line 100.00 (id 10) on Jan 12 and a credit note of 30.00
 * against it (id 11) on Jan 20: 70.00 x 10 % = 7.00. The payment basis (payments against
 * the order lines, no invoices): A's line 1 (60.00) paid 30.00 on Jan 25: 30.00 x 10 % =
 * 3.00; B's line 3 unpaid earns nothing.
 */
static void test_bases(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
#define BASIS_PLAN                                                                              \
    "{\"plan\": \"I\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "            \
    "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\", "        \
    "\"basis\": \"%s\"}, \"period\": \"month\", \"schedule\": {\"kind\": \"flat\", "        \
    "\"tiers\": [{\"rate\": \"10%%\"}]}}]}"
    char json[1024];
    snprintf(json, sizeof json, BASIS_PLAN, "invoice");
    sp_commission_plan *p = plan_of(ctx, json);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0].measure.basis: the invoice basis reads the "
                     "run's invoice lines, and the run has none (no invoice source)");
    sp_fact_source *inv;
    assert_int_equal(sp_fact_source_memory_new(&inv, ctx), SP_OK);
    uint64_t id[] = { 10 }, ref[] = { 10 }, cid[] = { 11 };
    int32_t day[] = { spt_day(2027, 1, 12) }, cday[] = { spt_day(2027, 1, 20) };
    uint32_t rep[] = { A };
    int64_t amount[] = { 10000 }, camount[] = { 3000 };
    append_facts(inv, SP_FACT_ORDER_LINES, 1, id, NULL, day, rep, amount);
    append_facts(inv, SP_FACT_REFUNDS, 1, cid, ref, cday, NULL, camount);
    assert_int_equal(sp_commission_run_compute(r, e.src, inv, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.measures[0], 7000);
    assert_int_equal(st.total, 700);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 0);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    sp_fact_source_free(inv);

    snprintf(json, sizeof json, BASIS_PLAN, "payment");
    p = plan_of(ctx, json);
    r = january(p, 0);
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    uint64_t pid[] = { 20 }, pref[] = { 1 };
    int32_t pday[] = { spt_day(2027, 1, 25) };
    int64_t pamount[] = { 3000 };
    append_facts(e.src, SP_FACT_PAYMENTS, 1, pid, pref, pday, NULL, pamount);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.payments_read, 1);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 300);
    assert_int_equal(st.nlines, 1);
    assert_int_equal(st.lines[0].kind, SP_COMMISSION_LINE_PAYMENT);
    assert_int_equal(st.lines[0].fact, 20);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 0);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- manual adjustments ---- */

/*
 * MARGINAL's January with a manual adjustment of A's "sales" by +1.50 ("spiff missed in
 * the CRM"): A earns 8.00 + 1.50 = 9.50 in three lines, the adjustment on January 31; the
 * same on the totals path. DRAW's January (10 % and a recoverable draw of 10.00) with B
 * adjusted by +3.00: B's earnings 5.00 + 3.00 = 8.00 are what the draw tops up: 2.00.
 */
static void test_adjustments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    for (uint32_t flags = 0; flags <= SP_COMMISSION_TOTALS_ONLY; flags++) {
        sp_commission_run *r = january(p, flags);
        uint32_t payees[] = { A, B };
        assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
        spt_expect_error(ctx, sp_commission_run_add_adjustment(r, 77, 0, 0, 150, ""), SP_EINVAL,
                         "commission run: adjustment 77: a reason of 1 to 1000 bytes is "
                         "required (none given)");
        spt_expect_error(ctx, sp_commission_run_add_adjustment(r, 77, 2, 0, 150, "x"), SP_EINVAL,
                         "commission run: adjustment 77: payee 2: the run has 2");
        assert_int_equal(sp_commission_run_add_adjustment(r, 77, 0, 0, 150,
                                                          "spiff missed in the CRM"), SP_OK);
        spt_expect_error(ctx, sp_commission_run_add_adjustment(r, 77, 0, 0, 1, "again"),
                         SP_EINVAL, "commission run: adjustment 77 of payee 0, component 0 is "
                                    "already given");
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 950);
        assert_int_equal(st.components[0], 950);
        assert_int_equal(st.measures[0], 13000); /* the measure is the facts' */
        assert_string_equal(sp_commission_run_adjustment_reason(r, 0, 77),
                            "spiff missed in the CRM");
        assert_null(sp_commission_run_adjustment_reason(r, 1, 77));
        if (flags == 0) {
            assert_int_equal(st.nlines, 3);
            assert_int_equal(st.lines[2].kind, SP_COMMISSION_LINE_ADJUSTMENT);
            assert_int_equal(st.lines[2].fact, 77);
            assert_int_equal(st.lines[2].earned, 150);
            assert_int_equal(st.lines[2].day, spt_day(2027, 1, 31));
            char buf[1024];
            size_t len;
            assert_int_equal(sp_commission_run_explain(r, 0, 2, buf, sizeof buf, &len), SP_OK);
            assert_non_null(strstr(buf, "\"kind\":\"adjustment\",\"fact\":77,\"day\":"
                                        "\"2027-01-31\",\"reason\":\"spiff missed in the "
                                        "CRM\",\"earned\":1.5}"));
        }
        assert_int_equal(sp_commission_run_clear_adjustments(r), SP_OK);
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 800);
        sp_commission_run_free(r);
    }
    sp_commission_plan_free(p);

    /* A component not computed in the run: named when computed. */
    p = plan_of(ctx, "{\"plan\": \"Q\", \"effective\": {\"from\": \"2027-01-01\"}, "
                     "\"currency\": \"USD\", \"components\": [{\"id\": \"m\", \"measure\": "
                     "{\"kind\": \"amount\"}, \"period\": \"month\", \"schedule\": {\"kind\": "
                     "\"flat\", \"tiers\": [{\"rate\": \"1%\"}]}}, {\"id\": \"qtr\", "
                     "\"measure\": {\"kind\": \"amount\"}, \"period\": \"quarter\", "
                     "\"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": \"1%\"}]}}]}");
    sp_commission_run *r = january(p, 0);
    uint32_t one[] = { A };
    assert_int_equal(sp_commission_run_set_payees(r, one, 1), SP_OK);
    assert_int_equal(sp_commission_run_add_adjustment(r, 5, 0, 1, 100, "quarter bonus"), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: adjustments[0] (id 5): components[1] (\"qtr\") is not "
                     "computed in this run");
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- the ledger ---- */

/*
 * January under MARGINAL posted (A 8.00, B 2.50) and closed. A late January line of B
 * (fact 6, 50.00 on Jan 25) arrives: January's truth is now B 100.00 x 5 % = 5.00. Posted
 * into February, the corrections are B's new line, +2.50 (its measure 50 -> 100 at 5 %):
 * January's 2.50 plus February's correction is the truth, 5.00; A's unchanged statement
 * gives no correction.
 */
static void test_ledger(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_storage *store;
    assert_int_equal(sp_storage_memory_new(&store, ctx), SP_OK);
    sp_commission_plan *p = plan_of(ctx, MARGINAL);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    sp_commission_posted posted = SP_COMMISSION_POSTED_INIT;
    spt_expect_error(ctx, sp_commission_run_post(r, store, NULL, &posted), SP_EINVAL,
                     "commission ledger: the run is not computed (a run is posted with its "
                     "lines)");
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_post(r, store, NULL, &posted), SP_OK);
    assert_int_equal(posted.period.fiscal_year, 2027);
    assert_int_equal(posted.period.grain, SP_GRAIN_MONTH);
    assert_int_equal(posted.period.index, 0);
    assert_int_equal(posted.corrects, 0);
    assert_int_equal(posted.written, 1);
    assert_int_equal(posted.npayees, 2);
    assert_int_equal(posted.nlines, 3);
    assert_int_equal(posted.total, 1050);
    sp_commission_period jan = { 2027, SP_GRAIN_MONTH, 0 }, feb = { 2027, SP_GRAIN_MONTH, 1 },
                         mar = { 2027, SP_GRAIN_MONTH, 2 };
    spt_expect_error(ctx, sp_commission_period_close(ctx, store, "AE", &mar), SP_ENOTFOUND,
                     "commission ledger \"AE\": 2027-M03 was never posted");
    assert_int_equal(sp_commission_period_close(ctx, store, "AE", &jan), SP_OK);
    spt_expect_error(ctx, sp_commission_period_close(ctx, store, "AE", &jan), SP_ECONFLICT,
                     "commission ledger \"AE\": 2027-M01 is already closed");

    /* The late line, then January again: refused without a period to correct into. */
    uint64_t id[] = { 6 };
    int32_t day[] = { spt_day(2027, 1, 25) };
    uint32_t rep[] = { B };
    int64_t amount[] = { 5000 };
    append_facts(e.src, SP_FACT_ORDER_LINES, 1, id, NULL, day, rep, amount);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    spt_expect_error(ctx, sp_commission_run_post(r, store, NULL, &posted), SP_ECONFLICT,
                     "commission ledger \"AE\": 2027-M01 is closed; post its corrections into "
                     "an open period");
    assert_int_equal(sp_commission_run_post(r, store, &feb, &posted), SP_OK);
    assert_int_equal(posted.period.index, 1);
    assert_int_equal(posted.corrects, 1);
    assert_int_equal(posted.corrected.index, 0);
    assert_int_equal(posted.total, 250);
    assert_int_equal(posted.nlines, 1);
    /* The same truth again: February's corrections replaced by the same, not added to. */
    assert_int_equal(sp_commission_run_post(r, store, &feb, &posted), SP_OK);
    assert_int_equal(posted.total, 250);

    sp_commission_ledger_entry entries[4];
    size_t count = 0;
    assert_int_equal(sp_commission_ledger_entries(ctx, store, "AE", entries, 1, &count),
                     SP_EBUFFER);
    assert_int_equal(count, 2);
    assert_int_equal(sp_commission_ledger_entries(ctx, store, "AE", entries, 4, &count), SP_OK);
    assert_int_equal(entries[0].period.index, 0);
    assert_int_equal(entries[0].corrects, 0);
    assert_int_equal(entries[0].closed, 1);
    assert_int_equal(entries[0].total, 1050);
    assert_int_equal(entries[1].period.index, 1);
    assert_int_equal(entries[1].corrects, 1);
    assert_int_equal(entries[1].corrected.index, 0);
    assert_int_equal(entries[1].closed, 0);
    assert_int_equal(entries[1].total, 250);

    /* B's statements read back: January's own, February's correction of January. */
    sp_commission_stored *st = NULL;
    assert_int_equal(sp_commission_stored_load(&st, ctx, store, "AE", &jan, "B"), SP_OK);
    assert_int_equal(sp_commission_stored_count(st), 1);
    assert_int_equal(sp_commission_stored_total(st), 250);
    sp_commission_stored_part part = SP_COMMISSION_STORED_PART_INIT;
    assert_int_equal(sp_commission_stored_get_part(st, 0, &part), SP_OK);
    assert_int_equal(part.corrects, 0);
    assert_int_equal(part.closed, 1);
    assert_string_equal(part.currency, "USD");
    assert_int_equal(part.ncomponents, 1);
    assert_string_equal(part.components[0], "sales");
    assert_int_equal(part.nlines, 1);
    assert_int_equal(part.lines[0].fact, 3);
    assert_int_equal(part.lines[0].earned, 250);
    spt_expect_error(ctx, sp_commission_stored_get_part(st, 1, &part), SP_EINVAL,
                     "commission ledger: part 1: the statement has 1");
    sp_commission_stored_free(st);
    assert_int_equal(sp_commission_stored_load(&st, ctx, store, "AE", &feb, "B"), SP_OK);
    assert_int_equal(sp_commission_stored_total(st), 250);
    assert_int_equal(sp_commission_stored_get_part(st, 0, &part), SP_OK);
    assert_int_equal(part.corrects, 1);
    assert_int_equal(part.corrected.index, 0);
    assert_int_equal(part.closed, 0);
    assert_int_equal(part.lines[0].fact, 6);
    assert_int_equal(part.lines[0].earned, 250);
    sp_commission_stored_free(st);
    st = NULL;
    spt_expect_error(ctx, sp_commission_stored_load(&st, ctx, store, "AE", &feb, "A"),
                     SP_ENOTFOUND, "commission ledger \"AE\": payee \"A\" has no statement in "
                                   "2027-M02");
    assert_null(st);
    sp_commission_period bad = { 2027, SP_GRAIN_WEEK, 0 };
    spt_expect_error(ctx, sp_commission_period_close(ctx, store, "AE", &bad), SP_EINVAL,
                     "commission ledger: period.grain: 4 is not month (3), quarter (2) or "
                     "year (0)");
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    sp_storage_free(store);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- assignments and proration ---- */

/*
 * Flat 10 % with a non-recoverable draw of 31.00 a month. A is on the plan from January 10:
 * its January 5 line (60.00) is not its here; its January 20 line (70.00) earns 7.00; its
 * draw is 22 of January's 31 days: 31.00 x 22 / 31 = 22.00, so the top-up is 15.00. B, on
 * every day: 5.00 topped up to 31.00.
 * RETRO (2 % below 100 % of the quota, 4 % of the whole from 100 %) with a quota of 100.00:
 * A on the plan from January 16, 16 days of 31: quota R(10,000 x 16 / 31) = R(5,161.29) =
 * 5,161 cents; its 70.00 is 135 % of it: 70 x 4 % = 2.80. The same when the version itself
 * starts on January 16 (no assignment): the Jan 5 line is outside the version.
 */
static void test_assignments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    static const char DRAW31[] =
        "{\"plan\": \"D\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "
        "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": "
        "[{\"rate\": \"10%\"}]}}], \"draw\": {\"kind\": \"non_recoverable\", \"amount\": "
        "31, \"period\": \"month\"}}";
    sp_commission_plan *p = plan_of(ctx, DRAW31);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    int32_t first[] = { spt_day(2027, 1, 10), INT32_MIN }, last[] = { INT32_MAX, INT32_MAX };
    int32_t bad_last[] = { spt_day(2027, 1, 9), INT32_MAX };
    spt_expect_error(ctx, sp_commission_run_set_assignments(r, first, bad_last, 2), SP_EINVAL,
                     "commission run: assignments[0]: 2027-01-10 is after 2027-01-09");
    spt_expect_error(ctx, sp_commission_run_set_assignments(r, first, last, 1), SP_EINVAL,
                     "commission run: assignments: 1 for 2 payees");
    assert_int_equal(sp_commission_run_set_assignments(r, first, last, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.components[0], 700);
    assert_int_equal(st.draw_paid, 1500);
    assert_int_equal(st.total, 2200);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.draw_paid, 2600);
    assert_int_equal(st.total, 3100);
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.not_assigned, 1);
    assert_int_equal(ri.totals_path, 0);
    /* Cleared: A's both lines earn 13.00, topped up by 18.00 to the whole draw, 31.00. */
    assert_int_equal(sp_commission_run_set_assignments(r, NULL, NULL, 0), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.components[0], 1300);
    assert_int_equal(st.draw_paid, 1800);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);

    for (int version = 0; version < 2; version++) {
        static const char RETRO16[] =
            "{\"plan\": \"R\", \"effective\": {\"from\": \"2027-01-16\"}, \"currency\": "
            "\"USD\", \"components\": [{\"id\": \"att\", \"measure\": {\"kind\": "
            "\"amount\"}, \"period\": \"month\", \"quota\": {\"given\": true}, "
            "\"schedule\": {\"kind\": \"retroactive\", \"on\": \"attainment\", \"tiers\": "
            "[{\"rate\": \"2%\"}, {\"from\": \"100%\", \"rate\": \"4%\"}]}}]}";
        p = plan_of(ctx, version ? RETRO16 : RETRO);
        r = january(p, 0);
        assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
        int64_t quota[] = { 10000 };
        assert_int_equal(sp_commission_run_set_quotas(r, quota, 1), SP_OK);
        int32_t from16[] = { spt_day(2027, 1, 16) }, open[] = { INT32_MAX };
        if (!version)
            assert_int_equal(sp_commission_run_set_assignments(r, from16, open, 1), SP_OK);
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 280);
        assert_int_equal(st.nlines, 1);
        char buf[1024];
        size_t len;
        assert_int_equal(sp_commission_run_explain(r, 0, 0, buf, sizeof buf, &len), SP_OK);
        assert_non_null(strstr(buf, "\"quota\":51.61"));
        sp_commission_run_free(r);
        sp_commission_plan_free(p);
    }
    env_free(&e);
    sp_ctx_free(ctx);
}

/* ---- clawbacks ---- */

/* Example 5.2's version 2: 6 % flat on bookings from 2024-04-01; refunds reverse at the
 * line's original rate within 90 days, limited (or not) to what was paid. */
static sp_commission_plan *claw_plan(sp_ctx *ctx, const char *limit)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"plan\": \"C\", \"effective\": {\"from\": \"2024-04-01\"}, \"currency\": "
             "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": "
             "\"amount\"}, \"period\": \"month\", \"schedule\": {\"kind\": \"flat\", "
             "\"tiers\": [{\"rate\": \"6%%\"}]}, \"clawback\": {\"window_days\": 90, "
             "\"limit\": \"%s\"}}]}",
             limit);
    return plan_of(ctx, json);
}

/* A run of plan p for month index (of 2024) over refunds of lines paid earlier. */
static sp_commission_run *claw_run(sp_commission_plan *p, uint32_t index,
                                   const sp_commission_paid *paid, size_t npaid)
{
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2024;
    o.index = index;
    sp_commission_run *r = NULL;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    uint32_t payees[] = { A };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
    assert_int_equal(sp_commission_run_set_paid(r, paid, npaid), SP_OK);
    return r;
}

static sp_fact_source *refunds_of(sp_ctx *ctx, const uint64_t *ids, const uint64_t *refs,
                                  const int32_t *days, const int64_t *amounts, size_t n)
{
    sp_fact_source *src;
    assert_int_equal(sp_fact_source_memory_new(&src, ctx), SP_OK);
    append_facts(src, SP_FACT_REFUNDS, n, ids, refs, days, NULL, amounts);
    return src;
}

/*
 * 5.2: line L1 (fact 1) of 12,345.67 on 2024-02-10 paid R(1,234,567 x 5 %) = 61,728 under
 * version 1. April: a refund of 2,000.00 on 04-15 reverses R(61,728 x 200,000 / 1,234,567)
 * = R(12,345,600,000 / 1,234,567) = R(9,999.94) = 10,000 (5 %, not version 2's 6 %:
 * 12,000). May: the rest, 10,345.67 on 05-10 (the window's last day: 02-10 + 90),
 * reverses the rest: 61,728 - 10,000 = 51,728; on 05-11 it reverses nothing. L2 (fact 2)
 * of 0.90 paid R(4.5) = 4 refunded in three parts of 0.30 in April: rule B (limit "paid")
 * R(4 x 30/90) = 1, R(4 x 60/90) = 3, 4: -1, -2, -1; without the limit each part
 * R(30 x 5 %) = R(1.5) = 2: -2, -2, -2 (more than paid).
 * 5.1: a line of 100.00 whose calculation was 5.00 (paid 10.00 by a minimum elsewhere)
 * refunded in full reverses the 5.00 it earned.
 */
static void test_clawbacks(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *dict;
    assert_int_equal(sp_dict_new(&dict, ctx), SP_OK);
    assert_int_equal(sp_dict_add(dict, "A", 1, NULL), SP_OK);
    const sp_dec five = SP_DEC_ONE / 20;
    sp_commission_paid paid[] = {
        { 1, 0, 0, spt_day(2024, 2, 10), 0, 1234567, 1234567, 61728, five, 0 },
        { 2, 0, 0, spt_day(2024, 2, 12), 0, 90, 90, 4, five, 0 },
        { 3, 0, 0, spt_day(2024, 3, 1), 0, 10000, 10000, 500, five, 0 },
    };
    sp_commission_plan *p = claw_plan(ctx, "paid");
    /* April: L1's 2,000.00; L2's three parts; L3 (5.1) in full. */
    uint64_t ids[] = { 11, 21, 22, 23, 31 }, refs[] = { 1, 2, 2, 2, 3 };
    int32_t days[] = { spt_day(2024, 4, 15), spt_day(2024, 4, 2), spt_day(2024, 4, 3),
                       spt_day(2024, 4, 4), spt_day(2024, 4, 20) };
    int64_t amounts[] = { 200000, 30, 30, 30, 10000 };
    sp_fact_source *src = refunds_of(ctx, ids, refs, days, amounts, 5);
    sp_commission_run *r = claw_run(p, 3, paid, 3);
    assert_int_equal(sp_commission_run_compute(r, src, NULL, dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.nlines, 5);
    /* in (day, fact) order: 21, 22, 23, 11, 31 */
    static const uint64_t facts[] = { 21, 22, 23, 11, 31 };
    static const int64_t earned[] = { -1, -2, -1, -10000, -500 };
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(st.lines[i].kind, SP_COMMISSION_LINE_CLAWBACK);
        assert_int_equal(st.lines[i].fact, facts[i]);
        assert_int_equal(st.lines[i].earned, earned[i]);
        assert_int_equal(st.lines[i].rate, five);
    }
    assert_int_equal(st.lines[3].base, -200000);
    assert_int_equal(st.total, -10504);
    {   /* clawbacks posted and read back */
        sp_storage *store;
        assert_int_equal(sp_storage_memory_new(&store, ctx), SP_OK);
        assert_int_equal(sp_commission_run_post(r, store, NULL, NULL), SP_OK);
        sp_commission_period apr = { 2024, SP_GRAIN_MONTH, 3 };
        sp_commission_stored *stored;
        assert_int_equal(sp_commission_stored_load(&stored, ctx, store, "C", &apr, "A"), SP_OK);
        assert_int_equal(sp_commission_stored_total(stored), -10504);
        sp_commission_stored_part part = SP_COMMISSION_STORED_PART_INIT;
        assert_int_equal(sp_commission_stored_get_part(stored, 0, &part), SP_OK);
        assert_int_equal(part.nlines, 5);
        assert_int_equal(part.lines[3].kind, SP_COMMISSION_LINE_CLAWBACK);
        assert_int_equal(part.lines[3].earned, -10000);
        sp_commission_stored_free(stored);
        sp_storage_free(store);
    }
    assert_int_equal(st.measures[0], 0); /* the month's own measure is untouched */
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.clawbacks, 5);
    char buf[1024];
    size_t len;
    assert_int_equal(sp_commission_run_explain(r, 0, 3, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"kind\":\"clawback\",\"fact\":11,\"day\":\"2024-04-15\","
                                "\"rule\":\"components[0].clawback\",\"window_days\":90,"
                                "\"limit\":\"paid\",\"base\":-2000,\"rate\":0.05,"
                                "\"earned\":-100}"));
    /* The same totals without lines. */
    sp_commission_run_free(r);
    r = NULL;
    {
        sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
        o.fiscal_year = 2024;
        o.index = 3;
        o.flags = SP_COMMISSION_TOTALS_ONLY;
        assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
        uint32_t payees[] = { A };
        assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
        assert_int_equal(sp_commission_run_set_paid(r, paid, 3), SP_OK);
        assert_int_equal(sp_commission_run_compute(r, src, NULL, dict, NULL), SP_OK);
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, -10504);
    }
    sp_commission_run_free(r);
    sp_fact_source_free(src);

    /* May: the rest of L1 on 05-10 (in the window), then on 05-11 (outside). */
    paid[0].refunded = 200000;
    for (int late = 0; late < 2; late++) {
        uint64_t mid[] = { 12 }, mref[] = { 1 };
        int32_t mday[] = { spt_day(2024, 5, 10 + late) };
        int64_t mamount[] = { 1034567 };
        src = refunds_of(ctx, mid, mref, mday, mamount, 1);
        r = claw_run(p, 4, paid, 1);
        assert_int_equal(sp_commission_run_compute(r, src, NULL, dict, NULL), SP_OK);
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, late ? 0 : -51728);
        assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
        assert_int_equal(ri.clawbacks_expired, late ? 1 : 0);
        /* 10,000 + 51,728: the whole 61,728 given back, net 0 */
        sp_commission_run_free(r);
        sp_fact_source_free(src);
    }
    /* A refund beyond what is left of the line: refused, naming both. */
    {
        uint64_t mid[] = { 12 }, mref[] = { 1 };
        int32_t mday[] = { spt_day(2024, 5, 10) };
        int64_t mamount[] = { 1034568 };
        src = refunds_of(ctx, mid, mref, mday, mamount, 1);
        r = claw_run(p, 4, paid, 1);
        spt_expect_error(ctx, sp_commission_run_compute(r, src, NULL, dict, NULL), SP_EINVAL,
                         "commission run: refunds batch 1 row 0: refund 12 of 1034568 brings the "
                         "refunded amount of line 1 (paid earlier) above its amount 1234567");
        sp_commission_run_free(r);
        sp_fact_source_free(src);
    }
    sp_commission_plan_free(p);

    /* Without the limit: each part at the rate, more than was paid. */
    p = claw_plan(ctx, "none");
    src = refunds_of(ctx, ids + 1, refs + 1, days + 1, amounts + 1, 3);
    r = claw_run(p, 3, paid + 1, 1);
    assert_int_equal(sp_commission_run_compute(r, src, NULL, dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, -6);
    sp_commission_run_free(r);
    sp_fact_source_free(src);

    /* Bad entries: named, nothing kept. */
    r = claw_run(p, 3, NULL, 0);
    sp_commission_paid bad = paid[1];
    bad.payee = 1;
    spt_expect_error(ctx, sp_commission_run_set_paid(r, &bad, 1), SP_EINVAL,
                     "commission run: paid[0] (line 2, payee 1, component 0) is no payee of the "
                     "run");
    bad = paid[1];
    bad.refunded = 91;
    spt_expect_error(ctx, sp_commission_run_set_paid(r, &bad, 1), SP_EINVAL,
                     "commission run: paid[0] (line 2, payee 0, component 0) has a refunded "
                     "amount outside 0 .. its amount");
    sp_commission_paid twice[] = { paid[1], paid[1] };
    spt_expect_error(ctx, sp_commission_run_set_paid(r, twice, 2), SP_EINVAL,
                     "commission run: paid: line 2 of payee 0, component 0 is given twice");
    /* A refund of a line neither read nor paid. */
    uint64_t uid[] = { 99 }, uref[] = { 7 };
    src = refunds_of(ctx, uid, uref, days, amounts, 1);
    spt_expect_error(ctx, sp_commission_run_compute(r, src, NULL, dict, NULL), SP_EINVAL,
                     "commission run: refunds batch 1 row 0: refund 99 references line 7, which "
                     "is no order line of the days read and no line paid earlier "
                     "(sp_commission_run_set_paid)");
    sp_fact_source_free(src);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    sp_dict_free(dict);
    sp_ctx_free(ctx);
}

/* ---- plans in a store ---- */

static sp_commission_plan *version_of(sp_ctx *ctx, const char *from, const char *to)
{
    char json[1024];
    snprintf(json, sizeof json,
             "{\"plan\": \"AE\", \"effective\": {\"from\": \"%s\"%s%s%s}, \"currency\": "
             "\"USD\", \"components\": [{\"id\": \"sales\", \"measure\": {\"kind\": "
             "\"amount\"}, \"period\": \"month\", \"schedule\": {\"kind\": \"flat\", "
             "\"tiers\": [{\"rate\": \"5%%\"}]}}]}",
             from, to != NULL ? ", \"to\": \"" : "", to != NULL ? to : "", to != NULL ? "\"" : "");
    return plan_of(ctx, json);
}

static void test_plan_store(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_storage *store;
    assert_int_equal(sp_storage_memory_new(&store, ctx), SP_OK);
    sp_commission_plan *v2027 = version_of(ctx, "2027-01-01", "2027-12-31");
    uint32_t rev = 0;
    assert_int_equal(sp_commission_plan_save(v2027, store, 0, &rev), SP_OK);
    assert_int_equal(rev, 1);
    sp_commission_plan_info info = SP_COMMISSION_PLAN_INFO_INIT;
    assert_int_equal(sp_commission_plan_get_info(v2027, &info), SP_OK);
    assert_int_equal(info.revision, 1);
    /* Based on an older revision: refused, nothing written. */
    sp_commission_plan *v2028 = version_of(ctx, "2028-01-01", NULL);
    rev = 77;
    assert_int_equal(sp_commission_plan_save(v2028, store, 0, &rev), SP_ECONFLICT);
    assert_int_equal(rev, 77);
    assert_int_equal(sp_commission_plan_save(v2028, store, 1, &rev), SP_OK);
    assert_int_equal(rev, 2);
    /* Overlapping 2027's: refused. */
    sp_commission_plan *mid = version_of(ctx, "2027-07-01", "2027-09-30");
    assert_int_equal(sp_commission_plan_save(mid, store, 2, &rev), SP_EINVAL);
    assert_non_null(strstr(sp_ctx_errmsg(ctx), "overlaps"));
    sp_commission_plan_free(mid);

    int32_t from[2], to[2];
    size_t count = 0;
    uint32_t loaded = 0;
    assert_int_equal(sp_commission_plan_versions(ctx, store, "AE", 0, from, to, 1, &count,
                                                 &loaded), SP_EBUFFER);
    assert_int_equal(count, 2);
    assert_int_equal(sp_commission_plan_versions(ctx, store, "AE", 0, from, to, 2, &count,
                                                 &loaded), SP_OK);
    assert_int_equal(loaded, 2);
    assert_int_equal(from[0], spt_day(2027, 1, 1));
    assert_int_equal(to[0], spt_day(2027, 12, 31));
    assert_int_equal(from[1], spt_day(2028, 1, 1));
    assert_int_equal(to[1], INT32_MAX);
    uint32_t revs[4];
    assert_int_equal(sp_commission_plan_revisions(ctx, store, "AE", revs, 4, &count), SP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(revs[0], 1);
    assert_int_equal(revs[1], 2);
    assert_int_equal(sp_commission_plan_revisions(ctx, store, "none", revs, 4, &count), SP_OK);
    assert_int_equal(count, 0);
    sp_names *names;
    assert_int_equal(sp_commission_plans(&names, ctx, store), SP_OK);
    assert_int_equal(sp_names_count(names), 1);
    assert_string_equal(sp_names_at(names, 0), "AE");
    size_t len;
    sp_names_free(names);

    /* Loaded by day: the version in effect, with its revision; none before 2027. */
    sp_commission_plan *p = NULL;
    assert_int_equal(sp_commission_plan_load(&p, ctx, store, "AE", spt_day(2027, 6, 1), 0),
                     SP_OK);
    assert_int_equal(sp_commission_plan_get_info(p, &info), SP_OK);
    assert_int_equal(info.revision, 2);
    assert_int_equal(info.effective_to, spt_day(2027, 12, 31));
    sp_commission_plan_free(p);
    p = NULL;
    assert_int_equal(sp_commission_plan_load(&p, ctx, store, "AE", spt_day(2026, 12, 31), 0),
                     SP_ENOTFOUND);
    assert_null(p);
    /* Removing 2028 makes revision 3; revision 2 still has it. */
    assert_int_equal(sp_commission_plan_remove_version(ctx, store, "AE", spt_day(2028, 1, 1), 2,
                                                       &rev), SP_OK);
    assert_int_equal(rev, 3);
    assert_int_equal(sp_commission_plan_load(&p, ctx, store, "AE", spt_day(2030, 1, 1), 0),
                     SP_ENOTFOUND);
    assert_int_equal(sp_commission_plan_load(&p, ctx, store, "AE", spt_day(2030, 1, 1), 2),
                     SP_OK);
    assert_int_equal(sp_commission_plan_get_info(p, &info), SP_OK);
    assert_int_equal(info.effective_from, spt_day(2028, 1, 1));
    assert_int_equal(info.revision, 2);
    /* A run of a stored plan names its revision. */
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2030;
    sp_commission_run *r;
    assert_int_equal(sp_commission_run_new(&r, p, &o), SP_OK);
    env e;
    env_make(&e, ctx);
    uint32_t payees[] = { A };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 1), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    char buf[1024];
    assert_int_equal(sp_commission_run_explain(r, 0, SIZE_MAX, buf, sizeof buf, &len), SP_OK);
    assert_non_null(strstr(buf, "\"plan\":\"AE\",\"revision\":2,"));
    env_free(&e);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    spt_expect_error(ctx, sp_commission_plan_save(v2027, NULL, 0, NULL), SP_EINVAL,
                     "commission plan: storage is NULL");
    spt_expect_error(ctx, sp_commission_plan_load(&p, ctx, store, NULL, 0, 0), SP_EINVAL,
                     "commission plan: plan_id is NULL");
    sp_commission_plan_free(v2028);
    sp_commission_plan_free(v2027);
    sp_storage_free(store);
    sp_ctx_free(ctx);
}

/* ---- plug-in kinds ---- */

/* "step": P(x) = floor(x / per) x pay for x >= 0 (0 below), params {"per": n, "pay": n};
 * "bonus": P(x) = pay once x reaches the quota. Counters check the lifetimes. */
typedef struct plugin_host {
    int prepared, released, destroyed, fail_payout;
    char msg[64];
} plugin_host;

typedef struct step_params {
    long long per, pay;
} step_params;

static int step_prepare(void *user, const char *params, size_t len, void **state)
{
    plugin_host *h = user;
    step_params sp;
    assert_int_equal(strlen(params), len);
    if (sscanf(params, "{\"per\":%lld,\"pay\":%lld}", &sp.per, &sp.pay) != 2 || sp.per <= 0) {
        snprintf(h->msg, sizeof h->msg, "per must be a whole number above 0");
        return -5;
    }
    step_params *copy = malloc(sizeof *copy);
    assert_non_null(copy);
    *copy = sp;
    *state = copy;
    h->prepared++;
    return 0;
}

static int step_payout(void *user, void *state, int64_t x, int64_t quota, int64_t *payout)
{
    plugin_host *h = user;
    const step_params *sp = state;
    (void)quota;
    if (h->fail_payout != 0) {
        snprintf(h->msg, sizeof h->msg, "the rate service is down");
        return h->fail_payout;
    }
    *payout = x < 0 ? 0 : x / sp->per * sp->pay;
    return 0;
}

static int bonus_payout(void *user, void *state, int64_t x, int64_t quota, int64_t *payout)
{
    (void)user;
    *payout = x >= quota ? ((const step_params *)state)->pay : 0;
    return 0;
}

static void step_release(void *user, void *state)
{
    ((plugin_host *)user)->released++;
    free(state);
}

static const char *step_errmsg(void *user)
{
    return ((plugin_host *)user)->msg;
}

static void step_destroy(void *user)
{
    ((plugin_host *)user)->destroyed++;
}

static const char STEP[] =
    "{\"plan\": \"P\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": \"USD\", "
    "\"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
    "\"period\": \"month\", \"schedule\": {\"kind\": \"plugin\", \"name\": \"step\", "
    "\"params\": {\"per\": 1000, \"pay\": 50}}}]}";

/*
 * STEP pays 0.50 for every whole 10.00 of the period's measure. A: 60.00 -> P = 6 x 50 =
 * 3.00; then 130.00 -> 13 x 50 = 6.50, the line 3.50. B: 50.00 -> 2.50.
 * "bonus" on attainment pays 10.00 once the measure reaches the quota of 100.00: A (130.00)
 * on its second line, B (50.00) never.
 */
static void test_plugin(void **state)
{
    (void)state;
    plugin_host host = { 0, 0, 0, 0, "" };
    sp_ctx *ctx = spt_new_ctx();
    env e;
    env_make(&e, ctx);
    sp_commission_plan *p = NULL;
    spt_expect_error(ctx, sp_commission_plan_new(&p, ctx, STEP, strlen(STEP)), SP_EINVAL,
                     "commission plan: components[0].schedule.name: no plug-in kind 'step' is "
                     "registered on this context (line 1, column 187, byte 186)");
    sp_commission_kind k = SP_COMMISSION_KIND_INIT;
    k.name = "step";
    k.user = &host;
    k.prepare = step_prepare;
    spt_expect_error(ctx, sp_commission_register_kind(ctx, &k), SP_EINVAL,
                     "commission kind 'step': payout is NULL");
    k.payout = step_payout;
    k.release = step_release;
    k.errmsg = step_errmsg;
    k.destroy = step_destroy;
    assert_int_equal(sp_commission_register_kind(ctx, &k), SP_OK);
    spt_expect_error(ctx, sp_commission_register_kind(ctx, &k), SP_ECONFLICT,
                     "commission kind 'step' is already registered");
    k.name = "";
    spt_expect_error(ctx, sp_commission_register_kind(ctx, &k), SP_EINVAL,
                     "commission kind: name is empty");
    k.name = "bonus";
    k.payout = bonus_payout;
    k.destroy = NULL;
    assert_int_equal(sp_commission_register_kind(ctx, &k), SP_OK);

    p = plan_of(ctx, STEP);
    assert_int_equal(host.prepared, 1);
    const char *doc;
    size_t len;
    assert_int_equal(sp_commission_plan_get_document(p, &doc, &len), SP_OK);
    assert_non_null(strstr(doc, "\"schedule\":{\"kind\":\"plugin\",\"on\":\"measure\","
                                "\"boundary\":\"lower\",\"accumulate\":\"period\",\"name\":"
                                "\"step\",\"params\":{\"per\":1000,\"pay\":50}}"));
    sp_commission_plan *again = plan_of(ctx, doc);
    const char *doc2;
    size_t len2;
    assert_int_equal(sp_commission_plan_get_document(again, &doc2, &len2), SP_OK);
    assert_int_equal(len, len2);
    assert_memory_equal(doc, doc2, len);
    sp_commission_plan_free(again);
    assert_int_equal(host.released, 1);

    for (uint32_t flags = 0; flags <= SP_COMMISSION_TOTALS_ONLY; flags++) {
        sp_commission_run *r = january(p, flags);
        uint32_t payees[] = { A, B };
        assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 650);
        if (flags == 0) {
            assert_int_equal(st.nlines, 2);
            assert_int_equal(st.lines[0].earned, 300);
            assert_int_equal(st.lines[1].earned, 350);
            char buf[2048];
            assert_int_equal(sp_commission_run_explain(r, 0, 1, buf, sizeof buf, &len), SP_OK);
            assert_non_null(strstr(buf, "\"schedule\":\"plugin\""));
            assert_non_null(strstr(buf, "\"earned\":3.5"));
        }
        assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
        assert_int_equal(st.total, 250);
        /* The function failing: the host's code and message, the earlier results kept. */
        host.fail_payout = 42;
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EUSER);
        assert_int_equal(sp_ctx_user_errcode(ctx), 42);
        assert_non_null(strstr(sp_ctx_errmsg(ctx), "commission run: payee \"A\": components[0] "
                                                   "(\"c\"): fact "));
        assert_non_null(strstr(sp_ctx_errmsg(ctx), "plug-in kind 'step'"));
        assert_non_null(strstr(sp_ctx_errmsg(ctx), "the rate service is down"));
        host.fail_payout = 0;
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 650);
        sp_commission_run_free(r);
    }
    sp_commission_plan_free(p);

    /* Params the kind refuses: the plan is refused, naming the params. */
    static const char BAD_PARAMS[] =
        "{\"plan\": \"P\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "
        "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"schedule\": {\"kind\": \"plugin\", \"name\": \"step\", "
        "\"params\": {\"per\": 0, \"pay\": 50}}}]}";
    p = NULL;
    spt_expect_error(ctx, sp_commission_plan_new(&p, ctx, BAD_PARAMS, strlen(BAD_PARAMS)),
                     SP_EINVAL, "commission plan: components[0].schedule.params: the plug-in "
                                "kind 'step' refuses its params (code -5: per must be a whole "
                                "number above 0) (line 1, column 205, byte 204)");
    assert_null(p);
    static const char TIERS[] =
        "{\"plan\": \"P\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "
        "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"schedule\": {\"kind\": \"plugin\", \"name\": \"step\", "
        "\"tiers\": []}}]}";
    spt_expect_error(ctx, sp_commission_plan_new(&p, ctx, TIERS, strlen(TIERS)), SP_EINVAL,
                     "commission plan: components[0].schedule.tiers: 'tiers' does not apply to "
                     "kind 'plugin' (its function gives the payout) (line 1, column 204, byte "
                     "203)");

    /* On attainment: the quota reaches the function. */
    static const char BONUS[] =
        "{\"plan\": \"P\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": "
        "\"USD\", \"components\": [{\"id\": \"c\", \"measure\": {\"kind\": \"amount\"}, "
        "\"period\": \"month\", \"quota\": {\"given\": true}, \"schedule\": {\"kind\": "
        "\"plugin\", \"on\": \"attainment\", \"name\": \"bonus\", \"params\": "
        "{\"per\": 1, \"pay\": 1000}}}]}";
    p = plan_of(ctx, BONUS);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { A, B };
    int64_t quotas[] = { 10000, 10000 };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 2), SP_OK);
    assert_int_equal(sp_commission_run_set_quotas(r, quotas, 2), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 1000);
    assert_int_equal(st.lines[0].earned, 0);
    assert_int_equal(st.lines[1].earned, 1000);
    assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
    assert_int_equal(st.total, 0);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    assert_int_equal(host.prepared, host.released);
    assert_int_equal(host.destroyed, 0);
    sp_ctx_free(ctx);
    assert_int_equal(host.destroyed, 1);
}

/* ---- every allocation of the whole flow failing in turn ---- */

typedef struct flow {
    spt_alloc alloc;
    sp_ctx *ctx;
    env e;
    sp_hierarchy *h; /* the roll-up's flow's */
} flow;

static int run_flow(void *user)
{
    flow *f = user;
    sp_commission_plan *p = NULL;
    sp_commission_run *r = NULL;
    int rc = sp_commission_plan_new(&p, f->ctx, RETRO, strlen(RETRO));
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    uint32_t payees[] = { A, B };
    int64_t quotas[] = { 10000, 10000 };
    uint64_t facts[] = { 2, 2 };
    uint32_t who[] = { 0, 1 };
    sp_dec half[] = { SP_DEC_ONE / 2, SP_DEC_ONE / 2 };
    char buf[2048];
    size_t len;
    if (rc == SP_OK)
        rc = sp_commission_run_new(&r, p, &o);
    if (rc == SP_OK)
        rc = sp_commission_run_set_payees(r, payees, 2);
    if (rc == SP_OK)
        rc = sp_commission_run_set_quotas(r, quotas, 2);
    if (rc == SP_OK)
        rc = sp_commission_run_set_splits(r, facts, who, half, 2);
    if (rc == SP_OK)
        rc = sp_commission_run_compute(r, f->e.src, NULL, f->e.dict, NULL);
    if (rc == SP_OK)
        rc = sp_commission_run_explain(r, 0, 0, buf, sizeof buf, &len);
    if (rc == SP_OK) {
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        rc = sp_commission_run_statement(r, 0, &st);
        assert_int_equal(rc, SP_OK);
        assert_int_equal(st.total, 520);
    }
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    return rc;
}

static plugin_host fault_host;

static int run_plugin_flow(void *user)
{
    flow *f = user;
    sp_commission_plan *p = NULL;
    sp_commission_run *r = NULL;
    int rc = sp_commission_plan_new(&p, f->ctx, STEP, strlen(STEP));
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    uint32_t payees[] = { A, B };
    if (rc == SP_OK)
        rc = sp_commission_run_new(&r, p, &o);
    if (rc == SP_OK)
        rc = sp_commission_run_set_payees(r, payees, 2);
    if (rc == SP_OK)
        rc = sp_commission_run_compute(r, f->e.src, NULL, f->e.dict, NULL);
    if (rc == SP_OK) {
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 650);
    }
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    /* every state prepared was released with its plan */
    assert_int_equal(fault_host.prepared, fault_host.released);
    return rc;
}

/* ---- roll-ups to managers ---- */

/* VP over M over A and B (levels vp, manager, rep); M's override 2 % from 100 % of its
 * quota, VP's 1 %; reps paid 10 %. */
static const char ROLLUP[] =
    "{\"plan\": \"RU\", \"effective\": {\"from\": \"2027-01-01\"}, \"currency\": \"USD\", "
    "\"components\": [{\"id\": \"sales\", \"measure\": {\"kind\": \"amount\"}, "
    "\"period\": \"month\", \"schedule\": {\"kind\": \"flat\", \"tiers\": [{\"rate\": "
    "\"10%\"}]}, \"crediting\": {\"rollup\": {\"levels\": {\"manager\": {\"rate\": \"2%\", "
    "\"threshold\": \"100%\"}, \"vp\": {\"rate\": \"1%\"}}}}}]}";

enum { RVP, RM, RA, RB, RZ, RNDICT };

/* The ids VP, M, A, B and Z (no node); A sells 300.00 on January 5 (fact 1), B 200.00 on
 * January 6 (fact 2), M 100.00 on January 7 (fact 3). */
static void renv_make(env *e, sp_ctx *ctx)
{
    e->ctx = ctx;
    static const char *const ids[RNDICT] = { "VP", "M", "A", "B", "Z" };
    assert_int_equal(sp_dict_new(&e->dict, ctx), SP_OK);
    for (size_t i = 0; i < RNDICT; i++) {
        uint32_t at;
        assert_int_equal(sp_dict_add(e->dict, ids[i], strlen(ids[i]), &at), SP_OK);
        assert_int_equal(at, i);
    }
    assert_int_equal(sp_fact_source_memory_new(&e->src, ctx), SP_OK);
    uint64_t id[] = { 1, 2, 3 };
    int32_t day[] = { spt_day(2027, 1, 5), spt_day(2027, 1, 6), spt_day(2027, 1, 7) };
    uint32_t rep[] = { RA, RB, RM };
    int64_t amount[] = { 30000, 20000, 10000 };
    append_facts(e->src, SP_FACT_ORDER_LINES, 3, id, NULL, day, rep, amount);
}

static sp_hierarchy *payees_of(sp_ctx *ctx, const char *const levels[3], bool validate)
{
    static const char *const ids[] = { "VP", "M", "A", "B" };
    static const char *const parents[] = { NULL, "VP", "M", "M" };
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, 4, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_set_levels(h, levels, 3), SP_OK);
    if (validate)
        assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    return h;
}

static const char *const ru_levels[3] = { "vp", "manager", "rep" };

/*
 * ROLLUP's January: A earns 3,000, B 2,000, M 1,000 on its own line (no override of M on
 * it; it reaches the VP). M's team is A's and B's 50,000: against a quota of 60,000,
 * 83 %, M's overrides are held (lines of 0 on 30,000 and 20,000): M 1,000 in all; against
 * 50,000 (100 %) they pay 600 and 400: M 2,000. The VP: 1 % of 30,000, 20,000 and 10,000
 * = 300 + 200 + 100 = 600 (its draw-free total). Without M among the payees, M's two
 * overrides are skipped and counted (and its own line, a rep that is no payee): the VP 500.
 */
static void test_rollup(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    env e;
    renv_make(&e, ctx);
    sp_commission_plan *p = plan_of(ctx, ROLLUP);
    sp_commission_run *r = january(p, 0);
    uint32_t payees[] = { RVP, RM, RA, RB };
    assert_int_equal(sp_commission_run_set_payees(r, payees, 4), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0] (\"sales\").crediting.rollup: a roll-up "
                     "needs the payees' hierarchy (sp_commission_run_set_hierarchy)");
    sp_hierarchy *open = payees_of(ctx, ru_levels, false);
    spt_expect_error(ctx, sp_commission_run_set_hierarchy(r, open), SP_EINVAL,
                     "commission run: hierarchy: the payees' hierarchy is not validated (call "
                     "sp_hierarchy_validate after adding nodes)");
    sp_hierarchy_free(open);
    sp_hierarchy *h = payees_of(ctx, ru_levels, true);
    assert_int_equal(sp_commission_run_set_hierarchy(r, h), SP_OK);
    sp_hierarchy_free(h); /* the run holds a copy */
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: payee \"M\": components[0] (\"sales\"): "
                     "crediting.rollup.levels.manager.threshold: the team's attainment needs "
                     "the manager's quota (the run has no quotas)");
    for (int reached = 0; reached < 2; reached++) {
        int64_t quotas[] = { 0, reached ? 50000 : 60000, 0, 0 };
        assert_int_equal(sp_commission_run_set_quotas(r, quotas, 4), SP_OK);
        assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
        assert_int_equal(st.total, reached ? 2000 : 1000);
        assert_int_equal(st.components[0], reached ? 2000 : 1000);
        assert_int_equal(st.measures[0], 10000);
        assert_int_equal(st.nlines, 3);
        assert_int_equal(st.lines[0].kind, SP_COMMISSION_LINE_ORDER);
        assert_int_equal(st.lines[0].earned, 1000);
        const sp_commission_line *l = &st.lines[1];
        assert_int_equal(l->kind, SP_COMMISSION_LINE_OVERRIDE);
        assert_int_equal(l->fact, 1);
        assert_int_equal(l->day, spt_day(2027, 1, 5));
        assert_int_equal(l->base, 30000);
        assert_int_equal(l->rate, SP_DEC_ONE / 50);
        assert_int_equal(l->earned, reached ? 600 : 0);
        assert_int_equal(l->own, l->earned);
        assert_int_equal(l->share, 2); /* through A, payee 2 */
        assert_int_equal(l->tier_before, 1);
        assert_int_equal(l->tier_after, reached ? 0 : 1);
        assert_int_equal(st.lines[2].fact, 2);
        assert_int_equal(st.lines[2].earned, reached ? 400 : 0);
        assert_int_equal(st.lines[2].share, 3);
        assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
        assert_int_equal(st.total, 600);
        assert_int_equal(st.nlines, 3);
        assert_int_equal(st.lines[2].fact, 3);
        assert_int_equal(st.lines[2].base, 10000);
        assert_int_equal(st.lines[2].earned, 100);
        assert_int_equal(st.lines[2].share, 1); /* through M */
        assert_int_equal(st.lines[2].tier_before, 0);
        /* Explain M's first override and M's total. */
        char buf[2048];
        size_t len = 0;
        assert_int_equal(sp_commission_run_explain(r, 1, 1, buf, sizeof buf, &len), SP_OK);
        const char *want[] = {
            "\"payee\":\"M\"", "\"line\":1", "\"component\":\"sales\"",
            "\"path\":\"components[0]\"", "\"kind\":\"override\"", "\"fact\":1",
            "\"day\":\"2027-01-05\"",
            "\"rule\":\"components[0].crediting.rollup.levels.manager\"",
            "\"level\":\"manager\"", "\"via\":\"A\"", "\"source\":\"order\"",
            "\"measure\":\"amount\"", "\"on\":\"measure\"", "\"count\":\"once_per_payee\"",
            "\"base\":300", "\"rate\":0.02", "\"threshold\":1", "\"team_measure\":500",
            reached ? "\"quota\":500" : "\"quota\":600",
            reached ? "\"held\":false" : "\"held\":true", reached ? "\"earned\":6" : "\"earned\":0",
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++)
            if (strstr(buf, want[i]) == NULL)
                fail_msg("explain lacks %s: %s", want[i], buf);
        assert_null(strstr(buf, "\"share\""));
        assert_int_equal(sp_commission_run_explain(r, 1, SIZE_MAX, buf, sizeof buf, &len),
                         SP_OK);
        const char *want_total[] = { "\"measure\":100", "\"lines\":3", "\"team_measure\":500",
                                     reached ? "\"overrides\":10" : "\"overrides\":0",
                                     reached ? "\"total\":20" : "\"total\":10" };
        for (size_t i = 0; i < sizeof want_total / sizeof *want_total; i++)
            if (strstr(buf, want_total[i]) == NULL)
                fail_msg("explain lacks %s: %s", want_total[i], buf);
        /* The VP's override through M: no threshold. */
        assert_int_equal(sp_commission_run_explain(r, 0, 2, buf, sizeof buf, &len), SP_OK);
        if (strstr(buf, "\"via\":\"M\"") == NULL || strstr(buf, "\"level\":\"vp\"") == NULL ||
            strstr(buf, "\"threshold\"") != NULL || strstr(buf, "\"held\":false") == NULL)
            fail_msg("explain: %s", buf);
    }
    sp_commission_run_info ri = SP_COMMISSION_RUN_INFO_INIT;
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.overrides_not_payee, 0);
    assert_int_equal(ri.totals_path, 0);

    /* M no payee: its overrides skipped and counted; the VP's unchanged. */
    uint32_t no_m[] = { RVP, RA, RB };
    assert_int_equal(sp_commission_run_set_payees(r, no_m, 3), SP_OK);
    assert_int_equal(sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_OK);
    assert_int_equal(sp_commission_run_get_info(r, &ri), SP_OK);
    assert_int_equal(ri.overrides_not_payee, 2);
    assert_int_equal(ri.not_payee, 1);
    sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
    /* The VP: 1 % of A's 30,000 and B's 20,000 = 500; M's own line is skipped (M is no
     * payee), so the VP's 100 on it goes too. */
    assert_int_equal(sp_commission_run_statement(r, 0, &st), SP_OK);
    assert_int_equal(st.total, 500);

    /* A payee that is no node; a hierarchy without the plan's level names; none. */
    uint32_t with_z[] = { RVP, RA, RZ };
    assert_int_equal(sp_commission_run_set_payees(r, with_z, 3), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0].crediting.rollup: payee \"Z\" is no node "
                     "of the payees' hierarchy");
    static const char *const other[3] = { "top", "mid", "rep" };
    h = payees_of(ctx, other, true);
    assert_int_equal(sp_commission_run_set_hierarchy(r, h), SP_OK);
    sp_hierarchy_free(h);
    assert_int_equal(sp_commission_run_set_payees(r, no_m, 3), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0].crediting.rollup: levels.manager: the "
                     "payees' hierarchy has no level \"manager\"");
    assert_int_equal(sp_commission_run_set_hierarchy(r, NULL), SP_OK);
    spt_expect_error(ctx, sp_commission_run_compute(r, e.src, NULL, e.dict, NULL), SP_EINVAL,
                     "commission run: components[0] (\"sales\").crediting.rollup: a roll-up "
                     "needs the payees' hierarchy (sp_commission_run_set_hierarchy)");
    /* Setting the hierarchy clears the results. */
    spt_expect_error(ctx, sp_commission_run_statement(r, 0, &st), SP_EINVAL,
                     "commission run: not computed yet (sp_commission_run_compute)");
    assert_int_equal(sp_commission_run_set_hierarchy(NULL, NULL), SP_EINVAL);
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    env_free(&e);
    sp_ctx_free(ctx);
}

/* The roll-up's flow, every allocation failing in turn: the hierarchy's copy, the run's
 * overrides, explain. */
static int run_rollup_flow(void *user)
{
    flow *f = user;
    sp_commission_plan *p = NULL;
    sp_commission_run *r = NULL;
    int rc = sp_commission_plan_new(&p, f->ctx, ROLLUP, strlen(ROLLUP));
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    o.fiscal_year = 2027;
    uint32_t payees[] = { RVP, RM, RA, RB };
    int64_t quotas[] = { 0, 50000, 0, 0 };
    char buf[2048];
    size_t len;
    if (rc == SP_OK)
        rc = sp_commission_run_new(&r, p, &o);
    if (rc == SP_OK)
        rc = sp_commission_run_set_payees(r, payees, 4);
    if (rc == SP_OK)
        rc = sp_commission_run_set_quotas(r, quotas, 4);
    if (rc == SP_OK)
        rc = sp_commission_run_set_hierarchy(r, f->h);
    if (rc == SP_OK)
        rc = sp_commission_run_compute(r, f->e.src, NULL, f->e.dict, NULL);
    if (rc == SP_OK)
        rc = sp_commission_run_explain(r, 1, 1, buf, sizeof buf, &len);
    if (rc == SP_OK) {
        sp_commission_statement st = SP_COMMISSION_STATEMENT_INIT;
        assert_int_equal(sp_commission_run_statement(r, 1, &st), SP_OK);
        assert_int_equal(st.total, 2000);
    }
    sp_commission_run_free(r);
    sp_commission_plan_free(p);
    return rc;
}

static size_t live_flow(void *user)
{
    return ((flow *)user)->alloc.live_blocks;
}

static void test_fault_loop(void **state)
{
    (void)state;
    flow f;
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    env_make(&f.e, f.ctx);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "commission api", run_flow, NULL, NULL, live_flow, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 10);
    /* With a plug-in kind: its states are released whatever fails. */
    sp_commission_kind k = SP_COMMISSION_KIND_INIT;
    k.name = "step";
    k.user = &fault_host;
    k.prepare = step_prepare;
    k.payout = step_payout;
    k.release = step_release;
    assert_int_equal(sp_commission_register_kind(f.ctx, &k), SP_OK);
    spt_fault_case pc = { "commission plug-in", run_plugin_flow, NULL, NULL, live_flow, errors,
                          1, &f };
    assert_true(spt_fault_loop(&pc, &inj) >= 10);
    assert_true(fault_host.prepared > 10);
    env_free(&f.e);
    /* The roll-up's flow. */
    renv_make(&f.e, f.ctx);
    f.h = payees_of(f.ctx, ru_levels, true);
    spt_fault_case rc = { "commission roll-up", run_rollup_flow, NULL, NULL, live_flow, errors,
                          1, &f };
    assert_true(spt_fault_loop(&rc, &inj) >= 10);
    sp_hierarchy_free(f.h);
    env_free(&f.e);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_run_marginal),
        cmocka_unit_test(test_run_totals_only),
        cmocka_unit_test(test_run_quotas),
        cmocka_unit_test(test_run_splits),
        cmocka_unit_test(test_run_bad_input),
        cmocka_unit_test(test_quotas_from_set),
        cmocka_unit_test(test_plugin),
        cmocka_unit_test(test_draw_carry),
        cmocka_unit_test(test_bases),
        cmocka_unit_test(test_plan_store),
        cmocka_unit_test(test_clawbacks),
        cmocka_unit_test(test_assignments),
        cmocka_unit_test(test_ledger),
        cmocka_unit_test(test_adjustments),
        cmocka_unit_test(test_rollup),
        cmocka_unit_test(test_fault_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
