/* arm64 guest physical memory map used by arcvmm, in the shape of QEMU's
 * "virt" board: devices in the first GiB, RAM from 1 GiB up. One place for
 * every fixed address so arch.c, boot.c and fdt.c agree. */
#ifndef ARCVMM_ARM64_LAYOUT_H
#define ARCVMM_ARM64_LAYOUT_H

#define ARM64_GICD_BASE          0x08000000ULL  /* GICv3 distributor, 64 KiB */
#define ARM64_GICD_SIZE          0x10000ULL
#define ARM64_GITS_BASE          0x08080000ULL  /* GICv3 ITS (MSIs), 128 KiB */
#define ARM64_GITS_SIZE          0x20000ULL
#define ARM64_UART_BASE          0x09000000ULL  /* PL011 */
#define ARM64_UART_SIZE          0x1000ULL
#define ARM64_UART_CLOCK_HZ      24000000u      /* apb_pclk / uartclk */
#define ARM64_VIRTIO_MMIO_BASE   0x0a000000ULL  /* virtio-mmio windows, 4 KiB each */
#define ARM64_VIRTIO_MMIO_STRIDE 0x1000ULL
#define ARM64_VIRTIO_SLOTS       32
#define ARM64_GICR_BASE          0x10000000ULL  /* GICv3 redistributors, 128 KiB per vCPU */
#define ARM64_GICR_SIZE_PER_CPU  0x20000ULL
#define ARM64_MAX_CPUS           512            /* KVM's GICv3 limit; 64 MiB of redistributors */
#define ARM64_PCI_MMIO32_BASE    0x20000000ULL  /* PCI 32-bit BAR window, 256 MiB */
#define ARM64_PCI_MMIO32_SIZE    0x10000000ULL
#define ARM64_PCI_ECAM_BASE      0x30000000ULL  /* PCI ECAM: bus 0 only, 1 MiB */
#define ARM64_PCI_ECAM_SIZE      0x100000ULL
/* The 64-bit prefetchable PCI window starts at the first 1 GiB boundary
 * above RAM. */
#define ARM64_PCI_MMIO64_ALIGN   0x40000000ULL
#define ARM64_PCI_MMIO64_SIZE    0x400000000ULL /* 16 GiB */
#define ARM64_RAM_BASE           0x40000000ULL  /* 1 GiB (and 2 MiB) aligned */
#define ARM64_IPA_END            (1ULL << 40)   /* KVM's default 40-bit guest physical space */

/* Interrupts. A "gsi" in arcvmm is an SPI number (INTID - 32): KVM's
 * default irqfd routing maps gsi n to SPI n, and the device tree names SPIs
 * the same way. */
#define ARM64_UART_SPI           1
#define ARM64_VIRTIO_SPI_BASE    16             /* slot i: SPI 16 + i */
#define ARM64_PCI_INTX_SPI_BASE  48             /* PCI INTx lines: SPI 48..63 */
#define ARM64_PCI_INTX_SPIS      16
#define ARM64_GIC_NR_IRQS        96             /* 32 private + 64 SPIs */

/* Architected timer PPIs (INTID - 16), as on every arm64 virtual platform. */
#define ARM64_TIMER_PPI_SEC_PHYS 13
#define ARM64_TIMER_PPI_PHYS     14
#define ARM64_TIMER_PPI_VIRT     11
#define ARM64_TIMER_PPI_HYP      10

/* Boot protocol limits. */
#define ARM64_FDT_MAX            0x200000ULL    /* the DTB may not exceed 2 MiB */
#define ARM64_CMDLINE_MAX        2048           /* COMMAND_LINE_SIZE, incl. the NUL */
#define ARM64_INITRD_WINDOW      (32ULL << 30)  /* initrd + kernel in one 1 GiB aligned 32 GiB window */

#endif
