/* What the device manager tells a board about the devices it attached:
 * plain data, no pointers into devices. The x86 board renders it into the
 * ACPI DSDT/MCFG, the arm64 board into the device tree. Nothing here names
 * a device type: a board describes windows, interrupts and a PCI host
 * bridge, never "a disk". */
#ifndef ARCVMM_DEVMGR_DESC_H
#define ARCVMM_DEVMGR_DESC_H
#include <stdbool.h>
#include <stdint.h>

#define DEVMGR_MAX_MMIO 32      /* virtio-mmio windows */
#define DEVMGR_PCI_SLOTS 32     /* devices on PCI bus 0 (function 0 each) */

/* One virtio-mmio device: its register window and its interrupt (x86: an
 * IOAPIC pin, edge; arm64: an SPI number, edge rising). */
struct devmgr_mmio_window {
    uint64_t base, size;
    uint32_t gsi;
};

/* The legacy INTx line of the device in `slot` (pin INTA): x86 an IOAPIC
 * pin (level, active low, as PCI wires it); arm64 an SPI (level high). */
struct devmgr_pci_intx {
    uint8_t slot;
    uint32_t gsi;
};

/* The PCI host bridge (present only when a device uses PCI): ECAM config
 * space for buses bus_start..bus_end (1 MiB per bus), a 32-bit
 * non-prefetchable MMIO window below 4 GiB and a 64-bit prefetchable one
 * above RAM (and, on x86, a port window for I/O BARs), in which the device
 * manager placed every BAR. */
struct devmgr_pci_host {
    bool present;
    uint64_t ecam_base, ecam_size;
    uint8_t bus_start, bus_end;
    uint64_t mmio32_base, mmio32_size;
    uint64_t mmio64_base, mmio64_size;
    uint64_t pio_base, pio_size;        /* x86: the port window of I/O BARs; 0: none */
    struct devmgr_pci_intx intx[DEVMGR_PCI_SLOTS];
    int nintx;
};

struct devmgr_desc {
    struct devmgr_mmio_window mmio[DEVMGR_MAX_MMIO];
    int nmmio;
    struct devmgr_pci_host pci;
};
#endif
