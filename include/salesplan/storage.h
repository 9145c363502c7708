/*
 * salesplan/storage.h - host-owned persistence, the built-in stores, dictionaries of host
 * ids, and fact sources (bulk facts streamed from the host in columnar batches).
 *
 * The library persists nothing on its own: every record goes through an sp_storage
 * callback table. docs/storage.md is the guide for writing a backend; docs/record-format.md
 * describes the bytes the library stores.
 */
#ifndef SALESPLAN_STORAGE_H
#define SALESPLAN_STORAGE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ======================================================================================
 * The storage table
 * ====================================================================================== */

/*
 * Called by a host's scan once per record, in key order. Returns 0 to go on, SP_SCAN_STOP
 * to end the scan early (the scan then returns 0), or a negative status, which the scan
 * must stop on and return unchanged. A visitor may call `get` on the same table; it never
 * calls put, remove, scan, begin, commit or rollback.
 */
typedef int (*sp_storage_visit_fn)(void *arg, const uint8_t *key, size_t key_len,
                                   const uint8_t *value, size_t value_len);

/* What a visitor returns to end a scan early. */
#define SP_SCAN_STOP 1

/*
 * A storage backend. Records live in namespaces (`ns`: a NUL-terminated name of 1 to 32
 * bytes of [a-z0-9_.], e.g. "target.plan"); keys and values are byte strings that the
 * library builds: keys of 1 to 1024 bytes, values of 0 to 10^9 bytes (pointers are never
 * NULL, even for an empty value). Keys are ordered bytewise as unsigned bytes (memcmp),
 * a proper prefix before its extensions: "a" < "a\0" < "ab" < "b" < "\x80".
 *
 * Return values: 0 for success; `get` returns SP_ENOTFOUND for a missing key; `remove`
 * of a missing key returns 0. A callback may return a salesplan status (SP_ENOMEM,
 * SP_ESTORAGE, SP_ECORRUPT, SP_ECONFLICT, ...), which the library passes on as it is,
 * with the `errmsg` text in its message; any other non-zero value (positive or negative)
 * is the host's own error code: the library returns SP_EUSER and keeps the code and the
 * `errmsg` text for sp_ctx_user_errcode / sp_ctx_user_errmsg.
 *
 * Transactions: every library operation that writes calls begin, its puts and removes
 * (and reads), then commit; on any failure it calls rollback instead and returns the
 * first error (a failing rollback never replaces it). When begin fails, nothing else is
 * called. The library never nests transactions and never writes outside one. Reads may
 * happen inside a transaction (they must see its writes) or outside one (they see
 * committed records). When commit fails the library calls rollback, after which the store
 * must hold the state from before begin: a commit that reports failure must not have
 * taken effect. docs/storage.md spells out each rule for backend writers.
 */
typedef struct sp_storage {
    uint32_t version; /* SP_STORAGE_VERSION */
    void *user;       /* passed to every callback */

    /* Find one record. On success *value / *value_len describe bytes owned by the host,
     * valid until the next call on this table; the library copies them at once. *value
     * may be NULL when *value_len is 0. */
    int (*get)(void *user, const char *ns, const uint8_t *key, size_t key_len,
               const uint8_t **value, size_t *value_len);
    /* Insert or replace one record. */
    int (*put)(void *user, const char *ns, const uint8_t *key, size_t key_len,
               const uint8_t *value, size_t value_len);
    /* Delete one record; a missing key is not an error. */
    int (*remove)(void *user, const char *ns, const uint8_t *key, size_t key_len);
    /* Visit, in ascending key order, every record of `ns` with from <= key < to. from NULL
     * (or from_len 0) starts at the first key; to NULL has no upper end. The pointers given
     * to `visit` are valid during that call only. The library does not write to the store
     * while a scan is running. */
    int (*scan)(void *user, const char *ns, const uint8_t *from, size_t from_len,
                const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg);
    /* Open, commit, roll back the one transaction (the rules above). */
    int (*begin)(void *user);
    int (*commit)(void *user);
    int (*rollback)(void *user);
    /* Optional: the host's message for its last error, or NULL. */
    const char *(*errmsg)(void *user);
    /* Optional: release the backend; called by sp_storage_free, never by the library
     * otherwise. */
    void (*destroy)(void *user);
} sp_storage;

#define SP_STORAGE_VERSION 1u
#define SP_STORAGE_INIT { SP_STORAGE_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }

SP_API int sp_storage_init(sp_storage *table, uint32_t version);

/* ======================================================================================
 * Built-in stores
 * ====================================================================================== */

/* An in-memory store: ordered, transactional, allocating through `ctx` (which must outlive
 * it). Writes outside a transaction, and writes during a scan, return SP_EINVAL. */
SP_API int sp_storage_memory_new(sp_storage **out, sp_ctx *ctx);

/* Flags of sp_file_store_options. */
typedef enum sp_file_store_flags {
    SP_FILE_STORE_CREATE = 1,   /* create the file when it does not exist */
    SP_FILE_STORE_READONLY = 2, /* open for reading; every write returns SP_EINVAL */
    SP_FILE_STORE_NO_SYNC = 4   /* skip fsync (tests, throw-away data): not crash-safe */
} sp_file_store_flags;

/* Options of sp_storage_file_new. */
typedef struct sp_file_store_options {
    uint32_t version; /* SP_FILE_STORE_OPTIONS_VERSION */
    uint32_t flags;   /* sp_file_store_flags */
} sp_file_store_options;

#define SP_FILE_STORE_OPTIONS_VERSION 1u
#define SP_FILE_STORE_OPTIONS_INIT { SP_FILE_STORE_OPTIONS_VERSION, SP_FILE_STORE_CREATE }

SP_API int sp_file_store_options_init(sp_file_store_options *opts, uint32_t version);

/*
 * A store in a single file: after a crash at any point of a commit the file opens with the
 * state before or after that commit. Corrupt contents give SP_ECORRUPT naming the offset; a
 * file written by an incompatible format version gives SP_EVERSION; a missing file without
 * SP_FILE_STORE_CREATE gives SP_ENOTFOUND; a file open elsewhere for writing (or, for a
 * writer, for reading) gives SP_ECONFLICT. The records are held in memory (allocated
 * through `ctx`, which must outlive the store); the file is an append-only log, compacted
 * when it grows past twice the live data. `opts` may be NULL for the defaults.
 * docs/storage.md describes the format.
 */
SP_API int sp_storage_file_new(sp_storage **out, sp_ctx *ctx, const char *path,
                               const sp_file_store_options *opts);

/* Free a store made by sp_storage_memory_new or sp_storage_file_new (NULL is accepted);
 * an open transaction is rolled back. In general: calls table->destroy(table->user) when
 * set, so a host may use it for its own tables too. */
SP_API void sp_storage_free(sp_storage *storage);

/* ======================================================================================
 * Name lists
 * ====================================================================================== */

/*
 * A list of names read from a store (the ids of saved plans, the scenarios of a plan):
 * UTF-8, NUL-terminated, in ascending byte order. Owned by the caller; the strings stay
 * valid until sp_names_free (NULL is accepted).
 */
typedef struct sp_names sp_names;

/* The number of names; 0 for NULL. */
SP_API size_t sp_names_count(const sp_names *names);
/* The k-th name, or NULL when k >= count (or names is NULL). */
SP_API const char *sp_names_at(const sp_names *names, size_t k);
SP_API void sp_names_free(sp_names *names);

/* ======================================================================================
 * Dictionaries: host string ids <-> dense indices
 * ====================================================================================== */

/* An index that stands for "no value" in index columns of fact batches. */
#define SP_NONE UINT32_MAX

/*
 * Maps the host's ids (reps, grids, products, customers: any UTF-8 byte string of 1 to
 * 65535 bytes) to dense indices 0, 1, 2, ... in order of first addition, and back.
 *
 * The batch functions take ids either as an array of pointers (`_all`) or packed in one
 * buffer (`_packed`, the layout of Arrow's string arrays, convenient for FFI): `data` of
 * `data_len` bytes and n + 1 `offsets`, id i being data[offsets[i] .. offsets[i + 1]).
 * offsets[0] may be above 0; offsets never decrease and never exceed data_len (checked:
 * the message names the offset, "dict: offsets[3] = 120 is beyond data_len 100"), and are
 * checked before the ids. n == 0 does nothing, and then data and offsets may be NULL.
 */
typedef struct sp_dict sp_dict;

/* An empty dictionary, allocating through `ctx` (which must outlive it). */
SP_API int sp_dict_new(sp_dict **out, sp_ctx *ctx);
SP_API void sp_dict_free(sp_dict *dict);
/* Add a new id; SP_ECONFLICT when it is already present, SP_EINVAL when it is empty, too
 * long or not valid UTF-8 (the message quotes the id). */
SP_API int sp_dict_add(sp_dict *dict, const char *id, size_t len, uint32_t *index);
/* The index of `id`, adding it when new. */
SP_API int sp_dict_intern(sp_dict *dict, const char *id, size_t len, uint32_t *index);
/* Add n new ids at once, all or nothing: a duplicate (within the batch or with the
 * dictionary) or invalid id adds none. `lens` may be NULL for NUL-terminated ids;
 * `indices` may be NULL. */
SP_API int sp_dict_add_all(sp_dict *dict, const char *const *ids, const size_t *lens,
                           size_t n, uint32_t *indices);
/* sp_dict_add_all for packed ids; messages name ids by position ("dict: ids[4]: ..."). */
SP_API int sp_dict_add_packed(sp_dict *dict, const char *data, size_t data_len,
                              const uint64_t *offsets, size_t n, uint32_t *indices);
/* The index of each of n packed ids, adding the new ones in order (a repeat within the
 * batch gets the index of its first occurrence); all or nothing: an invalid new id adds
 * none and leaves `indices` as it was. `indices` may be NULL. */
SP_API int sp_dict_intern_packed(sp_dict *dict, const char *data, size_t data_len,
                                 const uint64_t *offsets, size_t n, uint32_t *indices);
/* SP_ENOTFOUND when absent (recorded as the context's error: the caller asked for it). */
SP_API int sp_dict_find(const sp_dict *dict, const char *id, size_t len, uint32_t *index);
/* The index of each of n packed ids, SP_NONE for an absent (or invalid) one, and in
 * *missing how many were absent. Absence is no error and records nothing; only bad
 * arguments fail. `indices` and `missing` may be NULL. */
SP_API int sp_dict_find_packed(const sp_dict *dict, const char *data, size_t data_len,
                               const uint64_t *offsets, size_t n, uint32_t *indices,
                               size_t *missing);
/* The id of an index; *id is NUL-terminated and owned by the dictionary. */
SP_API int sp_dict_id(const sp_dict *dict, uint32_t index, const char **id, size_t *len);
/* The ids of indices first .. first + n - 1, packed as sp_dict_add_packed takes them: their
 * bytes one after another in `data` (no NULs), offsets[k] .. offsets[k + 1] the bytes of
 * the k-th (n + 1 offsets, offsets[0] = 0), *data_len the bytes written. With `data` NULL
 * (and cap 0) only *data_len is written: the bytes the ids need. SP_EBUFFER when cap is
 * smaller than that (*data_len then holds the bytes needed, nothing else is written);
 * SP_ENOTFOUND when the range is not in the dictionary. One call for a million ids, where
 * FFI callers would otherwise call sp_dict_id a million times. */
SP_API int sp_dict_ids_packed(const sp_dict *dict, uint32_t first, size_t n, char *data,
                              size_t cap, uint64_t *offsets, size_t *data_len);
/* The number of ids (0 for NULL). */
SP_API size_t sp_dict_count(const sp_dict *dict);

/* ======================================================================================
 * Fact sources: bulk facts read in place, in columnar batches
 * ====================================================================================== */

/* Kinds of facts. Values are frozen. */
typedef enum sp_fact_kind {
    SP_FACT_ORDER_LINES = 1,    /* order or invoice lines */
    SP_FACT_PAYMENTS = 2,       /* payments received against order lines */
    SP_FACT_REFUNDS = 3,        /* refunds and returns against order lines */
    SP_FACT_STAGE_EVENTS = 4,   /* an opportunity entering a funnel stage */
    SP_FACT_MARKETING_SPEND = 5 /* marketing spend per day and channel */
} sp_fact_kind;

/*
 * One batch of facts: `count` rows as parallel arrays. Which columns a kind uses (R:
 * required, O: optional, NULL when absent) is fixed:
 *
 *   column    unit                       lines  payments refunds stage_events spend
 *   id        the fact's own id          R      R        R       R (opportunity)  -
 *   ref       id of the order line       -      R        R       -            -
 *   day       days since 1970-01-01      R      R        R       R            R
 *   time      seconds since the epoch    O      O        O       O            -
 *   rep       dict index (payee, owner)  R      -        O       R            -
 *   grid      dict index                 O      -        O       O            O
 *   product   dict index                 O      -        O       -            -
 *   customer  dict index                 O      -        O       O            -
 *   channel   dict index                 -      -        -       O            R
 *   stage     stage index of the funnel  -      -        -       R            -
 *   amount    minor units                R      R        R       O (deal)     R
 *   quantity  whole units                O      -        O       -            -
 *   cost      minor units                O      -        O       -            -
 *
 * Dates are civil (UTC) days since 1970-01-01, so 2026-01-01 is 20454. Index columns hold
 * dense indices of the host's sp_dict, or SP_NONE. Refund amounts are positive (money
 * returned). Pointers are valid during the sink call only.
 */
typedef struct sp_fact_batch {
    uint32_t version; /* SP_FACT_BATCH_VERSION */
    uint32_t kind;    /* sp_fact_kind */
    size_t count;     /* rows */
    const uint64_t *id;       /* the fact's own id (stage events: the opportunity's) */
    const uint64_t *ref;      /* id of the order line */
    const int32_t *day;       /* days since 1970-01-01 */
    const int64_t *time;      /* seconds since the epoch */
    const uint32_t *rep;      /* dict index (the payee, the owner) */
    const uint32_t *grid;     /* dict index */
    const uint32_t *product;  /* dict index */
    const uint32_t *customer; /* dict index */
    const uint32_t *channel;  /* dict index */
    const uint32_t *stage;    /* stage index of the funnel */
    const int64_t *amount;    /* minor units (stage events: the deal's) */
    const int64_t *quantity;  /* whole units */
    const int64_t *cost;      /* minor units */
} sp_fact_batch;

#define SP_FACT_BATCH_VERSION 1u
#define SP_FACT_BATCH_INIT                                                                    \
    { SP_FACT_BATCH_VERSION, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
      NULL, NULL, NULL }

SP_API int sp_fact_batch_init(sp_fact_batch *batch, uint32_t version);

/* What the library asks a fact source for: one kind, days in [from_day, to_day). */
typedef struct sp_fact_query {
    uint32_t version; /* SP_FACT_QUERY_VERSION */
    uint32_t kind;    /* sp_fact_kind */
    int32_t from_day; /* INT32_MIN: no lower end */
    int32_t to_day;   /* INT32_MAX: no upper end */
} sp_fact_query;

#define SP_FACT_QUERY_VERSION 1u
#define SP_FACT_QUERY_INIT { SP_FACT_QUERY_VERSION, 0, INT32_MIN, INT32_MAX }

/* For hosts that call their own source (tests, replays): the whole range of days. */
SP_API int sp_fact_query_init(sp_fact_query *query, uint32_t version);

/* Receives one batch; returns 0 to go on or a negative status, which the source must
 * stop on and return unchanged. */
typedef int (*sp_fact_sink_fn)(void *arg, const sp_fact_batch *batch);

/*
 * A host's fact source. `scan` calls `sink` once per batch, with batches of any size and
 * rows in any order, until every fact of the query's kind is delivered; rows outside the
 * day range may be included (the library filters them). It returns 0 when done, the
 * sink's status when the sink stopped it, or an error (mapped as for sp_storage).
 */
typedef struct sp_fact_source {
    uint32_t version; /* SP_FACT_SOURCE_VERSION */
    void *user;       /* passed to every callback */
    /* Deliver the query's facts to `sink` (called with `sink_arg`), as above. */
    int (*scan)(void *user, const sp_fact_query *query, sp_fact_sink_fn sink, void *sink_arg);
    /* Optional: the host's message for its last error, or NULL. */
    const char *(*errmsg)(void *user);
    /* Optional: release the source; called by sp_fact_source_free. */
    void (*destroy)(void *user);
} sp_fact_source;

#define SP_FACT_SOURCE_VERSION 1u
#define SP_FACT_SOURCE_INIT { SP_FACT_SOURCE_VERSION, NULL, NULL, NULL, NULL }

SP_API int sp_fact_source_init(sp_fact_source *source, uint32_t version);

/*
 * A built-in fact source holding facts in memory, for hosts that have no columnar source
 * of their own, for tests and for bindings: append batches (copied), then pass it where a
 * fact source is asked for. Appended batches are validated as the library validates every
 * batch (required columns, kind).
 */
SP_API int sp_fact_source_memory_new(sp_fact_source **out, sp_ctx *ctx);
/* Append a copy of `batch`; every batch of a kind must bring the same columns. */
SP_API int sp_fact_source_memory_append(sp_fact_source *source, const sp_fact_batch *batch);
/* Free a source made by sp_fact_source_memory_new (NULL is accepted). */
SP_API void sp_fact_source_free(sp_fact_source *source);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_STORAGE_H */
