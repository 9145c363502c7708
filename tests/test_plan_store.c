/* Plans and target sets in a store: round trips (one chunk and several), versions,
 * scenarios, conflicts, stale chunks, corrupt records and chunks, and fault loops
 * (allocator and storage) on every store-backed operation over several chunks. Links the
 * library's objects: the tests lower an object's chunk size (chunk_nodes, plan.h) so that
 * seven nodes span several chunk records. */
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
#include "targets/plan.h"
#include "target_fixtures.h"

static const spec org[] = {
    { "CN", NULL },   { "East", "CN" }, { "West", "CN" }, { "e1", "East" },
    { "e2", "East" }, { "w1", "West" }, { "w2", "West" },
};
#define ORG_N (sizeof org / sizeof org[0])
static const char *const levels[] = { "company", "region", "rep" };
static const char *const all_ns[] = { "target.plan", "target.plan.chunk", "target.set",
                                      "target.set.chunk" };
#define ALL_NS (sizeof all_ns / sizeof all_ns[0])

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
    /* Holidays Thursday 2026-01-01 and Friday the 2nd; Sunday the 4th works. */
    int32_t hol[] = { 20454, 20455 }, work[] = { 20457, 20457 };
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    cal.weekend = SP_SATURDAY | SP_SUNDAY;
    cal.holiday_ranges = hol;
    cal.nholiday_ranges = 1;
    cal.workday_ranges = work;
    cal.nworkday_ranges = 1;
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
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    sp_storage *st = e->st;
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
    /* The calendar's ranges came along: Q1 2026 has 64 weekdays (12 weeks and Thursday 26 ..
     * Tuesday 31 March), less the two holidays, plus the make-up Sunday. */
    int32_t wq[4];
    size_t nq;
    assert_int_equal(sp_calendar_periods(qi.calendar, 2026, SP_GRAIN_QUARTER, NULL, NULL, wq, 4,
                                         &nq),
                     SP_OK);
    assert_int_equal(wq[0], 63);
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
    assert_int_equal(sp_target_plan_decompose(&sp, p, 100000, NULL), SP_OK);
    assert_int_equal(sp_target_plan_decompose(&sq, q, 100000, NULL), SP_OK);
    expect_equal_sets(sp, sq);

    /* Versions and scenarios. */
    uint32_t v = 0;
    /* The day of saving is a real day: INT32_MIN is what an unsaved set reports. */
    spt_expect_error(ctx, sp_target_set_save(sp, st, "base", NULL, INT32_MIN, &v), SP_EINVAL,
                     "target set: day -2147483648 is outside the years 1 to 9999 (INT32_MIN "
                     "marks a set never saved)");
    spt_expect_error(ctx, sp_target_set_save(sp, st, "base", NULL, 2932897, &v), SP_EINVAL,
                     "target set: day 2932897 is outside the years 1 to 9999");
    assert_int_equal(v, 0);
    assert_int_equal(sp_target_set_save(sp, st, "base", "first cut", 20500, &v), SP_OK);
    assert_int_equal(v, 1);
    spt_expect_error(ctx, sp_target_set_save(sp, st, "base", NULL, 20500, &v), SP_ECONFLICT,
                     "target set: already saved as \"base\" version 1 (a saved set is immutable)");
    assert_int_equal(sp_target_set_save(sq, st, "base", NULL, 20501, &v), SP_OK);
    assert_int_equal(v, 2);
    sp_target_set *stretch = NULL;
    assert_int_equal(sp_target_plan_decompose(&stretch, p, 120000, NULL), SP_OK);
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
    sp_names *names = NULL;
    assert_int_equal(sp_target_scenarios(&names, ctx, st, "FY2026"), SP_OK);
    assert_int_equal(sp_names_count(names), 2);
    assert_string_equal(sp_names_at(names, 0), "base");
    assert_string_equal(sp_names_at(names, 1), "stretch");
    assert_null(sp_names_at(names, 2));
    sp_names_free(names);
    assert_int_equal(sp_target_plans(&names, ctx, st), SP_OK);
    assert_int_equal(sp_names_count(names), 1);
    assert_string_equal(sp_names_at(names, 0), "FY2026");
    sp_names_free(names);

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
    spt_expect_error(ctx, sp_target_set_save(l, st, "base", NULL, 1, &v), SP_ECONFLICT,
                     "target set: already saved as \"base\" version 2 (a saved set is immutable)");
    sp_target_set_free(l);
    assert_int_equal(sp_target_set_load(&l, ctx, st, "FY2026", "stretch", 1), SP_OK);
    expect_equal_sets(l, stretch);
    assert_string_equal(sp_target_set_lock_reason(l, 2), "agreed in person");
    sp_target_set_free(l);
    l = NULL;
    spt_expect_error(ctx, sp_target_set_load(&l, ctx, st, "FY2026", "base", 3), SP_ENOTFOUND,
                     "target set of plan \"FY2026\", scenario \"base\", version 3 is not in the "
                     "store");
    spt_expect_error(ctx, sp_target_set_load(&l, ctx, st, "FY2026", "wild", 0), SP_ENOTFOUND,
                     "target set of plan \"FY2026\", scenario \"wild\": no version is stored");
    assert_null(l);

    /* Optimistic revisions: q (revision 1) saves; p (also 1) is then out of date. */
    assert_int_equal(sp_target_plan_save(q, st), SP_OK);
    spt_expect_error(ctx, sp_target_plan_save(p, st), SP_ECONFLICT,
                     "target plan \"FY2026\": the store holds revision 2, this copy is revision 1 "
                     "(load the target plan again before saving)");
    sp_target_plan *missing = NULL;
    spt_expect_error(ctx, sp_target_plan_load(&missing, ctx, st, "FY2027"), SP_ENOTFOUND,
                     "target plan \"FY2027\" is not in the store");

    sp_target_set_free(stretch);
    sp_target_set_free(sp);
    sp_target_set_free(sq);
    sp_target_plan_free(p);
    sp_target_plan_free(q);
}

/* ---- records as the tests see them: keys by hand (docs/storage.md) ---- */

static spt_key plan_key(const char *plan)
{
    return spt_key_str(SPT_KEY_EMPTY, plan);
}

static spt_key plan_chunk_key(const char *plan, uint32_t chunk)
{
    return spt_key_u32(plan_key(plan), chunk);
}

static spt_key set_key(const char *plan, const char *scenario, uint32_t version)
{
    return spt_key_u32(spt_key_str(plan_key(plan), scenario), version);
}

static spt_key set_chunk_key(const char *plan, const char *scenario, uint32_t version,
                             uint32_t chunk)
{
    return spt_key_u32(set_key(plan, scenario, version), chunk);
}

/* Offset of the value of the first member `name` in json. */
static size_t value_at(const char *json, const char *name)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", name);
    const char *p = strstr(json, pat);
    if (p == NULL)
        fail_msg("no member %s in %s", name, json);
    return (size_t)(p - json) + strlen(pat);
}

/* json with the text at [at, at + cut) replaced by `with` (free with free). */
static char *splice(const char *json, size_t at, size_t cut, const char *with)
{
    size_t len = strlen(json), wl = strlen(with);
    char *out = malloc(len - cut + wl + 1);
    assert_non_null(out);
    memcpy(out, json, at);
    memcpy(out + at, with, wl);
    memcpy(out + at + wl, json + at + cut, len - at - cut + 1);
    return out;
}

/* json with the first number of member `name` (a number or the first element of an array
 * of numbers) changed by delta. */
static char *bump(const char *json, const char *name, int64_t delta)
{
    size_t at = value_at(json, name);
    if (json[at] == '[')
        at++;
    char *end;
    long long v = strtoll(json + at, &end, 10);
    char text[32];
    snprintf(text, sizeof text, "%lld", v + (long long)delta);
    return splice(json, at, (size_t)(end - (json + at)), text);
}

/* ---- the records, byte for byte ---- */

/* A three-node quarterly plan and its set: every member of the heads and the chunk, each
 * enumeration by its documented name (grain "quarter", calendar kind "months", label
 * "end", year-end rule "last", weighting "profile"), bit sets as integers (weekend
 * Saturday 32 + Sunday 64 = 96; no decomposition flag set). */
static void test_record_bytes(void **state)
{
    spt_env *e = *state;
    static const spec tri[] = { { "CN", NULL }, { "East", "CN" }, { "West", "CN" } };
    sp_hierarchy *h = fx_build_valid(e->ctx, tri, 3);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2026;
    o.grain = SP_GRAIN_QUARTER;
    sp_calendar_options cal = SP_CALENDAR_OPTIONS_INIT;
    cal.weekend = SP_SATURDAY | SP_SUNDAY;
    o.calendar = &cal;
    sp_target_plan *p = NULL;
    assert_int_equal(sp_target_plan_new(&p, e->ctx, "P", h, &o), SP_OK);
    sp_hierarchy_free(h);
    assert_int_equal(sp_target_plan_save(p, e->st), SP_OK);
    sp_target_set *s = NULL;
    assert_int_equal(sp_target_plan_decompose(&s, p, 1000, NULL), SP_OK);
    assert_int_equal(sp_target_set_save(s, e->st, "base", "n", 1, NULL), SP_OK);
    spt_key k = plan_key("P");
    char *head = spt_record_get(e->st, "target.plan", k);
    assert_string_equal(
        head, "{\"type\":\"target.plan\",\"v\":1,\"id\":\"P\",\"revision\":1,\"name\":null,"
              "\"measure\":\"money\",\"currency\":\"CNY\",\"exponent\":2,\"fiscal_year\":2026,"
              "\"grain\":\"quarter\",\"calendar\":{\"kind\":\"months\",\"start_month\":0,"
              "\"label\":\"none\",\"year_end_weekday\":0,\"year_end_rule\":\"none\","
              "\"week53_month\":0,\"weekend\":96,\"holiday_ranges\":[],"
              "\"workday_ranges\":[]},"
              "\"levels\":[],\"drivers\":[],\"settings\":{\"levels\":{},\"nodes\":{},"
              "\"bounds\":{},\"growth_limits\":{},\"locks\":{},\"seasonality\":"
              "{\"weighting\":\"profile\",\"profiles\":{}}},\"history\":null,\"nnodes\":3,"
              "\"chunk_nodes\":16384,\"chunks\":1}");
    free(head);
    k = set_key("P", "base", 1);
    head = spt_record_get(e->st, "target.set", k);
    assert_string_equal(
        head, "{\"type\":\"target.set\",\"v\":1,\"plan_id\":\"P\",\"plan_revision\":1,"
              "\"scenario\":\"base\",\"version\":1,\"note\":\"n\",\"saved_day\":1,"
              "\"measure\":\"money\",\"currency\":\"CNY\",\"exponent\":2,\"fiscal_year\":2026,"
              "\"grain\":\"quarter\",\"nperiods\":4,\"total\":1000,\"based_on\":0,\"closed\":0,"
              "\"weighting\":\"profile\",\"levels\":[],\"nprofiles\":1,\"nnodes\":3,"
              "\"chunk_nodes\":16384,\"chunks\":1}");
    free(head);
    /* 1000 evenly: 500 a region, 125 a quarter each, the root's 250. */
    k = set_chunk_key("P", "base", 1, 0);
    char *chunk = spt_record_get(e->st, "target.set.chunk", k);
    assert_string_equal(
        chunk, "{\"type\":\"target.set.chunk\",\"v\":1,\"plan_id\":\"P\",\"scenario\":\"base\","
               "\"version\":1,\"chunk\":0,\"first\":0,\"ids\":[\"CN\",\"East\",\"West\"],"
               "\"parents\":[null,0,0],\"annual\":[1000,500,500],\"flags\":[0,0,0],"
               "\"growth\":[0,0,0],\"common_growth\":[0,0,0],"
               "\"periods\":[250,250,250,250,125,125,125,125,125,125,125,125],"
               "\"profile_of\":[0,0,0],\"profiles\":[1,1,1,1],\"locks\":[]}");
    free(chunk);
    sp_target_set_free(s);
    sp_target_plan_free(p);
}

/* A set's plan must be in the store: a set of a plan never saved, or removed since, is
 * refused inside the save's transaction and nothing is written. */
static void test_set_needs_plan(void **state)
{
    spt_env *e = *state;
    sp_target_plan *p = make_plan(e->ctx, "P");
    sp_target_set *s = NULL;
    assert_int_equal(sp_target_plan_decompose(&s, p, 100000, NULL), SP_OK);
    uint32_t v = 7;
    static const char refused[] = "target set of plan \"P\", scenario \"base\": target plan "
                                  "\"P\" is not in the store (save it first)";
    spt_expect_error(e->ctx, sp_target_set_save(s, e->st, "base", NULL, 1, &v), SP_ENOTFOUND,
                     refused);
    assert_int_equal(v, 7);
    for (size_t i = 0; i < ALL_NS; i++)
        assert_int_equal(spt_record_count(e->st, all_ns[i]), 0);
    sp_target_set_info info = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(s, &info), SP_OK);
    assert_string_equal(info.scenario, "");
    assert_int_equal(info.set_version, 0);

    /* Saved, then removed by the host: refused again, nothing written. */
    assert_int_equal(sp_target_plan_save(p, e->st), SP_OK);
    spt_key k = plan_key("P");
    spt_record_remove(e->st, "target.plan", k);
    spt_snapshot *before = spt_snapshot_take(e->st, all_ns, ALL_NS);
    spt_expect_error(e->ctx, sp_target_set_save(s, e->st, "base", NULL, 1, &v), SP_ENOTFOUND,
                     refused);
    spt_snapshot_assert_store(before, e->st);
    spt_snapshot_free(before);

    /* A plan whose id extends this one's is not this one's. */
    sp_target_plan *longer = make_plan(e->ctx, "PQ");
    assert_int_equal(sp_target_plan_save(longer, e->st), SP_OK);
    spt_expect_error(e->ctx, sp_target_set_save(s, e->st, "base", NULL, 1, &v), SP_ENOTFOUND,
                     refused);
    sp_target_plan_free(longer);

    /* Stored again: the set saves. */
    p->revision = 0;
    assert_int_equal(sp_target_plan_save(p, e->st), SP_OK);
    assert_int_equal(sp_target_set_save(s, e->st, "base", NULL, 1, &v), SP_OK);
    assert_int_equal(v, 1);
    sp_target_set_free(s);
    sp_target_plan_free(p);
}

/* ---- chunked round trips ---- */

static void expect_equal_plans(const sp_target_plan *a, const sp_target_plan *b)
{
    sp_target_plan_info ia = SP_TARGET_PLAN_INFO_INIT, ib = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(a, &ia), SP_OK);
    assert_int_equal(sp_target_plan_get_info(b, &ib), SP_OK);
    assert_string_equal(ia.id, ib.id);
    assert_string_equal(ia.name, ib.name);
    assert_string_equal(ia.currency, ib.currency);
    assert_int_equal(ia.exponent, ib.exponent);
    assert_int_equal(ia.fiscal_year, ib.fiscal_year);
    assert_int_equal(ia.grain, ib.grain);
    assert_int_equal(ia.nperiods, ib.nperiods);
    assert_int_equal(ia.nnodes, ib.nnodes);
    size_t la, lb;
    assert_int_equal(sp_hierarchy_level_count(ia.hierarchy, &la), SP_OK);
    assert_int_equal(sp_hierarchy_level_count(ib.hierarchy, &lb), SP_OK);
    assert_int_equal(la, lb);
    for (uint32_t v = 0; v < ia.nnodes; v++) {
        const char *ida, *idb;
        size_t lena, lenb;
        uint32_t pa, pb;
        assert_int_equal(sp_hierarchy_id(ia.hierarchy, v, &ida, &lena), SP_OK);
        assert_int_equal(sp_hierarchy_id(ib.hierarchy, v, &idb, &lenb), SP_OK);
        assert_int_equal(lena, lenb);
        assert_memory_equal(ida, idb, lena);
        assert_int_equal(sp_hierarchy_parent(ia.hierarchy, v, &pa), SP_OK);
        assert_int_equal(sp_hierarchy_parent(ib.hierarchy, v, &pb), SP_OK);
        assert_int_equal(pa, pb);
    }
    assert_int_equal(sp_target_plan_driver_count(a), sp_target_plan_driver_count(b));
    for (size_t k = 0; k < sp_target_plan_driver_count(a); k++) {
        const char *na, *nb;
        const int64_t *va, *vb;
        const uint8_t *ma, *mb;
        assert_int_equal(sp_target_plan_driver_at(a, k, &na, &va, &ma), SP_OK);
        assert_int_equal(sp_target_plan_driver_at(b, k, &nb, &vb, &mb), SP_OK);
        assert_string_equal(na, nb);
        assert_true((ma == NULL) == (mb == NULL));
        for (uint32_t v = 0; v < ia.nnodes; v++) {
            bool valid = ma == NULL || ma[v];
            if (ma != NULL)
                assert_int_equal(ma[v], mb[v]);
            if (valid)
                assert_int_equal(va[v], vb[v]);
        }
    }
    /* b's history rows are a's (a save keeps only the rows the settings use). */
    for (uint32_t v = 0; v < ia.nnodes; v++) {
        const int64_t *ra, *rb;
        size_t ya = 0, yb = 0;
        int32_t fa = 0, fb = 0;
        if (sp_target_plan_history(b, v, &rb, &yb, &fb) != SP_OK)
            continue;
        assert_int_equal(sp_target_plan_history(a, v, &ra, &ya, &fa), SP_OK);
        assert_int_equal(ya, yb);
        assert_int_equal(fa, fb);
        assert_memory_equal(ra, rb, ya * ia.nperiods * sizeof *ra);
    }
    const char *ja, *jb;
    size_t lja, ljb;
    assert_int_equal(sp_target_plan_get_settings(a, &ja, &lja), SP_OK);
    assert_int_equal(sp_target_plan_get_settings(b, &jb, &ljb), SP_OK);
    assert_int_equal(lja, ljb);
    assert_memory_equal(ja, jb, lja);
}

/* Seven nodes in chunks of three: chunks 0 (CN, East, West), 1 (e1, e2, w1), 2 (w2). */
/* The longest plan id (512 bytes) with the longest scenario name (255 bytes) fits every
 * key of a set and its chunks (512 + 2 + 255 + 2 + 4 + 4 = 779 bytes <= 1024); a byte
 * more of either is refused before anything is stored. */
static void test_longest_names(void **state)
{
    spt_env *e = *state;
    char id[514], scenario[257];
    memset(id, 'p', sizeof id - 1);
    id[512] = '\0';
    memset(scenario, 's', sizeof scenario - 1);
    scenario[255] = '\0';
    sp_target_plan *p = make_plan(e->ctx, id);
    sp_target_set *s = NULL, *back = NULL;
    uint32_t v = 0;
    assert_int_equal(sp_target_plan_save(p, e->st), SP_OK);
    assert_int_equal(sp_target_plan_decompose(&s, p, 100000, NULL), SP_OK);
    assert_int_equal(sp_target_set_save(s, e->st, scenario, NULL, 20500, &v), SP_OK);
    assert_int_equal(sp_target_set_load(&back, e->ctx, e->st, id, scenario, 0), SP_OK);
    expect_equal_sets(s, back);
    sp_target_set_free(back);
    sp_target_set_free(s);
    sp_target_plan_free(p);

    char longer[600];
    memset(longer, 'p', 513);
    longer[513] = '\0';
    sp_target_set *none = NULL;
    assert_int_equal(sp_target_set_load(&none, e->ctx, e->st, longer, "base", 0), SP_EINVAL);
    assert_non_null(strstr(sp_ctx_errmsg(e->ctx), "is 513 bytes long (at most 512)"));
    scenario[255] = 's';
    scenario[256] = '\0';
    assert_int_equal(sp_target_set_load(&none, e->ctx, e->st, id, scenario, 0), SP_EINVAL);
    assert_non_null(strstr(sp_ctx_errmsg(e->ctx), "is 256 bytes long (at most 255)"));
    assert_null(none);
}

static void test_chunked_round_trips(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    sp_storage *st = e->st;
    sp_target_plan *p = make_plan(ctx, "FY2026");
    p->chunk_nodes = 3;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(spt_record_count(st, "target.plan"), 1);
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), 3);
    /* East's history row (node 1) is in chunk 0; chunks 1 and 2 have none. */
    spt_key k = plan_chunk_key("FY2026", 0);
    char *c0 = spt_record_get(st, "target.plan.chunk", k);
    k = plan_chunk_key("FY2026", 2);
    char *c2 = spt_record_get(st, "target.plan.chunk", k);
    assert_non_null(strstr(c0, "\"ids\":[\"CN\",\"East\",\"West\"],\"parents\":[null,0,0]"));
    assert_non_null(strstr(c0, "\"history\":[{\"node\":1,\"values\":[300,0,0,700]}]"));
    assert_non_null(strstr(c2, "\"chunk\":2,\"first\":6,\"ids\":[\"w2\"],\"parents\":[2]"));
    assert_non_null(strstr(c2, "\"history\":[]"));
    free(c0);
    free(c2);

    sp_target_plan *q = NULL;
    assert_int_equal(sp_target_plan_load(&q, ctx, st, "FY2026"), SP_OK);
    expect_equal_plans(p, q);

    sp_target_set *sp = NULL, *sq = NULL, *l = NULL;
    assert_int_equal(sp_target_plan_decompose(&sp, p, 100000, NULL), SP_OK);
    assert_int_equal(sp_target_plan_decompose(&sq, q, 100000, NULL), SP_OK);
    expect_equal_sets(sp, sq);
    sp->chunk_nodes = 3;
    sq->chunk_nodes = 3;
    uint32_t v = 0;
    assert_int_equal(sp_target_set_save(sp, st, "base", "first", 20500, &v), SP_OK);
    assert_int_equal(sp_target_set_save(sq, st, "base", "second", 20501, &v), SP_OK);
    assert_int_equal(v, 2);
    assert_int_equal(spt_record_count(st, "target.set"), 2);
    assert_int_equal(spt_record_count(st, "target.set.chunk"), 6);
    k = set_chunk_key("FY2026", "base", 2, 1);
    char *c1 = spt_record_get(st, "target.set.chunk", k);
    assert_non_null(strstr(c1, "{\"type\":\"target.set.chunk\",\"v\":1,\"plan_id\":\"FY2026\","
                               "\"scenario\":\"base\",\"version\":2,\"chunk\":1,\"first\":3,"
                               "\"ids\":[\"e1\",\"e2\",\"w1\"],\"parents\":[1,1,2],"));
    free(c1);
    assert_int_equal(sp_target_set_load(&l, ctx, st, "FY2026", "base", 1), SP_OK);
    expect_equal_sets(l, sp);
    sp_target_set_info li = SP_TARGET_SET_INFO_INIT;
    assert_int_equal(sp_target_set_get_info(l, &li), SP_OK);
    assert_string_equal(li.note, "first");
    assert_string_equal(sp_target_set_lock_reason(l, 2), "agreed in person");
    sp_target_set_free(l);
    l = NULL;

    /* Listings see heads only. */
    uint32_t versions[4];
    size_t count = 0;
    assert_int_equal(sp_target_set_versions(ctx, st, "FY2026", "base", versions, 4, &count), SP_OK);
    assert_int_equal(count, 2);
    assert_int_equal(versions[0], 1);
    assert_int_equal(versions[1], 2);
    sp_names *names = NULL;
    assert_int_equal(sp_target_scenarios(&names, ctx, st, "FY2026"), SP_OK);
    assert_int_equal(sp_names_count(names), 1);
    assert_string_equal(sp_names_at(names, 0), "base");
    sp_names_free(names);
    assert_int_equal(sp_target_plans(&names, ctx, st), SP_OK);
    assert_int_equal(sp_names_count(names), 1);
    sp_names_free(names);
    /* The latest of the scenario. */
    assert_int_equal(sp_target_set_load(&l, ctx, st, "FY2026", "base", 0), SP_OK);
    assert_int_equal(sp_target_set_get_info(l, &li), SP_OK);
    assert_int_equal(li.set_version, 2);
    expect_equal_sets(l, sq);
    sp_target_set_free(l);

    sp_target_set_free(sp);
    sp_target_set_free(sq);
    sp_target_plan_free(p);
    sp_target_plan_free(q);
}

/* Every node its own profile: 8 profiles for 7 nodes, so in chunks of 7 the second chunk
 * holds no node and the last profile. Growth at the rep level gives decimals. */
static void test_chunk_edges(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    sp_storage *st = e->st;
    sp_target_plan *p = make_plan(ctx, "P");
    static const char settings[] =
        "{\"levels\": {\"region\": {\"method\": \"driver\", \"driver\": \"base\"},"
        " \"rep\": {\"method\": \"growth\", \"baseline\": \"base\","
        " \"floor\": \"-5%\", \"cap\": \"30%\"}},"
        " \"seasonality\": {\"profiles\": {"
        "  \"CN\": {\"method\": \"shares\", \"shares\": [0.25,0.25,0.25,0.25]},"
        "  \"East\": {\"method\": \"shares\", \"shares\": [1,2,3,4], \"policy\": \"normalise\"},"
        "  \"West\": {\"method\": \"shares\", \"shares\": [4,3,2,1], \"policy\": \"normalise\"},"
        "  \"e1\": {\"method\": \"shares\", \"shares\": [1,1,2,2], \"policy\": \"normalise\"},"
        "  \"e2\": {\"method\": \"shares\", \"shares\": [2,2,1,1], \"policy\": \"normalise\"},"
        "  \"w1\": {\"method\": \"shares\", \"shares\": [1,3,1,3], \"policy\": \"normalise\"},"
        "  \"w2\": {\"method\": \"shares\", \"shares\": [3,1,3,1], \"policy\": \"normalise\"}}}}";
    const int64_t base[ORG_N] = { 1000, 300, 700, 100, 200, 300, 400 };
    assert_int_equal(sp_target_plan_set_driver(p, "base", base, NULL, ORG_N), SP_OK);
    if (sp_target_plan_set_settings(p, settings, strlen(settings)) != SP_OK)
        fail_msg("%s", sp_ctx_errmsg(ctx));
    sp_target_set *s = NULL, *l = NULL;
    if (sp_target_plan_decompose(&s, p, 1111, NULL) != SP_OK)
        fail_msg("%s", sp_ctx_errmsg(ctx));
    sp_target_set_data d = SP_TARGET_SET_DATA_INIT;
    assert_int_equal(sp_target_set_get_data(s, &d), SP_OK);
    assert_int_equal(d.nprofiles, 8);
    s->chunk_nodes = 7;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(sp_target_set_save(s, st, "base", NULL, 0, NULL), SP_OK);
    assert_int_equal(spt_record_count(st, "target.set.chunk"), 2);
    spt_key k = set_chunk_key("P", "base", 1, 1);
    char *c1 = spt_record_get(st, "target.set.chunk", k);
    assert_non_null(strstr(c1, "\"first\":7,\"ids\":[],\"parents\":[],\"annual\":[],"));
    /* The last profile is w2's (profiles in id order after the default one): its shares as
     * given, weights normalised when the periods are split. */
    assert_non_null(strstr(c1, "\"profiles\":[3,1,3,1],\"locks\":[]}"));
    free(c1);
    /* Growth is written as decimals: parse each stored value back. */
    k = set_chunk_key("P", "base", 1, 0);
    char *c0 = spt_record_get(st, "target.set.chunk", k);
    const char *g = c0 + value_at(c0, "growth") + 1;
    for (uint32_t v = 0; v < ORG_N; v++) {
        size_t len = strcspn(g, ",]");
        char text[40];
        assert_true(len < sizeof text);
        memcpy(text, g, len);
        text[len] = '\0';
        sp_dec x;
        if (sp_dec_parse(ctx, text, 0, SP_ROUND_HALF_EVEN, &x) != SP_OK || x != d.growth[v])
            fail_msg("growth[%u] stored as %s, is %lld", v, text, (long long)d.growth[v]);
        g += len + 1;
    }
    /* The reps grew: some growth is neither zero nor whole. */
    assert_true(d.growth[3] != 0 && d.growth[3] % 1000000000 != 0);
    free(c0);
    assert_int_equal(sp_target_set_load(&l, ctx, st, "P", "base", 1), SP_OK);
    expect_equal_sets(l, s);
    sp_target_set_free(l);
    sp_target_set_free(s);
    sp_target_plan_free(p);
}

/* A plan saved again in fewer chunks, then replaced by a smaller hierarchy: no chunk of an
 * earlier revision stays behind. */
static void test_stale_chunks(void **state)
{
    spt_env *e = *state;
    sp_ctx *ctx = e->ctx;
    sp_storage *st = e->st;
    sp_target_plan *p = make_plan(ctx, "P");
    p->chunk_nodes = 2;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), 4);
    p->chunk_nodes = 3;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), 3);
    p->chunk_nodes = 0; /* the default: one chunk */
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), 1);
    sp_target_plan *q = NULL;
    assert_int_equal(sp_target_plan_load(&q, ctx, st, "P"), SP_OK);
    expect_equal_plans(p, q);
    sp_target_plan_free(q);
    q = NULL;

    /* The same id over three nodes, in chunks of one: 3 chunks, as of revision 4. */
    static const spec small[] = { { "CN", NULL }, { "East", "CN" }, { "West", "CN" } };
    sp_hierarchy *h = fx_build_valid(ctx, small, 3);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.fiscal_year = 2026;
    sp_target_plan *r = NULL;
    assert_int_equal(sp_target_plan_new(&r, ctx, "P", h, &o), SP_OK);
    sp_hierarchy_free(h);
    p->chunk_nodes = 2;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK); /* 4 chunks, revision 4 */
    r->revision = 4;
    r->chunk_nodes = 1;
    assert_int_equal(sp_target_plan_save(r, st), SP_OK);
    assert_int_equal(r->revision, 5);
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), 3);
    for (uint32_t c = 0; c < 3; c++) {
        spt_key k = plan_chunk_key("P", c);
        char *json = spt_record_get(st, "target.plan.chunk", k);
        assert_non_null(strstr(json, "\"revision\":5,"));
        free(json);
    }
    assert_int_equal(sp_target_plan_load(&q, ctx, st, "P"), SP_OK);
    expect_equal_plans(r, q);
    sp_target_plan_free(q);
    sp_target_plan_free(r);
    sp_target_plan_free(p);
}

/* ---- corrupt stores ---- */

/* Plan P (revision 2, three chunks; revision 1's chunk 1 kept aside) and versions 1 and 2
 * of set P/base, three chunks each; a snapshot to go back to after each case. */
typedef struct corrupt_fx {
    sp_ctx *ctx;
    sp_storage *st;
    spt_snapshot *saved;
    char *old_plan_chunk;
} corrupt_fx;

static void corrupt_setup(corrupt_fx *f, const spt_env *e)
{
    f->ctx = e->ctx;
    f->st = e->st;
    sp_target_plan *p = make_plan(f->ctx, "P");
    p->chunk_nodes = 3;
    assert_int_equal(sp_target_plan_save(p, f->st), SP_OK);
    spt_key k = plan_chunk_key("P", 1);
    f->old_plan_chunk = spt_record_get(f->st, "target.plan.chunk", k);
    assert_int_equal(sp_target_plan_save(p, f->st), SP_OK);
    for (int i = 0; i < 2; i++) {
        sp_target_set *s = NULL;
        assert_int_equal(sp_target_plan_decompose(&s, p, 100000, NULL), SP_OK);
        s->chunk_nodes = 3;
        assert_int_equal(sp_target_set_save(s, f->st, "base", NULL, 0, NULL), SP_OK);
        sp_target_set_free(s);
    }
    sp_target_plan_free(p);
    f->saved = spt_snapshot_take(f->st, all_ns, ALL_NS);
}

static int load_set(corrupt_fx *f)
{
    sp_target_set *l = NULL;
    int rc = sp_target_set_load(&l, f->ctx, f->st, "P", "base", 2);
    if (rc != SP_OK)
        assert_null(l);
    sp_target_set_free(l);
    spt_snapshot_restore(f->saved, f->st);
    return rc;
}

static int load_plan(corrupt_fx *f)
{
    sp_target_plan *l = NULL;
    int rc = sp_target_plan_load(&l, f->ctx, f->st, "P");
    if (rc != SP_OK)
        assert_null(l);
    sp_target_plan_free(l);
    spt_snapshot_restore(f->saved, f->st);
    return rc;
}

/* Chunk c of set version 2, edited by `edit` and put back; returns the edited text's
 * offset of member `at` (for the message) through *byte. */
static void edit_set_chunk(corrupt_fx *f, uint32_t c, char *(*edit)(const char *json),
                           const char *at, size_t *byte)
{
    spt_key k = set_chunk_key("P", "base", 2, c);
    char *json = spt_record_get(f->st, "target.set.chunk", k);
    char *edited = edit(json);
    *byte = value_at(edited, at);
    spt_record_put(f->st, "target.set.chunk", k, edited);
    free(json);
    free(edited);
}

static char *first_to_0(const char *json)
{
    return bump(json, "first", -3);
}

static char *annual_short(const char *json)
{
    size_t at = value_at(json, "annual") + 1;
    return splice(json, at, strcspn(json + at, ",") + 1, "");
}

static char *root_period_up(const char *json)
{
    return bump(json, "periods", 1);
}

/* e1 (first of chunk 1): annual and first period up by one; its own sum holds. */
static char *e1_up(const char *json)
{
    char *a = bump(json, "annual", 1);
    char *b = bump(a, "periods", 1);
    free(a);
    return b;
}

static void test_corrupt_chunks(void **state)
{
    corrupt_fx f;
    corrupt_setup(&f, *state);
    assert_int_equal(load_set(&f), SP_OK);
    assert_int_equal(load_plan(&f), SP_OK);

    /* Missing: a middle chunk, the last one. */
    spt_key k = set_chunk_key("P", "base", 2, 1);
    spt_record_remove(f.st, "target.set.chunk", k);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT, "record target.set: chunk 1 of 3 is missing");
    k = set_chunk_key("P", "base", 2, 2);
    spt_record_remove(f.st, "target.set.chunk", k);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT, "record target.set: chunk 2 of 3 is missing");
    k = plan_chunk_key("P", 0);
    spt_record_remove(f.st, "target.plan.chunk", k);
    spt_expect_error(f.ctx, load_plan(&f), SP_ECORRUPT,
                     "record target.plan: chunk 0 of 3 is missing");

    /* Extra: a chunk 3, and a key that is not a chunk number. */
    k = set_chunk_key("P", "base", 2, 2);
    char *c2 = spt_record_get(f.st, "target.set.chunk", k);
    k = set_chunk_key("P", "base", 2, 3);
    spt_record_put(f.st, "target.set.chunk", k, c2);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT,
                     "record target.set: chunk 3 is beyond the 3 chunks of the head");
    k = set_key("P", "base", 2);
    k.b[k.len++] = 7;
    spt_record_put(f.st, "target.set.chunk", k, c2);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT,
                     "record target.set: a chunk key is not the head's key and a chunk number");

    /* Out of range: chunk 2's record under chunk 1's key; chunk 1 claiming node 0 on. */
    k = set_chunk_key("P", "base", 2, 1);
    spt_record_put(f.st, "target.set.chunk", k, c2);
    spt_expect_corrupt_at(f.ctx, load_set(&f), c2, value_at(c2, "chunk"),
                          "record target.set.chunk 1: chunk: chunk 2 stored under the key of "
                          "chunk 1");
    free(c2);
    size_t byte;
    edit_set_chunk(&f, 1, first_to_0, "first", &byte);
    spt_expect_corrupt_at(f.ctx, load_set(&f), NULL, byte,
                          "record target.set.chunk 1: first: first node 0 where chunk 1 starts at "
                          "node 3");

    /* Sizes: chunk 1 one annual target short; the head's chunk size changed. */
    edit_set_chunk(&f, 1, annual_short, "annual", &byte);
    spt_expect_corrupt_at(f.ctx, load_set(&f), NULL, byte,
                          "record target.set.chunk 1: annual: 2 values where 3 are due");
    k = set_key("P", "base", 2);
    char *head = spt_record_get(f.st, "target.set", k);
    char *edited = bump(head, "chunk_nodes", 1);
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_corrupt_at(f.ctx, load_set(&f), edited, value_at(edited, "chunks"),
                          "record target.set: chunks: 3 chunks where 7 node indices in chunks of "
                          "4 make 2");
    free(edited);
    /* A head claiming about 4 billion nodes in consistent chunks of 3, with 3 chunk
     * records in the store: refused as corrupt before any memory is taken for them
     * (4294967292 / 3 = 1431655764 chunks; the loader found chunks 0, 1, 2). */
    char *huge = bump(head, "nnodes", INT64_C(4294967292) - 7);
    edited = bump(huge, "chunks", INT64_C(1431655764) - 3);
    free(huge);
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT,
                     "record target.set: chunk 3 of 1431655764 is missing");
    free(edited);
    /* Chunks larger than the writer ever makes. */
    edited = bump(head, "chunk_nodes", 16384 - 3 + 1);
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_corrupt_at(f.ctx, load_set(&f), edited, value_at(edited, "chunk_nodes"),
                          "record target.set: chunk_nodes: expected an integer from 1 to 16384, "
                          "found 16385");
    free(edited);
    /* The total. */
    edited = bump(head, "total", 1);
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT,
                     "record target.set: total: 100001 is not the root's annual target 100000");
    free(edited);
    free(head);

    /* A chunk of version 1 under version 2; a plan chunk of revision 1 under revision 2. */
    k = set_chunk_key("P", "base", 1, 0);
    char *v1 = spt_record_get(f.st, "target.set.chunk", k);
    k = set_chunk_key("P", "base", 2, 0);
    spt_record_put(f.st, "target.set.chunk", k, v1);
    spt_expect_corrupt_at(f.ctx, load_set(&f), v1, value_at(v1, "version"),
                          "record target.set.chunk 0: version: a chunk of version 1 under "
                          "version 2");
    free(v1);
    k = plan_chunk_key("P", 1);
    spt_record_put(f.st, "target.plan.chunk", k, f.old_plan_chunk);
    spt_expect_corrupt_at(f.ctx, load_plan(&f), f.old_plan_chunk,
                          value_at(f.old_plan_chunk, "revision"),
                          "record target.plan.chunk 1: revision: a chunk of revision 1 under "
                          "revision 2");

    /* A plan chunk without East's history row; with a second driver column. */
    k = plan_chunk_key("P", 0);
    char *p0 = spt_record_get(f.st, "target.plan.chunk", k);
    size_t at = value_at(p0, "history");
    edited = splice(p0, at, strlen(p0) - at, "[]}");
    spt_record_put(f.st, "target.plan.chunk", k, edited);
    spt_expect_error(f.ctx, load_plan(&f), SP_ECORRUPT,
                     "record target.plan: history: 0 rows where the head lists 1");
    free(edited);
    at = value_at(p0, "drivers") + 1;
    edited = splice(p0, at, 0, "[1,2,3],");
    spt_record_put(f.st, "target.plan.chunk", k, edited);
    spt_expect_corrupt_at(f.ctx, load_plan(&f), edited, value_at(edited, "drivers"),
                          "record target.plan.chunk 0: drivers: 4 drivers where the head "
                          "lists 3");
    free(edited);
    free(p0);

    /* Sums: the root's periods (chunk 0); e1 against East (checked once all are read). */
    edit_set_chunk(&f, 0, root_period_up, "periods", &byte);
    spt_expect_corrupt_at(f.ctx, load_set(&f), NULL, byte,
                          "record target.set.chunk 0: periods: the periods of node 0 do not sum "
                          "to its annual target");
    edit_set_chunk(&f, 1, e1_up, "periods", &byte);
    spt_expect_error(f.ctx, load_set(&f), SP_ECORRUPT,
                     "record target.set.chunk 0: periods: period 0 of node 1 is not the sum of its "
                     "children's");

    /* Enumerations are names, read strictly: a near miss gets a suggestion, a number (the
     * old encoding) lists the names; bit sets beyond the known bits are refused. */
    k = set_key("P", "base", 2);
    head = spt_record_get(f.st, "target.set", k);
    at = value_at(head, "weighting");
    edited = splice(head, at, strlen("\"profile\""), "\"profil\"");
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_corrupt_at(f.ctx, load_set(&f), edited, at,
                          "record target.set: weighting: expected one of 'profile', "
                          "'working_days', found 'profil'; did you mean 'profile'?");
    free(edited);
    at = value_at(head, "grain");
    edited = splice(head, at, strlen("\"quarter\""), "2");
    spt_record_put(f.st, "target.set", k, edited);
    spt_expect_corrupt_at(f.ctx, load_set(&f), edited, at,
                          "record target.set: grain: expected one of 'year', 'half', 'quarter', "
                          "'month', 'week', found 2");
    free(edited);
    free(head);
    k = plan_key("P");
    head = spt_record_get(f.st, "target.plan", k);
    at = value_at(head, "kind");
    edited = splice(head, at, strlen("\"months\""), "\"Months\"");
    spt_record_put(f.st, "target.plan", k, edited);
    spt_expect_corrupt_at(f.ctx, load_plan(&f), edited, at,
                          "record target.plan: calendar.kind: expected one of 'months', "
                          "'retail_445', 'retail_454', 'retail_544', found 'Months'; did you "
                          "mean 'months'?");
    free(edited);
    free(head);
    k = set_chunk_key("P", "base", 2, 0);
    char *c0 = spt_record_get(f.st, "target.set.chunk", k);
    at = value_at(c0, "flags") + 1;
    edited = splice(c0, at, strcspn(c0 + at, ","), "256");
    spt_record_put(f.st, "target.set.chunk", k, edited);
    spt_expect_corrupt_at(f.ctx, load_set(&f), edited, at,
                          "record target.set.chunk 0: flags[0]: 256 has bits outside the known "
                          "ones (0xff)");
    free(edited);
    free(c0);

    /* A plan head of a newer format version: SP_EVERSION. */
    const uint8_t pkey[] = { 'Q', 0, 1 };
    spt_storage_begin(f.st);
    spt_storage_put(f.st, "target.plan", pkey, sizeof pkey, "{\"type\":\"target.plan\",\"v\":9}",
                    28);
    spt_storage_commit(f.st);
    sp_target_plan *q = NULL;
    int rc = sp_target_plan_load(&q, f.ctx, f.st, "Q");
    if (rc != SP_EVERSION)
        fail_msg("%d %s", rc, sp_ctx_errmsg(f.ctx));
    assert_null(q);
    free(f.old_plan_chunk);
    spt_snapshot_free(f.saved);
}

/* ---- the default chunk size, on a generated hierarchy ---- */

/* A company of n nodes (1 root, 40 regions, 1600 grids, the rest reps), a driver, a
 * monthly set: saved and loaded at the default chunk size, ceil(n / 16384) chunks. */
static void test_large(void **state)
{
    spt_env *e = *state;
    const uint32_t n = 20000 * spt_iterations(10);
    const uint32_t regions = 40, grids = 1600;
    sp_ctx *ctx = e->ctx;
    char *text = malloc((size_t)n * 12);
    const char **ids = malloc(n * sizeof *ids), **parents = malloc(n * sizeof *parents);
    int64_t *drv = malloc(n * sizeof *drv);
    assert_non_null(text);
    assert_non_null(ids);
    assert_non_null(parents);
    assert_non_null(drv);
    spt_rng rng = { 42 };
    for (uint32_t i = 0; i < n; i++) {
        char *id = text + (size_t)i * 12;
        uint32_t parent = 0;
        if (i == 0)
            snprintf(id, 12, "C");
        else if (i <= regions)
            snprintf(id, 12, "R%u", i);
        else if (i <= regions + grids)
            snprintf(id, 12, "G%u", i), parent = 1 + (i - regions - 1) % regions;
        else
            snprintf(id, 12, "L%u", i), parent = regions + 1 + (i - regions - grids - 1) % grids;
        ids[i] = id;
        parents[i] = i == 0 ? NULL : ids[parent];
        drv[i] = spt_rng_range(&rng, 1, 1000000);
    }
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, ids, NULL, parents, NULL, n, NULL), SP_OK);
    static const char *const lv[] = { "company", "region", "grid", "rep" };
    assert_int_equal(sp_hierarchy_set_levels(h, lv, 4), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2026;
    sp_target_plan *p = NULL;
    assert_int_equal(sp_target_plan_new(&p, ctx, "big", h, &o), SP_OK);
    sp_hierarchy_free(h);
    assert_int_equal(sp_target_plan_set_driver(p, "prior", drv, NULL, n), SP_OK);
    static const char settings[] =
        "{\"levels\": {\"region\": {\"method\": \"driver\", \"driver\": \"prior\"},"
        " \"grid\": {\"method\": \"driver\", \"driver\": \"prior\"},"
        " \"rep\": {\"method\": \"driver\", \"driver\": \"prior\"}}}";
    assert_int_equal(sp_target_plan_set_settings(p, settings, strlen(settings)), SP_OK);
    sp_target_set *s = NULL, *l = NULL;
    assert_int_equal(sp_target_plan_decompose(&s, p, INT64_C(1000000000000), NULL), SP_OK);

    sp_storage *st = e->st;
    assert_int_equal(sp_target_plan_save(p, st), SP_OK);
    assert_int_equal(sp_target_set_save(s, st, "base", NULL, 0, NULL), SP_OK);
    const size_t chunks = (n + 16383) / 16384;
    assert_int_equal(spt_record_count(st, "target.plan.chunk"), chunks);
    assert_int_equal(spt_record_count(st, "target.set.chunk"), chunks);
    sp_target_plan *q = NULL;
    assert_int_equal(sp_target_plan_load(&q, ctx, st, "big"), SP_OK);
    expect_equal_plans(p, q);
    assert_int_equal(sp_target_set_load(&l, ctx, st, "big", "base", 1), SP_OK);
    expect_equal_sets(l, s);
    sp_target_set_free(l);
    sp_target_set_free(s);
    sp_target_plan_free(q);
    sp_target_plan_free(p);
    free(text);
    free(ids);
    free(parents);
    free(drv);
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
    c->plan->chunk_nodes = 3;
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
    assert_int_equal(sp_target_plan_decompose(&c->set, c->plan, 100000, NULL), SP_OK);
    c->set->chunk_nodes = 3;
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
    sp_names *n = NULL;
    uint32_t v[4];
    size_t count;
    int rc = sp_target_scenarios(&n, c->ctx, c->table, "P");
    sp_names_free(n);
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
    c->store_ctx = spt_new_ctx();
    assert_int_equal(sp_storage_memory_new(&c->store, c->store_ctx), SP_OK);
    c->table = c->store;
    /* Stored in 4 chunks; saved again in 3 (chunk 3 removed). Sets in 3 chunks. */
    c->plan = make_plan(c->ctx, "P");
    c->plan->chunk_nodes = 2;
    assert_int_equal(sp_target_plan_save(c->plan, c->store), SP_OK);
    c->plan->chunk_nodes = 3;
    assert_int_equal(sp_target_plan_decompose(&c->set, c->plan, 100000, NULL), SP_OK);
    c->set->chunk_nodes = 3;
    assert_int_equal(sp_target_set_save(c->set, c->store, "base", NULL, 1, NULL), SP_OK);
    sp_target_set_free(c->set);
    assert_int_equal(sp_target_plan_decompose(&c->set, c->plan, 100000, NULL), SP_OK);
    c->set->chunk_nodes = 3;
    assert_int_equal(spt_record_count(c->store, "target.plan.chunk"), 4);
    assert_int_equal(spt_record_count(c->store, "target.set.chunk"), 3);
    c->before = spt_snapshot_take(c->store, all_ns, ALL_NS);
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
        cmocka_unit_test_setup_teardown(test_round_trips, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_record_bytes, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_set_needs_plan, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_longest_names, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_chunked_round_trips, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_chunk_edges, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_stale_chunks, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt_chunks, spt_env_setup, spt_env_teardown),
        cmocka_unit_test_setup_teardown(test_large, spt_env_setup, spt_env_teardown),
        cmocka_unit_test(test_faults_allocator),
        cmocka_unit_test(test_faults_storage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
