/* arcvmm command-line entry: parse, then drive the library API. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "api/server.h"
#include "api/vmm.h"
#include "arcvmm.h"
#include "base/log.h"
#include "cli/cli.h"

/* Run until the guest ends or a terminating signal arrives. With
 * --api-sock the API server runs too and its requests are carried out on
 * this thread; without `run` (CLI_API) the VM is created by InstanceStart. */
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
    api_vmm_init(&av, c->id);
    /* The CLI's console on a terminal is raw (Ctrl-A x quits), for both
     * `run` and InstanceStart; the library does that only when asked. */
    av.cfg_flags = ARCVMM_F_TTY_RAW;
    c->cfg.flags |= ARCVMM_F_TTY_RAW;
    if (c->api_sock && api_server_create(c->api_sock, c->api_max_payload, api_vmm_handle, &av,
                                         &srv, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        close(sfd);
        return 2;
    }
    if (c->cmd == CLI_RUN) {
        if (arcvmm_create(&c->cfg, &vm, err, sizeof(err)) < 0) {
            fprintf(stderr, "arcvmm: %s\n", err);
            api_server_destroy(srv);
            close(sfd);
            return 2;
        }
        if (arcvmm_start(vm) < 0) {
            fprintf(stderr, "arcvmm: could not start the VM\n");
            arcvmm_destroy(vm);
            api_server_destroy(srv);
            close(sfd);
            return 1;
        }
        api_vmm_attach(&av, vm, &c->cfg);
    }
    if (srv && api_server_start(srv) < 0) {
        fprintf(stderr, "arcvmm: api socket %s: could not start its thread\n", c->api_sock);
        arcvmm_destroy(vm);
        api_server_destroy(srv);
        close(sfd);
        return 1;
    }
    int signo = 0;
    struct pollfd p[3] = { { .fd = vm ? arcvmm_exit_fd(vm) : -1, .events = POLLIN },
                           { .fd = sfd, .events = POLLIN },
                           { .fd = srv ? api_server_fd(srv) : -1, .events = POLLIN } };
    while (!signo) {
        if (poll(p, 3, -1) < 0 && errno != EINTR)
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
    }
    if (!vm) {                      /* ended before InstanceStart */
        api_server_destroy(srv);
        close(sfd);
        if (signo)
            fprintf(stderr, "arcvmm: stopped by signal %d\n", signo);
        return signo ? 128 + signo : 1;
    }
    if (signo)
        arcvmm_stop(vm);
    struct arcvmm_exit ex;
    int r = arcvmm_wait(vm, &ex);
    struct arcvmm_stats st;
    if (arcvmm_get_stats(vm, &st) == 0)
        log_info("vCPU exits to arcvmm: %llu (port I/O %llu, MMIO %llu)",
                 (unsigned long long)st.exits, (unsigned long long)st.pio_exits,
                 (unsigned long long)st.mmio_exits);
    arcvmm_destroy(vm);
    api_server_destroy(srv);        /* answers still queued are written first */
    close(sfd);
    if (r < 0) {
        fprintf(stderr, "arcvmm: VM threads did not stop: %s\n", strerror(-r));
        return 1;
    }
    switch (ex.reason) {
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
        fprintf(stderr, "arcvmm: VM failed: %s\n", ex.message);
        return 1;
    }
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
