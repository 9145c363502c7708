/*
 * Internal interface of the calendar: civil (proleptic Gregorian) date arithmetic in
 * integers, with day numbers counted from 1970-01-01, and a calendar's year layout for the
 * modules that split or locate by periods. Functions taking a ctx report to it, not to the
 * calendar's own context, so that one calendar can serve work running under other
 * contexts.
 */
#ifndef SPI_CALENDAR_INTERNAL_H
#define SPI_CALENDAR_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "../core/internal.h"
#include "salesplan/calendar.h"

/* ---- civil dates: nothing here allocates or fails ---- */

/* Day numbers of 0001-01-01 and 9999-12-31: the days the library accepts anywhere. */
#define SPI_DAY_MIN INT32_C(-719162)
#define SPI_DAY_MAX INT32_C(2932896)

/* Day number of y-m-d, for any year; m in 1..12, d in 1..31 (not checked). */
int64_t spi_days_from_civil(int64_t y, int m, int d);
/* The civil date of day number z, for any z in int32_t range and beyond. */
void spi_civil_from_days(int64_t z, int64_t *y, int *m, int *d);
/* ISO weekday of day number z: 1 Monday .. 7 Sunday (1970-01-01 was a Thursday). */
int spi_weekday(int64_t z);
/* Days in month m of year y. */
int spi_days_in_month(int64_t y, int m);
/* floor(a / b) for b > 0. */
int64_t spi_floor_div(int64_t a, int64_t b);
/* "YYYY-MM-DD" of day z into buf (at least 24 bytes), for messages; returns buf. */
const char *spi_day_text(int64_t z, char *buf);

/* ---- fiscal years ---- */

/* The names of the sp_grain values, by value: "year" .. "week" (messages, records). */
extern const char *const spi_grain_names[SP_GRAIN_WEEK + 1];

/* One fiscal year of a calendar: [first, end), month k is [month_start[k],
 * month_start[k + 1]), week k starts at week_first + 7k. */
typedef struct spi_year_layout {
    int64_t first, end;
    int64_t month_start[13];
    int64_t week_first;
    uint32_t nweeks;
} spi_year_layout;

void spi_calendar_layout(const sp_calendar *cal, int64_t fy, spi_year_layout *yl);
uint32_t spi_calendar_count_in(const spi_year_layout *yl, uint32_t grain);
void spi_calendar_bounds_in(const spi_year_layout *yl, uint32_t grain, uint32_t index,
                            int64_t *first, int64_t *end);
int64_t spi_calendar_working_days_in(const sp_calendar *cal, int64_t first, int64_t end);
/* cal non-NULL, fy in range, grain known; messages start with `what`. */
int spi_calendar_check_year(sp_ctx *ctx, const char *what, const sp_calendar *cal, int32_t fy,
                            uint32_t grain);
/* sp_calendar_periods reporting to ctx under the name `what`. */
int spi_calendar_periods(sp_ctx *ctx, const char *what, const sp_calendar *cal, int32_t fy,
                         uint32_t grain, int32_t *first_day, int32_t *end_day,
                         int32_t *working_days, size_t cap, size_t *count);
/* The fiscal year and period of a day known to be in range (see sp_calendar_locate). */
void spi_calendar_locate(const sp_calendar *cal, int64_t day, uint32_t grain,
                         int32_t *fiscal_year, uint32_t *index);

#endif /* SPI_CALENDAR_INTERNAL_H */
