/* x86_64 direct kernel boot: pure builders that load a Linux bzImage
 * (64-bit boot protocol) or an ELF kernel with a PVH entry note into guest
 * memory and lay out boot_params / hvm_start_info, the e820 map, identity
 * page tables and a GDT. Nothing here talks to KVM: everything is written
 * through mem_ptr()/mem_write() and the boot CPU's registers are returned
 * in struct x86_boot_regs for hv/ to apply.
 *
 * Guest memory used (see arch/x86/layout.h): GDT at X86_GDT_ADDR, PVH start
 * info at X86_PVH_INFO_ADDR (then the module list and the memory map),
 * zero page at X86_ZERO_PAGE_ADDR, page tables at X86_PML4_ADDR (6 pages),
 * command line at X86_CMDLINE_ADDR, kernel from X86_HIMEM_START up. */
#ifndef ARCVMM_X86_BOOT_H
#define ARCVMM_X86_BOOT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arch/x86/bootparam.h"
#include "hv/hv_x86.h"
#include "mem/mem.h"

/* GDT selectors written by x86_gdt_setup(). 0x10/0x18 are the Linux boot
 * protocol's __BOOT_CS/__BOOT_DS; PVH leaves its selectors unspecified. */
#define X86_SEL_CODE32  0x08   /* flat 4 GiB 32-bit code (PVH entry) */
#define X86_SEL_CODE64  0x10   /* 64-bit code (bzImage 64-bit entry) */
#define X86_SEL_DATA    0x18   /* flat 4 GiB read/write data, both modes */
#define X86_GDT_ENTRIES 4

/* Page-table pages at X86_PML4_ADDR: PML4, PDPT, then 4 page directories. */
#define X86_PT_PAGES    6

enum x86_kernel_kind { X86_KERNEL_BZIMAGE, X86_KERNEL_PVH };

#define X86_SETUP_HEADER_START 0x1f1
#define X86_SETUP_HEADER_MAX   (0x280 - 0x1f1)

struct x86_kernel {
    enum x86_kernel_kind kind;
    uint64_t entry;          /* bzImage: 64-bit entry (load addr + 0x200); PVH: 32-bit entry from the note */
    uint64_t load_start, load_end;  /* guest range the kernel may occupy (bzImage: incl. the decompressed
                                       kernel at max(align_up(1 MiB, kernel_alignment), pref_address) + init_size) */
    uint64_t initrd_addr_max;       /* highest byte an initrd may occupy */
    uint32_t cmdline_max;           /* bytes incl. NUL the kernel accepts */
    uint8_t setup_header[X86_SETUP_HEADER_MAX]; size_t setup_header_len; /* bzImage: the kernel's own header
                                       bytes (from offset 0x1f1) to copy into boot_params */
};

/* Parse img (the whole file in host memory) and copy the kernel into guest
 * memory. A bzImage's protected-mode payload goes to X86_HIMEM_START; an
 * ELF's PT_LOAD segments go to their p_paddr (none may start below 1 MiB,
 * which holds the boot structures). Everything is validated before the first
 * byte is written. Errors: -ENOEXEC not a bzImage/ELF, no PVH note or
 * unsupported (boot protocol < 2.12, no XLF_KERNEL_64, wrong ELF machine);
 * -EINVAL truncated/inconsistent header or ELF; -ENOMEM does not fit in
 * guest RAM. err (may be NULL) gets a one-line human-readable reason. */
int x86_kernel_load(const struct guest_mem *m, const uint8_t *img, size_t len,
                    struct x86_kernel *k, char *err, size_t errlen);

/* Is img a stock Linux kernel (not a freestanding guest such as the
 * project's test guest)? A bzImage whose kernel_version string starts with
 * a digit ("6.1.0-..."), or an ELF that holds "Linux version ". */
bool x86_kernel_is_linux(const uint8_t *img, size_t len);

/* Place an initrd as high as possible below min(initrd_addr_max + 1, end of
 * RAM below 4 GiB), page aligned, at or above 1 MiB and not overlapping
 * [k->load_start, k->load_end); copy it there and return its gpa.
 * -EINVAL for len 0, -ENOMEM if it does not fit. */
int x86_initrd_load(const struct guest_mem *m, const struct x86_kernel *k,
                    const uint8_t *data, size_t len, uint64_t *gpa);

/* The e820 map for the guest's RAM regions: [0, X86_EBDA_START) RAM,
 * [X86_EBDA_START, 1 MiB) reserved, then the part >= 1 MiB of each RAM
 * region as RAM (so the MMIO hole never appears). Returns the entry count,
 * or -ENOSPC if more than max entries are needed. */
int x86_e820_build(const struct guest_mem *m, struct boot_e820_entry *out, int max);

/* Write the zero page at X86_ZERO_PAGE_ADDR (the kernel's setup header,
 * type_of_loader 0xff, LOADED_HIGH|CAN_USE_HEAP, heap_end_ptr, cmd_line_ptr
 * = X86_CMDLINE_ADDR, ramdisk_image/size with the ext_ high halves, the e820
 * table, acpi_rsdp_addr (0 = none)) and the command line (NULL = "").
 * initrd_len 0 means no initrd. -EINVAL if k is not a bzImage, -E2BIG if
 * cmdline is longer than k->cmdline_max-1 or X86_CMDLINE_MAX-1 bytes,
 * -EFAULT if the fixed areas are not guest RAM. Nothing is written on error. */
int x86_bootparams_setup(const struct guest_mem *m, const struct x86_kernel *k,
                         const char *cmdline, uint64_t initrd_gpa,
                         uint64_t initrd_len, uint64_t rsdp_gpa);

/* Write hvm_start_info (magic 0x336ec578, version 1) at X86_PVH_INFO_ADDR,
 * the module list right after it (the initrd as module 0 when initrd_len is
 * non-zero), then the memory map (same ranges as the e820 map); the command
 * line (NULL = "") goes to X86_CMDLINE_ADDR. -E2BIG if cmdline is longer than
 * X86_CMDLINE_MAX-1, -ENOSPC if the memory map does not fit before the zero
 * page, -EFAULT if the areas are not guest RAM. */
int x86_pvh_setup(const struct guest_mem *m, const char *cmdline,
                  uint64_t initrd_gpa, uint64_t initrd_len, uint64_t rsdp_gpa);

/* Identity-map the first 4 GiB with 2 MiB pages at X86_PML4_ADDR: PML4 ->
 * one PDPT (at +0x1000) -> 4 PDs (at +0x2000..+0x5000). No 1 GiB pages.
 * 0 or -EFAULT. */
int x86_pagetables_setup(const struct guest_mem *m);

/* Write the 4-entry GDT at X86_GDT_ADDR: null, X86_SEL_CODE32, X86_SEL_CODE64,
 * X86_SEL_DATA; descriptors match the segments in x86_boot_regs_*().
 * 0 or -EFAULT. */
int x86_gdt_setup(const struct guest_mem *m);

/* struct x86_seg (one segment register as hv/ loads it: limit in bytes,
 * already scaled by g; type is the 4-bit descriptor type, accessed bit set)
 * and struct x86_boot_regs (the boot CPU state: rip, rsp, rsi, rbx, rflags,
 * cr0/3/4, efer, cs, ds (used for ds/es/fs/gs/ss), gdt_base/limit) are
 * defined by hv/hv_x86.h, which applies them. */

/* Encode a segment as an 8-byte GDT descriptor (base/limit/type/flags). */
uint64_t x86_gdt_encode(const struct x86_seg *s);

/* 64-bit long mode: CR0 PE|ET|PG, CR4 PAE, EFER LME|LMA, CR3 X86_PML4_ADDR,
 * CS X86_SEL_CODE64, DS X86_SEL_DATA, RSI = X86_ZERO_PAGE_ADDR,
 * RSP = X86_STACK_TOP, RIP = k->entry, RFLAGS 0x2 (interrupts off). */
void x86_boot_regs_bzimage(const struct x86_kernel *k, struct x86_boot_regs *r);

/* 32-bit protected mode, paging off (CR0 PE|ET, CR4/EFER 0), flat 4 GiB
 * CS X86_SEL_CODE32 / DS X86_SEL_DATA, EBX = X86_PVH_INFO_ADDR,
 * RIP = k->entry, RFLAGS 0x2. */
void x86_boot_regs_pvh(const struct x86_kernel *k, struct x86_boot_regs *r);
#endif
