/*
 * Internal interface of the commission rate schedules (docs/commission.md, "Rate
 * schedules"): a schedule is one exact function P(x) of the period-to-date measure x,
 * optionally followed by a gate, accelerators, a cap and bonuses, and a line moving the
 * measure from c to c + m earns R(V(c + m)) - R(V(c)) ("per total") or R(V(c + m) - V(c))
 * ("per line"), where V is P after the modifiers and R rounds to the minor unit.
 *
 * Exact values: the base payout P(x) is a spi_i128 numerator in units of 10^-9 minor
 * units (a measure times an sp_dec rate); the payout after the modifiers V(x) is one in
 * units of 10^-18 minor units (an accelerator multiplies P by an sp_dec). A curve's P(x)
 * is a rational whose denominator is the width of x's segment: the kernel carries it as
 * that numerator plus a remainder over the width, so a line is still rounded once, from
 * the exact value (spi_schedule_payout_exact gives it). The functions
 * other than spi_schedule_check and spi_schedule_attainment_breaks take a schedule that
 * spi_schedule_check accepted, and record nothing: their status codes say everything.
 */
#ifndef SPI_COMMISSION_SCHEDULE_H
#define SPI_COMMISSION_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../money/numeric.h"
#include "salesplan/money.h"

typedef enum spi_schedule_kind {
    SPI_SCHEDULE_FLAT = 1,         /* one rate, no breakpoints: P(x) = r0 x */
    SPI_SCHEDULE_MARGINAL = 2,     /* each part of the measure at its own tier's rate */
    SPI_SCHEDULE_RETROACTIVE = 3,  /* the whole measure at the rate of the tier reached */
    SPI_SCHEDULE_INTERPOLATED = 4, /* retroactive, the rate linear within each tier */
    SPI_SCHEDULE_TABLE = 5,        /* the amount of the highest tier reached */
    SPI_SCHEDULE_CURVE = 6,        /* a payout curve: amounts a_i at the points b_i (a0 at
                                      0), linear between them, flat after the last */
    SPI_SCHEDULE_PLUGIN = 7        /* P(x) in whole minor units from a host's function */
} spi_schedule_kind;

/* A plug-in's P(x): 0 and *payout in minor units, or a status (SP_EUSER: the function has
 * recorded the host's error in its context). */
typedef int (*spi_schedule_fn)(void *arg, int64_t x, int64_t *payout);

/* Which tier owns a measure exactly on a breakpoint b_i (and whether a gate, an
 * accelerator's `from` or a bonus's `at` equal to the measure is reached). */
typedef enum spi_schedule_boundary {
    SPI_BOUNDARY_LOWER = 0, /* x == b_i is in tier i: "from b_i on" (the default) */
    SPI_BOUNDARY_UPPER = 1  /* x == b_i is still in tier i - 1: "above b_i" */
} spi_schedule_boundary;

/* How a line's earning is rounded. */
typedef enum spi_schedule_policy {
    SPI_ROUND_PER_TOTAL = 0, /* R(V(c + m)) - R(V(c)): lines telescope to R(V(total)) */
    SPI_ROUND_PER_LINE = 1   /* R(V(c + m) - V(c)): each line rounded alone */
} spi_schedule_policy;

/* The most breakpoints, accelerators or bonuses a schedule may have. */
#define SPI_SCHEDULE_MAX_ITEMS 4096

/* 10^9 and 10^18: the denominators of P and of V. */
#define SPI_SCHEDULE_P_DEN ((spi_i128)1000000000)
#define SPI_SCHEDULE_V_DEN ((spi_i128)1000000000 * 1000000000)

/*
 * A schedule. Arrays are the caller's, read during each call only. Modifiers are absent
 * when their count is 0 (accelerators, bonuses) or their flag false (gate, cap).
 */
typedef struct spi_schedule {
    uint32_t kind;          /* spi_schedule_kind */
    uint32_t boundary;      /* spi_schedule_boundary */
    bool decreasing;        /* a rate (or a table's amount) may be below the one before */
    size_t nbreaks;         /* k, 0 for flat */
    const int64_t *breaks;  /* k measures b1 < ... < bk, all > 0 */
    size_t nvalues;         /* k + 1: the number of rates, or of amounts */
    const sp_dec *rates;    /* rate kinds: r0 .. rk >= 0, a fraction or minor units per
                               unit (either way P = x r / 10^9); NULL for a table or a
                               curve */
    const int64_t *amounts; /* table, curve: a0 .. ak >= 0 in minor units; NULL otherwise */
    bool per_line_measure;  /* each line measured alone (tiers walked from 0 for every
                               line, nothing accumulated): the line is the one from 0 to
                               its m (a negative m mirrors the line of -m); no modifiers */

    bool has_gate;
    int64_t gate;              /* > 0: V = 0 until the measure reaches it */
    size_t naccel;
    const int64_t *accel_from; /* naccel measures, increasing, > 0 */
    const sp_dec *accel_mult;  /* naccel multipliers >= 0 (1 below the first `from`) */
    bool accel_retroactive;    /* the whole payout at the multiplier reached, instead of
                                  each part of it at its own multiplier */
    bool has_cap;
    int64_t cap;                 /* >= 0, minor units: V = min(payout, cap) */
    size_t nbonus;
    const int64_t *bonus_at;     /* nbonus measures, increasing, > 0 */
    const int64_t *bonus_amount; /* nbonus amounts >= 0, minor units, paid once reached */
    spi_schedule_fn fn;          /* a plug-in: its P (no breaks, rates or amounts) */
    void *fn_arg;
} spi_schedule;

/* What a line earns, in minor units, and why. Under either policy
 * earned = own + true_up + gate + accel - capped + bonus exactly. */
typedef struct spi_schedule_line_out {
    int64_t earned;
    int64_t own;       /* the schedule's earning on the line's own measure */
    int64_t true_up;   /* retroactive, interpolated, table, curve: the schedule's earning
                          for the measure before the line (0 for flat and marginal, and
                          for every kind measured per line) */
    int64_t gate;      /* < 0 what the gate holds back; > 0 what it releases */
    int64_t accel;     /* what the accelerators add (or, below 1, take) */
    int64_t capped;    /* > 0 what the cap holds back of this line; < 0 released */
    int64_t bonus;     /* bonuses reached (< 0: lost again by a refund) */
    int64_t capped_to_date; /* all that the cap holds back at c + m */
    size_t tier_before, tier_after; /* tiers of c and of c + m under the boundary rule */
    sp_dec rate_before, rate;       /* the rate at c and at c + m (rho for interpolated,
                                       0 for a table or a curve) */
} spi_schedule_line_out;

/*
 * Check a schedule; messages start with `what` (NULL: "commission schedule") and name the
 * item ("breaks[2]: 500 is not above breaks[1] 500").
 */
int spi_schedule_check(sp_ctx *ctx, const spi_schedule *s, const char *what);

/* The tier of x: the number of breakpoints reached (0 .. k) under the boundary rule. */
size_t spi_schedule_tier(const spi_schedule *s, int64_t x);

/* The rate at x: r(tier(x)) for flat, marginal and retroactive, rho(x) for interpolated,
 * 0 for a table or a curve; r0 for every x < 0. */
sp_dec spi_schedule_rate(const spi_schedule *s, int64_t x);

/* P(x) in 10^-9 minor units, without the modifiers: exact for every kind but a curve,
 * whose P(x) is rounded toward minus infinity to 10^-9 (exact on its points). Never
 * overflows (proof in schedule.c). Not for a plug-in, whose function may fail:
 * spi_schedule_value and spi_schedule_line call it and return its status. */
spi_i128 spi_schedule_payout(const spi_schedule *s, int64_t x);

/* P(x) exactly: *num / *den minor units. *den is 10^9 for every kind but a curve, and the
 * width of x's segment for a curve (1 on a point from the last on, or below 0). */
void spi_schedule_payout_exact(const spi_schedule *s, int64_t x, spi_i128 *num, int64_t *den);

/* V(x): P(x) after the gate, the accelerators, the cap and the bonuses, exactly, in
 * 10^-18 minor units (for a curve, rounded toward minus infinity). SP_EOVERFLOW when some stage is beyond 2^127 (beyond about
 * 1.7 x 10^20 minor units: no payout that fits an int64_t). */
int spi_schedule_value(const spi_schedule *s, int64_t x, spi_i128 *out);

/*
 * The earning of a line moving the measure from c to c + m under `policy`
 * (with per_line_measure: from 0 to m, c ignored; a negative m earns the negation of the
 * line of -m, parts and all)
 * (spi_schedule_policy), rounded by `mode` (sp_rounding). SP_EINVAL for a NULL argument or
 * an unknown policy or mode; SP_EOVERFLOW when c + m overflows or a reported amount, or
 * (per total) R(V(c)) or R(V(c + m)), does not fit an int64_t. *out written on success only.
 */
int spi_schedule_line(const spi_schedule *s, int64_t c, int64_t m, uint32_t policy,
                      uint32_t mode, spi_schedule_line_out *out);

/*
 * Attainment breakpoints to measures: breaks[i] = ceil(pct[i] x quota), the first measure
 * at which attainment reaches pct[i] (an sp_dec fraction, 1.0 = 100 %). pct must be
 * increasing and > 0, quota > 0, and no two breakpoints may become the same measure.
 * Messages start with `what` (the caller names the payee and the component). breaks is
 * written on success only.
 */
int spi_schedule_attainment_breaks(sp_ctx *ctx, const char *what, int64_t quota,
                                   const sp_dec *pct, size_t k, int64_t *breaks);

#endif /* SPI_COMMISSION_SCHEDULE_H */
