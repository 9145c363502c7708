/* Status strings and the per-context error record. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

const char *sp_strerror(int code)
{
    switch (code) {
    case SP_OK: return "success";
    case SP_EINVAL: return "invalid argument or input";
    case SP_ENOMEM: return "out of memory";
    case SP_EOVERFLOW: return "arithmetic overflow";
    case SP_ENOTFOUND: return "not found";
    case SP_ECONFLICT: return "conflict";
    case SP_ECORRUPT: return "corrupt data";
    case SP_ESTORAGE: return "storage failure";
    case SP_EUSER: return "error returned by a host callback";
    case SP_ECANCELED: return "canceled";
    case SP_EVERSION: return "unsupported version";
    case SP_EBUFFER: return "buffer too small";
    case SP_EINTERNAL: return "internal error";
    default: return "unknown status code";
    }
}

int spi_vfail(sp_ctx *ctx, int code, const char *fmt, va_list ap)
{
    if (ctx == NULL)
        return code;
    ctx->errcode = code;
    ctx->user_errcode = 0;
    ctx->user_errmsg[0] = '\0';
    vsnprintf(ctx->errmsg, sizeof ctx->errmsg, fmt, ap);
    return code;
}

int spi_fail(sp_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spi_vfail(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

int spi_fail_prefix(sp_ctx *ctx, int code, const char *drop, const char *fmt, ...)
{
    if (ctx == NULL)
        return code;
    char prefix[SPI_ERRMSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof prefix - 2, fmt, ap);
    va_end(ap);
    size_t plen = n < 0 ? 0 : (size_t)n < sizeof prefix - 2 ? (size_t)n : sizeof prefix - 3;
    memcpy(prefix + plen, ": ", 3);
    plen += 2;
    const char *old = ctx->errmsg;
    size_t dlen = drop != NULL ? strlen(drop) : 0;
    if (dlen > 0 && strncmp(old, drop, dlen) == 0)
        old += dlen;
    size_t olen = strlen(old);
    if (plen >= sizeof ctx->errmsg)
        plen = sizeof ctx->errmsg - 1;
    if (olen > sizeof ctx->errmsg - 1 - plen)
        olen = sizeof ctx->errmsg - 1 - plen;
    memmove(ctx->errmsg + plen, old, olen);
    memcpy(ctx->errmsg, prefix, plen);
    ctx->errmsg[plen + olen] = '\0';
    ctx->errcode = code;
    return code;
}

int spi_fail_user(sp_ctx *ctx, int host_code, const char *host_msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    spi_vfail(ctx, SP_EUSER, fmt, ap);
    va_end(ap);
    if (ctx != NULL) {
        ctx->user_errcode = host_code;
        snprintf(ctx->user_errmsg, sizeof ctx->user_errmsg, "%s",
                 host_msg != NULL ? host_msg : "");
    }
    return SP_EUSER;
}

static bool is_status(int rc)
{
    return rc <= SP_EINVAL && rc >= SP_EINTERNAL;
}

int spi_host_status(sp_ctx *ctx, int rc, const char *host_msg, const char *fmt, ...)
{
    if (rc == SP_OK)
        return SP_OK;
    char what[SPI_ERRMSG_CAP / 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    bool has_msg = host_msg != NULL && host_msg[0] != '\0';
    if (is_status(rc))
        return spi_fail(ctx, rc, "%s: %s%s%s", what, sp_strerror(rc), has_msg ? ": " : "",
                        has_msg ? host_msg : "");
    return spi_fail_user(ctx, rc, host_msg, "%s: host error %d%s%s", what, rc,
                         has_msg ? ": " : "", has_msg ? host_msg : "");
}

int sp_ctx_errcode(const sp_ctx *ctx)
{
    return ctx != NULL ? ctx->errcode : SP_EINVAL;
}

const char *sp_ctx_errmsg(const sp_ctx *ctx)
{
    return ctx != NULL ? ctx->errmsg : "no context";
}

size_t sp_ctx_errmsg_copy(const sp_ctx *ctx, char *buf, size_t cap)
{
    const char *msg = sp_ctx_errmsg(ctx);
    size_t len = strlen(msg);
    if (buf != NULL && cap > 0) {
        size_t n = len < cap - 1 ? len : cap - 1;
        memcpy(buf, msg, n);
        buf[n] = '\0';
    }
    return len;
}

void sp_ctx_clear_error(sp_ctx *ctx)
{
    if (ctx == NULL)
        return;
    ctx->errcode = SP_OK;
    ctx->errmsg[0] = '\0';
    ctx->user_errcode = 0;
    ctx->user_errmsg[0] = '\0';
}

int sp_ctx_user_errcode(const sp_ctx *ctx)
{
    return ctx != NULL ? ctx->user_errcode : 0;
}

const char *sp_ctx_user_errmsg(const sp_ctx *ctx)
{
    return ctx != NULL ? ctx->user_errmsg : "";
}
