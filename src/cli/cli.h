/* Command-line parsing: argv -> struct cli (no side effects beyond
 * reading the environment/exe path for the default guest). */
#ifndef ARCVMM_CLI_H
#define ARCVMM_CLI_H
#include <stdbool.h>
#include <stddef.h>

#include "arcvmm.h"

enum cli_cmd { CLI_HELP, CLI_VERSION, CLI_RUN };

struct cli {
    enum cli_cmd cmd;
    struct arcvmm_config cfg;
    bool verbose;
    bool default_guest;     /* no --kernel: the default guest was chosen */
    char kernel_buf[4096], initrd_buf[4096];
};

/* 0 on success; -EINVAL with a one-line message in err on a usage error. */
int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);
/* The text printed by --help. */
const char *cli_usage(void);
#endif
