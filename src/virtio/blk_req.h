/* virtio-blk request parsing (virtio 1.2 section 5.2.6). Pure code: takes a
 * popped element, trusts nothing in it, and says either where the data and
 * the status byte are or which VIRTIO_BLK_S_* status the request earns.
 *
 * Request layout (any framing: the header may be split over several
 * buffers and may share a buffer with data, as may the status byte):
 *   out stream: 16-byte header {le32 type, le32 reserved/ioprio, le64 sector}
 *               then data (OUT) or discard/write-zeroes segments
 *   in stream:  data (IN, GET_ID), then the 1-byte status as the last byte */
#ifndef ARCVMM_VIRTIO_BLK_REQ_H
#define ARCVMM_VIRTIO_BLK_REQ_H
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtq.h"

/* Request types */
#define VIRTIO_BLK_T_IN            0
#define VIRTIO_BLK_T_OUT           1
#define VIRTIO_BLK_T_FLUSH         4
#define VIRTIO_BLK_T_GET_ID        8
#define VIRTIO_BLK_T_GET_LIFETIME  10
#define VIRTIO_BLK_T_DISCARD       11
#define VIRTIO_BLK_T_WRITE_ZEROES  13
#define VIRTIO_BLK_T_SECURE_ERASE  14

/* Status byte values */
#define VIRTIO_BLK_S_OK       0
#define VIRTIO_BLK_S_IOERR    1
#define VIRTIO_BLK_S_UNSUPP   2

#define VIRTIO_BLK_SECTOR_SIZE    512u
#define VIRTIO_BLK_HDR_SIZE       16u
#define VIRTIO_BLK_SEG_SIZE       16u     /* {le64 sector, le32 num_sectors, le32 flags} */
#define VIRTIO_BLK_ID_BYTES       20u
#define VIRTIO_BLK_WZ_FLAG_UNMAP  1u
#define VIRTIO_BLK_MAX_SEGS       32u     /* most discard/write-zeroes segments we accept */

/* What the device allows; the caller fills it from its config and the
 * negotiated features. */
struct virtio_blk_limits {
    uint64_t capacity;                  /* in 512-byte sectors */
    bool readonly;
    bool discard, write_zeroes;         /* features negotiated */
    uint32_t max_discard_sectors, max_discard_seg;          /* per segment / per request */
    uint32_t max_write_zeroes_sectors, max_write_zeroes_seg;
};

struct virtio_blk_seg {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;
};

struct virtio_blk_req {
    struct virtio_blk_limits lim;       /* INPUT: set by the caller before parsing */
    /* outputs */
    uint32_t type;                      /* UINT32_MAX: shorter than a header */
    uint64_t sector;                    /* the header's; meaningful for IN/OUT only */
    uint8_t *status;                    /* the status byte in guest memory; NULL: none */
    bool data_in;                       /* data is in the in stream (IN, GET_ID) */
    uint32_t data_off, data_len;        /* data = bytes [off, off+len) of that stream */
    unsigned nsegs;                     /* DISCARD / WRITE_ZEROES */
    struct virtio_blk_seg segs[VIRTIO_BLK_MAX_SEGS];
};

/* Parse and validate e against out->lim (which the caller sets first;
 * every other field of *out is overwritten). Returns VIRTIO_BLK_S_OK for a
 * request to carry out, VIRTIO_BLK_S_IOERR or VIRTIO_BLK_S_UNSUPP for one
 * to complete at once with that status in *out->status, or -EINVAL when
 * there is no device-writable byte for the status (complete it with used
 * length 0). Checks: header present (16 bytes), known type, read-only
 * device refuses OUT/DISCARD/WRITE_ZEROES, IN/OUT data a multiple of 512
 * and within capacity (overflow-safe), DISCARD/WRITE_ZEROES negotiated,
 * whole segments, 1..max segments, per-segment size, range and flags.
 * The reserved header field is ignored (Linux puts the I/O priority there). */
int virtio_blk_parse_req(const struct virtq_elem *e, struct virtio_blk_req *out);

/* The data range of a parsed request as an iovec array (pointing into
 * e->iov's buffers): the number of entries written to iov, or -E2BIG if
 * more than max are needed. */
int virtio_blk_req_data_iov(const struct virtq_elem *e, const struct virtio_blk_req *r,
                            struct iovec *iov, int max);
#endif
