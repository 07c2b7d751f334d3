/* Unit tests for the AML writer: byte-exact encodings. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/aml.h"
#include "harness.h"

/* Does a hold exactly the n bytes at exp? Prints the first difference. */
static int aml_is(const struct aml *a, const uint8_t *exp, size_t n)
{
    if (a->err) {
        fprintf(stderr, "  aml err %d\n", a->err);
        return 0;
    }
    if (a->len != n) {
        fprintf(stderr, "  aml length %zu, expected %zu\n", a->len, n);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        if (a->buf[i] != exp[i]) {
            fprintf(stderr, "  byte %zu: 0x%02x, expected 0x%02x\n", i, a->buf[i], exp[i]);
            return 0;
        }
    }
    return 1;
}

#define AML_IS(a, ...) do { static const uint8_t _e[] = { __VA_ARGS__ }; \
        CHECK(aml_is((a), _e, sizeof(_e))); } while (0)

static int pkglen_is(uint32_t value, const uint8_t *exp, int n)
{
    uint8_t out[4] = { 0 };
    int r = aml_pkglen_encode(value, out);
    if (r != n) {
        fprintf(stderr, "  pkglen(0x%x): %d bytes, expected %d\n", value, r, n);
        return 0;
    }
    return memcmp(out, exp, (size_t)n) == 0;
}

#define PKGLEN_IS(v, ...) do { static const uint8_t _e[] = { __VA_ARGS__ }; \
        CHECK(pkglen_is((v), _e, (int)sizeof(_e))); } while (0)

static void t_pkglen_encode_boundaries(void)
{
    uint8_t out[4];
    PKGLEN_IS(0, 0x00);
    PKGLEN_IS(63, 0x3f);
    PKGLEN_IS(64, 0x40, 0x04);
    PKGLEN_IS(0x123, 0x43, 0x12);
    PKGLEN_IS(4095, 0x4f, 0xff);
    PKGLEN_IS(4096, 0x80, 0x00, 0x01);
    PKGLEN_IS(0xfffff, 0x8f, 0xff, 0xff);          /* 1 MiB - 1 */
    PKGLEN_IS(0x100000, 0xc0, 0x00, 0x00, 0x01);   /* 1 MiB */
    PKGLEN_IS(0x0abcdef1, 0xc1, 0xef, 0xcd, 0xab);
    PKGLEN_IS(AML_PKGLEN_MAX, 0xcf, 0xff, 0xff, 0xff);
    CHECK_EQ(aml_pkglen_encode(AML_PKGLEN_MAX + 1, out), -EINVAL);
    CHECK_EQ(aml_pkglen_encode(UINT32_MAX, out), -EINVAL);
}

/* aml_pkglen(body) must count its own bytes: check the form switches. */
static void t_pkglen_includes_itself(void)
{
    static const struct { size_t body; uint8_t exp[4]; int n; } cases[] = {
        { 0,        { 0x01 }, 1 },
        { 62,       { 0x3f }, 1 },                       /* 62 + 1 = 63 */
        { 63,       { 0x41, 0x04 }, 2 },                 /* 63 + 2 = 65 */
        { 4093,     { 0x4f, 0xff }, 2 },                 /* 4093 + 2 = 4095 */
        { 4094,     { 0x81, 0x00, 0x01 }, 3 },           /* 4094 + 3 = 4097 */
        { 0xffffc,  { 0x8f, 0xff, 0xff }, 3 },           /* = 0xfffff */
        { 0xffffd,  { 0xc1, 0x00, 0x00, 0x01 }, 4 },     /* = 0x100001 */
        { AML_PKGLEN_MAX - 4, { 0xcf, 0xff, 0xff, 0xff }, 4 },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct aml a;
        aml_init(&a);
        aml_pkglen(&a, cases[i].body);
        CHECK(aml_is(&a, cases[i].exp, (size_t)cases[i].n));
        aml_free(&a);
    }
    struct aml a;
    aml_init(&a);
    aml_pkglen(&a, AML_PKGLEN_MAX - 3);
    CHECK_EQ(a.err, -E2BIG);
    CHECK_EQ(a.len, 0);
    aml_free(&a);
}

/* A wrapped object of 64-byte body takes the 2-byte form. */
static void t_scope_two_byte_pkglen(void)
{
    struct aml body, a;
    uint8_t junk[59];
    aml_init(&body);
    aml_init(&a);
    memset(junk, 0xa3, sizeof(junk));
    aml_bytes(&body, junk, sizeof(junk));
    aml_scope(&a, "ABCD", &body);     /* name 4 + 59 = 63, +2 = 65 */
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.len, 1 + 2 + 63);
    CHECK_EQ(a.buf[0], AML_SCOPE_OP);
    CHECK_EQ(a.buf[1], 0x41);
    CHECK_EQ(a.buf[2], 0x04);
    CHECK(memcmp(a.buf + 3, "ABCD", 4) == 0);
    CHECK(memcmp(a.buf + 7, junk, sizeof(junk)) == 0);
    aml_free(&body);
    aml_free(&a);
}

static void t_integers(void)
{
    struct aml a;
#define INT_IS(v, ...) do { aml_init(&a); aml_integer(&a, (v)); \
        AML_IS(&a, __VA_ARGS__); aml_free(&a); } while (0)
    INT_IS(0, 0x00);
    INT_IS(1, 0x01);
    INT_IS(2, 0x0a, 0x02);
    INT_IS(0xff, 0x0a, 0xff);
    INT_IS(0x100, 0x0b, 0x00, 0x01);
    INT_IS(0xffff, 0x0b, 0xff, 0xff);
    INT_IS(0x10000, 0x0c, 0x00, 0x00, 0x01, 0x00);
    INT_IS(0xffffffff, 0x0c, 0xff, 0xff, 0xff, 0xff);
    INT_IS(0x100000000ULL, 0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00);
    INT_IS(0x0123456789abcdefULL, 0x0e, 0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01);
    INT_IS(UINT64_MAX, 0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
#undef INT_IS
}

static void t_strings(void)
{
    struct aml a;
    aml_init(&a);
    aml_string(&a, "LNRO0005");
    AML_IS(&a, 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
    aml_free(&a);

    aml_init(&a);
    aml_string(&a, "");
    AML_IS(&a, 0x0d, 0x00);
    aml_free(&a);

    aml_init(&a);
    aml_string(&a, "caf\xc3\xa9");
    CHECK_EQ(a.err, -EINVAL);
    CHECK_EQ(a.len, 0);
    aml_free(&a);
}

static void t_namestrings(void)
{
    struct aml a;
#define NAME_IS(s, ...) do { aml_init(&a); aml_namestring(&a, (s)); \
        AML_IS(&a, __VA_ARGS__); aml_free(&a); } while (0)
    NAME_IS("_S5", '_', 'S', '5', '_');
    NAME_IS("_S5_", '_', 'S', '5', '_');
    NAME_IS("VR0A", 'V', 'R', '0', 'A');
    NAME_IS("\\", 0x5c, 0x00);
    NAME_IS("\\_SB", 0x5c, '_', 'S', 'B', '_');
    NAME_IS("\\_SB.COM1", 0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
    NAME_IS("A.B.C", 0x2f, 0x03, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_', '_', '_');
    NAME_IS("^^PCI0", 0x5e, 0x5e, 'P', 'C', 'I', '0');
#undef NAME_IS
    static const char *bad[] = { "", "1ABC", "ABCDE", "abc", "A..B", "A.", ".A",
                                 "\\\\A", "A-B", "^\\A", "A B" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aml_init(&a);
        aml_namestring(&a, bad[i]);
        if (a.err != -EINVAL || a.len != 0)
            fprintf(stderr, "  bad name \"%s\" accepted\n", bad[i]);
        CHECK_EQ(a.err, -EINVAL);
        CHECK_EQ(a.len, 0);
        aml_free(&a);
    }
}

static void t_eisaid(void)
{
    uint32_t v = 0;
    CHECK_EQ(aml_eisaid_encode("PNP0501", &v), 0);
    CHECK_EQ(v, 0x0105d041);
    CHECK_EQ(aml_eisaid_encode("PNP0A03", &v), 0);
    CHECK_EQ(v, 0x030ad041);
    CHECK_EQ(aml_eisaid_encode("PNP0a03", &v), 0);   /* hex digits any case */
    CHECK_EQ(v, 0x030ad041);
    CHECK_EQ(aml_eisaid_encode("PNP050", &v), -EINVAL);
    CHECK_EQ(aml_eisaid_encode("PNP05011", &v), -EINVAL);
    CHECK_EQ(aml_eisaid_encode("pNP0501", &v), -EINVAL);
    CHECK_EQ(aml_eisaid_encode("PNP0G01", &v), -EINVAL);

    struct aml a;
    aml_init(&a);
    aml_eisaid(&a, "PNP0501");
    AML_IS(&a, 0x0c, 0x41, 0xd0, 0x05, 0x01);
    aml_free(&a);
}

static void t_name_and_package(void)
{
    struct aml a, pkg;
    aml_init(&a);
    aml_init(&pkg);
    aml_integer(&pkg, 5);
    aml_integer(&pkg, 0);
    aml_integer(&pkg, 0);
    aml_integer(&pkg, 0);
    aml_name(&a, "_S5_");
    aml_package(&a, 4, &pkg);
    aml_name_integer(&a, "_UID", 0x1234);
    aml_name_string(&a, "_HID", "AB");
    AML_IS(&a, 0x08, '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00, 0x00, 0x00,
               0x08, '_', 'U', 'I', 'D', 0x0b, 0x34, 0x12,
               0x08, '_', 'H', 'I', 'D', 0x0d, 'A', 'B', 0x00);
    aml_package(&a, 256, &pkg);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&pkg);
    aml_free(&a);
}

/* Device(COM1) { Name(_HID, EisaId("PNP0501")) Name(_UID, 0)
 *   Name(_CRS, ResourceTemplate() { IO(Decode16, 0x3f8, 0x3f8, 1, 8)
 *                                   IRQNoFlags() {4} }) }
 * assembled by hand from the ACPI spec. */
static void t_device_hand_assembled(void)
{
    struct aml a, dev, res;
    aml_init(&a);
    aml_init(&dev);
    aml_init(&res);
    aml_name(&dev, "_HID");
    aml_eisaid(&dev, "PNP0501");
    aml_name_integer(&dev, "_UID", 0);
    aml_res_io(&res, 1, 0x3f8, 0x3f8, 1, 8);
    aml_res_irq_noflags(&res, 4);
    aml_res_end(&res);
    aml_name(&dev, "_CRS");
    aml_buffer(&dev, &res);
    aml_device(&a, "COM1", &dev);
    AML_IS(&a,
        0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',              /* Device, PkgLength 43 */
        0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
        0x08, '_', 'U', 'I', 'D', 0x00,
        0x08, '_', 'C', 'R', 'S',
        0x11, 0x10, 0x0a, 0x0d,                           /* Buffer, PkgLength 16, size 13 */
        0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,   /* IO */
        0x22, 0x10, 0x00,                                 /* IRQNoFlags {4} */
        0x79, 0x0e);                                      /* End tag, checksum */
    aml_free(&res);
    aml_free(&dev);
    aml_free(&a);
}

static void t_method(void)
{
    struct aml a, body;
    aml_init(&a);
    aml_init(&body);
    aml_return(&body);
    aml_integer(&body, 0x0f);
    aml_method(&a, "_STA", 0, 0, &body);
    aml_method(&a, "FOO", 2, 1, &body);
    AML_IS(&a, 0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f,
               0x14, 0x09, 'F', 'O', 'O', '_', 0x0a, 0xa4, 0x0a, 0x0f);
    aml_method(&a, "BAR", 8, 0, &body);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&body);
    aml_free(&a);
}

static void t_args_and_operators(void)
{
    struct aml a;
    aml_init(&a);
    for (unsigned i = 0; i <= 6; i++)
        aml_arg(&a, i);
    aml_local(&a, 0);
    aml_local(&a, 7);
    aml_lequal(&a);
    aml_lnot(&a);
    aml_or(&a);
    AML_IS(&a, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x60, 0x67, 0x93, 0x92, 0x7d);
    aml_arg(&a, 7);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_local(&a, 8);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
}

/* If (LNot (LEqual (Arg0, One))) { Or (Local0, 4, Local0) } by hand:
 * IfOp PkgLength(10) LNotOp LEqualOp Arg0Op OneOp OrOp Local0Op BytePrefix 4 Local0Op. */
static void t_if(void)
{
    struct aml a, pred, body;
    aml_init(&a);
    aml_init(&pred);
    aml_init(&body);
    aml_lnot(&pred);
    aml_lequal(&pred);
    aml_arg(&pred, 0);
    aml_integer(&pred, 1);
    aml_or(&body);
    aml_local(&body, 0);
    aml_integer(&body, 4);
    aml_local(&body, 0);
    aml_if(&a, &pred, &body);
    AML_IS(&a, 0xa0, 0x0a, 0x92, 0x93, 0x68, 0x01, 0x7d, 0x60, 0x0a, 0x04, 0x60);
    aml_free(&body);
    aml_init(&body);
    aml_namestring(&body, "bad");
    aml_if(&a, &pred, &body);               /* a child's error reaches the parent */
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&body);
    aml_free(&pred);
    aml_free(&a);
}

static void t_create_dword_field(void)
{
    struct aml a, src;
    aml_init(&a);
    aml_init(&src);
    aml_arg(&src, 3);
    aml_create_dword_field(&a, &src, 0, "CDW1");
    aml_create_dword_field(&a, &src, 8, "CDW3");
    AML_IS(&a, 0x8a, 0x6b, 0x00, 'C', 'D', 'W', '1',
               0x8a, 0x6b, 0x0a, 0x08, 'C', 'D', 'W', '3');
    aml_create_dword_field(&a, &src, 0, "cdw1");
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&src);
    aml_free(&a);
}

/* The PCI host bridge _OSC UUID, as the ACPI spec's ToUUID lays it out. */
static void t_uuid(void)
{
    struct aml a;
    aml_init(&a);
    aml_uuid(&a, "33DB4D5B-1FF7-401C-9657-7441C03DD766");
    AML_IS(&a, 0x11, 0x13, 0x0a, 0x10,
               0x5b, 0x4d, 0xdb, 0x33, 0xf7, 0x1f, 0x1c, 0x40,
               0x96, 0x57, 0x74, 0x41, 0xc0, 0x3d, 0xd7, 0x66);
    aml_free(&a);
    aml_init(&a);
    aml_uuid(&a, "33db4d5b-1ff7-401c-9657-7441c03dd766");   /* lower case is fine */
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.buf[4], 0x5b);
    aml_free(&a);
    static const char *const bad[] = {
        "33DB4D5B-1FF7-401C-9657-7441C03DD76",      /* short */
        "33DB4D5B-1FF7-401C-9657-7441C03DD7666",    /* long */
        "33DB4D5B_1FF7-401C-9657-7441C03DD766",     /* separator */
        "33DB4D5B-1FF7-401C-9657-7441C03DD76G",     /* not hex */
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        aml_init(&a);
        aml_uuid(&a, bad[i]);
        CHECK_EQ(a.err, -EINVAL);
        CHECK_EQ(a.len, 0);
        aml_free(&a);
    }
}

/* WordBusNumber / DWordMemory / QWordMemory, assembled by hand (ACPI 6.x
 * 6.4.3.5): tag, length, type, flags 0x0c (producer, positive decode, min
 * and max fixed), type-specific flags, then granularity, min, max,
 * translation, length. */
static void t_address_space_descriptors(void)
{
    struct aml a;
    aml_init(&a);
    aml_res_word_bus_number(&a, 0, 0x7f);
    AML_IS(&a, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
               0x00, 0x00, 0x00, 0x00, 0x7f, 0x00, 0x00, 0x00, 0x80, 0x00);
    aml_free(&a);

    aml_init(&a);
    aml_res_word_io(&a, 0x1000, 0xffff);
    AML_IS(&a, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
               0x00, 0x00, 0x00, 0x10, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf0);
    aml_free(&a);

    aml_init(&a);
    aml_res_dword_memory(&a, AML_MEM_NONCACHEABLE, 0xc0000000, 0xcfffffff);
    AML_IS(&a, 0x87, 0x17, 0x00, 0x00, 0x0c, 0x01,
               0x00, 0x00, 0x00, 0x00,  0x00, 0x00, 0x00, 0xc0,
               0xff, 0xff, 0xff, 0xcf,  0x00, 0x00, 0x00, 0x00,
               0x00, 0x00, 0x00, 0x10);
    aml_free(&a);

    aml_init(&a);
    aml_res_qword_memory(&a, AML_MEM_PREFETCHABLE, 0x100000000ULL, 0x4ffffffffULL);
    AML_IS(&a, 0x8a, 0x2b, 0x00, 0x00, 0x0c, 0x07,
               0, 0, 0, 0, 0, 0, 0, 0,
               0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
               0xff, 0xff, 0xff, 0xff, 0x04, 0x00, 0x00, 0x00,
               0, 0, 0, 0, 0, 0, 0, 0,
               0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00);
    aml_free(&a);

    /* One-unit ranges and the largest ranges that still have a length. */
    aml_init(&a);
    aml_res_word_bus_number(&a, 5, 5);
    aml_res_word_bus_number(&a, 1, 0xffff);
    aml_res_dword_memory(&a, AML_MEM_CACHEABLE, 0, 0xfffffffe);
    aml_res_qword_memory(&a, AML_MEM_WRITE_COMBINING, 1, UINT64_MAX);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.len, 16 + 16 + 26 + 46);
    CHECK_EQ(a.buf[14] | a.buf[15] << 8, 1);            /* length 1 */
    CHECK_EQ(a.buf[32 + 5], 0x03);                      /* cacheable, read-write */
    CHECK_EQ(a.buf[58 + 5], 0x05);                      /* write-combining */
    aml_free(&a);

    /* Inverted ranges, lengths that do not fit, bad caching types. */
    aml_init(&a);
    aml_res_word_bus_number(&a, 2, 1);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_word_bus_number(&a, 0, 0xffff);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_dword_memory(&a, AML_MEM_NONCACHEABLE, 0, 0xffffffff);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_qword_memory(&a, AML_MEM_NONCACHEABLE, 0, UINT64_MAX);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_qword_memory(&a, AML_MEM_NONCACHEABLE, 0x2000, 0x1fff);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_dword_memory(&a, 4, 0, 1);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_res_qword_memory(&a, 4, 0, 1);
    CHECK_EQ(a.err, -EINVAL);
    CHECK_EQ(a.len, 0);
    aml_free(&a);
}

static void t_resources(void)
{
    struct aml a;
    aml_init(&a);
    aml_res_mem32_fixed(&a, 1, 0xd0000000, 0x1000);
    AML_IS(&a, 0x86, 0x09, 0x00, 0x01, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00);
    aml_free(&a);

    aml_init(&a);
    aml_res_mem32_fixed(&a, 0, 0x12345678, 0x9abcdef0);
    AML_IS(&a, 0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a);
    aml_free(&a);

    aml_init(&a);
    aml_res_ext_irq(&a, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 5);
    aml_res_ext_irq(&a, AML_IRQ_CONSUMER | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED, 0x123);
    AML_IS(&a, 0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00,
               0x89, 0x06, 0x00, 0x0d, 0x01, 0x23, 0x01, 0x00, 0x00);
    aml_free(&a);

    aml_init(&a);
    aml_res_io(&a, 0, 0x60, 0x64, 4, 1);
    aml_res_fixed_io(&a, 0x3ff, 2);
    aml_res_irq_noflags(&a, 0);
    aml_res_irq_noflags(&a, 15);
    AML_IS(&a, 0x47, 0x00, 0x60, 0x00, 0x64, 0x00, 0x04, 0x01,
               0x4b, 0xff, 0x03, 0x02,
               0x22, 0x01, 0x00,
               0x22, 0x00, 0x80);
    aml_res_fixed_io(&a, 0x400, 1);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);

    aml_init(&a);
    aml_res_irq_noflags(&a, 16);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
}

static void t_end_tag_checksum(void)
{
    struct aml a;
    aml_init(&a);
    aml_res_end(&a);
    AML_IS(&a, 0x79, 0x87);

    aml_free(&a);
    aml_init(&a);
    aml_res_mem32_fixed(&a, 1, 0xfed00000, 0x400);
    aml_res_ext_irq(&a, AML_IRQ_CONSUMER, 23);
    aml_res_end(&a);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.buf[a.len - 2], 0x79);
    uint8_t sum = 0;
    for (size_t i = 0; i < a.len; i++)
        sum = (uint8_t)(sum + a.buf[i]);
    CHECK_EQ(sum, 0);
    aml_free(&a);
}

/* Errors are sticky and flow from a child into its parent. */
static void t_sticky_errors(void)
{
    struct aml a, child;
    aml_init(&a);
    aml_init(&child);
    aml_byte(&a, 0x42);
    aml_namestring(&child, "bad");
    aml_device(&a, "DEV0", &child);
    CHECK_EQ(a.err, -EINVAL);
    size_t len = a.len;
    aml_integer(&a, 7);
    aml_string(&a, "x");
    aml_res_end(&a);
    CHECK_EQ(a.len, len);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&child);
    aml_free(&a);

    /* A bad name inside a wrapper also fails the parent. */
    aml_init(&a);
    aml_init(&child);
    aml_scope(&a, "TOOLONG", &child);
    CHECK_EQ(a.err, -EINVAL);
    aml_free(&a);
    aml_init(&a);
    aml_append(&a, &child);
    CHECK_EQ(a.err, 0);
    CHECK_EQ(a.len, 0);
    aml_free(&child);
    aml_free(&a);
}

/* Many appends grow the buffer; a 1 MiB body gets the 4-byte PkgLength. */
static void t_growth_large_body(void)
{
    struct aml body, a;
    aml_init(&body);
    aml_init(&a);
    for (unsigned i = 0; i < 0x100000; i++)
        aml_byte(&body, (uint8_t)i);
    CHECK_EQ(body.err, 0);
    CHECK_EQ(body.len, 0x100000);
    CHECK(body.cap >= body.len);
    for (unsigned i = 0; i < 0x100000; i += 4099)
        CHECK_EQ(body.buf[i], (uint8_t)i);
    aml_device(&a, "BIG0", &body);
    CHECK_EQ(a.err, 0);
    /* 0x100000 + name 4 + PkgLength 4 = 0x100008 */
    CHECK_EQ(a.len, 2 + 4 + 4 + 0x100000);
    CHECK_EQ(a.buf[2], 0xc8);
    CHECK_EQ(a.buf[3], 0x00);
    CHECK_EQ(a.buf[4], 0x00);
    CHECK_EQ(a.buf[5], 0x01);
    CHECK(memcmp(a.buf + 10, body.buf, body.len) == 0);
    aml_free(&body);
    aml_free(&a);
    CHECK(a.buf == NULL);
    CHECK_EQ(a.len, 0);
}

int main(void)
{
    RUN(t_pkglen_encode_boundaries);
    RUN(t_pkglen_includes_itself);
    RUN(t_scope_two_byte_pkglen);
    RUN(t_integers);
    RUN(t_strings);
    RUN(t_namestrings);
    RUN(t_eisaid);
    RUN(t_name_and_package);
    RUN(t_device_hand_assembled);
    RUN(t_method);
    RUN(t_args_and_operators);
    RUN(t_if);
    RUN(t_create_dword_field);
    RUN(t_uuid);
    RUN(t_address_space_descriptors);
    RUN(t_resources);
    RUN(t_end_tag_checksum);
    RUN(t_sticky_errors);
    RUN(t_growth_large_body);
    return harness_done();
}
