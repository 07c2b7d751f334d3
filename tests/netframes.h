/* Ethernet/IPv4/DHCP frames for the network tests (test_slirp, test_net's
 * libslirp case): a fake guest's DHCP DISCOVER and the parse of the OFFER
 * that answers it. Header-only, static functions. */
#ifndef ARCVMM_TEST_NETFRAMES_H
#define ARCVMM_TEST_NETFRAMES_H
#include <arpa/inet.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

static const uint8_t GUEST_MAC[6] __attribute__((unused)) = { 0x02, 0xac, 0x00, 0x00, 0x00, 0x15 };

static inline uint32_t ip4(const char *s)
{
    struct in_addr a;
    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

static inline uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static inline void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

#define BOOTP_LEN (236 + 312)           /* fixed part + libslirp's whole vend area */

/* A DHCP DISCOVER from GUEST_MAC, broadcast. Its length. */
static inline size_t dhcp_discover(uint8_t *f, uint32_t xid)
{
    size_t iplen = 20 + 8 + BOOTP_LEN;
    memset(f, 0, 14 + iplen);
    memset(f, 0xff, 6);
    memcpy(f + 6, GUEST_MAC, 6);
    put16(f + 12, 0x0800);
    uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8;
    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)iplen);
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);           /* 0.0.0.0 -> 255.255.255.255 */
    put16(ip + 10, csum(ip, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)(8 + BOOTP_LEN));      /* checksum 0: none (IPv4) */
    bp[0] = 1;                          /* BOOTREQUEST */
    bp[1] = 1;
    bp[2] = 6;
    memcpy(bp + 4, &xid, 4);
    put16(bp + 10, 0x8000);             /* broadcast */
    memcpy(bp + 28, GUEST_MAC, 6);
    static const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 255 };
    memcpy(bp + 236, opts, sizeof(opts));
    return 14 + iplen;
}

/* f an IPv4 frame? Its IP header, else NULL. */
static inline const uint8_t *ipv4(const uint8_t *f, int len, uint8_t proto)
{
    if (len < 14 + 20 || get16(f + 12) != 0x0800 || f[14 + 9] != proto)
        return NULL;
    unsigned ihl = (f[14] & 15u) * 4;
    return ihl >= 20 && (int)(14 + ihl + 20) <= len ? f + 14 : NULL;
}

/* DHCP option `code` of a reply's options (bp + 240 .. end): its value, or NULL. */
static inline const uint8_t *dhcp_opt(const uint8_t *o, const uint8_t *end, uint8_t code, uint8_t *len)
{
    while (o < end && *o != 255) {
        if (*o == 0) {
            o++;
            continue;
        }
        if (o + 2 > end || o + 2 + o[1] > end)
            return NULL;
        if (*o == code) {
            *len = o[1];
            return o + 2;
        }
        o += 2 + o[1];
    }
    return NULL;
}

/* What an OFFER said (network order). */
struct dhcp_offer {
    uint32_t yiaddr, server, router, dns;
};

/* Is f (k bytes) a DHCP OFFER to GUEST_MAC for xid? Fills o if so. */
static inline bool dhcp_offer_parse(const uint8_t *f, int k, uint32_t xid, struct dhcp_offer *o)
{
    const uint8_t *ip = ipv4(f, k, 17);
    if (!ip)
        return false;
    const uint8_t *udp = ip + (ip[0] & 15) * 4, *bp = udp + 8, *end = f + k;
    if (get16(udp) != 67 || get16(udp + 2) != 68 || bp + 240 > end || bp[0] != 2 ||
        memcmp(bp + 4, &xid, 4) || memcmp(bp + 28, GUEST_MAC, 6))
        return false;
    uint8_t l = 0;
    const uint8_t *t = dhcp_opt(bp + 240, end, 53, &l);
    if (!t || l != 1 || *t != 2)        /* DHCPOFFER */
        return false;
    memset(o, 0, sizeof(*o));
    memcpy(&o->yiaddr, bp + 16, 4);
    if ((t = dhcp_opt(bp + 240, end, 54, &l)) && l == 4)
        memcpy(&o->server, t, 4);
    if ((t = dhcp_opt(bp + 240, end, 3, &l)) && l >= 4)
        memcpy(&o->router, t, 4);
    if ((t = dhcp_opt(bp + 240, end, 6, &l)) && l >= 4)
        memcpy(&o->dns, t, 4);
    return true;
}
#endif
