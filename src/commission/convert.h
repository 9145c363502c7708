/*
 * A plan component's schedule (spi_cplan_component, plan_doc.h) as the kernel's
 * (spi_schedule, schedule.h): the tier kind (an interpolated table of amounts is the
 * kernel's payout curve; an amount per unit becomes a rate of minor units per unit),
 * the boundary, the per-line measure, and the gate, accelerators,
 * cap and bonuses. Thresholds of a schedule `on` attainment become measures by the payee's
 * quota: threshold a becomes ceil(a x quota) (spi_schedule_attainment_breaks), the tiers,
 * the accelerators and the bonuses each as one list, the gate alone.
 */
#ifndef SPI_COMMISSION_CONVERT_H
#define SPI_COMMISSION_CONVERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_doc.h"
#include "schedule.h"

/* What a plug-in schedule's function needs (plugin.h). */
typedef struct spi_cplug {
    sp_ctx *ctx;
    const struct spi_ckind *kind;
    void *state;
    int64_t quota; /* the payee's, on attainment; else 0 */
} spi_cplug;

/* A kernel schedule and the arrays it points into (owned). */
typedef struct spi_csched {
    spi_schedule s;
    spi_cplug plug;     /* a plug-in kind: s.fn_arg points here (the struct stays put) */
    bool on_attainment; /* thresholds depend on the quota: spi_csched_quota per payee */
    int64_t *breaks, *values, *accel_from, *bonus_at, *bonus_amount;
    sp_dec *accel_mult, *pct;
} spi_csched;

/*
 * Make k from component c: the arrays allocated, every value filled. A schedule on the
 * measure is then ready (and checked by spi_schedule_check); one on attainment needs
 * spi_csched_quota before each use. SP_ENOMEM, SP_EINVAL (a schedule the kernel refuses,
 * named by `what`). On error *k is left empty (spi_csched_free is fine to call).
 */
int spi_csched_init(sp_ctx *ctx, spi_csched *k, const spi_cplan_component *c, const char *what);
/* The thresholds of an attainment schedule for `quota`; messages start with `what` (the
 * caller names the payee and the component). SP_EINVAL, SP_EOVERFLOW; k->s is unusable
 * after an error until the next successful call. Does nothing for a schedule on the
 * measure. */
int spi_csched_quota(sp_ctx *ctx, spi_csched *k, const spi_cplan_component *c, int64_t quota,
                     const char *what);
void spi_csched_free(sp_ctx *ctx, spi_csched *k);

#endif /* SPI_COMMISSION_CONVERT_H */
