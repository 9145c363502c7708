/*
 * The index-based shape of a hierarchy, shared by the hierarchy, decomposition and
 * roll-up code: nodes are dense indices, children are contiguous runs of the top-down
 * order, siblings in canonical order.
 */
#ifndef SPI_TARGET_TREE_H
#define SPI_TARGET_TREE_H

#include <stdint.h>

#include "../core/internal.h"

#define SPI_TREE_NONE UINT32_MAX

typedef struct spi_tree {
    uint32_t n;
    uint32_t root;
    uint32_t levels;       /* greatest depth + 1 */
    uint32_t max_children; /* size of the largest sibling group */
    uint32_t *order;       /* n: the root, then each node's children after it, level by level */
    uint32_t *first;       /* n: children of v are order[first[v] .. first[v] + count[v]) */
    uint32_t *count;       /* n */
    uint32_t *depth;       /* n */
} spi_tree;

/* Canonical order of siblings: negative, zero or positive like memcmp. */
typedef int (*spi_tree_cmp)(const void *arg, uint32_t a, uint32_t b);

/* What spi_tree_build found wrong; the caller words the message with its ids. */
typedef enum spi_tree_problem_kind {
    SPI_TREE_OK = 0,
    SPI_TREE_EMPTY,      /* no nodes */
    SPI_TREE_ROOTS,      /* more than one root: nodes[0..2] are the first in canonical order */
    SPI_TREE_CYCLE       /* nodes[0] lies on a cycle (also when there is no root at all) */
} spi_tree_problem_kind;

typedef struct spi_tree_problem {
    spi_tree_problem_kind kind;
    uint32_t roots;    /* SPI_TREE_ROOTS: how many */
    uint32_t nodes[3];
} spi_tree_problem;

/*
 * Build `t` from parent[0..n) (SPI_TREE_NONE for a root; every other entry < n). Siblings
 * are ordered by keys[] (NULL: all equal) and, among equal keys, by cmp: keys[a] <
 * keys[b] must imply cmp(a, b) < 0. On a shape problem returns SP_EINVAL with *problem
 * filled and records no message; on SP_ENOMEM nothing is kept. `t` is written only on
 * success.
 */
int spi_tree_build(sp_ctx *ctx, spi_tree *t, const uint32_t *parent, uint32_t n,
                   const uint64_t *keys, spi_tree_cmp cmp, const void *arg,
                   spi_tree_problem *problem);
void spi_tree_free(sp_ctx *ctx, spi_tree *t);

/* The children of v. */
static inline const uint32_t *spi_tree_children(const spi_tree *t, uint32_t v)
{
    return t->order + t->first[v];
}

#endif /* SPI_TARGET_TREE_H */
