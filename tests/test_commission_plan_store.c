/*
 * Commission plans in a store (src/commission/plan_store.c; docs/commission.md, "Saving
 * versions"; docs/record-format.md, "Commission plans"): round trips (the loaded version's
 * canonical bytes are the saved document's), the records byte for byte, revisions,
 * conflicts, overlaps, gaps, declared gaps, replacing and removing versions, one currency,
 * loading by day at the edges of the versions, older revisions, listings, several chunks,
 * corrupt records written by hand, and fault loops (every allocation, every storage call)
 * over every operation proving the store unchanged and nothing leaked.
 *
 * Day numbers, by hand (days since 1970-01-01): 2027-01-01 is 57 years of 365 days plus
 * the 14 leap days of 1972 .. 2024 after it: 20805 + 14 = 20819. Then 2027-07-01 is
 * 20819 + 181 (31 + 28 + 31 + 30 + 31 + 30) = 21000, 2027-08-01 is 21000 + 31 = 21031,
 * 2027-12-31 is 20819 + 364 = 21183, 2028-01-01 21184, 2028-02-01 21184 + 31 = 21215,
 * 2028-12-31 (a leap year) 21184 + 365 = 21549, 2029-01-01 21550.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "commission/plan_store.h"
#include "core/internal.h"
#include "salesplan/salesplan.h"
#include "support/spt.h"
#include "support/spt_storage.h"

static const char *const all_ns[] = { SPI_CPLAN_TYPE, SPI_CPLAN_CHUNK_TYPE };
#define ALL_NS 2

#define D2027_01_01 20819
#define D2027_06_30 20999
#define D2027_07_01 21000
#define D2027_07_31 21030
#define D2027_08_01 21031
#define D2027_12_31 21183
#define D2028_01_01 21184
#define D2028_12_31 21549
#define D2029_01_01 21550
#define OPEN SPI_CPLAN_NO_DAY

#define DOC_CAP 1024

/*
 * A plan document in canonical form (docs/commission.md, "Canonical form"), written by
 * hand: one flat component paying `rate`; to NULL: open-ended. read_version checks that
 * the library writes it back byte for byte, so the template is the canonical form.
 */
static const char *doc(char *buf, const char *plan, const char *from, const char *to,
                       bool gap, const char *cur, const char *rate)
{
    char end[32] = "";
    if (to != NULL)
        snprintf(end, sizeof end, ",\"to\":\"%s\"", to);
    int n = snprintf(buf, DOC_CAP,
                     "{\"plan\":\"%s\",\"effective\":{\"from\":\"%s\"%s,\"gap\":\"%s\"},"
                     "\"currency\":\"%s\",\"calendar\":\"civil\",\"rounding\":{\"mode\":"
                     "\"half_even\",\"policy\":\"per_total\"},\"components\":[{\"id\":\"c\","
                     "\"measure\":{\"kind\":\"amount\",\"basis\":\"booking\"},\"period\":"
                     "\"month\",\"schedule\":{\"kind\":\"flat\",\"on\":\"measure\",\"boundary\":"
                     "\"lower\",\"accumulate\":\"period\",\"tiers\":[{\"rate\":%s}]},"
                     "\"crediting\":{\"splits\":\"none\"}}]}",
                     plan, from, end, gap ? "allowed" : "refused", cur, rate);
    assert_true(n > 0 && n < DOC_CAP);
    return buf;
}

static void read_version(sp_ctx *ctx, const char *json, spi_cplan *v)
{
    int rc = spi_cplan_read(ctx, json, strlen(json), v);
    if (rc != SP_OK)
        fail_msg("%s", sp_ctx_errmsg(ctx));
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(spi_cplan_write(ctx, v, &bytes, &len), SP_OK);
    if (len != strlen(json) || memcmp(bytes, json, len) != 0)
        fail_msg("not canonical:\n  %s\nwritten\n  %.*s", json, (int)len, bytes);
    spi_free(ctx, bytes);
}

/* The versions most tests use, as canonical documents of plan "AE". */
typedef struct docs {
    char a[DOC_CAP];   /* 2027-01-01 .. 2027-12-31 at 4 % */
    char b[DOC_CAP];   /* 2028-01-01 .. (open) at 5 % */
    char b28[DOC_CAP]; /* 2028-01-01 .. 2028-12-31 at 5 % */
    char c[DOC_CAP];   /* 2029-01-01 .. (open) at 6 % */
} docs;

static void docs_make(docs *d)
{
    doc(d->a, "AE", "2027-01-01", "2027-12-31", false, "CNY", "0.04");
    doc(d->b, "AE", "2028-01-01", NULL, false, "CNY", "0.05");
    doc(d->b28, "AE", "2028-01-01", "2028-12-31", false, "CNY", "0.05");
    doc(d->c, "AE", "2029-01-01", NULL, false, "CNY", "0.06");
}

/* A test's context, memory store (spt_env) and the documents. */
typedef struct fixture {
    spt_env *env;
    sp_ctx *ctx;
    sp_storage *st;
    docs d;
} fixture;

static int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    spt_env_setup(state);
    f->env = *state;
    f->ctx = f->env->ctx;
    f->st = f->env->st;
    docs_make(&f->d);
    *state = f;
    return 0;
}

static int fixture_teardown(void **state)
{
    fixture *f = *state;
    *state = f->env;
    spt_env_teardown(state);
    free(f);
    return 0;
}

static int save_ex(sp_ctx *ctx, const sp_storage *st, const char *json, uint32_t expected,
                   uint32_t chunk_rows, uint32_t *revision)
{
    spi_cplan v;
    read_version(ctx, json, &v);
    spi_cplan_edit e = { &v, 0, expected, chunk_rows };
    int rc = spi_cplan_store_edit(ctx, st, v.plan, &e, revision);
    spi_cplan_free(ctx, &v);
    return rc;
}

static int save(sp_ctx *ctx, const sp_storage *st, const char *json, uint32_t expected,
                uint32_t *revision)
{
    spi_cplan v;
    read_version(ctx, json, &v);
    int rc = spi_cplan_store_save(ctx, st, &v, expected, revision);
    spi_cplan_free(ctx, &v);
    return rc;
}

/* Save that must succeed as revision `want`. */
static void save_ok(sp_ctx *ctx, const sp_storage *st, const char *json, uint32_t expected,
                    uint32_t want)
{
    uint32_t rev = 0;
    int rc = save(ctx, st, json, expected, &rev);
    if (rc != SP_OK)
        fail_msg("%d %s", rc, sp_ctx_errmsg(ctx));
    assert_int_equal(rev, want);
}

/* The version of `revision` in effect on `day` is the document `json`, byte for byte,
 * read from revision `want_rev`. */
static void expect_loaded(sp_ctx *ctx, const sp_storage *st, const char *plan,
                          uint32_t revision, int32_t day, const char *json, uint32_t want_rev)
{
    spi_cplan v;
    uint32_t loaded = 0;
    int rc = spi_cplan_store_load(&v, ctx, st, plan, revision, day, &loaded);
    if (rc != SP_OK)
        fail_msg("%d %s", rc, sp_ctx_errmsg(ctx));
    assert_int_equal(loaded, want_rev);
    uint8_t *bytes = NULL;
    size_t len = 0;
    assert_int_equal(spi_cplan_write(ctx, &v, &bytes, &len), SP_OK);
    if (len != strlen(json) || memcmp(bytes, json, len) != 0)
        fail_msg("loaded\n  %.*s\nexpected\n  %s", (int)len, bytes, json);
    spi_free(ctx, bytes);
    spi_cplan_free(ctx, &v);
}

/* The versions of `revision`: n (from, to) pairs, read from revision `want_rev`. */
static void expect_spans(sp_ctx *ctx, const sp_storage *st, const char *plan,
                         uint32_t revision, const int32_t *pairs, size_t n, uint32_t want_rev)
{
    spi_cplan_span *s = NULL;
    size_t count = 0;
    uint32_t loaded = 0;
    int rc = spi_cplan_store_versions(ctx, st, plan, revision, &s, &count, &loaded);
    if (rc != SP_OK)
        fail_msg("%d %s", rc, sp_ctx_errmsg(ctx));
    assert_int_equal(loaded, want_rev);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s[i].from, pairs[2 * i]);
        assert_int_equal(s[i].to, pairs[2 * i + 1]);
    }
    spi_free(ctx, s);
}

static void expect_revisions(sp_ctx *ctx, const sp_storage *st, const char *plan,
                             uint32_t last)
{
    uint32_t *r = NULL;
    size_t n = 99;
    assert_int_equal(spi_cplan_store_revisions(ctx, st, plan, &r, &n), SP_OK);
    assert_int_equal(n, last);
    for (uint32_t i = 0; i < last; i++)
        assert_int_equal(r[i], i + 1);
    if (last == 0)
        assert_null(r);
    spi_free(ctx, r);
}

/* ---- round trips and records ---- */

/* Chunk k of revision `revision` of "AE" is, by the format, the envelope around the
 * documents `docs_json` (a comma-separated list), its first version `first`. */
static void expect_chunk(const sp_storage *st, uint32_t revision, uint32_t k, uint32_t first,
                         const char *docs_json)
{
    char want[4 * DOC_CAP];
    snprintf(want, sizeof want,
             "{\"type\":\"commission.plan.chunk\",\"v\":1,\"plan_id\":\"AE\",\"revision\":%u,"
             "\"chunk\":%u,\"first\":%u,\"documents\":[%s]}",
             (unsigned)revision, (unsigned)k, (unsigned)first, docs_json);
    spt_key key = spt_key_u32(spt_key_u32(spt_key_str(SPT_KEY_EMPTY, "AE"), revision), k);
    char *got = spt_record_get(st, SPI_CPLAN_CHUNK_TYPE, key);
    assert_string_equal(got, want);
    free(got);
}

static void test_round_trip(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a;
    save_ok(ctx, f->st, a, 0, 1);
    expect_loaded(ctx, f->st, "AE", 0, D2027_01_01 + 150, a, 1);
    expect_loaded(ctx, f->st, "AE", 1, D2027_01_01, a, 1);
    const int32_t spans[] = { D2027_01_01, D2027_12_31 };
    expect_spans(ctx, f->st, "AE", 0, spans, 1, 1);
    expect_revisions(ctx, f->st, "AE", 1);

    /* The records, by the format (docs/record-format.md): the head lists the version's
     * days and one chunk of up to 16384 versions (the document's 28 values and about 330
     * bytes are far from half the limits); the chunk embeds the document as it is. */
    spt_key head = spt_key_u32(spt_key_str(SPT_KEY_EMPTY, "AE"), 1);
    char *h = spt_record_get(f->st, SPI_CPLAN_TYPE, head);
    assert_string_equal(h, "{\"type\":\"commission.plan\",\"v\":1,\"id\":\"AE\",\"revision\":1,"
                           "\"currency\":\"CNY\",\"versions\":[{\"from\":20819,\"to\":21183}],"
                           "\"nnodes\":1,\"chunk_nodes\":16384,\"chunks\":1}");
    free(h);
    expect_chunk(f->st, 1, 0, 0, a);
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_TYPE), 1);
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_CHUNK_TYPE), 1);

    /* An open-ended version's "to" is null. */
    save_ok(ctx, f->st, f->d.b, 1, 2);
    h = spt_record_get(f->st, SPI_CPLAN_TYPE, spt_key_u32(spt_key_str(SPT_KEY_EMPTY, "AE"), 2));
    assert_string_equal(h, "{\"type\":\"commission.plan\",\"v\":1,\"id\":\"AE\",\"revision\":2,"
                           "\"currency\":\"CNY\",\"versions\":[{\"from\":20819,\"to\":21183},"
                           "{\"from\":21184,\"to\":null}],\"nnodes\":2,\"chunk_nodes\":16384,"
                           "\"chunks\":1}");
    free(h);
}

/* Each save is the next revision; an older revision still loads as it was. */
static void test_revisions(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a, *b = f->d.b;
    char b2[DOC_CAP];
    doc(b2, "AE", "2028-01-01", NULL, false, "CNY", "0.06");
    save_ok(ctx, f->st, a, 0, 1);
    save_ok(ctx, f->st, b, 1, 2);
    save_ok(ctx, f->st, b2, 2, 3); /* replaces b: same from */
    expect_revisions(ctx, f->st, "AE", 3);
    const int32_t one[] = { D2027_01_01, D2027_12_31 };
    const int32_t two[] = { D2027_01_01, D2027_12_31, D2028_01_01, OPEN };
    expect_spans(ctx, f->st, "AE", 1, one, 1, 1);
    expect_spans(ctx, f->st, "AE", 2, two, 2, 2);
    expect_spans(ctx, f->st, "AE", 0, two, 2, 3);
    expect_loaded(ctx, f->st, "AE", 0, D2028_01_01, b2, 3);
    expect_loaded(ctx, f->st, "AE", 2, D2028_01_01, b, 2);
    expect_loaded(ctx, f->st, "AE", 3, D2027_12_31, a, 3);
    spi_cplan v;
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 1, D2028_01_01 + 120,
                                               NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 1 has no version in effect on "
                     "2028-04-30; its versions: 2027-01-01 .. 2027-12-31");
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 4, D2028_01_01, NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\": revision 4 is not in the store (the latest is 3)");
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "BDR", 0, D2028_01_01, NULL),
                     SP_ENOTFOUND, "commission plan \"BDR\" is not in the store");
    /* The whole revision. */
    spi_cplan_rev *r = NULL;
    assert_int_equal(spi_cplan_store_revision(&r, ctx, f->st, "AE", 2), SP_OK);
    assert_string_equal(r->plan, "AE");
    assert_int_equal(r->revision, 2);
    assert_int_equal(r->n, 2);
    assert_int_equal(spi_cplan_rev_find(r, D2027_12_31), 0);
    assert_int_equal(spi_cplan_rev_find(r, D2028_01_01), 1);
    assert_int_equal(spi_cplan_rev_find(r, D2027_01_01 - 1), SIZE_MAX);
    spi_cplan_rev_free(r);
}

/* A save based on another revision than the stored one writes nothing. */
static void test_conflict(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a, *b = f->d.b;
    uint32_t rev = 77;
    spt_expect_error(ctx, save(ctx, f->st, a, 2, &rev), SP_ECONFLICT,
                     "commission plan \"AE\": no revision is stored, the save was based on "
                     "revision 2");
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_TYPE), 0);
    save_ok(ctx, f->st, a, 0, 1);
    save_ok(ctx, f->st, b, 1, 2);
    spt_snapshot *before = spt_snapshot_take(f->st, all_ns, ALL_NS);
    spt_expect_error(ctx, save(ctx, f->st, b, 1, &rev), SP_ECONFLICT,
                     "commission plan \"AE\": revision 2 is stored, the save was based on "
                     "revision 1");
    spt_expect_error(ctx, save(ctx, f->st, b, 0, &rev), SP_ECONFLICT,
                     "commission plan \"AE\": revision 2 is stored, the save was based on "
                     "revision 0 (a new plan)");
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "AE", D2028_01_01, 3, &rev),
                     SP_ECONFLICT,
                     "commission plan \"AE\": revision 2 is stored, the removal was based on "
                     "revision 3");
    assert_int_equal(rev, 77);
    spt_snapshot_assert_store(before, f->st);
    spt_snapshot_free(before);
}

/* Overlaps, gaps and currencies: the whole set is checked; nothing written. */
static void test_set_checks(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    char x[DOC_CAP];
    save_ok(ctx, f->st, f->d.a, 0, 1);
    spt_snapshot *before = spt_snapshot_take(f->st, all_ns, ALL_NS);
    uint32_t rev = 77;
    static const struct {
        const char *from, *to;
        bool gap;
        const char *cur, *msg;
    } bad[] = {
        /* Starts inside a. */
        { "2027-07-01", NULL, false, "CNY",
          "commission plan \"AE\": version 2027-01-01 .. 2027-12-31 overlaps version "
          "2027-07-01 .. (open)" },
        /* Ends on a's first day: one shared day overlaps. */
        { "2026-01-01", "2027-01-01", false, "CNY",
          "commission plan \"AE\": version 2026-01-01 .. 2027-01-01 overlaps version "
          "2027-01-01 .. 2027-12-31" },
        /* Open-ended before a. */
        { "2026-01-01", NULL, false, "CNY",
          "commission plan \"AE\": version 2026-01-01 .. (open) overlaps version "
          "2027-01-01 .. 2027-12-31" },
        /* A gap of January 2028, undeclared. */
        { "2028-02-01", NULL, false, "CNY",
          "commission plan \"AE\": a gap between version 2027-01-01 .. 2027-12-31 and "
          "version 2028-02-01 .. (open) (2028-01-01 .. 2028-01-31 in neither; the later "
          "version may declare \"gap\": \"allowed\")" },
        /* A gap before a: a is the later version and declares none. */
        { "2026-01-01", "2026-11-30", true, "CNY",
          "commission plan \"AE\": a gap between version 2026-01-01 .. 2026-11-30 and "
          "version 2027-01-01 .. 2027-12-31 (2026-12-01 .. 2026-12-31 in neither; the later "
          "version may declare \"gap\": \"allowed\")" },
        /* Adjacent, in another currency. */
        { "2028-01-01", NULL, false, "EUR",
          "commission plan \"AE\": version 2027-01-01 .. 2027-12-31 is in CNY, version "
          "2028-01-01 .. (open) in EUR (a plan's versions share one currency)" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        doc(x, "AE", bad[i].from, bad[i].to, bad[i].gap, bad[i].cur, "0.05");
        spt_expect_error(ctx, save(ctx, f->st, x, 1, &rev), SP_EINVAL, bad[i].msg);
        assert_int_equal(rev, 77);
        spt_snapshot_assert_store(before, f->st);
    }
    spt_snapshot_free(before);

    /* A declared gap is accepted; adjacent versions need none; replacing a version by one
     * in another currency is fine when it is the only one. */
    doc(x, "AE", "2028-02-01", "2028-12-31", true, "CNY", "0.05");
    save_ok(ctx, f->st, x, 1, 2);
    save_ok(ctx, f->st, f->d.c, 2, 3);
    const int32_t three[] = { D2027_01_01, D2027_12_31, D2028_01_01 + 31, D2028_12_31,
                              D2029_01_01, OPEN };
    expect_spans(ctx, f->st, "AE", 3, three, 3, 3);
    char z[DOC_CAP];
    doc(z, "BDR", "2027-01-01", NULL, false, "CNY", "0.01");
    save_ok(ctx, f->st, z, 0, 1);
    doc(z, "BDR", "2027-01-01", NULL, false, "EUR", "0.01");
    save_ok(ctx, f->st, z, 1, 2);
    expect_loaded(ctx, f->st, "BDR", 0, D2029_01_01, z, 2);

    /* Replacing a version checks the new set too: a longer first version now overlaps. */
    doc(x, "AE", "2027-01-01", "2028-03-01", false, "CNY", "0.04");
    spt_expect_error(ctx, save(ctx, f->st, x, 3, &rev), SP_EINVAL,
                     "commission plan \"AE\": version 2027-01-01 .. 2028-03-01 overlaps version "
                     "2028-02-01 .. 2028-12-31");
}

/* Load by day at a version's edges: from, to, to + 1 (a declared gap), the open end. */
static void test_load_days(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    char a[DOC_CAP], b[DOC_CAP];
    doc(a, "AE", "2027-01-01", "2027-06-30", false, "CNY", "0.04");
    doc(b, "AE", "2027-08-01", NULL, true, "CNY", "0.05");
    save_ok(ctx, f->st, a, 0, 1);
    save_ok(ctx, f->st, b, 1, 2);
    expect_loaded(ctx, f->st, "AE", 0, D2027_01_01, a, 2);
    expect_loaded(ctx, f->st, "AE", 0, D2027_06_30, a, 2);
    expect_loaded(ctx, f->st, "AE", 0, D2027_08_01, b, 2);
    expect_loaded(ctx, f->st, "AE", 0, 2932896, b, 2); /* 9999-12-31: open end */
    spi_cplan v;
    memset(&v, 0xA5, sizeof v);
    spi_cplan untouched = v;
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 0, D2027_01_01 - 1, NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 2 has no version in effect on 2026-12-31; "
                     "its versions: 2027-01-01 .. 2027-06-30, 2027-08-01 .. (open)");
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 0, D2027_07_01, NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 2 has no version in effect on 2027-07-01; "
                     "its versions: 2027-01-01 .. 2027-06-30, 2027-08-01 .. (open)");
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 0, D2027_07_31, NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 2 has no version in effect on 2027-07-31; "
                     "its versions: 2027-01-01 .. 2027-06-30, 2027-08-01 .. (open)");
    assert_memory_equal(&v, &untouched, sizeof v);
    /* Revision 1 ends on 2027-06-30. */
    spt_expect_error(ctx, spi_cplan_store_load(&v, ctx, f->st, "AE", 1, D2027_08_01, NULL),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 1 has no version in effect on 2027-08-01; "
                     "its versions: 2027-01-01 .. 2027-06-30");
}

/* Removing a version is a revision too, checked the same way. */
static void test_remove(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a, *b = f->d.b28, *c = f->d.c;
    uint32_t rev = 77;
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "AE", D2027_01_01, 0, &rev),
                     SP_ENOTFOUND, "commission plan \"AE\" is not in the store");
    save_ok(ctx, f->st, a, 0, 1);
    save_ok(ctx, f->st, b, 1, 2);
    save_ok(ctx, f->st, c, 2, 3);
    spt_snapshot *before = spt_snapshot_take(f->st, all_ns, ALL_NS);
    /* The middle one: 2028 becomes a gap that c does not declare. */
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "AE", D2028_01_01, 3, &rev),
                     SP_EINVAL,
                     "commission plan \"AE\": a gap between version 2027-01-01 .. 2027-12-31 "
                     "and version 2029-01-01 .. (open) (2028-01-01 .. 2028-12-31 in neither; "
                     "the later version may declare \"gap\": \"allowed\")");
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "AE", D2027_07_01, 3, &rev),
                     SP_ENOTFOUND,
                     "commission plan \"AE\" revision 3 has no version from 2027-07-01; its "
                     "versions: 2027-01-01 .. 2027-12-31, 2028-01-01 .. 2028-12-31, "
                     "2029-01-01 .. (open)");
    assert_int_equal(rev, 77);
    spt_snapshot_assert_store(before, f->st);
    spt_snapshot_free(before);
    /* The last, then the first. */
    assert_int_equal(spi_cplan_store_remove(ctx, f->st, "AE", D2029_01_01, 3, &rev), SP_OK);
    assert_int_equal(rev, 4);
    const int32_t ab[] = { D2027_01_01, D2027_12_31, D2028_01_01, D2028_12_31 };
    expect_spans(ctx, f->st, "AE", 4, ab, 2, 4);
    assert_int_equal(spi_cplan_store_remove(ctx, f->st, "AE", D2027_01_01, 4, &rev), SP_OK);
    assert_int_equal(rev, 5);
    const int32_t just_b[] = { D2028_01_01, D2028_12_31 };
    expect_spans(ctx, f->st, "AE", 5, just_b, 1, 5);
    expect_loaded(ctx, f->st, "AE", 5, D2028_12_31, b, 5);
    /* A plan keeps at least one version. */
    before = spt_snapshot_take(f->st, all_ns, ALL_NS);
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "AE", D2028_01_01, 5, &rev),
                     SP_EINVAL,
                     "commission plan \"AE\" revision 5: version 2028-01-01 .. 2028-12-31 is "
                     "its only version (a plan keeps at least one)");
    spt_snapshot_assert_store(before, f->st);
    spt_snapshot_free(before);
    /* Every revision is still there as it was. */
    expect_revisions(ctx, f->st, "AE", 5);
    expect_loaded(ctx, f->st, "AE", 3, D2029_01_01, c, 3);
}

static void test_listing(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    sp_names *n = NULL;
    assert_int_equal(spi_cplan_store_plans(&n, ctx, f->st), SP_OK);
    assert_int_equal(sp_names_count(n), 0);
    sp_names_free(n);
    expect_revisions(ctx, f->st, "AE", 0);
    char d[DOC_CAP];
    const char *const ids[] = { "BDR", "AE", "A", "计划" };
    for (size_t i = 0; i < 4; i++)
        save_ok(ctx, f->st, doc(d, ids[i], "2027-01-01", NULL, false, "CNY", "0.04"), 0, 1);
    save_ok(ctx, f->st, doc(d, "AE", "2027-01-01", NULL, false, "CNY", "0.05"), 1, 2);
    assert_int_equal(spi_cplan_store_plans(&n, ctx, f->st), SP_OK);
    /* Ascending bytewise: "A" < "AE" < "BDR" < the UTF-8 bytes E8 AE A1 E5 88 92. */
    assert_int_equal(sp_names_count(n), 4);
    assert_string_equal(sp_names_at(n, 0), "A");
    assert_string_equal(sp_names_at(n, 1), "AE");
    assert_string_equal(sp_names_at(n, 2), "BDR");
    assert_string_equal(sp_names_at(n, 3), "计划");
    sp_names_free(n);
    expect_revisions(ctx, f->st, "AE", 2);
    expect_revisions(ctx, f->st, "A", 1);
    expect_revisions(ctx, f->st, "AEX", 0);
}

/* Versions cut into chunks: each chunk record holds chunk_rows documents. */
static void test_chunks(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a, *b = f->d.b28, *c = f->d.c;
    uint32_t rev;
    assert_int_equal(save_ex(ctx, f->st, a, 0, 1, &rev), SP_OK);
    assert_int_equal(save_ex(ctx, f->st, b, 1, 1, &rev), SP_OK);
    assert_int_equal(save_ex(ctx, f->st, c, 2, 2, &rev), SP_OK);
    assert_int_equal(rev, 3);
    /* Revisions 1, 2, 3: 1, 2 and 2 chunks (3 versions, 2 a chunk). */
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_CHUNK_TYPE), 5);
    spt_key h3 = spt_key_u32(spt_key_str(SPT_KEY_EMPTY, "AE"), 3);
    char *head = spt_record_get(f->st, SPI_CPLAN_TYPE, h3);
    assert_non_null(strstr(head, "\"nnodes\":3,\"chunk_nodes\":2,\"chunks\":2}"));
    free(head);
    expect_chunk(f->st, 3, 1, 2, c);
    expect_loaded(ctx, f->st, "AE", 3, D2027_01_01, a, 3);
    expect_loaded(ctx, f->st, "AE", 3, D2028_12_31, b, 3);
    expect_loaded(ctx, f->st, "AE", 3, D2029_01_01, c, 3);
    expect_loaded(ctx, f->st, "AE", 2, D2028_01_01, b, 2);
    /* The default: one chunk. */
    assert_int_equal(save(ctx, f->st, c, 3, &rev), SP_OK);
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_CHUNK_TYPE), 6);
}

/* The small document (`doc`) with "filter": {"product": [ids]} after the measure's basis
 * (ids ascending, as the canonical form sorts them): ids "p00", "p01", ... of `width`
 * bytes each (at least 3). Free with free(). */
static char *filtered_doc(const char *from, size_t ids, size_t width)
{
    char small[DOC_CAP];
    doc(small, "AE", from, NULL, false, "CNY", "0.06");
    const char *basis = "\"basis\":\"booking\"";
    const char *cut = strstr(small, basis) + strlen(basis);
    size_t cap = strlen(small) + 32 + ids * (width + 3), o = (size_t)(cut - small);
    char *c = malloc(cap);
    assert_non_null(c);
    memcpy(c, small, o);
    o += (size_t)snprintf(c + o, cap - o, ",\"filter\":{\"product\":[");
    for (size_t i = 0; i < ids; i++) {
        o += (size_t)snprintf(c + o, cap - o, "%s\"p", i > 0 ? "," : "");
        memset(c + o, 'x', width - 3);
        o += width - 3;
        o += (size_t)snprintf(c + o, cap - o, "%02zu\"", i);
    }
    o += (size_t)snprintf(c + o, cap - o, "]}%s", cut);
    assert_true(o < cap);
    return c;
}

/*
 * Chunks sized by the widest document, so that a chunk stays within half the record
 * limits (2^20 values, 32 MiB) whatever its versions hold:
 *  - values: the small open-ended document has 27 (the object, plan, effective and its
 *    from and gap, currency, calendar, rounding and its 2, components, the component, id,
 *    measure and its 2, period, schedule and its 4, tiers, the tier, its rate, crediting
 *    and splits); filtering on 99 products adds the filter object, its array and 99 ids:
 *    128. 16384 versions of 128 values would be 2^21: a chunk holds 2^20 / 128 = 8192.
 *  - bytes: 10 ids of 255 bytes make a document of L bytes (strlen), L + 1 with its
 *    comma; 16384 x (L + 1) is above 32 MiB (L > 2048), so a chunk holds 2^25 / (L + 1).
 */
static void test_chunk_sizing(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    save_ok(ctx, f->st, f->d.a, 0, 1);
    char *wide = filtered_doc("2028-01-01", 99, 3);
    save_ok(ctx, f->st, wide, 1, 2);
    spt_key k = spt_key_str(SPT_KEY_EMPTY, "AE");
    char *head = spt_record_get(f->st, SPI_CPLAN_TYPE, spt_key_u32(k, 2));
    assert_non_null(strstr(head, "\"nnodes\":2,\"chunk_nodes\":8192,\"chunks\":1}"));
    free(head);
    expect_loaded(ctx, f->st, "AE", 0, D2028_01_01, wide, 2);
    free(wide);

    char *longer = filtered_doc("2028-01-01", 10, 255);
    const size_t len = strlen(longer);
    assert_true(len > 2048);
    save_ok(ctx, f->st, longer, 2, 3);
    char want[96];
    snprintf(want, sizeof want, "\"nnodes\":2,\"chunk_nodes\":%zu,\"chunks\":1}",
             ((size_t)32 << 20) / (len + 1));
    head = spt_record_get(f->st, SPI_CPLAN_TYPE, spt_key_u32(k, 3));
    assert_non_null(strstr(head, want));
    free(head);
    expect_loaded(ctx, f->st, "AE", 0, D2028_01_01, longer, 3);
    free(longer);
}

/* Bad arguments: a message naming them, nothing written. */
static void test_arguments(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    spi_cplan v;
    read_version(ctx, f->d.b, &v);
    uint32_t rev = 77;
    assert_int_equal(spi_cplan_store_save(NULL, f->st, &v, 0, &rev), SP_EINVAL);
    spt_expect_error(ctx, spi_cplan_store_save(ctx, f->st, NULL, 0, &rev), SP_EINVAL,
                     "commission plan: version is NULL");
    spt_expect_error(ctx, spi_cplan_store_save(ctx, f->st, &v, 0, NULL), SP_EINVAL,
                     "commission plan: revision is NULL");
    spt_expect_error(ctx, spi_cplan_store_edit(ctx, f->st, "AE", NULL, &rev), SP_EINVAL,
                     "commission plan: edit is NULL");
    spi_cplan_edit ed = { &v, 0, 0, 0 };
    spt_expect_error(ctx, spi_cplan_store_edit(ctx, f->st, "BDR", &ed, &rev), SP_EINVAL,
                     "commission plan \"BDR\": the version is of plan \"AE\"");
    spt_expect_error(ctx, spi_cplan_store_remove(ctx, f->st, "", D2027_01_01, 0, &rev),
                     SP_EINVAL, "commission plan: id is empty");
    char long_id[SPI_CPLAN_ID_MAX + 2];
    memset(long_id, 'p', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    spi_cplan out;
    spt_expect_error(ctx, spi_cplan_store_load(&out, ctx, f->st, long_id, 0, D2027_01_01, NULL),
                     SP_EINVAL,
                     "commission plan: id \"ppppppppppppppppppppppppppppppppppppppppppppppppppp"
                     "ppppppppppppppppppppppppppppp\"... is 256 bytes long (at most 255)");
    spt_expect_error(ctx, spi_cplan_store_load(NULL, ctx, f->st, "AE", 0, D2027_01_01, NULL),
                     SP_EINVAL, "commission plan: out is NULL");
    spt_expect_error(ctx, spi_cplan_store_load(&out, ctx, f->st, NULL, 0, D2027_01_01, NULL),
                     SP_EINVAL, "commission plan: id is NULL");
    spi_cplan_span *s;
    size_t n;
    spt_expect_error(ctx, spi_cplan_store_versions(ctx, f->st, "AE", 0, NULL, &n, NULL),
                     SP_EINVAL, "commission plan versions: spans is NULL");
    spt_expect_error(ctx, spi_cplan_store_versions(ctx, f->st, "AE", 0, &s, NULL, NULL),
                     SP_EINVAL, "commission plan versions: count is NULL");
    spt_expect_error(ctx, spi_cplan_store_plans(NULL, ctx, f->st), SP_EINVAL,
                     "commission plans: out is NULL");
    spt_expect_error(ctx, spi_cplan_store_revisions(ctx, f->st, "AE", NULL, &n), SP_EINVAL,
                     "commission plan revisions: revisions is NULL");
    spi_cplan_rev *r;
    spt_expect_error(ctx, spi_cplan_store_revision(NULL, ctx, f->st, "AE", 0), SP_EINVAL,
                     "commission plan: out is NULL");
    assert_int_equal(spi_cplan_store_revision(&r, NULL, f->st, "AE", 0), SP_EINVAL);
    assert_int_equal(rev, 77);
    assert_int_equal(spt_record_count(f->st, SPI_CPLAN_TYPE), 0);
    spi_cplan_free(ctx, &v);
}

/* ---- corrupt records, written by hand ---- */

static const char head_fmt[] = "{\"type\":\"commission.plan\",\"v\":1,\"id\":\"%s\",\"revision\":"
                               "%u,\"currency\":\"%s\",\"versions\":[%s],\"nnodes\":%u,"
                               "\"chunk_nodes\":16384,\"chunks\":1}";
static const char chunk_fmt[] = "{\"type\":\"commission.plan.chunk\",\"v\":1,\"plan_id\":\"%s\","
                                "\"revision\":%u,\"chunk\":0,\"first\":0,\"documents\":[%s]}";

/* Put head and chunk 0 of (plan, revision) as given. */
static void put_rev(const sp_storage *st, const char *key_plan, uint32_t revision,
                    const char *head, const char *chunk)
{
    spt_key k = spt_key_u32(spt_key_str(SPT_KEY_EMPTY, key_plan), revision);
    spt_record_put(st, SPI_CPLAN_TYPE, k, head);
    if (chunk != NULL)
        spt_record_put(st, SPI_CPLAN_CHUNK_TYPE, spt_key_u32(k, 0), chunk);
}

/* Revision 1 of "AE": a head listing `versions` (two) and one chunk of documents d1, d2. */
static void put_two(const sp_storage *st, const char *versions, const char *d1,
                    const char *d2)
{
    char head[DOC_CAP], pair[2 * DOC_CAP + 1], chunk[3 * DOC_CAP];
    snprintf(head, sizeof head, head_fmt, "AE", 1u, "CNY", versions, 2u);
    snprintf(pair, sizeof pair, "%s,%s", d1, d2);
    snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 1u, pair);
    put_rev(st, "AE", 1, head, chunk);
}

static void expect_corrupt_prefix(sp_ctx *ctx, int rc, const char *prefix)
{
    const char *m = sp_ctx_errmsg(ctx);
    if (rc != SP_ECORRUPT || strncmp(m, prefix, strlen(prefix)) != 0)
        fail_msg("status %d, message\n  %s\nexpected SP_ECORRUPT and a message starting\n  %s",
                 rc, m, prefix);
}

static void test_corrupt(void **state)
{
    fixture *f = *state;
    sp_ctx *ctx = f->ctx;
    const char *a = f->d.a;
    char b[DOC_CAP], pair[2 * DOC_CAP + 1], head[4 * DOC_CAP], chunk[4 * DOC_CAP];
    doc(b, "AE", "2027-07-01", NULL, false, "CNY", "0.05");
    spi_cplan v;
    uint32_t rev = 0;
    spi_cplan_span *s = NULL;
    size_t n;
#define LOAD(plan) spi_cplan_store_load(&v, ctx, f->st, plan, 0, D2027_01_01, NULL)

    /* A well-formed pair first, to show the templates read. */
    snprintf(head, sizeof head, head_fmt, "AE", 1u, "CNY", "{\"from\":20819,\"to\":21183}", 1u);
    snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 1u, a);
    put_rev(f->st, "AE", 1, head, chunk);
    expect_loaded(ctx, f->st, "AE", 0, D2027_01_01, a, 1);
    spt_snapshot *good = spt_snapshot_take(f->st, all_ns, ALL_NS);

    /* Truncated head: cut after "nnodes":1. */
    *strstr(head, ",\"chunk_nodes") = '\0';
    put_rev(f->st, "AE", 1, head, NULL);
    spt_expect_corrupt_at(ctx, LOAD("AE"), head, strlen(head),
                          "record commission.plan: expected ',' or '}' after a field, found the "
                          "end of the input");
    spt_snapshot_restore(good, f->st);

    /* The records of "AE" under the key of "BE": the head names another plan. */
    snprintf(head, sizeof head, head_fmt, "AE", 1u, "CNY", "{\"from\":20819,\"to\":21183}", 1u);
    put_rev(f->st, "BE", 1, head, chunk);
    spt_expect_error(ctx, LOAD("BE"), SP_ECORRUPT,
                     "record commission.plan: commission plan \"AE\" revision 1 is stored "
                     "under the key of commission plan \"BE\" revision 1");
    /* ... or another revision. */
    snprintf(head, sizeof head, head_fmt, "AE", 2u, "CNY", "{\"from\":20819,\"to\":21183}", 1u);
    snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 2u, a);
    put_rev(f->st, "AE", 1, head, chunk);
    spt_expect_error(ctx, LOAD("AE"), SP_ECORRUPT,
                     "record commission.plan: commission plan \"AE\" revision 2 is stored "
                     "under the key of commission plan \"AE\" revision 1");
    spt_snapshot_restore(good, f->st);

    /* A missing chunk. */
    spt_record_remove(f->st, SPI_CPLAN_CHUNK_TYPE,
                      spt_key_u32(spt_key_u32(spt_key_str(SPT_KEY_EMPTY, "AE"), 1), 0));
    spt_expect_error(ctx, LOAD("AE"), SP_ECORRUPT,
                     "record commission.plan: chunk 0 of 1 is missing");
    spt_expect_error(ctx, spi_cplan_store_versions(ctx, f->st, "AE", 0, &s, &n, NULL),
                     SP_ECORRUPT, "record commission.plan: chunk 0 of 1 is missing");
    /* A save over a corrupt latest revision fails and writes nothing. */
    spt_snapshot *broken = spt_snapshot_take(f->st, all_ns, ALL_NS);
    spt_expect_error(ctx, save(ctx, f->st, b, 1, &rev), SP_ECORRUPT,
                     "record commission.plan: chunk 0 of 1 is missing");
    spt_snapshot_assert_store(broken, f->st);
    spt_snapshot_free(broken);
    spt_snapshot_restore(good, f->st);

    /* Overlapping versions, each consistent with the head. */
    put_two(f->st, "{\"from\":20819,\"to\":21183},{\"from\":21000,\"to\":null}", a, b);
    spt_expect_error(ctx, LOAD("AE"), SP_ECORRUPT,
                     "record commission.plan: commission plan \"AE\" revision 1: version "
                     "2027-01-01 .. 2027-12-31 overlaps version 2027-07-01 .. (open)");
    /* Out of order. */
    put_two(f->st, "{\"from\":21000,\"to\":null},{\"from\":20819,\"to\":21183}", b, a);
    spt_expect_error(ctx, LOAD("AE"), SP_ECORRUPT,
                     "record commission.plan: commission plan \"AE\" revision 1: version "
                     "2027-01-01 .. 2027-12-31 comes after version 2027-07-01 .. (open), which "
                     "does not start before it");
    spt_snapshot_restore(good, f->st);

    /* Heads that do not hold together. */
    static const struct {
        const char *cur, *versions;
        unsigned nnodes;
        const char *marker, *msg;
    } heads[] = {
        { "CNY", "{\"from\":20819,\"to\":21183}", 2, "2,\"chunk_nodes",
          "record commission.plan: nnodes: 2 versions where the head lists 1" },
        { "CNY", "{\"from\":20819,\"to\":20818}", 1, "20818",
          "record commission.plan: versions[0].to: expected an integer from 20819 to 2932896, "
          "found 20818" },
        { "CNY", "{\"from\":20819}", 1, "{\"from\":20819}",
          "record commission.plan: versions[0]: missing field 'to'" },
        { "XXX", "{\"from\":20819,\"to\":21183}", 1, "\"XXX\"",
          "record commission.plan: currency: not an ISO 4217 currency code this library knows" },
        { "CNY", "", 0, "0,\"chunk_nodes",
          "record commission.plan: nnodes: expected an integer from 1 to 4294967292, "
          "found 0" },
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        snprintf(head, sizeof head, head_fmt, "AE", 1u, heads[i].cur, heads[i].versions,
                 heads[i].nnodes);
        put_rev(f->st, "AE", 1, head, NULL);
        spt_expect_corrupt_marker(ctx, LOAD("AE"), head, heads[i].marker, heads[i].msg);
        spt_snapshot_restore(good, f->st);
    }

    /* Documents that do not agree with the head, or are not canonical, or do not read. */
    snprintf(head, sizeof head, head_fmt, "AE", 1u, "CNY", "{\"from\":20819,\"to\":21183}", 1u);
    put_rev(f->st, "AE", 1, head, NULL);
    char other[DOC_CAP];
    static const struct {
        const char *plan, *from, *to, *cur, *rate, *msg;
    } docs_bad[] = {
        { "AE", "2027-01-01", "2027-12-30", "CNY", "0.04",
          "record commission.plan.chunk 0: documents[0]: effective 2027-01-01 .. 2027-12-30 "
          "where the head lists 2027-01-01 .. 2027-12-31" },
        { "AE", "2027-01-01", "2027-12-31", "EUR", "0.04",
          "record commission.plan.chunk 0: documents[0]: in EUR where the head's currency is "
          "CNY" },
        { "BE", "2027-01-01", "2027-12-31", "CNY", "0.04",
          "record commission.plan.chunk 0: documents[0]: a version of plan \"BE\" in a "
          "revision of plan \"AE\"" },
        /* "4%" reads as 0.04 but is not how the library writes it. */
        { "AE", "2027-01-01", "2027-12-31", "CNY", "\"4%\"",
          "record commission.plan.chunk 0: documents[0]: the document is not in canonical "
          "form" },
    };
    for (size_t i = 0; i < sizeof docs_bad / sizeof docs_bad[0]; i++) {
        doc(other, docs_bad[i].plan, docs_bad[i].from, docs_bad[i].to, false, docs_bad[i].cur,
            docs_bad[i].rate);
        snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 1u, other);
        put_rev(f->st, "AE", 1, head, chunk);
        spt_expect_corrupt_marker(ctx, LOAD("AE"), chunk, "{\"plan\"", docs_bad[i].msg);
    }
    /* A document that does not read: the plan reader's message, in the record. */
    snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 1u, "{\"plan\":\"AE\"}");
    put_rev(f->st, "AE", 1, head, chunk);
    expect_corrupt_prefix(ctx, LOAD("AE"),
                          "record commission.plan.chunk 0: documents[0]: commission plan: ");
    /* Two documents where the head lists one; a chunk of another plan. */
    snprintf(pair, sizeof pair, "%s,%s", a, a);
    snprintf(chunk, sizeof chunk, chunk_fmt, "AE", 1u, pair);
    put_rev(f->st, "AE", 1, head, chunk);
    spt_expect_corrupt_marker(ctx, LOAD("AE"), chunk, "[{",
                              "record commission.plan.chunk 0: documents: 2 documents where 1 "
                              "are due");
    snprintf(chunk, sizeof chunk, chunk_fmt, "BE", 1u, a);
    put_rev(f->st, "AE", 1, head, chunk);
    spt_expect_corrupt_marker(ctx, LOAD("AE"), chunk, "\"BE\"",
                              "record commission.plan.chunk 0: plan_id: a chunk of plan \"BE\" "
                              "under plan \"AE\"");
    spt_snapshot_restore(good, f->st);
    expect_loaded(ctx, f->st, "AE", 0, D2027_01_01, a, 1);
    spt_snapshot_free(good);
#undef LOAD
}

/* A file store keeps every revision across reopening. */
static void test_file_store(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[] = "/tmp/test_cplan_store_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    o.flags |= SP_FILE_STORE_NO_SYNC;
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_OK);
    docs d;
    docs_make(&d);
    save_ok(ctx, st, d.a, 0, 1);
    save_ok(ctx, st, d.b, 1, 2);
    sp_storage_free(st);
    st = NULL;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_OK);
    expect_loaded(ctx, st, "AE", 1, D2027_12_31, d.a, 1);
    expect_loaded(ctx, st, "AE", 0, D2028_12_31, d.b, 2);
    expect_revisions(ctx, st, "AE", 2);
    sp_storage_free(st);
    unlink(path);
    sp_ctx_free(ctx);
}

/* ---- fault loops ---- */

typedef struct store_case {
    spt_env *env;            /* the store, in a context of its own that never fails */
    spt_alloc alloc;
    sp_ctx *ctx;             /* the operations' context: the failing allocator */
    const sp_storage *table; /* the store, or a failing wrapper of it */
    spt_snapshot *before;
    spi_cplan add;           /* b28: replaces revision 2's second version */
    spi_cplan loaded;
    bool has_loaded;
} store_case;

static int run_save(void *user)
{
    store_case *c = user;
    uint32_t rev = 77;
    spi_cplan_edit e = { &c->add, 0, 2, 1 };
    int rc = spi_cplan_store_edit(c->ctx, c->table, "AE", &e, &rev);
    assert_int_equal(rev, rc == SP_OK ? 3 : 77);
    return rc;
}

static int run_remove(void *user)
{
    store_case *c = user;
    uint32_t rev = 77;
    int rc = spi_cplan_store_remove(c->ctx, c->table, "AE", D2028_01_01, 2, &rev);
    assert_int_equal(rev, rc == SP_OK ? 3 : 77);
    return rc;
}

static void undo_write(void *user)
{
    store_case *c = user;
    spt_snapshot_restore(c->before, c->env->st);
}

static void check_unchanged(void *user)
{
    store_case *c = user;
    spt_snapshot_assert_store(c->before, c->env->st);
    assert_false(c->has_loaded);
}

static int run_load(void *user)
{
    store_case *c = user;
    int rc = spi_cplan_store_load(&c->loaded, c->ctx, c->table, "AE", 0, D2028_01_01, NULL);
    c->has_loaded = rc == SP_OK;
    return rc;
}

static void undo_load(void *user)
{
    store_case *c = user;
    assert_true(c->has_loaded);
    assert_int_equal(c->loaded.from, D2028_01_01);
    spi_cplan_free(c->ctx, &c->loaded);
    c->has_loaded = false;
}

static int run_lists(void *user)
{
    store_case *c = user;
    sp_names *n = NULL;
    spi_cplan_span *s = NULL;
    uint32_t *r = NULL;
    size_t count;
    int rc = spi_cplan_store_plans(&n, c->ctx, c->table);
    sp_names_free(n);
    if (rc == SP_OK && (rc = spi_cplan_store_versions(c->ctx, c->table, "AE", 1, &s, &count,
                                                      NULL)) == SP_OK)
        spi_free(c->ctx, s);
    if (rc == SP_OK &&
        (rc = spi_cplan_store_revisions(c->ctx, c->table, "AE", &r, &count)) == SP_OK)
        spi_free(c->ctx, r);
    return rc;
}

static size_t live_blocks(void *user)
{
    return ((store_case *)user)->alloc.live_blocks;
}

/*
 * "AE": revision 1 [a], revision 2 [a, b] in two chunks; then every case with, in turn,
 * the allocator failing (mode 0), the storage callbacks failing (mode 1), and failing
 * after applying a put or remove (mode 2, which the rollback must undo), at every call.
 */
static void test_faults(void **state)
{
    (void)state;
    for (int mode = 0; mode < 3; mode++) {
        store_case c;
        memset(&c, 0, sizeof c);
        void *env;
        spt_env_setup(&env);
        c.env = env;
        spt_alloc_init(&c.alloc);
        c.ctx = spt_ctx_with(&c.alloc);
        docs d;
        docs_make(&d);
        uint32_t rev;
        assert_int_equal(save_ex(c.ctx, c.env->st, d.a, 0, 1, &rev), SP_OK);
        assert_int_equal(save_ex(c.ctx, c.env->st, d.b, 1, 1, &rev), SP_OK);
        assert_int_equal(spt_record_count(c.env->st, SPI_CPLAN_CHUNK_TYPE), 3);
        read_version(c.ctx, d.b28, &c.add);
        c.before = spt_snapshot_take(c.env->st, all_ns, ALL_NS);

        spt_failing_storage fs;
        spt_failing_storage_init(&fs, c.env->st);
        fs.apply_then_fail = mode == 2;
        c.table = mode == 0 ? c.env->st : &fs.table;
        spt_injector inj = mode == 0 ? spt_alloc_injector(&c.alloc)
                                     : spt_failing_storage_injector(&fs);
        const int errors[] = { mode == 0 ? SP_ENOMEM : SP_ESTORAGE };
        const spt_fault_case cases[] = {
            { "save", run_save, undo_write, check_unchanged, NULL, errors, 1, &c },
            { "remove", run_remove, undo_write, check_unchanged, NULL, errors, 1, &c },
            { "load", run_load, undo_load, check_unchanged, NULL, errors, 1, &c },
            { "lists", run_lists, NULL, check_unchanged, NULL, errors, 1, &c },
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            spt_fault_case fc = cases[i];
            fc.live = mode == 0 ? live_blocks : NULL; /* the store allocates in its own */
            if (spt_fault_loop(&fc, &inj) < 1)
                fail_msg("mode %d, %s: no failure point", mode, fc.name);
        }

        spt_snapshot_free(c.before);
        spi_cplan_free(c.ctx, &c.add);
        spt_env_teardown(&env);
        assert_int_equal(c.alloc.live_blocks, 1); /* the context */
        sp_ctx_free(c.ctx);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_round_trip, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_revisions, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_conflict, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_set_checks, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_load_days, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_remove, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_listing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_chunks, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_chunk_sizing, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_arguments, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_corrupt, fixture_setup, fixture_teardown),
        cmocka_unit_test(test_file_store),
        cmocka_unit_test(test_faults),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
