/* virtio-net's checks of guest frames and control commands (net_hdr.h). */
#include "virtio/net_hdr.h"

#include <string.h>

#include "base/le.h"

const char *virtio_net_tx_verdict_name(enum virtio_net_tx_verdict v)
{
    static const char *const names[VIRTIO_NET_TX_VERDICTS] = {
        [VIRTIO_NET_TX_OK] = "ok",
        [VIRTIO_NET_TX_SHORT] = "short",
        [VIRTIO_NET_TX_LONG] = "long",
        [VIRTIO_NET_TX_GSO] = "gso",
        [VIRTIO_NET_TX_CSUM] = "csum",
        [VIRTIO_NET_TX_FLAGS] = "flags",
        [VIRTIO_NET_TX_WRITABLE] = "writable",
    };
    return (unsigned)v < VIRTIO_NET_TX_VERDICTS ? names[v] : "?";
}

size_t virtio_net_iov_read(const struct iovec *iov, int n, size_t off, void *dst, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t k = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)dst + done, (const uint8_t *)iov[i].iov_base + off, k);
        done += k;
        off = 0;
    }
    return done;
}

size_t virtio_net_iov_write(const struct iovec *iov, int n, size_t off, const void *src, size_t len)
{
    size_t done = 0;
    for (int i = 0; i < n && done < len; i++) {
        size_t l = iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t k = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)iov[i].iov_base + off, (const uint8_t *)src + done, k);
        done += k;
        off = 0;
    }
    return done;
}

static bool has(uint64_t features, unsigned bit)
{
    return (features >> bit) & 1;
}

/* The GSO part of the header: NONE always; a GSO kind only when its
 * HOST_* feature was negotiated, with a non-zero segment size; never ECN
 * (HOST_ECN is not offered). */
static bool gso_ok(const uint8_t *h, uint64_t features)
{
    uint8_t t = h[VIRTIO_NET_HDR_GSO_TYPE];
    if (t == VIRTIO_NET_HDR_GSO_NONE)
        return true;
    if (t & VIRTIO_NET_HDR_GSO_ECN)
        return false;
    unsigned need;
    switch (t) {
    case VIRTIO_NET_HDR_GSO_TCPV4: need = VIRTIO_NET_F_HOST_TSO4; break;
    case VIRTIO_NET_HDR_GSO_TCPV6: need = VIRTIO_NET_F_HOST_TSO6; break;
    case VIRTIO_NET_HDR_GSO_UDP: need = VIRTIO_NET_F_HOST_UFO; break;
    default: return false;
    }
    return has(features, need) && le16_load(h + VIRTIO_NET_HDR_GSO_SIZE) != 0;
}

enum virtio_net_tx_verdict virtio_net_tx_parse(const struct virtq_elem *e, uint64_t features,
                                               uint8_t hdr[VIRTIO_NET_HDR_SIZE],
                                               struct iovec *iov, int *niov,
                                               uint32_t *frame_len)
{
    *niov = 0;
    *frame_len = 0;
    if (e->n_in)
        return VIRTIO_NET_TX_WRITABLE;
    if (e->out_len < VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MIN_FRAME)
        return VIRTIO_NET_TX_SHORT;
    uint32_t flen = e->out_len - VIRTIO_NET_HDR_SIZE;
    if (flen > VIRTIO_NET_MAX_FRAME)
        return VIRTIO_NET_TX_LONG;
    /* one copy of the header, checked and forwarded: the guest's bytes
     * are read exactly once */
    if (virtio_net_iov_read(e->iov, e->n_out, 0, hdr, VIRTIO_NET_HDR_SIZE) != VIRTIO_NET_HDR_SIZE)
        return VIRTIO_NET_TX_SHORT;
    uint8_t flags = hdr[VIRTIO_NET_HDR_FLAGS];
    if (flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return VIRTIO_NET_TX_FLAGS;
    if (flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
        uint32_t start = le16_load(hdr + VIRTIO_NET_HDR_CSUM_START);
        uint32_t off = le16_load(hdr + VIRTIO_NET_HDR_CSUM_OFFSET);
        if (!has(features, VIRTIO_NET_F_CSUM) || start + off + 2 > flen)
            return VIRTIO_NET_TX_CSUM;
    }
    if (!gso_ok(hdr, features))
        return VIRTIO_NET_TX_GSO;
    if (le16_load(hdr + VIRTIO_NET_HDR_HDR_LEN) > flen)
        le16_store(hdr + VIRTIO_NET_HDR_HDR_LEN, (uint16_t)flen);
    le16_store(hdr + VIRTIO_NET_HDR_NUM_BUFFERS, 0);

    iov[0].iov_base = hdr;
    iov[0].iov_len = VIRTIO_NET_HDR_SIZE;
    int k = 1;
    size_t skip = VIRTIO_NET_HDR_SIZE;
    for (int i = 0; i < e->n_out; i++) {
        size_t l = e->iov[i].iov_len;
        if (skip >= l) {
            skip -= l;
            continue;
        }
        iov[k].iov_base = (uint8_t *)e->iov[i].iov_base + skip;
        iov[k].iov_len = l - skip;
        skip = 0;
        k++;
    }
    *niov = k;
    *frame_len = flen;
    return VIRTIO_NET_TX_OK;
}

uint8_t virtio_net_ctrl_parse(const struct virtq_elem *e, uint64_t features, uint16_t max_pairs,
                              struct virtio_net_ctrl *c)
{
    c->cls = c->cmd = 0xff;
    c->pairs = 0;
    c->ack = NULL;
    const struct iovec *in = e->iov + e->n_out;
    for (int i = 0; i < e->n_in; i++) {
        if (in[i].iov_len) {
            c->ack = in[i].iov_base;
            break;
        }
    }
    uint8_t b[4];
    size_t got = virtio_net_iov_read(e->iov, e->n_out, 0, b, sizeof(b));
    if (got < 2)
        return VIRTIO_NET_ERR;
    c->cls = b[0];
    c->cmd = b[1];
    if (c->cls != VIRTIO_NET_CTRL_MQ || c->cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET ||
        !has(features, VIRTIO_NET_F_MQ) || got < 4)
        return VIRTIO_NET_ERR;
    uint16_t pairs = le16_load(b + 2);
    if (pairs < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || pairs > max_pairs)
        return VIRTIO_NET_ERR;
    c->pairs = pairs;
    return VIRTIO_NET_OK;
}
