#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The process-wide settings: the level, where lines go, their form. */
static enum log_level log_level_cur = LOG_WARN;
static atomic_int log_fd = 2;
static atomic_bool log_show_level;

void log_set_level(enum log_level lvl)
{
    log_level_cur = lvl;
}

void log_set_show_level(bool on)
{
    log_show_level = on;
}

/* The first file gets an fd of its own; a later one is dup2'd onto it, so
 * a thread writing meanwhile never writes to a closed or reused fd. */
int log_set_path(const char *path)
{
    if (!path) {
        int old = atomic_exchange(&log_fd, 2);
        if (old != 2)
            close(old);
        return 0;
    }
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0)
        return -errno;
    int cur = atomic_load(&log_fd);
    if (cur == 2) {
        atomic_store(&log_fd, fd);
        return 0;
    }
    int r = dup3(fd, cur, O_CLOEXEC) < 0 ? -errno : 0;
    close(fd);
    return r;
}

static const char *level_name(enum log_level lvl)
{
    static const char *const names[] = { "Error", "Warning", "Info", "Debug" };
    return lvl >= LOG_ERROR && lvl <= LOG_DEBUG ? names[lvl] : "Off";
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
    if (lvl > log_level_cur)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    char line[1100];
    int n = snprintf(line, sizeof(line), "arcvmm: %s%s%s%s\n", log_show_level ? "[" : "",
                     log_show_level ? level_name(lvl) : "", log_show_level ? "] " : "", buf);
    if (n > (int)sizeof(line) - 1) {
        n = (int)sizeof(line) - 1;
        line[n - 1] = '\n';
    }
    /* one write per line: lines of several threads never interleave */
    if (write(atomic_load(&log_fd), line, (size_t)n) < 0) {
        /* nowhere else to say it */
    }
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define INTERVAL_NS ((uint64_t)LOG_LIMIT_INTERVAL_MS * 1000000u)

/* Within the burst every caller takes a ticket (seen stops growing at the
 * burst, so it never wraps); the last ticket arms next_ns. Past it, the
 * one caller whose compare-exchange moves next_ns on writes the line and
 * collects the suppressed count; everyone else adds to it. next_ns 0 is
 * "not armed yet" (the last ticket holder is about to): suppressed too. */
bool log_limit_allow(struct log_limit *l, unsigned *suppressed, bool *last_of_burst)
{
    uint64_t (*clock)(void) = l->now_ns ? l->now_ns : monotonic_ns;
    *suppressed = 0;
    *last_of_burst = false;
    unsigned n = atomic_load_explicit(&l->seen, memory_order_relaxed);
    while (n < LOG_LIMIT_BURST) {
        if (atomic_compare_exchange_weak(&l->seen, &n, n + 1)) {
            if (n + 1 == LOG_LIMIT_BURST) {
                atomic_store(&l->next_ns, clock() + INTERVAL_NS);
                *last_of_burst = true;
            }
            return true;
        }
    }
    uint64_t now = clock(), next = atomic_load(&l->next_ns);
    if (next && now >= next && atomic_compare_exchange_strong(&l->next_ns, &next, now + INTERVAL_NS)) {
        *suppressed = atomic_exchange(&l->suppressed, 0);
        return true;
    }
    atomic_fetch_add_explicit(&l->suppressed, 1, memory_order_relaxed);
    return false;
}

bool log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
{
    if (lvl > log_level_cur)
        return false;
    unsigned suppressed;
    bool last;
    if (!log_limit_allow(l, &suppressed, &last))
        return false;
    char buf[900];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (suppressed)
        log_msg(lvl, "%s [%u more like this suppressed]", buf, suppressed);
    else if (last)
        log_msg(lvl, "%s [more like this: at most one line per %d s]", buf,
                LOG_LIMIT_INTERVAL_MS / 1000);
    else
        log_msg(lvl, "%s", buf);
    return true;
}
