/*
 * Civil (proleptic Gregorian) date arithmetic in integers: day numbers counted from
 * 1970-01-01. Internal to the target module; nothing here allocates or fails.
 */
#ifndef SPI_TARGET_CIVIL_H
#define SPI_TARGET_CIVIL_H

#include <stdint.h>

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

#endif /* SPI_TARGET_CIVIL_H */
