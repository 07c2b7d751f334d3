/* PVH variant: the Xen ELF note that names the 32-bit entry, and the entry.
 * A PVH loader enters in 32-bit protected mode, paging off, flat
 * segments, EBX = hvm_start_info.  The C code runs in this mode as is.
 */
#define XEN_ELFNOTE_PHYS32_ENTRY 18

	.section .note.xen, "a", @note
	.balign 4
	.long 4                         /* namesz */
	.long 4                         /* descsz */
	.long XEN_ELFNOTE_PHYS32_ENTRY  /* type */
	.asciz "Xen"                    /* name */
	.balign 4
	.long pvh_entry                 /* desc: the entry's physical address */
	.balign 4

	.section .text.head, "ax"
	.code32
	.globl pvh_entry
pvh_entry:
	cli
	cld
	mov $stack_top, %esp
	mov $__bss_start, %edi          /* zero .bss (rep stosb keeps EBX) */
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb
	sub $12, %esp                   /* keep ESP 16-byte aligned at the call */
	push %ebx
	call pvh_main                   /* does not return */
1:	pause
	jmp 1b

	.section .bss
	.balign 16
	.space 16384
stack_top:

	.section .note.GNU-stack, "", @progbits
