/* Tier 2: virtio-net on a tap, driven by the test guest's polled driver
 * (tests/kvm/guest/virtio.c, "net-bad"), bzImage and PVH ELF, on
 * /dev/kvm. The guest sends one TX chain of each malformed kind (shorter
 * than the header, over 64 KiB, a GSO type not negotiated, a checksum
 * offset past the frame, RX-only flags, a writable buffer), each followed
 * by a good frame, then breaks the ring. arcvmm must stay alive: every
 * malformed chain is returned and counted but never reaches the tap, the
 * good frames do (an AF_PACKET socket on the tap counts them), the broken
 * ring sets DEVICE_NEEDS_RESET and a reset brings the device back. Skipped
 * (not counted as passed) where taps cannot be made. The same guest on a
 * user-mode NIC (libslirp, no offloads offered: the guest negotiates only
 * VERSION_1, so its GSO chain is refused for its NEEDS_CSUM flag): the
 * same drops, the good frames reach the backend, arcvmm stays alive. */
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "backend/slirp.h"
#include "kvmtest.h"
#include "virtio/net.h"
#include "vm/vm.h"

#define END_BOUND_MS 120000
#define TEST_ETHERTYPE 0x88b5

static const char *images[] = KT_IMAGES;
#define NIMAGES ((int)(sizeof(images) / sizeof(images[0])))

#define REQUIRE(cond) do { if (!(cond)) { \
        fprintf(stderr, "  %s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
        return false; } } while (0)

static char skip_why[160];

static bool tap_usable(void)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(skip_why, sizeof(skip_why), "/dev/net/tun: %s", strerror(errno));
        return false;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "avkprobe%d", (int)(getpid() % 10000));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    bool ok = ioctl(fd, TUNSETIFF, &ifr) == 0;
    if (!ok)
        snprintf(skip_why, sizeof(skip_why), "TUNSETIFF: %s", strerror(errno));
    close(fd);
    return ok;
}

static bool has(const struct kt *t, const char *needle)
{
    if (strstr(t->buf, needle))
        return true;
    fprintf(stderr, "  missing '%s' in the console output:\n%s\n", needle, t->buf);
    return false;
}

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        n++;
    return n;
}

static bool malformed_one(const char *image, bool user)
{
    struct kt t;
    char path[512], tap[IFNAMSIZ];
    kt_guest_path(path, sizeof(path), image);
    snprintf(tap, sizeof(tap), "avk%d", (int)(getpid() % 100000));
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = path;
    c.cmdline = "net-bad";
    c.cpus = 1;
    c.memory_mib = 64;
    if (user)
        c.net_user[0] = "";
    else
        c.nets[0].tap = tap;
    c.nnets = 1;
    c.transport = ARCVMM_TRANSPORT_MMIO;    /* the test guest drives virtio-mmio */
    if (kt_create_config(&t, &c) < 0) {
        kt_destroy(&t);
        return false;
    }
    int ps = user ? -1 : socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK,
                                htons(TEST_ETHERTYPE));
    struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(TEST_ETHERTYPE),
                               .sll_ifindex = (int)if_nametoindex(tap) };
    int one = 1 << 20;
    bool sock_ok = user || (ps >= 0 && sll.sll_ifindex > 0 &&
                            bind(ps, (struct sockaddr *)&sll, sizeof(sll)) == 0 &&
                            setsockopt(ps, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one)) == 0);
    struct arcvmm_exit ex = { .reason = ARCVMM_EXIT_NONE };
    bool ended = false;
    if (sock_ok && arcvmm_start(t.vm) == 0) {
        struct pollfd p = { .fd = arcvmm_exit_fd(t.vm), .events = POLLIN };
        long long end = kt_now_ms() + END_BOUND_MS;
        while (!(ended = poll(&p, 1, 200) > 0) && kt_now_ms() < end)
            kt_drain(&t);
        if (!ended)
            arcvmm_stop(t.vm);
        kt_wait(&t, &ex);
    }
    struct virtio_net_stats st;
    memset(&st, 0, sizeof(st));
    struct vm *vm = (struct vm *)t.vm;
    if (vm->devs.ndevs == 1)
        virtio_net_get_stats(vm->devs.devs[0].dev, &st);
    unsigned good = 0, bad = 0;
    uint8_t f[2048];
    ssize_t n;
    while (ps >= 0 && (n = recv(ps, f, sizeof(f), 0)) > 0) {
        if (n >= 15 && f[14] == 'G')
            good++;
        else
            bad++;
    }
    if (ps >= 0)
        close(ps);
    kt_destroy(&t);
    REQUIRE(sock_ok);
    REQUIRE(ended && ex.reason == ARCVMM_EXIT_POWEROFF);
    static const char *const kinds[] = { "short", "long", "gso", "csum", "flags", "writable" };
    for (unsigned i = 0; i < 6; i++) {
        char want[64];
        snprintf(want, sizeof(want), "testguest: net-tx %s used\n", kinds[i]);
        REQUIRE(has(&t, want));
    }
    REQUIRE(count(t.buf, "testguest: net-tx good used\n") == 7);
    REQUIRE(has(&t, "testguest: net-tx ring needs-reset\n"));
    REQUIRE(has(&t, "testguest: net-bad done\n"));
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_SHORT] == 1);
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_LONG] == 1);
    /* on a user NIC CSUM is not negotiated: the GSO chain's NEEDS_CSUM
     * flag is refused first */
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_GSO] == (user ? 0 : 1));
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_CSUM] == (user ? 2 : 1));
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_FLAGS] == 1);
    REQUIRE(st.tx_dropped[VIRTIO_NET_TX_WRITABLE] == 1);
    REQUIRE(st.tx_frames == 7);
    REQUIRE(st.tx_errors == 0);
    if (user)
        return true;
    REQUIRE(good == 7);
    REQUIRE(bad == 0);
    REQUIRE(if_nametoindex(tap) == 0);     /* the tap arcvmm created is gone */
    return true;
}

static void t_net_malformed_tx(void)
{
    for (int i = 0; i < NIMAGES; i++)
        CHECK(malformed_one(images[i], false));
}

static void t_net_malformed_tx_user(void)
{
    for (int i = 0; i < NIMAGES; i++)
        CHECK(malformed_one(images[i], true));
}

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    if (tap_usable())
        RUN(t_net_malformed_tx);
    else
        printf("skip t_net_malformed_tx: %s (not run, not counted)\n", skip_why);
    if (net_slirp_available())
        RUN(t_net_malformed_tx_user);
    else
        printf("skip t_net_malformed_tx_user: built without libslirp (not run, not counted)\n");
    return harness_done();
}
