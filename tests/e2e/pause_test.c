/* Tier 3 (in the rig): pause/resume/stop of a real Linux guest through the
 * library API. The default guest's init prints "arcvmm-init: tick N" every
 * 0.2 s (arcvmm.test=counter).
 * Usage: pause_test KERNEL INITRD   (prints "N passed, N failed") */
#include <stdio.h>

#include "kvm/kvmtest.h"

static const char *kernel, *initrd;

static long last_tick(struct kt *t)
{
    long last = -1;
    const char *p = t->buf;
    while ((p = strstr(p, "arcvmm-init: tick ")) != NULL) {
        p += strlen("arcvmm-init: tick ");
        last = strtol(p, NULL, 10);
    }
    return last;
}

static void pause_resume_stop(int cpus)
{
    struct kt t;
    CHECK(kt_create_with(&t, kernel, initrd,
                         KT_LINUX_CONSOLE " reboot=k panic=-1 quiet arcvmm.test=counter",
                         cpus, 256) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "arcvmm-init: tick 3"));
    for (int round = 0; round < 2; round++) {
        CHECK(arcvmm_pause(t.vm) == 0);
        kt_drain(&t);
        size_t len = t.len;
        long before = last_tick(&t);
        /* A running guest ticks every 0.2 s; a paused one prints nothing. */
        CHECK(kt_read(&t, 1500) == 0);
        CHECK_EQ(t.len, len);
        printf("  paused at tick %ld, no output for 1.5 s\n", before);
        CHECK(arcvmm_resume(t.vm) == 0);
        char next[64];
        snprintf(next, sizeof(next), "arcvmm-init: tick %ld", before + 2);
        CHECK(kt_expect(&t, next));
    }
    long long t0 = kt_now_ms();
    CHECK(arcvmm_stop(t.vm) == 0);
    printf("  stop joined every thread in %lld ms\n", kt_now_ms() - t0);
    CHECK_EQ(arcvmm_get_state(t.vm), ARCVMM_STOPPED);
    kt_destroy(&t);
}

static void t_linux_pause_resume_stop_1cpu(void) { pause_resume_stop(1); }
static void t_linux_pause_resume_stop_2cpus(void) { pause_resume_stop(2); }

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: pause_test KERNEL INITRD\n");
        return 2;
    }
    kernel = argv[1];
    initrd = argv[2];
    RUN(t_linux_pause_resume_stop_1cpu);
    RUN(t_linux_pause_resume_stop_2cpus);
    return harness_done();
}
