/* Linux KVM implementation of the architecture-neutral half of hv.h. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv/kvm_internal.h"

int hv_vm_create(struct hv_vm **out, char *err, size_t errlen)
{
    struct hv_vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return -ENOMEM;
    vm->vm_fd = -1;
    pthread_mutex_init(&vm->irq_lock, NULL);
    int r;
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        r = -errno;
        snprintf(err, errlen, "/dev/kvm: %s", strerror(errno));
        goto fail;
    }
    r = kvm_ioctl_val(vm->kvm_fd, KVM_GET_API_VERSION, 0);
    if (r < 0) {
        snprintf(err, errlen, "/dev/kvm: KVM_GET_API_VERSION: %s", strerror(-r));
        goto fail;
    }
    if (r != KVM_API_VERSION) {
        snprintf(err, errlen, "/dev/kvm: unsupported KVM API version %d", r);
        r = -ENOTSUP;
        goto fail;
    }
    r = kvm_ioctl_val(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IMMEDIATE_EXIT);
    if (r <= 0) {
        snprintf(err, errlen, "/dev/kvm: KVM_CAP_IMMEDIATE_EXIT is missing (kernel too old)");
        r = -ENOTSUP;
        goto fail;
    }
    vm->run_size = kvm_ioctl_val(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (vm->run_size < (int)sizeof(struct kvm_run)) {
        r = vm->run_size < 0 ? vm->run_size : -EINVAL;
        snprintf(err, errlen, "/dev/kvm: KVM_GET_VCPU_MMAP_SIZE failed");
        goto fail;
    }
    r = kvm_ioctl_val(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (r <= 0)
        r = kvm_ioctl_val(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    vm->max_vcpus = r > 0 ? r : 4;
    vm->vm_fd = kvm_ioctl_val(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0) {
        r = vm->vm_fd;
        snprintf(err, errlen, "/dev/kvm: KVM_CREATE_VM: %s", strerror(-r));
        goto fail;
    }
    r = kvm_ioctl_val(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_IRQ_ROUTING);
    vm->max_routes = r > 0 ? (uint32_t)r : 0;
    r = kvm_arch_vm_init(vm);
    if (r < 0) {
        snprintf(err, errlen, "/dev/kvm: arch setup failed: %s", strerror(-r));
        goto fail;
    }
    *out = vm;
    return 0;
fail:
    hv_vm_destroy(vm);
    return r;
}

void hv_vm_destroy(struct hv_vm *vm)
{
    if (!vm)
        return;
    kvm_arch_vm_destroy(vm);
    free(vm->pending_irqfds);
    free(vm->msi_routes);
    pthread_mutex_destroy(&vm->irq_lock);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    free(vm);
}

int hv_max_vcpus(struct hv_vm *vm)
{
    return vm->max_vcpus;
}

int hv_set_memory(struct hv_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva)
{
    struct kvm_userspace_memory_region r = {
        .slot = slot, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    return kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

/* Read-only mappings take memslots from here up; guest RAM uses the low
 * slot numbers (vm.c). */
#define KVM_RO_SLOT_BASE 64u

int hv_map_readonly(struct hv_vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
    if (!kvm_arch_readonly_coherent(vm) ||
        kvm_ioctl_val(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) <= 0)
        return -ENOTSUP;
    uint32_t slot = KVM_RO_SLOT_BASE + vm->next_ro_slot;
    int nslots = kvm_ioctl_val(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS);
    if (nslots <= 0 || slot >= (uint32_t)nslots)
        return -ENOSPC;
    struct kvm_userspace_memory_region r = {
        .slot = slot, .flags = KVM_MEM_READONLY, .guest_phys_addr = gpa, .memory_size = size,
        .userspace_addr = (uint64_t)(uintptr_t)hva,
    };
    int e = kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
    if (e < 0)
        return e;
    vm->next_ro_slot++;
    return (int)slot;
}

void hv_unmap_readonly(struct hv_vm *vm, int handle)
{
    if (handle < 0)
        return;
    struct kvm_userspace_memory_region r = { .slot = (uint32_t)handle };   /* size 0: delete */
    kvm_ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void hv_irq_line_cb(void *hv_vm, uint32_t gsi, int level)
{
    hv_irq_line(hv_vm, gsi, level);
}

int hv_ioeventfd(struct hv_vm *vm, uint64_t addr, uint32_t len, bool mmio, uint64_t datamatch,
                 int fd, bool assign)
{
    struct kvm_ioeventfd e = {
        .datamatch = datamatch, .addr = addr, .len = len, .fd = fd,
        .flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (mmio ? 0 : KVM_IOEVENTFD_FLAG_PIO) |
                 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
    };
    return kvm_ioctl(vm->vm_fd, KVM_IOEVENTFD, &e);
}

/* KVM accepts irqfds only once the in-kernel interrupt controller is
 * initialised (kvm_arch_intc_initialized: always on x86; on arm64 after
 * the vGIC's CTRL_INIT, which needs every vCPU) and says EAGAIN before.
 * Such irqfds are kept and assigned by kvm_intc_ready(); an eventfd
 * signalled meanwhile keeps its count, so no interrupt is lost. An irqfd
 * may name a GSI that has no route yet (an MSI GSI before
 * hv_msi_route_set): KVM follows every later routing change. */
int hv_irqfd(struct hv_vm *vm, uint32_t gsi, int fd, bool assign)
{
    struct kvm_irqfd f = { .fd = (uint32_t)fd, .gsi = gsi,
                           .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };
    int r = 0;
    pthread_mutex_lock(&vm->irq_lock);
    if (!assign) {
        for (int i = 0; i < vm->npending_irqfds; i++) {
            if (vm->pending_irqfds[i].fd == f.fd && vm->pending_irqfds[i].gsi == gsi) {
                vm->pending_irqfds[i] = vm->pending_irqfds[--vm->npending_irqfds];
                goto out;
            }
        }
    }
    r = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &f);
    if (r == -EAGAIN && assign) {
        struct kvm_irqfd *p = realloc(vm->pending_irqfds,
                                      sizeof(*p) * (size_t)(vm->npending_irqfds + 1));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        vm->pending_irqfds = p;
        p[vm->npending_irqfds++] = f;
        r = 0;
    }
out:
    pthread_mutex_unlock(&vm->irq_lock);
    return r;
}

/* ---- GSI routing: KVM's irqchip routes plus ours for MSIs ---- */

/* One KVM_SET_GSI_ROUTING with the irqchip routes and every MSI route.
 * Called with irq_lock held. */
static int routes_commit(struct hv_vm *vm)
{
    int ndef = kvm_arch_default_routes(vm, NULL);
    if (ndef < 0)
        return ndef;
    size_t n = (size_t)ndef + vm->nmsi_routes;
    struct kvm_irq_routing *t = calloc(1, sizeof(*t) + n * sizeof(t->entries[0]));
    if (!t)
        return -ENOMEM;
    kvm_arch_default_routes(vm, t->entries);
    memcpy(t->entries + ndef, vm->msi_routes, vm->nmsi_routes * sizeof(t->entries[0]));
    t->nr = (uint32_t)n;
    int r = kvm_ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, t);
    free(t);
    return r < 0 ? r : 0;
}

uint32_t hv_msi_gsi_first(struct hv_vm *vm)
{
    return kvm_arch_msi_gsi_first(vm);
}

/* KVM takes GSIs below max_routes and at most max_routes entries, the
 * irqchip routes included. */
uint32_t hv_msi_gsi_count(struct hv_vm *vm)
{
    uint32_t first = kvm_arch_msi_gsi_first(vm);
    int ndef = kvm_arch_default_routes(vm, NULL);
    if (ndef < 0 || first >= vm->max_routes || (uint32_t)ndef >= vm->max_routes)
        return 0;
    uint32_t by_gsi = vm->max_routes - first, by_entries = vm->max_routes - (uint32_t)ndef;
    return by_gsi < by_entries ? by_gsi : by_entries;
}

static bool msi_gsi_valid(struct hv_vm *vm, uint32_t gsi)
{
    uint32_t first = hv_msi_gsi_first(vm);
    return gsi >= first && gsi - first < hv_msi_gsi_count(vm);
}

static struct kvm_irq_routing_entry *msi_route_find(struct hv_vm *vm, uint32_t gsi)
{
    for (uint32_t i = 0; i < vm->nmsi_routes; i++)
        if (vm->msi_routes[i].gsi == gsi)
            return &vm->msi_routes[i];
    return NULL;
}

int hv_msi_route_set(struct hv_vm *vm, uint32_t gsi, uint64_t addr, uint32_t data, uint32_t devid)
{
    struct kvm_irq_routing_entry e = {
        .gsi = gsi, .type = KVM_IRQ_ROUTING_MSI, .flags = kvm_arch_msi_flags(vm),
        .u.msi = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32),
                   .data = data },
    };
    if (e.flags & KVM_MSI_VALID_DEVID)
        e.u.msi.devid = devid;
    pthread_mutex_lock(&vm->irq_lock);
    int r = -EINVAL;
    if (!msi_gsi_valid(vm, gsi))
        goto out;
    struct kvm_irq_routing_entry *slot = msi_route_find(vm, gsi), old;
    if (slot) {
        old = *slot;
        *slot = e;
        if ((r = routes_commit(vm)) < 0)
            *slot = old;
        goto out;
    }
    if (vm->nmsi_routes == vm->msi_routes_cap) {
        uint32_t cap = vm->msi_routes_cap ? 2 * vm->msi_routes_cap : 16;
        struct kvm_irq_routing_entry *p = realloc(vm->msi_routes, cap * sizeof(*p));
        if (!p) {
            r = -ENOMEM;
            goto out;
        }
        vm->msi_routes = p;
        vm->msi_routes_cap = cap;
    }
    vm->msi_routes[vm->nmsi_routes++] = e;
    if ((r = routes_commit(vm)) < 0)
        vm->nmsi_routes--;
out:
    pthread_mutex_unlock(&vm->irq_lock);
    return r;
}

int hv_msi_route_clear(struct hv_vm *vm, uint32_t gsi)
{
    pthread_mutex_lock(&vm->irq_lock);
    int r = 0;
    struct kvm_irq_routing_entry *slot = msi_route_find(vm, gsi);
    if (slot) {
        struct kvm_irq_routing_entry old = *slot;
        *slot = vm->msi_routes[--vm->nmsi_routes];   /* the last one moves here */
        if ((r = routes_commit(vm)) < 0) {           /* the last one is still there too */
            *slot = old;
            vm->nmsi_routes++;
        }
    } else if (!msi_gsi_valid(vm, gsi)) {
        r = -EINVAL;
    }
    pthread_mutex_unlock(&vm->irq_lock);
    return r;
}

int hv_signal_msi(struct hv_vm *vm, uint64_t addr, uint32_t data, uint32_t devid)
{
    struct kvm_msi m = {
        .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data,
        .flags = kvm_arch_msi_flags(vm),
    };
    if (m.flags & KVM_MSI_VALID_DEVID)
        m.devid = devid;
    int r = kvm_ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &m);
    /* x86: when no LAPIC matches the destination, KVM's fast delivery path
     * says 0 and its slow path -1 (errno EPERM); both mean not delivered. */
    return r == -EPERM ? 0 : r;
}

int kvm_intc_ready(struct hv_vm *vm)
{
    pthread_mutex_lock(&vm->irq_lock);
    int r = vm->nmsi_routes ? routes_commit(vm) : 0;
    while (r == 0 && vm->npending_irqfds > 0) {
        struct kvm_irqfd f = vm->pending_irqfds[vm->npending_irqfds - 1];
        r = kvm_ioctl(vm->vm_fd, KVM_IRQFD, &f);
        if (r == 0)
            vm->npending_irqfds--;
    }
    pthread_mutex_unlock(&vm->irq_lock);
    return r;
}

int hv_vcpu_create(struct hv_vm *vm, int index, struct hv_vcpu **out)
{
    struct hv_vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->vm = vm;
    v->index = index;
    v->fd = kvm_ioctl_val(vm->vm_fd, KVM_CREATE_VCPU, index);
    if (v->fd < 0) {
        int r = v->fd;
        free(v);
        return r;
    }
    v->run = mmap(NULL, (size_t)vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (v->run == MAP_FAILED) {
        int r = -errno;
        close(v->fd);
        free(v);
        return r;
    }
    int r = kvm_arch_vcpu_init(v);
    if (r < 0) {
        hv_vcpu_destroy(v);
        return r;
    }
    *out = v;
    return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *v)
{
    if (!v)
        return;
    munmap(v->run, (size_t)v->vm->run_size);
    close(v->fd);
    free(v);
}

int hv_vcpu_set_sigmask(struct hv_vcpu *v, const sigset_t *mask)
{
    union {
        struct kvm_signal_mask m;
        uint8_t bytes[sizeof(struct kvm_signal_mask) + 8];
    } u;
    u.m.len = 8;    /* the kernel's sigset: 64 signals (x86_64, arm64) */
    memcpy(u.m.sigset, mask, 8);
    return kvm_ioctl(v->fd, KVM_SET_SIGNAL_MASK, &u.m);
}

void hv_vcpu_kick_set(struct hv_vcpu *v)
{
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
}

void hv_vcpu_kick_clear(struct hv_vcpu *v)
{
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

__attribute__((format(printf, 2, 3)))
static void fatal(struct hv_exit *e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    e->kind = HV_EXIT_FATAL;
    vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
    va_end(ap);
}

int hv_vcpu_run(struct hv_vcpu *v, struct hv_exit *e)
{
    struct kvm_run *run = v->run;
    if (ioctl(v->fd, KVM_RUN, 0) < 0) {
        if (errno == EINTR || errno == EAGAIN) {
            e->kind = HV_EXIT_INTR;
            return 0;
        }
        return -errno;
    }
    e->count = 1;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        e->kind = HV_EXIT_PIO;
        e->is_write = run->io.direction == KVM_EXIT_IO_OUT;
        e->addr = run->io.port;
        e->len = run->io.size;
        e->count = run->io.count;
        e->data = (uint8_t *)run + run->io.data_offset;
        if (run->io.data_offset + (uint64_t)e->len * e->count > (uint64_t)v->vm->run_size)
            fatal(e, "KVM_EXIT_IO data outside kvm_run (offset %llu count %u)",
                  (unsigned long long)run->io.data_offset, run->io.count);
        return 0;
    case KVM_EXIT_MMIO:
        e->kind = HV_EXIT_MMIO;
        e->is_write = run->mmio.is_write;
        e->addr = run->mmio.phys_addr;
        e->len = run->mmio.len;
        e->data = run->mmio.data;
        if (e->len > sizeof(run->mmio.data))
            fatal(e, "KVM_EXIT_MMIO length %u at 0x%llx", e->len, (unsigned long long)e->addr);
        return 0;
    case KVM_EXIT_INTR:
        e->kind = HV_EXIT_INTR;
        return 0;
    case KVM_EXIT_SHUTDOWN:
        /* The vCPU entered the x86 shutdown state: a triple fault (a
         * fault while delivering a double fault), or a machine check it
         * cannot deliver. A PC's chipset answers the CPU's shutdown cycle
         * by resetting the machine, and guests rely on it: Linux's
         * reboot=t, and its last resort when every other method failed
         * (QEMU also resets on every KVM_EXIT_SHUTDOWN). So it is a
         * reset, always; a guest that crashed that way says so only in
         * e->reason, which the caller keeps with the registers (on AMD,
         * KVM has already INITed the vCPU: they show that state, not the
         * fault's). */
        e->kind = HV_EXIT_RESET;
        snprintf(e->reason, sizeof(e->reason), "triple fault (KVM_EXIT_SHUTDOWN)");
        return 0;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            e->kind = HV_EXIT_POWEROFF;
            return 0;
        case KVM_SYSTEM_EVENT_RESET:
            e->kind = HV_EXIT_RESET;
            e->reason[0] = '\0';
            return 0;
        default:
            fatal(e, "KVM_EXIT_SYSTEM_EVENT type %u", run->system_event.type);
            return 0;
        }
    case KVM_EXIT_INTERNAL_ERROR:
        fatal(e, "KVM_EXIT_INTERNAL_ERROR suberror %u", run->internal.suberror);
        return 0;
    case KVM_EXIT_FAIL_ENTRY:
        fatal(e, "KVM_EXIT_FAIL_ENTRY hardware reason 0x%llx cpu %u",
              (unsigned long long)run->fail_entry.hardware_entry_failure_reason, run->fail_entry.cpu);
        return 0;
    case KVM_EXIT_HLT:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        e->kind = HV_EXIT_OTHER;
        return 0;
    default:
        fatal(e, "unhandled KVM exit reason %u", run->exit_reason);
        return 0;
    }
}
