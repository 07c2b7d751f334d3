/* libFuzzer target: virtio-vsock's guest input. The input format is
 * fuzz_common.h's (a TX ring and guest memory); its reserved bytes 12-15:
 *
 *   12     bit 0: also run the whole device (below); bit 1: EVENT_IDX on
 *          the device's queues
 *   13     unused
 *   14-15  RX ring gpa (device mode): descriptors there, the available
 *          ring after them, the used ring after that (4-aligned)
 *
 * Always: every element goes through vsock_tx_parse (header + chain
 * checks) and what it accepts is checked against the rules, and the bytes
 * of its first buffer are fed to the CONNECT line parser prefix by prefix
 * (a prefix's answer must agree with every longer one's).
 *
 * Device mode: the real device (virtio/vsock.c, its loop thread and
 * listener) is activated on the input's rings without a transport, which
 * serves the TX ring at once (guest connects reach "<uds>_1", where this
 * target listens, or nobody), writes its answers into the RX buffers, and
 * is reset (every connection dropped). ASan and UBSan watch every access
 * to guest memory; the loop must neither crash nor hang. */
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz_common.h"
#include "base/efd.h"
#include "base/le.h"
#include "virtio/vsock.h"
#include "virtio/vsock_pkt.h"

#define GCID 3

/* The CONNECT parser on every prefix of b[0..n): once it answers 1 or
 * -EINVAL, longer prefixes answer the same (with the same port and line). */
static void connect_check(const char *b, size_t n)
{
    int first = 0;
    uint32_t port0 = 0;
    size_t used0 = 0;
    if (n > 64)
        n = 64;
    for (size_t k = 0; k <= n; k++) {
        uint32_t port = 0;
        size_t used = 0;
        int r = vsock_connect_parse(b, k, &port, &used);
        FZ_ASSERT(r == 1 || r == 0 || r == -EINVAL);
        if (r == 1) {
            FZ_ASSERT(used >= 10 && used <= VSOCK_CONNECT_MAX && used <= k);
            FZ_ASSERT(b[used - 1] == '\n');
            FZ_ASSERT(port != VSOCK_PORT_ANY);
        }
        if (r == 0)
            FZ_ASSERT(k < VSOCK_CONNECT_MAX);
        if (first) {
            FZ_ASSERT(r == first);
            if (r == 1)
                FZ_ASSERT(port == port0 && used == used0);
        } else if (r != 0) {
            first = r;
            port0 = port;
            used0 = used;
        }
    }
}

static uint32_t on_elem(const struct virtq *q, const struct virtq_elem *e, void *opaque)
{
    static struct iovec pay[VIRTQ_MAX_IOV];
    struct vsock_hdr h;
    int npay = -1;
    enum vsock_tx_verdict v = vsock_tx_parse(e, GCID, &h, pay, &npay);
    FZ_ASSERT((unsigned)v < VSOCK_TX_VERDICTS);
    FZ_ASSERT(vsock_tx_verdict_name(v)[0] != '?');
    if (v == VSOCK_TX_OK) {
        FZ_ASSERT(e->n_in == 0);
        FZ_ASSERT(h.dst_cid == VSOCK_HOST_CID && h.src_cid == GCID);
        FZ_ASSERT(h.type == VSOCK_TYPE_STREAM);
        FZ_ASSERT(h.op >= VSOCK_OP_REQUEST && h.op <= VSOCK_OP_CREDIT_REQUEST);
        FZ_ASSERT(h.len <= VSOCK_MAX_PAYLOAD && h.len + VSOCK_HDR_SIZE == e->out_len);
        FZ_ASSERT(h.len == 0 || h.op == VSOCK_OP_RW);
        FZ_ASSERT(npay >= 0 && npay <= VIRTQ_MAX_IOV);
        uint64_t t = 0;
        for (int i = 0; i < npay; i++) {
            FZ_ASSERT(pay[i].iov_len > 0);
            FZ_ASSERT(fz_in_ram(q->mem, pay[i].iov_base, pay[i].iov_len));
            t += pay[i].iov_len;
        }
        FZ_ASSERT(t == h.len);
    } else {
        FZ_ASSERT(npay == 0);
    }
    if (e->n_out)
        connect_check(e->iov[0].iov_base, e->iov[0].iov_len);
    return 0;
}

/* ---- device mode ---- */

static void fx_signal(void *opaque, unsigned q) { }
static void fx_config(void *opaque) { }
static void fx_reset(void *opaque, const char *why) { }
static const struct virtio_transport_ops fx_ops = {
    .signal_queue = fx_signal, .config_changed = fx_config, .needs_reset = fx_reset,
};

struct fx {
    struct virtio_dev *d;
    int lis;                        /* "<uds>_1" */
};

static char fx_dir[64];
static struct fx fx_dev;

/* At exit: the device goes (its listener with it), then the directory. */
static void fx_cleanup(void)
{
    char p[160];
    if (fx_dev.d)
        fx_dev.d->ops->destroy(fx_dev.d);
    if (fx_dev.lis >= 0)
        close(fx_dev.lis);
    snprintf(p, sizeof(p), "%s/v.sock_1", fx_dir);
    unlink(p);
    rmdir(fx_dir);
}

static struct fx *fx_get(void)
{
    struct fx *fp = &fx_dev;
    static bool ready;
    if (ready)
        return fp->d ? fp : NULL;
    ready = true;
    fp->lis = -1;
    char uds[108], err[256];
    snprintf(fx_dir, sizeof(fx_dir), "/tmp/arcvmm-fuzz-vsock-XXXXXX");
    if (!mkdtemp(fx_dir))
        return NULL;
    atexit(fx_cleanup);
    snprintf(uds, sizeof(uds), "%s/v.sock", fx_dir);
    static struct guest_mem none;
    struct virtio_vsock_cfg cfg = { .guest_cid = GCID, .uds_path = uds };
    if (virtio_vsock_create(&cfg, &none, &fp->d, err, sizeof(err)) < 0) {
        fprintf(stderr, "fuzz_vsock: %s\n", err);
        return NULL;
    }
    fp->d->xport = (struct virtio_transport){ .ops = &fx_ops };
    for (unsigned q = 0; q < 3; q++)
        fp->d->notify_fd[q] = efd_new();
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s_1", uds);
    fp->lis = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fp->lis < 0 || bind(fp->lis, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(fp->lis, 4096) < 0) {
        if (fp->lis >= 0)
            close(fp->lis);
        fp->lis = -1;
    }
    return fp;
}

static void run_device(struct guest_mem *mem, const struct virtq *txq, const uint8_t *h)
{
    struct fx *f = fx_get();
    if (!f)
        return;
    struct virtio_dev *d = f->d;
    d->mem = mem;
    bool eidx = h[12] & 2;
    d->driver_features = 1ULL << VIRTIO_F_VERSION_1 | (eidx ? 1ULL << VIRTIO_F_EVENT_IDX : 0);
    for (unsigned q = 0; q < 3; q++) {
        memset(&d->vqs[q], 0, sizeof(d->vqs[q]));
        d->vq_ready[q] = false;
    }
    struct virtq *tx = &d->vqs[VSOCK_QUEUE_TX];
    *tx = (struct virtq){ .mem = mem, .size = txq->size, .desc_gpa = txq->desc_gpa,
                          .avail_gpa = txq->avail_gpa, .used_gpa = txq->used_gpa,
                          .event_idx = eidx };
    d->vq_ready[VSOCK_QUEUE_TX] = virtq_init(tx) == 0;
    struct virtq *rx = &d->vqs[VSOCK_QUEUE_RX];
    uint64_t rd = fz_le16(h + 14) & ~15ULL;
    *rx = (struct virtq){ .mem = mem, .size = txq->size, .desc_gpa = rd,
                          .avail_gpa = rd + 16ULL * txq->size,
                          .used_gpa = (rd + 16ULL * txq->size + 6 + 2ULL * txq->size + 3) & ~3ULL,
                          .event_idx = eidx };
    d->vq_ready[VSOCK_QUEUE_RX] = virtq_init(rx) == 0;
    if (d->ops->activate(d) == 0)
        d->ops->reset(d);           /* TX was served in activate; every connection goes */
    for (unsigned q = 0; q < 3; q++)
        efd_drain(d->notify_fd[q]);
    if (f->lis >= 0)
        for (int s; (s = accept(f->lis, NULL, NULL)) >= 0;)
            close(s);
    if (getenv("FUZZ_VSOCK_STATS")) {           /* what a seed reached, for whoever writes one */
        struct virtio_vsock_stats st;
        virtio_vsock_get_stats(d, &st);
        fprintf(stderr, "fuzz_vsock: tx %llu rx %llu rst %llu guest-connected %llu failed %llu "
                "overrun %llu\n", (unsigned long long)st.tx_pkts, (unsigned long long)st.rx_pkts,
                (unsigned long long)st.rst_sent, (unsigned long long)st.guest_connected,
                (unsigned long long)st.guest_connect_failed,
                (unsigned long long)st.credit_overrun);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HDR_SIZE)
        return 0;
    fuzz_virtq_run(data, size, on_elem, NULL);
    if (!(data[12] & 1))
        return 0;
    /* the same memory and TX ring again, now for the device (its queues
     * are the device's: aligned, no indirect descriptors) */
    struct guest_mem mem;
    if (fz_mem_from_input(data, size, &mem) < 0)
        return 0;
    struct virtq txq = fz_queue_from_header(data, &mem);
    txq.desc_gpa &= ~15ULL;
    txq.avail_gpa &= ~1ULL;
    txq.used_gpa &= ~3ULL;
    run_device(&mem, &txq, data);
    fz_mem_free(&mem);
    return 0;
}
