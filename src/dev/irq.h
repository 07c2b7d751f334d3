/* An interrupt line a device drives. The VM supplies set(); devices call
 * irq_set() with the current level of their interrupt output. */
#ifndef ARCVMM_IRQ_H
#define ARCVMM_IRQ_H
#include <stdint.h>

struct irq_line {
    void (*set)(void *opaque, uint32_t gsi, int level);
    void *opaque;
    uint32_t gsi;
};

static inline void irq_set(const struct irq_line *l, int level)
{
    if (l && l->set)
        l->set(l->opaque, l->gsi, level);
}
#endif
