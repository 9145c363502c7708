/*
 * Commission plans in a store (docs/commission.md, "Saving versions"; the records:
 * docs/record-format.md, "Commission plans"). A plan (the documents' "plan" id) is a
 * sequence of revisions 1, 2, 3 ...; each revision is an immutable stored object holding
 * the plan's complete set of effective-dated versions, each as its canonical document, so
 * that any revision a statement names can be loaded again for audit. Every edit (a
 * version added, replaced or removed) reads the latest revision and writes the next one,
 * in one transaction, after checking the whole set: no overlap, no gap unless the later
 * version declares it, one currency. Internal: the public sp_commission_plan_save, _load,
 * _versions and sp_commission_plans wrap these.
 *
 *   commission.plan        str(plan id) u32(revision)              a versioned stored
 *   commission.plan.chunk  str(plan id) u32(revision) u32(chunk)   object (stored.h)
 *
 * Every function records a message starting "commission plan" in ctx on failure and
 * writes its outputs only on success; ctx NULL is SP_EINVAL with no message.
 */
#ifndef SPI_COMMISSION_PLAN_STORE_H
#define SPI_COMMISSION_PLAN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "plan_doc.h"
#include "salesplan/core.h"
#include "salesplan/storage.h"

#define SPI_CPLAN_TYPE "commission.plan"
#define SPI_CPLAN_CHUNK_TYPE "commission.plan.chunk"

/* A version's effective days, inclusive; to SPI_CPLAN_NO_DAY: open-ended. */
typedef struct spi_cplan_span {
    int32_t from, to;
} spi_cplan_span;

/* One stored revision of a plan: every version, each read from its document. */
typedef struct spi_cplan_rev {
    sp_ctx *ctx;
    char *plan;
    uint32_t revision;
    size_t n;            /* >= 1: a plan keeps at least one version */
    spi_cplan *versions; /* ascending `from`, none overlapping, one currency */
} spi_cplan_rev;

void spi_cplan_rev_free(spi_cplan_rev *rev);
/* The index of the version of `rev` in effect on `day`, or SIZE_MAX when none is. */
size_t spi_cplan_rev_find(const spi_cplan_rev *rev, int32_t day);

/* ---- edits: each writes the next revision, or nothing ---- */

typedef struct spi_cplan_edit {
    /* The version to add, or to put in place of the version with the same `from` day; its
     * "plan" is the plan edited. NULL: remove the version that starts on `remove`. */
    const spi_cplan *add;
    int32_t remove;
    /* The revision the edit was based on (0: a new plan); another stored is SP_ECONFLICT. */
    uint32_t expected;
    /* Versions per chunk record at most; 0: as many as half the record limits hold (the
     * tests lower it to make several chunks of small plans). */
    uint32_t chunk_rows;
} spi_cplan_edit;

/*
 * Apply `e` to plan `plan` (with e->add, e->add->plan must be `plan`) in one write
 * transaction: read the latest revision R (0: none); R != e->expected is SP_ECONFLICT;
 * the new set of versions is checked whole (SP_EINVAL naming the versions); it is written
 * as revision R + 1, which *revision gets. Removing: SP_ENOTFOUND when the plan is not
 * stored or no version starts on that day; SP_EINVAL when it is the plan's only version.
 * A stored revision that does not read back is SP_ECORRUPT; host errors as the storage
 * layer maps them.
 */
int spi_cplan_store_edit(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                         const spi_cplan_edit *e, uint32_t *revision);
/* Add `version` (read and validated by spi_cplan_read), or replace the version with the
 * same `from`: spi_cplan_store_edit with its defaults. */
int spi_cplan_store_save(sp_ctx *ctx, const sp_storage *storage, const spi_cplan *version,
                         uint32_t expected, uint32_t *revision);
/* Remove the version of `plan` that starts on `from`: spi_cplan_store_edit. */
int spi_cplan_store_remove(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                           int32_t from, uint32_t expected, uint32_t *revision);

/* ---- reading ---- */

/* Revision `revision` of `plan` (0: the latest), every version read and checked. */
int spi_cplan_store_revision(spi_cplan_rev **out, sp_ctx *ctx, const sp_storage *storage,
                             const char *plan, uint32_t revision);
/* The version of revision `revision` (0: the latest) in effect on `day`, read afresh from
 * its stored document into *out (free with spi_cplan_free); *loaded (may be NULL) gets the
 * revision read. SP_ENOTFOUND names the plan, the revision, the day and its versions. */
int spi_cplan_store_load(spi_cplan *out, sp_ctx *ctx, const sp_storage *storage,
                         const char *plan, uint32_t revision, int32_t day, uint32_t *loaded);
/* The versions of revision `revision` (0: the latest), ascending: *spans (free with
 * spi_free) and *count; *loaded (may be NULL) gets the revision read. */
int spi_cplan_store_versions(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                             uint32_t revision, spi_cplan_span **spans, size_t *count,
                             uint32_t *loaded);
/* The ids of the stored plans, ascending bytewise. */
int spi_cplan_store_plans(sp_names **out, sp_ctx *ctx, const sp_storage *storage);
/* The stored revisions of `plan`, ascending: *revisions (free with spi_free; NULL when
 * none) and *count (0 for a plan not stored: no error). */
int spi_cplan_store_revisions(sp_ctx *ctx, const sp_storage *storage, const char *plan,
                              uint32_t **revisions, size_t *count);

#endif /* SPI_COMMISSION_PLAN_STORE_H */
