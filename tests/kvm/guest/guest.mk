# testguest: the tier-2 freestanding x86 guest, included by the top Makefile.
#
#   guest.c      console, command line, most commands; compiled twice:
#                64-bit for the bzImage, 32-bit (-m32) for the PVH ELF
#   virtio.c     polled virtio-mmio + virtio-blk driver (blk-* commands),
#                compiled twice the same way; guest.h is what they share
#   entry64.S    bzImage boot header + 64-bit entry (RSI = boot_params)
#   entry32.S    Xen PVH note + 32-bit entry (EBX = hvm_start_info)
#   bzimage.ld   header just below 0x100000, payload at 0x100000, entry at
#                +0x200; objcopy -O binary makes the bzImage file
#   pvh.ld       ELF32 at 0x100000 with a PT_NOTE for the entry
#
# Outputs: $(BUILD)/guest/testguest.bzImage and testguest.elf.  The kernel
# command line picks what the guest does: see the top of guest.c.  Never
# built with sanitizers: it uses GUEST_CFLAGS, not CFLAGS.
ifeq ($(ARCH),x86_64)

GUEST_SRC     := tests/kvm/guest
GUEST_OUT     := $(BUILD)/guest
GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_CFLAGS  := -std=gnu11 $(WARN) -O2 -ffreestanding -fno-builtin -nostdlib \
                 -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
                 -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns \
                 -mgeneral-regs-only -mno-red-zone -MMD -MP
GUEST_LDFLAGS := -static -nostdlib -z noexecstack --build-id=none

$(GUEST_OUT)/%64.o: $(GUEST_SRC)/%64.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/%32.o: $(GUEST_SRC)/%32.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_CFLAGS) -c -o $@ $<

GUEST_C       := guest virtio
GUEST_OBJ64   := $(GUEST_C:%=$(GUEST_OUT)/%64.o)
GUEST_OBJ32   := $(GUEST_C:%=$(GUEST_OUT)/%32.o)

$(GUEST_OBJ64): $(GUEST_OUT)/%64.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m64 -mcmodel=small $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ32): $(GUEST_OUT)/%32.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/testguest-bz.elf: $(GUEST_OUT)/entry64.o $(GUEST_OBJ64) $(GUEST_SRC)/bzimage.ld
	$(GUEST_LD) -m elf_x86_64 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/bzimage.ld -o $@ \
		$(GUEST_OUT)/entry64.o $(GUEST_OBJ64)

$(GUEST_OUT)/testguest.bzImage: $(GUEST_OUT)/testguest-bz.elf
	$(GUEST_OBJCOPY) -O binary $< $@

$(GUEST_OUT)/testguest.elf: $(GUEST_OUT)/entry32.o $(GUEST_OBJ32) $(GUEST_SRC)/pvh.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/pvh.ld -o $@ \
		$(GUEST_OUT)/entry32.o $(GUEST_OBJ32)

tests: $(GUEST_OUT)/testguest.bzImage $(GUEST_OUT)/testguest.elf

endif
