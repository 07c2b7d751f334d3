/* Network backends: what a virtio-net device moves frames through. A
 * backend has one channel per queue pair; every frame crossing it starts
 * with the 12-byte virtio_net_hdr_v1 (the tap's IFF_VNET_HDR with
 * TUNSETVNETHDRSZ 12 speaks exactly this), so the device never converts
 * headers.
 *
 * The device's queue-pair worker waits on each channel's fd (poll) and
 * then calls readv/writev on it. A backend whose frames come from code
 * rather than the kernel (libslirp, in the VM's event loop) hands the
 * device one end of a SOCK_SEQPACKET socketpair per channel and runs its
 * own end on the loop: the device does not change.
 *
 * Threads: readv/writev on channel q are called only by that channel's
 * worker; set_offload and set_queue_enabled by the device on the thread
 * that activates it or on the worker of queue pair 0 (control queue), one
 * at a time. */
#ifndef ARCVMM_BACKEND_NET_H
#define ARCVMM_BACKEND_NET_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NET_BACKEND_MAX_QUEUES 16

/* Offloads the device can take on received frames (what the guest
 * negotiated: GUEST_CSUM, GUEST_TSO4/6, GUEST_UFO). The values are the
 * kernel's TUN_F_* so the tap passes them on as they are. */
#define NET_OFFLOAD_CSUM  0x01
#define NET_OFFLOAD_TSO4  0x02
#define NET_OFFLOAD_TSO6  0x04
#define NET_OFFLOAD_UFO   0x10

struct net_backend;

struct net_backend_ops {
    /* One frame in, header first, into iov. Returns its length (a frame
     * longer than iov is cut, the rest lost), -EAGAIN when none is
     * waiting, or another -errno. Never blocks. */
    ssize_t (*readv)(struct net_backend *nb, unsigned q, const struct iovec *iov, int n);
    /* One frame out, header first. Returns the bytes taken, -EAGAIN when
     * the channel is full (poll POLLOUT on fd, then try again), or another
     * -errno (the frame is lost). Never blocks. */
    ssize_t (*writev)(struct net_backend *nb, unsigned q, const struct iovec *iov, int n);
    /* Offloads received frames may carry (NET_OFFLOAD_*). 0 or -errno. */
    int (*set_offload)(struct net_backend *nb, unsigned flags);
    /* Should channel q take received traffic (multi-queue: the guest uses
     * only its first N pairs)? Optional (NULL). 0 or -errno. */
    int (*set_queue_enabled)(struct net_backend *nb, unsigned q, bool on);
    /* Close the channels and free nb (undoing what creating it made). */
    void (*destroy)(struct net_backend *nb);
};

struct net_backend {
    const struct net_backend_ops *ops;
    unsigned nqueues;                    /* channels, 1..NET_BACKEND_MAX_QUEUES */
    int fd[NET_BACKEND_MAX_QUEUES];      /* what each channel's worker polls */
    char name[32];                       /* for log lines: "tap0" */
    /* Frames must cross whole: no checksum left to complete, no GSO (a
     * backend that hands plain Ethernet frames to a stack, libslirp).
     * The device then offers the driver no CSUM/GUEST_CSUM, TSO or UFO,
     * so every header it sends or receives is all zeros but num_buffers. */
    bool no_offloads;
};

/* A backend over n already-open non-blocking fds that carry one frame per
 * read/write, header first (a SOCK_SEQPACKET or SOCK_DGRAM socket, a tap
 * fd): readv/writev map to the syscalls, set_offload does nothing. The
 * backend owns the fds from now on (closed by destroy, also on failure).
 * 0 or -errno. */
int net_backend_fd_create(const int *fds, unsigned n, const char *name, struct net_backend **out);

/* For backends built on the fd one (tap.c): the fd backend's calls. */
ssize_t net_backend_fd_readv(struct net_backend *nb, unsigned q, const struct iovec *iov, int n);
ssize_t net_backend_fd_writev(struct net_backend *nb, unsigned q, const struct iovec *iov, int n);
void net_backend_close_fds(struct net_backend *nb);
#endif
