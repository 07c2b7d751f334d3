/* libFuzzer target for the user-mode network's option parser
 * (backend/slirp.c: what follows `--net user,` on the command line, and
 * arcvmm_config.net_user in the library API). Input: the option string, raw
 * bytes (cut at the first NUL). Checked: the answer is 0 or -EINVAL; a
 * refusal has a one-line message; an accepted configuration is in bounds
 * (forward count and ports, the prefix, the network's host bits, guest
 * addresses inside the network, no host port forwarded twice) and,
 * written back as options, parses to the same configuration. The parser
 * is compiled without libslirp here (only its stubs come along). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/slirp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_ASSERT(c) do { if (!(c)) { \
        fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
        abort(); } } while (0)

/* c as an option string the parser takes. */
static void render(const struct net_slirp_cfg *c, char *out, size_t cap)
{
    char a[INET_ADDRSTRLEN], g[INET_ADDRSTRLEN];
    size_t n = 0;
    inet_ntop(AF_INET, &c->net, a, sizeof(a));
    n += (size_t)snprintf(out + n, cap - n, "net=%s/%u", a, c->prefix);
    for (unsigned i = 0; i < c->nfwds && n < cap; i++) {
        const struct net_slirp_fwd *f = &c->fwd[i];
        inet_ntop(AF_INET, &f->host_addr, a, sizeof(a));
        inet_ntop(AF_INET, &f->guest_addr, g, sizeof(g));
        n += (size_t)snprintf(out + n, cap - n, ",hostfwd=%s:%s:%u-%s:%u", f->udp ? "udp" : "tcp",
                              f->host_addr.s_addr ? a : "", f->host_port,
                              f->guest_addr.s_addr ? g : "", f->guest_port);
    }
}

static void check_cfg(const struct net_slirp_cfg *c)
{
    FZ_ASSERT(c->prefix >= 1 && c->prefix <= 27);
    uint32_t mask = ~0u << (32 - c->prefix), net = ntohl(c->net.s_addr);
    FZ_ASSERT(!(net & ~mask));
    FZ_ASSERT(c->nfwds <= NET_SLIRP_MAX_FWDS);
    for (unsigned i = 0; i < c->nfwds; i++) {
        const struct net_slirp_fwd *f = &c->fwd[i];
        FZ_ASSERT(f->host_port && f->guest_port);
        uint32_t g = ntohl(f->guest_addr.s_addr);
        FZ_ASSERT(!g || (g & mask) == net);
        for (unsigned j = 0; j < i; j++)
            FZ_ASSERT(c->fwd[j].udp != f->udp || c->fwd[j].host_port != f->host_port ||
                      (c->fwd[j].host_addr.s_addr && f->host_addr.s_addr &&
                       c->fwd[j].host_addr.s_addr != f->host_addr.s_addr));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);         /* exact size: ASan sees a read past the end */
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    struct net_slirp_cfg c;
    char err[256];
    memset(err, 0x5a, sizeof(err));
    net_slirp_cfg_init(&c);
    int r = net_slirp_parse(s, &c, err, sizeof(err));
    free(s);
    FZ_ASSERT(r == 0 || r == -EINVAL);
    if (r < 0) {
        FZ_ASSERT(memchr(err, 0, sizeof(err)) && err[0]);
        FZ_ASSERT(!strchr(err, '\n'));
        return 0;
    }
    check_cfg(&c);
    static char again[NET_SLIRP_MAX_OPTS * 2];
    render(&c, again, sizeof(again));
    struct net_slirp_cfg d;
    net_slirp_cfg_init(&d);
    if (strlen(again) <= NET_SLIRP_MAX_OPTS) {
        FZ_ASSERT(net_slirp_parse(again, &d, err, sizeof(err)) == 0);
        FZ_ASSERT(!memcmp(&c.net, &d.net, sizeof(c.net)) && c.prefix == d.prefix &&
                  c.nfwds == d.nfwds);
        for (unsigned i = 0; i < c.nfwds; i++)
            FZ_ASSERT(c.fwd[i].udp == d.fwd[i].udp &&
                      c.fwd[i].host_addr.s_addr == d.fwd[i].host_addr.s_addr &&
                      c.fwd[i].host_port == d.fwd[i].host_port &&
                      c.fwd[i].guest_addr.s_addr == d.fwd[i].guest_addr.s_addr &&
                      c.fwd[i].guest_port == d.fwd[i].guest_port);
    }
    return 0;
}
