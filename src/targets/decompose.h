/*
 * Internal layout of a decomposition, for the code that saves and loads one (the plan's
 * store): drivers, rules, bounds, growth limits and locks exactly as the setters keep
 * them. Only decompose.c changes them.
 */
#ifndef SPI_TARGETS_DECOMPOSE_H
#define SPI_TARGETS_DECOMPOSE_H

#include "../hierarchy/hierarchy_internal.h"
#include "salesplan/target_kernels.h"

/* Blend shares are allocated at this resolution (see docs/target.md). */
#define SPI_BLEND_RESOLUTION INT64_C(1000000000000000000)

/* A rule as stored: the caller's sp_decomp_rule, validated and copied. */
typedef struct spi_rule {
    bool set;
    uint32_t method, driver, null_policy;
    size_t nblend;
    uint32_t *blend_drivers; /* owned */
    sp_dec *blend_weights;   /* owned: as given */
    int64_t *blend_shares;   /* owned: SPI_BLEND_RESOLUTION split by the blend weights */
    sp_dec floor, cap;
    int64_t unit;
} spi_rule;

/* Sparse per-node records, each vector sorted by node (the first member). */
typedef struct spi_node_rule {
    uint32_t node;
    spi_rule rule;
} spi_node_rule;

typedef struct spi_growth_limit {
    uint32_t node;
    sp_dec floor, cap;
} spi_growth_limit;

typedef struct spi_lock {
    uint32_t node;
    int64_t value;
    char *reason; /* owned */
} spi_lock;

typedef struct spi_driver {
    char *name;      /* owned */
    int64_t *values; /* n */
    uint8_t *valid;  /* n, or NULL: no nulls */
    bool owned;      /* values and valid are copies the decomposition frees; false: borrowed
                        (spi_decomp_add_driver_ref) */
} spi_driver;

typedef struct spi_sparse {
    void *items;
    size_t n, cap;
} spi_sparse;

struct sp_decomp {
    sp_ctx *ctx;
    const sp_hierarchy *h;
    uint64_t generation;
    uint32_t n, levels;
    spi_driver *drivers;
    uint32_t ndrivers;
    size_t drivers_cap;
    spi_rule *level_rules; /* levels entries; [0] unused */
    spi_sparse node_rules; /* spi_node_rule */
    spi_sparse limits;     /* spi_growth_limit */
    spi_sparse locks;      /* spi_lock */
    int64_t *min, *max;    /* n each, or NULL while no bounds are set */
};

/*
 * sp_decomp_add_driver without the copy: the column is read from values / valid, which
 * must stay unchanged while d lives (a plan lends its drivers to the decomposition it
 * runs). Same checks and messages.
 */
int spi_decomp_add_driver_ref(sp_decomp *d, const char *name, const int64_t *values,
                              const uint8_t *valid, size_t n);

/*
 * sp_decomp_run into the caller's arrays (n entries each; flags, growth and common may be
 * NULL), which must be zeroed: a node's growth is written only where it applies. On error
 * they hold a partial result; sp_decomp_run itself runs into a block of its own and copies
 * on success.
 */
int spi_decomp_run_into(sp_decomp *d, int64_t total, int64_t *target, uint32_t *flags,
                        sp_dec *growth, sp_dec *common);

#endif /* SPI_TARGETS_DECOMPOSE_H */
