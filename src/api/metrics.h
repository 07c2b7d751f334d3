/* The metrics file (--metrics-path, PUT /metrics, the config file's
 * "metrics"): one JSON object a line, written on PUT /actions FlushMetrics,
 * every API_METRICS_PERIOD_S seconds and when the VM ends. A line holds
 * the time, how often it was flushed, the VMM's own RSS and CPU time, the
 * vCPUs' exits to arcvmm by reason and each drive's counters:
 *   {"utc_timestamp_ms":..,"flush_count":..,
 *    "vmm":{"rss_bytes":..,"cpu_user_us":..,"cpu_system_us":..},
 *    "vcpu":{"exits":..,"exit_io":..,"exit_mmio":..,"exit_other":..},
 *    "block_<drive_id>":{"read_count":..,"write_count":..,"flush_count":..,
 *                        "read_bytes":..,"write_bytes":..,"errors":..}, ...,
 *    "net_<iface_id>":{"rx_packets_count":..,"rx_bytes_count":..,
 *                      "tx_packets_count":..,"tx_bytes_count":..,
 *                      "rx_dropped":..,"tx_dropped":..,"errors":..}, ...}
 * Before the VM exists there is no "vcpu", "block_*" or "net_*". Only the
 * VMM's thread (api/vmm.c, main.c) calls these. */
#ifndef ARCVMM_API_METRICS_H
#define ARCVMM_API_METRICS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arcvmm.h"

#define API_METRICS_PERIOD_S 60

struct api_metrics {
    int fd;                     /* -1: no metrics file */
    uint64_t flushes;
};

/* What the VM's devices are called: disk i is disks[i], NIC i nets[i]. */
struct api_metrics_names {
    int ndisks, nnets;
    const char *disks[ARCVMM_MAX_DISKS];
    const char *nets[ARCVMM_MAX_NETS];
};

/* One flush's figures. */
struct api_metrics_sample {
    uint64_t utc_ms, flush_count;
    uint64_t rss_bytes, cpu_user_us, cpu_system_us;
    bool has_vm;
    struct arcvmm_stats vcpu;
    struct api_metrics_names names;     /* of the disks and nets below */
    struct arcvmm_disk_stats disks[ARCVMM_MAX_DISKS];
    struct arcvmm_net_stats nets[ARCVMM_MAX_NETS];
};

void api_metrics_init(struct api_metrics *m);
/* Open (append, create 0644) path as the metrics file, replacing the one
 * before. 0, or a negative errno with "PATH: reason" in err. */
int api_metrics_open(struct api_metrics *m, const char *path, char *err, size_t errlen);
/* The line for s (malloc'd, '\n'-terminated JSON), or NULL without memory. */
char *api_metrics_format(const struct api_metrics_sample *s);
/* Sample the process and vm (may be NULL: not started; names says what its
 * devices are called) and append one line. 0, -ENOENT without a metrics
 * file, or a negative errno. */
int api_metrics_flush(struct api_metrics *m, struct arcvmm *vm,
                      const struct api_metrics_names *names);
void api_metrics_close(struct api_metrics *m);
#endif
