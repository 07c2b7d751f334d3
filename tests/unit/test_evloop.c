/* The event loop: fd callbacks, timer order and re-arm, deleting fds and
 * timers inside callbacks (the victim's event in the same batch, its
 * memory freed: ASan catches a use after free), cross-thread calls, stop
 * while idle and while busy. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "base/efd.h"
#include "base/evloop.h"
#include "harness.h"

#define MS 1000000ull

/* Wait for a semaphore, bounded (only a failing test reaches the bound). */
static int sem_wait_bounded(sem_t *s)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 10;
    int r;
    while ((r = sem_timedwait(s, &ts)) < 0 && errno == EINTR)
        ;
    return r;
}

struct rd {
    struct evloop *l;
    int calls;
    char got;
};

static void rd_cb(void *opaque, int fd, uint32_t revents)
{
    struct rd *d = opaque;
    d->calls++;
    if (read(fd, &d->got, 1) != 1)
        d->got = '?';
    evloop_quit(d->l);
}

static void t_fd_callback(void)
{
    struct evloop *l;
    int p[2];
    CHECK(evloop_create(&l) == 0);
    CHECK(pipe2(p, O_CLOEXEC | O_NONBLOCK) == 0);
    struct rd d = { .l = l };
    CHECK(evloop_add_fd(l, p[0], EPOLLIN, rd_cb, &d) == 0);
    CHECK(evloop_add_fd(l, p[0], EPOLLIN, rd_cb, &d) == -EEXIST);
    CHECK(write(p[1], "x", 1) == 1);
    CHECK(evloop_run(l) == 0);
    CHECK_EQ(d.calls, 1);
    CHECK_EQ(d.got, 'x');
    /* events 0: registered but not watched */
    CHECK(evloop_mod_fd(l, p[0], 0) == 0);
    CHECK(evloop_mod_fd(l, p[1], 0) == -ENOENT);
    CHECK(evloop_del_fd(l, p[0]) == 0);
    CHECK(evloop_del_fd(l, p[0]) == -ENOENT);
    /* a regular file cannot be watched: -EPERM, as documented */
    int f = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    CHECK(f >= 0);
    CHECK(evloop_add_fd(l, f, EPOLLIN, rd_cb, &d) == -EPERM);
    close(f);
    close(p[0]);
    close(p[1]);
    evloop_destroy(l);
}

struct order {
    struct evloop *l;
    int seq[16];
    int n;
    int quit_after;
};

struct tctx {
    struct order *o;
    int id;
    int rearm;          /* times left to re-arm itself */
    struct evloop_timer *t;
};

static void order_cb(void *opaque)
{
    struct tctx *c = opaque;
    struct order *o = c->o;
    if (o->n < 16)
        o->seq[o->n++] = c->id;
    if (c->rearm > 0) {
        c->rearm--;
        evloop_timer_arm_in(c->t, 1 * MS);
    }
    if (o->n == o->quit_after)
        evloop_quit(o->l);
}

static void t_timer_order_and_rearm(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    struct order o = { .l = l, .quit_after = 7 };
    struct tctx c[5];
    for (int i = 0; i < 5; i++) {
        c[i] = (struct tctx){ .o = &o, .id = i };
        c[i].t = evloop_timer_new(l, order_cb, &c[i]);
        CHECK(c[i].t != NULL);
    }
    uint64_t now = evloop_now_ns();
    evloop_timer_arm(c[0].t, now + 30 * MS);
    evloop_timer_arm(c[1].t, now + 10 * MS);
    evloop_timer_arm(c[2].t, now + 20 * MS);
    evloop_timer_arm(c[3].t, now + 20 * MS);   /* tie with 2: after it */
    evloop_timer_arm(c[4].t, now + 5 * MS);
    evloop_timer_disarm(c[4].t);               /* never fires */
    CHECK(!evloop_timer_armed(c[4].t));
    evloop_timer_arm(c[1].t, now + 15 * MS);   /* re-arm moves it */
    c[0].rearm = 3;                            /* fires 4 times in all */
    CHECK(evloop_run(l) == 0);
    int want[] = { 1, 2, 3, 0, 0, 0, 0 };
    CHECK_EQ(o.n, 7);
    for (int i = 0; i < 7; i++)
        CHECK_EQ(o.seq[i], want[i]);
    CHECK(!evloop_timer_armed(c[0].t));
    for (int i = 0; i < 5; i++)
        evloop_timer_free(c[i].t);
    /* A deadline long past (even 0) fires at once. */
    o = (struct order){ .l = l, .quit_after = 1 };
    c[0] = (struct tctx){ .o = &o, .id = 9 };
    c[0].t = evloop_timer_new(l, order_cb, &c[0]);
    evloop_timer_arm(c[0].t, 0);
    CHECK(evloop_run(l) == 0);
    CHECK_EQ(o.seq[0], 9);
    evloop_destroy(l);      /* frees the timer still allocated */
}

/* Two readable pipes in one batch: whichever callback runs first deletes
 * the other, closes its fd, frees its state and puts a fresh pipe (likely
 * the same fd number) in its place. The victim must not run, nor the new
 * entry on the stale event. */
struct victim {
    struct evloop *l;
    int fds[2];
    struct victim **peer;   /* the other side's state, freed by whoever runs first */
    int *runs;
    int *fresh_runs;
    int newp[2];
};

static void fresh_cb(void *opaque, int fd, uint32_t revents)
{
    (*(int *)opaque)++;
}

static void quit_fn(void *opaque)
{
    evloop_quit(opaque);
}

static void victim_cb(void *opaque, int fd, uint32_t revents)
{
    struct victim *v = opaque;
    (*v->runs)++;
    struct victim *o = *v->peer;
    if (o) {
        evloop_del_fd(v->l, o->fds[0]);
        close(o->fds[0]);
        close(o->fds[1]);
        if (pipe2(v->newp, O_CLOEXEC | O_NONBLOCK) == 0)
            evloop_add_fd(v->l, v->newp[0], EPOLLIN, fresh_cb, v->fresh_runs);
        free(o);
        *v->peer = NULL;
    }
    /* and itself: delete its own fd inside its callback */
    evloop_del_fd(v->l, v->fds[0]);
    evloop_call(v->l, quit_fn, v->l);   /* after the batch, not in it */
}

static void t_delete_inside_callbacks(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    int runs = 0, fresh = 0;
    struct victim *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    CHECK(a && b);
    struct victim *pa = a, *pb = b;
    *a = (struct victim){ .l = l, .peer = &pb, .runs = &runs, .fresh_runs = &fresh };
    *b = (struct victim){ .l = l, .peer = &pa, .runs = &runs, .fresh_runs = &fresh };
    CHECK(pipe2(a->fds, O_CLOEXEC | O_NONBLOCK) == 0);
    CHECK(pipe2(b->fds, O_CLOEXEC | O_NONBLOCK) == 0);
    CHECK(write(a->fds[1], "a", 1) == 1);
    CHECK(write(b->fds[1], "b", 1) == 1);
    CHECK(evloop_add_fd(l, a->fds[0], EPOLLIN, victim_cb, a) == 0);
    CHECK(evloop_add_fd(l, b->fds[0], EPOLLIN, victim_cb, b) == 0);
    CHECK(evloop_run(l) == 0);
    CHECK_EQ(runs, 1);
    CHECK_EQ(fresh, 0);
    struct victim *alive = pa ? pa : pb;
    CHECK(alive != NULL);
    CHECK(evloop_del_fd(l, alive->newp[0]) == 0);
    close(alive->newp[0]);
    close(alive->newp[1]);
    close(alive->fds[0]);
    close(alive->fds[1]);
    free(alive);
    evloop_destroy(l);
}

/* Two timers due in one pass: the first frees the second (heap state
 * and handle); the second must not run. */
struct tv {
    struct evloop *l;
    struct evloop_timer *self;
    struct tv **other;
    int *runs;
};

static void tv_cb(void *opaque)
{
    struct tv *v = opaque;
    (*v->runs)++;
    struct tv *o = *v->other;
    if (o) {
        evloop_timer_free(o->self);
        free(o);
        *v->other = NULL;
    }
    evloop_timer_free(v->self);     /* and itself */
    evloop_call(v->l, quit_fn, v->l);   /* after the pass, not in it */
}

static void t_timer_free_inside_callbacks(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    int runs = 0;
    struct tv *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    CHECK(a && b);
    struct tv *pa = a, *pb = b;
    *a = (struct tv){ .l = l, .other = &pb, .runs = &runs };
    *b = (struct tv){ .l = l, .other = &pa, .runs = &runs };
    a->self = evloop_timer_new(l, tv_cb, a);
    b->self = evloop_timer_new(l, tv_cb, b);
    CHECK(a->self && b->self);
    uint64_t d = evloop_now_ns() + 1 * MS;
    evloop_timer_arm(a->self, d);
    evloop_timer_arm(b->self, d);
    CHECK(evloop_run(l) == 0);
    CHECK_EQ(runs, 1);
    free(pa ? pa : pb);
    evloop_destroy(l);
}

struct xc {
    struct evloop *l;
    atomic_int count;
    atomic_int off_thread;
    int last[4];
    atomic_int disorder;
};

struct xarg {
    struct xc *x;
    int thread, seq;
};

static void xc_fn(void *opaque)
{
    struct xarg *a = opaque;
    struct xc *x = a->x;
    if (!evloop_on_loop_thread(x->l))
        atomic_fetch_add(&x->off_thread, 1);
    if (a->seq != x->last[a->thread] + 1)   /* only the loop thread touches last[] */
        atomic_fetch_add(&x->disorder, 1);
    x->last[a->thread] = a->seq;
    atomic_fetch_add(&x->count, 1);
    free(a);
}

#define XCALLS 500

static void *xc_thread(void *opaque)
{
    struct xarg *base = opaque;
    for (int i = 1; i <= XCALLS; i++) {
        struct xarg *a = malloc(sizeof(*a));
        *a = (struct xarg){ .x = base->x, .thread = base->thread, .seq = i };
        if (i % 50 == 0)
            evloop_call_sync(base->x->l, xc_fn, a);
        else
            evloop_call(base->x->l, xc_fn, a);
    }
    return NULL;
}

struct syncarg {
    struct evloop *l;
    int result;     /* 1: ran on the loop thread, 2: elsewhere */
};

static void sync_fn(void *opaque)
{
    struct syncarg *s = opaque;
    s->result = evloop_on_loop_thread(s->l) ? 1 : 2;
}

static void t_cross_thread_calls(void)
{
    struct xc x = { 0 };
    CHECK(evloop_create(&x.l) == 0);
    CHECK(evloop_start(x.l, "evloop-test") == 0);
    CHECK(evloop_start(x.l, "evloop-test") == -EBUSY);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    /* Off the loop thread while it runs: refused, not raced. */
    CHECK(evloop_add_fd(x.l, p[0], EPOLLIN, fresh_cb, NULL) == -EPERM);
    CHECK(evloop_timer_new(x.l, order_cb, NULL) == NULL);
    close(p[0]);
    close(p[1]);
    pthread_t th[4];
    struct xarg base[4];
    for (int i = 0; i < 4; i++) {
        base[i] = (struct xarg){ .x = &x, .thread = i };
        CHECK(pthread_create(&th[i], NULL, xc_thread, &base[i]) == 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    struct syncarg s = { .l = x.l };
    CHECK(evloop_call_sync(x.l, sync_fn, &s) == 0);   /* FIFO: after all of the above */
    CHECK_EQ(s.result, 1);
    CHECK_EQ(atomic_load(&x.count), 4 * XCALLS);
    CHECK_EQ(atomic_load(&x.off_thread), 0);
    CHECK_EQ(atomic_load(&x.disorder), 0);
    CHECK(evloop_stop(x.l) == 0);
    /* Not running: sync runs on the caller, async in stop/destroy. */
    s.result = 0;
    CHECK(evloop_call_sync(x.l, sync_fn, &s) == 0);
    CHECK_EQ(s.result, 2);
    struct xarg *a = malloc(sizeof(*a));
    *a = (struct xarg){ .x = &x, .thread = 0, .seq = XCALLS + 1 };
    CHECK(evloop_call(x.l, xc_fn, a) == 0);
    CHECK_EQ(atomic_load(&x.count), 4 * XCALLS);
    CHECK(evloop_stop(x.l) == 0);
    CHECK_EQ(atomic_load(&x.count), 4 * XCALLS + 1);
    evloop_destroy(x.l);
}

static void t_stop_while_idle(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    CHECK(evloop_stop(l) == 0);             /* never started */
    CHECK(evloop_start(l, "evloop-idle") == 0);
    CHECK(evloop_stop(l) == 0);
    CHECK(evloop_stop(l) == 0);             /* idempotent */
    CHECK(evloop_start(l, "evloop-idle") == 0);   /* and restartable */
    evloop_destroy(l);                      /* stops it */
}

struct busy {
    sem_t first;
    atomic_int n;
};

static void busy_cb(void *opaque, int fd, uint32_t revents)
{
    struct busy *b = opaque;
    if (atomic_fetch_add(&b->n, 1) == 0)
        sem_post(&b->first);
    /* never drained: level-triggered, the loop never goes idle */
}

static void busy_timer(void *opaque)
{
    evloop_timer_arm_in(*(struct evloop_timer **)opaque, 0);   /* always due */
}

static void t_stop_while_busy(void)
{
    struct evloop *l;
    struct busy b = { 0 };
    CHECK(sem_init(&b.first, 0, 0) == 0);
    CHECK(evloop_create(&l) == 0);
    int efd = efd_new();
    CHECK(efd >= 0);
    efd_signal(efd);
    CHECK(evloop_add_fd(l, efd, EPOLLIN, busy_cb, &b) == 0);
    struct evloop_timer *t = evloop_timer_new(l, busy_timer, &t);
    CHECK(t != NULL);
    evloop_timer_arm_in(t, 0);
    CHECK(evloop_start(l, "evloop-busy") == 0);
    CHECK(sem_wait_bounded(&b.first) == 0);
    CHECK(evloop_stop(l) == 0);
    int n = atomic_load(&b.n);
    CHECK(n > 0);
    CHECK_EQ(atomic_load(&b.n), n);         /* stopped means stopped */
    CHECK(evloop_del_fd(l, efd) == 0);      /* allowed again once stopped */
    close(efd);
    evloop_destroy(l);
    sem_destroy(&b.first);
}

/* evloop_run on the caller's thread, stopped from another thread. */
static void *stopper(void *opaque)
{
    struct evloop *l = opaque;
    /* Wait until it runs: until then a sync call runs here (result 2). */
    struct syncarg s = { .l = l };
    do {
        evloop_call_sync(l, sync_fn, &s);
        if (s.result != 1)
            sched_yield();
    } while (s.result != 1);
    return (void *)(intptr_t)evloop_stop(l);
}

static void t_run_stopped_from_other_thread(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, stopper, l) == 0);
    CHECK(evloop_run(l) == 0);
    void *ret;
    pthread_join(th, &ret);
    CHECK_EQ((intptr_t)ret, 0);
    evloop_destroy(l);
}

struct hookc {
    struct evloop *l;
    int prepares, checks;
};

static void hk_prepare(void *opaque, int64_t *timeout_ns)
{
    struct hookc *h = opaque;
    h->prepares++;
    *timeout_ns = 0;        /* do not block: the check hook ends the run */
}

static void hk_check(void *opaque)
{
    struct hookc *h = opaque;
    if (++h->checks == 3)
        evloop_quit(h->l);
}

static void t_hooks(void)
{
    struct evloop *l;
    CHECK(evloop_create(&l) == 0);
    struct hookc h = { .l = l };
    struct evloop_hook *hk = evloop_hook_add(l, hk_prepare, hk_check, &h);
    CHECK(hk != NULL);
    CHECK(evloop_run(l) == 0);
    CHECK_EQ(h.checks, 3);
    CHECK_EQ(h.prepares, 3);
    evloop_hook_del(l, hk);
    evloop_destroy(l);
}

int main(void)
{
    RUN(t_fd_callback);
    RUN(t_timer_order_and_rearm);
    RUN(t_delete_inside_callbacks);
    RUN(t_timer_free_inside_callbacks);
    RUN(t_cross_thread_calls);
    RUN(t_stop_while_idle);
    RUN(t_stop_while_busy);
    RUN(t_run_stopped_from_other_thread);
    RUN(t_hooks);
    return harness_done();
}
