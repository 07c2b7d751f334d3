/* The reset control register at 0xCF9 and the reset-vector stub that
 * writes it. */
#include <errno.h>
#include <stdint.h>

#include "harness.h"
#include "arch/x86/layout.h"
#include "arch/x86/resetvec.h"
#include "bus/bus.h"
#include "dev/reset_cf9.h"
#include "mem/mem.h"

struct rig {
    struct reset_cf9 rc;
    int resets;
    struct bus bus;
};

static void on_reset(void *opaque)
{
    ((struct rig *)opaque)->resets++;
}

static int rig_init(struct rig *r)
{
    memset(r, 0, sizeof(*r));
    struct reset_cf9_ops ops = { on_reset, r };
    reset_cf9_init(&r->rc, &ops);
    return bus_register(&r->bus, X86_RESET_CONTROL_PORT, RESET_CF9_IO_LEN, reset_cf9_io, &r->rc,
                        "reset-cf9");
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

/* Linux's reboot=pci (arch/x86/kernel/reboot.c, BOOT_CF9_FORCE): read,
 * clear the reset bits, write SYS_RST alone, then SYS_RST|RST_CPU(|FULL_RST). */
static void linux_cf9(struct rig *r, uint8_t code)
{
    uint8_t cf9 = in8(r, X86_RESET_CONTROL_PORT) & (uint8_t)~code;
    out8(r, X86_RESET_CONTROL_PORT, cf9 | RESET_CF9_SYS_RST);
    out8(r, X86_RESET_CONTROL_PORT, cf9 | code);
}

static void t_linux_sequence(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    CHECK_EQ(in8(&r, X86_RESET_CONTROL_PORT), 0);
    out8(&r, X86_RESET_CONTROL_PORT, RESET_CF9_SYS_RST);   /* selects, does not reset */
    CHECK_EQ(r.resets, 0);
    CHECK_EQ(in8(&r, X86_RESET_CONTROL_PORT), RESET_CF9_SYS_RST);
    linux_cf9(&r, 0x0e);                                    /* cold */
    CHECK_EQ(r.resets, 1);
    CHECK_EQ(in8(&r, X86_RESET_CONTROL_PORT), 0x0e);
    struct rig w;
    CHECK_EQ(rig_init(&w), 0);
    linux_cf9(&w, 0x06);                                    /* reboot=w,pci: warm */
    CHECK_EQ(w.resets, 1);
    bus_free(&r.bus);
    bus_free(&w.bus);
}

static void t_only_rst_cpu_resets(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    static const uint8_t quiet[] = { 0x00, 0x01, 0x02, 0x08, 0x0a, 0xf0, 0xfb };
    for (size_t i = 0; i < sizeof(quiet); i++)
        out8(&r, X86_RESET_CONTROL_PORT, quiet[i]);
    CHECK_EQ(r.resets, 0);
    /* reserved bits are not kept */
    CHECK_EQ(in8(&r, X86_RESET_CONTROL_PORT), 0xfb & (RESET_CF9_SYS_RST | RESET_CF9_FULL_RST));
    out8(&r, X86_RESET_CONTROL_PORT, RESET_CF9_RST_CPU);    /* soft reset: a reset too */
    CHECK_EQ(r.resets, 1);
    out8(&r, X86_RESET_CONTROL_PORT, 0xff);
    CHECK_EQ(r.resets, 2);
    bus_free(&r.bus);
}

static void t_bad_access(void)
{
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    uint8_t d[4];
    memset(d, 0xff, sizeof(d));
    reset_cf9_io(&r.rc, 0, d, 2, true);                     /* wide: ignored */
    reset_cf9_io(&r.rc, 0, d, 4, true);
    reset_cf9_io(&r.rc, 1, d, 1, true);                     /* outside the register */
    reset_cf9_io(&r.rc, UINT64_MAX, d, 1, true);
    CHECK_EQ(r.resets, 0);
    memset(d, 0, sizeof(d));
    reset_cf9_io(&r.rc, 0, d, 4, false);
    CHECK_EQ(d[0], 0xff);
    CHECK_EQ(d[3], 0xff);
    d[0] = 0;
    reset_cf9_io(&r.rc, 1, d, 1, false);
    CHECK_EQ(d[0], 0xff);
    CHECK_EQ(in8(&r, X86_RESET_CONTROL_PORT), 0);           /* nothing was stored */
    struct reset_cf9 bare;                                  /* no callback */
    reset_cf9_init(&bare, NULL);
    d[0] = 0x0e;
    reset_cf9_io(&bare, 0, d, 1, true);
    d[0] = 0;
    reset_cf9_io(&bare, 0, d, 1, false);
    CHECK_EQ(d[0], 0x0e);
    bus_free(&r.bus);
}

static int low_ram(struct guest_mem *m, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->r[0].size = size;
    m->n = 1;
    return mem_map(m);
}

/* The stub at F000:FFF0, read as the 16-bit code it is: its port write is
 * a hard reset of the register above, and what follows is a halt loop. */
static void t_reset_vector_stub(void)
{
    struct guest_mem m;
    CHECK_EQ(low_ram(&m, 2ULL << 20), 0);
    CHECK_EQ(x86_reset_vector_setup(&m), 0);
    const uint8_t *p = mem_ptr(&m, X86_RESET_VECTOR_ADDR, 16);
    CHECK(p != NULL);
    CHECK_EQ(X86_RESET_VECTOR_ADDR, 0xf0000 + 0xfff0);
    CHECK(x86_reset_vector_len <= 16);
    CHECK_EQ(memcmp(p, x86_reset_vector_code, x86_reset_vector_len), 0);
    CHECK_EQ(p[0], 0xba);                                   /* mov dx, imm16 */
    CHECK_EQ(p[1] | p[2] << 8, X86_RESET_CONTROL_PORT);
    CHECK_EQ(p[3], 0xb0);                                   /* mov al, imm8 */
    CHECK_EQ(p[5], 0xee);                                   /* out dx, al */
    struct rig r;
    CHECK_EQ(rig_init(&r), 0);
    out8(&r, (uint16_t)(p[1] | p[2] << 8), p[4]);
    CHECK_EQ(r.resets, 1);
    CHECK(p[4] & RESET_CF9_SYS_RST);                        /* a hard reset */
    CHECK_EQ(p[6], 0xfa);                                   /* cli */
    CHECK_EQ(p[7], 0xf4);                                   /* hlt */
    CHECK_EQ(p[8], 0xeb);                                   /* jmp rel8 ... */
    CHECK_EQ(9 + 1 + (int8_t)p[9], 7);                      /* ... back to the hlt */
    CHECK_EQ(x86_reset_vector_len, 10);
    /* the ACPI tables' space ends where the stub starts */
    CHECK(X86_ACPI_ADDR + X86_ACPI_MAX <= X86_RESET_VECTOR_ADDR);
    bus_free(&r.bus);
    mem_unmap(&m);
    /* RAM ending exactly at 1 MiB still holds it; less does not */
    CHECK_EQ(low_ram(&m, 1ULL << 20), 0);
    CHECK_EQ(x86_reset_vector_setup(&m), 0);
    mem_unmap(&m);
    CHECK_EQ(low_ram(&m, 0xf0000), 0);
    CHECK_EQ(x86_reset_vector_setup(&m), -EFAULT);
    mem_unmap(&m);
}

int main(void)
{
    RUN(t_linux_sequence);
    RUN(t_only_rst_cpu_resets);
    RUN(t_bad_access);
    RUN(t_reset_vector_stub);
    return harness_done();
}
