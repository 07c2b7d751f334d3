/* Where boot images go: both boards put the initrd as high as it fits in
 * a window of guest RAM, clear of the kernel (x86: below the kernel's
 * initrd_addr_max and 4 GiB; arm64: below the device tree). Pure code. */
#ifndef ARCVMM_MEM_PLACE_H
#define ARCVMM_MEM_PLACE_H
#include <stdint.h>

#include "mem/mem.h"

/* The highest start s, a multiple of align (a power of two), such that
 * [s, s + len) lies inside [lo, hi) and does not overlap [avoid_lo,
 * avoid_hi) (an empty avoid range avoids nothing). 0 when there is none,
 * so lo must be above 0 (neither board puts an image at address 0). */
uint64_t mem_place_top(uint64_t lo, uint64_t hi, uint64_t avoid_lo, uint64_t avoid_hi,
                       uint64_t len, uint64_t align);
/* The same over every RAM region of m (each clipped to [lo, hi)): the
 * highest fit in any of them. */
uint64_t mem_place_top_ram(const struct guest_mem *m, uint64_t lo, uint64_t hi, uint64_t avoid_lo,
                           uint64_t avoid_hi, uint64_t len, uint64_t align);
#endif
