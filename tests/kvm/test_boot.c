/* Tier 2: boot the freestanding test guest, as bzImage and as PVH ELF, on
 * /dev/kvm and check serial output, PIO/MMIO dispatch, memory map, reset,
 * fatal exits, console input and hostile port/MMIO accesses.
 * Built for arm64, the same checks where they apply, with the arm64 test
 * guest (an Image, console on the PL011, PSCI reset, no port I/O). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>

#include "bus/bus.h"
#include "kvmtest.h"
#include "vm/vm.h"

static const char *images[] = KT_IMAGES;
#define NIMAGES ((int)(sizeof(images) / sizeof(images[0])))

static void boot_and_expect(const char *image, const char *cmdline, const char *needle,
                            enum arcvmm_exit_reason want, int *ok)
{
    struct kt t;
    struct arcvmm_exit ex;
    *ok = 0;
    if (kt_create(&t, image, cmdline, 1, 64) < 0)
        return;
    if (arcvmm_start(t.vm) == 0 && kt_wait(&t, &ex) == 0) {
        bool seen = strstr(t.buf, needle) != NULL;
        if (!seen)
            fprintf(stderr, "  %s '%s': missing '%s' in:\n%s\n", image, cmdline, needle, t.buf);
        if (ex.reason != want)
            fprintf(stderr, "  %s '%s': exit reason %d, want %d (%s)\n", image, cmdline,
                    ex.reason, want, ex.message);
        *ok = seen && ex.reason == want;
    }
    kt_destroy(&t);
}

#ifdef __aarch64__
static void t_hello_both_formats(void)
{
    int ok;
    boot_and_expect("Image", "hello", "testguest: start arm64\ntestguest: hello",
                    ARCVMM_EXIT_POWEROFF, &ok);
    CHECK(ok);
}

/* 64 MiB guest: the DTB's /memory node holds all of it. */
static void t_memory_map(void)
{
    int ok;
    boot_and_expect("Image", "mem", "testguest: mem 65536\n", ARCVMM_EXIT_POWEROFF, &ok);
    CHECK(ok);
}
#else
static void t_hello_both_formats(void)
{
    int ok;
    boot_and_expect("bzImage", "hello", "testguest: start bzimage", ARCVMM_EXIT_POWEROFF, &ok);
    CHECK(ok);
    boot_and_expect("elf", "hello", "testguest: start pvh", ARCVMM_EXIT_POWEROFF, &ok);
    CHECK(ok);
}

/* 64 MiB guest: e820/memmap RAM = 639 KiB below the EBDA + (64 MiB - 1 MiB). */
static void t_memory_map(void)
{
    int ok;
    char want[64];
    snprintf(want, sizeof(want), "testguest: mem %d", 639 + 63 * 1024);
    for (int i = 0; i < 2; i++) {
        boot_and_expect(images[i], "mem", want, ARCVMM_EXIT_POWEROFF, &ok);
        CHECK(ok);
    }
}
#endif

/* x86: the i8042 reset line; arm64: PSCI SYSTEM_RESET. */
static void t_reset_ends_vm(void)
{
    int ok;
    for (int i = 0; i < NIMAGES; i++) {
        boot_and_expect(images[i], "reset", "testguest: reset", ARCVMM_EXIT_RESET, &ok);
        CHECK(ok);
    }
}

#ifdef __aarch64__
/* A load pair from unbacked MMIO has no instruction syndrome: KVM cannot
 * emulate it, and the VM must end in an error naming it, with registers. */
static void t_unemulable_access_is_fatal(void)
{
    struct kt t;
    struct arcvmm_exit ex;
    CHECK(kt_create(&t, "Image", "fault", 1, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_wait(&t, &ex) == 0);
    kt_destroy(&t);
    CHECK(strstr(t.buf, "testguest: fault\n") != NULL);
    CHECK(strstr(t.buf, "fault survived") == NULL);
    if (ex.reason != ARCVMM_EXIT_ERROR)
        fprintf(stderr, "  exit reason %d (%s); console:\n%s\n", ex.reason, ex.message, t.buf);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_ERROR);
    CHECK(ex.message[0] != '\0');
    printf("  fatal exit: %s\n", ex.message);
}
#else
/* A triple fault resets a PC (Linux's reboot=t relies on it): the VM ends
 * as a reboot, and the message still says it was a triple fault, with the
 * registers. */
static void t_triple_fault_is_reset_with_registers(void)
{
    struct kt t;
    struct arcvmm_exit ex;
    CHECK(kt_create(&t, "bzImage", "fault", 1, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_wait(&t, &ex) == 0);
    kt_destroy(&t);
    CHECK(strstr(t.buf, "testguest: fault\n") != NULL);
    if (ex.reason != ARCVMM_EXIT_RESET)
        fprintf(stderr, "  exit reason %d (%s)\n", ex.reason, ex.message);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_RESET);
    CHECK(strstr(ex.message, "triple fault (KVM_EXIT_SHUTDOWN)") != NULL);
    CHECK(strstr(ex.message, "rip=") != NULL);
}
#endif

struct counter_dev {
    atomic_uint writes, reads;
    uint32_t last;
};

static void counter_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct counter_dev *d = opaque;
    if (is_write) {
        uint32_t v = 0;
        memcpy(&v, data, len < 4 ? len : 4);
        d->last = v;
        atomic_fetch_add(&d->writes, 1);
    } else {
        uint32_t v = 0xC0DE0000u | (uint32_t)off;
        memcpy(data, &v, len < 4 ? len : 4);
        atomic_fetch_add(&d->reads, 1);
    }
}

#ifndef __aarch64__
static void t_pio_dispatch(void)
{
    for (int i = 0; i < 2; i++) {
        struct kt t;
        struct arcvmm_exit ex;
        struct counter_dev d = { 0 };
        CHECK(kt_create(&t, images[i], "pio=1000", 1, 64) == 0);
        struct vm *vm = (struct vm *)t.vm;
        CHECK(bus_register(&vm->pio, 0x510, 4, counter_io, &d, "test") == 0);
        CHECK(arcvmm_start(t.vm) == 0);
        CHECK(kt_wait(&t, &ex) == 0);
        kt_destroy(&t);
        CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
        CHECK_EQ(atomic_load(&d.writes), 1000);
        CHECK_EQ(d.last, 999);
        CHECK_EQ(atomic_load(&d.reads), 1);
        CHECK(strstr(t.buf, "pio-read 0xc0de0000") != NULL);
    }
}

#endif

#ifdef __aarch64__
#define MMIO_TEST_ADDR KT_MMIO_TEST_ADDR
#else
#define MMIO_TEST_ADDR 0xd0000000ULL
#endif

static void t_mmio_dispatch(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        struct kt t;
        struct arcvmm_exit ex;
        struct counter_dev d = { 0 };
        CHECK(kt_create(&t, images[i], "mmio=100", 1, 64) == 0);
        struct vm *vm = (struct vm *)t.vm;
        CHECK(bus_register(&vm->mmio, MMIO_TEST_ADDR, 0x1000, counter_io, &d, "test") == 0);
        CHECK(arcvmm_start(t.vm) == 0);
        CHECK(kt_wait(&t, &ex) == 0);
        kt_destroy(&t);
        CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
        CHECK_EQ(atomic_load(&d.writes), 100);
        CHECK_EQ(d.last, 99);
        CHECK(strstr(t.buf, "mmio-read 0xc0de0004") != NULL);
    }
}

/* Unclaimed ports and MMIO: reads see all-ones, the VM carries on. */
static void t_unclaimed_accesses(void)
{
    int ok;
#ifdef __aarch64__
    boot_and_expect("Image", "badaccess", "testguest: badaccess 0xffffffff", ARCVMM_EXIT_POWEROFF, &ok);
#else
    boot_and_expect("bzImage", "badport", "testguest: badport 0xffffffff", ARCVMM_EXIT_POWEROFF, &ok);
#endif
    CHECK(ok);
}

static void t_console_input(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        struct kt t;
        struct arcvmm_exit ex;
        CHECK(kt_create(&t, images[i], "echo", 1, 64) == 0);
        CHECK(arcvmm_start(t.vm) == 0);
        const char line[] = "hello from the host\n";
        CHECK(write(t.in_wr, line, sizeof(line) - 1) == (ssize_t)sizeof(line) - 1);
        CHECK(kt_wait(&t, &ex) == 0);
        kt_destroy(&t);
        CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
        CHECK(strstr(t.buf, "testguest: echo hello from the host") != NULL);
    }
}

/* More input than the UART's FIFO holds (8250: 64 bytes, PL011: 32) must
 * arrive whole and in order (the guest's line buffer holds 127). */
static void t_console_input_flow_control(void)
{
    struct kt t;
    struct arcvmm_exit ex;
    CHECK(kt_create(&t, KT_IMAGE, "echo", 1, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    char line[121];
    for (int i = 0; i < 120; i++)
        line[i] = (char)('a' + i % 26);
    line[120] = '\n';
    CHECK(write(t.in_wr, line, sizeof(line)) == (ssize_t)sizeof(line));
    CHECK(kt_wait(&t, &ex) == 0);
    kt_destroy(&t);
    line[120] = '\0';
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    if (!strstr(t.buf, line))
        fprintf(stderr, "  console:\n%s\n", t.buf);
    CHECK(strstr(t.buf, line) != NULL);
}

static uint64_t vcpu0_exits(struct arcvmm *a)
{
    struct vm *vm = (struct vm *)a;
    return __atomic_load_n(&vm->vcpus[0].exits, __ATOMIC_RELAXED);
}

/* Poll a condition every millisecond (a bound for failing tests, not a
 * synchronisation: the loop ends as soon as the condition holds). */
static void tick_1ms(void)
{
    struct timespec ts = { .tv_nsec = 1000000 };
    nanosleep(&ts, NULL);
}

#define TEST_RING_BYTES 1024

/* A console reader that stops (a full pipe, a pager waiting for a key)
 * must not stall the guest, nor stop: the guest prints ticks as fast as it
 * can into a one-page pipe nobody reads. Once the pipe is full the guest
 * must keep running (its vCPU exits advance by more than the console's
 * ring can hold, so output is being dropped, not queued), and stop and
 * destroy must finish (a vCPU blocked in write(2) would make stop time out
 * after 5 s and destroy leak the VM). */
static void t_console_unread_output(void)
{
    struct kt t;
    CHECK(kt_create(&t, KT_IMAGE, "counter=0", 1, 64) == 0);
    int cap = fcntl(t.out_rd, F_SETPIPE_SZ, 4096);
    CHECK(cap > 0);
    struct vm *vm = (struct vm *)t.vm;
    vm->console.cap = TEST_RING_BYTES;  /* a small ring: fewer exits to fill it */
    CHECK(arcvmm_start(t.vm) == 0);
    long long end = kt_now_ms() + KT_TIMEOUT_MS;
    /* Each console byte costs the guest two exits (LSR read, THR write):
     * this many exits wrote twice what the pipe and the ring hold. A vCPU
     * blocked on the full pipe stops near 2 * cap exits. */
    uint64_t want = 4 * ((uint64_t)cap + TEST_RING_BYTES);
    while (kt_now_ms() < end && vcpu0_exits(t.vm) < want)
        tick_1ms();
    uint64_t e1 = vcpu0_exits(t.vm);
    int queued = -1;
    ioctl(t.out_rd, FIONREAD, &queued);
    if (e1 < want)
        fprintf(stderr, "  guest stalled at %llu exits (want %llu), %d bytes in the pipe\n",
                (unsigned long long)e1, (unsigned long long)want, queued);
    CHECK(e1 >= want);
    CHECK(console_dropped(&vm->console) > 0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_RUNNING);
    CHECK_EQ(arcvmm_stop(t.vm), 0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    kt_destroy(&t);     /* the VM is freed (a leak shows under ASan) */
}

/* Pause returns in bounded time with the reader stopped too, and the VM
 * resumes and stops. */
static void t_console_unread_pause(void)
{
    struct kt t;
    CHECK(kt_create(&t, KT_IMAGE, "counter=0", 1, 64) == 0);
    int cap = fcntl(t.out_rd, F_SETPIPE_SZ, 4096);
    CHECK(cap > 0);
    struct vm *vm = (struct vm *)t.vm;
    vm->console.cap = TEST_RING_BYTES;
    CHECK(arcvmm_start(t.vm) == 0);
    long long end = kt_now_ms() + KT_TIMEOUT_MS;
    while (kt_now_ms() < end && console_dropped(&vm->console) == 0)
        tick_1ms();
    CHECK(console_dropped(&vm->console) > 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(arcvmm_pause(t.vm), 0);
        CHECK_EQ(arcvmm_resume(t.vm), 0);
    }
    CHECK_EQ(arcvmm_stop(t.vm), 0);
    kt_destroy(&t);
}

/* A VM with its console on a terminal (a pty); flags ARCVMM_F_TTY_RAW:
 * raw mode while it runs. */
static int tty_vm(const char *cmdline, uint32_t flags, int *m, int *sl, struct arcvmm **vm)
{
    *m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*m < 0 || grantpt(*m) || unlockpt(*m))
        return -1;
    *sl = open(ptsname(*m), O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (*sl < 0)
        return -1;
    char path[512];
    kt_guest_path(path, sizeof(path), KT_IMAGE);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = path;
    c.cmdline = cmdline;
    c.memory_mib = 64;
    c.console_in_fd = *sl;
    c.console_out_fd = *sl;
    c.flags = flags;
    char err[256];
    int r = arcvmm_create(&c, vm, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "  arcvmm_create: %s\n", err);
    return r;
}

/* Read the pty until needle shows (bounded); true if it did. */
static bool tty_expect(int m, char *buf, size_t cap, size_t *len, const char *needle)
{
    long long end = kt_now_ms() + KT_TIMEOUT_MS;
    while (!memmem(buf, *len, needle, strlen(needle))) {
        if (kt_now_ms() >= end || *len == cap)
            return false;
        struct pollfd p = { .fd = m, .events = POLLIN };
        if (poll(&p, 1, 200) > 0) {
            ssize_t n = read(m, buf + *len, cap - *len);
            if (n > 0)
                *len += (size_t)n;
        }
    }
    return true;
}

/* On a terminal with ARCVMM_F_TTY_RAW: raw mode (restored at the end),
 * input through the loop, Ctrl-A Ctrl-A passes one Ctrl-A to the guest. */
static void t_console_tty_input(void)
{
    int m, sl;
    struct arcvmm *vm;
    CHECK(tty_vm("echo", ARCVMM_F_TTY_RAW, &m, &sl, &vm) == 0);
    struct termios tio;
    CHECK(tcgetattr(sl, &tio) == 0);
    CHECK(!(tio.c_lflag & ICANON));
    CHECK(arcvmm_start(vm) == 0);
    CHECK(write(m, "ab\x01\x01\r", 5) == 5);
    char buf[4096];
    size_t len = 0;
    bool seen = tty_expect(m, buf, sizeof(buf), &len, "testguest: echo ab\x01\r");
    struct arcvmm_exit ex;
    CHECK(arcvmm_wait(vm, &ex) == 0);
    arcvmm_destroy(vm);
    CHECK(seen);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    CHECK(tcgetattr(sl, &tio) == 0);
    CHECK(tio.c_lflag & ICANON);            /* restored */
    close(sl);
    close(m);
}

/* Ctrl-A x on the terminal ends a guest that would run forever. */
static void t_console_tty_quit(void)
{
    int m, sl;
    struct arcvmm *vm;
    CHECK(tty_vm("counter=20000", ARCVMM_F_TTY_RAW, &m, &sl, &vm) == 0);
    CHECK(arcvmm_start(vm) == 0);
    char buf[65536];
    size_t len = 0;
    CHECK(tty_expect(m, buf, sizeof(buf), &len, "testguest: tick 1"));
    CHECK(write(m, "\x01x", 2) == 2);
    struct pollfd p = { .fd = arcvmm_exit_fd(vm), .events = POLLIN };
    bool ended = poll(&p, 1, KT_TIMEOUT_MS) == 1;  /* the guest never ends by itself */
    struct arcvmm_exit ex = { 0 };
    if (ended)
        CHECK(arcvmm_wait(vm, &ex) == 0);
    arcvmm_destroy(vm);
    CHECK(ended);
    if (ex.reason != ARCVMM_EXIT_STOPPED)
        fprintf(stderr, "  exit reason %d (%s)\n", ex.reason, ex.message);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_STOPPED);
    CHECK(strstr(ex.message, "Ctrl-A x") != NULL);
    close(sl);
    close(m);
}

/* Without ARCVMM_F_TTY_RAW the terminal is the program's: its settings
 * are never touched, and Ctrl-A x is just input for the guest. */
static void t_console_tty_untouched(void)
{
    int m, sl;
    struct arcvmm *vm;
    CHECK(tty_vm("echo", 0, &m, &sl, &vm) == 0);
    struct termios before, during, after;     /* zeroed: memcmp sees the padding */
    memset(&before, 0, sizeof(before));
    memset(&during, 0, sizeof(during));
    memset(&after, 0, sizeof(after));
    CHECK(tcgetattr(sl, &before) == 0);
    CHECK(before.c_lflag & ICANON);     /* a fresh pty is cooked */
    CHECK(arcvmm_start(vm) == 0);
    CHECK(tcgetattr(sl, &during) == 0);
    CHECK(!memcmp(&before, &during, sizeof(before)));
    CHECK(write(m, "a\x01x\n", 4) == 4);   /* cooked: the line goes out at the newline */
    char buf[4096];
    size_t len = 0;
    bool seen = tty_expect(m, buf, sizeof(buf), &len, "testguest: echo a\x01x");
    struct arcvmm_exit ex;
    CHECK(arcvmm_wait(vm, &ex) == 0);
    CHECK(tcgetattr(sl, &after) == 0);
    arcvmm_destroy(vm);
    CHECK(seen);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);  /* not ended by the Ctrl-A x */
    CHECK(!memcmp(&before, &after, sizeof(before)));
    close(sl);
    close(m);
}

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_hello_both_formats);
    RUN(t_memory_map);
    RUN(t_reset_ends_vm);
#ifdef __aarch64__
    RUN(t_unemulable_access_is_fatal);
#else
    RUN(t_triple_fault_is_reset_with_registers);
    RUN(t_pio_dispatch);
#endif
    RUN(t_mmio_dispatch);
    RUN(t_unclaimed_accesses);
    RUN(t_console_input);
    RUN(t_console_input_flow_control);
    RUN(t_console_unread_output);
    RUN(t_console_unread_pause);
    RUN(t_console_tty_input);
    RUN(t_console_tty_quit);
    RUN(t_console_tty_untouched);
    return harness_done();
}
