/*
 * Private to src/record: the layout of a parsed document, shared by the parser
 * (reader.c), the accessors (access.c) and the writer's copy of parsed values (writer.c).
 */
#ifndef SPI_RECORD_RDOC_H
#define SPI_RECORD_RDOC_H

#include <stdarg.h>

#include "../core/internal.h"
#include "record.h"

#define RDOC_NONE UINT32_MAX /* no node: the root's parent */
#define RDOC_NAME_CAP 64

enum {
    RNODE_TRUE = 1u << 0,        /* a boolean that is true */
    RNODE_DECODED = 1u << 1,     /* string text lives in doc->dec (it had escapes) */
    RNODE_KEY_DECODED = 1u << 2, /* member name lives in doc->dec */
    RNODE_HAS_NUL = 1u << 3,     /* string contains U+0000 (only \u0000 can make one) */
    RNODE_FRACTION = 1u << 4     /* number has a '.' */
};

/*
 * One value, 32 bytes. Nodes are stored in document (pre-)order; a container's children
 * are listed in doc->kids[off .. off + len). During parsing, `len` of an open container
 * counts its children so far and its children wait on the parser's stack.
 */
struct spi_rnode {
    uint8_t type;     /* spi_rtype */
    uint8_t flags;    /* RNODE_* */
    uint16_t unused;
    uint32_t pos;     /* byte offset of the value's first byte */
    uint32_t parent;  /* index of the containing node, RDOC_NONE for the root */
    uint32_t key_pos; /* object member: offset of the name's opening quote */
    uint32_t key_off; /* object member: name at (KEY_DECODED ? dec : data) + key_off */
    uint32_t key_len; /* object member: name length; array element: its index */
    uint32_t off;     /* string, number: text offset; container: first entry in kids */
    uint32_t len;     /* string, number: text length; container: number of children */
};

struct spi_rdoc {
    sp_ctx *ctx;
    const uint8_t *data;
    size_t size;
    struct spi_rnode *nodes;
    uint32_t nnodes;
    uint32_t *kids;
    char *dec; /* unescaped strings */
    int code;  /* SP_ECORRUPT or SP_EINVAL */
    uint32_t flags;
    char name[RDOC_NAME_CAP];
};

/* A member's name and a string's or number's text. */
static inline const char *spi_rnode_key_ptr(const spi_rdoc *doc, const struct spi_rnode *nd)
{
    return (nd->flags & RNODE_KEY_DECODED ? doc->dec : (const char *)doc->data) + nd->key_off;
}

static inline const char *spi_rnode_text_ptr(const spi_rdoc *doc, const struct spi_rnode *nd)
{
    return (nd->flags & RNODE_DECODED ? doc->dec : (const char *)doc->data) + nd->off;
}

/* 1 for the bytes that stand for themselves in a JSON string: printable ASCII but '"'
 * and '\\'. Everything else is escaped, or starts a UTF-8 sequence (>= 0x80). */
extern const uint8_t spi_json_plain[256];

/* Length of the well-formed UTF-8 sequence at s (s < end, *s >= 0x80), or 0 with *why. */

/*
 * Record an error of `doc`: "<name>: <path of node>: <message> (line L, column C, byte
 * pos)". node RDOC_NONE omits the path; pos SIZE_MAX omits the position.
 */
int spi_rdoc_vfail(const spi_rdoc *doc, int code, uint32_t node, size_t pos, const char *fmt,
                   va_list ap) SPI_PRINTF(5, 0);
int spi_rdoc_fail(const spi_rdoc *doc, int code, uint32_t node, size_t pos, const char *fmt,
                  ...) SPI_PRINTF(5, 6);

/* `s` between two `delim` for a message: at most `max` bytes of it (cut on a character
 * boundary, then "..."), with control characters, '\\', `delim` and bytes that are not
 * UTF-8 (\\xff) escaped. Returns buf. */
const char *spi_rdoc_quote(char *buf, size_t cap, const char *s, size_t len, size_t max,
                           char delim);

#endif /* SPI_RECORD_RDOC_H */
