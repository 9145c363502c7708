/*
 * Internal interface of commission crediting (docs/commission.md, "Crediting"): who is
 * credited with how much of each fact, before any rate schedule runs.
 *
 *  - Splits: a line's values divided among its payees by shares (sp_dec summing to
 *    exactly 100 %) by exact allocation: the parts always sum to the value; leftover units
 *    go to the largest remainders, equal remainders to the entry given first for the line.
 *    A split table is built and validated once, then looked up per fact.
 *  - Payments: a payment against an invoice is prorated to its lines by a cumulative
 *    allocation over the line amounts; a payment against a line credits the part of the
 *    line's values that the line's cumulative paid amount reaches, rounded once.
 *  - Roll-up: the override credits of the managers above the payees of a line, per level
 *    of the payees' hierarchy, with a threshold flag per manager and period, an `above`
 *    amount on the team's period-to-date base, and the count rule (once per payee or every
 *    path).
 *
 * Values are int64_t (money in minor units, quantities in units); rates are sp_dec; every
 * amount from a rate is R(rate x base) with the caller's rounding mode, computed in 128
 * bits and rounded once. Errors are recorded in the context (messages start with
 * "commission splits: ", "commission payment: " or "commission roll-up: " and name the
 * fact ids); outputs are written only on success.
 */
#ifndef SPI_COMMISSION_CREDIT_H
#define SPI_COMMISSION_CREDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "plan_doc.h"
#include "salesplan/hierarchy.h"
#include "salesplan/money.h"

/* ==== splits ==== */

typedef struct spi_split_table spi_split_table;

/*
 * A split table from n entries: entry i gives fact fact_ids[i] to payee payees[i] (a
 * dense payee index < npayees) with share shares[i]. The entries of one fact may be
 * anywhere in the arrays; their order among themselves (the order of the arrays) is the
 * tie rule of the allocation. Checked once, in this order: every entry in array order (a
 * payee beyond npayees, a share below 0 or above 100 %), then every fact in ascending
 * id order (a payee twice, shares not summing to exactly 100 %); the message names the
 * fact id and the entry. Sorted input (ascending fact ids) is taken as it is; other input
 * is sorted in linear time (a stable radix sort). At most UINT32_MAX - 1 entries.
 * SP_EINVAL, SP_ENOMEM.
 */
int spi_split_table_new(spi_split_table **out, sp_ctx *ctx, const uint64_t *fact_ids,
                        const uint32_t *payees, const sp_dec *shares, size_t n,
                        uint32_t npayees);
void spi_split_table_free(spi_split_table *t);

/* The number of facts with a split, and the most entries any of them has (the capacity
 * that the `parts` of spi_credit_split needs). */
size_t spi_split_table_facts(const spi_split_table *t);
size_t spi_split_table_max_parts(const spi_split_table *t);

/* The split of fact_id, by binary search over the sorted fact ids: *group for the
 * functions below. False (recording nothing) when the fact has no entry. */
bool spi_split_find(const spi_split_table *t, uint64_t fact_id, size_t *group);
/* The payees of a group, in entry order, and their number. */
const uint32_t *spi_split_group_payees(const spi_split_table *t, size_t group, size_t *n);
/* Their shares, in the same order. */
const sp_dec *spi_split_group_shares(const spi_split_table *t, size_t group, size_t *n);

/*
 * parts[0 .. n) = value allocated over the shares of `group` (n as above): floors of
 * share x value, leftover units to the largest remainders, equal remainders to the
 * earlier entry; a negative value is the mirror image, so splitting -v gives exactly
 * the negated parts of v. `scratch` holds SPI_SPLIT_SCRATCH(max_parts) bytes, aligned
 * for int64_t, or is NULL to use the stack, which works up to SPI_SPLIT_STACK_PARTS
 * parts. SP_EOVERFLOW for INT64_MIN; SP_EINVAL for a group beyond the table or a NULL
 * scratch with too many parts. Never allocates.
 */
int spi_split_group_apply(const spi_split_table *t, size_t group, int64_t value,
                          void *scratch, int64_t *parts);

#define SPI_SPLIT_STACK_PARTS 64
#define SPI_SPLIT_SCRATCH(n) ((n) * 2 * sizeof(int64_t))

/* spi_split_find, then spi_split_group_apply; SP_ENOTFOUND (recording nothing) when
 * fact_id has no split: the line is then credited whole to its rep. */
int spi_credit_split(const spi_split_table *t, uint64_t fact_id, int64_t value,
                     void *scratch, int64_t *parts);

/* ==== payments prorated to lines ==== */

/*
 * The part of each line of an invoice (`doc`, a fact id for messages) that one payment
 * pays: with A = sum of the line amounts and P the invoice's cumulative paid amount,
 * out[i] = alloc(P_before + payment)[i] - alloc(P_before)[i], where alloc(P) is P
 * allocated over the weights |amounts[i]| (sp_allocate's largest remainders, ties to the
 * lower line). So the payments of an invoice never pay a line more than its amount, and
 * the payments that pay the whole invoice pay every line exactly. Every non-zero line
 * amount has the sign of A; P_before and P_before + payment lie between 0 and A. A part
 * may be one unit against the payment's sign when three or more lines share a payment
 * (largest remainders are not monotone in the total; the cumulative parts stay within
 * the lines). SP_EINVAL (naming the payment and the invoice), SP_EOVERFLOW, SP_ENOMEM
 * (above 64 lines it allocates scratch).
 */
int spi_credit_prorate(sp_ctx *ctx, uint64_t doc, const int64_t *amounts, size_t nlines,
                       uint64_t payment_fact, int64_t paid_before, int64_t payment,
                       int64_t *out);

/* A line paid over time: its fact id, amount and the values it credits when paid in
 * full (its amount, quantity, cost, margin, its commission: any int64_t). */
typedef struct spi_paid_line {
    uint64_t fact;
    int64_t amount;
    size_t nvalues;
    const int64_t *values;
} spi_paid_line;

/*
 * What a payment of `payment` against `line`, paid `paid_before` so far, credits of each
 * of the line's values: out[k] = R(v_k x P_after / a) - R(v_k x P_before / a) with
 * P_after = P_before + payment, a the line's amount and R the rounding `mode`. The
 * credits to date R(v x P / a) are monotone in P, so each payment credits a value
 * between 0 and v in its direction, they never total more than v, and a line paid in full
 * credits exactly v. P_before and P_after lie between 0 and a (a negative line is paid
 * by negative payments); otherwise SP_EINVAL naming both facts ("payment 9 of 500 brings
 * the paid amount of line 7 to 1500, above its amount 1000"). A line of amount 0 credits
 * nothing. SP_EINVAL for a bad mode, SP_EOVERFLOW.
 */
int spi_credit_paid(sp_ctx *ctx, const spi_paid_line *line, uint64_t payment_fact,
                    int64_t paid_before, int64_t payment, uint32_t mode, int64_t *out);

/* ==== roll-up to managers ==== */

typedef struct spi_rollup spi_rollup;

/*
 * A roll-up over the payees' hierarchy `h` (validated; payees are its nodes; the
 * caller keeps it alive and unchanged while the roll-up exists) with the override rules
 * of a plan's `crediting.rollup`: `levels[0 .. nlevels)` by level name (every name must
 * name a level of h), `count` an spi_cplan_count, `mode` the plan's rounding mode.
 * SP_EINVAL naming the level, SP_ENOMEM. The roll-up starts a period with every
 * threshold reached (spi_rollup_begin_period).
 */
int spi_rollup_new(spi_rollup **out, sp_ctx *ctx, const sp_hierarchy *h,
                   const spi_cplan_level *levels, size_t nlevels, uint32_t count, uint32_t mode);
void spi_rollup_free(spi_rollup *r);

/* Start a period: every manager's team base to date back to 0, and reached[v] (per node
 * of the hierarchy; NULL: all true) says whether manager v reached its level's threshold
 * in the period (attainment is the engine's). Levels without a threshold ignore it. */
void spi_rollup_begin_period(spi_rollup *r, const bool *reached);

/* The most overrides one line credited to n payees can give: n x the number of levels
 * with a rule. */
size_t spi_rollup_max_overrides(const spi_rollup *r, size_t npayees);

/* One override credit. */
typedef struct spi_override {
    uint32_t manager; /* the node credited */
    uint32_t via;     /* the payee of the line it comes through (once_per_payee: the first
                         of the line's payees below the manager) */
    uint32_t level;   /* the manager's level (depth) */
    int64_t base;     /* what the rate applies to: the credited base (the payees' parts of
                         the line's measure, or their earnings), after `above` */
    int64_t amount;   /* R(rate x base); 0 when held */
    bool held;        /* the manager's threshold is not reached in the period */
} spi_override;

/*
 * The overrides of one line `fact` credited to payees[0 .. n) (distinct nodes) with
 * bases[i] each (their parts of the line's measure, or their earnings on it, as the
 * rules say: `measures` and `earnings`, either NULL when no rule is on it). For each
 * payee in order, each ancestor from the parent up to the root whose level has a rule:
 * every_path gives one override per (payee, ancestor); once_per_payee one per ancestor,
 * on the sum of the bases of the line's payees below it, in the order first reached. The
 * base is the slice of the manager's team base to date above the rule's `above`
 * (`above` 0: the whole base), and every manager's team base to date moves by it.
 * out has room for `cap` overrides (spi_rollup_max_overrides; SP_EBUFFER otherwise);
 * *nout receives the count. SP_EINVAL (a payee beyond the hierarchy, twice, NULL arrays),
 * SP_EOVERFLOW naming the fact and the manager. On error the roll-up's state (the team
 * bases) is as before the call; `out` may have been written.
 */
int spi_rollup_line(spi_rollup *r, uint64_t fact, const uint32_t *payees,
                    const int64_t *measures, const int64_t *earnings, size_t n,
                    spi_override *out, size_t cap, size_t *nout);

#endif /* SPI_COMMISSION_CREDIT_H */
