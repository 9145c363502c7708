/*
 * Internal interface of the core: the context layout, allocation through the context's
 * hooks, error recording, versioned-struct handling. Used by every module, uses nothing.
 * Internal names start with spi_ and are never exported.
 */
#ifndef SPI_CORE_INTERNAL_H
#define SPI_CORE_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "salesplan/core.h"

#if defined(__GNUC__)
#  define SPI_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define SPI_NODISCARD __attribute__((warn_unused_result))
#else
#  define SPI_PRINTF(fmt, args)
#  define SPI_NODISCARD
#endif

#define SPI_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * A function compiled into several specialised copies (a hot loop over facts, one copy per
 * combination of constant flags) is forced inline into each. Not in the coverage build
 * (meson's b_coverage defines SPI_COVERAGE_BUILD): there it stays one function called
 * with the flags, so each of its branches is counted once, over every form, instead of
 * once per copy with the branches on constants counted as never taken.
 */
#if defined(__GNUC__) && !defined(SPI_COVERAGE_BUILD)
#  define SPI_FORCE_INLINE inline __attribute__((always_inline))
#else
#  define SPI_FORCE_INLINE inline
#endif

/* Messages longer than this are truncated; the fixed buffer means recording an error,
 * including SP_ENOMEM, never allocates. */
#define SPI_ERRMSG_CAP 1024
#define SPI_USER_ERRMSG_CAP 512

/* Slots of module extensions on a context. */
enum { SPI_CTX_EXT_COMMISSION_KINDS, SPI_CTX_EXT_COUNT };

struct sp_ctx {
    void *(*malloc_fn)(void *user, size_t size);
    void *(*realloc_fn)(void *user, void *ptr, size_t size);
    void (*free_fn)(void *user, void *ptr);
    void *alloc_user;
    int errcode;
    int user_errcode;
    char errmsg[SPI_ERRMSG_CAP];
    char user_errmsg[SPI_USER_ERRMSG_CAP];
    /* The storage write transaction running in this context (src/storage/store.c), so
     * that a nested one is refused; NULL when none. */
    const void *storage_tx;
    /* What a module registers on the context (commission's plug-in kinds), freed with the
     * context by the module's own function; NULL when nothing was registered. */
    void *ext[SPI_CTX_EXT_COUNT];
    void (*ext_free[SPI_CTX_EXT_COUNT])(sp_ctx *ctx, void *ext);
};

/* Allocation through the context's hooks. On failure these record SP_ENOMEM with the size
 * in the context and return NULL. Sizes of zero allocate one byte so that NULL always
 * means failure. */
SPI_NODISCARD void *spi_malloc(sp_ctx *ctx, size_t size);
/* n * size bytes, overflow-checked (overflow records SP_ENOMEM too). */
SPI_NODISCARD void *spi_malloc_array(sp_ctx *ctx, size_t n, size_t size);
/* Like spi_malloc_array, zero-filled. */
SPI_NODISCARD void *spi_calloc(sp_ctx *ctx, size_t n, size_t size);
/* Resize to n * size bytes; on failure the old block is left as it was. */
SPI_NODISCARD void *spi_realloc_array(sp_ctx *ctx, void *ptr, size_t n, size_t size);
void spi_free(sp_ctx *ctx, void *ptr);

/* Record `code` and a printf-style message in the context; returns `code`, so that
 * `return spi_fail(ctx, SP_EINVAL, "...")` reads naturally. `ctx` may be NULL. */
int spi_fail(sp_ctx *ctx, int code, const char *fmt, ...) SPI_PRINTF(3, 4);
int spi_vfail(sp_ctx *ctx, int code, const char *fmt, va_list ap) SPI_PRINTF(3, 0);
/*
 * Give the context's current message (an inner call's) the outer call's context, in place:
 * the message becomes "<prefix>: <message>", where the prefix is printf-style and `drop`
 * (may be NULL) is cut from the start of the old message when it is there (an inner
 * "allocate: " that the prefix makes redundant). Records `code`; a host error's own code
 * and message (SP_EUSER) are kept. Never reads the message while writing it. Returns
 * `code`.
 */
int spi_fail_prefix(sp_ctx *ctx, int code, const char *drop, const char *fmt, ...)
    SPI_PRINTF(4, 5);
/* Record that a host callback failed with its own `host_code` and optional message. */
int spi_fail_user(sp_ctx *ctx, int host_code, const char *host_msg, const char *fmt, ...)
    SPI_PRINTF(4, 5);
/*
 * The status of a host callback's return code `rc`, by the rule of storage.h: 0 is SP_OK;
 * a salesplan status (SP_EINVAL .. SP_EINTERNAL) passes through, its message made of
 * `fmt` and the host's message; any other value becomes SP_EUSER, keeping the host's code
 * and message. `host_msg` may be NULL. `fmt` says which call failed ("storage: put ...").
 */
int spi_host_status(sp_ctx *ctx, int rc, const char *host_msg, const char *fmt, ...)
    SPI_PRINTF(4, 5);

/*
 * Versioned structs. `sizes[v]` is the size of the struct as of version v (sizes[0]
 * unused), so a caller built against an older header is never read or written past
 * the end of its struct.
 */
/* Write the first sizes[version] bytes of `tmpl` (the newest SP_X_INIT) into s, with
 * `version`; SP_EVERSION for 0 or a version above `newest`. */
int spi_struct_init(void *s, uint32_t version, const size_t *sizes, uint32_t newest,
                    const void *tmpl);
/*
 * Defines `int type_init(type *s, uint32_t version)`, the FFI form of `INIT`: every public
 * versioned struct's init function is this one, so the function and the macro cannot
 * disagree. `sizes` is the struct's sizes array.
 */
#define SPI_DEFINE_INIT(type, sizes, VERSION, INIT)                                          \
    int type##_init(type *s, uint32_t version)                                               \
    {                                                                                        \
        static const type tmpl = INIT;                                                       \
        if (s == NULL)                                                                       \
            return SP_EINVAL;                                                                \
        return spi_struct_init(s, version, sizes, VERSION, &tmpl);                           \
    }
/* Validate `src->version` and copy its fields over `dst`, which holds the defaults.
 * `what` names the struct in the error message. src may be NULL (defaults kept). */
int spi_struct_read(sp_ctx *ctx, const char *what, void *dst, const void *src,
                    const size_t *sizes, uint32_t newest);

/* The caller's output struct dst declares a version this library writes: SP_EVERSION for
 * 0 or a newer one (checked before work whose result goes there). */
int spi_info_check(sp_ctx *ctx, const char *what, const void *dst, uint32_t newest);
/* Write the output struct src (newest version) into the caller's dst, as of dst's
 * version, after spi_info_check. */
int spi_info_out(sp_ctx *ctx, const char *what, void *dst, const void *src, const size_t *sizes,
                 uint32_t newest);

/*
 * Progress reporting for a long operation: start with the caller's sp_progress (NULL: no
 * reports) and the total, tick with the work done; a tick returns SP_ECANCELED (with a
 * message naming `what`) when the host asks to stop. Reports come every `total / 256`
 * units (every 4096 when the total is unknown) and once at the end.
 */
typedef struct spi_progress {
    sp_ctx *ctx;
    sp_progress cb;
    const char *what;
    uint64_t total, step, next;
} spi_progress;

int spi_progress_start(spi_progress *pr, sp_ctx *ctx, const sp_progress *cb, const char *what,
                       uint64_t total);
int spi_progress_tick_slow(spi_progress *pr, uint64_t done);
/* The cheap check belongs in the caller's loop; the call only when a report is due. */
static inline int spi_progress_tick(spi_progress *pr, uint64_t done)
{
    return done >= pr->next ? spi_progress_tick_slow(pr, done) : SP_OK;
}
/* The last report: `done` is all the work (when the total was unknown it becomes the
 * total too, so the host sees done == total at the end). */
int spi_progress_finish(spi_progress *pr, uint64_t done);

/*
 * UTF-8 (Unicode table 3-7: no overlong forms, no surrogates U+D800..U+DFFF, nothing above
 * U+10FFFF, no truncated sequence; NUL is a valid character here).
 * spi_utf8_seq: the length (1 to 4) of the well-formed sequence at s (s < end), or 0 with
 * *why a static reason. spi_utf8_check: true when s[0..len) is well formed, else false
 * with *bad (may be NULL) the offset of the first ill-formed sequence and *why (may be
 * NULL) the reason ("overlong encoding").
 */
size_t spi_utf8_seq(const uint8_t *s, const uint8_t *end, const char **why);
bool spi_utf8_check(const uint8_t *s, size_t len, size_t *bad, const char **why);

/* Bytes of host text a message quotes; longer text is cut and marked `...`. */
#define SPI_QUOTE_MAX 80
/* Room for the quote of any text: every quoted byte may become `\xHH`. */
#define SPI_QUOTE_CAP (4 * SPI_QUOTE_MAX + 8)

/*
 * Write `s[0..len)` into buf (SPI_QUOTE_CAP bytes) as a double-quoted string for a
 * message: at most SPI_QUOTE_MAX bytes of it (cut on a character boundary, followed by
 * `...` outside the quotes), valid multi-byte UTF-8 kept as it is, ASCII control bytes
 * and bytes of invalid UTF-8 written `\xHH`, `"` and `\` escaped with `\`. Returns buf.
 */
const char *spi_quote(char *buf, const void *s, size_t len);

#endif /* SPI_CORE_INTERNAL_H */
