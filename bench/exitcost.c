/* Exit dispatch cost: the freestanding test guest doing N port writes
 * through arcvmm (vCPU thread, request check, bus lookup, device handler)
 * vs a bare KVM_RUN loop running the very same guest (the physical bound
 * on this host). Boot costs cancel: each
 * side is timed at two N and the difference is divided by the extra exits.
 * Prints one ratio; runs on /dev/kvm directly (tier 2).
 * Usage: exitcost [EXITS]   (default 200000) */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/x86/boot.h"
#include "arcvmm.h"
#include "base/file.h"
#include "bus/bus.h"
#include "hv/hv_x86.h"
#include "vm/vm.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The bound: the same test guest image and command, booted with the same
 * builders and hv calls, run by a loop that only counts exits: no vCPU
 * thread, no request check, no bus. It answers the UART status port (so
 * the guest's prints do not spin) and stops at the ACPI poweroff write. */
static double bare_run(const char *kernel, uint32_t n)
{
    char err[256], cmd[64];
    struct hv_vm *hv;
    struct hv_vcpu *cpu;
    struct guest_mem mem;
    struct x86_kernel k;
    struct x86_boot_regs regs;
    uint8_t *img;
    size_t len;
    snprintf(cmd, sizeof(cmd), "pio=%u", n);
    if (hv_vm_create(&hv, err, sizeof(err)) < 0 || arch_mem_layout(64ULL << 20, &mem) < 0 ||
        mem_map(&mem) < 0 || hv_set_memory(hv, 0, 0, mem.r[0].size, mem.r[0].hva) < 0 ||
        hv_irqchip_create(hv) < 0 ||
        file_read_all("kernel", kernel, 1 << 30, &img, &len, err, sizeof(err)) < 0 ||
        x86_kernel_load(&mem, img, len, &k, err, sizeof(err)) < 0 ||
        x86_pagetables_setup(&mem) < 0 || x86_gdt_setup(&mem) < 0 ||
        x86_bootparams_setup(&mem, &k, cmd, 0, 0, 0) < 0 ||
        hv_vcpu_create(hv, 0, &cpu) < 0 || hv_x86_vcpu_setup(cpu, 0, 1) < 0) {
        fprintf(stderr, "bare: setup failed %s\n", err);
        exit(1);
    }
    scratch_free(img, len);
    x86_boot_regs_bzimage(&k, &regs);
    hv_x86_set_boot_regs(cpu, &regs);
    uint64_t exits = 0;
    struct hv_exit e;
    double t0 = now_s();
    for (;;) {
        if (hv_vcpu_run(cpu, &e) < 0 || e.kind != HV_EXIT_PIO) {
            fprintf(stderr, "bare: unexpected exit\n");
            exit(1);
        }
        if (e.addr == 0x510 && e.is_write)
            exits++;
        else if (e.addr == 0x600)
            break;
        else if (!e.is_write)
            memset(e.data, e.addr == 0x3fd ? 0x60 : 0, e.len);
    }
    double t = now_s() - t0;
    if (exits != n) {
        fprintf(stderr, "bare: %llu exits, want %u\n", (unsigned long long)exits, n);
        exit(1);
    }
    hv_vcpu_destroy(cpu);
    hv_vm_destroy(hv);
    mem_unmap(&mem);
    return t;
}

static atomic_ulong pio_writes;
static void count_io(void *o, uint64_t off, uint8_t *d, uint32_t len, bool w)
{
    if (w)
        atomic_fetch_add(&pio_writes, 1);
    else
        memset(d, 0, len);
}

/* arcvmm: process-level API, the test guest's pio=N command. */
static double arcvmm_exits(const char *kernel, uint32_t n)
{
    char cmd[64], err[512];
    snprintf(cmd, sizeof(cmd), "pio=%u", n);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = kernel;
    c.cmdline = cmd;
    c.memory_mib = 64;
    c.console = ARCVMM_CONSOLE_NONE;
    struct arcvmm *a;
    if (arcvmm_create(&c, &a, err, sizeof(err)) < 0) {
        fprintf(stderr, "arcvmm: %s\n", err);
        exit(1);
    }
    bus_register(&((struct vm *)a)->pio, 0x510, 4, count_io, NULL, "bench");
    atomic_store(&pio_writes, 0);
    struct arcvmm_exit ex;
    double t0 = now_s();
    arcvmm_start(a);
    arcvmm_wait(a, &ex);
    double t = now_s() - t0;
    arcvmm_destroy(a);
    if (ex.reason != ARCVMM_EXIT_POWEROFF || atomic_load(&pio_writes) != n) {
        fprintf(stderr, "arcvmm: run failed (%lu exits)\n", atomic_load(&pio_writes));
        exit(1);
    }
    return t;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    uint32_t n = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 200000;
    const char *kernel = getenv("TESTGUEST") ? getenv("TESTGUEST") : "build/guest/testguest.bzImage";
    uint32_t base = n / 10;
    enum { RUNS = 5 };
    double bare[RUNS], arc[RUNS];
    /* Interleave the two so drift on a shared machine hits both alike. */
    for (int i = 0; i < RUNS; i++) {
        bare[i] = (bare_run(kernel, base + n) - bare_run(kernel, base)) / n * 1e6;
        arc[i] = (arcvmm_exits(kernel, base + n) - arcvmm_exits(kernel, base)) / n * 1e6;
        printf("run %d: bare %.3f us/exit, arcvmm %.3f us/exit\n", i + 1, bare[i], arc[i]);
    }
    qsort(bare, RUNS, sizeof(double), cmp_d);
    qsort(arc, RUNS, sizeof(double), cmp_d);
    printf("exit cost (median of %d, %u exits): bare KVM_RUN loop %.3f us, arcvmm %.3f us, "
           "ratio arcvmm/bare %.3f (target <= 1.10)\n",
           RUNS, n, bare[RUNS / 2], arc[RUNS / 2], arc[RUNS / 2] / bare[RUNS / 2]);
    return 0;
}
