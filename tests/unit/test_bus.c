/* Bus range registration and lookup; guest memory bounds checks. */
#include <errno.h>
#include <stdint.h>

#include "bus/bus.h"
#include "harness.h"
#include "mem/mem.h"

struct rec { int hits; uint64_t off; uint32_t len; bool w; };

static void rec_io(void *o, uint64_t off, uint8_t *d, uint32_t len, bool w)
{
    struct rec *r = o;
    r->hits++; r->off = off; r->len = len; r->w = w;
    if (!w)
        memset(d, 0xab, len);
}

static void t_register_and_find(void)
{
    struct bus b = { 0 };
    struct rec a = { 0 }, c = { 0 };
    CHECK_EQ(bus_register(&b, 0x3f8, 8, rec_io, &a, "a"), 0);
    CHECK_EQ(bus_register(&b, 0x60, 1, rec_io, &c, "c"), 0);
    CHECK(bus_find(&b, 0x3f8, 1) != NULL);
    CHECK(bus_find(&b, 0x3ff, 1) != NULL);
    CHECK(bus_find(&b, 0x400, 1) == NULL);
    CHECK(bus_find(&b, 0x3f7, 1) == NULL);
    CHECK(bus_find(&b, 0x3fe, 4) == NULL);     /* straddles the end */
    CHECK(bus_find(&b, 0x60, 1)->opaque == &c);
    uint8_t d[4];
    CHECK(bus_access(&b, 0x3fa, d, 1, false));
    CHECK_EQ(a.off, 2);
    CHECK_EQ(d[0], 0xab);
    CHECK(!bus_access(&b, 0x1234, d, 4, false));
    CHECK_EQ(d[0], 0xff);                      /* unclaimed read: all-ones */
    CHECK_EQ(d[3], 0xff);
    bus_free(&b);
}

static void t_overlap_and_bad_ranges(void)
{
    struct bus b = { 0 };
    struct rec a = { 0 };
    CHECK_EQ(bus_register(&b, 0x100, 0x10, rec_io, &a, "a"), 0);
    CHECK_EQ(bus_register(&b, 0x10f, 1, rec_io, &a, "x"), -EEXIST);
    CHECK_EQ(bus_register(&b, 0xf8, 0x10, rec_io, &a, "x"), -EEXIST);
    CHECK_EQ(bus_register(&b, 0x100, 0x10, rec_io, &a, "x"), -EEXIST);
    CHECK_EQ(bus_register(&b, 0x0, 0x1000, rec_io, &a, "x"), -EEXIST);
    CHECK_EQ(bus_register(&b, 0x110, 1, rec_io, &a, "adjacent"), 0);
    CHECK_EQ(bus_register(&b, 0xff, 1, rec_io, &a, "adjacent"), 0);
    CHECK_EQ(bus_register(&b, 0x5, 0, rec_io, &a, "empty"), -EINVAL);
    CHECK_EQ(bus_register(&b, UINT64_MAX - 1, 4, rec_io, &a, "wraps"), -EINVAL);
    CHECK_EQ(bus_register(&b, UINT64_MAX, 1, rec_io, &a, "last byte"), 0);
    CHECK(bus_find(&b, UINT64_MAX, 1) != NULL);
    CHECK(bus_find(&b, UINT64_MAX, 2) == NULL);
    bus_free(&b);
}

static void t_many_ranges_sorted(void)
{
    struct bus b = { 0 };
    struct rec r[100];
    memset(r, 0, sizeof(r));
    for (int i = 99; i >= 0; i--)                /* reverse order: exercises insertion */
        CHECK_EQ(bus_register(&b, 0xd0000000ULL + (uint64_t)i * 0x1000, 0x1000, rec_io, &r[i], "v"), 0);
    for (int i = 0; i < 100; i++) {
        const struct bus_range *f = bus_find(&b, 0xd0000000ULL + (uint64_t)i * 0x1000 + 0x70, 4);
        CHECK(f && f->opaque == &r[i]);
    }
    bus_free(&b);
}

static void t_mem_ptr_bounds(void)
{
    static uint8_t lo[4096], hi[4096];
    struct guest_mem m = { .n = 2 };
    m.r[0] = (struct mem_region){ 0, sizeof(lo), lo };
    m.r[1] = (struct mem_region){ 1ULL << 32, sizeof(hi), hi };
    CHECK(mem_ptr(&m, 0, 4096) == lo);
    CHECK(mem_ptr(&m, 4095, 1) == lo + 4095);
    CHECK(mem_ptr(&m, 4095, 2) == NULL);          /* runs off the region */
    CHECK(mem_ptr(&m, 4096, 1) == NULL);          /* hole */
    CHECK(mem_ptr(&m, 0, 0) == NULL);
    CHECK(mem_ptr(&m, UINT64_MAX, 2) == NULL);    /* wraps */
    CHECK(mem_ptr(&m, 1ULL << 32, 16) == hi);
    CHECK(mem_ptr(&m, (1ULL << 32) + 10, UINT64_MAX - 5) == NULL);
    uint32_t v = 0x11223344, w = 0;
    CHECK_EQ(mem_write(&m, 100, &v, 4), 0);
    CHECK_EQ(mem_read(&m, 100, &w, 4), 0);
    CHECK_EQ(w, v);
    CHECK_EQ(mem_write(&m, 4094, &v, 4), -EFAULT);
    CHECK_EQ(mem_total(&m), 8192);
}

int main(void)
{
    RUN(t_register_and_find);
    RUN(t_overlap_and_bad_ranges);
    RUN(t_many_ranges_sorted);
    RUN(t_mem_ptr_bounds);
    return harness_done();
}
