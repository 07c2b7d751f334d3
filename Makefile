# arcvmm build.  `make` builds build/arcvmm; `make SAN=1` builds an
# ASan+UBSan variant under build/asan/.  `make check-unit` runs tier 1.
# `make ARCH=arm64` on an x86_64 host cross-compiles a static arm64 build
# into build/arm64/ (needs `scripts/setup.sh --arm64`); on an arm64 host a
# plain `make` builds natively into build/.  `make install [PREFIX=/usr/local]
# [DESTDIR=]` installs the binary, the library (static and shared), its
# header, arcvmm.pc and the man page.
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
OBJCOPY  ?= $(CROSS_COMPILE)objcopy
NM       ?= $(CROSS_COMPILE)nm

WARN     := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 $(WARN) -D_GNU_SOURCE -Iinclude -Isrc -pthread -MMD -MP
# One set of objects serves the binary, both libraries and the tests: -fPIC
# for the shared library, and every name hidden unless arcvmm.h marks it
# ARCVMM_API, so the library's internal names never reach a user's program.
CFLAGS   += -fPIC -fvisibility=hidden
LDFLAGS  += -pthread $(if $(CROSS),-static)
LDLIBS   := -luring -ljansson $(if $(filter arm64,$(ARCH)),-lfdt)
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

# The library a user links: everything but the CLI and the API server
# (main's), with only the arcvmm_* names of include/arcvmm.h global.
VERSION  := $(shell sed -n 's/^\#define ARCVMM_VERSION "\(.*\)"$$/\1/p' include/arcvmm.h)
SOMAJOR  := 0
PUB_OBJ  := $(filter-out $(BUILD)/src/api/% $(BUILD)/src/cli/%,$(LIB_OBJ))
SONAME   := libarcvmm.so.$(SOMAJOR)
# The shared library is built natively only (the cross build is static),
# and never with sanitizers.
SHARED   := $(if $(CROSS)$(filter 1,$(SAN)),,1)
LIB_OUT  := $(BUILD)/libarcvmm.a $(if $(SHARED),$(BUILD)/libarcvmm.so.$(VERSION))

.PHONY: all tests check-unit clean guest-images install uninstall
all: $(BUILD)/arcvmm $(LIB_OUT)

# The project's own binary and tests link the internals from this archive.
$(BUILD)/libarcvmm-internal.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# The public archive: one relocatable object whose hidden names are made
# local, so a program may define its own log_msg or file_check.
$(BUILD)/libarcvmm.a: $(PUB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -r -nostdlib -o $(BUILD)/libarcvmm-r.o $^
	$(OBJCOPY) --localize-hidden $(BUILD)/libarcvmm-r.o $(BUILD)/libarcvmm.o
	rm -f $@ $(BUILD)/libarcvmm-r.o
	@if $(NM) -g --defined-only $(BUILD)/libarcvmm.o | awk 'NF == 3 && $$3 !~ /^arcvmm_/' | grep .; then \
		echo "$@: global names other than arcvmm_* (above): make them static or hidden"; exit 1; fi
	$(AR) rcs $@ $(BUILD)/libarcvmm.o

$(BUILD)/libarcvmm.so.$(VERSION): $(PUB_OBJ) src/libarcvmm.map
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=src/libarcvmm.map \
		-Wl,--no-undefined -Wl,--as-needed -o $@ $(PUB_OBJ) \
		$(filter-out -static,$(LDFLAGS)) $(LDLIBS)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libarcvmm.so

$(BUILD)/arcvmm: $(BUILD)/src/main.o $(BUILD)/libarcvmm-internal.a
	$(CC) -o $@ $^ $(LDFLAGS) $(LDLIBS)

# Objects are rebuilt when the compiler or its flags change (a build
# directory from before -fPIC, say): the stamp is rewritten only then.
FLAGS_STAMP := $(BUILD)/.cflags
$(shell mkdir -p $(BUILD) && echo '$(CC) $(CFLAGS)' | cmp -s - $(FLAGS_STAMP) || \
        echo '$(CC) $(CFLAGS)' > $(FLAGS_STAMP))

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# A unit test may also link extra objects (prerequisites ending in .o) and
# libraries (UNIT_LIBS), e.g. another architecture's pure builders below.
$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/libarcvmm-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(filter %.o,$^) $(BUILD)/libarcvmm-internal.a $(LDFLAGS) \
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

$(BUILD)/tests/kvm/%: tests/kvm/%.c tests/kvm/kvmtest.h $(BUILD)/libarcvmm-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm-internal.a $(LDFLAGS) $(KVM_LDFLAGS) $(LDLIBS)

# test_lifecycle checks every pthread_kill/join of the library's threads.
$(BUILD)/tests/kvm/test_lifecycle: KVM_LDFLAGS := \
	-Wl,--wrap=pthread_kill,--wrap=pthread_join,--wrap=pthread_timedjoin_np

$(BUILD)/tests/e2e/%: tests/e2e/%.c tests/kvm/kvmtest.h $(BUILD)/libarcvmm-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm-internal.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libarcvmm-internal.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libarcvmm-internal.a $(LDFLAGS) $(LDLIBS)

tests: $(BUILD)/arcvmm $(LIB_OUT) $(UNIT_BIN) $(KVM_BIN) $(E2E_BIN) $(BENCH_BIN)

check-unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

# The freestanding tier-2 guest (bzImage + PVH ELF), see tests/kvm/guest/.
-include tests/kvm/guest/guest.mk
# libFuzzer targets (clang): `make fuzz`, run by tests/fuzz/run.sh.
-include tests/fuzz/fuzz.mk

# Install: PREFIX (default /usr/local) is where the files will live and
# what arcvmm.pc names; DESTDIR (a staging root) is prepended to every path.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR     ?= $(PREFIX)/share/man
INSTALL    ?= install

# arcvmm.pc names the install paths: it is written at every install.
# Libs.private is what a static link needs: LDLIBS as the binary uses it.
install: all
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|' -e 's|@LIBS_PRIVATE@|$(strip $(LDLIBS)) -pthread|' \
	    arcvmm.pc.in > $(BUILD)/arcvmm.pc
	$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR) \
		$(DESTDIR)$(MANDIR)/man1
	$(INSTALL) -m 755 $(BUILD)/arcvmm $(DESTDIR)$(BINDIR)/arcvmm
	$(INSTALL) -m 644 $(BUILD)/libarcvmm.a $(DESTDIR)$(LIBDIR)/libarcvmm.a
ifeq ($(SHARED),1)
	$(INSTALL) -m 755 $(BUILD)/libarcvmm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libarcvmm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libarcvmm.so
	@# the loader's cache, for a real install as root (/usr/local/lib is in
	@# Debian's ld.so.conf, but found only through the cache)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi
endif
	$(INSTALL) -m 644 include/arcvmm.h $(DESTDIR)$(INCLUDEDIR)/arcvmm.h
	$(INSTALL) -m 644 $(BUILD)/arcvmm.pc $(DESTDIR)$(LIBDIR)/pkgconfig/arcvmm.pc
	$(INSTALL) -m 644 man/arcvmm.1 $(DESTDIR)$(MANDIR)/man1/arcvmm.1

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/arcvmm $(DESTDIR)$(LIBDIR)/libarcvmm.a \
	      $(DESTDIR)$(LIBDIR)/libarcvmm.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME) \
	      $(DESTDIR)$(LIBDIR)/libarcvmm.so $(DESTDIR)$(INCLUDEDIR)/arcvmm.h \
	      $(DESTDIR)$(LIBDIR)/pkgconfig/arcvmm.pc $(DESTDIR)$(MANDIR)/man1/arcvmm.1

clean:
	rm -rf build

-include $(shell find build -name '*.d' -type f 2>/dev/null)
