/* arm64 testguest: the Linux arm64 Image header, the entry and the
 * exception vectors.
 *
 * Boot protocol (Documentation/arm64/booting.rst): the loader puts the
 * Image at a 2 MiB-aligned address + text_offset (0) and enters the first
 * instruction at EL1, MMU off, with x0 = the DTB's physical address.  The
 * image is linked at 0 as a static PIE and applies its own
 * R_AARCH64_RELATIVE relocations, so any load address works.
 */
#define R_AARCH64_RELATIVE 1027

/* The header's first 8 bytes; image.ld writes the rest of the 64 (its
 * image_size must be a link-time constant, which a PIE cannot have in an
 * assembler .quad without a dynamic relocation). */
	.section .head.code0, "ax"
	.globl _start
_start:
	b	entry                   /* 0x00 code0 */
	.long	0                       /* 0x04 code1 */

	.section .head.text, "ax"
	.globl entry
entry:
	mov	x19, x0                 /* DTB */
	msr	daifset, #0xf           /* no interrupts, ever */
	adr	x20, _start             /* load address = relocation delta */

	/* Relocate: *(delta + r_offset) = delta + r_addend. */
	adr	x1, __rela_start
	adr	x2, __rela_end
1:	cmp	x1, x2
	b.hs	2f
	ldp	x3, x4, [x1], #16       /* r_offset, r_info */
	ldr	x5, [x1], #8            /* r_addend */
	cmp	w4, #R_AARCH64_RELATIVE
	b.ne	1b
	add	x5, x5, x20
	str	x5, [x3, x20]
	b	1b
2:
	/* Zero .bss (it holds the stack), then take the stack. */
	adr	x1, __bss_start
	adr	x2, __bss_end
3:	cmp	x1, x2
	b.hs	4f
	stp	xzr, xzr, [x1], #16
	b	3b
4:	adr	x1, stack_top
	mov	sp, x1
	adr	x1, vectors
	msr	vbar_el1, x1
	isb
	mov	x0, x19
	mov	x1, x20
	bl	arm64_main              /* does not return */
5:	wfi
	b	5b

/* Every exception reports itself (guest_exception in main.c) and powers
 * the guest off: nothing here is expected to trap. */
	.macro	vec n
	.balign	0x80
	mov	x0, #\n
	b	exc_common
	.endm

	.text
	.balign	0x800
vectors:
	vec 0
	vec 1
	vec 2
	vec 3
	vec 4
	vec 5
	vec 6
	vec 7
	vec 8
	vec 9
	vec 10
	vec 11
	vec 12
	vec 13
	vec 14
	vec 15

exc_common:
	adr	x1, stack_top           /* a fresh stack: the old one may be bad */
	mov	sp, x1
	mrs	x1, esr_el1
	mrs	x2, elr_el1
	mrs	x3, far_el1
	bl	guest_exception         /* does not return */
6:	wfi
	b	6b

	.section .bss
	.balign	16
	.space	16384
stack_top:

	.section .note.GNU-stack, "", @progbits
