/* Dictionaries: ids to dense indices and back, UTF-8 rules, atomic batches (pointers and
 * packed), silent lookups, clones, faults. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "storage/dict_internal.h"
#include "support/spt.h"

static sp_dict *new_dict(sp_ctx *ctx)
{
    sp_dict *d = NULL;
    assert_int_equal(sp_dict_new(&d, ctx), SP_OK);
    assert_non_null(d);
    return d;
}

static uint32_t add(sp_dict *d, const char *id)
{
    uint32_t index = 12345;
    assert_int_equal(sp_dict_add(d, id, strlen(id), &index), SP_OK);
    return index;
}

static void expect_id(const sp_dict *d, uint32_t index, const char *want, size_t want_len)
{
    const char *id = NULL;
    size_t len = 0;
    assert_int_equal(sp_dict_id(d, index, &id, &len), SP_OK);
    assert_int_equal(len, want_len);
    assert_memory_equal(id, want, want_len);
    assert_int_equal(id[len], '\0');
}

/* ---- the happy path ---- */

static void test_add_find_id(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    assert_int_equal(sp_dict_count(d), 0);
    /* Indices are dense, in order of first addition. */
    assert_int_equal(add(d, "rep-001"), 0);
    assert_int_equal(add(d, "网格-东区"), 1);
    assert_int_equal(add(d, "rep-002"), 2);
    assert_int_equal(sp_dict_count(d), 3);

    uint32_t index = 99;
    assert_int_equal(sp_dict_find(d, "网格-东区", strlen("网格-东区"), &index), SP_OK);
    assert_int_equal(index, 1);
    assert_int_equal(sp_dict_find(d, "rep-002", 7, &index), SP_OK);
    assert_int_equal(index, 2);
    /* A length shorter than the text is a different id. */
    assert_int_equal(sp_dict_find(d, "rep-002", 6, &index), SP_ENOTFOUND);
    assert_int_equal(index, 2);
    assert_int_equal(sp_dict_find(d, "rep-001", 7, NULL), SP_OK);

    expect_id(d, 0, "rep-001", 7);
    expect_id(d, 1, "网格-东区", strlen("网格-东区"));

    /* Interning finds what is there and adds what is not. */
    assert_int_equal(sp_dict_intern(d, "rep-001", 7, &index), SP_OK);
    assert_int_equal(index, 0);
    assert_int_equal(sp_dict_intern(d, "rep-003", 7, &index), SP_OK);
    assert_int_equal(index, 3);
    assert_int_equal(sp_dict_intern(d, "rep-003", 7, NULL), SP_OK);
    assert_int_equal(sp_dict_count(d), 4);

    /* Ids are bytes: not NUL-terminated input works, and case matters. */
    const char buf[] = { 'R', 'E', 'P', '-', '0', '0', '1' };
    assert_int_equal(sp_dict_add(d, buf, sizeof buf, &index), SP_OK);
    assert_int_equal(index, 4);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_id_pointers_stay_valid(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "first");
    const char *first = NULL;
    assert_int_equal(sp_dict_id(d, 0, &first, NULL), SP_OK);
    /* 100000 more ids grow every structure many times; the first id does not move. */
    char id[32];
    for (unsigned i = 0; i < 100000; i++) {
        int len = snprintf(id, sizeof id, "customer %u", i);
        assert_int_equal(sp_dict_add(d, id, (size_t)len, NULL), SP_OK);
    }
    const char *again = NULL;
    assert_int_equal(sp_dict_id(d, 0, &again, NULL), SP_OK);
    assert_ptr_equal(again, first);
    assert_string_equal(first, "first");
    for (unsigned i = 0; i < 100000; i += 997) {
        int len = snprintf(id, sizeof id, "customer %u", i);
        uint32_t index;
        assert_int_equal(sp_dict_find(d, id, (size_t)len, &index), SP_OK);
        assert_int_equal(index, i + 1);
        expect_id(d, index, id, (size_t)len);
    }
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_lengths(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    /* The longest id, 65535 bytes; one byte more is refused. */
    char *big = malloc(65536);
    memset(big, 'a', 65536);
    uint32_t index = 7;
    assert_int_equal(sp_dict_add(d, big, 65536, &index), SP_EINVAL);
    /* The message quotes the first 80 bytes. */
    char want[200] = "dict: id \"";
    memset(want + strlen(want), 'a', 80);
    strcpy(want + strlen("dict: id \"") + 80, "\"... is 65536 bytes long (at most 65535)");
    assert_string_equal(sp_ctx_errmsg(ctx), want);
    assert_int_equal(index, 7);
    assert_int_equal(sp_dict_add(d, big, 65535, &index), SP_OK);
    assert_int_equal(index, 0);
    expect_id(d, 0, big, 65535);
    /* Ids of one byte, and ids that differ in one byte at every position of a word. */
    assert_int_equal(add(d, "x"), 1);
    char id[40];
    for (size_t len = 1; len <= 33; len++) {
        memset(id, 'k', len);
        for (size_t pos = 0; pos < len; pos++) {
            id[pos] = 'K';
            assert_int_equal(sp_dict_add(d, id, len, NULL), SP_OK);
            id[pos] = 'k';
        }
    }
    /* 1 + 2 + ... + 33 = 561 ids added in the loop, after the two before. */
    assert_int_equal(sp_dict_count(d), 2 + 561);
    free(big);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

/* ---- bad input ---- */

static void test_bad_arguments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = NULL;
    assert_int_equal(sp_dict_new(NULL, ctx), SP_EINVAL);
    assert_int_equal(sp_dict_new(&d, NULL), SP_EINVAL);
    assert_null(d);
    d = new_dict(ctx);
    uint32_t index = 5;
    assert_int_equal(sp_dict_add(NULL, "a", 1, &index), SP_EINVAL);
    assert_int_equal(sp_dict_intern(NULL, "a", 1, &index), SP_EINVAL);
    assert_int_equal(sp_dict_find(NULL, "a", 1, &index), SP_EINVAL);
    assert_int_equal(sp_dict_add_all(NULL, NULL, NULL, 0, NULL), SP_EINVAL);
    assert_int_equal(sp_dict_id(NULL, 0, &(const char *){ NULL }, NULL), SP_EINVAL);
    assert_int_equal(sp_dict_count(NULL), 0);
    sp_dict_free(NULL);

    assert_int_equal(sp_dict_add(d, NULL, 1, &index), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id is NULL");
    assert_int_equal(sp_dict_intern(d, NULL, 0, &index), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id is NULL");
    assert_int_equal(sp_dict_find(d, NULL, 0, &index), SP_EINVAL);
    assert_int_equal(sp_dict_add(d, "", 0, &index), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id is empty");
    assert_int_equal(sp_dict_intern(d, "", 0, &index), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id is empty");
    assert_int_equal(sp_dict_add(d, "a\0b", 3, &index), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id \"a\\x00b\" has a NUL byte at byte 1");
    assert_int_equal(index, 5);
    assert_int_equal(sp_dict_count(d), 0);

    add(d, "a");
    add(d, "b");
    add(d, "c");
    const char *id = "untouched";
    size_t len = 42;
    assert_int_equal(sp_dict_id(d, 3, &id, &len), SP_ENOTFOUND);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: index 3 is not in the dictionary (count 3)");
    assert_int_equal(sp_dict_id(d, SP_NONE, &id, &len), SP_ENOTFOUND);
    assert_string_equal(id, "untouched");
    assert_int_equal(len, 42);
    assert_int_equal(sp_dict_id(d, 0, NULL, &len), SP_EINVAL);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_duplicates_quote_the_id(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "rep-7");
    add(d, "网格");
    add(d, "a\tb\"c\\");
    uint32_t index = 77;
    assert_int_equal(sp_dict_add(d, "rep-7", 5, &index), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id \"rep-7\" is already present (index 0)");
    /* Valid UTF-8 is quoted as it is; control bytes, quotes and backslashes escaped. */
    assert_int_equal(sp_dict_add(d, "网格", strlen("网格"), &index), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id \"网格\" is already present (index 1)");
    assert_int_equal(sp_dict_add(d, "a\tb\"c\\", 6, &index), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "dict: id \"a\\x09b\\\"c\\\\\" is already present (index 2)");
    assert_int_equal(index, 77);
    assert_int_equal(sp_dict_count(d), 3);

    /* A long id is quoted up to 80 bytes, cut between characters: 30 x "格" (3 bytes
     * each) is 90 bytes, of which 26 characters (78 bytes) fit. */
    char long_id[91] = "", want[300] = "dict: id \"";
    for (int i = 0; i < 30; i++)
        strcat(long_id, "格");
    for (int i = 0; i < 26; i++)
        strcat(want, "格");
    strcat(want, "\"... is already present (index 3)");
    add(d, long_id);
    assert_int_equal(sp_dict_add(d, long_id, 90, NULL), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), want);

    assert_int_equal(sp_dict_find(d, "nobody", 6, &index), SP_ENOTFOUND);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id \"nobody\" not found");
    assert_int_equal(index, 77);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

typedef struct utf8_case {
    const char *bytes;
    const char *message; /* NULL: valid */
} utf8_case;

static void test_utf8(void **state)
{
    (void)state;
    /* The boundaries of the Unicode standard's table of well-formed byte sequences
     * (table 3-7): the first and last valid values of each row, and the values just
     * outside. */
    static const utf8_case cases[] = {
        { "\x7F", NULL },                    /* U+007F, the last one-byte form */
        { "\xC2\x80", NULL },                /* U+0080 */
        { "\xDF\xBF", NULL },                /* U+07FF */
        { "\xE0\xA0\x80", NULL },            /* U+0800 */
        { "\xED\x9F\xBF", NULL },            /* U+D7FF, below the surrogates */
        { "\xEE\x80\x80", NULL },            /* U+E000, above them */
        { "\xEF\xBF\xBF", NULL },            /* U+FFFF */
        { "\xF0\x90\x80\x80", NULL },        /* U+10000 */
        { "\xF4\x8F\xBF\xBF", NULL },        /* U+10FFFF, the last code point */
        { "x\x80",
          "dict: id \"x\\x80\" is not valid UTF-8: unexpected continuation byte at byte 1" },
        { "\xBF", "dict: id \"\\xBF\" is not valid UTF-8: unexpected continuation byte at byte 0" },
        { "a\xC0\x80", "dict: id \"a\\xC0\\x80\" is not valid UTF-8: overlong encoding at byte 1" },
        { "\xC1\xBF", "dict: id \"\\xC1\\xBF\" is not valid UTF-8: overlong encoding at byte 0" },
        { "\xE0\x9F\xBF",
          "dict: id \"\\xE0\\x9F\\xBF\" is not valid UTF-8: overlong encoding at byte 0" },
        { "\xF0\x8F\xBF\xBF",
          "dict: id \"\\xF0\\x8F\\xBF\\xBF\" is not valid UTF-8: overlong encoding at byte 0" },
        { "\xED\xA0\x80",
          "dict: id \"\\xED\\xA0\\x80\" is not valid UTF-8: encoded surrogate (U+D800..U+DFFF) at byte 0" },
        { "ok\xED\xBF\xBF",
          "dict: id \"ok\\xED\\xBF\\xBF\" is not valid UTF-8: encoded surrogate (U+D800..U+DFFF) at byte 2" },
        { "\xF4\x90\x80\x80", "dict: id \"\\xF4\\x90\\x80\\x80\" is not valid UTF-8: code point "
                              "above U+10FFFF at byte 0" },
        { "\xF7\xBF\xBF\xBF", "dict: id \"\\xF7\\xBF\\xBF\\xBF\" is not valid UTF-8: code point "
                              "above U+10FFFF at byte 0" },
        { "\xF8\x88\x80\x80\x80", "dict: id \"\\xF8\\x88\\x80\\x80\\x80\" is not valid UTF-8: "
                                  "byte never used in UTF-8 at byte 0" },
        { "\xFF", "dict: id \"\\xFF\" is not valid UTF-8: byte never used in UTF-8 at byte 0" },
        /* "东" is E4 B8 9C: cut after two bytes, at the end or before another byte. */
        { "ab\xE4\xB8", "dict: id \"ab\\xE4\\xB8\" is not valid UTF-8: truncated sequence at byte 2" },
        { "\xC3", "dict: id \"\\xC3\" is not valid UTF-8: truncated sequence at byte 0" },
        { "\xE4\xB8z",
          "dict: id \"\\xE4\\xB8z\" is not valid UTF-8: truncated sequence at byte 0" },
        /* Valid characters before the bad byte are quoted as they are. */
        { "东\xE4", "dict: id \"东\\xE4\" is not valid UTF-8: truncated sequence at byte 3" },
        /* Past the 8-byte ASCII fast path. */
        { "abcdefghij\x01", NULL },
        { "abcdefgh\x80", "dict: id \"abcdefgh\\x80\" is not valid UTF-8: unexpected continuation "
                          "byte at byte 8" },
    };
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    uint32_t expected_count = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const utf8_case *c = &cases[i];
        size_t len = strlen(c->bytes);
        int rc = sp_dict_add(d, c->bytes, len, NULL);
        if (c->message == NULL) {
            if (rc != SP_OK)
                fail_msg("case %zu: %s", i, sp_ctx_errmsg(ctx));
            expected_count++;
            continue;
        }
        if (rc != SP_EINVAL)
            fail_msg("case %zu: accepted, status %d", i, rc);
        assert_string_equal(sp_ctx_errmsg(ctx), c->message);
        /* Interning refuses it the same way; finding it just does not find it. */
        assert_int_equal(sp_dict_intern(d, c->bytes, len, NULL), SP_EINVAL);
        assert_string_equal(sp_ctx_errmsg(ctx), c->message);
        assert_int_equal(sp_dict_find(d, c->bytes, len, NULL), SP_ENOTFOUND);
    }
    assert_int_equal(sp_dict_count(d), expected_count);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

/* ---- batches ---- */

static void expect_absent(const sp_dict *d, const char *id)
{
    assert_int_equal(sp_dict_find(d, id, strlen(id), NULL), SP_ENOTFOUND);
}

static void test_add_all(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    const char *ids[] = { "c", "d", "e" };
    uint32_t indices[3] = { 9, 9, 9 };
    assert_int_equal(sp_dict_add_all(d, ids, NULL, 3, indices), SP_OK);
    assert_int_equal(indices[0], 2);
    assert_int_equal(indices[1], 3);
    assert_int_equal(indices[2], 4);
    /* With lengths (prefixes of longer text), and without an indices array. */
    const char *more[] = { "fXXX", "gg-tail" };
    const size_t lens[] = { 1, 2 };
    assert_int_equal(sp_dict_add_all(d, more, lens, 2, NULL), SP_OK);
    expect_id(d, 5, "f", 1);
    expect_id(d, 6, "gg", 2);
    assert_int_equal(sp_dict_add_all(d, NULL, NULL, 0, NULL), SP_OK);
    assert_int_equal(sp_dict_count(d), 7);

    /* A duplicate of the dictionary, a duplicate within the batch, an invalid id: none of
     * the batch is added, and the indices are not written. */
    uint32_t out[4] = { 9, 9, 9, 9 };
    const char *dup_old[] = { "x", "y", "b", "z" };
    assert_int_equal(sp_dict_add_all(d, dup_old, NULL, 4, out), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[2]: id \"b\" is already present (index 1)");
    const char *dup_new[] = { "x", "y", "z", "y" };
    assert_int_equal(sp_dict_add_all(d, dup_new, NULL, 4, out), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[3]: id \"y\" repeats ids[1]");
    /* Invalid ids are found before duplicates, wherever they are. */
    const char *invalid[] = { "x", "x", "ok", "\xC3" };
    assert_int_equal(sp_dict_add_all(d, invalid, NULL, 4, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "dict: ids[3]: id \"\\xC3\" is not valid UTF-8: truncated sequence at byte 0");
    const char *empty[] = { "x", "" };
    assert_int_equal(sp_dict_add_all(d, empty, NULL, 2, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[1]: id is empty");
    const char *null_id[] = { "x", NULL };
    assert_int_equal(sp_dict_add_all(d, null_id, NULL, 2, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[1]: id is NULL");
    assert_int_equal(sp_dict_add_all(d, NULL, NULL, 2, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids is NULL");
    const size_t nul_lens[] = { 1, 3 };
    const char *nul[] = { "x", "a\0b" };
    assert_int_equal(sp_dict_add_all(d, nul, nul_lens, 2, out), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[1]: id \"a\\x00b\" has a NUL byte at byte 1");

    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 9);
    assert_int_equal(sp_dict_count(d), 7);
    expect_absent(d, "x");
    expect_absent(d, "y");
    expect_absent(d, "z");
    /* The dictionary goes on from where it was. */
    assert_int_equal(add(d, "y"), 7);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

/* The rollback tests' dictionary before a failed batch: "old 0" .. "old 99" at indices
 * 0 .. 99. */
static sp_dict *old_ids_dict(sp_ctx *ctx)
{
    sp_dict *d = new_dict(ctx);
    char text[64];
    for (unsigned i = 0; i < 100; i++) {
        snprintf(text, sizeof text, "old %u", i);
        assert_int_equal(add(d, text), i);
    }
    return d;
}

/* Every old id is still found, at its index. */
static void expect_old_ids(const sp_dict *d)
{
    char text[64];
    for (unsigned i = 0; i < 100; i++) {
        snprintf(text, sizeof text, "old %u", i);
        uint32_t index;
        assert_int_equal(sp_dict_find(d, text, strlen(text), &index), SP_OK);
        assert_int_equal(index, i);
    }
}

static void test_add_all_rollback_after_growth(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = old_ids_dict(ctx);
    /* 20000 new ids (the table, the index array and the arena all grow), the last one a
     * repeat of the 5000th: everything the batch added is taken out again. */
    enum { N = 20000 };
    char **ids = malloc(N * sizeof *ids);
    for (unsigned i = 0; i < N; i++) {
        ids[i] = malloc(32);
        snprintf(ids[i], 32, "new %u", i == N - 1 ? 4999 : i);
    }
    assert_int_equal(sp_dict_add_all(d, (const char *const *)ids, NULL, N, NULL), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: ids[19999]: id \"new 4999\" repeats ids[4999]");
    assert_int_equal(sp_dict_count(d), 100);
    for (unsigned i = 0; i < N; i++)
        expect_absent(d, ids[i]);
    expect_old_ids(d);
    /* The same batch without the repeat goes in whole. */
    snprintf(ids[N - 1], 32, "new %u", N - 1);
    uint32_t *indices = malloc(N * sizeof *indices);
    assert_int_equal(sp_dict_add_all(d, (const char *const *)ids, NULL, N, indices), SP_OK);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(indices[i], 100 + i);
        uint32_t index;
        assert_int_equal(sp_dict_find(d, ids[i], strlen(ids[i]), &index), SP_OK);
        assert_int_equal(index, 100 + i);
        free(ids[i]);
    }
    free(ids);
    free(indices);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

/* ---- packed batches ---- */

static void test_add_packed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx), *e = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    const char *ids[] = { "c", "网格-东区", "rep-001", "d", "rep-00" };
    spt_packed p = spt_pack(ids, NULL, 5, 3);
    assert_int_equal(p.offsets[0], 3);
    uint32_t idx[5] = { 9, 9, 9, 9, 9 };
    assert_int_equal(sp_dict_add_packed(d, p.data, p.len, p.offsets, 5, idx), SP_OK);
    /* Expected: the indices the same ids get added one by one after "a" and "b". */
    add(e, "a");
    add(e, "b");
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(idx[i], add(e, ids[i]));
        assert_int_equal(idx[i], 2 + i);
        expect_id(d, idx[i], ids[i], strlen(ids[i]));
        uint32_t index;
        assert_int_equal(sp_dict_find(d, ids[i], strlen(ids[i]), &index), SP_OK);
        assert_int_equal(index, idx[i]);
    }
    assert_int_equal(sp_dict_count(d), 7);
    /* Nothing to add: data and offsets may be NULL; indices may be NULL. */
    assert_int_equal(sp_dict_add_packed(d, NULL, 0, NULL, 0, NULL), SP_OK);
    const char *more[] = { "e", "f" };
    spt_packed q = spt_pack(more, NULL, 2, 0);
    assert_int_equal(sp_dict_add_packed(d, q.data, q.len, q.offsets, 2, NULL), SP_OK);
    expect_id(d, 8, "f", 1);
    assert_int_equal(sp_dict_add_packed(NULL, q.data, q.len, q.offsets, 2, NULL), SP_EINVAL);
    assert_int_equal(sp_dict_count(d), 9);
    spt_packed_free(&p);
    spt_packed_free(&q);
    sp_dict_free(d);
    sp_dict_free(e);
    sp_ctx_free(ctx);
}

typedef struct packed_case {
    const char *what;
    const char *data; /* NULL: a NULL pointer */
    size_t len;
    uint64_t offsets[6]; /* n + 1 of them */
    size_t n;
    bool null_offsets;
    int rc;
    const char *msg;
} packed_case;

/* Offsets go wrong the same way for the three packed functions: one check. */
static const packed_case offset_cases[] = {
    { "data NULL", NULL, 4, { 0, 1, 2 }, 2, false, SP_EINVAL, "dict: data is NULL" },
    { "offsets NULL", "xy", 2, { 0 }, 2, true, SP_EINVAL, "dict: offsets is NULL" },
    { "decreasing", "xyzw", 4, { 0, 2, 1, 4 }, 3, false, SP_EINVAL,
      "dict: offsets[2] = 1 is below offsets[1] = 2 (offsets never decrease)" },
    { "beyond the data", "xyzw", 4, { 0, 1, 2, 5 }, 3, false, SP_EINVAL,
      "dict: offsets[3] = 5 is beyond data_len 4" },
    { "first beyond", "xyzw", 4, { 7, 8 }, 1, false, SP_EINVAL,
      "dict: offsets[0] = 7 is beyond data_len 4" },
    /* The buffer holds more, but data_len says where it ends. */
    { "beyond data_len", "xyzw", 3, { 0, 1, 2, 4 }, 3, false, SP_EINVAL,
      "dict: offsets[3] = 4 is beyond data_len 3" },
    /* Offsets come before the ids: ids[0] is invalid too. */
    { "offsets first", "\xC3x", 2, { 0, 1, 0 }, 2, false, SP_EINVAL,
      "dict: offsets[2] = 0 is below offsets[1] = 1 (offsets never decrease)" },
};

/* Bad ids; sp_dict_add_packed only (interning has its own cases). */
static const packed_case id_cases[] = {
    { "empty id", "xy", 2, { 0, 1, 1, 2 }, 3, false, SP_EINVAL, "dict: ids[1]: id is empty" },
    { "invalid UTF-8", "x\xC3y", 3, { 0, 1, 2, 3 }, 3, false, SP_EINVAL,
      "dict: ids[1]: id \"\\xC3\" is not valid UTF-8: truncated sequence at byte 0" },
    { "NUL byte", "xa\0b", 4, { 0, 1, 4 }, 2, false, SP_EINVAL,
      "dict: ids[1]: id \"a\\x00b\" has a NUL byte at byte 1" },
    { "present", "xyb", 3, { 0, 1, 2, 3 }, 3, false, SP_ECONFLICT,
      "dict: ids[2]: id \"b\" is already present (index 1)" },
    { "repeated", "xyzy", 4, { 0, 1, 2, 3, 4 }, 4, false, SP_ECONFLICT,
      "dict: ids[3]: id \"y\" repeats ids[1]" },
    /* Invalid ids are found before duplicates, wherever they are. */
    { "invalid after a repeat", "xx\xFF", 3, { 0, 1, 2, 3 }, 3, false, SP_EINVAL,
      "dict: ids[2]: id \"\\xFF\" is not valid UTF-8: byte never used in UTF-8 at byte 0" },
};

static int run_packed(int fn, sp_dict *d, const packed_case *c, uint32_t *out, size_t *missing)
{
    const uint64_t *offsets = c->null_offsets ? NULL : c->offsets;
    switch (fn) {
    case 0: return sp_dict_add_packed(d, c->data, c->len, offsets, c->n, out);
    case 1: return sp_dict_intern_packed(d, c->data, c->len, offsets, c->n, out);
    default: return sp_dict_find_packed(d, c->data, c->len, offsets, c->n, out, missing);
    }
}

static void test_packed_bad_input(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    uint32_t out[5] = { 9, 9, 9, 9, 9 };
    size_t missing = 99;
    for (int fn = 0; fn < 3; fn++) {
        for (size_t i = 0; i < sizeof offset_cases / sizeof offset_cases[0]; i++) {
            const packed_case *c = &offset_cases[i];
            int rc = run_packed(fn, d, c, out, &missing);
            if (rc != c->rc || strcmp(sp_ctx_errmsg(ctx), c->msg) != 0)
                fail_msg("function %d, %s: rc %d, \"%s\"", fn, c->what, rc, sp_ctx_errmsg(ctx));
        }
    }
    for (size_t i = 0; i < sizeof id_cases / sizeof id_cases[0]; i++) {
        const packed_case *c = &id_cases[i];
        int rc = run_packed(0, d, c, out, NULL);
        if (rc != c->rc || strcmp(sp_ctx_errmsg(ctx), c->msg) != 0)
            fail_msg("%s: rc %d, \"%s\"", c->what, rc, sp_ctx_errmsg(ctx));
    }
    /* The longest id, and one byte more. */
    char *big = malloc(65536);
    memset(big, 'a', 65536);
    const uint64_t long_offsets[] = { 0, 65536 };
    char want[200] = "dict: ids[0]: id \"";
    memset(want + strlen(want), 'a', 80);
    strcpy(want + strlen("dict: ids[0]: id \"") + 80, "\"... is 65536 bytes long (at most 65535)");
    spt_expect_error(ctx, sp_dict_add_packed(d, big, 65536, long_offsets, 1, out), SP_EINVAL, want);
    spt_expect_error(ctx, sp_dict_intern_packed(d, big, 65536, long_offsets, 1, out), SP_EINVAL,
                     want);

    /* Nothing changed, nothing written; then the same ids, valid, go in. */
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i], 9);
    assert_int_equal(missing, 99);
    assert_int_equal(sp_dict_count(d), 2);
    expect_absent(d, "x");
    expect_absent(d, "y");
    const uint64_t ok[] = { 0, 1, 2, 3 };
    assert_int_equal(sp_dict_add_packed(d, "xyz", 3, ok, 3, out), SP_OK);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[2], 4);
    const uint64_t longest[] = { 0, 65535 };
    assert_int_equal(sp_dict_add_packed(d, big, 65535, longest, 1, out), SP_OK);
    expect_id(d, out[0], big, 65535);
    free(big);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_intern_packed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx), *e = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    /* New ids in order of first occurrence; repeats and present ids get their index. */
    const char *ids[] = { "c", "a", "c", "东", "b", "东" };
    spt_packed p = spt_pack(ids, NULL, 6, 1);
    uint32_t idx[6];
    assert_int_equal(sp_dict_intern_packed(d, p.data, p.len, p.offsets, 6, idx), SP_OK);
    const uint32_t want[] = { 2, 0, 2, 3, 1, 3 };
    assert_memory_equal(idx, want, sizeof want);
    /* The same as interning one by one. */
    add(e, "a");
    add(e, "b");
    for (size_t i = 0; i < 6; i++) {
        uint32_t index;
        assert_int_equal(sp_dict_intern(e, ids[i], strlen(ids[i]), &index), SP_OK);
        assert_int_equal(idx[i], index);
    }
    assert_int_equal(sp_dict_count(d), 4);
    /* All present: the same indices, nothing added. */
    memset(idx, 0xAB, sizeof idx);
    assert_int_equal(sp_dict_intern_packed(d, p.data, p.len, p.offsets, 6, idx), SP_OK);
    assert_memory_equal(idx, want, sizeof want);
    assert_int_equal(sp_dict_intern_packed(d, p.data, p.len, p.offsets, 6, NULL), SP_OK);
    assert_int_equal(sp_dict_intern_packed(d, NULL, 0, NULL, 0, NULL), SP_OK);
    assert_int_equal(sp_dict_intern_packed(NULL, p.data, p.len, p.offsets, 6, idx), SP_EINVAL);
    assert_int_equal(sp_dict_count(d), 4);

    /* A bad new id after new ones: none of them stays, indices untouched. */
    uint32_t out[4] = { 9, 9, 9, 9 };
    const uint64_t off4[] = { 0, 1, 2, 3, 3 };
    spt_expect_error(ctx, sp_dict_intern_packed(d, "eaf", 3, off4, 4, out), SP_EINVAL,
                     "dict: ids[3]: id is empty");
    spt_expect_error(ctx, sp_dict_intern_packed(d, "ea\xFF", 3, off4, 3, out), SP_EINVAL,
                     "dict: ids[2]: id \"\\xFF\" is not valid UTF-8: byte never used in UTF-8 at "
                     "byte 0");
    const uint64_t off2[] = { 0, 1, 4 };
    spt_expect_error(ctx, sp_dict_intern_packed(d, "ea\0b", 4, off2, 2, out), SP_EINVAL,
                     "dict: ids[1]: id \"a\\x00b\" has a NUL byte at byte 1");
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 9);
    assert_int_equal(sp_dict_count(d), 4);
    expect_absent(d, "e");
    expect_absent(d, "f");
    /* The dictionary goes on from where it was. */
    assert_int_equal(sp_dict_intern_packed(d, "eaf", 3, off4, 3, out), SP_OK);
    assert_int_equal(out[0], 4);
    assert_int_equal(out[1], 0);
    assert_int_equal(out[2], 5);
    spt_packed_free(&p);
    sp_dict_free(d);
    sp_dict_free(e);
    sp_ctx_free(ctx);
}

/* A failed intern after the table, the id array and the arena grew several times: every
 * id it added comes out again, and every id that was there stays reachable (deleting
 * from a table that grew in between must not cut another id's probe sequence). */
static void test_intern_packed_rollback_after_growth(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = old_ids_dict(ctx);
    /* 20000 new ids, each twice, an old one every tenth, and last an invalid one. */
    enum { N = 20000 };
    size_t n = 0;
    char **ids = malloc((2 * N + N / 10 + 1) * sizeof *ids);
    for (unsigned i = 0; i < N; i++) {
        ids[n] = malloc(32);
        snprintf(ids[n++], 32, "new %u", i);
        ids[n] = malloc(32);
        snprintf(ids[n++], 32, "new %u", i);
        if (i % 10 == 0) {
            ids[n] = malloc(32);
            snprintf(ids[n++], 32, "old %u", i % 100);
        }
    }
    ids[n++] = strdup("\xC3");
    spt_packed p = spt_pack((const char *const *)ids, NULL, n, 0);
    spt_expect_error(ctx, sp_dict_intern_packed(d, p.data, p.len, p.offsets, n, NULL), SP_EINVAL,
                     "dict: ids[42000]: id \"\\xC3\" is not valid UTF-8: truncated sequence at "
                     "byte 0");
    assert_int_equal(sp_dict_count(d), 100);
    expect_old_ids(d);
    for (size_t k = 0; k + 1 < n; k++)
        if (strncmp(ids[k], "new", 3) == 0)
            expect_absent(d, ids[k]);
    /* Without the invalid one it goes in: new ids numbered in order of first occurrence. */
    uint32_t *idx = malloc(n * sizeof *idx);
    assert_int_equal(sp_dict_intern_packed(d, p.data, p.len, p.offsets, n - 1, idx), SP_OK);
    assert_int_equal(sp_dict_count(d), 100 + N);
    for (size_t k = 0; k + 1 < n; k++) {
        unsigned num;
        if (sscanf(ids[k], "new %u", &num) == 1)
            assert_int_equal(idx[k], 100 + num);
        else if (sscanf(ids[k], "old %u", &num) == 1)
            assert_int_equal(idx[k], num);
    }
    for (size_t k = 0; k < n; k++)
        free(ids[k]);
    free(ids);
    free(idx);
    spt_packed_free(&p);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_find_packed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    add(d, "网格");
    /* The last error stays as it was: absence is an answer, not an error. */
    spt_expect_error(ctx, sp_dict_add(d, "a", 1, NULL), SP_ECONFLICT,
                     "dict: id \"a\" is already present (index 0)");
    const char *ids[] = { "网格", "zz", "a", "", "\xC3", "b", "网" };
    spt_packed p = spt_pack(ids, NULL, 7, 5);
    uint32_t idx[7];
    size_t missing = 99;
    assert_int_equal(sp_dict_find_packed(d, p.data, p.len, p.offsets, 7, idx, &missing), SP_OK);
    const uint32_t want[] = { 2, SP_NONE, 0, SP_NONE, SP_NONE, 1, SP_NONE };
    assert_memory_equal(idx, want, sizeof want);
    assert_int_equal(missing, 4);
    assert_int_equal(sp_ctx_errcode(ctx), SP_ECONFLICT);
    assert_string_equal(sp_ctx_errmsg(ctx), "dict: id \"a\" is already present (index 0)");
    /* Either output may be left out. */
    assert_int_equal(sp_dict_find_packed(d, p.data, p.len, p.offsets, 7, NULL, &missing), SP_OK);
    assert_int_equal(missing, 4);
    memset(idx, 0, sizeof idx);
    assert_int_equal(sp_dict_find_packed(d, p.data, p.len, p.offsets, 7, idx, NULL), SP_OK);
    assert_memory_equal(idx, want, sizeof want);
    assert_int_equal(sp_dict_find_packed(d, NULL, 0, NULL, 0, idx, &missing), SP_OK);
    assert_int_equal(missing, 0);
    assert_int_equal(sp_dict_find_packed(NULL, p.data, p.len, p.offsets, 7, idx, &missing),
                     SP_EINVAL);
    assert_int_equal(sp_dict_count(d), 3);
    spt_packed_free(&p);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

/* ---- internal: silent lookups, clones ---- */

/* The ids of a range, packed: "a" "b" "网格" (6 bytes in UTF-8) are 8 bytes at offsets
 * 0 1 2 8; the size query and a short buffer write nothing but the size. */
static void test_ids_packed(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "a");
    add(d, "b");
    add(d, "网格");
    size_t len = 99;
    assert_int_equal(sp_dict_ids_packed(d, 0, 3, NULL, 0, NULL, &len), SP_OK);
    assert_int_equal(len, 8);
    char data[16];
    uint64_t off[4] = { 7, 7, 7, 7 };
    memset(data, '#', sizeof data);
    assert_int_equal(sp_dict_ids_packed(d, 0, 3, data, sizeof data, off, &len), SP_OK);
    assert_int_equal(len, 8);
    assert_memory_equal(data, "ab\xE7\xBD\x91\xE6\xA0\xBC#", 9);
    const uint64_t want[] = { 0, 1, 2, 8 };
    assert_memory_equal(off, want, sizeof want);
    /* a range inside: "b" only */
    assert_int_equal(sp_dict_ids_packed(d, 1, 1, data, sizeof data, off, &len), SP_OK);
    assert_int_equal(len, 1);
    assert_int_equal(off[0], 0);
    assert_int_equal(off[1], 1);
    assert_int_equal(data[0], 'b');
    /* nothing at the end: n 0 from the count is an empty answer */
    assert_int_equal(sp_dict_ids_packed(d, 3, 0, data, sizeof data, off, &len), SP_OK);
    assert_int_equal(len, 0);
    assert_int_equal(off[0], 0);
    /* a buffer one byte short: the size, nothing written */
    memset(data, '#', sizeof data);
    off[1] = 7;
    len = 0;
    spt_expect_error(ctx, sp_dict_ids_packed(d, 0, 3, data, 7, off, &len), SP_EBUFFER,
                     "dict: the ids need 8 bytes, cap is 7");
    assert_int_equal(len, 8);
    assert_int_equal(data[0], '#');
    assert_int_equal(off[1], 7);
    /* ranges outside, bad arguments */
    len = 5;
    spt_expect_error(ctx, sp_dict_ids_packed(d, 2, 2, data, sizeof data, off, &len),
                     SP_ENOTFOUND, "dict: 2 ids from index 2 are not all in the dictionary "
                                   "(count 3)");
    spt_expect_error(ctx, sp_dict_ids_packed(d, 4, 0, NULL, 0, NULL, &len), SP_ENOTFOUND,
                     "dict: 0 ids from index 4 are not all in the dictionary (count 3)");
    spt_expect_error(ctx, sp_dict_ids_packed(d, (uint32_t)-1, SIZE_MAX, NULL, 0, NULL, &len),
                     SP_ENOTFOUND, "dict: 18446744073709551615 ids from index 4294967295 are "
                                   "not all in the dictionary (count 3)");
    assert_int_equal(len, 5);
    spt_expect_error(ctx, sp_dict_ids_packed(d, 0, 3, data, sizeof data, off, NULL), SP_EINVAL,
                     "dict: data_len is NULL");
    spt_expect_error(ctx, sp_dict_ids_packed(d, 0, 3, data, sizeof data, NULL, &len),
                     SP_EINVAL, "dict: offsets is NULL");
    spt_expect_error(ctx, sp_dict_ids_packed(d, 0, 3, NULL, 4, off, &len), SP_EINVAL,
                     "dict: data is NULL with cap > 0");
    assert_int_equal(sp_dict_ids_packed(NULL, 0, 0, NULL, 0, NULL, &len), SP_EINVAL);
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void test_lookup_records_nothing(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    sp_dict *d = new_dict(ctx);
    add(d, "a");
    add(d, "东区");
    sp_ctx_clear_error(ctx);
    assert_int_equal(spi_dict_lookup(d, "东区", strlen("东区")), 1);
    assert_int_equal(spi_dict_lookup(d, "zz", 2), SP_NONE);
    assert_int_equal(spi_dict_lookup(d, "", 0), SP_NONE);
    assert_int_equal(spi_dict_lookup(d, NULL, 0), SP_NONE);
    assert_int_equal(sp_ctx_errcode(ctx), SP_OK);
    assert_string_equal(sp_ctx_errmsg(ctx), "");
    /* The public lookup records the miss: the caller asked for that id. */
    spt_expect_error(ctx, sp_dict_find(d, "zz", 2, NULL), SP_ENOTFOUND, "dict: id \"zz\" not found");
    sp_dict_free(d);
    sp_ctx_free(ctx);
}

static void clone_id(char *buf, size_t cap, size_t i)
{
    snprintf(buf, cap, "%s-%zu", i % 4 == 0 ? "网格" : "rep", i);
}

/* `c` holds exactly ids 0 .. n - 1 of clone_id, at their indices. */
static void expect_clone_ids(const sp_dict *c, size_t n)
{
    assert_int_equal(sp_dict_count(c), n);
    char id[64];
    for (size_t i = 0; i < n; i++) {
        clone_id(id, sizeof id, i);
        expect_id(c, (uint32_t)i, id, strlen(id));
        assert_int_equal(spi_dict_lookup(c, id, strlen(id)), i);
    }
    clone_id(id, sizeof id, n);
    expect_absent(c, id);
}

/* A dictionary of n ids in several arena blocks, grown by every path, with a failed
 * batch in between. */
static sp_dict *clone_source(sp_ctx *ctx, size_t n)
{
    sp_dict *d = new_dict(ctx);
    char id[64];
    for (size_t i = 0; i < n / 2; i++) {
        clone_id(id, sizeof id, i);
        add(d, id);
    }
    const char *bad[] = { "fresh", "fresh too", "rep-1" };
    assert_int_equal(sp_dict_add_all(d, bad, NULL, 3, NULL), SP_ECONFLICT);
    char **rest = malloc(n * sizeof *rest);
    for (size_t i = n / 2; i < n; i++) {
        rest[i - n / 2] = malloc(64);
        clone_id(rest[i - n / 2], 64, i);
    }
    spt_packed p = spt_pack((const char *const *)rest, NULL, n - n / 2, 2);
    assert_int_equal(sp_dict_intern_packed(d, p.data, p.len, p.offsets, n - n / 2, NULL), SP_OK);
    for (size_t i = 0; i < n - n / 2; i++)
        free(rest[i]);
    free(rest);
    spt_packed_free(&p);
    return d;
}

static void test_clone(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx(), *other = spt_new_ctx();
    sp_dict *d = clone_source(ctx, 3000);
    expect_clone_ids(d, 3000);
    sp_dict *c = NULL;
    assert_int_equal(spi_dict_clone(other, d, &c), SP_OK);
    expect_clone_ids(c, 3000);
    /* Its own copy: the original's ids may go. */
    const char *a, *b;
    assert_int_equal(sp_dict_id(d, 7, &a, NULL), SP_OK);
    assert_int_equal(sp_dict_id(c, 7, &b, NULL), SP_OK);
    assert_ptr_not_equal(a, b);
    sp_dict_free(d);
    expect_clone_ids(c, 3000);
    /* And it grows like any dictionary: table, id array and arena. */
    char id[64];
    for (size_t i = 3000; i < 9000; i++) {
        clone_id(id, sizeof id, i);
        assert_int_equal(add(c, id), i);
    }
    expect_clone_ids(c, 9000);
    sp_dict_free(c);
    /* An empty one. */
    d = new_dict(ctx);
    assert_int_equal(spi_dict_clone(ctx, d, &c), SP_OK);
    expect_clone_ids(c, 0);
    assert_int_equal(add(c, "rep-0"), 0);
    sp_dict_free(c);
    sp_dict_free(d);
    sp_ctx_free(ctx);
    sp_ctx_free(other);
}

/* ---- property test against a simple oracle ---- */

/* Well-formedness by the Unicode standard's table 3-7, byte ranges row by row: a second,
 * independent statement of the rule the dictionary implements by decoding. */
static bool oracle_utf8(const unsigned char *s, size_t len)
{
    static const struct {
        unsigned char lead_lo, lead_hi, second_lo, second_hi;
        int n;
    } rows[] = {
        { 0x01, 0x7F, 0, 0, 1 },       { 0xC2, 0xDF, 0x80, 0xBF, 2 },
        { 0xE0, 0xE0, 0xA0, 0xBF, 3 }, { 0xE1, 0xEC, 0x80, 0xBF, 3 },
        { 0xED, 0xED, 0x80, 0x9F, 3 }, { 0xEE, 0xEF, 0x80, 0xBF, 3 },
        { 0xF0, 0xF0, 0x90, 0xBF, 4 }, { 0xF1, 0xF3, 0x80, 0xBF, 4 },
        { 0xF4, 0xF4, 0x80, 0x8F, 4 },
    };
    size_t i = 0;
    while (i < len) {
        int n = 0;
        for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
            if (s[i] < rows[r].lead_lo || s[i] > rows[r].lead_hi)
                continue;
            n = rows[r].n;
            if (n > 1 && (i + 1 >= len || s[i + 1] < rows[r].second_lo ||
                          s[i + 1] > rows[r].second_hi))
                return false;
            break;
        }
        if (n == 0 || i + (size_t)n > len)
            return false;
        for (int k = 2; k < n; k++)
            if (s[i + (size_t)k] < 0x80 || s[i + (size_t)k] > 0xBF)
                return false;
        i += (size_t)n;
    }
    return true;
}

#define ORACLE_MAX 4000

typedef struct oracle {
    unsigned char ids[ORACLE_MAX][8];
    size_t lens[ORACLE_MAX];
    size_t count;
} oracle;

static long oracle_find(const oracle *o, const unsigned char *id, size_t len)
{
    for (size_t i = 0; i < o->count; i++)
        if (o->lens[i] == len && memcmp(o->ids[i], id, len) == 0)
            return (long)i;
    return -1;
}

static bool oracle_valid(const unsigned char *id, size_t len)
{
    return len > 0 && oracle_utf8(id, len);
}

/* Short ids from few byte values, so that repeats, prefixes and invalid UTF-8 (including
 * NUL) are all common. */
static size_t random_id(spt_rng *rng, unsigned char *id)
{
    static const unsigned char bytes[] = { 'a', 'b', 0x00, 0x80, 0xBF, 0xC3, 0xA9,
                                           0xE4, 0xB8, 0x9C, 0xED, 0xA0, 0xF0, 0x9F };
    size_t len = (size_t)spt_rng_range(rng, 0, 7);
    bool ascii = spt_rng_chance(rng, 40);
    for (size_t k = 0; k < len; k++)
        id[k] = ascii ? (unsigned char)('a' + spt_rng_range(rng, 0, 3))
                      : bytes[spt_rng_next(rng) % sizeof bytes];
    return len;
}

static void test_property_against_oracle(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    spt_rng rng = { 11 };
    unsigned rounds = spt_iterations(16);
    for (unsigned round = 0; round < rounds; round++) {
        sp_dict *d = new_dict(ctx);
        static oracle o;
        o.count = 0;
        while (o.count < ORACLE_MAX - 8) {
            unsigned char id[8];
            size_t len = random_id(&rng, id);
            long at = oracle_find(&o, id, len);
            bool valid = oracle_valid(id, len);
            uint32_t index = SP_NONE;
            switch (spt_rng_next(&rng) % 6) {
            case 0: { /* add */
                int rc = sp_dict_add(d, (const char *)id, len, &index);
                assert_int_equal(rc, !valid ? SP_EINVAL : at >= 0 ? SP_ECONFLICT : SP_OK);
                break;
            }
            case 1: { /* intern */
                int rc = sp_dict_intern(d, (const char *)id, len, &index);
                assert_int_equal(rc, at >= 0 ? SP_OK : !valid ? SP_EINVAL : SP_OK);
                if (at >= 0)
                    assert_int_equal(index, (uint32_t)at);
                break;
            }
            case 2: { /* find */
                int rc = sp_dict_find(d, (const char *)id, len, &index);
                assert_int_equal(rc, at >= 0 ? SP_OK : SP_ENOTFOUND);
                if (at >= 0)
                    assert_int_equal(index, (uint32_t)at);
                continue;
            }
            case 3: { /* a batch of up to 6, as pointers or packed */
                unsigned char batch[6][8];
                const char *ptrs[6];
                size_t lens[6];
                size_t n = (size_t)spt_rng_range(&rng, 1, 6);
                bool ok = true;
                for (size_t k = 0; k < n; k++) {
                    lens[k] = k == 0 ? len : random_id(&rng, batch[k]);
                    if (k == 0)
                        memcpy(batch[0], id, len);
                    ptrs[k] = (const char *)batch[k];
                    ok = ok && oracle_valid(batch[k], lens[k]) &&
                         oracle_find(&o, batch[k], lens[k]) < 0;
                    for (size_t j = 0; j < k; j++)
                        ok = ok && !(lens[j] == lens[k] && memcmp(batch[j], batch[k], lens[k]) == 0);
                }
                uint32_t indices[6];
                int rc;
                if (spt_rng_chance(&rng, 50)) {
                    rc = sp_dict_add_all(d, ptrs, lens, n, indices);
                } else {
                    spt_packed p = spt_pack(ptrs, lens, n, (size_t)spt_rng_range(&rng, 0, 3));
                    rc = sp_dict_add_packed(d, p.data, p.len, p.offsets, n, indices);
                    spt_packed_free(&p);
                }
                assert_int_equal(rc == SP_OK, ok);
                if (ok) {
                    for (size_t k = 0; k < n; k++) {
                        assert_int_equal(indices[k], o.count);
                        memcpy(o.ids[o.count], batch[k], lens[k]);
                        o.lens[o.count++] = lens[k];
                    }
                }
                assert_int_equal(sp_dict_count(d), o.count);
                continue;
            }
            default: { /* a packed batch of up to 6 interned or found */
                unsigned char batch[6][8];
                const char *ptrs[6];
                size_t lens[6];
                size_t n = (size_t)spt_rng_range(&rng, 1, 6);
                for (size_t k = 0; k < n; k++) {
                    ptrs[k] = (const char *)batch[k];
                    /* Repeats within the batch and ids already present, often. */
                    if (k > 0 && spt_rng_chance(&rng, 25)) {
                        size_t j = (size_t)spt_rng_range(&rng, 0, (int64_t)k - 1);
                        memcpy(batch[k], batch[j], lens[j]);
                        lens[k] = lens[j];
                    } else if (o.count > 0 && spt_rng_chance(&rng, 25)) {
                        size_t j = spt_rng_next(&rng) % o.count;
                        memcpy(batch[k], o.ids[j], o.lens[j]);
                        lens[k] = o.lens[j];
                    } else {
                        lens[k] = random_id(&rng, batch[k]);
                    }
                }
                spt_packed p = spt_pack(ptrs, lens, n, (size_t)spt_rng_range(&rng, 0, 3));
                uint32_t indices[6];
                if (spt_rng_chance(&rng, 50)) {
                    size_t missing = 99, absent = 0;
                    assert_int_equal(sp_dict_find_packed(d, p.data, p.len, p.offsets, n, indices,
                                                         &missing),
                                     SP_OK);
                    for (size_t k = 0; k < n; k++) {
                        long i = oracle_find(&o, batch[k], lens[k]);
                        assert_int_equal(indices[k], i >= 0 ? (uint32_t)i : SP_NONE);
                        absent += i < 0;
                    }
                    assert_int_equal(missing, absent);
                } else {
                    /* All or nothing: every id absent from the oracle must be valid. */
                    bool ok = true;
                    for (size_t k = 0; k < n; k++)
                        ok = ok && (oracle_find(&o, batch[k], lens[k]) >= 0 ||
                                    oracle_valid(batch[k], lens[k]));
                    int rc = sp_dict_intern_packed(d, p.data, p.len, p.offsets, n, indices);
                    assert_int_equal(rc, ok ? SP_OK : SP_EINVAL);
                    for (size_t k = 0; ok && k < n; k++) {
                        long i = oracle_find(&o, batch[k], lens[k]);
                        if (i < 0) {
                            i = (long)o.count;
                            memcpy(o.ids[o.count], batch[k], lens[k]);
                            o.lens[o.count++] = lens[k];
                        }
                        assert_int_equal(indices[k], (uint32_t)i);
                    }
                }
                spt_packed_free(&p);
                assert_int_equal(sp_dict_count(d), o.count);
                continue;
            }
            }
            if (at < 0 && valid) {
                assert_int_equal(index, o.count);
                memcpy(o.ids[o.count], id, len);
                o.lens[o.count++] = len;
            }
            assert_int_equal(sp_dict_count(d), o.count);
        }
        /* Every id maps back and forth. */
        for (size_t i = 0; i < o.count; i++) {
            uint32_t index;
            assert_int_equal(sp_dict_find(d, (const char *)o.ids[i], o.lens[i], &index), SP_OK);
            assert_int_equal(index, i);
            expect_id(d, (uint32_t)i, (const char *)o.ids[i], o.lens[i]);
        }
        sp_dict_free(d);
    }
    sp_ctx_free(ctx);
}

/* ---- fault injection ---- */

/* The base state every run starts from: `base` ids, chosen so that the operation under
 * test has to grow the index array, the table and the arena. */
typedef struct dict_fault {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_dict *d;
    size_t base;
    int op; /* 0 add, 1 intern, 2 add_all, 3 add_packed, 4 intern_packed, 5 clone */
    size_t batch;
    char **ids;
    spt_packed p; /* the batch packed; for intern_packed each id twice */
    sp_dict *clone;
} dict_fault;

static void fault_id(char *buf, size_t cap, size_t i)
{
    snprintf(buf, cap, "id-%zu-%s", i, i % 3 == 0 ? "东区网格" : "x");
}

static void fault_rebuild(dict_fault *f)
{
    sp_dict_free(f->d);
    f->d = new_dict(f->ctx);
    char id[64];
    for (size_t i = 0; i < f->base; i++) {
        fault_id(id, sizeof id, i);
        add(f->d, id);
    }
}

static int run_dict_fault(void *user)
{
    dict_fault *f = user;
    switch (f->op) {
    case 0:
        return sp_dict_add(f->d, f->ids[0], strlen(f->ids[0]), NULL);
    case 1:
        return sp_dict_intern(f->d, f->ids[0], strlen(f->ids[0]), NULL);
    case 2:
        return sp_dict_add_all(f->d, (const char *const *)f->ids, NULL, f->batch, NULL);
    case 3:
        return sp_dict_add_packed(f->d, f->p.data, f->p.len, f->p.offsets, f->p.n, NULL);
    case 4: {
        uint32_t *idx = malloc(f->p.n * sizeof *idx);
        int rc = sp_dict_intern_packed(f->d, f->p.data, f->p.len, f->p.offsets, f->p.n, idx);
        for (size_t k = 0; rc == SP_OK && k < f->p.n; k++)
            assert_int_equal(idx[k], f->base + k / 2);
        free(idx);
        return rc;
    }
    default:
        return spi_dict_clone(f->ctx, f->d, &f->clone);
    }
}

static void check_dict_fault_unchanged(void *user)
{
    dict_fault *f = user;
    assert_int_equal(sp_dict_count(f->d), f->base);
    char id[64];
    for (size_t i = 0; i < f->base; i++) {
        fault_id(id, sizeof id, i);
        uint32_t index;
        assert_int_equal(sp_dict_find(f->d, id, strlen(id), &index), SP_OK);
        assert_int_equal(index, i);
    }
    for (size_t k = 0; k < f->batch; k++)
        expect_absent(f->d, f->ids[k]);
    /* Back to a fresh base, so that the next failure point meets the same growth. */
    fault_rebuild(f);
}

static void undo_dict_fault(void *user)
{
    dict_fault *f = user;
    if (f->op == 5) {
        char id[64];
        assert_int_equal(sp_dict_count(f->clone), f->base);
        for (size_t i = 0; i < f->base; i++) {
            fault_id(id, sizeof id, i);
            assert_int_equal(spi_dict_lookup(f->clone, id, strlen(id)), i);
        }
        sp_dict_free(f->clone);
        f->clone = NULL;
        return;
    }
    assert_int_equal(sp_dict_count(f->d), f->base + f->batch);
    fault_rebuild(f);
}

static size_t live_dict_fault(void *user)
{
    return ((dict_fault *)user)->alloc.live_blocks;
}

static uint64_t run_fault_case(const char *name, int op, size_t base, size_t batch,
                               uint64_t min_points)
{
    dict_fault f = { .base = base, .op = op, .batch = batch };
    spt_alloc_init(&f.alloc);
    f.ctx = spt_ctx_with(&f.alloc);
    f.ids = malloc(batch * sizeof *f.ids);
    for (size_t k = 0; k < batch; k++) {
        f.ids[k] = malloc(64);
        fault_id(f.ids[k], 64, base + k);
    }
    if (op == 4) {
        char **twice = malloc(2 * batch * sizeof *twice);
        for (size_t k = 0; k < 2 * batch; k++)
            twice[k] = f.ids[k / 2];
        f.p = spt_pack((const char *const *)twice, NULL, 2 * batch, 1);
        free(twice);
    } else {
        f.p = spt_pack((const char *const *)f.ids, NULL, batch, 1);
    }
    fault_rebuild(&f);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { name, run_dict_fault, undo_dict_fault, check_dict_fault_unchanged,
                          live_dict_fault, errors, 1, &f };
    spt_injector inj = spt_alloc_injector(&f.alloc);
    uint64_t points = spt_fault_loop(&fc, &inj);
    if (points < min_points)
        fail_msg("%s: only %llu failure points", name, (unsigned long long)points);
    sp_dict_free(f.d);
    for (size_t k = 0; k < batch; k++)
        free(f.ids[k]);
    free(f.ids);
    spt_packed_free(&f.p);
    sp_ctx_free(f.ctx);
    assert_int_equal(f.alloc.live_blocks, 0);
    return points;
}

static void test_fault_loops(void **state)
{
    (void)state;
    /* 12 ids fill the first 16 slots to 3/4: the 13th needs a bigger table. */
    run_fault_case("sp_dict_add (table grows)", 0, 12, 1, 1);
    run_fault_case("sp_dict_intern (table grows)", 1, 12, 1, 1);
    /* From every size up to 600 ids, one more: the index array (16, 32, ... 512), the
     * table (12, 24, ... 384 ids) and the arena (4 KiB, then 8 KiB blocks) each grow
     * several times on the way, so at least 5 + 6 + 1 adds meet a failure point. */
    uint64_t points = 0;
    for (size_t base = 0; base <= 600; base++)
        points += run_fault_case("sp_dict_add", 0, base, 1, 0);
    assert_true(points >= 12);
    /* A batch that needs all three at once. */
    run_fault_case("sp_dict_add_all (all three grow)", 2, 40, 400, 3);
    run_fault_case("sp_dict_add_all (small batch)", 2, 3, 2, 0);
    run_fault_case("sp_dict_add_packed (all three grow)", 3, 40, 400, 3);
    /* Interning grows as it goes: the table and the id array several times on the way. */
    run_fault_case("sp_dict_intern_packed (grows as it goes)", 4, 40, 400, 6);
    run_fault_case("sp_dict_intern_packed (small batch)", 4, 3, 2, 0);
    /* A clone of several arena blocks: the dictionary, its table, id array, one block and
     * a map of the blocks. */
    run_fault_case("spi_dict_clone", 5, 3000, 0, 5);
    run_fault_case("spi_dict_clone (empty)", 5, 0, 0, 5);

    /* sp_dict_new: four allocations. */
    spt_alloc a;
    spt_alloc_init(&a);
    sp_ctx *ctx = spt_ctx_with(&a);
    size_t live = a.live_blocks;
    for (uint64_t n = 1; n <= 4; n++) {
        sp_dict *d = (sp_dict *)&d;
        spt_alloc_arm(&a, n, false);
        assert_int_equal(sp_dict_new(&d, ctx), SP_ENOMEM);
        assert_int_equal(spt_alloc_disarm(&a), 1);
        assert_ptr_equal(d, (sp_dict *)&d);
        assert_int_equal(a.live_blocks, live);
    }
    sp_ctx_free(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_find_id),
        cmocka_unit_test(test_id_pointers_stay_valid),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_duplicates_quote_the_id),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_add_all),
        cmocka_unit_test(test_add_all_rollback_after_growth),
        cmocka_unit_test(test_add_packed),
        cmocka_unit_test(test_packed_bad_input),
        cmocka_unit_test(test_intern_packed),
        cmocka_unit_test(test_intern_packed_rollback_after_growth),
        cmocka_unit_test(test_find_packed),
        cmocka_unit_test(test_ids_packed),
        cmocka_unit_test(test_lookup_records_nothing),
        cmocka_unit_test(test_clone),
        cmocka_unit_test(test_property_against_oracle),
        cmocka_unit_test(test_fault_loops),
    };
    return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
