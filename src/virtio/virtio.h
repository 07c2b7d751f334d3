/* virtio device model: what a device (blk, net, ...) provides, and what a
 * transport (virtio-mmio, virtio-pci) gives it. A device fills a struct
 * virtio_dev_ops; the transport owns feature negotiation, queue
 * configuration, status, interrupts and the per-queue notify eventfds
 * (virtio/core.c holds the part both transports share). A device never
 * names its transport: it is handed d->vqs, d->notify_fd and the three
 * calls at the bottom of this file, which go through d->xport.
 *
 * State boundary (for save/restore): device state is what the guest can
 * observe and a snapshot must carry -- the negotiated features, each
 * queue's configuration and indexes (struct virtq without its host views),
 * the device's own config space and whatever a device keeps in its
 * private state for it. Host handles -- eventfds, worker threads, io_uring
 * rings, the image's fd, the transport's KVM registrations -- are never
 * device state: they are recreated from the configuration on restore.
 *
 * Threads: register accesses run on vCPU threads under the transport's
 * lock; a device processes its queues on its own worker thread(s), woken by
 * the queue's notify eventfd (a KVM ioeventfd, so a notify costs no exit to
 * userspace). */
#ifndef ARCVMM_VIRTIO_H
#define ARCVMM_VIRTIO_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/transport.h"
#include "virtio/virtq.h"
#include "mem/mem.h"

/* Device status bits */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED             128

/* Transport/ring feature bits (device-type bits are in each device) */
#define VIRTIO_F_INDIRECT_DESC  28
#define VIRTIO_F_EVENT_IDX      29
#define VIRTIO_F_VERSION_1      32
#define VIRTIO_F_ACCESS_PLATFORM 33

/* Interrupt status bits */
#define VIRTIO_ISR_QUEUE   1
#define VIRTIO_ISR_CONFIG  2

#define VIRTIO_MAX_QUEUES  64

struct virtio_dev;

struct virtio_dev_ops {
    const char *name;                /* for log lines: "virtio-blk" */
    uint32_t device_id;              /* VIRTIO_ID_* (blk 2, net 1, console 3, rng 4, ...) */
    /* Config space reads/writes (offset, len already bounds-checked against
     * config_size). Called on a vCPU thread with the transport lock held. */
    void (*config_read)(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len);
    void (*config_write)(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len);
    /* DRIVER_OK was set: every queue the driver enabled is in d->vqs (ready
     * ones have vq_ready[i]). Start processing; return 0 or -errno (the
     * transport then sets DEVICE_NEEDS_RESET). */
    int (*activate)(struct virtio_dev *d);
    /* The driver reset the device (or the VM is being torn down): stop
     * processing and return only when no worker touches the queues or
     * guest memory any more. In-flight requests are dropped. */
    void (*reset)(struct virtio_dev *d);
    /* Free the device (after reset). */
    void (*destroy)(struct virtio_dev *d);
    /* Pause (optional for a device without workers): stop touching guest
     * memory and the queues and return only when no worker does; requests
     * in flight complete first (their data and used entries are written
     * before quiesce returns), nothing new is taken from the rings. Called
     * with the vCPUs parked, never on a vCPU thread. */
    void (*quiesce)(struct virtio_dev *d);
    /* Undo quiesce: go on where the device stopped. */
    void (*resume)(struct virtio_dev *d);
};

struct virtio_dev {
    const struct virtio_dev_ops *ops;
    void *priv;                      /* device-private state */
    const struct guest_mem *mem;
    /* fixed at creation by the device */
    uint64_t device_features;        /* offered, incl. VIRTIO_F_VERSION_1 etc. */
    uint16_t num_queues;             /* <= VIRTIO_MAX_QUEUES */
    uint16_t queue_max;              /* largest size of each queue (<= VIRTQ_MAX_SIZE) */
    uint32_t config_size;
    /* set by the transport; read-only for the device once activated */
    uint64_t driver_features;        /* negotiated */
    struct virtq vqs[VIRTIO_MAX_QUEUES];
    bool vq_ready[VIRTIO_MAX_QUEUES];
    int notify_fd[VIRTIO_MAX_QUEUES];/* eventfd per queue, readable after a driver notify */
    /* set by the transport when it takes the device */
    struct virtio_transport xport;
};

static inline bool virtio_has_feature(const struct virtio_dev *d, unsigned bit)
{
    return (d->driver_features >> bit) & 1;
}

/* Device -> transport, any thread: */
/* Used buffers were pushed on queue q: interrupt the driver if
 * virtq_should_notify() says so. */
static inline void virtio_notify_used(struct virtio_dev *d, unsigned q)
{
    if (q < d->num_queues && virtq_should_notify(&d->vqs[q]))
        d->xport.ops->signal_queue(d->xport.opaque, q);
}

/* The device's config space changed: bump the generation, interrupt. */
static inline void virtio_config_changed(struct virtio_dev *d)
{
    d->xport.ops->config_changed(d->xport.opaque);
}

/* A queue is broken (malformed ring): log one guest-error line with the
 * reason (rate-limited), set DEVICE_NEEDS_RESET and interrupt. The device
 * stops using the queue until the driver resets it. */
static inline void virtio_needs_reset(struct virtio_dev *d, const char *why)
{
    d->xport.ops->needs_reset(d->xport.opaque, why);
}
#endif
