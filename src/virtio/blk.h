/* virtio-blk device (virtio 1.2 section 5.2) on a raw image file or block
 * device. One worker thread per queue; each drives its own io_uring with
 * many requests in flight (synchronous preadv/pwritev if io_uring is not
 * available, e.g. blocked by a seccomp profile). */
#ifndef ARCVMM_VIRTIO_BLK_H
#define ARCVMM_VIRTIO_BLK_H
#include <stdbool.h>
#include <stddef.h>

#include "arcvmm.h"
#include "virtio/virtio.h"
#include "mem/mem.h"

#define VIRTIO_ID_BLOCK 2

/* Device feature bits */
#define VIRTIO_BLK_F_SIZE_MAX      1
#define VIRTIO_BLK_F_SEG_MAX       2
#define VIRTIO_BLK_F_GEOMETRY      4
#define VIRTIO_BLK_F_RO            5
#define VIRTIO_BLK_F_BLK_SIZE      6
#define VIRTIO_BLK_F_FLUSH         9
#define VIRTIO_BLK_F_TOPOLOGY      10
#define VIRTIO_BLK_F_CONFIG_WCE    11
#define VIRTIO_BLK_F_MQ            12
#define VIRTIO_BLK_F_DISCARD       13
#define VIRTIO_BLK_F_WRITE_ZEROES  14

/* Config space offsets (struct virtio_blk_config, little-endian). */
enum {
    VIRTIO_BLK_CFG_CAPACITY = 0,            /* le64, 512-byte sectors */
    VIRTIO_BLK_CFG_SIZE_MAX = 8,            /* le32 */
    VIRTIO_BLK_CFG_SEG_MAX = 12,            /* le32 */
    VIRTIO_BLK_CFG_GEOMETRY = 16,           /* le16 cylinders, u8 heads, u8 sectors */
    VIRTIO_BLK_CFG_BLK_SIZE = 20,           /* le32 */
    VIRTIO_BLK_CFG_TOPOLOGY = 24,           /* u8 phys_exp, u8 align, le16 min_io, le32 opt_io */
    VIRTIO_BLK_CFG_WRITEBACK = 32,          /* u8 */
    VIRTIO_BLK_CFG_NUM_QUEUES = 34,         /* le16 */
    VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS = 36,
    VIRTIO_BLK_CFG_MAX_DISCARD_SEG = 40,
    VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT = 44,
    VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS = 48,
    VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG = 52,
    VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP = 56,   /* u8, then 3 unused */
    VIRTIO_BLK_CONFIG_SIZE = 60,
};

/* Queue size: 512 lets a whole 1 MiB request (256 pages, plus header and
 * status) be one chain, as SEG_MAX is the queue size minus 2. */
#define VIRTIO_BLK_QUEUE_MAX 512

struct virtio_blk_cfg {
    const char *path;
    bool readonly;
    const char *serial;                 /* NULL: none; at most 20 bytes are used */
    unsigned num_queues;                /* >= 1, one per vCPU */
};

/* Open and lock the image and create the device (not yet attached to a
 * transport). 0, or -errno with err set to one line "disk PATH: reason"
 * (missing, a directory, unreadable, not a regular file or block device,
 * "is in use by another process (locked)", empty). */
int virtio_blk_create(const struct virtio_blk_cfg *cfg, const struct guest_mem *mem,
                      struct virtio_dev **out, char *err, size_t errlen);

/* How the workers do reads and writes. AUTO: io_uring, with page-cache hits
 * (and images on tmpfs) served inline; falls back to SYNC when io_uring is
 * unavailable. SYNC: blocking preadv/pwritev on the worker. URING: every
 * transfer through io_uring (no inline fast path). */
enum virtio_blk_io_mode { VIRTIO_BLK_IO_AUTO, VIRTIO_BLK_IO_SYNC, VIRTIO_BLK_IO_URING };
/* d's counters summed over its queues (arcvmm_get_disk_stats); -EINVAL if
 * d is not a virtio-blk device. Callable from any thread. */
int virtio_blk_get_stats(const struct virtio_dev *d, struct arcvmm_disk_stats *st);
/* Tests/diagnostics: choose the I/O mode from the next activation on. */
void virtio_blk_set_io_mode(struct virtio_dev *d, enum virtio_blk_io_mode mode);
#endif
