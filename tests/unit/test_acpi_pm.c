/* ACPI hardware-reduced sleep/reset registers. */
#include <stdint.h>

#include "harness.h"
#include "arch/x86/layout.h"
#include "bus/bus.h"
#include "dev/acpi_pm.h"

struct counts {
    int poweroff, reset;
};

static void on_poweroff(void *opaque)
{
    ((struct counts *)opaque)->poweroff++;
}

static void on_reset(void *opaque)
{
    ((struct counts *)opaque)->reset++;
}

struct rig {
    struct acpi_pm pm;
    struct counts c;
    struct bus bus;
};

static int rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    struct acpi_pm_ops ops = { on_poweroff, on_reset, &r->c };
    acpi_pm_init(&r->pm, &ops);
    return bus_register(&r->bus, X86_ACPI_SLEEP_CTL_PORT, ACPI_PM_IO_LEN, acpi_pm_io, &r->pm, "acpi-pm");
}

static void out8(struct rig *r, uint16_t port, uint8_t v)
{
    bus_access(&r->bus, port, &v, 1, true);
}

static uint8_t in8(struct rig *r, uint16_t port)
{
    uint8_t v = 0;
    bus_access(&r->bus, port, &v, 1, false);
    return v;
}

static uint8_t slp(unsigned typ, bool en)
{
    return (uint8_t)((typ << ACPI_PM_SLP_TYP_SHIFT) | (en ? ACPI_PM_SLP_EN : 0));
}

static void t_poweroff(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    /* Linux acpi_hw_extended_sleep: clear WAK_STS, then SLP_TYP|SLP_EN */
    out8(&r, X86_ACPI_SLEEP_STS_PORT, ACPI_PM_WAK_STS);
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, slp(X86_ACPI_S5_SLP_TYP, true));
    CHECK_EQ(r.c.poweroff, 1);
    CHECK_EQ(r.c.reset, 0);
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_STS_PORT), 0);   /* S5 never "wakes" */
    CHECK_EQ(slp(X86_ACPI_S5_SLP_TYP, true), 0x34);  /* what the test guest writes */
    bus_free(&r.bus);
}

static void t_sleep_ignored(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, slp(X86_ACPI_S5_SLP_TYP, false));  /* no SLP_EN */
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, 0xff & ~ACPI_PM_SLP_EN);
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_STS_PORT), 0);
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, slp(3, true));  /* S3: unsupported, wakes at once */
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, slp(0, true));
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, slp(7, true));
    CHECK_EQ(r.c.poweroff, 0);
    CHECK_EQ(r.c.reset, 0);
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_STS_PORT), ACPI_PM_WAK_STS);
    out8(&r, X86_ACPI_SLEEP_STS_PORT, 0x7f);          /* not write-1 on bit 7 */
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_STS_PORT), ACPI_PM_WAK_STS);
    out8(&r, X86_ACPI_SLEEP_STS_PORT, ACPI_PM_WAK_STS);
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_STS_PORT), 0);
    CHECK_EQ(in8(&r, X86_ACPI_SLEEP_CTL_PORT), 0);
    bus_free(&r.bus);
}

static void t_reset(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    out8(&r, X86_ACPI_RESET_PORT, 0x00);
    out8(&r, X86_ACPI_RESET_PORT, 0x02);
    out8(&r, X86_ACPI_RESET_PORT, 0xff);
    out8(&r, X86_ACPI_RESET_PORT, 0x06);
    CHECK_EQ(r.c.reset, 0);
    out8(&r, X86_ACPI_RESET_PORT, X86_ACPI_RESET_VALUE);
    CHECK_EQ(r.c.reset, 1);
    CHECK_EQ(r.c.poweroff, 0);
    CHECK_EQ(in8(&r, X86_ACPI_RESET_PORT), 0);
    /* the reset value written to the other registers is not a reset */
    out8(&r, X86_ACPI_SLEEP_CTL_PORT, X86_ACPI_RESET_VALUE);
    out8(&r, X86_ACPI_SLEEP_STS_PORT, X86_ACPI_RESET_VALUE);
    CHECK_EQ(r.c.reset, 1);
    bus_free(&r.bus);
}

static void t_bad_access(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    uint8_t d[8];
    memset(d, X86_ACPI_RESET_VALUE, sizeof(d));
    acpi_pm_io(&r.pm, 2, d, 2, true);                 /* wide write: ignored */
    acpi_pm_io(&r.pm, 0, d, 4, true);
    acpi_pm_io(&r.pm, 3, d, 1, true);
    acpi_pm_io(&r.pm, UINT64_MAX, d, 1, true);
    d[0] = slp(X86_ACPI_S5_SLP_TYP, true);
    acpi_pm_io(&r.pm, 0, d, 2, true);
    CHECK_EQ(r.c.reset, 0);
    CHECK_EQ(r.c.poweroff, 0);
    memset(d, 0, sizeof(d));
    acpi_pm_io(&r.pm, 0, d, 2, false);
    CHECK_EQ(d[0], 0xff);
    CHECK_EQ(d[1], 0xff);
    acpi_pm_io(&r.pm, 5, d, 1, false);
    CHECK_EQ(d[0], 0xff);
    /* no callbacks set */
    struct acpi_pm pm;
    acpi_pm_init(&pm, NULL);
    d[0] = slp(X86_ACPI_S5_SLP_TYP, true);
    acpi_pm_io(&pm, 0, d, 1, true);
    d[0] = X86_ACPI_RESET_VALUE;
    acpi_pm_io(&pm, 2, d, 1, true);
    bus_free(&r.bus);
}

int main(void)
{
    RUN(t_poweroff);
    RUN(t_sleep_ignored);
    RUN(t_reset);
    RUN(t_bad_access);
    return harness_done();
}
