#include <stdio.h>
#include <salesplan/salesplan.h>

int main(void)
{
    sp_ctx *ctx;
    if (sp_ctx_new(&ctx, NULL) != SP_OK)
        return 1;
    /* Split an annual target of 1,000,000.00 over three regions by last year's sales. */
    int64_t last_year[3] = { 420000, 310000, 150000 }, target[3];
    if (sp_allocate(ctx, 100000000, last_year, 3, NULL, target) != SP_OK) {
        fprintf(stderr, "%s\n", sp_ctx_errmsg(ctx));
        return 1;
    }
    for (int i = 0; i < 3; i++) {
        char text[SP_TEXT_MAX];
        sp_money_format(target[i], 2, SP_TEXT_GROUPING, text, sizeof text, NULL);
        printf("region %d: %s\n", i + 1, text);
    }
    sp_ctx_free(ctx);
    return 0;
}
