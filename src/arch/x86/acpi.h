/* x86 ACPI tables for a hardware-reduced platform: RSDP, XSDT, FADT, MADT,
 * a DSDT (AML) describing COM1, the virtio-mmio devices and _S5, and, when
 * there is a PCI host bridge, an MCFG and the bridge \_SB.PCI0 in the DSDT.
 * Pure builder: fills a caller buffer, touches no guest state. The devices
 * come from the device manager's plain description (devmgr/desc.h). */
#ifndef ARCVMM_X86_ACPI_H
#define ARCVMM_X86_ACPI_H
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devmgr/desc.h"

struct acpi_config {
    int ncpus;                      /* 1..255, APIC ids 0..ncpus-1 */
    /* The attached devices; NULL: none. Each virtio-mmio window (names
     * VR00..VR1F) must be non-empty and end at or below 4 GiB; its gsi is
     * an IOAPIC pin. A present PCI host has 1 MiB of ECAM per bus of
     * bus_start..bus_end, below 4 GiB; a 32-bit window below 4 GiB; and
     * at most one INTx entry per slot (0..31). A window of size 0 is left
     * out. */
    const struct devmgr_desc *dev;
};

/* Build RSDP + XSDT + FADT + MADT + DSDT into buf, which the caller will copy
 * to guest physical address `base` (so all table pointers are base + offset).
 * The RSDP is at offset 0; base must be 16-byte aligned. Returns the bytes
 * used, -ENOSPC if cap is too small, -EINVAL on a bad config (ncpus out of
 * range, nmmio < 0 or > DEVMGR_MAX_MMIO, a window with size 0 or ending
 * above 4 GiB, a PCI host breaking the rules above, a misaligned or
 * overflowing base), or
 * -ENOMEM. Bytes of buf past the returned length are left untouched. */
ssize_t acpi_build(const struct acpi_config *cfg, uint64_t base, uint8_t *buf, size_t cap);

/* Build only the DSDT (header + AML) into a malloc'd buffer: *out and *len
 * on success (caller frees). 0, -EINVAL (bad config) or -ENOMEM. Exposed
 * for tests and for tools that want to disassemble it. */
int acpi_build_dsdt(const struct acpi_config *cfg, uint8_t **out, size_t *len);
#endif
