/* virtio-net device (virtio 1.2 section 5.1) over a network backend
 * (backend/net.h: a tap, or a socketpair in tests). One worker thread per
 * queue pair moves frames both ways; the control queue is served by pair
 * 0's worker. Every TX chain is checked by virtio_net_tx_parse() (net_hdr.c)
 * and dropped, counted, when malformed.
 *
 * Threads: create and destroy run on the thread that builds and frees the
 * VM; the virtio_dev_ops as virtio.h says (register accesses on vCPU
 * threads, activate/reset/quiesce/resume never concurrently); the workers
 * "net-q0".."net-qN" are the only ones touching the rings and the
 * backend's channels; the statistics are atomics, readable anywhere. */
#ifndef ARCVMM_VIRTIO_NET_H
#define ARCVMM_VIRTIO_NET_H
#include <stddef.h>
#include <stdint.h>

#include "backend/net.h"
#include "mem/mem.h"
#include "virtio/net_hdr.h"
#include "virtio/virtio.h"

#define VIRTIO_ID_NET 1

/* Config space (struct virtio_net_config, little-endian) */
enum {
    VIRTIO_NET_CFG_MAC = 0,                 /* u8[6] */
    VIRTIO_NET_CFG_STATUS = 6,              /* le16 */
    VIRTIO_NET_CFG_MAX_PAIRS = 8,           /* le16 max_virtqueue_pairs */
    VIRTIO_NET_CFG_MTU = 10,                /* le16 */
    VIRTIO_NET_CONFIG_SIZE = 12,
};
#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_QUEUE_MAX 256
/* Most queue pairs: the backend's channels (a tap has one fd per pair). */
#define VIRTIO_NET_MAX_PAIRS NET_BACKEND_MAX_QUEUES

struct virtio_net_cfg {
    struct net_backend *backend;    /* taken over by create (destroyed with the device, or on failure) */
    uint8_t mac[6];
    unsigned pairs;                 /* queue pairs, 1..backend->nqueues */
    uint16_t mtu;                   /* 68..65535; 0: 1500 */
};

/* Create the device (not yet attached to a transport). 0, or -errno with
 * err set to one line. */
int virtio_net_create(const struct virtio_net_cfg *cfg, const struct guest_mem *mem,
                      struct virtio_dev **out, char *err, size_t errlen);

/* What the device counted since creation (any thread; values are read
 * one at a time, not as one snapshot). */
struct virtio_net_stats {
    uint64_t tx_frames, tx_bytes, tx_errors;     /* errors: the backend refused the frame */
    uint64_t tx_dropped[VIRTIO_NET_TX_VERDICTS]; /* malformed TX chains, by verdict */
    uint64_t rx_frames, rx_bytes;
    uint64_t rx_too_big;        /* a frame did not fit the guest's buffers: dropped */
    uint64_t rx_no_buffers;     /* mergeable: the ring ran dry inside a frame: dropped */
    uint64_t rx_bad_buffers;    /* RX buffers shorter than the header or readable: returned empty */
    uint64_t rx_errors;         /* the backend failed a read */
    uint64_t ctrl_ok, ctrl_err;
};
void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *st);
/* Queue pairs in use now (1 until the driver sets more). */
unsigned virtio_net_active_pairs(struct virtio_dev *d);
#endif
