/* Core: context lifecycle, allocator hooks, status codes, error messages, versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "support/spt.h"

static void test_ctx_default(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    assert_non_null(ctx);
    assert_int_equal(sp_ctx_errcode(ctx), SP_OK);
    assert_string_equal(sp_ctx_errmsg(ctx), "");
    sp_ctx_free(ctx);
    sp_ctx_free(NULL);
}

static void test_ctx_bad_arguments(void **state)
{
    (void)state;
    assert_int_equal(sp_ctx_new(NULL, NULL), SP_EINVAL);

    sp_ctx *ctx = (sp_ctx *)&ctx; /* a sentinel that must survive failures */
    sp_ctx *const sentinel = ctx;
    sp_ctx_options opts = SP_CTX_OPTIONS_INIT;
    opts.version = 0;
    assert_int_equal(sp_ctx_new(&ctx, &opts), SP_EVERSION);
    opts.version = SP_CTX_OPTIONS_VERSION + 1;
    assert_int_equal(sp_ctx_new(&ctx, &opts), SP_EVERSION);
    assert_ptr_equal(ctx, sentinel);

    /* Hooks come all three or not at all. */
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx_options partial = SP_CTX_OPTIONS_INIT;
    spt_alloc_hooks(&a, &partial);
    partial.realloc_fn = NULL;
    assert_int_equal(sp_ctx_new(&ctx, &partial), SP_EINVAL);
    assert_ptr_equal(ctx, sentinel);
    assert_int_equal(a.calls, 0);
}

static void test_ctx_options_init(void **state)
{
    (void)state;
    sp_ctx_options opts;
    memset(&opts, 0xAB, sizeof opts);
    assert_int_equal(sp_ctx_options_init(&opts, SP_CTX_OPTIONS_VERSION), SP_OK);
    assert_int_equal(opts.version, SP_CTX_OPTIONS_VERSION);
    assert_null(opts.malloc_fn);
    assert_null(opts.realloc_fn);
    assert_null(opts.free_fn);
    assert_null(opts.alloc_user);
    assert_int_equal(sp_ctx_options_init(&opts, 0), SP_EVERSION);
    assert_int_equal(sp_ctx_options_init(&opts, 99), SP_EVERSION);
    assert_int_equal(sp_ctx_options_init(NULL, 1), SP_EINVAL);
}

static void test_ctx_uses_hooks(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    assert_true(a.calls >= 1);
    assert_int_equal(a.live_blocks, 1);
    /* Work inside the context allocates through the hooks and releases everything
     * (a split of more than 64 parts needs heap scratch). */
    int64_t out[100];
    assert_int_equal(sp_allocate(ctx, 1000, NULL, 100, NULL, out), SP_OK);
    assert_true(a.calls >= 2);
    assert_int_equal(a.live_blocks, 1);
    sp_ctx_free(ctx);
    assert_int_equal(a.live_blocks, 0);
    assert_int_equal(a.live_bytes, 0);
}

typedef struct ctx_new_case {
    spt_alloc alloc;
    sp_ctx *made;
} ctx_new_case;

static int run_ctx_new(void *user)
{
    ctx_new_case *c = user;
    sp_ctx_options opts = SP_CTX_OPTIONS_INIT;
    spt_alloc_hooks(&c->alloc, &opts);
    return sp_ctx_new(&c->made, &opts);
}

static void undo_ctx_new(void *user)
{
    ctx_new_case *c = user;
    sp_ctx_free(c->made);
    c->made = NULL;
}

static void check_ctx_new_unchanged(void *user)
{
    ctx_new_case *c = user;
    assert_null(c->made);
}

static size_t live_ctx_new(void *user)
{
    return ((ctx_new_case *)user)->alloc.live_blocks;
}

static void test_ctx_new_fault_loop(void **state)
{
    (void)state;
    ctx_new_case c = { .made = NULL };
    spt_alloc_init(&c.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_ctx_new", run_ctx_new, undo_ctx_new, check_ctx_new_unchanged,
                          live_ctx_new, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&c.alloc);
    assert_int_equal(spt_fault_loop(&fc, &inj), 1); /* exactly one allocation */
    assert_int_equal(c.alloc.live_blocks, 0);
}

static void test_strerror(void **state)
{
    (void)state;
    static const int codes[] = { SP_OK,        SP_EINVAL,   SP_ENOMEM,   SP_EOVERFLOW,
                                 SP_ENOTFOUND, SP_ECONFLICT, SP_ECORRUPT, SP_ESTORAGE,
                                 SP_EUSER,     SP_ECANCELED, SP_EVERSION, SP_EBUFFER,
                                 SP_EINTERNAL };
    /* The enum is frozen: these values are part of the ABI. */
    assert_int_equal(SP_EINVAL, -1);
    assert_int_equal(SP_EUSER, -8);
    assert_int_equal(SP_EINTERNAL, -12);
    const char *unknown = sp_strerror(12345);
    assert_string_equal(unknown, "unknown status code");
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = sp_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(s, sp_strerror(codes[k]));
    }
    assert_string_equal(sp_strerror(SP_ENOMEM), "out of memory");
}

static void test_version(void **state)
{
    (void)state;
    char expect[32];
    uint32_t v = sp_version();
    snprintf(expect, sizeof expect, "%u.%u.%u", (unsigned)(v >> 16), (unsigned)((v >> 8) & 0xFF),
             (unsigned)(v & 0xFF));
    assert_string_equal(sp_version_string(), expect);
    assert_int_equal(v, SP_VERSION_NUMBER);
    assert_string_equal(SP_VERSION_STRING, sp_version_string());
    /* The meson project version, passed in by the build, must match the header. */
    assert_string_equal(SP_PROJECT_VERSION, SP_VERSION_STRING);
}

static void test_errmsg(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    int64_t v = 7;
    assert_int_equal(sp_money_parse(ctx, "12x", 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
    assert_int_equal(v, 7);
    assert_int_equal(sp_ctx_errcode(ctx), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "money: \"12x\": unexpected character at byte 2");

    /* A later success does not clear the message. */
    assert_int_equal(sp_money_parse(ctx, "12", 2, 0, SP_ROUND_HALF_EVEN, &v), SP_OK);
    assert_int_equal(v, 1200);
    assert_int_equal(sp_ctx_errcode(ctx), SP_EINVAL);

    const char *msg = sp_ctx_errmsg(ctx);
    size_t len = strlen(msg);
    char buf[8];
    assert_int_equal(sp_ctx_errmsg_copy(ctx, NULL, 0), len);
    assert_int_equal(sp_ctx_errmsg_copy(ctx, buf, sizeof buf), len);
    assert_string_equal(buf, "money: ");
    memset(buf, 'x', sizeof buf);
    assert_int_equal(sp_ctx_errmsg_copy(ctx, buf, 1), len);
    assert_string_equal(buf, "");
    char big[128];
    assert_int_equal(sp_ctx_errmsg_copy(ctx, big, sizeof big), len);
    assert_string_equal(big, msg);

    assert_int_equal(sp_ctx_user_errcode(ctx), 0);
    assert_string_equal(sp_ctx_user_errmsg(ctx), "");
    sp_ctx_clear_error(ctx);
    assert_int_equal(sp_ctx_errcode(ctx), SP_OK);
    assert_string_equal(sp_ctx_errmsg(ctx), "");
    sp_ctx_free(ctx);

    /* NULL contexts are answered, not dereferenced. */
    assert_int_equal(sp_ctx_errcode(NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(NULL), "no context");
    sp_ctx_clear_error(NULL);
}

static void test_errmsg_long_text_truncated(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    char text[4096];
    memset(text, '7', sizeof text - 2);
    text[sizeof text - 2] = 'x';
    text[sizeof text - 1] = '\0';
    int64_t v;
    assert_int_equal(sp_money_parse(ctx, text, 2, 0, SP_ROUND_HALF_EVEN, &v), SP_EINVAL);
    /* The message quotes a bounded prefix of the text and still names the byte. */
    assert_non_null(strstr(sp_ctx_errmsg(ctx), "at byte 4094"));
    assert_true(strlen(sp_ctx_errmsg(ctx)) < 200);
    sp_ctx_free(ctx);
}

static void test_versioned_struct_errors_name_the_struct(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    sp_alloc_options o = SP_ALLOC_OPTIONS_INIT;
    o.version = 7;
    int64_t out[2] = { 5, 5 };
    assert_int_equal(sp_allocate(ctx, 10, NULL, 2, &o, out), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "sp_alloc_options: version 7 is not supported (this library knows 1 to 1)");
    assert_int_equal(out[0], 5);
    sp_ctx_free(ctx);
}

typedef struct progress_log {
    unsigned calls;
    uint64_t last_done, last_total;
    unsigned cancel_at; /* 0: never */
} progress_log;

static int log_progress(void *user, uint64_t done, uint64_t total)
{
    progress_log *log = user;
    log->calls++;
    assert_true(done >= log->last_done); /* never goes backwards */
    log->last_done = done;
    log->last_total = total;
    return log->cancel_at != 0 && log->calls == log->cancel_at;
}

/* Drive the internal progress helper the way an operation does: tick every unit. The
 * library's modules are built on this helper; it is linked from the objects library. */
#include "../src/core/internal.h"

static int run_units(sp_ctx *ctx, const sp_progress *cb, uint64_t total, uint64_t *reached)
{
    spi_progress pr;
    int rc = spi_progress_start(&pr, ctx, cb, "test operation", total);
    for (uint64_t done = 0; rc == SP_OK && done < total; done++) {
        *reached = done;
        rc = spi_progress_tick(&pr, done);
    }
    return rc == SP_OK ? spi_progress_finish(&pr, total) : rc;
}

static void test_progress(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    uint64_t reached = 0;
    /* Without a callback: nothing reported, nothing canceled. */
    assert_int_equal(run_units(ctx, NULL, 100000, &reached), SP_OK);

    /* 100000 units: a report every 100000 / 256 = 390 units, from unit 0, plus the end:
     * units 0, 390, ..., 99840 are 257 reports, then the final one. */
    progress_log log = { 0, 0, 0, 0 };
    sp_progress cb = SP_PROGRESS_INIT;
    cb.user = &log;
    cb.report = log_progress;
    assert_int_equal(run_units(ctx, &cb, 100000, &reached), SP_OK);
    assert_int_equal(log.calls, 257 + 1);
    assert_int_equal(log.last_done, 100000);
    assert_int_equal(log.last_total, 100000);

    /* Cancel on the third report: the operation stops at unit 780 with SP_ECANCELED. */
    progress_log cancel = { 0, 0, 0, 3 };
    cb.user = &cancel;
    assert_int_equal(run_units(ctx, &cb, 100000, &reached), SP_ECANCELED);
    assert_int_equal(reached, 780);
    assert_string_equal(sp_ctx_errmsg(ctx), "test operation: canceled by the host at 780 of 100000");

    /* Unknown total: every 4096 units. */
    progress_log unknown = { 0, 0, 0, 0 };
    cb.user = &unknown;
    spi_progress pr;
    assert_int_equal(spi_progress_start(&pr, ctx, &cb, "stream", 0), SP_OK);
    for (uint64_t done = 0; done < 10000; done++)
        assert_int_equal(spi_progress_tick(&pr, done), SP_OK);
    assert_int_equal(unknown.calls, 3); /* units 0, 4096, 8192 */
    /* At the end the total is known: the last report says 10000 of 10000. */
    assert_int_equal(spi_progress_finish(&pr, 10000), SP_OK);
    assert_int_equal(unknown.calls, 4);
    assert_int_equal(unknown.last_done, 10000);
    assert_int_equal(unknown.last_total, 10000);

    /* Versioned like every callback table. */
    sp_progress bad = SP_PROGRESS_INIT;
    bad.version = 2;
    assert_int_equal(spi_progress_start(&pr, ctx, &bad, "x", 10), SP_EVERSION);
    sp_progress init;
    assert_int_equal(sp_progress_init(&init, SP_PROGRESS_VERSION), SP_OK);
    assert_null(init.report);
    assert_int_equal(sp_progress_init(&init, 0), SP_EVERSION);
    sp_ctx_free(ctx);
}

static void test_host_status(void **state)
{
    (void)state;
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    assert_int_equal(spi_host_status(ctx, 0, "ignored", "storage: put"), SP_OK);
    assert_int_equal(sp_ctx_errcode(ctx), SP_OK);

    /* A salesplan status passes through, with the host's words appended. */
    assert_int_equal(spi_host_status(ctx, SP_ESTORAGE, "disk full", "storage: commit"),
                     SP_ESTORAGE);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: commit: storage failure: disk full");
    assert_int_equal(sp_ctx_user_errcode(ctx), 0);

    /* Anything else is the host's own code: SP_EUSER, code and message kept. */
    assert_int_equal(spi_host_status(ctx, 19, "constraint failed", "storage: put %s", "plans"),
                     SP_EUSER);
    assert_string_equal(sp_ctx_errmsg(ctx), "storage: put plans: host error 19: constraint failed");
    assert_int_equal(sp_ctx_user_errcode(ctx), 19);
    assert_string_equal(sp_ctx_user_errmsg(ctx), "constraint failed");
    assert_int_equal(spi_host_status(ctx, -1000, NULL, "facts: scan"), SP_EUSER);
    assert_string_equal(sp_ctx_errmsg(ctx), "facts: scan: host error -1000");
    assert_int_equal(sp_ctx_user_errcode(ctx), -1000);
    assert_string_equal(sp_ctx_user_errmsg(ctx), "");
    /* A later library error clears the host part. */
    assert_int_equal(spi_fail(ctx, SP_EINVAL, "x"), SP_EINVAL);
    assert_int_equal(sp_ctx_user_errcode(ctx), 0);
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ctx_default),
        cmocka_unit_test(test_ctx_bad_arguments),
        cmocka_unit_test(test_ctx_options_init),
        cmocka_unit_test(test_ctx_uses_hooks),
        cmocka_unit_test(test_ctx_new_fault_loop),
        cmocka_unit_test(test_strerror),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_errmsg),
        cmocka_unit_test(test_errmsg_long_text_truncated),
        cmocka_unit_test(test_versioned_struct_errors_name_the_struct),
        cmocka_unit_test(test_progress),
        cmocka_unit_test(test_host_status),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
