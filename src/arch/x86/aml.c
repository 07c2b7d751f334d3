/* Tiny AML writer; see aml.h. Encodings: ACPI 6.x spec chapter 20 (AML
 * grammar) and 6.4 (resource descriptors). */
#include "arch/x86/aml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define AML_INIT_CAP 64

/* Resource descriptor tags (ACPI 6.x, 6.4.2 small / 6.4.3 large items). */
#define RES_IRQ_NOFLAGS   0x22   /* small item 0x04, length 2 */
#define RES_IO            0x47   /* small item 0x08, length 7 */
#define RES_FIXED_IO      0x4b   /* small item 0x09, length 3 */
#define RES_END_TAG       0x79   /* small item 0x0f, length 1 */
#define RES_MEM32_FIXED   0x86   /* large item 0x06 */
#define RES_DWORD_ADDR    0x87   /* large item 0x07 */
#define RES_WORD_ADDR     0x88   /* large item 0x08 */
#define RES_EXT_IRQ       0x89   /* large item 0x09 */
#define RES_QWORD_ADDR    0x8a   /* large item 0x0a */

/* Address space descriptor fields (ACPI 6.x, 6.4.3.5). */
#define ADDR_SPACE_MEMORY 0
#define ADDR_SPACE_IO     1
#define ADDR_SPACE_BUS    2
#define ADDR_IO_ENTIRE    0x03   /* type-specific: ISA and non-ISA ports */
#define ADDR_GEN_MIF      0x04   /* minimum address fixed */
#define ADDR_GEN_MAF      0x08   /* maximum address fixed; bit 0 clear: producer,
                                  * bit 1 clear: positive decode */
#define ADDR_MEM_RW       0x01   /* type-specific: read-write; _MEM in bits 2..1 */

static void aml_fail(struct aml *a, int err)
{
    if (!a->err)
        a->err = err;
}

void aml_init(struct aml *a)
{
    a->buf = NULL;
    a->len = 0;
    a->cap = 0;
    a->err = 0;
}

void aml_free(struct aml *a)
{
    free(a->buf);
    aml_init(a);
}

/* Make room for n more bytes; false (with err set) if impossible. */
static int aml_reserve(struct aml *a, size_t n)
{
    if (a->err)
        return 0;
    if (n > SIZE_MAX - a->len) {
        aml_fail(a, -ENOMEM);
        return 0;
    }
    if (a->len + n <= a->cap)
        return 1;
    size_t cap = a->cap ? a->cap : AML_INIT_CAP;
    while (cap < a->len + n) {
        if (cap > SIZE_MAX / 2) {
            cap = a->len + n;
            break;
        }
        cap *= 2;
    }
    uint8_t *nb = realloc(a->buf, cap);
    if (!nb) {
        aml_fail(a, -ENOMEM);
        return 0;
    }
    a->buf = nb;
    a->cap = cap;
    return 1;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (n == 0 || !aml_reserve(a, n))
        return;
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t b)
{
    aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
    uint8_t b[8];
    for (unsigned i = 0; i < n; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    aml_bytes(a, b, n);
}

void aml_append(struct aml *a, const struct aml *child)
{
    if (child->err) {
        aml_fail(a, child->err);
        return;
    }
    aml_bytes(a, child->buf, child->len);
}

int aml_pkglen_encode(uint32_t value, uint8_t out[4])
{
    if (value <= 0x3f) {
        out[0] = (uint8_t)value;
        return 1;
    }
    if (value > AML_PKGLEN_MAX)
        return -EINVAL;
    /* Lead byte: bits 7..6 = count of following bytes, bits 3..0 = the low
     * nibble; the following bytes carry the rest, least significant first. */
    int extra = value <= 0xfff ? 1 : value <= 0xfffff ? 2 : 3;
    out[0] = (uint8_t)((extra << 6) | (value & 0x0f));
    for (int i = 1; i <= extra; i++)
        out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
    return extra + 1;
}

void aml_pkglen(struct aml *a, size_t body_len)
{
    static const uint32_t form_max[4] = { 0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX };
    for (unsigned n = 1; n <= 4; n++) {
        if (body_len <= form_max[n - 1] - n) {
            uint8_t b[4];
            int len = aml_pkglen_encode((uint32_t)(body_len + n), b);
            /* The shortest form for body_len+n may be shorter than n only if
             * a shorter form already fitted, which the loop ruled out. */
            if (len != (int)n) {
                aml_fail(a, -EINVAL);
                return;
            }
            aml_bytes(a, b, n);
            return;
        }
    }
    aml_fail(a, -E2BIG);
}

void aml_integer(struct aml *a, uint64_t v)
{
    if (v == 0) {
        aml_byte(a, AML_ZERO_OP);
    } else if (v == 1) {
        aml_byte(a, AML_ONE_OP);
    } else if (v <= 0xff) {
        aml_byte(a, AML_BYTE_PREFIX);
        aml_le(a, v, 1);
    } else if (v <= 0xffff) {
        aml_byte(a, AML_WORD_PREFIX);
        aml_le(a, v, 2);
    } else if (v <= 0xffffffffu) {
        aml_byte(a, AML_DWORD_PREFIX);
        aml_le(a, v, 4);
    } else {
        aml_byte(a, AML_QWORD_PREFIX);
        aml_le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] > 0x7f) {
            aml_fail(a, -EINVAL);
            return;
        }
    }
    aml_byte(a, AML_STRING_PREFIX);
    aml_bytes(a, s, n + 1);
}

static int is_lead_char(char c)
{
    return (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
    return is_lead_char(c) || (c >= '0' && c <= '9');
}

void aml_namestring(struct aml *a, const char *path)
{
    const char *p = path;
    struct aml segs;
    unsigned nseg = 0, nparent = 0;
    int root = 0;

    if (*p == '\\') {
        root = 1;
        p++;
    } else {
        while (*p == '^') {
            nparent++;
            p++;
        }
    }
    aml_init(&segs);
    while (*p) {
        char seg[4] = { '_', '_', '_', '_' };
        size_t n = 0;
        while (p[n] && p[n] != '.')
            n++;
        if (n == 0 || n > 4 || !is_lead_char(p[0]))
            goto bad;
        for (size_t i = 0; i < n; i++) {
            if (!is_name_char(p[i]))
                goto bad;
            seg[i] = p[i];
        }
        aml_bytes(&segs, seg, 4);
        nseg++;
        p += n;
        if (*p == '.') {
            p++;
            if (!*p)
                goto bad;   /* trailing dot */
        }
    }
    /* An empty path is an error; "\" or "^"s alone end in NullName. */
    if (nseg > 255 || (nseg == 0 && !root && !nparent))
        goto bad;
    if (root)
        aml_byte(a, AML_ROOT_CHAR);
    for (unsigned i = 0; i < nparent; i++)
        aml_byte(a, AML_PARENT_PREFIX);
    if (nseg == 0) {
        aml_byte(a, 0x00);
    } else if (nseg == 2) {
        aml_byte(a, AML_DUAL_NAME_PREFIX);
    } else if (nseg > 2) {
        aml_byte(a, AML_MULTI_NAME_PREFIX);
        aml_byte(a, (uint8_t)nseg);
    }
    aml_append(a, &segs);
    aml_free(&segs);
    return;
bad:
    aml_free(&segs);
    aml_fail(a, -EINVAL);
}

void aml_name(struct aml *a, const char *name)
{
    aml_byte(a, AML_NAME_OP);
    aml_namestring(a, name);
}

void aml_name_integer(struct aml *a, const char *name, uint64_t v)
{
    aml_name(a, name);
    aml_integer(a, v);
}

void aml_name_string(struct aml *a, const char *name, const char *s)
{
    aml_name(a, name);
    aml_string(a, s);
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

int aml_eisaid_encode(const char *id, uint32_t *out)
{
    if (strlen(id) != 7)
        return -EINVAL;
    /* Vendor: three letters, 5 bits each ('A' == 1), in bits 14..0 of a
     * big-endian 16-bit word; product: four hex digits, big-endian. The four
     * bytes in that order, read as a little-endian DWORD, are the value. */
    uint32_t vendor = 0, product = 0;
    for (int i = 0; i < 3; i++) {
        if (id[i] < 'A' || id[i] > 'Z')
            return -EINVAL;
        vendor = (vendor << 5) | (uint32_t)(id[i] - 'A' + 1);
    }
    for (int i = 3; i < 7; i++) {
        int h = hex_val(id[i]);
        if (h < 0)
            return -EINVAL;
        product = (product << 4) | (uint32_t)h;
    }
    *out = (vendor >> 8) | ((vendor & 0xff) << 8) |
           ((product >> 8) << 16) | ((product & 0xff) << 24);
    return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
    uint32_t v;
    if (aml_eisaid_encode(id, &v) < 0) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, AML_DWORD_PREFIX);
    aml_le(a, v, 4);
}

/* Emit op bytes, PkgLength(head + body), head, body. */
static void aml_wrap(struct aml *a, const uint8_t *op, size_t nop,
                     const struct aml *head, const struct aml *body)
{
    if (head->err || body->err) {
        aml_fail(a, head->err ? head->err : body->err);
        return;
    }
    if (head->len > SIZE_MAX - body->len) {
        aml_fail(a, -E2BIG);
        return;
    }
    aml_bytes(a, op, nop);
    aml_pkglen(a, head->len + body->len);
    aml_append(a, head);
    aml_append(a, body);
}

void aml_package(struct aml *a, unsigned nelems, const struct aml *body)
{
    static const uint8_t op = AML_PACKAGE_OP;
    struct aml head;
    if (nelems > 255) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_init(&head);
    aml_byte(&head, (uint8_t)nelems);
    aml_wrap(a, &op, 1, &head, body);
    aml_free(&head);
}

void aml_buffer(struct aml *a, const struct aml *body)
{
    static const uint8_t op = AML_BUFFER_OP;
    struct aml head;
    aml_init(&head);
    aml_integer(&head, body->len);
    aml_wrap(a, &op, 1, &head, body);
    aml_free(&head);
}

void aml_scope(struct aml *a, const char *path, const struct aml *body)
{
    static const uint8_t op = AML_SCOPE_OP;
    struct aml head;
    aml_init(&head);
    aml_namestring(&head, path);
    aml_wrap(a, &op, 1, &head, body);
    aml_free(&head);
}

void aml_device(struct aml *a, const char *path, const struct aml *body)
{
    static const uint8_t op[2] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
    struct aml head;
    aml_init(&head);
    aml_namestring(&head, path);
    aml_wrap(a, op, 2, &head, body);
    aml_free(&head);
}

void aml_method(struct aml *a, const char *path, unsigned nargs, int serialized,
                const struct aml *body)
{
    static const uint8_t op = AML_METHOD_OP;
    struct aml head;
    if (nargs > 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_init(&head);
    aml_namestring(&head, path);
    /* MethodFlags: bits 2..0 ArgCount, bit 3 SerializeFlag, 7..4 SyncLevel. */
    aml_byte(&head, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
    aml_wrap(a, &op, 1, &head, body);
    aml_free(&head);
}

void aml_return(struct aml *a)
{
    aml_byte(a, AML_RETURN_OP);
}

void aml_arg(struct aml *a, unsigned n)
{
    if (n > 6) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, (uint8_t)(AML_ARG0_OP + n));
}

void aml_local(struct aml *a, unsigned n)
{
    if (n > 7) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, (uint8_t)(AML_LOCAL0_OP + n));
}

void aml_lequal(struct aml *a)
{
    aml_byte(a, AML_LEQUAL_OP);
}

void aml_lnot(struct aml *a)
{
    aml_byte(a, AML_LNOT_OP);
}

void aml_or(struct aml *a)
{
    aml_byte(a, AML_OR_OP);
}

void aml_if(struct aml *a, const struct aml *predicate, const struct aml *body)
{
    static const uint8_t op = AML_IF_OP;
    aml_wrap(a, &op, 1, predicate, body);
}

void aml_create_dword_field(struct aml *a, const struct aml *source, uint64_t byte_index,
                            const char *name)
{
    aml_byte(a, AML_CREATE_DWORD_FIELD_OP);
    aml_append(a, source);
    aml_integer(a, byte_index);
    aml_namestring(a, name);
}

void aml_uuid(struct aml *a, const char *uuid)
{
    /* Byte i of the buffer comes from the hex pair at string offset pos[i]. */
    static const uint8_t pos[16] = { 6, 4, 2, 0, 11, 9, 16, 14,
                                     19, 21, 24, 26, 28, 30, 32, 34 };
    struct aml body;
    uint8_t b[16];

    if (strlen(uuid) != 36 || uuid[8] != '-' || uuid[13] != '-' || uuid[18] != '-' ||
        uuid[23] != '-') {
        aml_fail(a, -EINVAL);
        return;
    }
    for (int i = 0; i < 16; i++) {
        int hi = hex_val(uuid[pos[i]]), lo = hex_val(uuid[pos[i] + 1]);
        if (hi < 0 || lo < 0) {
            aml_fail(a, -EINVAL);
            return;
        }
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    aml_init(&body);
    aml_bytes(&body, b, sizeof(b));
    aml_buffer(a, &body);
    aml_free(&body);
}

void aml_res_mem32_fixed(struct aml *a, int writable, uint32_t base, uint32_t size)
{
    aml_byte(a, RES_MEM32_FIXED);
    aml_le(a, 9, 2);                    /* length of the data that follows */
    aml_byte(a, writable ? 1 : 0);      /* bit 0: read/write */
    aml_le(a, base, 4);
    aml_le(a, size, 4);
}

void aml_res_io(struct aml *a, int decode16, uint16_t min, uint16_t max,
                uint8_t align, uint8_t len)
{
    aml_byte(a, RES_IO);
    aml_byte(a, decode16 ? 1 : 0);      /* bit 0: 16-bit address decode */
    aml_le(a, min, 2);
    aml_le(a, max, 2);
    aml_byte(a, align);
    aml_byte(a, len);
}

void aml_res_fixed_io(struct aml *a, uint16_t base, uint8_t len)
{
    if (base > 0x3ff) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, RES_FIXED_IO);
    aml_le(a, base, 2);
    aml_byte(a, len);
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
    if (irq > 15) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, RES_IRQ_NOFLAGS);
    aml_le(a, 1u << irq, 2);
}

void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t irq)
{
    aml_byte(a, RES_EXT_IRQ);
    aml_le(a, 6, 2);                    /* flags + count + one DWORD */
    aml_byte(a, flags & 0x1f);
    aml_byte(a, 1);
    aml_le(a, irq, 4);
}

/* Address space descriptor: tag, length, type, flags, then granularity
 * (0), min, max, translation (0) and length, each `width` bytes. */
static void res_addr(struct aml *a, uint8_t tag, unsigned width, uint8_t type,
                     uint8_t type_flags, uint64_t min, uint64_t max)
{
    uint64_t lim = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
    /* The length must fit the field too: min..max may not span all of it. */
    if (min > max || max > lim || max - min == lim) {
        aml_fail(a, -EINVAL);
        return;
    }
    aml_byte(a, tag);
    aml_le(a, 3 + 5 * width, 2);        /* length of the data that follows */
    aml_byte(a, type);
    aml_byte(a, ADDR_GEN_MIF | ADDR_GEN_MAF);
    aml_byte(a, type_flags);
    aml_le(a, 0, width);
    aml_le(a, min, width);
    aml_le(a, max, width);
    aml_le(a, 0, width);
    aml_le(a, max - min + 1, width);
}

void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max)
{
    res_addr(a, RES_WORD_ADDR, 2, ADDR_SPACE_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
    res_addr(a, RES_WORD_ADDR, 2, ADDR_SPACE_IO, ADDR_IO_ENTIRE, min, max);
}

void aml_res_dword_memory(struct aml *a, unsigned caching, uint32_t min, uint32_t max)
{
    if (caching > AML_MEM_PREFETCHABLE) {
        aml_fail(a, -EINVAL);
        return;
    }
    res_addr(a, RES_DWORD_ADDR, 4, ADDR_SPACE_MEMORY, (uint8_t)(ADDR_MEM_RW | caching << 1),
             min, max);
}

void aml_res_qword_memory(struct aml *a, unsigned caching, uint64_t min, uint64_t max)
{
    if (caching > AML_MEM_PREFETCHABLE) {
        aml_fail(a, -EINVAL);
        return;
    }
    res_addr(a, RES_QWORD_ADDR, 8, ADDR_SPACE_MEMORY, (uint8_t)(ADDR_MEM_RW | caching << 1),
             min, max);
}

void aml_res_end(struct aml *a)
{
    uint8_t sum = RES_END_TAG;
    if (a->err)
        return;
    for (size_t i = 0; i < a->len; i++)
        sum = (uint8_t)(sum + a->buf[i]);
    aml_byte(a, RES_END_TAG);
    aml_byte(a, (uint8_t)-sum);
}
