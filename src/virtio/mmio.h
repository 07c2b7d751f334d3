/* virtio-mmio transport, version 2 register layout (virtio 1.2 section
 * 4.2.2). One 4 KiB window per device. QUEUE_NOTIFY writes go to a KVM
 * ioeventfd per queue (no exit to userspace); interrupts go out through an
 * irqfd on the device's GSI. Without a hypervisor (hv == NULL, unit tests)
 * the same eventfds are used: a QUEUE_NOTIFY write signals the queue's
 * eventfd from the vCPU thread, and irq_fd can be read by the test.
 *
 * What the guest reads is kept in a page (t->page), the window's image:
 * registers and config space, republished after every write the guest
 * makes and updated in place for InterruptStatus, Status and
 * ConfigGeneration. Where the hypervisor can (hv_map_readonly: x86), that
 * page backs the window read-only, so reads cost no exit at all -- the
 * interrupt handler's InterruptStatus read above all -- while writes still
 * exit (or hit an ioeventfd). Elsewhere reads exit and are answered from
 * the same page. */
#ifndef ARCVMM_VIRTIO_MMIO_H
#define ARCVMM_VIRTIO_MMIO_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/core.h"
#include "virtio/virtio.h"

#define VIRTIO_MMIO_SIZE        0x1000
/* How long a driver's reset write waits for the device's workers before
 * the reset goes on in the background (see write_status in mmio.c). */
#define VIRTIO_MMIO_RESET_WAIT_NS (500 * 1000000ull)
#define VIRTIO_MMIO_MAGIC       0x74726976  /* "virt" */
#define VIRTIO_MMIO_VENDOR      0x56435241  /* "ARCV" */

/* Register offsets */
enum {
    VMMIO_MAGIC = 0x000, VMMIO_VERSION = 0x004, VMMIO_DEVICE_ID = 0x008,
    VMMIO_VENDOR_ID = 0x00c, VMMIO_DEVICE_FEATURES = 0x010,
    VMMIO_DEVICE_FEATURES_SEL = 0x014, VMMIO_DRIVER_FEATURES = 0x020,
    VMMIO_DRIVER_FEATURES_SEL = 0x024, VMMIO_QUEUE_SEL = 0x030,
    VMMIO_QUEUE_NUM_MAX = 0x034, VMMIO_QUEUE_NUM = 0x038,
    VMMIO_QUEUE_READY = 0x044, VMMIO_QUEUE_NOTIFY = 0x050,
    VMMIO_INTERRUPT_STATUS = 0x060, VMMIO_INTERRUPT_ACK = 0x064,
    VMMIO_STATUS = 0x070, VMMIO_QUEUE_DESC_LOW = 0x080,
    VMMIO_QUEUE_DESC_HIGH = 0x084, VMMIO_QUEUE_DRIVER_LOW = 0x090,
    VMMIO_QUEUE_DRIVER_HIGH = 0x094, VMMIO_QUEUE_DEVICE_LOW = 0x0a0,
    VMMIO_QUEUE_DEVICE_HIGH = 0x0a4, VMMIO_SHM_SEL = 0x0ac,
    VMMIO_SHM_LEN_LOW = 0x0b0, VMMIO_SHM_LEN_HIGH = 0x0b4,
    VMMIO_SHM_BASE_LOW = 0x0b8, VMMIO_SHM_BASE_HIGH = 0x0bc,
    VMMIO_QUEUE_RESET = 0x0c0, VMMIO_CONFIG_GENERATION = 0x0fc,
    VMMIO_CONFIG = 0x100,
};

struct hv_vm;

struct virtio_mmio {
    struct virtio_dev *dev;
    struct hv_vm *hv;               /* NULL: no KVM (tests) */
    uint64_t base;
    uint32_t gsi;
    pthread_mutex_t lock;           /* register state below */
    struct virtio_core core;        /* status, features, queue configuration */
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    /* The guest's view of the window (VIRTIO_MMIO_SIZE bytes, page-aligned).
     * InterruptStatus and ConfigGeneration live only here (atomics). */
    uint8_t *page;
    int ro_handle;                  /* hv_map_readonly of page, or -1: reads exit */
    int irq_fd;                     /* eventfd: irqfd on gsi */
    bool irqfd_assigned;
    bool ioeventfds_assigned;
};

/* Attach dev to a transport at [base, base + VIRTIO_MMIO_SIZE) with
 * interrupt gsi: creates the notify/irq eventfds and, with hv, the
 * ioeventfds and irqfd. The caller registers virtio_mmio_io on the MMIO
 * bus. 0 or -errno. */
int virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *dev, struct hv_vm *hv,
                     uint64_t base, uint32_t gsi);
/* Do guest reads of the window go straight to memory (no exit)? */
bool virtio_mmio_reads_direct(const struct virtio_mmio *t);
/* From now on guest reads of the window exit (tests compare both ways). */
void virtio_mmio_trap_reads(struct virtio_mmio *t);
/* bus_io_fn for the window; opaque is the struct virtio_mmio. */
void virtio_mmio_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Reset and destroy the device, release the eventfds. */
void virtio_mmio_destroy(struct virtio_mmio *t);
#endif
