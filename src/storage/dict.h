/*
 * Internal helpers of the dictionary that other code reuses: UTF-8 validation of host
 * text and quoting it in error messages.
 */
#ifndef SPI_STORAGE_DICT_H
#define SPI_STORAGE_DICT_H

#include <stddef.h>

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

/*
 * Check that `s[0..len)` is UTF-8 without NUL bytes: no overlong forms, no surrogates,
 * nothing above U+10FFFF, no truncated sequence. Returns 0 when it is, else 1 with *at
 * the offset of the first bad byte and *why a static description of the problem.
 */
int spi_utf8_check(const void *s, size_t len, size_t *at, const char **why);

#endif /* SPI_STORAGE_DICT_H */
