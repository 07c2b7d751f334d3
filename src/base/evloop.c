/* The event loop: see evloop.h for the contract.
 *
 * Lifetimes: an fd entry lives on the heap and epoll's data.ptr points at
 * it. Deleting marks it dead and parks it on l->dead until the end of the
 * current pass, so an event for it already returned by epoll_wait is seen
 * as dead and skipped (a re-added fd with the same number gets a new
 * entry). Timers are unlinked at once; the due list is walked by popping
 * its head, so a callback may free any timer, itself included. */
#include "base/evloop.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/log.h"

#define EVLOOP_STOP_TIMEOUT_S 5
#define EVLOOP_MAX_EVENTS     64

struct dl {
    struct dl *prev, *next;
};

static void dl_init(struct dl *h)
{
    h->prev = h->next = h;
}

static bool dl_empty(const struct dl *h)
{
    return h->next == h;
}

static void dl_del(struct dl *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
    dl_init(n);
}

/* Insert n before pos (at the tail when pos is the head). */
static void dl_insert_before(struct dl *pos, struct dl *n)
{
    n->prev = pos->prev;
    n->next = pos;
    pos->prev->next = n;
    pos->prev = n;
}

#define dl_entry(p, type, member) ((type *)((char *)(p) - offsetof(type, member)))

struct evloop_fd {
    int fd;
    evloop_fd_fn *cb;
    void *opaque;
    bool dead;
    struct evloop_fd *next_dead;
};

struct evloop_timer {
    struct evloop *l;
    evloop_timer_fn *cb;
    void *opaque;
    uint64_t deadline;
    bool armed;             /* on l->armed or l->due */
    struct dl link;         /* l->armed (sorted) or l->due */
    struct dl all;          /* l->timers */
};

struct evloop_hook {
    evloop_prepare_fn *prepare;
    evloop_check_fn *check;
    void *opaque;
    bool dead;
    struct dl link;
};

struct evloop_callitem {
    evloop_call_fn *fn;
    void *opaque;
    bool sync, done;        /* sync items live on the caller's stack */
    struct evloop_callitem *next;
};

struct evloop {
    int ep;
    int wake_efd;           /* calls queued or quit asked */
    int tfd;                /* timerfd for the earliest deadline */
    /* markers: epoll data.ptr of the loop's own fds */
    char wake_tag, timer_tag;

    struct evloop_fd **byfd;    /* indexed by fd number */
    size_t nbyfd;
    struct evloop_fd *dead;     /* deleted, freed at the end of the pass */

    struct dl armed, due, timers;
    bool timer_dirty;           /* tfd needs reprogramming */
    uint64_t tfd_deadline;      /* what tfd is set to, 0: disarmed */

    struct dl hooks;

    pthread_mutex_t mu;         /* the fields below */
    pthread_cond_t cond;        /* sync call done, loop stopped */
    struct evloop_callitem *calls, **calls_tail;
    bool running;
    bool started;               /* thread made by evloop_start, not joined */
    pthread_t run_thread;       /* valid while running (once set) */
    bool have_run_thread;
    pthread_t thread;
    atomic_bool quit;
};

uint64_t evloop_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int evloop_create(struct evloop **out)
{
    *out = NULL;
    struct evloop *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->ep = l->wake_efd = l->tfd = -1;
    dl_init(&l->armed);
    dl_init(&l->due);
    dl_init(&l->timers);
    dl_init(&l->hooks);
    l->calls_tail = &l->calls;
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    int r;
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    if (l->ep < 0)
        goto fail_errno;
    if ((l->wake_efd = efd_new()) < 0) {
        r = l->wake_efd;
        goto fail;
    }
    l->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (l->tfd < 0)
        goto fail_errno;
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &l->wake_tag };
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake_efd, &ev) < 0)
        goto fail_errno;
    ev.data.ptr = &l->timer_tag;
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->tfd, &ev) < 0)
        goto fail_errno;
    *out = l;
    return 0;
fail_errno:
    r = -errno;
fail:
    evloop_destroy(l);
    return r;
}

static void free_dead(struct evloop *l)
{
    while (l->dead) {
        struct evloop_fd *e = l->dead;
        l->dead = e->next_dead;
        free(e);
    }
}

/* Run every queued call; with stop_if_empty, mark the loop not running
 * once the queue is empty, under the same lock (so a sync caller either
 * gets its call run here or runs it itself). */
static void run_calls(struct evloop *l, bool stop_if_empty)
{
    for (;;) {
        pthread_mutex_lock(&l->mu);
        struct evloop_callitem *c = l->calls;
        if (!c) {
            if (stop_if_empty) {
                l->running = false;
                l->have_run_thread = false;
                pthread_cond_broadcast(&l->cond);
            }
            pthread_mutex_unlock(&l->mu);
            return;
        }
        l->calls = NULL;
        l->calls_tail = &l->calls;
        pthread_mutex_unlock(&l->mu);
        while (c) {
            struct evloop_callitem *next = c->next;
            c->fn(c->opaque);
            if (c->sync) {
                pthread_mutex_lock(&l->mu);
                c->done = true;     /* c may be gone once the lock drops */
                pthread_cond_broadcast(&l->cond);
                pthread_mutex_unlock(&l->mu);
            } else {
                free(c);
            }
            c = next;
        }
    }
}

void evloop_destroy(struct evloop *l)
{
    if (!l)
        return;
    evloop_stop(l);
    run_calls(l, false);
    while (!dl_empty(&l->timers)) {
        struct evloop_timer *t = dl_entry(l->timers.next, struct evloop_timer, all);
        evloop_timer_free(t);
    }
    while (!dl_empty(&l->hooks)) {
        struct evloop_hook *h = dl_entry(l->hooks.next, struct evloop_hook, link);
        dl_del(&h->link);
        free(h);
    }
    for (size_t i = 0; i < l->nbyfd; i++)
        free(l->byfd[i]);
    free(l->byfd);
    free_dead(l);
    if (l->ep >= 0)
        close(l->ep);
    if (l->wake_efd >= 0)
        close(l->wake_efd);
    if (l->tfd >= 0)
        close(l->tfd);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

bool evloop_on_loop_thread(struct evloop *l)
{
    pthread_mutex_lock(&l->mu);
    bool on = l->running && l->have_run_thread && pthread_equal(l->run_thread, pthread_self());
    pthread_mutex_unlock(&l->mu);
    return on;
}

bool evloop_running(struct evloop *l)
{
    pthread_mutex_lock(&l->mu);
    bool r = l->running;
    pthread_mutex_unlock(&l->mu);
    return r;
}

/* fd/timer/hook functions: on the loop thread, or the loop not running. */
static bool may_touch(struct evloop *l)
{
    pthread_mutex_lock(&l->mu);
    bool ok = !l->running ||
              (l->have_run_thread && pthread_equal(l->run_thread, pthread_self()));
    pthread_mutex_unlock(&l->mu);
    return ok;
}

static struct evloop_fd *fd_lookup(struct evloop *l, int fd)
{
    return fd >= 0 && (size_t)fd < l->nbyfd ? l->byfd[fd] : NULL;
}

int evloop_add_fd(struct evloop *l, int fd, uint32_t events, evloop_fd_fn *cb, void *opaque)
{
    if (fd < 0 || !cb)
        return -EINVAL;
    if (!may_touch(l))
        return -EPERM;
    if (fd_lookup(l, fd))
        return -EEXIST;
    if ((size_t)fd >= l->nbyfd) {
        size_t n = l->nbyfd ? l->nbyfd : 16;
        while (n <= (size_t)fd)
            n *= 2;
        struct evloop_fd **b = realloc(l->byfd, n * sizeof(*b));
        if (!b)
            return -ENOMEM;
        memset(b + l->nbyfd, 0, (n - l->nbyfd) * sizeof(*b));
        l->byfd = b;
        l->nbyfd = n;
    }
    struct evloop_fd *e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->fd = fd;
    e->cb = cb;
    e->opaque = opaque;
    struct epoll_event ev = { .events = events, .data.ptr = e };
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int r = -errno;
        free(e);
        return r;
    }
    l->byfd[fd] = e;
    return 0;
}

int evloop_mod_fd(struct evloop *l, int fd, uint32_t events)
{
    if (!may_touch(l))
        return -EPERM;
    struct evloop_fd *e = fd_lookup(l, fd);
    if (!e)
        return -ENOENT;
    struct epoll_event ev = { .events = events, .data.ptr = e };
    return epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

int evloop_del_fd(struct evloop *l, int fd)
{
    if (!may_touch(l))
        return -EPERM;
    struct evloop_fd *e = fd_lookup(l, fd);
    if (!e)
        return -ENOENT;
    /* Fails only if the caller closed fd first: epoll forgot it then. */
    epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
    l->byfd[fd] = NULL;
    e->dead = true;
    e->next_dead = l->dead;
    l->dead = e;
    return 0;
}

struct evloop_timer *evloop_timer_new(struct evloop *l, evloop_timer_fn *cb, void *opaque)
{
    if (!cb || !may_touch(l))
        return NULL;
    struct evloop_timer *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->l = l;
    t->cb = cb;
    t->opaque = opaque;
    dl_init(&t->link);
    dl_insert_before(&l->timers, &t->all);
    return t;
}

void evloop_timer_disarm(struct evloop_timer *t)
{
    if (!t->armed)
        return;
    if (t->l->armed.next == &t->link)
        t->l->timer_dirty = true;   /* the earliest deadline changes */
    dl_del(&t->link);
    t->armed = false;
}

void evloop_timer_arm(struct evloop_timer *t, uint64_t deadline_ns)
{
    struct evloop *l = t->l;
    evloop_timer_disarm(t);
    t->deadline = deadline_ns;
    t->armed = true;
    /* After every timer with an earlier or equal deadline: FIFO on ties. */
    struct dl *pos = l->armed.prev;
    while (pos != &l->armed && dl_entry(pos, struct evloop_timer, link)->deadline > deadline_ns)
        pos = pos->prev;
    dl_insert_before(pos->next, &t->link);
    if (l->armed.next == &t->link)
        l->timer_dirty = true;
}

void evloop_timer_arm_in(struct evloop_timer *t, uint64_t delay_ns)
{
    evloop_timer_arm(t, evloop_now_ns() + delay_ns);
}

bool evloop_timer_armed(const struct evloop_timer *t)
{
    return t->armed;
}

void evloop_timer_free(struct evloop_timer *t)
{
    if (!t)
        return;
    evloop_timer_disarm(t);
    dl_del(&t->all);
    free(t);
}

struct evloop_hook *evloop_hook_add(struct evloop *l, evloop_prepare_fn *prepare,
                                    evloop_check_fn *check, void *opaque)
{
    if (!may_touch(l))
        return NULL;
    struct evloop_hook *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->prepare = prepare;
    h->check = check;
    h->opaque = opaque;
    dl_insert_before(&l->hooks, &h->link);
    return h;
}

void evloop_hook_del(struct evloop *l, struct evloop_hook *h)
{
    if (h)
        h->dead = true;     /* unlinked and freed between passes */
}

static void hooks_reap(struct evloop *l)
{
    for (struct dl *p = l->hooks.next; p != &l->hooks;) {
        struct evloop_hook *h = dl_entry(p, struct evloop_hook, link);
        p = p->next;
        if (h->dead) {
            dl_del(&h->link);
            free(h);
        }
    }
}

static int enqueue(struct evloop *l, struct evloop_callitem *c)
{
    c->next = NULL;
    *l->calls_tail = c;
    l->calls_tail = &c->next;
    efd_signal(l->wake_efd);
    return 0;
}

int evloop_call(struct evloop *l, evloop_call_fn *fn, void *opaque)
{
    struct evloop_callitem *c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->fn = fn;
    c->opaque = opaque;
    pthread_mutex_lock(&l->mu);
    enqueue(l, c);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

int evloop_call_sync(struct evloop *l, evloop_call_fn *fn, void *opaque)
{
    struct evloop_callitem c = { .fn = fn, .opaque = opaque, .sync = true };
    pthread_mutex_lock(&l->mu);
    bool direct = !l->running ||
                  (l->have_run_thread && pthread_equal(l->run_thread, pthread_self()));
    if (direct) {
        pthread_mutex_unlock(&l->mu);
        fn(opaque);
        return 0;
    }
    enqueue(l, &c);
    while (!c.done)
        pthread_cond_wait(&l->cond, &l->mu);
    pthread_mutex_unlock(&l->mu);
    return 0;
}

/* Program the timerfd for the earliest deadline (or disarm it). */
static void timers_program(struct evloop *l)
{
    if (!l->timer_dirty)
        return;
    l->timer_dirty = false;
    uint64_t d = dl_empty(&l->armed) ? 0
               : dl_entry(l->armed.next, struct evloop_timer, link)->deadline;
    if (d == 0 && !dl_empty(&l->armed))
        d = 1;      /* deadline 0 (long past): 0 would disarm the timerfd */
    if (d == l->tfd_deadline)
        return;
    struct itimerspec its = { .it_value = { .tv_sec = (time_t)(d / 1000000000ull),
                                            .tv_nsec = (long)(d % 1000000000ull) } };
    if (timerfd_settime(l->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        l->tfd_deadline = d;
    else
        log_err("evloop: timerfd_settime: %s", strerror(errno));
}

static void timers_run(struct evloop *l)
{
    uint64_t now = evloop_now_ns();
    while (!dl_empty(&l->armed)) {
        struct evloop_timer *t = dl_entry(l->armed.next, struct evloop_timer, link);
        if (t->deadline > now)
            break;
        dl_del(&t->link);
        dl_insert_before(&l->due, &t->link);
        l->timer_dirty = true;
    }
    while (!dl_empty(&l->due) && !atomic_load(&l->quit)) {
        struct evloop_timer *t = dl_entry(l->due.next, struct evloop_timer, link);
        dl_del(&t->link);
        t->armed = false;
        t->cb(t->opaque);   /* may re-arm or free t, or any other timer */
    }
}

static int loop_body(struct evloop *l)
{
    struct epoll_event evs[EVLOOP_MAX_EVENTS];
    int r = 0;
    while (!atomic_load(&l->quit)) {
        int64_t timeout_ns = -1;
        for (struct dl *p = l->hooks.next; p != &l->hooks; p = p->next) {
            struct evloop_hook *h = dl_entry(p, struct evloop_hook, link);
            if (!h->dead && h->prepare)
                h->prepare(h->opaque, &timeout_ns);
        }
        if (!dl_empty(&l->due))
            timeout_ns = 0;     /* timers left from a pass cut short */
        timers_program(l);
        int timeout_ms = timeout_ns < 0 ? -1
                       : (int)((timeout_ns + 999999) / 1000000 > 0x7fffffff
                               ? 0x7fffffff : (timeout_ns + 999999) / 1000000);
        int n = epoll_wait(l->ep, evs, EVLOOP_MAX_EVENTS, timeout_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            r = -errno;
            log_err("evloop: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n && !atomic_load(&l->quit); i++) {
            void *p = evs[i].data.ptr;
            if (p == &l->wake_tag) {
                efd_drain(l->wake_efd);
            } else if (p == &l->timer_tag) {
                uint64_t v;
                if (read(l->tfd, &v, sizeof(v)) < 0) { /* EAGAIN: already read */ }
                l->tfd_deadline = 0;    /* fired: program again */
                l->timer_dirty = true;
            } else {
                struct evloop_fd *e = p;
                if (!e->dead)
                    e->cb(e->opaque, e->fd, evs[i].events);
            }
        }
        if (!atomic_load(&l->quit))
            timers_run(l);
        run_calls(l, false);
        for (struct dl *p = l->hooks.next; p != &l->hooks && !atomic_load(&l->quit); p = p->next) {
            struct evloop_hook *h = dl_entry(p, struct evloop_hook, link);
            if (!h->dead && h->check)
                h->check(h->opaque);
        }
        hooks_reap(l);
        free_dead(l);
    }
    /* Calls made before the end run now; later ones run in stop/destroy. */
    run_calls(l, true);
    return r;
}

int evloop_run(struct evloop *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->running) {
        pthread_mutex_unlock(&l->mu);
        return -EBUSY;
    }
    l->running = true;
    atomic_store(&l->quit, false);
    l->run_thread = pthread_self();
    l->have_run_thread = true;
    pthread_mutex_unlock(&l->mu);
    return loop_body(l);
}

static void *loop_thread(void *arg)
{
    struct evloop *l = arg;
    pthread_mutex_lock(&l->mu);
    l->run_thread = pthread_self();
    l->have_run_thread = true;
    pthread_mutex_unlock(&l->mu);
    loop_body(l);
    return NULL;
}

int evloop_start(struct evloop *l, const char *name)
{
    pthread_mutex_lock(&l->mu);
    if (l->running || l->started) {
        pthread_mutex_unlock(&l->mu);
        return -EBUSY;
    }
    l->running = true;
    l->have_run_thread = false;
    atomic_store(&l->quit, false);
    /* Signals are the program's: the loop thread blocks them all (a write
     * to a pipe whose reader is gone then fails with EPIPE, and the
     * SIGPIPE stays pending on this thread, harmless). */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&l->thread, NULL, loop_thread, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r) {
        l->running = false;
        pthread_mutex_unlock(&l->mu);
        return -r;
    }
    l->started = true;
    pthread_mutex_unlock(&l->mu);
    if (name)
        pthread_setname_np(l->thread, name);
    return 0;
}

void evloop_quit(struct evloop *l)
{
    atomic_store(&l->quit, true);
    efd_signal(l->wake_efd);
}

int evloop_stop(struct evloop *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->running && l->have_run_thread && pthread_equal(l->run_thread, pthread_self())) {
        pthread_mutex_unlock(&l->mu);
        evloop_quit(l);
        return 0;
    }
    if (l->running)
        evloop_quit(l);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += EVLOOP_STOP_TIMEOUT_S;
    int r = 0;
    if (l->started) {
        pthread_t th = l->thread;
        pthread_mutex_unlock(&l->mu);
        int j = pthread_timedjoin_np(th, NULL, &ts);
        if (j) {
            log_err("evloop: loop thread did not stop within %d s", EVLOOP_STOP_TIMEOUT_S);
            return -ETIMEDOUT;
        }
        pthread_mutex_lock(&l->mu);
        l->started = false;
    } else {
        while (l->running && r == 0)
            r = pthread_cond_timedwait(&l->cond, &l->mu, &ts);
        if (l->running) {
            pthread_mutex_unlock(&l->mu);
            log_err("evloop: loop did not stop within %d s", EVLOOP_STOP_TIMEOUT_S);
            return -ETIMEDOUT;
        }
    }
    pthread_mutex_unlock(&l->mu);
    run_calls(l, false);
    return 0;
}
