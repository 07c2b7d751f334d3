/* Tier 2: pause / resume / stop of running guests, SMP included, and two
 * VMs in one process. The guest prints "testguest: tick N" forever.
 * On arm64 both images are the one arm64 Image (and its secondary vCPUs
 * are powered off, waiting for PSCI CPU_ON, instead of waiting for SIPI). */
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
    return harness_done();
}
