/* The VM object behind the public `struct arcvmm`: memory, buses, vCPUs,
 * devices and the lifecycle state machine. Internal to the library; tests
 * use it to attach extra devices between arcvmm_create and arcvmm_start. */
#ifndef ARCVMM_VM_H
#define ARCVMM_VM_H
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "arcvmm.h"
#include "bus/bus.h"
#include "devmgr/devmgr.h"
#include "host/console.h"
#include "mem/mem.h"

struct hv_vm;
struct hv_vcpu;
struct evloop;

struct vcpu {
    struct vm *vm;
    int index;
    struct hv_vcpu *hv;
    pthread_t thread;
    bool thread_started;    /* under vm->lock: created and not yet joined */
    bool exited;            /* under vm->lock: the thread is returning, never kick it */
    bool parked;            /* under vm->lock */
    /* exits handled (arcvmm_get_stats): written by the vCPU thread only */
    _Atomic uint64_t exits, pio_exits, mmio_exits;
};

/* No kernel or initrd file larger than this is read. */
#define VM_MAX_IMAGE_BYTES (1ULL << 30)

/* vm->request bits: work a vCPU must do outside KVM_RUN */
#define VM_REQ_PAUSE  1u
#define VM_REQ_STOP   2u

struct vm {
    struct arcvmm_config cfg;   /* strings point into cfg_strings */
    char *cfg_strings[4 + 2 * ARCVMM_MAX_DISKS + ARCVMM_MAX_NETS + 1];  /* + vsock uds */
    struct hv_vm *hv;
    struct guest_mem mem;
    struct bus pio, mmio;
    struct console console;
    struct evloop *loop;        /* host-facing I/O (console, ...), one thread */
    int ncpus;
    struct vcpu *vcpus;
    void *arch;                 /* arch-private state (arch_vm_setup) */
    struct devmgr devs;         /* every virtio device, in attach order */

    pthread_mutex_t stop_lock;  /* one arcvmm_stop at a time (taken before lock) */
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* state changes, parking, acks */
    atomic_uint request;        /* VM_REQ_*: checked by vCPUs after each exit */
    enum arcvmm_state state;    /* under lock */
    int nparked;                /* vCPU threads parked for a pause */
    int nrunning;               /* vCPU threads that have not returned */
    struct arcvmm_exit exit;    /* first reason the VM ended */
    bool ended;
    int exit_efd;               /* eventfd, readable once ended */
};

/* Record why the VM ends (first caller wins), wake arcvmm_wait and ask
 * every vCPU to leave. Safe from any thread, including a vCPU thread. */
void vm_end(struct vm *vm, enum arcvmm_exit_reason reason, const char *msg);

/* The vCPU run loop (vm/vcpu.c). */
int vcpu_start(struct vcpu *v);
/* Interrupt the vCPU if it is inside the guest. Caller holds vm->lock,
 * which keeps the thread from being joined under the kick. */
void vcpu_kick(struct vcpu *v);
#endif
