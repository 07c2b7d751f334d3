/* A driver's reset of an active device does not hold the vCPU on the
 * device's workers: on virtio-pci the status write returns at once and
 * status reads non-zero until the reset is done (the driver polls, as
 * Linux's virtio_pci does); on virtio-mmio, whose Linux driver does not
 * poll, the write waits for the reset, but at most
 * VIRTIO_MMIO_RESET_WAIT_NS. While a reset runs the driver's writes are
 * ignored. The device here is a fake whose reset blocks until the test
 * releases it, standing in for workers that finish slow requests. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/le.h"
#include "harness.h"
#include "mem/mem.h"
#include "pci/cfg.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"

#define GMEM_SIZE (1u << 20)
#define RING      0x10000u
#define QMAX      64
#define BAR       0x100000000ULL

struct slow {
    struct virtio_dev d;
    int release_fd;         /* reset returns once this is readable */
    atomic_int activations, resets;
};

static int slow_activate(struct virtio_dev *d)
{
    struct slow *s = d->priv;
    atomic_fetch_add(&s->activations, 1);
    return 0;
}

static void slow_reset(struct virtio_dev *d)
{
    struct slow *s = d->priv;
    /* Bounded, so a transport that wrongly waits here shows up as a failed
     * check rather than a hung test. */
    struct pollfd p = { .fd = s->release_fd, .events = POLLIN };
    poll(&p, 1, 10000);
    atomic_fetch_add(&s->resets, 1);
}

static const struct virtio_dev_ops slow_ops = {
    .name = "virtio-slow", .device_id = 4,
    .activate = slow_activate, .reset = slow_reset,
};

static int slow_init(struct slow *s, struct guest_mem *mem)
{
    memset(s, 0, sizeof(*s));
    memset(mem, 0, sizeof(*mem));
    mem->n = 1;
    mem->r[0].size = GMEM_SIZE;
    if (mem_map(mem) < 0)
        return -1;
    s->release_fd = efd_new();
    s->d.ops = &slow_ops;
    s->d.priv = s;
    s->d.mem = mem;
    s->d.device_features = 1ull << VIRTIO_F_VERSION_1;
    s->d.num_queues = 1;
    s->d.queue_max = QMAX;
    return s->release_fd < 0 ? -1 : 0;
}

/* ---- virtio-pci ---- */

static uint32_t pci_rd(struct virtio_pci *t, uint64_t off, uint32_t len)
{
    uint8_t b[8] = { 0 };
    virtio_pci_bar_io(t, off, b, len, false);
    return le32_load(b);
}

static void pci_wr(struct virtio_pci *t, uint64_t off, uint32_t len, uint64_t v)
{
    uint8_t b[8];
    le64_store(b, v);
    virtio_pci_bar_io(t, off, b, len, true);
}

static void pci_bring_up(struct virtio_pci *t)
{
    pci_wr(t, VPCI_COMMON + VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    pci_wr(t, VPCI_COMMON + VPCI_GFSELECT, 4, 1);
    pci_wr(t, VPCI_COMMON + VPCI_GF, 4, 1);                 /* VERSION_1 */
    pci_wr(t, VPCI_COMMON + VPCI_STATUS, 1, 0x0b);
    pci_wr(t, VPCI_COMMON + VPCI_Q_SELECT, 2, 0);
    pci_wr(t, VPCI_COMMON + VPCI_Q_SIZE, 2, QMAX);
    pci_wr(t, VPCI_COMMON + VPCI_Q_DESC, 8, RING);
    pci_wr(t, VPCI_COMMON + VPCI_Q_AVAIL, 8, RING + 0x4000);
    pci_wr(t, VPCI_COMMON + VPCI_Q_USED, 8, RING + 0x8000);
    pci_wr(t, VPCI_COMMON + VPCI_Q_ENABLE, 2, 1);
    pci_wr(t, VPCI_COMMON + VPCI_STATUS, 1, 0x0f);
}

static void t_pci_reset_in_background(void)
{
    struct slow s;
    struct guest_mem mem;
    struct virtio_pci t;
    CHECK(slow_init(&s, &mem) == 0);
    CHECK(virtio_pci_init(&t, &s.d, NULL, 1, BAR, 16, 24) == 0);
    uint8_t cmd[2] = { PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER, 0 };
    pci_cfg_write(&t.cfg, PCI_COMMAND, cmd, 2);

    pci_bring_up(&t);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_STATUS, 1), 0x0f);
    CHECK_EQ(atomic_load(&s.activations), 1);

    pci_wr(&t, VPCI_COMMON + VPCI_STATUS, 1, 0);    /* returns with the reset blocked */
    CHECK_EQ(atomic_load(&s.resets), 0);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_STATUS, 1), 0x0f);
    /* A driver that does not wait: its writes are ignored meanwhile. */
    pci_wr(&t, VPCI_COMMON + VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_STATUS, 1), 0x0f);
    pci_wr(&t, VPCI_COMMON + VPCI_Q_SIZE, 2, 8);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_Q_SIZE, 2), QMAX);
    CHECK_EQ(atomic_load(&s.activations), 1);

    efd_signal(s.release_fd);
    virtio_core_wait_reset(&t.core);                /* what the driver's polling waits for */
    CHECK_EQ(atomic_load(&s.resets), 1);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_STATUS, 1), 0);
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_Q_ENABLE, 2), 0);

    efd_drain(s.release_fd);
    pci_bring_up(&t);                               /* and it comes up again */
    CHECK_EQ(pci_rd(&t, VPCI_COMMON + VPCI_STATUS, 1), 0x0f);
    CHECK_EQ(atomic_load(&s.activations), 2);

    efd_signal(s.release_fd);                       /* teardown resets it once more */
    virtio_pci_destroy(&t);
    CHECK_EQ(atomic_load(&s.resets), 2);
    close(s.release_fd);
    mem_unmap(&mem);
}

/* ---- virtio-mmio ---- */

static uint32_t mmio_rd(struct virtio_mmio *t, uint64_t off)
{
    uint8_t b[4];
    virtio_mmio_io(t, off, b, 4, false);
    return le32_load(b);
}

static void mmio_wr(struct virtio_mmio *t, uint64_t off, uint32_t v)
{
    uint8_t b[4];
    le32_store(b, v);
    virtio_mmio_io(t, off, b, 4, true);
}

static void mmio_bring_up(struct virtio_mmio *t)
{
    mmio_wr(t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_wr(t, VMMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(t, VMMIO_DRIVER_FEATURES, 1);
    mmio_wr(t, VMMIO_STATUS, 0x0b);
    mmio_wr(t, VMMIO_QUEUE_SEL, 0);
    mmio_wr(t, VMMIO_QUEUE_NUM, QMAX);
    mmio_wr(t, VMMIO_QUEUE_DESC_LOW, RING);
    mmio_wr(t, VMMIO_QUEUE_DRIVER_LOW, RING + 0x4000);
    mmio_wr(t, VMMIO_QUEUE_DEVICE_LOW, RING + 0x8000);
    mmio_wr(t, VMMIO_QUEUE_READY, 1);
    mmio_wr(t, VMMIO_STATUS, 0x0f);
}

static void t_mmio_reset_waits_bounded(void)
{
    struct slow s;
    struct guest_mem mem;
    struct virtio_mmio t;
    CHECK(slow_init(&s, &mem) == 0);
    CHECK(virtio_mmio_init(&t, &s.d, NULL, 0xd0000000, 5) == 0);

    /* A reset that finishes quickly is complete when the write returns. */
    mmio_bring_up(&t);
    CHECK_EQ(mmio_rd(&t, VMMIO_STATUS), 0x0f);
    efd_signal(s.release_fd);
    mmio_wr(&t, VMMIO_STATUS, 0);
    CHECK_EQ(atomic_load(&s.resets), 1);
    CHECK_EQ(mmio_rd(&t, VMMIO_STATUS), 0);
    CHECK_EQ(mmio_rd(&t, VMMIO_QUEUE_READY), 0);
    efd_drain(s.release_fd);

    /* One that does not: the write returns after the bound, the reset
     * goes on, status reads non-zero and writes are ignored until done. */
    mmio_bring_up(&t);
    CHECK_EQ(atomic_load(&s.activations), 2);
    mmio_wr(&t, VMMIO_STATUS, 0);
    CHECK_EQ(atomic_load(&s.resets), 1);
    CHECK_EQ(mmio_rd(&t, VMMIO_STATUS), 0x0f);
    mmio_wr(&t, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    CHECK_EQ(mmio_rd(&t, VMMIO_STATUS), 0x0f);
    efd_signal(s.release_fd);
    virtio_core_wait_reset(&t.core);
    CHECK_EQ(atomic_load(&s.resets), 2);
    CHECK_EQ(mmio_rd(&t, VMMIO_STATUS), 0);

    virtio_mmio_destroy(&t);
    CHECK_EQ(atomic_load(&s.resets), 2);            /* not active: nothing to reset */
    close(s.release_fd);
    mem_unmap(&mem);
}

int main(void)
{
    RUN(t_pci_reset_in_background);
    RUN(t_mmio_reset_waits_bounded);
    return harness_done();
}
