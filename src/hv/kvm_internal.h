/* Private to hv/kvm*.c: the KVM-backed hv objects and the ioctl wrapper. */
#ifndef ARCVMM_KVM_INTERNAL_H
#define ARCVMM_KVM_INTERNAL_H
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "hv/hv.h"

struct hv_vm {
    int kvm_fd;
    int vm_fd;
    int run_size;       /* mmap size of struct kvm_run */
    int max_vcpus;
    uint32_t next_ro_slot;  /* hv_map_readonly: the next memslot it takes */
    void *arch;         /* per-arch data (e.g. the supported CPUID table) */
    /* Guards the routing table and pending_irqfds: devices change routes
     * and irqfds from their own threads (a guest programming MSI-X). */
    pthread_mutex_t irq_lock;
    /* irqfds KVM refused with EAGAIN because the in-kernel interrupt
     * controller is not initialised yet (arm64's vGIC, which needs every
     * vCPU first); kvm_intc_ready() assigns them. */
    struct kvm_irqfd *pending_irqfds;
    int npending_irqfds;
    /* The MSI half of the GSI routing table (the irqchip half is
     * kvm_arch_default_routes()); KVM_SET_GSI_ROUTING gets both. */
    struct kvm_irq_routing_entry *msi_routes;
    uint32_t nmsi_routes, msi_routes_cap;
    uint32_t max_routes;    /* KVM_CAP_IRQ_ROUTING: entries and GSIs, 0 = no routing */
};

struct hv_vcpu {
    struct hv_vm *vm;
    int fd;
    int index;
    struct kvm_run *run;
};

/* Type-checked ioctl: the argument's pointee size must equal the size
 * encoded in the request number (as in the kernel's KVM selftests).
 * Returns the ioctl result or a negative errno. */
static inline int kvm_ioctl_raw(int fd, unsigned long req, void *arg)
{
    int r = ioctl(fd, req, arg);
    return r < 0 ? -errno : r;
}
#define kvm_ioctl(fd, req, argp) ({                                              \
    _Static_assert(_IOC_SIZE(req) == sizeof(*(argp)), "ioctl argument type for " #req); \
    kvm_ioctl_raw((fd), (req), (argp)); })
/* For requests that take no argument or an integer. */
#define kvm_ioctl_val(fd, req, val) ({                                           \
    _Static_assert(_IOC_SIZE(req) == 0, #req " takes a pointer");               \
    int _r = ioctl((fd), (req), (unsigned long)(val)); _r < 0 ? -errno : _r; })

/* The in-kernel interrupt controller is now initialised (arm64: after the
 * vGIC's CTRL_INIT, which installs KVM's default routes): install the MSI
 * routes again and assign the irqfds hv_irqfd() kept back (see struct
 * hv_vm). 0 or the first error. */
int kvm_intc_ready(struct hv_vm *vm);

/* Per-arch hooks implemented in kvm_<arch>.c */
int kvm_arch_vm_init(struct hv_vm *vm);
void kvm_arch_vm_destroy(struct hv_vm *vm);
/* Right after KVM_CREATE_VCPU (arm64: KVM_ARM_VCPU_INIT). */
int kvm_arch_vcpu_init(struct hv_vcpu *vcpu);
/* May the guest read device memory backed by a read-only memslot and see
 * the host's stores (the guest maps it uncached; see hv_map_readonly)? */
bool kvm_arch_readonly_coherent(struct hv_vm *vm);
/* The irqchip routes KVM installs by default (x86: GSIs 0..23 to IOAPIC
 * pins, 0..15 also to PIC pins; arm64: GSI n to SPI n for every SPI),
 * which a KVM_SET_GSI_ROUTING must repeat: stores them in e unless e is
 * NULL and returns their number, or -ENODEV before the irqchip exists. */
int kvm_arch_default_routes(struct hv_vm *vm, struct kvm_irq_routing_entry *e);
/* The first GSI above the irqchip routes (arm64: 0 before the vGIC). */
uint32_t kvm_arch_msi_gsi_first(struct hv_vm *vm);
/* kvm_msi / MSI route flags (arm64: KVM_MSI_VALID_DEVID, for the ITS). */
uint32_t kvm_arch_msi_flags(struct hv_vm *vm);
#endif
