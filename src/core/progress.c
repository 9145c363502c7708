/* Throttled progress reports and cancellation. */
#include "internal.h"

static const size_t progress_sizes[] = { 0, sizeof(sp_progress) };

/* Reports when the total is unknown. */
#define UNKNOWN_TOTAL_STEP 4096u

SPI_DEFINE_INIT(sp_progress, progress_sizes, SP_PROGRESS_VERSION, SP_PROGRESS_INIT)

int spi_progress_start(spi_progress *pr, sp_ctx *ctx, const sp_progress *cb, const char *what,
                       uint64_t total)
{
    sp_progress none = SP_PROGRESS_INIT;
    pr->ctx = ctx;
    pr->cb = none;
    pr->what = what;
    pr->total = total;
    int rc = spi_struct_read(ctx, "sp_progress", &pr->cb, cb, progress_sizes,
                             SP_PROGRESS_VERSION);
    if (rc != SP_OK)
        return rc;
    pr->step = total > 0 ? (total / 256 > 0 ? total / 256 : 1) : UNKNOWN_TOTAL_STEP;
    /* Without a callback no tick is ever due. */
    pr->next = pr->cb.report != NULL ? 0 : UINT64_MAX;
    return SP_OK;
}

static int report(spi_progress *pr, uint64_t done)
{
    if (pr->cb.report(pr->cb.user, done, pr->total) != 0)
        return spi_fail(pr->ctx, SP_ECANCELED, "%s: canceled by the host at %llu of %llu",
                        pr->what, (unsigned long long)done, (unsigned long long)pr->total);
    return SP_OK;
}

int spi_progress_tick_slow(spi_progress *pr, uint64_t done)
{
    pr->next = done + pr->step;
    return report(pr, done);
}

int spi_progress_finish(spi_progress *pr, uint64_t done)
{
    if (pr->total == 0)
        pr->total = done;
    if (pr->cb.report == NULL)
        return SP_OK;
    return report(pr, done);
}
