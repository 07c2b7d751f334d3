/* PCI type-0 configuration space: masks, BARs, capability list. */
#include <errno.h>
#include <string.h>

#include "base/le.h"
#include "pci/cfg.h"

/* Status bits a guest clears by writing 1: master data parity error (8),
 * signalled target abort (11), received target/master abort (12, 13),
 * signalled system error (14), detected parity error (15). */
#define PCI_STATUS_W1C  0xf900

static bool access_ok(unsigned off, uint32_t len)
{
    return (len == 1 || len == 2 || len == 4) && off < PCI_CFG_SIZE &&
           off + len <= PCI_CFG_SIZE && off % len == 0;
}

static void set16(uint8_t *a, unsigned off, uint16_t v)
{
    le16_store(a + off, v);
}

int pci_cfg_init(struct pci_cfg *c, const struct pci_cfg_ids *ids, pci_cfg_bar_fn bar_changed,
                 void *opaque)
{
    if (ids->intx_pin > PCI_INTX_A || ids->class_code > 0xffffff)
        return -EINVAL;
    memset(c, 0, sizeof(*c));
    set16(c->data, PCI_VENDOR_ID, ids->vendor);
    set16(c->data, PCI_DEVICE_ID, ids->device);
    c->data[PCI_REVISION_ID] = ids->revision;
    c->data[PCI_CLASS_PROG] = (uint8_t)ids->class_code;
    c->data[PCI_CLASS_PROG + 1] = (uint8_t)(ids->class_code >> 8);
    c->data[PCI_CLASS_PROG + 2] = (uint8_t)(ids->class_code >> 16);
    c->data[PCI_HEADER_TYPE] = 0;
    set16(c->data, PCI_SUBSYSTEM_VENDOR_ID, ids->subsys_vendor);
    set16(c->data, PCI_SUBSYSTEM_ID, ids->subsys);
    c->data[PCI_INTERRUPT_PIN] = ids->intx_pin;

    set16(c->wmask, PCI_COMMAND, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
                                 PCI_COMMAND_INTX_DISABLE);
    set16(c->w1c, PCI_STATUS, PCI_STATUS_W1C);
    c->wmask[PCI_INTERRUPT_LINE] = 0xff;
    c->cap_end = PCI_CAP_START;
    c->bar_changed = bar_changed;
    c->opaque = opaque;
    return 0;
}

#define PCI_IO_LIMIT 0xffffu     /* x86's 16-bit port space */

static bool bar_is_io(const struct pci_cfg *c, unsigned i)
{
    return c->bar_flags[i] & PCI_BAR_IO;
}

static bool bar_geometry_ok(uint64_t size, unsigned flags)
{
    if (size & (size - 1))
        return false;
    if (flags & PCI_BAR_IO)
        return flags == PCI_BAR_IO && size >= 4 && size <= 256;
    return !(flags & ~(unsigned)(PCI_BAR_MEM_TYPE_64 | PCI_BAR_PREFETCH)) && size >= 0x1000 &&
           ((flags & PCI_BAR_MEM_TYPE_64) || size <= 0x80000000ULL);
}

int pci_cfg_bar_init(struct pci_cfg *c, unsigned i, uint64_t size, unsigned flags)
{
    bool is64 = flags & PCI_BAR_MEM_TYPE_64;
    if (i >= PCI_NUM_BARS || (is64 && i + 1 >= PCI_NUM_BARS) || !bar_geometry_ok(size, flags))
        return -EINVAL;
    if (c->bar_size[i] || (i > 0 && (c->bar_flags[i - 1] & PCI_BAR_MEM_TYPE_64)) ||
        (is64 && c->bar_size[i + 1]))
        return -EBUSY;
    c->bar_size[i] = size;
    c->bar_flags[i] = (uint8_t)flags;
    unsigned off = PCI_BAR0 + 4 * i;
    uint64_t mask = ~(size - 1);
    le32_store(c->data + off, flags);
    if (flags & PCI_BAR_IO)         /* the upper 16 bits are hardwired to 0 */
        le32_store(c->wmask + off, (uint32_t)mask & PCI_IO_LIMIT & ~0x3u);
    else
        le32_store(c->wmask + off, (uint32_t)mask & ~0xfu);
    if (is64)
        le32_store(c->wmask + off + 4, (uint32_t)(mask >> 32));
    return 0;
}

/* BAR i's address bits as the registers hold them now */
static uint64_t bar_raw(const struct pci_cfg *c, unsigned i)
{
    unsigned off = PCI_BAR0 + 4 * i;
    uint64_t v = le32_load(c->data + off) & (bar_is_io(c, i) ? ~0x3u : ~0xfu);
    if (c->bar_flags[i] & PCI_BAR_MEM_TYPE_64)
        v |= (uint64_t)le32_load(c->data + off + 4) << 32;
    return v;
}

int pci_cfg_bar_set_addr(struct pci_cfg *c, unsigned i, uint64_t addr)
{
    if (i >= PCI_NUM_BARS || !c->bar_size[i] || (addr & (c->bar_size[i] - 1)))
        return -EINVAL;
    bool is64 = c->bar_flags[i] & PCI_BAR_MEM_TYPE_64;
    if ((!is64 && addr > UINT32_MAX) ||
        (bar_is_io(c, i) && addr + c->bar_size[i] - 1 > PCI_IO_LIMIT))
        return -EINVAL;
    unsigned off = PCI_BAR0 + 4 * i;
    le32_store(c->data + off, (uint32_t)addr | c->bar_flags[i]);
    if (is64)
        le32_store(c->data + off + 4, (uint32_t)(addr >> 32));
    return 0;
}

bool pci_cfg_bar_addr(const struct pci_cfg *c, unsigned i, uint64_t *addr)
{
    if (i >= PCI_NUM_BARS || !c->bar_size[i])
        return false;
    bool io = bar_is_io(c, i);
    if (!(pci_cfg_command(c) & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY)))
        return false;
    uint64_t size = c->bar_size[i];
    uint64_t a = bar_raw(c, i);
    uint64_t sizing = ~(size - 1);
    if (io)
        sizing &= PCI_IO_LIMIT & ~0x3u;
    else if (!(c->bar_flags[i] & PCI_BAR_MEM_TYPE_64))
        sizing &= UINT32_MAX;
    if (a == 0 || a == sizing || a + size - 1 < a || (io && a + size - 1 > PCI_IO_LIMIT))
        return false;
    *addr = a;
    return true;
}

int pci_cfg_cap_add(struct pci_cfg *c, uint8_t id, unsigned len)
{
    if (len < 2)
        return -EINVAL;
    unsigned off = c->cap_end, rlen = (len + 3) & ~3u;
    if (c->ncap >= PCI_CFG_MAX_CAPS || len > PCI_CFG_LEGACY_SIZE ||
        off + rlen > PCI_CFG_LEGACY_SIZE)
        return -ENOSPC;
    c->data[off] = id;
    c->data[off + 1] = 0;
    if (id == PCI_CAP_ID_VNDR && len >= 3)
        c->data[off + 2] = (uint8_t)len;
    if (c->ncap == 0) {
        c->data[PCI_CAPABILITY_LIST] = (uint8_t)off;
        c->data[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
    } else {
        c->data[c->cap[c->ncap - 1].off + 1] = (uint8_t)off;
    }
    c->cap[c->ncap++] = (struct pci_cfg_cap){ .off = (uint16_t)off, .len = (uint16_t)rlen };
    c->cap_end = (uint16_t)(off + rlen);
    return (int)off;
}

int pci_cfg_cap_set_hook(struct pci_cfg *c, unsigned off, pci_cap_fn fn, void *opaque)
{
    for (int i = 0; i < c->ncap; i++) {
        if (c->cap[i].off == off) {
            c->cap[i].fn = fn;
            c->cap[i].opaque = opaque;
            return 0;
        }
    }
    return -ENOENT;
}

int pci_cfg_set_wmask(struct pci_cfg *c, unsigned off, unsigned len, uint8_t mask)
{
    if (off > PCI_CFG_SIZE || len > PCI_CFG_SIZE - off)
        return -EINVAL;
    memset(c->wmask + off, mask, len);
    return 0;
}

void pci_cfg_set_intx_status(struct pci_cfg *c, bool level)
{
    if (level)
        c->data[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
    else
        c->data[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
}

uint16_t pci_cfg_command(const struct pci_cfg *c)
{
    return le16_load(c->data + PCI_COMMAND);
}

void pci_cfg_default_read(const struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len)
{
    if (!access_ok(off, len)) {
        memset(data, 0xff, len);
        return;
    }
    memcpy(data, c->data + off, len);
}

void pci_cfg_default_write(struct pci_cfg *c, unsigned off, const uint8_t *data, uint32_t len)
{
    if (!access_ok(off, len))
        return;
    for (unsigned i = 0; i < len; i++) {
        uint8_t *b = &c->data[off + i];
        uint8_t wm = c->wmask[off + i], w1c = c->w1c[off + i];
        if (!wm && !w1c)
            continue;   /* read-only: not even rewritten (see set_intx_status) */
        *b = (uint8_t)((*b & ~wm) | (data[i] & wm));
        *b &= (uint8_t)~(data[i] & w1c);
    }
}

/* The hooked capability holding off, or NULL */
static const struct pci_cfg_cap *cap_hooked(const struct pci_cfg *c, unsigned off)
{
    for (int i = 0; i < c->ncap; i++) {
        const struct pci_cfg_cap *k = &c->cap[i];
        if (k->fn && off >= k->off && off < (unsigned)k->off + k->len)
            return k;
    }
    return NULL;
}

void pci_cfg_read(struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len)
{
    const struct pci_cfg_cap *k = access_ok(off, len) ? cap_hooked(c, off) : NULL;
    if (k)
        k->fn(k->opaque, c, off, data, len, false);
    else
        pci_cfg_default_read(c, off, data, len);
}

/* What a write may change that the owner must follow */
struct decode_state {
    uint64_t decode;                /* Command's memory and I/O enables */
    uint64_t bar[PCI_NUM_BARS];
};

static void decode_state_get(const struct pci_cfg *c, struct decode_state *s)
{
    s->decode = pci_cfg_command(c) & (PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    for (unsigned i = 0; i < PCI_NUM_BARS; i++)
        s->bar[i] = c->bar_size[i] ? bar_raw(c, i) : 0;
}

void pci_cfg_write(struct pci_cfg *c, unsigned off, const uint8_t *data, uint32_t len)
{
    if (!access_ok(off, len))
        return;
    struct decode_state before, after;
    decode_state_get(c, &before);
    const struct pci_cfg_cap *k = cap_hooked(c, off);
    if (k) {
        uint8_t buf[4];
        memcpy(buf, data, len);
        k->fn(k->opaque, c, off, buf, len, true);
    } else {
        pci_cfg_default_write(c, off, data, len);
    }
    decode_state_get(c, &after);
    if (c->bar_changed && memcmp(&before, &after, sizeof(before)))
        c->bar_changed(c->opaque, c);
}
