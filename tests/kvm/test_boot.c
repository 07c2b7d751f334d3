/* Tier 2: boot the freestanding test guest, as bzImage and as PVH ELF, on
 * /dev/kvm and check serial output, PIO/MMIO dispatch, memory map, reset,
 * fatal exits, console input and hostile port/MMIO accesses.
 * Built for arm64, the same checks where they apply, with the arm64 test
 * guest (an Image, console on the PL011, PSCI reset, no port I/O). */
#include <stdatomic.h>
#include <stdio.h>

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
    return harness_done();
}
