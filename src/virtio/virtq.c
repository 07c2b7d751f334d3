/* Split virtqueue, device side (virtio 1.2 section 2.7).
 *
 * The driver may rewrite any ring byte at any time, so every guest field is
 * fetched exactly once into a local (guest_load/desc_load end with a
 * compiler barrier so the compiler cannot re-fetch it either) and only the
 * local is checked and used. Guest addresses become host pointers only via
 * mem_ptr(), which checks wrap-around and that the range lies in one RAM
 * region. Any malformed input marks the queue broken; nothing here aborts. */
#include "virtio/virtq.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

/* ---- little-endian guest fields ---- */

static inline uint16_t le16_cpu(uint16_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap16(v);
#else
    return v;
#endif
}

static inline uint32_t le32_cpu(uint32_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap32(v);
#else
    return v;
#endif
}

static inline uint64_t le64_cpu(uint64_t v)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return __builtin_bswap64(v);
#else
    return v;
#endif
}

/* Aligned 16-bit guest field (virtq_init checked the ring alignment), read
 * once. */
static inline uint16_t guest_load16(const uint8_t *p)
{
    return le16_cpu(__atomic_load_n((const uint16_t *)(const void *)p, __ATOMIC_RELAXED));
}

static inline void guest_store16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)(void *)p, le16_cpu(v), __ATOMIC_RELAXED);
}

static inline void guest_store32(uint8_t *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)(void *)p, le32_cpu(v), __ATOMIC_RELAXED);
}

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* One descriptor copied out of guest memory (indirect tables need not be
 * aligned, hence memcpy); the barrier pins the single fetch. */
static inline void desc_load(struct desc *d, const uint8_t *p)
{
    uint8_t raw[VIRTQ_DESC_SIZE];
    memcpy(raw, p, sizeof(raw));
    compiler_barrier();
    uint64_t a; uint32_t l; uint16_t f, n;
    memcpy(&a, raw, 8);
    memcpy(&l, raw + 8, 4);
    memcpy(&f, raw + 12, 2);
    memcpy(&n, raw + 14, 2);
    d->addr = le64_cpu(a);
    d->len = le32_cpu(l);
    d->flags = le16_cpu(f);
    d->next = le16_cpu(n);
}

/* ---- ring field locations ---- */

static inline uint8_t *avail_flags(const struct virtq *q) { return q->avail_hva; }
static inline uint8_t *avail_idx(const struct virtq *q) { return q->avail_hva + 2; }
static inline uint8_t *avail_ring(const struct virtq *q, uint16_t i)
{
    return q->avail_hva + 4 + 2 * (size_t)i;
}
static inline uint8_t *used_event(const struct virtq *q) { return avail_ring(q, q->size); }
static inline uint8_t *used_flags(const struct virtq *q) { return q->used_hva; }
static inline uint8_t *used_idx(const struct virtq *q) { return q->used_hva + 2; }
static inline uint8_t *used_elem(const struct virtq *q, uint16_t i)
{
    return q->used_hva + 4 + 8 * (size_t)i;
}
static inline uint8_t *avail_event(const struct virtq *q) { return used_elem(q, q->size); }

/* ---- errors ---- */

__attribute__((cold, format(printf, 2, 3)))
static int virtq_fail(struct virtq *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->error, sizeof(q->error), fmt, ap);
    va_end(ap);
    q->broken = true;
    return -EIO;
}

/* ---- setup ---- */

static uint8_t *ring_map(const struct virtq *q, uint64_t gpa, uint64_t len, uint64_t align)
{
    if (gpa & (align - 1))
        return NULL;
    uint8_t *p = mem_ptr(q->mem, gpa, len);
    if (!p || ((uintptr_t)p & (align - 1)))   /* host view must be aligned too */
        return NULL;
    return p;
}

int virtq_init(struct virtq *q)
{
    q->last_avail = 0;
    q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_valid = false;
    q->avail_ready = 0;
    q->error[0] = '\0';
    q->desc_hva = q->avail_hva = q->used_hva = NULL;
    q->broken = true;   /* until the checks below pass */

    if (!q->mem || q->size == 0 || q->size > VIRTQ_MAX_SIZE || (q->size & (q->size - 1))) {
        snprintf(q->error, sizeof(q->error), "bad queue size %u", q->size);
        return -EINVAL;
    }
    uint8_t *d = ring_map(q, q->desc_gpa, VIRTQ_DESC_BYTES(q->size), VIRTQ_DESC_ALIGN);
    uint8_t *a = ring_map(q, q->avail_gpa, VIRTQ_AVAIL_BYTES(q->size, q->event_idx),
                          VIRTQ_AVAIL_ALIGN);
    uint8_t *u = ring_map(q, q->used_gpa, VIRTQ_USED_BYTES(q->size, q->event_idx),
                          VIRTQ_USED_ALIGN);
    if (!d || !a || !u) {
        snprintf(q->error, sizeof(q->error),
                 "%s ring misaligned or outside RAM (desc 0x%llx avail 0x%llx used 0x%llx size %u)",
                 !d ? "descriptor" : !a ? "available" : "used",
                 (unsigned long long)q->desc_gpa, (unsigned long long)q->avail_gpa,
                 (unsigned long long)q->used_gpa, q->size);
        return -EINVAL;
    }
    /* The device writes the used ring: laid over the other two, its own
     * writes would rewrite what it reads next (a worker could then chase
     * buffers for ever). No driver does this. */
    const struct { uint64_t gpa, len; } r[3] = {
        { q->desc_gpa, VIRTQ_DESC_BYTES(q->size) },
        { q->avail_gpa, VIRTQ_AVAIL_BYTES(q->size, q->event_idx) },
        { q->used_gpa, VIRTQ_USED_BYTES(q->size, q->event_idx) },
    };
    for (int i = 0; i < 3; i++) {
        for (int j = i + 1; j < 3; j++) {
            if (r[i].gpa < r[j].gpa + r[j].len && r[j].gpa < r[i].gpa + r[i].len) {
                snprintf(q->error, sizeof(q->error), "rings overlap (desc 0x%llx avail 0x%llx "
                         "used 0x%llx size %u)", (unsigned long long)q->desc_gpa,
                         (unsigned long long)q->avail_gpa, (unsigned long long)q->used_gpa,
                         q->size);
                return -EINVAL;
            }
        }
    }
    q->desc_hva = d;
    q->avail_hva = a;
    q->used_hva = u;
    q->broken = false;
    return 0;
}

/* ---- pop ---- */

int virtq_pop(struct virtq *q, struct virtq_elem *e)
{
    if (unlikely(q->broken || !q->avail_hva))
        return -EIO;

    const uint16_t size = q->size;
    if (q->avail_ready == 0) {
        uint16_t idx = guest_load16(avail_idx(q));
        uint16_t n = (uint16_t)(idx - q->last_avail);
        if (n == 0)
            return 0;
        if (unlikely(n > size))
            return virtq_fail(q, "avail idx %u is %u entries past last_avail %u (size %u)",
                              idx, n, q->last_avail, size);
        /* the ring entries (and descriptors) the driver published before
         * writing avail->idx must be read after it */
        atomic_thread_fence(memory_order_acquire);
        q->avail_ready = n;
    }

    uint16_t head = guest_load16(avail_ring(q, q->last_avail & (size - 1)));
    if (unlikely(head >= size))
        return virtq_fail(q, "avail[%u] head %u >= size %u", q->last_avail, head, size);

    const uint8_t *table = q->desc_hva;
    uint32_t max = size;          /* entries in the current table */
    uint32_t steps = 1;           /* descriptors walked in the current table */
    uint32_t n = 0, n_out = 0;
    uint64_t out_len = 0, in_len = 0;
    bool in_indirect = false;
    uint16_t i = head;

    for (;;) {
        struct desc d;
        desc_load(&d, table + (size_t)i * VIRTQ_DESC_SIZE);

        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (unlikely(!q->indirect))
                return virtq_fail(q, "desc %u: indirect not negotiated", i);
            if (unlikely(in_indirect))
                return virtq_fail(q, "desc %u: indirect inside indirect table", i);
            if (unlikely(d.flags & VIRTQ_DESC_F_NEXT))
                return virtq_fail(q, "desc %u: indirect with NEXT", i);
            if (unlikely(d.len == 0 || d.len % VIRTQ_DESC_SIZE ||
                         d.len / VIRTQ_DESC_SIZE > VIRTQ_MAX_IOV))
                return virtq_fail(q, "desc %u: bad indirect table length %u", i, d.len);
            const uint8_t *t = mem_ptr(q->mem, d.addr, d.len);
            if (unlikely(!t))
                return virtq_fail(q, "desc %u: indirect table 0x%llx+%u outside RAM", i,
                                  (unsigned long long)d.addr, d.len);
            /* WRITE on the indirect descriptor itself is ignored (spec) */
            table = t;
            max = d.len / VIRTQ_DESC_SIZE;
            steps = 1;
            in_indirect = true;
            i = 0;
            continue;
        }

        if (likely(d.len != 0)) {
            void *p = mem_ptr(q->mem, d.addr, d.len);
            if (unlikely(!p)) {
                if (d.addr + d.len < d.addr)
                    return virtq_fail(q, "desc %u: addr 0x%llx + len %u overflows", i,
                                      (unsigned long long)d.addr, d.len);
                return virtq_fail(q, "desc %u: buffer 0x%llx+%u not in one RAM region", i,
                                  (unsigned long long)d.addr, d.len);
            }
            if (unlikely(n >= VIRTQ_MAX_IOV))
                return virtq_fail(q, "more than %u buffers in one request", VIRTQ_MAX_IOV);
            if (d.flags & VIRTQ_DESC_F_WRITE) {
                in_len += d.len;
            } else {
                if (unlikely(n != n_out))
                    return virtq_fail(q, "desc %u: device-readable after device-writable", i);
                n_out++;
                out_len += d.len;
            }
            e->iov[n].iov_base = p;
            e->iov[n].iov_len = d.len;
            n++;
        }

        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (unlikely(d.next >= max))
            return virtq_fail(q, "desc %u: next %u >= %s size %u", i, d.next,
                              in_indirect ? "indirect table" : "queue", max);
        if (unlikely(++steps > max))
            return virtq_fail(q, "descriptor chain from head %u longer than %u (loop)",
                              head, max);
        i = d.next;
    }

    /* at most VIRTQ_MAX_IOV buffers of < 4 GiB each: no u64 overflow */
    if (unlikely(out_len > UINT32_MAX || in_len > UINT32_MAX))
        return virtq_fail(q, "head %u: total buffer length over 4 GiB", head);

    e->head = head;
    e->n_out = (uint16_t)n_out;
    e->n_in = (uint16_t)(n - n_out);
    e->out_len = (uint32_t)out_len;
    e->in_len = (uint32_t)in_len;
    q->last_avail++;
    q->avail_ready--;
    return 1;
}

/* ---- push / notify ---- */

int virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    if (unlikely(q->broken || !q->used_hva))
        return -EIO;
    if (unlikely(head >= q->size))
        return -EINVAL;
    uint16_t old = q->used_idx;
    uint8_t *el = used_elem(q, old & (q->size - 1));
    guest_store32(el, head);
    guest_store32(el + 4, written);
    /* the element must be visible before the index that publishes it */
    atomic_thread_fence(memory_order_release);
    uint16_t new = (uint16_t)(old + 1);
    guest_store16(used_idx(q), new);
    q->used_idx = new;
    /* after 2^15 un-signalled pushes the used_event comparison is
     * ambiguous: force the next should_notify to say yes */
    if (unlikely((int16_t)(new - q->signalled_used) < (uint16_t)(new - old)))
        q->signalled_valid = false;
    return 0;
}

int virtq_push_batch(struct virtq *q, const uint16_t *heads, const uint32_t *written, unsigned n)
{
    if (unlikely(q->broken || !q->used_hva))
        return -EIO;
    if (unlikely(n > q->size))
        return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        if (unlikely(heads[i] >= q->size))
            return -EINVAL;
    uint16_t old = q->used_idx;
    for (unsigned i = 0; i < n; i++) {
        uint8_t *el = used_elem(q, (uint16_t)(old + i) & (q->size - 1));
        guest_store32(el, heads[i]);
        guest_store32(el + 4, written[i]);
    }
    /* the elements must be visible before the index that publishes them */
    atomic_thread_fence(memory_order_release);
    uint16_t new = (uint16_t)(old + n);
    guest_store16(used_idx(q), new);
    q->used_idx = new;
    if (unlikely((int16_t)(new - q->signalled_used) < (uint16_t)(new - old)))
        q->signalled_valid = false;
    return 0;
}

void virtq_unpop(struct virtq *q, unsigned n)
{
    q->last_avail = (uint16_t)(q->last_avail - n);
    q->avail_ready = (uint16_t)(q->avail_ready + n);
}

bool virtq_should_notify(struct virtq *q)
{
    if (unlikely(!q->used_hva))
        return false;
    uint16_t old = q->signalled_used, new = q->used_idx;
    bool valid = q->signalled_valid;
    q->signalled_used = new;
    q->signalled_valid = true;
    /* used->idx written before avail flags / used_event are read */
    atomic_thread_fence(memory_order_seq_cst);
    if (!q->event_idx) {
        if (valid && new == old)
            return false;    /* nothing new since the last interrupt */
        return !(guest_load16(avail_flags(q)) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    }
    if (!valid)
        return true;
    uint16_t event = guest_load16(used_event(q));
    return (uint16_t)(new - event - 1) < (uint16_t)(new - old);
}

bool virtq_enable_notify(struct virtq *q)
{
    if (unlikely(q->broken || !q->used_hva))
        return false;
    if (q->event_idx)
        guest_store16(avail_event(q), q->last_avail);
    else
        guest_store16(used_flags(q), 0);
    /* publish the request before looking for buffers that raced with it */
    atomic_thread_fence(memory_order_seq_cst);
    return guest_load16(avail_idx(q)) != q->last_avail;
}

void virtq_disable_notify(struct virtq *q)
{
    if (unlikely(q->broken || !q->used_hva))
        return;
    if (!q->event_idx)
        guest_store16(used_flags(q), VIRTQ_USED_F_NO_NOTIFY);
}

void virtq_describe(const struct virtq *q, char *buf, size_t len)
{
    if (!q->avail_hva || !q->used_hva) {
        snprintf(buf, len, "size %u, not set up", q->size);
        return;
    }
    snprintf(buf, len, "size %u last_avail %u used %u signalled %u%s%s | driver: avail idx %u "
             "flags %#x used_event %u | device: used idx %u flags %#x avail_event %u",
             q->size, q->last_avail, q->used_idx, q->signalled_used,
             q->signalled_valid ? "" : " (invalid)", q->broken ? " BROKEN" : "",
             guest_load16(avail_idx(q)), guest_load16(avail_flags(q)), guest_load16(used_event(q)),
             guest_load16(used_idx(q)), guest_load16(used_flags(q)), guest_load16(avail_event(q)));
}

bool virtq_has_avail(const struct virtq *q)
{
    if (unlikely(q->broken || !q->avail_hva))
        return false;
    return guest_load16(avail_idx(q)) != q->last_avail;
}
