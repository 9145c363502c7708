/*
 * Storage helpers for tests: a failing storage table that wraps any sp_storage, and
 * snapshots of a store's records to assert "the store is exactly as it was". Include after
 * <cmocka.h> and spt.h.
 */
#ifndef SPT_STORAGE_H
#define SPT_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "salesplan/storage.h"
#include "spt.h"

/* ---- failing storage table ---- */

typedef enum spt_call {
    SPT_CALL_GET,
    SPT_CALL_PUT,
    SPT_CALL_REMOVE,
    SPT_CALL_SCAN,
    SPT_CALL_BEGIN,
    SPT_CALL_COMMIT,
    SPT_CALL_ROLLBACK,
    SPT_CALL_KINDS
} spt_call;

/*
 * Passes every call to `inner` and counts it; once armed with n, the n-th call from then
 * on fails with `code` (and, when persistent, every later one). A failing call is not
 * passed on, except:
 *  - rollback, which always reaches `inner` before failing (a backend's transaction does
 *    not outlive a failed rollback: databases abort it with the session), and
 *  - put and remove when `apply_then_fail` is set: the write happens, then the failure
 *    is reported (a host that changed something and then failed: rollback must undo it).
 * After an injected failure errmsg returns "injected failure <n>"; otherwise inner's.
 */
typedef struct spt_failing_storage {
    sp_storage table; /* hand &table to the code under test */
    const sp_storage *inner;
    int code;              /* returned by an injected failure; SP_ESTORAGE by default */
    bool apply_then_fail;  /* see above */
    uint32_t fail_mask;    /* which calls may fail: bits 1u << spt_call; all by default */
    uint64_t calls;        /* calls in fail_mask since armed */
    uint64_t fail_at;      /* 0: never */
    bool persistent;
    uint64_t failures;     /* injected since armed */
    uint64_t count[SPT_CALL_KINDS]; /* every call by kind, since init */
    bool last_failed;
    char msg[64];
} spt_failing_storage;

void spt_failing_storage_init(spt_failing_storage *f, const sp_storage *inner);
void spt_failing_storage_arm(spt_failing_storage *f, uint64_t n, bool persistent);
uint64_t spt_failing_storage_disarm(spt_failing_storage *f);
spt_injector spt_failing_storage_injector(spt_failing_storage *f);

/* ---- snapshots ---- */

/* Every record of the given namespaces, read through the table's scan. */
typedef struct spt_snapshot spt_snapshot;

spt_snapshot *spt_snapshot_take(const sp_storage *st, const char *const *ns, size_t nns);
void spt_snapshot_free(spt_snapshot *s);
size_t spt_snapshot_count(const spt_snapshot *s);
/* Fails the test, naming the first difference, unless a and b hold the same records. */
void spt_snapshot_assert_equal(const spt_snapshot *a, const spt_snapshot *b);
/* Take a snapshot of `st` over the namespaces of `s` and compare. */
void spt_snapshot_assert_store(const spt_snapshot *s, const sp_storage *st);
/* Put `st` back to the records of `s` (its namespaces only), in one transaction. */
void spt_snapshot_restore(const spt_snapshot *s, const sp_storage *st);

/* A malloc'd copy of n bytes (at least one byte allocated); fails the test when out of
 * memory. */
uint8_t *spt_dup_bytes(const void *p, size_t n);

/* ---- direct table calls that must succeed (for test setup) ---- */

void spt_storage_begin(const sp_storage *st);
void spt_storage_commit(const sp_storage *st);
void spt_storage_put(const sp_storage *st, const char *ns, const void *key, size_t key_len,
                     const void *value, size_t value_len);
/* begin, put a NUL-terminated key and value, commit */
void spt_storage_put_str(const sp_storage *st, const char *ns, const char *key,
                         const char *value);

/* ---- records under keys built by hand (docs/storage.md) ---- */

/* A key as docs/storage.md lays it out, built by the test: a string is its bytes and
 * 00 01, a u32 its four bytes big-endian. Start from SPT_KEY_EMPTY. */
typedef struct spt_key {
    uint8_t b[64];
    size_t len;
} spt_key;

#define SPT_KEY_EMPTY ((spt_key){ { 0 }, 0 })

spt_key spt_key_str(spt_key k, const char *s);
spt_key spt_key_u32(spt_key k, uint32_t v);

/* A malloc'd, NUL-terminated copy of the value under `k`; fails the test when there is
 * none. */
char *spt_record_get(const sp_storage *st, const char *ns, spt_key k);
/* Put (a NUL-terminated value) or remove the record under `k`, each in a transaction of
 * its own. */
void spt_record_put(const sp_storage *st, const char *ns, spt_key k, const char *value);
void spt_record_remove(const sp_storage *st, const char *ns, spt_key k);
/* The number of records in namespace `ns`. */
size_t spt_record_count(const sp_storage *st, const char *ns);

/* ---- a test's context and memory store ---- */

typedef struct spt_env {
    sp_ctx *ctx;
    sp_storage *st;
} spt_env;

/* Setup and teardown for cmocka_unit_test_setup_teardown: *state is an spt_env with a
 * new context and a memory store made in it. */
int spt_env_setup(void **state);
int spt_env_teardown(void **state);

/* ---- fault loops over a store ---- */

/*
 * What fault loops over store operations share: a memory store in a context of its own,
 * and `ctx`, allocating through `alloc` (which fails only while armed), for the operations
 * under test, which reach the store through `table`. Embed it first in a test's case (the
 * cases' `user`); set the store up through ctx and store, then run.
 */
typedef struct spt_store_faults {
    spt_alloc alloc;
    sp_ctx *ctx;
    sp_ctx *store_ctx;
    sp_storage *store;
    const sp_storage *table; /* the store; the failing wrapper during storage faults */
    spt_snapshot *before;    /* the store's namespaces as spt_store_faults_run found them */
} spt_store_faults;

void spt_store_faults_init(spt_store_faults *f);
/*
 * Take `before` (namespaces ns[0 .. nns)), then run every case (each must meet at least one
 * failure point) with every allocation of ctx failing in turn (SP_ENOMEM), then every call
 * of the storage table failing in turn (SP_ESTORAGE), as refused calls and as writes that
 * happen and then fail. The cases' own `errors` are ignored. spt_store_faults_restore and
 * spt_store_faults_unchanged serve as (parts of) their undo and check_unchanged.
 */
void spt_store_faults_run(spt_store_faults *f, const spt_fault_case *cases, size_t n,
                          const char *const *ns, size_t nns);
void spt_store_faults_restore(spt_store_faults *f);
void spt_store_faults_unchanged(spt_store_faults *f);
size_t spt_store_faults_live(void *f);
/* Frees it all; fails the test when ctx holds more than its own block. */
void spt_store_faults_free(spt_store_faults *f);

#endif /* SPT_STORAGE_H */
