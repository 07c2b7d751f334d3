/* A program that uses an installed arcvmm as any user's program would:
 * only <arcvmm.h> and what `pkg-config --cflags --libs arcvmm` gives.
 * It defines file_check and log_msg for itself -- names the library uses
 * inside -- so it links only if the library keeps those to itself, and
 * it checks the library never calls them.
 *
 *   libuser GUEST    GUEST: the tier-2 test guest (tests/kvm/guest)
 *
 * Boots GUEST in its `echo` mode with the console on pipes, types a
 * line, and checks: a missing kernel is -ENOENT, the state is RUNNING
 * while the guest waits, STOPPED as soon as it powered off (before
 * arcvmm_wait), the exit is POWEROFF and the line came back. Prints one
 * line per check and "N passed, N failed"; exit 0 only if all passed. */
#define _GNU_SOURCE
#include <arcvmm.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TIMEOUT_MS 20000

static int log_calls;

/* The program's own log_msg and file_check: other signatures than the
 * library's, and counted. */
void log_msg(const char *what);
void log_msg(const char *what)
{
    log_calls++;
    printf("libuser: %s\n", what);
}

int file_check(void);
int file_check(void)
{
    return 42;
}

static int passed, failed;

static void check(int ok, const char *what)
{
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
    if (ok)
        passed++;
    else
        failed++;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Read fd into buf until needle shows or the deadline; 1 if it did. */
static int expect(int fd, char *buf, size_t cap, size_t *len, const char *needle)
{
    long long end = now_ms() + TIMEOUT_MS;
    for (;;) {
        buf[*len] = '\0';
        if (strstr(buf, needle))
            return 1;
        long long left = end - now_ms();
        if (left <= 0 || *len >= cap - 1)
            return 0;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) > 0) {
            ssize_t n = read(fd, buf + *len, cap - 1 - *len);
            if (n > 0)
                *len += (size_t)n;
            else if (n == 0)
                return 0;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: libuser GUEST\n");
        return 2;
    }
    log_msg("start");
    check(file_check() == 42 && log_calls == 1, "the program's own file_check and log_msg");
    check(strcmp(arcvmm_version(), ARCVMM_VERSION) == 0, "library and header versions agree");

    struct arcvmm_config c;
    arcvmm_config_init(&c);
    char err[512];
    struct arcvmm *vm = NULL;
    c.kernel = "/nonexistent/bzImage";
    int r = arcvmm_create(&c, &vm, err, sizeof(err));
    check(r == -ENOENT && vm == NULL && strstr(err, "/nonexistent/bzImage"),
          "a missing kernel is -ENOENT, named in the message");

    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) {
        perror("pipe2");
        return 1;
    }
    arcvmm_config_init(&c);
    c.kernel = argv[1];
    c.cmdline = "echo";
    c.memory_mib = 64;
    c.console_in_fd = in[0];
    c.console_out_fd = out[1];
    r = arcvmm_create(&c, &vm, err, sizeof(err));
    check(r == 0, "arcvmm_create boots the test guest");
    if (r < 0) {
        fprintf(stderr, "  arcvmm_create: %s\n", err);
        printf("%d passed, %d failed\n", passed, failed + 1);
        return 1;
    }
    check(arcvmm_start(vm) == 0, "arcvmm_start");
    char buf[8192];
    size_t len = 0;
    check(expect(out[0], buf, sizeof(buf), &len, "testguest: start"), "the guest runs");
    check(arcvmm_get_state(vm) == ARCVMM_RUNNING, "RUNNING while the guest waits for a line");
    check(write(in[1], "through the library\n", 20) == 20, "a line typed");
    struct pollfd p = { .fd = arcvmm_exit_fd(vm), .events = POLLIN };
    check(poll(&p, 1, TIMEOUT_MS) == 1, "the exit fd says the VM ended");
    check(arcvmm_get_state(vm) == ARCVMM_STOPPED, "STOPPED before arcvmm_wait");
    struct arcvmm_exit ex;
    check(arcvmm_wait(vm, &ex) == 0 && ex.reason == ARCVMM_EXIT_POWEROFF,
          "arcvmm_wait: the guest powered off");
    check(expect(out[0], buf, sizeof(buf), &len, "testguest: echo through the library"),
          "the guest echoed the line");
    arcvmm_destroy(vm);
    check(log_calls == 1, "the library never called the program's log_msg");
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
