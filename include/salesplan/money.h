/*
 * salesplan/money.h - exact money and decimal arithmetic, rounding, exact allocation.
 *
 * Money is int64_t in minor units (cents, fen) of a currency with a known number of minor
 * digits, its exponent (ISO 4217: 0 for JPY, 2 for CNY/USD/EUR, 3 for KWD).
 * Rates, percentages, weights and multipliers are sp_dec: int64_t holding value * 10^9.
 * No floating point is used anywhere in this module. Every function that can lose
 * precision takes an explicit rounding mode; docs/money.md has the formulas.
 */
#ifndef SALESPLAN_MONEY_H
#define SALESPLAN_MONEY_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A decimal fixed-point number: the value times 10^9 (3.5 % = 0.035 = 35000000). */
typedef int64_t sp_dec;

/* The fractional digits of an sp_dec, and 1 as an sp_dec. */
#define SP_DEC_DIGITS 9
#define SP_DEC_ONE INT64_C(1000000000)

/* Largest currency exponent accepted anywhere (10^18 still fits int64_t). */
#define SP_MONEY_MAX_EXPONENT 18

/* Rounding modes. Values are frozen. Functions take a mode as `uint32_t mode` (the
 * conventions: enum parameters are fixed-width), one of these values. */
typedef enum sp_rounding {
    SP_ROUND_HALF_EVEN = 0, /* nearest; ties to the even neighbour (banker's); the default */
    SP_ROUND_HALF_UP = 1,   /* nearest; ties away from zero (commercial) */
    SP_ROUND_HALF_DOWN = 2, /* nearest; ties toward zero */
    SP_ROUND_UP = 3,        /* away from zero */
    SP_ROUND_DOWN = 4,      /* toward zero (truncate) */
    SP_ROUND_CEILING = 5,   /* toward +infinity */
    SP_ROUND_FLOOR = 6      /* toward -infinity */
} sp_rounding;

/* ---- checked integer arithmetic (money and sp_dec share the int64_t representation) ---- */

/* *out = a + b, a - b, a * n. SP_EOVERFLOW when the exact result does not fit. */
SP_API int sp_money_add(int64_t a, int64_t b, int64_t *out);
SP_API int sp_money_sub(int64_t a, int64_t b, int64_t *out);
SP_API int sp_money_mul(int64_t a, int64_t n, int64_t *out);

/*
 * *out = round(a * b / c) under `mode`, with an exact 128-bit intermediate.
 * SP_EINVAL when c is 0 or the mode is unknown; SP_EOVERFLOW when the result does not fit.
 * This is the one rounding primitive; the functions below are named forms of it.
 */
SP_API int sp_muldiv(int64_t a, int64_t b, int64_t c, uint32_t mode, int64_t *out);
/* *out = round(a / b). */
SP_API int sp_div_round(int64_t a, int64_t b, uint32_t mode, int64_t *out);
/* Money times a rate: round(amount * rate / 10^9), e.g. a commission of 3.5 %. */
SP_API int sp_money_mul_dec(int64_t amount, sp_dec rate, uint32_t mode, int64_t *out);
/* Product and quotient of two decimals: round(a * b / 10^9), round(a * 10^9 / b).
 * sp_dec_div also gives the ratio of two money amounts, e.g. attainment = actual / target. */
SP_API int sp_dec_mul(sp_dec a, sp_dec b, uint32_t mode, sp_dec *out);
SP_API int sp_dec_div(int64_t a, int64_t b, uint32_t mode, sp_dec *out);

/* Change the exponent of an amount (e.g. 2 -> 0 rounds cents to whole units). */
SP_API int sp_money_rescale(int64_t amount, int32_t from_exponent, int32_t to_exponent,
                            uint32_t mode, int64_t *out);
/* Round an amount to a multiple of `unit` (> 0), e.g. to the nearest 100.00 with unit 10000. */
SP_API int sp_money_round_to(int64_t amount, int64_t unit, uint32_t mode, int64_t *out);

/* ISO 4217 minor-unit exponent of an alphabetic currency code ("CNY" -> 2, "JPY" -> 0,
 * "KWD" -> 3). SP_ENOTFOUND for a code not in the table (docs/money.md lists it). */
SP_API int sp_currency_exponent(const char *code, int32_t *out);

/* ---- text ---- */

/* Flags for the text functions. Each function takes only the flags that apply to it (see
 * below); any other bit, known or not, is SP_EINVAL rather than silently ignored. */
typedef enum sp_text_flags {
    SP_TEXT_DEFAULT = 0,  /* none of the flags below */
    SP_TEXT_GROUPING = 1, /* parse: accept ',' between groups of three integer digits;
                             format: write them */
    SP_TEXT_ROUND = 2,    /* parse: round digits beyond the precision by `mode` instead of
                             rejecting the text */
    SP_TEXT_PERCENT = 4   /* sp_dec only: the text is a percentage ("3.5" or "3.5%" is
                             0.035); format writes the value times 100 followed by '%' */
} sp_text_flags;

/* Longest text the format functions write, including the terminating NUL. */
#define SP_TEXT_MAX 64

/*
 * Parse decimal text: an optional '-' or '+', at least one digit, optionally '.' and at
 * least one more digit. No spaces, no exponent, no currency symbol; ',' only with
 * SP_TEXT_GROUPING and then exactly between groups of three digits ("1,234.56").
 * More fractional digits than the precision allows are an error unless SP_TEXT_ROUND.
 * Flags: SP_TEXT_GROUPING and SP_TEXT_ROUND; sp_dec_parse also SP_TEXT_PERCENT.
 * Errors: SP_EINVAL (message names the text and the byte offset, or the refused flag bits),
 * SP_EOVERFLOW.
 */
SP_API int sp_money_parse(sp_ctx *ctx, const char *text, int32_t exponent, uint32_t flags,
                          uint32_t mode, int64_t *out);
SP_API int sp_dec_parse(sp_ctx *ctx, const char *text, uint32_t flags, uint32_t mode,
                        sp_dec *out);

/*
 * Format into `buf` (NUL-terminated). Money always shows `exponent` fractional digits
 * ("-1234.50"); decimals show no trailing zeros ("0.035", "12"). `*len` (may be NULL)
 * receives the length without the NUL. SP_EBUFFER when `cap` is too small (SP_TEXT_MAX
 * always suffices); `*len` then still receives the length and `buf` is left untouched,
 * so buf NULL with cap 0 asks for the length, like snprintf.
 * Flags: SP_TEXT_GROUPING; sp_dec_format also SP_TEXT_PERCENT.
 * SP_EINVAL (nothing written) for any other flag bit, SP_TEXT_ROUND included, for buf NULL
 * with cap > 0, and for an exponent outside 0..SP_MONEY_MAX_EXPONENT.
 */
SP_API int sp_money_format(int64_t amount, int32_t exponent, uint32_t flags, char *buf,
                           size_t cap, size_t *len);
SP_API int sp_dec_format(sp_dec value, uint32_t flags, char *buf, size_t cap, size_t *len);

/* ---- exact allocation ---- */

/*
 * Options of sp_allocate. Every array, when not NULL, has one entry per part.
 * "No bound" for one part in an array: INT64_MAX in max and 0 in min (for a positive
 * total); -INT64_MAX in min and 0 in max (for a negative total). INT64_MIN is refused.
 */
typedef struct sp_alloc_options {
    uint32_t version;            /* SP_ALLOC_OPTIONS_VERSION */
    const int64_t *min;          /* lower bound per part; NULL: none */
    const int64_t *max;          /* upper bound per part; NULL: none; INT64_MAX: none */
    const uint8_t *locked;       /* part i is locked when locked[i] != 0; NULL: none */
    const int64_t *locked_value; /* the fixed value of each locked part */
    int64_t unit;                /* 0 or 1: minor units; > 1: granularity (see below) */
} sp_alloc_options;

#define SP_ALLOC_OPTIONS_VERSION 1u
#define SP_ALLOC_OPTIONS_INIT { SP_ALLOC_OPTIONS_VERSION, NULL, NULL, NULL, NULL, 0 }

SP_API int sp_alloc_options_init(sp_alloc_options *opts, uint32_t version);

/*
 * Split `total` into `n` parts proportional to `weights` (>= 0; NULL means equal weights),
 * writing out[0..n-1], which always sum exactly to `total`.
 *
 *  - Locked parts take their locked_value; the rest R = total - sum(locked) is spread over
 *    the unlocked parts. R must not have the opposite sign of `total`.
 *  - Parts carry the sign of R. Each unlocked part gets clamp(L * w_i, min_i, max_i) for
 *    the one common factor L that makes the parts sum to R (bounds that cannot bind are
 *    ignored: a negative min for a positive R). A zero-weight part gets its bound nearest
 *    zero (nothing, unless a minimum says otherwise).
 *  - Exact shares are floored toward zero; the leftover units go one each to the largest
 *    remainders; equal remainders go to the lowest index first.
 *  - With unit > 1, unlocked parts are multiples of `unit` (bounds rounded inward), except
 *    that R mod unit goes to the unlocked part of positive weight with the largest value
 *    (lowest index on ties) that can take it within its max. A zero-weight part keeps
 *    exactly its bound nearest zero (rounded to the unit), however large it is.
 *  - A negative total mirrors a positive one: allocate(-T, w, min=-M, max=-m) equals
 *    -allocate(T, w, min=m, max=M).
 *
 * Errors (out untouched; the message names the part or bound): SP_EINVAL for n == 0 with a
 * non-zero total, a negative weight, min above max, locked parts beyond the total,
 * minimums above or maximums below what is left, nothing able to take a non-zero R, no
 * part of positive weight able to take R mod unit;
 * SP_EOVERFLOW when INT64_MIN appears or the weights or bounds sum beyond int64_t;
 * SP_ENOMEM. Runs in O(n) per clamping round (one round without bounds).
 */
SP_API int sp_allocate(sp_ctx *ctx, int64_t total, const int64_t *weights, size_t n,
                       const sp_alloc_options *opts, int64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* SALESPLAN_MONEY_H */
