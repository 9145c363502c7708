/*
 * Internal interface of plans and target sets: their layouts, the parsed settings, the
 * hierarchy they share, and the helpers the plan's files share (settings, history,
 * decomposition, sets, record codec, store).
 */
#ifndef SPI_TARGETS_PLAN_H
#define SPI_TARGETS_PLAN_H

#include "../calendar/calendar_internal.h"
#include "../record/record.h"
#include "decompose.h"

/* Longest plan id and scenario name, in bytes; longest driver name. */
/* Plan ids and scenario names are in storage keys: a set chunk's key is the id and the
 * scenario (each + 2 bytes of terminator) and two u32, 512 + 255 + 12 bytes, within the
 * 1024 bytes a backend must take (SPI_KEY_MAX). Names are not in keys. */
#define SPI_PLAN_ID_MAX 512u
#define SPI_SCENARIO_MAX 255u
#define SPI_PLAN_NAME_MAX 1000u
#define SPI_DRIVER_NAME_MAX 255u
/* History years a plan reads at most. */
#define SPI_HISTORY_YEARS_MAX 20u

/* The built-in drivers that history sets. */
#define SPI_DRIVER_PRIOR_YEAR "prior_year"
#define SPI_DRIVER_TRAILING_12M "trailing_12m"

/* ---- settings ---- */

/* A split rule as the settings give it: drivers by name, resolved at decomposition. */
typedef struct spi_srule {
    uint32_t method;      /* sp_decomp_method */
    uint32_t null_policy; /* sp_decomp_null_policy */
    char *driver;         /* DRIVER: the driver; GROWTH: the baseline */
    size_t nblend;
    char **blend_drivers;
    sp_dec *blend_weights;
    sp_dec floor, cap;    /* GROWTH */
    int64_t unit;         /* minor units; 0: none */
} spi_srule;

typedef struct spi_snode_rule {
    uint32_t node;
    spi_srule rule;
} spi_snode_rule;

typedef struct spi_sbound {
    uint32_t node;
    int64_t min, max;
} spi_sbound;

typedef struct spi_slimit {
    uint32_t node;
    sp_dec floor, cap;
} spi_slimit;

typedef struct spi_slock {
    uint32_t node;
    int64_t value;
    char *reason;
} spi_slock;

/* Methods of a seasonality profile. */
enum {
    SPI_SEASON_EVEN = 0,
    SPI_SEASON_SHARES = 1,
    SPI_SEASON_AVERAGE_SHARE = 2,
    SPI_SEASON_RATIO_TO_MA = 3
};

typedef struct spi_sprofile {
    uint32_t node;
    uint32_t method;
    uint32_t policy;      /* SHARES: sp_profile_policy */
    sp_dec *shares;       /* SHARES: nperiods */
    uint32_t years;       /* history methods: the last `years` loaded (0: all) */
    uint32_t zero_policy; /* sp_season_zero_policy */
    uint32_t average;     /* sp_season_average */
} spi_sprofile;

/* Parsed settings. Every per-node vector is sorted by the node's id bytes (the canonical
 * order of the document's maps) and holds each node once. */
typedef struct spi_settings {
    uint32_t nlevels;
    spi_srule *level_rules; /* nlevels; [l].method == UINT32_MAX: no rule for level l */
    spi_snode_rule *node_rules;
    size_t nnode_rules;
    spi_sbound *bounds;
    size_t nbounds;
    spi_slimit *limits;
    size_t nlimits;
    spi_slock *locks;
    size_t nlocks;
    uint32_t weighting;   /* sp_time_weighting */
    int64_t period_unit;  /* minor units; 0: none */
    spi_sprofile *profiles;
    size_t nprofiles;
} spi_settings;

#define SPI_NO_RULE UINT32_MAX

struct sp_target_plan;
/* Read settings from node `obj` of a parsed document (a user's, or the member of a stored
 * plan record) for `plan`; *out is filled only on success. */
int spi_settings_read(const struct sp_target_plan *plan, const struct spi_rdoc *doc,
                      const struct spi_rnode *obj, spi_settings *out);
/* Write settings as an object value (canonical form). */
void spi_settings_write(const struct sp_target_plan *plan, const spi_settings *s,
                        struct spi_writer *w);
void spi_settings_free(sp_ctx *ctx, spi_settings *s);
/* Empty settings for a hierarchy of `nlevels` levels (every level without a rule). */
int spi_settings_empty(sp_ctx *ctx, uint32_t nlevels, spi_settings *out);

/* ---- plans ---- */

typedef struct spi_pdriver {
    char *name;
    int64_t *values; /* n */
    uint8_t *valid;  /* n, or NULL: no nulls */
} spi_pdriver;

/* The history a plan holds: per node with a row, years x nperiods amounts. */
typedef struct spi_history {
    uint32_t years;       /* 0: none loaded */
    int32_t first_year;
    uint32_t nperiods;    /* per year (the plan's grain; all years must agree) */
    uint32_t *row_of;     /* n: the row of a node, or SPI_TREE_NONE */
    int64_t *rows;        /* nrows x years x nperiods */
    uint32_t nrows;
} spi_history;

struct sp_target_plan {
    sp_ctx *ctx;
    char *id;
    char *name;          /* NULL: none */
    uint32_t measure;
    char currency[8];    /* "" when none */
    int32_t exponent;
    sp_calendar_options cal_opts; /* holiday / workday ranges point into cal_days */
    int32_t *cal_days;
    sp_calendar *cal;
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t nperiods;
    uint32_t revision;
    spi_shared_h *sh;
    uint32_t n;
    spi_pdriver *drivers; /* sorted by name */
    size_t ndrivers;
    spi_settings settings;
    char *settings_json;  /* canonical */
    size_t settings_len;
    spi_history history;
    uint32_t chunk_nodes; /* nodes per chunk record when saved; 0: the default */
};

/* The plan's options after reading: what sp_target_plan_new and the loader share. */
typedef struct spi_plan_spec {
    const char *id;
    const char *name;
    uint32_t measure;
    const char *currency;
    int32_t exponent;
    const sp_calendar_options *calendar;
    int32_t fiscal_year;
    uint32_t grain;
} spi_plan_spec;

/* A plan over `sh` (referenced on success) with no drivers, settings or history. */
int spi_plan_make(sp_ctx *ctx, const spi_plan_spec *spec, spi_shared_h *sh,
                  sp_target_plan **out);
/* Take `s` as the settings (ownership passes on success) and render their JSON. */
int spi_plan_take_settings(sp_target_plan *plan, spi_settings *s);
/* Add or replace k (<= 4) drivers at once, all or nothing, without the reserved-name
check; values copied; valid (may be NULL) and each valid[j] (may be NULL) mark nulls. */
int spi_plan_put_drivers(sp_target_plan *plan, size_t k, const char *const *names,
                         const int64_t *const *values, const uint8_t *const *valid);
/* The driver named so, or NULL. */
const spi_pdriver *spi_plan_driver(const sp_target_plan *plan, const char *name);
void spi_history_free(sp_ctx *ctx, spi_history *hs);

/* The history row of a node (years x nperiods), or NULL when there is none. */
static inline const int64_t *spi_history_row(const spi_history *hs, uint32_t node)
{
    if (hs->years == 0)
        return NULL;
    uint32_t row = hs->row_of != NULL ? hs->row_of[node] : node;
    return row == SPI_TREE_NONE ? NULL : hs->rows + (size_t)row * hs->years * hs->nperiods;
}

/* ---- sets ---- */

struct sp_target_set {
    sp_ctx *ctx;
    spi_shared_h *sh;
    char *plan_id;
    uint32_t plan_revision;
    uint32_t measure;
    char currency[8];
    int32_t exponent;
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t nperiods;
    uint32_t n;
    int64_t total;
    uint32_t based_on, closed;
    char *scenario;       /* NULL until saved */
    uint32_t set_version;
    char *note;
    int32_t saved_day;
    /* One block: annual, growth, common_growth (n each), periods (n x nperiods), flags (n),
     * profile_of (n); profiles separately. */
    int64_t *annual;
    sp_dec *growth, *common_growth;
    int64_t *periods;
    uint32_t *flags, *profile_of;
    sp_dec *profiles;
    size_t nprofiles;
    uint32_t weighting;
    char **reasons;       /* n, or NULL without locks; NULL entries for unlocked nodes */
    uint32_t chunk_nodes; /* nodes per chunk record when saved; 0: the default */
};

/* A set over `sh` (referenced) with its arrays allocated (zeroed) for its nodes, nperiods
 * and nprofiles. */
int spi_set_alloc(sp_ctx *ctx, spi_shared_h *sh, uint32_t nperiods, size_t nprofiles,
                  sp_target_set **out);
/* The same for n nodes and no hierarchy yet (a loader sets sh once it has built it). */
int spi_set_alloc_n(sp_ctx *ctx, uint32_t n, uint32_t nperiods, size_t nprofiles,
                    sp_target_set **out);
/* Set the lock reason of a node (copied). */
int spi_set_reason(sp_target_set *set, uint32_t node, const char *reason, size_t len);
int spi_set_strdup(sp_ctx *ctx, char **dst, const char *s, size_t len);

/* ---- record codec (src/targets/plan_codec.c) ----
 *
 * A plan or a set is a stored object of the record layer (src/record/stored.h): a head
 * record (every member but the per-node arrays, and how those are cut) and chunk
 * records, each holding a consecutive range of the per-node arrays: chunk k holds nodes
 * [k * nodes, (k + 1) * nodes) and, for sets, the profiles of the same indices. The codec
 * holds only the schema: what the heads and chunks of target.plan and target.set hold.
 * Plans are revised objects keyed by their id; sets are versioned objects keyed by plan
 * id and scenario, whose plan must be stored.
 */
#define SPI_PLAN_TYPE "target.plan"
#define SPI_PLAN_CHUNK_TYPE "target.plan.chunk"
#define SPI_SET_TYPE "target.set"
#define SPI_SET_CHUNK_TYPE "target.set.chunk"

extern const spi_stored_type spi_plan_stored;
extern const spi_stored_type spi_set_stored;

/* A plan on its way into records (the revision comes with the save). */
typedef struct spi_plan_out {
    const sp_target_plan *plan;
    spi_chunking chunks;
    uint8_t *has_row; /* n: the node's history row is saved (its profile uses history) */
    uint32_t nrows;
} spi_plan_out;

int spi_plan_out_init(spi_plan_out *o, const sp_target_plan *plan);
void spi_plan_out_free(spi_plan_out *o);

/* A set on its way into records, into `scenario` (the version comes with the save). */
typedef struct spi_set_out {
    const sp_target_set *set;
    const char *scenario, *note;
    int32_t day;
    spi_chunking chunks;
} spi_set_out;

void spi_set_out_init(spi_set_out *o, const sp_target_set *set, const char *scenario,
                      const char *note, int32_t day);

/* Names of the time weightings (sp_time_weighting), as settings and records write them. */
extern const char *const spi_weighting_names[2];

/* ---- shared checks ---- */

/* A name of 1 to max bytes of UTF-8 without NUL; messages "<what>: ...". */
int spi_plan_check_name(sp_ctx *ctx, const char *what, const char *s, size_t max);
#endif /* SPI_TARGETS_PLAN_H */
