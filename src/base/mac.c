#include "base/mac.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 :
           ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
}

int mac_parse(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (lo < 0)
            return -EINVAL;
        mac[i] = (uint8_t)(hi * 16 + lo);
        s += 2;
        if (i < 5 && *s != ':' && *s != '-')
            return -EINVAL;
        if (i < 5)
            s++;
    }
    return *s ? -EINVAL : 0;
}

void mac_format(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}

const char *mac_unusable(const uint8_t mac[6])
{
    static const uint8_t zero[6];
    if (mac[0] & 1)
        return "a multicast address";
    if (!memcmp(mac, zero, 6))
        return "all zeros";
    return NULL;
}
