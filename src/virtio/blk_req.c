#include "virtio/blk_req.h"

#include <errno.h>
#include <string.h>

#include "base/le.h"

/* A read position in a stream of buffers (the out or the in part of an
 * element). */
struct cursor {
    const struct iovec *iov;
    unsigned n, i;
    size_t at;                  /* offset inside iov[i] */
};

static void cur_init(struct cursor *c, const struct iovec *iov, unsigned n)
{
    c->iov = iov;
    c->n = n;
    c->i = 0;
    c->at = 0;
}

/* Copy the next len bytes to dst; returns how many there were. */
static size_t cur_read(struct cursor *c, void *dst, size_t len)
{
    size_t done = 0;
    while (done < len && c->i < c->n) {
        size_t avail = c->iov[c->i].iov_len - c->at;
        if (avail == 0) {
            c->i++;
            c->at = 0;
            continue;
        }
        size_t k = len - done < avail ? len - done : avail;
        memcpy((uint8_t *)dst + done, (const uint8_t *)c->iov[c->i].iov_base + c->at, k);
        done += k;
        c->at += k;
    }
    return done;
}

static uint64_t iov_sum(const struct iovec *iov, unsigned n)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += iov[i].iov_len;
    return t;
}

/* [sector, sector + n) inside the disk, without overflow. */
static bool sectors_ok(const struct virtio_blk_limits *lim, uint64_t sector, uint64_t n)
{
    return sector <= lim->capacity && n <= lim->capacity - sector;
}

static int parse_rw(struct virtio_blk_req *r, uint64_t sector, uint64_t bytes)
{
    if (bytes % VIRTIO_BLK_SECTOR_SIZE || bytes > UINT32_MAX)
        return VIRTIO_BLK_S_IOERR;
    if (!sectors_ok(&r->lim, sector, bytes / VIRTIO_BLK_SECTOR_SIZE))
        return VIRTIO_BLK_S_IOERR;
    r->sector = sector;
    r->data_len = (uint32_t)bytes;
    return VIRTIO_BLK_S_OK;
}

static int parse_segs(struct virtio_blk_req *r, const struct virtq_elem *e, uint64_t out_len)
{
    const struct virtio_blk_limits *lim = &r->lim;
    bool wz = r->type == VIRTIO_BLK_T_WRITE_ZEROES;
    if (!(wz ? lim->write_zeroes : lim->discard))
        return VIRTIO_BLK_S_UNSUPP;
    uint64_t bytes = out_len - VIRTIO_BLK_HDR_SIZE;
    if (bytes == 0 || bytes % VIRTIO_BLK_SEG_SIZE)
        return VIRTIO_BLK_S_IOERR;
    uint64_t n = bytes / VIRTIO_BLK_SEG_SIZE;
    uint64_t max_seg = wz ? lim->max_write_zeroes_seg : lim->max_discard_seg;
    uint64_t max_sectors = wz ? lim->max_write_zeroes_sectors : lim->max_discard_sectors;
    if (max_seg > VIRTIO_BLK_MAX_SEGS)
        max_seg = VIRTIO_BLK_MAX_SEGS;
    if (n > max_seg)
        return VIRTIO_BLK_S_UNSUPP;
    struct cursor c;
    cur_init(&c, e->iov, e->n_out);
    uint8_t skip[VIRTIO_BLK_HDR_SIZE];
    cur_read(&c, skip, sizeof(skip));
    for (unsigned i = 0; i < n; i++) {
        uint8_t raw[VIRTIO_BLK_SEG_SIZE];
        if (cur_read(&c, raw, sizeof(raw)) != sizeof(raw))
            return VIRTIO_BLK_S_IOERR;      /* cannot happen: lengths summed above */
        struct virtio_blk_seg *s = &r->segs[i];
        s->sector = le64_load(raw);
        s->num_sectors = le32_load(raw + 8);
        s->flags = le32_load(raw + 12);
        if (s->flags & ~VIRTIO_BLK_WZ_FLAG_UNMAP)
            return VIRTIO_BLK_S_UNSUPP;
        if (!wz && (s->flags & VIRTIO_BLK_WZ_FLAG_UNMAP))
            return VIRTIO_BLK_S_UNSUPP;     /* the spec forbids unmap on discard */
        if (s->num_sectors > max_sectors || !sectors_ok(lim, s->sector, s->num_sectors))
            return VIRTIO_BLK_S_IOERR;
    }
    r->nsegs = (unsigned)n;
    r->data_off = VIRTIO_BLK_HDR_SIZE;
    r->data_len = (uint32_t)bytes;
    return VIRTIO_BLK_S_OK;
}

int virtio_blk_parse_req(const struct virtq_elem *e, struct virtio_blk_req *r)
{
    r->type = UINT32_MAX;
    r->sector = 0;
    r->status = NULL;
    r->data_in = false;
    r->data_off = r->data_len = 0;
    r->nsegs = 0;
    unsigned n_out = e->n_out, n_in = e->n_in;
    if (n_out > VIRTQ_MAX_IOV || n_in > VIRTQ_MAX_IOV - n_out)
        return -EINVAL;

    /* The status byte: the last byte of the in stream. */
    const struct iovec *in = e->iov + n_out;
    unsigned k = n_in;
    while (k > 0 && in[k - 1].iov_len == 0)
        k--;
    if (k == 0)
        return -EINVAL;
    r->status = (uint8_t *)in[k - 1].iov_base + in[k - 1].iov_len - 1;
    uint64_t in_data = iov_sum(in, n_in) - 1;
    uint64_t out_len = iov_sum(e->iov, n_out);

    if (out_len < VIRTIO_BLK_HDR_SIZE)
        return VIRTIO_BLK_S_IOERR;
    uint8_t hdr[VIRTIO_BLK_HDR_SIZE];
    struct cursor c;
    cur_init(&c, e->iov, n_out);
    cur_read(&c, hdr, sizeof(hdr));
    r->type = le32_load(hdr);
    uint64_t sector = le64_load(hdr + 8);
    r->sector = sector;         /* for log lines; meaningful for IN/OUT only */

    switch (r->type) {
    case VIRTIO_BLK_T_IN:
        r->data_in = true;
        return parse_rw(r, sector, in_data);
    case VIRTIO_BLK_T_OUT:
        if (r->lim.readonly)
            return VIRTIO_BLK_S_IOERR;
        r->data_off = VIRTIO_BLK_HDR_SIZE;
        return parse_rw(r, sector, out_len - VIRTIO_BLK_HDR_SIZE);
    case VIRTIO_BLK_T_FLUSH:
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID:
        r->data_in = true;
        r->data_len = in_data < VIRTIO_BLK_ID_BYTES ? (uint32_t)in_data : VIRTIO_BLK_ID_BYTES;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        if (r->lim.readonly)
            return VIRTIO_BLK_S_IOERR;
        return parse_segs(r, e, out_len);
    default:        /* GET_LIFETIME, SECURE_ERASE, zoned, unknown */
        return VIRTIO_BLK_S_UNSUPP;
    }
}

int virtio_blk_req_data_iov(const struct virtq_elem *e, const struct virtio_blk_req *r,
                            struct iovec *iov, int max)
{
    const struct iovec *s = r->data_in ? e->iov + e->n_out : e->iov;
    unsigned n = r->data_in ? e->n_in : e->n_out;
    uint64_t skip = r->data_off, left = r->data_len;
    int k = 0;
    for (unsigned i = 0; i < n && left > 0; i++) {
        uint64_t len = s[i].iov_len;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        uint64_t take = len - skip < left ? len - skip : left;
        if (k >= max)
            return -E2BIG;
        iov[k].iov_base = (uint8_t *)s[i].iov_base + skip;
        iov[k].iov_len = (size_t)take;
        k++;
        left -= take;
        skip = 0;
    }
    return k;
}
