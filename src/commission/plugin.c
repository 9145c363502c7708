/*
 * The registry of plug-in schedule kinds, one per context (the context's commission
 * extension slot), freed with the context.
 */
#include <string.h>

#include "../core/internal.h"
#include "../targets/plan.h"
#include "plan_doc.h"
#include "plugin.h"

/* Kinds are allocated one by one: plans point at them while the registry grows. */
typedef struct registry {
    size_t n, cap;
    spi_ckind **kinds;
} registry;

static const size_t kind_sizes[] = { 0, sizeof(sp_commission_kind) };

SPI_DEFINE_INIT(sp_commission_kind, kind_sizes, SP_COMMISSION_KIND_VERSION,
                SP_COMMISSION_KIND_INIT)

static void registry_free(sp_ctx *ctx, void *ext)
{
    registry *g = ext;
    for (size_t i = 0; i < g->n; i++) {
        if (g->kinds[i]->k.destroy != NULL)
            g->kinds[i]->k.destroy(g->kinds[i]->k.user);
        spi_free(ctx, g->kinds[i]->name);
        spi_free(ctx, g->kinds[i]);
    }
    spi_free(ctx, g->kinds);
    spi_free(ctx, g);
}

const spi_ckind *spi_ckind_find(sp_ctx *ctx, const char *name, size_t len)
{
    const registry *g = ctx->ext[SPI_CTX_EXT_COMMISSION_KINDS];
    for (size_t i = 0; g != NULL && i < g->n; i++)
        if (strlen(g->kinds[i]->name) == len && memcmp(g->kinds[i]->name, name, len) == 0)
            return g->kinds[i];
    return NULL;
}

int spi_ckind_status(sp_ctx *ctx, const spi_ckind *kind, int rc, const char *what)
{
    if (rc == 0)
        return SP_OK;
    const char *msg = kind->k.errmsg != NULL ? kind->k.errmsg(kind->k.user) : NULL;
    return spi_host_status(ctx, rc, msg, "%s: plug-in kind '%s'", what, kind->name);
}

int sp_commission_register_kind(sp_ctx *ctx, const sp_commission_kind *kind)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (kind == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission kind: kind is NULL");
    sp_commission_kind k = SP_COMMISSION_KIND_INIT;
    int rc = spi_struct_read(ctx, "sp_commission_kind", &k, kind, kind_sizes,
                             SP_COMMISSION_KIND_VERSION);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_plan_check_name(ctx, "commission kind: name", k.name, SPI_CPLAN_ID_MAX)) !=
        SP_OK)
        return rc;
    size_t len = strlen(k.name);
    if (k.prepare == NULL || k.payout == NULL)
        return spi_fail(ctx, SP_EINVAL, "commission kind '%s': %s is NULL", k.name,
                        k.prepare == NULL ? "prepare" : "payout");
    if (spi_ckind_find(ctx, k.name, len) != NULL)
        return spi_fail(ctx, SP_ECONFLICT, "commission kind '%s' is already registered", k.name);
    registry *g = ctx->ext[SPI_CTX_EXT_COMMISSION_KINDS];
    bool fresh = g == NULL;
    if (fresh && (g = spi_calloc(ctx, 1, sizeof *g)) == NULL)
        return SP_ENOMEM;
    if (g->n == g->cap) { /* a larger array, kept even when what follows fails */
        spi_ckind **grown = spi_realloc_array(ctx, g->kinds, g->cap * 2 + 4, sizeof *g->kinds);
        if (grown != NULL) {
            g->kinds = grown;
            g->cap = g->cap * 2 + 4;
        }
    }
    char *name = g->n < g->cap ? spi_malloc(ctx, len + 1) : NULL;
    spi_ckind *entry = name != NULL ? spi_malloc(ctx, sizeof *entry) : NULL;
    if (entry == NULL) {
        spi_free(ctx, name);
        if (fresh) {
            spi_free(ctx, g->kinds);
            spi_free(ctx, g);
        }
        return SP_ENOMEM;
    }
    memcpy(name, k.name, len);
    name[len] = '\0';
    k.name = name;
    entry->k = k;
    entry->name = name;
    g->kinds[g->n++] = entry;
    if (fresh) {
        ctx->ext[SPI_CTX_EXT_COMMISSION_KINDS] = g;
        ctx->ext_free[SPI_CTX_EXT_COMMISSION_KINDS] = registry_free;
    }
    return SP_OK;
}
