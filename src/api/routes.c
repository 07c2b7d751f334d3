/* Firecracker-compatible API routes, see routes.h. JSON through jansson. */
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "base/mac.h"

void api_reply_fault(struct api_reply *rep, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    rep->status = 400;
    rep->action = API_ACT_NONE;
    json_t *o = json_pack("{s:s}", "fault_message", msg);
    rep->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
}

/* Answer 200 with o (consumed). */
static void reply_json(struct api_reply *rep, json_t *o)
{
    rep->status = 200;
    rep->body = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!rep->body)
        api_reply_fault(rep, "out of memory");
}

static void reply_ok(struct api_reply *rep)
{
    rep->status = 204;
    rep->body = NULL;
}

/* ---- field checks: every key known, of its type, required ones there ---- */

enum ftype { F_STR, F_BOOL, F_UINT, F_OBJ };
struct field { const char *name; enum ftype type; bool required; };

static const char *ftype_name(enum ftype t)
{
    switch (t) {
    case F_STR: return "a string";
    case F_BOOL: return "a boolean";
    case F_UINT: return "a non-negative integer";
    default: return "an object";
    }
}

/* 0 if body is an object whose keys are all in fields with the right types
 * and has every required one; else a fault in rep and -EINVAL. An optional
 * field that is null is as if absent (it is removed from body), as
 * Firecracker takes it and GET /vm/config writes it. */
static int check_fields(json_t *body, const struct field *fields, struct api_reply *rep)
{
    if (!json_is_object(body)) {
        api_reply_fault(rep, "the request body must be a JSON object");
        return -EINVAL;
    }
    const char *key;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(body, tmp, key, v) {
        const struct field *f = fields;
        while (f->name && strcmp(f->name, key))
            f++;
        if (!f->name) {
            api_reply_fault(rep, "unknown field `%s`", key);
            return -EINVAL;
        }
        if (json_is_null(v) && !f->required) {
            json_object_del(body, key);
            continue;
        }
        bool ok = (f->type == F_STR && json_is_string(v)) ||
                  (f->type == F_BOOL && json_is_boolean(v)) ||
                  (f->type == F_UINT && json_is_integer(v) && json_integer_value(v) >= 0) ||
                  (f->type == F_OBJ && (json_is_object(v) || json_is_null(v)));
        if (!ok) {
            api_reply_fault(rep, "field `%s` must be %s", key, ftype_name(f->type));
            return -EINVAL;
        }
    }
    for (const struct field *f = fields; f->name; f++)
        if (f->required && !json_object_get(body, f->name)) {
            api_reply_fault(rep, "missing field `%s`", f->name);
            return -EINVAL;
        }
    return 0;
}

/* Copy string field name (if present) into dst[cap]; -EINVAL if too long. */
static int get_str(json_t *body, const char *name, char *dst, size_t cap, struct api_reply *rep)
{
    json_t *v = json_object_get(body, name);
    if (!v)
        return 0;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n >= cap || strlen(s) != n) {
        api_reply_fault(rep, "field `%s` is longer than %zu bytes or holds a NUL", name, cap - 1);
        return -EINVAL;
    }
    memcpy(dst, s, n + 1);
    return 0;
}

static bool get_bool(json_t *body, const char *name, bool dflt)
{
    json_t *v = json_object_get(body, name);
    return v ? json_is_true(v) : dflt;
}

/* Firecracker ids: non-empty, alphanumeric and '_'. */
static bool id_valid(const char *s)
{
    if (!*s || strlen(s) >= API_MAX_ID)
        return false;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z') || *s == '_'))
            return false;
    return true;
}

/* ---- handlers ---- */

struct req {
    struct api_routes *r;
    enum api_phase phase;
    const char *id;         /* the path's {id}, or NULL */
    json_t *body;           /* NULL for a route without body */
};

static const char *phase_name(enum api_phase p)
{
    return p == API_NOT_STARTED ? "Not started" : p == API_RUNNING ? "Running" : "Paused";
}

static void get_instance(struct req *q, struct api_reply *rep)
{
    reply_json(rep, json_pack("{s:s,s:s,s:s,s:s}", "id", q->r->id, "state",
                              phase_name(q->phase), "vmm_version", arcvmm_version(),
                              "app_name", "arcvmm"));
}

static void get_version(struct req *q, struct api_reply *rep)
{
    reply_json(rep, json_pack("{s:s}", "firecracker_version", arcvmm_version()));
}

static json_t *machine_json(const struct api_vmcfg *c)
{
    return json_pack("{s:i,s:I,s:b,s:b,s:s}", "vcpu_count", c->vcpu_count,
                     "mem_size_mib", (json_int_t)c->mem_size_mib, "smt", c->smt,
                     "track_dirty_pages", c->track_dirty_pages, "huge_pages", "None");
}

static void get_machine(struct req *q, struct api_reply *rep)
{
    reply_json(rep, machine_json(&q->r->cfg));
}

/* PUT (all required) or PATCH (any subset) /machine-config. */
static void set_machine(struct req *q, struct api_reply *rep, bool put)
{
    const struct field f[] = {
        { "vcpu_count", F_UINT, put }, { "mem_size_mib", F_UINT, put },
        { "smt", F_BOOL, false }, { "track_dirty_pages", F_BOOL, false },
        { "huge_pages", F_STR, false }, { "cpu_template", F_STR, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_vmcfg c = q->r->cfg;
    json_t *v;
    if ((v = json_object_get(q->body, "vcpu_count"))) {
        json_int_t n = json_integer_value(v);
        if (n < 1 || n > API_MAX_VCPUS) {
            api_reply_fault(rep, "field `vcpu_count`: %lld is outside 1..%d", (long long)n,
                            API_MAX_VCPUS);
            return;
        }
        c.vcpu_count = (int)n;
    }
    if ((v = json_object_get(q->body, "mem_size_mib"))) {
        json_int_t n = json_integer_value(v);
        if (n < 1 || (uint64_t)n > (1ull << 24)) {
            api_reply_fault(rep, "field `mem_size_mib`: %lld is outside 1..%llu", (long long)n,
                            1ull << 24);
            return;
        }
        c.mem_size_mib = (uint64_t)n;
    }
    c.smt = get_bool(q->body, "smt", put ? false : c.smt);
    if (c.smt) {
        api_reply_fault(rep, "field `smt`: simultaneous multithreading is not supported");
        return;
    }
    c.track_dirty_pages = get_bool(q->body, "track_dirty_pages", put ? false : c.track_dirty_pages);
    if ((v = json_object_get(q->body, "huge_pages")) && strcmp(json_string_value(v), "None")) {
        api_reply_fault(rep, "field `huge_pages`: only \"None\" is supported, not \"%s\"",
                        json_string_value(v));
        return;
    }
    if ((v = json_object_get(q->body, "cpu_template")) && strcmp(json_string_value(v), "None")) {
        api_reply_fault(rep, "field `cpu_template`: CPU templates are not supported");
        return;
    }
    q->r->cfg = c;
    reply_ok(rep);
}

static void put_machine(struct req *q, struct api_reply *rep) { set_machine(q, rep, true); }
static void patch_machine(struct req *q, struct api_reply *rep) { set_machine(q, rep, false); }

static void put_boot_source(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "kernel_image_path", F_STR, true }, { "boot_args", F_STR, false },
        { "initrd_path", F_STR, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_vmcfg *c = &q->r->cfg;
    char kernel[API_MAX_STR] = "", initrd[API_MAX_STR] = "", args[API_MAX_STR] = "";
    if (get_str(q->body, "kernel_image_path", kernel, sizeof(kernel), rep) < 0 ||
        get_str(q->body, "initrd_path", initrd, sizeof(initrd), rep) < 0 ||
        get_str(q->body, "boot_args", args, sizeof(args), rep) < 0)
        return;
    if (!kernel[0]) {
        api_reply_fault(rep, "field `kernel_image_path` is empty");
        return;
    }
    memcpy(c->kernel, kernel, sizeof(kernel));
    memcpy(c->initrd, initrd, sizeof(initrd));
    memcpy(c->boot_args, args, sizeof(args));
    c->has_boot_args = json_object_get(q->body, "boot_args") != NULL;
    c->has_kernel = true;
    reply_ok(rep);
}

static void put_drive(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "drive_id", F_STR, true }, { "is_root_device", F_BOOL, true },
        { "path_on_host", F_STR, true }, { "is_read_only", F_BOOL, false },
        { "partuuid", F_STR, false }, { "cache_type", F_STR, false },
        { "io_engine", F_STR, false }, { "rate_limiter", F_OBJ, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_drive d;
    memset(&d, 0, sizeof(d));
    strcpy(d.cache_type, "Unsafe");
    strcpy(d.io_engine, "Sync");
    if (get_str(q->body, "drive_id", d.id, sizeof(d.id), rep) < 0 ||
        get_str(q->body, "path_on_host", d.path, sizeof(d.path), rep) < 0 ||
        get_str(q->body, "partuuid", d.partuuid, sizeof(d.partuuid), rep) < 0 ||
        get_str(q->body, "cache_type", d.cache_type, sizeof(d.cache_type), rep) < 0 ||
        get_str(q->body, "io_engine", d.io_engine, sizeof(d.io_engine), rep) < 0)
        return;
    if (strcmp(d.id, q->id)) {
        api_reply_fault(rep, "the drive id in the path (%s) differs from `drive_id` (%s)",
                        q->id, d.id);
        return;
    }
    if (!d.path[0]) {
        api_reply_fault(rep, "field `path_on_host` is empty");
        return;
    }
    if (strcmp(d.cache_type, "Unsafe") && strcmp(d.cache_type, "Writeback")) {
        api_reply_fault(rep, "field `cache_type` must be \"Unsafe\" or \"Writeback\"");
        return;
    }
    if (strcmp(d.io_engine, "Sync") && strcmp(d.io_engine, "Async")) {
        api_reply_fault(rep, "field `io_engine` must be \"Sync\" or \"Async\"");
        return;
    }
    d.root = get_bool(q->body, "is_root_device", false);
    d.readonly = get_bool(q->body, "is_read_only", false);
    struct api_vmcfg *c = &q->r->cfg;
    int slot = c->ndrives;
    for (int i = 0; i < c->ndrives; i++) {
        if (!strcmp(c->drives[i].id, d.id))
            slot = i;
        else if (d.root && c->drives[i].root) {
            api_reply_fault(rep, "drive %s: drive %s is already the root device", d.id,
                            c->drives[i].id);
            return;
        }
    }
    if (slot == ARCVMM_MAX_DISKS) {
        api_reply_fault(rep, "drive %s: at most %d drives", d.id, ARCVMM_MAX_DISKS);
        return;
    }
    c->drives[slot] = d;
    if (slot == c->ndrives)
        c->ndrives++;
    reply_ok(rep);
}

static void put_actions(struct req *q, struct api_reply *rep)
{
    const struct field f[] = { { "action_type", F_STR, true }, { 0 } };
    if (check_fields(q->body, f, rep) < 0)
        return;
    const char *a = json_string_value(json_object_get(q->body, "action_type"));
    if (!strcmp(a, "InstanceStart")) {
        if (q->phase != API_NOT_STARTED) {
            api_reply_fault(rep, "InstanceStart is not supported after starting the microVM");
            return;
        }
        if (!q->r->cfg.has_kernel) {
            api_reply_fault(rep, "InstanceStart: no kernel; PUT /boot-source first");
            return;
        }
        reply_ok(rep);
        rep->action = API_ACT_START;
    } else if (!strcmp(a, "FlushMetrics")) {
        if (q->phase == API_NOT_STARTED) {
            api_reply_fault(rep, "FlushMetrics is not supported before starting the microVM");
            return;
        }
        reply_ok(rep);
        rep->action = API_ACT_FLUSH_METRICS;
    } else if (!strcmp(a, "SendCtrlAltDel")) {
        api_reply_fault(rep, "SendCtrlAltDel is not supported by arcvmm yet");
    } else {
        api_reply_fault(rep, "field `action_type`: unknown action \"%s\"", a);
    }
}

static void patch_vm(struct req *q, struct api_reply *rep)
{
    const struct field f[] = { { "state", F_STR, true }, { 0 } };
    if (check_fields(q->body, f, rep) < 0)
        return;
    const char *s = json_string_value(json_object_get(q->body, "state"));
    if (!strcmp(s, "Paused"))
        rep->action = API_ACT_PAUSE;
    else if (!strcmp(s, "Resumed"))
        rep->action = API_ACT_RESUME;
    else {
        api_reply_fault(rep, "field `state` must be \"Paused\" or \"Resumed\", not \"%s\"", s);
        return;
    }
    rep->status = 204;
}

/* Firecracker's logger levels, as PUT /logger and --level take them. */
static const char *const log_levels[] = { "Error", "Warning", "Info", "Debug", "Trace", "Off" };

const char *api_log_level_name(const char *s)
{
    for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++)
        if (!strcasecmp(log_levels[i], s))
            return log_levels[i];
    return NULL;
}

/* PUT /logger: checked and stored; the VMM applies it (API_ACT_LOGGER). */
static void put_logger(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "log_path", F_STR, false }, { "level", F_STR, false }, { "show_level", F_BOOL, false },
        { "show_log_origin", F_BOOL, false }, { "module", F_STR, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_logger l;
    memset(&l, 0, sizeof(l));
    l.set = true;
    if (get_str(q->body, "log_path", l.log_path, sizeof(l.log_path), rep) < 0)
        return;
    json_t *v = json_object_get(q->body, "level");
    if (v) {
        const char *name = api_log_level_name(json_string_value(v));
        if (!name) {
            api_reply_fault(rep, "field `level`: unknown level \"%s\" (Error, Warning, Info, "
                            "Debug, Trace or Off)", json_string_value(v));
            return;
        }
        snprintf(l.level, sizeof(l.level), "%s", name);
    }
    l.show_level = get_bool(q->body, "show_level", false);
    l.show_log_origin = get_bool(q->body, "show_log_origin", false);
    q->r->cfg.logger = l;
    reply_ok(rep);
    rep->action = API_ACT_LOGGER;
}

static void put_metrics(struct req *q, struct api_reply *rep)
{
    const struct field f[] = { { "metrics_path", F_STR, true }, { 0 } };
    if (check_fields(q->body, f, rep) < 0)
        return;
    char path[API_MAX_STR] = "";
    if (get_str(q->body, "metrics_path", path, sizeof(path), rep) < 0)
        return;
    if (!path[0]) {
        api_reply_fault(rep, "field `metrics_path` is empty");
        return;
    }
    memcpy(q->r->cfg.metrics_path, path, sizeof(path));
    reply_ok(rep);
    rep->action = API_ACT_METRICS;
}

/* PUT /network-interfaces/{iface_id}: a virtio-net NIC on the tap
 * host_dev_name. Rate limiters are accepted and not applied. */
static void put_net(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "iface_id", F_STR, true }, { "host_dev_name", F_STR, true },
        { "guest_mac", F_STR, false }, { "mtu", F_UINT, false },
        { "rx_rate_limiter", F_OBJ, false }, { "tx_rate_limiter", F_OBJ, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_net n;
    memset(&n, 0, sizeof(n));
    char mac[32] = "";
    if (get_str(q->body, "iface_id", n.id, sizeof(n.id), rep) < 0 ||
        get_str(q->body, "host_dev_name", n.host_dev_name, sizeof(n.host_dev_name), rep) < 0 ||
        get_str(q->body, "guest_mac", mac, sizeof(mac), rep) < 0)
        return;
    if (strcmp(n.id, q->id)) {
        api_reply_fault(rep, "the interface id in the path (%s) differs from `iface_id` (%s)",
                        q->id, n.id);
        return;
    }
    if (!n.host_dev_name[0]) {
        api_reply_fault(rep, "field `host_dev_name` is empty");
        return;
    }
    if (json_object_get(q->body, "guest_mac")) {
        const char *why;
        if (mac_parse(mac, n.mac) < 0) {
            api_reply_fault(rep, "field `guest_mac`: \"%s\" is not six hex bytes "
                            "(aa:bb:cc:dd:ee:ff)", mac);
            return;
        }
        if ((why = mac_unusable(n.mac))) {
            api_reply_fault(rep, "field `guest_mac`: %s is %s", mac, why);
            return;
        }
        n.has_mac = true;
    }
    json_t *v = json_object_get(q->body, "mtu");
    if (v) {
        json_int_t m = json_integer_value(v);
        if (m < 68 || m > 65535) {
            api_reply_fault(rep, "field `mtu`: %lld is outside 68..65535", (long long)m);
            return;
        }
        n.mtu = (int)m;
    }
    struct api_vmcfg *c = &q->r->cfg;
    int slot = c->nnets;
    for (int i = 0; i < c->nnets; i++) {
        if (!strcmp(c->nets[i].id, n.id))
            slot = i;
        else if (!strcmp(c->nets[i].host_dev_name, n.host_dev_name)) {
            api_reply_fault(rep, "interface %s: tap %s is already used by interface %s", n.id,
                            n.host_dev_name, c->nets[i].id);
            return;
        } else if (n.has_mac && c->nets[i].has_mac && !memcmp(c->nets[i].mac, n.mac, 6)) {
            api_reply_fault(rep, "interface %s: guest_mac %s is already used by interface %s",
                            n.id, mac, c->nets[i].id);
            return;
        }
    }
    if (slot == ARCVMM_MAX_NETS) {
        api_reply_fault(rep, "interface %s: at most %d network interfaces", n.id, ARCVMM_MAX_NETS);
        return;
    }
    c->nets[slot] = n;
    if (slot == c->nnets)
        c->nnets++;
    reply_ok(rep);
}

/* PATCH /network-interfaces/{iface_id} after start: only rate limiters,
 * accepted and not applied. */
static void patch_net(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "iface_id", F_STR, true }, { "rx_rate_limiter", F_OBJ, false },
        { "tx_rate_limiter", F_OBJ, false }, { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    const char *id = json_string_value(json_object_get(q->body, "iface_id"));
    if (strcmp(id, q->id)) {
        api_reply_fault(rep, "the interface id in the path (%s) differs from `iface_id` (%s)",
                        q->id, id);
        return;
    }
    const struct api_vmcfg *c = &q->r->cfg;
    for (int i = 0; i < c->nnets; i++)
        if (!strcmp(c->nets[i].id, id)) {
            reply_ok(rep);
            return;
        }
    api_reply_fault(rep, "interface %s: no such network interface", id);
}

/* PUT /vsock: stored for the vsock device (arcvmm_config.vsock). */
static void put_vsock(struct req *q, struct api_reply *rep)
{
    const struct field f[] = {
        { "guest_cid", F_UINT, true }, { "uds_path", F_STR, true }, { "vsock_id", F_STR, false },
        { 0 },
    };
    if (check_fields(q->body, f, rep) < 0)
        return;
    struct api_vsock vs;
    memset(&vs, 0, sizeof(vs));
    json_int_t cid = json_integer_value(json_object_get(q->body, "guest_cid"));
    if (cid < 3 || cid > UINT32_MAX - 1) {
        api_reply_fault(rep, "field `guest_cid`: %lld is outside 3..%u", (long long)cid,
                        UINT32_MAX - 1);
        return;
    }
    vs.guest_cid = (uint32_t)cid;
    if (get_str(q->body, "uds_path", vs.uds_path, sizeof(vs.uds_path), rep) < 0)
        return;
    if (!vs.uds_path[0] || strlen(vs.uds_path) > API_MAX_UDS_PATH) {
        api_reply_fault(rep, "field `uds_path` must be 1..%d bytes (a Unix socket's path)",
                        API_MAX_UDS_PATH);
        return;
    }
    q->r->cfg.vsock = vs;
    reply_ok(rep);
}

/* ---- the whole configuration, GET /vm/config and --config-file ---- */

/* Set key to v (consumed) in o; false without memory. */
static bool set_new(json_t *o, const char *key, json_t *v)
{
    return v && json_object_set_new(o, key, v) == 0;
}

static json_t *boot_json(const struct api_vmcfg *c)
{
    if (!c->has_kernel)
        return json_null();
    return json_pack("{s:s,s:s?,s:s?}", "kernel_image_path", c->kernel,
                     "initrd_path", c->initrd[0] ? c->initrd : NULL,
                     "boot_args", c->has_boot_args ? c->boot_args : NULL);
}

static json_t *drives_json(const struct api_vmcfg *c)
{
    json_t *a = json_array();
    for (int i = 0; a && i < c->ndrives; i++) {
        const struct api_drive *d = &c->drives[i];
        json_t *j = json_pack("{s:s,s:s,s:b,s:b,s:s?,s:s,s:s}", "drive_id", d->id,
                              "path_on_host", d->path, "is_root_device", d->root,
                              "is_read_only", d->readonly,
                              "partuuid", d->partuuid[0] ? d->partuuid : NULL,
                              "cache_type", d->cache_type, "io_engine", d->io_engine);
        if (!j || json_array_append_new(a, j) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *nets_json(const struct api_vmcfg *c)
{
    json_t *a = json_array();
    for (int i = 0; a && i < c->nnets; i++) {
        const struct api_net *n = &c->nets[i];
        char mac[18];
        mac_format(n->mac, mac);
        json_t *j = json_pack("{s:s,s:s,s:s?}", "iface_id", n->id, "host_dev_name",
                              n->host_dev_name, "guest_mac", n->has_mac ? mac : NULL);
        if (j && n->mtu && !set_new(j, "mtu", json_integer(n->mtu))) {
            json_decref(j);
            j = NULL;
        }
        if (!j || json_array_append_new(a, j) < 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *logger_json(const struct api_vmcfg *c)
{
    const struct api_logger *l = &c->logger;
    if (!l->set)
        return json_null();
    return json_pack("{s:s?,s:s?,s:b,s:b}", "log_path", l->log_path[0] ? l->log_path : NULL,
                     "level", l->level[0] ? l->level : NULL, "show_level", l->show_level,
                     "show_log_origin", l->show_log_origin);
}

char *api_config_dump(const struct api_routes *r)
{
    const struct api_vmcfg *c = &r->cfg;
    json_t *o = json_object();
    bool ok = o && set_new(o, "boot-source", boot_json(c)) &&
              set_new(o, "drives", drives_json(c)) &&
              set_new(o, "machine-config", machine_json(c)) &&
              set_new(o, "network-interfaces", nets_json(c)) &&
              set_new(o, "vsock", c->vsock.guest_cid ?
                      json_pack("{s:I,s:s}", "guest_cid", (json_int_t)c->vsock.guest_cid,
                                "uds_path", c->vsock.uds_path) : json_null()) &&
              set_new(o, "logger", logger_json(c)) &&
              set_new(o, "metrics", c->metrics_path[0] ?
                      json_pack("{s:s}", "metrics_path", c->metrics_path) : json_null());
    char *text = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    return text;
}

static void get_vm_config(struct req *q, struct api_reply *rep)
{
    rep->body = api_config_dump(q->r);
    rep->status = 200;
    if (!rep->body)
        api_reply_fault(rep, "out of memory");
}

/* ---- the table ---- */

enum phase_rule { ANY, PRE, POST };

struct route {
    enum http_method method;
    const char *path;       /* exact, or a prefix ending in '/' followed by {id} */
    bool has_id, has_body;
    enum phase_rule phase;
    void (*fn)(struct req *q, struct api_reply *rep);
};

static const struct route routes[] = {
    { HTTP_GET,   "/",               false, false, ANY,  get_instance },
    { HTTP_GET,   "/version",        false, false, ANY,  get_version },
    { HTTP_GET,   "/machine-config", false, false, ANY,  get_machine },
    { HTTP_PUT,   "/machine-config", false, true,  PRE,  put_machine },
    { HTTP_PATCH, "/machine-config", false, true,  PRE,  patch_machine },
    { HTTP_PUT,   "/boot-source",    false, true,  PRE,  put_boot_source },
    { HTTP_PUT,   "/drives/",        true,  true,  PRE,  put_drive },
    { HTTP_PUT,   "/network-interfaces/", true, true, PRE, put_net },
    { HTTP_PATCH, "/network-interfaces/", true, true, POST, patch_net },
    { HTTP_PUT,   "/vsock",          false, true,  PRE,  put_vsock },
    { HTTP_PUT,   "/actions",        false, true,  ANY,  put_actions },
    { HTTP_PATCH, "/vm",             false, true,  POST, patch_vm },
    { HTTP_GET,   "/vm/config",      false, false, ANY,  get_vm_config },
    { HTTP_PUT,   "/logger",         false, true,  PRE,  put_logger },
    { HTTP_PUT,   "/metrics",        false, true,  PRE,  put_metrics },
};

void api_routes_init(struct api_routes *r, const char *id)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->id, sizeof(r->id), "%s", id ? id : "anonymous-instance");
    r->cfg.vcpu_count = 1;
    r->cfg.mem_size_mib = 128;
}

int api_route(struct api_routes *r, enum api_phase phase, enum http_method m,
              const char *method_str, const char *path, const char *body, size_t len,
              struct api_reply *rep)
{
    memset(rep, 0, sizeof(*rep));
    const struct route *rt = NULL;
    const char *id = NULL;
    bool path_known = false;
    /* a trailing '/' is not another route */
    char p[HTTP_MAX_PATH];
    snprintf(p, sizeof(p), "%s", path);
    size_t pl = strlen(p);
    if (pl > 1 && p[pl - 1] == '/')
        p[--pl] = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *x = &routes[i];
        size_t xl = strlen(x->path);
        bool match = x->has_id ? !strncmp(p, x->path, xl) && p[xl] : !strcmp(p, x->path);
        if (!match)
            continue;
        path_known = true;
        if (x->method == m) {
            rt = x;
            id = x->has_id ? p + xl : NULL;
            break;
        }
    }
    if (!rt) {
        api_reply_fault(rep, "%s %s: %s", method_str, path,
                        path_known ? "method not allowed on this path" : "unknown path");
        return rep->body ? 0 : -ENOMEM;
    }
    if (id && !id_valid(id)) {
        api_reply_fault(rep, "%s %s: invalid id \"%s\": only alphanumeric characters and "
                        "'_' are allowed (at most %d)", method_str, path, id, API_MAX_ID - 1);
        return rep->body ? 0 : -ENOMEM;
    }
    if (rt->phase == PRE && phase != API_NOT_STARTED) {
        api_reply_fault(rep, "%s %s is not supported after starting the microVM", method_str,
                        rt->path);
        return rep->body ? 0 : -ENOMEM;
    }
    if (rt->phase == POST && phase == API_NOT_STARTED) {
        api_reply_fault(rep, "%s %s is not supported before starting the microVM", method_str,
                        rt->path);
        return rep->body ? 0 : -ENOMEM;
    }
    struct req q = { .r = r, .phase = phase, .id = id };
    if (rt->has_body) {
        json_error_t je;
        if (!len) {
            api_reply_fault(rep, "%s %s: the request needs a JSON body", method_str, path);
            return rep->body ? 0 : -ENOMEM;
        }
        q.body = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
        if (!q.body) {
            api_reply_fault(rep, "invalid JSON at line %d column %d: %s", je.line, je.column,
                            je.text);
            return rep->body ? 0 : -ENOMEM;
        }
    }
    rt->fn(&q, rep);
    json_decref(q.body);
    return rep->status == 400 && !rep->body ? -ENOMEM : 0;
}

/* ---- --config-file ---- */

struct section {
    const char *key;
    void (*fn)(struct req *q, struct api_reply *rep);
    const char *id_field;   /* an array of objects with this id, or NULL: one object */
};

/* In the order they are applied. */
static const struct section sections[] = {
    { "logger", put_logger, NULL },
    { "metrics", put_metrics, NULL },
    { "machine-config", put_machine, NULL },
    { "boot-source", put_boot_source, NULL },
    { "drives", put_drive, "drive_id" },
    { "network-interfaces", put_net, "iface_id" },
    { "vsock", put_vsock, NULL },
};

/* Firecracker sections arcvmm has no device for. */
static const char *const unsupported_sections[] = {
    "balloon", "mmds-config", "entropy", "cpu-config", "serial", "pmem", "memory-hotplug",
};

/* The fault_message of a 400 reply, into err. */
static void fault_text(const struct api_reply *rep, const char *where, char *err, size_t errlen)
{
    json_t *o = rep->body ? json_loads(rep->body, 0, NULL) : NULL;
    const char *m = json_string_value(json_object_get(o, "fault_message"));
    snprintf(err, errlen, "%s: %s", where, m ? m : "out of memory");
    json_decref(o);
}

/* Apply one object of section s (item index idx of an array, or -1). */
static int load_one(struct api_routes *r, const struct section *s, json_t *body, int idx,
                    char *err, size_t errlen)
{
    char where[64];
    if (idx >= 0)
        snprintf(where, sizeof(where), "`%s`[%d]", s->key, idx);
    else
        snprintf(where, sizeof(where), "`%s`", s->key);
    if (!json_is_object(body)) {
        snprintf(err, errlen, "%s must be an object", where);
        return -EINVAL;
    }
    struct req q = { .r = r, .phase = API_NOT_STARTED, .body = body, .id = "" };
    if (s->id_field) {
        const char *id = json_string_value(json_object_get(body, s->id_field));
        if (id && !id_valid(id)) {
            snprintf(err, errlen, "%s: field `%s`: invalid id \"%.64s\": only alphanumeric "
                     "characters and '_' are allowed (at most %d)", where, s->id_field, id,
                     API_MAX_ID - 1);
            return -EINVAL;
        }
        if (id)
            q.id = id;
    }
    struct api_reply rep;
    memset(&rep, 0, sizeof(rep));
    s->fn(&q, &rep);
    int rc = 0;
    if (rep.status == 400) {
        fault_text(&rep, where, err, errlen);
        rc = rep.body ? -EINVAL : -ENOMEM;
    }
    free(rep.body);
    return rc;
}

static int load_section(struct api_routes *r, const struct section *s, json_t *v, char *err,
                        size_t errlen)
{
    if (json_is_null(v))
        return 0;
    if (!s->id_field)
        return load_one(r, s, v, -1, err, errlen);
    if (!json_is_array(v)) {
        snprintf(err, errlen, "`%s` must be an array", s->key);
        return -EINVAL;
    }
    size_t i;
    json_t *item;
    json_array_foreach(v, i, item) {
        int rc = load_one(r, s, item, (int)i, err, errlen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Every top-level key is a known section. */
static int check_sections(json_t *doc, char *err, size_t errlen)
{
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) {
        bool known = false;
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
            known |= !strcmp(key, sections[i].key);
        if (known)
            continue;
        for (size_t i = 0; i < sizeof(unsupported_sections) / sizeof(unsupported_sections[0]); i++) {
            if (strcmp(key, unsupported_sections[i]))
                continue;
            if (!json_is_null(v)) {
                snprintf(err, errlen, "`%s` is not supported by arcvmm", key);
                return -EINVAL;
            }
            known = true;
        }
        if (!known) {
            snprintf(err, errlen, "unknown section `%.64s`", key);
            return -EINVAL;
        }
    }
    return 0;
}

/* Control characters of names quoted from the document (a key holding a
 * newline) would break the one line: each becomes '?'. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

int api_config_load(struct api_routes *r, const char *doc, size_t len, char *err, size_t errlen)
{
    json_error_t je;
    json_t *d = json_loadb(doc, len, JSON_REJECT_DUPLICATES, &je);
    if (!d) {
        snprintf(err, errlen, "invalid JSON at line %d column %d: %s", je.line, je.column,
                 je.text);
        one_line(err);
        return -EINVAL;
    }
    int rc = -EINVAL;
    struct api_routes *tmp = NULL;
    if (!json_is_object(d)) {
        snprintf(err, errlen, "the document must be a JSON object");
        goto out;
    }
    if ((rc = check_sections(d, err, errlen)) < 0)
        goto out;
    rc = -ENOMEM;
    if (!(tmp = malloc(sizeof(*tmp)))) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    *tmp = *r;
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        json_t *v = json_object_get(d, sections[i].key);
        if (v && (rc = load_section(tmp, &sections[i], v, err, errlen)) < 0)
            goto out;
    }
    *r = *tmp;
    rc = 0;
out:
    if (rc < 0)
        one_line(err);
    free(tmp);
    json_decref(d);
    return rc;
}

/* The drives as the guest sees them: the root drive first (/dev/vda),
 * then the others in the order they were put. Their count. */
static int drive_order(const struct api_vmcfg *c, const struct api_drive *out[ARCVMM_MAX_DISKS])
{
    int n = 0;
    for (int i = 0; i < c->ndrives; i++)
        if (c->drives[i].root)
            out[n++] = &c->drives[i];
    for (int i = 0; i < c->ndrives; i++)
        if (!c->drives[i].root)
            out[n++] = &c->drives[i];
    return n;
}

int api_disk_ids(const struct api_routes *r, const char *ids[ARCVMM_MAX_DISKS])
{
    const struct api_drive *order[ARCVMM_MAX_DISKS];
    int n = drive_order(&r->cfg, order);
    for (int i = 0; i < n; i++)
        ids[i] = order[i]->id;
    return n;
}

int api_build_config(const struct api_routes *r, struct arcvmm_config *out,
                     char *cmdline, size_t cmdlen)
{
    const struct api_vmcfg *c = &r->cfg;
    arcvmm_config_init(out);
    out->kernel = c->kernel;
    out->initrd = c->initrd[0] ? c->initrd : NULL;
    out->cpus = c->vcpu_count;
    out->memory_mib = c->mem_size_mib;
    const struct api_drive *order[ARCVMM_MAX_DISKS];
    int n = drive_order(c, order);
    for (int i = 0; i < n; i++)
        out->disks[i] = (struct arcvmm_disk){ .path = order[i]->path,
                                              .readonly = order[i]->readonly };
    const struct api_drive *root = n && order[0]->root ? order[0] : NULL;
    out->ndisks = n;
    for (int i = 0; i < c->nnets; i++) {
        const struct api_net *an = &c->nets[i];
        struct arcvmm_net *o = &out->nets[i];
        memset(o, 0, sizeof(*o));
        o->tap = an->host_dev_name;
        memcpy(o->mac, an->mac, 6);
        o->has_mac = an->has_mac;
        o->mtu = an->mtu;
    }
    out->nnets = c->nnets;
    if (c->vsock.guest_cid)
        out->vsock = (struct arcvmm_vsock){ .guest_cid = c->vsock.guest_cid,
                                           .uds_path = c->vsock.uds_path };
    int w;
    const char *base = c->has_boot_args ? c->boot_args : ARCVMM_DEFAULT_CMDLINE;
    if (root && root->partuuid[0])
        w = snprintf(cmdline, cmdlen, "%s root=PARTUUID=%s %s", base, root->partuuid,
                     root->readonly ? "ro" : "rw");
    else if (root)
        w = snprintf(cmdline, cmdlen, "%s root=/dev/vda %s", base, root->readonly ? "ro" : "rw");
    else
        w = snprintf(cmdline, cmdlen, "%s", base);
    if (w < 0 || (size_t)w >= cmdlen)
        return -ENAMETOOLONG;
    out->cmdline = cmdline;
    return 0;
}
