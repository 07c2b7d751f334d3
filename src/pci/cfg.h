/* PCI configuration space of a type-0 endpoint (PCI Local Bus 3.0 ch. 6):
 * 4 KiB, so it serves ECAM; legacy mechanism #1 sees the first 256 bytes.
 *
 * Every byte has a write mask (1 bits are writable) and a write-1-to-clear
 * mask (the Status register's error bits); a write changes only the bits
 * its masks allow, so read-only fields (IDs, class, header type, pin,
 * BAR type bits) survive anything the guest writes.
 *
 * BARs are memory BARs, 32- or 64-bit, sized a power of two >= 4 KiB. The
 * write mask of a BAR's address bits is ~(size - 1), which alone gives the
 * sizing protocol: writing all-ones reads back the size mask with the type
 * bits, odd values are rounded down to the alignment, and the upper dword
 * of a 64-bit BAR is writable in full (for sizes up to 4 GiB).
 *
 * Capabilities live in 0x40..0xff, 4-byte aligned, chained from 0x34.
 * A capability may have a hook that serves every access to its bytes
 * (its length rounded up to 4), e.g. MSI-X's control word or virtio's
 * VIRTIO_PCI_CAP_PCI_CFG data window.
 *
 * Accesses: len 1, 2 or 4, naturally aligned (off % len == 0), off + len
 * <= 4096. Anything else (a misaligned access, a bad length, an offset
 * past the end) reads all-ones and is ignored on write. A naturally
 * aligned access never straddles a dword, so it touches at most one
 * capability.
 *
 * No lock inside: the owner (the PCI host's lock) serialises all calls;
 * the callbacks below run under that serialisation and must not call
 * pci_cfg_write on the same cfg. */
#ifndef ARCVMM_PCI_CFG_H
#define ARCVMM_PCI_CFG_H
#include <stdbool.h>
#include <stdint.h>

#define PCI_CFG_SIZE        4096
#define PCI_CFG_LEGACY_SIZE 256
#define PCI_NUM_BARS        6
#define PCI_CFG_MAX_CAPS    16

/* Header offsets */
enum {
    PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
    PCI_REVISION_ID = 0x08, PCI_CLASS_PROG = 0x09, PCI_HEADER_TYPE = 0x0e,
    PCI_BAR0 = 0x10, PCI_SUBSYSTEM_VENDOR_ID = 0x2c, PCI_SUBSYSTEM_ID = 0x2e,
    PCI_CAPABILITY_LIST = 0x34, PCI_INTERRUPT_LINE = 0x3c, PCI_INTERRUPT_PIN = 0x3d,
    PCI_CAP_START = 0x40,
};

/* Command and Status bits */
#define PCI_COMMAND_IO            0x0001
#define PCI_COMMAND_MEMORY        0x0002
#define PCI_COMMAND_MASTER        0x0004
#define PCI_COMMAND_INTX_DISABLE  0x0400
#define PCI_STATUS_INTERRUPT      0x0008
#define PCI_STATUS_CAP_LIST       0x0010

/* BAR low bits: an I/O BAR, or a memory BAR's type and prefetchability */
#define PCI_BAR_IO           0x1
#define PCI_BAR_MEM_TYPE_64  0x4
#define PCI_BAR_PREFETCH     0x8

#define PCI_CAP_ID_VNDR  0x09
#define PCI_CAP_ID_MSIX  0x11

#define PCI_INTX_NONE 0
#define PCI_INTX_A    1

struct pci_cfg;

/* A BAR's address or the memory-enable bit changed (see pci_cfg_write);
 * the owner re-reads pci_cfg_bar_addr() for its BARs. */
typedef void (*pci_cfg_bar_fn)(void *opaque, struct pci_cfg *c);

/* Serves one access to a hooked capability: off is the offset in config
 * space (inside the capability), the access is valid and naturally
 * aligned. For the default behaviour call pci_cfg_default_read/write. */
typedef void (*pci_cap_fn)(void *opaque, struct pci_cfg *c, unsigned off, uint8_t *data,
                           uint32_t len, bool is_write);

struct pci_cfg_ids {
    uint16_t vendor, device;
    uint8_t revision;
    uint32_t class_code;       /* 3 bytes: base class << 16 | sub << 8 | prog-if */
    uint16_t subsys_vendor, subsys;
    uint8_t intx_pin;          /* PCI_INTX_NONE or PCI_INTX_A */
};

struct pci_cfg_cap {
    uint16_t off, len;         /* len rounded up to 4 */
    pci_cap_fn fn;             /* NULL: default access */
    void *opaque;
};

struct pci_cfg {
    uint8_t data[PCI_CFG_SIZE];    /* what reads return; the owner may fill its caps */
    uint8_t wmask[PCI_CFG_SIZE];
    uint8_t w1c[PCI_CFG_SIZE];
    uint64_t bar_size[PCI_NUM_BARS];  /* 0: unused (or the upper half of a 64-bit BAR) */
    uint8_t bar_flags[PCI_NUM_BARS];  /* PCI_BAR_MEM_TYPE_64 | PCI_BAR_PREFETCH */
    struct pci_cfg_cap cap[PCI_CFG_MAX_CAPS];
    int ncap;
    uint16_t cap_end;              /* first free byte for the next capability */
    pci_cfg_bar_fn bar_changed;
    void *opaque;
};

/* Header with ids, every BAR unused, no capabilities, Command zero.
 * bar_changed (may be NULL) runs with opaque after BAR/memory-enable
 * changes. 0 or -EINVAL (pin not NONE/A, class code > 24 bits). */
int pci_cfg_init(struct pci_cfg *c, const struct pci_cfg_ids *ids, pci_cfg_bar_fn bar_changed,
                 void *opaque);
/* Declare BAR i: a memory BAR of `size` bytes (power of two, >= 4 KiB,
 * <= 2 GiB for 32-bit), flags PCI_BAR_MEM_TYPE_64 and/or PCI_BAR_PREFETCH;
 * or, flags PCI_BAR_IO alone, an I/O BAR of 4..256 bytes (power of two) in
 * the 16-bit port space, decoded when Command's I/O enable is set.
 * A 64-bit BAR takes slots i and i+1. 0 or -EINVAL (bad index, size or
 * flags), -EBUSY (a slot is taken). */
int pci_cfg_bar_init(struct pci_cfg *c, unsigned i, uint64_t size, unsigned flags);
/* Preassign BAR i's address, as firmware would (no callback). 0 or
 * -EINVAL (no such BAR, addr not size-aligned, or above 4 GiB for 32-bit). */
int pci_cfg_bar_set_addr(struct pci_cfg *c, unsigned i, uint64_t addr);
/* True and *addr when BAR i decodes now: memory (I/O) enable set, address
 * non-zero, not the all-ones sizing pattern, and not wrapping. */
bool pci_cfg_bar_addr(const struct pci_cfg *c, unsigned i, uint64_t *addr);

/* Append a capability with `id` of `len` bytes (>= 2, counting the id and
 * next bytes) and return its offset, or -EINVAL (len < 2) or -ENOSPC (no
 * room below 0x100 or too many). It is linked at the end of the chain;
 * its body is zero and read-only. A vendor-specific cap (0x09) gets its
 * length byte (offset 2) set to len. */
int pci_cfg_cap_add(struct pci_cfg *c, uint8_t id, unsigned len);
/* Route every access to the capability at `off` to fn. 0 or -ENOENT. */
int pci_cfg_cap_set_hook(struct pci_cfg *c, unsigned off, pci_cap_fn fn, void *opaque);
/* Set the write mask of bytes [off, off+len) to mask (the owner's
 * writable capability fields). 0 or -EINVAL (outside config space). */
int pci_cfg_set_wmask(struct pci_cfg *c, unsigned off, unsigned len, uint8_t mask);
/* Set or clear the Status register's Interrupt Status bit (INTx level).
 * A config-space write like any other: same serialisation (the host's
 * lock). Guest writes never touch that byte (it has no writable bits). */
void pci_cfg_set_intx_status(struct pci_cfg *c, bool level);
/* The Command register. */
uint16_t pci_cfg_command(const struct pci_cfg *c);

/* A guest access (see the top comment for what is valid). Hooks run
 * for hooked capabilities; bar_changed runs once after a write that
 * changed any BAR's address bits or the memory-enable bit. */
void pci_cfg_read(struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len);
void pci_cfg_write(struct pci_cfg *c, unsigned off, const uint8_t *data, uint32_t len);
/* The access without hooks, masks applied (for hooks); same validity. */
void pci_cfg_default_read(const struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len);
void pci_cfg_default_write(struct pci_cfg *c, unsigned off, const uint8_t *data, uint32_t len);
#endif
