/* x86_64 guest physical memory map used by arcvmm. One place for every
 * fixed address so boot.c, acpi.c and the devices agree. */
#ifndef ARCVMM_X86_LAYOUT_H
#define ARCVMM_X86_LAYOUT_H

#define X86_GDT_ADDR          0x500ULL     /* 4 entries */
#define X86_PVH_INFO_ADDR     0x6000ULL    /* hvm_start_info, then modlist, memmap */
#define X86_ZERO_PAGE_ADDR    0x7000ULL    /* struct boot_params (4 KiB) */
#define X86_PML4_ADDR         0x9000ULL    /* PML4, PDPT at +0x1000, 4 PDs after */
#define X86_STACK_TOP         0x8ff0ULL    /* initial rsp for the 64-bit entry */
#define X86_CMDLINE_ADDR      0x20000ULL
#define X86_CMDLINE_MAX       0x10000ULL   /* 64 KiB, kernel's own limit applies */
#define X86_EBDA_START        0x9fc00ULL   /* low RAM ends here in the e820 map */
#define X86_ACPI_ADDR         0xe0000ULL   /* RSDP, then the other tables */
#define X86_ACPI_MAX          0x1fff0ULL   /* up to the reset vector */
#define X86_RESET_VECTOR_ADDR 0xffff0ULL   /* F000:FFF0: 16 bytes, see resetvec.h */
#define X86_HIMEM_START       0x100000ULL  /* kernel loaded here */
#define X86_MMIO_HOLE_START   0xc0000000ULL /* RAM above this moves to 4 GiB */
#define X86_MMIO_HOLE_END     0x100000000ULL
#define X86_PCI_MMIO32_BASE   0xc0000000ULL /* PCI 32-bit BAR window, 256 MiB */
#define X86_PCI_MMIO32_SIZE   0x10000000ULL
#define X86_VIRTIO_MMIO_BASE  0xd0000000ULL /* virtio-mmio windows, 4 KiB each */
#define X86_VIRTIO_MMIO_SIZE  0x1000ULL
#define X86_PCI_ECAM_BASE     0xe0000000ULL /* PCI ECAM: bus 0 only, 1 MiB */
#define X86_PCI_ECAM_SIZE     0x100000ULL
/* The 64-bit prefetchable PCI window starts at the first 1 GiB boundary
 * at or above both 4 GiB and the end of RAM. */
#define X86_PCI_MMIO64_ALIGN  0x40000000ULL
#define X86_PCI_MMIO64_SIZE   0x400000000ULL /* 16 GiB */
#define X86_IOAPIC_ADDR       0xfec00000ULL
#define X86_LAPIC_ADDR        0xfee00000ULL

/* I/O ports */
#define X86_PCI_CONFIG_ADDR_PORT 0xcf8 /* legacy config mechanism #1, 4 bytes */
#define X86_PCI_CONFIG_DATA_PORT 0xcfc /* 4 bytes */
#define X86_RESET_CONTROL_PORT   0xcf9 /* PC reset control register (1 byte) */
#define X86_PCI_PIO_BASE      0xc000   /* PCI I/O BAR window, 16 KiB of ports */
#define X86_PCI_PIO_SIZE      0x4000
#define X86_COM1_PORT         0x3f8
#define X86_COM1_IRQ          4
#define X86_I8042_DATA_PORT   0x60
#define X86_I8042_CMD_PORT    0x64
/* ACPI hardware-reduced sleep control/status and reset registers (1 byte each) */
#define X86_ACPI_SLEEP_CTL_PORT  0x600
#define X86_ACPI_SLEEP_STS_PORT  0x601
#define X86_ACPI_RESET_PORT      0x602
#define X86_ACPI_RESET_VALUE     0x1
#define X86_ACPI_S5_SLP_TYP      5     /* _S5_ package value; SLP_TYP field bits 2..4 */
#define X86_ACPI_SCI_IRQ         9

#endif
