/* virtio-vsock: the device, its connection table and the hybrid
 * Unix-socket host side, all on the device's own event loop.
 *
 * Connections: one struct vconn per stream, keyed by (local port, peer
 * port) -- local is the host side's port, peer the guest's -- in a hash
 * table, at most VSOCK_MAX_CONNS at once (a host program still sending its
 * CONNECT line counts). States:
 *   LINE        accepted on the listener, reading "CONNECT <port>\n"
 *   CONNECTING  host-initiated, REQUEST queued or sent, waiting for the
 *               guest's RESPONSE (the 2 s timer from accept runs)
 *   OPEN        data both ways
 *   DYING       an RST for the guest is queued; the host stream is closed;
 *               freed once the RST is out
 * Shutdown is tracked per direction (guest_no_rx / guest_no_tx, host_eof).
 *
 * Guest to host (TX queue): each packet is checked (vsock_tx_parse); a bad
 * one is counted and answered with RST (or dropped, when it has no valid
 * CIDs). RW payload is written to the Unix stream at once; what the stream
 * does not take is copied into the connection's buffer (VSOCK_BUF_ALLOC
 * bytes, allocated on first need) and written on EPOLLOUT. The guest is
 * told buf_alloc = VSOCK_BUF_ALLOC and our fwd_cnt (bytes written to the
 * stream), so a well-behaved guest never overruns the buffer; one that
 * does is reset. A CREDIT_UPDATE goes out whenever fwd_cnt moved a
 * quarter of the buffer past what the guest was last told.
 *
 * Host to guest (RX queue): connections with something to send are on a
 * ready list served round-robin, one packet per buffer: control packets
 * first, then data read from the Unix stream straight into the guest's
 * buffer, at most the guest's credit (buf_alloc - (rx_cnt - fwd_cnt)).
 * EPOLLIN on a stream only marks it readable; it is read when a buffer
 * and credit are there, so a guest that stops reading stops the reads
 * (the host program's writes then block) and the device holds nothing.
 * RSTs for packets that match no connection go through a small queue of
 * their own (overflow: dropped and counted).
 *
 * Pause (quiesce): nothing is taken from or given to the rings and no fd
 * is watched until resume (their events are kept by the kernel). */
#include "virtio/vsock.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/evloop.h"
#include "base/le.h"
#include "base/log.h"
#include "base/usock.h"

#define VS_BATCH        256             /* packets per queue per pass (then the loop comes back) */
#define VS_HASH         1024
#define VS_RSTQ         64              /* RSTs for unknown connections waiting for buffers */
#define VS_CREDIT_STEP  (VSOCK_BUF_ALLOC / 4)

enum vstate { C_LINE, C_CONNECTING, C_OPEN, C_DYING };

#define PEND_REQUEST   1u
#define PEND_RESPONSE  2u
#define PEND_CREDIT    4u               /* a CREDIT_UPDATE */
#define PEND_RST       8u

struct vsock_dev;

struct vconn {
    struct vsock_dev *v;
    enum vstate state;
    uint32_t lport, pport;              /* host side's port, guest's port */
    int fd;                             /* the Unix stream, -1 once closed */
    uint32_t watched;                   /* events registered on the loop (0: not registered) */
    bool registered;
    bool hup;                           /* EPOLLHUP/ERR seen: not watched any more */
    bool readable;                      /* the stream may have bytes for the guest */
    bool host_eof;                      /* read 0 */
    bool guest_no_rx, guest_no_tx;      /* the guest's SHUTDOWN flags */
    bool host_shut_wr;                  /* shutdown(SHUT_WR) done */
    unsigned pend;                      /* PEND_*: control packets the guest is owed */
    uint32_t peer_buf_alloc, peer_fwd_cnt;  /* the guest's, from its last packet */
    uint32_t rx_cnt;                    /* payload bytes sent to the guest */
    uint32_t fwd_cnt, fwd_sent;         /* bytes from the guest written to the stream; last told */
    uint8_t *buf;                       /* VSOCK_BUF_ALLOC ring: guest bytes not yet written */
    uint32_t bhead, blen;
    char line[VSOCK_CONNECT_MAX];
    size_t linelen;
    struct evloop_timer *timer;
    bool on_ready;
    struct vconn *ready_next, *ready_prev;
    struct vconn *hnext;                /* hash chain */
    struct vconn *all_next, *all_prev;
};

struct vs_counters {
    atomic_uint_least64_t tx_pkts, rx_pkts, tx_bytes, rx_bytes, tx_dropped[VSOCK_TX_VERDICTS];
    atomic_uint_least64_t rst_sent, rst_dropped, unknown_conn, credit_overrun, rx_bad_buffers;
    atomic_uint_least64_t host_accepted, host_connected, host_bad_line, host_timeout, host_refused;
    atomic_uint_least64_t guest_connected, guest_connect_failed, table_full, conns, events_sent;
};

struct vsock_dev {
    struct virtio_dev vdev;
    uint64_t cid;
    char path[108];
    struct usock_listener lis;
    bool lis_watched;
    struct evloop *loop;
    struct evloop_hook *hook;
    uint8_t config[VIRTIO_VSOCK_CONFIG_SIZE];
    /* loop thread only: */
    bool active, paused;
    bool qwatched[3];
    bool rx_dirty;                      /* something may be sendable: run RX after this pass */
    bool event_pending;                 /* a TRANSPORT_RESET waits for an event buffer */
    struct virtq_elem *rx_elem, *tx_elem, *ev_elem;
    struct iovec *iov;                  /* VIRTQ_MAX_IOV */
    struct vconn *hash[VS_HASH];
    struct vconn *all;
    struct vconn *ready_head, *ready_tail;
    unsigned nconns;
    uint32_t next_port;
    struct { uint32_t lport, pport; } rstq[VS_RSTQ];
    unsigned rst_head, rst_len;
    struct vs_counters c;
    struct log_limit log_tx[VSOCK_TX_VERDICTS], log_rx, log_host;
};

#define CNT_ADD(var, v) atomic_fetch_add_explicit(&(var), (v), memory_order_relaxed)
#define CNT_SUB(var, v) atomic_fetch_sub_explicit(&(var), (v), memory_order_relaxed)

static void conn_watch(struct vconn *c);
static void rx_kick(struct vsock_dev *v);

/* ---- the connection table ---- */

static unsigned hash_of(uint32_t lport, uint32_t pport)
{
    return (lport * 2654435761u ^ pport * 40503u) % VS_HASH;
}

static struct vconn *conn_find(struct vsock_dev *v, uint32_t lport, uint32_t pport)
{
    for (struct vconn *c = v->hash[hash_of(lport, pport)]; c; c = c->hnext)
        if (c->lport == lport && c->pport == pport && c->state != C_LINE)
            return c;
    return NULL;
}

static void hash_add(struct vconn *c)
{
    unsigned h = hash_of(c->lport, c->pport);
    c->hnext = c->v->hash[h];
    c->v->hash[h] = c;
}

static void hash_del(struct vconn *c)
{
    for (struct vconn **p = &c->v->hash[hash_of(c->lport, c->pport)]; *p; p = &(*p)->hnext)
        if (*p == c) {
            *p = c->hnext;
            return;
        }
}

static void ready_del(struct vconn *c)
{
    struct vsock_dev *v = c->v;
    if (!c->on_ready)
        return;
    if (c->ready_prev)
        c->ready_prev->ready_next = c->ready_next;
    else
        v->ready_head = c->ready_next;
    if (c->ready_next)
        c->ready_next->ready_prev = c->ready_prev;
    else
        v->ready_tail = c->ready_prev;
    c->ready_next = c->ready_prev = NULL;
    c->on_ready = false;
}

static void ready_add(struct vconn *c)
{
    struct vsock_dev *v = c->v;
    if (c->on_ready)
        return;
    c->ready_prev = v->ready_tail;
    c->ready_next = NULL;
    if (v->ready_tail)
        v->ready_tail->ready_next = c;
    else
        v->ready_head = c;
    v->ready_tail = c;
    c->on_ready = true;
}

/* Bytes the guest can take now. */
static uint32_t peer_credit(const struct vconn *c)
{
    uint32_t used = c->rx_cnt - c->peer_fwd_cnt;
    return used >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - used;
}

/* Does c have a packet for the guest now? */
static bool conn_has_rx(const struct vconn *c)
{
    if (c->pend)
        return true;
    return c->state == C_OPEN && c->readable && !c->guest_no_rx && peer_credit(c) > 0;
}

/* Put c on the ready list if it has something for the guest (or take it off). */
static void conn_sched(struct vconn *c)
{
    if (conn_has_rx(c)) {
        ready_add(c);
        rx_kick(c->v);
    } else {
        ready_del(c);
    }
}

static struct vconn *conn_new(struct vsock_dev *v, int fd, enum vstate st)
{
    struct vconn *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->v = v;
    c->fd = fd;
    c->state = st;
    c->all_next = v->all;
    if (v->all)
        v->all->all_prev = c;
    v->all = c;
    v->nconns++;
    CNT_ADD(v->c.conns, 1);
    return c;
}

static void conn_close_fd(struct vconn *c)
{
    if (c->fd < 0)
        return;
    if (c->registered)
        evloop_del_fd(c->v->loop, c->fd);
    c->registered = false;
    c->watched = 0;
    close(c->fd);
    c->fd = -1;
}

static void conn_free(struct vconn *c)
{
    struct vsock_dev *v = c->v;
    conn_close_fd(c);
    ready_del(c);
    if (c->state != C_LINE)
        hash_del(c);
    if (c->all_prev)
        c->all_prev->all_next = c->all_next;
    else
        v->all = c->all_next;
    if (c->all_next)
        c->all_next->all_prev = c->all_prev;
    evloop_timer_free(c->timer);
    free(c->buf);
    free(c);
    v->nconns--;
    CNT_SUB(v->c.conns, 1);
}

/* End c: the host stream is closed now; the guest is told with an RST
 * (when it knows the connection) and c is freed once that is out. */
static void conn_reset(struct vconn *c)
{
    conn_close_fd(c);
    if (c->timer)
        evloop_timer_disarm(c->timer);
    bool guest_knows = c->state == C_OPEN || c->state == C_DYING ||
                       (c->state == C_CONNECTING && !(c->pend & PEND_REQUEST));
    if (!guest_knows || !c->v->active) {
        conn_free(c);
        return;
    }
    c->state = C_DYING;
    c->pend = PEND_RST;
    conn_sched(c);
}

/* A host port no live connection uses (host-initiated connections). */
static uint32_t alloc_port(struct vsock_dev *v)
{
    for (;;) {
        uint32_t p = v->next_port++;
        if (v->next_port >= VSOCK_PORT_ANY || v->next_port < VSOCK_HOST_PORT_FIRST)
            v->next_port = VSOCK_HOST_PORT_FIRST;
        bool used = false;
        for (struct vconn *c = v->all; c && !used; c = c->all_next)
            used = c->state != C_LINE && c->lport == p;
        if (!used)
            return p;
    }
}

/* ---- RSTs for packets that match no connection ---- */

static void rst_queue(struct vsock_dev *v, uint32_t lport, uint32_t pport)
{
    if (v->rst_len >= VS_RSTQ) {
        CNT_ADD(v->c.rst_dropped, 1);
        return;
    }
    unsigned i = (v->rst_head + v->rst_len++) % VS_RSTQ;
    v->rstq[i].lport = lport;
    v->rstq[i].pport = pport;
    rx_kick(v);
}

/* ---- guest memory ---- */

/* Copy n bytes from src into the element's writable buffers at offset off.
 * Returns the bytes copied. */
static size_t in_write(const struct virtq_elem *e, size_t off, const void *src, size_t n)
{
    const uint8_t *s = src;
    size_t done = 0;
    for (unsigned i = e->n_out; i < e->n_out + e->n_in && done < n; i++) {
        size_t l = e->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t k = l - off < n - done ? l - off : n - done;
        memcpy((uint8_t *)e->iov[i].iov_base + off, s + done, k);
        done += k;
        off = 0;
    }
    return done;
}

/* The element's writable buffers from offset off, at most max bytes, as
 * iovecs in v->iov. Returns their count. */
static int in_iov(struct vsock_dev *v, const struct virtq_elem *e, size_t off, size_t max)
{
    int n = 0;
    for (unsigned i = e->n_out; i < e->n_out + e->n_in && max; i++) {
        size_t l = e->iov[i].iov_len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t k = l - off < max ? l - off : max;
        v->iov[n++] = (struct iovec){ (uint8_t *)e->iov[i].iov_base + off, k };
        max -= k;
        off = 0;
    }
    return n;
}

/* ---- host to guest ---- */

static void hdr_for(const struct vsock_dev *v, struct vsock_hdr *h, uint32_t lport, uint32_t pport,
                    uint16_t op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = VSOCK_HOST_CID;
    h->dst_cid = v->cid;
    h->src_port = lport;
    h->dst_port = pport;
    h->type = VSOCK_TYPE_STREAM;
    h->op = op;
    h->buf_alloc = VSOCK_BUF_ALLOC;
}

/* Fill one RX buffer with c's next packet. Returns the bytes written (0:
 * nothing after all, the buffer is not used). May free c. */
static uint32_t conn_rx(struct vconn *c, struct virtq_elem *e)
{
    struct vsock_dev *v = c->v;
    struct vsock_hdr h;
    hdr_for(v, &h, c->lport, c->pport, VSOCK_OP_INVALID);
    uint32_t len = 0;
    if (c->pend & PEND_RST) {
        h.op = VSOCK_OP_RST;
    } else if (c->pend & PEND_REQUEST) {
        h.op = VSOCK_OP_REQUEST;
        c->pend &= ~PEND_REQUEST;
    } else if (c->pend & PEND_RESPONSE) {
        h.op = VSOCK_OP_RESPONSE;
        c->pend &= ~PEND_RESPONSE;
    } else if (c->state == C_OPEN && c->readable && !c->guest_no_rx && peer_credit(c)) {
        size_t max = peer_credit(c);    /* rx_pop: in_len > VSOCK_HDR_SIZE */
        if (max > e->in_len - VSOCK_HDR_SIZE)
            max = e->in_len - VSOCK_HDR_SIZE;
        if (max > VSOCK_MAX_PAYLOAD)
            max = VSOCK_MAX_PAYLOAD;
        int n = in_iov(v, e, VSOCK_HDR_SIZE, max);
        ssize_t r = readv(c->fd, v->iov, n);
        if (r > 0) {
            h.op = VSOCK_OP_RW;
            len = (uint32_t)r;
            c->rx_cnt += len;
            CNT_ADD(v->c.rx_bytes, len);
        } else if (r == 0) {            /* the host program will send no more */
            c->host_eof = true;
            c->readable = false;
            h.op = VSOCK_OP_SHUTDOWN;
            h.flags = VSOCK_SHUTDOWN_SEND;
            conn_watch(c);
        } else if (errno == EAGAIN || errno == EINTR) {
            c->readable = false;
            conn_watch(c);
            conn_sched(c);
            if (!(c->pend & PEND_CREDIT))
                return 0;
            h.op = VSOCK_OP_CREDIT_UPDATE;
        } else {                        /* the stream failed: the guest gets RST */
            conn_close_fd(c);
            c->state = C_DYING;
            c->pend = PEND_RST;
            h.op = VSOCK_OP_RST;
        }
    } else if (c->pend & PEND_CREDIT) {
        h.op = VSOCK_OP_CREDIT_UPDATE;
    } else {
        conn_sched(c);
        return 0;
    }
    h.len = len;
    h.fwd_cnt = c->fwd_cnt;
    c->fwd_sent = c->fwd_cnt;
    c->pend &= ~PEND_CREDIT;            /* every packet carries the credit */
    uint8_t b[VSOCK_HDR_SIZE];
    vsock_hdr_encode(&h, b);
    in_write(e, 0, b, VSOCK_HDR_SIZE);
    if (h.op == VSOCK_OP_RST) {
        CNT_ADD(v->c.rst_sent, 1);
        conn_free(c);
    } else {
        ready_del(c);                   /* round-robin: to the tail if more is left */
        conn_sched(c);
    }
    return VSOCK_HDR_SIZE + len;
}

static bool queue_usable(struct vsock_dev *v, unsigned q)
{
    return v->active && !v->paused && v->vdev.vq_ready[q] && !v->vdev.vqs[q].broken;
}

static void queue_broke(struct vsock_dev *v, unsigned q)
{
    virtio_needs_reset(&v->vdev, v->vdev.vqs[q].error);
}

/* virtq_enable_notify said buffers came, yet none could be popped, more
 * often than a driver can make that happen (each such round of a real
 * driver yields a buffer): the rings lie over each other, and our own
 * writes move the index we read. The queue is broken, or the loop would
 * go round for ever. Returns true when it was. */
static bool ring_moves(struct vsock_dev *v, unsigned q, unsigned *rounds, unsigned done)
{
    if (++*rounds <= done + 4)
        return false;
    struct virtq *vq = &v->vdev.vqs[q];
    vq->broken = true;
    snprintf(vq->error, sizeof(vq->error), "queue %u's available index moves while the device "
             "reads it (rings overlap)", q);
    queue_broke(v, q);
    return true;
}

/* Pop a usable RX buffer: 1, 0 none, -EIO broken. Buffers with readable
 * parts or no room for a header and a byte go back empty. */
static int rx_pop(struct vsock_dev *v, struct virtq *vq)
{
    for (unsigned n = 0; n < vq->size; n++) {   /* a ring's worth: our pushes may feed it */
        int r = virtq_pop(vq, v->rx_elem);
        if (r <= 0)
            return r < 0 ? -EIO : 0;
        if (v->rx_elem->n_out == 0 && v->rx_elem->in_len > VSOCK_HDR_SIZE)
            return 1;
        CNT_ADD(v->c.rx_bad_buffers, 1);
        log_guest_limited(&v->log_rx, "vsock: RX buffer of %u writable, %u readable bytes "
                          "refused", v->rx_elem->in_len, v->rx_elem->out_len);
        if (virtq_push(vq, v->rx_elem->head, 0) < 0)
            return -EIO;
    }
    return 0;
}

/* Give the guest what is ready, a batch at most (then the loop comes
 * back). */
static void rx_run(struct vsock_dev *v)
{
    v->rx_dirty = false;
    if (!queue_usable(v, VSOCK_QUEUE_RX))
        return;
    struct virtq *vq = &v->vdev.vqs[VSOCK_QUEUE_RX];
    unsigned done = 0, rounds = 0;
    int r = 0;
    while (done < VS_BATCH && (v->rst_len || v->ready_head)) {
        virtq_disable_notify(vq);
        if ((r = rx_pop(v, vq)) <= 0) {
            if (r == 0 && virtq_enable_notify(vq) &&
                !ring_moves(v, VSOCK_QUEUE_RX, &rounds, done))
                continue;
            break;
        }
        struct virtq_elem *e = v->rx_elem;
        uint32_t w = 0;
        if (v->rst_len) {
            struct vsock_hdr h;
            hdr_for(v, &h, v->rstq[v->rst_head].lport, v->rstq[v->rst_head].pport,
                    VSOCK_OP_RST);
            v->rst_head = (v->rst_head + 1) % VS_RSTQ;
            v->rst_len--;
            uint8_t b[VSOCK_HDR_SIZE];
            vsock_hdr_encode(&h, b);
            in_write(e, 0, b, VSOCK_HDR_SIZE);
            CNT_ADD(v->c.rst_sent, 1);
            w = VSOCK_HDR_SIZE;
        } else {
            w = conn_rx(v->ready_head, e);
        }
        if (!w) {
            virtq_unpop(vq, 1);
            continue;
        }
        if (virtq_push(vq, e->head, w) < 0) {
            r = -EIO;
            break;
        }
        CNT_ADD(v->c.rx_pkts, 1);
        done++;
    }
    if (r < 0)
        queue_broke(v, VSOCK_QUEUE_RX);
    if (done)
        virtio_notify_used(&v->vdev, VSOCK_QUEUE_RX);
    if (done >= VS_BATCH)
        efd_signal(v->vdev.notify_fd[VSOCK_QUEUE_RX]);     /* more next pass */
}

/* Something may be sendable: run RX once this loop pass is over. */
static void rx_kick(struct vsock_dev *v)
{
    v->rx_dirty = true;
}

static void loop_check(void *opaque)
{
    struct vsock_dev *v = opaque;
    if (v->rx_dirty)
        rx_run(v);
}

/* ---- guest to host ---- */

/* Write the buffered bytes to the stream. 0, or -errno (stream broken). */
static int conn_flush(struct vconn *c)
{
    while (c->blen) {
        struct iovec io[2];
        uint32_t first = VSOCK_BUF_ALLOC - c->bhead;
        if (first > c->blen)
            first = c->blen;
        io[0] = (struct iovec){ c->buf + c->bhead, first };
        io[1] = (struct iovec){ c->buf, c->blen - first };
        struct msghdr m = { .msg_iov = io, .msg_iovlen = c->blen > first ? 2 : 1 };
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0)
            return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        c->bhead = (c->bhead + (uint32_t)w) % VSOCK_BUF_ALLOC;
        c->blen -= (uint32_t)w;
        c->fwd_cnt += (uint32_t)w;
    }
    return 0;
}

/* After bytes left the buffer: credit for the guest, a pending close. */
static void conn_after_flush(struct vconn *c)
{
    if (c->fwd_cnt - c->fwd_sent >= VS_CREDIT_STEP)
        c->pend |= PEND_CREDIT;
    if (!c->blen && c->guest_no_tx && !c->host_shut_wr && c->fd >= 0) {
        shutdown(c->fd, SHUT_WR);       /* the host program reads EOF */
        c->host_shut_wr = true;
    }
    if (!c->blen && c->guest_no_tx && c->guest_no_rx) {
        conn_reset(c);                  /* both ways shut: the closing RST */
        return;
    }
    conn_watch(c);
    conn_sched(c);
}

/* RW payload from the guest: to the stream, the rest into the buffer. */
static void conn_tx_data(struct vconn *c, const struct iovec *pay, int npay, uint32_t len)
{
    struct vsock_dev *v = c->v;
    if (c->blen + len > VSOCK_BUF_ALLOC) {
        CNT_ADD(v->c.credit_overrun, 1);
        log_guest_limited(&v->log_host, "vsock: port %u -> %u: %u bytes beyond the %u of credit; "
                          "connection reset", c->pport, c->lport, len, VSOCK_BUF_ALLOC - c->blen);
        conn_reset(c);
        return;
    }
    CNT_ADD(v->c.tx_bytes, len);
    size_t off = 0;
    if (!c->blen) {
        struct msghdr m = { .msg_iov = (struct iovec *)pay, .msg_iovlen = (size_t)npay };
        ssize_t w = sendmsg(c->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno != EAGAIN && errno != EINTR) {
            conn_reset(c);
            return;
        }
        if (w > 0) {
            off = (size_t)w;
            c->fwd_cnt += (uint32_t)w;
        }
    }
    if (off < len) {
        if (!c->buf && !(c->buf = malloc(VSOCK_BUF_ALLOC))) {
            conn_reset(c);
            return;
        }
        size_t skip = off;
        for (int i = 0; i < npay; i++) {
            size_t l = pay[i].iov_len;
            if (skip >= l) {
                skip -= l;
                continue;
            }
            const uint8_t *s = (const uint8_t *)pay[i].iov_base + skip;
            l -= skip;
            skip = 0;
            while (l) {
                uint32_t tail = (c->bhead + c->blen) % VSOCK_BUF_ALLOC;
                uint32_t k = VSOCK_BUF_ALLOC - tail;
                if (k > l)
                    k = (uint32_t)l;
                memcpy(c->buf + tail, s, k);
                c->blen += k;
                s += k;
                l -= k;
            }
        }
    }
    conn_after_flush(c);
}

/* The guest's SHUTDOWN: flags say which ways it shut. */
static void conn_shutdown(struct vconn *c, uint32_t flags)
{
    if (flags & VSOCK_SHUTDOWN_RCV)
        c->guest_no_rx = true;
    if (flags & VSOCK_SHUTDOWN_SEND)
        c->guest_no_tx = true;
    conn_after_flush(c);
}

/* A guest connect to CID 2 port lport: connect to "<path>_<lport>". */
static void guest_connect(struct vsock_dev *v, const struct vsock_hdr *h)
{
    uint32_t lport = h->dst_port, pport = h->src_port;
    if (v->nconns >= VSOCK_MAX_CONNS) {
        CNT_ADD(v->c.table_full, 1);
        rst_queue(v, lport, pport);
        return;
    }
    char p[sizeof(v->path) + 16];
    snprintf(p, sizeof(p), "%s_%u", v->path, lport);
    int fd = usock_connect(p);
    struct vconn *c = fd >= 0 ? conn_new(v, fd, C_OPEN) : NULL;
    if (!c) {
        if (fd >= 0)
            close(fd);
        CNT_ADD(v->c.guest_connect_failed, 1);
        log_limited(&v->log_host, LOG_DEBUG, "vsock: guest port %u connects to %s: %s", pport,
                    p, strerror(fd < 0 ? -fd : ENOMEM));
        rst_queue(v, lport, pport);
        return;
    }
    CNT_ADD(v->c.guest_connected, 1);
    c->lport = lport;
    c->pport = pport;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    hash_add(c);
    c->pend = PEND_RESPONSE;
    conn_watch(c);
    conn_sched(c);
}

/* The guest accepted a host program's connection: "OK <port>\n". */
static void host_connected(struct vconn *c)
{
    char ok[24];
    int n = snprintf(ok, sizeof(ok), "OK %u\n", c->lport);
    if (c->timer)
        evloop_timer_disarm(c->timer);
    ssize_t w = send(c->fd, ok, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (w != n) {
        conn_reset(c);
        return;
    }
    CNT_ADD(c->v->c.host_connected, 1);
    c->state = C_OPEN;
    conn_watch(c);
    conn_sched(c);
}

/* One good packet from the guest. */
static void tx_packet(struct vsock_dev *v, const struct vsock_hdr *h, const struct iovec *pay,
                      int npay)
{
    struct vconn *c = conn_find(v, h->dst_port, h->src_port);
    if (!c) {
        if (h->op == VSOCK_OP_REQUEST) {
            guest_connect(v, h);
        } else if (h->op != VSOCK_OP_RST) {
            CNT_ADD(v->c.unknown_conn, 1);
            rst_queue(v, h->dst_port, h->src_port);
        }
        return;
    }
    if (c->state == C_DYING)
        return;                         /* its RST is on the way */
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    switch (h->op) {
    case VSOCK_OP_RST:
        if (c->state == C_CONNECTING)
            CNT_ADD(v->c.host_refused, 1);
        conn_free(c);                   /* the host program sees the stream close */
        return;
    case VSOCK_OP_RESPONSE:
        if (c->state == C_CONNECTING && !(c->pend & PEND_REQUEST))
            host_connected(c);
        else
            conn_reset(c);
        return;
    case VSOCK_OP_REQUEST:              /* a second REQUEST on a live connection */
        conn_reset(c);
        return;
    default:
        break;
    }
    if (c->state != C_OPEN) {           /* data or credit before the RESPONSE */
        conn_reset(c);
        return;
    }
    switch (h->op) {
    case VSOCK_OP_RW:
        conn_tx_data(c, pay, npay, h->len);
        return;
    case VSOCK_OP_SHUTDOWN:
        conn_shutdown(c, h->flags);
        return;
    case VSOCK_OP_CREDIT_REQUEST:
        c->pend |= PEND_CREDIT;
        break;
    default:                            /* CREDIT_UPDATE: the new credit is taken above */
        break;
    }
    conn_sched(c);
}

/* One popped TX chain. */
static void tx_one(struct vsock_dev *v, struct virtq_elem *e)
{
    struct vsock_hdr h;
    int npay;
    enum vsock_tx_verdict vd = vsock_tx_parse(e, v->cid, &h, v->iov, &npay);
    CNT_ADD(v->c.tx_pkts, 1);
    if (vd == VSOCK_TX_OK) {
        tx_packet(v, &h, v->iov, npay);
        return;
    }
    uint64_t k = CNT_ADD(v->c.tx_dropped[vd], 1) + 1;
    log_limited(&v->log_tx[vd], LOG_DEBUG, "vsock: guest packet op %u, %u bytes dropped (%s); "
                "%llu so far for this", h.op, e->out_len + e->in_len, vsock_tx_verdict_name(vd),
                (unsigned long long)k);
    if (vd == VSOCK_TX_SHORT || vd == VSOCK_TX_CID || h.op == VSOCK_OP_RST)
        return;                         /* nobody to answer, or never answer an RST */
    struct vconn *c = conn_find(v, h.dst_port, h.src_port);
    if (c)
        conn_reset(c);
    else
        rst_queue(v, h.dst_port, h.src_port);
}

static void tx_run(struct vsock_dev *v)
{
    if (!queue_usable(v, VSOCK_QUEUE_TX))
        return;
    struct virtq *vq = &v->vdev.vqs[VSOCK_QUEUE_TX];
    unsigned done = 0, rounds = 0;
    int r = 0;
    do {
        virtq_disable_notify(vq);
        while (done < VS_BATCH && (r = virtq_pop(vq, v->tx_elem)) == 1) {
            tx_one(v, v->tx_elem);
            if (virtq_push(vq, v->tx_elem->head, 0) < 0) {
                r = -EIO;
                break;
            }
            done++;
        }
    } while (r == 0 && done < VS_BATCH && virtq_enable_notify(vq) &&
             !ring_moves(v, VSOCK_QUEUE_TX, &rounds, done));
    if (r < 0)
        queue_broke(v, VSOCK_QUEUE_TX);
    if (done)
        virtio_notify_used(&v->vdev, VSOCK_QUEUE_TX);
    if (done >= VS_BATCH)
        efd_signal(v->vdev.notify_fd[VSOCK_QUEUE_TX]);     /* more next pass */
}

/* ---- the event queue ---- */

static void event_run(struct vsock_dev *v)
{
    if (!v->event_pending || !queue_usable(v, VSOCK_QUEUE_EVENT))
        return;
    struct virtq *vq = &v->vdev.vqs[VSOCK_QUEUE_EVENT];
    unsigned rounds = 0;
    for (unsigned n = 0; n < vq->size; n++) {   /* bad buffers: a ring's worth at most */
        int r = virtq_pop(vq, v->ev_elem);
        if (r < 0) {
            queue_broke(v, VSOCK_QUEUE_EVENT);
            return;
        }
        if (r == 0) {
            if (virtq_enable_notify(vq) && !ring_moves(v, VSOCK_QUEUE_EVENT, &rounds, n))
                continue;
            return;                     /* sent when the driver posts a buffer */
        }
        struct virtq_elem *e = v->ev_elem;
        if (e->n_out || e->in_len < VSOCK_EVENT_SIZE) {
            CNT_ADD(v->c.rx_bad_buffers, 1);
            if (virtq_push(vq, e->head, 0) < 0)
                queue_broke(v, VSOCK_QUEUE_EVENT);
            continue;
        }
        uint8_t ev[VSOCK_EVENT_SIZE];
        le32_store(ev, VSOCK_EVENT_TRANSPORT_RESET);
        in_write(e, 0, ev, sizeof(ev));
        if (virtq_push(vq, e->head, VSOCK_EVENT_SIZE) < 0) {
            queue_broke(v, VSOCK_QUEUE_EVENT);
            return;
        }
        v->event_pending = false;
        CNT_ADD(v->c.events_sent, 1);
        virtio_notify_used(&v->vdev, VSOCK_QUEUE_EVENT);
        return;
    }
}

/* ---- the loop's fds ---- */

static void on_queue(void *opaque, int fd, uint32_t revents)
{
    struct vsock_dev *v = opaque;
    efd_drain(fd);
    if (fd == v->vdev.notify_fd[VSOCK_QUEUE_TX])
        tx_run(v);
    else if (fd == v->vdev.notify_fd[VSOCK_QUEUE_EVENT])
        event_run(v);
    rx_kick(v);
}

/* The events c's stream should be watched for now. */
static uint32_t conn_events(const struct vconn *c)
{
    uint32_t ev = 0;
    if (c->state == C_LINE)
        ev |= EPOLLIN;
    if (c->state == C_OPEN && !c->readable && !c->host_eof && !c->guest_no_rx)
        ev |= EPOLLIN;
    if (c->state == C_OPEN && c->blen)
        ev |= EPOLLOUT;
    return ev;
}

static void on_conn(void *opaque, int fd, uint32_t revents);

/* Keep c's registration equal to what it waits for (none while paused or
 * after a hang-up, which epoll would report again and again). */
static void conn_watch(struct vconn *c)
{
    struct vsock_dev *v = c->v;
    if (c->fd < 0)
        return;
    uint32_t ev = v->paused || c->hup ? 0 : conn_events(c);
    if (!ev) {
        if (c->registered && evloop_del_fd(v->loop, c->fd) == 0)
            c->registered = false;
        c->watched = 0;
        return;
    }
    if (c->registered && ev == c->watched)
        return;
    int r = c->registered ? evloop_mod_fd(v->loop, c->fd, ev)
                          : evloop_add_fd(v->loop, c->fd, ev, on_conn, c);
    if (r == 0) {
        c->registered = true;
        c->watched = ev;
    }
}

/* A host program's CONNECT line, as far as it has come. */
static void conn_line(struct vconn *c)
{
    struct vsock_dev *v = c->v;
    char peek[VSOCK_CONNECT_MAX];
    ssize_t n = recv(c->fd, peek, sizeof(c->line) - c->linelen, MSG_PEEK | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        conn_free(c);
        return;
    }
    /* take the bytes up to and including a newline, never past it */
    const char *nl = memchr(peek, '\n', (size_t)n);
    size_t take = nl ? (size_t)(nl - peek) + 1 : (size_t)n;
    ssize_t got = recv(c->fd, c->line + c->linelen, take, MSG_DONTWAIT);
    if (got != (ssize_t)take) {
        conn_free(c);
        return;
    }
    c->linelen += take;
    uint32_t port;
    size_t used;
    int r = vsock_connect_parse(c->line, c->linelen, &port, &used);
    if (r == 0)
        return;
    if (r < 0) {
        CNT_ADD(v->c.host_bad_line, 1);
        log_limited(&v->log_host, LOG_DEBUG, "vsock %s: a host program's first line is not "
                    "\"CONNECT <port>\\n\"; closed", v->path);
        conn_free(c);
        return;
    }
    c->state = C_CONNECTING;
    c->lport = alloc_port(v);
    c->pport = port;
    hash_add(c);
    c->pend = PEND_REQUEST;
    c->peer_buf_alloc = 0;              /* no credit until the guest's RESPONSE says */
    conn_watch(c);
    conn_sched(c);
}

static void on_conn(void *opaque, int fd, uint32_t revents)
{
    struct vconn *c = opaque;
    if (c->state == C_LINE) {
        if (revents & EPOLLIN)
            conn_line(c);
        else if (revents & (EPOLLHUP | EPOLLERR))
            conn_free(c);
        return;
    }
    if (revents & (EPOLLHUP | EPOLLERR)) {
        c->hup = true;                  /* what is left to read is read; writes will fail */
        c->readable = !c->host_eof;
        if (c->blen && conn_flush(c) < 0) {
            conn_reset(c);
            return;
        }
        conn_after_flush(c);
        return;
    }
    if (revents & EPOLLIN) {
        c->readable = true;
        conn_watch(c);
        conn_sched(c);
    }
    if (revents & EPOLLOUT) {
        if (conn_flush(c) < 0) {
            conn_reset(c);
            return;
        }
        conn_after_flush(c);
    }
}

/* The 2 s from accept are over: no CONNECT line, or no answer. */
static void on_timeout(void *opaque)
{
    struct vconn *c = opaque;
    if (c->state != C_LINE && c->state != C_CONNECTING)
        return;
    CNT_ADD(c->v->c.host_timeout, 1);
    conn_reset(c);
}

static void lis_watch(struct vsock_dev *v);

static void on_listener(void *opaque, int fd, uint32_t revents)
{
    struct vsock_dev *v = opaque;
    for (int i = 0; i < 64; i++) {
        int s = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (s < 0)
            return;
        CNT_ADD(v->c.host_accepted, 1);
        struct vconn *c = NULL;
        if (v->nconns >= VSOCK_MAX_CONNS) {
            CNT_ADD(v->c.table_full, 1);
        } else if ((c = conn_new(v, s, C_LINE)) &&
                   !(c->timer = evloop_timer_new(v->loop, on_timeout, c))) {
            conn_free(c);               /* closes s */
            continue;
        }
        if (!c) {
            close(s);
            continue;
        }
        evloop_timer_arm_in(c->timer, VSOCK_CONNECT_TIMEOUT_NS);
        conn_watch(c);
    }
}

static void lis_watch(struct vsock_dev *v)
{
    bool want = !v->paused && v->lis.fd >= 0;
    if (want == v->lis_watched)
        return;
    if (want && evloop_add_fd(v->loop, v->lis.fd, EPOLLIN, on_listener, v) == 0)
        v->lis_watched = true;
    else if (!want && evloop_del_fd(v->loop, v->lis.fd) == 0)
        v->lis_watched = false;
}

/* Watch (or stop watching) the queues' notify eventfds. */
static void queues_watch(struct vsock_dev *v)
{
    for (unsigned q = 0; q < 3; q++) {
        int fd = v->vdev.notify_fd[q];
        bool want = v->active && !v->paused && v->vdev.vq_ready[q] && fd >= 0;
        if (want == v->qwatched[q])
            continue;
        if (want && evloop_add_fd(v->loop, fd, EPOLLIN, on_queue, v) == 0)
            v->qwatched[q] = true;
        else if (!want && evloop_del_fd(v->loop, fd) == 0)
            v->qwatched[q] = false;
    }
}

/* ---- device ops (run on the loop) ---- */

/* Drop every connection (host streams closed, nothing sent to the guest). */
static void drop_all(struct vsock_dev *v)
{
    while (v->all)
        conn_free(v->all);
    v->rst_len = v->rst_head = 0;
}

static void do_reset(void *opaque)
{
    struct vsock_dev *v = opaque;
    v->active = false;
    v->paused = false;
    v->event_pending = false;
    drop_all(v);
    queues_watch(v);
    lis_watch(v);
}

struct activate_call { struct vsock_dev *v; int r; };

static void do_activate(void *opaque)
{
    struct activate_call *a = opaque;
    struct vsock_dev *v = a->v;
    if (v->active)
        do_reset(v);
    v->active = true;
    queues_watch(v);
    for (unsigned q = 0; q < 3; q++)
        if (v->vdev.vq_ready[q] && !v->qwatched[q])
            a->r = -EIO;
    if (a->r < 0) {
        do_reset(v);
        return;
    }
    /* what the driver queued already, and the REQUESTs of host programs
     * that connected before it came */
    tx_run(v);
    rx_run(v);
}

static void do_quiesce(void *opaque)
{
    struct vsock_dev *v = opaque;
    v->paused = true;
    queues_watch(v);
    lis_watch(v);
    for (struct vconn *c = v->all; c; c = c->all_next)
        conn_watch(c);
}

static void do_resume(void *opaque)
{
    struct vsock_dev *v = opaque;
    v->paused = false;
    queues_watch(v);
    lis_watch(v);
    for (struct vconn *c = v->all; c; c = c->all_next)
        conn_watch(c);
    /* whatever came while paused */
    for (unsigned q = 0; q < 3; q++)
        if (v->qwatched[q])
            efd_signal(v->vdev.notify_fd[q]);
    rx_kick(v);
}

struct treset_call { struct vsock_dev *v; int r; };

static void do_transport_reset(void *opaque)
{
    struct treset_call *a = opaque;
    struct vsock_dev *v = a->v;
    if (!v->active) {
        a->r = -ENODEV;
        return;
    }
    drop_all(v);
    v->event_pending = true;
    event_run(v);
}

static int vsock_activate(struct virtio_dev *d)
{
    struct activate_call a = { .v = d->priv };
    int r = evloop_call_sync(a.v->loop, do_activate, &a);
    return r < 0 ? r : a.r;
}

static void vsock_reset(struct virtio_dev *d)
{
    struct vsock_dev *v = d->priv;
    if (evloop_call_sync(v->loop, do_reset, v) < 0)
        log_err("vsock: cannot reach the device's loop to reset it");
}

static void vsock_quiesce(struct virtio_dev *d)
{
    struct vsock_dev *v = d->priv;
    evloop_call_sync(v->loop, do_quiesce, v);
}

static void vsock_resume(struct virtio_dev *d)
{
    struct vsock_dev *v = d->priv;
    evloop_call_sync(v->loop, do_resume, v);
}

int virtio_vsock_transport_reset(struct virtio_dev *d)
{
    struct treset_call a = { .v = d->priv };
    int r = evloop_call_sync(a.v->loop, do_transport_reset, &a);
    return r < 0 ? r : a.r;
}

static void vsock_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
    struct vsock_dev *v = d->priv;
    if (off > sizeof(v->config) || len > sizeof(v->config) - off) {
        memset(data, 0, len);
        return;
    }
    memcpy(data, v->config + off, len);
}

static void vsock_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
                               uint32_t len)
{
    /* guest_cid is read-only */
}

static void vsock_free(struct vsock_dev *v)
{
    if (v->loop) {
        evloop_stop(v->loop);
        /* not running now: the loop's calls are safe on this thread */
        v->active = false;
        drop_all(v);
        v->paused = true;               /* nothing watched any more */
        queues_watch(v);
        lis_watch(v);
        if (v->hook)
            evloop_hook_del(v->loop, v->hook);
        evloop_destroy(v->loop);
    }
    usock_close(&v->lis);
    free(v->rx_elem);
    free(v->tx_elem);
    free(v->ev_elem);
    free(v->iov);
    free(v);
}

static void vsock_destroy(struct virtio_dev *d)
{
    if (d->priv)
        vsock_free(d->priv);
}

static const struct virtio_dev_ops vsock_ops = {
    .name = "virtio-vsock",
    .device_id = VIRTIO_ID_VSOCK,
    .config_read = vsock_config_read,
    .config_write = vsock_config_write,
    .activate = vsock_activate,
    .reset = vsock_reset,
    .destroy = vsock_destroy,
    .quiesce = vsock_quiesce,
    .resume = vsock_resume,
};

int virtio_vsock_create(const struct virtio_vsock_cfg *cfg, const struct guest_mem *mem,
                        struct virtio_dev **out, char *err, size_t errlen)
{
    *out = NULL;
    if (cfg->guest_cid < VSOCK_MIN_GUEST_CID || cfg->guest_cid >= 0xffffffffu) {
        snprintf(err, errlen, "vsock: guest CID %llu is out of range (3..4294967294)",
                 (unsigned long long)cfg->guest_cid);
        return -EINVAL;
    }
    if (!cfg->uds_path) {
        snprintf(err, errlen, "vsock: no uds path given");
        return -EINVAL;
    }
    struct vsock_dev *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "vsock: out of memory");
        return -ENOMEM;
    }
    v->lis.fd = -1;
    v->cid = cfg->guest_cid;
    v->next_port = VSOCK_HOST_PORT_FIRST;
    /* room for "_<port>" after the path in sun_path (108 bytes) */
    int r = usock_listen(&v->lis, "vsock uds", cfg->uds_path, sizeof(v->path) - 12,
                         VSOCK_MAX_CONNS, err, errlen);
    if (r < 0) {
        free(v);
        return r;
    }
    snprintf(v->path, sizeof(v->path), "%s", cfg->uds_path);
    v->rx_elem = malloc(sizeof(*v->rx_elem));
    v->tx_elem = malloc(sizeof(*v->tx_elem));
    v->ev_elem = malloc(sizeof(*v->ev_elem));
    v->iov = malloc(VIRTQ_MAX_IOV * sizeof(*v->iov));
    if (!v->rx_elem || !v->tx_elem || !v->ev_elem || !v->iov) {
        r = -ENOMEM;
        snprintf(err, errlen, "vsock: out of memory");
        goto fail;
    }
    if ((r = evloop_create(&v->loop)) < 0 ||
        (!(v->hook = evloop_hook_add(v->loop, NULL, loop_check, v)) && (r = -ENOMEM))) {
        snprintf(err, errlen, "vsock: event loop: %s", strerror(-r));
        goto fail;
    }
    lis_watch(v);
    le64_store(v->config, v->cid);

    struct virtio_dev *d = &v->vdev;
    d->ops = &vsock_ops;
    d->priv = v;
    d->mem = mem;
    d->device_features = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX;
    d->num_queues = 3;
    d->queue_max = VIRTIO_VSOCK_QUEUE_MAX;
    d->config_size = VIRTIO_VSOCK_CONFIG_SIZE;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        d->notify_fd[i] = -1;
    if ((r = evloop_start(v->loop, "vsock")) < 0) {
        snprintf(err, errlen, "vsock: cannot start its thread: %s", strerror(-r));
        goto fail;
    }
    *out = d;
    return 0;
fail:
    vsock_free(v);
    return r;
}

void virtio_vsock_get_stats(struct virtio_dev *d, struct virtio_vsock_stats *st)
{
    struct vsock_dev *v = d->priv;
    struct vs_counters *c = &v->c;
    memset(st, 0, sizeof(*st));
    st->tx_pkts = atomic_load(&c->tx_pkts);
    st->rx_pkts = atomic_load(&c->rx_pkts);
    st->tx_bytes = atomic_load(&c->tx_bytes);
    st->rx_bytes = atomic_load(&c->rx_bytes);
    for (unsigned i = 0; i < VSOCK_TX_VERDICTS; i++)
        st->tx_dropped[i] = atomic_load(&c->tx_dropped[i]);
    st->rst_sent = atomic_load(&c->rst_sent);
    st->rst_dropped = atomic_load(&c->rst_dropped);
    st->unknown_conn = atomic_load(&c->unknown_conn);
    st->credit_overrun = atomic_load(&c->credit_overrun);
    st->rx_bad_buffers = atomic_load(&c->rx_bad_buffers);
    st->host_accepted = atomic_load(&c->host_accepted);
    st->host_connected = atomic_load(&c->host_connected);
    st->host_bad_line = atomic_load(&c->host_bad_line);
    st->host_timeout = atomic_load(&c->host_timeout);
    st->host_refused = atomic_load(&c->host_refused);
    st->guest_connected = atomic_load(&c->guest_connected);
    st->guest_connect_failed = atomic_load(&c->guest_connect_failed);
    st->table_full = atomic_load(&c->table_full);
    st->conns = atomic_load(&c->conns);
    st->events_sent = atomic_load(&c->events_sent);
}
