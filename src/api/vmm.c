/* The VMM thread's end of the API, see vmm.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/vmm.h"
#include "base/log.h"

void api_vmm_init(struct api_vmm *v, const char *id)
{
    memset(v, 0, sizeof(*v));
    api_routes_init(&v->routes, id);
}

/* Copy s (may be NULL) into dst[API_MAX_STR]; over-long strings are cut
 * (they are only reported back by GET /vm/config). */
static void put(char *dst, const char *s)
{
    snprintf(dst, API_MAX_STR, "%s", s ? s : "");
}

void api_vmm_attach(struct api_vmm *v, struct arcvmm *vm, const struct arcvmm_config *cfg)
{
    struct api_vmcfg *c = &v->routes.cfg;
    v->vm = vm;
    c->has_kernel = true;
    put(c->kernel, cfg->kernel);
    put(c->initrd, cfg->initrd);
    c->has_boot_args = true;
    put(c->boot_args, cfg->cmdline ? cfg->cmdline : ARCVMM_DEFAULT_CMDLINE);
    c->vcpu_count = cfg->cpus;
    c->mem_size_mib = cfg->memory_mib;
    c->ndrives = 0;
    for (int i = 0; i < cfg->ndisks && i < ARCVMM_MAX_DISKS; i++) {
        struct api_drive *d = &c->drives[c->ndrives++];
        memset(d, 0, sizeof(*d));
        snprintf(d->id, sizeof(d->id), "drive%d", i);
        put(d->path, cfg->disks[i].path);
        d->readonly = cfg->disks[i].readonly;
        strcpy(d->cache_type, "Unsafe");
        strcpy(d->io_engine, "Sync");
    }
}

static enum api_phase phase(struct api_vmm *v)
{
    if (!v->vm)
        return API_NOT_STARTED;
    return arcvmm_get_state(v->vm) == ARCVMM_PAUSED ? API_PAUSED : API_RUNNING;
}

/* InstanceStart: the VM from the API's configuration, started. */
static void start(struct api_vmm *v, struct api_reply *rep)
{
    struct arcvmm_config cfg;
    char err[512];
    if (api_build_config(&v->routes, &cfg, v->cmdline, sizeof(v->cmdline)) < 0) {
        api_reply_fault(rep, "InstanceStart: the kernel command line is longer than %zu bytes",
                        sizeof(v->cmdline) - 1);
        return;
    }
    cfg.flags |= v->cfg_flags;
    struct arcvmm *vm;
    if (arcvmm_create(&cfg, &vm, err, sizeof(err)) < 0) {
        api_reply_fault(rep, "InstanceStart: %s", err);
        return;
    }
    int r = arcvmm_start(vm);
    if (r < 0) {
        arcvmm_destroy(vm);
        api_reply_fault(rep, "InstanceStart: could not start the vCPUs: %s", strerror(-r));
        return;
    }
    log_info("api: InstanceStart: %d vCPU(s), %llu MiB, kernel %s", cfg.cpus,
             (unsigned long long)cfg.memory_mib, cfg.kernel);
    v->vm = vm;
}

void api_vmm_handle(void *opaque, const struct http_request *req, int *status, char **body)
{
    struct api_vmm *v = opaque;
    struct api_reply rep;
    api_route(&v->routes, phase(v), req->method, req->method_str, req->path, req->body,
              req->content_length, &rep);
    int r = 0;
    switch (rep.action) {
    case API_ACT_NONE:
        break;
    case API_ACT_START:
        start(v, &rep);
        break;
    case API_ACT_PAUSE:
        if ((r = arcvmm_pause(v->vm)) < 0)
            api_reply_fault(&rep, "could not pause the microVM: %s", strerror(-r));
        break;
    case API_ACT_RESUME:
        if ((r = arcvmm_resume(v->vm)) < 0)
            api_reply_fault(&rep, "could not resume the microVM: %s", strerror(-r));
        break;
    }
    *status = rep.status;
    *body = rep.body;
}
