#include "virtio/pci.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/le.h"
#include "base/log.h"
#include "hv/hv.h"

/* virtio-pci capability types (virtio 1.2 4.1.4) */
enum { CAP_COMMON = 1, CAP_NOTIFY = 2, CAP_ISR = 3, CAP_DEVICE = 4, CAP_PCI_CFG = 5 };
/* struct virtio_pci_cap field offsets, from the capability's start */
enum { CAP_TYPE = 3, CAP_BAR = 4, CAP_ID = 5, CAP_OFFSET = 8, CAP_LENGTH = 12,
       CAP_NOTIFY_MULT = 16, CAP_PCI_CFG_DATA = 16 };

/* The PCI class code a driver-less OS shows for each virtio type. */
static uint32_t class_for(uint32_t virtio_id)
{
    switch (virtio_id) {
    case 1: return 0x020000;    /* network controller, Ethernet */
    case 2: return 0x018000;    /* mass storage, other */
    case 3: return 0x078000;    /* communication controller, other */
    default: return 0xff0000;   /* device does not fit a class */
    }
}

static uint32_t devid(const struct virtio_pci *t)
{
    return (uint32_t)t->slot << 3;  /* requester id: bus 0, function 0 */
}

/* ---- interrupts (irq_lock) ---- */

static void intx_set(struct virtio_pci *t, bool level)
{
    if (t->intx_level == level)
        return;
    t->intx_level = level;
    if (t->hv)
        hv_irq_line(t->hv, t->intx_gsi, level);
}

/* Interrupt the driver: through vector vec when MSI-X is enabled (a
 * masked vector is left pending; NO_VECTOR means no interrupt at all),
 * else by setting isr_bit and raising INTx. Any thread. */
static void signal_vector(struct virtio_pci *t, uint16_t vec, uint8_t isr_bit)
{
    pthread_mutex_lock(&t->irq_lock);
    if (msix_enabled(&t->msix)) {
        if (vec < t->nvec) {
            if (msix_vector_masked(&t->msix, vec))
                msix_set_pending(&t->msix, vec);
            else
                efd_signal(t->irq_fd[vec]);
        }
    } else {
        t->isr |= isr_bit;
        intx_set(t, true);
    }
    pthread_mutex_unlock(&t->irq_lock);
}

/* msix ops, irq_lock held: keep vector v's KVM route equal to its table
 * entry while it is unmasked (a masked vector is gated in signal_vector,
 * so its stale route is never used). */
static void msix_vector_changed(void *opaque, unsigned v)
{
    struct virtio_pci *t = opaque;
    uint64_t addr;
    uint32_t data;
    if (!t->hv || v >= t->nvec || msix_vector_masked(&t->msix, v) || msix_vector(&t->msix, v, &addr, &data) < 0)
        return;
    int r = hv_msi_route_set(t->hv, t->msi_first + v, addr, data, devid(t));
    if (r < 0)
        log_warn("%s: MSI-X vector %u: cannot route it: %s", t->core.name, v, strerror(-r));
    else
        t->routed[v] = true;
}

void virtio_pci_describe_irq(struct virtio_pci *t, unsigned q, char *buf, size_t len)
{
    pthread_mutex_lock(&t->irq_lock);
    uint16_t vec = q < VIRTIO_MAX_QUEUES ? t->core.q[q].vector : 0xffff;
    if (!msix_enabled(&t->msix))
        snprintf(buf, len, "MSI-X off, isr %#x, INTx %s", t->isr, t->intx_level ? "high" : "low");
    else if (vec >= t->nvec)
        snprintf(buf, len, "no vector (%#x)", vec);
    else
        snprintf(buf, len, "vector %u%s%s%s", vec, msix_vector_masked(&t->msix, vec) ? " masked" : "",
                 msix_pending(&t->msix, vec) ? " pending" : "", t->routed[vec] ? "" : " unrouted");
    pthread_mutex_unlock(&t->irq_lock);
}

static void msix_deliver(void *opaque, unsigned v)
{
    struct virtio_pci *t = opaque;
    if (v < t->nvec)
        efd_signal(t->irq_fd[v]);
}

static const struct msix_ops vpci_msix_ops = {
    .vector_changed = msix_vector_changed,
    .deliver = msix_deliver,
};

static void pci_signal_queue(void *opaque, unsigned q)
{
    struct virtio_pci *t = opaque;
    /* the queue's vector is fixed while the device runs (set before DRIVER_OK) */
    signal_vector(t, t->core.q[q].vector, VIRTIO_ISR_QUEUE);
}

static void signal_config(struct virtio_pci *t)
{
    signal_vector(t, __atomic_load_n(&t->config_vector, __ATOMIC_RELAXED), VIRTIO_ISR_CONFIG);
}

static void pci_config_changed(void *opaque)
{
    struct virtio_pci *t = opaque;
    atomic_fetch_add(&t->config_generation, 1);
    signal_config(t);
}

static void pci_needs_reset(void *opaque, const char *why)
{
    struct virtio_pci *t = opaque;
    char line[192];
    snprintf(line, sizeof(line), "%s; device needs reset", why);
    virtio_core_log(&t->core, VIRTIO_LOG_RING, line);
    virtio_core_set_needs_reset(&t->core);
    signal_config(t);
}

static const struct virtio_transport_ops pci_transport_ops = {
    .signal_queue = pci_signal_queue,
    .config_changed = pci_config_changed,
    .needs_reset = pci_needs_reset,
};

/* ---- device status ---- */

/* Lock held: a reset completed; clear the transport's own registers.
 * MSI-X is PCI function state and survives a virtio reset. */
static void clear_regs(void *opaque)
{
    struct virtio_pci *t = opaque;
    t->dfselect = t->gfselect = 0;
    t->queue_sel = 0;
    __atomic_store_n(&t->config_vector, VIRTIO_NO_VECTOR, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < t->dev->num_queues; i++)
        t->core.q[i].num = t->dev->queue_max;     /* queue_size reads the maximum */
    pthread_mutex_lock(&t->irq_lock);
    t->isr = 0;
    intx_set(t, false);
    pthread_mutex_unlock(&t->irq_lock);
}

/* Lock held, no background reset running: teardown. */
static void transport_reset(struct virtio_pci *t)
{
    virtio_core_reset(&t->core);
    clear_regs(t);
}

static void write_status(struct virtio_pci *t, uint32_t v)
{
    if (v == 0) {
        /* In the background: Linux's virtio_pci driver waits for status
         * to read 0 (virtio 1.2 section 4.1.4.3.2), so the vCPU need not. */
        virtio_core_start_reset(&t->core, 0);
        return;
    }
    if (virtio_core_write_status(&t->core, v))
        signal_config(t);
}

/* ---- common configuration ---- */

/* Lock held: the common configuration structure as the guest reads it. */
static void common_image(struct virtio_pci *t, uint8_t *c)
{
    struct virtio_dev *d = t->dev;
    unsigned qs = t->queue_sel;
    bool qvalid = qs < d->num_queues;
    const struct virtio_queue_cfg *q = qvalid ? &t->core.q[qs] : NULL;
    memset(c, 0, VPCI_COMMON_LEN);
    le32_store(c + VPCI_DFSELECT, t->dfselect);
    le32_store(c + VPCI_DF, virtio_core_dev_features(&t->core, t->dfselect));
    le32_store(c + VPCI_GFSELECT, t->gfselect);
    le32_store(c + VPCI_GF, virtio_core_drv_features(&t->core, t->gfselect));
    le16_store(c + VPCI_MSIX_CONFIG, t->config_vector);
    le16_store(c + VPCI_NUM_QUEUES, d->num_queues);
    c[VPCI_STATUS] = (uint8_t)virtio_core_status(&t->core);
    c[VPCI_CFG_GENERATION] = (uint8_t)atomic_load(&t->config_generation);
    le16_store(c + VPCI_Q_SELECT, t->queue_sel);
    if (q) {
        le16_store(c + VPCI_Q_SIZE, q->num);
        le16_store(c + VPCI_Q_MSIX, q->vector);
        le16_store(c + VPCI_Q_ENABLE, q->ready);
        le16_store(c + VPCI_Q_NOFF, (uint16_t)qs);
        le64_store(c + VPCI_Q_DESC, q->desc);
        le64_store(c + VPCI_Q_AVAIL, q->driver);
        le64_store(c + VPCI_Q_USED, q->device);
    }
}

static void set_half(uint64_t *v, bool high, uint32_t val)
{
    *v = high ? (*v & 0xffffffffULL) | ((uint64_t)val << 32) : (*v & ~0xffffffffULL) | val;
}

/* A 64-bit queue address field written as one 8-byte or two 4-byte accesses. */
static void write_addr(uint64_t *field, uint64_t rel, uint32_t len, uint64_t v)
{
    if (len == 8 && rel == 0)
        *field = v;
    else if (len == 4 && (rel == 0 || rel == 4))
        set_half(field, rel == 4, (uint32_t)v);
}

/* Lock held. The spec has the driver use each field's natural width (64-bit
 * fields may be written as two 32-bit halves); other accesses are noted
 * and ignored. */
static void common_write(struct virtio_pci *t, uint64_t off, uint32_t len, uint64_t v)
{
    struct virtio_dev *d = t->dev;
    unsigned qs = t->queue_sel;
    struct virtio_queue_cfg *mq = virtio_core_queue_cfg(&t->core, qs);
    static const uint8_t width[VPCI_COMMON_LEN] = {
        [VPCI_DFSELECT] = 4, [VPCI_GFSELECT] = 4, [VPCI_GF] = 4, [VPCI_MSIX_CONFIG] = 2,
        [VPCI_STATUS] = 1, [VPCI_Q_SELECT] = 2, [VPCI_Q_SIZE] = 2, [VPCI_Q_MSIX] = 2,
        [VPCI_Q_ENABLE] = 2, [VPCI_Q_DESC] = 8, [VPCI_Q_AVAIL] = 8, [VPCI_Q_USED] = 8,
    };
    if (off >= VPCI_Q_DESC && off < VPCI_Q_NDATA) {
        uint64_t field = off & ~7ULL, rel = off & 7;
        if (!((len == 8 && rel == 0) || (len == 4 && (rel == 0 || rel == 4)))) {
            virtio_core_note(&t->core, VIRTIO_LOG_ACCESS, "%u-byte write to common config 0x%llx", len,
                             (unsigned long long)off);
            return;
        }
        if (!mq)
            return;
        uint64_t *dst = field == VPCI_Q_DESC ? &mq->desc : field == VPCI_Q_AVAIL ? &mq->driver
                                                                                 : &mq->device;
        write_addr(dst, rel, len, v);
        return;
    }
    if (off >= VPCI_COMMON_LEN || width[off] != len) {
        /* read-only fields, reserved bytes, odd widths */
        if (off >= VPCI_COMMON_LEN || width[off] == 0) {
            if (off != VPCI_DF && off != VPCI_NUM_QUEUES && off != VPCI_CFG_GENERATION &&
                off != VPCI_Q_NOFF && off != VPCI_Q_RESET)
                virtio_core_note(&t->core, VIRTIO_LOG_ACCESS, "write to common config 0x%llx",
                                 (unsigned long long)off);
        } else {
            virtio_core_note(&t->core, VIRTIO_LOG_ACCESS, "%u-byte write to common config 0x%llx", len,
                             (unsigned long long)off);
        }
        return;
    }
    switch (off) {
    case VPCI_DFSELECT: t->dfselect = (uint32_t)v; break;
    case VPCI_GFSELECT: t->gfselect = (uint32_t)v; break;
    case VPCI_GF: virtio_core_set_drv_features(&t->core, t->gfselect, (uint32_t)v); break;
    case VPCI_MSIX_CONFIG:
        __atomic_store_n(&t->config_vector, v < t->nvec ? (uint16_t)v : VIRTIO_NO_VECTOR, __ATOMIC_RELAXED);
        break;
    case VPCI_STATUS: write_status(t, (uint32_t)v); break;
    case VPCI_Q_SELECT: t->queue_sel = (uint16_t)v; break;
    case VPCI_Q_SIZE:
        /* A queue size is a power of two here (split rings). */
        virtio_core_set_queue_num(&t->core, qs, (uint32_t)v);
        break;
    case VPCI_Q_MSIX:
        if (qs < d->num_queues && !(t->core.status & VIRTIO_STATUS_DRIVER_OK) &&
            !virtio_core_resetting(&t->core))
            t->core.q[qs].vector = v < t->nvec ? (uint16_t)v : VIRTIO_NO_VECTOR;
        break;
    case VPCI_Q_ENABLE:
        /* The driver must not write 0 (virtio 1.2 4.1.4.3.2). */
        if (v == 1)
            virtio_core_set_queue_ready(&t->core, qs, true);
        break;
    default: break;
    }
}

/* ---- BAR 0 ---- */

static void common_io(struct virtio_pci *t, uint64_t off, uint8_t *data, uint32_t len,
                      bool is_write)
{
    struct virtio_note note = { .reason = VIRTIO_LOG_ACCESS };
    pthread_mutex_lock(&t->lock);
    t->core.note = &note;
    if (is_write) {
        common_write(t, off, len, le_load(data, len));
    } else {
        uint8_t img[VPCI_COMMON_LEN];
        common_image(t, img);
        for (uint32_t i = 0; i < len; i++)
            data[i] = off + i < VPCI_COMMON_LEN ? img[off + i] : 0;
    }
    t->core.note = NULL;
    pthread_mutex_unlock(&t->lock);
    virtio_core_log_note(&t->core, &note);
}

static void device_io(struct virtio_pci *t, uint64_t off, uint8_t *data, uint32_t len,
                      bool is_write)
{
    struct virtio_dev *d = t->dev;
    pthread_mutex_lock(&t->lock);
    if (off < d->config_size && len <= d->config_size - off) {
        if (!is_write && d->ops->config_read)
            d->ops->config_read(d, (uint32_t)off, data, len);
        else if (is_write && d->ops->config_write && !virtio_core_resetting(&t->core))
            d->ops->config_write(d, (uint32_t)off, data, len);
        else if (!is_write)
            memset(data, 0, len);
    } else if (!is_write) {
        memset(data, 0, len);
    }
    pthread_mutex_unlock(&t->lock);
}

/* Reading the ISR returns and clears it and lowers INTx. */
static void isr_read(struct virtio_pci *t, uint8_t *data, uint32_t len)
{
    memset(data, 0, len);
    pthread_mutex_lock(&t->irq_lock);
    data[0] = t->isr;
    t->isr = 0;
    intx_set(t, false);
    pthread_mutex_unlock(&t->irq_lock);
}

/* A notify write at rel of the notify registers (mult bytes apart), from a
 * vCPU that exited: only without an ioeventfd (tests), or a write of
 * another width; the queue is the one whose register was written. */
static void notify_write(struct virtio_pci *t, uint64_t rel, unsigned mult)
{
    if (rel % mult == 0 && rel / mult < t->dev->num_queues)
        efd_signal(t->dev->notify_fd[rel / mult]);
}

void virtio_pci_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct virtio_pci *t = opaque;
    uint64_t region = off & ~(uint64_t)(VPCI_REGION - 1), rel = off - region;
    switch (region) {
    case VPCI_COMMON:
        common_io(t, rel, data, len, is_write);
        return;
    case VPCI_ISR:
        if (!is_write && rel == 0)
            isr_read(t, data, len);
        else if (!is_write)
            memset(data, 0, len);
        return;
    case VPCI_DEVICE:
        device_io(t, rel, data, len, is_write);
        return;
    case VPCI_NOTIFY:
        if (is_write)
            notify_write(t, rel, VPCI_NOTIFY_MULT);
        else
            memset(data, 0, len);
        return;
    default:
        break;
    }
    pthread_mutex_lock(&t->irq_lock);
    bool claimed = msix_bar_io(&t->msix, off, data, len, is_write);
    pthread_mutex_unlock(&t->irq_lock);
    if (!claimed && !is_write)
        memset(data, 0, len);
}

/* ---- config space ---- */

/* Notify ioeventfds at `base` (0: none): one per queue, 2-byte writes of
 * the queue index (what Linux's vp_notify writes), in the I/O BAR's ports
 * or BAR 0's notify page. */
static void ioeventfds_set(struct virtio_pci *t, uint64_t base, bool assign)
{
    if (!t->hv || !base)
        return;
    bool io = t->io_size != 0;
    unsigned mult = io ? VPCI_IO_NOTIFY_MULT : VPCI_NOTIFY_MULT;
    for (unsigned q = 0; q < t->dev->num_queues; q++) {
        uint64_t a = base + (uint64_t)q * mult;
        int r = hv_ioeventfd(t->hv, a, 2, !io, q, t->dev->notify_fd[q], assign);
        if (r < 0 && assign)
            log_warn("%s: queue %u notify at %s 0x%llx exits (ioeventfd: %s)", t->core.name, q,
                     io ? "port" : "address", (unsigned long long)a, strerror(-r));
    }
}

/* The host's lock held: a BAR moved, or memory or I/O decoding was
 * switched. The dispatchers read bar_addr/io_addr atomically. */
static void bar_changed(void *opaque, struct pci_cfg *c)
{
    struct virtio_pci *t = opaque;
    uint64_t addr = 0, io = 0;
    if (!pci_cfg_bar_addr(c, 0, &addr))
        addr = 0;
    if (t->io_size && !pci_cfg_bar_addr(c, VPCI_IO_BAR, &io))
        io = 0;
    __atomic_store_n(&t->bar_addr, addr, __ATOMIC_RELEASE);
    __atomic_store_n(&t->io_addr, io, __ATOMIC_RELEASE);
    uint64_t notify = t->io_size ? io : addr ? addr + VPCI_NOTIFY : 0;
    if (notify == t->notify_addr)
        return;
    ioeventfds_set(t, t->notify_addr, false);
    t->notify_addr = notify;
    ioeventfds_set(t, notify, true);
}

/* VIRTIO_PCI_CAP_PCI_CFG: the driver picks bar/offset/length in the
 * capability and reads or writes pci_cfg_data to reach BAR 0 through
 * config space. The host's lock held. */
static void pci_cfg_cap_io(void *opaque, struct pci_cfg *c, unsigned off, uint8_t *data,
                           uint32_t len, bool is_write)
{
    struct virtio_pci *t = opaque;
    unsigned cap = (unsigned)t->pci_cfg_cap;
    if (off < cap + CAP_PCI_CFG_DATA) {
        if (is_write)
            pci_cfg_default_write(c, off, data, len);
        else
            pci_cfg_default_read(c, off, data, len);
        return;
    }
    uint8_t bar = c->data[cap + CAP_BAR];
    uint32_t boff = le32_load(c->data + cap + CAP_OFFSET);
    uint32_t blen = le32_load(c->data + cap + CAP_LENGTH);
    unsigned skip = off - (cap + CAP_PCI_CFG_DATA);
    bool io = t->io_size && bar == VPCI_IO_BAR;
    bool ok = (bar == 0 || io) && (blen == 1 || blen == 2 || blen == 4) && boff % blen == 0 &&
              boff < (io ? t->io_size : VIRTIO_PCI_BAR_SIZE) && skip == 0 && len >= blen;
    if (!ok) {
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    if (!is_write)
        memset(data, 0, len);
    if (io)
        virtio_pci_io_bar_io(t, boff, data, blen, is_write);
    else
        virtio_pci_bar_io(t, boff, data, blen, is_write);
}

/* A virtio vendor capability pointing at [off, off + len) of BAR 0. */
static int add_cap(struct virtio_pci *t, uint8_t type, unsigned caplen, uint32_t off, uint32_t len)
{
    int at = pci_cfg_cap_add(&t->cfg, PCI_CAP_ID_VNDR, caplen);
    if (at < 0)
        return at;
    uint8_t *p = t->cfg.data + at;
    p[CAP_TYPE] = type;
    p[CAP_BAR] = 0;
    le32_store(p + CAP_OFFSET, off);
    le32_store(p + CAP_LENGTH, len);
    return at;
}

void virtio_pci_io_bar_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct virtio_pci *t = opaque;
    if (is_write)
        notify_write(t, off, VPCI_IO_NOTIFY_MULT);
    else
        memset(data, 0, len);
}

uint32_t virtio_pci_io_bar_size(const struct virtio_dev *d)
{
    uint32_t need = VPCI_IO_NOTIFY_MULT * (uint32_t)d->num_queues, size = 4;
    while (size < need)
        size *= 2;
    return size;
}

int virtio_pci_use_io_notify(struct virtio_pci *t, uint64_t io_addr)
{
    uint32_t size = virtio_pci_io_bar_size(t->dev);
    int r;
    if (t->io_size || t->notify_cap <= 0)
        return -EINVAL;
    if ((r = pci_cfg_bar_init(&t->cfg, VPCI_IO_BAR, size, PCI_BAR_IO)) < 0 ||
        (r = pci_cfg_bar_set_addr(&t->cfg, VPCI_IO_BAR, io_addr)) < 0)
        return r;
    uint8_t *p = t->cfg.data + t->notify_cap;
    p[CAP_BAR] = VPCI_IO_BAR;
    le32_store(p + CAP_OFFSET, 0);
    le32_store(p + CAP_LENGTH, VPCI_IO_NOTIFY_MULT * t->dev->num_queues);
    le32_store(p + CAP_NOTIFY_MULT, VPCI_IO_NOTIFY_MULT);
    t->io_size = size;
    return 0;
}

int virtio_pci_init(struct virtio_pci *t, struct virtio_dev *d, struct hv_vm *hv, uint8_t slot,
                    uint64_t bar_addr, uint32_t intx_gsi, uint32_t msi_first)
{
    memset(t, 0, sizeof(*t));
    t->dev = d;
    t->hv = hv;
    t->slot = slot;
    t->intx_gsi = intx_gsi;
    t->msi_first = msi_first;
    t->config_vector = VIRTIO_NO_VECTOR;
    for (unsigned i = 0; i < VIRTIO_PCI_MAX_VECTORS; i++)
        t->irq_fd[i] = -1;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        d->notify_fd[i] = -1;
    d->xport = (struct virtio_transport){ .ops = &pci_transport_ops, .opaque = t };
    pthread_mutex_init(&t->lock, NULL);
    pthread_mutex_init(&t->irq_lock, NULL);
    char where[32];
    snprintf(where, sizeof(where), "at 00:%02x.0", slot);
    virtio_core_init(&t->core, d, where, &t->lock, clear_regs, t);
    if (!virtio_core_dev_valid(d) || d->config_size > VPCI_REGION || slot >= 32)
        return -EINVAL;
    t->nvec = d->num_queues + 1u;
    struct pci_cfg_ids ids = {
        .vendor = VIRTIO_PCI_VENDOR, .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + d->ops->device_id),
        .revision = 1, .class_code = class_for(d->ops->device_id),
        .subsys_vendor = VIRTIO_PCI_VENDOR, .subsys = 0x40, .intx_pin = PCI_INTX_A,
    };
    int r;
    if ((r = pci_cfg_init(&t->cfg, &ids, bar_changed, t)) < 0 ||
        (r = pci_cfg_bar_init(&t->cfg, 0, VIRTIO_PCI_BAR_SIZE, PCI_BAR_MEM_TYPE_64 | PCI_BAR_PREFETCH)) < 0 ||
        (r = pci_cfg_bar_set_addr(&t->cfg, 0, bar_addr)) < 0)
        return r;
    int notify;
    if ((r = add_cap(t, CAP_COMMON, 16, VPCI_COMMON, VPCI_COMMON_LEN)) < 0 ||
        (r = notify = t->notify_cap = add_cap(t, CAP_NOTIFY, 20, VPCI_NOTIFY, VPCI_NOTIFY_MULT * d->num_queues)) < 0 ||
        (r = add_cap(t, CAP_ISR, 16, VPCI_ISR, 1)) < 0 ||
        (d->config_size && (r = add_cap(t, CAP_DEVICE, 16, VPCI_DEVICE, d->config_size)) < 0) ||
        (r = t->pci_cfg_cap = add_cap(t, CAP_PCI_CFG, 20, 0, 0)) < 0)
        return r;
    le32_store(t->cfg.data + notify + CAP_NOTIFY_MULT, VPCI_NOTIFY_MULT);
    /* pci_cfg window: bar, offset and length writable; data through the hook */
    if ((r = pci_cfg_set_wmask(&t->cfg, (unsigned)t->pci_cfg_cap + CAP_BAR, 1, 0xff)) < 0 ||
        (r = pci_cfg_set_wmask(&t->cfg, (unsigned)t->pci_cfg_cap + CAP_OFFSET, 8, 0xff)) < 0 ||
        (r = pci_cfg_cap_set_hook(&t->cfg, (unsigned)t->pci_cfg_cap, pci_cfg_cap_io, t)) < 0)
        return r;
    if ((r = msix_init(&t->msix, &t->cfg, t->nvec, 0, VPCI_MSIX_TABLE, VPCI_MSIX_PBA,
                       &vpci_msix_ops, t, &t->irq_lock)) < 0)
        return r;
    for (unsigned q = 0; q < d->num_queues; q++) {
        if ((d->notify_fd[q] = efd_new()) < 0)
            return d->notify_fd[q];
        t->core.q[q].num = d->queue_max;
    }
    for (unsigned v = 0; v < t->nvec; v++) {
        if ((t->irq_fd[v] = efd_new()) < 0)
            return t->irq_fd[v];
        if (hv) {
            if ((r = hv_irqfd(hv, msi_first + v, t->irq_fd[v], true)) < 0)
                return r;
            t->irqfd_assigned[v] = true;
        }
    }
    return 0;
}

void virtio_pci_destroy(struct virtio_pci *t)
{
    struct virtio_dev *d = t->dev;
    if (!d)
        return;
    virtio_core_wait_reset(&t->core);
    pthread_mutex_lock(&t->lock);
    transport_reset(t);
    pthread_mutex_unlock(&t->lock);
    virtio_core_fini(&t->core);
    ioeventfds_set(t, t->notify_addr, false);
    t->notify_addr = 0;
    for (unsigned v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++) {
        if (t->irqfd_assigned[v])
            hv_irqfd(t->hv, t->msi_first + v, t->irq_fd[v], false);
        if (t->routed[v])
            hv_msi_route_clear(t->hv, t->msi_first + v);
        if (t->irq_fd[v] >= 0)
            close(t->irq_fd[v]);
        t->irq_fd[v] = -1;
    }
    for (unsigned q = 0; q < d->num_queues && q < VIRTIO_MAX_QUEUES; q++) {
        if (d->notify_fd[q] >= 0)
            close(d->notify_fd[q]);
        d->notify_fd[q] = -1;
    }
    if (d->ops->destroy)
        d->ops->destroy(d);
    pthread_mutex_destroy(&t->irq_lock);
    pthread_mutex_destroy(&t->lock);
    t->dev = NULL;
}
