/*
 * The record format (src/record): canonical writer, envelope, strict reader, typed access,
 * error messages with path and position, limits, fault injection and property tests.
 * Expected bytes and messages are written by hand from docs/record-format.md; positions
 * are counted by hand in the comments. The property test compares the writer with a second,
 * simple serializer in this file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/internal.h"
#include "record/record.h"
#include "support/spt.h"

/* ---- helpers ---- */

/* Finish `w` and compare its bytes with `expect` (a C string), then free them. */
static void expect_bytes(spi_writer *w, const char *expect)
{
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = spi_writer_finish(w, &out, &len);
    if (rc != SP_OK)
        fail_msg("writer failed %d: %s", rc, sp_ctx_errmsg(w->ctx));
    if (len != strlen(expect) || memcmp(out, expect, len) != 0)
        fail_msg("got      %.*s\nexpected %s", (int)len, (const char *)out, expect);
    spi_free(w->ctx, out);
}

/* The writer must fail with `code` and `msg`, leaving the outputs alone. */
static void expect_writer_error(spi_writer *w, int code, const char *msg)
{
    uint8_t *out = (uint8_t *)&out;
    uint8_t *const sentinel = out;
    size_t len = 77;
    assert_int_equal(spi_writer_finish(w, &out, &len), code);
    assert_ptr_equal(out, sentinel);
    assert_int_equal(len, 77);
    if (msg != NULL)
        assert_string_equal(sp_ctx_errmsg(w->ctx), msg);
}

static spi_rdoc *parse_n(sp_ctx *ctx, const char *text, size_t len, uint32_t flags)
{
    spi_rdoc *doc = NULL;
    int rc = spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)text, len, flags, NULL);
    if (rc != SP_OK)
        fail_msg("parse failed %d: %s", rc, sp_ctx_errmsg(ctx));
    return doc;
}

static spi_rdoc *parse(sp_ctx *ctx, const char *text)
{
    return parse_n(ctx, text, strlen(text), SPI_RDOC_STORED);
}

/* Parsing must fail with `code` and exactly `msg`; *out untouched. */
static void expect_parse_error_n(const char *text, size_t len, uint32_t flags,
                                 const spi_rec_limits *lim, int code, const char *msg)
{
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = (spi_rdoc *)&doc;
    spi_rdoc *const sentinel = doc;
    int rc = spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)text, len, flags, lim);
    if (rc != code || strcmp(sp_ctx_errmsg(ctx), msg) != 0)
        fail_msg("input %.*s\ngot      %d %s\nexpected %d %s", (int)len, text, rc,
                 sp_ctx_errmsg(ctx), code, msg);
    assert_ptr_equal(doc, sentinel);
    sp_ctx_free(ctx);
}

static void expect_parse_error(const char *text, const char *msg)
{
    expect_parse_error_n(text, strlen(text), SPI_RDOC_STORED, NULL, SP_ECORRUPT, msg);
}

/* Canonical bytes of a parsed document (spi_writer_copy). */
static void expect_copy(sp_ctx *ctx, const char *text, const char *expect)
{
    spi_rdoc *doc = parse(ctx, text);
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_writer_copy(&w, doc, spi_rdoc_root(doc));
    expect_bytes(&w, expect);
    spi_rdoc_free(doc);
}

/* ======================================================================================
 * Writer
 * ====================================================================================== */

/* The example record of docs/record-format.md, written member by member. */
static void write_example(spi_writer *w)
{
    spi_record_begin(w, "example.note", 1);
    spi_writer_member_int(w, "id", 42);
    spi_writer_member_string(w, "title", "Q1 \xe7\x9b\xae\xe6\xa0\x87", 9); /* Q1 目标 */
    spi_writer_member_dec(w, "rate", 35000000);                          /* 0.035 */
    spi_writer_key(w, "amounts");
    spi_writer_begin_array(w);
    spi_writer_int(w, 12000000);
    spi_writer_int(w, -5);
    spi_writer_int(w, 0);
    spi_writer_end_array(w);
    spi_writer_key(w, "tags");
    spi_writer_begin_array(w);
    spi_writer_cstr(w, "a\"b");
    spi_writer_cstr(w, "line\nbreak");
    spi_writer_end_array(w);
    spi_writer_member_bool(w, "active", true);
    spi_writer_key(w, "parent");
    spi_writer_null(w);
    spi_writer_key(w, "extra");
    spi_writer_begin_object(w);
    spi_writer_key(w, "empty");
    spi_writer_begin_object(w);
    spi_writer_end_object(w);
    spi_writer_key(w, "none");
    spi_writer_begin_array(w);
    spi_writer_end_array(w);
    spi_writer_end_object(w);
    spi_record_end(w);
}

#define EXAMPLE_BYTES                                                                        \
    "{\"type\":\"example.note\",\"v\":1,\"id\":42,\"title\":\"Q1 \xe7\x9b\xae\xe6\xa0\x87\"," \
    "\"rate\":0.035,\"amounts\":[12000000,-5,0],\"tags\":[\"a\\\"b\",\"line\\nbreak\"],"     \
    "\"active\":true,\"parent\":null,\"extra\":{\"empty\":{},\"none\":[]}}"

static void test_writer_canonical(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_writer w;
    spi_writer_init(&w, ctx);
    write_example(&w);
    expect_bytes(&w, EXAMPLE_BYTES);
    /* The writer is empty again after finish and can write the next record. */
    write_example(&w);
    expect_bytes(&w, EXAMPLE_BYTES);

    /* Scalars alone are documents too. */
    spi_writer_int(&w, 5);
    expect_bytes(&w, "5");
    spi_writer_cstr(&w, "");
    expect_bytes(&w, "\"\"");
    spi_writer_begin_array(&w);
    spi_writer_begin_array(&w);
    spi_writer_end_array(&w);
    spi_writer_null(&w);
    spi_writer_bool(&w, false);
    spi_writer_end_array(&w);
    expect_bytes(&w, "[[],null,false]");
    sp_ctx_free(ctx);
}

static void test_writer_escapes(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char s[64];
    size_t n = 0;
    for (int c = 0; c < 0x20; c++)
        s[n++] = (char)c;
    memcpy(s + n, "\"\\/\x7f\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 x", 15);
    n += 15;
    spi_writer w;
    spi_writer_init(&w, ctx);
    spi_writer_string(&w, s, n);
    /* Short forms for \b \t \n \f \r, \u00xx (lower case) for the other controls; '/',
     * DEL and non-ASCII (é 中 😀) as they are. */
    expect_bytes(&w, "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                     "\\u000b\\f\\r\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015"
                     "\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"
                     "\\\"\\\\/\x7f\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80 x\"");
    /* Keys are strings too. */
    spi_writer_begin_object(&w);
    spi_writer_key_n(&w, "a\"\n\0b", 5);
    spi_writer_int(&w, 1);
    spi_writer_end_object(&w);
    expect_bytes(&w, "{\"a\\\"\\n\\u0000b\":1}");
    sp_ctx_free(ctx);
}

static void test_writer_numbers(void **state)
{
    (void)state;
    static const struct {
        int64_t v;
        const char *as_int, *as_dec;
    } cases[] = {
        { 0, "0", "0" },
        { 1, "1", "0.000000001" },
        { -1, "-1", "-0.000000001" },
        { 7, "7", "0.000000007" },
        { 35000000, "35000000", "0.035" },
        { 1500000000, "1500000000", "1.5" },
        { -2500000000, "-2500000000", "-2.5" },
        { 12000000000, "12000000000", "12" },
        { 100000000000, "100000000000", "100" },
        { 1234567890, "1234567890", "1.23456789" },
        { INT64_MAX, "9223372036854775807", "9223372036.854775807" },
        { -INT64_MAX, "-9223372036854775807", "-9223372036.854775807" },
    };
    sp_ctx *ctx = spt_new_ctx();
    spi_writer w;
    spi_writer_init(&w, ctx);
    for (size_t i = 0; i < SPI_ARRAY_LEN(cases); i++) {
        spi_writer_int(&w, cases[i].v);
        expect_bytes(&w, cases[i].as_int);
        spi_writer_dec(&w, cases[i].v);
        expect_bytes(&w, cases[i].as_dec);
    }
    /* INT64_MIN has no negation: outside the format's symmetric integers. */
    spi_writer_begin_array(&w);
    spi_writer_int(&w, INT64_MIN);
    spi_writer_end_array(&w);
    expect_writer_error(&w, SP_EINVAL,
                        "record writer: -9223372036854775808 is outside the range of the format "
                        "(INT64_MIN has no negation)");
    spi_record_begin(&w, "t.x", 1);
    spi_writer_member_dec(&w, "rate", INT64_MIN);
    spi_record_end(&w);
    expect_writer_error(&w, SP_EINVAL,
                        "record t.x: field 'rate': -9223372036.854775808 is outside the range of "
                        "the format (INT64_MIN has no negation)");
    sp_ctx_free(ctx);
}

static void test_writer_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_writer w;
    spi_writer_init(&w, ctx);

    /* Invalid UTF-8 in a value names the record type, the field and the byte. */
    spi_record_begin(&w, "example.note", 1);
    spi_writer_member_string(&w, "title", "ab\xc0\x80", 4);
    spi_writer_member_int(&w, "later", 1); /* ignored: the first error sticks */
    spi_record_end(&w);
    assert_int_equal(spi_writer_status(&w), SP_EINVAL);
    expect_writer_error(&w, SP_EINVAL,
                        "record example.note: field 'title': invalid UTF-8 (overlong encoding at "
                        "byte 2)");
    /* In a key; and without a record type. */
    spi_writer_begin_object(&w);
    spi_writer_key_n(&w, "k\xed\xa0\x80", 4);
    expect_writer_error(&w, SP_EINVAL,
                        "record writer: field 'k\\xed\\xa0\\x80': invalid UTF-8 (encoded "
                        "surrogate (U+D800..U+DFFF) at byte 1)");
    /* Keys longer than 40 bytes are cut in messages, on a character boundary. */
    char key[64];
    memset(key, 'k', 39);
    memcpy(key + 39, "\xe4\xb8\xad\xff", 4); /* 中 straddles byte 40 */
    spi_writer_begin_object(&w);
    spi_writer_key_n(&w, key, 43);
    char msg[160];
    snprintf(msg, sizeof msg, "record writer: field '%.39s...': invalid UTF-8 (byte never used in "
             "UTF-8 at byte 42)", key);
    expect_writer_error(&w, SP_EINVAL, msg);

    /* Calls that do not nest are bugs of the encoder: SP_EINTERNAL. */
    spi_writer_begin_object(&w);
    spi_writer_int(&w, 1);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: a value inside an object without a key");
    spi_writer_begin_array(&w);
    spi_writer_key(&w, "a");
    expect_writer_error(&w, SP_EINTERNAL, "record writer: a key outside an object");
    spi_writer_begin_object(&w);
    spi_writer_key(&w, "a");
    spi_writer_key(&w, "b");
    expect_writer_error(&w, SP_EINTERNAL, "record writer: field 'a': a key where a value is due");
    spi_writer_begin_object(&w);
    spi_writer_key(&w, "a");
    spi_writer_end_object(&w);
    expect_writer_error(&w, SP_EINTERNAL,
                        "record writer: field 'a': '}' does not close the open field (its value "
                        "is missing)");
    spi_writer_begin_array(&w);
    spi_writer_end_object(&w);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: '}' does not close the open array");
    spi_writer_end_array(&w);
    expect_writer_error(&w, SP_EINTERNAL,
                        "record writer: ']' does not close the open document (nothing is open)");
    spi_writer_int(&w, 1);
    spi_writer_int(&w, 2);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: a second value after the complete document");
    spi_writer_begin_array(&w);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: the document is incomplete");
    expect_writer_error(&w, SP_EINTERNAL, "record writer: the document is incomplete");
    spi_record_begin(&w, "x", 0);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: a record needs a type and a version >= 1");
    spi_writer_cstr(&w, NULL);
    expect_writer_error(&w, SP_EINTERNAL, "record writer: a string is NULL");

    /* Depth: 64 levels are fine, the 65th is refused, as the default reader would. */
    for (int i = 0; i < 64; i++)
        spi_writer_begin_array(&w);
    for (int i = 0; i < 64; i++)
        spi_writer_end_array(&w);
    uint8_t *out;
    size_t len;
    assert_int_equal(spi_writer_finish(&w, &out, &len), SP_OK);
    assert_int_equal(len, 128);
    spi_free(ctx, out);
    for (int i = 0; i < 65; i++)
        spi_writer_begin_array(&w);
    expect_writer_error(&w, SP_EINVAL, "record writer: nesting deeper than 64 levels (the limit)");

    /* Discard drops a half-written record. */
    spi_record_begin(&w, "example.note", 1);
    spi_writer_discard(&w);
    assert_int_equal(spi_writer_status(&w), SP_OK);
    spi_writer_null(&w);
    expect_bytes(&w, "null");
    sp_ctx_free(ctx);
}

static void test_writer_limits(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_writer w;
    spi_writer_init(&w, ctx);
    /* A string of exactly the limit is written; one byte more is refused. */
    char *big = malloc(SPI_REC_MAX_STRING + 1);
    assert_non_null(big);
    memset(big, 'x', SPI_REC_MAX_STRING + 1);
    spi_writer_string(&w, big, SPI_REC_MAX_STRING);
    uint8_t *out;
    size_t len;
    assert_int_equal(spi_writer_finish(&w, &out, &len), SP_OK);
    assert_int_equal(len, SPI_REC_MAX_STRING + 2);
    spi_free(ctx, out);
    spi_writer_string(&w, big, SPI_REC_MAX_STRING + 1);
    expect_writer_error(&w, SP_EINVAL,
                        "record writer: a string of 1048577 bytes is longer than the limit of "
                        "1048576");
    free(big);

    /* Values: the root array and SPI_REC_MAX_NODES - 1 elements, then one too many. */
    spi_writer_begin_array(&w);
    for (uint32_t i = 1; i < SPI_REC_MAX_NODES; i++)
        spi_writer_int(&w, 0);
    assert_int_equal(spi_writer_status(&w), SP_OK);
    spi_writer_int(&w, 0);
    expect_writer_error(&w, SP_EINVAL, "record writer: more than 2097152 values (the limit)");
    sp_ctx_free(ctx);
}

typedef struct writer_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    uint8_t *out;
    size_t len;
} writer_fault;

static int run_writer_fault(void *user)
{
    writer_fault *f = user;
    /* A larger document first, so that the buffer grows a few times. */
    spi_writer w;
    spi_writer_init(&w, f->ctx);
    spi_writer_begin_array(&w);
    for (int i = 0; i < 200; i++)
        spi_writer_cstr(&w, "0123456789");
    spi_writer_end_array(&w);
    uint8_t *bytes = NULL;
    size_t len = 0;
    int rc = spi_writer_finish(&w, &bytes, &len);
    if (rc != SP_OK)
        return rc;
    assert_int_equal(len, 2 + 200 * 12 + 199);
    spi_free(f->ctx, bytes);
    write_example(&w);
    return spi_writer_finish(&w, &f->out, &f->len);
}

static void undo_writer_fault(void *user)
{
    writer_fault *f = user;
    assert_int_equal(f->len, strlen(EXAMPLE_BYTES));
    assert_memory_equal(f->out, EXAMPLE_BYTES, f->len);
    spi_free(f->ctx, f->out);
    f->out = NULL;
}

static void check_writer_unchanged(void *user)
{
    writer_fault *f = user;
    assert_null(f->out);
    assert_int_equal(sp_ctx_errcode(f->ctx), SP_ENOMEM);
}

static size_t live_writer_fault(void *user)
{
    return ((writer_fault *)user)->alloc.live_blocks;
}

static void test_writer_fault_loop(void **state)
{
    (void)state;
    writer_fault f = { .out = NULL };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "spi_writer", run_writer_fault, undo_writer_fault,
                          check_writer_unchanged, live_writer_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 4);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

/* ======================================================================================
 * Envelope
 * ====================================================================================== */

static void expect_open(const char *text, uint32_t known, int code, const char *msg)
{
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = NULL;
    assert_int_equal(spi_rdoc_parse(&doc, ctx, "record example.note", (const uint8_t *)text,
                                    strlen(text), SPI_RDOC_STORED, NULL),
                     SP_OK);
    uint32_t v = 99;
    spt_expect_error(ctx, spi_record_open(doc, "example.note", known, &v), code, msg);
    assert_int_equal(v, 99);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

static void test_envelope(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = parse(ctx, EXAMPLE_BYTES);
    uint32_t v = 0;
    assert_int_equal(spi_record_open(doc, "example.note", 1, &v), SP_OK);
    assert_int_equal(v, 1);
    assert_int_equal(spi_record_open(doc, "example.note", 7, &v), SP_OK);
    assert_int_equal(v, 1);
    spi_rdoc_free(doc);
    /* The reader finds the envelope anywhere; only the writer puts it first. */
    doc = parse(ctx, "{\"x\":1,\"v\":3,\"type\":\"example.note\"}");
    assert_int_equal(spi_record_open(doc, "example.note", 3, &v), SP_OK);
    assert_int_equal(v, 3);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);

    /* {"type":"example.note","v":2}: the 2 is byte 27. */
    expect_open("{\"type\":\"example.note\",\"v\":2}", 1, SP_EVERSION,
                "record example.note: v: 'example.note' version 2 is newer than version 1, the "
                "newest this library reads (line 1, column 28, byte 27)");
    /* As in docs/record-format.md. */
    sp_ctx *c2 = spt_new_ctx();
    const char *newer = "{\"type\":\"target.plan\",\"v\":3}";
    doc = NULL;
    assert_int_equal(spi_rdoc_parse(&doc, c2, "record target.plan", (const uint8_t *)newer,
                                    strlen(newer), SPI_RDOC_STORED, NULL),
                     SP_OK);
    spt_expect_error(c2, spi_record_open(doc, "target.plan", 2, &v), SP_EVERSION,
                     "record target.plan: v: 'target.plan' version 3 is newer than version 2, the "
                     "newest this library reads (line 1, column 27, byte 26)");
    spi_rdoc_free(doc);
    sp_ctx_free(c2);
    expect_open("{\"type\":\"example.note\",\"v\":99999999999999999999}", 1, SP_EVERSION,
                "record example.note: v: 'example.note' version 99999999999999999999 is newer "
                "than version 1, the newest this library reads (line 1, column 28, byte 27)");
    expect_open("{\"type\":\"example.note\",\"v\":0}", 1, SP_ECORRUPT,
                "record example.note: v: expected a format version (an integer from 1), found 0 "
                "(line 1, column 28, byte 27)");
    expect_open("{\"type\":\"example.note\",\"v\":-99999999999999999999}", 1, SP_ECORRUPT,
                "record example.note: v: expected a format version (an integer from 1), found "
                "-99999999999999999999 (line 1, column 28, byte 27)");
    expect_open("{\"type\":\"example.note\",\"v\":1.5}", 1, SP_ECORRUPT,
                "record example.note: v: expected a format version (an integer from 1), found 1.5 "
                "(line 1, column 28, byte 27)");
    expect_open("{\"type\":\"example.note\",\"v\":\"1\"}", 1, SP_ECORRUPT,
                "record example.note: v: expected a format version (an integer from 1), found a "
                "string (line 1, column 28, byte 27)");
    expect_open("{\"type\":\"example.note\"}", 1, SP_ECORRUPT,
                "record example.note: missing field 'v' (line 1, column 1, byte 0)");
    expect_open("{\"v\":1}", 1, SP_ECORRUPT,
                "record example.note: missing field 'type' (line 1, column 1, byte 0)");
    expect_open("{\"type\":\"target.plan\",\"v\":1}", 1, SP_ECORRUPT,
                "record example.note: type: expected record type 'example.note', found "
                "'target.plan' (line 1, column 9, byte 8)");
    expect_open("{\"type\":7,\"v\":1}", 1, SP_ECORRUPT,
                "record example.note: type: expected a string, found 7 (line 1, column 9, byte 8)");
    expect_open(" [1]", 1, SP_ECORRUPT,
                "record example.note: expected a record (an object), found an array (line 1, "
                "column 2, byte 1)");
}

/* ======================================================================================
 * Reader: values and navigation
 * ====================================================================================== */

static void test_reader_values(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = parse(ctx, EXAMPLE_BYTES);
    const spi_rnode *root = spi_rdoc_root(doc);
    assert_int_equal(spi_rnode_type(root), SPI_ROBJECT);
    assert_int_equal(spi_rnode_count(root), 10);
    /* 1 root + 10 members + 3 amounts + 2 tags + 2 in extra = 18 values. */
    assert_int_equal(spi_rdoc_nodes(doc), 18);
    assert_int_equal(spi_rdoc_code(doc), SP_ECORRUPT);

    int64_t id = 0;
    assert_int_equal(spi_rec_int(doc, root, "id", 0, 1, 100, &id), SP_OK);
    assert_int_equal(id, 42);
    const char *s;
    size_t len;
    assert_int_equal(spi_rec_string(doc, root, "title", SPI_REC_NO_NUL, &s, &len), SP_OK);
    assert_int_equal(len, 9);
    assert_memory_equal(s, "Q1 \xe7\x9b\xae\xe6\xa0\x87", 9);
    sp_dec rate = 0;
    assert_int_equal(spi_rec_dec(doc, root, "rate", 0, 0, SP_DEC_ONE, &rate), SP_OK);
    assert_int_equal(rate, 35000000);
    const spi_rnode *amounts = NULL;
    size_t n = 0;
    assert_int_equal(spi_rec_array(doc, root, "amounts", 0, &amounts, &n), SP_OK);
    assert_int_equal(n, 3);
    static const int64_t expect_amounts[] = { 12000000, -5, 0 };
    for (size_t i = 0; i < n; i++) {
        int64_t a = 1;
        assert_int_equal(spi_rec_money(doc, spi_rnode_at(doc, amounts, i), NULL, 0, &a), SP_OK);
        assert_int_equal(a, expect_amounts[i]);
    }
    assert_null(spi_rnode_at(doc, amounts, 3));
    const spi_rnode *tags;
    assert_int_equal(spi_rec_array(doc, root, "tags", 0, &tags, &n), SP_OK);
    assert_int_equal(spi_rec_string(doc, spi_rnode_at(doc, tags, 0), NULL, 0, &s, &len), SP_OK);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\"b", 3);
    assert_int_equal(spi_rec_string(doc, spi_rnode_at(doc, tags, 1), NULL, 0, &s, &len), SP_OK);
    assert_int_equal(len, 10);
    assert_memory_equal(s, "line\nbreak", 10);
    bool active = false;
    assert_int_equal(spi_rec_bool(doc, root, "active", 0, &active), SP_OK);
    assert_true(active);
    const spi_rnode *parent = NULL;
    assert_int_equal(spi_rec_get(doc, root, "parent", 0, &parent), SP_OK);
    assert_int_equal(spi_rnode_type(parent), SPI_RNULL);
    const spi_rnode *extra = NULL, *empty = NULL;
    assert_int_equal(spi_rec_object(doc, root, "extra", 0, &extra), SP_OK);
    assert_int_equal(spi_rec_object(doc, extra, "empty", 0, &empty), SP_OK);
    assert_int_equal(spi_rnode_count(empty), 0);
    assert_null(spi_rnode_at(doc, empty, 0));

    /* Keys and texts. */
    const spi_rnode *first = spi_rnode_at(doc, root, 0);
    const char *k = spi_rnode_key(doc, first, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(k, "type", 4);
    assert_null(spi_rnode_key(doc, root, &len));
    assert_int_equal(len, 0);
    assert_null(spi_rnode_key(doc, spi_rnode_at(doc, amounts, 0), &len));
    s = spi_rnode_text(doc, spi_rnode_member(doc, root, "rate"), &len);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "0.035", 5);
    assert_null(spi_rnode_text(doc, root, &len));
    assert_false(spi_rnode_bool(parent));
    assert_null(spi_rnode_member(doc, amounts, "x"));
    assert_null(spi_rnode_member(doc, root, "nope"));

    /* Optional members keep the caller's default when absent. */
    int64_t level = -3;
    assert_int_equal(spi_rec_int(doc, root, "level", SPI_REC_OPTIONAL, 0, 9, &level), SP_OK);
    assert_int_equal(level, -3);
    const spi_rnode *none = root;
    assert_int_equal(spi_rec_get(doc, root, "nope", SPI_REC_OPTIONAL, &none), SP_OK);
    assert_null(none);
    size_t count = 5;
    const spi_rnode *arr = root;
    assert_int_equal(spi_rec_array(doc, root, "nope", SPI_REC_OPTIONAL, &arr, &count), SP_OK);
    assert_ptr_equal(arr, root);
    assert_int_equal(count, 5);
    spi_rdoc_free(doc);
    spi_rdoc_free(NULL);

    /* Members are found whatever their order; names compare after unescaping. */
    doc = parse(ctx, "{\"b\\u0061\":1,\"a\\\"b\":2,\"\":3,\"\xe5\x90\x8d\":4}");
    root = spi_rdoc_root(doc);
    static const char *const names[] = { "ba", "a\"b", "", "\xe5\x90\x8d" };
    for (int64_t i = 0; i < 4; i++) {
        int64_t v = 0;
        assert_int_equal(spi_rec_int(doc, root, names[i], 0, 0, 9, &v), SP_OK);
        assert_int_equal(v, i + 1);
    }
    spi_rdoc_free(doc);

    /* A document whose bytes are not NUL-terminated: only len counts. */
    doc = parse_n(ctx, "[1]]]]", 3, SPI_RDOC_STORED);
    assert_int_equal(spi_rnode_count(spi_rdoc_root(doc)), 1);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

/* Non-canonical input, copied: whitespace gone, escapes minimal, numbers trimmed. */
static void test_copy_canonical(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    expect_copy(ctx, " { \"a\" : [ 1 , 2.50 , -0 , -0.0 , 0.000 , 10 , 1.0 , -1.10 ] ,\r\n\t\"b\":{} } ",
                "{\"a\":[1,2.5,0,0,0,10,1,-1.1],\"b\":{}}");
    expect_copy(ctx, "\"\\u0041\\/\\u00e9\\ud83d\\ude00\\b\\u0008\\u001F\\u007f\"",
                "\"A/\xc3\xa9\xf0\x9f\x98\x80\\b\\b\\u001f\x7f\"");
    expect_copy(ctx, EXAMPLE_BYTES, EXAMPLE_BYTES);
    expect_copy(ctx, "[true,false,null]", "[true,false,null]");
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Reader: syntax errors
 * ====================================================================================== */

static void test_syntax_errors(void **state)
{
    (void)state;
    static const struct {
        const char *text, *msg;
    } cases[] = {
        { "", "doc: expected a value, found the end of the input (line 1, column 1, byte 0)" },
        { "  \n ", "doc: expected a value, found the end of the input (line 2, column 2, byte 4)" },
        { "[1,]", "doc: [1]: expected a value, found ']' (line 1, column 4, byte 3)" },
        { "{\"a\":1,}",
          "doc: expected a field name in double quotes, found '}' (line 1, column 8, byte 7)" },
        { "{1:2}", "doc: expected a field name in double quotes, found '1' (line 1, column 2, byte 1)" },
        { "{'a':2}", "doc: expected a field name in double quotes, found '\\'' (line 1, column 2, byte 1)" },
        { "{\"a\" 1}", "doc: expected ':' after a field name, found '1' (line 1, column 6, byte 5)" },
        { "{\"a\":", "doc: a: expected a value, found the end of the input (line 1, column 6, byte 5)" },
        { "[1 2]", "doc: expected ',' or ']' after an element, found '2' (line 1, column 4, byte 3)" },
        { "[1,2", "doc: expected ',' or ']' after an element, found the end of the input (line 1, "
                  "column 5, byte 4)" },
        { "{\"a\":1 \"b\":2}",
          "doc: expected ',' or '}' after a field, found '\"' (line 1, column 8, byte 7)" },
        { "{\"a\":[1}", "doc: a: expected ',' or ']' after an element, found '}' (line 1, column 8, byte 7)" },
        { "[1] x", "doc: unexpected 'x' after the document (line 1, column 5, byte 4)" },
        { "1 2", "doc: unexpected '2' after the document (line 1, column 3, byte 2)" },
        { "[01]", "doc: [0]: invalid number: leading zeros are not accepted (line 1, column 2, byte 1)" },
        { "[-01]", "doc: [0]: invalid number: leading zeros are not accepted (line 1, column 2, byte 1)" },
        { "[-]", "doc: [0]: invalid number: expected a digit after '-', found ']' (line 1, column 3, "
                 "byte 2)" },
        { "[- 1]", "doc: [0]: invalid number: expected a digit after '-', found byte 0x20 (line 1, "
                   "column 3, byte 2)" },
        { "[1.]", "doc: [0]: invalid number: expected a digit after '.', found ']' (line 1, column 4, "
                  "byte 3)" },
        { "[.5]", "doc: [0]: expected a value, found '.' (line 1, column 2, byte 1)" },
        { "[+1]", "doc: [0]: expected a value, found '+' (line 1, column 2, byte 1)" },
        { "[1e5]", "doc: [0]: invalid number: exponents are not accepted; write all the digits (1500, "
                   "not 1.5e3) (line 1, column 3, byte 2)" },
        { "[1.5E-3]", "doc: [0]: invalid number: exponents are not accepted; write all the digits "
                      "(1500, not 1.5e3) (line 1, column 5, byte 4)" },
        { "[True]", "doc: [0]: expected a value, found 'True' (line 1, column 2, byte 1)" },
        { "[nul]", "doc: [0]: expected a value, found 'nul' (line 1, column 2, byte 1)" },
        { "[truex]", "doc: [0]: expected a value, found 'truex' (line 1, column 2, byte 1)" },
        { "NaN", "doc: expected a value, found 'NaN' (line 1, column 1, byte 0)" },
        { "[\x01]", "doc: [0]: expected a value, found byte 0x01 (line 1, column 2, byte 1)" },
        { "[\xff]", "doc: [0]: expected a value, found byte 0xff (line 1, column 2, byte 1)" },
        { "[\xe4\xb8\xad]", "doc: [0]: expected a value, found '\xe4\xb8\xad' (line 1, column 2, byte 1)" },
        { "[\"abc", "doc: [0]: unterminated string (line 1, column 2, byte 1)" },
        { "[\"ab\\", "doc: [0]: unterminated string (line 1, column 5, byte 4)" },
        { "[\"a\\u00e9", "doc: [0]: unterminated string (line 1, column 2, byte 1)" },
        { "[\"a\tb\"]",
          "doc: [0]: control character U+0009 must be escaped in a string (line 1, column 4, byte 3)" },
        { "{\"a\nb\":1}",
          "doc: control character U+000A must be escaped in a string (line 1, column 4, byte 3)" },
        { "[\"\\x\"]", "doc: [0]: invalid escape: 'x' after '\\' (line 1, column 3, byte 2)" },
        { "[\"\\U0041\"]", "doc: [0]: invalid escape: 'U0041' after '\\' (line 1, column 3, byte 2)" },
        { "[\"\\u12G4\"]",
          "doc: [0]: invalid \\u escape: expected four hex digits (line 1, column 3, byte 2)" },
        { "[\"\\u12\"]",
          "doc: [0]: invalid \\u escape: expected four hex digits (line 1, column 3, byte 2)" },
        { "[\"\\ud800\"]", "doc: [0]: lone surrogate \\ud800: a high surrogate must be followed by a "
                           "low one (\\udc00..\\udfff) (line 1, column 3, byte 2)" },
        { "[\"\\uDBFFx\"]", "doc: [0]: lone surrogate \\udbff: a high surrogate must be followed by "
                            "a low one (\\udc00..\\udfff) (line 1, column 3, byte 2)" },
        { "[\"\\ud800\\u0041\"]", "doc: [0]: lone surrogate \\ud800: a high surrogate must be "
                                  "followed by a low one (\\udc00..\\udfff) (line 1, column 3, byte 2)" },
        { "[\"\\ud800\\ud800\"]", "doc: [0]: lone surrogate \\ud800: a high surrogate must be "
                                  "followed by a low one (\\udc00..\\udfff) (line 1, column 3, byte 2)" },
        { "[\"\\udc00\"]", "doc: [0]: lone surrogate \\udc00: a low surrogate must follow a high one "
                           "(line 1, column 3, byte 2)" },
        { "[\"\xc3\"]", "doc: [0]: invalid UTF-8 in a string: truncated sequence (line 1, column 3, "
                        "byte 2)" },
        { "[\"\xff\"]", "doc: [0]: invalid UTF-8 in a string: byte never used in UTF-8 (line 1, "
                        "column 3, byte 2)" },
        { "\xef\xbb\xbf[]", "doc: a byte order mark (U+FEFF) is not accepted (line 1, column 1, byte 0)" },
        { "{\"a\":1,\"a\":2}", "doc: duplicate field 'a' (line 1, column 8, byte 7)" },
        { "{\"a\":1,\"\\u0061\":2}", "doc: duplicate field 'a' (line 1, column 8, byte 7)" },
        { "{\"x\":{\"b\":1,\"a\":2,\"b\":3,\"a\":4}}",
          "doc: x: duplicate field 'b' (line 1, column 19, byte 18)" },
        /* Columns count characters: 名字 is two columns and six bytes. */
        { "{\"\xe5\x90\x8d\xe5\xad\x97\": tru}",
          "doc: \xe5\x90\x8d\xe5\xad\x97: expected a value, found 'tru' (line 1, column 8, byte 11)" },
        /* Paths: odd names in brackets and quotes, elements by index. */
        { "{\"a b\": {\"c\": [0, {\"d\": -}]}}",
          "doc: [\"a b\"].c[1].d: invalid number: expected a digit after '-', found '}' (line 1, "
          "column 26, byte 25)" },
        { "{\"q\\\"\": [x]}", "doc: [\"q\\\"\"][0]: expected a value, found 'x' (line 1, column 10, byte 9)" },
        { "[{\"\": [x]}]", "doc: [0][\"\"][0]: expected a value, found 'x' (line 1, column 8, byte 7)" },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(cases); i++)
        expect_parse_error(cases[i].text, cases[i].msg);

    /* The brief's example: a user document, so SP_EINVAL, with line and column. */
    const char *plan = "{\n"
                       "  \"name\": \"2026 sales\",\n"
                       "  \"components\": [\n"
                       "    { \"tiers\": [] },\n"
                       "    { \"tiers\": [] },\n"
                       "    {\n"
                       "      \"rate\": 0.03,\n"
                       "      \"tiers\": [\n"
                       "        { \"lower\": 0 },\n"
                       "        {\n"
                       "          \"upper\": 100,\n"
                       "          \"rate\": 0.05,\n"
                       "          \"note\": \"\",\n"
                       "          \"lower\": 5000.5e2\n"
                       "        }\n"
                       "      ]\n"
                       "    }\n"
                       "  ]\n"
                       "}\n";
    /* Line 14 is `          "lower": 5000.5e2`: ten spaces, `"lower":` in columns 11-18, a
     * space, 5000.5 in columns 20-25, the 'e' in column 26. */
    size_t e = (size_t)(strstr(plan, "5e2") - plan) + 1;
    char msg[256];
    snprintf(msg, sizeof msg,
             "commission plan: components[2].tiers[1].lower: invalid number: exponents are not "
             "accepted; write all the digits (1500, not 1.5e3) (line 14, column 26, byte %zu)", e);
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = NULL;
    int rc = spi_rdoc_parse(&doc, ctx, "commission plan", (const uint8_t *)plan, strlen(plan),
                            SPI_RDOC_USER, NULL);
    spt_expect_error(ctx, rc, SP_EINVAL, msg);
    sp_ctx_free(ctx);

    /* Embedded NUL bytes are data, not the end. */
    expect_parse_error_n("[1]\0", 4, SPI_RDOC_STORED, NULL, SP_ECORRUPT,
                         "doc: unexpected byte 0x00 after the document (line 1, column 4, byte 3)");
    expect_parse_error_n("[1,\0]", 5, SPI_RDOC_USER, NULL, SP_EINVAL,
                         "doc: [1]: expected a value, found byte 0x00 (line 1, column 4, byte 3)");
    /* NULL data is the empty document; a NULL out is refused. */
    sp_ctx *c2 = spt_new_ctx();
    spi_rdoc *d2 = NULL;
    spt_expect_error(c2, spi_rdoc_parse(&d2, c2, "doc", NULL, 0, 0, NULL), SP_ECORRUPT,
                     "doc: expected a value, found the end of the input (line 1, column 1, byte 0)");
    spt_expect_error(c2, spi_rdoc_parse(&d2, c2, "doc", NULL, 1, 0, NULL), SP_EINVAL,
                     "record reader: data is NULL");
    spt_expect_error(c2, spi_rdoc_parse(NULL, c2, "doc", (const uint8_t *)"1", 1, 0, NULL),
                     SP_EINVAL, "record reader: out is NULL");
    sp_ctx_free(c2);
}

/* ======================================================================================
 * UTF-8 and escapes
 * ====================================================================================== */

static void test_utf8(void **state)
{
    (void)state;
    static const char *const valid[] = {
        "", "a", "\x7f", "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf" /* U+D7FF */,
        "\xee\x80\x80" /* U+E000 */, "\xef\xbf\xbf", "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf" /* U+10FFFF */,
        "a\xc3\xa9z\xe4\xb8\xad\xf0\x9f\x98\x80",
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(valid); i++) {
        size_t bad = 99;
        assert_true(spi_utf8_check((const uint8_t *)valid[i], strlen(valid[i]), &bad, NULL));
        assert_int_equal(bad, 99);
    }
    static const struct {
        const char *s;
        size_t bad;
        const char *why;
    } invalid[] = {
        { "\x80", 0, "unexpected continuation byte" },
        { "a\xbf", 1, "unexpected continuation byte" },
        { "\xc0\x80", 0, "overlong encoding" },
        { "\xc1\xbf", 0, "overlong encoding" },
        { "\xe0\x80\x80", 0, "overlong encoding" },
        { "\xe0\x9f\xbf", 0, "overlong encoding" },
        { "\xf0\x80\x80\x80", 0, "overlong encoding" },
        { "\xf0\x8f\xbf\xbf", 0, "overlong encoding" },
        { "\xed\xa0\x80", 0, "encoded surrogate (U+D800..U+DFFF)" },
        { "ab\xed\xbf\xbf", 2, "encoded surrogate (U+D800..U+DFFF)" },
        { "\xf4\x90\x80\x80", 0, "code point above U+10FFFF" },
        { "\xf5\x80\x80\x80", 0, "code point above U+10FFFF" },
        { "\xf7\xbf\xbf\xbf", 0, "code point above U+10FFFF" },
        { "\xf8\x88\x80\x80\x80", 0, "byte never used in UTF-8" },
        { "\xfe", 0, "byte never used in UTF-8" },
        { "\xff", 0, "byte never used in UTF-8" },
        { "\xc2", 0, "truncated sequence" },
        { "\xc2" "a", 0, "truncated sequence" },
        { "\xe0\xa0", 0, "truncated sequence" },
        { "\xe4\xb8" "a", 0, "truncated sequence" },
        { "\xf0\x90\x80", 0, "truncated sequence" },
        { "ab\xf0\x9f\x98", 2, "truncated sequence" },
        { "\xe4\xb8\xad\xe4", 3, "truncated sequence" },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(invalid); i++) {
        size_t bad = 99;
        const char *why = NULL;
        assert_false(spi_utf8_check((const uint8_t *)invalid[i].s, strlen(invalid[i].s), &bad, &why));
        assert_int_equal(bad, invalid[i].bad);
        assert_string_equal(why, invalid[i].why);
        assert_false(spi_utf8_check((const uint8_t *)invalid[i].s, strlen(invalid[i].s), NULL, NULL));

        /* The reader says the same inside a string: ["<s>"] puts s at byte 2. */
        char text[32], msg[160];
        snprintf(text, sizeof text, "[\"%s\"]", invalid[i].s);
        size_t col = 3;
        for (size_t k = 0; k < invalid[i].bad; k++)
            col += ((uint8_t)invalid[i].s[k] & 0xC0) != 0x80;
        snprintf(msg, sizeof msg, "doc: [0]: invalid UTF-8 in a string: %s (line 1, column %zu, byte %zu)",
                 invalid[i].why, col, invalid[i].bad + 2);
        expect_parse_error(text, msg);
    }
}

static void test_escapes(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        size_t len;
        const char *bytes;
    } cases[] = {
        { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", 8, "\"\\/\b\f\n\r\t" },
        { "\"\\u0041\\u00e9\\u00E9\"", 5, "A\xc3\xa9\xc3\xa9" },
        { "\"\\u07ff\\u0800\\uffff\"", 8, "\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf" },
        { "\"\\ud7ff\\ue000\"", 6, "\xed\x9f\xbf\xee\x80\x80" },
        /* Surrogate pairs: U+1F600 = D83D DE00, U+10000 = D800 DC00, U+10FFFF = DBFF DFFF. */
        { "\"\\ud83d\\ude00\"", 4, "\xf0\x9f\x98\x80" },
        { "\"\\uD800\\uDC00\"", 4, "\xf0\x90\x80\x80" },
        { "\"\\udbff\\udfff\"", 4, "\xf4\x8f\xbf\xbf" },
        { "\"a\\u0000b\"", 3, "a\0b" },
        { "\"x\xe4\xb8\xad\\ty\"", 6, "x\xe4\xb8\xad\ty" },
    };
    sp_ctx *ctx = spt_new_ctx();
    for (size_t i = 0; i < SPI_ARRAY_LEN(cases); i++) {
        spi_rdoc *doc = parse(ctx, cases[i].text);
        const char *s;
        size_t len;
        assert_int_equal(spi_rec_string(doc, spi_rdoc_root(doc), NULL, 0, &s, &len), SP_OK);
        assert_int_equal(len, cases[i].len);
        assert_memory_equal(s, cases[i].bytes, len);
        spi_rdoc_free(doc);
    }
    /* U+0000 is accepted unless the caller refuses it. */
    spi_rdoc *doc = parse(ctx, "{\"id\":\"a\\u0000b\"}");
    const char *s = NULL;
    size_t len = 0;
    spt_expect_error(ctx, spi_rec_string(doc, spi_rdoc_root(doc), "id", SPI_REC_NO_NUL, &s, &len),
                     SP_ECORRUPT,
                     "doc: id: the string contains U+0000, which is not accepted here (line 1, "
                     "column 7, byte 6)");
    assert_null(s);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Numbers at the edges
 * ====================================================================================== */

static void test_numbers(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    static const struct {
        const char *text;
        int64_t value; /* 0 with msg: an error */
        const char *msg;
    } ints[] = {
        { "0", 0, NULL },
        { "-0", 0, NULL },
        { "7", 7, NULL },
        { "-42", -42, NULL },
        { "9223372036854775807", INT64_MAX, NULL },
        { "-9223372036854775807", -INT64_MAX, NULL },
        { "-9223372036854775808", 0,
          "doc: expected an integer from -9223372036854775807 to 9223372036854775807, found "
          "-9223372036854775808 (line 1, column 1, byte 0)" },
        { "9223372036854775808", 0,
          "doc: expected an integer from -9223372036854775807 to 9223372036854775807, found "
          "9223372036854775808 (line 1, column 1, byte 0)" },
        { "123456789012345678901234567890", 0,
          "doc: expected an integer from -9223372036854775807 to 9223372036854775807, found "
          "123456789012345678901234567890 (line 1, column 1, byte 0)" },
        { "2.0", 0, "doc: expected an integer, found 2.0 (line 1, column 1, byte 0)" },
        { "2.5", 0, "doc: expected an integer, found 2.5 (line 1, column 1, byte 0)" },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(ints); i++) {
        spi_rdoc *doc = parse(ctx, ints[i].text);
        int64_t v = 99;
        int rc = spi_rec_int(doc, spi_rdoc_root(doc), NULL, 0, INT64_MIN, INT64_MAX, &v);
        if (ints[i].msg == NULL) {
            assert_int_equal(rc, SP_OK);
            assert_int_equal(v, ints[i].value);
        } else {
            spt_expect_error(ctx, rc, SP_ECORRUPT, ints[i].msg);
            assert_int_equal(v, 99);
        }
        spi_rdoc_free(doc);
    }

    /* Bounds. */
    spi_rdoc *doc = parse(ctx, "[0,10,11,-1]");
    const spi_rnode *r = spi_rdoc_root(doc);
    int64_t v = 99;
    assert_int_equal(spi_rec_int(doc, spi_rnode_at(doc, r, 0), NULL, 0, 0, 10, &v), SP_OK);
    assert_int_equal(v, 0);
    assert_int_equal(spi_rec_int(doc, spi_rnode_at(doc, r, 1), NULL, 0, 0, 10, &v), SP_OK);
    assert_int_equal(v, 10);
    spt_expect_error(ctx, spi_rec_int(doc, spi_rnode_at(doc, r, 2), NULL, 0, 0, 10, &v),
                     SP_ECORRUPT,
                     "doc: [2]: expected an integer from 0 to 10, found 11 (line 1, column 7, "
                     "byte 6)");
    spt_expect_error(ctx, spi_rec_int(doc, spi_rnode_at(doc, r, 3), NULL, 0, 0, 10, &v),
                     SP_ECORRUPT,
                     "doc: [3]: expected an integer from 0 to 10, found -1 (line 1, column 10, "
                     "byte 9)");
    assert_int_equal(v, 10);
    spi_rdoc_free(doc);

    /* Money in minor units: symmetric int64. */
    doc = parse(ctx, "[9223372036854775807,-9223372036854775807,-9223372036854775808,12.5]");
    r = spi_rdoc_root(doc);
    assert_int_equal(spi_rec_money(doc, spi_rnode_at(doc, r, 0), NULL, 0, &v), SP_OK);
    assert_int_equal(v, INT64_MAX);
    assert_int_equal(spi_rec_money(doc, spi_rnode_at(doc, r, 1), NULL, 0, &v), SP_OK);
    assert_int_equal(v, -INT64_MAX);
    spt_expect_error(ctx, spi_rec_money(doc, spi_rnode_at(doc, r, 2), NULL, 0, &v), SP_ECORRUPT,
                     "doc: [2]: expected an amount in minor units from -9223372036854775807 to "
                     "9223372036854775807, found -9223372036854775808 (line 1, column 43, byte 42)");
    spt_expect_error(ctx, spi_rec_money(doc, spi_rnode_at(doc, r, 3), NULL, 0, &v), SP_ECORRUPT,
                     "doc: [3]: expected an amount in minor units, found 12.5 (line 1, column 64, "
                     "byte 63)");
    spi_rdoc_free(doc);

    /* Money in major units, for documents users write. */
    doc = parse(ctx, "[5000.5,5000.505,92233720368547758.07,92233720368547758.08,-3,\"1\"]");
    r = spi_rdoc_root(doc);
    assert_int_equal(spi_rec_money_major(doc, spi_rnode_at(doc, r, 0), NULL, 0, 2, &v), SP_OK);
    assert_int_equal(v, 500050);
    assert_int_equal(spi_rec_money_major(doc, spi_rnode_at(doc, r, 1), NULL, 0, 3, &v), SP_OK);
    assert_int_equal(v, 5000505);
    spt_expect_error(ctx, spi_rec_money_major(doc, spi_rnode_at(doc, r, 1), NULL, 0, 2, &v),
                     SP_ECORRUPT,
                     "doc: [1]: amount 5000.505 has more than 2 decimals (line 1, column 9, byte "
                     "8)");
    assert_int_equal(spi_rec_money_major(doc, spi_rnode_at(doc, r, 2), NULL, 0, 2, &v), SP_OK);
    assert_int_equal(v, INT64_MAX);
    spt_expect_error(ctx, spi_rec_money_major(doc, spi_rnode_at(doc, r, 3), NULL, 0, 2, &v),
                     SP_ECORRUPT,
                     "doc: [3]: amount 92233720368547758.08 is out of range (at most "
                     "9223372036854775807 minor units in magnitude) (line 1, column 39, byte 38)");
    assert_int_equal(spi_rec_money_major(doc, spi_rnode_at(doc, r, 4), NULL, 0, 0, &v), SP_OK);
    assert_int_equal(v, -3);
    spt_expect_error(ctx, spi_rec_money_major(doc, spi_rnode_at(doc, r, 5), NULL, 0, 2, &v),
                     SP_ECORRUPT,
                     "doc: [5]: expected an amount, found a string (line 1, column 63, byte 62)");
    spt_expect_error(ctx, spi_rec_money_major(doc, r, NULL, 0, 19, &v), SP_EINVAL,
                     "record reader: exponent 19 is outside 0..18");
    assert_int_equal(v, -3);
    spi_rdoc_free(doc);

    /* Decimals: nine digits, the int64 range of sp_dec. */
    static const struct {
        const char *text;
        sp_dec value;
        const char *msg;
    } decs[] = {
        { "0", 0, NULL },
        { "0.035", 35000000, NULL },
        { "12", 12000000000, NULL },
        { "-0.000000001", -1, NULL },
        { "0.100000000000", 100000000, NULL }, /* zeros beyond nine digits change nothing */
        { "9223372036.854775807", INT64_MAX, NULL },
        { "-9223372036.854775807", -INT64_MAX, NULL },
        { "0.0000000001", 0, "doc: 0.0000000001 has more than 9 decimals (line 1, column 1, byte 0)" },
        { "1.0000000005", 0, "doc: 1.0000000005 has more than 9 decimals (line 1, column 1, byte 0)" },
        { "9223372036.854775808", 0,
          "doc: 9223372036.854775808 is out of range (decimals lie within -9223372036.854775807 to "
          "9223372036.854775807) (line 1, column 1, byte 0)" },
        { "-9223372036.854775808", 0,
          "doc: -9223372036.854775808 is out of range (decimals lie within -9223372036.854775807 "
          "to 9223372036.854775807) (line 1, column 1, byte 0)" },
        { "10000000000", 0,
          "doc: 10000000000 is out of range (decimals lie within -9223372036.854775807 to "
          "9223372036.854775807) (line 1, column 1, byte 0)" },
        { "\"3.5%\"", 0, "doc: expected a decimal number, found a string (line 1, column 1, byte 0)" },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(decs); i++) {
        doc = parse(ctx, decs[i].text);
        sp_dec d = 99;
        int rc = spi_rec_dec(doc, spi_rdoc_root(doc), NULL, 0, INT64_MIN, INT64_MAX, &d);
        if (decs[i].msg == NULL) {
            assert_int_equal(rc, SP_OK);
            assert_int_equal(d, decs[i].value);
        } else {
            spt_expect_error(ctx, rc, SP_ECORRUPT, decs[i].msg);
            assert_int_equal(d, 99);
        }
        spi_rdoc_free(doc);
    }

    /* Percentages, when the caller accepts them: "3.5%" is 0.035; a number stays plain. */
    static const struct {
        const char *text;
        sp_dec value;
        const char *msg;
    } pcts[] = {
        { "\"3.5%\"", 35000000, NULL },
        { "\"100%\"", SP_DEC_ONE, NULL },
        { "\"-0.0000001%\"", -1, NULL },
        { "0.035", 35000000, NULL },
        { "3.5", 3500000000, NULL },
        { "\"0.00000001%\"", 0,
          "doc: expected a percentage like '3.5%' (at most 7 decimals), found '0.00000001%' (line 1, "
          "column 1, byte 0)" },
        { "\"3.5\"", 0,
          "doc: expected a percentage like '3.5%' (at most 7 decimals), found '3.5' (line 1, "
          "column 1, byte 0)" },
        { "\"%\"", 0,
          "doc: expected a percentage like '3.5%' (at most 7 decimals), found '%' (line 1, column "
          "1, byte 0)" },
        { "\"3.5 %\"", 0,
          "doc: expected a percentage like '3.5%' (at most 7 decimals), found '3.5 %' (line 1, "
          "column 1, byte 0)" },
        { "\"922337203685.5%\"", 0, "doc: percentage '922337203685.5%' is out of range (line 1, column 1, byte 0)" },
        { "true", 0,
          "doc: expected a decimal number or a percentage string like '3.5%', found true (line 1, "
          "column 1, byte 0)" },
    };
    for (size_t i = 0; i < SPI_ARRAY_LEN(pcts); i++) {
        doc = parse(ctx, pcts[i].text);
        sp_dec d = 99;
        int rc = spi_rec_dec(doc, spi_rdoc_root(doc), NULL, SPI_REC_PERCENT, INT64_MIN, INT64_MAX, &d);
        if (pcts[i].msg == NULL) {
            assert_int_equal(rc, SP_OK);
            assert_int_equal(d, pcts[i].value);
        } else {
            spt_expect_error(ctx, rc, SP_ECORRUPT, pcts[i].msg);
            assert_int_equal(d, 99);
        }
        spi_rdoc_free(doc);
    }

    /* Decimal bounds are shown as decimals. */
    doc = parse(ctx, "{\"rate\":1.5}");
    sp_dec d = 7;
    spt_expect_error(ctx, spi_rec_dec(doc, spi_rdoc_root(doc), "rate", 0, 0, SP_DEC_ONE, &d),
                     SP_ECORRUPT,
                     "doc: rate: expected a decimal from 0 to 1, found 1.5 (line 1, column 9, "
                     "byte 8)");
    spt_expect_error(ctx,
                     spi_rec_dec(doc, spi_rdoc_root(doc), "rate", 0, -500000000, 1250000000, &d),
                     SP_ECORRUPT,
                     "doc: rate: expected a decimal from -0.5 to 1.25, found 1.5 (line 1, column "
                     "9, byte 8)");
    assert_int_equal(d, 7);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Typed access errors, unknown members, paths
 * ====================================================================================== */

/* Positions in DOC: "x" at 5, 12 at 13, 2.5 at 20, true at 28, null at 37, [1] at 46,
 * {} at 54 (count: {"s":"x","n":12,"f":2.5,"b":true,"z":null,"a":[1],"o":{}}). */
#define DOC "{\"s\":\"x\",\"n\":12,\"f\":2.5,\"b\":true,\"z\":null,\"a\":[1],\"o\":{}}"

static void test_typed_errors(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = parse(ctx, DOC);
    const spi_rnode *r = spi_rdoc_root(doc), *node = NULL;
    int64_t i = 5;
    sp_dec d = 5;
    bool b = false;
    const char *s = NULL;
    size_t n = 0;
    uint32_t e = 9;

    spt_expect_error(ctx, spi_rec_int(doc, r, "s", 0, 0, 100, &i), SP_ECORRUPT,
                     "doc: s: expected an integer, found a string (line 1, column 6, byte 5)");
    spt_expect_error(ctx, spi_rec_int(doc, r, "f", 0, 0, 100, &i), SP_ECORRUPT,
                     "doc: f: expected an integer, found 2.5 (line 1, column 21, byte 20)");
    spt_expect_error(ctx, spi_rec_int(doc, r, "n", 0, 0, 10, &i), SP_ECORRUPT,
                     "doc: n: expected an integer from 0 to 10, found 12 (line 1, column 14, byte "
                     "13)");
    spt_expect_error(ctx, spi_rec_int(doc, r, "x", 0, 0, 10, &i), SP_ECORRUPT,
                     "doc: missing field 'x' (line 1, column 1, byte 0)");
    spt_expect_error(ctx, spi_rec_string(doc, r, "n", 0, &s, &n), SP_ECORRUPT,
                     "doc: n: expected a string, found 12 (line 1, column 14, byte 13)");
    spt_expect_error(ctx, spi_rec_bool(doc, r, "z", 0, &b), SP_ECORRUPT,
                     "doc: z: expected true or false, found null (line 1, column 38, byte 37)");
    spt_expect_error(ctx, spi_rec_array(doc, r, "o", 0, &node, &n), SP_ECORRUPT,
                     "doc: o: expected an array, found an object (line 1, column 55, byte 54)");
    spt_expect_error(ctx, spi_rec_object(doc, r, "a", 0, &node), SP_ECORRUPT,
                     "doc: a: expected an object, found an array (line 1, column 47, byte 46)");
    spt_expect_error(ctx, spi_rec_dec(doc, r, "b", 0, INT64_MIN, INT64_MAX, &d), SP_ECORRUPT,
                     "doc: b: expected a decimal number, found true (line 1, column 29, byte 28)");
    spt_expect_error(ctx, spi_rec_money(doc, r, "b", 0, &i), SP_ECORRUPT,
                     "doc: b: expected an amount in minor units, found true (line 1, column 29, "
                     "byte 28)");
    /* A key on something that is not an object. */
    const spi_rnode *a = spi_rnode_member(doc, r, "a");
    spt_expect_error(ctx, spi_rec_int(doc, a, "x", SPI_REC_OPTIONAL, 0, 1, &i), SP_ECORRUPT,
                     "doc: a: expected an object, found an array (line 1, column 47, byte 46)");
    spt_expect_error(ctx, spi_rec_check_members(doc, a, NULL, 0), SP_ECORRUPT,
                     "doc: a: expected an object, found an array (line 1, column 47, byte 46)");
    /* Nothing was written by the failures. */
    assert_int_equal(i, 5);
    assert_int_equal(d, 5);
    assert_false(b);
    assert_null(s);
    assert_null(node);
    assert_int_equal(n, 0);

    /* Enumerations. */
    static const char *const modes[] = { "even", "proportional" };
    assert_int_equal(spi_rec_enum(doc, r, "x", SPI_REC_OPTIONAL, modes, 2, &e), SP_OK);
    assert_int_equal(e, 9);
    spt_expect_error(ctx, spi_rec_enum(doc, r, "s", 0, modes, 2, &e), SP_ECORRUPT,
                     "doc: s: expected one of 'even', 'proportional', found 'x' (line 1, column "
                     "6, byte 5)");
    spt_expect_error(ctx, spi_rec_enum(doc, r, "n", 0, modes, 2, &e), SP_ECORRUPT,
                     "doc: n: expected one of 'even', 'proportional', found 12 (line 1, column "
                     "14, byte 13)");
    assert_int_equal(e, 9);
    spi_rdoc_free(doc);

    doc = parse(ctx, "[\"proportional\",\"evn\",\"proprotional\",\"even\\u0000\",\"Even\"]");
    r = spi_rdoc_root(doc);
    assert_int_equal(spi_rec_enum(doc, spi_rnode_at(doc, r, 0), NULL, 0, modes, 2, &e), SP_OK);
    assert_int_equal(e, 1);
    spt_expect_error(ctx, spi_rec_enum(doc, spi_rnode_at(doc, r, 1), NULL, 0, modes, 2, &e),
                     SP_ECORRUPT,
                     "doc: [1]: expected one of 'even', 'proportional', found 'evn'; did you mean "
                     "'even'? (line 1, column 17, byte 16)");
    spt_expect_error(ctx, spi_rec_enum(doc, spi_rnode_at(doc, r, 2), NULL, 0, modes, 2, &e),
                     SP_ECORRUPT,
                     "doc: [2]: expected one of 'even', 'proportional', found 'proprotional'; did "
                     "you mean 'proportional'? (line 1, column 23, byte 22)");
    spt_expect_error(ctx, spi_rec_enum(doc, spi_rnode_at(doc, r, 3), NULL, 0, modes, 2, &e),
                     SP_ECORRUPT,
                     "doc: [3]: expected one of 'even', 'proportional', found 'even\\u0000'; did "
                     "you mean 'even'? (line 1, column 38, byte 37)");
    spt_expect_error(ctx, spi_rec_enum(doc, spi_rnode_at(doc, r, 4), NULL, 0, modes, 2, &e),
                     SP_ECORRUPT,
                     "doc: [4]: expected one of 'even', 'proportional', found 'Even'; did you "
                     "mean 'even'? (line 1, column 51, byte 50)");
    assert_int_equal(e, 1);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

static void test_unknown_members(void **state)
{
    (void)state;
    static const char *const known[] = { "rate", "base", "tiers", "level" };
    const char *text = "{\"components\":[{\"rate\":1,\"rat\":2}],\"levle\":3,\"zzz\":4}";
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *user = NULL, *stored = NULL;
    assert_int_equal(spi_rdoc_parse(&user, ctx, "commission plan", (const uint8_t *)text,
                                    strlen(text), SPI_RDOC_USER, NULL),
                     SP_OK);
    assert_int_equal(spi_rdoc_code(user), SP_EINVAL);
    const spi_rnode *comps = NULL;
    size_t n = 0;
    assert_int_equal(spi_rec_array(user, spi_rdoc_root(user), "components", 0, &comps, &n), SP_OK);
    /* "rat" is byte 25; "levle" byte 35; "zzz" byte 45. */
    spt_expect_error(ctx, spi_rec_check_members(user, spi_rnode_at(user, comps, 0), known, 4),
                     SP_EINVAL,
                     "commission plan: components[0]: unknown field 'rat'; did you mean 'rate'? "
                     "(line 1, column 26, byte 25)");
    static const char *const top[] = { "components", "level" };
    spt_expect_error(ctx, spi_rec_check_members(user, spi_rdoc_root(user), top, 2), SP_EINVAL,
                     "commission plan: unknown field 'levle'; did you mean 'level'? (line 1, "
                     "column 36, byte 35)");
    static const char *const top2[] = { "components", "levle" };
    spt_expect_error(ctx, spi_rec_check_members(user, spi_rdoc_root(user), top2, 2), SP_EINVAL,
                     "commission plan: unknown field 'zzz' (line 1, column 46, byte 45)");
    spi_rdoc_free(user);

    /* A name with a NUL inside is not the name before the NUL. */
    const char *nul = "{\"rate\\u0000\":1}";
    assert_int_equal(spi_rdoc_parse(&user, ctx, "commission plan", (const uint8_t *)nul,
                                    strlen(nul), SPI_RDOC_USER, NULL),
                     SP_OK);
    spt_expect_error(ctx, spi_rec_check_members(user, spi_rdoc_root(user), known, 4), SP_EINVAL,
                     "commission plan: unknown field 'rate\\u0000'; did you mean 'rate'? (line 1, "
                     "column 2, byte 1)");
    assert_null(spi_rnode_member(user, spi_rdoc_root(user), "rate"));
    spi_rdoc_free(user);
    assert_int_equal(spi_rdoc_parse(&user, ctx, "commission plan", (const uint8_t *)text,
                                    strlen(text), SPI_RDOC_USER, NULL),
                     SP_OK);
    static const char *const all[] = { "zzz", "levle", "components" };
    assert_int_equal(spi_rec_check_members(user, spi_rdoc_root(user), all, 3), SP_OK);
    spi_rdoc_free(user);

    /* The example of docs/record-format.md, over three lines. */
    const char *doc_example = "{\n  \"components\": [\n    { \"rat\": 0.035 }\n  ]\n}";
    assert_int_equal(spi_rdoc_parse(&user, ctx, "commission plan", (const uint8_t *)doc_example,
                                    strlen(doc_example), SPI_RDOC_USER, NULL),
                     SP_OK);
    assert_int_equal(spi_rec_array(user, spi_rdoc_root(user), "components", 0, &comps, &n), SP_OK);
    spt_expect_error(ctx, spi_rec_check_members(user, spi_rnode_at(user, comps, 0), known, 4),
                     SP_EINVAL,
                     "commission plan: components[0]: unknown field 'rat'; did you mean 'rate'? "
                     "(line 3, column 7, byte 26)");
    spi_rdoc_free(user);

    /* A stored record skips what a newer minor version added. */
    assert_int_equal(spi_rdoc_parse(&stored, ctx, "record x", (const uint8_t *)text, strlen(text),
                                    SPI_RDOC_STORED, NULL),
                     SP_OK);
    assert_int_equal(spi_rec_check_members(stored, spi_rdoc_root(stored), top, 2), SP_OK);
    spi_rdoc_free(stored);

    /* Strictness alone, without SP_EINVAL. */
    assert_int_equal(spi_rdoc_parse(&stored, ctx, "record x", (const uint8_t *)text, strlen(text),
                                    SPI_RDOC_STRICT, NULL),
                     SP_OK);
    spt_expect_error(ctx, spi_rec_check_members(stored, spi_rdoc_root(stored), top2, 2),
                     SP_ECORRUPT, "record x: unknown field 'zzz' (line 1, column 46, byte 45)");
    spi_rdoc_free(stored);
    sp_ctx_free(ctx);
}

static void test_paths(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_rdoc *doc = parse(ctx, "{\"a\":[{\"b c\":[0,{\"\xe5\x90\x8d\":{\"\":[[7]]}}]}],\"x\\n\":1}");
    const spi_rnode *r = spi_rdoc_root(doc);
    const spi_rnode *deep = spi_rnode_at(doc, spi_rnode_at(doc, r, 0), 0);      /* a[0] */
    deep = spi_rnode_at(doc, spi_rnode_at(doc, deep, 0), 1);                   /* ["b c"][1] */
    deep = spi_rnode_at(doc, spi_rnode_at(doc, deep, 0), 0);                   /* 名[""] */
    deep = spi_rnode_at(doc, spi_rnode_at(doc, deep, 0), 0);                   /* [0][0] */
    char buf[128];
    assert_int_equal(spi_rec_path(doc, deep, buf, sizeof buf), 28);
    assert_string_equal(buf, "a[0][\"b c\"][1].\xe5\x90\x8d[\"\"][0][0]");
    /* Truncated to the buffer. */
    assert_int_equal(spi_rec_path(doc, deep, buf, 5), 4);
    assert_string_equal(buf, "a[0]");
    assert_int_equal(spi_rec_path(doc, r, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    assert_int_equal(spi_rec_path(doc, spi_rnode_at(doc, r, 1), buf, sizeof buf), 7);
    assert_string_equal(buf, "[\"x\\n\"]");

    /* A module's own message in the same format; the 7 is byte 29, column 28 (名 is one). */
    spt_expect_error(ctx, spi_rec_fail(doc, deep, "tier %d overlaps tier %d", 1, 0), SP_ECORRUPT,
                     "doc: a[0][\"b c\"][1].\xe5\x90\x8d[\"\"][0][0]: tier 1 overlaps tier 0 "
                     "(line 1, column 28, byte 29)");
    spi_rdoc_free(doc);

    /* Long paths keep their end. */
    char text[2048];
    size_t o = 0;
    const char *name = "a_rather_long_field_name_number";
    for (int i = 0; i < 30; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "{\"%s%02d\":", name, i);
    o += (size_t)snprintf(text + o, sizeof text - o, "x");
    /* Segments of 34 bytes (".a_rather_long_field_name_numberNN"): nine fit in the 320 bytes
     * of a path with the "..." that stands for the rest. The 'x' is the last byte. */
    char msg[1024];
    int m = snprintf(msg, sizeof msg, "doc: ...");
    for (int i = 21; i < 30; i++)
        m += snprintf(msg + m, sizeof msg - (size_t)m, "%s%s%02d", i == 21 ? "" : ".", name, i);
    snprintf(msg + m, sizeof msg - (size_t)m,
             ": expected a value, found 'x' (line 1, column %zu, byte %zu)", o, o - 1);
    expect_parse_error(text, msg);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Limits
 * ====================================================================================== */

static void test_limits(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    /* Depth: 64 nested arrays are read, 65 are refused at the 65th '['. */
    char text[256], msg[512];
    memset(text, '[', 64);
    memset(text + 64, ']', 64);
    spi_rdoc *doc = parse_n(ctx, text, 128, 0);
    assert_int_equal(spi_rdoc_nodes(doc), 64);
    spi_rdoc_free(doc);
    memset(text, '[', 65);
    memset(text + 65, ']', 65);
    int m = snprintf(msg, sizeof msg, "doc: ");
    for (int i = 0; i < 64; i++)
        m += snprintf(msg + m, sizeof msg - (size_t)m, "[0]");
    snprintf(msg + m, sizeof msg - (size_t)m,
             ": nesting deeper than 64 levels (the limit) (line 1, column 65, byte 64)");
    expect_parse_error_n(text, 130, 0, NULL, SP_ECORRUPT, msg);

    spi_rec_limits lim = SPI_REC_LIMITS_DEFAULT;
    lim.max_depth = 2;
    expect_parse_error_n("{\"a\":[{}]}", 10, 0, &lim, SP_ECORRUPT,
                         "doc: a[0]: nesting deeper than 2 levels (the limit) (line 1, column 7, byte 6)");
    doc = NULL;
    assert_int_equal(spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)"{\"a\":[1]}", 9, 0, &lim), SP_OK);
    spi_rdoc_free(doc);

    /* Values: [1,2,3,4] is five. */
    lim = (spi_rec_limits)SPI_REC_LIMITS_DEFAULT;
    lim.max_nodes = 5;
    assert_int_equal(spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)"[1,2,3,4]", 9, 0, &lim), SP_OK);
    spi_rdoc_free(doc);
    expect_parse_error_n("[1,2,3,4,5]", 11, 0, &lim, SP_ECORRUPT,
                         "doc: more than 5 values (the limit) (line 1, column 10, byte 9)");

    /* Strings and names count bytes after unescaping; numbers count characters. */
    lim = (spi_rec_limits)SPI_REC_LIMITS_DEFAULT;
    lim.max_string = 3;
    const char *fits = "[\"ab\\u0063\",123,{\"abc\":1}]";
    assert_int_equal(spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)fits, strlen(fits), 0, &lim),
                     SP_OK);
    spi_rdoc_free(doc);
    expect_parse_error_n("[\"abcd\"]", 8, 0, &lim, SP_ECORRUPT,
                         "doc: [0]: string of 4 bytes is longer than the limit of 3 (line 1, column 2, byte 1)");
    expect_parse_error_n("[\"a\\u00e9\\u00e9\"]", 17, 0, &lim, SP_ECORRUPT,
                         "doc: [0]: string of 5 bytes is longer than the limit of 3 (line 1, column 2, byte 1)");
    expect_parse_error_n("{\"abcd\":1}", 10, 0, &lim, SP_ECORRUPT,
                         "doc: string of 4 bytes is longer than the limit of 3 (line 1, column 2, byte 1)");
    expect_parse_error_n("[1234]", 6, 0, &lim, SP_ECORRUPT,
                         "doc: [0]: number of 4 characters is longer than the limit of 3 (line 1, column 2, byte 1)");
    expect_parse_error_n("[-1.5]", 6, 0, &lim, SP_ECORRUPT,
                         "doc: [0]: number of 4 characters is longer than the limit of 3 (line 1, column 2, byte 1)");

    /* Bytes: refused before anything is read. */
    lim = (spi_rec_limits)SPI_REC_LIMITS_DEFAULT;
    lim.max_bytes = 4;
    expect_parse_error_n("[1,2]", 5, SPI_RDOC_USER, &lim, SP_EINVAL,
                         "doc: document of 5 bytes is larger than the limit of 4");
    assert_int_equal(spi_rdoc_parse(&doc, ctx, "doc", (const uint8_t *)"[12]", 4, 0, &lim), SP_OK);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Duplicates in large objects (sorted, not pairwise)
 * ====================================================================================== */

static void test_duplicates_large(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char text[4096];
    /* 40 distinct names k39 .. k00 (descending, so that sorting matters): fine. */
    size_t o = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 39; i >= 0; i--)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"k%02d\":%d", i < 39 ? "," : "", i, i);
    snprintf(text + o, sizeof text - o, "}");
    spi_rdoc *doc = parse(ctx, text);
    int64_t v = -1;
    assert_int_equal(spi_rec_int(doc, spi_rdoc_root(doc), "k07", 0, 0, 99, &v), SP_OK);
    assert_int_equal(v, 7);
    spi_rdoc_free(doc);

    /* Names 0..39 then 12 and 5 again: the first repetition in document order is "12", at
     * the byte where its second name starts. */
    o = (size_t)snprintf(text, sizeof text, "{");
    for (int i = 0; i < 40; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"%d\":0", i > 0 ? "," : "", i);
    size_t at = o + 1;
    o += (size_t)snprintf(text + o, sizeof text - o, ",\"12\":1,\"5\":2}");
    char msg[160];
    snprintf(msg, sizeof msg, "doc: duplicate field '12' (line 1, column %zu, byte %zu)", at + 1, at);
    expect_parse_error(text, msg);
    /* Equal after unescaping, in a large object. */
    o = (size_t)snprintf(text, sizeof text, "{\"in\":{");
    for (int i = 0; i < 20; i++)
        o += (size_t)snprintf(text + o, sizeof text - o, "%s\"n%d\":0", i > 0 ? "," : "", i);
    at = o + 1;
    snprintf(text + o, sizeof text - o, ",\"\\u006e7\":1}}");
    snprintf(msg, sizeof msg, "doc: in: duplicate field 'n7' (line 1, column %zu, byte %zu)", at + 1, at);
    expect_parse_error(text, msg);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Fault injection over the reader
 * ====================================================================================== */

typedef struct reader_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    char *text;
    size_t len;
    spi_rdoc *doc;
} reader_fault;

static int run_reader_fault(void *user)
{
    reader_fault *f = user;
    return spi_rdoc_parse(&f->doc, f->ctx, "doc", (const uint8_t *)f->text, f->len, 0, NULL);
}

static void undo_reader_fault(void *user)
{
    reader_fault *f = user;
    /* The tree is complete: the 200th element, the large object, the escapes. */
    const spi_rnode *r = spi_rdoc_root(f->doc);
    const spi_rnode *big = spi_rnode_member(f->doc, r, "big");
    int64_t v = 0;
    assert_int_equal(spi_rec_int(f->doc, big, "m29", 0, 0, 99, &v), SP_OK);
    assert_int_equal(v, 29);
    const char *s;
    size_t len;
    assert_int_equal(spi_rec_string(f->doc, r, "esc", 0, &s, &len), SP_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(s, "a\"\xc3\xa9\n", 5);
    const spi_rnode *list;
    assert_int_equal(spi_rec_array(f->doc, r, "list", 0, &list, &len), SP_OK);
    assert_int_equal(len, 200);
    spi_rdoc_free(f->doc);
    f->doc = NULL;
}

static void check_reader_unchanged(void *user)
{
    assert_null(((reader_fault *)user)->doc);
}

static size_t live_reader_fault(void *user)
{
    return ((reader_fault *)user)->alloc.live_blocks;
}

static void test_reader_fault_loop(void **state)
{
    (void)state;
    reader_fault f = { .doc = NULL };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    /* Nesting 40 deep (the child stack grows), a large object (the sort's scratch),
     * escaped strings and names (the unescaped buffer), 200 elements (nodes, kids). */
    f.text = malloc(16384);
    assert_non_null(f.text);
    size_t o = (size_t)sprintf(f.text, "{\"esc\":\"a\\\"\\u00e9\\n\",\"n\\u0061me\":1,\"deep\":");
    for (int i = 0; i < 40; i++)
        o += (size_t)sprintf(f.text + o, "[%d,", i);
    o += (size_t)sprintf(f.text + o, "0");
    for (int i = 0; i < 40; i++)
        f.text[o++] = ']';
    o += (size_t)sprintf(f.text + o, ",\"big\":{");
    for (int i = 0; i < 30; i++)
        o += (size_t)sprintf(f.text + o, "%s\"m%d\":%d", i > 0 ? "," : "", i, i);
    o += (size_t)sprintf(f.text + o, "},\"list\":[");
    for (int i = 0; i < 200; i++)
        o += (size_t)sprintf(f.text + o, "%s%d", i > 0 ? "," : "", i);
    o += (size_t)sprintf(f.text + o, "]}");
    f.len = o;
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "spi_rdoc_parse", run_reader_fault, undo_reader_fault,
                          check_reader_unchanged, live_reader_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 8);
    free(f.text);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
}

/* ======================================================================================
 * Property tests: random trees, a second serializer, mutations
 * ====================================================================================== */

/* A test-side tree, built at random and serialized independently of the writer. */
typedef struct tnode {
    int kind; /* 0 null, 1 bool, 2 int, 3 dec, 4 string, 5 array, 6 object */
    int64_t num;
    char str[48];
    size_t str_len;
    char key[24];
    size_t key_len;
    size_t nkids;
    struct tnode *kids;
} tnode;

typedef struct tbuf {
    char *p;
    size_t len, cap;
} tbuf;

static void tput(tbuf *b, const char *s, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void tputs(tbuf *b, const char *s)
{
    tput(b, s, strlen(s));
}

/* JSON string by the canonical rules, written here from the rules, not from the writer. */
static void tstring(tbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    tputs(b, "\"");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0 };
        if (c == '"')
            tputs(b, "\\\"");
        else if (c == '\\')
            tputs(b, "\\\\");
        else if (c == '\n')
            tputs(b, "\\n");
        else if (c == '\t')
            tputs(b, "\\t");
        else if (c == '\r')
            tputs(b, "\\r");
        else if (c == '\b')
            tputs(b, "\\b");
        else if (c == '\f')
            tputs(b, "\\f");
        else if (c < 0x20)
            tputs(b, e);
        else
            tput(b, (const char *)&c, 1);
    }
    tputs(b, "\"");
}

/* A decimal: integer part, '.', nine fraction digits with trailing zeros dropped. */
static void tdec(tbuf *b, int64_t v)
{
    char s[48];
    uint64_t mag = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    uint64_t ip = mag / 1000000000u, fp = mag % 1000000000u;
    int n = snprintf(s, sizeof s, "%s%llu", v < 0 ? "-" : "", (unsigned long long)ip);
    if (fp != 0) {
        char f[16];
        snprintf(f, sizeof f, "%09llu", (unsigned long long)fp);
        size_t fl = 9;
        while (f[fl - 1] == '0')
            fl--;
        f[fl] = '\0';
        snprintf(s + n, sizeof s - (size_t)n, ".%s", f);
    }
    tputs(b, s);
}

static void tserialize(tbuf *b, const tnode *t)
{
    char s[32];
    switch (t->kind) {
    case 0: tputs(b, "null"); break;
    case 1: tputs(b, t->num ? "true" : "false"); break;
    case 2: snprintf(s, sizeof s, "%lld", (long long)t->num); tputs(b, s); break;
    case 3: tdec(b, t->num); break;
    case 4: tstring(b, t->str, t->str_len); break;
    case 5:
    case 6:
        tputs(b, t->kind == 5 ? "[" : "{");
        for (size_t i = 0; i < t->nkids; i++) {
            if (i > 0)
                tputs(b, ",");
            if (t->kind == 6) {
                tstring(b, t->kids[i].key, t->kids[i].key_len);
                tputs(b, ":");
            }
            tserialize(b, &t->kids[i]);
        }
        tputs(b, t->kind == 5 ? "]" : "}");
        break;
    }
}

static void twrite(spi_writer *w, const tnode *t)
{
    switch (t->kind) {
    case 0: spi_writer_null(w); break;
    case 1: spi_writer_bool(w, t->num != 0); break;
    case 2: spi_writer_int(w, t->num); break;
    case 3: spi_writer_dec(w, t->num); break;
    case 4: spi_writer_string(w, t->str, t->str_len); break;
    case 5:
    case 6:
        if (t->kind == 5)
            spi_writer_begin_array(w);
        else
            spi_writer_begin_object(w);
        for (size_t i = 0; i < t->nkids; i++) {
            if (t->kind == 6)
                spi_writer_key_n(w, t->kids[i].key, t->kids[i].key_len);
            twrite(w, &t->kids[i]);
        }
        if (t->kind == 5)
            spi_writer_end_array(w);
        else
            spi_writer_end_object(w);
        break;
    }
}

/* Read the tree back through the typed accessors and compare. */
static void tcheck(const spi_rdoc *doc, const spi_rnode *n, const tnode *t)
{
    int64_t v;
    const char *s;
    size_t len;
    bool b;
    switch (t->kind) {
    case 0: assert_int_equal(spi_rnode_type(n), SPI_RNULL); break;
    case 1:
        assert_int_equal(spi_rec_bool(doc, n, NULL, 0, &b), SP_OK);
        assert_int_equal(b, t->num != 0);
        break;
    case 2:
        assert_int_equal(spi_rec_int(doc, n, NULL, 0, INT64_MIN, INT64_MAX, &v), SP_OK);
        assert_int_equal(v, t->num);
        break;
    case 3:
        assert_int_equal(spi_rec_dec(doc, n, NULL, 0, INT64_MIN, INT64_MAX, &v), SP_OK);
        assert_int_equal(v, t->num);
        break;
    case 4:
        assert_int_equal(spi_rec_string(doc, n, NULL, 0, &s, &len), SP_OK);
        assert_int_equal(len, t->str_len);
        assert_memory_equal(s, t->str, len);
        break;
    default:
        assert_int_equal(spi_rnode_type(n), t->kind == 5 ? SPI_RARRAY : SPI_ROBJECT);
        assert_int_equal(spi_rnode_count(n), t->nkids);
        for (size_t i = 0; i < t->nkids; i++) {
            const spi_rnode *k = spi_rnode_at(doc, n, i);
            if (t->kind == 6) {
                s = spi_rnode_key(doc, k, &len);
                assert_int_equal(len, t->kids[i].key_len);
                assert_memory_equal(s, t->kids[i].key, len);
                char key[32];
                memcpy(key, t->kids[i].key, len);
                key[len] = '\0';
                if (memchr(key, '\0', len) == NULL)
                    assert_ptr_equal(spi_rnode_member(doc, n, key), k);
            }
            tcheck(doc, k, &t->kids[i]);
        }
        break;
    }
}

/* Random UTF-8 text: ASCII, controls, quotes, 2-, 3- and 4-byte characters. */
static size_t trand_text(spt_rng *rng, char *out, size_t cap)
{
    size_t n = 0, want = (size_t)spt_rng_range(rng, 0, (int64_t)cap / 4);
    while (n < want) {
        uint32_t cp;
        switch (spt_rng_next(rng) % 6) {
        case 0: cp = (uint32_t)spt_rng_range(rng, 0, 0x1f); break;
        case 1: cp = (uint8_t)"\"\\/ az"[spt_rng_next(rng) % 6]; break;
        case 2: cp = (uint32_t)spt_rng_range(rng, 0x80, 0x7ff); break;
        case 3: cp = (uint32_t)spt_rng_range(rng, 0x800, 0xffff); break;
        case 4: cp = (uint32_t)spt_rng_range(rng, 0x10000, 0x10ffff); break;
        default: cp = (uint32_t)spt_rng_range(rng, 0x20, 0x7e); break;
        }
        if (cp >= 0xd800 && cp <= 0xdfff)
            cp = 0xfffd;
        if (cp < 0x80) {
            out[n++] = (char)cp;
        } else if (cp < 0x800) {
            out[n++] = (char)(0xc0 | (cp >> 6));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            out[n++] = (char)(0xe0 | (cp >> 12));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            out[n++] = (char)(0xf0 | (cp >> 18));
            out[n++] = (char)(0x80 | ((cp >> 12) & 0x3f));
            out[n++] = (char)(0x80 | ((cp >> 6) & 0x3f));
            out[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    return n;
}

static int64_t trand_int(spt_rng *rng)
{
    switch (spt_rng_next(rng) % 5) {
    case 0: return spt_rng_range(rng, -10, 10);
    case 1: return spt_rng_chance(rng, 50) ? INT64_MAX : -INT64_MAX;
    case 2: return spt_rng_range(rng, -INT64_MAX, INT64_MAX);
    case 3: return spt_rng_range(rng, -1000000000000, 1000000000000);
    default: return spt_rng_range(rng, -2000000000, 2000000000);
    }
}

static void tgen(spt_rng *rng, tnode *t, int depth)
{
    memset(t, 0, sizeof *t);
    t->kind = (int)(spt_rng_next(rng) % (depth < 5 ? 7 : 5));
    if (t->kind == 1)
        t->num = spt_rng_chance(rng, 50);
    else if (t->kind == 2 || t->kind == 3)
        t->num = trand_int(rng);
    else if (t->kind == 4)
        t->str_len = trand_text(rng, t->str, sizeof t->str);
    if (t->kind < 5)
        return;
    t->nkids = (size_t)spt_rng_range(rng, 0, depth == 0 ? 12 : 5);
    t->kids = calloc(t->nkids + 1, sizeof *t->kids);
    assert_non_null(t->kids);
    for (size_t i = 0; i < t->nkids; i++) {
        tgen(rng, &t->kids[i], depth + 1);
        if (t->kind == 6) {
            /* Distinct names: random text, then the index after a '#'. */
            size_t n = trand_text(rng, t->kids[i].key, 12);
            n += (size_t)snprintf(t->kids[i].key + n, sizeof t->kids[i].key - n, "#%zu", i);
            t->kids[i].key_len = n;
        }
    }
}

static void tfree(tnode *t)
{
    for (size_t i = 0; i < t->nkids; i++)
        tfree(&t->kids[i]);
    free(t->kids);
}

/* Parse in both modes: a valid tree re-encodes to bytes that parse and re-encode to
 * themselves; anything else is the document's error. Never a crash. */
static void parse_any(sp_ctx *ctx, const uint8_t *bytes, size_t len)
{
    for (uint32_t flags = 0; flags <= SPI_RDOC_USER; flags += SPI_RDOC_USER) {
        spi_rdoc *doc = NULL;
        int rc = spi_rdoc_parse(&doc, ctx, "m", bytes, len, flags, NULL);
        if (rc != SP_OK) {
            assert_int_equal(rc, flags ? SP_EINVAL : SP_ECORRUPT);
            assert_memory_equal(sp_ctx_errmsg(ctx), "m: ", 3);
            continue;
        }
        spi_writer w;
        spi_writer_init(&w, ctx);
        spi_writer_copy(&w, doc, spi_rdoc_root(doc));
        uint8_t *once, *twice;
        size_t n1, n2;
        assert_int_equal(spi_writer_finish(&w, &once, &n1), SP_OK);
        assert_true(n1 <= len);
        spi_rdoc *again = NULL;
        assert_int_equal(spi_rdoc_parse(&again, ctx, "m", once, n1, flags, NULL), SP_OK);
        assert_int_equal(spi_rdoc_nodes(again), spi_rdoc_nodes(doc));
        spi_writer_copy(&w, again, spi_rdoc_root(again));
        assert_int_equal(spi_writer_finish(&w, &twice, &n2), SP_OK);
        assert_int_equal(n1, n2);
        assert_memory_equal(once, twice, n1);
        spi_free(ctx, once);
        spi_free(ctx, twice);
        spi_rdoc_free(again);
        spi_rdoc_free(doc);
    }
}

static void test_property_round_trip(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 11 };
    unsigned iterations = spt_iterations(400);
    tbuf expect = { NULL, 0, 0 };
    for (unsigned it = 0; it < iterations; it++) {
        tnode t;
        tgen(&rng, &t, 0);
        expect.len = 0;
        tserialize(&expect, &t);
        spi_writer w;
        spi_writer_init(&w, ctx);
        twrite(&w, &t);
        uint8_t *bytes;
        size_t len;
        assert_int_equal(spi_writer_finish(&w, &bytes, &len), SP_OK);
        /* The writer agrees with the second serializer byte for byte. */
        if (len != expect.len || memcmp(bytes, expect.p, len) != 0)
            fail_msg("iteration %u:\nwriter %.*s\nexpect %.*s", it, (int)len, (const char *)bytes,
                     (int)expect.len, expect.p);
        /* decode -> same values; encode again -> same bytes. */
        spi_rdoc *doc = NULL;
        assert_int_equal(spi_rdoc_parse(&doc, ctx, "p", bytes, len, SPI_RDOC_USER, NULL), SP_OK);
        tcheck(doc, spi_rdoc_root(doc), &t);
        spi_writer_copy(&w, doc, spi_rdoc_root(doc));
        uint8_t *again;
        size_t alen;
        assert_int_equal(spi_writer_finish(&w, &again, &alen), SP_OK);
        assert_int_equal(alen, len);
        assert_memory_equal(again, bytes, len);
        spi_free(ctx, again);
        spi_rdoc_free(doc);

        /* Mutations of the valid document: flip, insert, delete, duplicate a range. */
        uint8_t *m = malloc(len * 2 + 16);
        assert_non_null(m);
        for (int k = 0; k < 8; k++) {
            memcpy(m, bytes, len);
            size_t mlen = len;
            for (int e = 0, edits = (int)spt_rng_range(&rng, 1, 3); e < edits; e++) {
                size_t at = mlen > 0 ? (size_t)spt_rng_range(&rng, 0, (int64_t)mlen - 1) : 0;
                static const char interesting[] = "\"\\{}[],:-.0e\x80\xc0\xed\xf4\xff u";
                uint8_t c = spt_rng_chance(&rng, 50)
                                ? (uint8_t)interesting[spt_rng_next(&rng) % (sizeof interesting - 1)]
                                : (uint8_t)spt_rng_next(&rng);
                switch (spt_rng_next(&rng) % 4) {
                case 0:
                    if (mlen > 0)
                        m[at] = c;
                    break;
                case 1:
                    memmove(m + at + 1, m + at, mlen - at);
                    m[at] = c;
                    mlen++;
                    break;
                case 2:
                    if (mlen > 0) {
                        memmove(m + at, m + at + 1, mlen - at - 1);
                        mlen--;
                    }
                    break;
                default: {
                    size_t span = (size_t)spt_rng_range(&rng, 0, 8);
                    if (span > mlen - at)
                        span = mlen - at;
                    if (mlen + span <= len * 2 + 16) {
                        memmove(m + at + span, m + at, mlen - at);
                        mlen += span;
                    }
                    break;
                }
                }
            }
            parse_any(ctx, m, mlen);
        }
        free(m);
        spi_free(ctx, bytes);
        tfree(&t);
    }
    free(expect.p);
    sp_ctx_free(ctx);
}

/* ======================================================================================
 * Typed columns
 * ====================================================================================== */

static const char *const grains[] = { "year", "half", "quarter" };

/* Every codec's writer, and the bytes docs/record-format.md gives for each. */
static void test_columns_write(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spi_writer w;
    spi_writer_init(&w, ctx);
    const int64_t a[] = { 5, -7, 9 };
    const uint8_t valid[] = { 1, 0, 1 };
    const int32_t d[] = { -1, 20454 };
    const uint32_t u[] = { 0, UINT32_MAX }, p[] = { UINT32_MAX, 0, 2 }, f[] = { 0, 96 },
                   e[] = { 2, 0 };
    const sp_dec g[] = { 35000000, -1000000000, 1 };
    const char *const str[] = { "x", NULL, "\xc3\xa9" };
    spi_writer_begin_object(&w);
    spi_col_write_i64(&w, "a", a, valid, 3);
    spi_col_write_i64(&w, "b", a, NULL, 2);
    spi_col_write_i32(&w, "d", d, 2);
    spi_col_write_u32(&w, "u", u, 2);
    spi_col_write_index(&w, "p", p, 3);
    spi_col_write_dec(&w, "g", g, 3);
    spi_col_write_flags(&w, "f", f, 2);
    spi_col_write_enum(&w, "e", e, 2, grains, 3);
    spi_col_write_str(&w, "s", str, 3);
    spi_writer_key(&w, "n");
    spi_writer_begin_array(&w);
    spi_col_write_i64(&w, NULL, a, NULL, 0);
    spi_col_write_dec(&w, NULL, g, 1);
    spi_writer_end_array(&w);
    spi_writer_member_enum(&w, "m", grains, 3, 1);
    spi_writer_member_cstr_or_null(&w, "o", NULL);
    spi_writer_end_object(&w);
    expect_bytes(&w, "{\"a\":[5,null,9],\"b\":[5,-7],\"d\":[-1,20454],\"u\":[0,4294967295],"
                     "\"p\":[null,0,2],\"g\":[0.035,-1,0.000000001],\"f\":[0,96],"
                     "\"e\":[\"quarter\",\"year\"],\"s\":[\"x\",null,\"\xc3\xa9\"],"
                     "\"n\":[[],[0.035]],\"m\":\"half\",\"o\":null}");
    /* An enumeration value without a name is the encoder's bug. */
    spi_writer_init(&w, ctx);
    spi_writer_begin_object(&w);
    spi_col_write_enum(&w, "e", e, 2, grains, 2);
    spi_writer_end_object(&w);
    expect_writer_error(&w, SP_EINTERNAL,
                        "record writer: field 'e': enumeration value 2 has no name (2 names)");
    sp_ctx_free(ctx);
}

static void test_columns_read(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    const char *text = "{\"a\":[5,null,9],\"d\":[-1,20454],\"u\":[0,4294967295],"
                       "\"p\":[null,0,2],\"g\":[0.035,-1,0.000000001,0.1000000000],"
                       "\"f\":[0,96],\"e\":[\"quarter\",\"yaer\"],\"s\":[\"x\",null,\"y\\u0000\"],"
                       "\"i\":[9223372036854775807,-9223372036854775807,-0,2.0],"
                       "\"h\":[9223372036.854775807,12345678901.5,0.0000000001],"
                       "\"w\":[92233720368547758070],\"t\":[\"a\",1]}";
    spi_rdoc *doc = parse(ctx, text);
    const spi_rnode *r = spi_rdoc_root(doc);
    int64_t i64[4] = { 0 };
    uint8_t valid[3] = { 7, 7, 7 };
    int32_t i32[2];
    uint32_t u32[3];
    sp_dec dec[4];
    char *str[3] = { NULL, NULL, NULL };

    assert_int_equal(spi_col_read_i64(doc, r, "a", 3, -10, 10, i64, valid), SP_OK);
    assert_int_equal(i64[0], 5);
    assert_int_equal(i64[1], 0);
    assert_int_equal(i64[2], 9);
    assert_int_equal(valid[0], 1);
    assert_int_equal(valid[1], 0);
    assert_int_equal(valid[2], 1);
    spt_expect_corrupt_marker(ctx, spi_col_read_i64(doc, r, "a", 3, -10, 10, i64, NULL), text,
                              "null", "doc: a[1]: expected an integer, found null");
    spt_expect_corrupt_marker(ctx, spi_col_read_i64(doc, r, "a", 2, -10, 10, i64, valid), text,
                              "[5,", "doc: a: 3 values where 2 are due");
    spt_expect_corrupt_marker(ctx, spi_col_read_i64(doc, r, "a", 3, 6, 10, i64, valid), text, "5,",
                              "doc: a[0]: expected an integer from 6 to 10, found 5");
    spt_expect_error(ctx, spi_col_read_i64(doc, r, "zz", 0, 0, 0, i64, NULL), SP_ECORRUPT,
                     "doc: missing field 'zz' (line 1, column 1, byte 0)");

    assert_int_equal(spi_col_read_i32(doc, r, "d", 2, INT32_MIN, INT32_MAX, i32), SP_OK);
    assert_int_equal(i32[0], -1);
    assert_int_equal(i32[1], 20454);
    spt_expect_corrupt_marker(ctx, spi_col_read_i32(doc, r, "d", 2, 0, INT32_MAX, i32), text, "-1",
                              "doc: d[0]: expected an integer from 0 to 2147483647, found -1");

    assert_int_equal(spi_col_read_u32(doc, r, "u", 2, 0, UINT32_MAX, u32), SP_OK);
    assert_int_equal(u32[0], 0);
    assert_int_equal(u32[1], UINT32_MAX);
    spt_expect_corrupt_marker(ctx, spi_col_read_u32(doc, r, "u", 2, 0, 100, u32), text,
                              "4294967295",
                              "doc: u[1]: expected an integer from 0 to 100, found 4294967295");

    assert_int_equal(spi_col_read_index(doc, r, "p", 3, 2, u32), SP_OK);
    assert_int_equal(u32[0], UINT32_MAX);
    assert_int_equal(u32[1], 0);
    assert_int_equal(u32[2], 2);
    spt_expect_corrupt_marker(ctx, spi_col_read_index(doc, r, "p", 3, 1, u32), text, "2],\"g",
                              "doc: p[2]: expected an integer from 0 to 1, found 2");
    /* UINT32_MAX is the null, never a value. */
    spt_expect_corrupt_marker(ctx, spi_col_read_index(doc, r, "u", 2, UINT32_MAX, u32), text,
                              "4294967295",
                              "doc: u[1]: expected an integer from 0 to 4294967294, found "
                              "4294967295");

    /* 0.1000000000: trailing zeros beyond the ninth decimal are fine. */
    assert_int_equal(spi_col_read_dec(doc, r, "g", 4, -SP_DEC_ONE, SP_DEC_ONE, dec), SP_OK);
    assert_int_equal(dec[0], 35000000);
    assert_int_equal(dec[1], -1000000000);
    assert_int_equal(dec[2], 1);
    assert_int_equal(dec[3], 100000000);
    spt_expect_corrupt_marker(ctx, spi_col_read_dec(doc, r, "g", 4, 0, SP_DEC_ONE, dec), text,
                              "-1,0.0", "doc: g[1]: expected a decimal from 0 to 1, found -1");
    assert_int_equal(spi_col_read_dec(doc, r, "h", 1, 0, INT64_MAX, dec), SP_ECORRUPT);
    spt_expect_corrupt_marker(ctx, spi_col_read_dec(doc, r, "h", 3, 0, INT64_MAX, dec), text,
                              "12345678901.5",
                              "doc: h[1]: 12345678901.5 is out of range (decimals lie within "
                              "-9223372036.854775807 to 9223372036.854775807)");
    assert_int_equal(dec[0], INT64_MAX);

    /* Integers at the ends of the format, -0, and what is not an integer. */
    assert_int_equal(spi_col_read_i64(doc, r, "i", 4, -INT64_MAX, INT64_MAX, i64, NULL),
                     SP_ECORRUPT);
    assert_int_equal(i64[0], INT64_MAX);
    assert_int_equal(i64[1], -INT64_MAX);
    assert_int_equal(i64[2], 0);
    spt_expect_corrupt_marker(ctx,
                              spi_col_read_i64(doc, r, "i", 4, -INT64_MAX, INT64_MAX, i64, NULL),
                              text, "2.0", "doc: i[3]: expected an integer, found 2.0");
    spt_expect_corrupt_marker(ctx,
                              spi_col_read_i64(doc, r, "w", 1, -INT64_MAX, INT64_MAX, i64, NULL),
                              text, "92233720368547758070",
                              "doc: w[0]: expected an integer from -9223372036854775807 to "
                              "9223372036854775807, found 92233720368547758070");

    assert_int_equal(spi_col_read_flags(doc, r, "f", 2, 0x7f, u32), SP_OK);
    assert_int_equal(u32[1], 96);
    spt_expect_corrupt_marker(ctx, spi_col_read_flags(doc, r, "f", 2, 0x3f, u32), text, "96]",
                              "doc: f[1]: 96 has bits outside the known ones (0x3f)");

    spt_expect_corrupt_marker(ctx, spi_col_read_enum(doc, r, "e", 2, grains, 3, u32), text,
                              "\"yaer\"",
                              "doc: e[1]: expected one of 'year', 'half', 'quarter', found "
                              "'yaer'; did you mean 'year'?");
    assert_int_equal(u32[0], 2);

    spt_expect_corrupt_marker(ctx, spi_col_read_str(doc, r, "s", 3, SPI_REC_NULL, str), text,
                              "\"y\\u",
                              "doc: s[2]: the string contains U+0000, which is not accepted here");
    assert_string_equal(str[0], "x");
    assert_null(str[1]);
    spi_free(ctx, str[0]);
    str[0] = NULL;
    spt_expect_corrupt_marker(ctx, spi_col_read_str(doc, r, "s", 3, 0, str), text, "null,\"y",
                              "doc: s[1]: expected a string, found null");
    spi_free(ctx, str[0]);
    spt_expect_corrupt_marker(ctx, spi_col_read_str(doc, r, "t", 2, 0, str), text, "1]}",
                              "doc: t[1]: expected a string, found 1");
    spi_free(ctx, str[0]);
    /* A column that is not an array; a bare array (key NULL). */
    spt_expect_corrupt_marker(ctx,
                              spi_col_read_u32(doc, spi_rnode_member(doc, r, "a"), "x", 0, 0, 1, u32),
                              text, "[5,", "doc: a: expected an object, found an array");
    assert_int_equal(spi_col_read_i32(doc, spi_rnode_member(doc, r, "d"), NULL, 2, -1, 20454,
                                      i32),
                     SP_OK);
    spi_rdoc_free(doc);

    /* Sparse columns: rows ascending, each once, within the record's rows. */
    text = "{\"l\":[{\"node\":3,\"r\":\"x\"},{\"node\":5,\"r\":\"y\"}],"
           "\"d\":[{\"node\":4},{\"node\":4}],\"o\":[{\"node\":6}],\"q\":[{\"r\":1}]}";
    doc = parse(ctx, text);
    r = spi_rdoc_root(doc);
    spi_col_sparse sp;
    const spi_rnode *entry;
    uint32_t row, seen[2];
    size_t k = 0;
    int rc = spi_col_sparse_open(&sp, doc, r, "l", 3, 6);
    while (rc == SP_OK && spi_col_sparse_next(&sp, &rc, &entry, &row))
        seen[k++] = row;
    assert_int_equal(rc, SP_OK);
    assert_int_equal(sp.count, 2);
    assert_int_equal(k, 2);
    assert_int_equal(seen[0], 3);
    assert_int_equal(seen[1], 5);
    assert_int_equal(spi_col_sparse_open(&sp, doc, r, "d", 0, 9), SP_OK);
    assert_true(spi_col_sparse_next(&sp, &rc, &entry, &row));
    assert_false(spi_col_sparse_next(&sp, &rc, &entry, &row));
    spt_expect_corrupt_marker(ctx, rc, text, "4}]",
                              "doc: d[1].node: node 4 after node 4 (ascending, each once)");
    assert_int_equal(spi_col_sparse_open(&sp, doc, r, "o", 3, 6), SP_OK);
    assert_false(spi_col_sparse_next(&sp, &rc, &entry, &row));
    spt_expect_corrupt_marker(ctx, rc, text, "6}]",
                              "doc: o[0].node: expected an integer from 3 to 5, found 6");
    assert_int_equal(spi_col_sparse_open(&sp, doc, r, "o", 7, 7), SP_OK);
    assert_false(spi_col_sparse_next(&sp, &rc, &entry, &row));
    spt_expect_corrupt_marker(ctx, rc, text, "{\"node\":6}",
                              "doc: o[0]: an entry where the record holds no rows");
    assert_int_equal(spi_col_sparse_open(&sp, doc, r, "q", 0, 7), SP_OK);
    assert_false(spi_col_sparse_next(&sp, &rc, &entry, &row));
    spt_expect_corrupt_marker(ctx, rc, text, "{\"r\":1}", "doc: q[0]: missing field 'node'");
    spi_rdoc_free(doc);

    /* Scalars: u32 and NUL-free copies. */
    text = "{\"v\":7,\"s\":\"ab\",\"z\":null}";
    doc = parse(ctx, text);
    r = spi_rdoc_root(doc);
    uint32_t v = 9;
    char *copy = (char *)&copy;
    assert_int_equal(spi_rec_u32(doc, r, "x", SPI_REC_OPTIONAL, 0, 9, &v), SP_OK);
    assert_int_equal(v, 9);
    assert_int_equal(spi_rec_u32(doc, r, "v", 0, 0, 9, &v), SP_OK);
    assert_int_equal(v, 7);
    spt_expect_corrupt_marker(ctx, spi_rec_u32(doc, r, "v", 0, 8, 9, &v), text, "7,",
                              "doc: v: expected an integer from 8 to 9, found 7");
    assert_int_equal(spi_rec_strdup(doc, r, "z", SPI_REC_NULL, &copy), SP_OK);
    assert_null(copy);
    spt_expect_corrupt_marker(ctx, spi_rec_strdup(doc, r, "z", 0, &copy), text, "null",
                              "doc: z: expected a string, found null");
    assert_int_equal(spi_rec_strdup(doc, r, "s", 0, &copy), SP_OK);
    assert_string_equal(copy, "ab");
    spi_free(ctx, copy);
    spi_rdoc_free(doc);
    sp_ctx_free(ctx);
}

/* Columns of random values and lengths come back as written, through the fast path and
 * the typed accessors alike (values at the ends of the range included). */
static void test_columns_property(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 7 };
    const unsigned iterations = spt_iterations(300);
    for (unsigned it = 0; it < iterations; it++) {
        size_t n = (size_t)spt_rng_range(&rng, 0, 40);
        int64_t a[40], b[40];
        sp_dec g[40], h[40];
        uint32_t x[40], y[40];
        uint8_t valid[40], back[40];
        for (size_t i = 0; i < n; i++) {
            int64_t ends[] = { INT64_MAX, -INT64_MAX, 0, -1, 999999999, 1000000000 };
            a[i] = spt_rng_chance(&rng, 20) ? ends[spt_rng_range(&rng, 0, 5)]
                                            : spt_rng_range(&rng, -INT64_MAX, INT64_MAX);
            g[i] = spt_rng_chance(&rng, 50) ? spt_rng_range(&rng, -2000000000, 2000000000)
                                            : a[i];
            x[i] = (uint32_t)spt_rng_next(&rng);
            valid[i] = spt_rng_chance(&rng, 80);
        }
        spi_writer w;
        spi_writer_init(&w, ctx);
        spi_writer_begin_object(&w);
        spi_col_write_i64(&w, "a", a, valid, n);
        spi_col_write_dec(&w, "g", g, n);
        spi_col_write_u32(&w, "x", x, n);
        spi_writer_end_object(&w);
        uint8_t *bytes;
        size_t len;
        assert_int_equal(spi_writer_finish(&w, &bytes, &len), SP_OK);
        spi_rdoc *doc = parse_n(ctx, (const char *)bytes, len, SPI_RDOC_STORED);
        const spi_rnode *r = spi_rdoc_root(doc);
        assert_int_equal(spi_col_read_i64(doc, r, "a", n, -INT64_MAX, INT64_MAX, b, back), SP_OK);
        assert_int_equal(spi_col_read_dec(doc, r, "g", n, -INT64_MAX, INT64_MAX, h), SP_OK);
        assert_int_equal(spi_col_read_u32(doc, r, "x", n, 0, UINT32_MAX, y), SP_OK);
        for (size_t i = 0; i < n; i++) {
            assert_int_equal(back[i], valid[i] != 0);
            assert_int_equal(b[i], valid[i] ? a[i] : 0);
            assert_int_equal(h[i], g[i]);
            assert_int_equal(y[i], x[i]);
        }
        spi_rdoc_free(doc);
        spi_free(ctx, bytes);
    }
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_writer_canonical),
        cmocka_unit_test(test_writer_escapes),
        cmocka_unit_test(test_writer_numbers),
        cmocka_unit_test(test_writer_errors),
        cmocka_unit_test(test_writer_limits),
        cmocka_unit_test(test_writer_fault_loop),
        cmocka_unit_test(test_envelope),
        cmocka_unit_test(test_reader_values),
        cmocka_unit_test(test_copy_canonical),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_typed_errors),
        cmocka_unit_test(test_unknown_members),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_duplicates_large),
        cmocka_unit_test(test_reader_fault_loop),
        cmocka_unit_test(test_property_round_trip),
        cmocka_unit_test(test_columns_write),
        cmocka_unit_test(test_columns_read),
        cmocka_unit_test(test_columns_property),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
