/* The device manager's resource allocator (devmgr/alloc.c). */
#include <errno.h>

#include "devmgr/alloc.h"
#include "harness.h"

/* x86's pools: device lines 5-7, 10-23 and INTx 16-23 overlap. A line is
 * handed out as one kind only: an edge-triggered virtio-mmio line is never
 * also a level-triggered, shared INTx line. */
static void t_lines_and_intx_do_not_mix(void)
{
    static const uint32_t lines[] = { 5, 6, 16, 17, 18 };
    struct devmgr_board b = { .nintx = 3, .intx = { 16, 17, 18 } };
    for (unsigned i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
        b.lines[b.nlines++] = lines[i];
    struct devmgr_alloc a;
    alloc_init(&a, &b);
    uint32_t l;
    CHECK(alloc_intx(&a, &l) == 0);
    CHECK_EQ(l, 16);
    CHECK(alloc_line(&a, &l) == 0);
    CHECK_EQ(l, 5);
    CHECK(alloc_line(&a, &l) == 0);
    CHECK_EQ(l, 6);
    CHECK(alloc_line(&a, &l) == 0);     /* 16 is an INTx line now: skipped */
    CHECK_EQ(l, 17);
    CHECK(alloc_intx(&a, &l) == 0);     /* 17 is a device's own: skipped */
    CHECK_EQ(l, 18);
    CHECK(alloc_intx(&a, &l) == 0);     /* shared round-robin among INTx lines */
    CHECK_EQ(l, 16);
    CHECK(alloc_intx(&a, &l) == 0);
    CHECK_EQ(l, 18);
    CHECK(alloc_line(&a, &l) == -ENOSPC);   /* 18 is INTx */
}

static void t_intx_none_left(void)
{
    struct devmgr_board b = { .nlines = 2, .lines = { 16, 17 }, .nintx = 2, .intx = { 16, 17 } };
    struct devmgr_alloc a;
    alloc_init(&a, &b);
    uint32_t l;
    CHECK(alloc_line(&a, &l) == 0 && l == 16);
    CHECK(alloc_line(&a, &l) == 0 && l == 17);
    CHECK(alloc_intx(&a, &l) == -ENOSPC);
    struct devmgr_board none = { 0 };
    alloc_init(&a, &none);
    CHECK(alloc_intx(&a, &l) == -ENOSPC);
    CHECK(alloc_line(&a, &l) == -ENOSPC);
}

static void t_bars_and_msi(void)
{
    struct devmgr_board b = { .mmio64_base = 1ull << 32, .mmio64_size = 0x40000,
                              .msi_first = 24, .msi_count = 10 };
    struct devmgr_alloc a;
    alloc_init(&a, &b);
    uint64_t addr;
    CHECK(alloc_bar(&a, 0x8000, 1, &addr) == 0 && addr == 1ull << 32);
    CHECK(alloc_bar(&a, 0x10000, 1, &addr) == 0 && addr == (1ull << 32) + 0x10000);
    CHECK(alloc_bar(&a, 0x3000, 1, &addr) == -EINVAL);
    CHECK(alloc_bar(&a, 0x40000, 1, &addr) == -ENOSPC);
    CHECK(alloc_bar(&a, 0x1000, 0, &addr) == -ENOSPC);  /* no 32-bit window */
    CHECK(alloc_pio_bar(&a, 4, &addr) == -ENOSPC);       /* no port window */
    uint32_t first;
    CHECK(alloc_msi(&a, 4, &first) == 0 && first == 24);
    CHECK(alloc_msi(&a, 6, &first) == 0 && first == 28);
    CHECK(alloc_msi(&a, 1, &first) == -ENOSPC);
}

static void t_pio_bars(void)
{
    struct devmgr_board b = { .pio_base = 0xc000, .pio_size = 0x100 };
    struct devmgr_alloc a;
    alloc_init(&a, &b);
    uint64_t addr;
    CHECK(alloc_pio_bar(&a, 4, &addr) == 0 && addr == 0xc000);
    CHECK(alloc_pio_bar(&a, 64, &addr) == 0 && addr == 0xc040);     /* aligned to its size */
    CHECK(alloc_pio_bar(&a, 6, &addr) == -EINVAL);
    CHECK(alloc_pio_bar(&a, 256, &addr) == -ENOSPC);
    CHECK(alloc_pio_bar(&a, 64, &addr) == 0 && addr == 0xc080);
    CHECK(alloc_bar(&a, 0x1000, 1, &addr) == -ENOSPC);  /* separate from memory */
}

int main(void)
{
    RUN(t_pio_bars);
    RUN(t_lines_and_intx_do_not_mix);
    RUN(t_intx_none_left);
    RUN(t_bars_and_msi);
    return harness_done();
}
