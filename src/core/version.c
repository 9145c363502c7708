#include "internal.h"

uint32_t sp_version(void)
{
    return (uint32_t)SP_VERSION_NUMBER;
}

const char *sp_version_string(void)
{
    return SP_VERSION_STRING;
}
