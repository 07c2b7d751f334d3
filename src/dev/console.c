#include "dev/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/efd.h"

#define CTRL_A 0x01

int console_open(struct console *c, const struct arcvmm_config *cfg, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->out_fd = c->in_fd = -1;
    c->efd = efd_new();
    if (c->efd < 0)
        return c->efd;
    switch (cfg->console) {
    case ARCVMM_CONSOLE_STDIO:
        c->out_fd = cfg->console_out_fd;
        c->in_fd = cfg->console_in_fd;
        break;
    case ARCVMM_CONSOLE_FILE:
        if (!cfg->console_path || !*cfg->console_path) {
            snprintf(err, errlen, "console: file mode needs a path");
            return -EINVAL;
        }
        c->out_fd = open(cfg->console_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (c->out_fd < 0) {
            int e = errno;
            snprintf(err, errlen, "console file %s: %s", cfg->console_path, strerror(e));
            return -e;
        }
        c->owns_out = true;
        break;
    case ARCVMM_CONSOLE_NONE:
        break;
    default:
        snprintf(err, errlen, "console: unknown mode %d", (int)cfg->console);
        return -EINVAL;
    }
    if (c->in_fd >= 0 && isatty(c->in_fd) && tcgetattr(c->in_fd, &c->saved) == 0) {
        struct termios raw = c->saved;
        cfmakeraw(&raw);
        raw.c_oflag |= OPOST | ONLCR;   /* keep host-side output processing sane */
        if (tcsetattr(c->in_fd, TCSANOW, &raw) == 0)
            c->tty_raw = true;
    }
    return 0;
}

void console_write(struct console *c, const uint8_t *buf, size_t n)
{
    while (n > 0 && c->out_fd >= 0) {
        ssize_t w = write(c->out_fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                struct pollfd p = { .fd = c->out_fd, .events = POLLOUT };
                poll(&p, 1, 100);
                continue;
            }
            return;     /* sink gone (EPIPE, EIO): drop output */
        }
        buf += w;
        n -= (size_t)w;
    }
}

void console_rx_space(struct console *c)
{
    efd_signal(c->efd);
}

void console_uart_tx(void *console, const uint8_t *buf, size_t n)
{
    console_write(console, buf, n);
}

void console_uart_rx_space(void *console)
{
    console_rx_space(console);
}

/* Filter the Ctrl-A escape in raw tty mode; returns bytes kept in buf. */
static size_t console_filter(struct console *c, uint8_t *buf, size_t n, bool *quit)
{
    if (!c->tty_raw)
        return n;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (c->escape) {
            c->escape = false;
            if (buf[i] == 'x') {
                *quit = true;
                continue;
            }
            if (buf[i] != CTRL_A)
                buf[o++] = CTRL_A;  /* not an escape: pass both through */
        } else if (buf[i] == CTRL_A) {
            c->escape = true;
            continue;
        }
        buf[o++] = buf[i];
    }
    return o;
}

static void *console_thread(void *arg)
{
    struct console *c = arg;
    bool in_open = c->in_fd >= 0;
    while (!atomic_load(&c->stopping)) {
        /* Push what the UART has not taken yet before reading more. */
        if (c->pend_len > 0 && c->rx) {
            size_t k = c->rx(c->rx_opaque, c->pend + c->pend_off, c->pend_len);
            c->pend_off += k;
            c->pend_len -= k;
        }
        struct pollfd p[2] = { { .fd = c->efd, .events = POLLIN }, { .fd = -1 } };
        if (in_open && c->pend_len == 0)
            p[1] = (struct pollfd){ .fd = c->in_fd, .events = POLLIN };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents) {
            uint64_t v;
            if (read(c->efd, &v, sizeof(v)) < 0) { /* spurious */ }
        }
        if (p[1].revents) {
            ssize_t r = read(c->in_fd, c->pend, sizeof(c->pend));
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                in_open = false;    /* EOF or error: no more input */
                continue;
            }
            bool quit = false;
            c->pend_off = 0;
            c->pend_len = console_filter(c, c->pend, (size_t)r, &quit);
            if (quit && c->quit)
                c->quit(c->quit_opaque);
        }
    }
    return NULL;
}

int console_start(struct console *c)
{
    if (c->in_fd < 0)
        return 0;
    int r = pthread_create(&c->thread, NULL, console_thread, c);
    if (r)
        return -r;
    c->thread_started = true;
    return 0;
}

void console_stop(struct console *c)
{
    if (c->thread_started) {
        atomic_store(&c->stopping, true);
        console_rx_space(c);
        pthread_join(c->thread, NULL);
        c->thread_started = false;
    }
    if (c->tty_raw) {
        tcsetattr(c->in_fd, TCSANOW, &c->saved);
        c->tty_raw = false;
    }
}

void console_close(struct console *c)
{
    console_stop(c);
    if (c->owns_out && c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    if (c->efd >= 0)
        close(c->efd);
    c->efd = -1;
}
