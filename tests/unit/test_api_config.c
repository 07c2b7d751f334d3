/* --config-file and GET /vm/config (api_config_load, api_config_dump):
 * a whole Firecracker config file lands in the same configuration the
 * API's PUTs build; every error names the section, the item and the
 * field, and leaves the configuration as it was; the dump fed back gives
 * the same configuration (byte for byte) and the same dump; what
 * InstanceStart builds of it (NICs, vsock, disks, command line). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "api/routes.h"

static const char full_doc[] =
    "{\"boot-source\":{\"kernel_image_path\":\"/k/vmlinux\",\"boot_args\":\"console=ttyS0 "
    "reboot=k panic=1\",\"initrd_path\":\"/k/initrd\"},"
    "\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"/img/root.ext4\","
    "\"is_root_device\":true,\"is_read_only\":false},"
    "{\"drive_id\":\"data_1\",\"path_on_host\":\"/img/data\",\"is_root_device\":false,"
    "\"is_read_only\":true,\"cache_type\":\"Writeback\",\"io_engine\":\"Async\","
    "\"rate_limiter\":null}],"
    "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":256,\"smt\":false},"
    "\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
    "\"guest_mac\":\"AA:FC:00:00:00:01\",\"mtu\":9000,\"rx_rate_limiter\":{}},"
    "{\"iface_id\":\"eth1\",\"host_dev_name\":\"tap1\"}],"
    "\"vsock\":{\"guest_cid\":3,\"uds_path\":\"/tmp/v.sock\"},"
    "\"logger\":{\"log_path\":\"/tmp/fc.log\",\"level\":\"debug\",\"show_level\":true},"
    "\"metrics\":{\"metrics_path\":\"/tmp/fc.metrics\"},"
    "\"balloon\":null,\"mmds-config\":null}";

static int load(struct api_routes *r, const char *doc, char *err)
{
    return api_config_load(r, doc, strlen(doc), err, 256);
}

static void t_full_file(void)
{
    struct api_routes r;
    char err[256];
    api_routes_init(&r, NULL);
    CHECK_EQ(load(&r, full_doc, err), 0);
    const struct api_vmcfg *c = &r.cfg;
    CHECK(c->has_kernel && !strcmp(c->kernel, "/k/vmlinux") && !strcmp(c->initrd, "/k/initrd"));
    CHECK(c->has_boot_args && !strcmp(c->boot_args, "console=ttyS0 reboot=k panic=1"));
    CHECK_EQ(c->ndrives, 2);
    CHECK(c->drives[0].root && !c->drives[0].readonly);
    CHECK(!strcmp(c->drives[1].id, "data_1") && c->drives[1].readonly);
    CHECK(!strcmp(c->drives[1].cache_type, "Writeback"));
    CHECK_EQ(c->vcpu_count, 2);
    CHECK_EQ(c->mem_size_mib, 256);
    CHECK_EQ(c->nnets, 2);
    CHECK(!strcmp(c->nets[0].host_dev_name, "tap0") && c->nets[0].has_mac);
    CHECK_EQ(c->nets[0].mac[0], 0xaa);
    CHECK_EQ(c->nets[0].mac[5], 0x01);
    CHECK_EQ(c->nets[0].mtu, 9000);
    CHECK(!c->nets[1].has_mac && c->nets[1].mtu == 0);
    CHECK_EQ(c->vsock.guest_cid, 3);
    CHECK(!strcmp(c->vsock.uds_path, "/tmp/v.sock"));
    CHECK(c->logger.set && !strcmp(c->logger.level, "Debug") && c->logger.show_level);
    CHECK(!strcmp(c->logger.log_path, "/tmp/fc.log"));
    CHECK(!strcmp(c->metrics_path, "/tmp/fc.metrics"));
    /* what InstanceStart boots of it */
    struct arcvmm_config a;
    char cmd[512];
    CHECK_EQ(api_build_config(&r, &a, cmd, sizeof(cmd)), 0);
    CHECK_EQ(a.nnets, 2);
    CHECK(!strcmp(a.nets[0].tap, "tap0") && a.nets[0].has_mac && a.nets[0].mtu == 9000);
    CHECK(!strcmp(a.nets[1].tap, "tap1") && !a.nets[1].has_mac);
    CHECK_EQ(a.vsock.guest_cid, 3);
    CHECK(!strcmp(a.vsock.uds_path, "/tmp/v.sock"));
    CHECK_EQ(a.ndisks, 2);
    CHECK(!strcmp(cmd, "console=ttyS0 reboot=k panic=1 root=/dev/vda rw"));
}

/* dump -> load into a fresh configuration -> the same bytes, the same dump */
static void round_trip(const struct api_routes *r)
{
    static struct api_routes back;
    char err[256];
    char *d1 = api_config_dump(r);
    CHECK(d1);
    api_routes_init(&back, NULL);
    int rc = load(&back, d1, err);
    if (rc)
        fprintf(stderr, "  %s\n  %s\n", err, d1);
    CHECK_EQ(rc, 0);
    char *d2 = api_config_dump(&back);
    bool same_text = d2 && !strcmp(d1, d2);
    bool same_cfg = !memcmp(&back.cfg, &r->cfg, sizeof(back.cfg));
    if (!same_text)
        fprintf(stderr, "  %s\n  %s\n", d1, d2);
    free(d1);
    free(d2);
    CHECK(same_text);
    CHECK(same_cfg);
}

static void t_round_trip(void)
{
    static struct api_routes r;
    char err[256];
    api_routes_init(&r, NULL);
    round_trip(&r);             /* the defaults: no kernel, nothing set */
    CHECK_EQ(load(&r, full_doc, err), 0);
    round_trip(&r);
    /* one without boot_args, initrd, logger or vsock */
    api_routes_init(&r, NULL);
    CHECK_EQ(load(&r, "{\"boot-source\":{\"kernel_image_path\":\"/k\"},"
                      "\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":64}}", err), 0);
    CHECK(!r.cfg.has_boot_args);
    round_trip(&r);
}

/* err holds every piece of want (NUL-separated, double NUL at the end) */
static int err_has(const char *err, const char *want)
{
    for (; *want; want += strlen(want) + 1)
        if (!strstr(err, want)) {
            fprintf(stderr, "  '%s' lacks '%s'\n", err, want);
            return 0;
        }
    return 1;
}

static void t_errors(void)
{
    static struct api_routes r, before;
    char err[256];
    api_routes_init(&r, NULL);
    CHECK_EQ(load(&r, full_doc, err), 0);
    before = r;
    static const struct { const char *doc, *want; } cases[] = {
        { "{\"drives\":[{\"drive_id\":\"a\",\"path_on_host\":\"/a\",\"is_root_device\":false},"
          "{\"drive_id\":\"b\",\"is_root_device\":false}]}",
          "`drives`[1]: missing field `path_on_host`\0" },
        { "{\"drives\":[{\"drive_id\":\"a-b\",\"path_on_host\":\"/a\",\"is_root_device\":false}]}",
          "`drives`[0]: field `drive_id`: invalid id \"a-b\"\0" },
        { "{\"drives\":{\"drive_id\":\"a\"}}", "`drives` must be an array\0" },
        { "{\"machine-config\":{\"vcpu_count\":2}}",
          "`machine-config`: missing field `mem_size_mib`\0" },
        { "{\"machine-config\":{\"vcpu_count\":64,\"mem_size_mib\":64}}",
          "`machine-config`: field `vcpu_count`: 64 is outside 1..32\0" },
        { "{\"boot-source\":{\"kernel_image_path\":\"/k\",\"foo\":1}}",
          "`boot-source`: unknown field `foo`\0" },
        { "{\"boot-source\":[]}", "`boot-source` must be an object\0" },
        { "{\"drives\":[1]}", "`drives`[0] must be an object\0" },
        { "{\"network-interfaces\":[{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\","
          "\"guest_mac\":\"01:00:5e:00:00:01\"}]}",
          "`network-interfaces`[0]: field `guest_mac`\0multicast\0" },
        { "{\"vsock\":{\"guest_cid\":2,\"uds_path\":\"/v\"}}",
          "`vsock`: field `guest_cid`: 2 is outside 3..\0" },
        { "{\"logger\":{\"level\":\"Loud\"}}", "`logger`: field `level`: unknown level\0" },
        { "{\"metrics\":{}}", "`metrics`: missing field `metrics_path`\0" },
        { "{\"balloon\":{\"amount_mib\":1}}", "`balloon` is not supported by arcvmm\0" },
        { "{\"machine_config\":{}}", "unknown section `machine_config`\0" },
        /* a name quoted from the file never breaks the line (fuzz_config) */
        { "{\"drives\":[{\"drive_id\":\"a\",\"path_o\\n_host\":\"/a\",\"is_root_device\":true}]}",
          "`drives`[0]: unknown field `path_o?_host`\0" },
        { "[1]", "the document must be a JSON object\0" },
        { "{\"drives\":[]", "invalid JSON at line 1\0" },
        { "{\"vsock\":null,\"vsock\":null}", "invalid JSON\0duplicate\0" },
        { "", "invalid JSON\0" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        err[0] = 0;
        CHECK_EQ(load(&r, cases[i].doc, err), -EINVAL);
        CHECK(err_has(err, cases[i].want));
        CHECK(!strchr(err, '\n'));
        CHECK(!memcmp(&r.cfg, &before.cfg, sizeof(r.cfg)));
    }
    /* a valid section before a bad one changes nothing either */
    CHECK_EQ(load(&r, "{\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":32},"
                      "\"drives\":[{\"drive_id\":\"x\"}]}", err), -EINVAL);
    CHECK(!memcmp(&r.cfg, &before.cfg, sizeof(r.cfg)));
}

int main(void)
{
    RUN(t_full_file);
    RUN(t_round_trip);
    RUN(t_errors);
    return harness_done();
}
