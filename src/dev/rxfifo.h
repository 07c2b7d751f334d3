/* The receive FIFO of a UART model (uart8250, pl011), with flow control
 * towards the host: the console thread's bytes go in while they fit, and
 * bytes that did not fit are never dropped but leave a debt (`blocked`)
 * that the UART settles with one rx_space() callback once room appears.
 *
 * The capacity is passed on each call because the guest changes it (the
 * FIFO's size, or 1 byte with the FIFO switched off). No locking: the
 * owner calls these with its device lock held. */
#ifndef ARCVMM_DEV_RXFIFO_H
#define ARCVMM_DEV_RXFIFO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RXFIFO_MAX 64               /* the largest capacity a UART may use */

struct rxfifo {
    uint8_t buf[RXFIFO_MAX];
    unsigned head, count;
    bool blocked;                   /* a feed was refused: owe rx_space() */
};

/* Appends b if fewer than cap bytes are queued. */
static inline bool rxfifo_push(struct rxfifo *f, unsigned cap, uint8_t b)
{
    if (f->count >= cap || f->count >= RXFIFO_MAX)
        return false;
    f->buf[(f->head + f->count) % RXFIFO_MAX] = b;
    f->count++;
    return true;
}

/* Takes the oldest byte into *b; false when empty. */
static inline bool rxfifo_pop(struct rxfifo *f, uint8_t *b)
{
    if (!f->count)
        return false;
    *b = f->buf[f->head];
    f->head = (f->head + 1) % RXFIFO_MAX;
    f->count--;
    return true;
}

/* Empties the FIFO (the debt stays: settle it with rxfifo_settle). */
static inline void rxfifo_clear(struct rxfifo *f)
{
    f->head = 0;
    f->count = 0;
}

/* Host input: queues what fits of buf[0..n) (nothing while the receiver is
 * not open) and returns how much; a refusal leaves the debt. */
static inline size_t rxfifo_feed(struct rxfifo *f, unsigned cap, bool open,
                                 const uint8_t *buf, size_t n)
{
    size_t i = 0;
    if (open)
        while (i < n && rxfifo_push(f, cap, buf[i]))
            i++;
    if (i < n)
        f->blocked = true;
    return i;
}

/* Room or an open receiver may have appeared: true, once, when a refused
 * feed is owed its rx_space() call. */
static inline bool rxfifo_settle(struct rxfifo *f, unsigned cap, bool open)
{
    if (f->blocked && open && f->count < cap) {
        f->blocked = false;
        return true;
    }
    return false;
}
#endif
