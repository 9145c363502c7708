/*
 * Fuzz target for commission plan documents (src/commission/plan_doc.c). Invariants, any
 * breach of which aborts:
 *  - reading returns SP_OK or SP_EINVAL, with a message naming the document, and leaves
 *    the output untouched on error;
 *  - a plan read writes to canonical bytes that read back to an equal plan, which writes
 *    the same bytes again.
 * Built by -Dfuzzing=true with libFuzzer; tests/fuzz/replay.c replays the corpus
 * (tests/fuzz/corpus/commission_plan: the example plans and broken documents) in
 * `meson test` with any compiler.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "commission/plan_doc.h"
#include "core/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(bool ok)
{
    if (!ok)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sp_ctx *ctx = NULL;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 0;
    spi_cplan p, untouched;
    memset(&p, 0xA5, sizeof p);
    memcpy(&untouched, &p, sizeof p);
    int rc = spi_cplan_read(ctx, (const char *)data, size, &p);
    if (rc != SP_OK) {
        require(rc == SP_EINVAL && strncmp(sp_ctx_errmsg(ctx), "commission plan: ", 17) == 0);
        require(memcmp(&p, &untouched, sizeof p) == 0);
        sp_ctx_free(ctx);
        return 0;
    }
    uint8_t *once = NULL, *twice = NULL;
    size_t n1 = 0, n2 = 0;
    spi_cplan q;
    require(spi_cplan_write(ctx, &p, &once, &n1) == SP_OK);
    require(spi_cplan_read(ctx, (const char *)once, n1, &q) == SP_OK);
    require(spi_cplan_equal(&p, &q));
    require(spi_cplan_write(ctx, &q, &twice, &n2) == SP_OK);
    require(n1 == n2 && memcmp(once, twice, n1) == 0);
    spi_free(ctx, once);
    spi_free(ctx, twice);
    spi_cplan_free(ctx, &p);
    spi_cplan_free(ctx, &q);
    sp_ctx_free(ctx);
    return 0;
}
