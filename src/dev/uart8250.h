/* 16550A-compatible UART (PC COM port). Register it on the PIO bus as
 * bus_register(bus, X86_COM1_PORT, UART8250_IO_LEN, uart8250_io, u, "com1").
 *
 * Threads: uart8250_io runs on vCPU threads, uart8250_rx on the console
 * input thread; both serialise on u->lock.
 *
 * Callback rule (no deadlock by construction):
 *  - irq->set() is called WITH u->lock held, so level changes reach the
 *    interrupt controller in the order they were computed. It must not call
 *    back into this UART (KVM_IRQ_LINE or an irqfd write are fine).
 *  - ops->tx() and ops->rx_space() are called WITHOUT u->lock held, on the
 *    thread that caused them (tx: vCPU; rx_space: vCPU reading RBR or
 *    writing FCR/MCR). They may call any uart8250_* function, including
 *    uart8250_rx(). tx() is called once per THR byte; bytes written by a
 *    guest that serialises its own THR writes (as Linux does under the port
 *    lock) reach tx() in order, because an OUT does not complete before
 *    uart8250_io returns.
 *
 * Interrupt output = (an enabled source is pending) AND MCR.OUT2, as on the
 * PC where OUT2 gates the IRQ driver. Output is never blocked: LSR.THRE and
 * LSR.TEMT always read 1 and a THR byte is handed to tx() at once. */
#ifndef ARCVMM_DEV_UART8250_H
#define ARCVMM_DEV_UART8250_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dev/irq.h"
#include "dev/rxfifo.h"

#define UART8250_IO_LEN        8
#define UART8250_RX_FIFO_SIZE  64   /* with FCR.FIFO_EN; 1 byte without */

/* Register offsets (DLAB = LCR bit 7 selects DLL/DLM at 0/1). */
enum {
    UART8250_RBR = 0, UART8250_THR = 0, UART8250_DLL = 0,
    UART8250_IER = 1, UART8250_DLM = 1,
    UART8250_IIR = 2, UART8250_FCR = 2,
    UART8250_LCR = 3,
    UART8250_MCR = 4,
    UART8250_LSR = 5,
    UART8250_MSR = 6,
    UART8250_SCR = 7,
};

/* Register bits. */
enum {
    UART8250_IER_ERBFI = 0x01, UART8250_IER_ETBEI = 0x02,
    UART8250_IER_ELSI = 0x04,  UART8250_IER_EDSSI = 0x08,

    UART8250_IIR_NONE = 0x01,  UART8250_IIR_MSI = 0x00, UART8250_IIR_THRI = 0x02,
    UART8250_IIR_RDI = 0x04,   UART8250_IIR_RLSI = 0x06, UART8250_IIR_FIFO = 0xc0,

    UART8250_FCR_ENABLE = 0x01, UART8250_FCR_CLEAR_RX = 0x02,
    UART8250_FCR_CLEAR_TX = 0x04,

    UART8250_LCR_DLAB = 0x80,

    UART8250_MCR_DTR = 0x01,   UART8250_MCR_RTS = 0x02, UART8250_MCR_OUT1 = 0x04,
    UART8250_MCR_OUT2 = 0x08,  UART8250_MCR_LOOP = 0x10,

    UART8250_LSR_DR = 0x01,    UART8250_LSR_OE = 0x02, UART8250_LSR_THRE = 0x20,
    UART8250_LSR_TEMT = 0x40,

    UART8250_MSR_DCTS = 0x01,  UART8250_MSR_DDSR = 0x02, UART8250_MSR_TERI = 0x04,
    UART8250_MSR_DDCD = 0x08,  UART8250_MSR_CTS = 0x10, UART8250_MSR_DSR = 0x20,
    UART8250_MSR_RI = 0x40,    UART8250_MSR_DCD = 0x80,
};

struct uart8250_ops {
    void (*tx)(void *opaque, const uint8_t *buf, size_t n);   /* guest output bytes */
    void (*rx_space)(void *opaque);  /* RX FIFO was full and now has room again */
    void *opaque;
};

/* Defined here so owners can embed it; touch the fields only through the
 * functions below. Everything after `lock` is protected by it. */
struct uart8250 {
    pthread_mutex_t lock;
    struct irq_line irq;        /* copy; irq.set == NULL: no interrupt line */
    struct uart8250_ops ops;    /* copy; NULL members are skipped */
    uint8_t ier, lcr, mcr, fcr, scr, dll, dlm;
    uint8_t lsr_err;            /* sticky LSR error bits (OE), cleared on LSR read */
    uint8_t msr;                /* modem lines (bits 4..7) + delta bits (0..3) */
    uint8_t rbr_last;           /* RBR value when the FIFO is empty */
    bool thre_pending;          /* THR-empty interrupt source armed */
    int irq_level;              /* last level passed to irq_set() */
    struct rxfifo rx;           /* .blocked: uart8250_rx refused bytes */
};

/* Reset the UART to power-on state (divisor 1 = 115200 baud, FIFOs off,
 * interrupts off). irq may be NULL (no interrupt line), ops may be NULL;
 * both are copied. */
void uart8250_init(struct uart8250 *u, const struct irq_line *irq,
                   const struct uart8250_ops *ops);
/* Release the lock. No callbacks are made afterwards. */
void uart8250_destroy(struct uart8250 *u);
/* bus_io_fn: opaque is the struct uart8250. Only 1-byte accesses at offsets
 * 0..7 reach registers; other reads return all-ones, other writes are
 * ignored. */
void uart8250_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* Queue host input for the guest; returns how many bytes were accepted
 * (0 when the FIFO is full, and always 0 in loopback mode, where the
 * serial input is disconnected). When fewer than n bytes were accepted,
 * ops->rx_space() is called once there is room again. */
size_t uart8250_rx(struct uart8250 *u, const uint8_t *buf, size_t n);
#endif
