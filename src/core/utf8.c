/*
 * UTF-8 validation (the well-formed byte sequences of Unicode table 3-7) and quoting of
 * host text in error messages: every module that takes host strings uses these.
 */
#include <string.h>

#include "internal.h"

static bool cont(uint8_t b)
{
    return (b & 0xC0u) == 0x80u;
}

size_t spi_utf8_seq(const uint8_t *s, const uint8_t *end, const char **why)
{
    uint8_t b = s[0];
    size_t need;
    uint8_t lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b < 0x80) {
        return 1;
    } else if (b < 0xC0) {
        *why = "unexpected continuation byte";
        return 0;
    } else if (b < 0xC2) {
        *why = "overlong encoding";
        return 0;
    } else if (b < 0xE0) {
        need = 2;
    } else if (b < 0xF0) {
        need = 3;
        if (b == 0xE0)
            lo = 0xA0; /* E0 80..9F would be overlong */
        else if (b == 0xED)
            hi = 0x9F; /* ED A0..BF would encode a surrogate */
    } else if (b < 0xF5) {
        need = 4;
        if (b == 0xF0)
            lo = 0x90; /* F0 80..8F would be overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* F4 90.. would be above U+10FFFF */
    } else {
        *why = b < 0xF8 ? "code point above U+10FFFF" : "byte never used in UTF-8";
        return 0;
    }
    size_t avail = (size_t)(end - s);
    if (avail < 2 || !cont(s[1])) {
        *why = "truncated sequence";
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        *why = b == 0xED ? "encoded surrogate (U+D800..U+DFFF)"
               : b == 0xF4 ? "code point above U+10FFFF"
                           : "overlong encoding";
        return 0;
    }
    for (size_t k = 2; k < need; k++) {
        if (k >= avail || !cont(s[k])) {
            *why = "truncated sequence";
            return 0;
        }
    }
    return need;
}

#define HIGH_BITS UINT64_C(0x8080808080808080)

bool spi_utf8_check(const uint8_t *s, size_t len, size_t *bad, const char **why)
{
    const uint8_t *p = s, *end = s + len;
    const char *reason = NULL;
    while (p < end) {
        /* Eight ASCII bytes at a time: the common case of ids and names. */
        if (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, sizeof v);
            if ((v & HIGH_BITS) == 0) {
                p += 8;
                continue;
            }
        }
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = spi_utf8_seq(p, end, &reason);
        if (k == 0) {
            if (bad != NULL)
                *bad = (size_t)(p - s);
            if (why != NULL)
                *why = reason;
            return false;
        }
        p += k;
    }
    return true;
}

const char *spi_quote(char *buf, const void *text, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = text;
    size_t o = 0, i = 0;
    buf[o++] = '"';
    while (i < len) {
        const char *why;
        size_t n = s[i] != 0 ? spi_utf8_seq(s + i, s + len, &why) : 0;
        if (i + (n > 0 ? n : 1) > SPI_QUOTE_MAX)
            break;
        if (n > 1) {
            memcpy(buf + o, s + i, n);
            o += n;
            i += n;
            continue;
        }
        unsigned char c = s[i++];
        if (n == 1 && c >= 0x20 && c != 0x7F) {
            if (c == '"' || c == '\\')
                buf[o++] = '\\';
            buf[o++] = (char)c;
        } else {
            buf[o++] = '\\';
            buf[o++] = 'x';
            buf[o++] = hex[c >> 4];
            buf[o++] = hex[c & 15];
        }
    }
    buf[o++] = '"';
    if (i < len) {
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}
