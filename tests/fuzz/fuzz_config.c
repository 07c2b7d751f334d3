/* libFuzzer target for --config-file: raw bytes as a config document
 * through api_config_load (jansson, then the API's PUT handlers per
 * section), onto a fresh configuration.
 * Checked: a refused document leaves the configuration exactly as it was
 * and says why in one line; an accepted one stays within its bounds (1..32
 * vCPUs, at most 8 drives with one root and no id twice, at most 4 NICs
 * with no id or tap twice, a vsock CID >= 3, NUL-terminated strings); its
 * dump (GET /vm/config) loads back into the same bytes and dumps the same
 * text; InstanceStart's configuration builds from it.
 * arcvmm_version and arcvmm_config_init are stubbed (fuzz/api_stubs.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "fuzz/api_stubs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);


#define TERMINATED(a) (memchr((a), 0, sizeof(a)) != NULL)

static void check_cfg(const struct api_vmcfg *c)
{
    if (c->vcpu_count < 1 || c->vcpu_count > API_MAX_VCPUS || c->mem_size_mib < 1 ||
        c->ndrives < 0 || c->ndrives > ARCVMM_MAX_DISKS || c->nnets < 0 ||
        c->nnets > ARCVMM_MAX_NETS || !TERMINATED(c->kernel) || !TERMINATED(c->initrd) ||
        !TERMINATED(c->boot_args) || (c->has_kernel && !c->kernel[0]) ||
        (c->vsock.guest_cid && (c->vsock.guest_cid < 3 || !c->vsock.uds_path[0])) ||
        !TERMINATED(c->vsock.uds_path) || !TERMINATED(c->logger.log_path) ||
        !TERMINATED(c->metrics_path))
        abort();
    int roots = 0;
    for (int i = 0; i < c->ndrives; i++) {
        const struct api_drive *d = &c->drives[i];
        if (!TERMINATED(d->id) || !d->id[0] || !TERMINATED(d->path) || !d->path[0])
            abort();
        roots += d->root;
        for (int j = 0; j < i; j++)
            if (!strcmp(c->drives[j].id, d->id))
                abort();
    }
    if (roots > 1)
        abort();
    for (int i = 0; i < c->nnets; i++) {
        const struct api_net *n = &c->nets[i];
        if (!TERMINATED(n->id) || !n->id[0] || !TERMINATED(n->host_dev_name) ||
            !n->host_dev_name[0] || (n->mtu && (n->mtu < 68 || n->mtu > 65535)) ||
            (n->has_mac && (n->mac[0] & 1)))
            abort();
        for (int j = 0; j < i; j++)
            if (!strcmp(c->nets[j].id, n->id) || !strcmp(c->nets[j].host_dev_name, n->host_dev_name))
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1);    /* exact size: ASan sees overreads */
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    static struct api_routes r, fresh, back;
    api_routes_init(&r, NULL);
    fresh = r;
    char err[512];
    err[0] = 0;
    int rc = api_config_load(&r, buf, size, err, sizeof(err));
    free(buf);
    if (rc < 0) {
        if (memcmp(&r, &fresh, sizeof(r)) || !err[0] || strchr(err, '\n'))
            abort();
        return 0;
    }
    check_cfg(&r.cfg);
    char *d1 = api_config_dump(&r);
    if (!d1)
        return 0;
    api_routes_init(&back, NULL);
    if (api_config_load(&back, d1, strlen(d1), err, sizeof(err)) < 0 ||
        memcmp(&back.cfg, &r.cfg, sizeof(r.cfg)))
        abort();                /* the dump does not give the same configuration */
    char *d2 = api_config_dump(&back);
    if (d2 && strcmp(d1, d2))
        abort();
    free(d1);
    free(d2);
    if (r.cfg.has_kernel) {
        struct arcvmm_config cfg;
        static char cmdline[API_MAX_STR + 128];
        if (api_build_config(&r, &cfg, cmdline, sizeof(cmdline)) == 0 &&
            (cfg.ndisks != r.cfg.ndrives || cfg.nnets != r.cfg.nnets ||
             cfg.cpus != r.cfg.vcpu_count || !memchr(cmdline, 0, sizeof(cmdline))))
            abort();
    }
    return 0;
}
