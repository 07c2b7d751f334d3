/* libFuzzer target for the API from the wire to the VM configuration:
 * raw bytes through the HTTP parser (api/http.c), every request parsed
 * routed (api/routes.c) against one configuration that lives for the
 * whole input, and InstanceStart's configuration built (api_build_config).
 * Input: byte 0 picks the VM's phase (Not started, Running, Paused) for
 * the routes; the rest is what a client wrote on the socket.
 * Checked: every answer is 200 with a JSON body, 204 without one, or 400
 * with {"fault_message": string}; a 400 leaves the configuration exactly
 * as it was; the configuration stays within its bounds (1..32 vCPUs, at
 * most 8 drives, one root drive, NUL-terminated strings); a built config
 * has a kernel, <= 8 disks and a NUL-terminated command line.
 * arcvmm_version and arcvmm_config_init_size are stubbed here: the library's
 * vm.c would pull in the whole VMM. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"
#include "api/routes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const char *arcvmm_version(void)
{
    return "0.0.0-fuzz";
}

int arcvmm_config_init_size(struct arcvmm_config *cfg, size_t size)
{
    if (size != sizeof(*cfg))
        abort();
    memset(cfg, 0, sizeof(*cfg));
    cfg->size = size;
    cfg->cpus = 1;
    cfg->memory_mib = 256;
    cfg->console_out_fd = 1;
    return 0;
}

static void check_cfg(const struct api_vmcfg *c)
{
    if (c->vcpu_count < 1 || c->vcpu_count > API_MAX_VCPUS || c->mem_size_mib < 1 ||
        c->ndrives < 0 || c->ndrives > ARCVMM_MAX_DISKS ||
        !memchr(c->kernel, 0, sizeof(c->kernel)) || !memchr(c->initrd, 0, sizeof(c->initrd)) ||
        !memchr(c->boot_args, 0, sizeof(c->boot_args)) || (c->has_kernel && !c->kernel[0]))
        abort();
    int roots = 0;
    for (int i = 0; i < c->ndrives; i++) {
        const struct api_drive *d = &c->drives[i];
        if (!memchr(d->id, 0, sizeof(d->id)) || !d->id[0] || !memchr(d->path, 0, sizeof(d->path)))
            abort();
        roots += d->root;
        for (int j = 0; j < i; j++)
            if (!strcmp(c->drives[j].id, d->id))
                abort();        /* a drive id twice */
    }
    if (roots > 1)
        abort();
}

static void check_reply(const struct api_reply *rep)
{
    if (rep->status == 204) {
        if (rep->body)
            abort();
        return;
    }
    if (rep->status != 200 && rep->status != 400)
        abort();
    if (!rep->body)
        return;         /* out of memory: a 400 without body */
    json_t *j = json_loads(rep->body, 0, NULL);
    if (!j || !json_is_object(j))
        abort();
    if (rep->status == 400 && !json_is_string(json_object_get(j, "fault_message")))
        abort();
    json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    enum api_phase phase = (enum api_phase)(data[0] % 3);
    size--;
    char *buf = malloc(size ? size : 1);    /* exact size: ASan sees overreads */
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size);
    static struct api_routes r, before;
    api_routes_init(&r, NULL);
    size_t off = 0;
    for (int n = 0; n < 32 && off < size; n++) {
        struct http_request q;
        char err[128];
        int rc = http_parse(buf + off, size - off, HTTP_DEFAULT_MAX_BODY, &q, err, sizeof(err));
        if (rc <= 0)
            break;
        before = r;
        struct api_reply rep;
        api_route(&r, phase, q.method, q.method_str, q.path, q.body, q.content_length, &rep);
        check_reply(&rep);
        if (rep.status == 400 && memcmp(&before, &r, sizeof(r)))
            abort();            /* an error changed the configuration */
        check_cfg(&r.cfg);
        if (rep.action == API_ACT_START) {
            struct arcvmm_config cfg;
            static char cmdline[API_MAX_STR + 128];
            if (phase != API_NOT_STARTED || !r.cfg.has_kernel)
                abort();
            if (api_build_config(&r, &cfg, cmdline, sizeof(cmdline)) == 0 &&
                (!cfg.kernel || !cfg.kernel[0] || cfg.ndisks > ARCVMM_MAX_DISKS ||
                 cfg.ndisks != r.cfg.ndrives || !memchr(cmdline, 0, sizeof(cmdline)) ||
                 cfg.cpus != r.cfg.vcpu_count))
                abort();
        }
        if ((rep.action == API_ACT_PAUSE || rep.action == API_ACT_RESUME) &&
            phase == API_NOT_STARTED)
            abort();
        free(rep.body);
        off += (size_t)rc;
    }
    free(buf);
    return 0;
}
