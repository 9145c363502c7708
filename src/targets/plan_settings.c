/*
 * The settings document of a plan (docs/target.md, "Settings"): read strictly with the
 * record reader (every error names its path, line and column), resolved against the
 * plan's hierarchy (level names, node ids), and written back in canonical form: members
 * in schema order, maps in ascending byte order of their keys, amounts in major units.
 */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static const char *const method_names[] = { "even", "driver", "blend", "growth" };
static const char *const null_names[] = { "error", "even" };
const char *const spi_weighting_names[2] = { "profile", "working_days" };
static const char *const season_names[] = { "even", "shares", "average_share",
                                            "ratio_to_moving_average" };
static const char *const policy_names[] = { "reject", "normalise" };
static const char *const zero_names[] = { "error", "even" };
static const char *const average_names[] = { "mean", "median" };

/* ---- freeing ---- */

static void free_srule(sp_ctx *ctx, spi_srule *r)
{
    spi_free(ctx, r->driver);
    for (size_t i = 0; i < r->nblend; i++)
        spi_free(ctx, r->blend_drivers != NULL ? r->blend_drivers[i] : NULL);
    spi_free(ctx, r->blend_drivers);
    spi_free(ctx, r->blend_weights);
}

void spi_settings_free(sp_ctx *ctx, spi_settings *s)
{
    for (uint32_t l = 0; s->level_rules != NULL && l < s->nlevels; l++)
        free_srule(ctx, &s->level_rules[l]);
    spi_free(ctx, s->level_rules);
    for (size_t i = 0; i < s->nnode_rules; i++)
        free_srule(ctx, &s->node_rules[i].rule);
    spi_free(ctx, s->node_rules);
    spi_free(ctx, s->bounds);
    spi_free(ctx, s->limits);
    for (size_t i = 0; i < s->nlocks; i++)
        spi_free(ctx, s->locks[i].reason);
    spi_free(ctx, s->locks);
    for (size_t i = 0; i < s->nprofiles; i++)
        spi_free(ctx, s->profiles[i].shares);
    spi_free(ctx, s->profiles);
    memset(s, 0, sizeof *s);
}

int spi_settings_empty(sp_ctx *ctx, uint32_t nlevels, spi_settings *out)
{
    memset(out, 0, sizeof *out);
    out->level_rules = spi_calloc(ctx, nlevels, sizeof *out->level_rules);
    if (out->level_rules == NULL)
        return SP_ENOMEM;
    out->nlevels = nlevels;
    for (uint32_t l = 0; l < nlevels; l++)
        out->level_rules[l].method = SPI_NO_RULE;
    return SP_OK;
}

/* ---- reading ---- */

typedef struct reader {
    const sp_target_plan *plan;
    const sp_hierarchy *h;
    const spi_rdoc *doc;
    sp_ctx *ctx;
    spi_settings *s;
} reader;

static int dup_text(reader *r, const char *text, size_t len, char **out)
{
    return spi_set_strdup(r->ctx, out, text, len);
}

/* A string member that names a driver: 1 to 255 bytes, no NUL. */
static int read_driver_name(reader *r, const spi_rnode *obj, const char *key, char **out)
{
    const char *text;
    size_t len;
    int rc = spi_rec_string(r->doc, obj, key, SPI_REC_NO_NUL, &text, &len);
    if (rc != SP_OK)
        return rc;
    const spi_rnode *v = spi_rnode_member(r->doc, obj, key);
    if (len == 0 || len > SPI_DRIVER_NAME_MAX)
        return spi_rec_fail(r->doc, v, "a driver name has 1 to %u bytes", SPI_DRIVER_NAME_MAX);
    return dup_text(r, text, len, out);
}

/* Members that apply to one method only are refused with the others. */
static int refuse(reader *r, const spi_rnode *obj, const char *key, const char *why)
{
    const spi_rnode *v = spi_rnode_member(r->doc, obj, key);
    if (v == NULL)
        return SP_OK;
    return spi_rec_fail(r->doc, v, "'%s' %s", key, why);
}

static int read_optional_rate(reader *r, const spi_rnode *obj, const char *key, sp_dec none,
                              sp_dec *out)
{
    const spi_rnode *v = spi_rnode_member(r->doc, obj, key);
    *out = none;
    if (v == NULL || spi_rnode_type(v) == SPI_RNULL)
        return SP_OK;
    return spi_rec_dec(r->doc, obj, key, SPI_REC_PERCENT, -SP_DEC_ONE, INT64_MAX - SP_DEC_ONE,
                       out);
}

static int read_unit(reader *r, const spi_rnode *obj, const char *key, int64_t *out)
{
    int64_t unit = 0;
    int rc = spi_rec_money_major(r->doc, obj, key, SPI_REC_OPTIONAL, r->plan->exponent, &unit);
    if (rc != SP_OK)
        return rc;
    if (unit < 0)
        return spi_rec_fail(r->doc, spi_rnode_member(r->doc, obj, key),
                            "a rounding unit is not negative (0: none)");
    *out = unit;
    return SP_OK;
}

static int read_rule(reader *r, const spi_rnode *obj, spi_srule *rule)
{
    static const char *const known[] = { "method", "driver", "baseline", "blend", "null",
                                         "floor",  "cap",    "unit" };
    int rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known));
    if (rc != SP_OK)
        return rc;
    memset(rule, 0, sizeof *rule);
    rule->floor = SP_DECOMP_NO_FLOOR;
    rule->cap = SP_DECOMP_NO_CAP;
    if ((rc = spi_rec_enum(r->doc, obj, "method", 0, method_names, SPI_ARRAY_LEN(method_names),
                           &rule->method)) != SP_OK)
        return rc;
    const uint32_t m = rule->method;
    if (m != SP_DECOMP_DRIVER && (rc = refuse(r, obj, "driver", "applies to method 'driver' only")))
        return rc;
    if (m != SP_DECOMP_GROWTH &&
        (rc = refuse(r, obj, "baseline", "applies to method 'growth' only")) != SP_OK)
        return rc;
    if (m != SP_DECOMP_BLEND && (rc = refuse(r, obj, "blend", "applies to method 'blend' only")))
        return rc;
    if (m != SP_DECOMP_GROWTH && ((rc = refuse(r, obj, "floor", "applies to method 'growth' only")) ||
                                  (rc = refuse(r, obj, "cap", "applies to method 'growth' only"))))
        return rc;
    if (m == SP_DECOMP_EVEN && (rc = refuse(r, obj, "null", "does not apply to method 'even'")))
        return rc;
    if (m == SP_DECOMP_DRIVER)
        rc = read_driver_name(r, obj, "driver", &rule->driver);
    else if (m == SP_DECOMP_GROWTH)
        rc = read_driver_name(r, obj, "baseline", &rule->driver);
    if (rc != SP_OK)
        return rc;
    if (m == SP_DECOMP_BLEND) {
        const spi_rnode *arr;
        size_t n;
        if ((rc = spi_rec_array(r->doc, obj, "blend", 0, &arr, &n)) != SP_OK)
            return rc;
        if (n == 0)
            return spi_rec_fail(r->doc, arr, "a blend needs at least one driver");
        if ((rule->blend_drivers = spi_calloc(r->ctx, n, sizeof *rule->blend_drivers)) == NULL ||
            (rule->blend_weights = spi_calloc(r->ctx, n, sizeof *rule->blend_weights)) == NULL)
            return SP_ENOMEM;
        rule->nblend = n;
        bool any = false;
        for (size_t i = 0; i < n; i++) {
            static const char *const bknown[] = { "driver", "weight" };
            const spi_rnode *e = spi_rnode_at(r->doc, arr, i);
            if ((rc = spi_rec_check_members(r->doc, e, bknown, SPI_ARRAY_LEN(bknown))) != SP_OK ||
                (rc = read_driver_name(r, e, "driver", &rule->blend_drivers[i])) != SP_OK ||
                (rc = spi_rec_dec(r->doc, e, "weight", SPI_REC_PERCENT, 0, INT64_MAX,
                                  &rule->blend_weights[i])) != SP_OK)
                return rc;
            for (size_t j = 0; j < i; j++)
                if (strcmp(rule->blend_drivers[j], rule->blend_drivers[i]) == 0)
                    return spi_rec_fail(r->doc, spi_rnode_member(r->doc, e, "driver"),
                                        "driver '%s' is already in blend[%zu]",
                                        rule->blend_drivers[i], j);
            any |= rule->blend_weights[i] > 0;
        }
        if (!any)
            return spi_rec_fail(r->doc, arr, "every blend weight is zero");
    }
    if (m != SP_DECOMP_EVEN &&
        (rc = spi_rec_enum(r->doc, obj, "null", SPI_REC_OPTIONAL, null_names,
                           SPI_ARRAY_LEN(null_names), &rule->null_policy)) != SP_OK)
        return rc;
    if (m == SP_DECOMP_GROWTH) {
        if ((rc = read_optional_rate(r, obj, "floor", SP_DECOMP_NO_FLOOR, &rule->floor)) != SP_OK ||
            (rc = read_optional_rate(r, obj, "cap", SP_DECOMP_NO_CAP, &rule->cap)) != SP_OK)
            return rc;
        if (rule->floor != SP_DECOMP_NO_FLOOR && rule->cap != SP_DECOMP_NO_CAP &&
            rule->cap < rule->floor)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, obj, "cap"),
                                "the growth cap is below the growth floor");
    }
    return read_unit(r, obj, "unit", &rule->unit);
}

/* The node whose id is the member name of `v`. */
static int member_node(reader *r, const spi_rnode *v, uint32_t *node)
{
    size_t len;
    const char *key = spi_rnode_key(r->doc, v, &len);
    if (sp_hierarchy_find(r->h, key, len, node) != SP_OK)
        return spi_rec_fail(r->doc, v, "no node of the hierarchy has this id");
    return SP_OK;
}

/* Sorting per-node records by their node's id bytes. */
typedef struct sort_key {
    const char *id;
    size_t len;
    size_t pos;
} sort_key;

static int compare_keys(const void *a, const void *b)
{
    const sort_key *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->id, y->id, n);
    if (c != 0)
        return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

/* Reorder items (each starting with its uint32_t node) by id. */
static int sort_by_id(reader *r, void *items, size_t n, size_t size)
{
    if (n < 2)
        return SP_OK;
    sort_key *k = spi_malloc_array(r->ctx, n, sizeof *k + size);
    if (k == NULL)
        return SP_ENOMEM;
    char *copy = (char *)(k + n);
    memcpy(copy, items, n * size);
    for (size_t i = 0; i < n; i++) {
        uint32_t node;
        memcpy(&node, copy + i * size, sizeof node);
        (void)sp_dict_id(r->h->ids, node, &k[i].id, &k[i].len);
        k[i].pos = i;
    }
    qsort(k, n, sizeof *k, compare_keys);
    for (size_t i = 0; i < n; i++)
        memcpy((char *)items + i * size, copy + k[i].pos * size, size);
    spi_free(r->ctx, k);
    return SP_OK;
}

/* An object member of the root that maps node ids to objects: its members and count. */
static int node_map(reader *r, const spi_rnode *root, const char *key, const spi_rnode **obj,
                    size_t *n)
{
    *obj = NULL;
    *n = 0;
    int rc = spi_rec_object(r->doc, root, key, SPI_REC_OPTIONAL, obj);
    if (rc == SP_OK && *obj != NULL)
        *n = spi_rnode_count(*obj);
    return rc;
}

static int read_levels(reader *r, const spi_rnode *root)
{
    const spi_rnode *obj = NULL;
    int rc = spi_rec_object(r->doc, root, "levels", SPI_REC_OPTIONAL, &obj);
    if (rc != SP_OK || obj == NULL)
        return rc;
    const sp_hierarchy *h = r->h;
    for (size_t i = 0; i < spi_rnode_count(obj); i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, obj, i);
        size_t len;
        const char *key = spi_rnode_key(r->doc, v, &len);
        uint32_t level = UINT32_MAX;
        for (uint32_t l = 0; l < h->nlevels; l++)
            if (strlen(h->levels[l]) == len && memcmp(h->levels[l], key, len) == 0)
                level = l;
        if (level == UINT32_MAX) {
            if (h->nlevels == 0)
                return spi_rec_fail(r->doc, v, "the hierarchy has no level names (name them with "
                                               "sp_hierarchy_set_levels, or set rules per node)");
            size_t k = spi_rec_suggest(key, len, (const char *const *)h->levels, h->nlevels);
            if (k != SIZE_MAX)
                return spi_rec_fail(r->doc, v, "no level has this name; did you mean '%s'?",
                                    h->levels[k]);
            return spi_rec_fail(r->doc, v, "no level has this name");
        }
        if (level == 0)
            return spi_rec_fail(r->doc, v, "the root's level has no rule: a level's rule splits "
                                           "each parent among its children at that level");
        if (level >= r->s->nlevels)
            return spi_rec_fail(r->doc, v, "no node is at this level");
        if ((rc = read_rule(r, v, &r->s->level_rules[level])) != SP_OK)
            return rc;
    }
    return SP_OK;
}

static int read_node_rules(reader *r, const spi_rnode *root)
{
    const spi_rnode *obj;
    size_t n;
    int rc = node_map(r, root, "nodes", &obj, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((r->s->node_rules = spi_calloc(r->ctx, n, sizeof *r->s->node_rules)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, obj, i);
        spi_snode_rule *nr = &r->s->node_rules[i];
        if ((rc = member_node(r, v, &nr->node)) != SP_OK)
            return rc;
        if (r->h->tree.count[nr->node] == 0)
            return spi_rec_fail(r->doc, v, "the node has no children to split among");
        r->s->nnode_rules++;
        if ((rc = read_rule(r, v, &nr->rule)) != SP_OK)
            return rc;
    }
    return sort_by_id(r, r->s->node_rules, n, sizeof *r->s->node_rules);
}

static int read_bounds(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "min", "max" };
    const spi_rnode *obj;
    size_t n;
    int rc = node_map(r, root, "bounds", &obj, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((r->s->bounds = spi_calloc(r->ctx, n, sizeof *r->s->bounds)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, obj, i);
        spi_sbound *b = &r->s->bounds[i];
        b->min = 0;
        b->max = INT64_MAX;
        if ((rc = member_node(r, v, &b->node)) != SP_OK ||
            (rc = spi_rec_check_members(r->doc, v, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = spi_rec_money_major(r->doc, v, "min", SPI_REC_OPTIONAL, r->plan->exponent,
                                      &b->min)) != SP_OK ||
            (rc = spi_rec_money_major(r->doc, v, "max", SPI_REC_OPTIONAL, r->plan->exponent,
                                      &b->max)) != SP_OK)
            return rc;
        if (spi_rnode_count(v) == 0)
            return spi_rec_fail(r->doc, v, "a bound needs 'min', 'max' or both");
        if (b->min < 0)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, v, "min"), "min is negative");
        if (b->max < b->min)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, v, "max"), "max is below min");
        r->s->nbounds++;
    }
    return sort_by_id(r, r->s->bounds, n, sizeof *r->s->bounds);
}

static int read_limits(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "floor", "cap" };
    const spi_rnode *obj;
    size_t n;
    int rc = node_map(r, root, "growth_limits", &obj, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((r->s->limits = spi_calloc(r->ctx, n, sizeof *r->s->limits)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, obj, i);
        spi_slimit *g = &r->s->limits[i];
        if ((rc = member_node(r, v, &g->node)) != SP_OK ||
            (rc = spi_rec_check_members(r->doc, v, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = read_optional_rate(r, v, "floor", SP_DECOMP_NO_FLOOR, &g->floor)) != SP_OK ||
            (rc = read_optional_rate(r, v, "cap", SP_DECOMP_NO_CAP, &g->cap)) != SP_OK)
            return rc;
        if (g->floor == SP_DECOMP_NO_FLOOR && g->cap == SP_DECOMP_NO_CAP)
            return spi_rec_fail(r->doc, v, "growth limits need 'floor', 'cap' or both");
        if (g->floor != SP_DECOMP_NO_FLOOR && g->cap != SP_DECOMP_NO_CAP && g->cap < g->floor)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, v, "cap"),
                                "the growth cap is below the growth floor");
        r->s->nlimits++;
    }
    return sort_by_id(r, r->s->limits, n, sizeof *r->s->limits);
}

static int read_locks(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "value", "reason" };
    const spi_rnode *obj;
    size_t n;
    int rc = node_map(r, root, "locks", &obj, &n);
    if (rc != SP_OK || n == 0)
        return rc;
    if ((r->s->locks = spi_calloc(r->ctx, n, sizeof *r->s->locks)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, obj, i);
        spi_slock *k = &r->s->locks[i];
        const char *reason;
        size_t len;
        if ((rc = member_node(r, v, &k->node)) != SP_OK ||
            (rc = spi_rec_check_members(r->doc, v, known, SPI_ARRAY_LEN(known))) != SP_OK ||
            (rc = spi_rec_money_major(r->doc, v, "value", 0, r->plan->exponent, &k->value)) !=
                SP_OK ||
            (rc = spi_rec_string(r->doc, v, "reason", SPI_REC_NO_NUL, &reason, &len)) != SP_OK)
            return rc;
        if (k->node == r->h->tree.root)
            return spi_rec_fail(r->doc, v, "the root cannot be locked: its target is the total");
        if (k->value < 0)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, v, "value"),
                                "a locked value is not negative");
        if (len == 0)
            return spi_rec_fail(r->doc, spi_rnode_member(r->doc, v, "reason"),
                                "a lock needs a reason, kept for audit");
        r->s->nlocks++;
        if ((rc = dup_text(r, reason, len, &k->reason)) != SP_OK)
            return rc;
    }
    return sort_by_id(r, r->s->locks, n, sizeof *r->s->locks);
}

static int read_profile(reader *r, const spi_rnode *v, spi_sprofile *p)
{
    static const char *const known[] = { "method", "shares", "policy", "years", "zero",
                                         "average" };
    int rc = spi_rec_check_members(r->doc, v, known, SPI_ARRAY_LEN(known));
    if (rc != SP_OK || (rc = spi_rec_enum(r->doc, v, "method", 0, season_names,
                                          SPI_ARRAY_LEN(season_names), &p->method)))
        return rc;
    const bool history = p->method >= SPI_SEASON_AVERAGE_SHARE;
    if ((p->method != SPI_SEASON_SHARES &&
         ((rc = refuse(r, v, "shares", "applies to method 'shares' only")) ||
          (rc = refuse(r, v, "policy", "applies to method 'shares' only")))) ||
        (!history && ((rc = refuse(r, v, "years", "applies to the history methods only")) ||
                      (rc = refuse(r, v, "zero", "applies to the history methods only")))) ||
        (p->method != SPI_SEASON_RATIO_TO_MA &&
         (rc = refuse(r, v, "average", "applies to method 'ratio_to_moving_average' only"))))
        return rc;
    if (p->method == SPI_SEASON_SHARES) {
        const spi_rnode *arr;
        size_t n;
        if ((rc = spi_rec_enum(r->doc, v, "policy", SPI_REC_OPTIONAL, policy_names,
                               SPI_ARRAY_LEN(policy_names), &p->policy)) != SP_OK ||
            (rc = spi_rec_array(r->doc, v, "shares", 0, &arr, &n)) != SP_OK)
            return rc;
        if (n != r->plan->nperiods)
            return spi_rec_fail(r->doc, arr, "%zu shares for the %u periods of the plan's year",
                                n, (unsigned)r->plan->nperiods);
        if ((p->shares = spi_malloc_array(r->ctx, n, sizeof *p->shares)) == NULL)
            return SP_ENOMEM;
        int64_t sum = 0;
        for (size_t i = 0; i < n; i++) {
            if ((rc = spi_rec_dec(r->doc, spi_rnode_at(r->doc, arr, i), NULL, SPI_REC_PERCENT, 0,
                                  SP_DEC_ONE * 1000, &p->shares[i])) != SP_OK)
                return rc;
            sum += p->shares[i]; /* at most 53 * 1000 * 10^9 */
        }
        if (sum == 0)
            return spi_rec_fail(r->doc, arr, "every share is zero");
        if (p->policy == SP_PROFILE_REJECT && sum != SP_DEC_ONE) {
            char text[SP_TEXT_MAX];
            sp_dec_format(sum, SP_TEXT_PERCENT, text, sizeof text, NULL);
            return spi_rec_fail(r->doc, arr, "the shares sum to %s, not 100%% (or set \"policy\": "
                                             "\"normalise\")",
                                text);
        }
    }
    if (history) {
        int64_t years = 0;
        if ((rc = spi_rec_int(r->doc, v, "years", SPI_REC_OPTIONAL,
                              p->method == SPI_SEASON_RATIO_TO_MA ? 2 : 1, SPI_HISTORY_YEARS_MAX,
                              &years)) != SP_OK ||
            (rc = spi_rec_enum(r->doc, v, "zero", SPI_REC_OPTIONAL, zero_names,
                               SPI_ARRAY_LEN(zero_names), &p->zero_policy)) != SP_OK)
            return rc;
        p->years = (uint32_t)years;
    }
    if (p->method == SPI_SEASON_RATIO_TO_MA)
        rc = spi_rec_enum(r->doc, v, "average", SPI_REC_OPTIONAL, average_names,
                          SPI_ARRAY_LEN(average_names), &p->average);
    return rc;
}

static int read_seasonality(reader *r, const spi_rnode *root)
{
    static const char *const known[] = { "weighting", "unit", "profiles" };
    const spi_rnode *obj = NULL;
    int rc = spi_rec_object(r->doc, root, "seasonality", SPI_REC_OPTIONAL, &obj);
    if (rc != SP_OK || obj == NULL)
        return rc;
    if ((rc = spi_rec_check_members(r->doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = spi_rec_enum(r->doc, obj, "weighting", SPI_REC_OPTIONAL, spi_weighting_names,
                           SPI_ARRAY_LEN(spi_weighting_names), &r->s->weighting)) != SP_OK ||
        (rc = read_unit(r, obj, "unit", &r->s->period_unit)) != SP_OK)
        return rc;
    const spi_rnode *map;
    size_t n;
    if ((rc = node_map(r, obj, "profiles", &map, &n)) != SP_OK || n == 0)
        return rc;
    if ((r->s->profiles = spi_calloc(r->ctx, n, sizeof *r->s->profiles)) == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const spi_rnode *v = spi_rnode_at(r->doc, map, i);
        spi_sprofile *p = &r->s->profiles[i];
        if ((rc = member_node(r, v, &p->node)) != SP_OK)
            return rc;
        r->s->nprofiles++;
        if ((rc = read_profile(r, v, p)) != SP_OK)
            return rc;
    }
    return sort_by_id(r, r->s->profiles, n, sizeof *r->s->profiles);
}

int spi_settings_read(const sp_target_plan *plan, const spi_rdoc *doc, const spi_rnode *obj,
                      spi_settings *out)
{
    static const char *const known[] = { "levels", "bounds", "growth_limits", "locks",
                                         "nodes",  "seasonality" };
    spi_settings s;
    int rc = spi_settings_empty(plan->ctx, plan->sh->h->tree.levels, &s);
    if (rc != SP_OK)
        return rc;
    reader r = { plan, plan->sh->h, doc, plan->ctx, &s };
    if ((rc = spi_rec_check_members(doc, obj, known, SPI_ARRAY_LEN(known))) != SP_OK ||
        (rc = read_levels(&r, obj)) != SP_OK || (rc = read_node_rules(&r, obj)) != SP_OK ||
        (rc = read_bounds(&r, obj)) != SP_OK || (rc = read_limits(&r, obj)) != SP_OK ||
        (rc = read_locks(&r, obj)) != SP_OK || (rc = read_seasonality(&r, obj)) != SP_OK) {
        spi_settings_free(plan->ctx, &s);
        return rc;
    }
    *out = s;
    return SP_OK;
}

/* ---- writing ---- */

static void key_node(const sp_target_plan *plan, spi_writer *w, uint32_t node)
{
    const char *id;
    size_t len;
    (void)sp_dict_id(plan->sh->h->ids, node, &id, &len);
    spi_writer_key_n(w, id, len);
}

static void write_rule(const sp_target_plan *plan, const spi_srule *r, spi_writer *w)
{
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "method", method_names, SPI_ARRAY_LEN(method_names), r->method);
    if (r->method == SP_DECOMP_DRIVER || r->method == SP_DECOMP_GROWTH) {
        spi_writer_key(w, r->method == SP_DECOMP_DRIVER ? "driver" : "baseline");
        spi_writer_cstr(w, r->driver);
    }
    if (r->method == SP_DECOMP_BLEND) {
        spi_writer_key(w, "blend");
        spi_writer_begin_array(w);
        for (size_t i = 0; i < r->nblend; i++) {
            spi_writer_begin_object(w);
            spi_writer_key(w, "driver");
            spi_writer_cstr(w, r->blend_drivers[i]);
            spi_writer_member_dec(w, "weight", r->blend_weights[i]);
            spi_writer_end_object(w);
        }
        spi_writer_end_array(w);
    }
    if (r->method != SP_DECOMP_EVEN)
        spi_writer_member_enum(w, "null", null_names, SPI_ARRAY_LEN(null_names), r->null_policy);
    if (r->method == SP_DECOMP_GROWTH && r->floor != SP_DECOMP_NO_FLOOR)
        spi_writer_member_dec(w, "floor", r->floor);
    if (r->method == SP_DECOMP_GROWTH && r->cap != SP_DECOMP_NO_CAP)
        spi_writer_member_dec(w, "cap", r->cap);
    if (r->unit > 0) {
        spi_writer_key(w, "unit");
        spi_writer_fixed(w, r->unit, plan->exponent);
    }
    spi_writer_end_object(w);
}

void spi_settings_write(const sp_target_plan *plan, const spi_settings *s, spi_writer *w)
{
    const sp_hierarchy *h = plan->sh->h;
    spi_writer_begin_object(w);
    spi_writer_key(w, "levels");
    spi_writer_begin_object(w);
    /* Levels with rules in byte order of their names: a selection, levels are few. */
    const char *prev = NULL;
    for (;;) {
        uint32_t next = UINT32_MAX;
        for (uint32_t l = 1; l < s->nlevels && l < h->nlevels; l++)
            if (s->level_rules[l].method != SPI_NO_RULE &&
                (prev == NULL || strcmp(h->levels[l], prev) > 0) &&
                (next == UINT32_MAX || strcmp(h->levels[l], h->levels[next]) < 0))
                next = l;
        if (next == UINT32_MAX)
            break;
        spi_writer_key(w, h->levels[next]);
        write_rule(plan, &s->level_rules[next], w);
        prev = h->levels[next];
    }
    spi_writer_end_object(w);

    spi_writer_key(w, "nodes");
    spi_writer_begin_object(w);
    for (size_t i = 0; i < s->nnode_rules; i++) {
        key_node(plan, w, s->node_rules[i].node);
        write_rule(plan, &s->node_rules[i].rule, w);
    }
    spi_writer_end_object(w);

    spi_writer_key(w, "bounds");
    spi_writer_begin_object(w);
    for (size_t i = 0; i < s->nbounds; i++) {
        key_node(plan, w, s->bounds[i].node);
        spi_writer_begin_object(w);
        spi_writer_key(w, "min");
        spi_writer_fixed(w, s->bounds[i].min, plan->exponent);
        if (s->bounds[i].max != INT64_MAX) {
            spi_writer_key(w, "max");
            spi_writer_fixed(w, s->bounds[i].max, plan->exponent);
        }
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);

    spi_writer_key(w, "growth_limits");
    spi_writer_begin_object(w);
    for (size_t i = 0; i < s->nlimits; i++) {
        key_node(plan, w, s->limits[i].node);
        spi_writer_begin_object(w);
        if (s->limits[i].floor != SP_DECOMP_NO_FLOOR)
            spi_writer_member_dec(w, "floor", s->limits[i].floor);
        if (s->limits[i].cap != SP_DECOMP_NO_CAP)
            spi_writer_member_dec(w, "cap", s->limits[i].cap);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);

    spi_writer_key(w, "locks");
    spi_writer_begin_object(w);
    for (size_t i = 0; i < s->nlocks; i++) {
        key_node(plan, w, s->locks[i].node);
        spi_writer_begin_object(w);
        spi_writer_key(w, "value");
        spi_writer_fixed(w, s->locks[i].value, plan->exponent);
        spi_writer_key(w, "reason");
        spi_writer_cstr(w, s->locks[i].reason);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);

    spi_writer_key(w, "seasonality");
    spi_writer_begin_object(w);
    spi_writer_member_enum(w, "weighting", spi_weighting_names, SPI_ARRAY_LEN(spi_weighting_names),
                           s->weighting);
    if (s->period_unit > 0) {
        spi_writer_key(w, "unit");
        spi_writer_fixed(w, s->period_unit, plan->exponent);
    }
    spi_writer_key(w, "profiles");
    spi_writer_begin_object(w);
    for (size_t i = 0; i < s->nprofiles; i++) {
        const spi_sprofile *p = &s->profiles[i];
        key_node(plan, w, p->node);
        spi_writer_begin_object(w);
        spi_writer_member_enum(w, "method", season_names, SPI_ARRAY_LEN(season_names), p->method);
        if (p->method == SPI_SEASON_SHARES) {
            spi_writer_key(w, "shares");
            spi_writer_begin_array(w);
            for (uint32_t k = 0; k < plan->nperiods; k++)
                spi_writer_dec(w, p->shares[k]);
            spi_writer_end_array(w);
            spi_writer_member_enum(w, "policy", policy_names, SPI_ARRAY_LEN(policy_names),
                                   p->policy);
        }
        if (p->method >= SPI_SEASON_AVERAGE_SHARE) {
            if (p->years > 0)
                spi_writer_member_int(w, "years", p->years);
            spi_writer_member_enum(w, "zero", zero_names, SPI_ARRAY_LEN(zero_names),
                                   p->zero_policy);
        }
        if (p->method == SPI_SEASON_RATIO_TO_MA)
            spi_writer_member_enum(w, "average", average_names, SPI_ARRAY_LEN(average_names),
                                   p->average);
        spi_writer_end_object(w);
    }
    spi_writer_end_object(w);
    spi_writer_end_object(w);
    spi_writer_end_object(w);
}
