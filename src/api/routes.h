/* Firecracker-compatible API routes: (method, path, JSON body, VM phase)
 * -> a change of the pre-boot configuration, an answer, or an action for
 * the VMM to carry out. No I/O and no VM here (unit-tested without one):
 * the server (api/server.c) owns a struct api_routes, feeds it each
 * parsed request on its loop thread, and runs the returned action.
 *
 * Every error is a 400 with {"fault_message": "..."} naming the field or
 * route and the reason, and leaves the configuration as it was. Routes are
 * one table in routes.c; a device's routes (network-interfaces, vsock) are
 * rows added there with their handler. */
#ifndef ARCVMM_API_ROUTES_H
#define ARCVMM_API_ROUTES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/http.h"
#include "arcvmm.h"

#define API_MAX_STR 4096
#define API_MAX_ID 64
#define API_MAX_VCPUS 32
#define API_MAX_UDS_PATH 107     /* sockaddr_un.sun_path, NUL excluded */

enum api_phase { API_NOT_STARTED, API_RUNNING, API_PAUSED };

struct api_drive {
    char id[API_MAX_ID];
    char path[API_MAX_STR];
    bool root, readonly;
    char partuuid[API_MAX_ID];
    char cache_type[16];        /* "Unsafe" or "Writeback" */
    char io_engine[8];          /* "Sync" or "Async" */
};

struct api_net {
    char id[API_MAX_ID];
    char host_dev_name[16];     /* the tap (IFNAMSIZ) */
    uint8_t mac[6];
    bool has_mac;
    int mtu;                    /* 0: not given (1500) */
};

/* PUT /vsock: stored, and handed to the library as arcvmm_config.vsock
 * for the vsock device to read. */
struct api_vsock {
    uint32_t guest_cid;         /* 0: no vsock; else >= 3 */
    char uds_path[API_MAX_STR];
};

/* PUT /logger: carried out by the VMM (api/vmm.c, main.c), not here. */
struct api_logger {
    bool set;
    char log_path[API_MAX_STR]; /* "" : stderr */
    char level[16];             /* Error/Warning/Info/Debug/Trace/Off, "" : unchanged */
    bool show_level, show_log_origin;
};

/* What the API has been told before InstanceStart. */
struct api_vmcfg {
    bool has_kernel;
    char kernel[API_MAX_STR], initrd[API_MAX_STR], boot_args[API_MAX_STR];
    bool has_boot_args;
    int vcpu_count;             /* default 1 */
    uint64_t mem_size_mib;      /* default 128 */
    bool smt, track_dirty_pages;
    struct api_drive drives[ARCVMM_MAX_DISKS];
    int ndrives;
    struct api_net nets[ARCVMM_MAX_NETS];
    int nnets;
    struct api_vsock vsock;
    struct api_logger logger;
    char metrics_path[API_MAX_STR];     /* "" : no metrics file */
};

struct api_routes {
    struct api_vmcfg cfg;
    char id[API_MAX_ID];        /* --id, "anonymous-instance" by default */
};

/* API_ACT_LOGGER: apply cfg.logger (PUT /logger); API_ACT_METRICS: open
 * cfg.metrics_path (PUT /metrics); API_ACT_FLUSH_METRICS: FlushMetrics. */
enum api_action { API_ACT_NONE, API_ACT_START, API_ACT_PAUSE, API_ACT_RESUME, API_ACT_LOGGER,
                  API_ACT_METRICS, API_ACT_FLUSH_METRICS };

struct api_reply {
    int status;                 /* 200, 204 or 400 */
    char *body;                 /* malloc'd JSON (200 and 400), or NULL; caller frees */
    enum api_action action;     /* for the VMM to carry out before answering */
};

/* Defaults (1 vCPU, 128 MiB, no kernel, no drives); id NULL: anonymous. */
void api_routes_init(struct api_routes *r, const char *id);
/* Route one request. phase is the VM's now. Fills *rep; 0, or -ENOMEM
 * (rep then holds a 400 without body). */
int api_route(struct api_routes *r, enum api_phase phase, enum http_method m,
              const char *method_str, const char *path, const char *body, size_t len,
              struct api_reply *rep);
/* A 400 reply with {"fault_message": msg} (used by the server for its own
 * errors, e.g. a failed InstanceStart). */
void api_reply_fault(struct api_reply *rep, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The library configuration InstanceStart boots: cfg's kernel, drives (the
 * root drive first), boot_args (+ "root=/dev/vda" and ro/rw when a root
 * drive is set; the default command line when none was given), into out,
 * whose strings point into r and cmdline (cmdlen bytes). 0 or -ENAMETOOLONG. */
int api_build_config(const struct api_routes *r, struct arcvmm_config *out,
                     char *cmdline, size_t cmdlen);

/* The drive ids in the order api_build_config gives their disks (the
 * root drive first): ids[i] names disk i. Their count. */
int api_disk_ids(const struct api_routes *r, const char *ids[ARCVMM_MAX_DISKS]);

/* Firecracker's spelling of a logger level s (any case: "Error",
 * "Warning", "Info", "Debug", "Trace", "Off"), or NULL if s is none. */
const char *api_log_level_name(const char *s);

/* --config-file: a document in Firecracker's config-file schema
 * ("boot-source", "drives", "machine-config", "network-interfaces",
 * "vsock", "logger", "metrics"; a section may be null) applied onto r's
 * configuration through the same handlers as the API's PUTs, in the order
 * logger, metrics, machine-config, boot-source, drives, network-interfaces,
 * vsock. 0, or -EINVAL with one line in err naming the section and field
 * (r then unchanged), or -ENOMEM. */
int api_config_load(struct api_routes *r, const char *doc, size_t len, char *err, size_t errlen);
/* The whole configuration in that schema (GET /vm/config): malloc'd JSON
 * text, or NULL without memory. api_config_load of it gives the same
 * configuration. */
char *api_config_dump(const struct api_routes *r);
#endif
