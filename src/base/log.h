/* Logging. Messages go to stderr prefixed with "arcvmm: ". */
#ifndef ARCVMM_LOG_H
#define ARCVMM_LOG_H
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* LOG_OFF: nothing is written. */
enum log_level { LOG_OFF = -1, LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
/* Lines go to path (appended; created 0644 if missing; a FIFO needs a
 * reader, lines it cannot take are dropped) instead of stderr; NULL: back
 * to stderr. Safe while other threads log. 0 or a negative errno. */
int log_set_path(const char *path);
/* Lines carry their level ("[Warning] ...") when on. */
void log_set_show_level(bool on);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
/* A guest did something invalid: logged as a warning, never fatal. */
#define log_guest(...) log_msg(LOG_WARN, "guest error: " __VA_ARGS__)

/* ---- rate-limited lines ----
 * A guest can repeat a bad access millions of times a second; every line
 * it causes goes through a limiter, one per device and per reason (kind of
 * line), embedded in the device and zero-initialised with it. The first
 * LOG_LIMIT_BURST lines are written; after that at most one line per
 * LOG_LIMIT_INTERVAL_MS, which says how many like it were suppressed since
 * the line before. (The count of a flood that has stopped is told by the
 * next line of that kind, if any: there is no timer.) Lock-free: callable
 * from any vCPU thread or device worker at once; a suppressed line costs
 * a few atomic operations and no formatting. */
#define LOG_LIMIT_BURST       10
#define LOG_LIMIT_INTERVAL_MS 5000

struct log_limit {
    atomic_uint seen;               /* lines asked for, saturating at the burst */
    atomic_uint suppressed;         /* dropped since the last line written */
    atomic_uint_least64_t next_ns;  /* past the burst: no line before this time */
    /* Monotonic clock in ns; NULL is CLOCK_MONOTONIC (tests inject one). */
    uint64_t (*now_ns)(void);
};

/* Should a line of this kind be written now? On true, *suppressed is the
 * number dropped since the previous line (0 within the burst) and
 * *last_of_burst says this is the burst's final line. */
bool log_limit_allow(struct log_limit *l, unsigned *suppressed, bool *last_of_burst);

/* Write fmt at lvl unless l says too many were written lately; the line
 * then carries the suppressed count. Returns true if a line was written. */
bool log_limited(struct log_limit *l, enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_warn_limited(l, ...)  log_limited((l), LOG_WARN, __VA_ARGS__)
#define log_err_limited(l, ...)   log_limited((l), LOG_ERROR, __VA_ARGS__)
/* log_guest through a limiter: what every guest-caused line should use. */
#define log_guest_limited(l, ...) log_limited((l), LOG_WARN, "guest error: " __VA_ARGS__)
#endif
