#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/routes.h"
#include "base/mac.h"

/* --http-api-max-payload-size: Firecracker's default; at most 16 MiB (each
 * of the 10 connections buffers one body). */
#define CLI_API_DEFAULT_PAYLOAD 51200
#define CLI_API_MAX_PAYLOAD (16u << 20)

#if defined(__aarch64__)
#define DEFAULT_KERNEL_NAME "Image"
#else
#define DEFAULT_KERNEL_NAME "bzImage"
#endif

static const char usage_text[] =
    "usage: arcvmm run [options]     boot a Linux guest\n"
    "       arcvmm --api-sock PATH [API options]\n"
    "                                wait for Firecracker API calls on PATH;\n"
    "                                PUT /actions InstanceStart boots the VM\n"
    "       arcvmm --config-file FILE [--api-sock PATH | --no-api] [API options]\n"
    "                                boot the VM in FILE (Firecracker's schema)\n"
    "       arcvmm --help | --version\n"
    "\n"
    "run options:\n"
#if defined(__aarch64__)
    "  --kernel FILE      arm64 Linux Image (uncompressed)\n"
#else
    "  --kernel FILE      bzImage, or ELF vmlinux with a PVH entry note\n"
#endif
    "                     (default: the default guest, see below)\n"
    "  --initrd FILE      initial ramdisk\n"
    "  --cmdline STR      kernel command line (default: \"" ARCVMM_DEFAULT_CMDLINE "\")\n"
    "  --cpus N           number of vCPUs (default 1)\n"
    "  --memory SIZE      guest RAM: MiB, or with a unit: 512M, 1G (default 256)\n"
    "  --console MODE     stdio (default), file:PATH (output only), or none\n"
    "  --disk PATH[,ro][,id=SERIAL]\n"
    "                     raw disk image as virtio-blk (/dev/vda, vdb, ... in\n"
    "                     order); ro: read-only; id: serial the guest reads\n"
    "                     (at most 20 bytes). Repeatable, up to 8 disks.\n"
    "  --net tap=NAME[,mac=MAC][,queues=N][,mtu=N]\n"
    "                     a virtio-net NIC on tap NAME (eth0, eth1, ... in order),\n"
    "                     attached to if it exists, else created and removed at\n"
    "                     exit (needs CAP_NET_ADMIN). mac: aa:bb:cc:dd:ee:ff,\n"
    "                     unicast (default 02:ac:... from NAME and the NIC's\n"
    "                     index); queues: queue pairs, 1..--cpus (a tap made\n"
    "                     multi_queue for more than 1); mtu: 68..65535 (1500).\n"
    "  --net user[,hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...\n"
    "            [,net=ADDR/PREFIX][,mac=MAC]\n"
    "                     a virtio-net NIC on user-mode networking (libslirp): no\n"
    "                     root, no tap. As QEMU's: network 10.0.2.0/24, the guest\n"
    "                     gets .15 by DHCP, the host (and its 127.0.0.1) is .2,\n"
    "                     DNS .3; IPv6 on fec0::/64. hostfwd: a host port (on\n"
    "                     HOSTADDR, default all) forwarded to the guest's port\n"
    "                     (GUESTADDR default .15); repeatable, up to 16.\n"
    "                     Repeatable, up to 4 NICs (of both kinds).\n"
    "  --vsock cid=N,uds=PATH\n"
    "                     a virtio-vsock device, guest CID N (>= 3), host side as\n"
    "                     Firecracker's: host programs connect to the Unix socket\n"
    "                     PATH and send \"CONNECT <port>\\n\"; a guest connect to\n"
    "                     CID 2 port P reaches the Unix socket PATH_P. PATH is\n"
    "                     created (a stale socket replaced) and removed at exit.\n"
    "  --transport T      how virtio devices attach: pci (default) or mmio\n"
    "                     (virtio-pci with MSI-X on a PCI host bridge)\n"
    "  --mem-merge        let the host's KSM merge identical guest RAM pages\n"
    "                     (saves memory across similar VMs, but shares pages\n"
    "                     between tenants: a known side channel; default off)\n"
    "  --api-sock PATH    also serve the API on PATH (a Unix socket): GET / for\n"
    "                     the state, PATCH /vm to pause and resume\n"
    "  -v, --verbose      say on stderr what the VM does and why it ended\n"
    "                     (ARCVMM_LOG=debug also logs every unclaimed I/O access)\n"
    "\n"
    "Without --kernel, arcvmm boots the default guest built by scripts/guest.sh:\n"
    "$ARCVMM_GUEST_DIR, else the guest/ directory beside the arcvmm binary\n"
    "(" DEFAULT_KERNEL_NAME " + initramfs.cpio.gz).\n"
    "\n"
    "API options (with or without run; --config-file and --no-api without):\n"
    "  --api-sock PATH    the Unix socket of the Firecracker-compatible REST API;\n"
    "                     a stale socket file is replaced, a live server's path is\n"
    "                     refused; removed at exit\n"
    "  --id ID            the instance id GET / reports (default anonymous-instance)\n"
    "  --http-api-max-payload-size N\n"
    "                     largest request body in bytes (default 51200)\n"
    "  --config-file FILE\n"
    "                     a JSON file as Firecracker's --config-file takes:\n"
    "                     boot-source, drives, machine-config, network-interfaces,\n"
    "                     vsock, logger, metrics (the bodies of the PUTs of the same\n"
    "                     names); the VM boots at once; GET /vm/config gives one back\n"
    "  --no-api           with --config-file: no API socket at all\n"
    "  --log-path FILE    log lines go to FILE (appended) instead of stderr\n"
    "  --level LEVEL      Error, Warning (default), Info, Debug, Trace or Off\n"
    "  --show-level       each log line says its level\n"
    "  --show-log-origin  accepted (arcvmm's lines carry no source location)\n"
    "  --metrics-path FILE\n"
    "                     metrics as one JSON object a line: every 60 s, on\n"
    "                     PUT /actions FlushMetrics and when the VM ends\n"
    "The process exits when the guest powers off or reboots, as Firecracker does.\n"
    "\n"
    "On a terminal, the console is in raw mode: type Ctrl-A x to end the VM.\n"
    "Exit status: 0 when the guest powers off or reboots, 1 on a VM error,\n"
    "2 on a usage or configuration error, 128+N when ended by signal N.\n";

const char *cli_usage(void)
{
    return usage_text;
}

/* Strict decimal parse into [min, max]. */
static int parse_num(const char *opt, const char *s, unsigned long long min,
                     unsigned long long max, unsigned long long *out, char *err, size_t errlen)
{
    char *end;
    if (!*s || *s == '-' || *s == '+' || *s == ' ') {
        snprintf(err, errlen, "%s: '%s' is not a positive whole number", opt, s);
        return -EINVAL;
    }
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end || errno == ERANGE) {
        snprintf(err, errlen, "%s: '%s' is not a positive whole number", opt, s);
        return -EINVAL;
    }
    if (v < min || v > max) {
        snprintf(err, errlen, "%s: %llu is out of range (%llu..%llu)", opt, v, min, max);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

/* --memory: a size in MiB, or with a unit: K, M, G or T (also KiB, MB,
 * ...; any case, powers of 1024). At least 1 MiB and a whole number of
 * MiB; the upper limit is the host's RAM, checked by the library. */
static int parse_mib(const char *opt, const char *s, uint64_t *out, char *err, size_t errlen)
{
    static const char units[] = "kmgt";
    char *end;
    if (*s < '0' || *s > '9')
        goto bad;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE)
        goto big;
    int shift = 20;                 /* bytes per unit, as a power of two */
    if (*end) {
        const char *u = strchr(units, end[0] | 0x20);
        if (!u || !*u)
            goto bad;
        shift = 10 * (int)(u - units + 1);
        const char *rest = end + 1;
        if (strcasecmp(rest, "") && strcasecmp(rest, "b") && strcasecmp(rest, "ib"))
            goto bad;
    }
    /* v units of 2^shift bytes, in MiB */
    if (shift < 20) {
        if (v % (1ull << (20 - shift))) {
            snprintf(err, errlen, "%s: %s is not a whole number of MiB", opt, s);
            return -EINVAL;
        }
        v >>= 20 - shift;
    } else if (v > (UINT64_MAX >> 20) >> (shift - 20)) {
        goto big;
    } else {
        v <<= shift - 20;
    }
    if (v == 0) {
        snprintf(err, errlen, "%s: %s is less than the smallest guest RAM (1 MiB)", opt, s);
        return -EINVAL;
    }
    *out = v;
    return 0;
big:
    snprintf(err, errlen, "%s: %s is larger than any host's RAM", opt, s);
    return -EINVAL;
bad:
    snprintf(err, errlen, "%s: '%s' is not a size (MiB, or a number with K, M, G or T: 512M, 1G)",
             opt, s);
    return -EINVAL;
}

/* PATH[,ro][,id=SERIAL] -> the next disk slot. The string is modified. */
static int parse_disk(struct cli *c, char *arg, char *err, size_t errlen)
{
    if (c->cfg.ndisks >= ARCVMM_MAX_DISKS) {
        snprintf(err, errlen, "--disk: at most %d disks", ARCVMM_MAX_DISKS);
        return -EINVAL;
    }
    struct arcvmm_disk *d = &c->cfg.disks[c->cfg.ndisks];
    char *save = NULL, *tok = strtok_r(arg, ",", &save);
    if (!tok || arg[0] == ',') {
        snprintf(err, errlen, "--disk: a path is needed (PATH[,ro][,id=SERIAL])");
        return -EINVAL;
    }
    d->path = tok;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
        if (!strcmp(tok, "ro")) {
            d->readonly = 1;
        } else if (!strncmp(tok, "id=", 3)) {
            if (strlen(tok + 3) > 20) {
                snprintf(err, errlen, "--disk: id '%s' is longer than 20 bytes", tok + 3);
                return -EINVAL;
            }
            d->serial = tok + 3;
        } else {
            snprintf(err, errlen, "--disk: unknown option '%s' (ro or id=SERIAL)", tok);
            return -EINVAL;
        }
    }
    c->cfg.ndisks++;
    return 0;
}

/* A user NIC's own option (not mac=): appended to its option string,
 * which is checked whole at the end. */
static int add_user_opt(char *opts, const char *tok, char *err, size_t errlen)
{
    size_t have = strlen(opts);
    if (have + !!have + strlen(tok) > NET_SLIRP_MAX_OPTS) {
        snprintf(err, errlen, "--net user: options longer than %d bytes", NET_SLIRP_MAX_OPTS);
        return -EINVAL;
    }
    if (have)
        opts[have++] = ',';
    memcpy(opts + have, tok, strlen(tok) + 1);
    return 0;
}

/* tap=NAME[,mac=MAC][,queues=N][,mtu=N] or user[,hostfwd=...][,net=...][,mac=MAC]
 * -> the next NIC slot. The string is modified. */
static int parse_net(struct cli *c, char *arg, char *err, size_t errlen)
{
    if (c->cfg.nnets >= ARCVMM_MAX_NETS) {
        snprintf(err, errlen, "--net: at most %d NICs", ARCVMM_MAX_NETS);
        return -EINVAL;
    }
    struct arcvmm_net *n = &c->cfg.nets[c->cfg.nnets];
    memset(n, 0, sizeof(*n));
    char *user = NULL;              /* a user NIC's own options, gathered */
    char *save = NULL, *tok = strtok_r(arg, ",", &save);
    if (!tok || arg[0] == ',') {
        snprintf(err, errlen, "--net: a backend is needed (tap=NAME[,mac=MAC][,queues=N][,mtu=N] "
                 "or user[,hostfwd=...])");
        return -EINVAL;
    }
    if (!strcmp(tok, "user")) {
        user = c->net_user[c->cfg.nnets];
        user[0] = '\0';
        c->cfg.net_user[c->cfg.nnets] = user;
    } else if (strncmp(tok, "tap", 3) || (tok[3] && tok[3] != '=')) {
        snprintf(err, errlen, "--net: unknown backend '%s' (tap=NAME or user)", tok);
        return -EINVAL;
    } else if (tok[3] != '=' || !tok[4]) {
        snprintf(err, errlen, "--net: tap needs a name (tap=NAME)");
        return -EINVAL;
    } else {
        n->tap = tok + 4;
    }
    unsigned long long v;
    while ((tok = strtok_r(NULL, ",", &save)) != NULL) {
        if (user && strncmp(tok, "mac=", 4)) {
            if (!strncmp(tok, "queues=", 7) || !strncmp(tok, "mtu=", 4)) {
                snprintf(err, errlen, "--net user: '%s' is for taps (user networking has one "
                         "queue pair and mtu 1500)", tok);
                return -EINVAL;
            }
            if (add_user_opt(user, tok, err, errlen) < 0)
                return -EINVAL;
            continue;
        }
        if (!strncmp(tok, "mac=", 4)) {
            if (mac_parse(tok + 4, n->mac) < 0) {
                snprintf(err, errlen, "--net: mac '%s' is not six hex bytes (aa:bb:cc:dd:ee:ff)",
                         tok + 4);
                return -EINVAL;
            }
            const char *why = mac_unusable(n->mac);
            if (why) {
                snprintf(err, errlen, "--net: mac %s is %s", tok + 4, why);
                return -EINVAL;
            }
            n->has_mac = 1;
        } else if (!strncmp(tok, "queues=", 7)) {
            if (parse_num("--net queues", tok + 7, 1, 16, &v, err, errlen) < 0)
                return -EINVAL;
            n->queues = (int)v;
        } else if (!strncmp(tok, "mtu=", 4)) {
            if (parse_num("--net mtu", tok + 4, 68, 65535, &v, err, errlen) < 0)
                return -EINVAL;
            n->mtu = (int)v;
        } else {
            snprintf(err, errlen, "--net: unknown option '%s' (mac=, queues= or mtu=)", tok);
            return -EINVAL;
        }
    }
    if (user) {
        struct net_slirp_cfg sc;
        char why[256];
        net_slirp_cfg_init(&sc);
        if (net_slirp_parse(user, &sc, why, sizeof(why)) < 0) {
            snprintf(err, errlen, "--net user: %s", why);
            return -EINVAL;
        }
    }
    c->cfg.nnets++;
    return 0;
}

/* cid=N,uds=PATH (either order) -> cfg.vsock. The string is modified. */
static int parse_vsock(struct cli *c, char *arg, char *err, size_t errlen)
{
    if (c->cfg.vsock.guest_cid) {
        snprintf(err, errlen, "--vsock: at most one vsock device");
        return -EINVAL;
    }
    unsigned long long cid = 0;
    const char *uds = NULL;
    char *save = NULL;
    for (char *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "cid=", 4)) {
            if (parse_num("--vsock cid", tok + 4, 3, 4294967294ULL, &cid, err, errlen) < 0)
                return -EINVAL;
        } else if (!strncmp(tok, "uds=", 4)) {
            uds = tok + 4;
        } else {
            snprintf(err, errlen, "--vsock: unknown option '%s' (cid=N,uds=PATH)", tok);
            return -EINVAL;
        }
    }
    if (!cid || !uds || !*uds) {
        snprintf(err, errlen, "--vsock: %s is needed (cid=N,uds=PATH)", !cid ? "cid=N" : "uds=PATH");
        return -EINVAL;
    }
    c->cfg.vsock.guest_cid = cid;
    c->cfg.vsock.uds_path = uds;
    return 0;
}

/* The API options, in either form. 1 if o was one of them, 0 if not, or
 * -EINVAL with err set. */
enum { O_API_SOCK = 512, O_ID, O_API_MAX_PAYLOAD, O_LOG_PATH, O_LEVEL, O_SHOW_LEVEL,
       O_SHOW_ORIGIN, O_METRICS_PATH, O_CONFIG_FILE, O_NO_API };
static int parse_api_opt(struct cli *c, int o, const char *arg, char *err, size_t errlen)
{
    unsigned long long v;
    switch (o) {
    case O_LOG_PATH: case O_METRICS_PATH: case O_CONFIG_FILE:
        if (!*arg) {
            snprintf(err, errlen, "--%s: the path is empty", o == O_LOG_PATH ? "log-path" :
                     o == O_METRICS_PATH ? "metrics-path" : "config-file");
            return -EINVAL;
        }
        *(o == O_LOG_PATH ? &c->log_path : o == O_METRICS_PATH ? &c->metrics_path :
          &c->config_file) = arg;
        return 1;
    case O_LEVEL:
        if (!(c->level = api_log_level_name(arg))) {
            snprintf(err, errlen, "--level: '%s' is not Error, Warning, Info, Debug, Trace or Off",
                     arg);
            return -EINVAL;
        }
        return 1;
    case O_SHOW_LEVEL:
        c->show_level = true;
        return 1;
    case O_SHOW_ORIGIN:
        c->show_log_origin = true;
        return 1;
    case O_API_SOCK:
        if (!*arg) {
            snprintf(err, errlen, "--api-sock: the path is empty");
            return -EINVAL;
        }
        c->api_sock = arg;
        return 1;
    case O_ID:
        for (const char *p = arg; *p; p++)
            if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= 'A' && *p <= 'Z') || *p == '_' || *p == '-')) {
                snprintf(err, errlen, "--id: '%s' may hold only letters, digits, '_' and '-'",
                         arg);
                return -EINVAL;
            }
        if (!*arg || strlen(arg) > 63) {
            snprintf(err, errlen, "--id: the id must be 1..63 characters");
            return -EINVAL;
        }
        c->id = arg;
        return 1;
    case O_API_MAX_PAYLOAD:
        if (parse_num("--http-api-max-payload-size", arg, 1, CLI_API_MAX_PAYLOAD, &v, err,
                      errlen) < 0)
            return -EINVAL;
        c->api_max_payload = (size_t)v;
        return 1;
    }
    return 0;
}

#define API_LONG_OPTS \
    { "api-sock", required_argument, NULL, O_API_SOCK }, \
    { "id", required_argument, NULL, O_ID }, \
    { "http-api-max-payload-size", required_argument, NULL, O_API_MAX_PAYLOAD }, \
    { "log-path", required_argument, NULL, O_LOG_PATH }, \
    { "level", required_argument, NULL, O_LEVEL }, \
    { "show-level", no_argument, NULL, O_SHOW_LEVEL }, \
    { "show-log-origin", no_argument, NULL, O_SHOW_ORIGIN }, \
    { "metrics-path", required_argument, NULL, O_METRICS_PATH }

/* `arcvmm --api-sock PATH ...` (no command), as Firecracker is started. */
static int parse_api_mode(int argc, char **argv, struct cli *c, char *err, size_t errlen)
{
    static const struct option opts[] = {
        API_LONG_OPTS,
        { "config-file", required_argument, NULL, O_CONFIG_FILE },
        { "no-api", no_argument, NULL, O_NO_API },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    c->cmd = CLI_API;
    optind = 1;
    opterr = 0;
    int o, r;
    while ((o = getopt_long(argc, argv, ":vh", opts, NULL)) != -1) {
        if (o == 'h') {
            c->cmd = CLI_HELP;
            return 0;
        } else if (o == 'v') {
            c->verbose = true;
        } else if (o == O_NO_API) {
            c->no_api = true;
        } else if (o == ':') {
            snprintf(err, errlen, "%s needs a value", argv[optind - 1]);
            return -EINVAL;
        } else if ((r = parse_api_opt(c, o, optarg, err, errlen)) <= 0) {
            if (r == 0)
                snprintf(err, errlen, "unknown option '%s' (try 'arcvmm --help')",
                         argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        snprintf(err, errlen, "unexpected argument '%s' (a command goes first: arcvmm run ...)",
                 argv[optind]);
        return -EINVAL;
    }
    if (c->no_api && !c->config_file) {
        snprintf(err, errlen, "--no-api needs --config-file FILE (the VM's configuration)");
        return -EINVAL;
    }
    if (c->no_api && c->api_sock) {
        snprintf(err, errlen, "--no-api and --api-sock exclude each other");
        return -EINVAL;
    }
    if (!c->api_sock && !c->config_file) {
        snprintf(err, errlen, "no --api-sock PATH or --config-file FILE given (try 'arcvmm --help')");
        return -EINVAL;
    }
    return 0;
}

/* Locate the default guest: $ARCVMM_GUEST_DIR or <dir of exe>/guest. */
static int default_guest(struct cli *c, char *err, size_t errlen)
{
    char dir[PATH_MAX];
    const char *env = getenv("ARCVMM_GUEST_DIR");
    if (env && *env) {
        snprintf(dir, sizeof(dir), "%s", env);
    } else {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0) {
            snprintf(err, errlen, "--kernel not given and the arcvmm binary's directory is unknown");
            return -EINVAL;
        }
        exe[n] = '\0';
        snprintf(dir, sizeof(dir), "%s/guest", dirname(exe));
    }
    if (strlen(dir) > sizeof(c->kernel_buf) - 32) {
        snprintf(err, errlen, "default guest directory path is too long");
        return -ENAMETOOLONG;
    }
    snprintf(c->kernel_buf, sizeof(c->kernel_buf), "%.4000s/" DEFAULT_KERNEL_NAME, dir);
    snprintf(c->initrd_buf, sizeof(c->initrd_buf), "%.4000s/initramfs.cpio.gz", dir);
    if (access(c->kernel_buf, R_OK) != 0) {
        snprintf(err, errlen, "--kernel not given and no default guest at %s "
                 "(build it with scripts/guest.sh)", dir);
        return -ENOENT;
    }
    c->cfg.kernel = c->kernel_buf;
    if (!c->cfg.initrd)
        c->cfg.initrd = c->initrd_buf;
    c->default_guest = true;
    return 0;
}

int cli_parse(int argc, char **argv, struct cli *c, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    arcvmm_config_init(&c->cfg);
    c->cmd = CLI_HELP;
    if (argc < 2) {
        snprintf(err, errlen, "no command given (try 'arcvmm --help')");
        return -EINVAL;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
        return 0;
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        c->cmd = CLI_VERSION;
        return 0;
    }
    c->api_max_payload = CLI_API_DEFAULT_PAYLOAD;
    if (cmd[0] == '-')
        return parse_api_mode(argc, argv, c, err, errlen);
    if (strcmp(cmd, "run")) {
        snprintf(err, errlen, "unknown command '%s' (try 'arcvmm --help')", cmd);
        return -EINVAL;
    }
    c->cmd = CLI_RUN;
    enum { O_KERNEL = 256, O_INITRD, O_CMDLINE, O_CPUS, O_MEMORY, O_CONSOLE, O_DISK, O_TRANSPORT,
           O_MEM_MERGE, O_NET, O_VSOCK };
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, O_KERNEL },
        { "initrd", required_argument, NULL, O_INITRD },
        { "cmdline", required_argument, NULL, O_CMDLINE },
        { "cpus", required_argument, NULL, O_CPUS },
        { "memory", required_argument, NULL, O_MEMORY },
        { "console", required_argument, NULL, O_CONSOLE },
        { "disk", required_argument, NULL, O_DISK },
        { "transport", required_argument, NULL, O_TRANSPORT },
        { "net", required_argument, NULL, O_NET },
        { "vsock", required_argument, NULL, O_VSOCK },
        { "mem-merge", no_argument, NULL, O_MEM_MERGE },
        API_LONG_OPTS,
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { 0, 0, 0, 0 },
    };
    optind = 1;
    opterr = 0;
    int o;
    unsigned long long v;
    while ((o = getopt_long(argc - 1, argv + 1, ":vh", opts, NULL)) != -1) {
        switch (o) {
        case O_KERNEL: c->cfg.kernel = optarg; break;
        case O_INITRD: c->cfg.initrd = optarg; break;
        case O_CMDLINE: c->cfg.cmdline = optarg; break;
        case O_CPUS:
            /* the real upper limit is the host's, checked by the library */
            if (parse_num("--cpus", optarg, 1, INT_MAX, &v, err, errlen) < 0)
                return -EINVAL;
            c->cfg.cpus = (int)v;
            break;
        case O_MEMORY:
            if (parse_mib("--memory", optarg, &c->cfg.memory_mib, err, errlen) < 0)
                return -EINVAL;
            break;
        case O_CONSOLE:
            if (!strcmp(optarg, "stdio")) {
                c->cfg.console = ARCVMM_CONSOLE_STDIO;
            } else if (!strcmp(optarg, "none")) {
                c->cfg.console = ARCVMM_CONSOLE_NONE;
            } else if (!strncmp(optarg, "file:", 5) && optarg[5]) {
                c->cfg.console = ARCVMM_CONSOLE_FILE;
                c->cfg.console_path = optarg + 5;
            } else {
                snprintf(err, errlen, "--console: '%s' is not stdio, none or file:PATH", optarg);
                return -EINVAL;
            }
            break;
        case O_DISK:
            if (parse_disk(c, optarg, err, errlen) < 0)
                return -EINVAL;
            break;
        case O_NET:
            if (parse_net(c, optarg, err, errlen) < 0)
                return -EINVAL;
            break;
        case O_VSOCK:
            if (parse_vsock(c, optarg, err, errlen) < 0)
                return -EINVAL;
            break;
        case O_TRANSPORT:
            if (!strcmp(optarg, "mmio")) {
                c->cfg.transport = ARCVMM_TRANSPORT_MMIO;
            } else if (!strcmp(optarg, "pci")) {
                c->cfg.transport = ARCVMM_TRANSPORT_PCI;
            } else {
                snprintf(err, errlen, "--transport: '%s' is not mmio or pci", optarg);
                return -EINVAL;
            }
            break;
        case O_MEM_MERGE: c->cfg.mem_merge = 1; break;
        case O_API_SOCK: case O_ID: case O_API_MAX_PAYLOAD: case O_LOG_PATH: case O_LEVEL:
        case O_SHOW_LEVEL: case O_SHOW_ORIGIN: case O_METRICS_PATH:
            if (parse_api_opt(c, o, optarg, err, errlen) < 0)
                return -EINVAL;
            break;
        case 'v': c->verbose = true; break;
        case 'h': c->cmd = CLI_HELP; return 0;
        case ':':
            snprintf(err, errlen, "%s needs a value", argv[optind]);
            return -EINVAL;
        default:
            snprintf(err, errlen, "unknown option '%s' (try 'arcvmm --help')", argv[optind]);
            return -EINVAL;
        }
    }
    if (optind < argc - 1) {
        snprintf(err, errlen, "unexpected argument '%s'", argv[optind + 1]);
        return -EINVAL;
    }
    if (!c->cfg.kernel)
        return default_guest(c, err, errlen);
    return 0;
}
