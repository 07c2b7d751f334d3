/* Tier 2: pause / resume / stop of running guests, SMP included, and two
 * VMs in one process. The guest prints "testguest: tick N" forever.
 * On arm64 both images are the one arm64 Image (and its secondary vCPUs
 * are powered off, waiting for PSCI CPU_ON, instead of waiting for SIPI).
 *
 * This binary is linked with --wrap for pthread_kill, pthread_join and
 * pthread_timedjoin_np (see the Makefile): while the checker is on, a signal sent to a thread that
 * was already joined, and a join of a thread that is being or was joined,
 * (both undefined behaviour) are refused and counted instead of reaching
 * glibc. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>

#include "kvmtest.h"
#include "vm/vm.h"

#ifdef __aarch64__
#define IMG_A "Image"
#define IMG_B "Image"
#else
#define IMG_A "bzImage"
#define IMG_B "elf"
#endif

/* ---- the thread-lifetime checker ---- */

int __real_pthread_kill(pthread_t t, int sig);
int __wrap_pthread_kill(pthread_t t, int sig);
int __real_pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *ts);
int __wrap_pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *ts);
int __real_pthread_join(pthread_t t, void **ret);
int __wrap_pthread_join(pthread_t t, void **ret);

#define TC_MAX 256
static struct {
    pthread_mutex_t lock;
    atomic_bool on;
    pthread_t joined[TC_MAX];   /* being joined or joined, since tc_reset */
    bool done[TC_MAX];          /* the join returned: the thread is gone */
    int n;
    int bad_kills, bad_joins;   /* refused calls */
    int kills;                  /* kills passed on while checking */
} tc = { .lock = PTHREAD_MUTEX_INITIALIZER };

/* Index of t in tc.joined or -1. Caller holds tc.lock. */
static int tc_find(pthread_t t)
{
    for (int i = 0; i < tc.n; i++)
        if (pthread_equal(tc.joined[i], t))
            return i;
    return -1;
}

/* Start checking afresh (no thread may be created between the first join
 * and the next reset: a new thread may reuse a joined one's id). */
static void tc_reset(bool on)
{
    pthread_mutex_lock(&tc.lock);
    tc.n = 0;
    tc.bad_kills = tc.bad_joins = tc.kills = 0;
    atomic_store(&tc.on, on);
    pthread_mutex_unlock(&tc.lock);
}

int __wrap_pthread_kill(pthread_t t, int sig)
{
    if (!atomic_load(&tc.on))
        return __real_pthread_kill(t, sig);
    pthread_mutex_lock(&tc.lock);
    int i = tc_find(t);
    bool bad = i >= 0 && tc.done[i];    /* a join in progress is fine */
    if (bad)
        tc.bad_kills++;
    else
        tc.kills++;
    pthread_mutex_unlock(&tc.lock);
    /* A join that returns between the check and the kill goes unseen: the
     * checker misses some bad kills, it never reports a good one. */
    return bad ? ESRCH : __real_pthread_kill(t, sig);
}

/* Both joins: ts NULL is pthread_join. */
static int tc_join(pthread_t t, void **ret, const struct timespec *ts)
{
    if (!atomic_load(&tc.on))
        return ts ? __real_pthread_timedjoin_np(t, ret, ts) : __real_pthread_join(t, ret);
    pthread_mutex_lock(&tc.lock);
    bool bad = tc_find(t) >= 0 || tc.n >= TC_MAX;
    if (bad) {
        tc.bad_joins++;
    } else {
        tc.done[tc.n] = false;
        tc.joined[tc.n++] = t;
    }
    pthread_mutex_unlock(&tc.lock);
    if (bad)
        return EINVAL;
    int r = ts ? __real_pthread_timedjoin_np(t, ret, ts) : __real_pthread_join(t, ret);
    pthread_mutex_lock(&tc.lock);
    int i = tc_find(t);
    if (i >= 0 && r == 0) {
        tc.done[i] = true;
    } else if (i >= 0) {        /* not joined after all (timed out) */
        tc.n--;
        tc.joined[i] = tc.joined[tc.n];
        tc.done[i] = tc.done[tc.n];
    }
    pthread_mutex_unlock(&tc.lock);
    return r;
}

int __wrap_pthread_timedjoin_np(pthread_t t, void **ret, const struct timespec *ts)
{
    return tc_join(t, ret, ts);
}

int __wrap_pthread_join(pthread_t t, void **ret)
{
    return tc_join(t, ret, NULL);
}

/* Largest tick number seen in the collected output, or -1. */
static long last_tick(struct kt *t)
{
    long last = -1;
    const char *p = t->buf;
    while ((p = strstr(p, "testguest: tick ")) != NULL) {
        p += strlen("testguest: tick ");
        last = strtol(p, NULL, 10);
    }
    return last;
}

static void pause_resume(const char *image, int cpus)
{
    struct kt t;
    CHECK(kt_create(&t, image, "counter=20000", cpus, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: tick 2"));
    for (int round = 0; round < 3; round++) {
        CHECK(arcvmm_pause(t.vm) == 0);
        CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_PAUSED);
        /* Every vCPU is parked once pause returns, and console output is
         * written synchronously by the vCPU, so everything it printed is in
         * the pipe now. */
        kt_drain(&t);
        size_t len = t.len;
        long before = last_tick(&t);
        CHECK(before >= 2);
        /* Observation window: a running guest prints a tick far more often
         * than this; a paused one must print nothing. */
        CHECK(kt_read(&t, 500) == 0);
        CHECK_EQ(t.len, len);
        CHECK(arcvmm_resume(t.vm) == 0);
        CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_RUNNING);
        char next[64];
        snprintf(next, sizeof(next), "testguest: tick %ld", before + 2);
        CHECK(kt_expect(&t, next));
    }
    long long t0 = kt_now_ms();
    CHECK(arcvmm_stop(t.vm) == 0);
    long long took = kt_now_ms() - t0;
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    CHECK(took < 5000);     /* the bound arcvmm_stop promises, not a speed target */
    struct arcvmm_exit ex;
    CHECK(arcvmm_wait(t.vm, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_STOPPED);
    kt_destroy(&t);
}

static void t_pause_resume_bzimage(void) { pause_resume(IMG_A, 1); }
#ifndef __aarch64__
static void t_pause_resume_pvh(void) { pause_resume("elf", 1); }
#endif
/* Secondary vCPUs sit in KVM_RUN waiting for INIT/SIPI (arm64: for PSCI
 * CPU_ON): pause must still get every one of them out and acknowledged. */
static void t_pause_resume_smp(void) { pause_resume(IMG_A, 4); }

static void t_stop_while_paused(void)
{
    struct kt t;
    CHECK(kt_create(&t, IMG_A, "counter=20000", 2, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: tick 1"));
    CHECK(arcvmm_pause(t.vm) == 0);
    CHECK(arcvmm_stop(t.vm) == 0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    CHECK(arcvmm_stop(t.vm) == 0);      /* idempotent */
    CHECK(arcvmm_pause(t.vm) < 0);      /* nothing to pause any more */
    CHECK(arcvmm_resume(t.vm) < 0);
    kt_destroy(&t);
}

static void t_stop_before_start(void)
{
    struct kt t;
    CHECK(kt_create(&t, IMG_A, "counter=20000", 1, 64) == 0);
    CHECK(arcvmm_pause(t.vm) < 0);
    CHECK(arcvmm_stop(t.vm) == 0);
    CHECK(arcvmm_start(t.vm) < 0);
    kt_destroy(&t);
}

/* Destroy without stop: everything is joined and freed (ASan checks). */
static void t_destroy_running(void)
{
    struct kt t;
    CHECK(kt_create(&t, IMG_B, "counter=20000", 2, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: tick 1"));
    kt_destroy(&t);
}

/* No global state: two VMs run side by side and are paused independently. */
static void t_two_vms(void)
{
    struct kt a, b;
    CHECK(kt_create(&a, IMG_A, "counter=20000", 1, 64) == 0);
    CHECK(kt_create(&b, IMG_B, "counter=20000", 1, 64) == 0);
    CHECK(arcvmm_start(a.vm) == 0);
    CHECK(arcvmm_start(b.vm) == 0);
    CHECK(kt_expect(&a, "testguest: tick 1"));
    CHECK(kt_expect(&b, "testguest: tick 1"));
    CHECK(arcvmm_pause(a.vm) == 0);
    kt_drain(&a);
    long a_before = last_tick(&a), b_before = last_tick(&b);
    char next[64];
    snprintf(next, sizeof(next), "testguest: tick %ld", b_before + 2);
    CHECK(kt_expect(&b, next));         /* b runs on while a is paused */
    kt_drain(&a);
    CHECK_EQ(last_tick(&a), a_before);
    CHECK(arcvmm_resume(a.vm) == 0);
    snprintf(next, sizeof(next), "testguest: tick %ld", a_before + 1);
    CHECK(kt_expect(&a, next));
    kt_destroy(&a);
    kt_destroy(&b);
}

/* The state says the VM ended as soon as the guest powered off, before
 * anyone called arcvmm_wait; pause and resume are refused from then on. */
static void t_state_after_guest_exit(void)
{
    struct kt t;
    CHECK(kt_create(&t, IMG_A, "hello", 1, 64) == 0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_CREATED);
    CHECK(arcvmm_start(t.vm) == 0);
    struct pollfd p = { .fd = arcvmm_exit_fd(t.vm), .events = POLLIN };
    CHECK(poll(&p, 1, KT_TIMEOUT_MS) == 1);     /* the guest powers off by itself */
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    CHECK(arcvmm_pause(t.vm) < 0);
    CHECK(arcvmm_resume(t.vm) < 0);
    struct arcvmm_exit ex;
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    kt_destroy(&t);
}

/* No process-wide side effect: creating, pausing and stopping a VM (every
 * vCPU is kicked) leaves the kick signal's disposition SIG_DFL -- which
 * would kill the process if the kick were ever delivered -- SIGPIPE's as
 * it was, and this thread's mask as it was. */
static void t_no_signal_side_effects(void)
{
    struct sigaction kick0, pipe0, kick1, pipe1;
    sigset_t mask0, mask1;
    CHECK(sigaction(SIGRTMIN + 1, NULL, &kick0) == 0);
    CHECK(sigaction(SIGPIPE, NULL, &pipe0) == 0);
    CHECK(pthread_sigmask(SIG_BLOCK, NULL, &mask0) == 0);
    CHECK(kick0.sa_handler == SIG_DFL);
    struct kt t;
    CHECK(kt_create(&t, IMG_A, "counter=20000", 2, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: tick 1"));
    for (int i = 0; i < 3; i++) {
        CHECK(arcvmm_pause(t.vm) == 0);
        CHECK(arcvmm_resume(t.vm) == 0);
    }
    CHECK(arcvmm_stop(t.vm) == 0);
    CHECK(sigaction(SIGRTMIN + 1, NULL, &kick1) == 0);
    CHECK(sigaction(SIGPIPE, NULL, &pipe1) == 0);
    CHECK(pthread_sigmask(SIG_BLOCK, NULL, &mask1) == 0);
    CHECK(kick1.sa_handler == SIG_DFL);
    CHECK(pipe1.sa_handler == pipe0.sa_handler);
    for (int sig = 1; sig < SIGRTMAX; sig++)
        CHECK_EQ(sigismember(&mask1, sig), sigismember(&mask0, sig));
    kt_destroy(&t);
}

/* A console pipe whose reader is gone raises no SIGPIPE in the program
 * (SIGPIPE keeps its default action here, which would end the test):
 * neither on the loop thread while the guest runs nor on this thread
 * when stop writes the last of the output. */
static void t_console_reader_gone(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
    sigemptyset(&dfl.sa_mask);
    CHECK(sigaction(SIGPIPE, &dfl, &old) == 0);
    struct kt t;
    CHECK(kt_create(&t, IMG_A, "counter=20000", 1, 64) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: tick 1"));
    close(t.out_rd);
    t.out_rd = -1;
    /* The loop's next write fails with EPIPE: output is discarded. */
    struct vm *vm = (struct vm *)t.vm;
    long long end = kt_now_ms() + KT_TIMEOUT_MS;
    bool dead = false;
    while (!dead && kt_now_ms() < end) {
        pthread_mutex_lock(&vm->console.mu);
        dead = vm->console.out_dead;
        pthread_mutex_unlock(&vm->console.mu);
        if (!dead)
            sched_yield();
    }
    CHECK(dead);
    CHECK(arcvmm_stop(t.vm) == 0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    kt_destroy(&t);
    CHECK(sigaction(SIGPIPE, &old, NULL) == 0);
}

/* ---- arcvmm_stop racing kicks ---- */

struct race {
    struct arcvmm *a;
    atomic_bool done;
};

/* What a guest poweroff on another vCPU or Ctrl-A x does: vm_end, which
 * kicks every vCPU (under vm->lock). sched_yield lets the threads being
 * stopped take the lock too; it synchronises nothing. A bounded number of
 * calls, as real callers make: an unbounded loop of vm_end holds vm->lock
 * nearly all the time and keeps signalling the vCPU threads out of their
 * futex waits, so a vCPU that must take the lock to leave starves past
 * stop's 5 s bound (seen here with 16 vCPUs on 2 host cores). */
#define RACE_ENDS 64
static void *race_ender(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < RACE_ENDS && !atomic_load(&r->done); i++) {
        vm_end((struct vm *)r->a, ARCVMM_EXIT_POWEROFF, NULL);
        sched_yield();
    }
    return NULL;
}

/* Pause and resume through the API: kicks too, until the VM has ended. */
static void *race_pauser(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->done)) {
        if (arcvmm_pause(r->a) == 0)
            arcvmm_resume(r->a);
        sched_yield();
    }
    return NULL;
}

/* arcvmm_wait ends in arcvmm_stop: a second stop beside the test's. */
static void *race_waiter(void *arg)
{
    struct race *r = arg;
    struct arcvmm_exit ex;
    return (void *)(intptr_t)arcvmm_wait(r->a, &ex);
}

/* arcvmm_stop joins the vCPU threads while other threads kick them (the
 * guest powers off from vCPU 0, two threads call vm_end as a poweroff from
 * other vCPUs would, one pauses and resumes) and while arcvmm_wait stops
 * the VM too: no kick may reach a joined thread, no thread may be joined
 * twice, and the ASan build must stay clean. Many vCPUs, many rounds. */
static void t_stop_races_kicks(void)
{
    int max = arcvmm_max_cpus();
    CHECK(max >= 2);
    int cpus = max < 16 ? max : 16;
    enum { ROUNDS = 40, NTH = 4 };
    int bad_kills = 0, bad_joins = 0, round, nth = 0, stop = 0;
    intptr_t waited = 0;
    long kills = 0;
    for (round = 0; round < ROUNDS; round++) {
        struct kt t;
        CHECK(kt_create(&t, IMG_A, "hello", cpus, 32) == 0);
        tc_reset(true);
        CHECK(arcvmm_start(t.vm) == 0);
        struct race r = { .a = t.vm };
        void *(*fn[NTH])(void *) = { race_ender, race_ender, race_pauser, race_waiter };
        pthread_t th[NTH];
        nth = 0;
        while (nth < NTH && pthread_create(&th[nth], NULL, fn[nth], &r) == 0)
            nth++;
        stop = arcvmm_stop(t.vm);
        atomic_store(&r.done, true);
        void *w = (void *)(intptr_t)-1;
        for (int i = 0; i < nth; i++)
            pthread_join(th[i], i == NTH - 1 ? &w : NULL);
        waited = (intptr_t)w;
        pthread_mutex_lock(&tc.lock);
        bad_kills += tc.bad_kills;
        bad_joins += tc.bad_joins;
        kills += tc.kills;
        pthread_mutex_unlock(&tc.lock);
        tc_reset(false);
        kt_destroy(&t);
        if (nth != NTH || stop != 0 || waited != 0 || bad_kills || bad_joins)
            break;
    }
    printf("  %d of %d rounds, %d vCPUs: %ld kicks passed, %d refused (joined thread), "
           "%d double joins refused\n", round, ROUNDS, cpus, kills, bad_kills, bad_joins);
    CHECK_EQ(bad_kills, 0);
    CHECK_EQ(bad_joins, 0);
    CHECK_EQ(nth, NTH);
    CHECK_EQ(stop, 0);
    CHECK_EQ(waited, 0);
}

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_pause_resume_bzimage);
#ifndef __aarch64__
    RUN(t_pause_resume_pvh);
#endif
    RUN(t_pause_resume_smp);
    RUN(t_stop_while_paused);
    RUN(t_stop_before_start);
    RUN(t_destroy_running);
    RUN(t_two_vms);
    RUN(t_stop_races_kicks);
    RUN(t_state_after_guest_exit);
    RUN(t_no_signal_side_effects);
    RUN(t_console_reader_gone);
    return harness_done();
}
