#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "target_fixtures.h"

sp_hierarchy *fx_build(sp_ctx *ctx, const spec *s, size_t n)
{
    sp_hierarchy *h = NULL;
    assert_int_equal(sp_hierarchy_new(&h, ctx), SP_OK);
    for (size_t i = 0; i < n; i++) {
        uint32_t idx = 999;
        int rc = sp_hierarchy_add(h, s[i].id, strlen(s[i].id), s[i].parent,
                                  s[i].parent != NULL ? strlen(s[i].parent) : 0, &idx);
        if (rc != SP_OK)
            fail_msg("adding %s: %s", s[i].id, sp_ctx_errmsg(ctx));
        assert_int_equal(idx, i);
    }
    return h;
}

sp_hierarchy *fx_build_valid(sp_ctx *ctx, const spec *s, size_t n)
{
    sp_hierarchy *h = fx_build(ctx, s, n);
    if (sp_hierarchy_validate(h) != SP_OK)
        fail_msg("validate: %s", sp_ctx_errmsg(ctx));
    return h;
}

uint32_t fx_node(const sp_hierarchy *h, const char *id)
{
    uint32_t idx = SP_HIERARCHY_NONE;
    if (sp_hierarchy_find(h, id, strlen(id), &idx) != SP_OK)
        fail_msg("no node %s", id);
    return idx;
}

