/*
 * Test support shared by every test program: a failing allocator, a generic
 * fault-injection loop driver, a seeded PRNG. Include after <cmocka.h>.
 */
#ifndef SPT_H
#define SPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "salesplan/core.h"

/* A context with the default allocator; fails the test if it cannot be made. */
sp_ctx *spt_new_ctx(void);

/* The day number (days since 1970-01-01) of a civil date; fails the test for a date that
 * does not exist. */
int32_t spt_day(int32_t year, int32_t month, int32_t mday);

/* Fails the test unless `rc` is `code` and the context's last message is exactly `msg`. */
void spt_expect_error(sp_ctx *ctx, int rc, int code, const char *msg);

/*
 * Fails the test unless `rc` is SP_ECORRUPT and the message is `what` followed by the
 * position of byte `byte` of the one-line record `text`: " (line 1, column C, byte B)".
 * Columns count characters (the bytes that do not continue a UTF-8 sequence); for a
 * record of ASCII only, `text` may be NULL (the column is then byte + 1).
 */
void spt_expect_corrupt_at(sp_ctx *ctx, int rc, const char *text, size_t byte,
                           const char *what);
/* The same at the first `marker` in `text` (fails the test when there is none). */
void spt_expect_corrupt_marker(sp_ctx *ctx, int rc, const char *text, const char *marker,
                               const char *what);

/* ---- strings packed as Arrow packs a string column ---- */

/*
 * n strings in one malloc'd buffer after `skip` bytes of junk (so offsets[0] == skip),
 * with junk after the last one too: only the data length and the n + 1 offsets delimit
 * them, never a NUL. lens[i] is the length of s[i], or lens is NULL for NUL-terminated
 * strings; a NULL s[i] packs as an empty string.
 */
typedef struct spt_packed {
    char *data;
    size_t len;
    uint64_t *offsets;
    size_t n;
} spt_packed;

spt_packed spt_pack(const char *const *s, const size_t *lens, size_t n, size_t skip);
void spt_packed_free(spt_packed *p);

/* ---- failing allocator ---- */

/*
 * Allocator hooks that count calls and live blocks, and fail on demand: once armed with
 * n, the n-th allocation call from then on fails (and, when persistent, every later one).
 */
typedef struct spt_alloc {
    uint64_t calls;     /* malloc + realloc calls since armed (or created) */
    uint64_t fail_at;   /* 0: never fail */
    bool persistent;
    uint64_t failures;  /* failures injected since armed */
    size_t live_blocks; /* blocks allocated and not yet freed */
    size_t live_bytes;
} spt_alloc;

void spt_alloc_init(spt_alloc *a);
/* Fill the hooks of `opts` (already initialised) to allocate through `a`. */
void spt_alloc_hooks(spt_alloc *a, sp_ctx_options *opts);
/* A context allocating through `a`; fails the test if it cannot be made. */
sp_ctx *spt_ctx_with(spt_alloc *a);
void spt_alloc_arm(spt_alloc *a, uint64_t n, bool persistent);
/* Stop failing; returns the number of failures injected while armed. */
uint64_t spt_alloc_disarm(spt_alloc *a);

/* ---- fault-injection loop ---- */

/* Something that can be told to fail its n-th call: an allocator, a storage table. */
typedef struct spt_injector {
    void (*arm)(void *self, uint64_t n, bool persistent);
    uint64_t (*disarm)(void *self); /* returns the failures injected while armed */
    void *self;
} spt_injector;

spt_injector spt_alloc_injector(spt_alloc *a);

typedef struct spt_fault_case {
    const char *name;
    /* The operation under test; returns its status. */
    int (*run)(void *user);
    /* Called after a successful run, to return to the state before it (free what it
     * made, restore what it changed). May be NULL when a success changes nothing. */
    void (*undo)(void *user);
    /* Assert (with cmocka) that the observable state is the state before the run.
     * May be NULL when there is nothing beyond the leak check to compare. */
    void (*check_unchanged)(void *user);
    /* Live allocations now, for the leak check; NULL to skip. */
    size_t (*live)(void *user);
    /* Status codes a failing run may return (SP_ENOMEM for an allocator, ...). */
    const int *errors;
    size_t nerrors;
    void *user;
} spt_fault_case;

/*
 * Run `c` with the injector failing its 1st, 2nd, ... call, first once (transient), then
 * from that call on (persistent), until a run completes without any injected failure.
 * Each failed run must return one of c->errors, leak nothing and leave the state
 * unchanged. Returns the number of failure points exercised in transient mode.
 */
uint64_t spt_fault_loop(const spt_fault_case *c, const spt_injector *inj);
/* spt_fault_loop over cases[0 .. n); fails the test naming a case that met no failure
 * point. */
void spt_fault_loops(const spt_fault_case *cases, size_t n, const spt_injector *inj);

/* ---- deterministic pseudo-random numbers (splitmix64) ---- */

typedef struct spt_rng {
    uint64_t state;
} spt_rng;

uint64_t spt_rng_next(spt_rng *r);
/* Uniform in [lo, hi] (inclusive), hi - lo < 2^63. */
int64_t spt_rng_range(spt_rng *r, int64_t lo, int64_t hi);
/* True with probability percent / 100. */
bool spt_rng_chance(spt_rng *r, unsigned percent);

/* Number of property-test iterations: `full`, or `full / 10` (at least 1) when the
 * environment variable SPT_QUICK is set (the valgrind run sets it). */
unsigned spt_iterations(unsigned full);

#endif /* SPT_H */
