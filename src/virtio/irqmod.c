#include "virtio/irqmod.h"

void irqmod_init(struct irqmod *m, uint32_t min_ns, uint32_t max_ns)
{
    *m = (struct irqmod){ .min_ns = min_ns, .max_ns = max_ns < min_ns ? min_ns : max_ns,
                          .probe_every = IRQMOD_PROBE_FIRST };
}

uint32_t irqmod_window(struct irqmod *m)
{
    m->probing = false;
    if (m->window_ns)
        return m->window_ns;
    if (++m->since_probe < m->probe_every)
        return 0;
    m->since_probe = 0;
    m->probing = true;
    return m->max_ns;
}

void irqmod_hit(struct irqmod *m)
{
    uint32_t w = m->probing ? m->max_ns : m->window_ns * 2;
    m->window_ns = w < m->min_ns ? m->min_ns : w > m->max_ns ? m->max_ns : w;
    m->probe_every = IRQMOD_PROBE_FIRST;
    m->probing = false;
}

void irqmod_miss(struct irqmod *m)
{
    if (m->probing) {
        m->probing = false;
        if (m->probe_every < IRQMOD_PROBE_LAST)
            m->probe_every *= 2;
        return;
    }
    m->window_ns /= 2;
    if (m->window_ns < m->min_ns) {
        m->window_ns = 0;
        m->since_probe = 0;
    }
}
