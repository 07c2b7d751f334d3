/* Tier 2: virtio-mmio + virtio-blk, driven by the test guest's polled
 * driver (tests/kvm/guest/virtio.c), bzImage and PVH ELF, on /dev/kvm.
 * Each test boots the guest with one or two temporary raw images and checks
 * what the guest printed and what landed in the image files: capacity,
 * write/flush/read, GET_ID, read-only disks, malformed rings (the device
 * must set DEVICE_NEEDS_RESET, arcvmm must stay alive, a reset must bring
 * the device back), two devices, indirect descriptors, and bad disk paths. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "base/log.h"
#include "kvmtest.h"
#include "virtio/blk.h"
#include "virtio/mmio.h"
#include "vm/vm.h"

#define IMG_BYTES   (1 << 20)       /* 2048 sectors */
#define END_BOUND_MS 120000         /* failure bound for one guest run */

static const char *images[] = KT_IMAGES;     /* arm64: just "Image" */
#define NIMAGES ((int)(sizeof(images) / sizeof(images[0])))
static const uint8_t marker[8] = { 0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67 };
#define MARKER_HEX "deadbeef01234567"

/* Inside bool helpers: report and fail. */
#define REQUIRE(cond) do { if (!(cond)) { \
        fprintf(stderr, "  %s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
        return false; } } while (0)

/* The byte the guest's blk-rw writes at offset i of sector 1. */
static uint8_t pattern(unsigned i)
{
    return (uint8_t)((i * 7 + 3) & 0xff);
}

/* A zero-filled raw image of `bytes` under /tmp with the marker at 0;
 * path gets its name (>= 32 bytes). 0 or -1. */
static int make_image(char *path, off_t bytes)
{
    strcpy(path, "/tmp/arcvmm-virtio-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    bool ok = ftruncate(fd, bytes) == 0 && pwrite(fd, marker, sizeof(marker), 0) == sizeof(marker);
    close(fd);
    if (!ok) {
        unlink(path);
        return -1;
    }
    return 0;
}

/* The whole file, malloc'd (IMG_BYTES), or NULL if it is not that size. */
static uint8_t *slurp(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    uint8_t *buf = malloc(IMG_BYTES + 1);
    ssize_t n = buf ? pread(fd, buf, IMG_BYTES + 1, 0) : -1;
    close(fd);
    if (n != IMG_BYTES) {
        free(buf);
        return NULL;
    }
    return buf;
}

static bool has(const struct kt *t, const char *needle)
{
    if (strstr(t->buf, needle))
        return true;
    fprintf(stderr, "  missing '%s' in the console output:\n%s\n", needle, t->buf);
    return false;
}

struct run_opts {
    bool sync_io;       /* the disks use synchronous I/O instead of io_uring */
    bool trap_reads;    /* register reads exit even where they need not */
    /* out */
    uint64_t exits;     /* vCPU exits of the run */
    bool direct;        /* first device: reads went straight to memory */
};

/* Boot image with the disks, run cmdline, wait (bounded) for the end.
 * True if the guest powered off; t->buf keeps the console output. */
static bool run_guest_opts(struct kt *t, const char *image, const char *cmdline,
                           const struct arcvmm_disk *disks, int ndisks, struct run_opts *o)
{
    struct arcvmm_exit ex = { .reason = ARCVMM_EXIT_NONE };
    bool ended = false;
    struct vm *vm = NULL;
    if (kt_create_disks(t, image, cmdline, 1, 64, disks, ndisks) == 0) {
        vm = (struct vm *)t->vm;
        for (int i = 0; i < vm->devs.ndevs; i++) {
            if (o->sync_io)
                virtio_blk_set_io_mode(vm->devs.devs[i].dev, VIRTIO_BLK_IO_SYNC);
            if (o->trap_reads)
                virtio_mmio_trap_reads(vm->devs.devs[i].mmio);
        }
        o->direct = vm->devs.ndevs > 0 && virtio_mmio_reads_direct(vm->devs.devs[0].mmio);
    }
    if (t->vm && arcvmm_start(t->vm) == 0) {
        struct pollfd p = { .fd = arcvmm_exit_fd(t->vm), .events = POLLIN };
        long long end = kt_now_ms() + END_BOUND_MS;
        while (!(ended = poll(&p, 1, 200) > 0) && kt_now_ms() < end)
            kt_drain(t);
        if (!ended) {
            fprintf(stderr, "  %s '%s': still running after %d ms, stopping it\n", image,
                    cmdline, END_BOUND_MS);
            arcvmm_stop(t->vm);
        }
        if (kt_wait(t, &ex) < 0)
            ended = false;
    }
    o->exits = 0;
    for (int i = 0; vm && i < vm->ncpus; i++)
        o->exits += vm->vcpus[i].exits;
    kt_destroy(t);
    if (ended && ex.reason == ARCVMM_EXIT_POWEROFF)
        return true;
    fprintf(stderr, "  %s '%s': exit reason %d (%s); console:\n%s\n", image, cmdline,
            ex.reason, ex.message, t->buf);
    return false;
}

static bool run_guest_io(struct kt *t, const char *image, const char *cmdline,
                         const struct arcvmm_disk *disks, int ndisks, bool sync_io)
{
    struct run_opts o = { .sync_io = sync_io };
    return run_guest_opts(t, image, cmdline, disks, ndisks, &o);
}

static bool run_guest(struct kt *t, const char *image, const char *cmdline,
                      const struct arcvmm_disk *disks, int ndisks)
{
    return run_guest_io(t, image, cmdline, disks, ndisks, false);
}

/* Parse "testguest: blk features 0x<hi>_<lo>". */
static bool features(const struct kt *t, uint64_t *f)
{
    const char *p = strstr(t->buf, "testguest: blk features 0x");
    unsigned hi, lo;
    if (!p || sscanf(p, "testguest: blk features 0x%8x_%8x", &hi, &lo) != 2)
        return false;
    *f = (uint64_t)hi << 32 | lo;
    return true;
}

/* ---- one run per check, both guest formats ---- */

static bool info_one(const char *image, const char *path)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path };
    uint64_t f;
    REQUIRE(run_guest(&t, image, "blk-info", &d, 1));
    REQUIRE(has(&t, "testguest: blk capacity 2048\n"));
    REQUIRE(features(&t, &f));
    REQUIRE(f >> 32 & 1);                   /* VIRTIO_F_VERSION_1 */
    REQUIRE(!(f >> 5 & 1));                 /* VIRTIO_BLK_F_RO: writable disk */
    return true;
}

static bool rw_one(const char *image, const char *path, bool sync_io)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path };
    REQUIRE(run_guest_io(&t, image, "blk-rw", &d, 1, sync_io));
    REQUIRE(has(&t, "testguest: blk-rw ok\n"));
    REQUIRE(has(&t, "testguest: blk sector0 " MARKER_HEX "\n"));
    uint8_t *buf = slurp(path);
    REQUIRE(buf);
    bool ok = memcmp(buf, marker, sizeof(marker)) == 0;
    for (unsigned i = 0; i < 512; i++)
        ok = ok && buf[512 + i] == pattern(i);
    for (unsigned i = sizeof(marker); i < IMG_BYTES; i++)   /* nothing else written */
        ok = ok && (i - 512 < 512 || buf[i] == 0);
    free(buf);
    REQUIRE(ok);
    return true;
}

static bool id_one(const char *image, const char *path, const char *serial)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path, .serial = serial };
    char want[64];
    snprintf(want, sizeof(want), "testguest: blk id %s\n", serial);
    REQUIRE(run_guest(&t, image, "blk-id", &d, 1));
    REQUIRE(has(&t, want));
    return true;
}

static bool ro_one(const char *image, const char *path)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path, .readonly = 1 };
    uint8_t *before = slurp(path);
    REQUIRE(before);
    bool ran = run_guest(&t, image, "blk-ro", &d, 1);
    uint8_t *after = slurp(path);
    bool same = after && memcmp(before, after, IMG_BYTES) == 0;
    free(before);
    free(after);
    REQUIRE(ran);
    REQUIRE(has(&t, "testguest: blk-ro status 1\n"));  /* VIRTIO_BLK_S_IOERR */
    REQUIRE(same);
    return true;
}

static bool ro_feature_one(const char *image, const char *path)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path, .readonly = 1 };
    uint64_t f;
    REQUIRE(run_guest(&t, image, "blk-info", &d, 1));
    REQUIRE(has(&t, "testguest: blk capacity 2048\n"));
    REQUIRE(features(&t, &f));
    REQUIRE(f >> 5 & 1);                    /* VIRTIO_BLK_F_RO offered */
    return true;
}

/* A guest-error flood: cmd (run on image with the read-only disk path)
 * causes FLOOD_N guest errors, each worth a log line containing needle.
 * stderr goes to a file meanwhile (a pipe nobody reads could block the
 * device); the log must hold the burst and at most one line per interval
 * that passed, and nothing else. The console must say done. */
#define FLOOD_N 10000
static bool flood_one(const char *image, const char *path, const char *cmd,
                      const char *needle, const char *done)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path, .readonly = 1 };
    FILE *cap = tmpfile();
    REQUIRE(cap);
    fflush(stderr);
    int saved = dup(2);
    REQUIRE(saved >= 0 && dup2(fileno(cap), 2) == 2);
    long long t0 = kt_now_ms();
    bool ran = run_guest(&t, image, cmd, &d, 1);
    long long ms = kt_now_ms() - t0;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    int lines = 0, refused = 0;
    char line[1200];
    rewind(cap);
    while (fgets(line, sizeof(line), cap)) {
        lines++;
        refused += strstr(line, needle) != NULL;
        if (lines <= 40)
            fputs(lines <= 3 || !ran ? line : "", stderr);
    }
    fclose(cap);
    long bound = LOG_LIMIT_BURST + 1 + ms / LOG_LIMIT_INTERVAL_MS;
    fprintf(stderr, "  %s: %d stderr lines (%d of them '%s') in %lld ms; bound %ld\n", cmd,
            lines, refused, needle, ms, bound);
    REQUIRE(ran);
    REQUIRE(has(&t, done));
    REQUIRE(refused >= LOG_LIMIT_BURST);
    REQUIRE(lines == refused);
    REQUIRE(lines <= bound);
    return true;
}

/* blk-flood: FLOOD_N writes to a read-only disk, each refused (IOERR). */
static void t_blk_guest_error_flood(void)
{
    char path[64], cmd[64], done[64];
    CHECK(make_image(path, IMG_BYTES) == 0);
    snprintf(cmd, sizeof(cmd), "blk-flood=%d", FLOOD_N);
    snprintf(done, sizeof(done), "testguest: blk-flood ioerr %d\n", FLOOD_N);
    bool ok = flood_one(KT_IMAGE, path, cmd, "read-only disk refused", done);
    unlink(path);
    CHECK(ok);
}

/* vmmio-flood: FLOOD_N one-byte writes to the virtio-mmio Status
 * register, each a guest error of the transport (found under its lock,
 * logged after it, rate-limited). */
static void t_mmio_register_flood(void)
{
    char path[64], cmd[64];
    CHECK(make_image(path, IMG_BYTES) == 0);
    snprintf(cmd, sizeof(cmd), "vmmio-flood=%d", FLOOD_N);
    bool ok = flood_one(KT_IMAGE, path, cmd, "1-byte access to register 0x70",
                        "testguest: vmmio-flood done\n");
    unlink(path);
    CHECK(ok);
}

static bool bad_one(const char *image, const char *path, const char *kind)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path };
    char cmd[64], want[64];
    snprintf(cmd, sizeof(cmd), "blk-bad=%s", kind);
    snprintf(want, sizeof(want), "testguest: needs-reset %s\n", kind);
    REQUIRE(run_guest(&t, image, cmd, &d, 1));      /* arcvmm survived, guest powered off */
    REQUIRE(has(&t, want));
    REQUIRE(has(&t, "testguest: recovered\n"));
    uint8_t *buf = slurp(path);                     /* the recovery cycle wrote sector 1 */
    REQUIRE(buf);
    bool ok = memcmp(buf, marker, sizeof(marker)) == 0;
    for (unsigned i = 0; i < 512; i++)
        ok = ok && buf[512 + i] == pattern(i);
    free(buf);
    REQUIRE(ok);
    return true;
}

static bool multi_one(const char *image, const char *path0, const char *path1)
{
    struct kt t;
    struct arcvmm_disk d[2] = { { .path = path0 }, { .path = path1 } };
    REQUIRE(run_guest(&t, image, "blk-multi", d, 2));
    REQUIRE(has(&t, "testguest: blk2 2048 4096\n"));
    return true;
}

/* Through an indirect table if the device offers VIRTIO_F_INDIRECT_DESC. */
static bool indirect_one(const char *image, const char *path)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path };
    REQUIRE(run_guest(&t, image, "blk-indirect", &d, 1));
    if (strstr(t.buf, "testguest: blk no indirect\n")) {
        printf("  note: the device does not offer VIRTIO_F_INDIRECT_DESC\n");
        return true;
    }
    REQUIRE(has(&t, "testguest: blk-indirect ok\n"));
    REQUIRE(has(&t, "testguest: blk sector0 " MARKER_HEX "\n"));
    return true;
}

/* ---- tests ---- */

static void t_blk_info(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = info_one(images[i], path);
        unlink(path);
        CHECK(ok);
    }
}

static void t_blk_rw(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = rw_one(images[i], path, false);
        unlink(path);
        CHECK(ok);
    }
}

/* The same through the synchronous I/O fallback (no io_uring). */
static void t_blk_rw_sync_io(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = rw_one(images[i], path, true);
        unlink(path);
        CHECK(ok);
    }
}

static void t_blk_id(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = id_one(images[i], path, "arcvmm-serial-1");
        unlink(path);
        CHECK(ok);
    }
    /* exactly 20 bytes: no terminating NUL in the answer */
    char path[64];
    CHECK(make_image(path, IMG_BYTES) == 0);
    bool ok = id_one(KT_IMAGE, path, "abcdefghij0123456789");
    unlink(path);
    CHECK(ok);
}

static void t_blk_readonly(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = ro_one(images[i], path);
        unlink(path);
        CHECK(ok);
    }
}

static void t_blk_readonly_feature(void)
{
    char path[64];
    CHECK(make_image(path, IMG_BYTES) == 0);
    bool ok = ro_feature_one(KT_IMAGE, path);
    unlink(path);
    CHECK(ok);
}

static void t_blk_malformed_rings(void)
{
    static const char *kinds[] = { "head", "loop", "addr", "jump", "len", "nested" };
    for (int i = 0; i < NIMAGES; i++) {
        for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
            char path[64];
            CHECK(make_image(path, IMG_BYTES) == 0);
            bool ok = bad_one(images[i], path, kinds[k]);
            unlink(path);
            if (!ok)
                fprintf(stderr, "  (%s, blk-bad=%s)\n", images[i], kinds[k]);
            CHECK(ok);
        }
    }
}

static void t_blk_two_disks(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char p0[64], p1[64];
        CHECK(make_image(p0, IMG_BYTES) == 0);
        if (make_image(p1, 2 * IMG_BYTES) < 0) {
            unlink(p0);
            CHECK(0);
        }
        bool ok = multi_one(images[i], p0, p1);
        unlink(p0);
        unlink(p1);
        CHECK(ok);
    }
}

static void t_blk_indirect(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64];
        CHECK(make_image(path, IMG_BYTES) == 0);
        bool ok = indirect_one(images[i], path);
        unlink(path);
        CHECK(ok);
    }
}

/* arcvmm_create with one disk, console off. */
static int create_with_disk(const char *disk, struct arcvmm **vm, char *err, size_t errlen)
{
    char kernel[512];
    kt_guest_path(kernel, sizeof(kernel), KT_IMAGE);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = kernel;
    c.cmdline = "hello";
    c.memory_mib = 64;
    c.console = ARCVMM_CONSOLE_NONE;
    c.disks[0].path = disk;
    c.ndisks = 1;
    c.transport = ARCVMM_TRANSPORT_MMIO;
    *vm = NULL;
    err[0] = '\0';
    return arcvmm_create(&c, vm, err, errlen);
}

static bool bad_paths(const char *img, const char *dir)
{
    struct arcvmm *vm, *vm2;
    char err[512];
    char missing[128];
    snprintf(missing, sizeof(missing), "%s/no-such-image", dir);

    REQUIRE(create_with_disk(missing, &vm, err, sizeof(err)) < 0);
    REQUIRE(vm == NULL);
    fprintf(stderr, "  missing: %s\n", err);
    REQUIRE(strstr(err, missing));

    REQUIRE(create_with_disk(dir, &vm, err, sizeof(err)) < 0);
    REQUIRE(vm == NULL);
    fprintf(stderr, "  directory: %s\n", err);
    REQUIRE(strstr(err, dir));

    /* a disk another open VM holds */
    REQUIRE(create_with_disk(img, &vm, err, sizeof(err)) == 0);
    int r = create_with_disk(img, &vm2, err, sizeof(err));
    if (r == 0)
        arcvmm_destroy(vm2);
    arcvmm_destroy(vm);
    REQUIRE(r < 0);
    fprintf(stderr, "  locked: %s\n", err);
    REQUIRE(strstr(err, img));
    REQUIRE(strstr(err, "lock") || strstr(err, "in use"));

    /* ... and is free again once that VM is gone */
    REQUIRE(create_with_disk(img, &vm, err, sizeof(err)) == 0);
    arcvmm_destroy(vm);

    /* also when that VM ran and did I/O: destroyed means released */
    struct kt t;
    struct arcvmm_disk d = { .path = img };
    REQUIRE(run_guest(&t, KT_IMAGE, "blk-rw", &d, 1));
    REQUIRE(has(&t, "testguest: blk-rw ok\n"));
    r = create_with_disk(img, &vm, err, sizeof(err));
    if (r < 0)
        fprintf(stderr, "  right after the VM that used it was destroyed: %s\n", err);
    arcvmm_destroy(vm);
    REQUIRE(r == 0);
    return true;
}

/* The guest's blk-regs: 9 registers read 20000 times each. */
#define REG_READS (9 * 20000)

/* One blk-regs run; its "testguest: regs ..." line into line. */
static bool regs_one(const char *image, const char *path, struct run_opts *o, char *line,
                     size_t len)
{
    struct kt t;
    struct arcvmm_disk d = { .path = path };
    REQUIRE(run_guest_opts(&t, image, "blk-regs", &d, 1, o));
    const char *p = strstr(t.buf, "testguest: regs ");
    REQUIRE(p);
    size_t n = strcspn(p, "\r\n");
    REQUIRE(n < len);
    memcpy(line, p, n);
    line[n] = 0;
    return true;
}

/* Register reads answer the same whether they exit or go straight to the
 * window's page (hv_map_readonly); on x86 they go to the page and cost no
 * exit, on arm64 (no coherent read-only device memory) they exit. */
static void t_blk_register_reads(void)
{
    for (int i = 0; i < NIMAGES; i++) {
        char path[64], direct[256], trapped[256];
        CHECK(make_image(path, IMG_BYTES) == 0);
        struct run_opts od = { 0 }, ot = { .trap_reads = true };
        bool ok = regs_one(images[i], path, &od, direct, sizeof(direct)) &&
                  regs_one(images[i], path, &ot, trapped, sizeof(trapped));
        unlink(path);
        CHECK(ok);
        if (!ok)
            continue;
        fprintf(stderr, "  %s: %s; exits %llu (%s) vs %llu (trapped)\n", images[i], direct,
                (unsigned long long)od.exits, od.direct ? "direct" : "exiting",
                (unsigned long long)ot.exits);
        CHECK(strcmp(direct, trapped) == 0);
        CHECK(strstr(direct, " 0x74726976 0x2 0x2 ") != NULL);    /* magic, version, blk */
        CHECK(strstr(direct, " changed 0") != NULL);
        CHECK(!ot.direct && ot.exits >= REG_READS);
#ifdef __x86_64__
        CHECK(od.direct && od.exits < REG_READS / 9);
#else
        CHECK(!od.direct && od.exits >= REG_READS);
#endif
    }
}

#ifndef __aarch64__
/* One VM per transport in one process, at the same time: the mmio one
 * does a disk write/read cycle through its virtio-mmio driver, the pci
 * one finds its disk as PCI function 00:01.0 (1af4:1042) through the
 * legacy config ports. */
static void t_two_vms_two_transports(void)
{
    char pa[64], pb[64];
    CHECK(make_image(pa, IMG_BYTES) == 0);
    CHECK(make_image(pb, IMG_BYTES) == 0);
    struct kt a, b;
    struct arcvmm_config c;
    char path[512];
    kt_guest_path(path, sizeof(path), KT_IMAGE);
    arcvmm_config_init(&c);
    c.kernel = path;
    c.memory_mib = 64;
    c.ndisks = 1;
    c.cmdline = "blk-rw";
    c.transport = ARCVMM_TRANSPORT_MMIO;
    c.disks[0] = (struct arcvmm_disk){ .path = pa };
    CHECK(kt_create_config(&a, &c) == 0);
    c.cmdline = "pci-id=1";
    c.transport = ARCVMM_TRANSPORT_PCI;
    c.disks[0] = (struct arcvmm_disk){ .path = pb };
    CHECK(kt_create_config(&b, &c) == 0);
    CHECK(arcvmm_start(a.vm) == 0);
    CHECK(arcvmm_start(b.vm) == 0);
    struct arcvmm_exit ea, eb;
    CHECK(kt_wait(&a, &ea) == 0);
    CHECK(kt_wait(&b, &eb) == 0);
    CHECK_EQ(ea.reason, ARCVMM_EXIT_POWEROFF);
    CHECK_EQ(eb.reason, ARCVMM_EXIT_POWEROFF);
    CHECK(has(&a, "testguest: blk-rw ok\n"));
    CHECK(has(&b, "testguest: pci-id 0x10421af4\n"));
    kt_destroy(&a);
    kt_destroy(&b);
    unlink(pa);
    unlink(pb);
}
#endif

static void t_disk_errors(void)
{
    char img[64], dir[64];
    strcpy(dir, "/tmp/arcvmm-virtio-dir-XXXXXX");
    CHECK(mkdtemp(dir) != NULL);
    if (make_image(img, IMG_BYTES) < 0) {
        rmdir(dir);
        CHECK(0);
    }
    bool ok = bad_paths(img, dir);
    unlink(img);
    rmdir(dir);
    CHECK(ok);
}

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_blk_info);
    RUN(t_blk_rw);
    RUN(t_blk_rw_sync_io);
    RUN(t_blk_id);
    RUN(t_blk_readonly);
    RUN(t_blk_readonly_feature);
    RUN(t_blk_malformed_rings);
    RUN(t_blk_guest_error_flood);
    RUN(t_mmio_register_flood);
    RUN(t_blk_two_disks);
    RUN(t_blk_indirect);
    RUN(t_blk_register_reads);
    RUN(t_disk_errors);
#ifndef __aarch64__
    RUN(t_two_vms_two_transports);
#endif
    return harness_done();
}
