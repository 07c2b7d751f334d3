/* Tier 2: the GSI routing table hv installs for MSIs keeps KVM's default
 * irqchip routes, and its size limit is KVM's.
 * x86: with MSI routes in place (each one a KVM_SET_GSI_ROUTING of the
 * whole table), IOAPIC lines still reach the test guest's "msi" command,
 * which routes pins 10 (a GSI the PIC shares) and 20 (IOAPIC only) to
 * vectors 0x4a and 0x54: by KVM_IRQ_LINE and by an irqfd, before and
 * after a route is cleared. Both: the last MSI GSI hv_msi_gsi_count
 * admits is one KVM takes. */
#include <stdio.h>
#include <sys/eventfd.h>

#include "hv/hv.h"
#include "kvmtest.h"
#include "vm/vm.h"

/* The last GSI hv offers is one KVM takes; the one after it hv refuses. */
static void t_route_limit(void)
{
    struct kt t;
    CHECK(kt_create(&t, KT_IMAGE, "hello", 1, 64) == 0);
    struct hv_vm *hv = ((struct vm *)t.vm)->hv;
    uint32_t first = hv_msi_gsi_first(hv), count = hv_msi_gsi_count(hv);
    CHECK(count > 0);
    uint64_t addr = 0xfee00000;     /* arm64: no ITS; the route is kept all the same */
    CHECK_EQ(hv_msi_route_set(hv, first, addr, 0x41, 8), 0);
    CHECK_EQ(hv_msi_route_set(hv, first + count - 1, addr, 0x42, 8), 0);
    CHECK_EQ(hv_msi_route_set(hv, first + count, addr, 0x43, 8), -EINVAL);
    CHECK_EQ(hv_msi_route_clear(hv, first + count), -EINVAL);
    CHECK_EQ(hv_msi_route_clear(hv, first + count - 1), 0);
    CHECK_EQ(hv_msi_route_clear(hv, first + count - 1), 0);     /* already gone */
    CHECK_EQ(hv_msi_route_clear(hv, first), 0);
    /* The VM runs as before with the table hv installed. */
    struct arcvmm_exit ex;
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    CHECK(strstr(t.buf, "testguest: hello") != NULL);
    kt_destroy(&t);
}

#ifndef __aarch64__
#define MSI_ADDR0 0xfee00000ULL         /* physical destination APIC 0 */

static int pulse(struct hv_vm *hv, uint32_t gsi)
{
    int r = hv_irq_line(hv, gsi, 1);
    return r < 0 ? r : hv_irq_line(hv, gsi, 0);
}

static void t_legacy_lines_survive(const char *image)
{
    struct kt t;
    struct arcvmm_exit ex;
    uint64_t one = 1;
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK(kt_create(&t, image, "msi", 1, 64) == 0);
    struct hv_vm *hv = ((struct vm *)t.vm)->hv;
    uint32_t gsi = hv_msi_gsi_first(hv) + 3;
    CHECK_EQ(hv_msi_route_set(hv, gsi, MSI_ADDR0, 0x41, 0), 0);
    CHECK_EQ(hv_irqfd(hv, 20, efd, true), 0);
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: msi ready apic 0x0\n"));

    CHECK_EQ(pulse(hv, 10), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x4a\n"));
    CHECK_EQ(pulse(hv, 20), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x54\n"));
    CHECK(write(efd, &one, sizeof(one)) == (ssize_t)sizeof(one));     /* irqfd: via the routes */
    CHECK(kt_expect(&t, "testguest: msi vector 0x54\n"));

    /* Another commit, the MSI route gone: the lines still work. */
    CHECK_EQ(hv_msi_route_clear(hv, gsi), 0);
    CHECK_EQ(pulse(hv, 10), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x4a\n"));
    CHECK(write(efd, &one, sizeof(one)) == (ssize_t)sizeof(one));
    CHECK(kt_expect(&t, "testguest: msi vector 0x54\n"));

    CHECK(hv_signal_msi(hv, MSI_ADDR0, 0x30, 0) > 0);     /* the guest's stop vector */
    CHECK(kt_expect(&t, "testguest: msi done 6\n"));
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    const char *seq = "vector 0x4a\ntestguest: msi vector 0x54\ntestguest: msi vector 0x54\n"
                      "testguest: msi vector 0x4a\ntestguest: msi vector 0x54\n"
                      "testguest: msi vector 0x30\n";
    if (!strstr(t.buf, seq))
        fprintf(stderr, "  console:\n%s\n", t.buf);
    CHECK(strstr(t.buf, seq) != NULL);
    CHECK_EQ(hv_irqfd(hv, 20, efd, false), 0);
    kt_destroy(&t);
    close(efd);
}

static void t_legacy_lines_bzimage(void)
{
    t_legacy_lines_survive("bzImage");
}

static void t_legacy_lines_pvh(void)
{
    t_legacy_lines_survive("elf");
}
#endif

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
    RUN(t_route_limit);
#ifndef __aarch64__
    RUN(t_legacy_lines_bzimage);
    RUN(t_legacy_lines_pvh);
#endif
    return harness_done();
}
