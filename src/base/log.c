#include "base/log.h"

#include <stdio.h>

static enum log_level log_level_cur = LOG_WARN; /* the only process-wide setting */

void log_set_level(enum log_level lvl)
{
    log_level_cur = lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > log_level_cur)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    fprintf(stderr, "arcvmm: %s\n", buf);
}
