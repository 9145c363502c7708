#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/calendar.h"
#include "spt.h"

/* Each block carries its size in front, so live bytes can be counted. */
typedef union block_header {
    size_t size;
    max_align_t align;
} block_header;

static bool should_fail(spt_alloc *a)
{
    a->calls++;
    if (a->fail_at != 0 && (a->calls == a->fail_at || (a->persistent && a->calls > a->fail_at))) {
        a->failures++;
        return true;
    }
    return false;
}

static void *hook_malloc(void *user, size_t size)
{
    spt_alloc *a = user;
    if (should_fail(a))
        return NULL;
    block_header *h = malloc(sizeof *h + size);
    if (h == NULL)
        return NULL;
    h->size = size;
    a->live_blocks++;
    a->live_bytes += size;
    return h + 1;
}

static void *hook_realloc(void *user, void *ptr, size_t size)
{
    spt_alloc *a = user;
    if (should_fail(a))
        return NULL;
    block_header *h = (block_header *)ptr - 1;
    size_t old = h->size;
    block_header *n = realloc(h, sizeof *n + size);
    if (n == NULL)
        return NULL;
    n->size = size;
    a->live_bytes = a->live_bytes - old + size;
    return n + 1;
}

static void hook_free(void *user, void *ptr)
{
    spt_alloc *a = user;
    block_header *h = (block_header *)ptr - 1;
    assert_true(a->live_blocks > 0);
    a->live_blocks--;
    a->live_bytes -= h->size;
    free(h);
}

void spt_alloc_init(spt_alloc *a)
{
    memset(a, 0, sizeof *a);
}

void spt_alloc_hooks(spt_alloc *a, sp_ctx_options *opts)
{
    opts->malloc_fn = hook_malloc;
    opts->realloc_fn = hook_realloc;
    opts->free_fn = hook_free;
    opts->alloc_user = a;
}

sp_ctx *spt_new_ctx(void)
{
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    return ctx;
}

int32_t spt_day(int32_t year, int32_t month, int32_t mday)
{
    int32_t day;
    if (sp_calendar_day_from_civil(year, month, mday, &day) != SP_OK)
        fail_msg("%04d-%02d-%02d is not a date", (int)year, (int)month, (int)mday);
    return day;
}

void spt_expect_error(sp_ctx *ctx, int rc, int code, const char *msg)
{
    if (rc != code || strcmp(sp_ctx_errmsg(ctx), msg) != 0)
        fail_msg("status %d, message\n  \"%s\"\nexpected %d, message\n  \"%s\"", rc,
                 sp_ctx_errmsg(ctx), code, msg);
}

void spt_expect_corrupt_at(sp_ctx *ctx, int rc, const char *text, size_t byte,
                           const char *what)
{
    size_t column = 1;
    for (size_t i = 0; i < byte; i++)
        column += text == NULL || ((unsigned char)text[i] & 0xC0u) != 0x80u;
    char msg[1024];
    snprintf(msg, sizeof msg, "%s (line 1, column %zu, byte %zu)", what, column, byte);
    spt_expect_error(ctx, rc, SP_ECORRUPT, msg);
}

void spt_expect_corrupt_marker(sp_ctx *ctx, int rc, const char *text, const char *marker,
                               const char *what)
{
    const char *at = strstr(text, marker);
    if (at == NULL)
        fail_msg("no %s in %s", marker, text);
    spt_expect_corrupt_at(ctx, rc, text, (size_t)(at - text), what);
}

spt_packed spt_pack(const char *const *s, const size_t *lens, size_t n, size_t skip)
{
    size_t total = skip;
    for (size_t i = 0; i < n; i++)
        total += lens != NULL ? lens[i] : s[i] != NULL ? strlen(s[i]) : 0;
    spt_packed p = { malloc(total + 2), total, malloc((n + 1) * sizeof(uint64_t)), n };
    assert_non_null(p.data);
    assert_non_null(p.offsets);
    memset(p.data, '#', total + 2);
    size_t at = skip;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens != NULL ? lens[i] : s[i] != NULL ? strlen(s[i]) : 0;
        p.offsets[i] = at;
        if (len > 0)
            memcpy(p.data + at, s[i], len);
        at += len;
    }
    p.offsets[n] = at;
    return p;
}

void spt_packed_free(spt_packed *p)
{
    free(p->data);
    free(p->offsets);
}

sp_ctx *spt_ctx_with(spt_alloc *a)
{
    sp_ctx_options opts = SP_CTX_OPTIONS_INIT;
    spt_alloc_hooks(a, &opts);
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, &opts), SP_OK);
    return ctx;
}

void spt_alloc_arm(spt_alloc *a, uint64_t n, bool persistent)
{
    a->calls = 0;
    a->failures = 0;
    a->fail_at = n;
    a->persistent = persistent;
}

uint64_t spt_alloc_disarm(spt_alloc *a)
{
    a->fail_at = 0;
    a->persistent = false;
    return a->failures;
}

static void injector_arm(void *self, uint64_t n, bool persistent)
{
    spt_alloc_arm(self, n, persistent);
}

static uint64_t injector_disarm(void *self)
{
    return spt_alloc_disarm(self);
}

spt_injector spt_alloc_injector(spt_alloc *a)
{
    spt_injector inj = { injector_arm, injector_disarm, a };
    return inj;
}

/* Upper bound on failure points, so a run that never completes fails the test. */
#define FAULT_LOOP_LIMIT 1000000u

static bool accepted(const spt_fault_case *c, int rc)
{
    for (size_t k = 0; k < c->nerrors; k++)
        if (c->errors[k] == rc)
            return true;
    return false;
}

uint64_t spt_fault_loop(const spt_fault_case *c, const spt_injector *inj)
{
    uint64_t points = 0;
    for (int mode = 0; mode < 2; mode++) {
        bool persistent = mode == 1;
        for (uint64_t n = 1;; n++) {
            if (n > FAULT_LOOP_LIMIT)
                fail_msg("%s: no success after %u failure points", c->name, FAULT_LOOP_LIMIT);
            size_t live0 = c->live != NULL ? c->live(c->user) : 0;
            inj->arm(inj->self, n, persistent);
            int rc = c->run(c->user);
            uint64_t fired = inj->disarm(inj->self);
            if (rc == 0) {
                if (c->undo != NULL)
                    c->undo(c->user);
                if (fired == 0)
                    break;
                continue; /* the operation absorbed the failure; keep going */
            }
            if (fired == 0)
                fail_msg("%s: failed with %d although no failure was injected (n=%llu)",
                         c->name, rc, (unsigned long long)n);
            if (!accepted(c, rc))
                fail_msg("%s: failure point %llu (%s) returned %d", c->name,
                         (unsigned long long)n, persistent ? "persistent" : "transient", rc);
            if (c->live != NULL && c->live(c->user) != live0)
                fail_msg("%s: failure point %llu (%s) leaked %zd allocations", c->name,
                         (unsigned long long)n, persistent ? "persistent" : "transient",
                         (ptrdiff_t)(c->live(c->user) - live0));
            if (c->check_unchanged != NULL)
                c->check_unchanged(c->user);
            if (!persistent)
                points++;
        }
    }
    return points;
}

void spt_fault_loops(const spt_fault_case *cases, size_t n, const spt_injector *inj)
{
    for (size_t i = 0; i < n; i++)
        if (spt_fault_loop(&cases[i], inj) < 1)
            fail_msg("%s: no failure point", cases[i].name);
}

uint64_t spt_rng_next(spt_rng *r)
{
    uint64_t z = (r->state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

int64_t spt_rng_range(spt_rng *r, int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo + 1u;
    return (int64_t)((uint64_t)lo + spt_rng_next(r) % span);
}

bool spt_rng_chance(spt_rng *r, unsigned percent)
{
    return spt_rng_next(r) % 100u < percent;
}

unsigned spt_iterations(unsigned full)
{
    if (getenv("SPT_QUICK") == NULL)
        return full;
    return full / 10 > 0 ? full / 10 : 1;
}
