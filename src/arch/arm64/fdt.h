/* The arm64 guest's flattened device tree, built with libfdt. A pure
 * builder: the caller gathers the platform (addresses, CPUs' MPIDRs, the
 * device manager's description of the attached devices) and gets a DTB in
 * a buffer; the unit tests parse it back on any host.
 *
 * Nodes: / (interrupt-parent = GIC), /aliases, /chosen (bootargs,
 * stdout-path, linux,initrd-start/end, rng-seed), /memory@, /cpus with one
 * cpu@ per vCPU (enable-method "psci", reg = MPIDR affinity), /psci (PSCI
 * 1.0/0.2 over HVC), /timer (the 4 architected timer PPIs),
 * /intc@ (GICv3: distributor + redistributor region; with an ITS, its
 * child /intc@/msi-controller@), /apb-pclk (fixed clock), /pl011@ (its
 * SPI, level high), one /virtio_mmio@ per device (its SPI, edge rising,
 * dma-coherent) and, with a PCI host bridge, /pcie@ (generic ECAM host:
 * its windows, INTx lines as level-high SPIs, MSIs through the ITS). */
#ifndef ARCVMM_ARM64_FDT_H
#define ARCVMM_ARM64_FDT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devmgr/desc.h"

/* Device tree interrupt specifier values (GICv3 binding). */
#define ARM64_FDT_GIC_SPI          0
#define ARM64_FDT_GIC_PPI          1
#define ARM64_FDT_IRQ_EDGE_RISING  1
#define ARM64_FDT_IRQ_LEVEL_HIGH   4

#define ARM64_FDT_PHANDLE_GIC      1
#define ARM64_FDT_PHANDLE_CLK      2
#define ARM64_FDT_PHANDLE_ITS      3

struct arm64_fdt_config {
    uint64_t ram_base, ram_size;
    int ncpus;
    const uint64_t *mpidr;          /* ncpus MPIDR_EL1 values */
    uint64_t gicd_base, gicd_size;
    uint64_t gicr_base, gicr_size;  /* ncpus * 128 KiB */
    uint64_t uart_base, uart_size;
    uint32_t uart_spi, uart_clock_hz;
    /* The attached devices (NULL: none); a gsi is an SPI number. A
     * present PCI host has 1 MiB of ECAM per bus of bus_start..bus_end and
     * at most one INTx entry per slot (0..31); a window of size 0 is left
     * out. */
    const struct devmgr_desc *dev;
    /* The GICv3 ITS register frame; its_base 0: there is none (then PCI
     * devices get no MSIs, only INTx). */
    uint64_t its_base, its_size;
    const char *cmdline;            /* NULL: empty */
    uint64_t initrd_gpa, initrd_size;   /* size 0: no initrd */
    const uint8_t *rng_seed;        /* may be NULL */
    size_t rng_seed_len;
};

/* Write the DTB into buf (cap bytes). Returns its size, -ENOSPC when it
 * does not fit in cap, -EINVAL for a bad config (no CPUs, NULL arrays,
 * nmmio out of 0..DEVMGR_MAX_MMIO, a PCI host breaking the rules above,
 * an ITS of size 0). */
ssize_t arm64_fdt_build(const struct arm64_fdt_config *c, void *buf, size_t cap);
#endif
