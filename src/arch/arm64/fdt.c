/* arm64 device tree builder (libfdt sequential-write API); see fdt.h. */
#include "arch/arm64/fdt.h"

#include <errno.h>
#include <libfdt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"

#define MPIDR_AFF_0_2 0x0000000000ffffffULL   /* Aff2.Aff1.Aff0 */
#define MPIDR_AFF3    0x000000ff00000000ULL

#define ECAM_BUS_SHIFT      20          /* 1 MiB of config space per bus */
/* PCI address phys.hi cells (IEEE 1275 PCI binding): space code in bits
 * 25..24 (2: 32-bit memory, 3: 64-bit memory), bit 30 prefetchable. */
#define PCI_SPACE_MEM32     0x02000000u
#define PCI_SPACE_MEM64_PF  0x43000000u
#define PCI_DEVFN_SLOT_MASK 0xf800u     /* phys.hi bits 15..11: device number */
#define PCI_PIN_MASK        7u
#define PCI_PIN_INTA        1u
#define PCI_RID_COUNT       0x10000u    /* requester ids of one segment */

/* Helpers return libfdt's negative FDT_ERR_* codes; arm64_fdt_build maps
 * them to errnos (a valid config can only run out of buffer). */
#define TRY(expr) do { int _e = (expr); if (_e < 0) return _e; } while (0)

/* reg = <addr size> pairs with #address-cells = #size-cells = 2. */
static int prop_reg(void *fdt, const uint64_t *pairs, int npairs)
{
    fdt64_t cells[4];
    if (npairs > 2)
        return -FDT_ERR_BADVALUE;
    for (int i = 0; i < 2 * npairs; i++)
        cells[i] = cpu_to_fdt64(pairs[i]);
    return fdt_property(fdt, "reg", cells, (int)(sizeof(cells[0]) * 2 * (size_t)npairs));
}

static int prop_irq(void *fdt, uint32_t type, uint32_t num, uint32_t flags)
{
    fdt32_t cells[3] = { cpu_to_fdt32(type), cpu_to_fdt32(num), cpu_to_fdt32(flags) };
    return fdt_property(fdt, "interrupts", cells, sizeof(cells));
}

/* A property holding a list of strings: s has embedded NULs, len counts the last one. */
static int prop_strings(void *fdt, const char *name, const char *s, size_t len)
{
    return fdt_property(fdt, name, s, (int)len);
}
#define PROP_STRINGS(fdt, name, lit) prop_strings((fdt), (name), (lit), sizeof(lit))

static int node_cpus(void *fdt, const struct arm64_fdt_config *c)
{
    bool aff3 = false;
    for (int i = 0; i < c->ncpus; i++)
        if (c->mpidr[i] & MPIDR_AFF3)
            aff3 = true;
    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_u32(fdt, "#address-cells", aff3 ? 2 : 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    for (int i = 0; i < c->ncpus; i++) {
        uint64_t id = c->mpidr[i] & (MPIDR_AFF3 | MPIDR_AFF_0_2);
        char name[32];
        snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)id);
        TRY(fdt_begin_node(fdt, name));
        TRY(fdt_property_string(fdt, "device_type", "cpu"));
        TRY(fdt_property_string(fdt, "compatible", "arm,arm-v8"));
        TRY(fdt_property_string(fdt, "enable-method", "psci"));
        if (aff3)
            TRY(fdt_property_u64(fdt, "reg", id));
        else
            TRY(fdt_property_u32(fdt, "reg", (uint32_t)id));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int node_timer(void *fdt)
{
    static const uint32_t ppis[4] = {
        /* order fixed by the arm,armv8-timer binding */
        ARM64_TIMER_PPI_SEC_PHYS, ARM64_TIMER_PPI_PHYS, ARM64_TIMER_PPI_VIRT, ARM64_TIMER_PPI_HYP,
    };
    fdt32_t cells[12];
    for (int i = 0; i < 4; i++) {
        cells[3 * i] = cpu_to_fdt32(ARM64_FDT_GIC_PPI);
        cells[3 * i + 1] = cpu_to_fdt32(ppis[i]);
        cells[3 * i + 2] = cpu_to_fdt32(ARM64_FDT_IRQ_LEVEL_HIGH);
    }
    TRY(fdt_begin_node(fdt, "timer"));
    TRY(fdt_property_string(fdt, "compatible", "arm,armv8-timer"));
    TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
    return fdt_end_node(fdt);
}

/* Does the GIC node carry #address-cells (2)? With an ITS it must: the ITS
 * is its child (arm,gic-v3 binding). With a PCI host it does too, so the
 * interrupt-map has one layout with and without an ITS and dtc finds the
 * interrupt provider's #address-cells it wants. Otherwise it stays out,
 * keeping the device tree as it always was. */
static bool gic_has_cells(const struct arm64_fdt_config *c)
{
    return c->its_base || (c->dev && c->dev->pci.present);
}

/* The GIC; with an ITS, the ITS as its child node (the binding prefers the
 * name msi-controller@), the GIC then giving it the root's address and
 * size cells and an identity `ranges`. */
static int node_gic(void *fdt, const struct arm64_fdt_config *c)
{
    char name[40];
    snprintf(name, sizeof(name), "intc@%llx", (unsigned long long)c->gicd_base);
    uint64_t reg[4] = { c->gicd_base, c->gicd_size, c->gicr_base, c->gicr_size };
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3"));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 3));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(prop_reg(fdt, reg, 2));
    TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_GIC));
    if (gic_has_cells(c)) {
        TRY(fdt_property_u32(fdt, "#address-cells", 2));
        TRY(fdt_property_u32(fdt, "#size-cells", 2));
        TRY(fdt_property(fdt, "ranges", NULL, 0));
    }
    if (c->its_base) {
        uint64_t its[2] = { c->its_base, c->its_size };
        snprintf(name, sizeof(name), "msi-controller@%llx", (unsigned long long)c->its_base);
        TRY(fdt_begin_node(fdt, name));
        TRY(fdt_property_string(fdt, "compatible", "arm,gic-v3-its"));
        TRY(fdt_property(fdt, "msi-controller", NULL, 0));
        TRY(fdt_property_u32(fdt, "#msi-cells", 1));
        TRY(prop_reg(fdt, its, 1));
        TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_ITS));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int node_uart(void *fdt, const struct arm64_fdt_config *c, const char *name)
{
    TRY(fdt_begin_node(fdt, "apb-pclk"));
    TRY(fdt_property_string(fdt, "compatible", "fixed-clock"));
    TRY(fdt_property_u32(fdt, "#clock-cells", 0));
    TRY(fdt_property_u32(fdt, "clock-frequency", c->uart_clock_hz));
    TRY(fdt_property_string(fdt, "clock-output-names", "clk24mhz"));
    TRY(fdt_property_u32(fdt, "phandle", ARM64_FDT_PHANDLE_CLK));
    TRY(fdt_end_node(fdt));

    uint64_t reg[2] = { c->uart_base, c->uart_size };
    fdt32_t clocks[2] = { cpu_to_fdt32(ARM64_FDT_PHANDLE_CLK), cpu_to_fdt32(ARM64_FDT_PHANDLE_CLK) };
    TRY(fdt_begin_node(fdt, name));
    TRY(PROP_STRINGS(fdt, "compatible", "arm,pl011\0arm,primecell"));
    TRY(prop_reg(fdt, reg, 1));
    TRY(prop_irq(fdt, ARM64_FDT_GIC_SPI, c->uart_spi, ARM64_FDT_IRQ_LEVEL_HIGH));
    TRY(fdt_property(fdt, "clocks", clocks, sizeof(clocks)));
    TRY(PROP_STRINGS(fdt, "clock-names", "uartclk\0apb_pclk"));
    return fdt_end_node(fdt);
}

static int node_virtio(void *fdt, const struct devmgr_mmio_window *v)
{
    char name[40];
    snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)v->base);
    uint64_t reg[2] = { v->base, v->size };
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "compatible", "virtio,mmio"));
    TRY(prop_reg(fdt, reg, 1));
    TRY(prop_irq(fdt, ARM64_FDT_GIC_SPI, v->gsi, ARM64_FDT_IRQ_EDGE_RISING));
    TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    return fdt_end_node(fdt);
}

/* One `ranges` entry: PCI address (3 cells) = CPU address (2) for size (2). */
static fdt32_t *range_cells(fdt32_t *p, uint32_t space, uint64_t base, uint64_t size)
{
    *p++ = cpu_to_fdt32(space);
    *p++ = cpu_to_fdt32((uint32_t)(base >> 32));
    *p++ = cpu_to_fdt32((uint32_t)base);
    *p++ = cpu_to_fdt32((uint32_t)(base >> 32));
    *p++ = cpu_to_fdt32((uint32_t)base);
    *p++ = cpu_to_fdt32((uint32_t)(size >> 32));
    *p++ = cpu_to_fdt32((uint32_t)size);
    return p;
}

/* Cells of one interrupt-map entry: child unit address (3) + pin (1) +
 * GIC phandle (1) + the GIC's #address-cells (2, see gic_has_cells) + GIC
 * specifier (3). */
#define IMAP_CELLS (3 + 1 + 1 + 2 + 3)

/* The generic ECAM host bridge (pci-host-ecam-generic binding): config
 * space for the bus range, the BAR windows at identical PCI and CPU
 * addresses, INTA of each listed slot on its SPI (level high; PCI INTx is
 * level), and, with an ITS, every requester id's MSIs through the ITS with
 * DeviceID = requester id. */
static int node_pcie(void *fdt, const struct arm64_fdt_config *c)
{
    const struct devmgr_pci_host *p = &c->dev->pci;
    char name[40];
    fdt32_t ranges[2 * 7], *r = ranges;
    fdt32_t imap[DEVMGR_PCI_SLOTS * IMAP_CELLS], *m = imap;
    uint64_t reg[2] = { p->ecam_base, p->ecam_size };

    snprintf(name, sizeof(name), "pcie@%llx", (unsigned long long)p->ecam_base);
    TRY(fdt_begin_node(fdt, name));
    TRY(fdt_property_string(fdt, "compatible", "pci-host-ecam-generic"));
    TRY(fdt_property_string(fdt, "device_type", "pci"));
    TRY(fdt_property_u32(fdt, "#address-cells", 3));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    TRY(prop_reg(fdt, reg, 1));
    fdt32_t bus[2] = { cpu_to_fdt32(p->bus_start), cpu_to_fdt32(p->bus_end) };
    TRY(fdt_property(fdt, "bus-range", bus, sizeof(bus)));
    TRY(fdt_property_u32(fdt, "linux,pci-domain", 0));
    TRY(fdt_property(fdt, "dma-coherent", NULL, 0));
    if (p->mmio32_size)
        r = range_cells(r, PCI_SPACE_MEM32, p->mmio32_base, p->mmio32_size);
    if (p->mmio64_size)
        r = range_cells(r, PCI_SPACE_MEM64_PF, p->mmio64_base, p->mmio64_size);
    if (r > ranges)                 /* an empty `ranges` would mean identity-mapped */
        TRY(fdt_property(fdt, "ranges", ranges, (int)((size_t)(r - ranges) * sizeof(*r))));
    if (p->nintx > 0) {
        fdt32_t mask[4] = { cpu_to_fdt32(PCI_DEVFN_SLOT_MASK), 0, 0, cpu_to_fdt32(PCI_PIN_MASK) };
        for (int i = 0; i < p->nintx; i++) {
            *m++ = cpu_to_fdt32((uint32_t)p->intx[i].slot << 11);
            *m++ = 0;
            *m++ = 0;
            *m++ = cpu_to_fdt32(PCI_PIN_INTA);
            *m++ = cpu_to_fdt32(ARM64_FDT_PHANDLE_GIC);
            *m++ = 0;                       /* GIC unit address: 2 cells */
            *m++ = 0;
            *m++ = cpu_to_fdt32(ARM64_FDT_GIC_SPI);
            *m++ = cpu_to_fdt32(p->intx[i].gsi);
            *m++ = cpu_to_fdt32(ARM64_FDT_IRQ_LEVEL_HIGH);
        }
        TRY(fdt_property(fdt, "interrupt-map-mask", mask, sizeof(mask)));
        TRY(fdt_property(fdt, "interrupt-map", imap, (int)((size_t)(m - imap) * sizeof(*m))));
    }
    if (c->its_base) {
        fdt32_t msi[4] = { 0, cpu_to_fdt32(ARM64_FDT_PHANDLE_ITS), 0, cpu_to_fdt32(PCI_RID_COUNT) };
        TRY(fdt_property(fdt, "msi-map", msi, sizeof(msi)));
    }
    return fdt_end_node(fdt);
}

static bool pci_valid(const struct devmgr_pci_host *p)
{
    uint32_t slots = 0;

    if (!p->present)
        return true;
    if (p->bus_start > p->bus_end ||
        p->ecam_size != (uint64_t)(p->bus_end - p->bus_start + 1) << ECAM_BUS_SHIFT ||
        p->ecam_base > UINT64_MAX - (p->ecam_size - 1))
        return false;
    if ((p->mmio32_size && p->mmio32_base > UINT64_MAX - (p->mmio32_size - 1)) ||
        (p->mmio64_size && p->mmio64_base > UINT64_MAX - (p->mmio64_size - 1)))
        return false;
    if (p->nintx < 0 || p->nintx > DEVMGR_PCI_SLOTS)
        return false;
    for (int i = 0; i < p->nintx; i++) {
        uint8_t slot = p->intx[i].slot;
        if (slot >= DEVMGR_PCI_SLOTS || (slots & (1u << slot)))
            return false;           /* one interrupt-map entry per (slot, INTA) */
        slots |= 1u << slot;
    }
    return true;
}

static int build(void *fdt, size_t cap, const struct arm64_fdt_config *c)
{
    char uart[40], uart_path[48], mem[40];
    snprintf(uart, sizeof(uart), "pl011@%llx", (unsigned long long)c->uart_base);
    snprintf(uart_path, sizeof(uart_path), "/%s", uart);
    snprintf(mem, sizeof(mem), "memory@%llx", (unsigned long long)c->ram_base);

    TRY(fdt_create(fdt, (int)cap));
    TRY(fdt_finish_reservemap(fdt));
    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_string(fdt, "model", "arcvmm"));
    TRY(fdt_property_string(fdt, "compatible", "linux,dummy-virt"));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_u32(fdt, "interrupt-parent", ARM64_FDT_PHANDLE_GIC));

    TRY(fdt_begin_node(fdt, "chosen"));
    TRY(fdt_property_string(fdt, "bootargs", c->cmdline ? c->cmdline : ""));
    TRY(fdt_property_string(fdt, "stdout-path", uart_path));
    if (c->initrd_size) {
        TRY(fdt_property_u64(fdt, "linux,initrd-start", c->initrd_gpa));
        TRY(fdt_property_u64(fdt, "linux,initrd-end", c->initrd_gpa + c->initrd_size));
    }
    if (c->rng_seed && c->rng_seed_len)
        TRY(fdt_property(fdt, "rng-seed", c->rng_seed, (int)c->rng_seed_len));
    TRY(fdt_end_node(fdt));

    TRY(fdt_begin_node(fdt, "aliases"));
    TRY(fdt_property_string(fdt, "serial0", uart_path));
    TRY(fdt_end_node(fdt));

    uint64_t memreg[2] = { c->ram_base, c->ram_size };
    TRY(fdt_begin_node(fdt, mem));
    TRY(fdt_property_string(fdt, "device_type", "memory"));
    TRY(prop_reg(fdt, memreg, 1));
    TRY(fdt_end_node(fdt));

    TRY(node_cpus(fdt, c));

    TRY(fdt_begin_node(fdt, "psci"));
    TRY(PROP_STRINGS(fdt, "compatible", "arm,psci-1.0\0arm,psci-0.2"));
    TRY(fdt_property_string(fdt, "method", "hvc"));
    TRY(fdt_end_node(fdt));

    TRY(node_timer(fdt));
    TRY(node_gic(fdt, c));
    TRY(node_uart(fdt, c, uart));
    for (int i = 0; c->dev && i < c->dev->nmmio; i++)
        TRY(node_virtio(fdt, &c->dev->mmio[i]));
    if (c->dev && c->dev->pci.present)
        TRY(node_pcie(fdt, c));

    TRY(fdt_end_node(fdt));
    TRY(fdt_finish(fdt));
    return 0;
}

ssize_t arm64_fdt_build(const struct arm64_fdt_config *c, void *buf, size_t cap)
{
    if (c->ncpus < 1 || !c->mpidr ||
        (c->dev && (c->dev->nmmio < 0 || c->dev->nmmio > DEVMGR_MAX_MMIO ||
                    !pci_valid(&c->dev->pci))) ||
        (c->its_base && !c->its_size) ||
        (c->rng_seed_len > 0 && !c->rng_seed) || c->rng_seed_len > 4096)
        return -EINVAL;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    int r = build(buf, cap, c);
    if (r < 0)
        return r == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
    return (ssize_t)fdt_totalsize(buf);
}
