/* arcvmm public C library API.
 *
 * Lifecycle: arcvmm_config_init -> fill the config -> arcvmm_create (checks
 * every input, loads the kernel; no vCPU runs yet) -> arcvmm_start ->
 * arcvmm_pause/arcvmm_resume any number of times -> arcvmm_wait (blocks
 * until the guest powers off, resets or fails, or arcvmm_stop is called) ->
 * arcvmm_destroy. All functions return 0 or a negative errno unless noted.
 * Several VMs may live in one process. */
#ifndef ARCVMM_H
#define ARCVMM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum arcvmm_console_mode {
    ARCVMM_CONSOLE_STDIO,  /* guest console <-> the console fds (default stdin/stdout) */
    ARCVMM_CONSOLE_FILE,   /* guest output appended to console_path, no input */
    ARCVMM_CONSOLE_NONE,   /* output discarded, no input */
};

#define ARCVMM_MAX_DISKS 8

#define ARCVMM_MAX_NETS 4

/* How virtio devices reach the guest. */
enum arcvmm_transport {
    ARCVMM_TRANSPORT_MMIO,    /* virtio-mmio windows (ACPI LNRO0005 / FDT virtio,mmio) */
    ARCVMM_TRANSPORT_PCI,     /* virtio-pci functions on a PCI host bridge, MSI-X */
};

struct arcvmm_disk {
    const char *path;         /* raw image file */
    int readonly;             /* guest writes fail, the file is opened read-only */
    const char *serial;       /* VIRTIO_BLK_T_GET_ID answer (<= 20 bytes), or NULL */
};

/* A virtio-net NIC on a tap. The tap is attached to if it exists (for
 * queues > 1 it must be multi-queue), else created (needs CAP_NET_ADMIN)
 * and removed when the VM ends. */
struct arcvmm_net {
    const char *tap;          /* the tap's name (required, < 16 bytes) */
    uint8_t mac[6];           /* the guest's MAC (unicast, not all zeros) */
    int has_mac;              /* 0: a default MAC, see arcvmm_net_default_mac */
    int queues;               /* queue pairs, 1..cpus (0: 1) */
    int mtu;                  /* 68..65535 (0: 1500); applied to a tap arcvmm creates */
};

/* A virtio-vsock device whose host side is Firecracker's hybrid Unix-socket
 * protocol: host programs connect to uds_path and write "CONNECT <port>\n";
 * a guest connect to CID 2 port P reaches the Unix socket "<uds_path>_<P>". */
struct arcvmm_vsock {
    uint64_t guest_cid;       /* 0: no vsock device; else 3..4294967294 */
    const char *uds_path;     /* the listener (created at start, removed at exit) */
};

struct arcvmm_config {
    const char *kernel;       /* bzImage or ELF vmlinux with a PVH note (required) */
    const char *initrd;       /* optional */
    const char *cmdline;      /* NULL: ARCVMM_DEFAULT_CMDLINE */
    int cpus;                 /* 1..arcvmm_max_cpus() */
    uint64_t memory_mib;      /* guest RAM in MiB */
    enum arcvmm_console_mode console;
    const char *console_path; /* for ARCVMM_CONSOLE_FILE */
    int console_in_fd;        /* STDIO mode: input fd (default 0, -1 for none) */
    int console_out_fd;       /* STDIO mode: output fd (default 1) */
    struct arcvmm_disk disks[ARCVMM_MAX_DISKS];  /* virtio-blk, /dev/vda, vdb, ... */
    int ndisks;
    struct arcvmm_net nets[ARCVMM_MAX_NETS];     /* virtio-net, eth0, eth1, ... */
    int nnets;
    enum arcvmm_transport transport;  /* every virtio device's (default ARCVMM_TRANSPORT_DEFAULT) */
    /* 1: let the host's KSM merge guest RAM pages that are identical to
     * other pages on the host (MADV_MERGEABLE). Saves memory when many
     * similar VMs run, but merged pages are shared across VMs and
     * tenants, and the copy-on-write timing of a merged page lets one
     * guest learn what another holds (known cross-VM side channels).
     * Default 0: guest RAM is never merged, even if the process was put
     * in KSM's merge-any mode. */
    int mem_merge;
    struct arcvmm_vsock vsock;        /* at most one vsock device */
};

/* The transport arcvmm_config_init picks: virtio-pci, which measured
 * ahead of virtio-mmio on every disk benchmark row (4 KiB random reads at
 * QD1 about 1.5x, as a request costs no exit with MSI-X) and boots a guest
 * with a disk no slower; a VM without devices has no PCI bridge at all. */
#define ARCVMM_TRANSPORT_DEFAULT ARCVMM_TRANSPORT_PCI

/* The guest console is COM1 (ttyS0) on x86 and the PL011 (ttyAMA0) on arm64. */
#if defined(__aarch64__)
#define ARCVMM_DEFAULT_CMDLINE "console=ttyAMA0 panic=-1"
#else
#define ARCVMM_DEFAULT_CMDLINE "console=ttyS0 reboot=k panic=-1"
#endif

enum arcvmm_state {
    ARCVMM_CREATED, ARCVMM_RUNNING, ARCVMM_PAUSED, ARCVMM_STOPPED,
};

enum arcvmm_exit_reason {
    ARCVMM_EXIT_NONE,       /* still running */
    ARCVMM_EXIT_POWEROFF,   /* guest powered off */
    ARCVMM_EXIT_RESET,      /* guest rebooted */
    ARCVMM_EXIT_STOPPED,    /* arcvmm_stop() was called */
    ARCVMM_EXIT_ERROR,      /* the VM failed; message says why */
};

struct arcvmm_exit {
    enum arcvmm_exit_reason reason;
    char message[1024];     /* for ERROR: reason and vCPU registers */
};

struct arcvmm;

const char *arcvmm_version(void);
/* Defaults: 1 cpu, 256 MiB, console on stdio, no initrd. */
void arcvmm_config_init(struct arcvmm_config *cfg);
/* Largest vCPU count this host's hypervisor and arcvmm support, or a negative errno. */
int arcvmm_max_cpus(void);
/* The MAC a NIC gets without one: locally administered unicast
 * 02:ac:XX:XX:XX:XX, XX the FNV-1a hash of the tap name and the NIC's
 * index, so the same configuration gives the same MACs on every run and
 * two NICs of one VM differ. */
void arcvmm_net_default_mac(const char *tap, int index, uint8_t mac[6]);
/* Validate cfg, create the VM and load the guest. On failure *out is NULL and
 * err holds one line naming the bad input and the reason. */
int arcvmm_create(const struct arcvmm_config *cfg, struct arcvmm **out, char *err, size_t errlen);
/* Start every vCPU. Returns once they all run. */
int arcvmm_start(struct arcvmm *vm);
/* Stop every vCPU and return only when all of them are parked outside the guest. */
int arcvmm_pause(struct arcvmm *vm);
int arcvmm_resume(struct arcvmm *vm);
/* End the VM: every vCPU and helper thread is joined within a bounded time
 * (-ETIMEDOUT otherwise). Safe to call in any state, more than once, and
 * from several threads at once (with arcvmm_wait too). */
int arcvmm_stop(struct arcvmm *vm);
/* Block until the VM ends; fills *ex (may be NULL). */
int arcvmm_wait(struct arcvmm *vm, struct arcvmm_exit *ex);
/* An fd that becomes readable once the VM has ended (for poll loops). */
int arcvmm_exit_fd(const struct arcvmm *vm);
enum arcvmm_state arcvmm_get_state(struct arcvmm *vm);
/* What the vCPUs cost so far: exits to arcvmm (userspace), summed over
 * vCPUs. Exits KVM handles itself (ioeventfd, irqfd, timers) are not here. */
struct arcvmm_stats {
    uint64_t exits;         /* every return from KVM_RUN */
    uint64_t pio_exits;     /* port I/O dispatched */
    uint64_t mmio_exits;    /* MMIO dispatched */
};
int arcvmm_get_stats(struct arcvmm *vm, struct arcvmm_stats *st);
/* Stop (if needed) and free everything. NULL is fine. */
void arcvmm_destroy(struct arcvmm *vm);

#ifdef __cplusplus
}
#endif
#endif
