/* x86_64 direct kernel boot builders: bzImage (64-bit boot protocol) and
 * ELF + PVH note loading, zero page / PVH start info, e820, page tables,
 * GDT and the boot CPU's register state. Pure: guest memory only. */
#include "arch/x86/boot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "arch/x86/layout.h"
#include "mem/place.h"
#include "base/le.h"

#define MiB        (1ULL << 20)
#define FOUR_GiB   (4ULL << 30)
#define PAGE_SIZE  0x1000ULL

/* ---- small helpers ------------------------------------------------------ */


static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }

/* End of a RAM region, saturating instead of wrapping. */
static uint64_t region_end(const struct mem_region *r)
{
    return r->size > UINT64_MAX - r->gpa ? UINT64_MAX : r->gpa + r->size;
}

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- bzImage ------------------------------------------------------------ */

/* Offsets into the image (equal to the zero-page offsets). */
#define BZ_SETUP_SECTS     0x1f1
#define BZ_BOOT_FLAG       0x1fe
#define BZ_JUMP_LEN        0x201   /* second byte of the short jump */
#define BZ_HEADER          0x202
#define BZ_VERSION         0x206
#define BZ_LOADFLAGS       0x211
#define BZ_INITRD_ADDR_MAX 0x22c
#define BZ_KERNEL_ALIGN    0x230
#define BZ_RELOCATABLE     0x234
#define BZ_XLOADFLAGS      0x236
#define BZ_CMDLINE_SIZE    0x238
#define BZ_PREF_ADDRESS    0x258
#define BZ_INIT_SIZE       0x260
#define BZ_HDR_MIN_END     0x264   /* protocol 2.12 defines fields up to init_size */
#define BZ_MIN_VERSION     0x020c

static int load_bzimage(const struct guest_mem *m, const uint8_t *img, size_t len,
                        struct x86_kernel *k, char *err, size_t errlen)
{
    uint16_t flag = le16_load(img + BZ_BOOT_FLAG);
    if (flag != BOOT_FLAG_MAGIC) {
        set_err(err, errlen, "bzImage boot_flag is 0x%04x, expected 0xaa55", flag);
        return -ENOEXEC;
    }
    if (len < BZ_VERSION + 2) {
        set_err(err, errlen, "truncated: header needs %d bytes, file has %zu", BZ_VERSION + 2, len);
        return -EINVAL;
    }
    uint16_t ver = le16_load(img + BZ_VERSION);
    if (ver < BZ_MIN_VERSION) {
        set_err(err, errlen, "boot protocol %u.%02u is too old (need 2.12 or later)",
                ver >> 8, ver & 0xff);
        return -ENOEXEC;
    }
    size_t hdr_end = BZ_HEADER + (size_t)img[BZ_JUMP_LEN];
    if (hdr_end < BZ_HDR_MIN_END) {
        set_err(err, errlen, "inconsistent header: it ends at 0x%zx but protocol %u.%02u needs 0x%x",
                hdr_end, ver >> 8, ver & 0xff, BZ_HDR_MIN_END);
        return -EINVAL;
    }
    if (len < hdr_end) {
        set_err(err, errlen, "truncated: header needs %zu bytes, file has %zu", hdr_end, len);
        return -EINVAL;
    }
    uint16_t xlf = le16_load(img + BZ_XLOADFLAGS);
    if (!(xlf & BOOT_XLF_KERNEL_64)) {
        set_err(err, errlen, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
        return -ENOEXEC;
    }
    if (!(img[BZ_LOADFLAGS] & BOOT_LOADED_HIGH)) {
        set_err(err, errlen, "zImage (not LOADED_HIGH) is not supported");
        return -ENOEXEC;
    }

    unsigned sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;
    size_t setup_size = ((size_t)sects + 1) * 512;
    if (len < setup_size) {
        set_err(err, errlen, "truncated: setup needs %zu bytes, file has %zu", setup_size, len);
        return -EINVAL;
    }
    if (len == setup_size) {
        set_err(err, errlen, "truncated: no protected-mode kernel after the %zu setup bytes", setup_size);
        return -EINVAL;
    }
    uint64_t payload = len - setup_size;

    /* The decompressor runs from where we put it but extracts the kernel to
     * max(align_up(load address, kernel_alignment), pref_address) (fixed
     * at pref_address when not relocatable) and needs init_size bytes
     * there; reserve both ranges. */
    uint32_t init_size = le32_load(img + BZ_INIT_SIZE);
    uint32_t kalign = le32_load(img + BZ_KERNEL_ALIGN);
    uint64_t pref = le64_load(img + BZ_PREF_ADDRESS);
    uint64_t base = X86_HIMEM_START;
    if (img[BZ_RELOCATABLE] && kalign && !(kalign & (kalign - 1)))
        base = (base + kalign - 1) & ~((uint64_t)kalign - 1);
    base = max_u64(base, pref);
    if (base > UINT64_MAX - init_size) {
        set_err(err, errlen, "inconsistent header: pref_address 0x%llx + init_size overflows",
                (unsigned long long)pref);
        return -EINVAL;
    }
    uint64_t load_end = max_u64(X86_HIMEM_START + payload, base + init_size);
    if (!mem_ptr(m, X86_HIMEM_START, load_end - X86_HIMEM_START)) {
        set_err(err, errlen, "kernel needs %llu MiB, guest has %llu MiB",
                (unsigned long long)(load_end / MiB + (load_end % MiB != 0)),
                (unsigned long long)(mem_total(m) / MiB));
        return -ENOMEM;
    }

    memset(k, 0, sizeof(*k));
    k->kind = X86_KERNEL_BZIMAGE;
    k->entry = X86_HIMEM_START + 0x200;
    k->load_start = X86_HIMEM_START;
    k->load_end = load_end;
    k->initrd_addr_max = le32_load(img + BZ_INITRD_ADDR_MAX);
    if (k->initrd_addr_max == 0)
        k->initrd_addr_max = 0x37ffffff;   /* the protocol's pre-2.03 default */
    uint64_t csize = min_u64(le32_load(img + BZ_CMDLINE_SIZE), X86_CMDLINE_MAX - 1);
    k->cmdline_max = (uint32_t)csize + 1;
    k->setup_header_len = min_u64(hdr_end, X86_SETUP_HEADER_START + X86_SETUP_HEADER_MAX)
                          - X86_SETUP_HEADER_START;
    memcpy(k->setup_header, img + X86_SETUP_HEADER_START, k->setup_header_len);

    return mem_write(m, X86_HIMEM_START, img + setup_size, payload);
}

/* ---- ELF + PVH note ----------------------------------------------------- */

#define EM_386       3
#define EM_X86_64    62
#define ET_EXEC      2
#define ET_DYN       3
#define PT_LOAD      1
#define PT_NOTE      4
#define SHT_NOTE     7

struct elf_phdr {
    uint32_t type;
    uint64_t offset, paddr, filesz, memsz, align;
};

/* Decode program header i; the table was checked to lie inside the file. */
static void elf_get_phdr(const uint8_t *p, int is64, struct elf_phdr *ph)
{
    ph->type = le32_load(p);
    if (is64) {
        ph->offset = le64_load(p + 8);
        ph->paddr = le64_load(p + 24);
        ph->filesz = le64_load(p + 32);
        ph->memsz = le64_load(p + 40);
        ph->align = le64_load(p + 48);
    } else {
        ph->offset = le32_load(p + 4);
        ph->paddr = le32_load(p + 12);
        ph->filesz = le32_load(p + 16);
        ph->memsz = le32_load(p + 20);
        ph->align = le32_load(p + 28);
    }
}

static int range_in_file(uint64_t off, uint64_t size, size_t len)
{
    return off <= len && size <= len - off;
}

/* Scan one note area for the Xen PHYS32_ENTRY note. a is the padding of
 * name and descriptor (4, or 8 for 8-aligned note segments). Sets *found. */
static int elf_scan_notes(const uint8_t *p, uint64_t size, uint64_t a, int *found,
                          uint64_t *entry, char *err, size_t errlen)
{
    uint64_t off = 0;
    while (size - off >= 12) {
        uint32_t namesz = le32_load(p + off), descsz = le32_load(p + off + 4), type = le32_load(p + off + 8);
        off += 12;
        if (namesz > size - off) {
            set_err(err, errlen, "ELF note name (%u bytes) runs past the end of its note area", namesz);
            return -EINVAL;
        }
        const uint8_t *name = p + off;
        /* the descriptor and the next note start a-aligned from the area's
         * start (with a = 8 the 12-byte header + name is padded to 16) */
        off = min_u64((off + namesz + a - 1) & ~(a - 1), size);
        if (descsz > size - off) {
            set_err(err, errlen, "ELF note descriptor (%u bytes) runs past the end of its note area", descsz);
            return -EINVAL;
        }
        const uint8_t *desc = p + off;
        off = min_u64((off + descsz + a - 1) & ~(a - 1), size);

        int is_xen = (namesz == 4 && memcmp(name, "Xen", 4) == 0) ||
                     (namesz == 3 && memcmp(name, "Xen", 3) == 0);
        if (!is_xen || type != XEN_ELFNOTE_PHYS32_ENTRY)
            continue;
        if (descsz == 4)
            *entry = le32_load(desc);
        else if (descsz == 8)
            *entry = le64_load(desc);
        else {
            set_err(err, errlen, "PVH entry note has a %u-byte descriptor (want 4 or 8)", descsz);
            return -EINVAL;
        }
        *found = 1;
        return 0;
    }
    return 0;
}

static int load_elf(const struct guest_mem *m, const uint8_t *img, size_t len,
                    struct x86_kernel *k, char *err, size_t errlen)
{
    if (len < 16) {
        set_err(err, errlen, "truncated: ELF identification needs 16 bytes, file has %zu", len);
        return -EINVAL;
    }
    int is64;
    if (img[4] == 2)
        is64 = 1;
    else if (img[4] == 1)
        is64 = 0;
    else {
        set_err(err, errlen, "unsupported ELF class %u", img[4]);
        return -ENOEXEC;
    }
    if (img[5] != 1) {
        set_err(err, errlen, "ELF is not little-endian");
        return -ENOEXEC;
    }
    if (img[6] != 1) {
        set_err(err, errlen, "bad ELF identification version %u", img[6]);
        return -EINVAL;
    }
    size_t ehsize = is64 ? 64 : 52;
    if (len < ehsize) {
        set_err(err, errlen, "truncated: ELF header needs %zu bytes, file has %zu", ehsize, len);
        return -EINVAL;
    }
    uint16_t etype = le16_load(img + 16), mach = le16_load(img + 18);
    if (mach != (is64 ? EM_X86_64 : EM_386)) {
        set_err(err, errlen, "ELF%d machine %u is not %s", is64 ? 64 : 32, mach,
                is64 ? "x86_64 (EM_X86_64)" : "i386 (EM_386)");
        return -ENOEXEC;
    }
    if (etype != ET_EXEC && etype != ET_DYN) {
        set_err(err, errlen, "ELF type %u is not an executable", etype);
        return -ENOEXEC;
    }
    uint64_t phoff = is64 ? le64_load(img + 32) : le32_load(img + 28);
    uint64_t shoff = is64 ? le64_load(img + 40) : le32_load(img + 32);
    uint16_t phentsize = le16_load(img + (is64 ? 54 : 42)), phnum = le16_load(img + (is64 ? 56 : 44));
    uint16_t shentsize = le16_load(img + (is64 ? 58 : 46)), shnum = le16_load(img + (is64 ? 60 : 48));
    unsigned phmin = is64 ? 56 : 32, shmin = is64 ? 64 : 40;

    if (phnum == 0 || phnum == 0xffff) {
        set_err(err, errlen, "ELF has %s program headers", phnum ? "too many (PN_XNUM)" : "no");
        return -EINVAL;
    }
    if (phentsize < phmin) {
        set_err(err, errlen, "ELF program header size %u is below %u", phentsize, phmin);
        return -EINVAL;
    }
    if (!range_in_file(phoff, (uint64_t)phnum * phentsize, len)) {
        set_err(err, errlen, "truncated: %u program headers at offset %llu do not fit in %zu bytes",
                phnum, (unsigned long long)phoff, len);
        return -EINVAL;
    }

    /* Pass 1: validate every segment and find the note. */
    uint64_t lo = UINT64_MAX, hi = 0, entry = 0;
    int found = 0, nload = 0, low_seg = -1;
    uint64_t low_addr = 0;
    for (unsigned i = 0; i < phnum; i++) {
        struct elf_phdr ph;
        elf_get_phdr(img + phoff + (uint64_t)i * phentsize, is64, &ph);
        if (ph.type != PT_LOAD && ph.type != PT_NOTE)
            continue;
        if (!range_in_file(ph.offset, ph.filesz, len)) {
            set_err(err, errlen, "truncated: segment %u (offset %llu, %llu bytes) extends past the end of the file (%zu bytes)",
                    i, (unsigned long long)ph.offset, (unsigned long long)ph.filesz, len);
            return -EINVAL;
        }
        if (ph.type == PT_NOTE) {
            if (!found) {
                int r = elf_scan_notes(img + ph.offset, ph.filesz, ph.align == 8 ? 8 : 4,
                                       &found, &entry, err, errlen);
                if (r)
                    return r;
            }
            continue;
        }
        if (ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz) {
            set_err(err, errlen, "segment %u: file size %llu exceeds memory size %llu", i,
                    (unsigned long long)ph.filesz, (unsigned long long)ph.memsz);
            return -EINVAL;
        }
        if (ph.memsz > UINT64_MAX - ph.paddr) {
            set_err(err, errlen, "segment %u: address 0x%llx + size 0x%llx wraps around", i,
                    (unsigned long long)ph.paddr, (unsigned long long)ph.memsz);
            return -EINVAL;
        }
        if (ph.paddr < X86_HIMEM_START) {
            /* said after the PVH note: an ELF without one (a program, not
             * a kernel) is told that first */
            if (low_seg < 0) {
                low_seg = (int)i;
                low_addr = ph.paddr;
            }
            continue;
        }
        if (!mem_ptr(m, ph.paddr, ph.memsz)) {
            set_err(err, errlen, "segment %u [0x%llx, 0x%llx) is outside guest RAM (%llu MiB)", i,
                    (unsigned long long)ph.paddr, (unsigned long long)(ph.paddr + ph.memsz),
                    (unsigned long long)(mem_total(m) / MiB));
            return -ENOMEM;
        }
        lo = min_u64(lo, ph.paddr);
        hi = max_u64(hi, ph.paddr + ph.memsz);
        nload++;
    }
    if (!found && shoff != 0 && shnum != 0) {
        if (shentsize < shmin || shnum == 0xffff ||
            !range_in_file(shoff, (uint64_t)shnum * shentsize, len)) {
            set_err(err, errlen, "ELF section header table (%u entries of %u bytes at %llu) is invalid",
                    shnum, shentsize, (unsigned long long)shoff);
            return -EINVAL;
        }
        for (unsigned i = 0; i < shnum && !found; i++) {
            const uint8_t *sh = img + shoff + (uint64_t)i * shentsize;
            if (le32_load(sh + 4) != SHT_NOTE)
                continue;
            uint64_t off = is64 ? le64_load(sh + 24) : le32_load(sh + 16);
            uint64_t size = is64 ? le64_load(sh + 32) : le32_load(sh + 20);
            uint64_t align = is64 ? le64_load(sh + 48) : le32_load(sh + 32);
            if (!range_in_file(off, size, len)) {
                set_err(err, errlen, "truncated: note section %u (offset %llu, %llu bytes) extends past the end of the file",
                        i, (unsigned long long)off, (unsigned long long)size);
                return -EINVAL;
            }
            int r = elf_scan_notes(img + off, size, align == 8 ? 8 : 4, &found, &entry, err, errlen);
            if (r)
                return r;
        }
    }
    if (!found) {
        set_err(err, errlen, "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): an ELF vmlinux "
                "boots only through PVH (a kernel built with CONFIG_PVH=y), else boot its bzImage");
        return -ENOEXEC;
    }
    if (low_seg >= 0) {
        set_err(err, errlen, "segment %d at 0x%llx is below 1 MiB (reserved for boot structures)",
                low_seg, (unsigned long long)low_addr);
        return -EINVAL;
    }
    if (nload == 0) {
        set_err(err, errlen, "ELF has no loadable segments");
        return -EINVAL;
    }
    if (entry >= FOUR_GiB) {
        set_err(err, errlen, "PVH entry 0x%llx is not a 32-bit address", (unsigned long long)entry);
        return -EINVAL;
    }
    int entry_ok = 0;
    for (unsigned i = 0; i < phnum && !entry_ok; i++) {
        struct elf_phdr ph;
        elf_get_phdr(img + phoff + (uint64_t)i * phentsize, is64, &ph);
        if (ph.type == PT_LOAD && ph.memsz && entry >= ph.paddr && entry - ph.paddr < ph.memsz)
            entry_ok = 1;
    }
    if (!entry_ok) {
        set_err(err, errlen, "PVH entry 0x%llx is not inside any loaded segment", (unsigned long long)entry);
        return -EINVAL;
    }

    /* Pass 2: copy. Every range was checked above. */
    for (unsigned i = 0; i < phnum; i++) {
        struct elf_phdr ph;
        elf_get_phdr(img + phoff + (uint64_t)i * phentsize, is64, &ph);
        if (ph.type != PT_LOAD || ph.memsz == 0)
            continue;
        uint8_t *dst = mem_ptr(m, ph.paddr, ph.memsz);
        if (!dst)
            return -EFAULT;
        if (ph.filesz)
            memcpy(dst, img + ph.offset, ph.filesz);
        memset(dst + ph.filesz, 0, ph.memsz - ph.filesz);
    }

    /* Highest byte of RAM below 4 GiB. */
    uint64_t low_end = 0;
    for (int i = 0; i < m->n; i++)
        if (m->r[i].gpa < FOUR_GiB)
            low_end = max_u64(low_end, min_u64(region_end(&m->r[i]), FOUR_GiB));

    memset(k, 0, sizeof(*k));
    k->kind = X86_KERNEL_PVH;
    k->entry = entry;
    k->load_start = lo;
    k->load_end = hi;
    k->initrd_addr_max = low_end ? low_end - 1 : 0;
    k->cmdline_max = X86_CMDLINE_MAX;
    return 0;
}

#define BZ_KERNEL_VERSION  0x20e   /* offset of the version string, less 0x200 */

bool x86_kernel_is_linux(const uint8_t *img, size_t len)
{
    if (len >= BZ_KERNEL_VERSION + 2 && le32_load(img + BZ_HEADER) == BOOT_HDRS_MAGIC) {
        uint16_t off = le16_load(img + BZ_KERNEL_VERSION);
        uint64_t at = 0x200 + (uint64_t)off;
        return off && at < len && img[at] >= '0' && img[at] <= '9';
    }
    return len >= 4 && !memcmp(img, "\x7f" "ELF", 4) && memmem(img, len, "Linux version ", 14);
}

int x86_kernel_load(const struct guest_mem *m, const uint8_t *img, size_t len,
                    struct x86_kernel *k, char *err, size_t errlen)
{
    set_err(err, errlen, "%s", "");
    if (!img)
        len = 0;
    if (len >= BZ_HEADER + 4 && le32_load(img + BZ_HEADER) == BOOT_HDRS_MAGIC)
        return load_bzimage(m, img, len, k, err, errlen);
    if (len >= 4 && memcmp(img, "\x7f" "ELF", 4) == 0)
        return load_elf(m, img, len, k, err, errlen);
    set_err(err, errlen, "not a Linux kernel (no HdrS magic and no ELF header)");
    return -ENOEXEC;
}

/* ---- initrd ------------------------------------------------------------- */

int x86_initrd_load(const struct guest_mem *m, const struct x86_kernel *k,
                    const uint8_t *data, size_t len, uint64_t *gpa)
{
    if (len == 0 || !data)
        return -EINVAL;
    uint64_t limit = k->initrd_addr_max >= FOUR_GiB - 1 ? FOUR_GiB : k->initrd_addr_max + 1;
    uint64_t best = mem_place_top_ram(m, X86_HIMEM_START, limit, k->load_start, k->load_end, len,
                                      PAGE_SIZE);
    /* Nothing is placed below 1 MiB, so 0 means "no room". */
    if (best == 0)
        return -ENOMEM;
    int r = mem_write(m, best, data, len);
    if (r)
        return r;
    *gpa = best;
    return 0;
}

/* ---- e820 --------------------------------------------------------------- */

int x86_e820_build(const struct guest_mem *m, struct boot_e820_entry *out, int max)
{
    int n = 0;
#define E820_ADD(a, s, t) do { if (n >= max) return -ENOSPC; \
        out[n].addr = (a); out[n].size = (s); out[n].type = (t); n++; } while (0)

    for (int i = 0; i < m->n; i++) {
        if (m->r[i].gpa == 0 && m->r[i].size) {
            E820_ADD(0, min_u64(m->r[i].size, X86_EBDA_START), BOOT_E820_RAM);
            break;
        }
    }
    E820_ADD(X86_EBDA_START, X86_HIMEM_START - X86_EBDA_START, BOOT_E820_RESERVED);

    /* RAM >= 1 MiB in address order (regions need not be sorted). */
    int idx[MEM_MAX_REGIONS], cnt = 0;
    for (int i = 0; i < m->n && i < MEM_MAX_REGIONS; i++) {
        int j = cnt++;
        while (j > 0 && m->r[idx[j - 1]].gpa > m->r[i].gpa) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    for (int j = 0; j < cnt; j++) {
        const struct mem_region *r = &m->r[idx[j]];
        uint64_t s = max_u64(r->gpa, X86_HIMEM_START), e = region_end(r);
        if (e > s)
            E820_ADD(s, e - s, BOOT_E820_RAM);
    }
#undef E820_ADD
    return n;
}

/* ---- zero page / PVH start info ----------------------------------------- */

static int write_cmdline(const struct guest_mem *m, const char *cmdline, size_t clen)
{
    char *dst = mem_ptr(m, X86_CMDLINE_ADDR, clen + 1);
    if (!dst)
        return -EFAULT;
    memcpy(dst, cmdline, clen);
    dst[clen] = '\0';
    return 0;
}

int x86_bootparams_setup(const struct guest_mem *m, const struct x86_kernel *k,
                         const char *cmdline, uint64_t initrd_gpa,
                         uint64_t initrd_len, uint64_t rsdp_gpa)
{
    if (k->kind != X86_KERNEL_BZIMAGE || k->setup_header_len > X86_SETUP_HEADER_MAX)
        return -EINVAL;
    if (!cmdline)
        cmdline = "";
    size_t clen = strlen(cmdline);
    uint64_t cmax = min_u64(k->cmdline_max ? k->cmdline_max : 1, X86_CMDLINE_MAX);
    if (clen > cmax - 1)
        return -E2BIG;
    if (!mem_ptr(m, X86_ZERO_PAGE_ADDR, sizeof(struct boot_params)) ||
        !mem_ptr(m, X86_CMDLINE_ADDR, clen + 1))
        return -EFAULT;

    struct boot_params bp;
    memset(&bp, 0, sizeof(bp));
    memcpy((uint8_t *)&bp + X86_SETUP_HEADER_START, k->setup_header, k->setup_header_len);
    int n = x86_e820_build(m, bp.e820_table, BOOT_E820_MAX);
    if (n < 0)
        return n;
    bp.e820_entries = (uint8_t)n;

    bp.hdr.type_of_loader = 0xff;
    bp.hdr.loadflags |= BOOT_LOADED_HIGH | BOOT_CAN_USE_HEAP;
    bp.hdr.heap_end_ptr = 0xfe00;
    bp.hdr.cmd_line_ptr = (uint32_t)X86_CMDLINE_ADDR;
    bp.ext_cmd_line_ptr = (uint32_t)(X86_CMDLINE_ADDR >> 32);
    bp.hdr.setup_data = 0;
    if (initrd_len) {
        bp.hdr.ramdisk_image = (uint32_t)initrd_gpa;
        bp.ext_ramdisk_image = (uint32_t)(initrd_gpa >> 32);
        bp.hdr.ramdisk_size = (uint32_t)initrd_len;
        bp.ext_ramdisk_size = (uint32_t)(initrd_len >> 32);
    }
    bp.acpi_rsdp_addr = rsdp_gpa;

    int r = mem_write(m, X86_ZERO_PAGE_ADDR, &bp, sizeof(bp));
    if (r)
        return r;
    return write_cmdline(m, cmdline, clen);
}

#define PVH_MODLIST_ADDR (X86_PVH_INFO_ADDR + sizeof(struct hvm_start_info))
#define PVH_MEMMAP_ADDR  (PVH_MODLIST_ADDR + sizeof(struct hvm_modlist_entry))
_Static_assert(PVH_MODLIST_ADDR % 8 == 0 && PVH_MEMMAP_ADDR % 8 == 0, "PVH tables 8-aligned");

int x86_pvh_setup(const struct guest_mem *m, const char *cmdline,
                  uint64_t initrd_gpa, uint64_t initrd_len, uint64_t rsdp_gpa)
{
    if (!cmdline)
        cmdline = "";
    size_t clen = strlen(cmdline);
    if (clen > X86_CMDLINE_MAX - 1)
        return -E2BIG;

    struct boot_e820_entry e820[BOOT_E820_MAX];
    int n = x86_e820_build(m, e820, BOOT_E820_MAX);
    if (n < 0)
        return n;
    uint64_t map_bytes = (uint64_t)n * sizeof(struct hvm_memmap_table_entry);
    if (PVH_MEMMAP_ADDR + map_bytes > X86_ZERO_PAGE_ADDR)
        return -ENOSPC;
    uint8_t *area = mem_ptr(m, X86_PVH_INFO_ADDR, PVH_MEMMAP_ADDR + map_bytes - X86_PVH_INFO_ADDR);
    if (!area || !mem_ptr(m, X86_CMDLINE_ADDR, clen + 1))
        return -EFAULT;

    struct hvm_start_info si;
    memset(&si, 0, sizeof(si));
    si.magic = HVM_START_MAGIC;
    si.version = HVM_START_VERSION;
    si.cmdline_paddr = X86_CMDLINE_ADDR;
    si.rsdp_paddr = rsdp_gpa;
    si.memmap_paddr = PVH_MEMMAP_ADDR;
    si.memmap_entries = (uint32_t)n;

    struct hvm_modlist_entry mod;
    memset(&mod, 0, sizeof(mod));
    if (initrd_len) {
        si.nr_modules = 1;
        si.modlist_paddr = PVH_MODLIST_ADDR;
        mod.paddr = initrd_gpa;
        mod.size = initrd_len;
    }

    memcpy(area, &si, sizeof(si));
    memcpy(area + (PVH_MODLIST_ADDR - X86_PVH_INFO_ADDR), &mod, sizeof(mod));
    for (int i = 0; i < n; i++) {
        struct hvm_memmap_table_entry e = {
            .addr = e820[i].addr, .size = e820[i].size,
            .type = e820[i].type == BOOT_E820_RAM ? HVM_MEMMAP_RAM : HVM_MEMMAP_RESERVED,
        };
        memcpy(area + (PVH_MEMMAP_ADDR - X86_PVH_INFO_ADDR) + (uint64_t)i * sizeof(e), &e, sizeof(e));
    }
    return write_cmdline(m, cmdline, clen);
}

/* ---- page tables and GDT ------------------------------------------------ */

#define PTE_P   0x001ULL
#define PTE_RW  0x002ULL
#define PTE_PS  0x080ULL

int x86_pagetables_setup(const struct guest_mem *m)
{
    uint8_t *pt = mem_ptr(m, X86_PML4_ADDR, X86_PT_PAGES * PAGE_SIZE);
    if (!pt)
        return -EFAULT;
    memset(pt, 0, X86_PT_PAGES * PAGE_SIZE);
    uint64_t pdpt = X86_PML4_ADDR + PAGE_SIZE, pd0 = X86_PML4_ADDR + 2 * PAGE_SIZE;
    le64_store(pt, pdpt | PTE_P | PTE_RW);
    for (uint64_t i = 0; i < 4; i++) {
        le64_store(pt + PAGE_SIZE + 8 * i, (pd0 + i * PAGE_SIZE) | PTE_P | PTE_RW);
        uint8_t *pd = pt + (2 + i) * PAGE_SIZE;
        for (uint64_t j = 0; j < 512; j++)
            le64_store(pd + 8 * j, ((i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS);
    }
    return 0;
}

static const struct x86_seg seg_code32 = {
    .base = 0, .limit = 0xffffffff, .selector = X86_SEL_CODE32, .type = 0xb,
    .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
};
static const struct x86_seg seg_code64 = {
    .base = 0, .limit = 0xffffffff, .selector = X86_SEL_CODE64, .type = 0xb,
    .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
};
static const struct x86_seg seg_data = {
    .base = 0, .limit = 0xffffffff, .selector = X86_SEL_DATA, .type = 0x3,
    .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
};

uint64_t x86_gdt_encode(const struct x86_seg *s)
{
    uint64_t lim = s->g ? s->limit >> 12 : s->limit & 0xfffff;
    uint64_t base = s->base & 0xffffffffULL;
    return (lim & 0xffff) | (base & 0xffffff) << 16 |
           (uint64_t)(s->type & 0xf) << 40 | (uint64_t)(s->s & 1) << 44 |
           (uint64_t)(s->dpl & 3) << 45 | (uint64_t)(s->present & 1) << 47 |
           ((lim >> 16) & 0xf) << 48 | (uint64_t)(s->l & 1) << 53 |
           (uint64_t)(s->db & 1) << 54 | (uint64_t)(s->g & 1) << 55 |
           (base >> 24) << 56;
}

int x86_gdt_setup(const struct guest_mem *m)
{
    uint8_t *g = mem_ptr(m, X86_GDT_ADDR, X86_GDT_ENTRIES * 8);
    if (!g)
        return -EFAULT;
    le64_store(g, 0);
    le64_store(g + X86_SEL_CODE32, x86_gdt_encode(&seg_code32));
    le64_store(g + X86_SEL_CODE64, x86_gdt_encode(&seg_code64));
    le64_store(g + X86_SEL_DATA, x86_gdt_encode(&seg_data));
    return 0;
}

/* ---- boot CPU registers ------------------------------------------------- */

#define CR0_PE    (1ULL << 0)
#define CR0_ET    (1ULL << 4)
#define CR0_PG    (1ULL << 31)
#define CR4_PAE   (1ULL << 5)
#define EFER_LME  (1ULL << 8)
#define EFER_LMA  (1ULL << 10)

void x86_boot_regs_bzimage(const struct x86_kernel *k, struct x86_boot_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rip = k->entry;
    r->rsp = X86_STACK_TOP;
    r->rsi = X86_ZERO_PAGE_ADDR;
    r->rflags = 0x2;
    r->cr0 = CR0_PE | CR0_ET | CR0_PG;
    r->cr3 = X86_PML4_ADDR;
    r->cr4 = CR4_PAE;
    r->efer = EFER_LME | EFER_LMA;
    r->cs = seg_code64;
    r->ds = seg_data;
    r->gdt_base = X86_GDT_ADDR;
    r->gdt_limit = X86_GDT_ENTRIES * 8 - 1;
}

void x86_boot_regs_pvh(const struct x86_kernel *k, struct x86_boot_regs *r)
{
    memset(r, 0, sizeof(*r));
    r->rip = k->entry;
    r->rsp = X86_STACK_TOP;
    r->rbx = X86_PVH_INFO_ADDR;
    r->rflags = 0x2;
    r->cr0 = CR0_PE | CR0_ET;
    r->cs = seg_code32;
    r->ds = seg_data;
    r->gdt_base = X86_GDT_ADDR;
    r->gdt_limit = X86_GDT_ENTRIES * 8 - 1;
}
