/*
 * netload: the project's small TCP load generator (bench/net.sh,
 * tests/e2e/net-features-l1.sh).
 *
 * Built statically by scripts/guest.sh (x86_64, and cross-built for arm64)
 * and put into the guest initramfs as /bin/netload; the same binary runs in
 * the rig's L1 as the other end.  Each mode prints one line starting with
 * "netload " and exits 0 on success, 1 on a failure, 2 on bad usage.
 *
 *   netload send [-w WAIT] HOST PORT SECS [STREAMS]
 *       STREAMS (default 1, at most 64) TCP connections to HOST:PORT, all
 *       opened first, then each sends 128 KiB writes for SECS seconds; then
 *       each shuts its sending side and waits for the receiver to close.
 *       -w WAIT: a refused or unreachable connect is tried again every
 *       50 ms for up to WAIT seconds (default 0: fail at once), so the
 *       sender may start before the receiver listens.  Prints
 *         netload send host=H port=P streams=N secs=S bytes=B mbps=X
 *   netload recv [-t TIMEOUT] PORT
 *       Accepts one session (the connections of one `send`; each opens with
 *       an 8-byte hello "NLD1" + the stream count, big-endian), reads
 *       everything, and prints, with secs from the first data byte to the
 *       last stream's end:
 *         netload recv port=P streams=N secs=S bytes=B mbps=X
 *       TIMEOUT (default 120): the longest wait for the first connection
 *       and the longest silence after it.
 *   netload rr [-w WAIT] HOST PORT COUNT
 *       One TCP connection (TCP_NODELAY): COUNT/10 unrecorded round trips,
 *       then COUNT (at most 1000000) recorded ones, each writing 1 byte and
 *       reading it back.  Prints (microseconds; p99 by nearest rank)
 *         netload rr host=H port=P count=N median_us=X p99_us=Y mean_us=Z min_us=A max_us=B
 *   netload rrserve [-t TIMEOUT] PORT
 *       Accepts one connection and sends every byte back until it ends:
 *         netload rrserve port=P count=N
 *   netload mktap NAME [multi]    makes a persistent tap (multi: multi-queue),
 *   netload rmtap NAME            removes it (for L1s without iproute2's
 *                                 `ip tuntap`; prints "netload mktap|rmtap NAME")
 *
 * MB/s are 10^6 bytes per second of TCP payload.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NL_MAX_STREAMS 64
#define NL_MAX_COUNT 1000000ul
#define NL_BUF (128u << 10)
#define NL_HELLO_LEN 8

enum nl_mode { NL_SEND, NL_RECV, NL_RR, NL_RRSERVE, NL_MKTAP, NL_RMTAP };

struct nl_opts {
    enum nl_mode mode;
    const char *host;      /* send, rr */
    const char *name;      /* mktap, rmtap */
    int port;
    double secs;           /* send */
    unsigned streams;      /* send */
    unsigned long count;   /* rr */
    double wait;           /* send, rr: -w */
    double timeout;        /* recv, rrserve: -t */
    int multi;             /* mktap */
};

struct nl_result {
    unsigned streams;
    uint64_t bytes;
    double secs;
    unsigned long count;
    double median_us, p99_us, mean_us, min_us, max_us;
};

static double nl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A number in [lo, hi] (decimals allowed when frac), or -1 on error. */
static int nl_num(const char *s, double lo, double hi, int frac, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !(v >= lo && v <= hi) || (!frac && v != (double)(long long)v))
        return -1;
    *out = v;
    return 0;
}

/* Parses argv (argv[0] is the program); a message in err on failure. */
static int nl_parse(int argc, char **argv, struct nl_opts *o, char *err, size_t errlen)
{
    static const struct { const char *name; enum nl_mode mode; int min, max; char opt; } modes[] = {
        { "send", NL_SEND, 3, 4, 'w' },   { "recv", NL_RECV, 1, 1, 't' },
        { "rr", NL_RR, 3, 3, 'w' },       { "rrserve", NL_RRSERVE, 1, 1, 't' },
        { "mktap", NL_MKTAP, 1, 2, 0 },   { "rmtap", NL_RMTAP, 1, 1, 0 },
    };
    memset(o, 0, sizeof(*o));
    o->streams = 1;
    o->timeout = 120;
    if (argc < 2) {
        snprintf(err, errlen, "a mode is needed (send, recv, rr, rrserve, mktap, rmtap)");
        return -1;
    }
    unsigned m = 0;
    while (m < sizeof(modes) / sizeof(modes[0]) && strcmp(argv[1], modes[m].name))
        m++;
    if (m == sizeof(modes) / sizeof(modes[0])) {
        snprintf(err, errlen, "unknown mode '%s'", argv[1]);
        return -1;
    }
    o->mode = modes[m].mode;
    int i = 2;
    double v;
    if (modes[m].opt && i < argc && argv[i][0] == '-' && argv[i][1] == modes[m].opt && !argv[i][2]) {
        if (i + 1 >= argc || nl_num(argv[i + 1], 0, 86400, 1, &v) < 0) {
            snprintf(err, errlen, "%s: -%c needs seconds (0 to 86400)", modes[m].name, modes[m].opt);
            return -1;
        }
        if (modes[m].opt == 'w')
            o->wait = v;
        else
            o->timeout = v;
        i += 2;
    }
    int n = argc - i;
    char **a = argv + i;
    if (n < modes[m].min || n > modes[m].max) {
        snprintf(err, errlen, "%s: wrong number of arguments", modes[m].name);
        return -1;
    }
    switch (o->mode) {
    case NL_MKTAP:
    case NL_RMTAP:
        if (strlen(a[0]) == 0 || strlen(a[0]) >= IFNAMSIZ) {
            snprintf(err, errlen, "%s: bad interface name '%s'", modes[m].name, a[0]);
            return -1;
        }
        o->name = a[0];
        if (n == 2 && strcmp(a[1], "multi")) {
            snprintf(err, errlen, "mktap: '%s' is not 'multi'", a[1]);
            return -1;
        }
        o->multi = n == 2;
        return 0;
    case NL_SEND:
    case NL_RR:
        o->host = a[0];
        a++;
        break;
    default:
        break;
    }
    if (nl_num(a[0], o->mode == NL_SEND || o->mode == NL_RR ? 1 : 0, 65535, 0, &v) < 0) {
        snprintf(err, errlen, "%s: bad port '%s'", modes[m].name, a[0]);
        return -1;
    }
    o->port = (int)v;
    if (o->mode == NL_SEND) {
        if (nl_num(a[1], 0.001, 86400, 1, &o->secs) < 0) {
            snprintf(err, errlen, "send: bad seconds '%s'", a[1]);
            return -1;
        }
        if (n == 4) {
            if (nl_num(a[2], 1, NL_MAX_STREAMS, 0, &v) < 0) {
                snprintf(err, errlen, "send: streams '%s' is not 1 to %d", a[2], NL_MAX_STREAMS);
                return -1;
            }
            o->streams = (unsigned)v;
        }
    } else if (o->mode == NL_RR) {
        if (nl_num(a[1], 1, (double)NL_MAX_COUNT, 0, &v) < 0) {
            snprintf(err, errlen, "rr: count '%s' is not 1 to %lu", a[1], NL_MAX_COUNT);
            return -1;
        }
        o->count = (unsigned long)v;
    }
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) (n > 0) and fills the latency fields of r. */
static void nl_stats(double *v, size_t n, struct nl_result *r)
{
    qsort(v, n, sizeof(*v), cmp_double);
    r->median_us = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    size_t rank = (99 * n + 99) / 100; /* nearest rank: ceil(0.99 n), 1-based */
    r->p99_us = v[rank - 1];
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    r->mean_us = sum / (double)n;
    r->min_us = v[0];
    r->max_us = v[n - 1];
}

static double nl_mbps(const struct nl_result *r)
{
    return r->secs > 0 ? (double)r->bytes / 1e6 / r->secs : 0;
}

static void nl_print(FILE *f, const struct nl_opts *o, const struct nl_result *r)
{
    switch (o->mode) {
    case NL_SEND:
        fprintf(f, "netload send host=%s port=%d streams=%u secs=%.3f bytes=%llu mbps=%.1f\n", o->host,
                o->port, r->streams, r->secs, (unsigned long long)r->bytes, nl_mbps(r));
        break;
    case NL_RECV:
        fprintf(f, "netload recv port=%d streams=%u secs=%.3f bytes=%llu mbps=%.1f\n", o->port,
                r->streams, r->secs, (unsigned long long)r->bytes, nl_mbps(r));
        break;
    case NL_RR:
        fprintf(f, "netload rr host=%s port=%d count=%lu median_us=%.1f p99_us=%.1f mean_us=%.1f "
                "min_us=%.1f max_us=%.1f\n", o->host, o->port, r->count, r->median_us, r->p99_us,
                r->mean_us, r->min_us, r->max_us);
        break;
    case NL_RRSERVE:
        fprintf(f, "netload rrserve port=%d count=%lu\n", o->port, r->count);
        break;
    case NL_MKTAP:
    case NL_RMTAP:
        fprintf(f, "netload %s %s\n", o->mode == NL_MKTAP ? "mktap" : "rmtap", o->name);
        break;
    }
    fflush(f);
}

static void nl_err(const char *what)
{
    fprintf(stderr, "netload: %s: %s\n", what, strerror(errno));
}

/* A listening TCP socket on PORT (0: the kernel picks one), or -1. */
static int nl_listen(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0) {
        nl_err("socket");
        return -1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_ANY) };
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, NL_MAX_STREAMS) < 0) {
        nl_err("listen");
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits up to secs for fd to be readable: 1 ready, 0 timeout, -1 error. */
static int nl_wait_in(int fd, double secs)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    int r;
    do
        r = poll(&p, 1, (int)(secs * 1000));
    while (r < 0 && errno == EINTR);
    return r;
}

/* Connects to host:port (an IPv4 address), retrying refusals for up to
 * wait seconds. */
static int nl_connect(const char *host, int port, double wait)
{
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        fprintf(stderr, "netload: '%s' is not an IPv4 address\n", host);
        return -1;
    }
    double until = nl_now() + wait;
    int fd;
    for (;;) {
        fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
            break;
        int e = errno;
        close(fd);
        fd = -1;
        errno = e;
        if ((e != ECONNREFUSED && e != ENETUNREACH && e != EHOSTUNREACH) || nl_now() >= until)
            break;
        struct timespec ts = { 0, 50 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    if (fd < 0)
        fprintf(stderr, "netload: connect %s:%d: %s\n", host, port, strerror(errno));
    return fd;
}

static int nl_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---- send ---- */

struct nl_stream {
    int fd;
    double until;
    uint64_t bytes;
    int failed;
    pthread_t th;
};

static char nl_txbuf[NL_BUF];

static void *nl_stream_run(void *arg)
{
    struct nl_stream *s = arg;
    while (nl_now() < s->until) {
        ssize_t n = send(s->fd, nl_txbuf, sizeof(nl_txbuf), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            s->failed = 1;
            return NULL;
        }
        s->bytes += (uint64_t)n;
    }
    /* the receiver has everything once it closes its end */
    char c;
    if (shutdown(s->fd, SHUT_WR) < 0 || read(s->fd, &c, 1) != 0)
        s->failed = 1;
    return NULL;
}

static int nl_send(const struct nl_opts *o, struct nl_result *r)
{
    struct nl_stream s[NL_MAX_STREAMS];
    unsigned n = 0;
    int rc = 0;
    for (size_t i = 0; i < sizeof(nl_txbuf); i++)
        nl_txbuf[i] = (char)(i * 2654435761u >> 13);
    unsigned char hello[NL_HELLO_LEN] = { 'N', 'L', 'D', '1', 0, 0, 0, (unsigned char)o->streams };
    for (; n < o->streams; n++) {
        s[n].fd = nl_connect(o->host, o->port, o->wait);
        if (s[n].fd < 0 || nl_write_all(s[n].fd, hello, sizeof(hello)) < 0) {
            if (s[n].fd >= 0) {
                nl_err("send hello");
                close(s[n].fd);
            }
            rc = -1;
            break;
        }
    }
    double t0 = nl_now();
    unsigned started = 0;
    for (unsigned i = 0; i < n && !rc; i++) {
        s[i].until = t0 + o->secs;
        s[i].bytes = 0;
        s[i].failed = 0;
        if (pthread_create(&s[i].th, NULL, nl_stream_run, &s[i])) {
            fprintf(stderr, "netload: cannot start a sending thread\n");
            rc = -1;
        } else {
            started++;
        }
    }
    memset(r, 0, sizeof(*r));
    r->streams = o->streams;
    for (unsigned i = 0; i < started; i++) {
        pthread_join(s[i].th, NULL);
        r->bytes += s[i].bytes;
        if (s[i].failed) {
            fprintf(stderr, "netload: stream %u to %s:%d failed\n", i, o->host, o->port);
            rc = -1;
        }
    }
    r->secs = o->secs;
    for (unsigned i = 0; i < n; i++)
        close(s[i].fd);
    return rc;
}

/* ---- recv ---- */

struct nl_conn {
    int fd;
    unsigned hello_got;
    unsigned char hello[NL_HELLO_LEN];
};

static char nl_rxbuf[NL_BUF];

/* One read on c: 1 more to come, 0 ended, -1 error (message printed).
 * *want is set from a completed hello; bytes counts payload. */
static int nl_conn_read(struct nl_conn *c, unsigned *want, uint64_t *bytes)
{
    if (c->hello_got < NL_HELLO_LEN) {
        ssize_t n = read(c->fd, c->hello + c->hello_got, NL_HELLO_LEN - c->hello_got);
        if (n <= 0) {
            fprintf(stderr, "netload: recv: a connection ended before its hello\n");
            return -1;
        }
        c->hello_got += (unsigned)n;
        if (c->hello_got < NL_HELLO_LEN)
            return 1;
        uint32_t k = (uint32_t)c->hello[4] << 24 | (uint32_t)c->hello[5] << 16 |
                     (uint32_t)c->hello[6] << 8 | c->hello[7];
        if (memcmp(c->hello, "NLD1", 4) || k < 1 || k > NL_MAX_STREAMS || (*want && *want != k)) {
            fprintf(stderr, "netload: recv: a bad hello (not netload send, or mixed sessions)\n");
            return -1;
        }
        *want = k;
        return 1;
    }
    ssize_t n = read(c->fd, nl_rxbuf, sizeof(nl_rxbuf));
    if (n < 0 && errno == EINTR)
        return 1;
    if (n < 0) {
        nl_err("recv: read");
        return -1;
    }
    *bytes += (uint64_t)n;
    return n > 0;
}

/* Serves one session on listening socket lfd. */
static int nl_recv(int lfd, const struct nl_opts *o, struct nl_result *r)
{
    struct nl_conn c[NL_MAX_STREAMS];
    struct pollfd p[NL_MAX_STREAMS + 1];
    unsigned nc = 0, open = 0, want = 0;
    double t0 = 0, t1 = 0;
    int rc = 0;
    memset(r, 0, sizeof(*r));
    while (!want || nc < want || open) {
        unsigned np = 0;
        if (!want || nc < want)
            p[np++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
        unsigned first = np;
        for (unsigned i = 0; i < nc; i++)
            if (c[i].fd >= 0)
                p[np++] = (struct pollfd){ .fd = c[i].fd, .events = POLLIN };
        int k = poll(p, np, (int)(o->timeout * 1000));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            fprintf(stderr, "netload: recv: %s\n", k ? strerror(errno) : "timed out");
            rc = -1;
            break;
        }
        if (first && (p[0].revents & POLLIN)) {
            if (nc == NL_MAX_STREAMS) {
                fprintf(stderr, "netload: recv: more than %d connections\n", NL_MAX_STREAMS);
                rc = -1;
                break;
            }
            int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) {
                nl_err("recv: accept");
                rc = -1;
                break;
            }
            c[nc++] = (struct nl_conn){ .fd = fd };
            open++;
        }
        unsigned j = first;
        for (unsigned i = 0; i < nc; i++) {
            if (c[i].fd < 0 || j >= np || p[j].fd != c[i].fd)
                continue;   /* closed, or accepted in this round */
            short ev = p[j++].revents;
            if (!(ev & (POLLIN | POLLHUP | POLLERR)))
                continue;
            uint64_t before = r->bytes;
            int m = nl_conn_read(&c[i], &want, &r->bytes);
            if (r->bytes > before && t0 == 0)
                t0 = nl_now();
            if (m <= 0) {
                close(c[i].fd);
                c[i].fd = -1;
                open--;
                t1 = nl_now();
                if (m < 0)
                    rc = -1;
            }
        }
        if (rc)
            break;
    }
    for (unsigned i = 0; i < nc; i++)
        if (c[i].fd >= 0)
            close(c[i].fd);
    r->streams = want;
    r->secs = t0 > 0 && t1 > t0 ? t1 - t0 : 0;
    return rc;
}

/* ---- request/response ---- */

static void nl_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static int nl_rr(const struct nl_opts *o, struct nl_result *r)
{
    unsigned long warm = o->count / 10, total = warm + o->count;
    double *lat = malloc(o->count * sizeof(*lat));
    int fd = lat ? nl_connect(o->host, o->port, o->wait) : -1;
    int rc = -1;
    memset(r, 0, sizeof(*r));
    if (!lat)
        fprintf(stderr, "netload: rr: out of memory\n");
    if (fd < 0)
        goto out;
    nl_nodelay(fd);
    for (unsigned long i = 0; i < total; i++) {
        char b = (char)i;
        double t = nl_now();
        if (nl_write_all(fd, &b, 1) < 0 || read(fd, &b, 1) != 1) {
            fprintf(stderr, "netload: rr: round trip %lu failed\n", i);
            goto out;
        }
        if (i >= warm)
            lat[i - warm] = (nl_now() - t) * 1e6;
    }
    r->count = o->count;
    nl_stats(lat, o->count, r);
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(lat);
    return rc;
}

static int nl_rrserve(int lfd, const struct nl_opts *o, struct nl_result *r)
{
    memset(r, 0, sizeof(*r));
    int w = nl_wait_in(lfd, o->timeout);
    if (w <= 0) {
        fprintf(stderr, "netload: rrserve: %s\n", w ? strerror(errno) : "timed out");
        return -1;
    }
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
        nl_err("rrserve: accept");
        return -1;
    }
    nl_nodelay(fd);
    int rc = 0;
    for (;;) {
        char b[64];
        if (nl_wait_in(fd, o->timeout) <= 0) {
            fprintf(stderr, "netload: rrserve: the client went silent\n");
            rc = -1;
            break;
        }
        ssize_t n = read(fd, b, sizeof(b));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -1 : 0;
            break;
        }
        if (nl_write_all(fd, b, (size_t)n) < 0) {
            rc = -1;
            break;
        }
        r->count += (unsigned long)n;
    }
    close(fd);
    return rc;
}

/* ---- taps ---- */

static int nl_tap(const struct nl_opts *o)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        nl_err("/dev/net/tun");
        return -1;
    }
    struct ifreq ifr;
    int r = -1;
    /* a multi-queue tap is attached to with IFF_MULTI_QUEUE only */
    for (int multi = o->mode == NL_MKTAP ? o->multi : 0; multi < 2 && r < 0; multi++) {
        memset(&ifr, 0, sizeof(ifr));
        snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", o->name);
        ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0);
        r = ioctl(fd, TUNSETIFF, &ifr);
        if (o->mode == NL_MKTAP)
            break;
    }
    if (r < 0 || ioctl(fd, TUNSETPERSIST, o->mode == NL_MKTAP ? 1 : 0) < 0) {
        fprintf(stderr, "netload: tap %s: %s\n", o->name, strerror(errno));
        r = -1;
    }
    close(fd);
    return r;
}

static int nl_main(int argc, char **argv)
{
    struct nl_opts o;
    struct nl_result r;
    char err[160];
    if (nl_parse(argc, argv, &o, err, sizeof(err)) < 0) {
        fprintf(stderr, "netload: %s\n"
                "usage: netload send [-w WAIT] HOST PORT SECS [STREAMS]\n"
                "       netload recv [-t TIMEOUT] PORT\n"
                "       netload rr [-w WAIT] HOST PORT COUNT\n"
                "       netload rrserve [-t TIMEOUT] PORT\n"
                "       netload mktap NAME [multi] | rmtap NAME\n", err);
        return 2;
    }
    int rc, lfd = -1;
    switch (o.mode) {
    case NL_SEND:
        rc = nl_send(&o, &r);
        break;
    case NL_RR:
        rc = nl_rr(&o, &r);
        break;
    case NL_RECV:
    case NL_RRSERVE:
        lfd = nl_listen(o.port);
        if (lfd < 0)
            return 1;
        rc = o.mode == NL_RECV ? nl_recv(lfd, &o, &r) : nl_rrserve(lfd, &o, &r);
        close(lfd);
        break;
    default:
        rc = nl_tap(&o);
        break;
    }
    if (rc < 0)
        return 1;
    nl_print(stdout, &o, &r);
    return 0;
}

#ifndef NETLOAD_NO_MAIN
int main(int argc, char **argv)
{
    return nl_main(argc, argv);
}
#endif
