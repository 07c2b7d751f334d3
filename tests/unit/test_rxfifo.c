/* The UARTs' receive FIFO: capacity, order across the ring's wrap, and the
 * flow-control debt (a refused feed is owed exactly one rx_space()). */
#include <stdint.h>
#include <string.h>

#include "harness.h"
#include "dev/rxfifo.h"

static void t_capacity_and_order(void)
{
    struct rxfifo f;
    memset(&f, 0, sizeof(f));
    uint8_t b = 0;
    CHECK(!rxfifo_pop(&f, &b));
    /* cap 1 (FIFO off): one byte, then refusal */
    CHECK(rxfifo_push(&f, 1, 'a'));
    CHECK(!rxfifo_push(&f, 1, 'b'));
    CHECK(rxfifo_pop(&f, &b));
    CHECK_EQ(b, 'a');
    /* many passes through the ring, each more than half of it: order holds
     * across the wrap */
    unsigned next_in = 0, next_out = 0;
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 40; i++)
            CHECK(rxfifo_push(&f, RXFIFO_MAX, (uint8_t)next_in++));
        for (int i = 0; i < 40; i++) {
            CHECK(rxfifo_pop(&f, &b));
            CHECK_EQ(b, (uint8_t)next_out++);
        }
    }
    CHECK_EQ(f.count, 0u);
    /* a capacity above the ring's size is still bounded by the ring */
    for (int i = 0; i < RXFIFO_MAX; i++)
        CHECK(rxfifo_push(&f, 1000, 'x'));
    CHECK(!rxfifo_push(&f, 1000, 'x'));
    rxfifo_clear(&f);
    CHECK_EQ(f.count, 0u);
    CHECK(!rxfifo_pop(&f, &b));
}

static void t_feed_and_debt(void)
{
    struct rxfifo f;
    memset(&f, 0, sizeof(f));
    const uint8_t in[5] = { 1, 2, 3, 4, 5 };
    /* closed receiver: nothing taken, debt owed, but not settled while closed */
    CHECK_EQ(rxfifo_feed(&f, 4, false, in, 5), 0u);
    CHECK(f.blocked);
    CHECK(!rxfifo_settle(&f, 4, false));
    /* open: settled once */
    CHECK(rxfifo_settle(&f, 4, true));
    CHECK(!rxfifo_settle(&f, 4, true));
    /* partial feed: 4 of 5 fit, debt again; no settle while full */
    CHECK_EQ(rxfifo_feed(&f, 4, true, in, 5), 4u);
    CHECK(f.blocked);
    CHECK(!rxfifo_settle(&f, 4, true));
    uint8_t b = 0;
    CHECK(rxfifo_pop(&f, &b));
    CHECK_EQ(b, 1);
    CHECK(rxfifo_settle(&f, 4, true));
    /* a feed that fits leaves no debt; clearing keeps no debt either */
    CHECK_EQ(rxfifo_feed(&f, 4, true, in + 4, 1), 1u);
    CHECK(!f.blocked);
    rxfifo_clear(&f);
    CHECK(!rxfifo_settle(&f, 4, true));
    CHECK_EQ(rxfifo_feed(&f, 4, true, in, 0), 0u);
    CHECK(!f.blocked);
}

int main(void)
{
    RUN(t_capacity_and_order);
    RUN(t_feed_and_debt);
    return harness_done();
}
