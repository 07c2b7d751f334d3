/* The metrics file without a VM: the line's JSON for a given sample (keys,
 * values, block_<id> per drive, no vcpu/block before the VM), one line per
 * flush appended with its count, -ENOENT without a file, open errors. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "api/metrics.h"

static json_int_t get(json_t *o, const char *a, const char *b)
{
    json_t *x = json_object_get(o, a);
    return json_integer_value(b ? json_object_get(x, b) : x);
}

static void t_format(void)
{
    struct api_metrics_sample s;
    memset(&s, 0, sizeof(s));
    s.utc_ms = 1700000000123ull;
    s.flush_count = 3;
    s.rss_bytes = 1 << 20;
    s.cpu_user_us = 5;
    s.cpu_system_us = 7;
    char *line = api_metrics_format(&s);
    CHECK(line);
    size_t n = strlen(line);
    bool one_line = n && line[n - 1] == '\n' && !memchr(line, '\n', n - 1);
    json_t *o = json_loads(line, 0, NULL);
    free(line);
    CHECK(one_line && o);
    bool ok = get(o, "utc_timestamp_ms", NULL) == 1700000000123ll &&
              get(o, "flush_count", NULL) == 3 && get(o, "vmm", "rss_bytes") == 1 << 20 &&
              get(o, "vmm", "cpu_user_us") == 5 && get(o, "vmm", "cpu_system_us") == 7 &&
              !json_object_get(o, "vcpu") && json_object_size(o) == 3;
    json_decref(o);
    CHECK(ok);
    /* with a VM: exits by reason, a block_<id> object per drive */
    s.has_vm = true;
    s.vcpu = (struct arcvmm_stats){ .exits = 100, .pio_exits = 60, .mmio_exits = 30 };
    s.names.ndisks = 2;
    s.names.disks[0] = "rootfs";
    s.names.disks[1] = "data_1";
    s.names.nnets = 1;
    s.names.nets[0] = "eth0";
    s.nets[0] = (struct arcvmm_net_stats){ .rx_frames = 3, .rx_bytes = 300, .tx_frames = 5,
                                           .tx_bytes = 500, .rx_dropped = 1, .tx_dropped = 2,
                                           .errors = 4 };
    s.disks[0] = (struct arcvmm_disk_stats){ .reads = 4, .writes = 2, .flushes = 1,
                                             .read_bytes = 4096, .write_bytes = 1024 };
    s.disks[1] = (struct arcvmm_disk_stats){ .errors = 9 };
    line = api_metrics_format(&s);
    CHECK(line);
    o = json_loads(line, 0, NULL);
    free(line);
    CHECK(o);
    ok = get(o, "vcpu", "exits") == 100 && get(o, "vcpu", "exit_io") == 60 &&
         get(o, "vcpu", "exit_mmio") == 30 && get(o, "vcpu", "exit_other") == 10 &&
         get(o, "block_rootfs", "read_count") == 4 && get(o, "block_rootfs", "write_count") == 2 &&
         get(o, "block_rootfs", "flush_count") == 1 && get(o, "block_rootfs", "read_bytes") == 4096 &&
         get(o, "block_rootfs", "write_bytes") == 1024 && get(o, "block_rootfs", "errors") == 0 &&
         get(o, "block_data_1", "errors") == 9 && get(o, "net_eth0", "rx_packets_count") == 3 &&
         get(o, "net_eth0", "rx_bytes_count") == 300 && get(o, "net_eth0", "tx_packets_count") == 5 &&
         get(o, "net_eth0", "tx_bytes_count") == 500 && get(o, "net_eth0", "rx_dropped") == 1 &&
         get(o, "net_eth0", "tx_dropped") == 2 && get(o, "net_eth0", "errors") == 4 &&
         json_object_size(o) == 7;
    json_decref(o);
    CHECK(ok);
}

static void t_file(void)
{
    char dir[] = "/tmp/arcvmm-test-metrics-XXXXXX", path[64], err[256], buf[4096];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/m.json", dir);
    struct api_metrics m;
    api_metrics_init(&m);
    static const struct api_metrics_names none;
    CHECK_EQ(api_metrics_flush(&m, NULL, &none), -ENOENT);
    CHECK_EQ(api_metrics_open(&m, "/nonexistent-dir/m", err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "/nonexistent-dir/m: No such file or directory"));
    CHECK_EQ(m.fd, -1);
    CHECK_EQ(api_metrics_open(&m, path, err, sizeof(err)), 0);
    CHECK_EQ(api_metrics_flush(&m, NULL, &none), 0);
    CHECK_EQ(api_metrics_flush(&m, NULL, &none), 0);
    api_metrics_close(&m);
    CHECK_EQ(m.fd, -1);
    FILE *f = fopen(path, "r");
    CHECK(f);
    int lines = 0;
    bool ok = true;
    while (fgets(buf, sizeof(buf), f)) {
        json_t *o = json_loads(buf, 0, NULL);
        lines++;
        ok &= o && get(o, "flush_count", NULL) == lines && get(o, "vmm", "rss_bytes") > 0;
        json_decref(o);
    }
    fclose(f);
    unlink(path);
    rmdir(dir);
    CHECK(ok);
    CHECK_EQ(lines, 2);
}

int main(void)
{
    RUN(t_format);
    RUN(t_file);
    return harness_done();
}
