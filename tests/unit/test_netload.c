/* tests/guest/netload.c, the benchmarks' TCP load generator: its argument
 * parsing and latency statistics, and each mode against its peer over
 * 127.0.0.1 (threads in this process; ports picked by the kernel). */
#define NETLOAD_NO_MAIN
#include "guest/netload.c"

#include "harness.h"

static int parse(struct nl_opts *o, const char *line)
{
    char buf[256], *argv[16];
    int argc = 0;
    char err[160];
    snprintf(buf, sizeof(buf), "netload %s", line);
    for (char *t = strtok(buf, " "); t && argc < 15; t = strtok(NULL, " "))
        argv[argc++] = t;
    argv[argc] = NULL;
    return nl_parse(argc, argv, o, err, sizeof(err));
}

static void t_parse_good(void)
{
    struct nl_opts o;
    CHECK(parse(&o, "send 10.0.0.1 5201 10") == 0);
    CHECK_EQ(o.mode, NL_SEND);
    CHECK(!strcmp(o.host, "10.0.0.1"));
    CHECK_EQ(o.port, 5201);
    CHECK(o.secs == 10);
    CHECK_EQ(o.streams, 1);
    CHECK(o.wait == 0);
    CHECK(parse(&o, "send -w 60 10.0.0.2 5203 0.5 2") == 0);
    CHECK(o.wait == 60 && o.secs == 0.5);
    CHECK_EQ(o.streams, 2);
    CHECK(parse(&o, "recv 5201") == 0);
    CHECK_EQ(o.mode, NL_RECV);
    CHECK(o.timeout == 120);
    CHECK(parse(&o, "recv -t 30 0") == 0);
    CHECK(o.timeout == 30 && o.port == 0);
    CHECK(parse(&o, "rr -w 1 10.0.0.1 5205 1000") == 0);
    CHECK_EQ(o.mode, NL_RR);
    CHECK_EQ(o.count, 1000);
    CHECK(parse(&o, "rrserve 5205") == 0);
    CHECK_EQ(o.mode, NL_RRSERVE);
    CHECK(parse(&o, "mktap tap0 multi") == 0);
    CHECK(o.mode == NL_MKTAP && o.multi == 1 && !strcmp(o.name, "tap0"));
    CHECK(parse(&o, "rmtap tap0") == 0);
    CHECK(o.mode == NL_RMTAP && o.multi == 0);
}

static void t_parse_bad(void)
{
    static const char *bad[] = {
        "", "bogus", "send 10.0.0.1 5201", "send 10.0.0.1 5201 10 2 3", "send 10.0.0.1 0 10",
        "send 10.0.0.1 65536 10", "send 10.0.0.1 x 10", "send 10.0.0.1 5201 0",
        "send 10.0.0.1 5201 -1", "send 10.0.0.1 5201 10 0", "send 10.0.0.1 5201 10 65",
        "send 10.0.0.1 5201 10 1.5", "send -w 10.0.0.1 5201 10", "send -t 5 10.0.0.1 5201 10",
        "recv", "recv 5201 5202", "recv -t 5", "recv -t -1 5201", "rr 10.0.0.1 5205 0",
        "rr 10.0.0.1 5205 1000001", "rrserve", "mktap", "mktap tap0 single",
        "mktap abcdefghijklmnopq", "rmtap tap0 multi",
    };
    struct nl_opts o;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(&o, bad[i]) == 0) {
            fprintf(stderr, "  accepted: '%s'\n", bad[i]);
            CHECK(0);
        }
    }
    /* bad usage is exit status 2 */
    char a0[] = "netload", a1[] = "send", *argv[] = { a0, a1, NULL };
    CHECK_EQ(nl_main(2, argv), 2);
}

static void t_stats(void)
{
    struct nl_result r;
    double one[] = { 7 };
    nl_stats(one, 1, &r);
    CHECK(r.median_us == 7 && r.p99_us == 7 && r.min_us == 7 && r.max_us == 7 && r.mean_us == 7);
    double two[] = { 9, 3 };
    nl_stats(two, 2, &r);
    CHECK(r.median_us == 6 && r.p99_us == 9 && r.min_us == 3 && r.mean_us == 6);
    /* 1..200 shuffled: median 100.5, p99 by nearest rank = the 198th */
    double v[200];
    for (int i = 0; i < 200; i++)
        v[i] = (double)((i * 77) % 200 + 1);
    nl_stats(v, 200, &r);
    CHECK(r.median_us == 100.5);
    CHECK(r.p99_us == 198);
    CHECK(r.min_us == 1 && r.max_us == 200);
    /* 100 values: p99 is the 99th */
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i;
    nl_stats(v, 100, &r);
    CHECK(r.p99_us == 99);
}

/* A server mode (recv or rrserve) on a listening socket, in a thread. */
struct server {
    int lfd, port, rc;
    struct nl_opts o;
    struct nl_result r;
    pthread_t th;
};

static void *server_run(void *arg)
{
    struct server *s = arg;
    s->rc = s->o.mode == NL_RECV ? nl_recv(s->lfd, &s->o, &s->r) : nl_rrserve(s->lfd, &s->o, &s->r);
    return NULL;
}

static int server_start(struct server *s, enum nl_mode mode, double timeout)
{
    memset(s, 0, sizeof(*s));
    s->o.mode = mode;
    s->o.timeout = timeout;
    s->lfd = nl_listen(0);
    if (s->lfd < 0)
        return -1;
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    if (getsockname(s->lfd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    s->port = s->o.port = ntohs(sa.sin_port);
    return pthread_create(&s->th, NULL, server_run, s) ? -1 : 0;
}

static void server_join(struct server *s)
{
    pthread_join(s->th, NULL);
    close(s->lfd);
}

static void send_recv(unsigned streams)
{
    struct server s;
    CHECK(server_start(&s, NL_RECV, 20) == 0);
    struct nl_opts o = { .mode = NL_SEND, .host = "127.0.0.1", .port = s.port, .secs = 0.3,
                         .streams = streams };
    struct nl_result r;
    int rc = nl_send(&o, &r);
    server_join(&s);
    CHECK_EQ(rc, 0);
    CHECK_EQ(s.rc, 0);
    CHECK(r.bytes > NL_BUF);
    /* the sender waits for the receiver's close: both counted the same */
    CHECK_EQ(s.r.bytes, r.bytes);
    CHECK_EQ(s.r.streams, streams);
    CHECK(s.r.secs > 0.1 && s.r.secs < 10);
    char line[256];
    FILE *f = fmemopen(line, sizeof(line), "w");
    CHECK(f);
    nl_print(f, &s.o, &s.r);
    fclose(f);
    char want[64];
    snprintf(want, sizeof(want), "netload recv port=%d streams=%u secs=", s.port, streams);
    CHECK(!strncmp(line, want, strlen(want)));
    CHECK(strstr(line, " mbps="));
}

static void t_send_recv_one(void) { send_recv(1); }
static void t_send_recv_four(void) { send_recv(4); }

static void t_rr(void)
{
    struct server s;
    CHECK(server_start(&s, NL_RRSERVE, 20) == 0);
    struct nl_opts o = { .mode = NL_RR, .host = "127.0.0.1", .port = s.port, .count = 500 };
    struct nl_result r;
    int rc = nl_rr(&o, &r);
    server_join(&s);
    CHECK_EQ(rc, 0);
    CHECK_EQ(s.rc, 0);
    CHECK_EQ(s.r.count, 550);   /* 50 warm-up round trips, then 500 */
    CHECK_EQ(r.count, 500);
    CHECK(r.min_us > 0 && r.min_us <= r.median_us && r.median_us <= r.p99_us && r.p99_us <= r.max_us);
    CHECK(r.mean_us >= r.min_us && r.mean_us <= r.max_us);
}

/* Nothing listens: without -w the connect fails at once; a recv that
 * nobody reaches times out. */
static void t_refused_and_timeout(void)
{
    struct server s;
    CHECK(server_start(&s, NL_RECV, 0.2) == 0);
    server_join(&s);
    CHECK_EQ(s.rc, -1);
    int lfd = nl_listen(0);
    CHECK(lfd >= 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    CHECK(getsockname(lfd, (struct sockaddr *)&sa, &len) == 0);
    close(lfd);                  /* the port is free: connects are refused */
    double t = nl_now();
    CHECK_EQ(nl_connect("127.0.0.1", ntohs(sa.sin_port), 0), -1);
    CHECK_EQ(nl_connect("127.0.0.1", ntohs(sa.sin_port), 0.3), -1);
    CHECK(nl_now() - t >= 0.3);  /* it retried for the whole wait */
    CHECK_EQ(nl_connect("not-an-address", 1, 0), -1);
}

/* recv refuses a connection that does not open with netload's hello, and
 * one that ends inside it. */
static void bad_hello(const void *bytes, size_t len)
{
    struct server s;
    CHECK(server_start(&s, NL_RECV, 5) == 0);
    int fd = nl_connect("127.0.0.1", s.port, 0);
    CHECK(fd >= 0);
    CHECK(nl_write_all(fd, bytes, len) == 0);
    shutdown(fd, SHUT_WR);
    server_join(&s);
    close(fd);
    CHECK_EQ(s.rc, -1);
    CHECK_EQ(s.r.bytes, 0);
}

static void t_bad_hello(void)
{
    bad_hello("GET / HTTP/1.0\r\n\r\n", 18);
    bad_hello("NLD1\0\0\0\0", 8);            /* 0 streams */
    bad_hello("NLD1\0\0\0\x41", 8);          /* 65 streams */
    bad_hello("NLD", 3);                        /* ends inside the hello */
}

/* mktap leaves a persistent tap (multi-queue when asked, as tun_flags
 * shows), rmtap removes it; both fail on a name the kernel refuses. Needs
 * /dev/net/tun and CAP_NET_ADMIN (else skipped, not counted). */
static int tap_exists(const char *name)
{
    char path[64];
    snprintf(path, sizeof(path), "/sys/class/net/%s", name);
    return access(path, F_OK) == 0;
}

static unsigned tap_flags(const char *name)
{
    char path[80];
    unsigned v = 0;
    snprintf(path, sizeof(path), "/sys/class/net/%s/tun_flags", name);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%x", &v) != 1)
            v = 0;
        fclose(f);
    }
    return v;
}

static void t_mktap(void)
{
    char name[IFNAMSIZ];
    snprintf(name, sizeof(name), "nlt%d", (int)(getpid() % 100000));
    for (int multi = 0; multi < 2; multi++) {
        struct nl_opts o = { .mode = NL_MKTAP, .name = name, .multi = multi };
        CHECK(!tap_exists(name));
        CHECK_EQ(nl_tap(&o), 0);
        CHECK(tap_exists(name));
        CHECK_EQ(!!(tap_flags(name) & IFF_MULTI_QUEUE), multi);
        o.mode = NL_RMTAP;
        CHECK_EQ(nl_tap(&o), 0);
        CHECK(!tap_exists(name));
    }
    struct nl_opts bad = { .mode = NL_MKTAP, .name = "bad name/x" };
    CHECK_EQ(nl_tap(&bad), -1);
}

static int tap_usable(void)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "nlprobe%d", (int)(getpid() % 10000));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    int ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
    close(fd);
    return ok;
}

int main(void)
{
    RUN(t_parse_good);
    RUN(t_parse_bad);
    RUN(t_stats);
    RUN(t_send_recv_one);
    RUN(t_send_recv_four);
    RUN(t_rr);
    RUN(t_refused_and_timeout);
    RUN(t_bad_hello);
    if (tap_usable())
        RUN(t_mktap);
    else
        printf("skip t_mktap: no usable /dev/net/tun (not run, not counted)\n");
    return harness_done();
}
