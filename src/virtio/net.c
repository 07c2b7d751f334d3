/* virtio-net: one worker thread per queue pair.
 *
 * Queues: receiveq_k = 2k, transmitq_k = 2k + 1 (k < max pairs), and the
 * control queue at 2 * max pairs with MQ negotiated, else at 2 (virtio
 * 1.2 section 5.1.2). Pair k's worker polls its RX and TX notify eventfds,
 * a stop/wake eventfd and backend channel k's fd; pair 0's worker also
 * serves the control queue. A worker takes at most NET_BATCH frames per
 * direction per pass, interrupts the driver once per batch
 * (virtio_notify_used after the batch, which honours EVENT_IDX), and polls
 * again without waiting while work is left, so RX and TX share the thread
 * fairly.
 *
 * RX: a frame is read with one readv straight into guest buffers, a
 * bounce buffer behind them for what does not fit. Without MRG_RXBUF that
 * is the one buffer the driver posted (a frame larger than it is dropped
 * and the buffer kept for the next frame). With MRG_RXBUF the worker pops
 * buffers ahead until they can take a largest frame (at most
 * NET_HELD_MAX), so a frame lands in place whatever its size; the buffers
 * it filled are published at once (virtq_push_batch: the driver never sees
 * part of a frame), num_buffers set in the first, and the rest stay held
 * for the next frame. Only when the ring had too few buffers does the
 * overflow get copied into further buffers; when there are none yet the
 * frame waits, pending, for the driver to add more (dropped only when the
 * device holds the whole ring, which no driver can refill). With no
 * buffers the worker stops reading the backend (its queue then fills and
 * drops, as a NIC's does) until the driver adds some.
 *
 * TX: each chain is checked by virtio_net_tx_parse (net_hdr.c); a
 * malformed one is returned unsent and counted by reason (a debug-level
 * line, rate-limited, says which). A good one is written to the backend as
 * the checked copy of its header plus the frame in guest memory. A full
 * backend (-EAGAIN) keeps the chain and waits for POLLOUT.
 *
 * Pause (quiesce): each worker stops between frames and is joined; held
 * RX buffers and a held TX chain are put back on their rings (virtq_unpop:
 * they are always the newest pops, in order), so nothing the guest posted
 * is lost (a received frame still waiting for buffers is: the one frame a
 * pause may drop) and nothing of the guest's is touched until resume.
 * Reset: the same, and the rings are forgotten.
 *
 * Why threads, not the VM's event loop (base/evloop.h): as for blk, a
 * queue pair's worker is busy with one tap fd and two notifies, and a
 * thread per pair is what lets multi-queue scale with vCPUs. */
#include "virtio/net.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/le.h"
#include "base/log.h"

#define NET_BATCH    64                  /* frames per direction per pass (and per interrupt) */
#define NET_BOUNCE   (VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME + 64)
#define NET_HELD_MAX 64                  /* mergeable RX buffers popped ahead, at most */

struct net_dev;

struct net_pair {
    struct net_dev *n;
    unsigned idx;
    bool started;
    pthread_t thread;
    int stop_fd;                         /* stop (atomic stop set) or re-read the pair count */
    atomic_bool stop;
    struct virtq_elem *rx_elem, *rx_more, *tx_elem;
    bool rx_held, tx_held;               /* popped, not pushed */
    bool rx_nobuf;                       /* ring empty: wait for the driver's RX notify */
    uint32_t rx_pending;                 /* a frame of this length waits for buffers (mergeable) */
    bool tx_blocked;                     /* backend full: wait for POLLOUT */
    bool backend_dead;                   /* the fd reported an error: stop polling it */
    uint8_t tx_hdr[VIRTIO_NET_HDR_SIZE];
    uint8_t *bounce;                     /* NET_BOUNCE bytes: RX overflow (kept while a frame is pending) */
    uint8_t *tx_bounce;                  /* NET_BOUNCE bytes: a TX frame of too many pieces */
    struct iovec *iov;                   /* VIRTQ_MAX_IOV + 2 */
    uint16_t heads[VIRTQ_MAX_SIZE];
    uint32_t lens[VIRTQ_MAX_SIZE];
    /* Mergeable RX: buffers popped ahead (oldest first), enough for a
     * largest frame when the ring has them, read into with one readv. */
    unsigned nheld;
    uint32_t held_total;                 /* their bytes */
    unsigned held_niov;                  /* their iovecs in held_iov */
    struct net_held { uint16_t head, iov0, niov; uint32_t len; } held[NET_HELD_MAX];
    struct iovec *held_iov;              /* IOV_MAX */
};

struct net_counters {
    atomic_uint_least64_t tx_frames, tx_bytes, tx_errors, tx_dropped[VIRTIO_NET_TX_VERDICTS];
    atomic_uint_least64_t rx_frames, rx_bytes, rx_too_big, rx_no_buffers, rx_bad_buffers, rx_errors;
    atomic_uint_least64_t ctrl_ok, ctrl_err;
};

struct net_dev {
    struct virtio_dev vdev;
    struct net_backend *be;
    uint8_t config[VIRTIO_NET_CONFIG_SIZE];
    unsigned max_pairs;
    atomic_uint pairs;                   /* in use: 1..max_pairs */
    bool active;
    struct net_counters c;
    /* rate limits, one per kind of guest-caused line */
    struct log_limit log_tx[VIRTIO_NET_TX_VERDICTS], log_rx, log_ctrl, log_backend;
    struct net_pair p[VIRTIO_NET_MAX_PAIRS];
    bool paused[VIRTIO_NET_MAX_PAIRS];
};

#define CNT_ADD(var, v) atomic_fetch_add_explicit(&(var), (v), memory_order_relaxed)

/* The control queue's index: after every pair with MQ, else 2. */
static unsigned ctrl_queue(const struct net_dev *n)
{
    return virtio_has_feature(&n->vdev, VIRTIO_NET_F_MQ) ? 2 * n->max_pairs : 2;
}

/* Queue q exists, the driver enabled it and it is not broken. */
static bool queue_usable(struct net_dev *n, unsigned q)
{
    return q < n->vdev.num_queues && n->vdev.vq_ready[q] && !n->vdev.vqs[q].broken;
}

/* A ring broke under us: the transport logs it and sets NEEDS_RESET. */
static void queue_broke(struct net_dev *n, unsigned q)
{
    virtio_needs_reset(&n->vdev, n->vdev.vqs[q].error);
}

/* Has the thread stopping the pair (pause, reset) asked it to end? */
static bool stopping(struct net_pair *p)
{
    return atomic_load_explicit(&p->stop, memory_order_acquire);
}

/* ---- TX ---- */

/* Send (or drop) one chain. 1 done, 0 ring empty, -EAGAIN backend full
 * (chain kept), -EIO ring broken. */
static int tx_one(struct net_pair *p, unsigned q)
{
    struct net_dev *n = p->n;
    struct virtq *vq = &n->vdev.vqs[q];
    if (!p->tx_held) {
        int r = virtq_pop(vq, p->tx_elem);
        if (r <= 0)
            return r < 0 ? -EIO : 0;
        p->tx_held = true;
    }
    int niov;
    uint32_t flen;
    enum virtio_net_tx_verdict v = virtio_net_tx_parse(p->tx_elem, n->vdev.driver_features,
                                                       p->tx_hdr, p->iov, &niov, &flen);
    if (v != VIRTIO_NET_TX_OK) {
        uint64_t k = CNT_ADD(n->c.tx_dropped[v], 1) + 1;
        log_limited(&n->log_tx[v], LOG_DEBUG,
                    "net %s: guest TX chain of %u bytes dropped (%s); %llu dropped so far for this",
                    n->be->name, p->tx_elem->out_len + p->tx_elem->in_len,
                    virtio_net_tx_verdict_name(v), (unsigned long long)k);
    } else {
        if (niov > IOV_MAX) {       /* too many pieces for writev: one copy */
            virtio_net_iov_read(p->iov + 1, niov - 1, 0, p->tx_bounce, flen);
            p->iov[1].iov_base = p->tx_bounce;
            p->iov[1].iov_len = flen;
            niov = 2;
        }
        ssize_t w = n->be->ops->writev(n->be, p->idx, p->iov, niov);
        if (w == -EAGAIN) {
            p->tx_blocked = true;
            return -EAGAIN;
        }
        if (w < 0) {
            CNT_ADD(n->c.tx_errors, 1);
            log_warn_limited(&n->log_backend, "net %s: sending a frame of %u bytes failed: %s",
                             n->be->name, flen, strerror((int)-w));
        } else {
            CNT_ADD(n->c.tx_frames, 1);
            CNT_ADD(n->c.tx_bytes, flen);
        }
    }
    p->tx_held = false;
    return virtq_push(vq, p->tx_elem->head, 0) < 0 ? -EIO : 1;
}

/* Send what the driver queued, up to a batch. True if more may be left. */
static bool tx_run(struct net_pair *p)
{
    struct net_dev *n = p->n;
    unsigned q = 2 * p->idx + 1;
    if (!queue_usable(n, q))
        return false;
    struct virtq *vq = &n->vdev.vqs[q];
    p->tx_blocked = false;
    unsigned done = 0;
    bool more = false;
    int r = 0;
    for (;;) {
        virtq_disable_notify(vq);
        while (done < NET_BATCH && !stopping(p) && (r = tx_one(p, q)) == 1)
            done++;
        if (done >= NET_BATCH || stopping(p)) {
            more = done >= NET_BATCH;
            break;
        }
        if (r < 0 || !virtq_enable_notify(vq))
            break;
    }
    if (r == -EIO)
        queue_broke(n, q);
    if (done)
        virtio_notify_used(&n->vdev, q);
    return more;
}

/* ---- RX ---- */

/* Pop an RX buffer into e: 1, 0 none, -EIO broken. Buffers a driver must
 * not give (readable parts, shorter than the header, too many pieces)
 * are counted; as the first buffer of a frame each goes back empty and the
 * next is tried; inside a frame (!first) it is left to the caller: 2. */
static int rx_pop(struct net_pair *p, struct virtq *vq, struct virtq_elem *e, bool first)
{
    struct net_dev *n = p->n;
    for (;;) {
        int r = virtq_pop(vq, e);
        if (r <= 0)
            return r < 0 ? -EIO : 0;
        if (e->n_out == 0 && e->in_len >= VIRTIO_NET_HDR_SIZE && e->n_in < IOV_MAX)
            return 1;                       /* (one iovec is left for the bounce buffer) */
        CNT_ADD(n->c.rx_bad_buffers, 1);
        log_guest_limited(&n->log_rx, "net %s: RX buffer of %u writable bytes in %u pieces, "
                          "%u readable, refused", n->be->name, e->in_len, e->n_in, e->out_len);
        if (!first)
            return 2;
        if (virtq_push(vq, e->head, 0) < 0)
            return -EIO;
    }
}

/* Mergeable RX: return every held buffer and `extra` more (heads and
 * lens from p->heads[nheld..]) empty, in one batch: a frame is lost. */
static int rx_return_all(struct net_pair *p, struct virtq *vq, unsigned extra)
{
    for (unsigned i = 0; i < p->nheld; i++)
        p->heads[i] = p->held[i].head;
    for (unsigned i = 0; i < p->nheld + extra; i++)
        p->lens[i] = 0;
    unsigned nb = p->nheld + extra;
    p->nheld = p->held_niov = 0;
    p->held_total = 0;
    return nb && virtq_push_batch(vq, p->heads, p->lens, nb) < 0 ? -EIO : 0;
}

/* Mergeable RX: pop buffers ahead until the held ones can take a largest
 * frame (or the ring, NET_HELD_MAX or IOV_MAX runs out). A bad buffer
 * returns it and every held one empty (nothing held is then popped out of
 * order, so a pause can put the held ones back). 1 something held, 0 none
 * (guest notifications are on), -EIO broken. */
static int rx_gather(struct net_pair *p, struct virtq *vq)
{
    struct net_dev *n = p->n;
    while (p->held_total < VIRTIO_NET_HDR_SIZE + VIRTIO_NET_MAX_FRAME && p->nheld < NET_HELD_MAX) {
        struct virtq_elem *e = p->rx_more;
        int r = virtq_pop(vq, e);
        if (r < 0)
            return -EIO;
        if (r == 0) {
            if (p->nheld == 0 && virtq_enable_notify(vq))
                continue;
            break;
        }
        if (e->n_out || e->in_len < VIRTIO_NET_HDR_SIZE || e->n_in >= IOV_MAX) {
            CNT_ADD(n->c.rx_bad_buffers, 1);
            log_guest_limited(&n->log_rx, "net %s: RX buffer of %u writable bytes in %u pieces, "
                              "%u readable, refused", n->be->name, e->in_len, e->n_in, e->out_len);
            p->heads[p->nheld] = e->head;
            if (rx_return_all(p, vq, 1) < 0)
                return -EIO;
            continue;
        }
        if (p->held_niov + e->n_in > IOV_MAX - 1) {
            virtq_unpop(vq, 1);             /* next time */
            break;
        }
        struct net_held *h = &p->held[p->nheld++];
        h->head = e->head;
        h->iov0 = (uint16_t)p->held_niov;
        h->niov = e->n_in;
        h->len = e->in_len;
        memcpy(p->held_iov + p->held_niov, e->iov, e->n_in * sizeof(struct iovec));
        p->held_niov += e->n_in;
        p->held_total += e->in_len;
    }
    if (p->nheld)
        virtq_disable_notify(vq);
    return p->nheld > 0;
}

/* Mergeable RX: publish a frame of len bytes read into the held buffers
 * (num_buffers set in the first) and keep the rest held for the next. */
static int rx_publish_held(struct net_pair *p, struct virtq *vq, uint32_t len)
{
    unsigned m = 0;
    uint32_t left = len;
    while (left) {
        uint32_t k = left < p->held[m].len ? left : p->held[m].len;
        p->heads[m] = p->held[m].head;
        p->lens[m] = k;
        left -= k;
        m++;
    }
    uint8_t nbuf[2];
    le16_store(nbuf, (uint16_t)m);
    virtio_net_iov_write(p->held_iov + p->held[0].iov0, p->held[0].niov,
                         VIRTIO_NET_HDR_NUM_BUFFERS, nbuf, 2);
    if (virtq_push_batch(vq, p->heads, p->lens, m) < 0)
        return -EIO;
    unsigned iov_used = m < p->nheld ? p->held[m].iov0 : p->held_niov;
    for (unsigned i = 0; i < m; i++)
        p->held_total -= p->held[i].len;
    p->nheld -= m;
    p->held_niov -= iov_used;
    memmove(p->held, p->held + m, p->nheld * sizeof(p->held[0]));
    memmove(p->held_iov, p->held_iov + iov_used, p->held_niov * sizeof(struct iovec));
    for (unsigned i = 0; i < p->nheld; i++)
        p->held[i].iov0 = (uint16_t)(p->held[i].iov0 - iov_used);
    return 0;
}

/* Mergeable RX: a frame filled every held buffer and `rest` more bytes
 * wait at p->bounce: spread them over further buffers and publish all at
 * once. 1 done; -EAGAIN not enough buffers yet (the extra ones are put
 * back, the frame stays pending and the worker waits for the driver's RX
 * notify); 0 dropped (the device holds the whole ring, which no driver can
 * refill -- the held buffers are kept -- or a bad buffer came up: then
 * every buffer popped goes back empty); -EIO broken. */
static int rx_merge(struct net_pair *p, struct virtq *vq, uint32_t rest)
{
    struct net_dev *n = p->n;
    unsigned nb = p->nheld;
    uint32_t off = 0;
    for (unsigned i = 0; i < nb; i++) {
        p->heads[i] = p->held[i].head;
        p->lens[i] = p->held[i].len;
    }
    while (off < rest) {
        int r = nb < vq->size ? rx_pop(p, vq, p->rx_more, false) : 0;
        if (r == 0 && nb < vq->size && virtq_enable_notify(vq))
            r = rx_pop(p, vq, p->rx_more, false);
        if (r < 0)
            return -EIO;
        if (r == 2) {
            p->heads[nb] = p->rx_more->head;
            virtq_disable_notify(vq);
            return rx_return_all(p, vq, nb - p->nheld + 1) < 0 ? -EIO : 0;
        }
        if (r == 0) {
            uint16_t held = (uint16_t)(vq->last_avail - vq->used_idx);
            virtq_unpop(vq, nb - p->nheld);
            if (held >= vq->size) {
                CNT_ADD(n->c.rx_no_buffers, 1);
                return 0;
            }
            p->rx_nobuf = true;
            return -EAGAIN;
        }
        struct virtq_elem *e = p->rx_more;
        uint32_t k = rest - off < e->in_len ? rest - off : e->in_len;
        virtio_net_iov_write(e->iov, e->n_in, 0, p->bounce + off, k);
        p->heads[nb] = e->head;
        p->lens[nb] = k;
        nb++;
        off += k;
    }
    virtq_disable_notify(vq);
    uint8_t nbuf[2];
    le16_store(nbuf, (uint16_t)nb);
    virtio_net_iov_write(p->held_iov + p->held[0].iov0, p->held[0].niov,
                         VIRTIO_NET_HDR_NUM_BUFFERS, nbuf, 2);
    p->nheld = p->held_niov = 0;
    p->held_total = 0;
    return virtq_push_batch(vq, p->heads, p->lens, nb) < 0 ? -EIO : 1;
}

/* Mergeable RX: up to a batch of frames. True if more may be waiting. */
static bool rx_run_mrg(struct net_pair *p, struct virtq *vq, unsigned q)
{
    struct net_dev *n = p->n;
    unsigned done = 0;
    bool more = false;
    int r = 0;
    /* the pair count is re-read per frame: once the driver has lowered
     * it, this pair delivers at most the frame it was placing */
    while (!stopping(p) && p->idx < atomic_load(&n->pairs)) {
        if (done >= NET_BATCH) {
            more = true;
            break;
        }
        ssize_t k;
        if (p->rx_pending) {            /* a frame waiting for more buffers */
            k = p->rx_pending;
            r = rx_merge(p, vq, (uint32_t)(k - p->held_total));
            if (r == -EAGAIN || r == -EIO)
                break;
            p->rx_pending = 0;
        } else {
            r = rx_gather(p, vq);
            if (r <= 0) {
                p->rx_nobuf = r == 0;
                break;
            }
            memcpy(p->iov, p->held_iov, p->held_niov * sizeof(struct iovec));
            p->iov[p->held_niov].iov_base = p->bounce;
            p->iov[p->held_niov].iov_len = NET_BOUNCE;
            k = n->be->ops->readv(n->be, p->idx, p->iov, (int)p->held_niov + 1);
            if (k == -EAGAIN)
                break;
            if (k < 0) {
                CNT_ADD(n->c.rx_errors, 1);
                p->backend_dead = true;
                log_warn_limited(&n->log_backend, "net %s: receiving on queue %u failed: %s; "
                                 "it carries no more frames", n->be->name, p->idx,
                                 strerror((int)-k));
                break;
            }
            if ((size_t)k < VIRTIO_NET_HDR_SIZE) {
                CNT_ADD(n->c.rx_errors, 1);
                continue;
            }
            if ((uint64_t)k <= p->held_total) {
                r = rx_publish_held(p, vq, (uint32_t)k) < 0 ? -EIO : 1;
            } else {
                r = rx_merge(p, vq, (uint32_t)(k - p->held_total));
                if (r == -EAGAIN) {
                    p->rx_pending = (uint32_t)k;
                    break;
                }
            }
            if (r < 0)
                break;
        }
        if (r == 0)
            continue;                       /* dropped */
        CNT_ADD(n->c.rx_frames, 1);
        CNT_ADD(n->c.rx_bytes, (uint64_t)k - VIRTIO_NET_HDR_SIZE);
        done++;
    }
    if (r == -EIO) {
        p->nheld = p->held_niov = 0;
        p->held_total = 0;
        p->rx_pending = 0;
        queue_broke(n, q);
    }
    if (done)
        virtio_notify_used(&n->vdev, q);
    return more;
}

/* Receive up to a batch of frames. True if more may be waiting. */
static bool rx_run(struct net_pair *p)
{
    struct net_dev *n = p->n;
    unsigned q = 2 * p->idx;
    if (p->idx >= atomic_load(&n->pairs) || !queue_usable(n, q) || p->backend_dead)
        return false;
    struct virtq *vq = &n->vdev.vqs[q];
    if (virtio_has_feature(&n->vdev, VIRTIO_NET_F_MRG_RXBUF))
        return rx_run_mrg(p, vq, q);
    unsigned done = 0;
    bool more = false;
    int r = 0;
    /* the pair count is re-read per frame: once the driver has lowered
     * it, this pair delivers at most the frame it was placing */
    while (!stopping(p) && p->idx < atomic_load(&n->pairs)) {
        if (done >= NET_BATCH) {
            more = true;
            break;
        }
        if (!p->rx_held) {
            r = rx_pop(p, vq, p->rx_elem, true);
            if (r == 0 && virtq_enable_notify(vq))
                continue;                   /* buffers came meanwhile */
            if (r <= 0) {
                p->rx_nobuf = r == 0;
                break;
            }
            virtq_disable_notify(vq);
            p->rx_held = true;
        }
        struct virtq_elem *e = p->rx_elem;
        memcpy(p->iov, e->iov, e->n_in * sizeof(struct iovec));
        p->iov[e->n_in].iov_base = p->bounce;
        p->iov[e->n_in].iov_len = NET_BOUNCE;
        ssize_t k = n->be->ops->readv(n->be, p->idx, p->iov, e->n_in + 1);
        if (k == -EAGAIN)
            break;
        if (k < 0) {
            /* not a passing state (the frame would be read again at once):
             * stop reading this channel until the pair count changes */
            CNT_ADD(n->c.rx_errors, 1);
            p->backend_dead = true;
            log_warn_limited(&n->log_backend, "net %s: receiving on queue %u failed: %s; "
                             "it carries no more frames", n->be->name, p->idx, strerror((int)-k));
            break;
        }
        if ((size_t)k < VIRTIO_NET_HDR_SIZE) {
            CNT_ADD(n->c.rx_errors, 1);
            continue;                       /* not even a header: the buffer is reused */
        }
        if ((uint64_t)k > e->in_len) {
            CNT_ADD(n->c.rx_too_big, 1);
            continue;                       /* the buffer is kept for the next frame */
        } else {
            uint8_t one[2];
            le16_store(one, 1);
            virtio_net_iov_write(e->iov, e->n_in, VIRTIO_NET_HDR_NUM_BUFFERS, one, 2);
            if (virtq_push(vq, e->head, (uint32_t)k) < 0) {
                r = -EIO;
                break;
            }
        }
        p->rx_held = false;
        CNT_ADD(n->c.rx_frames, 1);
        CNT_ADD(n->c.rx_bytes, (uint64_t)k - VIRTIO_NET_HDR_SIZE);
        done++;
    }
    if (r == -EIO) {
        p->rx_held = false;
        queue_broke(n, q);
    }
    if (done)
        virtio_notify_used(&n->vdev, q);
    return more;
}

/* ---- control queue (pair 0's worker) ---- */

/* Use the first `pairs` queue pairs: channels are attached before their
 * workers are told to read them and detached after they were told to
 * stop, so no worker reads a channel the backend has switched off (a
 * detached tap queue just reads EAGAIN today; another backend may fail). */
static void set_pairs(struct net_dev *n, unsigned pairs)
{
    unsigned old = atomic_load(&n->pairs);
    if (n->be->ops->set_queue_enabled)
        for (unsigned i = 0; i < n->max_pairs; i++)
            if (i < pairs)
                n->be->ops->set_queue_enabled(n->be, i, true);
    atomic_store(&n->pairs, pairs);
    for (unsigned i = 1; i < n->max_pairs; i++)
        if (n->p[i].started && (i < old) != (i < pairs))
            efd_signal(n->p[i].stop_fd);    /* re-read the pair count */
    if (n->be->ops->set_queue_enabled)
        for (unsigned i = pairs; i < n->max_pairs; i++)
            n->be->ops->set_queue_enabled(n->be, i, false);
}

/* Answer every control command queued (pair 0's worker only): ack OK for
 * an accepted VQ_PAIRS_SET (then the pair count changes), ERR for the
 * rest; one interrupt after the batch. */
static void ctrl_run(struct net_pair *p)
{
    struct net_dev *n = p->n;
    unsigned q = ctrl_queue(n);
    if (p->idx != 0 || !virtio_has_feature(&n->vdev, VIRTIO_NET_F_CTRL_VQ) || !queue_usable(n, q))
        return;
    struct virtq *vq = &n->vdev.vqs[q];
    unsigned done = 0;
    int r = 0;
    do {
        virtq_disable_notify(vq);
        while (!stopping(p) && (r = virtq_pop(vq, p->rx_more)) == 1) {
            struct virtio_net_ctrl c;
            uint8_t ack = virtio_net_ctrl_parse(p->rx_more, n->vdev.driver_features,
                                                (uint16_t)n->max_pairs, &c);
            if (ack == VIRTIO_NET_OK) {
                CNT_ADD(n->c.ctrl_ok, 1);
                set_pairs(n, c.pairs);
            } else {
                CNT_ADD(n->c.ctrl_err, 1);
                log_limited(&n->log_ctrl, LOG_DEBUG,
                            "net %s: control command class %u command %u refused",
                            n->be->name, c.cls, c.cmd);
            }
            if (c.ack)
                *c.ack = ack;
            if (virtq_push(vq, p->rx_more->head, c.ack ? 1 : 0) < 0) {
                r = -EIO;
                break;
            }
            done++;
        }
    } while (r == 0 && !stopping(p) && virtq_enable_notify(vq));
    if (r < 0)
        queue_broke(n, q);
    if (done)
        virtio_notify_used(&n->vdev, q);
}

/* ---- the worker ---- */

/* Pair p's thread ("net-qN"): RX, TX (and, for pair 0, the control
 * queue) until p->stop; what it holds then goes back on its rings. */
static void *worker(void *arg)
{
    struct net_pair *p = arg;
    struct net_dev *n = p->n;
    struct virtio_dev *d = &n->vdev;
    unsigned rxq = 2 * p->idx, txq = rxq + 1, cq = ctrl_queue(n);
    int be_fd = n->be->fd[p->idx];
    bool more = true;
    p->rx_nobuf = false;
    while (!stopping(p)) {
        if (more) {
            more = false;
            more |= tx_run(p);
            more |= rx_run(p);
            ctrl_run(p);
        }
        struct pollfd f[5];
        int nf = 0, i_stop, i_rx = -1, i_tx = -1, i_be = -1, i_ctrl = -1;
        i_stop = nf;
        f[nf++] = (struct pollfd){ .fd = p->stop_fd, .events = POLLIN };
        if (rxq < d->num_queues && d->vq_ready[rxq]) {
            i_rx = nf;
            f[nf++] = (struct pollfd){ .fd = d->notify_fd[rxq], .events = POLLIN };
        }
        if (txq < d->num_queues && d->vq_ready[txq]) {
            i_tx = nf;
            f[nf++] = (struct pollfd){ .fd = d->notify_fd[txq], .events = POLLIN };
        }
        short ev = 0;
        if (!p->backend_dead && !p->rx_nobuf && p->idx < atomic_load(&n->pairs) &&
            queue_usable(n, rxq))
            ev |= POLLIN;
        if (p->tx_blocked && !p->backend_dead)
            ev |= POLLOUT;
        if (ev) {
            i_be = nf;
            f[nf++] = (struct pollfd){ .fd = be_fd, .events = ev };
        }
        if (p->idx == 0 && cq < d->num_queues && d->vq_ready[cq]) {
            i_ctrl = nf;
            f[nf++] = (struct pollfd){ .fd = d->notify_fd[cq], .events = POLLIN };
        }
        if (poll(f, (nfds_t)nf, more ? 0 : -1) < 0)
            continue;                       /* EINTR */
        if (f[i_stop].revents) {
            efd_drain(p->stop_fd);
            p->backend_dead = false;        /* the pair count changed: try the channel again */
            more = true;
        }
        if (i_tx >= 0 && f[i_tx].revents) {
            efd_drain(f[i_tx].fd);
            more = true;
        }
        if (i_rx >= 0 && f[i_rx].revents) {
            efd_drain(f[i_rx].fd);
            p->rx_nobuf = false;
            more = true;
        }
        if (i_ctrl >= 0 && f[i_ctrl].revents) {
            efd_drain(f[i_ctrl].fd);
            more = true;
        }
        if (i_be >= 0 && f[i_be].revents) {
            if (f[i_be].revents & (POLLERR | POLLHUP | POLLNVAL)) {
                p->backend_dead = true;
                log_warn_limited(&n->log_backend, "net %s: queue %u's channel failed; "
                                 "it carries no more frames", n->be->name, p->idx);
            }
            more = true;
        }
    }
    /* Stopping: what is held goes back on its ring (a pause loses
     * nothing; after a reset the rings are forgotten anyway). */
    if (p->rx_held)
        virtq_unpop(&d->vqs[rxq], 1);
    if (p->nheld)
        virtq_unpop(&d->vqs[rxq], p->nheld);   /* mergeable: the newest pops, in order */
    p->nheld = 0;
    if (p->tx_held)
        virtq_unpop(&d->vqs[txq], 1);
    p->rx_held = p->tx_held = false;
    return NULL;
}

/* ---- device ops ---- */

/* Free a stopped pair's buffers and fds. */
static void pair_free(struct net_pair *p)
{
    free(p->rx_elem);
    free(p->rx_more);
    free(p->tx_elem);
    free(p->bounce);
    free(p->tx_bounce);
    free(p->held_iov);
    free(p->iov);
    if (p->stop_fd >= 0)
        close(p->stop_fd);
    p->rx_elem = p->rx_more = p->tx_elem = NULL;
    p->bounce = p->tx_bounce = NULL;
    p->held_iov = NULL;
    p->iov = NULL;
    p->stop_fd = -1;
    p->started = false;
}

/* Ask the pair's worker to stop and join it (no-op if not running).
 * Called by the thread that resets or pauses the device. */
static void pair_stop(struct net_pair *p)
{
    if (!p->started)
        return;
    atomic_store_explicit(&p->stop, true, memory_order_release);
    efd_signal(p->stop_fd);
    pthread_join(p->thread, NULL);
    p->started = false;
}

/* Allocate pair i's buffers and start its worker (all signals blocked).
 * 0 or -errno (the caller frees what was made). */
static int pair_start(struct net_dev *n, unsigned i)
{
    struct net_pair *p = &n->p[i];
    memset(p, 0, sizeof(*p));
    p->n = n;
    p->idx = i;
    p->stop_fd = efd_new();
    if (p->stop_fd < 0)
        return p->stop_fd;
    p->rx_elem = malloc(sizeof(*p->rx_elem));
    p->rx_more = malloc(sizeof(*p->rx_more));
    p->tx_elem = malloc(sizeof(*p->tx_elem));
    p->bounce = malloc(NET_BOUNCE);
    p->tx_bounce = malloc(NET_BOUNCE);
    p->held_iov = malloc(IOV_MAX * sizeof(*p->held_iov));
    p->iov = malloc((VIRTQ_MAX_IOV + 2) * sizeof(*p->iov));
    if (!p->rx_elem || !p->rx_more || !p->tx_elem || !p->bounce || !p->tx_bounce ||
        !p->iov || !p->held_iov)
        return -ENOMEM;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&p->thread, NULL, worker, p);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r)
        return -r;
    p->started = true;
    char name[16];
    snprintf(name, sizeof(name), "net-q%u", i);
    pthread_setname_np(p->thread, name);
    return 0;
}

/* Does pair i have a queue the driver enabled (and may use it)? */
static bool pair_wanted(struct net_dev *n, unsigned i)
{
    struct virtio_dev *d = &n->vdev;
    if (i > 0 && !virtio_has_feature(d, VIRTIO_NET_F_MQ))
        return false;               /* one pair; queue 2 is the control queue */
    if (d->vq_ready[2 * i] || d->vq_ready[2 * i + 1])
        return true;
    unsigned cq = ctrl_queue(n);
    return i == 0 && cq < d->num_queues && d->vq_ready[cq];
}

/* ops->reset: stop and join every worker; the rings are forgotten. */
static void net_reset(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    for (unsigned i = 0; i < n->max_pairs; i++) {
        pair_stop(&n->p[i]);
        pair_free(&n->p[i]);
        n->paused[i] = false;
    }
    atomic_store(&n->pairs, 1);
    n->active = false;
}

/* What received frames may carry, from the negotiated GUEST_* features
 * (each of TSO/UFO needs GUEST_CSUM, as the spec has it). */
static unsigned offload_flags(const struct virtio_dev *d)
{
    unsigned f = 0;
    if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_CSUM)) {
        f |= NET_OFFLOAD_CSUM;
        if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO4))
            f |= NET_OFFLOAD_TSO4;
        if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_TSO6))
            f |= NET_OFFLOAD_TSO6;
        if (virtio_has_feature(d, VIRTIO_NET_F_GUEST_UFO))
            f |= NET_OFFLOAD_UFO;
    }
    return f;
}

/* ops->activate (DRIVER_OK): offloads to the backend, one pair in use,
 * a worker for each pair the driver enabled. 0 or -errno. */
static int net_activate(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    if (n->active)
        net_reset(d);
    int r = n->be->ops->set_offload(n->be, offload_flags(d));
    if (r < 0)
        log_warn("net %s: cannot set the backend's offloads: %s", n->be->name, strerror(-r));
    set_pairs(n, 1);
    n->active = true;
    for (unsigned i = 0; i < n->max_pairs; i++) {
        n->p[i].stop_fd = -1;
        if (!pair_wanted(n, i))
            continue;
        if ((r = pair_start(n, i)) < 0) {
            net_reset(d);
            return r;
        }
    }
    return 0;
}

/* ops->quiesce: join every worker (each puts back what it holds); no
 * guest memory is touched until net_resume. */
static void net_quiesce(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    for (unsigned i = 0; i < n->max_pairs; i++) {
        struct net_pair *p = &n->p[i];
        n->paused[i] = false;
        if (!p->started)
            continue;
        pair_stop(p);
        n->paused[i] = true;
        pair_free(p);
    }
}

/* ops->resume: restart the workers net_quiesce stopped. */
static void net_resume(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    for (unsigned i = 0; i < n->max_pairs; i++) {
        if (!n->paused[i])
            continue;
        n->paused[i] = false;
        if (pair_start(n, i) < 0) {
            pair_free(&n->p[i]);
            virtio_needs_reset(d, "cannot restart a queue pair after a pause");
        }
    }
}

/* ops->config_read: mac, status, max_virtqueue_pairs, mtu. */
static void net_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
    struct net_dev *n = d->priv;
    if (off > sizeof(n->config) || len > sizeof(n->config) - off) {
        memset(data, 0, len);
        return;
    }
    memcpy(data, n->config + off, len);
}

static void net_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data, uint32_t len)
{
    /* nothing is writable (the MAC is, only for legacy drivers) */
}

/* ops->destroy: reset, then free the backend and the device. */
static void net_destroy(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    if (!n)
        return;
    net_reset(d);
    n->be->ops->destroy(n->be);
    free(n);
}

static const struct virtio_dev_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .reset = net_reset,
    .destroy = net_destroy,
    .quiesce = net_quiesce,
    .resume = net_resume,
};

int virtio_net_create(const struct virtio_net_cfg *cfg, const struct guest_mem *mem,
                      struct virtio_dev **out, char *err, size_t errlen)
{
    *out = NULL;
    struct net_backend *be = cfg->backend;
    if (!be) {
        snprintf(err, errlen, "net: no backend given");
        return -EINVAL;
    }
    unsigned pairs = cfg->pairs ? cfg->pairs : 1;
    if (pairs > be->nqueues || pairs > VIRTIO_NET_MAX_PAIRS ||
        2 * pairs + 1 > VIRTIO_MAX_QUEUES) {
        snprintf(err, errlen, "net %s: %u queue pairs but the backend has %u channels",
                 be->name, pairs, be->nqueues);
        be->ops->destroy(be);
        return -EINVAL;
    }
    uint16_t mtu = cfg->mtu ? cfg->mtu : 1500;
    if (mtu < 68) {
        snprintf(err, errlen, "net %s: mtu %u is below 68", be->name, mtu);
        be->ops->destroy(be);
        return -EINVAL;
    }
    struct net_dev *n = calloc(1, sizeof(*n));
    if (!n) {
        snprintf(err, errlen, "net %s: out of memory", be->name);
        be->ops->destroy(be);
        return -ENOMEM;
    }
    n->be = be;
    n->max_pairs = pairs;
    atomic_store(&n->pairs, 1);
    for (unsigned i = 0; i < VIRTIO_NET_MAX_PAIRS; i++)
        n->p[i].stop_fd = -1;
    uint8_t *c = n->config;
    memcpy(c + VIRTIO_NET_CFG_MAC, cfg->mac, 6);
    le16_store(c + VIRTIO_NET_CFG_STATUS, VIRTIO_NET_S_LINK_UP);
    le16_store(c + VIRTIO_NET_CFG_MAX_PAIRS, (uint16_t)pairs);
    le16_store(c + VIRTIO_NET_CFG_MTU, mtu);

    static const unsigned bits[] = {
        VIRTIO_F_VERSION_1, VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC,
        VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU,
        VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
        VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO,
        VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
        VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CTRL_VQ, VIRTIO_NET_F_MQ,
    };
    static const unsigned offload_bits[] = {
        VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
        VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO,
        VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
    };
    uint64_t f = 0;
    for (size_t i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
        f |= 1ULL << bits[i];
    if (be->no_offloads)            /* whole frames only (backend/net.h) */
        for (size_t i = 0; i < sizeof(offload_bits) / sizeof(offload_bits[0]); i++)
            f &= ~(1ULL << offload_bits[i]);

    struct virtio_dev *d = &n->vdev;
    d->ops = &net_ops;
    d->priv = n;
    d->mem = mem;
    d->device_features = f;
    d->num_queues = (uint16_t)(2 * pairs + 1);
    d->queue_max = VIRTIO_NET_QUEUE_MAX;
    d->config_size = VIRTIO_NET_CONFIG_SIZE;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        d->notify_fd[i] = -1;
    *out = d;
    return 0;
}

void virtio_net_get_stats(struct virtio_dev *d, struct virtio_net_stats *st)
{
    struct net_dev *n = d->priv;
    memset(st, 0, sizeof(*st));
    st->tx_frames = atomic_load(&n->c.tx_frames);
    st->tx_bytes = atomic_load(&n->c.tx_bytes);
    st->tx_errors = atomic_load(&n->c.tx_errors);
    for (unsigned i = 0; i < VIRTIO_NET_TX_VERDICTS; i++)
        st->tx_dropped[i] = atomic_load(&n->c.tx_dropped[i]);
    st->rx_frames = atomic_load(&n->c.rx_frames);
    st->rx_bytes = atomic_load(&n->c.rx_bytes);
    st->rx_too_big = atomic_load(&n->c.rx_too_big);
    st->rx_no_buffers = atomic_load(&n->c.rx_no_buffers);
    st->rx_bad_buffers = atomic_load(&n->c.rx_bad_buffers);
    st->rx_errors = atomic_load(&n->c.rx_errors);
    st->ctrl_ok = atomic_load(&n->c.ctrl_ok);
    st->ctrl_err = atomic_load(&n->c.ctrl_err);
}

unsigned virtio_net_active_pairs(struct virtio_dev *d)
{
    struct net_dev *n = d->priv;
    return atomic_load(&n->pairs);
}
