/* virtio-pci transport without KVM (hv == NULL): a virtio-blk device on a
 * scratch image behind virtio-pci, driven through its config space and
 * BAR 0 like Linux's virtio_pci_modern driver would. Notify writes signal
 * the queue eventfd; MSI-X vectors land in t.irq_fd[v]; INTx is the ISR
 * and t.intx_level. Also: every malformed access we can think of leaves
 * the transport consistent. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/le.h"
#include "harness.h"
#include "mem/mem.h"
#include "pci/cfg.h"
#include "pci/msix.h"
#include "virtio/blk.h"
#include "virtio/blk_req.h"
#include "virtio/pci.h"

#define GMEM_SIZE (8u << 20)
#define RING      0x10000u          /* desc, avail at +0x4000, used at +0x8000 */
#define REQ       0x40000u          /* header, id buffer, status */
#define QSZ       64
#define BAR       0x100000000ULL

struct drv {
    struct guest_mem mem;
    struct virtio_pci t;
    struct virtio_dev *d;
    char path[64];
    uint16_t avail_idx;
};

static uint8_t *g(struct drv *v, uint64_t gpa)
{
    uint8_t *p = mem_ptr(&v->mem, gpa, 1);
    if (!p)
        abort();
    return p;
}

static uint32_t cfg_rd(struct drv *v, unsigned off, uint32_t len)
{
    uint8_t b[4] = { 0 };
    pci_cfg_read(&v->t.cfg, off, b, len);
    return le32_load(b);
}

static void cfg_wr(struct drv *v, unsigned off, uint32_t len, uint32_t val)
{
    uint8_t b[4];
    le32_store(b, val);
    pci_cfg_write(&v->t.cfg, off, b, len);
}

static uint64_t bar_rd(struct drv *v, uint64_t off, uint32_t len)
{
    uint8_t b[8] = { 0 };
    virtio_pci_bar_io(&v->t, off, b, len, false);
    return le64_load(b);
}

static void bar_wr(struct drv *v, uint64_t off, uint32_t len, uint64_t val)
{
    uint8_t b[8];
    le64_store(b, val);
    virtio_pci_bar_io(&v->t, off, b, len, true);
}

/* Offset of the virtio vendor capability of `type`, or 0. */
static unsigned find_cap(struct drv *v, uint8_t type)
{
    for (unsigned p = cfg_rd(v, PCI_CAPABILITY_LIST, 1), n = 0; p && n < 48; n++) {
        if (cfg_rd(v, p, 1) == PCI_CAP_ID_VNDR && cfg_rd(v, p + 3, 1) == type)
            return p;
        p = cfg_rd(v, p + 1, 1);
    }
    return 0;
}

static unsigned find_msix(struct drv *v)
{
    for (unsigned p = cfg_rd(v, PCI_CAPABILITY_LIST, 1), n = 0; p && n < 48; n++) {
        if (cfg_rd(v, p, 1) == PCI_CAP_ID_MSIX)
            return p;
        p = cfg_rd(v, p + 1, 1);
    }
    return 0;
}

static int drv_open(struct drv *v)
{
    memset(v, 0, sizeof(*v));
    v->mem.n = 1;
    v->mem.r[0].size = GMEM_SIZE;
    if (mem_map(&v->mem) < 0)
        return -1;
    snprintf(v->path, sizeof(v->path), "/tmp/arcvmm-vpci-XXXXXX");
    int fd = mkstemp(v->path);
    if (fd < 0 || ftruncate(fd, 1 << 20) < 0)
        return -1;
    close(fd);
    struct virtio_blk_cfg bc = { .path = v->path, .serial = "vpci-serial", .num_queues = 1 };
    char err[256];
    if (virtio_blk_create(&bc, &v->mem, &v->d, err, sizeof(err)) < 0)
        return -1;
    virtio_blk_set_io_mode(v->d, VIRTIO_BLK_IO_SYNC);
    if (virtio_pci_init(&v->t, v->d, NULL, 1, BAR, 16, 24) < 0)
        return -1;
    cfg_wr(v, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return v->t.bar_addr == BAR ? 0 : -1;
}

static void drv_close(struct drv *v)
{
    virtio_pci_destroy(&v->t);
    mem_unmap(&v->mem);
    unlink(v->path);
}

/* Linux's order: reset, ACK, DRIVER, features, FEATURES_OK, queue 0
 * (vector qvec), config vector, DRIVER_OK. */
/* Reset and wait for it as the driver does (status reads 0 once the
 * background reset is done; see test_virtio_reset.c). */
static void drv_reset(struct drv *v)
{
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0);
    virtio_core_wait_reset(&v->t.core);
}

static int drv_start(struct drv *v, uint16_t cvec, uint16_t qvec)
{
    drv_reset(v);
    if (bar_rd(v, VPCI_COMMON + VPCI_STATUS, 1) != 0)
        return -1;
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    bar_wr(v, VPCI_COMMON + VPCI_DFSELECT, 4, 1);
    uint32_t hi = (uint32_t)bar_rd(v, VPCI_COMMON + VPCI_DF, 4);
    if (!(hi & 1))                  /* VERSION_1 */
        return -1;
    bar_wr(v, VPCI_COMMON + VPCI_GFSELECT, 4, 1);
    bar_wr(v, VPCI_COMMON + VPCI_GF, 4, 1);
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0x0b);
    if (!(bar_rd(v, VPCI_COMMON + VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK))
        return -1;
    memset(g(v, RING), 0, 0x10000);
    v->avail_idx = 0;
    bar_wr(v, VPCI_COMMON + VPCI_Q_SELECT, 2, 0);
    if (bar_rd(v, VPCI_COMMON + VPCI_Q_SIZE, 2) != VIRTIO_BLK_QUEUE_MAX)
        return -1;
    bar_wr(v, VPCI_COMMON + VPCI_Q_SIZE, 2, QSZ);
    bar_wr(v, VPCI_COMMON + VPCI_Q_MSIX, 2, qvec);
    bar_wr(v, VPCI_COMMON + VPCI_Q_DESC, 4, RING);          /* two halves */
    bar_wr(v, VPCI_COMMON + VPCI_Q_DESC + 4, 4, 0);
    bar_wr(v, VPCI_COMMON + VPCI_Q_AVAIL, 8, RING + 0x4000); /* one 8-byte write */
    bar_wr(v, VPCI_COMMON + VPCI_Q_USED, 8, RING + 0x8000);
    bar_wr(v, VPCI_COMMON + VPCI_Q_ENABLE, 2, 1);
    bar_wr(v, VPCI_COMMON + VPCI_MSIX_CONFIG, 2, cvec);
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0x0f);
    return (bar_rd(v, VPCI_COMMON + VPCI_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? -1 : 0;
}

/* MSI-X on, vectors 0..n-1 with an address and unmasked. */
static void msix_on(struct drv *v, unsigned n)
{
    unsigned m = find_msix(v);
    cfg_wr(v, m + 2, 2, MSIX_CTRL_ENABLE);
    for (unsigned i = 0; i < n; i++) {
        uint64_t e = VPCI_MSIX_TABLE + 16 * i;
        bar_wr(v, e, 4, 0xfee00000);
        bar_wr(v, e + 4, 4, 0);
        bar_wr(v, e + 8, 4, 0x40 + i);
        bar_wr(v, e + 12, 4, 0);
    }
}

/* A GET_ID request on queue 0 and its notify; 0 once the status byte says OK. */
static void get_id(struct drv *v)
{
    uint8_t *d = g(v, RING);
    memset(g(v, REQ), 0, 64);
    le32_store(g(v, REQ), VIRTIO_BLK_T_GET_ID);
    const struct { uint64_t a; uint32_t l; uint16_t f; } c[3] = {
        { REQ, 16, 1 }, { REQ + 16, 20, 1 | 2 }, { REQ + 40, 1, 2 },
    };
    for (int i = 0; i < 3; i++) {
        le64_store(d + 16 * i, c[i].a);
        le32_store(d + 16 * i + 8, c[i].l);
        le16_store(d + 16 * i + 12, c[i].f);
        le16_store(d + 16 * i + 14, (uint16_t)(i + 1));
    }
    g(v, REQ + 40)[0] = 0xee;
    uint8_t *avail = g(v, RING + 0x4000);
    le16_store(avail + 4 + 2 * (v->avail_idx % QSZ), 0);
    v->avail_idx++;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    le16_store(avail + 2, v->avail_idx);
    if (v->t.io_size) {                 /* the notify registers are in the I/O BAR */
        uint8_t q[2] = { 0, 0 };
        virtio_pci_io_bar_io(&v->t, 0, q, 2, true);
    } else {
        bar_wr(v, VPCI_NOTIFY + 0, 2, 0);
    }
}

static bool status_ok(struct drv *v)
{
    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(g(v, REQ + 40), __ATOMIC_ACQUIRE) == VIRTIO_BLK_S_OK)
            return true;
        struct pollfd p = { .fd = -1 };
        poll(&p, 0, 1);
    }
    return false;
}

static bool readable(int fd, int ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, ms) == 1;
}

static void drain_fd(int fd)
{
    uint64_t x;
    while (readable(fd, 0) && read(fd, &x, 8) == 8)
        ;
}

static void t_ids_and_caps(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    CHECK_EQ(cfg_rd(&v, PCI_VENDOR_ID, 2), 0x1af4);
    CHECK_EQ(cfg_rd(&v, PCI_DEVICE_ID, 2), 0x1042);
    CHECK(cfg_rd(&v, PCI_REVISION_ID, 1) >= 1);
    CHECK(cfg_rd(&v, PCI_SUBSYSTEM_ID, 2) >= 0x40);
    CHECK_EQ(cfg_rd(&v, PCI_INTERRUPT_PIN, 1), 1);
    static const struct { uint8_t type; uint32_t off; } want[] = {
        { 1, VPCI_COMMON }, { 2, VPCI_NOTIFY }, { 3, VPCI_ISR }, { 4, VPCI_DEVICE }, { 5, 0 },
    };
    for (unsigned i = 0; i < 5; i++) {
        unsigned c = find_cap(&v, want[i].type);
        CHECK(c != 0);
        CHECK_EQ(cfg_rd(&v, c + 4, 1), 0);                 /* BAR 0 */
        CHECK_EQ(cfg_rd(&v, c + 8, 4), want[i].off);
    }
    CHECK_EQ(cfg_rd(&v, find_cap(&v, 2) + 16, 4), VPCI_NOTIFY_MULT);
    CHECK_EQ(cfg_rd(&v, find_cap(&v, 4) + 12, 4), VIRTIO_BLK_CONFIG_SIZE);
    unsigned m = find_msix(&v);
    CHECK(m != 0);
    CHECK_EQ((cfg_rd(&v, m + 2, 2) & MSIX_CTRL_TABLE_SIZE) + 1, 2);   /* 1 queue + config */
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_NUM_QUEUES, 2), 1);
    drv_close(&v);
}

static void t_msix_request(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    msix_on(&v, 2);
    CHECK(drv_start(&v, 0, 1) == 0);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_Q_MSIX, 2), 1);
    get_id(&v);
    CHECK(status_ok(&v));
    CHECK(readable(v.t.irq_fd[1], 2000));       /* the queue's vector */
    CHECK(!readable(v.t.irq_fd[0], 0));         /* not the config one */
    CHECK_EQ(v.t.isr, 0);                       /* no ISR, no INTx with MSI-X */
    CHECK(!v.t.intx_level);
    CHECK(memcmp(g(&v, REQ + 16), "vpci-serial", 11) == 0);
    drv_close(&v);
}

static void t_msix_masked_pending(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    msix_on(&v, 2);
    CHECK(drv_start(&v, 0, 1) == 0);
    bar_wr(&v, VPCI_MSIX_TABLE + 16 + 12, 4, 1);            /* mask vector 1 */
    get_id(&v);
    CHECK(status_ok(&v));
    CHECK(!readable(v.t.irq_fd[1], 200));
    CHECK(bar_rd(&v, VPCI_MSIX_PBA, 8) & 2);                /* pending */
    bar_wr(&v, VPCI_MSIX_TABLE + 16 + 12, 4, 0);            /* unmask: delivered */
    CHECK(readable(v.t.irq_fd[1], 2000));
    CHECK_EQ(bar_rd(&v, VPCI_MSIX_PBA, 8) & 2, 0);
    drv_close(&v);
}

static void t_intx(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    CHECK(drv_start(&v, VIRTIO_NO_VECTOR, VIRTIO_NO_VECTOR) == 0);
    get_id(&v);
    CHECK(status_ok(&v));
    for (int i = 0; i < 2000 && !__atomic_load_n(&v.t.intx_level, __ATOMIC_ACQUIRE); i++)
        poll(NULL, 0, 1);
    CHECK(v.t.intx_level);
    CHECK_EQ(bar_rd(&v, VPCI_ISR, 1), VIRTIO_ISR_QUEUE);   /* read clears and lowers */
    CHECK(!v.t.intx_level);
    CHECK_EQ(bar_rd(&v, VPCI_ISR, 1), 0);
    drv_close(&v);
}

static void t_reset(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    msix_on(&v, 2);
    CHECK(drv_start(&v, 0, 1) == 0);
    bar_wr(&v, VPCI_COMMON + VPCI_Q_SELECT, 2, 0);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_Q_SIZE, 2), QSZ);
    drv_reset(&v);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_STATUS, 1), 0);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_Q_SIZE, 2), VIRTIO_BLK_QUEUE_MAX);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_Q_ENABLE, 2), 0);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_MSIX_CONFIG, 2), VIRTIO_NO_VECTOR);
    CHECK(msix_enabled(&v.t.msix));             /* PCI function state survives */
    CHECK(drv_start(&v, 0, 1) == 0);            /* and the device comes up again */
    get_id(&v);
    CHECK(status_ok(&v));
    drv_close(&v);
}

/* Nothing the guest writes may crash or corrupt the transport. */
static void t_malformed(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    /* BAR sizing as Linux does it: decoding off, all-ones reads back the
     * size mask with the type bits, then the old value and decoding back */
    cfg_wr(&v, PCI_COMMAND, 2, 0);
    CHECK_EQ(v.t.bar_addr, 0);
    cfg_wr(&v, PCI_BAR0, 4, 0xffffffff);
    cfg_wr(&v, PCI_BAR0 + 4, 4, 0xffffffff);
    CHECK_EQ(cfg_rd(&v, PCI_BAR0, 4), (uint32_t)~(VIRTIO_PCI_BAR_SIZE - 1) | 0xc);
    CHECK_EQ(cfg_rd(&v, PCI_BAR0 + 4, 4), 0xffffffff);
    cfg_wr(&v, PCI_BAR0, 4, (uint32_t)BAR | 0x123);       /* odd value: masked */
    cfg_wr(&v, PCI_BAR0 + 4, 4, (uint32_t)(BAR >> 32));
    CHECK_EQ(cfg_rd(&v, PCI_BAR0, 4), 0xc);
    CHECK_EQ(v.t.bar_addr, 0);
    cfg_wr(&v, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(v.t.bar_addr, BAR);
    /* moving the BAR moves the decoder */
    cfg_wr(&v, PCI_BAR0 + 4, 4, 2);
    CHECK_EQ(v.t.bar_addr, 0x200000000ULL);
    cfg_wr(&v, PCI_BAR0 + 4, 4, 1);
    CHECK_EQ(v.t.bar_addr, BAR);
    cfg_wr(&v, PCI_VENDOR_ID, 4, 0);            /* read-only */
    CHECK_EQ(cfg_rd(&v, PCI_VENDOR_ID, 2), 0x1af4);
    msix_on(&v, 2);
    CHECK(drv_start(&v, 0, 1) == 0);
    /* a vector beyond the table reads back as NO_VECTOR */
    bar_wr(&v, VPCI_COMMON + VPCI_MSIX_CONFIG, 2, 7);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_MSIX_CONFIG, 2), VIRTIO_NO_VECTOR);
    /* odd widths, read-only fields, reserved bytes: ignored */
    bar_wr(&v, VPCI_COMMON + VPCI_STATUS, 4, 0);
    bar_wr(&v, VPCI_COMMON + VPCI_Q_SELECT + 1, 1, 5);
    bar_wr(&v, VPCI_COMMON + VPCI_NUM_QUEUES, 2, 9);
    bar_wr(&v, VPCI_COMMON + VPCI_Q_DESC + 2, 4, 0);
    bar_wr(&v, VPCI_COMMON + 0x3ff, 1, 0xff);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_STATUS, 1), 0x0f);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_NUM_QUEUES, 2), 1);
    /* queue layout changes after DRIVER_OK are refused */
    bar_wr(&v, VPCI_COMMON + VPCI_Q_DESC, 8, 0x1234000);
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_Q_DESC, 8), RING);
    /* notify a queue that does not exist, at odd offsets and widths */
    bar_wr(&v, VPCI_NOTIFY + 4 * 50, 2, 50);
    bar_wr(&v, VPCI_NOTIFY + 3, 1, 0);
    bar_wr(&v, VPCI_NOTIFY + 0xffc, 4, 0);
    /* MSI-X table: unaligned, short, past the end; the PBA is read-only */
    bar_wr(&v, VPCI_MSIX_TABLE + 2, 4, 0xdeadbeef);
    bar_wr(&v, VPCI_MSIX_TABLE + 8, 1, 0xff);
    bar_wr(&v, VPCI_MSIX_TABLE + 16 * 40, 4, 0xdeadbeef);
    bar_wr(&v, VPCI_MSIX_PBA, 8, ~0ULL);
    CHECK_EQ(bar_rd(&v, VPCI_MSIX_PBA, 8), 0);
    CHECK_EQ(bar_rd(&v, VPCI_MSIX_TABLE + 8, 4), 0x40);
    /* ISR and device config writes, reads past the end of the BAR's parts */
    bar_wr(&v, VPCI_ISR, 1, 0xff);
    bar_wr(&v, VPCI_DEVICE + 0xff0, 8, ~0ULL);
    CHECK_EQ(bar_rd(&v, VPCI_DEVICE + 0xff0, 8), 0);
    CHECK_EQ(bar_rd(&v, 0x7ff8, 8), 0);
    /* the device still works */
    drain_fd(v.t.irq_fd[1]);
    get_id(&v);
    CHECK(status_ok(&v));
    CHECK(readable(v.t.irq_fd[1], 2000));
    drv_close(&v);
}

/* VIRTIO_PCI_CAP_PCI_CFG: BAR 0 through config space. */
static void t_pci_cfg_window(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    unsigned c = find_cap(&v, 5);
    CHECK(c != 0);
    cfg_wr(&v, c + 4, 1, 0);
    cfg_wr(&v, c + 8, 4, VPCI_COMMON + VPCI_NUM_QUEUES);
    cfg_wr(&v, c + 12, 4, 2);
    CHECK_EQ(cfg_rd(&v, c + 16, 2), 1);         /* num_queues */
    cfg_wr(&v, c + 8, 4, VPCI_COMMON + VPCI_DFSELECT);
    cfg_wr(&v, c + 12, 4, 4);
    cfg_wr(&v, c + 16, 4, 1);                   /* write through the window */
    CHECK_EQ(bar_rd(&v, VPCI_COMMON + VPCI_DFSELECT, 4), 1);
    cfg_wr(&v, c + 4, 1, 3);                    /* another BAR: nothing */
    CHECK_EQ(cfg_rd(&v, c + 16, 4), 0);
    cfg_wr(&v, c + 4, 1, 0);
    cfg_wr(&v, c + 8, 4, 0xfffffff0);           /* outside the BAR: nothing */
    CHECK_EQ(cfg_rd(&v, c + 16, 4), 0);
    drv_close(&v);
}

/* x86's notify registers in an I/O BAR: the notify cap points there, the
 * BAR decodes under I/O enable, a write at port + 2 q notifies queue q (and
 * nothing else does), the pci_cfg window reaches it, and a request goes
 * through it. */
static void t_io_notify(void)
{
    struct drv v;
    CHECK(drv_open(&v) == 0);
    CHECK_EQ(virtio_pci_io_bar_size(v.d), 4);
    CHECK_EQ(virtio_pci_use_io_notify(&v.t, 0xc040), 0);
    CHECK_EQ(virtio_pci_use_io_notify(&v.t, 0xc080), -EINVAL);   /* once */
    unsigned n = find_cap(&v, 2);
    CHECK_EQ(cfg_rd(&v, n + 4, 1), VPCI_IO_BAR);
    CHECK_EQ(cfg_rd(&v, n + 8, 4), 0);
    CHECK_EQ(cfg_rd(&v, n + 12, 4), VPCI_IO_NOTIFY_MULT);       /* one queue */
    CHECK_EQ(cfg_rd(&v, n + 16, 4), VPCI_IO_NOTIFY_MULT);
    CHECK_EQ(cfg_rd(&v, PCI_BAR0 + 4 * VPCI_IO_BAR, 4), 0xc041);
    CHECK_EQ(v.t.io_addr, 0);                   /* I/O decoding still off */
    cfg_wr(&v, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    CHECK_EQ(v.t.io_addr, 0xc040);
    CHECK_EQ(v.t.bar_addr, BAR);
    int fd = v.d->notify_fd[0];
    drain_fd(fd);
    uint8_t b[4] = { 0 };
    virtio_pci_io_bar_io(&v.t, 1, b, 1, true);          /* odd offset */
    virtio_pci_io_bar_io(&v.t, 2, b, 2, true);          /* no queue 1 */
    virtio_pci_io_bar_io(&v.t, 0, b, 2, false);         /* a read */
    CHECK(!readable(fd, 0));
    CHECK_EQ(le32_load(b), 0);
    virtio_pci_io_bar_io(&v.t, 0, b, 2, true);
    CHECK(readable(fd, 0));
    drain_fd(fd);
    unsigned c = find_cap(&v, 5);               /* the pci_cfg window, BAR 2 */
    cfg_wr(&v, c + 4, 1, VPCI_IO_BAR);
    cfg_wr(&v, c + 8, 4, 0);
    cfg_wr(&v, c + 12, 4, 2);
    cfg_wr(&v, c + 16, 2, 0);
    CHECK(readable(fd, 0));
    drain_fd(fd);
    cfg_wr(&v, c + 8, 4, 4);                    /* past the BAR: nothing */
    cfg_wr(&v, c + 16, 2, 0);
    CHECK(!readable(fd, 0));
    /* moving the BAR and switching decode off follow */
    cfg_wr(&v, PCI_BAR0 + 4 * VPCI_IO_BAR, 4, 0xd000);
    CHECK_EQ(v.t.io_addr, 0xd000);
    cfg_wr(&v, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    CHECK_EQ(v.t.io_addr, 0);
    CHECK_EQ(v.t.bar_addr, BAR);
    /* a request notified through the port completes */
    cfg_wr(&v, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    msix_on(&v, 2);
    CHECK(drv_start(&v, 0, 1) == 0);
    get_id(&v);
    CHECK(status_ok(&v));
    drv_close(&v);
}

int main(void)
{
    RUN(t_io_notify);
    RUN(t_ids_and_caps);
    RUN(t_msix_request);
    RUN(t_msix_masked_pending);
    RUN(t_intx);
    RUN(t_reset);
    RUN(t_malformed);
    RUN(t_pci_cfg_window);
    return harness_done();
}
