/* The SQLite backend: see sqlite_backend.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_backend.h"

enum { SCAN_ALL, SCAN_FROM, SCAN_TO, SCAN_RANGE, SCAN_KINDS };

typedef struct backend {
    sqlite3 *db;
    sqlite3_stmt *get, *put, *del, *scan[SCAN_KINDS];
    uint8_t *value; /* the last value read: valid until the next call, as the contract says */
    size_t cap;
    const char *own_error; /* an error of this code rather than SQLite's, or NULL */
} backend;

static const char *const scan_sql[SCAN_KINDS] = {
    "SELECT key, value FROM sp_records WHERE ns = ?1 ORDER BY key",
    "SELECT key, value FROM sp_records WHERE ns = ?1 AND key >= ?2 ORDER BY key",
    "SELECT key, value FROM sp_records WHERE ns = ?1 AND key < ?3 ORDER BY key",
    "SELECT key, value FROM sp_records WHERE ns = ?1 AND key >= ?2 AND key < ?3 ORDER BY key",
};

/* Keys and values are BLOBs, compared like memcmp (a prefix first): the library's order.
 * A zero-length blob needs zeroblob: a NULL pointer would bind SQL NULL. */
static int bind_bytes(sqlite3_stmt *st, int i, const uint8_t *p, size_t n)
{
    if (n == 0)
        return sqlite3_bind_zeroblob(st, i, 0);
    return sqlite3_bind_blob64(st, i, p, (sqlite3_uint64)n, SQLITE_STATIC);
}

/* Run a statement that returns no rows, then make it ready for the next use. */
static int run(backend *b, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    b->own_error = NULL;
    return rc == SQLITE_DONE ? 0 : rc;
}

static int sq_get(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t **value, size_t *value_len)
{
    backend *b = user;
    sqlite3_stmt *st = b->get;
    b->own_error = NULL;
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    bind_bytes(st, 2, key, key_len);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        size_t n = (size_t)sqlite3_column_bytes(st, 0);
        if (n > b->cap) {
            uint8_t *grown = realloc(b->value, n);
            if (grown == NULL) {
                sqlite3_reset(st);
                b->own_error = "out of memory copying a value";
                return SP_ENOMEM;
            }
            b->value = grown;
            b->cap = n;
        }
        if (n > 0)
            memcpy(b->value, sqlite3_column_blob(st, 0), n);
        *value = b->value;
        *value_len = n;
        rc = 0;
    } else if (rc == SQLITE_DONE) {
        rc = SP_ENOTFOUND;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return rc;
}

static int sq_put(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    backend *b = user;
    sqlite3_bind_text(b->put, 1, ns, -1, SQLITE_STATIC);
    bind_bytes(b->put, 2, key, key_len);
    bind_bytes(b->put, 3, value, value_len);
    return run(b, b->put);
}

static int sq_remove(void *user, const char *ns, const uint8_t *key, size_t key_len)
{
    backend *b = user;
    sqlite3_bind_text(b->del, 1, ns, -1, SQLITE_STATIC);
    bind_bytes(b->del, 2, key, key_len);
    return run(b, b->del); /* deleting no row is not an error */
}

static int sq_scan(void *user, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    backend *b = user;
    bool has_from = from != NULL && from_len > 0, has_to = to != NULL;
    sqlite3_stmt *st = b->scan[(has_from ? SCAN_FROM : 0) | (has_to ? SCAN_TO : 0)];
    b->own_error = NULL;
    sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
    if (has_from)
        bind_bytes(st, 2, from, from_len);
    if (has_to)
        bind_bytes(st, 3, to, to_len);
    int rc, stop = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        stop = visit(arg, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0),
                     sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1));
        if (stop != 0)
            break;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (stop != 0) /* SP_SCAN_STOP ends the scan well; a visitor's error passes through */
        return stop == SP_SCAN_STOP ? 0 : stop;
    return rc == SQLITE_DONE ? 0 : rc;
}

static int exec(backend *b, const char *sql)
{
    b->own_error = NULL;
    return sqlite3_exec(b->db, sql, NULL, NULL, NULL);
}

/* IMMEDIATE takes the write lock at once: a busy database fails here, not at commit. */
static int sq_begin(void *user)
{
    return exec(user, "BEGIN IMMEDIATE");
}

static int sq_commit(void *user)
{
    return exec(user, "COMMIT");
}

static int sq_rollback(void *user)
{
    return exec(user, "ROLLBACK");
}

static const char *sq_errmsg(void *user)
{
    backend *b = user;
    return b->own_error != NULL ? b->own_error : sqlite3_errmsg(b->db);
}

static void sq_destroy(void *user)
{
    backend *b = user;
    sqlite3_finalize(b->get);
    sqlite3_finalize(b->put);
    sqlite3_finalize(b->del);
    for (int i = 0; i < SCAN_KINDS; i++)
        sqlite3_finalize(b->scan[i]);
    free(b->value);
    free(b);
}

int sqlite_storage_open(sqlite3 *db, sp_storage *table)
{
    backend *b = calloc(1, sizeof *b);
    if (b == NULL)
        return SQLITE_NOMEM;
    b->db = db;
    int rc = sqlite3_exec(db,
                          "CREATE TABLE IF NOT EXISTS sp_records (ns TEXT NOT NULL, "
                          "key BLOB NOT NULL, value BLOB NOT NULL, PRIMARY KEY (ns, key)) "
                          "WITHOUT ROWID",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT value FROM sp_records WHERE ns = ?1 AND key = ?2",
                                -1, &b->get, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO sp_records (ns, key, value) "
                                    "VALUES (?1, ?2, ?3)",
                                -1, &b->put, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "DELETE FROM sp_records WHERE ns = ?1 AND key = ?2", -1,
                                &b->del, NULL);
    for (int i = 0; i < SCAN_KINDS && rc == SQLITE_OK; i++)
        rc = sqlite3_prepare_v2(db, scan_sql[i], -1, &b->scan[i], NULL);
    if (rc != SQLITE_OK) {
        sq_destroy(b);
        return rc;
    }
    table->user = b;
    table->get = sq_get;
    table->put = sq_put;
    table->remove = sq_remove;
    table->scan = sq_scan;
    table->begin = sq_begin;
    table->commit = sq_commit;
    table->rollback = sq_rollback;
    table->errmsg = sq_errmsg;
    table->destroy = sq_destroy;
    return SQLITE_OK;
}
