/* ACPI hardware-reduced power management registers (FADT SLEEP_CONTROL_REG,
 * SLEEP_STATUS_REG, RESET_REG), one byte each at three contiguous ports
 * from a base the board picks (offsets ACPI_PM_REG_*):
 *   bus_register(bus, base, ACPI_PM_IO_LEN, acpi_pm_io, pm, "acpi-pm");
 *
 * Sleep control: a write with SLP_EN (bit 5) and SLP_TYP (bits 2..4) ==
 * ACPI_PM_S5_SLP_TYP calls ops->poweroff. Any other sleep type with SLP_EN
 * is not supported: the write only sets WAK_STS, so a guest waiting for
 * wake-up resumes at once instead of spinning forever. (S5 leaves WAK_STS
 * clear, so the guest spins until the VMM stops it.) Writes without SLP_EN
 * are ignored; the register reads 0.
 * Sleep status: reads WAK_STS (bit 7); writing 1 to bit 7 clears it.
 * Reset: writing ACPI_PM_RESET_VALUE calls ops->reset; other values are
 * ignored; the register reads 0.
 *
 * Callbacks run on the vCPU thread that made the access, with no lock held;
 * they must not wait for vCPU threads (they run on one). */
#ifndef ARCVMM_DEV_ACPI_PM_H
#define ARCVMM_DEV_ACPI_PM_H
#include <stdbool.h>
#include <stdint.h>

#define ACPI_PM_REG_SLEEP_CTL 0
#define ACPI_PM_REG_SLEEP_STS 1
#define ACPI_PM_REG_RESET     2
#define ACPI_PM_IO_LEN        3
#define ACPI_PM_S5_SLP_TYP    5    /* the _S5_ package's SLP_TYP */
#define ACPI_PM_RESET_VALUE   1    /* the FADT's RESET_VALUE */

#define ACPI_PM_SLP_EN        0x20
#define ACPI_PM_SLP_TYP_SHIFT 2
#define ACPI_PM_SLP_TYP_MASK  0x1c
#define ACPI_PM_WAK_STS       0x80

struct acpi_pm_ops {
    void (*poweroff)(void *opaque);
    void (*reset)(void *opaque);
    void *opaque;
};

struct acpi_pm {
    struct acpi_pm_ops ops;
    uint8_t sleep_sts;      /* accessed atomically (vCPU threads race) */
};

/* ops may be NULL; it is copied. */
void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_ops *ops);
/* bus_io_fn, opaque = struct acpi_pm, offset relative to ACPI_PM_IO_BASE.
 * Only 1-byte accesses reach a register; other reads return all-ones,
 * other writes are ignored. */
void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
#endif
