#include "vm/devices.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "devmgr/devmgr.h"
#include "backend/slirp.h"
#include "backend/tap.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/vsock.h"
#include "vm/vm.h"

bool vm_cfg_has_virtio(const struct arcvmm_config *cfg)
{
    return cfg->ndisks > 0 || cfg->nnets > 0 || cfg->vsock.guest_cid != 0;
}

void arcvmm_net_default_mac(const char *tap, int index, uint8_t mac[6])
{
    uint32_t h = 2166136261u;
    for (const char *p = tap ? tap : ""; *p; p++)
        h = (h ^ (uint8_t)*p) * 16777619u;
    for (int i = 0; i < 4; i++)
        h = (h ^ (uint8_t)(index >> (8 * i))) * 16777619u;
    mac[0] = 0x02;                  /* locally administered, unicast */
    mac[1] = 0xac;
    for (int i = 0; i < 4; i++)
        mac[2 + i] = (uint8_t)(h >> (8 * i));
}

int vm_check_user_net(const struct arcvmm_net *n, const char *user, int i, char *err,
                      size_t errlen)
{
    struct net_slirp_cfg sc;
    char why[256];
    net_slirp_cfg_init(&sc);
    if (n->tap) {
        snprintf(err, errlen, "net %d: both a tap (%s) and user networking given", i, n->tap);
    } else if (net_slirp_parse(user, &sc, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "net %d (user): %s", i, why);
    } else if (n->queues > 1) {
        snprintf(err, errlen, "net %d (user): user networking has one queue pair, not %d", i,
                 n->queues);
    } else if (n->mtu) {
        snprintf(err, errlen, "net %d (user): mtu is for taps (user networking uses 1500)", i);
    } else if (!net_slirp_available()) {
        snprintf(err, errlen, "net %d (user): this arcvmm was built without libslirp: no "
                 "user-mode networking (use a tap)", i);
    } else {
        return 0;
    }
    return -EINVAL;
}

/* NIC i's backend: its tap, or a libslirp stack on the VM's loop. */
static int open_backend(struct vm *vm, int i, struct net_backend **be, char *err, size_t errlen)
{
    const struct arcvmm_net *net = &vm->cfg.nets[i];
    const char *user = vm->cfg.net_user[i];
    if (!user)
        return net_tap_open(net->tap, net->queues > 0 ? (unsigned)net->queues : 1,
                            net->mtu > 0 ? (unsigned)net->mtu : 0, be, err, errlen);
    struct net_slirp_cfg sc;
    char name[16];
    net_slirp_cfg_init(&sc);
    snprintf(name, sizeof(name), "user%d", i);
    if (net_slirp_parse(user, &sc, err, errlen) < 0)
        return -EINVAL;         /* (checked at create: not reached) */
    return net_slirp_open(&sc, vm->loop, name, be, err, errlen);
}

/* The NICs, in the order given (eth0, eth1, ...). */
static int create_nets(struct vm *vm, enum devmgr_transport kind, char *err, size_t errlen)
{
    for (int i = 0; i < vm->cfg.nnets; i++) {
        const struct arcvmm_net *net = &vm->cfg.nets[i];
        unsigned pairs = net->queues > 0 ? (unsigned)net->queues : 1;
        struct net_backend *be;
        int r = open_backend(vm, i, &be, err, errlen);
        if (r < 0)
            return r;
        struct virtio_net_cfg nc = { .backend = be, .pairs = pairs, .mtu = (uint16_t)net->mtu };
        if (net->has_mac)
            memcpy(nc.mac, net->mac, 6);
        else
            arcvmm_net_default_mac(vm->cfg.net_user[i] ? "user" : net->tap, i, nc.mac);
        struct virtio_dev *d;
        if ((r = virtio_net_create(&nc, &vm->mem, &d, err, errlen)) < 0)
            return r;
        if ((r = devmgr_attach_virtio(&vm->devs, d, kind, err, errlen)) < 0)
            return r;
    }
    return 0;
}

/* The vsock device, if asked for (after the NICs). */
static int create_vsock(struct vm *vm, enum devmgr_transport kind, char *err, size_t errlen)
{
    if (!vm->cfg.vsock.guest_cid)
        return 0;
    struct virtio_vsock_cfg vc = { .guest_cid = vm->cfg.vsock.guest_cid,
                                   .uds_path = vm->cfg.vsock.uds_path };
    struct virtio_dev *d;
    int r = virtio_vsock_create(&vc, &vm->mem, &d, err, errlen);
    if (r < 0)
        return r;
    return devmgr_attach_virtio(&vm->devs, d, kind, err, errlen);
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
    /* after the disks: the NICs (see vm/devices.h for the whole order) */
    int r = create_nets(vm, kind, err, errlen);
    if (r < 0 || (r = create_vsock(vm, kind, err, errlen)) < 0)
        return r;
    return devmgr_finish(&vm->devs, err, errlen);
}

void vm_destroy_devices(struct vm *vm)
{
    devmgr_destroy(&vm->devs);
}
