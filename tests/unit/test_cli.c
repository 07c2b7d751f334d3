/* Command-line parsing into struct arcvmm_config. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "harness.h"

static int parse(struct cli *c, char *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse(argc, argv, c, err, 256);
}

static void t_full_run_line(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--initrd", "i", "--cmdline",
                   "console=ttyS0 x", "--cpus", "4", "--memory", "1024", "--console",
                   "file:/tmp/log", "-v", NULL), 0);
    CHECK_EQ(c.cmd, CLI_RUN);
    CHECK(!strcmp(c.cfg.kernel, "k"));
    CHECK(!strcmp(c.cfg.initrd, "i"));
    CHECK(!strcmp(c.cfg.cmdline, "console=ttyS0 x"));
    CHECK_EQ(c.cfg.cpus, 4);
    CHECK_EQ(c.cfg.memory_mib, 1024);
    CHECK_EQ(c.cfg.console, ARCVMM_CONSOLE_FILE);
    CHECK(!strcmp(c.cfg.console_path, "/tmp/log"));
    CHECK(c.verbose);
    CHECK(!c.default_guest);
    CHECK_EQ(c.cfg.mem_merge, 0);       /* KSM merging is opt-in */
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--mem-merge", NULL), 0);
    CHECK_EQ(c.cfg.mem_merge, 1);
    CHECK(strstr(cli_usage(), "--mem-merge"));
}

static void t_defaults_and_forms(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel=k", "--console=none", NULL), 0);
    CHECK_EQ(c.cfg.cpus, 1);
    CHECK_EQ(c.cfg.memory_mib, 256);
    CHECK(c.cfg.cmdline == NULL);       /* the library applies the default */
    CHECK_EQ(c.cfg.console, ARCVMM_CONSOLE_NONE);
    CHECK_EQ(parse(&c, err, "arcvmm", "--version", NULL), 0);
    CHECK_EQ(c.cmd, CLI_VERSION);
    CHECK_EQ(parse(&c, err, "arcvmm", "--help", NULL), 0);
    CHECK_EQ(c.cmd, CLI_HELP);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--help", NULL), 0);
    CHECK_EQ(c.cmd, CLI_HELP);
}

static void t_bad_numbers(void)
{
    struct cli c;
    char err[256];
    const char *bad[] = { "0", "-1", "+2", "2x", "", " 3", "99999999999999999999", "2147483648" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--cpus", bad[i], NULL), -EINVAL);
        CHECK(strstr(err, "--cpus") != NULL);
    }
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--memory", "0", NULL), -EINVAL);
    CHECK(strstr(err, "--memory: 0 is less than the smallest guest RAM (1 MiB)") != NULL);
    /* 4096 is not a CLI limit: the host's is, checked when the VM is made */
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--cpus", "4097", NULL), 0);
}

/* --memory with units: K, M, G, T (KiB, MB, ... any case); bare = MiB */
static void t_memory_units(void)
{
    struct cli c;
    char err[256];
    static const struct { const char *arg; unsigned long long mib; } good[] = {
        { "512", 512 }, { "512M", 512 }, { "512m", 512 }, { "512MiB", 512 }, { "512MB", 512 },
        { "1G", 1024 }, { "1g", 1024 }, { "2GiB", 2048 }, { "1T", 1u << 20 },
        { "2048K", 2 }, { "1048576KiB", 1024 },
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--memory", good[i].arg, NULL), 0);
        CHECK_EQ(c.cfg.memory_mib, good[i].mib);
    }
    static const struct { const char *arg, *want; } bad[] = {
        { "0G", "0G is less than the smallest guest RAM (1 MiB)" },
        { "1000K", "1000K is not a whole number of MiB" },
        { "1.5G", "'1.5G' is not a size" }, { "G", "'G' is not a size" },
        { "1Gx", "'1Gx' is not a size" }, { "1P", "'1P' is not a size" },
        { "-1G", "'-1G' is not a size" }, { " 1G", "' 1G' is not a size" },
        { "17179869184T", "17179869184T is larger than any host's RAM" },
        { "99999999999999999999", "larger than any host's RAM" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--memory", bad[i].arg, NULL),
                 -EINVAL);
        if (!strstr(err, bad[i].want))
            fprintf(stderr, "  %s: %s\n", bad[i].arg, err);
        CHECK(strstr(err, "--memory: ") && strstr(err, bad[i].want));
    }
}

static void t_usage_errors(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", NULL), -EINVAL);
    CHECK_EQ(parse(&c, err, "arcvmm", "walk", NULL), -EINVAL);
    CHECK(strstr(err, "unknown command 'walk'") != NULL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", NULL), -EINVAL);
    CHECK(strstr(err, "--kernel needs a value") != NULL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--console", "file:", NULL), -EINVAL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "stray", NULL), -EINVAL);
    CHECK(strstr(err, "unexpected argument 'stray'") != NULL);
}

static void t_net(void)
{
    struct cli c;
    char err[256];
    char a1[] = "tap=tap0,mac=02:AB:cd:00:00:0f,queues=2,mtu=9000", a2[] = "tap=tap1";
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--net", a1, "--net", a2, NULL), 0);
    CHECK_EQ(c.cfg.nnets, 2);
    CHECK(!strcmp(c.cfg.nets[0].tap, "tap0"));
    CHECK(c.cfg.nets[0].has_mac);
    static const uint8_t mac[6] = { 0x02, 0xab, 0xcd, 0, 0, 0x0f };
    CHECK(!memcmp(c.cfg.nets[0].mac, mac, 6));
    CHECK_EQ(c.cfg.nets[0].queues, 2);
    CHECK_EQ(c.cfg.nets[0].mtu, 9000);
    CHECK(!strcmp(c.cfg.nets[1].tap, "tap1"));
    CHECK(!c.cfg.nets[1].has_mac);
    CHECK_EQ(c.cfg.nets[1].queues, 0);
    CHECK(strstr(cli_usage(), "--net tap=NAME"));
    /* the default MAC: locally administered unicast, stable, per index */
    uint8_t m0[6], m0b[6], m1[6], n0[6];
    arcvmm_net_default_mac("tap0", 0, m0);
    arcvmm_net_default_mac("tap0", 0, m0b);
    arcvmm_net_default_mac("tap0", 1, m1);
    arcvmm_net_default_mac("tap9", 0, n0);
    CHECK_EQ(m0[0], 0x02);
    CHECK(!memcmp(m0, m0b, 6));
    CHECK(memcmp(m0, m1, 6) != 0);
    CHECK(memcmp(m0, n0, 6) != 0);
    const char *bad[] = { "usr", "user=x", "user,hostfwd=tcp::0-:22", "user,queues=2",
                          "user,mtu=9000", "user,foo", "user,mac=01:00:00:00:00:01",
                          "tap", "tap=", "tapx=y", "tap=t,mac=1:2:3:4:5:6",
                          "tap=t,mac=02:00:00:00:00:01:00", "tap=t,mac=03:00:00:00:00:01",
                          "tap=t,mac=00:00:00:00:00:00", "tap=t,queues=0", "tap=t,queues=17",
                          "tap=t,mtu=67", "tap=t,mtu=65536", "tap=t,foo", ",tap=t" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char b[64];
        snprintf(b, sizeof(b), "%s", bad[i]);
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--net", b, NULL), -EINVAL);
        CHECK(strstr(err, "--net") != NULL);
    }
}

/* --net user[,...]: slirp's options kept in one string, mac= apart */
static void t_net_user(void)
{
    struct cli c;
    char err[256];
    char a1[] = "user", a2[] = "user,hostfwd=tcp::8022-:22,mac=02:00:00:00:00:09,net=10.9.0.0/16,"
                               "hostfwd=udp:127.0.0.1:5353-:53";
    char a3[] = "tap=tap0";
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--net", a3, "--net", a1,
                   "--net", a2, NULL), 0);
    CHECK_EQ(c.cfg.nnets, 3);
    CHECK(c.cfg.net_user[0] == NULL);
    CHECK(c.cfg.nets[1].tap == NULL && c.cfg.net_user[1] && !strcmp(c.cfg.net_user[1], ""));
    CHECK(!c.cfg.nets[1].has_mac);
    CHECK(!strcmp(c.cfg.net_user[2],
                  "hostfwd=tcp::8022-:22,net=10.9.0.0/16,hostfwd=udp:127.0.0.1:5353-:53"));
    CHECK(c.cfg.nets[2].has_mac && c.cfg.nets[2].mac[5] == 9);
    CHECK(strstr(cli_usage(), "--net user"));
    char b1[] = "user,hostfwd=sctp::1-:2";
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--net", b1, NULL), -EINVAL);
    CHECK(strstr(err, "--net user: hostfwd 'sctp::1-:2': protocol 'sctp'") != NULL);
    CHECK(strchr(err, '\n') == NULL);
    /* the option string is bounded */
    static char big[NET_SLIRP_MAX_OPTS + 64];
    strcpy(big, "user");
    while (strlen(big) + 24 < sizeof(big))
        strcat(big, ",hostfwd=tcp::1-:1");
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--net", big, NULL), -EINVAL);
    CHECK(strstr(err, "--net user: options longer") != NULL);
}

static void t_vsock(void)
{
    struct cli c;
    char err[256];
    char a1[] = "uds=/tmp/v.sock,cid=42";
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--vsock", a1, NULL), 0);
    CHECK_EQ(c.cfg.vsock.guest_cid, 42);
    CHECK(!strcmp(c.cfg.vsock.uds_path, "/tmp/v.sock"));
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", NULL), 0);
    CHECK_EQ(c.cfg.vsock.guest_cid, 0);                 /* none by default */
    CHECK(strstr(cli_usage(), "--vsock cid=N,uds=PATH"));
    const char *bad[] = { "cid=3", "uds=/x", "cid=2,uds=/x", "cid=0,uds=/x", "cid=-3,uds=/x",
                          "cid=4294967295,uds=/x", "cid=3,uds=", "cid=3,uds=/x,foo", "" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char b[64];
        snprintf(b, sizeof(b), "%s", bad[i]);
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--vsock", b, NULL), -EINVAL);
        CHECK(strstr(err, "--vsock") != NULL);
    }
    char b1[] = "cid=3,uds=/a", b2[] = "cid=4,uds=/b";
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--vsock", b1, "--vsock", b2, NULL),
             -EINVAL);
    CHECK(strstr(err, "at most one"));
}

/* arcvmm --api-sock PATH (Firecracker's form) and run ... --api-sock */
static void t_api(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/tmp/a.sock", "--id", "vm_1",
                   "--http-api-max-payload-size", "100", NULL), 0);
    CHECK_EQ(c.cmd, CLI_API);
    CHECK(!strcmp(c.api_sock, "/tmp/a.sock"));
    CHECK(!strcmp(c.id, "vm_1"));
    CHECK_EQ(c.api_max_payload, 100);
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock=/s", NULL), 0);
    CHECK_EQ(c.cmd, CLI_API);
    CHECK(c.id == NULL);
    CHECK_EQ(c.api_max_payload, 51200);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--api-sock", "/s", NULL), 0);
    CHECK_EQ(c.cmd, CLI_RUN);
    CHECK(!strcmp(c.api_sock, "/s"));
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", NULL), 0);
    CHECK(c.api_sock == NULL);
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/s", "--help", NULL), 0);
    CHECK_EQ(c.cmd, CLI_HELP);
    CHECK_EQ(parse(&c, err, "arcvmm", "--id", "x", NULL), -EINVAL);
    CHECK(strstr(err, "no --api-sock PATH or --config-file FILE given"));
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "", NULL), -EINVAL);
    CHECK(strstr(err, "the path is empty"));
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/s", "--id", "", NULL), -EINVAL);
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/s", "--http-api-max-payload-size", "-1",
                   NULL), -EINVAL);
    CHECK(strstr(err, "--http-api-max-payload-size: '-1' is not"));
}

static void t_default_guest_dir(void)
{
    struct cli c;
    char err[256];
    setenv("ARCVMM_GUEST_DIR", "/nonexistent-dir", 1);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", NULL), -ENOENT);
    CHECK(strstr(err, "no default guest at /nonexistent-dir") != NULL);
    unsetenv("ARCVMM_GUEST_DIR");
}

/* --config-file, --no-api and the logger options */
static void t_config_file_and_logger(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "--config-file", "vm.json", "--no-api", NULL), 0);
    CHECK_EQ(c.cmd, CLI_API);
    CHECK(!strcmp(c.config_file, "vm.json") && c.no_api && !c.api_sock);
    CHECK_EQ(parse(&c, err, "arcvmm", "--config-file", "vm.json", NULL), 0);
    CHECK(!c.no_api && !c.api_sock);
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/s", "--config-file=vm.json", "--level",
                   "debug", "--log-path", "/l", "--show-level", "--show-log-origin",
                   "--metrics-path", "/m", NULL), 0);
    CHECK(!strcmp(c.level, "Debug") && !strcmp(c.log_path, "/l") && !strcmp(c.metrics_path, "/m"));
    CHECK(c.show_level && c.show_log_origin);
    CHECK_EQ(parse(&c, err, "arcvmm", "--no-api", NULL), -EINVAL);
    CHECK(strstr(err, "--no-api needs --config-file FILE"));
    CHECK_EQ(parse(&c, err, "arcvmm", "--no-api", "--api-sock", "/s", "--config-file", "f", NULL),
             -EINVAL);
    CHECK(strstr(err, "--no-api and --api-sock exclude each other"));
    CHECK_EQ(parse(&c, err, "arcvmm", "--config-file", "", NULL), -EINVAL);
    CHECK(strstr(err, "--config-file: the path is empty"));
    CHECK_EQ(parse(&c, err, "arcvmm", "--api-sock", "/s", "--level", "Loud", NULL), -EINVAL);
    CHECK(strstr(err, "--level: 'Loud' is not Error, Warning, Info, Debug, Trace or Off"));
    /* run takes the logger options, not --config-file */
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--level", "Off", "--log-path", "/l",
                   NULL), 0);
    CHECK(!strcmp(c.level, "Off") && !strcmp(c.log_path, "/l"));
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--config-file", "f", NULL), -EINVAL);
    CHECK(strstr(err, "unknown option '--config-file'"));
    CHECK(strstr(cli_usage(), "--config-file FILE") && strstr(cli_usage(), "--no-api"));
}

int main(void)
{
    RUN(t_full_run_line);
    RUN(t_defaults_and_forms);
    RUN(t_bad_numbers);
    RUN(t_usage_errors);
    RUN(t_default_guest_dir);
    RUN(t_net);
    RUN(t_net_user);
    RUN(t_vsock);
    RUN(t_api);
    RUN(t_config_file_and_logger);
    RUN(t_memory_units);
    return harness_done();
}
