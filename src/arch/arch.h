/* What the shared VM code asks of an architecture (arch/<arch>/). */
#ifndef ARCVMM_ARCH_H
#define ARCVMM_ARCH_H
#include <stddef.h>
#include <stdint.h>

struct vm;
struct vcpu;
struct guest_mem;

/* Lay out mem_bytes of RAM as guest regions (gpa and size only). */
int arch_mem_layout(uint64_t mem_bytes, struct guest_mem *m);
/* Largest vCPU count the arch's platform description supports. */
int arch_max_cpus(void);
/* After memory is mapped, before devices and vCPUs exist: interrupt
 * controllers and platform devices on vm->pio/vm->mmio. */
int arch_vm_setup(struct vm *vm, char *err, size_t errlen);
/* The resource pools the board offers devices (devmgr/alloc.h): interrupt
 * lines, virtio-mmio windows, the PCI host bridge's windows, MSI GSIs. */
struct devmgr_board;
void arch_devmgr_board(struct vm *vm, struct devmgr_board *b);
/* After every device exists: kernel, initrd, command line and firmware
 * tables (which describe vm->devs, see devmgr_describe) in guest memory,
 * boot CPU state.
 * err: one line naming the bad input. */
int arch_load_guest(struct vm *vm, char *err, size_t errlen);
/* Once every vCPU exists, before any runs (e.g. arm64's GIC, which KVM
 * initialises only after its vCPUs). */
int arch_vcpus_created(struct vm *vm, char *err, size_t errlen);
/* Per vCPU, on the creating thread, before it first runs. */
int arch_vcpu_setup(struct vm *vm, struct vcpu *v);
/* Free whatever arch_vm_setup allocated. */
void arch_vm_teardown(struct vm *vm);
#endif
