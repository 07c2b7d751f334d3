/* Guest ABI structures for booting Linux on x86: the boot_params "zero page"
 * with its setup header (Linux x86 boot protocol, Documentation/arch/x86/
 * boot.rst and zero-page.rst) and the PVH start info (Xen public header
 * arch-x86/hvm/start_info.h). Written from those documents; every offset
 * is pinned by a _Static_assert. All fields are little-endian and the
 * structures are packed: they are byte images of guest memory. */
#ifndef ARCVMM_X86_BOOTPARAM_H
#define ARCVMM_X86_BOOTPARAM_H
#include <stddef.h>
#include <stdint.h>

/* ---- Linux boot protocol ------------------------------------------------ */

#define BOOT_FLAG_MAGIC        0xaa55       /* setup_header.boot_flag */
#define BOOT_HDRS_MAGIC        0x53726448u  /* "HdrS" as a LE u32 */

/* setup_header.loadflags */
#define BOOT_LOADED_HIGH       0x01
#define BOOT_KASLR_FLAG        0x02
#define BOOT_QUIET_FLAG        0x20
#define BOOT_KEEP_SEGMENTS     0x40
#define BOOT_CAN_USE_HEAP      0x80

/* setup_header.xloadflags */
#define BOOT_XLF_KERNEL_64                 0x0001
#define BOOT_XLF_CAN_BE_LOADED_ABOVE_4G    0x0002
#define BOOT_XLF_EFI_HANDOVER_32           0x0004
#define BOOT_XLF_EFI_HANDOVER_64           0x0008
#define BOOT_XLF_EFI_KEXEC                 0x0010

/* e820 entry types */
#define BOOT_E820_RAM          1
#define BOOT_E820_RESERVED     2
#define BOOT_E820_ACPI         3
#define BOOT_E820_NVS          4
#define BOOT_E820_UNUSABLE     5

#define BOOT_E820_MAX          128   /* entries in boot_params.e820_table */

/* The real-mode kernel header. Offsets in the comments are relative to the
 * start of the zero page / kernel image (the header lives at 0x1f1). */
struct setup_header {
    uint8_t  setup_sects;           /* 0x1f1 */
    uint16_t root_flags;            /* 0x1f2 */
    uint32_t syssize;               /* 0x1f4 */
    uint16_t ram_size;              /* 0x1f8 */
    uint16_t vid_mode;              /* 0x1fa */
    uint16_t root_dev;              /* 0x1fc */
    uint16_t boot_flag;             /* 0x1fe */
    uint16_t jump;                  /* 0x200 */
    uint32_t header;                /* 0x202 "HdrS" */
    uint16_t version;               /* 0x206 */
    uint32_t realmode_swtch;        /* 0x208 */
    uint16_t start_sys_seg;         /* 0x20c */
    uint16_t kernel_version;        /* 0x20e */
    uint8_t  type_of_loader;        /* 0x210 */
    uint8_t  loadflags;             /* 0x211 */
    uint16_t setup_move_size;       /* 0x212 */
    uint32_t code32_start;          /* 0x214 */
    uint32_t ramdisk_image;         /* 0x218 */
    uint32_t ramdisk_size;          /* 0x21c */
    uint32_t bootsect_kludge;       /* 0x220 */
    uint16_t heap_end_ptr;          /* 0x224 */
    uint8_t  ext_loader_ver;        /* 0x226 */
    uint8_t  ext_loader_type;       /* 0x227 */
    uint32_t cmd_line_ptr;          /* 0x228 */
    uint32_t initrd_addr_max;       /* 0x22c */
    uint32_t kernel_alignment;      /* 0x230 */
    uint8_t  relocatable_kernel;    /* 0x234 */
    uint8_t  min_alignment;         /* 0x235 */
    uint16_t xloadflags;            /* 0x236 */
    uint32_t cmdline_size;          /* 0x238 */
    uint32_t hardware_subarch;      /* 0x23c */
    uint64_t hardware_subarch_data; /* 0x240 */
    uint32_t payload_offset;        /* 0x248 */
    uint32_t payload_length;        /* 0x24c */
    uint64_t setup_data;            /* 0x250 */
    uint64_t pref_address;          /* 0x258 */
    uint32_t init_size;             /* 0x260 */
    uint32_t handover_offset;       /* 0x264 */
    uint32_t kernel_info_offset;    /* 0x268 */
} __attribute__((packed));

struct boot_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* The zero page (4 KiB). Opaque firmware blobs we never fill are byte
 * arrays of their documented size. */
struct boot_params {
    uint8_t  screen_info[0x40];               /* 0x000 */
    uint8_t  apm_bios_info[0x14];             /* 0x040 */
    uint8_t  _pad1[4];                        /* 0x054 */
    uint64_t tboot_addr;                      /* 0x058 */
    uint8_t  ist_info[0x10];                  /* 0x060 */
    uint64_t acpi_rsdp_addr;                  /* 0x070 */
    uint8_t  _pad2[8];                        /* 0x078 */
    uint8_t  hd0_info[0x10];                  /* 0x080 */
    uint8_t  hd1_info[0x10];                  /* 0x090 */
    uint8_t  sys_desc_table[0x10];            /* 0x0a0 */
    uint8_t  olpc_ofw_header[0x10];           /* 0x0b0 */
    uint32_t ext_ramdisk_image;               /* 0x0c0 */
    uint32_t ext_ramdisk_size;                /* 0x0c4 */
    uint32_t ext_cmd_line_ptr;                /* 0x0c8 */
    uint8_t  _pad3[0x13c - 0x0cc];            /* 0x0cc */
    uint32_t cc_blob_address;                 /* 0x13c */
    uint8_t  edid_info[0x80];                 /* 0x140 */
    uint8_t  efi_info[0x20];                  /* 0x1c0 */
    uint32_t alt_mem_k;                       /* 0x1e0 */
    uint32_t scratch;                         /* 0x1e4 */
    uint8_t  e820_entries;                    /* 0x1e8 */
    uint8_t  eddbuf_entries;                  /* 0x1e9 */
    uint8_t  edd_mbr_sig_buf_entries;         /* 0x1ea */
    uint8_t  kbd_status;                      /* 0x1eb */
    uint8_t  secure_boot;                     /* 0x1ec */
    uint8_t  _pad4[2];                        /* 0x1ed */
    uint8_t  sentinel;                        /* 0x1ef */
    uint8_t  _pad5[1];                        /* 0x1f0 */
    struct setup_header hdr;                  /* 0x1f1 */
    uint8_t  _pad6[0x290 - 0x26c];            /* 0x26c */
    uint32_t edd_mbr_sig_buffer[16];          /* 0x290 */
    struct boot_e820_entry e820_table[BOOT_E820_MAX]; /* 0x2d0 */
    uint8_t  _pad7[0xd00 - 0xcd0];            /* 0xcd0 */
    uint8_t  eddbuf[0x1ec];                   /* 0xd00 */
    uint8_t  _pad8[0x1000 - 0xeec];           /* 0xeec */
} __attribute__((packed));

_Static_assert(sizeof(struct boot_e820_entry) == 20, "e820 entry size");
_Static_assert(sizeof(struct setup_header) == 0x26c - 0x1f1, "setup_header size");
_Static_assert(offsetof(struct setup_header, boot_flag) == 0x1fe - 0x1f1, "boot_flag");
_Static_assert(offsetof(struct setup_header, header) == 0x202 - 0x1f1, "header");
_Static_assert(offsetof(struct setup_header, version) == 0x206 - 0x1f1, "version");
_Static_assert(offsetof(struct setup_header, type_of_loader) == 0x210 - 0x1f1, "type_of_loader");
_Static_assert(offsetof(struct setup_header, ramdisk_image) == 0x218 - 0x1f1, "ramdisk_image");
_Static_assert(offsetof(struct setup_header, heap_end_ptr) == 0x224 - 0x1f1, "heap_end_ptr");
_Static_assert(offsetof(struct setup_header, cmd_line_ptr) == 0x228 - 0x1f1, "cmd_line_ptr");
_Static_assert(offsetof(struct setup_header, initrd_addr_max) == 0x22c - 0x1f1, "initrd_addr_max");
_Static_assert(offsetof(struct setup_header, xloadflags) == 0x236 - 0x1f1, "xloadflags");
_Static_assert(offsetof(struct setup_header, cmdline_size) == 0x238 - 0x1f1, "cmdline_size");
_Static_assert(offsetof(struct setup_header, setup_data) == 0x250 - 0x1f1, "setup_data");
_Static_assert(offsetof(struct setup_header, pref_address) == 0x258 - 0x1f1, "pref_address");
_Static_assert(offsetof(struct setup_header, init_size) == 0x260 - 0x1f1, "init_size");
_Static_assert(offsetof(struct setup_header, kernel_info_offset) == 0x268 - 0x1f1, "kernel_info_offset");
_Static_assert(sizeof(struct boot_params) == 0x1000, "boot_params size");
_Static_assert(offsetof(struct boot_params, tboot_addr) == 0x058, "tboot_addr");
_Static_assert(offsetof(struct boot_params, acpi_rsdp_addr) == 0x070, "acpi_rsdp_addr");
_Static_assert(offsetof(struct boot_params, ext_ramdisk_image) == 0x0c0, "ext_ramdisk_image");
_Static_assert(offsetof(struct boot_params, ext_cmd_line_ptr) == 0x0c8, "ext_cmd_line_ptr");
_Static_assert(offsetof(struct boot_params, cc_blob_address) == 0x13c, "cc_blob_address");
_Static_assert(offsetof(struct boot_params, edid_info) == 0x140, "edid_info");
_Static_assert(offsetof(struct boot_params, alt_mem_k) == 0x1e0, "alt_mem_k");
_Static_assert(offsetof(struct boot_params, e820_entries) == 0x1e8, "e820_entries");
_Static_assert(offsetof(struct boot_params, sentinel) == 0x1ef, "sentinel");
_Static_assert(offsetof(struct boot_params, hdr) == 0x1f1, "hdr");
_Static_assert(offsetof(struct boot_params, edd_mbr_sig_buffer) == 0x290, "edd_mbr_sig_buffer");
_Static_assert(offsetof(struct boot_params, e820_table) == 0x2d0, "e820_table");
_Static_assert(offsetof(struct boot_params, eddbuf) == 0xd00, "eddbuf");

/* ---- PVH (Xen HVM direct boot) start info ------------------------------- */

#define HVM_START_MAGIC        0x336ec578u
#define HVM_START_VERSION      1          /* adds memmap_paddr/entries */

/* hvm_memmap_table_entry.type */
#define HVM_MEMMAP_RAM         1
#define HVM_MEMMAP_RESERVED    2
#define HVM_MEMMAP_ACPI        3
#define HVM_MEMMAP_NVS         4
#define HVM_MEMMAP_UNUSABLE    5
#define HVM_MEMMAP_DISABLED    6
#define HVM_MEMMAP_PMEM        7

/* ELF note carrying the 32-bit PVH entry point. */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct hvm_start_info {
    uint32_t magic;            /* 0x00 HVM_START_MAGIC */
    uint32_t version;          /* 0x04 */
    uint32_t flags;            /* 0x08 SIF_* */
    uint32_t nr_modules;       /* 0x0c */
    uint64_t modlist_paddr;    /* 0x10 array of hvm_modlist_entry */
    uint64_t cmdline_paddr;    /* 0x18 NUL-terminated ASCII */
    uint64_t rsdp_paddr;       /* 0x20 ACPI RSDP, 0 if none */
    uint64_t memmap_paddr;     /* 0x28 (version >= 1) */
    uint32_t memmap_entries;   /* 0x30 (version >= 1) */
    uint32_t reserved;         /* 0x34 must be zero */
} __attribute__((packed));

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
} __attribute__((packed));

struct hvm_memmap_table_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
} __attribute__((packed));

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info size");
_Static_assert(offsetof(struct hvm_start_info, modlist_paddr) == 0x10, "modlist_paddr");
_Static_assert(offsetof(struct hvm_start_info, rsdp_paddr) == 0x20, "rsdp_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_paddr) == 0x28, "memmap_paddr");
_Static_assert(offsetof(struct hvm_start_info, memmap_entries) == 0x30, "memmap_entries");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry size");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry size");
_Static_assert(offsetof(struct hvm_memmap_table_entry, type) == 16, "memmap type");
#endif
