#include "mem/place.h"

/* Highest aligned start for len bytes inside [a, b), or 0. */
static uint64_t fit_top(uint64_t a, uint64_t b, uint64_t len, uint64_t align)
{
    if (b <= a || b - a < len)
        return 0;
    uint64_t s = (b - len) & ~(align - 1);
    return s >= a ? s : 0;
}

static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

uint64_t mem_place_top(uint64_t lo, uint64_t hi, uint64_t avoid_lo, uint64_t avoid_hi,
                       uint64_t len, uint64_t align)
{
    if (len == 0 || align == 0 || (align & (align - 1)))
        return 0;
    if (avoid_hi <= avoid_lo || avoid_hi <= lo || avoid_lo >= hi)
        return fit_top(lo, hi, len, align);
    /* Above the avoided range first: it is the higher one. */
    uint64_t s = avoid_hi < hi ? fit_top(avoid_hi, hi, len, align) : 0;
    if (s == 0 && avoid_lo > lo)
        s = fit_top(lo, avoid_lo, len, align);
    return s;
}

uint64_t mem_place_top_ram(const struct guest_mem *m, uint64_t lo, uint64_t hi, uint64_t avoid_lo,
                           uint64_t avoid_hi, uint64_t len, uint64_t align)
{
    uint64_t best = 0;
    for (int i = 0; i < m->n; i++) {
        const struct mem_region *r = &m->r[i];
        if (r->size > UINT64_MAX - r->gpa)
            continue;
        uint64_t a = max_u64(r->gpa, lo), b = min_u64(r->gpa + r->size, hi);
        if (b > a)
            best = max_u64(best, mem_place_top(a, b, avoid_lo, avoid_hi, len, align));
    }
    return best;
}
