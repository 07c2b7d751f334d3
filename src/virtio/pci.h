/* virtio-pci transport, modern (virtio 1.2 section 4.1), for non-transitional
 * devices: PCI device ID 0x1040 + the virtio device type, revision 1.
 *
 * One 64-bit prefetchable memory BAR (BAR 0) holds everything, each part
 * in its own 4 KiB page:
 *
 *   0x0000  common configuration (struct virtio_pci_common_cfg)
 *   0x1000  ISR status (1 byte, read to clear; INTx only)
 *   0x2000  device-specific configuration
 *   0x3000  queue notify: queue q at 0x3000 + 4 q (a KVM ioeventfd each,
 *           so a notify costs no exit)
 *   0x4000  MSI-X table (one vector per queue plus one for config)
 *   0x5000  MSI-X pending bit array
 *
 * On x86 the notify registers move to an I/O BAR (BAR 2, queue q at port
 * + 2 q; virtio_pci_use_io_notify): a port write exits to KVM with its
 * port and value decoded, where an MMIO write has to be decoded by KVM's
 * instruction emulator first (on AMD always, nested everywhere).
 *
 * Interrupts: with MSI-X enabled, vector v is a KVM irqfd on GSI
 * msi_first + v, whose MSI route follows the guest's table entry; a queue
 * interrupt costs no exit at all (no ISR read, no ack). A masked vector
 * records its interrupt in the PBA and delivers it on unmask. Without
 * MSI-X the device raises its INTx line (level) and the ISR read lowers it.
 *
 * Locks: t->lock (register state, vCPU threads; ops->reset runs under it)
 * and t->irq_lock, a leaf lock for interrupt delivery (ISR, INTx level,
 * MSI-X table and masks), taken by device workers and, under t->lock or
 * alone, by vCPU threads. Workers never take t->lock, so a reset that
 * joins them cannot deadlock. */
#ifndef ARCVMM_VIRTIO_PCI_H
#define ARCVMM_VIRTIO_PCI_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/cfg.h"
#include "pci/msix.h"
#include "virtio/core.h"
#include "virtio/virtio.h"

#define VIRTIO_PCI_VENDOR        0x1af4
#define VIRTIO_PCI_DEVICE_BASE   0x1040
#define VIRTIO_PCI_BAR_SIZE      0x8000
#define VIRTIO_PCI_MAX_VECTORS   (VIRTIO_MAX_QUEUES + 1)

/* BAR 0 layout */
enum {
    VPCI_COMMON = 0x0000, VPCI_ISR = 0x1000, VPCI_DEVICE = 0x2000, VPCI_NOTIFY = 0x3000,
    VPCI_MSIX_TABLE = 0x4000, VPCI_MSIX_PBA = 0x5000, VPCI_REGION = 0x1000,
};
#define VPCI_NOTIFY_MULT 4
#define VPCI_IO_BAR      2      /* the I/O BAR of the notify registers */
#define VPCI_IO_NOTIFY_MULT 2

/* struct virtio_pci_common_cfg offsets */
enum {
    VPCI_DFSELECT = 0, VPCI_DF = 4, VPCI_GFSELECT = 8, VPCI_GF = 12, VPCI_MSIX_CONFIG = 16,
    VPCI_NUM_QUEUES = 18, VPCI_STATUS = 20, VPCI_CFG_GENERATION = 21, VPCI_Q_SELECT = 22,
    VPCI_Q_SIZE = 24, VPCI_Q_MSIX = 26, VPCI_Q_ENABLE = 28, VPCI_Q_NOFF = 30,
    VPCI_Q_DESC = 32, VPCI_Q_AVAIL = 40, VPCI_Q_USED = 48, VPCI_Q_NDATA = 56,
    VPCI_Q_RESET = 58, VPCI_COMMON_LEN = 60,
};

struct hv_vm;

struct virtio_pci {
    struct virtio_dev *dev;
    struct hv_vm *hv;               /* NULL: no KVM (tests) */
    uint8_t slot;                   /* bus 0, function 0 */
    uint32_t intx_gsi;
    uint32_t msi_first;             /* GSI of vector 0 */
    unsigned nvec;                  /* num_queues + 1 */
    struct pci_cfg cfg;             /* config space (under the host's lock) */
    int pci_cfg_cap;                /* offset of the VIRTIO_PCI_CAP_PCI_CFG window */
    int notify_cap;                 /* offset of the notify capability */

    pthread_mutex_t lock;           /* register state below */
    struct virtio_core core;
    uint32_t dfselect, gfselect;
    uint16_t queue_sel;
    uint16_t config_vector;
    atomic_uint config_generation;

    pthread_mutex_t irq_lock;       /* leaf: interrupt state below */
    struct msix msix;
    uint8_t isr;
    bool intx_level;
    int irq_fd[VIRTIO_PCI_MAX_VECTORS];    /* eventfd: irqfd on msi_first + v */
    bool irqfd_assigned[VIRTIO_PCI_MAX_VECTORS];
    bool routed[VIRTIO_PCI_MAX_VECTORS];   /* an MSI route is installed */

    uint64_t bar_addr;              /* where BAR 0 decodes now, 0: nowhere */
    uint32_t io_size;               /* the notify I/O BAR's size, 0: none (notify in BAR 0) */
    uint64_t io_addr;               /* where it decodes now, 0: nowhere */
    uint64_t notify_addr;           /* where the notify ioeventfds are, 0: none */
};

/* Put dev on a virtio-pci function in `slot` with its BAR placed at
 * bar_addr (firmware-style; the guest may move it), INTx on intx_gsi and
 * MSI-X vectors on GSIs from msi_first (num_queues + 1 of them). With hv,
 * registers irqfds and, once the BAR decodes, the notify ioeventfds.
 * The caller adds &t->cfg to the PCI host and dispatches BAR accesses to
 * virtio_pci_bar_io. 0 or -errno. */
int virtio_pci_init(struct virtio_pci *t, struct virtio_dev *dev, struct hv_vm *hv, uint8_t slot,
                    uint64_t bar_addr, uint32_t intx_gsi, uint32_t msi_first);
/* Move the notify registers to an I/O BAR preassigned at port io_addr
 * (its size: virtio_pci_io_bar_size), before the guest runs. 0 or -errno. */
int virtio_pci_use_io_notify(struct virtio_pci *t, uint64_t io_addr);
uint32_t virtio_pci_io_bar_size(const struct virtio_dev *d);
/* An access at offset off of the notify I/O BAR (bus_io_fn signature). */
void virtio_pci_io_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* An access at offset off of BAR 0 (bus_io_fn signature; opaque = t). */
void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* For a debug dump: queue q's MSI-X vector and its state (masked,
 * pending, routed) or the INTx state when MSI-X is off. */
void virtio_pci_describe_irq(struct virtio_pci *t, unsigned q, char *buf, size_t len);
/* Reset and destroy the device, release irqfds, ioeventfds, routes. */
void virtio_pci_destroy(struct virtio_pci *t);
#endif
