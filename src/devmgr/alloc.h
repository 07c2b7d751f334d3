/* The device manager's resource allocator: interrupt lines, MSI routes,
 * virtio-mmio windows, PCI slots and BAR space, handed out in order from
 * the pools a board declares. Plain data (so a snapshot can carry it and a
 * restore hand out the same resources again); no locking: devices are
 * attached on one thread before the VM runs. */
#ifndef ARCVMM_DEVMGR_ALLOC_H
#define ARCVMM_DEVMGR_ALLOC_H
#include <stdint.h>

#include "bus/bus.h"

#define ALLOC_MAX_LINES 32

/* What a board offers devices (arch_devmgr_board fills it). */
struct devmgr_board {
    /* interrupt lines free for devices, in the order they are handed out
     * (x86: IOAPIC pins; arm64: SPI numbers) */
    uint32_t lines[ALLOC_MAX_LINES];
    int nlines;
    /* PCI INTx lines (x86: IOAPIC pins 16-23; arm64: SPIs), level-triggered
     * and so shareable: handed out round-robin */
    uint32_t intx[ALLOC_MAX_LINES];
    int nintx;
    /* virtio-mmio windows: slot i at mmio_base + i * mmio_stride */
    uint64_t mmio_base, mmio_stride;
    int mmio_slots;
    /* PCI host bridge: ECAM (bus 0) and the two BAR windows */
    uint64_t ecam_base, ecam_size;
    uint64_t mmio32_base, mmio32_size;
    uint64_t mmio64_base, mmio64_size;
    /* x86: a port window for I/O BARs (virtio-pci's notify registers:
     * a port write exits more cheaply than an MMIO write); 0: none */
    uint64_t pio_base, pio_size;
    /* GSI numbers free for MSI routes: [msi_first, msi_first + msi_count) */
    uint32_t msi_first, msi_count;
    /* x86: the legacy PCI config ports 0xCF8-0xCFF exist (with a PCI host
     * bridge); cf9_io, when set, serves the reset control register at
     * 0xCF9, a byte inside them (offset 0), with or without PCI. */
    bool pci_cf8;
    bus_io_fn cf9_io;
    void *cf9_opaque;
};

struct alloc_window {
    uint64_t base, size, used;
};

struct devmgr_alloc {
    struct devmgr_board board;
    int next_line, next_mmio, next_slot, next_intx;
    /* Lines handed out, by kind: a board may offer a line in both pools
     * (x86's pins 16-23), but an edge-triggered device line is never
     * shared, so a line is given as one kind only. */
    uint32_t given_line[ALLOC_MAX_LINES], given_intx[ALLOC_MAX_LINES];
    int ngiven_line, ngiven_intx;
    uint32_t msi_used;
    struct alloc_window mmio32, mmio64, pio;
};

void alloc_init(struct devmgr_alloc *a, const struct devmgr_board *b);
/* An interrupt line of its own (none handed out as INTx), or -ENOSPC. */
int alloc_line(struct devmgr_alloc *a, uint32_t *line);
/* A PCI INTx line (shared with other INTx users once all are taken,
 * never with a line from alloc_line), or -ENOSPC if none is left. */
int alloc_intx(struct devmgr_alloc *a, uint32_t *line);
/* The next virtio-mmio window (base; size is the stride), or -ENOSPC. */
int alloc_mmio_window(struct devmgr_alloc *a, uint64_t *base);
/* The next free PCI slot on bus 0 (slot 0 stays free, as for a host
 * bridge), or -ENOSPC. */
int alloc_pci_slot(struct devmgr_alloc *a, uint8_t *slot);
/* size bytes (a power of two) aligned to their size in the 64-bit
 * (prefetchable) or the 32-bit window, or -ENOSPC. */
int alloc_bar(struct devmgr_alloc *a, uint64_t size, int is64, uint64_t *addr);
/* size bytes (a power of two) aligned to their size in the port window,
 * or -ENOSPC (also when the board has none). */
int alloc_pio_bar(struct devmgr_alloc *a, uint64_t size, uint64_t *addr);
/* n consecutive GSIs for MSI routes, or -ENOSPC. */
int alloc_msi(struct devmgr_alloc *a, uint32_t n, uint32_t *first);
#endif
