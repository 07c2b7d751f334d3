/* Command-line parsing: argv -> struct cli (no side effects beyond
 * reading the environment/exe path for the default guest). */
#ifndef ARCVMM_CLI_H
#define ARCVMM_CLI_H
#include <stdbool.h>
#include <stddef.h>

#include "arcvmm.h"
#include "backend/slirp.h"

/* CLI_API: `arcvmm --api-sock PATH` without a command, as `firecracker
 * --api-sock PATH`: wait for API calls, InstanceStart boots the VM. */
enum cli_cmd { CLI_HELP, CLI_VERSION, CLI_RUN, CLI_API };

struct cli {
    enum cli_cmd cmd;
    struct arcvmm_config cfg;
    bool verbose;
    bool default_guest;     /* no --kernel: the default guest was chosen */
    char kernel_buf[4096], initrd_buf[4096];
    const char *api_sock;   /* --api-sock (CLI_API, or `run` with an API), or NULL */
    const char *id;         /* --id, or NULL */
    size_t api_max_payload; /* --http-api-max-payload-size (default 51200) */
    const char *config_file;/* --config-file (CLI_API): boot from it at once, or NULL */
    bool no_api;            /* --no-api (needs --config-file): no socket */
    const char *log_path;   /* --log-path, or NULL: stderr */
    const char *level;      /* --level, Firecracker's spelling, or NULL */
    bool show_level, show_log_origin;
    const char *metrics_path;   /* --metrics-path, or NULL */
    char net_user[ARCVMM_MAX_NETS][NET_SLIRP_MAX_OPTS + 1];   /* --net user,OPTS: OPTS */
};

/* 0 on success; -EINVAL with a one-line message in err on a usage error. */
int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen);
/* The text printed by --help. */
const char *cli_usage(void);
#endif
