/* Context lifecycle, allocation through the context's hooks, versioned structs. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void *default_malloc(void *user, size_t size)
{
    (void)user;
    return malloc(size);
}

static void *default_realloc(void *user, void *ptr, size_t size)
{
    (void)user;
    return realloc(ptr, size);
}

static void default_free(void *user, void *ptr)
{
    (void)user;
    free(ptr);
}

static const size_t ctx_options_sizes[] = { 0, sizeof(sp_ctx_options) };

SPI_DEFINE_INIT(sp_ctx_options, ctx_options_sizes, SP_CTX_OPTIONS_VERSION, SP_CTX_OPTIONS_INIT)

int sp_ctx_new(sp_ctx **out, const sp_ctx_options *opts)
{
    if (out == NULL)
        return SP_EINVAL;
    sp_ctx_options o = SP_CTX_OPTIONS_INIT;
    /* No context exists yet to carry a message, so only the code reports the problem. */
    int rc = spi_struct_read(NULL, "sp_ctx_options", &o, opts, ctx_options_sizes,
                             SP_CTX_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    int hooks = (o.malloc_fn != NULL) + (o.realloc_fn != NULL) + (o.free_fn != NULL);
    if (hooks != 0 && hooks != 3)
        return SP_EINVAL;
    if (hooks == 0) {
        o.malloc_fn = default_malloc;
        o.realloc_fn = default_realloc;
        o.free_fn = default_free;
        o.alloc_user = NULL;
    }
    sp_ctx *ctx = o.malloc_fn(o.alloc_user, sizeof *ctx);
    if (ctx == NULL)
        return SP_ENOMEM;
    memset(ctx, 0, sizeof *ctx);
    ctx->malloc_fn = o.malloc_fn;
    ctx->realloc_fn = o.realloc_fn;
    ctx->free_fn = o.free_fn;
    ctx->alloc_user = o.alloc_user;
    *out = ctx;
    return SP_OK;
}

void sp_ctx_free(sp_ctx *ctx)
{
    if (ctx == NULL)
        return;
    for (size_t i = 0; i < SPI_CTX_EXT_COUNT; i++)
        if (ctx->ext[i] != NULL)
            ctx->ext_free[i](ctx, ctx->ext[i]);
    ctx->free_fn(ctx->alloc_user, ctx);
}

void *spi_malloc(sp_ctx *ctx, size_t size)
{
    void *p = ctx->malloc_fn(ctx->alloc_user, size == 0 ? 1 : size);
    if (p == NULL)
        spi_fail(ctx, SP_ENOMEM, "out of memory allocating %zu bytes", size);
    return p;
}

void *spi_malloc_array(sp_ctx *ctx, size_t n, size_t size)
{
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        spi_fail(ctx, SP_ENOMEM, "out of memory: %zu items of %zu bytes overflow size_t", n,
                 size);
        return NULL;
    }
    return spi_malloc(ctx, bytes);
}

void *spi_calloc(sp_ctx *ctx, size_t n, size_t size)
{
    void *p = spi_malloc_array(ctx, n, size);
    if (p != NULL)
        memset(p, 0, n * size);
    return p;
}

void *spi_realloc_array(sp_ctx *ctx, void *ptr, size_t n, size_t size)
{
    if (ptr == NULL)
        return spi_malloc_array(ctx, n, size);
    size_t bytes;
    if (__builtin_mul_overflow(n, size, &bytes)) {
        spi_fail(ctx, SP_ENOMEM, "out of memory: %zu items of %zu bytes overflow size_t", n,
                 size);
        return NULL;
    }
    void *p = ctx->realloc_fn(ctx->alloc_user, ptr, bytes == 0 ? 1 : bytes);
    if (p == NULL)
        spi_fail(ctx, SP_ENOMEM, "out of memory growing a block to %zu bytes", bytes);
    return p;
}

void spi_free(sp_ctx *ctx, void *ptr)
{
    if (ptr != NULL)
        ctx->free_fn(ctx->alloc_user, ptr);
}

int spi_struct_init(void *s, uint32_t version, const size_t *sizes, uint32_t newest,
                    const void *tmpl)
{
    if (version == 0 || version > newest)
        return SP_EVERSION;
    memcpy(s, tmpl, sizes[version]);
    memcpy(s, &version, sizeof version);
    return SP_OK;
}

int spi_struct_read(sp_ctx *ctx, const char *what, void *dst, const void *src,
                    const size_t *sizes, uint32_t newest)
{
    if (src == NULL)
        return SP_OK;
    uint32_t version;
    memcpy(&version, src, sizeof version);
    if (version == 0 || version > newest)
        return spi_fail(ctx, SP_EVERSION,
                        "%s: version %u is not supported (this library knows 1 to %u)",
                        what, (unsigned)version, (unsigned)newest);
    memcpy(dst, src, sizes[version]);
    return SP_OK;
}

int spi_info_check(sp_ctx *ctx, const char *what, const void *dst, uint32_t newest)
{
    uint32_t v;
    memcpy(&v, dst, sizeof v);
    if (v == 0 || v > newest)
        return spi_fail(ctx, SP_EVERSION, "%s: version %u is not one this library writes (1 to %u)",
                        what, (unsigned)v, (unsigned)newest);
    return SP_OK;
}

int spi_info_out(sp_ctx *ctx, const char *what, void *dst, const void *src, const size_t *sizes,
                 uint32_t newest)
{
    int rc = spi_info_check(ctx, what, dst, newest);
    if (rc != SP_OK)
        return rc;
    uint32_t v;
    memcpy(&v, dst, sizeof v);
    memcpy(dst, src, sizes[v]);
    memcpy(dst, &v, sizeof v);
    return SP_OK;
}
