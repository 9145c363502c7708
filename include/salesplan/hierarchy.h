/*
 * salesplan/hierarchy.h - trees of nodes named by host ids (company, region, grid, rep),
 * with named levels, roll-ups and the reconciliation of bottom-up commitments with
 * top-down targets. Shared by every module; docs/hierarchy.md is the guide.
 */
#ifndef SALESPLAN_HIERARCHY_H
#define SALESPLAN_HIERARCHY_H

#include "core.h"
#include "money.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * The hierarchy: company, regions, grids, reps, ... as host ids with parents
 * ====================================================================================== */

/* An index that stands for "no node" (the root's parent). Same value as SP_NONE of
 * storage.h. */
#define SP_HIERARCHY_NONE UINT32_MAX

/*
 * A tree of nodes named by the host's ids (UTF-8, 1 to 65535 bytes, no NUL). Nodes get
 * dense indices 0, 1, 2, ... in the order they are added; every per-node array of this
 * header is indexed by them. A node's level is its depth: the root is level 0, its
 * children level 1, and so on; sp_hierarchy_set_levels names the levels. Leaves may sit
 * at any depth (a rep directly under a region is at level 2).
 *
 * Nodes are added in any order (a child may come before its parent), then
 * sp_hierarchy_validate checks the whole and freezes it: exactly one root, every parent
 * a node, no cycle. Siblings are kept in canonical order: by their ids' bytes (unsigned,
 * a proper prefix first), so that results never depend on the order nodes were added.
 * Adding a node after validation makes the hierarchy unvalidated again.
 */
typedef struct sp_hierarchy sp_hierarchy;

/* A new, empty hierarchy in `ctx` (state SP_HIERARCHY_OPEN). */
SP_API int sp_hierarchy_new(sp_hierarchy **out, sp_ctx *ctx);
SP_API void sp_hierarchy_free(sp_hierarchy *h);

/*
 * Add one node with its parent's id; `parent` NULL makes it a root candidate. The parent
 * need not exist yet. `*index` (may be NULL) receives the node's index.
 * SP_ECONFLICT for an id already present, SP_EINVAL for an empty, too long or invalid id
 * or parent id (messages quote the id), SP_EOVERFLOW beyond 2^32 - 3 nodes.
 */
SP_API int sp_hierarchy_add(sp_hierarchy *h, const char *id, size_t id_len, const char *parent,
                            size_t parent_len, uint32_t *index);
/*
 * Add n nodes at once, all or nothing. `id_lens` / `parent_lens` may be NULL for
 * NUL-terminated strings; `parents` may be NULL (n roots) and parents[i] NULL marks a
 * root. `indices` (may be NULL) receives the n indices, which are consecutive.
 */
SP_API int sp_hierarchy_add_all(sp_hierarchy *h, const char *const *ids, const size_t *id_lens,
                                const char *const *parents, const size_t *parent_lens, size_t n,
                                uint32_t *indices);
/*
 * sp_hierarchy_add_all with ids and parent ids packed as storage.h describes for
 * sp_dict_add_packed (one buffer and n + 1 offsets each, Arrow's layout): node i is
 * ids_data[ids_offsets[i] .. ids_offsets[i + 1]), its parent
 * parents_data[parents_offsets[i] .. parents_offsets[i + 1]), an empty parent marking a
 * root candidate (ids are never empty). parents_data and parents_offsets NULL: n roots.
 * Offsets are checked first ("hierarchy: parents_offsets[2] = 9 is beyond
 * parents_data_len 8"), then parent ids, then ids.
 */
SP_API int sp_hierarchy_add_packed(sp_hierarchy *h, const char *ids_data, size_t ids_data_len,
                                   const uint64_t *ids_offsets, const char *parents_data,
                                   size_t parents_data_len, const uint64_t *parents_offsets,
                                   size_t n, uint32_t *indices);
/* Name the levels from the root down (e.g. "company", "region", "grid", "rep",
 * "product"); replaces earlier names. Names are NUL-terminated UTF-8, non-empty, unique.
 * Validation then requires every node's depth to have a name. */
SP_API int sp_hierarchy_set_levels(sp_hierarchy *h, const char *const *names, size_t n);

/*
 * Check and freeze the hierarchy. Errors (SP_EINVAL, nothing changed, the message quotes
 * the ids): no nodes; a parent id that is no node's id; no root or more than one; a cycle
 * (the message lists its ids, each followed by its parent); a node deeper than the level
 * names. SP_ENOMEM.
 */
SP_API int sp_hierarchy_validate(sp_hierarchy *h);

/* What can be done with a hierarchy. Values are frozen; none is 0. */
typedef enum sp_hierarchy_state {
    SP_HIERARCHY_OPEN = 1,  /* nodes may be added; not validated (or changed since) */
    SP_HIERARCHY_VALID = 2, /* validated: readable; adding nodes makes it OPEN again */
    SP_HIERARCHY_FROZEN = 3 /* validated and immutable: the copy a plan or a target set
                               holds (sp_target_plan_get_info); every change returns
                               SP_ECONFLICT */
} sp_hierarchy_state;

/* The sp_hierarchy_state of h; 0 for NULL. */
SP_API uint32_t sp_hierarchy_get_state(const sp_hierarchy *h);

/* The number of nodes; 0 for NULL. */
SP_API size_t sp_hierarchy_count(const sp_hierarchy *h);
/* SP_ENOTFOUND when absent. */
SP_API int sp_hierarchy_find(const sp_hierarchy *h, const char *id, size_t len, uint32_t *index);
/* The id of a node; *id is NUL-terminated and owned by the hierarchy. */
SP_API int sp_hierarchy_id(const sp_hierarchy *h, uint32_t index, const char **id, size_t *len);
/* The ids of nodes first .. first + n - 1, packed (as sp_dict_ids_packed gives them; the
 * same size query with `data` NULL, SP_EBUFFER and SP_ENOTFOUND). */
SP_API int sp_hierarchy_ids_packed(const sp_hierarchy *h, uint32_t first, size_t n, char *data,
                                   size_t cap, uint64_t *offsets, size_t *data_len);

/* The functions below need a validated hierarchy (SP_EINVAL otherwise). Pointers they
 * return stay valid until the next change to the hierarchy. */
SP_API int sp_hierarchy_root(const sp_hierarchy *h, uint32_t *root);
/* SP_HIERARCHY_NONE for the root. */
SP_API int sp_hierarchy_parent(const sp_hierarchy *h, uint32_t index, uint32_t *parent);
/* The children of a node in canonical order. */
SP_API int sp_hierarchy_children(const sp_hierarchy *h, uint32_t index, const uint32_t **children,
                                 size_t *count);
SP_API int sp_hierarchy_depth(const sp_hierarchy *h, uint32_t index, uint32_t *depth);
/* Every node, parents before children: the root, then its children, then theirs (level by
 * level, siblings in canonical order). */
SP_API int sp_hierarchy_order(const sp_hierarchy *h, const uint32_t **order, size_t *count);
/* Number of levels in use: the greatest depth + 1. */
SP_API int sp_hierarchy_level_count(const sp_hierarchy *h, size_t *count);
/* The name of a level, or SP_ENOTFOUND when levels are unnamed or `level` is beyond them;
 * the level of a name. These work before validation too. */
SP_API int sp_hierarchy_level_name(const sp_hierarchy *h, uint32_t level, const char **name);
SP_API int sp_hierarchy_level_find(const sp_hierarchy *h, const char *name, uint32_t *level);

/* ---- roll-ups ---- */

/* Flags of sp_hierarchy_rollup. */
typedef enum sp_rollup_flags {
    SP_ROLLUP_LEAVES = 0, /* a node's value is the sum of its leaves' values */
    SP_ROLLUP_OWN = 1     /* a node's value is its own value plus its children's sums
                             (measures booked on inner nodes too, e.g. house accounts) */
} sp_rollup_flags;

/*
 * out[v] = sum of values over the leaves below v (a leaf is its own sum), or with
 * SP_ROLLUP_OWN also the values of every node below v and of v itself. Any sign.
 * SP_EOVERFLOW when a sum leaves int64_t (the message names the node); out written only
 * on success.
 */
SP_API int sp_hierarchy_rollup(const sp_hierarchy *h, const int64_t *values, uint32_t flags,
                               int64_t *out);
/* totals[l] = sum of values[v] over the nodes of level l, for l < the level count, which
 * `cap` must reach (SP_EBUFFER otherwise). SP_EOVERFLOW naming the level. */
SP_API int sp_hierarchy_level_totals(const sp_hierarchy *h, const int64_t *values,
                                     int64_t *totals, size_t cap);

/* ---- bottom-up commitments against a top-down target ---- */

/* How sp_hierarchy_reconcile settles the targets. Values are frozen. */
typedef enum sp_reconcile_mode {
    SP_RECONCILE_TOP_DOWN = 0,  /* keep the top-down targets */
    SP_RECONCILE_BOTTOM_UP = 1, /* take the leaves' commitments, rolled up */
    SP_RECONCILE_BLEND = 2      /* weight w of bottom-up, 1 - w of top-down (see below) */
} sp_reconcile_mode;

/* Options of sp_hierarchy_reconcile. */
typedef struct sp_reconcile_options {
    uint32_t version;         /* SP_RECONCILE_OPTIONS_VERSION */
    uint32_t mode;            /* sp_reconcile_mode */
    sp_dec bottom_up_weight;  /* SP_RECONCILE_BLEND: w in [0, 1] */
    const uint8_t *committed; /* committed[leaf] != 0 when the leaf gave a commitment;
                                 NULL: every leaf did. A leaf without one counts with its
                                 top-down target. */
} sp_reconcile_options;

#define SP_RECONCILE_OPTIONS_VERSION 1u
#define SP_RECONCILE_OPTIONS_INIT { SP_RECONCILE_OPTIONS_VERSION, SP_RECONCILE_TOP_DOWN, 0, NULL }

SP_API int sp_reconcile_options_init(sp_reconcile_options *opts, uint32_t version);

/* Output arrays of sp_hierarchy_reconcile, one entry per node; each may be NULL. */
typedef struct sp_reconcile_output {
    uint32_t version;   /* SP_RECONCILE_OUTPUT_VERSION */
    int64_t *bottom_up; /* the commitments rolled up */
    int64_t *gap;       /* bottom_up - top_down */
    int64_t *result;    /* the reconciled targets */
} sp_reconcile_output;

#define SP_RECONCILE_OUTPUT_VERSION 1u
#define SP_RECONCILE_OUTPUT_INIT { SP_RECONCILE_OUTPUT_VERSION, NULL, NULL, NULL }

SP_API int sp_reconcile_output_init(sp_reconcile_output *out, uint32_t version);

/*
 * Compare the leaves' own commitments with top-down targets and reconcile them.
 * `top_down` holds a target per node whose children sum to it (checked);
 * `commitments` is read at the leaves only (>= 0). With SP_RECONCILE_BLEND and
 * w = p / q in lowest terms, the root gets round_half_even((p·BU + (q-p)·TD) / q) and
 * every node's result is split over its children by sp_allocate with weights
 * p·BU_c + (q-p)·TD_c, so children always sum to their parent (SP_EOVERFLOW when the
 * root's weight exceeds 2^63 - 1: use a weight with fewer decimals). `opts` NULL means
 * SP_RECONCILE_TOP_DOWN. Outputs written only on success.
 */
SP_API int sp_hierarchy_reconcile(const sp_hierarchy *h, const int64_t *top_down,
                                  const int64_t *commitments, const sp_reconcile_options *opts,
                                  const sp_reconcile_output *out);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_HIERARCHY_H */
