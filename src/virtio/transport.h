/* What a transport (virtio-mmio, virtio-pci) hands a virtio device: three
 * calls, any thread, that reach the driver. The device sees only this and
 * never names its transport (virtio.h wraps them as virtio_notify_used,
 * virtio_config_changed and virtio_needs_reset). */
#ifndef ARCVMM_VIRTIO_TRANSPORT_H
#define ARCVMM_VIRTIO_TRANSPORT_H

struct virtio_transport_ops {
    /* Interrupt the driver for queue q (its MSI-X vector, or the ISR
     * "queue" bit and the interrupt line). */
    void (*signal_queue)(void *opaque, unsigned q);
    /* The device's config space changed: new generation, config interrupt. */
    void (*config_changed)(void *opaque);
    /* A queue is broken: log why (rate-limited), set DEVICE_NEEDS_RESET,
     * config interrupt. Must not wait for the device's workers (a worker
     * calls it). */
    void (*needs_reset)(void *opaque, const char *why);
};

struct virtio_transport {
    const struct virtio_transport_ops *ops;
    void *opaque;
};
#endif
