/* Hierarchies: building (one by one, pointers, packed), canonical order, levels, bad shapes,
 * the copy a plan holds, roll-ups, reconciliation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"
#include "target_fixtures.h"

__extension__ typedef __int128 i128;

static const char *id_of(const sp_hierarchy *h, uint32_t idx)
{
    const char *id = NULL;
    size_t len = 0;
    assert_int_equal(sp_hierarchy_id(h, idx, &id, &len), SP_OK);
    assert_int_equal(strlen(id), len);
    return id;
}

/* The ids of a node's children, joined by spaces. */
static void expect_children(const sp_hierarchy *h, const char *parent, const char *want)
{
    const uint32_t *kids = NULL;
    size_t k = 0;
    assert_int_equal(sp_hierarchy_children(h, fx_node(h, parent), &kids, &k), SP_OK);
    char got[512] = "";
    for (size_t i = 0; i < k; i++) {
        if (i > 0)
            strcat(got, " ");
        strcat(got, id_of(h, kids[i]));
    }
    if (strcmp(got, want) != 0)
        fail_msg("children of %s: \"%s\", expected \"%s\"", parent, got, want);
}

/*
 *  Co
 *   East
 *     E1: r1 r2
 *     E2: r3
 *   West
 *     W1: r4 r5
 * given children first, siblings out of order.
 */
static const spec company[] = {
    { "r2", "E1" },   { "r5", "W1" },     { "West", "Co" }, { "W1", "West" },
    { "r1", "E1" },   { "E2", "East" },   { "Co", NULL },   { "r3", "E2" },
    { "East", "Co" }, { "E1", "East" },   { "r4", "W1" },
};
#define COMPANY_N (sizeof company / sizeof company[0])

static void test_build_and_read(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build(ctx, company, COMPANY_N);
    assert_int_equal(sp_hierarchy_count(h), COMPANY_N);
    assert_int_equal(sp_hierarchy_get_state(h), SP_HIERARCHY_OPEN);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    assert_int_equal(sp_hierarchy_get_state(h), SP_HIERARCHY_VALID);
    assert_int_equal(sp_hierarchy_get_state(NULL), 0);

    uint32_t root = 99, parent = 99, depth = 99;
    size_t levels = 0;
    assert_int_equal(sp_hierarchy_root(h, &root), SP_OK);
    assert_string_equal(id_of(h, root), "Co");
    assert_int_equal(root, 6); /* the 7th node added */
    assert_int_equal(sp_hierarchy_parent(h, root, &parent), SP_OK);
    assert_int_equal(parent, SP_HIERARCHY_NONE);
    assert_int_equal(sp_hierarchy_parent(h, fx_node(h, "r3"), &parent), SP_OK);
    assert_string_equal(id_of(h, parent), "E2");
    assert_int_equal(sp_hierarchy_depth(h, fx_node(h, "r5"), &depth), SP_OK);
    assert_int_equal(depth, 3);
    assert_int_equal(sp_hierarchy_level_count(h, &levels), SP_OK);
    assert_int_equal(levels, 4);

    /* Canonical order: by id bytes. */
    expect_children(h, "Co", "East West");
    expect_children(h, "East", "E1 E2");
    expect_children(h, "E1", "r1 r2");
    expect_children(h, "W1", "r4 r5");
    expect_children(h, "r1", "");

    /* Top-down: level by level, siblings canonical, children after their parents. */
    const uint32_t *order = NULL;
    size_t count = 0;
    assert_int_equal(sp_hierarchy_order(h, &order, &count), SP_OK);
    assert_int_equal(count, COMPANY_N);
    const char *want[] = { "Co", "East", "West", "E1", "E2", "W1", "r1", "r2", "r3", "r4", "r5" };
    for (size_t i = 0; i < COMPANY_N; i++)
        assert_string_equal(id_of(h, order[i]), want[i]);

    uint32_t idx;
    assert_int_equal(sp_hierarchy_find(h, "nope", 4, &idx), SP_ENOTFOUND);
    assert_int_equal(sp_hierarchy_children(h, 99, &order, &count), SP_ENOTFOUND);
    assert_string_equal(sp_ctx_errmsg(ctx), "hierarchy children: node index 99 is beyond the 11 nodes");

    /* Adding a node makes it unvalidated again; validating again takes it in. */
    assert_int_equal(sp_hierarchy_add(h, "r6", 2, "E2", 2, &idx), SP_OK);
    assert_int_equal(idx, COMPANY_N);
    spt_expect_error(ctx, sp_hierarchy_root(h, &root), SP_EINVAL,
                     "hierarchy root: the hierarchy is not validated (call sp_hierarchy_validate "
                     "after adding nodes)");
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    expect_children(h, "E2", "r3 r6");
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_canonical_order_bytes(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Unsigned bytes, a proper prefix first: "R1" < "R10" < "R2" < "r" < "网格" (0xE7...). */
    const spec s[] = { { "网格", "root" }, { "R2", "root" }, { "r", "root" },
                       { "R10", "root" }, { "root", NULL }, { "R1", "root" } };
    sp_hierarchy *h = fx_build_valid(ctx, s, 6);
    expect_children(h, "root", "R1 R10 R2 r 网格");
    sp_hierarchy_free(h);
    /* Ids alike in their first eight bytes are told apart by the rest. */
    const spec t[] = { { "abcdefgh2", "root" }, { "abcdefgh10", "root" }, { "root", NULL },
                       { "abcdefgh", "root" },  { "abcdefgh1", "root" },  { "abcdefg", "root" },
                       { "abcdefgi", "root" } };
    h = fx_build_valid(ctx, t, 7);
    expect_children(h, "root", "abcdefg abcdefgh abcdefgh1 abcdefgh10 abcdefgh2 abcdefgi");
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_bulk(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    /* Explicit lengths: ids need not be NUL-terminated. */
    const char *ids[] = { "Coxx", "Eastxx", "r1xx" };
    const size_t lens[] = { 2, 4, 2 };
    const char *parents[] = { NULL, "Co", "East" };
    uint32_t idx[3] = { 9, 9, 9 };
    assert_int_equal(sp_hierarchy_add_all(h, ids, lens, parents, NULL, 3, idx), SP_OK);
    assert_int_equal(idx[0], 0);
    assert_int_equal(idx[2], 2);
    /* A second batch whose parent ("r1") came in the first, and whose own parent ("X")
     * comes in a later call. */
    const char *more[] = { "p1", "p2", "X" };
    const char *more_parents[] = { "r1", "X", "Co" };
    assert_int_equal(sp_hierarchy_add_all(h, more, NULL, more_parents, NULL, 2, NULL), SP_OK);
    spt_expect_error(ctx, sp_hierarchy_validate(h), SP_EINVAL,
                     "hierarchy: node \"p2\" has parent \"X\", which is not a node");
    assert_int_equal(sp_hierarchy_add_all(h, more + 2, NULL, more_parents + 2, NULL, 1, NULL),
                     SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    expect_children(h, "Co", "East X");
    expect_children(h, "r1", "p1");
    expect_children(h, "X", "p2");
    assert_int_equal(sp_hierarchy_add_all(h, NULL, NULL, NULL, NULL, 0, NULL), SP_OK);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_levels(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build(ctx, company, COMPANY_N);
    const char *names[] = { "company", "region", "grid", "rep", "product" };
    assert_int_equal(sp_hierarchy_set_levels(h, names, 5), SP_OK);
    const char *name = NULL;
    uint32_t level = 99;
    assert_int_equal(sp_hierarchy_level_name(h, 2, &name), SP_OK);
    assert_string_equal(name, "grid");
    assert_int_equal(sp_hierarchy_level_name(h, 5, &name), SP_ENOTFOUND);
    assert_int_equal(sp_hierarchy_level_find(h, "rep", &level), SP_OK);
    assert_int_equal(level, 3);
    assert_int_equal(sp_hierarchy_level_find(h, "team", &level), SP_ENOTFOUND);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);

    /* Too few names for the depth in use: refused, the old names kept. */
    spt_expect_error(ctx, sp_hierarchy_set_levels(h, names, 3), SP_EINVAL,
                     "hierarchy: node \"r5\" is at level 3, but only 3 level names are given");
    assert_int_equal(sp_hierarchy_level_name(h, 4, &name), SP_OK);
    assert_string_equal(name, "product");
    /* A validated hierarchy checks the names it is given against its depth too. */
    sp_hierarchy *h2 = fx_build(ctx, company, COMPANY_N);
    assert_int_equal(sp_hierarchy_set_levels(h2, names, 2), SP_OK);
    spt_expect_error(ctx, sp_hierarchy_validate(h2), SP_EINVAL,
                     "hierarchy: node \"r5\" is at level 3, but only 2 level names are given");
    assert_int_equal(sp_hierarchy_get_state(h2), SP_HIERARCHY_OPEN);
    assert_int_equal(sp_hierarchy_set_levels(h2, NULL, 0), SP_OK); /* unnamed levels */
    assert_int_equal(sp_hierarchy_validate(h2), SP_OK);

    const char *dup[] = { "company", "rep", "rep" };
    spt_expect_error(ctx, sp_hierarchy_set_levels(h, dup, 3), SP_EINVAL,
                     "hierarchy: level names 1 and 2 are both \"rep\"");
    const char *empty[] = { "company", "" };
    spt_expect_error(ctx, sp_hierarchy_set_levels(h, empty, 2), SP_EINVAL,
                     "hierarchy: level name 1 is empty");
    const char *bad[] = { "comp\xff" };
    spt_expect_error(ctx, sp_hierarchy_set_levels(h, bad, 1), SP_EINVAL,
                     "hierarchy: level name 0 \"comp\\xFF\" is not valid UTF-8: byte never used "
                     "in UTF-8 at byte 4");
    assert_int_equal(sp_hierarchy_level_name(h, 1, &name), SP_OK);
    assert_string_equal(name, "region");
    sp_hierarchy_free(h);
    sp_hierarchy_free(h2);
    sp_ctx_free(ctx);
}

/* ---- bad shapes: the exact message, and nothing changed ---- */

typedef struct shape_case {
    const char *what;
    spec nodes[10];
    size_t n;
    const char *msg;
} shape_case;

static void test_bad_shapes(void **state)
{
    (void)state;
    const shape_case cases[] = {
        { "orphan",
          { { "Co", NULL }, { "East", "Co" }, { "r1", "E9" } },
          3,
          "hierarchy: node \"r1\" has parent \"E9\", which is not a node" },
        { "two orphans",
          { { "Co", NULL }, { "r1", "E9" }, { "r2", "E8" } },
          3,
          "hierarchy: node \"r1\" has parent \"E9\", which is not a node (2 nodes have parents "
          "that are not nodes)" },
        { "two roots",
          { { "Other", NULL }, { "East", "Co" }, { "Co", NULL } },
          3,
          "hierarchy: 2 roots: \"Co\", \"Other\" (a hierarchy has exactly one)" },
        { "five roots",
          { { "e", NULL }, { "d", NULL }, { "c", NULL }, { "b", NULL }, { "a", NULL } },
          5,
          "hierarchy: 5 roots: \"a\", \"b\", \"c\", ... (a hierarchy has exactly one)" },
        /* A's parent is C, C's is B, B's is A; listed from the smallest id. */
        { "cycle",
          { { "Co", NULL }, { "B", "A" }, { "C", "B" }, { "A", "C" }, { "x", "B" } },
          5,
          "hierarchy: cycle of parents: \"A\" -> \"C\" -> \"B\" -> \"A\"" },
        { "no root",
          { { "Y", "X" }, { "X", "Y" } },
          2,
          "hierarchy: no root (every node has a parent); cycle of parents: \"X\" -> \"Y\" -> "
          "\"X\"" },
        { "own parent",
          { { "Co", NULL }, { "S", "S" } },
          2,
          "hierarchy: cycle of parents: \"S\" -> \"S\"" },
        { "long cycle",
          { { "Co", NULL }, { "n3", "n4" }, { "n0", "n1" }, { "n1", "n2" }, { "n2", "n3" },
            { "n4", "n5" }, { "n5", "n6" }, { "n6", "n7" }, { "n7", "n0" } },
          9,
          "hierarchy: cycle of parents: \"n0\" -> \"n1\" -> \"n2\" -> \"n3\" -> \"n4\" -> \"n5\" "
          "-> ... (8 nodes)" },
        { "no nodes", { { NULL, NULL } }, 0, "hierarchy: no nodes" },
    };
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const shape_case *c = &cases[i];
        sp_hierarchy *h = fx_build(ctx, c->nodes, c->n);
        int rc = sp_hierarchy_validate(h);
        if (rc != SP_EINVAL || strcmp(sp_ctx_errmsg(ctx), c->msg) != 0)
            fail_msg("%s: rc %d, message\n  \"%s\"\nexpected\n  \"%s\"", c->what, rc,
                     sp_ctx_errmsg(ctx), c->msg);
        assert_int_equal(sp_hierarchy_get_state(h), SP_HIERARCHY_OPEN);
        assert_int_equal(sp_hierarchy_count(h), c->n);
        /* The same error again: validation changed nothing it reports on. */
        assert_int_equal(sp_hierarchy_validate(h), SP_EINVAL);
        assert_string_equal(sp_ctx_errmsg(ctx), c->msg);
        sp_hierarchy_free(h);
    }
    sp_ctx_free(ctx);
}

static void test_bad_ids(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build(ctx, company, 3);
    uint32_t idx = 77;
    spt_expect_error(ctx, sp_hierarchy_add(h, "West", 4, "Co", 2, &idx), SP_ECONFLICT,
                     "hierarchy: id \"West\" is already present (index 2)");
    spt_expect_error(ctx, sp_hierarchy_add(h, "", 0, "Co", 2, &idx), SP_EINVAL,
                     "hierarchy: id is empty");
    spt_expect_error(ctx, sp_hierarchy_add(h, "a\xc3", 2, "Co", 2, &idx), SP_EINVAL,
                     "hierarchy: id \"a\\xC3\" is not valid UTF-8: truncated sequence at byte 1");
    spt_expect_error(ctx, sp_hierarchy_add(h, NULL, 0, "Co", 2, &idx), SP_EINVAL,
                     "hierarchy: id is NULL");
    spt_expect_error(ctx, sp_hierarchy_add(h, "r9", 2, "", 0, &idx), SP_EINVAL,
                     "hierarchy: node \"r9\": the parent id is empty (a root's parent is NULL)");
    spt_expect_error(ctx, sp_hierarchy_add(h, "r9", 2, "\xff", 1, &idx), SP_EINVAL,
                     "hierarchy: node \"r9\": the parent id \"\\xFF\" is not valid UTF-8: byte "
                     "never used in UTF-8 at byte 0");
    const char *ids[] = { "A", "B", "A" };
    const char *parents[] = { "Co", "Co", "Co" };
    spt_expect_error(ctx, sp_hierarchy_add_all(h, ids, NULL, parents, NULL, 3, NULL), SP_ECONFLICT,
                     "hierarchy: ids[2]: id \"A\" repeats ids[0]");
    const char *bad_parents[] = { "Co", "", "Co" };
    spt_expect_error(ctx, sp_hierarchy_add_all(h, ids, NULL, bad_parents, NULL, 2, NULL), SP_EINVAL,
                     "hierarchy: nodes[1]: the parent id is empty (a root's parent is NULL)");
    assert_int_equal(idx, 77);
    assert_int_equal(sp_hierarchy_count(h), 3);
    /* A success leaves the last error as it was, though its parent is not known yet. */
    assert_int_equal(sp_hierarchy_add(h, "r8", 2, "nobody-yet", 10, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, (const char *[]){ "r7" }, NULL,
                                          (const char *[]){ "nobody-yet" }, NULL, 1, NULL),
                     SP_OK);
    assert_int_equal(sp_ctx_errcode(ctx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "hierarchy: nodes[1]: the parent id is empty (a root's parent is NULL)");
    uint32_t found;
    spt_expect_error(ctx, sp_hierarchy_find(h, "zz", 2, &found), SP_ENOTFOUND,
                     "hierarchy: id \"zz\" not found");
    const char *text;
    spt_expect_error(ctx, sp_hierarchy_id(h, 99, &text, NULL), SP_ENOTFOUND,
                     "hierarchy: index 99 is not in the dictionary (count 5)");
    /* Nothing else was added: r2, r5, West, r8 and r7 have unknown parents. */
    spt_expect_error(ctx, sp_hierarchy_validate(h), SP_EINVAL,
                     "hierarchy: node \"r2\" has parent \"E1\", which is not a node (5 nodes have "
                     "parents that are not nodes)");
    sp_hierarchy_free(h);
    assert_int_equal(sp_hierarchy_new(NULL, ctx), SP_EINVAL);
    assert_int_equal(sp_hierarchy_new(&h, NULL), SP_EINVAL);
    sp_hierarchy_free(NULL);
    sp_ctx_free(ctx);
}

/* ---- order independence ---- */

/* A random tree of n nodes: node i > 0 hangs under a node before it (in id terms). */
static void random_tree(spt_rng *rng, size_t n, char ids[][16], const char **parent_of)
{
    for (size_t i = 0; i < n; i++) {
        snprintf(ids[i], 16, n % 2 ? "n%u" : "node-%09u",
                 (unsigned)(spt_rng_next(rng) % 1000000u) * 1000u + (unsigned)i);
        /* Some trees wide (groups beyond the insertion-sort runs), some deep. */
        int64_t hi = (int64_t)i - 1;
        parent_of[i] = i == 0 ? NULL : ids[spt_rng_range(rng, 0, n % 3 == 0 && hi > 2 ? 2 : hi)];
    }
}

static void test_property_input_order(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 11 };
    enum { N = 200 };
    static char ids[N][16];
    const char *parents[N], *ids_p[N], *sh_ids[N], *sh_parents[N];
    for (unsigned it = 0; it < spt_iterations(100); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, N);
        random_tree(&rng, n, ids, parents);
        for (size_t i = 0; i < n; i++) {
            ids_p[i] = ids[i];
            sh_ids[i] = ids[i];
            sh_parents[i] = parents[i];
        }
        for (size_t i = n; i-- > 1;) { /* Fisher-Yates */
            size_t j = (size_t)spt_rng_range(&rng, 0, (int64_t)i);
            const char *t = sh_ids[i];
            sh_ids[i] = sh_ids[j];
            sh_ids[j] = t;
            t = sh_parents[i];
            sh_parents[i] = sh_parents[j];
            sh_parents[j] = t;
        }
        sp_hierarchy *a = NULL, *b = NULL;
        assert_int_equal(sp_hierarchy_new(&a, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_new(&b, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_add_all(a, ids_p, NULL, parents, NULL, n, NULL), SP_OK);
        for (size_t i = 0; i < n; i++) /* the other one node by node */
            assert_int_equal(sp_hierarchy_add(b, sh_ids[i], strlen(sh_ids[i]), sh_parents[i],
                                              sh_parents[i] ? strlen(sh_parents[i]) : 0, NULL),
                             SP_OK);
        assert_int_equal(sp_hierarchy_validate(a), SP_OK);
        assert_int_equal(sp_hierarchy_validate(b), SP_OK);
        const uint32_t *oa, *ob;
        size_t na, nb;
        assert_int_equal(sp_hierarchy_order(a, &oa, &na), SP_OK);
        assert_int_equal(sp_hierarchy_order(b, &ob, &nb), SP_OK);
        assert_int_equal(na, n);
        assert_int_equal(nb, n);
        for (size_t i = 0; i < n; i++) {
            assert_string_equal(id_of(a, oa[i]), id_of(b, ob[i]));
            /* Siblings in canonical order: each node after its previous sibling. */
            uint32_t pa, pb;
            assert_int_equal(sp_hierarchy_parent(a, oa[i], &pa), SP_OK);
            if (i > 0 && sp_hierarchy_parent(a, oa[i - 1], &pb) == SP_OK && pa == pb)
                assert_true(strcmp(id_of(a, oa[i - 1]), id_of(a, oa[i])) < 0);
        }
        sp_hierarchy_free(a);
        sp_hierarchy_free(b);
    }
    sp_ctx_free(ctx);
}

/* ---- packed batches ---- */

/* a and b (validated) are the same hierarchy node for node: ids at the same indices,
 * parents, children in the same order, depths, the top-down order, levels. */
static void expect_same(const sp_hierarchy *a, const sp_hierarchy *b)
{
    size_t n = sp_hierarchy_count(a);
    assert_int_equal(sp_hierarchy_count(b), n);
    for (uint32_t v = 0; v < n; v++) {
        const char *ia = id_of(a, v), *ib = id_of(b, v);
        assert_string_equal(ia, ib);
        uint32_t found = 99;
        assert_int_equal(sp_hierarchy_find(b, ia, strlen(ia), &found), SP_OK);
        assert_int_equal(found, v);
        uint32_t pa, pb, da, db;
        assert_int_equal(sp_hierarchy_parent(a, v, &pa), SP_OK);
        assert_int_equal(sp_hierarchy_parent(b, v, &pb), SP_OK);
        assert_int_equal(pa, pb);
        assert_int_equal(sp_hierarchy_depth(a, v, &da), SP_OK);
        assert_int_equal(sp_hierarchy_depth(b, v, &db), SP_OK);
        assert_int_equal(da, db);
        const uint32_t *ka, *kb;
        size_t na, nb;
        assert_int_equal(sp_hierarchy_children(a, v, &ka, &na), SP_OK);
        assert_int_equal(sp_hierarchy_children(b, v, &kb, &nb), SP_OK);
        assert_int_equal(na, nb);
        if (na > 0)
            assert_memory_equal(ka, kb, na * sizeof *ka);
    }
    const uint32_t *oa, *ob;
    size_t na, nb;
    assert_int_equal(sp_hierarchy_order(a, &oa, &na), SP_OK);
    assert_int_equal(sp_hierarchy_order(b, &ob, &nb), SP_OK);
    assert_int_equal(na, n);
    assert_int_equal(nb, n);
    assert_memory_equal(oa, ob, n * sizeof *oa);
    uint32_t ra, rb;
    assert_int_equal(sp_hierarchy_root(a, &ra), SP_OK);
    assert_int_equal(sp_hierarchy_root(b, &rb), SP_OK);
    assert_int_equal(ra, rb);
    size_t la, lb;
    assert_int_equal(sp_hierarchy_level_count(a, &la), SP_OK);
    assert_int_equal(sp_hierarchy_level_count(b, &lb), SP_OK);
    assert_int_equal(la, lb);
    const char *name_a, *name_b;
    for (uint32_t l = 0;; l++) {
        int rc = sp_hierarchy_level_name(a, l, &name_a);
        assert_int_equal(sp_hierarchy_level_name(b, l, &name_b), rc);
        if (rc != SP_OK)
            break;
        assert_string_equal(name_a, name_b);
        assert_ptr_not_equal(name_a, name_b);
    }
}

static void test_add_packed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const char *ids[COMPANY_N], *parents[COMPANY_N];
    for (size_t i = 0; i < COMPANY_N; i++) {
        ids[i] = company[i].id;
        parents[i] = company[i].parent;
    }
    spt_packed pi = spt_pack(ids, NULL, COMPANY_N, 2), pp = spt_pack(parents, NULL, COMPANY_N, 0);
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    uint32_t idx[COMPANY_N];
    assert_int_equal(sp_hierarchy_add_packed(h, pi.data, pi.len, pi.offsets, pp.data, pp.len,
                                             pp.offsets, COMPANY_N, idx),
                     SP_OK);
    for (uint32_t i = 0; i < COMPANY_N; i++)
        assert_int_equal(idx[i], i);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    /* The shape drawn above company[], and the same as adding node by node. */
    expect_children(h, "Co", "East West");
    expect_children(h, "East", "E1 E2");
    expect_children(h, "E1", "r1 r2");
    expect_children(h, "W1", "r4 r5");
    sp_hierarchy *one = fx_build_valid(ctx, company, COMPANY_N);
    expect_same(h, one);
    /* Read back in one call: the ids in index order, as given. */
    size_t need = 0, used = 0, total = 0;
    assert_int_equal(sp_hierarchy_ids_packed(h, 0, COMPANY_N, NULL, 0, NULL, &need), SP_OK);
    for (size_t i = 0; i < COMPANY_N; i++)
        total += strlen(company[i].id);
    assert_int_equal(need, total);
    char *back = malloc(need);
    uint64_t off[COMPANY_N + 1];
    assert_non_null(back);
    assert_int_equal(sp_hierarchy_ids_packed(h, 0, COMPANY_N, back, need, off, &used), SP_OK);
    assert_int_equal(used, need);
    for (size_t i = 0; i < COMPANY_N; i++) {
        assert_int_equal(off[i + 1] - off[i], strlen(company[i].id));
        assert_memory_equal(back + off[i], company[i].id, strlen(company[i].id));
    }
    free(back);
    /* The dictionary's errors, worded for the hierarchy. */
    spt_expect_error(ctx, sp_hierarchy_ids_packed(h, 1, COMPANY_N, NULL, 0, NULL, &need),
                     SP_ENOTFOUND, "hierarchy: 11 ids from index 1 are not all in the "
                                   "dictionary (count 11)");
    assert_int_equal(sp_hierarchy_ids_packed(NULL, 0, 0, NULL, 0, NULL, &need), SP_EINVAL);
    sp_hierarchy_free(h);
    sp_hierarchy_free(one);

    /* Without parents: roots, every one. */
    const uint64_t off2[] = { 0, 1, 2 };
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_packed(h, "yx", 2, off2, NULL, 0, NULL, 2, NULL), SP_OK);
    spt_expect_error(ctx, sp_hierarchy_validate(h), SP_EINVAL,
                     "hierarchy: 2 roots: \"x\", \"y\" (a hierarchy has exactly one)");
    sp_hierarchy_free(h);

    /* Parents from an earlier batch, from the same one, and from a later one; a success
     * leaves the last error as it was, though "X" is no node yet. */
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    const uint64_t off1[] = { 0, 2 };
    assert_int_equal(sp_hierarchy_add_packed(h, "Co", 2, off1, NULL, 0, NULL, 1, NULL), SP_OK);
    spt_expect_error(ctx, sp_hierarchy_add(h, "Co", 2, NULL, 0, NULL), SP_ECONFLICT,
                     "hierarchy: id \"Co\" is already present (index 0)");
    const uint64_t off3[] = { 0, 2, 4, 6 }, poff3[] = { 0, 2, 4, 5 };
    assert_int_equal(sp_hierarchy_add_packed(h, "p1p2p3", 6, off3, "Cop1X", 5, poff3, 3, idx),
                     SP_OK);
    assert_int_equal(idx[0], 1);
    assert_int_equal(idx[2], 3);
    assert_int_equal(sp_ctx_errcode(ctx), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "hierarchy: id \"Co\" is already present (index 0)");
    spt_expect_error(ctx, sp_hierarchy_validate(h), SP_EINVAL,
                     "hierarchy: node \"p3\" has parent \"X\", which is not a node");
    assert_int_equal(sp_hierarchy_add_packed(h, "X", 1, off2, "Co", 2, off1, 1, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    expect_children(h, "Co", "X p1");
    expect_children(h, "p1", "p2");
    expect_children(h, "X", "p3");
    assert_int_equal(sp_hierarchy_add_packed(h, NULL, 0, NULL, NULL, 0, NULL, 0, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_add_packed(NULL, "X", 1, off2, NULL, 0, NULL, 1, NULL),
                     SP_EINVAL);
    assert_int_equal(sp_hierarchy_count(h), 5);
    sp_hierarchy_free(h);
    spt_packed_free(&pi);
    spt_packed_free(&pp);
    sp_ctx_free(ctx);
}

typedef struct packed_case {
    const char *what;
    const char *ids;
    size_t ids_len;
    uint64_t ids_offsets[4];
    const char *parents;
    size_t parents_len;
    uint64_t parents_offsets[4];
    size_t n;
    int flags; /* 1: ids_offsets NULL, 2: parents_offsets NULL */
    int rc;
    const char *msg;
} packed_case;

static void test_add_packed_bad_input(void **state)
{
    (void)state;
    static const packed_case cases[] = {
        { "ids_data NULL", NULL, 2, { 0, 1, 2 }, NULL, 0, { 0 }, 2, 2, SP_EINVAL,
          "hierarchy: ids_data is NULL" },
        { "ids_offsets NULL", "AB", 2, { 0 }, NULL, 0, { 0 }, 2, 3, SP_EINVAL,
          "hierarchy: ids_offsets is NULL" },
        { "parents_data NULL", "AB", 2, { 0, 1, 2 }, NULL, 2, { 0, 1, 2 }, 2, 0, SP_EINVAL,
          "hierarchy: parents_data is NULL" },
        { "parents_data alone", "AB", 2, { 0, 1, 2 }, "Co", 2, { 0 }, 2, 2, SP_EINVAL,
          "hierarchy: parents_data is given without parents_offsets" },
        { "ids_offsets decreasing", "ABC", 3, { 0, 2, 1, 3 }, NULL, 0, { 0 }, 3, 2, SP_EINVAL,
          "hierarchy: ids_offsets[2] = 1 is below ids_offsets[1] = 2 (offsets never "
          "decrease)" },
        { "ids_offsets beyond", "ABCD", 4, { 0, 1, 9 }, NULL, 0, { 0 }, 2, 2, SP_EINVAL,
          "hierarchy: ids_offsets[2] = 9 is beyond ids_data_len 4" },
        { "parents_offsets beyond", "AB", 2, { 0, 1, 2 }, "CoCo", 4, { 0, 5, 5 }, 2, 0,
          SP_EINVAL, "hierarchy: parents_offsets[1] = 5 is beyond parents_data_len 4" },
        { "parents_offsets decreasing", "AB", 2, { 0, 1, 2 }, "CoCo", 4, { 2, 4, 2 }, 2, 0,
          SP_EINVAL,
          "hierarchy: parents_offsets[2] = 2 is below parents_offsets[1] = 4 (offsets never "
          "decrease)" },
        { "empty id", "AB", 2, { 0, 1, 1, 2 }, NULL, 0, { 0 }, 3, 2, SP_EINVAL,
          "hierarchy: ids[1]: id is empty" },
        { "invalid id", "\xC3" "B", 2, { 0, 1, 2 }, NULL, 0, { 0 }, 2, 2, SP_EINVAL,
          "hierarchy: ids[0]: id \"\\xC3\" is not valid UTF-8: truncated sequence at byte 0" },
        { "invalid parent", "AB", 2, { 0, 1, 2 }, "Co\xFF", 3, { 0, 2, 3 }, 2, 0, SP_EINVAL,
          "hierarchy: nodes[1]: the parent id \"\\xFF\" is not valid UTF-8: byte never used "
          "in UTF-8 at byte 0" },
        { "parent with NUL", "AB", 2, { 0, 1, 2 }, "C\0o", 3, { 0, 0, 3 }, 2, 0, SP_EINVAL,
          "hierarchy: nodes[1]: the parent id \"C\\x00o\" is not valid UTF-8: NUL byte at "
          "byte 1" },
        /* Parent ids are checked before ids. */
        { "parent before id", "\xC3" "B", 2, { 0, 1, 2 }, "\xFF", 1, { 0, 0, 1 }, 2, 0,
          SP_EINVAL,
          "hierarchy: nodes[1]: the parent id \"\\xFF\" is not valid UTF-8: byte never used "
          "in UTF-8 at byte 0" },
        { "repeated", "ABA", 3, { 0, 1, 2, 3 }, "CoCo", 4, { 0, 2, 4, 4 }, 3, 0, SP_ECONFLICT,
          "hierarchy: ids[2]: id \"A\" repeats ids[0]" },
        { "present", "ACo", 3, { 0, 1, 3 }, NULL, 0, { 0 }, 2, 2, SP_ECONFLICT,
          "hierarchy: ids[1]: id \"Co\" is already present (index 6)" },
    };
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build(ctx, company, COMPANY_N);
    uint32_t out[3] = { 9, 9, 9 };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const packed_case *c = &cases[i];
        int rc = sp_hierarchy_add_packed(h, c->ids, c->ids_len,
                                         c->flags & 1 ? NULL : c->ids_offsets, c->parents,
                                         c->parents_len,
                                         c->flags & 2 ? NULL : c->parents_offsets, c->n, out);
        if (rc != c->rc || strcmp(sp_ctx_errmsg(ctx), c->msg) != 0)
            fail_msg("%s: rc %d, message\n  \"%s\"\nexpected\n  \"%s\"", c->what, rc,
                     sp_ctx_errmsg(ctx), c->msg);
    }
    /* Ids and parent ids of 65536 bytes, one more than the longest. */
    char *big = malloc(65536);
    memset(big, 'a', 65536);
    const uint64_t big_off[] = { 0, 65536 }, one_off[] = { 0, 1 };
    char want[300] = "hierarchy: ids[0]: id \"", *quote = want + strlen(want);
    memset(quote, 'a', 80);
    strcpy(quote + 80, "\"... is 65536 bytes long (at most 65535)");
    spt_expect_error(ctx, sp_hierarchy_add_packed(h, big, 65536, big_off, NULL, 0, NULL, 1, out),
                     SP_EINVAL, want);
    strcpy(want, "hierarchy: nodes[0]: the parent id \"");
    quote = want + strlen(want);
    memset(quote, 'a', 80);
    strcpy(quote + 80, "\"... is 65536 bytes long, beyond 65535");
    spt_expect_error(ctx, sp_hierarchy_add_packed(h, "A", 1, one_off, big, 65536, big_off, 1, out),
                     SP_EINVAL, want);
    free(big);

    /* Nothing changed; the same nodes, fixed, go in. */
    for (int i = 0; i < 3; i++)
        assert_int_equal(out[i], 9);
    assert_int_equal(sp_hierarchy_count(h), COMPANY_N);
    uint32_t found;
    assert_int_equal(sp_hierarchy_find(h, "A", 1, &found), SP_ENOTFOUND);
    const uint64_t ok[] = { 0, 1, 2 }, pok[] = { 0, 2, 4 };
    assert_int_equal(sp_hierarchy_add_packed(h, "AB", 2, ok, "r1r1", 4, pok, 2, out), SP_OK);
    assert_int_equal(out[0], COMPANY_N);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    expect_children(h, "r1", "A B");

    /* A hierarchy a plan holds is frozen. */
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2027;
    sp_target_plan *plan = NULL;
    assert_int_equal(sp_target_plan_new(&plan, ctx, "FY2027", h, &o), SP_OK);
    sp_target_plan_info info = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(plan, &info), SP_OK);
    sp_hierarchy *held = (sp_hierarchy *)info.hierarchy;
    spt_expect_error(ctx, sp_hierarchy_add_packed(held, "C", 1, one_off, NULL, 0, NULL, 1, out),
                     SP_ECONFLICT,
                     "hierarchy: add: the hierarchy is frozen (a plan or target set holds it; "
                     "build a new one to change it)");
    assert_int_equal(sp_hierarchy_count(held), COMPANY_N + 2);
    sp_target_plan_free(plan);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

/* ---- the copy a plan holds ---- */

/* A random tree of n nodes, validated, with a name for each of its levels. */
static sp_hierarchy *random_named(sp_ctx *ctx, uint64_t seed, size_t n, char ids[][16])
{
    spt_rng rng = { seed };
    const char *parents[400], *idp[400];
    assert_true(n <= 400);
    random_tree(&rng, n, ids, parents);
    for (size_t i = 0; i < n; i++)
        idp[i] = ids[i];
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    assert_int_equal(sp_hierarchy_add_all(h, idp, NULL, parents, NULL, n, NULL), SP_OK);
    assert_int_equal(sp_hierarchy_validate(h), SP_OK);
    size_t levels;
    assert_int_equal(sp_hierarchy_level_count(h, &levels), SP_OK);
    char names[400][16];
    const char *np[400];
    for (size_t l = 0; l < levels; l++) {
        snprintf(names[l], sizeof names[l], "level %zu", l);
        np[l] = names[l];
    }
    assert_int_equal(sp_hierarchy_set_levels(h, np, levels), SP_OK);
    return h;
}

static sp_hierarchy *plan_copy(sp_ctx *ctx, const sp_hierarchy *h, sp_target_plan **plan)
{
    sp_target_plan_options o = SP_TARGET_PLAN_OPTIONS_INIT;
    o.currency = "CNY";
    o.fiscal_year = 2027;
    int rc = sp_target_plan_new(plan, ctx, "FY2027", h, &o);
    if (rc != SP_OK)
        return NULL;
    sp_target_plan_info info = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(*plan, &info), SP_OK);
    return (sp_hierarchy *)info.hierarchy;
}

static void test_plan_copy(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static char ids[400][16];
    for (uint64_t seed = 1; seed <= spt_iterations(20); seed++) {
        size_t n = seed == 1 ? 1 : seed == 2 ? 400 : (size_t)(seed * 37 % 400) + 1;
        sp_hierarchy *h = random_named(ctx, seed, n, ids);
        sp_target_plan *plan = NULL;
        const sp_hierarchy *c = plan_copy(ctx, h, &plan);
        assert_non_null(c);
        assert_ptr_not_equal(c, h);
        assert_int_equal(sp_hierarchy_get_state(c), SP_HIERARCHY_FROZEN);
        assert_int_equal(sp_hierarchy_get_state(h), SP_HIERARCHY_VALID);
        expect_same(h, c);
        /* The copy stands alone: the original may change and go. */
        assert_int_equal(sp_hierarchy_add(h, "extra", 5, ids[0], strlen(ids[0]), NULL), SP_OK);
        sp_hierarchy_free(h);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(fx_node(c, ids[i]), i);
        uint32_t idx;
        spt_expect_error(ctx, sp_hierarchy_find(c, "extra", 5, &idx), SP_ENOTFOUND,
                         "hierarchy: id \"extra\" not found");
        sp_target_plan_free(plan);
    }
    sp_ctx_free(ctx);
}

typedef struct copy_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_hierarchy *h;
    sp_target_plan *plan;
} copy_fault;

static int run_copy(void *user)
{
    copy_fault *f = user;
    return plan_copy(f->ctx, f->h, &f->plan) != NULL ? SP_OK : sp_ctx_errcode(f->ctx);
}

static void undo_copy(void *user)
{
    copy_fault *f = user;
    sp_target_plan_info info = SP_TARGET_PLAN_INFO_INIT;
    assert_int_equal(sp_target_plan_get_info(f->plan, &info), SP_OK);
    expect_same(f->h, info.hierarchy);
    sp_target_plan_free(f->plan);
    f->plan = NULL;
}

static void check_copy_unchanged(void *user)
{
    copy_fault *f = user;
    assert_null(f->plan);
    assert_int_equal(sp_hierarchy_get_state(f->h), SP_HIERARCHY_VALID);
    assert_int_equal(sp_hierarchy_count(f->h), 300);
}

static size_t live_copy(void *user)
{
    return ((copy_fault *)user)->alloc.live_blocks;
}

static void test_plan_copy_faults(void **state)
{
    (void)state;
    copy_fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static char ids[400][16];
    f.h = random_named(f.ctx, 77, 300, ids);
    static const int errors[] = { SP_ENOMEM };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    spt_fault_case fc = { "sp_target_plan_new", run_copy, undo_copy, check_copy_unchanged,
                          live_copy, errors, 1, &f };
    /* The copy alone: the hierarchy, the dictionary's four blocks and a map, parents,
     * level names (an array and one per level), the tree. */
    assert_true(spt_fault_loop(&fc, &inj) >= 9);
    sp_hierarchy_free(f.h);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

/* ---- roll-ups ---- */

static void test_rollup_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build_valid(ctx, company, COMPANY_N);
    int64_t values[COMPANY_N], out[COMPANY_N];
    for (size_t i = 0; i < COMPANY_N; i++)
        values[i] = 1000; /* inner nodes' own values: ignored without SP_ROLLUP_OWN */
    values[fx_node(h, "r1")] = 10;
    values[fx_node(h, "r2")] = 20;
    values[fx_node(h, "r3")] = 30;
    values[fx_node(h, "r4")] = 5;
    values[fx_node(h, "r5")] = -7; /* a refund */
    assert_int_equal(sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_OK);
    /* E1 = 10 + 20, E2 = 30, East = 60, W1 = West = 5 - 7 = -2, Co = 58 */
    assert_int_equal(out[fx_node(h, "E1")], 30);
    assert_int_equal(out[fx_node(h, "E2")], 30);
    assert_int_equal(out[fx_node(h, "East")], 60);
    assert_int_equal(out[fx_node(h, "W1")], -2);
    assert_int_equal(out[fx_node(h, "West")], -2);
    assert_int_equal(out[fx_node(h, "Co")], 58);
    assert_int_equal(out[fx_node(h, "r5")], -7);

    /* With own values: inner nodes' 1000 each add up too. E1 = 1030, E2 = 1030,
     * East = 1000 + 1030 + 1030 = 3060, W1 = 998, West = 1998, Co = 1000 + 3060 + 1998. */
    assert_int_equal(sp_hierarchy_rollup(h, values, SP_ROLLUP_OWN, out), SP_OK);
    assert_int_equal(out[fx_node(h, "E1")], 1030);
    assert_int_equal(out[fx_node(h, "East")], 3060);
    assert_int_equal(out[fx_node(h, "West")], 1998);
    assert_int_equal(out[fx_node(h, "Co")], 6058);

    /* Level totals of the leaf roll-up: 58 at every level. */
    assert_int_equal(sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_OK);
    int64_t totals[5] = { 7, 7, 7, 7, 7 };
    assert_int_equal(sp_hierarchy_level_totals(h, out, totals, 5), SP_OK);
    for (int l = 0; l < 4; l++)
        assert_int_equal(totals[l], 58);
    assert_int_equal(totals[4], 7);
    spt_expect_error(ctx, sp_hierarchy_level_totals(h, out, totals, 3), SP_EBUFFER,
                     "level totals: room for 3 levels, the hierarchy has 4");

    /* Overflow: the highest node whose sum leaves int64_t is named, nothing written. A
     * transient overflow that cancels out is not one. */
    int64_t before[COMPANY_N];
    memcpy(before, out, sizeof out);
    values[fx_node(h, "r1")] = INT64_MAX;
    values[fx_node(h, "r2")] = 1;
    spt_expect_error(ctx, sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_EOVERFLOW,
                     "rollup: the sum at node \"Co\" overflows int64_t");
    assert_memory_equal(out, before, sizeof out);
    values[fx_node(h, "r2")] = -1;
    values[fx_node(h, "r3")] = 1;
    values[fx_node(h, "r4")] = INT64_MAX;
    values[fx_node(h, "r5")] = INT64_MIN;
    /* E1 = INT64_MAX - 1, E2 = 1, East = INT64_MAX, W1 = -1, Co = INT64_MAX - 1 */
    assert_int_equal(sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_OK);
    assert_true(out[fx_node(h, "Co")] == INT64_MAX - 1);
    values[fx_node(h, "r5")] = 0;
    spt_expect_error(ctx, sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_EOVERFLOW,
                     "rollup: the sum at node \"Co\" overflows int64_t");
    values[fx_node(h, "r3")] = INT64_MAX;
    spt_expect_error(ctx, sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_EOVERFLOW,
                     "rollup: the sum at node \"Co\" overflows int64_t");
    values[fx_node(h, "r4")] = INT64_MIN;
    spt_expect_error(ctx, sp_hierarchy_rollup(h, values, SP_ROLLUP_LEAVES, out), SP_EOVERFLOW,
                     "rollup: the sum at node \"East\" overflows int64_t");
    /* Level totals: level 3 holds r1..r5 = MAX + (-1) + MAX + MIN + 0 = MAX - 2, level 2
     * (E1, E2, W1 given as MAX each) overflows. */
    int64_t lv[COMPANY_N] = { 0 };
    lv[fx_node(h, "E1")] = lv[fx_node(h, "E2")] = INT64_MAX;
    spt_expect_error(ctx, sp_hierarchy_level_totals(h, lv, totals, 5), SP_EOVERFLOW,
                     "level totals: the total of level 2 overflows int64_t");
    assert_int_equal(totals[0], 58);
    spt_expect_error(ctx, sp_hierarchy_rollup(h, values, 2, out), SP_EINVAL,
                     "rollup: unknown flags 2");
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_property_rollup(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 12 };
    enum { N = 300 };
    static char ids[N][16];
    const char *parents[N], *idp[N];
    int64_t values[N], out[N], want[N];
    uint32_t parent_idx[N];
    for (unsigned it = 0; it < spt_iterations(100); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, N);
        random_tree(&rng, n, ids, parents);
        for (size_t i = 0; i < n; i++)
            idp[i] = ids[i];
        sp_hierarchy *h = NULL;
        assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_add_all(h, idp, NULL, parents, NULL, n, NULL), SP_OK);
        assert_int_equal(sp_hierarchy_validate(h), SP_OK);
        bool own = spt_rng_chance(&rng, 50);
        bool leaf[N];
        for (size_t i = 0; i < n; i++) {
            values[i] = spt_rng_range(&rng, -1000000, 1000000);
            assert_int_equal(sp_hierarchy_parent(h, (uint32_t)i, &parent_idx[i]), SP_OK);
            leaf[i] = true;
        }
        for (size_t i = 0; i < n; i++)
            if (parent_idx[i] != SP_HIERARCHY_NONE)
                leaf[parent_idx[i]] = false;
        /* Reference: every counted value added to each of its ancestors, walking up. */
        memset(want, 0, sizeof want);
        for (size_t i = 0; i < n; i++) {
            if (!own && !leaf[i])
                continue;
            for (uint32_t a = (uint32_t)i; a != SP_HIERARCHY_NONE; a = parent_idx[a])
                want[a] += values[i];
        }
        assert_int_equal(sp_hierarchy_rollup(h, values, own ? SP_ROLLUP_OWN : SP_ROLLUP_LEAVES, out),
                         SP_OK);
        assert_memory_equal(out, want, n * sizeof *out);
        sp_hierarchy_free(h);
    }
    sp_ctx_free(ctx);
}

/* ---- reconciliation ---- */

/* Co: East (r1, r2), West (r3) */
static const spec small[] = {
    { "Co", NULL }, { "East", "Co" }, { "West", "Co" }, { "r1", "East" }, { "r2", "East" },
    { "r3", "West" },
};
enum { S_CO, S_EAST, S_WEST, S_R1, S_R2, S_R3, S_N };

static void test_reconcile_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build_valid(ctx, small, S_N);
    const int64_t td[S_N] = { 1000, 600, 400, 400, 200, 400 };
    const int64_t commit[S_N] = { 0, 0, 0, 450, 150, 500 };
    int64_t bu[S_N], gap[S_N], result[S_N];
    sp_reconcile_options o = SP_RECONCILE_OPTIONS_INIT;
    sp_reconcile_output out = { SP_RECONCILE_OUTPUT_VERSION, bu, gap, result };

    /* Bottom-up: East 450 + 150 = 600, West 500, Co 1100; gaps against the top-down. */
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(bu, ((int64_t[]){ 1100, 600, 500, 450, 150, 500 }), sizeof bu);
    assert_memory_equal(gap, ((int64_t[]){ 100, 0, 100, 50, -50, 100 }), sizeof gap);
    assert_memory_equal(result, td, sizeof result);

    o.mode = SP_RECONCILE_BOTTOM_UP;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, bu, sizeof result);

    /* Blend 1/2: the exact averages, r1 425, r2 175, r3 450. */
    o.mode = SP_RECONCILE_BLEND;
    o.bottom_up_weight = 500000000;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, ((int64_t[]){ 1050, 600, 450, 425, 175, 450 }), sizeof result);

    /* Blend 0.3 = 3/10: weights 3 BU + 7 TD: Co 10300 -> 1030; East 6000, West 4300 ->
     * 600, 430; r1 4150, r2 1850 -> 415, 185. */
    o.bottom_up_weight = 300000000;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, ((int64_t[]){ 1030, 600, 430, 415, 185, 430 }), sizeof result);

    /* Blend 0.333333333: root (0.333333333 x 1100 + 0.666666667 x 1000) = 1033.33 -> 1033;
     * East : West = 600e9 : 433333333300 -> 599.81, 433.19: floors 599, 433, the unit to
     * East -> 600, 433; r1 : r2 = 416666666650 : 183333333350 of 600 -> 416.67, 183.33 ->
     * 417, 183. */
    o.bottom_up_weight = 333333333;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, ((int64_t[]){ 1033, 600, 433, 417, 183, 433 }), sizeof result);

    /* Weight 0 and 1 give the two ends. */
    o.bottom_up_weight = 0;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, td, sizeof result);
    o.bottom_up_weight = SP_DEC_ONE;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(result, bu, sizeof result);

    /* A leaf without commitment counts with its top-down target: r2 -> 200. */
    const uint8_t committed[S_N] = { 0, 0, 0, 1, 0, 1 };
    o.committed = committed;
    o.mode = SP_RECONCILE_BOTTOM_UP;
    assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
    assert_memory_equal(bu, ((int64_t[]){ 1150, 650, 500, 450, 200, 500 }), sizeof bu);
    assert_int_equal(gap[S_R2], 0);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_reconcile_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_hierarchy *h = fx_build_valid(ctx, small, S_N);
    int64_t td[S_N] = { 1000, 600, 400, 400, 190, 400 };
    int64_t commit[S_N] = { 0, 0, 0, 450, 150, 500 };
    int64_t result[S_N] = { 7, 7, 7, 7, 7, 7 };
    sp_reconcile_options o = SP_RECONCILE_OPTIONS_INIT;
    sp_reconcile_output out = { SP_RECONCILE_OUTPUT_VERSION, NULL, NULL, result };
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EINVAL,
                     "reconcile: the top-down targets of the children of node \"East\" sum to 590, "
                     "not its 600");
    td[S_R2] = 200;
    td[S_R3] = -1;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EINVAL,
                     "reconcile: the top-down target of node \"r3\" is -1");
    td[S_R3] = 400;
    commit[S_R1] = -5;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EINVAL,
                     "reconcile: the commitment of leaf \"r1\" is -5");
    commit[S_R1] = 450;
    o.mode = 7;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EINVAL,
                     "reconcile: mode 7 is unknown");
    o.mode = SP_RECONCILE_BLEND;
    o.bottom_up_weight = 1500000000;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EINVAL,
                     "reconcile: bottom-up weight 1.5 is outside [0, 1]");
    /* Commitments rolled up beyond int64_t. */
    commit[S_R1] = INT64_MAX;
    o.bottom_up_weight = 0;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_EOVERFLOW,
                     "reconcile: the sum at node \"Co\" overflows int64_t");
    /* Blend weights beyond 2^63 - 1: 123456789 x 1e10 + 876543211 x 1e10 ~ 1e19. */
    const int64_t big = INT64_C(10000000000);
    int64_t td2[S_N] = { 2 * big, big, big, big / 2, big / 2, big };
    int64_t c2[S_N] = { 0, 0, 0, big / 2, big / 2, big };
    o.bottom_up_weight = 123456789;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td2, c2, &o, &out), SP_EOVERFLOW,
                     "reconcile: the blend weights (bottom-up x 123456789 + top-down x 876543211) "
                     "exceed 2^63 - 1 at the root: use a bottom-up weight with fewer decimals");
    o.bottom_up_weight = 250000000; /* 1/4: fine */
    assert_int_equal(sp_hierarchy_reconcile(h, td2, c2, &o, &out), SP_OK);
    assert_true(result[S_CO] == 2 * big);
    memcpy(result, ((int64_t[]){ 7, 7, 7, 7, 7, 7 }), sizeof result);
    o.bottom_up_weight = 0;
    spt_expect_error(ctx, sp_hierarchy_reconcile(h, td, NULL, &o, &out), SP_EINVAL,
                     "reconcile: commitments is NULL");
    for (int i = 0; i < S_N; i++)
        assert_int_equal(result[i], 7);
    sp_hierarchy_free(h);
    sp_ctx_free(ctx);
}

static void test_property_reconcile(void **state)
{
    (void)state;
    /* Blended results always add up at every node, stay within a unit of... the exact blend
     * at the root, and are the exact blend when it is an integer at every node. */
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 13 };
    enum { N = 120 };
    static char ids[N][16];
    const char *parents[N], *idp[N];
    int64_t leaf_td[N], td[N], commit[N], result[N], bu[N];
    uint32_t par[N];
    for (unsigned it = 0; it < spt_iterations(200); it++) {
        size_t n = (size_t)spt_rng_range(&rng, 1, N);
        random_tree(&rng, n, ids, parents);
        for (size_t i = 0; i < n; i++)
            idp[i] = ids[i];
        sp_hierarchy *h = NULL;
        assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
        assert_int_equal(sp_hierarchy_add_all(h, idp, NULL, parents, NULL, n, NULL), SP_OK);
        assert_int_equal(sp_hierarchy_validate(h), SP_OK);
        for (size_t i = 0; i < n; i++) {
            leaf_td[i] = spt_rng_range(&rng, 0, 100000);
            commit[i] = spt_rng_range(&rng, 0, 100000);
            assert_int_equal(sp_hierarchy_parent(h, (uint32_t)i, &par[i]), SP_OK);
        }
        assert_int_equal(sp_hierarchy_rollup(h, leaf_td, SP_ROLLUP_LEAVES, td), SP_OK);
        sp_reconcile_options o = SP_RECONCILE_OPTIONS_INIT;
        o.mode = SP_RECONCILE_BLEND;
        o.bottom_up_weight = spt_rng_range(&rng, 0, 1000) * 1000000;
        sp_reconcile_output out = { SP_RECONCILE_OUTPUT_VERSION, bu, NULL, result };
        assert_int_equal(sp_hierarchy_reconcile(h, td, commit, &o, &out), SP_OK);
        i128 sums[N] = { 0 };
        uint32_t root = 0;
        for (size_t i = 0; i < n; i++) {
            assert_true(result[i] >= 0);
            if (par[i] != SP_HIERARCHY_NONE)
                sums[par[i]] += result[i];
            else
                root = (uint32_t)i;
        }
        for (size_t i = 0; i < n; i++) {
            bool inner = false;
            for (size_t j = 0; j < n; j++)
                inner |= par[j] == i;
            if (inner)
                assert_true(sums[i] == result[i]);
        }
        /* The root: the blend rounded half-even; 2 x 10^9 x |result - exact| <= 10^9. */
        i128 exact = (i128)o.bottom_up_weight * bu[root] +
                     (i128)(SP_DEC_ONE - o.bottom_up_weight) * td[root];
        i128 diff = (i128)result[root] * SP_DEC_ONE - exact;
        assert_true(2 * (diff < 0 ? -diff : diff) <= SP_DEC_ONE);
        sp_hierarchy_free(h);
    }
    sp_ctx_free(ctx);
}

/* ---- fault injection ---- */

typedef struct build_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_hierarchy *h;
    int step; /* 2: set_levels, 3: rollup, 4: reconcile */
    int64_t out[COMPANY_N];
} build_fault;

static int run_build(void *user)
{
    build_fault *f = user;
    const char *ids[COMPANY_N], *parents[COMPANY_N];
    for (size_t i = 0; i < COMPANY_N; i++) {
        ids[i] = company[i].id;
        parents[i] = company[i].parent;
    }
    sp_hierarchy *h = NULL;
    int rc = sp_hierarchy_new(&h, f->ctx);
    if (rc != SP_OK)
        return rc;
    /* Node by node (pending parents included), then in a batch of pointers, then packed. */
    for (size_t i = 0; i < 5 && rc == SP_OK; i++)
        rc = sp_hierarchy_add(h, ids[i], strlen(ids[i]), parents[i],
                              parents[i] ? strlen(parents[i]) : 0, NULL);
    if (rc == SP_OK)
        rc = sp_hierarchy_add_all(h, ids + 5, NULL, parents + 5, NULL, 3, NULL);
    spt_packed pi = spt_pack(ids + 8, NULL, COMPANY_N - 8, 1),
               pp = spt_pack(parents + 8, NULL, COMPANY_N - 8, 0);
    if (rc == SP_OK)
        rc = sp_hierarchy_add_packed(h, pi.data, pi.len, pi.offsets, pp.data, pp.len,
                                     pp.offsets, COMPANY_N - 8, NULL);
    spt_packed_free(&pi);
    spt_packed_free(&pp);
    if (rc == SP_OK)
        rc = sp_hierarchy_validate(h);
    if (rc != SP_OK) {
        sp_hierarchy_free(h);
        return rc;
    }
    f->h = h;
    return SP_OK;
}

static void undo_build(void *user)
{
    build_fault *f = user;
    expect_children(f->h, "East", "E1 E2");
    sp_hierarchy_free(f->h);
    f->h = NULL;
}

static size_t live_blocks(void *user)
{
    return ((build_fault *)user)->alloc.live_blocks;
}

static int run_ops(void *user)
{
    build_fault *f = user;
    const char *names[] = { "company", "region", "grid", "rep" };
    int64_t values[COMPANY_N];
    for (size_t i = 0; i < COMPANY_N; i++)
        values[i] = (int64_t)i;
    switch (f->step) {
    case 2: return sp_hierarchy_set_levels(f->h, names, 4);
    case 3: return sp_hierarchy_rollup(f->h, values, SP_ROLLUP_OWN, f->out);
    default: {
        int64_t td[COMPANY_N + 2];
        int64_t leaves[COMPANY_N + 2] = { 0 };
        size_t n = sp_hierarchy_count(f->h);
        for (size_t i = 0; i < n; i++)
            leaves[i] = 100 + (int64_t)i;
        int rc = sp_hierarchy_rollup(f->h, leaves, SP_ROLLUP_LEAVES, td);
        if (rc != SP_OK)
            return rc;
        sp_reconcile_options o = SP_RECONCILE_OPTIONS_INIT;
        o.mode = SP_RECONCILE_BLEND;
        o.bottom_up_weight = 400000000;
        int64_t res[COMPANY_N + 2];
        sp_reconcile_output out = { SP_RECONCILE_OUTPUT_VERSION, NULL, NULL, res };
        return sp_hierarchy_reconcile(f->h, td, leaves, &o, &out);
    }
    }
}

static void undo_ops(void *user)
{
    build_fault *f = user;
    if (f->step == 2)
        assert_int_equal(sp_hierarchy_set_levels(f->h, NULL, 0), SP_OK);
    if (f->step == 3) {
        /* Co = its own 6 + every other node's index: 0 + 1 + ... + 10 = 55 */
        assert_int_equal(f->out[fx_node(f->h, "Co")], 55);
        for (size_t i = 0; i < COMPANY_N; i++)
            f->out[i] = -1;
    }
}

static void check_ops_unchanged(void *user)
{
    build_fault *f = user;
    for (size_t i = 0; i < COMPANY_N; i++)
        assert_int_equal(f->out[i], -1);
    const char *name;
    if (f->step == 2)
        assert_int_equal(sp_hierarchy_level_name(f->h, 0, &name), SP_ENOTFOUND);
}

static void test_fault_loops(void **state)
{
    (void)state;
    build_fault f;
    memset(&f, 0, sizeof f);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    spt_fault_case fc = { "build", run_build, undo_build, NULL, live_blocks, errors, 1, &f };
    assert_true(spt_fault_loop(&fc, &inj) > 3);

    assert_int_equal(run_build(&f), SP_OK);
    for (f.step = 2; f.step <= 4; f.step++) {
        for (size_t i = 0; i < COMPANY_N; i++)
            f.out[i] = -1;
        spt_fault_case oc = { "hierarchy operation", run_ops, undo_ops, check_ops_unchanged,
                              live_blocks, errors, 1, &f };
        assert_true(spt_fault_loop(&oc, &inj) >= 1);
    }
    sp_hierarchy_free(f.h);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build_and_read),
        cmocka_unit_test(test_canonical_order_bytes),
        cmocka_unit_test(test_bulk),
        cmocka_unit_test(test_add_packed),
        cmocka_unit_test(test_add_packed_bad_input),
        cmocka_unit_test(test_plan_copy),
        cmocka_unit_test(test_plan_copy_faults),
        cmocka_unit_test(test_levels),
        cmocka_unit_test(test_bad_shapes),
        cmocka_unit_test(test_bad_ids),
        cmocka_unit_test(test_property_input_order),
        cmocka_unit_test(test_rollup_examples),
        cmocka_unit_test(test_property_rollup),
        cmocka_unit_test(test_reconcile_examples),
        cmocka_unit_test(test_reconcile_bad_input),
        cmocka_unit_test(test_property_reconcile),
        cmocka_unit_test(test_fault_loops),
    };
    return cmocka_run_group_tests_name("hierarchy", tests, NULL, NULL);
}
