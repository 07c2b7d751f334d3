#include "base/usock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

static int fill_addr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (!n || n >= sizeof(a->sun_path))
        return -ENAMETOOLONG;
    memcpy(a->sun_path, path, n + 1);
    return 0;
}

int usock_connect(const char *path)
{
    struct sockaddr_un a;
    int r = fill_addr(&a, path);
    if (r < 0)
        return r;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (const struct sockaddr *)&a, sizeof(a)) < 0) {
        r = errno == EINPROGRESS ? -EAGAIN : -errno;
        close(fd);
        return r;
    }
    return fd;
}

int usock_listen(struct usock_listener *l, const char *what, const char *path, size_t max_len,
                 int backlog, char *err, size_t errlen)
{
    struct sockaddr_un a;
    l->fd = -1;
    if (!*path)
        return fail(-EINVAL, err, errlen, "%s: the path is empty", what);
    if (strlen(path) > max_len || fill_addr(&a, path) < 0)
        return fail(-ENAMETOOLONG, err, errlen, "%s %s: longer than %zu bytes", what, path,
                    max_len < sizeof(a.sun_path) - 1 ? max_len : sizeof(a.sun_path) - 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(-errno, err, errlen, "%s %s: %s", what, path, strerror(errno));
    int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    if (r < 0 && errno == EADDRINUSE) {
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            close(fd);
            return fail(-EEXIST, err, errlen, "%s %s: exists and is not a socket", what, path);
        }
        int p = usock_connect(path);
        if (p >= 0 || p == -EAGAIN) {          /* someone answers (or its backlog is full) */
            if (p >= 0)
                close(p);
            close(fd);
            return fail(-EADDRINUSE, err, errlen, "%s %s: in use by a running listener", what,
                        path);
        }
        if (p == -ECONNREFUSED && unlink(path) == 0)    /* stale: nobody listens */
            r = bind(fd, (struct sockaddr *)&a, sizeof(a));
        else
            errno = EADDRINUSE;
    }
    if (r < 0) {
        int e = errno;
        close(fd);
        return fail(-e, err, errlen, "%s %s: %s", what, path, strerror(e));
    }
    struct stat st;
    if (listen(fd, backlog) < 0 || stat(path, &st) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return fail(-e, err, errlen, "%s %s: %s", what, path, strerror(e));
    }
    l->fd = fd;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    memcpy(l->path, path, strlen(path) + 1);
    return 0;
}

void usock_close(struct usock_listener *l)
{
    if (l->fd < 0)
        return;
    struct stat st;
    if (stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino)
        unlink(l->path);
    close(l->fd);
    l->fd = -1;
}
