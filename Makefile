# arcvmm build.  `make` builds build/arcvmm; `make SAN=1` builds an
# ASan+UBSan variant under build/asan/.  `make check-unit` runs tier 1.
ARCH     ?= $(shell uname -m | sed -e 's/aarch64/arm64/')
SAN      ?= 0
CC       ?= cc
BUILD    := build$(if $(filter 1,$(SAN)),/asan)

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -pthread -MMD -MP
LDFLAGS  += -pthread
LDLIBS   := -luring
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
KVM_SRC  := $(wildcard tests/kvm/test_*.c)
KVM_BIN  := $(KVM_SRC:tests/kvm/%.c=$(BUILD)/tests/kvm/%)
E2E_SRC  := $(wildcard tests/e2e/*.c)
E2E_BIN  := $(E2E_SRC:tests/e2e/%.c=$(BUILD)/tests/e2e/%)
BENCH_SRC:= $(wildcard bench/*.c)
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

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/tests/kvm/%: tests/kvm/%.c tests/kvm/kvmtest.h $(BUILD)/libarcvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm.a $(LDFLAGS) $(LDLIBS)

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

-include $(shell find build -name '*.d' 2>/dev/null)
