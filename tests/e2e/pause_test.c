/* Tier 3 (in the rig): pause/resume/stop of a real Linux guest through the
 * library API. The default guest's init prints "arcvmm-init: tick N" every
 * 0.2 s (arcvmm.test=counter).
 * Usage: pause_test KERNEL INITRD [DISK]   (prints "N passed, N failed")
 * With DISK (a scratch image of at least 64 MiB), a paused guest that was
 * doing heavy disk I/O must not change a byte of its memory. */
#include <stdio.h>

#include "kvm/kvmtest.h"
#include "vm/vm.h"

static const char *kernel, *initrd, *disk;

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

/* FNV-1a over 64-bit words of every RAM region. */
static uint64_t ram_hash(const struct guest_mem *m)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (int i = 0; i < m->n; i++) {
        const uint64_t *w = (const uint64_t *)(const void *)m->r[i].hva;
        for (uint64_t k = 0; k < m->r[i].size / 8; k++)
            h = (h ^ w[k]) * 0x100000001b3ULL;
    }
    return h;
}

/* Requests the host has in flight on a block device (its sysfs
 * "inflight" file), or -1 when DISK is not a block device with one. */
static long host_inflight(void)
{
    if (strncmp(disk, "/dev/", 5))
        return -1;
    char path[256];
    snprintf(path, sizeof(path), "/sys/block/%s/inflight", disk + 5);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    long rd = 0, wr = 0;
    int n = fscanf(f, "%ld %ld", &rd, &wr);
    fclose(f);
    return n == 2 ? rd + wr : -1;
}

/* Random reads at queue depth 32 run for as long as the test lasts; while
 * the VM is paused the device's workers are quiesced: requests in flight
 * finished before pause returned and nothing else is written. On a slow
 * block device (the suite's null_blk, 1 s per request) the pause is taken
 * while the host shows requests in flight, and none may be left after. */
static void t_linux_pause_quiesces_disk_io(void)
{
    struct kt t;
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = kernel;
    c.initrd = initrd;
    c.cmdline = KT_LINUX_CONSOLE " reboot=k panic=-1 quiet arcvmm.test=blk-bench "
                "arcvmm.tests=randread32 arcvmm.secs=1 arcvmm.reps=100000";
    c.cpus = 2;
    c.memory_mib = 256;
    c.disks[0] = (struct arcvmm_disk){ .path = disk };
    c.ndisks = 1;
    CHECK(kt_create_config(&t, &c) == 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "blkload test=randread32"));
    const struct guest_mem *m = &((struct vm *)t.vm)->mem;
    for (int round = 0; round < 2; round++) {
        long before = host_inflight();
        /* Wait (bounded) until the host has requests in flight: the guest
         * is between two blkload runs otherwise. */
        for (long long end = kt_now_ms() + 20000; before == 0 && kt_now_ms() < end;) {
            struct timespec ts = { 0, 10 * 1000 * 1000 };
            nanosleep(&ts, NULL);
            kt_drain(&t);
            before = host_inflight();
        }
        CHECK(arcvmm_pause(t.vm) == 0);
        long after = host_inflight();
        printf("  round %d: host requests in flight %ld before pause, %ld after\n", round, before,
               after);
        if (before >= 0) {
            CHECK(before > 0);
            CHECK_EQ(after, 0);
        }
        uint64_t h1 = ram_hash(m);
        uint64_t h2 = ram_hash(m);
        printf("  round %d: guest RAM hash %016llx then %016llx\n", round,
               (unsigned long long)h1, (unsigned long long)h2);
        CHECK_EQ(h1, h2);
        CHECK(arcvmm_resume(t.vm) == 0);
        kt_drain(&t);
        t.pos = t.len;
        CHECK(kt_expect(&t, "blkload test=randread32"));    /* the I/O goes on */
    }
    CHECK(arcvmm_stop(t.vm) == 0);
    kt_destroy(&t);
}

static void t_linux_pause_resume_stop_1cpu(void) { pause_resume_stop(1); }
static void t_linux_pause_resume_stop_2cpus(void) { pause_resume_stop(2); }

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: pause_test KERNEL INITRD [DISK]\n");
        return 2;
    }
    kernel = argv[1];
    initrd = argv[2];
    disk = argc == 4 ? argv[3] : NULL;
    RUN(t_linux_pause_resume_stop_1cpu);
    RUN(t_linux_pause_resume_stop_2cpus);
    if (disk)
        RUN(t_linux_pause_quiesces_disk_io);
    return harness_done();
}
