#include "bus/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn,
                 void *opaque, const char *name)
{
    if (len == 0 || base + len - 1 < base)
        return -EINVAL;
    int pos = 0;
    while (pos < b->n && b->r[pos].base < base)
        pos++;
    if (pos > 0 && b->r[pos - 1].base + b->r[pos - 1].len > base)
        return -EEXIST;
    if (pos < b->n && base + len > b->r[pos].base)
        return -EEXIST;
    if (b->n == b->cap) {
        int cap = b->cap ? b->cap * 2 : 8;
        struct bus_range *nr = realloc(b->r, (size_t)cap * sizeof(*nr));
        if (!nr)
            return -ENOMEM;
        b->r = nr;
        b->cap = cap;
    }
    memmove(&b->r[pos + 1], &b->r[pos], (size_t)(b->n - pos) * sizeof(*b->r));
    b->r[pos] = (struct bus_range){ base, len, fn, opaque, name };
    b->n++;
    return 0;
}

const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len)
{
    int lo = 0, hi = b->n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        const struct bus_range *r = &b->r[mid];
        if (addr < r->base)
            hi = mid - 1;
        else if (addr - r->base >= r->len)
            lo = mid + 1;
        else
            return (len <= r->len - (addr - r->base)) ? r : NULL;
    }
    return NULL;
}

bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write)
{
    const struct bus_range *r = bus_find(b, addr, len);
    if (!r) {
        if (!is_write)
            memset(data, 0xff, len);
        return false;
    }
    r->fn(r->opaque, addr - r->base, data, len, is_write);
    return true;
}

void bus_free(struct bus *b)
{
    free(b->r);
    b->r = NULL;
    b->n = b->cap = 0;
}
