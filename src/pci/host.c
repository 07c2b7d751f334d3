/* PCI host bridge: ECAM and configuration mechanism #1 on bus 0. */
#include <errno.h>
#include <string.h>

#include "base/le.h"
#include "pci/host.h"

int pci_host_init(struct pci_host *h)
{
    memset(h, 0, sizeof(*h));
    return -pthread_mutex_init(&h->lock, NULL);
}

void pci_host_destroy(struct pci_host *h)
{
    pthread_mutex_destroy(&h->lock);
}

int pci_host_add(struct pci_host *h, unsigned slot, struct pci_cfg *cfg)
{
    if (slot >= PCI_HOST_SLOTS || !cfg)
        return -EINVAL;
    if (h->slot[slot])
        return -EBUSY;
    h->slot[slot] = cfg;
    return 0;
}

/* One access to bus/dev/fn/reg under h->lock; absent functions read
 * all-ones. */
static void cfg_access(struct pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned reg,
                       uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_cfg *c = bus == 0 && fn == 0 && dev < PCI_HOST_SLOTS ? h->slot[dev] : NULL;
    if (c && is_write)
        pci_cfg_write(c, reg, data, len);
    else if (c)
        pci_cfg_read(c, reg, data, len);
    else if (!is_write)
        memset(data, 0xff, len);
}

void pci_host_ecam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_host *h = opaque;
    unsigned bus = off >> 20 > 0xff ? 0x100 : (unsigned)(off >> 20);   /* past bus 255: none */
    pthread_mutex_lock(&h->lock);
    cfg_access(h, bus, (off >> 15) & 31, (off >> 12) & 7, off & 0xfff, data, len, is_write);
    pthread_mutex_unlock(&h->lock);
}

void pci_host_cf8_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_host *h = opaque;
    if (off != 0 || len != 4) {
        if (h->cf8_other)
            h->cf8_other(h->cf8_other_opaque, off, data, len, is_write);
        else if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    pthread_mutex_lock(&h->lock);
    if (is_write)
        h->cf8 = le32_load(data) & 0x80fffffcu;
    else
        le32_store(data, h->cf8);
    pthread_mutex_unlock(&h->lock);
}

void pci_host_cfc_io(void *opaque, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    struct pci_host *h = opaque;
    pthread_mutex_lock(&h->lock);
    uint32_t a = h->cf8;
    if ((a & PCI_CF8_ENABLE) && off < 4 && off + len <= 4)
        cfg_access(h, a >> 16 & 0xff, a >> 11 & 31, a >> 8 & 7, (a & 0xfc) + (unsigned)off,
                   data, len, is_write);
    else if (!is_write)
        memset(data, 0xff, len);
    pthread_mutex_unlock(&h->lock);
}
