/*
 * Internal interface of the target module: the hierarchy's layout, read by the
 * decomposition and roll-up code.
 */
#ifndef SPI_TARGET_HIERARCHY_H
#define SPI_TARGET_HIERARCHY_H

#include <stdbool.h>

#include "salesplan/storage.h"
#include "salesplan/target.h"

#include "tree.h"

struct sp_hierarchy {
    sp_ctx *ctx;
    sp_dict *ids;         /* node ids; a node's index is its dictionary index */
    uint32_t *parent;     /* per node: its parent, SPI_TREE_NONE, or PENDING */
    size_t parent_cap;
    /* Parent ids not yet known when their child was added, resolved by validation. */
    struct spi_pending *pending;
    size_t npending, pending_cap;
    char *pending_text;
    size_t pending_len, pending_text_cap;
    char **levels; /* level names, NUL-terminated */
    size_t nlevels;
    bool valid;
    uint64_t generation; /* changes whenever the set of nodes changes */
    spi_tree tree;       /* when valid */
};

/* Write the quoted id of `node` into buf (SPI_QUOTE_CAP bytes); returns buf. */
const char *spi_hierarchy_quote(const sp_hierarchy *h, uint32_t node, char *buf);

/* SP_OK when h is validated, else SP_EINVAL with a message starting with `what`. */
int spi_hierarchy_check_valid(const sp_hierarchy *h, const char *what);

/* Greatest common divisor; gcd(a, 0) = a. */
static inline uint64_t spi_gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

#endif /* SPI_TARGET_HIERARCHY_H */
