/* arcvmm public C library API.
 *
 * Lifecycle: arcvmm_config_init -> fill the config -> arcvmm_create (checks
 * every input, loads the kernel; no vCPU runs yet) -> arcvmm_start ->
 * arcvmm_pause/arcvmm_resume any number of times -> arcvmm_wait (blocks
 * until the guest powers off, resets or fails, or arcvmm_stop is called) ->
 * arcvmm_destroy. All functions return 0 or a negative errno unless noted;
 * a file that cannot be used keeps its errno (-ENOENT for a missing
 * kernel, -EACCES for one that cannot be read). Several VMs may live in
 * one process.
 *
 * Linking: `pkg-config --cflags --libs arcvmm` (add --static to link
 * libarcvmm.a, whose Libs.private are liburing and friends). Either
 * library defines only the arcvmm_* names declared here: a program may
 * use any other name (log_msg, file_check, ...) for itself.
 *
 * Compatibility: a program built against an older arcvmm.h keeps working
 * with a newer library of the same soname (libarcvmm.so.0). The structs
 * the library reads or fills travel with their size: arcvmm_config_init,
 * arcvmm_wait and arcvmm_get_stats are inline wrappers passing sizeof as
 * the program's header has it. Fields are only ever added at the end of
 * a struct, and a field added later means "as before" when it is 0.
 * ARCVMM_MAX_DISKS, ARCVMM_MAX_NETS, struct arcvmm_disk and struct
 * arcvmm_net are arrays inside arcvmm_config and so are fixed for good.
 *
 * Process-wide effects: none the caller does not ask for.
 * - Signals: the library installs no signal handler and changes no
 *   signal's disposition, nor the mask of any thread but its own. Its
 *   threads block every signal. To pause or stop, a vCPU thread is sent
 *   SIGRTMIN+1 (to that thread only), which KVM lets through only inside
 *   KVM_RUN, where it interrupts the guest without being delivered; the
 *   thread then takes it off with sigtimedwait, so no handler ever runs.
 *   A program should not send SIGRTMIN+1 to the whole process: a vCPU
 *   thread inside KVM_RUN may take it, and it is then lost.
 * - SIGPIPE: a console output pipe whose reader is gone does not raise
 *   SIGPIPE in the program; guest output is then discarded (one warning).
 * - The terminal: a console input fd that is a terminal is left as it is
 *   unless ARCVMM_F_TTY_RAW asks for raw mode.
 * - stderr: warnings and errors (rate-limited ones for guest errors) are
 *   written there, one line each.
 * - Guest RAM is mapped into the process (mmap) and freed by
 *   arcvmm_destroy; the kernel, initrd and disks are opened O_CLOEXEC. */
#ifndef ARCVMM_H
#define ARCVMM_H
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARCVMM_VERSION "0.1.0"

/* What the library exports (everything else is hidden). */
#if defined(__GNUC__)
#define ARCVMM_API __attribute__((visibility("default")))
#else
#define ARCVMM_API
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

/* A virtio-net NIC on a tap, or on user-mode networking (libslirp: no
 * root, no tap; arcvmm_config.net_user). The tap is attached to if it
 * exists (for queues > 1 it must be multi-queue), else created (needs
 * CAP_NET_ADMIN) and removed when the VM ends. */
struct arcvmm_net {
    const char *tap;          /* the tap's name (< 16 bytes); NULL for a user NIC */
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

/* arcvmm_config.flags: effects beyond the VM itself, each only when asked. */
/* STDIO console whose input fd is a terminal: put the terminal in raw
 * mode (bytes go to the guest unprocessed; the host keeps its output
 * processing), restored when the VM stops; in raw mode Ctrl-A x ends the
 * VM (ARCVMM_EXIT_STOPPED) and Ctrl-A Ctrl-A sends one Ctrl-A. Without
 * it the terminal is untouched and every byte goes to the guest. */
#define ARCVMM_F_TTY_RAW 0x1u
#define ARCVMM_F_ALL     ARCVMM_F_TTY_RAW   /* every flag this header knows */

struct arcvmm_config {
    size_t size;              /* sizeof(struct arcvmm_config) as the program has it: set by
                               * arcvmm_config_init, checked by arcvmm_create */
    uint32_t flags;           /* ARCVMM_F_* (default 0); an unknown bit is refused */
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
    /* The first version of this struct ends here: new fields go below,
     * never above (src/vm/vm.c: CONFIG_SIZE_V0). */
    /* NIC i on user-mode networking (libslirp) instead of a tap: its
     * options as after `--net user,` ("" for the defaults: the network
     * 10.0.2.0/24, the guest 10.0.2.15 by DHCP, the host .2, DNS .3),
     * e.g. "hostfwd=tcp::8022-:22,net=10.0.3.0/24"; nets[i].tap is then
     * NULL, queues and mtu 0, mac as for a tap. NULL (as in a program
     * built before this field): nets[i] is a tap. */
    const char *net_user[ARCVMM_MAX_NETS];
    struct arcvmm_vsock vsock;  /* guest_cid 0: no vsock device */
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
    ARCVMM_CREATED,         /* arcvmm_create returned; no vCPU has run yet */
    ARCVMM_RUNNING,
    ARCVMM_PAUSED,
    ARCVMM_STOPPED,         /* the VM has ended: the guest powered off, reset or
                             * failed, or arcvmm_stop was called; arcvmm_wait
                             * returns at once and says why */
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

/* What the vCPUs cost so far: exits to arcvmm (userspace), summed over
 * vCPUs. Exits KVM handles itself (ioeventfd, irqfd, timers) are not here. */
struct arcvmm_stats {
    uint64_t exits;         /* every return from KVM_RUN */
    uint64_t pio_exits;     /* port I/O dispatched */
    uint64_t mmio_exits;    /* MMIO dispatched */
};

ARCVMM_API const char *arcvmm_version(void);
/* Defaults (1 cpu, 256 MiB, console on stdio, no initrd, no flags) into
 * the first size bytes of *cfg, and cfg->size = size. -EINVAL if size
 * cannot hold the size field. Call it through arcvmm_config_init. */
ARCVMM_API int arcvmm_config_init_size(struct arcvmm_config *cfg, size_t size);
static inline void arcvmm_config_init(struct arcvmm_config *cfg)
{
    arcvmm_config_init_size(cfg, sizeof(*cfg));
}
/* Largest vCPU count this host's hypervisor and arcvmm support, or a negative errno. */
ARCVMM_API int arcvmm_max_cpus(void);
/* The MAC a NIC gets without one: locally administered unicast
 * 02:ac:XX:XX:XX:XX, XX the FNV-1a hash of the tap name ("user" for a
 * user NIC) and the NIC's index, so the same configuration gives the same
 * MACs on every run and two NICs of one VM differ. */
ARCVMM_API void arcvmm_net_default_mac(const char *tap, int index, uint8_t mac[6]);
/* Validate cfg, create the VM and load the guest. On failure *out is NULL and
 * err holds one line naming the bad input and the reason. A cfg->size
 * smaller than the first arcvmm_config (a config not made by
 * arcvmm_config_init) is -EINVAL; a larger one than this library knows is
 * fine if the bytes past its end are 0, else -E2BIG (the program sets a
 * field this older library does not have). */
ARCVMM_API int arcvmm_create(const struct arcvmm_config *cfg, struct arcvmm **out, char *err,
                             size_t errlen);
/* Start every vCPU. Returns once they all run. */
ARCVMM_API int arcvmm_start(struct arcvmm *vm);
/* Stop every vCPU and return only when all of them are parked outside
 * the guest. Pausing a paused VM or resuming a running one is 0; either
 * is -EINVAL before arcvmm_start and once the VM has ended. */
ARCVMM_API int arcvmm_pause(struct arcvmm *vm);
ARCVMM_API int arcvmm_resume(struct arcvmm *vm);
/* End the VM: every vCPU and helper thread is joined within a bounded time
 * (-ETIMEDOUT otherwise). Safe to call in any state, more than once, and
 * from several threads at once (with arcvmm_wait too). */
ARCVMM_API int arcvmm_stop(struct arcvmm *vm);
/* Block until the VM ends, then join its threads as arcvmm_stop does;
 * fills the first size bytes of *ex (ex may be NULL). Call it through
 * arcvmm_wait. */
ARCVMM_API int arcvmm_wait_size(struct arcvmm *vm, struct arcvmm_exit *ex, size_t size);
static inline int arcvmm_wait(struct arcvmm *vm, struct arcvmm_exit *ex)
{
    return arcvmm_wait_size(vm, ex, sizeof(struct arcvmm_exit));
}
/* An fd that becomes readable once the VM has ended (for poll loops). */
ARCVMM_API int arcvmm_exit_fd(const struct arcvmm *vm);
ARCVMM_API enum arcvmm_state arcvmm_get_state(struct arcvmm *vm);
/* Fills the first size bytes of *st. Call it through arcvmm_get_stats. */
ARCVMM_API int arcvmm_get_stats_size(struct arcvmm *vm, struct arcvmm_stats *st, size_t size);
static inline int arcvmm_get_stats(struct arcvmm *vm, struct arcvmm_stats *st)
{
    return arcvmm_get_stats_size(vm, st, sizeof(*st));
}
/* Debugging: write the state of every virtio queue (ring indices, the
 * driver's flags and event indices, the interrupt) to fd, one line each. */
ARCVMM_API void arcvmm_dump_queues(struct arcvmm *vm, int fd);
/* What disk `index` (cfg.disks[index]) has done for the guest so far:
 * requests completed, by kind, and their bytes; errors are requests that
 * failed on the host or were refused (bad, or a write to a read-only
 * disk). -EINVAL if there is no such disk. Fills the first size bytes of
 * *st: call it through arcvmm_get_disk_stats. */
struct arcvmm_disk_stats {
    uint64_t reads, writes, flushes;
    uint64_t read_bytes, write_bytes;
    uint64_t errors;
};
ARCVMM_API int arcvmm_get_disk_stats_size(struct arcvmm *vm, int index,
                                          struct arcvmm_disk_stats *st, size_t size);
static inline int arcvmm_get_disk_stats(struct arcvmm *vm, int index, struct arcvmm_disk_stats *st)
{
    return arcvmm_get_disk_stats_size(vm, index, st, sizeof(*st));
}
/* What NIC `index` (cfg.nets[index]) has moved so far: frames and bytes
 * each way; dropped: malformed TX chains the guest sent (never reached
 * the tap) and received frames its RX buffers could not take; errors:
 * the tap failed a read or write, or a control command failed. -EINVAL if
 * there is no such NIC. Fills the first size bytes of *st: call it
 * through arcvmm_get_net_stats. */
struct arcvmm_net_stats {
    uint64_t rx_frames, rx_bytes, tx_frames, tx_bytes;
    uint64_t rx_dropped, tx_dropped;
    uint64_t errors;
};
ARCVMM_API int arcvmm_get_net_stats_size(struct arcvmm *vm, int index,
                                         struct arcvmm_net_stats *st, size_t size);
static inline int arcvmm_get_net_stats(struct arcvmm *vm, int index, struct arcvmm_net_stats *st)
{
    return arcvmm_get_net_stats_size(vm, index, st, sizeof(*st));
}
/* Stop (if needed) and free everything. NULL is fine. */
ARCVMM_API void arcvmm_destroy(struct arcvmm *vm);

#ifdef __cplusplus
}
#endif
#endif
