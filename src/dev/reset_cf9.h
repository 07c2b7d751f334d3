/* PC reset control register (the chipset's "RCR", I/O port 0xCF9, one
 * byte), as on Intel PIIX/ICH chipsets: Linux's reboot=pci writes it, and
 * so does the board's reset-vector stub (arch/x86/resetvec.h) that the
 * default and BIOS reboot methods reach.
 *
 *   bus_register(bus, X86_RESET_CONTROL_PORT, RESET_CF9_IO_LEN,
 *                reset_cf9_io, rc, "reset-cf9");
 *
 * 0xCF9 lies inside the PCI host bridge's 0xCF8-0xCFB address port, which
 * decodes only 4-byte accesses: once the host bridge owns that range, its
 * handler for the other accesses passes a 1-byte access at 0xCF9 here
 * with offset 0 (and reads all-ones for the rest).
 *
 * Bits: 1 SYS_RST (hard reset), 2 RST_CPU (do it), 3 FULL_RST (power
 * cycle); the others are reserved. Any write with RST_CPU set calls
 * ops->reset: hard, soft and full resets all end the VM as a reboot
 * (arcvmm has no firmware to run again). Linux writes SYS_RST first, then
 * SYS_RST|RST_CPU(|FULL_RST). A read returns the last value written, its
 * defined bits only. Accesses wider than a byte, or at another offset, are
 * ignored and read all-ones.
 *
 * ops->reset runs on the vCPU thread that wrote, with no lock held; it
 * must not wait for vCPU threads (it runs on one). */
#ifndef ARCVMM_DEV_RESET_CF9_H
#define ARCVMM_DEV_RESET_CF9_H
#include <stdbool.h>
#include <stdint.h>

#define RESET_CF9_IO_LEN    1

#define RESET_CF9_SYS_RST   0x02
#define RESET_CF9_RST_CPU   0x04
#define RESET_CF9_FULL_RST  0x08

struct reset_cf9_ops {
    void (*reset)(void *opaque);
    void *opaque;
};

struct reset_cf9 {
    struct reset_cf9_ops ops;
    uint8_t value;          /* accessed atomically (vCPU threads race) */
};

/* ops may be NULL; it is copied. The register starts at 0. */
void reset_cf9_init(struct reset_cf9 *rc, const struct reset_cf9_ops *ops);
/* bus_io_fn, opaque = struct reset_cf9, offset relative to the port. */
void reset_cf9_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
#endif
