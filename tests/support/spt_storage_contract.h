/*
 * The storage conformance kit: checks any sp_storage against the contract of
 * salesplan/storage.h and docs/storage.md, calling the table directly as the library
 * would (begin, writes, commit or rollback; reads in and out of transactions). A host
 * runs it against its backend in its own tests. Include after <cmocka.h>.
 */
#ifndef SPT_STORAGE_CONTRACT_H
#define SPT_STORAGE_CONTRACT_H

#include "salesplan/storage.h"

typedef struct spt_storage_backend {
    const char *name;
    /* A new store holding no records. */
    sp_storage *(*open)(void *user);
    /* Release a store from open or reopen. */
    void (*close)(void *user, sp_storage *st);
    /* Optional (persistent backends): close `st` and open the same data again. */
    sp_storage *(*reopen)(void *user, sp_storage *st);
    void *user;
} spt_storage_backend;

/* Run every check; each failure names the check and the backend. */
void spt_storage_contract(const spt_storage_backend *b);

#endif /* SPT_STORAGE_CONTRACT_H */
