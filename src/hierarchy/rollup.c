/*
 * Roll-ups along the hierarchy, per-level totals, and the reconciliation of bottom-up
 * commitments with top-down targets. Sums run in 128 bits (no transient overflow with
 * mixed signs) and are checked against int64_t once, at the node.
 */
#include <stdio.h>
#include <string.h>

#include "../money/numeric.h"
#include "hierarchy_internal.h"

#define GROUP_STACK 64

static const size_t reconcile_options_sizes[] = { 0, sizeof(sp_reconcile_options) };
static const size_t reconcile_output_sizes[] = { 0, sizeof(sp_reconcile_output) };

SPI_DEFINE_INIT(sp_reconcile_options, reconcile_options_sizes,
                SP_RECONCILE_OPTIONS_VERSION, SP_RECONCILE_OPTIONS_INIT)

SPI_DEFINE_INIT(sp_reconcile_output, reconcile_output_sizes,
                SP_RECONCILE_OUTPUT_VERSION, SP_RECONCILE_OUTPUT_INIT)

/*
 * sums[v] = values[v] at the leaves (and with `own` at inner nodes too) plus the sums of
 * v's children, in 128 bits, children before parents; then each checked to fit int64_t.
 * On overflow the message names the highest node that overflows.
 */
static int sum_up(const sp_hierarchy *h, const char *what, const int64_t *values, bool own,
                  spi_i128 *sums, int64_t *out)
{
    const spi_tree *t = &h->tree;
    for (uint32_t i = t->n; i-- > 0;) {
        uint32_t v = t->order[i];
        const uint32_t *kids = spi_tree_children(t, v);
        spi_i128 sum = own || t->count[v] == 0 ? values[v] : 0;
        for (uint32_t j = 0; j < t->count[v]; j++)
            sum += sums[kids[j]];
        sums[v] = sum;
    }
    bool fits = true;
    for (uint32_t v = 0; v < t->n; v++) {
        fits &= sums[v] <= INT64_MAX && sums[v] >= INT64_MIN;
        out[v] = (int64_t)sums[v];
    }
    for (uint32_t i = 0; !fits && i < t->n; i++) {
        uint32_t v = t->order[i];
        if (sums[v] > INT64_MAX || sums[v] < INT64_MIN) {
            char q[SPI_QUOTE_CAP];
            return spi_fail(h->ctx, SP_EOVERFLOW, "%s: the sum at node %s overflows int64_t",
                            what, spi_hierarchy_quote(h, v, q));
        }
    }
    return SP_OK;
}

/* The roll-up exactly as specified: walking the top-down order backwards completes every
 * child's row before its parent reads it; each cell's sum runs in 128 bits. */
static int rollup_rows_exact(const sp_hierarchy *h, const char *what, int64_t *rows,
                             size_t width, bool own)
{
    const spi_tree *t = &h->tree;
    for (uint32_t i = t->n; i-- > 0;) {
        uint32_t v = t->order[i];
        if (t->count[v] == 0)
            continue;
        const uint32_t *kids = spi_tree_children(t, v);
        int64_t *row = rows + (size_t)v * width;
        for (size_t c = 0; c < width; c++) {
            spi_i128 sum = own ? row[c] : 0;
            for (uint32_t j = 0; j < t->count[v]; j++)
                sum += rows[(size_t)kids[j] * width + c];
            if (sum > INT64_MAX || sum < INT64_MIN) {
                char q[SPI_QUOTE_CAP];
                return spi_fail(h->ctx, SP_EOVERFLOW, "%s: the sum at node %s overflows int64_t",
                                what, spi_hierarchy_quote(h, v, q));
            }
            row[c] = (int64_t)sum;
        }
    }
    return SP_OK;
}

/* row += add, cell by cell; false when a cell leaves int64_t (row is then partly added). */
static bool add_row(int64_t *row, const int64_t *add, size_t width)
{
    bool ok = true;
    for (size_t c = 0; c < width; c++)
        ok &= !__builtin_add_overflow(row[c], add[c], &row[c]);
    return ok;
}

/*
 * In place, in one pass over the rows in memory order (a large roll-up is bound by memory:
 * the top-down order visits the leaves' rows at random): each leaf's row is added into its
 * parent's, then each inner node's, deepest first, into its parent's, in int64_t. When no
 * partial sum leaves int64_t the result is the exact one; otherwise the inner rows are put
 * back (`own`: from a copy) and the exact 128-bit walk decides, with its message.
 */
int spi_rollup_rows(const sp_hierarchy *h, const char *what, int64_t *rows, size_t width,
                    bool own)
{
    const spi_tree *t = &h->tree;
    if (t->n < 2 || width == 0)
        return SP_OK;
    int64_t *saved = NULL;
    if (own) {
        size_t ninner = 0;
        for (uint32_t v = 0; v < t->n; v++)
            ninner += t->count[v] > 0;
        if ((saved = spi_malloc_array(h->ctx, ninner, width * sizeof *saved)) == NULL)
            return SP_ENOMEM;
        for (uint32_t v = 0, k = 0; v < t->n; v++)
            if (t->count[v] > 0)
                memcpy(saved + width * k++, rows + (size_t)v * width, width * sizeof *saved);
    } else {
        for (uint32_t v = 0; v < t->n; v++)
            if (t->count[v] > 0)
                memset(rows + (size_t)v * width, 0, width * sizeof *rows);
    }
    bool fits = true;
    for (uint32_t v = 0; v < t->n; v++)
        if (t->count[v] == 0 && v != t->root)
            fits &= add_row(rows + (size_t)h->parent[v] * width, rows + (size_t)v * width, width);
    for (uint32_t i = t->n; fits && i-- > 1;) {
        uint32_t v = t->order[i];
        if (t->count[v] > 0)
            fits &= add_row(rows + (size_t)h->parent[v] * width, rows + (size_t)v * width, width);
    }
    int rc = SP_OK;
    if (!fits) {
        for (uint32_t v = 0, k = 0; own && v < t->n; v++)
            if (t->count[v] > 0)
                memcpy(rows + (size_t)v * width, saved + width * k++, width * sizeof *saved);
        rc = rollup_rows_exact(h, what, rows, width, own);
    }
    spi_free(h->ctx, saved);
    return rc;
}

int sp_hierarchy_rollup(const sp_hierarchy *h, const int64_t *values, uint32_t flags,
                        int64_t *out)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = spi_hierarchy_check_valid(h, "rollup");
    if (rc != SP_OK)
        return rc;
    if (values == NULL || out == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "rollup: %s is NULL", values == NULL ? "values" : "out");
    if (flags > SP_ROLLUP_OWN)
        return spi_fail(h->ctx, SP_EINVAL, "rollup: unknown flags %u", (unsigned)flags);
    const uint32_t n = h->tree.n;
    spi_i128 *sums = spi_malloc_array(h->ctx, n, sizeof *sums + sizeof(int64_t));
    if (sums == NULL)
        return SP_ENOMEM;
    int64_t *result = (int64_t *)(void *)(sums + n);
    rc = sum_up(h, "rollup", values, (flags & SP_ROLLUP_OWN) != 0, sums, result);
    if (rc == SP_OK)
        memcpy(out, result, n * sizeof *out);
    spi_free(h->ctx, sums);
    return rc;
}

int sp_hierarchy_level_totals(const sp_hierarchy *h, const int64_t *values, int64_t *totals,
                              size_t cap)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = spi_hierarchy_check_valid(h, "level totals");
    if (rc != SP_OK)
        return rc;
    if (values == NULL || totals == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "level totals: %s is NULL",
                        values == NULL ? "values" : "totals");
    const spi_tree *t = &h->tree;
    if (cap < t->levels)
        return spi_fail(h->ctx, SP_EBUFFER,
                        "level totals: room for %zu levels, the hierarchy has %u", cap,
                        (unsigned)t->levels);
    /* Nodes come level by level in the top-down order. */
    spi_i128 sum = 0;
    uint32_t level = 0;
    for (uint32_t i = 0; i <= t->n; i++) {
        if (i == t->n || t->depth[t->order[i]] != level) {
            if (sum > INT64_MAX || sum < INT64_MIN)
                return spi_fail(h->ctx, SP_EOVERFLOW,
                                "level totals: the total of level %u overflows int64_t",
                                (unsigned)level);
            level++;
            sum = 0;
        }
        if (i < t->n)
            sum += values[t->order[i]];
    }
    /* Second pass only after every level fitted: nothing is written on error. */
    level = 0;
    for (uint32_t i = 0; i <= t->n; i++) {
        if (i == t->n || t->depth[t->order[i]] != level) {
            totals[level++] = (int64_t)sum;
            sum = 0;
        }
        if (i < t->n)
            sum += values[t->order[i]];
    }
    return SP_OK;
}

/* ---- reconciliation ---- */

/* The top-down targets must be >= 0 and add up at every node. */
static int check_top_down(const sp_hierarchy *h, const int64_t *td)
{
    const spi_tree *t = &h->tree;
    char q[SPI_QUOTE_CAP];
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t v = t->order[i];
        if (td[v] < 0)
            return spi_fail(h->ctx, SP_EINVAL, "reconcile: the top-down target of node %s is %lld",
                            spi_hierarchy_quote(h, v, q), (long long)td[v]);
    }
    for (uint32_t i = 0; i < t->n; i++) {
        uint32_t v = t->order[i];
        if (t->count[v] == 0)
            continue;
        spi_i128 sum = 0;
        const uint32_t *kids = spi_tree_children(t, v);
        for (uint32_t j = 0; j < t->count[v]; j++)
            sum += td[kids[j]];
        if (sum != td[v]) {
            if (sum > INT64_MAX)
                return spi_fail(h->ctx, SP_EINVAL,
                                "reconcile: the top-down targets of the children of node %s sum "
                                "beyond int64_t, not to its %lld",
                                spi_hierarchy_quote(h, v, q), (long long)td[v]);
            return spi_fail(h->ctx, SP_EINVAL,
                            "reconcile: the top-down targets of the children of node %s sum to "
                            "%lld, not its %lld",
                            spi_hierarchy_quote(h, v, q), (long long)sum, (long long)td[v]);
        }
    }
    return SP_OK;
}

/* Split res[root] down the tree with weights p·BU + (q-p)·TD, which add up. */
static int blend_down(const sp_hierarchy *h, const int64_t *bu, const int64_t *td, int64_t p,
                      int64_t q, int64_t *res)
{
    const spi_tree *t = &h->tree;
    spi_i128 w_root = (spi_i128)p * bu[t->root] + (spi_i128)(q - p) * td[t->root];
    if (w_root > INT64_MAX)
        return spi_fail(h->ctx, SP_EOVERFLOW,
                        "reconcile: the blend weights (bottom-up x %lld + top-down x %lld) "
                        "exceed 2^63 - 1 at the root: use a bottom-up weight with fewer decimals",
                        (long long)p, (long long)(q - p));
    res[t->root] = (int64_t)spi_div_round_i128(w_root, q, SP_ROUND_HALF_EVEN);

    _Alignas(int64_t) unsigned char stack[GROUP_STACK * 2 * sizeof(int64_t)];
    int64_t *w = (int64_t *)(void *)stack;
    if (t->max_children > GROUP_STACK &&
        (w = spi_malloc_array(h->ctx, t->max_children, 2 * sizeof(int64_t))) == NULL)
        return SP_ENOMEM;
    int64_t *part = w + (t->max_children > GROUP_STACK ? t->max_children : GROUP_STACK);
    int rc = SP_OK;
    for (uint32_t i = 0; i < t->n && rc == SP_OK; i++) {
        uint32_t v = t->order[i];
        const uint32_t k = t->count[v];
        if (k == 0)
            continue;
        const uint32_t *kids = spi_tree_children(t, v);
        for (uint32_t j = 0; j < k; j++)
            w[j] = p * bu[kids[j]] + (q - p) * td[kids[j]]; /* <= w_root: no overflow */
        rc = sp_allocate(h->ctx, res[v], w, k, NULL, part);
        for (uint32_t j = 0; rc == SP_OK && j < k; j++)
            res[kids[j]] = part[j];
    }
    if ((unsigned char *)w != stack)
        spi_free(h->ctx, w);
    return rc;
}

int sp_hierarchy_reconcile(const sp_hierarchy *h, const int64_t *top_down,
                           const int64_t *commitments, const sp_reconcile_options *opts,
                           const sp_reconcile_output *out)
{
    if (h == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = h->ctx;
    sp_reconcile_options o = SP_RECONCILE_OPTIONS_INIT;
    sp_reconcile_output res = SP_RECONCILE_OUTPUT_INIT;
    int rc;
    if ((rc = spi_struct_read(ctx, "sp_reconcile_options", &o, opts, reconcile_options_sizes,
                              SP_RECONCILE_OPTIONS_VERSION)) != SP_OK ||
        (rc = spi_struct_read(ctx, "sp_reconcile_output", &res, out, reconcile_output_sizes,
                              SP_RECONCILE_OUTPUT_VERSION)) != SP_OK ||
        (rc = spi_hierarchy_check_valid(h, "reconcile")) != SP_OK)
        return rc;
    if (top_down == NULL || commitments == NULL)
        return spi_fail(ctx, SP_EINVAL, "reconcile: %s is NULL",
                        top_down == NULL ? "top_down" : "commitments");
    if (o.mode > SP_RECONCILE_BLEND)
        return spi_fail(ctx, SP_EINVAL, "reconcile: mode %u is unknown", (unsigned)o.mode);
    if (o.mode == SP_RECONCILE_BLEND &&
        (o.bottom_up_weight < 0 || o.bottom_up_weight > SP_DEC_ONE)) {
        char t[SP_TEXT_MAX];
        if (spi_format_fixed(o.bottom_up_weight, SP_DEC_DIGITS, true, false, "", t, sizeof t,
                             NULL) != SP_OK)
            t[0] = '\0';
        return spi_fail(ctx, SP_EINVAL, "reconcile: bottom-up weight %s is outside [0, 1]", t);
    }
    if ((rc = check_top_down(h, top_down)) != SP_OK)
        return rc;
    const spi_tree *t = &h->tree;
    char q[SPI_QUOTE_CAP];
    for (uint32_t v = 0; v < t->n; v++)
        if (t->count[v] == 0 && (o.committed == NULL || o.committed[v] != 0) && commitments[v] < 0)
            return spi_fail(ctx, SP_EINVAL, "reconcile: the commitment of leaf %s is %lld",
                            spi_hierarchy_quote(h, v, q), (long long)commitments[v]);

    /* leaf values, their 128-bit sums, the rolled-up bottom-up values, the result */
    const size_t n = t->n;
    unsigned char *block = spi_malloc_array(ctx, n, 3 * sizeof(int64_t) + sizeof(spi_i128));
    if (block == NULL)
        return SP_ENOMEM;
    spi_i128 *sums = (spi_i128 *)(void *)block;
    int64_t *leaf = (int64_t *)(void *)(sums + n), *bu = leaf + n, *result = bu + n;
    for (uint32_t v = 0; v < n; v++)
        leaf[v] = o.committed == NULL || o.committed[v] != 0 ? commitments[v] : top_down[v];
    rc = sum_up(h, "reconcile", leaf, false, sums, bu);
    if (rc == SP_OK) {
        if (o.mode == SP_RECONCILE_TOP_DOWN) {
            memcpy(result, top_down, n * sizeof *result);
        } else if (o.mode == SP_RECONCILE_BOTTOM_UP) {
            memcpy(result, bu, n * sizeof *result);
        } else {
            uint64_t g = spi_gcd_u64((uint64_t)o.bottom_up_weight, (uint64_t)SP_DEC_ONE);
            rc = blend_down(h, bu, top_down, o.bottom_up_weight / (int64_t)g,
                            SP_DEC_ONE / (int64_t)g, result);
        }
    }
    if (rc == SP_OK) {
        if (res.bottom_up != NULL)
            memcpy(res.bottom_up, bu, n * sizeof *bu);
        if (res.result != NULL)
            memcpy(res.result, result, n * sizeof *result);
        for (uint32_t v = 0; res.gap != NULL && v < n; v++)
            res.gap[v] = bu[v] - top_down[v]; /* both in [0, INT64_MAX] */
    }
    spi_free(ctx, block);
    return rc;
}
