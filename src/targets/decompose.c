/*
 * Decomposition: the root's total split down the hierarchy, one sibling group at a time,
 * parents before children, each group through sp_allocate (so children always sum to
 * their parent). This file turns a group's rule into sp_allocate's weights, bounds and
 * locks, and reports where the results landed (flags, growth).
 *
 * Memory: the whole run allocates one block for its results and, for sibling groups of
 * more than GROUP_STACK nodes, one scratch block sized for the largest group; smaller
 * groups work on the stack. Nothing is allocated per node.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "decompose.h"

#define GROUP_STACK 64
/* The largest growth cap: 1 + cap must fit sp_dec. */
#define CAP_LIMIT (INT64_MAX - SP_DEC_ONE)

static const size_t rule_sizes[] = { 0, sizeof(sp_decomp_rule) };
static const size_t output_sizes[] = { 0, sizeof(sp_decomp_output) };

SPI_DEFINE_INIT(sp_decomp_rule, rule_sizes, SP_DECOMP_RULE_VERSION, SP_DECOMP_RULE_INIT)

SPI_DEFINE_INIT(sp_decomp_output, output_sizes, SP_DECOMP_OUTPUT_VERSION, SP_DECOMP_OUTPUT_INIT)

/* ---- spi_sparse vectors sorted by node ---- */

static uint32_t node_at(const spi_sparse *s, size_t size, size_t i)
{
    uint32_t node;
    memcpy(&node, (const char *)s->items + i * size, sizeof node);
    return node;
}

/* The position of `node`, or where it would go; *found says which. */
static size_t sparse_find(const spi_sparse *s, size_t size, uint32_t node, bool *found)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (node_at(s, size, mid) < node)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < s->n && node_at(s, size, lo) == node;
    return lo;
}

static void *sparse_get(const spi_sparse *s, size_t size, uint32_t node)
{
    if (s->n == 0)
        return NULL;
    bool found;
    size_t pos = sparse_find(s, size, node, &found);
    return found ? (char *)s->items + pos * size : NULL;
}

static int sparse_reserve(sp_ctx *ctx, spi_sparse *s, size_t size)
{
    if (s->n < s->cap)
        return SP_OK;
    size_t cap = s->cap < 8 ? 8 : s->cap * 2;
    void *p = spi_realloc_array(ctx, s->items, cap, size);
    if (p == NULL)
        return SP_ENOMEM;
    s->items = p;
    s->cap = cap;
    return SP_OK;
}

/* After sparse_reserve: open a slot at pos. */
static void *sparse_insert(spi_sparse *s, size_t size, size_t pos)
{
    char *base = s->items;
    memmove(base + (pos + 1) * size, base + pos * size, (s->n - pos) * size);
    s->n++;
    return base + pos * size;
}

static void sparse_remove(spi_sparse *s, size_t size, size_t pos)
{
    char *base = s->items;
    memmove(base + pos * size, base + (pos + 1) * size, (s->n - pos - 1) * size);
    s->n--;
}

/* ---- lifecycle ---- */

static void free_rule(sp_ctx *ctx, spi_rule *r)
{
    spi_free(ctx, r->blend_drivers);
    spi_free(ctx, r->blend_weights);
    spi_free(ctx, r->blend_shares);
    memset(r, 0, sizeof *r);
}

int sp_decomp_new(sp_decomp **out, const sp_hierarchy *h)
{
    if (h == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "decompose: out is NULL");
    int rc = spi_hierarchy_check_valid(h, "decompose");
    if (rc != SP_OK)
        return rc;
    sp_decomp *d = spi_calloc(h->ctx, 1, sizeof *d);
    if (d == NULL)
        return SP_ENOMEM;
    d->levels = h->tree.levels;
    if ((d->level_rules = spi_calloc(h->ctx, d->levels, sizeof *d->level_rules)) == NULL) {
        spi_free(h->ctx, d);
        return SP_ENOMEM;
    }
    d->ctx = h->ctx;
    d->h = h;
    d->generation = h->generation;
    d->n = h->tree.n;
    *out = d;
    return SP_OK;
}

void sp_decomp_free(sp_decomp *d)
{
    if (d == NULL)
        return;
    sp_ctx *ctx = d->ctx;
    for (uint32_t i = 0; i < d->ndrivers; i++) {
        spi_free(ctx, d->drivers[i].name);
        if (d->drivers[i].owned) {
            spi_free(ctx, d->drivers[i].values);
            spi_free(ctx, d->drivers[i].valid);
        }
    }
    spi_free(ctx, d->drivers);
    for (uint32_t l = 0; l < d->levels; l++)
        free_rule(ctx, &d->level_rules[l]);
    spi_free(ctx, d->level_rules);
    spi_node_rule *nr = d->node_rules.items;
    for (size_t i = 0; i < d->node_rules.n; i++)
        free_rule(ctx, &nr[i].rule);
    spi_free(ctx, d->node_rules.items);
    spi_free(ctx, d->limits.items);
    spi_lock *lk = d->locks.items;
    for (size_t i = 0; i < d->locks.n; i++)
        spi_free(ctx, lk[i].reason);
    spi_free(ctx, d->locks.items);
    spi_free(ctx, d->min);
    spi_free(ctx, d->max);
    spi_free(ctx, d);
}

static int check_node_index(const sp_decomp *d, uint32_t node)
{
    if (node >= d->n)
        return spi_fail(d->ctx, SP_ENOTFOUND, "decompose: node index %u is beyond the %u nodes",
                        (unsigned)node, (unsigned)d->n);
    return SP_OK;
}

/* ---- drivers ---- */

static const char *driver_name(const sp_decomp *d, uint32_t column, char *buf)
{
    const char *name = d->drivers[column].name;
    return spi_quote(buf, name, strlen(name));
}

/* The column of a driver name, or UINT32_MAX; records nothing (a miss may be fine). */
static uint32_t driver_column(const sp_decomp *d, const char *name)
{
    for (uint32_t i = 0; i < d->ndrivers; i++)
        if (strcmp(d->drivers[i].name, name) == 0)
            return i;
    return UINT32_MAX;
}

int sp_decomp_find_driver(const sp_decomp *d, const char *name, uint32_t *column)
{
    if (d == NULL)
        return SP_EINVAL;
    if (name == NULL || column == NULL)
        return spi_fail(d->ctx, SP_EINVAL, "decompose: %s is NULL",
                        name == NULL ? "name" : "column");
    uint32_t c = driver_column(d, name);
    if (c != UINT32_MAX) {
        *column = c;
        return SP_OK;
    }
    char q[SPI_QUOTE_CAP];
    return spi_fail(d->ctx, SP_ENOTFOUND, "decompose: no driver is named %s",
                    spi_quote(q, name, strlen(name)));
}

/* A driver column, copied (`copy`) or borrowed from a caller that outlives d. */
static int add_driver(sp_decomp *d, const char *name, const int64_t *values,
                      const uint8_t *valid, size_t n, uint32_t *column, bool copy)
{
    if (d == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = d->ctx;
    char q[SPI_QUOTE_CAP];
    size_t at;
    const char *why;
    if (name == NULL || name[0] == '\0')
        return spi_fail(ctx, SP_EINVAL, "decompose: a driver name is %s",
                        name == NULL ? "NULL" : "empty");
    size_t len = strlen(name);
    if (!spi_utf8_check((const uint8_t *)name, len, &at, &why))
        return spi_fail(ctx, SP_EINVAL,
                        "decompose: driver name %s is not valid UTF-8: %s at byte %zu",
                        spi_quote(q, name, len), why, at);
    uint32_t existing = driver_column(d, name);
    if (existing != UINT32_MAX)
        return spi_fail(ctx, SP_ECONFLICT, "decompose: driver %s already exists (column %u)",
                        spi_quote(q, name, len), (unsigned)existing);
    if (values == NULL)
        return spi_fail(ctx, SP_EINVAL, "decompose: driver %s: values is NULL",
                        spi_quote(q, name, len));
    if (n != d->n)
        return spi_fail(ctx, SP_EINVAL, "decompose: driver %s has %zu values for %u nodes",
                        spi_quote(q, name, len), n, (unsigned)d->n);
    if (d->ndrivers == d->drivers_cap) {
        size_t cap = d->drivers_cap < 4 ? 4 : d->drivers_cap * 2;
        spi_driver *p = spi_realloc_array(ctx, d->drivers, cap, sizeof *p);
        if (p == NULL)
            return SP_ENOMEM;
        d->drivers = p;
        d->drivers_cap = cap;
    }
    spi_driver col = { NULL, (int64_t *)values, (uint8_t *)valid, copy };
    col.name = spi_malloc(ctx, len + 1);
    if (copy) {
        col.values = spi_malloc_array(ctx, n, sizeof *col.values);
        col.valid = valid != NULL ? spi_malloc(ctx, n) : NULL;
    }
    if (col.name == NULL || col.values == NULL || (valid != NULL && col.valid == NULL)) {
        spi_free(ctx, col.name);
        if (copy) {
            spi_free(ctx, col.values);
            spi_free(ctx, col.valid);
        }
        return SP_ENOMEM;
    }
    memcpy(col.name, name, len + 1);
    if (copy) {
        memcpy(col.values, values, n * sizeof *values);
        if (valid != NULL)
            memcpy(col.valid, valid, n);
    }
    d->drivers[d->ndrivers] = col;
    if (column != NULL)
        *column = d->ndrivers;
    d->ndrivers++;
    return SP_OK;
}

int sp_decomp_add_driver(sp_decomp *d, const char *name, const int64_t *values,
                         const uint8_t *valid, size_t n, uint32_t *column)
{
    return add_driver(d, name, values, valid, n, column, true);
}

int spi_decomp_add_driver_ref(sp_decomp *d, const char *name, const int64_t *values,
                              const uint8_t *valid, size_t n)
{
    return add_driver(d, name, values, valid, n, NULL, false);
}

/* ---- rules ---- */

static int check_growth_limits(sp_ctx *ctx, const char *where, sp_dec floor, sp_dec cap)
{
    char t1[SP_TEXT_MAX], t2[SP_TEXT_MAX];
    if (floor != SP_DECOMP_NO_FLOOR && floor < -SP_DEC_ONE)
        return spi_fail(ctx, SP_EINVAL, "%s: growth floor %s is below -1 (a fall of 100 %%)",
                        where, spi_dec_text(floor, t1));
    if (cap != SP_DECOMP_NO_CAP && cap > CAP_LIMIT)
        return spi_fail(ctx, SP_EINVAL, "%s: growth cap %s is beyond the largest supported, %s",
                        where, spi_dec_text(cap, t1), spi_dec_text(CAP_LIMIT, t2));
    if (floor != SP_DECOMP_NO_FLOOR && cap != SP_DECOMP_NO_CAP && cap < floor)
        return spi_fail(ctx, SP_EINVAL, "%s: growth cap %s is below growth floor %s", where,
                        spi_dec_text(cap, t1), spi_dec_text(floor, t2));
    return SP_OK;
}

static int check_column(const sp_decomp *d, const char *where, const char *field,
                        uint32_t column)
{
    if (column >= d->ndrivers)
        return spi_fail(d->ctx, SP_EINVAL, "%s: %s %u is not a driver column (there are %u)",
                        where, field, (unsigned)column, (unsigned)d->ndrivers);
    return SP_OK;
}

/* Validate the caller's rule and copy it into *out (which the caller frees). */
static int read_rule(sp_decomp *d, const char *where, const sp_decomp_rule *in, spi_rule *out)
{
    sp_ctx *ctx = d->ctx;
    sp_decomp_rule r = SP_DECOMP_RULE_INIT;
    memset(out, 0, sizeof *out);
    int rc = spi_struct_read(ctx, "sp_decomp_rule", &r, in, rule_sizes, SP_DECOMP_RULE_VERSION);
    if (rc != SP_OK)
        return rc;
    if (r.method > SP_DECOMP_GROWTH)
        return spi_fail(ctx, SP_EINVAL, "%s: method %u is unknown", where, (unsigned)r.method);
    if (r.null_policy > SP_DECOMP_NULL_EVEN)
        return spi_fail(ctx, SP_EINVAL, "%s: null policy %u is unknown", where,
                        (unsigned)r.null_policy);
    if (r.unit < 0)
        return spi_fail(ctx, SP_EINVAL, "%s: unit %lld is negative", where, (long long)r.unit);
    if ((r.method == SP_DECOMP_DRIVER || r.method == SP_DECOMP_GROWTH) &&
        (rc = check_column(d, where, "driver", r.driver)) != SP_OK)
        return rc;
    if (r.method == SP_DECOMP_GROWTH &&
        (rc = check_growth_limits(ctx, where, r.growth_floor, r.growth_cap)) != SP_OK)
        return rc;
    out->set = true;
    out->method = r.method;
    out->driver = r.driver;
    out->null_policy = r.null_policy;
    out->floor = r.method == SP_DECOMP_GROWTH ? r.growth_floor : SP_DECOMP_NO_FLOOR;
    out->cap = r.method == SP_DECOMP_GROWTH ? r.growth_cap : SP_DECOMP_NO_CAP;
    out->unit = r.unit;
    if (r.method != SP_DECOMP_BLEND)
        return SP_OK;

    if (r.blend_count == 0 || r.blend_drivers == NULL || r.blend_weights == NULL)
        return spi_fail(ctx, SP_EINVAL,
                        "%s: a blend needs blend_count > 0, blend_drivers and blend_weights",
                        where);
    if (r.blend_count > UINT32_MAX)
        return spi_fail(ctx, SP_EINVAL, "%s: blend_count %zu is too large", where, r.blend_count);
    bool any = false;
    for (size_t k = 0; k < r.blend_count; k++) {
        char t[SP_TEXT_MAX];
        if ((rc = check_column(d, where, "blend driver", r.blend_drivers[k])) != SP_OK)
            return rc;
        if (r.blend_weights[k] < 0)
            return spi_fail(ctx, SP_EINVAL, "%s: blend_weights[%zu] = %s is negative", where, k,
                            spi_dec_text(r.blend_weights[k], t));
        any |= r.blend_weights[k] > 0;
    }
    if (!any)
        return spi_fail(ctx, SP_EINVAL, "%s: every blend weight is zero", where);
    out->nblend = r.blend_count;
    out->blend_drivers = spi_malloc_array(ctx, r.blend_count, sizeof *out->blend_drivers);
    out->blend_weights = spi_malloc_array(ctx, r.blend_count, sizeof *out->blend_weights);
    out->blend_shares = spi_malloc_array(ctx, r.blend_count, sizeof *out->blend_shares);
    if (out->blend_drivers == NULL || out->blend_weights == NULL || out->blend_shares == NULL)
        return SP_ENOMEM;
    memcpy(out->blend_drivers, r.blend_drivers, r.blend_count * sizeof *r.blend_drivers);
    memcpy(out->blend_weights, r.blend_weights, r.blend_count * sizeof *r.blend_weights);
    /* The blend weights split the resolution once; each driver's share is then spread
     * by that driver over a group. */
    rc = sp_allocate(ctx, SPI_BLEND_RESOLUTION, r.blend_weights, r.blend_count, NULL,
                     out->blend_shares);
    if (rc != SP_OK)
        return rc == SP_ENOMEM ? rc
                               : spi_fail_prefix(ctx, rc, NULL, "%s: blend weights", where);
    return SP_OK;
}

int sp_decomp_set_level_rule(sp_decomp *d, uint32_t level, const sp_decomp_rule *rule)
{
    if (d == NULL)
        return SP_EINVAL;
    if (level == 0 || level >= d->levels)
        return spi_fail(d->ctx, SP_EINVAL,
                        "decompose: level %u has no rule: rules are set for levels 1 to %u "
                        "(level 0 is the root)",
                        (unsigned)level, (unsigned)(d->levels - 1));
    spi_rule rec = { 0 };
    if (rule != NULL) {
        char where[64];
        snprintf(where, sizeof where, "decompose: rule of level %u", (unsigned)level);
        int rc = read_rule(d, where, rule, &rec);
        if (rc != SP_OK) {
            free_rule(d->ctx, &rec);
            return rc;
        }
    }
    free_rule(d->ctx, &d->level_rules[level]);
    d->level_rules[level] = rec;
    return SP_OK;
}

int sp_decomp_set_node_rule(sp_decomp *d, uint32_t node, const sp_decomp_rule *rule)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc = check_node_index(d, node);
    if (rc != SP_OK)
        return rc;
    bool found;
    size_t pos = sparse_find(&d->node_rules, sizeof(spi_node_rule), node, &found);
    if (rule == NULL) {
        if (found) {
            free_rule(d->ctx, &((spi_node_rule *)d->node_rules.items)[pos].rule);
            sparse_remove(&d->node_rules, sizeof(spi_node_rule), pos);
        }
        return SP_OK;
    }
    char q[SPI_QUOTE_CAP], where[SPI_QUOTE_CAP + 32];
    snprintf(where, sizeof where, "decompose: rule of node %s",
             spi_hierarchy_quote(d->h, node, q));
    spi_rule rec;
    if ((rc = read_rule(d, where, rule, &rec)) != SP_OK ||
        (!found && (rc = sparse_reserve(d->ctx, &d->node_rules, sizeof(spi_node_rule))) != SP_OK)) {
        free_rule(d->ctx, &rec);
        return rc;
    }
    spi_node_rule *slot;
    if (found) {
        slot = &((spi_node_rule *)d->node_rules.items)[pos];
        free_rule(d->ctx, &slot->rule);
    } else {
        slot = sparse_insert(&d->node_rules, sizeof(spi_node_rule), pos);
        slot->node = node;
    }
    slot->rule = rec;
    return SP_OK;
}

/* ---- bounds, growth limits, locks ---- */

static int check_bounds(const sp_decomp *d, uint32_t node, int64_t min, int64_t max)
{
    char q[SPI_QUOTE_CAP];
    if (min < 0)
        return spi_fail(d->ctx, SP_EINVAL, "decompose: node %s: min %lld is negative",
                        spi_hierarchy_quote(d->h, node, q), (long long)min);
    if (max < min)
        return spi_fail(d->ctx, SP_EINVAL, "decompose: node %s: max %lld is below min %lld",
                        spi_hierarchy_quote(d->h, node, q), (long long)max, (long long)min);
    return SP_OK;
}

static int ensure_bounds(sp_decomp *d)
{
    if (d->min != NULL)
        return SP_OK;
    int64_t *min = spi_malloc_array(d->ctx, d->n, sizeof *min);
    int64_t *max = spi_malloc_array(d->ctx, d->n, sizeof *max);
    if (min == NULL || max == NULL) {
        spi_free(d->ctx, min);
        spi_free(d->ctx, max);
        return SP_ENOMEM;
    }
    for (uint32_t i = 0; i < d->n; i++) {
        min[i] = 0;
        max[i] = INT64_MAX;
    }
    d->min = min;
    d->max = max;
    return SP_OK;
}

int sp_decomp_set_bounds(sp_decomp *d, uint32_t node, int64_t min, int64_t max)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc;
    if ((rc = check_node_index(d, node)) != SP_OK ||
        (rc = check_bounds(d, node, min, max)) != SP_OK || (rc = ensure_bounds(d)) != SP_OK)
        return rc;
    d->min[node] = min;
    d->max[node] = max;
    return SP_OK;
}

int sp_decomp_set_bounds_all(sp_decomp *d, const int64_t *min, const int64_t *max, size_t n)
{
    if (d == NULL)
        return SP_EINVAL;
    if (n != d->n)
        return spi_fail(d->ctx, SP_EINVAL, "decompose: bounds for %zu nodes, the hierarchy has %u",
                        n, (unsigned)d->n);
    int rc;
    for (uint32_t i = 0; i < d->n; i++)
        if ((rc = check_bounds(d, i, min != NULL ? min[i] : 0,
                               max != NULL ? max[i] : INT64_MAX)) != SP_OK)
            return rc;
    if ((rc = ensure_bounds(d)) != SP_OK)
        return rc;
    for (uint32_t i = 0; i < d->n; i++) {
        d->min[i] = min != NULL ? min[i] : 0;
        d->max[i] = max != NULL ? max[i] : INT64_MAX;
    }
    return SP_OK;
}

int sp_decomp_set_growth_limits(sp_decomp *d, uint32_t node, sp_dec floor, sp_dec cap)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc = check_node_index(d, node);
    if (rc != SP_OK)
        return rc;
    char q[SPI_QUOTE_CAP], where[SPI_QUOTE_CAP + 32];
    snprintf(where, sizeof where, "decompose: node %s", spi_hierarchy_quote(d->h, node, q));
    if ((rc = check_growth_limits(d->ctx, where, floor, cap)) != SP_OK)
        return rc;
    bool found;
    size_t pos = sparse_find(&d->limits, sizeof(spi_growth_limit), node, &found);
    if (!found && (rc = sparse_reserve(d->ctx, &d->limits, sizeof(spi_growth_limit))) != SP_OK)
        return rc;
    spi_growth_limit *g = found ? &((spi_growth_limit *)d->limits.items)[pos]
                            : sparse_insert(&d->limits, sizeof(spi_growth_limit), pos);
    g->node = node;
    g->floor = floor;
    g->cap = cap;
    return SP_OK;
}

int sp_decomp_lock(sp_decomp *d, uint32_t node, int64_t value, const char *reason)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc = check_node_index(d, node);
    if (rc != SP_OK)
        return rc;
    char q[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP];
    const char *id = spi_hierarchy_quote(d->h, node, q);
    if (node == d->h->tree.root)
        return spi_fail(d->ctx, SP_EINVAL,
                        "decompose: node %s is the root, whose target is the total: it cannot "
                        "be locked",
                        id);
    if (value < 0)
        return spi_fail(d->ctx, SP_EINVAL, "decompose: node %s: locked value %lld is negative",
                        id, (long long)value);
    if (reason == NULL || reason[0] == '\0')
        return spi_fail(d->ctx, SP_EINVAL,
                        "decompose: node %s: a lock needs a reason (kept for audit)", id);
    size_t len = strlen(reason), at;
    const char *why;
    if (!spi_utf8_check((const uint8_t *)reason, len, &at, &why))
        return spi_fail(d->ctx, SP_EINVAL,
                        "decompose: node %s: the lock reason %s is not valid UTF-8: %s at byte %zu",
                        id, spi_quote(q2, reason, len), why, at);
    bool found;
    size_t pos = sparse_find(&d->locks, sizeof(spi_lock), node, &found);
    char *copy = spi_malloc(d->ctx, len + 1);
    if (copy == NULL)
        return SP_ENOMEM;
    if (!found && (rc = sparse_reserve(d->ctx, &d->locks, sizeof(spi_lock))) != SP_OK) {
        spi_free(d->ctx, copy);
        return rc;
    }
    memcpy(copy, reason, len + 1);
    spi_lock *l;
    if (found) {
        l = &((spi_lock *)d->locks.items)[pos];
        spi_free(d->ctx, l->reason);
    } else {
        l = sparse_insert(&d->locks, sizeof(spi_lock), pos);
        l->node = node;
    }
    l->value = value;
    l->reason = copy;
    return SP_OK;
}

int sp_decomp_unlock(sp_decomp *d, uint32_t node)
{
    if (d == NULL)
        return SP_EINVAL;
    int rc = check_node_index(d, node);
    if (rc != SP_OK)
        return rc;
    bool found;
    size_t pos = sparse_find(&d->locks, sizeof(spi_lock), node, &found);
    if (!found) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(d->ctx, SP_ENOTFOUND, "decompose: node %s is not locked",
                        spi_hierarchy_quote(d->h, node, q));
    }
    spi_free(d->ctx, ((spi_lock *)d->locks.items)[pos].reason);
    sparse_remove(&d->locks, sizeof(spi_lock), pos);
    return SP_OK;
}

size_t sp_decomp_lock_count(const sp_decomp *d)
{
    return d != NULL ? d->locks.n : 0;
}

int sp_decomp_lock_at(const sp_decomp *d, size_t k, uint32_t *node, int64_t *value,
                      const char **reason)
{
    if (d == NULL)
        return SP_EINVAL;
    if (k >= d->locks.n)
        return spi_fail(d->ctx, SP_ENOTFOUND, "decompose: lock %zu is beyond the %zu locks", k,
                        d->locks.n);
    const spi_lock *l = &((const spi_lock *)d->locks.items)[k];
    if (node != NULL)
        *node = l->node;
    if (value != NULL)
        *value = l->value;
    if (reason != NULL)
        *reason = l->reason;
    return SP_OK;
}

/* ======================================================================================
 * The run
 * ====================================================================================== */

/* Per sibling group, one entry per child. */
typedef struct group {
    int64_t *w;    /* weights given to sp_allocate */
    int64_t *lo;   /* lower bound (min, growth floor) */
    int64_t *hi;   /* upper bound (max, growth cap); INT64_MAX: none */
    int64_t *glo;  /* growth floor bound, or -1 */
    int64_t *ghi;  /* growth cap bound, or -1 (none, or beyond int64_t) */
    int64_t *lv;   /* locked value */
    int64_t *res;  /* sp_allocate's result */
    int64_t *tmp;  /* a blend driver's weights */
    int64_t *zero; /* zeros: locked values for the blend's partial splits */
    uint8_t *locked;
    uint8_t *null;     /* the driver in hand is null here (fallback used) */
    uint8_t *fallback; /* any driver was null here */
} group;

#define GROUP_INT64_ARRAYS 9
#define GROUP_BYTE_ARRAYS 3
#define GROUP_BYTES_PER_CHILD (GROUP_INT64_ARRAYS * sizeof(int64_t) + GROUP_BYTE_ARRAYS)

static void group_layout(group *g, unsigned char *mem, size_t cap)
{
    int64_t *i64 = (int64_t *)(void *)mem;
    g->w = i64;
    g->lo = i64 + cap;
    g->hi = i64 + 2 * cap;
    g->glo = i64 + 3 * cap;
    g->ghi = i64 + 4 * cap;
    g->lv = i64 + 5 * cap;
    g->res = i64 + 6 * cap;
    g->tmp = i64 + 7 * cap;
    g->zero = i64 + 8 * cap;
    unsigned char *bytes = mem + GROUP_INT64_ARRAYS * sizeof(int64_t) * cap;
    g->locked = bytes;
    g->null = bytes + cap;
    g->fallback = bytes + 2 * cap;
}

/* What a driver's values look like over the unlocked children of a group. */
typedef struct driver_stats {
    int64_t sum;    /* D: the sum of the values present */
    uint32_t m;     /* how many are present */
    uint32_t nulls; /* how many are null */
} driver_stats;

typedef struct run {
    sp_decomp *d;
    const spi_tree *t;
    int64_t *tgt;
    uint32_t *flags;  /* or NULL */
    sp_dec *growth;   /* or NULL */
    sp_dec *common;   /* or NULL */
    group g;
} run;

/* Without a rule a group is split evenly, in minor units. */
static const spi_rule default_rule = {
    .set = true,
    .method = SP_DECOMP_EVEN,
    .null_policy = SP_DECOMP_NULL_ERROR,
    .floor = SP_DECOMP_NO_FLOOR,
    .cap = SP_DECOMP_NO_CAP,
};

static const spi_rule *rule_for(const sp_decomp *d, uint32_t parent, uint32_t level)
{
    const spi_node_rule *nr = sparse_get(&d->node_rules, sizeof(spi_node_rule), parent);
    if (nr != NULL)
        return &nr->rule;
    if (level < d->levels && d->level_rules[level].set)
        return &d->level_rules[level];
    return &default_rule;
}

/*
 * Weights of the unlocked children of `parent` from driver `column`: the values
 * themselves when none is null; under the even fallback, every value times s = m / g and
 * every null D / g (g = gcd(m, D)), which weighs a null like the mean D / m of the
 * values present; all equal when none is present. Locked children get 0.
 */
static int driver_weights(run *r, uint32_t parent, uint32_t column, uint32_t policy,
                          int64_t *w, driver_stats *st)
{
    const sp_decomp *d = r->d;
    const spi_driver *col = &d->drivers[column];
    const uint32_t *kids = spi_tree_children(r->t, parent);
    const uint32_t k = r->t->count[parent];
    group *g = &r->g;
    char q[SPI_QUOTE_CAP], qd[SPI_QUOTE_CAP];
    st->sum = 0;
    st->m = 0;
    st->nulls = 0;
    for (uint32_t j = 0; j < k; j++) {
        uint32_t c = kids[j];
        g->null[j] = 0;
        if (g->locked[j])
            continue;
        if (col->valid != NULL && col->valid[c] == 0) {
            if (policy == SP_DECOMP_NULL_ERROR)
                return spi_fail(d->ctx, SP_EINVAL,
                                "decompose: node %s: driver %s is null (the null policy is "
                                "an error)",
                                spi_hierarchy_quote(d->h, c, q), driver_name(d, column, qd));
            g->null[j] = 1;
            st->nulls++;
            continue;
        }
        int64_t x = col->values[c];
        if (x < 0)
            return spi_fail(d->ctx, SP_EINVAL,
                            "decompose: node %s: driver %s is %lld, but a proportional split "
                            "needs values >= 0",
                            spi_hierarchy_quote(d->h, c, q), driver_name(d, column, qd),
                            (long long)x);
        if (__builtin_add_overflow(st->sum, x, &st->sum))
            return spi_fail(d->ctx, SP_EOVERFLOW,
                            "decompose: children of %s: driver %s sums beyond int64_t",
                            spi_hierarchy_quote(d->h, parent, q), driver_name(d, column, qd));
        st->m++;
    }
    uint64_t scale = 1, null_weight = 0;
    if (st->nulls > 0 && st->m > 0) {
        uint64_t gg = spi_gcd_u64(st->m, (uint64_t)st->sum);
        scale = st->m / gg;
        null_weight = (uint64_t)st->sum / gg;
    }
    for (uint32_t j = 0; j < k; j++) {
        if (g->locked[j]) {
            w[j] = 0;
        } else if (st->m == 0) {
            w[j] = 1;
        } else if (g->null[j]) {
            w[j] = (int64_t)null_weight;
        } else if (__builtin_mul_overflow(col->values[kids[j]], (int64_t)scale, &w[j])) {
            return spi_fail(d->ctx, SP_EOVERFLOW,
                            "decompose: children of %s: driver %s: weighting its nulls by the "
                            "mean of its %u values overflows int64_t",
                            spi_hierarchy_quote(d->h, parent, q), driver_name(d, column, qd),
                            (unsigned)st->m);
        }
    }
    return SP_OK;
}

/* Blend weights: each driver's share of SPI_BLEND_RESOLUTION spread over the unlocked
 * children by that driver, summed per child. */
static int blend_weights(run *r, uint32_t parent, const spi_rule *rule)
{
    sp_decomp *d = r->d;
    const uint32_t k = r->t->count[parent];
    group *g = &r->g;
    char q[SPI_QUOTE_CAP], qd[SPI_QUOTE_CAP];
    for (uint32_t j = 0; j < k; j++) {
        g->w[j] = 0;
        g->zero[j] = 0;
    }
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.locked = g->locked;
    o.locked_value = g->zero;
    for (size_t b = 0; b < rule->nblend; b++) {
        if (rule->blend_shares[b] == 0)
            continue;
        uint32_t column = rule->blend_drivers[b];
        driver_stats st;
        int rc = driver_weights(r, parent, column, rule->null_policy, g->tmp, &st);
        if (rc != SP_OK)
            return rc;
        if (st.m > 0 && st.sum == 0)
            return spi_fail(d->ctx, SP_EINVAL,
                            "decompose: children of %s: blend driver %s is zero for every "
                            "unlocked child, so its share of the blend has nowhere to go",
                            spi_hierarchy_quote(d->h, parent, q), driver_name(d, column, qd));
        if ((rc = sp_allocate(d->ctx, rule->blend_shares[b], g->tmp, k, &o, g->res)) != SP_OK)
            return rc;
        for (uint32_t j = 0; j < k; j++) {
            g->w[j] += g->res[j];
            g->fallback[j] |= g->null[j];
        }
    }
    return SP_OK;
}

/* ceil(num * (1 + rate) / den) or floor(...), as int64_t; false when beyond it. */
static bool growth_bound(int64_t num, uint64_t den, sp_dec rate, sp_rounding mode, int64_t *out)
{
    spi_i128 v = spi_div_round_i128((spi_i128)num * (SP_DEC_ONE + rate),
                                    (spi_i128)den * SP_DEC_ONE, mode);
    if (v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Growth of `target` over the baseline num / den, half-even, as sp_dec. */
static bool growth_rate(int64_t target, int64_t num, uint64_t den, sp_dec *out)
{
    spi_i128 v = spi_div_round_i128((spi_i128)target * (spi_i128)den * SP_DEC_ONE, num,
                                    SP_ROUND_HALF_EVEN) -
                 SP_DEC_ONE;
    if (v > INT64_MAX)
        return false;
    *out = (int64_t)v;
    return true;
}

/* Lower and upper bounds in multiples of unit u, as sp_allocate rounds them (inward). */
static spi_i128 lower_units(int64_t lo, int64_t u)
{
    return (spi_i128)(lo / u + (lo % u != 0));
}

static spi_i128 upper_units(int64_t hi, int64_t u)
{
    return (spi_i128)(hi / u);
}

static bool at_lower(int64_t x, int64_t bound, int64_t u)
{
    return (spi_i128)x == lower_units(bound, u) * u;
}

static bool at_upper(int64_t x, int64_t bound, int64_t u)
{
    return bound != INT64_MAX && (spi_i128)x == upper_units(bound, u) * u;
}

/* The baseline of child j for growth: values[c] / 1, or for a null the mean D / m of its
 * unlocked siblings' values; false when unknown (a null with no value around it). */
static bool baseline_of(const run *r, const spi_driver *col, uint32_t c, uint32_t j,
                        const driver_stats *st, int64_t *num, uint64_t *den)
{
    if (col->valid == NULL || col->valid[c] != 0) {
        *num = col->values[c];
        *den = 1;
        return true;
    }
    if (r->g.locked[j] || st->m == 0)
        return false;
    *num = st->sum;
    *den = st->m;
    return true;
}

static const char *method_text(const sp_decomp *d, const spi_rule *rule, char *buf, size_t cap)
{
    char q[SPI_QUOTE_CAP];
    switch (rule->method) {
    case SP_DECOMP_DRIVER:
        snprintf(buf, cap, "split by driver %s", driver_name(d, rule->driver, q));
        break;
    case SP_DECOMP_BLEND:
        snprintf(buf, cap, "split by a blend of %zu drivers", rule->nblend);
        break;
    case SP_DECOMP_GROWTH:
        snprintf(buf, cap, "split by growth over %s", driver_name(d, rule->driver, q));
        break;
    default: snprintf(buf, cap, "split evenly"); break;
    }
    return buf;
}

static int bound_problem(const run *r, uint32_t c, uint32_t j, int64_t u)
{
    const sp_decomp *d = r->d;
    const group *g = &r->g;
    char q[SPI_QUOTE_CAP];
    const char *lo_src = g->glo[j] >= 0 && g->lo[j] == g->glo[j] ? "growth floor" : "min";
    const char *hi_src = g->ghi[j] >= 0 && g->hi[j] == g->ghi[j] ? "growth cap" : "max";
    if (g->lo[j] > g->hi[j])
        return spi_fail(d->ctx, SP_EINVAL,
                        "decompose: node %s: its lower bound %lld (%s) is above its upper bound "
                        "%lld (%s)",
                        spi_hierarchy_quote(d->h, c, q), (long long)g->lo[j], lo_src,
                        (long long)g->hi[j], hi_src);
    return spi_fail(d->ctx, SP_EINVAL,
                    "decompose: node %s: no multiple of unit %lld lies between its lower bound "
                    "%lld (%s) and its upper bound %lld (%s)",
                    spi_hierarchy_quote(d->h, c, q), (long long)u, (long long)g->lo[j], lo_src,
                    (long long)g->hi[j], hi_src);
}

static int split_group(run *r, uint32_t v)
{
    sp_decomp *d = r->d;
    const spi_tree *t = r->t;
    const uint32_t k = t->count[v];
    const uint32_t *kids = spi_tree_children(t, v);
    const spi_rule *rule = rule_for(d, v, t->depth[v] + 1);
    const int64_t u = rule->unit > 1 ? rule->unit : 1;
    group *g = &r->g;
    char q[SPI_QUOTE_CAP];
    int rc;

    /* Locks and the caller's bounds. */
    bool any_locked = false, any_bounds = false;
    uint32_t unlocked = 0;
    for (uint32_t j = 0; j < k; j++) {
        uint32_t c = kids[j];
        const spi_lock *l = sparse_get(&d->locks, sizeof(spi_lock), c);
        g->locked[j] = l != NULL;
        g->lv[j] = l != NULL ? l->value : 0;
        g->lo[j] = d->min != NULL ? d->min[c] : 0;
        g->hi[j] = d->max != NULL ? d->max[c] : INT64_MAX;
        g->glo[j] = g->ghi[j] = -1;
        g->null[j] = g->fallback[j] = 0;
        any_locked |= l != NULL;
        unlocked += l == NULL;
        if (l != NULL && (l->value < g->lo[j] || l->value > g->hi[j]))
            return spi_fail(d->ctx, SP_EINVAL,
                            "decompose: node %s is locked at %lld, outside its bounds [%lld, %lld]",
                            spi_hierarchy_quote(d->h, c, q), (long long)l->value,
                            (long long)g->lo[j], (long long)g->hi[j]);
    }

    /* Weights by the rule's method (moot when every child is locked); growth adds bounds
     * from the baseline. */
    const int64_t *weights = NULL;
    driver_stats st = { 0, 0, 0 };
    switch (unlocked > 0 ? rule->method : SP_DECOMP_EVEN) {
    case SP_DECOMP_DRIVER:
    case SP_DECOMP_GROWTH:
        if ((rc = driver_weights(r, v, rule->driver, rule->null_policy, g->w, &st)) != SP_OK)
            return rc;
        memcpy(g->fallback, g->null, k);
        weights = g->w;
        break;
    case SP_DECOMP_BLEND:
        if ((rc = blend_weights(r, v, rule)) != SP_OK)
            return rc;
        weights = g->w;
        break;
    default: break;
    }
    if (unlocked > 0 && rule->method == SP_DECOMP_GROWTH) {
        const spi_driver *col = &d->drivers[rule->driver];
        for (uint32_t j = 0; j < k; j++) {
            int64_t num;
            uint64_t den;
            if (g->locked[j] || !baseline_of(r, col, kids[j], j, &st, &num, &den))
                continue;
            const spi_growth_limit *gl = sparse_get(&d->limits, sizeof(spi_growth_limit), kids[j]);
            sp_dec floor = gl != NULL ? gl->floor : rule->floor;
            sp_dec cap = gl != NULL ? gl->cap : rule->cap;
            int64_t b;
            if (floor != SP_DECOMP_NO_FLOOR) {
                if (!growth_bound(num, den, floor, SP_ROUND_CEILING, &b))
                    return spi_fail(d->ctx, SP_EOVERFLOW,
                                    "decompose: node %s: its growth floor puts its target "
                                    "beyond int64_t",
                                    spi_hierarchy_quote(d->h, kids[j], q));
                g->glo[j] = b;
                if (b > g->lo[j])
                    g->lo[j] = b;
            }
            if (cap != SP_DECOMP_NO_CAP && growth_bound(num, den, cap, SP_ROUND_FLOOR, &b)) {
                g->ghi[j] = b;
                if (b < g->hi[j])
                    g->hi[j] = b;
            }
        }
    }

    /* Each unlocked node must be able to hold some multiple of the unit. */
    for (uint32_t j = 0; j < k; j++) {
        if (g->locked[j])
            continue;
        any_bounds |= g->lo[j] > 0 || g->hi[j] != INT64_MAX;
        if (g->lo[j] > g->hi[j] || lower_units(g->lo[j], u) > upper_units(g->hi[j], u))
            return bound_problem(r, kids[j], j, u);
    }

    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    if (any_bounds) {
        o.min = g->lo;
        o.max = g->hi;
    }
    if (any_locked) {
        o.locked = g->locked;
        o.locked_value = g->lv;
    }
    o.unit = rule->unit;
    if ((rc = sp_allocate(d->ctx, r->tgt[v], weights, k, &o, g->res)) != SP_OK) {
        if (rc == SP_ENOMEM)
            return rc;
        char how[SPI_QUOTE_CAP + 64];
        return spi_fail_prefix(d->ctx, rc, NULL, "decompose: children of %s (target %lld, %s)",
                               spi_hierarchy_quote(d->h, v, q), (long long)r->tgt[v],
                               method_text(d, rule, how, sizeof how));
    }

    /* Results, flags, growth. */
    const spi_driver *base = rule->method == SP_DECOMP_GROWTH ? &d->drivers[rule->driver] : NULL;
    spi_i128 free_x = 0, free_b = 0, all_x = 0, all_b = 0;
    const uint64_t mm = st.nulls > 0 && st.m > 0 ? st.m : 1; /* common denominator */
    for (uint32_t j = 0; j < k; j++) {
        uint32_t c = kids[j];
        int64_t x = g->res[j];
        r->tgt[c] = x;
        uint32_t f = 0;
        if (g->locked[j]) {
            f |= SP_DECOMP_F_LOCKED;
        } else {
            int64_t mn = d->min != NULL ? d->min[c] : 0;
            int64_t mx = d->max != NULL ? d->max[c] : INT64_MAX;
            if (mn > 0 && at_lower(x, mn, u))
                f |= SP_DECOMP_F_AT_MIN;
            if (at_upper(x, mx, u))
                f |= SP_DECOMP_F_AT_MAX;
            if (g->glo[j] >= 0 && at_lower(x, g->glo[j], u))
                f |= SP_DECOMP_F_AT_FLOOR;
            if (g->ghi[j] >= 0 && at_upper(x, g->ghi[j], u))
                f |= SP_DECOMP_F_AT_CAP;
            if (g->fallback[j])
                f |= SP_DECOMP_F_FALLBACK;
        }
        int64_t num;
        uint64_t den;
        if (base != NULL && baseline_of(r, base, c, j, &st, &num, &den) && num > 0) {
            if (r->growth != NULL) {
                if (!growth_rate(x, num, den, &r->growth[c]))
                    return spi_fail(d->ctx, SP_EOVERFLOW,
                                    "decompose: node %s: its growth (target %lld over baseline "
                                    "%lld) does not fit sp_dec",
                                    spi_hierarchy_quote(d->h, c, q), (long long)x,
                                    (long long)(num / (int64_t)den));
                f |= SP_DECOMP_F_GROWTH;
            }
            if (!g->locked[j]) {
                /* Baselines over the common denominator mm. */
                spi_i128 b = (spi_i128)num * (spi_i128)(mm / den);
                all_x += x;
                all_b += b;
                if ((f & (SP_DECOMP_F_AT_MIN | SP_DECOMP_F_AT_MAX | SP_DECOMP_F_AT_FLOOR |
                          SP_DECOMP_F_AT_CAP)) == 0) {
                    free_x += x;
                    free_b += b;
                }
            }
        }
        if (r->flags != NULL)
            r->flags[c] = f;
    }
    if (base != NULL && r->common != NULL) {
        if (free_b == 0) {
            free_x = all_x;
            free_b = all_b;
        }
        if (free_b > 0) {
            spi_i128 gr = spi_div_round_i128(free_x * (spi_i128)mm * SP_DEC_ONE, free_b,
                                             SP_ROUND_HALF_EVEN) -
                          SP_DEC_ONE;
            if (gr > INT64_MAX)
                return spi_fail(d->ctx, SP_EOVERFLOW,
                                "decompose: children of %s: their common growth does not fit "
                                "sp_dec",
                                spi_hierarchy_quote(d->h, v, q));
            r->common[v] = (int64_t)gr;
            if (r->flags != NULL)
                r->flags[v] |= SP_DECOMP_F_COMMON_GROWTH;
        }
    }
    return SP_OK;
}

/* What a run checks before it allocates. */
static int run_check(const sp_decomp *d, int64_t total)
{
    sp_ctx *ctx = d->ctx;
    if (d->generation != d->h->generation || !d->h->valid)
        return spi_fail(ctx, SP_EINVAL,
                        "decompose: the hierarchy changed after this decomposition was made");
    const spi_tree *t = &d->h->tree;
    char q[SPI_QUOTE_CAP];
    if (total < 0)
        return spi_fail(ctx, SP_EINVAL, "decompose: the total %lld is negative", (long long)total);
    if (d->min != NULL && (total < d->min[t->root] || total > d->max[t->root]))
        return spi_fail(ctx, SP_EINVAL,
                        "decompose: the total %lld is outside the bounds [%lld, %lld] of the "
                        "root %s",
                        (long long)total, (long long)d->min[t->root], (long long)d->max[t->root],
                        spi_hierarchy_quote(d->h, t->root, q));
    return SP_OK;
}

int spi_decomp_run_into(sp_decomp *d, int64_t total, int64_t *target, uint32_t *flags,
                        sp_dec *growth, sp_dec *common)
{
    sp_ctx *ctx = d->ctx;
    const spi_tree *t = &d->h->tree;
    int rc = run_check(d, total);
    if (rc != SP_OK)
        return rc;
    _Alignas(int64_t) unsigned char stack_group[GROUP_STACK * GROUP_BYTES_PER_CHILD];
    unsigned char *scratch = stack_group;
    size_t group_cap = GROUP_STACK;
    if (t->max_children > GROUP_STACK) {
        group_cap = t->max_children;
        if ((scratch = spi_malloc_array(ctx, group_cap, GROUP_BYTES_PER_CHILD)) == NULL)
            return SP_ENOMEM;
    }
    run r = { d, t, target, flags, growth, common, { 0 } };
    group_layout(&r.g, scratch, group_cap);
    r.tgt[t->root] = total;
    for (uint32_t i = 0; i < t->n && rc == SP_OK; i++)
        if (t->count[t->order[i]] > 0)
            rc = split_group(&r, t->order[i]);
    if (scratch != stack_group)
        spi_free(ctx, scratch);
    return rc;
}

int sp_decomp_run(sp_decomp *d, int64_t total, const sp_decomp_output *out)
{
    if (d == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = d->ctx;
    sp_decomp_output o = SP_DECOMP_OUTPUT_INIT;
    int rc = spi_struct_read(ctx, "sp_decomp_output", &o, out, output_sizes,
                             SP_DECOMP_OUTPUT_VERSION);
    if (rc != SP_OK)
        return rc;
    if (out == NULL || o.target == NULL)
        return spi_fail(ctx, SP_EINVAL, "decompose: the output's target array is NULL");
    if ((rc = run_check(d, total)) != SP_OK)
        return rc;

    /* One zeroed block for the results, copied to the caller's arrays only on success. */
    const size_t n = d->n;
    size_t per_node = sizeof(int64_t) + (o.flags != NULL ? sizeof(uint32_t) : 0) +
                      (o.growth != NULL ? sizeof(sp_dec) : 0) +
                      (o.common_growth != NULL ? sizeof(sp_dec) : 0);
    unsigned char *block = spi_calloc(ctx, n, per_node);
    if (block == NULL)
        return SP_ENOMEM;
    int64_t *target = (int64_t *)(void *)block;
    unsigned char *p = block + n * sizeof(int64_t);
    sp_dec *growth = NULL, *common = NULL;
    uint32_t *flags = NULL;
    if (o.growth != NULL) {
        growth = (sp_dec *)(void *)p;
        p += n * sizeof(sp_dec);
    }
    if (o.common_growth != NULL) {
        common = (sp_dec *)(void *)p;
        p += n * sizeof(sp_dec);
    }
    if (o.flags != NULL)
        flags = (uint32_t *)(void *)p;
    rc = spi_decomp_run_into(d, total, target, flags, growth, common);
    if (rc == SP_OK) {
        memcpy(o.target, target, n * sizeof *o.target);
        if (o.flags != NULL)
            memcpy(o.flags, flags, n * sizeof *o.flags);
        if (o.growth != NULL)
            memcpy(o.growth, growth, n * sizeof *o.growth);
        if (o.common_growth != NULL)
            memcpy(o.common_growth, common, n * sizeof *o.common_growth);
    }
    spi_free(ctx, block);
    return rc;
}
