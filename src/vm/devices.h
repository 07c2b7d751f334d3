/* Creates the VM's devices from its config (explicitly, no registration
 * magic) and tears them down. */
#ifndef ARCVMM_DEVICES_H
#define ARCVMM_DEVICES_H
#include <stddef.h>

struct vm;

/* Every virtio device the config asks for: disks (virtio-blk), ... */
int vm_create_devices(struct vm *vm, char *err, size_t errlen);
/* Stop and free every device; safe on a partially created VM. */
void vm_destroy_devices(struct vm *vm);
#endif
