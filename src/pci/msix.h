/* MSI-X (PCI Local Bus 3.0, 6.8.2): the capability in config space, the
 * vector table and the pending bit array (PBA) in one of the device's
 * BARs at offsets the owner picks.
 *
 * Capability (12 bytes): message control (table size N-1 in bits 10:0,
 * function mask bit 14, enable bit 15; only 14 and 15 are writable),
 * table offset | BIR, PBA offset | BIR. Table entry (16 bytes): message
 * address low (bits 1:0 read as zero), address high, data, vector control
 * (bit 0: mask; the rest reserved, zero). Every vector starts masked.
 *
 * BAR accesses to the table and PBA must be 4 or 8 bytes, naturally
 * aligned; any other access inside them is ignored on write and reads as
 * zero. The PBA is read-only. An 8-byte table access covers two dwords.
 *
 * The owner backs each vector and is told when its effective state
 * changes: ops->vector_changed(v) after a write changed v's address, data
 * or mask bit, and for every vector when enable or function mask flips.
 * Right after those calls, every vector they named that is now
 * effectively unmasked and has its pending bit set gets the bit cleared
 * and ops->deliver(v): the owner sends v's message now.
 *
 * Delivery, two ways (an owner may mix them per vector):
 *  - slow path: the device's "interrupt!" goes through msix_notify(),
 *    which either hands back the message to send now (KVM_SIGNAL_MSI) or,
 *    when the vector is masked, sets its pending bit; deliver() later
 *    sends it. Nothing else to do.
 *  - irqfd: v's eventfd is bound to a KVM MSI route while v is unmasked,
 *    so signals bypass msix. In vector_changed the owner re-reads
 *    msix_vector_masked/msix_vector: masked -> unbind the irqfd (signals
 *    now pile up in the eventfd's counter); unmasked -> update the route,
 *    drain the eventfd and, if it had fired, call msix_set_pending(v)
 *    (from inside vector_changed: deliver(v) follows), then bind it
 *    again. Until drained, such a signal is not in the PBA.
 *
 * Locking: the owner serialises every call on one msix with its own leaf
 * lock (`lock`; NULL when single-threaded): it holds it around
 * msix_bar_io, msix_notify, msix_set_pending and the queries. Config
 * writes arrive through the capability hook msix installs on the pci_cfg,
 * under the PCI host's lock; that hook takes `lock` itself, so the lock
 * order is host lock -> msix lock, and the control word changes only with
 * both held. Callbacks run under `lock` (and, from the hook, the host's
 * lock too); they may call the queries, msix_notify and msix_set_pending,
 * but not msix_bar_io, msix_reset or a config access. */
#ifndef ARCVMM_PCI_MSIX_H
#define ARCVMM_PCI_MSIX_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/cfg.h"

#define MSIX_MAX_VECTORS 128
#define MSIX_CAP_LEN     12
#define MSIX_ENTRY_SIZE  16

/* message control bits */
#define MSIX_CTRL_TABLE_SIZE 0x07ff
#define MSIX_CTRL_FMASK      0x4000
#define MSIX_CTRL_ENABLE     0x8000

struct msix_ops {
    void (*vector_changed)(void *opaque, unsigned v);
    void (*deliver)(void *opaque, unsigned v);
};

struct msix {
    struct pci_cfg *cfg;
    int cap;                        /* capability offset in cfg */
    unsigned nvec;
    uint32_t table_off, pba_off;    /* in the BAR */
    uint32_t table[MSIX_MAX_VECTORS][4];   /* addr lo, addr hi, data, control */
    uint64_t pba[MSIX_MAX_VECTORS / 64];
    const struct msix_ops *ops;
    void *opaque;
    pthread_mutex_t *lock;
};

/* Add the MSI-X capability for nvec vectors (1..MSIX_MAX_VECTORS) to cfg,
 * table at table_off and PBA at pba_off in BAR `bar` (both 8-byte
 * aligned, not overlapping; the BAR must exist and hold them), and hook
 * its control word. ops callbacks may be NULL. Returns 0 or -EINVAL, or
 * pci_cfg_cap_add's -ENOSPC. */
int msix_init(struct msix *m, struct pci_cfg *cfg, unsigned nvec, unsigned bar,
              uint32_t table_off, uint32_t pba_off, const struct msix_ops *ops, void *opaque,
              pthread_mutex_t *lock);
/* A guest access at offset off of the BAR. Returns false (touching
 * nothing) when off is in neither the table nor the PBA. */
bool msix_bar_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Function reset: every vector masked with zero address/data, PBA clear,
 * enable and function mask clear. No callbacks. It writes the control
 * word: call it with the host's lock held too, or while no vCPU runs. */
void msix_reset(struct msix *m);

bool msix_enabled(const struct msix *m);
/* Function mask || vector mask || !enable (true for v >= nvec). */
bool msix_vector_masked(const struct msix *m, unsigned v);
/* Vector v's message. -EINVAL if v >= nvec. */
int msix_vector(const struct msix *m, unsigned v, uint64_t *addr, uint32_t *data);
/* Signal vector v (slow path). Unmasked: true with its message in
 * *addr and *data, to send now. Masked: sets v's pending bit, false. False
 * and nothing else for v >= nvec. */
bool msix_notify(struct msix *m, unsigned v, uint64_t *addr, uint32_t *data);
/* Record that v was to be signalled while masked (ignored if v >= nvec);
 * the bit is delivered when v becomes unmasked. Call it while
 * msix_vector_masked(m, v) or from vector_changed(v): on an unmasked
 * vector outside that callback the bit waits for v's next change. */
void msix_set_pending(struct msix *m, unsigned v);
bool msix_pending(const struct msix *m, unsigned v);
#endif
