/*
 * The hierarchy: host ids through an sp_dict (a node's index is its dictionary index),
 * parents resolved when known and otherwise kept as text until validation, which builds
 * the index-based tree (tree.c) and words its problems with the ids.
 */
#include <stdio.h>
#include <string.h>

#include "hierarchy_internal.h"

/* parent[] entry of a node whose parent id was not yet a node when it was added. */
#define PENDING (SPI_TREE_NONE - 1)
/* Most nodes: indices stay below PENDING. */
#define NODES_MAX (PENDING - 1u)
/* Nodes of a cycle a message lists before cutting it short. */
#define CYCLE_LIST_MAX 6

struct spi_pending {
    uint32_t node;
    uint32_t len;
    size_t off; /* of the parent id in pending_text */
};

int sp_hierarchy_new(sp_hierarchy **out, sp_ctx *ctx)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "hierarchy: out is NULL");
    sp_hierarchy *h = spi_calloc(ctx, 1, sizeof *h);
    if (h == NULL)
        return SP_ENOMEM;
    int rc = sp_dict_new(&h->ids, ctx);
    if (rc != SP_OK) {
        spi_free(ctx, h);
        return rc;
    }
    h->ctx = ctx;
    *out = h;
    return SP_OK;
}

static void free_levels(sp_ctx *ctx, char **levels, size_t n)
{
    if (levels == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        spi_free(ctx, levels[i]);
    spi_free(ctx, levels);
}

/* Copies of level names, all or none. */
static int copy_levels(sp_ctx *ctx, const char *const *names, size_t n, char ***out)
{
    *out = NULL;
    if (n == 0)
        return SP_OK;
    char **copy = spi_calloc(ctx, n, sizeof *copy);
    if (copy == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if ((copy[i] = spi_malloc(ctx, len + 1)) == NULL) {
            free_levels(ctx, copy, i);
            return SP_ENOMEM;
        }
        memcpy(copy[i], names[i], len + 1);
    }
    *out = copy;
    return SP_OK;
}

void sp_hierarchy_free(sp_hierarchy *h)
{
    if (h == NULL)
        return;
    sp_ctx *ctx = h->ctx;
    sp_dict_free(h->ids);
    spi_free(ctx, h->parent);
    spi_free(ctx, h->pending);
    spi_free(ctx, h->pending_text);
    free_levels(ctx, h->levels, h->nlevels);
    spi_tree_free(ctx, &h->tree);
    spi_free(ctx, h);
}

const char *spi_hierarchy_quote(const sp_hierarchy *h, uint32_t node, char *buf)
{
    const char *id = "";
    size_t len = 0;
    (void)sp_dict_id(h->ids, node, &id, &len);
    return spi_quote(buf, id, len);
}

int spi_hierarchy_check_valid(const sp_hierarchy *h, const char *what)
{
    if (!h->valid)
        return spi_fail(h->ctx, SP_EINVAL,
                        "%s: the hierarchy is not validated (call sp_hierarchy_validate after "
                        "adding nodes)",
                        what);
    return SP_OK;
}

/* Canonical sibling order: the ids' bytes, unsigned, a proper prefix first. */
static int compare_ids(const void *arg, uint32_t a, uint32_t b)
{
    const sp_hierarchy *h = arg;
    const char *ia, *ib;
    size_t la, lb;
    (void)sp_dict_id(h->ids, a, &ia, &la);
    (void)sp_dict_id(h->ids, b, &ib, &lb);
    int c = memcmp(ia, ib, la < lb ? la : lb);
    if (c != 0)
        return c;
    return la < lb ? -1 : la > lb;
}

/* SP_ECONFLICT, naming `what`, when h belongs to a plan or a set: those hold it frozen so
 * that their per-node arrays always match its nodes. */
static int check_open(const sp_hierarchy *h, const char *what)
{
    if (h->frozen)
        return spi_fail(h->ctx, SP_ECONFLICT,
                        "hierarchy: %s: the hierarchy is frozen (a plan or target set holds it; "
                        "build a new one to change it)",
                        what);
    return SP_OK;
}

/* ---- adding nodes ---- */

/* The dictionary's error in the hierarchy's words ("dict: id ..." -> "hierarchy: id ..."). */
static int from_dict(const sp_hierarchy *h, int rc)
{
    if (rc == SP_OK || rc == SP_ENOMEM)
        return rc;
    return spi_fail_prefix(h->ctx, rc, "dict: ", "hierarchy");
}

/* The message for a parent id that spi_id_valid (the dictionary's rule) refused; the
 * callers test that first, so that the common case formats nothing. `where` names the node
 * in messages ("node \"R7\"", "nodes[3]"). */
static int check_parent_id(const sp_hierarchy *h, const char *where, const char *parent,
                           size_t len)
{
    char q[SPI_QUOTE_CAP];
    if (len == 0)
        return spi_fail(h->ctx, SP_EINVAL,
                        "hierarchy: %s: the parent id is empty (a root's parent is NULL)", where);
    if (len > SPI_ID_MAX)
        return spi_fail(h->ctx, SP_EINVAL,
                        "hierarchy: %s: the parent id %s is %zu bytes long, beyond %u", where,
                        spi_quote(q, parent, len), len, SPI_ID_MAX);
    size_t at;
    const char *why = "NUL byte";
    const char *nul = memchr(parent, 0, len);
    if (nul != NULL)
        at = (size_t)(nul - parent);
    if (nul != NULL || !spi_utf8_check((const uint8_t *)parent, len, &at, &why))
        return spi_fail(h->ctx, SP_EINVAL,
                        "hierarchy: %s: the parent id %s is not valid UTF-8: %s at byte %zu",
                        where, spi_quote(q, parent, len), why, at);
    return SP_OK;
}

static int reserve_nodes(sp_hierarchy *h, size_t extra)
{
    if (extra > NODES_MAX - sp_dict_count(h->ids))
        return spi_fail(h->ctx, SP_EOVERFLOW,
                        "hierarchy: %zu more nodes would exceed the %u a hierarchy holds", extra,
                        (unsigned)NODES_MAX);
    size_t need = (size_t)sp_dict_count(h->ids) + extra;
    if (need <= h->parent_cap)
        return SP_OK;
    size_t cap = h->parent_cap < 16 ? 16 : h->parent_cap * 2;
    if (cap < need)
        cap = need;
    uint32_t *p = spi_realloc_array(h->ctx, h->parent, cap, sizeof *p);
    if (p == NULL)
        return SP_ENOMEM;
    h->parent = p;
    h->parent_cap = cap;
    return SP_OK;
}

static int reserve_pending(sp_hierarchy *h, size_t entries, size_t bytes)
{
    if (h->npending + entries > h->pending_cap) {
        size_t cap = h->pending_cap < 16 ? 16 : h->pending_cap * 2;
        if (cap < h->npending + entries)
            cap = h->npending + entries;
        struct spi_pending *p = spi_realloc_array(h->ctx, h->pending, cap, sizeof *p);
        if (p == NULL)
            return SP_ENOMEM;
        h->pending = p;
        h->pending_cap = cap;
    }
    if (h->pending_len + bytes > h->pending_text_cap) {
        size_t cap = h->pending_text_cap < 256 ? 256 : h->pending_text_cap * 2;
        if (cap < h->pending_len + bytes)
            cap = h->pending_len + bytes;
        char *t = spi_realloc_array(h->ctx, h->pending_text, cap, 1);
        if (t == NULL)
            return SP_ENOMEM;
        h->pending_text = t;
        h->pending_text_cap = cap;
    }
    return SP_OK;
}

/* After reserve_pending: remember that `node`'s parent is the id parent[0..len). */
static void push_pending(sp_hierarchy *h, uint32_t node, const char *parent, size_t len)
{
    struct spi_pending *e = &h->pending[h->npending++];
    e->node = node;
    e->len = (uint32_t)len;
    e->off = h->pending_len;
    memcpy(h->pending_text + h->pending_len, parent, len);
    h->pending_len += len;
}

/* The node set changed: the tree is stale and decompositions made before are too. */
static void changed(sp_hierarchy *h)
{
    h->valid = false;
    h->generation++;
    spi_tree_free(h->ctx, &h->tree);
}

int sp_hierarchy_add(sp_hierarchy *h, const char *id, size_t id_len, const char *parent,
                     size_t parent_len, uint32_t *index)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = check_open(h, "add");
    if (rc != SP_OK)
        return rc;
    if (id == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "hierarchy: id is NULL");
    if (parent != NULL && !spi_id_valid(parent, parent_len)) {
        char q[SPI_QUOTE_CAP], where[SPI_QUOTE_CAP + 8];
        snprintf(where, sizeof where, "node %s", spi_quote(q, id, id_len));
        return check_parent_id(h, where, parent, parent_len);
    }
    if ((rc = reserve_nodes(h, 1)) != SP_OK)
        return rc;
    uint32_t p = parent != NULL ? spi_dict_lookup(h->ids, parent, parent_len) : SPI_TREE_NONE;
    bool pending = parent != NULL && p == SP_NONE;
    if (pending && (rc = reserve_pending(h, 1, parent_len)) != SP_OK)
        return rc;
    uint32_t idx;
    if ((rc = sp_dict_add(h->ids, id, id_len, &idx)) != SP_OK)
        return from_dict(h, rc);
    h->parent[idx] = pending ? PENDING : p;
    if (pending)
        push_pending(h, idx, parent, parent_len);
    changed(h);
    if (index != NULL)
        *index = idx;
    return SP_OK;
}

/* Parent i of a batch, or NULL for a root candidate: a NULL pointer, or an empty packed
 * id. `parents` NULL: every node is one. */
static const char *parent_at(const spi_ids *parents, size_t i, size_t *len)
{
    *len = 0;
    if (parents == NULL)
        return NULL;
    const char *p = spi_ids_at(parents, i, len);
    return parents->offsets != NULL && *len == 0 ? NULL : p;
}

/* The core of sp_hierarchy_add_all and sp_hierarchy_add_packed: ids->n > 0 nodes, all or
 * nothing. Parent ids are checked first, then the dictionary checks and adds the ids. */
static int add_nodes(sp_hierarchy *h, const spi_ids *ids, const spi_ids *parents,
                     uint32_t *indices)
{
    const size_t n = ids->n;
    size_t bytes = 0, with_parent = 0;
    int rc;
    for (size_t i = 0; parents != NULL && i < n; i++) {
        size_t len;
        const char *parent = parent_at(parents, i, &len);
        if (parent == NULL)
            continue;
        if (!spi_id_valid(parent, len)) {
            char where[32];
            snprintf(where, sizeof where, "nodes[%zu]", i);
            return check_parent_id(h, where, parent, len);
        }
        bytes += len;
        with_parent++;
    }
    if ((rc = reserve_nodes(h, n)) != SP_OK ||
        (rc = reserve_pending(h, with_parent, bytes)) != SP_OK)
        return rc;
    uint32_t base = (uint32_t)sp_dict_count(h->ids);
    if ((rc = spi_dict_add_ids(h->ids, ids, indices)) != SP_OK)
        return from_dict(h, rc);
    /* Parents are looked up after the whole batch is in, so they may be in it. */
    for (size_t i = 0; i < n; i++) {
        uint32_t node = base + (uint32_t)i, p = SPI_TREE_NONE;
        size_t len;
        const char *parent = parent_at(parents, i, &len);
        if (parent != NULL && (p = spi_dict_lookup(h->ids, parent, len)) == SP_NONE) {
            p = PENDING;
            push_pending(h, node, parent, len);
        }
        h->parent[node] = p;
    }
    changed(h);
    return SP_OK;
}

int sp_hierarchy_add_all(sp_hierarchy *h, const char *const *ids, const size_t *id_lens,
                         const char *const *parents, const size_t *parent_lens, size_t n,
                         uint32_t *indices)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = check_open(h, "add");
    if (rc != SP_OK || n == 0)
        return rc;
    if (ids == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "hierarchy: ids is NULL");
    const spi_ids v = { n, ids, id_lens, NULL, NULL };
    const spi_ids p = { n, parents, parent_lens, NULL, NULL };
    return add_nodes(h, &v, parents != NULL ? &p : NULL, indices);
}

int sp_hierarchy_add_packed(sp_hierarchy *h, const char *ids_data, size_t ids_data_len,
                            const uint64_t *ids_offsets, const char *parents_data,
                            size_t parents_data_len, const uint64_t *parents_offsets,
                            size_t n, uint32_t *indices)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = check_open(h, "add");
    if (rc != SP_OK || n == 0)
        return rc;
    if ((rc = spi_ids_check_packed(h->ctx, "hierarchy", "ids_data", "ids_offsets", ids_data,
                                   ids_data_len, ids_offsets, n)) != SP_OK)
        return rc;
    if (parents_offsets == NULL && parents_data != NULL)
        return spi_fail(h->ctx, SP_EINVAL,
                        "hierarchy: parents_data is given without parents_offsets");
    if (parents_offsets != NULL &&
        (rc = spi_ids_check_packed(h->ctx, "hierarchy", "parents_data", "parents_offsets",
                                   parents_data, parents_data_len, parents_offsets, n)) != SP_OK)
        return rc;
    const spi_ids v = { n, NULL, NULL, ids_data, ids_offsets };
    const spi_ids p = { n, NULL, NULL, parents_data, parents_offsets };
    return add_nodes(h, &v, parents_offsets != NULL ? &p : NULL, indices);
}

/* ---- levels ---- */

static int check_levels_deep_enough(const sp_hierarchy *h, size_t nlevels)
{
    if (nlevels == 0 || h->tree.levels <= nlevels)
        return SP_OK;
    char q[SPI_QUOTE_CAP];
    uint32_t deepest = h->tree.order[h->tree.n - 1];
    return spi_fail(h->ctx, SP_EINVAL,
                    "hierarchy: node %s is at level %u, but only %zu level names are given",
                    spi_hierarchy_quote(h, deepest, q), (unsigned)h->tree.depth[deepest],
                    nlevels);
}

int sp_hierarchy_set_levels(sp_hierarchy *h, const char *const *names, size_t n)
{
    if (h == NULL)
        return SP_EINVAL;
    int frozen = check_open(h, "set levels");
    if (frozen != SP_OK)
        return frozen;
    if (n > 0 && names == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "hierarchy: level names is NULL");
    for (size_t i = 0; i < n; i++) {
        char q[SPI_QUOTE_CAP];
        size_t at;
        const char *why;
        if (names[i] == NULL || names[i][0] == '\0')
            return spi_fail(h->ctx, SP_EINVAL, "hierarchy: level name %zu is %s", i,
                            names[i] == NULL ? "NULL" : "empty");
        size_t len = strlen(names[i]);
        if (!spi_utf8_check((const uint8_t *)names[i], len, &at, &why))
            return spi_fail(h->ctx, SP_EINVAL,
                            "hierarchy: level name %zu %s is not valid UTF-8: %s at byte %zu", i,
                            spi_quote(q, names[i], len), why, at);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[j], names[i]) == 0)
                return spi_fail(h->ctx, SP_EINVAL,
                                "hierarchy: level names %zu and %zu are both %s", j, i,
                                spi_quote(q, names[i], len));
    }
    int rc;
    if (h->valid && (rc = check_levels_deep_enough(h, n)) != SP_OK)
        return rc;
    char **copy;
    if ((rc = copy_levels(h->ctx, names, n, &copy)) != SP_OK)
        return rc;
    free_levels(h->ctx, h->levels, h->nlevels);
    h->levels = copy;
    h->nlevels = n;
    return SP_OK;
}

/* SP_EINVAL for an output pointer that is NULL, recorded when there is a hierarchy. */
static int null_output(const sp_hierarchy *h, const char *what, const char *name)
{
    return h != NULL ? spi_fail(h->ctx, SP_EINVAL, "%s: %s is NULL", what, name) : SP_EINVAL;
}

int sp_hierarchy_level_name(const sp_hierarchy *h, uint32_t level, const char **name)
{
    if (h == NULL || name == NULL)
        return null_output(h, "hierarchy levels", "name");
    if (level >= h->nlevels)
        return spi_fail(h->ctx, SP_ENOTFOUND, "hierarchy levels: level %u is beyond the %zu "
                                              "named levels",
                        (unsigned)level, h->nlevels);
    *name = h->levels[level];
    return SP_OK;
}

int sp_hierarchy_level_find(const sp_hierarchy *h, const char *name, uint32_t *level)
{
    if (h == NULL || name == NULL || level == NULL)
        return null_output(h, "hierarchy levels", name == NULL ? "name" : "level");
    for (size_t i = 0; i < h->nlevels; i++) {
        if (strcmp(h->levels[i], name) == 0) {
            *level = (uint32_t)i;
            return SP_OK;
        }
    }
    char q[SPI_QUOTE_CAP];
    return spi_fail(h->ctx, SP_ENOTFOUND, "hierarchy levels: no level is named %s",
                    spi_quote(q, name, strlen(name)));
}

/* ---- validation ---- */

/* Resolve parent ids that have become nodes; report the first that has not. */
static int resolve_pending(sp_hierarchy *h)
{
    size_t keep = 0;
    for (size_t i = 0; i < h->npending; i++) {
        struct spi_pending e = h->pending[i];
        uint32_t p = spi_dict_lookup(h->ids, h->pending_text + e.off, e.len);
        if (p != SP_NONE)
            h->parent[e.node] = p;
        else
            h->pending[keep++] = e;
    }
    h->npending = keep;
    if (keep == 0) {
        h->pending_len = 0;
        return SP_OK;
    }
    char q1[SPI_QUOTE_CAP], q2[SPI_QUOTE_CAP];
    const struct spi_pending *e = &h->pending[0];
    char more[64] = "";
    if (keep > 1)
        snprintf(more, sizeof more, " (%zu nodes have parents that are not nodes)", keep);
    return spi_fail(h->ctx, SP_EINVAL, "hierarchy: node %s has parent %s, which is not a node%s",
                    spi_hierarchy_quote(h, e->node, q1),
                    spi_quote(q2, h->pending_text + e->off, e->len), more);
}

static void append(char *buf, size_t cap, size_t *len, const char *text)
{
    size_t add = strlen(text);
    if (*len + add >= cap)
        add = *len + 1 < cap ? cap - *len - 1 : 0;
    memcpy(buf + *len, text, add);
    *len += add;
    buf[*len] = '\0';
}

static int report_roots(const sp_hierarchy *h, const spi_tree_problem *p)
{
    char msg[SPI_ERRMSG_CAP], q[SPI_QUOTE_CAP], head[64];
    size_t len = 0;
    msg[0] = '\0';
    snprintf(head, sizeof head, "hierarchy: %u roots: ", (unsigned)p->roots);
    append(msg, sizeof msg, &len, head);
    for (uint32_t i = 0; i < p->roots && i < 3; i++) {
        if (i > 0)
            append(msg, sizeof msg, &len, ", ");
        append(msg, sizeof msg, &len, spi_hierarchy_quote(h, p->nodes[i], q));
    }
    if (p->roots > 3)
        append(msg, sizeof msg, &len, ", ...");
    append(msg, sizeof msg, &len, " (a hierarchy has exactly one)");
    return spi_fail(h->ctx, SP_EINVAL, "%s", msg);
}

/* List the cycle through `on`, starting at its canonically smallest id, each node
 * followed by its parent. */
static int report_cycle(const sp_hierarchy *h, uint32_t on, bool no_root)
{
    uint32_t start = on, length = 0, v = on;
    do {
        if (compare_ids(h, v, start) < 0)
            start = v;
        length++;
        v = h->parent[v];
    } while (v != on);
    char msg[SPI_ERRMSG_CAP], q[SPI_QUOTE_CAP];
    size_t len = 0;
    msg[0] = '\0';
    append(msg, sizeof msg, &len,
           no_root ? "hierarchy: no root (every node has a parent); cycle of parents: "
                   : "hierarchy: cycle of parents: ");
    v = start;
    for (uint32_t i = 0; i < length && i < CYCLE_LIST_MAX; i++, v = h->parent[v]) {
        append(msg, sizeof msg, &len, spi_hierarchy_quote(h, v, q));
        append(msg, sizeof msg, &len, " -> ");
    }
    if (length > CYCLE_LIST_MAX) {
        char tail[64];
        snprintf(tail, sizeof tail, "... (%u nodes)", (unsigned)length);
        append(msg, sizeof msg, &len, tail);
    } else {
        append(msg, sizeof msg, &len, spi_hierarchy_quote(h, start, q));
    }
    return spi_fail(h->ctx, SP_EINVAL, "%s", msg);
}

int sp_hierarchy_validate(sp_hierarchy *h)
{
    if (h == NULL)
        return SP_EINVAL;
    if (h->frozen)
        return SP_OK; /* frozen only once valid */
    uint32_t n = (uint32_t)sp_dict_count(h->ids);
    if (n == 0)
        return spi_fail(h->ctx, SP_EINVAL, "hierarchy: no nodes");
    int rc = resolve_pending(h);
    if (rc != SP_OK)
        return rc;
    /* The first eight bytes of each id, big-endian and zero-padded (ids hold no NUL), order
     * ids as compare_ids does whenever they differ. */
    uint64_t *keys = spi_malloc_array(h->ctx, n, sizeof *keys);
    if (keys == NULL)
        return SP_ENOMEM;
    for (uint32_t v = 0; v < n; v++) {
        const char *id;
        size_t len;
        (void)sp_dict_id(h->ids, v, &id, &len);
        uint64_t key = 0;
        for (size_t b = 0; b < 8; b++)
            key = key << 8 | (b < len ? (unsigned char)id[b] : 0u);
        keys[v] = key;
    }
    spi_tree tree;
    spi_tree_problem problem;
    rc = spi_tree_build(h->ctx, &tree, h->parent, n, keys, compare_ids, h, &problem);
    spi_free(h->ctx, keys);
    if (rc == SP_EINVAL) {
        if (problem.kind == SPI_TREE_ROOTS)
            return report_roots(h, &problem);
        return report_cycle(h, problem.nodes[0], problem.roots == 0);
    }
    if (rc != SP_OK)
        return rc;
    spi_tree_free(h->ctx, &h->tree);
    h->tree = tree;
    if ((rc = check_levels_deep_enough(h, h->nlevels)) != SP_OK) {
        spi_tree_free(h->ctx, &h->tree);
        return rc;
    }
    h->valid = true;
    return SP_OK;
}

uint32_t sp_hierarchy_get_state(const sp_hierarchy *h)
{
    if (h == NULL)
        return 0;
    return h->frozen ? SP_HIERARCHY_FROZEN : h->valid ? SP_HIERARCHY_VALID : SP_HIERARCHY_OPEN;
}

/* ---- reading ---- */

size_t sp_hierarchy_count(const sp_hierarchy *h)
{
    return h != NULL ? sp_dict_count(h->ids) : 0;
}

int sp_hierarchy_find(const sp_hierarchy *h, const char *id, size_t len, uint32_t *index)
{
    if (h == NULL)
        return SP_EINVAL;
    if (id == NULL || index == NULL)
        return spi_fail(h->ctx, SP_EINVAL, "hierarchy: %s is NULL", id == NULL ? "id" : "index");
    return from_dict(h, sp_dict_find(h->ids, id, len, index));
}

int sp_hierarchy_id(const sp_hierarchy *h, uint32_t index, const char **id, size_t *len)
{
    if (h == NULL)
        return SP_EINVAL;
    return from_dict(h, sp_dict_id(h->ids, index, id, len));
}

int sp_hierarchy_ids_packed(const sp_hierarchy *h, uint32_t first, size_t n, char *data,
                            size_t cap, uint64_t *offsets, size_t *data_len)
{
    if (h == NULL)
        return SP_EINVAL;
    return from_dict(h, sp_dict_ids_packed(h->ids, first, n, data, cap, offsets, data_len));
}

/* A validated hierarchy and a node index in range. */
static int check_node(const sp_hierarchy *h, uint32_t index, const char *what)
{
    if (h == NULL)
        return SP_EINVAL;
    int rc = spi_hierarchy_check_valid(h, what);
    if (rc != SP_OK)
        return rc;
    if (index >= h->tree.n)
        return spi_fail(h->ctx, SP_ENOTFOUND, "%s: node index %u is beyond the %u nodes", what,
                        (unsigned)index, (unsigned)h->tree.n);
    return SP_OK;
}

int sp_hierarchy_root(const sp_hierarchy *h, uint32_t *root)
{
    if (h == NULL || root == NULL)
        return null_output(h, "hierarchy root", "root");
    int rc = spi_hierarchy_check_valid(h, "hierarchy root");
    if (rc == SP_OK)
        *root = h->tree.root;
    return rc;
}

int sp_hierarchy_parent(const sp_hierarchy *h, uint32_t index, uint32_t *parent)
{
    if (parent == NULL)
        return null_output(h, "hierarchy parent", "parent");
    int rc = check_node(h, index, "hierarchy parent");
    if (rc == SP_OK)
        *parent = h->parent[index];
    return rc;
}

int sp_hierarchy_children(const sp_hierarchy *h, uint32_t index, const uint32_t **children,
                          size_t *count)
{
    if (children == NULL || count == NULL)
        return null_output(h, "hierarchy children", children == NULL ? "children" : "count");
    int rc = check_node(h, index, "hierarchy children");
    if (rc == SP_OK) {
        *children = spi_tree_children(&h->tree, index);
        *count = h->tree.count[index];
    }
    return rc;
}

int sp_hierarchy_depth(const sp_hierarchy *h, uint32_t index, uint32_t *depth)
{
    if (depth == NULL)
        return null_output(h, "hierarchy depth", "depth");
    int rc = check_node(h, index, "hierarchy depth");
    if (rc == SP_OK)
        *depth = h->tree.depth[index];
    return rc;
}

int sp_hierarchy_order(const sp_hierarchy *h, const uint32_t **order, size_t *count)
{
    if (h == NULL || order == NULL || count == NULL)
        return null_output(h, "hierarchy order", order == NULL ? "order" : "count");
    int rc = spi_hierarchy_check_valid(h, "hierarchy order");
    if (rc == SP_OK) {
        *order = h->tree.order;
        *count = h->tree.n;
    }
    return rc;
}

int sp_hierarchy_level_count(const sp_hierarchy *h, size_t *count)
{
    if (h == NULL || count == NULL)
        return null_output(h, "hierarchy levels", "count");
    int rc = spi_hierarchy_check_valid(h, "hierarchy levels");
    if (rc == SP_OK)
        *count = h->tree.levels;
    return rc;
}

/* ---- the shared hierarchy ---- */

int spi_shared_h_new(sp_ctx *ctx, sp_hierarchy *h, spi_shared_h **out)
{
    spi_shared_h *s = spi_malloc(ctx, sizeof *s);
    if (s == NULL)
        return SP_ENOMEM;
    h->frozen = true; /* valid already; its holders' arrays are sized by its nodes */
    s->h = h;
    s->refs = 1;
    *out = s;
    return SP_OK;
}

spi_shared_h *spi_shared_h_ref(spi_shared_h *s)
{
    s->refs++;
    return s;
}

void spi_shared_h_unref(sp_ctx *ctx, spi_shared_h *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    sp_hierarchy_free(s->h);
    spi_free(ctx, s);
}

int spi_hierarchy_from_parents(sp_ctx *ctx, const char *what, char *const *ids,
                               const uint32_t *parents, uint32_t n, char *const *levels,
                               size_t nlevels, sp_hierarchy **out)
{
    const char **pid = spi_malloc_array(ctx, n, sizeof *pid);
    if (pid == NULL)
        return SP_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        if (parents[i] != SPI_TREE_NONE && parents[i] >= n) {
            spi_free(ctx, pid);
            return spi_fail(ctx, SP_EINVAL, "%s: node %u has parent %u, beyond the %u nodes",
                            what, (unsigned)i, (unsigned)parents[i], (unsigned)n);
        }
        pid[i] = parents[i] == SPI_TREE_NONE ? NULL : ids[parents[i]];
    }
    sp_hierarchy *h = NULL;
    int rc = sp_hierarchy_new(&h, ctx);
    if (rc == SP_OK)
        rc = sp_hierarchy_add_all(h, (const char *const *)ids, NULL, pid, NULL, n, NULL);
    if (rc == SP_OK && nlevels > 0)
        rc = sp_hierarchy_set_levels(h, (const char *const *)levels, nlevels);
    if (rc == SP_OK)
        rc = sp_hierarchy_validate(h);
    spi_free(ctx, pid);
    if (rc != SP_OK) {
        sp_hierarchy_free(h);
        return rc;
    }
    *out = h;
    return SP_OK;
}

int spi_hierarchy_copy(sp_ctx *ctx, const sp_hierarchy *h, sp_hierarchy **out)
{
    const uint32_t n = h->tree.n;
    sp_hierarchy *c = spi_calloc(ctx, 1, sizeof *c);
    if (c == NULL)
        return SP_ENOMEM;
    c->ctx = ctx;
    int rc = spi_dict_clone(ctx, h->ids, &c->ids);
    if (rc == SP_OK && (c->parent = spi_malloc_array(ctx, n, sizeof *c->parent)) == NULL)
        rc = SP_ENOMEM;
    if (rc == SP_OK)
        rc = copy_levels(ctx, (const char *const *)h->levels, h->nlevels, &c->levels);
    if (rc == SP_OK)
        c->nlevels = h->nlevels;
    if (rc == SP_OK)
        rc = spi_tree_copy(ctx, &c->tree, &h->tree);
    if (rc != SP_OK) {
        sp_hierarchy_free(c);
        return rc;
    }
    /* Validated: no pending parents, the tree and the level names agree. */
    memcpy(c->parent, h->parent, (size_t)n * sizeof *c->parent);
    c->parent_cap = n;
    c->valid = true;
    c->generation = h->generation;
    *out = c;
    return SP_OK;
}
