/* arm64-specific part of the hv interface: the in-kernel GICv3, vCPU boot
 * state and the CPU identities the device tree needs.
 *
 * Interrupt numbers: on arm64 a gsi (hv_irq_line, hv_irqfd) is an SPI
 * number, i.e. GIC INTID - 32; MSI GSIs (hv_msi_gsi_first) follow the
 * SPIs. vCPU 0 starts at the boot registers; every
 * other vCPU is created powered off and started by the guest's PSCI CPU_ON,
 * which KVM serves (as it serves PSCI SYSTEM_OFF/RESET, reported as
 * HV_EXIT_POWEROFF/HV_EXIT_RESET). hv_irqchip_create() does nothing on
 * arm64: use hv_arm64_vgic_create(). */
#ifndef ARCVMM_HV_ARM64_H
#define ARCVMM_HV_ARM64_H
#include <stdint.h>

#include "hv/hv.h"

/* Boot CPU state per the arm64 Linux boot protocol; hv adds X1..X3 = 0 and
 * PSTATE = EL1h with D, A, I and F masked (the MMU is off after reset). */
struct arm64_boot_regs {
    uint64_t pc;    /* kernel entry */
    uint64_t x0;    /* DTB address */
};

/* Create the in-kernel GICv3 with its distributor at dist (64 KiB) and its
 * redistributors from redist (128 KiB per vCPU), handling nr_irqs
 * interrupt IDs (32 private + SPIs; a multiple of 32). Call before the
 * vCPUs exist. -ENODEV when the host's KVM cannot emulate a GICv3. */
int hv_arm64_vgic_create(struct hv_vm *vm, uint64_t dist, uint64_t redist, uint32_t nr_irqs);
/* Create the GICv3 ITS (MSI translation) with its 128 KiB frame at base
 * (64 KiB aligned). Call after hv_arm64_vgic_create and before any vCPU
 * runs (the board does it right after hv_arm64_vgic_create). -ENODEV when
 * the host's KVM has no ITS emulation, -EINVAL before
 * hv_arm64_vgic_create. */
int hv_arm64_its_create(struct hv_vm *vm, uint64_t base);
/* Initialise the GICv3 once every vCPU exists and before any runs. irqfds
 * registered and MSI routes set before this take effect now. */
int hv_arm64_vgic_init(struct hv_vm *vm);
/* The vCPU's MPIDR_EL1 (its affinity, the device tree's cpu reg). */
int hv_arm64_vcpu_mpidr(struct hv_vcpu *vcpu, uint64_t *mpidr);
/* Load the boot registers into a vCPU that has not run yet. */
int hv_arm64_set_boot_regs(struct hv_vcpu *vcpu, const struct arm64_boot_regs *r);
#endif
