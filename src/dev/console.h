/* The host end of the guest console: where guest output goes (stdout, a
 * file, nowhere) and where input comes from (stdin or a given fd). A
 * console input thread feeds input to the guest UART through rx(). When
 * stdin is a terminal it is put in raw mode and restored by console_close.
 * In raw mode Ctrl-A x ends the VM (quit callback). */
#ifndef ARCVMM_CONSOLE_H
#define ARCVMM_CONSOLE_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "arcvmm.h"

struct console {
    int out_fd;             /* -1: discard */
    int in_fd;              /* -1: no input */
    bool owns_out;
    bool tty_raw;
    struct termios saved;
    int efd;                /* wakes the input thread (rx space, stop) */
    atomic_bool stopping;
    pthread_t thread;
    bool thread_started;
    bool escape;            /* saw Ctrl-A */
    /* set by the UART owner */
    size_t (*rx)(void *opaque, const uint8_t *buf, size_t n);
    void *rx_opaque;
    void (*quit)(void *opaque);
    void *quit_opaque;
    uint8_t pend[256];      /* input read but not yet accepted by the UART */
    size_t pend_off, pend_len;
};

/* Open the console described by cfg. -errno; err says which path failed. */
int console_open(struct console *c, const struct arcvmm_config *cfg, char *err, size_t errlen);
/* Guest output. Called on vCPU threads; never fails (output is dropped if the sink is gone). */
void console_write(struct console *c, const uint8_t *buf, size_t n);
/* The UART has room for input again (any thread). */
void console_rx_space(struct console *c);
/* The same two with the void *opaque signature of a UART's ops
 * (struct uart8250_ops, struct pl011_ops); opaque is the struct console. */
void console_uart_tx(void *console, const uint8_t *buf, size_t n);
void console_uart_rx_space(void *console);
int console_start(struct console *c);
/* Stop the input thread (bounded) and restore the terminal. Idempotent. */
void console_stop(struct console *c);
void console_close(struct console *c);
#endif
