#include "vm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "vm/vm.h"

int vm_add_virtio(struct vm *vm, struct virtio_dev *d, char *err, size_t errlen)
{
    uint64_t base;
    uint32_t gsi;
    int r = -ENOSPC;
    struct virtio_mmio *t = NULL;
    if (vm->nvirtio >= VM_MAX_VIRTIO || arch_virtio_slot(vm->nvirtio, &base, &gsi) < 0) {
        snprintf(err, errlen, "%s: no free virtio-mmio slot (at most %d devices)", d->ops->name,
                 vm->nvirtio);
        goto fail;
    }
    t = calloc(1, sizeof(*t));
    if (!t) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    if ((r = virtio_mmio_init(t, d, vm->hv, base, gsi)) < 0) {
        snprintf(err, errlen, "%s: virtio-mmio transport: %s", d->ops->name, strerror(-r));
        goto fail_transport;
    }
    if ((r = bus_register(&vm->mmio, base, VIRTIO_MMIO_SIZE, virtio_mmio_io, t, d->ops->name)) < 0) {
        snprintf(err, errlen, "%s: MMIO window 0x%llx: %s", d->ops->name,
                 (unsigned long long)base, strerror(-r));
        goto fail_transport;
    }
    vm->virtio[vm->nvirtio++] = t;
    return 0;
fail_transport:
    virtio_mmio_destroy(t);     /* destroys the device too */
    free(t);
    return r;
fail:
    free(t);
    if (d->ops->destroy)
        d->ops->destroy(d);
    return r;
}

int vm_create_devices(struct vm *vm, char *err, size_t errlen)
{
    for (int i = 0; i < vm->cfg.ndisks; i++) {
        const struct arcvmm_disk *disk = &vm->cfg.disks[i];
        struct virtio_blk_cfg bc = {
            .path = disk->path, .readonly = disk->readonly != 0, .serial = disk->serial,
            .num_queues = (unsigned)vm->cfg.cpus,
        };
        struct virtio_dev *d;
        int r = virtio_blk_create(&bc, &vm->mem, &d, err, errlen);
        if (r < 0)
            return r;
        if ((r = vm_add_virtio(vm, d, err, errlen)) < 0)
            return r;
    }
    return 0;
}

void vm_destroy_devices(struct vm *vm)
{
    for (int i = vm->nvirtio - 1; i >= 0; i--) {
        virtio_mmio_destroy(vm->virtio[i]);
        free(vm->virtio[i]);
        vm->virtio[i] = NULL;
    }
    vm->nvirtio = 0;
}
