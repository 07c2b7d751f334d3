/* x86_64 platform: memory layout, in-kernel irqchip, COM1, i8042, ACPI
 * power/reset registers, the reset control register (0xCF9) and the
 * reset-vector stub that reaches it, kernel/initrd loading and the boot
 * CPU state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arch/arch.h"
#include "arch/x86/acpi.h"
#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "arch/x86/resetvec.h"
#include "base/file.h"
#include "base/log.h"
#include "devmgr/alloc.h"
#include "dev/acpi_pm.h"
#include "dev/i8042.h"
#include "dev/reset_cf9.h"
#include "dev/uart8250.h"
#include "hv/hv.h"
#include "hv/hv_x86.h"
#include "vm/vm.h"

/* The FADT (acpi.c, from layout.h) names the registers acpi_pm serves. */
_Static_assert(X86_ACPI_SLEEP_STS_PORT == X86_ACPI_SLEEP_CTL_PORT + ACPI_PM_REG_SLEEP_STS &&
               X86_ACPI_RESET_PORT == X86_ACPI_SLEEP_CTL_PORT + ACPI_PM_REG_RESET &&
               X86_ACPI_S5_SLP_TYP == ACPI_PM_S5_SLP_TYP &&
               X86_ACPI_RESET_VALUE == ACPI_PM_RESET_VALUE,
               "the ACPI tables and the acpi_pm device agree");

#define X86_MAX_CPUS     254              /* xAPIC ids 0..253; 255 is broadcast */

struct x86_vm {
    struct uart8250 uart;
    bool uart_ready;
    struct i8042 i8042;
    bool i8042_ready;
    struct acpi_pm pm;
    struct reset_cf9 rcr;
    struct x86_boot_regs boot;
};

int arch_mem_layout(uint64_t bytes, struct guest_mem *m)
{
    uint64_t low = bytes < X86_MMIO_HOLE_START ? bytes : X86_MMIO_HOLE_START;
    memset(m, 0, sizeof(*m));
    m->r[0] = (struct mem_region){ .gpa = 0, .size = low };
    m->n = 1;
    if (bytes > low)
        m->r[m->n++] = (struct mem_region){ .gpa = X86_MMIO_HOLE_END, .size = bytes - low };
    return 0;
}

int arch_max_cpus(void)
{
    return X86_MAX_CPUS;
}

static size_t console_to_uart(void *opaque, const uint8_t *buf, size_t n)
{
    return uart8250_rx(opaque, buf, n);
}

static void guest_poweroff(void *opaque)
{
    vm_end(opaque, ARCVMM_EXIT_POWEROFF, NULL);
}

/* Every reset source ends the VM the same way; -v says which it was. */
static void guest_reset_by(struct vm *vm, const char *how)
{
    log_info("guest reset through %s", how);
    vm_end(vm, ARCVMM_EXIT_RESET, NULL);
}

static void i8042_reset(void *opaque)
{
    guest_reset_by(opaque, "the i8042 reset line");
}

static void acpi_reset(void *opaque)
{
    guest_reset_by(opaque, "the ACPI reset register");
}

static void cf9_reset(void *opaque)
{
    guest_reset_by(opaque, "the reset control register (port 0xcf9)");
}

static int setup_devices(struct vm *vm, struct x86_vm *x, char *err, size_t errlen)
{
    struct irq_line com1_irq = { .set = hv_irq_line_cb, .opaque = vm->hv, .gsi = X86_COM1_IRQ };
    struct uart8250_ops ops = { .tx = console_uart_tx, .rx_space = console_uart_rx_space, .opaque = &vm->console };
    uart8250_init(&x->uart, &com1_irq, &ops);
    x->uart_ready = true;
    vm->console.rx = console_to_uart;
    vm->console.rx_opaque = &x->uart;
    struct i8042_ops kops = { .reset = i8042_reset, .opaque = vm };
    i8042_init(&x->i8042, &kops);
    x->i8042_ready = true;
    struct acpi_pm_ops pops = { .poweroff = guest_poweroff, .reset = acpi_reset, .opaque = vm };
    acpi_pm_init(&x->pm, &pops);
    struct reset_cf9_ops rops = { .reset = cf9_reset, .opaque = vm };
    reset_cf9_init(&x->rcr, &rops);
    int r;
    if ((r = bus_register(&vm->pio, X86_COM1_PORT, UART8250_IO_LEN, uart8250_io, &x->uart, "com1")) < 0 ||
        (r = bus_register(&vm->pio, X86_I8042_DATA_PORT, 1, i8042_data_io, &x->i8042, "i8042-data")) < 0 ||
        (r = bus_register(&vm->pio, X86_I8042_CMD_PORT, 1, i8042_cmd_io, &x->i8042, "i8042-cmd")) < 0 ||
        (r = bus_register(&vm->pio, X86_ACPI_SLEEP_CTL_PORT, ACPI_PM_IO_LEN, acpi_pm_io, &x->pm, "acpi-pm")) < 0) {
        snprintf(err, errlen, "platform devices: %s", strerror(-r));
        return r;
    }
    return 0;
}

static int load_images(struct vm *vm, struct x86_vm *x, char *err, size_t errlen)
{
    const struct arcvmm_config *cfg = &vm->cfg;
    uint8_t *img = NULL, *rd = NULL;
    size_t img_len = 0, rd_len = 0;
    uint64_t rd_gpa = 0;
    char why[256] = "";
    struct x86_kernel k;
    int r = file_read_all("kernel", cfg->kernel, VM_MAX_IMAGE_BYTES, &img, &img_len, err, errlen);
    if (r < 0)
        return r;
    /* kvm_pvm (a software nested hypervisor) runs freestanding guests but
     * a stock Linux kernel hangs in it at boot: say so instead. A kernel
     * built as a PVM guest does run: ARCVMM_PVM_GUEST=1 lets it through. */
    const char *pvm_ok = getenv("ARCVMM_PVM_GUEST");
    if (access("/sys/module/kvm_pvm", F_OK) == 0 && !(pvm_ok && !strcmp(pvm_ok, "1")) &&
        x86_kernel_is_linux(img, img_len)) {
        scratch_free(img, img_len);
        snprintf(err, errlen, "kernel %s: /dev/kvm here is kvm_pvm, which cannot run a stock Linux "
                 "kernel: run arcvmm inside the nested rig (scripts/run.sh does) or on a host "
                 "with kvm_intel or kvm_amd (a kernel built as a PVM guest: set "
                 "ARCVMM_PVM_GUEST=1)", cfg->kernel);
        return -ENOTSUP;
    }
    r = x86_kernel_load(&vm->mem, img, img_len, &k, why, sizeof(why));
    scratch_free(img, img_len);
    if (r < 0) {
        snprintf(err, errlen, "kernel %s: %s", cfg->kernel, why);
        return r;
    }
    if (cfg->initrd) {
        r = file_read_all("initrd", cfg->initrd, VM_MAX_IMAGE_BYTES, &rd, &rd_len, err, errlen);
        if (r < 0)
            return r;
        r = x86_initrd_load(&vm->mem, &k, rd, rd_len, &rd_gpa);
        scratch_free(rd, rd_len);
        if (r < 0) {
            snprintf(err, errlen, "initrd %s: %zu bytes do not fit in guest memory beside the kernel "
                     "(%llu MiB of RAM; try a larger --memory)", cfg->initrd, rd_len,
                     (unsigned long long)cfg->memory_mib);
            return r;
        }
    }
    uint8_t *acpi = scratch_alloc(X86_ACPI_MAX);
    if (!acpi)
        return -ENOMEM;
    struct devmgr_desc desc;
    devmgr_describe(&vm->devs, &desc);
    struct acpi_config ac = { .ncpus = cfg->cpus, .dev = &desc };
    ssize_t n = acpi_build(&ac, X86_ACPI_ADDR, acpi, X86_ACPI_MAX);
    r = n < 0 ? (int)n : mem_write(&vm->mem, X86_ACPI_ADDR, acpi, (uint64_t)n);
    scratch_free(acpi, X86_ACPI_MAX);
    if (r < 0) {
        snprintf(err, errlen, "ACPI tables: %s", strerror(-r));
        return r;
    }
    if ((r = x86_pagetables_setup(&vm->mem)) < 0 || (r = x86_gdt_setup(&vm->mem)) < 0 ||
        (r = x86_reset_vector_setup(&vm->mem)) < 0) {
        snprintf(err, errlen, "memory: %llu MiB is too small for the boot structures",
                 (unsigned long long)cfg->memory_mib);
        return r;
    }
    if (k.kind == X86_KERNEL_BZIMAGE) {
        r = x86_bootparams_setup(&vm->mem, &k, cfg->cmdline, rd_gpa, rd_len, X86_ACPI_ADDR);
        x86_boot_regs_bzimage(&k, &x->boot);
    } else {
        r = x86_pvh_setup(&vm->mem, cfg->cmdline, rd_gpa, rd_len, X86_ACPI_ADDR);
        x86_boot_regs_pvh(&k, &x->boot);
    }
    if (r == -E2BIG) {
        snprintf(err, errlen, "cmdline: %zu bytes is longer than the kernel accepts (%u)",
                 strlen(cfg->cmdline), k.kind == X86_KERNEL_BZIMAGE ? k.cmdline_max - 1
                                                                   : (unsigned)X86_CMDLINE_MAX - 1);
        return r;
    }
    if (r < 0) {
        snprintf(err, errlen, "boot parameters: %s", strerror(-r));
        return r;
    }
    return 0;
}

int arch_vm_setup(struct vm *vm, char *err, size_t errlen)
{
    struct x86_vm *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    vm->arch = x;
    int r = hv_irqchip_create(vm->hv);
    if (r < 0) {
        snprintf(err, errlen, "/dev/kvm: creating the interrupt controllers failed: %s", strerror(-r));
        return r;
    }
    return setup_devices(vm, x, err, errlen);
}

/* IOAPIC pins free for devices: not the PIT (0/2), COM1 (4) or SCI (9).
 * PCI INTx takes the pins PCI uses on a PC, 16-23 (no PIC behind them). */
static const uint8_t device_gsis[] = { 5, 6, 7, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23 };
static const uint8_t intx_gsis[] = { 16, 17, 18, 19, 20, 21, 22, 23 };

void arch_devmgr_board(struct vm *vm, struct devmgr_board *b)
{
    memset(b, 0, sizeof(*b));
    for (size_t i = 0; i < sizeof(device_gsis); i++)
        b->lines[b->nlines++] = device_gsis[i];
    b->mmio_base = X86_VIRTIO_MMIO_BASE;
    b->mmio_stride = X86_VIRTIO_MMIO_SIZE;
    b->mmio_slots = (int)sizeof(device_gsis);
    for (size_t i = 0; i < sizeof(intx_gsis); i++)
        b->intx[b->nintx++] = intx_gsis[i];
    b->pci_cf8 = true;
    b->cf9_io = reset_cf9_io;       /* devmgr puts it at 0xCF9, inside the PCI ports or alone */
    b->cf9_opaque = &((struct x86_vm *)vm->arch)->rcr;
    b->ecam_base = X86_PCI_ECAM_BASE;
    b->ecam_size = X86_PCI_ECAM_SIZE;
    b->mmio32_base = X86_PCI_MMIO32_BASE;
    b->mmio32_size = X86_PCI_MMIO32_SIZE;
    b->pio_base = X86_PCI_PIO_BASE;
    b->pio_size = X86_PCI_PIO_SIZE;
    uint64_t top = X86_MMIO_HOLE_END;
    for (int i = 0; i < vm->mem.n; i++)
        if (vm->mem.r[i].gpa + vm->mem.r[i].size > top)
            top = vm->mem.r[i].gpa + vm->mem.r[i].size;
    b->mmio64_base = (top + X86_PCI_MMIO64_ALIGN - 1) & ~(X86_PCI_MMIO64_ALIGN - 1);
    b->mmio64_size = X86_PCI_MMIO64_SIZE;
    b->msi_first = hv_msi_gsi_first(vm->hv);
    b->msi_count = hv_msi_gsi_count(vm->hv);
}

int arch_load_guest(struct vm *vm, char *err, size_t errlen)
{
    return load_images(vm, vm->arch, err, errlen);
}

int arch_vcpus_created(struct vm *vm, char *err, size_t errlen)
{
    return 0;   /* the in-kernel irqchip was created before the vCPUs */
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *v)
{
    struct x86_vm *x = vm->arch;
    int r = hv_x86_vcpu_setup(v->hv, v->index, vm->cfg.cpus);
    if (r < 0 || v->index != 0)
        return r;   /* other vCPUs wait for INIT/SIPI from the boot CPU */
    return hv_x86_set_boot_regs(v->hv, &x->boot);
}

void arch_vm_teardown(struct vm *vm)
{
    struct x86_vm *x = vm->arch;
    if (!x)
        return;
    if (x->uart_ready)
        uart8250_destroy(&x->uart);
    if (x->i8042_ready)
        i8042_destroy(&x->i8042);
    free(x);
    vm->arch = NULL;
}
