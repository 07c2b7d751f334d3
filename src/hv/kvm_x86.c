/* Linux KVM, x86-specific: irqchip, CPUID, MSRs, boot registers. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hv/hv_x86.h"
#include "hv/kvm_internal.h"

#define CPUID_MAX_ENTRIES 256
#define KVM_TSS_ADDR      0xfffbd000ULL    /* 3 pages below the identity map page */
#define KVM_IDMAP_ADDR    0xfffbc000ULL

struct kvm_x86 {
    struct kvm_cpuid2 *cpuid;   /* KVM_GET_SUPPORTED_CPUID result */
    bool irqchip;               /* hv_irqchip_create succeeded */
};

#define X86_IOAPIC_PINS 24
#define X86_PIC_PINS    16      /* two 8259s */

int kvm_arch_vm_init(struct hv_vm *vm)
{
    struct kvm_x86 *x = calloc(1, sizeof(*x));
    if (!x)
        return -ENOMEM;
    vm->arch = x;
    x->cpuid = calloc(1, sizeof(*x->cpuid) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2));
    if (!x->cpuid)
        return -ENOMEM;
    x->cpuid->nent = CPUID_MAX_ENTRIES;
    int r = kvm_ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, x->cpuid);
    if (r < 0)
        return r;
    /* Intel VMX needs these before the first vCPU; harmless on AMD. */
    r = kvm_ioctl_val(vm->vm_fd, KVM_SET_TSS_ADDR, KVM_TSS_ADDR);
    if (r < 0)
        return r;
    uint64_t idmap = KVM_IDMAP_ADDR;
    r = kvm_ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap);
    return r < 0 ? r : 0;
}

void kvm_arch_vm_destroy(struct hv_vm *vm)
{
    struct kvm_x86 *x = vm->arch;
    if (x)
        free(x->cpuid);
    free(x);
    vm->arch = NULL;
}

/* In-kernel LAPICs, IOAPIC and PICs, and the PIT. */
int hv_irqchip_create(struct hv_vm *vm)
{
    struct kvm_x86 *x = vm->arch;
    int r = kvm_ioctl_val(vm->vm_fd, KVM_CREATE_IRQCHIP, 0);
    if (r < 0)
        return r;
    x->irqchip = true;
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    r = kvm_ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit);
    return r < 0 ? r : 0;
}

/* What KVM_CREATE_IRQCHIP installs (kvm_setup_default_irq_routing): GSI n
 * to IOAPIC pin n for every pin, and GSIs 0..15 also to pin n % 8 of the
 * master (n < 8) or slave PIC. */
int kvm_arch_default_routes(struct hv_vm *vm, struct kvm_irq_routing_entry *e)
{
    struct kvm_x86 *x = vm->arch;
    if (!x->irqchip)
        return -ENODEV;
    int n = 0;
    for (uint32_t gsi = 0; gsi < X86_IOAPIC_PINS; gsi++) {
        if (e)
            e[n] = (struct kvm_irq_routing_entry){
                .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi },
            };
        n++;
        if (gsi >= X86_PIC_PINS)
            continue;
        if (e)
            e[n] = (struct kvm_irq_routing_entry){
                .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
                               .pin = gsi % 8 },
            };
        n++;
    }
    return n;
}

uint32_t kvm_arch_msi_gsi_first(struct hv_vm *vm)
{
    return X86_IOAPIC_PINS;
}

/* x86 MSIs carry no requester id. */
uint32_t kvm_arch_msi_flags(struct hv_vm *vm)
{
    return 0;
}

/* The guest maps device windows uncached; x86 uncached reads snoop the
 * other CPUs' caches, so they see the host's latest store. */
bool kvm_arch_readonly_coherent(struct hv_vm *vm)
{
    (void)vm;
    return true;
}

int kvm_arch_vcpu_init(struct hv_vcpu *vcpu)
{
    return 0;
}

/* x86: a GSI is an IOAPIC pin (and, below 16, a PIC line too). */
int hv_irq_line(struct hv_vm *vm, uint32_t gsi, int level)
{
    struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
    return kvm_ioctl(vm->vm_fd, KVM_IRQ_LINE, &l);
}

static int bits_for(int n)
{
    int b = 0;
    while ((1 << b) < n)
        b++;
    return b;
}

/* Rewrite the topology-related leaves for vCPU `index` of `ncpus`. */
static void cpuid_fixup(struct kvm_cpuid2 *c, int index, int ncpus)
{
    int core_bits = bits_for(ncpus);
    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        switch (e->function) {
        case 1:
            e->ebx = (e->ebx & 0x0000ffffu) | ((uint32_t)index << 24) |
                     ((uint32_t)(ncpus > 1 ? (1 << core_bits) : 1) << 16);
            e->ecx |= 1u << 31;                     /* running on a hypervisor */
            if (ncpus > 1)
                e->edx |= 1u << 28;                 /* HTT: multi-core package */
            else
                e->edx &= ~(1u << 28);
            break;
        case 4:                                     /* Intel cache/core topology */
            e->eax = (e->eax & 0x03ffffffu) | ((uint32_t)((1 << core_bits) - 1) << 26);
            break;
        case 0xb:
        case 0x1f:                                  /* extended topology */
            e->edx = (uint32_t)index;
            if (e->index == 0) {
                e->eax = 0; e->ebx = 1; e->ecx = (1u << 8) | 0;
            } else if (e->index == 1) {
                e->eax = (uint32_t)core_bits; e->ebx = (uint32_t)ncpus; e->ecx = (2u << 8) | 1;
            } else {
                e->eax = 0; e->ebx = 0; e->ecx = e->index;
            }
            break;
        case 0x80000008:                            /* AMD core count */
            e->ecx = (e->ecx & ~0xf0ffu) | ((uint32_t)core_bits << 12) | (uint32_t)(ncpus - 1);
            break;
        case 0x8000001e:                            /* AMD extended APIC id */
            e->eax = (uint32_t)index;
            e->ebx = (e->ebx & ~0xffffu) | (uint32_t)index;
            e->ecx = 0;
            break;
        }
    }
}

#define MSR_IA32_SYSENTER_CS   0x174
#define MSR_IA32_SYSENTER_ESP  0x175
#define MSR_IA32_SYSENTER_EIP  0x176
#define MSR_IA32_MISC_ENABLE   0x1a0
#define MSR_MTRR_DEF_TYPE      0x2ff
#define MSR_STAR               0xc0000081
#define MSR_LSTAR              0xc0000082
#define MSR_CSTAR              0xc0000083
#define MSR_SYSCALL_MASK       0xc0000084
#define MSR_KERNEL_GS_BASE     0xc0000102
#define MSR_IA32_TSC           0x10

static int set_boot_msrs(struct hv_vcpu *v)
{
    static const struct { uint32_t idx; uint64_t val; } msrs[] = {
        { MSR_IA32_SYSENTER_CS, 0 }, { MSR_IA32_SYSENTER_ESP, 0 },
        { MSR_IA32_SYSENTER_EIP, 0 }, { MSR_STAR, 0 }, { MSR_CSTAR, 0 },
        { MSR_KERNEL_GS_BASE, 0 }, { MSR_SYSCALL_MASK, 0 }, { MSR_LSTAR, 0 },
        { MSR_IA32_TSC, 0 },
        { MSR_IA32_MISC_ENABLE, 1 },                /* fast string operations */
        { MSR_MTRR_DEF_TYPE, (1u << 11) | 6 },      /* MTRRs on, default write-back */
    };
    enum { N = sizeof(msrs) / sizeof(msrs[0]) };
    struct { struct kvm_msrs hdr; struct kvm_msr_entry e[N]; } m;
    memset(&m, 0, sizeof(m));
    m.hdr.nmsrs = N;
    for (int i = 0; i < N; i++) {
        m.e[i].index = msrs[i].idx;
        m.e[i].data = msrs[i].val;
    }
    int r = kvm_ioctl(v->fd, KVM_SET_MSRS, &m.hdr);
    if (r < 0)
        return r;
    return r == N ? 0 : -EINVAL;
}

#define APIC_LVT0      0x350
#define APIC_LVT1      0x360
#define APIC_MODE_NMI    0x4
#define APIC_MODE_EXTINT 0x7

static void lapic_set_lvt(struct kvm_lapic_state *l, int reg, uint32_t mode)
{
    uint32_t v;
    memcpy(&v, &l->regs[reg], 4);
    v = (v & ~0x700u) | (mode << 8);
    memcpy(&l->regs[reg], &v, 4);
}

int hv_x86_vcpu_setup(struct hv_vcpu *v, int index, int ncpus)
{
    struct kvm_x86 *x = v->vm->arch;
    size_t sz = sizeof(*x->cpuid) + x->cpuid->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(sz);
    if (!c)
        return -ENOMEM;
    memcpy(c, x->cpuid, sz);
    cpuid_fixup(c, index, ncpus);
    int r = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
    free(c);
    if (r < 0)
        return r;
    if ((r = set_boot_msrs(v)) < 0)
        return r;
    struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
    if ((r = kvm_ioctl(v->fd, KVM_SET_FPU, &fpu)) < 0)
        return r;
    /* LINT0 delivers the 8259 PIC (ExtINT), LINT1 is NMI, as firmware would set. */
    struct kvm_lapic_state lapic;
    if ((r = kvm_ioctl(v->fd, KVM_GET_LAPIC, &lapic)) < 0)
        return r;
    lapic_set_lvt(&lapic, APIC_LVT0, APIC_MODE_EXTINT);
    lapic_set_lvt(&lapic, APIC_LVT1, APIC_MODE_NMI);
    r = kvm_ioctl(v->fd, KVM_SET_LAPIC, &lapic);
    return r < 0 ? r : 0;
}

static void seg_to_kvm(const struct x86_seg *s, struct kvm_segment *k)
{
    *k = (struct kvm_segment){
        .base = s->base, .limit = s->limit, .selector = s->selector,
        .type = s->type, .present = s->present, .dpl = s->dpl, .db = s->db,
        .s = s->s, .l = s->l, .g = s->g,
    };
}

int hv_x86_set_boot_regs(struct hv_vcpu *v, const struct x86_boot_regs *b)
{
    struct kvm_sregs sregs;
    int r = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
    if (r < 0)
        return r;
    seg_to_kvm(&b->cs, &sregs.cs);
    seg_to_kvm(&b->ds, &sregs.ds);
    sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
    sregs.gdt.base = b->gdt_base;
    sregs.gdt.limit = b->gdt_limit;
    sregs.cr0 = b->cr0;
    sregs.cr3 = b->cr3;
    sregs.cr4 = b->cr4;
    sregs.efer = b->efer;
    if ((r = kvm_ioctl(v->fd, KVM_SET_SREGS, &sregs)) < 0)
        return r;
    struct kvm_regs regs = {
        .rip = b->rip, .rsp = b->rsp, .rbp = b->rsp, .rsi = b->rsi, .rbx = b->rbx,
        .rflags = b->rflags ? b->rflags : 2,
    };
    r = kvm_ioctl(v->fd, KVM_SET_REGS, &regs);
    return r < 0 ? r : 0;
}

void hv_vcpu_dump(struct hv_vcpu *v, char *buf, size_t len)
{
    struct kvm_regs r;
    struct kvm_sregs s;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
        snprintf(buf, len, "vcpu%d: registers unavailable", v->index);
        return;
    }
    snprintf(buf, len,
             "vcpu%d: rip=%#llx rsp=%#llx rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx "
             "rsi=%#llx rdi=%#llx rflags=%#llx cr0=%#llx cr2=%#llx cr3=%#llx cr4=%#llx "
             "efer=%#llx cs=%#x(l=%u db=%u)",
             v->index, r.rip, r.rsp, r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rflags,
             s.cr0, s.cr2, s.cr3, s.cr4, s.efer, s.cs.selector, s.cs.l, s.cs.db);
}
