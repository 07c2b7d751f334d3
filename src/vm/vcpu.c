/* One thread per vCPU: KVM_RUN, dispatch the exit to a bus, check the
 * pause/stop requests. Nothing slow runs here.
 *
 * Kick protocol (no lost wake-ups): the requester first sets a bit in
 * vm->request, then sets the vCPU's immediate_exit flag, then signals the
 * thread. A vCPU about to enter the guest either sees the request bit, or
 * enters with immediate_exit set (KVM_RUN returns at once), or is already
 * inside and is interrupted by the signal. immediate_exit is cleared only
 * after KVM_RUN reported the interruption, before the request is re-read.
 *
 * The kick signal is never delivered, so the library installs no handler:
 * a vCPU thread blocks every signal, and KVM_SET_SIGNAL_MASK lets the kick
 * signal through only while the thread is inside KVM_RUN, where a pending
 * one makes KVM_RUN return EINTR without running a handler (KVM keeps the
 * thread's own mask as real_blocked, so a signal whose default action
 * would kill the process does not). The thread then takes the pending
 * kicks off with sigtimedwait. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "hv/hv.h"
#include "vm/vm.h"

static int kick_signal(void)
{
    return SIGRTMIN + 1;
}

/* On the vCPU thread, before its first KVM_RUN: inside the guest the
 * thread's mask (everything but what libc keeps for itself, e.g. the
 * set*id broadcast, which must never wait for a guest) minus the kick. */
static int vcpu_signals_setup(struct vcpu *v)
{
    sigset_t in_guest;
    pthread_sigmask(SIG_BLOCK, NULL, &in_guest);
    sigdelset(&in_guest, kick_signal());
    return hv_vcpu_set_sigmask(v->hv, &in_guest);
}

/* Take every pending kick off this thread (they are blocked here). */
static void kick_drain(void)
{
    sigset_t kick;
    sigemptyset(&kick);
    sigaddset(&kick, kick_signal());
    const struct timespec zero = { 0, 0 };
    while (sigtimedwait(&kick, NULL, &zero) > 0 || errno == EINTR)
        ;
}

/* A thread that marked itself exited (under vm->lock, see the end of
 * vcpu_thread) is past KVM_RUN for good and may be joined at any moment
 * once the lock is dropped: it is never signalled, since pthread_kill on a
 * joined thread is undefined (its id may even name a new thread). */
void vcpu_kick(struct vcpu *v)
{
    if (!v->hv)
        return;
    hv_vcpu_kick_set(v->hv);
    if (v->thread_started && !v->exited)
        pthread_kill(v->thread, kick_signal());
}

/* Park while a pause is requested. Returns true when the vCPU must stop. */
static bool vcpu_check_requests(struct vcpu *v)
{
    struct vm *vm = v->vm;
    bool stop = false;
    pthread_mutex_lock(&vm->lock);
    for (;;) {
        unsigned req = atomic_load(&vm->request);
        if (req & VM_REQ_STOP) {
            stop = true;
            break;
        }
        if (!(req & VM_REQ_PAUSE))
            break;
        if (!v->parked) {
            v->parked = true;
            vm->nparked++;
            pthread_cond_broadcast(&vm->cond);
        }
        pthread_cond_wait(&vm->cond, &vm->lock);
    }
    if (v->parked) {
        v->parked = false;
        vm->nparked--;
    }
    pthread_mutex_unlock(&vm->lock);
    return stop;
}

static void vcpu_fatal(struct vcpu *v, const char *why)
{
    char regs[700], msg[sizeof(((struct arcvmm_exit *)0)->message)];
    hv_vcpu_dump(v->hv, regs, sizeof(regs));
    snprintf(msg, sizeof(msg), "vcpu%d: %s; %s", v->index, why, regs);
    vm_end(v->vm, ARCVMM_EXIT_ERROR, msg);
}

/* The guest reset the machine. A reset it did not ask for (why non-empty:
 * a triple fault) is still a reset, as on a PC, but it may be a crash: it
 * is logged (visible with -v) and kept in the exit message, with the
 * registers at that moment. */
static void vcpu_reset(struct vcpu *v, const char *why)
{
    if (!why[0]) {
        vm_end(v->vm, ARCVMM_EXIT_RESET, NULL);
        return;
    }
    char regs[700], msg[sizeof(((struct arcvmm_exit *)0)->message)];
    hv_vcpu_dump(v->hv, regs, sizeof(regs));
    snprintf(msg, sizeof(msg), "vcpu%d: %s, taken as a reset; %s", v->index, why, regs);
    log_info("%s", msg);
    vm_end(v->vm, ARCVMM_EXIT_RESET, msg);
}

static void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    struct hv_exit e;
    int sr = vcpu_signals_setup(v);
    if (sr < 0) {
        char why[128];
        snprintf(why, sizeof(why), "KVM_SET_SIGNAL_MASK failed: %s", strerror(-sr));
        vcpu_fatal(v, why);
    }
    for (;;) {
        if (atomic_load_explicit(&vm->request, memory_order_acquire) && vcpu_check_requests(v))
            break;
        int r = hv_vcpu_run(v->hv, &e);
        if (r < 0) {
            char why[128];
            snprintf(why, sizeof(why), "KVM_RUN failed: %s", strerror(-r));
            vcpu_fatal(v, why);
            break;
        }
        atomic_fetch_add_explicit(&v->exits, 1, memory_order_relaxed);
        switch (e.kind) {
        case HV_EXIT_PIO:
            atomic_fetch_add_explicit(&v->pio_exits, 1, memory_order_relaxed);
            for (uint32_t i = 0; i < e.count; i++)
                if (!bus_access(&vm->pio, e.addr, e.data + (size_t)i * e.len, e.len, e.is_write))
                    log_debug("unclaimed port %s 0x%llx len %u", e.is_write ? "write" : "read",
                              (unsigned long long)e.addr, e.len);
            break;
        case HV_EXIT_MMIO:
            atomic_fetch_add_explicit(&v->mmio_exits, 1, memory_order_relaxed);
            if (!bus_access(&vm->mmio, e.addr, e.data, e.len, e.is_write))
                log_debug("unclaimed mmio %s 0x%llx len %u", e.is_write ? "write" : "read",
                          (unsigned long long)e.addr, e.len);
            break;
        case HV_EXIT_INTR:
            hv_vcpu_kick_clear(v->hv);
            kick_drain();
            break;
        case HV_EXIT_POWEROFF:
            vm_end(vm, ARCVMM_EXIT_POWEROFF, NULL);
            break;
        case HV_EXIT_RESET:
            vcpu_reset(v, e.reason);
            break;
        case HV_EXIT_FATAL:
            vcpu_fatal(v, e.reason);
            break;
        case HV_EXIT_OTHER:
            break;
        }
    }
    /* The last touch of the VM: from here on kicks skip this thread, so a
     * joiner (which can only return after this) never races a kick. */
    pthread_mutex_lock(&vm->lock);
    v->exited = true;
    vm->nrunning--;
    pthread_cond_broadcast(&vm->cond);
    pthread_mutex_unlock(&vm->lock);
    return NULL;
}

/* The thread starts with every signal blocked (see the top). */
int vcpu_start(struct vcpu *v)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int r = pthread_create(&v->thread, NULL, vcpu_thread, v);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r)
        return -r;
    v->thread_started = true;
    return 0;
}
