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

# arm64 testguest (ARCH=arm64), tests/kvm/guest/arm64/:
#   head.S       the Linux arm64 Image header ("ARM\x64" at 0x38), entry at
#                EL1 with x0 = DTB, self-relocation, exception vectors
#   main.c       DTB walk, identity-mapped MMU, PL011 console, PSCI, the
#                commands (see its top comment); with ../virtio.c for blk-*
#   image.ld     static PIE linked at 0; objcopy -O binary makes the Image
# Output: $(BUILD)/guest/testguest.Image.  Cross-compiled with
# aarch64-linux-gnu-gcc (GUEST_A64_CROSS) unless the host is arm64.
ifeq ($(ARCH),arm64)

GUEST_SRC        := tests/kvm/guest
GUEST_OUT        := $(BUILD)/guest
GUEST_A64_CROSS  ?= $(if $(filter aarch64,$(shell uname -m)),,aarch64-linux-gnu-)
GUEST_A64_CC     ?= $(GUEST_A64_CROSS)gcc
GUEST_A64_LD     ?= $(GUEST_A64_CROSS)ld
GUEST_A64_OBJCOPY?= $(GUEST_A64_CROSS)objcopy
GUEST_A64_CFLAGS := -std=gnu11 $(WARN) -O2 -ffreestanding -fno-builtin -nostdlib \
                    -fpie -fno-stack-protector -fno-asynchronous-unwind-tables \
                    -fno-tree-loop-distribute-patterns -mgeneral-regs-only -mstrict-align \
                    -mbranch-protection=none -MMD -MP
GUEST_A64_OBJ    := $(GUEST_OUT)/a64-head.o $(GUEST_OUT)/a64-main.o $(GUEST_OUT)/a64-virtio.o

$(GUEST_OUT)/a64-head.o: $(GUEST_SRC)/arm64/head.S
	@mkdir -p $(dir $@)
	$(GUEST_A64_CC) $(GUEST_A64_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/a64-main.o: $(GUEST_SRC)/arm64/main.c
	@mkdir -p $(dir $@)
	$(GUEST_A64_CC) $(GUEST_A64_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/a64-virtio.o: $(GUEST_SRC)/virtio.c
	@mkdir -p $(dir $@)
	$(GUEST_A64_CC) $(GUEST_A64_CFLAGS) -c -o $@ $<

# Only R_AARCH64_RELATIVE relocations may remain: head.S applies no others.
$(GUEST_OUT)/testguest-a64.elf: $(GUEST_A64_OBJ) $(GUEST_SRC)/arm64/image.ld
	$(GUEST_A64_LD) -pie --no-dynamic-linker -z text -z noexecstack --no-warn-rwx-segments --build-id=none \
		-T $(GUEST_SRC)/arm64/image.ld -o $@ $(GUEST_A64_OBJ)
	@if $(GUEST_A64_CROSS)readelf -rW $@ | awk '/^ *[0-9a-f]+ +[0-9a-f]+ R_/ && $$3 != "R_AARCH64_RELATIVE"' | grep -q .; then \
		echo "$@: relocations other than R_AARCH64_RELATIVE"; rm -f $@; exit 1; fi

$(GUEST_OUT)/testguest.Image: $(GUEST_OUT)/testguest-a64.elf
	$(GUEST_A64_OBJCOPY) -O binary $< $@

tests: $(GUEST_OUT)/testguest.Image

endif
