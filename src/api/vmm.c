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
    api_metrics_init(&v->metrics);
}

int api_vmm_open_metrics(struct api_vmm *v, char *err, size_t errlen)
{
    return api_metrics_open(&v->metrics, v->routes.cfg.metrics_path, err, errlen);
}

int api_vmm_flush_metrics(struct api_vmm *v)
{
    struct api_metrics_names names;
    names.ndisks = api_disk_ids(&v->routes, names.disks);
    names.nnets = v->nnet_ids;
    for (int i = 0; i < names.nnets; i++)
        names.nets[i] = v->net_ids[i];
    return api_metrics_flush(&v->metrics, v->vm, &names);
}

void api_vmm_close(struct api_vmm *v)
{
    api_metrics_close(&v->metrics);
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
    c->nnets = 0;
    v->nnet_ids = 0;
    for (int i = 0; i < cfg->nnets && i < ARCVMM_MAX_NETS; i++) {
        snprintf(v->net_ids[v->nnet_ids++], API_MAX_ID, "net%d", i);
        if (!cfg->nets[i].tap)
            continue;               /* a user NIC */
        struct api_net *n = &c->nets[c->nnets++];
        memset(n, 0, sizeof(*n));
        snprintf(n->id, sizeof(n->id), "net%d", i);
        snprintf(n->host_dev_name, sizeof(n->host_dev_name), "%s",
                 cfg->nets[i].tap ? cfg->nets[i].tap : "");
        n->has_mac = cfg->nets[i].has_mac;
        memcpy(n->mac, cfg->nets[i].mac, 6);
        n->mtu = cfg->nets[i].mtu;
    }
}

static enum api_phase phase(struct api_vmm *v)
{
    if (!v->vm)
        return API_NOT_STARTED;
    return arcvmm_get_state(v->vm) == ARCVMM_PAUSED ? API_PAUSED : API_RUNNING;
}

int api_vmm_start(struct api_vmm *v, char *err, size_t errlen)
{
    struct arcvmm_config cfg;
    if (api_build_config(&v->routes, &cfg, v->cmdline, sizeof(v->cmdline)) < 0) {
        snprintf(err, errlen, "the kernel command line is longer than %zu bytes",
                 sizeof(v->cmdline) - 1);
        return -ENAMETOOLONG;
    }
    cfg.flags |= v->cfg_flags;
    struct arcvmm *vm;
    int r = arcvmm_create(&cfg, &vm, err, errlen);
    if (r < 0)
        return r;
    if ((r = arcvmm_start(vm)) < 0) {
        arcvmm_destroy(vm);
        snprintf(err, errlen, "could not start the vCPUs: %s", strerror(-r));
        return r;
    }
    log_info("api: InstanceStart: %d vCPU(s), %llu MiB, kernel %s", cfg.cpus,
             (unsigned long long)cfg.memory_mib, cfg.kernel);
    v->vm = vm;
    v->nnet_ids = v->routes.cfg.nnets;
    for (int i = 0; i < v->nnet_ids; i++)
        memcpy(v->net_ids[i], v->routes.cfg.nets[i].id, API_MAX_ID);
    return 0;
}

static enum log_level level_of(const char *name)
{
    static const struct { const char *name; enum log_level lvl; } map[] = {
        { "Error", LOG_ERROR }, { "Warning", LOG_WARN }, { "Info", LOG_INFO },
        { "Debug", LOG_DEBUG }, { "Trace", LOG_DEBUG }, { "Off", LOG_OFF },
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(map[i].name, name))
            return map[i].lvl;
    return LOG_WARN;
}

int api_vmm_apply_logger(const struct api_logger *l, char *err, size_t errlen)
{
    if (l->log_path[0]) {
        int r = log_set_path(l->log_path);
        if (r < 0) {
            snprintf(err, errlen, "%s: %s", l->log_path,
                     r == -ENXIO ? "a FIFO without a reader" : strerror(-r));
            return r;
        }
    }
    if (l->level[0])
        log_set_level(level_of(l->level));
    log_set_show_level(l->show_level);
    return 0;
}

void api_vmm_handle(void *opaque, const struct http_request *req, int *status, char **body)
{
    struct api_vmm *v = opaque;
    struct api_reply rep;
    struct api_logger old_logger = v->routes.cfg.logger;
    char old_metrics[API_MAX_STR];
    memcpy(old_metrics, v->routes.cfg.metrics_path, sizeof(old_metrics));
    char err[512];
    api_route(&v->routes, phase(v), req->method, req->method_str, req->path, req->body,
              req->content_length, &rep);
    int r = 0;
    switch (rep.action) {
    case API_ACT_NONE:
        break;
    case API_ACT_START:
        if (api_vmm_start(v, err, sizeof(err)) < 0)
            api_reply_fault(&rep, "InstanceStart: %s", err);
        break;
    case API_ACT_LOGGER:
        /* without a log_path the lines stay where they go: say so in the config */
        if (!v->routes.cfg.logger.log_path[0])
            memcpy(v->routes.cfg.logger.log_path, old_logger.log_path, sizeof(old_logger.log_path));
        if (api_vmm_apply_logger(&v->routes.cfg.logger, err, sizeof(err)) < 0) {
            v->routes.cfg.logger = old_logger;
            api_reply_fault(&rep, "field `log_path`: %s", err);
        }
        break;
    case API_ACT_METRICS:
        if (api_vmm_open_metrics(v, err, sizeof(err)) < 0) {
            memcpy(v->routes.cfg.metrics_path, old_metrics, sizeof(old_metrics));
            api_reply_fault(&rep, "field `metrics_path`: %s", err);
        }
        break;
    case API_ACT_FLUSH_METRICS:
        if ((r = api_vmm_flush_metrics(v)) == -ENOENT)
            api_reply_fault(&rep, "FlushMetrics: no metrics file (PUT /metrics first)");
        else if (r < 0)
            api_reply_fault(&rep, "FlushMetrics: writing the metrics file failed: %s", strerror(-r));
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
