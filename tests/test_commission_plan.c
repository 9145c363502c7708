/*
 * Commission plan documents (src/commission/plan_doc.c; docs/commission.md, "Plan
 * documents"): every example plan of docs/commission-examples.md that a document can
 * express (tests/fuzz/corpus/commission_plan/ex-*.json) read and written back
 * canonically; the canonical form of one plan byte for byte; every error with its exact
 * message; a fault loop over the allocations.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commission/convert.h"
#include "commission/plan_doc.h"
#include "commission/schedule.h"
#include "core/internal.h"
#include "support/spt.h"

#define CORPUS SP_SOURCE_ROOT "/tests/fuzz/corpus/commission_plan"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    long n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

/* Read, write, read the canonical form again: the same plan and the same bytes. */
static void round_trip(sp_ctx *ctx, const char *json, size_t len, const char *what)
{
    spi_cplan a, b;
    int rc = spi_cplan_read(ctx, json, len, &a);
    if (rc != SP_OK)
        fail_msg("%s: %s", what, sp_ctx_errmsg(ctx));
    uint8_t *one = NULL, *two = NULL;
    size_t n1 = 0, n2 = 0;
    assert_int_equal(spi_cplan_write(ctx, &a, &one, &n1), SP_OK);
    rc = spi_cplan_read(ctx, (const char *)one, n1, &b);
    if (rc != SP_OK)
        fail_msg("%s (canonical): %s\n%.*s", what, sp_ctx_errmsg(ctx), (int)n1, one);
    assert_true(spi_cplan_equal(&a, &b));
    assert_int_equal(spi_cplan_write(ctx, &b, &two, &n2), SP_OK);
    assert_int_equal(n1, n2);
    assert_memory_equal(one, two, n1);
    spi_free(ctx, one);
    spi_free(ctx, two);
    spi_cplan_free(ctx, &a);
    spi_cplan_free(ctx, &b);
}

static void test_examples(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    DIR *d = opendir(CORPUS);
    assert_non_null(d);
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "ex-", 3) != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", CORPUS, e->d_name);
        size_t len;
        char *json = slurp(path, &len);
        round_trip(ctx, json, len, e->d_name);
        free(json);
        n++;
    }
    closedir(d);
    assert_true(n >= 26);
    sp_ctx_free(ctx);
}

/* The plan shown in docs/commission.md, "Plan documents". */
static void test_doc_example(void **state)
{
    (void)state;
    size_t len;
    char *md = slurp(SP_SOURCE_ROOT "/docs/commission.md", &len);
    const char *sec = strstr(md, "\n## Plan documents");
    assert_non_null(sec);
    const char *start = strstr(sec, "```json\n");
    assert_non_null(start);
    start += 8;
    const char *end = strstr(start, "```");
    assert_non_null(end);
    sp_ctx *ctx = spt_new_ctx();
    round_trip(ctx, start, (size_t)(end - start), "docs/commission.md");
    sp_ctx_free(ctx);
    free(md);
}

static spi_cplan read_file(sp_ctx *ctx, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    size_t len;
    char *json = slurp(path, &len);
    spi_cplan p;
    int rc = spi_cplan_read(ctx, json, len, &p);
    free(json);
    if (rc != SP_OK)
        fail_msg("%s: %s", name, sp_ctx_errmsg(ctx));
    return p;
}

/* The values a document becomes: minor units, sp_dec, days. */
static void test_values(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_cplan p = read_file(ctx, "ex-design.json");
    assert_string_equal(p.plan, "AE");
    assert_string_equal(p.currency, "CNY");
    assert_int_equal(p.exponent, 2);
    assert_int_equal(p.from, spt_day(2027, 1, 1));
    assert_int_equal(p.to, spt_day(2027, 12, 31));
    assert_int_equal(p.calendar.preset, SP_CALENDAR_PRESET_CIVIL);
    assert_int_equal(p.ncomponents, 2);
    const spi_cplan_component *c = &p.components[0];
    assert_int_equal(c->schedule.kind, SPI_CSCHED_MARGINAL);
    assert_int_equal(c->schedule.on, SPI_CON_ATTAINMENT);
    assert_int_equal(c->schedule.ntiers, 3);
    assert_int_equal(c->schedule.tiers[0].value, 40000000);
    assert_int_equal(c->schedule.tiers[1].from, SP_DEC_ONE);
    assert_int_equal(c->schedule.tiers[2].from, 1500000000);
    assert_int_equal(c->gate, 500000000);
    assert_int_equal(c->accels[0].multiplier, 1250000000);
    assert_int_equal(c->cap, 6000000);
    assert_int_equal(c->bonuses[0].amount, 500000);
    assert_int_equal(c->spiffs[0].amount, 20000);
    assert_int_equal(c->spiffs[0].from, spt_day(2027, 3, 1));
    assert_string_equal(c->filter.ids[SPI_CFILTER_PRODUCT][1], "P2");
    assert_int_equal(c->nlevels, 2);
    assert_string_equal(c->levels[0].name, "director"); /* by key bytes */
    assert_int_equal(c->levels[0].threshold, -1);
    assert_int_equal(c->levels[1].threshold, 800000000);
    assert_int_equal(c->window_days, 180);
    const spi_cplan_component *u = &p.components[1];
    assert_int_equal(u->schedule.value, SPI_CVALUE_PER_UNIT);
    assert_int_equal(u->schedule.tiers[1].from, 100);
    assert_int_equal(u->schedule.tiers[0].value, 1250);
    assert_int_equal(p.draw.kind, SPI_CDRAW_RECOVERABLE);
    assert_int_equal(p.draw.amount, 300000);
    spi_cplan_free(ctx, &p);

    p = read_file(ctx, "ex-1.1-marginal.json");
    assert_int_equal(p.components[0].schedule.tiers[3].from, 800000);
    assert_int_equal(p.components[0].schedule.tiers[3].value, 50000000);
    assert_int_equal(p.to, spt_day(2015, 12, 31));
    spi_cplan_free(ctx, &p);

    p = read_file(ctx, "ex-2.2-payout-curve.json");
    assert_int_equal(p.components[0].schedule.value, SPI_CVALUE_AMOUNT);
    assert_int_equal(p.components[0].schedule.tiers[3].value, 2000000);
    assert_true(p.components[0].quota.given);
    spi_cplan_free(ctx, &p);

    p = read_file(ctx, "ex-calendar-options.json");
    assert_int_equal(p.exponent, 0);
    assert_int_equal(p.calendar.preset, 0);
    assert_int_equal(p.calendar.opts.kind, SP_CALENDAR_RETAIL_454);
    assert_int_equal(p.calendar.opts.year_end_weekday, 6);
    assert_int_equal(p.calendar.opts.weekend, SP_SATURDAY | SP_SUNDAY);
    assert_int_equal(p.calendar.opts.nholiday_ranges, 1);
    assert_int_equal(p.calendar.opts.workday_ranges[0], spt_day(2024, 1, 6));
    spi_cplan_free(ctx, &p);
    sp_ctx_free(ctx);
}

/* The canonical form byte for byte: schema order, defaults that are values written,
 * amounts in major units, rates as decimals, id lists sorted. */
static void test_canonical(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const char doc[] =
        "{\"components\": [{\"schedule\": {\"tiers\": [{\"rate\": \"5%\"}, {\"rate\": 0.075, "
        "\"from\": 1000.50}], \"kind\": \"marginal\"}, \"period\": \"month\", \"id\": \"c\", "
        "\"measure\": {\"filter\": {\"product\": [\"b\", \"a\"]}, \"kind\": \"amount\"}}], "
        "\"currency\": \"EUR\", \"effective\": {\"from\": \"2026-01-01\"}, \"plan\": \"P\"}";
    static const char want[] =
        "{\"plan\":\"P\",\"effective\":{\"from\":\"2026-01-01\",\"gap\":\"refused\"},"
        "\"currency\":\"EUR\",\"calendar\":\"civil\",\"rounding\":{\"mode\":\"half_even\","
        "\"policy\":\"per_total\"},\"components\":[{\"id\":\"c\",\"measure\":{\"kind\":"
        "\"amount\",\"basis\":\"booking\",\"filter\":{\"product\":[\"a\",\"b\"]}},\"period\":"
        "\"month\",\"schedule\":{\"kind\":\"marginal\",\"on\":\"measure\",\"boundary\":"
        "\"lower\",\"accumulate\":\"period\",\"tiers\":[{\"rate\":0.05},{\"from\":1000.5,"
        "\"rate\":0.075}]},"
        "\"crediting\":{\"splits\":\"none\"}}]}";
    spi_cplan p;
    assert_int_equal(spi_cplan_read(ctx, doc, strlen(doc), &p), SP_OK);
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(spi_cplan_write(ctx, &p, &bytes, &len), SP_OK);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(bytes, want, len);
    spi_free(ctx, bytes);
    spi_cplan_free(ctx, &p);
    sp_ctx_free(ctx);
}

/* ---- errors ---- */

/* A one-line document around one component: HEAD C TAIL. */
#define HEAD "{\"plan\":\"P\",\"effective\":{\"from\":\"2026-01-01\",\"to\":\"2026-12-31\"}," \
             "\"currency\":\"CNY\",\"components\":["
#define TAIL "]}"
#define FLAT "\"schedule\":{\"kind\":\"flat\",\"tiers\":[{\"rate\":\"5%\"}]}"
#define COMP(rest) "{\"id\":\"c\",\"measure\":{\"kind\":\"amount\"},\"period\":\"month\"," rest "}"

typedef struct error_case {
    const char *json;
    const char *msg;
} error_case;

static const error_case error_cases[] = {
#include "test_commission_plan_errors.h"
};

static void test_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++) {
        spi_cplan p;
        memset(&p, 0x5A, sizeof p);
        int rc = spi_cplan_read(ctx, error_cases[i].json, strlen(error_cases[i].json), &p);
        if (rc != SP_EINVAL || strcmp(sp_ctx_errmsg(ctx), error_cases[i].msg) != 0)
            fail_msg("case %zu: rc %d\n  got:  %s\n  want: %s", i, rc, sp_ctx_errmsg(ctx),
                     error_cases[i].msg);
        for (size_t k = 0; k < sizeof p; k++) /* bad input writes nothing */
            assert_int_equal(((const unsigned char *)&p)[k], 0x5A);
    }
    sp_ctx_free(ctx);
}

/* ---- the documents through the kernel ---- */

/* A component's schedule as the kernel's: the library's conversion (convert.c), thresholds
 * on attainment becoming measures by the quota. */
static spi_schedule to_kernel(sp_ctx *ctx, const spi_cplan_component *c, int64_t quota,
                              spi_csched *k)
{
    if (spi_csched_init(ctx, k, c, "test") != SP_OK ||
        spi_csched_quota(ctx, k, c, quota, "test") != SP_OK)
        fail_msg("%s", sp_ctx_errmsg(ctx));
    return k->s;
}

/* Example 1.1's six transactions (cents) through a document's schedule, half even. */
static int64_t icm_total(const char *file)
{
    static const int64_t lines[6] = { 20000, 30000, 150000, 120000, 200000, 450000 };
    sp_ctx *ctx = spt_new_ctx();
    spi_cplan p = read_file(ctx, file);
    int64_t c = 0, sum = 0;
    spi_csched k;
    spi_schedule s = to_kernel(ctx, &p.components[0], 0, &k);
    for (int i = 0; i < 6; i++) {
        spi_schedule_line_out o;
        assert_int_equal(spi_schedule_line(&s, c, lines[i], SPI_ROUND_PER_TOTAL,
                                           SP_ROUND_HALF_EVEN, &o), SP_OK);
        sum += o.earned;
        c += lines[i];
    }
    spi_csched_free(ctx, &k);
    spi_cplan_free(ctx, &p);
    sp_ctx_free(ctx);
    return sum;
}

static void test_through_kernel(void **state)
{
    (void)state;
    /* 1.1: per transaction 164.00 (published); accumulated over the quarter, marginal
     * 285.00 and retroactive 485.00 (derived). 2.1: per transaction 149.00 (published). */
    assert_int_equal(icm_total("ex-1.1-per-line.json"), 16400);
    assert_int_equal(icm_total("ex-1.1-marginal.json"), 28500);
    assert_int_equal(icm_total("ex-1.1-retroactive.json"), 48500);
    assert_int_equal(icm_total("ex-2.1-interpolated-amounts.json"), 14900);
    /* 2.2: quota 200,000.00, measure 246,913.57: 14,691.357 -> 14,691.36. */
    sp_ctx *ctx = spt_new_ctx();
    spi_cplan p = read_file(ctx, "ex-2.2-payout-curve.json");
    spi_csched k;
    spi_schedule s = to_kernel(ctx, &p.components[0], 20000000, &k);
    assert_int_equal(s.kind, SPI_SCHEDULE_CURVE);
    spi_schedule_line_out o;
    assert_int_equal(spi_schedule_line(&s, 0, 24691357, SPI_ROUND_PER_TOTAL,
                                       SP_ROUND_HALF_EVEN, &o), SP_OK);
    assert_int_equal(o.earned, 1469136);
    spi_csched_free(ctx, &k);
    spi_cplan_free(ctx, &p);
    sp_ctx_free(ctx);
}

/* ---- fault loop ---- */

typedef struct fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    char *json;
    size_t len;
    spi_cplan plan;
    uint8_t *bytes;
    size_t nbytes;
    bool have;
} fault;

static int run_fault(void *user)
{
    fault *f = user;
    int rc = spi_cplan_read(f->ctx, f->json, f->len, &f->plan);
    if (rc != SP_OK)
        return rc;
    if ((rc = spi_cplan_write(f->ctx, &f->plan, &f->bytes, &f->nbytes)) != SP_OK) {
        spi_cplan_free(f->ctx, &f->plan);
        return rc;
    }
    f->have = true;
    return SP_OK;
}

static void undo_fault(void *user)
{
    fault *f = user;
    assert_true(f->have);
    spi_free(f->ctx, f->bytes);
    spi_cplan_free(f->ctx, &f->plan);
    f->bytes = NULL;
    f->have = false;
}

static void check_fault(void *user)
{
    fault *f = user;
    assert_false(f->have);
    assert_null(f->bytes);
}

static size_t live_fault(void *user)
{
    return ((fault *)user)->alloc.live_blocks;
}

static void fault_loop(const char *name)
{
    fault f;
    memset(&f, 0, sizeof f);
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CORPUS, name);
    f.json = slurp(path, &f.len);
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { name, run_fault, undo_fault, check_fault, live_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 10);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
    free(f.json);
}

static void test_fault_loop(void **state)
{
    (void)state;
    fault_loop("ex-design.json");
    fault_loop("ex-calendar-options.json");
    fault_loop("ex-2.3-table.json");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_examples),   cmocka_unit_test(test_doc_example),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_canonical),  cmocka_unit_test(test_errors),
        cmocka_unit_test(test_through_kernel),
        cmocka_unit_test(test_fault_loop),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
