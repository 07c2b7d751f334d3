/* Creates the VM's devices from its config (explicitly, no registration
 * magic), attaches them to the device manager and tears them down.
 *
 * Attach order (it fixes each device's slot, window and interrupt, so it
 * never changes between runs of the same configuration): the disks in
 * the order given (/dev/vda, vdb, ...), then the NICs (virtio-net, one
 * per --net, in the order given: eth0, eth1, ...), then the vsock device
 * (at most one). Devices added later go after them, one kind at a time. */
#ifndef ARCVMM_DEVICES_H
#define ARCVMM_DEVICES_H
#include <stdbool.h>
#include <stddef.h>

#include "arcvmm.h"

struct vm;

/* Does cfg ask for any virtio device (so a board sets up what the
 * transport needs, e.g. arm64's ITS for virtio-pci's MSI-X)? */
bool vm_cfg_has_virtio(const struct arcvmm_config *cfg);

/* User-mode NIC i (n its arcvmm_net, user its options): the options
 * parse, no tap, one queue pair, no mtu, and this build has libslirp. 0
 * or -EINVAL with err set. */
int vm_check_user_net(const struct arcvmm_net *n, const char *user, int i, char *err,
                      size_t errlen);

/* Every virtio device the config asks for: disks (virtio-blk), NICs
 * (virtio-net on a tap or on libslirp), ... */
int vm_create_devices(struct vm *vm, char *err, size_t errlen);
/* Stop and free every device; safe on a partially created VM. */
void vm_destroy_devices(struct vm *vm);
#endif
