/*
 * Plan components to kernel schedules (convert.h).
 */
#include <string.h>

#include "../core/internal.h"
#include "convert.h"
#include "plugin.h"

static int plugin_payout(void *arg, int64_t x, int64_t *payout)
{
    spi_cplug *p = arg;
    int rc = p->kind->k.payout(p->kind->k.user, p->state, x, p->quota, payout);
    return spi_ckind_status(p->ctx, p->kind, rc, "payout");
}

void spi_csched_free(sp_ctx *ctx, spi_csched *k)
{
    spi_free(ctx, k->breaks);
    spi_free(ctx, k->values);
    spi_free(ctx, k->accel_from);
    spi_free(ctx, k->accel_mult);
    spi_free(ctx, k->bonus_at);
    spi_free(ctx, k->bonus_amount);
    spi_free(ctx, k->pct);
    memset(k, 0, sizeof *k);
}

int spi_csched_init(sp_ctx *ctx, spi_csched *k, const spi_cplan_component *c, const char *what)
{
    if (what == NULL)
        what = "commission schedule";
    static const uint32_t kinds[] = { SPI_SCHEDULE_FLAT,         SPI_SCHEDULE_MARGINAL,
                                      SPI_SCHEDULE_RETROACTIVE,  SPI_SCHEDULE_INTERPOLATED,
                                      SPI_SCHEDULE_TABLE,        SPI_SCHEDULE_PLUGIN };
    const spi_cplan_schedule *cs = &c->schedule;
    memset(k, 0, sizeof *k);
    bool plugin = cs->kind == SPI_CSCHED_PLUGIN;
    if ((cs->ntiers == 0) != plugin || cs->kind > SPI_CSCHED_PLUGIN)
        return spi_fail(ctx, SP_EINVAL, "%s: schedule has no tiers or an unknown kind", what);
    size_t nb = plugin ? 0 : cs->ntiers - 1, most = nb > 0 ? nb : 1; /* the gate needs one */
    if (c->naccels > most)
        most = c->naccels;
    if (c->nbonuses > most)
        most = c->nbonuses;
    k->breaks = spi_malloc_array(ctx, nb, sizeof *k->breaks);
    k->values = spi_malloc_array(ctx, cs->ntiers, sizeof *k->values);
    k->accel_from = spi_malloc_array(ctx, c->naccels, sizeof *k->accel_from);
    k->accel_mult = spi_malloc_array(ctx, c->naccels, sizeof *k->accel_mult);
    k->bonus_at = spi_malloc_array(ctx, c->nbonuses, sizeof *k->bonus_at);
    k->bonus_amount = spi_malloc_array(ctx, c->nbonuses, sizeof *k->bonus_amount);
    k->pct = spi_malloc_array(ctx, most, sizeof *k->pct);
    if (k->breaks == NULL || k->values == NULL || k->accel_from == NULL ||
        k->accel_mult == NULL || k->bonus_at == NULL || k->bonus_amount == NULL ||
        k->pct == NULL) {
        spi_csched_free(ctx, k);
        return SP_ENOMEM;
    }
    spi_schedule *s = &k->s;
    s->kind = cs->kind == SPI_CSCHED_INTERPOLATED && cs->value == SPI_CVALUE_AMOUNT
                  ? SPI_SCHEDULE_CURVE
                  : kinds[cs->kind];
    s->boundary = cs->boundary;
    s->decreasing = cs->decreasing;
    s->per_line_measure = cs->accumulate == SPI_CACCUM_LINE;
    s->nbreaks = nb;
    s->nvalues = cs->ntiers;
    if (plugin) {
        k->plug.ctx = ctx;
        k->plug.kind = cs->plugin;
        k->plug.state = cs->state;
        s->fn = plugin_payout;
        s->fn_arg = &k->plug;
    }
    for (size_t i = 0; i < cs->ntiers; i++) {
        k->values[i] = cs->tiers[i].value;
        /* An amount per unit (minor units) is the kernel's rate of minor units per unit,
         * an sp_dec. */
        if (cs->value == SPI_CVALUE_PER_UNIT &&
            __builtin_mul_overflow(cs->tiers[i].value, SP_DEC_ONE, &k->values[i])) {
            spi_csched_free(ctx, k);
            return spi_fail(ctx, SP_EOVERFLOW, "%s: schedule.tiers[%zu].per_unit: beyond "
                            "9223372036 minor units per unit", what, i);
        }
        if (i > 0)
            k->breaks[i - 1] = cs->tiers[i].from;
    }
    s->breaks = k->breaks;
    /* a plug-in's P is its function's: no rates, no amounts */
    if (!plugin && cs->value == SPI_CVALUE_AMOUNT)
        s->amounts = k->values;
    else if (!plugin)
        s->rates = k->values;
    s->has_gate = c->gate > 0;
    s->gate = c->gate;
    s->naccel = c->naccels;
    for (size_t i = 0; i < c->naccels; i++) {
        k->accel_from[i] = c->accels[i].from;
        k->accel_mult[i] = c->accels[i].multiplier;
        if (c->accels[i].retroactive)
            s->accel_retroactive = true;
    }
    s->accel_from = k->accel_from;
    s->accel_mult = k->accel_mult;
    s->has_cap = c->cap > 0;
    s->cap = c->cap;
    s->nbonus = c->nbonuses;
    for (size_t i = 0; i < c->nbonuses; i++) {
        k->bonus_at[i] = c->bonuses[i].at;
        k->bonus_amount[i] = c->bonuses[i].amount;
    }
    s->bonus_at = k->bonus_at;
    s->bonus_amount = k->bonus_amount;
    k->on_attainment = cs->on == SPI_CON_ATTAINMENT;
    if (!k->on_attainment) {
        int rc = spi_schedule_check(ctx, s, what);
        if (rc != SP_OK) {
            spi_csched_free(ctx, k);
            return rc;
        }
    }
    return SP_OK;
}

int spi_csched_quota(sp_ctx *ctx, spi_csched *k, const spi_cplan_component *c, int64_t quota,
                     const char *what)
{
    if (!k->on_attainment)
        return SP_OK;
    const spi_cplan_schedule *cs = &c->schedule;
    size_t nb = k->s.nbreaks;
    k->plug.quota = quota;
    for (size_t i = 0; i < nb; i++)
        k->pct[i] = cs->tiers[i + 1].from;
    int rc = spi_schedule_attainment_breaks(ctx, what, quota, k->pct, nb, k->breaks);
    if (rc == SP_OK && c->gate > 0) {
        k->pct[0] = c->gate;
        rc = spi_schedule_attainment_breaks(ctx, what, quota, k->pct, 1, &k->s.gate);
    }
    if (rc == SP_OK && c->naccels > 0) {
        for (size_t i = 0; i < c->naccels; i++)
            k->pct[i] = c->accels[i].from;
        rc = spi_schedule_attainment_breaks(ctx, what, quota, k->pct, c->naccels,
                                            k->accel_from);
    }
    if (rc == SP_OK && c->nbonuses > 0) {
        for (size_t i = 0; i < c->nbonuses; i++)
            k->pct[i] = c->bonuses[i].at;
        rc = spi_schedule_attainment_breaks(ctx, what, quota, k->pct, c->nbonuses,
                                            k->bonus_at);
    }
    if (rc == SP_OK)
        rc = spi_schedule_check(ctx, &k->s, what);
    return rc;
}
