/* PCI host bridge, config-access side: bus 0 with up to 32 single-function
 * devices, reached through ECAM (PCIe 4.0, 7.2.2) and the legacy
 * configuration mechanism #1 (PCI 3.0, 3.2.2.3.2: ports 0xCF8, 0xCFC).
 *
 * ECAM offset = bus << 20 | device << 15 | function << 12 | register.
 * Mechanism #1: a 4-byte write to 0xCF8 latches the address (enable bit
 * 31, bus 23:16, device 15:11, function 10:8, register 7:2; the reserved
 * bits 30:24 and 1:0 read as zero); a 4-byte read returns it. Other
 * accesses to 0xCF8-0xCFB are not the host's (0xCF9 is the reset control
 * register): they go to the optional `cf8_other` handler, or read
 * all-ones. 1-, 2- and 4-byte accesses to 0xCFC-0xCFF reach the latched
 * dword's bytes at that port's offset, when the enable bit is set.
 *
 * Anything but bus 0, function 0 of a present slot reads all-ones and
 * ignores writes; so do accesses the config space refuses (misaligned,
 * see pci/cfg.h).
 *
 * Locking: h->lock serialises every config access (vCPU threads); the
 * pci_cfg callbacks (BAR changes, capability hooks such as MSI-X's) run
 * with it held, so they must not make config accesses through the host.
 * cf8_other runs without it. Devices are added before the vCPUs start. */
#ifndef ARCVMM_PCI_HOST_H
#define ARCVMM_PCI_HOST_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "bus/bus.h"
#include "pci/cfg.h"

#define PCI_HOST_SLOTS 32
#define PCI_CF8_ENABLE 0x80000000u

struct pci_host {
    pthread_mutex_t lock;
    struct pci_cfg *slot[PCI_HOST_SLOTS];   /* bus 0, function 0 */
    uint32_t cf8;                           /* latched mechanism #1 address */
    bus_io_fn cf8_other;                    /* non-dword 0xCF8-0xCFB, or NULL */
    void *cf8_other_opaque;
};

/* An empty bus. 0 or -errno (mutex init). */
int pci_host_init(struct pci_host *h);
void pci_host_destroy(struct pci_host *h);
/* Put cfg in slot. 0, -EINVAL (slot >= 32), -EBUSY (taken). */
int pci_host_add(struct pci_host *h, unsigned slot, struct pci_cfg *cfg);

/* bus_io_fn handlers (opaque = h): the ECAM window (any size; only bus 0
 * decodes), ports 0xCF8-0xCFB and 0xCFC-0xCFF (register each range with
 * length 4; offset is relative to its base). */
void pci_host_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_host_cf8_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
void pci_host_cfc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
#endif
