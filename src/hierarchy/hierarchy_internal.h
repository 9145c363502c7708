/*
 * Internal interface of the hierarchy, for the modules built on it: the index-based tree
 * (nodes are dense indices, children contiguous runs of the top-down order, siblings in
 * canonical order), the hierarchy's layout, roll-ups of rows, and the copies and
 * hierarchies built from parent indices that plans and their stored forms use.
 */
#ifndef SPI_HIERARCHY_INTERNAL_H
#define SPI_HIERARCHY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "../core/internal.h"
#include "../storage/dict_internal.h"
#include "salesplan/hierarchy.h"
#include "salesplan/storage.h"

/* ---- the tree ---- */

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
/* A copy of the built tree `src` into `dst` (SP_ENOMEM: dst untouched). */
int spi_tree_copy(sp_ctx *ctx, spi_tree *dst, const spi_tree *src);

/* The children of v. */
static inline const uint32_t *spi_tree_children(const spi_tree *t, uint32_t v)
{
    return t->order + t->first[v];
}

/* ---- the hierarchy ---- */

struct sp_hierarchy {
    sp_ctx *ctx;
    sp_dict *ids;         /* node ids; a node's index is its dictionary index */
    uint32_t *parent;     /* per node: its parent, SPI_TREE_NONE, or PENDING */
    size_t parent_cap;
    /* Parent ids not yet known when their child was added, resolved by validation. */
    struct spi_pending *pending;
    size_t npending, pending_cap;
    char *pending_text;
    size_t pending_len, pending_text_cap;
    char **levels; /* level names, NUL-terminated */
    size_t nlevels;
    bool valid;
    bool frozen;         /* held by a plan or set: no change (implies valid) */
    uint64_t generation; /* changes whenever the set of nodes changes */
    spi_tree tree;       /* when valid */
};

/* Write the quoted id of `node` into buf (SPI_QUOTE_CAP bytes); returns buf. */
const char *spi_hierarchy_quote(const sp_hierarchy *h, uint32_t node, char *buf);

/* SP_OK when h is validated, else SP_EINVAL with a message starting with `what`. */
int spi_hierarchy_check_valid(const sp_hierarchy *h, const char *what);

/* A validated copy of h (ids, parents, level names, tree; same indices) in ctx, made in
 * one pass: nothing is hashed, checked or sorted again. */
int spi_hierarchy_copy(sp_ctx *ctx, const sp_hierarchy *h, sp_hierarchy **out);
/* A validated hierarchy from ids and parent indices (SPI_TREE_NONE for the root). */
int spi_hierarchy_from_parents(sp_ctx *ctx, const char *what, char *const *ids,
                               const uint32_t *parents, uint32_t n, char *const *levels,
                               size_t nlevels, sp_hierarchy **out);

/*
 * A hierarchy shared by a plan and the sets made from it: immutable once shared, freed
 * with its last holder. Plans and sets of one context run on one thread, so a plain
 * count suffices.
 */
typedef struct spi_shared_h {
    sp_hierarchy *h;
    uint32_t refs;
} spi_shared_h;

/* Wraps h (validated; ownership passes on success). */
int spi_shared_h_new(sp_ctx *ctx, sp_hierarchy *h, spi_shared_h **out);
spi_shared_h *spi_shared_h_ref(spi_shared_h *s);
void spi_shared_h_unref(sp_ctx *ctx, spi_shared_h *s);

/* In-place roll-up of rows (width values per node, row v at rows + v * width): each inner
 * node's row becomes its own (with `own`) plus its children's, exact (a transient overflow
 * that cancels out is none), checked. With `own` it keeps a copy of the inner rows while it
 * runs (SP_ENOMEM). */
int spi_rollup_rows(const sp_hierarchy *h, const char *what, int64_t *rows, size_t width,
                    bool own);

#endif /* SPI_HIERARCHY_INTERNAL_H */
