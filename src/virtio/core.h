/* The part of a virtio transport that does not depend on its register
 * layout: device status and its state machine (reset, FEATURES_OK,
 * DRIVER_OK -> activate, DEVICE_NEEDS_RESET), feature negotiation and the
 * driver's queue configuration. virtio-mmio and virtio-pci each keep one
 * struct virtio_core per device and map their registers onto these calls.
 *
 * Locking: every call but virtio_core_set_needs_reset() and
 * virtio_core_log() is made with the transport's lock held (vCPU threads).
 * Guest errors found under the lock are not logged there (a log line may
 * block on stderr while other vCPUs wait for the lock): the transport
 * points c->note at a struct virtio_note for the duration of its locked
 * section and logs it after unlocking (virtio_core_log_note). Every
 * guest-caused line goes through one rate limiter per device and reason
 * (base/log.h: the first 10 are written, then one per 5 s with the count
 * of those suppressed). */
#ifndef ARCVMM_VIRTIO_CORE_H
#define ARCVMM_VIRTIO_CORE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"
#include "virtio/virtio.h"

#define VIRTIO_NO_VECTOR 0xffff   /* virtio-pci: no MSI-X vector */

/* What the driver configured for one queue. */
struct virtio_queue_cfg {
    uint16_t num;
    bool ready;
    uint64_t desc, driver, device;
    uint16_t vector;              /* virtio-pci MSI-X vector, VIRTIO_NO_VECTOR */
};

/* Kinds of guest error, each with its own rate limiter. */
enum virtio_log_reason {
    VIRTIO_LOG_ACCESS,          /* a register access of the wrong width or place */
    VIRTIO_LOG_SETUP,           /* features refused, a queue configured badly */
    VIRTIO_LOG_RING,            /* a broken ring: device needs reset */
    VIRTIO_LOG_REASONS,
};

/* A guest error noted under the transport lock, logged after it. */
struct virtio_note {
    enum virtio_log_reason reason;
    char msg[192];              /* empty: nothing noted */
};

struct virtio_core {
    struct virtio_dev *dev;
    /* The transport's register lock, and what it clears of its own state
     * when a reset completes (called with the lock held). Set by
     * virtio_core_init; a reset runs in the background only with a lock. */
    pthread_mutex_t *lock;
    void (*reset_done)(void *opaque);
    void *opaque;
    /* A driver reset of an active device runs ops->reset on reset_thread,
     * off the vCPU thread (it joins the device's workers, which finish
     * their requests in flight first). Until it completes, status reads
     * what the driver last wrote (non-zero) and the driver's writes are
     * ignored; completion clears the state and status reads 0, as the
     * spec has a driver wait for (virtio 1.2 section 2.4). Lock held. */
    bool resetting;
    bool reset_thread_live;     /* reset_thread still to be joined */
    pthread_t reset_thread;
    pthread_cond_t reset_cond;  /* with *lock: resetting went false */
    char name[64];                /* "virtio-blk at 0xd0000000", for log lines */
    uint32_t status;              /* as the driver set it (no NEEDS_RESET bit) */
    uint64_t drv_features;
    struct virtio_queue_cfg q[VIRTIO_MAX_QUEUES];
    bool activated;
    atomic_bool needs_reset;      /* DEVICE_NEEDS_RESET, set from any thread */
    struct virtio_note *note;     /* lock held: where guest errors go, or NULL */
    struct log_limit limit[VIRTIO_LOG_REASONS];
};

/* Is d a device a transport can take (queue counts and sizes in range)? */
bool virtio_core_dev_valid(const struct virtio_dev *d);
/* Bind c to d; where names the device's place ("at 0xd0000000", "at
 * 00:01.0") in log lines. lock is the transport's register lock (NULL:
 * every reset is synchronous), reset_done(opaque) what the transport
 * clears of its own registers when a reset completes. Undo with
 * virtio_core_fini. */
void virtio_core_init(struct virtio_core *c, struct virtio_dev *d, const char *where,
                      pthread_mutex_t *lock, void (*reset_done)(void *opaque), void *opaque);
/* Wait for a background reset (no lock held), then free what init made. */
void virtio_core_fini(struct virtio_core *c);

/* Features, 32 bits at a time (sel 0 and 1; others read 0). Driver
 * features are writable only until FEATURES_OK. */
uint32_t virtio_core_dev_features(const struct virtio_core *c, uint32_t sel);
uint32_t virtio_core_drv_features(const struct virtio_core *c, uint32_t sel);
void virtio_core_set_drv_features(struct virtio_core *c, uint32_t sel, uint32_t v);

/* Queue q's configuration if the driver may change it now (the queue
 * exists and is not ready, and DRIVER_OK is not set), else NULL. */
struct virtio_queue_cfg *virtio_core_queue_cfg(struct virtio_core *c, unsigned q);
/* Set queue q's size: a value above the device's maximum is refused
 * (the size stays 0 and the queue cannot be activated). */
void virtio_core_set_queue_num(struct virtio_core *c, unsigned q, uint32_t num);
/* Enable or disable queue q (before DRIVER_OK only). */
void virtio_core_set_queue_ready(struct virtio_core *c, unsigned q, bool ready);

/* The status the driver reads: what it wrote plus DEVICE_NEEDS_RESET. */
uint32_t virtio_core_status(const struct virtio_core *c);
/* The driver wrote v to the status register: 0 resets the device;
 * FEATURES_OK sticks only for an acceptable feature set; DRIVER_OK
 * activates the device. Returns true when the device needs the config
 * interrupt (a queue was configured badly or activation failed: NEEDS_RESET
 * is now set). */
bool virtio_core_write_status(struct virtio_core *c, uint32_t v);
/* Reset the device (ops->reset when activated) and forget all driver
 * state, on the caller's thread; used at teardown (after
 * virtio_core_wait_reset). Does not call reset_done. */
void virtio_core_reset(struct virtio_core *c);
/* The driver wrote 0 to status (lock held). A device with no workers is
 * reset at once; an active one in the background, and the caller waits
 * for it at most wait_ns (the lock is released while it waits). Returns
 * true when the reset is complete (reset_done has run), false while it
 * continues (status reads non-zero until then). */
bool virtio_core_start_reset(struct virtio_core *c, uint64_t wait_ns);
/* Lock held: is a background reset running (driver writes are ignored)? */
bool virtio_core_resetting(const struct virtio_core *c);
/* No lock held, and no vCPU can start a reset meanwhile (they are parked
 * or gone): return once no background reset runs. For pause and teardown. */
void virtio_core_wait_reset(struct virtio_core *c);
/* Any thread: set DEVICE_NEEDS_RESET. */
void virtio_core_set_needs_reset(struct virtio_core *c);

/* Lock held: note a guest error for the log (the first per locked section
 * is kept; without c->note it is logged at once). */
void virtio_core_note(struct virtio_core *c, enum virtio_log_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* After the lock is dropped: log what was noted, if anything. */
void virtio_core_log_note(struct virtio_core *c, const struct virtio_note *n);
/* Any thread, no lock: log a guest error ("NAME: msg"), rate-limited. */
void virtio_core_log(struct virtio_core *c, enum virtio_log_reason r, const char *msg);
#endif
