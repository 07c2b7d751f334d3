/* ACPI hardware-reduced sleep/reset registers. See acpi_pm.h. */
#include "dev/acpi_pm.h"

#include <string.h>

enum {
    REG_SLEEP_CTL = ACPI_PM_REG_SLEEP_CTL,
    REG_SLEEP_STS = ACPI_PM_REG_SLEEP_STS,
    REG_RESET = ACPI_PM_REG_RESET,
};

void acpi_pm_init(struct acpi_pm *pm, const struct acpi_pm_ops *ops)
{
    memset(pm, 0, sizeof(*pm));
    if (ops)
        pm->ops = *ops;
}

static void sleep_ctl_write(struct acpi_pm *pm, uint8_t v)
{
    if (!(v & ACPI_PM_SLP_EN))
        return;
    if (((v & ACPI_PM_SLP_TYP_MASK) >> ACPI_PM_SLP_TYP_SHIFT) == ACPI_PM_S5_SLP_TYP) {
        if (pm->ops.poweroff)
            pm->ops.poweroff(pm->ops.opaque);
        return;
    }
    __atomic_fetch_or(&pm->sleep_sts, ACPI_PM_WAK_STS, __ATOMIC_SEQ_CST);
}

void acpi_pm_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    struct acpi_pm *pm = opaque;

    if (len != 1 || offset >= ACPI_PM_IO_LEN) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    if (!is_write) {
        data[0] = offset == REG_SLEEP_STS
                  ? __atomic_load_n(&pm->sleep_sts, __ATOMIC_SEQ_CST) : 0;
        return;
    }
    switch (offset) {
    case REG_SLEEP_CTL:
        sleep_ctl_write(pm, data[0]);
        break;
    case REG_SLEEP_STS:
        if (data[0] & ACPI_PM_WAK_STS)
            __atomic_fetch_and(&pm->sleep_sts, (uint8_t)~ACPI_PM_WAK_STS, __ATOMIC_SEQ_CST);
        break;
    case REG_RESET:
        if (data[0] == ACPI_PM_RESET_VALUE && pm->ops.reset)
            pm->ops.reset(pm->ops.opaque);
        break;
    }
}
