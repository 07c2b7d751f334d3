/* PL011 UART model. See pl011.h for the register model, the locking and
 * the callback rules. */
#include "dev/pl011.h"

#include <string.h>

#define CR_MASK     0xff87u     /* CTSEn RTSEn Out2 Out1 RTS DTR RXE TXE LBE SIRLP SIREN UARTEN */
#define CR_RESET    (PL011_CR_TXE | PL011_CR_RXE)
#define IFLS_RESET  0x12u       /* both FIFOs: trigger at 1/2 */

/* Callbacks owed once the lock is dropped. */
struct pl011_deferred {
    bool tx, rx_space;
    uint8_t tx_byte;
};

static unsigned rx_capacity(const struct pl011 *u)
{
    return (u->lcr_h & PL011_LCR_H_FEN) ? PL011_FIFO_SIZE : 1;
}

/* RX interrupt level: IFLS.RXIFLSEL picks 1/8, 1/4, 1/2, 3/4 or 7/8 full. */
static unsigned rx_trigger(const struct pl011 *u)
{
    static const unsigned eighths[8] = { 1, 2, 4, 6, 7, 4, 4, 4 };
    if (!(u->lcr_h & PL011_LCR_H_FEN))
        return 1;
    return PL011_FIFO_SIZE * eighths[(u->ifls >> 3) & 7] / 8;
}

/* Host input reaches the FIFO only with the receiver on and no loopback. */
static bool rx_open(const struct pl011 *u)
{
    return (u->cr & PL011_CR_UARTEN) && (u->cr & PL011_CR_RXE) && !(u->cr & PL011_CR_LBE);
}

static uint32_t ris(const struct pl011 *u)
{
    uint32_t v = u->ris;
    if (u->rx.count >= rx_trigger(u) && !u->rx_acked)
        v |= PL011_INT_RX;
    if (u->rx.count && !u->rt_acked)
        v |= PL011_INT_RT;
    return v;
}

static void update_irq(struct pl011 *u)
{
    int level = (ris(u) & u->imsc) != 0;
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

_Static_assert(PL011_FIFO_SIZE <= RXFIFO_MAX, "RX FIFO larger than struct rxfifo");

static bool rx_push(struct pl011 *u, uint8_t b)
{
    if (!rxfifo_push(&u->rx, rx_capacity(u), b))
        return false;
    u->rx_acked = u->rt_acked = false;     /* new data: a new RX/RT event */
    return true;
}

/* Room (or the receiver) appeared: settle the debt to a refused pl011_rx. */
static void rx_room(struct pl011 *u, struct pl011_deferred *d)
{
    if (rxfifo_settle(&u->rx, rx_capacity(u), rx_open(u)))
        d->rx_space = true;
}

static void rx_clear(struct pl011 *u)
{
    rxfifo_clear(&u->rx);
    u->rx_acked = u->rt_acked = false;
}

/* Modem inputs: "connected" (CTS, DSR, DCD) normally; in loopback
 * RTS->CTS, DTR->DSR, Out1->DCD, Out2->RI. A change raises its interrupt. */
static void update_lines(struct pl011 *u)
{
    uint32_t now;
    if (!(u->cr & PL011_CR_LBE)) {
        now = PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;
    } else {
        now = 0;
        if (u->cr & PL011_CR_RTS)
            now |= PL011_FR_CTS;
        if (u->cr & PL011_CR_DTR)
            now |= PL011_FR_DSR;
        if (u->cr & PL011_CR_OUT1)
            now |= PL011_FR_DCD;
        if (u->cr & PL011_CR_OUT2)
            now |= PL011_FR_RI;
    }
    uint32_t chg = now ^ u->lines;
    if (chg & PL011_FR_CTS)
        u->ris |= PL011_INT_CTS;
    if (chg & PL011_FR_DSR)
        u->ris |= PL011_INT_DSR;
    if (chg & PL011_FR_DCD)
        u->ris |= PL011_INT_DCD;
    if (chg & PL011_FR_RI)
        u->ris |= PL011_INT_RI;
    u->lines = now;
}

void pl011_init(struct pl011 *u, const struct irq_line *irq, const struct pl011_ops *ops)
{
    memset(u, 0, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    if (irq)
        u->irq = *irq;
    if (ops)
        u->ops = *ops;
    u->cr = CR_RESET;
    u->ifls = IFLS_RESET;
    u->lines = PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD;
}

void pl011_destroy(struct pl011 *u)
{
    pthread_mutex_destroy(&u->lock);
}

static uint32_t reg_read(struct pl011 *u, uint32_t off, struct pl011_deferred *d)
{
    uint32_t v;
    uint8_t byte;
    if (off >= PL011_PERIPH_ID0 && off < PL011_PERIPH_ID0 + 16)
        return (PL011_PERIPH_ID >> (8 * ((off - PL011_PERIPH_ID0) / 4))) & 0xff;
    if (off >= PL011_CELL_ID0 && off < PL011_CELL_ID0 + 16)
        return (PL011_CELL_ID >> (8 * ((off - PL011_CELL_ID0) / 4))) & 0xff;
    switch (off) {
    case PL011_DR:
        if (!rxfifo_pop(&u->rx, &byte))
            return 0;
        v = byte;
        if (u->rx.count == 0)
            u->rx_acked = u->rt_acked = false;
        if (u->rsr & PL011_RSR_OE)
            v |= PL011_DR_OE;
        rx_room(u, d);
        return v;
    case PL011_RSR:
        return u->rsr;
    case PL011_FR:
        v = u->lines | PL011_FR_TXFE;
        if (!u->rx.count)
            v |= PL011_FR_RXFE;
        if (u->rx.count >= rx_capacity(u))
            v |= PL011_FR_RXFF;
        return v;
    case PL011_ILPR:  return u->ilpr;
    case PL011_IBRD:  return u->ibrd;
    case PL011_FBRD:  return u->fbrd;
    case PL011_LCR_H: return u->lcr_h;
    case PL011_CR:    return u->cr;
    case PL011_IFLS:  return u->ifls;
    case PL011_IMSC:  return u->imsc;
    case PL011_RIS:   return ris(u);
    case PL011_MIS:   return ris(u) & u->imsc;
    case PL011_DMACR: return u->dmacr;
    default:          return 0;     /* ICR and reserved registers */
    }
}

static void reg_write(struct pl011 *u, uint32_t off, uint32_t v, struct pl011_deferred *d)
{
    switch (off) {
    case PL011_DR:
        if (u->cr & PL011_CR_LBE) {
            if (!rx_push(u, (uint8_t)v)) {
                u->rsr |= PL011_RSR_OE;
                u->ris |= PL011_INT_OE;
            }
        } else {
            d->tx = true;
            d->tx_byte = (uint8_t)v;
        }
        u->ris |= PL011_INT_TX;     /* the byte left at once: below the TX trigger again */
        return;
    case PL011_RSR:                 /* ECR: any write clears the errors */
        u->rsr = 0;
        return;
    case PL011_ILPR:
        u->ilpr = v & 0xff;
        return;
    case PL011_IBRD:
        u->ibrd = v & 0xffff;
        return;
    case PL011_FBRD:
        u->fbrd = v & 0x3f;
        return;
    case PL011_LCR_H:
        if ((v ^ u->lcr_h) & PL011_LCR_H_FEN)
            rx_clear(u);            /* switching FIFO mode empties it */
        u->lcr_h = v & 0xff;
        rx_room(u, d);
        return;
    case PL011_CR:
        if ((v ^ u->cr) & PL011_CR_LBE)
            rx_clear(u);            /* entering or leaving loopback: stale data goes */
        u->cr = v & CR_MASK;
        update_lines(u);
        rx_room(u, d);              /* the receiver may have been switched on */
        return;
    case PL011_IFLS:
        u->ifls = v & 0x3f;
        return;
    case PL011_IMSC:
        u->imsc = v & PL011_INT_ALL;
        return;
    case PL011_ICR:
        u->ris &= ~v;
        if (v & PL011_INT_RX)
            u->rx_acked = true;
        if (v & PL011_INT_RT)
            u->rt_acked = true;
        return;
    case PL011_DMACR:
        u->dmacr = v & 0x7;
        return;
    default:                        /* FR, RIS, MIS, ids: read-only */
        return;
    }
}

void pl011_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    struct pl011 *u = opaque;
    struct pl011_deferred d = { 0 };

    if ((len != 1 && len != 2 && len != 4) || (offset & 3) || offset >= PL011_MMIO_SIZE) {
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    uint32_t v = 0;
    if (is_write)
        for (uint32_t i = 0; i < len; i++)
            v |= (uint32_t)data[i] << (8 * i);
    pthread_mutex_lock(&u->lock);
    if (is_write)
        reg_write(u, (uint32_t)offset, v, &d);
    else
        v = reg_read(u, (uint32_t)offset, &d);
    update_irq(u);
    struct pl011_ops ops = u->ops;
    pthread_mutex_unlock(&u->lock);

    if (!is_write)
        for (uint32_t i = 0; i < len; i++)
            data[i] = (uint8_t)(v >> (8 * i));
    if (d.tx && ops.tx)
        ops.tx(ops.opaque, &d.tx_byte, 1);
    if (d.rx_space && ops.rx_space)
        ops.rx_space(ops.opaque);
}

size_t pl011_rx(struct pl011 *u, const uint8_t *buf, size_t n)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&u->lock);
    size_t i = rxfifo_feed(&u->rx, rx_capacity(u), rx_open(u), buf, n);
    if (i)
        u->rx_acked = u->rt_acked = false;     /* new data: a new RX/RT event */
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return i;
}
