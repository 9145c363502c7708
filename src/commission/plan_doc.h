/*
 * Commission plan documents (docs/commission.md, "Plan documents"): one effective-dated
 * version of a plan, read strictly with the record reader (every error names its path,
 * line and column; unknown members get a "did you mean"; members that do not apply to
 * their kind are errors) and written back in canonical form (the public
 * sp_commission_plan holds one); the engine turns the schedule specs into kernel
 * schedules (src/commission/schedule.c).
 *
 * Units: money in minor units of the plan's currency (int64_t); rates, multipliers and
 * attainments as sp_dec (value x 10^9); days as day numbers (days since 1970-01-01).
 * A threshold (a tier's breakpoint, the gate, an accelerator's start, a bonus's level) is
 * in the units of its schedule's `on`: an attainment (sp_dec) for "attainment", else a
 * measure value (minor units for amount and margin, whole units for quantity, lines and
 * deals).
 */
#ifndef SPI_COMMISSION_PLAN_DOC_H
#define SPI_COMMISSION_PLAN_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "salesplan/calendar.h"
#include "salesplan/money.h"

struct sp_ctx;
struct spi_writer;

#define SPI_CPLAN_NO_DAY INT32_MIN  /* a date that is not given (open end) */
#define SPI_CPLAN_ID_MAX 255u        /* bytes of a plan, component, product ... id */
#define SPI_CPLAN_RATE_MAX ((sp_dec)10 * SP_DEC_ONE) /* 1000 %, unless declared */

typedef enum spi_cplan_measure_kind {
    SPI_CMEASURE_AMOUNT = 0,   /* credited amount (money) */
    SPI_CMEASURE_QUANTITY = 1, /* units */
    SPI_CMEASURE_MARGIN = 2,   /* amount - cost (money) */
    SPI_CMEASURE_LINES = 3,    /* count of lines */
    SPI_CMEASURE_DEALS = 4     /* count of distinct fact ids */
} spi_cplan_measure_kind;

typedef enum spi_cplan_basis {
    SPI_CBASIS_BOOKING = 0,
    SPI_CBASIS_INVOICE = 1,
    SPI_CBASIS_PAYMENT = 2
} spi_cplan_basis;

/* The ids lists of a filter, in this order. */
enum { SPI_CFILTER_PRODUCT, SPI_CFILTER_CUSTOMER, SPI_CFILTER_GRID, SPI_CFILTER_CHANNEL,
       SPI_CFILTER_LISTS };

typedef enum spi_cplan_period {
    SPI_CPERIOD_MONTH = 0,
    SPI_CPERIOD_QUARTER = 1,
    SPI_CPERIOD_YEAR = 2
} spi_cplan_period;

typedef enum spi_cplan_sched_kind {
    SPI_CSCHED_FLAT = 0,
    SPI_CSCHED_MARGINAL = 1,
    SPI_CSCHED_RETROACTIVE = 2,
    SPI_CSCHED_INTERPOLATED = 3,
    SPI_CSCHED_TABLE = 4,
    SPI_CSCHED_PLUGIN = 5 /* a plug-in kind registered on the context (plugin.h) */
} spi_cplan_sched_kind;

typedef enum spi_cplan_on { SPI_CON_MEASURE = 0, SPI_CON_ATTAINMENT = 1 } spi_cplan_on;
typedef enum spi_cplan_boundary { SPI_CBOUND_LOWER = 0, SPI_CBOUND_UPPER = 1 } spi_cplan_boundary;
/* What the schedule's measure accumulates over: the period (the default) or each line alone
 * (tiers walked from 0 for every line). */
typedef enum spi_cplan_accumulate {
    SPI_CACCUM_PERIOD = 0,
    SPI_CACCUM_LINE = 1
} spi_cplan_accumulate;

/* What each tier gives: a rate of the measure, an amount per unit, an amount (tables). */
typedef enum spi_cplan_value {
    SPI_CVALUE_RATE = 0,
    SPI_CVALUE_PER_UNIT = 1,
    SPI_CVALUE_AMOUNT = 2
} spi_cplan_value;

typedef enum spi_cplan_policy { SPI_CPOLICY_PER_TOTAL = 0, SPI_CPOLICY_PER_LINE = 1 } spi_cplan_policy;
typedef enum spi_cplan_splits { SPI_CSPLITS_NONE = 0, SPI_CSPLITS_FACTS = 1 } spi_cplan_splits;
typedef enum spi_cplan_count { SPI_CCOUNT_ONCE_PER_PAYEE = 0, SPI_CCOUNT_EVERY_PATH = 1 } spi_cplan_count;
typedef enum spi_cplan_override_on { SPI_CRON_MEASURE = 0, SPI_CRON_EARNINGS = 1 } spi_cplan_override_on;
typedef enum spi_cplan_limit { SPI_CLIMIT_PAID = 0, SPI_CLIMIT_NONE = 1 } spi_cplan_limit;
typedef enum spi_cplan_draw_kind { SPI_CDRAW_NONE = 0, SPI_CDRAW_NON_RECOVERABLE = 1,
                                   SPI_CDRAW_RECOVERABLE = 2 } spi_cplan_draw_kind;

typedef struct spi_cplan_filter {
    char **ids[SPI_CFILTER_LISTS]; /* each in ascending byte order, distinct */
    size_t nids[SPI_CFILTER_LISTS];
    int32_t from, to;              /* days, inclusive; SPI_CPLAN_NO_DAY: open */
} spi_cplan_filter;

typedef struct spi_cplan_tier {
    int64_t from;  /* breakpoint (threshold units); 0 for the first tier */
    int64_t value; /* sp_dec rate, or minor units per unit, or minor units */
} spi_cplan_tier;

typedef struct spi_cplan_schedule {
    uint32_t kind;     /* spi_cplan_sched_kind */
    uint32_t on;       /* spi_cplan_on */
    uint32_t boundary; /* spi_cplan_boundary */
    uint32_t accumulate; /* spi_cplan_accumulate */
    uint32_t value;    /* spi_cplan_value of every tier (interpolated with amounts: a payout
                          curve, the kernel's SPI_SCHEDULE_CURVE) */
    bool decreasing;   /* declared: a tier's value may be below the one before */
    bool high_rates;   /* declared: rates above SPI_CPLAN_RATE_MAX */
    size_t ntiers;     /* >= 1; flat: exactly 1; a plug-in: 0 */
    spi_cplan_tier *tiers;
    const struct spi_ckind *plugin; /* SPI_CSCHED_PLUGIN: the registered kind */
    char *params;      /* its "params", canonical JSON text ("null" when absent) */
    size_t params_len;
    void *state;       /* what the kind's prepare made of them (released with the plan) */
} spi_cplan_schedule;

typedef struct spi_cplan_quota {
    bool given;          /* given per payee through the API; else from a target set */
    char *plan;          /* target set: the target plan's id */
    char *scenario;
    uint32_t version;    /* 0: the latest */
} spi_cplan_quota;

typedef struct spi_cplan_accel {
    int64_t from;     /* threshold units */
    sp_dec multiplier;
    bool retroactive; /* the whole payout once reached, not only the part above */
} spi_cplan_accel;

typedef struct spi_cplan_bonus {
    int64_t at;     /* threshold units */
    int64_t amount; /* minor units */
} spi_cplan_bonus;

typedef struct spi_cplan_spiff {
    char *product;
    uint32_t per;     /* SPI_CVALUE_PER_UNIT, or SPI_CVALUE_AMOUNT: per line */
    int64_t amount;   /* minor units */
    int32_t from, to; /* days, inclusive; SPI_CPLAN_NO_DAY: the version's own */
} spi_cplan_spiff;

typedef struct spi_cplan_level {
    char *name;     /* a level of the payees' hierarchy */
    sp_dec rate;
    sp_dec threshold; /* the team's attainment from which the override is paid; -1: none */
    int64_t above;    /* minor units: only the team's credited measure above it pays; 0: none */
    uint32_t on;    /* spi_cplan_override_on */
} spi_cplan_level;

typedef struct spi_cplan_component {
    char *id;
    uint32_t measure;   /* spi_cplan_measure_kind */
    uint32_t basis;     /* spi_cplan_basis */
    spi_cplan_filter filter;
    uint32_t period;    /* spi_cplan_period */
    spi_cplan_schedule schedule;
    bool has_quota;
    spi_cplan_quota quota;
    int64_t gate;       /* threshold units; 0: none */
    size_t naccels;
    spi_cplan_accel *accels;     /* ascending from */
    int64_t cap;        /* minor units; 0: none */
    bool carry_forward;
    size_t nbonuses;
    spi_cplan_bonus *bonuses;    /* ascending at */
    size_t nspiffs;
    spi_cplan_spiff *spiffs;
    uint32_t splits;    /* spi_cplan_splits */
    size_t nlevels;     /* 0: no roll-up */
    spi_cplan_level *levels;     /* ascending name bytes */
    uint32_t count;     /* spi_cplan_count */
    bool has_clawback;
    uint32_t window_days;
    uint32_t limit;     /* spi_cplan_limit */
} spi_cplan_component;

typedef struct spi_cplan_calendar {
    uint32_t preset;           /* sp_calendar_preset; 0: the options as given */
    sp_calendar_options opts;  /* the preset's, or the given; ranges point into `ranges` */
    int32_t *ranges;           /* holiday pairs, then workday pairs */
} spi_cplan_calendar;

typedef struct spi_cplan_draw {
    uint32_t kind;      /* spi_cplan_draw_kind; NONE: no draw */
    int64_t amount;     /* minor units per period */
    uint32_t period;    /* spi_cplan_period */
    int32_t forgive_on; /* recoverable: SPI_CPLAN_NO_DAY or a day */
} spi_cplan_draw;

typedef struct spi_cplan {
    char *plan;
    char *name;               /* NULL: none */
    int32_t from, to;         /* effective days, inclusive; to SPI_CPLAN_NO_DAY: open */
    bool gap_allowed;         /* declared: a gap before this version is intended */
    char currency[4];
    int32_t exponent;
    spi_cplan_calendar calendar;
    uint32_t rounding_mode;   /* sp_round_mode */
    uint32_t policy;          /* spi_cplan_policy */
    size_t ncomponents;
    spi_cplan_component *components;
    spi_cplan_draw draw;
} spi_cplan;

/* Names of the enumerations as documents write them, indexed by value. */
extern const char *const spi_cplan_measure_names[5];
extern const char *const spi_cplan_period_names[3];
extern const char *const spi_cplan_sched_names[6];
extern const char *const spi_cplan_policy_names[2];
extern const char *const spi_cplan_round_names[7];

/* The sp_grain of a period (spi_cplan_period). */
uint32_t spi_cplan_grain(uint32_t period);
/* The period of an sp_grain (month, quarter or year); false for another grain. */
bool spi_cplan_period_of_grain(uint32_t grain, uint32_t *period);
#define SPI_CPLAN_PERIODS 3u
#define SPI_CPLAN_POLICIES 2u
#define SPI_CPLAN_ROUND_MODES 7u

/* Read json[0..len): SP_OK and *out filled, or SP_EINVAL / SP_ENOMEM with the message
 * (naming the path, line and column) and *out untouched, nothing allocated. */
int spi_cplan_read(struct sp_ctx *ctx, const char *json, size_t len, spi_cplan *out);
/* The canonical form: *bytes (free with spi_free) and *len. SP_ENOMEM. */
int spi_cplan_write(struct sp_ctx *ctx, const spi_cplan *plan, uint8_t **bytes, size_t *len);
/* The same document as a value of an enclosing record (the stored plan's chunks); the
 * writer's errors stick, as always. */
void spi_cplan_write_to(struct spi_writer *w, const spi_cplan *plan);
/* True when a and b hold the same plan (every member, deeply). */
bool spi_cplan_equal(const spi_cplan *a, const spi_cplan *b);
void spi_cplan_free(struct sp_ctx *ctx, spi_cplan *plan);

#endif /* SPI_COMMISSION_PLAN_DOC_H */
