#include "base/file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

void *scratch_alloc(size_t len)
{
    if (len == 0)
        len = 1;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

void scratch_free(void *buf, size_t len)
{
    if (buf)
        munmap(buf, len ? len : 1);
}

/* What a non-regular, non-directory file is, for the error message. */
static const char *file_kind(mode_t mode)
{
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a plain file";
}

/* Open path and check it is a non-empty regular file of at most max bytes.
 * O_NONBLOCK: open(2) of a FIFO without a writer (or of some devices) would
 * otherwise block before the caller can react to a signal -- arcvmm reads
 * its signalfd only once the VM exists. The type is checked on the open fd
 * (no stat-then-open race), and O_NONBLOCK, which regular files ignore, is
 * cleared again before anything is read. O_NOCTTY: a terminal named as a
 * kernel never becomes our controlling terminal. */
static int file_open_checked(const char *what, const char *path, size_t max, int *fdp,
                             size_t *size, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
        return -e;
    }
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0) {
        r = -errno;
        snprintf(err, errlen, "%s %s: %s", what, path, strerror(-r));
    } else if (S_ISDIR(st.st_mode)) {
        r = -EISDIR;
        snprintf(err, errlen, "%s %s: is a directory", what, path);
    } else if (!S_ISREG(st.st_mode)) {
        r = -EINVAL;
        snprintf(err, errlen, "%s %s: not a regular file (%s)", what, path,
                 file_kind(st.st_mode));
    } else if (st.st_size == 0) {
        r = -EINVAL;
        snprintf(err, errlen, "%s %s: file is empty", what, path);
    } else if ((uint64_t)st.st_size > max) {
        r = -EFBIG;
        snprintf(err, errlen, "%s %s: %lld bytes is larger than the %zu allowed",
                 what, path, (long long)st.st_size, max);
    }
    if (r == 0) {
        int fl = fcntl(fd, F_GETFL);
        if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
            r = -errno;
            snprintf(err, errlen, "%s %s: %s", what, path, strerror(-r));
        }
    }
    if (r < 0) {
        close(fd);
        return r;
    }
    *fdp = fd;
    *size = (size_t)st.st_size;
    return 0;
}

int file_check(const char *what, const char *path, size_t max, char *err, size_t errlen)
{
    int fd;
    size_t n;
    int r = file_open_checked(what, path, max, &fd, &n, err, errlen);
    if (r == 0)
        close(fd);
    return r;
}

int file_read_all(const char *what, const char *path, size_t max, uint8_t **buf,
                  size_t *len, char *err, size_t errlen)
{
    *buf = NULL;
    *len = 0;
    int fd, r;
    size_t n, off = 0;
    if ((r = file_open_checked(what, path, max, &fd, &n, err, errlen)) < 0)
        return r;
    uint8_t *b = scratch_alloc(n);
    if (!b) {
        close(fd);
        snprintf(err, errlen, "%s %s: out of memory", what, path);
        return -ENOMEM;
    }
    while (off < n) {
        ssize_t k = read(fd, b + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            r = k < 0 ? -errno : -EIO;
            snprintf(err, errlen, "%s %s: read failed: %s", what, path,
                     k < 0 ? strerror(errno) : "file shrank while reading");
            scratch_free(b, n);
            close(fd);
            return r;
        }
        off += (size_t)k;
    }
    close(fd);
    *buf = b;
    *len = n;
    return 0;
}
