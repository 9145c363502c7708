/*
 * The SQL side of the decomposition benchmarks (never tests), shared so that each split is
 * written once: a level of a hierarchy split by a weight column, and annual amounts split
 * over periods by profiles, both by largest remainder with salesplan's tie-breaks (the
 * lower id, the earlier period). Included only when SQLite is there (HAVE_SQLITE).
 */
#ifndef SP_BENCH_SQL_H
#define SP_BENCH_SQL_H

#include <sqlite3.h>

#include "bench.h"

static inline void bench_sql_exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, 0, 0, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", err);
        exit(1);
    }
}

static inline sqlite3_stmt *bench_sql_prepare(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, 0) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(1);
    }
    return st;
}

/* Run an INSERT whose values are bound, and reset it for the next row. */
static inline void bench_sql_insert(sqlite3 *db, sqlite3_stmt *st)
{
    if (sqlite3_step(st) != SQLITE_DONE)
        bench_die("sqlite insert: %s", sqlite3_errmsg(db));
    sqlite3_reset(st);
}

/*
 * Over node(id, parent, level, w) and target(id, t): the targets of the nodes at `level`,
 * each parent's target split over its children by w. Floors, then ROW_NUMBER over the
 * remainders within each parent (the largest first, the lower id among equals).
 */
static inline void bench_sql_split_level(sqlite3 *db, int level)
{
    char sql[1024];
    snprintf(sql, sizeof sql,
             "INSERT INTO target(id, t) "
             "WITH g AS (SELECT n.id, n.parent, n.w, p.t AS pt,"
             "                  SUM(n.w) OVER (PARTITION BY n.parent) AS ws"
             "           FROM node n JOIN target p ON p.id = n.parent WHERE n.level = %d),"
             " q AS (SELECT id, parent, pt, (w * pt) / ws AS fl, (w * pt) %% ws AS rem FROM g),"
             " k AS (SELECT id, fl, pt - SUM(fl) OVER (PARTITION BY parent) AS lft,"
             "              ROW_NUMBER() OVER (PARTITION BY parent ORDER BY rem DESC, id) AS rn"
             "       FROM q)"
             " SELECT id, fl + (rn <= lft) FROM k",
             level);
    bench_sql_exec(db, sql);
}

/* profile(pid, m, w): nprofiles x nperiods weights, w[pid * nperiods + m]. */
static inline void bench_sql_load_profiles(sqlite3 *db, const int64_t *w, size_t nprofiles,
                                           size_t nperiods)
{
    bench_sql_exec(db, "CREATE TABLE profile(pid INTEGER, m INTEGER, w INTEGER NOT NULL,"
                       " PRIMARY KEY(pid, m)) WITHOUT ROWID");
    sqlite3_stmt *st = bench_sql_prepare(db, "INSERT INTO profile VALUES(?, ?, ?)");
    for (size_t k = 0; k < nprofiles * nperiods; k++) {
        sqlite3_bind_int64(st, 1, (sqlite3_int64)(k / nperiods));
        sqlite3_bind_int64(st, 2, (sqlite3_int64)(k % nperiods));
        sqlite3_bind_int64(st, 3, w[k]);
        sqlite3_step(st);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

/*
 * A SELECT of (i, m, v): the amount a of each row (i, pid, a) of `source` (a table name or
 * a parenthesised query) split over the periods m of its profile pid: floors, then per row
 * ROW_NUMBER over the remainders (the largest first, the earlier period among equals).
 */
static inline void bench_sql_time_split(char *buf, size_t cap, const char *source)
{
    snprintf(buf, cap,
             "WITH s AS (SELECT pid, sum(w) AS wsum FROM profile GROUP BY pid),"
             " q AS (SELECT a.i, p.m, a.a, (a.a * p.w) / s.wsum AS fl,"
             "              (a.a * p.w) %% s.wsum AS rem"
             "       FROM %s a JOIN s ON s.pid = a.pid JOIN profile p ON p.pid = a.pid),"
             " r AS (SELECT i, m, fl, a - sum(fl) OVER (PARTITION BY i) AS k,"
             "       ROW_NUMBER() OVER (PARTITION BY i ORDER BY rem DESC, m) AS rn FROM q)"
             " SELECT i, m, fl + (rn <= k) AS v FROM r",
             source);
}

#endif
