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

enum api_phase { API_NOT_STARTED, API_RUNNING, API_PAUSED };

struct api_drive {
    char id[API_MAX_ID];
    char path[API_MAX_STR];
    bool root, readonly;
    char partuuid[API_MAX_ID];
    char cache_type[16];        /* "Unsafe" or "Writeback" */
    char io_engine[8];          /* "Sync" or "Async" */
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
};

struct api_routes {
    struct api_vmcfg cfg;
    char id[API_MAX_ID];        /* --id, "anonymous-instance" by default */
};

enum api_action { API_ACT_NONE, API_ACT_START, API_ACT_PAUSE, API_ACT_RESUME };

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
#endif
