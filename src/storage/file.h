/*
 * The file store's internals that tests reach: the I/O table every file operation goes
 * through (so that a test can cut the write sequence anywhere), and knobs for compaction.
 * docs/storage.md describes the file format and the crash-safety argument.
 */
#ifndef SPI_STORAGE_FILE_H
#define SPI_STORAGE_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* How spi_file_io.open opens a path. */
typedef enum spi_io_mode {
    SPI_IO_READ = 0,   /* an existing file, read-only */
    SPI_IO_WRITE = 1,  /* an existing file, read-write */
    SPI_IO_CREATE = 2, /* a new file, read-write: EEXIST when the name exists, even as a
                        * symbolic link (O_CREAT | O_EXCL | O_NOFOLLOW) */
    SPI_IO_DIR = 3     /* a directory, only to fsync it */
} spi_io_mode;

/*
 * File operations. Each returns 0 or an errno value. pread reads up to len bytes (fewer
 * only at the end of the file); pwrite writes all len bytes or fails; lock never waits
 * (EWOULDBLOCK when another open file holds a conflicting lock); `same` says whether fd
 * is still the file that `path` names (a compaction may have replaced it).
 */
typedef struct spi_file_io {
    void *user;
    int (*open)(void *user, const char *path, spi_io_mode mode, int *fd);
    int (*close)(void *user, int fd);
    int (*pread)(void *user, int fd, void *buf, size_t len, uint64_t off, size_t *got);
    int (*pwrite)(void *user, int fd, const void *buf, size_t len, uint64_t off);
    int (*fsync)(void *user, int fd);
    int (*ftruncate)(void *user, int fd, uint64_t len);
    int (*size)(void *user, int fd, uint64_t *size);
    int (*rename)(void *user, const char *from, const char *to);
    int (*link)(void *user, const char *from, const char *to);
    int (*unlink)(void *user, const char *path);
    int (*lock)(void *user, int fd, bool exclusive);
    int (*same)(void *user, int fd, const char *path, bool *same);
    /* The absolute path of the file `path` names, symbolic links resolved (realpath),
     * into buf (cap bytes with the NUL); ENOENT when it names no file. */
    int (*resolve)(void *user, const char *path, char *buf, size_t cap);
} spi_file_io;

/* The real thing: POSIX calls (flock for locks). */
const spi_file_io *spi_file_io_posix(void);

typedef struct spi_file_config {
    const spi_file_io *io; /* NULL: spi_file_io_posix() */
    uint64_t compact_min;  /* no compaction while the file is smaller; 0: 1 MiB */
    size_t snapshot_batch; /* payload bytes per batch of a compacted file; 0: 1 MiB */
} spi_file_config;

/* sp_storage_file_new with the I/O table and knobs of `cfg` (NULL: the defaults). */
int spi_storage_file_open(sp_storage **out, sp_ctx *ctx, const char *path,
                          const sp_file_store_options *opts, const spi_file_config *cfg);

/* For tests: the blocks a file store holds (its live state included); false for any other
 * table. */
bool spi_file_store_blocks(const sp_storage *table, size_t *blocks);

/* Creation writes the new file as "<path>.tmp.<pid>.<n>" with the first n below this whose
 * name is free, then links it to <path>. */
#define SPI_FILE_CREATE_TRIES 8

/* The file format (little-endian throughout). */
#define SPI_FILE_VERSION 1u
#define SPI_FILE_HEADER_SIZE 32u
#define SPI_BATCH_HEADER_SIZE 32u
#define SPI_BATCH_TRAILER_SIZE 8u
enum { SPI_OP_PUT = 1, SPI_OP_REMOVE = 2 };

#endif /* SPI_STORAGE_FILE_H */
