/* Unix stream sockets for host-facing listeners (the vsock device's
 * hybrid-protocol socket; the API socket has the same rules). */
#ifndef ARCVMM_USOCK_H
#define ARCVMM_USOCK_H
#include <stddef.h>
#include <sys/types.h>

struct usock_listener {
    int fd;                 /* non-blocking, close-on-exec; -1 when closed */
    dev_t dev;              /* the socket file, to remove only our own */
    ino_t ino;
    char path[108];
};

/* Listen on path (what names it in err: "vsock uds"). A stale socket file
 * there (nobody answers connect) is replaced; a live listener's path
 * (-EADDRINUSE), a path that is not a socket (-EEXIST), a missing
 * directory (-ENOENT) or a path longer than max_len (and than sun_path
 * allows: -ENAMETOOLONG) are refused with one line in err. 0 or -errno. */
int usock_listen(struct usock_listener *l, const char *what, const char *path, size_t max_len,
                 int backlog, char *err, size_t errlen);
/* Close the listener and remove its socket file if it is still ours. */
void usock_close(struct usock_listener *l);
/* A non-blocking connect to the socket at path: the connected fd
 * (non-blocking, close-on-exec) or -errno (-ECONNREFUSED, -ENOENT,
 * -EAGAIN when its backlog is full, ...). */
int usock_connect(const char *path);
#endif
