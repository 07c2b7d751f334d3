/* virtio-blk: one worker thread per virtqueue.
 *
 * Why io_uring: a guest with queue depth 32 of random 4 KiB reads needs 32
 * reads in flight on the host; a synchronous worker has one (measured in
 * test_blk on a cold page cache: ~2.5-4x the synchronous worker's rate).
 * Each queue's worker owns an io_uring and loops on a single
 * io_uring_enter() that submits what the last round prepared and waits for
 * the next event; the queue's notify eventfd and a stop eventfd are watched
 * by poll requests on that same ring, so one thread serves notifies and
 * completions. Reads and writes go straight between the image and guest
 * memory (readv/writev on the request's buffers).
 *
 * Before a transfer goes to the ring it is tried inline with RWF_NOWAIT:
 * a page-cache hit completes at once, cheaper than a trip through the
 * ring; only misses wait in the ring. Images on tmpfs (no RWF_NOWAIT; the
 * ring would hand every request to kernel worker threads) are read and
 * written inline, except that a large read is split in two halves copied
 * in parallel (the worker and an io_uring worker thread).
 *
 * Completions are pushed as they come; the guest is interrupted once per
 * batch (at most every 32 completions).  With interrupt moderation
 * (virtio/irqmod.h) the worker, having finished everything inline, may
 * poll the ring for a short adaptive window with guest notifications off
 * before it interrupts: a guest that is still submitting then neither
 * kicks nor takes an interrupt per request.  A queue-depth-1 guest shrinks
 * the window to zero and pays only rare probes.
 *
 * Discard and write-zeroes (fallocate) and the rare rest of a short
 * transfer are done synchronously on the worker. Without
 * io_uring (old kernel, a seccomp profile that blocks it) the same worker
 * does every request synchronously.
 *
 * A request is parsed by virtio_blk_parse_req() (blk_req.c); anything
 * malformed is completed with IOERR/UNSUPP and never reaches the disk.
 *
 * Why not the VM's event loop (base/evloop.h): a queue's worker already
 * waits on one thing, its ring, which carries the notify, the stop fd and
 * the completions, so an epoll set would add a wakeup hop per request and
 * serve every queue (one per vCPU) from one thread. The loop is for
 * host-facing parts with many fds and timers (console, tap, slirp, vsock
 * sockets, the API socket); the blk queues stay one thread each. */
#include "virtio/blk.h"

#include <errno.h>
#include <limits.h>
#include <liburing.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/disk.h"
#include "base/efd.h"
#include "base/le.h"
#include "base/log.h"
#include "virtio/blk_req.h"
#include "virtio/irqmod.h"

#define BLK_SEG_MAX              (VIRTIO_BLK_QUEUE_MAX - 2)  /* data segments per request */
#define BLK_MAX_DISCARD_SECTORS  (1u << 22)                  /* 2 GiB per segment */
#define BLK_MAX_WZ_SECTORS       (1u << 22)
#define BLK_INLINE_IOV           8
#define BLK_NOTIFY_BATCH         32      /* completions per interrupt, at most */
/* Interrupt moderation (virtio/irqmod.h): the polling window's bounds, and
 * the longest a finished request may wait for its interrupt. */
#define BLK_POLL_MIN_NS          10000u
#define BLK_POLL_MAX_NS          200000u
#define BLK_DEFER_MAX_NS         500000u
/* A read this large from an in-memory image is split in two halves that
 * are copied at the same time (one in the worker, one in an io_uring
 * worker thread): the copy is most of a large request's cost. */
#define BLK_SPLIT_MIN            (128u << 10)

/* io_uring user_data values that are not request slots (slots are
 * pointers, so never this small). */
enum { TAG_NOTIFY = 1, TAG_STOP = 2, TAG_IGNORE = 3 };

struct blk_dev;

/* One request in flight. */
struct blk_slot {
    struct blk_slot *next_free;
    uint16_t head;
    uint8_t type;                    /* VIRTIO_BLK_T_IN, _OUT or _FLUSH */
    uint8_t *status;
    uint32_t len;                    /* bytes to transfer */
    uint32_t req_len;                /* the request's bytes (len shrinks on a partial hit) */
    uint32_t written;                /* used length when done */
    uint64_t off;                    /* byte offset in the image */
    int niov;
    struct iovec *iov;               /* inl or heap */
    uint8_t parts;                   /* split read: halves still running */
    int part_niov;                   /* split: the ring half is iov[0..part_niov) */
    uint32_t part_len;               /*   of part_len bytes at off */
    int part_err;                    /*   first error of either half */
    struct iovec *heap;
    unsigned heap_cap;
    struct iovec inl[BLK_INLINE_IOV];
};

/* Requests completed (arcvmm_get_disk_stats): written by the queue's
 * worker only, read from any thread. */
struct blk_counters {
    _Atomic uint64_t reads, writes, flushes, read_bytes, write_bytes, errors;
};

struct blk_queue {
    struct blk_dev *b;
    unsigned idx;
    struct blk_counters n;
    bool started;
    pthread_t thread;
    int stop_fd;
    struct virtq_elem *elem;         /* scratch for virtq_pop */
    struct virtio_blk_req req;
    struct blk_slot *slots;
    unsigned nslots;
    struct blk_slot *free;
    unsigned inflight;               /* reads/writes/flushes submitted, not completed */
    unsigned splits;                 /* split transfers whose ring half is running */
    struct io_uring ring;
    bool uring, fixed_file, notify_armed;
    bool nowait_read, nowait_write;  /* RWF_NOWAIT fast path still worth trying */
    bool broken, stopping, starved, pushed;
    bool armed;                      /* guest notifications on (drain(bq, true)) */
    atomic_bool keep;                /* stopping for a pause: completions still go to the ring */
    unsigned batch;                  /* pushes since the last notify */
    uint64_t first_push_ns;          /* when the oldest un-notified push happened */
    struct irqmod mod;
};

struct blk_dev {
    struct virtio_dev vdev;
    struct disk disk;
    char *path;
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    uint8_t id[VIRTIO_BLK_ID_BYTES];
    struct virtio_blk_limits lim;    /* negotiated parts set on activation */
    enum virtio_blk_io_mode mode;
    bool active;
    /* One rate limit per kind of line (base/log.h): host I/O errors, the
     * io_uring itself failing, requests without a status byte, refused
     * requests -- all of them a guest can repeat at will. */
    struct log_limit log_io, log_uring, log_nostatus, log_bad;
    atomic_bool said_sync;
    struct blk_queue q[VIRTIO_MAX_QUEUES];
    bool paused[VIRTIO_MAX_QUEUES];  /* quiesced while running: resume restarts it */
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- completion ---- */

/* Stopping for a reset: what finishes now is dropped and nothing of the
 * guest's is touched. Stopping for a pause (keep) finishes it normally. */
static bool dropping(struct blk_queue *bq)
{
    return bq->stopping && !atomic_load(&bq->keep);
}

static void complete(struct blk_queue *bq, uint16_t head, uint32_t written)
{
    if (dropping(bq) || bq->broken)
        return;
    struct virtio_dev *d = &bq->b->vdev;
    virtq_push(&d->vqs[bq->idx], head, written);
    if (!bq->pushed)
        bq->first_push_ns = now_ns();
    bq->pushed = true;
    if (++bq->batch >= BLK_NOTIFY_BATCH) {
        /* requests finished inline during a long drain: do not keep them
         * waiting for the whole batch */
        bq->batch = 0;
        bq->pushed = false;
        virtio_notify_used(d, bq->idx);
    }
}

static void finish(struct blk_queue *bq, uint16_t head, uint8_t *status, uint8_t st,
                   uint32_t written)
{
    if (dropping(bq) || bq->broken)
        return;
    *status = st;
    complete(bq, head, written);
}

static struct blk_slot *slot_get(struct blk_queue *bq)
{
    struct blk_slot *s = bq->free;
    if (s)
        bq->free = s->next_free;
    return s;
}

static void slot_put(struct blk_queue *bq, struct blk_slot *s)
{
    s->next_free = bq->free;
    bq->free = s;
}

static const char *type_name(uint8_t t)
{
    return t == VIRTIO_BLK_T_IN ? "read" : t == VIRTIO_BLK_T_OUT ? "write" : "flush";
}

/* The worker's own counter: a plain add, made visible atomically. */
static void bump(_Atomic uint64_t *c, uint64_t by)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + by,
                          memory_order_relaxed);
}

static void count_done(struct blk_queue *bq, uint8_t type, uint32_t bytes, bool ok)
{
    struct blk_counters *n = &bq->n;
    if (!ok)
        bump(&n->errors, 1);
    else if (type == VIRTIO_BLK_T_IN) {
        bump(&n->reads, 1);
        bump(&n->read_bytes, bytes);
    } else if (type == VIRTIO_BLK_T_OUT) {
        bump(&n->writes, 1);
        bump(&n->write_bytes, bytes);
    } else if (type == VIRTIO_BLK_T_FLUSH)
        bump(&n->flushes, 1);
}

/* A read, write or flush finished with res (bytes, or -errno). */
static void slot_done(struct blk_queue *bq, struct blk_slot *s, int64_t res)
{
    struct blk_dev *b = bq->b;
    if (dropping(bq)) {          /* reset: drop it, touch nothing of the guest's */
        slot_put(bq, s);
        return;
    }
    if (s->type != VIRTIO_BLK_T_FLUSH && res >= 0 && (uint32_t)res < s->len) {
        /* short transfer: do the rest synchronously */
        struct iovec *v = s->iov;
        int n = disk_iov_advance(&v, s->niov, (size_t)res);
        uint64_t off = s->off + (uint64_t)res;
        int r = s->type == VIRTIO_BLK_T_IN ? disk_preadv(&b->disk, v, n, off)
                                           : disk_pwritev(&b->disk, v, n, off);
        res = r < 0 ? r : (int64_t)s->len;
    }
    uint8_t st = VIRTIO_BLK_S_OK;
    count_done(bq, s->type, s->req_len, res >= 0);
    if (res < 0) {
        st = VIRTIO_BLK_S_IOERR;
        log_warn_limited(&b->log_io, "disk %s: %s of %u bytes at offset %llu failed: %s",
                         b->path, type_name(s->type), s->len, (unsigned long long)s->off,
                         strerror((int)-res));
    }
    finish(bq, s->head, s->status, st, s->written);
    slot_put(bq, s);
}

/* One half of a split transfer finished (err: 0 or -errno). */
static void part_done(struct blk_queue *bq, struct blk_slot *s, int err)
{
    if (err < 0 && s->part_err == 0)
        s->part_err = err;
    if (--s->parts == 0)
        slot_done(bq, s, s->part_err < 0 ? s->part_err : (int64_t)s->len);
}

/* The ring half of a split read finished with res (bytes or -errno). */
static void ring_part_done(struct blk_queue *bq, struct blk_slot *s, int64_t res)
{
    if (res >= 0 && (uint64_t)res < s->part_len) {
        /* short read: do the rest synchronously (the other half's iovecs,
         * after part_niov, are not touched); when stopping, fail it */
        struct iovec *v = s->iov;
        int n = disk_iov_advance(&v, s->part_niov, (size_t)res);
        int r = dropping(bq) ? -EIO : disk_preadv(&bq->b->disk, v, n, s->off + (uint64_t)res);
        res = r < 0 ? r : 0;
    }
    part_done(bq, s, res < 0 ? (int)res : 0);
}

/* ---- submission ---- */

static struct io_uring_sqe *get_sqe(struct blk_queue *bq)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&bq->ring);
    while (!sqe) {              /* SQ full: hand it to the kernel first */
        io_uring_submit(&bq->ring);
        sqe = io_uring_get_sqe(&bq->ring);
    }
    return sqe;
}

/* The page-cache fast path: try the transfer right here without blocking
 * (RWF_NOWAIT). A cache hit completes at once, which beats a round trip
 * through the ring; what is left (a miss, or the rest of a partial hit)
 * goes to io_uring. An image in memory (tmpfs, which has no RWF_NOWAIT and
 * would make io_uring punt every request to its worker threads) is simply
 * read and written here. Returns true if the slot is done. */
static bool try_inline(struct blk_queue *bq, struct blk_slot *s)
{
    struct disk *dk = &bq->b->disk;
    bool in = s->type == VIRTIO_BLK_T_IN;
    if (bq->b->mode == VIRTIO_BLK_IO_URING)
        return false;
    if (dk->in_memory) {
        int r = in ? disk_preadv(dk, s->iov, s->niov, s->off)
                   : disk_pwritev(dk, s->iov, s->niov, s->off);
        slot_done(bq, s, r < 0 ? r : (int64_t)s->len);
        return true;
    }
    if (!(in ? bq->nowait_read : bq->nowait_write) || s->niov > IOV_MAX)
        return false;
    ssize_t k = in ? preadv2(dk->fd, s->iov, s->niov, (off_t)s->off, RWF_NOWAIT)
                   : pwritev2(dk->fd, s->iov, s->niov, (off_t)s->off, RWF_NOWAIT);
    if (k < 0) {
        if (errno == EOPNOTSUPP || errno == EINVAL) {   /* file or kernel without it */
            if (in)
                bq->nowait_read = false;
            else
                bq->nowait_write = false;
        }
        return false;
    }
    if ((uint64_t)k >= s->len) {
        slot_done(bq, s, (int64_t)s->len);
        return true;
    }
    if (k == 0)             /* EOF (a shrunken file): let the slow path sort it out */
        return false;
    /* partial hit: the ring does the rest */
    s->niov = disk_iov_advance(&s->iov, s->niov, (size_t)k);
    s->off += (uint64_t)k;
    s->len -= (uint32_t)k;
    return false;
}

/* A large read from an in-memory image: the first half (split at an
 * iovec boundary) goes to an io_uring worker thread at once (IOSQE_ASYNC),
 * the second is copied here meanwhile. False if it cannot be split well. */
static bool try_split(struct blk_queue *bq, struct blk_slot *s)
{
    struct disk *dk = &bq->b->disk;
    /* reads only: writes to one file take its inode lock, so two halves
     * would only take turns */
    if (s->type != VIRTIO_BLK_T_IN || !dk->in_memory || bq->b->mode == VIRTIO_BLK_IO_URING ||
        s->len < BLK_SPLIT_MIN)
        return false;
    size_t first = 0;
    int k = 0;
    while (k < s->niov && first < s->len / 2)
        first += s->iov[k++].iov_len;
    if (k >= s->niov || first < BLK_SPLIT_MIN / 4 || s->len - first < BLK_SPLIT_MIN / 4)
        return false;
    s->parts = 2;
    bq->splits++;
    s->part_niov = k;
    s->part_len = (uint32_t)first;
    s->part_err = 0;
    struct io_uring_sqe *sqe = get_sqe(bq);
    int fd = bq->fixed_file ? 0 : dk->fd;
    io_uring_prep_readv(sqe, fd, s->iov, (unsigned)k, s->off);
    sqe->flags |= IOSQE_ASYNC | (bq->fixed_file ? IOSQE_FIXED_FILE : 0);
    io_uring_sqe_set_data(sqe, s);
    bq->inflight++;
    io_uring_submit(&bq->ring);
    int r = disk_preadv(dk, s->iov + k, s->niov - k, s->off + first);
    part_done(bq, s, r < 0 ? r : 0);
    return true;
}

static void slot_submit(struct blk_queue *bq, struct blk_slot *s)
{
    struct blk_dev *b = bq->b;
    if (!bq->uring) {
        int r;
        if (s->type == VIRTIO_BLK_T_FLUSH)
            r = disk_flush(&b->disk);
        else if (s->type == VIRTIO_BLK_T_IN)
            r = disk_preadv(&b->disk, s->iov, s->niov, s->off);
        else
            r = disk_pwritev(&b->disk, s->iov, s->niov, s->off);
        slot_done(bq, s, r < 0 ? r : (int64_t)s->len);
        return;
    }
    if (s->type != VIRTIO_BLK_T_FLUSH && (try_split(bq, s) || try_inline(bq, s)))
        return;
    struct io_uring_sqe *sqe = get_sqe(bq);
    int fd = bq->fixed_file ? 0 : b->disk.fd;
    if (s->type == VIRTIO_BLK_T_FLUSH)
        io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    else if (s->type == VIRTIO_BLK_T_IN)
        io_uring_prep_readv(sqe, fd, s->iov, (unsigned)s->niov, s->off);
    else
        io_uring_prep_writev(sqe, fd, s->iov, (unsigned)s->niov, s->off);
    if (bq->fixed_file)
        sqe->flags |= IOSQE_FIXED_FILE;
    io_uring_sqe_set_data(sqe, s);
    bq->inflight++;
}

/* Point the slot's iov at the request's data buffers. */
static int slot_fill_iov(struct blk_queue *bq, struct blk_slot *s)
{
    const struct virtq_elem *e = bq->elem;
    int n = virtio_blk_req_data_iov(e, &bq->req, s->inl, BLK_INLINE_IOV);
    if (n >= 0) {
        s->iov = s->inl;
        s->niov = n;
        return 0;
    }
    unsigned need = (unsigned)e->n_out + e->n_in;
    if (need > s->heap_cap) {
        struct iovec *h = realloc(s->heap, sizeof(*h) * need);
        if (!h)
            return -ENOMEM;
        s->heap = h;
        s->heap_cap = need;
    }
    n = virtio_blk_req_data_iov(e, &bq->req, s->heap, (int)s->heap_cap);
    if (n < 0)
        return n;
    s->iov = s->heap;
    s->niov = n;
    return 0;
}

static void do_get_id(struct blk_queue *bq)
{
    const struct virtio_blk_req *r = &bq->req;
    struct iovec v[VIRTIO_BLK_ID_BYTES];
    int n = virtio_blk_req_data_iov(bq->elem, r, v, VIRTIO_BLK_ID_BYTES);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        memcpy(v[i].iov_base, bq->b->id + at, v[i].iov_len);
        at += v[i].iov_len;
    }
    finish(bq, bq->elem->head, r->status, VIRTIO_BLK_S_OK, r->data_len + 1);
}

static void do_discard_or_zero(struct blk_queue *bq)
{
    struct blk_dev *b = bq->b;
    const struct virtio_blk_req *r = &bq->req;
    bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    uint8_t st = VIRTIO_BLK_S_OK;
    for (unsigned i = 0; i < r->nsegs; i++) {
        const struct virtio_blk_seg *g = &r->segs[i];
        uint64_t off = g->sector * VIRTIO_BLK_SECTOR_SIZE;
        uint64_t len = (uint64_t)g->num_sectors * VIRTIO_BLK_SECTOR_SIZE;
        int e = wz ? disk_write_zeroes(&b->disk, off, len, g->flags & VIRTIO_BLK_WZ_FLAG_UNMAP)
                   : disk_discard(&b->disk, off, len);
        if (e < 0) {
            st = VIRTIO_BLK_S_IOERR;
            log_warn_limited(&b->log_io, "disk %s: %s of %llu bytes at offset %llu failed: %s",
                             b->path, wz ? "write-zeroes" : "discard", (unsigned long long)len,
                             (unsigned long long)off, strerror(-e));
            break;
        }
    }
    finish(bq, bq->elem->head, r->status, st, 1);
}

/* One guest-error line (rate-limited) for a request the parser failed
 * with IOERR. */
static void log_refused(struct blk_queue *bq, const struct virtio_blk_req *r)
{
    const char *path = bq->b->path;
    struct log_limit *l = &bq->b->log_bad;
    bool rw = r->type == VIRTIO_BLK_T_IN || r->type == VIRTIO_BLK_T_OUT;
    if (r->type == UINT32_MAX)
        log_guest_limited(l, "virtio-blk %s: queue %u: request without a 16-byte header", path,
                          bq->idx);
    else if (r->lim.readonly && r->type != VIRTIO_BLK_T_IN)    /* OUT, DISCARD, WRITE_ZEROES */
        log_guest_limited(l, "virtio-blk %s: queue %u: write (type %u) to a read-only disk refused",
                          path, bq->idx, r->type);
    else if (rw)
        log_guest_limited(l, "virtio-blk %s: queue %u: bad request (type %u, sector %llu)", path,
                          bq->idx, r->type, (unsigned long long)r->sector);
    else
        log_guest_limited(l, "virtio-blk %s: queue %u: bad request (type %u)", path, bq->idx,
                          r->type);
}

/* Carry out (or start) the request just popped into bq->elem. */
static void handle_elem(struct blk_queue *bq)
{
    struct blk_dev *b = bq->b;
    struct virtq_elem *e = bq->elem;
    struct virtio_blk_req *r = &bq->req;
    r->lim = b->lim;
    int st = virtio_blk_parse_req(e, r);
    if (st < 0) {
        log_guest_limited(&b->log_nostatus, "virtio-blk %s: queue %u: request without a status byte",
                          b->path, bq->idx);
        complete(bq, e->head, 0);
        return;
    }
    if (st != VIRTIO_BLK_S_OK) {
        if (st == VIRTIO_BLK_S_IOERR) {
            log_refused(bq, r);
            bump(&bq->n.errors, 1);
        }
        finish(bq, e->head, r->status, (uint8_t)st, 1);
        return;
    }
    switch (r->type) {
    case VIRTIO_BLK_T_IN:
    case VIRTIO_BLK_T_OUT:
    case VIRTIO_BLK_T_FLUSH: {
        bool in = r->type == VIRTIO_BLK_T_IN;
        if (r->type != VIRTIO_BLK_T_FLUSH && r->data_len == 0) {
            finish(bq, e->head, r->status, VIRTIO_BLK_S_OK, 1);
            return;
        }
        struct blk_slot *s = slot_get(bq);     /* the caller made sure there is one */
        s->head = e->head;
        s->type = (uint8_t)r->type;
        s->status = r->status;
        s->len = r->data_len;
        s->req_len = r->data_len;
        s->written = in ? r->data_len + 1 : 1;
        s->off = r->sector * VIRTIO_BLK_SECTOR_SIZE;
        s->niov = 0;
        s->parts = 0;
        s->iov = s->inl;
        if (r->type != VIRTIO_BLK_T_FLUSH && slot_fill_iov(bq, s) < 0) {
            finish(bq, e->head, r->status, VIRTIO_BLK_S_IOERR, 1);
            slot_put(bq, s);
            return;
        }
        slot_submit(bq, s);
        return;
    }
    case VIRTIO_BLK_T_GET_ID:
        do_get_id(bq);
        return;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        do_discard_or_zero(bq);
        return;
    default:
        finish(bq, e->head, r->status, VIRTIO_BLK_S_UNSUPP, 1);
        return;
    }
}

/* Pop and start everything available while there are free slots. With
 * arm, guest notifications are on again once the ring is empty (bq->armed);
 * without, they stay off because the worker is about to poll the ring.
 * When every slot is busy they stay off (bq->starved): completions then
 * call us again. */
static void drain(struct blk_queue *bq, bool arm)
{
    struct virtio_dev *d = &bq->b->vdev;
    struct virtq *vq = &d->vqs[bq->idx];
    if (bq->broken || bq->stopping)
        return;
    for (;;) {
        virtq_disable_notify(vq);
        bq->armed = false;
        while (bq->free) {
            int r = virtq_pop(vq, bq->elem);
            if (r == 0)
                break;
            if (r < 0) {
                bq->broken = true;
                virtio_needs_reset(d, vq->error);
                return;
            }
            handle_elem(bq);
        }
        if (!bq->free) {
            bq->starved = true;
            return;
        }
        bq->starved = false;
        if (!arm)
            return;
        if (!virtq_enable_notify(vq)) {
            bq->armed = true;
            return;
        }
    }
}

/* Requests have finished but the guest has not been interrupted yet.
 * Should the worker poll the ring a little longer, so that requests the
 * guest is still submitting arrive without a kick and share the interrupt?
 * Only when everything so far finished inline (nothing waits in io_uring,
 * whose completions are only seen inside io_uring_enter) and within the
 * moderation window; true when a new request turned up. */
static bool poll_for_more(struct blk_queue *bq)
{
    struct virtq *vq = &bq->b->vdev.vqs[bq->idx];
    if (!bq->pushed || bq->inflight || bq->starved || bq->stopping || bq->broken)
        return false;
    uint64_t now = now_ns(), cap = bq->first_push_ns + BLK_DEFER_MAX_NS;
    if (now >= cap)
        return false;
    uint32_t w = irqmod_window(&bq->mod);
    if (w == 0)
        return false;
    uint64_t deadline = now + w < cap ? now + w : cap;
    do {
        if (virtq_has_avail(vq)) {
            irqmod_hit(&bq->mod);
            return true;
        }
        __asm__ __volatile__("" ::: "memory");
    } while (now_ns() < deadline);
    irqmod_miss(&bq->mod);
    return false;
}

static void flush_notify(struct blk_queue *bq)
{
    if (bq->pushed) {
        bq->pushed = false;
        bq->batch = 0;
        virtio_notify_used(&bq->b->vdev, bq->idx);
    }
}

/* ---- io_uring worker ---- */

static void arm_poll(struct blk_queue *bq, int fd, uint64_t tag)
{
    struct io_uring_sqe *sqe = get_sqe(bq);
    io_uring_prep_poll_add(sqe, fd, POLLIN);
    io_uring_sqe_set_data64(sqe, tag);
}

static int uring_setup(struct blk_queue *bq)
{
    /* Newest flags first: a single issuer with deferred task work is the
     * cheapest mode (6.1); fall back step by step. */
    static const unsigned flag_sets[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
        IORING_SETUP_COOP_TASKRUN,
        0,
    };
    unsigned entries = bq->nslots + 4;
    int r = -EINVAL;
    for (size_t i = 0; i < sizeof(flag_sets) / sizeof(flag_sets[0]); i++) {
        struct io_uring_params p;
        memset(&p, 0, sizeof(p));
        p.flags = flag_sets[i];
        r = io_uring_queue_init_params(entries, &bq->ring, &p);
        if (r != -EINVAL)
            break;
    }
    if (r < 0)
        return r;
    int fd = bq->b->disk.fd;
    bq->fixed_file = io_uring_register_files(&bq->ring, &fd, 1) == 0;
    return 0;
}

static void run_uring(struct blk_queue *bq)
{
    struct virtio_dev *d = &bq->b->vdev;
    int notify_fd = d->notify_fd[bq->idx];
    struct io_uring *ring = &bq->ring;
    bool stop_armed = true;
    arm_poll(bq, bq->stop_fd, TAG_STOP);
    arm_poll(bq, notify_fd, TAG_NOTIFY);
    bq->notify_armed = true;
    efd_drain(notify_fd);
    drain(bq, true);
    while (!bq->stopping || bq->inflight || bq->notify_armed || stop_armed) {
        if (poll_for_more(bq)) {
            drain(bq, false);
            continue;
        }
        if (!bq->stopping) {
            /* a split copy in flight finishes in a moment: its completion
             * shares the interrupt with what is pending */
            if (!bq->splits)
                flush_notify(bq);
            if (!bq->armed && !bq->starved && !bq->broken) {
                drain(bq, true);    /* notifications back on before sleeping */
                if (bq->pushed && !bq->splits)
                    continue;       /* requests slipped in meanwhile: poll or interrupt */
            }
        }
        int r = io_uring_submit_and_wait(ring, 1);
        if (r < 0 && r != -EINTR && r != -EAGAIN && r != -EBUSY) {
            log_err_limited(&bq->b->log_uring, "disk %s: io_uring_enter: %s", bq->b->path,
                            strerror(-r));
            usleep(1000);
        }
        bool kick = false, freed = false;
        unsigned head, n = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(ring, head, cqe) {
            n++;
            switch (cqe->user_data) {
            case TAG_NOTIFY:
                bq->notify_armed = false;
                kick = true;
                break;
            case TAG_STOP:
                stop_armed = false;
                if (!bq->stopping) {
                    bq->stopping = true;
                    if (bq->notify_armed) {         /* take back the notify poll */
                        struct io_uring_sqe *sqe = get_sqe(bq);
                        io_uring_prep_poll_remove(sqe, TAG_NOTIFY);
                        io_uring_sqe_set_data64(sqe, TAG_IGNORE);
                    }
                }
                break;
            case TAG_IGNORE:
                break;
            default: {
                struct blk_slot *s = (struct blk_slot *)(uintptr_t)cqe->user_data;
                bq->inflight--;
                if (s->parts) {
                    bq->splits--;
                    ring_part_done(bq, s, cqe->res);
                } else {
                    slot_done(bq, s, cqe->res);
                }
                freed = true;
                break;
            }
            }
        }
        io_uring_cq_advance(ring, n);
        if (bq->stopping)
            continue;
        if (kick) {
            efd_drain(notify_fd);
            arm_poll(bq, notify_fd, TAG_NOTIFY);
            bq->notify_armed = true;
            drain(bq, false);       /* the loop's top decides: poll or re-arm */
        } else if (freed && bq->starved) {
            drain(bq, false);
        }
    }
}

/* ---- synchronous worker ---- */

static void run_sync(struct blk_queue *bq)
{
    struct virtio_dev *d = &bq->b->vdev;
    int notify_fd = d->notify_fd[bq->idx];
    efd_drain(notify_fd);
    drain(bq, true);
    flush_notify(bq);
    for (;;) {
        struct pollfd p[2] = { { .fd = bq->stop_fd, .events = POLLIN },
                               { .fd = notify_fd, .events = POLLIN } };
        if (poll(p, 2, -1) < 0)
            continue;           /* EINTR */
        if (p[0].revents)
            break;
        if (p[1].revents) {
            efd_drain(notify_fd);
            drain(bq, true);
            flush_notify(bq);
        }
    }
    bq->stopping = true;
}

static void *worker(void *arg)
{
    struct blk_queue *bq = arg;
    struct blk_dev *b = bq->b;
    bool sync = b->mode == VIRTIO_BLK_IO_SYNC;
    int r = sync ? -ENOTSUP : uring_setup(bq);
    if (r == 0) {
        bq->uring = true;
        run_uring(bq);
        /* Drop the ring's reference to the image now: the kernel tears a
         * ring down asynchronously, and a registered file would keep the
         * image (and its lock) open for a while after disk_close(). */
        if (bq->fixed_file)
            io_uring_unregister_files(&bq->ring);
        io_uring_queue_exit(&bq->ring);
        bq->uring = false;
    } else {
        if (!sync && !atomic_exchange(&b->said_sync, true))
            log_warn("disk %s: io_uring unavailable (%s); using synchronous I/O", b->path,
                     strerror(-r));
        run_sync(bq);
    }
    return NULL;
}

/* ---- device ops ---- */

static void queue_free(struct blk_queue *bq)
{
    if (bq->slots)
        for (unsigned i = 0; i < bq->nslots; i++)
            free(bq->slots[i].heap);
    free(bq->slots);
    free(bq->elem);
    if (bq->stop_fd >= 0)
        close(bq->stop_fd);
    bq->slots = NULL;
    bq->elem = NULL;
    bq->stop_fd = -1;
    bq->started = false;
}

static void blk_reset(struct virtio_dev *d)
{
    struct blk_dev *b = d->priv;
    for (unsigned i = 0; i < d->num_queues; i++) {
        struct blk_queue *bq = &b->q[i];
        if (bq->started) {
            efd_signal(bq->stop_fd);
            pthread_join(bq->thread, NULL);
        }
        queue_free(bq);
        b->paused[i] = false;
    }
    b->active = false;
}

static int queue_start(struct blk_dev *b, unsigned i)
{
    struct blk_queue *bq = &b->q[i];
    struct virtq *vq = &b->vdev.vqs[i];
    memset(bq, 0, sizeof(*bq));
    bq->b = b;
    bq->idx = i;
    bq->nowait_read = bq->nowait_write = true;
    irqmod_init(&bq->mod, BLK_POLL_MIN_NS, BLK_POLL_MAX_NS);
    bq->stop_fd = efd_new();
    if (bq->stop_fd < 0)
        return bq->stop_fd;
    bq->nslots = vq->size ? vq->size : 1;
    bq->slots = calloc(bq->nslots, sizeof(*bq->slots));
    bq->elem = malloc(sizeof(*bq->elem));
    if (!bq->slots || !bq->elem)
        return -ENOMEM;
    for (unsigned k = bq->nslots; k-- > 0;)
        slot_put(bq, &bq->slots[k]);
    /* Workers take no signals (the VMM may use some to kick vCPUs). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&bq->thread, NULL, worker, bq);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r)
        return -r;
    bq->started = true;
    char name[16];
    snprintf(name, sizeof(name), "blk-q%u", i);
    pthread_setname_np(bq->thread, name);
    return 0;
}

static int blk_activate(struct virtio_dev *d)
{
    struct blk_dev *b = d->priv;
    if (b->active)
        blk_reset(d);
    b->lim.discard = !b->disk.readonly && virtio_has_feature(d, VIRTIO_BLK_F_DISCARD);
    b->lim.write_zeroes = !b->disk.readonly && virtio_has_feature(d, VIRTIO_BLK_F_WRITE_ZEROES);
    b->active = true;
    for (unsigned i = 0; i < d->num_queues; i++) {
        b->q[i].stop_fd = -1;
        if (!d->vq_ready[i])
            continue;
        int r = queue_start(b, i);
        if (r < 0) {
            blk_reset(d);
            return r;
        }
    }
    return 0;
}

/* Pause: each worker finishes what is in flight and exits (as for a
 * reset, but the rings' state in d->vqs is kept); completions it pushed
 * while stopping get their interrupt here. Queues that broke stay down
 * until the driver resets the device. */
static void blk_quiesce(struct virtio_dev *d)
{
    struct blk_dev *b = d->priv;
    for (unsigned i = 0; i < d->num_queues; i++) {
        struct blk_queue *bq = &b->q[i];
        b->paused[i] = false;
        if (!bq->started)
            continue;
        atomic_store(&bq->keep, true);
        efd_signal(bq->stop_fd);
        pthread_join(bq->thread, NULL);
        bq->started = false;
        if (bq->pushed)
            virtio_notify_used(d, i);
        b->paused[i] = !bq->broken;
        queue_free(bq);
    }
}

static void blk_resume(struct virtio_dev *d)
{
    struct blk_dev *b = d->priv;
    for (unsigned i = 0; i < d->num_queues; i++) {
        if (!b->paused[i])
            continue;
        b->paused[i] = false;
        int r = queue_start(b, i);
        if (r < 0) {
            queue_free(&b->q[i]);
            virtio_needs_reset(d, "cannot restart the queue after a pause");
        }
    }
}

static void blk_config_read(struct virtio_dev *d, uint32_t off, uint8_t *data, uint32_t len)
{
    struct blk_dev *b = d->priv;
    if (off > sizeof(b->config) || len > sizeof(b->config) - off) {
        memset(data, 0, len);
        return;
    }
    memcpy(data, b->config + off, len);
}

static void blk_config_write(struct virtio_dev *d, uint32_t off, const uint8_t *data,
                             uint32_t len)
{
    /* Nothing is writable: writeback needs VIRTIO_BLK_F_CONFIG_WCE, which
     * we do not offer (the cache is always write-back; FLUSH is honoured). */
}

static void blk_destroy(struct virtio_dev *d)
{
    struct blk_dev *b = d->priv;
    if (!b)
        return;
    blk_reset(d);
    disk_close(&b->disk);
    free(b->path);
    free(b);
}

static const struct virtio_dev_ops blk_ops;

int virtio_blk_get_stats(const struct virtio_dev *d, struct arcvmm_disk_stats *st)
{
    memset(st, 0, sizeof(*st));
    if (!d || d->ops != &blk_ops)
        return -EINVAL;
    const struct blk_dev *b = d->priv;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) {
        const struct blk_counters *n = &b->q[i].n;
        st->reads += atomic_load_explicit(&n->reads, memory_order_relaxed);
        st->writes += atomic_load_explicit(&n->writes, memory_order_relaxed);
        st->flushes += atomic_load_explicit(&n->flushes, memory_order_relaxed);
        st->read_bytes += atomic_load_explicit(&n->read_bytes, memory_order_relaxed);
        st->write_bytes += atomic_load_explicit(&n->write_bytes, memory_order_relaxed);
        st->errors += atomic_load_explicit(&n->errors, memory_order_relaxed);
    }
    return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .activate = blk_activate,
    .reset = blk_reset,
    .destroy = blk_destroy,
    .quiesce = blk_quiesce,
    .resume = blk_resume,
};

int virtio_blk_create(const struct virtio_blk_cfg *cfg, const struct guest_mem *mem,
                      struct virtio_dev **out, char *err, size_t errlen)
{
    *out = NULL;
    if (!cfg || !cfg->path || !*cfg->path) {
        snprintf(err, errlen, "disk: no image path given");
        return -EINVAL;
    }
    struct blk_dev *b = calloc(1, sizeof(*b));
    if (!b) {
        snprintf(err, errlen, "disk %s: out of memory", cfg->path);
        return -ENOMEM;
    }
    b->path = strdup(cfg->path);
    if (!b->path) {
        free(b);
        snprintf(err, errlen, "disk %s: out of memory", cfg->path);
        return -ENOMEM;
    }
    int r = disk_open(&b->disk, cfg->path, cfg->readonly, err, errlen);
    if (r < 0) {
        free(b->path);
        free(b);
        return r;
    }
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        b->q[i].stop_fd = -1;
    if (cfg->serial)
        memcpy(b->id, cfg->serial, strnlen(cfg->serial, VIRTIO_BLK_ID_BYTES));

    unsigned nq = cfg->num_queues ? cfg->num_queues : 1;
    if (nq > VIRTIO_MAX_QUEUES)
        nq = VIRTIO_MAX_QUEUES;
    uint64_t capacity = b->disk.size / VIRTIO_BLK_SECTOR_SIZE;   /* a partial tail is ignored */
    uint32_t align = b->disk.io_block / VIRTIO_BLK_SECTOR_SIZE;
    if (align == 0)
        align = 1;

    b->lim = (struct virtio_blk_limits){
        .capacity = capacity,
        .readonly = cfg->readonly,
        .max_discard_sectors = BLK_MAX_DISCARD_SECTORS,
        .max_discard_seg = VIRTIO_BLK_MAX_SEGS,
        .max_write_zeroes_sectors = BLK_MAX_WZ_SECTORS,
        .max_write_zeroes_seg = VIRTIO_BLK_MAX_SEGS,
    };

    uint8_t *c = b->config;
    le64_store(c + VIRTIO_BLK_CFG_CAPACITY, capacity);
    le32_store(c + VIRTIO_BLK_CFG_SEG_MAX, BLK_SEG_MAX);
    le32_store(c + VIRTIO_BLK_CFG_BLK_SIZE, b->disk.logical_block);
    le16_store(c + VIRTIO_BLK_CFG_NUM_QUEUES, (uint16_t)nq);
    if (!cfg->readonly) {
        le32_store(c + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
        le32_store(c + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_SEGS);
        le32_store(c + VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT, align);
        le32_store(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS, BLK_MAX_WZ_SECTORS);
        le32_store(c + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG, VIRTIO_BLK_MAX_SEGS);
        c[VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP] = 1;
    }

    uint64_t f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
                 1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_SEG_MAX |
                 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
                 1ULL << VIRTIO_BLK_F_MQ;
    if (cfg->readonly)
        f |= 1ULL << VIRTIO_BLK_F_RO;
    else
        f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

    struct virtio_dev *d = &b->vdev;
    d->ops = &blk_ops;
    d->priv = b;
    d->mem = mem;
    d->device_features = f;
    d->num_queues = (uint16_t)nq;
    d->queue_max = VIRTIO_BLK_QUEUE_MAX;
    d->config_size = VIRTIO_BLK_CONFIG_SIZE;
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++)
        d->notify_fd[i] = -1;
    *out = d;
    return 0;
}

void virtio_blk_set_io_mode(struct virtio_dev *d, enum virtio_blk_io_mode mode)
{
    struct blk_dev *b = d->priv;
    b->mode = mode;
}
