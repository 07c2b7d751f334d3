/* Tier 2: virtio-vsock driven by the test guest's polled driver
 * (tests/kvm/guest/virtio.c, "vsock-bad"), bzImage and PVH ELF, on
 * /dev/kvm, virtio-mmio. The guest sends one TX packet of each malformed
 * kind (shorter than the header, to another CID, from a CID not its own,
 * not a stream, an unknown op, a len that does not match the chain, a
 * payload over 64 KiB, a writable buffer), each followed by a good
 * REQUEST to CID 2 port 7000, then breaks the ring. arcvmm must stay
 * alive: every malformed packet is used and counted by kind, every good
 * REQUEST reaches this test's listener at <uds>_7000, the broken ring sets
 * DEVICE_NEEDS_RESET and a reset brings the device back; the guest powers
 * off and arcvmm removes its socket. */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "kvmtest.h"
#include "virtio/vsock.h"
#include "vm/vm.h"

#define END_BOUND_MS 120000

static const char *images[] = KT_IMAGES;
#define NIMAGES ((int)(sizeof(images) / sizeof(images[0])))

#define REQUIRE(cond) do { if (!(cond)) { \
        fprintf(stderr, "  %s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
        return false; } } while (0)

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

static bool malformed_one(const char *image)
{
    struct kt t;
    char path[512], dir[] = "/tmp/arcvmm-kvm-vsock-XXXXXX", uds[64], lp[80];
    if (!mkdtemp(dir))
        return false;
    snprintf(uds, sizeof(uds), "%s/v.sock", dir);
    snprintf(lp, sizeof(lp), "%s_7000", uds);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", lp);
    bool lis_ok = l >= 0 && bind(l, (struct sockaddr *)&a, sizeof(a)) == 0 && listen(l, 64) == 0;
    kt_guest_path(path, sizeof(path), image);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = path;
    c.cmdline = "vsock-bad";
    c.cpus = 1;
    c.memory_mib = 64;
    c.vsock.guest_cid = 3;
    c.vsock.uds_path = uds;
    c.transport = ARCVMM_TRANSPORT_MMIO;    /* the test guest drives virtio-mmio */
    int cr = kt_create_config(&t, &c);
    struct arcvmm_exit ex = { .reason = ARCVMM_EXIT_NONE };
    bool ended = false;
    struct stat st_uds;
    bool uds_made = stat(uds, &st_uds) == 0 && S_ISSOCK(st_uds.st_mode);
    if (cr == 0 && lis_ok && arcvmm_start(t.vm) == 0) {
        struct pollfd p = { .fd = arcvmm_exit_fd(t.vm), .events = POLLIN };
        long long end = kt_now_ms() + END_BOUND_MS;
        while (!(ended = poll(&p, 1, 200) > 0) && kt_now_ms() < end)
            kt_drain(&t);
        if (!ended)
            arcvmm_stop(t.vm);
        kt_wait(&t, &ex);
    }
    struct virtio_vsock_stats st;
    memset(&st, 0, sizeof(st));
    struct vm *vm = cr == 0 ? (struct vm *)t.vm : NULL;
    if (vm && vm->devs.ndevs == 1)
        virtio_vsock_get_stats(vm->devs.devs[0].dev, &st);
    unsigned accepted = 0;
    for (int s; l >= 0 && (s = accept(l, NULL, NULL)) >= 0; accepted++)
        close(s);
    if (l >= 0)
        close(l);
    kt_destroy(&t);
    bool uds_gone = access(uds, F_OK) != 0;
    unlink(lp);
    rmdir(dir);
    REQUIRE(cr == 0);
    REQUIRE(lis_ok);
    REQUIRE(uds_made);
    REQUIRE(ended && ex.reason == ARCVMM_EXIT_POWEROFF);
    static const char *const kinds[] = { "short", "cid", "src", "type", "op", "len", "big",
                                         "writable" };
    for (unsigned i = 0; i < 8; i++) {
        char want[64];
        snprintf(want, sizeof(want), "testguest: vsock-tx %s used\n", kinds[i]);
        REQUIRE(has(&t, want));
    }
    REQUIRE(count(t.buf, "testguest: vsock-tx good used\n") == 9);
    REQUIRE(has(&t, "testguest: vsock-tx ring needs-reset\n"));
    REQUIRE(has(&t, "testguest: vsock-bad done\n"));
    REQUIRE(st.tx_dropped[VSOCK_TX_SHORT] == 1);
    REQUIRE(st.tx_dropped[VSOCK_TX_CID] == 2);
    REQUIRE(st.tx_dropped[VSOCK_TX_TYPE] == 1);
    REQUIRE(st.tx_dropped[VSOCK_TX_OP] == 1);
    REQUIRE(st.tx_dropped[VSOCK_TX_LEN] == 1);
    REQUIRE(st.tx_dropped[VSOCK_TX_BIG] == 1);
    REQUIRE(st.tx_dropped[VSOCK_TX_WRITABLE] == 1);
    REQUIRE(st.guest_connected == 9);
    REQUIRE(accepted == 9);
    REQUIRE(uds_gone);                  /* removed with the VM */
    return true;
}

static void t_vsock_malformed_tx(void)
{
    for (int i = 0; i < NIMAGES; i++)
        CHECK(malformed_one(images[i]));
}

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_vsock_malformed_tx);
    return harness_done();
}
