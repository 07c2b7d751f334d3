/* What a BIOS keeps at the x86 reset vector, for a board without one.
 *
 * Linux's BIOS reboot method switches the CPU back to real mode and jumps
 * to F000:FFF0 (physical X86_RESET_VECTOR_ADDR), where a PC's firmware ROM
 * would start and reset the machine. Linux takes that path for reboot=b,
 * for reboot=e without EFI runtime services, and -- the case that matters
 * -- by default on a hardware-reduced ACPI platform such as ours: there it
 * picks EFI first, finds no EFI, and goes to the BIOS (arch/x86/kernel/
 * reboot.c: reboot_init, native_machine_emergency_restart). In arcvmm that
 * address is plain RAM, reserved in the e820 map; left zeroed, the guest
 * ran its zeros forever and the VM never ended.
 *
 * x86_reset_vector_setup writes a real-mode stub there that does what the
 * ROM would: a hard reset through the reset control register (port 0xCF9,
 * dev/reset_cf9.h), then cli; hlt forever should nothing listen. */
#ifndef ARCVMM_X86_RESETVEC_H
#define ARCVMM_X86_RESETVEC_H
#include <stddef.h>
#include <stdint.h>

#include "mem/mem.h"

/* The stub, 16-bit code: mov dx, 0xcf9; mov al, SYS_RST|RST_CPU;
 * out dx, al; cli; hlt; jmp back to the hlt. At most 16 bytes (the vector
 * is the last 16 bytes below 1 MiB). */
extern const uint8_t x86_reset_vector_code[];
extern const size_t x86_reset_vector_len;

/* Write the stub at X86_RESET_VECTOR_ADDR. 0, or -EFAULT when guest RAM
 * does not reach that far (under 1 MiB). */
int x86_reset_vector_setup(const struct guest_mem *m);
#endif
