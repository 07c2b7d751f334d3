/* The public library API (include/arcvmm.h) and the VM lifecycle:
 * CREATED -> RUNNING <-> PAUSED -> STOPPED. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "arch/arch.h"
#include "base/efd.h"
#include "base/evloop.h"
#include "base/file.h"
#include "base/log.h"
#include "hv/hv.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "vm/devices.h"
#include "vm/vm.h"

#define STOP_TIMEOUT_S  5    /* bound on joining vCPU threads */
#define PAUSE_TIMEOUT_S 5    /* bound on waiting for every vCPU to park */
#define PAUSE_FLUSH_MS  1000 /* bound on pause writing queued console output */

struct arcvmm { struct vm vm; };

const char *arcvmm_version(void)
{
    return ARCVMM_VERSION;
}

/* The end of the last field of the first arcvmm_config: a program's
 * cfg->size is at least this. Fields added later come after it, and this
 * stays as it is (it is what the oldest program passes). */
#define CONFIG_SIZE_V0 (offsetof(struct arcvmm_config, mem_merge) + sizeof(int))

static void config_defaults(struct arcvmm_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = sizeof(*cfg);
    cfg->cpus = 1;
    cfg->memory_mib = 256;
    cfg->console = ARCVMM_CONSOLE_STDIO;
    cfg->console_in_fd = 0;
    cfg->console_out_fd = 1;
    cfg->transport = ARCVMM_TRANSPORT_DEFAULT;
}

/* Copy the first n bytes of src (a struct of this library's size or
 * another) to dst of dst_size bytes, zero the rest of dst. */
static void copy_sized(void *dst, size_t dst_size, const void *src, size_t n)
{
    size_t k = n < dst_size ? n : dst_size;
    memcpy(dst, src, k);
    memset((char *)dst + k, 0, dst_size - k);
}

int arcvmm_config_init_size(struct arcvmm_config *cfg, size_t size)
{
    if (size < offsetof(struct arcvmm_config, size) + sizeof(cfg->size))
        return -EINVAL;
    struct arcvmm_config d;
    config_defaults(&d);
    copy_sized(cfg, size, &d, sizeof(d));
    cfg->size = size;
    return 0;
}

/* The program's config (of cfg->size bytes) as this library's struct:
 * fields it does not have keep their defaults. */
static int config_take(const struct arcvmm_config *cfg, struct arcvmm_config *out,
                       char *err, size_t errlen)
{
    config_defaults(out);
    if (cfg->size < CONFIG_SIZE_V0) {
        snprintf(err, errlen, "config: size %zu is not an arcvmm_config's (at least %zu): "
                 "make it with arcvmm_config_init", cfg->size, (size_t)CONFIG_SIZE_V0);
        return -EINVAL;
    }
    const unsigned char *extra = (const unsigned char *)cfg + sizeof(*cfg);
    for (size_t i = sizeof(*cfg); i < cfg->size; i++, extra++)
        if (*extra) {
            snprintf(err, errlen, "config: a field this library (arcvmm %s) does not know "
                     "is set, at byte %zu of %zu", ARCVMM_VERSION, i, cfg->size);
            return -E2BIG;
        }
    memcpy(out, cfg, cfg->size < sizeof(*out) ? cfg->size : sizeof(*out));
    out->size = sizeof(*out);
    if (out->flags & ~ARCVMM_F_ALL) {
        snprintf(err, errlen, "flags: 0x%x has bits this library does not know (0x%x)",
                 out->flags, out->flags & ~ARCVMM_F_ALL);
        return -EINVAL;
    }
    return 0;
}

int arcvmm_max_cpus(void)
{
    char err[256];
    struct hv_vm *hv;
    int r = hv_vm_create(&hv, err, sizeof(err));
    if (r < 0)
        return r;
    int n = hv_max_vcpus(hv);
    hv_vm_destroy(hv);
    return n < arch_max_cpus() ? n : arch_max_cpus();
}

static struct vm *to_vm(struct arcvmm *a)
{
    return &a->vm;
}

static void timespec_after(struct timespec *ts, int seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += seconds;
}

/* Kick every started vCPU. Caller holds vm->lock. */
static void kick_all_locked(struct vm *vm)
{
    for (int i = 0; i < vm->ncpus; i++)
        if (vm->vcpus[i].thread_started)
            vcpu_kick(&vm->vcpus[i]);
}

void vm_end(struct vm *vm, enum arcvmm_exit_reason reason, const char *msg)
{
    pthread_mutex_lock(&vm->lock);
    if (!vm->ended) {
        vm->ended = true;
        vm->exit.reason = reason;
        snprintf(vm->exit.message, sizeof(vm->exit.message), "%s", msg ? msg : "");
        efd_signal(vm->exit_efd);
    }
    atomic_fetch_or(&vm->request, VM_REQ_STOP);
    pthread_cond_broadcast(&vm->cond);
    kick_all_locked(vm);
    pthread_mutex_unlock(&vm->lock);
}

static int check_config(const struct arcvmm_config *cfg, char *err, size_t errlen)
{
    if (!cfg->kernel || !*cfg->kernel) {
        snprintf(err, errlen, "kernel: no kernel image given");
        return -EINVAL;
    }
    if (cfg->cpus < 1) {
        snprintf(err, errlen, "cpus: %d is not a valid vCPU count (at least 1)", cfg->cpus);
        return -EINVAL;
    }
    if (cfg->ndisks < 0 || cfg->ndisks > ARCVMM_MAX_DISKS) {
        snprintf(err, errlen, "disks: %d is more than the %d supported", cfg->ndisks, ARCVMM_MAX_DISKS);
        return -EINVAL;
    }
    for (int i = 0; i < cfg->ndisks; i++) {
        struct stat a, b;
        if (!cfg->disks[i].path || stat(cfg->disks[i].path, &a) < 0)
            continue;               /* opening it says why */
        /* twice read-only is fine (shared locks); else name it here, not
         * as "locked by another process" when the second one is opened */
        for (int j = 0; j < i; j++)
            if (cfg->disks[j].path && (!cfg->disks[i].readonly || !cfg->disks[j].readonly) &&
                stat(cfg->disks[j].path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                snprintf(err, errlen, "disk %s: the same file as disk %s (a disk given twice; "
                         "only read-only disks may share an image)", cfg->disks[i].path,
                         cfg->disks[j].path);
                return -EINVAL;
            }
    }
    if (cfg->nnets < 0 || cfg->nnets > ARCVMM_MAX_NETS) {
        snprintf(err, errlen, "nets: %d is more than the %d supported", cfg->nnets, ARCVMM_MAX_NETS);
        return -EINVAL;
    }
    for (int i = 0; i < cfg->nnets; i++) {
        const struct arcvmm_net *n = &cfg->nets[i];
        static const uint8_t zero[6];
        const char *user = cfg->net_user[i];
        if (user && vm_check_user_net(n, user, i, err, errlen) < 0)
            return -EINVAL;
        if (!user && (!n->tap || !*n->tap)) {
            snprintf(err, errlen, "net %d: no tap name given", i);
            return -EINVAL;
        }
        const char *nm = user ? "user" : n->tap;
        if (n->has_mac && ((n->mac[0] & 1) || !memcmp(n->mac, zero, 6))) {
            snprintf(err, errlen, "net %s: mac %02x:%02x:%02x:%02x:%02x:%02x is %s", nm,
                     n->mac[0], n->mac[1], n->mac[2], n->mac[3], n->mac[4], n->mac[5],
                     (n->mac[0] & 1) ? "a multicast address" : "all zeros");
            return -EINVAL;
        }
        if (n->queues < 0 || n->queues > cfg->cpus) {
            snprintf(err, errlen, "net %s: %d queues but %d vCPU%s (at most one queue pair per vCPU)",
                     nm, n->queues, cfg->cpus, cfg->cpus == 1 ? "" : "s");
            return -EINVAL;
        }
        if (n->mtu != 0 && (n->mtu < 68 || n->mtu > 65535)) {
            snprintf(err, errlen, "net %s: mtu %d is out of range (68..65535)", nm, n->mtu);
            return -EINVAL;
        }
    }
    if (cfg->vsock.guest_cid && (cfg->vsock.guest_cid < 3 || cfg->vsock.guest_cid >= 0xffffffffu)) {
        snprintf(err, errlen, "vsock: guest CID %llu is out of range (3..4294967294)",
                 (unsigned long long)cfg->vsock.guest_cid);
        return -EINVAL;
    }
    if (cfg->vsock.guest_cid && (!cfg->vsock.uds_path || !*cfg->vsock.uds_path)) {
        snprintf(err, errlen, "vsock: no uds path given");
        return -EINVAL;
    }
    if (cfg->transport != ARCVMM_TRANSPORT_MMIO && cfg->transport != ARCVMM_TRANSPORT_PCI) {
        snprintf(err, errlen, "transport: %d is neither mmio nor pci", (int)cfg->transport);
        return -EINVAL;
    }
    if (cfg->memory_mib == 0) {
        snprintf(err, errlen, "memory: 0 MiB is not enough for a guest");
        return -EINVAL;
    }
    int r = file_check("kernel", cfg->kernel, VM_MAX_IMAGE_BYTES, err, errlen);
    if (r < 0)
        return r;
    if (cfg->initrd && (r = file_check("initrd", cfg->initrd, VM_MAX_IMAGE_BYTES, err, errlen)) < 0)
        return r;
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
        uint64_t host_mib = (uint64_t)si.totalram * si.mem_unit >> 20;
        if (cfg->memory_mib > host_mib) {
            snprintf(err, errlen, "memory: %llu MiB is more than this host's %llu MiB",
                     (unsigned long long)cfg->memory_mib, (unsigned long long)host_mib);
            return -EINVAL;
        }
    }
    return 0;
}

static int copy_config(struct vm *vm, const struct arcvmm_config *cfg)
{
    vm->cfg = *cfg;
    enum { N = sizeof(vm->cfg_strings) / sizeof(vm->cfg_strings[0]) };
    const char *src[N] = { cfg->kernel, cfg->initrd, cfg->cmdline, cfg->console_path };
    const char **dst[N] = { &vm->cfg.kernel, &vm->cfg.initrd, &vm->cfg.cmdline, &vm->cfg.console_path };
    for (int i = 0; i < ARCVMM_MAX_DISKS; i++) {
        src[4 + 2 * i] = cfg->disks[i].path;
        dst[4 + 2 * i] = &vm->cfg.disks[i].path;
        src[5 + 2 * i] = cfg->disks[i].serial;
        dst[5 + 2 * i] = &vm->cfg.disks[i].serial;
    }
    for (int i = 0; i < ARCVMM_MAX_NETS; i++) {
        src[4 + 2 * ARCVMM_MAX_DISKS + 2 * i] = cfg->nets[i].tap;
        dst[4 + 2 * ARCVMM_MAX_DISKS + 2 * i] = &vm->cfg.nets[i].tap;
        src[5 + 2 * ARCVMM_MAX_DISKS + 2 * i] = cfg->net_user[i];
        dst[5 + 2 * ARCVMM_MAX_DISKS + 2 * i] = &vm->cfg.net_user[i];
    }
    src[N - 1] = cfg->vsock.uds_path;       /* for the vsock device */
    dst[N - 1] = &vm->cfg.vsock.uds_path;
    for (int i = 0; i < N; i++) {
        if (!src[i])
            continue;
        vm->cfg_strings[i] = strdup(src[i]);
        if (!vm->cfg_strings[i])
            return -ENOMEM;
        *dst[i] = vm->cfg_strings[i];
    }
    if (!vm->cfg.cmdline)
        vm->cfg.cmdline = ARCVMM_DEFAULT_CMDLINE;
    return 0;
}

static size_t console_rx_none(void *opaque, const uint8_t *buf, size_t n)
{
    return n;   /* no UART attached: input is dropped */
}

static void console_quit(void *opaque)
{
    vm_end(opaque, ARCVMM_EXIT_STOPPED, "stopped from the console (Ctrl-A x)");
}

int arcvmm_create(const struct arcvmm_config *ucfg, struct arcvmm **out, char *err, size_t errlen)
{
    *out = NULL;
    err[0] = '\0';
    struct arcvmm_config full;
    const struct arcvmm_config *cfg = &full;
    int r = config_take(ucfg, &full, err, errlen);
    if (r < 0 || (r = check_config(cfg, err, errlen)) < 0)
        return r;
    struct arcvmm *a = calloc(1, sizeof(*a));
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    struct vm *vm = to_vm(a);
    vm->exit_efd = -1;
    vm->console.efd = -1;
    pthread_mutex_init(&vm->stop_lock, NULL);
    pthread_mutex_init(&vm->lock, NULL);
    pthread_cond_init(&vm->cond, NULL);
    vm->state = ARCVMM_CREATED;
    if ((r = copy_config(vm, cfg)) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    vm->exit_efd = efd_new();
    if (vm->exit_efd < 0) {
        r = vm->exit_efd;
        snprintf(err, errlen, "eventfd: %s", strerror(-r));
        goto fail;
    }
    if ((r = hv_vm_create(&vm->hv, err, errlen)) < 0)
        goto fail;
    int max = hv_max_vcpus(vm->hv);
    if (max > arch_max_cpus())
        max = arch_max_cpus();
    if (cfg->cpus > max) {
        snprintf(err, errlen, "cpus: %d is more than this host supports (%d)", cfg->cpus, max);
        r = -EINVAL;
        goto fail;
    }
    if (cfg->memory_mib > (UINT64_MAX >> 21)) {
        snprintf(err, errlen, "memory: %llu MiB is too large", (unsigned long long)cfg->memory_mib);
        r = -EINVAL;
        goto fail;
    }
    if ((r = arch_mem_layout(cfg->memory_mib << 20, &vm->mem)) < 0) {
        snprintf(err, errlen, "memory: %llu MiB cannot be laid out: %s",
                 (unsigned long long)cfg->memory_mib, strerror(-r));
        goto fail;
    }
    vm->mem.merge = cfg->mem_merge != 0;
    if ((r = mem_map(&vm->mem)) < 0) {
        snprintf(err, errlen, "memory: cannot map %llu MiB: %s",
                 (unsigned long long)cfg->memory_mib, strerror(-r));
        goto fail;
    }
    if (cfg->mem_merge && !vm->mem.merge)
        log_warn("memory: page merging (KSM) asked for, but this host kernel has no KSM");
    for (int i = 0; i < vm->mem.n; i++) {
        struct mem_region *m = &vm->mem.r[i];
        if ((r = hv_set_memory(vm->hv, (uint32_t)i, m->gpa, m->size, m->hva)) < 0) {
            snprintf(err, errlen, "memory: KVM_SET_USER_MEMORY_REGION: %s", strerror(-r));
            goto fail;
        }
    }
    if ((r = evloop_create(&vm->loop)) < 0) {
        snprintf(err, errlen, "event loop: %s", strerror(-r));
        goto fail;
    }
    if ((r = console_open(&vm->console, vm->loop, &vm->cfg, err, errlen)) < 0)
        goto fail;
    vm->console.rx = console_rx_none;
    vm->console.quit = console_quit;
    vm->console.quit_opaque = vm;
    if ((r = arch_vm_setup(vm, err, errlen)) < 0 ||
        (r = vm_create_devices(vm, err, errlen)) < 0 ||
        (r = arch_load_guest(vm, err, errlen)) < 0)
        goto fail;
    vm->vcpus = calloc((size_t)cfg->cpus, sizeof(*vm->vcpus));
    if (!vm->vcpus) {
        r = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    vm->ncpus = cfg->cpus;
    for (int i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->index = i;
        if ((r = hv_vcpu_create(vm->hv, i, &v->hv)) < 0) {
            snprintf(err, errlen, "vcpu%d: create failed: %s", i, strerror(-r));
            goto fail;
        }
        if ((r = arch_vcpu_setup(vm, v)) < 0) {
            snprintf(err, errlen, "vcpu%d: setup failed: %s", i, strerror(-r));
            goto fail;
        }
    }
    if ((r = arch_vcpus_created(vm, err, errlen)) < 0)
        goto fail;
    *out = a;
    return 0;
fail:
    arcvmm_destroy(a);
    return r;
}

int arcvmm_start(struct arcvmm *a)
{
    struct vm *vm = to_vm(a);
    int r = 0;
    pthread_mutex_lock(&vm->lock);
    if (vm->state != ARCVMM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return -EINVAL;
    }
    /* Threads are created with the lock held: any early vm_end() from a
     * vCPU waits until every thread exists, and no vCPU can see a
     * half-started VM. */
    vm->state = ARCVMM_RUNNING;
    for (int i = 0; i < vm->ncpus && r == 0; i++) {
        r = vcpu_start(&vm->vcpus[i]);
        if (r == 0)
            vm->nrunning++;
    }
    pthread_mutex_unlock(&vm->lock);
    if (r == 0)
        r = console_start(&vm->console);
    if (r == 0)
        r = evloop_start(vm->loop, "arcvmm-loop");
    if (r < 0) {
        vm_end(vm, ARCVMM_EXIT_ERROR, "could not start threads");
        arcvmm_stop(a);
    }
    return r;
}

int arcvmm_pause(struct arcvmm *a)
{
    struct vm *vm = to_vm(a);
    pthread_mutex_lock(&vm->lock);
    if (vm->state != ARCVMM_RUNNING || vm->ended) {
        int r = vm->state == ARCVMM_PAUSED && !vm->ended ? 0 : -EINVAL;
        pthread_mutex_unlock(&vm->lock);
        return r;
    }
    atomic_fetch_or(&vm->request, VM_REQ_PAUSE);
    kick_all_locked(vm);
    struct timespec ts;
    timespec_after(&ts, PAUSE_TIMEOUT_S);
    int r = 0;
    while (vm->nparked < vm->nrunning && !vm->ended && r == 0)
        r = pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
    if (vm->nparked >= vm->nrunning && !vm->ended) {
        /* Every vCPU is parked: no register access can race with the
         * devices' workers stopping. Then nothing writes guest memory. */
        devmgr_quiesce(&vm->devs);
        vm->state = ARCVMM_PAUSED;
        r = 0;
    } else {
        atomic_fetch_and(&vm->request, ~VM_REQ_PAUSE);
        pthread_cond_broadcast(&vm->cond);
        r = vm->ended ? -ESRCH : -ETIMEDOUT;
    }
    pthread_mutex_unlock(&vm->lock);
    if (r == 0)
        console_flush(&vm->console, PAUSE_FLUSH_MS);   /* output so far is out */
    return r;
}

int arcvmm_resume(struct arcvmm *a)
{
    struct vm *vm = to_vm(a);
    pthread_mutex_lock(&vm->lock);
    int r = 0;
    if (vm->ended) {
        r = -EINVAL;        /* nothing to resume: the VM has ended */
    } else if (vm->state == ARCVMM_PAUSED) {
        devmgr_resume(&vm->devs);
        atomic_fetch_and(&vm->request, ~VM_REQ_PAUSE);
        vm->state = ARCVMM_RUNNING;
        pthread_cond_broadcast(&vm->cond);
    } else if (vm->state != ARCVMM_RUNNING) {
        r = -EINVAL;
    }
    pthread_mutex_unlock(&vm->lock);
    return r;
}

/* Joining is ordered against the kicks (vm_end and arcvmm_pause kick every
 * started vCPU under vm->lock, from any thread, a vCPU's own poweroff
 * included): a vCPU thread sets v->exited under vm->lock before it
 * returns and kicks skip exited threads, so once a join has returned no
 * kick can reach that thread, though thread_started is cleared only after
 * the join. stop_lock keeps a second stopper (arcvmm_wait in one thread,
 * arcvmm_stop in another) from joining the same vCPU or console thread
 * twice; it waits for the first one instead. */
int arcvmm_stop(struct arcvmm *a)
{
    struct vm *vm = to_vm(a);
    vm_end(vm, ARCVMM_EXIT_STOPPED, NULL);
    pthread_mutex_lock(&vm->stop_lock);
    struct timespec ts;
    timespec_after(&ts, STOP_TIMEOUT_S);
    int r = 0;
    for (int i = 0; i < vm->ncpus; i++) {
        struct vcpu *v = &vm->vcpus[i];
        pthread_mutex_lock(&vm->lock);
        bool started = v->thread_started;
        pthread_mutex_unlock(&vm->lock);
        if (!started)
            continue;
        int j = pthread_timedjoin_np(v->thread, NULL, &ts);
        if (j) {
            log_err("vcpu%d: thread did not stop within %d s", i, STOP_TIMEOUT_S);
            r = -ETIMEDOUT;
            continue;
        }
        pthread_mutex_lock(&vm->lock);
        v->thread_started = false;
        pthread_mutex_unlock(&vm->lock);
    }
    if (vm->loop && evloop_stop(vm->loop) < 0)
        r = -ETIMEDOUT;
    console_stop(&vm->console);
    pthread_mutex_lock(&vm->lock);
    if (r == 0)
        vm->state = ARCVMM_STOPPED;
    pthread_mutex_unlock(&vm->lock);
    pthread_mutex_unlock(&vm->stop_lock);
    return r;
}

int arcvmm_wait_size(struct arcvmm *a, struct arcvmm_exit *ex, size_t size)
{
    struct vm *vm = to_vm(a);
    pthread_mutex_lock(&vm->lock);
    if (vm->state == ARCVMM_CREATED) {
        pthread_mutex_unlock(&vm->lock);
        return -EINVAL;
    }
    while (!vm->ended)
        pthread_cond_wait(&vm->cond, &vm->lock);
    if (ex)
        copy_sized(ex, size, &vm->exit, sizeof(vm->exit));
    pthread_mutex_unlock(&vm->lock);
    return arcvmm_stop(a);
}

int arcvmm_get_stats_size(struct arcvmm *a, struct arcvmm_stats *st, size_t size)
{
    struct vm *vm = to_vm(a);
    struct arcvmm_stats s = { 0 };
    for (int i = 0; i < vm->ncpus; i++) {
        s.exits += atomic_load(&vm->vcpus[i].exits);
        s.pio_exits += atomic_load(&vm->vcpus[i].pio_exits);
        s.mmio_exits += atomic_load(&vm->vcpus[i].mmio_exits);
    }
    copy_sized(st, size, &s, sizeof(s));
    return 0;
}

int arcvmm_get_disk_stats_size(struct arcvmm *a, int index, struct arcvmm_disk_stats *st,
                               size_t size)
{
    struct vm *vm = to_vm(a);
    struct arcvmm_disk_stats s = { 0 };
    /* the disks are the first devices attached, in order (vm/devices.h) */
    int r = index < 0 || index >= vm->cfg.ndisks || index >= vm->devs.ndevs ? -EINVAL :
            virtio_blk_get_stats(vm->devs.devs[index].dev, &s);
    copy_sized(st, size, &s, sizeof(s));
    return r;
}

int arcvmm_get_net_stats_size(struct arcvmm *a, int index, struct arcvmm_net_stats *st,
                              size_t size)
{
    struct vm *vm = to_vm(a);
    struct arcvmm_net_stats s = { 0 };
    /* the NICs come right after the disks, in order (vm/devices.h) */
    int at = vm->cfg.ndisks + index;
    if (index < 0 || index >= vm->cfg.nnets || at >= vm->devs.ndevs ||
        vm->devs.devs[at].dev->ops->device_id != VIRTIO_ID_NET) {
        copy_sized(st, size, &s, sizeof(s));
        return -EINVAL;
    }
    struct virtio_net_stats n;
    virtio_net_get_stats(vm->devs.devs[at].dev, &n);
    s.rx_frames = n.rx_frames;
    s.rx_bytes = n.rx_bytes;
    s.tx_frames = n.tx_frames;
    s.tx_bytes = n.tx_bytes;
    s.rx_dropped = n.rx_too_big + n.rx_no_buffers + n.rx_bad_buffers;
    for (unsigned i = 0; i < VIRTIO_NET_TX_VERDICTS; i++)
        s.tx_dropped += n.tx_dropped[i];
    s.errors = n.tx_errors + n.rx_errors + n.ctrl_err;
    copy_sized(st, size, &s, sizeof(s));
    return 0;
}

void arcvmm_dump_queues(struct arcvmm *a, int fd)
{
    devmgr_dump(&to_vm(a)->devs, fd);
}

int arcvmm_exit_fd(const struct arcvmm *a)
{
    return a->vm.exit_efd;
}

/* vm->state is the lifecycle (STOPPED once the threads are joined); the
 * caller is told STOPPED as soon as the VM has ended. */
enum arcvmm_state arcvmm_get_state(struct arcvmm *a)
{
    struct vm *vm = to_vm(a);
    pthread_mutex_lock(&vm->lock);
    enum arcvmm_state s = vm->ended ? ARCVMM_STOPPED : vm->state;
    pthread_mutex_unlock(&vm->lock);
    return s;
}

void arcvmm_destroy(struct arcvmm *a)
{
    if (!a)
        return;
    struct vm *vm = to_vm(a);
    if (vm->state == ARCVMM_RUNNING || vm->state == ARCVMM_PAUSED) {
        if (arcvmm_stop(a) < 0) {
            /* A vCPU thread is stuck; freeing its memory under it would be
             * worse than leaking the VM. */
            log_err("VM not freed: a vCPU thread did not stop");
            return;
        }
    }
    for (int i = 0; i < vm->ncpus; i++)
        hv_vcpu_destroy(vm->vcpus[i].hv);
    free(vm->vcpus);
    vm_destroy_devices(vm);     /* devices first: their workers use memory */
    arch_vm_teardown(vm);
    console_close(&vm->console);
    evloop_destroy(vm->loop);
    bus_free(&vm->pio);
    bus_free(&vm->mmio);
    hv_vm_destroy(vm->hv);      /* before the memory it maps */
    mem_unmap(&vm->mem);
    if (vm->exit_efd >= 0)
        close(vm->exit_efd);
    for (size_t i = 0; i < sizeof(vm->cfg_strings) / sizeof(vm->cfg_strings[0]); i++)
        free(vm->cfg_strings[i]);
    pthread_cond_destroy(&vm->cond);
    pthread_mutex_destroy(&vm->lock);
    pthread_mutex_destroy(&vm->stop_lock);
    free(a);
}
