/* The smallest host: link salesplan, round a commission, print it. */
#include <stdio.h>

#include <salesplan/salesplan.h>

int main(void)
{
    int64_t commission;
    /* 12,345.67 at 3.5 % = 432.09845 -> 432.10 (half-even) */
    if (sp_money_mul_dec(1234567, 35000000, SP_ROUND_HALF_EVEN, &commission) != SP_OK)
        return 1;
    char text[SP_TEXT_MAX];
    if (sp_money_format(commission, 2, SP_TEXT_DEFAULT, text, sizeof text, NULL) != SP_OK)
        return 1;
    printf("salesplan %s: commission %s\n", sp_version_string(), text);
    return 0;
}
