/* The device manager: the VM's list of {device, transport, resources}.
 * vm/devices.c creates devices from the configuration and attaches them
 * here in a fixed order; the manager allocates their resources from the
 * board's pools (devmgr/alloc.h), puts them on a transport, registers the
 * transport on the buses and describes the result to the board
 * (devmgr/desc.h), which renders it into ACPI or the device tree. Pause
 * and teardown go through it too, so nothing else walks the devices.
 *
 * Threads: attach, describe and destroy run on the thread that creates and
 * frees the VM; quiesce/resume on the thread that pauses it, with the
 * vCPUs parked. */
#ifndef ARCVMM_DEVMGR_H
#define ARCVMM_DEVMGR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devmgr/alloc.h"
#include "devmgr/desc.h"
#include "pci/host.h"

struct bus;
struct hv_vm;
struct guest_mem;
struct virtio_dev;
struct virtio_mmio;
struct virtio_pci;

#define DEVMGR_MAX_DEVS 32

enum devmgr_transport { DEVMGR_MMIO, DEVMGR_PCI };

struct devmgr_dev {
    struct virtio_dev *dev;
    enum devmgr_transport kind;
    struct virtio_mmio *mmio;   /* DEVMGR_MMIO */
    struct virtio_pci *pci;     /* DEVMGR_PCI */
    uint64_t base, size;        /* MMIO: the register window; PCI: BAR 0 as placed */
    uint32_t gsi;               /* MMIO: its interrupt line; PCI: its INTx line */
    uint8_t slot;               /* PCI: bus 0 slot */
    uint32_t msi_first, nmsi;   /* PCI: the GSIs of its MSI-X vectors */
};

struct devmgr {
    struct hv_vm *hv;           /* NULL in unit tests */
    struct bus *mmio_bus, *pio_bus;
    struct devmgr_alloc alloc;
    struct devmgr_dev devs[DEVMGR_MAX_DEVS];
    int ndevs;
    bool quiesced;
    /* The PCI host bridge, set up with the first PCI device: ECAM and the
     * two BAR windows on the MMIO bus (BAR accesses are dispatched to
     * whichever device's BAR decodes the address), 0xCF8/0xCFC on the PIO
     * bus where the board has them. */
    bool pci_ready;
    struct pci_host pci;
    struct pci_cfg host_bridge;     /* 00:00.0 */
    struct pci_window { struct devmgr *dm; uint64_t base; } windows[2];  /* 32-, 64-bit */
};

void devmgr_init(struct devmgr *dm, struct hv_vm *hv, struct bus *mmio_bus, struct bus *pio_bus,
                 const struct devmgr_board *board);
/* Put d on a transport of the given kind with resources from the pools.
 * On failure the device is destroyed and err says why. 0 or -errno. */
int devmgr_attach_virtio(struct devmgr *dm, struct virtio_dev *d, enum devmgr_transport kind,
                         char *err, size_t errlen);
/* What the board renders into its firmware tables. */
void devmgr_describe(const struct devmgr *dm, struct devmgr_desc *out);
/* After the last attach: with PCI devices, register the host bridge
 * (ECAM, BAR windows, the legacy config ports) on the buses; and the
 * board's reset control port (x86 0xCF9), alone or, with PCI, inside the
 * legacy config ports. 0 or -errno with err set. */
int devmgr_finish(struct devmgr *dm, char *err, size_t errlen);
/* Pause/resume every device's workers (ops->quiesce/resume), in attach
 * order / reverse. Idempotent. */
void devmgr_quiesce(struct devmgr *dm);
void devmgr_resume(struct devmgr *dm);
/* Reset and free every device and transport, last attached first. */
/* Debug: one line per ready queue of every device (ring indices, the
 * driver's view, the interrupt's state) to fd. Any thread; a snapshot. */
void devmgr_dump(struct devmgr *dm, int fd);
void devmgr_destroy(struct devmgr *dm);
#endif
