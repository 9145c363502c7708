/*
 * Internal numerics shared by the money module and the kernels of other modules:
 * 128-bit integers and the one rounding decision every rounded result goes through.
 */
#ifndef SPI_MONEY_NUMERIC_H
#define SPI_MONEY_NUMERIC_H

#include <stdbool.h>
#include <stdint.h>

#include "salesplan/money.h"

__extension__ typedef __int128 spi_i128;
__extension__ typedef unsigned __int128 spi_u128;

/* True for the seven modes of sp_rounding. */
bool spi_rounding_valid(uint32_t mode);

/*
 * Whether a truncated (toward zero) magnitude must move one unit away from zero.
 * `negative`: sign of the exact value; `half`: the discarded fraction compared with one
 * half (-1 below, 0 exactly half, 1 above); `inexact`: the fraction is non-zero;
 * `odd`: the truncated magnitude is odd.
 */
bool spi_round_away(uint32_t mode, bool negative, int half, bool inexact, bool odd);

/* round(n / d) for d != 0 and |n|, |d| < 2^127, by `mode`. */
spi_i128 spi_div_round_i128(spi_i128 n, spi_i128 d, uint32_t mode);

/* Greatest common divisor; gcd(a, 0) = a. */
static inline uint64_t spi_gcd_u64(uint64_t a, uint64_t b)
{
    while (b != 0) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* 10^e for 0 <= e <= 18. */
int64_t spi_pow10(int e);


/*
 * Parse text[0..text_len) (no NUL needed) into value * 10^frac_digits, by the rules of
 * docs/money.md ("Text"); `percent` accepts a trailing '%'. Errors are recorded in ctx
 * under the name `what` ("money", "decimal", or a document path).
 */
int spi_parse_fixed(sp_ctx *ctx, const char *what, const char *text, size_t text_len,
                    int frac_digits, bool percent, uint32_t flags, uint32_t mode,
                    int64_t *out);
/*
 * Write value / 10^frac_digits: '-' when negative, integer digits (',' every three with
 * `grouping`), then '.' and the fraction (trailing zeros dropped with `trim`), then
 * `suffix`. *len (may be NULL) gets the length without the NUL; SP_EBUFFER when cap is
 * too small (SP_TEXT_MAX always suffices).
 */
int spi_format_fixed(int64_t value, int frac_digits, bool trim, bool grouping,
                     const char *suffix, char *buf, size_t cap, size_t *len);

/* An sp_dec as text for messages, trailing zeros trimmed: "0.035" (spi_dec_text) or as a
 * percentage, "3.5%" (spi_percent_text). Returns buf. */
const char *spi_dec_text(sp_dec value, char buf[SP_TEXT_MAX]);
const char *spi_percent_text(sp_dec value, char buf[SP_TEXT_MAX]);

#endif /* SPI_MONEY_NUMERIC_H */
