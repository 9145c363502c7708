/*
 * salesplan/core.h - context, allocator hooks, status codes, error messages, version.
 *
 * Conventions shared by every salesplan header (docs/conventions.md has the long form):
 *  - Fallible functions return int: SP_OK (0) or a negative sp_status.
 *  - Output parameters are written only on success.
 *  - Handles are opaque; constructors are `int sp_x_new(sp_x **out, ...)`, destructors
 *    `void sp_x_free(sp_x *)` accept NULL.
 *  - Options structs and callback tables start with `uint32_t version`; initialise them
 *    with SP_X_INIT or sp_x_init(ptr, SP_X_VERSION).
 */
#ifndef SALESPLAN_CORE_H
#define SALESPLAN_CORE_H

#include <stddef.h>
#include <stdint.h>

/* Marks the functions the library exports (the rest of it is hidden): default visibility
 * while the library is built; on Windows dllexport, or dllimport for its users (define
 * SP_STATIC when linking the static library); otherwise empty. */
#if defined(_WIN32) || defined(__CYGWIN__)
#  if defined(SP_BUILDING_LIBRARY)
#    define SP_API __declspec(dllexport)
#  elif defined(SP_STATIC)
#    define SP_API
#  else
#    define SP_API __declspec(dllimport)
#  endif
#elif defined(__GNUC__) && defined(SP_BUILDING_LIBRARY)
#  define SP_API __attribute__((visibility("default")))
#else
#  define SP_API
#endif

/*
 * Declarations outside the stable ABI (docs/abi.md): kernels whose shape may still change.
 * They are seen only when SP_STATIC_LINKING_ONLY is defined before the headers are
 * included, and only the static library provides them: the shared library does not
 * export them, so no program can come to depend on them through libsalesplan.so.1.
 */
#define SP_STATIC_API

#ifdef __cplusplus
extern "C" {
#endif

/* Version of these headers. sp_version() reports the library actually loaded. */
#define SP_VERSION_MAJOR 0
#define SP_VERSION_MINOR 1
#define SP_VERSION_PATCH 0
#define SP_VERSION_STRING "0.1.0"
/* (major << 16) | (minor << 8) | patch, comparable with sp_version(). */
#define SP_VERSION_NUMBER ((SP_VERSION_MAJOR << 16) | (SP_VERSION_MINOR << 8) | SP_VERSION_PATCH)

/*
 * Status codes. The values are frozen: new codes are only ever appended with new
 * negative values; existing ones never change meaning.
 */
typedef enum sp_status {
    SP_OK = 0,          /* success */
    SP_EINVAL = -1,     /* an argument or input document is invalid */
    SP_ENOMEM = -2,     /* an allocation failed */
    SP_EOVERFLOW = -3,  /* an exact result does not fit its type */
    SP_ENOTFOUND = -4,  /* an id, key or record does not exist */
    SP_ECONFLICT = -5,  /* duplicate id, immutable object, concurrent change */
    SP_ECORRUPT = -6,   /* stored bytes fail validation */
    SP_ESTORAGE = -7,   /* the storage backend failed (I/O) */
    SP_EUSER = -8,      /* a host callback returned an error; see sp_ctx_user_errcode */
    SP_ECANCELED = -9,  /* the host's cancellation callback asked to stop */
    SP_EVERSION = -10,  /* unsupported struct, record or file version */
    SP_EBUFFER = -11,   /* the caller's output buffer is too small */
    SP_EINTERNAL = -12  /* an internal invariant failed: a bug in salesplan */
} sp_status;

/* A static, never NULL, English description of a status code. */
SP_API const char *sp_strerror(int code);

/* Library version actually loaded: (major << 16) | (minor << 8) | patch. */
SP_API uint32_t sp_version(void);
/* Library version as "major.minor.patch"; static storage. */
SP_API const char *sp_version_string(void);

/*
 * Allocator hooks. Either all three functions are set or none (then the C library's
 * malloc/realloc/free are used). `free_fn` is never called with NULL. `realloc_fn` is
 * only called with a pointer from the same hooks and a non-zero size.
 */
typedef struct sp_ctx_options {
    uint32_t version;                      /* SP_CTX_OPTIONS_VERSION */
    void *(*malloc_fn)(void *user, size_t size);             /* as malloc */
    void *(*realloc_fn)(void *user, void *ptr, size_t size); /* as realloc */
    void (*free_fn)(void *user, void *ptr);                  /* as free */
    void *alloc_user;                      /* passed as `user` to the hooks */
} sp_ctx_options;

#define SP_CTX_OPTIONS_VERSION 1u
#define SP_CTX_OPTIONS_INIT { SP_CTX_OPTIONS_VERSION, NULL, NULL, NULL, NULL }

/* Initialise `opts` to the defaults of struct version `version` (for FFI, which has no
 * macros). Returns SP_EVERSION for version 0 or a version newer than this library. */
SP_API int sp_ctx_options_init(sp_ctx_options *opts, uint32_t version);

/*
 * The context: allocator, last error. Every other object is created within a context.
 * One context is used by one thread at a time; distinct contexts are independent.
 */
typedef struct sp_ctx sp_ctx;

/* Create a context. `opts` may be NULL for the defaults. The context itself is allocated
 * through the hooks of `opts`. */
SP_API int sp_ctx_new(sp_ctx **out, const sp_ctx_options *opts);
/* Free a context (NULL is accepted). Free the objects made within it first. */
SP_API void sp_ctx_free(sp_ctx *ctx);

/*
 * The last error recorded in `ctx`: its status code and a message that names the
 * offending input. Valid after a function taking this context returned an error, until
 * the next error or sp_ctx_clear_error(); a successful call does not clear it.
 * With no error recorded, the code is SP_OK and the message is "".
 */
SP_API int sp_ctx_errcode(const sp_ctx *ctx);
SP_API const char *sp_ctx_errmsg(const sp_ctx *ctx);
/* Copy the message into `buf` (NUL-terminated, truncated to `cap` - 1 bytes). Returns the
 * full message length in bytes, excluding the NUL, like snprintf. `buf` may be NULL when
 * `cap` is 0. */
SP_API size_t sp_ctx_errmsg_copy(const sp_ctx *ctx, char *buf, size_t cap);
/* Forget the last error, the host's code and message included. */
SP_API void sp_ctx_clear_error(sp_ctx *ctx);

/*
 * When the last error is SP_EUSER, the host callback's own status code (whatever it
 * returned) and the message it supplied, if any; otherwise 0 and "".
 */
SP_API int sp_ctx_user_errcode(const sp_ctx *ctx);
SP_API const char *sp_ctx_user_errmsg(const sp_ctx *ctx);

/*
 * Progress and cancellation for long operations. The library calls `report` at bounded
 * intervals (at least every 1/256 of the work, and at the end) with the work done so far
 * and the total (0 when unknown), in units each operation documents. A non-zero return
 * cancels the operation: it returns SP_ECANCELED and leaves storage untouched.
 */
typedef struct sp_progress {
    uint32_t version; /* SP_PROGRESS_VERSION */
    void *user;       /* passed to report */
    int (*report)(void *user, uint64_t done, uint64_t total); /* NULL: no reports */
} sp_progress;

#define SP_PROGRESS_VERSION 1u
#define SP_PROGRESS_INIT { SP_PROGRESS_VERSION, NULL, NULL }

SP_API int sp_progress_init(sp_progress *progress, uint32_t version);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_CORE_H */
