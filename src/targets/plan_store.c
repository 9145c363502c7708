/*
 * Store-backed operations of plans and target sets: stored objects of the record layer
 * (src/record/stored.h), whose types and records plan_codec.c describes. Each write is
 * one transaction (spi_store_write); each read goes through the storage layer too:
 *   target.plan        str(plan id)                                 revised
 *   target.plan.chunk  str(plan id) u32(chunk)
 *   target.set         str(plan id) str(scenario) u32(version)      versioned; its plan
 *   target.set.chunk   str(plan id) str(scenario) u32(version) u32(chunk)   must be stored
 * Nothing here computes or encodes.
 */
#include <string.h>

#include "plan.h"

/* ---- plans ---- */

typedef struct plan_save_job {
    const char *names[1];
    const spi_plan_out *o;
    uint32_t revision; /* held, then written */
} plan_save_job;

static int plan_save_tx(spi_store *tx, void *arg)
{
    plan_save_job *j = arg;
    return spi_stored_save(tx, &spi_plan_stored, j->names, j->o, j->o->chunks.count,
                           &j->revision);
}

int sp_target_plan_save(sp_target_plan *plan, const sp_storage *storage)
{
    if (plan == NULL)
        return SP_EINVAL;
    spi_plan_out o;
    int rc = spi_plan_out_init(&o, plan);
    if (rc != SP_OK)
        return rc;
    plan_save_job j = { { plan->id }, &o, plan->revision };
    rc = spi_store_write(plan->ctx, storage, plan_save_tx, &j);
    spi_plan_out_free(&o);
    if (rc == SP_OK)
        plan->revision = j.revision;
    return rc;
}

int sp_target_plan_load(sp_target_plan **out, sp_ctx *ctx, const sp_storage *storage,
                        const char *plan_id)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plan: out is NULL");
    int rc = spi_plan_check_name(ctx, "target plan: id", plan_id, SPI_PLAN_ID_MAX);
    spi_store s;
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    const char *names[] = { plan_id };
    void *plan;
    if ((rc = spi_stored_load(&s, &spi_plan_stored, names, 0, &plan)) == SP_OK)
        *out = plan;
    return rc;
}

/* ---- sets ---- */

typedef struct set_save_job {
    const char *names[2];
    const spi_set_out *o;
    uint32_t version;
} set_save_job;

static int set_save_tx(spi_store *tx, void *arg)
{
    set_save_job *j = arg;
    return spi_stored_save(tx, &spi_set_stored, j->names, j->o, j->o->chunks.count,
                           &j->version);
}

int sp_target_set_save(sp_target_set *set, const sp_storage *storage, const char *scenario,
                       const char *note, int32_t day, uint32_t *version)
{
    if (set == NULL)
        return SP_EINVAL;
    sp_ctx *ctx = set->ctx;
    int rc = spi_plan_check_name(ctx, "target set: scenario", scenario, SPI_SCENARIO_MAX);
    if (rc != SP_OK)
        return rc;
    if (note == NULL)
        note = "";
    size_t bad;
    const char *why;
    if (!spi_utf8_check((const uint8_t *)note, strlen(note), &bad, &why))
        return spi_fail(ctx, SP_EINVAL, "target set: note is not valid UTF-8: %s at byte %zu",
                        why, bad);
    if (day < SPI_DAY_MIN || day > SPI_DAY_MAX)
        return spi_fail(ctx, SP_EINVAL, "target set: day %d is outside the years 1 to 9999%s",
                        (int)day, day == INT32_MIN ? " (INT32_MIN marks a set never saved)" : "");
    if (set->scenario != NULL) {
        char q[SPI_QUOTE_CAP];
        return spi_fail(ctx, SP_ECONFLICT, "target set: already saved as %s version %u (a saved "
                                           "set is immutable)",
                        spi_quote(q, set->scenario, strlen(set->scenario)),
                        (unsigned)set->set_version);
    }
    char *sc = NULL, *nt = NULL;
    if ((rc = spi_set_strdup(ctx, &sc, scenario, strlen(scenario))) != SP_OK ||
        (rc = spi_set_strdup(ctx, &nt, note, strlen(note))) != SP_OK) {
        spi_free(ctx, sc);
        return rc;
    }
    spi_set_out o;
    spi_set_out_init(&o, set, scenario, note, day);
    set_save_job j = { { set->plan_id, scenario }, &o, 0 };
    rc = spi_store_write(ctx, storage, set_save_tx, &j);
    if (rc != SP_OK) {
        spi_free(ctx, sc);
        spi_free(ctx, nt);
        return rc;
    }
    set->scenario = sc;
    set->note = nt;
    set->set_version = j.version;
    set->saved_day = day;
    if (version != NULL)
        *version = j.version;
    return SP_OK;
}

static int check_ids(sp_ctx *ctx, const char *plan_id, const char *scenario)
{
    int rc = spi_plan_check_name(ctx, "target set: plan id", plan_id, SPI_PLAN_ID_MAX);
    if (rc == SP_OK && scenario != NULL)
        rc = spi_plan_check_name(ctx, "target set: scenario", scenario, SPI_SCENARIO_MAX);
    return rc;
}

int sp_target_set_load(sp_target_set **out, sp_ctx *ctx, const sp_storage *storage,
                       const char *plan_id, const char *scenario, uint32_t version)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target set: out is NULL");
    if (scenario == NULL)
        return spi_fail(ctx, SP_EINVAL, "target set: scenario is NULL");
    spi_store s;
    int rc = check_ids(ctx, plan_id, scenario);
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    const char *names[] = { plan_id, scenario };
    void *set;
    if ((rc = spi_stored_load(&s, &spi_set_stored, names, version, &set)) == SP_OK)
        *out = set;
    return rc;
}

int sp_target_set_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan_id,
                           const char *scenario, uint32_t *versions, size_t cap, size_t *count)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (count == NULL || scenario == NULL || (versions == NULL && cap > 0))
        return spi_fail(ctx, SP_EINVAL, "target set versions: %s is NULL",
                        count == NULL ? "count" : scenario == NULL ? "scenario" : "versions");
    spi_store s;
    int rc = check_ids(ctx, plan_id, scenario);
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    /* Collected apart first: the caller's array is written only on success. */
    const char *names[] = { plan_id, scenario };
    uint32_t *all = NULL, last;
    size_t n;
    if ((rc = spi_stored_versions(&s, &spi_set_stored, names, cap > 0 ? &all : NULL, &n,
                                  &last)) != SP_OK)
        return rc;
    *count = n;
    if (n > cap)
        rc = spi_fail(ctx, SP_EBUFFER, "target set versions: %zu versions, room for %zu", n, cap);
    else if (n > 0)
        memcpy(versions, all, n * sizeof *versions);
    spi_free(ctx, all);
    return rc;
}

/* ---- name lists ---- */

int sp_target_scenarios(sp_names **out, sp_ctx *ctx, const sp_storage *storage,
                        const char *plan_id)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target scenarios: out is NULL");
    spi_store s;
    int rc = check_ids(ctx, plan_id, NULL);
    if (rc != SP_OK || (rc = spi_store_open(&s, ctx, storage)) != SP_OK)
        return rc;
    const char *names[] = { plan_id };
    return spi_stored_list(out, &s, &spi_set_stored, names, 1);
}

int sp_target_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "target plans: out is NULL");
    spi_store s;
    int rc = spi_store_open(&s, ctx, storage);
    return rc == SP_OK ? spi_stored_list(out, &s, &spi_plan_stored, NULL, 0) : rc;
}
