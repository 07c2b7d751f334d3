/* The API routes without a VM: every route's answer, and every error class
 * (unknown field, wrong type, missing field, path id != body id, bad id,
 * wrong phase either way, unknown method/path, bad JSON) giving 400 with a
 * fault_message that names the field or route, the configuration unchanged. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "api/routes.h"

static struct api_reply rep;

static int call(struct api_routes *r, enum api_phase ph, const char *m, const char *path,
                const char *body)
{
    free(rep.body);
    enum http_method hm = !strcmp(m, "GET") ? HTTP_GET : !strcmp(m, "PUT") ? HTTP_PUT :
                          !strcmp(m, "PATCH") ? HTTP_PATCH : HTTP_OTHER;
    int rc = api_route(r, ph, hm, m, path, body, body ? strlen(body) : 0, &rep);
    return rc < 0 ? rc : rep.status;
}

/* The reply is a 400 whose fault_message holds want. */
static int fault_has(const char *want)
{
    return rep.status == 400 && rep.body && strstr(rep.body, "\"fault_message\"") &&
           strstr(rep.body, want);
}

static void t_instance_and_version(void)
{
    struct api_routes r;
    api_routes_init(&r, "vm_1");
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/", NULL), 200);
    CHECK(strstr(rep.body, "\"id\":\"vm_1\""));
    CHECK(strstr(rep.body, "\"state\":\"Not started\""));
    CHECK(strstr(rep.body, "\"app_name\":\"arcvmm\""));
    CHECK(strstr(rep.body, "\"vmm_version\""));
    CHECK_EQ(call(&r, API_RUNNING, "GET", "/", NULL), 200);
    CHECK(strstr(rep.body, "\"state\":\"Running\""));
    CHECK_EQ(call(&r, API_PAUSED, "GET", "/", NULL), 200);
    CHECK(strstr(rep.body, "\"state\":\"Paused\""));
    CHECK_EQ(call(&r, API_PAUSED, "GET", "/version", NULL), 200);
    CHECK(strstr(rep.body, "\"firecracker_version\""));
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/", NULL), 200);
    CHECK(strstr(rep.body, "anonymous-instance"));
}

static void t_machine_config(void)
{
    struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/machine-config", NULL), 200);
    CHECK(strstr(rep.body, "\"vcpu_count\":1"));
    CHECK(strstr(rep.body, "\"mem_size_mib\":128"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/machine-config",
                  "{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false}"), 204);
    CHECK(!rep.body);
    CHECK_EQ(r.cfg.vcpu_count, 2);
    CHECK_EQ(r.cfg.mem_size_mib, 256);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config", "{\"mem_size_mib\":64}"), 204);
    CHECK_EQ(r.cfg.vcpu_count, 2);
    CHECK_EQ(r.cfg.mem_size_mib, 64);
    struct api_vmcfg before = r.cfg;
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/machine-config", "{\"vcpu_count\":2}"), 400);
    CHECK(fault_has("missing field `mem_size_mib`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/machine-config",
                  "{\"vcpu_count\":33,\"mem_size_mib\":64}"), 400);
    CHECK(fault_has("vcpu_count"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config", "{\"vcpu_count\":\"2\"}"), 400);
    CHECK(fault_has("field `vcpu_count` must be a non-negative integer"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config", "{\"mem_size_mib\":-1}"), 400);
    CHECK(fault_has("mem_size_mib"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config", "{\"huge_pages\":\"2M\"}"), 400);
    CHECK(fault_has("huge_pages"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config", "{\"foo\":1}"), 400);
    CHECK(fault_has("unknown field `foo`"));
    /* a failed PATCH with a valid field first leaves that field too */
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/machine-config",
                  "{\"vcpu_count\":3,\"smt\":true}"), 400);
    CHECK(fault_has("smt"));
    CHECK(!memcmp(&before, &r.cfg, sizeof(before)));
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/machine-config",
                  "{\"vcpu_count\":1,\"mem_size_mib\":64}"), 400);
    CHECK(fault_has("not supported after starting the microVM"));
    CHECK(!memcmp(&before, &r.cfg, sizeof(before)));
    CHECK_EQ(call(&r, API_RUNNING, "GET", "/machine-config", NULL), 200);
}

static void t_boot_source(void)
{
    struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", "{\"boot_args\":\"x\"}"), 400);
    CHECK(fault_has("missing field `kernel_image_path`"));
    CHECK(!r.cfg.has_kernel);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", "{\"kernel_image_path\":5}"), 400);
    CHECK(fault_has("field `kernel_image_path` must be a string"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\""), 400);
    CHECK(fault_has("invalid JSON"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", NULL), 400);
    CHECK(fault_has("needs a JSON body"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", "[1]"), 400);
    CHECK(fault_has("must be a JSON object"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source",
                  "{\"kernel_image_path\":\"/k\",\"kernel_image_path\":\"/j\"}"), 400);
    CHECK(!r.cfg.has_kernel);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source",
                  "{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\","
                  "\"initrd_path\":\"/i\"}"), 204);
    CHECK(r.cfg.has_kernel);
    CHECK(!strcmp(r.cfg.kernel, "/k"));
    CHECK(!strcmp(r.cfg.initrd, "/i"));
    CHECK(!strcmp(r.cfg.boot_args, "console=ttyS0"));
    CHECK_EQ(call(&r, API_PAUSED, "PUT", "/boot-source", "{\"kernel_image_path\":\"/x\"}"), 400);
    CHECK(fault_has("not supported after starting"));
    CHECK(!strcmp(r.cfg.kernel, "/k"));
}

static void t_drives(void)
{
    struct api_routes r;
    api_routes_init(&r, NULL);
    const char *ok = "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.img\",\"is_root_device\":true,"
                     "\"is_read_only\":false,\"cache_type\":\"Writeback\",\"io_engine\":\"Async\","
                     "\"rate_limiter\":{\"bandwidth\":{\"size\":1,\"refill_time\":1}}}";
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/rootfs", ok), 204);
    CHECK_EQ(r.cfg.ndrives, 1);
    CHECK(r.cfg.drives[0].root);
    /* the same id again replaces it */
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/rootfs", ok), 204);
    CHECK_EQ(r.cfg.ndrives, 1);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/other", ok), 400);
    CHECK(fault_has("differs from `drive_id`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/bad-id",
                  "{\"drive_id\":\"bad-id\",\"path_on_host\":\"/d\",\"is_root_device\":false}"), 400);
    CHECK(fault_has("invalid id"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":true}"), 400);
    CHECK(fault_has("already the root device"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\"}"), 400);
    CHECK(fault_has("missing field `is_root_device`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
                  "\"cache_type\":\"None\"}"), 400);
    CHECK(fault_has("cache_type"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
                  "\"socket\":\"/s\"}"), 400);
    CHECK(fault_has("unknown field `socket`"));
    CHECK_EQ(r.cfg.ndrives, 1);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false,"
                  "\"is_read_only\":true}"), 204);
    CHECK_EQ(r.cfg.ndrives, 2);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/drives/data",
                  "{\"drive_id\":\"data\",\"path_on_host\":\"/d\",\"is_root_device\":false}"), 400);
    CHECK(fault_has("not supported after starting"));
    /* /vm/config shows both; the built config puts the root drive first */
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/vm/config", NULL), 200);
    CHECK(strstr(rep.body, "\"drives\":[{\"drive_id\":\"rootfs\""));
    CHECK(strstr(rep.body, "\"machine-config\""));
    CHECK(strstr(rep.body, "\"boot-source\":null"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source",
                  "{\"kernel_image_path\":\"/k\",\"boot_args\":\"quiet\"}"), 204);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/vm/config", NULL), 200);
    CHECK(strstr(rep.body, "\"boot-source\":{") && strstr(rep.body, "\"kernel_image_path\":\"/k\"") && strstr(rep.body, "\"boot_args\":\"quiet\"") && strstr(rep.body, "\"initrd_path\":null"));
    struct arcvmm_config c;
    char cmd[256];
    CHECK_EQ(api_build_config(&r, &c, cmd, sizeof(cmd)), 0);
    CHECK_EQ(c.ndisks, 2);
    CHECK(!strcmp(c.disks[0].path, "/r.img"));
    CHECK(c.disks[1].readonly);
    CHECK(!strcmp(c.cmdline, "quiet root=/dev/vda rw"));
    CHECK_EQ(c.memory_mib, 128);
    CHECK(!strcmp(c.kernel, "/k"));
    CHECK_EQ(api_build_config(&r, &c, cmd, 8), -ENAMETOOLONG);
}

static void t_actions_and_vm(void)
{
    struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
    CHECK(fault_has("no kernel"));
    CHECK_EQ(rep.action, API_ACT_NONE);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/boot-source", "{\"kernel_image_path\":\"/k\"}"), 204);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
    CHECK_EQ(rep.action, API_ACT_START);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
    CHECK(fault_has("not supported after starting"));
    CHECK_EQ(rep.action, API_ACT_NONE);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 400);
    CHECK(fault_has("not supported"));
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/actions", "{\"action_type\":\"Reboot\"}"), 400);
    CHECK(fault_has("action_type"));
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/actions", "{\"action\":\"InstanceStart\"}"), 400);
    CHECK(fault_has("unknown field `action`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/vm", "{\"state\":\"Paused\"}"), 400);
    CHECK(fault_has("not supported before starting the microVM"));
    CHECK_EQ(rep.action, API_ACT_NONE);
    CHECK_EQ(call(&r, API_RUNNING, "PATCH", "/vm", "{\"state\":\"Paused\"}"), 204);
    CHECK_EQ(rep.action, API_ACT_PAUSE);
    CHECK_EQ(call(&r, API_PAUSED, "PATCH", "/vm", "{\"state\":\"Resumed\"}"), 204);
    CHECK_EQ(rep.action, API_ACT_RESUME);
    CHECK_EQ(call(&r, API_PAUSED, "PATCH", "/vm", "{\"state\":\"Stopped\"}"), 400);
    CHECK(fault_has("field `state`"));
    CHECK_EQ(call(&r, API_PAUSED, "PATCH", "/vm", "{\"state\":true}"), 400);
    CHECK(fault_has("field `state` must be a string"));
}

static void t_unknown_and_misc(void)
{
    struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/nope", NULL), 400);
    CHECK(fault_has("GET /nope: unknown path"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "DELETE", "/machine-config", NULL), 400);
    CHECK(fault_has("method not allowed"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/boot-source", NULL), 400);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/drives/", "{}"), 400);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/machine-config/", NULL), 200);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/logger",
                  "{\"log_path\":\"/l\",\"level\":\"Debug\",\"show_level\":true}"), 204);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/logger", "{\"level\":\"Loud\"}"), 400);
    CHECK(fault_has("level"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/metrics", "{}"), 400);
    CHECK(fault_has("missing field `metrics_path`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}"), 204);
    free(rep.body);
    rep.body = NULL;
}

static void t_net_routes(void)
{
    static struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth0",
                  "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
                  "\"guest_mac\":\"06:00:AC:10:00:02\",\"tx_rate_limiter\":{\"ops\":{}}}"), 204);
    CHECK_EQ(r.cfg.nnets, 1);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap1\"}"), 400);
    CHECK(fault_has("differs from `iface_id`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\"}"), 400);
    CHECK(fault_has("missing field `host_dev_name`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"guest_mac\":\"06:00\"}"),
             400);
    CHECK(fault_has("field `guest_mac`: \\\"06:00\\\" is not six hex bytes"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\",\"mtu\":67}"), 400);
    CHECK(fault_has("field `mtu`: 67 is outside 68..65535"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap0\"}"), 400);
    CHECK(fault_has("tap tap0 is already used by interface eth0"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\","
                  "\"guest_mac\":\"06:00:ac:10:00:02\"}"), 400);
    CHECK(fault_has("guest_mac 06:00:ac:10:00:02 is already used by interface eth0"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth1",
                  "{\"iface_id\":\"eth1\",\"host_dev_name\":\"a_tap_name_too_long\"}"), 400);
    CHECK(fault_has("field `host_dev_name` is longer than 15 bytes"));
    CHECK_EQ(r.cfg.nnets, 1);
    /* the same id again replaces it */
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/network-interfaces/eth0",
                  "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap9\",\"mtu\":1400}"), 204);
    CHECK_EQ(r.cfg.nnets, 1);
    CHECK(!strcmp(r.cfg.nets[0].host_dev_name, "tap9") && !r.cfg.nets[0].has_mac);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PATCH", "/network-interfaces/eth0",
                  "{\"iface_id\":\"eth0\"}"), 400);
    CHECK(fault_has("not supported before starting the microVM"));
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/network-interfaces/eth2",
                  "{\"iface_id\":\"eth2\",\"host_dev_name\":\"tap2\"}"), 400);
    CHECK(fault_has("not supported after starting the microVM"));
    CHECK_EQ(call(&r, API_RUNNING, "PATCH", "/network-interfaces/eth0",
                  "{\"iface_id\":\"eth0\",\"rx_rate_limiter\":{\"bandwidth\":{\"size\":1}}}"),
             204);
    CHECK_EQ(call(&r, API_RUNNING, "PATCH", "/network-interfaces/eth7",
                  "{\"iface_id\":\"eth7\"}"), 400);
    CHECK(fault_has("eth7: no such network interface"));
    CHECK_EQ(call(&r, API_RUNNING, "PATCH", "/network-interfaces/eth0",
                  "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap3\"}"), 400);
    CHECK(fault_has("unknown field `host_dev_name`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/vm/config", NULL), 200);
    CHECK(strstr(rep.body, "\"network-interfaces\":[{\"iface_id\":\"eth0\","
                           "\"host_dev_name\":\"tap9\",\"guest_mac\":null,\"mtu\":1400}]"));
}

static void t_vsock_route(void)
{
    static struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/vsock", "{\"uds_path\":\"/v\"}"), 400);
    CHECK(fault_has("missing field `guest_cid`"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/vsock", "{\"guest_cid\":3,\"uds_path\":\"\"}"),
             400);
    CHECK(fault_has("field `uds_path` must be 1..107 bytes"));
    CHECK_EQ(r.cfg.vsock.guest_cid, 0);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/vsock",
                  "{\"vsock_id\":\"v\",\"guest_cid\":52,\"uds_path\":\"/tmp/fc.vsock\"}"), 204);
    CHECK_EQ(r.cfg.vsock.guest_cid, 52);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/vsock", "{\"guest_cid\":4,\"uds_path\":\"/x\"}"), 400);
    CHECK(fault_has("not supported after starting the microVM"));
    CHECK_EQ(r.cfg.vsock.guest_cid, 52);
    CHECK_EQ(call(&r, API_NOT_STARTED, "GET", "/vm/config", NULL), 200);
    CHECK(strstr(rep.body, "\"vsock\":{\"guest_cid\":52,\"uds_path\":\"/tmp/fc.vsock\"}"));
    free(rep.body);
    rep.body = NULL;
}

/* The routes whose work the VMM does: the action and what was stored */
static void t_logger_metrics_actions(void)
{
    static struct api_routes r;
    api_routes_init(&r, NULL);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/logger",
                  "{\"log_path\":\"/l\",\"level\":\"warning\",\"show_level\":true}"), 204);
    CHECK_EQ(rep.action, API_ACT_LOGGER);
    CHECK(r.cfg.logger.set && !strcmp(r.cfg.logger.log_path, "/l"));
    CHECK(!strcmp(r.cfg.logger.level, "Warning") && r.cfg.logger.show_level);
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/logger", "{\"level\":\"Loud\"}"), 400);
    CHECK_EQ(rep.action, API_ACT_NONE);
    CHECK(!strcmp(r.cfg.logger.level, "Warning"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/metrics", "{\"metrics_path\":\"\"}"), 400);
    CHECK(fault_has("field `metrics_path` is empty"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/metrics", "{\"metrics_path\":\"/m\"}"), 204);
    CHECK_EQ(rep.action, API_ACT_METRICS);
    CHECK(!strcmp(r.cfg.metrics_path, "/m"));
    CHECK_EQ(call(&r, API_NOT_STARTED, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"),
             400);
    CHECK(fault_has("FlushMetrics is not supported before starting the microVM"));
    CHECK_EQ(rep.action, API_ACT_NONE);
    CHECK_EQ(call(&r, API_PAUSED, "PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);
    CHECK_EQ(rep.action, API_ACT_FLUSH_METRICS);
    CHECK_EQ(call(&r, API_RUNNING, "PUT", "/metrics", "{\"metrics_path\":\"/n\"}"), 400);
    CHECK(!strcmp(r.cfg.metrics_path, "/m"));
    free(rep.body);
    rep.body = NULL;
}

int main(void)
{
    RUN(t_instance_and_version);
    RUN(t_machine_config);
    RUN(t_boot_source);
    RUN(t_drives);
    RUN(t_actions_and_vm);
    RUN(t_unknown_and_misc);
    RUN(t_net_routes);
    RUN(t_vsock_route);
    RUN(t_logger_metrics_actions);
    return harness_done();
}
