/* Tier-2 helpers: boot the project's freestanding test guest
 * (tests/kvm/guest/) through the library with its console on a pipe, and
 * read that console line by line with a deadline. Deadlines only bound a
 * failing test; nothing here sleeps to synchronise. */
#ifndef ARCVMM_KVMTEST_H
#define ARCVMM_KVMTEST_H
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arcvmm.h"
#include "harness.h"

#define KT_TIMEOUT_MS 20000

/* Where the test guest is: $(BUILD)/guest of a native build (a cross
 * build's tests run elsewhere, e.g. in the arm64 rig, with
 * ARCVMM_TESTGUEST_DIR set). */
#define KT_GUEST_DIR "build/guest"
/* Per architecture: the test guest's image files (kt_create's image
 * argument; KT_IMAGE is the main one) and the Linux console. */
#ifdef __aarch64__
#define KT_IMAGE "Image"                /* tests/kvm/guest/arm64 */
#define KT_IMAGES { "Image" }
#define KT_LINUX_CONSOLE "console=ttyAMA0"
/* MMIO addresses of the arm64 test guest's mmio=N and badaccess commands
 * (tests/kvm/guest/arm64/main.c has the same numbers). */
#define KT_MMIO_TEST_ADDR 0x3f000000ULL
#define KT_BAD_MMIO_ADDR 0x3f100000ULL
#else
#define KT_IMAGE "bzImage"
#define KT_IMAGES { "bzImage", "elf" }
#define KT_LINUX_CONSOLE "console=ttyS0"
#endif

struct kt {
    struct arcvmm *vm;
    int out_rd, out_wr;     /* guest console output pipe */
    int in_rd, in_wr;       /* guest console input pipe */
    char buf[65536];
    size_t len;             /* bytes of console output collected */
    size_t pos;             /* kt_expect() search start */
    char err[512];
};

static const char *kt_guest_dir = KT_GUEST_DIR;

static inline long long kt_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Create (not start) a VM booting kernel (+ initrd, may be NULL) with its
 * console on pipes. */
static inline int kt_create_with(struct kt *t, const char *kernel, const char *initrd,
                                 const char *cmdline, int cpus, int mem_mib)
{
    memset(t, 0, sizeof(*t));
    int o[2], i[2];
    if (pipe2(o, O_CLOEXEC) || pipe2(i, O_CLOEXEC))
        return -errno;
    t->out_rd = o[0]; t->out_wr = o[1];
    t->in_rd = i[0]; t->in_wr = i[1];
    fcntl(t->out_rd, F_SETFL, O_NONBLOCK);
    fcntl(t->out_rd, F_SETPIPE_SZ, 1 << 20);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = kernel;
    c.initrd = initrd;
    c.cmdline = cmdline;
    c.cpus = cpus;
    c.memory_mib = (uint64_t)mem_mib;
    c.console_in_fd = t->in_rd;
    c.console_out_fd = t->out_wr;
    int r = arcvmm_create(&c, &t->vm, t->err, sizeof(t->err));
    if (r < 0)
        fprintf(stderr, "  arcvmm_create: %s\n", t->err);
    return r;
}

/* The project's freestanding test guest. image: "bzImage" or "elf" (x86),
 * "Image" (arm64). */
static inline int kt_create(struct kt *t, const char *image, const char *cmdline,
                            int cpus, int mem_mib)
{
    char path[512];
    const char *dir = getenv("ARCVMM_TESTGUEST_DIR") ? getenv("ARCVMM_TESTGUEST_DIR") : kt_guest_dir;
    snprintf(path, sizeof(path), "%s/testguest.%s", dir, image);
    return kt_create_with(t, path, NULL, cmdline, cpus, mem_mib);   /* the path is copied */
}

/* The test guest's file for image "bzImage" or "elf" (arm64: "Image");
 * ARCVMM_TESTGUEST_DIR overrides KT_GUEST_DIR. */
static inline void kt_guest_path(char *path, size_t n, const char *image)
{
    const char *dir = getenv("ARCVMM_TESTGUEST_DIR") ? getenv("ARCVMM_TESTGUEST_DIR") : kt_guest_dir;
    snprintf(path, n, "%s/testguest.%s", dir, image);
}

/* Create (not start) a VM from a full config; its console fields are
 * replaced by the kt pipes. */
static inline int kt_create_config(struct kt *t, struct arcvmm_config *c)
{
    memset(t, 0, sizeof(*t));
    t->out_rd = t->out_wr = t->in_rd = t->in_wr = -1;   /* kt_destroy-safe */
    int o[2], i[2];
    if (pipe2(o, O_CLOEXEC))
        return -errno;
    if (pipe2(i, O_CLOEXEC)) {
        int r = -errno;
        close(o[0]); close(o[1]);
        return r;
    }
    t->out_rd = o[0]; t->out_wr = o[1];
    t->in_rd = i[0]; t->in_wr = i[1];
    fcntl(t->out_rd, F_SETFL, O_NONBLOCK);
    fcntl(t->out_rd, F_SETPIPE_SZ, 1 << 20);
    c->console = ARCVMM_CONSOLE_STDIO;
    c->console_in_fd = t->in_rd;
    c->console_out_fd = t->out_wr;
    int r = arcvmm_create(c, &t->vm, t->err, sizeof(t->err));
    if (r < 0)
        fprintf(stderr, "  arcvmm_create: %s\n", t->err);
    return r;
}

/* The test guest (image as for kt_create) with virtio-blk disks. On
 * failure t->err says why and the pipes stay open (kt_destroy closes them). */
static inline int kt_create_disks(struct kt *t, const char *image, const char *cmdline,
                                  int cpus, int mem_mib, const struct arcvmm_disk *disks,
                                  int ndisks)
{
    char path[512];
    kt_guest_path(path, sizeof(path), image);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = path;        /* copied by arcvmm_create */
    c.cmdline = cmdline;
    c.cpus = cpus;
    c.memory_mib = (uint64_t)mem_mib;
    for (int i = 0; i < ndisks && i < ARCVMM_MAX_DISKS; i++)
        c.disks[i] = disks[i];
    c.ndisks = ndisks;
    c.transport = ARCVMM_TRANSPORT_MMIO;    /* the test guest's driver is virtio-mmio */
    return kt_create_config(t, &c);
}

/* Read what is available now (wait at most wait_ms for the first byte). */
static inline ssize_t kt_read(struct kt *t, int wait_ms)
{
    struct pollfd p = { .fd = t->out_rd, .events = POLLIN };
    if (poll(&p, 1, wait_ms) <= 0)
        return 0;
    if (t->len >= sizeof(t->buf) - 1)
        t->len = t->pos = 0;        /* keep reading; old output is dropped */
    ssize_t n = read(t->out_rd, t->buf + t->len, sizeof(t->buf) - 1 - t->len);
    if (n > 0) {
        t->len += (size_t)n;
        t->buf[t->len] = '\0';
    }
    return n;
}

/* Wait until `needle` appears after the last match; true if it did. */
static inline bool kt_expect(struct kt *t, const char *needle)
{
    long long end = kt_now_ms() + KT_TIMEOUT_MS;
    for (;;) {
        t->buf[t->len] = '\0';
        char *hit = strstr(t->buf + t->pos, needle);
        if (hit) {
            t->pos = (size_t)(hit - t->buf) + strlen(needle);
            return true;
        }
        long long left = end - kt_now_ms();
        if (left <= 0) {
            fprintf(stderr, "  timed out waiting for '%s'; console so far:\n%s\n", needle, t->buf);
            return false;
        }
        kt_read(t, (int)(left < 200 ? left : 200));
    }
}

/* Drain everything the guest wrote so far (the pipe is non-blocking). */
static inline void kt_drain(struct kt *t)
{
    while (kt_read(t, 0) > 0)
        ;
}

/* Wait for the VM to end (bounded by the guest itself), collect output. */
static inline int kt_wait(struct kt *t, struct arcvmm_exit *ex)
{
    int r = arcvmm_wait(t->vm, ex);
    kt_drain(t);
    return r;
}

static inline void kt_destroy(struct kt *t)
{
    arcvmm_destroy(t->vm);
    t->vm = NULL;
    close(t->out_rd); close(t->out_wr);
    close(t->in_rd); close(t->in_wr);
}

/* Skip-is-failure: a tier that cannot run says so and fails. */
static inline int kt_require_kvm(void)
{
    if (access("/dev/kvm", R_OK | W_OK) != 0) {
        printf("NO /dev/kvm: tier-2 tests cannot run on this machine\n");
        printf("0 passed, 1 failed\n");
        return -1;
    }
    return 0;
}
#endif
