/* vsockio: both ends of the vsock e2e tests (tests/e2e/vsock-l1.sh), one
 * small static program for the guest (AF_VSOCK) and for L1 (AF_UNIX, the
 * hybrid protocol of arcvmm --vsock):
 *
 *   vsockio listen PORT              guest: echo every connection on PORT
 *                                    (one process each); per connection
 *                                    "vsockio echo bytes N sha256 H end eof|reset"
 *   vsockio idle PORT                guest: accept on PORT and never read
 *   vsockio wait PORT                guest: accept one connection, exit
 *   vsockio send [-c N] [-k K] CID PORT BYTES
 *                                    guest: connect to CID:PORT, send BYTES
 *                                    (a pattern per connection) while reading
 *                                    the echo, then half-close and read to
 *                                    the end; -k K: close after K bytes
 *                                    without reading; -c N: N connections at
 *                                    once. Per connection "vsockio conn I
 *                                    sent N sha256 H recv N sha256 H", then
 *                                    "vsockio ok N of M" (sent == received)
 *   vsockio usend [-c N] [-k K] PATH PORT BYTES
 *                                    L1: the same through the hybrid socket
 *                                    PATH ("CONNECT PORT\n", "OK <port>\n")
 *   vsockio ulisten PATH             L1: echo every connection on Unix socket
 *                                    PATH (as listen)
 *   vsockio sink PORT / usink PATH   guest / L1: read every connection to
 *                                    its end, writing nothing back; per
 *                                    connection "vsockio sink bytes N end
 *                                    eof|reset"
 *   vsockio ustuff PATH PORT MAX     L1: connect, then write until MAX bytes
 *                                    or no progress for 2 s: "vsockio
 *                                    stuffed N", and keep the stream open
 *                                    until stdin ends
 *   vsockio uline PATH LINE          L1: write LINE as it is (\n escapes
 *                                    allowed) and print what comes back
 *                                    before the stream closes (5 s bound):
 *                                    "vsockio line closed read N" or
 *                                    "vsockio line open read N"
 *
 * Exit status 0 when everything asked for worked. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

/* ---- SHA-256 (FIPS 180-4) ---- */

struct sha { uint32_t h[8]; uint64_t n; uint8_t b[64]; unsigned bl; };

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static uint32_t ror(uint32_t x, int n) { return x >> n | x << (32 - n); }

static void sha_block(struct sha *s, const uint8_t *p)
{
    uint32_t w[64], a[8];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3;
        uint32_t s1 = ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10;
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    memcpy(a, s->h, sizeof(a));
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = a[7] + (ror(a[4], 6) ^ ror(a[4], 11) ^ ror(a[4], 25)) +
                      ((a[4] & a[5]) ^ (~a[4] & a[6])) + K[i] + w[i];
        uint32_t t2 = (ror(a[0], 2) ^ ror(a[0], 13) ^ ror(a[0], 22)) +
                      ((a[0] & a[1]) ^ (a[0] & a[2]) ^ (a[1] & a[2]));
        memmove(a + 1, a, 7 * sizeof(a[0]));
        a[4] += t1;
        a[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        s->h[i] += a[i];
}

static void sha_init(struct sha *s)
{
    static const uint32_t h0[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
    memcpy(s->h, h0, sizeof(h0));
    s->n = 0;
    s->bl = 0;
}

static void sha_add(struct sha *s, const uint8_t *p, size_t n)
{
    s->n += n;
    while (n) {
        size_t k = 64 - s->bl < n ? 64 - s->bl : n;
        memcpy(s->b + s->bl, p, k);
        s->bl += (unsigned)k;
        p += k;
        n -= k;
        if (s->bl == 64) {
            sha_block(s, s->b);
            s->bl = 0;
        }
    }
}

static void sha_hex(struct sha *s, char out[65])
{
    uint64_t bits = s->n * 8;
    uint8_t pad = 0x80, z = 0, len[8];
    sha_add(s, &pad, 1);
    while (s->bl != 56)
        sha_add(s, &z, 1);
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(bits >> (56 - 8 * i));
    sha_add(s, len, 8);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08x", s->h[i]);
}

/* ---- sockets ---- */

static int vconnect(unsigned cid, unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port };
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "vsockio: connect %u:%u: %s\n", cid, port, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static int vlisten(unsigned port)
{
    int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_vm a = { .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port };
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 256) < 0) {
        fprintf(stderr, "vsockio: listen on port %u: %s\n", port, strerror(errno));
        exit(1);
    }
    return fd;
}

static int uaddr(struct sockaddr_un *a, const char *path)
{
    memset(a, 0, sizeof(*a));
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(a->sun_path))
        return -1;
    strcpy(a->sun_path, path);
    return 0;
}

/* The hybrid protocol: CONNECT, then "OK <port>\n" read byte by byte (no
 * stream bytes after it are taken). */
static int uconnect(const char *path, unsigned port)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || uaddr(&a, path) < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        fprintf(stderr, "vsockio: connect %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char line[32];
    int n = snprintf(line, sizeof(line), "CONNECT %u\n", port);
    if (write(fd, line, (size_t)n) != n)
        goto bad;
    size_t got = 0;
    while (got < sizeof(line) - 1) {
        if (read(fd, line + got, 1) != 1)
            goto bad;
        if (line[got++] == '\n')
            break;
    }
    line[got] = '\0';
    if (strncmp(line, "OK ", 3) || line[got - 1] != '\n')
        goto bad;
    return fd;
bad:
    fprintf(stderr, "vsockio: %s port %u: no OK line\n", path, port);
    close(fd);
    return -1;
}

static int ulisten(const char *path)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    unlink(path);
    if (fd < 0 || uaddr(&a, path) < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        listen(fd, 512) < 0) {
        fprintf(stderr, "vsockio: listen on %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return fd;
}

/* ---- the data ---- */

/* A pattern of its own per connection (xorshift). */
static void pattern(uint64_t *st, uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if ((i & 7) == 0) {
            *st ^= *st << 13;
            *st ^= *st >> 7;
            *st ^= *st << 17;
        }
        p[i] = (uint8_t)(*st >> (8 * (i & 7)));
    }
}

/* Send `total` bytes (stop at `kill_at` and close without more) while
 * reading what comes back; then half-close and read to the end. Prints the
 * connection's line. 0 when what came back is what was sent. */
static int pump(int fd, unsigned idx, uint64_t total, uint64_t kill_at)
{
    static uint8_t out[65536], in[65536];
    uint64_t st = 0x9e3779b97f4a7c15ULL * (idx + 1), sent = 0, rcvd = 0;
    size_t olen = 0, ooff = 0;
    struct sha ss, rs;
    sha_init(&ss);
    sha_init(&rs);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    bool wr_done = false, eof = false;
    const char *end = "eof";
    while (!eof) {
        if (!wr_done && ooff == olen && sent < total) {
            uint64_t k = total - sent < sizeof(out) ? total - sent : sizeof(out);
            pattern(&st, out, (size_t)k);
            sha_add(&ss, out, (size_t)k);
            olen = (size_t)k;
            ooff = 0;
        }
        if (!wr_done && ooff == olen && sent >= total) {
            shutdown(fd, SHUT_WR);
            wr_done = true;
        }
        if (kill_at && sent >= kill_at) {
            end = "killed";
            break;
        }
        struct pollfd p = { .fd = fd, .events = POLLIN | (wr_done ? 0 : POLLOUT) };
        if (poll(&p, 1, 60000) <= 0) {
            end = "timeout";
            break;
        }
        if (!wr_done && (p.revents & POLLOUT)) {
            ssize_t w = write(fd, out + ooff, olen - ooff);
            if (w < 0 && errno != EAGAIN) {
                end = errno == ECONNRESET ? "reset" : "write-error";
                break;
            }
            if (w > 0) {
                ooff += (size_t)w;
                sent += (uint64_t)w;
            }
        }
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = read(fd, in, sizeof(in));
            if (r == 0) {
                eof = true;
            } else if (r < 0 && errno != EAGAIN) {
                end = errno == ECONNRESET ? "reset" : "read-error";
                break;
            } else if (r > 0) {
                sha_add(&rs, in, (size_t)r);
                rcvd += (uint64_t)r;
            }
        }
    }
    close(fd);
    char sh[65], rh[65];
    sha_hex(&ss, sh);
    sha_hex(&rs, rh);
    printf("vsockio conn %u sent %llu sha256 %s recv %llu sha256 %s end %s\n", idx,
           (unsigned long long)sent, sh, (unsigned long long)rcvd, rh, end);
    fflush(stdout);
    return sent == total && rcvd == total && !strcmp(sh, rh) && eof ? 0 : 1;
}

/* Echo (or, as a sink, only read) one connection until EOF; print what
 * passed. */
static void echo(int fd, bool sink)
{
    static uint8_t b[65536];
    struct sha s;
    sha_init(&s);
    uint64_t n = 0;
    const char *end = "eof";
    for (;;) {
        ssize_t r = read(fd, b, sizeof(b));
        if (r == 0)
            break;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            end = errno == ECONNRESET ? "reset" : "error";
            break;
        }
        sha_add(&s, b, (size_t)r);
        n += (uint64_t)r;
        for (ssize_t o = 0; !sink && o < r;) {
            ssize_t w = write(fd, b + o, (size_t)(r - o));
            if (w <= 0) {
                end = "write-error";
                goto out;
            }
            o += w;
        }
    }
out:;
    char h[65];
    sha_hex(&s, h);
    printf("vsockio %s bytes %llu sha256 %s end %s\n", sink ? "sink" : "echo",
           (unsigned long long)n, h, end);
    fflush(stdout);
    close(fd);
}

static void serve(int lfd, bool sink)
{
    signal(SIGCHLD, SIG_IGN);
    for (;;) {
        int c = accept(lfd, NULL, NULL);
        if (c < 0) {
            if (errno == EINTR)
                continue;
            exit(1);
        }
        if (fork() == 0) {
            close(lfd);
            echo(c, sink);
            _exit(0);
        }
        close(c);
    }
}

static uint64_t bytes(const char *s)
{
    char *e;
    uint64_t v = strtoull(s, &e, 10);
    switch (*e) {
    case 'K': case 'k': return v << 10;
    case 'M': case 'm': return v << 20;
    case 'G': case 'g': return v << 30;
    default: return v;
    }
}

/* send / usend: N connections at once, each its own process. */
static int sender(bool unix_side, int argc, char **argv)
{
    unsigned conns = 1;
    uint64_t kill_at = 0;
    int o;
    while ((o = getopt(argc, argv, "c:k:")) != -1) {
        if (o == 'c')
            conns = (unsigned)atoi(optarg);
        else if (o == 'k')
            kill_at = bytes(optarg);
        else
            return 2;
    }
    if (argc - optind != 3 || conns < 1)
        return 2;
    const char *where = argv[optind];
    unsigned port = (unsigned)atoi(argv[optind + 1]);
    uint64_t total = bytes(argv[optind + 2]);
    for (unsigned i = 0; i < conns; i++) {
        if (fork() == 0) {
            int fd = unix_side ? uconnect(where, port) : vconnect((unsigned)atoi(where), port);
            if (fd < 0) {
                printf("vsockio conn %u connect failed\n", i);
                _exit(1);
            }
            _exit(pump(fd, i, total, kill_at));
        }
    }
    unsigned ok = 0;
    for (unsigned i = 0; i < conns; i++) {
        int st;
        if (wait(&st) > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
            ok++;
    }
    printf("vsockio ok %u of %u\n", ok, conns);
    return ok == conns ? 0 : 1;
}

/* ustuff: write until MAX or no progress for 2 s, then hold the stream. */
static int stuff(const char *path, unsigned port, uint64_t max)
{
    int fd = uconnect(path, port);
    if (fd < 0)
        return 1;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static uint8_t b[65536];
    memset(b, 0x5a, sizeof(b));
    uint64_t n = 0;
    while (n < max) {
        struct pollfd p = { .fd = fd, .events = POLLOUT };
        if (poll(&p, 1, 2000) <= 0)
            break;
        ssize_t w = write(fd, b, max - n < sizeof(b) ? (size_t)(max - n) : sizeof(b));
        if (w < 0 && errno != EAGAIN)
            break;
        if (w > 0)
            n += (uint64_t)w;
    }
    printf("vsockio stuffed %llu\n", (unsigned long long)n);
    fflush(stdout);
    char c;
    while (read(0, &c, 1) > 0)
        ;
    close(fd);
    return 0;
}

/* uline: a raw first line; what comes back before the stream closes. */
static int line(const char *path, const char *text)
{
    struct sockaddr_un a;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || uaddr(&a, path) < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0)
        return 1;
    char buf[512];
    size_t n = 0;
    for (const char *p = text; *p && n < sizeof(buf); p++) {
        if (p[0] == '\\' && p[1] == 'n') {
            buf[n++] = '\n';
            p++;
        } else {
            buf[n++] = *p;
        }
    }
    if (write(fd, buf, n) != (ssize_t)n)
        return 1;
    size_t got = 0;
    bool closed = false;
    for (;;) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, 5000) <= 0)
            break;
        ssize_t r = read(fd, buf, sizeof(buf));
        if (r <= 0) {
            closed = true;
            break;
        }
        got += (size_t)r;
    }
    printf("vsockio line %s read %zu\n", closed ? "closed" : "open", got);
    close(fd);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2)
        goto usage;
    const char *m = argv[1];
    if ((!strcmp(m, "listen") || !strcmp(m, "sink")) && argc == 3)
        serve(vlisten((unsigned)atoi(argv[2])), m[0] == 's');
    if ((!strcmp(m, "ulisten") || !strcmp(m, "usink")) && argc == 3)
        serve(ulisten(argv[2]), m[1] == 's');
    if (!strcmp(m, "idle") && argc == 3) {
        int l = vlisten((unsigned)atoi(argv[2]));
        for (;;) {
            int c = accept(l, NULL, NULL);
            if (c >= 0)
                printf("vsockio idle accepted\n");
        }
    }
    if (!strcmp(m, "wait") && argc == 3) {
        int l = vlisten((unsigned)atoi(argv[2]));
        int c = accept(l, NULL, NULL);
        return c < 0;
    }
    if (!strcmp(m, "send") || !strcmp(m, "usend"))
        return sender(m[0] == 'u', argc - 1, argv + 1);
    if (!strcmp(m, "ustuff") && argc == 5)
        return stuff(argv[2], (unsigned)atoi(argv[3]), bytes(argv[4]));
    if (!strcmp(m, "uline") && argc == 4)
        return line(argv[2], argv[3]);
usage:
    fprintf(stderr, "usage: see tests/guest/vsockio.c\n");
    return 2;
}
