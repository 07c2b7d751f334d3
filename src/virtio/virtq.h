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

#include "vm/mem.h"

#define VIRTQ_MAX_SIZE   1024        /* largest queue size we accept */
#define VIRTQ_MAX_IOV    1024        /* most buffers in one element (chain + indirect) */

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
};

/* One request: out (device-readable) buffers first, then in (device-writable). */
struct virtq_elem {
    uint16_t head;                   /* descriptor index to return in the used ring */
    uint16_t n_out, n_in;            /* iov[0..n_out) readable, iov[n_out..n_out+n_in) writable */
    uint32_t out_len, in_len;        /* total bytes of each kind */
    struct iovec iov[VIRTQ_MAX_IOV]; /* host addresses inside guest RAM */
};

/* Check the ring addresses/size and reset the device state. 0, or -EINVAL
 * (queue not usable: bad size, misaligned or outside RAM). */
int virtq_init(struct virtq *q);
/* Next available element: 1 popped, 0 ring empty, -EIO ring broken
 * (q->broken and q->error set; nothing more is popped until re-init). */
int virtq_pop(struct virtq *q, struct virtq_elem *e);
/* Give back an element's head with `written` bytes written to its in buffers. */
int virtq_push(struct virtq *q, uint16_t head, uint32_t written);
/* After a batch of pushes: should the driver be interrupted (honours
 * VIRTQ_AVAIL_F_NO_INTERRUPT, or used_event with EVENT_IDX)? Updates the
 * bookkeeping, so call once per batch and interrupt iff it returns true. */
bool virtq_should_notify(struct virtq *q);
/* Ask the driver to (not) notify on new buffers (VIRTQ_USED_F_NO_NOTIFY, or
 * avail_event with EVENT_IDX). After enabling, re-check the ring: returns
 * true if buffers arrived meanwhile. */
bool virtq_enable_notify(struct virtq *q);
void virtq_disable_notify(struct virtq *q);
#endif
