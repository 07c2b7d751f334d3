#include "virtio/core.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/efd.h"
#include "base/log.h"

bool virtio_core_dev_valid(const struct virtio_dev *d)
{
    return d->num_queues > 0 && d->num_queues <= VIRTIO_MAX_QUEUES && d->queue_max > 0 &&
           d->queue_max <= VIRTQ_MAX_SIZE;
}

void virtio_core_init(struct virtio_core *c, struct virtio_dev *d, const char *where,
                      pthread_mutex_t *lock, void (*reset_done)(void *opaque), void *opaque)
{
    memset(c, 0, sizeof(*c));
    c->dev = d;
    c->lock = lock;
    c->reset_done = reset_done;
    c->opaque = opaque;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->reset_cond, &ca);
    pthread_condattr_destroy(&ca);
    snprintf(c->name, sizeof(c->name), "%s %s", d->ops->name, where);
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        c->q[i].vector = VIRTIO_NO_VECTOR;
}

void virtio_core_fini(struct virtio_core *c)
{
    virtio_core_wait_reset(c);
    pthread_cond_destroy(&c->reset_cond);
}

void virtio_core_note(struct virtio_core *c, enum virtio_log_reason r, const char *fmt, ...)
{
    struct virtio_note local = { .reason = r }, *n = c->note ? c->note : &local;
    if (n->msg[0])
        return;                 /* the first error of this access is kept */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(n->msg, sizeof(n->msg), fmt, ap);
    va_end(ap);
    n->reason = r;
    if (n == &local)
        virtio_core_log_note(c, n);
}

void virtio_core_log(struct virtio_core *c, enum virtio_log_reason r, const char *msg)
{
    if (r >= VIRTIO_LOG_REASONS)
        r = VIRTIO_LOG_ACCESS;
    log_guest_limited(&c->limit[r], "%s: %s", c->name, msg);
}

void virtio_core_log_note(struct virtio_core *c, const struct virtio_note *n)
{
    if (n && n->msg[0])
        virtio_core_log(c, n->reason, n->msg);
}

uint32_t virtio_core_dev_features(const struct virtio_core *c, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(c->dev->device_features >> (32 * sel)) : 0;
}

uint32_t virtio_core_drv_features(const struct virtio_core *c, uint32_t sel)
{
    return sel < 2 ? (uint32_t)(c->drv_features >> (32 * sel)) : 0;
}

void virtio_core_set_drv_features(struct virtio_core *c, uint32_t sel, uint32_t v)
{
    if ((c->status & VIRTIO_STATUS_FEATURES_OK) || sel >= 2 || c->resetting)
        return;
    uint64_t mask = 0xffffffffULL << (32 * sel);
    c->drv_features = (c->drv_features & ~mask) | ((uint64_t)v << (32 * sel));
}

struct virtio_queue_cfg *virtio_core_queue_cfg(struct virtio_core *c, unsigned q)
{
    if (q >= c->dev->num_queues || c->q[q].ready || (c->status & VIRTIO_STATUS_DRIVER_OK) ||
        c->resetting)
        return NULL;
    return &c->q[q];
}

void virtio_core_set_queue_num(struct virtio_core *c, unsigned q, uint32_t num)
{
    struct virtio_queue_cfg *qc = virtio_core_queue_cfg(c, q);
    if (qc)
        qc->num = (uint16_t)(num <= c->dev->queue_max ? num : 0);
}

void virtio_core_set_queue_ready(struct virtio_core *c, unsigned q, bool ready)
{
    if (q < c->dev->num_queues && !(c->status & VIRTIO_STATUS_DRIVER_OK) && !c->resetting)
        c->q[q].ready = ready;
}

uint32_t virtio_core_status(const struct virtio_core *c)
{
    return c->status | (atomic_load(&c->needs_reset) ? VIRTIO_STATUS_DEVICE_NEEDS_RESET : 0);
}

void virtio_core_set_needs_reset(struct virtio_core *c)
{
    atomic_store(&c->needs_reset, true);
}

/* Forget all driver state (the device's workers are gone). */
static void clear_state(struct virtio_core *c)
{
    struct virtio_dev *d = c->dev;
    c->activated = false;
    c->status = 0;
    atomic_store(&c->needs_reset, false);
    c->drv_features = 0;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        c->q[i] = (struct virtio_queue_cfg){ .vector = VIRTIO_NO_VECTOR };
    d->driver_features = 0;
    for (unsigned i = 0; i < d->num_queues; i++) {
        d->vq_ready[i] = false;
        memset(&d->vqs[i], 0, sizeof(d->vqs[i]));
        efd_drain(d->notify_fd[i]);
    }
}

void virtio_core_reset(struct virtio_core *c)
{
    struct virtio_dev *d = c->dev;
    if (c->activated && d->ops->reset)
        d->ops->reset(d);
    clear_state(c);
}

/* The reset thread: stop the device without the lock (its workers may
 * need the transport meanwhile: needs_reset, interrupts), then complete
 * under it. */
static void *reset_main(void *arg)
{
    struct virtio_core *c = arg;
    c->dev->ops->reset(c->dev);
    pthread_mutex_lock(c->lock);
    clear_state(c);
    c->resetting = false;
    if (c->reset_done)
        c->reset_done(c->opaque);
    pthread_cond_broadcast(&c->reset_cond);
    pthread_mutex_unlock(c->lock);
    return NULL;
}

bool virtio_core_start_reset(struct virtio_core *c, uint64_t wait_ns)
{
    struct virtio_dev *d = c->dev;
    if (c->resetting)
        return false;           /* one is running: the driver waits for it */
    if (c->reset_thread_live) {
        /* It completed (resetting is false) and is only returning. */
        pthread_join(c->reset_thread, NULL);
        c->reset_thread_live = false;
    }
    if (!c->activated || !d->ops->reset || !c->lock) {
        virtio_core_reset(c);
        if (c->reset_done)
            c->reset_done(c->opaque);
        return true;
    }
    c->resetting = true;
    /* The thread takes no signals (the VMM may use some to kick vCPUs). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&c->reset_thread, NULL, reset_main, c);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        c->resetting = false;   /* no thread: do it here */
        virtio_core_reset(c);
        if (c->reset_done)
            c->reset_done(c->opaque);
        return true;
    }
    c->reset_thread_live = true;
    pthread_setname_np(c->reset_thread, "virtio-reset");
    if (wait_ns) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t ns = (uint64_t)ts.tv_nsec + wait_ns;
        ts.tv_sec += (time_t)(ns / 1000000000u);
        ts.tv_nsec = (long)(ns % 1000000000u);
        while (c->resetting && pthread_cond_timedwait(&c->reset_cond, c->lock, &ts) != ETIMEDOUT)
            ;
    }
    return !c->resetting;
}

bool virtio_core_resetting(const struct virtio_core *c)
{
    return c->resetting;
}

void virtio_core_wait_reset(struct virtio_core *c)
{
    if (c->reset_thread_live) {
        pthread_join(c->reset_thread, NULL);
        c->reset_thread_live = false;
    }
}

/* DRIVER_OK: hand the configured queues to the device. false when a queue
 * is configured badly or the device refused (NEEDS_RESET set). */
static bool activate(struct virtio_core *c)
{
    struct virtio_dev *d = c->dev;
    d->driver_features = c->drv_features;
    for (unsigned i = 0; i < d->num_queues; i++) {
        struct virtio_queue_cfg *qc = &c->q[i];
        d->vq_ready[i] = false;
        if (!qc->ready)
            continue;
        struct virtq *q = &d->vqs[i];
        memset(q, 0, sizeof(*q));
        q->mem = d->mem;
        q->size = qc->num;
        q->desc_gpa = qc->desc;
        q->avail_gpa = qc->driver;
        q->used_gpa = qc->device;
        q->event_idx = virtio_has_feature(d, VIRTIO_F_EVENT_IDX);
        q->indirect = virtio_has_feature(d, VIRTIO_F_INDIRECT_DESC);
        if (virtq_init(q) < 0) {
            virtio_core_note(c, VIRTIO_LOG_SETUP, "queue %u configured badly (size %u)", i, qc->num);
            virtio_core_set_needs_reset(c);
            return false;
        }
        d->vq_ready[i] = true;
    }
    int r = d->ops->activate ? d->ops->activate(d) : 0;
    if (r < 0) {
        log_err("%s: activation failed: %s", c->name, strerror(-r));
        virtio_core_set_needs_reset(c);
        return false;
    }
    c->activated = true;
    return true;
}

bool virtio_core_write_status(struct virtio_core *c, uint32_t v)
{
    struct virtio_dev *d = c->dev;
    if (c->resetting)
        return false;           /* the driver must wait for status 0 first */
    if (v == 0) {
        virtio_core_start_reset(c, 0);
        return false;
    }
    v &= 0xff;
    /* FEATURES_OK sticks only for a subset of the offered features that
     * includes VERSION_1 (we are a modern-only device). */
    if ((v & VIRTIO_STATUS_FEATURES_OK) && !(c->status & VIRTIO_STATUS_FEATURES_OK)) {
        bool ok = !(c->drv_features & ~d->device_features) &&
                  (c->drv_features >> VIRTIO_F_VERSION_1 & 1);
        if (!ok) {
            virtio_core_note(c, VIRTIO_LOG_SETUP, "driver features 0x%llx not acceptable",
                             (unsigned long long)c->drv_features);
            v &= ~(uint32_t)VIRTIO_STATUS_FEATURES_OK;
        }
    }
    bool to_ok = (v & VIRTIO_STATUS_DRIVER_OK) && !(c->status & VIRTIO_STATUS_DRIVER_OK);
    c->status = v & ~(uint32_t)VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (to_ok && (c->status & VIRTIO_STATUS_FEATURES_OK) && !c->activated)
        return !activate(c);
    return false;
}
