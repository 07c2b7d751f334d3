/* The user-mode network backend: libslirp, a TCP/IP stack in the VMM
 * process, so a guest reaches the network without root, a tap or a
 * bridge. Defaults are QEMU's user networking: the network 10.0.2.0/24,
 * the host (gateway, and 127.0.0.1 of the host behind it) at .2, DNS
 * (forwarded to the host's resolver) at .3, the guest given .15 by DHCP;
 * IPv6 too, on fec0::/64 (host fec0::2, DNS fec0::3). Host port
 * forwards (`hostfwd=`) listen on the host and connect to the guest.
 *
 * Frames: the device reads and writes one end of a SOCK_SEQPACKET
 * socketpair (backend/net.h), header first as for every backend; the
 * other end is the backend's, on the VM's event loop, where the header is
 * stripped (guest to slirp, slirp_input) or prepended, zeroed (slirp to
 * guest; while the device's channel is full, up to 4 MiB of them wait on
 * the loop, in order, rather than being dropped: libslirp sends a whole
 * TCP window at once). libslirp wants whole Ethernet frames with their
 * checksums, so the backend is no_offloads: the device offers no checksum
 * or segmentation offloads on this NIC.
 *
 * Threads: libslirp runs only on the event loop's thread -- its sockets
 * are the loop's fds (filled before each wait, polled after it, through
 * the loop's hooks) and its timers the loop's timers. net_slirp_open and
 * destroy run while the loop is not running (before the VM starts, after
 * it stopped). Nothing here runs on a vCPU thread or a device worker.
 *
 * The option parser is pure and built without libslirp too (the fuzz
 * target, a build without the library). */
#ifndef ARCVMM_BACKEND_SLIRP_H
#define ARCVMM_BACKEND_SLIRP_H
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/net.h"

struct evloop;

#define NET_SLIRP_MAX_FWDS 16
/* An option string longer than this is refused (the CLI's buffer too). */
#define NET_SLIRP_MAX_OPTS 1024

/* hostfwd=[tcp|udp]:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT */
struct net_slirp_fwd {
    bool udp;
    struct in_addr host_addr;      /* INADDR_ANY when not given, as QEMU */
    uint16_t host_port;            /* 1..65535 */
    struct in_addr guest_addr;     /* INADDR_ANY: the guest's DHCP address */
    uint16_t guest_port;           /* 1..65535 */
};

struct net_slirp_cfg {
    struct in_addr net;            /* network address, host bits zero */
    unsigned prefix;               /* 1..27: room for .2, .3 and .15 */
    unsigned nfwds;
    struct net_slirp_fwd fwd[NET_SLIRP_MAX_FWDS];
};

/* The defaults: 10.0.2.0/24, no forwards. */
void net_slirp_cfg_init(struct net_slirp_cfg *c);
/* Parse a comma-separated option list ("" for the defaults) onto c
 * (which net_slirp_cfg_init set): hostfwd= (repeatable) and net=. 0, or
 * -EINVAL with err set to one line naming the option and the reason. */
int net_slirp_parse(const char *opts, struct net_slirp_cfg *c, char *err, size_t errlen);

/* The addresses a configuration gives: host (gateway), DNS and the
 * guest's DHCP address (network order). */
struct in_addr net_slirp_host_addr(const struct net_slirp_cfg *c);
struct in_addr net_slirp_dns_addr(const struct net_slirp_cfg *c);
struct in_addr net_slirp_guest_addr(const struct net_slirp_cfg *c);

/* Was arcvmm built with libslirp? (The static arm64 cross build is not:
 * Debian ships no static libslirp.) */
bool net_slirp_available(void);

/* Start a libslirp stack for one NIC on loop (not running), its forwards
 * listening. name is for log lines ("user0"). 0, or -errno with err set to
 * one line (no libslirp in this build, a forward that cannot listen). */
int net_slirp_open(const struct net_slirp_cfg *c, struct evloop *loop, const char *name,
                   struct net_backend **out, char *err, size_t errlen);

/* What the backend counted (loop thread, or the loop not running). */
struct net_slirp_stats {
    uint64_t to_slirp;                  /* frames from the guest into libslirp */
    uint64_t to_guest;                  /* frames libslirp sent the guest, all of them */
    uint64_t to_guest_queued;           /* of those, held a while: the channel was full */
    uint64_t to_guest_dropped;          /* of those, lost: the channel and the queue were full */
    uint64_t short_frames;              /* guest frames shorter than a header + Ethernet */
};
void net_slirp_get_stats(const struct net_backend *nb, struct net_slirp_stats *st);
#endif
