/* For the fuzz targets that link api/routes.c without the library:
 * arcvmm_version and arcvmm_config_init_size (the library's vm.c would
 * pull in the whole VMM). Included by one .c file per target. */
#ifndef ARCVMM_FUZZ_API_STUBS_H
#define ARCVMM_FUZZ_API_STUBS_H
#include <stdlib.h>
#include <string.h>

#include "arcvmm.h"

const char *arcvmm_version(void)
{
    return "0.0.0-fuzz";
}

int arcvmm_config_init_size(struct arcvmm_config *cfg, size_t size)
{
    if (size != sizeof(*cfg))
        abort();
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = size;
    cfg->cpus = 1;
    cfg->memory_mib = 256;
    cfg->console_out_fd = 1;
    return 0;
}
#endif
