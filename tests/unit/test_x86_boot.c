/* Unit tests for arch/x86/boot.c: synthetic bzImages and ELF/PVH kernels
 * loaded into fake guest memory (anonymous host mappings), and the zero
 * page, PVH start info, e820, page tables and GDT checked byte by byte at
 * their documented offsets. Never uses a real kernel from /boot. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/boot.h"
#include "arch/x86/layout.h"
#include "harness.h"
#include "mem/mem.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ---- helpers ----------------------------------------------------------- */

static void w16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void w32(uint8_t *p, uint32_t v) { w16(p, (uint16_t)v); w16(p + 2, (uint16_t)(v >> 16)); }
static void w64(uint8_t *p, uint64_t v) { w32(p, (uint32_t)v); w32(p + 4, (uint32_t)(v >> 32)); }
static uint16_t r16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t r32(const uint8_t *p) { return r16(p) | (uint32_t)r16(p + 2) << 16; }
static uint64_t r64(const uint8_t *p) { return r32(p) | (uint64_t)r32(p + 4) << 32; }

/* Guest RAM like the VMM lays it out: [0, min(size, 3G)) and the rest at 4G. */
static int guest_new(struct guest_mem *m, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    uint64_t low = size < X86_MMIO_HOLE_START ? size : X86_MMIO_HOLE_START;
    m->r[0].gpa = 0;
    m->r[0].size = low;
    m->n = 1;
    if (size > low) {
        m->r[1].gpa = X86_MMIO_HOLE_END;
        m->r[1].size = size - low;
        m->n = 2;
    }
    return mem_map(m);
}

static uint8_t *gp(const struct guest_mem *m, uint64_t gpa)
{
    return mem_ptr(m, gpa, 1);
}

/* ---- synthetic bzImage ------------------------------------------------- */

struct bz_opts {
    uint8_t setup_sects;
    uint16_t version;
    uint16_t xlf;
    uint8_t loadflags;
    uint8_t jump_len;
    uint8_t reloc;
    uint32_t kalign;
    uint64_t pref;
    uint32_t init_size;
    uint32_t cmdline_size;
    uint32_t initrd_max;
    size_t payload;
};

static struct bz_opts bz_default(void)
{
    return (struct bz_opts){
        .setup_sects = 4, .version = 0x020f, .xlf = 0x3, .loadflags = 0x01,
        .jump_len = 0x6a /* header ends at 0x26c */, .reloc = 1, .kalign = 0x200000,
        .pref = 0x1000000, .init_size = 4 * MiB, .cmdline_size = 2048,
        .initrd_max = 0x7fffffff, .payload = 64 * 1024,
    };
}

static uint8_t payload_byte(size_t i) { return (uint8_t)(i * 7 + 3); }

static uint8_t *bz_build(const struct bz_opts *o, size_t *len)
{
    size_t sects = o->setup_sects ? o->setup_sects : 4;
    size_t setup = (sects + 1) * 512;
    *len = setup + o->payload;
    uint8_t *b = calloc(1, *len);
    b[0x1f1] = o->setup_sects;
    w16(b + 0x1fe, 0xaa55);
    b[0x200] = 0xeb;
    b[0x201] = o->jump_len;
    memcpy(b + 0x202, "HdrS", 4);
    w16(b + 0x206, o->version);
    b[0x211] = o->loadflags;
    w32(b + 0x22c, o->initrd_max);
    w32(b + 0x230, o->kalign);
    b[0x234] = o->reloc;
    w16(b + 0x236, o->xlf);
    w32(b + 0x238, o->cmdline_size);
    w64(b + 0x258, o->pref);
    w32(b + 0x260, o->init_size);
    for (size_t i = 0; i < o->payload; i++)
        b[setup + i] = payload_byte(i);
    return b;
}

static int bz_load(const struct guest_mem *m, const struct bz_opts *o, struct x86_kernel *k,
                   char *err, size_t errlen)
{
    size_t len;
    uint8_t *b = bz_build(o, &len);
    int r = x86_kernel_load(m, b, len, k, err, errlen);
    free(b);
    return r;
}

static void t_bz_valid(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 256 * MiB), 0);
    struct bz_opts o = bz_default();
    struct x86_kernel k;
    char err[256];
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), 0);
    CHECK_EQ(k.kind, X86_KERNEL_BZIMAGE);
    CHECK_EQ(k.entry, 0x100200);
    CHECK_EQ(k.load_start, X86_HIMEM_START);
    CHECK_EQ(k.load_end, 0x1000000 + 4 * MiB);  /* pref_address + init_size */
    CHECK_EQ(k.initrd_addr_max, 0x7fffffff);
    CHECK_EQ(k.cmdline_max, 2049);
    CHECK_EQ(k.setup_header_len, 0x26c - 0x1f1);
    CHECK_EQ(k.setup_header[0x202 - 0x1f1], 'H');
    CHECK_EQ(r16(k.setup_header + 0x206 - 0x1f1), 0x020f);
    for (size_t i = 0; i < o.payload; i++)
        CHECK_EQ(*gp(&m, X86_HIMEM_START + i), payload_byte(i));
    mem_unmap(&m);
}

static void t_bz_setup_sects0(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    o.setup_sects = 0;   /* means 4 */
    size_t len;
    uint8_t *b = bz_build(&o, &len);
    CHECK_EQ(len, 5 * 512 + o.payload);
    struct x86_kernel k;
    int r = x86_kernel_load(&m, b, len, &k, NULL, 0);
    free(b);
    CHECK_EQ(r, 0);
    CHECK_EQ(*gp(&m, X86_HIMEM_START), payload_byte(0));
    CHECK_EQ(*gp(&m, X86_HIMEM_START + 100), payload_byte(100));
    mem_unmap(&m);
}

static void t_bz_bad_magic(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    size_t len;
    uint8_t *b = bz_build(&o, &len);
    struct x86_kernel k;
    char err[256];

    b[0x202] = 'X';   /* no HdrS, no ELF */
    CHECK_EQ(x86_kernel_load(&m, b, len, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strcmp(err, "not a Linux kernel (no HdrS magic and no ELF header)") == 0);
    b[0x202] = 'H';
    w16(b + 0x1fe, 0x1234);
    CHECK_EQ(x86_kernel_load(&m, b, len, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strstr(err, "boot_flag") != NULL);
    CHECK_EQ(x86_kernel_load(&m, NULL, 0, &k, err, sizeof(err)), -ENOEXEC);
    CHECK_EQ(x86_kernel_load(&m, b, 3, &k, err, sizeof(err)), -ENOEXEC);
    free(b);
    mem_unmap(&m);
}

static void t_bz_old_version(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    o.version = 0x020b;
    struct x86_kernel k;
    char err[256];
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strstr(err, "2.11") != NULL);
    o.version = 0x020c;   /* exactly 2.12 is fine */
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), 0);
    mem_unmap(&m);
}

static void t_bz_no_kernel64(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    o.xlf = BOOT_XLF_CAN_BE_LOADED_ABOVE_4G;
    struct x86_kernel k;
    char err[256];
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strstr(err, "XLF_KERNEL_64") != NULL);
    o = bz_default();
    o.loadflags = 0;     /* zImage */
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -ENOEXEC);
    mem_unmap(&m);
}

static void t_bz_truncated(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    size_t len;
    uint8_t *b = bz_build(&o, &len);
    struct x86_kernel k;
    char err[256];

    /* HdrS present but the version is cut off */
    CHECK_EQ(x86_kernel_load(&m, b, 0x206, &k, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "truncated", 9) == 0);
    /* the header itself is cut */
    CHECK_EQ(x86_kernel_load(&m, b, 0x240, &k, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "truncated: header needs 620 bytes, file has 576") == 0);
    /* the setup sectors are cut */
    CHECK_EQ(x86_kernel_load(&m, b, 1024, &k, err, sizeof(err)), -EINVAL);
    CHECK(strcmp(err, "truncated: setup needs 2560 bytes, file has 1024") == 0);
    /* nothing after the setup */
    CHECK_EQ(x86_kernel_load(&m, b, 2560, &k, err, sizeof(err)), -EINVAL);
    /* a header length byte too small for protocol 2.12 */
    b[0x201] = 0x20;
    CHECK_EQ(x86_kernel_load(&m, b, len, &k, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "inconsistent header") != NULL);
    /* a long header is clamped to what boot_params holds */
    b[0x201] = 0xff;
    CHECK_EQ(x86_kernel_load(&m, b, len, &k, err, sizeof(err)), 0);
    CHECK_EQ(k.setup_header_len, X86_SETUP_HEADER_MAX);
    /* every truncation length up to past the setup fails cleanly */
    b[0x201] = 0x6a;
    for (size_t l = 0; l <= 2560; l++)
        CHECK(x86_kernel_load(&m, b, l, &k, err, sizeof(err)) < 0);
    CHECK_EQ(x86_kernel_load(&m, b, 2561, &k, err, sizeof(err)), 0);
    free(b);
    mem_unmap(&m);
}

static void t_bz_too_big(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 16 * MiB), 0);
    struct bz_opts o = bz_default();   /* needs 16 MiB + 4 MiB */
    struct x86_kernel k;
    char err[256];
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -ENOMEM);
    CHECK(strcmp(err, "kernel needs 20 MiB, guest has 16 MiB") == 0);
    /* pref_address near the top of the address space must not wrap */
    o.pref = UINT64_MAX - 16;
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -EINVAL);
    o.pref = UINT64_MAX - 8 * MiB;
    CHECK_EQ(bz_load(&m, &o, &k, err, sizeof(err)), -ENOMEM);
    mem_unmap(&m);
}

static void t_bz_footprint(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct x86_kernel k;
    struct bz_opts o = bz_default();
    /* relocatable, no pref_address: extracted at align_up(1 MiB, 2 MiB) */
    o.pref = 0;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(k.load_end, 2 * MiB + 4 * MiB);
    /* a payload bigger than init_size sets the end */
    o.init_size = 0x1000;
    o.payload = 3 * MiB;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(k.load_end, X86_HIMEM_START + 3 * MiB);
    /* not relocatable: runs at pref_address */
    o = bz_default();
    o.reloc = 0;
    o.pref = 0x2000000;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(k.load_end, 0x2000000 + 4 * MiB);
    /* cmdline_size is clamped to our buffer; initrd_addr_max 0 gets the default */
    o = bz_default();
    o.cmdline_size = 0xffffffff;
    o.initrd_max = 0;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(k.cmdline_max, X86_CMDLINE_MAX);
    CHECK_EQ(k.initrd_addr_max, 0x37ffffff);
    mem_unmap(&m);
}

/* ---- synthetic ELF ----------------------------------------------------- */

#define ELF_LEN       0x3000
#define ELF_PADDR     0x200000ULL
#define ELF_ENTRY     (ELF_PADDR + 0x100)
#define ELF_FILESZ    0x2000
#define ELF_MEMSZ     0x3000

struct elf_layout {
    int is64;
    size_t phoff, phentsize, notes, notes_len, shoff, xen_desc;
};

/* Field offsets inside a program header. */
static size_t ph_off(const struct elf_layout *l, int i, const char *f)
{
    size_t base = l->phoff + (size_t)i * l->phentsize;
    if (l->is64) {
        if (!strcmp(f, "type")) return base;
        if (!strcmp(f, "offset")) return base + 8;
        if (!strcmp(f, "paddr")) return base + 24;
        if (!strcmp(f, "filesz")) return base + 32;
        if (!strcmp(f, "memsz")) return base + 40;
        return base + 48;
    }
    if (!strcmp(f, "type")) return base;
    if (!strcmp(f, "offset")) return base + 4;
    if (!strcmp(f, "paddr")) return base + 12;
    if (!strcmp(f, "filesz")) return base + 16;
    if (!strcmp(f, "memsz")) return base + 20;
    return base + 28;
}

static void ph_set(uint8_t *b, const struct elf_layout *l, int i, const char *f, uint64_t v)
{
    size_t o = ph_off(l, i, f);
    if (!strcmp(f, "type"))
        w32(b + o, (uint32_t)v);
    else if (l->is64)
        w64(b + o, v);
    else
        w32(b + o, (uint32_t)v);
}

static void elf_set_shoff(uint8_t *b, const struct elf_layout *l, uint64_t v)
{
    if (l->is64)
        w64(b + 40, v);
    else
        w32(b + 32, (uint32_t)v);
}

static size_t put_note(uint8_t *p, const char *name, uint32_t namesz, uint32_t type,
                       const uint8_t *desc, uint32_t descsz)
{
    w32(p, namesz);
    w32(p + 4, descsz);
    w32(p + 8, type);
    memcpy(p + 12, name, namesz);
    size_t o = 12 + ((namesz + 3u) & ~3u);
    memcpy(p + o, desc, descsz);
    return o + ((descsz + 3u) & ~3u);
}

/* A kernel with one PT_LOAD (ELF_FILESZ bytes at offset 0x1000 to ELF_PADDR,
 * ELF_MEMSZ in memory), one PT_NOTE holding a "Linux" note and the Xen
 * PHYS32_ENTRY note, and a section table whose SHT_NOTE covers the same. */
static uint8_t *elf_build(int is64, struct elf_layout *l)
{
    uint8_t *b = calloc(1, ELF_LEN);
    memset(l, 0, sizeof(*l));
    l->is64 = is64;
    l->phoff = is64 ? 64 : 52;
    l->phentsize = is64 ? 56 : 32;
    l->notes = l->phoff + 2 * l->phentsize;
    l->shoff = 0x200;
    size_t shentsize = is64 ? 64 : 40;

    memcpy(b, "\x7f" "ELF", 4);
    b[4] = is64 ? 2 : 1;
    b[5] = 1;
    b[6] = 1;
    w16(b + 16, 2);                       /* ET_EXEC */
    w16(b + 18, is64 ? 62 : 3);           /* EM_X86_64 / EM_386 */
    w32(b + 20, 1);
    if (is64) {
        w64(b + 24, 0xffffffff81000000ULL);
        w64(b + 32, l->phoff);
        w64(b + 40, l->shoff);
        w16(b + 52, 64);
        w16(b + 54, 56);
        w16(b + 56, 2);
        w16(b + 58, 64);
        w16(b + 60, 2);
    } else {
        w32(b + 24, (uint32_t)ELF_ENTRY);
        w32(b + 28, (uint32_t)l->phoff);
        w32(b + 32, (uint32_t)l->shoff);
        w16(b + 40, 52);
        w16(b + 42, 32);
        w16(b + 44, 2);
        w16(b + 46, 40);
        w16(b + 48, 2);
    }

    /* notes: "Linux" (namesz 6, padded) then Xen (8-byte desc for ELF64) */
    uint8_t desc[8];
    w64(desc, ELF_ENTRY);
    uint8_t junk[4] = { 1, 2, 3, 4 };
    size_t n = put_note(b + l->notes, "Linux", 6, 1, junk, 3);
    l->xen_desc = l->notes + n + 12 + 4;
    n += put_note(b + l->notes + n, "Xen", 4, 18, desc, is64 ? 8 : 4);
    l->notes_len = n;

    ph_set(b, l, 0, "type", 1);
    ph_set(b, l, 0, "offset", 0x1000);
    ph_set(b, l, 0, "paddr", ELF_PADDR);
    ph_set(b, l, 0, "filesz", ELF_FILESZ);
    ph_set(b, l, 0, "memsz", ELF_MEMSZ);
    ph_set(b, l, 0, "align", 0x1000);
    ph_set(b, l, 1, "type", 4);
    ph_set(b, l, 1, "offset", l->notes);
    ph_set(b, l, 1, "filesz", l->notes_len);
    ph_set(b, l, 1, "memsz", l->notes_len);
    ph_set(b, l, 1, "align", 4);

    /* section 1: SHT_NOTE over the notes */
    uint8_t *sh = b + l->shoff + shentsize;
    w32(sh + 4, 7);
    if (is64) {
        w64(sh + 24, l->notes);
        w64(sh + 32, l->notes_len);
        w64(sh + 48, 4);
    } else {
        w32(sh + 16, (uint32_t)l->notes);
        w32(sh + 20, (uint32_t)l->notes_len);
        w32(sh + 32, 4);
    }
    for (size_t i = 0; i < ELF_FILESZ; i++)
        b[0x1000 + i] = payload_byte(i);
    return b;
}

static void elf_valid(int is64)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 256 * MiB), 0);
    memset(gp(&m, ELF_PADDR), 0xcc, ELF_MEMSZ);   /* the bss must be zeroed */
    struct elf_layout l;
    uint8_t *b = elf_build(is64, &l);
    struct x86_kernel k;
    char err[256];
    int r = x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err));
    free(b);
    CHECK_EQ(r, 0);
    CHECK_EQ(k.kind, X86_KERNEL_PVH);
    CHECK_EQ(k.entry, ELF_ENTRY);
    CHECK_EQ(k.load_start, ELF_PADDR);
    CHECK_EQ(k.load_end, ELF_PADDR + ELF_MEMSZ);
    CHECK_EQ(k.initrd_addr_max, 256 * MiB - 1);
    CHECK_EQ(k.cmdline_max, X86_CMDLINE_MAX);
    for (size_t i = 0; i < ELF_FILESZ; i++)
        CHECK_EQ(*gp(&m, ELF_PADDR + i), payload_byte(i));
    for (size_t i = ELF_FILESZ; i < ELF_MEMSZ; i++)
        CHECK_EQ(*gp(&m, ELF_PADDR + i), 0);
    mem_unmap(&m);
}

static void t_elf64_valid(void) { elf_valid(1); }
static void t_elf32_valid(void) { elf_valid(0); }

static void t_elf_section_note(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    for (int is64 = 0; is64 < 2; is64++) {
        struct elf_layout l;
        uint8_t *b = elf_build(is64, &l);
        ph_set(b, &l, 1, "type", 0);   /* drop the PT_NOTE: found via SHT_NOTE */
        struct x86_kernel k;
        int r = x86_kernel_load(&m, b, ELF_LEN, &k, NULL, 0);
        free(b);
        CHECK_EQ(r, 0);
        CHECK_EQ(k.entry, ELF_ENTRY);
    }
    mem_unmap(&m);
}

static void t_elf_no_note(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);
    struct x86_kernel k;
    char err[256];
    ph_set(b, &l, 1, "type", 0);
    elf_set_shoff(b, &l, 0);
    /* a program (segments below 1 MiB, no note) is told it has no PVH note */
    ph_set(b, &l, 0, "paddr", 0x8000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strstr(err, "ELF has no PVH entry note"));
    ph_set(b, &l, 0, "paddr", ELF_PADDR);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    CHECK(strstr(err, "ELF has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY): an ELF vmlinux boots only through PVH (a kernel built with CONFIG_PVH=y), else boot its bzImage"));
    /* a Xen note of another type does not count */
    ph_set(b, &l, 1, "type", 4);
    w32(b + l.xen_desc - 8, 17);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    /* a section table that points outside the file is an error */
    elf_set_shoff(b, &l, ELF_LEN - 10);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    free(b);
    mem_unmap(&m);
}

static void t_elf_note_bad_lengths(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct x86_kernel k;
    char err[256];
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);
    size_t xen = l.xen_desc - 16;   /* start of the Xen note */

    /* namesz runs past the note segment */
    w32(b + l.notes, 0xffffffff);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w32(b + l.notes, 6);
    /* descsz runs past the note segment */
    w32(b + l.notes + 4, 0xfffffff0);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w32(b + l.notes + 4, 3);
    /* a Xen entry descriptor that is neither 4 nor 8 bytes */
    w32(b + xen + 4, 2);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "descriptor") != NULL);
    w32(b + xen + 4, 8);
    /* the segment ends inside the Xen note's descriptor */
    ph_set(b, &l, 1, "filesz", l.notes_len - 4);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    /* the segment ends inside the Xen note's header: no note found there,
     * then the intact SHT_NOTE section supplies it */
    ph_set(b, &l, 1, "filesz", (xen - l.notes) + 6);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), 0);
    /* the note segment reaches past the end of the file */
    ph_set(b, &l, 1, "filesz", ELF_LEN);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    ph_set(b, &l, 1, "filesz", l.notes_len);
    /* 8-byte aligned note segments (as .note.gnu.property is, see
     * readelf's ELF_NOTE_DESC_OFFSET): the descriptor starts at the
     * 12-byte header + name rounded up to 8 from the note's start, the
     * next note at that + descriptor rounded up to 8: build one by hand */
    uint8_t *n8 = b + 0x400;
    memset(n8, 0, 0x100);
    uint8_t desc[8];
    w64(desc, ELF_ENTRY);
    w32(n8, 5); w32(n8 + 4, 3); w32(n8 + 8, 1); memcpy(n8 + 12, "ABCD", 5);
    /* header + name end at 17 -> desc at 24, 3 bytes -> next note at 32 */
    w32(n8 + 32, 4); w32(n8 + 36, 8); w32(n8 + 40, 18); memcpy(n8 + 44, "Xen", 4);
    memcpy(n8 + 48, desc, 8);   /* header + name end at 48 -> desc at 48 */
    ph_set(b, &l, 1, "offset", 0x400);
    ph_set(b, &l, 1, "filesz", 56);
    ph_set(b, &l, 1, "align", 8);
    elf_set_shoff(b, &l, 0);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), 0);
    CHECK_EQ(k.entry, ELF_ENTRY);
    free(b);
    mem_unmap(&m);
}

static void t_elf_outside_ram(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 256 * MiB), 0);
    struct x86_kernel k;
    char err[256];
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);

    ph_set(b, &l, 0, "paddr", 512 * MiB);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOMEM);
    CHECK(strstr(err, "outside guest RAM") != NULL);
    /* straddles the end of RAM */
    ph_set(b, &l, 0, "paddr", 256 * MiB - 0x1000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOMEM);
    /* below 1 MiB collides with the boot structures */
    ph_set(b, &l, 0, "paddr", 0x8000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "segment 0 at 0x8000 is below 1 MiB"));
    /* entry not inside the loaded segment */
    ph_set(b, &l, 0, "paddr", ELF_PADDR);
    w64(b + l.xen_desc, 0x500000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w64(b + l.xen_desc, 0x100000000ULL + ELF_PADDR);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    free(b);
    mem_unmap(&m);

    /* a guest with RAM above 4 GiB: a segment in the MMIO hole fails */
    CHECK_EQ(guest_new(&m, 4 * GiB), 0);
    b = elf_build(1, &l);
    ph_set(b, &l, 0, "paddr", X86_MMIO_HOLE_START + 0x100000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOMEM);
    free(b);
    mem_unmap(&m);
}

static void t_elf_beyond_file(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct x86_kernel k;
    char err[256];
    for (int is64 = 0; is64 < 2; is64++) {
        struct elf_layout l;
        uint8_t *b = elf_build(is64, &l);
        ph_set(b, &l, 0, "offset", 0x2800);
        CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
        CHECK(strncmp(err, "truncated", 9) == 0);
        ph_set(b, &l, 0, "offset", is64 ? UINT64_MAX - 1 : UINT32_MAX - 1);
        CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
        ph_set(b, &l, 0, "offset", 0x1000);
        /* the file is cut in the middle of the segment */
        CHECK_EQ(x86_kernel_load(&m, b, 0x2fff, &k, err, sizeof(err)), -EINVAL);
        /* every truncation fails cleanly */
        for (size_t len = 0; len < ELF_LEN; len += 7)
            CHECK(x86_kernel_load(&m, b, len, &k, err, sizeof(err)) < 0);
        free(b);
    }
    mem_unmap(&m);
}

static void t_elf_huge_sizes(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct x86_kernel k;
    char err[256];
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);

    ph_set(b, &l, 0, "memsz", UINT64_MAX);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "wraps") != NULL);
    ph_set(b, &l, 0, "memsz", 0x1000);      /* filesz > memsz */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    ph_set(b, &l, 0, "memsz", ELF_MEMSZ);
    ph_set(b, &l, 0, "paddr", UINT64_MAX - 0x1000);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    ph_set(b, &l, 0, "paddr", ELF_PADDR);
    ph_set(b, &l, 0, "filesz", UINT64_MAX);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    ph_set(b, &l, 0, "filesz", ELF_FILESZ);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), 0);

    /* program header table outside the file / absurd entry sizes */
    w64(b + 32, UINT64_MAX - 8);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w64(b + 32, l.phoff);
    w16(b + 56, 0xfffe);                    /* phnum * phentsize > file */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w16(b + 56, 0);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w16(b + 56, 2);
    w16(b + 54, 8);                         /* phentsize too small */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -EINVAL);
    w16(b + 54, 56);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), 0);
    free(b);
    mem_unmap(&m);
}

static void t_elf_wrong_kind(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct x86_kernel k;
    char err[256];
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);
    w16(b + 18, 3);    /* ELF64 claiming EM_386 */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    w16(b + 18, 183);  /* aarch64 */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    w16(b + 18, 62);
    b[4] = 3;          /* bad class */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    b[4] = 2;
    b[5] = 2;          /* big-endian */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    b[5] = 1;
    w16(b + 16, 1);    /* ET_REL */
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err)), -ENOEXEC);
    free(b);
    mem_unmap(&m);
}

static uint64_t rng_next(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Random byte mutations of valid images must never crash or read/write
 * out of bounds (run under ASan/UBSan). */
static void t_fuzz_mutations(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    uint64_t s = 0x9e3779b97f4a7c15ULL;
    struct x86_kernel k;
    char err[64];
    for (int is64 = 0; is64 < 2; is64++) {
        struct elf_layout l;
        uint8_t *orig = elf_build(is64, &l);
        uint8_t *b = malloc(ELF_LEN);
        for (int it = 0; it < 20000; it++) {
            memcpy(b, orig, ELF_LEN);
            int nmut = 1 + (int)(rng_next(&s) % 4);
            for (int j = 0; j < nmut; j++) {
                /* mostly hit the headers and notes */
                size_t pos = (size_t)(rng_next(&s) % (rng_next(&s) & 1 ? 0x300 : ELF_LEN));
                b[pos] = (uint8_t)rng_next(&s);
            }
            (void)x86_kernel_load(&m, b, ELF_LEN, &k, err, sizeof(err));
        }
        free(b);
        free(orig);
    }
    struct bz_opts o = bz_default();
    o.payload = 512;
    size_t len;
    uint8_t *orig = bz_build(&o, &len);
    uint8_t *b = malloc(len);
    for (int it = 0; it < 20000; it++) {
        memcpy(b, orig, len);
        for (int j = 0; j < 3; j++)
            b[0x1f1 + rng_next(&s) % (0x280 - 0x1f1)] = (uint8_t)rng_next(&s);
        if (x86_kernel_load(&m, b, len, &k, err, sizeof(err)) == 0)
            CHECK(k.setup_header_len <= X86_SETUP_HEADER_MAX);
    }
    free(b);
    free(orig);
    mem_unmap(&m);
}

/* ---- initrd ------------------------------------------------------------ */

static void t_initrd_top(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 256 * MiB), 0);
    struct bz_opts o = bz_default();
    struct x86_kernel k;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    size_t len = MiB + 123;
    uint8_t *d = malloc(len);
    for (size_t i = 0; i < len; i++)
        d[i] = (uint8_t)(i ^ 0x5a);
    uint64_t gpa = 0;
    CHECK_EQ(x86_initrd_load(&m, &k, d, len, &gpa), 0);
    CHECK_EQ(gpa, (256 * MiB - len) & ~0xfffULL);
    CHECK(gpa + len <= 256 * MiB);
    CHECK(gpa >= k.load_end);
    CHECK(memcmp(gp(&m, gpa), d, len) == 0);
    CHECK_EQ(x86_initrd_load(&m, &k, d, 0, &gpa), -EINVAL);
    free(d);
    mem_unmap(&m);
}

static void t_initrd_below_max(void)
{
    struct guest_mem m;
    struct x86_kernel k;
    uint8_t d[0x1800] = { 1 };
    uint64_t gpa;

    /* header limit 256 MiB - 1 in a 1 GiB guest */
    CHECK_EQ(guest_new(&m, 1 * GiB), 0);
    struct bz_opts o = bz_default();
    o.initrd_max = 0x0fffffff;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(x86_initrd_load(&m, &k, d, sizeof(d), &gpa), 0);
    CHECK_EQ(gpa, 256 * MiB - 0x2000);
    mem_unmap(&m);

    /* 4 GiB guest: the top of RAM below the MMIO hole, never above 4 GiB */
    CHECK_EQ(guest_new(&m, 4 * GiB), 0);
    o = bz_default();
    o.initrd_max = 0xffffffff;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    CHECK_EQ(x86_initrd_load(&m, &k, d, sizeof(d), &gpa), 0);
    CHECK_EQ(gpa, X86_MMIO_HOLE_START - 0x2000);
    mem_unmap(&m);

    /* a PVH kernel: initrd_addr_max is the end of low RAM */
    CHECK_EQ(guest_new(&m, 4 * GiB), 0);
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, NULL, 0), 0);
    free(b);
    CHECK_EQ(k.initrd_addr_max, X86_MMIO_HOLE_START - 1);
    /* and an explicit lower limit */
    k.initrd_addr_max = 0x3fffff;
    CHECK_EQ(x86_initrd_load(&m, &k, d, sizeof(d), &gpa), 0);
    CHECK_EQ(gpa, 0x400000 - 0x2000);
    mem_unmap(&m);
}

static void t_initrd_too_big(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 16 * MiB), 0);
    struct elf_layout l;
    uint8_t *b = elf_build(1, &l);   /* kernel at [2 MiB, 2 MiB + 12 KiB) */
    struct x86_kernel k;
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, NULL, 0), 0);
    free(b);
    size_t big = 15 * MiB;
    uint8_t *d = calloc(1, big);
    uint64_t gpa = 0;
    CHECK_EQ(x86_initrd_load(&m, &k, d, big, &gpa), -ENOMEM);
    CHECK_EQ(x86_initrd_load(&m, &k, d, 13 * MiB, &gpa), 0);
    CHECK(gpa >= k.load_end);
    CHECK_EQ(gpa + 13 * MiB, 16 * MiB);
    free(d);
    mem_unmap(&m);

    /* only room below the kernel: [1 MiB, 2 MiB) */
    CHECK_EQ(guest_new(&m, 2 * MiB + 0x8000), 0);
    b = elf_build(1, &l);
    CHECK_EQ(x86_kernel_load(&m, b, ELF_LEN, &k, NULL, 0), 0);
    free(b);
    uint8_t small[0x10000];
    memset(small, 7, sizeof(small));
    CHECK_EQ(x86_initrd_load(&m, &k, small, sizeof(small), &gpa), 0);
    CHECK_EQ(gpa, 2 * MiB - sizeof(small));
    mem_unmap(&m);
}

/* ---- e820 -------------------------------------------------------------- */

static void t_e820_256m(void)
{
    struct guest_mem m = { .n = 1, .r = { { .gpa = 0, .size = 256 * MiB } } };
    struct boot_e820_entry e[8];
    CHECK_EQ(x86_e820_build(&m, e, 8), 3);
    CHECK_EQ(e[0].addr, 0);
    CHECK_EQ(e[0].size, X86_EBDA_START);
    CHECK_EQ(e[0].type, 1);
    CHECK_EQ(e[1].addr, X86_EBDA_START);
    CHECK_EQ(e[1].size, 0x100000 - X86_EBDA_START);
    CHECK_EQ(e[1].type, 2);
    CHECK_EQ(e[2].addr, 0x100000);
    CHECK_EQ(e[2].size, 255 * MiB);
    CHECK_EQ(e[2].type, 1);
    CHECK_EQ(x86_e820_build(&m, e, 2), -ENOSPC);
}

static void t_e820_above_4g(void)
{
    /* 5 GiB: [0, 3G) + [4G, 6G); listed out of order on purpose */
    struct guest_mem m = { .n = 2, .r = {
        { .gpa = X86_MMIO_HOLE_END, .size = 2 * GiB },
        { .gpa = 0, .size = X86_MMIO_HOLE_START } } };
    struct boot_e820_entry e[8];
    CHECK_EQ(x86_e820_build(&m, e, 8), 4);
    CHECK_EQ(e[2].addr, 0x100000);
    CHECK_EQ(e[2].addr + e[2].size, X86_MMIO_HOLE_START);
    CHECK_EQ(e[3].addr, X86_MMIO_HOLE_END);
    CHECK_EQ(e[3].size, 2 * GiB);
    CHECK_EQ(e[3].type, 1);
    for (int i = 0; i < 4; i++)
        CHECK(e[i].addr + e[i].size <= X86_MMIO_HOLE_START || e[i].addr >= X86_MMIO_HOLE_END);
}

/* ---- zero page ---------------------------------------------------------- */

static void t_bootparams(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 256 * MiB), 0);
    memset(gp(&m, X86_ZERO_PAGE_ADDR), 0xee, 0x1000);   /* must be cleared */
    struct bz_opts o = bz_default();
    struct x86_kernel k;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    const char *cmd = "console=ttyS0 root=/dev/vda";
    CHECK_EQ(x86_bootparams_setup(&m, &k, cmd, 0xf000000, 0x123456, 0xe0000), 0);
    const uint8_t *z = gp(&m, X86_ZERO_PAGE_ADDR);
    CHECK_EQ(r16(z + 0x1fe), 0xaa55);
    CHECK(memcmp(z + 0x202, "HdrS", 4) == 0);
    CHECK_EQ(r16(z + 0x206), 0x020f);
    CHECK_EQ(z[0x210], 0xff);                     /* type_of_loader */
    CHECK_EQ(z[0x211] & 0x81, 0x81);              /* LOADED_HIGH | CAN_USE_HEAP */
    CHECK_EQ(r16(z + 0x224), 0xfe00);             /* heap_end_ptr */
    CHECK_EQ(r32(z + 0x228), X86_CMDLINE_ADDR);   /* cmd_line_ptr */
    CHECK_EQ(r32(z + 0x0c8), 0);                  /* ext_cmd_line_ptr */
    CHECK_EQ(r32(z + 0x218), 0xf000000);          /* ramdisk_image */
    CHECK_EQ(r32(z + 0x21c), 0x123456);           /* ramdisk_size */
    CHECK_EQ(r32(z + 0x0c0), 0);
    CHECK_EQ(r32(z + 0x0c4), 0);
    CHECK_EQ(r64(z + 0x070), 0xe0000);            /* acpi_rsdp_addr */
    CHECK_EQ(r32(z + 0x238), 2048);               /* kernel's cmdline_size kept */
    CHECK_EQ(z[0x1ef], 0);                        /* sentinel */
    CHECK_EQ(r64(z + 0x250), 0);                  /* setup_data */
    CHECK_EQ(z[0x1e8], 3);                        /* e820_entries */
    const uint8_t *e = z + 0x2d0;
    CHECK_EQ(r64(e + 0), 0);
    CHECK_EQ(r64(e + 8), X86_EBDA_START);
    CHECK_EQ(r32(e + 16), 1);
    CHECK_EQ(r64(e + 20), X86_EBDA_START);
    CHECK_EQ(r32(e + 36), 2);
    CHECK_EQ(r64(e + 40), 0x100000);
    CHECK_EQ(r64(e + 48), 255 * MiB);
    CHECK_EQ(r32(e + 56), 1);
    CHECK_EQ(r64(e + 60), 0);                     /* nothing after */
    CHECK_EQ(z[0xd00], 0);                        /* eddbuf cleared */
    CHECK(strcmp((const char *)gp(&m, X86_CMDLINE_ADDR), cmd) == 0);

    /* an initrd above 4 GiB uses the ext_ fields; no initrd clears them */
    CHECK_EQ(x86_bootparams_setup(&m, &k, NULL, 0x123456000ULL, 0x100001000ULL, 0), 0);
    CHECK_EQ(r32(z + 0x218), 0x23456000);
    CHECK_EQ(r32(z + 0x0c0), 1);
    CHECK_EQ(r32(z + 0x21c), 0x1000);
    CHECK_EQ(r32(z + 0x0c4), 1);
    CHECK_EQ(r64(z + 0x070), 0);
    CHECK_EQ(*gp(&m, X86_CMDLINE_ADDR), 0);
    CHECK_EQ(x86_bootparams_setup(&m, &k, "", 0x5000000, 0, 0), 0);
    CHECK_EQ(r32(z + 0x218), 0);
    CHECK_EQ(r32(z + 0x21c), 0);
    mem_unmap(&m);
}

static void t_bootparams_cmdline_limits(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    struct bz_opts o = bz_default();
    o.cmdline_size = 100;
    struct x86_kernel k;
    CHECK_EQ(bz_load(&m, &o, &k, NULL, 0), 0);
    char line[X86_CMDLINE_MAX + 2];
    memset(line, 'a', sizeof(line));
    line[100] = 0;
    CHECK_EQ(x86_bootparams_setup(&m, &k, line, 0, 0, 0), 0);
    CHECK_EQ(strlen((const char *)gp(&m, X86_CMDLINE_ADDR)), 100);
    line[100] = 'a';
    line[101] = 0;
    memset(gp(&m, X86_ZERO_PAGE_ADDR), 0x77, 16);
    CHECK_EQ(x86_bootparams_setup(&m, &k, line, 0, 0, 0), -E2BIG);
    CHECK_EQ(*gp(&m, X86_ZERO_PAGE_ADDR), 0x77);   /* nothing written */
    /* our own buffer limit applies even if the kernel allows more */
    k.cmdline_max = UINT32_MAX;
    line[101] = 'a';
    line[X86_CMDLINE_MAX] = 0;
    CHECK_EQ(x86_bootparams_setup(&m, &k, line, 0, 0, 0), -E2BIG);
    line[X86_CMDLINE_MAX - 1] = 0;
    CHECK_EQ(x86_bootparams_setup(&m, &k, line, 0, 0, 0), 0);
    /* a PVH kernel has no setup header */
    k.kind = X86_KERNEL_PVH;
    CHECK_EQ(x86_bootparams_setup(&m, &k, "", 0, 0, 0), -EINVAL);
    mem_unmap(&m);
}

/* ---- PVH start info ----------------------------------------------------- */

static void t_pvh_start_info(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 5 * GiB), 0);
    CHECK_EQ(x86_pvh_setup(&m, "console=hvc0", 0x8000000, 0x5000, 0xe0000), 0);
    const uint8_t *s = gp(&m, X86_PVH_INFO_ADDR);
    CHECK_EQ(r32(s + 0x00), 0x336ec578);
    CHECK_EQ(r32(s + 0x04), 1);
    CHECK_EQ(r32(s + 0x08), 0);
    CHECK_EQ(r32(s + 0x0c), 1);
    uint64_t mods = r64(s + 0x10), cmd = r64(s + 0x18), map = r64(s + 0x28);
    CHECK_EQ(cmd, X86_CMDLINE_ADDR);
    CHECK_EQ(r64(s + 0x20), 0xe0000);
    CHECK_EQ(r32(s + 0x30), 4);
    CHECK_EQ(r32(s + 0x34), 0);
    CHECK(strcmp((const char *)gp(&m, cmd), "console=hvc0") == 0);
    CHECK(mods % 8 == 0 && map % 8 == 0);
    CHECK(map + 4 * 24 <= X86_ZERO_PAGE_ADDR);
    const uint8_t *mod = gp(&m, mods);
    CHECK_EQ(r64(mod + 0), 0x8000000);
    CHECK_EQ(r64(mod + 8), 0x5000);
    CHECK_EQ(r64(mod + 16), 0);
    struct boot_e820_entry e[8];
    CHECK_EQ(x86_e820_build(&m, e, 8), 4);
    for (int i = 0; i < 4; i++) {
        const uint8_t *me = gp(&m, map + 24 * (uint64_t)i);
        CHECK_EQ(r64(me), e[i].addr);
        CHECK_EQ(r64(me + 8), e[i].size);
        CHECK_EQ(r32(me + 16), e[i].type);
        CHECK_EQ(r32(me + 20), 0);
    }
    /* no initrd: no modules */
    CHECK_EQ(x86_pvh_setup(&m, NULL, 0, 0, 0), 0);
    CHECK_EQ(r32(s + 0x0c), 0);
    CHECK_EQ(r64(s + 0x10), 0);
    CHECK_EQ(*gp(&m, X86_CMDLINE_ADDR), 0);
    /* command line too long */
    char *line = malloc(X86_CMDLINE_MAX + 1);
    memset(line, 'x', X86_CMDLINE_MAX);
    line[X86_CMDLINE_MAX] = 0;
    CHECK_EQ(x86_pvh_setup(&m, line, 0, 0, 0), -E2BIG);
    line[X86_CMDLINE_MAX - 1] = 0;
    CHECK_EQ(x86_pvh_setup(&m, line, 0, 0, 0), 0);
    free(line);
    mem_unmap(&m);
}

/* ---- page tables and GDT ------------------------------------------------ */

/* Walk the 4-level tables in guest memory like the MMU; ~0 if unmapped. */
static uint64_t walk(const struct guest_mem *m, uint64_t cr3, uint64_t va)
{
    uint64_t t = cr3 & ~0xfffULL;
    for (int level = 3; level >= 0; level--) {
        const uint8_t *p = mem_ptr(m, t + 8 * ((va >> (12 + 9 * level)) & 511), 8);
        if (!p)
            return ~0ULL;
        uint64_t e = r64(p);
        if (!(e & 1))
            return ~0ULL;
        if (level == 1 && (e & 0x80))
            return (e & 0x000fffffffe00000ULL) | (va & 0x1fffff);
        if (level == 2 && (e & 0x80))
            return ~1ULL;   /* 1 GiB page: must not be used */
        t = e & 0x000ffffffffff000ULL;
        if (level == 0)
            return t | (va & 0xfff);
    }
    return ~0ULL;
}

static void t_pagetables(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    memset(gp(&m, X86_PML4_ADDR), 0xff, 6 * 0x1000);
    CHECK_EQ(x86_pagetables_setup(&m), 0);
    const uint8_t *pml4 = gp(&m, X86_PML4_ADDR);
    CHECK_EQ(r64(pml4), (X86_PML4_ADDR + 0x1000) | 3);
    for (int i = 1; i < 512; i++)
        CHECK_EQ(r64(pml4 + 8 * i), 0);
    const uint8_t *pdpt = gp(&m, X86_PML4_ADDR + 0x1000);
    for (int i = 0; i < 4; i++) {
        uint64_t e = r64(pdpt + 8 * i);
        CHECK_EQ(e, (X86_PML4_ADDR + 0x2000 + 0x1000ULL * i) | 3);
        CHECK_EQ(e & 0x80, 0);
    }
    CHECK_EQ(r64(pdpt + 8 * 4), 0);
    for (int i = 0; i < 4; i++) {
        const uint8_t *pd = gp(&m, X86_PML4_ADDR + 0x2000 + 0x1000ULL * i);
        for (int j = 0; j < 512; j++)
            CHECK_EQ(r64(pd + 8 * j), (((uint64_t)i * 512 + j) << 21) | 0x83);
    }
    uint64_t vas[] = { 0, 0x1234, X86_HIMEM_START + 0x200, 0x1ffffff, 0x40201234,
                       X86_MMIO_HOLE_START, X86_LAPIC_ADDR + 0x30, 0xffffffffULL };
    for (size_t i = 0; i < sizeof(vas) / sizeof(vas[0]); i++)
        CHECK_EQ(walk(&m, X86_PML4_ADDR, vas[i]), vas[i]);
    CHECK_EQ(walk(&m, X86_PML4_ADDR, 0x100000000ULL), ~0ULL);
    mem_unmap(&m);
}

struct seg_decoded { uint64_t base; uint32_t limit; uint8_t type, s, dpl, p, l, db, g; };

static struct seg_decoded gdt_decode(uint64_t d)
{
    struct seg_decoded s;
    s.base = ((d >> 16) & 0xffffff) | ((d >> 56) & 0xff) << 24;
    uint32_t lim = (uint32_t)((d & 0xffff) | ((d >> 48) & 0xf) << 16);
    s.g = (d >> 55) & 1;
    s.limit = s.g ? (lim << 12) | 0xfff : lim;
    s.type = (d >> 40) & 0xf;
    s.s = (d >> 44) & 1;
    s.dpl = (d >> 45) & 3;
    s.p = (d >> 47) & 1;
    s.l = (d >> 53) & 1;
    s.db = (d >> 54) & 1;
    return s;
}

static int seg_matches(const struct guest_mem *m, const struct x86_boot_regs *r,
                       const struct x86_seg *sg)
{
    if (sg->selector == 0 || sg->selector + 8u > (unsigned)r->gdt_limit + 1)
        return 0;
    struct seg_decoded d = gdt_decode(r64(gp(m, r->gdt_base + sg->selector)));
    return d.base == sg->base && d.limit == sg->limit && d.type == sg->type &&
           d.s == sg->s && d.dpl == sg->dpl && d.p == sg->present &&
           d.l == sg->l && d.db == sg->db && d.g == sg->g;
}

static void t_gdt_and_regs(void)
{
    struct guest_mem m;
    CHECK_EQ(guest_new(&m, 64 * MiB), 0);
    CHECK_EQ(x86_gdt_setup(&m), 0);
    CHECK_EQ(r64(gp(&m, X86_GDT_ADDR)), 0);

    struct x86_kernel k = { .kind = X86_KERNEL_BZIMAGE, .entry = 0x100200 };
    struct x86_boot_regs r;
    x86_boot_regs_bzimage(&k, &r);
    CHECK_EQ(r.gdt_base, X86_GDT_ADDR);
    CHECK_EQ(r.gdt_limit, 31);
    CHECK_EQ(r.rip, 0x100200);
    CHECK_EQ(r.rsi, X86_ZERO_PAGE_ADDR);
    CHECK_EQ(r.rsp, X86_STACK_TOP);
    CHECK_EQ(r.cr3, X86_PML4_ADDR);
    CHECK_EQ(r.cr0 & 0x80000001, 0x80000001);
    CHECK_EQ(r.cr4 & 0x20, 0x20);
    CHECK_EQ(r.efer & 0x500, 0x500);
    CHECK_EQ(r.rflags & 0x200, 0);               /* IF clear */
    CHECK_EQ(r.rflags & 2, 2);
    CHECK_EQ(r.cs.selector, 0x10);               /* __BOOT_CS */
    CHECK_EQ(r.ds.selector, 0x18);               /* __BOOT_DS */
    CHECK_EQ(r.cs.l, 1);
    CHECK_EQ(r.cs.db, 0);
    CHECK(seg_matches(&m, &r, &r.cs));
    CHECK(seg_matches(&m, &r, &r.ds));

    k.kind = X86_KERNEL_PVH;
    k.entry = 0x1000123;
    x86_boot_regs_pvh(&k, &r);
    CHECK_EQ(r.rip, 0x1000123);
    CHECK_EQ(r.rbx, X86_PVH_INFO_ADDR);
    CHECK_EQ(r.cr0 & 1, 1);
    CHECK_EQ(r.cr0 & 0x80000000, 0);             /* paging off */
    CHECK_EQ(r.cr4, 0);
    CHECK_EQ(r.efer, 0);
    CHECK_EQ(r.rflags & 0x200, 0);
    CHECK_EQ(r.cs.selector, 0x08);
    CHECK_EQ(r.cs.l, 0);
    CHECK_EQ(r.cs.db, 1);
    CHECK_EQ(r.cs.base, 0);
    CHECK_EQ(r.cs.limit, 0xffffffff);
    CHECK_EQ(r.ds.limit, 0xffffffff);
    CHECK_EQ(r.cs.type & 0x8, 0x8);              /* code */
    CHECK_EQ(r.ds.type & 0xa, 0x2);              /* data, writable */
    CHECK(seg_matches(&m, &r, &r.cs));
    CHECK(seg_matches(&m, &r, &r.ds));

    /* the encoder round-trips a non-trivial descriptor too */
    struct x86_seg t = { .base = 0x12345678, .limit = 0xabcde, .type = 0x3, .present = 1,
                         .dpl = 3, .db = 1, .s = 1 };
    struct seg_decoded d = gdt_decode(x86_gdt_encode(&t));
    CHECK_EQ(d.base, 0x12345678);
    CHECK_EQ(d.limit, 0xabcde);
    CHECK_EQ(d.dpl, 3);
    CHECK_EQ(d.g, 0);

    /* memory without the low pages */
    struct guest_mem hi = { .n = 1, .r = { { .gpa = 0x100000, .size = 0x1000, .hva = NULL } } };
    CHECK_EQ(x86_gdt_setup(&hi), -EFAULT);
    CHECK_EQ(x86_pagetables_setup(&hi), -EFAULT);
    mem_unmap(&m);
}

/* A stock Linux kernel (refused on kvm_pvm) vs a freestanding guest */
static void t_kernel_is_linux(void)
{
    static uint8_t b[0x1000];
    memset(b, 0, sizeof(b));
    w32(b + 0x202, BOOT_HDRS_MAGIC);
    b[0x20e] = 0x00; b[0x20f] = 0x02;           /* version string at 0x400 */
    memcpy(b + 0x400, "6.1.0-57-cloud-amd64 (debian-kernel@", 36);
    CHECK(x86_kernel_is_linux(b, sizeof(b)));
    memcpy(b + 0x400, "arcvmm testguest", 17);
    CHECK(!x86_kernel_is_linux(b, sizeof(b)));
    memcpy(b + 0x400, "6", 1);
    CHECK(!x86_kernel_is_linux(b, 0x400));      /* the string past the end of the file */
    b[0x20e] = b[0x20f] = 0;                    /* no version string */
    CHECK(!x86_kernel_is_linux(b, sizeof(b)));
    CHECK(!x86_kernel_is_linux(b, 0x205));      /* too short for the field */
    memset(b, 0, sizeof(b));
    memcpy(b, "\x7f" "ELF", 4);
    CHECK(!x86_kernel_is_linux(b, sizeof(b)));
    memcpy(b + 0xf00, "Linux version 6.1.0", 19);
    CHECK(x86_kernel_is_linux(b, sizeof(b)));
    CHECK(!x86_kernel_is_linux(b, 0xf05));
    b[0] = 0;
    CHECK(!x86_kernel_is_linux(b, sizeof(b)));  /* neither format */
}

int main(void)
{
    RUN(t_kernel_is_linux);
    RUN(t_bz_valid);
    RUN(t_bz_setup_sects0);
    RUN(t_bz_bad_magic);
    RUN(t_bz_old_version);
    RUN(t_bz_no_kernel64);
    RUN(t_bz_truncated);
    RUN(t_bz_too_big);
    RUN(t_bz_footprint);
    RUN(t_elf64_valid);
    RUN(t_elf32_valid);
    RUN(t_elf_section_note);
    RUN(t_elf_no_note);
    RUN(t_elf_note_bad_lengths);
    RUN(t_elf_outside_ram);
    RUN(t_elf_beyond_file);
    RUN(t_elf_huge_sizes);
    RUN(t_elf_wrong_kind);
    RUN(t_fuzz_mutations);
    RUN(t_initrd_top);
    RUN(t_initrd_below_max);
    RUN(t_initrd_too_big);
    RUN(t_e820_256m);
    RUN(t_e820_above_4g);
    RUN(t_bootparams);
    RUN(t_bootparams_cmdline_limits);
    RUN(t_pvh_start_info);
    RUN(t_pagetables);
    RUN(t_gdt_and_regs);
    return harness_done();
}
