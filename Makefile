# arcvmm build.  `make` builds build/arcvmm; `make SAN=1` builds an
# ASan+UBSan variant under build/asan/.  `make check-unit` runs tier 1.
# `make ARCH=arm64` on an x86_64 host cross-compiles a static arm64 build
# into build/arm64/ (needs `scripts/setup.sh --arm64`); on an arm64 host a
# plain `make` builds natively into build/.
HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
ARCH     ?= $(HOST_ARCH)
SAN      ?= 0
CC       ?= cc
ifeq ($(ARCH),$(HOST_ARCH))
CROSS    :=
BUILD    := build$(if $(filter 1,$(SAN)),/asan)
else
CROSS    := 1
ifeq ($(SAN),1)
$(error SAN=1 is not supported when cross-compiling (ARCH=$(ARCH) on $(HOST_ARCH)))
endif
CROSS_COMPILE_arm64  := aarch64-linux-gnu-
CROSS_COMPILE_x86_64 := x86_64-linux-gnu-
CROSS_COMPILE ?= $(CROSS_COMPILE_$(ARCH))
ifeq ($(origin CC),default)
CC       := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR       := $(CROSS_COMPILE)ar
endif
BUILD    := build/$(ARCH)
endif

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -pthread -MMD -MP
LDFLAGS  += -pthread $(if $(CROSS),-static)
LDLIBS   := -luring -ljansson $(if $(filter arm64,$(ARCH)),-lfdt)
# libslirp (user-mode networking, --net user): Debian ships it shared only,
# so the static cross build goes without it (--net user is then refused).
SLIRP    ?= $(if $(CROSS),0,1)
ifeq ($(SLIRP),1)
CFLAGS   += -DARCVMM_HAVE_SLIRP
LDLIBS   += -lslirp
endif
ifeq ($(SAN),1)
CFLAGS   += -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif

ARCH_DIR := $(if $(filter x86_64,$(ARCH)),x86,$(ARCH))
# Every .c under src/ except main.c and the other architectures' files.
LIB_SRC  := $(filter-out src/main.c,$(shell find src -name '*.c' \
              -not -path 'src/arch/*' -not -name 'kvm_*.c' | sort)) \
            $(wildcard src/arch/$(ARCH_DIR)/*.c) $(wildcard src/hv/kvm_$(ARCH_DIR).c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
# Programs tied to one architecture's guest or boot code (named *arm64* for
# arm64) are built for that architecture only.
X86_ONLY   := bench/exitcost.c
ARM64_ONLY := $(wildcard bench/*arm64*.c tests/kvm/*arm64*.c tests/e2e/*arm64*.c)
OTHER_ONLY := $(if $(filter x86_64,$(ARCH)),$(ARM64_ONLY),$(if $(filter arm64,$(ARCH)),$(X86_ONLY)))
KVM_SRC  := $(filter-out $(OTHER_ONLY),$(wildcard tests/kvm/test_*.c))
KVM_BIN  := $(KVM_SRC:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
E2E_SRC  := $(filter-out $(OTHER_ONLY),$(wildcard tests/e2e/*.c))
E2E_BIN  := $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/e2e/%)
BENCH_SRC:= $(filter-out $(OTHER_ONLY),$(wildcard bench/*.c))
BENCH_BIN:= $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

.PHONY: all tests check-unit clean guest-images
all: $(BUILD)/arcvmm

$(BUILD)/libarcvmm.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BUILD)/arcvmm: $(BUILD)/src/main.o $(BUILD)/libarcvmm.a
	$(CC) -o $@ $^ $(LDFLAGS) $(LDLIBS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# A unit test may also link extra objects (prerequisites ending in .o) and
# libraries (UNIT_LIBS), e.g. another architecture's pure builders below.
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(filter %.o,$^) $(BUILD)/libarcvmm.a $(LDFLAGS) \
		$(UNIT_LIBS) $(LDLIBS)

# The other architecture's pure boot builders are unit-tested on every host:
# their sources are compiled for this host and linked into their tests.
ARM64_PURE := src/arch/arm64/boot.c src/arch/arm64/fdt.c
X86_PURE   := src/arch/x86/boot.c src/arch/x86/acpi.c src/arch/x86/aml.c src/arch/x86/resetvec.c
ifneq ($(ARCH),arm64)
$(BUILD)/tests/unit/test_arm64_boot: $(ARM64_PURE:%.c=$(BUILD)/%.o)
$(BUILD)/tests/unit/test_arm64_boot: UNIT_LIBS := -lfdt
endif
ifneq ($(ARCH),x86_64)
$(BUILD)/tests/unit/test_x86_boot $(BUILD)/tests/unit/test_acpi $(BUILD)/tests/unit/test_aml \
$(BUILD)/tests/unit/test_reset_cf9: \
	$(X86_PURE:%.c=$(BUILD)/%.o)
endif

$(BUILD)/tests/kvm/%: tests/kvm/%.c tests/kvm/kvmtest.h $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm.a $(LDFLAGS) $(KVM_LDFLAGS) $(LDLIBS)

# test_lifecycle checks every pthread_kill/join of the library's threads.
$(BUILD)/tests/kvm/test_lifecycle: KVM_LDFLAGS := \
	-Wl,--wrap=pthread_kill,--wrap=pthread_join,--wrap=pthread_timedjoin_np

$(BUILD)/tests/e2e/%: tests/e2e/%.c tests/kvm/kvmtest.h $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm.a $(LDFLAGS) $(LDLIBS)

tests: $(BUILD)/arcvmm $(UNIT_BIN) $(KVM_BIN) $(E2E_BIN) $(BENCH_BIN)

check-unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The freestanding tier-2 guest (bzImage + PVH ELF), see tests/kvm/guest/.
-include tests/kvm/guest/guest.mk
# libFuzzer targets (clang): `make fuzz`, run by tests/fuzz/run.sh.
-include tests/fuzz/fuzz.mk

clean:
	rm -rf build

-include $(shell find build -name '*.d' -type f 2>/dev/null)
