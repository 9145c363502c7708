/*
 * Plug-in schedule kinds registered on a context (commission.h's sp_commission_kind;
 * docs/commission.md, "Plug-in kinds").
 */
#ifndef SPI_COMMISSION_PLUGIN_H
#define SPI_COMMISSION_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "salesplan/commission.h"

/* A registered kind: the host's table (name copied). */
typedef struct spi_ckind {
    sp_commission_kind k;
    char *name;
} spi_ckind;

/* The kind registered on ctx under name[0 .. len), or NULL (records nothing). */
const spi_ckind *spi_ckind_find(sp_ctx *ctx, const char *name, size_t len);

/* The host's status for a callback's return code (0: SP_OK); messages start with `what`. */
int spi_ckind_status(sp_ctx *ctx, const spi_ckind *kind, int rc, const char *what);

#endif /* SPI_COMMISSION_PLUGIN_H */
