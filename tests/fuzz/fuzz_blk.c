/* libFuzzer target: virtio-blk request parsing on popped elements. */
#include "fuzz_common.h"
#include "virtio/blk_req.h"

static uint32_t parse_elem(const struct virtq *q, const struct virtq_elem *e, void *opaque)
{
    static struct virtio_blk_req r;
    struct iovec iov[VIRTQ_MAX_IOV];
    r.lim = (struct virtio_blk_limits){ .capacity = 1 << 20, .discard = true, .write_zeroes = true,
        .max_discard_sectors = 1 << 16, .max_discard_seg = 8,
        .max_write_zeroes_sectors = 1 << 16, .max_write_zeroes_seg = 8 };
    int st = virtio_blk_parse_req(e, &r);
    if (st < 0)
        return 0;
    if (st == VIRTIO_BLK_S_OK) {
        int n = virtio_blk_req_data_iov(e, &r, iov, VIRTQ_MAX_IOV);
        FZ_ASSERT(n >= 0);
        uint64_t t = 0;
        for (int i = 0; i < n; i++) {
            FZ_ASSERT(fz_in_ram(q->mem, iov[i].iov_base, iov[i].iov_len));
            t += iov[i].iov_len;
        }
        FZ_ASSERT(t == r.data_len);
    }
    *r.status = (uint8_t)st;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_virtq_run(data, size, parse_elem, NULL);
}
