/*
 * Commission crediting: split tables, payments prorated to lines, override roll-ups.
 *
 * Every allocation of a value into parts is sp_allocate's (spi_allocate_plain, on weights
 * validated here once), so splits and prorations follow the library's one rule: floors,
 * then the leftover units to the largest remainders, ties to the lowest index; a negative
 * total is the mirror image of the positive one.
 */
#include <string.h>

#include "../core/internal.h"
#include "../hierarchy/hierarchy_internal.h"
#include "../money/allocate.h"
#include "../money/numeric.h"
#include "credit.h"

#define SPLITS "commission splits: "
#define PAYMENT "commission payment: "
#define ROLLUP "commission roll-up: "


/* ==== splits ==== */

struct spi_split_table {
    sp_ctx *ctx;
    size_t nfacts;
    size_t max_parts;
    uint64_t *facts;  /* nfacts ascending fact ids */
    size_t *first;    /* nfacts + 1: the entries of facts[g] are first[g] .. first[g + 1] */
    uint32_t *payees; /* n, grouped by fact, entry order kept within a fact */
    int64_t *shares;  /* n, likewise */
};

void spi_split_table_free(spi_split_table *t)
{
    if (t == NULL)
        return;
    sp_ctx *ctx = t->ctx;
    spi_free(ctx, t->facts);
    spi_free(ctx, t->first);
    spi_free(ctx, t->payees);
    spi_free(ctx, t->shares);
    spi_free(ctx, t);
}

/*
 * order[0 .. n) = the entries by ascending fact id, equal ids in array order: an LSD
 * radix sort of (key, index) pairs, one byte per pass, skipping the bytes every key
 * shares (fact ids below 2^32 take four passes). `tmp` has room for 2n keys and n
 * indices.
 */
static void radix_order(const uint64_t *keys, size_t n, uint32_t *order, uint64_t *kbuf,
                        uint32_t *obuf)
{
    uint64_t *ka = kbuf, *kb = kbuf + n;
    uint32_t *oa = order, *ob = obuf;
    uint64_t all_or = 0, all_and = UINT64_MAX;
    for (size_t i = 0; i < n; i++) {
        ka[i] = keys[i];
        oa[i] = (uint32_t)i;
        all_or |= keys[i];
        all_and &= keys[i];
    }
    for (int shift = 0; shift < 64; shift += 8) {
        if ((((all_or ^ all_and) >> shift) & 0xFFu) == 0)
            continue; /* every key has the same byte here */
        size_t count[256] = { 0 };
        for (size_t i = 0; i < n; i++)
            count[(ka[i] >> shift) & 0xFFu]++;
        size_t pos = 0;
        for (size_t b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t d = count[(ka[i] >> shift) & 0xFFu]++;
            kb[d] = ka[i];
            ob[d] = oa[i];
        }
        uint64_t *kt = ka;
        ka = kb;
        kb = kt;
        uint32_t *ot = oa;
        oa = ob;
        ob = ot;
    }
    if (oa != order)
        memcpy(order, oa, n * sizeof *order);
}

/* The per-entry checks, in array order. */
static int check_entries(sp_ctx *ctx, const uint64_t *fact_ids, const uint32_t *payees,
                         const sp_dec *shares, size_t n, uint32_t npayees)
{
    char t[SP_TEXT_MAX];
    for (size_t i = 0; i < n; i++) {
        if (payees[i] >= npayees)
            return spi_fail(ctx, SP_EINVAL,
                            SPLITS "fact %llu: entry %zu: payee %u is not a payee (there are "
                                   "%u)",
                            (unsigned long long)fact_ids[i], i, payees[i], npayees);
        if (shares[i] < 0)
            return spi_fail(ctx, SP_EINVAL, SPLITS "fact %llu: entry %zu: share %s is negative",
                            (unsigned long long)fact_ids[i], i, spi_percent_text(shares[i], t));
        if (shares[i] > SP_DEC_ONE)
            return spi_fail(ctx, SP_EINVAL,
                            SPLITS "fact %llu: entry %zu: share %s is above 100%%",
                            (unsigned long long)fact_ids[i], i, spi_percent_text(shares[i], t));
    }
    return SP_OK;
}

int spi_split_table_new(spi_split_table **out, sp_ctx *ctx, const uint64_t *fact_ids,
                        const uint32_t *payees, const sp_dec *shares, size_t n,
                        uint32_t npayees)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, SPLITS "out is NULL");
    if (n > 0 && (fact_ids == NULL || payees == NULL || shares == NULL))
        return spi_fail(ctx, SP_EINVAL, SPLITS "%s is NULL",
                        fact_ids == NULL ? "fact_ids" : payees == NULL ? "payees" : "shares");
    if (n >= UINT32_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, SPLITS "%zu entries exceed the limit of 2^32 - 2",
                        n);
    int rc = check_entries(ctx, fact_ids, payees, shares, n, npayees);
    if (rc != SP_OK)
        return rc;

    bool sorted = true;
    for (size_t i = 1; i < n && sorted; i++)
        sorted = fact_ids[i - 1] <= fact_ids[i];
    size_t nfacts = 0;
    uint32_t *order = NULL, *seen = NULL;
    uint64_t *kbuf = NULL;
    spi_split_table *t = spi_calloc(ctx, 1, sizeof *t);
    if (t == NULL)
        return SP_ENOMEM;
    t->ctx = ctx;
    if (!sorted) {
        order = spi_malloc_array(ctx, n, 2 * sizeof *order);
        kbuf = spi_malloc_array(ctx, n, 2 * sizeof *kbuf);
        if (order == NULL || kbuf == NULL)
            goto nomem;
        radix_order(fact_ids, n, order, kbuf, order + n);
    }
#define ENTRY(k) (sorted ? (k) : (size_t)order[k])
    for (size_t k = 0; k < n; k++)
        nfacts += k == 0 || fact_ids[ENTRY(k)] != fact_ids[ENTRY(k - 1)];
    t->facts = spi_malloc_array(ctx, nfacts, sizeof *t->facts);
    t->first = spi_malloc_array(ctx, nfacts + 1, sizeof *t->first);
    t->payees = spi_malloc_array(ctx, n, sizeof *t->payees);
    t->shares = spi_malloc_array(ctx, n, sizeof *t->shares);
    /* seen[p]: 1 + the group that last had payee p, 0 for none. */
    seen = spi_calloc(ctx, npayees, sizeof *seen);
    if (t->facts == NULL || t->first == NULL || t->payees == NULL || t->shares == NULL ||
        seen == NULL)
        goto nomem;

    size_t g = 0;
    int64_t sum = 0;
    char pt[SP_TEXT_MAX];
    for (size_t k = 0; k <= n; k++) {
        bool new_group = k == n || k == 0 || fact_ids[ENTRY(k)] != fact_ids[ENTRY(k - 1)];
        if (new_group && k > 0) {
            /* Close group g - 1. */
            uint64_t id = t->facts[g - 1];
            if (sum != SP_DEC_ONE) {
                rc = spi_fail(ctx, SP_EINVAL, SPLITS "fact %llu: shares sum to %s, not 100%%",
                              (unsigned long long)id, spi_percent_text(sum, pt));
                goto fail;
            }
            size_t parts = k - t->first[g - 1];
            if (parts > t->max_parts)
                t->max_parts = parts;
        }
        if (k == n)
            break;
        size_t e = ENTRY(k);
        if (new_group) {
            t->facts[g] = fact_ids[e];
            t->first[g] = k;
            g++;
            sum = 0;
        }
        uint32_t p = payees[e];
        if (seen[p] == g) {
            size_t before = t->first[g - 1];
            while (t->payees[before] != p)
                before++;
            rc = spi_fail(ctx, SP_EINVAL,
                          SPLITS "fact %llu: entry %zu: payee %u is already entry %zu's",
                          (unsigned long long)fact_ids[e], e, p, ENTRY(before));
            goto fail;
        }
        seen[p] = (uint32_t)g;
        t->payees[k] = p;
        t->shares[k] = shares[e];
        sum += shares[e]; /* each share is at most 10^9 and there are < 2^32 of them */
    }
#undef ENTRY
    t->first[nfacts] = n;
    t->nfacts = nfacts;
    spi_free(ctx, order);
    spi_free(ctx, kbuf);
    spi_free(ctx, seen);
    *out = t;
    return SP_OK;
nomem:
    rc = SP_ENOMEM;
fail:
    spi_free(ctx, order);
    spi_free(ctx, kbuf);
    spi_free(ctx, seen);
    spi_split_table_free(t);
    return rc;
}

size_t spi_split_table_facts(const spi_split_table *t)
{
    return t != NULL ? t->nfacts : 0;
}

size_t spi_split_table_max_parts(const spi_split_table *t)
{
    return t != NULL ? t->max_parts : 0;
}

bool spi_split_find(const spi_split_table *t, uint64_t fact_id, size_t *group)
{
    size_t lo = 0, hi = t->nfacts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->facts[mid] < fact_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == t->nfacts || t->facts[lo] != fact_id)
        return false;
    *group = lo;
    return true;
}

const uint32_t *spi_split_group_payees(const spi_split_table *t, size_t group, size_t *n)
{
    *n = t->first[group + 1] - t->first[group];
    return t->payees + t->first[group];
}

const sp_dec *spi_split_group_shares(const spi_split_table *t, size_t group, size_t *n)
{
    *n = t->first[group + 1] - t->first[group];
    return t->shares + t->first[group];
}

int spi_split_group_apply(const spi_split_table *t, size_t group, int64_t value,
                          void *scratch, int64_t *parts)
{
    if (group >= t->nfacts)
        return spi_fail(t->ctx, SP_EINVAL, SPLITS "group %zu is beyond the %zu facts", group,
                        t->nfacts);
    size_t first = t->first[group], n = t->first[group + 1] - first;
    if (value == INT64_MIN)
        return spi_fail(t->ctx, SP_EOVERFLOW,
                        SPLITS "fact %llu: the value is INT64_MIN, which has no mirror image",
                        (unsigned long long)t->facts[group]);
    int64_t stack[2 * SPI_SPLIT_STACK_PARTS];
    if (scratch == NULL) {
        if (n > SPI_SPLIT_STACK_PARTS)
            return spi_fail(t->ctx, SP_EINVAL,
                            SPLITS "fact %llu: %zu parts need a scratch buffer (the stack "
                                   "takes %d)",
                            (unsigned long long)t->facts[group], n, SPI_SPLIT_STACK_PARTS);
        scratch = stack;
    }
    /* Validated: shares >= 0 summing to exactly 10^9. */
    return spi_allocate_plain(t->ctx, value, t->shares + first, n, (uint64_t)SP_DEC_ONE, 1,
                              scratch, parts);
}

int spi_credit_split(const spi_split_table *t, uint64_t fact_id, int64_t value,
                     void *scratch, int64_t *parts)
{
    size_t g;
    if (!spi_split_find(t, fact_id, &g))
        return SP_ENOTFOUND;
    return spi_split_group_apply(t, g, value, scratch, parts);
}

/* ==== payments ==== */

/* a lies between 0 and limit (either sign), both included. */
static bool within(int64_t a, int64_t limit)
{
    return limit >= 0 ? a >= 0 && a <= limit : a <= 0 && a >= limit;
}

/* The paid amount moving from before to before + payment stays within [0, amount]:
 * messages name the payment and the line or invoice. */
static int check_paid(sp_ctx *ctx, const char *what, uint64_t fact, int64_t amount,
                      uint64_t payment_fact, int64_t before, int64_t payment, int64_t *after)
{
    if (!within(before, amount))
        return spi_fail(ctx, SP_EINVAL,
                        PAYMENT "%s %llu: paid %lld before payment %llu, beyond its amount "
                                "%lld",
                        what, (unsigned long long)fact, (long long)before,
                        (unsigned long long)payment_fact, (long long)amount);
    if (__builtin_add_overflow(before, payment, after))
        return spi_fail(ctx, SP_EOVERFLOW,
                        PAYMENT "payment %llu of %lld: the paid amount of %s %llu overflows",
                        (unsigned long long)payment_fact, (long long)payment, what,
                        (unsigned long long)fact);
    if (!within(*after, amount)) {
        if (amount >= 0 ? *after < 0 : *after > 0)
            return spi_fail(ctx, SP_EINVAL,
                            PAYMENT "payment %llu of %lld brings the paid amount of %s %llu to "
                                    "%lld: it reverses more than was paid",
                            (unsigned long long)payment_fact, (long long)payment, what,
                            (unsigned long long)fact, (long long)*after);
        return spi_fail(ctx, SP_EINVAL,
                        PAYMENT "payment %llu of %lld brings the paid amount of %s %llu to "
                                "%lld, beyond its amount %lld",
                        (unsigned long long)payment_fact, (long long)payment, what,
                        (unsigned long long)fact, (long long)*after, (long long)amount);
    }
    return SP_OK;
}

int spi_credit_prorate(sp_ctx *ctx, uint64_t doc, const int64_t *amounts, size_t nlines,
                       uint64_t payment_fact, int64_t paid_before, int64_t payment,
                       int64_t *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (nlines == 0 || amounts == NULL || out == NULL)
        return spi_fail(ctx, SP_EINVAL, PAYMENT "invoice %llu: %s",
                        (unsigned long long)doc,
                        nlines == 0 ? "no lines" : amounts == NULL ? "amounts is NULL"
                                                                  : "out is NULL");
    if (nlines > UINT32_MAX)
        return spi_fail(ctx, SP_EOVERFLOW, PAYMENT "invoice %llu: %zu lines are too many",
                        (unsigned long long)doc, nlines);
    /* The total and its sign; every line of that sign (or 0); the weights |a_i|. */
    int64_t total = 0;
    for (size_t i = 0; i < nlines; i++)
        if (amounts[i] == INT64_MIN || __builtin_add_overflow(total, amounts[i], &total))
            return spi_fail(ctx, SP_EOVERFLOW,
                            PAYMENT "invoice %llu: the line amounts overflow at line %zu",
                            (unsigned long long)doc, i);
    for (size_t i = 0; i < nlines; i++)
        if ((total >= 0 && amounts[i] < 0) || (total < 0 && amounts[i] > 0))
            return spi_fail(ctx, SP_EINVAL,
                            PAYMENT "invoice %llu: line %zu's amount %lld has the other sign "
                                    "than the total %lld",
                            (unsigned long long)doc, i, (long long)amounts[i],
                            (long long)total);
    int64_t after;
    int rc = check_paid(ctx, "invoice", doc, total, payment_fact, paid_before, payment, &after);
    if (rc != SP_OK)
        return rc;
    if (total == 0) {
        memset(out, 0, nlines * sizeof *out);
        return SP_OK;
    }
    /* w = |a_i|, the allocations of the paid amount before and after, and the scratch
     * of one allocation: 5n values. */
    int64_t stack[5 * SPI_SPLIT_STACK_PARTS];
    int64_t *buf = stack;
    if (nlines > SPI_SPLIT_STACK_PARTS &&
        (buf = spi_malloc_array(ctx, nlines, 5 * sizeof *buf)) == NULL)
        return SP_ENOMEM;
    int64_t *w = buf, *a0 = buf + nlines, *a1 = buf + 2 * nlines, *scratch = buf + 3 * nlines;
    uint64_t wsum = total >= 0 ? (uint64_t)total : (uint64_t)0 - (uint64_t)total;
    for (size_t i = 0; i < nlines; i++)
        w[i] = amounts[i] >= 0 ? amounts[i] : -amounts[i];
    rc = spi_allocate_plain(ctx, paid_before, w, nlines, wsum, 1, scratch, a0);
    if (rc == SP_OK)
        rc = spi_allocate_plain(ctx, after, w, nlines, wsum, 1, scratch, a1);
    if (rc == SP_OK)
        for (size_t i = 0; i < nlines; i++)
            out[i] = a1[i] - a0[i]; /* both within [0, a_i] */
    if (buf != stack)
        spi_free(ctx, buf);
    return rc;
}

int spi_credit_paid(sp_ctx *ctx, const spi_paid_line *line, uint64_t payment_fact,
                    int64_t paid_before, int64_t payment, uint32_t mode, int64_t *out)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (line == NULL || (line->nvalues > 0 && (line->values == NULL || out == NULL)))
        return spi_fail(ctx, SP_EINVAL, PAYMENT "%s is NULL",
                        line == NULL ? "line" : line->values == NULL ? "values" : "out");
    if (!spi_rounding_valid(mode))
        return spi_fail(ctx, SP_EINVAL, PAYMENT "unknown rounding mode %u", mode);
    int64_t after;
    int rc = check_paid(ctx, "line", line->fact, line->amount, payment_fact, paid_before,
                        payment, &after);
    if (rc != SP_OK)
        return rc;
    if (line->amount == 0) {
        memset(out, 0, line->nvalues * sizeof *out);
        return SP_OK;
    }
    /* |v x P| < 2^126 and |P / a| <= 1, so every credit to date lies between 0 and v. */
    for (size_t k = 0; k < line->nvalues; k++) {
        spi_i128 v = line->values[k];
        spi_i128 c0 = spi_div_round_i128(v * paid_before, line->amount, mode);
        spi_i128 c1 = spi_div_round_i128(v * after, line->amount, mode);
        if (!(c1 - c0 >= INT64_MIN && c1 - c0 <= INT64_MAX))
            return spi_fail(ctx, SP_EOVERFLOW,
                            PAYMENT "payment %llu: the credit of value %zu of line %llu "
                                    "overflows",
                            (unsigned long long)payment_fact, k,
                            (unsigned long long)line->fact);
    }
    for (size_t k = 0; k < line->nvalues; k++) {
        spi_i128 v = line->values[k];
        out[k] = (int64_t)(spi_div_round_i128(v * after, line->amount, mode) -
                           spi_div_round_i128(v * paid_before, line->amount, mode));
    }
    return SP_OK;
}

/* ==== roll-up ==== */

typedef struct level_rule {
    bool has;            /* the level has a rule */
    bool has_threshold;  /* the manager's reached flag gates it */
    uint32_t on;         /* spi_cplan_override_on */
    sp_dec rate;
    int64_t above;       /* 0: the whole base */
} level_rule;

struct spi_rollup {
    sp_ctx *ctx;
    const sp_hierarchy *h;
    uint32_t n;
    uint32_t nlevels; /* levels in use */
    uint32_t count;   /* spi_cplan_count */
    uint32_t mode;
    size_t nrules;    /* levels in use with a rule */
    level_rule *rules; /* per level in use */
    uint32_t *parent;  /* per node; SP_HIERARCHY_NONE for the root */
    uint32_t *depth;
    bool *reached;
    int64_t *team; /* per manager: the team base to date in the period */
    int64_t *pend; /* per manager: what the current line adds to it */
    uint32_t *slot; /* per manager, once_per_payee: its override in the current line */
    uint64_t *seen_at, *slot_at, *pend_at; /* per node: the last line that set seen (a payee),
                                               slot and pend */
    uint64_t line; /* the current line's stamp; stamps start at 0, lines at 1 */
};

void spi_rollup_free(spi_rollup *r)
{
    if (r == NULL)
        return;
    sp_ctx *ctx = r->ctx;
    spi_free(ctx, r->rules);
    spi_free(ctx, r->parent);
    spi_free(ctx, r->depth);
    spi_free(ctx, r->reached);
    spi_free(ctx, r->team);
    spi_free(ctx, r->pend);
    spi_free(ctx, r->slot);
    spi_free(ctx, r->seen_at);
    spi_free(ctx, r->slot_at);
    spi_free(ctx, r->pend_at);
    spi_free(ctx, r);
}

int spi_rollup_new(spi_rollup **out, sp_ctx *ctx, const sp_hierarchy *h,
                   const spi_cplan_level *levels, size_t nlevels, uint32_t count, uint32_t mode)
{
    if (ctx == NULL)
        return SP_EINVAL;
    if (out == NULL || h == NULL || (nlevels > 0 && levels == NULL))
        return spi_fail(ctx, SP_EINVAL, ROLLUP "%s is NULL",
                        out == NULL ? "out" : h == NULL ? "the hierarchy" : "levels");
    if (!h->valid)
        return spi_fail(ctx, SP_EINVAL, ROLLUP "the payees' hierarchy is not validated");
    if (count != SPI_CCOUNT_ONCE_PER_PAYEE && count != SPI_CCOUNT_EVERY_PATH)
        return spi_fail(ctx, SP_EINVAL, ROLLUP "unknown count rule %u", count);
    if (!spi_rounding_valid(mode))
        return spi_fail(ctx, SP_EINVAL, ROLLUP "unknown rounding mode %u", mode);
    /* Resolve and check the rules before allocating anything. */
    const uint32_t nused = h->tree.levels;
    for (size_t i = 0; i < nlevels; i++) {
        const spi_cplan_level *l = &levels[i];
        uint32_t lv;
        const char *name = l->name != NULL ? l->name : "";
        char q[SPI_QUOTE_CAP], t[SP_TEXT_MAX];
        if (sp_hierarchy_level_find(h, name, &lv) != SP_OK)
            return spi_fail(ctx, SP_EINVAL,
                            ROLLUP "levels.%s: the payees' hierarchy has no level %s", name,
                            spi_quote(q, name, strlen(name)));
        if (l->rate < 0)
            return spi_fail(ctx, SP_EINVAL, ROLLUP "levels.%s.rate: %s is negative", name,
                            spi_percent_text(l->rate, t));
        if (l->above < 0)
            return spi_fail(ctx, SP_EINVAL, ROLLUP "levels.%s.above: %lld is negative", name,
                            (long long)l->above);
        if (l->on != SPI_CRON_MEASURE && l->on != SPI_CRON_EARNINGS)
            return spi_fail(ctx, SP_EINVAL, ROLLUP "levels.%s.on: unknown base %u", name,
                            l->on);
        for (size_t j = 0; j < i; j++)
            if (levels[j].name != NULL && strcmp(levels[j].name, name) == 0)
                return spi_fail(ctx, SP_EINVAL, ROLLUP "levels.%s: the level has two rules",
                                name);
    }
    const uint32_t n = (uint32_t)sp_hierarchy_count(h);
    spi_rollup *r = spi_calloc(ctx, 1, sizeof *r);
    if (r == NULL)
        return SP_ENOMEM;
    r->ctx = ctx;
    r->h = h;
    r->n = n;
    r->nlevels = nused;
    r->count = count;
    r->mode = mode;
    r->rules = spi_calloc(ctx, nused, sizeof *r->rules);
    r->parent = spi_malloc_array(ctx, n, sizeof *r->parent);
    r->depth = spi_malloc_array(ctx, n, sizeof *r->depth);
    r->reached = spi_malloc_array(ctx, n, sizeof *r->reached);
    r->team = spi_calloc(ctx, n, sizeof *r->team);
    r->pend = spi_calloc(ctx, n, sizeof *r->pend);
    r->slot = spi_calloc(ctx, n, sizeof *r->slot);
    r->seen_at = spi_calloc(ctx, n, sizeof *r->seen_at);
    r->slot_at = spi_calloc(ctx, n, sizeof *r->slot_at);
    r->pend_at = spi_calloc(ctx, n, sizeof *r->pend_at);
    if (r->rules == NULL || r->parent == NULL || r->depth == NULL || r->reached == NULL ||
        r->team == NULL || r->pend == NULL || r->slot == NULL || r->seen_at == NULL ||
        r->slot_at == NULL || r->pend_at == NULL) {
        spi_rollup_free(r);
        return SP_ENOMEM;
    }
    for (size_t i = 0; i < nlevels; i++) {
        uint32_t lv = 0;
        (void)sp_hierarchy_level_find(h, levels[i].name, &lv);
        if (lv >= nused)
            continue; /* a named level no node is on */
        level_rule *lr = &r->rules[lv];
        lr->has = true;
        lr->has_threshold = levels[i].threshold >= 0;
        lr->on = levels[i].on;
        lr->rate = levels[i].rate;
        lr->above = levels[i].above;
        r->nrules++;
    }
    for (uint32_t v = 0; v < n; v++) {
        uint32_t p = h->parent[v];
        r->parent[v] = p == SPI_TREE_NONE ? SP_HIERARCHY_NONE : p;
        r->depth[v] = h->tree.depth[v];
    }
    spi_rollup_begin_period(r, NULL);
    *out = r;
    return SP_OK;
}

void spi_rollup_begin_period(spi_rollup *r, const bool *reached)
{
    for (uint32_t v = 0; v < r->n; v++)
        r->reached[v] = reached == NULL || reached[v];
    memset(r->team, 0, r->n * sizeof *r->team);
}

size_t spi_rollup_max_overrides(const spi_rollup *r, size_t npayees)
{
    return npayees * r->nrules;
}

/* The manager's quoted id, for messages. */
static const char *manager_text(const spi_rollup *r, uint32_t v, char q[SPI_QUOTE_CAP])
{
    return spi_hierarchy_quote(r->h, v, q);
}

int spi_rollup_line(spi_rollup *r, uint64_t fact, const uint32_t *payees,
                    const int64_t *measures, const int64_t *earnings, size_t n,
                    spi_override *out, size_t cap, size_t *nout)
{
    sp_ctx *ctx = r->ctx;
    char q[SPI_QUOTE_CAP];
    if (n > 0 && (payees == NULL || out == NULL) )
        return spi_fail(ctx, SP_EINVAL, ROLLUP "fact %llu: %s is NULL",
                        (unsigned long long)fact, payees == NULL ? "payees" : "out");
    if (nout == NULL)
        return spi_fail(ctx, SP_EINVAL, ROLLUP "fact %llu: nout is NULL",
                        (unsigned long long)fact);
    const uint64_t cur = ++r->line;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = payees[i];
        if (p >= r->n)
            return spi_fail(ctx, SP_EINVAL,
                            ROLLUP "fact %llu: payee %u is not a node of the hierarchy (it has "
                                   "%u)",
                            (unsigned long long)fact, p, r->n);
        if (r->seen_at[p] == cur)
            return spi_fail(ctx, SP_EINVAL, ROLLUP "fact %llu: payee %s is given twice",
                            (unsigned long long)fact, manager_text(r, p, q));
        r->seen_at[p] = cur;
    }

    /* Pass 1: the overrides and their raw bases (the sum over the payees below, once per
     * payee). */
    size_t k = 0;
    const bool once = r->count == SPI_CCOUNT_ONCE_PER_PAYEE;
    for (size_t i = 0; i < n; i++) {
        uint32_t p = payees[i];
        for (uint32_t v = r->parent[p]; v != SP_HIERARCHY_NONE; v = r->parent[v]) {
            const level_rule *lr = &r->rules[r->depth[v]];
            if (!lr->has)
                continue;
            const int64_t *bases = lr->on == SPI_CRON_EARNINGS ? earnings : measures;
            if (bases == NULL)
                return spi_fail(ctx, SP_EINVAL,
                                ROLLUP "fact %llu: level %u's rule is on %s, which is NULL",
                                (unsigned long long)fact, r->depth[v],
                                lr->on == SPI_CRON_EARNINGS ? "earnings" : "measures");
            if (once && r->slot_at[v] == cur) {
                spi_override *o = &out[r->slot[v]];
                if (__builtin_add_overflow(o->base, bases[i], &o->base))
                    return spi_fail(ctx, SP_EOVERFLOW,
                                    ROLLUP "fact %llu: the base of manager %s overflows",
                                    (unsigned long long)fact, manager_text(r, v, q));
                continue;
            }
            if (k == cap)
                return spi_fail(ctx, SP_EBUFFER,
                                ROLLUP "fact %llu: more than %zu overrides (cap)",
                                (unsigned long long)fact, cap);
            if (once) {
                r->slot_at[v] = cur;
                r->slot[v] = (uint32_t)k;
            }
            out[k++] = (spi_override){ v, p, r->depth[v], bases[i], 0, false };
        }
    }

    /* Pass 2: `above` on the team's base to date, the threshold, the amounts; the team
     * bases move only once every override is known to fit. */
    for (size_t j = 0; j < k; j++) {
        spi_override *o = &out[j];
        const level_rule *lr = &r->rules[o->level];
        uint32_t v = o->manager;
        int64_t before = r->team[v], raw = o->base, after, pend;
        int64_t pend0 = r->pend_at[v] == cur ? r->pend[v] : 0;
        if (__builtin_add_overflow(before, pend0, &before) ||
            __builtin_add_overflow(before, raw, &after) ||
            __builtin_add_overflow(pend0, raw, &pend))
            return spi_fail(ctx, SP_EOVERFLOW,
                            ROLLUP "fact %llu: the team base of manager %s overflows",
                            (unsigned long long)fact, manager_text(r, v, q));
        if (lr->above > 0) {
            /* The slice of [before, after] above `above`: max(x - above, 0) moves by it. */
            int64_t hi = after > lr->above ? after - lr->above : 0;
            int64_t lo = before > lr->above ? before - lr->above : 0;
            o->base = hi - lo;
        }
        r->pend[v] = pend;
        r->pend_at[v] = cur;
        o->held = lr->has_threshold && !r->reached[v];
        if (!o->held) {
            spi_i128 a = spi_div_round_i128((spi_i128)lr->rate * o->base,
                                            (spi_i128)SP_DEC_ONE, r->mode);
            if (a < INT64_MIN || a > INT64_MAX)
                return spi_fail(ctx, SP_EOVERFLOW,
                                ROLLUP "fact %llu: the override of manager %s overflows",
                                (unsigned long long)fact, manager_text(r, v, q));
            o->amount = (int64_t)a;
        }
    }
    for (size_t j = 0; j < k; j++) {
        uint32_t v = out[j].manager;
        if (r->pend_at[v] == cur) {
            r->team[v] += r->pend[v];
            r->pend_at[v] = 0;
        }
    }
    *nout = k;
    return SP_OK;
}
