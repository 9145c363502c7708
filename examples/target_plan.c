/*
 * A host planning next year's targets from what it already holds: an org chart and last
 * year's order lines as CSV-like rows, a settings document, a total. Out comes a target
 * set, printed as CSV and saved in a store.
 *
 * 1. The org chart (id, parent, level) becomes a hierarchy, added in one call.
 * 2. The order lines (rep, date, amount) become a fact source: rep ids mapped to dense
 *    indices once, dates to day numbers.
 * 3. A plan for FY2027 by quarters learns last year's sales ("prior_year") from the facts.
 * 4. The settings split each level by prior_year and every quarter by one seasonal profile
 *    of 20 / 25 / 25 / 30 %.
 * 5. The plan decomposes CNY 1,234,567.89; the set is printed and saved.
 *
 * Worked by hand (docs/target.md explains the rule: exact shares floored to the fen, the
 * fen left over to the largest remainders, ties to the earlier part):
 *   prior year: A1 300,000.00  A2 100,000.00  B1 200,000.00  B2 400,000.00
 *   regions: A 40 % of 123,456,789 fen = 49,382,715.6, B 60 % = 74,074,073.4; one fen
 *     left, to A (.6): A 493,827.16, B 740,740.73
 *   reps: A1 3/4 of A = 37,037,037 exactly, A2 12,345,679; B1 1/3 of B = 24,691,357.67,
 *     B2 2/3 = 49,382,715.33; one fen left, to B1: B1 246,913.58, B2 493,827.15
 *   quarters of A1 (37,037,037 x .20 .25 .25 .30 = 7,407,407.4  9,259,259.25 x2
 *     11,111,111.1; one fen left, to Q1): 74,074.08  92,592.59  92,592.59  111,111.11,
 *   and so on for each rep; a region's quarters are its reps' sums.
 */
#include <stdio.h>
#include <string.h>

#include <salesplan/salesplan.h>

/* The org chart: id, parent ("" for the root), as an HR export lists it. */
static const char *const org[][2] = {
    { "Co", "" }, { "A", "Co" }, { "B", "Co" },
    { "A1", "A" }, { "A2", "A" }, { "B1", "B" }, { "B2", "B" },
};
#define NORG (sizeof org / sizeof org[0])
static const char *const levels[] = { "company", "region", "rep" };

/* Last year's order lines: rep, date, amount in yuan (as text, as a CSV holds it). */
static const char *const lines[][3] = {
    { "A1", "2026-02-10", "120000.00" }, { "A1", "2026-07-01", "180000.00" },
    { "A2", "2026-03-15", "100000.00" }, { "B1", "2026-05-20", "50000.50" },
    { "B1", "2026-11-30", "149999.50" }, { "B2", "2026-01-01", "400000.00" },
    { "B2", "2027-01-03", "999.00" }, /* next year: not history */
};
#define NLINES (sizeof lines / sizeof lines[0])

static const char settings[] =
    "{\"levels\": {\"region\": {\"method\": \"driver\", \"driver\": \"prior_year\"},"
    "              \"rep\":    {\"method\": \"driver\", \"driver\": \"prior_year\"}},"
    " \"seasonality\": {\"profiles\": {\"Co\": {\"method\": \"shares\","
    "                                   \"shares\": [\"20%\", \"25%\", \"25%\", \"30%\"]}}}}";

static int fail(sp_ctx *ctx, const char *what)
{
    fprintf(stderr, "%s: %s\n", what, sp_ctx_errmsg(ctx));
    return 1;
}

static void print_money(int64_t fen)
{
    char text[SP_TEXT_MAX];
    sp_money_format(fen, 2, SP_TEXT_DEFAULT, text, sizeof text, NULL);
    printf(",%s", text);
}

int main(void)
{
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 1;
    int rc = 1;
    sp_hierarchy *h = NULL;
    sp_dict *reps = NULL;
    sp_fact_source *facts = NULL;
    sp_target_plan *plan = NULL;
    sp_target_set *set = NULL;
    sp_storage *store = NULL;

    /* 1. The org chart in one call; an empty parent marks the root. */
    const char *ids[NORG], *parents[NORG];
    for (size_t i = 0; i < NORG; i++) {
        ids[i] = org[i][0];
        parents[i] = org[i][1][0] != '\0' ? org[i][1] : NULL;
    }
    if (sp_hierarchy_new(&h, ctx) != SP_OK ||
        sp_hierarchy_add_all(h, ids, NULL, parents, NULL, NORG, NULL) != SP_OK ||
        sp_hierarchy_set_levels(h, levels, 3) != SP_OK || sp_hierarchy_validate(h) != SP_OK) {
        fail(ctx, "org chart");
        goto done;
    }

    /* 2. The order lines as one columnar batch: dense rep indices, day numbers, fen. */
    uint64_t id[NLINES];
    uint32_t rep[NLINES];
    int32_t day[NLINES];
    int64_t amount[NLINES];
    if (sp_dict_new(&reps, ctx) != SP_OK || sp_fact_source_memory_new(&facts, ctx) != SP_OK)
        goto done;
    for (size_t i = 0; i < NLINES; i++) {
        int32_t y, m, d;
        id[i] = i + 1;
        if (sscanf(lines[i][1], "%d-%d-%d", &y, &m, &d) != 3 ||
            sp_calendar_day_from_civil(y, m, d, &day[i]) != SP_OK) {
            fprintf(stderr, "line %zu: bad date %s\n", i + 1, lines[i][1]);
            goto done;
        }
        if (sp_dict_intern(reps, lines[i][0], strlen(lines[i][0]), &rep[i]) != SP_OK ||
            sp_money_parse(ctx, lines[i][2], 2, SP_TEXT_DEFAULT, SP_ROUND_HALF_EVEN,
                           &amount[i]) != SP_OK) {
            fail(ctx, "order lines");
            goto done;
        }
    }
    sp_fact_batch batch = SP_FACT_BATCH_INIT;
    batch.kind = SP_FACT_ORDER_LINES;
    batch.count = NLINES;
    batch.id = id;
    batch.rep = rep;
    batch.day = day;
    batch.amount = amount;
    if (sp_fact_source_memory_append(facts, &batch) != SP_OK) {
        fail(ctx, "order lines");
        goto done;
    }

    /* 3. A plan for FY2027 by quarters, in CNY; last year's sales from the facts. */
    sp_target_plan_options po = SP_TARGET_PLAN_OPTIONS_INIT;
    po.currency = "CNY";
    po.fiscal_year = 2027;
    po.grain = SP_GRAIN_QUARTER;
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 1;
    if (sp_target_plan_new(&plan, ctx, "FY2027", h, &po) != SP_OK ||
        sp_target_plan_load_history(plan, facts, reps, &ho, NULL, NULL) != SP_OK) {
        fail(ctx, "plan");
        goto done;
    }

    /* 4 and 5. The settings, then the decomposition of the total. */
    int64_t total;
    if (sp_target_plan_set_settings(plan, settings, strlen(settings)) != SP_OK ||
        sp_money_parse(ctx, "1234567.89", 2, SP_TEXT_DEFAULT, SP_ROUND_HALF_EVEN, &total) !=
            SP_OK ||
        sp_target_plan_decompose(&set, plan, total, NULL) != SP_OK) {
        fail(ctx, "decompose");
        goto done;
    }

    /* The set as CSV, parents before children. */
    sp_target_set_info info = SP_TARGET_SET_INFO_INIT;
    sp_target_set_data data = SP_TARGET_SET_DATA_INIT;
    const uint32_t *order;
    size_t count;
    if (sp_target_set_get_info(set, &info) != SP_OK ||
        sp_target_set_get_data(set, &data) != SP_OK ||
        sp_hierarchy_order(info.hierarchy, &order, &count) != SP_OK)
        goto done;
    printf("node,level,annual,Q1,Q2,Q3,Q4\n");
    for (size_t k = 0; k < count; k++) {
        uint32_t v = order[k], depth;
        const char *node, *level;
        sp_hierarchy_id(info.hierarchy, v, &node, NULL);
        sp_hierarchy_depth(info.hierarchy, v, &depth);
        sp_hierarchy_level_name(info.hierarchy, depth, &level);
        printf("%s,%s", node, level);
        print_money(data.annual[v]);
        for (size_t p = 0; p < data.nperiods; p++)
            print_money(data.periods[v * data.nperiods + p]);
        printf("\n");
    }

    /* Saved as the first version of the "base" scenario, after its plan. */
    uint32_t version;
    if (sp_storage_memory_new(&store, ctx) != SP_OK || sp_target_plan_save(plan, store) != SP_OK ||
        sp_target_set_save(set, store, "base", "FY2027 targets", 20789 /* 2026-12-02 */,
                           &version) != SP_OK) {
        fail(ctx, "save");
        goto done;
    }
    printf("saved as scenario \"base\" version %u\n", (unsigned)version);
    rc = 0;
done:
    sp_storage_free(store);
    sp_target_set_free(set);
    sp_target_plan_free(plan);
    sp_fact_source_free(facts);
    sp_dict_free(reps);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
    return rc;
}
