/* The VMM thread's end of the API: the handler api/server.c runs on the
 * thread that calls api_server_dispatch (arcvmm's main thread). It routes
 * each request (api/routes.c) with the VM's phase read here, and carries
 * out what a route asks for: InstanceStart creates and starts the VM from
 * the configuration the API was given, PATCH /vm pauses or resumes it.
 * Only this thread touches the VM; the API loop thread never does. */
#ifndef ARCVMM_API_VMM_H
#define ARCVMM_API_VMM_H
#include "api/routes.h"
#include "api/server.h"
#include "arcvmm.h"

struct api_vmm {
    struct api_routes routes;
    struct arcvmm *vm;          /* NULL until InstanceStart; the caller destroys it */
    char cmdline[API_MAX_STR + 128];
    uint32_t cfg_flags;         /* ARCVMM_F_* for InstanceStart's VM (api_vmm_init: 0) */
};

/* Nothing started; id NULL: "anonymous-instance". */
void api_vmm_init(struct api_vmm *v, const char *id);
/* `arcvmm run --api-sock`: vm (created from cfg) runs already; the routes
 * report cfg as the configuration and refuse pre-boot changes. */
void api_vmm_attach(struct api_vmm *v, struct arcvmm *vm, const struct arcvmm_config *cfg);
/* An api_handler_fn; opaque is the struct api_vmm. */
void api_vmm_handle(void *opaque, const struct http_request *req, int *status, char **body);
#endif
