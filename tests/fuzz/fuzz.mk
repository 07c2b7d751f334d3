# libFuzzer targets (clang only), included by the top Makefile; also usable
# standalone: `make -f tests/fuzz/fuzz.mk fuzz`.  `make fuzz` builds
# build/fuzz/fuzz_<t> for every t in FUZZ_TARGETS from tests/fuzz/fuzz_<t>.c
# plus the library sources in FUZZ_SRC_<t>, compiled directly with clang
# (build/libarcvmm.a is gcc-built and uninstrumented).  tests/fuzz/run.sh
# runs them.  A new target: add fuzz_<t>.c (see fuzz_common.h), append t to
# FUZZ_TARGETS and define FUZZ_SRC_<t>.
ifndef ARCVMM_FUZZ_MK
ARCVMM_FUZZ_MK := 1
fuzz_saved_goal := $(.DEFAULT_GOAL)

FUZZ_CC      ?= clang
FUZZ_WARN    ?= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
                -Wno-unused-parameter
FUZZ_CFLAGS  ?= -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc -Itests -g -O1 $(FUZZ_WARN) \
                -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
                -fno-omit-frame-pointer
FUZZ_COMMON  := tests/fuzz/fuzz_common.h src/virtio/virtq.h src/mem/mem.h tests/fuzz/api_stubs.h

FUZZ_TARGETS   := virtq blk pci vpci net http api config slirp vsock
FUZZ_SRC_virtq := src/virtio/virtq.c src/mem/mem.c
FUZZ_SRC_blk   := $(FUZZ_SRC_virtq) src/virtio/blk_req.c
FUZZ_SRC_net   := $(FUZZ_SRC_virtq) src/virtio/net_hdr.c
FUZZ_SRC_slirp := src/backend/slirp.c
FUZZ_SRC_vsock := $(FUZZ_SRC_virtq) src/virtio/vsock_pkt.c src/virtio/vsock.c src/base/evloop.c \
                  src/base/usock.c src/base/efd.c src/base/log.c
FUZZ_SRC_http  := src/api/http.c
FUZZ_SRC_api   := src/api/http.c src/api/routes.c src/base/mac.c
FUZZ_LIBS_api  := -ljansson
FUZZ_SRC_config  := src/api/routes.c src/base/mac.c
FUZZ_LIBS_config := -ljansson
FUZZ_SRC_pci   := src/pci/cfg.c src/pci/msix.c src/pci/host.c
FUZZ_SRC_vpci  := $(FUZZ_SRC_virtq) src/pci/cfg.c src/pci/msix.c src/virtio/pci.c src/virtio/core.c \
                  src/base/efd.c src/base/log.c

define fuzz_rule
build/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $$(FUZZ_SRC_$(1)) $$(FUZZ_COMMON)
	@mkdir -p $$(dir $$@)
	$$(FUZZ_CC) $$(FUZZ_CFLAGS) -o $$@ $$(filter %.c,$$^) $$(FUZZ_LIBS_$(1))
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)

.DEFAULT_GOAL := $(fuzz_saved_goal)
endif
