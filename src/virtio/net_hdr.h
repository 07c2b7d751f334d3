/* virtio-net (virtio 1.2 section 5.1): the pure part -- feature bits, the
 * header and control-queue layouts, and the checks every guest frame and
 * control command passes before the device acts on it. No I/O and no
 * state, so unit tests and tests/fuzz/fuzz_net.c call them directly. */
#ifndef ARCVMM_VIRTIO_NET_HDR_H
#define ARCVMM_VIRTIO_NET_HDR_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtq.h"

/* Device feature bits */
#define VIRTIO_NET_F_CSUM           0
#define VIRTIO_NET_F_GUEST_CSUM     1
#define VIRTIO_NET_F_MTU            3
#define VIRTIO_NET_F_MAC            5
#define VIRTIO_NET_F_GUEST_TSO4     7
#define VIRTIO_NET_F_GUEST_TSO6     8
#define VIRTIO_NET_F_GUEST_ECN      9
#define VIRTIO_NET_F_GUEST_UFO      10
#define VIRTIO_NET_F_HOST_TSO4      11
#define VIRTIO_NET_F_HOST_TSO6      12
#define VIRTIO_NET_F_HOST_ECN       13
#define VIRTIO_NET_F_HOST_UFO       14
#define VIRTIO_NET_F_MRG_RXBUF      15
#define VIRTIO_NET_F_STATUS         16
#define VIRTIO_NET_F_CTRL_VQ        17
#define VIRTIO_NET_F_MQ             22

/* struct virtio_net_hdr_v1: 12 bytes, little-endian (VERSION_1) */
#define VIRTIO_NET_HDR_SIZE         12
#define VIRTIO_NET_HDR_FLAGS        0   /* u8 */
#define VIRTIO_NET_HDR_GSO_TYPE     1   /* u8 */
#define VIRTIO_NET_HDR_HDR_LEN      2   /* le16 */
#define VIRTIO_NET_HDR_GSO_SIZE     4   /* le16 */
#define VIRTIO_NET_HDR_CSUM_START   6   /* le16 */
#define VIRTIO_NET_HDR_CSUM_OFFSET  8   /* le16 */
#define VIRTIO_NET_HDR_NUM_BUFFERS  10  /* le16 */

#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_F_DATA_VALID 2
#define VIRTIO_NET_HDR_F_RSC_INFO   4

#define VIRTIO_NET_HDR_GSO_NONE     0
#define VIRTIO_NET_HDR_GSO_TCPV4    1
#define VIRTIO_NET_HDR_GSO_UDP      3
#define VIRTIO_NET_HDR_GSO_TCPV6    4
#define VIRTIO_NET_HDR_GSO_ECN      0x80

/* Largest frame (after the header) a guest may send: a 64 KiB GSO frame. */
#define VIRTIO_NET_MAX_FRAME        65536u
/* Shortest: an Ethernet header. */
#define VIRTIO_NET_MIN_FRAME        14u

/* Control queue (5.1.6.5): class, command, data (device-readable), ack
 * (device-writable). */
#define VIRTIO_NET_CTRL_MQ              4
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET 0
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN 1
#define VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MAX 0x8000
#define VIRTIO_NET_OK                   0
#define VIRTIO_NET_ERR                  1

/* Why a TX chain was dropped (each counted by the device). */
enum virtio_net_tx_verdict {
    VIRTIO_NET_TX_OK,
    VIRTIO_NET_TX_SHORT,        /* shorter than the header + an Ethernet header */
    VIRTIO_NET_TX_LONG,         /* frame longer than 64 KiB */
    VIRTIO_NET_TX_GSO,          /* a GSO type not negotiated, unknown, ECN, or gso_size 0 */
    VIRTIO_NET_TX_CSUM,         /* NEEDS_CSUM without CSUM, or csum_start/offset past the frame */
    VIRTIO_NET_TX_FLAGS,        /* flags a driver must not set on TX (DATA_VALID, RSC_INFO, ...) */
    VIRTIO_NET_TX_WRITABLE,     /* device-writable buffers in a TX chain */
    VIRTIO_NET_TX_VERDICTS,
};

/* "short", "long", ... for log lines. */
const char *virtio_net_tx_verdict_name(enum virtio_net_tx_verdict v);

/* Check a TX chain against the negotiated features. On VIRTIO_NET_TX_OK,
 * hdr holds a checked copy of the guest's header (num_buffers zeroed,
 * hdr_len clamped to the frame: the backend gets this copy, never the
 * guest's bytes, which the guest may change meanwhile), iov[0] points at
 * hdr and iov[1..*niov) at the frame in guest memory (the header's bytes
 * skipped, wherever the guest split it), *frame_len is the frame's length.
 * iov must have room for VIRTQ_MAX_IOV + 1 entries. Otherwise nothing is
 * to be forwarded and the verdict says why. */
enum virtio_net_tx_verdict virtio_net_tx_parse(const struct virtq_elem *e, uint64_t features,
                                               uint8_t hdr[VIRTIO_NET_HDR_SIZE],
                                               struct iovec *iov, int *niov,
                                               uint32_t *frame_len);

/* A control command as parsed. */
struct virtio_net_ctrl {
    uint8_t cls, cmd;           /* 0xff, 0xff when the chain was too short for them */
    uint16_t pairs;             /* MQ_VQ_PAIRS_SET accepted: the new pair count */
    uint8_t *ack;               /* the ack byte (first writable byte), or NULL (none) */
};

/* Decide a control command against the negotiated features and the
 * device's max_virtqueue_pairs: VIRTIO_NET_OK for MQ_VQ_PAIRS_SET with MQ
 * negotiated and 1 <= pairs <= max_pairs (c->pairs set), VIRTIO_NET_ERR
 * for everything else. Nothing is written; the caller stores the result
 * in *c->ack when there is one. */
uint8_t virtio_net_ctrl_parse(const struct virtq_elem *e, uint64_t features, uint16_t max_pairs,
                              struct virtio_net_ctrl *c);

/* Copy up to len bytes starting off bytes into iov[0..n) to dst / from
 * src into it. Returns the bytes copied. */
size_t virtio_net_iov_read(const struct iovec *iov, int n, size_t off, void *dst, size_t len);
size_t virtio_net_iov_write(const struct iovec *iov, int n, size_t off, const void *src, size_t len);
#endif
