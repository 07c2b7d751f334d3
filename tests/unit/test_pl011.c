/* PL011 UART register semantics, interrupts, FIFO, flow control and
 * callbacks. */
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>

#include "harness.h"
#include "bus/bus.h"
#include "dev/pl011.h"

#define UART_SPI  1
#define UART_BASE 0x09000000ULL

/* ---- fakes ---- */

struct fake_irq {
    int levels[256];
    int n;
};

static void fake_irq_set(void *opaque, uint32_t gsi, int level)
{
    struct fake_irq *f = opaque;
    if (gsi == UART_SPI && f->n < 256)
        f->levels[f->n++] = level;
}

struct fake_host {
    uint8_t out[256];
    size_t nout;
    int rx_space;
    struct pl011 *u;
    int refill;             /* rx_space pushes this many bytes back in */
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
    if (h->refill) {        /* re-entering the UART from a callback must not deadlock */
        uint8_t b[8] = { 0 };
        pl011_rx(h->u, b, (size_t)h->refill);
    }
}

struct rig {
    struct pl011 u;
    struct fake_irq irq;
    struct irq_line line;
    struct fake_host host;
};

static void rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    r->line = (struct irq_line){ fake_irq_set, &r->irq, UART_SPI };
    struct pl011_ops ops = { fake_tx, fake_rx_space, &r->host };
    pl011_init(&r->u, &r->line, &ops);
    r->host.u = &r->u;
}

static void wr(struct pl011 *u, unsigned off, uint32_t v)
{
    uint8_t d[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
    pl011_io(u, off, d, 4, true);
}

static uint32_t rd(struct pl011 *u, unsigned off)
{
    uint8_t d[4] = { 0xaa, 0xaa, 0xaa, 0xaa };
    pl011_io(u, off, d, 4, false);
    return (uint32_t)d[0] | (uint32_t)d[1] << 8 | (uint32_t)d[2] << 16 | (uint32_t)d[3] << 24;
}

static int irq_level(const struct rig *r)
{
    return r->irq.n ? r->irq.levels[r->irq.n - 1] : 0;
}

/* The receiver on, as Linux's pl011_startup leaves it. */
static void enable(struct pl011 *u, bool fifo)
{
    wr(u, PL011_LCR_H, 0x60 | (fifo ? PL011_LCR_H_FEN : 0));   /* 8 bits */
    wr(u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
}

static size_t feed(struct pl011 *u, const char *s)
{
    return pl011_rx(u, (const uint8_t *)s, strlen(s));
}

/* ---- tests ---- */

static void t_reset_state(void)
{
    struct rig r;
    rig_init(&r);
    CHECK_EQ(rd(&r.u, PL011_FR), PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_CTS |
                                 PL011_FR_DSR | PL011_FR_DCD);
    CHECK_EQ(rd(&r.u, PL011_CR), PL011_CR_TXE | PL011_CR_RXE);
    CHECK_EQ(rd(&r.u, PL011_IFLS), 0x12);
    CHECK_EQ(rd(&r.u, PL011_LCR_H), 0);
    CHECK_EQ(rd(&r.u, PL011_IMSC), 0);
    CHECK_EQ(rd(&r.u, PL011_RIS), 0);
    CHECK_EQ(rd(&r.u, PL011_MIS), 0);
    CHECK_EQ(rd(&r.u, PL011_RSR), 0);
    CHECK_EQ(rd(&r.u, PL011_IBRD), 0);
    CHECK_EQ(rd(&r.u, PL011_FBRD), 0);
    CHECK_EQ(rd(&r.u, PL011_DMACR), 0);
    CHECK_EQ(rd(&r.u, PL011_DR), 0);            /* empty FIFO */
    CHECK_EQ(rd(&r.u, PL011_ICR), 0);           /* write-only */
    CHECK_EQ(r.irq.n, 0);
    pl011_destroy(&r.u);
}

/* Linux's amba bus reads the 8 id registers as 32-bit words and assembles
 * one byte from each. */
static void t_primecell_ids(void)
{
    struct rig r;
    rig_init(&r);
    uint32_t pid = 0, cid = 0;
    for (int i = 0; i < 4; i++) {
        uint32_t p = rd(&r.u, PL011_PERIPH_ID0 + 4u * (unsigned)i);
        uint32_t c = rd(&r.u, PL011_CELL_ID0 + 4u * (unsigned)i);
        CHECK(p <= 0xff && c <= 0xff);
        pid |= p << (8 * i);
        cid |= c << (8 * i);
    }
    CHECK_EQ(pid, 0x00341011);
    CHECK_EQ(pid & 0x000fffff, 0x00041011);     /* what Linux's amba-pl011 matches */
    CHECK_EQ(cid, 0xb105f00d);
    CHECK_EQ(rd(&r.u, 0xfe0 - 4), 0);           /* reserved */
    wr(&r.u, PL011_PERIPH_ID0, 0x55);           /* read-only */
    CHECK_EQ(rd(&r.u, PL011_PERIPH_ID0), 0x11);
    pl011_destroy(&r.u);
}

static void t_register_widths(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, PL011_IBRD, 0xffffffff);
    CHECK_EQ(rd(&r.u, PL011_IBRD), 0xffff);
    wr(&r.u, PL011_FBRD, 0xffffffff);
    CHECK_EQ(rd(&r.u, PL011_FBRD), 0x3f);
    wr(&r.u, PL011_LCR_H, 0xffffff70);
    CHECK_EQ(rd(&r.u, PL011_LCR_H), 0x70);
    wr(&r.u, PL011_IFLS, 0xffffffff);
    CHECK_EQ(rd(&r.u, PL011_IFLS), 0x3f);
    wr(&r.u, PL011_IMSC, 0xffffffff);
    CHECK_EQ(rd(&r.u, PL011_IMSC), 0x7ff);
    wr(&r.u, PL011_IMSC, 0);
    wr(&r.u, PL011_DMACR, 0xffffffff);
    CHECK_EQ(rd(&r.u, PL011_DMACR), 7);
    wr(&r.u, PL011_ILPR, 0x1ff);
    CHECK_EQ(rd(&r.u, PL011_ILPR), 0xff);
    wr(&r.u, PL011_CR, 0xffffffff & ~PL011_CR_LBE);
    CHECK_EQ(rd(&r.u, PL011_CR), 0xff07);
    wr(&r.u, PL011_FR, 0);                      /* read-only */
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_TXFE);
    pl011_destroy(&r.u);
}

static void t_tx(void)
{
    struct rig r;
    rig_init(&r);
    const char *s = "hi\n";
    for (const char *p = s; *p; p++) {
        uint8_t b = (uint8_t)*p;
        pl011_io(&r.u, PL011_DR, &b, 1, true);  /* earlycon: byte writes */
    }
    uint8_t h[2] = { '!', 0xff };
    pl011_io(&r.u, PL011_DR, h, 2, true);       /* Linux's pl011: 16-bit writes */
    wr(&r.u, PL011_DR, 0x1234 | '?');           /* only the low byte is data */
    CHECK_EQ(r.host.nout, 5);
    CHECK(memcmp(r.host.out, "hi\n!", 4) == 0);
    CHECK_EQ(r.host.out[4], (uint8_t)(0x1234 | '?'));
    uint32_t fr = rd(&r.u, PL011_FR);
    CHECK(fr & PL011_FR_TXFE);
    CHECK(!(fr & (PL011_FR_TXFF | PL011_FR_BUSY)));
    CHECK(rd(&r.u, PL011_RIS) & PL011_INT_TX);
    CHECK_EQ(r.irq.n, 0);                       /* masked */
    pl011_destroy(&r.u);
}

static void t_tx_interrupt(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, PL011_IMSC, PL011_INT_TX);
    CHECK_EQ(r.irq.n, 0);                       /* nothing sent yet */
    wr(&r.u, PL011_DR, 'a');
    CHECK_EQ(irq_level(&r), 1);
    CHECK_EQ(rd(&r.u, PL011_MIS), PL011_INT_TX);
    wr(&r.u, PL011_ICR, PL011_INT_TX);
    CHECK_EQ(irq_level(&r), 0);
    CHECK_EQ(rd(&r.u, PL011_RIS), 0);
    wr(&r.u, PL011_DR, 'b');
    CHECK_EQ(irq_level(&r), 1);
    wr(&r.u, PL011_IMSC, 0);                    /* Linux's stop_tx masks it */
    CHECK_EQ(irq_level(&r), 0);
    CHECK_EQ(r.irq.n, 4);                       /* only real level changes */
    pl011_destroy(&r.u);
}

/* Linux: startup clears and drains, unmasks RX|RT; a TX burst runs from
 * the interrupt until the buffer is empty, then TXIM is masked again. */
static void t_linux_sequence(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, PL011_IMSC, 0);
    wr(&r.u, PL011_ICR, 0x7ff);
    enable(&r.u, true);
    wr(&r.u, PL011_ICR, PL011_INT_RT | PL011_INT_RX);
    for (int i = 0; i < 64 && !(rd(&r.u, PL011_FR) & PL011_FR_RXFE); i++)
        rd(&r.u, PL011_DR);
    wr(&r.u, PL011_IMSC, PL011_INT_RT | PL011_INT_RX);
    CHECK_EQ(irq_level(&r), 0);
    /* start_tx: fill while not full, unmask TX since data remains */
    for (int i = 0; i < 16; i++)
        wr(&r.u, PL011_DR, 'A' + (uint32_t)i);
    wr(&r.u, PL011_IMSC, PL011_INT_RT | PL011_INT_RX | PL011_INT_TX);
    CHECK_EQ(irq_level(&r), 1);
    /* the handler: TXIS -> more bytes; done -> stop_tx */
    CHECK(rd(&r.u, PL011_MIS) & PL011_INT_TX);
    wr(&r.u, PL011_DR, 'Z');
    wr(&r.u, PL011_IMSC, PL011_INT_RT | PL011_INT_RX);
    CHECK_EQ(irq_level(&r), 0);
    CHECK_EQ(r.host.nout, 17);
    /* input: RT fires at once, the handler reads until RXFE */
    CHECK_EQ(feed(&r.u, "ok"), 2);
    CHECK_EQ(irq_level(&r), 1);
    CHECK_EQ(rd(&r.u, PL011_MIS), PL011_INT_RT);
    char got[4] = { 0 };
    for (int i = 0; !(rd(&r.u, PL011_FR) & PL011_FR_RXFE); i++)
        got[i] = (char)rd(&r.u, PL011_DR);
    CHECK(strcmp(got, "ok") == 0);
    CHECK_EQ(irq_level(&r), 0);
    pl011_destroy(&r.u);
}

static void t_rx_needs_enable(void)
{
    struct rig r;
    rig_init(&r);
    CHECK_EQ(feed(&r.u, "x"), 0);               /* UARTEN clear after reset */
    CHECK_EQ(r.host.rx_space, 0);
    wr(&r.u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE);
    CHECK_EQ(r.host.rx_space, 0);               /* RXE still clear */
    CHECK_EQ(feed(&r.u, "x"), 0);
    wr(&r.u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
    CHECK_EQ(r.host.rx_space, 1);               /* the refused input is asked for again */
    CHECK_EQ(feed(&r.u, "x"), 1);
    CHECK_EQ(rd(&r.u, PL011_DR), 'x');
    pl011_destroy(&r.u);
}

static void t_rx_fifo(void)
{
    struct rig r;
    rig_init(&r);
    enable(&r.u, false);
    CHECK_EQ(feed(&r.u, "ab"), 1);             /* FIFO off: one holding register */
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_RXFF);
    CHECK_EQ(rd(&r.u, PL011_DR), 'a');
    CHECK_EQ(r.host.rx_space, 1);
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_RXFE);

    wr(&r.u, PL011_LCR_H, 0x60 | PL011_LCR_H_FEN);
    uint8_t in[40];
    for (int i = 0; i < 40; i++)
        in[i] = (uint8_t)(i + 1);
    CHECK_EQ(pl011_rx(&r.u, in, 40), PL011_FIFO_SIZE);
    uint32_t fr = rd(&r.u, PL011_FR);
    CHECK(fr & PL011_FR_RXFF);
    CHECK(!(fr & PL011_FR_RXFE));
    CHECK_EQ(r.host.rx_space, 1);
    for (int i = 0; i < PL011_FIFO_SIZE; i++)
        CHECK_EQ(rd(&r.u, PL011_DR), i + 1);
    CHECK_EQ(r.host.rx_space, 2);               /* once, at the first free slot */
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_RXFE);
    CHECK_EQ(rd(&r.u, PL011_DR), 0);
    pl011_destroy(&r.u);
}

static void t_fen_toggle_flushes(void)
{
    struct rig r;
    rig_init(&r);
    enable(&r.u, true);
    CHECK_EQ(feed(&r.u, "abc"), 3);
    wr(&r.u, PL011_LCR_H, 0x60 | PL011_LCR_H_FEN);     /* FEN unchanged: kept */
    CHECK(!(rd(&r.u, PL011_FR) & PL011_FR_RXFE));
    wr(&r.u, PL011_LCR_H, 0x60);
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_RXFE);
    pl011_destroy(&r.u);
}

static void t_rx_trigger_levels(void)
{
    static const struct { uint32_t ifls; unsigned level; } cases[] = {
        { 0 << 3, 4 }, { 1 << 3, 8 }, { 2 << 3, 16 }, { 3 << 3, 24 }, { 4 << 3, 28 },
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct rig r;
        rig_init(&r);
        enable(&r.u, true);
        wr(&r.u, PL011_IFLS, cases[c].ifls);
        wr(&r.u, PL011_IMSC, PL011_INT_RX);
        uint8_t b = 'x';
        for (unsigned i = 1; i < cases[c].level; i++)
            CHECK_EQ(pl011_rx(&r.u, &b, 1), 1);
        CHECK_EQ(irq_level(&r), 0);
        CHECK_EQ(rd(&r.u, PL011_RIS) & PL011_INT_RX, 0);
        CHECK(rd(&r.u, PL011_RIS) & PL011_INT_RT);
        CHECK_EQ(pl011_rx(&r.u, &b, 1), 1);
        CHECK_EQ(irq_level(&r), 1);
        CHECK_EQ(rd(&r.u, PL011_MIS), PL011_INT_RX);
        rd(&r.u, PL011_DR);                     /* below the level again */
        CHECK_EQ(irq_level(&r), 0);
        pl011_destroy(&r.u);
    }
}

static void t_rx_icr(void)
{
    struct rig r;
    rig_init(&r);
    enable(&r.u, false);                        /* trigger = 1 entry */
    wr(&r.u, PL011_IMSC, PL011_INT_RX | PL011_INT_RT);
    CHECK_EQ(feed(&r.u, "q"), 1);
    CHECK_EQ(irq_level(&r), 1);
    CHECK_EQ(rd(&r.u, PL011_RIS), PL011_INT_RX | PL011_INT_RT);
    wr(&r.u, PL011_ICR, PL011_INT_RX | PL011_INT_RT);
    CHECK_EQ(irq_level(&r), 0);                 /* quiet though data is there */
    CHECK(!(rd(&r.u, PL011_FR) & PL011_FR_RXFE));
    CHECK_EQ(rd(&r.u, PL011_DR), 'q');
    CHECK_EQ(feed(&r.u, "r"), 1);               /* new data: a new event */
    CHECK_EQ(irq_level(&r), 1);
    pl011_destroy(&r.u);
}

static void t_loopback(void)
{
    struct rig r;
    rig_init(&r);
    wr(&r.u, PL011_LCR_H, 0x60 | PL011_LCR_H_FEN);
    wr(&r.u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE | PL011_CR_LBE);
    CHECK_EQ(feed(&r.u, "h"), 0);               /* serial input disconnected */
    for (int i = 0; i < PL011_FIFO_SIZE; i++)
        wr(&r.u, PL011_DR, (uint32_t)i);
    CHECK_EQ(r.host.nout, 0);                   /* nothing reaches the host */
    CHECK_EQ(rd(&r.u, PL011_RSR), 0);
    wr(&r.u, PL011_DR, 0x77);                   /* overrun */
    CHECK_EQ(rd(&r.u, PL011_RSR), PL011_RSR_OE);
    CHECK(rd(&r.u, PL011_RIS) & PL011_INT_OE);
    CHECK_EQ(rd(&r.u, PL011_DR), PL011_DR_OE | 0);
    wr(&r.u, PL011_RSR, 0);                     /* ECR */
    CHECK_EQ(rd(&r.u, PL011_RSR), 0);
    CHECK_EQ(rd(&r.u, PL011_DR), 1);
    wr(&r.u, PL011_ICR, PL011_INT_OE);
    CHECK_EQ(rd(&r.u, PL011_RIS) & PL011_INT_OE, 0);
    /* leaving loopback drops the looped data and reconnects the input */
    wr(&r.u, PL011_CR, PL011_CR_UARTEN | PL011_CR_TXE | PL011_CR_RXE);
    CHECK(rd(&r.u, PL011_FR) & PL011_FR_RXFE);
    CHECK_EQ(r.host.rx_space, 1);
    CHECK_EQ(feed(&r.u, "h"), 1);
    pl011_destroy(&r.u);
}

static void t_modem_lines(void)
{
    struct rig r;
    rig_init(&r);
    const uint32_t lines = PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD | PL011_FR_RI;
    wr(&r.u, PL011_IMSC, PL011_INT_CTS | PL011_INT_DSR | PL011_INT_DCD | PL011_INT_RI);
    wr(&r.u, PL011_CR, PL011_CR_LBE);           /* every line drops */
    CHECK_EQ(rd(&r.u, PL011_FR) & lines, 0);
    CHECK_EQ(rd(&r.u, PL011_RIS), PL011_INT_CTS | PL011_INT_DSR | PL011_INT_DCD);
    CHECK_EQ(irq_level(&r), 1);
    wr(&r.u, PL011_ICR, 0x7ff);
    CHECK_EQ(irq_level(&r), 0);
    wr(&r.u, PL011_CR, PL011_CR_LBE | PL011_CR_RTS);
    CHECK_EQ(rd(&r.u, PL011_FR) & lines, PL011_FR_CTS);
    CHECK_EQ(rd(&r.u, PL011_RIS), PL011_INT_CTS);
    wr(&r.u, PL011_CR, PL011_CR_LBE | PL011_CR_RTS | PL011_CR_DTR | PL011_CR_OUT1 | PL011_CR_OUT2);
    CHECK_EQ(rd(&r.u, PL011_FR) & lines, lines);
    CHECK_EQ(rd(&r.u, PL011_RIS), PL011_INT_CTS | PL011_INT_DSR | PL011_INT_DCD | PL011_INT_RI);
    pl011_destroy(&r.u);
}

static void t_bad_access(void)
{
    struct rig r;
    rig_init(&r);
    enable(&r.u, true);
    CHECK_EQ(feed(&r.u, "z"), 1);
    uint8_t d[8];
    memset(d, 0xaa, sizeof(d));
    pl011_io(&r.u, PL011_DR, d, 8, false);      /* 64-bit */
    for (int i = 0; i < 8; i++)
        CHECK_EQ(d[i], 0);
    memset(d, 0xaa, sizeof(d));
    pl011_io(&r.u, PL011_DR + 1, d, 1, false);  /* misaligned */
    CHECK_EQ(d[0], 0);
    pl011_io(&r.u, PL011_DR, d, 3, false);
    pl011_io(&r.u, PL011_MMIO_SIZE, d, 4, false);
    pl011_io(&r.u, UINT64_MAX - 1, d, 2, false);
    CHECK_EQ(rd(&r.u, PL011_DR), 'z');          /* nothing above popped the FIFO */
    memset(d, 'w', sizeof(d));
    pl011_io(&r.u, PL011_DR, d, 8, true);
    pl011_io(&r.u, PL011_DR + 2, d, 2, true);
    pl011_io(&r.u, 0x500, d, 4, true);
    CHECK_EQ(r.host.nout, 0);
    CHECK_EQ(rd(&r.u, 0x500), 0);
    pl011_destroy(&r.u);
}

static void t_no_irq_line(void)
{
    struct pl011 u;
    pl011_init(&u, NULL, NULL);
    wr(&u, PL011_IMSC, 0x7ff);
    wr(&u, PL011_DR, 'x');                      /* no tx callback, no irq: no crash */
    CHECK_EQ(rd(&u, PL011_MIS), PL011_INT_TX);
    pl011_destroy(&u);
}

static void t_callback_reentry(void)
{
    struct rig r;
    rig_init(&r);
    enable(&r.u, false);
    uint8_t buf[4] = { 1, 2, 3, 4 };
    r.host.refill = 1;
    CHECK_EQ(pl011_rx(&r.u, buf, 4), 1);        /* FIFO off: blocked */
    CHECK_EQ(rd(&r.u, PL011_DR), 1);            /* rx_space refills from inside */
    CHECK_EQ(r.host.rx_space, 1);
    CHECK(!(rd(&r.u, PL011_FR) & PL011_FR_RXFE));
    pl011_destroy(&r.u);
}

static void t_on_bus(void)
{
    struct rig r;
    struct bus b = { 0 };
    rig_init(&r);
    CHECK_EQ(bus_register(&b, UART_BASE, PL011_MMIO_SIZE, pl011_io, &r.u, "pl011"), 0);
    uint8_t v[4] = { 'k', 0, 0, 0 };
    CHECK(bus_access(&b, UART_BASE + PL011_DR, v, 4, true));
    CHECK_EQ(r.host.nout, 1);
    CHECK(bus_access(&b, UART_BASE + PL011_FR, v, 4, false));
    CHECK_EQ(v[0], PL011_FR_TXFE | PL011_FR_RXFE | PL011_FR_CTS | PL011_FR_DSR | PL011_FR_DCD);
    CHECK(bus_access(&b, UART_BASE + 0xffc, v, 4, false));
    CHECK_EQ(v[0], 0xb1);
    bus_free(&b);
    pl011_destroy(&r.u);
}

/* A console thread feeding input against a vCPU-like reader: every byte
 * arrives once and in order, and rx_space wake-ups are never lost. */
struct stress {
    struct pl011 u;
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
        size_t got = pl011_rx(&s->u, buf, n);
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
    struct pl011_ops ops = { NULL, stress_rx_space, &s };
    pl011_init(&s.u, NULL, &ops);
    enable(&s.u, true);
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, stress_feeder, &s), 0);
    int bad = 0;
    for (int i = 0; i < s.total; i++) {
        while (rd(&s.u, PL011_FR) & PL011_FR_RXFE)
            ;
        if (rd(&s.u, PL011_DR) != (uint8_t)i)
            bad++;
    }
    pthread_join(th, NULL);
    CHECK_EQ(bad, 0);
    sem_destroy(&s.space);
    pl011_destroy(&s.u);
}

int main(void)
{
    RUN(t_reset_state);
    RUN(t_primecell_ids);
    RUN(t_register_widths);
    RUN(t_tx);
    RUN(t_tx_interrupt);
    RUN(t_linux_sequence);
    RUN(t_rx_needs_enable);
    RUN(t_rx_fifo);
    RUN(t_fen_toggle_flushes);
    RUN(t_rx_trigger_levels);
    RUN(t_rx_icr);
    RUN(t_loopback);
    RUN(t_modem_lines);
    RUN(t_bad_access);
    RUN(t_no_irq_line);
    RUN(t_callback_reentry);
    RUN(t_on_bus);
    RUN(t_threaded_rx);
    return harness_done();
}
