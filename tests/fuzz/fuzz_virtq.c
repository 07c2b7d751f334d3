/* libFuzzer target: the split virtqueue (src/virtio/virtq.c) on a guest
 * memory image taken from the input; see fuzz_common.h for the format.
 * Besides the explicit in-RAM check, the first and last byte of every
 * popped buffer is read (out) or written (in), so ASan also sees any iov
 * that strays out of its region (bounded work: a request may name 64 MiB). */
#include "fuzz_common.h"

static uint32_t touch_elem(const struct virtq *q, const struct virtq_elem *e, void *opaque)
{
    uint8_t sum = 0;
    for (unsigned i = 0; i < e->n_out; i++) {
        const volatile uint8_t *p = e->iov[i].iov_base;
        sum += p[0] + p[e->iov[i].iov_len - 1];
    }
    for (unsigned i = e->n_out; i < (unsigned)e->n_out + e->n_in; i++) {
        volatile uint8_t *p = e->iov[i].iov_base;
        p[0] = sum;
        p[e->iov[i].iov_len - 1] = sum;
    }
    return e->in_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return fuzz_virtq_run(data, size, touch_elem, NULL);
}
