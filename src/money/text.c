/* Decimal text to and from scaled integers: money in minor units, sp_dec in 10^-9. */
#include <string.h>

#include "../core/internal.h"
#include "numeric.h"

/* How much of the offending text a message quotes. */
#define QUOTE_MAX 80

static int quote_len(size_t len)
{
    return len < QUOTE_MAX ? (int)len : QUOTE_MAX;
}

static int syntax_error(sp_ctx *ctx, const char *what, const char *text, size_t len, size_t at,
                        const char *problem)
{
    return spi_fail(ctx, SP_EINVAL, "%s: \"%.*s\": %s at byte %zu", what, quote_len(len), text,
                    problem, at);
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int spi_parse_fixed(sp_ctx *ctx, const char *what, const char *text, size_t text_len,
                    int frac_digits, bool percent, uint32_t flags, uint32_t mode, int64_t *out)
{
    if (text == NULL || out == NULL)
        return spi_fail(ctx, SP_EINVAL, "%s: %s is NULL", what, text == NULL ? "text" : "out");
    if (!spi_rounding_valid(mode))
        return spi_fail(ctx, SP_EINVAL, "%s: unknown rounding mode %d", what, (int)mode);
    size_t len = text_len;
    if (percent && len > 0 && text[len - 1] == '%')
        len--;
    size_t i = 0;
    bool negative = false;
    if (i < len && (text[i] == '-' || text[i] == '+'))
        negative = text[i++] == '-';

    spi_u128 mag = 0;
    bool overflow = false;
    size_t group = 0, int_digits = 0;
    bool grouped = false;
    for (; i < len && (is_digit(text[i]) || text[i] == ','); i++) {
        if (text[i] == ',') {
            if (!(flags & SP_TEXT_GROUPING))
                return syntax_error(ctx, what, text, text_len, i,
                                    "unexpected ',' (digit grouping needs SP_TEXT_GROUPING)");
            if (group == 0 || group > 3 || (grouped && group != 3))
                return syntax_error(ctx, what, text, text_len, i, "misplaced ','");
            grouped = true;
            group = 0;
            continue;
        }
        group++;
        int_digits++;
        mag = mag * 10u + (unsigned)(text[i] - '0');
        if (mag > INT64_MAX) {
            overflow = true;
            mag = INT64_MAX; /* keep scanning for syntax errors without growing */
        }
    }
    if (int_digits == 0)
        return syntax_error(ctx, what, text, text_len, i, "expected a digit");
    if (grouped && group != 3)
        return syntax_error(ctx, what, text, text_len, i, "misplaced ','");

    int frac = 0;
    int first_excess = 0;
    bool rest_nonzero = false, excess = false;
    if (i < len && text[i] == '.') {
        i++;
        size_t start = i;
        for (; i < len && is_digit(text[i]); i++) {
            int d = text[i] - '0';
            if (frac < frac_digits) {
                mag = mag * 10u + (unsigned)d;
                if (mag > INT64_MAX) {
                    overflow = true;
                    mag = INT64_MAX;
                }
                frac++;
            } else if (!excess) {
                excess = true;
                first_excess = d;
            } else if (d != 0) {
                rest_nonzero = true;
            }
        }
        if (i == start)
            return syntax_error(ctx, what, text, text_len, i, "expected a digit after '.'");
    }
    if (i != len)
        return syntax_error(ctx, what, text, text_len, i, "unexpected character");

    for (; frac < frac_digits; frac++) {
        mag *= 10u;
        if (mag > INT64_MAX) {
            overflow = true;
            mag = INT64_MAX;
        }
    }
    bool inexact = excess && (first_excess != 0 || rest_nonzero);
    if (inexact && !(flags & SP_TEXT_ROUND))
        return spi_fail(ctx, SP_EINVAL,
                        "%s: \"%.*s\" has more than %d fractional digits (pass SP_TEXT_ROUND "
                        "to round)",
                        what, quote_len(text_len), text, frac_digits);
    int half = first_excess > 5 ? 1 : first_excess < 5 ? -1 : rest_nonzero ? 1 : 0;
    if (spi_round_away(mode, negative, half, inexact, (mag & 1u) != 0))
        mag += 1;
    if (overflow || mag > INT64_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, "%s: \"%.*s\" is out of range", what,
                        quote_len(text_len), text);
    *out = negative ? -(int64_t)mag : (int64_t)mag;
    return SP_OK;
}

int spi_format_fixed(int64_t value, int frac_digits, bool trim, bool grouping,
                        const char *suffix, char *buf, size_t cap, size_t *len)
{
    char tmp[SP_TEXT_MAX];
    size_t pos = sizeof tmp;
    uint64_t mag = value < 0 ? (uint64_t)(-(value + 1)) + 1u : (uint64_t)value;
    uint64_t ipart = mag, fpart = 0;
    if (frac_digits > 0) { /* integers (the record writer's most values) divide by nothing */
        const uint64_t scale = (uint64_t)spi_pow10(frac_digits);
        ipart = mag / scale;
        fpart = mag % scale;
    }

    tmp[--pos] = '\0';
    for (size_t s = suffix[0] != '\0' ? strlen(suffix) : 0; s > 0; s--)
        tmp[--pos] = suffix[s - 1];
    int shown = frac_digits;
    while (trim && shown > 0 && fpart % 10 == 0) {
        fpart /= 10;
        shown--;
    }
    if (shown > 0) {
        for (int k = 0; k < shown; k++, fpart /= 10)
            tmp[--pos] = (char)('0' + fpart % 10);
        tmp[--pos] = '.';
    }
    int digits = 0;
    /* Two digits a step where no separator can fall between them (the record writer's
     * integers and decimals take this path). */
    static const char pairs[] = "00010203040506070809101112131415161718192021222324252627282930"
                                "31323334353637383940414243444546474849505152535455565758596061"
                                "62636465666768697071727374757677787980818283848586878889909192"
                                "93949596979899";
    while (!grouping && ipart >= 100) {
        const unsigned two = (unsigned)(ipart % 100) * 2;
        ipart /= 100;
        tmp[--pos] = pairs[two + 1];
        tmp[--pos] = pairs[two];
    }
    do {
        if (grouping && digits > 0 && digits % 3 == 0)
            tmp[--pos] = ',';
        tmp[--pos] = (char)('0' + ipart % 10);
        ipart /= 10;
        digits++;
    } while (ipart > 0);
    if (value < 0)
        tmp[--pos] = '-';

    size_t n = sizeof tmp - pos; /* including the NUL */
    if (len != NULL)
        *len = n - 1;
    if (buf == NULL || cap < n)
        return SP_EBUFFER;
    memcpy(buf, tmp + pos, n);
    return SP_OK;
}

static bool exponent_valid(int32_t exponent)
{
    return exponent >= 0 && exponent <= SP_MONEY_MAX_EXPONENT;
}

/* The flags each text function takes; any other bit is refused, so that a flag meant for
 * another function (or a newer library) is never silently ignored. */
#define TEXT_FLAGS_KNOWN ((uint32_t)(SP_TEXT_GROUPING | SP_TEXT_ROUND | SP_TEXT_PERCENT))
#define MONEY_PARSE_FLAGS ((uint32_t)(SP_TEXT_GROUPING | SP_TEXT_ROUND))
#define DEC_PARSE_FLAGS TEXT_FLAGS_KNOWN
#define MONEY_FORMAT_FLAGS ((uint32_t)SP_TEXT_GROUPING)
#define DEC_FORMAT_FLAGS ((uint32_t)(SP_TEXT_GROUPING | SP_TEXT_PERCENT))

static int check_parse_flags(sp_ctx *ctx, const char *what, uint32_t flags, uint32_t accepted)
{
    static const char *const names[] = { "SP_TEXT_GROUPING", "SP_TEXT_ROUND", "SP_TEXT_PERCENT" };
    uint32_t unknown = flags & ~TEXT_FLAGS_KNOWN, refused = flags & ~accepted;
    if (unknown != 0)
        return spi_fail(ctx, SP_EINVAL, "%s: unknown flag bits 0x%x (flags 0x%x)", what,
                        (unsigned)unknown, (unsigned)flags);
    for (unsigned b = 0; b < sizeof names / sizeof names[0]; b++)
        if (refused & (1u << b))
            return spi_fail(ctx, SP_EINVAL, "%s: %s does not apply to %s (flags 0x%x)", what,
                            names[b], what, (unsigned)flags);
    return SP_OK;
}

/* Arguments of a format function; buf NULL with cap 0 is a length query (SP_EBUFFER). */
static bool format_args_valid(uint32_t flags, uint32_t accepted, const char *buf, size_t cap)
{
    return (flags & ~accepted) == 0 && (buf != NULL || cap == 0);
}

int sp_money_parse(sp_ctx *ctx, const char *text, int32_t exponent, uint32_t flags,
                   uint32_t mode, int64_t *out)
{
    if (!exponent_valid(exponent))
        return spi_fail(ctx, SP_EINVAL, "money: exponent %d is outside 0..%d", (int)exponent,
                        SP_MONEY_MAX_EXPONENT);
    int rc = check_parse_flags(ctx, "money", flags, MONEY_PARSE_FLAGS);
    if (rc != SP_OK)
        return rc;
    return spi_parse_fixed(ctx, "money", text, text != NULL ? strlen(text) : 0, (int)exponent,
                           false, flags, mode, out);
}

int sp_dec_parse(sp_ctx *ctx, const char *text, uint32_t flags, uint32_t mode, sp_dec *out)
{
    int rc = check_parse_flags(ctx, "decimal", flags, DEC_PARSE_FLAGS);
    if (rc != SP_OK)
        return rc;
    /* A percentage has two fewer fractional digits: "3.5%" is 0.035. */
    bool percent = (flags & SP_TEXT_PERCENT) != 0;
    return spi_parse_fixed(ctx, "decimal", text, text != NULL ? strlen(text) : 0,
                           SP_DEC_DIGITS - (percent ? 2 : 0), percent, flags, mode, out);
}

int sp_money_format(int64_t amount, int32_t exponent, uint32_t flags, char *buf, size_t cap,
                    size_t *len)
{
    if (!exponent_valid(exponent) || !format_args_valid(flags, MONEY_FORMAT_FLAGS, buf, cap))
        return SP_EINVAL;
    return spi_format_fixed(amount, (int)exponent, false, (flags & SP_TEXT_GROUPING) != 0, "",
                            buf, cap, len);
}

int sp_dec_format(sp_dec value, uint32_t flags, char *buf, size_t cap, size_t *len)
{
    if (!format_args_valid(flags, DEC_FORMAT_FLAGS, buf, cap))
        return SP_EINVAL;
    bool percent = (flags & SP_TEXT_PERCENT) != 0;
    return spi_format_fixed(value, SP_DEC_DIGITS - (percent ? 2 : 0), true,
                            (flags & SP_TEXT_GROUPING) != 0, percent ? "%" : "", buf, cap, len);
}

const char *spi_dec_text(sp_dec value, char buf[SP_TEXT_MAX])
{
    (void)spi_format_fixed(value, SP_DEC_DIGITS, true, false, "", buf, SP_TEXT_MAX, NULL);
    return buf;
}

const char *spi_percent_text(sp_dec value, char buf[SP_TEXT_MAX])
{
    (void)spi_format_fixed(value, SP_DEC_DIGITS - 2, true, false, "%", buf, SP_TEXT_MAX, NULL);
    return buf;
}
