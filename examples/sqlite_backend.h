/*
 * A salesplan storage backend over SQLite: every record in one table
 *
 *   CREATE TABLE sp_records (ns TEXT NOT NULL, key BLOB NOT NULL, value BLOB NOT NULL,
 *                            PRIMARY KEY (ns, key)) WITHOUT ROWID
 *
 * with the library's transactions as BEGIN IMMEDIATE / COMMIT / ROLLBACK. SQLite errors
 * are returned as SQLite's own codes (the library reports SP_EUSER with that code) and
 * sqlite3_errmsg is the errmsg callback. docs/storage.md explains each rule it follows.
 */
#ifndef SQLITE_BACKEND_H
#define SQLITE_BACKEND_H

#include <sqlite3.h>

#include <salesplan/storage.h>

/* Create the table when missing and fill `table` (set up with SP_STORAGE_INIT) with the
 * callbacks. The database stays the caller's; sp_storage_free(table) releases the rest.
 * Returns SQLITE_OK or an SQLite error code. */
int sqlite_storage_open(sqlite3 *db, sp_storage *table);

#endif
