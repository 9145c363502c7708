/*
 * sp_commission_run: a plan version's copy, its payees, quotas and splits, the engine's
 * result (engine.c), its statements and explain (commission.h; docs/commission.md,
 * "Runs" and "Explain").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "../hierarchy/hierarchy_internal.h"
#include "../money/numeric.h"
#include "../record/record.h"
#include "draw.h"
#include "handles.h"

#define WHAT "commission run"

static const size_t run_options_sizes[] = { 0, sizeof(sp_commission_run_options) };
static const size_t run_info_sizes[] = { 0, sizeof(sp_commission_run_info) };
static const size_t statement_sizes[] = { 0, sizeof(sp_commission_statement) };

SPI_DEFINE_INIT(sp_commission_run_options, run_options_sizes, SP_COMMISSION_RUN_OPTIONS_VERSION,
                SP_COMMISSION_RUN_OPTIONS_INIT)
SPI_DEFINE_INIT(sp_commission_run_info, run_info_sizes, SP_COMMISSION_RUN_INFO_VERSION,
                SP_COMMISSION_RUN_INFO_INIT)
SPI_DEFINE_INIT(sp_commission_statement, statement_sizes, SP_COMMISSION_STATEMENT_VERSION,
                SP_COMMISSION_STATEMENT_INIT)

/* The public line is the engine's, so statements hand out the run's lines in place. */
#define SAME_FIELD(f)                                                                        \
    _Static_assert(offsetof(sp_commission_line, f) == offsetof(spi_cline, f) &&             \
                       sizeof(((sp_commission_line *)0)->f) == sizeof(((spi_cline *)0)->f), \
                   "sp_commission_line." #f " is spi_cline's")
SAME_FIELD(fact);
SAME_FIELD(base);
SAME_FIELD(earned);
SAME_FIELD(own);
SAME_FIELD(true_up);
SAME_FIELD(rate);
SAME_FIELD(day);
SAME_FIELD(share);
SAME_FIELD(tier_before);
SAME_FIELD(tier_after);
SAME_FIELD(component);
SAME_FIELD(kind);
_Static_assert(sizeof(sp_commission_line) == sizeof(spi_cline), "a line is 64 bytes");
_Static_assert(sizeof(sp_commission_paid) == sizeof(spi_cpaid) &&
                   offsetof(sp_commission_paid, refunded) == offsetof(spi_cpaid, refunded) &&
                   offsetof(sp_commission_paid, rate) == offsetof(spi_cpaid, rate) &&
                   offsetof(sp_commission_paid, amount) == offsetof(spi_cpaid, amount) &&
                   offsetof(sp_commission_paid, day) == offsetof(spi_cpaid, day),
               "a paid line is the engine's");
_Static_assert((int)SP_COMMISSION_LINE_CLAWBACK == (int)SPI_CLINE_CLAWBACK, "clawback kinds");
_Static_assert((int)SP_COMMISSION_LINE_REFUND_SPIFF == (int)SPI_CLINE_REFUND_SPIFF &&
                   (int)SP_COMMISSION_LINE_PAYMENT == (int)SPI_CLINE_PAYMENT &&
                   (int)SP_COMMISSION_LINE_CAP_RELEASE == (int)SPI_CLINE_CAP_RELEASE &&
                   (int)SP_COMMISSION_LINE_DRAW_FORGIVEN == (int)SPI_CLINE_DRAW_FORGIVEN &&
                   (int)SP_COMMISSION_LINE_OVERRIDE == (int)SPI_CLINE_OVERRIDE,
               "line kinds agree");
_Static_assert(SP_COMMISSION_NO_COMPONENT == SPI_CLINE_NO_COMPONENT, "no component agrees");
_Static_assert(SPI_CCARRY_WIDTH(0) == 1 && SPI_CCARRY_DRAW == 0 && SPI_CCARRY_CAP(0) == 1,
               "the carry row is the draw's balance, then each component's");
_Static_assert((int)SP_COMMISSION_PER_LINE == (int)SPI_CPOLICY_PER_LINE, "policies agree");
_Static_assert((int)SP_COMMISSION_DEALS == (int)SPI_CMEASURE_DEALS, "measures agree");
_Static_assert((int)SP_COMMISSION_ERROR == (int)SPI_CENGINE_ERROR, "unknown-payee policies agree");

/* ---- the run's inputs ---- */

static void clear_results(sp_commission_run *run)
{
    spi_crun_free(run->ctx, &run->res);
    memset(&run->res, 0, sizeof run->res);
    spi_free(run->ctx, run->totals);
    spi_free(run->ctx, run->ids);
    spi_free(run->ctx, run->id_at);
    spi_free(run->ctx, run->used_quotas);
    run->used_quotas = NULL;
    run->totals = NULL;
    run->ids = NULL;
    run->id_at = NULL;
    run->computed = false;
}

int sp_commission_run_new(sp_commission_run **out, const sp_commission_plan *plan,
                          const sp_commission_run_options *opts)
{
    if (plan == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = plan->ctx;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": out is NULL");
    sp_commission_run_options o = SP_COMMISSION_RUN_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_commission_run_options", &o, opts, run_options_sizes,
                             SP_COMMISSION_RUN_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (opts == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": options are NULL (the fiscal year is required)");
    uint32_t period;
    if (!spi_cplan_period_of_grain(o.grain, &period))
        return spi_fail(ctx, SP_EINVAL, WHAT ": options.grain: %u is not month (%d), quarter "
                                           "(%d) or year (%d)", o.grain, SP_GRAIN_MONTH,
                        SP_GRAIN_QUARTER, SP_GRAIN_YEAR);
    if (o.fiscal_year < 1 || o.fiscal_year > 9999)
        return spi_fail(ctx, SP_EINVAL, WHAT ": options.fiscal_year: %d is not 1 to 9999",
                        o.fiscal_year);
    if (o.unknown > SP_COMMISSION_ERROR)
        return spi_fail(ctx, SP_EINVAL, WHAT ": options.unknown: %u is not skip (0) or error (1)",
                        o.unknown);
    if ((o.flags & ~(uint32_t)SP_COMMISSION_TOTALS_ONLY) != 0)
        return spi_fail(ctx, SP_EINVAL, WHAT ": options.flags: unknown bits 0x%x",
                        o.flags & ~(uint32_t)SP_COMMISSION_TOTALS_ONLY);
    sp_commission_run *run = spi_calloc(ctx, 1, sizeof *run);
    if (run == NULL)
        return SP_ENOMEM;
    run->ctx = ctx;
    run->plan_json = spi_malloc(ctx, plan->len + 1);
    if (run->plan_json == NULL)
        rc = SP_ENOMEM;
    else
        rc = spi_cplan_read(ctx, plan->json, plan->len, &run->plan);
    if (rc != SP_OK) {
        spi_free(ctx, run->plan_json);
        spi_free(ctx, run);
        return rc;
    }
    run->from_set = spi_calloc(ctx, run->plan.ncomponents, sizeof *run->from_set);
    if (run->from_set == NULL) {
        spi_cplan_free(ctx, &run->plan);
        spi_free(ctx, run->plan_json);
        spi_free(ctx, run);
        return SP_ENOMEM;
    }
    memcpy(run->plan_json, plan->json, plan->len + 1);
    run->revision = plan->revision;
    run->opts = o;
    run->period = period;
    *out = run;
    return SP_OK;
}

void sp_commission_run_free(sp_commission_run *run)
{
    if (run == NULL)
        return;
    sp_ctx *ctx = run->ctx;
    clear_results(run);
    spi_split_table_free(run->splits);
    spi_free(ctx, run->payees);
    spi_free(ctx, run->quotas);
    spi_free(ctx, run->carry);
    (void)sp_commission_run_clear_adjustments(run);
    spi_free(ctx, run->assign_first);
    spi_free(ctx, run->assign_last);
    spi_free(ctx, run->paid);
    sp_hierarchy_free(run->hierarchy);
    spi_free(ctx, run->from_set);
    spi_free(ctx, run->plan_json);
    spi_cplan_free(ctx, &run->plan);
    spi_free(ctx, run);
}

int sp_commission_run_set_payees(sp_commission_run *run, const uint32_t *ids, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    if (ids == NULL && n > 0)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": payees: ids is NULL");
    if (n >= UINT32_MAX)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": payees: %zu are too many", n);
    /* Distinct indices below the dictionary's count are checked when the run is computed
     * (the dictionary is known then). */
    uint32_t *copy = spi_malloc_array(run->ctx, n, sizeof *copy);
    if (copy == NULL)
        return SP_ENOMEM;
    if (n > 0)
        memcpy(copy, ids, n * sizeof *ids);
    clear_results(run);
    spi_free(run->ctx, run->payees);
    spi_free(run->ctx, run->quotas);
    spi_split_table_free(run->splits);
    spi_free(run->ctx, run->carry);
    spi_free(run->ctx, run->paid);
    spi_free(run->ctx, run->assign_first);
    spi_free(run->ctx, run->assign_last);
    run->assign_first = run->assign_last = NULL;
    (void)sp_commission_run_clear_adjustments(run);
    run->payees = copy;
    run->np = n;
    run->quotas = NULL;
    run->carry = NULL;
    run->paid = NULL;
    run->npaid = 0;
    memset(run->from_set, 0, run->plan.ncomponents * sizeof *run->from_set);
    run->splits = NULL;
    return SP_OK;
}

/* A copy of the run's quotas (zeros when none) to fill before committing it. */
static int64_t *quotas_copy(sp_commission_run *run)
{
    size_t cells = run->np * run->plan.ncomponents;
    int64_t *q = spi_calloc(run->ctx, cells, sizeof *q);
    if (q != NULL && run->quotas != NULL && cells > 0)
        memcpy(q, run->quotas, cells * sizeof *q);
    return q;
}

static void quotas_commit(sp_commission_run *run, int64_t *q)
{
    clear_results(run);
    spi_free(run->ctx, run->quotas);
    run->quotas = q;
}

int sp_commission_run_set_quotas(sp_commission_run *run, const int64_t *quotas, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    size_t nc = run->plan.ncomponents;
    if (quotas == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": quotas is NULL");
    if (n != run->np * nc)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": quotas: %zu values for %zu payees x %zu "
                                                  "components (%zu)", n, run->np, nc,
                        run->np * nc);
    for (size_t i = 0; i < n; i++)
        if (quotas[i] < 0)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": quotas[%zu] (payee %zu, components[%zu] "
                                                      "(\"%s\")): %lld is negative", i, i / nc,
                            i % nc, run->plan.components[i % nc].id, (long long)quotas[i]);
    int64_t *copy = spi_malloc_array(run->ctx, n, sizeof *copy);
    if (copy == NULL)
        return SP_ENOMEM;
    if (n > 0)
        memcpy(copy, quotas, n * sizeof *copy);
    quotas_commit(run, copy);
    memset(run->from_set, 0, nc * sizeof *run->from_set);
    return SP_OK;
}

/* ---- quotas from target sets ---- */

static const char *const target_measure_names[] = { "money", "quantities" };

/* The days of the run's period (*whole) and of each component's in it (*days, allocated:
 * spi_free), under the plan's calendar: spi_cengine_days, as the engine will count them. */
static int run_days(const sp_commission_run *run, spi_cdays *whole, spi_cdays **days)
{
    sp_ctx *ctx = run->ctx;
    sp_calendar *cal = NULL;
    spi_cdays *d = spi_malloc_array(ctx, run->plan.ncomponents, sizeof *d);
    int rc = d == NULL ? SP_ENOMEM : sp_calendar_new(&cal, ctx, &run->plan.calendar.opts);
    if (rc == SP_OK)
        rc = spi_cengine_days(ctx, cal, &run->plan, run->opts.fiscal_year, run->period,
                              run->opts.index, whole, d);
    sp_calendar_free(cal);
    if (rc != SP_OK) {
        spi_free(ctx, d);
        return rc;
    }
    *days = d;
    return SP_OK;
}

/* Component k's column of the quotas q (np x nc) from the set; changes nothing else. */
static int quotas_column(sp_commission_run *run, size_t k, const sp_target_plan *plan,
                         const sp_target_set *set, const sp_dict *ids, int64_t *q)
{
    sp_ctx *ctx = run->ctx;
    size_t nc = run->plan.ncomponents;
    const spi_cplan_component *comp = &run->plan.components[k];
    sp_target_plan_info pi = SP_TARGET_PLAN_INFO_INIT;
    sp_target_set_info si = SP_TARGET_SET_INFO_INIT;
    sp_target_set_data sd = SP_TARGET_SET_DATA_INIT;
    if (sp_target_plan_get_info(plan, &pi) != SP_OK || sp_target_set_get_info(set, &si) != SP_OK ||
        sp_target_set_get_data(set, &sd) != SP_OK)
        return spi_fail(ctx, SP_EINTERNAL, WHAT ": quotas: the target plan or set cannot be read");
    char what[2 * SPI_CPLAN_ID_MAX + 1024];
    if (si.scenario[0] != '\0')
        snprintf(what, sizeof what, WHAT ": components[%zu] (\"%s\"): quotas from target set of "
                                    "plan \"%s\", scenario \"%s\" version %u", k, comp->id,
                 si.plan_id, si.scenario, si.set_version);
    else
        snprintf(what, sizeof what, WHAT ": components[%zu] (\"%s\"): quotas from an unsaved "
                                    "target set of plan \"%s\"", k, comp->id, si.plan_id);
    if (strcmp(pi.id, si.plan_id) != 0)
        return spi_fail(ctx, SP_EINVAL, "%s: the target plan given is \"%s\"", what, pi.id);
    bool money = comp->measure == SPI_CMEASURE_AMOUNT || comp->measure == SPI_CMEASURE_MARGIN;
    if (money != (si.measure == SP_TARGET_MONEY))
        return spi_fail(ctx, SP_EINVAL, "%s: the set holds %s, the component measures %s", what,
                        target_measure_names[si.measure == SP_TARGET_MONEY ? 0 : 1],
                        spi_cplan_measure_names[comp->measure]);
    if (money && si.exponent != run->plan.exponent)
        return spi_fail(ctx, SP_EINVAL, "%s: the set's amounts have %d decimals, the plan's "
                                        "currency %s has %d", what, si.exponent,
                        run->plan.currency, run->plan.exponent);
    if (money && si.currency[0] != '\0' && strcmp(si.currency, run->plan.currency) != 0)
        return spi_fail(ctx, SP_EINVAL, "%s: the set is in %s, the plan in %s", what, si.currency,
                        run->plan.currency);
    /* The component's days in this run, and the set's periods that make them up. */
    spi_cdays whole, *days;
    int rc = run_days(run, &whole, &days);
    if (rc != SP_OK)
        return rc;
    spi_cdays d = days[k];
    spi_free(ctx, days);
    int32_t firsts[SP_CALENDAR_MAX_PERIODS], ends[SP_CALENDAR_MAX_PERIODS];
    size_t n = 0;
    if ((rc = sp_calendar_periods(pi.calendar, si.fiscal_year, si.grain, firsts, ends, NULL,
                                  SP_CALENDAR_MAX_PERIODS, &n)) != SP_OK)
        return spi_fail_prefix(ctx, rc, NULL, "%s", what);
    size_t p0 = SIZE_MAX, p1 = 0; /* the set's periods [p0, p1) */
    for (size_t p = 0; p < n && p < sd.nperiods; p++)
        if (firsts[p] >= d.first && ends[p] <= d.end) {
            if (p0 == SIZE_MAX)
                p0 = p;
            p1 = p + 1;
        }
    char a[16], b[16];
    if (!d.due) { /* not computed in this run: no quota needed */
        for (size_t i = 0; i < run->np; i++)
            q[i * nc + k] = 0;
        return SP_OK;
    }
    if (p0 == SIZE_MAX || firsts[p0] != d.first || ends[p1 - 1] != d.end)
        return spi_fail(ctx, SP_EINVAL, "%s: the component's period %s .. %s is not made of the "
                                        "set's %s periods of FY%d", what,
                        spi_day_text(d.first, a), spi_day_text(d.end - 1, b),
                        spi_grain_names[si.grain], si.fiscal_year);
    for (size_t i = 0; i < run->np; i++) {
        const char *id;
        size_t len;
        uint32_t node;
        if (sp_dict_id(ids, run->payees[i], &id, &len) != SP_OK)
            return spi_fail(ctx, SP_EINVAL, "%s: payees[%zu]: %u is no index of the dictionary",
                            what, i, run->payees[i]);
        if (sp_target_set_find(set, id, len, &node) != SP_OK)
            return spi_fail(ctx, SP_EINVAL, "%s: payee \"%s\" is no node of the set", what, id);
        int64_t sum = 0;
        for (size_t p = p0; p < p1; p++)
            if (__builtin_add_overflow(sum, sd.periods[(size_t)node * sd.nperiods + p], &sum))
                return spi_fail(ctx, SP_EOVERFLOW, "%s: payee \"%s\": the quota overflows", what,
                                id);
        q[i * nc + k] = sum;
    }
    return SP_OK;
}

int sp_commission_run_quotas_from_set(sp_commission_run *run, size_t k,
                                      const sp_target_plan *plan, const sp_target_set *set,
                                      const sp_dict *ids)
{
    if (run == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = run->ctx;
    if (plan == NULL || set == NULL || ids == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": quotas: %s is NULL",
                        plan == NULL ? "plan" : set == NULL ? "set" : "ids");
    if (k >= run->plan.ncomponents)
        return spi_fail(ctx, SP_EINVAL, WHAT ": quotas: component %zu: the plan has %zu", k,
                        run->plan.ncomponents);
    int64_t *q = quotas_copy(run);
    if (q == NULL)
        return SP_ENOMEM;
    int rc = quotas_column(run, k, plan, set, ids, q);
    if (rc != SP_OK) {
        spi_free(ctx, q);
        return rc;
    }
    quotas_commit(run, q);
    run->from_set[k] = true;
    return SP_OK;
}

int sp_commission_run_load_quotas(sp_commission_run *run, const sp_storage *storage,
                                  const sp_dict *ids)
{
    if (run == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = run->ctx;
    if (storage == NULL || ids == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": quotas: %s is NULL",
                        storage == NULL ? "storage" : "ids");
    size_t nc = run->plan.ncomponents;
    int64_t *q = quotas_copy(run);
    if (q == NULL)
        return SP_ENOMEM;
    int rc = SP_OK;
    for (size_t k = 0; rc == SP_OK && k < nc; k++) {
        const spi_cplan_component *c = &run->plan.components[k];
        if (!c->has_quota || c->quota.given)
            continue;
        sp_target_plan *tp = NULL;
        sp_target_set *ts = NULL;
        rc = sp_target_plan_load(&tp, ctx, storage, c->quota.plan);
        if (rc == SP_OK)
            rc = sp_target_set_load(&ts, ctx, storage, c->quota.plan, c->quota.scenario,
                                    c->quota.version);
        if (rc == SP_OK)
            rc = quotas_column(run, k, tp, ts, ids, q);
        else
            rc = spi_fail_prefix(ctx, rc, NULL, WHAT ": components[%zu].quota.target_set", k);
        sp_target_set_free(ts);
        sp_target_plan_free(tp);
    }
    if (rc != SP_OK) {
        spi_free(ctx, q);
        return rc;
    }
    quotas_commit(run, q);
    for (size_t k = 0; k < nc; k++)
        if (run->plan.components[k].has_quota && !run->plan.components[k].quota.given)
            run->from_set[k] = true;
    return SP_OK;
}

int sp_commission_run_set_splits(sp_commission_run *run, const uint64_t *fact_ids,
                                 const uint32_t *payees, const sp_dec *shares, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    spi_split_table *t = NULL;
    if (n > 0) {
        if (fact_ids == NULL || payees == NULL || shares == NULL)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": splits: %s is NULL",
                            fact_ids == NULL ? "fact_ids" : payees == NULL ? "payees" : "shares");
        int rc = spi_split_table_new(&t, run->ctx, fact_ids, payees, shares, n,
                                     (uint32_t)run->np);
        if (rc != SP_OK)
            return rc;
    }
    clear_results(run);
    spi_split_table_free(run->splits);
    run->splits = t;
    return SP_OK;
}

int sp_commission_run_set_carry(sp_commission_run *run, const int64_t *carry, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    size_t width = SPI_CCARRY_WIDTH(run->plan.ncomponents);
    if (n > 0 && carry == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": carry is NULL");
    if (n != 0 && n != run->np * width)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": carry: %zu values for %zu payees x (1 + %zu "
                                                  "components) (%zu)", n, run->np,
                        run->plan.ncomponents, run->np * width);
    int64_t *copy = NULL;
    if (n > 0) {
        if ((copy = spi_malloc_array(run->ctx, n, sizeof *copy)) == NULL)
            return SP_ENOMEM;
        memcpy(copy, carry, n * sizeof *copy);
    }
    clear_results(run);
    spi_free(run->ctx, run->carry);
    run->carry = copy;
    return SP_OK;
}

int sp_commission_run_add_adjustment(sp_commission_run *run, uint64_t id, size_t k, size_t c,
                                     int64_t amount, const char *reason)
{
    if (run == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = run->ctx;
    size_t len = reason != NULL ? strnlen(reason, 1001) : 0;
    const char *why = NULL;
    if (k >= run->np || c >= run->plan.ncomponents)
        return spi_fail(ctx, SP_EINVAL, WHAT ": adjustment %llu: %s %zu: the run has %zu",
                        (unsigned long long)id, k >= run->np ? "payee" : "component",
                        k >= run->np ? k : c, k >= run->np ? run->np : run->plan.ncomponents);
    if (len == 0 || len > 1000)
        return spi_fail(ctx, SP_EINVAL, WHAT ": adjustment %llu: a reason of 1 to 1000 bytes "
                                           "is required (%s)", (unsigned long long)id,
                        len == 0 ? "none given" : "longer");
    if (!spi_utf8_check((const uint8_t *)reason, len, NULL, &why))
        return spi_fail(ctx, SP_EINVAL, WHAT ": adjustment %llu: the reason is not UTF-8 (%s)",
                        (unsigned long long)id, why);
    if (amount == INT64_MIN)
        return spi_fail(ctx, SP_EINVAL, WHAT ": adjustment %llu: INT64_MIN", (unsigned long long)id);
    for (size_t j = 0; j < run->nadjust; j++)
        if (run->adjust[j].id == id && run->adjust[j].payee == k && run->adjust[j].component == c)
            return spi_fail(ctx, SP_EINVAL, WHAT ": adjustment %llu of payee %zu, component %zu "
                                               "is already given", (unsigned long long)id, k, c);
    if (run->nadjust == run->capadjust) {
        size_t cap = run->capadjust * 2 + 8;
        spi_cadjust *a = spi_realloc_array(ctx, run->adjust, cap, sizeof *a);
        if (a == NULL)
            return SP_ENOMEM;
        run->adjust = a;
        char **r = spi_realloc_array(ctx, run->reasons, cap, sizeof *r);
        if (r == NULL)
            return SP_ENOMEM;
        run->reasons = r;
        run->capadjust = cap;
    }
    char *copy = spi_malloc(ctx, len + 1);
    if (copy == NULL)
        return SP_ENOMEM;
    memcpy(copy, reason, len + 1);
    clear_results(run);
    spi_cadjust a = { id, (uint32_t)k, (uint32_t)c, amount };
    run->adjust[run->nadjust] = a;
    run->reasons[run->nadjust++] = copy;
    return SP_OK;
}

int sp_commission_run_clear_adjustments(sp_commission_run *run)
{
    if (run == NULL)
        return SP_EINVAL;
    for (size_t j = 0; j < run->nadjust; j++)
        spi_free(run->ctx, run->reasons[j]);
    spi_free(run->ctx, run->adjust);
    spi_free(run->ctx, run->reasons);
    run->adjust = NULL;
    run->reasons = NULL;
    run->nadjust = run->capadjust = 0;
    clear_results(run);
    return SP_OK;
}

const char *sp_commission_run_adjustment_reason(const sp_commission_run *run, size_t k,
                                                uint64_t id)
{
    for (size_t j = 0; run != NULL && j < run->nadjust; j++)
        if (run->adjust[j].id == id && run->adjust[j].payee == k)
            return run->reasons[j];
    return NULL;
}

int sp_commission_run_set_assignments(sp_commission_run *run, const int32_t *first,
                                      const int32_t *last, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    if (n > 0 && (first == NULL || last == NULL))
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": assignments: %s is NULL",
                        first == NULL ? "first" : "last");
    if (n != 0 && n != run->np)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": assignments: %zu for %zu payees", n,
                        run->np);
    for (size_t k = 0; k < n; k++)
        if (first[k] > last[k]) {
            char a[16], b[16];
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": assignments[%zu]: %s is after %s", k,
                            spi_day_text(first[k], a), spi_day_text(last[k], b));
        }
    int32_t *f = NULL, *l = NULL;
    if (n > 0) {
        f = spi_malloc_array(run->ctx, n, sizeof *f);
        l = spi_malloc_array(run->ctx, n, sizeof *l);
        if (f == NULL || l == NULL) {
            spi_free(run->ctx, f);
            spi_free(run->ctx, l);
            return SP_ENOMEM;
        }
        memcpy(f, first, n * sizeof *f);
        memcpy(l, last, n * sizeof *l);
    }
    clear_results(run);
    spi_free(run->ctx, run->assign_first);
    spi_free(run->ctx, run->assign_last);
    run->assign_first = f;
    run->assign_last = l;
    return SP_OK;
}

/* The days of [first, end) payee k is on: its assignment's, when it has one. */
static int64_t days_on(const sp_commission_run *run, size_t k, int32_t first, int32_t end)
{
    int64_t lo = first, hi = end;
    if (run->assign_first != NULL) {
        lo = run->assign_first[k] > lo ? run->assign_first[k] : lo;
        hi = (int64_t)run->assign_last[k] + 1 < hi ? (int64_t)run->assign_last[k] + 1 : hi;
    }
    return hi > lo ? hi - lo : 0;
}

/* value x days / whole, rounded by the plan's mode; the value itself for a whole period,
 * or for none (a payee with no day in it earns nothing there, whatever its quota). */
static int prorate(const sp_commission_run *run, int64_t value, int64_t days, int64_t whole,
                   int64_t *out)
{
    if (days == whole || days == 0) {
        *out = value;
        return SP_OK;
    }
    return sp_muldiv(value, days, whole, run->plan.rounding_mode, out);
}

/*
 * The quotas and draws of the payees prorated by their days on the version in each
 * component's period (the draw: the run's), or NULL where nothing is prorated. Errors:
 * the period's (SP_EINVAL), SP_ENOMEM, SP_EOVERFLOW.
 */
static int prorated(sp_commission_run *run, int64_t **quotas, int64_t **draws)
{
    sp_ctx *ctx = run->ctx;
    size_t nc = run->plan.ncomponents, np = run->np;
    *quotas = *draws = NULL;
    spi_cdays whole = { 0, 0, 0, 0, false }, *days = NULL;
    int rc = run_days(run, &whole, &days);
    if (rc == SP_OK && run->quotas != NULL && np > 0 &&
        (*quotas = spi_malloc_array(ctx, np * nc, sizeof **quotas)) == NULL)
        rc = SP_ENOMEM;
    for (size_t k = 0; rc == SP_OK && *quotas != NULL && k < np; k++)
        for (size_t c = 0; rc == SP_OK && c < nc; c++)
            rc = prorate(run, run->quotas[k * nc + c],
                         days_on(run, k, days[c].first, days[c].end),
                         (int64_t)days[c].period_end - days[c].period_first,
                         &(*quotas)[k * nc + c]);
    if (rc == SP_OK && run->plan.draw.kind != SPI_CDRAW_NONE && np > 0 &&
        (*draws = spi_malloc_array(ctx, np, sizeof **draws)) == NULL)
        rc = SP_ENOMEM;
    for (size_t k = 0; rc == SP_OK && *draws != NULL && k < np; k++)
        rc = prorate(run, run->plan.draw.amount, days_on(run, k, whole.first, whole.end),
                     (int64_t)whole.period_end - whole.period_first, &(*draws)[k]);
    if (rc == SP_EOVERFLOW)
        rc = spi_fail(ctx, rc, WHAT ": a prorated quota or draw overflows");
    spi_free(ctx, days);
    if (rc != SP_OK) {
        spi_free(ctx, *quotas);
        spi_free(ctx, *draws);
        *quotas = *draws = NULL;
    }
    return rc;
}

static int cmp_paid(const void *a, const void *b)
{
    const spi_cpaid *x = a, *y = b;
    if (x->fact != y->fact)
        return x->fact < y->fact ? -1 : 1;
    if (x->payee != y->payee)
        return x->payee < y->payee ? -1 : 1;
    return x->component < y->component ? -1 : x->component > y->component;
}

int sp_commission_run_set_paid(sp_commission_run *run, const sp_commission_paid *paid, size_t n)
{
    if (run == NULL)
        return SP_EINVAL;
    if (n > 0 && paid == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": paid is NULL");
    for (size_t k = 0; k < n; k++) {
        const sp_commission_paid *e = &paid[k];
        const char *why = e->payee >= run->np                      ? "is no payee of the run"
                          : e->component >= run->plan.ncomponents  ? "has no such component"
                          : e->amount == 0 || e->amount == INT64_MIN ? "has an amount of 0"
                          : (e->amount > 0 ? e->refunded < 0 || e->refunded > e->amount
                                           : e->refunded > 0 || e->refunded < e->amount)
                              ? "has a refunded amount outside 0 .. its amount"
                              : NULL;
        if (why != NULL)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": paid[%zu] (line %llu, payee %u, "
                                                      "component %u) %s", k,
                            (unsigned long long)e->fact, e->payee, e->component, why);
    }
    spi_cpaid *copy = NULL;
    if (n > 0) {
        if ((copy = spi_malloc_array(run->ctx, n, sizeof *copy)) == NULL)
            return SP_ENOMEM;
        memcpy(copy, paid, n * sizeof *copy);
        qsort(copy, n, sizeof *copy, cmp_paid);
        for (size_t k = 1; k < n; k++)
            if (cmp_paid(&copy[k - 1], &copy[k]) == 0) {
                spi_fail(run->ctx, SP_EINVAL, WHAT ": paid: line %llu of payee %u, component %u "
                                                   "is given twice",
                         (unsigned long long)copy[k].fact, copy[k].payee, copy[k].component);
                spi_free(run->ctx, copy);
                return SP_EINVAL;
            }
    }
    clear_results(run);
    spi_free(run->ctx, run->paid);
    run->paid = copy;
    run->npaid = n;
    return SP_OK;
}

int sp_commission_run_set_hierarchy(sp_commission_run *run, const sp_hierarchy *payees)
{
    if (run == NULL)
        return SP_EINVAL;
    sp_hierarchy *copy = NULL;
    if (payees != NULL) {
        if (!payees->valid)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": hierarchy: the payees' hierarchy is "
                                                      "not validated (call "
                                                      "sp_hierarchy_validate after adding "
                                                      "nodes)");
        int rc = spi_hierarchy_copy(run->ctx, payees, &copy);
        if (rc != SP_OK)
            return rc;
    }
    clear_results(run);
    sp_hierarchy_free(run->hierarchy);
    run->hierarchy = copy;
    return SP_OK;
}

/* ---- computing ---- */

/* The payees' ids, copied so that explain names them after the dictionary is gone. */
static int copy_ids(sp_commission_run *run, const sp_dict *dict, char **ids, size_t **id_at)
{
    size_t bytes = 0;
    for (size_t k = 0; k < run->np; k++) {
        const char *id;
        size_t len;
        if (sp_dict_id(dict, run->payees[k], &id, &len) != SP_OK)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": payees[%zu]: %u is no index of the "
                                                      "dictionary", k, run->payees[k]);
        bytes += len + 1;
    }
    *ids = spi_malloc(run->ctx, bytes);
    *id_at = spi_malloc_array(run->ctx, run->np, sizeof **id_at);
    if (*ids == NULL || *id_at == NULL) {
        spi_free(run->ctx, *ids);
        spi_free(run->ctx, *id_at);
        return SP_ENOMEM;
    }
    size_t at = 0;
    for (size_t k = 0; k < run->np; k++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(dict, run->payees[k], &id, &len);
        (*id_at)[k] = at;
        memcpy(*ids + at, id, len + 1);
        at += len + 1;
    }
    return SP_OK;
}

int sp_commission_run_compute(sp_commission_run *run, const sp_fact_source *orders,
                              const sp_fact_source *invoices, const sp_dict *ids,
                              const sp_progress *progress)
{
    if (run == NULL)
        return SP_EINVAL;
    if (orders == NULL || ids == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": %s is NULL",
                        orders == NULL ? "orders" : "ids");
    for (size_t c = 0; c < run->plan.ncomponents; c++) {
        const spi_cplan_component *k = &run->plan.components[c];
        if (k->has_quota && !k->quota.given && !run->from_set[c])
            return spi_fail(run->ctx, SP_EINVAL,
                            WHAT ": components[%zu] (\"%s\").quota.target_set: the quotas of "
                            "target set of plan \"%s\", scenario \"%s\" are not loaded "
                            "(sp_commission_run_load_quotas)", c, k->id, k->quota.plan,
                            k->quota.scenario);
    }
    bool need_quotas = false;
    for (size_t c = 0; c < run->plan.ncomponents; c++)
        need_quotas = need_quotas || run->plan.components[c].schedule.on == SPI_CON_ATTAINMENT;
    if (need_quotas && run->quotas == NULL && run->np > 0)
        for (size_t c = 0; c < run->plan.ncomponents; c++)
            if (run->plan.components[c].schedule.on == SPI_CON_ATTAINMENT)
                return spi_fail(run->ctx, SP_EINVAL,
                                WHAT ": components[%zu] (\"%s\").schedule.on: a schedule on "
                                "attainment needs the payees' quotas "
                                "(sp_commission_run_set_quotas)", c,
                                run->plan.components[c].id);
    for (size_t c = 0; c < run->plan.ncomponents && run->hierarchy == NULL; c++)
        if (run->plan.components[c].nlevels > 0)
            return spi_fail(run->ctx, SP_EINVAL,
                            WHAT ": components[%zu] (\"%s\").crediting.rollup: a roll-up needs "
                            "the payees' hierarchy (sp_commission_run_set_hierarchy)", c,
                            run->plan.components[c].id);
    spi_cengine_input in;
    memset(&in, 0, sizeof in);
    in.plan = &run->plan;
    in.fiscal_year = run->opts.fiscal_year;
    in.period = run->period;
    in.index = run->opts.index;
    in.dict = ids;
    in.npayees = run->np;
    in.payees = run->payees;
    in.quotas = run->quotas;
    in.splits = run->splits;
    in.src = orders;
    in.invoices = invoices;
    in.lookback_from = run->opts.lookback_from;
    in.carry_in = run->carry;
    in.paid = run->paid;
    in.npaid = run->npaid;
    in.adjust = run->adjust;
    in.nadjust = run->nadjust;
    in.unknown = run->opts.unknown;
    in.want_lines = (run->opts.flags & SP_COMMISSION_TOTALS_ONLY) == 0;
    in.hierarchy = run->hierarchy;
    in.assign_first = run->assign_first;
    in.assign_last = run->assign_last;
    int64_t *quotas = NULL, *draws = NULL;
    int rc = prorated(run, &quotas, &draws);
    if (rc != SP_OK)
        return rc;
    if (quotas != NULL)
        in.quotas = quotas;
    in.draw_amounts = draws;
    spi_crun res;
    rc = spi_cengine_run(run->ctx, &in, progress, &res);
    spi_free(run->ctx, draws);
    if (rc != SP_OK) {
        spi_free(run->ctx, quotas);
        return rc;
    }
    size_t nc = res.ncomponents;
    int64_t *totals = spi_calloc(run->ctx, run->np, sizeof *totals);
    char *names = NULL;
    size_t *name_at = NULL;
    if (totals == NULL)
        rc = SP_ENOMEM;
    /* A statement's total: its components' plus the draw's top-up less its recovery (the
     * sum of its lines, which the lines path has summed already). */
    for (size_t k = 0; rc == SP_OK && k < run->np; k++)
        for (size_t c = 0; rc == SP_OK && c <= nc + 1; c++)
            if (__builtin_add_overflow(totals[k],
                                       c < nc        ? res.totals[k * nc + c]
                                       : res.draws == NULL ? 0
                                       : c == nc     ? res.draws[k].paid
                                                     : -res.draws[k].recovered,
                                       &totals[k])) {
                const char *id = "?";
                size_t len;
                (void)sp_dict_id(ids, run->payees[k], &id, &len);
                rc = spi_fail(run->ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the total overflows",
                              id);
            }
    if (rc == SP_OK)
        rc = copy_ids(run, ids, &names, &name_at);
    if (rc != SP_OK) {
        spi_free(run->ctx, totals);
        spi_free(run->ctx, quotas);
        spi_crun_free(run->ctx, &res);
        return rc;
    }
    clear_results(run);
    run->res = res;
    run->totals = totals;
    run->ids = names;
    run->id_at = name_at;
    run->used_quotas = quotas;
    run->computed = true;
    return SP_OK;
}

/* ---- results ---- */

int sp_commission_run_get_info(const sp_commission_run *run, sp_commission_run_info *info)
{
    if (run == NULL)
        return SP_EINVAL;
    if (info == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": info is NULL");
    sp_commission_run_info i;
    memset(&i, 0, sizeof i);
    i.computed = run->computed;
    i.npayees = run->np;
    i.ncomponents = run->plan.ncomponents;
    if (run->computed) {
        const spi_crun *r = &run->res;
        i.nlines = r->nlines;
        i.first_day = INT32_MAX;
        i.end_day = INT32_MIN;
        for (size_t c = 0; c < r->ncomponents; c++)
            if (r->due[c]) {
                i.first_day = r->first[c] < i.first_day ? r->first[c] : i.first_day;
                i.end_day = r->end[c] > i.end_day ? r->end[c] : i.end_day;
            }
        if (i.first_day > i.end_day)
            i.first_day = i.end_day = 0;
        i.lines_read = r->report.lines_read;
        i.refunds_read = r->report.refunds_read;
        i.payments_read = r->report.payments_read;
        i.clawbacks = r->report.clawbacks;
        i.clawbacks_expired = r->report.clawbacks_expired;
        i.refunds_not_clawed = r->report.refunds_not_clawed;
        i.not_assigned = r->report.not_assigned;
        i.not_payee = r->report.not_payee;
        i.totals_path = r->report.totals_path;
        i.overrides_not_payee = r->report.overrides_not_payee;
    }
    return spi_info_out(run->ctx, "sp_commission_run_info", info, &i, run_info_sizes,
                        SP_COMMISSION_RUN_INFO_VERSION);
}

static int check_payee(const sp_commission_run *run, size_t k)
{
    if (!run->computed)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": not computed yet "
                                                  "(sp_commission_run_compute)");
    if (k >= run->np)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": payee %zu: the run has %zu", k, run->np);
    return SP_OK;
}

int sp_commission_run_statement(const sp_commission_run *run, size_t k,
                                sp_commission_statement *st)
{
    if (run == NULL)
        return SP_EINVAL;
    if (st == NULL)
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": statement is NULL");
    int rc = check_payee(run, k);
    if (rc != SP_OK)
        return rc;
    const spi_crun *r = &run->res;
    size_t nc = r->ncomponents;
    sp_commission_statement s;
    memset(&s, 0, sizeof s);
    s.payee = run->payees[k];
    s.total = run->totals[k];
    s.ncomponents = nc;
    s.components = r->totals + k * nc;
    s.measures = r->measure + k * nc;
    s.quotas = run->used_quotas != NULL ? run->used_quotas + k * nc : NULL;
    if (r->statements != NULL) {
        s.nlines = r->statements[k].nlines;
        s.lines = s.nlines > 0 ? (const sp_commission_line *)(r->lines + r->statements[k].first)
                               : NULL;
    }
    s.rounding = run->plan.rounding_mode;
    s.policy = run->plan.policy;
    if (r->draws != NULL) { /* a plan with a draw */
        s.draw_paid = r->draws[k].paid;
        s.draw_recovered = r->draws[k].recovered;
        s.draw_forgiven = r->draws[k].forgiven;
        s.draw_balance = r->draws[k].balance;
    }
    s.carry = r->carry + k * SPI_CCARRY_WIDTH(nc);
    return spi_info_out(run->ctx, "sp_commission_statement", st, &s, statement_sizes,
                        SP_COMMISSION_STATEMENT_VERSION);
}

/* ---- explain ---- */


static bool is_money(uint32_t measure)
{
    return measure == SPI_CMEASURE_AMOUNT || measure == SPI_CMEASURE_MARGIN;
}

/* A value of component c's measure: major units of money, or a count. */
static void write_measure(spi_writer *w, const spi_cplan *plan, size_t c, const char *key,
                          int64_t v)
{
    spi_writer_key(w, key);
    if (is_money(plan->components[c].measure))
        spi_writer_fixed(w, v, plan->exponent);
    else
        spi_writer_int(w, v);
}

static void write_money(spi_writer *w, const spi_cplan *plan, const char *key, int64_t v)
{
    spi_writer_key(w, key);
    spi_writer_fixed(w, v, plan->exponent);
}

/* A document path: components[c], then ".<member>" and "[j]" when member is not NULL. */
static void write_path(spi_writer *w, const char *key, size_t c, const char *member, size_t j)
{
    char path[96];
    if (member == NULL)
        snprintf(path, sizeof path, "components[%zu]", c);
    else if (j == SIZE_MAX)
        snprintf(path, sizeof path, "components[%zu].%s", c, member);
    else
        snprintf(path, sizeof path, "components[%zu].%s[%zu]", c, member, j);
    spi_writer_key(w, key);
    spi_writer_cstr(w, path);
}

static void write_tier(spi_writer *w, const spi_cplan *plan, size_t c, const char *key,
                       size_t t)
{
    const spi_cplan_schedule *s = &plan->components[c].schedule;
    spi_writer_key(w, key);
    spi_writer_begin_object(w);
    spi_writer_member_int(w, "index", (int64_t)t);
    if (t < s->ntiers)
        write_path(w, "path", c, "schedule.tiers", t);
    spi_writer_end_object(w);
}

static void write_head(spi_writer *w, const sp_commission_run *run, size_t k)
{
    const spi_cplan *plan = &run->plan;
    spi_writer_begin_object(w);
    spi_writer_member_string(w, "plan", plan->plan, strlen(plan->plan));
    spi_writer_member_int(w, "revision", run->revision);
    spi_writer_member_string(w, "payee", run->ids + run->id_at[k], strlen(run->ids + run->id_at[k]));
    spi_writer_member_string(w, "currency", plan->currency, strlen(plan->currency));
    spi_writer_key(w, "rounding");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "mode", spi_cplan_round_names, 7, plan->rounding_mode);
    spi_writer_member_enum(w, "policy", spi_cplan_policy_names, 2, plan->policy);
    spi_writer_end_object(w);
}

/* The SPIFF a SPIFF line was paid by: the first of its component's whose amount is the
 * line's rate and whose days hold the line's (SIZE_MAX: none found). */
static size_t spiff_of_line(const spi_cplan *plan, const spi_cline *l)
{
    const spi_cplan_component *c = &plan->components[l->component];
    for (size_t j = 0; j < c->nspiffs; j++) {
        const spi_cplan_spiff *f = &c->spiffs[j];
        int32_t from = f->from == SPI_CPLAN_NO_DAY ? plan->from : f->from;
        int32_t to = f->to == SPI_CPLAN_NO_DAY ? (plan->to == SPI_CPLAN_NO_DAY ? INT32_MAX : plan->to)
                                                : f->to;
        if (f->amount == l->rate && l->day >= from && l->day <= to)
            return j;
    }
    return SIZE_MAX;
}

/* A line through a component's schedule (not a SPIFF's, not the settlement's). */
static bool schedule_line(const spi_cline *l)
{
    return (l->kind & 1u) == 0 && l->kind < SPI_CLINE_CAP_RELEASE;
}

/* The settlement's lines (draw.h): a cap's (its component's) or the draw's. */
static void explain_settlement(spi_writer *w, const sp_commission_run *run, size_t k,
                               size_t line, const spi_cline *l)
{
    const spi_cplan *plan = &run->plan;
    write_head(w, run, k);
    spi_writer_member_int(w, "line", (int64_t)line);
    bool draw = l->component == SPI_CLINE_NO_COMPONENT;
    if (!draw) {
        const spi_cplan_component *comp = &plan->components[l->component];
        spi_writer_member_string(w, "component", comp->id, strlen(comp->id));
        write_path(w, "path", l->component, NULL, 0);
    }
    spi_writer_member_enum(w, "kind", spi_cline_kind_names, SPI_CLINE_KINDS, l->kind);
    char day[16];
    spi_writer_member_string(w, "day", spi_day_text(l->day, day), 10);
    if (draw) {
        spi_writer_member_cstr_or_null(w, "rule", "draw");
        write_money(w, plan, "draw", l->rate);
    } else {
        write_path(w, "rule", l->component, "cap", SIZE_MAX);
        write_money(w, plan, "cap", l->rate);
    }
    write_money(w, plan, "base", l->base);
    write_money(w, plan, "earned", l->earned);
    spi_writer_end_object(w);
}

/* What every explained line of a component starts with: the run's head, the line, its
 * component and path, its kind, fact and day. */
static void write_line_head(spi_writer *w, const sp_commission_run *run, size_t k, size_t line,
                            const spi_cline *l)
{
    const spi_cplan_component *comp = &run->plan.components[l->component];
    write_head(w, run, k);
    spi_writer_member_int(w, "line", (int64_t)line);
    spi_writer_member_string(w, "component", comp->id, strlen(comp->id));
    write_path(w, "path", l->component, NULL, 0);
    spi_writer_member_enum(w, "kind", spi_cline_kind_names, SPI_CLINE_KINDS, l->kind);
    spi_writer_member_int(w, "fact", (int64_t)l->fact);
    char day[16];
    spi_writer_member_string(w, "day", spi_day_text(l->day, day), 10);
}

/* A manual adjustment: its id, its reason, its amount. */
static void explain_adjustment(spi_writer *w, const sp_commission_run *run, size_t k,
                               size_t line, const spi_cline *l)
{
    const char *reason = sp_commission_run_adjustment_reason(run, k, l->fact);
    write_line_head(w, run, k, line, l);
    spi_writer_member_cstr_or_null(w, "reason", reason);
    write_money(w, &run->plan, "earned", l->earned);
    spi_writer_end_object(w);
}

/* A clawback: the refund, the line it reverses (its paid entry) and the rule. */
static void explain_clawback(spi_writer *w, const sp_commission_run *run, size_t k, size_t line,
                             const spi_cline *l)
{
    const spi_cplan *plan = &run->plan;
    const spi_cplan_component *comp = &plan->components[l->component];
    write_line_head(w, run, k, line, l);
    write_path(w, "rule", l->component, "clawback", SIZE_MAX);
    spi_writer_member_int(w, "window_days", comp->window_days);
    spi_writer_member_cstr_or_null(w, "limit", comp->limit == SPI_CLIMIT_PAID ? "paid" : "none");
    write_measure(w, plan, l->component, "base", l->base);
    spi_writer_member_dec(w, "rate", l->rate);
    write_money(w, plan, "earned", l->earned);
    spi_writer_end_object(w);
}

/*
 * An override: the level's rule (its path by the level's name), the payee it came
 * through and the kind of that payee's line, the base, the rate, the threshold with the
 * manager's team measure and quota, held or not.
 */
static void explain_override(spi_writer *w, const sp_commission_run *run, size_t k,
                             size_t line, const spi_cline *l)
{
    const spi_crun *r = &run->res;
    const spi_cplan *plan = &run->plan;
    size_t c = l->component, nc = plan->ncomponents;
    const spi_cplan_component *comp = &plan->components[c];
    const sp_hierarchy *h = run->hierarchy; /* the one computed with: setting it clears */
    const char *name = l->tier_before < h->nlevels ? h->levels[l->tier_before] : "";
    const spi_cplan_level *lv = NULL;
    for (size_t i = 0; i < comp->nlevels && lv == NULL; i++)
        if (strcmp(comp->levels[i].name, name) == 0)
            lv = &comp->levels[i];
    /* The via payee's own line of the fact: what kind of line the override is on. */
    const spi_cstatement *vs = &r->statements[l->share];
    uint8_t source = SPI_CLINE_ORDER;
    for (size_t i = vs->first; i < vs->first + vs->nlines; i++) {
        const spi_cline *v = &r->lines[i];
        if (v->component == c && v->fact == l->fact && v->day == l->day &&
            schedule_line(v)) {
            source = v->kind;
            break;
        }
    }
    write_line_head(w, run, k, line, l);
    char rule[SPI_CPLAN_ID_MAX + 96];
    snprintf(rule, sizeof rule, "components[%zu].crediting.rollup.levels.%s", c, name);
    spi_writer_member_cstr_or_null(w, "rule", rule);
    spi_writer_member_cstr_or_null(w, "level", name);
    spi_writer_member_cstr_or_null(w, "via", run->ids + run->id_at[l->share]);
    spi_writer_member_enum(w, "source", spi_cline_kind_names, SPI_CLINE_KINDS,
                           source);
    spi_writer_member_enum(w, "measure", spi_cplan_measure_names, 5, comp->measure);
    bool earnings = lv != NULL && lv->on == SPI_CRON_EARNINGS;
    spi_writer_member_cstr_or_null(w, "on", earnings ? "earnings" : "measure");
    spi_writer_member_cstr_or_null(w, "count", comp->count == SPI_CCOUNT_EVERY_PATH
                                                   ? "every_path"
                                                   : "once_per_payee");
    if (earnings)
        write_money(w, plan, "base", l->base);
    else
        write_measure(w, plan, c, "base", l->base);
    if (lv != NULL && lv->above > 0)
        write_money(w, plan, "above", lv->above);
    spi_writer_member_dec(w, "rate", l->rate);
    if (lv != NULL && lv->threshold >= 0) {
        spi_writer_member_dec(w, "threshold", lv->threshold);
        write_measure(w, plan, c, "team_measure", r->team[k * nc + c]);
        write_measure(w, plan, c, "quota", run->used_quotas[k * nc + c]);
    }
    spi_writer_member_bool(w, "held", l->tier_after != 0);
    write_money(w, plan, "earned", l->earned);
    spi_writer_end_object(w);
}

static void explain_line(spi_writer *w, const sp_commission_run *run, size_t k, size_t line)
{
    const spi_crun *r = &run->res;
    const spi_cplan *plan = &run->plan;
    const spi_cline *first = r->lines + r->statements[k].first, *l = first + line;
    if (l->kind == SPI_CLINE_ADJUSTMENT) {
        explain_adjustment(w, run, k, line, l);
        return;
    }
    if (l->kind == SPI_CLINE_CLAWBACK) {
        explain_clawback(w, run, k, line, l);
        return;
    }
    if (l->kind == SPI_CLINE_OVERRIDE) {
        explain_override(w, run, k, line, l);
        return;
    }
    if (l->kind >= SPI_CLINE_CAP_RELEASE) {
        explain_settlement(w, run, k, line, l);
        return;
    }
    size_t c = l->component;
    const spi_cplan_component *comp = &plan->components[c];
    bool spiff = (l->kind & 1u) != 0;
    /* The measure before the line: the bases of the component's earlier non-SPIFF lines
     * (the lines are in the engine's order), or 0 for a schedule measured per line. */
    int64_t before = 0;
    if (comp->schedule.accumulate == SPI_CACCUM_PERIOD)
        for (const spi_cline *e = first; e < l; e++)
            if (e->component == c && schedule_line(e))
                before += e->base; /* the run summed these partial sums, checked */
    write_line_head(w, run, k, line, l);
    spi_writer_member_dec(w, "share", (sp_dec)l->share);
    spi_writer_member_enum(w, "measure", spi_cplan_measure_names, 5, comp->measure);
    if (spiff) {
        size_t j = spiff_of_line(plan, l);
        if (j != SIZE_MAX)
            write_path(w, "rule", c, "spiffs", j);
        spi_writer_member_int(w, "units", l->base);
        write_money(w, plan, "amount_each", l->rate);
    } else {
        write_path(w, "rule", c, "schedule", SIZE_MAX);
        spi_writer_member_enum(w, "schedule", spi_cplan_sched_names, 6, comp->schedule.kind);
        write_measure(w, plan, c, "base", l->base);
        write_measure(w, plan, c, "measure_before", before);
        write_measure(w, plan, c, "measure_after", before + l->base);
        if (comp->schedule.on == SPI_CON_ATTAINMENT && run->used_quotas != NULL)
            write_measure(w, plan, c, "quota", run->used_quotas[k * plan->ncomponents + c]);
        write_tier(w, plan, c, "tier_before", l->tier_before);
        write_tier(w, plan, c, "tier_after", l->tier_after);
        spi_writer_member_dec(w, "rate", l->rate);
    }
    write_money(w, plan, "earned", l->earned);
    write_money(w, plan, "own", l->own);
    write_money(w, plan, "true_up", l->true_up);
    /* what the gate, accelerators, cap and bonuses made of it */
    write_money(w, plan, "modifiers", l->earned - l->own - l->true_up);
    spi_writer_end_object(w);
}

static void explain_total(spi_writer *w, const sp_commission_run *run, size_t k)
{
    const spi_crun *r = &run->res;
    const spi_cplan *plan = &run->plan;
    size_t nc = r->ncomponents;
    write_head(w, run, k);
    write_money(w, plan, "total", run->totals[k]);
    spi_writer_key(w, "components");
    spi_writer_begin_array(w);
    for (size_t c = 0; c < nc; c++) {
        const spi_cplan_component *comp = &plan->components[c];
        spi_writer_begin_object(w);
        spi_writer_member_string(w, "id", comp->id, strlen(comp->id));
        write_path(w, "path", c, NULL, 0);
        spi_writer_member_bool(w, "due", r->due[c]);
        if (r->due[c]) {
            char day[16];
            spi_writer_member_string(w, "from", spi_day_text(r->first[c], day), 10);
            spi_writer_member_string(w, "to", spi_day_text(r->end[c] - 1, day), 10);
        }
        write_measure(w, plan, c, "measure", r->measure[k * nc + c]);
        if (comp->schedule.on == SPI_CON_ATTAINMENT && run->used_quotas != NULL)
            write_measure(w, plan, c, "quota", run->used_quotas[k * nc + c]);
        if (r->statements != NULL) {
            size_t n = r->statements[k].nlines, lines = 0, last = SIZE_MAX;
            const spi_cline *l = n > 0 ? r->lines + r->statements[k].first : NULL;
            for (size_t i = 0; i < n; i++)
                if (l[i].component == c) {
                    lines++;
                    if (schedule_line(&l[i]))
                        last = i;
                }
            spi_writer_member_int(w, "lines", (int64_t)lines);
            if (last != SIZE_MAX && comp->schedule.accumulate == SPI_CACCUM_PERIOD)
                write_tier(w, plan, c, "tier", l[last].tier_after);
        }
        write_money(w, plan, "earned", r->totals[k * nc + c]);
        if (comp->nlevels > 0 && r->team != NULL && r->due[c]) {
            write_measure(w, plan, c, "team_measure", r->team[k * nc + c]);
            write_money(w, plan, "overrides", r->overrides[k * nc + c]);
        }
        if (comp->cap > 0) {
            const spi_ccap_out *cap = &r->caps[k * nc + c];
            spi_writer_key(w, "cap");
            spi_writer_begin_object(w);
            write_money(w, plan, "room", cap->room);
            write_money(w, plan, "excess", cap->excess);
            write_money(w, plan, "released", cap->released);
            write_money(w, plan, "carried", r->carry[k * SPI_CCARRY_WIDTH(nc) + SPI_CCARRY_CAP(c)]);
            spi_writer_end_object(w);
        }
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
    if (plan->draw.kind != SPI_CDRAW_NONE) {
        const spi_cdraw_out *d = &r->draws[k];
        spi_writer_key(w, "draw");
        spi_writer_begin_object(w);
        write_money(w, plan, "earned", d->earned);
        write_money(w, plan, "paid", d->paid);
        write_money(w, plan, "recovered", d->recovered);
        write_money(w, plan, "forgiven", d->forgiven);
        write_money(w, plan, "balance", d->balance);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);
}

int sp_commission_run_explain(const sp_commission_run *run, size_t k, size_t line, char *buf,
                              size_t cap, size_t *len)
{
    if (run == NULL)
        return SP_EINVAL;
    if (len == NULL || (buf == NULL && cap > 0))
        return spi_fail(run->ctx, SP_EINVAL, WHAT ": explain: %s is NULL",
                        len == NULL ? "len" : "buf");
    int rc = check_payee(run, k);
    if (rc != SP_OK)
        return rc;
    const spi_crun *r = &run->res;
    if (line != SIZE_MAX) {
        if (r->statements == NULL)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": explain: the run kept totals only "
                                                      "(compute it without "
                                                      "SP_COMMISSION_TOTALS_ONLY to explain "
                                                      "lines)");
        if (line >= r->statements[k].nlines)
            return spi_fail(run->ctx, SP_EINVAL, WHAT ": explain: payee \"%s\" has %zu lines, "
                                                      "not %zu", run->ids + run->id_at[k],
                            r->statements[k].nlines, line + 1);
    }
    spi_writer w;
    spi_writer_init(&w, run->ctx);
    if (line == SIZE_MAX)
        explain_total(&w, run, k);
    else
        explain_line(&w, run, k, line);
    uint8_t *bytes = NULL;
    size_t n = 0;
    if ((rc = spi_writer_finish(&w, &bytes, &n)) != SP_OK)
        return rc;
    if (cap <= n) {
        spi_free(run->ctx, bytes);
        *len = n;
        return spi_fail(run->ctx, SP_EBUFFER, WHAT ": explain: a buffer of %zu bytes is too "
                                                  "small: the text needs %zu with its NUL",
                        cap, n + 1);
    }
    memcpy(buf, bytes, n);
    buf[n] = '\0';
    *len = n;
    spi_free(run->ctx, bytes);
    return SP_OK;
}
