/* Interrupt moderation policy (virtio/irqmod.c): the polling window grows
 * on hits, shrinks to zero on misses, and probes at a backing-off rate. */
#include "harness.h"
#include "virtio/irqmod.h"

#define MIN 10000u
#define MAX 200000u

/* Number of irqmod_window calls answering 0 before the next probe. */
static unsigned zeros_before_probe(struct irqmod *m)
{
    unsigned n = 0;
    while (irqmod_window(m) == 0)
        n++;
    return n;
}

static void starts_at_zero_and_probes_after_the_first_interval(void)
{
    struct irqmod m;
    irqmod_init(&m, MIN, MAX);
    CHECK_EQ(zeros_before_probe(&m), IRQMOD_PROBE_FIRST - 1);
    CHECK(m.probing);
}

static void a_hit_on_a_probe_opens_the_full_window_and_misses_halve_it(void)
{
    struct irqmod m;
    irqmod_init(&m, MIN, MAX);
    zeros_before_probe(&m);
    irqmod_hit(&m);
    CHECK_EQ(irqmod_window(&m), MAX);
    irqmod_miss(&m);
    CHECK_EQ(irqmod_window(&m), MAX / 2);
    irqmod_hit(&m);
    CHECK_EQ(irqmod_window(&m), MAX);        /* doubled, capped at max */
    irqmod_hit(&m);
    CHECK_EQ(irqmod_window(&m), MAX);
}

static void repeated_misses_close_the_window(void)
{
    struct irqmod m;
    irqmod_init(&m, MIN, MAX);
    zeros_before_probe(&m);
    irqmod_hit(&m);
    unsigned misses = 0;
    while (irqmod_window(&m) != 0) {
        irqmod_miss(&m);
        misses++;
        CHECK(misses < 32);
    }
    /* 200 -> 100 -> 50 -> 25 -> 12.5 -> below 10: five misses */
    CHECK_EQ(misses, 5u);
}

static void failed_probes_back_off_and_a_hit_resets_the_rate(void)
{
    struct irqmod m;
    irqmod_init(&m, MIN, MAX);
    unsigned expect = IRQMOD_PROBE_FIRST;
    for (int i = 0; i < 12; i++) {
        CHECK_EQ(zeros_before_probe(&m), expect - 1);
        irqmod_miss(&m);                     /* the probe found nothing */
        if (expect < IRQMOD_PROBE_LAST)
            expect *= 2;
    }
    CHECK_EQ(m.probe_every, IRQMOD_PROBE_LAST);
    zeros_before_probe(&m);
    irqmod_hit(&m);
    CHECK_EQ(m.probe_every, IRQMOD_PROBE_FIRST);
    CHECK_EQ(irqmod_window(&m), MAX);
}

static void min_above_max_is_clamped(void)
{
    struct irqmod m;
    irqmod_init(&m, MAX, MIN);
    CHECK_EQ(m.max_ns, MAX);
    zeros_before_probe(&m);
    irqmod_hit(&m);
    CHECK_EQ(irqmod_window(&m), MAX);
}

int main(void)
{
    RUN(starts_at_zero_and_probes_after_the_first_interval);
    RUN(a_hit_on_a_probe_opens_the_full_window_and_misses_halve_it);
    RUN(repeated_misses_close_the_window);
    RUN(failed_probes_back_off_and_a_hit_resets_the_rate);
    RUN(min_above_max_is_clamped);
    return harness_done();
}
