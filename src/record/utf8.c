/* UTF-8 validation by the well-formed byte sequences of Unicode table 3-7. */
#include "rdoc.h"

/* Bytes that stand for themselves in a string: printable ASCII but '"' and '\'. */
const uint8_t spi_json_plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20: '"' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50: '\' */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x70 */
};

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

bool spi_utf8_check(const uint8_t *s, size_t len, size_t *bad, const char **why)
{
    const uint8_t *p = s, *end = s + len;
    const char *reason = NULL;
    while (p < end) {
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
