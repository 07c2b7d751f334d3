/* libFuzzer target: the virtio-pci transport (virtio/pci.c over
 * virtio/core.c) as a guest driver sees it: config space and every region
 * of BAR 0 (common config, ISR, device config, notify, MSI-X table and
 * PBA), against a device with two queues and 16 bytes of config space.
 *
 * The device's reset blocks until the input releases it, so the state in
 * which a reset runs in the background (driver writes ignored, status
 * non-zero) is reached deterministically.
 *
 * Input: a sequence of 8-byte ops (a trailing partial op is dropped):
 *
 *   byte 0   bits 1:0 space: 0 BAR 0, 1 config space, 2 control
 *            bit 2    write
 *            bits 5:3 len code: 1, 2, 4, 8, 0, 3, 16, 4
 *   byte 1-2 offset (LE; BAR 0: low 15 bits, config space: low 12 bits)
 *   byte 3   unused
 *   byte 4-7 value (LE; 8- and 16-byte writes repeat it)
 *
 *   control: value bit 0 releases a running reset and waits for it, bit 1
 *   drains the queue notify and interrupt eventfds.
 *
 * After every op the invariants are checked: the device was activated only
 * with an accepted feature set (VERSION_1, nothing not offered) and only
 * its queues' configuration at DRIVER_OK; num_queues, the ids and the
 * BAR's type bits never change; ISR reads only its two bits; status reads
 * 0 once a reset is complete; every vector reads a valid number or
 * NO_VECTOR; queue sizes never exceed the maximum. ASan catches any
 * out-of-bounds access, UBSan undefined behaviour. */
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/le.h"
#include "hv/hv.h"
#include "mem/mem.h"
#include "pci/cfg.h"
#include "virtio/pci.h"

/* No KVM here: the transport runs with hv == NULL and never calls these. */
int hv_irq_line(struct hv_vm *vm, uint32_t gsi, int level) { abort(); }
int hv_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, bool mmio, uint64_t datamatch,
                 int fd, bool assign) { abort(); }
int hv_irqfd(struct hv_vm *vm, uint32_t gsi, int fd, bool assign) { abort(); }
int hv_msi_route_set(struct hv_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, uint32_t devid)
{ abort(); }
int hv_msi_route_clear(struct hv_vm *vm, uint32_t gsi) { abort(); }

#define QMAX 256
#define NQ   2
#define CFGSZ 16
#define F_OFFERED ((1ull << 32) | (1ull << 29) | (1ull << 28) | 0x5)

struct fake {
    struct virtio_dev d;
    uint8_t config[CFGSZ];
    int release_fd;
    bool active;
};

static void fake_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
    struct fake *f = d->priv;
    if (off > CFGSZ || len > CFGSZ - off)
        abort();
    memcpy(data, f->config + off, len);
}

static void fake_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
    struct fake *f = d->priv;
    if (off > CFGSZ || len > CFGSZ - off)
        abort();
    memcpy(f->config + off, data, len);
}

static int fake_activate(struct virtio_dev *d)
{
    struct fake *f = d->priv;
    if (f->active)
        abort();                /* activated twice without a reset */
    if ((d->driver_features & ~d->device_features) || !(d->driver_features >> 32 & 1))
        abort();                /* a feature set the core must have refused */
    for (unsigned i = 0; i < NQ; i++) {
        if (!d->vq_ready[i])
            continue;
        const struct virtq *q = &d->vqs[i];
        if (q->size == 0 || q->size > QMAX || (q->size & (q->size - 1)))
            abort();            /* virtq_init must have refused it */
    }
    f->active = true;
    return 0;
}

static void fake_reset(struct virtio_dev *d)
{
    struct fake *f = d->priv;
    struct pollfd p = { .fd = f->release_fd, .events = POLLIN };
    poll(&p, 1, 5000);          /* the input (or teardown) releases it */
    efd_drain(f->release_fd);
    f->active = false;
}

static const struct virtio_dev_ops fake_ops = {
    .name = "virtio-fuzz", .device_id = 4,
    .config_read = fake_config_read, .config_write = fake_config_write,
    .activate = fake_activate, .reset = fake_reset,
};

static struct guest_mem mem;
static bool ready;

static void setup_once(void)
{
    if (ready)
        return;
    mem.n = 1;
    mem.r[0].size = 1u << 20;
    if (mem_map(&mem) < 0)
        abort();
    ready = true;
}

static const uint32_t lens[8] = { 1, 2, 4, 8, 0, 3, 16, 4 };

static void bar(struct virtio_pci *t, uint64_t off, uint8_t *b, uint32_t len, bool w)
{
    virtio_pci_bar_io(t, off, b, len, w);
}

static uint64_t bar_rd(struct virtio_pci *t, uint64_t off, uint32_t len)
{
    uint8_t b[8] = { 0 };
    bar(t, off, b, len, false);
    return le64_load(b);
}

static void release(struct fake *f, struct virtio_pci *t)
{
    efd_signal(f->release_fd);
    virtio_core_wait_reset(&t->core);
    efd_drain(f->release_fd);
}

static void check(struct fake *f, struct virtio_pci *t)
{
    if (bar_rd(t, VPCI_COMMON + VPCI_NUM_QUEUES, 2) != NQ)
        abort();
    uint16_t cv = (uint16_t)bar_rd(t, VPCI_COMMON + VPCI_MSIX_CONFIG, 2);
    if (cv != VIRTIO_NO_VECTOR && cv >= t->nvec)
        abort();
    pthread_mutex_lock(&t->lock);
    /* Outside a reset the core and the device agree on being active. */
    if (!virtio_core_resetting(&t->core) && t->core.activated != f->active)
        abort();
    for (unsigned q = 0; q < NQ; q++) {
        const struct virtio_queue_cfg *qc = &t->core.q[q];
        if (qc->num > QMAX)
            abort();
        if (qc->vector != VIRTIO_NO_VECTOR && qc->vector >= t->nvec)
            abort();
    }
    pthread_mutex_unlock(&t->lock);
    uint8_t ids[4];
    pci_cfg_read(&t->cfg, 0, ids, 4);
    if (le16_load(ids) != 0x1af4 || le16_load(ids + 2) != 0x1044)
        abort();
    uint8_t b0[4];
    pci_cfg_read(&t->cfg, 0x10, b0, 4);
    if ((b0[0] & 0xf) != 0xc)   /* 64-bit prefetchable memory BAR */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    setup_once();
    struct fake f;
    memset(&f, 0, sizeof(f));
    f.release_fd = efd_new();
    if (f.release_fd < 0)
        abort();
    f.d.ops = &fake_ops;
    f.d.priv = &f;
    f.d.mem = &mem;
    f.d.device_features = F_OFFERED;
    f.d.num_queues = NQ;
    f.d.queue_max = QMAX;
    f.d.config_size = CFGSZ;
    struct virtio_pci t;
    if (virtio_pci_init(&t, &f.d, NULL, 1, 0x100000000ULL, 16, 24) < 0)
        abort();
    /* the first byte picks x86's layout (notify in an I/O BAR) or arm64's */
    if (size && (data[0] & 0x80) && virtio_pci_use_io_notify(&t, 0xc000) < 0)
        abort();
    uint8_t cmd[2] = { 0x07, 0 };           /* I/O and memory decoding, bus master */
    pci_cfg_write(&t.cfg, 0x04, cmd, 2);

    for (size_t i = 0; i + 8 <= size; i += 8) {
        const uint8_t *op = data + i;
        unsigned space = op[0] & 3;
        bool w = op[0] & 4;
        uint32_t len = lens[(op[0] >> 3) & 7];
        uint32_t off = le16_load(op + 1);
        uint32_t v = le32_load(op + 4);
        uint8_t buf[16];
        for (unsigned k = 0; k < sizeof(buf); k += 4)
            le32_store(buf + k, v);
        switch (space) {
        case 0:
            bar(&t, off & 0x7fff, buf, len, w);
            break;
        case 1:
            off &= 0xfff;
            if (w)
                pci_cfg_write(&t.cfg, off, buf, len);
            else
                pci_cfg_read(&t.cfg, off, buf, len);
            break;
        case 2:
            if (v & 1)
                release(&f, &t);
            if (v & 2) {
                for (unsigned q = 0; q < NQ; q++)
                    efd_drain(f.d.notify_fd[q]);
                for (unsigned k = 0; k < t.nvec; k++)
                    efd_drain(t.irq_fd[k]);
            }
            break;
        case 3:                             /* the notify I/O BAR, if any */
            if (t.io_size)
                virtio_pci_io_bar_io(&t, off % t.io_size, buf,
                                     len <= t.io_size - off % t.io_size ? len : 1, w);
            break;
        }
        check(&f, &t);
        if ((uint8_t)bar_rd(&t, VPCI_ISR, 1) & ~3u)
            abort();
    }
    /* A reset that completed reads 0. */
    bar(&t, VPCI_COMMON + VPCI_STATUS, (uint8_t[8]){ 0 }, 1, true);
    release(&f, &t);
    if (bar_rd(&t, VPCI_COMMON + VPCI_STATUS, 1) != 0 || f.active)
        abort();
    efd_signal(f.release_fd);               /* teardown never waits on it */
    virtio_pci_destroy(&t);
    close(f.release_fd);
    return 0;
}
