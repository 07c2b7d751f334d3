/* virtio-vsock: the device driven through the real virtio-mmio transport
 * without KVM against fake guest memory (the small driver below builds
 * split rings as Linux would, posting 4 KiB RX buffers), with real Unix
 * sockets on the host side: the hybrid protocol's listener in a temporary
 * directory and "<uds>_<port>" listeners for guest connects. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/le.h"
#include "harness.h"
#include "mem/mem.h"
#include "pci/cfg.h"
#include "pci/msix.h"
#include "virtio/mmio.h"
#include "virtio/pci.h"
#include "virtio/vsock.h"
#include "virtio/vsock_pkt.h"

#define GMEM_SIZE   (64u << 20)
#define RING_BASE   0x10000u        /* queue q's rings at RING_BASE + q * 0x10000 */
#define HEAP_BASE   0x100000u
#define QSZ         256
#define RXBUF       (4096 + VSOCK_HDR_SIZE)
#define GCID        3
#define RXQ VSOCK_QUEUE_RX
#define TXQ VSOCK_QUEUE_TX
#define EVQ VSOCK_QUEUE_EVENT

struct tq {
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct drv {
    struct guest_mem mem;
    bool pci;                       /* on virtio-pci (tp), else virtio-mmio (t) */
    struct virtio_pci tp;
    struct virtio_mmio t;
    struct virtio_dev *d;
    struct tq q[3];
    uint64_t heap;
    uint64_t rxgpa[QSZ];            /* RX buffer of each head */
    char dir[64], uds[128];
};

static void *g(struct drv *v, uint64_t gpa)
{
    void *p = mem_ptr(&v->mem, gpa, 1);
    if (!p)
        abort();
    return p;
}

static void g16(struct drv *v, uint64_t gpa, uint16_t x) { memcpy(g(v, gpa), &x, 2); }
static void g32(struct drv *v, uint64_t gpa, uint32_t x) { memcpy(g(v, gpa), &x, 4); }
static void g64(struct drv *v, uint64_t gpa, uint64_t x) { memcpy(g(v, gpa), &x, 8); }
static uint32_t rd32g(struct drv *v, uint64_t gpa) { uint32_t x; memcpy(&x, g(v, gpa), 4); return x; }

static void wr(struct drv *v, uint64_t off, uint32_t x)
{
    virtio_mmio_io(&v->t, off, (uint8_t *)&x, 4, true);
}

static uint32_t rd(struct drv *v, uint64_t off)
{
    uint32_t x;
    virtio_mmio_io(&v->t, off, (uint8_t *)&x, 4, false);
    return x;
}

static uint64_t galloc(struct drv *v, uint64_t len)
{
    v->heap = (v->heap + 15) & ~15ULL;
    if (v->heap + len > GMEM_SIZE)
        v->heap = HEAP_BASE + QSZ * RXBUF;  /* the RX buffers stay where they are */
    uint64_t a = v->heap;
    v->heap += len;
    return a;
}

struct buf {
    uint64_t gpa;
    uint32_t len;
    bool w;
};

static uint16_t post(struct drv *v, unsigned qi, const struct buf *b, unsigned n)
{
    struct tq *q = &v->q[qi];
    uint16_t head = q->next_desc;
    for (unsigned i = 0; i < n; i++) {
        uint16_t k = (uint16_t)((head + i) % QSZ);
        uint64_t d = q->desc + 16 * (uint64_t)k;
        g64(v, d, b[i].gpa);
        g32(v, d + 8, b[i].len);
        g16(v, d + 12, (uint16_t)((b[i].w ? VIRTQ_DESC_F_WRITE : 0) |
                                   (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
        g16(v, d + 14, (uint16_t)((k + 1) % QSZ));
    }
    q->next_desc = (uint16_t)((head + n) % QSZ);
    g16(v, q->avail + 4 + 2 * (q->avail_idx % QSZ), head);
    q->avail_idx++;
    __atomic_store_n((uint16_t *)g(v, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

static void bar_wr(struct drv *v, uint64_t off, uint32_t len, uint64_t val)
{
    uint8_t b[8];
    le64_store(b, val);
    virtio_pci_bar_io(&v->tp, off, b, len, true);
}

static uint64_t bar_rd(struct drv *v, uint64_t off, uint32_t len)
{
    uint8_t b[8] = { 0 };
    virtio_pci_bar_io(&v->tp, off, b, len, false);
    return le64_load(b);
}

static void kick(struct drv *v, unsigned qi)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (v->pci) {
        bar_wr(v, VPCI_COMMON + VPCI_Q_SELECT, 2, qi);
        uint64_t noff = bar_rd(v, VPCI_COMMON + VPCI_Q_NOFF, 2);
        bar_wr(v, VPCI_NOTIFY + noff * VPCI_NOTIFY_MULT, 2, qi);
    } else {
        wr(v, VMMIO_QUEUE_NOTIFY, qi);
    }
}

static uint16_t used_idx(struct drv *v, unsigned qi)
{
    return __atomic_load_n((uint16_t *)g(v, v->q[qi].used + 2), __ATOMIC_ACQUIRE);
}

/* Wait until n more used entries are there (bounded). */
static int wait_used(struct drv *v, unsigned qi, unsigned n, int timeout_ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if ((uint16_t)(used_idx(v, qi) - v->q[qi].used_seen) >= n)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 > timeout_ms)
            return -1;
        struct pollfd p = { .fd = v->pci ? v->tp.irq_fd[qi] : v->t.irq_fd, .events = POLLIN };
        if (poll(&p, 1, 1) > 0 && !v->pci) {
            uint64_t c;
            if (read(v->t.irq_fd, &c, sizeof(c)) < 0)
                c = 0;
        }
    }
}

static void pop_used(struct drv *v, unsigned qi, uint32_t *id, uint32_t *len)
{
    struct tq *q = &v->q[qi];
    uint64_t e = q->used + 4 + 8 * (uint64_t)(q->used_seen % QSZ);
    *id = rd32g(v, e);
    *len = rd32g(v, e + 4);
    q->used_seen++;
}

/* One RX buffer: one writable descriptor of RXBUF bytes (Linux 6.x). With
 * QSZ buffers each head keeps its own. */
static void post_rx(struct drv *v)
{
    struct tq *q = &v->q[RXQ];
    uint16_t head = q->next_desc;
    uint64_t a = HEAP_BASE + (uint64_t)head * RXBUF;
    v->rxgpa[head] = a;
    struct buf b = { a, RXBUF, true };
    post(v, RXQ, &b, 1);
}

/* The driver's first RX buffers: 64, one notify. */
static void post_rx_all(struct drv *v)
{
    for (unsigned i = 0; i < 64; i++)
        post_rx(v);
    kick(v, RXQ);
}

/* Queue i's rings at RING_BASE + i * 0x10000, zeroed. */
static struct tq *q_layout(struct drv *v, unsigned i)
{
    struct tq *q = &v->q[i];
    memset(q, 0, sizeof(*q));
    q->desc = RING_BASE + i * 0x10000;
    q->avail = q->desc + 0x4000;
    q->used = q->desc + 0x8000;
    memset(g(v, q->desc), 0, 0x10000);
    return q;
}

static int drv_start(struct drv *v)
{
    wr(v, VMMIO_STATUS, 0);
    wr(v, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(v, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(v, VMMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t f = rd(v, VMMIO_DEVICE_FEATURES);
    wr(v, VMMIO_DEVICE_FEATURES_SEL, 1);
    f |= (uint64_t)rd(v, VMMIO_DEVICE_FEATURES) << 32;
    wr(v, VMMIO_DRIVER_FEATURES_SEL, 0);
    wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)f);
    wr(v, VMMIO_DRIVER_FEATURES_SEL, 1);
    wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
    uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    wr(v, VMMIO_STATUS, s);
    if (!(rd(v, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return -1;
    for (unsigned i = 0; i < 3; i++) {
        struct tq *q = q_layout(v, i);
        wr(v, VMMIO_QUEUE_SEL, i);
        if (rd(v, VMMIO_QUEUE_NUM_MAX) < QSZ)
            return -1;
        wr(v, VMMIO_QUEUE_NUM, QSZ);
        wr(v, VMMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        wr(v, VMMIO_QUEUE_DESC_HIGH, 0);
        wr(v, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
        wr(v, VMMIO_QUEUE_DRIVER_HIGH, 0);
        wr(v, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
        wr(v, VMMIO_QUEUE_DEVICE_HIGH, 0);
        wr(v, VMMIO_QUEUE_READY, 1);
    }
    wr(v, VMMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
    if (rd(v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return -1;
    post_rx_all(v);
    return 0;
}

/* Guest memory, a temporary directory and the device (its uds in there),
 * not yet on a transport. */
static int drv_device(struct drv *v, bool pci)
{
    memset(v, 0, sizeof(*v));
    v->pci = pci;
    v->mem.n = 1;
    v->mem.r[0].gpa = 0;
    v->mem.r[0].size = GMEM_SIZE;
    v->heap = HEAP_BASE + QSZ * RXBUF;
    if (mem_map(&v->mem) < 0)
        return -1;
    snprintf(v->dir, sizeof(v->dir), "/tmp/arcvmm-vsock-XXXXXX");
    if (!mkdtemp(v->dir))
        return -1;
    snprintf(v->uds, sizeof(v->uds), "%s/v.sock", v->dir);
    struct virtio_vsock_cfg cfg = { .guest_cid = GCID, .uds_path = v->uds };
    char err[256];
    if (virtio_vsock_create(&cfg, &v->mem, &v->d, err, sizeof(err)) < 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    return 0;
}

static int drv_open(struct drv *v)
{
    if (drv_device(v, false) < 0 || virtio_mmio_init(&v->t, v->d, NULL, 0xd0000000, 5) < 0)
        return -1;
    return drv_start(v);
}

/* The same device on virtio-pci, brought up as Linux's virtio_pci_modern
 * does: MSI-X on, queue q on vector q. */
static int drv_open_pci(struct drv *v)
{
    if (drv_device(v, true) < 0 ||
        virtio_pci_init(&v->tp, v->d, NULL, 1, 0x100000000ULL, 16, 24) < 0)
        return -1;
    uint8_t b[4];
    le32_store(b, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    pci_cfg_write(&v->tp.cfg, PCI_COMMAND, b, 2);
    unsigned m = 0;
    for (unsigned p = PCI_CAPABILITY_LIST, n = 0; n < 48; n++) {   /* the MSI-X capability */
        pci_cfg_read(&v->tp.cfg, p, b, 1);
        if (!(p = b[0]))
            break;
        pci_cfg_read(&v->tp.cfg, p, b, 1);
        if (b[0] == PCI_CAP_ID_MSIX) {
            m = p;
            break;
        }
        p += 1;
    }
    if (!m)
        return -1;
    le32_store(b, MSIX_CTRL_ENABLE);
    pci_cfg_write(&v->tp.cfg, m + 2, b, 2);
    for (unsigned i = 0; i < 4; i++) {
        uint64_t e = VPCI_MSIX_TABLE + 16 * i;
        bar_wr(v, e, 4, 0xfee00000);
        bar_wr(v, e + 8, 4, 0x40 + i);
        bar_wr(v, e + 12, 4, 0);
    }
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0);
    virtio_core_wait_reset(&v->tp.core);
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    bar_wr(v, VPCI_COMMON + VPCI_GFSELECT, 4, 0);
    bar_wr(v, VPCI_COMMON + VPCI_GF, 4, 1u << VIRTIO_F_EVENT_IDX);
    bar_wr(v, VPCI_COMMON + VPCI_GFSELECT, 4, 1);
    bar_wr(v, VPCI_COMMON + VPCI_GF, 4, 1);
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0x0b);
    if (!(bar_rd(v, VPCI_COMMON + VPCI_STATUS, 1) & VIRTIO_STATUS_FEATURES_OK) ||
        bar_rd(v, VPCI_COMMON + VPCI_NUM_QUEUES, 2) != 3)
        return -1;
    for (unsigned i = 0; i < 3; i++) {
        struct tq *q = q_layout(v, i);
        bar_wr(v, VPCI_COMMON + VPCI_Q_SELECT, 2, i);
        bar_wr(v, VPCI_COMMON + VPCI_Q_SIZE, 2, QSZ);
        bar_wr(v, VPCI_COMMON + VPCI_Q_MSIX, 2, i);
        bar_wr(v, VPCI_COMMON + VPCI_Q_DESC, 8, q->desc);
        bar_wr(v, VPCI_COMMON + VPCI_Q_AVAIL, 8, q->avail);
        bar_wr(v, VPCI_COMMON + VPCI_Q_USED, 8, q->used);
        bar_wr(v, VPCI_COMMON + VPCI_Q_ENABLE, 2, 1);
    }
    bar_wr(v, VPCI_COMMON + VPCI_MSIX_CONFIG, 2, 3);
    bar_wr(v, VPCI_COMMON + VPCI_STATUS, 1, 0x0f);
    if (bar_rd(v, VPCI_COMMON + VPCI_STATUS, 1) & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return -1;
    post_rx_all(v);
    return 0;
}

static void drv_close(struct drv *v)
{
    if (v->pci)
        virtio_pci_destroy(&v->tp);
    else
        virtio_mmio_destroy(&v->t);
    mem_unmap(&v->mem);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", v->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "  cannot remove %s\n", v->dir);
}

struct pkt {
    struct vsock_hdr h;
    uint8_t data[4096];
};

/* The next packet the device gave the guest (its buffer goes back on the
 * ring). 0, or -1 when none came within timeout_ms. */
static int rx_get(struct drv *v, struct pkt *p, int timeout_ms)
{
    if (wait_used(v, RXQ, 1, timeout_ms) < 0)
        return -1;
    uint32_t id, len;
    pop_used(v, RXQ, &id, &len);
    if (id >= QSZ || len < VSOCK_HDR_SIZE || len > RXBUF)
        return -2;
    uint8_t *b = g(v, v->rxgpa[id]);
    vsock_hdr_decode(b, &p->h);
    if (p->h.len != len - VSOCK_HDR_SIZE)
        return -3;
    memcpy(p->data, b + VSOCK_HDR_SIZE, p->h.len);
    post_rx(v);
    kick(v, RXQ);
    return 0;
}

/* The guest sends one packet (header and payload in two descriptors, as
 * older Linux does; one when there is no payload) and the device has
 * taken it. */
static int tx_raw(struct drv *v, const struct vsock_hdr *h, const void *data, uint32_t n)
{
    uint64_t a = galloc(v, VSOCK_HDR_SIZE + n);
    vsock_hdr_encode(h, g(v, a));
    if (n)
        memcpy(g(v, a + VSOCK_HDR_SIZE), data, n);
    struct buf b[2] = { { a, VSOCK_HDR_SIZE, false }, { a + VSOCK_HDR_SIZE, n, false } };
    post(v, TXQ, b, n ? 2 : 1);
    kick(v, TXQ);
    if (wait_used(v, TXQ, 1, 5000) < 0)
        return -1;
    uint32_t id, len;
    pop_used(v, TXQ, &id, &len);
    return 0;
}

static int tx(struct drv *v, uint16_t op, uint32_t sport, uint32_t dport, uint32_t flags,
              uint32_t buf_alloc, uint32_t fwd_cnt, const void *data, uint32_t n)
{
    struct vsock_hdr h = { .src_cid = GCID, .dst_cid = VSOCK_HOST_CID, .src_port = sport,
                           .dst_port = dport, .len = n, .type = VSOCK_TYPE_STREAM, .op = op,
                           .flags = flags, .buf_alloc = buf_alloc, .fwd_cnt = fwd_cnt };
    return tx_raw(v, &h, data, n);
}

static int uconnect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int ulisten(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 2048) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

/* Read exactly n bytes within timeout_ms, or what came before EOF: the
 * count, or -1 on timeout. */
static ssize_t read_n(int fd, void *buf, size_t n, int timeout_ms)
{
    size_t got = 0;
    while (got < n) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) <= 0)
            return -1;
        ssize_t r = read(fd, (uint8_t *)buf + got, n - got);
        if (r < 0 && errno == ECONNRESET)
            return (ssize_t)got;
        if (r <= 0)
            return r < 0 ? -1 : (ssize_t)got;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* The stream ends with nothing more on it (EOF or reset) within the bound. */
static bool closed_empty(int fd, int timeout_ms)
{
    uint8_t b[64];
    return read_n(fd, b, sizeof(b), timeout_ms) == 0;
}

static void fill(uint8_t *p, size_t n, unsigned s)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + s * 13 + (i >> 8));
}

/* ---- tests ---- */

static void t_config(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    CHECK_EQ(rd(&v, VMMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
    uint32_t lo = rd(&v, VMMIO_CONFIG), hi = rd(&v, VMMIO_CONFIG + 4);
    CHECK_EQ(lo, GCID);
    CHECK_EQ(hi, 0);
    wr(&v, VMMIO_DEVICE_FEATURES_SEL, 1);
    CHECK_EQ(rd(&v, VMMIO_DEVICE_FEATURES), 1);           /* VERSION_1 */
    wr(&v, VMMIO_DEVICE_FEATURES_SEL, 0);
    CHECK_EQ(rd(&v, VMMIO_DEVICE_FEATURES), 1u << VIRTIO_F_EVENT_IDX);
    struct stat st;
    CHECK_EQ(stat(v.uds, &st), 0);
    CHECK(S_ISSOCK(st.st_mode));
    char uds[128];
    snprintf(uds, sizeof(uds), "%s", v.uds);
    virtio_mmio_destroy(&v.t);
    CHECK(stat(uds, &st) < 0 && errno == ENOENT);         /* removed with the device */
    v.t.dev = NULL;
    drv_close(&v);
}

/* The listener: a stale socket file is replaced; a missing directory, a
 * live listener's path, a regular file and a bad CID are one line each. */
static void t_create_errors(void)
{
    char dir[] = "/tmp/arcvmm-vsock-XXXXXX", p[128], err[256];
    CHECK(mkdtemp(dir));
    snprintf(p, sizeof(p), "%s/stale.sock", dir);
    int s = ulisten(p);
    CHECK(s >= 0);
    close(s);                               /* the file stays, nobody listens */
    struct guest_mem mem = { 0 };
    struct virtio_dev *d = NULL;
    struct virtio_vsock_cfg cfg = { .guest_cid = GCID, .uds_path = p };
    CHECK_EQ(virtio_vsock_create(&cfg, &mem, &d, err, sizeof(err)), 0);
    struct virtio_dev *d2 = NULL;
    CHECK_EQ(virtio_vsock_create(&cfg, &mem, &d2, err, sizeof(err)), -EADDRINUSE);
    CHECK(strstr(err, p) && !strchr(err, '\n'));
    d->ops->destroy(d);
    snprintf(p, sizeof(p), "%s/no/such/dir.sock", dir);
    CHECK(virtio_vsock_create(&cfg, &mem, &d, err, sizeof(err)) == -ENOENT);
    CHECK(strstr(err, "no/such/dir.sock"));
    snprintf(p, sizeof(p), "%s/file", dir);
    int f = open(p, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
    CHECK(f >= 0);
    close(f);
    CHECK_EQ(virtio_vsock_create(&cfg, &mem, &d, err, sizeof(err)), -EEXIST);
    unlink(p);
    cfg.guest_cid = 2;
    CHECK_EQ(virtio_vsock_create(&cfg, &mem, &d, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "CID"));
    char longp[200];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[sizeof(longp) - 1] = '\0';
    cfg.guest_cid = GCID;
    cfg.uds_path = longp;
    CHECK_EQ(virtio_vsock_create(&cfg, &mem, &d, err, sizeof(err)), -ENAMETOOLONG);
    rmdir(dir);
}

/* A host program connects with CONNECT; the guest accepts; the answer is
 * "OK <port>\n" with the REQUEST's source port. Returns the stream and
 * the host port, or -1. */
static int host_open(struct drv *v, uint32_t gport, uint32_t *hport, uint32_t buf_alloc)
{
    int fd = uconnect(v->uds);
    if (fd < 0)
        return -1;
    char line[32];
    int n = snprintf(line, sizeof(line), "connect %u\n", gport);
    if (write(fd, line, (size_t)n) != n)
        return -1;
    struct pkt p;
    if (rx_get(v, &p, 5000) < 0 || p.h.op != VSOCK_OP_REQUEST || p.h.dst_port != gport ||
        p.h.dst_cid != GCID || p.h.src_cid != VSOCK_HOST_CID || p.h.src_port < (1u << 30))
        return -1;
    *hport = p.h.src_port;
    if (tx(v, VSOCK_OP_RESPONSE, gport, *hport, 0, buf_alloc, 0, NULL, 0) < 0)
        return -1;
    char ok[32] = { 0 }, want[32];
    int wn = snprintf(want, sizeof(want), "OK %u\n", *hport);
    if (read_n(fd, ok, (size_t)wn, 5000) != wn || memcmp(ok, want, (size_t)wn))
        return -1;
    return fd;
}

static void t_host_connect(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    uint32_t hp, hp2;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    int fd2 = host_open(&v, 5000, &hp2, 65536);
    CHECK(fd2 >= 0);
    CHECK(hp2 != hp);                       /* no port twice while alive */
    /* host -> guest */
    CHECK_EQ(write(fd, "hello", 5), 5);
    struct pkt p;
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.src_port, hp);
    CHECK_EQ(p.h.dst_port, 5000);
    CHECK_EQ(p.h.len, 5);
    CHECK(!memcmp(p.data, "hello", 5));
    CHECK_EQ(p.h.buf_alloc, VSOCK_BUF_ALLOC);
    /* guest -> host, 3 packets */
    uint8_t big[3 * 4096], got[3 * 4096];
    fill(big, sizeof(big), 1);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(tx(&v, VSOCK_OP_RW, 5000, hp, 0, 65536, 5, big + 4096 * i, 4096), 0);
    CHECK_EQ(read_n(fd, got, sizeof(got), 5000), (ssize_t)sizeof(got));
    CHECK(!memcmp(big, got, sizeof(got)));
    /* a CREDIT_REQUEST gets our fwd_cnt */
    CHECK_EQ(tx(&v, VSOCK_OP_CREDIT_REQUEST, 5000, hp, 0, 65536, 5, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_CREDIT_UPDATE);
    CHECK_EQ(p.h.fwd_cnt, sizeof(big));
    /* the host program closes: the guest is told it sends no more */
    close(fd);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_SHUTDOWN);
    CHECK(p.h.flags & VSOCK_SHUTDOWN_SEND);
    /* the guest closes: SHUTDOWN both, the device answers RST */
    CHECK_EQ(tx(&v, VSOCK_OP_SHUTDOWN, 5000, hp, 3, 65536, 5, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.src_port, hp);
    /* the other one: the guest closes, the host stream gets EOF */
    CHECK_EQ(tx(&v, VSOCK_OP_SHUTDOWN, 5000, hp2, 3, 65536, 0, NULL, 0), 0);
    CHECK(closed_empty(fd2, 5000));
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    close(fd2);
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.host_connected, 2);
    CHECK_EQ(st.conns, 0);
    drv_close(&v);
}

/* No listener in the guest (RST), a malformed line, a 100-byte line, no
 * line at all, no answer: the stream closes with nothing written, and the
 * next host program is served. */
static void t_host_refused(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    int fd = uconnect(v.uds);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, "CONNECT 5001\n", 13), 13);
    struct pkt p;
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
    CHECK_EQ(tx(&v, VSOCK_OP_RST, 5001, p.h.src_port, 0, 0, 0, NULL, 0), 0);
    CHECK(closed_empty(fd, 5000));
    close(fd);
    fd = uconnect(v.uds);
    CHECK_EQ(write(fd, "GET / HTTP/1.1\r\n", 16), 16);
    CHECK(closed_empty(fd, 5000));
    close(fd);
    char line[101];
    memset(line, '1', 100);
    memcpy(line, "CONNECT ", 8);
    line[99] = '\n';
    fd = uconnect(v.uds);
    CHECK_EQ(write(fd, line, 100), 100);
    CHECK(closed_empty(fd, 5000));
    close(fd);
    /* no answer from the guest within 2 s: closed, and the guest gets RST */
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fd = uconnect(v.uds);
    CHECK_EQ(write(fd, "CONNECT 5002\n", 13), 13);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_REQUEST);
    uint32_t hp = p.h.src_port;
    CHECK(closed_empty(fd, 5000));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double dt = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    CHECK(dt > 1.9 && dt < 4.0);
    close(fd);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.src_port, hp);
    /* the late RESPONSE is for no connection: RST */
    CHECK_EQ(tx(&v, VSOCK_OP_RESPONSE, 5002, hp, 0, 65536, 0, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    /* the next one works */
    uint32_t hp2;
    fd = host_open(&v, 5003, &hp2, 65536);
    CHECK(fd >= 0);
    close(fd);
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.host_refused, 1);
    CHECK_EQ(st.host_bad_line, 2);
    CHECK_EQ(st.host_timeout, 1);
    drv_close(&v);
}

static void t_guest_connect(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    char lp[160];
    snprintf(lp, sizeof(lp), "%s_6000", v.uds);
    int l = ulisten(lp);
    CHECK(l >= 0);
    CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 1234, 6000, 0, 65536, 0, NULL, 0), 0);
    struct pkt p;
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RESPONSE);
    CHECK_EQ(p.h.src_port, 6000);
    CHECK_EQ(p.h.dst_port, 1234);
    int fd = accept(l, NULL, NULL);
    CHECK(fd >= 0);
    CHECK_EQ(tx(&v, VSOCK_OP_RW, 1234, 6000, 0, 65536, 0, "ping", 4), 0);
    char b[8];
    CHECK_EQ(read_n(fd, b, 4, 5000), 4);
    CHECK(!memcmp(b, "ping", 4));
    CHECK_EQ(write(fd, "pong!", 5), 5);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.len, 5);
    CHECK(!memcmp(p.data, "pong!", 5));
    /* the guest shuts its sending side: the host reads EOF, can still send */
    CHECK_EQ(tx(&v, VSOCK_OP_SHUTDOWN, 1234, 6000, VSOCK_SHUTDOWN_SEND, 65536, 5, NULL, 0), 0);
    CHECK(closed_empty(fd, 5000));
    CHECK_EQ(write(fd, "x", 1), 1);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    /* the guest resets: the host stream closes */
    CHECK_EQ(tx(&v, VSOCK_OP_RST, 1234, 6000, 0, 0, 0, NULL, 0), 0);
    struct pollfd pf = { .fd = fd, .events = POLLOUT };
    CHECK_EQ(poll(&pf, 1, 5000), 1);
    CHECK(pf.revents & (POLLHUP | POLLERR));
    close(fd);
    /* nobody at _6001: RST */
    CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 1235, 6001, 0, 65536, 0, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.src_port, 6001);
    CHECK_EQ(p.h.dst_port, 1235);
    /* the host side closes mid-transfer: the guest sees SHUTDOWN, and
     * data it sends after that gets RST */
    CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 1236, 6000, 0, 65536, 0, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RESPONSE);
    fd = accept(l, NULL, NULL);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_SHUTDOWN);
    CHECK_EQ(tx(&v, VSOCK_OP_RW, 1236, 6000, 0, 65536, 0, "late", 4), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.dst_port, 1236);
    close(l);
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.guest_connected, 2);
    CHECK_EQ(st.guest_connect_failed, 1);
    CHECK_EQ(st.conns, 0);
    drv_close(&v);
}

/* The guest's credit bounds what is read from the host stream: with
 * buf_alloc 8 KiB, 8 KiB arrive and nothing more until a CREDIT_UPDATE. */
static void t_credit_stall(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 8192);
    CHECK(fd >= 0);
    static uint8_t data[65536];
    fill(data, sizeof(data), 3);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    ssize_t w = write(fd, data, sizeof(data));
    CHECK(w > 16384);
    uint32_t got = 0;
    struct pkt p;
    while (got < 8192) {
        CHECK_EQ(rx_get(&v, &p, 5000), 0);
        CHECK_EQ(p.h.op, VSOCK_OP_RW);
        CHECK(!memcmp(p.data, data + got, p.h.len));
        got += p.h.len;
    }
    CHECK_EQ(got, 8192);
    /* a bounded look for what must not come */
    CHECK_EQ(rx_get(&v, &p, 200), -1);
    /* the guest read 4 KiB of it */
    CHECK_EQ(tx(&v, VSOCK_OP_CREDIT_UPDATE, 5000, hp, 0, 8192, 4096, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.len, 4096);
    CHECK(!memcmp(p.data, data + got, 4096));
    got += 4096;
    CHECK_EQ(rx_get(&v, &p, 200), -1);
    /* all of it, in steps */
    while (got < (uint32_t)w) {
        CHECK_EQ(tx(&v, VSOCK_OP_CREDIT_UPDATE, 5000, hp, 0, 8192, got, NULL, 0), 0);
        uint32_t step = 0;
        while (step < 8192 && got < (uint32_t)w) {
            CHECK_EQ(rx_get(&v, &p, 5000), 0);
            CHECK_EQ(p.h.op, VSOCK_OP_RW);
            CHECK(!memcmp(p.data, data + got, p.h.len));
            got += p.h.len;
            step += p.h.len;
        }
    }
    CHECK_EQ(got, (uint32_t)w);
    close(fd);
    drv_close(&v);
}

/* Guest -> host while the host program does not read: the device holds at
 * most VSOCK_BUF_ALLOC, tells the guest fwd_cnt as it forwards, and resets
 * a guest that sends past its credit. */
static void t_tx_credit(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    int sz = 4096;                          /* a small socket buffer fills first */
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)), 0);
    static uint8_t data[4096];
    uint32_t sent = 0;
    struct pkt p;
    /* fill until the stream and the device's buffer hold all they take */
    while (sent < VSOCK_BUF_ALLOC + (1u << 20)) {
        fill(data, sizeof(data), sent / 4096);
        CHECK_EQ(tx(&v, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, data, 4096), 0);
        sent += 4096;
        struct virtio_vsock_stats st;
        virtio_vsock_get_stats(v.d, &st);
        if (st.credit_overrun)
            break;
    }
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.credit_overrun, 1);
    CHECK(sent > VSOCK_BUF_ALLOC && sent < VSOCK_BUF_ALLOC + (1u << 20));
    /* the guest got credit updates on the way and then the RST */
    uint32_t last_fwd = 0;
    for (;;) {
        CHECK_EQ(rx_get(&v, &p, 5000), 0);
        if (p.h.op == VSOCK_OP_RST)
            break;
        CHECK_EQ(p.h.op, VSOCK_OP_CREDIT_UPDATE);
        CHECK(p.h.fwd_cnt > last_fwd);
        last_fwd = p.h.fwd_cnt;
    }
    close(fd);
    /* a well-behaved guest: 1 MiB through a reading host, in credit */
    fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    uint32_t fwd = 0, total = 1u << 20, rcvd = 0;
    sent = 0;
    static uint8_t got[1u << 20];
    while (rcvd < total) {
        while (sent < total && sent - fwd < VSOCK_BUF_ALLOC) {
            fill(data, sizeof(data), sent / 4096);
            CHECK_EQ(tx(&v, VSOCK_OP_RW, 5000, hp, 0, 65536, 0, data, 4096), 0);
            sent += 4096;
        }
        if (rcvd < sent) {
            CHECK_EQ(read_n(fd, got + rcvd, 4096, 5000), 4096);
            rcvd += 4096;
        }
        /* everything read: the device has forwarded it all, an update must come */
        while (rx_get(&v, &p, rcvd == sent && rcvd < total ? 5000 : 0) == 0) {
            CHECK_EQ(p.h.op, VSOCK_OP_CREDIT_UPDATE);
            fwd = p.h.fwd_cnt;
            if (rcvd == sent)
                break;
        }
    }
    for (uint32_t i = 0; i < total; i += 4096) {
        fill(data, sizeof(data), i / 4096);
        CHECK(!memcmp(got + i, data, 4096));
    }
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.credit_overrun, 1);
    close(fd);
    drv_close(&v);
}

/* Each kind of bad packet: counted; answered with RST when it names a
 * connection's ports, dropped when its CIDs are not ours; the device goes
 * on serving. */
static void t_malformed(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    struct pkt p;
    struct vsock_hdr h = { .src_cid = GCID, .dst_cid = 7, .src_port = 1, .dst_port = 2,
                           .type = VSOCK_TYPE_STREAM, .op = VSOCK_OP_REQUEST };
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* to another CID: dropped */
    h.dst_cid = VSOCK_HOST_CID;
    h.src_cid = 99;
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* spoofed source: dropped */
    CHECK_EQ(rx_get(&v, &p, 200), -1);
    h.src_cid = GCID;
    h.op = 42;
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* unknown op: RST */
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.dst_port, 1);
    h.op = VSOCK_OP_REQUEST;
    h.type = 2;
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* seqpacket: RST */
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    h.type = VSOCK_TYPE_STREAM;
    h.op = VSOCK_OP_RW;
    h.len = 100;
    CHECK_EQ(tx_raw(&v, &h, "abc", 3), 0);             /* len mismatch: RST */
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    h.len = 0;
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* RW for no connection: RST */
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    h.op = VSOCK_OP_RST;
    CHECK_EQ(tx_raw(&v, &h, NULL, 0), 0);              /* RST for none: nothing */
    /* too short for a header */
    uint64_t a = galloc(&v, 16);
    struct buf b = { a, 16, false };
    post(&v, TXQ, &b, 1);
    kick(&v, TXQ);
    CHECK_EQ(wait_used(&v, TXQ, 1, 5000), 0);
    uint32_t id, len;
    pop_used(&v, TXQ, &id, &len);
    /* a writable buffer in a TX chain */
    a = galloc(&v, VSOCK_HDR_SIZE + 8);
    h.op = VSOCK_OP_REQUEST;
    vsock_hdr_encode(&h, g(&v, a));
    struct buf bw[2] = { { a, VSOCK_HDR_SIZE, false }, { a + VSOCK_HDR_SIZE, 8, true } };
    post(&v, TXQ, bw, 2);
    kick(&v, TXQ);
    CHECK_EQ(wait_used(&v, TXQ, 1, 5000), 0);
    pop_used(&v, TXQ, &id, &len);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(rx_get(&v, &p, 200), -1);
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_CID], 2);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_OP], 1);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_TYPE], 1);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_LEN], 1);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_SHORT], 1);
    CHECK_EQ(st.tx_dropped[VSOCK_TX_WRITABLE], 1);
    CHECK_EQ(st.unknown_conn, 1);
    CHECK(!(rd(&v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET));
    /* still serving */
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    close(fd);
    drv_close(&v);
}

/* 1023 connections at once; the next guest connect gets RST and the next
 * host program is closed; the others keep working. */
static void t_limit(void)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max < 2300) {
        printf("skip t_limit: RLIMIT_NOFILE hard limit %llu < 2300 (not counted)\n",
               (unsigned long long)rl.rlim_max);
        return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    char lp[160];
    snprintf(lp, sizeof(lp), "%s_7000", v.uds);
    int l = ulisten(lp);
    CHECK(l >= 0);
    static int fds[VSOCK_MAX_CONNS];
    struct pkt p;
    for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++) {
        CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 10000 + i, 7000, 0, 65536, 0, NULL, 0), 0);
        CHECK_EQ(rx_get(&v, &p, 5000), 0);
        CHECK_EQ(p.h.op, VSOCK_OP_RESPONSE);
        CHECK_EQ(p.h.dst_port, 10000 + i);
        fds[i] = accept(l, NULL, NULL);
        CHECK(fds[i] >= 0);
    }
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.conns, VSOCK_MAX_CONNS);
    CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 9999, 7000, 0, 65536, 0, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RST);
    CHECK_EQ(p.h.dst_port, 9999);
    int h = uconnect(v.uds);
    CHECK(h >= 0);
    CHECK(closed_empty(h, 5000));
    close(h);
    /* the first and the last still carry data */
    CHECK_EQ(write(fds[0], "a", 1), 1);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.dst_port, 10000);
    CHECK_EQ(tx(&v, VSOCK_OP_RW, 10000 + VSOCK_MAX_CONNS - 1, 7000, 0, 65536, 0, "z", 1), 0);
    char c;
    CHECK_EQ(read_n(fds[VSOCK_MAX_CONNS - 1], &c, 1, 5000), 1);
    CHECK_EQ(c, 'z');
    /* one ends: room for one more */
    CHECK_EQ(tx(&v, VSOCK_OP_RST, 10000, 7000, 0, 0, 0, NULL, 0), 0);
    CHECK_EQ(tx(&v, VSOCK_OP_REQUEST, 9999, 7000, 0, 65536, 0, NULL, 0), 0);
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RESPONSE);
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.table_full, 2);
    for (unsigned i = 0; i < VSOCK_MAX_CONNS; i++)
        close(fds[i]);
    close(l);
    drv_close(&v);
}

/* TRANSPORT_RESET: the event goes out (now, or once a buffer is posted),
 * every connection is dropped. */
static void t_transport_reset(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    CHECK_EQ(virtio_vsock_transport_reset(v.d), 0);
    CHECK(closed_empty(fd, 5000));
    close(fd);
    uint64_t a = galloc(&v, 4);
    g32(&v, a, 0xdeadbeef);
    struct buf b = { a, 4, true };
    post(&v, EVQ, &b, 1);
    kick(&v, EVQ);
    CHECK_EQ(wait_used(&v, EVQ, 1, 5000), 0);
    uint32_t id, len;
    pop_used(&v, EVQ, &id, &len);
    CHECK_EQ(len, 4);
    CHECK_EQ(rd32g(&v, a), VSOCK_EVENT_TRANSPORT_RESET);
    /* a buffer already there: at once */
    a = galloc(&v, 4);
    g32(&v, a, 0xdeadbeef);
    b.gpa = a;
    post(&v, EVQ, &b, 1);
    kick(&v, EVQ);
    CHECK_EQ(virtio_vsock_transport_reset(v.d), 0);
    CHECK_EQ(wait_used(&v, EVQ, 1, 5000), 0);
    pop_used(&v, EVQ, &id, &len);
    CHECK_EQ(rd32g(&v, a), 0);
    struct virtio_vsock_stats st;
    virtio_vsock_get_stats(v.d, &st);
    CHECK_EQ(st.events_sent, 2);
    CHECK_EQ(st.conns, 0);
    drv_close(&v);
}

/* Paused: host bytes wait in the stream, guest memory is not written;
 * resumed, they arrive. */
static void t_quiesce(void)
{
    struct drv v;
    CHECK_EQ(drv_open(&v), 0);
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    v.d->ops->quiesce(v.d);
    uint8_t *snap = malloc(GMEM_SIZE);
    CHECK(snap);
    CHECK_EQ(write(fd, "paused", 6), 6);
    memcpy(snap, g(&v, 0), GMEM_SIZE);
    struct pollfd pf = { .fd = v.t.irq_fd, .events = POLLIN };
    uint64_t c;
    if (read(v.t.irq_fd, &c, sizeof(c)) < 0)
        c = 0;
    CHECK_EQ(poll(&pf, 1, 200), 0);
    CHECK(!memcmp(snap, g(&v, 0), GMEM_SIZE));
    free(snap);
    v.d->ops->resume(v.d);
    struct pkt p;
    CHECK_EQ(rx_get(&v, &p, 5000), 0);
    CHECK_EQ(p.h.op, VSOCK_OP_RW);
    CHECK_EQ(p.h.len, 6);
    close(fd);
    drv_close(&v);
}

/* The same device on virtio-pci: a host-initiated connection both ways,
 * each RX packet with an interrupt on the RX queue's MSI-X vector. */
static void t_pci(void)
{
    struct drv v;
    CHECK_EQ(drv_open_pci(&v), 0);
    uint8_t b[8] = { 0 };
    virtio_pci_bar_io(&v.tp, VPCI_DEVICE, b, 8, false);
    CHECK_EQ(le64_load(b), GCID);
    uint64_t c;
    if (read(v.tp.irq_fd[RXQ], &c, sizeof(c)) < 0)
        c = 0;
    uint32_t hp;
    int fd = host_open(&v, 5000, &hp, 65536);
    CHECK(fd >= 0);
    struct pollfd p = { .fd = v.tp.irq_fd[RXQ], .events = POLLIN };
    CHECK_EQ(poll(&p, 1, 5000), 1);                 /* the REQUEST's interrupt */
    CHECK_EQ(write(fd, "over pci", 8), 8);
    struct pkt k;
    CHECK_EQ(rx_get(&v, &k, 5000), 0);
    CHECK_EQ(k.h.op, VSOCK_OP_RW);
    CHECK(!memcmp(k.data, "over pci", 8));
    CHECK_EQ(tx(&v, VSOCK_OP_RW, 5000, hp, 0, 65536, 8, "and back", 8), 0);
    char r[8];
    CHECK_EQ(read_n(fd, r, 8, 5000), 8);
    CHECK(!memcmp(r, "and back", 8));
    close(fd);
    drv_close(&v);
}

int main(void)
{
    RUN(t_config);
    RUN(t_create_errors);
    RUN(t_host_connect);
    RUN(t_host_refused);
    RUN(t_guest_connect);
    RUN(t_credit_stall);
    RUN(t_tx_credit);
    RUN(t_malformed);
    RUN(t_limit);
    RUN(t_transport_reset);
    RUN(t_quiesce);
    RUN(t_pci);
    return harness_done();
}
