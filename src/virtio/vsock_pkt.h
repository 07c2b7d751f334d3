/* virtio-vsock (virtio 1.2 section 5.10): the pure part -- the packet
 * header layout, the checks every packet the guest sends passes before the
 * device acts on it, and the parser of the hybrid Unix-socket protocol's
 * "CONNECT <port>\n" line (Firecracker's host side). No I/O and no state,
 * so unit tests and tests/fuzz/fuzz_vsock.c call them directly. */
#ifndef ARCVMM_VIRTIO_VSOCK_PKT_H
#define ARCVMM_VIRTIO_VSOCK_PKT_H
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtq.h"

#define VSOCK_HOST_CID      2u          /* VMADDR_CID_HOST: the only CID we answer for */
#define VSOCK_MIN_GUEST_CID 3u
#define VSOCK_PORT_ANY      0xffffffffu /* VMADDR_PORT_ANY: never a real port */

/* struct virtio_vsock_hdr: 44 bytes, little-endian */
#define VSOCK_HDR_SIZE      44
#define VSOCK_HDR_SRC_CID   0           /* le64 */
#define VSOCK_HDR_DST_CID   8           /* le64 */
#define VSOCK_HDR_SRC_PORT  16          /* le32 */
#define VSOCK_HDR_DST_PORT  20          /* le32 */
#define VSOCK_HDR_LEN       24          /* le32: payload bytes after the header */
#define VSOCK_HDR_TYPE      28          /* le16 */
#define VSOCK_HDR_OP        30          /* le16 */
#define VSOCK_HDR_FLAGS     32          /* le32 */
#define VSOCK_HDR_BUF_ALLOC 36          /* le32 */
#define VSOCK_HDR_FWD_CNT   40          /* le32 */

#define VSOCK_TYPE_STREAM   1

enum vsock_op {
    VSOCK_OP_INVALID = 0,
    VSOCK_OP_REQUEST = 1,
    VSOCK_OP_RESPONSE = 2,
    VSOCK_OP_RST = 3,
    VSOCK_OP_SHUTDOWN = 4,
    VSOCK_OP_RW = 5,
    VSOCK_OP_CREDIT_UPDATE = 6,
    VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags */
#define VSOCK_SHUTDOWN_RCV  1u          /* the sender will receive no more */
#define VSOCK_SHUTDOWN_SEND 2u          /* the sender will send no more */

/* Event queue: struct virtio_vsock_event { le32 id; } */
#define VSOCK_EVENT_SIZE            4
#define VSOCK_EVENT_TRANSPORT_RESET 0

/* Largest payload a guest may put in one packet (Linux sends at most
 * 64 KiB: VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define VSOCK_MAX_PAYLOAD   65536u

struct vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port;
    uint32_t len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
};

void vsock_hdr_decode(const uint8_t b[VSOCK_HDR_SIZE], struct vsock_hdr *h);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t b[VSOCK_HDR_SIZE]);

/* What vsock_tx_parse found. Past SHORT and CID the ports are known, so
 * the device can answer a bad packet with RST; SHORT and CID are dropped
 * (a packet from or to a CID that is not ours has nobody to answer). */
enum vsock_tx_verdict {
    VSOCK_TX_OK,
    VSOCK_TX_SHORT,         /* fewer readable bytes than the header */
    VSOCK_TX_CID,           /* dst_cid is not the host's or src_cid not the guest's */
    VSOCK_TX_WRITABLE,      /* a device-writable buffer in a TX chain */
    VSOCK_TX_LEN,           /* len is not the bytes after the header (or payload on a non-RW op) */
    VSOCK_TX_BIG,           /* len above VSOCK_MAX_PAYLOAD */
    VSOCK_TX_TYPE,          /* not a stream packet */
    VSOCK_TX_OP,            /* an op we do not know */
    VSOCK_TX_VERDICTS,
};
const char *vsock_tx_verdict_name(enum vsock_tx_verdict v);

/* Check a TX element: the header (which may be split over buffers) is
 * copied into *h (filled as far as it was readable: for SHORT it is zero);
 * on OK, pay[0..*npay) are the payload's pieces in guest memory, exactly
 * h->len bytes (pay has room for VIRTQ_MAX_IOV entries). */
enum vsock_tx_verdict vsock_tx_parse(const struct virtq_elem *e, uint64_t guest_cid,
                                     struct vsock_hdr *h, struct iovec *pay, int *npay);

/* The hybrid protocol's first line, from a host program on the listener:
 * "CONNECT <port>\n", the verb in any case, one or more spaces, a decimal
 * port below VSOCK_PORT_ANY, the whole line (newline included) at most
 * VSOCK_CONNECT_MAX bytes. buf holds the n bytes received so far.
 * Returns 1 with *port and *used (the line's bytes, newline included),
 * 0 when the line is not complete yet and may still be good (no newline in
 * n < VSOCK_CONNECT_MAX bytes), or -EINVAL (malformed or too long). */
#define VSOCK_CONNECT_MAX 32
int vsock_connect_parse(const char *buf, size_t n, uint32_t *port, size_t *used);
#endif
