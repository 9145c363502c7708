/* Fixtures shared by the target tests (hierarchy, decomposition). Include after <cmocka.h>. */
#ifndef TARGET_FIXTURES_H
#define TARGET_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "salesplan/salesplan.h"

/* A node: its id and its parent's id (NULL for the root). */
typedef struct spec {
    const char *id, *parent;
} spec;

/* A hierarchy of the n nodes added one by one (each must get index i); and validated. */
sp_hierarchy *fx_build(sp_ctx *ctx, const spec *s, size_t n);
sp_hierarchy *fx_build_valid(sp_ctx *ctx, const spec *s, size_t n);
/* The index of an id that must exist. */
uint32_t fx_node(const sp_hierarchy *h, const char *id);

#endif
