/*
 * Internal interface of the time half of the target module: the calendar's year layout for
 * the kernels (split, re-plan, pacing), profile checks, and the per-period weights they
 * share. Functions taking a ctx report to it, not to the calendar's own context, so that
 * a calendar can serve kernels running under other contexts.
 */
#ifndef SPI_TARGETS_TIME_INTERNAL_H
#define SPI_TARGETS_TIME_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../calendar/calendar_internal.h"
#include "salesplan/target_kernels.h"

/* ---- profiles ---- */

/* Check n shares under an sp_profile_policy: none negative, not all zero, summing to 100 %
 * under SP_PROFILE_REJECT; *sum gets their sum. Messages start with `what` (which names the
 * profile, e.g. "timesplit: profiles[1]", and is followed by "[p]" for one share). */
int spi_profile_check(sp_ctx *ctx, const char *what, const sp_dec *shares, size_t n,
                      uint32_t policy, int64_t *sum);

/* ---- weights of the periods, shared by split, re-plan and pacing ---- */

/* The options of sp_timesplit_options / sp_replan_options that shape the weights and rows. */
typedef struct spi_time_spec {
    uint32_t policy;             /* sp_profile_policy */
    const uint32_t *profile_of;
    const sp_calendar *calendar; /* optional */
    int32_t fiscal_year;
    uint32_t grain;
    uint32_t weighting;          /* sp_time_weighting */
    int64_t unit;
    const uint8_t *held;
    const int64_t *held_value;
} spi_time_spec;

typedef struct spi_time_weights {
    int64_t *w;    /* nprofiles x nperiods: the share, or share x working days */
    uint64_t *sum; /* per profile: 1 .. INT64_MAX */
    size_t nprofiles, nperiods;
    int32_t working_days[SP_CALENDAR_MAX_PERIODS]; /* per period, when there is a calendar */
} spi_time_weights;

/* Check the profiles (each under spec->policy), the calendar's period count against
 * nperiods, and weigh each period; messages start with `what`. One allocation. */
int spi_time_weights_build(sp_ctx *ctx, const char *what, const spi_time_spec *spec,
                           const sp_dec *profiles, size_t nprofiles, size_t nperiods,
                           spi_time_weights *tw);
void spi_time_weights_free(sp_ctx *ctx, spi_time_weights *tw);
/* Every profile_of[i] (when not NULL) below nprofiles. */
int spi_time_profile_of(sp_ctx *ctx, const char *what, const uint32_t *profile_of,
                        size_t nnodes, size_t nprofiles);

#endif /* SPI_TARGETS_TIME_INTERNAL_H */
