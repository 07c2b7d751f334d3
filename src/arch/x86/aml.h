/* A tiny AML (ACPI Machine Language) writer: just enough to emit the DSDT
 * arcvmm needs (names, integers, strings, packages, scopes, devices, methods
 * with the few operators a PCI _OSC uses, and resource templates). Encodings follow the ACPI 6.x spec, chapter 20.
 *
 * Usage: every emitter appends to a growable buffer and never fails on the
 * spot; the first error (ENOMEM, a bad name, an oversized object) is stored
 * in `err` and later calls become no-ops, so the caller checks `err` once at
 * the end. Nested objects are built in a child `struct aml` and then wrapped
 * by the parent: e.g. aml_device(&parent, "COM1", &body) emits
 * ExtOpPrefix DeviceOp PkgLength NameString body. A child's error is passed
 * on to the parent when it is wrapped or appended. */
#ifndef ARCVMM_X86_AML_H
#define ARCVMM_X86_AML_H
#include <stddef.h>
#include <stdint.h>

struct aml {
    uint8_t *buf;
    size_t len, cap;
    int err;            /* 0 or the first negative errno met */
};

/* Opcodes and prefixes used by the writer (ACPI 6.x, 20.3). */
#define AML_ZERO_OP         0x00
#define AML_ONE_OP          0x01
#define AML_NAME_OP         0x08
#define AML_BYTE_PREFIX     0x0a
#define AML_WORD_PREFIX     0x0b
#define AML_DWORD_PREFIX    0x0c
#define AML_STRING_PREFIX   0x0d
#define AML_QWORD_PREFIX    0x0e
#define AML_SCOPE_OP        0x10
#define AML_BUFFER_OP       0x11
#define AML_PACKAGE_OP      0x12
#define AML_METHOD_OP       0x14
#define AML_LOCAL0_OP       0x60    /* Local0..Local7: 0x60..0x67 */
#define AML_ARG0_OP         0x68    /* Arg0..Arg6: 0x68..0x6e */
#define AML_OR_OP           0x7d
#define AML_CREATE_DWORD_FIELD_OP 0x8a
#define AML_LNOT_OP         0x92
#define AML_LEQUAL_OP       0x93
#define AML_IF_OP           0xa0
#define AML_DUAL_NAME_PREFIX  0x2e
#define AML_MULTI_NAME_PREFIX 0x2f
#define AML_EXT_OP_PREFIX   0x5b
#define AML_ROOT_CHAR       0x5c
#define AML_PARENT_PREFIX   0x5e
#define AML_DEVICE_OP       0x82    /* after AML_EXT_OP_PREFIX */
#define AML_RETURN_OP       0xa4

/* Largest value a PkgLength can encode (28 bits). */
#define AML_PKGLEN_MAX      0x0fffffffu

/* Memory caching types of DWord/QWord Memory descriptors (_MEM). */
#define AML_MEM_NONCACHEABLE    0
#define AML_MEM_CACHEABLE       1
#define AML_MEM_WRITE_COMBINING 2
#define AML_MEM_PREFETCHABLE    3

/* Extended Interrupt descriptor flag bits (ACPI 6.x, 6.4.3.6). */
#define AML_IRQ_CONSUMER    0x01    /* else producer */
#define AML_IRQ_EDGE        0x02    /* else level-triggered */
#define AML_IRQ_ACTIVE_LOW  0x04    /* else active-high */
#define AML_IRQ_SHARED      0x08    /* else exclusive */
#define AML_IRQ_WAKE        0x10    /* wake capable */

/* Start an empty buffer (no allocation until the first byte). */
void aml_init(struct aml *a);

/* Release the buffer; a may be reused after aml_init(). */
void aml_free(struct aml *a);

/* Append raw bytes / one byte. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/* Append a finished child's bytes (or take on its error). */
void aml_append(struct aml *a, const struct aml *child);

/* Encode the PkgLength value `value` (the length of the whole package, the
 * PkgLength bytes included) into out[0..3] in the shortest form: 1 byte up
 * to 63, 2 bytes up to 4095, 3 up to 1 MiB - 1, 4 up to AML_PKGLEN_MAX.
 * Returns the number of bytes used (1..4), or -EINVAL if value is too big. */
int aml_pkglen_encode(uint32_t value, uint8_t out[4]);

/* Emit the PkgLength for a package whose contents after the PkgLength are
 * body_len bytes: picks the shortest form so the value includes itself. */
void aml_pkglen(struct aml *a, size_t body_len);

/* Emit an integer with the shortest encoding: ZeroOp, OneOp, or a
 * Byte/Word/DWord/QWord prefix followed by the little-endian value. */
void aml_integer(struct aml *a, uint64_t v);

/* Emit a String (StringPrefix, ASCII 0x01..0x7f, NUL). Non-ASCII -> EINVAL. */
void aml_string(struct aml *a, const char *s);

/* Emit a NameString from an ASL-style path: optional "\" or "^"s, then
 * '.'-separated segments of 1..4 chars (A-Z, 0-9, '_', not starting with a
 * digit) padded with '_' ("\_SB.COM1", "_S5", "VR0A"). "\" alone is the root.
 * Lowercase or other characters -> EINVAL. */
void aml_namestring(struct aml *a, const char *path);

/* Emit NameOp NameString; the caller then emits the object (an integer,
 * string, package or buffer). */
void aml_name(struct aml *a, const char *name);

/* Name(name, integer) and Name(name, "string") in one call. */
void aml_name_integer(struct aml *a, const char *name, uint64_t v);
void aml_name_string(struct aml *a, const char *name, const char *s);

/* Compress an EISA id like "PNP0501" (three letters A-Z, four hex digits)
 * into its 32-bit AML value (0x0105d041 for "PNP0501"). 0 or -EINVAL. */
int aml_eisaid_encode(const char *id, uint32_t *out);

/* Emit EISAID(id) as a DWordConst, as ASL compilers do. */
void aml_eisaid(struct aml *a, const char *id);

/* Package(){...}: PackageOp PkgLength NumElements body. The body holds
 * nelems data objects already encoded. nelems > 255 -> EINVAL. */
void aml_package(struct aml *a, unsigned nelems, const struct aml *body);

/* Buffer(){...}: BufferOp PkgLength BufferSize(integer) bytes. */
void aml_buffer(struct aml *a, const struct aml *body);

/* Scope(path){body}. */
void aml_scope(struct aml *a, const char *path, const struct aml *body);

/* Device(path){body}: ExtOpPrefix DeviceOp PkgLength NameString body. */
void aml_device(struct aml *a, const char *path, const struct aml *body);

/* Method(path, nargs, Serialized/NotSerialized){body}; nargs 0..7. */
void aml_method(struct aml *a, const char *path, unsigned nargs, int serialized,
                const struct aml *body);

/* Emit ReturnOp; the caller then emits the returned object. */
void aml_return(struct aml *a);

/* ArgN (0..6) and LocalN (0..7) as operands; out of range -> EINVAL. */
void aml_arg(struct aml *a, unsigned n);
void aml_local(struct aml *a, unsigned n);

/* Operators whose operands the caller emits right after, in order:
 * aml_lequal: LEqual(Operand, Operand); aml_lnot: LNot(Operand);
 * aml_or: Or(Operand, Operand, Target) (Target: a name, ArgN or LocalN). */
void aml_lequal(struct aml *a);
void aml_lnot(struct aml *a);
void aml_or(struct aml *a);

/* If(predicate){body}: IfOp PkgLength Predicate TermList, the predicate and
 * the body already encoded. */
void aml_if(struct aml *a, const struct aml *predicate, const struct aml *body);

/* CreateDWordField(source, byte_index, name): source is an encoded term
 * that evaluates to a buffer (e.g. aml_arg(3)). */
void aml_create_dword_field(struct aml *a, const struct aml *source, uint64_t byte_index,
                            const char *name);

/* ToUUID("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"): the 16-byte Buffer ASL
 * compilers emit (the first three groups little-endian, the last two in
 * string order). A malformed string -> EINVAL. */
void aml_uuid(struct aml *a, const char *uuid);

/* Resource descriptors, appended to a child buffer that is later closed with
 * aml_res_end() and wrapped with aml_buffer() (ASL: ResourceTemplate()). */

/* Memory32Fixed(ReadWrite|ReadOnly, base, size). */
void aml_res_mem32_fixed(struct aml *a, int writable, uint32_t base, uint32_t size);

/* IO(Decode16|Decode10, min, max, align, len). */
void aml_res_io(struct aml *a, int decode16, uint16_t min, uint16_t max,
                uint8_t align, uint8_t len);

/* FixedIO(base, len); base must be < 0x400 (10-bit decode) -> else EINVAL. */
void aml_res_fixed_io(struct aml *a, uint16_t base, uint8_t len);

/* IRQNoFlags(){irq}: edge, active-high, exclusive; irq 0..15 else EINVAL. */
void aml_res_irq_noflags(struct aml *a, unsigned irq);

/* Interrupt(flags){irq}: one-entry Extended Interrupt descriptor with the
 * AML_IRQ_* flags. */
void aml_res_ext_irq(struct aml *a, uint8_t flags, uint32_t irq);

/* Address space descriptors of a bridge's _CRS: resource producer, positive
 * decode, minimum and maximum fixed, granularity and translation 0, length
 * max - min + 1; min > max (or a 2^64 length) -> EINVAL.
 * WordBusNumber(min..max); WordIO(EntireRange, min..max); DWordMemory/QWordMemory(caching (AML_MEM_*),
 * ReadWrite, min..max). */
void aml_res_word_bus_number(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_memory(struct aml *a, unsigned caching, uint32_t min, uint32_t max);
void aml_res_qword_memory(struct aml *a, unsigned caching, uint64_t min, uint64_t max);

/* End Tag, with the checksum byte chosen so that all bytes of the resource
 * list in `a` (from its start, End Tag included) sum to 0 mod 256. */
void aml_res_end(struct aml *a);
#endif
