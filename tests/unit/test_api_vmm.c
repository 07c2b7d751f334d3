/* The VMM thread's end of the API without a VM: the phase it routes with
 * (Not started until a VM exists), an InstanceStart that cannot create the
 * VM (a 400 naming why, still Not started, the configuration kept), and
 * the replies' ownership (every body freed: ASan). A VM that starts,
 * pauses and resumes is tier 2 (tests/api/api.sh). */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "api/vmm.h"

static struct api_vmm v;

static int call(enum http_method m, const char *ms, const char *path, const char *body,
                char **out)
{
    struct http_request req;
    memset(&req, 0, sizeof(req));
    req.method = m;
    snprintf(req.method_str, sizeof(req.method_str), "%s", ms);
    snprintf(req.path, sizeof(req.path), "%s", path);
    req.body = body;
    req.content_length = body ? strlen(body) : 0;
    int status = 0;
    *out = NULL;
    api_vmm_handle(&v, &req, &status, out);
    return status;
}

static void t_not_started(void)
{
    char *b;
    api_vmm_init(&v, "vm_7");
    CHECK_EQ(call(HTTP_GET, "GET", "/", NULL, &b), 200);
    bool ok = strstr(b, "\"state\":\"Not started\"") && strstr(b, "\"id\":\"vm_7\"");
    free(b);
    CHECK(ok);
    CHECK_EQ(call(HTTP_PATCH, "PATCH", "/vm", "{\"state\":\"Paused\"}", &b), 400);
    ok = strstr(b, "not supported before starting the microVM") != NULL;
    free(b);
    CHECK(ok);
    CHECK_EQ(call(HTTP_PUT, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", &b), 400);
    ok = strstr(b, "no kernel") != NULL;
    free(b);
    CHECK(ok);
    CHECK(v.vm == NULL);
}

static void t_start_fails(void)
{
    char *b;
    api_vmm_init(&v, NULL);
    CHECK_EQ(call(HTTP_PUT, "PUT", "/boot-source",
                  "{\"kernel_image_path\":\"/nonexistent/arcvmm-kernel\"}", &b), 204);
    CHECK(b == NULL);
    CHECK_EQ(call(HTTP_PUT, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}", &b), 400);
    /* the reason is the library's: the kernel, or /dev/kvm where there is none */
    bool ok = strstr(b, "\"fault_message\":\"InstanceStart: ") != NULL;
    free(b);
    CHECK(ok);
    CHECK(v.vm == NULL);
    CHECK_EQ(call(HTTP_GET, "GET", "/", NULL, &b), 200);
    ok = strstr(b, "Not started") != NULL;
    free(b);
    CHECK(ok);
    /* still configurable, the kernel kept */
    CHECK_EQ(call(HTTP_GET, "GET", "/vm/config", NULL, &b), 200);
    ok = strstr(b, "/nonexistent/arcvmm-kernel") != NULL;
    free(b);
    CHECK(ok);
    CHECK_EQ(call(HTTP_PUT, "PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":64}",
                  &b), 204);
}

/* run ... --api-sock: the command line's configuration is what GET reports */
static void t_attach_config(void)
{
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = "/k";
    c.cmdline = "console=ttyS0 x";
    c.cpus = 3;
    c.memory_mib = 96;
    c.disks[0] = (struct arcvmm_disk){ .path = "/d0", .readonly = 1 };
    c.ndisks = 1;
    c.nets[0] = (struct arcvmm_net){ .tap = "tap7", .mac = { 2, 0, 0, 0, 0, 9 }, .has_mac = 1,
                                     .mtu = 9000 };
    c.nets[1] = (struct arcvmm_net){ 0 };      /* a user NIC: no tap, not in the schema */
    c.net_user[1] = "";
    c.nnets = 2;
    api_vmm_init(&v, NULL);
    api_vmm_attach(&v, NULL, &c);   /* no VM: only the configuration is looked at */
    char *b;
    CHECK_EQ(call(HTTP_GET, "GET", "/vm/config", NULL, &b), 200);
    bool ok = strstr(b, "\"kernel_image_path\":\"/k\"") && strstr(b, "\"boot_args\":\"console=ttyS0 x\"") &&
              strstr(b, "\"vcpu_count\":3") && strstr(b, "\"mem_size_mib\":96") &&
              strstr(b, "\"path_on_host\":\"/d0\"") && strstr(b, "\"is_read_only\":true") &&
              strstr(b, "\"network-interfaces\":[{\"iface_id\":\"net0\",\"host_dev_name\":\"tap7\","
                        "\"guest_mac\":\"02:00:00:00:00:09\",\"mtu\":9000}]");
    if (!ok)
        fprintf(stderr, "  %s\n", b);
    /* that answer as a --config-file builds the VM run was given */
    static struct api_routes back;
    char err[256], cmd[512];
    api_routes_init(&back, NULL);
    int rc = api_config_load(&back, b, strlen(b), err, sizeof(err));
    free(b);
    CHECK(ok);
    CHECK_EQ(rc, 0);
    struct arcvmm_config o;
    CHECK_EQ(api_build_config(&back, &o, cmd, sizeof(cmd)), 0);
    CHECK(!strcmp(o.kernel, c.kernel) && !strcmp(o.cmdline, c.cmdline));
    CHECK_EQ(o.cpus, c.cpus);
    CHECK_EQ(o.memory_mib, c.memory_mib);
    CHECK_EQ(o.ndisks, 1);
    CHECK(!strcmp(o.disks[0].path, "/d0") && o.disks[0].readonly);
    CHECK_EQ(o.nnets, 1);
    CHECK_EQ(v.nnet_ids, 2);                    /* the metrics still name both */
    CHECK(!strcmp(v.net_ids[0], "net0") && !strcmp(v.net_ids[1], "net1"));
    CHECK(!strcmp(o.nets[0].tap, "tap7") && o.nets[0].has_mac && o.nets[0].mtu == 9000);
    CHECK(!memcmp(o.nets[0].mac, c.nets[0].mac, 6));
}

int main(void)
{
    RUN(t_not_started);
    RUN(t_start_fails);
    RUN(t_attach_config);
    return harness_done();
}
