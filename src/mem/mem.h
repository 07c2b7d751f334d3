/* Guest physical memory: a few contiguous RAM regions, each backed by one
 * host mapping. Every guest address the VMM dereferences goes through
 * mem_ptr(), which checks overflow and that the whole range lies in RAM. */
#ifndef ARCVMM_MEM_H
#define ARCVMM_MEM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MEM_MAX_REGIONS 4

struct mem_region {
    uint64_t gpa;
    uint64_t size;
    uint8_t *hva;
};

struct guest_mem {
    struct mem_region r[MEM_MAX_REGIONS];
    int n;
    /* Let the host's KSM merge these pages (MADV_MERGEABLE), set before
     * mem_map. Off by default: merged pages are shared with whatever else
     * on the host has the same content, other tenants' VMs included, and
     * copy-on-write timing then tells a guest what they hold (the known
     * page-deduplication side channels). */
    bool merge;
};

/* Host pointer for [gpa, gpa+len) or NULL if the range wraps, is empty
 * when len==0 is not allowed, or is not wholly inside one RAM region. */
void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);

/* Copy len bytes to/from guest memory; 0 or -EFAULT. */
int mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len);
int mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len);

/* Total RAM bytes over all regions. */
uint64_t mem_total(const struct guest_mem *m);

/* Map anonymous host memory for each region (regions' gpa/size preset),
 * mergeable by KSM only if m->merge; on a host without KSM m->merge is
 * cleared (not an error). 0 or -errno (nothing mapped then). */
int mem_map(struct guest_mem *m);
void mem_unmap(struct guest_mem *m);
#endif
