/*
 * The in-memory store: per namespace a B+ tree of records, an undo log per transaction.
 *
 * Records are single blocks (header, key, value). Leaves hold records; inner nodes hold
 * copies of keys as separators (key[i] is the lowest key under child[i]; key[0] is
 * unused), so replacing or freeing a record never touches routing. Beside each key the
 * nodes keep its first 8 bytes as a big-endian integer, so most comparisons are integer
 * comparisons within one node.
 *
 * Transactions: a write inside a transaction puts a new record (stamped with the
 * transaction's number) in the slot and logs, once per key, the slot's record from before
 * the transaction (NULL when the key was absent). A remove puts a tombstone (REC_DEAD) in
 * the slot, so the tree keeps its shape during a transaction. Commit frees the old
 * records and drops tombstones, touching nothing else (the stamps simply stop matching);
 * rollback puts the old records back and drops new slots. Neither allocates, so neither
 * can fail for lack of memory. Every write allocates all it needs (record, log room,
 * namespace, split nodes) before changing anything, so SP_ENOMEM changes nothing.
 *
 * Deleting never merges nodes; an empty node is freed and its parent shrinks. The tree
 * stays correct and its height is bounded by the inserts it has seen (log base 16).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "memory.h"

#define FANOUT 32
#define MAX_DEPTH 40 /* 16^40 inserts: never reached */

enum { REC_DEAD = 1 };

typedef struct rec {
    size_t klen, vlen;
    uint64_t tx;    /* the transaction that made it */
    size_t undo;    /* index of its undo entry while that transaction is open */
    uint32_t flags; /* REC_DEAD */
    uint8_t data[]; /* key, then value */
} rec;

typedef struct node {
    uint32_t n; /* records (leaf) or children (inner) */
    bool leaf;
    struct node *prev, *next; /* leaves, in key order */
    uint64_t head[FANOUT];    /* first 8 key bytes of key[i], big-endian, zero-padded */
    rec *key[FANOUT];
    struct node *child[FANOUT]; /* inner nodes only: leaves are allocated without it */
} node;

#define LEAF_SIZE offsetof(node, child)

typedef struct space {
    node *root;
    size_t name_len;
    char name[SPI_NS_MAX + 1];
} space;

typedef struct undo_entry {
    space *sp;
    rec *orig; /* the slot's record before the transaction; NULL: the key was absent */
    rec *cur;  /* the slot's record now */
    bool dead; /* cur is a tombstone (kept here so that commit need not look) */
} undo_entry;

struct spi_mem {
    sp_ctx *ctx;
    const char *label;
    space **spaces; /* sorted by name */
    size_t nspaces, spaces_cap;
    space *last; /* the namespace of the last call */
    undo_entry *log;
    size_t nlog, log_cap;
    bool in_tx;
    uint64_t tx; /* number of the open (or last) transaction */
    unsigned scans;
    uint64_t count, bytes;
    size_t blocks;
    char msg[256];
};

/* The path from the root to a leaf: nodes[i] and, at each, the index taken (at the leaf:
 * the lower-bound position of the key). */
typedef struct path {
    size_t depth;
    node *nodes[MAX_DEPTH];
    uint32_t idx[MAX_DEPTH];
} path;

static int mfail(spi_mem *m, int code, const char *fmt, ...) SPI_PRINTF(3, 4);

static int mfail(spi_mem *m, int code, const char *fmt, ...)
{
    int n = snprintf(m->msg, sizeof m->msg, "%s: ", m->label);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof m->msg)
        vsnprintf(m->msg + n, sizeof m->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

static void *m_alloc(spi_mem *m, size_t size)
{
    void *p = spi_malloc(m->ctx, size);
    if (p == NULL)
        mfail(m, SP_ENOMEM, "out of memory allocating %zu bytes", size);
    else
        m->blocks++;
    return p;
}

static void m_free(spi_mem *m, void *p)
{
    if (p != NULL) {
        spi_free(m->ctx, p);
        m->blocks--;
    }
}

static uint64_t key_head(const uint8_t *key, size_t len)
{
    uint64_t h = 0;
    size_t n = len < 8 ? len : 8;
    for (size_t i = 0; i < n; i++)
        h |= (uint64_t)key[i] << (56 - 8 * i);
    return h;
}

/* Heads order keys whenever they differ: the first differing byte is within the first 8,
 * and a zero pad sorts like the end of a shorter key. */
static int cmp_slot(uint64_t h, const uint8_t *key, size_t len, uint64_t sh, const rec *r)
{
    if (h != sh)
        return h < sh ? -1 : 1;
    return spi_key_compare(key, len, r->data, r->klen);
}

static rec *rec_new(spi_mem *m, const uint8_t *key, size_t klen, const uint8_t *value,
                    size_t vlen, uint32_t flags)
{
    size_t size;
    if (__builtin_add_overflow(sizeof(rec), klen, &size) ||
        __builtin_add_overflow(size, vlen, &size)) {
        mfail(m, SP_ENOMEM, "a record of %zu + %zu bytes is too large", klen, vlen);
        return NULL;
    }
    rec *r = m_alloc(m, size);
    if (r == NULL)
        return NULL;
    r->klen = klen;
    r->vlen = vlen;
    r->tx = m->tx;
    r->undo = 0;
    r->flags = flags;
    if (klen > 0)
        memcpy(r->data, key, klen);
    if (vlen > 0)
        memcpy(r->data + klen, value, vlen);
    return r;
}

/* ---- B+ tree ---- */

/* Descend to the leaf where `key` is or belongs. */
/* Ask for a node's heads at once (four cache lines), so that its binary search waits
 * for memory once rather than once per probe. */
static void prefetch_heads(const node *x)
{
#if defined(__GNUC__)
    for (int i = 0; i < FANOUT; i += 8)
        __builtin_prefetch(&x->head[i]);
#else
    (void)x;
#endif
}

static node *descend(const space *sp, uint64_t h, const uint8_t *key, size_t len, path *p)
{
    node *x = sp->root;
    p->depth = 0;
    prefetch_heads(x);
    while (!x->leaf) {
        /* The last child whose lower bound is <= key. */
        uint32_t lo = 1, hi = x->n;
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (cmp_slot(h, key, len, x->head[mid], x->key[mid]) < 0)
                hi = mid;
            else
                lo = mid + 1;
        }
        p->nodes[p->depth] = x;
        p->idx[p->depth++] = lo - 1;
        x = x->child[lo - 1];
        prefetch_heads(x);
    }
    uint32_t lo = 0, hi = x->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cmp_slot(h, key, len, x->head[mid], x->key[mid]) > 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    p->nodes[p->depth] = x;
    p->idx[p->depth++] = lo;
    return x;
}

/* The slot holding `key`, or NULL (with the path filled for an insert when the tree is
 * not empty). */
static rec **find_slot(const space *sp, const uint8_t *key, size_t len, path *p)
{
    p->depth = 0;
    if (sp->root == NULL)
        return NULL;
    uint64_t h = key_head(key, len);
    node *leaf = descend(sp, h, key, len, p);
    uint32_t pos = p->idx[p->depth - 1];
    if (pos < leaf->n && cmp_slot(h, key, len, leaf->head[pos], leaf->key[pos]) == 0)
        return &leaf->key[pos];
    return NULL;
}

static node *leftmost_leaf(node *x)
{
    while (!x->leaf)
        x = x->child[0];
    return x;
}

/* Nodes and the separator an insert may need, allocated before anything changes. */
typedef struct pool {
    node *nodes[MAX_DEPTH + 1];
    size_t n;
    rec *sep;
} pool;

static void pool_release(spi_mem *m, pool *pl)
{
    for (size_t i = 0; i < pl->n; i++)
        m_free(m, pl->nodes[i]);
    m_free(m, pl->sep);
    pl->n = 0;
    pl->sep = NULL;
}

static node *pool_take(pool *pl, bool leaf)
{
    node *x = pl->nodes[--pl->n];
    x->n = 0;
    x->leaf = leaf;
    x->prev = x->next = NULL;
    return x;
}

/* Put (h, k, c) at index i of inner node x (c is the child whose lower bound is k). */
static void inner_put(node *x, uint32_t i, uint64_t h, rec *k, node *c)
{
    memmove(&x->head[i + 1], &x->head[i], (x->n - i) * sizeof x->head[0]);
    memmove(&x->key[i + 1], &x->key[i], (x->n - i) * sizeof x->key[0]);
    memmove(&x->child[i + 1], &x->child[i], (x->n - i) * sizeof x->child[0]);
    x->head[i] = h;
    x->key[i] = k;
    x->child[i] = c;
    x->n++;
}

/* Add child c with lower bound (h, k) right after index p->idx[level] of the inner node
 * at `level`, splitting upward as needed with nodes from the pool. */
static void insert_up(space *sp, path *p, size_t level_plus_one, uint64_t h, rec *k, node *c,
                      pool *pl)
{
    for (;;) {
        if (level_plus_one == 0) { /* the root split: a new root above */
            node *root = pool_take(pl, false);
            root->n = 2;
            root->key[0] = NULL;
            root->head[0] = 0;
            root->child[0] = sp->root;
            root->head[1] = h;
            root->key[1] = k;
            root->child[1] = c;
            sp->root = root;
            return;
        }
        size_t level = level_plus_one - 1;
        node *x = p->nodes[level];
        uint32_t at = p->idx[level] + 1;
        if (x->n < FANOUT) {
            inner_put(x, at, h, k, c);
            return;
        }
        /* Split: FANOUT + 1 children, the lower half stays. */
        uint64_t heads[FANOUT + 1];
        rec *keys[FANOUT + 1];
        node *kids[FANOUT + 1];
        for (uint32_t i = 0, j = 0; i <= FANOUT; i++) {
            if (i == at) {
                heads[i] = h;
                keys[i] = k;
                kids[i] = c;
            } else {
                heads[i] = x->head[j];
                keys[i] = x->key[j];
                kids[i] = x->child[j];
                j++;
            }
        }
        uint32_t left = (FANOUT + 1) / 2;
        node *y = pool_take(pl, false);
        x->n = left;
        memcpy(x->head, heads, left * sizeof heads[0]);
        memcpy(x->key, keys, left * sizeof keys[0]);
        memcpy(x->child, kids, left * sizeof kids[0]);
        y->n = FANOUT + 1 - left;
        memcpy(y->head, heads + left, y->n * sizeof heads[0]);
        memcpy(y->key, keys + left, y->n * sizeof keys[0]);
        memcpy(y->child, kids + left, y->n * sizeof kids[0]);
        /* y's lower bound moves up; its key[0] is unused like every key[0]. */
        h = y->head[0];
        k = y->key[0];
        y->head[0] = 0;
        y->key[0] = NULL;
        c = y;
        level_plus_one = level;
    }
}

/* Insert record r (absent from the tree) where the path from find_slot says. */
static int tree_insert(spi_mem *m, space *sp, path *p, rec *r)
{
    uint64_t h = key_head(r->data, r->klen);
    if (sp->root == NULL) {
        node *leaf = m_alloc(m, LEAF_SIZE);
        if (leaf == NULL)
            return SP_ENOMEM;
        leaf->n = 1;
        leaf->leaf = true;
        leaf->prev = leaf->next = NULL;
        leaf->head[0] = h;
        leaf->key[0] = r;
        sp->root = leaf;
        return SP_OK;
    }
    size_t d = p->depth;
    node *leaf = p->nodes[d - 1];
    uint32_t pos = p->idx[d - 1];
    if (leaf->n < FANOUT) {
        memmove(&leaf->head[pos + 1], &leaf->head[pos], (leaf->n - pos) * sizeof leaf->head[0]);
        memmove(&leaf->key[pos + 1], &leaf->key[pos], (leaf->n - pos) * sizeof leaf->key[0]);
        leaf->head[pos] = h;
        leaf->key[pos] = r;
        leaf->n++;
        return SP_OK;
    }

    /* The leaf splits; so does every full node above it, and the root when all are. */
    size_t splits = 1;
    while (splits < d && p->nodes[d - 1 - splits]->n == FANOUT)
        splits++;
    size_t need = splits + (splits == d);
    /* Appending past the last key fills leaves (sequential loads); otherwise halves. */
    uint32_t left = leaf->next == NULL && pos == FANOUT ? FANOUT : (FANOUT + 1) / 2;
    const rec *first_right = left == pos ? r : leaf->key[left - (left > pos)];
    pool pl = { .n = 0, .sep = NULL };
    pl.sep = rec_new(m, first_right->data, first_right->klen, NULL, 0, 0);
    if (pl.sep == NULL)
        return SP_ENOMEM;
    for (size_t i = 0; i < need; i++) {
        node *x = m_alloc(m, i == 0 ? LEAF_SIZE : sizeof(node));
        if (x == NULL) {
            pool_release(m, &pl);
            return SP_ENOMEM;
        }
        pl.nodes[pl.n++] = x;
    }
    /* The pool hands out from the end: inner nodes first, the leaf (nodes[0]) last. */
    uint64_t heads[FANOUT + 1];
    rec *keys[FANOUT + 1];
    for (uint32_t i = 0, j = 0; i <= FANOUT; i++) {
        if (i == pos) {
            heads[i] = h;
            keys[i] = r;
        } else {
            heads[i] = leaf->head[j];
            keys[i] = leaf->key[j++];
        }
    }
    node *right = pl.nodes[0];
    right->n = FANOUT + 1 - left;
    right->leaf = true;
    memcpy(right->head, heads + left, right->n * sizeof heads[0]);
    memcpy(right->key, keys + left, right->n * sizeof keys[0]);
    leaf->n = left;
    memcpy(leaf->head, heads, left * sizeof heads[0]);
    memcpy(leaf->key, keys, left * sizeof keys[0]);
    right->prev = leaf;
    right->next = leaf->next;
    if (leaf->next != NULL)
        leaf->next->prev = right;
    leaf->next = right;
    /* Inner nodes come from nodes[1..]; pool_take hands out from the end. */
    pool inner = { .n = need - 1, .sep = NULL };
    memcpy(inner.nodes, pl.nodes + 1, (need - 1) * sizeof pl.nodes[0]);
    insert_up(sp, p, d - 1, key_head(pl.sep->data, pl.sep->klen), pl.sep, right, &inner);
    return SP_OK;
}

/* Remove the slot the path points to (the record itself is the caller's). */
static void tree_delete(spi_mem *m, space *sp, const path *p)
{
    size_t level = p->depth - 1;
    node *leaf = p->nodes[level];
    uint32_t pos = p->idx[level];
    memmove(&leaf->head[pos], &leaf->head[pos + 1], (leaf->n - pos - 1) * sizeof leaf->head[0]);
    memmove(&leaf->key[pos], &leaf->key[pos + 1], (leaf->n - pos - 1) * sizeof leaf->key[0]);
    if (--leaf->n > 0)
        return;
    if (leaf->prev != NULL)
        leaf->prev->next = leaf->next;
    if (leaf->next != NULL)
        leaf->next->prev = leaf->prev;
    m_free(m, leaf);
    if (level == 0) {
        sp->root = NULL;
        return;
    }
    /* Drop the empty child from its parent, and so on up while parents empty out. */
    while (level-- > 0) {
        node *x = p->nodes[level];
        uint32_t i = p->idx[level];
        /* The separator that goes: the child's own, or for child 0 the next child's,
         * which becomes child 0 and needs none. */
        uint32_t drop = i > 0 ? i : 1;
        if (drop < x->n)
            m_free(m, x->key[drop]);
        uint32_t from = i > 0 ? i : 0;
        memmove(&x->child[from], &x->child[from + 1], (x->n - from - 1) * sizeof x->child[0]);
        if (drop < x->n) {
            memmove(&x->head[drop], &x->head[drop + 1], (x->n - drop - 1) * sizeof x->head[0]);
            memmove(&x->key[drop], &x->key[drop + 1], (x->n - drop - 1) * sizeof x->key[0]);
        }
        x->key[0] = NULL;
        x->head[0] = 0;
        if (--x->n > 0)
            break;
        m_free(m, x);
        if (level == 0) {
            sp->root = NULL;
            return;
        }
    }
    while (!sp->root->leaf && sp->root->n == 1) {
        node *old = sp->root;
        sp->root = old->child[0];
        m_free(m, old);
    }
}

static void tree_free(spi_mem *m, node *x)
{
    if (x->leaf) {
        for (uint32_t i = 0; i < x->n; i++)
            m_free(m, x->key[i]);
    } else {
        for (uint32_t i = 0; i < x->n; i++) {
            if (i > 0)
                m_free(m, x->key[i]);
            tree_free(m, x->child[i]);
        }
    }
    m_free(m, x);
}

/* ---- namespaces ---- */

static bool find_space(spi_mem *m, const char *ns, size_t *at)
{
    size_t lo = 0, hi = m->nspaces;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(m->spaces[mid]->name, ns);
        if (c == 0) {
            *at = mid;
            return true;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *at = lo;
    return false;
}

static space *get_space(spi_mem *m, const char *ns)
{
    if (m->last != NULL && strcmp(m->last->name, ns) == 0)
        return m->last;
    size_t at;
    if (!find_space(m, ns, &at))
        return NULL;
    return m->last = m->spaces[at];
}

/* The namespace, created (empty) when absent; *created says so. */
static int make_space(spi_mem *m, const char *ns, space **out, bool *created)
{
    *created = false;
    if ((*out = get_space(m, ns)) != NULL)
        return SP_OK;
    size_t at;
    find_space(m, ns, &at);
    if (m->nspaces == m->spaces_cap) {
        size_t cap = m->spaces_cap > 0 ? 2 * m->spaces_cap : 8;
        space **grown = spi_realloc_array(m->ctx, m->spaces, cap, sizeof *grown);
        if (grown == NULL)
            return mfail(m, SP_ENOMEM, "out of memory adding namespace \"%s\"", ns);
        if (m->spaces == NULL)
            m->blocks++;
        m->spaces = grown;
        m->spaces_cap = cap;
    }
    space *sp = m_alloc(m, sizeof *sp);
    if (sp == NULL)
        return SP_ENOMEM;
    sp->root = NULL;
    sp->name_len = strlen(ns);
    memcpy(sp->name, ns, sp->name_len + 1);
    memmove(&m->spaces[at + 1], &m->spaces[at], (m->nspaces - at) * sizeof m->spaces[0]);
    m->spaces[at] = sp;
    m->nspaces++;
    *out = m->last = sp;
    *created = true;
    return SP_OK;
}

/* Free namespaces left without records. */
static void sweep_spaces(spi_mem *m)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->nspaces; i++) {
        if (m->spaces[i]->root == NULL)
            m_free(m, m->spaces[i]);
        else
            m->spaces[kept++] = m->spaces[i];
    }
    m->nspaces = kept;
    m->last = NULL;
    if (kept == 0 && m->spaces != NULL) {
        m_free(m, m->spaces);
        m->spaces = NULL;
        m->spaces_cap = 0;
    }
}

/* ---- accounting ---- */

static bool live(const rec *r)
{
    return r != NULL && !(r->flags & REC_DEAD);
}

static uint64_t rec_bytes(const space *sp, const rec *r)
{
    return live(r) ? sp->name_len + r->klen + r->vlen : 0;
}

/* The slot of a key changes from `from` to `to` (either may be NULL: no record). */
static void account(spi_mem *m, const space *sp, const rec *from, const rec *to)
{
    m->count = m->count - live(from) + live(to);
    m->bytes = m->bytes - rec_bytes(sp, from) + rec_bytes(sp, to);
}

/* ---- the API ---- */

int spi_mem_new(spi_mem **out, sp_ctx *ctx, const char *label)
{
    spi_mem *m = spi_malloc(ctx, sizeof *m);
    if (m == NULL)
        return SP_ENOMEM;
    memset(m, 0, sizeof *m);
    m->ctx = ctx;
    m->label = label;
    m->blocks = 1;
    *out = m;
    return SP_OK;
}

void spi_mem_free(spi_mem *m)
{
    if (m == NULL)
        return;
    if (m->in_tx) {
        m->scans = 0;
        spi_mem_rollback(m);
    }
    for (size_t i = 0; i < m->nspaces; i++) {
        if (m->spaces[i]->root != NULL)
            tree_free(m, m->spaces[i]->root);
        m_free(m, m->spaces[i]);
    }
    m_free(m, m->spaces);
    spi_free(m->ctx, m);
}

const char *spi_mem_errmsg(const spi_mem *m)
{
    return m->msg;
}

bool spi_mem_in_tx(const spi_mem *m)
{
    return m->in_tx;
}

uint64_t spi_mem_count(const spi_mem *m)
{
    return m->count;
}

uint64_t spi_mem_bytes(const spi_mem *m)
{
    return m->bytes;
}

size_t spi_mem_blocks(const spi_mem *m)
{
    return m->blocks;
}

static int check_key(spi_mem *m, const char *what, const char *ns, const uint8_t *key,
                     size_t key_len)
{
    if (!spi_ns_valid(ns))
        return mfail(m, SP_EINVAL, "%s: invalid namespace \"%.40s\"", what,
                     ns != NULL ? ns : "(null)");
    if (key == NULL && key_len > 0)
        return mfail(m, SP_EINVAL, "%s \"%s\": key is NULL", what, ns);
    return SP_OK;
}

static int check_write(spi_mem *m, const char *what, const char *ns, const uint8_t *key,
                       size_t key_len)
{
    if (!m->in_tx)
        return mfail(m, SP_EINVAL, "%s outside a transaction", what);
    if (m->scans > 0)
        return mfail(m, SP_EINVAL, "%s during a scan", what);
    return check_key(m, what, ns, key, key_len);
}

/* The slot of a live record of `key`, or NULL. */
static rec **find_live(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len,
                       space **sp, path *p)
{
    *sp = get_space(m, ns);
    rec **slot = *sp != NULL ? find_slot(*sp, key, key_len, p) : NULL;
    return slot != NULL && live(*slot) ? slot : NULL;
}

int spi_mem_get(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len,
                const uint8_t **value, size_t *value_len)
{
    int rc = check_key(m, "get", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    space *sp;
    path p;
    rec **slot = find_live(m, ns, key, key_len, &sp, &p);
    if (slot == NULL)
        return mfail(m, SP_ENOTFOUND, "get \"%s\": not found", ns);
    *value = (*slot)->data + (*slot)->klen;
    *value_len = (*slot)->vlen;
    return SP_OK;
}

/* Room for one more undo entry. */
static int reserve_log(spi_mem *m)
{
    if (m->nlog < m->log_cap)
        return SP_OK;
    size_t cap = m->log_cap > 0 ? 2 * m->log_cap : 16;
    undo_entry *grown = spi_realloc_array(m->ctx, m->log, cap, sizeof *grown);
    if (grown == NULL)
        return mfail(m, SP_ENOMEM, "out of memory growing the undo log to %zu entries", cap);
    if (m->log == NULL)
        m->blocks++;
    m->log = grown;
    m->log_cap = cap;
    return SP_OK;
}

/* Made in the open transaction (so its undo entry exists). */
static bool made_in_tx(const spi_mem *m, const rec *r)
{
    return m->in_tx && r->tx == m->tx;
}

/* Put `r`, made in this transaction, into the slot of its key, logging the change. The
 * slot exists when `slot` is set; otherwise the path says where to insert. */
static int place(spi_mem *m, space *sp, rec **slot, path *p, rec *r)
{
    rec *old = slot != NULL ? *slot : NULL;
    bool dead = (r->flags & REC_DEAD) != 0;
    if (old != NULL && made_in_tx(m, old)) {
        /* Touched already in this transaction: its entry keeps the original. */
        r->undo = old->undo;
        m->log[old->undo].cur = r;
        m->log[old->undo].dead = dead;
        *slot = r;
        account(m, sp, old, r);
        m_free(m, old);
        return SP_OK;
    }
    int rc = reserve_log(m);
    if (rc == SP_OK && slot == NULL && tree_insert(m, sp, p, r) != SP_OK)
        rc = SP_ENOMEM;
    if (rc != SP_OK)
        return rc;
    if (slot != NULL)
        *slot = r;
    r->undo = m->nlog;
    m->log[m->nlog++] = (undo_entry){ sp, old, r, dead };
    account(m, sp, old, r);
    return SP_OK;
}

int spi_mem_put(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len,
                const uint8_t *value, size_t value_len)
{
    int rc = check_write(m, "put", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    if (value == NULL && value_len > 0)
        return mfail(m, SP_EINVAL, "put \"%s\": value is NULL", ns);
    space *sp;
    bool created;
    rc = make_space(m, ns, &sp, &created);
    if (rc != SP_OK)
        return rc;
    rec *r = rec_new(m, key, key_len, value, value_len, 0);
    path p;
    if (r != NULL) {
        rec **slot = find_slot(sp, key, key_len, &p);
        rc = place(m, sp, slot, &p, r);
        if (rc == SP_OK)
            return SP_OK;
        m_free(m, r);
    }
    if (created)
        sweep_spaces(m);
    return SP_ENOMEM;
}

int spi_mem_remove(spi_mem *m, const char *ns, const uint8_t *key, size_t key_len)
{
    int rc = check_write(m, "remove", ns, key, key_len);
    if (rc != SP_OK)
        return rc;
    space *sp;
    path p;
    rec **slot = find_live(m, ns, key, key_len, &sp, &p);
    if (slot == NULL)
        return SP_OK;
    rec *old = *slot;
    if (made_in_tx(m, old)) { /* its entry keeps the original */
        account(m, sp, old, NULL);
        old->flags |= REC_DEAD;
        m->log[old->undo].dead = true;
        return SP_OK;
    }
    rec *tomb = rec_new(m, key, key_len, NULL, 0, REC_DEAD);
    if (tomb == NULL)
        return SP_ENOMEM;
    rc = place(m, sp, slot, &p, tomb);
    if (rc != SP_OK)
        m_free(m, tomb);
    return rc;
}

int spi_mem_scan(spi_mem *m, const char *ns, const uint8_t *from, size_t from_len,
                 const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    if (!spi_ns_valid(ns))
        return mfail(m, SP_EINVAL, "scan: invalid namespace \"%.40s\"",
                     ns != NULL ? ns : "(null)");
    if ((from == NULL && from_len > 0) || (to == NULL && to_len > 0) || visit == NULL)
        return mfail(m, SP_EINVAL, "scan \"%s\": NULL bound or visitor", ns);
    m->msg[0] = '\0'; /* so that a caller can tell the visitor's errors from the store's */
    space *sp = get_space(m, ns);
    if (sp == NULL || sp->root == NULL)
        return SP_OK;
    node *leaf;
    uint32_t pos = 0;
    if (from == NULL || from_len == 0) {
        leaf = leftmost_leaf(sp->root);
    } else {
        path p;
        leaf = descend(sp, key_head(from, from_len), from, from_len, &p);
        pos = p.idx[p.depth - 1];
    }
    uint64_t to_head = to != NULL ? key_head(to, to_len) : 0;
    int rc = SP_OK;
    m->scans++;
    for (; leaf != NULL && rc == SP_OK; leaf = leaf->next, pos = 0) {
        for (; pos < leaf->n; pos++) {
            const rec *r = leaf->key[pos];
            if (to != NULL && (leaf->head[pos] > to_head ||
                               (leaf->head[pos] == to_head &&
                                spi_key_compare(r->data, r->klen, to, to_len) >= 0)))
                goto done;
            if (!live(r))
                continue;
            rc = visit(arg, r->data, r->klen, r->data + r->klen, r->vlen);
            if (rc != SP_OK)
                break;
        }
    }
done:
    m->scans--;
    return rc == SP_SCAN_STOP ? SP_OK : rc;
}

int spi_mem_begin(spi_mem *m)
{
    if (m->scans > 0)
        return mfail(m, SP_EINVAL, "begin during a scan");
    if (m->in_tx)
        return mfail(m, SP_EINVAL, "begin: a transaction is already open");
    m->in_tx = true;
    m->tx++;
    return SP_OK;
}

static int check_end(spi_mem *m, const char *what)
{
    if (!m->in_tx)
        return mfail(m, SP_EINVAL, "%s without a transaction", what);
    if (m->scans > 0)
        return mfail(m, SP_EINVAL, "%s during a scan", what);
    return SP_OK;
}

static void end_tx(spi_mem *m)
{
    m_free(m, m->log);
    m->log = NULL;
    m->nlog = m->log_cap = 0;
    m->in_tx = false;
    sweep_spaces(m);
}

int spi_mem_commit(spi_mem *m)
{
    int rc = check_end(m, "commit");
    if (rc != SP_OK)
        return rc;
    for (size_t i = 0; i < m->nlog; i++) {
        undo_entry *e = &m->log[i];
        m_free(m, e->orig);
        if (e->dead) {
            path p;
            find_slot(e->sp, e->cur->data, e->cur->klen, &p);
            tree_delete(m, e->sp, &p);
            m_free(m, e->cur);
        }
    }
    end_tx(m);
    return SP_OK;
}

int spi_mem_rollback(spi_mem *m)
{
    int rc = check_end(m, "rollback");
    if (rc != SP_OK)
        return rc;
    for (size_t i = m->nlog; i-- > 0;) {
        undo_entry *e = &m->log[i];
        path p;
        rec **slot = find_slot(e->sp, e->cur->data, e->cur->klen, &p);
        account(m, e->sp, e->cur, e->orig);
        if (e->orig != NULL)
            *slot = e->orig;
        else
            tree_delete(m, e->sp, &p);
        m_free(m, e->cur);
    }
    end_tx(m);
    return SP_OK;
}

int spi_mem_each(spi_mem *m, spi_mem_each_fn fn, void *arg)
{
    int rc = SP_OK;
    m->scans++;
    for (size_t i = 0; i < m->nspaces && rc == SP_OK; i++) {
        const space *sp = m->spaces[i];
        if (sp->root == NULL)
            continue;
        for (const node *leaf = leftmost_leaf(sp->root); leaf != NULL && rc == SP_OK;
             leaf = leaf->next)
            for (uint32_t j = 0; j < leaf->n && rc == SP_OK; j++) {
                const rec *r = leaf->key[j];
                if (live(r))
                    rc = fn(arg, sp->name, r->data, r->klen, r->data + r->klen, r->vlen);
            }
    }
    m->scans--;
    return rc;
}

/* ---- the sp_storage table ---- */

typedef struct memory_store {
    sp_storage table;
    spi_mem *mem;
} memory_store;

static spi_mem *mem_of(void *user)
{
    return ((memory_store *)user)->mem;
}

static int ms_get(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t **value, size_t *value_len)
{
    return spi_mem_get(mem_of(user), ns, key, key_len, value, value_len);
}

static int ms_put(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    return spi_mem_put(mem_of(user), ns, key, key_len, value, value_len);
}

static int ms_remove(void *user, const char *ns, const uint8_t *key, size_t key_len)
{
    return spi_mem_remove(mem_of(user), ns, key, key_len);
}

static int ms_scan(void *user, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    return spi_mem_scan(mem_of(user), ns, from, from_len, to, to_len, visit, arg);
}

static int ms_begin(void *user)
{
    return spi_mem_begin(mem_of(user));
}

static int ms_commit(void *user)
{
    return spi_mem_commit(mem_of(user));
}

static int ms_rollback(void *user)
{
    return spi_mem_rollback(mem_of(user));
}

static const char *ms_errmsg(void *user)
{
    return spi_mem_errmsg(mem_of(user));
}

static void ms_destroy(void *user)
{
    memory_store *s = user;
    sp_ctx *ctx = s->mem->ctx;
    spi_mem_free(s->mem);
    spi_free(ctx, s);
}

int sp_storage_memory_new(sp_storage **out, sp_ctx *ctx)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "memory store: out is NULL");
    memory_store *s = spi_malloc(ctx, sizeof *s);
    if (s == NULL)
        return SP_ENOMEM;
    int rc = spi_mem_new(&s->mem, ctx, "memory store");
    if (rc != SP_OK) {
        spi_free(ctx, s);
        return rc;
    }
    sp_storage t = SP_STORAGE_INIT;
    t.user = s;
    t.get = ms_get;
    t.put = ms_put;
    t.remove = ms_remove;
    t.scan = ms_scan;
    t.begin = ms_begin;
    t.commit = ms_commit;
    t.rollback = ms_rollback;
    t.errmsg = ms_errmsg;
    t.destroy = ms_destroy;
    s->table = t;
    *out = &s->table;
    return SP_OK;
}

bool spi_memory_store_blocks(const sp_storage *table, size_t *blocks)
{
    if (table == NULL || table->get != ms_get)
        return false;
    *blocks = spi_mem_blocks(mem_of(table->user)) + 1;
    return true;
}
