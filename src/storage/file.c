/*
 * The single-file store: an append-only log of checksummed commit batches, replayed into
 * the memory store's structure (memory.c) when the file is opened.
 *
 *   file    = header batch*
 *   header  = magic "\x89SPSTOR\n" | u32 version | u32 flags (0) | u64 first_seq
 *             | u32 reserved (0) | u32 crc32c(bytes 0..27)                     32 bytes
 *   batch   = bheader payload trailer
 *   bheader = "SPBT" | u32 ops | u64 seq | u64 payload_len | u32 reserved (0)
 *             | u32 crc32c(bytes 0..27)                                       32 bytes
 *   payload = op*;  op = u8 kind (1 put, 2 remove) | u8 ns_len | ns
 *             | u32 key_len | key [| u32 value_len | value]                   (puts only)
 *   trailer = u32 crc32c(payload) | "SPCM" (the commit marker)                 8 bytes
 *
 * A commit is one pwrite of one batch at the end of the log, then fsync. Opening replays
 * the batches in order (their sequence numbers must run on from first_seq). The first
 * batch that fails validation ends the replay: it is the torn tail of an interrupted
 * commit, cut off, unless a later commit proves it is damage in the middle (SP_ECORRUPT).
 * Everything after a torn batch's header was written by that commit and may be record
 * values, which can hold anything (a complete batch with the next sequence number too),
 * so the proof is sought only where the damaged batch cannot reach:
 *  - its header is sound (magic, checksum, the sequence number due): the header gives the
 *    batch's end; a later commit is a sound header with a higher number at or after it;
 *  - it is not: the batch's end is unknown; a later commit is a run of valid batches with
 *    consecutive numbers above the last one replayed that ends exactly at the end of the
 *    file. Batches inside a torn batch's payload cannot: the rest of that batch, its
 *    trailer at least, follows them.
 * When the log outgrows twice its live data, the live records are written to a new
 * "<path>.tmp", which is fsynced and renamed over the file, and the directory is fsynced.
 * A new store is written under a fresh name and linked into place. Temporary files are
 * always created with O_EXCL | O_NOFOLLOW: nothing is written through a symbolic link or
 * into a file this store did not create. A symbolic link at <path> is followed; a writer
 * resolves it so that compaction works beside, and replaces, the real file.
 * docs/storage.md has the full argument.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crc32c.h"
#include "file.h"
#include "memory.h"

/* ---- POSIX I/O ---- */

#ifdef PATH_MAX
#define RESOLVE_MAX PATH_MAX
#else
#define RESOLVE_MAX 4096
#endif

static int px_open(void *user, const char *path, spi_io_mode mode, int *fd)
{
    (void)user;
    int flags = O_CLOEXEC;
    switch (mode) {
    case SPI_IO_READ: flags |= O_RDONLY; break;
    case SPI_IO_WRITE: flags |= O_RDWR; break;
    case SPI_IO_CREATE: flags |= O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW; break;
    case SPI_IO_DIR: flags |= O_RDONLY | O_DIRECTORY; break;
    default: return EINVAL;
    }
    int f;
    do
        f = open(path, flags, 0666);
    while (f < 0 && errno == EINTR);
    if (f < 0)
        return errno;
    *fd = f;
    return 0;
}

static int px_close(void *user, int fd)
{
    (void)user;
    return close(fd) == 0 ? 0 : errno;
}

static int px_pread(void *user, int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    (void)user;
    size_t done = 0;
    while (done < len) {
        if (off + done > (uint64_t)INT64_MAX)
            return EOVERFLOW;
        ssize_t n = pread(fd, (uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            break;
        done += (size_t)n;
    }
    *got = done;
    return 0;
}

static int px_pwrite(void *user, int fd, const void *buf, size_t len, uint64_t off)
{
    (void)user;
    size_t done = 0;
    while (done < len) {
        if (off + done > (uint64_t)INT64_MAX)
            return EOVERFLOW;
        ssize_t n = pwrite(fd, (const uint8_t *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno;
        if (n == 0)
            return EIO;
        done += (size_t)n;
    }
    return 0;
}

static int px_fsync(void *user, int fd)
{
    (void)user;
    return fsync(fd) == 0 ? 0 : errno;
}

static int px_ftruncate(void *user, int fd, uint64_t len)
{
    (void)user;
    if (len > (uint64_t)INT64_MAX)
        return EOVERFLOW;
    return ftruncate(fd, (off_t)len) == 0 ? 0 : errno;
}

static int px_size(void *user, int fd, uint64_t *size)
{
    (void)user;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return errno;
    *size = (uint64_t)st.st_size;
    return 0;
}

static int px_rename(void *user, const char *from, const char *to)
{
    (void)user;
    return rename(from, to) == 0 ? 0 : errno;
}

static int px_link(void *user, const char *from, const char *to)
{
    (void)user;
    return link(from, to) == 0 ? 0 : errno;
}

static int px_unlink(void *user, const char *path)
{
    (void)user;
    return unlink(path) == 0 ? 0 : errno;
}

static int px_lock(void *user, int fd, bool exclusive)
{
    (void)user;
    int rc;
    do
        rc = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB);
    while (rc != 0 && errno == EINTR);
    return rc == 0 ? 0 : errno;
}

static int px_same(void *user, int fd, const char *path, bool *same)
{
    (void)user;
    struct stat a, b;
    if (fstat(fd, &a) != 0)
        return errno;
    if (stat(path, &b) != 0) {
        if (errno != ENOENT)
            return errno;
        *same = false;
        return 0;
    }
    *same = a.st_dev == b.st_dev && a.st_ino == b.st_ino;
    return 0;
}

static int px_resolve(void *user, const char *path, char *buf, size_t cap)
{
    (void)user;
    char real[RESOLVE_MAX];
    if (realpath(path, real) == NULL)
        return errno;
    size_t n = strlen(real);
    if (n >= cap)
        return ENAMETOOLONG;
    memcpy(buf, real, n + 1);
    return 0;
}

static const spi_file_io posix_io = {
    NULL,    px_open,   px_close, px_pread,  px_pwrite, px_fsync,  px_ftruncate,
    px_size, px_rename, px_link,  px_unlink, px_lock,   px_same,   px_resolve,
};

const spi_file_io *spi_file_io_posix(void)
{
    return &posix_io;
}

/* ---- the store ---- */

static const uint8_t file_magic[8] = { 0x89, 'S', 'P', 'S', 'T', 'O', 'R', '\n' };
static const uint8_t batch_magic[4] = { 'S', 'P', 'B', 'T' };
static const uint8_t commit_marker[4] = { 'S', 'P', 'C', 'M' };

#define DEFAULT_COMPACT_MIN (UINT64_C(1) << 20)
#define DEFAULT_SNAPSHOT_BATCH ((size_t)1 << 20)
#define SEARCH_CHUNK ((size_t)1 << 16)
#define OPEN_ATTEMPTS 4
#define TEMP_SUFFIX ".tmp"
/* Sequence numbers run from 1 to SEQ_MAX and never wrap; offsets stay below MAX_OFFSET
 * (off_t). */
#define SEQ_MAX ((uint64_t)INT64_MAX)
#define MAX_OFFSET ((uint64_t)INT64_MAX)
/* The shortest operation: a remove of an empty key in a 1-byte namespace. */
#define MIN_OP_SIZE 7u

typedef struct file_store {
    sp_storage table;
    sp_ctx *ctx;
    spi_mem *mem;
    spi_file_io io;
    char *path;     /* as given: opened, symbolic links followed */
    char *real;     /* the file itself, links resolved (writers): compaction replaces it */
    char *tmp_path; /* "<real>.tmp" */
    char *dir_path; /* the directory of the file (of `path` until `real` is known) */
    char *new_path; /* room for a creation's temporary name */
    size_t new_cap;
    const char *name; /* the path for messages: the caller's until the copy exists */
    int fd;           /* -1: none */
    bool readonly, sync, poisoned;
    bool dir_unsynced; /* a compaction's rename may not be durable yet */
    uint64_t end; /* offset after the last valid batch */
    uint64_t seq; /* sequence number of the last batch */
    uint64_t compact_min;
    size_t snapshot_batch;
    /* The open transaction's batch: header room, the operations, trailer room. */
    uint8_t *buf;
    size_t len, cap;
    uint32_t ops;
    size_t blocks; /* allocations held, the live state's excluded */
    char msg[512];
} file_store;

static int ffail(file_store *fs, int code, const char *fmt, ...) SPI_PRINTF(3, 4);

static int ffail(file_store *fs, int code, const char *fmt, ...)
{
    int n = snprintf(fs->msg, sizeof fs->msg, "file store: %.200s: ", fs->name);
    va_list ap;
    va_start(ap, fmt);
    if (n > 0 && (size_t)n < sizeof fs->msg)
        vsnprintf(fs->msg + n, sizeof fs->msg - (size_t)n, fmt, ap);
    va_end(ap);
    return code;
}

#define NO_OFFSET UINT64_MAX

/* An I/O failure: SP_ESTORAGE naming the operation (and where in the file) and the
 * system's reason. */
static int io_fail(file_store *fs, int err, const char *what, uint64_t off)
{
    char reason[128], where[48] = "";
    if (strerror_r(err, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", err);
    if (off != NO_OFFSET)
        snprintf(where, sizeof where, " at offset %llu", (unsigned long long)off);
    return ffail(fs, SP_ESTORAGE, "%s%s failed: %s", what, where, reason);
}

static void *f_alloc(file_store *fs, size_t size)
{
    void *p = spi_malloc(fs->ctx, size);
    if (p == NULL)
        ffail(fs, SP_ENOMEM, "out of memory allocating %zu bytes", size);
    else
        fs->blocks++;
    return p;
}

static void f_free(file_store *fs, void *p)
{
    if (p != NULL) {
        spi_free(fs->ctx, p);
        fs->blocks--;
    }
}

/* Grow *buf to hold at least `need` bytes. */
static int reserve(file_store *fs, uint8_t **buf, size_t *cap, size_t need)
{
    if (need <= *cap)
        return SP_OK;
    size_t c = *cap > 0 ? *cap : 4096;
    while (c < need)
        c = c > SIZE_MAX / 2 ? need : 2 * c;
    uint8_t *grown = spi_realloc_array(fs->ctx, *buf, c, 1);
    if (grown == NULL)
        return ffail(fs, SP_ENOMEM, "out of memory growing a buffer to %zu bytes", c);
    if (*buf == NULL)
        fs->blocks++;
    *buf = grown;
    *cap = c;
    return SP_OK;
}

static void release(file_store *fs, uint8_t **buf, size_t *cap)
{
    f_free(fs, *buf);
    *buf = NULL;
    *cap = 0;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static size_t op_size(int kind, size_t ns_len, size_t key_len, size_t value_len)
{
    return 2 + ns_len + 4 + key_len + (kind == SPI_OP_PUT ? 4 + value_len : 0);
}

static uint8_t *put_op(uint8_t *p, int kind, const char *ns, size_t ns_len,
                       const uint8_t *key, size_t key_len, const uint8_t *value,
                       size_t value_len)
{
    *p++ = (uint8_t)kind;
    *p++ = (uint8_t)ns_len;
    memcpy(p, ns, ns_len);
    p += ns_len;
    put32(p, (uint32_t)key_len);
    memcpy(p + 4, key, key_len);
    p += 4 + key_len;
    if (kind == SPI_OP_PUT) {
        put32(p, (uint32_t)value_len);
        if (value_len > 0)
            memcpy(p + 4, value, value_len);
        p += 4 + value_len;
    }
    return p;
}

/* Fill the header and trailer around `payload_len` bytes of operations at b + 32. */
static void seal_batch(uint8_t *b, size_t payload_len, uint32_t ops, uint64_t seq)
{
    memcpy(b, batch_magic, 4);
    put32(b + 4, ops);
    put64(b + 8, seq);
    put64(b + 16, payload_len);
    put32(b + 24, 0);
    put32(b + 28, spi_crc32c(b, 28));
    uint8_t *t = b + SPI_BATCH_HEADER_SIZE + payload_len;
    put32(t, spi_crc32c(b + SPI_BATCH_HEADER_SIZE, payload_len));
    memcpy(t + 4, commit_marker, 4);
}

static void file_header(uint8_t h[SPI_FILE_HEADER_SIZE], uint64_t first_seq)
{
    memcpy(h, file_magic, 8);
    put32(h + 8, SPI_FILE_VERSION);
    put32(h + 12, 0);
    put64(h + 16, first_seq);
    put32(h + 24, 0);
    put32(h + 28, spi_crc32c(h, 28));
}

/* A batch header's fields. */
typedef struct bhead {
    uint32_t ops;
    uint64_t seq, payload_len;
} bhead;

enum {
    HEAD_OK = 0,
    HEAD_NONE = 1,   /* not a batch header: wrong magic or checksum */
    HEAD_INVALID = 2 /* a good checksum over a field no writer writes */
};

/* A reason into why[0..cap) when the caller asked for one (why may be NULL). */
static void say(char *why, size_t cap, const char *fmt, ...) SPI_PRINTF(3, 4);
static void say(char *why, size_t cap, const char *fmt, ...)
{
    if (why == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
}

/* Read the 32 bytes at offset `pos`, `h`, as a batch header: HEAD_OK, or another HEAD_*
 * with the reason in why (when not NULL). */
static int parse_head(const uint8_t h[SPI_BATCH_HEADER_SIZE], uint64_t pos, bhead *out,
                      char *why, size_t cap)
{
    if (memcmp(h, batch_magic, 4) != 0) {
        say(why, cap, "no batch header");
        return HEAD_NONE;
    }
    if (get32(h + 28) != spi_crc32c(h, 28)) {
        say(why, cap, "header checksum mismatch");
        return HEAD_NONE;
    }
    out->ops = get32(h + 4);
    out->seq = get64(h + 8);
    out->payload_len = get64(h + 16);
    uint32_t reserved = get32(h + 24);
    unsigned long long o = (unsigned long long)pos;
    if (reserved != 0)
        say(why, cap, "reserved field at offset %llu is 0x%08x, must be 0", o + 24,
            (unsigned)reserved);
    else if (out->seq == 0 || out->seq > SEQ_MAX)
        say(why, cap, "sequence number %llu at offset %llu is out of range (1 to %llu)",
            (unsigned long long)out->seq, o + 8, (unsigned long long)SEQ_MAX);
    else if (out->ops == 0)
        say(why, cap, "operation count 0 at offset %llu (a batch holds at least one "
            "operation)", o + 4);
    else if ((uint64_t)out->ops * MIN_OP_SIZE > out->payload_len)
        say(why, cap, "operation count %u at offset %llu does not fit a payload of %llu "
            "bytes (an operation takes at least %u)", (unsigned)out->ops, o + 4,
            (unsigned long long)out->payload_len, (unsigned)MIN_OP_SIZE);
    else if (pos > MAX_OFFSET - SPI_BATCH_HEADER_SIZE - SPI_BATCH_TRAILER_SIZE ||
             out->payload_len >
                 MAX_OFFSET - SPI_BATCH_HEADER_SIZE - SPI_BATCH_TRAILER_SIZE - pos)
        say(why, cap, "payload length %llu at offset %llu puts its end past the largest "
            "file offset", (unsigned long long)out->payload_len, o + 16);
    else
        return HEAD_OK;
    return HEAD_INVALID;
}

static int sync_fd(file_store *fs, int fd, const char *what)
{
    if (!fs->sync)
        return SP_OK;
    int err = fs->io.fsync(fs->io.user, fd);
    return err == 0 ? SP_OK : io_fail(fs, err, what, NO_OFFSET);
}

static int sync_dir(file_store *fs)
{
    if (!fs->sync)
        return SP_OK;
    int fd, err = fs->io.open(fs->io.user, fs->dir_path, SPI_IO_DIR, &fd);
    if (err == 0) {
        err = fs->io.fsync(fs->io.user, fd);
        fs->io.close(fs->io.user, fd);
    }
    return err == 0 ? SP_OK : io_fail(fs, err, "fsync of the directory", NO_OFFSET);
}

/* Lock a file this store has just created and write its header: 0 or an errno. */
static int start_file(file_store *fs, int fd, uint64_t first_seq)
{
    uint8_t h[SPI_FILE_HEADER_SIZE];
    file_header(h, first_seq);
    int err = fs->io.lock(fs->io.user, fd, true);
    return err != 0 ? err : fs->io.pwrite(fs->io.user, fd, h, sizeof h, 0);
}

static void drop_temp(file_store *fs, int fd)
{
    fs->io.unlink(fs->io.user, fs->tmp_path);
    fs->io.close(fs->io.user, fd);
}

/*
 * Create "<path>.tmp" for a new image of the store, locked, with a file header. Only the
 * store's writer compacts, so whatever has that name is a leftover of a crashed compaction
 * or was put there by someone else: it is removed (removing a symbolic link leaves its
 * target alone) and the file created anew with O_EXCL, never through a link planted
 * meanwhile and never truncating a file this store did not create.
 */
static int open_temp(file_store *fs, uint64_t first_seq, int *out)
{
    int fd, err = fs->io.open(fs->io.user, fs->tmp_path, SPI_IO_CREATE, &fd);
    if (err == EEXIST) {
        fs->io.unlink(fs->io.user, fs->tmp_path);
        err = fs->io.open(fs->io.user, fs->tmp_path, SPI_IO_CREATE, &fd);
    }
    if (err != 0)
        return io_fail(fs, err, "creating the " TEMP_SUFFIX " file", NO_OFFSET);
    if ((err = start_file(fs, fd, first_seq)) != 0) {
        drop_temp(fs, fd);
        return io_fail(fs, err, "preparing the " TEMP_SUFFIX " file", NO_OFFSET);
    }
    *out = fd;
    return SP_OK;
}

/*
 * Create an empty store, a complete file at `path` or none, without ever touching a file
 * this call did not create: the file is made under a fresh name ("<path>.tmp.<pid>.<n>",
 * O_EXCL: never an existing file, never through a symbolic link), locked, written,
 * fsynced, then linked to `path`; a link fails when the name exists, so of creators racing
 * exactly one wins. The winner keeps the file open and locked (*out), so no one else gets
 * in between; a loser (*out = -1) opens the winner's file like any other.
 */
static int create_file(file_store *fs, int *out)
{
    *out = -1;
    long pid = (long)getpid();
    int fd = -1, err = EEXIST;
    for (int n = 0; n < SPI_FILE_CREATE_TRIES && err == EEXIST; n++) {
        snprintf(fs->new_path, fs->new_cap, "%s" TEMP_SUFFIX ".%ld.%d", fs->path, pid, n);
        err = fs->io.open(fs->io.user, fs->new_path, SPI_IO_CREATE, &fd);
    }
    if (err == EEXIST)
        return ffail(fs, SP_ESTORAGE,
                     "creating the file failed: the temporary names %s" TEMP_SUFFIX
                     ".%ld.0 to .%d are all taken",
                     fs->path, pid, SPI_FILE_CREATE_TRIES - 1);
    if (err != 0)
        return io_fail(fs, err, "creating the temporary file", NO_OFFSET);
    err = start_file(fs, fd, 1);
    int rc = err != 0 ? io_fail(fs, err, "preparing the temporary file", NO_OFFSET)
                      : sync_fd(fs, fd, "fsync of the new file");
    err = rc == SP_OK ? fs->io.link(fs->io.user, fs->new_path, fs->path) : 0;
    if (err != 0 && err != EEXIST)
        rc = io_fail(fs, err, "creating the file", NO_OFFSET);
    fs->io.unlink(fs->io.user, fs->new_path);
    if (rc == SP_OK && err == 0)
        rc = sync_dir(fs);
    if (rc != SP_OK || err != 0) {
        fs->io.close(fs->io.user, fd);
        return rc;
    }
    *out = fd;
    return SP_OK;
}

static char *copy_text(file_store *fs, const char *a, size_t alen, const char *b);

/* The directory part of `path`: "." for none, "/" for the root. */
static char *dir_of(file_store *fs, const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return copy_text(fs, ".", 1, "");
    return copy_text(fs, path, slash == path ? 1 : (size_t)(slash - path), "");
}

/*
 * Find the file the locked `fd` is, symbolic links resolved (*same false when `path` no
 * longer leads to it). A compaction writes its temporary file beside that file (a rename
 * works only within one file system) and replaces that file, so that a link to the store
 * stays a link to the store.
 */
static int locate(file_store *fs, int fd, bool *same)
{
    char buf[RESOLVE_MAX];
    *same = false;
    int err = fs->io.resolve(fs->io.user, fs->path, buf, sizeof buf);
    if (err == ENOENT)
        return SP_OK; /* removed or replaced meanwhile */
    if (err == 0)
        err = fs->io.same(fs->io.user, fd, buf, same);
    if (err != 0)
        return io_fail(fs, err, "resolving the path", NO_OFFSET);
    if (!*same)
        return SP_OK;
    size_t n = strlen(buf);
    char *real = copy_text(fs, buf, n, ""), *tmp = copy_text(fs, buf, n, TEMP_SUFFIX);
    char *dir = dir_of(fs, buf);
    if (real == NULL || tmp == NULL || dir == NULL) {
        f_free(fs, real);
        f_free(fs, tmp);
        f_free(fs, dir);
        return SP_ENOMEM;
    }
    f_free(fs, fs->real);
    f_free(fs, fs->tmp_path);
    f_free(fs, fs->dir_path);
    fs->real = real;
    fs->tmp_path = tmp;
    fs->dir_path = dir;
    return SP_OK;
}

/* Open and lock the file, creating it when asked to. */
static int open_file(file_store *fs, bool create)
{
    bool lost = false; /* a creation found the name taken */
    for (int attempt = 0; attempt < OPEN_ATTEMPTS; attempt++) {
        int fd = -1, err = fs->io.open(fs->io.user, fs->path,
                                       fs->readonly ? SPI_IO_READ : SPI_IO_WRITE, &fd);
        bool locked = false;
        if (err == ENOENT) {
            if (!create)
                return ffail(fs, SP_ENOTFOUND, "no such file");
            /* Taken by a name that opens nothing: a symbolic link to a missing file,
             * which is not created through (see docs/storage.md). */
            if (lost)
                return ffail(fs, SP_ESTORAGE,
                             "creating the file failed: the name exists but leads to no file "
                             "(a dangling symbolic link, or removed meanwhile)");
            int rc = create_file(fs, &fd);
            if (rc != SP_OK)
                return rc;
            lost = fd < 0;
            if (lost)
                continue; /* another store created it first: open theirs */
            err = 0;
            locked = true;
        }
        if (err != 0)
            return io_fail(fs, err, "open", NO_OFFSET);
        bool same = false;
        if (!locked)
            err = fs->io.lock(fs->io.user, fd, !fs->readonly);
        if (err == 0)
            err = fs->io.same(fs->io.user, fd, fs->path, &same);
        if (err == 0 && same && !fs->readonly) {
            int rc = locate(fs, fd, &same);
            if (rc != SP_OK) {
                fs->io.close(fs->io.user, fd);
                return rc;
            }
        }
        if (err == 0 && same) {
            fs->fd = fd;
            return SP_OK;
        }
        fs->io.close(fs->io.user, fd);
        if (err == EWOULDBLOCK)
            return ffail(fs, SP_ECONFLICT, "in use by another store (locked)");
        if (err != 0)
            return io_fail(fs, err, "lock", NO_OFFSET);
        /* Replaced by a compaction between open and lock: open the new file. */
    }
    return ffail(fs, SP_ECONFLICT, "replaced %d times while opening", OPEN_ATTEMPTS);
}

static int read_at(file_store *fs, void *buf, size_t len, uint64_t off, size_t *got)
{
    int err = fs->io.pread(fs->io.user, fs->fd, buf, len, off, got);
    return err == 0 ? SP_OK : io_fail(fs, err, "read", off);
}

/* A batch read from the file. */
typedef struct batch {
    uint64_t seq;
    uint64_t next; /* the offset after the batch, by its header; 0 when past the end */
    uint32_t ops;
    const uint8_t *payload;
    size_t payload_len;
} batch;

/* What read_batch finds when the batch at an offset is not valid. */
enum {
    BATCH_UNKNOWN = 1, /* no header of this batch (missing, damaged, another sequence
                        * number): where the batch would end is unknown */
    BATCH_DAMAGED = 2, /* a sound header, hence a known end (b->next), bad contents */
    BATCH_INVALID = 3  /* a header with a good checksum and a field no writer writes */
};

/* Read and check the batch at `pos`, numbered `want_seq`: SP_OK, another BATCH_* with the
 * reason in why, or an error. `probe`: look at the commit marker before reading the
 * payload (a search, where most candidates fail). */
static int read_batch(file_store *fs, uint64_t pos, uint64_t size, uint64_t want_seq,
                      bool probe, uint8_t **pbuf, size_t *pcap, batch *b, char *why,
                      size_t cap)
{
    uint8_t h[SPI_BATCH_HEADER_SIZE];
    size_t got = 0;
    int rc = size - pos >= sizeof h ? read_at(fs, h, sizeof h, pos, &got) : SP_OK;
    if (rc != SP_OK)
        return rc;
    if (got < sizeof h) {
        snprintf(why, cap, "incomplete batch header");
        return BATCH_UNKNOWN;
    }
    bhead hd;
    rc = parse_head(h, pos, &hd, why, cap);
    if (rc != HEAD_OK)
        return rc == HEAD_INVALID ? BATCH_INVALID : BATCH_UNKNOWN;
    if (hd.seq != want_seq) {
        snprintf(why, cap, "sequence number %llu where %llu was due",
                 (unsigned long long)hd.seq, (unsigned long long)want_seq);
        return BATCH_UNKNOWN;
    }
    b->seq = hd.seq;
    b->ops = hd.ops;
    b->next = 0;
    uint64_t room = size - pos - sizeof h;
    if (hd.payload_len > room || room - hd.payload_len < SPI_BATCH_TRAILER_SIZE) {
        snprintf(why, cap, "batch runs past the end of the file");
        return BATCH_DAMAGED;
    }
    b->next = pos + sizeof h + hd.payload_len + SPI_BATCH_TRAILER_SIZE;
    uint8_t marker[4];
    if (probe && (rc = read_at(fs, marker, sizeof marker, b->next - 4, &got)) != SP_OK)
        return rc;
    if (probe && (got < sizeof marker || memcmp(marker, commit_marker, 4) != 0)) {
        snprintf(why, cap, "no commit marker");
        return BATCH_DAMAGED;
    }
    if (hd.payload_len > SIZE_MAX - SPI_BATCH_TRAILER_SIZE)
        return ffail(fs, SP_ENOMEM, "batch at offset %llu: a payload of %llu bytes does not "
                     "fit in memory", (unsigned long long)pos,
                     (unsigned long long)hd.payload_len);
    size_t total = (size_t)hd.payload_len + SPI_BATCH_TRAILER_SIZE;
    rc = reserve(fs, pbuf, pcap, total);
    if (rc == SP_OK)
        rc = read_at(fs, *pbuf, total, pos + sizeof h, &got);
    if (rc != SP_OK)
        return rc;
    if (got < total) {
        b->next = 0;
        snprintf(why, cap, "batch runs past the end of the file");
        return BATCH_DAMAGED;
    }
    const uint8_t *t = *pbuf + hd.payload_len;
    if (get32(t) != spi_crc32c(*pbuf, (size_t)hd.payload_len)) {
        snprintf(why, cap, "payload checksum mismatch");
        return BATCH_DAMAGED;
    }
    if (memcmp(t + 4, commit_marker, 4) != 0) {
        snprintf(why, cap, "no commit marker");
        return BATCH_DAMAGED;
    }
    b->payload = *pbuf;
    b->payload_len = (size_t)hd.payload_len;
    return SP_OK;
}

/* Apply a batch whose checksums hold; a malformed operation is corruption. */
static int apply_batch(file_store *fs, const batch *b, uint64_t pos)
{
    const uint8_t *p = b->payload, *end = p + b->payload_len;
    int rc = spi_mem_begin(fs->mem);
    const char *bad = NULL;
    char short_by[96];
    uint32_t i = 0;
    for (; i < b->ops; i++) {
        char ns[SPI_NS_MAX + 1];
        if (p == end) {
            snprintf(short_by, sizeof short_by,
                     "the payload ends after %u of the %u operations its header counts",
                     (unsigned)i, (unsigned)b->ops);
            bad = short_by;
            break;
        }
        if (end - p < 2 || (p[0] != SPI_OP_PUT && p[0] != SPI_OP_REMOVE)) {
            bad = "unknown operation";
            break;
        }
        int kind = p[0];
        size_t ns_len = p[1];
        p += 2;
        if (ns_len == 0 || ns_len > SPI_NS_MAX || (size_t)(end - p) < ns_len + 4) {
            bad = "bad namespace length";
            break;
        }
        if (memchr(p, 0, ns_len) != NULL) { /* would cut the name short */
            bad = "a NUL byte in the namespace";
            break;
        }
        memcpy(ns, p, ns_len);
        ns[ns_len] = '\0';
        p += ns_len;
        size_t klen = get32(p);
        p += 4;
        if ((size_t)(end - p) < klen) {
            bad = "key runs past the batch";
            break;
        }
        const uint8_t *key = p;
        p += klen;
        if (kind == SPI_OP_REMOVE) {
            rc = spi_mem_remove(fs->mem, ns, key, klen);
        } else if (end - p < 4 || (size_t)(end - p - 4) < get32(p)) {
            bad = "value runs past the batch";
        } else {
            size_t vlen = get32(p);
            rc = spi_mem_put(fs->mem, ns, key, klen, p + 4, vlen);
            p += 4 + vlen;
        }
        if (rc != SP_OK || bad != NULL)
            break;
    }
    if (rc == SP_OK && bad == NULL && p != end)
        bad = "bytes after the last operation";
    if (rc == SP_OK && bad == NULL)
        return spi_mem_commit(fs->mem);
    spi_mem_rollback(fs->mem);
    if (rc == SP_ENOMEM)
        return ffail(fs, rc, "%s", spi_mem_errmsg(fs->mem));
    return ffail(fs, SP_ECORRUPT, "batch at offset %llu, operation %u: %s",
                 (unsigned long long)pos, (unsigned)i, bad != NULL ? bad : spi_mem_errmsg(fs->mem));
}

/* The first offset in [from, size) where a sound batch header (magic, checksum) with a
 * sequence number above `after` starts: *hit, *at, *seq. `buf` holds SEARCH_BUF bytes. */
#define SEARCH_BUF (SEARCH_CHUNK + SPI_BATCH_HEADER_SIZE)
static int find_header(file_store *fs, uint8_t *buf, uint64_t from, uint64_t size,
                       uint64_t after, bool *hit, uint64_t *at, uint64_t *seq)
{
    *hit = false;
    for (uint64_t off = from; off < size && size - off >= SPI_BATCH_HEADER_SIZE;
         off += SEARCH_CHUNK) {
        size_t got;
        int rc = read_at(fs, buf, SEARCH_BUF, off, &got);
        if (rc != SP_OK)
            return rc;
        for (size_t i = 0; i < SEARCH_CHUNK && i + SPI_BATCH_HEADER_SIZE <= got; i++) {
            bhead hd;
            if (buf[i] == batch_magic[0] &&
                parse_head(buf + i, off + i, &hd, NULL, 0) == HEAD_OK &&
                hd.seq > after) {
                *hit = true;
                *at = off + i;
                *seq = hd.seq;
                return SP_OK;
            }
        }
    }
    return SP_OK;
}

/*
 * Whether valid batches with consecutive sequence numbers above `after` run from some
 * offset in [from, size) exactly to the end of the file (*hit, *at: the first of them).
 * A run that stops short is skipped whole, so that each byte is searched once: a batch
 * starting inside a valid batch's checksummed payload is part of that payload.
 */
static int find_run_to_end(file_store *fs, uint8_t *buf, uint8_t **pbuf, size_t *pcap,
                           uint64_t from, uint64_t size, uint64_t after, bool *hit,
                           uint64_t *at)
{
    /* A run ending at the end of the file ends with a commit marker. */
    uint8_t last[4];
    size_t got = 0;
    int rc = size - from >= sizeof last ? read_at(fs, last, sizeof last, size - 4, &got) : SP_OK;
    *hit = false;
    if (rc != SP_OK || got < sizeof last || memcmp(last, commit_marker, 4) != 0)
        return rc;
    for (;;) {
        uint64_t start, seq;
        rc = find_header(fs, buf, from, size, after, hit, &start, &seq);
        if (rc != SP_OK || !*hit)
            return rc;
        uint64_t cur = start;
        for (;;) {
            batch b;
            char why[160];
            rc = read_batch(fs, cur, size, seq, true, pbuf, pcap, &b, why, sizeof why);
            if (rc < 0)
                return rc;
            if (rc != SP_OK)
                break;
            cur = b.next;
            if (cur == size) {
                *at = start;
                return SP_OK;
            }
            seq++; /* at most SEQ_MAX + 1, which no valid header has */
        }
        *hit = false;
        from = cur > start ? cur : start + 1;
    }
}

/* Read the header and replay every batch into the live state. */
static int load(file_store *fs)
{
    uint64_t size;
    int err = fs->io.size(fs->io.user, fs->fd, &size);
    if (err != 0)
        return io_fail(fs, err, "stat", NO_OFFSET);
    uint8_t h[SPI_FILE_HEADER_SIZE];
    size_t got = 0;
    int rc = read_at(fs, h, sizeof h, 0, &got);
    if (rc != SP_OK)
        return rc;
    if (got < sizeof h || memcmp(h, file_magic, sizeof file_magic) != 0)
        return ffail(fs, SP_ECORRUPT, "not a salesplan store file (no file header)");
    /* The version first: another version may lay out the rest differently. */
    uint32_t version = get32(h + 8);
    if (version != SPI_FILE_VERSION)
        return ffail(fs, SP_EVERSION,
                     "file format version %u is not supported (this library reads version %u)",
                     (unsigned)version, SPI_FILE_VERSION);
    if (get32(h + 28) != spi_crc32c(h, 28))
        return ffail(fs, SP_ECORRUPT, "file header at offset 0 is damaged (checksum mismatch)");
    uint32_t flags = get32(h + 12), reserved = get32(h + 24);
    uint64_t first = get64(h + 16);
    if (flags != 0)
        return ffail(fs, SP_EVERSION,
                     "file header: flags 0x%08x at offset 12 are not supported (format version "
                     "%u defines none)", (unsigned)flags, SPI_FILE_VERSION);
    if (reserved != 0)
        return ffail(fs, SP_ECORRUPT,
                     "file header: reserved field at offset 24 is 0x%08x, must be 0",
                     (unsigned)reserved);
    if (first == 0 || first > SEQ_MAX)
        return ffail(fs, SP_ECORRUPT,
                     "file header: first sequence number %llu at offset 16 is out of range "
                     "(1 to %llu)", (unsigned long long)first, (unsigned long long)SEQ_MAX);
    fs->seq = first - 1;
    uint64_t pos = SPI_FILE_HEADER_SIZE;
    uint8_t *pbuf = NULL, *sbuf = NULL;
    size_t pcap = 0, scap = 0;
    while (rc == SP_OK && pos < size) {
        batch b;
        char why[160];
        rc = read_batch(fs, pos, size, fs->seq + 1, false, &pbuf, &pcap, &b, why, sizeof why);
        if (rc == SP_OK) {
            rc = apply_batch(fs, &b, pos);
            if (rc == SP_OK) {
                fs->seq = b.seq;
                pos = b.next;
            }
            continue;
        }
        if (rc == BATCH_INVALID)
            rc = ffail(fs, SP_ECORRUPT, "batch at offset %llu: %s", (unsigned long long)pos, why);
        if (rc != BATCH_UNKNOWN && rc != BATCH_DAMAGED)
            break;
        /* Torn tail or damage in the middle: is there a later commit? (The file's top
         * comment gives the rule.) */
        int found = rc;
        bool later = false;
        uint64_t at = 0, seq;
        rc = reserve(fs, &sbuf, &scap, SEARCH_BUF);
        if (rc == SP_OK && found == BATCH_DAMAGED && b.next != 0)
            rc = find_header(fs, sbuf, b.next, size, fs->seq, &later, &at, &seq);
        else if (rc == SP_OK && found == BATCH_UNKNOWN)
            rc = find_run_to_end(fs, sbuf, &pbuf, &pcap, pos, size, fs->seq, &later, &at);
        if (rc == SP_OK && later && at == pos) /* a valid batch from the future */
            rc = ffail(fs, SP_ECORRUPT, "batch at offset %llu: %s (commits are missing)",
                       (unsigned long long)pos, why);
        else if (rc == SP_OK && later)
            rc = ffail(fs, SP_ECORRUPT,
                       "batch at offset %llu is damaged (%s) and a later batch starts at "
                       "offset %llu",
                       (unsigned long long)pos, why, (unsigned long long)at);
        if (rc != SP_OK)
            break;
        /* The torn tail of an interrupted commit: cut it off (read-only: ignore it). */
        if (!fs->readonly) {
            err = fs->io.ftruncate(fs->io.user, fs->fd, pos);
            rc = err != 0 ? io_fail(fs, err, "cutting the torn tail", pos)
                          : sync_fd(fs, fs->fd, "fsync after cutting the torn tail");
        }
        break;
    }
    release(fs, &sbuf, &scap);
    release(fs, &pbuf, &pcap);
    fs->end = pos;
    return rc;
}

/* ---- writing ---- */

/* After a failed commit write: cut the file back to the last commit. If that fails too,
 * the file may hold a commit the caller was told failed: refuse all further use. */
static void restore_tail(file_store *fs)
{
    int err = fs->io.ftruncate(fs->io.user, fs->fd, fs->end);
    if (err == 0 && fs->sync)
        err = fs->io.fsync(fs->io.user, fs->fd);
    if (err != 0)
        fs->poisoned = true;
}

typedef struct snapshot {
    file_store *fs;
    int fd;
    uint64_t pos, seq;
    uint8_t *buf;
    size_t len, cap;
    uint32_t ops;
} snapshot;

static int snapshot_flush(snapshot *s)
{
    if (s->ops == 0)
        return SP_OK;
    file_store *fs = s->fs;
    if (s->seq >= SEQ_MAX)
        return ffail(fs, SP_EOVERFLOW, "compaction: the log has used up its sequence numbers");
    size_t payload = s->len - SPI_BATCH_HEADER_SIZE;
    seal_batch(s->buf, payload, s->ops, ++s->seq);
    size_t total = s->len + SPI_BATCH_TRAILER_SIZE;
    int err = fs->io.pwrite(fs->io.user, s->fd, s->buf, total, s->pos);
    if (err != 0)
        return io_fail(fs, err, "writing the " TEMP_SUFFIX " file", s->pos);
    s->pos += total;
    s->len = SPI_BATCH_HEADER_SIZE;
    s->ops = 0;
    return SP_OK;
}

static int snapshot_record(void *arg, const char *ns, const uint8_t *key, size_t key_len,
                           const uint8_t *value, size_t value_len)
{
    snapshot *s = arg;
    size_t ns_len = strlen(ns);
    size_t need = op_size(SPI_OP_PUT, ns_len, key_len, value_len);
    int rc = reserve(s->fs, &s->buf, &s->cap, s->len + need + SPI_BATCH_TRAILER_SIZE);
    if (rc != SP_OK)
        return rc;
    put_op(s->buf + s->len, SPI_OP_PUT, ns, ns_len, key, key_len, value, value_len);
    s->len += need;
    s->ops++;
    return s->len - SPI_BATCH_HEADER_SIZE >= s->fs->snapshot_batch ? snapshot_flush(s) : SP_OK;
}

/* Write the live state to a new file and put it in place of the log. Any failure leaves
 * the log as it was; a crash leaves either file complete at `path`. */
static int compact(file_store *fs)
{
    snapshot s = { fs, -1, SPI_FILE_HEADER_SIZE, fs->seq, NULL, 0, 0, 0 };
    if (fs->seq >= SEQ_MAX) /* the new file's first batch would need SEQ_MAX + 1 */
        return ffail(fs, SP_EOVERFLOW, "compaction: the log has used up its sequence numbers");
    int rc = open_temp(fs, fs->seq + 1, &s.fd);
    if (rc != SP_OK)
        return rc;
    rc = reserve(fs, &s.buf, &s.cap, SPI_BATCH_HEADER_SIZE + SPI_BATCH_TRAILER_SIZE);
    s.len = SPI_BATCH_HEADER_SIZE;
    if (rc == SP_OK)
        rc = spi_mem_each(fs->mem, snapshot_record, &s);
    if (rc == SP_OK)
        rc = snapshot_flush(&s);
    release(fs, &s.buf, &s.cap);
    if (rc == SP_OK)
        rc = sync_fd(fs, s.fd, "fsync of the " TEMP_SUFFIX " file");
    int err = rc == SP_OK ? fs->io.rename(fs->io.user, fs->tmp_path, fs->real) : 0;
    if (rc != SP_OK || err != 0) {
        drop_temp(fs, s.fd);
        return rc != SP_OK ? rc : io_fail(fs, err, "renaming the compacted file", NO_OFFSET);
    }
    /* The new file is in place; the old one is gone whatever happens next. Until the
     * directory is synced, a power loss may bring the old file back, so no later commit
     * counts as durable before it is (fs_commit retries). */
    fs->io.close(fs->io.user, fs->fd);
    fs->fd = s.fd;
    fs->end = s.pos;
    fs->seq = s.seq;
    fs->dir_unsynced = true;
    rc = sync_dir(fs);
    if (rc == SP_OK)
        fs->dir_unsynced = false;
    return rc;
}

/* Bytes a compacted file would take: header, batch frames, one put per record. */
static uint64_t image_size(const file_store *fs)
{
    uint64_t data = spi_mem_bytes(fs->mem) + spi_mem_count(fs->mem) * op_size(SPI_OP_PUT, 0, 0, 0);
    uint64_t batches = data / fs->snapshot_batch + 1;
    return SPI_FILE_HEADER_SIZE + batches * (SPI_BATCH_HEADER_SIZE + SPI_BATCH_TRAILER_SIZE) +
           data;
}

static void maybe_compact(file_store *fs)
{
    if (fs->end > fs->compact_min && fs->end / 2 > image_size(fs))
        compact(fs); /* on failure the log stays valid; a later commit tries again */
}

/* ---- the table ---- */

static int check_usable(file_store *fs)
{
    if (fs->poisoned)
        return ffail(fs, SP_ESTORAGE,
                     "a failed commit could not be cut off the file; reopen the store");
    return SP_OK;
}

static int mem_status(file_store *fs, int rc)
{
    if (rc != SP_OK && rc != SP_ENOTFOUND)
        snprintf(fs->msg, sizeof fs->msg, "%s", spi_mem_errmsg(fs->mem));
    return rc;
}

static int check_write(file_store *fs, const char *what, const char *ns, size_t key_len,
                       size_t value_len)
{
    int rc = check_usable(fs);
    if (rc != SP_OK)
        return rc;
    if (fs->readonly)
        return ffail(fs, SP_EINVAL, "%s: the store is open read-only", what);
    if (!spi_mem_in_tx(fs->mem))
        return ffail(fs, SP_EINVAL, "%s outside a transaction", what);
    if (!spi_ns_valid(ns))
        return ffail(fs, SP_EINVAL, "%s: invalid namespace \"%.40s\"", what,
                     ns != NULL ? ns : "(null)");
    if (key_len > UINT32_MAX || value_len > UINT32_MAX)
        return ffail(fs, SP_EINVAL, "%s: key or value longer than 4 GiB", what);
    return SP_OK;
}

static int fs_get(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t **value, size_t *value_len)
{
    file_store *fs = user;
    int rc = check_usable(fs);
    if (rc != SP_OK)
        return rc;
    return mem_status(fs, spi_mem_get(fs->mem, ns, key, key_len, value, value_len));
}

static int fs_scan(void *user, const char *ns, const uint8_t *from, size_t from_len,
                   const uint8_t *to, size_t to_len, sp_storage_visit_fn visit, void *arg)
{
    file_store *fs = user;
    int rc = check_usable(fs);
    if (rc != SP_OK)
        return rc;
    rc = spi_mem_scan(fs->mem, ns, from, from_len, to, to_len, visit, arg);
    /* A visitor's status passes through; the store's own errors leave a message. */
    return spi_mem_errmsg(fs->mem)[0] != '\0' ? mem_status(fs, rc) : rc;
}

/* Log one operation: room first, then the live state, then the bytes, so that a failure
 * changes nothing. */
static int log_op(file_store *fs, int kind, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    const char *what = kind == SPI_OP_PUT ? "put" : "remove";
    int rc = check_write(fs, what, ns, key_len, value_len);
    if (rc != SP_OK)
        return rc;
    size_t ns_len = strlen(ns);
    size_t need = op_size(kind, ns_len, key_len, value_len);
    if (need > SIZE_MAX - fs->len - SPI_BATCH_TRAILER_SIZE)
        return ffail(fs, SP_ENOMEM, "%s: the transaction outgrew memory", what);
    rc = reserve(fs, &fs->buf, &fs->cap, fs->len + need + SPI_BATCH_TRAILER_SIZE);
    if (rc != SP_OK)
        return rc;
    rc = kind == SPI_OP_PUT ? spi_mem_put(fs->mem, ns, key, key_len, value, value_len)
                            : spi_mem_remove(fs->mem, ns, key, key_len);
    if (rc != SP_OK)
        return mem_status(fs, rc);
    put_op(fs->buf + fs->len, kind, ns, ns_len, key, key_len, value, value_len);
    fs->len += need;
    fs->ops++;
    return SP_OK;
}

static int fs_put(void *user, const char *ns, const uint8_t *key, size_t key_len,
                  const uint8_t *value, size_t value_len)
{
    if (value == NULL && value_len > 0)
        return ffail(user, SP_EINVAL, "put: value is NULL");
    if (key == NULL && key_len > 0)
        return ffail(user, SP_EINVAL, "put: key is NULL");
    return log_op(user, SPI_OP_PUT, ns, key, key_len, value, value_len);
}

static int fs_remove(void *user, const char *ns, const uint8_t *key, size_t key_len)
{
    if (key == NULL && key_len > 0)
        return ffail(user, SP_EINVAL, "remove: key is NULL");
    return log_op(user, SPI_OP_REMOVE, ns, key, key_len, NULL, 0);
}

static void end_batch(file_store *fs)
{
    release(fs, &fs->buf, &fs->cap);
    fs->len = 0;
    fs->ops = 0;
}

static int fs_begin(void *user)
{
    file_store *fs = user;
    int rc = check_usable(fs);
    if (rc != SP_OK)
        return rc;
    if (fs->readonly)
        return ffail(fs, SP_EINVAL, "begin: the store is open read-only");
    if (spi_mem_in_tx(fs->mem))
        return mem_status(fs, spi_mem_begin(fs->mem)); /* refused: already open */
    rc = reserve(fs, &fs->buf, &fs->cap, SPI_BATCH_HEADER_SIZE + SPI_BATCH_TRAILER_SIZE);
    if (rc == SP_OK)
        rc = mem_status(fs, spi_mem_begin(fs->mem));
    if (rc != SP_OK) {
        end_batch(fs);
        return rc;
    }
    fs->len = SPI_BATCH_HEADER_SIZE;
    fs->ops = 0;
    return SP_OK;
}

static int fs_commit(void *user)
{
    file_store *fs = user;
    if (!spi_mem_in_tx(fs->mem))
        return mem_status(fs, spi_mem_commit(fs->mem)); /* refused: no transaction */
    int rc = check_usable(fs);
    if (rc != SP_OK)
        return rc;
    if (fs->ops > 0 && fs->seq >= SEQ_MAX)
        return ffail(fs, SP_EOVERFLOW,
                     "commit: the log has used up its sequence numbers (the last is %llu)",
                     (unsigned long long)fs->seq);
    if (fs->ops > 0) {
        size_t payload = fs->len - SPI_BATCH_HEADER_SIZE;
        seal_batch(fs->buf, payload, fs->ops, fs->seq + 1);
        size_t total = fs->len + SPI_BATCH_TRAILER_SIZE;
        int err = fs->io.pwrite(fs->io.user, fs->fd, fs->buf, total, fs->end);
        rc = err != 0 ? io_fail(fs, err, "writing a commit", fs->end)
                      : sync_fd(fs, fs->fd, "fsync of a commit");
        if (rc == SP_OK && fs->dir_unsynced) {
            rc = sync_dir(fs);
            fs->dir_unsynced = rc != SP_OK;
        }
        if (rc != SP_OK) {
            restore_tail(fs);
            return rc; /* the caller rolls back */
        }
        fs->end += total;
        fs->seq++;
    }
    rc = mem_status(fs, spi_mem_commit(fs->mem));
    end_batch(fs);
    if (rc == SP_OK)
        maybe_compact(fs);
    return rc;
}

static int fs_rollback(void *user)
{
    file_store *fs = user;
    int rc = mem_status(fs, spi_mem_rollback(fs->mem));
    if (rc == SP_OK)
        end_batch(fs);
    return rc;
}

static const char *fs_errmsg(void *user)
{
    return ((file_store *)user)->msg;
}

static void free_store(file_store *fs)
{
    sp_ctx *ctx = fs->ctx;
    if (fs->fd >= 0)
        fs->io.close(fs->io.user, fs->fd);
    spi_mem_free(fs->mem);
    end_batch(fs);
    f_free(fs, fs->path);
    f_free(fs, fs->real);
    f_free(fs, fs->tmp_path);
    f_free(fs, fs->dir_path);
    f_free(fs, fs->new_path);
    spi_free(ctx, fs);
}

static void fs_destroy(void *user)
{
    free_store(user);
}

static char *copy_text(file_store *fs, const char *a, size_t alen, const char *b)
{
    size_t blen = strlen(b);
    char *s = f_alloc(fs, alen + blen + 1);
    if (s != NULL) {
        memcpy(s, a, alen);
        memcpy(s + alen, b, blen + 1);
    }
    return s;
}

static const size_t file_options_sizes[] = { 0, sizeof(sp_file_store_options) };

SPI_DEFINE_INIT(sp_file_store_options, file_options_sizes,
                SP_FILE_STORE_OPTIONS_VERSION, SP_FILE_STORE_OPTIONS_INIT)

#define KNOWN_FLAGS (SP_FILE_STORE_CREATE | SP_FILE_STORE_READONLY | SP_FILE_STORE_NO_SYNC)

int spi_storage_file_open(sp_storage **out, sp_ctx *ctx, const char *path,
                          const sp_file_store_options *opts, const spi_file_config *cfg)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, "file store: out is NULL");
    if (path == NULL || path[0] == '\0')
        return spi_fail(ctx, SP_EINVAL, "file store: path is %s",
                        path == NULL ? "NULL" : "empty");
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    int rc = spi_struct_read(ctx, "sp_file_store_options", &o, opts, file_options_sizes,
                             SP_FILE_STORE_OPTIONS_VERSION);
    if (rc != SP_OK)
        return rc;
    if (o.flags & ~(uint32_t)KNOWN_FLAGS)
        return spi_fail(ctx, SP_EINVAL, "sp_file_store_options: unknown flags 0x%x",
                        (unsigned)(o.flags & ~(uint32_t)KNOWN_FLAGS));

    file_store *fs = spi_malloc(ctx, sizeof *fs);
    if (fs == NULL)
        return SP_ENOMEM;
    memset(fs, 0, sizeof *fs);
    fs->ctx = ctx;
    fs->fd = -1;
    fs->name = path;
    fs->io = cfg != NULL && cfg->io != NULL ? *cfg->io : posix_io;
    fs->compact_min = cfg != NULL && cfg->compact_min > 0 ? cfg->compact_min
                                                          : DEFAULT_COMPACT_MIN;
    fs->snapshot_batch = cfg != NULL && cfg->snapshot_batch > 0 ? cfg->snapshot_batch
                                                                : DEFAULT_SNAPSHOT_BATCH;
    fs->readonly = (o.flags & SP_FILE_STORE_READONLY) != 0;
    fs->sync = (o.flags & SP_FILE_STORE_NO_SYNC) == 0;

    size_t plen = strlen(path);
    fs->path = copy_text(fs, path, plen, "");
    fs->dir_path = dir_of(fs, path);
    /* "<path>.tmp.<pid>.<n>": a pid takes at most 20 characters, n at most 10 */
    fs->new_cap = plen + sizeof TEMP_SUFFIX + 32;
    fs->new_path = f_alloc(fs, fs->new_cap);
    rc = fs->path != NULL && fs->dir_path != NULL && fs->new_path != NULL ? SP_OK : SP_ENOMEM;
    if (rc == SP_OK && spi_mem_new(&fs->mem, ctx, "file store") != SP_OK)
        rc = ffail(fs, SP_ENOMEM, "out of memory opening the store");
    if (rc == SP_OK)
        rc = open_file(fs, (o.flags & SP_FILE_STORE_CREATE) && !fs->readonly);
    if (rc == SP_OK)
        rc = load(fs);
    if (rc != SP_OK) {
        spi_fail(ctx, rc, "%s", fs->msg);
        free_store(fs);
        return rc;
    }
    fs->name = fs->path;
    sp_storage t = SP_STORAGE_INIT;
    t.user = fs;
    t.get = fs_get;
    t.put = fs_put;
    t.remove = fs_remove;
    t.scan = fs_scan;
    t.begin = fs_begin;
    t.commit = fs_commit;
    t.rollback = fs_rollback;
    t.errmsg = fs_errmsg;
    t.destroy = fs_destroy;
    fs->table = t;
    *out = &fs->table;
    return SP_OK;
}

int sp_storage_file_new(sp_storage **out, sp_ctx *ctx, const char *path,
                        const sp_file_store_options *opts)
{
    return spi_storage_file_open(out, ctx, path, opts, NULL);
}

bool spi_file_store_blocks(const sp_storage *table, size_t *blocks)
{
    if (table == NULL || table->get != fs_get)
        return false;
    const file_store *fs = table->user;
    *blocks = 1 + fs->blocks + spi_mem_blocks(fs->mem);
    return true;
}
