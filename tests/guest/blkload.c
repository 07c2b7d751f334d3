/*
 * blkload: the project's small block I/O load generator and checker.
 *
 * Built statically (gcc -static) by scripts/guest.sh and put into the guest
 * initramfs as /bin/blkload; the same binary runs in the rig's L1 on a plain
 * image file (the host bound of bench/blk.sh, and the checks of
 * tests/e2e/blk-l1.sh).
 *
 *   blkload bench [-T LIST] [-t SECS] [-n BYTES] [-r BYTES] [-d MODE] FILE
 *       LIST: comma-separated of seqwrite, seqread, randread1, randread32
 *       (default: all four, in that order).  Each test runs until SECS
 *       (default 5) or BYTES (default: none) is reached, whichever is first,
 *       on the first -r BYTES of FILE (default: all of it), and prints:
 *         blkload test=NAME bs=B qd=Q direct=0|1 secs=S ops=N bytes=N mbps=X iops=Y
 *       seq*: 1 MiB requests at queue depth 1 (pread/pwrite), wrapping at
 *       the end of the region (seqwrite writes the same 1 MiB, the pattern
 *       of seed 1 for [0, 1 MiB), to every MiB).  randread1: 4 KiB pread at random 4 KiB
 *       aligned offsets.  randread32: the same with 32 requests in flight
 *       through Linux AIO (io_setup/io_submit/io_getevents, raw syscalls).
 *   blkload fill [-d MODE] [-s] FILE OFF LEN SEED
 *       writes the pattern of SEED to [OFF, OFF+LEN) (creates/extends a
 *       regular file); -s: fdatasync afterwards (a FLUSH on virtio-blk).
 *   blkload verify [-d MODE] FILE OFF LEN SEED
 *       exit status 0 when [OFF, OFF+LEN) holds the pattern of SEED.
 *   blkload zerocheck [-d MODE] FILE OFF LEN
 *       exit status 0 when [OFF, OFF+LEN) reads as zeroes.
 *   blkload discard DEV OFF LEN     the BLKDISCARD ioctl
 *   blkload zeroout DEV OFF LEN     the BLKZEROOUT ioctl
 *   blkload size FILE               prints "blkload size=BYTES"
 *
 * MODE selects O_DIRECT: on, off, or auto (default: on when FILE can be
 * opened with it -- block devices, most file systems -- else off, e.g.
 * tmpfs before Linux 6.6).  Numbers take a K, M or G suffix (powers of 2).
 * The pattern is a function of SEED and the absolute byte offset, so any
 * sub-range can be checked on its own.  Every mode prints one line starting
 * with "blkload " and exits 0 on success, 1 on a failed check or I/O error,
 * 2 on bad usage.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SEQ_BS (1u << 20)
#define RAND_BS 4096u
#define ALIGN 4096u
#define MAX_QD 256

enum direct_mode { DIRECT_AUTO, DIRECT_ON, DIRECT_OFF };

struct target {
    int fd;
    int direct;     /* opened with O_DIRECT */
    uint64_t size;  /* bytes: file size or device size */
    const char *path;
};

static void usage(void)
{
    fputs("usage: blkload bench [-T LIST] [-t SECS] [-n BYTES] [-r BYTES] [-d on|off|auto] FILE\n"
          "       blkload fill [-d MODE] [-s] FILE OFF LEN SEED\n"
          "       blkload verify [-d MODE] FILE OFF LEN SEED\n"
          "       blkload zerocheck [-d MODE] FILE OFF LEN\n"
          "       blkload discard|zeroout DEV OFF LEN\n"
          "       blkload size FILE\n"
          "LIST: seqwrite,seqread,randread1,randread32 (default: all)\n",
          stderr);
}

/* Parses a whole number with an optional K/M/G suffix; -EINVAL if bad. */
static int parse_num(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-')
        return -EINVAL;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* The pattern word of SEED at byte offset OFF (a multiple of 8). */
static uint64_t pattern_word(uint64_t seed, uint64_t off)
{
    return mix64(seed * 0x2545f4914f6cdd1dull ^ (off >> 3));
}

/* Fills buf (len a multiple of 8) with the pattern for [off, off+len). */
static void pattern_fill(uint64_t *buf, size_t len, uint64_t seed, uint64_t off)
{
    for (size_t i = 0; i < len / 8; i++)
        buf[i] = pattern_word(seed, off + i * 8);
}

static void *alloc_aligned(size_t len)
{
    void *p = NULL;
    if (posix_memalign(&p, ALIGN, len))
        return NULL;
    memset(p, 0, len);
    return p;
}

/* Opens PATH (flags: O_RDONLY/O_RDWR/O_CREAT...) honouring MODE; fills t. */
static int target_open(struct target *t, const char *path, int flags, enum direct_mode mode)
{
    t->path = path;
    t->direct = mode != DIRECT_OFF;
    t->fd = open(path, flags | (t->direct ? O_DIRECT : 0) | O_CLOEXEC, 0644);
    if (t->fd < 0 && errno == EINVAL && mode == DIRECT_AUTO) {
        t->direct = 0;
        t->fd = open(path, flags | O_CLOEXEC, 0644);
    }
    if (t->fd < 0) {
        fprintf(stderr, "blkload: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(t->fd, &st) < 0) {
        fprintf(stderr, "blkload: %s: fstat: %s\n", path, strerror(errno));
        close(t->fd);
        return -1;
    }
    if (S_ISBLK(st.st_mode)) {
        uint64_t sz = 0;
        if (ioctl(t->fd, BLKGETSIZE64, &sz) < 0) {
            fprintf(stderr, "blkload: %s: BLKGETSIZE64: %s\n", path, strerror(errno));
            close(t->fd);
            return -1;
        }
        t->size = sz;
    } else {
        t->size = (uint64_t)st.st_size;
    }
    return 0;
}

/* Full pread/pwrite of len bytes at off; 0 or -1 (message printed). */
static int io_full(const struct target *t, int wr, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t n = wr ? pwrite(t->fd, (char *)buf + done, len - done, (off_t)(off + done))
                       : pread(t->fd, (char *)buf + done, len - done, (off_t)(off + done));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            fprintf(stderr, "blkload: %s: %s at %" PRIu64 ": %s\n", t->path,
                    wr ? "write" : "read", off + done, n < 0 ? strerror(errno) : "end of file");
            return -1;
        }
        done += (size_t)n;
    }
    return 0;
}

/* ---- bench --------------------------------------------------------------- */

struct limits {
    double secs;     /* 0: none */
    uint64_t bytes;  /* 0: none */
    uint64_t region; /* bytes of the target used */
};

static int limit_hit(const struct limits *l, double t0, uint64_t bytes)
{
    if (l->bytes && bytes >= l->bytes)
        return 1;
    return l->secs > 0 && now_s() - t0 >= l->secs;
}

static void report(const char *name, unsigned bs, unsigned qd, int direct, double secs,
                   uint64_t ops, uint64_t bytes)
{
    if (secs <= 0)
        secs = 1e-9;
    printf("blkload test=%s bs=%u qd=%u direct=%d secs=%.3f ops=%" PRIu64 " bytes=%" PRIu64
           " mbps=%.1f iops=%.0f\n",
           name, bs, qd, direct, secs, ops, bytes, (double)bytes / secs / 1048576.0,
           (double)ops / secs);
    fflush(stdout);
}

static int bench_seq(const struct target *t, const struct limits *l, int wr)
{
    uint64_t span = l->region / SEQ_BS * SEQ_BS;
    if (span == 0) {
        fprintf(stderr, "blkload: %s: region smaller than 1 MiB\n", t->path);
        return -1;
    }
    uint64_t *buf = alloc_aligned(SEQ_BS);
    if (!buf)
        return -1;
    if (wr)
        pattern_fill(buf, SEQ_BS, 1, 0);
    uint64_t off = 0, ops = 0, bytes = 0;
    double t0 = now_s();
    int rc = 0;
    while (!limit_hit(l, t0, bytes)) {
        if (io_full(t, wr, buf, SEQ_BS, off) < 0) {
            rc = -1;
            break;
        }
        ops++;
        bytes += SEQ_BS;
        off += SEQ_BS;
        if (off >= span)
            off = 0;
    }
    double secs = now_s() - t0;
    free(buf);
    if (rc == 0)
        report(wr ? "seqwrite" : "seqread", SEQ_BS, 1, t->direct, secs, ops, bytes);
    return rc;
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int bench_rand1(const struct target *t, const struct limits *l)
{
    uint64_t blocks = l->region / RAND_BS, rng = 0x1234567887654321ull;
    void *buf = alloc_aligned(RAND_BS);
    if (!buf)
        return -1;
    uint64_t ops = 0, bytes = 0;
    double t0 = now_s();
    int rc = 0;
    while (!limit_hit(l, t0, bytes)) {
        uint64_t off = rng_next(&rng) % blocks * RAND_BS;
        if (io_full(t, 0, buf, RAND_BS, off) < 0) {
            rc = -1;
            break;
        }
        ops++;
        bytes += RAND_BS;
    }
    double secs = now_s() - t0;
    free(buf);
    if (rc == 0)
        report("randread1", RAND_BS, 1, t->direct, secs, ops, bytes);
    return rc;
}

static long sys_io_setup(unsigned nr, aio_context_t *ctx)
{
    return syscall(SYS_io_setup, nr, ctx);
}

static long sys_io_destroy(aio_context_t ctx)
{
    return syscall(SYS_io_destroy, ctx);
}

static long sys_io_submit(aio_context_t ctx, long n, struct iocb **cbs)
{
    return syscall(SYS_io_submit, ctx, n, cbs);
}

static long sys_io_getevents(aio_context_t ctx, long min_nr, long nr, struct io_event *ev)
{
    return syscall(SYS_io_getevents, ctx, min_nr, nr, ev, NULL);
}

/* Submits one iocb, retrying on EAGAIN/EINTR; 0 or -1. */
static int aio_submit_one(aio_context_t ctx, struct iocb *cb)
{
    for (;;) {
        long r = sys_io_submit(ctx, 1, &cb);
        if (r == 1)
            return 0;
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        fprintf(stderr, "blkload: io_submit: %s\n", r < 0 ? strerror(errno) : "nothing submitted");
        return -1;
    }
}

static int bench_randq(const struct target *t, const struct limits *l, unsigned qd)
{
    uint64_t blocks = l->region / RAND_BS, rng = 0x8765432112345678ull;
    aio_context_t ctx = 0;
    if (sys_io_setup(qd, &ctx) < 0) {
        fprintf(stderr, "blkload: io_setup(%u): %s\n", qd, strerror(errno));
        return -1;
    }
    char *bufs = alloc_aligned((size_t)qd * RAND_BS);
    struct iocb *cbs = calloc(qd, sizeof(*cbs));
    struct io_event *ev = calloc(qd, sizeof(*ev));
    int rc = 0;
    if (!bufs || !cbs || !ev) {
        rc = -1;
        goto out;
    }
    uint64_t ops = 0, bytes = 0, submitted = 0;
    unsigned inflight = 0;
    double t0 = now_s();
    for (unsigned i = 0; i < qd; i++) {
        cbs[i].aio_data = i;
        cbs[i].aio_fildes = (uint32_t)t->fd;
        cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
        cbs[i].aio_buf = (uint64_t)(uintptr_t)(bufs + (size_t)i * RAND_BS);
        cbs[i].aio_nbytes = RAND_BS;
        cbs[i].aio_offset = (int64_t)(rng_next(&rng) % blocks * RAND_BS);
        if (aio_submit_one(ctx, &cbs[i]) < 0) {
            rc = -1;
            break;
        }
        inflight++;
        submitted += RAND_BS;
    }
    int stop = rc < 0;
    while (inflight > 0) {
        long n = sys_io_getevents(ctx, 1, qd, ev);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            fprintf(stderr, "blkload: io_getevents: %s\n", strerror(errno));
            rc = -1;
            break;
        }
        for (long i = 0; i < n; i++) {
            inflight--;
            if (ev[i].res != (int64_t)RAND_BS) {
                fprintf(stderr, "blkload: %s: aio read: %s\n", t->path,
                        ev[i].res < 0 ? strerror((int)-ev[i].res) : "short read");
                rc = -1;
                stop = 1;
                continue;
            }
            ops++;
            bytes += RAND_BS;
            if (!stop && limit_hit(l, t0, submitted))
                stop = 1;
            if (stop)
                continue;
            struct iocb *cb = &cbs[ev[i].data];
            cb->aio_offset = (int64_t)(rng_next(&rng) % blocks * RAND_BS);
            if (aio_submit_one(ctx, cb) < 0) {
                rc = -1;
                stop = 1;
                continue;
            }
            inflight++;
            submitted += RAND_BS;
        }
    }
    double secs = now_s() - t0;
    if (rc == 0) {
        char name[32];
        snprintf(name, sizeof(name), "randread%u", qd);
        report(name, RAND_BS, qd, t->direct, secs, ops, bytes);
    }
out:
    sys_io_destroy(ctx);
    free(bufs);
    free(cbs);
    free(ev);
    return rc;
}

static int cmd_bench(int argc, char **argv)
{
    const char *list = "seqwrite,seqread,randread1,randread32";
    struct limits l = { .secs = 5 };
    enum direct_mode mode = DIRECT_AUTO;
    uint64_t region = 0;
    int opt, have_secs = 0;
    while ((opt = getopt(argc, argv, "T:t:n:r:d:")) != -1) {
        switch (opt) {
        case 'T': list = optarg; break;
        case 't': {
            char *end;
            l.secs = strtod(optarg, &end);
            if (*end || l.secs < 0)
                goto bad;
            have_secs = 1;
            break;
        }
        case 'n':
            if (parse_num(optarg, &l.bytes) < 0)
                goto bad;
            break;
        case 'r':
            if (parse_num(optarg, &region) < 0)
                goto bad;
            break;
        case 'd':
            if (!strcmp(optarg, "on")) mode = DIRECT_ON;
            else if (!strcmp(optarg, "off")) mode = DIRECT_OFF;
            else if (!strcmp(optarg, "auto")) mode = DIRECT_AUTO;
            else goto bad;
            break;
        default:
            goto bad;
        }
    }
    if (optind + 1 != argc)
        goto bad;
    if (l.bytes && !have_secs)
        l.secs = 0; /* a byte count alone is the limit */
    if (!l.bytes && l.secs <= 0)
        goto bad;    /* no limit at all */
    int wants_write = strstr(list, "seqwrite") != NULL;
    struct target t;
    if (target_open(&t, argv[optind], wants_write ? O_RDWR : O_RDONLY, mode) < 0)
        return 1;
    l.region = region ? region : t.size;
    if (l.region > t.size) {
        fprintf(stderr, "blkload: %s: region %" PRIu64 " > size %" PRIu64 "\n", t.path,
                l.region, t.size);
        close(t.fd);
        return 1;
    }
    if (l.region < SEQ_BS) {
        fprintf(stderr, "blkload: %s: needs at least 1 MiB (size %" PRIu64 ")\n", t.path,
                l.region);
        close(t.fd);
        return 1;
    }
    char *copy = strdup(list), *save = NULL;
    int rc = 0;
    for (char *name = strtok_r(copy, ",", &save); name && rc == 0;
         name = strtok_r(NULL, ",", &save)) {
        if (!strcmp(name, "seqwrite"))
            rc = bench_seq(&t, &l, 1);
        else if (!strcmp(name, "seqread"))
            rc = bench_seq(&t, &l, 0);
        else if (!strcmp(name, "randread1"))
            rc = bench_rand1(&t, &l);
        else if (!strncmp(name, "randread", 8)) {
            uint64_t qd;
            if (parse_num(name + 8, &qd) < 0 || qd < 1 || qd > MAX_QD) {
                fprintf(stderr, "blkload: bad test '%s'\n", name);
                rc = -2;
            } else {
                rc = qd == 1 ? bench_rand1(&t, &l) : bench_randq(&t, &l, (unsigned)qd);
            }
        } else {
            fprintf(stderr, "blkload: unknown test '%s'\n", name);
            rc = -2;
        }
    }
    free(copy);
    close(t.fd);
    return rc == 0 ? 0 : rc == -2 ? 2 : 1;
bad:
    usage();
    return 2;
}

/* ---- fill / verify / zerocheck ------------------------------------------- */

/* Parses OFF LEN [SEED] from argv[0..]; checks alignment for O_DIRECT later. */
static int parse_range(char **argv, int nargs, uint64_t *off, uint64_t *len, uint64_t *seed)
{
    if (parse_num(argv[0], off) < 0 || parse_num(argv[1], len) < 0)
        return -1;
    if (nargs > 2 && parse_num(argv[2], seed) < 0)
        return -1;
    if (*off % 8 || *len % 8 || *off + *len < *off)
        return -1;
    return 0;
}

/* op: 'f' fill, 'v' verify, 'z' zerocheck. */
static int cmd_range(int argc, char **argv, int op)
{
    enum direct_mode mode = DIRECT_AUTO;
    int opt, do_sync = 0;
    while ((opt = getopt(argc, argv, op == 'f' ? "d:s" : "d:")) != -1) {
        switch (opt) {
        case 'd':
            if (!strcmp(optarg, "on")) mode = DIRECT_ON;
            else if (!strcmp(optarg, "off")) mode = DIRECT_OFF;
            else if (!strcmp(optarg, "auto")) mode = DIRECT_AUTO;
            else goto bad;
            break;
        case 's': do_sync = 1; break;
        default: goto bad;
        }
    }
    int nargs = op == 'z' ? 3 : 4;
    if (argc - optind != nargs)
        goto bad;
    uint64_t off, len, seed = 0;
    if (parse_range(argv + optind + 1, nargs - 1, &off, &len, &seed) < 0)
        goto bad;
    if (mode == DIRECT_AUTO && (off % 512 || len % 512))
        mode = DIRECT_OFF; /* O_DIRECT cannot do it: buffered I/O */
    struct target t;
    if (target_open(&t, argv[optind], op == 'f' ? O_RDWR | O_CREAT : O_RDONLY, mode) < 0)
        return 1;
    if (t.direct && (off % 512 || len % 512)) {
        fprintf(stderr, "blkload: O_DIRECT needs OFF and LEN in 512-byte units\n");
        close(t.fd);
        return 2;
    }
    const char *name = op == 'f' ? "fill" : op == 'v' ? "verify" : "zerocheck";
    uint64_t *buf = alloc_aligned(SEQ_BS), *want = alloc_aligned(SEQ_BS);
    int rc = 0;
    uint64_t bad_at = 0;
    if (!buf || !want) {
        rc = -1;
        goto done;
    }
    if (op != 'f' && off + len > t.size) {
        fprintf(stderr, "blkload: %s: range ends at %" PRIu64 ", beyond size %" PRIu64 "\n",
                t.path, off + len, t.size);
        rc = -1;
        goto done;
    }
    for (uint64_t pos = off; pos < off + len && rc == 0;) {
        size_t n = off + len - pos < SEQ_BS ? (size_t)(off + len - pos) : SEQ_BS;
        if (op == 'f') {
            pattern_fill(buf, n, seed, pos);
            rc = io_full(&t, 1, buf, n, pos);
        } else {
            rc = io_full(&t, 0, buf, n, pos);
            if (rc == 0) {
                if (op == 'v')
                    pattern_fill(want, n, seed, pos);
                else
                    memset(want, 0, n);
                if (memcmp(buf, want, n)) {
                    size_t i = 0;
                    while (buf[i] == want[i])
                        i++;
                    bad_at = pos + i * 8;
                    rc = 1;
                }
            }
        }
        pos += n;
    }
    if (rc == 0 && do_sync && fdatasync(t.fd) < 0) {
        fprintf(stderr, "blkload: %s: fdatasync: %s\n", t.path, strerror(errno));
        rc = -1;
    }
done:
    if (rc == 0)
        printf("blkload %s ok off=%" PRIu64 " len=%" PRIu64 " seed=%" PRIu64 " direct=%d sync=%d\n",
               name, off, len, seed, t.direct, do_sync);
    else if (rc == 1)
        printf("blkload %s mismatch at=%" PRIu64 " off=%" PRIu64 " len=%" PRIu64 "\n", name,
               bad_at, off, len);
    else
        printf("blkload %s error off=%" PRIu64 " len=%" PRIu64 "\n", name, off, len);
    free(buf);
    free(want);
    close(t.fd);
    return rc == 0 ? 0 : 1;
bad:
    usage();
    return 2;
}

/* ---- discard / zeroout / size -------------------------------------------- */

static int cmd_ioctl(int argc, char **argv, unsigned long req, const char *name)
{
    if (argc != 4) {
        usage();
        return 2;
    }
    uint64_t r[2];
    if (parse_num(argv[2], &r[0]) < 0 || parse_num(argv[3], &r[1]) < 0) {
        usage();
        return 2;
    }
    int fd = open(argv[1], O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "blkload: %s: %s\n", argv[1], strerror(errno));
        printf("blkload %s error errno=%d\n", name, errno);
        return 1;
    }
    int rc = ioctl(fd, req, r);
    int err = errno;
    close(fd);
    if (rc < 0) {
        fprintf(stderr, "blkload: %s: %s: %s\n", argv[1], name, strerror(err));
        printf("blkload %s error errno=%d off=%" PRIu64 " len=%" PRIu64 "\n", name, err, r[0], r[1]);
        return 1;
    }
    printf("blkload %s ok off=%" PRIu64 " len=%" PRIu64 "\n", name, r[0], r[1]);
    return 0;
}

static int cmd_size(int argc, char **argv)
{
    if (argc != 2) {
        usage();
        return 2;
    }
    struct target t;
    if (target_open(&t, argv[1], O_RDONLY, DIRECT_OFF) < 0)
        return 1;
    close(t.fd);
    printf("blkload size=%" PRIu64 "\n", t.size);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    const char *cmd = argv[1];
    argc--;
    argv++;
    if (!strcmp(cmd, "bench"))
        return cmd_bench(argc, argv);
    if (!strcmp(cmd, "fill"))
        return cmd_range(argc, argv, 'f');
    if (!strcmp(cmd, "verify"))
        return cmd_range(argc, argv, 'v');
    if (!strcmp(cmd, "zerocheck"))
        return cmd_range(argc, argv, 'z');
    if (!strcmp(cmd, "discard"))
        return cmd_ioctl(argc, argv, BLKDISCARD, "discard");
    if (!strcmp(cmd, "zeroout"))
        return cmd_ioctl(argc, argv, BLKZEROOUT, "zeroout");
    if (!strcmp(cmd, "size"))
        return cmd_size(argc, argv);
    usage();
    return 2;
}
