/* The console host end on the event loop (see console.h).
 *
 * Why drop and count rather than back-pressure the UART when the reader
 * stops: back-pressure (LSR.THRE reading 0 until the ring drains) moves
 * the stall into the guest. Its serial driver then spins or waits with the
 * console lock held (Linux printk does), so a pager waiting for a key, or
 * a pipe nobody reads, would freeze the guest's kernel as surely as a
 * blocking write froze the vCPU. A serial line has no promise of delivery
 * anyway: an unplugged cable loses bytes too. So the ring holds what a
 * slow reader may still catch up on, and beyond that bytes are dropped and
 * counted, with one warning line, and the total at close.
 *
 * Threads: console_write/console_rx_space run on vCPU threads and touch
 * only the ring (under c->mu) and the eventfd. Everything else runs on the
 * loop thread, or on the caller's thread when the loop is not running
 * (console_start before evloop_start, console_stop after evloop_stop). */
#include "host/console.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/evloop.h"
#include "base/log.h"

#define CTRL_A 0x01

/* Take the caller's output fd for non-blocking writes without changing
 * its file description if we can: a regular file or /dev/null never
 * blocks and is used as it is; a pipe, FIFO or terminal is opened again
 * through /proc (a description of our own, O_NONBLOCK); anything else
 * (a socket) gets O_NONBLOCK set, and its flags back on stop. */
static int console_take_out(struct console *c, int fd)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (S_ISREG(st.st_mode) || (S_ISCHR(st.st_mode) && !isatty(fd))) {
        c->out_fd = fd;
        return 0;
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -errno;
    if (fl & O_NONBLOCK) {
        c->out_fd = fd;
        return 0;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    int nfd = open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC | (fl & O_APPEND));
    if (nfd >= 0) {
        c->out_fd = nfd;
        c->owns_out = true;
        return 0;
    }
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
        return -errno;
    c->out_fd = fd;
    c->out_flags_set = true;
    c->out_user_flags = fl;
    return 0;
}

/* --console file:PATH: never blocks in open (a FIFO without a reader
 * fails with ENXIO instead of waiting for one, so a signal can always end
 * us), and takes only what a console can sensibly write to. */
static int console_open_file(struct console *c, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0) {
        int e = errno;
        struct stat st;
        if (e == ENXIO && stat(path, &st) == 0 && S_ISFIFO(st.st_mode))
            snprintf(err, errlen, "console file %s: FIFO has no reader", path);
        else if (e == ENXIO && stat(path, &st) == 0 && S_ISSOCK(st.st_mode))
            snprintf(err, errlen, "console file %s: is a socket (want a regular file, "
                     "character device or FIFO)", path);
        else
            snprintf(err, errlen, "console file %s: %s", path, strerror(e));
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        snprintf(err, errlen, "console file %s: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISFIFO(st.st_mode)) {
        close(fd);
        snprintf(err, errlen, "console file %s: not a regular file, character device or FIFO",
                 path);
        return -EINVAL;
    }
    c->out_fd = fd;
    c->owns_out = true;
    return 0;
}

int console_open(struct console *c, struct evloop *loop, const struct arcvmm_config *cfg,
                 char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->out_fd = c->in_fd = -1;
    c->cap = CONSOLE_RING_BYTES;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cond, NULL);
    c->mu_ready = true;
    c->efd = efd_new();
    if (c->efd < 0) {
        snprintf(err, errlen, "console: eventfd: %s", strerror(-c->efd));
        return c->efd;
    }
    int r;
    switch (cfg->console) {
    case ARCVMM_CONSOLE_STDIO:
        c->in_fd = cfg->console_in_fd;
        if (cfg->console_out_fd >= 0 && (r = console_take_out(c, cfg->console_out_fd)) < 0) {
            snprintf(err, errlen, "console output fd %d: %s", cfg->console_out_fd, strerror(-r));
            return r;
        }
        break;
    case ARCVMM_CONSOLE_FILE:
        if (!cfg->console_path || !*cfg->console_path) {
            snprintf(err, errlen, "console: file mode needs a path");
            return -EINVAL;
        }
        if ((r = console_open_file(c, cfg->console_path, err, errlen)) < 0)
            return r;
        break;
    case ARCVMM_CONSOLE_NONE:
        break;
    default:
        snprintf(err, errlen, "console: unknown mode %d", (int)cfg->console);
        return -EINVAL;
    }
    if ((cfg->flags & ARCVMM_F_TTY_RAW) && c->in_fd >= 0 && isatty(c->in_fd) &&
        tcgetattr(c->in_fd, &c->saved) == 0) {
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
    if (c->out_fd < 0 || n == 0)
        return;
    bool kick = false;
    pthread_mutex_lock(&c->mu);
    if (!c->out_dead) {
        size_t room = c->len < c->cap ? c->cap - c->len : 0;
        size_t take = n < room ? n : room;
        size_t tail = (c->head + c->len) % CONSOLE_RING_BYTES;
        size_t first = CONSOLE_RING_BYTES - tail < take ? CONSOLE_RING_BYTES - tail : take;
        memcpy(c->ring + tail, buf, first);
        memcpy(c->ring, buf + first, take - first);
        c->len += take;
        if (take < n) {
            c->dropped += n - take;
            if (!c->warned) {
                c->warned = c->warn_pending = true;
                kick = true;
            }
        }
        if (!c->kicked) {
            c->kicked = true;
            kick = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    if (kick)
        efd_signal(c->efd);
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

uint64_t console_dropped(struct console *c)
{
    if (!c->mu_ready)
        return 0;
    pthread_mutex_lock(&c->mu);
    uint64_t d = c->dropped;
    pthread_mutex_unlock(&c->mu);
    return d;
}

static void console_out_cb(void *opaque, int fd, uint32_t revents);

static void console_watch_out(struct console *c, bool on)
{
    if (on == c->out_watched)
        return;
    if (on) {
        int r = evloop_add_fd(c->loop, c->out_fd, EPOLLOUT, console_out_cb, c);
        if (r < 0) {
            /* Cannot wait for it: treat as gone rather than spin. */
            log_warn("console output: cannot wait for the output fd: %s; discarding output",
                     strerror(-r));
            pthread_mutex_lock(&c->mu);
            c->out_dead = true;
            c->len = 0;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->mu);
            return;
        }
    } else {
        evloop_del_fd(c->loop, c->out_fd);
    }
    c->out_watched = on;
}

/* Write what the ring holds until it is empty or the fd would block.
 * Returns true if the fd is full (the caller waits for EPOLLOUT). */
static bool console_out_pump(struct console *c)
{
    if (c->out_fd < 0)
        return false;
    for (;;) {
        pthread_mutex_lock(&c->mu);
        if (c->len == 0 || c->out_dead) {
            c->kicked = false;
            c->out_blocked = false;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->mu);
            return false;
        }
        size_t head = c->head;
        size_t chunk = CONSOLE_RING_BYTES - head < c->len ? CONSOLE_RING_BYTES - head : c->len;
        pthread_mutex_unlock(&c->mu);
        /* Producers only append after head + len: [head, head + chunk) is ours. */
        ssize_t w = write(c->out_fd, c->ring + head, chunk);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN) {
            pthread_mutex_lock(&c->mu);
            c->out_blocked = true;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->mu);
            return true;
        }
        pthread_mutex_lock(&c->mu);
        if (w <= 0) {
            /* The sink is gone (EPIPE, EIO, ENOSPC): drop output from now on. */
            c->out_dead = true;
            c->len = 0;
            c->kicked = false;
            pthread_cond_broadcast(&c->cond);
            pthread_mutex_unlock(&c->mu);
            log_warn("console output: %s; discarding guest output from now on",
                     w < 0 ? strerror(errno) : "write returned 0");
            return false;
        }
        c->head = (head + (size_t)w) % CONSOLE_RING_BYTES;
        c->len -= (size_t)w;
        c->out_blocked = false;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->mu);
    }
}

/* console_out_pump on the caller's thread (the loop's blocks every
 * signal): a pipe whose reader is gone raises SIGPIPE on the writing
 * thread, which must not reach the program. It is blocked around the
 * writes and a SIGPIPE they raised is taken off again. */
static void console_pump_nosigpipe(struct console *c)
{
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    console_out_pump(c);
    const struct timespec zero = { 0, 0 };
    if (!was_pending)
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void console_out_service(struct console *c)
{
    bool full = console_out_pump(c);
    if (c->started)
        console_watch_out(c, full);
}

static void console_out_cb(void *opaque, int fd, uint32_t revents)
{
    console_out_service(opaque);
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

static void console_in_cb(void *opaque, int fd, uint32_t revents);

/* Watch in_fd for input only while the UART may take it: registered when
 * pend is empty, unregistered while it holds bytes (events 0 would still
 * report EPOLLHUP over and over). */
static void console_watch_in(struct console *c, bool on)
{
    if (on == c->in_watched || c->in_unpollable)
        return;
    if (on) {
        int r = evloop_add_fd(c->loop, c->in_fd, EPOLLIN, console_in_cb, c);
        if (r == -EPERM) {
            c->in_unpollable = true;    /* regular file, /dev/null: always ready */
            return;
        }
        if (r < 0) {
            log_warn("console input: %s; no more input", strerror(-r));
            c->in_eof = true;
            return;
        }
    } else {
        evloop_del_fd(c->loop, c->in_fd);
    }
    c->in_watched = on;
}

/* Read one chunk of input into pend (which is empty). */
static void console_in_read(struct console *c)
{
    ssize_t r = read(c->in_fd, c->pend, sizeof(c->pend));
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        console_watch_in(c, false);     /* EOF or error: no more input */
        c->in_eof = true;
        return;
    }
    bool quit = false;
    c->pend_off = 0;
    c->pend_len = console_filter(c, c->pend, (size_t)r, &quit);
    if (quit && c->quit)
        c->quit(c->quit_opaque);
}

/* Hand pending input to the UART, then read more while it takes it. */
static void console_in_service(struct console *c)
{
    for (int rounds = 0;; rounds++) {
        if (c->pend_len > 0 && c->rx) {
            size_t k = c->rx(c->rx_opaque, c->pend + c->pend_off, c->pend_len);
            c->pend_off += k;
            c->pend_len -= k;
        }
        if (c->pend_len > 0) {
            console_watch_in(c, false);     /* until rx_space */
            return;
        }
        if (c->in_fd < 0 || c->in_eof || !c->started)
            return;
        console_watch_in(c, true);
        if (!c->in_unpollable)
            return;                         /* wait for EPOLLIN */
        if (rounds >= 16) {
            efd_signal(c->efd);             /* an endless file: let others run */
            return;
        }
        console_in_read(c);
    }
}

static void console_in_cb(void *opaque, int fd, uint32_t revents)
{
    struct console *c = opaque;
    if (c->pend_len == 0)
        console_in_read(c);
    console_in_service(c);
}

static void console_efd_cb(void *opaque, int fd, uint32_t revents)
{
    struct console *c = opaque;
    efd_drain(c->efd);
    pthread_mutex_lock(&c->mu);
    bool warn = c->warn_pending;
    c->warn_pending = false;
    pthread_mutex_unlock(&c->mu);
    if (warn)
        log_warn("console: the output reader is not keeping up; dropping guest output");
    if (!c->out_watched)    /* while watched, EPOLLOUT says when to write */
        console_out_service(c);
    console_in_service(c);
}

static void console_start_on_loop(void *opaque)
{
    struct console *c = opaque;
    int r = evloop_add_fd(c->loop, c->efd, EPOLLIN, console_efd_cb, c);
    if (r < 0) {
        log_err("console: cannot watch its eventfd: %s", strerror(-r));
        return;
    }
    c->started = true;
    console_out_service(c);
    console_in_service(c);
}

int console_start(struct console *c)
{
    if (!c->loop || c->started)
        return 0;
    evloop_call_sync(c->loop, console_start_on_loop, c);
    return c->started ? 0 : -EIO;
}

void console_flush(struct console *c, int timeout_ms)
{
    if (!c->mu_ready || c->out_fd < 0)
        return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    efd_signal(c->efd);
    pthread_mutex_lock(&c->mu);
    int r = 0;
    while (c->len > 0 && !c->out_blocked && !c->out_dead && r == 0)
        r = pthread_cond_timedwait(&c->cond, &c->mu, &ts);
    pthread_mutex_unlock(&c->mu);
}

static void console_stop_on_loop(void *opaque)
{
    struct console *c = opaque;
    if (!c->started)
        return;
    console_watch_in(c, false);
    console_watch_out(c, false);
    evloop_del_fd(c->loop, c->efd);
    c->started = false;
}

void console_stop(struct console *c)
{
    if (c->loop && c->started) {
        if (evloop_running(c->loop) && !evloop_on_loop_thread(c->loop)) {
            /* evloop_stop timed out (a callback is stuck): waiting for the
             * loop could hang; leave the console to it. */
            log_err("console: event loop still running; console not stopped");
            return;
        }
        console_stop_on_loop(c);
    }
    /* The loop is stopped: what the ring still holds goes out now if the
     * fd takes it without blocking (the guest's last lines). */
    if (c->mu_ready)
        console_pump_nosigpipe(c);
    if (c->out_flags_set) {
        fcntl(c->out_fd, F_SETFL, c->out_user_flags);
        c->out_flags_set = false;
    }
    if (c->tty_raw) {
        tcsetattr(c->in_fd, TCSANOW, &c->saved);
        c->tty_raw = false;
    }
}

void console_close(struct console *c)
{
    console_stop(c);
    if (c->started)
        return;     /* still in the loop's hands (see console_stop): leak it */
    uint64_t dropped = console_dropped(c);
    if (dropped)
        log_info("console: %llu bytes of guest output were dropped (the reader did not keep up)",
                 (unsigned long long)dropped);
    if (c->owns_out && c->out_fd >= 0)
        close(c->out_fd);
    c->out_fd = -1;
    c->owns_out = false;
    if (c->efd >= 0)
        close(c->efd);
    c->efd = -1;
    if (c->mu_ready) {
        pthread_cond_destroy(&c->cond);
        pthread_mutex_destroy(&c->mu);
        c->mu_ready = false;
    }
}
