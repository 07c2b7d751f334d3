/* libFuzzer target: guest config and MSI-X accesses against one device.
 *
 * The device sits in slot 2 of a PCI host: ids fixed below, a 64-bit
 * prefetchable BAR 0 (32 KiB) holding an MSI-X table of 9 vectors at
 * 0x4000 and its PBA at 0x5000, a 32-bit BAR 2 (4 KiB), three vendor
 * capabilities (one with writable bytes, one hooked with a 4-byte data
 * window served here, like VIRTIO_PCI_CAP_PCI_CFG) and the MSI-X one.
 *
 * Input: a sequence of 8-byte ops (a trailing partial op is dropped):
 *
 *   byte 0   bits 1:0 space: 0 ECAM, 1 ports 0xCF8-0xCFF, 2 BAR 0 (MSI-X
 *            table/PBA), 3 the pci_cfg directly (or, with len code 7,
 *            msix_set_pending(value) for a write, msix_notify(value) for
 *            a read)
 *            bit 2    write
 *            bits 5:3 len code: 1, 2, 4, 8, 0, 3, 16, 4
 *   byte 1-3 offset (24 bits LE; ECAM: bus 0-15 / dev / fn / reg;
 *            ports: low 3 bits, 0-3 address, 4-7 data; BAR: low 16 bits)
 *   byte 4-7 value (LE; 8- and 16-byte writes repeat it)
 *
 * After every op the invariants are checked: read-only ids and the
 * capability chain unchanged, BAR low bits are the type bits and the
 * address bits aligned, Command holds only its writable bits, MSI-X's
 * table size and offsets unchanged, reserved table bits zero, no pending
 * bit past the last vector, absent functions read all-ones, and every
 * callback sees a valid vector. ASan catches any out-of-bounds access. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/le.h"
#include "pci/cfg.h"
#include "pci/host.h"
#include "pci/msix.h"

#define PZ_ASSERT(c) do { if (!(c)) { \
        fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #c, __FILE__, __LINE__); \
        abort(); } } while (0)

#define SLOT    2
#define NVEC    9
#define BAR0_SZ 0x8000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_dev {
    struct pci_host host;
    struct pci_cfg cfg;
    struct msix msix;
    pthread_mutex_t irq_lock;
    int hooked;                /* offset of the hooked capability */
    uint8_t window[4];         /* its data bytes (cap + 8 .. cap + 11) */
    uint8_t snap[0x40];        /* the header as initialised, BAR/command aside */
    unsigned ncap, cap[8];     /* the capability offsets as initialised */
    uint8_t cap_hdr[8][2];     /* their id and next bytes */
};

static const struct pci_cfg_ids fz_ids = {
    .vendor = 0x1af4, .device = 0x1041, .revision = 1, .class_code = 0x020000,
    .subsys_vendor = 0x1af4, .subsys = 1, .intx_pin = PCI_INTX_A,
};

static void on_bar(void *o, struct pci_cfg *c)
{
    uint64_t a;
    for (unsigned i = 0; i < PCI_NUM_BARS + 1; i++) {
        if (!pci_cfg_bar_addr(c, i, &a))
            continue;
        PZ_ASSERT(i == 0 || i == 2);
        PZ_ASSERT(pci_cfg_command(c) & PCI_COMMAND_MEMORY);
        PZ_ASSERT(a != 0 && (a & (c->bar_size[i] - 1)) == 0);
        PZ_ASSERT(a + c->bar_size[i] - 1 > a);
    }
}

static void on_changed(void *o, unsigned v)
{
    struct fz_dev *d = o;
    uint64_t a;
    uint32_t val;
    PZ_ASSERT(v < NVEC);
    PZ_ASSERT(msix_vector(&d->msix, v, &a, &val) == 0);
    PZ_ASSERT((a & 3) == 0);
    (void)msix_vector_masked(&d->msix, v);
}

static void on_deliver(void *o, unsigned v)
{
    struct fz_dev *d = o;
    PZ_ASSERT(v < NVEC);
    PZ_ASSERT(!msix_vector_masked(&d->msix, v));
    PZ_ASSERT(!msix_pending(&d->msix, v));
}

static const struct msix_ops fz_msix_ops = { .vector_changed = on_changed,
                                             .deliver = on_deliver };

/* The hooked capability: bytes 8..11 are a window the owner serves. */
static void on_cap(void *o, struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len,
                   bool is_write)
{
    struct fz_dev *d = o;
    PZ_ASSERT(off >= (unsigned)d->hooked && off + len <= (unsigned)d->hooked + 12);
    PZ_ASSERT(len == 1 || len == 2 || len == 4);
    PZ_ASSERT(off % len == 0);
    unsigned rel = off - (unsigned)d->hooked;
    if (rel >= 8) {
        if (is_write)
            memcpy(d->window + (rel - 8), data, len);
        else
            memcpy(data, d->window + (rel - 8), len);
    } else if (is_write) {
        pci_cfg_default_write(c, off, data, len);
    } else {
        pci_cfg_default_read(c, off, data, len);
    }
}

static void fz_setup(struct fz_dev *d)
{
    memset(d, 0, sizeof(*d));
    PZ_ASSERT(pci_host_init(&d->host) == 0);
    PZ_ASSERT(pthread_mutex_init(&d->irq_lock, NULL) == 0);
    struct pci_cfg *c = &d->cfg;
    PZ_ASSERT(pci_cfg_init(c, &fz_ids, on_bar, d) == 0);
    PZ_ASSERT(pci_cfg_bar_init(c, 0, BAR0_SZ, PCI_BAR_MEM_TYPE_64 | PCI_BAR_PREFETCH) == 0);
    PZ_ASSERT(pci_cfg_bar_init(c, 2, 0x1000, 0) == 0);
    PZ_ASSERT(pci_cfg_bar_set_addr(c, 0, 0x800000000ULL) == 0);
    int a = pci_cfg_cap_add(c, PCI_CAP_ID_VNDR, 16);
    PZ_ASSERT(a > 0);
    PZ_ASSERT(pci_cfg_set_wmask(c, (unsigned)a + 4, 8, 0xff) == 0);
    PZ_ASSERT(pci_cfg_cap_add(c, PCI_CAP_ID_VNDR, 14) > 0);
    d->hooked = pci_cfg_cap_add(c, PCI_CAP_ID_VNDR, 12);
    PZ_ASSERT(d->hooked > 0);
    PZ_ASSERT(pci_cfg_set_wmask(c, (unsigned)d->hooked + 4, 4, 0xff) == 0);
    PZ_ASSERT(pci_cfg_cap_set_hook(c, (unsigned)d->hooked, on_cap, d) == 0);
    PZ_ASSERT(msix_init(&d->msix, c, NVEC, 0, 0x4000, 0x5000, &fz_msix_ops, d,
                        &d->irq_lock) == 0);
    PZ_ASSERT(pci_host_add(&d->host, SLOT, c) == 0);
    memcpy(d->snap, c->data, sizeof(d->snap));
    for (unsigned p = c->data[PCI_CAPABILITY_LIST]; p; p = c->data[p + 1]) {
        PZ_ASSERT(d->ncap < 8);
        d->cap[d->ncap] = p;
        memcpy(d->cap_hdr[d->ncap++], c->data + p, 2);
    }
    PZ_ASSERT(d->ncap == 4);
}

static void fz_check(struct fz_dev *d)
{
    const struct pci_cfg *c = &d->cfg;
    /* ids, class, header type, subsystem, capability pointer, pin */
    PZ_ASSERT(!memcmp(c->data, d->snap, 4));
    PZ_ASSERT(!memcmp(c->data + 8, d->snap + 8, 8));
    PZ_ASSERT(!memcmp(c->data + 0x28, d->snap + 0x28, 0x14));
    PZ_ASSERT(c->data[PCI_INTERRUPT_PIN] == d->snap[PCI_INTERRUPT_PIN]);
    PZ_ASSERT(!memcmp(c->data + 0x3e, d->snap + 0x3e, 2));
    PZ_ASSERT((pci_cfg_command(c) & ~0x0407) == 0);
    PZ_ASSERT((le16_load(c->data + PCI_STATUS) & 0x07ff) == PCI_STATUS_CAP_LIST);
    /* BARs: type bits, alignment, unused ones zero */
    uint32_t b0 = le32_load(c->data + 0x10), b2 = le32_load(c->data + 0x18);
    PZ_ASSERT((b0 & 0x7fff) == 0xc);
    PZ_ASSERT((b2 & 0xfff) == 0);
    PZ_ASSERT(le32_load(c->data + 0x1c) == 0 && le32_load(c->data + 0x20) == 0 &&
              le32_load(c->data + 0x24) == 0);
    /* the capability chain */
    for (unsigned i = 0; i < d->ncap; i++)
        PZ_ASSERT(!memcmp(c->data + d->cap[i], d->cap_hdr[i], 2));
    PZ_ASSERT(c->data[d->cap[0] + 2] == 16 && c->data[d->cap[1] + 2] == 14);
    /* MSI-X: capability fields, reserved bits, PBA tail */
    unsigned m = (unsigned)d->msix.cap;
    PZ_ASSERT((le16_load(c->data + m + 2) & 0x3fff) == NVEC - 1);
    PZ_ASSERT(le32_load(c->data + m + 4) == 0x4000 && le32_load(c->data + m + 8) == 0x5000);
    for (unsigned v = 0; v < NVEC; v++) {
        PZ_ASSERT((d->msix.table[v][0] & 3) == 0);
        PZ_ASSERT((d->msix.table[v][3] & ~1u) == 0);
    }
    PZ_ASSERT((d->msix.pba[0] >> NVEC) == 0);
    for (unsigned v = NVEC; v < MSIX_MAX_VECTORS; v++)
        PZ_ASSERT(d->msix.table[v][3] == 0 && d->msix.table[v][0] == 0);
}

static const uint32_t fz_lens[8] = { 1, 2, 4, 8, 0, 3, 16, 4 };

static void fz_op(struct fz_dev *d, const uint8_t *op)
{
    unsigned space = op[0] & 3, len = fz_lens[op[0] >> 3 & 7];
    bool w = op[0] & 4;
    uint32_t off = op[1] | op[2] << 8 | (uint32_t)op[3] << 16;
    uint8_t buf[16];
    for (unsigned i = 0; i < sizeof(buf); i += 4)
        memcpy(buf + i, op + 4, 4);
    uint8_t guard[16];
    memcpy(guard, buf, sizeof(guard));

    switch (space) {
    case 0: {
        unsigned dev = off >> 15 & 31, fn = off >> 12 & 7, bus = off >> 20;
        pci_host_ecam_io(&d->host, off, buf, len, w);
        if (!w && (bus || fn || dev != SLOT))
            for (unsigned i = 0; i < len; i++)
                PZ_ASSERT(buf[i] == 0xff);
        break;
    }
    case 1:
        if ((off & 7) < 4)
            pci_host_cf8_io(&d->host, off & 3, buf, len, w);
        else
            pci_host_cfc_io(&d->host, off & 3, buf, len, w);
        break;
    case 2:   /* the owner serialises BAR accesses with its lock */
        pthread_mutex_lock(&d->irq_lock);
        (void)msix_bar_io(&d->msix, off & 0xffff, buf, len, w);
        pthread_mutex_unlock(&d->irq_lock);
        break;
    case 3:
        if ((op[0] >> 3 & 7) == 7) {
            unsigned v = op[4];
            uint64_t a;
            uint32_t val;
            pthread_mutex_lock(&d->irq_lock);
            bool masked = msix_vector_masked(&d->msix, v), was = msix_pending(&d->msix, v);
            if (w)
                msix_set_pending(&d->msix, v);
            else if (msix_notify(&d->msix, v, &a, &val))
                PZ_ASSERT(!masked && v < NVEC && (a & 3) == 0);
            else
                PZ_ASSERT(masked);
            PZ_ASSERT(msix_pending(&d->msix, v) == (v < NVEC && (w || masked || was)));
            pthread_mutex_unlock(&d->irq_lock);
        } else if (w) {
            pthread_mutex_lock(&d->host.lock);
            pci_cfg_write(&d->cfg, off & 0x1fff, buf, len);
            pthread_mutex_unlock(&d->host.lock);
        } else {
            pthread_mutex_lock(&d->host.lock);
            pci_cfg_read(&d->cfg, off & 0x1fff, buf, len);
            pthread_mutex_unlock(&d->host.lock);
        }
        break;
    }
    if (w)   /* a write never scribbles on its source */
        PZ_ASSERT(!memcmp(buf, guard, sizeof(buf)));
    else     /* a read fills at most len bytes */
        PZ_ASSERT(!memcmp(buf + len, guard + len, sizeof(buf) - len));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct fz_dev d;     /* large: not on the stack */
    fz_setup(&d);
    for (size_t i = 0; i + 8 <= size; i += 8) {
        fz_op(&d, data + i);
        fz_check(&d);
    }
    pthread_mutex_destroy(&d.irq_lock);
    pci_host_destroy(&d.host);
    return 0;
}
