/*
 * Commission plan documents (docs/commission.md, "Plan documents"): read strictly with the
 * record reader, as target settings are (every error names its path, line and column;
 * unknown members get a "did you mean"; members that do not apply to their kind are
 * errors; enumerations by name), validated as far as a document alone can show, and
 * written back in canonical form: members in schema order, maps and id lists in ascending
 * byte order, amounts in major units, rates and attainments as decimals, dates as
 * YYYY-MM-DD.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../core/internal.h"
#include "../record/record.h"
#include "plan_doc.h"
#include "plugin.h"

const char *const spi_cplan_measure_names[] = { "amount", "quantity", "margin", "lines", "deals" };
static const char *const basis_names[] = { "booking", "invoice", "payment" };
static const char *const filter_names[] = { "product", "customer", "grid", "channel" };
const char *const spi_cplan_period_names[] = { "month", "quarter", "year" };
const char *const spi_cplan_sched_names[] = { "flat", "marginal", "retroactive", "interpolated",
                                           "table", "plugin" };
static const char *const on_names[] = { "measure", "attainment" };
static const char *const boundary_names[] = { "lower", "upper" };
static const char *const accumulate_names[] = { "period", "line" };
static const char *const value_names[] = { "rate", "per_unit", "amount" };
const char *const spi_cplan_policy_names[] = { "per_total", "per_line" };
static const char *const splits_names[] = { "none", "facts" };
static const char *const count_names[] = { "once_per_payee", "every_path" };
static const char *const override_on_names[] = { "measure", "earnings" };
static const char *const limit_names[] = { "paid", "none" };
static const char *const draw_names[] = { "none", "non_recoverable", "recoverable" };
static const char *const gap_names[] = { "refused", "allowed" };
/* sp_round_mode, by value. */
const char *const spi_cplan_round_names[] = { "half_even", "half_up", "half_down", "up",
                                           "down",      "ceiling", "floor" };
/* sp_calendar_preset - 1. */
static const char *const preset_names[] = { "civil",       "nrf_454",   "retail_445",
                                            "retail_544",  "april_start", "april_end",
                                            "july_end",    "october_end" };
/* sp_calendar_kind; sp_fiscal_label and sp_year_end_rule from 1 (0: not set). */
static const char *const cal_kind_names[] = { "months", "retail_445", "retail_454",
                                              "retail_544" };
static const char *const label_names[] = { "end", "start" };
static const char *const year_end_names[] = { "last", "nearest" };
/* ISO weekdays 1..7. */
static const char *const weekday_names[] = { "monday", "tuesday",  "wednesday", "thursday",
                                             "friday", "saturday", "sunday" };

#define WINDOW_DAYS_MAX 36600u
#define MULTIPLIER_MAX ((sp_dec)1000 * SP_DEC_ONE)

/* ---- freeing ---- */

static void free_ids(sp_ctx *ctx, char **ids, size_t n)
{
    for (size_t i = 0; ids != NULL && i < n; i++)
        spi_free(ctx, ids[i]);
    spi_free(ctx, ids);
}

static void free_component(sp_ctx *ctx, spi_cplan_component *c)
{
    spi_free(ctx, c->id);
    for (int k = 0; k < SPI_CFILTER_LISTS; k++)
        free_ids(ctx, c->filter.ids[k], c->filter.nids[k]);
    spi_free(ctx, c->schedule.tiers);
    const spi_ckind *kind = c->schedule.plugin;
    if (kind != NULL && c->schedule.state != NULL && kind->k.release != NULL)
        kind->k.release(kind->k.user, c->schedule.state);
    spi_free(ctx, c->schedule.params);
    spi_free(ctx, c->quota.plan);
    spi_free(ctx, c->quota.scenario);
    spi_free(ctx, c->accels);
    spi_free(ctx, c->bonuses);
    for (size_t i = 0; c->spiffs != NULL && i < c->nspiffs; i++)
        spi_free(ctx, c->spiffs[i].product);
    spi_free(ctx, c->spiffs);
    for (size_t i = 0; c->levels != NULL && i < c->nlevels; i++)
        spi_free(ctx, c->levels[i].name);
    spi_free(ctx, c->levels);
}

void spi_cplan_free(sp_ctx *ctx, spi_cplan *p)
{
    if (p == NULL)
        return;
    spi_free(ctx, p->plan);
    spi_free(ctx, p->name);
    spi_free(ctx, p->calendar.ranges);
    for (size_t i = 0; p->components != NULL && i < p->ncomponents; i++)
        free_component(ctx, &p->components[i]);
    spi_free(ctx, p->components);
    memset(p, 0, sizeof *p);
}

/* ---- reading: helpers ---- */

typedef struct reader {
    sp_ctx *ctx;
    const spi_rdoc *doc;
    spi_cplan *p;
} reader;

static const spi_rnode *member(reader *r, const spi_rnode *obj, const char *key)
{
    return spi_rnode_member(r->doc, obj, key);
}

/* A member that does not apply: an error when present. */
static int refuse(reader *r, const spi_rnode *obj, const char *key, const char *why)
{
    const spi_rnode *v = member(r, obj, key);
    return v == NULL ? SP_OK : spi_rec_fail(r->doc, v, "'%s' %s", key, why);
}

/* An id: a string of 1 to SPI_CPLAN_ID_MAX bytes without U+0000, copied. */
static int read_id(reader *r, const spi_rnode *obj, const char *key, char **out)
{
    const char *s;
    size_t len;
    int rc = spi_rec_string(r->doc, obj, key, SPI_REC_NO_NUL, &s, &len);
    if (rc != SP_OK)
        return rc;
    if (len == 0 || len > SPI_CPLAN_ID_MAX)
        return spi_rec_fail(r->doc, key != NULL ? member(r, obj, key) : obj,
                            "an id has 1 to %u bytes", SPI_CPLAN_ID_MAX);
    return spi_rec_strdup(r->doc, obj, key, 0, out);
}

static void day_text(int32_t day, char *buf, size_t cap)
{
    int32_t y = 0, m = 0, d = 0;
    (void)sp_calendar_civil_from_day(day, &y, &m, &d);
    snprintf(buf, cap, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

/* A date "YYYY-MM-DD" (years 1 to 9999); *out keeps its value when optional and absent. */
static int read_day(reader *r, const spi_rnode *obj, const char *key, uint32_t flags,
                    int32_t *out)
{
    const char *s;
    size_t len;
    const spi_rnode *v = NULL;
    int rc = spi_rec_get(r->doc, obj, key, flags, &v);
    if (rc != SP_OK || v == NULL)
        return rc;
    if ((rc = spi_rec_string(r->doc, v, NULL, 0, &s, &len)) != SP_OK)
        return rc;
    bool shape = len == 10 && s[4] == '-' && s[7] == '-';
    for (size_t i = 0; shape && i < 10; i++)
        shape = i == 4 || i == 7 || (s[i] >= '0' && s[i] <= '9');
    if (!shape)
        return spi_rec_fail(r->doc, v, "expected a date like '2027-01-31' (YYYY-MM-DD)");
    int32_t y = (int32_t)((s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
                          (s[3] - '0'));
    int32_t m = (int32_t)((s[5] - '0') * 10 + (s[6] - '0'));
    int32_t d = (int32_t)((s[8] - '0') * 10 + (s[9] - '0'));
    int32_t day;
    if (sp_calendar_day_from_civil(y, m, d, &day) != SP_OK)
        return spi_rec_fail(r->doc, v, "'%.10s' is not a date", s);
    *out = day;
    return SP_OK;
}

/* A day inside the version's effective range. */
static int check_inside(reader *r, const spi_rnode *obj, const char *key, int32_t day)
{
    const spi_cplan *p = r->p;
    if (day == SPI_CPLAN_NO_DAY ||
        (day >= p->from && (p->to == SPI_CPLAN_NO_DAY || day <= p->to)))
        return SP_OK;
    char a[24], b[24], c[24] = "";
    day_text(day, a, sizeof a);
    day_text(p->from, b, sizeof b);
    if (p->to != SPI_CPLAN_NO_DAY)
        day_text(p->to, c, sizeof c);
    return spi_rec_fail(r->doc, member(r, obj, key),
                        "%s is outside the version's effective range %s .. %s", a, b,
                        p->to != SPI_CPLAN_NO_DAY ? c : "(open)");
}

/* from .. to of obj, both optional, inside the effective range, from <= to. */
static int read_range(reader *r, const spi_rnode *obj, int32_t *from, int32_t *to)
{
    *from = *to = SPI_CPLAN_NO_DAY;
    int rc;
    if ((rc = read_day(r, obj, "from", SPI_REC_OPTIONAL, from)) != SP_OK ||
        (rc = read_day(r, obj, "to", SPI_REC_OPTIONAL, to)) != SP_OK ||
        (rc = check_inside(r, obj, "from", *from)) != SP_OK ||
        (rc = check_inside(r, obj, "to", *to)) != SP_OK)
        return rc;
    if (*from != SPI_CPLAN_NO_DAY && *to != SPI_CPLAN_NO_DAY && *to < *from)
        return spi_rec_fail(r->doc, member(r, obj, "to"), "'to' is before 'from'");
    return SP_OK;
}

/* Money in major units, at least `min` minor units. */
static int read_money(reader *r, const spi_rnode *obj, const char *key, uint32_t flags,
                      int64_t min, int64_t *out)
{
    if (key != NULL && (flags & SPI_REC_OPTIONAL) && member(r, obj, key) == NULL)
        return SP_OK;
    int64_t v = *out;
    int rc = spi_rec_money_major(r->doc, obj, key, flags, r->p->exponent, &v);
    if (rc != SP_OK)
        return rc;
    if (v < min)
        return spi_rec_fail(r->doc, key != NULL ? member(r, obj, key) : obj,
                            min > 0 ? "an amount above 0 is due" : "an amount is not negative");
    *out = v;
    return SP_OK;
}

static bool money_measure(uint32_t measure)
{
    return measure == SPI_CMEASURE_AMOUNT || measure == SPI_CMEASURE_MARGIN;
}

/* A threshold in the units of the schedule's `on` (plan_doc.h), at least `min`. */
static int read_threshold(reader *r, const spi_cplan_component *c, const spi_rnode *obj,
                          const char *key, uint32_t flags, int64_t min, int64_t *out)
{
    if (key != NULL && (flags & SPI_REC_OPTIONAL) && member(r, obj, key) == NULL)
        return SP_OK;
    int rc;
    int64_t v = *out;
    if (c->schedule.on == SPI_CON_ATTAINMENT)
        rc = spi_rec_dec(r->doc, obj, key, flags | SPI_REC_PERCENT, 0, INT64_MAX, &v);
    else if (money_measure(c->measure))
        rc = spi_rec_money_major(r->doc, obj, key, flags, r->p->exponent, &v);
    else
        rc = spi_rec_int(r->doc, obj, key, flags, 0, INT64_MAX, &v);
    if (rc != SP_OK)
        return rc;
    if (v < min)
        return spi_rec_fail(r->doc, key != NULL ? member(r, obj, key) : obj,
                            min > 0 ? "a threshold above 0 is due" : "a threshold is not "
                                                                       "negative");
    *out = v;
    return SP_OK;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- reading: the parts ---- */

static int read_filter(reader *r, const spi_rnode *obj, spi_cplan_filter *f)
{
    static const char *const known[] = { "product", "customer", "grid", "channel", "from",
                                         "to" };
    int rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known));
    if (rc != SP_OK)
        return rc;
    for (int k = 0; k < SPI_CFILTER_LISTS; k++) {
        const spi_rnode *arr = NULL;
        size_t n = 0;
        if ((rc = spi_rec_array(r->doc, obj, filter_names[k], SPI_REC_OPTIONAL, &arr, &n)) !=
                SP_OK)
            return rc;
        if (arr == NULL)
            continue;
        if (n == 0)
            return spi_rec_fail(r->doc, arr, "an empty list selects nothing (leave '%s' out to "
                                             "select every %s)", filter_names[k], filter_names[k]);
        if ((f->ids[k] = spi_calloc(r->ctx, n, sizeof *f->ids[k])) == NULL)
            return SP_ENOMEM;
        f->nids[k] = n;
        for (size_t i = 0; i < n; i++) {
            const spi_rnode *e = spi_rnode_at(r->doc, arr, i);
            if ((rc = read_id(r, e, NULL, &f->ids[k][i])) != SP_OK)
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(f->ids[k][j], f->ids[k][i]) == 0)
                    return spi_rec_fail(r->doc, e, "'%s' is already in %s[%zu]", f->ids[k][i],
                                        filter_names[k], j);
        }
        qsort(f->ids[k], n, sizeof *f->ids[k], compare_str);
    }
    return read_range(r, obj, &f->from, &f->to);
}

static int read_measure(reader *r, const spi_rnode *obj, spi_cplan_component *c)
{
    static const char *const known[] = { "kind", "basis", "filter" };
    const spi_rnode *filter = NULL;
    int rc;
    c->filter.from = c->filter.to = SPI_CPLAN_NO_DAY;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "kind", 0, spi_cplan_measure_names, SPI_ARRAY_LEN(spi_cplan_measure_names),
                           &c->measure)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "basis", SPI_REC_OPTIONAL, basis_names,
                           SPI_ARRAY_LEN(basis_names), &c->basis)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "filter", SPI_REC_OPTIONAL, &filter)) != SP_OK)
        return rc;
    return filter != NULL ? read_filter(r, filter, &c->filter) : SP_OK;
}

/* A plug-in kind's schedule: "name" a kind registered on the context, "params" any JSON
 * value, which the kind's prepare reads (its failure names the params' path). */
static int read_plugin(reader *r, const spi_rnode *obj, spi_cplan_schedule *s)
{
    static const char *const known[] = { "kind", "on", "boundary", "accumulate", "name", "params" };
    static const char *const tiered[] = { "tiers", "decreasing", "high_rates" };
    int rc;
    const spi_rnode *name;
    for (size_t i = 0; i < SPI_ARRAY_LEN(tiered); i++)
        if ((rc = refuse(r, obj, tiered[i], "does not apply to kind 'plugin' (its function "
                                            "gives the payout)")) != SP_OK)
            return rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_get(r->doc, obj, "name", 0, &name)) != SP_OK)
        return rc;
    size_t len = 0;
    const char *text = spi_rnode_type(name) == SPI_RSTRING ? spi_rnode_text(r->doc, name, &len)
                                                           : NULL;
    if (text == NULL)
        return spi_rec_fail(r->doc, name, "expected the name of a plug-in kind (a string)");
    if ((s->plugin = spi_ckind_find(r->ctx, text, len)) == NULL)
        return spi_rec_fail(r->doc, name, "no plug-in kind '%.*s' is registered on this context",
                            (int)(len > SPI_CPLAN_ID_MAX ? SPI_CPLAN_ID_MAX : len), text);
    const spi_rnode *params = member(r, obj, "params");
    uint8_t *bytes = NULL;
    size_t n = 4;
    if (params != NULL) {
        spi_writer w;
        spi_writer_init(&w, r->ctx);
        spi_writer_copy(&w, r->doc, params);
        if ((rc = spi_writer_finish(&w, &bytes, &n)) != SP_OK)
            return rc;
    }
    if ((s->params = spi_malloc(r->ctx, n + 1)) == NULL) {
        spi_free(r->ctx, bytes);
        return SP_ENOMEM;
    }
    memcpy(s->params, bytes != NULL ? (const char *)bytes : "null", n);
    s->params[n] = '\0';
    s->params_len = n;
    spi_free(r->ctx, bytes);
    void *state = NULL;
    int host = s->plugin->k.prepare(s->plugin->k.user, s->params, n, &state);
    if (host != 0) {
        const char *msg = s->plugin->k.errmsg != NULL ? s->plugin->k.errmsg(s->plugin->k.user)
                                                      : NULL;
        /* Bad input, whatever the host's code: the document is refused. */
        return spi_rec_fail(r->doc, params != NULL ? params : name,
                            "the plug-in kind '%s' refuses its params (code %d%s%s)",
                            s->plugin->name, host, msg != NULL ? ": " : "",
                            msg != NULL ? msg : "");
    }
    s->state = state;
    s->value = SPI_CVALUE_AMOUNT;
    return SP_OK;
}

static int read_schedule(reader *r, const spi_rnode *obj, spi_cplan_component *c)
{
    static const char *const known[] = { "kind",       "on",   "boundary", "accumulate",
                                         "decreasing", "high_rates", "tiers" };
    spi_cplan_schedule *s = &c->schedule;
    const spi_rnode *arr;
    size_t n;
    int rc;
    if ((rc = spi_rec_enum(r->doc, obj, "kind", 0, spi_cplan_sched_names,
                           SPI_ARRAY_LEN(spi_cplan_sched_names), &s->kind)) != SP_OK)
        return rc;
    if (s->kind == SPI_CSCHED_PLUGIN &&
        ((rc = spi_rec_enum(r->doc, obj, "on", SPI_REC_OPTIONAL, on_names,
                            SPI_ARRAY_LEN(on_names), &s->on)) != SP_OK ||
         (rc = spi_rec_enum(r->doc, obj, "boundary", SPI_REC_OPTIONAL, boundary_names,
                            SPI_ARRAY_LEN(boundary_names), &s->boundary)) != SP_OK ||
         (rc = spi_rec_enum(r->doc, obj, "accumulate", SPI_REC_OPTIONAL, accumulate_names,
                            SPI_ARRAY_LEN(accumulate_names), &s->accumulate)) != SP_OK))
        return rc;
    if (s->kind == SPI_CSCHED_PLUGIN)
        return read_plugin(r, obj, s);
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "kind", 0, spi_cplan_sched_names, SPI_ARRAY_LEN(spi_cplan_sched_names),
                           &s->kind)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "on", SPI_REC_OPTIONAL, on_names,
                           SPI_ARRAY_LEN(on_names), &s->on)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "boundary", SPI_REC_OPTIONAL, boundary_names,
                           SPI_ARRAY_LEN(boundary_names), &s->boundary)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "accumulate", SPI_REC_OPTIONAL, accumulate_names,
                           SPI_ARRAY_LEN(accumulate_names), &s->accumulate)) != SP_OK ||
        (s->kind == SPI_CSCHED_FLAT &&
         (rc = refuse(r, obj, "decreasing", "does not apply to kind 'flat' (one tier)")) !=
             SP_OK) ||
        (rc = spi_rec_bool(r->doc, obj, "decreasing", SPI_REC_OPTIONAL, &s->decreasing)) !=
            SP_OK ||
        (rc = spi_rec_bool(r->doc, obj, "high_rates", SPI_REC_OPTIONAL, &s->high_rates)) !=
            SP_OK ||
        (rc = spi_rec_array(r->doc, obj, "tiers", 0, &arr, &n)) != SP_OK)
        return rc;
    if (n == 0)
        return spi_rec_fail(r->doc, arr, "a schedule needs at least one tier");
    if (s->kind == SPI_CSCHED_FLAT && n != 1)
        return spi_rec_fail(r->doc, arr, "kind 'flat' has one tier, not %zu", n);
    /* Which member each tier gives: tables and interpolated amounts pay amounts; the
     * others a rate of a money measure or an amount per unit of a count. */
    const spi_rnode *first = spi_rnode_at(r->doc, arr, 0);
    if (s->kind == SPI_CSCHED_TABLE)
        s->value = SPI_CVALUE_AMOUNT;
    else if (s->kind == SPI_CSCHED_INTERPOLATED && spi_rnode_type(first) == SPI_ROBJECT &&
             member(r, first, "amount") != NULL)
        s->value = SPI_CVALUE_AMOUNT;
    else
        s->value = money_measure(c->measure) ? SPI_CVALUE_RATE : SPI_CVALUE_PER_UNIT;
    if (s->high_rates && s->value != SPI_CVALUE_RATE)
        return spi_rec_fail(r->doc, member(r, obj, "high_rates"),
                            "'high_rates' applies to tiers of rates only");
    if ((s->tiers = spi_calloc(r->ctx, n, sizeof *s->tiers)) == NULL)
        return SP_ENOMEM;
    s->ntiers = n;
    for (size_t i = 0; i < n; i++) {
        static const char *const tknown[] = { "from", "rate", "per_unit", "amount" };
        const spi_rnode *t = spi_rnode_at(r->doc, arr, i);
        spi_cplan_tier *tier = &s->tiers[i];
        if ((rc = spi_rec_check_members(r->doc, t, tknown, SPI_ARRAY_LEN(tknown))) != SP_OK)
            return rc;
        for (uint32_t k = 0; k < SPI_ARRAY_LEN(value_names); k++) {
            if (k == s->value)
                continue;
            const char *why =
                s->value == SPI_CVALUE_AMOUNT
                    ? (s->kind == SPI_CSCHED_TABLE ? "does not apply to kind 'table' (tiers "
                                                     "give an 'amount')"
                                                   : "does not apply: this table's tiers give "
                                                     "an 'amount' (as its first tier)")
                : k == SPI_CVALUE_AMOUNT
                    ? "applies to kinds 'table' and 'interpolated' only"
                : s->value == SPI_CVALUE_RATE
                    ? "does not apply to a money measure (tiers give a 'rate')"
                    : "does not apply to a measure of units or counts (tiers give a 'per_unit' "
                      "amount)";
            if ((rc = refuse(r, t, value_names[k], why)) != SP_OK)
                return rc;
        }
        if (i == 0) {
            if ((rc = refuse(r, t, "from", "is not given for the first tier, which starts at "
                                           "0")) != SP_OK)
                return rc;
        } else {
            if ((rc = read_threshold(r, c, t, "from", 0, 1, &tier->from)) != SP_OK)
                return rc;
            if (tier->from <= s->tiers[i - 1].from)
                return spi_rec_fail(r->doc, member(r, t, "from"),
                                    "breakpoints increase: this one is not above tiers[%zu]'s",
                                    i - 1);
        }
        if (s->value == SPI_CVALUE_RATE) {
            sp_dec max = s->high_rates ? INT64_MAX : SPI_CPLAN_RATE_MAX;
            const spi_rnode *v = member(r, t, "rate");
            if ((rc = spi_rec_dec(r->doc, t, "rate", SPI_REC_PERCENT, INT64_MIN + 1, INT64_MAX,
                                  &tier->value)) != SP_OK)
                return rc;
            if (tier->value < 0)
                return spi_rec_fail(r->doc, v, "a rate is not negative");
            if (tier->value > max)
                return spi_rec_fail(r->doc, v, "a rate above 1000%% is refused unless the "
                                               "schedule declares \"high_rates\": true");
        } else if ((rc = read_money(r, t, value_names[s->value], 0, 0, &tier->value)) != SP_OK) {
            return rc;
        }
        if (i > 0 && !s->decreasing && tier->value < s->tiers[i - 1].value)
            return spi_rec_fail(r->doc, member(r, t, value_names[s->value]),
                                "below tiers[%zu]'s %s (a decreasing table declares "
                                "\"decreasing\": true)",
                                i - 1, value_names[s->value]);
    }
    return SP_OK;
}

static int read_quota(reader *r, const spi_rnode *obj, spi_cplan_quota *q)
{
    static const char *const known[] = { "target_set", "given" };
    static const char *const tknown[] = { "plan", "scenario", "version" };
    const spi_rnode *ts = NULL;
    int rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "target_set", SPI_REC_OPTIONAL, &ts)) != SP_OK ||
        (rc = spi_rec_bool(r->doc, obj, "given", SPI_REC_OPTIONAL, &q->given)) != SP_OK)
        return rc;
    const spi_rnode *given = member(r, obj, "given");
    if (given != NULL && !q->given)
        return spi_rec_fail(r->doc, given, "'given' is true or left out");
    if ((ts != NULL) == q->given)
        return spi_rec_fail(r->doc, obj, "a quota is either 'target_set' or 'given': true");
    if (ts == NULL)
        return SP_OK;
    if ((rc = spi_rec_check_members(r->doc, ts, tknown, SPI_ARRAY_LEN(tknown))) != SP_OK ||
        (rc = read_id(r, ts, "plan", &q->plan)) != SP_OK ||
        (rc = read_id(r, ts, "scenario", &q->scenario)) != SP_OK)
        return rc;
    return spi_rec_u32(r->doc, ts, "version", SPI_REC_OPTIONAL, 1, UINT32_MAX, &q->version);
}

static int read_accels(reader *r, const spi_rnode *comp, spi_cplan_component *c)
{
    static const char *const known[] = { "from", "multiplier", "retroactive" };
    const spi_rnode *arr = NULL;
    size_t n = 0;
    int rc = spi_rec_array(r->doc, comp, "accelerators", SPI_REC_OPTIONAL, &arr, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((c->accels = spi_calloc(r->ctx, n, sizeof *c->accels)) == NULL)
        return SP_ENOMEM;
    c->naccels = n;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(r->doc, arr, i);
        spi_cplan_accel *a = &c->accels[i];
        if ((rc = spi_rec_check_members(r->doc, e, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = read_threshold(r, c, e, "from", 0, 1, &a->from)) != SP_OK ||
            (rc = spi_rec_dec(r->doc, e, "multiplier", SPI_REC_PERCENT, 1, MULTIPLIER_MAX,
                              &a->multiplier)) != SP_OK ||
            (rc = spi_rec_bool(r->doc, e, "retroactive", SPI_REC_OPTIONAL, &a->retroactive)) !=
                SP_OK)
            return rc;
        if (a->from < c->gate)
            return spi_rec_fail(r->doc, member(r, e, "from"),
                                "the accelerator starts below the gate");
        if (i > 0 && a->from <= c->accels[i - 1].from)
            return spi_rec_fail(r->doc, member(r, e, "from"),
                                "accelerators start in increasing order: this one is not above "
                                "accelerators[%zu]'s",
                                i - 1);
    }
    return SP_OK;
}

static int read_bonuses(reader *r, const spi_rnode *comp, spi_cplan_component *c)
{
    static const char *const known[] = { "at", "amount" };
    const spi_rnode *arr = NULL;
    size_t n = 0;
    int rc = spi_rec_array(r->doc, comp, "bonuses", SPI_REC_OPTIONAL, &arr, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((c->bonuses = spi_calloc(r->ctx, n, sizeof *c->bonuses)) == NULL)
        return SP_ENOMEM;
    c->nbonuses = n;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(r->doc, arr, i);
        spi_cplan_bonus *b = &c->bonuses[i];
        if ((rc = spi_rec_check_members(r->doc, e, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = read_threshold(r, c, e, "at", 0, 1, &b->at)) != SP_OK ||
            (rc = read_money(r, e, "amount", 0, 1, &b->amount)) != SP_OK)
            return rc;
        if (i > 0 && b->at <= c->bonuses[i - 1].at)
            return spi_rec_fail(r->doc, member(r, e, "at"),
                                "bonuses are in increasing order: this one is not above "
                                "bonuses[%zu]'s",
                                i - 1);
    }
    return SP_OK;
}

static int read_spiffs(reader *r, const spi_rnode *comp, spi_cplan_component *c)
{
    static const char *const known[] = { "product", "per_unit", "per_line", "from", "to" };
    const spi_rnode *arr = NULL;
    size_t n = 0;
    int rc = spi_rec_array(r->doc, comp, "spiffs", SPI_REC_OPTIONAL, &arr, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((c->spiffs = spi_calloc(r->ctx, n, sizeof *c->spiffs)) == NULL)
        return SP_ENOMEM;
    c->nspiffs = n;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(r->doc, arr, i);
        spi_cplan_spiff *s = &c->spiffs[i];
        if ((rc = spi_rec_check_members(r->doc, e, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = read_id(r, e, "product", &s->product)) != SP_OK)
            return rc;
        bool unit = member(r, e, "per_unit") != NULL, line = member(r, e, "per_line") != NULL;
        if (unit == line)
            return spi_rec_fail(r->doc, e, "a spiff pays either 'per_unit' or 'per_line'");
        s->per = unit ? SPI_CVALUE_PER_UNIT : SPI_CVALUE_AMOUNT;
        if ((rc = read_money(r, e, unit ? "per_unit" : "per_line", 0, 1, &s->amount)) != SP_OK ||
            (rc = read_range(r, e, &s->from, &s->to)) != SP_OK)
            return rc;
        for (size_t j = 0; j < i; j++) {
            const spi_cplan_spiff *o = &c->spiffs[j];
            bool before = s->to != SPI_CPLAN_NO_DAY && o->from != SPI_CPLAN_NO_DAY &&
                          s->to < o->from;
            bool after = s->from != SPI_CPLAN_NO_DAY && o->to != SPI_CPLAN_NO_DAY &&
                         s->from > o->to;
            if (strcmp(o->product, s->product) == 0 && !before && !after)
                return spi_rec_fail(r->doc, e,
                                    "overlaps spiffs[%zu], for the same product and days", j);
        }
    }
    return SP_OK;
}

static int compare_levels(const void *a, const void *b)
{
    return strcmp(((const spi_cplan_level *)a)->name, ((const spi_cplan_level *)b)->name);
}

static int read_crediting(reader *r, const spi_rnode *obj, spi_cplan_component *c)
{
    static const char *const known[] = { "splits", "rollup" };
    static const char *const rknown[] = { "levels", "count" };
    static const char *const lknown[] = { "rate", "threshold", "above", "on" };
    const spi_rnode *roll = NULL, *levels;
    int rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "splits", SPI_REC_OPTIONAL, splits_names,
                           SPI_ARRAY_LEN(splits_names), &c->splits)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "rollup", SPI_REC_OPTIONAL, &roll)) != SP_OK ||
        roll == NULL)
        return rc;
    if ((rc = spi_rec_check_members(r->doc, roll, rknown, SPI_ARRAY_LEN(rknown))) != SP_OK ||
        (rc = spi_rec_object(r->doc, roll, "levels", 0, &levels)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, roll, "count", SPI_REC_OPTIONAL, count_names,
                           SPI_ARRAY_LEN(count_names), &c->count)) != SP_OK)
        return rc;
    size_t n = spi_rnode_count(levels);
    if (n == 0)
        return spi_rec_fail(r->doc, levels, "a roll-up names at least one level");
    if ((c->levels = spi_calloc(r->ctx, n, sizeof *c->levels)) == NULL)
        return SP_ENOMEM;
    c->nlevels = n;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(r->doc, levels, i);
        spi_cplan_level *l = &c->levels[i];
        size_t len;
        const char *key = spi_rnode_key(r->doc, e, &len);
        l->threshold = -1;
        if (len == 0 || len > SPI_CPLAN_ID_MAX || memchr(key, '\0', len) != NULL)
            return spi_rec_fail(r->doc, e, "a level name has 1 to %u bytes, no U+0000",
                                SPI_CPLAN_ID_MAX);
        if ((l->name = spi_malloc(r->ctx, len + 1)) == NULL)
            return SP_ENOMEM;
        memcpy(l->name, key, len);
        l->name[len] = '\0';
        if ((rc = spi_rec_check_members(r->doc, e, lknown, SPI_ARRAY_LEN(lknown))) != SP_OK ||
            (rc = spi_rec_dec(r->doc, e, "rate", SPI_REC_PERCENT, 0, SPI_CPLAN_RATE_MAX,
                              &l->rate)) != SP_OK ||
            (rc = spi_rec_dec(r->doc, e, "threshold", SPI_REC_OPTIONAL | SPI_REC_PERCENT, 0,
                              INT64_MAX, &l->threshold)) != SP_OK ||
            (member(r, e, "above") != NULL &&
             (rc = read_money(r, e, "above", 0, 1, &l->above)) != SP_OK) ||
            (rc = spi_rec_enum(r->doc, e, "on", SPI_REC_OPTIONAL, override_on_names,
                               SPI_ARRAY_LEN(override_on_names), &l->on)) != SP_OK)
            return rc;
    }
    qsort(c->levels, n, sizeof *c->levels, compare_levels);
    return SP_OK;
}

static int read_clawback(reader *r, const spi_rnode *obj, spi_cplan_component *c)
{
    static const char *const known[] = { "window_days", "limit" };
    int rc;
    c->has_clawback = true;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_u32(r->doc, obj, "window_days", 0, 1, WINDOW_DAYS_MAX, &c->window_days)) !=
            SP_OK)
        return rc;
    return spi_rec_enum(r->doc, obj, "limit", SPI_REC_OPTIONAL, limit_names,
                        SPI_ARRAY_LEN(limit_names), &c->limit);
}

static int read_component(reader *r, const spi_rnode *obj, spi_cplan_component *c)
{
    static const char *const known[] = { "id",          "measure",      "period", "schedule",
                                         "quota",       "gate",         "accelerators",
                                         "cap",         "bonuses",      "spiffs",
                                         "crediting",   "clawback" };
    static const char *const cknown[] = { "amount", "carry_forward" };
    const spi_rnode *measure, *schedule, *quota = NULL, *cap = NULL, *cred = NULL,
                                         *claw = NULL;
    int rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = read_id(r, obj, "id", &c->id)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "measure", 0, &measure)) != SP_OK ||
        (rc = read_measure(r, measure, c)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "period", 0, spi_cplan_period_names, SPI_ARRAY_LEN(spi_cplan_period_names),
                           &c->period)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "schedule", 0, &schedule)) != SP_OK ||
        (rc = read_schedule(r, schedule, c)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "quota", SPI_REC_OPTIONAL, &quota)) != SP_OK ||
        (quota != NULL && (rc = read_quota(r, quota, &c->quota)) != SP_OK))
        return rc;
    c->has_quota = quota != NULL;
    if (c->schedule.on == SPI_CON_ATTAINMENT && quota == NULL)
        return spi_rec_fail(r->doc, obj, "a schedule on attainment needs a 'quota'");
    /* A schedule measured per line has no thresholds of the period's measure. */
    static const char *const period_only[] = { "gate", "accelerators", "cap", "bonuses" };
    for (size_t i = 0; c->schedule.accumulate == SPI_CACCUM_LINE && i < 4; i++)
        if ((rc = refuse(r, obj, period_only[i], "does not apply to a schedule with "
                                                 "\"accumulate\": \"line\" (a threshold of "
                                                 "the period's measure)")) != SP_OK)
            return rc;
    if ((rc = read_threshold(r, c, obj, "gate", SPI_REC_OPTIONAL, 1, &c->gate)) != SP_OK ||
        (rc = read_accels(r, obj, c)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "cap", SPI_REC_OPTIONAL, &cap)) != SP_OK)
        return rc;
    /* A payout curve's marginal accelerator starts on one of its points (the kernel's rule:
     * the payout is whole there, so the accelerated value stays exact). */
    const spi_cplan_schedule *cs = &c->schedule;
    for (size_t i = 0; cs->kind == SPI_CSCHED_INTERPOLATED && cs->value == SPI_CVALUE_AMOUNT &&
                       i < c->naccels; i++) {
        bool on_point = c->accels[i].retroactive;
        for (size_t t = 1; !on_point && t < cs->ntiers; t++)
            on_point = cs->tiers[t].from == c->accels[i].from;
        if (!on_point)
            return spi_rec_fail(r->doc,
                                member(r, spi_rnode_at(r->doc, member(r, obj, "accelerators"),
                                                       i), "from"),
                                "a payout curve's accelerator starts on one of its points (a "
                                "tier's 'from') unless it is retroactive");
    }
    if (cap != NULL &&
        ((rc = spi_rec_check_members(r->doc, cap, cknown, SPI_ARRAY_LEN(cknown))) != SP_OK ||
         (rc = read_money(r, cap, "amount", 0, 1, &c->cap)) != SP_OK ||
         (rc = spi_rec_bool(r->doc, cap, "carry_forward", SPI_REC_OPTIONAL,
                            &c->carry_forward)) != SP_OK))
        return rc;
    if ((rc = read_bonuses(r, obj, c)) != SP_OK)
        return rc;
    for (size_t i = 0; cap != NULL && i < c->nbonuses; i++)
        if (c->bonuses[i].amount > c->cap)
            return spi_rec_fail(r->doc, member(r, cap, "amount"),
                                "the cap is below bonuses[%zu].amount", i);
    if ((rc = read_spiffs(r, obj, c)) != SP_OK ||
        (rc = spi_rec_object(r->doc, obj, "crediting", SPI_REC_OPTIONAL, &cred)) != SP_OK ||
        (cred != NULL && (rc = read_crediting(r, cred, c)) != SP_OK) ||
        (rc = spi_rec_object(r->doc, obj, "clawback", SPI_REC_OPTIONAL, &claw)) != SP_OK ||
        (claw != NULL && (rc = read_clawback(r, claw, c)) != SP_OK))
        return rc;
    return SP_OK;
}

/* The calendar: a preset's name, or the options as an object. */
static int read_calendar(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "kind",         "start_month", "label",
                                         "year_end_weekday", "year_end_rule", "week53_month",
                                         "weekend",      "holidays",    "workdays" };
    spi_cplan_calendar *cal = &r->p->calendar;
    const spi_rnode *v = member(r, root, "calendar");
    int rc;
    if (v == NULL || spi_rnode_type(v) == SPI_RSTRING) {
        uint32_t k = 0;
        if (v != NULL && (rc = spi_rec_enum(r->doc, v, NULL, 0, preset_names,
                                            SPI_ARRAY_LEN(preset_names), &k)) != SP_OK)
            return rc;
        cal->preset = k + 1;
        return sp_calendar_options_preset(&cal->opts, SP_CALENDAR_OPTIONS_VERSION, cal->preset);
    }
    if (spi_rnode_type(v) != SPI_ROBJECT)
        return spi_rec_fail(r->doc, v, "expected a calendar preset's name or an object of "
                                       "calendar options");
    if ((rc = spi_rec_check_members(r->doc, v, known, SPI_ARRAY_LEN(known))) != SP_OK)
        return rc;
    sp_calendar_options *o = &cal->opts;
    (void)sp_calendar_options_init(o, SP_CALENDAR_OPTIONS_VERSION);
    uint32_t label = UINT32_MAX, rule = UINT32_MAX, wd = UINT32_MAX;
    if ((rc = spi_rec_enum(r->doc, v, "kind", SPI_REC_OPTIONAL, cal_kind_names,
                           SPI_ARRAY_LEN(cal_kind_names), &o->kind)) != SP_OK ||
        (rc = spi_rec_u32(r->doc, v, "start_month", SPI_REC_OPTIONAL, 1, 12, &o->start_month)) !=
            SP_OK ||
        (rc = spi_rec_enum(r->doc, v, "label", SPI_REC_OPTIONAL, label_names,
                           SPI_ARRAY_LEN(label_names), &label)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, v, "year_end_weekday", SPI_REC_OPTIONAL, weekday_names,
                           SPI_ARRAY_LEN(weekday_names), &wd)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, v, "year_end_rule", SPI_REC_OPTIONAL, year_end_names,
                           SPI_ARRAY_LEN(year_end_names), &rule)) != SP_OK ||
        (rc = spi_rec_u32(r->doc, v, "week53_month", SPI_REC_OPTIONAL, 1, 12,
                          &o->week53_month)) != SP_OK)
        return rc;
    o->label = label + 1; /* UINT32_MAX + 1: 0, not set */
    o->year_end_rule = rule + 1;
    o->year_end_weekday = wd + 1;
    const spi_rnode *we = NULL, *lists[2] = { NULL, NULL };
    size_t nwe = 0, nl[2] = { 0, 0 };
    if ((rc = spi_rec_array(r->doc, v, "weekend", SPI_REC_OPTIONAL, &we, &nwe)) != SP_OK ||
        (rc = spi_rec_array(r->doc, v, "holidays", SPI_REC_OPTIONAL, &lists[0], &nl[0])) !=
            SP_OK ||
        (rc = spi_rec_array(r->doc, v, "workdays", SPI_REC_OPTIONAL, &lists[1], &nl[1])) != SP_OK)
        return rc;
    for (size_t i = 0; i < nwe; i++) {
        uint32_t d;
        const spi_rnode *e = spi_rnode_at(r->doc, we, i);
        if ((rc = spi_rec_enum(r->doc, e, NULL, 0, weekday_names, SPI_ARRAY_LEN(weekday_names),
                               &d)) != SP_OK)
            return rc;
        if (o->weekend & (1u << d))
            return spi_rec_fail(r->doc, e, "'%s' is already in the weekend", weekday_names[d]);
        o->weekend |= 1u << d;
    }
    if (nl[0] + nl[1] > 0 &&
        (cal->ranges = spi_malloc_array(r->ctx, 2 * (nl[0] + nl[1]), sizeof *cal->ranges)) ==
            NULL)
        return SP_ENOMEM;
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < nl[k]; i++) {
            const spi_rnode *e = spi_rnode_at(r->doc, lists[k], i);
            int32_t *pair = cal->ranges + 2 * (k == 0 ? i : nl[0] + i);
            size_t two;
            const spi_rnode *pa;
            if ((rc = spi_rec_array(r->doc, e, NULL, 0, &pa, &two)) != SP_OK)
                return rc;
            if (two != 2)
                return spi_rec_fail(r->doc, e, "a range is [first day, last day], not %zu "
                                               "values", two);
            if ((rc = read_day(r, spi_rnode_at(r->doc, e, 0), NULL, 0, &pair[0])) != SP_OK ||
                (rc = read_day(r, spi_rnode_at(r->doc, e, 1), NULL, 0, &pair[1])) != SP_OK)
                return rc;
        }
    o->holiday_ranges = nl[0] > 0 ? cal->ranges : NULL;
    o->nholiday_ranges = nl[0];
    o->workday_ranges = nl[1] > 0 ? cal->ranges + 2 * nl[0] : NULL;
    o->nworkday_ranges = nl[1];
    /* The calendar checks its rules; its message, at the calendar's path. */
    sp_calendar *made = NULL;
    rc = sp_calendar_new(&made, r->ctx, o);
    if (rc == SP_OK) {
        sp_calendar_free(made);
        return SP_OK;
    }
    if (rc == SP_ENOMEM)
        return rc;
    char why[SPI_ERRMSG_CAP / 2];
    const char *m = sp_ctx_errmsg(r->ctx);
    if (strncmp(m, "calendar: ", 10) == 0)
        m += 10;
    snprintf(why, sizeof why, "%s", m);
    return spi_rec_fail(r->doc, v, "%s", why);
}

static int read_rounding(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "mode", "policy" };
    const spi_rnode *obj = NULL;
    int rc = spi_rec_object(r->doc, root, "rounding", SPI_REC_OPTIONAL, &obj);
    if (rc != SP_OK || obj == NULL)
        return rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "mode", SPI_REC_OPTIONAL, spi_cplan_round_names,
                           SPI_ARRAY_LEN(spi_cplan_round_names), &r->p->rounding_mode)) != SP_OK)
        return rc;
    return spi_rec_enum(r->doc, obj, "policy", SPI_REC_OPTIONAL, spi_cplan_policy_names,
                        SPI_ARRAY_LEN(spi_cplan_policy_names), &r->p->policy);
}

static int read_draw(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "kind", "amount", "period", "forgive_on" };
    spi_cplan_draw *d = &r->p->draw;
    const spi_rnode *obj = NULL;
    d->forgive_on = SPI_CPLAN_NO_DAY;
    int rc = spi_rec_object(r->doc, root, "draw", SPI_REC_OPTIONAL, &obj);
    if (rc != SP_OK || obj == NULL)
        return rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "kind", 0, draw_names + 1, SPI_ARRAY_LEN(draw_names) - 1,
                           &d->kind)) != SP_OK)
        return rc;
    d->kind += 1;
    if ((rc = read_money(r, obj, "amount", 0, 1, &d->amount)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "period", 0, spi_cplan_period_names, SPI_ARRAY_LEN(spi_cplan_period_names),
                           &d->period)) != SP_OK ||
        (d->kind != SPI_CDRAW_RECOVERABLE &&
         (rc = refuse(r, obj, "forgive_on", "applies to kind 'recoverable' only")) != SP_OK) ||
        (rc = read_day(r, obj, "forgive_on", SPI_REC_OPTIONAL, &d->forgive_on)) != SP_OK)
        return rc;
    return check_inside(r, obj, "forgive_on", d->forgive_on);
}

static int read_plan(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "plan",     "name",     "effective", "currency",
                                         "calendar", "rounding", "components", "draw" };
    static const char *const eknown[] = { "from", "to", "gap" };
    spi_cplan *p = r->p;
    const spi_rnode *eff, *comps;
    const char *cur;
    size_t clen, n;
    uint32_t gap = 0;
    int rc;
    p->from = p->to = SPI_CPLAN_NO_DAY;
    if ((rc = spi_rec_check_members(r->doc, root, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = read_id(r, root, "plan", &p->plan)) != SP_OK ||
        (member(r, root, "name") != NULL && (rc = read_id(r, root, "name", &p->name)) != SP_OK) ||
        (rc = spi_rec_object(r->doc, root, "effective", 0, &eff)) != SP_OK ||
        (rc = spi_rec_check_members(r->doc, eff, eknown, SPI_ARRAY_LEN(eknown))) != SP_OK ||
        (rc = read_day(r, eff, "from", 0, &p->from)) != SP_OK ||
        (rc = read_day(r, eff, "to", SPI_REC_OPTIONAL, &p->to)) != SP_OK ||
        (rc = spi_rec_enum(r->doc, eff, "gap", SPI_REC_OPTIONAL, gap_names,
                           SPI_ARRAY_LEN(gap_names), &gap)) != SP_OK)
        return rc;
    p->gap_allowed = gap == 1;
    if (p->to != SPI_CPLAN_NO_DAY && p->to < p->from)
        return spi_rec_fail(r->doc, member(r, eff, "to"), "'to' is before 'from'");
    if ((rc = spi_rec_string(r->doc, root, "currency", SPI_REC_NO_NUL, &cur, &clen)) != SP_OK)
        return rc;
    char code[4] = "";
    if (clen == 3) {
        memcpy(code, cur, 3);
        code[3] = '\0';
    }
    if (clen != 3 || sp_currency_exponent(code, &p->exponent) != SP_OK)
        return spi_rec_fail(r->doc, member(r, root, "currency"),
                            "not an ISO 4217 currency code this library knows");
    memcpy(p->currency, code, sizeof code);
    if ((rc = read_calendar(r, root)) != SP_OK || (rc = read_rounding(r, root)) != SP_OK ||
        (rc = spi_rec_array(r->doc, root, "components", 0, &comps, &n)) != SP_OK)
        return rc;
    if (n == 0)
        return spi_rec_fail(r->doc, comps, "a plan has at least one component");
    if ((p->components = spi_calloc(r->ctx, n, sizeof *p->components)) == NULL)
        return SP_ENOMEM;
    p->ncomponents = n;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *e = spi_rnode_at(r->doc, comps, i);
        if ((rc = read_component(r, e, &p->components[i])) != SP_OK)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcmp(p->components[j].id, p->components[i].id) == 0)
                return spi_rec_fail(r->doc, member(r, e, "id"),
                                    "component id '%s' is already components[%zu]'s",
                                    p->components[i].id, j);
    }
    return read_draw(r, root);
}

int spi_cplan_read(sp_ctx *ctx, const char *json, size_t len, spi_cplan *out)
{
    if (ctx == NULL || (json == NULL && len > 0) || out == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: NULL argument");
    spi_rdoc *doc = NULL;
    int rc = spi_rdoc_parse(&doc, ctx, "commission plan", (const uint8_t *)json, len,
                            SPI_RDOC_USER, NULL);
    if (rc != SP_OK)
        return rc;
    spi_cplan p;
    memset(&p, 0, sizeof p);
    reader r = { ctx, doc, &p };
    const spi_rnode *root = spi_rdoc_root(doc);
    rc = spi_rnode_type(root) == SPI_ROBJECT
             ? read_plan(&r, root)
             : spi_rec_fail(doc, root, "expected a plan document (an object)");
    spi_rdoc_free(doc);
    if (rc != SP_OK) {
        spi_cplan_free(ctx, &p);
        return rc;
    }
    *out = p;
    return SP_OK;
}

/* ---- writing ---- */

static void write_day(spi_writer *w, const char *key, int32_t day)
{
    char buf[24];
    day_text(day, buf, sizeof buf);
    spi_writer_key(w, key);
    spi_writer_cstr(w, buf);
}

static void write_money(spi_writer *w, const spi_cplan *p, const char *key, int64_t v)
{
    spi_writer_key(w, key);
    spi_writer_fixed(w, v, p->exponent);
}

static void write_threshold(spi_writer *w, const spi_cplan *p, const spi_cplan_component *c,
                            const char *key, int64_t v)
{
    if (c->schedule.on == SPI_CON_ATTAINMENT)
        spi_writer_member_dec(w, key, v);
    else if (money_measure(c->measure))
        write_money(w, p, key, v);
    else
        spi_writer_member_int(w, key, v);
}

static void write_range(spi_writer *w, int32_t from, int32_t to)
{
    if (from != SPI_CPLAN_NO_DAY)
        write_day(w, "from", from);
    if (to != SPI_CPLAN_NO_DAY)
        write_day(w, "to", to);
}

static void write_calendar(spi_writer *w, const spi_cplan_calendar *cal)
{
    spi_writer_key(w, "calendar");
    if (cal->preset != 0) {
        spi_writer_enum(w, preset_names, SPI_ARRAY_LEN(preset_names), cal->preset - 1);
        return;
    }
    const sp_calendar_options *o = &cal->opts;
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "kind", cal_kind_names, SPI_ARRAY_LEN(cal_kind_names), o->kind);
    if (o->start_month != 0)
        spi_writer_member_int(w, "start_month", o->start_month);
    if (o->label != 0)
        spi_writer_member_enum(w, "label", label_names, SPI_ARRAY_LEN(label_names), o->label - 1);
    if (o->year_end_weekday != 0)
        spi_writer_member_enum(w, "year_end_weekday", weekday_names,
                               SPI_ARRAY_LEN(weekday_names), o->year_end_weekday - 1);
    if (o->year_end_rule != 0)
        spi_writer_member_enum(w, "year_end_rule", year_end_names, SPI_ARRAY_LEN(year_end_names),
                               o->year_end_rule - 1);
    if (o->week53_month != 0)
        spi_writer_member_int(w, "week53_month", o->week53_month);
    if (o->weekend != 0) {
        spi_writer_key(w, "weekend");
        spi_writer_begin_array(w);
        for (uint32_t d = 0; d < 7; d++)
            if (o->weekend & (1u << d))
                spi_writer_cstr(w, weekday_names[d]);
        spi_writer_end_array(w);
    }
    const int32_t *lists[2] = { o->holiday_ranges, o->workday_ranges };
    size_t nl[2] = { o->nholiday_ranges, o->nworkday_ranges };
    for (int k = 0; k < 2; k++) {
        if (nl[k] == 0)
            continue;
        spi_writer_key(w, k == 0 ? "holidays" : "workdays");
        spi_writer_begin_array(w);
        for (size_t i = 0; i < nl[k]; i++) {
            char a[24], b[24];
            day_text(lists[k][2 * i], a, sizeof a);
            day_text(lists[k][2 * i + 1], b, sizeof b);
            spi_writer_begin_array(w);
            spi_writer_cstr(w, a);
            spi_writer_cstr(w, b);
            spi_writer_end_array(w);
        }
        spi_writer_end_array(w);
    }
    spi_writer_end_object(w);
}

/* A plug-in schedule's name and params (its canonical text, parsed again to be copied). */
static void write_plugin(spi_writer *w, const spi_cplan_schedule *s)
{
    spi_writer_member_string(w, "name", s->plugin->name, strlen(s->plugin->name));
    spi_rdoc *doc = NULL;
    int rc = spi_rdoc_parse(&doc, w->ctx, "plug-in params", (const uint8_t *)s->params,
                            s->params_len, 0, NULL);
    if (rc != SP_OK) { /* out of memory: the text was canonical when it was read */
        if (w->status == SP_OK)
            w->status = rc;
        return;
    }
    spi_writer_key(w, "params");
    spi_writer_copy(w, doc, spi_rdoc_root(doc));
    spi_rdoc_free(doc);
}

static void write_component(spi_writer *w, const spi_cplan *p, const spi_cplan_component *c)
{
    spi_writer_begin_object(w);
    spi_writer_key(w, "id");
    spi_writer_cstr(w, c->id);

    spi_writer_key(w, "measure");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "kind", spi_cplan_measure_names, SPI_ARRAY_LEN(spi_cplan_measure_names), c->measure);
    spi_writer_member_enum(w, "basis", basis_names, SPI_ARRAY_LEN(basis_names), c->basis);
    const spi_cplan_filter *f = &c->filter;
    bool any = f->from != SPI_CPLAN_NO_DAY || f->to != SPI_CPLAN_NO_DAY;
    for (int k = 0; k < SPI_CFILTER_LISTS; k++)
        any |= f->nids[k] > 0;
    if (any) {
        spi_writer_key(w, "filter");
        spi_writer_begin_object(w);
        for (int k = 0; k < SPI_CFILTER_LISTS; k++) {
            if (f->nids[k] == 0)
                continue;
            spi_writer_key(w, filter_names[k]);
            spi_writer_begin_array(w);
            for (size_t i = 0; i < f->nids[k]; i++)
                spi_writer_cstr(w, f->ids[k][i]);
            spi_writer_end_array(w);
        }
        write_range(w, f->from, f->to);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);

    spi_writer_member_enum(w, "period", spi_cplan_period_names, SPI_ARRAY_LEN(spi_cplan_period_names), c->period);

    const spi_cplan_schedule *s = &c->schedule;
    spi_writer_key(w, "schedule");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "kind", spi_cplan_sched_names, SPI_ARRAY_LEN(spi_cplan_sched_names), s->kind);
    spi_writer_member_enum(w, "on", on_names, SPI_ARRAY_LEN(on_names), s->on);
    spi_writer_member_enum(w, "boundary", boundary_names, SPI_ARRAY_LEN(boundary_names),
                           s->boundary);
    spi_writer_member_enum(w, "accumulate", accumulate_names, SPI_ARRAY_LEN(accumulate_names),
                           s->accumulate);
    if (s->kind == SPI_CSCHED_PLUGIN) {
        write_plugin(w, s);
        spi_writer_end_object(w);
        goto after_schedule;
    }
    if (s->decreasing)
        spi_writer_member_bool(w, "decreasing", true);
    if (s->high_rates)
        spi_writer_member_bool(w, "high_rates", true);
    spi_writer_key(w, "tiers");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < s->ntiers; i++) {
        spi_writer_begin_object(w);
        if (i > 0)
            write_threshold(w, p, c, "from", s->tiers[i].from);
        if (s->value == SPI_CVALUE_RATE)
            spi_writer_member_dec(w, "rate", s->tiers[i].value);
        else
            write_money(w, p, value_names[s->value], s->tiers[i].value);
        spi_writer_end_object(w);
    }
    spi_writer_end_array(w);
    spi_writer_end_object(w);
after_schedule:
    if (c->has_quota) {
        spi_writer_key(w, "quota");
        spi_writer_begin_object(w);
        if (c->quota.given) {
            spi_writer_member_bool(w, "given", true);
        } else {
            spi_writer_key(w, "target_set");
            spi_writer_begin_object(w);
            spi_writer_key(w, "plan");
            spi_writer_cstr(w, c->quota.plan);
            spi_writer_key(w, "scenario");
            spi_writer_cstr(w, c->quota.scenario);
            if (c->quota.version > 0)
                spi_writer_member_int(w, "version", c->quota.version);
            spi_writer_end_object(w);
        }
        spi_writer_end_object(w);
    }
    if (c->gate > 0)
        write_threshold(w, p, c, "gate", c->gate);
    if (c->naccels > 0) {
        spi_writer_key(w, "accelerators");
        spi_writer_begin_array(w);
        for (size_t i = 0; i < c->naccels; i++) {
            spi_writer_begin_object(w);
            write_threshold(w, p, c, "from", c->accels[i].from);
            spi_writer_member_dec(w, "multiplier", c->accels[i].multiplier);
            if (c->accels[i].retroactive)
                spi_writer_member_bool(w, "retroactive", true);
            spi_writer_end_object(w);
        }
        spi_writer_end_array(w);
    }
    if (c->cap > 0) {
        spi_writer_key(w, "cap");
        spi_writer_begin_object(w);
        write_money(w, p, "amount", c->cap);
        spi_writer_member_bool(w, "carry_forward", c->carry_forward);
        spi_writer_end_object(w);
    }
    if (c->nbonuses > 0) {
        spi_writer_key(w, "bonuses");
        spi_writer_begin_array(w);
        for (size_t i = 0; i < c->nbonuses; i++) {
            spi_writer_begin_object(w);
            write_threshold(w, p, c, "at", c->bonuses[i].at);
            write_money(w, p, "amount", c->bonuses[i].amount);
            spi_writer_end_object(w);
        }
        spi_writer_end_array(w);
    }
    if (c->nspiffs > 0) {
        spi_writer_key(w, "spiffs");
        spi_writer_begin_array(w);
        for (size_t i = 0; i < c->nspiffs; i++) {
            const spi_cplan_spiff *sp = &c->spiffs[i];
            spi_writer_begin_object(w);
            spi_writer_key(w, "product");
            spi_writer_cstr(w, sp->product);
            write_money(w, p, sp->per == SPI_CVALUE_PER_UNIT ? "per_unit" : "per_line",
                        sp->amount);
            write_range(w, sp->from, sp->to);
            spi_writer_end_object(w);
        }
        spi_writer_end_array(w);
    }
    spi_writer_key(w, "crediting");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "splits", splits_names, SPI_ARRAY_LEN(splits_names), c->splits);
    if (c->nlevels > 0) {
        spi_writer_key(w, "rollup");
        spi_writer_begin_object(w);
        spi_writer_key(w, "levels");
        spi_writer_begin_object(w);
        for (size_t i = 0; i < c->nlevels; i++) {
            const spi_cplan_level *l = &c->levels[i];
            spi_writer_key(w, l->name);
            spi_writer_begin_object(w);
            spi_writer_member_dec(w, "rate", l->rate);
            if (l->threshold >= 0)
                spi_writer_member_dec(w, "threshold", l->threshold);
            if (l->above > 0)
                write_money(w, p, "above", l->above);
            spi_writer_member_enum(w, "on", override_on_names, SPI_ARRAY_LEN(override_on_names),
                                   l->on);
            spi_writer_end_object(w);
        }
        spi_writer_end_object(w);
        spi_writer_member_enum(w, "count", count_names, SPI_ARRAY_LEN(count_names), c->count);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);
    if (c->has_clawback) {
        spi_writer_key(w, "clawback");
        spi_writer_begin_object(w);
        spi_writer_member_int(w, "window_days", c->window_days);
        spi_writer_member_enum(w, "limit", limit_names, SPI_ARRAY_LEN(limit_names), c->limit);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);
}

void spi_cplan_write_to(spi_writer *w, const spi_cplan *p)
{
    spi_writer_begin_object(w);
    spi_writer_key(w, "plan");
    spi_writer_cstr(w, p->plan);
    if (p->name != NULL) {
        spi_writer_key(w, "name");
        spi_writer_cstr(w, p->name);
    }
    spi_writer_key(w, "effective");
    spi_writer_begin_object(w);
    write_range(w, p->from, p->to);
    spi_writer_member_enum(w, "gap", gap_names, SPI_ARRAY_LEN(gap_names), p->gap_allowed);
    spi_writer_end_object(w);
    spi_writer_key(w, "currency");
    spi_writer_cstr(w, p->currency);
    write_calendar(w, &p->calendar);
    spi_writer_key(w, "rounding");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "mode", spi_cplan_round_names, SPI_ARRAY_LEN(spi_cplan_round_names), p->rounding_mode);
    spi_writer_member_enum(w, "policy", spi_cplan_policy_names, SPI_ARRAY_LEN(spi_cplan_policy_names), p->policy);
    spi_writer_end_object(w);
    spi_writer_key(w, "components");
    spi_writer_begin_array(w);
    for (size_t i = 0; i < p->ncomponents; i++)
        write_component(w, p, &p->components[i]);
    spi_writer_end_array(w);
    if (p->draw.kind != SPI_CDRAW_NONE) {
        spi_writer_key(w, "draw");
        spi_writer_begin_object(w);
        spi_writer_member_enum(w, "kind", draw_names, SPI_ARRAY_LEN(draw_names), p->draw.kind);
        write_money(w, p, "amount", p->draw.amount);
        spi_writer_member_enum(w, "period", spi_cplan_period_names, SPI_ARRAY_LEN(spi_cplan_period_names),
                               p->draw.period);
        if (p->draw.forgive_on != SPI_CPLAN_NO_DAY)
            write_day(w, "forgive_on", p->draw.forgive_on);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);
}

int spi_cplan_write(sp_ctx *ctx, const spi_cplan *p, uint8_t **bytes, size_t *len)
{
    if (ctx == NULL || p == NULL || bytes == NULL || len == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission plan: NULL argument");
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_cplan_write_to(&w, p);
    return spi_writer_finish(&w, bytes, len);
}

/* ---- equality ---- */

static bool same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_ranges(const int32_t *a, const int32_t *b, size_t pairs)
{
    return pairs == 0 || memcmp(a, b, 2 * pairs * sizeof *a) == 0;
}

static bool same_component(const spi_cplan_component *a, const spi_cplan_component *b)
{
    if (!same_str(a->id, b->id) || a->measure != b->measure || a->basis != b->basis ||
        a->filter.from != b->filter.from || a->filter.to != b->filter.to ||
        a->period != b->period)
        return false;
    for (int k = 0; k < SPI_CFILTER_LISTS; k++) {
        if (a->filter.nids[k] != b->filter.nids[k])
            return false;
        for (size_t i = 0; i < a->filter.nids[k]; i++)
            if (!same_str(a->filter.ids[k][i], b->filter.ids[k][i]))
                return false;
    }
    const spi_cplan_schedule *s = &a->schedule, *t = &b->schedule;
    if (s->kind != t->kind || s->on != t->on || s->boundary != t->boundary ||
        s->accumulate != t->accumulate ||
        s->value != t->value || s->decreasing != t->decreasing ||
        s->high_rates != t->high_rates || s->ntiers != t->ntiers || s->plugin != t->plugin ||
        s->params_len != t->params_len ||
        (s->params_len > 0 && memcmp(s->params, t->params, s->params_len) != 0))
        return false;
    for (size_t i = 0; i < s->ntiers; i++)
        if (s->tiers[i].from != t->tiers[i].from || s->tiers[i].value != t->tiers[i].value)
            return false;
    if (a->has_quota != b->has_quota || a->quota.given != b->quota.given ||
        !same_str(a->quota.plan, b->quota.plan) || !same_str(a->quota.scenario, b->quota.scenario) ||
        a->quota.version != b->quota.version || a->gate != b->gate || a->naccels != b->naccels ||
        a->cap != b->cap || a->carry_forward != b->carry_forward || a->nbonuses != b->nbonuses ||
        a->nspiffs != b->nspiffs || a->splits != b->splits || a->nlevels != b->nlevels ||
        a->count != b->count || a->has_clawback != b->has_clawback ||
        a->window_days != b->window_days || a->limit != b->limit)
        return false;
    for (size_t i = 0; i < a->naccels; i++)
        if (a->accels[i].from != b->accels[i].from ||
            a->accels[i].multiplier != b->accels[i].multiplier ||
            a->accels[i].retroactive != b->accels[i].retroactive)
            return false;
    for (size_t i = 0; i < a->nbonuses; i++)
        if (a->bonuses[i].at != b->bonuses[i].at || a->bonuses[i].amount != b->bonuses[i].amount)
            return false;
    for (size_t i = 0; i < a->nspiffs; i++) {
        const spi_cplan_spiff *x = &a->spiffs[i], *y = &b->spiffs[i];
        if (!same_str(x->product, y->product) || x->per != y->per || x->amount != y->amount ||
            x->from != y->from || x->to != y->to)
            return false;
    }
    for (size_t i = 0; i < a->nlevels; i++) {
        const spi_cplan_level *x = &a->levels[i], *y = &b->levels[i];
        if (!same_str(x->name, y->name) || x->rate != y->rate || x->threshold != y->threshold || x->above != y->above ||
            x->on != y->on)
            return false;
    }
    return true;
}

bool spi_cplan_equal(const spi_cplan *a, const spi_cplan *b)
{
    const sp_calendar_options *x = &a->calendar.opts, *y = &b->calendar.opts;
    if (!same_str(a->plan, b->plan) || !same_str(a->name, b->name) || a->from != b->from ||
        a->to != b->to || a->gap_allowed != b->gap_allowed ||
        strcmp(a->currency, b->currency) != 0 || a->exponent != b->exponent ||
        a->calendar.preset != b->calendar.preset || x->kind != y->kind ||
        x->start_month != y->start_month || x->label != y->label ||
        x->year_end_weekday != y->year_end_weekday || x->year_end_rule != y->year_end_rule ||
        x->week53_month != y->week53_month || x->weekend != y->weekend ||
        x->nholiday_ranges != y->nholiday_ranges || x->nworkday_ranges != y->nworkday_ranges ||
        !same_ranges(x->holiday_ranges, y->holiday_ranges, x->nholiday_ranges) ||
        !same_ranges(x->workday_ranges, y->workday_ranges, x->nworkday_ranges) ||
        a->rounding_mode != b->rounding_mode || a->policy != b->policy ||
        a->ncomponents != b->ncomponents || a->draw.kind != b->draw.kind ||
        a->draw.amount != b->draw.amount || a->draw.period != b->draw.period ||
        a->draw.forgive_on != b->draw.forgive_on)
        return false;
    for (size_t i = 0; i < a->ncomponents; i++)
        if (!same_component(&a->components[i], &b->components[i]))
            return false;
    return true;
}

uint32_t spi_cplan_grain(uint32_t period)
{
    return period == SPI_CPERIOD_MONTH     ? SP_GRAIN_MONTH
           : period == SPI_CPERIOD_QUARTER ? SP_GRAIN_QUARTER
                                           : SP_GRAIN_YEAR;
}

bool spi_cplan_period_of_grain(uint32_t grain, uint32_t *period)
{
    for (uint32_t p = SPI_CPERIOD_MONTH; p <= SPI_CPERIOD_YEAR; p++)
        if (spi_cplan_grain(p) == grain) {
            *period = p;
            return true;
        }
    return false;
}
