/* Little-endian loads and stores on byte buffers (guest structures, ACPI
 * tables, config spaces): one set for the whole tree. Unaligned pointers
 * are fine; the compiler turns these into single moves on LE hosts. */
#ifndef ARCVMM_LE_H
#define ARCVMM_LE_H
#include <stdint.h>

static inline uint16_t le16_load(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t le32_load(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64_load(const uint8_t *p)
{
    return (uint64_t)le32_load(p) | (uint64_t)le32_load(p + 4) << 32;
}

/* The first len bytes (at most 8) as a little-endian number. */
static inline uint64_t le_load(const uint8_t *p, uint32_t len)
{
    uint64_t v = 0;
    for (uint32_t i = len < 8 ? len : 8; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

static inline void le16_store(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void le32_store(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void le64_store(uint8_t *p, uint64_t v)
{
    le32_store(p, (uint32_t)v);
    le32_store(p + 4, (uint32_t)(v >> 32));
}
#endif
