/* The user-mode network backend (backend/slirp.h): the option parser,
 * then libslirp on the VM's event loop.
 *
 * Event loop: libslirp's own loop shape is "fill a poll set, wait, hand
 * back what is ready". Here a hook before each wait runs
 * slirp_pollfds_fill, whose add_poll registers each socket with the
 * loop's epoll (or changes its events) and lowers the wait's timeout to
 * slirp's TCP timers; the fd callbacks only note what epoll reported;
 * the hook after the dispatch pass runs slirp_pollfds_poll with those
 * notes. A socket libslirp no longer fills is dropped from epoll before
 * the next wait, and one it closes is dropped at once (unregister_poll_fd
 * comes before each close), so a reused fd number never inherits a stale
 * registration. libslirp's timers (IPv6 router advertisements) are loop
 * timers. Frames for the guest that find the channel full wait in a
 * bounded queue, sent in order when epoll says there is room. */
#include "backend/slirp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ---- */

void net_slirp_cfg_init(struct net_slirp_cfg *c)
{
    memset(c, 0, sizeof(*c));
    c->net.s_addr = htonl(0x0a000200);      /* 10.0.2.0 */
    c->prefix = 24;
}

static uint32_t prefix_mask(unsigned prefix)
{
    return prefix ? ~0u << (32 - prefix) : 0;
}

static struct in_addr net_host(const struct net_slirp_cfg *c, uint32_t host)
{
    struct in_addr a = { htonl(ntohl(c->net.s_addr) | host) };
    return a;
}

struct in_addr net_slirp_host_addr(const struct net_slirp_cfg *c) { return net_host(c, 2); }
struct in_addr net_slirp_dns_addr(const struct net_slirp_cfg *c) { return net_host(c, 3); }
struct in_addr net_slirp_guest_addr(const struct net_slirp_cfg *c) { return net_host(c, 15); }

/* A port: 1..65535, decimal digits only. 0 or -EINVAL. */
static int parse_port(const char *s, uint16_t *out)
{
    unsigned v = 0;
    size_t n = strlen(s);
    if (n == 0 || n > 5)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v == 0 || v > 65535)
        return -EINVAL;
    *out = (uint16_t)v;
    return 0;
}

/* "" (INADDR_ANY) or a dotted quad. 0 or -EINVAL. */
static int parse_addr(const char *s, struct in_addr *out)
{
    if (!*s) {
        out->s_addr = htonl(INADDR_ANY);
        return 0;
    }
    return inet_pton(AF_INET, s, out) == 1 ? 0 : -EINVAL;
}

/* "ADDR:PORT" (ADDR may be empty) in place: splits at the only ':'.
 * 0 or -EINVAL with err naming which side (what) is bad. */
static int parse_endpoint(char *s, const char *what, const char *spec, struct in_addr *addr,
                          uint16_t *port, char *err, size_t errlen)
{
    char *colon = strchr(s, ':');
    if (!colon || strchr(colon + 1, ':')) {
        snprintf(err, errlen, "hostfwd '%s': the %s side is not [ADDR]:PORT", spec, what);
        return -EINVAL;
    }
    *colon = '\0';
    if (parse_addr(s, addr) < 0) {
        snprintf(err, errlen, "hostfwd '%s': %s address '%s' is not an IPv4 address",
                 spec, what, s);
        return -EINVAL;
    }
    if (parse_port(colon + 1, port) < 0) {
        snprintf(err, errlen, "hostfwd '%s': %s port '%s' is not 1..65535", spec, what, colon + 1);
        return -EINVAL;
    }
    return 0;
}

/* [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
static int parse_hostfwd(const char *spec, struct net_slirp_cfg *c, char *err, size_t errlen)
{
    char buf[128];
    if (strlen(spec) >= sizeof(buf)) {
        snprintf(err, errlen, "hostfwd '%.40s...': longer than %zu bytes", spec, sizeof(buf) - 1);
        return -EINVAL;
    }
    if (c->nfwds >= NET_SLIRP_MAX_FWDS) {
        snprintf(err, errlen, "hostfwd: at most %d forwards", NET_SLIRP_MAX_FWDS);
        return -EINVAL;
    }
    snprintf(buf, sizeof(buf), "%s", spec);
    struct net_slirp_fwd f = { 0 };
    char *colon = strchr(buf, ':');
    if (!colon) {
        snprintf(err, errlen, "hostfwd '%s': not [tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT",
                 spec);
        return -EINVAL;
    }
    *colon = '\0';
    if (!strcmp(buf, "udp")) {
        f.udp = true;
    } else if (strcmp(buf, "tcp") && buf[0]) {
        snprintf(err, errlen, "hostfwd '%s': protocol '%s' is not tcp or udp", spec, buf);
        return -EINVAL;
    }
    char *host = colon + 1, *dash = strchr(host, '-');
    if (!dash) {
        snprintf(err, errlen, "hostfwd '%s': no '-' between the host and the guest side", spec);
        return -EINVAL;
    }
    *dash = '\0';
    if (parse_endpoint(host, "host", spec, &f.host_addr, &f.host_port, err, errlen) < 0 ||
        parse_endpoint(dash + 1, "guest", spec, &f.guest_addr, &f.guest_port, err, errlen) < 0)
        return -EINVAL;
    for (unsigned i = 0; i < c->nfwds; i++) {
        const struct net_slirp_fwd *o = &c->fwd[i];
        if (o->udp == f.udp && o->host_port == f.host_port &&
            (o->host_addr.s_addr == f.host_addr.s_addr || !o->host_addr.s_addr ||
             !f.host_addr.s_addr)) {
            snprintf(err, errlen, "hostfwd '%s': host %s port %u is forwarded twice", spec,
                     f.udp ? "udp" : "tcp", f.host_port);
            return -EINVAL;
        }
    }
    c->fwd[c->nfwds++] = f;
    return 0;
}

/* ADDR/PREFIX, the host bits zero, PREFIX 1..27. */
static int parse_netaddr(const char *spec, struct net_slirp_cfg *c, char *err, size_t errlen)
{
    char buf[32];
    const char *slash = strchr(spec, '/');
    size_t alen = slash ? (size_t)(slash - spec) : 0;
    if (!slash || alen >= sizeof(buf)) {
        snprintf(err, errlen, "net '%.40s': not ADDR/PREFIX (e.g. 10.0.2.0/24)", spec);
        return -EINVAL;
    }
    memcpy(buf, spec, alen);
    buf[alen] = '\0';
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1) {
        snprintf(err, errlen, "net '%.40s': '%s' is not an IPv4 address", spec, buf);
        return -EINVAL;
    }
    uint16_t p;
    if (parse_port(slash + 1, &p) < 0 || p > 27) {
        snprintf(err, errlen, "net '%.40s': prefix '%.8s' is not 1..27 (the network needs "
                 "room for .2, .3 and .15)", spec, slash + 1);
        return -EINVAL;
    }
    if (ntohl(a.s_addr) & ~prefix_mask(p)) {
        snprintf(err, errlen, "net '%.40s': the address has bits set past the /%u prefix", spec, p);
        return -EINVAL;
    }
    c->net = a;
    c->prefix = p;
    return 0;
}

/* Every forward's explicit guest address must be inside the network. */
static int check_fwds(const struct net_slirp_cfg *c, char *err, size_t errlen)
{
    uint32_t mask = prefix_mask(c->prefix), net = ntohl(c->net.s_addr);
    for (unsigned i = 0; i < c->nfwds; i++) {
        uint32_t g = ntohl(c->fwd[i].guest_addr.s_addr);
        if (g && (g & mask) != net) {
            char a[INET_ADDRSTRLEN], n[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &c->fwd[i].guest_addr, a, sizeof(a));
            inet_ntop(AF_INET, &c->net, n, sizeof(n));
            snprintf(err, errlen, "hostfwd to %s:%u: the guest address is outside the "
                     "network %s/%u", a, c->fwd[i].guest_port, n, c->prefix);
            return -EINVAL;
        }
    }
    return 0;
}

int net_slirp_parse(const char *opts, struct net_slirp_cfg *c, char *err, size_t errlen)
{
    size_t n = strlen(opts);
    if (n > NET_SLIRP_MAX_OPTS) {
        snprintf(err, errlen, "options longer than %d bytes", NET_SLIRP_MAX_OPTS);
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)opts[i] < 0x20 || (unsigned char)opts[i] > 0x7e) {
            /* (refused before any message quotes the options back) */
            snprintf(err, errlen, "a control or non-ASCII byte at offset %zu of the options", i);
            return -EINVAL;
        }
    char *buf = strdup(opts);
    if (!buf) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    int r = 0;
    char *save = NULL;
    if (buf[0] == ',' || (n && buf[n - 1] == ',') || strstr(buf, ",,")) {
        snprintf(err, errlen, "an empty option in '%.64s'", opts);
        r = -EINVAL;
    }
    for (char *tok = r ? NULL : strtok_r(buf, ",", &save); tok && !r;
         tok = strtok_r(NULL, ",", &save)) {
        if (!strncmp(tok, "hostfwd=", 8))
            r = parse_hostfwd(tok + 8, c, err, errlen);
        else if (!strncmp(tok, "net=", 4))
            r = parse_netaddr(tok + 4, c, err, errlen);
        else {
            snprintf(err, errlen, "unknown option '%.64s' (hostfwd= or net=)", tok);
            r = -EINVAL;
        }
    }
    free(buf);
    return r ? r : check_fwds(c, err, errlen);
}

#ifndef ARCVMM_HAVE_SLIRP
bool net_slirp_available(void)
{
    return false;
}

int net_slirp_open(const struct net_slirp_cfg *c, struct evloop *loop, const char *name,
                   struct net_backend **out, char *err, size_t errlen)
{
    *out = NULL;
    snprintf(err, errlen, "net %s: this arcvmm was built without libslirp: no user-mode "
             "networking (use a tap)", name);
    return -ENOTSUP;
}

void net_slirp_get_stats(const struct net_backend *nb, struct net_slirp_stats *st)
{
    memset(st, 0, sizeof(*st));
}
#else /* ARCVMM_HAVE_SLIRP */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "base/evloop.h"
#include "base/log.h"
#include "virtio/net_hdr.h"

#define SLIRP_BATCH   64                /* guest frames taken per wakeup */
/* Each end's socket buffer: about 200 full frames in flight (the kernel
 * may cap it lower, at net.core.wmem_max); bursts beyond wait in the
 * queue below, so a bigger buffer would only hide them. */
#define SLIRP_SOCKBUF (256 << 10)
#define SLIRP_BUF     (VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME + 64)
/* Frames for the guest held while the device's channel is full (the guest
 * is slow to post RX buffers), at most this many bytes per NIC: libslirp
 * bursts a TCP window at once, and a frame dropped there costs a
 * retransmission timeout. Past it, frames are dropped as a NIC would. */
#define SLIRP_QUEUE_MAX (4u << 20)

struct net_slirp;

/* One socket of libslirp's in the loop's epoll set. */
struct slirp_fd {
    struct net_slirp *s;
    int fd;
    int events;                         /* SLIRP_POLL_* registered (0: none yet) */
    uint32_t revents;                   /* what epoll reported since the last poll */
    bool filled;                        /* asked for by the current fill */
};

struct slirp_timer {
    struct net_slirp *s;
    struct evloop_timer *t;
    SlirpTimerCb cb;                    /* timer_new's, or NULL: slirp_handle_timer(id) */
    SlirpTimerId id;
    void *cb_opaque;
};

/* A frame waiting for room in the channel: header + frame, as sent. */
struct slirp_pkt {
    struct slirp_pkt *next;
    size_t len;
    uint8_t data[];
};

struct net_slirp {
    struct net_backend nb;              /* first: the backend's calls get this */
    struct net_slirp_cfg cfg;
    struct evloop *loop;
    Slirp *slirp;
    int fd;                             /* the backend's end of the socketpair */
    struct evloop_hook *hook;
    struct slirp_fd **fds;              /* slots; an index is add_poll's answer */
    size_t nfds;
    struct slirp_pkt *q_head, *q_tail;  /* oldest first; EPOLLOUT watched while any */
    size_t q_bytes;
    struct net_slirp_stats st;
    struct log_limit log_guest, log_io;
    uint8_t buf[SLIRP_BUF];
};

bool net_slirp_available(void)
{
    return true;
}

/* ---- libslirp's sockets on the loop ---- */

static uint32_t to_epoll(int ev)
{
    return (ev & SLIRP_POLL_IN ? EPOLLIN : 0) | (ev & SLIRP_POLL_OUT ? EPOLLOUT : 0) |
           (ev & SLIRP_POLL_PRI ? EPOLLPRI : 0);
}

static int from_epoll(uint32_t ev)
{
    return (ev & EPOLLIN ? SLIRP_POLL_IN : 0) | (ev & EPOLLOUT ? SLIRP_POLL_OUT : 0) |
           (ev & EPOLLPRI ? SLIRP_POLL_PRI : 0) | (ev & EPOLLERR ? SLIRP_POLL_ERR : 0) |
           (ev & EPOLLHUP ? SLIRP_POLL_HUP : 0);
}

/* An fd callback: note what epoll said, for the poll after the pass. */
static void sock_ready(void *opaque, int fd, uint32_t revents)
{
    struct slirp_fd *e = opaque;
    e->revents |= revents;
}

/* Take slot i's socket out of epoll and free the slot. */
static void fd_drop(struct net_slirp *s, size_t i)
{
    struct slirp_fd *e = s->fds[i];
    if (!e)
        return;
    if (e->events)
        evloop_del_fd(s->loop, e->fd);
    free(e);
    s->fds[i] = NULL;
}

/* The slot holding fd, a free one (fd < 0 finds a free one), or -1. */
static long fd_slot(const struct net_slirp *s, int fd)
{
    long free_slot = -1;
    for (size_t i = 0; i < s->nfds; i++) {
        if (s->fds[i] && s->fds[i]->fd == fd)
            return (long)i;
        if (!s->fds[i] && free_slot < 0)
            free_slot = (long)i;
    }
    return fd < 0 ? free_slot : -1;
}

/* add_poll: watch fd for events until the next fill. The slot index. */
static int add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    long i = fd_slot(s, fd);
    if (i < 0 && (i = fd_slot(s, -1)) < 0) {
        struct slirp_fd **n = realloc(s->fds, (s->nfds + 8) * sizeof(*n));
        if (!n)
            return -1;
        memset(n + s->nfds, 0, 8 * sizeof(*n));
        s->fds = n;
        i = (long)s->nfds;
        s->nfds += 8;
    }
    struct slirp_fd *e = s->fds[i];
    if (!e) {
        if (!(e = calloc(1, sizeof(*e))))
            return -1;
        e->s = s;
        e->fd = fd;
        s->fds[i] = e;
    }
    e->filled = true;
    int want = events & (SLIRP_POLL_IN | SLIRP_POLL_OUT | SLIRP_POLL_PRI);
    if (want == e->events)
        return (int)i;
    int r;
    if (!want) {
        r = evloop_del_fd(s->loop, fd);
    } else if (!e->events) {
        r = evloop_add_fd(s->loop, fd, to_epoll(want), sock_ready, e);
    } else if ((r = evloop_mod_fd(s->loop, fd, to_epoll(want))) < 0) {
        /* epoll forgot it (closed behind our back): register afresh */
        evloop_del_fd(s->loop, fd);
        r = evloop_add_fd(s->loop, fd, to_epoll(want), sock_ready, e);
    }
    if (r < 0 && want) {
        log_warn_limited(&s->log_io, "net %s: cannot watch libslirp's socket %d: %s",
                         s->nb.name, fd, strerror(-r));
        want = 0;
    }
    e->events = want;
    return (int)i;
}

static int get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    if (idx < 0 || (size_t)idx >= s->nfds || !s->fds[idx])
        return 0;
    return from_epoll(s->fds[idx]->revents);
}

/* Before each wait: libslirp says which sockets to watch and how long
 * its TCP timers allow the wait to be; sockets it did not name leave
 * epoll (level-triggered, they would wake the loop for nothing). */
static void loop_prepare(void *opaque, int64_t *timeout_ns)
{
    struct net_slirp *s = opaque;
    for (size_t i = 0; i < s->nfds; i++)
        if (s->fds[i])
            s->fds[i]->filled = false;
    uint32_t ms = UINT32_MAX;
    slirp_pollfds_fill(s->slirp, &ms, add_poll, s);
    for (size_t i = 0; i < s->nfds; i++)
        if (s->fds[i] && !s->fds[i]->filled)
            fd_drop(s, i);
    if (ms != UINT32_MAX && (*timeout_ns < 0 || (int64_t)ms * 1000000 < *timeout_ns))
        *timeout_ns = (int64_t)ms * 1000000;
}

/* After each dispatch pass: libslirp serves what was ready (and its
 * timers that are due). */
static void loop_check(void *opaque)
{
    struct net_slirp *s = opaque;
    slirp_pollfds_poll(s->slirp, 0, get_revents, s);
    for (size_t i = 0; i < s->nfds; i++)
        if (s->fds[i])
            s->fds[i]->revents = 0;
}

/* ---- libslirp's callbacks ---- */

/* Send iov as one message on the channel. 1 sent, 0 the channel is
 * full, -errno another failure (the frame is lost). */
static int chan_send(struct net_slirp *s, const struct iovec *iov, int n)
{
    for (;;) {
        ssize_t w = writev(s->fd, iov, n);
        if (w >= 0)
            return 1;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS ? 0 : -errno;
    }
}

static void chan_watch_out(struct net_slirp *s, bool on)
{
    evloop_mod_fd(s->loop, s->fd, EPOLLIN | (on ? EPOLLOUT : 0));
}

/* Hold a frame for later (the channel is full, or frames wait already). */
static void queue_frame(struct net_slirp *s, const void *buf, size_t len)
{
    struct slirp_pkt *p = NULL;
    if (s->q_bytes + len <= SLIRP_QUEUE_MAX)
        p = malloc(sizeof(*p) + VIRTIO_NET_HDR_SIZE + len);
    if (!p) {
        s->st.to_guest_dropped++;
        return;
    }
    p->next = NULL;
    p->len = VIRTIO_NET_HDR_SIZE + len;
    memset(p->data, 0, VIRTIO_NET_HDR_SIZE);
    memcpy(p->data + VIRTIO_NET_HDR_SIZE, buf, len);
    if (!s->q_head)
        chan_watch_out(s, true);
    if (s->q_tail)
        s->q_tail->next = p;
    else
        s->q_head = p;
    s->q_tail = p;
    s->q_bytes += len;
    s->st.to_guest_queued++;
}

/* The channel has room: send what waits, oldest first. */
static void queue_flush(struct net_slirp *s)
{
    while (s->q_head) {
        struct slirp_pkt *p = s->q_head;
        struct iovec iov = { p->data, p->len };
        int r = chan_send(s, &iov, 1);
        if (r == 0)
            return;
        if (r < 0)
            s->st.to_guest_dropped++;
        s->q_head = p->next;
        if (!s->q_head)
            s->q_tail = NULL;
        s->q_bytes -= p->len - VIRTIO_NET_HDR_SIZE;
        free(p);
    }
    chan_watch_out(s, false);
}

/* A frame for the guest: header (zeros) + frame, one message; held in
 * order when the channel is full (up to SLIRP_QUEUE_MAX). */
static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;
    s->st.to_guest++;
    if (!s->q_head) {
        uint8_t hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
        struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)buf, len } };
        int r = chan_send(s, iov, 2);
        if (r > 0)
            return (ssize_t)len;
        if (r < 0) {
            s->st.to_guest_dropped++;
            return (ssize_t)len;
        }
    }
    queue_frame(s, buf, len);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct net_slirp *s = opaque;
    log_guest_limited(&s->log_guest, "net %s: %s", s->nb.name, msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    return (int64_t)evloop_now_ns();
}

static void timer_fire(void *opaque)
{
    struct slirp_timer *t = opaque;
    if (t->cb)
        t->cb(t->cb_opaque);
    else
        slirp_handle_timer(t->s->slirp, t->id, t->cb_opaque);
}

static void *timer_make(struct net_slirp *s, SlirpTimerCb cb, SlirpTimerId id, void *cb_opaque)
{
    struct slirp_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    *t = (struct slirp_timer){ .s = s, .cb = cb, .id = id, .cb_opaque = cb_opaque };
    if (!(t->t = evloop_timer_new(s->loop, timer_fire, t))) {
        free(t);
        return NULL;
    }
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_make(opaque, cb, 0, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_make(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct slirp_timer *t = timer;
    if (!t)
        return;
    evloop_timer_free(t->t);
    free(t);
}

/* expire_time: ms on cb_clock_get_ns's clock (CLOCK_MONOTONIC). */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    struct slirp_timer *t = timer;
    evloop_timer_arm(t->t, expire_time > 0 ? (uint64_t)expire_time * 1000000 : 0);
}

static void cb_register_poll_fd(int fd, void *opaque)
{
    /* nothing: every socket is (re)registered by the fill before a wait */
}

/* libslirp is about to close fd: out of epoll now, so a new socket that
 * gets its number is registered afresh. */
static void cb_unregister_poll_fd(int fd, void *opaque)
{
    struct net_slirp *s = opaque;
    long i = fd_slot(s, fd);
    if (i >= 0)
        fd_drop(s, (size_t)i);
}

static void cb_notify(void *opaque)
{
    /* nothing: libslirp only ever runs on the loop's thread */
}

static void cb_init_completed(Slirp *slirp, void *opaque)
{
}

static const SlirpCb slirp_cbs = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .init_completed = cb_init_completed,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- frames from the guest ---- */

/* The channel: room for held frames (EPOLLOUT), or the device wrote
 * frames: header off, each to slirp_input. */
static void chan_ready(void *opaque, int fd, uint32_t revents)
{
    struct net_slirp *s = opaque;
    if (revents & EPOLLOUT)
        queue_flush(s);
    for (int i = 0; i < SLIRP_BATCH && (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)); i++) {
        ssize_t k = recv(s->fd, s->buf, sizeof(s->buf), MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            log_warn_limited(&s->log_io, "net %s: reading the device's frames: %s; "
                             "the channel carries no more frames", s->nb.name, strerror(errno));
            evloop_del_fd(s->loop, s->fd);      /* not a passing state: do not spin on it */
            return;
        }
        if (k == 0 && (revents & EPOLLHUP)) {
            evloop_del_fd(s->loop, s->fd);      /* the device's end is gone */
            return;
        }
        if ((size_t)k < VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MIN_FRAME) {
            s->st.short_frames++;
            continue;
        }
        s->st.to_slirp++;
        slirp_input(s->slirp, s->buf + VIRTIO_NET_HDR_SIZE, (int)(k - VIRTIO_NET_HDR_SIZE));
    }
}

/* ---- the backend ---- */

static int slirp_set_offload(struct net_backend *nb, unsigned flags)
{
    return 0;       /* no_offloads: the device negotiates none */
}

/* Stop the stack and free everything (the loop is not running). */
static void slirp_destroy(struct net_backend *nb)
{
    struct net_slirp *s = (struct net_slirp *)nb;
    if (s->hook)
        evloop_hook_del(s->loop, s->hook);
    if (s->slirp)
        slirp_cleanup(s->slirp);            /* unregisters and closes its sockets */
    for (size_t i = 0; i < s->nfds; i++)
        fd_drop(s, i);
    free(s->fds);
    while (s->q_head) {
        struct slirp_pkt *p = s->q_head;
        s->q_head = p->next;
        free(p);
    }
    if (s->fd >= 0) {
        evloop_del_fd(s->loop, s->fd);
        close(s->fd);
    }
    net_backend_close_fds(nb);
    free(s);
}

static const struct net_backend_ops slirp_ops = {
    .readv = net_backend_fd_readv,
    .writev = net_backend_fd_writev,
    .set_offload = slirp_set_offload,
    .destroy = slirp_destroy,
};

static void set_bufs(int fd)
{
    int v = SLIRP_SOCKBUF;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* fec0::N, QEMU's IPv6 site-local defaults. */
static struct in6_addr fec0(uint8_t n)
{
    struct in6_addr a = { .s6_addr = { 0xfe, 0xc0 } };
    a.s6_addr[15] = n;
    return a;
}

/* The SlirpConfig for c. */
static void slirp_config(const struct net_slirp_cfg *c, SlirpConfig *sc)
{
    memset(sc, 0, sizeof(*sc));
    sc->version = 4;
    sc->in_enabled = true;
    sc->vnetwork = c->net;
    sc->vnetmask.s_addr = htonl(prefix_mask(c->prefix));
    sc->vhost = net_slirp_host_addr(c);
    sc->vdhcp_start = net_slirp_guest_addr(c);
    sc->vnameserver = net_slirp_dns_addr(c);
    sc->in6_enabled = true;
    sc->vprefix_addr6 = fec0(0);
    sc->vprefix_len = 64;
    sc->vhost6 = fec0(2);
    sc->vnameserver6 = fec0(3);
}

/* Each forward listening. 0 or -errno with err set. */
static int add_fwds(struct net_slirp *s, char *err, size_t errlen)
{
    for (unsigned i = 0; i < s->cfg.nfwds; i++) {
        const struct net_slirp_fwd *f = &s->cfg.fwd[i];
        struct in_addr guest = f->guest_addr.s_addr ? f->guest_addr : net_slirp_guest_addr(&s->cfg);
        errno = 0;
        if (slirp_add_hostfwd(s->slirp, f->udp, f->host_addr, f->host_port, guest,
                              f->guest_port) < 0) {
            int e = errno ? errno : EADDRINUSE;
            char a[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &f->host_addr, a, sizeof(a));
            snprintf(err, errlen, "net %s: hostfwd %s %s:%u: cannot listen: %s", s->nb.name,
                     f->udp ? "udp" : "tcp", a, f->host_port, strerror(e));
            return -e;
        }
    }
    return 0;
}

int net_slirp_open(const struct net_slirp_cfg *c, struct evloop *loop, const char *name,
                   struct net_backend **out, char *err, size_t errlen)
{
    *out = NULL;
    struct net_slirp *s = calloc(1, sizeof(*s));
    if (!s) {
        snprintf(err, errlen, "net %s: out of memory", name);
        return -ENOMEM;
    }
    s->nb.ops = &slirp_ops;
    s->nb.nqueues = 1;
    s->nb.fd[0] = -1;
    s->nb.no_offloads = true;
    snprintf(s->nb.name, sizeof(s->nb.name), "%s", name);
    s->cfg = *c;
    s->loop = loop;
    s->fd = -1;
    int r, sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
        r = -errno;
        snprintf(err, errlen, "net %s: socketpair: %s", name, strerror(errno));
        goto fail;
    }
    s->nb.fd[0] = sv[0];
    s->fd = sv[1];
    set_bufs(sv[0]);
    set_bufs(sv[1]);
    SlirpConfig sc;
    slirp_config(c, &sc);
    if (!(s->slirp = slirp_new(&sc, &slirp_cbs, s))) {
        r = -ENOMEM;
        snprintf(err, errlen, "net %s: libslirp refused to start", name);
        goto fail;
    }
    if ((r = add_fwds(s, err, errlen)) < 0)
        goto fail;
    if ((r = evloop_add_fd(loop, s->fd, EPOLLIN, chan_ready, s)) < 0) {
        snprintf(err, errlen, "net %s: event loop: %s", name, strerror(-r));
        goto fail;
    }
    if (!(s->hook = evloop_hook_add(loop, loop_prepare, loop_check, s))) {
        r = -ENOMEM;
        snprintf(err, errlen, "net %s: out of memory", name);
        goto fail;
    }
    *out = &s->nb;
    return 0;
fail:
    slirp_destroy(&s->nb);
    return r;
}

void net_slirp_get_stats(const struct net_backend *nb, struct net_slirp_stats *st)
{
    *st = ((const struct net_slirp *)nb)->st;
}
#endif /* ARCVMM_HAVE_SLIRP */
