#include "backend/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "base/log.h"

#define SECTOR 512u

static int fail(struct disk *dk, int r, char *err, size_t errlen, const char *path,
                const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "disk %s: %s", path, why);
    if (dk->fd >= 0)
        close(dk->fd);
    dk->fd = -1;
    return r;
}

/* Whole-file OFD lock: shared for readers, exclusive for a writer. OFD
 * locks belong to the open file description, so even a second open in the
 * same process conflicts (which is what the unit test relies on). */
static int lock_image(int fd, bool readonly)
{
    struct flock fl = {
        .l_type = readonly ? F_RDLCK : F_WRLCK,
        .l_whence = SEEK_SET,
        .l_start = 0,
        .l_len = 0,
    };
    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

int disk_open(struct disk *dk, const char *path, bool readonly, char *err, size_t errlen)
{
    memset(dk, 0, sizeof(*dk));
    dk->fd = -1;
    dk->readonly = readonly;
    if (!path || !*path)
        return fail(dk, -EINVAL, err, errlen, path ? path : "", "no path given");
    struct stat st;
    if (stat(path, &st) < 0) {
        int e = errno;
        return fail(dk, -e, err, errlen, path, strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return fail(dk, -EISDIR, err, errlen, path, "is a directory");
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return fail(dk, -EINVAL, err, errlen, path, "not a regular file or block device");
    /* O_NONBLOCK: never hang in open() if the path was swapped for a FIFO
     * after the stat; cleared again below. O_EXCL on a block device opened
     * for writing refuses one that is mounted on the host. */
    int flags = (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
    if (!readonly && S_ISBLK(st.st_mode))
        flags |= O_EXCL;
    dk->fd = open(path, flags);
    if (dk->fd < 0) {
        int e = errno;
        if (e == EBUSY)
            return fail(dk, -EBUSY, err, errlen, path,
                        "is in use (mounted or opened exclusively)");
        if (e == EISDIR)
            return fail(dk, -EISDIR, err, errlen, path, "is a directory");
        return fail(dk, -e, err, errlen, path, strerror(e));
    }
    if (fstat(dk->fd, &st) < 0) {
        int e = errno;
        return fail(dk, -e, err, errlen, path, strerror(e));
    }
    if (S_ISDIR(st.st_mode))
        return fail(dk, -EISDIR, err, errlen, path, "is a directory");
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
        return fail(dk, -EINVAL, err, errlen, path, "not a regular file or block device");
    int fl = fcntl(dk->fd, F_GETFL);
    if (fl < 0 || fcntl(dk->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
        int e = errno;
        return fail(dk, -e, err, errlen, path, strerror(e));
    }

    int r = lock_image(dk->fd, readonly);
    if (r == -EAGAIN || r == -EACCES)
        return fail(dk, -EAGAIN, err, errlen, path, "is in use by another process (locked)");
    if (r < 0)      /* e.g. a filesystem without locks: carry on, but say so */
        log_warn("disk %s: cannot lock the image (%s); not protected against a second user",
                 path, strerror(-r));

    dk->blkdev = S_ISBLK(st.st_mode);
    dk->logical_block = SECTOR;
    dk->io_block = st.st_blksize > 0 ? (uint32_t)st.st_blksize : 4096;
    if (dk->blkdev) {
        uint64_t sz = 0;
        int lbs = 0;
        if (ioctl(dk->fd, BLKGETSIZE64, &sz) < 0) {
            int e = errno;
            return fail(dk, -e, err, errlen, path, strerror(e));
        }
        if (ioctl(dk->fd, BLKSSZGET, &lbs) == 0 && lbs >= (int)SECTOR && lbs <= 65536 &&
            !(lbs & (lbs - 1)))
            dk->logical_block = (uint32_t)lbs;
        unsigned int pbs = 0;
        if (ioctl(dk->fd, BLKPBSZGET, &pbs) == 0 && pbs >= dk->logical_block && pbs <= 65536)
            dk->io_block = pbs;
        dk->size = sz;
    } else {
        dk->size = (uint64_t)st.st_size;
        struct statfs sf;
        if (fstatfs(dk->fd, &sf) == 0)
            dk->in_memory = sf.f_type == TMPFS_MAGIC || sf.f_type == RAMFS_MAGIC;
    }
    if (dk->size == 0)
        return fail(dk, -EINVAL, err, errlen, path, "empty");
    if (dk->size < SECTOR)
        return fail(dk, -EINVAL, err, errlen, path, "smaller than one 512-byte sector");
    return 0;
}

void disk_close(struct disk *dk)
{
    if (dk->fd >= 0)
        close(dk->fd);       /* also releases the OFD lock */
    dk->fd = -1;
}

int disk_iov_advance(struct iovec **iov, int iovcnt, size_t skip)
{
    struct iovec *v = *iov;
    while (iovcnt > 0 && skip >= v->iov_len) {
        skip -= v->iov_len;
        v++;
        iovcnt--;
    }
    if (iovcnt > 0 && skip) {
        v->iov_base = (uint8_t *)v->iov_base + skip;
        v->iov_len -= skip;
    }
    *iov = v;
    return iovcnt;
}

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t t = 0;
    for (int i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* The rare path after a short transfer: work on a private copy of the iov. */
static int rw_rest(const struct disk *dk, const struct iovec *iov, int n, uint64_t off,
                   size_t done, bool write)
{
    struct iovec *copy = malloc(sizeof(*copy) * (size_t)n);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, iov, sizeof(*copy) * (size_t)n);
    struct iovec *v = copy;
    int left = disk_iov_advance(&v, n, done);
    int r = 0;
    off += done;
    while (left > 0) {
        ssize_t k = write ? pwritev(dk->fd, v, left, (off_t)off)
                          : preadv(dk->fd, v, left, (off_t)off);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            break;
        }
        if (k == 0) {
            if (write) {
                r = -EIO;
                break;
            }
            for (int i = 0; i < left; i++)      /* past EOF: zeroes */
                memset(v[i].iov_base, 0, v[i].iov_len);
            break;
        }
        off += (uint64_t)k;
        left = disk_iov_advance(&v, left, (size_t)k);
    }
    free(copy);
    return r;
}

static int rw_full(const struct disk *dk, const struct iovec *iov, int n, uint64_t off, bool write)
{
    if (n < 0 || n > IOV_MAX || off > (uint64_t)INT64_MAX)
        return -EINVAL;
    if (n == 0)
        return 0;
    size_t total = iov_total(iov, n);
    if (total == 0)
        return 0;
    ssize_t k;
    do
        k = write ? pwritev(dk->fd, iov, n, (off_t)off) : preadv(dk->fd, iov, n, (off_t)off);
    while (k < 0 && errno == EINTR);
    if (k < 0)
        return -errno;
    if ((size_t)k == total)
        return 0;
    return rw_rest(dk, iov, n, off, (size_t)k, write);
}

int disk_preadv(const struct disk *dk, const struct iovec *iov, int iovcnt, uint64_t off)
{
    return rw_full(dk, iov, iovcnt, off, false);
}

int disk_pwritev(const struct disk *dk, const struct iovec *iov, int iovcnt, uint64_t off)
{
    if (dk->readonly)
        return -EROFS;
    return rw_full(dk, iov, iovcnt, off, true);
}

int disk_flush(const struct disk *dk)
{
    return fdatasync(dk->fd) < 0 ? -errno : 0;
}

static bool range_ok(uint64_t off, uint64_t len)
{
    return off <= (uint64_t)INT64_MAX && len <= (uint64_t)INT64_MAX - off;
}

int disk_discard(const struct disk *dk, uint64_t off, uint64_t len)
{
    if (dk->readonly)
        return -EROFS;
    if (!range_ok(off, len))
        return -EINVAL;
    if (len == 0)
        return 0;
    if (fallocate(dk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    int e = errno;
    if (e == EOPNOTSUPP || e == ENOSYS || e == ENODEV)
        return 0;       /* advisory: the data simply stays */
    return -e;
}

static int write_zero_bytes(const struct disk *dk, uint64_t off, uint64_t len)
{
    const size_t chunk = 1u << 20;
    void *z = calloc(1, chunk);
    if (!z)
        return -ENOMEM;
    int r = 0;
    while (len > 0 && r == 0) {
        size_t n = len < chunk ? (size_t)len : chunk;
        struct iovec v = { z, n };
        r = rw_full(dk, &v, 1, off, true);
        off += n;
        len -= n;
    }
    free(z);
    return r;
}

int disk_write_zeroes(const struct disk *dk, uint64_t off, uint64_t len, bool may_unmap)
{
    if (dk->readonly)
        return -EROFS;
    if (!range_ok(off, len))
        return -EINVAL;
    if (len == 0)
        return 0;
    /* A punched hole reads as zeroes, for files and (via the kernel's
     * zero-out) for block devices alike. */
    if (may_unmap &&
        fallocate(dk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    if (fallocate(dk->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0)
        return 0;
    /* tmpfs and others: punch, then allocate the range again (best effort)
     * so a write-zeroes without unmap leaves the blocks allocated. */
    if (!dk->blkdev &&
        fallocate(dk->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0) {
        if (!may_unmap && fallocate(dk->fd, FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) < 0) {
            /* still zeroes, just not preallocated */
        }
        return 0;
    }
    return write_zero_bytes(dk, off, len);
}
