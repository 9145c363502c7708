/*
 * Target sets (immutable results of a plan: annual targets, periods, flags, the profiles
 * they were split by) and the comparison of two sets node by node.
 */
#include <string.h>

#include "plan.h"

static const size_t set_info_sizes[] = { 0, sizeof(sp_target_set_info) };
static const size_t set_data_sizes[] = { 0, sizeof(sp_target_set_data) };
static const size_t cmp_data_sizes[] = { 0, sizeof(sp_target_comparison_data) };

SPI_DEFINE_INIT(sp_target_set_info, set_info_sizes,
                SP_TARGET_SET_INFO_VERSION, SP_TARGET_SET_INFO_INIT)

SPI_DEFINE_INIT(sp_target_set_data, set_data_sizes,
                SP_TARGET_SET_DATA_VERSION, SP_TARGET_SET_DATA_INIT)

SPI_DEFINE_INIT(sp_target_comparison_data, cmp_data_sizes,
                SP_TARGET_COMPARISON_DATA_VERSION, SP_TARGET_COMPARISON_DATA_INIT)

int spi_set_alloc(sp_ctx *ctx, spi_shared_h *sh, uint32_t nperiods, size_t nprofiles,
                  sp_target_set **out)
{
    int rc = spi_set_alloc_n(ctx, sh->h->tree.n, nperiods, nprofiles, out);
    if (rc == SP_OK)
        (*out)->sh = spi_shared_h_ref(sh);
    return rc;
}

int spi_set_alloc_n(sp_ctx *ctx, uint32_t nodes, uint32_t nperiods, size_t nprofiles,
                    sp_target_set **out)
{
    const size_t n = nodes;
    if (n > SIZE_MAX / 64 / (nperiods + 4) || nprofiles > SIZE_MAX / 8 / (nperiods + 1))
        return spi_fail(ctx, SP_EOVERFLOW, "target set: %zu nodes x %u periods are too many", n,
                        (unsigned)nperiods);
    sp_target_set *s = spi_calloc(ctx, 1, sizeof *s);
    if (s == NULL)
        return SP_ENOMEM;
    /* One block: four 8-byte columns and the periods, then the two 4-byte columns. */
    int64_t *block = spi_calloc(ctx, n * (3 + nperiods) * 8 + n * 8 + 8, 1);
    sp_dec *profiles = spi_calloc(ctx, nprofiles * nperiods + 1, sizeof *profiles);
    if (block == NULL || profiles == NULL) {
        spi_free(ctx, block);
        spi_free(ctx, profiles);
        spi_free(ctx, s);
        return SP_ENOMEM;
    }
    s->ctx = ctx;
    s->n = nodes;
    s->nperiods = nperiods;
    s->annual = block;
    s->growth = block + n;
    s->common_growth = block + 2 * n;
    s->periods = block + 3 * n;
    s->flags = (uint32_t *)(void *)(block + (3 + nperiods) * n);
    s->profile_of = s->flags + n;
    s->profiles = profiles;
    s->nprofiles = nprofiles;
    s->saved_day = INT32_MIN;
    *out = s;
    return SP_OK;
}

void sp_target_set_free(sp_target_set *set)
{
    if (set == NULL)
        return;
    sp_ctx *ctx = set->ctx;
    for (uint32_t i = 0; set->reasons != NULL && i < set->n; i++)
        spi_free(ctx, set->reasons[i]);
    spi_free(ctx, set->reasons);
    spi_free(ctx, set->annual);
    spi_free(ctx, set->profiles);
    spi_free(ctx, set->plan_id);
    spi_free(ctx, set->scenario);
    spi_free(ctx, set->note);
    spi_shared_h_unref(ctx, set->sh);
    spi_free(ctx, set);
}

int spi_set_reason(sp_target_set *set, uint32_t node, const char *reason, size_t len)
{
    if (set->reasons == NULL &&
        (set->reasons = spi_calloc(set->ctx, set->n, sizeof *set->reasons)) == NULL)
        return SP_ENOMEM;
    char *copy;
    int rc = spi_set_strdup(set->ctx, &copy, reason, len);
    if (rc != SP_OK)
        return rc;
    spi_free(set->ctx, set->reasons[node]);
    set->reasons[node] = copy;
    return SP_OK;
}

int sp_target_set_get_info(const sp_target_set *set, sp_target_set_info *info)
{
    if (set == NULL)
        return SP_EINVAL;
    if (info == NULL)
        return spi_fail(set->ctx, SP_EINVAL, "target set: info is NULL");
    sp_target_set_info i;
    memset(&i, 0, sizeof i);
    i.plan_id = set->plan_id;
    i.plan_revision = set->plan_revision;
    i.measure = set->measure;
    i.currency = set->currency;
    i.exponent = set->exponent;
    i.fiscal_year = set->fiscal_year;
    i.grain = set->grain;
    i.nperiods = set->nperiods;
    i.nnodes = set->n;
    i.total = set->total;
    i.based_on = set->based_on;
    i.closed = set->closed;
    i.scenario = set->scenario != NULL ? set->scenario : "";
    i.set_version = set->set_version;
    i.note = set->note != NULL ? set->note : "";
    i.saved_day = set->saved_day;
    i.hierarchy = set->sh->h;
    return spi_info_out(set->ctx, "sp_target_set_info", info, &i, set_info_sizes,
                        SP_TARGET_SET_INFO_VERSION);
}

int sp_target_set_get_data(const sp_target_set *set, sp_target_set_data *data)
{
    if (set == NULL)
        return SP_EINVAL;
    if (data == NULL)
        return spi_fail(set->ctx, SP_EINVAL, "target set: data is NULL");
    sp_target_set_data d;
    memset(&d, 0, sizeof d);
    d.nnodes = set->n;
    d.nperiods = set->nperiods;
    d.annual = set->annual;
    d.flags = set->flags;
    d.growth = set->growth;
    d.common_growth = set->common_growth;
    d.periods = set->periods;
    d.nprofiles = set->nprofiles;
    d.profiles = set->profiles;
    d.profile_of = set->profile_of;
    d.weighting = set->weighting;
    return spi_info_out(set->ctx, "sp_target_set_data", data, &d, set_data_sizes,
                        SP_TARGET_SET_DATA_VERSION);
}

int sp_target_set_find(const sp_target_set *set, const char *id, size_t len, uint32_t *node)
{
    if (set == NULL)
        return SP_EINVAL;
    if (id == NULL || node == NULL)
        return spi_fail(set->ctx, SP_EINVAL, "target set: %s is NULL", id == NULL ? "id" : "node");
    int rc = sp_hierarchy_find(set->sh->h, id, len, node);
    return rc == SP_OK ? rc : spi_fail_prefix(set->ctx, rc, "hierarchy: ", "target set");
}

const char *sp_target_set_lock_reason(const sp_target_set *set, uint32_t node)
{
    if (set == NULL || set->reasons == NULL || node >= set->n)
        return NULL;
    return set->reasons[node];
}

/* ---- comparison ---- */

struct sp_target_comparison {
    sp_ctx *ctx;
    size_t count, nperiods, only_a, only_b;
    const char **ids;
    uint32_t *flags, *period_flags;
    int64_t *a, *b, *diff, *pa, *pb, *pdiff;
    sp_dec *rel, *prel;
};

void sp_target_comparison_free(sp_target_comparison *cmp)
{
    if (cmp == NULL)
        return;
    spi_free(cmp->ctx, cmp->ids);
    spi_free(cmp->ctx, cmp);
}

/* diff = b - a and the relative change; SP_EOVERFLOW when b - a does not fit. */
static int compare_cell(int64_t a, int64_t b, int64_t *diff, sp_dec *rel, uint32_t *flags)
{
    if (__builtin_sub_overflow(b, a, diff))
        return SP_EOVERFLOW;
    *rel = 0;
    if (a == 0) {
        *flags |= SP_COMPARE_NO_BASE;
        return SP_OK;
    }
    if (sp_dec_div(*diff, a, SP_ROUND_HALF_EVEN, rel) != SP_OK)
        *rel = (*diff < 0) == (a < 0) ? INT64_MAX : -INT64_MAX; /* beyond +-9.2e9: saturate */
    return SP_OK;
}

int sp_target_compare(sp_target_comparison **out, const sp_target_set *a,
                      const sp_target_set *b)
{
    if (a == NULL || b == NULL)
        return a != NULL || b != NULL
                   ? spi_fail((a != NULL ? a : b)->ctx, SP_EINVAL, "target compare: set %s is NULL",
                              a == NULL ? "a" : "b")
                   : SP_EINVAL;
    sp_ctx *ctx = a->ctx;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target compare: out is NULL");
    const sp_hierarchy *ha = a->sh->h, *hb = b->sh->h;
    /* Nodes of b found in a, by id. */
    uint8_t *in_a = spi_calloc(ctx, b->n, 1);
    if (in_a == NULL)
        return SP_ENOMEM;
    size_t count = a->n;
    for (uint32_t i = 0; i < b->n; i++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(hb->ids, i, &id, &len);
        in_a[i] = spi_dict_lookup(ha->ids, id, len) != SP_NONE; /* misses record nothing */
        count += !in_a[i];
    }
    const size_t P = a->nperiods == b->nperiods ? a->nperiods : 0;
    sp_target_comparison *c = spi_calloc(ctx, 1, sizeof *c);
    /* One block: ids, then 8-byte columns (a, b, diff, rel, and P each for the periods),
     * then the flags. */
    size_t cols = 4 + 4 * P;
    void *block = NULL;
    if (c != NULL && count <= SIZE_MAX / 16 / (cols + 2))
        block = spi_malloc_array(ctx, count, sizeof(char *) + cols * 8 + 4 * (1 + P));
    if (c == NULL || block == NULL) {
        spi_free(ctx, c);
        spi_free(ctx, in_a);
        return SP_ENOMEM;
    }
    c->ctx = ctx;
    c->count = count;
    c->nperiods = P;
    c->ids = block;
    int64_t *col = (int64_t *)(void *)(c->ids + count);
    c->a = col;
    c->b = col + count;
    c->diff = col + 2 * count;
    c->rel = col + 3 * count;
    c->pa = col + 4 * count;
    c->pb = c->pa + count * P;
    c->pdiff = c->pb + count * P;
    c->prel = c->pdiff + count * P;
    c->flags = (uint32_t *)(void *)(c->prel + count * P);
    c->period_flags = c->flags + count;
    memset(c->flags, 0, count * (1 + P) * sizeof *c->flags);

    int rc = SP_OK;
    size_t row = 0;
    for (int side = 0; side < 2 && rc == SP_OK; side++) {
        const sp_target_set *s = side == 0 ? a : b;
        for (uint32_t i = 0; i < s->n && rc == SP_OK; i++) {
            if (side == 1 && in_a[i])
                continue;
            const char *id;
            size_t len;
            (void)sp_dict_id(s->sh->h->ids, i, &id, &len);
            uint32_t ia = side == 0 ? i : SPI_TREE_NONE, ib = side == 1 ? i : SPI_TREE_NONE;
            if (side == 0)
                ib = spi_dict_lookup(hb->ids, id, len); /* SP_NONE is SPI_TREE_NONE */
            c->ids[row] = id;
            c->flags[row] = (ia != SPI_TREE_NONE ? SP_COMPARE_IN_A : 0) |
                            (ib != SPI_TREE_NONE ? SP_COMPARE_IN_B : 0);
            c->only_a += ib == SPI_TREE_NONE;
            c->only_b += ia == SPI_TREE_NONE;
            c->a[row] = ia != SPI_TREE_NONE ? a->annual[ia] : 0;
            c->b[row] = ib != SPI_TREE_NONE ? b->annual[ib] : 0;
            rc = compare_cell(c->a[row], c->b[row], &c->diff[row], &c->rel[row], &c->flags[row]);
            for (size_t p = 0; p < P && rc == SP_OK; p++) {
                size_t k = row * P + p;
                c->pa[k] = ia != SPI_TREE_NONE ? a->periods[(size_t)ia * P + p] : 0;
                c->pb[k] = ib != SPI_TREE_NONE ? b->periods[(size_t)ib * P + p] : 0;
                rc = compare_cell(c->pa[k], c->pb[k], &c->pdiff[k], &c->prel[k],
                                  &c->period_flags[k]);
            }
            if (rc != SP_OK) {
                char q[SPI_QUOTE_CAP];
                rc = spi_fail(ctx, SP_EOVERFLOW, "target compare: node %s: b - a overflows",
                              spi_quote(q, id, len));
            }
            row++;
        }
    }
    spi_free(ctx, in_a);
    if (rc != SP_OK) {
        sp_target_comparison_free(c);
        return rc;
    }
    *out = c;
    return SP_OK;
}

int sp_target_comparison_get_data(const sp_target_comparison *cmp,
                                  sp_target_comparison_data *data)
{
    if (cmp == NULL)
        return SP_EINVAL;
    if (data == NULL)
        return spi_fail(cmp->ctx, SP_EINVAL, "target comparison: data is NULL");
    sp_target_comparison_data d;
    memset(&d, 0, sizeof d);
    d.count = cmp->count;
    d.nperiods = cmp->nperiods;
    d.ids = cmp->ids;
    d.flags = cmp->flags;
    d.a = cmp->a;
    d.b = cmp->b;
    d.diff = cmp->diff;
    d.relative = cmp->rel;
    d.period_flags = cmp->period_flags;
    d.period_a = cmp->pa;
    d.period_b = cmp->pb;
    d.period_diff = cmp->pdiff;
    d.period_relative = cmp->prel;
    d.only_in_a = cmp->only_a;
    d.only_in_b = cmp->only_b;
    return spi_info_out(cmp->ctx, "sp_target_comparison_data", data, &d, cmp_data_sizes,
                        SP_TARGET_COMPARISON_DATA_VERSION);
}
