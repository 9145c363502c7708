/*
 * Caps carried forward and draws (draw.h; docs/commission.md, "Caps carried forward and
 * draws"): the settlement of a run's component totals, after its schedules. Nothing here
 * rounds: every figure is a sum or difference of amounts in minor units (a draw's
 * proration for a payee who starts mid-period comes with payee assignments).
 */
#include <string.h>

#include "../core/internal.h"
#include "../money/numeric.h"
#include "../storage/dict_internal.h"
#include "draw.h"
#include "engine.h"

#define WHAT "commission run"


static const char *payee_text(const spi_csettle *s, size_t p)
{
    return spi_dict_text(s->dict, s->payees[p]);
}

static int64_t carried(const spi_csettle *s, size_t p, size_t col)
{
    return s->carry_in == NULL
               ? 0
               : s->carry_in[p * SPI_CCARRY_WIDTH(s->plan->ncomponents) + col];
}

int spi_csettle_check(sp_ctx *ctx, const spi_csettle *s)
{
    const spi_cplan *plan = s->plan;
    const spi_cplan_draw *d = &plan->draw;
    if (d->kind != SPI_CDRAW_NONE && d->period != s->run_period)
        return d->period < s->run_period
                   ? spi_fail(ctx, SP_EINVAL,
                              WHAT ": draw.period: a %s draw in a %s run (run it per %s)",
                              spi_cplan_period_names[d->period], spi_cplan_period_names[s->run_period],
                              spi_cplan_period_names[d->period])
                   : spi_fail(ctx, SP_EINVAL,
                              WHAT ": draw.period: a %s draw in a %s run (a draw is settled "
                              "in a run of its own period, on the earnings of the whole "
                              "period; draws over several runs come later)",
                              spi_cplan_period_names[d->period], spi_cplan_period_names[s->run_period]);
    for (size_t p = 0; s->carry_in != NULL && p < s->npayees; p++) {
        int64_t b = carried(s, p, SPI_CCARRY_DRAW);
        if (b < 0)
            return spi_fail(ctx, SP_EINVAL,
                            WHAT ": payee \"%s\": carry-in: the draw balance %lld is negative",
                            payee_text(s, p), (long long)b);
        if (b > 0 && d->kind != SPI_CDRAW_RECOVERABLE)
            return spi_fail(ctx, SP_EINVAL,
                            WHAT ": payee \"%s\": carry-in: a draw balance of %lld, but the "
                            "plan has no recoverable draw", payee_text(s, p), (long long)b);
        for (size_t c = 0; c < plan->ncomponents; c++) {
            const spi_cplan_component *k = &plan->components[c];
            int64_t x = carried(s, p, SPI_CCARRY_CAP(c));
            if (x < 0)
                return spi_fail(ctx, SP_EINVAL,
                                WHAT ": payee \"%s\": components[%zu] (\"%s\"): carry-in: the "
                                "cap excess %lld is negative", payee_text(s, p), c, k->id,
                                (long long)x);
            if (x > 0 && (k->cap == 0 || !k->carry_forward))
                return spi_fail(ctx, SP_EINVAL,
                                WHAT ": payee \"%s\": components[%zu] (\"%s\"): carry-in: a cap "
                                "excess of %lld, but the component carries none forward (%s)",
                                payee_text(s, p), c, k->id, (long long)x,
                                k->cap == 0 ? "no cap" : "cap.carry_forward is false");
        }
    }
    return SP_OK;
}

/*
 * With V' the schedule without its bonuses (they come after the cap and are not capped):
 * the line from 0 to M per total earns R(V'(M)) - R(V'(0)) and reports capped_to_date
 * R(A(M)) - R(V'(M)), where V'(M) = min(A(M), cap); V'(0) is a whole amount (0, or a
 * table's or curve's a0, capped), so R(V'(M)) = min(R(A(M)), cap) follows exactly.
 */
int spi_csettle_cap(sp_ctx *ctx, const spi_csettle *s, size_t p, size_t c,
                    const spi_schedule *k, int64_t measure, uint32_t mode, spi_ccap_out *out)
{
    spi_schedule t = *k;
    t.nbonus = 0;
    spi_schedule_line_out o;
    spi_i128 v0 = 0;
    int64_t paid = 0;
    int rc = spi_schedule_line(&t, 0, measure, SPI_ROUND_PER_TOTAL, mode, &o);
    if (rc == SP_OK)
        rc = spi_schedule_value(&t, 0, &v0);
    if (rc == SP_OK &&
        __builtin_add_overflow(o.earned, (int64_t)(v0 / SPI_SCHEDULE_V_DEN), &paid))
        rc = SP_EOVERFLOW;
    if (rc != SP_OK)
        return spi_fail(ctx, rc, WHAT ": payee \"%s\": components[%zu] (\"%s\"): the payout "
                                 "before the cap overflows int64_t", payee_text(s, p), c,
                        s->plan->components[c].id);
    /* paid <= cap; a negative payout (refunds) leaves more room than the cap: saturated,
     * it only bounds what is released. */
    if (__builtin_sub_overflow(k->cap, paid, &out->room))
        out->room = INT64_MAX;
    out->excess = o.capped_to_date;
    out->released = 0;
    return SP_OK;
}

/* A settlement line (draw.h): fact 0, share 100 %, own = earned, true_up 0. */
static spi_cline line_of(uint32_t kind, size_t comp, int32_t day, int64_t base, int64_t rate,
                         int64_t earned)
{
    spi_cline l;
    memset(&l, 0, sizeof l);
    l.kind = (uint8_t)kind;
    l.component = (uint16_t)comp;
    l.day = day;
    l.base = base;
    l.rate = rate;
    l.earned = l.own = earned;
    l.share = (uint32_t)SP_DEC_ONE;
    return l;
}

/* The most settlement lines of one payee: two per component, two of the draw. */
static size_t lines_max(size_t nc)
{
    return 2 * nc + 2;
}

/*
 * From the last payee to the first so that no line is overwritten before it moves: a
 * payee's lines only move up, by the new lines of the payees before it and its own.
 */
int spi_clines_insert(sp_ctx *ctx, struct spi_crun *out, const spi_cline *add,
                      const size_t *nadd)
{
    size_t np = out->npayees, total = 0;
    for (size_t p = 0; p < np; p++)
        total += nadd[p];
    if (total == 0)
        return SP_OK;
    spi_cline *lines = spi_realloc_array(ctx, out->lines, out->nlines + total, sizeof *lines);
    if (lines == NULL)
        return SP_ENOMEM;
    out->lines = lines;
    size_t shift = total; /* the new lines of the payees up to p */
    for (size_t p = np; p-- > 0;) {
        spi_cstatement *st = &out->statements[p];
        const spi_cline *mine = add + shift - nadd[p];
        size_t k = nadd[p], from = st->first, read = from + st->nlines, w = read + shift;
        while (k > 0 && mine[k - 1].component == SPI_CLINE_NO_COMPONENT)
            lines[--w] = mine[--k];
        for (size_t c = out->ncomponents; c-- > 0;) {
            while (k > 0 && mine[k - 1].component == c)
                lines[--w] = mine[--k];
            size_t start = read;
            while (start > from && lines[start - 1].component == c)
                start--;
            w -= read - start;
            memmove(&lines[w], &lines[start], (read - start) * sizeof *lines);
            read = start;
        }
        shift -= nadd[p];
        st->first = w;
        st->nlines += nadd[p];
    }
    out->nlines += total;
    return SP_OK;
}

int spi_csettle_apply(sp_ctx *ctx, const spi_csettle *s, struct spi_crun *out)
{
    const spi_cplan *plan = s->plan;
    const spi_cplan_draw *d = &plan->draw;
    size_t np = s->npayees, nc = plan->ncomponents, width = SPI_CCARRY_WIDTH(nc),
           per = lines_max(nc);
    bool lines = out->statements != NULL;
    bool draw_due = d->kind != SPI_CDRAW_NONE && s->first < s->end_day;
    bool forgive = draw_due && d->kind == SPI_CDRAW_RECOVERABLE &&
                   d->forgive_on != SPI_CPLAN_NO_DAY && d->forgive_on >= s->first &&
                   d->forgive_on < s->end_day;
    out->carry = spi_calloc(ctx, np, width * sizeof *out->carry);
    out->draws = d->kind != SPI_CDRAW_NONE ? spi_calloc(ctx, np, sizeof *out->draws) : NULL;
    spi_cline *add = lines ? spi_malloc_array(ctx, np, per * sizeof *add) : NULL;
    size_t *nadd = lines ? spi_calloc(ctx, np, sizeof *nadd) : NULL;
    int rc = SP_OK;
    if (out->carry == NULL || (d->kind != SPI_CDRAW_NONE && out->draws == NULL) ||
        (lines && (add == NULL || nadd == NULL))) {
        rc = SP_ENOMEM;
        goto done;
    }
    size_t used = 0; /* the new lines, packed payee after payee */
    for (size_t p = 0; p < np; p++) {
        int64_t *carry = &out->carry[p * width], delta = 0;
        spi_cline *mine = add != NULL ? add + used : NULL;
        size_t n = 0;
        for (size_t c = 0; c < nc; c++) {
            const spi_cplan_component *k = &plan->components[c];
            spi_ccap_out *cap = out->caps != NULL ? &out->caps[p * nc + c] : NULL;
            int64_t in = carried(s, p, SPI_CCARRY_CAP(c));
            carry[SPI_CCARRY_CAP(c)] = in;
            if (!s->due[c] || k->cap == 0)
                continue;
            int32_t day = s->end[c] - 1;
            int64_t *tot = &out->totals[p * nc + c];
            if (k->carry_forward) {
                cap->released = in < cap->room ? in : cap->room;
                if (__builtin_add_overflow(in - cap->released, cap->excess,
                                           &carry[SPI_CCARRY_CAP(c)]) ||
                    __builtin_add_overflow(*tot, cap->released, tot) ||
                    __builtin_add_overflow(delta, cap->released, &delta)) {
                    rc = spi_fail(ctx, SP_EOVERFLOW,
                                  WHAT ": payee \"%s\": components[%zu] (\"%s\"): the cap's "
                                  "carried excess overflows int64_t", payee_text(s, p), c,
                                  k->id);
                    goto done;
                }
                if (mine != NULL && cap->released > 0)
                    mine[n++] = line_of(SPI_CLINE_CAP_RELEASE, c, day, in, k->cap,
                                        cap->released);
            }
            if (mine != NULL && cap->excess > 0)
                mine[n++] = line_of(k->carry_forward ? SPI_CLINE_CAP_CARRY : SPI_CLINE_CAP_LOST,
                                    c, day, cap->excess, k->cap, 0);
        }
        spi_cdraw_out none = { 0, 0, 0, 0, 0 };
        spi_cdraw_out *dr = out->draws != NULL ? &out->draws[p] : &none;
        dr->balance = carried(s, p, SPI_CCARRY_DRAW);
        if (draw_due) {
            int64_t e = 0;
            int32_t day = s->end_day - 1;
            bool ok = true;
            for (size_t c = 0; c < nc && ok; c++)
                ok = !__builtin_add_overflow(e, out->totals[p * nc + c], &e);
            if (!ok) {
                rc = spi_fail(ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the total overflows",
                              payee_text(s, p));
                goto done;
            }
            dr->earned = e;
            int64_t amount = s->draw_amounts != NULL ? s->draw_amounts[p] : d->amount;
            if (e < amount) {
                /* max(E, D) is paid: a negative E (refunds) is topped up to D too. */
                ok = !__builtin_sub_overflow(amount, e, &dr->paid) &&
                     (d->kind != SPI_CDRAW_RECOVERABLE ||
                      !__builtin_add_overflow(dr->balance, dr->paid, &dr->balance));
                if (mine != NULL)
                    mine[n++] = line_of(SPI_CLINE_DRAW, SPI_CLINE_NO_COMPONENT, day, e,
                                        amount, dr->paid);
            } else if (d->kind == SPI_CDRAW_RECOVERABLE && e > amount && dr->balance > 0) {
                int64_t above = e - amount; /* e > amount >= 0: no overflow */
                dr->recovered = above < dr->balance ? above : dr->balance;
                if (mine != NULL)
                    mine[n++] = line_of(SPI_CLINE_DRAW_RECOVERY, SPI_CLINE_NO_COMPONENT,
                                        day, dr->balance, amount, -dr->recovered);
                dr->balance -= dr->recovered;
            }
            if (ok && forgive && dr->balance > 0) {
                dr->forgiven = dr->balance;
                if (mine != NULL)
                    mine[n++] = line_of(SPI_CLINE_DRAW_FORGIVEN, SPI_CLINE_NO_COMPONENT,
                                        day, dr->balance, amount, 0);
                dr->balance = 0;
            }
            /* delta + paid - recovered: the statement's total becomes max(E, D) - recovered */
            if (!ok || __builtin_add_overflow(delta, dr->paid - dr->recovered, &delta)) {
                rc = spi_fail(ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the draw overflows int64_t",
                              payee_text(s, p));
                goto done;
            }
        }
        carry[SPI_CCARRY_DRAW] = dr->balance;
        if (lines) {
            nadd[p] = n;
            used += n;
            if (__builtin_add_overflow(out->statements[p].total, delta,
                                       &out->statements[p].total)) {
                rc = spi_fail(ctx, SP_EOVERFLOW, WHAT ": payee \"%s\": the total overflows",
                              payee_text(s, p));
                goto done;
            }
        }
    }
    if (lines)
        rc = spi_clines_insert(ctx, out, add, nadd);
done:
    spi_free(ctx, add);
    spi_free(ctx, nadd);
    return rc;
}
