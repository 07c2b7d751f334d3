/* virtio-vsock's pure part (virtio/vsock_pkt.c): header encode/decode, the
 * TX chain checks on hand-built elements and the CONNECT line parser. */
#include <errno.h>
#include <stdlib.h>

#include "base/le.h"
#include "harness.h"
#include "virtio/vsock_pkt.h"

#define GCID 3

static struct virtq_elem *el_new(void)
{
    return calloc(1, sizeof(struct virtq_elem));
}

static void el_add(struct virtq_elem *e, void *p, size_t n, bool in)
{
    unsigned i = e->n_out + e->n_in;
    e->iov[i].iov_base = p;
    e->iov[i].iov_len = n;
    if (in) {
        e->n_in++;
        e->in_len += (uint32_t)n;
    } else {
        e->n_out++;
        e->out_len += (uint32_t)n;
    }
}

static void mk(uint8_t *b, uint16_t op, uint32_t len)
{
    struct vsock_hdr h = { .src_cid = GCID, .dst_cid = VSOCK_HOST_CID, .src_port = 1234,
                           .dst_port = 5000, .len = len, .type = VSOCK_TYPE_STREAM, .op = op,
                           .buf_alloc = 65536, .fwd_cnt = 7 };
    vsock_hdr_encode(&h, b);
}

static void t_hdr_roundtrip(void)
{
    struct vsock_hdr h = { 0x1122334455667788ULL, 2, 0xaabbccdd, 17, 4096, 1, 5, 3,
                           0x40000, 0xfffffff0u }, o;
    uint8_t b[VSOCK_HDR_SIZE];
    vsock_hdr_encode(&h, b);
    CHECK_EQ(le64_load(b), 0x1122334455667788ULL);
    CHECK_EQ(le32_load(b + VSOCK_HDR_LEN), 4096);
    CHECK_EQ(le16_load(b + VSOCK_HDR_OP), 5);
    CHECK_EQ(le32_load(b + VSOCK_HDR_FWD_CNT), 0xfffffff0u);
    vsock_hdr_decode(b, &o);
    CHECK(!memcmp(&h, &o, sizeof(h)));
}

static enum vsock_tx_verdict parse1(const uint8_t *hdr, size_t paylen, int *npay)
{
    static uint8_t pay[VSOCK_MAX_PAYLOAD + 16];
    static struct iovec iov[VIRTQ_MAX_IOV];
    struct virtq_elem *e = el_new();
    uint8_t h[VSOCK_HDR_SIZE];
    memcpy(h, hdr, sizeof(h));
    el_add(e, h, sizeof(h), false);
    if (paylen)
        el_add(e, pay, paylen, false);
    struct vsock_hdr o;
    enum vsock_tx_verdict v = vsock_tx_parse(e, GCID, &o, iov, npay);
    free(e);
    return v;
}

static void t_tx_parse(void)
{
    uint8_t h[VSOCK_HDR_SIZE];
    int np;
    for (uint16_t op = VSOCK_OP_REQUEST; op <= VSOCK_OP_CREDIT_REQUEST; op++) {
        mk(h, op, 0);
        CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_OK);
        CHECK_EQ(np, 0);
    }
    mk(h, VSOCK_OP_RW, 100);
    CHECK_EQ(parse1(h, 100, &np), VSOCK_TX_OK);
    CHECK_EQ(np, 1);
    CHECK_EQ(parse1(h, 99, &np), VSOCK_TX_LEN);
    CHECK_EQ(parse1(h, 101, &np), VSOCK_TX_LEN);
    mk(h, VSOCK_OP_RW, VSOCK_MAX_PAYLOAD);
    CHECK_EQ(parse1(h, VSOCK_MAX_PAYLOAD, &np), VSOCK_TX_OK);
    mk(h, VSOCK_OP_RW, VSOCK_MAX_PAYLOAD + 1);
    CHECK_EQ(parse1(h, VSOCK_MAX_PAYLOAD + 1, &np), VSOCK_TX_BIG);
    mk(h, VSOCK_OP_RW, 0xffffffffu);
    CHECK_EQ(parse1(h, 10, &np), VSOCK_TX_BIG);
    mk(h, VSOCK_OP_REQUEST, 4);                 /* payload on a control op */
    CHECK_EQ(parse1(h, 4, &np), VSOCK_TX_LEN);
    mk(h, 0, 0);
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_OP);
    mk(h, 8, 0);
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_OP);
    mk(h, 0xffff, 0);
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_OP);
    mk(h, VSOCK_OP_RW, 0);
    le16_store(h + VSOCK_HDR_TYPE, 2);          /* SEQPACKET: not offered */
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_TYPE);
    mk(h, VSOCK_OP_RW, 0);
    le64_store(h + VSOCK_HDR_DST_CID, 5);
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_CID);
    le64_store(h + VSOCK_HDR_DST_CID, 2 | (1ULL << 32));    /* the high half counts too */
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_CID);
    mk(h, VSOCK_OP_RW, 0);
    le64_store(h + VSOCK_HDR_SRC_CID, 4);       /* spoofing another guest */
    CHECK_EQ(parse1(h, 0, &np), VSOCK_TX_CID);
    /* shorter than the header, and a writable buffer */
    struct virtq_elem *e = el_new();
    struct vsock_hdr o;
    struct iovec iov[VIRTQ_MAX_IOV];
    mk(h, VSOCK_OP_RW, 0);
    el_add(e, h, VSOCK_HDR_SIZE - 1, false);
    CHECK_EQ(vsock_tx_parse(e, GCID, &o, iov, &np), VSOCK_TX_SHORT);
    CHECK_EQ(o.op, 0);
    memset(e, 0, sizeof(*e));
    el_add(e, h, VSOCK_HDR_SIZE, false);
    el_add(e, h, 4, true);
    CHECK_EQ(vsock_tx_parse(e, GCID, &o, iov, &np), VSOCK_TX_WRITABLE);
    memset(e, 0, sizeof(*e));
    CHECK_EQ(vsock_tx_parse(e, GCID, &o, iov, &np), VSOCK_TX_SHORT);
    free(e);
    for (int v = 0; v < VSOCK_TX_VERDICTS; v++)
        CHECK(vsock_tx_verdict_name((enum vsock_tx_verdict)v)[0] != '?');
    CHECK(vsock_tx_verdict_name(VSOCK_TX_VERDICTS)[0] == '?');
}

/* The header split over three buffers, the payload starting inside the
 * third and going on in two more. */
static void t_tx_parse_split(void)
{
    uint8_t h[VSOCK_HDR_SIZE], a[10], b[20], c[30], d[5], f[40];
    mk(h, VSOCK_OP_RW, 16 + 5 + 40);
    memcpy(a, h, 10);
    memcpy(b, h + 10, 20);
    memcpy(c, h + 30, 14);
    for (int i = 14; i < 30; i++)
        c[i] = (uint8_t)i;
    struct virtq_elem *e = el_new();
    el_add(e, a, 10, false);
    el_add(e, b, 20, false);
    el_add(e, c, 30, false);
    el_add(e, d, 5, false);
    el_add(e, f, 40, false);
    struct vsock_hdr o;
    struct iovec iov[VIRTQ_MAX_IOV];
    int np;
    CHECK_EQ(vsock_tx_parse(e, GCID, &o, iov, &np), VSOCK_TX_OK);
    free(e);
    CHECK_EQ(o.src_port, 1234);
    CHECK_EQ(o.dst_port, 5000);
    CHECK_EQ(o.buf_alloc, 65536);
    CHECK_EQ(o.fwd_cnt, 7);
    CHECK_EQ(np, 3);
    CHECK(iov[0].iov_base == c + 14 && iov[0].iov_len == 16);
    CHECK(iov[1].iov_base == d && iov[1].iov_len == 5);
    CHECK(iov[2].iov_base == f && iov[2].iov_len == 40);
}

static int cp(const char *s, uint32_t *port, size_t *used)
{
    return vsock_connect_parse(s, strlen(s), port, used);
}

static void t_connect_parse(void)
{
    uint32_t p = 0;
    size_t u = 0;
    CHECK_EQ(cp("CONNECT 5000\n", &p, &u), 1);
    CHECK_EQ(p, 5000);
    CHECK_EQ(u, 13);
    CHECK_EQ(cp("connect 1\nextra bytes", &p, &u), 1);       /* data after the line stays */
    CHECK_EQ(p, 1);
    CHECK_EQ(u, 10);
    CHECK_EQ(cp("CoNnEcT    0042\n", &p, &u), 1);
    CHECK_EQ(p, 42);
    CHECK_EQ(cp("CONNECT 4294967294\n", &p, &u), 1);
    CHECK_EQ(p, 4294967294u);
    /* not complete yet, still possibly good */
    CHECK_EQ(cp("", &p, &u), 0);
    CHECK_EQ(cp("CONN", &p, &u), 0);
    CHECK_EQ(cp("CONNECT", &p, &u), 0);
    CHECK_EQ(cp("CONNECT 50", &p, &u), 0);
    /* malformed */
    CHECK_EQ(cp("GET / HTTP/1.1\r\n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNEC", &p, &u), 0);
    CHECK_EQ(cp("CONNECX", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT5000\n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT \n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT 50x0\n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT -1\n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT 5000\r\n", &p, &u), -EINVAL);
    CHECK_EQ(cp("CONNECT 4294967295\n", &p, &u), -EINVAL);   /* VMADDR_PORT_ANY */
    CHECK_EQ(cp("CONNECT 99999999999999999999\n", &p, &u), -EINVAL);
    /* the 32-byte bound, newline included */
    char line[64];
    snprintf(line, sizeof(line), "CONNECT %023u\n", 7u);     /* 8 + 23 + 1 = 32 */
    CHECK_EQ(strlen(line), 32);
    CHECK_EQ(cp(line, &p, &u), 1);
    CHECK_EQ(p, 7);
    snprintf(line, sizeof(line), "CONNECT %024u\n", 7u);     /* 33 */
    CHECK_EQ(cp(line, &p, &u), -EINVAL);
    snprintf(line, sizeof(line), "CONNECT %024u", 7u);       /* 32 bytes, no newline: too long */
    CHECK_EQ(cp(line, &p, &u), -EINVAL);
    char big[101];
    memset(big, ' ', 100);
    memcpy(big, "CONNECT", 7);
    big[100] = '\0';
    CHECK_EQ(cp(big, &p, &u), -EINVAL);
    /* an embedded NUL is just a bad byte */
    CHECK_EQ(vsock_connect_parse("CONNECT \0\n", 10, &p, &u), -EINVAL);
}

int main(void)
{
    RUN(t_hdr_roundtrip);
    RUN(t_tx_parse);
    RUN(t_tx_parse_split);
    RUN(t_connect_parse);
    return harness_done();
}
