/*
 * The commission engine (engine.h; docs/commission.md, "The engine").
 *
 * One run, one pass per basis over its own source (bookings: the order lines of `src`;
 * invoices: the invoice lines of `invoices`; payments: the payments of the lines they pay),
 * each for the due components of its basis. Bookings and invoices: refunds are read first
 * (kept, sorted by the line they reference), then the lines in one pass. Each line is
 * credited to its payee (or to the payees of its split) for every component that passes
 * the filter and holds the line's day; the refunds of the line are credited with it, like
 * it. Payments: the payments from the lookback day on are read first (kept, sorted by
 * line, day and id), then the lines from that day on; each line's payments are walked in
 * order, the paid amount to date moving from one to the next, and those in the period
 * credit the line's values by spi_credit_paid. The credits are summed per payee and
 * component (the period's measure, the totals path) and, for statements, kept as 48-byte
 * staging entries (each in the 64-byte slot of its future line), sorted by (payee,
 * component, day, kind, fact id) with an in-place American flag sort, then walked per payee and component through the schedule (a deals
 * component's lines first counting each deal once per payee). A component with a roll-up
 * then credits the managers above each line's payees their overrides (credit.h's kernel),
 * the team's lines taken in the order (day, kind, fact id), before the settlement.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../calendar/calendar_internal.h"
#include "../core/internal.h"
#include "../facts/facts_internal.h"
#include "../hierarchy/hierarchy_internal.h"
#include "../money/numeric.h"
#include "../storage/dict_internal.h"
#include "convert.h"
#include "engine.h"

const char *const spi_cline_kind_names[SPI_CLINE_KINDS] = {
    "order",     "order_spiff", "refund",   "refund_spiff",  "payment",       "payment_spiff",
    "cap_release", "cap_carry", "cap_lost", "draw",          "draw_recovery", "draw_forgiven",
    "override",  "clawback",    "adjustment"
};

#define WHAT "commission run"

#if defined(__GNUC__)
#define SPI_COLD __attribute__((noinline, cold))
#define SPI_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define SPI_LIKELY(x) __builtin_expect(!!(x), 1)
#define SPI_NOINLINE __attribute__((noinline))
#else
#define SPI_LIKELY(x) (x)
#define SPI_NOINLINE
#define SPI_COLD
#define SPI_UNLIKELY(x) (x)
#endif
#define NO_PAYEE UINT32_MAX

/* A credit waiting for the schedule (48 bytes). */
typedef struct stage {
    uint64_t fact;
    int64_t base;  /* the payee's part of the measure; SPIFF: the line's units */
    int64_t aux;   /* SPIFF: the payee's part of the earning */
    int64_t rate;  /* SPIFF: the amount per unit or per line */
    uint32_t payee;
    uint32_t dk;   /* (day - lo) << KIND_BITS | kind: the order within a payee and component */
    uint32_t share;
    uint16_t comp;
    uint16_t pad;  /* PAD_ flags */
} stage;

#define PAD_FIXED 1u /* the earning is aux (a SPIFF, a split or paid line's set earning) */
#define PAD_DEAL 2u  /* aux is the deal of an order line that the payee may count */
#define KIND_BITS 3u /* dk's low bits: the spi_cline_kind */
#define KIND_MASK ((1u << KIND_BITS) - 1u)

/* A credit is sorted where it will be its statement line: one 64-byte slot per line, so
 * that the lines are the sorted credits, rewritten in place (2 x 64 bytes per line at the
 * peak, during the sort). */
typedef union slot {
    stage s;
    spi_cline l;
} slot;

_Static_assert(sizeof(spi_cline) == 64, "a statement line is 64 bytes");
_Static_assert(sizeof(slot) == 64, "a credit is sorted in its line's slot");

/* A refund (or a payment: no quantity or cost), kept until its line is read. */
typedef struct refund {
    uint64_t ref, id;
    int64_t amount, quantity, cost;
    uint64_t batch;
    size_t row;
    int32_t day;
    bool has_quantity, has_cost, matched;
} refund;

typedef struct spiff {
    uint32_t product; /* dict index; NO_PAYEE: an id the dictionary does not hold */
    bool per_unit;
    int64_t amount;
    int32_t from, to; /* inclusive */
} spiff;

typedef struct comp {
    bool due;
    int32_t first, end;                   /* days counted */
    uint8_t *allow[SPI_CFILTER_LISTS];    /* per dict index: in the list; NULL: no list */
    int32_t ffrom, fto;                   /* the filter's days, inclusive */
    bool split;
    size_t nspiffs;
    spiff *spiffs;
    bool simple; /* amount, no filter list, no split, no SPIFF */
    bool split_earning; /* flat, per line, no modifiers: a split line's earning is the
                           line's, allocated by the shares (example 6.3) */
    bool paid_earning;  /* the same on the payment basis: a payment earns its part of the
                           line's earning by the cumulative rule (example 8.2) */
    bool deals;         /* the deals measure: counted after the sort */
    bool on;            /* due, of the basis being read */
    sp_dec flat_rate;   /* the kernel's rate (per unit: minor units per unit, an sp_dec) */
} comp;

typedef struct run {
    sp_ctx *ctx;
    const spi_cengine_input *in;
    const spi_cplan *plan;
    size_t np, nc;
    uint32_t ndict;
    uint32_t *map1; /* map1[index + 1]: dict index -> payee, or NO_PAYEE (SP_NONE + 1 wraps
                       to map1[0], NO_PAYEE) */
    bool ident;     /* payee i is dict index i, every index a payee: no map */
    comp *comps;
    int32_t lo, hi;
    int32_t run_first, run_end; /* the run's period within the version (the draw's) */
    /* The pass being read: its basis, its components' days, its kinds in messages. */
    uint32_t basis;
    int32_t pass_lo, pass_hi;
    const char *lines_kind, *line_noun;
    refund *refunds; /* or payments, on the payment basis */
    int64_t *paid_refunded; /* per in->paid entry: its line's refunded amount to date */
    size_t nrefunds, caprefunds;
    int64_t *measure, *spiffs;
    /* Sums are exact in any order: a cell that leaves int64_t keeps its wrapped value and
     * counts the 2^64s it owes here (allocated on the first); only a cell whose carry is
     * not 0 at the end overflows. */
    int64_t *carry[2];
    /* The fast loop's: no measure cell exceeds bound in magnitude (stale: not known, after
     * sums by the general loop), so that it adds a slice unchecked when bound + the
     * slice's rows x its largest amount cannot leave int64_t. */
    uint64_t bound;
    bool bound_stale;
    bool keep;      /* stage entries for the lines */
    slot *st;
    size_t nst, capst;
    uint64_t max[4]; /* the largest payee, comp, dk and fact pushed: the sort's digits */
    spi_cengine_report report;
    int64_t parts[SPI_SPLIT_STACK_PARTS], sparts[SPI_SPLIT_STACK_PARTS],
        eparts[SPI_SPLIT_STACK_PARTS], tparts[SPI_SPLIT_STACK_PARTS];
    void *scratch;
    /* Roll-ups: per component its kernel (NULL: none); the payees' nodes and back. */
    spi_rollup **rollups;
    bool rollup_due;      /* a due component has a roll-up */
    uint32_t *payee_node; /* np */
    uint32_t *node_payee; /* per node of the hierarchy: its payee, or NO_PAYEE */
} run;

static const char *dict_text(const run *r, uint32_t index)
{
    return spi_dict_text(r->in->dict, index);
}

/* ---- setup ---- */

/* What the engine refuses of a component before reading, named by the plan path. */
static int check_component(run *r, size_t i)
{
    const spi_cplan_component *c = &r->plan->components[i];
    if (c->basis == SPI_CBASIS_INVOICE && r->in->invoices == NULL)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].measure.basis: the invoice basis reads the "
                        "run's invoice lines, and the run has none (no invoice source)", i);
    if (c->basis == SPI_CBASIS_PAYMENT &&
        (c->measure == SPI_CMEASURE_LINES || c->measure == SPI_CMEASURE_DEALS))
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].measure.kind: '%s' counts whole %s, and the "
                        "payment basis credits a line in parts as it is paid (count them on "
                        "the booking or invoice basis)", i,
                        c->measure == SPI_CMEASURE_LINES ? "lines" : "deals",
                        c->measure == SPI_CMEASURE_LINES ? "lines" : "deals");
    bool money = c->measure == SPI_CMEASURE_AMOUNT || c->measure == SPI_CMEASURE_MARGIN;
    for (size_t j = 0; j < c->nlevels; j++)
        if (c->levels[j].above > 0 && c->levels[j].on == SPI_CRON_MEASURE && !money)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": components[%zu].crediting.rollup.levels.%s.above: 'above' is "
                            "an amount, and the level's base is the component's measure of %s "
                            "(only a level \"on\": \"earnings\" of such a component may have "
                            "one)", i, c->levels[j].name, spi_cplan_measure_names[c->measure]);
    if (c->schedule.on == SPI_CON_ATTAINMENT && r->in->quotas == NULL)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].schedule.on: a schedule on attainment needs the "
                        "payees' quotas", i);
    if (c->period < r->in->period)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].period: a %s component in a %s run (run it "
                        "per %s)", i, spi_cplan_period_names[c->period], spi_cplan_period_names[r->in->period],
                        spi_cplan_period_names[c->period]);
    return SP_OK;
}

int spi_cengine_days(sp_ctx *ctx, const sp_calendar *cal, const spi_cplan *plan,
                     int32_t fiscal_year, uint32_t period, uint32_t index, spi_cdays *whole,
                     spi_cdays *days)
{
    int32_t firsts[SP_CALENDAR_MAX_PERIODS], ends[SP_CALENDAR_MAX_PERIODS];
    size_t n = 0;
    int rc = spi_calendar_periods(ctx, WHAT, cal, fiscal_year, spi_cplan_grain(period), firsts,
                                  ends, NULL, SP_CALENDAR_MAX_PERIODS, &n);
    if (rc != SP_OK)
        return rc;
    if (index >= n)
        return spi_fail(ctx, SP_EINVAL, WHAT ": FY%d has %zu periods of a %s, not %u",
                        fiscal_year, n, spi_cplan_period_names[period], index + 1);
    int32_t run_end = ends[index];
    int32_t vfrom = plan->from, vend = plan->to == SPI_CPLAN_NO_DAY ? INT32_MAX : plan->to + 1;
    whole->period_first = firsts[index];
    whole->period_end = run_end;
    whole->first = firsts[index] > vfrom ? firsts[index] : vfrom;
    whole->end = run_end < vend ? run_end : vend;
    whole->due = whole->first < whole->end;
    for (size_t i = 0; i < plan->ncomponents; i++) {
        const spi_cplan_component *c = &plan->components[i];
        int32_t fy;
        uint32_t idx;
        spi_calendar_locate(cal, run_end - 1, spi_cplan_grain(c->period), &fy, &idx);
        if ((rc = spi_calendar_periods(ctx, WHAT, cal, fy, spi_cplan_grain(c->period), firsts,
                                       ends, NULL, SP_CALENDAR_MAX_PERIODS, &n)) != SP_OK)
            return rc;
        days[i].period_first = firsts[idx];
        days[i].period_end = ends[idx];
        days[i].first = firsts[idx] > vfrom ? firsts[idx] : vfrom;
        days[i].end = ends[idx] < vend ? ends[idx] : vend;
        days[i].due = ends[idx] == run_end && days[i].first < days[i].end;
    }
    return SP_OK;
}

static int setup_periods(run *r, const sp_calendar *cal)
{
    spi_cdays *days = spi_malloc_array(r->ctx, r->nc, sizeof *days);
    if (days == NULL)
        return SP_ENOMEM;
    spi_cdays whole;
    int rc = spi_cengine_days(r->ctx, cal, r->plan, r->in->fiscal_year, r->in->period,
                              r->in->index, &whole, days);
    r->run_first = whole.first;
    r->run_end = whole.end;
    r->lo = INT32_MAX;
    r->hi = INT32_MIN;
    for (size_t i = 0; rc == SP_OK && i < r->nc; i++) {
        comp *k = &r->comps[i];
        k->first = days[i].first;
        k->end = days[i].end;
        k->due = days[i].due;
        if (!k->due)
            continue;
        if (k->first < r->lo)
            r->lo = k->first;
        if (k->end > r->hi)
            r->hi = k->end;
    }
    spi_free(r->ctx, days);
    return rc;
}

static int setup_filters(run *r)
{
    for (size_t i = 0; i < r->nc; i++) {
        const spi_cplan_component *c = &r->plan->components[i];
        comp *k = &r->comps[i];
        k->split = c->splits == SPI_CSPLITS_FACTS && r->in->splits != NULL;
        k->ffrom = c->filter.from == SPI_CPLAN_NO_DAY ? INT32_MIN : c->filter.from;
        k->fto = c->filter.to == SPI_CPLAN_NO_DAY ? INT32_MAX : c->filter.to;
        bool lists = false;
        for (int l = 0; l < SPI_CFILTER_LISTS; l++) {
            if (c->filter.nids[l] == 0)
                continue;
            lists = true;
            k->allow[l] = spi_calloc(r->ctx, r->ndict, 1);
            if (k->allow[l] == NULL)
                return SP_ENOMEM;
            for (size_t j = 0; j < c->filter.nids[l]; j++) {
                uint32_t ix;
                const char *id = c->filter.ids[l][j];
                if (sp_dict_find(r->in->dict, id, strlen(id), &ix) == SP_OK && ix < r->ndict)
                    k->allow[l][ix] = 1;
            }
        }
        k->nspiffs = c->nspiffs;
        if (c->nspiffs > 0) {
            k->spiffs = spi_malloc_array(r->ctx, c->nspiffs, sizeof *k->spiffs);
            if (k->spiffs == NULL)
                return SP_ENOMEM;
        }
        for (size_t j = 0; j < c->nspiffs; j++) {
            const spi_cplan_spiff *s = &c->spiffs[j];
            spiff *t = &k->spiffs[j];
            uint32_t ix;
            t->product = sp_dict_find(r->in->dict, s->product, strlen(s->product), &ix) == SP_OK
                             ? ix
                             : NO_PAYEE;
            t->per_unit = s->per == SPI_CVALUE_PER_UNIT;
            t->amount = s->amount;
            t->from = s->from == SPI_CPLAN_NO_DAY ? r->plan->from : s->from;
            t->to = s->to == SPI_CPLAN_NO_DAY ? (r->plan->to == SPI_CPLAN_NO_DAY ? INT32_MAX
                                                                                : r->plan->to)
                                              : s->to;
        }
        bool flat_line = r->plan->policy == SPI_CPOLICY_PER_LINE &&
                         c->schedule.kind == SPI_CSCHED_FLAT && c->gate == 0 &&
                         c->naccels == 0 && c->cap == 0 && c->nbonuses == 0;
        k->deals = c->measure == SPI_CMEASURE_DEALS;
        k->split_earning = k->split && flat_line && !k->deals && c->basis != SPI_CBASIS_PAYMENT;
        k->paid_earning = flat_line && c->basis == SPI_CBASIS_PAYMENT;
        k->simple = c->measure == SPI_CMEASURE_AMOUNT && !lists && !k->split &&
                    c->nspiffs == 0 && k->ffrom <= k->first && k->fto >= k->end - 1 &&
                    r->in->assign_first == NULL;
    }
    return SP_OK;
}

/* ---- refunds ---- */

static int take_refunds(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                        const spi_fact_where *at)
{
    run *r = arg;
    if (r->nrefunds + n > r->caprefunds) {
        size_t cap = r->caprefunds ? r->caprefunds : 256;
        while (cap < r->nrefunds + n)
            cap *= 2;
        refund *m = spi_realloc_array(r->ctx, r->refunds, cap, sizeof *m);
        if (m == NULL)
            return SP_ENOMEM;
        r->refunds = m;
        r->caprefunds = cap;
    }
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        refund *f = &r->refunds[r->nrefunds++];
        f->ref = b->ref[row];
        f->id = b->id[row];
        f->day = b->day[row];
        f->amount = b->amount[row];
        f->has_quantity = b->quantity != NULL;
        f->quantity = b->quantity ? b->quantity[row] : 0;
        f->has_cost = b->cost != NULL;
        f->cost = b->cost ? b->cost[row] : 0;
        f->batch = at->batch;
        f->row = at->first + row;
        f->matched = false;
    }
    if (r->basis == SPI_CBASIS_PAYMENT)
        r->report.payments_read += n;
    else
        r->report.refunds_read += n;
    return 0;
}

static int cmp_refund(const void *a, const void *b)
{
    const refund *x = a, *y = b;
    if (x->ref != y->ref)
        return x->ref < y->ref ? -1 : 1;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* The first refund (payment) of line `id`, or nrefunds. */
static size_t find_refunds(const run *r, uint64_t id)
{
    size_t lo = 0, hi = r->nrefunds;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->refunds[mid].ref < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* ---- crediting ---- */

static int push(run *r, uint64_t fact, int64_t base, int64_t aux, int64_t rate, uint32_t payee,
                int32_t day, uint32_t kind, uint32_t share, size_t c, uint16_t fixed)
{
    if (r->nst == r->capst) {
        size_t cap = r->capst ? 2 * r->capst : 4096;
        slot *m = spi_realloc_array(r->ctx, r->st, cap, sizeof *m);
        if (m == NULL)
            return SP_ENOMEM;
        r->st = m;
        r->capst = cap;
    }
    stage *e = &r->st[r->nst++].s;
    e->fact = fact;
    e->base = base;
    e->aux = aux;
    e->rate = rate;
    e->payee = payee;
    e->dk = ((uint32_t)(day - r->lo) << KIND_BITS) + kind;
    e->share = share;
    e->comp = (uint16_t)c;
    e->pad = fixed;
    if (payee > r->max[0])
        r->max[0] = payee;
    if (c > r->max[1])
        r->max[1] = c;
    if (e->dk > r->max[2])
        r->max[2] = e->dk;
    if (fact > r->max[3])
        r->max[3] = fact;
    return SP_OK;
}

static SPI_COLD int carry_add(run *r, int which, size_t cell, int dir)
{
    if (r->carry[which] == NULL &&
        (r->carry[which] = spi_calloc(r->ctx, r->np * r->nc, sizeof *r->carry[which])) == NULL)
        return SP_ENOMEM;
    r->carry[which][cell] += dir;
    return SP_OK;
}

/* cells[cell] += v, exactly (see run.carry). */
static inline int sum_add(run *r, int which, int64_t *cells, size_t cell, int64_t v)
{
    if (SPI_UNLIKELY(__builtin_add_overflow(cells[cell], v, &cells[cell])))
        return carry_add(r, which, cell, v > 0 ? 1 : -1);
    return SP_OK;
}

static inline uint32_t payee_of(const run *r, uint32_t rep)
{
    return r->ident ? (rep < r->np ? rep : NO_PAYEE) : r->map1[(uint32_t)(rep + 1u)];
}

typedef struct fact_at {
    const char *kind;
    uint64_t batch;
    size_t row;
    uint64_t id;
} fact_at;

static int overflow(run *r, const fact_at *f, const char *what)
{
    return spi_fail(r->ctx, SP_EOVERFLOW, WHAT ": %s batch %llu row %zu: fact %llu: %s overflows",
                    f->kind, (unsigned long long)f->batch, f->row, (unsigned long long)f->id,
                    what);
}

/* What one fact credits the payees of a component: per payee, its part of the measure,
 * of a SPIFF's earning (sp not NULL) and of a set earning (earned not NULL). */
typedef struct credits {
    size_t n;
    const uint32_t *payees;
    const sp_dec *shares; /* NULL: one payee, all of it */
    const int64_t *measure, *spiff, *earned;
    const spiff *sp;
    int64_t units;        /* the SPIFF line's base */
    uint64_t deal;        /* an order line of a deals component: its deal */
    int32_t line_day;     /* the line's day: a payee is credited when its assignment holds it */
} credits;

/* Sum and stage the credits q of fact f (kind) on `day` for component c. */
static int credit_payees(run *r, const fact_at *f, const credits *q, int32_t day, uint32_t kind,
                         size_t c)
{
    const comp *k = &r->comps[c];
    bool deal = k->deals && kind == SPI_CLINE_ORDER;
    for (size_t i = 0; i < q->n; i++) {
        uint32_t p = q->payees[i];
        if (p >= r->np)
            return spi_fail(r->ctx, SP_EINVAL, WHAT ": %s batch %llu row %zu: fact %llu: split "
                            "payee %u is beyond the %zu payees", f->kind,
                            (unsigned long long)f->batch, f->row, (unsigned long long)f->id, p,
                            r->np);
        if (r->in->assign_first != NULL &&
            (q->line_day < r->in->assign_first[p] || q->line_day > r->in->assign_last[p])) {
            r->report.not_assigned++; /* the payee is on another plan (or none) that day */
            continue;
        }
        uint32_t share = q->shares ? (uint32_t)q->shares[i] : (uint32_t)SP_DEC_ONE;
        size_t cell = (size_t)p * r->nc + c;
        int rc = sum_add(r, 0, r->measure, cell, q->measure[i]);
        if (rc == SP_OK && q->sp != NULL)
            rc = sum_add(r, 1, r->spiffs, cell, q->spiff[i]);
        if (rc != SP_OK)
            return rc;
        if (!r->keep)
            continue;
        /* A deal counts for the payees with a share of it: PAD_DEAL (and the base, 0 here,
         * becomes 1 on the first line of the deal in the payee's order, make_lines). */
        rc = q->earned != NULL ? push(r, f->id, q->measure[i], q->earned[i], k->flat_rate, p,
                                      day, kind, share, c, PAD_FIXED)
             : deal            ? push(r, f->id, 0, (int64_t)q->deal, 0, p, day, kind, share, c,
                                      share > 0 ? PAD_DEAL : 0)
                               : push(r, f->id, q->measure[i], 0, 0, p, day, kind, share, c, 0);
        if (rc == SP_OK && q->sp != NULL)
            rc = push(r, f->id, q->units, q->spiff[i], q->sp->amount, p, day, kind + 1, share,
                      c, PAD_FIXED);
        if (rc != SP_OK)
            return rc;
    }
    return SP_OK;
}

/*
 * Credit `value` (the measure) and `units` x `sp` of fact f (kind: ORDER or REFUND) of the
 * line `line_id` (whose split it follows) on `day` to payee `rep` or the split's payees,
 * for component c; `deal`: the line's deal (a deals component).
 */
static int credit(run *r, const fact_at *f, uint64_t line_id, uint32_t rep, int32_t day,
                  int32_t line_day, uint32_t kind, size_t c, int64_t value, const spiff *sp,
                  int64_t units, uint64_t deal)
{
    comp *k = &r->comps[c];
    int64_t earned = 0, line_earned = 0;
    if (sp != NULL && __builtin_mul_overflow(sp->amount, units, &earned))
        return overflow(r, f, "the SPIFF");
    credits q = { 1, &rep, NULL, &value, &earned, NULL, sp, units, deal, line_day };
    size_t group;
    if (k->split && spi_split_find(r->in->splits, line_id, &group)) {
        q.payees = spi_split_group_payees(r->in->splits, group, &q.n);
        q.shares = spi_split_group_shares(r->in->splits, group, &q.n);
        q.measure = r->parts;
        q.spiff = r->sparts;
        if (spi_split_group_apply(r->in->splits, group, value, r->scratch, r->parts) != SP_OK ||
            (sp != NULL &&
             spi_split_group_apply(r->in->splits, group, earned, r->scratch, r->sparts) != SP_OK))
            return overflow(r, f, "the split");
        if (k->split_earning && r->keep) {
            /* The line's earning R(rate x m), then its parts by the shares. */
            if (sp_muldiv(value, k->flat_rate, SP_DEC_ONE, r->plan->rounding_mode,
                          &line_earned) != SP_OK ||
                spi_split_group_apply(r->in->splits, group, line_earned, r->scratch,
                                      r->eparts) != SP_OK)
                return overflow(r, f, "the earning");
            q.earned = r->eparts;
        }
    }
    return credit_payees(r, f, &q, day, kind, c);
}

static bool passes(const comp *k, const sp_fact_batch *b, size_t row, int32_t day)
{
    if (day < k->first || day >= k->end || day < k->ffrom || day > k->fto)
        return false;
    const uint32_t *cols[SPI_CFILTER_LISTS] = { b->product, b->customer, b->grid, b->channel };
    for (int l = 0; l < SPI_CFILTER_LISTS; l++) {
        if (k->allow[l] == NULL)
            continue;
        if (cols[l] == NULL || cols[l][row] == SP_NONE || !k->allow[l][cols[l][row]])
            return false;
    }
    return true;
}

static const spiff *spiff_of(const comp *k, const sp_fact_batch *b, size_t row, int32_t day)
{
    if (k->nspiffs == 0 || b->product == NULL || b->product[row] == SP_NONE)
        return NULL;
    for (size_t j = 0; j < k->nspiffs; j++)
        if (k->spiffs[j].product == b->product[row] && day >= k->spiffs[j].from &&
            day <= k->spiffs[j].to)
            return &k->spiffs[j];
    return NULL;
}

/* The measure of an order line (deals: 0 until counted, make_lines). */
static int line_value(run *r, const fact_at *f, const sp_fact_batch *b, size_t row, size_t c,
                      int64_t *v)
{
    switch (r->plan->components[c].measure) {
    case SPI_CMEASURE_AMOUNT:
        *v = b->amount[row];
        return SP_OK;
    case SPI_CMEASURE_QUANTITY:
        *v = b->quantity ? b->quantity[row] : 0;
        return SP_OK;
    case SPI_CMEASURE_MARGIN:
        if (__builtin_sub_overflow(b->amount[row], b->cost ? b->cost[row] : 0, v))
            return overflow(r, f, "the margin");
        return SP_OK;
    case SPI_CMEASURE_LINES:
        *v = 1;
        return SP_OK;
    default:
        *v = 0;
        return SP_OK;
    }
}

/* The (negative) measure of refund g of the line at row. */
static int refund_value(run *r, const fact_at *f, const refund *g, const sp_fact_batch *b,
                        size_t row, size_t c, int64_t *v)
{
    switch (r->plan->components[c].measure) {
    case SPI_CMEASURE_AMOUNT:
        *v = -g->amount;
        return SP_OK;
    case SPI_CMEASURE_QUANTITY:
        *v = -g->quantity;
        return SP_OK;
    case SPI_CMEASURE_MARGIN: {
        int64_t cost = g->cost;
        if (!g->has_cost && b->cost != NULL &&
            sp_muldiv(b->cost[row], g->amount, b->amount[row], r->plan->rounding_mode, &cost) !=
                SP_OK)
            return overflow(r, f, "the refund's share of the line's cost");
        if (__builtin_sub_overflow(cost, g->amount, v))
            return overflow(r, f, "the margin");
        return SP_OK;
    }
    default:
        *v = 0;
        return SP_OK;
    }
}

/* ---- manual adjustments ---- */

/* The sort kind of a manual adjustment: even, but its earning set (PAD_FIXED) and its base
 * 0, so that it does not move the measure either. */
#define KIND_ADJUST 6u

/* Adjustment j: its amount in its payee's component total, and its line on the last day of
 * the component's period. */
static int adjust(run *r, const spi_cadjust *a, size_t j)
{
    if (a->payee >= r->np || a->component >= r->nc)
        return spi_fail(r->ctx, SP_EINVAL, WHAT ": adjustments[%zu] (id %llu): %s %u is not "
                                               "the run's", j, (unsigned long long)a->id,
                        a->payee >= r->np ? "payee" : "component",
                        a->payee >= r->np ? a->payee : a->component);
    const comp *k = &r->comps[a->component];
    if (!k->due)
        return spi_fail(r->ctx, SP_EINVAL, WHAT ": adjustments[%zu] (id %llu): components[%u] "
                                               "(\"%s\") is not computed in this run", j,
                        (unsigned long long)a->id, a->component,
                        r->plan->components[a->component].id);
    if (a->amount == INT64_MIN)
        return spi_fail(r->ctx, SP_EINVAL, WHAT ": adjustments[%zu] (id %llu): INT64_MIN", j,
                        (unsigned long long)a->id);
    size_t cell = (size_t)a->payee * r->nc + a->component;
    int rc = sum_add(r, 1, r->spiffs, cell, a->amount);
    if (rc == SP_OK && r->keep)
        rc = push(r, a->id, 0, a->amount, 0, a->payee, k->end - 1, KIND_ADJUST,
                  (uint32_t)SP_DEC_ONE, a->component, PAD_FIXED);
    return rc;
}

/* ---- clawbacks ---- */

/* The sort kind of a clawback: odd, so that make_lines takes its earning as set and it
 * does not move the measure (the period's tiers are not the line's). */
#define KIND_CLAWBACK 7u

/* The first of the paid entries of line `fact` (in->paid is ascending by fact). */
static size_t paid_first(const run *r, uint64_t fact)
{
    size_t lo = 0, hi = r->in->npaid;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->in->paid[mid].fact < fact)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * A refund g of a line that is no line of the days read: a line paid in an earlier period
 * (in->paid), whose commission each payee and component with a clawback rule gives back at
 * the rate the line was paid, within the window (docs/commission.md, "Clawbacks").
 * r->paid_refunded[e] is paid entry e's refunded amount to date (the earlier refunds of the
 * run included, as they come in (line, day, id) order). `only`: that component's entries
 * (a line read for another component, of an earlier period of this one), else all.
 */
static int clawback(run *r, const refund *g, size_t only)
{
    int64_t *refunded = r->paid_refunded;
    size_t e = paid_first(r, g->ref);
    bool any = false;
    for (size_t i = e; i < r->in->npaid && r->in->paid[i].fact == g->ref; i++)
        any = any || only == SIZE_MAX || r->in->paid[i].component == only;
    if (!any && only == SIZE_MAX)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": refunds batch %llu row %zu: refund %llu references line %llu, "
                        "which is no %s of the days read and no line paid earlier "
                        "(sp_commission_run_set_paid)", (unsigned long long)g->batch, g->row,
                        (unsigned long long)g->id, (unsigned long long)g->ref, r->line_noun);
    if (!any)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": refunds batch %llu row %zu: refund %llu references line %llu of "
                        "an earlier period of components[%zu], which is no line paid earlier "
                        "(sp_commission_run_set_paid)", (unsigned long long)g->batch, g->row,
                        (unsigned long long)g->id, (unsigned long long)g->ref, only);
    uint32_t mode = r->plan->rounding_mode;
    for (; e < r->in->npaid && r->in->paid[e].fact == g->ref; e++) {
        const spi_cpaid *pd = &r->in->paid[e];
        size_t c = pd->component;
        if (only != SIZE_MAX && c != only)
            continue;
        const spi_cplan_component *pc = &r->plan->components[c];
        if (!r->comps[c].on)
            continue; /* another basis, or not computed in this run */
        int64_t before = refunded[e], after;
        if (g->day < pd->day)
            return spi_fail(r->ctx, SP_EINVAL, WHAT ": refunds batch %llu row %zu: refund %llu "
                                               "is dated before its line %llu",
                            (unsigned long long)g->batch, g->row, (unsigned long long)g->id,
                            (unsigned long long)g->ref);
        if (__builtin_add_overflow(before, g->amount, &after) || after > pd->amount)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": refunds batch %llu row %zu: refund %llu of %lld brings the "
                            "refunded amount of line %llu (paid earlier) above its amount %lld",
                            (unsigned long long)g->batch, g->row, (unsigned long long)g->id,
                            (long long)g->amount, (unsigned long long)g->ref,
                            (long long)pd->amount);
        refunded[e] = after;
        if (!pc->has_clawback) {
            r->report.refunds_not_clawed++;
            continue;
        }
        if ((int64_t)g->day - pd->day > (int64_t)pc->window_days) {
            r->report.clawbacks_expired++;
            continue;
        }
        /* The payee's part of the refund, and what it reverses: with the limit, the earning
         * to date in proportion of the line refunded to date, R(earned x refunded /
         * amount), so that the refunds of the whole line reverse exactly its earning; without,
         * R(rate x part) for each refund. */
        int64_t part, was = 0, now = 0, claw = 0;
        int rc = sp_muldiv(g->amount, pd->base, pd->amount, mode, &part);
        if (rc == SP_OK && pc->limit == SPI_CLIMIT_PAID) {
            rc = sp_muldiv(pd->earned, before, pd->amount, mode, &was);
            if (rc == SP_OK)
                rc = sp_muldiv(pd->earned, after, pd->amount, mode, &now);
            claw = was - now;
        } else if (rc == SP_OK) {
            rc = sp_muldiv(part, pd->rate, SP_DEC_ONE, mode, &claw);
            claw = -claw;
        }
        fact_at f = { "refunds", g->batch, g->row, g->id };
        if (rc != SP_OK)
            return overflow(r, &f, "the clawback");
        r->report.clawbacks++;
        size_t cell = (size_t)pd->payee * r->nc + c;
        if ((rc = sum_add(r, 1, r->spiffs, cell, claw)) != SP_OK ||
            (r->keep && (rc = push(r, g->id, -part, claw, pd->rate, pd->payee, g->day,
                                   KIND_CLAWBACK, (uint32_t)SP_DEC_ONE, c, PAD_FIXED)) != SP_OK))
            return rc;
    }
    return SP_OK;
}

/* The refunds of the order line at `row` (payee p; p NO_PAYEE: skipped with it). */
static int line_refunds(run *r, const sp_fact_batch *b, size_t row, uint32_t p,
                        const fact_at *lf)
{
    uint64_t id = b->id[row];
    size_t j = find_refunds(r, id);
    if (j == r->nrefunds || r->refunds[j].ref != id)
        return SP_OK;
    int64_t line_amount = b->amount[row], refunded = 0;
    int32_t line_day = b->day[row];
    for (; j < r->nrefunds && r->refunds[j].ref == id; j++) {
        refund *g = &r->refunds[j];
        fact_at f = { "refunds", g->batch, g->row, g->id };
        if (g->matched)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": %s batch %llu row %zu: fact %llu: a second %s with this id "
                            "(refund %llu references it)", lf->kind,
                            (unsigned long long)lf->batch, lf->row, (unsigned long long)id,
                            r->line_noun, (unsigned long long)g->id);
        g->matched = true;
        if (g->day < line_day)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": refunds batch %llu row %zu: refund %llu is dated before its "
                            "line %llu", (unsigned long long)g->batch, g->row,
                            (unsigned long long)g->id, (unsigned long long)id);
        if (__builtin_add_overflow(refunded, g->amount, &refunded) || refunded > line_amount)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": refunds batch %llu row %zu: refund %llu of %lld brings the "
                            "refunded amount of line %llu above its amount %lld",
                            (unsigned long long)g->batch, g->row, (unsigned long long)g->id,
                            (long long)g->amount, (unsigned long long)id,
                            (long long)line_amount);
        if (p == NO_PAYEE)
            continue;
        for (size_t c = 0; c < r->nc; c++) {
            const comp *k = &r->comps[c];
            if (!k->on)
                continue;
            bool line_in = passes(k, b, row, line_day);
            if (!line_in) {
                /* A line outside the component's days whose refund is inside them:
                 * a refund of a line paid in an earlier period, clawed back. */
                if (line_day < k->first && g->day >= k->first && g->day < k->end &&
                    passes(k, b, row, k->first)) {
                    int rc = clawback(r, g, c);
                    if (rc != SP_OK)
                        return rc;
                }
                continue;
            }
            int64_t v = 0;
            int rc = refund_value(r, &f, g, b, row, c, &v);
            if (rc != SP_OK)
                return rc;
            const spiff *sp = spiff_of(k, b, row, line_day);
            int64_t units = 0;
            if (sp != NULL && sp->per_unit)
                units = -g->quantity;
            else if (sp != NULL)
                units = refunded == line_amount ? -1 : 0;
            if (sp != NULL && units == 0)
                sp = NULL;
            rc = credit(r, &f, id, p, g->day, line_day, SPI_CLINE_REFUND, c, v, sp, units, 0);
            if (rc != SP_OK)
                return rc;
        }
    }
    return SP_OK;
}

/*
 * The fast loop: amounts added to payee p's cell of component c, without a check per row
 * (as src/facts/group.c's fast_rows and the fact loop's consumers): *mag gets the OR of
 * |v| - 1 for negative v and v otherwise (no added v exceeds *mag + 1 in magnitude), so
 * that the caller can tell afterwards whether any sum could have left int64_t (see
 * run.bound). SUB subtracts (the undo of a slice). Returns the rows not of a payee.
 * Specialised by the compiler for each combination of the constant flags: SEL a
 * selection vector, IDENT no map, ONE a single component (cells of one int64_t).
 */
static SPI_FORCE_INLINE uint64_t sum_rows(run *r, const sp_fact_batch *b, const uint32_t *rows,
                                          size_t n, size_t c, uint64_t *mag, bool SEL,
                                          bool IDENT, bool ONE, bool SUB)
{
    const uint32_t *rep = b->rep, *map1 = r->map1;
    const int64_t *amount = b->amount;
    const size_t nc = ONE ? 1 : r->nc;
    int64_t *m = r->measure + c;
    const uint32_t np = (uint32_t)r->np;
    uint64_t skipped = 0, or = 0;
    for (size_t i = 0; i < n; i++) {
        size_t row = SEL ? rows[i] : i;
        uint32_t key = rep[row];
        uint32_t p = IDENT ? key : map1[(uint32_t)(key + 1u)];
        if (p < np) {
            int64_t v = amount[row], *cell = m + (size_t)p * nc;
            or |= (uint64_t)(v ^ (v >> 63));
            *cell = SUB ? (int64_t)((uint64_t)*cell - (uint64_t)v)
                        : (int64_t)((uint64_t)*cell + (uint64_t)v);
        } else {
            skipped++;
        }
    }
    *mag = or;
    return skipped;
}

/* The same with every addition checked (sum_add): once the bound cannot tell. */
static SPI_NOINLINE int sum_checked(run *r, const sp_fact_batch *b, const uint32_t *rows,
                                    size_t n, size_t c)
{
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        uint32_t p = payee_of(r, b->rep[row]);
        if (p < r->np) {
            int rc = sum_add(r, 0, r->measure, (size_t)p * r->nc + c, b->amount[row]);
            if (rc != SP_OK)
                return rc;
        }
    }
    return SP_OK;
}

/* The largest |cell| of the measures: run.bound, exactly. */
static SPI_NOINLINE uint64_t measure_bound(const run *r)
{
    uint64_t most = 0;
    for (size_t cell = 0; cell < r->np * r->nc; cell++) {
        int64_t v = r->measure[cell];
        uint64_t a = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
        most = a > most ? a : most;
    }
    return most;
}

/* Each form a function of its own, picked by index: bit 0 SEL, 1 IDENT, 2 ONE, 3 SUB. */
typedef uint64_t (*sum_fn)(run *r, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                           size_t c, uint64_t *mag);
#define SUM(F)                                                                                 \
    static uint64_t sum_##F(run *r, const sp_fact_batch *b, const uint32_t *rows, size_t n,   \
                            size_t c, uint64_t *mag)                                           \
    {                                                                                          \
        return sum_rows(r, b, rows, n, c, mag, (F & 1) != 0, (F & 2) != 0, (F & 4) != 0,      \
                        (F & 8) != 0);                                                         \
    }
SUM(0) SUM(1) SUM(2) SUM(3) SUM(4) SUM(5) SUM(6) SUM(7)
SUM(8) SUM(9) SUM(10) SUM(11) SUM(12) SUM(13) SUM(14) SUM(15)
#undef SUM
static const sum_fn sum_forms[16] = {
    sum_0, sum_1, sum_2,  sum_3,  sum_4,  sum_5,  sum_6,  sum_7,
    sum_8, sum_9, sum_10, sum_11, sum_12, sum_13, sum_14, sum_15,
};

/*
 * The slice's amounts summed by payee for component c, exactly: unchecked, then, if the
 * bound cannot show that no sum left int64_t, undone, the bound computed from the cells
 * and, if that does not show it either, added again with every addition checked. The
 * rows not of a payee, or UINT64_MAX when the carry cannot be allocated.
 */
static uint64_t sum_slice(run *r, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                          size_t c)
{
    unsigned form = (rows != NULL ? 1u : 0u) | (r->ident ? 2u : 0u) | (r->nc == 1 ? 4u : 0u);
    uint64_t mag, step, next;
    if (r->bound_stale) {
        r->bound = measure_bound(r);
        r->bound_stale = false;
    }
    uint64_t skipped = sum_forms[form](r, b, rows, n, c, &mag);
    /* Every partial sum of a cell stays within bound + n x (mag + 1) in magnitude
     * (mag + 1 <= 2^63). */
    bool fits = !__builtin_mul_overflow((uint64_t)n, mag + 1u, &step);
    if (SPI_LIKELY(fits && !__builtin_add_overflow(r->bound, step, &next) &&
                   next <= (uint64_t)INT64_MAX)) {
        r->bound = next;
        return skipped;
    }
    sum_forms[form | 8u](r, b, rows, n, c, &mag);
    r->bound = measure_bound(r);
    if (fits && !__builtin_add_overflow(r->bound, step, &next) && next <= (uint64_t)INT64_MAX) {
        sum_forms[form](r, b, rows, n, c, &mag);
        r->bound = next;
        return skipped;
    }
    r->bound_stale = true;
    return sum_checked(r, b, rows, n, c) == SP_OK ? skipped : UINT64_MAX;
}

static int take_lines(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                      const spi_fact_where *at)
{
    run *r = arg;
    r->report.lines_read += n;
    /* The fast loop: simple components holding the slice's days, no refunds, no lines. */
    bool fast = !r->keep && r->nrefunds == 0 && r->in->unknown == SPI_CENGINE_SKIP;
    for (size_t c = 0; fast && c < r->nc; c++)
        fast = !r->comps[c].on || (r->comps[c].simple && at->day_lo >= r->comps[c].first &&
                                   at->day_hi < r->comps[c].end);
    if (fast) {
        bool counted = false;
        for (size_t c = 0; c < r->nc; c++) {
            if (!r->comps[c].on)
                continue;
            uint64_t skipped = sum_slice(r, b, rows, n, c);
            if (skipped == UINT64_MAX)
                return SP_ENOMEM;
            if (!counted)
                r->report.not_payee += skipped;
            counted = true;
        }
        return 0;
    }
    r->bound_stale = true; /* the general loop's sums */
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        fact_at f = { r->lines_kind, at->batch, at->first + row, b->id[row] };
        uint32_t rep = b->rep[row];
        uint32_t p = payee_of(r, rep);
        if (p == NO_PAYEE) {
            if (r->in->unknown == SPI_CENGINE_ERROR)
                return spi_fail(r->ctx, SP_EINVAL,
                                WHAT ": %s batch %llu row %zu: fact %llu: rep %s is no payee of "
                                "the run", f.kind, (unsigned long long)f.batch, f.row,
                                (unsigned long long)f.id,
                                rep == SP_NONE ? "(none)" : dict_text(r, rep));
            r->report.not_payee++;
        }
        int32_t day = b->day[row];
        /* A deal: the order (opportunity) the line belongs to, else the line itself. */
        uint64_t deal = b->ref != NULL ? b->ref[row] : f.id;
        for (size_t c = 0; p != NO_PAYEE && c < r->nc; c++) {
            const comp *k = &r->comps[c];
            if (!k->on || !passes(k, b, row, day))
                continue;
            int64_t v = 0;
            int rc = line_value(r, &f, b, row, c, &v);
            if (rc != SP_OK)
                return rc;
            const spiff *sp = spiff_of(k, b, row, day);
            int64_t units = sp == NULL ? 0 : sp->per_unit ? (b->quantity ? b->quantity[row] : 0) : 1;
            if (sp != NULL && units == 0)
                sp = NULL;
            rc = credit(r, &f, f.id, p, day, day, SPI_CLINE_ORDER, c, v, sp, units, deal);
            if (rc != SP_OK)
                return rc;
        }
        if (r->nrefunds > 0) {
            int rc = line_refunds(r, b, row, p, &f);
            if (rc != SP_OK)
                return rc;
        }
    }
    return 0;
}

/* ---- payments ---- */

/* The credit kernel's error on payment g, in place: "commission run: payments batch 1 row
 * 3: payment 9 of 500 brings the paid amount of line 7 to 1500, beyond its amount 1000". */
static int payment_fail(run *r, int rc, const refund *g)
{
    return spi_fail_prefix(r->ctx, rc, "commission payment: ", WHAT ": payments batch %llu row %zu",
                           (unsigned long long)g->batch, g->row);
}

/*
 * Credit payment g of the line at `row` (lf), paid `before` so far, for component c: what
 * it adds to the credits to date R(v x P / a) of each of the line's values v (its measure;
 * its SPIFF's earning and units; its earning, for paid_earning), to payee `rep` or, split,
 * to each payee its part of the credits to date (allocated by the shares) less its part
 * before: a line paid in full credits each payee exactly its part of the line.
 */
static int credit_payment(run *r, const fact_at *lf, const sp_fact_batch *b, size_t row,
                          const refund *g, int64_t before, size_t c, uint32_t rep)
{
    const comp *k = &r->comps[c];
    fact_at f = { "payments", g->batch, g->row, g->id };
    uint32_t mode = r->plan->rounding_mode;
    int64_t v[4] = { 0, 0, 0, 0 }, d[4];
    int rc = line_value(r, lf, b, row, c, &v[0]);
    if (rc != SP_OK)
        return rc;
    const spiff *sp = spiff_of(k, b, row, b->day[row]);
    if (sp != NULL && (v[2] = sp->per_unit ? (b->quantity ? b->quantity[row] : 0) : 1) == 0)
        sp = NULL;
    if (sp != NULL && __builtin_mul_overflow(sp->amount, v[2], &v[1]))
        return overflow(r, lf, "the SPIFF");
    if (k->paid_earning && sp_muldiv(v[0], k->flat_rate, SP_DEC_ONE, mode, &v[3]) != SP_OK)
        return overflow(r, lf, "the earning");
    spi_paid_line line = { lf->id, b->amount[row], 4, v };
    if ((rc = spi_credit_paid(r->ctx, &line, g->id, before, g->amount, mode, d)) != SP_OK)
        return payment_fail(r, rc, g);
    credits q = { 1,  &rep, NULL, &d[0], &d[1], k->paid_earning ? &d[3] : NULL, sp, d[2], 0,
                  b->day[row] };
    size_t group;
    if (k->split && spi_split_find(r->in->splits, lf->id, &group)) {
        q.payees = spi_split_group_payees(r->in->splits, group, &q.n);
        q.shares = spi_split_group_shares(r->in->splits, group, &q.n);
        int64_t *out[4] = { r->parts, sp != NULL ? r->sparts : NULL, NULL,
                            k->paid_earning ? r->eparts : NULL };
        for (int j = 0; j < 4; j++) {
            int64_t c0 = 0; /* the credit to date before the payment; c0 + d[j] after it */
            if (out[j] == NULL)
                continue;
            if ((line.amount != 0 &&
                 sp_muldiv(v[j], before, line.amount, mode, &c0) != SP_OK) ||
                spi_split_group_apply(r->in->splits, group, c0 + d[j], r->scratch, out[j]) !=
                    SP_OK ||
                spi_split_group_apply(r->in->splits, group, c0, r->scratch, r->tparts) != SP_OK)
                return overflow(r, &f, "the split");
            for (size_t i = 0; i < q.n; i++)
                out[j][i] -= r->tparts[i];
        }
        q.measure = r->parts;
        q.spiff = r->sparts;
        q.earned = k->paid_earning ? r->eparts : NULL;
    }
    return credit_payees(r, &f, &q, g->day, SPI_CLINE_PAYMENT, c);
}

/* The lines from the lookback day on, for their payments (r->refunds, sorted by line, day
 * and id): each line's payments in order, the paid amount to date moving from one to the
 * next; those in the period credit the components they pass (the payment's day, the
 * line's columns). */
static int take_paid(void *arg, const sp_fact_batch *b, const uint32_t *rows, size_t n,
                     const spi_fact_where *at)
{
    run *r = arg;
    r->report.lines_read += n;
    for (size_t i = 0; i < n; i++) {
        size_t row = rows ? rows[i] : i;
        uint64_t id = b->id[row];
        size_t j = find_refunds(r, id);
        if (j == r->nrefunds || r->refunds[j].ref != id)
            continue;
        fact_at lf = { r->lines_kind, at->batch, at->first + row, id };
        uint32_t rep = b->rep[row], p = payee_of(r, rep);
        int64_t paid = 0, none;
        for (; j < r->nrefunds && r->refunds[j].ref == id; j++) {
            refund *g = &r->refunds[j];
            if (g->matched)
                return spi_fail(r->ctx, SP_EINVAL,
                                WHAT ": %s batch %llu row %zu: fact %llu: a second %s with this "
                                "id (payment %llu references it)", lf.kind,
                                (unsigned long long)lf.batch, lf.row, (unsigned long long)id,
                                r->line_noun, (unsigned long long)g->id);
            g->matched = true;
            if (g->day < b->day[row])
                return spi_fail(r->ctx, SP_EINVAL,
                                WHAT ": payments batch %llu row %zu: payment %llu is dated "
                                "before its line %llu", (unsigned long long)g->batch, g->row,
                                (unsigned long long)g->id, (unsigned long long)id);
            spi_paid_line line = { id, b->amount[row], 0, NULL };
            int64_t before = paid;
            int rc = spi_credit_paid(r->ctx, &line, g->id, before, g->amount,
                                     r->plan->rounding_mode, &none);
            if (rc != SP_OK)
                return payment_fail(r, rc, g);
            paid += g->amount; /* within the line's amount: checked */
            if (g->day < r->pass_lo || g->day >= r->pass_hi)
                continue; /* before the period: paid, not credited here */
            if (p == NO_PAYEE) {
                if (r->in->unknown == SPI_CENGINE_ERROR)
                    return spi_fail(r->ctx, SP_EINVAL,
                                    WHAT ": payments batch %llu row %zu: payment %llu: the rep "
                                    "%s of line %llu is no payee of the run",
                                    (unsigned long long)g->batch, g->row,
                                    (unsigned long long)g->id,
                                    rep == SP_NONE ? "(none)" : dict_text(r, rep),
                                    (unsigned long long)id);
                r->report.not_payee++;
                continue;
            }
            for (size_t c = 0; c < r->nc; c++) {
                if (!r->comps[c].on || !passes(&r->comps[c], b, row, g->day))
                    continue;
                if ((rc = credit_payment(r, &lf, b, row, g, before, c, p)) != SP_OK)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- one basis's pass ---- */

/*
 * Read the facts of the due components of `basis` from `src`: bookings and invoices their
 * refunds then their lines over the components' days; payments their payments then their
 * lines from the lookback day on. Every refund or payment must find its line.
 */
static int read_basis(run *r, uint32_t basis, const sp_fact_source *src,
                      const spi_fact_bounds *bounds, const sp_progress *progress)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t c = 0; c < r->nc; c++) {
        comp *k = &r->comps[c];
        k->on = k->due && r->plan->components[c].basis == basis;
        if (k->on && k->first < lo)
            lo = k->first;
        if (k->on && k->end > hi)
            hi = k->end;
    }
    if (lo >= hi)
        return SP_OK;
    bool invoices = basis == SPI_CBASIS_INVOICE ||
                    (basis == SPI_CBASIS_PAYMENT && r->in->invoices != NULL);
    r->basis = basis;
    r->pass_lo = lo;
    r->pass_hi = hi;
    r->lines_kind = invoices ? "invoice lines" : "order lines";
    r->line_noun = invoices ? "invoice line" : "order line";
    r->nrefunds = 0;
    int32_t from = lo;
    if (basis == SPI_CBASIS_PAYMENT) {
        from = r->in->lookback_from != 0 ? r->in->lookback_from : r->plan->from;
        from = from < lo ? from : lo;
    }
    sp_fact_query q = SP_FACT_QUERY_INIT;
    q.kind = basis == SPI_CBASIS_PAYMENT ? SP_FACT_PAYMENTS : SP_FACT_REFUNDS;
    q.from_day = from;
    q.to_day = hi;
    int rc = spi_facts_scan(r->ctx, src, &q, bounds, progress, take_refunds, r);
    if (rc != SP_OK)
        return rc;
    if (r->nrefunds > 1)
        qsort(r->refunds, r->nrefunds, sizeof *r->refunds, cmp_refund);
    q.kind = SP_FACT_ORDER_LINES;
    rc = spi_facts_scan(r->ctx, src, &q, bounds, progress,
                        basis == SPI_CBASIS_PAYMENT ? take_paid : take_lines, r);
    if (rc != SP_OK)
        return rc;
    for (size_t j = 0; j < r->nrefunds; j++) {
        const refund *g = &r->refunds[j];
        char day[24];
        if (g->matched)
            continue;
        if (basis == SPI_CBASIS_PAYMENT) {
            rc = spi_fail(r->ctx, SP_EINVAL,
                          WHAT ": payments batch %llu row %zu: payment %llu references line "
                          "%llu, which is no %s from %s on", (unsigned long long)g->batch,
                          g->row, (unsigned long long)g->id, (unsigned long long)g->ref,
                          r->line_noun, spi_day_text(from, day));
            break;
        }
        if ((rc = clawback(r, g, SIZE_MAX)) != SP_OK)
            break;
    }
    return rc;
}

/* ---- the sort ---- */

/*
 * The sort: in place (American flag sort: an MSD radix sort that permutes within the
 * array, then sorts each bucket by the next digit; buckets of 32 entries or fewer by
 * insertion), so that sorting needs no second array of 64-byte slots. The key is
 * (payee, comp, dk, fact); digits of 11 bits cover only the bits the largest value of each
 * field has. Entries with equal keys are errors (found after the sort), so stability does
 * not matter.
 */
#define RADIX_BITS 11u
#define RADIX_SIZE (1u << RADIX_BITS)
#define RADIX_MAX_DIGITS 16u
#define RADIX_SMALL 32u

typedef struct digit_spec {
    uint8_t field; /* 0 payee, 1 comp, 2 dk, 3 fact */
    uint8_t shift;
} digit_spec;

typedef struct sorter {
    digit_spec d[RADIX_MAX_DIGITS];
    unsigned nd;
    size_t *count; /* RADIX_MAX_DIGITS x 2 x RADIX_SIZE */
} sorter;

static inline uint64_t field_of(const stage *e, unsigned f)
{
    return f == 0 ? e->payee : f == 1 ? e->comp : f == 2 ? e->dk : e->fact;
}

static inline uint32_t digit_of(const sorter *so, const slot *x, unsigned d)
{
    return (uint32_t)(field_of(&x->s, so->d[d].field) >> so->d[d].shift) & (RADIX_SIZE - 1);
}

static inline bool key_less(const stage *x, const stage *y)
{
    if (x->payee != y->payee)
        return x->payee < y->payee;
    if (x->comp != y->comp)
        return x->comp < y->comp;
    if (x->dk != y->dk)
        return x->dk < y->dk;
    return x->fact < y->fact;
}

static unsigned bits_of(uint64_t v)
{
    unsigned b = 0;
    while (v != 0) {
        b++;
        v >>= 1;
    }
    return b;
}

static void sorter_init(sorter *so, const uint64_t max[4])
{
    so->nd = 0;
    for (unsigned f = 0; f < 4; f++) {
        unsigned bits = bits_of(max[f]);
        for (unsigned top = (bits + RADIX_BITS - 1) / RADIX_BITS; top > 0; top--) {
            so->d[so->nd].field = (uint8_t)f;
            so->d[so->nd].shift = (uint8_t)((top - 1) * RADIX_BITS);
            so->nd++;
        }
    }
}

static void flag_sort(const sorter *so, slot *a, size_t n, unsigned d)
{
    if (n <= RADIX_SMALL || d == so->nd) {
        for (size_t i = 1; i < n; i++) {
            slot v = a[i];
            size_t j = i;
            while (j > 0 && key_less(&v.s, &a[j - 1].s)) {
                a[j] = a[j - 1];
                j--;
            }
            a[j] = v;
        }
        return;
    }
    size_t *count = so->count + (size_t)d * 2 * RADIX_SIZE, *next = count + RADIX_SIZE;
    memset(count, 0, RADIX_SIZE * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[digit_of(so, &a[i], d)]++;
    if (count[digit_of(so, &a[0], d)] == n) {
        flag_sort(so, a, n, d + 1); /* one value: nothing to permute at this digit */
        return;
    }
    size_t sum = 0;
    for (size_t b = 0; b < RADIX_SIZE; b++) {
        next[b] = sum;
        sum += count[b];
    }
    /* Permute: each bucket's unplaced entries are taken to their bucket in turn. */
    for (size_t b = 0, start = 0; b < RADIX_SIZE; start += count[b], b++) {
        size_t end = start + count[b];
        while (next[b] < end) {
            slot v = a[next[b]];
            uint32_t k = digit_of(so, &v, d);
            while (k != b) {
                slot t = a[next[k]];
                a[next[k]++] = v;
                v = t;
                k = digit_of(so, &v, d);
            }
            a[next[b]++] = v;
        }
    }
    for (size_t b = 0, start = 0; b < RADIX_SIZE; start += count[b], b++)
        if (count[b] > 1)
            flag_sort(so, a + start, count[b], d + 1);
}

/* ---- schedules ---- */

static int payee_schedule(run *r, spi_csched *k, size_t p, size_t c)
{
    if (!k->on_attainment)
        return SP_OK;
    char what[SPI_CPLAN_ID_MAX * 2 + 128];
    snprintf(what, sizeof what, WHAT ": payee \"%s\": components[%zu] (\"%s\")",
             dict_text(r, r->in->payees[p]), c, r->plan->components[c].id);
    return spi_csched_quota(r->ctx, k, &r->plan->components[c],
                            r->in->quotas[p * r->nc + c], what);
}

static int schedule_fail(run *r, int rc, size_t p, size_t c, uint64_t fact)
{
    /* A plug-in's function has recorded its own error: named, not replaced. */
    if (r->plan->components[c].schedule.kind == SPI_CSCHED_PLUGIN && rc != SP_EOVERFLOW)
        return spi_fail_prefix(r->ctx, rc, NULL,
                               WHAT ": payee \"%s\": components[%zu] (\"%s\"): fact %llu",
                               dict_text(r, r->in->payees[p]), c, r->plan->components[c].id,
                               (unsigned long long)fact);
    return spi_fail(r->ctx, rc, WHAT ": payee \"%s\": components[%zu] (\"%s\"): fact %llu: %s",
                    dict_text(r, r->in->payees[p]), c, r->plan->components[c].id,
                    (unsigned long long)fact,
                    rc == SP_EOVERFLOW ? "the earning overflows" : "the schedule fails");
}

/* A deal line of a payee and component, at position `at` of the stage. */
typedef struct deal_at {
    uint64_t deal;
    size_t at;
} deal_at;

static int cmp_deal_at(const void *a, const void *b)
{
    const deal_at *x = a, *y = b;
    if (x->deal != y->deal)
        return x->deal < y->deal ? -1 : 1;
    return (x->at > y->at) - (x->at < y->at);
}

/*
 * Count the deals of one payee and component, the sorted stage a[i .. j): the first line
 * of each deal in the statement's order (day, kind, fact id) gets the base 1, the others
 * keep 0; the count is added to the measure. *keys (capacity *cap) is the scratch.
 */
static int count_deals(run *r, slot *a, size_t i, size_t j, deal_at **keys, size_t *cap,
                       int64_t *measure)
{
    size_t m = 0;
    for (size_t q = i; q < j; q++) {
        if ((a[q].s.pad & PAD_DEAL) == 0)
            continue;
        if (m == *cap) {
            size_t n = *cap ? 2 * *cap : 256;
            deal_at *g = spi_realloc_array(r->ctx, *keys, n, sizeof *g);
            if (g == NULL)
                return SP_ENOMEM;
            *keys = g;
            *cap = n;
        }
        (*keys)[m].deal = (uint64_t)a[q].s.aux;
        (*keys)[m++].at = q;
    }
    if (m > 1)
        qsort(*keys, m, sizeof **keys, cmp_deal_at);
    for (size_t t = 0; t < m; t++)
        if (t == 0 || (*keys)[t].deal != (*keys)[t - 1].deal) {
            a[(*keys)[t].at].s.base = 1;
            ++*measure; /* at most the lines staged: no overflow */
        }
    return SP_OK;
}

/* The lines: sort the stage, walk it per payee and component. */
static int make_lines(run *r, spi_csched *sched, spi_crun *out)
{
    size_t n = r->nst;
    sorter so;
    so.count = spi_malloc_array(r->ctx, RADIX_MAX_DIGITS * 2 * RADIX_SIZE, sizeof *so.count);
    spi_cstatement *sts = spi_calloc(r->ctx, r->np, sizeof *sts);
    if (so.count == NULL || sts == NULL) {
        spi_free(r->ctx, so.count);
        spi_free(r->ctx, sts);
        return SP_ENOMEM;
    }
    sorter_init(&so, r->max);
    slot *a = r->st;
    flag_sort(&so, a, n, 0);
    spi_free(r->ctx, so.count);
    uint32_t policy = r->plan->policy, mode = r->plan->rounding_mode;
    int rc = SP_OK;
    size_t i = 0, capkeys = 0;
    deal_at *keys = NULL;
    while (rc == SP_OK && i < n) {
        size_t p = a[i].s.payee, c = a[i].s.comp, j = i;
        while (j < n && a[j].s.payee == p && a[j].s.comp == c)
            j++;
        if ((rc = payee_schedule(r, &sched[c], p, c)) != SP_OK)
            break;
        if (r->comps[c].deals &&
            (rc = count_deals(r, a, i, j, &keys, &capkeys, &out->measure[p * r->nc + c])) !=
                SP_OK)
            break;
        int64_t cum = 0, *tot = &out->totals[p * r->nc + c];
        uint32_t prev_dk = 0;
        uint64_t prev_fact = 0;
        for (size_t q = i; q < j; q++) {
            const stage se = a[q].s, *e = &se;
            spi_cline *l = &a[q].l;
            if (q > i && e->dk == prev_dk && e->fact == prev_fact) {
                uint32_t kind = e->dk & KIND_MASK;
                rc = spi_fail(r->ctx, SP_EINVAL,
                              WHAT ": fact %llu: two %s with this id on one day",
                              (unsigned long long)e->fact,
                              kind == KIND_CLAWBACK      ? "clawbacks of a refund"
                              : kind == KIND_ADJUST       ? "adjustments"
                              : kind >= SPI_CLINE_PAYMENT ? "payments"
                              : kind >= SPI_CLINE_REFUND ? "refunds"
                              : r->plan->components[c].basis == SPI_CBASIS_INVOICE
                                  ? "invoice lines"
                                  : "order lines");
                break;
            }
            prev_dk = e->dk;
            prev_fact = e->fact;
            memset(l, 0, sizeof *l);
            l->fact = e->fact;
            l->base = e->base;
            l->day = r->lo + (int32_t)(e->dk >> KIND_BITS);
            l->kind = (uint8_t)(e->dk & KIND_MASK);
            if (l->kind == KIND_CLAWBACK)
                l->kind = SPI_CLINE_CLAWBACK;
            else if (l->kind == KIND_ADJUST)
                l->kind = SPI_CLINE_ADJUSTMENT;
            l->share = e->share;
            l->component = (uint16_t)c;
            if ((e->dk & 1u) != 0 || (e->pad & PAD_FIXED) != 0) { /* a SPIFF, a set earning */
                l->earned = l->own = e->aux;
                l->rate = e->rate;
                if ((e->dk & 1u) == 0 && __builtin_add_overflow(cum, e->base, &cum)) {
                    rc = schedule_fail(r, SP_EOVERFLOW, p, c, e->fact);
                    break;
                }
            } else {
                spi_schedule_line_out o;
                int64_t after;
                if (__builtin_add_overflow(cum, e->base, &after)) {
                    rc = schedule_fail(r, SP_EOVERFLOW, p, c, e->fact);
                    break;
                }
                rc = spi_schedule_line(&sched[c].s, cum, e->base, policy, mode, &o);
                if (rc != SP_OK) {
                    rc = schedule_fail(r, rc, p, c, e->fact);
                    break;
                }
                cum = after;
                l->earned = o.earned;
                l->own = o.own;
                l->true_up = o.true_up;
                l->rate = o.rate;
                l->tier_before = (uint16_t)o.tier_before;
                l->tier_after = (uint16_t)o.tier_after;
            }
            if (__builtin_add_overflow(*tot, l->earned, tot)) {
                rc = schedule_fail(r, SP_EOVERFLOW, p, c, e->fact);
                break;
            }
        }
        if (rc == SP_OK && sts[p].nlines == 0)
            sts[p].first = i;
        sts[p].nlines += j - i;
        i = j;
    }
    spi_free(r->ctx, keys);
    for (size_t p = 0; rc == SP_OK && p < r->np; p++) {
        if (sts[p].nlines == 0)
            sts[p].first = p > 0 ? sts[p - 1].first + sts[p - 1].nlines : 0;
        for (size_t c = 0; c < r->nc; c++)
            if (__builtin_add_overflow(sts[p].total, out->totals[p * r->nc + c], &sts[p].total))
                rc = spi_fail(r->ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the total overflows",
                              dict_text(r, r->in->payees[p]));
    }
    if (rc != SP_OK) {
        spi_free(r->ctx, sts);
        return rc;
    }
    out->lines = n > 0 ? &r->st[0].l : NULL;
    r->st = NULL; /* the run's now */
    out->nlines = n;
    out->statements = sts;
    return SP_OK;
}

/* The totals path: R(V(measure)) - R(V(0)) per payee and component, plus the SPIFFs. */
static int make_totals(run *r, spi_csched *sched, spi_crun *out)
{
    for (size_t p = 0; p < r->np; p++)
        for (size_t c = 0; c < r->nc; c++) {
            if (!r->comps[c].due)
                continue;
            int rc = payee_schedule(r, &sched[c], p, c);
            if (rc != SP_OK)
                return rc;
            int64_t m = r->measure[p * r->nc + c], s = r->spiffs[p * r->nc + c];
            spi_schedule_line_out o;
            if (m != 0 &&
                (rc = spi_schedule_line(&sched[c].s, 0, m, SPI_ROUND_PER_TOTAL,
                                        r->plan->rounding_mode, &o)) != SP_OK)
                return schedule_fail(r, rc, p, c, 0);
            if (__builtin_add_overflow(m != 0 ? o.earned : 0, s, &out->totals[p * r->nc + c]))
                return schedule_fail(r, SP_EOVERFLOW, p, c, 0);
        }
    return SP_OK;
}

/* ---- roll-ups to managers ---- */

/* The rule of component c for node v's level, or NULL. */
static const spi_cplan_level *level_rule(const run *r, size_t c, uint32_t v)
{
    const sp_hierarchy *h = r->in->hierarchy;
    const spi_cplan_component *k = &r->plan->components[c];
    uint32_t d = h->tree.depth[v];
    if (d >= h->nlevels)
        return NULL;
    for (size_t i = 0; i < k->nlevels; i++)
        if (strcmp(k->levels[i].name, h->levels[d]) == 0)
            return &k->levels[i];
    return NULL;
}

static uint32_t parent_of(const sp_hierarchy *h, uint32_t v)
{
    uint32_t p = h->parent[v];
    return p == SPI_TREE_NONE ? NO_PAYEE : p;
}

/*
 * Before any fact is read: the hierarchy (validated, every payee a node), each roll-up's
 * kernel (its level names resolved), and the quota of every payee at a level with a
 * threshold in a due component (the team's attainment is of it).
 */
static int setup_rollups(run *r)
{
    size_t first = SIZE_MAX;
    for (size_t c = 0; c < r->nc && first == SIZE_MAX; c++)
        if (r->plan->components[c].nlevels > 0)
            first = c;
    if (first == SIZE_MAX)
        return SP_OK;
    const sp_hierarchy *h = r->in->hierarchy;
    if (h == NULL)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].crediting.rollup: a roll-up needs the payees' "
                        "hierarchy", first);
    if (!h->valid)
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].crediting.rollup: the payees' hierarchy is not "
                        "validated (sp_hierarchy_validate)", first);
    if (h->tree.levels > UINT16_MAX + 1u) /* an override line holds the level in 16 bits */
        return spi_fail(r->ctx, SP_EINVAL,
                        WHAT ": components[%zu].crediting.rollup: the payees' hierarchy is %u "
                        "levels deep (an override's line holds a level up to %u)", first,
                        h->tree.levels, UINT16_MAX);
    size_t nnodes = sp_hierarchy_count(h);
    r->rollups = spi_calloc(r->ctx, r->nc, sizeof *r->rollups);
    r->payee_node = spi_malloc_array(r->ctx, r->np, sizeof *r->payee_node);
    r->node_payee = spi_malloc_array(r->ctx, nnodes, sizeof *r->node_payee);
    if (r->rollups == NULL || r->payee_node == NULL || r->node_payee == NULL)
        return SP_ENOMEM;
    for (size_t v = 0; v < nnodes; v++)
        r->node_payee[v] = NO_PAYEE;
    for (size_t p = 0; p < r->np; p++) {
        const char *id = NULL;
        size_t len = 0;
        (void)sp_dict_id(r->in->dict, r->in->payees[p], &id, &len); /* checked: in the dict */
        uint32_t v = spi_dict_lookup(h->ids, id, len);
        if (v == SP_NONE)
            return spi_fail(r->ctx, SP_EINVAL,
                            WHAT ": components[%zu].crediting.rollup: payee \"%s\" is no node of "
                            "the payees' hierarchy", first, id);
        r->payee_node[p] = v;
        r->node_payee[v] = (uint32_t)p;
    }
    for (size_t c = 0; c < r->nc; c++) {
        const spi_cplan_component *k = &r->plan->components[c];
        if (k->nlevels == 0)
            continue;
        int rc = spi_rollup_new(&r->rollups[c], r->ctx, h, k->levels, k->nlevels, k->count,
                                r->plan->rounding_mode);
        if (rc == SP_ENOMEM)
            return rc;
        if (rc != SP_OK)
            return spi_fail_prefix(r->ctx, rc, "commission roll-up: ",
                                   WHAT ": components[%zu].crediting.rollup", c);
        if (!r->comps[c].due)
            continue;
        r->rollup_due = true;
        for (size_t p = 0; p < r->np; p++) {
            const spi_cplan_level *l = level_rule(r, c, r->payee_node[p]);
            int64_t q = r->in->quotas != NULL ? r->in->quotas[p * r->nc + c] : 0;
            if (l != NULL && l->threshold >= 0 && q <= 0)
                return spi_fail(r->ctx, SP_EINVAL,
                                WHAT ": payee \"%s\": components[%zu] (\"%s\"): "
                                "crediting.rollup.levels.%s.threshold: the team's attainment "
                                "needs the manager's quota (%s)", dict_text(r, r->in->payees[p]),
                                c, k->id, l->name,
                                r->in->quotas == NULL ? "the run has no quotas"
                                                      : "it is 0");
        }
    }
    return SP_OK;
}

/* A credited line of a roll-up component, for the team's order. */
typedef struct team_line {
    uint64_t fact;
    int32_t day;
    uint32_t payee;
    uint32_t kind; /* a line through the schedule, or its SPIFF's */
    size_t at;     /* in the run's lines */
} team_line;

/* (day, kind, fact id), a line with its SPIFF's (kinds 2j and 2j + 1), then the payee. */
static int cmp_team_line(const void *a, const void *b)
{
    const team_line *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    if (x->kind >> 1 != y->kind >> 1)
        return x->kind >> 1 < y->kind >> 1 ? -1 : 1;
    if (x->fact != y->fact)
        return x->fact < y->fact ? -1 : 1;
    if (x->payee != y->payee)
        return x->payee < y->payee ? -1 : 1;
    return (x->kind > y->kind) - (x->kind < y->kind);
}

/* What the roll-ups make: the override lines (when kept) with their managers, and the
 * buffers of one team line. */
typedef struct overrides {
    spi_cline *lines;
    uint32_t *to;      /* each line's manager (a payee) */
    size_t n, cap;
    uint32_t *nodes;   /* np: one team line's payees (nodes), bases and earnings */
    int64_t *measures, *earnings;
    spi_override *ov;
    size_t capov;
    bool *reached;     /* per node */
    spi_i128 *team;    /* per node */
    team_line *tl;
    size_t captl;
} overrides;

static int keep_override(run *r, overrides *z, const spi_cline *l, uint32_t to)
{
    if (z->n == z->cap) {
        size_t cap = z->cap ? 2 * z->cap : 256;
        spi_cline *m = spi_realloc_array(r->ctx, z->lines, cap, sizeof *m);
        if (m == NULL)
            return SP_ENOMEM;
        z->lines = m;
        uint32_t *t = spi_realloc_array(r->ctx, z->to, cap, sizeof *t);
        if (t == NULL)
            return SP_ENOMEM;
        z->to = t;
        z->cap = cap;
    }
    z->lines[z->n] = *l;
    z->to[z->n++] = to;
    return SP_OK;
}

/*
 * The team measures and thresholds of roll-up component c: each payee's team is the
 * credited measure of the payees below it (exact in 128 bits, then checked); a manager at
 * a level with a threshold reached it when team x 10^9 >= threshold x quota.
 */
static int team_thresholds(run *r, size_t c, overrides *z, spi_crun *out)
{
    const sp_hierarchy *h = r->in->hierarchy;
    size_t nnodes = sp_hierarchy_count(h);
    for (size_t v = 0; v < nnodes; v++) {
        z->team[v] = 0;
        z->reached[v] = true;
    }
    for (size_t p = 0; p < r->np; p++) {
        int64_t m = out->measure[p * r->nc + c];
        for (uint32_t u = parent_of(h, r->payee_node[p]); u != NO_PAYEE; u = parent_of(h, u))
            z->team[u] += m;
    }
    for (size_t p = 0; p < r->np; p++) {
        uint32_t v = r->payee_node[p];
        spi_i128 t = z->team[v];
        if (t > INT64_MAX || t < INT64_MIN)
            return spi_fail(r->ctx, SP_EOVERFLOW,
                            WHAT ": payee \"%s\": components[%zu] (\"%s\"): the team's measure "
                            "overflows int64_t", dict_text(r, r->in->payees[p]), c,
                            r->plan->components[c].id);
        out->team[p * r->nc + c] = (int64_t)t;
        const spi_cplan_level *l = level_rule(r, c, v);
        if (l != NULL && l->threshold >= 0)
            z->reached[v] = t * SP_DEC_ONE >=
                            (spi_i128)l->threshold * r->in->quotas[p * r->nc + c];
    }
    return SP_OK;
}

/*
 * The overrides of roll-up component c: its credited lines across the team in the order
 * (day, kind, fact id), each with its payees (ascending payee index), their parts of the
 * measure and their earnings on it (the line's and its SPIFF's), through the kernel.
 */
static int rollup_component(run *r, size_t c, overrides *z, spi_crun *out)
{
    const spi_cplan_component *k = &r->plan->components[c];
    spi_rollup *ru = r->rollups[c];
    int rc = team_thresholds(r, c, z, out);
    if (rc != SP_OK)
        return rc;
    spi_rollup_begin_period(ru, z->reached);
    /* The credited lines (no settlement's yet): counted, then taken. */
    size_t m = 0;
    for (size_t i = 0; i < out->nlines; i++)
        m += out->lines[i].component == c;
    if (m > z->captl) {
        spi_free(r->ctx, z->tl);
        if ((z->tl = spi_malloc_array(r->ctx, m, sizeof *z->tl)) == NULL) {
            z->captl = 0;
            return SP_ENOMEM;
        }
        z->captl = m;
    }
    m = 0;
    for (size_t p = 0; p < r->np; p++) {
        const spi_cstatement *st = &out->statements[p];
        for (size_t i = st->first; i < st->first + st->nlines; i++) {
            const spi_cline *l = &out->lines[i];
            if (l->component == c && l->kind <= SPI_CLINE_PAYMENT_SPIFF)
                z->tl[m++] = (team_line){ l->fact, l->day, (uint32_t)p, l->kind, i };
        }
    }
    if (m > 1)
        qsort(z->tl, m, sizeof *z->tl, cmp_team_line);
    for (size_t i = 0, j; i < m; i = j) {
        const team_line *g = &z->tl[i];
        size_t n = 0;
        for (j = i; j < m && z->tl[j].day == g->day && z->tl[j].kind >> 1 == g->kind >> 1 &&
                    z->tl[j].fact == g->fact;
             j++) {
            const team_line *t = &z->tl[j];
            const spi_cline *l = &out->lines[t->at];
            if (n == 0 || z->nodes[n - 1] != r->payee_node[t->payee]) {
                z->nodes[n] = r->payee_node[t->payee];
                z->measures[n] = z->earnings[n] = 0;
                n++;
            }
            if (((t->kind & 1u) == 0 &&
                 __builtin_add_overflow(z->measures[n - 1], l->base, &z->measures[n - 1])) ||
                __builtin_add_overflow(z->earnings[n - 1], l->earned, &z->earnings[n - 1]))
                return spi_fail(r->ctx, SP_EOVERFLOW,
                                WHAT ": payee \"%s\": components[%zu] (\"%s\"): fact %llu: the "
                                "earnings overflow int64_t",
                                dict_text(r, r->in->payees[t->payee]), c, k->id,
                                (unsigned long long)g->fact);
        }
        size_t need = spi_rollup_max_overrides(ru, n), nov = 0;
        need = need > 0 ? need : 1; /* 0 rules in use (a level no node is on): no NULL out */
        if (need > z->capov) {
            spi_override *o = spi_realloc_array(r->ctx, z->ov, need, sizeof *o);
            if (o == NULL)
                return SP_ENOMEM;
            z->ov = o;
            z->capov = need;
        }
        rc = spi_rollup_line(ru, g->fact, z->nodes, z->measures, z->earnings, n, z->ov,
                             z->capov, &nov);
        if (rc != SP_OK)
            return spi_fail_prefix(r->ctx, rc, "commission roll-up: ",
                                   WHAT ": components[%zu] (\"%s\")", c, k->id);
        for (size_t q = 0; q < nov; q++) {
            const spi_override *o = &z->ov[q];
            uint32_t to = r->node_payee[o->manager], via = r->node_payee[o->via];
            if (to == NO_PAYEE) {
                char mq[SPI_QUOTE_CAP];
                if (r->in->unknown == SPI_CENGINE_ERROR)
                    return spi_fail(r->ctx, SP_EINVAL,
                                    WHAT ": components[%zu] (\"%s\"): fact %llu: manager %s of "
                                    "payee \"%s\" is no payee of the run", c, k->id,
                                    (unsigned long long)g->fact,
                                    spi_hierarchy_quote(r->in->hierarchy, o->manager, mq),
                                    dict_text(r, r->in->payees[via]));
                r->report.overrides_not_payee++;
                continue;
            }
            size_t cell = (size_t)to * r->nc + c;
            if (__builtin_add_overflow(out->totals[cell], o->amount, &out->totals[cell]) ||
                __builtin_add_overflow(out->overrides[cell], o->amount, &out->overrides[cell]))
                return spi_fail(r->ctx, SP_EOVERFLOW,
                                WHAT ": payee \"%s\": components[%zu] (\"%s\"): the earnings "
                                "with the overrides overflow int64_t",
                                dict_text(r, r->in->payees[to]), c, k->id);
            if (!r->in->want_lines)
                continue;
            spi_cline l;
            memset(&l, 0, sizeof l);
            l.fact = g->fact;
            l.day = g->day;
            l.base = o->base;
            l.earned = l.own = o->amount;
            const spi_cplan_level *rule = level_rule(r, c, o->manager);
            l.rate = rule != NULL ? rule->rate : 0; /* an override comes from a rule */
            l.share = via;
            l.tier_before = (uint16_t)o->level;
            l.tier_after = o->held ? 1 : 0;
            l.component = (uint16_t)c;
            l.kind = SPI_CLINE_OVERRIDE;
            if ((rc = keep_override(r, z, &l, to)) != SP_OK)
                return rc;
        }
    }
    return SP_OK;
}

/* The override lines into the managers' statements (after their own lines of each
 * component, in the order made), and into the statements' totals. */
static int insert_overrides(run *r, overrides *z, spi_crun *out)
{
    size_t *nadd = spi_calloc(r->ctx, r->np, sizeof *nadd);
    spi_cline *packed = spi_malloc_array(r->ctx, z->n, sizeof *packed);
    int rc = SP_OK;
    if (nadd == NULL || packed == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < z->n; i++)
        nadd[z->to[i]]++;
    /* A stable counting sort by manager: each one's lines stay by component, then made. */
    size_t *at = spi_malloc_array(r->ctx, r->np, sizeof *at);
    if (at == NULL) {
        rc = SP_ENOMEM;
        goto done;
    }
    for (size_t p = 0, sum = 0; p < r->np; p++) {
        at[p] = sum;
        sum += nadd[p];
    }
    for (size_t i = 0; i < z->n; i++)
        packed[at[z->to[i]]++] = z->lines[i];
    spi_free(r->ctx, at);
    for (size_t p = 0; p < r->np; p++)
        for (size_t c = 0; c < r->nc; c++)
            if (__builtin_add_overflow(out->statements[p].total, out->overrides[p * r->nc + c],
                                       &out->statements[p].total)) {
                rc = spi_fail(r->ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the total overflows",
                              dict_text(r, r->in->payees[p]));
                goto done;
            }
    rc = spi_clines_insert(r->ctx, out, packed, nadd);
done:
    spi_free(r->ctx, nadd);
    spi_free(r->ctx, packed);
    return rc;
}

/* Every due roll-up's overrides, into the totals (and the lines, when kept). */
static int make_overrides(run *r, spi_crun *out)
{
    size_t cells = r->np * r->nc, nnodes = sp_hierarchy_count(r->in->hierarchy);
    overrides z;
    memset(&z, 0, sizeof z);
    out->team = spi_calloc(r->ctx, cells, sizeof *out->team);
    out->overrides = spi_calloc(r->ctx, cells, sizeof *out->overrides);
    z.nodes = spi_malloc_array(r->ctx, r->np, sizeof *z.nodes);
    z.measures = spi_malloc_array(r->ctx, r->np, sizeof *z.measures);
    z.earnings = spi_malloc_array(r->ctx, r->np, sizeof *z.earnings);
    z.reached = spi_malloc_array(r->ctx, nnodes, sizeof *z.reached);
    z.team = spi_malloc_array(r->ctx, nnodes, sizeof *z.team);
    int rc = SP_OK;
    if (out->team == NULL || out->overrides == NULL || z.nodes == NULL || z.measures == NULL ||
        z.earnings == NULL || z.reached == NULL || z.team == NULL)
        rc = SP_ENOMEM;
    for (size_t c = 0; rc == SP_OK && c < r->nc; c++)
        if (r->comps[c].due && r->rollups[c] != NULL)
            rc = rollup_component(r, c, &z, out);
    if (rc == SP_OK && r->in->want_lines)
        rc = insert_overrides(r, &z, out);
    spi_free(r->ctx, z.lines);
    spi_free(r->ctx, z.to);
    spi_free(r->ctx, z.nodes);
    spi_free(r->ctx, z.measures);
    spi_free(r->ctx, z.earnings);
    spi_free(r->ctx, z.ov);
    spi_free(r->ctx, z.reached);
    spi_free(r->ctx, z.team);
    spi_free(r->ctx, z.tl);
    return rc;
}

/* ---- the run ---- */

static void run_free(run *r)
{
    for (size_t i = 0; r->comps != NULL && i < r->nc; i++) {
        for (int l = 0; l < SPI_CFILTER_LISTS; l++)
            spi_free(r->ctx, r->comps[i].allow[l]);
        spi_free(r->ctx, r->comps[i].spiffs);
    }
    spi_free(r->ctx, r->comps);
    spi_free(r->ctx, r->map1);
    spi_free(r->ctx, r->carry[0]);
    spi_free(r->ctx, r->carry[1]);
    spi_free(r->ctx, r->refunds);
    spi_free(r->ctx, r->paid_refunded);
    spi_free(r->ctx, r->spiffs);
    spi_free(r->ctx, r->st);
    spi_free(r->ctx, r->scratch);
    for (size_t c = 0; r->rollups != NULL && c < r->nc; c++)
        spi_rollup_free(r->rollups[c]);
    spi_free(r->ctx, r->rollups);
    spi_free(r->ctx, r->payee_node);
    spi_free(r->ctx, r->node_payee);
}

void spi_crun_free(sp_ctx *ctx, spi_crun *res)
{
    if (res == NULL)
        return;
    spi_free(ctx, res->due);
    spi_free(ctx, res->first);
    spi_free(ctx, res->end);
    spi_free(ctx, res->measure);
    spi_free(ctx, res->totals);
    spi_free(ctx, res->statements);
    spi_free(ctx, res->lines);
    spi_free(ctx, res->caps);
    spi_free(ctx, res->draws);
    spi_free(ctx, res->carry);
    spi_free(ctx, res->team);
    spi_free(ctx, res->overrides);
    memset(res, 0, sizeof *res);
}

static int check_input(sp_ctx *ctx, const spi_cengine_input *in)
{
    if (in == NULL || in->plan == NULL || in->dict == NULL || in->src == NULL ||
        (in->npayees > 0 && in->payees == NULL))
        return spi_fail(ctx, SP_EINVAL, WHAT ": the input, its plan, dictionary, source or "
                                           "payees is NULL");
    if (in->period > SPI_CPERIOD_YEAR)
        return spi_fail(ctx, SP_EINVAL, WHAT ": period %u is no grain (month 0, quarter 1, "
                                           "year 2)", in->period);
    if (in->unknown > SPI_CENGINE_ERROR)
        return spi_fail(ctx, SP_EINVAL, WHAT ": unknown payee policy %u", in->unknown);
    if (in->plan->ncomponents > UINT16_MAX)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %zu components are too many",
                        in->plan->ncomponents);
    if (in->npayees >= NO_PAYEE)
        return spi_fail(ctx, SP_EINVAL, WHAT ": %zu payees are too many", in->npayees);
    return SP_OK;
}

int spi_cengine_run(sp_ctx *ctx, const spi_cengine_input *in, const sp_progress *progress,
                    spi_crun *out)
{
    int rc = check_input(ctx, in);
    if (rc != SP_OK)
        return rc;
    if (out == NULL)
        return spi_fail(ctx, SP_EINVAL, WHAT ": out is NULL");
    run r;
    memset(&r, 0, sizeof r);
    r.ctx = ctx;
    r.in = in;
    r.plan = in->plan;
    r.np = in->npayees;
    r.nc = in->plan->ncomponents;
    r.ndict = (uint32_t)sp_dict_count(in->dict);
    spi_crun o;
    memset(&o, 0, sizeof o);
    o.npayees = r.np;
    o.ncomponents = r.nc;
    spi_csched *sched = NULL;
    sp_calendar *cal = NULL;
    for (size_t i = 0; i < r.nc; i++)
        if ((rc = check_component(&r, i)) != SP_OK)
            return rc;
    spi_csettle settle = { r.plan, in->dict, in->payees, r.np, in->carry_in, in->period,
                           NULL, NULL, 0, 0, NULL };
    if ((rc = spi_csettle_check(ctx, &settle)) != SP_OK)
        return rc;
    size_t cells = r.np * r.nc;
    r.map1 = spi_malloc_array(ctx, (size_t)r.ndict + 1, sizeof *r.map1);
    r.comps = spi_calloc(ctx, r.nc, sizeof *r.comps);
    r.paid_refunded = spi_malloc_array(ctx, in->npaid, sizeof *r.paid_refunded);
    r.measure = o.measure = spi_calloc(ctx, cells, sizeof *o.measure);
    r.spiffs = spi_calloc(ctx, cells, sizeof *r.spiffs);
    o.totals = spi_calloc(ctx, cells, sizeof *o.totals);
    /* The caps' figures only for a plan with caps (each fresh array of a run costs its page
     * faults, which the totals path's budget feels). */
    bool any_cap = false;
    for (size_t c = 0; c < r.nc; c++)
        any_cap = any_cap || r.plan->components[c].cap > 0;
    o.caps = any_cap ? spi_calloc(ctx, cells, sizeof *o.caps) : NULL;
    o.due = spi_calloc(ctx, r.nc, sizeof *o.due);
    o.first = spi_calloc(ctx, r.nc, sizeof *o.first);
    o.end = spi_calloc(ctx, r.nc, sizeof *o.end);
    sched = spi_calloc(ctx, r.nc, sizeof *sched);
    size_t maxp = in->splits ? spi_split_table_max_parts(in->splits) : 0;
    if (maxp > SPI_SPLIT_STACK_PARTS)
        r.scratch = spi_malloc(ctx, SPI_SPLIT_SCRATCH(maxp));
    if (r.map1 == NULL || r.comps == NULL || r.paid_refunded == NULL || o.measure == NULL ||
        r.spiffs == NULL || o.totals == NULL || (any_cap && o.caps == NULL) || o.due == NULL || o.first == NULL || o.end == NULL ||
        sched == NULL || (maxp > SPI_SPLIT_STACK_PARTS && r.scratch == NULL)) {
        rc = SP_ENOMEM;
        goto fail;
    }
    for (size_t e = 0; e < in->npaid; e++)
        r.paid_refunded[e] = in->paid[e].refunded;
    if (maxp > SPI_SPLIT_STACK_PARTS) {
        rc = spi_fail(ctx, SP_EINVAL, WHAT ": a split of %zu payees (the engine takes at most %d)",
                      maxp, SPI_SPLIT_STACK_PARTS);
        goto fail;
    }
    for (uint32_t d = 0; d <= r.ndict; d++)
        r.map1[d] = NO_PAYEE;
    r.ident = r.np == r.ndict;
    for (size_t p = 0; p < r.np; p++) {
        uint32_t d = in->payees[p];
        if (d >= r.ndict || r.map1[d + 1] != NO_PAYEE) {
            rc = spi_fail(ctx, SP_EINVAL, WHAT ": payees[%zu]: %u is %s", p, d,
                          d >= r.ndict ? "no index of the dictionary" : "given twice");
            goto fail;
        }
        r.map1[d + 1] = (uint32_t)p;
        r.ident = r.ident && d == p;
    }
    if ((rc = sp_calendar_new(&cal, ctx, &r.plan->calendar.opts)) != SP_OK ||
        (rc = setup_periods(&r, cal)) != SP_OK || (rc = setup_filters(&r)) != SP_OK ||
        (rc = setup_rollups(&r)) != SP_OK)
        goto fail;
    for (size_t c = 0; c < r.nc; c++) {
        o.due[c] = r.comps[c].due;
        o.first[c] = r.comps[c].first;
        o.end[c] = r.comps[c].end;
        char what[SPI_CPLAN_ID_MAX + 64];
        snprintf(what, sizeof what, WHAT ": components[%zu] (\"%s\")", c, r.plan->components[c].id);
        if ((rc = spi_csched_init(ctx, &sched[c], &r.plan->components[c], what)) != SP_OK)
            goto fail;
        r.comps[c].flat_rate = sched[c].s.nvalues > 0 ? sched[c].values[0] : 0; /* not a plug-in */
    }
    /* Overrides are rounded per line and need the team's lines in order (and their
     * earnings): a roll-up takes the lines path. */
    bool lines_needed = in->want_lines || r.plan->policy == SPI_CPOLICY_PER_LINE ||
                        r.rollup_due;
    for (size_t c = 0; c < r.nc; c++)
        if (r.comps[c].due && (r.plan->components[c].schedule.accumulate == SPI_CACCUM_LINE ||
                               r.comps[c].deals)) /* deals are counted on the lines */
            lines_needed = true;
    r.keep = lines_needed;
    if (r.lo < r.hi) {
        spi_fact_bounds bounds = SPI_FACT_BOUNDS_ANY;
        for (uint32_t col = SPI_COLUMN_REP; col <= SPI_COLUMN_CHANNEL; col++)
            spi_fact_bounds_set(&bounds, col, r.ndict);
        const sp_fact_source *lines = in->invoices != NULL ? in->invoices : in->src;
        if ((rc = read_basis(&r, SPI_CBASIS_BOOKING, in->src, &bounds, progress)) != SP_OK ||
            (rc = read_basis(&r, SPI_CBASIS_INVOICE, in->invoices, &bounds, progress)) != SP_OK ||
            (rc = read_basis(&r, SPI_CBASIS_PAYMENT, lines, &bounds, progress)) != SP_OK)
            goto fail;
        for (size_t j = 0; rc == SP_OK && j < in->nadjust; j++)
            rc = adjust(&r, &in->adjust[j], j);
        if (rc != SP_OK)
            goto fail;
        for (size_t cell = 0; cell < cells; cell++)
            for (int w = 0; w < 2; w++)
                if (r.carry[w] != NULL && r.carry[w][cell] != 0) {
                    rc = spi_fail(ctx, SP_EOVERFLOW,
                                  WHAT ": payee \"%s\": components[%zu] (\"%s\"): the %s "
                                  "overflow int64_t", dict_text(&r, in->payees[cell / r.nc]),
                                  cell % r.nc, r.plan->components[cell % r.nc].id,
                                  w == 0 ? "credits" : "SPIFFs");
                    goto fail;
                }
    }
    for (size_t j = 0; rc == SP_OK && r.lo >= r.hi && j < in->nadjust; j++)
        rc = adjust(&r, &in->adjust[j], j); /* none is due: each names its component */
    if (rc != SP_OK)
        goto fail;
    /* Every payee's thresholds, lines or not, so that both paths fail alike; and its caps'
     * figures for the settlement. */
    for (size_t p = 0; rc == SP_OK && p < r.np; p++)
        for (size_t c = 0; rc == SP_OK && c < r.nc; c++)
            if (r.comps[c].due && (rc = payee_schedule(&r, &sched[c], p, c)) == SP_OK &&
                sched[c].s.has_cap)
                rc = spi_csettle_cap(ctx, &settle, p, c, &sched[c].s, o.measure[p * r.nc + c],
                                     r.plan->rounding_mode, &o.caps[p * r.nc + c]);
    if (rc != SP_OK)
        goto fail;
    if (lines_needed)
        rc = make_lines(&r, sched, &o);
    else
        rc = make_totals(&r, sched, &o);
    /* The overrides after every schedule (an earnings base needs the lines' earnings) and
     * before the settlement (they are earnings of the manager's draw). */
    if (rc == SP_OK && r.rollup_due)
        rc = make_overrides(&r, &o);
    if (rc != SP_OK)
        goto fail;
    if (!in->want_lines) {
        spi_free(ctx, o.lines);
        spi_free(ctx, o.statements);
        o.lines = NULL;
        o.statements = NULL;
        o.nlines = 0;
    }
    settle.due = o.due;
    settle.end = o.end;
    settle.draw_amounts = in->draw_amounts;
    settle.first = r.run_first;
    settle.end_day = r.run_end;
    if ((rc = spi_csettle_apply(ctx, &settle, &o)) != SP_OK)
        goto fail;
    r.report.totals_path = !lines_needed;
    o.report = r.report;
    r.measure = NULL;
    for (size_t c = 0; c < r.nc; c++)
        spi_csched_free(ctx, &sched[c]);
    spi_free(ctx, sched);
    sp_calendar_free(cal);
    run_free(&r);
    *out = o;
    return SP_OK;
fail:
    for (size_t c = 0; sched != NULL && c < r.nc; c++)
        spi_csched_free(ctx, &sched[c]);
    spi_free(ctx, sched);
    sp_calendar_free(cal);
    r.measure = NULL;
    run_free(&r);
    spi_crun_free(ctx, &o);
    return rc;
}
