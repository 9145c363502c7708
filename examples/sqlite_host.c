/*
 * A host that keeps salesplan's records in SQLite (sqlite_backend.c). It opens a
 * database, hands its table to the library, and shows what the library does with it:
 * every write operation is one transaction, reads go through get and ordered scans.
 *
 *   sqlite_host [database-file]       (default: salesplan.db)
 */
#include <stdio.h>
#include <string.h>

#include <salesplan/salesplan.h>

#include "sqlite_backend.h"

static int print_record(void *arg, const uint8_t *key, size_t key_len, const uint8_t *value,
                        size_t value_len)
{
    (void)arg;
    printf("  %.*s = %.*s\n", (int)key_len, (const char *)key, (int)value_len,
           (const char *)value);
    return 0;
}

int main(int argc, char **argv)
{
    const char *file = argc > 1 ? argv[1] : "salesplan.db";
    sqlite3 *db;
    if (sqlite3_open(file, &db) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", file, sqlite3_errmsg(db));
        return 1;
    }
    sp_storage table = SP_STORAGE_INIT;
    if (sqlite_storage_open(db, &table) != SQLITE_OK) {
        fprintf(stderr, "%s: %s\n", file, sqlite3_errmsg(db));
        sqlite3_close(db);
        return 1;
    }

    /* The library calls the table like this for one write operation (a host passes
     * &table to the store-backed functions of the planning modules). */
    static const char *const regions[][2] = {
        { "region/east", "477272.73" }, { "region/north", "352272.73" },
        { "region/west", "170454.54" },
    };
    int rc = table.begin(table.user);
    for (int i = 0; i < 3 && rc == 0; i++)
        rc = table.put(table.user, "example.targets", (const uint8_t *)regions[i][0],
                       strlen(regions[i][0]), (const uint8_t *)regions[i][1],
                       strlen(regions[i][1]));
    rc = rc == 0 ? table.commit(table.user) : (table.rollback(table.user), rc);
    if (rc != 0) {
        fprintf(stderr, "write failed (%d): %s\n", rc, table.errmsg(table.user));
        sp_storage_free(&table);
        sqlite3_close(db);
        return 1;
    }

    /* A prefix scan, in key order, as the library reads a group of records. */
    printf("records under \"region/\" in %s:\n", file);
    rc = table.scan(table.user, "example.targets", (const uint8_t *)"region/", 7,
                    (const uint8_t *)"region0", 7, print_record, NULL);
    sp_storage_free(&table);
    sqlite3_close(db);
    return rc == 0 ? 0 : 1;
}
