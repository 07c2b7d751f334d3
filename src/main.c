/* arcvmm command-line entry: parse, then drive the library API. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "api/server.h"
#include "api/vmm.h"
#include "arcvmm.h"
#include "base/file.h"
#include "base/log.h"
#include "cli/cli.h"

#define CONFIG_FILE_MAX (1u << 20)

/* --config-file: read and apply onto av's configuration. 0, or -1 with
 * the line said. */
static int load_config_file(const struct cli *c, struct api_vmm *av)
{
    char err[600];
    uint8_t *buf;
    size_t n;
    /* a FIFO, a directory, an empty or over-large file: one line each */
    if (file_read_all("config file", c->config_file, CONFIG_FILE_MAX, &buf, &n, err,
                      sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        return -1;
    }
    int r = api_config_load(&av->routes, (const char *)buf, n, err, sizeof(err));
    scratch_free(buf, n);
    if (r < 0)
        fprintf(stderr, "arcvmm: config file %s: %s\n", c->config_file, err);
    else if (!av->routes.cfg.has_kernel)
        fprintf(stderr, "arcvmm: config file %s: no `boot-source` (the kernel to boot)\n",
                c->config_file);
    return r < 0 || !av->routes.cfg.has_kernel ? -1 : 0;
}

/* --log-path, --level, --show-level and --metrics-path over what the file
 * said, then the logger and the metrics file set up. 0, or -1 with the
 * line said. */
static int apply_outputs(const struct cli *c, struct api_vmm *av)
{
    struct api_logger *l = &av->routes.cfg.logger;
    if (c->log_path || c->level || c->show_level || c->show_log_origin) {
        l->set = true;
        if (c->log_path)
            snprintf(l->log_path, sizeof(l->log_path), "%s", c->log_path);
        if (c->level)
            snprintf(l->level, sizeof(l->level), "%s", c->level);
        l->show_level |= c->show_level;
        l->show_log_origin |= c->show_log_origin;
    }
    if (c->metrics_path)
        snprintf(av->routes.cfg.metrics_path, sizeof(av->routes.cfg.metrics_path), "%s",
                 c->metrics_path);
    char err[600];
    if (l->set && api_vmm_apply_logger(l, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: log file %s\n", err);
        return -1;
    }
    if (av->routes.cfg.metrics_path[0] && api_vmm_open_metrics(av, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: metrics file %s\n", err);
        return -1;
    }
    return 0;
}

/* The periodic metrics flush: a timerfd every API_METRICS_PERIOD_S s. */
static int metrics_timer(void)
{
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec it = { .it_interval = { API_METRICS_PERIOD_S, 0 },
                             .it_value = { API_METRICS_PERIOD_S, 0 } };
    if (fd >= 0 && timerfd_settime(fd, 0, &it, NULL) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* How the VM ended, as the exit status (see cli_usage). */
static int exit_status(const struct arcvmm_exit *ex, int signo)
{
    switch (ex->reason) {
    case ARCVMM_EXIT_POWEROFF:
        log_info("guest powered off");
        return 0;
    case ARCVMM_EXIT_RESET:
        log_info("guest rebooted");
        return 0;
    case ARCVMM_EXIT_STOPPED:
        if (signo) {
            fprintf(stderr, "arcvmm: stopped by signal %d\n", signo);
            return 128 + signo;
        }
        return 0;
    case ARCVMM_EXIT_ERROR:
    default:
        fprintf(stderr, "arcvmm: VM failed: %s\n", ex->message);
        return 1;
    }
}

/* Run until the guest ends or a terminating signal arrives. With
 * --api-sock the API server runs too and its requests are carried out on
 * this thread; without `run` (CLI_API) the VM is created by InstanceStart,
 * or at once from --config-file. Metrics are flushed every
 * API_METRICS_PERIOD_S s and when the VM ends. */
static int run(struct cli *c)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    sigaddset(&sigs, SIGUSR1);      /* dump the virtio queues' state */
    /* Blocked before any thread exists, so only the signalfd sees them. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "arcvmm: signalfd: %s\n", strerror(errno));
        return 1;
    }
    char err[512];
    struct arcvmm *vm = NULL;
    static struct api_vmm av;       /* big (the routes' config): not on the stack */
    struct api_server *srv = NULL;
    int tfd = -1, rc = 2, signo = 0;
    api_vmm_init(&av, c->id);
    /* The CLI's console on a terminal is raw (Ctrl-A x quits), for both
     * `run` and InstanceStart; the library does that only when asked. */
    av.cfg_flags = ARCVMM_F_TTY_RAW;
    c->cfg.flags |= ARCVMM_F_TTY_RAW;
    if ((c->config_file && load_config_file(c, &av) < 0) || apply_outputs(c, &av) < 0)
        goto out;
    if (c->api_sock && api_server_create(c->api_sock, c->api_max_payload, api_vmm_handle, &av,
                                         &srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        goto out;
    }
    if (c->cmd == CLI_RUN) {
        if (arcvmm_create(&c->cfg, &vm, err, sizeof(err)) < 0) {
            fprintf(stderr, "arcvmm: %s\n", err);
            goto out;
        }
        if (arcvmm_start(vm) < 0) {
            fprintf(stderr, "arcvmm: could not start the VM\n");
            rc = 1;
            goto out;
        }
        api_vmm_attach(&av, vm, &c->cfg);
    } else if (c->config_file) {
        if (api_vmm_start(&av, err, sizeof(err)) < 0) {
            fprintf(stderr, "arcvmm: config file %s: %s\n", c->config_file, err);
            goto out;
        }
        vm = av.vm;
    }
    rc = 1;
    if (srv && api_server_start(srv) < 0) {
        fprintf(stderr, "arcvmm: api socket %s: could not start its thread\n", c->api_sock);
        goto out;
    }
    tfd = metrics_timer();
    struct pollfd p[4] = { { .fd = vm ? arcvmm_exit_fd(vm) : -1, .events = POLLIN },
                           { .fd = sfd, .events = POLLIN },
                           { .fd = srv ? api_server_fd(srv) : -1, .events = POLLIN },
                           { .fd = tfd, .events = POLLIN } };
    while (!signo) {
        if (poll(p, 4, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == sizeof(si))
                signo = (int)si.ssi_signo;
            if (signo == SIGUSR1) {
                if (vm)
                    arcvmm_dump_queues(vm, STDERR_FILENO);
                signo = 0;
            }
        }
        if (p[2].revents) {
            api_server_dispatch(srv);
            if (!vm && av.vm) {     /* InstanceStart */
                vm = av.vm;
                p[0].fd = arcvmm_exit_fd(vm);
            }
        }
        uint64_t ticks;
        if (p[3].revents && read(tfd, &ticks, sizeof(ticks)) == sizeof(ticks))
            api_vmm_flush_metrics(&av);
    }
    if (!vm) {                      /* ended before InstanceStart */
        if (signo)
            fprintf(stderr, "arcvmm: stopped by signal %d\n", signo);
        rc = signo ? 128 + signo : 1;
        goto out;
    }
    if (signo)
        arcvmm_stop(vm);
    struct arcvmm_exit ex;
    int r = arcvmm_wait(vm, &ex);
    api_vmm_flush_metrics(&av);     /* the last line: the VM's final counters */
    struct arcvmm_stats st;
    if (arcvmm_get_stats(vm, &st) == 0)
        log_info("vCPU exits to arcvmm: %llu (port I/O %llu, MMIO %llu)",
                 (unsigned long long)st.exits, (unsigned long long)st.pio_exits,
                 (unsigned long long)st.mmio_exits);
    if (r < 0)
        fprintf(stderr, "arcvmm: VM threads did not stop: %s\n", strerror(-r));
    rc = r < 0 ? 1 : exit_status(&ex, signo);
out:
    arcvmm_destroy(vm);
    api_server_destroy(srv);        /* answers still queued are written first */
    api_vmm_close(&av);
    if (tfd >= 0)
        close(tfd);
    close(sfd);
    return rc;
}

int main(int argc, char **argv)
{
    struct cli c;
    char err[512];
    if (cli_parse(argc, argv, &c, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        return 2;
    }
    switch (c.cmd) {
    case CLI_HELP:
        fputs(cli_usage(), stdout);
        return 0;
    case CLI_VERSION:
        printf("arcvmm %s\n", arcvmm_version());
        return 0;
    case CLI_RUN:
        if (c.verbose)
            log_set_level(LOG_INFO);
        if (getenv("ARCVMM_LOG") && !strcmp(getenv("ARCVMM_LOG"), "debug"))
            log_set_level(LOG_DEBUG);
        if (c.default_guest)
            log_info("booting the default guest %s", c.cfg.kernel);
        return run(&c);
    case CLI_API:
        if (c.verbose)
            log_set_level(LOG_INFO);
        if (getenv("ARCVMM_LOG") && !strcmp(getenv("ARCVMM_LOG"), "debug"))
            log_set_level(LOG_DEBUG);
        return run(&c);
    }
    return 2;
}
