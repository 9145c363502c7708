/*
 * salesplan-demo: the end-to-end demo behind `sh tools/run.sh demo`.
 *
 * Generates (seeded, so every run prints the same) a company of regions, grids and reps
 * with two years of order lines, reads them as history, decomposes next year's target by
 * a settings document, saves plan and target set in the built-in file store, reopens the
 * store and loads them back, compares a "stretch" scenario with "base", re-plans mid-year
 * with generated actuals (a new version of "base"), paces every node, and checks that the
 * numbers add up.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#define MAX_NODES 4096

/* The settings document; @R2@ stands for R2's agreed target in yuan. */
static const char settings_format[] =
    "{\n"
    "  \"levels\": {\n"
    "    \"region\": { \"method\": \"driver\", \"driver\": \"prior_year\", \"unit\": 1000 },\n"
    "    \"grid\":   { \"method\": \"blend\", \"unit\": 100,\n"
    "                \"blend\": [ { \"driver\": \"prior_year\", \"weight\": \"90%\" },\n"
    "                           { \"driver\": \"potential\", \"weight\": \"10%\" } ] },\n"
    "    \"rep\":    { \"method\": \"growth\", \"baseline\": \"prior_year\", \"null\": \"even\",\n"
    "                \"floor\": \"-20%\", \"cap\": \"80%\" }\n"
    "  },\n"
    "  \"locks\": { \"R2\": { \"value\": @R2@, \"reason\": \"agreed with the regional "
    "director\" } },\n"
    "  \"seasonality\": { \"profiles\": {\n"
    "    \"CN\": { \"method\": \"average_share\", \"years\": 2 },\n"
    "    \"R4\": { \"method\": \"shares\", \"shares\": [\"6%\", \"6%\", \"8%\", \"8%\", \"8%\", "
    "\"8%\", \"8%\", \"8%\", \"9%\", \"9%\", \"10%\", \"12%\"] }\n"
    "  } }\n"
    "}\n";

typedef struct demo {
    sp_ctx *ctx;
    uint64_t seed;
    int regions, grids, reps;
    const char *store_path;
    int failures;
} demo;

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int fail(demo *d, const char *what, int rc)
{
    fprintf(stderr, "salesplan-demo: %s: %s (%s)\n", what, sp_strerror(rc),
            d->ctx != NULL ? sp_ctx_errmsg(d->ctx) : "");
    return 1;
}

static void check(demo *d, int ok, const char *what)
{
    printf("  [%s] %s\n", ok ? "ok" : "FAILED", what);
    d->failures += !ok;
}

static const char *money(int64_t v, char *buf)
{
    sp_money_format(v, 2, SP_TEXT_GROUPING, buf, SP_TEXT_MAX, NULL);
    return buf;
}

static const char *rate(sp_dec v, char *buf)
{
    sp_dec r;
    if (sp_money_round_to(v, 1000000, SP_ROUND_HALF_EVEN, &r) != SP_OK)
        r = v;
    sp_dec_format(r, SP_TEXT_PERCENT, buf, SP_TEXT_MAX, NULL);
    return buf;
}

/* ---- generated company and facts ---- */

typedef struct company {
    char ids[MAX_NODES][40];
    const char *idp[MAX_NODES], *parent[MAX_NODES];
    int64_t potential[MAX_NODES];
    int64_t level[MAX_NODES]; /* a rep's monthly sales level, fen */
    size_t n;
} company;

static void add_node(company *c, const char *id, int parent)
{
    snprintf(c->ids[c->n], sizeof c->ids[0], "%s", id);
    c->idp[c->n] = c->ids[c->n];
    c->parent[c->n] = parent < 0 ? NULL : c->ids[parent];
    c->n++;
}

static void generate(demo *d, company *c)
{
    uint64_t s = d->seed;
    c->n = 0;
    add_node(c, "CN", -1);
    for (int r = 0; r < d->regions; r++) {
        char id[40];
        snprintf(id, sizeof id, "R%d", r + 1);
        int ri = (int)c->n;
        add_node(c, id, 0);
        for (int g = 0; g < d->grids; g++) {
            snprintf(id, sizeof id, "R%d-G%d", r + 1, g + 1);
            int gi = (int)c->n;
            add_node(c, id, ri);
            c->potential[gi] = (int64_t)(next_random(&s) % 900 + 100);
            for (int p = 0; p < d->reps; p++) {
                snprintf(id, sizeof id, "R%dG%d-%02d", r + 1, g + 1, p + 1);
                c->level[c->n] = (int64_t)(2000000 + next_random(&s) % 6000000);
                add_node(c, id, gi);
            }
        }
    }
}

/* Order lines of one civil year for every rep: one a week, seasonal, with noise. Refunds
 * none. `until` stops at that month (13: the whole year). */
static int add_year(demo *d, company *c, sp_fact_source *src, sp_dict *dict, int year,
                    int until, uint64_t *s, uint64_t *next_id)
{
    static const int season[12] = { 70, 60, 90, 95, 100, 105, 95, 90, 105, 110, 120, 160 };
    size_t cap = c->n * 53;
    uint64_t *id = malloc(cap * sizeof *id);
    int32_t *day = malloc(cap * sizeof *day);
    uint32_t *rep = malloc(cap * sizeof *rep);
    int64_t *amount = malloc(cap * sizeof *amount);
    size_t k = 0;
    int rc = SP_OK;
    for (size_t v = 0; v < c->n && rc == SP_OK; v++) {
        if (c->level[v] == 0)
            continue;
        uint32_t idx;
        if ((rc = sp_dict_intern(dict, c->ids[v], strlen(c->ids[v]), &idx)) != SP_OK)
            break;
        int32_t first;
        sp_calendar_day_from_civil(year, 1, 1, &first);
        for (int w = 0; w < 52; w++) {
            int32_t dd = first + 7 * w + (int32_t)(next_random(s) % 7);
            int32_t m;
            sp_calendar_civil_from_day(dd, NULL, &m, NULL);
            if (m >= until)
                break;
            int64_t growth = 100 + (year - 2024) * 8;
            int64_t noise = 85 + (int64_t)(next_random(s) % 31);
            id[k] = (*next_id)++;
            day[k] = dd;
            rep[k] = idx;
            amount[k] = c->level[v] * season[m - 1] / 100 * growth / 100 * noise / 100 * 12 / 52;
            k++;
        }
    }
    if (rc == SP_OK && k > 0) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = k;
        b.id = id;
        b.day = day;
        b.rep = rep;
        b.amount = amount;
        rc = sp_fact_source_memory_append(src, &b);
    }
    free(id);
    free(day);
    free(rep);
    free(amount);
    return rc == SP_OK ? 0 : fail(d, "generating facts", rc);
}

/* ---- reports ---- */

static void print_regions(const sp_target_set *s, const sp_target_plan *p)
{
    sp_target_set_info si = SP_TARGET_SET_INFO_INIT;
    sp_target_set_data sd = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_info(s, &si);
    sp_target_set_get_data(s, &sd);
    const int64_t *prior = NULL;
    const char *name;
    for (size_t k = 0; k < sp_target_plan_driver_count(p); k++)
        if (sp_target_plan_driver_at(p, k, &name, &prior, NULL) == SP_OK &&
            strcmp(name, "prior_year") == 0)
            break;
    uint32_t root;
    sp_hierarchy_root(si.hierarchy, &root);
    const uint32_t *kids;
    size_t nk;
    sp_hierarchy_children(si.hierarchy, root, &kids, &nk);
    printf("  %-8s %18s %18s %9s  %s\n", "region", "FY2025 actual", "FY2026 target", "growth",
           "note");
    for (size_t i = 0; i <= nk; i++) {
        uint32_t v = i < nk ? kids[i] : root;
        const char *id;
        sp_hierarchy_id(si.hierarchy, v, &id, NULL);
        char a[SP_TEXT_MAX], b[SP_TEXT_MAX], g[SP_TEXT_MAX];
        sp_dec growth = 0;
        sp_dec_div(sd.annual[v] - prior[v], prior[v], SP_ROUND_HALF_EVEN, &growth);
        const char *reason = sp_target_set_lock_reason(s, v);
        printf("  %-8s %18s %18s %9s  %s\n", i < nk ? id : "total", money(prior[v], a),
               money(sd.annual[v], b), rate(growth, g), reason != NULL ? reason : "");
    }
}

static void print_months(const sp_target_set *s, const sp_target_plan *p, const char *id)
{
    sp_target_set_data sd = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(s, &sd);
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    sp_target_plan_get_info(p, &pi);
    uint32_t v;
    sp_target_set_find(s, id, strlen(id), &v);
    printf("  %-10s %16s\n", "month", "target");
    for (size_t m = 0; m < sd.nperiods; m++) {
        char label[SP_CALENDAR_LABEL_MAX], a[SP_TEXT_MAX];
        sp_calendar_label(pi.calendar, pi.fiscal_year, pi.grain, (uint32_t)m, label, sizeof label,
                          NULL);
        printf("  %-10s %16s\n", label, money(sd.periods[v * sd.nperiods + m], a));
    }
}

/* The company month by month: the base plan, the actuals of the closed months, and the
 * re-plan (actuals where closed, what remains spread over the open months). */
static void print_replan(const sp_target_set *base, const sp_target_set *re,
                         const sp_target_plan *p, const int64_t *actual, size_t closed)
{
    sp_target_set_data bd = SP_TARGET_SET_DATA_INIT, rd = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(base, &bd);
    sp_target_set_get_data(re, &rd);
    sp_target_set_info si = SP_TARGET_SET_INFO_INIT;
    sp_target_set_get_info(re, &si);
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    sp_target_plan_get_info(p, &pi);
    uint32_t root;
    sp_hierarchy_root(si.hierarchy, &root);
    printf("  %-10s %16s %16s %16s\n", "month", "base plan", "actual", "re-plan");
    int64_t sums[3] = { 0, 0, 0 };
    for (size_t m = 0; m < rd.nperiods; m++) {
        char label[SP_CALENDAR_LABEL_MAX], a[SP_TEXT_MAX], b[SP_TEXT_MAX], c[SP_TEXT_MAX];
        sp_calendar_label(pi.calendar, pi.fiscal_year, pi.grain, (uint32_t)m, label, sizeof label,
                          NULL);
        int64_t plan = bd.periods[root * bd.nperiods + m], now = rd.periods[root * rd.nperiods + m];
        int64_t done = m < closed ? actual[root * rd.nperiods + m] : 0;
        sums[0] += plan;
        sums[1] += done;
        sums[2] += now;
        printf("  %-10s %16s %16s %16s\n", label, money(plan, a), m < closed ? money(done, b) : "",
               money(now, c));
    }
    char a[SP_TEXT_MAX], b[SP_TEXT_MAX], c[SP_TEXT_MAX];
    printf("  %-10s %16s %16s %16s\n", "year", money(sums[0], a), money(sums[1], b),
           money(sums[2], c));
}

static int sets_equal(const sp_target_set *a, const sp_target_set *b)
{
    sp_target_set_data x = SP_TARGET_SET_DATA_INIT, y = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(a, &x);
    sp_target_set_get_data(b, &y);
    return x.nnodes == y.nnodes && x.nperiods == y.nperiods &&
           memcmp(x.annual, y.annual, x.nnodes * 8) == 0 &&
           memcmp(x.periods, y.periods, x.nnodes * x.nperiods * 8) == 0;
}

/* Children sum to parents in every period; periods sum to the annual targets. */
static int consistent(const sp_target_set *s)
{
    sp_target_set_info si = SP_TARGET_SET_INFO_INIT;
    sp_target_set_data sd = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_info(s, &si);
    sp_target_set_get_data(s, &sd);
    for (uint32_t v = 0; v < sd.nnodes; v++) {
        int64_t sum = 0;
        for (size_t p = 0; p < sd.nperiods; p++)
            sum += sd.periods[v * sd.nperiods + p];
        if (sum != sd.annual[v])
            return 0;
        const uint32_t *kids;
        size_t nk;
        sp_hierarchy_children(si.hierarchy, v, &kids, &nk);
        for (size_t p = 0; nk > 0 && p < sd.nperiods; p++) {
            int64_t c = 0;
            for (size_t k = 0; k < nk; k++)
                c += sd.periods[kids[k] * sd.nperiods + p];
            if (c != sd.periods[v * sd.nperiods + p])
                return 0;
        }
    }
    return 1;
}

static int run(demo *d)
{
    static company c;
    generate(d, &c);
    sp_ctx *ctx = d->ctx;
    int rc;
    sp_hierarchy *h = NULL;
    const char *levels[] = { "company", "region", "grid", "rep" };
    if ((rc = sp_hierarchy_new(&h, ctx)) != SP_OK ||
        (rc = sp_hierarchy_add_all(h, c.idp, NULL, c.parent, NULL, c.n, NULL)) != SP_OK ||
        (rc = sp_hierarchy_set_levels(h, levels, 4)) != SP_OK ||
        (rc = sp_hierarchy_validate(h)) != SP_OK)
        return fail(d, "hierarchy", rc);

    /* Facts: FY2024 and FY2025 in full, FY2026 to the end of June. */
    sp_dict *dict = NULL;
    sp_fact_source *src = NULL;
    uint64_t s = d->seed ^ 0xfac7, next_id = 1;
    if ((rc = sp_dict_new(&dict, ctx)) != SP_OK ||
        (rc = sp_fact_source_memory_new(&src, ctx)) != SP_OK)
        return fail(d, "facts", rc);
    if (add_year(d, &c, src, dict, 2024, 13, &s, &next_id) ||
        add_year(d, &c, src, dict, 2025, 13, &s, &next_id) ||
        add_year(d, &c, src, dict, 2026, 7, &s, &next_id))
        return 1;

    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.name = "Sales targets FY2026";
    o.currency = "CNY";
    o.fiscal_year = 2026;
    sp_target_plan *plan = NULL;
    if ((rc = sp_target_plan_new(&plan, ctx, "FY2026", h, &o)) != SP_OK)
        return fail(d, "plan", rc);
    if ((rc = sp_target_plan_set_driver(plan, "potential", c.potential, NULL, c.n)) != SP_OK)
        return fail(d, "plan driver", rc);
    sp_target_history_options ho = SP_TARGET_HISTORY_OPTIONS_INIT;
    ho.years = 2;
    sp_target_history_report rep = SP_TARGET_HISTORY_REPORT_INIT;
    if ((rc = sp_target_plan_load_history(plan, src, dict, &ho, NULL, &rep)) != SP_OK)
        return fail(d, "history", rc);
    const int64_t *prior = NULL;
    sp_target_plan_driver_at(plan, 0, NULL, &prior, NULL); /* drivers in name order */
    for (size_t k = 0; k < sp_target_plan_driver_count(plan); k++) {
        const char *name;
        const int64_t *v;
        if (sp_target_plan_driver_at(plan, k, &name, &v, NULL) == SP_OK &&
            strcmp(name, "prior_year") == 0)
            prior = v;
    }
    /* R2 agreed to last year + 5 %, in whole thousands of yuan, written into the settings. */
    int64_t r2;
    char r2_text[SP_TEXT_MAX], json[sizeof settings_format + SP_TEXT_MAX];
    uint32_t r2_node;
    if ((rc = sp_hierarchy_find(h, "R2", 2, &r2_node)) != SP_OK ||
        (rc = sp_money_mul_dec(prior[r2_node], 1050000000, SP_ROUND_HALF_EVEN, &r2)) != SP_OK ||
        (rc = sp_money_round_to(r2, 100000, SP_ROUND_HALF_EVEN, &r2)) != SP_OK)
        return fail(d, "R2's target", rc);
    sp_money_format(r2, 2, 0, r2_text, sizeof r2_text, NULL);
    const char *at = strstr(settings_format, "@R2@");
    snprintf(json, sizeof json, "%.*s%s%s", (int)(at - settings_format), settings_format, r2_text,
             at + 4);
    if ((rc = sp_target_plan_set_settings(plan, json, strlen(json))) != SP_OK)
        return fail(d, "plan settings", rc);
    /* Company target: FY2025 + 12 %, whole thousands of yuan. */
    int64_t total;
    if ((rc = sp_money_mul_dec(prior[0], 1120000000, SP_ROUND_HALF_EVEN, &total)) != SP_OK ||
        (rc = sp_money_round_to(total, 100000, SP_ROUND_HALF_EVEN, &total)) != SP_OK)
        return fail(d, "company target", rc);

    printf("salesplan %s demo: FY2026 sales targets, %zu nodes (%d regions x %d grids x %d "
           "reps), CNY\n\n",
           sp_version_string(), c.n, d->regions, d->grids, d->reps);
    printf("history: %" PRIu64 " order lines of FY2024-FY2025 read, %" PRIu64 " booked\n\n",
           rep.rows, rep.used);

    sp_target_set *base = NULL, *stretch = NULL;
    if ((rc = sp_target_plan_decompose(&base, plan, total, NULL)) != SP_OK)
        return fail(d, "decompose", rc);
    printf("Base: FY2025 + 12 %%, regions by last year (R2 held), grids by a 90/10 blend of last "
           "year and potential, reps by growth held within -20 %% .. +80 %%\n");
    print_regions(base, plan);
    printf("\nCompany by month (seasonality from two years of history)\n");
    print_months(base, plan, "CN");

    /* Store: a file of our own, recreated. */
    remove(d->store_path);
    sp_storage *st = NULL;
    sp_file_store_options fo = SP_FILE_STORE_OPTIONS_INIT;
    if ((rc = sp_storage_file_new(&st, ctx, d->store_path, &fo)) != SP_OK)
        return fail(d, "opening the file store", rc);
    uint32_t v_base = 0, v_stretch = 0, v_re = 0;
    if ((rc = sp_target_plan_save(plan, st)) != SP_OK ||
        (rc = sp_target_set_save(base, st, "base", "first cut", 20775, &v_base)) != SP_OK)
        return fail(d, "saving", rc);
    int64_t stretch_total;
    sp_money_mul_dec(total, 1100000000, SP_ROUND_HALF_EVEN, &stretch_total);
    sp_money_round_to(stretch_total, 100000, SP_ROUND_HALF_EVEN, &stretch_total);
    if ((rc = sp_target_plan_decompose(&stretch, plan, stretch_total, NULL)) != SP_OK ||
        (rc = sp_target_set_save(stretch, st, "stretch", "base + 10 %", 20775, &v_stretch)) !=
            SP_OK)
        return fail(d, "stretch scenario", rc);
    sp_storage_free(st);
    st = NULL;
    printf("\nSaved plan and sets to %s; reopened it:\n", d->store_path);

    if ((rc = sp_storage_file_new(&st, ctx, d->store_path, &fo)) != SP_OK)
        return fail(d, "reopening the file store", rc);
    sp_target_plan *plan2 = NULL;
    sp_target_set *base2 = NULL, *stretch2 = NULL;
    if ((rc = sp_target_plan_load(&plan2, ctx, st, "FY2026")) != SP_OK ||
        (rc = sp_target_set_load(&base2, ctx, st, "FY2026", "base", 0)) != SP_OK ||
        (rc = sp_target_set_load(&stretch2, ctx, st, "FY2026", "stretch", 0)) != SP_OK)
        return fail(d, "loading", rc);
    sp_names *names = NULL;
    if ((rc = sp_target_scenarios(&names, ctx, st, "FY2026")) != SP_OK)
        return fail(d, "scenarios", rc);
    printf("  scenarios:");
    for (size_t i = 0; i < sp_names_count(names); i++)
        printf(" %s", sp_names_at(names, i));
    printf("\n");
    sp_names_free(names);

    /* What-if: stretch against base, by region. */
    sp_target_comparison *cmp = NULL;
    if ((rc = sp_target_compare(&cmp, base2, stretch2)) != SP_OK)
        return fail(d, "compare", rc);
    sp_target_comparison_data cd = SP_TARGET_COMPARISON_DATA_INIT;
    sp_target_comparison_get_data(cmp, &cd);
    printf("\nWhat-if: stretch (base + 10 %%) against base\n");
    printf("  %-8s %18s %18s %16s %9s\n", "node", "base", "stretch", "difference", "change");
    for (size_t i = 0; i < cd.count; i++) {
        if (strchr(cd.ids[i], '-') != NULL)
            continue; /* regions and the company only */
        char a[SP_TEXT_MAX], b[SP_TEXT_MAX], df[SP_TEXT_MAX], r[SP_TEXT_MAX];
        printf("  %-8s %18s %18s %16s %9s\n", cd.ids[i], money(cd.a[i], a), money(cd.b[i], b),
               money(cd.diff[i], df), rate(cd.relative[i], r));
    }

    /* Mid-year: actuals of January to June from the facts, re-plan, a new version. */
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    sp_target_plan_get_info(plan2, &pi);
    int64_t *actual = calloc(c.n * pi.nperiods, sizeof *actual);
    int64_t *act_total = calloc(c.n, sizeof *act_total);
    sp_target_history_options ao = SP_TARGET_HISTORY_OPTIONS_INIT;
    sp_calendar_day_from_civil(2026, 7, 1, &ao.as_of);
    if ((rc = sp_target_plan_load_actuals(plan2, src, dict, &ao, NULL, actual, NULL)) != SP_OK)
        return fail(d, "actuals", rc);
    sp_target_set *re = NULL;
    if ((rc = sp_target_plan_replan(&re, plan2, base2, actual, 6, NULL)) != SP_OK ||
        (rc = sp_target_set_save(re, st, "base", "re-plan after June", ao.as_of, &v_re)) !=
            SP_OK)
        return fail(d, "re-plan", rc);
    printf("\nRe-plan after June: the company (saved as base version %u)\n", v_re);
    print_replan(base2, re, plan2, actual, 6);

    /* Pacing at 2026-07-01 against the base. */
    for (size_t v = 0; v < c.n; v++)
        for (size_t m = 0; m < 6; m++)
            act_total[v] += actual[v * pi.nperiods + m];
    size_t n = c.n;
    int64_t *exp_ = calloc(n, 8), *proj = calloc(n, 8), *rolled = calloc(n, 8);
    int32_t *status = calloc(n, 4);
    sp_target_pacing_options po = SP_TARGET_PACING_OPTIONS_INIT;
    po.rolled_up = 1;
    po.threshold = 50000000;
    sp_target_pacing_output out = { SP_TARGET_PACING_OUTPUT_VERSION, rolled, exp_, proj, status };
    if ((rc = sp_target_plan_pacing(plan2, base2, ao.as_of, act_total, &po, &out)) != SP_OK)
        return fail(d, "pacing", rc);
    printf("\nPacing at 2026-07-01 (base version %u, +-5 %%)\n", v_base);
    printf("  %-8s %18s %18s %18s  %s\n", "node", "expected", "actual", "projection", "status");
    const char *names_st[] = { "behind", "on track", "ahead" };
    int counts[3] = { 0, 0, 0 };
    for (size_t v = 0; v < n; v++) {
        counts[status[v] + 1]++;
        if (strchr(c.ids[v], '-') != NULL)
            continue;
        char a[SP_TEXT_MAX], b[SP_TEXT_MAX], p[SP_TEXT_MAX];
        printf("  %-8s %18s %18s %18s  %s\n", c.ids[v], money(exp_[v], a), money(rolled[v], b),
               money(proj[v], p), names_st[status[v] + 1]);
    }
    printf("  all nodes: %d ahead, %d on track, %d behind\n", counts[2], counts[1], counts[0]);

    /* Checks. */
    printf("\nChecks\n");
    sp_target_set_data bd = SP_TARGET_SET_DATA_INIT, rd = SP_TARGET_SET_DATA_INIT;
    sp_target_set_get_data(base, &bd);
    sp_target_set_get_data(re, &rd);
    check(d, bd.annual[0] == total, "the company's target is the total");
    check(d, consistent(base) && consistent(stretch) && consistent(re),
          "in every set, children sum to their parent in every month and months to the year");
    check(d, sets_equal(base, base2) && sets_equal(stretch, stretch2),
          "the sets read back from the file store equal the ones saved");
    const char *js1, *js2;
    size_t l1, l2;
    sp_target_plan_get_settings(plan, &js1, &l1);
    sp_target_plan_get_settings(plan2, &js2, &l2);
    check(d, l1 == l2 && memcmp(js1, js2, l1) == 0, "the plan's settings read back unchanged");
    int closed_ok = 1;
    for (size_t v = 0; v < n; v++) {
        const uint32_t *kids;
        size_t nk;
        sp_hierarchy_children(pi.hierarchy, (uint32_t)v, &kids, &nk);
        for (size_t m = 0; nk == 0 && m < 6; m++)
            closed_ok &= rd.periods[v * rd.nperiods + m] == actual[v * pi.nperiods + m];
    }
    check(d, closed_ok, "the re-plan's closed months are the actuals");
    check(d, cd.b[0] == stretch_total || cd.b[1] == stretch_total,
          "the stretch scenario's company target is base + 10 %");
    check(d, rolled[0] == act_total[0], "pacing's company actual is the sum of all actuals");

    free(actual);
    free(act_total);
    free(exp_);
    free(proj);
    free(rolled);
    free(status);
    sp_target_comparison_free(cmp);
    sp_target_set_free(re);
    sp_target_set_free(base2);
    sp_target_set_free(stretch2);
    sp_target_set_free(base);
    sp_target_set_free(stretch);
    sp_target_plan_free(plan2);
    sp_target_plan_free(plan);
    sp_storage_free(st);
    sp_fact_source_free(src);
    sp_dict_free(dict);
    sp_hierarchy_free(h);
    if (d->failures == 0)
        printf("\nall checks passed\n");
    else
        printf("\n%d checks FAILED\n", d->failures);
    return d->failures == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    demo d = { NULL, 2026, 4, 3, 5, "salesplan-demo.store", 0 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            d.seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            d.store_path = argv[++i];
        else if (strcmp(argv[i], "--small") == 0)
            d.regions = 4, d.grids = 2, d.reps = 2;
        else {
            fprintf(stderr, "usage: salesplan-demo [--seed N] [--store FILE] [--small]\n"
                            "  FILE defaults to salesplan-demo.store in the current directory "
                            "(recreated)\n");
            return 2;
        }
    }
    if (sp_ctx_new(&d.ctx, NULL) != SP_OK)
        return fail(&d, "creating a context", SP_ENOMEM);
    int rc = run(&d);
    sp_ctx_free(d.ctx);
    return rc;
}
