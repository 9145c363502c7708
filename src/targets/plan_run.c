/*
 * A plan at work: decomposition into a target set (sp_decomp_run down the hierarchy, then
 * sp_timesplit of the leaves over the periods and per-period roll-ups), re-plans, pacing
 * and bottom-up reconciliation at plan level. Every number comes from the kernels; this
 * file only assembles their inputs from the plan and the settings.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "plan.h"
#include "time_internal.h"

static const size_t replan_options_sizes[] = { 0, sizeof(sp_target_replan_options) };
static const size_t pacing_options_sizes[] = { 0, sizeof(sp_target_pacing_options) };
static const size_t pacing_output_sizes[] = { 0, sizeof(sp_target_pacing_output) };

SPI_DEFINE_INIT(sp_target_replan_options, replan_options_sizes,
                SP_TARGET_REPLAN_OPTIONS_VERSION, SP_TARGET_REPLAN_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_target_pacing_options, pacing_options_sizes,
                SP_TARGET_PACING_OPTIONS_VERSION, SP_TARGET_PACING_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_target_pacing_output, pacing_output_sizes,
                SP_TARGET_PACING_OUTPUT_VERSION, SP_TARGET_PACING_OUTPUT_INIT)

/* ---- the decomposition from the settings ---- */

/* Where a rule of the settings sits, for messages: "levels.region", "nodes.\"E-01\"". */
static const char *rule_place(const sp_target_plan *plan, bool level, uint32_t which, char *buf,
                              size_t cap)
{
    char q[SPI_QUOTE_CAP];
    if (level)
        snprintf(buf, cap, "levels.%s", plan->sh->h->levels[which]);
    else
        snprintf(buf, cap, "nodes.%s", spi_hierarchy_quote(plan->sh->h, which, q));
    return buf;
}

static int driver_column(const sp_target_plan *plan, const char *place, const char *name,
                         uint32_t *column)
{
    const spi_pdriver *d = spi_plan_driver(plan, name);
    if (d != NULL) {
        *column = (uint32_t)(d - plan->drivers); /* build_decomp adds them in this order */
        return SP_OK;
    }
    char list[256] = "", q[SPI_QUOTE_CAP];
    size_t o = 0;
    for (size_t i = 0; i < plan->ndrivers && o < sizeof list; i++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", i > 0 ? ", " : "",
                         spi_quote(q, plan->drivers[i].name, strlen(plan->drivers[i].name)));
        o += w > 0 ? (size_t)w : 0;
    }
    return spi_fail(plan->ctx, SP_EINVAL, "target plan: settings %s: the plan has no driver %s "
                                          "(drivers: %s)",
                    place, spi_quote(q, name, strlen(name)), plan->ndrivers > 0 ? list : "none");
}

/* The kernel's rule of a settings rule; blend columns go into `cols` (nblend entries). */
static int make_rule(const sp_target_plan *plan, const char *place, const spi_srule *r,
                     uint32_t *cols, sp_decomp_rule *out)
{
    sp_decomp_rule k = SP_DECOMP_RULE_INIT;
    k.method = r->method;
    k.null_policy = r->null_policy;
    k.growth_floor = r->floor;
    k.growth_cap = r->cap;
    k.unit = r->unit;
    int rc = SP_OK;
    if (r->method == SP_DECOMP_DRIVER || r->method == SP_DECOMP_GROWTH)
        rc = driver_column(plan, place, r->driver, &k.driver);
    for (size_t i = 0; rc == SP_OK && i < r->nblend; i++)
        rc = driver_column(plan, place, r->blend_drivers[i], &cols[i]);
    k.blend_drivers = cols;
    k.blend_weights = r->blend_weights;
    k.blend_count = r->nblend;
    *out = k;
    return rc;
}

static int rule_to(const sp_target_plan *plan, sp_decomp *d, bool level, uint32_t which,
                   const spi_srule *r)
{
    char place[SPI_QUOTE_CAP + 16];
    rule_place(plan, level, which, place, sizeof place);
    uint32_t *cols = NULL;
    if (r->nblend > 0 && (cols = spi_malloc_array(plan->ctx, r->nblend, sizeof *cols)) == NULL)
        return SP_ENOMEM;
    sp_decomp_rule k;
    int rc = make_rule(plan, place, r, cols, &k);
    if (rc == SP_OK)
        rc = level ? sp_decomp_set_level_rule(d, which, &k) : sp_decomp_set_node_rule(d, which, &k);
    spi_free(plan->ctx, cols);
    return rc;
}

/* An sp_decomp over the plan's hierarchy with its drivers (same column order, lent: the
 * decomposition lives only while the plan decomposes) and the settings' rules, bounds,
 * limits and locks. */
static int build_decomp(const sp_target_plan *plan, sp_decomp **out)
{
    const spi_settings *s = &plan->settings;
    sp_decomp *d = NULL;
    int rc = sp_decomp_new(&d, plan->sh->h);
    for (size_t i = 0; rc == SP_OK && i < plan->ndrivers; i++)
        rc = spi_decomp_add_driver_ref(d, plan->drivers[i].name, plan->drivers[i].values,
                                       plan->drivers[i].valid, plan->n);
    for (uint32_t l = 1; rc == SP_OK && l < s->nlevels; l++)
        if (s->level_rules[l].method != SPI_NO_RULE)
            rc = rule_to(plan, d, true, l, &s->level_rules[l]);
    for (size_t i = 0; rc == SP_OK && i < s->nnode_rules; i++)
        rc = rule_to(plan, d, false, s->node_rules[i].node, &s->node_rules[i].rule);
    for (size_t i = 0; rc == SP_OK && i < s->nbounds; i++)
        rc = sp_decomp_set_bounds(d, s->bounds[i].node, s->bounds[i].min, s->bounds[i].max);
    for (size_t i = 0; rc == SP_OK && i < s->nlimits; i++)
        rc = sp_decomp_set_growth_limits(d, s->limits[i].node, s->limits[i].floor,
                                         s->limits[i].cap);
    for (size_t i = 0; rc == SP_OK && i < s->nlocks; i++)
        rc = sp_decomp_lock(d, s->locks[i].node, s->locks[i].value, s->locks[i].reason);
    if (rc != SP_OK) {
        sp_decomp_free(d);
        return rc;
    }
    *out = d;
    return SP_OK;
}

/* Prefix the context's message with the node whose profile failed. */
static int profile_fail(const sp_target_plan *plan, uint32_t node, int rc)
{
    char q[SPI_QUOTE_CAP];
    return spi_fail_prefix(plan->ctx, rc, NULL, "target plan: seasonality of node %s",
                           spi_hierarchy_quote(plan->sh->h, node, q));
}

/* The weights of one settings profile (nperiods values) into w. */
static int profile_weights(const sp_target_plan *plan, const spi_sprofile *p, sp_dec *w)
{
    const uint32_t P = plan->nperiods;
    if (p->method == SPI_SEASON_EVEN) {
        for (uint32_t k = 0; k < P; k++)
            w[k] = SP_DEC_ONE;
        return SP_OK;
    }
    if (p->method == SPI_SEASON_SHARES) {
        memcpy(w, p->shares, P * sizeof *w);
        return SP_OK;
    }
    const spi_history *hs = &plan->history;
    const int64_t *row = spi_history_row(hs, p->node);
    if (row == NULL) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(plan->ctx, SP_EINVAL, "target plan: seasonality of node %s is taken from "
                                              "history, but the plan holds none for it (load it "
                                              "with sp_target_plan_load_history)",
                        spi_hierarchy_quote(plan->sh->h, p->node, q));
    }
    uint32_t years = p->years > 0 && p->years < hs->years ? p->years : hs->years;
    if (p->years > hs->years) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(plan->ctx, SP_EINVAL, "target plan: seasonality of node %s asks for %u "
                                              "years of history, but the plan holds %u",
                        spi_hierarchy_quote(plan->sh->h, p->node, q), (unsigned)p->years,
                        (unsigned)hs->years);
    }
    const int64_t *from = row + (size_t)(hs->years - years) * P;
    sp_season_options so = SP_SEASON_OPTIONS_INIT;
    so.zero_policy = p->zero_policy;
    so.average = p->average;
    int rc = p->method == SPI_SEASON_AVERAGE_SHARE
                 ? sp_season_average_share(plan->ctx, from, (size_t)years * P, P, &so, w)
                 : sp_season_ratio_to_ma(plan->ctx, from, (size_t)years * P, P, &so, w);
    return rc == SP_OK || rc == SP_ENOMEM ? rc : profile_fail(plan, p->node, rc);
}

/* Profiles: 0 is even, k + 1 the settings' k-th; profile_of by inheritance, top down. */
static int build_profiles(const sp_target_plan *plan, sp_dec *profiles, uint32_t *profile_of)
{
    const spi_settings *s = &plan->settings;
    const spi_tree *t = &plan->sh->h->tree;
    const uint32_t P = plan->nperiods;
    int rc = SP_OK;
    for (uint32_t k = 0; k < P; k++)
        profiles[k] = SP_DEC_ONE;
    for (size_t i = 0; i < s->nprofiles && rc == SP_OK; i++)
        rc = profile_weights(plan, &s->profiles[i], profiles + (i + 1) * P);
    if (rc != SP_OK)
        return rc;
    for (uint32_t i = 0; i < t->n; i++)
        profile_of[i] = SPI_TREE_NONE;
    for (size_t i = 0; i < s->nprofiles; i++)
        profile_of[s->profiles[i].node] = (uint32_t)(i + 1);
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t v = t->order[i];
        if (profile_of[v] == SPI_TREE_NONE)
            profile_of[v] = v == t->root ? 0 : profile_of[plan->sh->h->parent[v]];
    }
    return SP_OK;
}

static void set_from_plan(sp_target_set *set, const sp_target_plan *plan)
{
    set->plan_revision = plan->revision;
    set->measure = plan->measure;
    memcpy(set->currency, plan->currency, sizeof set->currency);
    set->exponent = plan->exponent;
    set->fiscal_year = plan->fiscal_year;
    set->grain = plan->grain;
    set->weighting = plan->settings.weighting;
}

int sp_target_plan_decompose(sp_target_set **out, const sp_target_plan *plan, int64_t total,
                             const sp_progress *progress)
{
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: out is NULL");
    if (total < 0)
        return spi_fail(ctx, SP_EINVAL, "target plan: the total %lld is negative",
                        (long long)total);
    const uint32_t n = plan->n, P = plan->nperiods;
    spi_progress pr;
    int rc = spi_progress_start(&pr, ctx, progress, "target plan: decompose", 3 * (uint64_t)n);
    if (rc != SP_OK)
        return rc;
    sp_decomp *d = NULL;
    sp_target_set *set = NULL;
    if ((rc = build_decomp(plan, &d)) != SP_OK)
        return rc;
    if ((rc = spi_set_alloc(ctx, plan->sh, P, plan->settings.nprofiles + 1, &set)) != SP_OK)
        goto done;
    /* Straight into the new set's zeroed arrays: on error the set is dropped. */
    if ((rc = spi_decomp_run_into(d, total, set->annual, set->flags, set->growth,
                                  set->common_growth)) != SP_OK ||
        (rc = spi_progress_tick(&pr, n)) != SP_OK)
        goto done;
    if ((rc = build_profiles(plan, set->profiles, set->profile_of)) != SP_OK)
        goto done;
    /* Every node is split (the inner ones are overwritten by their children's sums: a few
     * percent of the rows, cheaper than gathering the leaves). */
    sp_timesplit_options ts = SP_TIMESPLIT_OPTIONS_INIT;
    ts.policy = SP_PROFILE_NORMALISE;
    ts.profile_of = set->profile_of;
    ts.calendar = plan->cal;
    ts.fiscal_year = plan->fiscal_year;
    ts.grain = plan->grain;
    ts.weighting = plan->settings.weighting;
    ts.unit = plan->settings.period_unit;
    if ((rc = sp_timesplit(ctx, set->annual, n, set->profiles, set->nprofiles, P, &ts,
                           set->periods)) != SP_OK ||
        (rc = spi_progress_tick(&pr, 2 * (uint64_t)n)) != SP_OK)
        goto done;
    if ((rc = spi_rollup_rows(plan->sh->h, "target plan: decompose", set->periods, P, false)) !=
        SP_OK)
        goto done;
    for (size_t k = 0; k < sp_decomp_lock_count(d) && rc == SP_OK; k++) {
        uint32_t node;
        const char *reason;
        (void)sp_decomp_lock_at(d, k, &node, NULL, &reason);
        rc = spi_set_reason(set, node, reason, strlen(reason));
    }
    if (rc == SP_OK)
        rc = spi_set_strdup(ctx, &set->plan_id, plan->id, strlen(plan->id));
    if (rc == SP_OK)
        rc = spi_progress_finish(&pr, 3 * (uint64_t)n);
done:
    sp_decomp_free(d);
    if (rc != SP_OK) {
        sp_target_set_free(set);
        return rc;
    }
    set_from_plan(set, plan);
    set->total = total;
    *out = set;
    return SP_OK;
}

/* ---- the set against the plan ---- */

static int check_set(const sp_target_plan *plan, const char *what, const sp_target_set *set)
{
    char q[SPI_QUOTE_CAP];
    if (set == NULL)
        return spi_fail(plan->ctx, SP_EINVAL, "%s: the set is NULL", what);
    if (strcmp(set->plan_id, plan->id) != 0)
        return spi_fail(plan->ctx, SP_EINVAL, "%s: the set belongs to plan %s, not this one", what,
                        spi_quote(q, set->plan_id, strlen(set->plan_id)));
    if (set->n != plan->n || set->fiscal_year != plan->fiscal_year || set->grain != plan->grain ||
        set->nperiods != plan->nperiods)
        return spi_fail(plan->ctx, SP_EINVAL, "%s: the set (FY%d, grain %u, %u nodes) does not "
                                              "match the plan (FY%d, grain %u, %u nodes)",
                        what, (int)set->fiscal_year, (unsigned)set->grain, (unsigned)set->n,
                        (int)plan->fiscal_year, (unsigned)plan->grain, (unsigned)plan->n);
    return SP_OK;
}

/* annual[v] = the sum of v's periods, checked. */
static int annual_of_rows(sp_ctx *ctx, const char *what, const sp_target_set *set,
                          int64_t *annual)
{
    for (uint32_t v = 0; v < set->n; v++) {
        spi_i128 sum = 0;
        for (uint32_t p = 0; p < set->nperiods; p++)
            sum += set->periods[(size_t)v * set->nperiods + p];
        if (sum > INT64_MAX || sum < -INT64_MAX) {
            char q[SPI_QUOTE_CAP];
            return spi_fail(ctx, SP_EOVERFLOW, "%s: the periods of node %s sum beyond int64_t",
                            what, spi_hierarchy_quote(set->sh->h, v, q));
        }
        annual[v] = (int64_t)sum;
    }
    return SP_OK;
}

int sp_target_plan_replan(sp_target_set **out, const sp_target_plan *plan,
                          const sp_target_set *base, const int64_t *actual, size_t closed,
                          const sp_target_replan_options *opts)
{
    static const char what[] = "target replan";
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    sp_target_replan_options o = SP_TARGET_REPLAN_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_target_replan_options", &o, opts, replan_options_sizes,
                             SP_TARGET_REPLAN_OPTIONS_VERSION);
    if (rc != SP_OK || (rc = check_set(plan, what, base)) != SP_OK)
        return rc;
    if (out == NULL || actual == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, out == NULL ? "out" : "actual");
    if (closed > plan->nperiods)
        return spi_fail(ctx, SP_EINVAL, "%s: %zu periods closed, but the year has %u", what,
                        closed, (unsigned)plan->nperiods);
    const spi_tree *t = &plan->sh->h->tree;
    const uint32_t P = plan->nperiods;
    size_t nleaves = 0;
    for (uint32_t v = 0; v < t->n; v++)
        nleaves += t->count[v] == 0;
    /* The leaves gathered: targets, profile_of and actual rows, then their new rows. */
    int64_t *buf = spi_malloc_array(ctx, nleaves, (2 * (size_t)P + 2) * sizeof *buf);
    sp_target_set *set = NULL;
    if (buf == NULL)
        return SP_ENOMEM;
    int64_t *target = buf, *rows_in = buf + nleaves, *rows_out = rows_in + nleaves * P;
    uint32_t *profile_of = (uint32_t *)(void *)(rows_out + nleaves * P);
    size_t k = 0;
    for (uint32_t v = 0; v < t->n; v++) {
        if (t->count[v] != 0)
            continue;
        target[k] = base->annual[v];
        profile_of[k] = base->profile_of[v];
        memcpy(rows_in + k * P, actual + (size_t)v * P, P * sizeof *rows_in);
        k++;
    }
    sp_replan_options ro = SP_REPLAN_OPTIONS_INIT;
    ro.policy = SP_PROFILE_NORMALISE;
    ro.profile_of = profile_of;
    ro.calendar = plan->cal;
    ro.fiscal_year = plan->fiscal_year;
    ro.grain = plan->grain;
    ro.weighting = base->weighting;
    ro.unit = plan->settings.period_unit;
    ro.overshoot = o.overshoot;
    ro.closed = closed;
    sp_replan_output rout = SP_REPLAN_OUTPUT_INIT;
    rout.rows = rows_out;
    rc = sp_replan(ctx, target, rows_in, nleaves, base->profiles, base->nprofiles, P, &ro, &rout);
    if (rc == SP_OK)
        rc = spi_set_alloc(ctx, plan->sh, P, base->nprofiles, &set);
    if (rc == SP_OK) {
        k = 0;
        for (uint32_t v = 0; v < t->n; v++)
            if (t->count[v] == 0)
                memcpy(set->periods + (size_t)v * P, rows_out + P * k++, P * sizeof *rows_out);
        rc = spi_rollup_rows(plan->sh->h, what, set->periods, P, false);
    }
    if (rc == SP_OK)
        rc = annual_of_rows(ctx, what, set, set->annual);
    for (uint32_t v = 0; rc == SP_OK && base->reasons != NULL && v < set->n; v++)
        if (base->reasons[v] != NULL)
            rc = spi_set_reason(set, v, base->reasons[v], strlen(base->reasons[v]));
    if (rc == SP_OK)
        rc = spi_set_strdup(ctx, &set->plan_id, plan->id, strlen(plan->id));
    spi_free(ctx, buf);
    if (rc != SP_OK) {
        sp_target_set_free(set);
        return rc;
    }
    set_from_plan(set, plan);
    set->weighting = base->weighting;
    memcpy(set->flags, base->flags, set->n * sizeof *set->flags);
    memcpy(set->growth, base->growth, set->n * sizeof *set->growth);
    memcpy(set->common_growth, base->common_growth, set->n * sizeof *set->common_growth);
    memcpy(set->profile_of, base->profile_of, set->n * sizeof *set->profile_of);
    memcpy(set->profiles, base->profiles, base->nprofiles * P * sizeof *set->profiles);
    set->total = set->annual[t->root];
    set->based_on = base->set_version;
    set->closed = (uint32_t)closed;
    *out = set;
    return SP_OK;
}

int sp_target_plan_pacing(const sp_target_plan *plan, const sp_target_set *set,
                          int32_t elapsed_end, const int64_t *actual,
                          const sp_target_pacing_options *opts,
                          const sp_target_pacing_output *out)
{
    static const char what[] = "target pacing";
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    sp_target_pacing_options o = SP_TARGET_PACING_OPTIONS_INIT;
    sp_target_pacing_output po = SP_TARGET_PACING_OUTPUT_INIT;
    int rc = spi_struct_read(ctx, "sp_target_pacing_options", &o, opts, pacing_options_sizes,
                             SP_TARGET_PACING_OPTIONS_VERSION);
    if (rc != SP_OK ||
        (rc = spi_struct_read(ctx, "sp_target_pacing_output", &po, out, pacing_output_sizes,
                              SP_TARGET_PACING_OUTPUT_VERSION)) != SP_OK ||
        (rc = check_set(plan, what, set)) != SP_OK)
        return rc;
    if (actual == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: actual is NULL", what);
    if (o.rolled_up > 1)
        return spi_fail(ctx, SP_EINVAL, "%s: rolled_up %u is not 0 or 1", what,
                        (unsigned)o.rolled_up);
    const uint32_t n = plan->n, P = plan->nperiods;
    /* Each node's profile is its own periods (negative ones, net returns, weigh zero); a
     * node whose periods weigh nothing (a zero target) gets the even profile in their
     * place, since the kernel refuses a profile of zeros. One block: rolled, expected,
     * projection (n each), the profiles (n x P), profile_of (n). */
    int64_t *buf = spi_malloc_array(ctx, n, (3 + (size_t)P) * sizeof *buf + sizeof(uint32_t));
    if (buf == NULL)
        return SP_ENOMEM;
    int64_t *rolled = buf, *expected = buf + n, *projection = buf + 2 * (size_t)n;
    sp_dec *profiles = buf + 3 * (size_t)n;
    uint32_t *profile_of = (uint32_t *)(void *)(profiles + (size_t)n * P);
    if (o.rolled_up)
        memcpy(rolled, actual, n * sizeof *rolled);
    else
        rc = sp_hierarchy_rollup(plan->sh->h, actual, SP_ROLLUP_OWN, rolled);
    for (uint32_t v = 0; rc == SP_OK && v < n; v++) {
        const int64_t *row = set->periods + (size_t)v * P;
        sp_dec *w = profiles + (size_t)v * P;
        spi_i128 sum = 0;
        for (uint32_t p = 0; p < P; p++) {
            w[p] = row[p] > 0 ? row[p] : 0;
            sum += w[p];
        }
        if (sum == 0 || sum > INT64_MAX)
            for (uint32_t p = 0; p < P; p++)
                w[p] = SP_DEC_ONE;
        profile_of[v] = v;
    }
    if (rc == SP_OK) {
        sp_pacing_options so = SP_PACING_OPTIONS_INIT;
        so.calendar = plan->cal;
        so.fiscal_year = plan->fiscal_year;
        so.grain = plan->grain;
        so.elapsed_end = elapsed_end;
        so.policy = SP_PROFILE_NORMALISE;
        so.profile_of = profile_of;
        so.weighting = SP_TIME_WEIGHT_PROFILE; /* the rows already carry any weighting */
        so.elapsed = o.elapsed;
        so.projection = o.projection;
        so.threshold = o.threshold;
        so.rounding = o.rounding;
        sp_pacing_output sout = { SP_PACING_OUTPUT_VERSION, expected, projection, po.status };
        rc = sp_pacing(ctx, set->annual, rolled, n, profiles, n, P, &so, &sout);
    }
    if (rc == SP_OK) {
        if (po.actual != NULL)
            memcpy(po.actual, rolled, n * sizeof *rolled);
        if (po.expected != NULL)
            memcpy(po.expected, expected, n * sizeof *expected);
        if (po.projection != NULL)
            memcpy(po.projection, projection, n * sizeof *projection);
    }
    spi_free(ctx, buf);
    return rc;
}

int sp_target_set_reconcile(const sp_target_set *set, const int64_t *commitments,
                            const sp_reconcile_options *opts, const sp_reconcile_output *out)
{
    if (set == NULL)
        return SP_EINVAL;
    int rc = sp_hierarchy_reconcile(set->sh->h, set->annual, commitments, opts, out);
    return rc == SP_OK || rc == SP_ENOMEM ? rc : spi_fail_prefix(set->ctx, rc, NULL, "target set");
}
