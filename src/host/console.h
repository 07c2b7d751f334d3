/* The host end of the guest console: where guest output goes (stdout, a
 * file, nowhere) and where input comes from (stdin or a given fd), served
 * on the VM's event loop.
 *
 * Output: the UART's tx callback (a vCPU thread) copies bytes into a
 * bounded ring and wakes the loop, which writes them to the output fd
 * without blocking, when it is writable. A vCPU never waits for the
 * reader; when the reader does not keep up and the ring is full, output is
 * dropped and counted (a warning the first time, the total when the
 * console closes).
 *
 * Input: loop callbacks read the input fd and hand bytes to the UART
 * through rx(); what it does not take waits until it calls
 * console_uart_rx_space. With ARCVMM_F_TTY_RAW an input terminal is put
 * in raw mode (restored by console_stop); in raw mode Ctrl-A x ends the
 * VM (quit). */
#ifndef ARCVMM_HOST_CONSOLE_H
#define ARCVMM_HOST_CONSOLE_H
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "arcvmm.h"

struct evloop;

/* Guest output held for a slow reader. 64 KiB is seconds of a busy serial
 * console (115200 baud is ~11 KiB/s) and a whole kernel boot log. */
#define CONSOLE_RING_BYTES (64u * 1024)

struct console {
    struct evloop *loop;
    int out_fd;             /* -1: discard */
    int in_fd;              /* -1: no input */
    bool owns_out;          /* out_fd is ours to close */
    bool out_flags_set;     /* O_NONBLOCK was set on the caller's out_fd ... */
    int out_user_flags;     /* ... and its flags are restored on stop */
    bool tty_raw;
    struct termios saved;
    int efd;                /* wakes the loop: output queued, rx space */
    bool started;           /* fds registered with the loop */
    bool in_watched;        /* in_fd registered for EPOLLIN */
    bool in_unpollable;     /* regular file, /dev/null: read without waiting */
    bool in_eof;
    bool out_watched;       /* out_fd registered for EPOLLOUT (it was full) */
    bool escape;            /* saw Ctrl-A */
    /* set by the UART owner */
    size_t (*rx)(void *opaque, const uint8_t *buf, size_t n);
    void *rx_opaque;
    void (*quit)(void *opaque);
    void *quit_opaque;
    uint8_t pend[256];      /* input read but not yet accepted by the UART */
    size_t pend_off, pend_len;

    /* The output ring, shared by vCPU threads (producers) and the loop. */
    bool mu_ready;
    pthread_mutex_t mu;     /* the fields below */
    pthread_cond_t cond;    /* ring drained, or the sink blocked or gone */
    uint8_t ring[CONSOLE_RING_BYTES];
    size_t head, len;       /* oldest byte; bytes held */
    size_t cap;             /* bytes it may hold: CONSOLE_RING_BYTES (tests
                             * lower it between open and start) */
    bool kicked;            /* efd signalled for output the loop has not seen */
    bool out_blocked;       /* the last write hit EAGAIN */
    bool out_dead;          /* the sink failed (EPIPE, EIO): output discarded */
    bool warn_pending;      /* first drop: the loop logs it (never a vCPU) */
    bool warned;
    uint64_t dropped;       /* bytes dropped because the ring was full */
};

/* Open the console described by cfg, to be served on loop. -errno; err
 * says which path failed and why. File mode opens without blocking
 * (a FIFO without a reader is refused, never waited for) and takes a
 * regular file, a character device or a FIFO with a reader. */
int console_open(struct console *c, struct evloop *loop, const struct arcvmm_config *cfg,
                 char *err, size_t errlen);
/* Guest output (vCPU threads): queued, never blocks, never fails. */
void console_write(struct console *c, const uint8_t *buf, size_t n);
/* The UART has room for input again (any thread). */
void console_rx_space(struct console *c);
/* The same two with the void *opaque signature of a UART's ops
 * (struct uart8250_ops, struct pl011_ops); opaque is the struct console. */
void console_uart_tx(void *console, const uint8_t *buf, size_t n);
void console_uart_rx_space(void *console);
/* Start serving input and output on the loop (any thread, loop running
 * or not). 0 or -errno. */
int console_start(struct console *c);
/* Wait (at most timeout_ms) until queued output is written, or the sink
 * is full or gone. For pause: the guest's output up to now is out. */
void console_flush(struct console *c, int timeout_ms);
/* Call once the loop is stopped: unregister, write what the ring still
 * holds without blocking, restore the terminal. Idempotent. */
void console_stop(struct console *c);
/* console_stop, log the dropped count, close what we opened. Safe on a
 * console that was zeroed (efd = -1) and never opened. */
void console_close(struct console *c);
/* Bytes dropped so far because the reader did not keep up. */
uint64_t console_dropped(struct console *c);
#endif
