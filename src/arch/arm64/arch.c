/* arm64 platform (QEMU-virt-like, see layout.h): RAM from 1 GiB, the
 * in-kernel GICv3, a PL011 console, virtio-mmio windows on SPIs; kernel
 * Image, initrd and device tree in RAM; vCPU 0 starts at the kernel entry
 * with X0 = DTB, the others wait for PSCI CPU_ON. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "arch/arch.h"
#include "arch/arm64/boot.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/layout.h"
#include "base/file.h"
#include "base/log.h"
#include "devmgr/alloc.h"
#include "dev/pl011.h"
#include "hv/hv.h"
#include "hv/hv_arm64.h"
#include "vm/devices.h"
#include "vm/vm.h"

/* The library's default command line names the x86 console; an arm64
 * guest's console is the PL011. */

struct arm64_vm {
    struct pl011 uart;
    bool uart_ready;
    struct arm64_boot_layout boot;
    const char *cmdline;
    bool its;                       /* a GICv3 ITS at ARM64_GITS_BASE */
};

int arch_mem_layout(uint64_t bytes, struct guest_mem *m)
{
    memset(m, 0, sizeof(*m));
    if (bytes == 0 || bytes > ARM64_IPA_END - ARM64_RAM_BASE)
        return -E2BIG;
    m->r[0] = (struct mem_region){ .gpa = ARM64_RAM_BASE, .size = bytes };
    m->n = 1;
    return 0;
}

int arch_max_cpus(void)
{
    return ARM64_MAX_CPUS;
}

static size_t console_to_uart(void *opaque, const uint8_t *buf, size_t n)
{
    return pl011_rx(opaque, buf, n);
}

int arch_vm_setup(struct vm *vm, char *err, size_t errlen)
{
    struct arm64_vm *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    vm->arch = a;
    int r = hv_arm64_vgic_create(vm->hv, ARM64_GICD_BASE, ARM64_GICR_BASE, ARM64_GIC_NR_IRQS);
    if (r < 0) {
        snprintf(err, errlen, "/dev/kvm: creating the GICv3 interrupt controller failed: %s%s",
                 strerror(-r), r == -ENODEV ? " (this host's KVM cannot emulate a GICv3)" : "");
        return r;
    }
    /* virtio-pci's MSI-X needs the ITS; without one (an old host KVM)
     * PCI devices fall back to INTx and the device tree has no msi-map. */
    if (vm->cfg.transport == ARCVMM_TRANSPORT_PCI && vm_cfg_has_virtio(&vm->cfg)) {
        r = hv_arm64_its_create(vm->hv, ARM64_GITS_BASE);
        if (r == 0)
            a->its = true;
        else if (r == -ENODEV)
            log_warn("this host's KVM has no GICv3 ITS: PCI devices use INTx, not MSI-X");
        else {
            snprintf(err, errlen, "/dev/kvm: creating the GICv3 ITS failed: %s", strerror(-r));
            return r;
        }
    }
    struct irq_line irq = { .set = hv_irq_line_cb, .opaque = vm->hv, .gsi = ARM64_UART_SPI };
    struct pl011_ops ops = { .tx = console_uart_tx, .rx_space = console_uart_rx_space, .opaque = &vm->console };
    pl011_init(&a->uart, &irq, &ops);
    a->uart_ready = true;
    vm->console.rx = console_to_uart;
    vm->console.rx_opaque = &a->uart;
    r = bus_register(&vm->mmio, ARM64_UART_BASE, ARM64_UART_SIZE, pl011_io, &a->uart, "pl011");
    if (r < 0) {
        snprintf(err, errlen, "platform devices: %s", strerror(-r));
        return r;
    }
    return 0;
}

void arch_devmgr_board(struct vm *vm, struct devmgr_board *b)
{
    memset(b, 0, sizeof(*b));
    for (int i = 0; i < ARM64_VIRTIO_SLOTS && b->nlines < ALLOC_MAX_LINES; i++)
        b->lines[b->nlines++] = ARM64_VIRTIO_SPI_BASE + (uint32_t)i;
    b->mmio_base = ARM64_VIRTIO_MMIO_BASE;
    b->mmio_stride = ARM64_VIRTIO_MMIO_STRIDE;
    b->mmio_slots = ARM64_VIRTIO_SLOTS;
    for (int i = 0; i < ARM64_PCI_INTX_SPIS && b->nintx < ALLOC_MAX_LINES; i++)
        b->intx[b->nintx++] = ARM64_PCI_INTX_SPI_BASE + (uint32_t)i;
    b->ecam_base = ARM64_PCI_ECAM_BASE;
    b->ecam_size = ARM64_PCI_ECAM_SIZE;
    b->mmio32_base = ARM64_PCI_MMIO32_BASE;
    b->mmio32_size = ARM64_PCI_MMIO32_SIZE;
    uint64_t top = vm->mem.r[0].gpa + vm->mem.r[0].size;
    b->mmio64_base = (top + ARM64_PCI_MMIO64_ALIGN - 1) & ~(ARM64_PCI_MMIO64_ALIGN - 1);
    b->mmio64_size = ARM64_PCI_MMIO64_SIZE;
    b->msi_first = hv_msi_gsi_first(vm->hv);
    b->msi_count = hv_msi_gsi_count(vm->hv);
}

/* Kernel and initrd into RAM; the DTB's place is reserved here and filled
 * by arch_vcpus_created, once the vCPUs' MPIDRs can be read. */
int arch_load_guest(struct vm *vm, char *err, size_t errlen)
{
    struct arm64_vm *a = vm->arch;
    const struct arcvmm_config *cfg = &vm->cfg;
    const struct mem_region *ram = &vm->mem.r[0];
    uint8_t *img = NULL, *rd = NULL;
    size_t img_len = 0, rd_len = 0;
    char why[200] = "";
    struct arm64_image k;

    a->cmdline = cfg->cmdline;     /* the library filled in the default */
    if (strlen(a->cmdline) >= ARM64_CMDLINE_MAX) {
        snprintf(err, errlen, "cmdline: %zu bytes is longer than the kernel accepts (%d)",
                 strlen(a->cmdline), ARM64_CMDLINE_MAX - 1);
        return -E2BIG;
    }
    int r = file_read_all("kernel", cfg->kernel, VM_MAX_IMAGE_BYTES, &img, &img_len, err, errlen);
    if (r < 0)
        return r;
    if ((r = arm64_image_parse(img, img_len, &k, why, sizeof(why))) < 0) {
        snprintf(err, errlen, "kernel %s: %s", cfg->kernel, why);
        goto out;
    }
    if (cfg->initrd &&
        (r = file_read_all("initrd", cfg->initrd, VM_MAX_IMAGE_BYTES, &rd, &rd_len, err, errlen)) < 0)
        goto out;
    r = arm64_boot_place(ram->gpa, ram->size, &k, rd_len, &a->boot);
    if (r < 0) {
        unsigned long long mib = (unsigned long long)(ram->size >> 20);
        switch (a->boot.overflow) {
        case ARM64_PART_KERNEL:
            snprintf(err, errlen, "kernel %s: %llu bytes (with bss) do not fit in %llu MiB of RAM "
                     "(try a larger --memory)", cfg->kernel, (unsigned long long)k.image_size, mib);
            break;
        case ARM64_PART_DTB:
            snprintf(err, errlen, "DTB does not fit in %llu MiB of RAM beside the kernel "
                     "(try a larger --memory)", mib);
            break;
        default:
            snprintf(err, errlen, "initrd %s: %zu bytes do not fit in guest memory beside the kernel "
                     "(%llu MiB of RAM; try a larger --memory)", cfg->initrd, rd_len, mib);
            break;
        }
        goto out;
    }
    if ((r = mem_write(&vm->mem, a->boot.kernel_gpa, img, img_len)) < 0 ||
        (rd_len && (r = mem_write(&vm->mem, a->boot.initrd_gpa, rd, rd_len)) < 0))
        snprintf(err, errlen, "loading the guest: %s", strerror(-r));
out:
    scratch_free(img, img_len);
    scratch_free(rd, rd_len);
    return r;
}

/* Every vCPU exists: the device tree (which needs their MPIDRs) goes into
 * RAM and the GICv3 is initialised (which needs every vCPU). */
int arch_vcpus_created(struct vm *vm, char *err, size_t errlen)
{
    struct arm64_vm *a = vm->arch;
    uint64_t *mpidr = calloc((size_t)vm->ncpus, sizeof(*mpidr));
    void *dtb = scratch_alloc(ARM64_FDT_MAX);
    struct devmgr_desc desc;
    uint8_t seed[32];
    int r = -ENOMEM;
    if (!mpidr || !dtb) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (int i = 0; i < vm->ncpus; i++) {
        if ((r = hv_arm64_vcpu_mpidr(vm->vcpus[i].hv, &mpidr[i])) < 0) {
            snprintf(err, errlen, "vcpu%d: reading MPIDR_EL1 failed: %s", i, strerror(-r));
            goto out;
        }
    }
    devmgr_describe(&vm->devs, &desc);
    /* Seeds the guest's RNG at once (no entropy source exists that early). */
    bool seeded = getrandom(seed, sizeof(seed), GRND_NONBLOCK) == (ssize_t)sizeof(seed);
    struct arm64_fdt_config fc = {
        .ram_base = vm->mem.r[0].gpa, .ram_size = vm->mem.r[0].size,
        .ncpus = vm->ncpus, .mpidr = mpidr,
        .gicd_base = ARM64_GICD_BASE, .gicd_size = ARM64_GICD_SIZE,
        .gicr_base = ARM64_GICR_BASE, .gicr_size = (uint64_t)vm->ncpus * ARM64_GICR_SIZE_PER_CPU,
        .uart_base = ARM64_UART_BASE, .uart_size = ARM64_UART_SIZE,
        .uart_spi = ARM64_UART_SPI, .uart_clock_hz = ARM64_UART_CLOCK_HZ,
        .dev = &desc,
        .its_base = a->its ? ARM64_GITS_BASE : 0, .its_size = a->its ? ARM64_GITS_SIZE : 0,
        .cmdline = a->cmdline,
        .initrd_gpa = a->boot.initrd_gpa, .initrd_size = a->boot.initrd_size,
        .rng_seed = seeded ? seed : NULL, .rng_seed_len = seeded ? sizeof(seed) : 0,
    };
    ssize_t n = arm64_fdt_build(&fc, dtb, ARM64_FDT_MAX);
    if (n < 0) {
        r = (int)n;
        if (r == -ENOSPC)
            snprintf(err, errlen, "DTB does not fit in %llu MiB (%d CPUs, %d devices)",
                     (unsigned long long)(ARM64_FDT_MAX >> 20), vm->ncpus, desc.nmmio);
        else
            snprintf(err, errlen, "DTB: %s", strerror(-r));
        goto out;
    }
    if ((r = mem_write(&vm->mem, a->boot.fdt_gpa, dtb, (uint64_t)n)) < 0) {
        snprintf(err, errlen, "DTB: %s", strerror(-r));
        goto out;
    }
    if ((r = hv_arm64_vgic_init(vm->hv)) < 0)
        snprintf(err, errlen, "/dev/kvm: initialising the GICv3 failed: %s", strerror(-r));
out:
    free(mpidr);
    scratch_free(dtb, ARM64_FDT_MAX);
    return r;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *v)
{
    struct arm64_vm *a = vm->arch;
    if (v->index != 0)
        return 0;   /* powered off until the guest's PSCI CPU_ON */
    struct arm64_boot_regs regs = { .pc = a->boot.kernel_gpa, .x0 = a->boot.fdt_gpa };
    return hv_arm64_set_boot_regs(v->hv, &regs);
}

void arch_vm_teardown(struct vm *vm)
{
    struct arm64_vm *a = vm->arch;
    if (!a)
        return;
    if (a->uart_ready)
        pl011_destroy(&a->uart);
    free(a);
    vm->arch = NULL;
}
