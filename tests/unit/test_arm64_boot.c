/* arm64 boot builders: the Image header parser, kernel/initrd/DTB
 * placement, and the device tree, parsed back with libfdt. Pure code: runs
 * on every host (the Makefile links src/arch/arm64/{boot,fdt}.c in). The
 * dtc test needs the device-tree-compiler package (it fails, loudly, when
 * dtc is missing). */
#include <errno.h>
#include <libfdt.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "harness.h"
#include "arch/arm64/boot.h"
#include "base/le.h"
#include "arch/arm64/fdt.h"
#include "arch/arm64/layout.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/* ---- Image header ---- */

/* A header as Linux writes it: code0/code1, text_offset, image_size, flags,
 * magic; no PE header unless asked. */
static void make_image(uint8_t *buf, size_t len, uint64_t text_offset, uint64_t image_size,
                       uint64_t flags)
{
    memset(buf, 0, len);
    le32_store(buf, 0x91005a4d);                 /* "MZ" + add x13, x18, #0x16 */
    le32_store(buf + 4, 0x14000000);             /* b stext */
    le64_store(buf + 0x08, text_offset);
    le64_store(buf + 0x10, image_size);
    le64_store(buf + 0x18, flags);
    le32_store(buf + 0x38, ARM64_IMAGE_MAGIC);
}

static void t_image_ok(void)
{
    uint8_t buf[4096];
    struct arm64_image k;
    char why[200] = "";
    make_image(buf, sizeof(buf), 0, 32 * MiB, 0xa);    /* LE, 4K pages, anywhere */
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), 0);
    CHECK_EQ(k.text_offset, 0);
    CHECK_EQ(k.image_size, 32 * MiB);
    CHECK_EQ(k.flags, 0xa);
    make_image(buf, sizeof(buf), 0x80000, 100, 0x2);    /* image_size below the file length */
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), 0);
    CHECK_EQ(k.text_offset, 0x80000);
    CHECK_EQ(k.image_size, sizeof(buf));
}

static void t_image_old(void)
{
    uint8_t buf[256];
    struct arm64_image k;
    make_image(buf, sizeof(buf), 0x12345678, 0, 0xffff);   /* pre-3.17: fields meaningless */
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, NULL, 0), 0);
    CHECK_EQ(k.text_offset, ARM64_IMAGE_OLD_TEXT_OFFSET);
    CHECK_EQ(k.image_size, sizeof(buf));
    CHECK_EQ(k.flags, 0);
}

static void t_image_errors(void)
{
    uint8_t buf[4096];
    struct arm64_image k;
    char why[200];

    make_image(buf, sizeof(buf), 0, MiB, 0);
    buf[0x38] = 'X';
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), -ENOEXEC);
    CHECK(strcmp(why, "not an arm64 Image (bad magic)") == 0);

    make_image(buf, sizeof(buf), 0, MiB, 0);
    CHECK_EQ(arm64_image_parse(buf, 63, &k, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "truncated") != NULL);
    CHECK_EQ(arm64_image_parse(buf, 0, &k, why, sizeof(why)), -EINVAL);

    uint8_t gz[64] = { 0x1f, 0x8b, 0x08 };
    CHECK_EQ(arm64_image_parse(gz, sizeof(gz), &k, why, sizeof(why)), -ENOEXEC);
    CHECK(strstr(why, "gzip") != NULL);

    make_image(buf, sizeof(buf), 0, MiB, 0xb);          /* big-endian */
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "big-endian") != NULL);

    make_image(buf, sizeof(buf), 0x80001, MiB, 0);      /* not page aligned */
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "text_offset") != NULL);
    make_image(buf, sizeof(buf), 1ULL << 40, MiB, 0);
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), -EINVAL);
    make_image(buf, sizeof(buf), 0, UINT64_MAX, 0);
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "image_size") != NULL);
}

/* EFI stub kernels: the PE section table tells a truncated file. */
static void t_image_pe_truncated(void)
{
    static uint8_t buf[0x3000];
    struct arm64_image k;
    char why[200];
    make_image(buf, sizeof(buf), 0, 16 * MiB, 0xa);
    le32_store(buf + 0x3c, 0x40);                /* PE header offset */
    memcpy(buf + 0x40, "PE\0\0", 4);
    buf[0x40 + 6] = 2;                      /* NumberOfSections */
    buf[0x40 + 20] = 0x10;                  /* SizeOfOptionalHeader */
    uint8_t *s = buf + 0x40 + 24 + 0x10;
    le32_store(s + 16, 0x1000);                  /* .text: SizeOfRawData */
    le32_store(s + 20, 0x1000);                  /*        PointerToRawData */
    le32_store(s + 40 + 16, 0x800);              /* .data */
    le32_store(s + 40 + 20, 0x2000);
    CHECK_EQ(arm64_image_parse(buf, 0x2800, &k, why, sizeof(why)), 0);
    CHECK_EQ(arm64_image_parse(buf, sizeof(buf), &k, why, sizeof(why)), 0);
    CHECK_EQ(arm64_image_parse(buf, 0x27ff, &k, why, sizeof(why)), -EINVAL);
    CHECK(strstr(why, "truncated") != NULL);
    CHECK_EQ(arm64_image_parse(buf, 700, &k, why, sizeof(why)), -EINVAL);   /* head -c 700 */
    CHECK(strstr(why, "truncated") != NULL);
    CHECK_EQ(arm64_image_parse(buf, 0x60, &k, why, sizeof(why)), -EINVAL);  /* inside the PE header */
    CHECK(strstr(why, "truncated") != NULL);
    le32_store(buf + 0x3c, 0xffffff00);          /* absurd offset: not a PE header, ignored */
    CHECK_EQ(arm64_image_parse(buf, 0x100, &k, why, sizeof(why)), 0);
}

/* Random headers with the magic set never crash the parser (ASan run). */
static void t_image_random(void)
{
    uint8_t buf[512];
    struct arm64_image k;
    char why[200];
    srand(1);
    for (int i = 0; i < 20000; i++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        for (size_t j = 0; j < sizeof(buf); j++)
            buf[j] = (uint8_t)rand();
        if (len >= 0x40)
            le32_store(buf + 0x38, ARM64_IMAGE_MAGIC);
        if (i & 1)
            le32_store(buf + 0x3c, (uint32_t)(rand() % 600));
        if (i & 2)
            memcpy(buf + 0x40, "PE\0\0", 4);
        int r = arm64_image_parse(buf, len, &k, why, sizeof(why));
        CHECK(r == 0 || r == -EINVAL || r == -ENOEXEC);
        if (r == 0)
            CHECK(k.image_size >= len);
    }
}

/* ---- placement ---- */

static void t_place(void)
{
    struct arm64_image k = { .text_offset = 0, .image_size = 32 * MiB };
    struct arm64_boot_layout l;
    uint64_t base = ARM64_RAM_BASE, size = 256 * MiB;
    CHECK_EQ(arm64_boot_place(base, size, &k, 8 * MiB + 123, &l), 0);
    CHECK_EQ(l.overflow, ARM64_PART_NONE);
    CHECK_EQ(l.kernel_gpa, base);
    CHECK_EQ(l.kernel_end, base + 32 * MiB);
    CHECK_EQ(l.fdt_gpa, base + size - 2 * MiB);
    CHECK_EQ(l.fdt_gpa % (2 * MiB), 0);
    CHECK_EQ(l.initrd_size, 8 * MiB + 123);
    CHECK_EQ(l.initrd_gpa % 0x10000, 0);
    CHECK(l.initrd_gpa >= l.kernel_end);
    CHECK(l.initrd_gpa + l.initrd_size <= l.fdt_gpa);
    CHECK(l.fdt_gpa - (l.initrd_gpa + l.initrd_size) < 0x10000);

    k.text_offset = 0x80000;                /* older kernels */
    CHECK_EQ(arm64_boot_place(base, size, &k, 0, &l), 0);
    CHECK_EQ(l.kernel_gpa, base + 0x80000);
    CHECK_EQ(l.initrd_gpa, 0);
    CHECK_EQ(l.initrd_size, 0);

    k.text_offset = 0;                      /* RAM not a multiple of 2 MiB */
    CHECK_EQ(arm64_boot_place(base, 257 * MiB, &k, 0, &l), 0);
    CHECK_EQ(l.fdt_gpa, base + 254 * MiB);
    CHECK(l.fdt_gpa + ARM64_FDT_MAX <= base + 257 * MiB);
}

static void t_place_big_ram(void)
{
    struct arm64_image k = { .text_offset = 0, .image_size = 40 * MiB };
    struct arm64_boot_layout l;
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * GiB, &k, 100 * MiB, &l), 0);
    /* initrd and kernel in one 1 GiB aligned window of at most 32 GiB */
    CHECK(l.fdt_gpa + ARM64_FDT_MAX <= ARM64_RAM_BASE + 32 * GiB);
    CHECK(l.initrd_gpa + l.initrd_size <= ARM64_RAM_BASE + 32 * GiB);
    CHECK(l.initrd_gpa >= l.kernel_end);
}

static void t_place_errors(void)
{
    struct arm64_image k = { .text_offset = 0, .image_size = 32 * MiB };
    struct arm64_boot_layout l;
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 16 * MiB, &k, 0, &l), -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_KERNEL);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 33 * MiB, &k, 0, &l), -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_DTB);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 1 * MiB, &(struct arm64_image){ 0, 4096, 0 }, 0, &l),
             -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_DTB);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * MiB, &k, 31 * MiB, &l), -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_INITRD);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * MiB, &k, 30 * MiB, &l), 0);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * MiB, &k, UINT64_MAX, &l), -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_INITRD);
    k.text_offset = 0xfffff000;             /* no overflow past the RAM */
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * MiB, &k, 0, &l), -ENOSPC);
    CHECK_EQ(l.overflow, ARM64_PART_KERNEL);
    k = (struct arm64_image){ .text_offset = 0, .image_size = UINT64_MAX };
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE, 64 * MiB, &k, 0, &l), -ENOSPC);
    CHECK_EQ(arm64_boot_place(ARM64_RAM_BASE + 4096, 64 * MiB, &k, 0, &l), -EINVAL);
}

/* ---- device tree ---- */

static const void *prop(const void *fdt, const char *path, const char *name, int *len)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        return NULL;
    return fdt_getprop(fdt, off, name, len);
}

static int nprops(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path), p, n = 0;
    if (off < 0)
        return -1;
    fdt_for_each_property_offset(p, fdt, off)
        n++;
    return n;
}

static int nsubnodes(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path), s, n = 0;
    if (off < 0)
        return -1;
    fdt_for_each_subnode(s, fdt, off)
        n++;
    return n;
}

static bool str_is(const void *fdt, const char *path, const char *name, const char *want)
{
    int len;
    const char *v = prop(fdt, path, name, &len);
    return v && len == (int)strlen(want) + 1 && strcmp(v, want) == 0;
}

/* A string list property equals want (NUL-separated, wantlen incl. the last NUL). */
static bool strs_are(const void *fdt, const char *path, const char *name, const char *want,
                     int wantlen)
{
    int len;
    const char *v = prop(fdt, path, name, &len);
    return v && len == wantlen && memcmp(v, want, (size_t)len) == 0;
}

static bool u32_is(const void *fdt, const char *path, const char *name, uint32_t want)
{
    int len;
    const fdt32_t *v = prop(fdt, path, name, &len);
    return v && len == 4 && fdt32_to_cpu(*v) == want;
}

static bool u64_is(const void *fdt, const char *path, const char *name, uint64_t want)
{
    int len;
    const void *v = prop(fdt, path, name, &len);
    fdt64_t x;                      /* properties are only 4-byte aligned */
    if (!v || len != 8)
        return false;
    memcpy(&x, v, sizeof(x));
    return fdt64_to_cpu(x) == want;
}

static bool cells_are(const void *fdt, const char *path, const char *name,
                      const uint32_t *want, int n)
{
    int len;
    const fdt32_t *v = prop(fdt, path, name, &len);
    if (!v || len != 4 * n)
        return false;
    for (int i = 0; i < n; i++)
        if (fdt32_to_cpu(v[i]) != want[i])
            return false;
    return true;
}

static bool empty_prop(const void *fdt, const char *path, const char *name)
{
    int len = -1;
    return prop(fdt, path, name, &len) != NULL && len == 0;
}

#define STRS(fdt, path, name, lit) strs_are((fdt), (path), (name), (lit), (int)sizeof(lit))
#define CELLS(fdt, path, name, ...) \
    cells_are((fdt), (path), (name), (const uint32_t[]){ __VA_ARGS__ }, \
              (int)(sizeof((const uint32_t[]){ __VA_ARGS__ }) / 4))

static const uint64_t mpidr3[3] = { 0x80000000, 0x80000001, 0x80000100 };
static const struct devmgr_desc desc2 = {
    .mmio = {
        { ARM64_VIRTIO_MMIO_BASE, 0x1000, 16 },
        { ARM64_VIRTIO_MMIO_BASE + 0x1000, 0x1000, 17 },
    },
    .nmmio = 2,
};
static const uint8_t seed[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };

static struct arm64_fdt_config full_config(void)
{
    return (struct arm64_fdt_config){
        .ram_base = ARM64_RAM_BASE, .ram_size = 512 * MiB,
        .ncpus = 3, .mpidr = mpidr3,
        .gicd_base = ARM64_GICD_BASE, .gicd_size = ARM64_GICD_SIZE,
        .gicr_base = ARM64_GICR_BASE, .gicr_size = 3 * ARM64_GICR_SIZE_PER_CPU,
        .uart_base = ARM64_UART_BASE, .uart_size = ARM64_UART_SIZE,
        .uart_spi = ARM64_UART_SPI, .uart_clock_hz = ARM64_UART_CLOCK_HZ,
        .dev = &desc2,
        .cmdline = "console=ttyAMA0 root=/dev/vda",
        .initrd_gpa = 0x5f000000, .initrd_size = 0x123456,
        .rng_seed = seed, .rng_seed_len = sizeof(seed),
    };
}

static void t_fdt_full(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    ssize_t n = arm64_fdt_build(&c, dtb, sizeof(dtb));
    CHECK(n > 0 && n < 8192);
    CHECK_EQ(fdt_check_header(dtb), 0);
    CHECK_EQ(fdt_totalsize(dtb), (uint32_t)n);
    CHECK_EQ(fdt_num_mem_rsv(dtb), 0);

    /* root: the properties and exactly these nodes */
    CHECK_EQ(nprops(dtb, "/"), 5);
    CHECK(str_is(dtb, "/", "model", "arcvmm"));
    CHECK(str_is(dtb, "/", "compatible", "linux,dummy-virt"));
    CHECK(u32_is(dtb, "/", "#address-cells", 2));
    CHECK(u32_is(dtb, "/", "#size-cells", 2));
    CHECK(u32_is(dtb, "/", "interrupt-parent", ARM64_FDT_PHANDLE_GIC));
    static const char *const nodes[] = {
        "chosen", "aliases", "memory@40000000", "cpus", "psci", "timer", "intc@8000000",
        "apb-pclk", "pl011@9000000", "virtio_mmio@a000000", "virtio_mmio@a001000",
    };
    enum { NNODES = sizeof(nodes) / sizeof(nodes[0]) };
    CHECK_EQ(nsubnodes(dtb, "/"), NNODES);
    int i = 0, s;
    fdt_for_each_subnode(s, dtb, 0) {
        CHECK(i < NNODES);
        CHECK(strcmp(fdt_get_name(dtb, s, NULL), nodes[i]) == 0);
        i++;
    }

    CHECK_EQ(nprops(dtb, "/chosen"), 5);
    CHECK_EQ(nsubnodes(dtb, "/chosen"), 0);
    CHECK(str_is(dtb, "/chosen", "bootargs", "console=ttyAMA0 root=/dev/vda"));
    CHECK(str_is(dtb, "/chosen", "stdout-path", "/pl011@9000000"));
    CHECK(u64_is(dtb, "/chosen", "linux,initrd-start", 0x5f000000));
    CHECK(u64_is(dtb, "/chosen", "linux,initrd-end", 0x5f000000 + 0x123456));
    int len;
    const void *rs = prop(dtb, "/chosen", "rng-seed", &len);
    CHECK(rs && len == sizeof(seed) && memcmp(rs, seed, sizeof(seed)) == 0);
    CHECK_EQ(fdt_path_offset(dtb, "serial0"), fdt_path_offset(dtb, "/pl011@9000000"));

    CHECK_EQ(nprops(dtb, "/aliases"), 1);
    CHECK(str_is(dtb, "/aliases", "serial0", "/pl011@9000000"));

    CHECK_EQ(nprops(dtb, "/memory@40000000"), 2);
    CHECK(str_is(dtb, "/memory@40000000", "device_type", "memory"));
    CHECK(CELLS(dtb, "/memory@40000000", "reg", 0, 0x40000000, 0, 0x20000000));

    /* one cpu node per vCPU, reg = MPIDR affinity (Aff2.Aff1.Aff0) */
    CHECK_EQ(nprops(dtb, "/cpus"), 2);
    CHECK(u32_is(dtb, "/cpus", "#address-cells", 1));
    CHECK(u32_is(dtb, "/cpus", "#size-cells", 0));
    CHECK_EQ(nsubnodes(dtb, "/cpus"), 3);
    static const char *const cpus[3] = { "/cpus/cpu@0", "/cpus/cpu@1", "/cpus/cpu@100" };
    static const uint32_t regs[3] = { 0, 1, 0x100 };
    for (int c2 = 0; c2 < 3; c2++) {
        CHECK_EQ(nprops(dtb, cpus[c2]), 4);
        CHECK(str_is(dtb, cpus[c2], "device_type", "cpu"));
        CHECK(str_is(dtb, cpus[c2], "compatible", "arm,arm-v8"));
        CHECK(str_is(dtb, cpus[c2], "enable-method", "psci"));
        CHECK(u32_is(dtb, cpus[c2], "reg", regs[c2]));
    }

    CHECK_EQ(nprops(dtb, "/psci"), 2);
    CHECK(STRS(dtb, "/psci", "compatible", "arm,psci-1.0\0arm,psci-0.2"));
    CHECK(str_is(dtb, "/psci", "method", "hvc"));

    CHECK_EQ(nprops(dtb, "/timer"), 2);
    CHECK(str_is(dtb, "/timer", "compatible", "arm,armv8-timer"));
    CHECK(CELLS(dtb, "/timer", "interrupts", 1, 13, 4, 1, 14, 4, 1, 11, 4, 1, 10, 4));

    CHECK_EQ(nprops(dtb, "/intc@8000000"), 5);
    CHECK(str_is(dtb, "/intc@8000000", "compatible", "arm,gic-v3"));
    CHECK(u32_is(dtb, "/intc@8000000", "#interrupt-cells", 3));
    CHECK(empty_prop(dtb, "/intc@8000000", "interrupt-controller"));
    CHECK(CELLS(dtb, "/intc@8000000", "reg", 0, 0x08000000, 0, 0x10000, 0, 0x10000000, 0, 0x60000));
    CHECK(u32_is(dtb, "/intc@8000000", "phandle", ARM64_FDT_PHANDLE_GIC));
    CHECK_EQ(fdt_node_offset_by_phandle(dtb, ARM64_FDT_PHANDLE_GIC),
             fdt_path_offset(dtb, "/intc@8000000"));

    CHECK_EQ(nprops(dtb, "/apb-pclk"), 5);
    CHECK(str_is(dtb, "/apb-pclk", "compatible", "fixed-clock"));
    CHECK(u32_is(dtb, "/apb-pclk", "#clock-cells", 0));
    CHECK(u32_is(dtb, "/apb-pclk", "clock-frequency", 24000000));
    CHECK(str_is(dtb, "/apb-pclk", "clock-output-names", "clk24mhz"));
    CHECK(u32_is(dtb, "/apb-pclk", "phandle", ARM64_FDT_PHANDLE_CLK));
    CHECK_EQ(fdt_node_offset_by_phandle(dtb, ARM64_FDT_PHANDLE_CLK),
             fdt_path_offset(dtb, "/apb-pclk"));

    CHECK_EQ(nprops(dtb, "/pl011@9000000"), 5);
    CHECK(STRS(dtb, "/pl011@9000000", "compatible", "arm,pl011\0arm,primecell"));
    CHECK_EQ(fdt_node_check_compatible(dtb, fdt_path_offset(dtb, "/pl011@9000000"), "arm,primecell"), 0);
    CHECK(CELLS(dtb, "/pl011@9000000", "reg", 0, 0x09000000, 0, 0x1000));
    CHECK(CELLS(dtb, "/pl011@9000000", "interrupts", 0, 1, 4));
    CHECK(CELLS(dtb, "/pl011@9000000", "clocks", 2, 2));
    CHECK(STRS(dtb, "/pl011@9000000", "clock-names", "uartclk\0apb_pclk"));

    static const char *const vnames[2] = { "/virtio_mmio@a000000", "/virtio_mmio@a001000" };
    for (int v = 0; v < 2; v++) {
        CHECK_EQ(nprops(dtb, vnames[v]), 4);
        CHECK(str_is(dtb, vnames[v], "compatible", "virtio,mmio"));
        CHECK(CELLS(dtb, vnames[v], "reg", 0, (uint32_t)desc2.mmio[v].base, 0, 0x1000));
        CHECK(CELLS(dtb, vnames[v], "interrupts", 0, 16 + (uint32_t)v, 1));
        CHECK(empty_prop(dtb, vnames[v], "dma-coherent"));
    }
    /* every node was looked at: no stray children below the leaves */
    CHECK_EQ(nsubnodes(dtb, "/timer") + nsubnodes(dtb, "/psci") + nsubnodes(dtb, "/intc@8000000") +
             nsubnodes(dtb, "/pl011@9000000") + nsubnodes(dtb, "/aliases") +
             nsubnodes(dtb, "/memory@40000000") + nsubnodes(dtb, "/apb-pclk"), 0);
}

static void t_fdt_minimal(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    uint64_t one = 0x80000000;
    c.ncpus = 1;
    c.mpidr = &one;
    c.dev = NULL;
    c.initrd_size = 0;
    c.rng_seed = NULL;
    c.rng_seed_len = 0;
    c.cmdline = NULL;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK_EQ(fdt_check_header(dtb), 0);
    CHECK_EQ(nprops(dtb, "/chosen"), 2);
    CHECK(str_is(dtb, "/chosen", "bootargs", ""));
    CHECK(prop(dtb, "/chosen", "linux,initrd-start", NULL) == NULL);
    CHECK(prop(dtb, "/chosen", "rng-seed", NULL) == NULL);
    CHECK_EQ(nsubnodes(dtb, "/cpus"), 1);
    CHECK_EQ(nsubnodes(dtb, "/"), 9);
    CHECK(fdt_node_offset_by_compatible(dtb, -1, "virtio,mmio") < 0);
}

/* MPIDRs with Aff3 need two address cells. */
static void t_fdt_aff3(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    const uint64_t m[2] = { 0x80000000, 0x0100000003 };
    c.ncpus = 2;
    c.mpidr = m;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK(u32_is(dtb, "/cpus", "#address-cells", 2));
    CHECK(u64_is(dtb, "/cpus/cpu@0", "reg", 0));
    CHECK(u64_is(dtb, "/cpus/cpu@100000003", "reg", 0x100000003ULL));
}

static void t_fdt_many_cpus(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    static uint64_t m[ARM64_MAX_CPUS];
    struct arm64_fdt_config c = full_config();
    for (int i = 0; i < ARM64_MAX_CPUS; i++)   /* KVM's default: Aff0 16 per cluster */
        m[i] = 0x80000000u | (uint64_t)(i & 15) | (uint64_t)(i >> 4) << 8;
    c.ncpus = ARM64_MAX_CPUS;
    c.mpidr = m;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK_EQ(nsubnodes(dtb, "/cpus"), ARM64_MAX_CPUS);
    CHECK(u32_is(dtb, "/cpus/cpu@1f0f", "reg", 0x1f0f));
}

static void t_fdt_errors(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    CHECK_EQ(arm64_fdt_build(&c, dtb, 256), -ENOSPC);
    CHECK_EQ(arm64_fdt_build(&c, dtb, 0), -ENOSPC);
    char *huge = malloc(ARM64_FDT_MAX + 1);
    CHECK(huge != NULL);
    memset(huge, 'a', ARM64_FDT_MAX);
    huge[ARM64_FDT_MAX] = '\0';
    c.cmdline = huge;
    ssize_t r = arm64_fdt_build(&c, dtb, sizeof(dtb));
    free(huge);
    CHECK_EQ(r, -ENOSPC);
    c = full_config();
    c.ncpus = 0;
    CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL);
    c = full_config();
    c.mpidr = NULL;
    CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL);
    struct devmgr_desc bad = desc2;
    c = full_config();
    c.dev = &bad;
    bad.nmmio = -1;
    CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL);
    bad.nmmio = DEVMGR_MAX_MMIO + 1;
    CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL);
}

/* FNV-1a, 64 bits: a fingerprint of a whole DTB. */
static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

/* Without PCI and ITS the DTB is exactly what the builder produced before
 * either existed (fingerprints from that builder; change them only for an
 * intended change of the device tree). PCI fields with present false and
 * an ITS size with base 0 do not leak in. */
static void t_fdt_unchanged(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    ssize_t n = arm64_fdt_build(&c, dtb, sizeof(dtb));
    CHECK_EQ(n, 1918);
    CHECK_EQ(fnv1a(dtb, (size_t)n), 0x78183806728096d1ULL);

    struct devmgr_desc d = desc2;
    d.pci = (struct devmgr_pci_host){ .present = false, .ecam_base = 7, .ecam_size = 1,
                                      .bus_start = 3, .nintx = -1 };
    c.dev = &d;
    c.its_size = 0x20000;
    n = arm64_fdt_build(&c, dtb, sizeof(dtb));
    CHECK_EQ(n, 1918);
    CHECK_EQ(fnv1a(dtb, (size_t)n), 0x78183806728096d1ULL);

    c = full_config();
    c.dev = NULL;
    c.initrd_size = 0;
    c.rng_seed = NULL;
    c.rng_seed_len = 0;
    c.cmdline = NULL;
    n = arm64_fdt_build(&c, dtb, sizeof(dtb));
    CHECK_EQ(n, 1516);
    CHECK_EQ(fnv1a(dtb, (size_t)n), 0x996e5a85e9a2a1d9ULL);
}

#define MMIO64_BASE 0x80000000ULL       /* first 1 GiB boundary above 512 MiB of RAM */

/* The board's PCI host: bus 0, both windows, INTA of slots 1..3 on SPIs
 * 48..50. */
static struct devmgr_desc desc_pci(void)
{
    struct devmgr_desc d = desc2;
    d.pci = (struct devmgr_pci_host){
        .present = true,
        .ecam_base = ARM64_PCI_ECAM_BASE, .ecam_size = ARM64_PCI_ECAM_SIZE,
        .bus_start = 0, .bus_end = 0,
        .mmio32_base = ARM64_PCI_MMIO32_BASE, .mmio32_size = ARM64_PCI_MMIO32_SIZE,
        .mmio64_base = MMIO64_BASE, .mmio64_size = ARM64_PCI_MMIO64_SIZE,
        .intx = { { 1, 48 }, { 2, 49 }, { 3, 50 } },
        .nintx = 3,
    };
    return d;
}

#define PCIE "/pcie@30000000"
#define GIC  "/intc@8000000"
#define ITS  "/intc@8000000/msi-controller@8080000"

/* The GIC's extra cells and the host bridge node, shared by the ITS and
 * no-ITS cases. */
static void check_pcie(const void *dtb, int nprops_want)
{
    CHECK_EQ(nprops(dtb, GIC), 8);
    CHECK(u32_is(dtb, GIC, "#address-cells", 2));
    CHECK(u32_is(dtb, GIC, "#size-cells", 2));
    CHECK(empty_prop(dtb, GIC, "ranges"));
    CHECK(CELLS(dtb, GIC, "reg", 0, 0x08000000, 0, 0x10000, 0, 0x10000000, 0, 0x60000));

    CHECK_EQ(nprops(dtb, PCIE), nprops_want);
    CHECK_EQ(nsubnodes(dtb, PCIE), 0);
    CHECK(str_is(dtb, PCIE, "compatible", "pci-host-ecam-generic"));
    CHECK(str_is(dtb, PCIE, "device_type", "pci"));
    CHECK(u32_is(dtb, PCIE, "#address-cells", 3));
    CHECK(u32_is(dtb, PCIE, "#size-cells", 2));
    CHECK(u32_is(dtb, PCIE, "#interrupt-cells", 1));
    CHECK(CELLS(dtb, PCIE, "reg", 0, 0x30000000, 0, 0x100000));
    CHECK(CELLS(dtb, PCIE, "bus-range", 0, 0));
    CHECK(u32_is(dtb, PCIE, "linux,pci-domain", 0));
    CHECK(empty_prop(dtb, PCIE, "dma-coherent"));
    CHECK(CELLS(dtb, PCIE, "ranges",
                0x02000000, 0, 0x20000000, 0, 0x20000000, 0, 0x10000000,
                0x43000000, 0, 0x80000000, 0, 0x80000000, 4, 0));
    CHECK(CELLS(dtb, PCIE, "interrupt-map-mask", 0xf800, 0, 0, 7));
    CHECK(CELLS(dtb, PCIE, "interrupt-map",
                1 << 11, 0, 0, 1, ARM64_FDT_PHANDLE_GIC, 0, 0, 0, 48, 4,
                2 << 11, 0, 0, 1, ARM64_FDT_PHANDLE_GIC, 0, 0, 0, 49, 4,
                3 << 11, 0, 0, 1, ARM64_FDT_PHANDLE_GIC, 0, 0, 0, 50, 4));
    /* the node comes last, after the virtio-mmio ones */
    int last = -1, s;
    fdt_for_each_subnode(s, dtb, 0)
        last = s;
    CHECK_EQ(last, fdt_path_offset(dtb, PCIE));
    CHECK(fdt_path_offset(dtb, "/virtio_mmio@a001000") >= 0);
}

static void t_fdt_pci_its(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct devmgr_desc d = desc_pci();
    struct arm64_fdt_config c = full_config();
    c.dev = &d;
    c.its_base = ARM64_GITS_BASE;
    c.its_size = ARM64_GITS_SIZE;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK_EQ(fdt_check_header(dtb), 0);
    CHECK_EQ(nsubnodes(dtb, "/"), 12);
    check_pcie(dtb, 13);
    if (harness_cur_failed)
        return;
    CHECK(CELLS(dtb, PCIE, "msi-map", 0, ARM64_FDT_PHANDLE_ITS, 0, 0x10000));

    CHECK_EQ(nsubnodes(dtb, GIC), 1);
    CHECK_EQ(nprops(dtb, ITS), 5);
    CHECK_EQ(nsubnodes(dtb, ITS), 0);
    CHECK(str_is(dtb, ITS, "compatible", "arm,gic-v3-its"));
    CHECK(empty_prop(dtb, ITS, "msi-controller"));
    CHECK(u32_is(dtb, ITS, "#msi-cells", 1));
    CHECK(CELLS(dtb, ITS, "reg", 0, 0x08080000, 0, 0x20000));
    CHECK(u32_is(dtb, ITS, "phandle", ARM64_FDT_PHANDLE_ITS));
    CHECK_EQ(fdt_node_offset_by_phandle(dtb, ARM64_FDT_PHANDLE_ITS), fdt_path_offset(dtb, ITS));
    CHECK_EQ(fdt_node_offset_by_phandle(dtb, ARM64_FDT_PHANDLE_GIC), fdt_path_offset(dtb, GIC));
    /* the ITS's reg translates through the GIC's identity ranges */
    CHECK_EQ(fdt_address_cells(dtb, fdt_path_offset(dtb, GIC)), 2);
    CHECK_EQ(fdt_size_cells(dtb, fdt_path_offset(dtb, GIC)), 2);
    /* the virtio-mmio nodes are untouched */
    CHECK(CELLS(dtb, "/virtio_mmio@a000000", "interrupts", 0, 16, 1));
}

/* The hv side may have no ITS: then no ITS node and no msi-map (INTx only),
 * the rest the same. */
static void t_fdt_pci_no_its(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct devmgr_desc d = desc_pci();
    struct arm64_fdt_config c = full_config();
    c.dev = &d;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    check_pcie(dtb, 12);
    if (harness_cur_failed)
        return;
    CHECK(prop(dtb, PCIE, "msi-map", NULL) == NULL);
    CHECK_EQ(nsubnodes(dtb, GIC), 0);
    CHECK(fdt_node_offset_by_compatible(dtb, -1, "arm,gic-v3-its") < 0);
    CHECK(fdt_node_offset_by_phandle(dtb, ARM64_FDT_PHANDLE_ITS) < 0);
}

/* An ITS without PCI; PCI with buses 4..7, no 64-bit window and no INTx. */
static void t_fdt_its_only_and_pci_gaps(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct arm64_fdt_config c = full_config();
    c.its_base = ARM64_GITS_BASE;
    c.its_size = ARM64_GITS_SIZE;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK(u32_is(dtb, ITS, "phandle", ARM64_FDT_PHANDLE_ITS));
    CHECK(fdt_node_offset_by_compatible(dtb, -1, "pci-host-ecam-generic") < 0);

    struct devmgr_desc d = desc_pci();
    d.pci.bus_start = 4;
    d.pci.bus_end = 7;
    d.pci.ecam_size = 4 * MiB;
    d.pci.mmio64_size = 0;
    d.pci.nintx = 0;
    c.dev = &d;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK(CELLS(dtb, PCIE, "bus-range", 4, 7));
    CHECK(CELLS(dtb, PCIE, "reg", 0, 0x30000000, 0, 0x400000));
    CHECK(CELLS(dtb, PCIE, "ranges", 0x02000000, 0, 0x20000000, 0, 0x20000000, 0, 0x10000000));
    CHECK(prop(dtb, PCIE, "interrupt-map", NULL) == NULL);
    CHECK(prop(dtb, PCIE, "interrupt-map-mask", NULL) == NULL);
    CHECK(CELLS(dtb, PCIE, "msi-map", 0, ARM64_FDT_PHANDLE_ITS, 0, 0x10000));

    /* no windows at all: no (identity-mapping) empty ranges either */
    d.pci.mmio32_size = 0;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    CHECK(prop(dtb, PCIE, "ranges", NULL) == NULL);

    /* every slot listed (the largest interrupt-map) */
    d = desc_pci();
    d.pci.nintx = DEVMGR_PCI_SLOTS;
    for (int i = 0; i < DEVMGR_PCI_SLOTS; i++)
        d.pci.intx[i] = (struct devmgr_pci_intx){ (uint8_t)i, 48 + (uint32_t)(i % 16) };
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    int len = 0;
    const fdt32_t *m = prop(dtb, PCIE, "interrupt-map", &len);
    CHECK(m && len == DEVMGR_PCI_SLOTS * 10 * 4);
    CHECK_EQ(fdt32_to_cpu(m[31 * 10]), 31 << 11);
    CHECK_EQ(fdt32_to_cpu(m[31 * 10 + 8]), 48 + 15);
}

static void t_fdt_pci_errors(void)
{
    static uint8_t dtb[ARM64_FDT_MAX];
    struct devmgr_desc good = desc_pci(), d;
    struct arm64_fdt_config c = full_config();
    c.dev = &d;
#define BAD(stmt) do { d = good; stmt; CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL); } while (0)
    d = good;
    CHECK(arm64_fdt_build(&c, dtb, sizeof(dtb)) > 0);
    BAD(d.pci.bus_start = 1);                           /* 1 > bus_end 0 */
    BAD(d.pci.ecam_size = 2 * MiB);                     /* not 1 MiB per bus */
    BAD(d.pci.ecam_base = UINT64_MAX - 0xfffff + 1);    /* wraps */
    BAD(d.pci.mmio32_base = UINT64_MAX);
    BAD(d.pci.mmio64_base = UINT64_MAX - 0xfff);
    BAD(d.pci.nintx = -1);
    BAD(d.pci.nintx = DEVMGR_PCI_SLOTS + 1);
    BAD(d.pci.intx[0].slot = 32);
    BAD(d.pci.intx[2].slot = 2);                        /* slot 2 twice */
#undef BAD
    d = good;
    c.its_base = ARM64_GITS_BASE;
    c.its_size = 0;
    CHECK_EQ(arm64_fdt_build(&c, dtb, sizeof(dtb)), -EINVAL);
    /* a full tree still fits a small buffer's error path */
    c.its_size = ARM64_GITS_SIZE;
    CHECK_EQ(arm64_fdt_build(&c, dtb, 2048), -ENOSPC);
}

/* Decompile the PCI device trees (with and without ITS) with dtc, whose
 * checks (interrupt-map against the GIC's cells, unit addresses against
 * reg, PCI bridge nodes) must pass without a warning. */
static void t_fdt_dtc(void)
{
    if (system("command -v dtc >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  dtc NOT FOUND: install device-tree-compiler "
                        "(apt-get install -y device-tree-compiler); this test requires it\n");
        CHECK(!"dtc (device-tree-compiler) is required");
    }
    static uint8_t dtb[ARM64_FDT_MAX];
    char dir[] = "/tmp/arcvmm-fdt-XXXXXX", cmd[256], path[96];
    CHECK(mkdtemp(dir));
    struct devmgr_desc d = desc_pci();
    struct arm64_fdt_config c = full_config();
    c.dev = &d;
    int bad = 0;
    for (int its = 0; its < 2 && !bad; its++) {
        c.its_base = its ? ARM64_GITS_BASE : 0;
        c.its_size = its ? ARM64_GITS_SIZE : 0;
        ssize_t n = arm64_fdt_build(&c, dtb, sizeof(dtb));
        snprintf(path, sizeof(path), "%s/t.dtb", dir);
        FILE *f = fopen(path, "wb");
        bad = n <= 0 || !f || fwrite(dtb, 1, (size_t)n, f) != (size_t)n;
        if (f)
            bad |= fclose(f) != 0;
        if (bad)
            break;
        snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o %s/t.dts %s/t.dtb 2>%s/log", dir, dir, dir);
        int st = system(cmd);
        snprintf(path, sizeof(path), "%s/log", dir);
        f = fopen(path, "rb");
        char log[4096] = "";
        size_t got = f ? fread(log, 1, sizeof(log) - 1, f) : 0;
        log[got] = 0;
        if (f)
            fclose(f);
        bad = st != 0 || got != 0;
        if (bad)
            fprintf(stderr, "  dtc (its %d, status %d): %s\n", its, st, log);
    }
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    CHECK_EQ(system(cmd), 0);
    CHECK(!bad);
}

int main(void)
{
    RUN(t_image_ok);
    RUN(t_image_old);
    RUN(t_image_errors);
    RUN(t_image_pe_truncated);
    RUN(t_image_random);
    RUN(t_place);
    RUN(t_place_big_ram);
    RUN(t_place_errors);
    RUN(t_fdt_full);
    RUN(t_fdt_minimal);
    RUN(t_fdt_aff3);
    RUN(t_fdt_many_cpus);
    RUN(t_fdt_errors);
    RUN(t_fdt_unchanged);
    RUN(t_fdt_pci_its);
    RUN(t_fdt_pci_no_its);
    RUN(t_fdt_its_only_and_pci_gaps);
    RUN(t_fdt_pci_errors);
    RUN(t_fdt_dtc);
    return harness_done();
}
