/* The tap network backend: /dev/net/tun in IFF_TAP|IFF_NO_PI|IFF_VNET_HDR
 * mode with the 12-byte virtio_net_hdr_v1 (TUNSETVNETHDRSZ), one fd per
 * queue pair (IFF_MULTI_QUEUE when there are several), offloads set from
 * what the guest negotiated (TUNSETOFFLOAD) and unused queues detached
 * (TUNSETQUEUE).
 *
 * An existing tap is attached to (for several queues it must have been
 * created multi-queue: `ip tuntap add NAME mode tap multi_queue`). A tap
 * that does not exist is created (needs CAP_NET_ADMIN), non-persistent,
 * with the given MTU and brought up; the kernel removes it when its last
 * fd closes, which is what destroying the backend (or the process
 * exiting) does -- nothing is left behind. */
#ifndef ARCVMM_BACKEND_TAP_H
#define ARCVMM_BACKEND_TAP_H
#include <stdbool.h>
#include <stddef.h>

#include "backend/net.h"

/* Open tap `name` with `queues` channels (1..NET_BACKEND_MAX_QUEUES);
 * mtu (0: leave it) is applied only to a tap created here. 0, or -errno
 * with err set to one line "tap NAME: reason" (a bad name, not a tap,
 * busy, single-queue when several were asked for, cannot be created). */
int net_tap_open(const char *name, unsigned queues, unsigned mtu, struct net_backend **out,
                 char *err, size_t errlen);
/* Did net_tap_open create the tap (it goes away with the backend)? */
bool net_tap_created(const struct net_backend *nb);
#endif
