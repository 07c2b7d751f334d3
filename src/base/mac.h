/* Ethernet MAC addresses as users write them. */
#ifndef ARCVMM_BASE_MAC_H
#define ARCVMM_BASE_MAC_H
#include <stdint.h>

/* "aa:bb:cc:dd:ee:ff" (hex, ':' or '-' between bytes) -> mac. 0 or -EINVAL. */
int mac_parse(const char *s, uint8_t mac[6]);
/* mac -> "aa:bb:cc:dd:ee:ff" in out[18]. */
void mac_format(const uint8_t mac[6], char out[18]);
/* Why mac cannot be a NIC's own address ("a multicast address", "all
 * zeros"), or NULL if it can. */
const char *mac_unusable(const uint8_t mac[6]);
#endif
