#include "vm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "devmgr/devmgr.h"
#include "virtio/blk.h"
#include "vm/vm.h"

bool vm_cfg_has_virtio(const struct arcvmm_config *cfg)
{
    return cfg->ndisks > 0;
}

int vm_create_devices(struct vm *vm, char *err, size_t errlen)
{
    struct devmgr_board board;
    arch_devmgr_board(vm, &board);
    devmgr_init(&vm->devs, vm->hv, &vm->mmio, &vm->pio, &board);
    enum devmgr_transport kind = vm->cfg.transport == ARCVMM_TRANSPORT_PCI ? DEVMGR_PCI : DEVMGR_MMIO;
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
        if ((r = devmgr_attach_virtio(&vm->devs, d, kind, err, errlen)) < 0)
            return r;
    }
    return devmgr_finish(&vm->devs, err, errlen);
}

void vm_destroy_devices(struct vm *vm)
{
    devmgr_destroy(&vm->devs);
}
