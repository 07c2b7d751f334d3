/* Linux KVM, arm64-specific: vCPU init (PSCI 0.2+, secondaries powered
 * off), the in-kernel GICv3, SPI lines, boot registers and register dumps. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hv/hv_arm64.h"
#include "hv/kvm_internal.h"

#define CORE_REG(name) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
                        KVM_REG_ARM_CORE_REG(name))
#define REG_PC      CORE_REG(regs.pc)
#define REG_PSTATE  CORE_REG(regs.pstate)
#define REG_SP_EL0  CORE_REG(regs.sp)
#define REG_SP_EL1  CORE_REG(sp_el1)
#define REG_ELR_EL1 CORE_REG(elr_el1)
#define REG_X(n)    CORE_REG(regs.regs[n])
#define REG_MPIDR   ARM64_SYS_REG(3, 0, 0, 0, 5)
#define REG_ESR_EL1 ARM64_SYS_REG(3, 0, 5, 2, 0)
#define REG_FAR_EL1 ARM64_SYS_REG(3, 0, 6, 0, 0)

#define BOOT_PSTATE (PSR_MODE_EL1h | PSR_D_BIT | PSR_A_BIT | PSR_I_BIT | PSR_F_BIT)

struct kvm_arm64 {
    struct kvm_vcpu_init target;    /* KVM_ARM_PREFERRED_TARGET */
    int vgic_fd;                    /* the GICv3 device, -1 before hv_arm64_vgic_create */
    int its_fd;                     /* the ITS device, -1 without hv_arm64_its_create */
    uint32_t nr_spis;               /* the GICv3's SPIs (0 before hv_arm64_vgic_create) */
};

int kvm_arch_vm_init(struct hv_vm *vm)
{
    struct kvm_arm64 *a = calloc(1, sizeof(*a));
    if (!a)
        return -ENOMEM;
    a->vgic_fd = -1;
    a->its_fd = -1;
    vm->arch = a;
    if (kvm_ioctl_val(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_PSCI_0_2) <= 0)
        return -ENOTSUP;
    int r = kvm_ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &a->target);
    return r < 0 ? r : 0;
}

void kvm_arch_vm_destroy(struct hv_vm *vm)
{
    struct kvm_arm64 *a = vm->arch;
    if (a && a->its_fd >= 0)
        close(a->its_fd);
    if (a && a->vgic_fd >= 0)
        close(a->vgic_fd);
    free(a);
    vm->arch = NULL;
}

/* No: the guest maps device windows as Device memory, which bypasses the
 * caches, while the host's stores may still sit in its data cache; only
 * FEAT_S2FWB (forced write-back at stage 2) would make them agree, and KVM
 * does not tell userspace whether it uses it. */
bool kvm_arch_readonly_coherent(struct hv_vm *vm)
{
    (void)vm;
    return false;
}

int kvm_arch_vcpu_init(struct hv_vcpu *v)
{
    struct kvm_arm64 *a = v->vm->arch;
    struct kvm_vcpu_init init = a->target;
    memset(init.features, 0, sizeof(init.features));
    init.features[0] = 1u << KVM_ARM_VCPU_PSCI_0_2;
    if (v->index > 0)
        init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;  /* until PSCI CPU_ON */
    int r = kvm_ioctl(v->fd, KVM_ARM_VCPU_INIT, &init);
    return r < 0 ? r : 0;
}

/* arm64's interrupt controller needs its addresses: hv_arm64_vgic_create. */
int hv_irqchip_create(struct hv_vm *vm)
{
    return 0;
}

int hv_irq_line(struct hv_vm *vm, uint32_t gsi, int level)
{
    if (gsi > KVM_ARM_IRQ_NUM_MASK - 32)
        return -EINVAL;
    struct kvm_irq_level l = {
        .irq = (KVM_ARM_IRQ_TYPE_SPI << KVM_ARM_IRQ_TYPE_SHIFT) | (32 + gsi),
        .level = level ? 1 : 0,
    };
    return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

static int vgic_attr(int fd, uint32_t group, uint64_t attr, void *val)
{
    struct kvm_device_attr a = { .group = group, .attr = attr, .addr = (uint64_t)(uintptr_t)val };
    int r = kvm_ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
    return r < 0 ? r : 0;
}

int hv_arm64_vgic_create(struct hv_vm *vm, uint64_t dist, uint64_t redist, uint32_t nr_irqs)
{
    struct kvm_arm64 *a = vm->arch;
    if (a->vgic_fd >= 0)
        return -EEXIST;
    struct kvm_create_device d = { .type = KVM_DEV_TYPE_ARM_VGIC_V3 };
    int r = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &d);
    if (r < 0)
        return r == -ENODEV || r == -ENXIO ? -ENODEV : r;
    a->vgic_fd = (int)d.fd;
    if ((r = vgic_attr(a->vgic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_DIST, &dist)) < 0 ||
        (r = vgic_attr(a->vgic_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_V3_ADDR_TYPE_REDIST, &redist)) < 0 ||
        (r = vgic_attr(a->vgic_fd, KVM_DEV_ARM_VGIC_GRP_NR_IRQS, 0, &nr_irqs)) < 0)
        return r;
    a->nr_spis = nr_irqs - 32;
    return 0;
}

/* KVM's vITS is emulated in software, so it exists wherever KVM emulates a
 * GICv3 and was built with it. Its CTRL_INIT has nothing to wait for, so
 * the ITS may come before the vCPUs and the vGIC's CTRL_INIT; its frame
 * must be known before any vCPU runs. Creating it makes KVM require a
 * device id with every MSI (KVM_CAP_MSI_DEVID), which hv always passes. */
int hv_arm64_its_create(struct hv_vm *vm, uint64_t base)
{
    struct kvm_arm64 *a = vm->arch;
    if (a->vgic_fd < 0)
        return -EINVAL;
    if (a->its_fd >= 0)
        return -EEXIST;
    struct kvm_create_device d = { .type = KVM_DEV_TYPE_ARM_VGIC_ITS };
    int r = kvm_ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &d);
    if (r < 0)
        return r == -ENODEV || r == -ENXIO ? -ENODEV : r;
    a->its_fd = (int)d.fd;
    if ((r = vgic_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_ADDR, KVM_VGIC_ITS_ADDR_TYPE, &base)) < 0 ||
        (r = vgic_attr(a->its_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL)) < 0) {
        close(a->its_fd);
        a->its_fd = -1;
        return r;
    }
    return 0;
}

/* What the vGIC's CTRL_INIT installs (kvm_vgic_setup_default_irq_routing):
 * GSI n to SPI n (irqchip 0, pin n) for every SPI. Before that, routes set
 * here are installed again by kvm_intc_ready(). */
int kvm_arch_default_routes(struct hv_vm *vm, struct kvm_irq_routing_entry *e)
{
    struct kvm_arm64 *a = vm->arch;
    if (a->vgic_fd < 0)
        return -ENODEV;
    for (uint32_t i = 0; e && i < a->nr_spis; i++)
        e[i] = (struct kvm_irq_routing_entry){
            .gsi = i, .type = KVM_IRQ_ROUTING_IRQCHIP,
            .u.irqchip = { .irqchip = 0, .pin = i },
        };
    return (int)a->nr_spis;
}

uint32_t kvm_arch_msi_gsi_first(struct hv_vm *vm)
{
    struct kvm_arm64 *a = vm->arch;
    return a->nr_spis;
}

/* The ITS translates (device id, event id): every MSI names its device. */
uint32_t kvm_arch_msi_flags(struct hv_vm *vm)
{
    return KVM_MSI_VALID_DEVID;
}

int hv_arm64_vgic_init(struct hv_vm *vm)
{
    struct kvm_arm64 *a = vm->arch;
    if (a->vgic_fd < 0)
        return -ENODEV;
    int r = vgic_attr(a->vgic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL);
    if (r < 0)
        return r;
    return kvm_intc_ready(vm);
}

static int get_reg(struct hv_vcpu *v, uint64_t id, uint64_t *val)
{
    struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)val };
    int e = kvm_ioctl(v->fd, KVM_GET_ONE_REG, &r);
    return e < 0 ? e : 0;
}

static int set_reg(struct hv_vcpu *v, uint64_t id, uint64_t val)
{
    struct kvm_one_reg r = { .id = id, .addr = (uint64_t)(uintptr_t)&val };
    int e = kvm_ioctl(v->fd, KVM_SET_ONE_REG, &r);
    return e < 0 ? e : 0;
}

int hv_arm64_vcpu_mpidr(struct hv_vcpu *v, uint64_t *mpidr)
{
    return get_reg(v, REG_MPIDR, mpidr);
}

int hv_arm64_set_boot_regs(struct hv_vcpu *v, const struct arm64_boot_regs *b)
{
    int r;
    if ((r = set_reg(v, REG_X(0), b->x0)) < 0 || (r = set_reg(v, REG_X(1), 0)) < 0 ||
        (r = set_reg(v, REG_X(2), 0)) < 0 || (r = set_reg(v, REG_X(3), 0)) < 0 ||
        (r = set_reg(v, REG_PSTATE, BOOT_PSTATE)) < 0 || (r = set_reg(v, REG_PC, b->pc)) < 0)
        return r;
    return 0;
}

void hv_vcpu_dump(struct hv_vcpu *v, char *buf, size_t len)
{
    static const struct { const char *name; uint64_t id; } regs[] = {
        { "pc", REG_PC }, { "pstate", REG_PSTATE }, { "sp_el1", REG_SP_EL1 },
        { "sp_el0", REG_SP_EL0 }, { "x0", REG_X(0) }, { "x1", REG_X(1) }, { "x2", REG_X(2) },
        { "x3", REG_X(3) }, { "lr", REG_X(30) }, { "elr_el1", REG_ELR_EL1 },
        { "esr_el1", REG_ESR_EL1 }, { "far_el1", REG_FAR_EL1 },
    };
    size_t off = (size_t)snprintf(buf, len, "vcpu%d:", v->index);
    for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]) && off < len; i++) {
        uint64_t val;
        if (get_reg(v, regs[i].id, &val) < 0) {
            if (i == 0) {
                snprintf(buf, len, "vcpu%d: registers unavailable", v->index);
                return;
            }
            continue;
        }
        off += (size_t)snprintf(buf + off, len - off, " %s=%#llx", regs[i].name,
                                (unsigned long long)val);
    }
}
