/* One event loop: an epoll set, timers, a queue of calls from other
 * threads and a stop fd, dispatched on one thread. Every host-facing part
 * (console, tap, slirp, vsock sockets, the API socket) runs its fd and
 * timer callbacks here; there is no global loop, whoever creates one owns
 * it (the VM has vm->loop).
 *
 * Threads: the loop runs on its own thread (evloop_start) or on a caller's
 * (evloop_run). fd, timer and hook functions must be called on the loop
 * thread (from a callback, or an evloop_call) or while the loop is not
 * running (before start, after stop); off the loop thread while it runs
 * they return -EPERM (timer functions: see each). Other threads hand work
 * over with evloop_call / evloop_call_sync.
 *
 * Callbacks may add, modify and delete any fd or timer, their own
 * included: an fd deleted during a dispatch batch gets no further events
 * from that batch, even if its number is reused at once; a freed timer
 * never fires.
 *
 * Timers: one timerfd (CLOCK_MONOTONIC, absolute) armed for the earliest
 * deadline of a sorted list. Nanosecond precision (epoll_wait's timeout is
 * in ms), one fd however many timers, and one timerfd_settime only when
 * the earliest deadline changes; inserting is O(n), fine for the handful a
 * device needs (a per-timer timerfd would cost an fd and three syscalls
 * per arm). Timers due together fire in deadline order; a timer re-armed
 * in its own callback for a time already past fires on the next pass,
 * after fds have been served, so it cannot starve them. */
#ifndef ARCVMM_EVLOOP_H
#define ARCVMM_EVLOOP_H
#include <stdbool.h>
#include <stdint.h>

struct evloop;
struct evloop_timer;

/* events: EPOLLIN/EPOLLOUT/... as given to evloop_add_fd (level-triggered);
 * revents what epoll reported (EPOLLERR/EPOLLHUP included). */
typedef void evloop_fd_fn(void *opaque, int fd, uint32_t revents);
typedef void evloop_timer_fn(void *opaque);
typedef void evloop_call_fn(void *opaque);
/* Hook run before each wait: may lower *timeout_ns (-1: no timeout). */
typedef void evloop_prepare_fn(void *opaque, int64_t *timeout_ns);
/* Hook run after each dispatch pass (fds, then timers, then calls). */
typedef void evloop_check_fn(void *opaque);

/* A new loop, not running. 0 or -errno. */
int evloop_create(struct evloop **out);
/* Free a loop that is not running (stops it first if it was started and
 * not stopped). Calls still queued run here, on the caller's thread. fds
 * still registered are forgotten (not closed); timers still allocated are
 * freed, their handles die with the loop. NULL is ignored. */
void evloop_destroy(struct evloop *l);

/* Watch fd for events (EPOLLIN, EPOLLOUT, ...; 0 watches nothing until
 * evloop_mod_fd). One registration per fd: -EEXIST if fd is already
 * there. -EPERM also when epoll refuses the fd (a regular file, /dev/null):
 * such fds are always ready; the caller does its I/O without waiting. */
int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn *cb, void *opaque);
/* Change the events watched on fd. -ENOENT if not registered. */
int evloop_mod_fd(struct evloop *l, int fd, uint32_t events);
/* Stop watching fd (it is not closed). No callback for it runs after
 * this returns, even from the batch being dispatched. -ENOENT if absent. */
int evloop_del_fd(struct evloop *l, int fd);

/* A new disarmed timer, or NULL (out of memory). Loop thread or loop not
 * running, as for fds. */
struct evloop_timer *evloop_timer_new(struct evloop *l, evloop_timer_fn *cb, void *opaque);
/* Arm (or re-arm) for an absolute CLOCK_MONOTONIC time in ns. */
void evloop_timer_arm(struct evloop_timer *t, uint64_t deadline_ns);
/* Arm for now + delay_ns. */
void evloop_timer_arm_in(struct evloop_timer *t, uint64_t delay_ns);
void evloop_timer_disarm(struct evloop_timer *t);
bool evloop_timer_armed(const struct evloop_timer *t);
/* Disarm and free; NULL is ignored. Safe inside the timer's own callback. */
void evloop_timer_free(struct evloop_timer *t);
/* CLOCK_MONOTONIC now, in ns: the clock of every deadline. */
uint64_t evloop_now_ns(void);

/* Run fn(opaque) on the loop thread, soon, in the order calls were made.
 * Any thread. Every call runs exactly once: on the loop thread, or, if
 * the loop is not running, at the next evloop_run/start, or in
 * evloop_stop/evloop_destroy on the caller's thread. 0 or -ENOMEM. */
int evloop_call(struct evloop *l, evloop_call_fn *fn, void *opaque);
/* The same, and wait until fn has returned. On the loop thread, or when
 * the loop is not running, fn runs at once on the caller's thread. */
int evloop_call_sync(struct evloop *l, evloop_call_fn *fn, void *opaque);
/* Is the caller on the running loop's thread? */
bool evloop_on_loop_thread(struct evloop *l);
/* Is the loop running (on any thread)? */
bool evloop_running(struct evloop *l);

/* Hooks around each wait (libslirp's pollfds_fill/pollfds_poll shape).
 * Loop thread or not running. Returns a handle for evloop_hook_del, or
 * NULL (out of memory). Either function may be NULL. */
struct evloop_hook *evloop_hook_add(struct evloop *l, evloop_prepare_fn *prepare,
                                    evloop_check_fn *check, void *opaque);
void evloop_hook_del(struct evloop *l, struct evloop_hook *h);

/* Dispatch on the caller's thread until evloop_stop or evloop_quit.
 * 0, -EBUSY if already running, or -errno if epoll fails. */
int evloop_run(struct evloop *l);
/* Run the loop on a new thread named name (<= 15 chars). 0, -EBUSY. */
int evloop_start(struct evloop *l, const char *name);
/* Ask the loop to return from evloop_run after the current callback. Any
 * thread; does not wait. */
void evloop_quit(struct evloop *l);
/* Quit and wait (bounded, 5 s) until the loop is no longer running: the
 * thread evloop_start made is joined. Queued calls then run here. On the
 * loop thread itself it only quits. Idempotent; 0, or -ETIMEDOUT when a
 * callback did not return in time (the loop is then left as it is). */
int evloop_stop(struct evloop *l);
#endif
