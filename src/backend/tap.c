/* The tap backend (backend/tap.h). */
#include "backend/tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "virtio/net_hdr.h"

struct tap {
    struct net_backend nb;      /* first: the device sees only this */
    bool created;
    bool multi;
};

/* TUNSETOFFLOAD (on the first fd: it is the device's) from NET_OFFLOAD_*. */
static int tap_set_offload(struct net_backend *nb, unsigned flags)
{
    unsigned f = 0;
    if (flags & NET_OFFLOAD_CSUM)
        f |= TUN_F_CSUM;
    if (flags & NET_OFFLOAD_TSO4)
        f |= TUN_F_TSO4;
    if (flags & NET_OFFLOAD_TSO6)
        f |= TUN_F_TSO6;
    if (flags & NET_OFFLOAD_UFO)
        f |= TUN_F_UFO;
    if (ioctl(nb->fd[0], TUNSETOFFLOAD, (unsigned long)f) == 0)
        return 0;
    /* a kernel that refuses UFO: the rest still helps */
    if (errno == EINVAL && (f & TUN_F_UFO) &&
        ioctl(nb->fd[0], TUNSETOFFLOAD, (unsigned long)(f & ~TUN_F_UFO)) == 0)
        return 0;
    return -errno;
}

/* TUNSETQUEUE: attach or detach channel q (multi-queue taps only). */
static int tap_set_queue_enabled(struct net_backend *nb, unsigned q, bool on)
{
    struct tap *t = (struct tap *)nb;
    if (!t->multi || q >= nb->nqueues)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = on ? IFF_ATTACH_QUEUE : IFF_DETACH_QUEUE;
    if (ioctl(nb->fd[q], TUNSETQUEUE, &ifr) == 0 || errno == EINVAL)
        return 0;       /* EINVAL: already in that state */
    return -errno;
}

/* Close every fd and free the backend. */
static void tap_destroy(struct net_backend *nb)
{
    net_backend_close_fds(nb);   /* a tap created here goes away with its last fd */
    free(nb);
}

static const struct net_backend_ops tap_ops = {
    .readv = net_backend_fd_readv,
    .writev = net_backend_fd_writev,
    .set_offload = tap_set_offload,
    .set_queue_enabled = tap_set_queue_enabled,
    .destroy = tap_destroy,
};

bool net_tap_created(const struct net_backend *nb)
{
    return nb->ops == &tap_ops && ((const struct tap *)nb)->created;
}

/* A name the kernel takes as one interface (no template, no path). */
static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= IFNAMSIZ || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)name[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '/' || ch == ':' || ch == '%')
            return false;
    }
    return true;
}

/* An existing interface's tun flags (IFF_TAP, IFF_MULTI_QUEUE, ...) from
 * sysfs, or -1 when it is not a tun/tap device (or sysfs is missing). */
static long tun_flags(const char *name)
{
    char path[64], buf[32];
    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    return strtol(buf, NULL, 16);
}

/* Bring a tap created here up with the given MTU (0: the kernel's). */
static int link_setup(const char *name, unsigned mtu)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    int r = 0;
    if (mtu) {
        ifr.ifr_mtu = (int)mtu;
        if (ioctl(s, SIOCSIFMTU, &ifr) < 0)
            r = -errno;
    }
    if (r == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags |= IFF_UP;
        if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
            r = -errno;
    }
    close(s);
    return r;
}

int net_tap_open(const char *name, unsigned queues, unsigned mtu, struct net_backend **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (!name || !name_ok(name)) {
        snprintf(err, errlen, "tap %s: not a valid interface name (1-%d characters, "
                 "no spaces, '/', ':' or '%%')", name ? name : "", IFNAMSIZ - 1);
        return -EINVAL;
    }
    if (queues < 1 || queues > NET_BACKEND_MAX_QUEUES) {
        snprintf(err, errlen, "tap %s: %u queues (1..%d)", name, queues, NET_BACKEND_MAX_QUEUES);
        return -EINVAL;
    }
    struct tap *t = calloc(1, sizeof(*t));
    if (!t) {
        snprintf(err, errlen, "tap %s: out of memory", name);
        return -ENOMEM;
    }
    struct net_backend *nb = &t->nb;
    nb->ops = &tap_ops;
    snprintf(nb->name, sizeof(nb->name), "%s", name);
    for (unsigned i = 0; i < NET_BACKEND_MAX_QUEUES; i++)
        nb->fd[i] = -1;
    t->multi = queues > 1;
    bool existed = if_nametoindex(name) != 0;
    int r = 0;
    if (existed) {
        long fl = tun_flags(name);
        if (fl < 0 && access("/sys/class/net", F_OK) == 0) {
            snprintf(err, errlen, "tap %s: exists and is not a tap device", name);
            goto fail;
        }
        if (fl >= 0 && !(fl & IFF_TAP)) {
            snprintf(err, errlen, "tap %s: is a tun (layer 3) device, not a tap", name);
            goto fail;
        }
        if (fl >= 0 && (fl & IFF_MULTI_QUEUE))
            t->multi = true;        /* a multi_queue tap is opened so, even for one queue */
        else if (fl >= 0 && queues > 1) {
            snprintf(err, errlen, "tap %s: is single-queue; for %u queues create it with "
                     "'ip tuntap add %s mode tap multi_queue'", name, queues, name);
            goto fail;
        }
    }
    for (unsigned i = 0; i < queues; i++) {
        int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
            r = -errno;
            snprintf(err, errlen, "tap %s: /dev/net/tun: %s", name, strerror(-r));
            goto fail;
        }
        nb->fd[i] = fd;
        nb->nqueues = i + 1;
        struct ifreq ifr;
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | (t->multi ? IFF_MULTI_QUEUE : 0);
        /* the first fd creates a missing tap; exclusively, so a tap
         * someone creates at the same moment is not taken over */
        if (i == 0 && !existed)
            ifr.ifr_flags |= IFF_TUN_EXCL;
        if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
            r = -errno;
            if (!existed && i == 0)
                snprintf(err, errlen, "tap %s: does not exist and cannot be created: %s", name,
                         r == -EPERM ? "no permission (needs CAP_NET_ADMIN)" : strerror(-r));
            else if (r == -EBUSY)
                snprintf(err, errlen, "tap %s: busy (attached to by another process)", name);
            else if (r == -EINVAL)
                snprintf(err, errlen, "tap %s: cannot attach (%s)", name,
                         t->multi ? "for several queues it must be multi_queue"
                                  : "not a single-queue tap");
            else
                snprintf(err, errlen, "tap %s: cannot attach: %s", name, strerror(-r));
            goto fail;
        }
        if (i == 0 && !existed)
            t->created = true;
        int sz = VIRTIO_NET_HDR_SIZE, le = 1;
        if (ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0) {
            r = -errno;
            snprintf(err, errlen, "tap %s: TUNSETVNETHDRSZ: %s", name, strerror(-r));
            goto fail;
        }
        (void)ioctl(fd, TUNSETVNETLE, &le);   /* the host's order elsewhere: LE hosts need nothing */
    }
    if (ioctl(nb->fd[0], TUNSETOFFLOAD, 0UL) < 0) {
        r = -errno;
        snprintf(err, errlen, "tap %s: TUNSETOFFLOAD: %s", name, strerror(-r));
        goto fail;
    }
    if (t->created && (r = link_setup(name, mtu)) < 0) {
        snprintf(err, errlen, "tap %s: cannot set it up (mtu %u): %s", name, mtu, strerror(-r));
        goto fail;
    }
    *out = nb;
    return 0;
fail:
    tap_destroy(nb);
    return r < 0 ? r : -EINVAL;
}
