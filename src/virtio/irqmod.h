#ifndef ARCVMM_VIRTIO_IRQMOD_H
#define ARCVMM_VIRTIO_IRQMOD_H
/* Interrupt moderation for a virtqueue worker (pure; tests/unit/test_irqmod.c).
 *
 * When a worker has finished requests it could interrupt the guest at once.
 * A guest that is still submitting (queue depth > 1, one io_submit per
 * request) would then take an interrupt, a status read and an ack -- three
 * exits -- per request, and kick the device -- a fourth -- for the next one.
 * Instead the worker may keep polling the ring for a short window with
 * guest notifications off: requests that arrive are served without a kick,
 * and their completions join the pending interrupt.  The window adapts:
 *
 *   - a hit (a request arrived inside the window) doubles it, up to max;
 *   - a miss (the guest was waiting for us; the window was pure latency)
 *     halves it; below min it becomes 0: interrupt at once;
 *   - at 0, every `probe_every` interrupts one probe polls for the full
 *     max window; each failed probe doubles probe_every (up to a limit),
 *     so a queue-depth-1 guest pays a vanishing share of probes, and a hit
 *     resets it.
 */
#include <stdbool.h>
#include <stdint.h>

struct irqmod {
    uint32_t min_ns, max_ns;        /* window bounds */
    uint32_t window_ns;             /* 0: interrupt at once */
    uint32_t probe_every;           /* interrupts between probes at window 0 */
    uint32_t since_probe;
    bool probing;                   /* the current window is a probe */
};

#define IRQMOD_PROBE_FIRST 16u
#define IRQMOD_PROBE_LAST  4096u

void irqmod_init(struct irqmod *m, uint32_t min_ns, uint32_t max_ns);
/* How long to poll for more requests before interrupting (0: at once).
 * Call once per pending interrupt, then report with irqmod_hit/miss (when
 * the answer was non-zero). */
uint32_t irqmod_window(struct irqmod *m);
void irqmod_hit(struct irqmod *m);
void irqmod_miss(struct irqmod *m);
#endif
