/* Tier 2: guest RAM as the library maps it. KSM merging (VmFlags "mg" in
 * /proc/self/smaps) only with arcvmm_config.mem_merge; the guest boots
 * either way. */
#include <stdio.h>

#include "kvmtest.h"
#include "smaps.h"
#include "vm/vm.h"

static void merge_case(int mem_merge)
{
    char path[512];
    kt_guest_path(path, sizeof(path), KT_IMAGE);
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = path;
    c.cmdline = KT_LINUX_CONSOLE " hello";
    c.memory_mib = 64;
    c.mem_merge = mem_merge;
    struct kt t;
    CHECK(kt_create_config(&t, &c) == 0);
    struct vm *vm = (struct vm *)t.vm;
    CHECK(vm->mem.n >= 1);
    for (int i = 0; i < vm->mem.n; i++)
        CHECK_EQ(smaps_has_flag(vm->mem.r[i].hva, "mg"), mem_merge ? 1 : 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: hello"));
    struct arcvmm_exit ex;
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    kt_destroy(&t);
}

static void t_ram_not_mergeable_by_default(void) { merge_case(0); }
static void t_ram_mergeable_with_mem_merge(void) { merge_case(1); }

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_ram_not_mergeable_by_default);
    RUN(t_ram_mergeable_with_mem_merge);
    return harness_done();
}
