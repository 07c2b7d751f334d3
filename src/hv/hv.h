/* Hypervisor layer: the architecture- and hypervisor-neutral interface the
 * rest of arcvmm uses. Implemented for Linux KVM by kvm.c (+ kvm_<arch>.c);
 * those are the only files that include <linux/kvm.h>. */
#ifndef ARCVMM_HV_H
#define ARCVMM_HV_H
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hv_vm;
struct hv_vcpu;

enum hv_exit_kind {
    HV_EXIT_PIO,        /* port I/O: addr=port, len, count, data */
    HV_EXIT_MMIO,       /* memory-mapped I/O: addr=gpa, len, data */
    HV_EXIT_INTR,       /* interrupted by a kick or signal: check requests */
    HV_EXIT_POWEROFF,   /* architectural poweroff (e.g. PSCI SYSTEM_OFF) */
    HV_EXIT_RESET,      /* architectural reset request, or x86 shutdown (triple fault) */
    HV_EXIT_FATAL,      /* internal error, failed entry */
    HV_EXIT_OTHER,      /* nothing to do; run again */
};

struct hv_exit {
    enum hv_exit_kind kind;
    bool is_write;
    uint32_t len;       /* bytes per access */
    uint32_t count;     /* PIO string repetitions (1 otherwise) */
    uint64_t addr;
    uint8_t *data;      /* count*len bytes, valid until the next hv_vcpu_run */
    char reason[96];    /* FATAL: the exit reason in words; RESET: why, when it was not
                           the guest's request (a triple fault), else empty */
};

/* Open the hypervisor and create an empty VM. err: one line on failure. */
int hv_vm_create(struct hv_vm **out, char *err, size_t errlen);
void hv_vm_destroy(struct hv_vm *vm);
/* Largest number of vCPUs this VM may have. */
int hv_max_vcpus(struct hv_vm *vm);
int hv_set_memory(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva);
/* Back [gpa, gpa + size) (page-aligned) with host memory at hva that the
 * guest may only read: guest reads are plain memory accesses (no exit) and
 * see what the host last stored there; guest writes still exit as
 * HV_EXIT_MMIO (and still reach ioeventfds). For a device whose registers
 * the guest reads often (virtio-mmio). Returns a handle >= 0 for
 * hv_unmap_readonly, or -errno: -ENOTSUP where the hypervisor cannot, or
 * where the guest's uncached device mapping would not see the host's
 * cached stores (arm64 without forced write-back at stage 2). */
int hv_map_readonly(struct hv_vm *vm, uint64_t gpa, uint64_t size, void *hva);
void hv_unmap_readonly(struct hv_vm *vm, int handle);
/* Interrupt controller(s) the arch needs before vCPUs are created. */
int hv_irqchip_create(struct hv_vm *vm);
/* Set the level of an interrupt line (GSI). */
int hv_irq_line(struct hv_vm *vm, uint32_t gsi, int level);
/* hv_irq_line with the signature of struct irq_line's set(); opaque is
 * the struct hv_vm. */
void hv_irq_line_cb(void *hv_vm, uint32_t gsi, int level);
/* A guest write of len bytes to addr (MMIO, or PIO if !mmio) whose value
 * equals datamatch signals fd instead of exiting to userspace. */
int hv_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, bool mmio, uint64_t datamatch,
                 int fd, bool assign);
/* Writing to fd raises gsi: an irqchip line, or an MSI GSI whose route
 * (hv_msi_route_set) may come, change or go later; KVM follows it. */
int hv_irqfd(struct hv_vm *vm, uint32_t gsi, int fd, bool assign);

/* MSI routes: GSIs [hv_msi_gsi_first, + hv_msi_gsi_count) may each carry
 * one MSI (address, data and, on arm64, the requester's device id, PCI
 * bus << 8 | devfn, which the ITS translates; x86 ignores it). Raising
 * such a GSI (an irqfd) sends that MSI. hv keeps the whole routing table
 * (KVM's default irqchip routes plus these) and installs it in one step
 * per change; safe from any thread. Call after the irqchip exists
 * (hv_irqchip_create; arm64: hv_arm64_vgic_create, and
 * hv_arm64_its_create before any MSI can reach the guest). */
uint32_t hv_msi_gsi_first(struct hv_vm *vm);
/* How many GSIs from hv_msi_gsi_first (KVM's routing limit); 0 without
 * routing or before the irqchip exists. */
uint32_t hv_msi_gsi_count(struct hv_vm *vm);
/* Add or replace gsi's MSI route. 0, -EINVAL outside the MSI GSIs, or
 * -errno (the table is then as before). */
int hv_msi_route_set(struct hv_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, uint32_t devid);
/* Remove gsi's MSI route, if any: raising gsi then does nothing. 0 or
 * -errno (-EINVAL outside the MSI GSIs). */
int hv_msi_route_clear(struct hv_vm *vm, uint32_t gsi);
/* Send one MSI now, without a route. > 0: delivered; 0: not delivered,
 * the guest blocked it (x86: the destination LAPIC is software-disabled,
 * or no LAPIC has the destination id; arm64: the ITS has no mapping for
 * devid/data); -errno otherwise (arm64: -ENODEV without an ITS, -EBUSY
 * while the guest has the ITS disabled, -EINVAL for an address that is no
 * ITS doorbell). */
int hv_signal_msi(struct hv_vm *vm, uint64_t addr, uint32_t data, uint32_t devid);

int hv_vcpu_create(struct hv_vm *vm, int index, struct hv_vcpu **out);
void hv_vcpu_destroy(struct hv_vcpu *vcpu);
/* Enter the guest until the next exit; fills *e. 0 or a negative errno. */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct hv_exit *e);
/* The signal mask of the thread while it runs the guest (KVM_RUN), the
 * thread's own mask being restored when it returns: a signal blocked by
 * the thread but not by mask interrupts the guest (HV_EXIT_INTR) and
 * stays pending, undelivered. 0 or -errno. */
int hv_vcpu_set_sigmask(struct hv_vcpu *vcpu, const sigset_t *mask);
/* Make the next (or current, together with a signal) hv_vcpu_run return
 * HV_EXIT_INTR; hv_vcpu_kick_clear undoes it once the kick was seen. */
void hv_vcpu_kick_set(struct hv_vcpu *vcpu);
void hv_vcpu_kick_clear(struct hv_vcpu *vcpu);
/* Registers as text (for fatal-exit messages). */
void hv_vcpu_dump(struct hv_vcpu *vcpu, char *buf, size_t len);
#endif
