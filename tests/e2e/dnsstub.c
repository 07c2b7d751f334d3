/* A DNS responder for tests/e2e/slirp-l1.sh: the rig's L1 has no
 * resolver, and libslirp forwards the guest's queries to 10.0.2.3 to the
 * host's (127.0.0.1 when /etc/resolv.conf names none). Answers an A query
 * for NAME with ADDR; any other name is NXDOMAIN, any other type of NAME
 * an empty NOERROR answer. Runs until killed.
 *
 *   dnsstub LISTEN_ADDR PORT NAME ADDR     e.g. 127.0.0.1 53 l1.arcvmm.test 10.0.2.2 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* The query's name as "a.b.c" into out and the offset after its
 * question (type, class), or -1 if malformed or compressed. */
static int question(const unsigned char *q, int n, char *out, size_t cap, int *qtype)
{
    int off = 12;
    size_t o = 0;
    while (off < n && q[off]) {
        int l = q[off];
        if (l > 63 || off + 1 + l > n || o + (size_t)l + 2 > cap)
            return -1;
        if (o)
            out[o++] = '.';
        memcpy(out + o, q + off + 1, (size_t)l);
        o += (size_t)l;
        off += 1 + l;
    }
    if (off + 5 > n)
        return -1;
    out[o] = '\0';
    *qtype = q[off + 1] << 8 | q[off + 2];
    return off + 5;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: dnsstub LISTEN_ADDR PORT NAME ADDR\n");
        return 2;
    }
    struct sockaddr_in la = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
    struct in_addr ans;
    if (inet_pton(AF_INET, argv[1], &la.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &ans) != 1) {
        fprintf(stderr, "dnsstub: bad address\n");
        return 2;
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&la, sizeof(la)) < 0) {
        perror("dnsstub: bind");
        return 1;
    }
    for (;;) {
        unsigned char q[512], r[600];
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        int n = (int)recvfrom(s, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
        char name[256];
        int qtype, end;
        if (n < 12 || (q[2] & 0x80) || (end = question(q, n, name, sizeof(name), &qtype)) < 0)
            continue;
        int match = !strcasecmp(name, argv[3]);
        memcpy(r, q, (size_t)end);
        r[2] = 0x81 | (q[2] & 0x01);        /* QR, RD as asked */
        r[3] = match ? 0x80 : 0x83;         /* RA; NOERROR or NXDOMAIN */
        r[4] = 0, r[5] = 1;                 /* one question */
        memset(r + 6, 0, 6);
        int len = end;
        if (match && qtype == 1) {
            static const unsigned char rr[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };
            r[7] = 1;
            memcpy(r + len, rr, sizeof(rr));
            memcpy(r + len + sizeof(rr), &ans, 4);
            len += (int)sizeof(rr) + 4;
        }
        sendto(s, r, (size_t)len, 0, (struct sockaddr *)&from, fl);
    }
}
