/* Shared libFuzzer harness for everything that consumes virtqueue elements.
 *
 * One input = a 16-byte header + the whole guest memory:
 *
 *   off  size  field (little-endian)
 *   0    1     log2 of the queue size (low 4 bits, values > 10 clamp to 10)
 *   1    1     flags: FZ_EVENT_IDX, FZ_INDIRECT, FZ_RAW_ADDR (ring offsets
 *              not aligned down), FZ_NOTIFY (exercise should_notify /
 *              enable / disable between pops)
 *   2    2     descriptor table gpa
 *   4    2     available ring gpa
 *   6    2     used ring gpa
 *   8    2     starting last_avail / used_idx (as after a restore)
 *   10   2     r0_len: bytes of region 0 (0 or too big: all that is left,
 *              at most FZ_R0_MAX)
 *   12   4     reserved
 *   16   ...   region 0 (gpa 0, r0_len bytes), then region 1 (the rest, at
 *              most FZ_R1_MAX, at gpa FZ_R1_GPA: a hole lies between)
 *
 * Each region is a malloc of exactly its size, so ASan flags any access
 * one byte past guest RAM, and every byte of guest memory is input.
 *
 * fuzz_virtq_run() sets the queue up, then pops until the ring is empty or
 * broken (bounded), checks every element's invariants (each iov inside one
 * RAM region, counts and totals consistent), hands it to the target's
 * callback and pushes it back. A target is one file:
 *
 *     #include "fuzz_common.h"
 *     static uint32_t on_elem(const struct virtq *q, const struct virtq_elem *e, void *o)
 *     { ...; return written; }
 *     int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
 *     { return fuzz_virtq_run(d, n, on_elem, NULL); }
 *
 * plus a line in tests/fuzz/fuzz.mk. */
#ifndef ARCVMM_FUZZ_COMMON_H
#define ARCVMM_FUZZ_COMMON_H
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtq.h"
#include "mem/mem.h"

#define FZ_HDR_SIZE   16
#define FZ_R0_MAX     0xfff0
#define FZ_R1_GPA     0x10000
#define FZ_R1_MAX     0x10000
#define FZ_MAX_STEPS  2048      /* pops per input, whatever the ring says */

#define FZ_EVENT_IDX  0x01
#define FZ_INDIRECT   0x02
#define FZ_RAW_ADDR   0x04
#define FZ_NOTIFY     0x08

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c) do { if (!(c)) { \
        fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
        abort(); } } while (0)

/* Handle one checked element; return the byte count to push as written.
 * q->mem is the guest memory (for fz_in_ram() checks). */
typedef uint32_t (*fuzz_elem_fn)(const struct virtq *q, const struct virtq_elem *e,
                                 void *opaque);

static inline uint16_t fz_le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

/* [p, p+len) lies inside one region's host mapping */
static inline int fz_in_ram(const struct guest_mem *m, const void *p, size_t len)
{
    uintptr_t a = (uintptr_t)p;
    for (int i = 0; i < m->n; i++) {
        uintptr_t b = (uintptr_t)m->r[i].hva;
        if (a >= b && a - b <= m->r[i].size && len <= m->r[i].size - (a - b))
            return 1;
    }
    return 0;
}

static inline void fz_check_elem(const struct virtq *q, const struct virtq_elem *e)
{
    FZ_ASSERT(e->head < q->size);
    FZ_ASSERT((unsigned)e->n_out + e->n_in <= VIRTQ_MAX_IOV);
    uint64_t out = 0, in = 0;
    for (unsigned i = 0; i < (unsigned)e->n_out + e->n_in; i++) {
        FZ_ASSERT(e->iov[i].iov_len > 0);
        FZ_ASSERT(fz_in_ram(q->mem, e->iov[i].iov_base, e->iov[i].iov_len));
        if (i < e->n_out)
            out += e->iov[i].iov_len;
        else
            in += e->iov[i].iov_len;
    }
    FZ_ASSERT(out == e->out_len);
    FZ_ASSERT(in == e->in_len);
}

/* The input's guest memory (regions as the header above says), each region
 * a malloc of its size. 0, or -1 when there is too little input (nothing
 * is allocated then). Free with fz_mem_free. */
static inline int fz_mem_from_input(const uint8_t *data, size_t size, struct guest_mem *mem)
{
    const uint8_t *h = data;
    data += FZ_HDR_SIZE;
    size -= FZ_HDR_SIZE;
    size_t n0 = fz_le16(h + 10);
    if (n0 == 0 || n0 > size)
        n0 = size;
    if (n0 > FZ_R0_MAX)
        n0 = FZ_R0_MAX;
    size_t n1 = size - n0 < FZ_R1_MAX ? size - n0 : FZ_R1_MAX;
    memset(mem, 0, sizeof(*mem));
    if (n0 < 16)
        return -1;
    mem->n = n1 ? 2 : 1;
    mem->r[0] = (struct mem_region){ .gpa = 0, .size = n0, .hva = malloc(n0) };
    if (n1)
        mem->r[1] = (struct mem_region){ .gpa = FZ_R1_GPA, .size = n1, .hva = malloc(n1) };
    if (!mem->r[0].hva || (n1 && !mem->r[1].hva)) {
        free(mem->r[0].hva);
        free(mem->r[1].hva);
        return -1;
    }
    memcpy(mem->r[0].hva, data, n0);
    if (n1)
        memcpy(mem->r[1].hva, data + n0, n1);
    return 0;
}

static inline void fz_mem_free(struct guest_mem *mem)
{
    free(mem->r[0].hva);
    free(mem->r[1].hva);
}

/* The queue the header describes, not yet initialised. */
static inline struct virtq fz_queue_from_header(const uint8_t *h, const struct guest_mem *mem)
{
    unsigned lg = h[0] & 15;
    uint8_t fl = h[1];
    struct virtq q = {
        .mem = mem,
        .size = (uint16_t)(1u << (lg > 10 ? 10 : lg)),
        .desc_gpa = fz_le16(h + 2),
        .avail_gpa = fz_le16(h + 4),
        .used_gpa = fz_le16(h + 6),
        .event_idx = fl & FZ_EVENT_IDX,
        .indirect = fl & FZ_INDIRECT,
    };
    if (!(fl & FZ_RAW_ADDR)) {
        q.desc_gpa &= ~15ULL;
        q.avail_gpa &= ~1ULL;
        q.used_gpa &= ~3ULL;
    }
    return q;
}

static inline int fuzz_virtq_run(const uint8_t *data, size_t size, fuzz_elem_fn on_elem, void *opaque)
{
    if (size < FZ_HDR_SIZE)
        return 0;
    const uint8_t *h = data;
    struct guest_mem mem;
    static struct virtq_elem e;   /* 16 KiB: not on the stack */
    if (fz_mem_from_input(data, size, &mem) < 0)
        return 0;
    uint8_t fl = h[1];
    struct virtq q = fz_queue_from_header(h, &mem);
    if (virtq_init(&q) < 0) {
        FZ_ASSERT(q.broken);
        FZ_ASSERT(virtq_pop(&q, &e) == -EIO);
        goto out;
    }
    q.last_avail = q.used_idx = q.signalled_used = fz_le16(h + 8);

    for (unsigned step = 0; step < FZ_MAX_STEPS; step++) {
        if ((fl & FZ_NOTIFY) && step % 2)
            virtq_disable_notify(&q);
        int r = virtq_pop(&q, &e);
        if (r < 0) {
            FZ_ASSERT(r == -EIO && q.broken && q.error[0]);
            FZ_ASSERT(virtq_pop(&q, &e) == -EIO);
            FZ_ASSERT(virtq_push(&q, 0, 0) == -EIO);
            break;
        }
        if (r == 0) {
            if ((fl & FZ_NOTIFY) && virtq_enable_notify(&q))
                continue;   /* our own used-ring writes may move avail->idx */
            break;
        }
        fz_check_elem(&q, &e);
        uint32_t written = on_elem(&q, &e, opaque);
        FZ_ASSERT(virtq_push(&q, e.head, written) == 0);
        if (fl & FZ_NOTIFY)
            (void)virtq_should_notify(&q);
    }
out:
    fz_mem_free(&mem);
    return 0;
}
#endif
