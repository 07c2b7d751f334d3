/* Tier 2: MSIs through hv (hv_msi_route_set/_clear, hv_signal_msi, irqfds
 * on MSI GSIs), driven through the hv API of a VM the library created.
 * x86: the test guest's "msi" command (an IDT, the LAPIC on, every vector
 * printed as it arrives) sees MSIs sent by KVM_SIGNAL_MSI and by irqfds on
 * MSI routes, a changed route's new vector, and nothing from a cleared one.
 * arm64: the GICv3 ITS is created at the board's address and MSI routes
 * with a device id go in; KVM_SIGNAL_MSI reaches the ITS (which the guest
 * has not enabled, so nothing is delivered); with the test guest's lpi
 * command (LPIs and the ITS set up, the CPU interface polled) MSIs by
 * KVM_SIGNAL_MSI and by an irqfd on an MSI route arrive as LPIs. */
#include <pthread.h>
#include <stdio.h>
#include <sys/eventfd.h>

#include "hv/hv.h"
#include "kvmtest.h"
#include "vm/vm.h"
#ifdef __aarch64__
#include "arch/arm64/layout.h"
#include "hv/hv_arm64.h"
#endif

static int efd_raise(int fd)
{
    uint64_t one = 1;
    return write(fd, &one, sizeof(one)) == (ssize_t)sizeof(one) ? 0 : -errno;
}

#ifndef __aarch64__
#define MSI_ADDR(apic) (0xfee00000ULL | ((uint64_t)(apic) << 12))
#define STOP_VECTOR 0x30    /* the guest's "msi done" vector */

struct churn {
    struct hv_vm *hv;
    uint32_t gsi;
    uint32_t vector;        /* the route each thread leaves behind */
    int err;
};

/* Set and clear one GSI's route many times; leave it set to ->vector. */
static void *churn_routes(void *p)
{
    struct churn *c = p;
    for (int i = 0; i < 100 && !c->err; i++) {
        int r = hv_msi_route_set(c->hv, c->gsi, MSI_ADDR(0), 0x60 + (uint32_t)(i % 16), 0);
        if (r == 0)
            r = hv_msi_route_clear(c->hv, c->gsi);
        c->err = r;
    }
    if (!c->err)
        c->err = hv_msi_route_set(c->hv, c->gsi, MSI_ADDR(0), c->vector, 0);
    return NULL;
}

static void t_msi_reaches_guest(const char *image)
{
    struct kt t;
    struct arcvmm_exit ex;
    int efd = eventfd(0, EFD_CLOEXEC), efd2 = eventfd(0, EFD_CLOEXEC), efd3 = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0 && efd2 >= 0 && efd3 >= 0);
    CHECK(kt_create(&t, image, "msi", 1, 64) == 0);
    struct hv_vm *hv = ((struct vm *)t.vm)->hv;

    uint32_t first = hv_msi_gsi_first(hv), count = hv_msi_gsi_count(hv);
    CHECK_EQ(first, 24);                        /* above the IOAPIC's pins */
    CHECK(count >= 64);
    CHECK_EQ(hv_msi_route_set(hv, 23, MSI_ADDR(0), 0x42, 0), -EINVAL);
    CHECK_EQ(hv_msi_route_set(hv, first + count, MSI_ADDR(0), 0x42, 0), -EINVAL);
    CHECK_EQ(hv_msi_route_clear(hv, first), 0);         /* none yet: nothing to do */

    /* The irqfd comes first: KVM follows the route when it appears. */
    uint32_t gsi = first + 5, gsi2 = first + 6;
    CHECK_EQ(hv_irqfd(hv, gsi, efd, true), 0);
    CHECK_EQ(hv_msi_route_set(hv, gsi2, MSI_ADDR(0), 0x45, 0), 0);
    CHECK_EQ(hv_irqfd(hv, gsi2, efd2, true), 0);

    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: msi ready apic 0x0\n"));

    int r = hv_signal_msi(hv, MSI_ADDR(0), 0x41, 0);
    if (r <= 0)
        fprintf(stderr, "  hv_signal_msi: %d\n", r);
    CHECK(r > 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x41\n"));
    /* No vCPU has APIC id 0x55: not delivered, and not an error. */
    r = hv_signal_msi(hv, MSI_ADDR(0x55), 0x44, 0);
    if (r != 0)
        fprintf(stderr, "  hv_signal_msi to a missing APIC: %d\n", r);
    CHECK_EQ(r, 0);

    CHECK_EQ(hv_msi_route_set(hv, gsi, MSI_ADDR(0), 0x42, 0), 0);
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x42\n"));
    CHECK_EQ(hv_msi_route_set(hv, gsi, MSI_ADDR(0), 0x43, 0), 0);    /* retarget */
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x43\n"));
    CHECK_EQ(efd_raise(efd2), 0);               /* the other route survived both commits */
    CHECK(kt_expect(&t, "testguest: msi vector 0x45\n"));

    /* Two threads rewrite the table at once (as two vCPUs programming
     * MSI-X tables would); each GSI ends with its own route. */
    struct churn c[2] = { { hv, first + 7, 0x50, 0 }, { hv, first + 8, 0x51, 0 } };
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&th[i], NULL, churn_routes, &c[i]) == 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(c[i].err, 0);
    }
    CHECK_EQ(hv_irqfd(hv, c[0].gsi, efd3, true), 0);
    CHECK_EQ(efd_raise(efd3), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x50\n"));
    CHECK_EQ(hv_irqfd(hv, c[0].gsi, efd3, false), 0);
    CHECK_EQ(hv_irqfd(hv, c[1].gsi, efd3, true), 0);
    CHECK_EQ(efd_raise(efd3), 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x51\n"));

    /* A cleared route delivers nothing: had it still been there, its
     * vector (higher priority than the stop vector, raised first) would
     * arrive before the stop vector. */
    CHECK_EQ(hv_msi_route_clear(hv, gsi), 0);
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(hv_signal_msi(hv, MSI_ADDR(0), STOP_VECTOR, 0) > 0);
    CHECK(kt_expect(&t, "testguest: msi vector 0x30\ntestguest: msi done 7\n"));
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    CHECK(strstr(t.buf, "vector 0x44") == NULL);
    const char *seq = "vector 0x41\ntestguest: msi vector 0x42\ntestguest: msi vector 0x43\n"
                      "testguest: msi vector 0x45\ntestguest: msi vector 0x50\n"
                      "testguest: msi vector 0x51\ntestguest: msi vector 0x30\n";
    if (!strstr(t.buf, seq))
        fprintf(stderr, "  console:\n%s\n", t.buf);
    CHECK(strstr(t.buf, seq) != NULL);
    kt_destroy(&t);
    close(efd);
    close(efd2);
    close(efd3);
}

static void t_msi_bzimage(void)
{
    t_msi_reaches_guest("bzImage");
}

static void t_msi_pvh(void)
{
    t_msi_reaches_guest("elf");
}
#else
#define GITS_TRANSLATER (ARM64_GITS_BASE + 0x10040)
#define DEVID 0x0008        /* 00:01.0 */

/* The board made the GICv3 (and initialised it: arcvmm_create creates the
 * vCPUs); the ITS may come after that and before any vCPU runs. */
static void t_its_and_msi_routes(void)
{
    struct kt t;
    CHECK(kt_create(&t, KT_IMAGE, "hello", 1, 64) == 0);
    struct hv_vm *hv = ((struct vm *)t.vm)->hv;
    uint32_t first = hv_msi_gsi_first(hv);
    CHECK_EQ(first, ARM64_GIC_NR_IRQS - 32);    /* above every SPI */
    CHECK(hv_msi_gsi_count(hv) >= 64);
    CHECK_EQ(hv_signal_msi(hv, GITS_TRANSLATER, 0, DEVID), -ENODEV);    /* no ITS yet */

    int r = hv_arm64_its_create(hv, ARM64_GITS_BASE);
    if (r < 0)
        fprintf(stderr, "  hv_arm64_its_create: %s\n", strerror(-r));
    CHECK_EQ(r, 0);
    CHECK_EQ(hv_arm64_its_create(hv, ARM64_GITS_BASE), -EEXIST);

    CHECK_EQ(hv_msi_route_set(hv, first, GITS_TRANSLATER, 0, DEVID), 0);
    CHECK_EQ(hv_msi_route_set(hv, first + 1, GITS_TRANSLATER, 1, DEVID), 0);
    CHECK_EQ(hv_msi_route_set(hv, first, GITS_TRANSLATER, 2, DEVID), 0);   /* update */
    CHECK_EQ(hv_msi_route_set(hv, first - 1, GITS_TRANSLATER, 0, DEVID), -EINVAL);
    CHECK_EQ(hv_msi_route_clear(hv, first + 1), 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK_EQ(hv_irqfd(hv, first, efd, true), 0);
    CHECK_EQ(efd_raise(efd), 0);                /* the ITS is off: dropped */
    CHECK_EQ(hv_irqfd(hv, first, efd, false), 0);
    close(efd);

    /* A doorbell that is no ITS's: -EINVAL; the ITS's, while the guest has
     * not enabled it: -EBUSY (KVM's vgic_its_resolve_lpi). */
    CHECK_EQ(hv_signal_msi(hv, 0x1000, 0, DEVID), -EINVAL);
    r = hv_signal_msi(hv, GITS_TRANSLATER, 0, DEVID);
    if (r != -EBUSY)
        fprintf(stderr, "  hv_signal_msi to the disabled ITS: %d\n", r);
    CHECK_EQ(r, -EBUSY);

    /* The VM still boots with the ITS and the routes in place. */
    struct arcvmm_exit ex;
    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    CHECK(strstr(t.buf, "testguest: hello") != NULL);
    kt_destroy(&t);
}

/* The arm64 test guest's lpi command maps device DEVID's events 0..3 to
 * LPIs 0x2000..0x2003 through the ITS and prints each LPI it takes. */
static void t_lpi_reaches_guest(void)
{
    struct kt t;
    struct arcvmm_exit ex;
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK(kt_create(&t, KT_IMAGE, "lpi", 1, 64) == 0);
    struct hv_vm *hv = ((struct vm *)t.vm)->hv;
    CHECK_EQ(hv_arm64_its_create(hv, ARM64_GITS_BASE), 0);
    uint32_t gsi = hv_msi_gsi_first(hv) + 2;
    CHECK_EQ(hv_msi_route_set(hv, gsi, GITS_TRANSLATER, 1, DEVID), 0);
    CHECK_EQ(hv_irqfd(hv, gsi, efd, true), 0);

    CHECK(arcvmm_start(t.vm) == 0);
    CHECK(kt_expect(&t, "testguest: lpi ready\n"));
    int r = hv_signal_msi(hv, GITS_TRANSLATER, 0, DEVID);
    if (r <= 0)
        fprintf(stderr, "  hv_signal_msi: %d\n", r);
    CHECK(r > 0);
    CHECK(kt_expect(&t, "testguest: lpi 0x2000\n"));
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(kt_expect(&t, "testguest: lpi 0x2001\n"));
    CHECK_EQ(hv_msi_route_set(hv, gsi, GITS_TRANSLATER, 2, DEVID), 0);     /* retarget */
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(kt_expect(&t, "testguest: lpi 0x2002\n"));
    /* The irqchip routes KVM had before hv's commits are still there:
     * GSI 40 is SPI 40 (INTID 0x48), which the guest made edge-triggered. */
    CHECK_EQ(hv_irq_line(hv, 40, 1), 0);
    CHECK_EQ(hv_irq_line(hv, 40, 0), 0);
    CHECK(kt_expect(&t, "testguest: lpi 0x48\n"));
    /* A device the guest did not map: blocked, not an error. */
    CHECK_EQ(hv_signal_msi(hv, GITS_TRANSLATER, 0, DEVID + 1), 0);

    /* A cleared route delivers nothing (LPI 0x2002 would come again). */
    CHECK_EQ(hv_msi_route_clear(hv, gsi), 0);
    CHECK_EQ(efd_raise(efd), 0);
    CHECK(hv_signal_msi(hv, GITS_TRANSLATER, 3, DEVID) > 0);
    CHECK(kt_expect(&t, "testguest: lpi 0x2003\ntestguest: lpi done 5\n"));
    CHECK(kt_wait(&t, &ex) == 0);
    CHECK_EQ(ex.reason, ARCVMM_EXIT_POWEROFF);
    const char *seq = "lpi 0x2000\ntestguest: lpi 0x2001\ntestguest: lpi 0x2002\n"
                      "testguest: lpi 0x48\ntestguest: lpi 0x2003\n";
    if (!strstr(t.buf, seq))
        fprintf(stderr, "  console:\n%s\n", t.buf);
    CHECK(strstr(t.buf, seq) != NULL);
    kt_destroy(&t);
    close(efd);
}

/* Routes set before the vGIC's CTRL_INIT (which installs KVM's defaults
 * over any earlier table) are installed again by hv_arm64_vgic_init. */
static void t_routes_before_vgic_init(void)
{
    struct hv_vm *hv;
    struct hv_vcpu *vcpu = NULL;
    char err[256];
    CHECK(hv_vm_create(&hv, err, sizeof(err)) == 0);
    CHECK_EQ(hv_arm64_its_create(hv, ARM64_GITS_BASE), -EINVAL);    /* no vGIC yet */
    CHECK_EQ(hv_arm64_vgic_create(hv, ARM64_GICD_BASE, ARM64_GICR_BASE, ARM64_GIC_NR_IRQS), 0);
    CHECK_EQ(hv_arm64_its_create(hv, ARM64_GITS_BASE), 0);
    uint32_t first = hv_msi_gsi_first(hv);
    CHECK_EQ(hv_msi_route_set(hv, first + 3, GITS_TRANSLATER, 7, DEVID), 0);
    int efd = eventfd(0, EFD_CLOEXEC);
    CHECK(efd >= 0);
    CHECK_EQ(hv_irqfd(hv, first + 3, efd, true), 0);    /* kept back until the init */
    CHECK_EQ(hv_vcpu_create(hv, 0, &vcpu), 0);
    CHECK_EQ(hv_arm64_vgic_init(hv), 0);
    CHECK_EQ(hv_msi_route_clear(hv, first + 3), 0);
    CHECK_EQ(hv_irqfd(hv, first + 3, efd, false), 0);
    hv_vcpu_destroy(vcpu);
    hv_vm_destroy(hv);
    close(efd);
}
#endif

int main(void)
{
    if (kt_require_kvm() < 0)
        return 1;
#ifdef __aarch64__
    RUN(t_its_and_msi_routes);
    RUN(t_routes_before_vgic_init);
    RUN(t_lpi_reaches_guest);
#else
    RUN(t_msi_bzimage);
    RUN(t_msi_pvh);
#endif
    return harness_done();
}
