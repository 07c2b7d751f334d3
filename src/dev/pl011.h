/* ARM PrimeCell UART (PL011), the arm64 guest's console. Register it on the
 * MMIO bus as bus_register(bus, base, PL011_MMIO_SIZE, pl011_io, u, "pl011").
 *
 * Threads: pl011_io runs on vCPU threads, pl011_rx on the console input
 * thread; both serialise on u->lock.
 *
 * Callback rule (the same as uart8250.h, no deadlock by construction):
 *  - irq->set() is called WITH u->lock held, so level changes reach the
 *    interrupt controller in the order they were computed. It must not call
 *    back into this UART (KVM_IRQ_LINE or an irqfd write are fine).
 *  - ops->tx() and ops->rx_space() are called WITHOUT u->lock held, on the
 *    thread that caused them (tx: vCPU writing DR; rx_space: vCPU reading DR
 *    or writing CR/LCR_H). They may call any pl011_* function, including
 *    pl011_rx(). tx() is called once per DR byte, in order.
 *
 * Model: transmission is instant (the TX FIFO always reads empty and a DR
 * byte goes to tx() at once, whatever CR says, so early consoles work);
 * reception needs CR.UARTEN and CR.RXE and fills a 32-entry FIFO (1 entry
 * with LCR_H.FEN clear). Host input is flow-controlled, never dropped:
 * pl011_rx() takes what fits and rx_space() asks for the rest later.
 *
 * Interrupts (RIS bits, IMSC masks, MIS = RIS & IMSC, output = MIS != 0):
 *   RX  RX FIFO at or above the IFLS trigger level (1 entry without FEN)
 *   RT  RX FIFO not empty (the receive timeout fires at once)
 *   TX  set by every DR write (the byte left at once: the TX FIFO is below
 *       its trigger level again); cleared by ICR
 *   modem (RI, CTS, DCD, DSR) on a change of the line; OE on a loopback
 *   overrun. ICR clears latched bits; an ICR-cleared RX/RT stays clear until
 *   new data arrives or the FIFO empties. */
#ifndef ARCVMM_DEV_PL011_H
#define ARCVMM_DEV_PL011_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"
#include "dev/rxfifo.h"

#define PL011_MMIO_SIZE   0x1000
#define PL011_FIFO_SIZE   32
/* PrimeCell identification as Linux's amba bus reads it: part 0x011,
 * designer ARM (0x41), revision 3 (r1p5: 32-entry FIFOs), and the PrimeCell
 * cell id. */
#define PL011_PERIPH_ID   0x00341011u
#define PL011_CELL_ID     0xb105f00du

/* Register offsets (32-bit registers, 4-byte aligned). */
enum {
    PL011_DR = 0x000, PL011_RSR = 0x004 /* read: RSR; write: ECR */,
    PL011_FR = 0x018, PL011_ILPR = 0x020, PL011_IBRD = 0x024, PL011_FBRD = 0x028,
    PL011_LCR_H = 0x02c, PL011_CR = 0x030, PL011_IFLS = 0x034, PL011_IMSC = 0x038,
    PL011_RIS = 0x03c, PL011_MIS = 0x040, PL011_ICR = 0x044, PL011_DMACR = 0x048,
    PL011_PERIPH_ID0 = 0xfe0,   /* 4 registers, one id byte each */
    PL011_CELL_ID0 = 0xff0,     /* 4 registers, one id byte each */
};

/* Register bits. */
enum {
    PL011_DR_OE = 1u << 11,
    PL011_RSR_OE = 1u << 3,

    PL011_FR_CTS = 1u << 0, PL011_FR_DSR = 1u << 1, PL011_FR_DCD = 1u << 2,
    PL011_FR_BUSY = 1u << 3, PL011_FR_RXFE = 1u << 4, PL011_FR_TXFF = 1u << 5,
    PL011_FR_RXFF = 1u << 6, PL011_FR_TXFE = 1u << 7, PL011_FR_RI = 1u << 8,

    PL011_LCR_H_FEN = 1u << 4,

    PL011_CR_UARTEN = 1u << 0, PL011_CR_LBE = 1u << 7, PL011_CR_TXE = 1u << 8,
    PL011_CR_RXE = 1u << 9, PL011_CR_DTR = 1u << 10, PL011_CR_RTS = 1u << 11,
    PL011_CR_OUT1 = 1u << 12, PL011_CR_OUT2 = 1u << 13,

    PL011_INT_RI = 1u << 0, PL011_INT_CTS = 1u << 1, PL011_INT_DCD = 1u << 2,
    PL011_INT_DSR = 1u << 3, PL011_INT_RX = 1u << 4, PL011_INT_TX = 1u << 5,
    PL011_INT_RT = 1u << 6, PL011_INT_FE = 1u << 7, PL011_INT_PE = 1u << 8,
    PL011_INT_BE = 1u << 9, PL011_INT_OE = 1u << 10,
    PL011_INT_ALL = 0x7ff,
};

struct pl011_ops {
    void (*tx)(void *opaque, const uint8_t *buf, size_t n);   /* guest output bytes */
    void (*rx_space)(void *opaque);  /* pl011_rx refused bytes and now has room */
    void *opaque;
};

/* Defined here so owners can embed it; touch the fields only through the
 * functions below. Everything after `lock` is protected by it. */
struct pl011 {
    pthread_mutex_t lock;
    struct irq_line irq;        /* copy; irq.set == NULL: no interrupt line */
    struct pl011_ops ops;       /* copy; NULL members are skipped */
    uint32_t cr, lcr_h, ifls, imsc, ibrd, fbrd, ilpr, dmacr;
    uint32_t ris;               /* latched RIS bits (all but RX and RT) */
    uint32_t rsr;               /* receive status (OE) until ECR */
    uint32_t lines;             /* modem input lines, as FR bits */
    bool rx_acked, rt_acked;    /* ICR cleared RX/RT: quiet until new data */
    int irq_level;              /* last level passed to irq_set() */
    struct rxfifo rx;           /* .blocked: pl011_rx refused bytes */
};

/* Reset to power-on state (CR = TXE|RXE, UART disabled, FIFOs off, all
 * interrupts masked). irq and ops may be NULL; both are copied. */
void pl011_init(struct pl011 *u, const struct irq_line *irq, const struct pl011_ops *ops);
/* Release the lock. No callbacks are made afterwards. */
void pl011_destroy(struct pl011 *u);
/* bus_io_fn: opaque is the struct pl011. Accesses of 1, 2 or 4 bytes at a
 * register's (4-byte aligned) offset reach it; anything else reads as 0
 * and is ignored on write. Unknown offsets read 0. */
void pl011_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Queue host input for the guest; returns how many bytes were accepted (0
 * while the FIFO is full, the receiver is disabled or in loopback). When
 * fewer than n were accepted, ops->rx_space() is called once there is room. */
size_t pl011_rx(struct pl011 *u, const uint8_t *buf, size_t n);
#endif
