/*
 * A host-made fact source over plain C arrays: the host's order lines (string rep ids,
 * civil dates, amounts in fen) become columnar batches with dense rep indices.
 *
 * 1. Map the host's rep ids to dense indices once, through an sp_dict.
 * 2. Hand the arrays out as batches of three rows from the source's scan callback.
 * 3. Check the source the way the library reads it: copy it into a memory fact source,
 *    whose append applies the library's batch checks.
 * 4. Read January 2026 the way a library module does (a sink per batch, days in
 *    [from_day, to_day)) and print the total per rep.
 *
 * Worked by hand (amounts in CNY; January is [2026-01-01, 2026-02-01) = days
 * [20454, 20485): 2025-12-30 and 2026-02-01 fall outside, 2026-01-01 and 2026-01-31 in):
 *   王伟 2,500.50 (01-05) + 1,000.00 (01-01)  = 3,500.50
 *   李娜 1,200.00 (01-02) +   300.00 (01-31)  = 1,500.00
 *   张敏   999.99 (01-15) +    50.01 (01-20)  = 1,050.00
 *   total 6,050.50 in 6 of the 8 lines; 8 lines in batches of 3 are 3 batches.
 */
#include <stdio.h>
#include <string.h>

#include <salesplan/salesplan.h>

#define LINES 8

/* The host's own data, as an ERP would hold it. */
static const uint64_t line_id[LINES] = { 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008 };
static const char *const line_rep[LINES] = { "王伟", "李娜", "王伟", "张敏",
                                             "李娜", "王伟", "张敏", "王伟" };
static const char *const line_date[LINES] = { "2025-12-30", "2026-01-02", "2026-01-05",
                                              "2026-01-15", "2026-01-31", "2026-02-01",
                                              "2026-01-20", "2026-01-01" };
static const int64_t line_fen[LINES] = { 80000, 120000, 250050, 99999, 30000, 400000, 5001,
                                         100000 };

/* Days since 1970-01-01 of a proleptic Gregorian date (what SQL's date functions give). */
static int32_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + doe - 719468);
}

/* The columns the source hands out, made once from the host's rows. */
typedef struct host_source {
    uint32_t rep[LINES];
    int32_t day[LINES];
} host_source;

static int host_scan(void *user, const sp_fact_query *query, sp_fact_sink_fn sink, void *arg)
{
    const host_source *h = user;
    if (query->kind != SP_FACT_ORDER_LINES)
        return 0; /* this host has no other facts */
    for (size_t start = 0; start < LINES; start += 3) {
        sp_fact_batch b = SP_FACT_BATCH_INIT;
        b.kind = SP_FACT_ORDER_LINES;
        b.count = LINES - start < 3 ? LINES - start : 3;
        b.id = line_id + start;
        b.day = h->day + start;
        b.rep = h->rep + start;
        b.amount = line_fen + start;
        int rc = sink(arg, &b);
        if (rc != 0)
            return rc; /* the sink's status, unchanged */
    }
    return 0;
}

/* Copy every batch into a memory fact source: its append checks each one. */
static int copy_batch(void *arg, const sp_fact_batch *batch)
{
    return sp_fact_source_memory_append(arg, batch);
}

/* What a module does with each batch: sum the amounts per rep for days in range. */
typedef struct totals {
    int32_t from, to;
    int64_t by_rep[LINES];
    size_t batches, rows;
} totals;

static int add_batch(void *arg, const sp_fact_batch *b)
{
    totals *t = arg;
    t->batches++;
    for (size_t i = 0; i < b->count; i++)
        if (b->day[i] >= t->from && b->day[i] < t->to) {
            t->by_rep[b->rep[i]] += b->amount[i];
            t->rows++;
        }
    return 0;
}

static int fail(sp_ctx *ctx)
{
    fprintf(stderr, "%s\n", sp_ctx_errmsg(ctx));
    return 1;
}

int main(void)
{
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 1;
    sp_dict *reps;
    if (sp_dict_new(&reps, ctx) != SP_OK)
        return fail(ctx);

    /* Ids to indices once; the batches carry only the indices. */
    host_source h;
    for (int i = 0; i < LINES; i++) {
        int y, m, d;
        sscanf(line_date[i], "%d-%d-%d", &y, &m, &d);
        h.day[i] = days_from_civil(y, m, d);
        if (sp_dict_intern(reps, line_rep[i], strlen(line_rep[i]), &h.rep[i]) != SP_OK)
            return fail(ctx);
    }
    sp_fact_source source;
    sp_fact_source_init(&source, SP_FACT_SOURCE_VERSION);
    source.user = &h;
    source.scan = host_scan;

    /* Check the source against the library's rules. */
    sp_fact_source *copy;
    if (sp_fact_source_memory_new(&copy, ctx) != SP_OK)
        return fail(ctx);
    sp_fact_query all = { SP_FACT_QUERY_VERSION, SP_FACT_ORDER_LINES, INT32_MIN, INT32_MAX };
    if (source.scan(source.user, &all, copy_batch, copy) != 0)
        return fail(ctx);
    printf("source checked: %d order lines, %zu reps\n", LINES, sp_dict_count(reps));

    /* A broken batch shows what the checks say. */
    sp_fact_batch bad = SP_FACT_BATCH_INIT;
    bad.kind = SP_FACT_ORDER_LINES;
    bad.count = 3;
    bad.id = line_id;
    bad.day = h.day;
    bad.rep = h.rep;
    if (sp_fact_source_memory_append(copy, &bad) != SP_OK)
        printf("refused: %s\n", sp_ctx_errmsg(ctx));

    /* January 2026, as a module reads it. */
    totals t = { .from = days_from_civil(2026, 1, 1), .to = days_from_civil(2026, 2, 1) };
    sp_fact_query january = { SP_FACT_QUERY_VERSION, SP_FACT_ORDER_LINES, t.from, t.to };
    if (source.scan(source.user, &january, add_batch, &t) != 0)
        return fail(ctx);
    printf("January 2026 (days %d to %d), %zu lines in %zu batches:\n", (int)t.from,
           (int)t.to - 1, t.rows, t.batches);
    int64_t sum = 0;
    for (uint32_t r = 0; r < sp_dict_count(reps); r++) {
        const char *name;
        char text[SP_TEXT_MAX];
        sp_dict_id(reps, r, &name, NULL);
        sp_money_format(t.by_rep[r], 2, SP_TEXT_GROUPING, text, sizeof text, NULL);
        printf("  %s %s\n", name, text);
        sum += t.by_rep[r];
    }
    char text[SP_TEXT_MAX];
    sp_money_format(sum, 2, SP_TEXT_GROUPING, text, sizeof text, NULL);
    printf("  total %s\n", text);

    sp_fact_source_free(copy);
    sp_dict_free(reps);
    sp_ctx_free(ctx);
    return 0;
}
