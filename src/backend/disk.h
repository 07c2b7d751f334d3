/* Raw disk image backend: a regular file or a block device, opened once,
 * locked against a second user, and accessed with positional vectored I/O.
 * The synchronous calls here are safe from any thread (they only use
 * pread/pwrite-style calls on the shared fd); the virtio-blk device does its
 * fast-path reads and writes asynchronously on disk->fd with io_uring and
 * falls back to these calls. */
#ifndef ARCVMM_DISK_H
#define ARCVMM_DISK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct disk {
    int fd;
    bool readonly;
    bool blkdev;                 /* a block device rather than a regular file */
    bool in_memory;              /* on tmpfs/ramfs: I/O never waits for a device */
    uint64_t size;               /* bytes, at open time */
    uint32_t logical_block;      /* 512 for files; the device's for block devices */
    uint32_t io_block;           /* preferred I/O / allocation granularity (st_blksize) */
};

/* Open path read-write (or read-only), check that it is a non-empty
 * regular file or block device, and take an OFD advisory lock on the whole
 * file: shared for read-only, exclusive for read-write, so a second VMM
 * using the image is refused. 0, or -errno with err set to one line
 * "disk PATH: reason" (e.g. "is in use by another process (locked)"). */
int disk_open(struct disk *dk, const char *path, bool readonly, char *err, size_t errlen);
/* Close the file (which drops the lock). Safe on a zeroed or closed disk. */
void disk_close(struct disk *dk);

/* Read exactly the iov's bytes from byte offset off, retrying short reads;
 * bytes past the end of the file read as zeroes. 0 or -errno. */
int disk_preadv(const struct disk *dk, const struct iovec *iov, int iovcnt, uint64_t off);
/* Write exactly the iov's bytes at off, retrying short writes. 0 or -errno
 * (-EROFS on a read-only disk). */
int disk_pwritev(const struct disk *dk, const struct iovec *iov, int iovcnt, uint64_t off);
/* Make every completed write durable (fdatasync). 0 or -errno. */
int disk_flush(const struct disk *dk);
/* Deallocate [off, off+len) (punch a hole, keeping the size). Discard is
 * advisory: a backend that cannot punch holes returns 0 and keeps the
 * data. 0 or -errno. */
int disk_discard(const struct disk *dk, uint64_t off, uint64_t len);
/* Make [off, off+len) read as zeroes: punch a hole if may_unmap, else (or
 * if that is unsupported) FALLOC_FL_ZERO_RANGE, else write zeroes.
 * 0 or -errno. */
int disk_write_zeroes(const struct disk *dk, uint64_t off, uint64_t len, bool may_unmap);

/* Advance an iovec array past skip bytes in place: returns the number of
 * entries left starting at *iov (updated), or 0 when everything is
 * skipped. Pure helper shared with the device's short-I/O path. */
int disk_iov_advance(struct iovec **iov, int iovcnt, size_t skip);
#endif
