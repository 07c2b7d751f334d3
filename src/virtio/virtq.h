/* Split virtqueue (virtio 1.2 section 2.7), device side. Pure code: every
 * guest-controlled index, length and address is checked, and guest memory
 * is reached only through mem_ptr(). A malformed ring marks the queue
 * broken (the device then sets DEVICE_NEEDS_RESET); it never crashes, hangs
 * or touches host memory outside guest RAM.
 *
 * Threads: one thread at a time per queue (the device's worker). */
#ifndef ARCVMM_VIRTQ_H
#define ARCVMM_VIRTQ_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "mem/mem.h"

#define VIRTQ_MAX_SIZE   1024        /* largest queue size we accept */
#define VIRTQ_MAX_IOV    1024        /* most buffers in one element (chain + indirect) */

/* Ring layout (virtio 1.2 2.7): all fields little-endian. */
#define VIRTQ_DESC_F_NEXT       1
#define VIRTQ_DESC_F_WRITE      2
#define VIRTQ_DESC_F_INDIRECT   4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY  1
#define VIRTQ_DESC_SIZE         16
#define VIRTQ_DESC_ALIGN        16
#define VIRTQ_AVAIL_ALIGN       2
#define VIRTQ_USED_ALIGN        4
/* Bytes of each ring for a queue of `size` (event_idx adds the trailing
 * used_event / avail_event field). */
#define VIRTQ_DESC_BYTES(size)            ((uint64_t)(size) * 16)
#define VIRTQ_AVAIL_BYTES(size, eidx)     (4 + (uint64_t)(size) * 2 + ((eidx) ? 2 : 0))
#define VIRTQ_USED_BYTES(size, eidx)      (4 + (uint64_t)(size) * 8 + ((eidx) ? 2 : 0))

struct virtq {
    const struct guest_mem *mem;
    /* set by the transport from the driver's configuration */
    uint16_t size;                   /* power of two, 1..VIRTQ_MAX_SIZE */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool event_idx;                  /* VIRTIO_F_EVENT_IDX negotiated */
    bool indirect;                   /* VIRTIO_F_INDIRECT_DESC negotiated */
    /* device state */
    uint16_t last_avail;             /* next avail ring index to consume */
    uint16_t used_idx;               /* next used ring index to fill (shadow of used->idx) */
    uint16_t signalled_used;         /* used_idx when the driver was last interrupted */
    bool signalled_valid;
    bool broken;                     /* set on the first malformed descriptor; sticky */
    char error[128];                 /* what was wrong, for the one guest-error log line */
    /* private to virtq.c, set by virtq_init(): host views of the three
     * rings (guest RAM mappings never move) and how many avail entries
     * past last_avail were already seen (so a pop in a batch needs no
     * re-read of avail->idx). To restore a queue, call virtq_init() and
     * then set last_avail / used_idx. */
    uint8_t *desc_hva, *avail_hva, *used_hva;
    uint16_t avail_ready;
};

/* One request: out (device-readable) buffers first, then in (device-writable). */
struct virtq_elem {
    uint16_t head;                   /* descriptor index to return in the used ring */
    uint16_t n_out, n_in;            /* iov[0..n_out) readable, iov[n_out..n_out+n_in) writable */
    uint32_t out_len, in_len;        /* total bytes of each kind */
    struct iovec iov[VIRTQ_MAX_IOV]; /* host addresses inside guest RAM */
};

/* One line of the queue's state for a debug dump: the device's indices and
 * what the driver's rings say now (read unsynchronised: a snapshot). */
void virtq_describe(const struct virtq *q, char *buf, size_t len);

/* Check the ring addresses/size and reset the device state. 0, or -EINVAL
 * (queue not usable: bad size, misaligned or outside RAM). */
int virtq_init(struct virtq *q);
/* Next available element: 1 popped, 0 ring empty, -EIO ring broken
 * (q->broken and q->error set; nothing more is popped until re-init).
 * Zero-length descriptors are skipped (no iov entry, no ordering rule);
 * an indirect descriptor may end a chain. On -EIO *e is garbage. */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Give back an element's head with `written` bytes written to its in buffers.
 * 0, -EIO (queue broken) or -EINVAL (head >= size: a device bug; the
 * caller must push only heads it popped). Publishes used->idx. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* Give back n elements at once (heads[i] with written[i] bytes) and
 * publish used->idx only after the last: the driver sees all or none of
 * them (virtio-net's mergeable RX buffers of one packet). 0, -EIO or
 * -EINVAL (n > size or a head >= size; nothing written then). */
int virtq_push_batch(struct virtq *q, const uint16_t *heads, const uint32_t *written, unsigned n);
/* Put the last n popped (and not pushed) elements back: the next pops
 * return them again. For a device that stops with elements it did not use
 * (a pause), so that none is lost. */
void virtq_unpop(struct virtq *q, unsigned n);
/* After a batch of pushes: should the driver be interrupted (honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX)? Updates the
 * bookkeeping, so call once per batch and interrupt iff it returns true. */
bool virtq_should_notify(struct virtq *q);
/* Ask the driver to (not) notify on new buffers (VIRTQ_USED_F_NO_NOTIFY, or
 * avail_event with EVENT_IDX). After enabling, re-check the ring: returns
 * true if buffers arrived meanwhile. */
bool virtq_enable_notify(struct virtq *q);
void virtq_disable_notify(struct virtq *q);
/* Has the driver made buffers available that virtq_pop has not taken yet?
 * (A cheap look at avail->idx for a worker polling the ring.) */
bool virtq_has_avail(const struct virtq *q);
/* The intended worker loop:
 *     do {
 *         virtq_disable_notify(q);
 *         while (virtq_pop(q, &e) == 1) { ...; virtq_push(q, e.head, n); }
 *         if (virtq_should_notify(q)) interrupt;
 *     } while (!q->broken && virtq_enable_notify(q));
 * With EVENT_IDX, disable is a no-op (the stale avail_event already makes
 * the driver notify at most once) and enable publishes last_avail. */
#endif
