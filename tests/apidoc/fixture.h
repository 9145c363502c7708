/*
 * fixture.h - a header that exercises each case of the comment rule of tools/apidoc.py
 * (docs/conventions.md, "Documenting the API"). fixture.undocumented lists, by hand, what
 * the rule leaves undocumented here; the `docs` tests hold the checker and doxygen to it.
 */
#ifndef FIXTURE_H
#define FIXTURE_H

#include <stddef.h>
#include <stdint.h>

/* A comment above an #if block documents the macro it defines. */
#if defined(_WIN32)
#  define FX_API __declspec(dllimport)
#else
#  define FX_API
#endif

/* Documents FX_FIRST only: one macro per #if block. */
#ifdef FX_SOMETHING
#  define FX_FIRST 1
#  define FX_SECOND 2
#else
#  define FX_FIRST 0
#  define FX_SECOND 0
#endif

#if defined(FX_UNCOMMENTED)
#  define FX_BARE 1
#else
#  define FX_BARE 2
#endif

/* One comment, a run of macros: FX_ONE and FX_TWO. */
#define FX_ONE 1
#define FX_TWO 2

#define FX_ALONE 3

#define FX_TRAILING 4 /* a comment after a macro documents it */

/* ---- a banner documents nothing ---- */
FX_API int fx_under_banner(void);

/* ======================================================================================
 * Nor does a banner between rules
 * ====================================================================================== */
FX_API int fx_under_rule(void);

/* A comment followed by a blank line documents nothing. */

FX_API int fx_after_blank(void);

/* Documents fx_a and, in a run, fx_b. */
FX_API int fx_a(void);
FX_API int fx_b(void);
/* Documents fx_c and fx_d; it ends the run of fx_a. */
FX_API int fx_c(void);
FX_API int fx_d(void);

FX_API int fx_e(void);

int fx_slashed(void); // a line comment documents nothing

/** A doxygen comment counts as a plain one: e.g. this, with \x80, @ and '.' in it. */
FX_API const char *fx_text(void);

/* An opaque handle and a function pointer type. */
typedef struct fx_handle fx_handle;
typedef int (*fx_visit_fn)(void *arg, const char *text);

typedef struct fx_bare fx_bare;


FX_API int fx_handle_new(fx_handle **out);
FX_API void fx_handle_free(fx_handle *h);
FX_API void fx_bare_free(void *p);

/* A versioned struct: its version macro, initializer and init function need no comment. */
typedef struct fx_options {
    uint32_t version;        /* FX_OPTIONS_VERSION */
    /* A leading comment documents a field, and the run below it. */
    int64_t lead;
    int64_t lead_run;
    int64_t after_trailing;  /* a trailing comment documents its field only */
    int64_t no_comment;
    size_t rows, cols;       /* a comment documents every declarator */
    size_t width, height;
    /* Several declarators under a leading comment. */
    const int64_t *a, *b;
    int (*callback)(void *user, uint64_t done); /* a function pointer field */
    void *(*bare_fn)(void *user, size_t size);
} fx_options;

#define FX_OPTIONS_VERSION 1u
#define FX_OPTIONS_INIT { FX_OPTIONS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL }

FX_API int fx_options_init(fx_options *opts, uint32_t version);

/* Not versioned: its first field is not `uint32_t version`. */
typedef struct fx_plain {
    int32_t x; /* x */
} fx_plain;

#define FX_PLAIN_VERSION 1u

FX_API int fx_plain_init(fx_plain *p, uint32_t version);

typedef struct fx_undocumented {
    int32_t y; /* y */
} fx_undocumented;

/* Values of an enum. */
typedef enum fx_kind {
    FX_KIND_NONE = 0,
    FX_KIND_ONE = 1,  /* one */
    FX_KIND_TWO = 2,  /* a trailing comment that goes on
                         to a second line */
    FX_KIND_THREE = 3
} fx_kind;

/*
 * A table in a comment is shown as written:
 *
 *   column  unit
 *   day     days since 1970-01-01
 *
 * and the text goes on.
 */
FX_API int fx_table(void);

#endif /* FIXTURE_H */
