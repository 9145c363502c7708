/*
 * The file store: the conformance kit (with reopening), the file format checked byte by
 * byte against a second CRC-32C written here, crash safety (the write sequence of a
 * commit, of a compaction and of a file creation cut at every point, torn writes, and
 * unsynced data or directory entries lost), corruption and version detection, I/O
 * errors, locking, read-only mode, options, allocation failures.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "salesplan/salesplan.h"
#include "storage/crc32c.h"
#include "storage/file.h"
#include "storage/store.h"
#include "support/spt.h"
#include "support/spt_storage.h"
#include "support/spt_storage_contract.h"

static char test_dir[64];

static void path_of(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", test_dir, name);
}

/* Remove a store and every temporary file it may have left. */
static void remove_store(const char *path)
{
    char tmp[400];
    unlink(path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    unlink(tmp);
    for (int n = 0; n < SPI_FILE_CREATE_TRIES; n++) {
        snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%d", path, (long)getpid(), n);
        unlink(tmp);
    }
}

static int setup_dir(void **state)
{
    (void)state;
    snprintf(test_dir, sizeof test_dir, "/tmp/sp-file-store-XXXXXX");
    return mkdtemp(test_dir) != NULL ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(test_dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            char p[400];
            if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
                snprintf(p, sizeof p, "%s/%s", test_dir, e->d_name);
                unlink(p);
            }
        }
        closedir(d);
    }
    return rmdir(test_dir);
}

static uint8_t *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    for (;;) {
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    fclose(f);
    *len = n;
    return buf;
}

static void write_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    return (uint64_t)st.st_size;
}

static sp_storage *open_store(sp_ctx *ctx, const char *path, uint32_t flags,
                              const spi_file_config *cfg)
{
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    o.flags = flags;
    sp_storage *st = NULL;
    int rc = spi_storage_file_open(&st, ctx, path, &o, cfg);
    if (rc != SP_OK)
        fail_msg("open %s: %d: %s", path, rc, sp_ctx_errmsg(ctx));
    return st;
}

/* ---- a fault layer under the store ---- */

/*
 * Passes every call to the real I/O, counting the calls that change the file system
 * ("mutations": create, pwrite, fsync, ftruncate, rename, link, unlink). It can
 *  - crash at mutation k: that call is not done (or, for a pwrite, only its first or
 *    second half is), and every later call fails with EIO, as for a dead process;
 *  - remember what each mutation replaced until an fsync makes it durable, so that a test
 *    can undo, after a crash, the file data (mask 1) and the directory entries (mask 2)
 *    that were never synced, as a power loss may;
 *  - fail mutation k (or every one from k) with EIO without crashing.
 */
enum { TEAR_NONE, TEAR_FIRST_HALF, TEAR_SECOND_HALF };
enum { LOSE_DATA = 1, LOSE_DIR = 2 };

typedef struct jentry {
    char kind; /* 'w' pwrite, 't' ftruncate, 'c' create, 'r' rename, 'l' link, 'u' unlink */
    unsigned file;        /* open id (data entries) */
    char path[300], path2[300], backup[320];
    uint64_t off, old_size;
    uint8_t *old;
    size_t old_len;
} jentry;

typedef struct open_file {
    int fd;
    unsigned id;
    bool dir;
    char path[300];
} open_file;

typedef struct fault_io {
    spi_file_io io;
    const spi_file_io *real;
    uint64_t ops;     /* mutations so far */
    char kinds[64];   /* the first mutations' kinds, in order */
    uint64_t crash_at;
    int tear;
    bool crashed;
    uint64_t fail_at;
    bool fail_persistent;
    uint64_t failures;
    uint64_t fsyncs;
    bool journal_on;
    open_file files[32];
    unsigned next_id;
    jentry *j;
    size_t nj, capj;
} fault_io;

static open_file *file_of(fault_io *f, int fd)
{
    for (size_t i = 0; i < SPI_ARRAY_LEN(f->files); i++)
        if (f->files[i].fd == fd)
            return &f->files[i];
    fail_msg("fault io: unknown fd %d", fd);
    return &f->files[0];
}

static jentry *journal_add(fault_io *f, char kind)
{
    if (f->nj == f->capj) {
        f->capj = f->capj > 0 ? 2 * f->capj : 16;
        f->j = realloc(f->j, f->capj * sizeof *f->j);
        assert_non_null(f->j);
    }
    jentry *e = &f->j[f->nj++];
    memset(e, 0, sizeof *e);
    e->kind = kind;
    return e;
}

static void journal_clear(fault_io *f)
{
    for (size_t i = 0; i < f->nj; i++) {
        if (f->j[i].backup[0] != '\0')
            unlink(f->j[i].backup);
        free(f->j[i].old);
    }
    f->nj = 0;
}

#define CRASHED (-1)

/* Count a mutation; EIO, CRASHED (this call is the crash), or 0 to go on. */
static int gate(fault_io *f, char kind)
{
    if (f->crashed)
        return EIO;
    f->ops++;
    if (f->ops <= sizeof f->kinds - 1)
        f->kinds[f->ops - 1] = kind;
    if (f->crash_at != 0 && f->ops == f->crash_at) {
        f->crashed = true;
        return CRASHED;
    }
    if (f->fail_at != 0 && (f->ops == f->fail_at || (f->fail_persistent && f->ops > f->fail_at))) {
        f->failures++;
        return EIO;
    }
    return 0;
}

static int fio_open(void *user, const char *path, spi_io_mode mode, int *fd)
{
    fault_io *f = user;
    bool existed = file_exists(path);
    if (mode == SPI_IO_CREATE && !existed) {
        int g = gate(f, 'c');
        if (g != 0)
            return EIO;
    } else if (f->crashed) {
        return EIO;
    }
    int rc = f->real->open(f->real->user, path, mode, fd);
    if (rc != 0)
        return rc;
    open_file *slot = file_of(f, -1);
    slot->fd = *fd;
    slot->id = ++f->next_id;
    slot->dir = mode == SPI_IO_DIR;
    snprintf(slot->path, sizeof slot->path, "%s", path);
    if (mode == SPI_IO_CREATE && !existed && f->journal_on)
        snprintf(journal_add(f, 'c')->path, sizeof slot->path, "%s", path);
    return 0;
}

static int fio_close(void *user, int fd)
{
    fault_io *f = user;
    file_of(f, fd)->fd = -1;
    return f->real->close(f->real->user, fd); /* even a dead process's files close */
}

static int fio_pread(void *user, int fd, void *buf, size_t len, uint64_t off, size_t *got)
{
    fault_io *f = user;
    if (f->crashed)
        return EIO;
    return f->real->pread(f->real->user, fd, buf, len, off, got);
}

/* Remember the bytes [off, off + len) and the size before they change. */
static void journal_data(fault_io *f, int fd, char kind, uint64_t off, uint64_t len)
{
    if (!f->journal_on)
        return;
    open_file *of = file_of(f, fd);
    jentry *e = journal_add(f, kind);
    e->file = of->id;
    snprintf(e->path, sizeof e->path, "%s", of->path);
    assert_int_equal(f->real->size(f->real->user, fd, &e->old_size), 0);
    e->off = off;
    uint64_t end = off + len < e->old_size ? off + len : e->old_size;
    e->old_len = end > off ? (size_t)(end - off) : 0;
    e->old = malloc(e->old_len + 1);
    assert_non_null(e->old);
    size_t got = 0;
    if (e->old_len > 0)
        assert_int_equal(f->real->pread(f->real->user, fd, e->old, e->old_len, off, &got), 0);
    assert_int_equal(got, e->old_len);
}

static int fio_pwrite(void *user, int fd, const void *buf, size_t len, uint64_t off)
{
    fault_io *f = user;
    int g = gate(f, 'w');
    if (g == CRASHED && f->tear != TEAR_NONE && len >= 2) {
        size_t half = len / 2;
        journal_data(f, fd, 'w', off, len);
        if (f->tear == TEAR_FIRST_HALF)
            f->real->pwrite(f->real->user, fd, buf, half, off);
        else
            f->real->pwrite(f->real->user, fd, (const uint8_t *)buf + half, len - half,
                            off + half);
    }
    if (g != 0)
        return EIO;
    journal_data(f, fd, 'w', off, len);
    return f->real->pwrite(f->real->user, fd, buf, len, off);
}

static int fio_fsync(void *user, int fd)
{
    fault_io *f = user;
    if (gate(f, 's') != 0)
        return EIO;
    open_file *of = file_of(f, fd);
    f->fsyncs++;
    int rc = f->real->fsync(f->real->user, fd);
    /* Durable now: the file's data, or (for the directory) the entries in it. */
    size_t kept = 0;
    for (size_t i = 0; i < f->nj; i++) {
        jentry *e = &f->j[i];
        bool data = e->kind == 'w' || e->kind == 't';
        bool synced = of->dir ? !data : data && e->file == of->id;
        if (synced) {
            if (e->backup[0] != '\0')
                unlink(e->backup);
            free(e->old);
        } else {
            f->j[kept++] = *e;
        }
    }
    f->nj = kept;
    return rc;
}

static int fio_ftruncate(void *user, int fd, uint64_t len)
{
    fault_io *f = user;
    if (gate(f, 't') != 0)
        return EIO;
    uint64_t size = 0;
    f->real->size(f->real->user, fd, &size);
    journal_data(f, fd, 't', len, size > len ? size - len : 0);
    return f->real->ftruncate(f->real->user, fd, len);
}

static int fio_size(void *user, int fd, uint64_t *size)
{
    fault_io *f = user;
    if (f->crashed)
        return EIO;
    return f->real->size(f->real->user, fd, size);
}

/* Keep the file at `path` reachable as `backup` (a hard link), so it can come back. */
static void keep_backup(const char *path, char *backup, size_t cap, const char *suffix)
{
    snprintf(backup, cap, "%s%s", path, suffix);
    unlink(backup);
    if (link(path, backup) != 0)
        backup[0] = '\0';
}

static int fio_rename(void *user, const char *from, const char *to)
{
    fault_io *f = user;
    if (gate(f, 'r') != 0)
        return EIO;
    if (f->journal_on) {
        jentry *e = journal_add(f, 'r');
        snprintf(e->path, sizeof e->path, "%s", from);
        snprintf(e->path2, sizeof e->path2, "%s", to);
        keep_backup(to, e->backup, sizeof e->backup, ".crashbak");
    }
    int rc = f->real->rename(f->real->user, from, to);
    for (size_t i = 0; i < SPI_ARRAY_LEN(f->files); i++)
        if (f->files[i].fd >= 0 && strcmp(f->files[i].path, from) == 0)
            snprintf(f->files[i].path, sizeof f->files[i].path, "%s", to);
    for (size_t i = 0; i < f->nj; i++)
        if ((f->j[i].kind == 'w' || f->j[i].kind == 't') && strcmp(f->j[i].path, from) == 0)
            snprintf(f->j[i].path, sizeof f->j[i].path, "%s", to);
    return rc;
}

static int fio_link(void *user, const char *from, const char *to)
{
    fault_io *f = user;
    if (gate(f, 'l') != 0)
        return EIO;
    int rc = f->real->link(f->real->user, from, to);
    if (rc == 0 && f->journal_on)
        snprintf(journal_add(f, 'l')->path, sizeof f->j[0].path, "%s", to);
    return rc;
}

static int fio_unlink(void *user, const char *path)
{
    fault_io *f = user;
    if (gate(f, 'u') != 0)
        return EIO;
    if (f->journal_on) {
        jentry *e = journal_add(f, 'u');
        snprintf(e->path, sizeof e->path, "%s", path);
        keep_backup(path, e->backup, sizeof e->backup, ".crashbak2");
    }
    return f->real->unlink(f->real->user, path);
}

static int fio_lock(void *user, int fd, bool exclusive)
{
    fault_io *f = user;
    if (f->crashed)
        return EIO;
    return f->real->lock(f->real->user, fd, exclusive);
}

static int fio_same(void *user, int fd, const char *path, bool *same)
{
    fault_io *f = user;
    if (f->crashed)
        return EIO;
    return f->real->same(f->real->user, fd, path, same);
}

static int fio_resolve(void *user, const char *path, char *buf, size_t cap)
{
    fault_io *f = user;
    if (f->crashed)
        return EIO;
    return f->real->resolve(f->real->user, path, buf, cap);
}

static void fault_io_init(fault_io *f)
{
    memset(f, 0, sizeof *f);
    f->real = spi_file_io_posix();
    for (size_t i = 0; i < SPI_ARRAY_LEN(f->files); i++)
        f->files[i].fd = -1;
    spi_file_io t = { f,          fio_open,   fio_close, fio_pread, fio_pwrite,
                      fio_fsync,  fio_ftruncate, fio_size, fio_rename, fio_link,
                      fio_unlink, fio_lock,   fio_same, fio_resolve };
    f->io = t;
}

static void fault_io_reset(fault_io *f)
{
    journal_clear(f);
    f->ops = 0;
    memset(f->kinds, 0, sizeof f->kinds);
    f->crash_at = 0;
    f->tear = TEAR_NONE;
    f->crashed = false;
    f->fail_at = 0;
    f->fail_persistent = false;
    f->failures = 0;
    f->fsyncs = 0;
}

static void fault_io_fini(fault_io *f)
{
    journal_clear(f);
    free(f->j);
}

/* What a power loss at the crash may take away: undo, newest first, the unsynced changes
 * selected by `mask`. */
static void lose_unsynced(fault_io *f, int mask)
{
    for (size_t i = f->nj; i-- > 0;) {
        jentry *e = &f->j[i];
        bool data = e->kind == 'w' || e->kind == 't';
        if (!(mask & (data ? LOSE_DATA : LOSE_DIR)))
            continue;
        switch (e->kind) {
        case 'w':
        case 't': {
            int fd = open(e->path, O_RDWR);
            if (fd < 0)
                break; /* the file itself was lost */
            if (e->kind == 't')
                assert_int_equal(ftruncate(fd, (off_t)e->old_size), 0);
            if (e->old_len > 0)
                assert_int_equal(pwrite(fd, e->old, e->old_len, (off_t)e->off),
                                 (ssize_t)e->old_len);
            assert_int_equal(ftruncate(fd, (off_t)e->old_size), 0);
            close(fd);
            break;
        }
        case 'c':
        case 'l': unlink(e->path); break;
        case 'r':
            rename(e->path2, e->path);
            if (e->backup[0] != '\0')
                rename(e->backup, e->path2);
            e->backup[0] = '\0';
            break;
        case 'u':
            if (e->backup[0] != '\0')
                rename(e->backup, e->path);
            e->backup[0] = '\0';
            break;
        default: break;
        }
    }
}

/* ---- CRC-32C ---- */

/* The definition, one bit at a time. */
static uint32_t crc_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1u)));
    }
    return ~c;
}

static void test_crc32c(void **state)
{
    (void)state;
    assert_int_equal(spi_crc32c("123456789", 9), 0xE3069283u); /* the standard check value */
    assert_int_equal(spi_crc32c("", 0), 0);
    spt_rng rng = { 5 };
    uint8_t buf[300]; /* 64 bytes and more take the processor's instruction where it has it */
    for (int it = 0; it < 200; it++) {
        size_t n = (size_t)spt_rng_range(&rng, 0, sizeof buf);
        size_t cut = (size_t)spt_rng_range(&rng, 0, (int64_t)n);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)spt_rng_next(&rng);
        assert_int_equal(spi_crc32c(buf, n), crc_bitwise(buf, n));
        assert_int_equal(spi_crc32c_update(spi_crc32c(buf, cut), buf + cut, n - cut),
                         crc_bitwise(buf, n));
    }
}

/* ---- the conformance kit ---- */

typedef struct kit_user {
    sp_ctx *ctx;
    char path[300];
} kit_user;

static sp_storage *kit_open(void *user)
{
    kit_user *u = user;
    remove_store(u->path);
    return open_store(u->ctx, u->path, SP_FILE_STORE_CREATE, NULL);
}

static void kit_close(void *user, sp_storage *st)
{
    kit_user *u = user;
    sp_storage_free(st);
    remove_store(u->path);
}

static sp_storage *kit_reopen(void *user, sp_storage *st)
{
    kit_user *u = user;
    sp_storage_free(st);
    return open_store(u->ctx, u->path, 0, NULL);
}

static void test_contract(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    kit_user u = { spt_ctx_with(&a), "" };
    path_of(u.path, sizeof u.path, "contract.sps");
    spt_storage_backend b = { "file store", kit_open, kit_close, kit_reopen, &u };
    spt_storage_contract(&b);
    assert_int_equal(a.live_blocks, 1);
    sp_ctx_free(u.ctx);
}

/* ---- the format, byte by byte ---- */

static void le32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void le64(uint8_t *p, uint64_t v)
{
    le32(p, (uint32_t)v);
    le32(p + 4, (uint32_t)(v >> 32));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* A batch as docs/storage.md describes it, from its payload. */
static size_t make_batch(uint8_t *out, uint64_t seq, uint32_t ops, const uint8_t *payload,
                         size_t len)
{
    memcpy(out, "SPBT", 4);
    le32(out + 4, ops);
    le64(out + 8, seq);
    le64(out + 16, len);
    le32(out + 24, 0);
    le32(out + 28, crc_bitwise(out, 28));
    memcpy(out + 32, payload, len);
    le32(out + 32 + len, crc_bitwise(payload, len));
    memcpy(out + 36 + len, "SPCM", 4);
    return 40 + len;
}

static void test_format(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, "format.sps");
    remove_store(path);
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, NULL);
    spt_storage_begin(st);
    spt_storage_put(st, "t", "k", 1, "v", 1);
    assert_int_equal(st->remove(st->user, "t", (const uint8_t *)"x", 1), SP_OK);
    spt_storage_commit(st);
    spt_storage_begin(st); /* an empty transaction writes nothing */
    spt_storage_commit(st);
    sp_storage_free(st);

    uint8_t want[128];
    static const uint8_t magic[8] = { 0x89, 'S', 'P', 'S', 'T', 'O', 'R', '\n' };
    memcpy(want, magic, 8);
    le32(want + 8, 1);  /* format version */
    le32(want + 12, 0); /* flags */
    le64(want + 16, 1); /* first sequence number */
    le32(want + 24, 0);
    le32(want + 28, crc_bitwise(want, 28));
    /* put "t" "k" = "v", remove "t" "x" */
    static const uint8_t payload[] = { 1, 1, 't', 1, 0, 0, 0, 'k', 1, 0, 0, 0, 'v',
                                       2, 1, 't', 1, 0, 0, 0, 'x' };
    size_t n = 32 + make_batch(want + 32, 1, 2, payload, sizeof payload);
    assert_int_equal(n, 93);
    size_t len = 0;
    uint8_t *got = read_file(path, &len);
    assert_int_equal(len, n);
    assert_memory_equal(got, want, n);
    free(got);
    char tmp[320];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_false(file_exists(tmp));
    remove_store(path);
    sp_ctx_free(ctx);
}

/* ---- crash safety ---- */

static const char *const crash_ns[] = { "t", "u" };

/* The state before: "t" old0..old9. */
static void write_old_state(sp_storage *st)
{
    spt_storage_begin(st);
    for (int i = 0; i < 10; i++) {
        char key[8], value[40];
        snprintf(key, sizeof key, "old%d", i);
        snprintf(value, sizeof value, "an old value of thirty bytes %d", i);
        spt_storage_put(st, "t", key, strlen(key), value, strlen(value));
    }
    spt_storage_commit(st);
}

/* The commit under test: 20 puts, a replace, two removes, a new namespace. */
static int write_new_state(sp_storage *st)
{
    int rc = st->begin(st->user);
    for (int i = 0; i < 20 && rc == SP_OK; i++) {
        char key[8], value[64];
        snprintf(key, sizeof key, "k%02d", i);
        snprintf(value, sizeof value, "a new value of forty bytes or so, number %02d", i);
        rc = st->put(st->user, "t", (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                     strlen(value));
    }
    if (rc == SP_OK)
        rc = st->put(st->user, "t", (const uint8_t *)"old1", 4, (const uint8_t *)"replaced", 8);
    if (rc == SP_OK)
        rc = st->remove(st->user, "t", (const uint8_t *)"old3", 4);
    if (rc == SP_OK)
        rc = st->remove(st->user, "t", (const uint8_t *)"old7", 4);
    if (rc == SP_OK)
        rc = st->put(st->user, "u", (const uint8_t *)"x", 1, (const uint8_t *)"", 0);
    if (rc == SP_OK)
        rc = st->commit(st->user);
    if (rc != SP_OK)
        st->rollback(st->user);
    return rc;
}

typedef struct crash_setup {
    const char *name;
    uint8_t *image; /* the file before the commit */
    size_t image_len;
    spi_file_config cfg; /* io is filled in */
    spt_snapshot *old_state, *new_state;
} crash_setup;

static void crash_setup_make(crash_setup *cs, const char *name, bool log_heavy,
                             uint64_t compact_min)
{
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, name);
    remove_store(path);
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, NULL);
    /* A log much longer than its live data, for the compaction case. */
    for (int i = 0; log_heavy && i < 40; i++)
        spt_storage_put_str(st, "t", "churn", i % 2 ? "a value that will be overwritten soon"
                                                    : "another value to be overwritten");
    if (log_heavy) {
        spt_storage_begin(st);
        assert_int_equal(st->remove(st->user, "t", (const uint8_t *)"churn", 5), SP_OK);
        spt_storage_commit(st);
    }
    write_old_state(st);
    cs->old_state = spt_snapshot_take(st, crash_ns, 2);
    sp_storage_free(st);
    cs->image = read_file(path, &cs->image_len);
    assert_non_null(cs->image);
    st = open_store(ctx, path, 0, NULL);
    assert_int_equal(write_new_state(st), SP_OK);
    cs->new_state = spt_snapshot_take(st, crash_ns, 2);
    sp_storage_free(st);
    remove_store(path);
    cs->name = name;
    memset(&cs->cfg, 0, sizeof cs->cfg);
    cs->cfg.compact_min = compact_min;
    sp_ctx_free(ctx);
}

static void crash_setup_free(crash_setup *cs)
{
    free(cs->image);
    spt_snapshot_free(cs->old_state);
    spt_snapshot_free(cs->new_state);
}

/* Reopen with real I/O, compare with `want`, then check the file takes further commits
 * (a torn tail left behind would make the next reopen fail). */
static void expect_reopened(sp_ctx *ctx, const char *path, const spt_snapshot *want,
                            const char *what)
{
    sp_storage *st = NULL;
    int rc = sp_storage_file_new(&st, ctx, path, NULL);
    if (rc != SP_OK)
        fail_msg("%s: reopen: %d: %s", what, rc, sp_ctx_errmsg(ctx));
    spt_snapshot_assert_store(want, st);
    spt_storage_put_str(st, "z", "after", "crash");
    sp_storage_free(st);
    st = NULL;
    rc = sp_storage_file_new(&st, ctx, path, NULL);
    if (rc != SP_OK)
        fail_msg("%s: second reopen: %d: %s", what, rc, sp_ctx_errmsg(ctx));
    spt_snapshot_assert_store(want, st);
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(st->get(st->user, "z", (const uint8_t *)"after", 5, &v, &vlen), SP_OK);
    sp_storage_free(st);
}

/*
 * Cut the commit of write_new_state at every mutation k, whole or torn, and with the
 * unsynced changes kept or lost; the reopened file must hold exactly the old state or
 * exactly the new one: the new one exactly when the batch was written whole and (if
 * unsynced data is lost) fsynced.
 */
static void crash_every_point(crash_setup *cs, const char *must_contain)
{
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, cs->name);
    fault_io f;
    fault_io_init(&f);
    cs->cfg.io = &f.io;

    /* A run without a crash: the mutations of the commit, in order. */
    remove_store(path);
    write_file(path, cs->image, cs->image_len);
    sp_storage *st = open_store(ctx, path, 0, &cs->cfg);
    fault_io_reset(&f);
    assert_int_equal(write_new_state(st), SP_OK);
    sp_storage_free(st);
    uint64_t count = f.ops;
    char kinds[64];
    snprintf(kinds, sizeof kinds, "%s", f.kinds);
    if (strstr(kinds, must_contain) != kinds)
        fail_msg("%s: mutations \"%s\" do not start with \"%s\"", cs->name, kinds, must_contain);
    uint64_t w = (uint64_t)(strchr(kinds, 'w') - kinds) + 1; /* the batch write */
    uint64_t s = (uint64_t)(strchr(kinds + w, 's') - kinds) + 1; /* its fsync */

    unsigned scenarios = 0;
    for (uint64_t k = 1; k <= count + 1; k++)
        for (int tear = TEAR_NONE; tear <= TEAR_SECOND_HALF; tear++)
            for (int lose = 0; lose <= (LOSE_DATA | LOSE_DIR); lose++) {
                if (tear != TEAR_NONE && (k > count || kinds[k - 1] != 'w'))
                    continue;
                remove_store(path);
                write_file(path, cs->image, cs->image_len);
                fault_io_reset(&f);
                st = open_store(ctx, path, 0, &cs->cfg);
                fault_io_reset(&f); /* count from the commit on */
                f.journal_on = true;
                f.crash_at = k > count ? 0 : k;
                f.tear = tear;
                int rc = write_new_state(st);
                sp_storage_free(st);
                /* The commit fails when its write or fsync does; a crash in the compaction
                 * after it is not the commit's failure. */
                assert_int_equal(rc, k <= s ? SP_ESTORAGE : SP_OK);
                lose_unsynced(&f, lose);
                f.journal_on = false;
                journal_clear(&f);
                bool is_new = k > w && !((lose & LOSE_DATA) && k <= s);
                char what[128];
                snprintf(what, sizeof what, "%s: crash at mutation %llu of \"%s\", tear %d, "
                         "lose %d", cs->name, (unsigned long long)k, kinds, tear, lose);
                expect_reopened(ctx, path, is_new ? cs->new_state : cs->old_state, what);
                scenarios++;
            }
    assert_true(scenarios >= 4 * (count + 1));
    remove_store(path);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

static void test_crash_commit(void **state)
{
    (void)state;
    crash_setup cs;
    crash_setup_make(&cs, "crash-commit.sps", false, 0);
    crash_every_point(&cs, "ws"); /* one write, one fsync */
    crash_setup_free(&cs);
}

static void test_crash_compaction(void **state)
{
    (void)state;
    crash_setup cs;
    /* The commit pushes the log past twice the live data: compaction follows it, with
     * the snapshot in batches of at most 256 bytes. */
    crash_setup_make(&cs, "crash-compact.sps", true, 1);
    cs.cfg.snapshot_batch = 256;
    /* commit: write, fsync; compaction: create the temp file, write its header and
     * batches, fsync, rename over the log, fsync the directory. */
    crash_every_point(&cs, "wscww");
    crash_setup_free(&cs);
}

/* Commits after a compaction go to the new file: they are durable only once the rename
 * is, even when the compaction's own fsync of the directory failed. */
static void test_crash_after_compaction(void **state)
{
    (void)state;
    crash_setup cs;
    crash_setup_make(&cs, "after-compact.sps", true, 1);
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, cs.name);
    fault_io f;
    fault_io_init(&f);
    cs.cfg.io = &f.io;
    /* Where the compaction's directory fsync comes: the first fsync after the rename. */
    remove_store(path);
    write_file(path, cs.image, cs.image_len);
    sp_storage *st = open_store(ctx, path, 0, &cs.cfg);
    fault_io_reset(&f);
    assert_int_equal(write_new_state(st), SP_OK);
    sp_storage_free(st);
    const char *rename_at = strchr(f.kinds, 'r');
    assert_non_null(rename_at);
    assert_int_equal(rename_at[1], 's');
    uint64_t dir_fsync = (uint64_t)(rename_at - f.kinds) + 2;
    for (int dir_fsync_fails = 0; dir_fsync_fails < 2; dir_fsync_fails++) {
        remove_store(path);
        write_file(path, cs.image, cs.image_len);
        fault_io_reset(&f);
        st = open_store(ctx, path, 0, &cs.cfg);
        fault_io_reset(&f);
        f.journal_on = true;
        f.fail_at = dir_fsync_fails ? dir_fsync : 0;
        assert_int_equal(write_new_state(st), SP_OK);
        assert_int_equal(f.failures, (uint64_t)dir_fsync_fails);
        spt_storage_put_str(st, "u", "later", "yes");
        sp_storage_free(st);
        lose_unsynced(&f, LOSE_DATA | LOSE_DIR);
        f.journal_on = false;
        journal_clear(&f);
        st = open_store(ctx, path, 0, NULL);
        const uint8_t *v;
        size_t vlen;
        assert_int_equal(st->get(st->user, "u", (const uint8_t *)"later", 5, &v, &vlen), SP_OK);
        sp_storage_free(st);
    }
    remove_store(path);
    fault_io_fini(&f);
    crash_setup_free(&cs);
    sp_ctx_free(ctx);
}

static void test_crash_create(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], tmp[320];
    path_of(path, sizeof path, "crash-create.sps");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 0, 0 };
    remove_store(path);
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, &cfg);
    sp_storage_free(st);
    uint64_t count = f.ops;
    assert_string_equal(f.kinds, "cwslus"); /* temp file, fsync, link, unlink, fsync dir */
    for (uint64_t k = 1; k <= count; k++)
        for (int tear = TEAR_NONE; tear <= TEAR_SECOND_HALF; tear++)
            for (int lose = 0; lose <= (LOSE_DATA | LOSE_DIR); lose++) {
                if (tear != TEAR_NONE && f.kinds[k - 1] != 'w')
                    continue;
                char kinds[64];
                snprintf(kinds, sizeof kinds, "%s", f.kinds);
                remove_store(path);
                fault_io_reset(&f);
                f.journal_on = true;
                f.crash_at = k;
                f.tear = tear;
                sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
                st = NULL;
                assert_int_equal(spi_storage_file_open(&st, ctx, path, &o, &cfg), SP_ESTORAGE);
                assert_null(st);
                lose_unsynced(&f, lose);
                f.journal_on = false;
                journal_clear(&f);
                /* No file, or a complete empty store; and creating it again works. */
                o.flags = 0;
                int rc = sp_storage_file_new(&st, ctx, path, &o);
                /* The file appears with the link (mutation 4), unless the directory entry,
                 * never fsynced before mutation 6, is lost. */
                bool exists = k > 4 && !(lose & LOSE_DIR);
                if (exists != (rc == SP_OK))
                    fail_msg("crash at mutation %llu of \"%s\", tear %d, lose %d: open "
                             "returned %d",
                             (unsigned long long)k, kinds, tear, lose, rc);
                if (rc == SP_OK)
                    sp_storage_free(st);
                else
                    assert_int_equal(rc, SP_ENOTFOUND);
                st = open_store(ctx, path, SP_FILE_STORE_CREATE, NULL);
                static const char *const any[] = { "t" };
                spt_snapshot *s = spt_snapshot_take(st, any, 1);
                assert_int_equal(spt_snapshot_count(s), 0);
                spt_snapshot_free(s);
                sp_storage_free(st);
            }
    remove_store(path);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

/* ---- corruption, versions, torn tails ---- */

typedef struct three_commits {
    char path[300];
    uint8_t *image;
    size_t len;
    uint64_t batch[3]; /* offsets */
    spt_snapshot *after[3];
} three_commits;

static void three_commits_make(three_commits *tc, sp_ctx *ctx)
{
    path_of(tc->path, sizeof tc->path, "corrupt.sps");
    remove_store(tc->path);
    sp_storage *st = open_store(ctx, tc->path, SP_FILE_STORE_CREATE, NULL);
    for (int i = 0; i < 3; i++) {
        char key[8];
        snprintf(key, sizeof key, "key%d", i);
        spt_storage_put_str(st, "t", key, "some value bytes");
        tc->after[i] = spt_snapshot_take(st, crash_ns, 2);
    }
    sp_storage_free(st);
    tc->image = read_file(tc->path, &tc->len);
    uint64_t off = 32;
    for (int i = 0; i < 3; i++) {
        tc->batch[i] = off;
        assert_memory_equal(tc->image + off, "SPBT", 4);
        off += 32 + rd64(tc->image + off + 16) + 8;
    }
    assert_int_equal(off, tc->len);
}

static void three_commits_free(three_commits *tc)
{
    remove_store(tc->path);
    free(tc->image);
    for (int i = 0; i < 3; i++)
        spt_snapshot_free(tc->after[i]);
}

/* Write `bytes` (the image changed by the caller) and open it. */
static int open_bytes(sp_ctx *ctx, const char *path, const uint8_t *bytes, size_t len,
                      uint32_t flags, sp_storage **out)
{
    remove_store(path);
    write_file(path, bytes, len);
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    o.flags = flags;
    *out = NULL;
    return sp_storage_file_new(out, ctx, path, &o);
}

static void expect_open_fails(sp_ctx *ctx, three_commits *tc, const uint8_t *bytes, size_t len,
                              int code, const char *msg_tail)
{
    sp_storage *st = NULL;
    assert_int_equal(open_bytes(ctx, tc->path, bytes, len, 0, &st), code);
    assert_null(st);
    char want[512];
    snprintf(want, sizeof want, "file store: %s: %s", tc->path, msg_tail);
    assert_string_equal(sp_ctx_errmsg(ctx), want);
    /* Nothing was cut off a file that could not be read. */
    assert_int_equal(file_size(tc->path), len);
}

/* `flags`: 0, or SP_FILE_STORE_NO_SYNC for loops over many cuts (the cut is the same). */
static void expect_tail_cut_flags(sp_ctx *ctx, three_commits *tc, const uint8_t *bytes,
                                  size_t len, const spt_snapshot *want, uint64_t cut_at,
                                  uint32_t flags)
{
    sp_storage *st = NULL;
    /* Read-only: the tail is ignored and left in place. */
    assert_int_equal(open_bytes(ctx, tc->path, bytes, len, SP_FILE_STORE_READONLY, &st), SP_OK);
    spt_snapshot_assert_store(want, st);
    sp_storage_free(st);
    assert_int_equal(file_size(tc->path), len);
    /* Read-write: the tail is cut off. */
    assert_int_equal(open_bytes(ctx, tc->path, bytes, len, flags, &st), SP_OK);
    spt_snapshot_assert_store(want, st);
    sp_storage_free(st);
    assert_int_equal(file_size(tc->path), cut_at);
}

static void expect_tail_cut(sp_ctx *ctx, three_commits *tc, const uint8_t *bytes, size_t len,
                            const spt_snapshot *want, uint64_t cut_at)
{
    expect_tail_cut_flags(ctx, tc, bytes, len, want, cut_at, 0);
}

static void test_corruption(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    three_commits tc;
    three_commits_make(&tc, ctx);
    uint8_t *b = malloc(tc.len + 200);
    assert_non_null(b);
    char msg[256];

    /* A payload byte of the first batch: the later batches prove it is not a torn tail. */
    memcpy(b, tc.image, tc.len);
    b[tc.batch[0] + 40] ^= 0x20;
    snprintf(msg, sizeof msg, "batch at offset 32 is damaged (payload checksum mismatch) and a "
             "later batch starts at offset %llu", (unsigned long long)tc.batch[1]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

    /* A header byte (the sequence number) of the second batch: its length is unknown, the
     * third batch is found by its header. */
    memcpy(b, tc.image, tc.len);
    b[tc.batch[1] + 8] ^= 0x01;
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (header checksum mismatch) and "
             "a later batch starts at offset %llu",
             (unsigned long long)tc.batch[1], (unsigned long long)tc.batch[2]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

    /* The first batch's header and the second batch's payload: the run of valid batches
     * that reaches the end of the file starts at the third. */
    memcpy(b, tc.image, tc.len);
    memset(b + tc.batch[0], 0, 32);
    b[tc.batch[2] - 12] ^= 0x04;
    snprintf(msg, sizeof msg, "batch at offset 32 is damaged (no batch header) and a later "
             "batch starts at offset %llu", (unsigned long long)tc.batch[2]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
    /* The limit of the rule (docs/storage.md): the first batch's header damaged and the last
     * commit torn; no run of batches reaches the end of the file, so everything from the
     * first batch on is taken for a torn tail. */
    memcpy(b, tc.image, tc.len);
    memset(b + tc.batch[0], 0, 32);
    char empty_path[300];
    path_of(empty_path, sizeof empty_path, "empty.sps");
    remove_store(empty_path);
    sp_storage *es = open_store(ctx, empty_path, SP_FILE_STORE_CREATE, NULL);
    spt_snapshot *empty = spt_snapshot_take(es, crash_ns, 2);
    sp_storage_free(es);
    remove_store(empty_path);
    expect_tail_cut(ctx, &tc, b, (size_t)tc.batch[2] + 20, empty, 32);
    spt_snapshot_free(empty);

    /* The commit marker of the first batch. */
    memcpy(b, tc.image, tc.len);
    b[tc.batch[1] - 1] = 'X';
    snprintf(msg, sizeof msg, "batch at offset 32 is damaged (no commit marker) and a later "
             "batch starts at offset %llu", (unsigned long long)tc.batch[1]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

    /* The last batch damaged, cut short, or followed by garbage: a torn tail. */
    memcpy(b, tc.image, tc.len);
    b[tc.len - 12] ^= 0xFF;
    expect_tail_cut(ctx, &tc, b, tc.len, tc.after[1], tc.batch[2]);
    for (uint64_t cut = tc.batch[2] + 1; cut < tc.len; cut += 7)
        expect_tail_cut(ctx, &tc, tc.image, (size_t)cut, tc.after[1], tc.batch[2]);
    memcpy(b, tc.image, tc.len);
    memset(b + tc.len, 0x5A, 100);
    memcpy(b + tc.len + 10, "SPBT", 4); /* a magic without a valid header */
    expect_tail_cut(ctx, &tc, b, tc.len + 100, tc.after[2], tc.len);
    /* A batch out of sequence at the end (a stale copy of batch 2). */
    memcpy(b, tc.image, tc.len);
    memcpy(b + tc.len, tc.image + tc.batch[1], tc.batch[2] - tc.batch[1]);
    expect_tail_cut(ctx, &tc, b, tc.len + (size_t)(tc.batch[2] - tc.batch[1]), tc.after[2],
                    tc.len);

    /* Garbage, then a valid batch 4: not a torn tail. */
    memcpy(b, tc.image, tc.len);
    memset(b + tc.len, 0, 30);
    static const uint8_t op[] = { 1, 1, 't', 1, 0, 0, 0, 'z', 0, 0, 0, 0 };
    size_t n = make_batch(b + tc.len + 30, 4, 1, op, sizeof op);
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (no batch header) and a later "
             "batch starts at offset %llu",
             (unsigned long long)tc.len, (unsigned long long)tc.len + 30);
    expect_open_fails(ctx, &tc, b, tc.len + 30 + n, SP_ECORRUPT, msg);

    /* Checksums that hold around a malformed operation: corruption, whatever follows. */
    static const uint8_t bad_op[] = { 9, 1, 't', 1, 0, 0, 0, 'z' };
    memcpy(b, tc.image, tc.len);
    n = make_batch(b + tc.len, 4, 1, bad_op, sizeof bad_op);
    snprintf(msg, sizeof msg, "batch at offset %llu, operation 0: unknown operation",
             (unsigned long long)tc.len);
    expect_open_fails(ctx, &tc, b, tc.len + n, SP_ECORRUPT, msg);
    static const uint8_t bad_ns[] = { 1, 2, 'T', '!', 1, 0, 0, 0, 'z', 0, 0, 0, 0 };
    n = make_batch(b + tc.len, 4, 1, bad_ns, sizeof bad_ns);
    snprintf(msg, sizeof msg, "batch at offset %llu, operation 0: file store: put: invalid "
             "namespace \"T!\"", (unsigned long long)tc.len);
    expect_open_fails(ctx, &tc, b, tc.len + n, SP_ECORRUPT, msg);
    /* A NUL inside the namespace's bytes: not namespace "t". */
    static const uint8_t nul_ns[] = { 1, 2, 't', 0, 1, 0, 0, 0, 'z', 0, 0, 0, 0 };
    n = make_batch(b + tc.len, 4, 1, nul_ns, sizeof nul_ns);
    snprintf(msg, sizeof msg, "batch at offset %llu, operation 0: a NUL byte in the namespace",
             (unsigned long long)tc.len);
    expect_open_fails(ctx, &tc, b, tc.len + n, SP_ECORRUPT, msg);
    static const uint8_t short_value[] = { 1, 1, 't', 1, 0, 0, 0, 'z', 9, 0, 0, 0, 'v' };
    n = make_batch(b + tc.len, 4, 1, short_value, sizeof short_value);
    snprintf(msg, sizeof msg, "batch at offset %llu, operation 0: value runs past the batch",
             (unsigned long long)tc.len);
    expect_open_fails(ctx, &tc, b, tc.len + n, SP_ECORRUPT, msg);
    static const uint8_t op14[] = { 1, 1, 't', 3, 0, 0, 0, 'z', 'z', 'z', 0, 0, 0, 0 };
    n = make_batch(b + tc.len, 4, 2, op14, sizeof op14); /* says 2 operations, holds 1 */
    snprintf(msg, sizeof msg, "batch at offset %llu, operation 1: the payload ends after 1 of "
             "the 2 operations its header counts", (unsigned long long)tc.len);
    expect_open_fails(ctx, &tc, b, tc.len + n, SP_ECORRUPT, msg);

    /* File headers. */
    memcpy(b, tc.image, tc.len);
    b[0] = 'x';
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                      "not a salesplan store file (no file header)");
    expect_open_fails(ctx, &tc, tc.image, 20, SP_ECORRUPT,
                      "not a salesplan store file (no file header)");
    expect_open_fails(ctx, &tc, tc.image, 0, SP_ECORRUPT,
                      "not a salesplan store file (no file header)");
    memcpy(b, tc.image, tc.len);
    b[20] ^= 1;
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                      "file header at offset 0 is damaged (checksum mismatch)");
    /* A newer format: refused by version, even with a layout this library cannot check. */
    memcpy(b, tc.image, tc.len);
    le32(b + 8, 2);
    le32(b + 28, crc_bitwise(b, 28));
    expect_open_fails(ctx, &tc, b, tc.len, SP_EVERSION,
                      "file format version 2 is not supported (this library reads version 1)");
    b[28] ^= 1;
    expect_open_fails(ctx, &tc, b, tc.len, SP_EVERSION,
                      "file format version 2 is not supported (this library reads version 1)");
    free(b);
    three_commits_free(&tc);
    sp_ctx_free(ctx);
}

/* Recompute the CRC-32C of a 32-byte header (file or batch) after a field was changed. */
static void reseal(uint8_t *h)
{
    le32(h + 28, crc_bitwise(h, 28));
}

/*
 * A record value holding what looks like batches to a search for later ones: complete
 * batches with the next two sequence numbers, one with the damaged batch's own number,
 * and a lone header with the next number claiming 1 MiB. `seq` is the number of the batch
 * that will hold the value.
 */
static size_t fake_batches(uint8_t *out, uint64_t seq)
{
    static const uint8_t op[] = { 1, 1, 't', 1, 0, 0, 0, 'z', 0, 0, 0, 0 };
    size_t n = 0;
    memset(out, 0x11, 5);
    n += 5;
    n += make_batch(out + n, seq + 1, 1, op, sizeof op);
    n += make_batch(out + n, seq + 2, 1, op, sizeof op);
    n += make_batch(out + n, seq, 1, op, sizeof op);
    make_batch(out + n, seq + 1, 1, op, sizeof op);
    le64(out + n + 16, UINT64_C(1) << 20);
    reseal(out + n);
    n += 32;
    return n;
}

/* Commit 4 holds a value full of fake batches: cut at every byte of its write, or with
 * its header (and any part of its payload) lost, it is still a torn tail. */
static void test_torn_tail_with_fake_batches(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    three_commits tc;
    three_commits_make(&tc, ctx);
    uint8_t value[512];
    size_t vlen = fake_batches(value, 4);
    assert_true(vlen <= sizeof value);
    for (int value_last = 0; value_last < 2; value_last++) {
        write_file(tc.path, tc.image, tc.len);
        sp_storage *st = open_store(ctx, tc.path, 0, NULL);
        spt_storage_begin(st);
        if (value_last)
            spt_storage_put(st, "u", "before", 6, "x", 1);
        spt_storage_put(st, "t", "fake", 4, value, vlen);
        if (!value_last)
            spt_storage_put(st, "u", "after", 5, "x", 1);
        spt_storage_commit(st);
        sp_storage_free(st);
        size_t len;
        uint8_t *img = read_file(tc.path, &len);
        assert_true(len > tc.len + 32 + vlen);
        uint8_t *b = malloc(len);
        assert_non_null(b);
        /* A process killed during the write: any prefix of the batch reached the file. */
        for (size_t cut = tc.len + 1; cut < len; cut++)
            expect_tail_cut_flags(ctx, &tc, img, cut, tc.after[2], tc.len,
                                  SP_FILE_STORE_NO_SYNC);
        /* A power loss that kept the end of the write but not its start. */
        for (size_t lost = 1; lost + 8 < len - tc.len; lost++) {
            memcpy(b, img, len);
            memset(b + tc.len, 0, lost);
            expect_tail_cut_flags(ctx, &tc, b, len, tc.after[2], tc.len, SP_FILE_STORE_NO_SYNC);
        }
        free(b);
        free(img);
    }
    three_commits_free(&tc);
    sp_ctx_free(ctx);
}

/* The same value in a batch that is not the last: damage to that batch is corruption,
 * found by the batch after it, not by the fake ones. */
static void test_corruption_with_fake_batches(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    three_commits tc;
    three_commits_make(&tc, ctx);
    uint8_t value[512];
    size_t vlen = fake_batches(value, 4);
    sp_storage *st = open_store(ctx, tc.path, 0, NULL);
    spt_storage_begin(st);
    spt_storage_put(st, "u", "before", 6, "x", 1);
    spt_storage_put(st, "t", "fake", 4, value, vlen);
    spt_storage_commit(st);
    spt_storage_put_str(st, "t", "five", "the fifth commit");
    sp_storage_free(st);
    size_t len;
    uint8_t *img = read_file(tc.path, &len);
    uint64_t b4 = tc.len, b5 = b4 + 32 + rd64(img + b4 + 16) + 8;
    assert_memory_equal(img + b5, "SPBT", 4);
    assert_int_equal(b5 + 32 + rd64(img + b5 + 16) + 8, len);
    uint8_t *b = malloc(len);
    assert_non_null(b);
    char msg[256];

    /* A payload byte after the fake batches: batch 4's header gives its end. */
    memcpy(b, img, len);
    b[b5 - 9] ^= 0x40;
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (payload checksum mismatch) and "
             "a later batch starts at offset %llu", (unsigned long long)b4,
             (unsigned long long)b5);
    expect_open_fails(ctx, &tc, b, len, SP_ECORRUPT, msg);
    /* Its commit marker. */
    memcpy(b, img, len);
    b[b5 - 1] = 'X';
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (no commit marker) and a later "
             "batch starts at offset %llu", (unsigned long long)b4, (unsigned long long)b5);
    expect_open_fails(ctx, &tc, b, len, SP_ECORRUPT, msg);
    /* Its header: the fake batches inside it lead nowhere; batch 5 runs to the end. */
    memcpy(b, img, len);
    memset(b + b4, 0, 32);
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (no batch header) and a later "
             "batch starts at offset %llu", (unsigned long long)b4, (unsigned long long)b5);
    expect_open_fails(ctx, &tc, b, len, SP_ECORRUPT, msg);
    /* Its header and its trailer. */
    memset(b + b5 - 8, 0, 8);
    expect_open_fails(ctx, &tc, b, len, SP_ECORRUPT, msg);
    /* Its header checksum. */
    memcpy(b, img, len);
    b[b4 + 29] ^= 0x01;
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (header checksum mismatch) and "
             "a later batch starts at offset %llu", (unsigned long long)b4,
             (unsigned long long)b5);
    expect_open_fails(ctx, &tc, b, len, SP_ECORRUPT, msg);
    free(b);
    free(img);
    three_commits_free(&tc);
    sp_ctx_free(ctx);
}

/* Every field of the file header, each with its checksum made right again. */
static void test_file_header_fields(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    three_commits tc;
    three_commits_make(&tc, ctx);
    uint8_t *b = malloc(tc.len);
    assert_non_null(b);
    char msg[256];
    for (int i = 0; i < 8; i++) {
        memcpy(b, tc.image, tc.len);
        b[i] ^= 0x01;
        reseal(b);
        expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                          "not a salesplan store file (no file header)");
    }
    static const uint32_t versions[] = { 0, 2, UINT32_MAX };
    for (size_t i = 0; i < SPI_ARRAY_LEN(versions); i++) {
        memcpy(b, tc.image, tc.len);
        le32(b + 8, versions[i]);
        reseal(b);
        snprintf(msg, sizeof msg, "file format version %u is not supported (this library "
                 "reads version 1)", (unsigned)versions[i]);
        expect_open_fails(ctx, &tc, b, tc.len, SP_EVERSION, msg);
    }
    /* Flags mark features of a newer writer: none is defined. */
    memcpy(b, tc.image, tc.len);
    le32(b + 12, 0x10);
    reseal(b);
    expect_open_fails(ctx, &tc, b, tc.len, SP_EVERSION,
                      "file header: flags 0x00000010 at offset 12 are not supported (format "
                      "version 1 defines none)");
    memcpy(b, tc.image, tc.len);
    le32(b + 24, 5);
    reseal(b);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                      "file header: reserved field at offset 24 is 0x00000005, must be 0");
    /* A first sequence number of 0 made the batches look out of order, and a writer cut
     * them all off as a torn tail. */
    static const uint64_t firsts[] = { 0, UINT64_C(1) << 63, UINT64_MAX };
    for (size_t i = 0; i < SPI_ARRAY_LEN(firsts); i++) {
        memcpy(b, tc.image, tc.len);
        le64(b + 16, firsts[i]);
        reseal(b);
        snprintf(msg, sizeof msg, "file header: first sequence number %llu at offset 16 is "
                 "out of range (1 to 9223372036854775807)", (unsigned long long)firsts[i]);
        expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
    }
    /* A damaged checksum, and a damaged field under a good checksum. */
    memcpy(b, tc.image, tc.len);
    b[29] ^= 0x80;
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                      "file header at offset 0 is damaged (checksum mismatch)");
    memcpy(b, tc.image, tc.len);
    b[16] ^= 0x02;
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT,
                      "file header at offset 0 is damaged (checksum mismatch)");
    free(b);
    three_commits_free(&tc);
    sp_ctx_free(ctx);
}

/* Every field of a batch header, in the middle of the log and at its end: a field that a
 * good checksum vouches for is never taken for a torn write. */
static void test_batch_header_fields(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    three_commits tc;
    three_commits_make(&tc, ctx);
    uint8_t *b = malloc(tc.len);
    assert_non_null(b);
    char msg[320];
    /* Each batch holds one put of 31 bytes ("t", "keyN", "some value bytes"). */
    assert_int_equal(rd64(tc.image + tc.batch[0] + 16), 31);
    for (int which = 0; which < 3; which += 2) {
        uint64_t at = tc.batch[which];
        unsigned long long o = (unsigned long long)at;
        memcpy(b, tc.image, tc.len);
        le32(b + at + 24, 1);
        reseal(b + at);
        snprintf(msg, sizeof msg, "batch at offset %llu: reserved field at offset %llu is "
                 "0x00000001, must be 0", o, o + 24);
        expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

        memcpy(b, tc.image, tc.len);
        le32(b + at + 4, 0);
        reseal(b + at);
        snprintf(msg, sizeof msg, "batch at offset %llu: operation count 0 at offset %llu "
                 "(a batch holds at least one operation)", o, o + 4);
        expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

        memcpy(b, tc.image, tc.len);
        le32(b + at + 4, 5); /* 5 operations take at least 35 bytes */
        reseal(b + at);
        snprintf(msg, sizeof msg, "batch at offset %llu: operation count 5 at offset %llu "
                 "does not fit a payload of 31 bytes (an operation takes at least 7)", o,
                 o + 4);
        expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);

        static const uint64_t seqs[] = { 0, UINT64_C(1) << 63, UINT64_MAX };
        for (size_t i = 0; i < SPI_ARRAY_LEN(seqs); i++) {
            memcpy(b, tc.image, tc.len);
            le64(b + at + 8, seqs[i]);
            reseal(b + at);
            snprintf(msg, sizeof msg, "batch at offset %llu: sequence number %llu at offset "
                     "%llu is out of range (1 to 9223372036854775807)", o,
                     (unsigned long long)seqs[i], o + 8);
            expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
        }

        /* Lengths no file can hold: the end would pass 2^63 - 1. */
        static const uint64_t lens[] = { UINT64_MAX, UINT64_C(1) << 63,
                                         (UINT64_C(1) << 63) - 40 };
        for (size_t i = 0; i < SPI_ARRAY_LEN(lens); i++) {
            memcpy(b, tc.image, tc.len);
            le64(b + at + 16, lens[i]);
            reseal(b + at);
            snprintf(msg, sizeof msg, "batch at offset %llu: payload length %llu at offset "
                     "%llu puts its end past the largest file offset", o,
                     (unsigned long long)lens[i], o + 16);
            expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
        }
    }
    /* A sequence number that is valid but not the one due: in the middle, corruption (the
     * batches after it run to the end); at the end, a batch from the future says that
     * commits are missing, and a stale one (an older number) is cut off. */
    memcpy(b, tc.image, tc.len);
    le64(b + tc.batch[1] + 8, 9);
    reseal(b + tc.batch[1]);
    snprintf(msg, sizeof msg, "batch at offset %llu is damaged (sequence number 9 where 2 was "
             "due) and a later batch starts at offset %llu",
             (unsigned long long)tc.batch[1], (unsigned long long)tc.batch[2]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
    memcpy(b, tc.image, tc.len);
    le64(b + tc.batch[2] + 8, 9);
    reseal(b + tc.batch[2]);
    snprintf(msg, sizeof msg, "batch at offset %llu: sequence number 9 where 3 was due "
             "(commits are missing)", (unsigned long long)tc.batch[2]);
    expect_open_fails(ctx, &tc, b, tc.len, SP_ECORRUPT, msg);
    le64(b + tc.batch[2] + 8, 1);
    reseal(b + tc.batch[2]);
    expect_tail_cut(ctx, &tc, b, tc.len, tc.after[1], tc.batch[2]);
    free(b);
    three_commits_free(&tc);
    sp_ctx_free(ctx);
}

/* A file whose header starts at `first`, then `batches` puts numbered from there: of
 * keys "a", "b", ... or, with `one_key`, all of "a". */
static size_t file_from_seq(uint8_t *out, uint64_t first, int batches, bool one_key)
{
    static const uint8_t magic[8] = { 0x89, 'S', 'P', 'S', 'T', 'O', 'R', '\n' };
    memcpy(out, magic, 8);
    le32(out + 8, 1);
    le32(out + 12, 0);
    le64(out + 16, first);
    le32(out + 24, 0);
    reseal(out);
    size_t n = 32;
    for (int i = 0; i < batches; i++) {
        uint8_t op[] = { 1, 1, 't', 1, 0, 0, 0, (uint8_t)('a' + (one_key ? 0 : i)), 1, 0, 0, 0,
                         'v' };
        n += make_batch(out + n, first + (uint64_t)i, 1, op, sizeof op);
    }
    return n;
}

/* Commit key `k` and expect SP_EOVERFLOW, the store and the file unchanged. */
static void expect_seq_overflow(sp_storage *st, const char *path, const char *k)
{
    static const char *const ns[] = { "t" };
    spt_snapshot *was = spt_snapshot_take(st, ns, 1);
    size_t len, len2;
    uint8_t *before = read_file(path, &len);
    assert_int_equal(st->begin(st->user), SP_OK);
    assert_int_equal(st->put(st->user, "t", (const uint8_t *)k, strlen(k),
                             (const uint8_t *)"v", 1), SP_OK);
    assert_int_equal(st->commit(st->user), SP_EOVERFLOW);
    char msg[400];
    snprintf(msg, sizeof msg, "file store: %s: commit: the log has used up its sequence numbers "
             "(the last is 9223372036854775807)", path);
    assert_string_equal(st->errmsg(st->user), msg);
    assert_int_equal(st->rollback(st->user), SP_OK);
    spt_snapshot_assert_store(was, st);
    uint8_t *after = read_file(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(after, before, len);
    free(before);
    free(after);
    spt_snapshot_free(was);
}

/* Sequence numbers end at 2^63 - 1: the commit that would need the next one fails with
 * SP_EOVERFLOW and changes nothing, and a compaction that would need more fails before
 * replacing the log. */
static void test_sequence_limit(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], tmp[320];
    path_of(path, sizeof path, "seq-limit.sps");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    const uint64_t max = (UINT64_C(1) << 63) - 1;
    uint8_t img[2048];
    static const char *const ns[] = { "t" };

    /* From max - 1: one batch there, one commit fits. */
    size_t n = file_from_seq(img, max - 1, 1, false);
    remove_store(path);
    write_file(path, img, n);
    sp_storage *st = open_store(ctx, path, 0, NULL);
    spt_storage_put_str(st, "t", "b", "v");
    expect_seq_overflow(st, path, "c");
    sp_storage_free(st);
    st = open_store(ctx, path, 0, NULL);
    spt_snapshot *s = spt_snapshot_take(st, ns, 1);
    assert_int_equal(spt_snapshot_count(s), 2);
    spt_snapshot_free(s);
    expect_seq_overflow(st, path, "c");
    sp_storage_free(st);

    /* A log of 30 rewrites of "a" up to max - 2, compacted after every commit into
     * batches of one record each: after "b" (max - 1) the compaction needs max and max + 1,
     * after "c" (max) it needs max + 1. Both fail; the log stays. */
    n = file_from_seq(img, max - 31, 30, true);
    assert_true(n <= sizeof img);
    remove_store(path);
    write_file(path, img, n);
    spi_file_config cfg = { NULL, 1, 1 };
    st = open_store(ctx, path, 0, &cfg);
    spt_storage_put_str(st, "t", "b", "v");
    spt_storage_put_str(st, "t", "c", "v");
    assert_false(file_exists(tmp));
    assert_int_equal(file_size(path), n + 2 * 53);
    expect_seq_overflow(st, path, "d");
    sp_storage_free(st);
    st = open_store(ctx, path, 0, NULL);
    s = spt_snapshot_take(st, ns, 1);
    assert_int_equal(spt_snapshot_count(s), 3);
    spt_snapshot_free(s);
    sp_storage_free(st);
    remove_store(path);
    sp_ctx_free(ctx);
}

/* ---- creating a store: races between creators, symbolic links ---- */

/* begin, put "t" `key` = "from <key>", commit: the commit's status. */
static int commit_one(sp_storage *st, const char *key)
{
    char value[32];
    snprintf(value, sizeof value, "from %s", key);
    int rc = st->begin(st->user);
    if (rc == SP_OK)
        rc = st->put(st->user, "t", (const uint8_t *)key, strlen(key), (const uint8_t *)value,
                     strlen(value));
    if (rc == SP_OK)
        rc = st->commit(st->user);
    if (rc != SP_OK)
        st->rollback(st->user);
    return rc;
}

/* Whether the store at `path` holds "t" `key` = "from <key>". */
static bool holds_commit(sp_storage *st, const char *key)
{
    char want[32];
    int n = snprintf(want, sizeof want, "from %s", key);
    const uint8_t *v;
    size_t vlen;
    return st->get(st->user, "t", (const uint8_t *)key, strlen(key), &v, &vlen) == SP_OK &&
           vlen == (size_t)n && memcmp(v, want, vlen) == 0;
}

/*
 * Real I/O that, right after its k-th call, runs `other` once: another store's whole open,
 * as if another process ran then. Walking k over every call of one open interleaves two
 * opens at every point, deterministically.
 */
typedef struct step_io {
    spi_file_io io;
    const spi_file_io *real;
    unsigned calls, at; /* at 0: after every call */
    void (*other)(void *arg);
    void *arg;
} step_io;

static void step(step_io *s)
{
    if ((++s->calls == s->at || s->at == 0) && s->other != NULL)
        s->other(s->arg);
}

#define STEP_IO(name, params, args)                                                             \
    static int step_##name params                                                           \
    {                                                                                       \
        step_io *s = user;                                                                  \
        int rc = s->real->name args;                                                        \
        step(s);                                                                            \
        return rc;                                                                          \
    }
STEP_IO(open, (void *user, const char *path, spi_io_mode mode, int *fd),
        (s->real->user, path, mode, fd))
STEP_IO(close, (void *user, int fd), (s->real->user, fd))
STEP_IO(pread, (void *user, int fd, void *buf, size_t len, uint64_t off, size_t *got),
        (s->real->user, fd, buf, len, off, got))
STEP_IO(pwrite, (void *user, int fd, const void *buf, size_t len, uint64_t off),
        (s->real->user, fd, buf, len, off))
STEP_IO(fsync, (void *user, int fd), (s->real->user, fd))
STEP_IO(ftruncate, (void *user, int fd, uint64_t len), (s->real->user, fd, len))
STEP_IO(size, (void *user, int fd, uint64_t *size), (s->real->user, fd, size))
STEP_IO(rename, (void *user, const char *from, const char *to), (s->real->user, from, to))
STEP_IO(link, (void *user, const char *from, const char *to), (s->real->user, from, to))
STEP_IO(unlink, (void *user, const char *path), (s->real->user, path))
STEP_IO(lock, (void *user, int fd, bool exclusive), (s->real->user, fd, exclusive))
STEP_IO(same, (void *user, int fd, const char *path, bool *same), (s->real->user, fd, path, same))
STEP_IO(resolve, (void *user, const char *path, char *buf, size_t cap),
        (s->real->user, path, buf, cap))

static void step_io_init(step_io *s)
{
    memset(s, 0, sizeof *s);
    s->real = spi_file_io_posix();
    spi_file_io t = { .user = s,
                      .open = step_open,
                      .close = step_close,
                      .pread = step_pread,
                      .pwrite = step_pwrite,
                      .fsync = step_fsync,
                      .ftruncate = step_ftruncate,
                      .size = step_size,
                      .rename = step_rename,
                      .link = step_link,
                      .unlink = step_unlink,
                      .lock = step_lock,
                      .same = step_same,
                      .resolve = step_resolve };
    s->io = t;
}

/* The other creator: opens (creating), commits "b", and closes unless told to stay. */
typedef struct other_creator {
    sp_ctx *ctx;
    const char *path;
    bool stay_open, ran;
    int rc_open, rc_commit;
    sp_storage *st;
} other_creator;

static void run_other_creator(void *arg)
{
    other_creator *o = arg;
    o->ran = true;
    o->st = NULL;
    o->rc_commit = -1;
    o->rc_open = sp_storage_file_new(&o->st, o->ctx, o->path, NULL);
    if (o->rc_open == SP_OK) {
        o->rc_commit = commit_one(o->st, "b");
        if (!o->stay_open) {
            sp_storage_free(o->st);
            o->st = NULL;
        }
    }
}

/*
 * Two stores create the same new file, the second running to completion (and closing or
 * staying open) after each call the first makes. Each either opens the store or gets
 * SP_ECONFLICT, one of them opens it, and every commit acknowledged is in the file.
 */
static void test_create_race_steps(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx(), *ctx_b = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, "race-steps.sps");
    step_io s;
    step_io_init(&s);
    spi_file_config cfg = { &s.io, 0, 0 };
    sp_file_store_options opts = SP_FILE_STORE_OPTIONS_INIT;
    /* The calls of one creating open, alone. */
    remove_store(path);
    sp_storage *a = NULL;
    assert_int_equal(spi_storage_file_open(&a, ctx, path, &opts, &cfg), SP_OK);
    unsigned count = s.calls;
    sp_storage_free(a);
    assert_true(count >= 8);
    for (int stay_open = 0; stay_open < 2; stay_open++)
        for (unsigned k = 1; k <= count; k++) {
            remove_store(path);
            other_creator o = { ctx_b, path, stay_open != 0, false, 0, 0, NULL };
            step_io_init(&s);
            s.at = k;
            s.other = run_other_creator;
            s.arg = &o;
            a = NULL;
            int rc_a = spi_storage_file_open(&a, ctx, path, &opts, &cfg);
            int rc_a_commit = rc_a == SP_OK ? commit_one(a, "a") : -1;
            sp_storage_free(a);
            sp_storage_free(o.st);
            /* The first k - 1 calls are those of the open alone, so the k-th comes: the
             * other creator ran (else this round tested nothing). */
            if (!o.ran)
                fail_msg("the other creator did not run after call %u", k);
            if ((rc_a != SP_OK && rc_a != SP_ECONFLICT) ||
                (o.rc_open != SP_OK && o.rc_open != SP_ECONFLICT) ||
                (rc_a != SP_OK && o.rc_open != SP_OK))
                fail_msg("other creator after call %u (stay open %d): open %d (%s), other's "
                         "open %d", k, stay_open, rc_a, rc_a == SP_OK ? "" : sp_ctx_errmsg(ctx),
                         o.rc_open);
            sp_storage *check = open_store(ctx, path, SP_FILE_STORE_READONLY, NULL);
            if (rc_a_commit == SP_OK && !holds_commit(check, "a"))
                fail_msg("other creator after call %u (stay open %d): commit \"a\" lost", k,
                         stay_open);
            if (o.rc_commit == SP_OK && !holds_commit(check, "b"))
                fail_msg("other creator after call %u (stay open %d): commit \"b\" lost", k,
                         stay_open);
            sp_storage_free(check);
        }
    remove_store(path);
    sp_ctx_free(ctx_b);
    sp_ctx_free(ctx);
}

/*
 * Processes racing to create the same new store and commit to it, many times over: each
 * opens it or gets SP_ECONFLICT, never another error, and every acknowledged commit is
 * in the file afterwards.
 */
enum { RACERS = 4 };
/* Exit codes of a racer; others say what failed (0 and 1 are avoided: valgrind exits with
 * 1 on an error it found). */
enum { RACE_ACKED = 10, RACE_CONFLICT = 11 };

static void yield_cpu(void *arg)
{
    (void)arg;
    sched_yield();
}

static int race_child(const char *path, int index, int start_fd)
{
    char c;
    if (read(start_fd, &c, 1) != 0) /* wait until the parent closes its end */
        return 100;
    sp_ctx *ctx = NULL;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 101;
    /* Real I/O that yields the processor after every call: more interleavings. */
    step_io s;
    step_io_init(&s);
    s.other = yield_cpu;
    spi_file_config cfg = { &s.io, 0, 0 };
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    o.flags = SP_FILE_STORE_CREATE | SP_FILE_STORE_NO_SYNC;
    sp_storage *st = NULL;
    int rc = spi_storage_file_open(&st, ctx, path, &o, &cfg), code;
    if (rc == SP_OK) {
        char key[16];
        snprintf(key, sizeof key, "p%d", index);
        rc = commit_one(st, key);
        code = rc == SP_OK ? RACE_ACKED : 110 - rc; /* 110 and up: the commit's status */
        sp_storage_free(st);
    } else {
        code = rc == SP_ECONFLICT ? RACE_CONFLICT : 50 - rc; /* 50 and up: the open's */
    }
    sp_ctx_free(ctx);
    return code;
}

static void test_create_race_processes(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, "race-procs.sps");
    unsigned rounds = spt_iterations(200), acked_total = 0;
    for (unsigned round = 0; round < rounds; round++) {
        remove_store(path);
        int start[2];
        assert_int_equal(pipe(start), 0);
        pid_t pids[RACERS];
        for (int i = 0; i < RACERS; i++) {
            pids[i] = fork();
            assert_true(pids[i] >= 0);
            if (pids[i] == 0) {
                close(start[1]);
                _exit(race_child(path, i, start[0]));
            }
        }
        close(start[0]);
        close(start[1]); /* go */
        bool acked[RACERS];
        for (int i = 0; i < RACERS; i++) {
            int status = 0;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            assert_true(WIFEXITED(status));
            int code = WEXITSTATUS(status);
            if (code != RACE_ACKED && code != RACE_CONFLICT)
                fail_msg("round %u, process %d: exit code %d (open status %d, commit status "
                         "%d)", round, i, code, code >= 50 && code < 100 ? 50 - code : 0,
                         code >= 110 ? 110 - code : 0);
            acked[i] = code == RACE_ACKED;
            acked_total += acked[i];
        }
        sp_storage *st = open_store(ctx, path, SP_FILE_STORE_READONLY, NULL);
        for (int i = 0; i < RACERS; i++) {
            char key[16];
            snprintf(key, sizeof key, "p%d", i);
            if (acked[i] && !holds_commit(st, key))
                fail_msg("round %u: process %d's acknowledged commit is lost", round, i);
        }
        sp_storage_free(st);
    }
    assert_true(acked_total >= rounds); /* someone wins every round */
    remove_store(path);
    sp_ctx_free(ctx);
}

/* A file that a planted symbolic link points at: it must never change. */
static const char victim_text[] = "not a store: must stay as it is";

static void make_victim(const char *path)
{
    write_file(path, (const uint8_t *)victim_text, sizeof victim_text - 1);
}

static void expect_victim_intact(const char *path)
{
    size_t len = 0;
    uint8_t *now = read_file(path, &len);
    assert_non_null(now);
    assert_int_equal(len, sizeof victim_text - 1);
    assert_memory_equal(now, victim_text, len);
    free(now);
}

static bool is_symlink(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISLNK(st.st_mode);
}

/* Plant a symbolic link to `target` at `at` (replacing what is there). */
static void plant_link(const char *target, const char *at)
{
    unlink(at);
    assert_int_equal(symlink(target, at), 0);
}

/* Creation never writes through a symbolic link at a name it may use for its temporary
 * file: it takes a free name, or fails cleanly when none is left. */
static void test_create_never_follows_temp_links(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], victim[300], name[400], msg[900];
    path_of(path, sizeof path, "links-create.sps");
    path_of(victim, sizeof victim, "victim-create");
    make_victim(victim);
    /* Every name but the last one taken: "<path>.tmp" (the old temporary name) and
     * "<path>.tmp.<pid>.<n>". */
    for (int last_free = 1; last_free >= 0; last_free--) {
        remove_store(path);
        snprintf(name, sizeof name, "%s.tmp", path);
        plant_link(victim, name);
        for (int n = 0; n < SPI_FILE_CREATE_TRIES - last_free; n++) {
            snprintf(name, sizeof name, "%s.tmp.%ld.%d", path, (long)getpid(), n);
            plant_link(victim, name);
        }
        sp_storage *st = NULL;
        int rc = sp_storage_file_new(&st, ctx, path, NULL);
        expect_victim_intact(victim);
        if (last_free) {
            assert_int_equal(rc, SP_OK);
            assert_int_equal(commit_one(st, "a"), SP_OK);
            sp_storage_free(st);
            st = open_store(ctx, path, 0, NULL);
            assert_true(holds_commit(st, "a"));
            sp_storage_free(st);
            expect_victim_intact(victim);
        } else {
            assert_int_equal(rc, SP_ESTORAGE);
            snprintf(msg, sizeof msg, "file store: %s: creating the file failed: the temporary "
                     "names %s.tmp.%ld.0 to .%d are all taken", path, path, (long)getpid(),
                     SPI_FILE_CREATE_TRIES - 1);
            assert_string_equal(sp_ctx_errmsg(ctx), msg);
            assert_false(file_exists(path));
        }
        /* The planted links are left alone. */
        snprintf(name, sizeof name, "%s.tmp.%ld.0", path, (long)getpid());
        assert_true(is_symlink(name));
    }
    remove_store(path);
    unlink(victim);
    sp_ctx_free(ctx);
}

/* Commit until a compaction has replaced the file (`renames` counts them). */
static void commit_until_compacted(sp_storage *st, const fault_io *f, const char *what)
{
    for (int round = 0; round < 200 && strchr(f->kinds, 'r') == NULL; round++) {
        char value[40];
        snprintf(value, sizeof value, "round %d of the same record", round);
        spt_storage_put_str(st, "t", "churn", value);
    }
    if (strchr(f->kinds, 'r') == NULL)
        fail_msg("%s: no compaction", what);
}

/* Compaction removes a link (or anything else) at "<path>.tmp" and never writes through
 * it. */
static void test_compaction_never_follows_temp_link(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], victim[300], tmp[320];
    path_of(path, sizeof path, "links-compact.sps");
    path_of(victim, sizeof victim, "victim-compact");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    make_victim(victim);
    remove_store(path);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 2048, 0 };
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, &cfg);
    assert_int_equal(commit_one(st, "a"), SP_OK);
    plant_link(victim, tmp);
    fault_io_reset(&f);
    commit_until_compacted(st, &f, "compaction with a link at .tmp");
    expect_victim_intact(victim);
    assert_false(is_symlink(tmp));
    assert_false(file_exists(tmp));
    assert_true(holds_commit(st, "a"));
    sp_storage_free(st);
    st = open_store(ctx, path, 0, NULL);
    assert_true(holds_commit(st, "a"));
    sp_storage_free(st);
    expect_victim_intact(victim);
    remove_store(path);
    unlink(victim);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

/*
 * A store opened through a symbolic link: the link is followed (as SQLite does), and a
 * compaction writes its temporary file beside the real file and replaces the real file,
 * so the link stays a link to the compacted store. A link to a missing file is not
 * created through.
 */
static void test_store_behind_symlink(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char sub[200], real[240], link_path[300], link_tmp[320], real_tmp[260], msg[800];
    path_of(sub, sizeof sub, "sub");
    mkdir(sub, 0700);
    snprintf(real, sizeof real, "%s/real.sps", sub);
    path_of(link_path, sizeof link_path, "link.sps");
    snprintf(link_tmp, sizeof link_tmp, "%s.tmp", link_path);
    snprintf(real_tmp, sizeof real_tmp, "%s.tmp", real);
    remove_store(real);
    unlink(link_path);
    assert_int_equal(symlink("sub/real.sps", link_path), 0);

    /* Created through the link: refused while the link leads nowhere. */
    sp_storage *st = NULL;
    assert_int_equal(sp_storage_file_new(&st, ctx, link_path, NULL), SP_ESTORAGE);
    snprintf(msg, sizeof msg, "file store: %s: creating the file failed: the name exists but "
             "leads to no file (a dangling symbolic link, or removed meanwhile)", link_path);
    assert_string_equal(sp_ctx_errmsg(ctx), msg);
    assert_false(file_exists(real));
    assert_true(is_symlink(link_path));

    st = open_store(ctx, real, SP_FILE_STORE_CREATE, NULL);
    assert_int_equal(commit_one(st, "a"), SP_OK);
    sp_storage_free(st);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 2048, 0 };
    st = open_store(ctx, link_path, 0, &cfg);
    /* One store at a time, by either name. */
    sp_storage *other = NULL;
    assert_int_equal(sp_storage_file_new(&other, ctx, real, NULL), SP_ECONFLICT);
    fault_io_reset(&f);
    commit_until_compacted(st, &f, "compaction through a link");
    assert_true(is_symlink(link_path));
    assert_false(file_exists(link_tmp));
    assert_false(file_exists(real_tmp));
    assert_int_equal(commit_one(st, "b"), SP_OK); /* into the compacted file */
    sp_storage_free(st);
    for (int by_link = 0; by_link < 2; by_link++) {
        st = open_store(ctx, by_link ? link_path : real, 0, NULL);
        assert_true(holds_commit(st, "a"));
        assert_true(holds_commit(st, "b"));
        sp_storage_free(st);
    }
    unlink(link_path);
    remove_store(real);
    rmdir(sub);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

/* ---- arguments, options, locks, read-only ---- */

static void test_arguments(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], msg[400];
    path_of(path, sizeof path, "args.sps");
    remove_store(path);
    sp_storage *st = (sp_storage *)&ctx;
    sp_storage *const sentinel = st;
    assert_int_equal(sp_storage_file_new(NULL, ctx, path, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "file store: out is NULL");
    assert_int_equal(sp_storage_file_new(&st, NULL, path, NULL), SP_EINVAL);
    assert_int_equal(sp_storage_file_new(&st, ctx, NULL, NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "file store: path is NULL");
    assert_int_equal(sp_storage_file_new(&st, ctx, "", NULL), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "file store: path is empty");
    sp_file_store_options o = SP_FILE_STORE_OPTIONS_INIT;
    o.version = 0;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_EVERSION);
    assert_string_equal(sp_ctx_errmsg(ctx), "sp_file_store_options: version 0 is not supported "
                                            "(this library knows 1 to 1)");
    o.version = 2;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_EVERSION);
    o.version = 1;
    o.flags = SP_FILE_STORE_CREATE | 8 | 64;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_EINVAL);
    assert_string_equal(sp_ctx_errmsg(ctx), "sp_file_store_options: unknown flags 0x48");
    /* Missing files: created only when asked, never in read-only mode. */
    o.flags = 0;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_ENOTFOUND);
    snprintf(msg, sizeof msg, "file store: %s: no such file", path);
    assert_string_equal(sp_ctx_errmsg(ctx), msg);
    o.flags = SP_FILE_STORE_READONLY | SP_FILE_STORE_CREATE;
    assert_int_equal(sp_storage_file_new(&st, ctx, path, &o), SP_ENOTFOUND);
    assert_int_equal(sp_storage_file_new(&st, ctx, "/nonexistent-dir/x.sps", NULL), SP_ESTORAGE);
    assert_string_equal(sp_ctx_errmsg(ctx),
                        "file store: /nonexistent-dir/x.sps: creating the temporary file "
                        "failed: No such file or directory");
    assert_ptr_equal(st, sentinel);
    assert_false(file_exists(path));
    /* A relative path works too (its directory is "."). */
    assert_int_equal(sp_storage_file_new(&st, ctx, "sp-relative-test.sps", NULL), SP_OK);
    sp_storage_free(st);
    remove_store("sp-relative-test.sps");
    sp_ctx_free(ctx);
}

static int nothing_to_write(spi_store *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return SP_OK;
}

static void test_locks_and_readonly(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], msg[400];
    path_of(path, sizeof path, "locks.sps");
    remove_store(path);
    sp_storage *w = open_store(ctx, path, SP_FILE_STORE_CREATE, NULL);
    spt_storage_put_str(w, "t", "k", "v");
    sp_storage *other = NULL;
    assert_int_equal(sp_storage_file_new(&other, ctx, path, NULL), SP_ECONFLICT);
    snprintf(msg, sizeof msg, "file store: %s: in use by another store (locked)", path);
    assert_string_equal(sp_ctx_errmsg(ctx), msg);
    sp_file_store_options ro = SP_FILE_STORE_OPTIONS_INIT;
    ro.flags = SP_FILE_STORE_READONLY;
    assert_int_equal(sp_storage_file_new(&other, ctx, path, &ro), SP_ECONFLICT);
    assert_null(other);
    sp_storage_free(w);

    /* Readers share the file; a writer waits for them all. */
    sp_storage *r1 = NULL, *r2 = NULL;
    assert_int_equal(sp_storage_file_new(&r1, ctx, path, &ro), SP_OK);
    assert_int_equal(sp_storage_file_new(&r2, ctx, path, &ro), SP_OK);
    assert_int_equal(sp_storage_file_new(&other, ctx, path, NULL), SP_ECONFLICT);
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(r1->get(r1->user, "t", (const uint8_t *)"k", 1, &v, &vlen), SP_OK);
    assert_memory_equal(v, "v", 1);
    assert_int_equal(r1->begin(r1->user), SP_EINVAL);
    snprintf(msg, sizeof msg, "file store: %s: begin: the store is open read-only", path);
    assert_string_equal(r1->errmsg(r1->user), msg);
    assert_int_equal(r1->put(r1->user, "t", (const uint8_t *)"k", 1, (const uint8_t *)"w", 1),
                     SP_EINVAL);
    snprintf(msg, sizeof msg, "file store: %s: put: the store is open read-only", path);
    assert_string_equal(r1->errmsg(r1->user), msg);
    assert_int_equal(r1->remove(r1->user, "t", (const uint8_t *)"k", 1), SP_EINVAL);
    /* Through the layer, a write operation on a read-only store fails at begin. */
    assert_int_equal(spi_store_write(ctx, r2, nothing_to_write, NULL), SP_EINVAL);
    snprintf(msg, sizeof msg, "storage: begin: invalid argument or input: file store: %s: "
             "begin: the store is open read-only", path);
    assert_string_equal(sp_ctx_errmsg(ctx), msg);
    sp_storage_free(r1);
    sp_storage_free(r2);
    assert_int_equal(sp_storage_file_new(&other, ctx, path, NULL), SP_OK);
    sp_storage_free(other);
    remove_store(path);
    sp_ctx_free(ctx);
}

static void test_writes_need_a_transaction(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], msg[400];
    path_of(path, sizeof path, "tx.sps");
    remove_store(path);
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, NULL);
    uint64_t size = file_size(path);
    const uint8_t k[1] = { 'k' };
    assert_int_equal(st->put(st->user, "t", k, 1, k, 1), SP_EINVAL);
    snprintf(msg, sizeof msg, "file store: %s: put outside a transaction", path);
    assert_string_equal(st->errmsg(st->user), msg);
    assert_int_equal(st->commit(st->user), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "file store: commit without a transaction");
    assert_int_equal(st->rollback(st->user), SP_EINVAL);
    spt_storage_begin(st);
    assert_int_equal(st->begin(st->user), SP_EINVAL);
    assert_string_equal(st->errmsg(st->user), "file store: begin: a transaction is already open");
    assert_int_equal(st->put(st->user, "Bad", k, 1, k, 1), SP_EINVAL);
    snprintf(msg, sizeof msg, "file store: %s: put: invalid namespace \"Bad\"", path);
    assert_string_equal(st->errmsg(st->user), msg);
    spt_storage_put(st, "t", "a", 1, "1", 1);
    assert_int_equal(st->rollback(st->user), SP_OK);
    spt_storage_begin(st);
    spt_storage_commit(st);
    assert_int_equal(file_size(path), size); /* neither wrote a byte */
    sp_storage_free(st);
    remove_store(path);
    sp_ctx_free(ctx);
}

/* ---- compaction ---- */

static void test_compaction(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300], tmp[320];
    path_of(path, sizeof path, "compact.sps");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    remove_store(path);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 4096, 300 };
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE, &cfg);
    /* 20 records, each rewritten 30 times: the log grows to about 30 times the data. */
    uint64_t largest = 0, renames = 0;
    for (int round = 0; round < 30; round++) {
        spt_storage_begin(st);
        for (int i = 0; i < 20; i++) {
            char key[8], value[32];
            snprintf(key, sizeof key, "k%02d", i);
            snprintf(value, sizeof value, "round %02d record %02d", round, i);
            spt_storage_put(st, "t", key, strlen(key), value, strlen(value));
        }
        spt_storage_commit(st);
        uint64_t size = file_size(path);
        largest = size > largest ? size : largest;
        renames += strchr(f.kinds, 'r') != NULL;
        fault_io_reset(&f);
        /* Never more than twice the live data beyond the threshold. */
        assert_true(size <= 4096 + 2 * 1024);
    }
    assert_true(renames >= 3);
    assert_false(file_exists(tmp));
    static const char *const ns[] = { "t" };
    spt_snapshot *want = spt_snapshot_take(st, ns, 1);
    assert_int_equal(spt_snapshot_count(want), 20);
    sp_storage_free(st);
    st = open_store(ctx, path, 0, NULL);
    spt_snapshot_assert_store(want, st);
    sp_storage_free(st);
    spt_snapshot_free(want);
    remove_store(path);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

static void test_no_sync(void **state)
{
    (void)state;
    sp_ctx *ctx = spt_new_ctx();
    char path[300];
    path_of(path, sizeof path, "nosync.sps");
    remove_store(path);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 0, 0 };
    sp_storage *st = open_store(ctx, path, SP_FILE_STORE_CREATE | SP_FILE_STORE_NO_SYNC, &cfg);
    spt_storage_put_str(st, "t", "k", "v");
    sp_storage_free(st);
    assert_int_equal(f.fsyncs, 0);
    st = open_store(ctx, path, 0, &cfg);
    spt_storage_put_str(st, "t", "k", "w");
    sp_storage_free(st);
    assert_int_equal(f.fsyncs, 1); /* one commit */
    remove_store(path);
    fault_io_fini(&f);
    sp_ctx_free(ctx);
}

/* ---- fault loops: I/O errors, allocation failures, a failing storage table ---- */

/* A write operation through the layer, as a module runs one. */
static int save_records(spi_store *tx, void *arg)
{
    (void)arg;
    int rc = SP_OK;
    for (uint32_t i = 0; i < 6 && rc == SP_OK; i++) {
        spi_key k;
        spi_key_init(&k, tx->ctx);
        spi_key_str(&k, "plan", 4);
        spi_key_u32(&k, i);
        char value[24];
        int n = snprintf(value, sizeof value, "record %u", i);
        rc = spi_store_put(tx, "t", k.data, k.len, (const uint8_t *)value, (size_t)n);
    }
    if (rc == SP_OK)
        rc = spi_store_remove(tx, "t", (const uint8_t *)"old2", 4);
    uint8_t *v = NULL;
    size_t vlen;
    if (rc == SP_OK)
        rc = spi_store_get(tx, "t", (const uint8_t *)"old1", 4, &v, &vlen);
    if (rc == SP_OK)
        rc = spi_store_put(tx, "u", (const uint8_t *)"copy", 4, v, vlen);
    spi_free(tx->ctx, v);
    return rc;
}

typedef struct file_case {
    sp_ctx *ctx;
    spt_alloc *alloc;
    char path[300];
    const spi_file_config *cfg;
    sp_storage *st;
    const sp_storage *table; /* what the operation is given: st or a wrapper */
    spt_failing_storage *wrapper;
    spt_snapshot *before, *after;
    fault_io *io;
} file_case;

static int run_save(void *user)
{
    file_case *c = user;
    return spi_store_write(c->ctx, c->table, save_records, NULL);
}

static void reopen_case(file_case *c)
{
    sp_storage_free(c->st);
    c->st = open_store(c->ctx, c->path, 0, c->cfg);
    if (c->wrapper != NULL) {
        spt_failing_storage_init(c->wrapper, c->st);
        c->table = &c->wrapper->table;
    } else {
        c->table = c->st;
    }
}

static void undo_save(void *user)
{
    file_case *c = user;
    spt_snapshot_restore(c->before, c->st);
}

/* Unchanged in memory and, reopened, on disk. A store that could not cut a failed
 * commit off its file refuses everything until reopened, and then holds the state before
 * or after: the outcome of that commit is unknown, as after a crash. */
static void check_save_unchanged(void *user)
{
    file_case *c = user;
    const uint8_t *v;
    size_t vlen;
    bool poisoned = c->st->get(c->st->user, "t", (const uint8_t *)"old1", 4, &v, &vlen) ==
                    SP_ESTORAGE;
    if (!poisoned)
        spt_snapshot_assert_store(c->before, c->st);
    else
        assert_true(c->io != NULL && c->io->fail_persistent);
    reopen_case(c);
    static const char *const ns[] = { "t", "u" };
    spt_snapshot *now = spt_snapshot_take(c->st, ns, 2);
    /* before and after differ in their number of records */
    bool is_after = poisoned && spt_snapshot_count(now) == spt_snapshot_count(c->after);
    spt_snapshot_assert_equal(is_after ? c->after : c->before, now);
    spt_snapshot_free(now);
    if (is_after)
        spt_snapshot_restore(c->before, c->st);
}

static size_t live_file_case(void *user)
{
    file_case *c = user;
    size_t held = 0;
    assert_true(spi_file_store_blocks(c->st, &held));
    return c->alloc->live_blocks - held;
}

static void file_case_init(file_case *c, spt_alloc *a, const char *name,
                           const spi_file_config *cfg)
{
    memset(c, 0, sizeof *c);
    c->alloc = a;
    c->ctx = spt_ctx_with(a);
    c->cfg = cfg;
    path_of(c->path, sizeof c->path, name);
    remove_store(c->path);
    c->st = open_store(c->ctx, c->path, SP_FILE_STORE_CREATE, cfg);
    write_old_state(c->st);
    static const char *const ns[] = { "t", "u" };
    c->before = spt_snapshot_take(c->st, ns, 2);
    assert_int_equal(spi_store_write(c->ctx, c->st, save_records, NULL), SP_OK);
    c->after = spt_snapshot_take(c->st, ns, 2);
    spt_snapshot_restore(c->before, c->st);
    c->table = c->st;
}

static void file_case_fini(file_case *c)
{
    sp_storage_free(c->st);
    spt_snapshot_free(c->before);
    spt_snapshot_free(c->after);
    remove_store(c->path);
    assert_int_equal(c->alloc->live_blocks, 1);
    sp_ctx_free(c->ctx);
}

static void io_arm(void *self, uint64_t n, bool persistent)
{
    fault_io *f = self;
    fault_io_reset(f);
    f->fail_at = n;
    f->fail_persistent = persistent;
}

static uint64_t io_disarm(void *self)
{
    fault_io *f = self;
    uint64_t failures = f->failures;
    f->fail_at = 0;
    return failures;
}

static void test_io_errors(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    fault_io f;
    fault_io_init(&f);
    spi_file_config cfg = { &f.io, 0, 0 };
    file_case c;
    file_case_init(&c, &a, "io-errors.sps", &cfg);
    c.io = &f;
    static const int errors[] = { SP_ESTORAGE };
    spt_fault_case fc = { "file store I/O errors", run_save, undo_save, check_save_unchanged,
                          live_file_case, errors, 1, &c };
    spt_injector inj = { io_arm, io_disarm, &f };
    /* The commit's write and its fsync, each failing in turn (and in persistent mode the
     * truncation that undoes them, which leaves the store refusing further use). */
    assert_int_equal(spt_fault_loop(&fc, &inj), 2);
    /* The message of a failed commit names the offset and the system's reason. */
    io_arm(&f, 1, false);
    assert_int_equal(run_save(&c), SP_ESTORAGE);
    io_disarm(&f);
    char want[512];
    snprintf(want, sizeof want, "storage: commit: storage failure: file store: %s: writing a "
             "commit at offset %llu failed: Input/output error",
             c.path, (unsigned long long)file_size(c.path));
    assert_string_equal(sp_ctx_errmsg(c.ctx), want);
    /* A store whose failed commit could not be undone says so. */
    io_arm(&f, 2, true);
    assert_int_equal(run_save(&c), SP_ESTORAGE);
    io_disarm(&f);
    assert_int_equal(run_save(&c), SP_ESTORAGE);
    snprintf(want, sizeof want, "storage: begin: storage failure: file store: %s: a failed "
             "commit could not be cut off the file; reopen the store", c.path);
    assert_string_equal(sp_ctx_errmsg(c.ctx), want);
    file_case_fini(&c);
    fault_io_fini(&f);
}

static void test_fault_loop_allocator_write(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    file_case c;
    /* A small compaction threshold: some commits compact, and their allocations fail in
     * turn too (a failed compaction is dropped; the commit stands). */
    spi_file_config cfg = { NULL, 600, 128 };
    file_case_init(&c, &a, "alloc-write.sps", &cfg);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "file store write (allocator)", run_save, undo_save,
                          check_save_unchanged, live_file_case, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&a);
    assert_true(spt_fault_loop(&fc, &inj) >= 10);
    file_case_fini(&c);
}

static void test_fault_loop_storage_table(void **state)
{
    (void)state;
    spt_alloc a;
    spt_alloc_init(&a);
    file_case c;
    spt_failing_storage fs;
    file_case_init(&c, &a, "table-faults.sps", NULL);
    c.wrapper = &fs;
    spt_failing_storage_init(&fs, c.st);
    c.table = &fs.table;
    static const int errors[] = { SP_ESTORAGE };
    spt_fault_case fc = { "file store write (storage table)", run_save, undo_save,
                          check_save_unchanged, live_file_case, errors, 1, &c };
    spt_injector inj = spt_failing_storage_injector(&fs);
    /* begin, 6 puts, remove, get, put, commit */
    assert_int_equal(spt_fault_loop(&fc, &inj), 11);
    file_case_fini(&c);
}

typedef struct open_case {
    spt_alloc alloc;
    sp_ctx *ctx;
    char path[300];
    uint8_t *image;
    size_t len;
    sp_storage *made;
} open_case;

static int run_open(void *user)
{
    open_case *c = user;
    return sp_storage_file_new(&c->made, c->ctx, c->path, NULL);
}

static void undo_open(void *user)
{
    open_case *c = user;
    sp_storage_free(c->made);
    c->made = NULL;
}

static void check_open_unchanged(void *user)
{
    open_case *c = user;
    assert_null(c->made);
    size_t len;
    uint8_t *now = read_file(c->path, &len);
    assert_int_equal(len, c->len);
    assert_memory_equal(now, c->image, len);
    free(now);
}

static size_t live_open(void *user)
{
    return ((open_case *)user)->alloc.live_blocks;
}

static void test_fault_loop_allocator_open(void **state)
{
    (void)state;
    open_case c = { .made = NULL };
    spt_alloc_init(&c.alloc);
    c.ctx = spt_ctx_with(&c.alloc);
    path_of(c.path, sizeof c.path, "alloc-open.sps");
    remove_store(c.path);
    sp_storage *st = open_store(c.ctx, c.path, SP_FILE_STORE_CREATE, NULL);
    write_old_state(st);
    assert_int_equal(write_new_state(st), SP_OK);
    sp_storage_free(st);
    c.image = read_file(c.path, &c.len);
    static const int errors[] = { SP_ENOMEM };
    spt_fault_case fc = { "sp_storage_file_new", run_open, undo_open, check_open_unchanged,
                          live_open, errors, 1, &c };
    spt_injector inj = spt_alloc_injector(&c.alloc);
    assert_true(spt_fault_loop(&fc, &inj) >= 8);
    free(c.image);
    remove_store(c.path);
    assert_int_equal(c.alloc.live_blocks, 1);
    sp_ctx_free(c.ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c),
        cmocka_unit_test(test_contract),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_crash_commit),
        cmocka_unit_test(test_crash_compaction),
        cmocka_unit_test(test_crash_after_compaction),
        cmocka_unit_test(test_crash_create),
        cmocka_unit_test(test_corruption),
        cmocka_unit_test(test_torn_tail_with_fake_batches),
        cmocka_unit_test(test_corruption_with_fake_batches),
        cmocka_unit_test(test_file_header_fields),
        cmocka_unit_test(test_batch_header_fields),
        cmocka_unit_test(test_sequence_limit),
        cmocka_unit_test(test_arguments),
        cmocka_unit_test(test_locks_and_readonly),
        cmocka_unit_test(test_create_race_steps),
        cmocka_unit_test(test_create_race_processes),
        cmocka_unit_test(test_create_never_follows_temp_links),
        cmocka_unit_test(test_compaction_never_follows_temp_link),
        cmocka_unit_test(test_store_behind_symlink),
        cmocka_unit_test(test_writes_need_a_transaction),
        cmocka_unit_test(test_compaction),
        cmocka_unit_test(test_no_sync),
        cmocka_unit_test(test_io_errors),
        cmocka_unit_test(test_fault_loop_allocator_write),
        cmocka_unit_test(test_fault_loop_storage_table),
        cmocka_unit_test(test_fault_loop_allocator_open),
    };
    return cmocka_run_group_tests_name("storage_file", tests, setup_dir, remove_dir);
}
