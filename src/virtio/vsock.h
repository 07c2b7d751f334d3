/* virtio-vsock device (virtio 1.2 section 5.10) with Firecracker's hybrid
 * Unix-socket host side:
 *   - host-initiated: a host program connects to the listener at uds_path
 *     and writes "CONNECT <port>\n"; once the guest accepts, the device
 *     writes "OK <hostport>\n" and the stream carries the connection;
 *   - guest-initiated: a guest connect to CID 2 port P is a connect to the
 *     Unix socket "<uds_path>_<P>"; when that fails the guest gets RST.
 * Stream sockets only, at most VSOCK_MAX_CONNS connections at once.
 *
 * Threads: the device runs on an event loop of its own (base/evloop.h,
 * thread "vsock"), created with the device: the three queues' notify
 * eventfds, the listener and every connection's Unix stream are served
 * there, so connection state needs no lock and no vCPU thread ever does
 * socket I/O. The virtio_dev_ops (activate, reset, quiesce, resume) hand
 * their work to that loop and wait for it (evloop_call_sync); the loop
 * never takes a transport's register lock, so waiting under it is safe.
 * The statistics are atomics, readable anywhere. */
#ifndef ARCVMM_VIRTIO_VSOCK_H
#define ARCVMM_VIRTIO_VSOCK_H
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"
#include "virtio/virtio.h"
#include "virtio/vsock_pkt.h"

#define VIRTIO_ID_VSOCK 19

/* Config space: le64 guest_cid */
#define VIRTIO_VSOCK_CONFIG_SIZE 8

#define VSOCK_QUEUE_RX    0
#define VSOCK_QUEUE_TX    1
#define VSOCK_QUEUE_EVENT 2
#define VIRTIO_VSOCK_QUEUE_MAX 256

#define VSOCK_MAX_CONNS   1023
/* What each connection takes from the guest before the host program
 * reads it (the buf_alloc the guest is told): the device holds at most
 * this much per connection, so at most VSOCK_MAX_CONNS * VSOCK_BUF_ALLOC
 * (128 MiB) in all. Host-to-guest bytes are never held: the Unix stream
 * is read only into a guest buffer, and only as far as the guest's credit
 * allows. */
#define VSOCK_BUF_ALLOC   (128u << 10)
/* A host program's CONNECT line and the guest's answer must come within
 * this (from accept). */
#define VSOCK_CONNECT_TIMEOUT_NS (2000ull * 1000 * 1000)
/* Host-side ports of host-initiated connections are taken from here up. */
#define VSOCK_HOST_PORT_FIRST (1u << 30)

struct virtio_vsock_cfg {
    uint64_t guest_cid;             /* >= 3, below 0xffffffff */
    const char *uds_path;           /* the listener; "<uds_path>_<port>" for guest connects */
};

/* Create the device and its listener (a stale socket file at uds_path is
 * replaced; a live listener's path, a non-socket, a missing directory or a
 * path too long are refused) and start its loop. 0, or -errno with err set
 * to one line. The listener is removed when the device is destroyed. */
int virtio_vsock_create(const struct virtio_vsock_cfg *cfg, const struct guest_mem *mem,
                        struct virtio_dev **out, char *err, size_t errlen);

/* Send VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on the event queue (as before a
 * snapshot): every connection is dropped (host streams closed), and the
 * event goes out now or as soon as the driver posts an event buffer. Any
 * thread but a vCPU's. 0, or -ENODEV when the driver has not activated
 * the device. */
int virtio_vsock_transport_reset(struct virtio_dev *d);

struct virtio_vsock_stats {
    uint64_t tx_pkts, rx_pkts;          /* packets from / to the guest */
    uint64_t tx_bytes, rx_bytes;        /* stream payload bytes */
    uint64_t tx_dropped[VSOCK_TX_VERDICTS];   /* malformed guest packets, by verdict */
    uint64_t rst_sent;                  /* RSTs sent to the guest */
    uint64_t rst_dropped;               /* RSTs for unknown connections not sent (queue full) */
    uint64_t unknown_conn;              /* packets for no connection */
    uint64_t credit_overrun;            /* a guest sent past its credit: connection reset */
    uint64_t rx_bad_buffers;            /* RX buffers too short or readable */
    uint64_t host_accepted, host_connected;   /* host programs accepted / connected to the guest */
    uint64_t host_bad_line, host_timeout;     /* closed: a bad CONNECT line, no answer in 2 s */
    uint64_t host_refused;              /* the guest answered RST */
    uint64_t guest_connected, guest_connect_failed;
    uint64_t table_full;                /* refused: VSOCK_MAX_CONNS connections open */
    uint64_t conns;                     /* open now (a CONNECT line still being read included) */
    uint64_t events_sent;
};
void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *st);
#endif
