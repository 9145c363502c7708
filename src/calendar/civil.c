/*
 * Civil dates from day numbers and back, in integers only.
 *
 * The Gregorian calendar repeats every 400 years (146097 days). Counting years from March
 * puts the leap day at the end of the counted year, so the day of the year follows from
 * the month by a fixed linear formula: the months March .. February have 31 30 31 30 31
 * 31 30 31 30 31 31 28/29 days, whose cumulative counts are (153 * k + 2) / 5 for the
 * k-th month from March. Howard Hinnant's "chrono-compatible low-level date algorithms"
 * describes the method; this is our own rendering of it.
 */
#include <stdio.h>

#include "calendar_internal.h"

#define DAYS_PER_ERA 146097     /* 400 Gregorian years */
#define EPOCH_SHIFT 719468      /* days from 0000-03-01 to 1970-01-01 */

int64_t spi_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* Days before the k-th month counted from March (k = 0 for March). */
static int64_t days_before_month(int64_t k)
{
    return (153 * k + 2) / 5;
}

int64_t spi_days_from_civil(int64_t y, int m, int d)
{
    int64_t year = m <= 2 ? y - 1 : y; /* the year that began on the last March 1 */
    int64_t era = spi_floor_div(year, 400);
    int64_t year_of_era = year - era * 400;             /* 0 .. 399 */
    int64_t month_from_march = m > 2 ? m - 3 : m + 9;   /* 0 .. 11 */
    int64_t day_of_year = days_before_month(month_from_march) + d - 1;
    int64_t day_of_era =
        year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT;
}

void spi_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t shifted = z + EPOCH_SHIFT;
    int64_t era = spi_floor_div(shifted, DAYS_PER_ERA);
    int64_t day_of_era = shifted - era * DAYS_PER_ERA; /* 0 .. 146096 */
    /* Years of the era: remove the leap days (one per 4 years, less one per 100, plus one
     * per 400; the last day of the era belongs to year 399). */
    int64_t year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36524 -
                           day_of_era / (DAYS_PER_ERA - 1)) / 365;
    int64_t day_of_year = day_of_era - (year_of_era * 365 + year_of_era / 4 - year_of_era / 100);
    int64_t month_from_march = (5 * day_of_year + 2) / 153;
    *d = (int)(day_of_year - days_before_month(month_from_march) + 1);
    *m = (int)(month_from_march < 10 ? month_from_march + 3 : month_from_march - 9);
    *y = era * 400 + year_of_era + (*m <= 2);
}

int spi_weekday(int64_t z)
{
    return (int)((z % 7 + 7 + 3) % 7) + 1;
}

int spi_days_in_month(int64_t y, int m)
{
    static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : days[m - 1];
}

const char *spi_day_text(int64_t z, char *buf)
{
    int64_t y;
    int m, d;
    spi_civil_from_days(z, &y, &m, &d);
    if (snprintf(buf, 24, "%04lld-%02d-%02d", (long long)y, m, d) >= 24) /* only y <= -10^16 */
        snprintf(buf, 24, "(out of range)");
    return buf;
}
