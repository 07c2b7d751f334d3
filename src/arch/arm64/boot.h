/* arm64 direct kernel boot (Documentation/arch/arm64/booting.rst): pure
 * helpers that parse a Linux Image header and place the kernel, initrd and
 * device tree in guest RAM. Nothing here talks to KVM or reads files; the
 * unit tests run them on any host.
 *
 * Placement, in one RAM region starting 2 MiB aligned:
 *   kernel  at ram_base + text_offset, image_size bytes (incl. bss)
 *   DTB     in the last 2 MiB aligned 2 MiB block below top
 *   initrd  right below the DTB block, 64 KiB aligned
 * where top = min(end of RAM, ram_base + 32 GiB): the initrd must share a
 * 1 GiB aligned 32 GiB window with the kernel. */
#ifndef ARCVMM_ARM64_BOOT_H
#define ARCVMM_ARM64_BOOT_H
#include <stddef.h>
#include <stdint.h>

#define ARM64_IMAGE_HEADER_SIZE  64
#define ARM64_IMAGE_MAGIC        0x644d5241u   /* "ARM\x64" at offset 0x38 */
#define ARM64_IMAGE_FLAG_BE      0x1ULL        /* flags bit 0: big-endian kernel */
#define ARM64_IMAGE_OLD_TEXT_OFFSET 0x80000ULL /* kernels before 3.17 (image_size 0) */

struct arm64_image {
    uint64_t text_offset;   /* load offset from a 2 MiB aligned base */
    uint64_t image_size;    /* bytes the kernel occupies from there, incl. bss */
    uint64_t flags;         /* header flags as found */
};

/* Parse the 64-byte header of an arm64 Linux Image of len bytes (the whole
 * file). 0, or -EINVAL/-ENOEXEC with why ("not an arm64 Image (bad
 * magic)", "truncated: ...", "big-endian ...", ...). image_size is at
 * least len. */
int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img,
                      char *why, size_t whylen);

enum arm64_boot_part { ARM64_PART_NONE, ARM64_PART_KERNEL, ARM64_PART_DTB, ARM64_PART_INITRD };

struct arm64_boot_layout {
    uint64_t kernel_gpa;    /* load address and entry point */
    uint64_t kernel_end;    /* kernel_gpa + image_size */
    uint64_t fdt_gpa;       /* ARM64_FDT_MAX bytes reserved for the DTB */
    uint64_t initrd_gpa;    /* 0 when initrd_size is 0 */
    uint64_t initrd_size;
    enum arm64_boot_part overflow;  /* what did not fit, on -ENOSPC */
};

/* Place the kernel, DTB and an initrd of initrd_size bytes (0: none) in
 * [ram_base, ram_base + ram_size). ram_base must be 2 MiB aligned.
 * 0, -EINVAL (bad ram_base), or -ENOSPC with l->overflow naming the part
 * that does not fit. */
int arm64_boot_place(uint64_t ram_base, uint64_t ram_size, const struct arm64_image *img,
                     uint64_t initrd_size, struct arm64_boot_layout *l);
#endif
