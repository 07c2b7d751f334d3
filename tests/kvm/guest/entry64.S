/* bzImage variant: the Linux boot-protocol header and the 64-bit entry.
 *
 * .setup is the first 1024 bytes of the file: the boot sector (only its
 * last bytes, the start of the setup header, matter) plus one setup sector
 * holding the rest of the header.  bzimage.ld places it just below
 * 0x100000 so that objcopy -O binary writes it before the payload, and
 * supplies the sizes (_syssize, _init_size) the header needs.
 * No real-mode setup code: a loader must use the 64-bit entry.
 */
#define SETUP_SECTS 1

	.section .setup, "a"
setup_start:
	.org 0x1f1
	.byte SETUP_SECTS               /* 0x1f1 setup_sects */
	.word 0                         /* 0x1f2 root_flags */
	.long _syssize                  /* 0x1f4 syssize, 16-byte units */
	.word 0                         /* 0x1f8 ram_size (obsolete) */
	.word 0xffff                    /* 0x1fa vid_mode: normal */
	.word 0                         /* 0x1fc root_dev */
	.word 0xaa55                    /* 0x1fe boot_flag */
	.byte 0xeb, 0xfe                /* 0x200 jump: real mode spins */
	.ascii "HdrS"                   /* 0x202 header */
	.word 0x020c                    /* 0x206 version 2.12 */
	.long 0                         /* 0x208 realmode_swtch */
	.word 0                         /* 0x20c start_sys_seg */
	.word version_str - setup_start - 0x200 /* 0x20e kernel_version */
	.byte 0                         /* 0x210 type_of_loader */
	.byte 0x01                      /* 0x211 loadflags: LOADED_HIGH */
	.word 0                         /* 0x212 setup_move_size */
	.long 0x100000                  /* 0x214 code32_start */
	.long 0                         /* 0x218 ramdisk_image */
	.long 0                         /* 0x21c ramdisk_size */
	.long 0                         /* 0x220 bootsect_kludge */
	.word 0                         /* 0x224 heap_end_ptr */
	.byte 0                         /* 0x226 ext_loader_ver */
	.byte 0                         /* 0x227 ext_loader_type */
	.long 0                         /* 0x228 cmd_line_ptr */
	.long 0x7fffffff                /* 0x22c initrd_addr_max */
	.long 0x200000                  /* 0x230 kernel_alignment */
	.byte 0                         /* 0x234 relocatable_kernel: no */
	.byte 21                        /* 0x235 min_alignment: 2 MiB */
	.word 0x0001                    /* 0x236 xloadflags: XLF_KERNEL_64 */
	.long 2047                      /* 0x238 cmdline_size */
	.long 0                         /* 0x23c hardware_subarch: PC */
	.quad 0                         /* 0x240 hardware_subarch_data */
	.long 0                         /* 0x248 payload_offset */
	.long 0                         /* 0x24c payload_length */
	.quad 0                         /* 0x250 setup_data */
	.quad 0x100000                  /* 0x258 pref_address */
	.long _init_size                /* 0x260 init_size */
	.long 0                         /* 0x264 handover_offset */
version_str:
	.asciz "arcvmm testguest"
	.org (SETUP_SECTS + 1) * 512

/* The payload, loaded at 0x100000.  A 32-bit entry would be at its start;
 * there is none, so that spins.  The 64-bit entry must be at +0x200. */
	.section .text.head, "ax"
	.code32
1:	pause
	jmp 1b

	.org 0x200
	.code64
	.globl entry64
entry64:                                /* long mode, RSI = boot_params */
	cli
	cld
	mov $stack_top, %esp            /* zero-extends: we live below 4 GiB */
	mov $__bss_start, %edi          /* zero .bss (rep stosb keeps RSI) */
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb
	mov %rsi, %rdi
	call bzimage_main               /* does not return */
2:	pause
	jmp 2b

	.section .bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
