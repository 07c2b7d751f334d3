/* 16550A UART register semantics, interrupts, FIFO and callbacks. */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "harness.h"
#include "arch/x86/layout.h"
#include "bus/bus.h"
#include "dev/uart8250.h"

/* ---- fakes ---- */

struct fake_irq {
    int levels[64];
    int n;
};

static void fake_irq_set(void *opaque, uint32_t gsi, int level)
{
    struct fake_irq *f = opaque;
    if (f->n < 64)
        f->levels[f->n++] = level;
}

struct fake_host {
    uint8_t out[256];
    size_t nout;
    int rx_space;
    struct uart8250 *u;
    int refill;            /* rx_space pushes this many bytes back in */
};

static void fake_tx(void *opaque, const uint8_t *buf, size_t n)
{
    struct fake_host *h = opaque;
    for (size_t i = 0; i < n && h->nout < sizeof(h->out); i++)
        h->out[h->nout++] = buf[i];
}

static void fake_rx_space(void *opaque)
{
    struct fake_host *h = opaque;
    h->rx_space++;
    if (h->refill) {   /* re-entering the UART from a callback must not deadlock */
        uint8_t b[8] = { 0 };
        uart8250_rx(h->u, b, (size_t)h->refill);
    }
}

struct rig {
    struct uart8250 u;
    struct fake_irq irq;
    struct irq_line line;
    struct fake_host host;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    r->line = (struct irq_line){ fake_irq_set, &r->irq, X86_COM1_IRQ };
    struct uart8250_ops ops = { fake_tx, fake_rx_space, &r->host };
    uart8250_init(&r->u, &r->line, &ops);
    r->host.u = &r->u;
}

static void wr(struct uart8250 *u, unsigned off, uint8_t v)
{
    uart8250_io(u, off, &v, 1, true);
}

static uint8_t rd(struct uart8250 *u, unsigned off)
{
    uint8_t v = 0;
    uart8250_io(u, off, &v, 1, false);
    return v;
}

static int irq_level(const struct rig *r)
{
    return r->irq.n ? r->irq.levels[r->irq.n - 1] : 0;
}

/* ---- tests ---- */

static void t_reset_state(void)
{
    struct rig r;
    rig_init(&r);
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x60);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);
    CHECK_EQ(rd(&r.u, UART8250_MSR), 0xb0);   /* CTS|DSR|DCD, no deltas */
    CHECK_EQ(rd(&r.u, UART8250_IER), 0);
    CHECK_EQ(rd(&r.u, UART8250_LCR), 0);
    CHECK_EQ(rd(&r.u, UART8250_MCR), 0);
    wr(&r.u, UART8250_LCR, 0x80);
    CHECK_EQ(rd(&r.u, UART8250_DLL), 1);      /* 115200 baud */
    CHECK_EQ(rd(&r.u, UART8250_DLM), 0);
    CHECK_EQ(r.irq.n, 0);
    uart8250_destroy(&r.u);
}

static void t_dlab_divisor(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, UART8250_IER, 0x05);
    wr(&r.u, UART8250_LCR, 0x83);             /* DLAB, 8N1 */
    CHECK_EQ(rd(&r.u, UART8250_LCR), 0x83);
    wr(&r.u, UART8250_DLL, 0x0c);
    wr(&r.u, UART8250_DLM, 0x02);
    CHECK_EQ(rd(&r.u, UART8250_DLL), 0x0c);
    CHECK_EQ(rd(&r.u, UART8250_DLM), 0x02);
    CHECK_EQ(r.host.nout, 0);                 /* DLL write is not a THR write */
    wr(&r.u, UART8250_LCR, 0x03);
    CHECK_EQ(rd(&r.u, UART8250_LCR), 0x03);
    CHECK_EQ(rd(&r.u, UART8250_IER), 0x05);   /* IER kept apart from DLM */
    wr(&r.u, UART8250_IER, 0xff);
    CHECK_EQ(rd(&r.u, UART8250_IER), 0x0f);   /* bits 4..7 do not exist */
    wr(&r.u, UART8250_LCR, 0x80);
    CHECK_EQ(rd(&r.u, UART8250_DLL), 0x0c);
    CHECK_EQ(rd(&r.u, UART8250_DLM), 0x02);
    uart8250_destroy(&r.u);
}

static void t_scratch(void)
{
    struct rig r;
    rig_init(&r);
    for (unsigned v = 0; v < 256; v += 0x55) {
        wr(&r.u, UART8250_SCR, (uint8_t)v);
        CHECK_EQ(rd(&r.u, UART8250_SCR), v);
    }
    uart8250_destroy(&r.u);
}

static void t_tx(void)
{
    struct rig r;
    rig_init(&r);
    const char *s = "hello\n";
    for (size_t i = 0; s[i]; i++) {
        CHECK(rd(&r.u, UART8250_LSR) & UART8250_LSR_THRE);
        wr(&r.u, UART8250_THR, (uint8_t)s[i]);
        CHECK_EQ(rd(&r.u, UART8250_LSR), 0x60);   /* THRE|TEMT always */
    }
    CHECK_EQ(r.host.nout, 6);
    CHECK(memcmp(r.host.out, s, 6) == 0);
    /* LSR/MSR writes are ignored */
    wr(&r.u, UART8250_LSR, 0x00);
    wr(&r.u, UART8250_MSR, 0x00);
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x60);
    CHECK_EQ(rd(&r.u, UART8250_MSR), 0xb0);
    uart8250_destroy(&r.u);
}

static void t_thre_clear_on_iir_read(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);     /* 0->1: pending */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x02);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);         /* cleared by the read */
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);     /* 1->1: no new edge */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);
    wr(&r.u, UART8250_THR, 'x');                    /* each THR write re-arms */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x02);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);
    wr(&r.u, UART8250_THR, 'y');
    wr(&r.u, UART8250_IER, 0);                      /* masked: not reported */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE);
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc2);         /* FIFO bits */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc1);
    uart8250_destroy(&r.u);
}

/* serial8250_do_startup's THRE re-assertion test and TXEN test. */
static void t_linux_startup_thre(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);
    uint8_t iir1 = rd(&r.u, UART8250_IIR);
    wr(&r.u, UART8250_IER, 0);
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);
    uint8_t iir = rd(&r.u, UART8250_IIR);
    wr(&r.u, UART8250_IER, 0);
    CHECK(!(iir1 & UART8250_IIR_NONE));
    CHECK(!(iir & UART8250_IIR_NONE));              /* no UART_BUG_THRE */

    wr(&r.u, UART8250_LCR, 0x03);
    wr(&r.u, UART8250_MCR, UART8250_MCR_DTR | UART8250_MCR_RTS | UART8250_MCR_OUT2);
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);
    uint8_t lsr = rd(&r.u, UART8250_LSR);
    iir = rd(&r.u, UART8250_IIR);
    wr(&r.u, UART8250_IER, 0);
    CHECK(lsr & UART8250_LSR_TEMT);
    CHECK(!(iir & UART8250_IIR_NONE));              /* no UART_BUG_TXEN */
    uart8250_destroy(&r.u);
}

/* The type probe of Linux's autoconfig(): IER test, FIFO IIR bits, EFR
 * read at LCR=0xbf, loopback MSR test. */
static void t_linux_autoconfig(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, UART8250_IER, 0);
    CHECK_EQ(rd(&r.u, UART8250_IER) & 0x0f, 0);
    wr(&r.u, UART8250_IER, 0x0f);
    CHECK_EQ(rd(&r.u, UART8250_IER) & 0x0f, 0x0f);
    wr(&r.u, UART8250_IER, 0);
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE);
    CHECK_EQ(rd(&r.u, UART8250_IIR) >> 6, 3);       /* 16550A */
    wr(&r.u, UART8250_LCR, 0xbf);
    CHECK(rd(&r.u, UART8250_IIR) != 0);             /* no EFR */
    wr(&r.u, UART8250_LCR, 0x80);
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE | 0x20);   /* 16750 64-byte bit */
    CHECK_EQ(rd(&r.u, UART8250_IIR) & 0x20, 0);     /* not a 16750 */
    wr(&r.u, UART8250_LCR, 0);
    wr(&r.u, UART8250_MCR, UART8250_MCR_LOOP | 0x0a);
    CHECK_EQ(rd(&r.u, UART8250_MSR) & 0xf0, 0x90);
    wr(&r.u, UART8250_MCR, 0);
    uart8250_destroy(&r.u);
}

static void t_iir_priority(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE);
    wr(&r.u, UART8250_MCR, UART8250_MCR_LOOP);      /* modem lines drop: deltas */
    wr(&r.u, UART8250_IER, 0x0f);                   /* all sources, THRE armed */
    for (int i = 0; i <= UART8250_RX_FIFO_SIZE; i++)   /* one too many: overrun */
        wr(&r.u, UART8250_THR, (uint8_t)i);
    CHECK_EQ(r.host.nout, 0);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc6);         /* line status */
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x63);         /* DR|OE|THRE|TEMT; clears OE */
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x61);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc4);         /* RX data */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc4);         /* not cleared by reading */
    for (int i = 0; i < UART8250_RX_FIFO_SIZE; i++)
        CHECK_EQ(rd(&r.u, UART8250_RBR), i);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc2);         /* THR empty */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc0);         /* modem status */
    CHECK_EQ(rd(&r.u, UART8250_MSR), 0x0b);         /* DCTS|DDSR|DDCD, lines 0 */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc1);
    CHECK_EQ(rd(&r.u, UART8250_MSR), 0x00);
    uart8250_destroy(&r.u);
}

static void t_irq_out2_gating(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t b = 'a';
    wr(&r.u, UART8250_IER, UART8250_IER_ERBFI);
    CHECK_EQ(uart8250_rx(&r.u, &b, 1), 1);
    CHECK_EQ(r.irq.n, 0);                           /* pending but OUT2 = 0 */
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x04);
    wr(&r.u, UART8250_MCR, UART8250_MCR_OUT2);
    CHECK_EQ(r.irq.n, 1);
    CHECK_EQ(irq_level(&r), 1);
    wr(&r.u, UART8250_SCR, 1);                      /* unrelated: no new call */
    CHECK_EQ(r.irq.n, 1);
    wr(&r.u, UART8250_MCR, 0);                      /* OUT2 off drops the line */
    CHECK_EQ(r.irq.n, 2);
    CHECK_EQ(irq_level(&r), 0);
    wr(&r.u, UART8250_MCR, UART8250_MCR_OUT2);
    CHECK_EQ(irq_level(&r), 1);
    CHECK_EQ(rd(&r.u, UART8250_RBR), 'a');          /* source gone */
    CHECK_EQ(r.irq.n, 4);
    CHECK_EQ(irq_level(&r), 0);

    /* THRE: raise on enable, drop on IIR read, raise on THR write */
    wr(&r.u, UART8250_IER, UART8250_IER_ETBEI);
    CHECK_EQ(irq_level(&r), 1);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x02);
    CHECK_EQ(irq_level(&r), 0);
    wr(&r.u, UART8250_THR, 'z');
    CHECK_EQ(irq_level(&r), 1);
    wr(&r.u, UART8250_IER, 0);
    CHECK_EQ(irq_level(&r), 0);
    CHECK_EQ(r.irq.n, 8);
    uart8250_destroy(&r.u);
}

static void t_no_irq_line(void)
{
    struct uart8250 u;
    uart8250_init(&u, NULL, NULL);                  /* no irq, no ops */
    wr(&u, UART8250_MCR, UART8250_MCR_OUT2);
    wr(&u, UART8250_IER, 0x0f);
    wr(&u, UART8250_THR, 'q');
    uint8_t b[100] = { 0 };
    CHECK_EQ(uart8250_rx(&u, b, sizeof(b)), 1);     /* FIFO off: 1 byte */
    CHECK_EQ(rd(&u, UART8250_RBR), 0);
    wr(&u, UART8250_FCR, 0x07);
    CHECK_EQ(uart8250_rx(&u, b, sizeof(b)), UART8250_RX_FIFO_SIZE);
    uart8250_destroy(&u);
}

static void t_rx_fifo(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t buf[100];
    for (int i = 0; i < 100; i++)
        buf[i] = (uint8_t)(i + 1);
    /* FIFO disabled: a single holding register */
    CHECK_EQ(uart8250_rx(&r.u, buf, 3), 1);
    CHECK_EQ(r.host.rx_space, 0);
    CHECK_EQ(rd(&r.u, UART8250_LSR) & UART8250_LSR_DR, 1);
    CHECK_EQ(rd(&r.u, UART8250_RBR), 1);
    CHECK_EQ(r.host.rx_space, 1);
    CHECK_EQ(rd(&r.u, UART8250_LSR) & UART8250_LSR_DR, 0);

    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE | 0xc0);
    CHECK_EQ(uart8250_rx(&r.u, buf, 0), 0);
    CHECK_EQ(uart8250_rx(&r.u, buf, 100), UART8250_RX_FIFO_SIZE);
    CHECK_EQ(uart8250_rx(&r.u, buf, 1), 0);         /* full */
    CHECK_EQ(r.host.rx_space, 1);
    CHECK_EQ(rd(&r.u, UART8250_RBR), 1);
    CHECK_EQ(r.host.rx_space, 2);                   /* room again: told once */
    CHECK_EQ(rd(&r.u, UART8250_RBR), 2);
    CHECK_EQ(r.host.rx_space, 2);
    CHECK_EQ(uart8250_rx(&r.u, buf + 64, 2), 2);
    for (int i = 3; i <= 66; i++)
        CHECK_EQ(rd(&r.u, UART8250_RBR), i);
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x60);
    CHECK_EQ(rd(&r.u, UART8250_RBR), 66);           /* empty: last byte again */
    CHECK_EQ(r.host.rx_space, 2);
    uart8250_destroy(&r.u);
}

static void t_fcr_clear(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t buf[80] = { 0 };
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE);
    CHECK_EQ(uart8250_rx(&r.u, buf, 80), 64);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc1);         /* ERBFI off */
    wr(&r.u, UART8250_FCR, UART8250_FCR_ENABLE | UART8250_FCR_CLEAR_RX | UART8250_FCR_CLEAR_TX);
    CHECK_EQ(rd(&r.u, UART8250_LSR) & UART8250_LSR_DR, 0);
    CHECK_EQ(r.host.rx_space, 1);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0xc1);         /* FIFO still enabled */
    CHECK_EQ(uart8250_rx(&r.u, buf, 5), 5);
    wr(&r.u, UART8250_FCR, 0);                      /* disabling empties too */
    CHECK_EQ(rd(&r.u, UART8250_LSR) & UART8250_LSR_DR, 0);
    CHECK_EQ(rd(&r.u, UART8250_IIR), 0x01);
    CHECK_EQ(r.host.rx_space, 1);                   /* was not blocked */
    uart8250_destroy(&r.u);
}

static void t_loopback(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t b = 'h';
    wr(&r.u, UART8250_MCR, 0x1f);                   /* LOOP + all outputs */
    CHECK_EQ(rd(&r.u, UART8250_MCR), 0x1f);
    CHECK_EQ(rd(&r.u, UART8250_MSR), 0xf0);         /* RI rose: no delta (TERI is 1->0) */
    wr(&r.u, UART8250_MCR, UART8250_MCR_LOOP | UART8250_MCR_DTR);
    CHECK_EQ(rd(&r.u, UART8250_MSR), UART8250_MSR_DSR | UART8250_MSR_TERI |
             UART8250_MSR_DCTS | UART8250_MSR_DDCD);
    wr(&r.u, UART8250_THR, 'L');
    CHECK_EQ(r.host.nout, 0);                       /* not sent out */
    CHECK_EQ(rd(&r.u, UART8250_LSR), 0x61);
    CHECK_EQ(uart8250_rx(&r.u, &b, 1), 0);          /* input disconnected */
    CHECK_EQ(rd(&r.u, UART8250_RBR), 'L');
    CHECK_EQ(r.host.rx_space, 0);                   /* still in loopback */
    wr(&r.u, UART8250_MCR, 0);
    CHECK_EQ(r.host.rx_space, 1);                   /* input reconnected */
    CHECK_EQ(rd(&r.u, UART8250_MSR) & 0xf0, 0xb0);
    CHECK_EQ(uart8250_rx(&r.u, &b, 1), 1);
    CHECK_EQ(rd(&r.u, UART8250_RBR), 'h');
    wr(&r.u, UART8250_THR, 'o');
    CHECK_EQ(r.host.nout, 1);
    CHECK_EQ(r.host.out[0], 'o');
    uart8250_destroy(&r.u);
}

static void t_bad_access(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t d[8];
    memset(d, 0, sizeof(d));
    uart8250_io(&r.u, 0, d, 2, false);
    CHECK_EQ(d[0], 0xff);
    CHECK_EQ(d[1], 0xff);
    memset(d, 0, sizeof(d));
    uart8250_io(&r.u, 5, d, 8, false);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(d[i], 0xff);
    uart8250_io(&r.u, 8, d, 1, false);
    CHECK_EQ(d[0], 0xff);
    uart8250_io(&r.u, UINT64_MAX, d, 1, false);
    CHECK_EQ(d[0], 0xff);
    memset(d, 'x', sizeof(d));
    uart8250_io(&r.u, 0, d, 4, true);               /* ignored */
    uart8250_io(&r.u, 9, d, 1, true);
    uart8250_io(&r.u, 7, d, 2, true);
    CHECK_EQ(r.host.nout, 0);
    CHECK_EQ(rd(&r.u, UART8250_SCR), 0);
    CHECK_EQ(r.irq.n, 0);
    uart8250_destroy(&r.u);
}

static void t_callback_reentry(void)
{
    struct rig r;
    rig_init(&r);
    uint8_t buf[4] = { 1, 2, 3, 4 };
    r.host.refill = 1;
    CHECK_EQ(uart8250_rx(&r.u, buf, 4), 1);         /* FIFO off: blocked */
    CHECK_EQ(rd(&r.u, UART8250_RBR), 1);            /* rx_space refills from inside */
    CHECK_EQ(r.host.rx_space, 1);
    CHECK_EQ(rd(&r.u, UART8250_LSR) & UART8250_LSR_DR, 1);
    uart8250_destroy(&r.u);
}

static void t_on_bus(void)
{
    struct rig r;
    struct bus b = { 0 };
    rig_init(&r);
    CHECK_EQ(bus_register(&b, X86_COM1_PORT, UART8250_IO_LEN, uart8250_io, &r.u, "com1"), 0);
    uint8_t v = 0x5a;
    CHECK(bus_access(&b, X86_COM1_PORT + 7, &v, 1, true));
    v = 0;
    CHECK(bus_access(&b, X86_COM1_PORT + 7, &v, 1, false));
    CHECK_EQ(v, 0x5a);
    v = 'k';
    CHECK(bus_access(&b, X86_COM1_PORT, &v, 1, true));
    CHECK_EQ(r.host.nout, 1);
    CHECK(bus_access(&b, X86_COM1_PORT + 5, &v, 1, false));
    CHECK_EQ(v, 0x60);
    bus_free(&b);
    uart8250_destroy(&r.u);
}

/* A console thread feeding input against a vCPU-like reader: every byte
 * arrives once and in order, and rx_space wake-ups are never lost. */
struct stress {
    struct uart8250 u;
    sem_t space;
    int total;
};

static void stress_rx_space(void *opaque)
{
    struct stress *s = opaque;
    sem_post(&s->space);
}

static void *stress_feeder(void *arg)
{
    struct stress *s = arg;
    int sent = 0;
    while (sent < s->total) {
        uint8_t buf[37];
        size_t n = 0;
        while (n < sizeof(buf) && sent + (int)n < s->total) {
            buf[n] = (uint8_t)(sent + (int)n);
            n++;
        }
        size_t got = uart8250_rx(&s->u, buf, n);
        sent += (int)got;
        if (got < n)
            sem_wait(&s->space);
    }
    return NULL;
}

static void t_threaded_rx(void)
{
    struct stress s;
    s.total = 200000;
    sem_init(&s.space, 0, 0);
    struct uart8250_ops ops = { NULL, stress_rx_space, &s };
    uart8250_init(&s.u, NULL, &ops);
    wr(&s.u, UART8250_FCR, UART8250_FCR_ENABLE);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, stress_feeder, &s), 0);
    int bad = 0;
    for (int i = 0; i < s.total; i++) {
        while (!(rd(&s.u, UART8250_LSR) & UART8250_LSR_DR))
            ;
        if (rd(&s.u, UART8250_RBR) != (uint8_t)i)
            bad++;
    }
    pthread_join(th, NULL);
    CHECK_EQ(bad, 0);
    sem_destroy(&s.space);
    uart8250_destroy(&s.u);
}

int main(void)
{
    RUN(t_reset_state);
    RUN(t_dlab_divisor);
    RUN(t_scratch);
    RUN(t_tx);
    RUN(t_thre_clear_on_iir_read);
    RUN(t_linux_startup_thre);
    RUN(t_linux_autoconfig);
    RUN(t_iir_priority);
    RUN(t_irq_out2_gating);
    RUN(t_no_irq_line);
    RUN(t_rx_fifo);
    RUN(t_fcr_clear);
    RUN(t_loopback);
    RUN(t_bad_access);
    RUN(t_callback_reentry);
    RUN(t_on_bus);
    RUN(t_threaded_rx);
    return harness_done();
}
