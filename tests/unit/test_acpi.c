/* Unit tests for the x86 ACPI table builder. The iasl test needs the
 * acpica-tools package (it fails, loudly, when iasl is missing). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "base/le.h"
#include "harness.h"

#define BASE   X86_ACPI_ADDR
#define CAP    X86_ACPI_MAX


static uint8_t sum8(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

static const struct devmgr_mmio_window two_virtio[2] = {
    { X86_VIRTIO_MMIO_BASE, X86_VIRTIO_MMIO_SIZE, 5 },
    { X86_VIRTIO_MMIO_BASE + X86_VIRTIO_MMIO_SIZE, X86_VIRTIO_MMIO_SIZE, 6 },
};

/* A description with the first n of two_virtio and no PCI. */
static struct devmgr_desc desc_virtio(int n)
{
    struct devmgr_desc d;
    memset(&d, 0, sizeof(d));
    for (int i = 0; i < n; i++)
        d.mmio[i] = two_virtio[i];
    d.nmmio = n;
    return d;
}

/* Resolve a table address to a checked pointer inside buf[0..used): the
 * whole table (by its length field) must lie inside, with a good checksum
 * and the expected signature. NULL otherwise. */
static const uint8_t *table_at(const uint8_t *buf, size_t used, uint64_t base,
                               uint64_t addr, const char *sig)
{
    if (addr < base || addr - base > used - 36)
        return NULL;
    const uint8_t *t = buf + (addr - base);
    uint32_t len = le32_load(t + 4);
    if (len < 36 || len > used - (addr - base))
        return NULL;
    if (memcmp(t, sig, 4) != 0 || sum8(t, len) != 0)
        return NULL;
    if (memcmp(t + 10, "ARCVMM", 6) != 0)
        return NULL;
    return t;
}

static int memfind(const uint8_t *h, size_t hn, const void *n, size_t nn)
{
    int count = 0;
    for (size_t i = 0; i + nn <= hn; i++)
        if (memcmp(h + i, n, nn) == 0)
            count++;
    return count;
}

static void check_gas_io8(const uint8_t *g, uint16_t port, int *ok)
{
    *ok = g[0] == 1 && g[1] == 8 && g[2] == 0 && g[3] == 1 && le64_load(g + 4) == port;
}

/* Build with ncpus/nvirtio and check every table. */
static void check_build(int ncpus, int nvirtio)
{
    uint8_t *buf = malloc(CAP);
    CHECK(buf);
    memset(buf, 0xee, CAP);
    struct devmgr_desc desc = desc_virtio(nvirtio);
    struct acpi_config cfg = { ncpus, nvirtio ? &desc : NULL };
    ssize_t r = acpi_build(&cfg, BASE, buf, CAP);
    CHECK(r > 0);
    size_t used = (size_t)r;
    CHECK(used <= CAP);
    CHECK(BASE + used <= 0x100000);
    CHECK_EQ(buf[used], 0xee);          /* nothing written past the end */

    /* RSDP */
    const uint8_t *rsdp = buf;
    CHECK(memcmp(rsdp, "RSD PTR ", 8) == 0);
    CHECK_EQ(sum8(rsdp, 20), 0);
    CHECK_EQ(sum8(rsdp, 36), 0);
    CHECK(memcmp(rsdp + 9, "ARCVMM", 6) == 0);
    CHECK_EQ(rsdp[15], 2);
    CHECK_EQ(le32_load(rsdp + 16), 0);
    CHECK_EQ(le32_load(rsdp + 20), 36);
    CHECK_EQ(rsdp[33] | rsdp[34] | rsdp[35], 0);

    /* XSDT */
    uint64_t xsdt_addr = le64_load(rsdp + 24);
    CHECK_EQ(xsdt_addr % 8, 0);
    const uint8_t *xsdt = table_at(buf, used, BASE, xsdt_addr, "XSDT");
    CHECK(xsdt);
    CHECK_EQ(le32_load(xsdt + 4), 36 + 2 * 8);
    CHECK(memcmp(xsdt + 16, "ARCVMM  ", 8) == 0);
    const uint8_t *fadt = table_at(buf, used, BASE, le64_load(xsdt + 36), "FACP");
    const uint8_t *madt = table_at(buf, used, BASE, le64_load(xsdt + 44), "APIC");
    CHECK(fadt);
    CHECK(madt);

    /* FADT */
    CHECK_EQ(le32_load(fadt + 4), 276);
    CHECK_EQ(fadt[8], 6);
    uint32_t flags = le32_load(fadt + 112);
    CHECK(flags & (1u << 20));          /* HW_REDUCED_ACPI */
    CHECK(flags & (1u << 10));          /* RESET_REG_SUP */
    CHECK_EQ(le16_load(fadt + 46), X86_ACPI_SCI_IRQ);
    CHECK_EQ(le32_load(fadt + 36), 0);      /* no FACS */
    CHECK_EQ(le64_load(fadt + 132), 0);
    CHECK_EQ(le32_load(fadt + 64), 0);      /* no PM1a control block */
    CHECK_EQ(le16_load(fadt + 109) & (1u << 2), 1u << 2);   /* VGA not present */
    int ok;
    check_gas_io8(fadt + 116, X86_ACPI_RESET_PORT, &ok);
    CHECK(ok);
    CHECK_EQ(fadt[128], X86_ACPI_RESET_VALUE);
    check_gas_io8(fadt + 244, X86_ACPI_SLEEP_CTL_PORT, &ok);
    CHECK(ok);
    check_gas_io8(fadt + 256, X86_ACPI_SLEEP_STS_PORT, &ok);
    CHECK(ok);
    CHECK(memcmp(fadt + 268, "ARCVMM\0\0", 8) == 0);
    uint64_t dsdt_addr = le64_load(fadt + 140);
    CHECK_EQ(le32_load(fadt + 40), dsdt_addr);
    const uint8_t *dsdt = table_at(buf, used, BASE, dsdt_addr, "DSDT");
    CHECK(dsdt);
    CHECK_EQ(dsdt[8], 2);

    /* MADT */
    uint32_t mlen = le32_load(madt + 4);
    CHECK_EQ(le32_load(madt + 36), X86_LAPIC_ADDR);
    CHECK_EQ(le32_load(madt + 40), 1);      /* PCAT_COMPAT */
    int nlapic = 0, nioapic = 0, niso = 0, nnmi = 0, nentries = 0;
    int iso0 = 0, iso9 = 0;
    size_t off = 44;
    while (off < mlen) {
        const uint8_t *e = madt + off;
        CHECK(off + 2 <= mlen);
        CHECK(e[1] >= 2 && off + e[1] <= mlen);
        nentries++;
        switch (e[0]) {
        case 0:
            CHECK_EQ(e[1], 8);
            CHECK_EQ(e[2], nlapic);
            CHECK_EQ(e[3], nlapic);
            CHECK_EQ(le32_load(e + 4), 1);
            nlapic++;
            break;
        case 1:
            CHECK_EQ(e[1], 12);
            CHECK_EQ(e[2], ncpus);
            CHECK_EQ(le32_load(e + 4), X86_IOAPIC_ADDR);
            CHECK_EQ(le32_load(e + 8), 0);
            nioapic++;
            break;
        case 2:
            CHECK_EQ(e[1], 10);
            CHECK_EQ(e[2], 0);
            if (e[3] == 0) {
                CHECK_EQ(le32_load(e + 4), 2);
                CHECK_EQ(le16_load(e + 8), 0x0005);     /* edge, active high */
                iso0++;
            } else {
                CHECK_EQ(e[3], X86_ACPI_SCI_IRQ);
                CHECK_EQ(le32_load(e + 4), X86_ACPI_SCI_IRQ);
                CHECK_EQ(le16_load(e + 8), 0x000d);     /* level, active high */
                iso9++;
            }
            niso++;
            break;
        case 4:
            CHECK_EQ(e[1], 6);
            CHECK_EQ(e[2], 0xff);
            CHECK_EQ(e[5], 1);
            nnmi++;
            break;
        default:
            CHECK(!"unexpected MADT entry type");
        }
        off += e[1];
    }
    CHECK_EQ(off, mlen);
    CHECK_EQ(nlapic, ncpus);
    CHECK_EQ(nioapic, 1);
    CHECK_EQ(niso, 2);
    CHECK_EQ(iso0, 1);
    CHECK_EQ(iso9, 1);
    CHECK_EQ(nnmi, 1);
    CHECK_EQ(nentries, ncpus + 4);

    /* DSDT content (structure is checked byte-exactly in test_aml and by
     * iasl below; here: the names the guest needs are present). */
    uint32_t dlen = le32_load(dsdt + 4);
    static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04,
                                  0x0a, X86_ACPI_S5_SLP_TYP, 0, 0, 0 };
    CHECK_EQ(memfind(dsdt, dlen, s5, sizeof(s5)), 1);
    static const uint8_t pnp0501[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
    CHECK_EQ(memfind(dsdt, dlen, pnp0501, sizeof(pnp0501)), 1);
    CHECK_EQ(memfind(dsdt, dlen, "COM1", 4), 1);
    CHECK_EQ(memfind(dsdt, dlen, "LNRO0005", 8), nvirtio);
    CHECK_EQ(memfind(dsdt, dlen, "VR00", 4), nvirtio > 0);
    CHECK_EQ(memfind(dsdt, dlen, "VR01", 4), nvirtio > 1);
    for (int i = 0; i < nvirtio; i++) {
        uint8_t mem[12] = { 0x86, 0x09, 0x00, 0x01 };
        uint8_t irq[9] = { 0x89, 0x06, 0x00, 0x03, 0x01 };
        for (int b = 0; b < 4; b++) {
            mem[4 + b] = (uint8_t)(two_virtio[i].base >> (8 * b));
            mem[8 + b] = (uint8_t)(two_virtio[i].size >> (8 * b));
            irq[5 + b] = (uint8_t)(two_virtio[i].gsi >> (8 * b));
        }
        CHECK_EQ(memfind(dsdt, dlen, mem, sizeof(mem)), 1);
        CHECK_EQ(memfind(dsdt, dlen, irq, sizeof(irq)), 1);
    }

    /* Too small a buffer, down to nothing. */
    CHECK_EQ(acpi_build(&cfg, BASE, buf, used - 1), -ENOSPC);
    CHECK_EQ(acpi_build(&cfg, BASE, buf, 16), -ENOSPC);
    CHECK_EQ(acpi_build(&cfg, BASE, buf, 0), -ENOSPC);
    CHECK_EQ(acpi_build(&cfg, BASE, buf, used), (ssize_t)used);
    free(buf);
}

static void t_build_1cpu_0virtio(void) { check_build(1, 0); }
static void t_build_1cpu_2virtio(void) { check_build(1, 2); }
static void t_build_4cpu_0virtio(void) { check_build(4, 0); }
static void t_build_4cpu_2virtio(void) { check_build(4, 2); }
static void t_build_255cpu_2virtio(void) { check_build(255, 2); }

static void t_bad_config(void)
{
    static uint8_t buf[CAP];
    struct acpi_config cfg = { 0, NULL };
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    cfg.ncpus = -1;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    cfg.ncpus = 256;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    CHECK_EQ(acpi_build(NULL, BASE, buf, sizeof(buf)), -EINVAL);
    cfg.ncpus = 1;
    struct devmgr_desc desc = desc_virtio(0);
    cfg.dev = &desc;
    desc.nmmio = -1;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    desc.nmmio = DEVMGR_MAX_MMIO + 1;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    desc.nmmio = 0;
    CHECK_EQ(acpi_build(&cfg, BASE + 8, buf, sizeof(buf)), -EINVAL);  /* misaligned */
    CHECK_EQ(acpi_build(&cfg, UINT64_MAX - 15, buf, sizeof(buf)), -EINVAL);  /* wraps */

    struct devmgr_mmio_window *d = &desc.mmio[0];
    *d = (struct devmgr_mmio_window){ 0xfffff000ULL, 0x1000, 5 };
    desc.nmmio = 1;
    CHECK(acpi_build(&cfg, BASE, buf, sizeof(buf)) > 0);   /* ends exactly at 4 GiB */
    d->base = 0xfffff001ULL;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    d->base = 0x100000000ULL;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    d->base = 0;
    d->size = 0x100000000ULL;                /* below 4 GiB, but too big for Memory32Fixed */
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);
    d->base = 0xd0000000ULL;
    d->size = 0;
    CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL);

    uint8_t *out = NULL;
    size_t len = 0;
    cfg.ncpus = 0;
    CHECK_EQ(acpi_build_dsdt(&cfg, &out, &len), -EINVAL);
    CHECK(out == NULL);
}

/* A full description (DEVMGR_MAX_MMIO windows, names up to VR1F) fits. */
static void t_many_virtio(void)
{
    static uint8_t buf[CAP];
    struct devmgr_desc desc;
    memset(&desc, 0, sizeof(desc));
    for (int i = 0; i < DEVMGR_MAX_MMIO; i++) {
        desc.mmio[i].base = X86_VIRTIO_MMIO_BASE + (uint64_t)i * X86_VIRTIO_MMIO_SIZE;
        desc.mmio[i].size = X86_VIRTIO_MMIO_SIZE;
        desc.mmio[i].gsi = (uint32_t)(5 + i % 4);
    }
    desc.nmmio = DEVMGR_MAX_MMIO;
    struct acpi_config cfg = { 2, &desc };
    ssize_t r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK(r > 0);
    CHECK(memfind(buf, (size_t)r, "VR1F", 4) == 1);
    CHECK(memfind(buf, (size_t)r, "VR0A", 4) == 1);
    CHECK(memfind(buf, (size_t)r, "VR20", 4) == 0);
    CHECK(memfind(buf, (size_t)r, "LNRO0005", 8) == DEVMGR_MAX_MMIO);
}

/* Tables above 4 GiB: the 32-bit DSDT field is left 0, X_DSDT holds it. */
static void t_high_base(void)
{
    static uint8_t buf[CAP];
    const uint64_t base = 0x100000000ULL;
    struct acpi_config cfg = { 1, NULL };
    ssize_t r = acpi_build(&cfg, base, buf, sizeof(buf));
    CHECK(r > 0);
    const uint8_t *xsdt = table_at(buf, (size_t)r, base, le64_load(buf + 24), "XSDT");
    CHECK(xsdt);
    const uint8_t *fadt = table_at(buf, (size_t)r, base, le64_load(xsdt + 36), "FACP");
    CHECK(fadt);
    CHECK_EQ(le32_load(fadt + 40), 0);
    CHECK(table_at(buf, (size_t)r, base, le64_load(fadt + 140), "DSDT"));
}

/* FNV-1a, 64 bits: a fingerprint of a whole build. */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Without a PCI host the tables are exactly what the builder produced
 * before PCI support existed (fingerprints taken from that builder; change
 * them only for an intended change of the non-PCI tables). The other PCI
 * fields do not leak in while present is false. */
static void t_no_pci_unchanged(void)
{
    static uint8_t buf[CAP];
    struct acpi_config cfg = { 1, NULL };
    ssize_t r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK_EQ(r, 597);
    CHECK_EQ(fnv1a(buf, (size_t)r), 0xfb912bc97616b77dULL);

    struct devmgr_desc desc = desc_virtio(2);
    cfg = (struct acpi_config){ 4, &desc };
    r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK_EQ(r, 750);
    CHECK_EQ(fnv1a(buf, (size_t)r), 0x658642191a473dc9ULL);

    desc.pci = (struct devmgr_pci_host){
        .present = false, .ecam_base = 1, .ecam_size = 3, .bus_start = 9, .bus_end = 2,
        .mmio32_base = ~0ULL, .mmio32_size = 7, .nintx = -5,
    };
    r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK_EQ(r, 750);
    CHECK_EQ(fnv1a(buf, (size_t)r), 0x658642191a473dc9ULL);
    CHECK_EQ(memfind(buf, (size_t)r, "MCFG", 4), 0);
    CHECK_EQ(memfind(buf, (size_t)r, "PCI0", 4), 0);
}

#define MMIO64_BASE 0x140000000ULL

/* The board's PCI host: bus 0 only, both windows, INTA of slots 1..3. */
static struct devmgr_desc desc_pci(void)
{
    struct devmgr_desc d = desc_virtio(2);
    d.pci = (struct devmgr_pci_host){
        .present = true,
        .ecam_base = X86_PCI_ECAM_BASE, .ecam_size = X86_PCI_ECAM_SIZE,
        .bus_start = 0, .bus_end = 0,
        .mmio32_base = X86_PCI_MMIO32_BASE, .mmio32_size = X86_PCI_MMIO32_SIZE,
        .mmio64_base = MMIO64_BASE, .mmio64_size = X86_PCI_MMIO64_SIZE,
        .pio_base = X86_PCI_PIO_BASE, .pio_size = X86_PCI_PIO_SIZE,
        .intx = { { 1, 16 }, { 2, 17 }, { 3, 18 } },
        .nintx = 3,
    };
    return d;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Build with `desc` and return the tables found through the XSDT (all with
 * valid checksums): the DSDT (with its length) and the MCFG. */
static void pci_tables(const struct devmgr_desc *desc, uint8_t *buf, size_t *used,
                       const uint8_t **dsdt, const uint8_t **mcfg, int *ok)
{
    struct acpi_config cfg = { 2, desc };
    ssize_t r = acpi_build(&cfg, BASE, buf, CAP);
    *ok = 0;
    if (r <= 0)
        return;
    *used = (size_t)r;
    const uint8_t *xsdt = table_at(buf, *used, BASE, le64_load(buf + 24), "XSDT");
    if (!xsdt || le32_load(xsdt + 4) != 36 + 3 * 8)
        return;
    const uint8_t *fadt = table_at(buf, *used, BASE, le64_load(xsdt + 36), "FACP");
    const uint8_t *madt = table_at(buf, *used, BASE, le64_load(xsdt + 44), "APIC");
    *mcfg = table_at(buf, *used, BASE, le64_load(xsdt + 52), "MCFG");
    if (!fadt || !madt || !*mcfg)
        return;
    *dsdt = table_at(buf, *used, BASE, le64_load(fadt + 140), "DSDT");
    if (!*dsdt)
        return;
    /* IA-PC boot flags: MSI Not Supported (bit 3) and ASPM (bit 4) clear. */
    if (le16_load(fadt + 109) & (3u << 3))
        return;
    *ok = 1;
}

static void t_pci_tables(void)
{
    static uint8_t buf[CAP];
    size_t used = 0;
    const uint8_t *dsdt = NULL, *mcfg = NULL;
    int ok;
    struct devmgr_desc desc = desc_pci();
    pci_tables(&desc, buf, &used, &dsdt, &mcfg, &ok);
    CHECK(ok);

    /* MCFG: revision 1, 8 reserved bytes, one entry: base, segment 0, buses. */
    CHECK_EQ(le32_load(mcfg + 4), 60);
    CHECK_EQ(mcfg[8], 1);
    CHECK_EQ(le64_load(mcfg + 36), 0);
    CHECK_EQ(le64_load(mcfg + 44), X86_PCI_ECAM_BASE);
    CHECK_EQ(le16_load(mcfg + 52), 0);
    CHECK_EQ(mcfg[54], 0);
    CHECK_EQ(mcfg[55], 0);
    CHECK_EQ(le32_load(mcfg + 56), 0);

    uint32_t dlen = le32_load(dsdt + 4);
    CHECK_EQ(memfind(dsdt, dlen, "PCI0", 4), 1);
    CHECK_EQ(memfind(dsdt, dlen, "MRES", 4), 1);
    CHECK_EQ(memfind(dsdt, dlen, "_OSC", 4), 1);
    CHECK_EQ(memfind(dsdt, dlen, "_PRT", 4), 1);
    CHECK_EQ(memfind(dsdt, dlen, "LNRO0005", 8), 2);    /* virtio-mmio still there */
    static const uint8_t hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08 };
    static const uint8_t cid[] = { 0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03 };
    static const uint8_t mres[] = { 0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0c, 0x02 };
    static const uint8_t seg[] = { 0x08, '_', 'S', 'E', 'G', 0x00 };
    static const uint8_t bbn[] = { 0x08, '_', 'B', 'B', 'N', 0x00 };
    CHECK_EQ(memfind(dsdt, dlen, hid, sizeof(hid)), 1);
    CHECK_EQ(memfind(dsdt, dlen, cid, sizeof(cid)), 1);
    CHECK_EQ(memfind(dsdt, dlen, mres, sizeof(mres)), 1);
    CHECK_EQ(memfind(dsdt, dlen, seg, sizeof(seg)), 1);
    CHECK_EQ(memfind(dsdt, dlen, bbn, sizeof(bbn)), 1);

    /* _CRS: WordBusNumber 0..0, IO 0xcf8/8, WordIO (the I/O BAR window),
     * DWordMemory (non-cacheable) and QWordMemory (prefetchable) windows,
     * in that order. */
    uint8_t crs[16 + 8 + 16 + 26 + 46] = {
        0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00,
        0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08,
        0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
    };
    put_le(crs + 24 + 8, X86_PCI_PIO_BASE, 2);
    put_le(crs + 24 + 10, X86_PCI_PIO_BASE + X86_PCI_PIO_SIZE - 1, 2);
    put_le(crs + 24 + 14, X86_PCI_PIO_SIZE, 2);
    uint8_t *m = crs + 40;
    m[0] = 0x87;
    m[1] = 0x17;
    m[4] = 0x0c;
    m[5] = 0x01;
    put_le(m + 10, X86_PCI_MMIO32_BASE, 4);
    put_le(m + 14, X86_PCI_MMIO32_BASE + X86_PCI_MMIO32_SIZE - 1, 4);
    put_le(m + 22, X86_PCI_MMIO32_SIZE, 4);
    uint8_t *q = crs + 66;
    q[0] = 0x8a;
    q[1] = 0x2b;
    q[4] = 0x0c;
    q[5] = 0x07;
    put_le(q + 14, MMIO64_BASE, 8);
    put_le(q + 22, MMIO64_BASE + X86_PCI_MMIO64_SIZE - 1, 8);
    put_le(q + 38, X86_PCI_MMIO64_SIZE, 8);
    CHECK_EQ(memfind(dsdt, dlen, crs, sizeof(crs)), 1);

    /* _PRT: Package(4){ 0xSSSSFFFF, 0, 0, GSI } per slot. */
    for (int i = 0; i < 3; i++) {
        uint8_t ent[] = { 0x12, 0x0b, 0x04, 0x0c, 0xff, 0xff, (uint8_t)(i + 1), 0x00,
                          0x00, 0x00, 0x0a, (uint8_t)(16 + i) };
        CHECK_EQ(memfind(dsdt, dlen, ent, sizeof(ent)), 1);
    }
    /* MRES reserves the ECAM window. */
    uint8_t ecam[12] = { 0x86, 0x09, 0x00, 0x01 };
    put_le(ecam + 4, X86_PCI_ECAM_BASE, 4);
    put_le(ecam + 8, X86_PCI_ECAM_SIZE, 4);
    CHECK_EQ(memfind(dsdt, dlen, ecam, sizeof(ecam)), 1);
}

/* Buses 2..5: the MCFG base is bus 0's (2 MiB below the window), the bus
 * range shows in the MCFG, _BBN and _CRS; windows of size 0 and an empty
 * INTx list are left out. */
static void t_pci_bus_range_and_gaps(void)
{
    static uint8_t buf[CAP];
    size_t used = 0;
    const uint8_t *dsdt = NULL, *mcfg = NULL;
    int ok;
    struct devmgr_desc desc = desc_pci();
    desc.pci.bus_start = 2;
    desc.pci.bus_end = 5;
    desc.pci.ecam_size = 4 << 20;
    desc.pci.mmio64_size = 0;
    desc.pci.nintx = 0;
    pci_tables(&desc, buf, &used, &dsdt, &mcfg, &ok);
    CHECK(ok);
    CHECK_EQ(le64_load(mcfg + 44), X86_PCI_ECAM_BASE - (2 << 20));
    CHECK_EQ(mcfg[54], 2);
    CHECK_EQ(mcfg[55], 5);
    uint32_t dlen = le32_load(dsdt + 4);
    static const uint8_t bbn[] = { 0x08, '_', 'B', 'B', 'N', 0x0a, 0x02 };
    static const uint8_t bus[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0, 0, 0x02, 0x00,
                                   0x05, 0x00, 0, 0, 0x04, 0x00 };
    CHECK_EQ(memfind(dsdt, dlen, bbn, sizeof(bbn)), 1);
    CHECK_EQ(memfind(dsdt, dlen, bus, sizeof(bus)), 1);
    static const uint8_t qword_tag[] = { 0x8a, 0x2b, 0x00 };
    CHECK_EQ(memfind(dsdt, dlen, qword_tag, sizeof(qword_tag)), 0);
    CHECK_EQ(memfind(dsdt, dlen, "_PRT", 4), 0);
    uint8_t ecam[12] = { 0x86, 0x09, 0x00, 0x01 };
    put_le(ecam + 4, X86_PCI_ECAM_BASE, 4);
    put_le(ecam + 8, 4 << 20, 4);
    CHECK_EQ(memfind(dsdt, dlen, ecam, sizeof(ecam)), 1);
}

static void t_pci_bad_config(void)
{
    static uint8_t buf[CAP];
    struct devmgr_desc good = desc_pci(), d;
    struct acpi_config cfg = { 1, &d };
#define BAD(stmt) do { d = good; stmt; CHECK_EQ(acpi_build(&cfg, BASE, buf, sizeof(buf)), -EINVAL); } while (0)
    d = good;
    CHECK(acpi_build(&cfg, BASE, buf, sizeof(buf)) > 0);
    BAD(d.pci.bus_start = 1);                               /* 1 > bus_end 0 */
    BAD(d.pci.ecam_size = 2 << 20);                         /* not 1 MiB per bus */
    BAD(d.pci.ecam_size = 0);
    BAD(d.pci.ecam_base = 0xfff00001ULL);                   /* ends above 4 GiB */
    BAD(d.pci.ecam_base = 0x100000000ULL);
    BAD((d.pci.bus_start = 1, d.pci.bus_end = 1, d.pci.ecam_base = 0x80000));  /* bus 0 base < 0 */
    BAD(d.pci.mmio32_base = 0xf8000000ULL);                 /* 32-bit window crosses 4 GiB */
    BAD(d.pci.mmio32_size = 0x100000001ULL);
    BAD(d.pci.mmio64_base = UINT64_MAX - 0xfff);            /* wraps */
    BAD(d.pci.nintx = -1);
    BAD(d.pci.nintx = DEVMGR_PCI_SLOTS + 1);
    BAD(d.pci.intx[1].slot = 32);
    BAD(d.pci.intx[2].slot = 1);                            /* slot 1 twice */
#undef BAD
    /* The edges that are fine. */
    d = good;
    d.pci.ecam_base = 0xfff00000ULL;                        /* ends at 4 GiB */
    d.pci.mmio32_base = 0xf0000000ULL;
    d.pci.mmio64_base = UINT64_MAX - (X86_PCI_MMIO64_SIZE - 1);
    d.pci.nintx = DEVMGR_PCI_SLOTS;
    for (int i = 0; i < DEVMGR_PCI_SLOTS; i++)
        d.pci.intx[i] = (struct devmgr_pci_intx){ (uint8_t)i, (uint32_t)(16 + i % 8) };
    ssize_t r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK(r > 0);
    CHECK(memfind(buf, (size_t)r, "_PRT", 4) == 1);
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, 1, n, f);
    return (fclose(f) == 0 && w == n) ? 0 : -1;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *s = NULL;
    size_t n = 0, cap = 0;
    int c;
    while ((c = fgetc(f)) != EOF) {
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 4096;
            char *ns = realloc(s, cap);
            if (!ns) {
                free(s);
                fclose(f);
                return NULL;
            }
            s = ns;
        }
        s[n++] = (char)c;
    }
    fclose(f);
    if (s)
        s[n] = 0;
    return s;
}

/* Run a shell command; its exit status, or -1. Output goes to `log`. */
static int run(const char *cmd, const char *log)
{
    char full[1024];
    snprintf(full, sizeof(full), "%s >%s 2>&1", cmd, log);
    int st = system(full);
    if (st == -1 || !WIFEXITED(st))
        return -1;
    return WEXITSTATUS(st);
}

/* Disassemble every table with iasl (acpica-tools) in dir: no errors, and
 * the DSDT shows the names the guest relies on. */
/* Run a tool; fail (printing its output) on a non-zero exit or a line
 * with "Error" or "Warning". Returns its output (caller frees) or NULL. */
static char *tool_ok(const char *dir, const char *cmd, const char *logname)
{
    char full[512], log[256];
    snprintf(log, sizeof(log), "%s/%s.log", dir, logname);
    snprintf(full, sizeof(full), "cd %s && %s", dir, cmd);
    int st = run(full, log);
    char *out = read_file(log);
    int bad = st != 0 || !out || strstr(out, "Error") || strstr(out, "Warning");
    if (bad) {
        fprintf(stderr, "  %s (status %d):\n%s\n", cmd, st, out ? out : "");
        free(out);
        return NULL;
    }
    return out;
}

/* Disassemble the DSDT and MCFG of a build with a PCI host, compile the
 * DSDT's disassembly back; run the
 * bridge's _OSC in acpiexec with the PCI UUID (the buffer comes back
 * unchanged: all requested control granted) and with another UUID (the
 * "unrecognized UUID" bit gets set). */
static void iasl_check_pci(const char *dir)
{
    char path[256];
    static uint8_t buf[CAP];
    size_t used = 0;
    const uint8_t *dsdt = NULL, *mcfg = NULL;
    int ok;
    struct devmgr_desc desc = desc_pci();
    pci_tables(&desc, buf, &used, &dsdt, &mcfg, &ok);
    CHECK(ok);
    snprintf(path, sizeof(path), "%s/pci.aml", dir);
    CHECK_EQ(write_file(path, dsdt, le32_load(dsdt + 4)), 0);
    snprintf(path, sizeof(path), "%s/mcfg.dat", dir);
    CHECK_EQ(write_file(path, mcfg, le32_load(mcfg + 4)), 0);

    char *out = tool_ok(dir, "iasl -d pci.aml", "pci.aml");
    CHECK(out);
    free(out);
    out = tool_ok(dir, "iasl -d mcfg.dat", "mcfg.dat");
    CHECK(out);
    free(out);

    snprintf(path, sizeof(path), "%s/pci.dsl", dir);
    char *dsl = read_file(path);
    CHECK(dsl);
    int found = strstr(dsl, "Device (PCI0)") && strstr(dsl, "EisaId (\"PNP0A08\")") &&
                strstr(dsl, "EisaId (\"PNP0A03\")") && strstr(dsl, "Device (MRES)") &&
                strstr(dsl, "EisaId (\"PNP0C02\")") &&
                strstr(dsl, "WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode") &&
                strstr(dsl, "WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange") &&
                strstr(dsl, "0xC000,             // Range Minimum") &&
                strstr(dsl, "0xFFFF,             // Range Maximum") &&
                strstr(dsl, "DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, "
                            "NonCacheable, ReadWrite") &&
                strstr(dsl, "QWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, "
                            "Prefetchable, ReadWrite") &&
                strstr(dsl, "0x0000000140000000, // Range Minimum") &&
                strstr(dsl, "0x000000053FFFFFFF, // Range Maximum") &&
                strstr(dsl, "0xC0000000,         // Range Minimum") &&
                strstr(dsl, "0xCFFFFFFF,         // Range Maximum") &&
                strstr(dsl, "0x0CF8,             // Range Minimum") &&
                strstr(dsl, "0xE0000000,         // Address Base") &&
                strstr(dsl, "0x0003FFFF") && strstr(dsl, "Method (_OSC, 4, Serialized)") &&
                strstr(dsl, "ToUUID (\"33db4d5b-1ff7-401c-9657-7441c03dd766\")") &&
                strstr(dsl, "Device (VR01)");
    if (!found)
        fprintf(stderr, "%s\n", dsl);
    free(dsl);
    CHECK(found);

    /* The disassembly compiles back without a warning or remark (the
     * compiler's semantic checks: _PRT shape, _OSC arguments, named
     * objects in a method, resource descriptors). */
    char cmd[512], log[256];
    snprintf(cmd, sizeof(cmd), "cd %s && iasl -p pci-re pci.dsl", dir);
    snprintf(log, sizeof(log), "%s/pci-re.log", dir);
    int st = run(cmd, log);
    out = read_file(log);
    found = st == 0 && out && strstr(out, "Compilation successful. 0 Errors, 0 Warnings, 0 Remarks");
    if (!found)
        fprintf(stderr, "  iasl pci.dsl (status %d):\n%s\n", st, out ? out : "");
    free(out);
    CHECK(found);

    snprintf(path, sizeof(path), "%s/mcfg.dsl", dir);
    char *m = read_file(path);
    CHECK(m);
    found = strstr(m, "Base Address : 00000000E0000000") &&
            strstr(m, "Segment Group Number : 0000") &&
            strstr(m, "Start Bus Number : 00") && strstr(m, "End Bus Number : 00");
    if (!found)
        fprintf(stderr, "%s\n", m);
    free(m);
    CHECK(found);

    /* Linux's first _OSC call: revision 1, 3 DWORDs, query flag set,
     * support 0x1f, control 0x1d. */
    static const char *const osc[2] = {
        "acpiexec -b 'execute \\_SB.PCI0._OSC (5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 66) "
        "1 3 (01 00 00 00 1f 00 00 00 1d 00 00 00)' pci.aml",
        "acpiexec -b 'execute \\_SB.PCI0._OSC (5b 4d db 33 f7 1f 1c 40 96 57 74 41 c0 3d d7 67) "
        "1 3 (01 00 00 00 1f 00 00 00 1d 00 00 00)' pci.aml",
    };
    static const char *const want[2] = {
        "0000: 01 00 00 00 1F 00 00 00 1D 00 00 00",
        "0000: 05 00 00 00 1F 00 00 00 1D 00 00 00",
    };
    for (int i = 0; i < 2; i++) {
        out = tool_ok(dir, osc[i], i ? "osc-other" : "osc-pci");
        CHECK(out);
        found = strstr(out, want[i]) != NULL;
        if (!found)
            fprintf(stderr, "%s\n", out);
        free(out);
        CHECK(found);
    }
}

static void iasl_check(const char *dir)
{
    char path[256], cmd[512], log[256];
    static uint8_t buf[CAP];
    struct devmgr_desc desc = desc_virtio(2);
    struct acpi_config cfg = { 4, &desc };
    ssize_t r = acpi_build(&cfg, BASE, buf, sizeof(buf));
    CHECK(r > 0);

    /* The standalone DSDT and the copy inside the build must agree. */
    uint8_t *dsdt = NULL;
    size_t dlen = 0;
    CHECK_EQ(acpi_build_dsdt(&cfg, &dsdt, &dlen), 0);
    CHECK_EQ(memfind(buf, (size_t)r, dsdt, dlen), 1);
    snprintf(path, sizeof(path), "%s/dsdt.aml", dir);
    int wr = write_file(path, dsdt, dlen);
    free(dsdt);
    CHECK_EQ(wr, 0);

    /* The data tables, cut out of the build by the XSDT pointers. */
    const uint8_t *xsdt = buf + (le64_load(buf + 24) - BASE);
    static const char *names[] = { "xsdt", "facp", "apic" };
    const uint8_t *tabs[3] = { xsdt, buf + (le64_load(xsdt + 36) - BASE),
                               buf + (le64_load(xsdt + 44) - BASE) };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s.dat", dir, names[i]);
        CHECK_EQ(write_file(path, tabs[i], le32_load(tabs[i] + 4)), 0);
    }

    static const char *files[] = { "dsdt.aml", "xsdt.dat", "facp.dat", "apic.dat" };
    for (int i = 0; i < 4; i++) {
        snprintf(log, sizeof(log), "%s/%s.log", dir, files[i]);
        snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s", dir, files[i]);
        int st = run(cmd, log);
        char *out = read_file(log);
        if (st != 0 || !out || strstr(out, "Error") || strstr(out, "Warning"))
            fprintf(stderr, "  iasl -d %s (status %d):\n%s\n", files[i], st, out ? out : "");
        int bad = st != 0 || !out || strstr(out, "Error") || strstr(out, "Warning");
        free(out);
        CHECK(!bad);
    }

    snprintf(path, sizeof(path), "%s/dsdt.dsl", dir);
    char *dsl = read_file(path);
    CHECK(dsl);
    int found = strstr(dsl, "LNRO0005") && strstr(dsl, "_S5_") &&
                strstr(dsl, "PNP0501") && strstr(dsl, "Device (VR01)") &&
                strstr(dsl, "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive") &&
                strstr(dsl, "Memory32Fixed (ReadWrite");
    if (!found)
        fprintf(stderr, "%s\n", dsl);
    free(dsl);
    CHECK(found);

    snprintf(path, sizeof(path), "%s/facp.dsl", dir);
    char *facp = read_file(path);
    CHECK(facp);
    found = strstr(facp, "Hardware Reduced (V5) : 1") &&
            strstr(facp, "Reset Register Supported (V2) : 1");
    free(facp);
    CHECK(found);
}

static void t_iasl_disassembles(void)
{
    if (system("command -v iasl >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  iasl NOT FOUND: install acpica-tools "
                        "(apt-get install -y acpica-tools); this test requires it\n");
        CHECK(!"iasl (acpica-tools) is required");
    }
    char dir[] = "/tmp/arcvmm-acpi-XXXXXX", cmd[64];
    CHECK(mkdtemp(dir));
    iasl_check(dir);    /* CHECKs in there return to here: clean up anyway */
    if (!harness_cur_failed)
        iasl_check_pci(dir);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
}

int main(void)
{
    RUN(t_build_1cpu_0virtio);
    RUN(t_build_1cpu_2virtio);
    RUN(t_build_4cpu_0virtio);
    RUN(t_build_4cpu_2virtio);
    RUN(t_build_255cpu_2virtio);
    RUN(t_bad_config);
    RUN(t_many_virtio);
    RUN(t_high_base);
    RUN(t_no_pci_unchanged);
    RUN(t_pci_tables);
    RUN(t_pci_bus_range_and_gaps);
    RUN(t_pci_bad_config);
    RUN(t_iasl_disassembles);
    return harness_done();
}
