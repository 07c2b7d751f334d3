/* The reset-vector stub. See resetvec.h. */
#include "arch/x86/resetvec.h"

#include "arch/x86/layout.h"
#include "dev/reset_cf9.h"

const uint8_t x86_reset_vector_code[] = {
    0xba, X86_RESET_CONTROL_PORT & 0xff, X86_RESET_CONTROL_PORT >> 8,  /* mov dx, 0xcf9 */
    0xb0, RESET_CF9_SYS_RST | RESET_CF9_RST_CPU,                     /* mov al, 0x06 */
    0xee,                                                            /* out dx, al */
    0xfa,                                                            /* cli */
    0xf4,                                                            /* hlt */
    0xeb, 0xfd,                                                      /* jmp to the hlt */
};
const size_t x86_reset_vector_len = sizeof(x86_reset_vector_code);

_Static_assert(sizeof(x86_reset_vector_code) <= 16, "the reset vector has 16 bytes below 1 MiB");
_Static_assert(X86_ACPI_ADDR + X86_ACPI_MAX <= X86_RESET_VECTOR_ADDR,
               "the ACPI tables end below the reset vector");

int x86_reset_vector_setup(const struct guest_mem *m)
{
    return mem_write(m, X86_RESET_VECTOR_ADDR, x86_reset_vector_code, sizeof(x86_reset_vector_code));
}
