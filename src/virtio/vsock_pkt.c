#include "virtio/vsock_pkt.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

void vsock_hdr_decode(const uint8_t b[VSOCK_HDR_SIZE], struct vsock_hdr *h)
{
    h->src_cid = le64_load(b + VSOCK_HDR_SRC_CID);
    h->dst_cid = le64_load(b + VSOCK_HDR_DST_CID);
    h->src_port = le32_load(b + VSOCK_HDR_SRC_PORT);
    h->dst_port = le32_load(b + VSOCK_HDR_DST_PORT);
    h->len = le32_load(b + VSOCK_HDR_LEN);
    h->type = le16_load(b + VSOCK_HDR_TYPE);
    h->op = le16_load(b + VSOCK_HDR_OP);
    h->flags = le32_load(b + VSOCK_HDR_FLAGS);
    h->buf_alloc = le32_load(b + VSOCK_HDR_BUF_ALLOC);
    h->fwd_cnt = le32_load(b + VSOCK_HDR_FWD_CNT);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t b[VSOCK_HDR_SIZE])
{
    le64_store(b + VSOCK_HDR_SRC_CID, h->src_cid);
    le64_store(b + VSOCK_HDR_DST_CID, h->dst_cid);
    le32_store(b + VSOCK_HDR_SRC_PORT, h->src_port);
    le32_store(b + VSOCK_HDR_DST_PORT, h->dst_port);
    le32_store(b + VSOCK_HDR_LEN, h->len);
    le16_store(b + VSOCK_HDR_TYPE, h->type);
    le16_store(b + VSOCK_HDR_OP, h->op);
    le32_store(b + VSOCK_HDR_FLAGS, h->flags);
    le32_store(b + VSOCK_HDR_BUF_ALLOC, h->buf_alloc);
    le32_store(b + VSOCK_HDR_FWD_CNT, h->fwd_cnt);
}

const char *vsock_tx_verdict_name(enum vsock_tx_verdict v)
{
    static const char *const names[VSOCK_TX_VERDICTS] = {
        [VSOCK_TX_OK] = "ok",
        [VSOCK_TX_SHORT] = "shorter than the header",
        [VSOCK_TX_CID] = "not from the guest's CID to the host's",
        [VSOCK_TX_WRITABLE] = "device-writable buffer",
        [VSOCK_TX_LEN] = "len does not match the chain",
        [VSOCK_TX_BIG] = "payload too large",
        [VSOCK_TX_TYPE] = "not a stream packet",
        [VSOCK_TX_OP] = "unknown op",
    };
    return (unsigned)v < VSOCK_TX_VERDICTS ? names[v] : "?";
}

enum vsock_tx_verdict vsock_tx_parse(const struct virtq_elem *e, uint64_t guest_cid,
                                     struct vsock_hdr *h, struct iovec *pay, int *npay)
{
    uint8_t b[VSOCK_HDR_SIZE];
    memset(h, 0, sizeof(*h));
    *npay = 0;
    if (e->out_len < VSOCK_HDR_SIZE)
        return VSOCK_TX_SHORT;
    /* gather the header; the pieces after it are the payload */
    size_t got = 0;
    unsigned i = 0;
    size_t off = 0;                     /* bytes of iov[i] used by the header */
    for (; i < e->n_out && got < VSOCK_HDR_SIZE; i++) {
        size_t take = e->iov[i].iov_len;
        if (take > VSOCK_HDR_SIZE - got)
            take = VSOCK_HDR_SIZE - got;
        memcpy(b + got, e->iov[i].iov_base, take);
        got += take;
        off = take;
    }
    vsock_hdr_decode(b, h);
    if (h->dst_cid != VSOCK_HOST_CID || h->src_cid != guest_cid)
        return VSOCK_TX_CID;
    if (e->n_in)
        return VSOCK_TX_WRITABLE;
    if (h->len > VSOCK_MAX_PAYLOAD)
        return VSOCK_TX_BIG;
    if (h->len != e->out_len - VSOCK_HDR_SIZE || (h->len && h->op != VSOCK_OP_RW))
        return VSOCK_TX_LEN;
    if (h->type != VSOCK_TYPE_STREAM)
        return VSOCK_TX_TYPE;
    if (h->op < VSOCK_OP_REQUEST || h->op > VSOCK_OP_CREDIT_REQUEST)
        return VSOCK_TX_OP;
    /* i is one past the buffer that ended the header, off its bytes used */
    int n = 0;
    if (i > 0 && off < e->iov[i - 1].iov_len)
        pay[n++] = (struct iovec){ (uint8_t *)e->iov[i - 1].iov_base + off,
                                   e->iov[i - 1].iov_len - off };
    for (; i < e->n_out; i++)
        if (e->iov[i].iov_len)
            pay[n++] = e->iov[i];
    *npay = n;
    return VSOCK_TX_OK;
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

int vsock_connect_parse(const char *buf, size_t n, uint32_t *port, size_t *used)
{
    static const char verb[] = "connect";
    const size_t vlen = sizeof(verb) - 1;
    size_t lim = n < VSOCK_CONNECT_MAX ? n : VSOCK_CONNECT_MAX;
    size_t i = 0;
    /* the verb, as far as it has come */
    for (; i < vlen; i++) {
        if (i >= lim)
            return n >= VSOCK_CONNECT_MAX ? -EINVAL : 0;
        if (lower(buf[i]) != verb[i])
            return -EINVAL;
    }
    size_t spaces = 0;
    for (; i < lim && buf[i] == ' '; i++)
        spaces++;
    uint64_t v = 0;
    size_t digits = 0;
    for (; i < lim && buf[i] >= '0' && buf[i] <= '9'; i++) {
        v = v * 10 + (uint64_t)(buf[i] - '0');
        if (v >= VSOCK_PORT_ANY)
            return -EINVAL;
        digits++;
    }
    if (i >= lim)                       /* still coming, unless the line is already too long */
        return n >= VSOCK_CONNECT_MAX ? -EINVAL : 0;
    if (buf[i] != '\n' || !spaces || !digits)
        return -EINVAL;
    *port = (uint32_t)v;
    *used = i + 1;
    return 1;
}
