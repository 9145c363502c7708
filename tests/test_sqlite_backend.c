/*
 * The SQLite backend of examples/sqlite_host.c against the storage conformance kit, in
 * memory and in a file (reopened), and its errors as the library reports them.
 */
#include <setjmp.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "sqlite_backend.h"
#include "storage/store.h"
#include "support/spt.h"
#include "support/spt_storage.h"
#include "support/spt_storage_contract.h"

typedef struct sq_user {
    const char *file; /* ":memory:" or a path */
    sqlite3 *db;
    sp_storage table;
} sq_user;

/* Open the database; `fresh`: without the records of an earlier check. */
static sp_storage *attach(sq_user *u, bool fresh)
{
    assert_int_equal(sqlite3_open(u->file, &u->db), SQLITE_OK);
    if (fresh)
        assert_int_equal(sqlite3_exec(u->db, "DROP TABLE IF EXISTS sp_records", NULL, NULL,
                                      NULL),
                         SQLITE_OK);
    sp_storage t = SP_STORAGE_INIT;
    u->table = t;
    assert_int_equal(sqlite_storage_open(u->db, &u->table), SQLITE_OK);
    return &u->table;
}

static sp_storage *sq_open(void *user)
{
    return attach(user, true);
}

static void sq_close(void *user, sp_storage *st)
{
    sq_user *u = user;
    sp_storage_free(st);
    assert_int_equal(sqlite3_close(u->db), SQLITE_OK);
}

static sp_storage *sq_reopen(void *user, sp_storage *st)
{
    sq_close(user, st);
    return attach(user, false);
}

static void test_contract_in_memory(void **state)
{
    (void)state;
    sq_user u = { ":memory:", NULL, SP_STORAGE_INIT };
    spt_storage_backend b = { "sqlite (memory)", sq_open, sq_close, NULL, &u };
    spt_storage_contract(&b);
}

static void test_contract_in_a_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sp-sqlite-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sq_user u = { path, NULL, SP_STORAGE_INIT };
    spt_storage_backend b = { "sqlite (file)", sq_open, sq_close, sq_reopen, &u };
    spt_storage_contract(&b);
    unlink(path);
}

static int put_one(spi_store *tx, void *arg)
{
    (void)arg;
    return spi_store_put(tx, "plans", (const uint8_t *)"k", 1, (const uint8_t *)"v", 1);
}

/* SQLite's codes come back as the host's own: SP_EUSER with code and message. */
static void test_errors(void **state)
{
    (void)state;
    char path[] = "/tmp/sp-sqlite-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sp_storage t = SP_STORAGE_INIT;
    assert_int_equal(sqlite_storage_open(db, &t), SQLITE_OK);
    sp_storage_free(&t);
    sqlite3_close(db);

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite_storage_open(db, &t), SQLITE_OK);
    sp_ctx *ctx = NULL;
    assert_int_equal(sp_ctx_new(&ctx, NULL), SP_OK);
    assert_int_equal(spi_store_write(ctx, &t, put_one, NULL), SP_EUSER);
    assert_int_equal(sp_ctx_user_errcode(ctx), SQLITE_READONLY);
    assert_string_equal(sp_ctx_user_errmsg(ctx), "attempt to write a readonly database");
    /* Reads work, and a missing key is SP_ENOTFOUND. */
    spi_store s;
    assert_int_equal(spi_store_open(&s, ctx, &t), SP_OK);
    uint8_t *v = NULL;
    size_t vlen = 0;
    assert_int_equal(spi_store_get(&s, "plans", (const uint8_t *)"k", 1, &v, &vlen),
                     SP_ENOTFOUND);
    sp_storage_free(&t);
    sqlite3_close(db);
    sp_ctx_free(ctx);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_contract_in_memory),
        cmocka_unit_test(test_contract_in_a_file),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests_name("sqlite_backend", tests, NULL, NULL);
}
