/* x86 ACPI tables; see acpi.h. Table layouts: ACPI 6.x spec chapter 5;
 * MCFG and the host bridge _OSC: PCI Firmware Specification 3.x, 4.1/4.5.
 *
 * The platform is "hardware-reduced" (FADT flag HW_REDUCED_ACPI): no PM1
 * event/control blocks, no GPE blocks, no FACS. Power-off and reset go
 * through the FADT sleep control/status and reset registers (I/O ports from
 * layout.h), and devices are described in the DSDT. A PCI host bridge, when
 * the description has one, is \_SB.PCI0 with its ECAM window in an MCFG
 * table and reserved by a motherboard-resources device. */
#include "arch/x86/acpi.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "arch/x86/layout.h"
#include "base/le.h"

#define ACPI_OEM_ID        "ARCVMM"      /* 6 bytes */
#define ACPI_OEM_TABLE_ID  "ARCVMM  "    /* 8 bytes */
#define ACPI_OEM_REVISION  1
#define ACPI_CREATOR_ID    "AVMM"
#define ACPI_CREATOR_REV   1

#define ACPI_HDR_LEN       36
#define RSDP_LEN           36
#define RSDP_V1_LEN        20            /* bytes the first checksum covers */
#define FADT_LEN           276           /* ACPI 6.0+ FADT */
#define FADT_REVISION      6
#define FADT_MINOR_REV     0
#define MADT_REVISION      4             /* ACPI 6.0-6.2 */
#define DSDT_REVISION      2             /* 2+: 64-bit AML integers */
#define XSDT_REVISION      1
#define MCFG_REVISION      1
#define MCFG_LEN           (ACPI_HDR_LEN + 8 + 16)   /* one allocation entry */
#define ECAM_BUS_SHIFT     20                         /* 1 MiB of config space per bus */
#define PCI_CFG_PORT_LEN   8                          /* 0xcf8..0xcff */
#define PCI_HOST_BRIDGE_OSC_UUID "33DB4D5B-1FF7-401C-9657-7441C03DD766"
#define OSC_UNRECOGNIZED_UUID 0x04                    /* _OSC status DWORD bit 2 */

/* FADT offsets (ACPI 6.x, table 5.9). */
#define FADT_DSDT          40
#define FADT_PM_PROFILE    45
#define FADT_SCI_INT       46
#define FADT_IAPC_BOOT     109
#define FADT_FLAGS         112
#define FADT_RESET_REG     116
#define FADT_RESET_VALUE   128
#define FADT_MINOR         131
#define FADT_X_DSDT        140
#define FADT_SLEEP_CTL     244
#define FADT_SLEEP_STS     256
#define FADT_HV_VENDOR     268

/* FADT Flags bits. */
#define FADT_F_WBINVD          (1u << 0)
#define FADT_F_PWR_BUTTON      (1u << 4)   /* 1 = no fixed-feature power button */
#define FADT_F_SLP_BUTTON      (1u << 5)   /* 1 = no fixed-feature sleep button */
#define FADT_F_RESET_REG_SUP   (1u << 10)
#define FADT_F_HW_REDUCED_ACPI (1u << 20)

/* IA-PC boot architecture flags. */
#define IAPC_VGA_NOT_PRESENT   (1u << 2)
#define IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)

#define PM_PROFILE_UNSPECIFIED 0

/* Generic Address Structure: address space ids and access sizes. */
#define GAS_SPACE_SYSTEM_IO    1
#define GAS_ACCESS_BYTE        1

/* MADT. */
#define MADT_PCAT_COMPAT       1u
#define MADT_LOCAL_APIC        0
#define MADT_IOAPIC            1
#define MADT_INT_OVERRIDE      2
#define MADT_LAPIC_NMI         4
#define MADT_LAPIC_ENABLED     1u
/* MPS INTI flags: polarity bits 1..0, trigger mode bits 3..2. */
#define MPS_ACTIVE_HIGH        0x1
#define MPS_EDGE               (0x1 << 2)
#define MPS_LEVEL              (0x3 << 2)


static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum = (uint8_t)(sum + p[i]);
    return (uint8_t)-sum;
}

/* Standard 36-byte header; the checksum (offset 9) is set by table_finish. */
static void put_header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    le32_store(t + 4, len);
    t[8] = rev;
    t[9] = 0;
    memcpy(t + 10, ACPI_OEM_ID, 6);
    memcpy(t + 16, ACPI_OEM_TABLE_ID, 8);
    le32_store(t + 24, ACPI_OEM_REVISION);
    memcpy(t + 28, ACPI_CREATOR_ID, 4);
    le32_store(t + 32, ACPI_CREATOR_REV);
}

static void table_finish(uint8_t *t, size_t len)
{
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* Generic Address Structure for a byte-wide register in I/O space. */
static void put_gas_io8(uint8_t *p, uint16_t port)
{
    p[0] = GAS_SPACE_SYSTEM_IO;
    p[1] = 8;                   /* register bit width */
    p[2] = 0;                   /* bit offset */
    p[3] = GAS_ACCESS_BYTE;
    le64_store(p + 4, port);
}

/* A window [base, base + size) that lies below 4 GiB (size 0: none). */
static int below_4g(uint64_t base, uint64_t size)
{
    return size <= 0x100000000ULL && base <= 0x100000000ULL - size;
}

static int pci_valid(const struct devmgr_pci_host *p)
{
    uint32_t slots = 0;

    if (!p->present)
        return 1;
    /* ECAM: exactly 1 MiB per bus of bus_start..bus_end, below 4 GiB (the
     * motherboard reservation is a Memory32Fixed), and its bus-0 base (what
     * the MCFG holds) must not be negative. */
    if (p->bus_start > p->bus_end ||
        p->ecam_size != (uint64_t)(p->bus_end - p->bus_start + 1) << ECAM_BUS_SHIFT ||
        !below_4g(p->ecam_base, p->ecam_size) ||
        p->ecam_base < (uint64_t)p->bus_start << ECAM_BUS_SHIFT)
        return 0;
    /* BAR windows: size 0 means none; the 32-bit one below 4 GiB. */
    if (!below_4g(p->mmio32_base, p->mmio32_size))
        return 0;
    if (p->mmio64_size && p->mmio64_base > UINT64_MAX - (p->mmio64_size - 1))
        return 0;
    if (p->nintx < 0 || p->nintx > DEVMGR_PCI_SLOTS)
        return 0;
    for (int i = 0; i < p->nintx; i++) {
        uint8_t slot = p->intx[i].slot;
        if (slot >= DEVMGR_PCI_SLOTS || (slots & (1u << slot)))
            return 0;               /* one _PRT entry per (slot, INTA) */
        slots |= 1u << slot;
    }
    return 1;
}

static int pci_present(const struct acpi_config *cfg)
{
    return cfg->dev && cfg->dev->pci.present;
}

static int config_valid(const struct acpi_config *cfg)
{
    if (!cfg || cfg->ncpus < 1 || cfg->ncpus > 255)
        return 0;
    if (!cfg->dev)
        return 1;
    if (!pci_valid(&cfg->dev->pci))
        return 0;
    if (cfg->dev->nmmio < 0 || cfg->dev->nmmio > DEVMGR_MAX_MMIO)
        return 0;
    for (int i = 0; i < cfg->dev->nmmio; i++) {
        const struct devmgr_mmio_window *d = &cfg->dev->mmio[i];
        /* Memory32Fixed: the whole window must lie below 4 GiB. */
        if (d->size == 0 || d->size > UINT32_MAX || d->base > 0x100000000ULL - d->size)
            return 0;
    }
    return 1;
}

/* Name(_CRS, ResourceTemplate(){...}) of the root bridge: the bus range,
 * the config ports it decodes (consumed: Linux drops exactly 0xcf8-0xcff
 * from the bridge's windows), and the BAR windows it forwards (ports for
 * I/O BARs, 32- and 64-bit memory). */
static void pci0_crs(const struct devmgr_pci_host *p, struct aml *dev)
{
    struct aml res;
    aml_init(&res);
    aml_res_word_bus_number(&res, p->bus_start, p->bus_end);
    aml_res_io(&res, 1, X86_PCI_CONFIG_ADDR_PORT, X86_PCI_CONFIG_ADDR_PORT, 0x01, PCI_CFG_PORT_LEN);
    if (p->pio_size)
        aml_res_word_io(&res, (uint16_t)p->pio_base, (uint16_t)(p->pio_base + p->pio_size - 1));
    if (p->mmio32_size)
        aml_res_dword_memory(&res, AML_MEM_NONCACHEABLE, (uint32_t)p->mmio32_base,
                             (uint32_t)(p->mmio32_base + p->mmio32_size - 1));
    if (p->mmio64_size)
        aml_res_qword_memory(&res, AML_MEM_PREFETCHABLE, p->mmio64_base,
                             p->mmio64_base + (p->mmio64_size - 1));
    aml_res_end(&res);
    aml_name(dev, "_CRS");
    aml_buffer(dev, &res);
    aml_free(&res);
}

/* Name(_PRT, Package(){ Package(){ 0xSSSSFFFF, 0, 0, gsi }, ... }): each
 * slot's INTA (pin 0) wired straight to a GSI (source 0, index = GSI), which
 * Linux programs as level-triggered, active-low. */
static void pci0_prt(const struct devmgr_pci_host *p, struct aml *dev)
{
    struct aml prt, ent;
    aml_init(&prt);
    for (int i = 0; i < p->nintx; i++) {
        aml_init(&ent);
        aml_integer(&ent, (uint64_t)p->intx[i].slot << 16 | 0xffff);   /* any function */
        aml_integer(&ent, 0);                   /* pin: INTA */
        aml_integer(&ent, 0);                   /* source: none, a GSI */
        aml_integer(&ent, p->intx[i].gsi);
        aml_package(&prt, 4, &ent);
        aml_free(&ent);
    }
    aml_name(dev, "_PRT");
    aml_package(dev, (unsigned)p->nintx, &prt);
    aml_free(&prt);
}

/* Method(_OSC, 4, Serialized) {
 *     CreateDWordField(Arg3, 0, CDW1)
 *     If (LNot(LEqual(Arg0, ToUUID(PCI host bridge)))) { Or(CDW1, 4, CDW1) }
 *     Return(Arg3)
 * }
 * The capabilities buffer goes back as the OS wrote it: its control DWORD
 * unchanged grants every feature requested (native PCIe hotplug, SHPC, PME,
 * AER, capability structure, LTR, DPC). There is no firmware that could
 * own any of them; all devices sit on the root bus without ports, so most
 * are moot, and without _OSC Linux only logs that the platform keeps them
 * (and turns ASPM off). MSI is not negotiated here: Linux reports it as
 * supported and uses it unless the FADT says "MSI not supported". Other
 * UUIDs get "unrecognized UUID". The revision is not checked: revision 1
 * is the only one the PCI Firmware spec defines for this UUID. */
static void pci0_osc(struct aml *dev)
{
    struct aml body, pred, then, arg3;
    aml_init(&body);
    aml_init(&pred);
    aml_init(&then);
    aml_init(&arg3);
    aml_arg(&arg3, 3);
    aml_create_dword_field(&body, &arg3, 0, "CDW1");
    aml_lnot(&pred);
    aml_lequal(&pred);
    aml_arg(&pred, 0);
    aml_uuid(&pred, PCI_HOST_BRIDGE_OSC_UUID);
    aml_or(&then);
    aml_namestring(&then, "CDW1");
    aml_integer(&then, OSC_UNRECOGNIZED_UUID);
    aml_namestring(&then, "CDW1");
    aml_if(&body, &pred, &then);
    aml_return(&body);
    aml_arg(&body, 3);
    /* Serialized: it creates a named object (CDW1). */
    aml_method(dev, "_OSC", 4, 1, &body);
    aml_free(&arg3);
    aml_free(&then);
    aml_free(&pred);
    aml_free(&body);
}

/* \_SB.PCI0, the PCI Express root bridge (PNP0A08, compatible with the
 * PCI root bridge PNP0A03), and \_SB.MRES, the motherboard resources
 * device (PNP0C02) whose _CRS reserves the ECAM window: Linux uses MMCONFIG
 * only if the window is reserved there (or in the E820 map). */
static void pci_devices(const struct devmgr_pci_host *p, struct aml *sb)
{
    struct aml dev, res;

    aml_init(&dev);
    aml_name(&dev, "_HID");
    aml_eisaid(&dev, "PNP0A08");
    aml_name(&dev, "_CID");
    aml_eisaid(&dev, "PNP0A03");
    aml_name_integer(&dev, "_SEG", 0);
    aml_name_integer(&dev, "_BBN", p->bus_start);
    aml_name_integer(&dev, "_UID", 0);
    pci0_crs(p, &dev);
    if (p->nintx > 0)
        pci0_prt(p, &dev);
    pci0_osc(&dev);
    aml_device(sb, "PCI0", &dev);
    aml_free(&dev);

    aml_init(&dev);
    aml_init(&res);
    aml_name(&dev, "_HID");
    aml_eisaid(&dev, "PNP0C02");
    aml_name_integer(&dev, "_UID", 0);
    aml_res_mem32_fixed(&res, 1, (uint32_t)p->ecam_base, (uint32_t)p->ecam_size);
    aml_res_end(&res);
    aml_name(&dev, "_CRS");
    aml_buffer(&dev, &res);
    aml_device(sb, "MRES", &dev);
    aml_free(&res);
    aml_free(&dev);
}

/* DSDT body (AML after the header). */
static void dsdt_body(const struct acpi_config *cfg, struct aml *out)
{
    struct aml pkg, sb, dev, res;

    /* Name(_S5_, Package(){SLP_TYP, 0, 0, 0}): Linux only offers ACPI
     * power-off if \_S5 exists; it writes SLP_TYP<<2 | SLP_EN to the FADT
     * sleep control register. */
    aml_init(&pkg);
    aml_integer(&pkg, X86_ACPI_S5_SLP_TYP);
    aml_integer(&pkg, 0);
    aml_integer(&pkg, 0);
    aml_integer(&pkg, 0);
    aml_name(out, "_S5");
    aml_package(out, 4, &pkg);
    aml_free(&pkg);

    aml_init(&sb);

    /* COM1: 8250 UART at 0x3f8, ISA IRQ 4. */
    aml_init(&dev);
    aml_init(&res);
    aml_name(&dev, "_HID");
    aml_eisaid(&dev, "PNP0501");
    aml_name_integer(&dev, "_UID", 0);
    aml_res_io(&res, 1, X86_COM1_PORT, X86_COM1_PORT, 0x01, 8);
    aml_res_irq_noflags(&res, X86_COM1_IRQ);
    aml_res_end(&res);
    aml_name(&dev, "_CRS");
    aml_buffer(&dev, &res);
    aml_device(&sb, "COM1", &dev);
    aml_free(&res);
    aml_free(&dev);

    /* virtio-mmio devices, matched by Linux's virtio_mmio driver. */
    for (int i = 0; cfg->dev && i < cfg->dev->nmmio; i++) {
        const struct devmgr_mmio_window *d = &cfg->dev->mmio[i];
        char name[8];
        snprintf(name, sizeof(name), "VR%02X", (unsigned)i & 0xff);
        aml_init(&dev);
        aml_init(&res);
        aml_name_string(&dev, "_HID", "LNRO0005");
        aml_name_integer(&dev, "_UID", (uint64_t)i);
        aml_res_mem32_fixed(&res, 1, (uint32_t)d->base, (uint32_t)d->size);
        aml_res_ext_irq(&res, AML_IRQ_CONSUMER | AML_IRQ_EDGE, d->gsi);
        aml_res_end(&res);
        aml_name(&dev, "_CRS");
        aml_buffer(&dev, &res);
        aml_device(&sb, name, &dev);
        aml_free(&res);
        aml_free(&dev);
    }

    if (pci_present(cfg))
        pci_devices(&cfg->dev->pci, &sb);

    aml_scope(out, "\\_SB", &sb);
    aml_free(&sb);
}

int acpi_build_dsdt(const struct acpi_config *cfg, uint8_t **out, size_t *len)
{
    struct aml a;
    int err;

    if (!config_valid(cfg))
        return -EINVAL;
    aml_init(&a);
    /* Reserve the header, then append the AML. */
    uint8_t hdr[ACPI_HDR_LEN] = { 0 };
    aml_bytes(&a, hdr, sizeof(hdr));
    dsdt_body(cfg, &a);
    if (!a.err && a.len > UINT32_MAX)
        a.err = -E2BIG;
    if (a.err) {
        err = a.err == -ENOMEM ? -ENOMEM : -EINVAL;
        aml_free(&a);
        return err;
    }
    put_header(a.buf, "DSDT", (uint32_t)a.len, DSDT_REVISION);
    table_finish(a.buf, a.len);
    *out = a.buf;
    *len = a.len;
    return 0;
}

static size_t align16(size_t v)
{
    return (v + 15) & ~(size_t)15;
}

static void build_rsdp(uint8_t *t, uint64_t xsdt_addr)
{
    memcpy(t, "RSD PTR ", 8);
    memcpy(t + 9, ACPI_OEM_ID, 6);
    t[15] = 2;                      /* revision: ACPI 2.0+ */
    le32_store(t + 16, 0);               /* RsdtAddress: no RSDT */
    le32_store(t + 20, RSDP_LEN);
    le64_store(t + 24, xsdt_addr);
    t[8] = checksum(t, RSDP_V1_LEN);
    t[32] = checksum(t, RSDP_LEN);
}

static size_t xsdt_len(int pci)
{
    return ACPI_HDR_LEN + (size_t)(pci ? 3 : 2) * 8;
}

/* XSDT: FADT, MADT and, with a PCI host bridge, the MCFG (mcfg_addr != 0). */
static void build_xsdt(uint8_t *t, uint64_t fadt_addr, uint64_t madt_addr, uint64_t mcfg_addr)
{
    const size_t len = xsdt_len(mcfg_addr != 0);
    put_header(t, "XSDT", (uint32_t)len, XSDT_REVISION);
    le64_store(t + ACPI_HDR_LEN, fadt_addr);
    le64_store(t + ACPI_HDR_LEN + 8, madt_addr);
    if (mcfg_addr)
        le64_store(t + ACPI_HDR_LEN + 16, mcfg_addr);
    table_finish(t, len);
}

/* MCFG: one ECAM allocation for segment 0, buses bus_start..bus_end. Its
 * base address is where bus 0's config space would be, so a window that
 * starts at bus_start is listed bus_start MiB lower. */
static void build_mcfg(uint8_t *t, const struct devmgr_pci_host *p)
{
    uint8_t *e = t + ACPI_HDR_LEN + 8;      /* 8 reserved bytes first */
    put_header(t, "MCFG", MCFG_LEN, MCFG_REVISION);
    le64_store(e, p->ecam_base - ((uint64_t)p->bus_start << ECAM_BUS_SHIFT));
    le16_store(e + 8, 0);                   /* PCI segment group */
    e[10] = p->bus_start;
    e[11] = p->bus_end;
    table_finish(t, MCFG_LEN);
}

static void build_fadt(uint8_t *t, uint64_t dsdt_addr)
{
    put_header(t, "FACP", FADT_LEN, FADT_REVISION);
    /* FIRMWARE_CTRL / X_FIRMWARE_CTRL stay 0: with HW_REDUCED_ACPI that
     * means there is no FACS. SMI_CMD, ACPI_ENABLE/DISABLE, the PM1/PM2/
     * PM timer/GPE blocks and their lengths stay 0: none exist on a
     * hardware-reduced platform. The 32-bit DSDT field is only set when it
     * can hold the address (and then equals X_DSDT, as ACPICA expects). */
    if (dsdt_addr <= UINT32_MAX)
        le32_store(t + FADT_DSDT, (uint32_t)dsdt_addr);
    t[FADT_PM_PROFILE] = PM_PROFILE_UNSPECIFIED;
    le16_store(t + FADT_SCI_INT, X86_ACPI_SCI_IRQ);
    /* IA-PC boot flags:
     *  - VGA Not Present: there is no VGA; keeps Linux away from legacy
     *    VGA memory/ports.
     *  - CMOS RTC Not Present: no MC146818 at ports 0x70/0x71 (Linux then
     *    skips the RTC; flip this if an RTC device is added).
     *  - 8042 bit clear: Linux's i8042 driver then does not probe the
     *    keyboard controller (saves boot time); resets use the FADT reset
     *    register instead of the 8042 pulse.
     *  - LEGACY_DEVICES clear: only disables PnP BIOS probing; COM1 is
     *    described in the DSDT, which Linux enumerates regardless.
     *  - MSI Not Supported clear: devices behind the PCI host bridge (when
     *    there is one) signal MSI/MSI-X straight to the local APICs; set,
     *    Linux would turn MSI off for every device.
     *  - PCIe ASPM Controls clear: there are no PCIe links (the devices
     *    sit on the root bus, no root or downstream ports), so there is no
     *    link power state for the OS to manage or to be kept away from. */
    le16_store(t + FADT_IAPC_BOOT, IAPC_VGA_NOT_PRESENT | IAPC_CMOS_RTC_NOT_PRESENT);
    /* WBINVD: the vCPU implements it. PWR/SLP_BUTTON set: no fixed-feature
     * buttons (there are no fixed features on a hardware-reduced platform). */
    le32_store(t + FADT_FLAGS, FADT_F_WBINVD | FADT_F_PWR_BUTTON | FADT_F_SLP_BUTTON |
                          FADT_F_RESET_REG_SUP | FADT_F_HW_REDUCED_ACPI);
    put_gas_io8(t + FADT_RESET_REG, X86_ACPI_RESET_PORT);
    t[FADT_RESET_VALUE] = X86_ACPI_RESET_VALUE;
    /* ARM_BOOT_ARCH stays 0. */
    t[FADT_MINOR] = FADT_MINOR_REV;
    le64_store(t + FADT_X_DSDT, dsdt_addr);
    put_gas_io8(t + FADT_SLEEP_CTL, X86_ACPI_SLEEP_CTL_PORT);
    put_gas_io8(t + FADT_SLEEP_STS, X86_ACPI_SLEEP_STS_PORT);
    memcpy(t + FADT_HV_VENDOR, "ARCVMM\0\0", 8);
    table_finish(t, FADT_LEN);
}

static size_t madt_len(int ncpus)
{
    return ACPI_HDR_LEN + 8 + (size_t)ncpus * 8 + 12 + 2 * 10 + 6;
}

static uint8_t *madt_iso(uint8_t *p, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    p[0] = MADT_INT_OVERRIDE;
    p[1] = 10;
    p[2] = 0;                       /* bus: ISA */
    p[3] = irq;                     /* source IRQ */
    le32_store(p + 4, gsi);
    le16_store(p + 8, flags);
    return p + 10;
}

static void build_madt(uint8_t *t, int ncpus)
{
    size_t len = madt_len(ncpus);
    uint8_t *p = t + ACPI_HDR_LEN;

    put_header(t, "APIC", (uint32_t)len, MADT_REVISION);
    le32_store(p, (uint32_t)X86_LAPIC_ADDR);
    /* PCAT_COMPAT: there is an 8259 pair (Linux ignores it when HW-reduced). */
    le32_store(p + 4, MADT_PCAT_COMPAT);
    p += 8;
    for (int i = 0; i < ncpus; i++) {
        p[0] = MADT_LOCAL_APIC;
        p[1] = 8;
        p[2] = (uint8_t)i;          /* ACPI processor UID */
        p[3] = (uint8_t)i;          /* APIC id */
        le32_store(p + 4, MADT_LAPIC_ENABLED);
        p += 8;
    }
    p[0] = MADT_IOAPIC;
    p[1] = 12;
    p[2] = (uint8_t)ncpus;          /* IOAPIC id: after the CPUs' APIC ids */
    p[3] = 0;
    le32_store(p + 4, (uint32_t)X86_IOAPIC_ADDR);
    le32_store(p + 8, 0);                /* GSI base */
    p += 12;
    /* The PIT's IRQ0 is wired to IOAPIC pin 2 on PC-compatibles. */
    p = madt_iso(p, 0, 2, MPS_ACTIVE_HIGH | MPS_EDGE);
    /* The SCI is level-triggered, active-high on GSI 9. */
    p = madt_iso(p, X86_ACPI_SCI_IRQ, X86_ACPI_SCI_IRQ, MPS_ACTIVE_HIGH | MPS_LEVEL);
    /* NMI arrives on every processor's LINT1. */
    p[0] = MADT_LAPIC_NMI;
    p[1] = 6;
    p[2] = 0xff;                    /* all processors */
    le16_store(p + 3, MPS_ACTIVE_HIGH | MPS_EDGE);
    p[5] = 1;                       /* LINT1 */
    table_finish(t, len);
}

ssize_t acpi_build(const struct acpi_config *cfg, uint64_t base, uint8_t *buf, size_t cap)
{
    uint8_t *dsdt;
    size_t dsdt_len;
    int err;

    if (!config_valid(cfg) || (base & 15))
        return -EINVAL;
    err = acpi_build_dsdt(cfg, &dsdt, &dsdt_len);
    if (err < 0)
        return err;

    int pci = pci_present(cfg);
    size_t off_xsdt = align16(RSDP_LEN);
    size_t off_fadt = align16(off_xsdt + xsdt_len(pci));
    size_t off_madt = align16(off_fadt + FADT_LEN);
    size_t off_mcfg = align16(off_madt + madt_len(cfg->ncpus));
    size_t off_dsdt = pci ? align16(off_mcfg + MCFG_LEN) : off_mcfg;
    size_t total = off_dsdt + dsdt_len;

    if (base > UINT64_MAX - total) {
        free(dsdt);
        return -EINVAL;
    }
    if (!buf || total > cap) {
        free(dsdt);
        return -ENOSPC;
    }
    memset(buf, 0, total);
    memcpy(buf + off_dsdt, dsdt, dsdt_len);
    free(dsdt);
    build_madt(buf + off_madt, cfg->ncpus);
    if (pci)
        build_mcfg(buf + off_mcfg, &cfg->dev->pci);
    build_fadt(buf + off_fadt, base + off_dsdt);
    build_xsdt(buf + off_xsdt, base + off_fadt, base + off_madt, pci ? base + off_mcfg : 0);
    build_rsdp(buf, base + off_xsdt);
    return (ssize_t)total;
}
