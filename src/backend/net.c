/* The fd network backend (backend/net.h): frames as whole reads and
 * writes on non-blocking fds. */
#include "backend/net.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

ssize_t net_backend_fd_readv(struct net_backend *nb, unsigned q, const struct iovec *iov, int n)
{
    if (q >= nb->nqueues)
        return -EINVAL;
    for (;;) {
        ssize_t k = readv(nb->fd[q], iov, n);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

ssize_t net_backend_fd_writev(struct net_backend *nb, unsigned q, const struct iovec *iov, int n)
{
    if (q >= nb->nqueues)
        return -EINVAL;
    for (;;) {
        ssize_t k = writev(nb->fd[q], iov, n);
        if (k >= 0)
            return k;
        if (errno == EINTR)
            continue;
        /* a socket whose buffer is full: ENOBUFS on some kernels' SEQPACKET */
        return errno == EWOULDBLOCK || errno == ENOBUFS ? -EAGAIN : -errno;
    }
}

void net_backend_close_fds(struct net_backend *nb)
{
    for (unsigned i = 0; i < nb->nqueues; i++) {
        if (nb->fd[i] >= 0)
            close(nb->fd[i]);
        nb->fd[i] = -1;
    }
}

/* A plain fd carries the header as it is: nothing to tell it. */
static int fd_set_offload(struct net_backend *nb, unsigned flags)
{
    return 0;
}

/* Close the fds and free the backend. */
static void fd_destroy(struct net_backend *nb)
{
    net_backend_close_fds(nb);
    free(nb);
}

static const struct net_backend_ops fd_ops = {
    .readv = net_backend_fd_readv,
    .writev = net_backend_fd_writev,
    .set_offload = fd_set_offload,
    .destroy = fd_destroy,
};

int net_backend_fd_create(const int *fds, unsigned n, const char *name, struct net_backend **out)
{
    *out = NULL;
    struct net_backend *nb = n && n <= NET_BACKEND_MAX_QUEUES ? calloc(1, sizeof(*nb)) : NULL;
    if (!nb) {
        for (unsigned i = 0; i < n; i++)
            close(fds[i]);
        return n && n <= NET_BACKEND_MAX_QUEUES ? -ENOMEM : -EINVAL;
    }
    nb->ops = &fd_ops;
    nb->nqueues = n;
    for (unsigned i = 0; i < n; i++) {
        nb->fd[i] = fds[i];
        int fl = fcntl(fds[i], F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK))
            fcntl(fds[i], F_SETFL, fl | O_NONBLOCK);
    }
    snprintf(nb->name, sizeof(nb->name), "%s", name ? name : "fd");
    *out = nb;
    return 0;
}
