/* arcvmm command-line entry: parse, then drive the library API. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "arcvmm.h"
#include "base/log.h"
#include "cli/cli.h"

/* Run until the guest ends or a terminating signal arrives. */
static int run(struct cli *c)
{
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    /* Blocked before any thread exists, so only the signalfd sees them. */
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
    if (sfd < 0) {
        fprintf(stderr, "arcvmm: signalfd: %s\n", strerror(errno));
        return 1;
    }
    char err[512];
    struct arcvmm *vm;
    if (arcvmm_create(&c->cfg, &vm, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        close(sfd);
        return 2;
    }
    if (arcvmm_start(vm) < 0) {
        fprintf(stderr, "arcvmm: could not start the VM\n");
        arcvmm_destroy(vm);
        close(sfd);
        return 1;
    }
    int signo = 0;
    struct pollfd p[2] = { { .fd = arcvmm_exit_fd(vm), .events = POLLIN },
                           { .fd = sfd, .events = POLLIN } };
    while (!signo) {
        if (poll(p, 2, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents)
            break;
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof(si)) == sizeof(si))
                signo = (int)si.ssi_signo;
        }
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
    }
    return 2;
}
