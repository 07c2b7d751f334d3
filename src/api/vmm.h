/* The VMM thread's end of the API: the handler api/server.c runs on the
 * thread that calls api_server_dispatch (arcvmm's main thread). It routes
 * each request (api/routes.c) with the VM's phase read here, and carries
 * out what a route asks for: InstanceStart creates and starts the VM from
 * the configuration the API was given, PATCH /vm pauses or resumes it.
 * Only this thread touches the VM; the API loop thread never does. */
#ifndef ARCVMM_API_VMM_H
#define ARCVMM_API_VMM_H
#include "api/metrics.h"
#include "api/routes.h"
#include "api/server.h"
#include "arcvmm.h"

struct api_vmm {
    struct api_routes routes;
    struct arcvmm *vm;          /* NULL until InstanceStart; the caller destroys it */
    char cmdline[API_MAX_STR + 128];
    struct api_metrics metrics;     /* the metrics file, if any */
    /* The running VM's NICs as the metrics name them (its cfg.nets order):
     * the API's iface_id, or net0, ... for `run --net` */
    char net_ids[ARCVMM_MAX_NETS][API_MAX_ID];
    int nnet_ids;
    uint32_t cfg_flags;         /* ARCVMM_F_* for InstanceStart's VM (api_vmm_init: 0) */
};

/* Nothing started; id NULL: "anonymous-instance". */
void api_vmm_init(struct api_vmm *v, const char *id);
/* `arcvmm run --api-sock`: vm (created from cfg) runs already; the routes
 * report cfg as the configuration and refuse pre-boot changes. User-mode
 * NICs (--net user) are left out of it: Firecracker's schema has none. */
void api_vmm_attach(struct api_vmm *v, struct arcvmm *vm, const struct arcvmm_config *cfg);
/* InstanceStart (the API's, and a --config-file's at once): create and
 * start the VM from the routes' configuration. 0, or a negative errno with
 * one line in err. */
int api_vmm_start(struct api_vmm *v, char *err, size_t errlen);
/* Carry out a logger configuration (PUT /logger, --config-file's
 * "logger", --log-path/--level). 0, or a negative errno with
 * "PATH: reason" in err (the file could not be opened; nothing changed). */
int api_vmm_apply_logger(const struct api_logger *l, char *err, size_t errlen);
/* Open routes.cfg.metrics_path as the metrics file (PUT /metrics,
 * --metrics-path, the config file's "metrics"). 0, or a negative errno
 * with "PATH: reason" in err. */
int api_vmm_open_metrics(struct api_vmm *v, char *err, size_t errlen);
/* Append one metrics line (FlushMetrics, the periodic timer, the VM's
 * end). 0, -ENOENT without a metrics file, or a negative errno. */
int api_vmm_flush_metrics(struct api_vmm *v);
/* Close what the API opened (the metrics file); the VM is the caller's. */
void api_vmm_close(struct api_vmm *v);
/* An api_handler_fn; opaque is the struct api_vmm. */
void api_vmm_handle(void *opaque, const struct http_request *req, int *status, char **body);
#endif
