/* x86-specific part of the hv interface: per-vCPU CPU model and boot state. */
#ifndef ARCVMM_HV_X86_H
#define ARCVMM_HV_X86_H
#include <stdint.h>

#include "hv/hv.h"

struct x86_seg {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g;
};

/* Boot CPU register state, built by arch/x86/boot.c, applied by hv. */
struct x86_boot_regs {
    uint64_t rip, rsp, rsi, rbx, rflags;
    uint64_t cr0, cr3, cr4, efer;
    struct x86_seg cs, ds;          /* ds is used for ds/es/fs/gs/ss */
    uint64_t gdt_base;
    uint16_t gdt_limit;
};

/* CPUID (from KVM_GET_SUPPORTED_CPUID, with APIC id `index` and a topology
 * of ncpus single-thread cores in one package), boot MSRs, FPU and LAPIC
 * LINT0/LINT1 wiring. Call for every vCPU before it first runs. */
int hv_x86_vcpu_setup(struct hv_vcpu *vcpu, int index, int ncpus);
int hv_x86_set_boot_regs(struct hv_vcpu *vcpu, const struct x86_boot_regs *r);
#endif
