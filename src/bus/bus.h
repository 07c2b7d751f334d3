/* I/O bus: maps port (PIO) or physical (MMIO) address ranges to device
 * handlers. Ranges are registered before the vCPUs start and never change
 * afterwards, so lookups take no lock. */
#ifndef ARCVMM_BUS_H
#define ARCVMM_BUS_H
#include <stdbool.h>
#include <stdint.h>

/* One access: offset is relative to the range base. For reads the handler
 * fills data[0..len); for writes it consumes it. len is 1, 2, 4 or 8. */
typedef void (*bus_io_fn)(void *opaque, uint64_t offset, uint8_t *data,
                          uint32_t len, bool is_write);

struct bus_range {
    uint64_t base;
    uint64_t len;
    bus_io_fn fn;
    void *opaque;
    const char *name;
};

struct bus {
    struct bus_range *r;   /* sorted by base, non-overlapping */
    int n, cap;
};

/* 0, -EINVAL (len 0 or wraps), -EEXIST (overlaps another range), -ENOMEM. */
int bus_register(struct bus *b, uint64_t base, uint64_t len, bus_io_fn fn,
                 void *opaque, const char *name);
/* The range holding [addr, addr+len) or NULL. */
const struct bus_range *bus_find(const struct bus *b, uint64_t addr, uint32_t len);
/* Dispatch an access. Returns false when no device claims it; then a read
 * returns all-ones, like an unclaimed bus. */
bool bus_access(const struct bus *b, uint64_t addr, uint8_t *data, uint32_t len, bool is_write);
void bus_free(struct bus *b);
#endif
