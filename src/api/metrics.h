/* The metrics file (--metrics-path, PUT /metrics, the config file's
 * "metrics"): one JSON object a line, written on PUT /actions FlushMetrics,
 * every API_METRICS_PERIOD_S seconds and when the VM ends. A line holds
 * the time, how often it was flushed, the VMM's own RSS and CPU time, the
 * vCPUs' exits to arcvmm by reason and each drive's counters:
 *   {"utc_timestamp_ms":..,"flush_count":..,
 *    "vmm":{"rss_bytes":..,"cpu_user_us":..,"cpu_system_us":..},
 *    "vcpu":{"exits":..,"exit_io":..,"exit_mmio":..,"exit_other":..},
 *    "block_<drive_id>":{"read_count":..,"write_count":..,"flush_count":..,
 *                        "read_bytes":..,"write_bytes":..,"errors":..}, ...}
 * Before the VM exists there is no "vcpu" and no "block_*". Only the
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

/* One flush's figures. */
struct api_metrics_sample {
    uint64_t utc_ms, flush_count;
    uint64_t rss_bytes, cpu_user_us, cpu_system_us;
    bool has_vm;
    struct arcvmm_stats vcpu;
    int ndisks;
    const char *disk_ids[ARCVMM_MAX_DISKS];
    struct arcvmm_disk_stats disks[ARCVMM_MAX_DISKS];
};

void api_metrics_init(struct api_metrics *m);
/* Open (append, create 0644) path as the metrics file, replacing the one
 * before. 0, or a negative errno with "PATH: reason" in err. */
int api_metrics_open(struct api_metrics *m, const char *path, char *err, size_t errlen);
/* The line for s (malloc'd, '\n'-terminated JSON), or NULL without memory. */
char *api_metrics_format(const struct api_metrics_sample *s);
/* Sample the process and vm (may be NULL: not started; disk_ids names its
 * disks in order) and append one line. 0, -ENOENT without a metrics file,
 * or a negative errno. */
int api_metrics_flush(struct api_metrics *m, struct arcvmm *vm, const char *const *disk_ids,
                      int ndisks);
void api_metrics_close(struct api_metrics *m);
#endif
