/* Split virtqueue, device side: normal chains, indirect tables, used ring,
 * notification suppression, and every malformed-ring case. The rings live
 * in fake guest memory (malloc'd regions of exact size, two of them with a
 * hole between) and small helpers below play the driver. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "virtio/virtq.h"
#include "mem/mem.h"

/* Guest layout: R0 [0, 64K), hole, R1 [0x20000, 0x24000). */
#define R0_GPA    0x0
#define R0_SIZE   0x10000
#define R1_GPA    0x20000
#define R1_SIZE   0x4000
#define DESC_GPA  0x1000
#define AVAIL_GPA 0x2000
#define USED_GPA  0x3000
#define DATA_GPA  0x4000
#define ITAB_GPA  0x8000      /* room for a 1024-entry indirect table */

struct fake {
    struct guest_mem mem;
    struct virtq q;
    uint16_t avail;           /* driver's avail idx */
};

/* ---- driver side helpers ---- */

static uint8_t *gp(struct fake *f, uint64_t gpa)
{
    uint8_t *p = mem_ptr(&f->mem, gpa, 1);
    if (!p)
        abort();
    return p;
}

static void w16(struct fake *f, uint64_t gpa, uint16_t v)
{
    uint8_t *p = gp(f, gpa);
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8);
}

static void w32(struct fake *f, uint64_t gpa, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        gp(f, gpa + i)[0] = (uint8_t)(v >> (8 * i));
}

static void w64(struct fake *f, uint64_t gpa, uint64_t v)
{
    w32(f, gpa, (uint32_t)v);
    w32(f, gpa + 4, (uint32_t)(v >> 32));
}

static uint16_t r16(struct fake *f, uint64_t gpa)
{
    uint8_t *p = gp(f, gpa);
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t r32(struct fake *f, uint64_t gpa)
{
    uint8_t *p = gp(f, gpa);
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* descriptor i of the table at `table` */
static void desc(struct fake *f, uint64_t table, unsigned i, uint64_t addr, uint32_t len,
                 uint16_t flags, uint16_t next)
{
    uint64_t d = table + 16 * (uint64_t)i;
    w64(f, d, addr);
    w32(f, d + 8, len);
    w16(f, d + 12, flags);
    w16(f, d + 14, next);
}

static void avail_add(struct fake *f, uint16_t head)
{
    w16(f, AVAIL_GPA + 4 + 2 * (f->avail & (f->q.size - 1)), head);
    f->avail++;
    w16(f, AVAIL_GPA + 2, f->avail);
}

static void avail_set_idx(struct fake *f, uint16_t idx)
{
    f->avail = idx;
    w16(f, AVAIL_GPA + 2, idx);
}

static uint16_t used_idx(struct fake *f) { return r16(f, USED_GPA + 2); }
static uint16_t used_flags(struct fake *f) { return r16(f, USED_GPA); }
static uint32_t used_id(struct fake *f, unsigned slot) { return r32(f, USED_GPA + 4 + 8 * slot); }
static uint32_t used_len(struct fake *f, unsigned slot) { return r32(f, USED_GPA + 8 + 8 * slot); }
static uint16_t avail_event(struct fake *f) { return r16(f, USED_GPA + 4 + 8 * f->q.size); }
static void set_used_event(struct fake *f, uint16_t v) { w16(f, AVAIL_GPA + 4 + 2 * f->q.size, v); }
static void set_avail_flags(struct fake *f, uint16_t v) { w16(f, AVAIL_GPA, v); }

static int fake_init(struct fake *f, uint16_t size, bool event_idx, bool indirect)
{
    memset(f, 0, sizeof(*f));
    f->mem.n = 2;
    f->mem.r[0] = (struct mem_region){ .gpa = R0_GPA, .size = R0_SIZE, .hva = calloc(1, R0_SIZE) };
    f->mem.r[1] = (struct mem_region){ .gpa = R1_GPA, .size = R1_SIZE, .hva = calloc(1, R1_SIZE) };
    if (!f->mem.r[0].hva || !f->mem.r[1].hva)
        abort();
    f->q.mem = &f->mem;
    f->q.size = size;
    f->q.desc_gpa = DESC_GPA;
    f->q.avail_gpa = AVAIL_GPA;
    f->q.used_gpa = USED_GPA;
    f->q.event_idx = event_idx;
    f->q.indirect = indirect;
    return virtq_init(&f->q);
}

static void fake_free(struct fake *f)
{
    for (int i = 0; i < f->mem.n; i++)
        free(f->mem.r[i].hva);
}

/* the element is big (16 KiB): keep one off the stack */
static struct virtq_elem *elem(void)
{
    static struct virtq_elem e;
    return &e;
}

/* ---- init ---- */

static void t_init_checks(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 8, false, false), 0);
    CHECK(!f.q.broken);
    static const uint16_t bad_sizes[] = { 0, 3, 6, 2048 };
    for (unsigned i = 0; i < sizeof(bad_sizes) / sizeof(bad_sizes[0]); i++) {
        f.q.size = bad_sizes[i];
        CHECK_EQ(virtq_init(&f.q), -EINVAL);
        CHECK(f.q.broken);
        CHECK_EQ(virtq_pop(&f.q, elem()), -EIO);
    }
    f.q.size = 8;
    CHECK_EQ(virtq_init(&f.q), 0);
    f.q.desc_gpa = DESC_GPA + 8;                 /* misaligned */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.desc_gpa = DESC_GPA;
    f.q.avail_gpa = AVAIL_GPA + 1;
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.avail_gpa = AVAIL_GPA;
    f.q.used_gpa = USED_GPA + 2;
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.used_gpa = 0x18000;                      /* in the hole */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    CHECK_EQ(virtq_push(&f.q, 0, 0), -EIO);
    f.q.used_gpa = R0_SIZE - 4 - 8 * 8;          /* fits exactly without event idx */
    CHECK_EQ(virtq_init(&f.q), 0);
    f.q.event_idx = true;                        /* ... and not with avail_event */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.used_gpa = USED_GPA;
    f.q.desc_gpa = R0_SIZE - 16 * 4;             /* table runs past R0 */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.desc_gpa = UINT64_MAX & ~15ULL;          /* wraps */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.desc_gpa = R1_GPA;                       /* rings in different regions: fine */
    f.q.size = 1024;
    CHECK_EQ(virtq_init(&f.q), 0);
    fake_free(&f);
}

/* ---- normal operation ---- */

static void t_empty(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    CHECK_EQ(virtq_pop(&f.q, elem()), 0);
    CHECK_EQ(virtq_pop(&f.q, elem()), 0);
    CHECK(!f.q.broken);
    fake_free(&f);
}

static void t_chain_out_in(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 8, false, false), 0);
    desc(&f, DESC_GPA, 5, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 2);
    desc(&f, DESC_GPA, 2, DATA_GPA + 0x100, 8, VIRTQ_DESC_F_NEXT, 7);
    desc(&f, DESC_GPA, 7, R1_GPA + 0x10, 100, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 0);
    desc(&f, DESC_GPA, 0, R1_GPA + 0x1000, 1, VIRTQ_DESC_F_WRITE, 0);
    avail_add(&f, 5);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 5);
    CHECK_EQ(e->n_out, 2);
    CHECK_EQ(e->n_in, 2);
    CHECK_EQ(e->out_len, 24);
    CHECK_EQ(e->in_len, 101);
    CHECK(e->iov[0].iov_base == gp(&f, DATA_GPA));
    CHECK_EQ(e->iov[0].iov_len, 16);
    CHECK(e->iov[1].iov_base == gp(&f, DATA_GPA + 0x100));
    CHECK(e->iov[2].iov_base == gp(&f, R1_GPA + 0x10));
    CHECK_EQ(e->iov[2].iov_len, 100);
    CHECK(e->iov[3].iov_base == gp(&f, R1_GPA + 0x1000));
    CHECK_EQ(virtq_pop(&f.q, e), 0);
    CHECK_EQ(used_idx(&f), 0);
    CHECK_EQ(virtq_push(&f.q, 5, 50), 0);
    CHECK_EQ(used_idx(&f), 1);
    CHECK_EQ(used_id(&f, 0), 5);
    CHECK_EQ(used_len(&f, 0), 50);
    CHECK_EQ(virtq_push(&f.q, 8, 0), -EINVAL);  /* head >= size: device bug */
    CHECK_EQ(used_idx(&f), 1);
    CHECK(!f.q.broken);
    fake_free(&f);
}

static void t_single_and_batch(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    for (unsigned i = 0; i < 4; i++)
        desc(&f, DESC_GPA, i, DATA_GPA + 0x100 * i, 10 + i, i & 1 ? VIRTQ_DESC_F_WRITE : 0, 0);
    avail_add(&f, 3);
    avail_add(&f, 0);
    avail_add(&f, 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 3);
    CHECK_EQ(e->n_out, 0);
    CHECK_EQ(e->n_in, 1);
    CHECK_EQ(e->in_len, 13);
    avail_add(&f, 2);                            /* arrives mid-batch */
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 0);
    CHECK_EQ(e->n_out, 1);
    CHECK_EQ(e->out_len, 10);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 2);
    CHECK_EQ(virtq_pop(&f.q, e), 0);
    /* the device may complete out of order */
    CHECK_EQ(virtq_push(&f.q, 1, 1), 0);
    CHECK_EQ(virtq_push(&f.q, 3, 3), 0);
    CHECK_EQ(used_id(&f, 0), 1);
    CHECK_EQ(used_id(&f, 1), 3);
    CHECK_EQ(used_len(&f, 1), 3);
    CHECK_EQ(used_idx(&f), 2);
    fake_free(&f);
}

/* push_batch publishes all entries with one index store (across the
 * wrap); bad heads or too many entries write nothing. unpop hands the
 * last pops back in order, also when they were read from a batch. */
static void t_push_batch_unpop(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    for (unsigned i = 0; i < 4; i++)
        desc(&f, DESC_GPA, i, DATA_GPA + 0x100 * i, 16, VIRTQ_DESC_F_WRITE, 0);
    avail_add(&f, 2);
    avail_add(&f, 0);
    avail_add(&f, 3);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 3);
    virtq_unpop(&f.q, 2);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 3);
    CHECK_EQ(virtq_pop(&f.q, e), 0);
    f.q.used_idx = 65534;                        /* the batch crosses the wrap */
    const uint16_t heads[3] = { 2, 0, 3 }, bad[2] = { 1, 4 };
    const uint32_t lens[3] = { 16, 16, 5 };
    CHECK_EQ(virtq_push_batch(&f.q, bad, lens, 2), -EINVAL);
    CHECK_EQ(virtq_push_batch(&f.q, heads, lens, 5), -EINVAL);
    CHECK_EQ(used_idx(&f), 0);
    CHECK_EQ(f.q.used_idx, 65534);
    CHECK_EQ(virtq_push_batch(&f.q, heads, lens, 3), 0);
    CHECK_EQ(used_idx(&f), 1);
    CHECK_EQ(used_id(&f, 2), 2);
    CHECK_EQ(used_id(&f, 3), 0);
    CHECK_EQ(used_id(&f, 0), 3);
    CHECK_EQ(used_len(&f, 0), 5);
    fake_free(&f);
}

static void t_indirect(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    /* table in R1, entries chained out of order: 0 -> 2 -> 1 */
    uint64_t t = R1_GPA + 0x100;
    desc(&f, t, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 2);
    desc(&f, t, 2, DATA_GPA + 0x10, 512, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(&f, t, 1, R1_GPA + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
    /* WRITE on the indirect descriptor itself is ignored */
    desc(&f, DESC_GPA, 1, t, 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    avail_add(&f, 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->head, 1);
    CHECK_EQ(e->n_out, 1);
    CHECK_EQ(e->n_in, 2);
    CHECK_EQ(e->out_len, 4);
    CHECK_EQ(e->in_len, 513);
    CHECK(e->iov[1].iov_base == gp(&f, DATA_GPA + 0x10));
    CHECK(e->iov[2].iov_base == gp(&f, R1_GPA + 0x2000));
    CHECK_EQ(virtq_push(&f.q, 1, 513), 0);
    CHECK_EQ(used_id(&f, 0), 1);
    fake_free(&f);
}

static void t_indirect_ends_chain(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    desc(&f, ITAB_GPA, 0, DATA_GPA + 0x20, 8, VIRTQ_DESC_F_NEXT, 1);
    desc(&f, ITAB_GPA, 1, DATA_GPA + 0x40, 8, VIRTQ_DESC_F_WRITE, 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 16, VIRTQ_DESC_F_NEXT, 3);
    desc(&f, DESC_GPA, 3, ITAB_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(&f, 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->n_out, 2);
    CHECK_EQ(e->n_in, 1);
    CHECK_EQ(e->out_len, 24);
    CHECK_EQ(e->in_len, 8);
    fake_free(&f);
}

/* Zero-length descriptors are skipped: no iov, address never checked, no
 * readable-after-writable rule. */
static void t_zero_length_skipped(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 8, false, false), 0);
    desc(&f, DESC_GPA, 0, 0xdead00000000ULL, 0, VIRTQ_DESC_F_NEXT, 1);
    desc(&f, DESC_GPA, 1, DATA_GPA, 8, VIRTQ_DESC_F_NEXT, 2);
    desc(&f, DESC_GPA, 2, UINT64_MAX, 0, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 3);
    desc(&f, DESC_GPA, 3, DATA_GPA + 8, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 4);
    desc(&f, DESC_GPA, 4, 0, 0, 0, 0);           /* readable, but empty */
    avail_add(&f, 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->n_out, 1);
    CHECK_EQ(e->n_in, 1);
    CHECK_EQ(e->out_len, 8);
    CHECK_EQ(e->in_len, 4);
    /* an all-empty chain is a valid element with no buffers */
    desc(&f, DESC_GPA, 6, 0, 0, 0, 0);
    avail_add(&f, 6);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->n_out + e->n_in, 0);
    fake_free(&f);
}

/* A full-length chain (every descriptor of the queue) is legal. */
static void t_chain_of_queue_size(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 16, false, false), 0);
    for (unsigned i = 0; i < 16; i++)
        desc(&f, DESC_GPA, i, DATA_GPA + i, 1, i == 15 ? 0 : VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    avail_add(&f, 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->n_out, 16);
    fake_free(&f);
}

/* avail and used indexes wrap at 65535; ring slots are idx % size. */
static void t_used_wrap(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    f.q.last_avail = 65534;                      /* as after a snapshot restore */
    f.q.used_idx = 65534;
    f.q.signalled_used = 65534;
    avail_set_idx(&f, 65534);
    for (unsigned i = 0; i < 4; i++)
        desc(&f, DESC_GPA, i, DATA_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
    static const uint16_t want_used[] = { 65535, 0, 1, 2, 3, 4 };
    for (unsigned k = 0; k < 6; k++) {
        avail_add(&f, (uint16_t)(k & 3));
        CHECK_EQ(virtq_pop(&f.q, e), 1);
        CHECK_EQ(e->head, k & 3);
        CHECK_EQ(virtq_push(&f.q, e->head, 100 + k), 0);
        CHECK_EQ(used_idx(&f), want_used[k]);
        unsigned slot = (uint16_t)(want_used[k] - 1) & 3;
        CHECK_EQ(used_id(&f, slot), k & 3);
        CHECK_EQ(used_len(&f, slot), 100 + k);
    }
    CHECK_EQ(f.q.last_avail, 4);
    CHECK_EQ(virtq_pop(&f.q, e), 0);
    /* a full ring across the wrap */
    f.q.last_avail = 65533;
    avail_set_idx(&f, 1);                        /* exactly size (4) ahead */
    for (unsigned k = 0; k < 4; k++)
        CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(virtq_pop(&f.q, e), 0);
    CHECK(!f.q.broken);
    fake_free(&f);
}

/* ---- notifications ---- */

static void t_event_idx_table(void)
{
    static const struct { uint16_t old, new_, event; bool valid, want; } c[] = {
        { 0, 1, 0, true, true },         /* crossed event 0 -> 1 */
        { 0, 1, 1, true, false },        /* not yet past 1 */
        { 0, 5, 3, true, true },
        { 0, 5, 4, true, true },         /* new == event+1: exactly crossed */
        { 0, 5, 5, true, false },
        { 3, 5, 2, true, false },        /* event crossed before the last signal */
        { 3, 5, 3, true, true },
        { 3, 5, 4, true, true },
        { 7, 7, 6, true, false },        /* nothing new */
        { 7, 7, 7, true, false },
        { 65534, 2, 65535, true, true }, /* wrap-around */
        { 65534, 2, 0, true, true },
        { 65534, 2, 1, true, true },
        { 65534, 2, 2, true, false },
        { 65534, 2, 65533, true, false },
        { 0, 1, 1, false, true },        /* bookkeeping invalid: always */
        { 9, 9, 100, false, true },
    };
    struct fake f;
    CHECK_EQ(fake_init(&f, 8, true, false), 0);
    for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        f.q.signalled_used = c[i].old;
        f.q.signalled_valid = c[i].valid;
        f.q.used_idx = c[i].new_;
        set_used_event(&f, c[i].event);
        set_avail_flags(&f, VIRTQ_AVAIL_F_NO_INTERRUPT);   /* ignored with EVENT_IDX */
        bool got = virtq_should_notify(&f.q);
        if (got != c[i].want)
            fprintf(stderr, "  case %u: old %u new %u event %u\n", i, c[i].old, c[i].new_,
                    c[i].event);
        CHECK_EQ(got, c[i].want);
        CHECK_EQ(f.q.signalled_used, c[i].new_);
        CHECK(f.q.signalled_valid);
    }
    fake_free(&f);
}

/* Through push: first batch always notifies; then used_event decides. */
static void t_event_idx_push(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 8, true, false), 0);
    set_used_event(&f, 100);
    CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK(virtq_should_notify(&f.q));            /* never signalled yet */
    CHECK(!virtq_should_notify(&f.q));           /* nothing new */
    CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK(!virtq_should_notify(&f.q));           /* used 2, event 100 */
    set_used_event(&f, 2);
    CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK(virtq_should_notify(&f.q));            /* 2 -> 4 crosses 2 */
    /* 2^15 pushes without a signal make the comparison ambiguous */
    set_used_event(&f, 3);
    for (unsigned i = 0; i < 32768; i++)
        CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK(!f.q.signalled_valid);
    CHECK(virtq_should_notify(&f.q));
    fake_free(&f);
}

static void t_no_interrupt(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    CHECK_EQ(virtq_push(&f.q, 1, 0), 0);
    set_avail_flags(&f, VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK(!virtq_should_notify(&f.q));
    CHECK_EQ(virtq_push(&f.q, 1, 0), 0);
    set_avail_flags(&f, 0);
    CHECK(virtq_should_notify(&f.q));
    CHECK(!virtq_should_notify(&f.q));           /* no new used entries */
    set_used_event(&f, 77);                      /* ignored without EVENT_IDX */
    CHECK_EQ(virtq_push(&f.q, 1, 0), 0);
    CHECK(virtq_should_notify(&f.q));
    fake_free(&f);
}

static void t_enable_disable_flags(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    virtq_disable_notify(&f.q);
    CHECK_EQ(used_flags(&f), VIRTQ_USED_F_NO_NOTIFY);
    CHECK(!virtq_enable_notify(&f.q));           /* ring empty */
    CHECK_EQ(used_flags(&f), 0);
    virtq_disable_notify(&f.q);
    avail_add(&f, 0);                            /* races with the re-enable */
    CHECK(virtq_enable_notify(&f.q));
    CHECK_EQ(used_flags(&f), 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK(!virtq_enable_notify(&f.q));
    fake_free(&f);
}

static void t_enable_disable_event_idx(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, true, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    w16(&f, USED_GPA + 4 + 8 * 4, 0x5555);
    virtq_disable_notify(&f.q);                  /* no-op with EVENT_IDX */
    CHECK_EQ(avail_event(&f), 0x5555);
    CHECK_EQ(used_flags(&f), 0);
    CHECK(!virtq_enable_notify(&f.q));
    CHECK_EQ(avail_event(&f), 0);
    avail_add(&f, 0);
    avail_add(&f, 0);
    CHECK(virtq_enable_notify(&f.q));
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK(!virtq_enable_notify(&f.q));
    CHECK_EQ(avail_event(&f), 2);
    CHECK_EQ(used_flags(&f), 0);
    fake_free(&f);
}

/* The worker loop from virtq.h drains everything, including late arrivals. */
static void t_worker_loop(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 8, true, false), 0);
    for (unsigned i = 0; i < 8; i++)
        desc(&f, DESC_GPA, i, DATA_GPA, 4, VIRTQ_DESC_F_WRITE, 0);
    avail_add(&f, 0);
    avail_add(&f, 1);
    unsigned done = 0, rounds = 0, irqs = 0;
    do {
        virtq_disable_notify(&f.q);
        while (virtq_pop(&f.q, e) == 1) {
            CHECK_EQ(virtq_push(&f.q, e->head, 4), 0);
            done++;
        }
        if (virtq_should_notify(&f.q))
            irqs++;
        if (rounds++ == 0)
            avail_add(&f, 2);                    /* lands before enable */
    } while (!f.q.broken && virtq_enable_notify(&f.q));
    CHECK_EQ(done, 3);
    CHECK_EQ(rounds, 2);
    CHECK_EQ(irqs, 1);                           /* used_event stayed 0 */
    CHECK_EQ(used_idx(&f), 3);
    CHECK_EQ(avail_event(&f), 3);
    fake_free(&f);
}

/* ---- malformed rings: each one breaks the queue for good ---- */

static int expect_broken(struct fake *f, const char *what)
{
    struct virtq_elem *e = elem();
    uint16_t uidx = used_idx(f);
    int r = virtq_pop(&f->q, e);
    if (r != -EIO || !f->q.broken || !f->q.error[0] || !strstr(f->q.error, what)) {
        fprintf(stderr, "  pop=%d broken=%d error='%s' (wanted '%s')\n", r, f->q.broken,
                f->q.error, what);
        return 0;
    }
    if (virtq_pop(&f->q, e) != -EIO || virtq_push(&f->q, 0, 0) != -EIO)
        return 0;
    if (virtq_enable_notify(&f->q))
        return 0;
    if (used_idx(f) != uidx)
        return 0;
    /* re-init (a device reset) makes it usable again */
    if (virtq_init(&f->q) != 0 || f->q.broken)
        return 0;
    return 1;
}

static void t_bad_avail_jump(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    avail_set_idx(&f, 5);
    CHECK(expect_broken(&f, "avail idx"));
    avail_set_idx(&f, 65535);                    /* "backwards" */
    CHECK(expect_broken(&f, "avail idx"));
    fake_free(&f);
}

static void t_bad_avail_jump_later(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    avail_add(&f, 0);
    avail_add(&f, 0);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    avail_set_idx(&f, 7);                        /* 5 past last_avail 2 */
    CHECK(expect_broken(&f, "avail idx"));
    fake_free(&f);
}

static void t_bad_head(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    avail_add(&f, 4);
    CHECK(expect_broken(&f, "head 4"));
    fake_free(&f);
}

static void t_bad_next(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 4);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "next 4"));
    fake_free(&f);
}

static void t_bad_loop(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(&f, DESC_GPA, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "loop"));
    /* a self-loop of empty descriptors adds no buffers but still ends */
    desc(&f, DESC_GPA, 2, 0, 0, VIRTQ_DESC_F_NEXT, 2);
    avail_set_idx(&f, 0);
    avail_add(&f, 2);
    CHECK(expect_broken(&f, "loop"));
    fake_free(&f);
}

static void t_bad_indirect_loop_and_next(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    desc(&f, ITAB_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 1);
    desc(&f, ITAB_GPA, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 0);
    desc(&f, DESC_GPA, 0, ITAB_GPA, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "loop"));
    desc(&f, ITAB_GPA, 1, DATA_GPA, 4, VIRTQ_DESC_F_NEXT, 2);  /* past the 2-entry table */
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "next 2"));
    fake_free(&f);
}

static void t_bad_indirect_flags(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    desc(&f, ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    desc(&f, DESC_GPA, 1, DATA_GPA, 4, 0, 0);
    desc(&f, DESC_GPA, 0, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "NEXT"));
    /* indirect inside indirect */
    desc(&f, ITAB_GPA, 0, ITAB_GPA + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
    desc(&f, DESC_GPA, 0, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "inside indirect"));
    /* not negotiated */
    desc(&f, ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    f.q.indirect = false;
    CHECK_EQ(virtq_init(&f.q), 0);
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "not negotiated"));
    fake_free(&f);
}

static void t_bad_indirect_len(void)
{
    static const uint32_t lens[] = { 0, 8, 17, 16 * 3 + 1, 16 * (VIRTQ_MAX_IOV + 1), UINT32_MAX };
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        desc(&f, DESC_GPA, 0, ITAB_GPA, lens[i], VIRTQ_DESC_F_INDIRECT, 0);
        avail_set_idx(&f, 0);
        avail_add(&f, 0);
        CHECK(expect_broken(&f, "indirect table length"));
    }
    /* a table in the hole / straddling the end of R0 */
    desc(&f, DESC_GPA, 0, 0x18000, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "outside RAM"));
    desc(&f, DESC_GPA, 0, R0_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "outside RAM"));
    fake_free(&f);
}

static void t_bad_addr_overflow(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, UINT64_MAX - 0xf, 0x20, 0, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "overflows"));
    fake_free(&f);
}

static void t_bad_buffer_region(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    desc(&f, DESC_GPA, 0, R0_SIZE - 0x100, 0x200, 0, 0);   /* runs into the hole */
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "RAM region"));
    desc(&f, DESC_GPA, 0, 0x18000, 4, VIRTQ_DESC_F_WRITE, 0);   /* in the hole */
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "RAM region"));
    desc(&f, DESC_GPA, 0, R1_GPA + R1_SIZE, 1, 0, 0);          /* just past R1 */
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "RAM region"));
    fake_free(&f);
}

static void t_bad_order(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(&f, DESC_GPA, 1, DATA_GPA, 4, 0, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "readable after"));
    /* the same across the switch into an indirect table */
    desc(&f, ITAB_GPA, 0, DATA_GPA, 4, 0, 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(&f, DESC_GPA, 1, ITAB_GPA, 16, VIRTQ_DESC_F_INDIRECT, 0);
    avail_set_idx(&f, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "readable after"));
    fake_free(&f);
}

static void t_bad_too_many_buffers(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    /* VIRTQ_MAX_IOV buffers from one indirect table: the limit, accepted */
    for (unsigned i = 0; i < VIRTQ_MAX_IOV; i++)
        desc(&f, ITAB_GPA, i, DATA_GPA + i, 1, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
             (uint16_t)(i + 1));
    desc(&f, ITAB_GPA, VIRTQ_MAX_IOV - 1, DATA_GPA, 1, VIRTQ_DESC_F_WRITE, 0);
    desc(&f, DESC_GPA, 1, ITAB_GPA, 16 * VIRTQ_MAX_IOV, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(&f, 1);
    CHECK_EQ(virtq_pop(&f.q, e), 1);
    CHECK_EQ(e->n_in, VIRTQ_MAX_IOV);
    CHECK_EQ(e->in_len, VIRTQ_MAX_IOV);
    /* one direct buffer before it makes VIRTQ_MAX_IOV + 1 */
    desc(&f, DESC_GPA, 0, DATA_GPA, 1, VIRTQ_DESC_F_NEXT, 1);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "more than"));
    fake_free(&f);
}

/* Buffers may alias; more than 4 GiB in total cannot be described by the
 * element's u32 totals. */
static void t_bad_total_length(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 4, false, true), 0);
    const uint64_t big_gpa = 0x100000000ULL, big = 4 << 20;
    uint8_t *hva = malloc(big);                  /* never touched by virtq */
    CHECK(hva != NULL);
    f.mem.r[2] = (struct mem_region){ .gpa = big_gpa, .size = big, .hva = hva };
    f.mem.n = 3;
    for (unsigned i = 0; i < VIRTQ_MAX_IOV; i++)
        desc(&f, ITAB_GPA, i, big_gpa, big, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(&f, ITAB_GPA, VIRTQ_MAX_IOV - 1, big_gpa, big, 0, 0);
    desc(&f, DESC_GPA, 0, ITAB_GPA, 16 * VIRTQ_MAX_IOV, VIRTQ_DESC_F_INDIRECT, 0);
    avail_add(&f, 0);
    CHECK(expect_broken(&f, "4 GiB"));
    fake_free(&f);
}

/* A broken queue stays broken even when the guest repairs the ring. */
static void t_broken_is_sticky(void)
{
    struct fake f;
    struct virtq_elem *e = elem();
    CHECK_EQ(fake_init(&f, 4, false, false), 0);
    avail_add(&f, 9);
    CHECK_EQ(virtq_pop(&f.q, e), -EIO);
    w16(&f, AVAIL_GPA + 4, 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    CHECK_EQ(virtq_pop(&f.q, e), -EIO);
    CHECK(f.q.broken);
    CHECK(strstr(f.q.error, "head 9") != NULL);
    fake_free(&f);
}

/* The debug line shows the device's indices and the driver's view. */
static void t_describe(void)
{
    struct fake f;
    char line[256];
    CHECK_EQ(fake_init(&f, 8, true, false), 0);
    desc(&f, DESC_GPA, 0, DATA_GPA, 4, 0, 0);
    avail_add(&f, 0);
    avail_add(&f, 0);
    set_used_event(&f, 5);
    CHECK_EQ(virtq_pop(&f.q, elem()), 1);
    CHECK_EQ(virtq_push(&f.q, 0, 0), 0);
    CHECK(virtq_enable_notify(&f.q));
    virtq_describe(&f.q, line, sizeof(line));
    CHECK(strstr(line, "size 8 last_avail 1 used 1 signalled 0") != NULL);
    CHECK(strstr(line, "avail idx 2 flags 0 used_event 5") != NULL);
    CHECK(strstr(line, "device: used idx 1 flags 0 avail_event 1") != NULL);
    f.q.used_hva = NULL;
    virtq_describe(&f.q, line, sizeof(line));
    CHECK(strstr(line, "not set up") != NULL);
    fake_free(&f);
}

/* Rings laid over each other make the queue unusable (its own used-ring
 * writes would change what it reads); adjacent rings are fine. */
static void t_rings_overlap(void)
{
    struct fake f;
    CHECK_EQ(fake_init(&f, 8, false, false), 0);
    f.q.used_gpa = f.q.avail_gpa;
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    CHECK(f.q.broken);
    CHECK(strstr(f.q.error, "rings overlap") != NULL);
    f.q.used_gpa = USED_GPA;
    f.q.avail_gpa = DESC_GPA + 16 * 8 - 2;      /* into the table's last entry */
    CHECK_EQ(virtq_init(&f.q), -EINVAL);
    f.q.avail_gpa = DESC_GPA + 16 * 8;          /* right after it */
    CHECK_EQ(virtq_init(&f.q), 0);
    CHECK(!f.q.broken);
    fake_free(&f);
}

int main(void)
{
    RUN(t_rings_overlap);
    RUN(t_describe);
    RUN(t_init_checks);
    RUN(t_empty);
    RUN(t_chain_out_in);
    RUN(t_single_and_batch);
    RUN(t_push_batch_unpop);
    RUN(t_indirect);
    RUN(t_indirect_ends_chain);
    RUN(t_zero_length_skipped);
    RUN(t_chain_of_queue_size);
    RUN(t_used_wrap);
    RUN(t_event_idx_table);
    RUN(t_event_idx_push);
    RUN(t_no_interrupt);
    RUN(t_enable_disable_flags);
    RUN(t_enable_disable_event_idx);
    RUN(t_worker_loop);
    RUN(t_bad_avail_jump);
    RUN(t_bad_avail_jump_later);
    RUN(t_bad_head);
    RUN(t_bad_next);
    RUN(t_bad_loop);
    RUN(t_bad_indirect_loop_and_next);
    RUN(t_bad_indirect_flags);
    RUN(t_bad_indirect_len);
    RUN(t_bad_addr_overflow);
    RUN(t_bad_buffer_region);
    RUN(t_bad_order);
    RUN(t_bad_too_many_buffers);
    RUN(t_bad_total_length);
    RUN(t_broken_is_sticky);
    return harness_done();
}
