/* libFuzzer target: virtio-net's TX header + chain checks and its
 * control-queue parser (virtio/net_hdr.c) on popped elements. The input
 * format is fuzz_common.h's; its reserved bytes 12-13 choose the
 * negotiated features (bit 0 CSUM, 1 HOST_TSO4, 2 HOST_TSO6, 3 HOST_UFO,
 * 4 MQ) and max_virtqueue_pairs (byte 13, 0 read as 1). Every element goes
 * through both parsers; what they accept is checked against the rules. */
#include "fuzz_common.h"
#include "base/le.h"
#include "virtio/net_hdr.h"

struct fz_net {
    uint64_t features;
    uint16_t max_pairs;
};

static uint32_t on_elem(const struct virtq *q, const struct virtq_elem *e, void *opaque)
{
    const struct fz_net *o = opaque;
    static struct iovec iov[VIRTQ_MAX_IOV + 1];
    uint8_t hdr[VIRTIO_NET_HDR_SIZE];
    int niov = -1;
    uint32_t flen = 1;
    enum virtio_net_tx_verdict v = virtio_net_tx_parse(e, o->features, hdr, iov, &niov, &flen);
    FZ_ASSERT((unsigned)v < VIRTIO_NET_TX_VERDICTS);
    FZ_ASSERT(virtio_net_tx_verdict_name(v)[0] != '?');
    if (v == VIRTIO_NET_TX_OK) {
        FZ_ASSERT(e->n_in == 0);
        FZ_ASSERT(niov >= 2 && niov <= VIRTQ_MAX_IOV + 1);
        FZ_ASSERT(iov[0].iov_base == hdr && iov[0].iov_len == VIRTIO_NET_HDR_SIZE);
        uint64_t t = 0;
        for (int i = 1; i < niov; i++) {
            FZ_ASSERT(iov[i].iov_len > 0);
            FZ_ASSERT(fz_in_ram(q->mem, iov[i].iov_base, iov[i].iov_len));
            t += iov[i].iov_len;
        }
        FZ_ASSERT(t == flen);
        FZ_ASSERT(flen >= VIRTIO_NET_MIN_FRAME && flen <= VIRTIO_NET_MAX_FRAME);
        FZ_ASSERT(flen + VIRTIO_NET_HDR_SIZE == e->out_len);
        FZ_ASSERT(!(hdr[VIRTIO_NET_HDR_FLAGS] & ~VIRTIO_NET_HDR_F_NEEDS_CSUM));
        if (hdr[VIRTIO_NET_HDR_FLAGS] & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
            FZ_ASSERT(o->features & (1ULL << VIRTIO_NET_F_CSUM));
            FZ_ASSERT((uint32_t)le16_load(hdr + VIRTIO_NET_HDR_CSUM_START) +
                      le16_load(hdr + VIRTIO_NET_HDR_CSUM_OFFSET) + 2 <= flen);
        }
        uint8_t g = hdr[VIRTIO_NET_HDR_GSO_TYPE];
        FZ_ASSERT(g == VIRTIO_NET_HDR_GSO_NONE ||
                  (g == VIRTIO_NET_HDR_GSO_TCPV4 && (o->features >> VIRTIO_NET_F_HOST_TSO4 & 1)) ||
                  (g == VIRTIO_NET_HDR_GSO_TCPV6 && (o->features >> VIRTIO_NET_F_HOST_TSO6 & 1)) ||
                  (g == VIRTIO_NET_HDR_GSO_UDP && (o->features >> VIRTIO_NET_F_HOST_UFO & 1)));
        FZ_ASSERT(g == VIRTIO_NET_HDR_GSO_NONE || le16_load(hdr + VIRTIO_NET_HDR_GSO_SIZE));
        FZ_ASSERT(le16_load(hdr + VIRTIO_NET_HDR_HDR_LEN) <= flen);
        FZ_ASSERT(le16_load(hdr + VIRTIO_NET_HDR_NUM_BUFFERS) == 0);
    }

    struct virtio_net_ctrl c;
    uint8_t ack = virtio_net_ctrl_parse(e, o->features, o->max_pairs, &c);
    FZ_ASSERT(ack == VIRTIO_NET_OK || ack == VIRTIO_NET_ERR);
    if (c.ack)
        FZ_ASSERT(e->n_in > 0 && fz_in_ram(q->mem, c.ack, 1));
    else
        FZ_ASSERT(e->in_len == 0);
    if (ack == VIRTIO_NET_OK) {
        FZ_ASSERT(c.cls == VIRTIO_NET_CTRL_MQ && c.cmd == VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET);
        FZ_ASSERT(c.pairs >= 1 && c.pairs <= o->max_pairs);
        FZ_ASSERT(o->features & (1ULL << VIRTIO_NET_F_MQ));
    }
    if (c.ack)
        *c.ack = ack;       /* what the device does: one byte inside RAM */
    return c.ack ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HDR_SIZE)
        return 0;
    static const unsigned bits[] = { VIRTIO_NET_F_CSUM, VIRTIO_NET_F_HOST_TSO4,
                                     VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
                                     VIRTIO_NET_F_MQ };
    struct fz_net o = { .max_pairs = data[13] ? data[13] : 1 };
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        if ((data[12] >> i) & 1)
            o.features |= 1ULL << bits[i];
    return fuzz_virtq_run(data, size, on_elem, &o);
}
