/* PCI config space (masks, BARs, capabilities) and the host bridge
 * (ECAM, mechanism #1). */
#include <errno.h>
#include <stdint.h>

#include "base/le.h"
#include "harness.h"
#include "pci/cfg.h"
#include "pci/host.h"

static const struct pci_cfg_ids ids = {
    .vendor = 0x1af4, .device = 0x1041, .revision = 1, .class_code = 0x020000,
    .subsys_vendor = 0x1af4, .subsys = 0x0001, .intx_pin = PCI_INTX_A,
};

struct counter { int n; };

static void count_bar(void *o, struct pci_cfg *c)
{
    (void)c;
    ((struct counter *)o)->n++;
}

static uint32_t rd(struct pci_cfg *c, unsigned off, uint32_t len)
{
    uint8_t d[4] = { 0 };
    pci_cfg_read(c, off, d, len);
    return len == 1 ? d[0] : len == 2 ? le16_load(d) : le32_load(d);
}

static void wr(struct pci_cfg *c, unsigned off, uint32_t len, uint32_t v)
{
    uint8_t d[4];
    le32_store(d, v);
    pci_cfg_write(c, off, d, len);
}

static void t_ids_read_only(void)
{
    static struct pci_cfg c;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(rd(&c, 0, 4), 0x10411af4);
    CHECK_EQ(rd(&c, 8, 4), 0x02000001);
    CHECK_EQ(rd(&c, 0x2c, 4), 0x00011af4);
    CHECK_EQ(rd(&c, 0x3d, 1), 1);
    /* every dword of the header written with all-ones, then zero */
    for (unsigned v = 0; v < 2; v++)
        for (unsigned off = 0; off < 0x40; off += 4)
            if (off < 0x10 || off >= 0x28)   /* no BARs declared: those are RO too */
                wr(&c, off, 4, v ? 0 : 0xffffffff);
    CHECK_EQ(rd(&c, 0, 4), 0x10411af4);
    CHECK_EQ(rd(&c, 8, 4), 0x02000001);
    CHECK_EQ(rd(&c, 0x0e, 1), 0);
    CHECK_EQ(rd(&c, 0x2c, 4), 0x00011af4);
    CHECK_EQ(rd(&c, 0x3d, 1), 1);
    CHECK_EQ(rd(&c, 0x34, 1), 0);
    for (unsigned i = 0; i < 6; i++)
        CHECK_EQ(rd(&c, 0x10 + 4 * i, 4), 0);
    /* Command: only IO, MEM, MASTER, INTX_DISABLE */
    wr(&c, PCI_COMMAND, 2, 0xffff);
    CHECK_EQ(rd(&c, PCI_COMMAND, 2), 0x0407);
    CHECK_EQ(pci_cfg_command(&c), 0x0407);
    wr(&c, PCI_COMMAND + 1, 1, 0);
    CHECK_EQ(rd(&c, PCI_COMMAND, 2), 0x0007);
    /* interrupt line writable, pin not */
    wr(&c, PCI_INTERRUPT_LINE, 2, 0xff0b);
    CHECK_EQ(rd(&c, PCI_INTERRUPT_LINE, 2), 0x010b);
    /* bad pin / class */
    struct pci_cfg_ids bad = ids;
    bad.intx_pin = 2;
    CHECK_EQ(pci_cfg_init(&c, &bad, NULL, NULL), -EINVAL);
    bad = ids;
    bad.class_code = 0x1000000;
    CHECK_EQ(pci_cfg_init(&c, &bad, NULL, NULL), -EINVAL);
}

static void t_status_w1c_and_intx(void)
{
    static struct pci_cfg c;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(rd(&c, PCI_STATUS, 2), 0);
    c.data[PCI_STATUS + 1] = 0xf9;           /* as if the device had flagged errors */
    pci_cfg_set_intx_status(&c, true);
    CHECK_EQ(rd(&c, PCI_STATUS, 2), 0xf908);
    wr(&c, PCI_STATUS, 2, 0x0800 | 0x0008);   /* clear one error; INT status is RO */
    CHECK_EQ(rd(&c, PCI_STATUS, 2), 0xf108);
    wr(&c, PCI_COMMAND, 4, 0xffff0000);       /* dword write: clear all errors */
    CHECK_EQ(rd(&c, PCI_STATUS, 2), 0x0008);
    CHECK_EQ(rd(&c, PCI_COMMAND, 2), 0);
    pci_cfg_set_intx_status(&c, false);
    CHECK_EQ(rd(&c, PCI_STATUS, 2), 0);
}

static void t_bar32_sizing(void)
{
    static struct pci_cfg c;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 1, 0x4000, 0), 0);
    CHECK_EQ(rd(&c, 0x14, 4), 0);
    wr(&c, 0x14, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x14, 4), 0xffffc000);
    wr(&c, 0x14, 4, 0xfebc1237);              /* odd: masked to 16 KiB alignment */
    CHECK_EQ(rd(&c, 0x14, 4), 0xfebc0000);
    wr(&c, 0x15, 1, 0xff);                    /* byte write: bits 8-13 stay RO */
    CHECK_EQ(rd(&c, 0x14, 4), 0xfebcc000);
    /* unused BARs stay zero */
    wr(&c, 0x10, 4, 0xffffffff);
    wr(&c, 0x18, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x10, 4), 0);
    CHECK_EQ(rd(&c, 0x18, 4), 0);
    /* prefetchable 32-bit keeps its type bit */
    CHECK_EQ(pci_cfg_bar_init(&c, 2, 0x1000, PCI_BAR_PREFETCH), 0);
    wr(&c, 0x18, 4, 0);
    CHECK_EQ(rd(&c, 0x18, 4), 0x8);
    wr(&c, 0x18, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x18, 4), 0xfffff008);
    /* bad declarations */
    CHECK_EQ(pci_cfg_bar_init(&c, 6, 0x1000, 0), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x800, 0), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x3000, 0), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x100000000ULL, 0), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x1000, PCI_BAR_IO), -EINVAL);   /* I/O: at most 256 */
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 2, PCI_BAR_IO), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 48, PCI_BAR_IO), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 64, PCI_BAR_IO | PCI_BAR_PREFETCH), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 64, PCI_BAR_IO | PCI_BAR_MEM_TYPE_64), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 5, 0x1000, PCI_BAR_MEM_TYPE_64), -EINVAL);
    CHECK_EQ(pci_cfg_bar_init(&c, 1, 0x1000, 0), -EBUSY);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x1000, PCI_BAR_MEM_TYPE_64), -EBUSY);
}

static void t_bar64_sizing_and_addr(void)
{
    static struct pci_cfg c;
    struct counter n = { 0 };
    CHECK_EQ(pci_cfg_init(&c, &ids, count_bar, &n), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x8000, PCI_BAR_MEM_TYPE_64 | PCI_BAR_PREFETCH), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 1, 0x1000, 0), -EBUSY);     /* the upper half */
    CHECK_EQ(rd(&c, 0x10, 4), 0xc);
    wr(&c, 0x10, 4, 0xffffffff);
    wr(&c, 0x14, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x10, 4), 0xffff800c);
    CHECK_EQ(rd(&c, 0x14, 4), 0xffffffff);    /* upper half writable in full */
    uint64_t a = 0;
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    CHECK(!pci_cfg_bar_addr(&c, 0, &a));      /* the sizing pattern does not decode */
    wr(&c, 0x10, 4, 0x12345678);
    wr(&c, 0x14, 4, 0x9);
    CHECK_EQ(rd(&c, 0x10, 4), 0x1234000c);
    CHECK(pci_cfg_bar_addr(&c, 0, &a));
    CHECK_EQ(a, 0x912340000ULL);
    CHECK(!pci_cfg_bar_addr(&c, 1, &a));
    CHECK(!pci_cfg_bar_addr(&c, 6, &a));
    wr(&c, PCI_COMMAND, 2, 0);
    CHECK(!pci_cfg_bar_addr(&c, 0, &a));      /* memory decode off */
    /* preassignment */
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 0, 0x400000000ULL), 0);
    CHECK_EQ(rd(&c, 0x10, 4), 0xc);
    CHECK_EQ(rd(&c, 0x14, 4), 4);
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 0, 0x400001000ULL), -EINVAL);   /* misaligned */
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 1, 0x10000), -EINVAL);
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    CHECK(pci_cfg_bar_addr(&c, 0, &a));
    CHECK_EQ(a, 0x400000000ULL);
    /* 32-bit BAR above 4 GiB refused; address zero does not decode */
    CHECK_EQ(pci_cfg_bar_init(&c, 2, 0x1000, 0), 0);
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 2, 0x100000000ULL), -EINVAL);
    CHECK(!pci_cfg_bar_addr(&c, 2, &a));
    wr(&c, 0x18, 4, 0xfffff000);              /* 32-bit all-ones pattern */
    CHECK(!pci_cfg_bar_addr(&c, 2, &a));
    wr(&c, 0x18, 4, 0xc0000000);
    CHECK(pci_cfg_bar_addr(&c, 2, &a));
    CHECK_EQ(a, 0xc0000000);
    /* a 64-bit BAR above 4 GiB in size: the upper half has RO bits too */
    CHECK_EQ(pci_cfg_bar_init(&c, 3, 0x200000000ULL, PCI_BAR_MEM_TYPE_64), 0);
    wr(&c, 0x1c, 4, 0xffffffff);
    wr(&c, 0x20, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x1c, 4), 0x4);
    CHECK_EQ(rd(&c, 0x20, 4), 0xfffffffe);
    CHECK(!pci_cfg_bar_addr(&c, 3, &a));
    wr(&c, 0x20, 4, 0x3);
    CHECK(pci_cfg_bar_addr(&c, 3, &a));
    CHECK_EQ(a, 0x200000000ULL);
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 3, 0x300000000ULL), -EINVAL);
}

/* An I/O BAR: 16-bit port space, decoded under Command's I/O enable;
 * changing either runs the callback. */
static void t_bar_io(void)
{
    static struct pci_cfg c;
    struct counter n = { 0 };
    uint64_t a = 0;
    CHECK_EQ(pci_cfg_init(&c, &ids, count_bar, &n), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 2, 64, PCI_BAR_IO), 0);
    CHECK_EQ(rd(&c, 0x18, 4), 0x1);
    wr(&c, 0x18, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x18, 4), 0xffc1);        /* upper 16 bits hardwired to 0 */
    CHECK_EQ(n.n, 1);
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_IO);
    CHECK_EQ(n.n, 2);
    CHECK(!pci_cfg_bar_addr(&c, 2, &a));      /* the sizing pattern does not decode */
    wr(&c, 0x18, 4, 0x1237);                  /* odd: masked to 64-byte alignment */
    CHECK_EQ(rd(&c, 0x18, 4), 0x1201);
    CHECK_EQ(n.n, 3);
    CHECK(pci_cfg_bar_addr(&c, 2, &a));
    CHECK_EQ(a, 0x1200);
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);   /* memory on, I/O off */
    CHECK(!pci_cfg_bar_addr(&c, 2, &a));
    CHECK_EQ(n.n, 4);
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_IO);
    CHECK_EQ(n.n, 5);
    wr(&c, 0x18, 4, 0);
    CHECK(!pci_cfg_bar_addr(&c, 2, &a));      /* address zero */
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 2, 0xff80), 0);
    CHECK(pci_cfg_bar_addr(&c, 2, &a));
    CHECK_EQ(a, 0xff80);
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 2, 0x10000), -EINVAL);  /* past the port space */
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 2, 0x1210), -EINVAL);   /* misaligned */
}

static void t_bar_changed_callback(void)
{
    static struct pci_cfg c;
    struct counter n = { 0 };
    CHECK_EQ(pci_cfg_init(&c, &ids, count_bar, &n), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x8000, PCI_BAR_MEM_TYPE_64), 0);
    CHECK_EQ(pci_cfg_bar_set_addr(&c, 0, 0xe0000000), 0);
    CHECK_EQ(n.n, 0);                         /* the setter runs no callback */
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    CHECK_EQ(n.n, 1);
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);             /* no-op */
    wr(&c, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);   /* not memory */
    CHECK_EQ(n.n, 1);
    wr(&c, 0x10, 4, 0xe0000000);              /* same address */
    wr(&c, 0x10, 4, 0xe0000123);              /* masked to the same address */
    wr(&c, 0x14, 4, 0);
    CHECK_EQ(n.n, 1);
    wr(&c, 0x10, 4, 0xd0000000);
    CHECK_EQ(n.n, 2);
    wr(&c, 0x14, 4, 1);
    CHECK_EQ(n.n, 3);
    wr(&c, 0x11, 1, 0x80);                    /* one byte of the low dword */
    CHECK_EQ(n.n, 4);
    wr(&c, 0x3c, 1, 5);                       /* unrelated */
    CHECK_EQ(n.n, 4);
    wr(&c, PCI_COMMAND, 2, 0);
    CHECK_EQ(n.n, 5);
}

static void t_cap_chain(void)
{
    static struct pci_cfg c;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(rd(&c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST, 0);
    int a = pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 16);
    int b = pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 19);
    int m = pci_cfg_cap_add(&c, PCI_CAP_ID_MSIX, 12);
    CHECK_EQ(a, 0x40);
    CHECK_EQ(b, 0x50);
    CHECK_EQ(m, 0x64);                        /* 19 rounded up to 20 */
    CHECK(rd(&c, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST);
    CHECK_EQ(pci_cfg_cap_add(&c, 1, 1), -EINVAL);
    /* walk the chain as a guest does */
    unsigned want[] = { 0x40, 0x50, 0x64 }, id[] = { 9, 9, 0x11 };
    unsigned p = rd(&c, PCI_CAPABILITY_LIST, 1), k = 0;
    while (p && k < 8) {
        CHECK(k < 3);
        CHECK_EQ(p, want[k]);
        CHECK_EQ(p % 4, 0);
        CHECK_EQ(rd(&c, p, 1), id[k]);
        k++;
        p = rd(&c, p + 1, 1);
    }
    CHECK_EQ(k, 3);
    CHECK_EQ(rd(&c, 0x42, 1), 16);            /* vendor caps carry their length */
    CHECK_EQ(rd(&c, 0x52, 1), 19);
    CHECK_EQ(rd(&c, 0x66, 1), 0);
    /* bodies are read-only until the owner says otherwise */
    wr(&c, 0x44, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x44, 4), 0);
    CHECK_EQ(pci_cfg_set_wmask(&c, 0x44, 2, 0xff), 0);
    wr(&c, 0x44, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x44, 4), 0xffff);
    wr(&c, 0x40, 2, 0);                       /* id and next stay */
    CHECK_EQ(rd(&c, 0x40, 2), 0x5009);
    CHECK_EQ(pci_cfg_set_wmask(&c, 4090, 7, 0xff), -EINVAL);
    /* fill up: -ENOSPC, chain intact */
    int last = m, r;
    while ((r = pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 16)) > 0)
        last = r;
    CHECK_EQ(r, -ENOSPC);
    CHECK(last + 16 <= 256);
    CHECK_EQ(pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 300), -ENOSPC);
    CHECK_EQ(rd(&c, (unsigned)last + 1, 1), 0);
}

struct hook_rec { int reads, writes; unsigned off, len; uint32_t val; };

/* Serves bytes 4..7 of its capability itself; the rest default. */
static void hook(void *o, struct pci_cfg *c, unsigned off, uint8_t *d, uint32_t len, bool w)
{
    struct hook_rec *h = o;
    unsigned base = 0x40;
    if (off - base < 4) {
        if (w)
            pci_cfg_default_write(c, off, d, len);
        else
            pci_cfg_default_read(c, off, d, len);
        return;
    }
    h->off = off;
    h->len = len;
    if (w) {
        h->writes++;
        h->val = len == 4 ? le32_load(d) : len == 2 ? le16_load(d) : d[0];
    } else {
        h->reads++;
        memset(d, 0x5a, len);
    }
}

static void t_cap_hook(void)
{
    static struct pci_cfg c;
    struct hook_rec h = { 0 };
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 8), 0x40);
    CHECK_EQ(pci_cfg_cap_add(&c, PCI_CAP_ID_VNDR, 8), 0x48);
    CHECK_EQ(pci_cfg_cap_set_hook(&c, 0x40, hook, &h), 0);
    CHECK_EQ(pci_cfg_cap_set_hook(&c, 0x44, hook, &h), -ENOENT);
    CHECK_EQ(rd(&c, 0x40, 4), 0x00084809);
    CHECK_EQ(rd(&c, 0x44, 4), 0x5a5a5a5a);
    CHECK_EQ(rd(&c, 0x46, 2), 0x5a5a);
    CHECK_EQ(h.reads, 2);
    wr(&c, 0x45, 1, 0x77);
    CHECK_EQ(h.writes, 1);
    CHECK_EQ(h.off, 0x45);
    CHECK_EQ(h.len, 1);
    CHECK_EQ(h.val, 0x77);
    CHECK_EQ(rd(&c, 0x48, 4), 0x00080009);    /* the next cap is not hooked */
    CHECK_EQ(h.reads, 2);
    rd(&c, 0x45, 2);                          /* misaligned: never reaches the hook */
    CHECK_EQ(h.reads, 2);
}

static void t_bad_accesses(void)
{
    static struct pci_cfg c;
    struct counter n = { 0 };
    CHECK_EQ(pci_cfg_init(&c, &ids, count_bar, &n), 0);
    CHECK_EQ(pci_cfg_bar_init(&c, 0, 0x1000, 0), 0);
    /* misaligned: reads all-ones, writes ignored */
    CHECK_EQ(rd(&c, 1, 2), 0xffff);
    CHECK_EQ(rd(&c, 2, 4), 0xffffffff);
    CHECK_EQ(rd(&c, 0x3f, 2), 0xffff);
    wr(&c, 0x3, 2, 0xffff);                   /* would cover Command's high byte */
    wr(&c, 0x12, 4, 0xffffffff);
    CHECK_EQ(rd(&c, PCI_COMMAND, 2), 0);
    CHECK_EQ(rd(&c, 0x10, 4), 0);
    CHECK_EQ(n.n, 0);
    /* bad lengths, offsets at and past the end */
    uint8_t d[8];
    memset(d, 0, sizeof(d));
    pci_cfg_read(&c, 0, d, 3);
    CHECK_EQ(d[0], 0xff);
    CHECK_EQ(d[2], 0xff);
    CHECK_EQ(d[3], 0);
    memset(d, 0, sizeof(d));
    pci_cfg_read(&c, 0, d, 8);
    CHECK_EQ(le32_load(d + 4), 0xffffffff);
    pci_cfg_read(&c, 0, d, 0);
    CHECK_EQ(rd(&c, 4096, 1), 0xff);
    CHECK_EQ(rd(&c, 4094, 4), 0xffffffff);
    CHECK_EQ(rd(&c, 0xffffffff, 4), 0xffffffff);
    CHECK_EQ(rd(&c, 4092, 4), 0);             /* the last dword is fine */
    wr(&c, 4096, 4, 0xffffffff);
    wr(&c, 0xfffffffc, 4, 0xffffffff);
    memset(d, 0xff, sizeof(d));
    pci_cfg_write(&c, 0x10, d, 8);
    pci_cfg_write(&c, 0x10, d, 3);
    CHECK_EQ(rd(&c, 0x10, 4), 0);
    CHECK_EQ(n.n, 0);
    /* extended config space is there and read-only zero */
    wr(&c, 0x100, 4, 0xffffffff);
    CHECK_EQ(rd(&c, 0x100, 4), 0);
}

/* host bridge */

static void host_rw(struct pci_host *h, bool ecam, uint64_t off, uint32_t len, uint32_t *v,
                    bool w)
{
    uint8_t d[4];
    le32_store(d, *v);
    (ecam ? pci_host_ecam_io : pci_host_cfc_io)(h, off, d, len, w);
    if (!w)
        *v = len == 1 ? d[0] : len == 2 ? le16_load(d) : le32_load(d);
}

static uint32_t ecam_rd(struct pci_host *h, uint64_t off, uint32_t len)
{
    uint32_t v = 0;
    host_rw(h, true, off, len, &v, false);
    return v;
}

static void ecam_wr(struct pci_host *h, uint64_t off, uint32_t len, uint32_t v)
{
    host_rw(h, true, off, len, &v, true);
}

static void cf8_wr(struct pci_host *h, uint32_t v, uint32_t len)
{
    uint8_t d[4];
    le32_store(d, v);
    pci_host_cf8_io(h, 0, d, len, true);
}

static uint32_t cf8_rd(struct pci_host *h)
{
    uint8_t d[4] = { 0 };
    pci_host_cf8_io(h, 0, d, 4, false);
    return le32_load(d);
}

static uint32_t cfc_rd(struct pci_host *h, unsigned port_off, uint32_t len)
{
    uint32_t v = 0;
    host_rw(h, false, port_off, len, &v, false);
    return v;
}

static void cfc_wr(struct pci_host *h, unsigned port_off, uint32_t len, uint32_t v)
{
    host_rw(h, false, port_off, len, &v, true);
}

#define ECAM(dev, fn, reg) ((uint64_t)(dev) << 15 | (fn) << 12 | (reg))
#define CF8(bus, dev, fn, reg) (PCI_CF8_ENABLE | (bus) << 16 | (dev) << 11 | (fn) << 8 | (reg))

static void t_host_ecam(void)
{
    static struct pci_cfg c;
    struct pci_host h;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_host_init(&h), 0);
    CHECK_EQ(pci_host_add(&h, 3, &c), 0);
    CHECK_EQ(pci_host_add(&h, 3, &c), -EBUSY);
    CHECK_EQ(pci_host_add(&h, 32, &c), -EINVAL);
    CHECK_EQ(ecam_rd(&h, ECAM(3, 0, 0), 4), 0x10411af4);
    CHECK_EQ(ecam_rd(&h, ECAM(3, 0, 2), 2), 0x1041);
    CHECK_EQ(ecam_rd(&h, ECAM(3, 0, 0xb), 1), 0x02);
    CHECK_EQ(ecam_rd(&h, ECAM(3, 0, 0x100), 4), 0);         /* extended space */
    CHECK_EQ(ecam_rd(&h, ECAM(2, 0, 0), 4), 0xffffffff);    /* empty slot */
    CHECK_EQ(ecam_rd(&h, ECAM(3, 1, 0), 4), 0xffffffff);    /* function 1 */
    CHECK_EQ(ecam_rd(&h, ECAM(3, 7, 0), 2), 0xffff);
    CHECK_EQ(ecam_rd(&h, 1u << 20 | ECAM(3, 0, 0), 4), 0xffffffff);   /* bus 1 */
    CHECK_EQ(ecam_rd(&h, 0x1000000000ULL | ECAM(3, 0, 0), 4), 0xffffffff);
    ecam_wr(&h, ECAM(3, 0, PCI_COMMAND), 2, PCI_COMMAND_MEMORY);
    CHECK_EQ(c.data[PCI_COMMAND], PCI_COMMAND_MEMORY);
    ecam_wr(&h, ECAM(3, 1, PCI_COMMAND), 2, 0);             /* function 1: ignored */
    ecam_wr(&h, 1u << 20 | ECAM(3, 0, PCI_COMMAND), 2, 0);  /* bus 1: ignored */
    CHECK_EQ(c.data[PCI_COMMAND], PCI_COMMAND_MEMORY);
    CHECK_EQ(ecam_rd(&h, ECAM(3, 0, 1), 2), 0xffff);        /* misaligned */
    pci_host_destroy(&h);
}

struct other_rec { int n; uint64_t off; uint32_t len; bool w; };

static void other_io(void *o, uint64_t off, uint8_t *d, uint32_t len, bool w)
{
    struct other_rec *r = o;
    r->n++; r->off = off; r->len = len; r->w = w;
    if (!w)
        memset(d, 0x42, len);
}

static void t_host_cf8_cfc(void)
{
    static struct pci_cfg c;
    struct pci_host h;
    CHECK_EQ(pci_cfg_init(&c, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_host_init(&h), 0);
    CHECK_EQ(pci_host_add(&h, 0, &c), 0);
    /* disabled: data port reads all-ones, writes ignored */
    cf8_wr(&h, CF8(0, 0, 0, 4) & ~PCI_CF8_ENABLE, 4);
    CHECK_EQ(cfc_rd(&h, 0, 4), 0xffffffff);
    cfc_wr(&h, 0, 2, PCI_COMMAND_MEMORY);
    CHECK_EQ(c.data[PCI_COMMAND], 0);
    /* the address register latches 4-byte writes only; reserved bits read 0 */
    cf8_wr(&h, 0xffffffff, 4);
    CHECK_EQ(cf8_rd(&h), 0x80fffffc);
    cf8_wr(&h, CF8(0, 0, 0, 0), 4);
    CHECK_EQ(cf8_rd(&h), 0x80000000);
    cf8_wr(&h, 0x12, 1);
    cf8_wr(&h, 0x1234, 2);
    CHECK_EQ(cf8_rd(&h), 0x80000000);
    uint8_t d[4] = { 0 };
    pci_host_cf8_io(&h, 1, d, 1, false);       /* 0xCF9: not ours */
    CHECK_EQ(d[0], 0xff);
    /* data port byte offsets */
    CHECK_EQ(cfc_rd(&h, 0, 4), 0x10411af4);
    CHECK_EQ(cfc_rd(&h, 0, 2), 0x1af4);
    CHECK_EQ(cfc_rd(&h, 2, 2), 0x1041);
    CHECK_EQ(cfc_rd(&h, 1, 1), 0x1a);
    CHECK_EQ(cfc_rd(&h, 3, 1), 0x10);
    CHECK_EQ(cfc_rd(&h, 1, 2), 0xffff);       /* 0xCFD word: misaligned config access */
    CHECK_EQ(cfc_rd(&h, 3, 2), 0xffff);       /* past the data port */
    cf8_wr(&h, CF8(0, 0, 0, 0x3c), 4);
    cfc_wr(&h, 0, 1, 0x0a);
    CHECK_EQ(c.data[PCI_INTERRUPT_LINE], 0x0a);
    CHECK_EQ(cfc_rd(&h, 1, 1), 1);            /* 0xCFD: the pin */
    cf8_wr(&h, CF8(0, 0, 0, 4), 4);
    cfc_wr(&h, 1, 1, 0x04);                   /* 0xCFD: Command high byte */
    CHECK_EQ(c.data[PCI_COMMAND + 1], 0x04);
    cfc_wr(&h, 0, 4, 0x7);
    CHECK_EQ(cfc_rd(&h, 0, 2), 0x7);
    /* absent devices, functions, buses */
    cf8_wr(&h, CF8(0, 1, 0, 0), 4);
    CHECK_EQ(cfc_rd(&h, 0, 4), 0xffffffff);
    cf8_wr(&h, CF8(0, 0, 2, 0), 4);
    CHECK_EQ(cfc_rd(&h, 0, 4), 0xffffffff);
    cf8_wr(&h, CF8(1, 0, 0, 0), 4);
    CHECK_EQ(cfc_rd(&h, 0, 4), 0xffffffff);
    cfc_wr(&h, 0, 4, 0);
    CHECK_EQ(cfc_rd(&h, 4, 1), 0xff);          /* outside the range */
    /* the optional handler behind non-dword 0xCF8-0xCFB accesses */
    struct other_rec o = { 0 };
    h.cf8_other = other_io;
    h.cf8_other_opaque = &o;
    d[0] = 6;
    pci_host_cf8_io(&h, 1, d, 1, true);
    CHECK_EQ(o.n, 1);
    CHECK_EQ(o.off, 1);
    CHECK(o.w);
    pci_host_cf8_io(&h, 0, d, 2, false);
    CHECK_EQ(o.n, 2);
    CHECK_EQ(d[0], 0x42);
    CHECK_EQ(cf8_rd(&h), CF8(1, 0, 0, 0));
    pci_host_destroy(&h);
}

int main(void)
{
    RUN(t_ids_read_only);
    RUN(t_status_w1c_and_intx);
    RUN(t_bar32_sizing);
    RUN(t_bar64_sizing_and_addr);
    RUN(t_bar_io);
    RUN(t_bar_changed_callback);
    RUN(t_cap_chain);
    RUN(t_cap_hook);
    RUN(t_bad_accesses);
    RUN(t_host_ecam);
    RUN(t_host_cf8_cfc);
    return harness_done();
}
