#include "base/efd.h"

#include <errno.h>

int efd_new(void)
{
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

void efd_signal(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is saturated and the reader awake */
    }
}

uint64_t efd_drain(int fd)
{
    uint64_t v = 0;
    if (fd < 0 || read(fd, &v, sizeof(v)) != (ssize_t)sizeof(v))
        return 0;   /* EAGAIN: nothing pending (the fd is non-blocking) */
    return v;
}
