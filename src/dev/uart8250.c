/* 16550A UART model. See uart8250.h for the locking and callback rules.
 *
 * Interrupt sources, highest priority first (IIR value):
 *   line status 0x06  LSR.OE set (only loopback overruns produce it), IER.ELSI
 *   RX data     0x04  RX FIFO not empty, IER.ERBFI (no trigger levels or
 *                     character timeout: data interrupts as soon as it arrives)
 *   THR empty   0x02  thre_pending, IER.ETBEI
 *   modem       0x00  an MSR delta bit set, IER.EDSSI
 * thre_pending is set by every THR write (the byte leaves at once) and by a
 * 0->1 change of IER.ETBEI; it is cleared by an IIR read that reports it.
 * Linux's 8250 driver relies on exactly this to restart transmission. */
#include "dev/uart8250.h"

#include <string.h>

#define LSR_ERRORS  0x1e   /* OE | PE | FE | BI */

/* Callbacks owed once the lock is dropped. */
struct uart_deferred {
    bool tx, rx_space;
    uint8_t tx_byte;
};

static unsigned rx_capacity(const struct uart8250 *u)
{
    return (u->fcr & UART8250_FCR_ENABLE) ? UART8250_RX_FIFO_SIZE : 1;
}

_Static_assert(UART8250_RX_FIFO_SIZE <= RXFIFO_MAX, "RX FIFO larger than struct rxfifo");

/* Host input is refused in loopback (the transmitter feeds the receiver). */
static bool rx_open(const struct uart8250 *u)
{
    return !(u->mcr & UART8250_MCR_LOOP);
}

/* Room appeared in the RX FIFO: settle the debt to a refused uart8250_rx. */
static void rx_room(struct uart8250 *u, struct uart_deferred *d)
{
    if (rxfifo_settle(&u->rx, rx_capacity(u), rx_open(u)))
        d->rx_space = true;
}

static void rx_clear(struct uart8250 *u, struct uart_deferred *d)
{
    rxfifo_clear(&u->rx);
    rx_room(u, d);
}

static uint8_t iir_id(const struct uart8250 *u)
{
    if ((u->ier & UART8250_IER_ELSI) && (u->lsr_err & LSR_ERRORS))
        return UART8250_IIR_RLSI;
    if ((u->ier & UART8250_IER_ERBFI) && u->rx.count)
        return UART8250_IIR_RDI;
    if ((u->ier & UART8250_IER_ETBEI) && u->thre_pending)
        return UART8250_IIR_THRI;
    if ((u->ier & UART8250_IER_EDSSI) && (u->msr & 0x0f))
        return UART8250_IIR_MSI;
    return UART8250_IIR_NONE;
}

static void update_irq(struct uart8250 *u)
{
    int level = iir_id(u) != UART8250_IIR_NONE && (u->mcr & UART8250_MCR_OUT2);

    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(&u->irq, level);
    }
}

/* Modem input lines: fixed "connected" (CTS, DSR, DCD) normally; in
 * loopback DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD. */
static uint8_t modem_lines(const struct uart8250 *u)
{
    if (!(u->mcr & UART8250_MCR_LOOP))
        return UART8250_MSR_CTS | UART8250_MSR_DSR | UART8250_MSR_DCD;
    uint8_t m = 0;
    if (u->mcr & UART8250_MCR_DTR)
        m |= UART8250_MSR_DSR;
    if (u->mcr & UART8250_MCR_RTS)
        m |= UART8250_MSR_CTS;
    if (u->mcr & UART8250_MCR_OUT1)
        m |= UART8250_MSR_RI;
    if (u->mcr & UART8250_MCR_OUT2)
        m |= UART8250_MSR_DCD;
    return m;
}

static void update_msr(struct uart8250 *u)
{
    uint8_t old = u->msr & 0xf0, now = modem_lines(u), chg = old ^ now;
    uint8_t delta = u->msr & 0x0f;

    if (chg & UART8250_MSR_CTS)
        delta |= UART8250_MSR_DCTS;
    if (chg & UART8250_MSR_DSR)
        delta |= UART8250_MSR_DDSR;
    if ((old & UART8250_MSR_RI) && !(now & UART8250_MSR_RI))
        delta |= UART8250_MSR_TERI;   /* trailing edge only */
    if (chg & UART8250_MSR_DCD)
        delta |= UART8250_MSR_DDCD;
    u->msr = now | delta;
}

void uart8250_init(struct uart8250 *u, const struct irq_line *irq,
                   const struct uart8250_ops *ops)
{
    memset(u, 0, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    if (irq)
        u->irq = *irq;
    if (ops)
        u->ops = *ops;
    u->dll = 1;   /* 115200 baud: earlycon may derive the rate from it */
    u->msr = modem_lines(u);
}

void uart8250_destroy(struct uart8250 *u)
{
    pthread_mutex_destroy(&u->lock);
}

static uint8_t reg_read(struct uart8250 *u, unsigned off, struct uart_deferred *d)
{
    bool dlab = u->lcr & UART8250_LCR_DLAB;
    uint8_t v = 0;

    switch (off) {
    case UART8250_RBR:
        if (dlab)
            return u->dll;
        if (rxfifo_pop(&u->rx, &u->rbr_last))
            rx_room(u, d);
        return u->rbr_last;
    case UART8250_IER:
        return dlab ? u->dlm : u->ier;
    case UART8250_IIR:
        v = iir_id(u);
        if (v == UART8250_IIR_THRI)
            u->thre_pending = false;
        if (u->fcr & UART8250_FCR_ENABLE)
            v |= UART8250_IIR_FIFO;
        return v;
    case UART8250_LCR:
        return u->lcr;
    case UART8250_MCR:
        return u->mcr;
    case UART8250_LSR:
        v = u->lsr_err | UART8250_LSR_THRE | UART8250_LSR_TEMT;
        if (u->rx.count)
            v |= UART8250_LSR_DR;
        u->lsr_err = 0;
        return v;
    case UART8250_MSR:
        v = u->msr;
        u->msr &= 0xf0;
        return v;
    default: /* UART8250_SCR */
        return u->scr;
    }
}

static void reg_write(struct uart8250 *u, unsigned off, uint8_t v, struct uart_deferred *d)
{
    bool dlab = u->lcr & UART8250_LCR_DLAB;

    switch (off) {
    case UART8250_THR:
        if (dlab) {
            u->dll = v;
            return;
        }
        if (u->mcr & UART8250_MCR_LOOP) {
            if (!rxfifo_push(&u->rx, rx_capacity(u), v))
                u->lsr_err |= UART8250_LSR_OE;
        } else {
            d->tx = true;
            d->tx_byte = v;
        }
        u->thre_pending = true;   /* the byte left at once: THR is empty again */
        return;
    case UART8250_IER:
        if (dlab) {
            u->dlm = v;
            return;
        }
        v &= 0x0f;
        if ((v & UART8250_IER_ETBEI) && !(u->ier & UART8250_IER_ETBEI))
            u->thre_pending = true;
        else if (!(v & UART8250_IER_ETBEI))
            u->thre_pending = false;
        u->ier = v;
        return;
    case UART8250_FCR: {
        uint8_t en = v & UART8250_FCR_ENABLE;
        if (en != (u->fcr & UART8250_FCR_ENABLE))
            rx_clear(u, d);       /* toggling FIFO mode empties the FIFOs */
        else if (en && (v & UART8250_FCR_CLEAR_RX))
            rx_clear(u, d);
        /* Keep enable, DMA mode and trigger level; clear bits self-reset.
         * Without FIFO_EN the other bits are not programmed. */
        u->fcr = en ? (uint8_t)(v & 0xc9) : 0;
        rx_room(u, d);            /* capacity may have grown */
        return;
    }
    case UART8250_LCR:
        u->lcr = v;
        return;
    case UART8250_MCR:
        u->mcr = v & 0x1f;
        update_msr(u);
        rx_room(u, d);            /* leaving loopback reconnects the input */
        return;
    case UART8250_SCR:
        u->scr = v;
        return;
    default: /* LSR, MSR: read-only (factory test writes ignored) */
        return;
    }
}

void uart8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    struct uart8250 *u = opaque;
    struct uart_deferred d = { 0 };

    if (len != 1 || offset >= UART8250_IO_LEN) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    pthread_mutex_lock(&u->lock);
    if (is_write)
        reg_write(u, (unsigned)offset, data[0], &d);
    else
        data[0] = reg_read(u, (unsigned)offset, &d);
    update_irq(u);
    struct uart8250_ops ops = u->ops;
    pthread_mutex_unlock(&u->lock);

    if (d.tx && ops.tx)
        ops.tx(ops.opaque, &d.tx_byte, 1);
    if (d.rx_space && ops.rx_space)
        ops.rx_space(ops.opaque);
}

size_t uart8250_rx(struct uart8250 *u, const uint8_t *buf, size_t n)
{
    if (n == 0)
        return 0;
    pthread_mutex_lock(&u->lock);
    size_t i = rxfifo_feed(&u->rx, rx_capacity(u), rx_open(u), buf, n);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return i;
}
