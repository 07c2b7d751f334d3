#include "devmgr/alloc.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

void alloc_init(struct devmgr_alloc *a, const struct devmgr_board *b)
{
    memset(a, 0, sizeof(*a));
    a->board = *b;
    if (a->board.nlines > ALLOC_MAX_LINES)
        a->board.nlines = ALLOC_MAX_LINES;
    a->next_slot = 1;
    a->mmio32 = (struct alloc_window){ .base = b->mmio32_base, .size = b->mmio32_size };
    a->mmio64 = (struct alloc_window){ .base = b->mmio64_base, .size = b->mmio64_size };
    a->pio = (struct alloc_window){ .base = b->pio_base, .size = b->pio_size };
}

static bool given(const uint32_t *set, int n, uint32_t line)
{
    for (int i = 0; i < n; i++)
        if (set[i] == line)
            return true;
    return false;
}

int alloc_line(struct devmgr_alloc *a, uint32_t *line)
{
    while (a->next_line < a->board.nlines) {
        uint32_t l = a->board.lines[a->next_line++];
        if (given(a->given_intx, a->ngiven_intx, l))
            continue;
        a->given_line[a->ngiven_line++] = l;
        *line = l;
        return 0;
    }
    return -ENOSPC;
}

int alloc_intx(struct devmgr_alloc *a, uint32_t *line)
{
    int n = a->board.nintx < ALLOC_MAX_LINES ? a->board.nintx : ALLOC_MAX_LINES;
    for (int k = 0; k < n; k++) {
        int i = (a->next_intx + k) % n;
        uint32_t l = a->board.intx[i];
        if (given(a->given_line, a->ngiven_line, l))
            continue;
        a->next_intx = i + 1;
        if (!given(a->given_intx, a->ngiven_intx, l))
            a->given_intx[a->ngiven_intx++] = l;
        *line = l;
        return 0;
    }
    return -ENOSPC;
}

int alloc_mmio_window(struct devmgr_alloc *a, uint64_t *base)
{
    if (a->next_mmio >= a->board.mmio_slots)
        return -ENOSPC;
    *base = a->board.mmio_base + (uint64_t)a->next_mmio++ * a->board.mmio_stride;
    return 0;
}

int alloc_pci_slot(struct devmgr_alloc *a, uint8_t *slot)
{
    if (a->board.ecam_size == 0 || a->next_slot >= 32)
        return -ENOSPC;
    *slot = (uint8_t)a->next_slot++;
    return 0;
}

static int window_take(struct alloc_window *w, uint64_t size, uint64_t *addr)
{
    if (size == 0 || (size & (size - 1)))
        return -EINVAL;
    uint64_t start = (w->base + w->used + size - 1) & ~(size - 1);
    if (start < w->base || start - w->base > w->size || size > w->size - (start - w->base))
        return -ENOSPC;
    w->used = start - w->base + size;
    *addr = start;
    return 0;
}

int alloc_bar(struct devmgr_alloc *a, uint64_t size, int is64, uint64_t *addr)
{
    return window_take(is64 ? &a->mmio64 : &a->mmio32, size, addr);
}

int alloc_pio_bar(struct devmgr_alloc *a, uint64_t size, uint64_t *addr)
{
    return window_take(&a->pio, size, addr);
}

int alloc_msi(struct devmgr_alloc *a, uint32_t n, uint32_t *first)
{
    if (n > a->board.msi_count - a->msi_used)
        return -ENOSPC;
    *first = a->board.msi_first + a->msi_used;
    a->msi_used += n;
    return 0;
}
