#include "virtio/mmio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/log.h"
#include "hv/hv.h"

/* The 32-bit register at off in the window's page. */
static _Atomic uint32_t *word(struct virtio_mmio *t, uint64_t off)
{
    return (_Atomic uint32_t *)(void *)(t->page + off);
}

static void put(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    atomic_store(word(t, off), v);
}

static void raise_irq(struct virtio_mmio *t, unsigned bits)
{
    atomic_fetch_or(word(t, VMMIO_INTERRUPT_STATUS), bits);
    efd_signal(t->irq_fd);
}

/* Any thread. The flag first, then the bit: publish_status() relies on it. */
static void set_needs_reset(struct virtio_mmio *t)
{
    virtio_core_set_needs_reset(&t->core);
    atomic_fetch_or(word(t, VMMIO_STATUS), VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

/* Lock held. A worker's set_needs_reset() running meanwhile either sets
 * the flag before the read below or ORs its bit in after the store. */
static void publish_status(struct virtio_mmio *t)
{
    put(t, VMMIO_STATUS, t->core.status);
    if (virtio_core_status(&t->core) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        atomic_fetch_or(word(t, VMMIO_STATUS), VIRTIO_STATUS_DEVICE_NEEDS_RESET);
}

static void publish_config(struct virtio_mmio *t)
{
    struct virtio_dev *d = t->dev;
    if (d->ops->config_read && d->config_size)
        d->ops->config_read(d, 0, t->page + VMMIO_CONFIG, d->config_size);
}

/* Lock held: after any guest write, rewrite the registers whose value
 * depends on what the guest wrote (selectors, status, config). */
static void publish(struct virtio_mmio *t)
{
    struct virtio_dev *d = t->dev;
    unsigned qs = t->queue_sel;
    bool qvalid = qs < d->num_queues;
    put(t, VMMIO_MAGIC, VIRTIO_MMIO_MAGIC);
    put(t, VMMIO_VERSION, 2);
    put(t, VMMIO_DEVICE_ID, d->ops->device_id);
    put(t, VMMIO_VENDOR_ID, VIRTIO_MMIO_VENDOR);
    put(t, VMMIO_DEVICE_FEATURES, virtio_core_dev_features(&t->core, t->dev_features_sel));
    put(t, VMMIO_QUEUE_NUM_MAX, qvalid ? d->queue_max : 0);
    put(t, VMMIO_QUEUE_READY, qvalid ? t->core.q[qs].ready : 0);
    /* no shared memory regions: length and base all ones */
    put(t, VMMIO_SHM_LEN_LOW, 0xffffffff);
    put(t, VMMIO_SHM_LEN_HIGH, 0xffffffff);
    put(t, VMMIO_SHM_BASE_LOW, 0xffffffff);
    put(t, VMMIO_SHM_BASE_HIGH, 0xffffffff);
    publish_status(t);
    publish_config(t);
}

/* Lock held: guest reads exit again from now on. */
static void drop_direct_reads(struct virtio_mmio *t)
{
    if (t->ro_handle >= 0) {
        hv_unmap_readonly(t->hv, t->ro_handle);
        t->ro_handle = -1;
    }
}

bool virtio_mmio_reads_direct(const struct virtio_mmio *t)
{
    return t->ro_handle >= 0;
}

void virtio_mmio_trap_reads(struct virtio_mmio *t)
{
    pthread_mutex_lock(&t->lock);
    drop_direct_reads(t);
    pthread_mutex_unlock(&t->lock);
}

static void mmio_signal_queue(void *opaque, unsigned q)
{
    raise_irq(opaque, VIRTIO_ISR_QUEUE);
}

static void mmio_config_changed(void *opaque)
{
    struct virtio_mmio *t = opaque;
    pthread_mutex_lock(&t->lock);
    /* A guest reading memory directly could take a field wider than 4
     * bytes half old, half new, under an unchanged generation: from now on
     * its reads exit and are answered under the lock. */
    drop_direct_reads(t);
    publish_config(t);
    atomic_fetch_add(word(t, VMMIO_CONFIG_GENERATION), 1);
    pthread_mutex_unlock(&t->lock);
    raise_irq(t, VIRTIO_ISR_CONFIG);
}

static void mmio_needs_reset(void *opaque, const char *why)
{
    struct virtio_mmio *t = opaque;
    /* No lock: a device worker calls this, and ops->reset (run under the
     * lock) may be waiting for that worker. */
    char line[192];
    snprintf(line, sizeof(line), "%s; device needs reset", why);
    virtio_core_log(&t->core, VIRTIO_LOG_RING, line);
    set_needs_reset(t);
    raise_irq(t, VIRTIO_ISR_CONFIG);
}

static const struct virtio_transport_ops mmio_transport_ops = {
    .signal_queue = mmio_signal_queue,
    .config_changed = mmio_config_changed,
    .needs_reset = mmio_needs_reset,
};

/* Lock held: a reset completed; clear the transport's own registers. */
static void clear_regs(void *opaque)
{
    struct virtio_mmio *t = opaque;
    t->dev_features_sel = t->drv_features_sel = t->queue_sel = 0;
    put(t, VMMIO_INTERRUPT_STATUS, 0);
    publish(t);
}

/* Lock held, no background reset running: teardown. */
static void transport_reset(struct virtio_mmio *t)
{
    virtio_core_reset(&t->core);
    clear_regs(t);
}

static void write_status(struct virtio_mmio *t, uint32_t v)
{
    if (v == 0) {
        /* Linux's virtio_mmio driver does not wait for status to read 0
         * after a reset (drivers/virtio/virtio_mmio.c, vm_reset), so the
         * write waits for the device's workers, but only so long: past
         * VIRTIO_MMIO_RESET_WAIT_NS the reset goes on in the background
         * and the vCPU returns (status reads non-zero until it is done). */
        virtio_core_start_reset(&t->core, VIRTIO_MMIO_RESET_WAIT_NS);
        return;
    }
    if (virtio_core_write_status(&t->core, v)) {
        set_needs_reset(t);
        raise_irq(t, VIRTIO_ISR_CONFIG);
    }
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
    *v = high ? (*v & 0xffffffffULL) | ((uint64_t)val << 32) : (*v & ~0xffffffffULL) | val;
}

static void reg_write(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    struct virtio_dev *d = t->dev;
    unsigned qs = t->queue_sel;
    struct virtio_queue_cfg *mq = virtio_core_queue_cfg(&t->core, qs);
    switch (off) {
    case VMMIO_DEVICE_FEATURES_SEL: t->dev_features_sel = v; break;
    case VMMIO_DRIVER_FEATURES_SEL: t->drv_features_sel = v; break;
    case VMMIO_DRIVER_FEATURES: virtio_core_set_drv_features(&t->core, t->drv_features_sel, v); break;
    case VMMIO_QUEUE_SEL: t->queue_sel = v; break;
    case VMMIO_QUEUE_NUM: virtio_core_set_queue_num(&t->core, qs, v); break;
    case VMMIO_QUEUE_READY: virtio_core_set_queue_ready(&t->core, qs, v & 1); break;
    case VMMIO_QUEUE_NOTIFY:
        /* Only reached without an ioeventfd (tests, or a misaligned write). */
        if (v < d->num_queues)
            efd_signal(d->notify_fd[v]);
        break;
    case VMMIO_INTERRUPT_ACK: atomic_fetch_and(word(t, VMMIO_INTERRUPT_STATUS), ~v); break;
    case VMMIO_STATUS: write_status(t, v); break;
    case VMMIO_QUEUE_DESC_LOW: case VMMIO_QUEUE_DESC_HIGH:
        if (mq) set_half(&mq->desc, off == VMMIO_QUEUE_DESC_HIGH, v);
        break;
    case VMMIO_QUEUE_DRIVER_LOW: case VMMIO_QUEUE_DRIVER_HIGH:
        if (mq) set_half(&mq->driver, off == VMMIO_QUEUE_DRIVER_HIGH, v);
        break;
    case VMMIO_QUEUE_DEVICE_LOW: case VMMIO_QUEUE_DEVICE_HIGH:
        if (mq) set_half(&mq->device, off == VMMIO_QUEUE_DEVICE_HIGH, v);
        break;
    default: break;         /* read-only or reserved: ignored */
    }
}

void virtio_mmio_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct virtio_mmio *t = opaque;
    struct virtio_dev *d = t->dev;
    struct virtio_note note = { .reason = VIRTIO_LOG_ACCESS };
    pthread_mutex_lock(&t->lock);
    t->core.note = &note;
    if (off >= VMMIO_CONFIG) {
        uint64_t c = off - VMMIO_CONFIG;
        if (c < d->config_size && len <= d->config_size - c) {
            if (is_write) {
                if (d->ops->config_write && !virtio_core_resetting(&t->core)) {
                    d->ops->config_write(d, (uint32_t)c, data, len);
                    publish_config(t);
                }
            } else {
                memcpy(data, t->page + off, len);
            }
        } else if (!is_write) {
            memset(data, 0, len);
        }
    } else if (len != 4 || (off & 3)) {
        /* The spec requires 32-bit aligned accesses below the config space. */
        virtio_core_note(&t->core, VIRTIO_LOG_ACCESS, "%u-byte access to register 0x%llx", len,
                         (unsigned long long)off);
        if (!is_write)
            memset(data, 0xff, len);
    } else if (is_write) {
        uint32_t v;
        memcpy(&v, data, 4);
        reg_write(t, off, v);
        /* The Ack (once per interrupt) changed only InterruptStatus, in
         * place; a notify changes nothing the guest reads. */
        if (off != VMMIO_INTERRUPT_ACK && off != VMMIO_QUEUE_NOTIFY)
            publish(t);
    } else {
        uint32_t v = atomic_load(word(t, off));
        memcpy(data, &v, 4);
    }
    t->core.note = NULL;
    pthread_mutex_unlock(&t->lock);
    virtio_core_log_note(&t->core, &note);
}

int virtio_mmio_init(struct virtio_mmio *t, struct virtio_dev *d, struct hv_vm *hv,
                     uint64_t base, uint32_t gsi)
{
    memset(t, 0, sizeof(*t));
    t->dev = d;
    t->hv = hv;
    t->base = base;
    t->gsi = gsi;
    t->irq_fd = -1;
    t->ro_handle = -1;
    d->xport = (struct virtio_transport){ .ops = &mmio_transport_ops, .opaque = t };
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        d->notify_fd[i] = -1;
    pthread_mutex_init(&t->lock, NULL);
    char where[32];
    snprintf(where, sizeof(where), "at 0x%llx", (unsigned long long)base);
    virtio_core_init(&t->core, d, where, &t->lock, clear_regs, t);
    if (!virtio_core_dev_valid(d) || d->config_size > VIRTIO_MMIO_SIZE - VMMIO_CONFIG)
        return -EINVAL;
    void *page = mmap(NULL, VIRTIO_MMIO_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED)
        return -errno;
    t->page = page;
    publish(t);
    t->irq_fd = efd_new();
    if (t->irq_fd < 0)
        return t->irq_fd;
    for (unsigned i = 0; i < d->num_queues; i++) {
        d->notify_fd[i] = efd_new();
        if (d->notify_fd[i] < 0)
            return d->notify_fd[i];
    }
    if (!hv)
        return 0;
    int r = hv_irqfd(hv, gsi, t->irq_fd, true);
    if (r < 0)
        return r;
    t->irqfd_assigned = true;
    for (unsigned i = 0; i < d->num_queues; i++) {
        r = hv_ioeventfd(hv, base + VMMIO_QUEUE_NOTIFY, 4, true, i, d->notify_fd[i], true);
        if (r < 0)
            return r;
    }
    t->ioeventfds_assigned = true;
    /* Memslots come in host pages: only a page of exactly the window's size
     * can back it. Without, reads exit and are answered from t->page. */
    if (sysconf(_SC_PAGESIZE) == VIRTIO_MMIO_SIZE) {
        r = hv_map_readonly(hv, base, VIRTIO_MMIO_SIZE, t->page);
        if (r >= 0)
            t->ro_handle = r;
        else
            log_debug("%s at 0x%llx: register reads exit (%s)", d->ops->name,
                      (unsigned long long)base, strerror(-r));
    }
    return 0;
}

void virtio_mmio_destroy(struct virtio_mmio *t)
{
    struct virtio_dev *d = t->dev;
    if (!d)
        return;
    virtio_core_wait_reset(&t->core);
    pthread_mutex_lock(&t->lock);
    drop_direct_reads(t);
    if (t->page)
        transport_reset(t);
    pthread_mutex_unlock(&t->lock);
    virtio_core_fini(&t->core);
    for (unsigned i = 0; i < d->num_queues && i < VIRTIO_MAX_QUEUES; i++) {
        if (t->ioeventfds_assigned)
            hv_ioeventfd(t->hv, t->base + VMMIO_QUEUE_NOTIFY, 4, true, i, d->notify_fd[i], false);
        if (d->notify_fd[i] >= 0)
            close(d->notify_fd[i]);
        d->notify_fd[i] = -1;
    }
    if (t->irqfd_assigned)
        hv_irqfd(t->hv, t->gsi, t->irq_fd, false);
    if (t->irq_fd >= 0)
        close(t->irq_fd);
    if (d->ops->destroy)
        d->ops->destroy(d);
    pthread_mutex_destroy(&t->lock);
    if (t->page)
        munmap(t->page, VIRTIO_MMIO_SIZE);
    t->page = NULL;
    t->dev = NULL;
}
