/* The user-mode network backend (backend/slirp.c): the option parser, and
 * a real libslirp stack on a real event loop with the test standing in
 * for the virtio-net device on the backend's channel (header first, as the
 * device reads and writes it): a fake guest's DHCP DISCOVER gets an OFFER
 * for 10.0.2.15, and a connection to a forwarded host port shows up as a
 * TCP SYN towards the guest's port. Without libslirp in the build the
 * stack tests say so and are not run (not counted). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "backend/slirp.h"
#include "base/evloop.h"
#include "harness.h"
#include "netframes.h"
#include "virtio/net.h"
#include "virtio/net_hdr.h"
#include "vm/devices.h"

/* ---- the option parser ---- */

static void t_parse_defaults(void)
{
    struct net_slirp_cfg c;
    char err[256];
    net_slirp_cfg_init(&c);
    CHECK_EQ(net_slirp_parse("", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.net.s_addr, ip4("10.0.2.0"));
    CHECK_EQ(c.prefix, 24);
    CHECK_EQ(c.nfwds, 0);
    CHECK_EQ(net_slirp_host_addr(&c).s_addr, ip4("10.0.2.2"));
    CHECK_EQ(net_slirp_dns_addr(&c).s_addr, ip4("10.0.2.3"));
    CHECK_EQ(net_slirp_guest_addr(&c).s_addr, ip4("10.0.2.15"));
}

static void t_parse_options(void)
{
    struct net_slirp_cfg c;
    char err[256];
    net_slirp_cfg_init(&c);
    CHECK_EQ(net_slirp_parse("hostfwd=tcp::8022-:22,net=10.9.0.0/16,"
                             "hostfwd=udp:127.0.0.1:5353-10.9.0.20:53,hostfwd=::8080-:80,"
                             "hostfwd=udp::8022-:22", &c, err, sizeof(err)), 0);
    CHECK_EQ(c.net.s_addr, ip4("10.9.0.0"));
    CHECK_EQ(c.prefix, 16);
    CHECK_EQ(net_slirp_host_addr(&c).s_addr, ip4("10.9.0.2"));
    CHECK_EQ(net_slirp_dns_addr(&c).s_addr, ip4("10.9.0.3"));
    CHECK_EQ(net_slirp_guest_addr(&c).s_addr, ip4("10.9.0.15"));
    CHECK_EQ(c.nfwds, 4);
    const struct net_slirp_fwd *f = c.fwd;
    CHECK(!f[0].udp && f[0].host_addr.s_addr == INADDR_ANY && f[0].host_port == 8022 &&
          f[0].guest_addr.s_addr == INADDR_ANY && f[0].guest_port == 22);
    CHECK(f[1].udp && f[1].host_addr.s_addr == ip4("127.0.0.1") && f[1].host_port == 5353 &&
          f[1].guest_addr.s_addr == ip4("10.9.0.20") && f[1].guest_port == 53);
    CHECK(!f[2].udp && f[2].host_port == 8080 && f[2].guest_port == 80);   /* no proto: tcp */
    CHECK(f[3].udp && f[3].host_port == 8022);          /* same port, other protocol */
    /* the most forwards, and one more */
    net_slirp_cfg_init(&c);
    char opts[NET_SLIRP_MAX_OPTS];
    size_t n = 0;
    for (int i = 0; i < NET_SLIRP_MAX_FWDS; i++)
        n += (size_t)snprintf(opts + n, sizeof(opts) - n, "%shostfwd=tcp::%d-:22", i ? "," : "",
                              9000 + i);
    CHECK_EQ(net_slirp_parse(opts, &c, err, sizeof(err)), 0);
    CHECK_EQ(c.nfwds, NET_SLIRP_MAX_FWDS);
    snprintf(opts + n, sizeof(opts) - n, ",hostfwd=tcp::9999-:22");
    net_slirp_cfg_init(&c);
    CHECK_EQ(net_slirp_parse(opts, &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "at most 16 forwards") != NULL);
    CHECK_EQ(c.nfwds, NET_SLIRP_MAX_FWDS);
}

static void t_parse_errors(void)
{
    static const struct { const char *opts, *want; } bad[] = {
        { "hostfwd=tcp::0-:22", "host port '0' is not 1..65535" },
        { "hostfwd=tcp::65536-:22", "host port '65536' is not" },
        { "hostfwd=tcp::-1-:22", "host port '' is not" },
        { "hostfwd=tcp::+80-:22", "host port '+80' is not" },
        { "hostfwd=tcp::8022-:", "guest port '' is not" },
        { "hostfwd=tcp::8022-:22x", "guest port '22x' is not" },
        { "hostfwd=tcp::8022-:000022", "guest port '000022' is not" },
        { "hostfwd=sctp::8022-:22", "protocol 'sctp' is not tcp or udp" },
        { "hostfwd=TCP::8022-:22", "protocol 'TCP'" },
        { "hostfwd=tcp", "not [tcp|udp]:" },
        { "hostfwd=tcp::8022", "no '-' between" },
        { "hostfwd=tcp:8022-:22", "the host side is not [ADDR]:PORT" },
        { "hostfwd=tcp::8022-22", "the guest side is not [ADDR]:PORT" },
        { "hostfwd=tcp:::8022-:22", "the host side is not" },
        { "hostfwd=tcp:localhost:8022-:22", "host address 'localhost' is not an IPv4" },
        { "hostfwd=tcp:1.2.3:8022-:22", "host address '1.2.3' is not" },
        { "hostfwd=tcp::8022-10.0.3.15:22", "outside the network 10.0.2.0/24" },
        { "hostfwd=tcp::8022-:22,hostfwd=tcp:127.0.0.1:8022-:23", "forwarded twice" },
        { "hostfwd=udp:127.0.0.1:53-:53,hostfwd=udp:127.0.0.1:53-:54", "forwarded twice" },
        { "net=10.0.2.0", "not ADDR/PREFIX" },
        { "net=10.0.2.1/24", "bits set past the /24 prefix" },
        { "net=10.0.2.0/28", "prefix '28' is not 1..27" },
        { "net=10.0.2.0/0", "prefix '0' is not" },
        { "net=10.0.2.0/", "prefix '' is not" },
        { "net=ten/8", "'ten' is not an IPv4 address" },
        { "restrict=on", "unknown option 'restrict=on'" },
        { ",hostfwd=tcp::1-:1", "an empty option" },
        { "hostfwd=tcp::1-:1,", "an empty option" },
        { "hostfwd=tcp::1-:1,,net=10.0.0.0/8", "an empty option" },
        { "hostfwd=tcp::80\n-:1", "a control or non-ASCII byte at offset 15" },
        { "net=10.0.2.0/24\xc3\xa9", "a control or non-ASCII byte at offset 15" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct net_slirp_cfg c;
        char err[256] = "";
        net_slirp_cfg_init(&c);
        int r = net_slirp_parse(bad[i].opts, &c, err, sizeof(err));
        if (r != -EINVAL || !strstr(err, bad[i].want) || strchr(err, '\n'))
            fprintf(stderr, "  '%s' -> %d '%s' (want '%s')\n", bad[i].opts, r, err, bad[i].want);
        CHECK_EQ(r, -EINVAL);
        CHECK(strstr(err, bad[i].want) != NULL);
        CHECK(strchr(err, '\n') == NULL);
    }
    /* too long a spec or option string: refused, not cut */
    char big[NET_SLIRP_MAX_OPTS + 8];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct net_slirp_cfg c;
    char err[256];
    net_slirp_cfg_init(&c);
    CHECK_EQ(net_slirp_parse(big, &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "longer than") != NULL);
    char spec[200] = "hostfwd=tcp:";
    memset(spec + 12, '1', 150);
    spec[162] = '\0';
    CHECK_EQ(net_slirp_parse(spec, &c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "longer than 127 bytes") != NULL);
}

/* The library's check of a user NIC in arcvmm_config (arcvmm_create). */
static void t_config_check(void)
{
    char err[256];
    struct arcvmm_net n = { .tap = NULL };
    CHECK_EQ(vm_check_user_net(&n, "hostfwd=tcp::8022-:22", 1, err, sizeof(err)),
             net_slirp_available() ? 0 : -EINVAL);
    if (!net_slirp_available())
        CHECK(strstr(err, "net 1 (user): this arcvmm was built without libslirp") != NULL);
    static const struct { struct arcvmm_net n; const char *user, *want; } bad[] = {
        { { .tap = "tap0" }, "", "net 2: both a tap (tap0) and user networking given" },
        { { .tap = NULL }, "hostfwd=tcp::1-:99999", "net 2 (user): hostfwd 'tcp::1-:99999': guest port" },
        { { .queues = 2 }, "", "net 2 (user): user networking has one queue pair, not 2" },
        { { .mtu = 9000 }, "", "net 2 (user): mtu is for taps" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(vm_check_user_net(&bad[i].n, bad[i].user, 2, err, sizeof(err)), -EINVAL);
        CHECK(strstr(err, bad[i].want) != NULL);
    }
}

/* ---- a real stack on a real loop ---- */

struct rig {
    struct evloop *loop;
    struct net_backend *nb;
    struct net_slirp_stats st;          /* read_stats' */
};

static int rig_open(struct rig *r, const char *opts)
{
    struct net_slirp_cfg c;
    char err[256];
    net_slirp_cfg_init(&c);
    memset(r, 0, sizeof(*r));
    if (net_slirp_parse(opts, &c, err, sizeof(err)) < 0 || evloop_create(&r->loop) < 0)
        return -1;
    if (net_slirp_open(&c, r->loop, "user0", &r->nb, err, sizeof(err)) < 0) {
        fprintf(stderr, "  %s\n", err);
        return -1;
    }
    return evloop_start(r->loop, "test-loop");
}

static void rig_close(struct rig *r)
{
    if (r->loop)
        evloop_stop(r->loop);
    if (r->nb)
        r->nb->ops->destroy(r->nb);     /* the loop is not running: as the VM does */
    evloop_destroy(r->loop);
}

/* As the device: one frame to the stack, header first. */
static int to_stack(struct rig *r, const uint8_t *f, size_t len)
{
    uint8_t hdr[VIRTIO_NET_HDR_SIZE] = { 0 };
    struct iovec iov[2] = { { hdr, sizeof(hdr) }, { (void *)f, len } };
    return r->nb->ops->writev(r->nb, 0, iov, 2) == (ssize_t)(sizeof(hdr) + len) ? 0 : -1;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* As the device: the next frame from the stack (header checked and
 * stripped) within the time left until deadline_ms. Its length, or -1. */
static int from_stack(struct rig *r, uint8_t *f, size_t cap, uint64_t deadline_ms)
{
    for (;;) {
        uint64_t now = now_ms();
        if (now >= deadline_ms)
            return -1;
        struct pollfd p = { .fd = r->nb->fd[0], .events = POLLIN };
        if (poll(&p, 1, (int)(deadline_ms - now)) <= 0)
            continue;
        uint8_t hdr[VIRTIO_NET_HDR_SIZE];
        struct iovec iov[2] = { { hdr, sizeof(hdr) }, { f, cap } };
        ssize_t k = r->nb->ops->readv(r->nb, 0, iov, 2);
        if (k == -EAGAIN)
            continue;
        static const uint8_t zero[VIRTIO_NET_HDR_SIZE];
        if (k < (ssize_t)sizeof(hdr) || memcmp(hdr, zero, sizeof(hdr)))
            return -1;      /* every header from this backend is all zeros */
        return (int)(k - (ssize_t)sizeof(hdr));
    }
}

static void t_dhcp_offer(void)
{
    struct rig r;
    CHECK_EQ(rig_open(&r, ""), 0);
    static uint8_t f[2048];
    uint32_t xid = 0x5eed1234;
    size_t n = dhcp_discover(f, xid);
    int ok = to_stack(&r, f, n) == 0;
    uint64_t deadline = now_ms() + 5000;
    bool offered = false;
    struct dhcp_offer o;
    while (ok && !offered) {
        int k = from_stack(&r, f, sizeof(f), deadline);
        if (k < 0)
            break;
        offered = dhcp_offer_parse(f, k, xid, &o);  /* other frames: e.g. IPv6 RAs */
    }
    struct net_slirp_stats st;
    evloop_stop(r.loop);                /* its counters are the loop thread's */
    net_slirp_get_stats(r.nb, &st);
    rig_close(&r);
    CHECK(ok);
    CHECK(offered);
    CHECK_EQ(o.yiaddr, ip4("10.0.2.15"));
    CHECK_EQ(o.server, ip4("10.0.2.2"));
    CHECK_EQ(o.router, ip4("10.0.2.2"));
    CHECK_EQ(o.dns, ip4("10.0.2.3"));
    CHECK_EQ(st.to_slirp, 1);
    CHECK(st.to_guest >= 1);
}

/* A free port on 127.0.0.1 of this socket type (bound, then let go). */
static int free_port(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    int port = -1;
    if (s >= 0 && bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(s, (struct sockaddr *)&a, &l) == 0)
        port = ntohs(a.sin_port);
    if (s >= 0)
        close(s);
    return port;
}

/* The guest answering an ARP request for its address in f. */
static size_t arp_reply(const uint8_t *req, uint8_t *f)
{
    const uint8_t *a = req + 14;
    memcpy(f, a + 8, 6);                /* to the asker */
    memcpy(f + 6, GUEST_MAC, 6);
    put16(f + 12, 0x0806);
    uint8_t *b = f + 14;
    memcpy(b, a, 6);                    /* htype, ptype, hlen, plen */
    put16(b + 6, 2);
    memcpy(b + 8, GUEST_MAC, 6);
    memcpy(b + 14, a + 24, 4);          /* our address: what was asked */
    memcpy(b + 18, a + 8, 10);          /* the asker's MAC and address */
    memset(f + 42, 0, 18);
    return 60;
}

/* As the guest at 10.0.2.15: the next IPv4 frame to it of protocol proto
 * and destination port dport (ARP requests for it answered on the way;
 * libslirp asks before its first frame unless it learnt the MAC). Its
 * transport header in f and *len the frame's length, or NULL by deadline. */
static const uint8_t *to_guest_port(struct rig *r, uint8_t *f, size_t cap, uint8_t proto,
                                    uint16_t dport, uint64_t deadline_ms, int *len)
{
    uint32_t guest = ip4("10.0.2.15");
    uint8_t reply[64];
    for (;;) {
        int k = from_stack(r, f, cap, deadline_ms);
        if (k < 0)
            return NULL;
        if (k >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 1 && !memcmp(f + 38, &guest, 4)) {
            if (to_stack(r, reply, arp_reply(f, reply)) < 0)
                return NULL;
            continue;
        }
        const uint8_t *ip = ipv4(f, k, proto);
        if (!ip || memcmp(ip + 16, &guest, 4))
            continue;
        const uint8_t *l4 = ip + (ip[0] & 15) * 4;
        if (get16(l4 + 2) == dport) {
            *len = k;
            return l4;
        }
    }
}

static void t_hostfwd_syn(void)
{
    int port = free_port(SOCK_STREAM);
    CHECK(port > 0);
    char opts[64];
    snprintf(opts, sizeof(opts), "hostfwd=tcp:127.0.0.1:%d-:2222", port);
    struct rig r;
    CHECK_EQ(rig_open(&r, opts), 0);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int cr = c >= 0 ? connect(c, (struct sockaddr *)&a, sizeof(a)) : -1;
    bool connecting = cr == 0 || (cr < 0 && errno == EINPROGRESS);
    static uint8_t f[2048];
    int k = 0;
    const uint8_t *tcp = connecting ? to_guest_port(&r, f, sizeof(f), 6, 2222,
                                                    now_ms() + 5000, &k) : NULL;
    uint8_t flags = tcp ? tcp[13] : 0;
    if (c >= 0)
        close(c);
    rig_close(&r);
    CHECK(connecting);
    CHECK(tcp != NULL);
    CHECK_EQ(flags & 0x12, 0x02);       /* SYN, no ACK */
    CHECK(get16(tcp) != 0);
}

/* A stack forwarding a free UDP port of 127.0.0.1 to the guest's 5353,
 * and a socket (*c, -1 on failure) to send to it (*a). 0 or -1. */
static int udp_fwd_open(struct rig *r, int *c, struct sockaddr_in *a)
{
    int port = free_port(SOCK_DGRAM);
    char opts[64];
    snprintf(opts, sizeof(opts), "hostfwd=udp:127.0.0.1:%d-:5353", port);
    *a = (struct sockaddr_in){ .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    *c = -1;
    if (port <= 0 || rig_open(r, opts) < 0)
        return -1;
    *c = socket(AF_INET, SOCK_DGRAM, 0);
    return *c >= 0 ? 0 : -1;
}

/* A UDP forward: a datagram to the host port arrives at the guest's. */
static void t_hostfwd_udp(void)
{
    struct rig r;
    struct sockaddr_in a;
    int c;
    CHECK_EQ(udp_fwd_open(&r, &c, &a), 0);
    static const char msg[] = "datagram through the forward";
    bool sent = sendto(c, msg, sizeof(msg), 0, (struct sockaddr *)&a, sizeof(a)) ==
                (ssize_t)sizeof(msg);
    static uint8_t f[2048];
    int k = 0;
    const uint8_t *udp = sent ? to_guest_port(&r, f, sizeof(f), 17, 5353, now_ms() + 5000, &k)
                              : NULL;
    bool same = udp && get16(udp + 4) == 8 + sizeof(msg) && udp + 8 + sizeof(msg) <= f + k &&
                !memcmp(udp + 8, msg, sizeof(msg));
    close(c);
    rig_close(&r);
    CHECK(sent);
    CHECK(udp != NULL);
    CHECK(same);
}

static void read_stats(void *opaque)
{
    struct rig *r = opaque;
    net_slirp_get_stats(r->nb, &r->st);
}

/* The backend's counters, read on the loop's thread. */
static struct net_slirp_stats stats(struct rig *r)
{
    evloop_call_sync(r->loop, read_stats, r);
    return r->st;
}

#define QN   1500                       /* datagrams (1.8 MB): past the channel's room (~200) */
#define QLEN 1200

/* Frames for a guest that takes none wait on the loop, in order, instead
 * of being dropped (up to the queue's bound): QN datagrams through a UDP
 * forward while the device reads nothing, then all of them, in order. */
static void t_queue_when_full(void)
{
    struct rig r;
    struct sockaddr_in a;
    int c;
    CHECK_EQ(udp_fwd_open(&r, &c, &a), 0);
    static uint8_t f[2048], d[QLEN];
    bool ok = true;
    /* datagram 0 first: libslirp asks for the guest's MAC, to_guest_port answers */
    memset(d, 0x5a, sizeof(d));
    ok = ok && sendto(c, d, sizeof(d), 0, (struct sockaddr *)&a, sizeof(a)) == QLEN;
    int k;
    ok = ok && to_guest_port(&r, f, sizeof(f), 17, 5353, now_ms() + 5000, &k);
    /* then QN more, in chunks the forward's socket buffer holds, each
     * passed on by libslirp (its counter) before the next */
    uint64_t deadline = now_ms() + 10000, base = stats(&r).to_guest;    /* ARP + datagram 0 */
    for (unsigned i = 0; ok && i < QN; i++) {
        memcpy(d, &i, sizeof(i));
        ok = sendto(c, d, sizeof(d), 0, (struct sockaddr *)&a, sizeof(a)) == QLEN;
        if (ok && (i % 40 == 39 || i == QN - 1))
            while (stats(&r).to_guest < base + i + 1 && now_ms() < deadline)
                ;
    }
    struct net_slirp_stats st = stats(&r);
    /* now the guest reads: every one, in order */
    unsigned got = 0;
    bool in_order = true;
    const uint8_t *udp;
    while (ok && got < QN && (udp = to_guest_port(&r, f, sizeof(f), 17, 5353, deadline, &k))) {
        unsigned seq;
        memcpy(&seq, udp + 8, sizeof(seq));
        in_order &= seq == got;
        got++;
    }
    struct net_slirp_stats end = stats(&r);
    close(c);
    rig_close(&r);
    CHECK(ok);
    CHECK_EQ(st.to_guest, base + QN);
    CHECK(st.to_guest_queued > 0);      /* the channel overflowed: some waited */
    CHECK_EQ(st.to_guest_dropped, 0);
    CHECK_EQ(got, QN);
    CHECK(in_order);
    CHECK_EQ(end.to_guest_dropped, 0);
}

/* The device on this backend offers no offloads: libslirp takes and
 * gives whole frames with their checksums. */
static void t_device_no_offloads(void)
{
    struct rig r;
    CHECK_EQ(rig_open(&r, ""), 0);
    evloop_stop(r.loop);
    CHECK(r.nb->no_offloads);
    struct guest_mem mem = { 0 };
    struct virtio_net_cfg nc = { .backend = r.nb, .pairs = 1, .mac = { 2, 0, 0, 0, 0, 1 } };
    struct virtio_dev *d = NULL;
    char err[256];
    int rc = virtio_net_create(&nc, &mem, &d, err, sizeof(err));
    r.nb = NULL;                        /* the device owns it now */
    uint64_t f = d ? d->device_features : 0;
    if (d)
        d->ops->destroy(d);
    rig_close(&r);
    CHECK_EQ(rc, 0);
    static const unsigned off[] = {
        VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM, VIRTIO_NET_F_GUEST_TSO4,
        VIRTIO_NET_F_GUEST_TSO6, VIRTIO_NET_F_GUEST_UFO, VIRTIO_NET_F_HOST_TSO4,
        VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_HOST_UFO,
    };
    for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
        CHECK(!(f & (1ULL << off[i])));
    CHECK(f & (1ULL << VIRTIO_NET_F_MRG_RXBUF));
    CHECK(f & (1ULL << VIRTIO_NET_F_MAC));
    CHECK(f & (1ULL << VIRTIO_F_VERSION_1));
}

/* A forward that cannot listen fails the open with one line. */
static void t_hostfwd_busy(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t l = sizeof(a);
    CHECK(s >= 0);
    CHECK(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(s, 1) == 0 &&
          getsockname(s, (struct sockaddr *)&a, &l) == 0);
    struct net_slirp_cfg c;
    char opts[64], err[256] = "";
    snprintf(opts, sizeof(opts), "hostfwd=tcp:127.0.0.1:%u-:22", ntohs(a.sin_port));
    net_slirp_cfg_init(&c);
    CHECK_EQ(net_slirp_parse(opts, &c, err, sizeof(err)), 0);
    struct evloop *loop;
    CHECK_EQ(evloop_create(&loop), 0);
    struct net_backend *nb = (struct net_backend *)1;
    int r = net_slirp_open(&c, loop, "user3", &nb, err, sizeof(err));
    evloop_destroy(loop);
    close(s);
    CHECK(r < 0);
    CHECK(nb == NULL);
    CHECK(strstr(err, "net user3: hostfwd tcp 127.0.0.1:") != NULL);
    CHECK(strstr(err, "cannot listen") != NULL);
}

int main(void)
{
    RUN(t_parse_defaults);
    RUN(t_parse_options);
    RUN(t_parse_errors);
    RUN(t_config_check);
    if (net_slirp_available()) {
        RUN(t_dhcp_offer);
        RUN(t_hostfwd_syn);
        RUN(t_hostfwd_udp);
        RUN(t_queue_when_full);
        RUN(t_hostfwd_busy);
        RUN(t_device_no_offloads);
    } else {
        printf("skip t_dhcp_offer, t_hostfwd_syn, t_hostfwd_udp, t_queue_when_full, t_hostfwd_busy, "
               "t_device_no_offloads: "
               "built without libslirp (not run, not counted)\n");
    }
    return harness_done();
}
