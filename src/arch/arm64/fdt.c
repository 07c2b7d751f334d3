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

    TRY(fdt_end_node(fdt));
    TRY(fdt_finish(fdt));
    return 0;
}

ssize_t arm64_fdt_build(const struct arm64_fdt_config *c, void *buf, size_t cap)
{
    if (c->ncpus < 1 || !c->mpidr ||
        (c->dev && (c->dev->nmmio < 0 || c->dev->nmmio > DEVMGR_MAX_MMIO)) ||
        (c->rng_seed_len > 0 && !c->rng_seed) || c->rng_seed_len > 4096)
        return -EINVAL;
    if (cap > INT32_MAX)
        cap = INT32_MAX;
    int r = build(buf, cap, c);
    if (r < 0)
        return r == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
    return (ssize_t)fdt_totalsize(buf);
}
