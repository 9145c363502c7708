/*
 * The record format: the one codec for everything the library persists, and the reader of
 * the plan and rule documents users write by hand. docs/record-format.md is the long form;
 * this header is what module encoders and decoders call. Nothing here is public API.
 *
 * The encoding is a strict subset of JSON (RFC 8259): no exponents, no duplicate member
 * names, no invalid UTF-8 or lone surrogates, bounded sizes. Canonical bytes come from the
 * writer: members in the order the encoder writes them (its schema order, documented per
 * record type), no whitespace, minimal escaping, numbers with minimal digits.
 *
 * Encoder, in outline:
 *
 *     spi_writer w;
 *     spi_writer_init(&w, ctx);
 *     spi_record_begin(&w, "target.plan", 1);        // {"type":"target.plan","v":1
 *     spi_writer_member_int(&w, "id", plan->id);
 *     spi_writer_key(&w, "months");
 *     spi_writer_begin_array(&w);
 *     for (...) spi_writer_int(&w, amount[i]);
 *     spi_writer_end_array(&w);
 *     spi_record_end(&w);                              // }
 *     rc = spi_writer_finish(&w, &bytes, &len);        // the only status to check
 *
 * Decoder, in outline:
 *
 *     spi_rdoc *doc;
 *     rc = spi_rdoc_parse(&doc, ctx, "record target.plan", bytes, len, SPI_RDOC_STORED, NULL);
 *     const spi_rnode *root = spi_rdoc_root(doc);
 *     uint32_t v;
 *     rc = spi_record_open(doc, "target.plan", 1, &v);
 *     rc = spi_rec_int(doc, root, "id", 0, 1, INT64_MAX, &id);
 *     const spi_rnode *months; size_t n;
 *     rc = spi_rec_array(doc, root, "months", 0, &months, &n);
 *     for (i = 0; i < n; i++)
 *         rc = spi_rec_money(doc, spi_rnode_at(doc, months, i), NULL, 0, &amount[i]);
 *     rc = spi_rec_check_members(doc, root, plan_members, SPI_ARRAY_LEN(plan_members));
 *     spi_rdoc_free(doc);
 *
 * Every reader error names the document (the caller's name), the path from the root and
 * the position: `commission plan: components[2].tiers[1].lower: expected an integer, found
 * a string (line 14, column 22, byte 310)`. Its code is the document's: SP_ECORRUPT for
 * stored records, SP_EINVAL for user documents (SP_ENOMEM and SP_EVERSION stay as they are).
 */
#ifndef SPI_RECORD_H
#define SPI_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "salesplan/money.h"

struct sp_ctx;

/* ======================================================================================
 * Limits
 * ====================================================================================== */

/*
 * What a document may hold. The reader refuses anything beyond them with the document's
 * error code, so that memory stays proportional to the input and bounded. The writer
 * enforces the defaults (SP_EINVAL), so that whatever it writes the default reader reads.
 */
typedef struct spi_rec_limits {
    uint32_t max_depth;  /* nested arrays and objects; the root container is depth 1 */
    uint32_t max_nodes;  /* values of any kind (each member value, element, container) */
    size_t max_bytes;    /* size of the document (at most UINT32_MAX) */
    size_t max_string;   /* bytes of one string or member name after unescaping, and
                            characters of one number */
} spi_rec_limits;

#define SPI_REC_MAX_DEPTH 64u
#define SPI_REC_MAX_NODES (UINT32_C(1) << 21)   /* 2,097,152: about 80 MiB of tree */
#define SPI_REC_MAX_BYTES ((size_t)64 << 20)     /* 64 MiB */
#define SPI_REC_MAX_STRING ((size_t)1 << 20)     /* 1 MiB */
#define SPI_REC_LIMITS_DEFAULT \
    { SPI_REC_MAX_DEPTH, SPI_REC_MAX_NODES, SPI_REC_MAX_BYTES, SPI_REC_MAX_STRING }

/* ======================================================================================
 * Writer
 * ====================================================================================== */

/*
 * Canonical bytes into a growable buffer allocated through the context. The first error
 * sticks: later calls do nothing, and spi_writer_finish returns it, so encoders check
 * one status at the end. Errors: SP_ENOMEM; SP_EINVAL for a string that is not valid
 * UTF-8 or a document beyond the default limits (the message names the member);
 * SP_EINTERNAL when calls do not nest (a key outside an object, a value without a key,
 * an unbalanced end, a second root): a bug in the encoder.
 *
 * Keys and values are written in call order; the writer does not sort and does not check
 * for duplicate keys (the reader rejects them). Messages name the record type and the
 * last key written: `record target.plan: field 'name': invalid UTF-8 (overlong encoding
 * at byte 3)`.
 */
#define SPI_WRITER_NAME_MAX 40 /* bytes of a key or type kept for messages */

typedef struct spi_writer {
    struct sp_ctx *ctx;
    uint8_t *buf;
    size_t len, cap;
    int status;          /* first error, sticky */
    uint32_t depth;      /* open containers */
    uint32_t values;     /* values written, against SPI_REC_MAX_NODES */
    uint64_t objects;    /* bit d - 1 set: the container at depth d is an object */
    bool comma;          /* the next key or value needs a ',' */
    bool after_key;      /* a key was written; its value is due */
    bool done;           /* the root value is complete */
    bool key_cut;        /* key[] holds only the start of the last key */
    uint8_t key_len;
    char key[SPI_WRITER_NAME_MAX + 1]; /* the last key written, for messages */
    char type[SPI_WRITER_NAME_MAX + 1]; /* the record type, for messages */
} spi_writer;

void spi_writer_init(spi_writer *w, struct sp_ctx *ctx);
/* The sticky status: SP_OK or the first error. */
int spi_writer_status(const spi_writer *w);

void spi_writer_begin_object(spi_writer *w);
void spi_writer_end_object(spi_writer *w);
void spi_writer_begin_array(spi_writer *w);
void spi_writer_end_array(spi_writer *w);
/* A member name (NUL-terminated, or key[0..len)), followed by exactly one value. */
void spi_writer_key(spi_writer *w, const char *key);
void spi_writer_key_n(spi_writer *w, const char *key, size_t len);

/* A string: UTF-8 checked; '"', '\' and U+0000..U+001F escaped (\b \t \n \f \r short,
 * others \u00xx lower case); nothing else, non-ASCII never. */
void spi_writer_string(spi_writer *w, const char *s, size_t len);
void spi_writer_cstr(spi_writer *w, const char *s);
/* An integer: -?[1-9][0-9]* or 0. Money is written this way, in minor units. The
 * format's integers are symmetric, -(2^63 - 1) .. 2^63 - 1: INT64_MIN is SP_EINVAL. */
void spi_writer_int(spi_writer *w, int64_t v);
/* A decimal (value * 10^9) with minimal digits: 0.035, 12, -0.000000001; not INT64_MIN. */
void spi_writer_dec(spi_writer *w, sp_dec v);
/* value / 10^digits (0 <= digits <= 18) with minimal digits: money in major units in a
 * document users read (123450 with 2 digits is 1234.5). */
void spi_writer_fixed(spi_writer *w, int64_t value, int32_t digits);
void spi_writer_bool(spi_writer *w, bool v);
void spi_writer_null(spi_writer *w);

/* key + value in one call, the common case of encoders. */
void spi_writer_member_int(spi_writer *w, const char *key, int64_t v);
void spi_writer_member_dec(spi_writer *w, const char *key, sp_dec v);
void spi_writer_member_bool(spi_writer *w, const char *key, bool v);
void spi_writer_member_string(spi_writer *w, const char *key, const char *s, size_t len);
/* A NUL-terminated string, or null when s is NULL. */
void spi_writer_member_cstr_or_null(spi_writer *w, const char *key, const char *s);
/* An enumeration value as its name: names[v]. v >= n is SP_EINTERNAL (an encoder bug). */
void spi_writer_enum(spi_writer *w, const char *const *names, size_t n, uint32_t v);
void spi_writer_member_enum(spi_writer *w, const char *key, const char *const *names, size_t n,
                            uint32_t v);

struct spi_rdoc;
struct spi_rnode;
/* A parsed value, in canonical form: members in document order, strings re-escaped
 * minimally, numbers without '-0' and without trailing fractional zeros (1.50 -> 1.5,
 * 2.0 -> 2). Writing a parsed canonical document gives back its bytes. */
void spi_writer_copy(spi_writer *w, const struct spi_rdoc *doc, const struct spi_rnode *node);

/*
 * Hand over the bytes: on success *out (free with spi_free) and *out_len get the document
 * and the writer is empty again. On error the buffer is freed, the outputs are untouched
 * and the first error is returned. SP_EINTERNAL when no complete value was written.
 */
int spi_writer_finish(spi_writer *w, uint8_t **out, size_t *out_len);
/* Drop the buffer (an encoder giving up for a reason of its own). */
void spi_writer_discard(spi_writer *w);

/* ======================================================================================
 * Record envelope
 * ====================================================================================== */

/*
 * Every stored record is an object whose first members are "type" (a name like
 * "target.plan") and "v" (the format version of that type, an integer >= 1).
 * spi_record_begin opens the object and writes both; the encoder then writes its members
 * and closes with spi_record_end.
 */
void spi_record_begin(spi_writer *w, const char *type, uint32_t version);
void spi_record_end(spi_writer *w);

/*
 * Check the envelope of a parsed record: the root is an object, "type" is `type`, "v" is
 * an integer from 1 to `known` (the newest version this decoder reads); *version gets it.
 * A newer version is SP_EVERSION ("record target.plan: version 3 is newer than version 2,
 * the newest this library reads"); anything else wrong is the document's code.
 * The reader finds "type" and "v" wherever they are; only the writer puts them first.
 */
int spi_record_open(const struct spi_rdoc *doc, const char *type, uint32_t known,
                    uint32_t *version);

/* ======================================================================================
 * Reader
 * ====================================================================================== */

typedef struct spi_rdoc spi_rdoc;   /* a parsed document: read-only, arena-allocated */
typedef struct spi_rnode spi_rnode; /* one value of it; valid while the document lives */

typedef enum spi_rtype {
    SPI_RNULL = 0,
    SPI_RBOOL = 1,
    SPI_RNUMBER = 2,
    SPI_RSTRING = 3,
    SPI_RARRAY = 4,
    SPI_ROBJECT = 5
} spi_rtype;

/* Parse flags: what kind of document, hence its error code and its member policy. */
enum {
    SPI_RDOC_STORED = 0, /* a stored record: errors are SP_ECORRUPT, unknown members are
                            skipped (written by a newer version of the same format) */
    SPI_RDOC_EINVAL = 1, /* errors are SP_EINVAL */
    SPI_RDOC_STRICT = 2, /* spi_rec_check_members rejects unknown members */
    SPI_RDOC_USER = SPI_RDOC_EINVAL | SPI_RDOC_STRICT /* a document a user wrote */
};

/*
 * Parse data[0..len) (no NUL needed) into a tree. `name` names the document in messages
 * ("commission plan", "record target.plan"; copied, at most 63 bytes kept). `limits` may
 * be NULL for SPI_REC_LIMITS_DEFAULT. The tree refers to `data` (strings without escapes,
 * number texts), which must stay valid and unchanged until spi_rdoc_free. Memory is
 * proportional to the input: about 40 bytes per value plus the unescaped strings.
 * On error *out is untouched and nothing is allocated.
 */
int spi_rdoc_parse(spi_rdoc **out, struct sp_ctx *ctx, const char *name, const uint8_t *data,
                   size_t len, uint32_t flags, const spi_rec_limits *limits);
void spi_rdoc_free(spi_rdoc *doc);

const spi_rnode *spi_rdoc_root(const spi_rdoc *doc);
/* Number of values in the document. */
uint32_t spi_rdoc_nodes(const spi_rdoc *doc);
/* SP_ECORRUPT or SP_EINVAL: the code of this document's errors. */
int spi_rdoc_code(const spi_rdoc *doc);

/* ---- nodes ---- */

spi_rtype spi_rnode_type(const spi_rnode *node);
/* Elements of an array, members of an object; 0 for anything else. */
size_t spi_rnode_count(const spi_rnode *node);
/* The i-th element or member value (i < count), in document order. */
const spi_rnode *spi_rnode_at(const spi_rdoc *doc, const spi_rnode *node, size_t i);
/* The member name of a value inside an object (NULL otherwise); not NUL-terminated. */
const char *spi_rnode_key(const spi_rdoc *doc, const spi_rnode *node, size_t *len);
/* A string's unescaped bytes, or a number's text as written; NULL for other types.
 * Not NUL-terminated. */
const char *spi_rnode_text(const spi_rdoc *doc, const spi_rnode *node, size_t *len);
bool spi_rnode_bool(const spi_rnode *node); /* false unless a true boolean */
/* The value of member `key` of an object, or NULL (absent, or `obj` not an object). */
const spi_rnode *spi_rnode_member(const spi_rdoc *doc, const spi_rnode *obj, const char *key);

/* ---- typed reading ----
 *
 * Each function reads `node` itself when `key` is NULL, or else member `key` of the
 * object `node`. A missing member is an error unless `flags` has SPI_REC_OPTIONAL: then
 * the outputs keep what they hold, so preset them to the default. Outputs are written only
 * on success. Every error (the document's code) names the path and the position. A null
 * is not a missing member: it is "found null" unless the function accepts null. */
enum {
    SPI_REC_OPTIONAL = 1u << 0, /* the member may be absent */
    SPI_REC_NO_NUL = 1u << 1,   /* strings: reject an embedded U+0000 */
    SPI_REC_PERCENT = 1u << 2,  /* decimals: also accept a string ending in '%' ("3.5%"
                                   is 0.035); a number is always the plain value */
    SPI_REC_NULL = 1u << 3      /* spi_rec_strdup, string columns: null stands for NULL */
};

/* A member's value node (any type); NULL in *out when optional and absent. */
int spi_rec_get(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                const spi_rnode **out);
int spi_rec_object(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                   uint32_t flags, const spi_rnode **out);
int spi_rec_array(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                  const spi_rnode **out, size_t *count);
/* An integer (no fraction: 2.0 is not an integer) in [min, max]; never INT64_MIN. */
int spi_rec_int(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                int64_t min, int64_t max, int64_t *out);
/* Money in minor units: an integer, any int64_t but INT64_MIN. */
int spi_rec_money(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                  int64_t *out);
/* Money written in major units with at most `exponent` decimals (5000.5 with exponent 2
 * is 500050), for documents users write; stored records use spi_rec_money. */
int spi_rec_money_major(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                        uint32_t flags, int32_t exponent, int64_t *out);
/* A decimal with at most 9 fractional digits (trailing zeros beyond are fine), in
 * [min, max]; with SPI_REC_PERCENT also a string "3.5%" (at most 7 decimals). */
int spi_rec_dec(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                sp_dec min, sp_dec max, sp_dec *out);
/* A string: *s points into the document (not NUL-terminated), *len its length. */
int spi_rec_string(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                   uint32_t flags, const char **s, size_t *len);
int spi_rec_bool(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                 bool *out);
/* A string that is one of names[0..n): *out gets its index. The message lists the names
 * and suggests the nearest one ("did you mean 'even'?"). */
int spi_rec_enum(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                 const char *const *names, size_t n, uint32_t *out);

/* The nearest of names[0..n) to s[0..len) (within a third of its length), for "did you
 * mean" hints in a module's own messages; SIZE_MAX when none is near. */
size_t spi_rec_suggest(const char *s, size_t len, const char *const *names, size_t n);

/* A uint32_t in [min, max]. */
int spi_rec_u32(const spi_rdoc *doc, const spi_rnode *node, const char *key, uint32_t flags,
                uint32_t min, uint32_t max, uint32_t *out);
/* A NUL-terminated copy of a string without U+0000 (allocated through the document's
 * context; free with spi_free). With SPI_REC_NULL a null gives NULL. */
int spi_rec_strdup(const spi_rdoc *doc, const spi_rnode *node, const char *key,
                   uint32_t flags, char **out);

/*
 * Unknown members of `obj`: with SPI_RDOC_STRICT, a member whose name is not in
 * known[0..n) is an error that suggests the nearest known name (`components[0]: unknown
 * member 'rat'; did you mean 'rate'?`); without it (stored records) unknown members are
 * skipped and this returns SP_OK. Records list "type" and "v" among their known members.
 */
int spi_rec_check_members(const spi_rdoc *doc, const spi_rnode *obj, const char *const *known,
                          size_t n);

/*
 * A module's own error about a value (`lower bound 5000 overlaps tier 0`), in the reader's
 * format: "<name>: <path>: <message> (line L, column C, byte B)", with the document's
 * code, which it returns.
 */
int spi_rec_fail(const spi_rdoc *doc, const spi_rnode *node, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
/* The path of `node` from the root (`components[2].tiers[1].lower`; "" for the root),
 * truncated to cap - 1 bytes; returns the length written. */
size_t spi_rec_path(const spi_rdoc *doc, const spi_rnode *node, char *buf, size_t cap);

/* ======================================================================================
 * Typed columns
 * ====================================================================================== */

/*
 * A column is an array member with one value per row (per node of a chunk, per period),
 * written and read by one codec per element type, so that every module stores a kind of
 * value the same way and reads it back as strictly:
 *
 *   codec   C type      written as                        read back
 *   i64     int64_t     integers (money: minor units);    integers in [min, max]; with a
 *                       null where valid[i] == 0          valid mask also null (valid 0)
 *   i32     int32_t     integers (day numbers)            integers in [min, max]
 *   u32     uint32_t    integers (counts, positions)      integers in [min, max]
 *   index   uint32_t    integers; SP_NONE (UINT32_MAX)    integers in [0, max], or null
 *                       as null                           for SP_NONE
 *   dec     sp_dec      decimals with minimal digits      decimals in [min, max]
 *   flags   uint32_t    integers (bit sets whose bits     integers with no bit outside
 *                       the module documents)             `known`
 *   enum    uint32_t    names[v] (strings)                one of names, with "did you
 *                                                         mean" for a near miss
 *   str     char *      strings; NULL as null when        strings without U+0000, copied
 *                       SPI_REC_NULL                      (NUL-terminated); null with
 *                                                         SPI_REC_NULL
 *
 * Writers take the member name `key` (NULL: the array is a value of its own, e.g. an
 * element of an enclosing array) and n values. Readers take the object holding member
 * `key` (the array itself when key is NULL) and want exactly n values. Every error is the
 * document's (SP_ECORRUPT for stored records) and names the record, the column and the
 * row: `record target.set.chunk 1: annual: 2 values where 3 are due`, `record
 * target.set.chunk 1: flags[2]: expected an integer with no bits outside 0xff, found 256`.
 * Readers write out[i] (and valid[i]) as they go: after an error the caller drops what it
 * was filling; a str reader's copies made so far are in out[], NULL beyond, to be freed.
 */
void spi_col_write_i64(spi_writer *w, const char *key, const int64_t *v, const uint8_t *valid,
                       size_t n);
void spi_col_write_i32(spi_writer *w, const char *key, const int32_t *v, size_t n);
void spi_col_write_u32(spi_writer *w, const char *key, const uint32_t *v, size_t n);
void spi_col_write_index(spi_writer *w, const char *key, const uint32_t *v, size_t n);
void spi_col_write_dec(spi_writer *w, const char *key, const sp_dec *v, size_t n);
void spi_col_write_flags(spi_writer *w, const char *key, const uint32_t *v, size_t n);
void spi_col_write_enum(spi_writer *w, const char *key, const uint32_t *v, size_t n,
                        const char *const *names, size_t nnames);
void spi_col_write_str(spi_writer *w, const char *key, const char *const *v, size_t n);

/* valid may be NULL: then null is refused. */
int spi_col_read_i64(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     int64_t min, int64_t max, int64_t *out, uint8_t *valid);
int spi_col_read_i32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     int32_t min, int32_t max, int32_t *out);
int spi_col_read_u32(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     uint32_t min, uint32_t max, uint32_t *out);
/* max < UINT32_MAX. */
int spi_col_read_index(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                       uint32_t max, uint32_t *out);
int spi_col_read_dec(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     sp_dec min, sp_dec max, sp_dec *out);
int spi_col_read_flags(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                       uint32_t known, uint32_t *out);
int spi_col_read_enum(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                      const char *const *names, size_t nnames, uint32_t *out);
/* flags: SPI_REC_NULL to accept null (NULL in out). */
int spi_col_read_str(const spi_rdoc *doc, const spi_rnode *obj, const char *key, size_t n,
                     uint32_t flags, char **out);

/*
 * Sparse columns: the rows that have a value, as an array of objects in ascending row
 * order, each naming its row in member SPI_COL_ROW ("node") before the value's own
 * members: `"locks":[{"node":4,"reason":"agreed"}]`. A writer writes the objects itself;
 * the reader checks the rows:
 *
 *     spi_col_sparse sp;
 *     rc = spi_col_sparse_open(&sp, doc, root, "locks", first, first + count);
 *     while (rc == SP_OK && spi_col_sparse_next(&sp, &rc, &entry, &row))
 *         ... read entry's members for row ...
 *
 * Each row must lie in [lo, hi) and follow the previous one (no repeats).
 */
#define SPI_COL_ROW "node"

typedef struct spi_col_sparse {
    const spi_rdoc *doc;
    const spi_rnode *arr;
    size_t count, next;
    int64_t lo, hi, last;
} spi_col_sparse;

/* Open member `key` of obj (an array of entries: s->count of them) for rows [lo, hi). */
int spi_col_sparse_open(spi_col_sparse *s, const spi_rdoc *doc, const spi_rnode *obj,
                        const char *key, uint32_t lo, uint32_t hi);
/* True with the next entry and its row; false at the end or on error (*rc set). */
bool spi_col_sparse_next(spi_col_sparse *s, int *rc, const spi_rnode **entry, uint32_t *row);

#include "stored.h"

#endif /* SPI_RECORD_H */
