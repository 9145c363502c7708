/*
 * Name lists (sp_names in storage.h): what listings of stored objects return.
 */
#include <string.h>

#include "store.h"

struct sp_names {
    sp_ctx *ctx;
    char **names;
    size_t n, cap;
};

size_t sp_names_count(const sp_names *names)
{
    return names != NULL ? names->n : 0;
}

const char *sp_names_at(const sp_names *names, size_t k)
{
    return names != NULL && k < names->n ? names->names[k] : NULL;
}

void sp_names_free(sp_names *names)
{
    if (names == NULL)
        return;
    for (size_t i = 0; i < names->n; i++)
        spi_free(names->ctx, names->names[i]);
    spi_free(names->ctx, names->names);
    spi_free(names->ctx, names);
}

int spi_names_new(sp_names **out, sp_ctx *ctx)
{
    sp_names *l = spi_calloc(ctx, 1, sizeof *l);
    if (l == NULL)
        return SP_ENOMEM;
    l->ctx = ctx;
    *out = l;
    return SP_OK;
}

int spi_names_add(sp_names *l, const char *s, size_t len)
{
    if (l->n == l->cap) {
        size_t cap = l->cap < 8 ? 8 : 2 * l->cap;
        char **grown = spi_realloc_array(l->ctx, l->names, cap, sizeof *grown);
        if (grown == NULL)
            return SP_ENOMEM;
        l->names = grown;
        l->cap = cap;
    }
    char *copy = spi_malloc(l->ctx, len + 1);
    if (copy == NULL)
        return SP_ENOMEM;
    memcpy(copy, s, len);
    copy[len] = '\0';
    l->names[l->n++] = copy;
    return SP_OK;
}
