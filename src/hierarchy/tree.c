/*
 * Building the index-based shape of a hierarchy: children grouped by parent (a counting
 * sort), each group sorted canonically (merge sort, no allocation per group), then one
 * breadth-first pass that lays out the top-down order and the depths. Nodes the pass
 * does not reach hang from a cycle.
 */
#include <string.h>

#include "hierarchy_internal.h"

#define INSERTION_MAX 16

/* A node with the first bytes of its sort key, so that most comparisons touch neither the
 * node's id nor a callback. */
typedef struct keyed {
    uint64_t key;
    uint32_t node;
} keyed;

typedef struct sorter {
    const uint64_t *keys; /* or NULL */
    spi_tree_cmp cmp;
    const void *arg;
} sorter;

static int compare(const sorter *s, const keyed *a, const keyed *b)
{
    if (a->key != b->key)
        return a->key < b->key ? -1 : 1;
    return s->cmp(s->arg, a->node, b->node);
}

static void insertion_sort(keyed *a, size_t k, const sorter *s)
{
    for (size_t i = 1; i < k; i++) {
        keyed v = a[i];
        size_t j = i;
        for (; j > 0 && compare(s, &a[j - 1], &v) > 0; j--)
            a[j] = a[j - 1];
        a[j] = v;
    }
}

/* Sort the group g[0..k) canonically, through a[] and tmp[] (k entries each): runs of
 * INSERTION_MAX sorted in place, then merged pairwise, alternating between a and tmp. */
static void sort_group(uint32_t *g, size_t k, keyed *a, keyed *tmp, const sorter *s)
{
    for (size_t i = 0; i < k; i++) {
        a[i].node = g[i];
        a[i].key = s->keys != NULL ? s->keys[g[i]] : 0;
    }
    for (size_t lo = 0; lo < k; lo += INSERTION_MAX)
        insertion_sort(a + lo, k - lo < INSERTION_MAX ? k - lo : INSERTION_MAX, s);
    keyed *src = a, *dst = tmp;
    for (size_t width = INSERTION_MAX; width < k; width *= 2) {
        for (size_t lo = 0; lo < k; lo += 2 * width) {
            size_t mid = lo + width < k ? lo + width : k;
            size_t hi = mid + width < k ? mid + width : k;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                dst[o++] = compare(s, &src[j], &src[i]) < 0 ? src[j++] : src[i++];
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        keyed *swap = src;
        src = dst;
        dst = swap;
    }
    for (size_t i = 0; i < k; i++)
        g[i] = src[i].node;
}

/* Keep the (up to) three canonically smallest roots. */
static void note_root(spi_tree_problem *p, uint32_t v, spi_tree_cmp cmp, const void *arg)
{
    uint32_t kept = p->roots < 3 ? p->roots : 3;
    p->roots++;
    uint32_t j = kept;
    while (j > 0 && cmp(arg, p->nodes[j - 1], v) > 0) {
        if (j < 3)
            p->nodes[j] = p->nodes[j - 1];
        j--;
    }
    if (j < 3)
        p->nodes[j] = v;
}

int spi_tree_build(sp_ctx *ctx, spi_tree *t, const uint32_t *parent, uint32_t n,
                   const uint64_t *keys, spi_tree_cmp cmp, const void *arg,
                   spi_tree_problem *problem)
{
    const sorter sort = { keys, cmp, arg };
    memset(problem, 0, sizeof *problem);
    if (n == 0) {
        problem->kind = SPI_TREE_EMPTY;
        return SP_EINVAL;
    }
    uint32_t *block = spi_malloc_array(ctx, n, 4 * sizeof(uint32_t));
    if (block == NULL)
        return SP_ENOMEM;
    uint32_t *order = block, *first = block + n, *count = block + 2 * (size_t)n,
             *depth = block + 3 * (size_t)n;

    /* Children per node, and the roots. */
    memset(count, 0, (size_t)n * sizeof *count);
    for (uint32_t v = 0; v < n; v++) {
        if (parent[v] == SPI_TREE_NONE)
            note_root(problem, v, cmp, arg);
        else
            count[parent[v]]++;
    }
    uint32_t max_children = 0, start = 0;
    for (uint32_t v = 0; v < n; v++) {
        first[v] = start;
        start += count[v];
        if (count[v] > max_children)
            max_children = count[v];
    }
    if (problem->roots > 1) {
        problem->kind = SPI_TREE_ROOTS;
        spi_free(ctx, block);
        return SP_EINVAL;
    }

    /* Group the children by parent (depth serves as the fill cursor), sort each group. */
    uint32_t *kids = spi_malloc_array(ctx, n, sizeof(uint32_t));
    keyed *pairs = spi_malloc_array(ctx, (size_t)max_children, 2 * sizeof(keyed));
    if (kids == NULL || pairs == NULL) {
        spi_free(ctx, kids);
        spi_free(ctx, pairs);
        spi_free(ctx, block);
        return SP_ENOMEM;
    }
    memcpy(depth, first, (size_t)n * sizeof *depth);
    for (uint32_t v = 0; v < n; v++)
        if (parent[v] != SPI_TREE_NONE)
            kids[depth[parent[v]]++] = v;
    for (uint32_t v = 0; v < n; v++)
        if (count[v] > 1)
            sort_group(kids + first[v], count[v], pairs, pairs + max_children, &sort);
    spi_free(ctx, pairs);

    /* Breadth first from the root: children runs follow in the order of their parents. */
    for (uint32_t v = 0; v < n; v++)
        depth[v] = SPI_TREE_NONE;
    uint32_t reached = 0, levels = 0;
    if (problem->roots == 1) {
        uint32_t root = problem->nodes[0];
        order[0] = root;
        depth[root] = 0;
        reached = 1;
        for (uint32_t i = 0; i < reached; i++) {
            uint32_t v = order[i];
            const uint32_t *kv = kids + first[v];
            first[v] = reached;
            for (uint32_t k = 0; k < count[v]; k++) {
                order[reached + k] = kv[k];
                depth[kv[k]] = depth[v] + 1;
            }
            reached += count[v];
            if (depth[v] + 1 > levels)
                levels = depth[v] + 1;
        }
    }
    spi_free(ctx, kids);

    if (reached < n) {
        /* Every node not reached has a parent not reached: walking up from one must come
         * back to a node of the walk, which lies on a cycle. */
        uint32_t v = 0;
        while (depth[v] != SPI_TREE_NONE)
            v++;
        const uint32_t walking = SPI_TREE_NONE - 1;
        while (depth[v] == SPI_TREE_NONE) {
            depth[v] = walking;
            v = parent[v];
        }
        problem->kind = SPI_TREE_CYCLE;
        problem->nodes[0] = v;
        spi_free(ctx, block);
        return SP_EINVAL;
    }

    t->n = n;
    t->root = order[0];
    t->levels = levels;
    t->max_children = max_children;
    t->order = order;
    t->first = first;
    t->count = count;
    t->depth = depth;
    return SP_OK;
}

void spi_tree_free(sp_ctx *ctx, spi_tree *t)
{
    if (t->order != NULL)
        spi_free(ctx, t->order); /* the block holds every array */
    memset(t, 0, sizeof *t);
}

int spi_tree_copy(sp_ctx *ctx, spi_tree *dst, const spi_tree *src)
{
    uint32_t *block = spi_malloc_array(ctx, src->n, 4 * sizeof(uint32_t));
    if (block == NULL)
        return SP_ENOMEM;
    const size_t n = src->n;
    *dst = *src;
    dst->order = block;
    dst->first = block + n;
    dst->count = block + 2 * n;
    dst->depth = block + 3 * n;
    /* The arrays lie in one block in this order (spi_tree_build). */
    memcpy(block, src->order, 4 * n * sizeof *block);
    return SP_OK;
}
