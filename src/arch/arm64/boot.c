/* arm64 Image header parsing and boot placement; see boot.h. */
#include "arch/arm64/boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/arm64/layout.h"
#include "base/le.h"
#include "mem/place.h"

#define SZ_2M   0x200000ULL
#define SZ_64K  0x10000ULL
#define SZ_4K   0x1000ULL

/* Header fields (little-endian whatever the host). */
#define HDR_TEXT_OFFSET 0x08
#define HDR_IMAGE_SIZE  0x10
#define HDR_FLAGS       0x18
#define HDR_MAGIC       0x38
#define HDR_PE_OFFSET   0x3c    /* EFI stub kernels: offset of the PE header */

/* An EFI stub kernel (Debian's are) carries a PE/COFF header whose section
 * table says how long the file is: the end of the last section's raw data.
 * Returns that length, 0 when there is no PE header, or UINT64_MAX when the
 * PE header itself lies beyond len. */
static uint64_t pe_file_len(const uint8_t *buf, size_t len)
{
    uint64_t pe = le32_load(buf + HDR_PE_OFFSET);
    if (pe == 0 || pe < ARM64_IMAGE_HEADER_SIZE || pe >= (1u << 20))
        return 0;
    if (pe + 24 > len)
        return UINT64_MAX;
    if (memcmp(buf + pe, "PE\0\0", 4) != 0)
        return 0;
    uint32_t nsect = le16_load(buf + pe + 6), opt = le16_load(buf + pe + 20);
    uint64_t sect = pe + 24 + opt, end = sect + (uint64_t)nsect * 40;
    if (end > len)
        return UINT64_MAX;
    for (uint32_t i = 0; i < nsect; i++) {
        const uint8_t *s = buf + sect + (uint64_t)i * 40;
        uint64_t e = (uint64_t)le32_load(s + 20) + le32_load(s + 16);   /* PointerToRawData + SizeOfRawData */
        if (le32_load(s + 16) && e > end)
            end = e;
    }
    return end;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *why, size_t whylen, const char *fmt, ...)
{
    if (why && whylen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

int arm64_image_parse(const uint8_t *buf, size_t len, struct arm64_image *img,
                      char *why, size_t whylen)
{
    memset(img, 0, sizeof(*img));
    if (len >= 2 && buf[0] == 0x1f && buf[1] == 0x8b) {
        fail(why, whylen, "gzip-compressed; arcvmm boots an uncompressed arm64 Image "
             "(decompress it with zcat first)");
        return -ENOEXEC;
    }
    if (len < ARM64_IMAGE_HEADER_SIZE)
        return fail(why, whylen, "truncated, or not an arm64 Image: %zu bytes, shorter than "
                    "the %d-byte Image header", len, ARM64_IMAGE_HEADER_SIZE);
    if (le32_load(buf + HDR_MAGIC) != ARM64_IMAGE_MAGIC) {
        fail(why, whylen, "not an arm64 Image (bad magic)");
        return -ENOEXEC;
    }
    uint64_t text_offset = le64_load(buf + HDR_TEXT_OFFSET);
    uint64_t image_size = le64_load(buf + HDR_IMAGE_SIZE);
    uint64_t flags = le64_load(buf + HDR_FLAGS);
    if (image_size == 0) {
        /* Before 3.17: no size, no flags, text_offset fixed at 0x80000. */
        text_offset = ARM64_IMAGE_OLD_TEXT_OFFSET;
        flags = 0;
    }
    if (flags & ARM64_IMAGE_FLAG_BE)
        return fail(why, whylen, "big-endian kernel (header flags 0x%llx); only little-endian "
                    "kernels are supported", (unsigned long long)flags);
    if (text_offset % SZ_4K || text_offset >= (1ULL << 32))
        return fail(why, whylen, "bad header: text_offset 0x%llx", (unsigned long long)text_offset);
    if (image_size >= (1ULL << 40))
        return fail(why, whylen, "bad header: image_size 0x%llx", (unsigned long long)image_size);
    uint64_t want = pe_file_len(buf, len);
    if (want == UINT64_MAX)
        return fail(why, whylen, "truncated: %zu bytes end inside the PE/COFF header", len);
    if (want > len)
        return fail(why, whylen, "truncated: %zu bytes, its PE/COFF sections need %llu",
                    len, (unsigned long long)want);
    img->text_offset = text_offset;
    img->image_size = image_size > len ? image_size : len;
    img->flags = flags;
    return 0;
}

int arm64_boot_place(uint64_t ram_base, uint64_t ram_size, const struct arm64_image *img,
                     uint64_t initrd_size, struct arm64_boot_layout *l)
{
    memset(l, 0, sizeof(*l));
    if (ram_base % SZ_2M || ram_size > UINT64_MAX - ram_base)
        return -EINVAL;
    uint64_t ram_end = ram_base + ram_size;
    uint64_t top = ram_size > ARM64_INITRD_WINDOW ? ram_base + ARM64_INITRD_WINDOW : ram_end;

    l->overflow = ARM64_PART_KERNEL;
    if (img->text_offset > ram_size || img->image_size > ram_size - img->text_offset)
        return -ENOSPC;
    l->kernel_gpa = ram_base + img->text_offset;
    l->kernel_end = l->kernel_gpa + img->image_size;

    l->overflow = ARM64_PART_DTB;
    if (top - ram_base < ARM64_FDT_MAX)
        return -ENOSPC;
    l->fdt_gpa = (top - ARM64_FDT_MAX) & ~(SZ_2M - 1);
    if (l->fdt_gpa < l->kernel_end)
        return -ENOSPC;

    if (initrd_size) {
        l->overflow = ARM64_PART_INITRD;
        uint64_t gpa = mem_place_top(l->kernel_end, l->fdt_gpa, 0, 0, initrd_size, SZ_64K);
        if (gpa == 0)
            return -ENOSPC;
        l->initrd_gpa = gpa;
        l->initrd_size = initrd_size;
    }
    l->overflow = ARM64_PART_NONE;
    return 0;
}
