/* virtio-blk: the pure request parser, the raw-image backend, and the
 * device driven through the real virtio-mmio transport without KVM (hv ==
 * NULL: QUEUE_NOTIFY writes signal the queue eventfd, interrupts land in
 * t.irq_fd). A small driver below builds split rings in fake guest memory
 * like Linux would, and the checks look at the status bytes, used lengths
 * and the image file itself. Images live in a fresh directory under
 * $TMPDIR (default /tmp). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "backend/disk.h"
#include "harness.h"
#include "virtio/blk.h"
#include "virtio/blk_req.h"
#include "virtio/mmio.h"
#include "mem/mem.h"

/* ---- files ---- */

static char tmpdir[256];

static void tmp_init(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof(tmpdir), "%s/arcvmm-blk-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(2);
    }
}

static void tmp_fini(void)
{
    DIR *dir = opendir(tmpdir);
    if (dir) {
        struct dirent *de;
        while ((de = readdir(dir))) {
            char p[512];
            if (de->d_name[0] == '.')
                continue;
            snprintf(p, sizeof(p), "%s/%s", tmpdir, de->d_name);
            if (rmdir(p) < 0)
                unlink(p);
        }
        closedir(dir);
    }
    rmdir(tmpdir);
}

static const char *tpath(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
    return p[k];
}

/* The content every test image starts with: byte i of sector s. */
static uint8_t pat(uint64_t s, unsigned i)
{
    return (uint8_t)(s * 31 + i * 7 + (s >> 8));
}

/* An image of `bytes` bytes filled with pat() (fully allocated). */
static void make_image(const char *path, uint64_t bytes)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        exit(2);
    }
    uint8_t buf[65536];
    for (uint64_t off = 0; off < bytes; off += sizeof(buf)) {
        for (unsigned i = 0; i < sizeof(buf); i++)
            buf[i] = pat((off + i) / 512, (unsigned)((off + i) % 512));
        size_t n = bytes - off < sizeof(buf) ? (size_t)(bytes - off) : sizeof(buf);
        if (pwrite(fd, buf, n, (off_t)off) != (ssize_t)n)
            exit(2);
    }
    close(fd);
}

static bool file_sector_is(const char *path, uint64_t s, const uint8_t *want)
{
    uint8_t got[512];
    int fd = open(path, O_RDONLY);
    bool ok = fd >= 0 && pread(fd, got, 512, (off_t)(s * 512)) == 512 && !memcmp(got, want, 512);
    if (fd >= 0)
        close(fd);
    return ok;
}

static bool file_sector_pat(const char *path, uint64_t s)
{
    uint8_t want[512];
    for (unsigned i = 0; i < 512; i++)
        want[i] = pat(s, i);
    return file_sector_is(path, s, want);
}

static uint64_t file_blocks(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks : 0;
}

static uint64_t file_hash(const char *path)
{
    uint64_t h = 1469598103934665603ULL;
    uint8_t buf[65536];
    int fd = open(path, O_RDONLY);
    ssize_t n;
    while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0)
        for (ssize_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ULL;
    if (fd >= 0)
        close(fd);
    return h;
}

/* ---- parser: hand-built elements ---- */

static struct virtq_elem *el_new(void)
{
    return calloc(1, sizeof(struct virtq_elem));
}

static void el_add(struct virtq_elem *e, void *p, size_t n, bool in)
{
    unsigned i = e->n_out + e->n_in;
    e->iov[i].iov_base = p;
    e->iov[i].iov_len = n;
    if (in) {
        e->n_in++;
        e->in_len += (uint32_t)n;
    } else {
        e->n_out++;
        e->out_len += (uint32_t)n;
    }
}

static void put_hdr(uint8_t *h, uint32_t type, uint64_t sector)
{
    memset(h, 0, 16);
    for (int i = 0; i < 4; i++)
        h[i] = (uint8_t)(type >> (8 * i));
    for (int i = 0; i < 8; i++)
        h[8 + i] = (uint8_t)(sector >> (8 * i));
}

static void put_seg(uint8_t *p, uint64_t sector, uint32_t n, uint32_t flags)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(sector >> (8 * i));
    for (int i = 0; i < 4; i++) {
        p[8 + i] = (uint8_t)(n >> (8 * i));
        p[12 + i] = (uint8_t)(flags >> (8 * i));
    }
}

static struct virtio_blk_limits lim_rw(void)
{
    return (struct virtio_blk_limits){
        .capacity = 1000, .discard = true, .write_zeroes = true,
        .max_discard_sectors = 100, .max_discard_seg = 4,
        .max_write_zeroes_sectors = 200, .max_write_zeroes_seg = 2,
    };
}

static int parse(struct virtq_elem *e, struct virtio_blk_limits lim, struct virtio_blk_req *r)
{
    r->lim = lim;
    return virtio_blk_parse_req(e, r);
}

static void t_parse_read_write(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t hdr[16], data[4096], st = 0xee;
    put_hdr(hdr, VIRTIO_BLK_T_IN, 7);
    el_add(e, hdr, 16, false);
    el_add(e, data, 4096, true);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(r.type, VIRTIO_BLK_T_IN);
    CHECK_EQ(r.sector, 7);
    CHECK(r.data_in);
    CHECK_EQ(r.data_len, 4096);
    CHECK(r.status == &st);
    struct iovec v[4];
    CHECK_EQ(virtio_blk_req_data_iov(e, &r, v, 4), 1);
    CHECK(v[0].iov_base == data);
    CHECK_EQ(v[0].iov_len, 4096);

    /* write: header, data and status all sharing buffers */
    memset(e, 0, sizeof(*e));
    uint8_t out[16 + 1024], in[1];
    put_hdr(out, VIRTIO_BLK_T_OUT, 998);
    el_add(e, out, sizeof(out), false);
    el_add(e, in, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK(!r.data_in);
    CHECK_EQ(r.data_off, 16);
    CHECK_EQ(r.data_len, 1024);
    CHECK_EQ(virtio_blk_req_data_iov(e, &r, v, 4), 1);
    CHECK(v[0].iov_base == out + 16);
    CHECK_EQ(v[0].iov_len, 1024);
    CHECK(r.status == in);
    free(e);
}

/* The header split over three buffers, the data over several with an empty
 * one between, and the status byte sharing the last in buffer with data. */
static void t_parse_split_header_ok(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t hdr[16], d[2048];
    put_hdr(hdr, VIRTIO_BLK_T_IN, 777);
    el_add(e, hdr, 5, false);
    el_add(e, hdr + 5, 7, false);
    el_add(e, hdr + 12, 4, false);
    el_add(e, d, 100, true);
    el_add(e, d + 100, 0, true);
    el_add(e, d + 100, 925, true);      /* 1024 data bytes, then the status byte */
    el_add(e, d + 1100, 0, true);       /* trailing empty buffer: status stays before it */
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(r.sector, 777);
    CHECK_EQ(r.data_len, 1024);
    CHECK(r.status == d + 1024);
    struct iovec v[8];
    CHECK_EQ(virtio_blk_req_data_iov(e, &r, v, 8), 2);
    CHECK(v[0].iov_base == d && v[0].iov_len == 100);
    CHECK(v[1].iov_base == d + 100 && v[1].iov_len == 924);
    CHECK_EQ(virtio_blk_req_data_iov(e, &r, v, 1), -E2BIG);

    /* a write whose data starts inside the last header buffer */
    memset(e, 0, sizeof(*e));
    uint8_t a[10], b[6 + 512], st;
    put_hdr(d, VIRTIO_BLK_T_OUT, 3);
    memcpy(a, d, 10);
    memcpy(b, d + 10, 6);
    el_add(e, a, 10, false);
    el_add(e, b, sizeof(b), false);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(r.sector, 3);
    CHECK_EQ(r.data_len, 512);
    CHECK_EQ(virtio_blk_req_data_iov(e, &r, v, 8), 1);
    CHECK(v[0].iov_base == b + 6 && v[0].iov_len == 512);
    free(e);
}

static void t_parse_bad(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t hdr[16], d[1024], st;

    /* no device-writable byte: nowhere to put a status */
    put_hdr(hdr, VIRTIO_BLK_T_FLUSH, 0);
    el_add(e, hdr, 16, false);
    CHECK_EQ(parse(e, lim_rw(), &r), -EINVAL);
    CHECK(r.status == NULL);
    el_add(e, d, 0, true);
    CHECK_EQ(parse(e, lim_rw(), &r), -EINVAL);

    /* short header */
    memset(e, 0, sizeof(*e));
    el_add(e, hdr, 10, false);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_IOERR);
    CHECK(r.status == &st);
    CHECK_EQ(r.type, UINT32_MAX);       /* no type to report */
    memset(e, 0, sizeof(*e));
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_IOERR);

    /* unsupported types */
    static const uint32_t unsupp[] = { 2, 3, 5, VIRTIO_BLK_T_GET_LIFETIME,
                                       VIRTIO_BLK_T_SECURE_ERASE, 0x10, 0xffffffffu };
    for (unsigned i = 0; i < sizeof(unsupp) / sizeof(unsupp[0]); i++) {
        memset(e, 0, sizeof(*e));
        put_hdr(hdr, unsupp[i], 0);
        el_add(e, hdr, 16, false);
        el_add(e, d, 64, true);
        el_add(e, &st, 1, true);
        CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_UNSUPP);
    }

    /* data not whole sectors */
    memset(e, 0, sizeof(*e));
    put_hdr(hdr, VIRTIO_BLK_T_IN, 0);
    el_add(e, hdr, 16, false);
    el_add(e, d, 100, true);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_IOERR);

    /* capacity bounds (capacity 1000 sectors) */
    struct { uint64_t sector; uint32_t len; int want; } cases[] = {
        { 999, 512, VIRTIO_BLK_S_OK },
        { 998, 1024, VIRTIO_BLK_S_OK },
        { 999, 1024, VIRTIO_BLK_S_IOERR },
        { 1000, 512, VIRTIO_BLK_S_IOERR },
        { 1000, 0, VIRTIO_BLK_S_OK },           /* empty transfer at the end */
        { 1001, 0, VIRTIO_BLK_S_IOERR },
        { UINT64_MAX, 512, VIRTIO_BLK_S_IOERR },
        { UINT64_MAX / 512 + 1, 512, VIRTIO_BLK_S_IOERR },   /* byte offset would wrap */
        { (1ULL << 63) , 1024, VIRTIO_BLK_S_IOERR },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int w = 0; w < 2; w++) {
            memset(e, 0, sizeof(*e));
            put_hdr(hdr, w ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, cases[i].sector);
            el_add(e, hdr, 16, false);
            if (w && cases[i].len)
                el_add(e, d, cases[i].len, false);
            if (!w && cases[i].len)
                el_add(e, d, cases[i].len, true);
            el_add(e, &st, 1, true);
            if (parse(e, lim_rw(), &r) != cases[i].want) {
                fprintf(stderr, "  case %u (%s)\n", i, w ? "write" : "read");
                CHECK(0);
            }
        }
    }
    free(e);
}

static void t_parse_readonly(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    struct virtio_blk_limits lim = lim_rw();
    lim.readonly = true;
    uint8_t out[16 + 512], st;
    const uint32_t refused[] = { VIRTIO_BLK_T_OUT, VIRTIO_BLK_T_DISCARD, VIRTIO_BLK_T_WRITE_ZEROES };
    for (unsigned i = 0; i < 3; i++) {
        memset(e, 0, sizeof(*e));
        put_hdr(out, refused[i], 0);
        if (refused[i] != VIRTIO_BLK_T_OUT)
            put_seg(out + 16, 0, 1, 0);
        el_add(e, out, refused[i] == VIRTIO_BLK_T_OUT ? sizeof(out) : 32, false);
        el_add(e, &st, 1, true);
        CHECK_EQ(parse(e, lim, &r), VIRTIO_BLK_S_IOERR);
        /* the read-only check wins even when discard was not negotiated */
        struct virtio_blk_limits l2 = lim;
        l2.discard = l2.write_zeroes = false;
        CHECK_EQ(parse(e, l2, &r), VIRTIO_BLK_S_IOERR);
    }
    memset(e, 0, sizeof(*e));
    put_hdr(out, VIRTIO_BLK_T_IN, 0);
    el_add(e, out, 16, false);
    el_add(e, out + 16, 512, true);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim, &r), VIRTIO_BLK_S_OK);
    memset(e, 0, sizeof(*e));
    put_hdr(out, VIRTIO_BLK_T_FLUSH, 0);
    el_add(e, out, 16, false);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim, &r), VIRTIO_BLK_S_OK);
    free(e);
}

static void t_parse_get_id(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t hdr[16], d[64], st;
    put_hdr(hdr, VIRTIO_BLK_T_GET_ID, 0);
    el_add(e, hdr, 16, false);
    el_add(e, d, 64, true);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK(r.data_in);
    CHECK_EQ(r.data_len, 20);
    memset(e, 0, sizeof(*e));
    el_add(e, hdr, 16, false);
    el_add(e, d, 9, true);      /* status is the 9th byte: 8 bytes of id fit */
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(r.data_len, 8);
    CHECK(r.status == d + 8);
    free(e);
}

static void t_parse_discard(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t out[16 + 16 * 8], st;

    /* two segments, split oddly over three buffers */
    put_hdr(out, VIRTIO_BLK_T_DISCARD, 0);
    put_seg(out + 16, 10, 100, 0);
    put_seg(out + 32, 900, 100, 0);
    el_add(e, out, 20, false);
    el_add(e, out + 20, 17, false);
    el_add(e, out + 37, 11, false);
    el_add(e, &st, 1, true);
    CHECK_EQ(parse(e, lim_rw(), &r), VIRTIO_BLK_S_OK);
    CHECK_EQ(r.nsegs, 2);
    CHECK_EQ(r.segs[0].sector, 10);
    CHECK_EQ(r.segs[0].num_sectors, 100);
    CHECK_EQ(r.segs[1].sector, 900);
    CHECK_EQ(r.segs[1].num_sectors, 100);

    struct { uint32_t type; unsigned nseg; uint64_t sector; uint32_t n; uint32_t flags;
             unsigned extra; bool neg; int want; } cases[] = {
        { VIRTIO_BLK_T_DISCARD, 1, 0, 100, 0, 0, true, VIRTIO_BLK_S_OK },
        { VIRTIO_BLK_T_DISCARD, 1, 0, 101, 0, 0, true, VIRTIO_BLK_S_IOERR },    /* > max sectors */
        { VIRTIO_BLK_T_DISCARD, 1, 901, 100, 0, 0, true, VIRTIO_BLK_S_IOERR },  /* past the end */
        { VIRTIO_BLK_T_DISCARD, 1, UINT64_MAX - 10, 50, 0, 0, true, VIRTIO_BLK_S_IOERR },
        { VIRTIO_BLK_T_DISCARD, 1, 0, 1, 1, 0, true, VIRTIO_BLK_S_UNSUPP },     /* unmap on discard */
        { VIRTIO_BLK_T_DISCARD, 1, 0, 1, 4, 0, true, VIRTIO_BLK_S_UNSUPP },     /* unknown flag */
        { VIRTIO_BLK_T_DISCARD, 4, 0, 1, 0, 0, true, VIRTIO_BLK_S_OK },
        { VIRTIO_BLK_T_DISCARD, 5, 0, 1, 0, 0, true, VIRTIO_BLK_S_UNSUPP },     /* > max seg */
        { VIRTIO_BLK_T_DISCARD, 0, 0, 1, 0, 0, true, VIRTIO_BLK_S_IOERR },      /* no segment */
        { VIRTIO_BLK_T_DISCARD, 1, 0, 1, 0, 3, true, VIRTIO_BLK_S_IOERR },      /* partial segment */
        { VIRTIO_BLK_T_DISCARD, 1, 0, 1, 0, 0, false, VIRTIO_BLK_S_UNSUPP },    /* not negotiated */
        { VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 200, 1, 0, true, VIRTIO_BLK_S_OK },  /* unmap allowed */
        { VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 201, 0, 0, true, VIRTIO_BLK_S_IOERR },
        { VIRTIO_BLK_T_WRITE_ZEROES, 2, 800, 200, 0, 0, true, VIRTIO_BLK_S_OK },
        { VIRTIO_BLK_T_WRITE_ZEROES, 3, 0, 1, 0, 0, true, VIRTIO_BLK_S_UNSUPP },
        { VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 1, 2, 0, true, VIRTIO_BLK_S_UNSUPP },
        { VIRTIO_BLK_T_WRITE_ZEROES, 1, 0, 1, 0, 0, false, VIRTIO_BLK_S_UNSUPP },
        { VIRTIO_BLK_T_WRITE_ZEROES, 1, 1000, 0, 0, 0, true, VIRTIO_BLK_S_OK },
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        memset(e, 0, sizeof(*e));
        put_hdr(out, cases[i].type, 0);
        for (unsigned k = 0; k < cases[i].nseg; k++)
            put_seg(out + 16 + 16 * k, cases[i].sector, cases[i].n, cases[i].flags);
        el_add(e, out, 16 + 16 * cases[i].nseg + cases[i].extra, false);
        el_add(e, &st, 1, true);
        struct virtio_blk_limits lim = lim_rw();
        lim.discard = lim.write_zeroes = cases[i].neg;
        if (parse(e, lim, &r) != cases[i].want) {
            fprintf(stderr, "  case %u\n", i);
            CHECK(0);
        }
    }
    free(e);
}

/* Random layouts and bytes: never a crash, and every answer consistent. */
static void t_parse_random(void)
{
    struct virtq_elem *e = el_new();
    struct virtio_blk_req r;
    uint8_t *pool = malloc(65536);
    unsigned seed = 12345;
    for (int it = 0; it < 20000; it++) {
        memset(e, 0, offsetof(struct virtq_elem, iov));
        for (int i = 0; i < 65536; i += 64)
            pool[i] = (uint8_t)rand_r(&seed);
        unsigned nout = (unsigned)rand_r(&seed) % 6, nin = (unsigned)rand_r(&seed) % 6;
        for (unsigned i = 0; i < nout + nin; i++) {
            size_t len = (size_t)rand_r(&seed) % (i < nout ? 64 : 1100);
            size_t at = (size_t)rand_r(&seed) % (65536 - len);
            if (i < nout && rand_r(&seed) % 3 == 0 && at + 16 <= 65536) {   /* a plausible header */
                uint32_t types[] = { 0, 1, 4, 8, 11, 13, 10 };
                put_hdr(pool + at, types[rand_r(&seed) % 7], (uint64_t)rand_r(&seed) % 1200);
                if (len < 16)
                    len = 16;
            }
            el_add(e, pool + at, len, i >= nout);
        }
        r.lim = lim_rw();
        r.lim.readonly = rand_r(&seed) & 1;
        int st = virtio_blk_parse_req(e, &r);
        CHECK(st == -EINVAL || st == VIRTIO_BLK_S_OK || st == VIRTIO_BLK_S_IOERR ||
              st == VIRTIO_BLK_S_UNSUPP);
        if (st < 0)
            continue;
        CHECK(r.status >= pool && r.status < pool + 65536);
        if (st != VIRTIO_BLK_S_OK)
            continue;
        struct iovec v[16];
        int n = virtio_blk_req_data_iov(e, &r, v, 16);
        CHECK(n >= 0);
        size_t tot = 0;
        for (int i = 0; i < n; i++) {
            CHECK((uint8_t *)v[i].iov_base >= pool &&
                  (uint8_t *)v[i].iov_base + v[i].iov_len <= pool + 65536);
            tot += v[i].iov_len;
            if (r.data_in)      /* data never covers the status byte */
                CHECK(!(r.status >= (uint8_t *)v[i].iov_base &&
                        r.status < (uint8_t *)v[i].iov_base + v[i].iov_len) ||
                      e->iov[e->n_out].iov_base == NULL);
        }
        CHECK_EQ(tot, r.data_len);
        if (r.type == VIRTIO_BLK_T_IN || r.type == VIRTIO_BLK_T_OUT)
            CHECK(r.sector + r.data_len / 512 <= r.lim.capacity);
    }
    free(pool);
    free(e);
}

/* ---- backend ---- */

static void t_disk_open_errors(void)
{
    struct disk dk;
    char err[512];
    const char *missing = tpath("missing.img");
    CHECK_EQ(disk_open(&dk, missing, false, err, sizeof(err)), -ENOENT);
    char want[600];
    snprintf(want, sizeof(want), "disk %s: No such file or directory", missing);
    CHECK(!strcmp(err, want));

    CHECK_EQ(disk_open(&dk, tmpdir, false, err, sizeof(err)), -EISDIR);
    CHECK(strstr(err, ": is a directory") != NULL);
    CHECK_EQ(disk_open(&dk, tmpdir, true, err, sizeof(err)), -EISDIR);

    CHECK(disk_open(&dk, "/dev/null", true, err, sizeof(err)) < 0);
    CHECK(!strcmp(err, "disk /dev/null: not a regular file or block device"));

    const char *empty = tpath("empty.img");
    make_image(empty, 0);
    CHECK(disk_open(&dk, empty, false, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "disk %s: empty", empty);
    CHECK(!strcmp(err, want));

    const char *tiny = tpath("tiny.img");
    make_image(tiny, 100);
    CHECK(disk_open(&dk, tiny, false, err, sizeof(err)) < 0);
    CHECK(strstr(err, "smaller than one 512-byte sector") != NULL);

    /* a FIFO must be refused, not hang in open() */
    const char *fifo = tpath("fifo");
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    CHECK(disk_open(&dk, fifo, true, err, sizeof(err)) < 0);
    CHECK(strstr(err, "not a regular file or block device") != NULL);
}

static void t_disk_lock(void)
{
    const char *p = tpath("lock.img");
    make_image(p, 1 << 20);
    struct disk a, b, c;
    char err[512];
    CHECK_EQ(disk_open(&a, p, false, err, sizeof(err)), 0);
    CHECK_EQ(disk_open(&b, p, false, err, sizeof(err)), -EAGAIN);
    char want[600];
    snprintf(want, sizeof(want), "disk %s: is in use by another process (locked)", p);
    CHECK(!strcmp(err, want));
    CHECK_EQ(disk_open(&b, p, true, err, sizeof(err)), -EAGAIN);     /* ro vs rw user */
    disk_close(&a);
    CHECK_EQ(disk_open(&a, p, true, err, sizeof(err)), 0);
    CHECK_EQ(disk_open(&b, p, true, err, sizeof(err)), 0);           /* readers share */
    CHECK_EQ(disk_open(&c, p, false, err, sizeof(err)), -EAGAIN);
    disk_close(&a);
    disk_close(&b);
    CHECK_EQ(disk_open(&c, p, false, err, sizeof(err)), 0);          /* free again */
    disk_close(&c);
    disk_close(&c);                                                  /* idempotent */
}

static void t_disk_io(void)
{
    const char *p = tpath("io.img");
    make_image(p, (4 << 20) + 100);
    struct disk dk;
    char err[512];
    CHECK_EQ(disk_open(&dk, p, false, err, sizeof(err)), 0);
    CHECK_EQ(dk.size, (4 << 20) + 100);
    CHECK_EQ(dk.logical_block, 512);
    CHECK(!dk.blkdev);

    uint8_t a[700], b[324], c[2048];
    struct iovec v[2] = { { a, sizeof(a) }, { b, sizeof(b) } };
    CHECK_EQ(disk_preadv(&dk, v, 2, 512 * 5), 0);
    CHECK_EQ(a[0], pat(5, 0));
    CHECK_EQ(a[699], pat(6, 699 - 512));
    CHECK_EQ(b[323], pat(6, 1023 - 512));
    memset(a, 0x5a, sizeof(a));
    memset(b, 0xa5, sizeof(b));
    CHECK_EQ(disk_pwritev(&dk, v, 2, 512 * 5), 0);
    CHECK_EQ(disk_flush(&dk), 0);
    struct iovec w = { c, 1024 };
    CHECK_EQ(disk_preadv(&dk, &w, 1, 512 * 5), 0);
    CHECK_EQ(c[0], 0x5a);
    CHECK_EQ(c[699], 0x5a);
    CHECK_EQ(c[700], 0xa5);
    CHECK_EQ(c[1023], 0xa5);

    /* past EOF reads as zeroes */
    memset(c, 0xff, sizeof(c));
    w.iov_len = 2048;
    CHECK_EQ(disk_preadv(&dk, &w, 1, (4 << 20) - 1024 + 100), 0);
    CHECK_EQ(c[0], pat(8190, 100));
    CHECK_EQ(c[923], pat(8191, 511));
    CHECK_EQ(c[1023], pat(8192, 99));          /* the partial tail sector */
    CHECK_EQ(c[1024], 0);
    CHECK_EQ(c[2047], 0);

    /* write-zeroes, both ways, and discard (hole punching) */
    uint64_t blocks = file_blocks(p);
    CHECK_EQ(disk_write_zeroes(&dk, 1 << 20, 1 << 20, false), 0);
    uint8_t zero[512] = { 0 };
    CHECK(file_sector_is(p, 2048, zero));
    CHECK(file_sector_is(p, 4095, zero));
    CHECK(file_sector_pat(p, 4096));
    CHECK(file_sector_pat(p, 2047));
    CHECK_EQ(disk_write_zeroes(&dk, 2 << 20, 1 << 20, true), 0);
    CHECK(file_sector_is(p, 4096, zero));
    CHECK(file_sector_is(p, 6143, zero));
    CHECK(file_sector_pat(p, 6144));
    CHECK_EQ(disk_discard(&dk, 0, 1 << 20), 0);
    uint64_t after = file_blocks(p);
    printf("     (blocks %llu -> %llu after 1 MiB zero+unmap and 1 MiB discard)\n",
           (unsigned long long)blocks, (unsigned long long)after);
    CHECK(after + 2 * 2048 - 64 <= blocks);      /* both MiB deallocated (some slack for
                                                    extent-tree blocks) */
    CHECK_EQ(disk_discard(&dk, 0, 0), 0);
    CHECK_EQ(disk_discard(&dk, UINT64_MAX - 5, 10), -EINVAL);
    disk_close(&dk);

    /* read-only: nothing can change the file */
    CHECK_EQ(disk_open(&dk, p, true, err, sizeof(err)), 0);
    uint64_t h = file_hash(p);
    CHECK_EQ(disk_pwritev(&dk, v, 2, 0), -EROFS);
    CHECK_EQ(disk_discard(&dk, 0, 4096), -EROFS);
    CHECK_EQ(disk_write_zeroes(&dk, 0, 4096, true), -EROFS);
    CHECK_EQ(file_hash(p), h);
    disk_close(&dk);
}

static void t_iov_advance(void)
{
    uint8_t x[30];
    struct iovec v[3] = { { x, 10 }, { x + 10, 0 }, { x + 10, 20 } }, *p = v;
    CHECK_EQ(disk_iov_advance(&p, 3, 4), 3);
    CHECK(p == v && p->iov_base == x + 4 && p->iov_len == 6);
    CHECK_EQ(disk_iov_advance(&p, 3, 6), 1);
    CHECK(p == v + 2 && p->iov_len == 20);
    CHECK_EQ(disk_iov_advance(&p, 1, 25), 0);
}

/* ---- the device through the virtio-mmio transport ---- */

#define GMEM_SIZE   (32u << 20)
#define RING_BASE   0x10000u        /* queue q's rings at RING_BASE + q * 0x10000 */
#define HEAP_BASE   0x100000u
#define QSZ         256
#define MAXQ        4

struct tq {
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct drv {
    struct guest_mem mem;
    struct virtio_mmio t;
    struct virtio_dev *d;
    uint64_t features;
    unsigned nq;
    struct tq q[MAXQ];
    uint64_t heap;
};

static void *g(struct drv *v, uint64_t gpa)
{
    void *p = mem_ptr(&v->mem, gpa, 1);
    if (!p)
        abort();
    return p;
}

static void g16(struct drv *v, uint64_t gpa, uint16_t x) { memcpy(g(v, gpa), &x, 2); }
static void g32(struct drv *v, uint64_t gpa, uint32_t x) { memcpy(g(v, gpa), &x, 4); }
static void g64(struct drv *v, uint64_t gpa, uint64_t x) { memcpy(g(v, gpa), &x, 8); }
static uint32_t rd32g(struct drv *v, uint64_t gpa) { uint32_t x; memcpy(&x, g(v, gpa), 4); return x; }

static void wr(struct drv *v, uint64_t off, uint32_t x)
{
    virtio_mmio_io(&v->t, off, (uint8_t *)&x, 4, true);
}

static uint32_t rd(struct drv *v, uint64_t off)
{
    uint32_t x;
    virtio_mmio_io(&v->t, off, (uint8_t *)&x, 4, false);
    return x;
}

static uint64_t galloc(struct drv *v, uint64_t len, uint64_t align)
{
    v->heap = (v->heap + align - 1) & ~(align - 1);
    if (v->heap + len > GMEM_SIZE)
        v->heap = HEAP_BASE;
    uint64_t a = v->heap;
    v->heap += len;
    return a;
}

static uint64_t dev_features(struct drv *v)
{
    wr(v, VMMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t f = rd(v, VMMIO_DEVICE_FEATURES);
    wr(v, VMMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)rd(v, VMMIO_DEVICE_FEATURES) << 32;
}

/* The Linux probe sequence: reset, ACK, DRIVER, features, queues, DRIVER_OK. */
static int drv_start(struct drv *v, uint64_t want, unsigned nq)
{
    wr(v, VMMIO_STATUS, 0);
    wr(v, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(v, VMMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    v->features = dev_features(v) & want;
    wr(v, VMMIO_DRIVER_FEATURES_SEL, 0);
    wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)v->features);
    wr(v, VMMIO_DRIVER_FEATURES_SEL, 1);
    wr(v, VMMIO_DRIVER_FEATURES, (uint32_t)(v->features >> 32));
    uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK;
    wr(v, VMMIO_STATUS, s);
    if (!(rd(v, VMMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return -1;
    v->nq = nq;
    for (unsigned i = 0; i < nq; i++) {
        struct tq *q = &v->q[i];
        memset(q, 0, sizeof(*q));
        q->desc = RING_BASE + i * 0x10000;
        q->avail = q->desc + 0x4000;
        q->used = q->desc + 0x8000;
        memset(g(v, q->desc), 0, 0x10000);
        wr(v, VMMIO_QUEUE_SEL, i);
        if (rd(v, VMMIO_QUEUE_NUM_MAX) < QSZ)
            return -1;
        wr(v, VMMIO_QUEUE_NUM, QSZ);
        wr(v, VMMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        wr(v, VMMIO_QUEUE_DESC_HIGH, 0);
        wr(v, VMMIO_QUEUE_DRIVER_LOW, (uint32_t)q->avail);
        wr(v, VMMIO_QUEUE_DRIVER_HIGH, 0);
        wr(v, VMMIO_QUEUE_DEVICE_LOW, (uint32_t)q->used);
        wr(v, VMMIO_QUEUE_DEVICE_HIGH, 0);
        wr(v, VMMIO_QUEUE_READY, 1);
    }
    wr(v, VMMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
    return (rd(v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? -1 : 0;
}

static const uint64_t ALL = ~0ULL;

/* Create the device on path and bring it up with the wanted features. */
static int drv_open(struct drv *v, const char *path, bool ro, const char *serial, unsigned nq,
                    uint64_t want, enum virtio_blk_io_mode mode)
{
    memset(v, 0, sizeof(*v));
    v->mem.n = 1;
    v->mem.r[0].gpa = 0;
    v->mem.r[0].size = GMEM_SIZE;
    if (mem_map(&v->mem) < 0)
        return -1;
    v->heap = HEAP_BASE;
    struct virtio_blk_cfg cfg = { .path = path, .readonly = ro, .serial = serial, .num_queues = nq };
    char err[512];
    if (virtio_blk_create(&cfg, &v->mem, &v->d, err, sizeof(err)) < 0) {
        fprintf(stderr, "  create: %s\n", err);
        return -1;
    }
    virtio_blk_set_io_mode(v->d, mode);
    if (virtio_mmio_init(&v->t, v->d, NULL, 0xd0000000, 5) < 0)
        return -1;
    return drv_start(v, want, nq);
}

static void drv_close(struct drv *v)
{
    virtio_mmio_destroy(&v->t);
    mem_unmap(&v->mem);
}

struct buf {
    uint64_t gpa;
    uint32_t len;
    bool w;                         /* device-writable */
};

/* Post one chain (or one indirect table) on queue qi; no notify yet. */
static uint16_t post(struct drv *v, unsigned qi, const struct buf *b, unsigned n, bool indirect)
{
    struct tq *q = &v->q[qi];
    uint16_t head = q->next_desc;
    if (indirect) {
        uint64_t tab = galloc(v, 16 * n, 16);
        for (unsigned i = 0; i < n; i++) {
            g64(v, tab + 16 * i, b[i].gpa);
            g32(v, tab + 16 * i + 8, b[i].len);
            g16(v, tab + 16 * i + 12, (uint16_t)((b[i].w ? VIRTQ_DESC_F_WRITE : 0) |
                                                  (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
            g16(v, tab + 16 * i + 14, (uint16_t)(i + 1));
        }
        uint64_t d = q->desc + 16 * (uint64_t)head;
        g64(v, d, tab);
        g32(v, d + 8, 16 * n);
        g16(v, d + 12, VIRTQ_DESC_F_INDIRECT);
        g16(v, d + 14, 0);
        q->next_desc = (uint16_t)((head + 1) % QSZ);
    } else {
        for (unsigned i = 0; i < n; i++) {
            uint16_t k = (uint16_t)((head + i) % QSZ);
            uint64_t d = q->desc + 16 * (uint64_t)k;
            g64(v, d, b[i].gpa);
            g32(v, d + 8, b[i].len);
            g16(v, d + 12, (uint16_t)((b[i].w ? VIRTQ_DESC_F_WRITE : 0) |
                                       (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
            g16(v, d + 14, (uint16_t)((k + 1) % QSZ));
        }
        q->next_desc = (uint16_t)((head + n) % QSZ);
    }
    g16(v, q->avail + 4 + 2 * (q->avail_idx % QSZ), head);
    q->avail_idx++;
    __atomic_store_n((uint16_t *)g(v, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

static void kick(struct drv *v, unsigned qi)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    wr(v, VMMIO_QUEUE_NOTIFY, qi);
}

static uint16_t used_idx(struct drv *v, unsigned qi)
{
    return __atomic_load_n((uint16_t *)g(v, v->q[qi].used + 2), __ATOMIC_ACQUIRE);
}

/* Wait until n more used entries are there (or 10 s). Interrupts are
 * not consumed here (t_dev_event_idx counts them), so a pending one only
 * shortens the nap. */
static int wait_used(struct drv *v, unsigned qi, unsigned n)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        if ((uint16_t)(used_idx(v, qi) - v->q[qi].used_seen) >= n)
            return 0;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 10)
            return -1;
        struct pollfd p = { .fd = v->t.irq_fd, .events = POLLIN };
        if (poll(&p, 1, 1) > 0)
            usleep(20);
    }
}

static void pop_used(struct drv *v, unsigned qi, uint32_t *id, uint32_t *len)
{
    struct tq *q = &v->q[qi];
    uint64_t e = q->used + 4 + 8 * (uint64_t)(q->used_seen % QSZ);
    *id = rd32g(v, e);
    *len = rd32g(v, e + 4);
    q->used_seen++;
}

static uint64_t irq_count(struct drv *v)
{
    uint64_t c = 0;
    if (read(v->t.irq_fd, &c, sizeof(c)) < 0)
        c = 0;
    return c;
}

/* Post a request: header, data (0..n buffers of len each) and status.
 * Returns the head; *st_gpa gets the status byte's address. */
static uint16_t post_req(struct drv *v, unsigned qi, uint32_t type, uint64_t sector,
                         uint64_t data, uint32_t len, unsigned nbufs, bool indirect,
                         uint64_t *st_gpa)
{
    struct buf b[18];
    unsigned n = 0;
    uint64_t h = galloc(v, 16, 8);
    put_hdr(g(v, h), type, sector);
    b[n++] = (struct buf){ h, 16, false };
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    for (unsigned i = 0; i < nbufs; i++)
        b[n++] = (struct buf){ data + (uint64_t)i * len / nbufs, len / nbufs, in };
    *st_gpa = galloc(v, 1, 1);
    *(uint8_t *)g(v, *st_gpa) = 0xee;
    b[n++] = (struct buf){ *st_gpa, 1, true };
    return post(v, qi, b, n, indirect);
}

/* One request, waited for: the status byte (or -1), *ulen the used length. */
static int req(struct drv *v, unsigned qi, uint32_t type, uint64_t sector, uint64_t data,
               uint32_t len, unsigned nbufs, uint32_t *ulen)
{
    uint64_t st;
    uint16_t head = post_req(v, qi, type, sector, data, len, nbufs, false, &st);
    kick(v, qi);
    if (wait_used(v, qi, 1) < 0)
        return -1;
    uint32_t id, l;
    pop_used(v, qi, &id, &l);
    if (id != head)
        return -2;
    if (ulen)
        *ulen = l;
    return *(uint8_t *)g(v, st);
}

static void cfg_bytes(struct drv *v, uint32_t off, void *dst, uint32_t len)
{
    for (uint32_t i = 0; i < len; i++)
        virtio_mmio_io(&v->t, VMMIO_CONFIG + off + i, (uint8_t *)dst + i, 1, false);
}

static void t_dev_config(void)
{
    const char *p = tpath("cfg.img");
    make_image(p, (1 << 20) + 300);         /* the partial last sector is ignored */
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, "serial", 2, ALL, VIRTIO_BLK_IO_AUTO), 0);
    CHECK_EQ(rd(&v, VMMIO_DEVICE_ID), 2);
    uint64_t f = v.features;
    CHECK(f >> VIRTIO_F_VERSION_1 & 1);
    CHECK(f >> VIRTIO_F_EVENT_IDX & 1);
    CHECK(f >> VIRTIO_F_INDIRECT_DESC & 1);
    CHECK(f >> VIRTIO_BLK_F_FLUSH & 1);
    CHECK(f >> VIRTIO_BLK_F_BLK_SIZE & 1);
    CHECK(f >> VIRTIO_BLK_F_SEG_MAX & 1);
    CHECK(f >> VIRTIO_BLK_F_MQ & 1);
    CHECK(f >> VIRTIO_BLK_F_DISCARD & 1);
    CHECK(f >> VIRTIO_BLK_F_WRITE_ZEROES & 1);
    CHECK(!(f >> VIRTIO_BLK_F_RO & 1));

    uint64_t cap = 0;
    cfg_bytes(&v, VIRTIO_BLK_CFG_CAPACITY, &cap, 8);             /* byte by byte */
    CHECK_EQ(cap, 2048);
    uint32_t lo = rd(&v, VMMIO_CONFIG + 0), hi = rd(&v, VMMIO_CONFIG + 4);   /* as two u32 */
    CHECK_EQ(lo, 2048);
    CHECK_EQ(hi, 0);
    uint32_t x;
    cfg_bytes(&v, VIRTIO_BLK_CFG_SEG_MAX, &x, 4);
    CHECK_EQ(x, VIRTIO_BLK_QUEUE_MAX - 2);   /* a 1 MiB request fits */
    CHECK(x >= 256);
    cfg_bytes(&v, VIRTIO_BLK_CFG_BLK_SIZE, &x, 4);
    CHECK_EQ(x, 512);
    uint16_t nq;
    cfg_bytes(&v, VIRTIO_BLK_CFG_NUM_QUEUES, &nq, 2);
    CHECK_EQ(nq, 2);
    CHECK_EQ(rd(&v, VMMIO_CONFIG + VIRTIO_BLK_CFG_MAX_DISCARD_SEG), VIRTIO_BLK_MAX_SEGS);
    CHECK(rd(&v, VMMIO_CONFIG + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS) > 0);
    CHECK(rd(&v, VMMIO_CONFIG + VIRTIO_BLK_CFG_DISCARD_SECTOR_ALIGNMENT) >= 1);
    CHECK(rd(&v, VMMIO_CONFIG + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SECTORS) > 0);
    CHECK_EQ(rd(&v, VMMIO_CONFIG + VIRTIO_BLK_CFG_MAX_WRITE_ZEROES_SEG), VIRTIO_BLK_MAX_SEGS);
    uint8_t unmap;
    cfg_bytes(&v, VIRTIO_BLK_CFG_WRITE_ZEROES_MAY_UNMAP, &unmap, 1);
    CHECK_EQ(unmap, 1);
    /* every byte of config space is readable, past it reads 0 */
    uint8_t all[VIRTIO_BLK_CONFIG_SIZE + 4];
    memset(all, 0xcc, sizeof(all));
    cfg_bytes(&v, 0, all, sizeof(all));
    CHECK_EQ(all[VIRTIO_BLK_CONFIG_SIZE], 0);
    /* writes are ignored */
    uint8_t one = 1;
    virtio_mmio_io(&v.t, VMMIO_CONFIG + VIRTIO_BLK_CFG_WRITEBACK, &one, 1, true);
    cfg_bytes(&v, VIRTIO_BLK_CFG_WRITEBACK, &one, 1);
    CHECK_EQ(one, 0);

    /* the last whole sector is readable, the partial one is not */
    uint64_t data = galloc(&v, 4096, 4096);
    uint32_t ul;
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 2047, data, 512, 1, &ul), VIRTIO_BLK_S_OK);
    CHECK_EQ(ul, 513);
    CHECK_EQ(*(uint8_t *)g(&v, data + 511), pat(2047, 511));
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 2047, data, 1024, 1, &ul), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(req(&v, 1, VIRTIO_BLK_T_IN, 2048, data, 512, 1, &ul), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(ul, 1);
    drv_close(&v);

    /* read-only device */
    CHECK_EQ(drv_open(&v, p, true, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    CHECK(v.features >> VIRTIO_BLK_F_RO & 1);
    CHECK(!(v.features >> VIRTIO_BLK_F_DISCARD & 1));
    CHECK(!(v.features >> VIRTIO_BLK_F_WRITE_ZEROES & 1));
    drv_close(&v);
}

static const char *const mode_name[] = { "auto", "sync", "uring" };

static void check_rw(enum virtio_blk_io_mode mode, bool indirect)
{
    char name[32];
    snprintf(name, sizeof(name), "rw-%s-%d.img", mode_name[mode], indirect);
    const char *p = tpath(name);
    make_image(p, 8 << 20);
    struct drv v;
    uint64_t want = ALL & ~(indirect ? 0 : 1ULL << VIRTIO_F_INDIRECT_DESC);
    CHECK_EQ(drv_open(&v, p, false, NULL, 1, want, mode), 0);

    /* a 3-segment write of 12 sectors at sector 100, then read it back in 4 pieces */
    uint64_t data = galloc(&v, 6144, 4096);
    for (unsigned i = 0; i < 6144; i++)
        ((uint8_t *)g(&v, data))[i] = (uint8_t)(i * 13 + 1);
    uint64_t st;
    uint16_t head = post_req(&v, 0, VIRTIO_BLK_T_OUT, 100, data, 6144, 3, indirect, &st);
    kick(&v, 0);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    uint32_t id, ul;
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(id, head);
    CHECK_EQ(ul, 1);
    CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_OK);
    uint8_t want_sec[512];
    for (unsigned s = 0; s < 12; s++) {
        for (unsigned i = 0; i < 512; i++)
            want_sec[i] = (uint8_t)((s * 512 + i) * 13 + 1);
        CHECK(file_sector_is(p, 100 + s, want_sec));
    }
    CHECK(file_sector_pat(p, 99));
    CHECK(file_sector_pat(p, 112));

    uint64_t back = galloc(&v, 6144, 4096);
    memset(g(&v, back), 0, 6144);
    head = post_req(&v, 0, VIRTIO_BLK_T_IN, 100, back, 6144, 4, indirect, &st);
    kick(&v, 0);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(id, head);
    CHECK_EQ(ul, 6145);
    CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_OK);
    CHECK(!memcmp(g(&v, back), g(&v, data), 6144));

    /* flush, get-id (no serial: zeroes), unsupported, out of range */
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, &ul), VIRTIO_BLK_S_OK);
    CHECK_EQ(ul, 1);
    memset(g(&v, back), 0x77, 20);
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_GET_ID, 0, back, 20, 1, &ul), VIRTIO_BLK_S_OK);
    CHECK_EQ(ul, 21);
    CHECK_EQ(*(uint8_t *)g(&v, back), 0);
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_GET_LIFETIME, 0, back, 512, 1, &ul), VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(ul, 1);
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_OUT, 16383, data, 1024, 1, &ul), VIRTIO_BLK_S_IOERR);
    CHECK(file_sector_pat(p, 16383));

    /* 32 random 4 KiB reads in flight at once, some of them indirect */
    uint64_t bufs = galloc(&v, 32 * 4096, 4096);
    uint64_t sts[32];
    uint64_t sectors[32];
    uint16_t heads[32];
    unsigned seed = 7;
    for (int round = 0; round < 8; round++) {
        for (int i = 0; i < 32; i++) {
            sectors[i] = (uint64_t)(rand_r(&seed) % (16384 / 8 - 1)) * 8 + 200;
            if (sectors[i] + 8 > 16384)
                sectors[i] = 16384 - 8;
            if (sectors[i] >= 96 && sectors[i] < 112)
                sectors[i] = 4096;
            heads[i] = post_req(&v, 0, VIRTIO_BLK_T_IN, sectors[i], bufs + 4096 * i, 4096,
                                1u << (i % 3), indirect && (i & 1), &sts[i]);
        }
        kick(&v, 0);
        CHECK_EQ(wait_used(&v, 0, 32), 0);
        bool seen[32] = { false };
        for (int i = 0; i < 32; i++) {
            pop_used(&v, 0, &id, &ul);
            int k = -1;
            for (int j = 0; j < 32; j++)
                if (heads[j] == id && !seen[j])
                    k = j;
            CHECK(k >= 0);
            seen[k] = true;
            CHECK_EQ(ul, 4097);
        }
        for (int i = 0; i < 32; i++) {
            CHECK_EQ(*(uint8_t *)g(&v, sts[i]), VIRTIO_BLK_S_OK);
            uint8_t *b = g(&v, bufs + 4096 * i);
            for (unsigned k = 0; k < 4096; k += 97)
                CHECK_EQ(b[k], pat(sectors[i] + k / 512, k % 512));
        }
    }
    drv_close(&v);
}

static void t_dev_rw_auto(void) { check_rw(VIRTIO_BLK_IO_AUTO, false); }
static void t_dev_rw_indirect(void) { check_rw(VIRTIO_BLK_IO_AUTO, true); }
static void t_dev_rw_sync(void) { check_rw(VIRTIO_BLK_IO_SYNC, false); }
static void t_dev_rw_uring(void) { check_rw(VIRTIO_BLK_IO_URING, true); }

/* An image on tmpfs: large reads are split in two halves copied in
 * parallel (one through io_uring).  Every byte must land where it belongs,
 * whatever the buffer layout: 16 buffers (split at a buffer boundary), 3
 * uneven ones, and one (cannot be split, read whole). */
static void t_dev_split_read_tmpfs(void)
{
    struct statfs sf;
    CHECK(statfs("/dev/shm", &sf) == 0 && sf.f_type == TMPFS_MAGIC);
    char p[64];
    snprintf(p, sizeof(p), "/dev/shm/arcvmm-blk-split-%d.img", (int)getpid());
    make_image(p, 8 << 20);
    struct drv v;
    int r = drv_open(&v, p, false, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO);
    unlink(p);      /* the device keeps it open */
    CHECK_EQ(r, 0);
    static const unsigned nbufs[] = { 16, 3, 1 };
    uint32_t len = 768 << 10;
    uint64_t buf = galloc(&v, len, 4096);
    for (unsigned k = 0; k < 3; k++) {
        uint64_t sector = 1000 + k * 2000;
        uint32_t ul;
        memset(g(&v, buf), 0, len);
        CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, sector, buf, len - len % (nbufs[k] * 512), nbufs[k], &ul),
                 VIRTIO_BLK_S_OK);
        uint32_t got = len - len % (nbufs[k] * 512);
        CHECK_EQ(ul, got + 1);
        const uint8_t *b = g(&v, buf);
        for (uint32_t i = 0; i < got; i += 61)
            CHECK_EQ(b[i], pat(sector + i / 512, i % 512));
        CHECK_EQ(b[got - 1], pat(sector + (got - 1) / 512, (got - 1) % 512));
    }
    drv_close(&v);
}

/* InterruptStatus shows the used-buffer bit after a completion; an Ack
 * clears just that bit and leaves every other register as it was. */
static void t_dev_interrupt_ack(void)
{
    const char *p = tpath("ack.img");
    make_image(p, 1 << 20);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    uint32_t status = rd(&v, VMMIO_STATUS), qmax = rd(&v, VMMIO_QUEUE_NUM_MAX);
    CHECK(status & VIRTIO_STATUS_DRIVER_OK);
    uint64_t b = galloc(&v, 512, 512);
    uint32_t ul;
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 0, b, 512, 1, &ul), VIRTIO_BLK_S_OK);
    struct pollfd pf = { .fd = v.t.irq_fd, .events = POLLIN };
    CHECK_EQ(poll(&pf, 1, 10000), 1);          /* the bit is set before the signal */
    CHECK_EQ(rd(&v, VMMIO_INTERRUPT_STATUS) & VIRTIO_ISR_QUEUE, VIRTIO_ISR_QUEUE);
    wr(&v, VMMIO_INTERRUPT_ACK, VIRTIO_ISR_QUEUE);
    CHECK_EQ(rd(&v, VMMIO_INTERRUPT_STATUS) & VIRTIO_ISR_QUEUE, 0);
    CHECK_EQ(rd(&v, VMMIO_STATUS), status);
    CHECK_EQ(rd(&v, VMMIO_QUEUE_NUM_MAX), qmax);
    CHECK_EQ(rd(&v, VMMIO_MAGIC), VIRTIO_MMIO_MAGIC);
    drv_close(&v);
}

static void t_dev_get_id(void)
{
    const char *p = tpath("id.img");
    make_image(p, 1 << 20);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, "0123456789abcdefghijKLMN", 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    uint64_t b = galloc(&v, 64, 8);
    memset(g(&v, b), 0x77, 64);
    uint32_t ul;
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_GET_ID, 0, b, 20, 1, &ul), VIRTIO_BLK_S_OK);
    CHECK(!memcmp(g(&v, b), "0123456789abcdefghij", 20));
    CHECK_EQ(ul, 21);
    drv_close(&v);
    CHECK_EQ(drv_open(&v, p, false, "abc", 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    b = galloc(&v, 64, 8);
    memset(g(&v, b), 0x77, 64);
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_GET_ID, 0, b, 20, 2, &ul), VIRTIO_BLK_S_OK);
    CHECK(!memcmp(g(&v, b), "abc\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 20));
    CHECK_EQ(*(uint8_t *)g(&v, b + 20), 0x77);
    drv_close(&v);
}

static void t_dev_discard_zeroes(void)
{
    const char *p = tpath("discard.img");
    make_image(p, 16 << 20);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    uint64_t blocks = file_blocks(p);
    /* discard two 2 MiB ranges in one request */
    uint64_t seg = galloc(&v, 32, 16);
    put_seg(g(&v, seg), 4096, 4096, 0);
    put_seg((uint8_t *)g(&v, seg) + 16, 12288, 4096, 0);
    uint64_t h = galloc(&v, 16, 8), st = galloc(&v, 1, 1);
    put_hdr(g(&v, h), VIRTIO_BLK_T_DISCARD, 0);
    struct buf b[3] = { { h, 16, false }, { seg, 32, false }, { st, 1, true } };
    uint16_t head = post(&v, 0, b, 3, false);
    kick(&v, 0);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    uint32_t id, ul;
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(id, head);
    CHECK_EQ(ul, 1);
    CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_OK);
    uint64_t after = file_blocks(p);
    printf("     (image blocks %llu -> %llu after discarding 4 MiB)\n",
           (unsigned long long)blocks, (unsigned long long)after);
    CHECK(after + 8192 - 64 <= blocks);
    CHECK(file_sector_pat(p, 4095));
    CHECK(file_sector_pat(p, 8192));

    /* write-zeroes without unmap, then with: both read back as zeroes */
    uint8_t zero[512] = { 0 };
    for (int unmap = 0; unmap < 2; unmap++) {
        uint64_t s0 = unmap ? 20000 : 100;
        put_seg(g(&v, seg), s0, 64, unmap ? VIRTIO_BLK_WZ_FLAG_UNMAP : 0);
        put_hdr(g(&v, h), VIRTIO_BLK_T_WRITE_ZEROES, 0);
        b[1].len = 16;
        head = post(&v, 0, b, 3, false);
        kick(&v, 0);
        CHECK_EQ(wait_used(&v, 0, 1), 0);
        pop_used(&v, 0, &id, &ul);
        CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_OK);
        CHECK(file_sector_is(p, s0, zero));
        CHECK(file_sector_is(p, s0 + 63, zero));
        CHECK(file_sector_pat(p, s0 + 64));
        CHECK(file_sector_pat(p, s0 - 1));
        /* and through the device */
        uint64_t rb = galloc(&v, 512, 512);
        memset(g(&v, rb), 0x33, 512);
        CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, s0 + 10, rb, 512, 1, &ul), VIRTIO_BLK_S_OK);
        CHECK(!memcmp(g(&v, rb), zero, 512));
    }
    /* bad segments are refused and change nothing */
    uint64_t hash = file_hash(p);
    put_seg(g(&v, seg), 32760, 16, 0);          /* runs past the end */
    put_hdr(g(&v, h), VIRTIO_BLK_T_WRITE_ZEROES, 0);
    post(&v, 0, b, 3, false);
    kick(&v, 0);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_IOERR);
    put_seg(g(&v, seg), 0, 16, VIRTIO_BLK_WZ_FLAG_UNMAP);
    put_hdr(g(&v, h), VIRTIO_BLK_T_DISCARD, 0);
    post(&v, 0, b, 3, false);
    kick(&v, 0);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_UNSUPP);
    CHECK_EQ(file_hash(p), hash);
    drv_close(&v);
}

static void t_dev_readonly(void)
{
    const char *p = tpath("ro.img");
    make_image(p, 1 << 20);
    chmod(p, 0444);
    uint64_t hash = file_hash(p);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, true, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    uint64_t data = galloc(&v, 4096, 4096);
    memset(g(&v, data), 0xab, 4096);
    uint32_t ul;
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_OUT, 0, data, 4096, 1, &ul), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(ul, 1);
    uint64_t seg = galloc(&v, 16, 16), h = galloc(&v, 16, 8), st = galloc(&v, 1, 1);
    put_seg(g(&v, seg), 0, 8, 0);
    for (uint32_t t = VIRTIO_BLK_T_DISCARD; t <= VIRTIO_BLK_T_WRITE_ZEROES; t += 2) {
        put_hdr(g(&v, h), t, 0);
        struct buf b[3] = { { h, 16, false }, { seg, 16, false }, { st, 1, true } };
        post(&v, 0, b, 3, false);
        kick(&v, 0);
        CHECK_EQ(wait_used(&v, 0, 1), 0);
        uint32_t id;
        pop_used(&v, 0, &id, &ul);
        CHECK_EQ(*(uint8_t *)g(&v, st), VIRTIO_BLK_S_IOERR);
    }
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 8, data, 4096, 1, &ul), VIRTIO_BLK_S_OK);
    CHECK_EQ(*(uint8_t *)g(&v, data), pat(8, 0));
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_FLUSH, 0, 0, 0, 0, &ul), VIRTIO_BLK_S_OK);
    CHECK_EQ(file_hash(p), hash);
    drv_close(&v);
    chmod(p, 0644);
}

static void t_dev_locked(void)
{
    const char *p = tpath("locked.img");
    make_image(p, 1 << 20);
    struct guest_mem mem = { 0 };
    struct virtio_blk_cfg cfg = { .path = p, .num_queues = 1 };
    struct virtio_dev *a, *b;
    char err[512], want[600];
    CHECK_EQ(virtio_blk_create(&cfg, &mem, &a, err, sizeof(err)), 0);
    CHECK(virtio_blk_create(&cfg, &mem, &b, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "disk %s: is in use by another process (locked)", p);
    CHECK(!strcmp(err, want));
    cfg.readonly = true;
    CHECK(virtio_blk_create(&cfg, &mem, &b, err, sizeof(err)) < 0);
    a->ops->destroy(a);                         /* unlocks */
    CHECK_EQ(virtio_blk_create(&cfg, &mem, &a, err, sizeof(err)), 0);
    CHECK_EQ(virtio_blk_create(&cfg, &mem, &b, err, sizeof(err)), 0);
    a->ops->destroy(a);
    b->ops->destroy(b);

    cfg.path = tpath("nope.img");
    CHECK(virtio_blk_create(&cfg, &mem, &a, err, sizeof(err)) < 0);
    snprintf(want, sizeof(want), "disk %s: No such file or directory", cfg.path);
    CHECK(!strcmp(err, want));
    cfg.path = tmpdir;
    CHECK(virtio_blk_create(&cfg, &mem, &a, err, sizeof(err)) < 0);
    CHECK(strstr(err, "is a directory") != NULL);
}

/* Two queues, requests on both at once. */
static void t_dev_multiqueue(void)
{
    const char *p = tpath("mq.img");
    make_image(p, 4 << 20);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, NULL, 2, ALL, VIRTIO_BLK_IO_AUTO), 0);
    uint64_t a = galloc(&v, 4096, 4096), b = galloc(&v, 4096, 4096), sa, sb;
    memset(g(&v, b), 0x42, 4096);
    uint16_t ha = post_req(&v, 0, VIRTIO_BLK_T_IN, 64, a, 4096, 1, false, &sa);
    uint16_t hb = post_req(&v, 1, VIRTIO_BLK_T_OUT, 128, b, 4096, 1, false, &sb);
    kick(&v, 0);
    kick(&v, 1);
    CHECK_EQ(wait_used(&v, 0, 1), 0);
    CHECK_EQ(wait_used(&v, 1, 1), 0);
    uint32_t id, ul;
    pop_used(&v, 0, &id, &ul);
    CHECK_EQ(id, ha);
    pop_used(&v, 1, &id, &ul);
    CHECK_EQ(id, hb);
    CHECK_EQ(*(uint8_t *)g(&v, sa), 0);
    CHECK_EQ(*(uint8_t *)g(&v, sb), 0);
    CHECK_EQ(*(uint8_t *)g(&v, a + 4095), pat(71, 511));
    uint8_t w[512];
    memset(w, 0x42, 512);
    CHECK(file_sector_is(p, 135, w));
    drv_close(&v);
}

/* EVENT_IDX: with used_event set so that only the 32nd completion
 * crosses it, the 32 requests raise exactly one interrupt. */
static void t_dev_event_idx(void)
{
    const char *p = tpath("eidx.img");
    make_image(p, 4 << 20);
    for (int mode = 0; mode < 3; mode++) {
        struct drv v;
        CHECK_EQ(drv_open(&v, p, false, NULL, 1, ALL, (enum virtio_blk_io_mode)mode), 0);
        CHECK(v.features >> VIRTIO_F_EVENT_IDX & 1);
        uint64_t bufs = galloc(&v, 32 * 4096, 4096), st;
        /* the first completion after setup always interrupts */
        CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 0, bufs, 4096, 1, NULL), VIRTIO_BLK_S_OK);
        struct pollfd pf = { .fd = v.t.irq_fd, .events = POLLIN };
        CHECK_EQ(poll(&pf, 1, 5000), 1);
        CHECK_EQ(irq_count(&v), 1);
        g16(&v, v.q[0].avail + 4 + 2 * QSZ, 32);         /* used_event: after the 33rd */
        for (int i = 0; i < 32; i++)
            post_req(&v, 0, VIRTIO_BLK_T_IN, (uint64_t)i * 8, bufs + 4096 * i, 4096, 1, false, &st);
        kick(&v, 0);
        CHECK_EQ(wait_used(&v, 0, 32), 0);
        usleep(20000);
        CHECK_EQ(irq_count(&v), 1);
        /* the device asked to be notified again (avail_event = 33) */
        CHECK_EQ(*(uint16_t *)g(&v, v.q[0].used + 4 + 8 * QSZ), 33);
        drv_close(&v);
    }
}

/* A malformed ring sets DEVICE_NEEDS_RESET; a reset brings it back. */
static void t_dev_broken_ring(void)
{
    const char *p = tpath("broken.img");
    make_image(p, 1 << 20);
    struct drv v;
    CHECK_EQ(drv_open(&v, p, false, NULL, 1, ALL, VIRTIO_BLK_IO_AUTO), 0);
    /* a buffer outside guest RAM */
    uint64_t h = galloc(&v, 16, 8), st = galloc(&v, 1, 1);
    put_hdr(g(&v, h), VIRTIO_BLK_T_IN, 0);
    struct buf b[3] = { { h, 16, false }, { GMEM_SIZE - 100, 512, true }, { st, 1, true } };
    post(&v, 0, b, 3, false);
    kick(&v, 0);
    int i;
    for (i = 0; i < 5000 && !(rd(&v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET); i++)
        usleep(1000);
    CHECK(rd(&v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(used_idx(&v, 0), 0);

    /* reset and start over: works again */
    CHECK_EQ(drv_start(&v, ALL, 1), 0);
    uint64_t data = galloc(&v, 512, 512);
    CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 3, data, 512, 1, NULL), VIRTIO_BLK_S_OK);
    CHECK_EQ(*(uint8_t *)g(&v, data), pat(3, 0));

    /* avail idx far ahead of the ring */
    __atomic_store_n((uint16_t *)g(&v, v.q[0].avail + 2), (uint16_t)(v.q[0].avail_idx + 300),
                     __ATOMIC_RELEASE);
    kick(&v, 0);
    for (i = 0; i < 5000 && !(rd(&v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET); i++)
        usleep(1000);
    CHECK(rd(&v, VMMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    drv_close(&v);
}

/* Reset with requests in flight, repeatedly: the reset returns, nothing
 * is touched afterwards (ASan/valgrind would see it), and the device
 * works again after the driver restarts it. */
static void t_dev_reset_inflight(void)
{
    const char *p = tpath("reset.img");
    make_image(p, 8 << 20);
    for (int mode = 0; mode < 3; mode++) {
        struct drv v;
        CHECK_EQ(drv_open(&v, p, false, NULL, 1, ALL, (enum virtio_blk_io_mode)mode), 0);
        for (int round = 0; round < 20; round++) {
            uint64_t bufs = galloc(&v, 64 * 4096, 4096), st;
            for (int i = 0; i < 64; i++)
                post_req(&v, 0, i % 4 == 3 ? VIRTIO_BLK_T_FLUSH : VIRTIO_BLK_T_IN,
                         (uint64_t)(i * 97 % 2000) * 8, bufs + 4096 * i, 4096, 1, false, &st);
            kick(&v, 0);
            if (round & 1)
                usleep(100);
            wr(&v, VMMIO_STATUS, 0);            /* reset: returns once the workers stopped */
            uint16_t u = used_idx(&v, 0);
            usleep(1000);
            CHECK_EQ(used_idx(&v, 0), u);       /* and nothing moves any more */
            CHECK_EQ(drv_start(&v, ALL, 1), 0);
        }
        uint64_t data = galloc(&v, 512, 512);
        CHECK_EQ(req(&v, 0, VIRTIO_BLK_T_IN, 77, data, 512, 1, NULL), VIRTIO_BLK_S_OK);
        CHECK_EQ(*(uint8_t *)g(&v, data + 5), pat(77, 5));
        drv_close(&v);
    }
}

/* Whole-queue throughput at depth 32: random 4 KiB reads, kept full. */
static double qd32_iops(const char *p, enum virtio_blk_io_mode mode, int total, bool drop_cache)
{
    struct drv v;
    if (drv_open(&v, p, false, NULL, 1, ALL, mode) < 0)
        return -1;
    if (drop_cache) {
        int fd = open(p, O_RDONLY);
        fdatasync(fd);              /* dirty pages would stay cached */
        posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
        close(fd);
    }
    uint64_t bufs = galloc(&v, 32 * 4096, 4096), st;
    uint64_t nsec = (64ULL << 20) / 512;
    unsigned seed = 99;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int posted = 0, done = 0;
    uint16_t slot_of_head[QSZ];
    for (int i = 0; i < 32; i++) {
        uint16_t hd = post_req(&v, 0, VIRTIO_BLK_T_IN, (uint64_t)(rand_r(&seed) % (nsec / 8)) * 8,
                               bufs + 4096 * i, 4096, 1, false, &st);
        slot_of_head[hd] = (uint16_t)i;
        posted++;
    }
    kick(&v, 0);
    while (done < total) {
        if (wait_used(&v, 0, 1) < 0)
            break;
        uint16_t n = (uint16_t)(used_idx(&v, 0) - v.q[0].used_seen);
        for (uint16_t k = 0; k < n; k++) {
            uint32_t id, ul;
            pop_used(&v, 0, &id, &ul);
            done++;
            if (posted < total) {
                /* three descriptors per request: reuse the ring round robin */
                uint16_t hd = post_req(&v, 0, VIRTIO_BLK_T_IN,
                                       (uint64_t)(rand_r(&seed) % (nsec / 8)) * 8,
                                       bufs + 4096 * slot_of_head[id % QSZ], 4096, 1, false, &st);
                slot_of_head[hd] = slot_of_head[id % QSZ];
                posted++;
            }
        }
        kick(&v, 0);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    drv_close(&v);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    return done == total ? total / s : -1;
}

static void t_dev_qd32_speed(void)
{
    const char *p = tpath("speed.img");
    make_image(p, 64 << 20);
    double c[3], u[3];
    for (int m = 0; m < 3; m++)
        c[m] = qd32_iops(p, (enum virtio_blk_io_mode)m, 20000, false);
    for (int m = 0; m < 3; m++)
        u[m] = qd32_iops(p, (enum virtio_blk_io_mode)m, 4000, true);
    for (int m = 0; m < 3; m++)
        CHECK(c[m] > 0 && u[m] > 0);
    printf("     (QD32 random 4K reads/s, page cache hot: auto %.0f, sync %.0f, uring-only %.0f;"
           " cold: auto %.0f, sync %.0f, uring-only %.0f)\n", c[0], c[1], c[2], u[0], u[1], u[2]);
}

int main(void)
{
    tmp_init();
    RUN(t_parse_read_write);
    RUN(t_parse_split_header_ok);
    RUN(t_parse_bad);
    RUN(t_parse_readonly);
    RUN(t_parse_get_id);
    RUN(t_parse_discard);
    RUN(t_parse_random);
    RUN(t_iov_advance);
    RUN(t_disk_open_errors);
    RUN(t_disk_lock);
    RUN(t_disk_io);
    RUN(t_dev_config);
    RUN(t_dev_rw_auto);
    RUN(t_dev_rw_indirect);
    RUN(t_dev_rw_sync);
    RUN(t_dev_rw_uring);
    RUN(t_dev_split_read_tmpfs);
    RUN(t_dev_interrupt_ack);
    RUN(t_dev_get_id);
    RUN(t_dev_discard_zeroes);
    RUN(t_dev_readonly);
    RUN(t_dev_locked);
    RUN(t_dev_multiqueue);
    RUN(t_dev_event_idx);
    RUN(t_dev_broken_ring);
    RUN(t_dev_reset_inflight);
    RUN(t_dev_qd32_speed);
    tmp_fini();
    return harness_done();
}
