#include "devmgr/devmgr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus/bus.h"
#include "virtio/mmio.h"
#include "virtio/virtio.h"

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

void devmgr_describe(const struct devmgr *dm, struct devmgr_desc *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < dm->ndevs; i++) {
        const struct devmgr_dev *e = &dm->devs[i];
        if (e->kind == DEVMGR_MMIO && out->nmmio < DEVMGR_MAX_MMIO)
            out->mmio[out->nmmio++] = (struct devmgr_mmio_window){ .base = e->base,
                                                                   .size = e->size, .gsi = e->gsi };
    }
}

void devmgr_quiesce(struct devmgr *dm)
{
    if (dm->quiesced)
        return;
    for (int i = 0; i < dm->ndevs; i++) {
        struct virtio_dev *d = dm->devs[i].dev;
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
        memset(e, 0, sizeof(*e));
    }
    dm->ndevs = 0;
}
