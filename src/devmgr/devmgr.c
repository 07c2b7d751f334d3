#include "devmgr/devmgr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"
#include "virtio/virtio.h"

#define PCI_PORT_CF8 0xcf8
#define PCI_PORT_CFC 0xcfc
#define RESET_PORT_CF9 0xcf9

void devmgr_init(struct devmgr *dm, struct hv_vm *hv, struct bus *mmio_bus, struct bus *pio_bus,
                 const struct devmgr_board *board)
{
    memset(dm, 0, sizeof(*dm));
    dm->hv = hv;
    dm->mmio_bus = mmio_bus;
    dm->pio_bus = pio_bus;
    alloc_init(&dm->alloc, board);
}

static void destroy_dev(struct virtio_dev *d)
{
    if (d->ops->destroy)
        d->ops->destroy(d);
}

static int attach_mmio(struct devmgr *dm, struct devmgr_dev *e, char *err, size_t errlen)
{
    struct virtio_dev *d = e->dev;
    int r;
    if (alloc_mmio_window(&dm->alloc, &e->base) < 0 || alloc_line(&dm->alloc, &e->gsi) < 0) {
        snprintf(err, errlen, "%s: no free virtio-mmio slot (at most %d devices)", d->ops->name,
                 dm->ndevs);
        destroy_dev(d);
        return -ENOSPC;
    }
    e->size = VIRTIO_MMIO_SIZE;
    struct virtio_mmio *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        destroy_dev(d);
        return -ENOMEM;
    }
    if ((r = virtio_mmio_init(t, d, dm->hv, e->base, e->gsi)) < 0) {
        snprintf(err, errlen, "%s: virtio-mmio transport: %s", d->ops->name, strerror(-r));
        goto fail;
    }
    if ((r = bus_register(dm->mmio_bus, e->base, VIRTIO_MMIO_SIZE, virtio_mmio_io, t,
                          d->ops->name)) < 0) {
        snprintf(err, errlen, "%s: MMIO window 0x%llx: %s", d->ops->name,
                 (unsigned long long)e->base, strerror(-r));
        goto fail;
    }
    e->mmio = t;
    return 0;
fail:
    virtio_mmio_destroy(t);     /* destroys the device too */
    free(t);
    return r;
}

static int attach_pci(struct devmgr *dm, struct devmgr_dev *e, char *err, size_t errlen)
{
    struct virtio_dev *d = e->dev;
    const char *why = NULL;
    int r;
    if (!dm->pci_ready) {
        /* The host bridge function at 00:00.0: an OS probing the legacy
         * config ports (Linux's pci_sanity_check) looks for one. The ids
         * are the ones Cloud Hypervisor gives its root bridge. */
        static const struct pci_cfg_ids bridge = {
            .vendor = 0x8086, .device = 0x0d57, .class_code = 0x060000,
        };
        if ((r = pci_host_init(&dm->pci)) < 0 ||
            (r = pci_cfg_init(&dm->host_bridge, &bridge, NULL, NULL)) < 0 ||
            (r = pci_host_add(&dm->pci, 0, &dm->host_bridge)) < 0) {
            snprintf(err, errlen, "PCI host bridge: %s", strerror(-r));
            destroy_dev(d);
            return r;
        }
        dm->pci_ready = true;
    }
    e->nmsi = d->num_queues + 1u;
    if (alloc_pci_slot(&dm->alloc, &e->slot) < 0)
        why = "no free PCI slot";
    else if (alloc_bar(&dm->alloc, VIRTIO_PCI_BAR_SIZE, 1, &e->base) < 0)
        why = "no room for its BAR in the 64-bit PCI window";
    else if (alloc_intx(&dm->alloc, &e->gsi) < 0)
        why = "no interrupt line for INTx";
    else if (alloc_msi(&dm->alloc, e->nmsi, &e->msi_first) < 0)
        why = "no free GSIs for its MSI-X vectors";
    if (why) {
        snprintf(err, errlen, "%s: %s", d->ops->name, why);
        destroy_dev(d);
        return -ENOSPC;
    }
    e->size = VIRTIO_PCI_BAR_SIZE;
    struct virtio_pci *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "out of memory");
        destroy_dev(d);
        return -ENOMEM;
    }
    if ((r = virtio_pci_init(t, d, dm->hv, e->slot, e->base, e->gsi, e->msi_first)) < 0) {
        snprintf(err, errlen, "%s: virtio-pci transport: %s", d->ops->name, strerror(-r));
        goto fail;
    }
    uint64_t io;
    if (dm->alloc.board.pio_size &&
        alloc_pio_bar(&dm->alloc, virtio_pci_io_bar_size(d), &io) == 0 &&
        (r = virtio_pci_use_io_notify(t, io)) < 0) {
        snprintf(err, errlen, "%s: notify I/O BAR: %s", d->ops->name, strerror(-r));
        goto fail;
    }
    if ((r = pci_host_add(&dm->pci, e->slot, &t->cfg)) < 0) {
        snprintf(err, errlen, "%s: PCI slot %u: %s", d->ops->name, e->slot, strerror(-r));
        goto fail;
    }
    e->pci = t;
    return 0;
fail:
    virtio_pci_destroy(t);      /* destroys the device too */
    free(t);
    return r;
}

int devmgr_attach_virtio(struct devmgr *dm, struct virtio_dev *d, enum devmgr_transport kind,
                         char *err, size_t errlen)
{
    if (dm->ndevs >= DEVMGR_MAX_DEVS) {
        snprintf(err, errlen, "%s: too many devices (at most %d)", d->ops->name, DEVMGR_MAX_DEVS);
        destroy_dev(d);
        return -ENOSPC;
    }
    struct devmgr_dev *e = &dm->devs[dm->ndevs];
    memset(e, 0, sizeof(*e));
    e->dev = d;
    e->kind = kind;
    int r;
    switch (kind) {
    case DEVMGR_MMIO:
        r = attach_mmio(dm, e, err, errlen);
        break;
    case DEVMGR_PCI:
        r = attach_pci(dm, e, err, errlen);
        break;
    default:
        snprintf(err, errlen, "%s: transport not supported", d->ops->name);
        destroy_dev(d);
        r = -ENOTSUP;
        break;
    }
    if (r == 0)
        dm->ndevs++;
    return r;
}

/* An access to a PCI BAR window: the device whose BAR 0 decodes the
 * address gets it (BARs move only when the guest reprograms them, so a
 * lookup needs no lock: bar_addr is read atomically). */
static void pci_window_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    const struct pci_window *w = opaque;
    uint64_t addr = w->base + off;
    for (int i = 0; i < w->dm->ndevs; i++) {
        struct virtio_pci *t = w->dm->devs[i].pci;
        if (!t)
            continue;
        uint64_t bar = __atomic_load_n(&t->bar_addr, __ATOMIC_ACQUIRE);
        if (bar && addr >= bar && addr - bar < VIRTIO_PCI_BAR_SIZE &&
            len <= VIRTIO_PCI_BAR_SIZE - (addr - bar)) {
            virtio_pci_bar_io(t, addr - bar, data, len, is_write);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, len);    /* nothing decodes here: an unclaimed read */
}

/* An access to the port window of I/O BARs: the device whose notify BAR
 * decodes the port gets it. */
static void pci_pio_window_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len,
                              bool is_write)
{
    struct devmgr *dm = opaque;
    uint64_t port = dm->alloc.board.pio_base + off;
    for (int i = 0; i < dm->ndevs; i++) {
        struct virtio_pci *t = dm->devs[i].pci;
        if (!t || !t->io_size)
            continue;
        uint64_t io = __atomic_load_n(&t->io_addr, __ATOMIC_ACQUIRE);
        if (io && port >= io && port - io < t->io_size && len <= t->io_size - (port - io)) {
            virtio_pci_io_bar_io(t, port - io, data, len, is_write);
            return;
        }
    }
    if (!is_write)
        memset(data, 0xff, len);
}

/* The reset control register inside the legacy config ports: only a
 * byte access to 0xCF9 is the board's. */
static void cf8_other_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct devmgr *dm = opaque;
    if (off == RESET_PORT_CF9 - PCI_PORT_CF8 && len == 1 && dm->alloc.board.cf9_io)
        dm->alloc.board.cf9_io(dm->alloc.board.cf9_opaque, 0, data, len, is_write);
    else if (!is_write)
        memset(data, 0xff, len);
}

int devmgr_finish(struct devmgr *dm, char *err, size_t errlen)
{
    const struct devmgr_board *b = &dm->alloc.board;
    int r = 0;
    if (!dm->pci_ready || !b->pci_cf8) {
        if (b->cf9_io && (r = bus_register(dm->pio_bus, RESET_PORT_CF9, 1, b->cf9_io,
                                           b->cf9_opaque, "reset-cf9")) < 0)
            snprintf(err, errlen, "reset control port: %s", strerror(-r));
        if (r < 0 || !dm->pci_ready)
            return r;
    }
    for (int i = 0; i < 2; i++)
        dm->windows[i] = (struct pci_window){ .dm = dm,
                                              .base = i ? b->mmio64_base : b->mmio32_base };
    if ((r = bus_register(dm->mmio_bus, b->ecam_base, b->ecam_size, pci_host_ecam_io, &dm->pci,
                          "pci-ecam")) < 0 ||
        (b->mmio32_size && (r = bus_register(dm->mmio_bus, b->mmio32_base, b->mmio32_size,
                                             pci_window_io, &dm->windows[0], "pci-mmio32")) < 0) ||
        (b->mmio64_size && (r = bus_register(dm->mmio_bus, b->mmio64_base, b->mmio64_size,
                                             pci_window_io, &dm->windows[1], "pci-mmio64")) < 0) ||
        (b->pio_size && (r = bus_register(dm->pio_bus, b->pio_base, b->pio_size,
                                          pci_pio_window_io, dm, "pci-io")) < 0)) {
        snprintf(err, errlen, "PCI host bridge windows: %s", strerror(-r));
        return r;
    }
    if (b->pci_cf8) {
        dm->pci.cf8_other = cf8_other_io;
        dm->pci.cf8_other_opaque = dm;
        if ((r = bus_register(dm->pio_bus, PCI_PORT_CF8, 4, pci_host_cf8_io, &dm->pci,
                              "pci-cf8")) < 0 ||
            (r = bus_register(dm->pio_bus, PCI_PORT_CFC, 4, pci_host_cfc_io, &dm->pci,
                              "pci-cfc")) < 0) {
            snprintf(err, errlen, "PCI config ports: %s", strerror(-r));
            return r;
        }
    }
    return 0;
}

void devmgr_describe(const struct devmgr *dm, struct devmgr_desc *out)
{
    const struct devmgr_board *b = &dm->alloc.board;
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < dm->ndevs; i++) {
        const struct devmgr_dev *e = &dm->devs[i];
        if (e->kind == DEVMGR_MMIO && out->nmmio < DEVMGR_MAX_MMIO)
            out->mmio[out->nmmio++] = (struct devmgr_mmio_window){ .base = e->base,
                                                                   .size = e->size, .gsi = e->gsi };
        if (e->kind == DEVMGR_PCI && out->pci.nintx < DEVMGR_PCI_SLOTS)
            out->pci.intx[out->pci.nintx++] = (struct devmgr_pci_intx){ .slot = e->slot,
                                                                        .gsi = e->gsi };
    }
    if (dm->pci_ready) {
        struct devmgr_pci_host *p = &out->pci;
        p->present = true;
        p->ecam_base = b->ecam_base;
        p->ecam_size = b->ecam_size;
        p->bus_start = 0;
        p->bus_end = 0;
        p->mmio32_base = b->mmio32_base;
        p->mmio32_size = b->mmio32_size;
        p->mmio64_base = b->mmio64_base;
        p->mmio64_size = b->mmio64_size;
        p->pio_base = b->pio_base;
        p->pio_size = b->pio_size;
    }
}

void devmgr_quiesce(struct devmgr *dm)
{
    if (dm->quiesced)
        return;
    for (int i = 0; i < dm->ndevs; i++) {
        struct devmgr_dev *e = &dm->devs[i];
        struct virtio_dev *d = e->dev;
        /* A driver reset still stopping the device's workers in the
         * background finishes first (the vCPUs are parked: none starts). */
        if (e->kind == DEVMGR_MMIO && e->mmio)
            virtio_core_wait_reset(&e->mmio->core);
        if (e->kind == DEVMGR_PCI && e->pci)
            virtio_core_wait_reset(&e->pci->core);
        if (d->ops->quiesce)
            d->ops->quiesce(d);
    }
    dm->quiesced = true;
}

void devmgr_resume(struct devmgr *dm)
{
    if (!dm->quiesced)
        return;
    for (int i = dm->ndevs - 1; i >= 0; i--) {
        struct virtio_dev *d = dm->devs[i].dev;
        if (d->ops->resume)
            d->ops->resume(d);
    }
    dm->quiesced = false;
}

void devmgr_destroy(struct devmgr *dm)
{
    for (int i = dm->ndevs - 1; i >= 0; i--) {
        struct devmgr_dev *e = &dm->devs[i];
        if (e->kind == DEVMGR_MMIO && e->mmio) {
            virtio_mmio_destroy(e->mmio);   /* destroys the device too */
            free(e->mmio);
        }
        if (e->kind == DEVMGR_PCI && e->pci) {
            virtio_pci_destroy(e->pci);     /* destroys the device too */
            free(e->pci);
        }
        memset(e, 0, sizeof(*e));
    }
    dm->ndevs = 0;
    if (dm->pci_ready)
        pci_host_destroy(&dm->pci);
    dm->pci_ready = false;
}

void devmgr_dump(struct devmgr *dm, int fd)
{
    for (int i = 0; i < dm->ndevs; i++) {
        struct devmgr_dev *e = &dm->devs[i];
        struct virtio_dev *d = e->dev;
        for (unsigned q = 0; q < d->num_queues; q++) {
            if (!d->vq_ready[q])
                continue;
            char ring[256], irq[96] = "";
            virtq_describe(&d->vqs[q], ring, sizeof(ring));
            if (e->kind == DEVMGR_PCI)
                virtio_pci_describe_irq(e->pci, q, irq, sizeof(irq));
            dprintf(fd, "arcvmm: dev %d %s %s q%u: %s%s%s\n", i, d->ops->name,
                    e->kind == DEVMGR_PCI ? "pci" : "mmio", q, ring, *irq ? " | irq: " : "", irq);
        }
    }
}
