/*
 * salesplan-demo: the end-to-end demo behind `sh tools/run.sh demo`.
 *
 * Generates a company with regions and last year's sales (seeded, so every run prints the
 * same), then splits next year's target over the regions by last year's sales: one region
 * held at a negotiated figure, every region bounded to grow at least -5 % and at most its
 * own cap (10 % to 30 %, set by its market), rounded to whole thousands, and checks that the
 * parts sum to the company target.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <salesplan/salesplan.h>

#define MAX_REGIONS 64

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int fail(sp_ctx *ctx, const char *what, int rc)
{
    fprintf(stderr, "salesplan-demo: %s: %s (%s)\n", what, sp_strerror(rc),
            ctx != NULL ? sp_ctx_errmsg(ctx) : "");
    return 1;
}

static void print_money(const char *label, int64_t amount, int32_t exponent)
{
    char text[SP_TEXT_MAX];
    sp_money_format(amount, exponent, SP_TEXT_GROUPING, text, sizeof text, NULL);
    printf("%-26s %20s\n", label, text);
}

int main(int argc, char **argv)
{
    uint64_t seed = 2026;
    size_t regions = 8;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--regions") == 0 && i + 1 < argc)
            regions = strtoul(argv[++i], NULL, 10);
        else {
            fprintf(stderr, "usage: salesplan-demo [--seed N] [--regions 2..%d]\n", MAX_REGIONS);
            return 2;
        }
    }
    if (regions < 2 || regions > MAX_REGIONS) {
        fprintf(stderr, "salesplan-demo: --regions must be 2..%d\n", MAX_REGIONS);
        return 2;
    }

    sp_ctx *ctx = NULL;
    int rc = sp_ctx_new(&ctx, NULL);
    if (rc != SP_OK)
        return fail(NULL, "creating a context", rc);
    int32_t exponent;
    if ((rc = sp_currency_exponent("CNY", &exponent)) != SP_OK)
        return fail(ctx, "currency", rc);

    /* Last year's sales per region: 2 to 12 million yuan, in fen. */
    int64_t last_year[MAX_REGIONS], min[MAX_REGIONS], max[MAX_REGIONS], target[MAX_REGIONS];
    int64_t last_total = 0;
    for (size_t r = 0; r < regions; r++) {
        last_year[r] = (int64_t)(200000000 + next_random(&seed) % 1000000000);
        last_total += last_year[r];
    }
    /* Company target: last year plus 12 %, rounded half-even to whole yuan. */
    int64_t company;
    if ((rc = sp_money_mul_dec(last_total, 1120000000, SP_ROUND_HALF_EVEN, &company)) != SP_OK ||
        (rc = sp_money_round_to(company, 100, SP_ROUND_HALF_EVEN, &company)) != SP_OK)
        return fail(ctx, "company target", rc);
    /* Growth bounds per region: at least -5 %, at most the region's cap of 10 % to 30 %. */
    for (size_t r = 0; r < regions; r++) {
        sp_dec cap = 1100000000 + (sp_dec)(next_random(&seed) % 21) * 10000000;
        if ((rc = sp_money_mul_dec(last_year[r], 950000000, SP_ROUND_CEILING, &min[r])) != SP_OK ||
            (rc = sp_money_mul_dec(last_year[r], cap, SP_ROUND_FLOOR, &max[r])) != SP_OK)
            return fail(ctx, "growth bounds", rc);
    }
    /* Region 1 agreed its number in person: held, entered as text. */
    uint8_t locked[MAX_REGIONS] = { 0 };
    int64_t locked_value[MAX_REGIONS] = { 0 };
    locked[0] = 1;
    if ((rc = sp_money_parse(ctx, "6,500,000.00", exponent, SP_TEXT_GROUPING, SP_ROUND_HALF_EVEN,
                             &locked_value[0])) != SP_OK)
        return fail(ctx, "held target", rc);

    sp_alloc_options opts = SP_ALLOC_OPTIONS_INIT;
    opts.min = min;
    opts.max = max;
    opts.locked = locked;
    opts.locked_value = locked_value;
    opts.unit = 100000; /* whole thousands of yuan */
    if ((rc = sp_allocate(ctx, company, last_year, regions, &opts, target)) != SP_OK)
        return fail(ctx, "splitting the company target", rc);

    printf("salesplan %s demo: company target over %zu regions (CNY)\n\n", sp_version_string(),
           regions);
    printf("%-8s %20s %20s %9s\n", "region", "last year", "target", "growth");
    int64_t check = 0;
    for (size_t r = 0; r < regions; r++) {
        char last[SP_TEXT_MAX], tgt[SP_TEXT_MAX], growth[SP_TEXT_MAX];
        sp_dec ratio;
        if ((rc = sp_dec_div(target[r] - last_year[r], last_year[r], SP_ROUND_HALF_EVEN, &ratio)) !=
                SP_OK ||
            (rc = sp_money_round_to(ratio, 1000000, SP_ROUND_HALF_EVEN, &ratio)) != SP_OK)
            return fail(ctx, "growth", rc);
        sp_money_format(last_year[r], exponent, SP_TEXT_GROUPING, last, sizeof last, NULL);
        sp_money_format(target[r], exponent, SP_TEXT_GROUPING, tgt, sizeof tgt, NULL);
        /* The ratio is rounded to 0.001, which shows as a percent with one decimal. */
        sp_dec_format(ratio, SP_TEXT_PERCENT, growth, sizeof growth, NULL);
        /* A capped region sits within one rounding unit of its maximum. */
        const char *note = locked[r] ? "  held" : max[r] - target[r] < opts.unit ? "  at cap" : "";
        printf("R%-7zu %20s %20s %9s%s\n", r + 1, last, tgt, growth, note);
        check += target[r];
    }
    printf("\n");
    print_money("last year, all regions", last_total, exponent);
    print_money("company target (+12 %)", company, exponent);
    print_money("sum of region targets", check, exponent);
    printf("\n%s\n", check == company ? "parts sum exactly to the company target"
                                      : "MISMATCH: parts do not sum to the target");
    sp_ctx_free(ctx);
    return check == company ? 0 : 1;
}
