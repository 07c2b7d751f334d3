/* The metrics file, see metrics.h. */
#include "api/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

void api_metrics_init(struct api_metrics *m)
{
    m->fd = -1;
    m->flushes = 0;
}

int api_metrics_open(struct api_metrics *m, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NONBLOCK | O_NOCTTY, 0644);
    if (fd < 0) {
        int r = -errno;
        snprintf(err, errlen, "%s: %s", path, r == -ENXIO ? "a FIFO without a reader" : strerror(-r));
        return r;
    }
    api_metrics_close(m);
    m->fd = fd;
    return 0;
}

void api_metrics_close(struct api_metrics *m)
{
    if (m->fd >= 0)
        close(m->fd);
    m->fd = -1;
}

/* o[key] = v (an unsigned counter); false without memory. */
static bool put_u(json_t *o, const char *key, uint64_t v)
{
    return json_object_set_new(o, key, json_integer((json_int_t)(v > INT64_MAX ? INT64_MAX : v))) == 0;
}

static json_t *disk_json(const struct arcvmm_disk_stats *d)
{
    json_t *o = json_object();
    if (o && put_u(o, "read_count", d->reads) && put_u(o, "write_count", d->writes) &&
        put_u(o, "flush_count", d->flushes) && put_u(o, "read_bytes", d->read_bytes) &&
        put_u(o, "write_bytes", d->write_bytes) && put_u(o, "errors", d->errors))
        return o;
    json_decref(o);
    return NULL;
}

static json_t *net_json(const struct arcvmm_net_stats *n)
{
    json_t *o = json_object();
    if (o && put_u(o, "rx_packets_count", n->rx_frames) && put_u(o, "rx_bytes_count", n->rx_bytes) &&
        put_u(o, "tx_packets_count", n->tx_frames) && put_u(o, "tx_bytes_count", n->tx_bytes) &&
        put_u(o, "rx_dropped", n->rx_dropped) && put_u(o, "tx_dropped", n->tx_dropped) &&
        put_u(o, "errors", n->errors))
        return o;
    json_decref(o);
    return NULL;
}

/* o[prefix + id] = v (consumed); false without memory. */
static bool set_device(json_t *o, const char *prefix, const char *id, json_t *v)
{
    char key[96];
    snprintf(key, sizeof(key), "%s%s", prefix, id ? id : "");
    return v && json_object_set_new(o, key, v) == 0;
}

char *api_metrics_format(const struct api_metrics_sample *s)
{
    json_t *o = json_object(), *vmm = json_object(), *vcpu = NULL;
    bool ok = o && vmm && put_u(o, "utc_timestamp_ms", s->utc_ms) &&
              put_u(o, "flush_count", s->flush_count) && put_u(vmm, "rss_bytes", s->rss_bytes) &&
              put_u(vmm, "cpu_user_us", s->cpu_user_us) &&
              put_u(vmm, "cpu_system_us", s->cpu_system_us) &&
              json_object_set(o, "vmm", vmm) == 0;
    if (ok && s->has_vm) {
        const struct arcvmm_stats *v = &s->vcpu;
        uint64_t known = v->pio_exits + v->mmio_exits;
        ok = (vcpu = json_object()) && put_u(vcpu, "exits", v->exits) &&
             put_u(vcpu, "exit_io", v->pio_exits) && put_u(vcpu, "exit_mmio", v->mmio_exits) &&
             put_u(vcpu, "exit_other", v->exits > known ? v->exits - known : 0) &&
             json_object_set(o, "vcpu", vcpu) == 0;
        const struct api_metrics_names *n = &s->names;
        for (int i = 0; ok && i < n->ndisks && i < ARCVMM_MAX_DISKS; i++)
            ok = set_device(o, "block_", n->disks[i], disk_json(&s->disks[i]));
        for (int i = 0; ok && i < n->nnets && i < ARCVMM_MAX_NETS; i++)
            ok = set_device(o, "net_", n->nets[i], net_json(&s->nets[i]));
    }
    char *text = ok ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(vmm);
    json_decref(vcpu);
    json_decref(o);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    char *line = realloc(text, n + 2);
    if (!line) {
        free(text);
        return NULL;
    }
    line[n] = '\n';
    line[n + 1] = 0;
    return line;
}

/* This process's resident set, from /proc/self/statm; 0 if unknown. */
static uint64_t rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "re");
    unsigned long long size, rss = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &rss) != 2)
            rss = 0;
        fclose(f);
    }
    return (uint64_t)rss * (uint64_t)sysconf(_SC_PAGESIZE);
}

static uint64_t tv_us(struct timeval tv)
{
    return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

int api_metrics_flush(struct api_metrics *m, struct arcvmm *vm,
                      const struct api_metrics_names *names)
{
    if (m->fd < 0)
        return -ENOENT;
    struct api_metrics_sample s;
    memset(&s, 0, sizeof(s));
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    s.utc_ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    s.flush_count = ++m->flushes;
    s.rss_bytes = rss_bytes();
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        s.cpu_user_us = tv_us(ru.ru_utime);
        s.cpu_system_us = tv_us(ru.ru_stime);
    }
    if (vm) {
        s.has_vm = arcvmm_get_stats(vm, &s.vcpu) == 0;
        struct api_metrics_names *n = &s.names;
        for (int i = 0; i < names->ndisks && i < ARCVMM_MAX_DISKS; i++)
            if (arcvmm_get_disk_stats(vm, i, &s.disks[n->ndisks]) == 0)
                n->disks[n->ndisks++] = names->disks[i];
        for (int i = 0; i < names->nnets && i < ARCVMM_MAX_NETS; i++)
            if (arcvmm_get_net_stats(vm, i, &s.nets[n->nnets]) == 0)
                n->nets[n->nnets++] = names->nets[i];
    }
    char *line = api_metrics_format(&s);
    if (!line)
        return -ENOMEM;
    size_t n = strlen(line);
    ssize_t w = write(m->fd, line, n);      /* one write: lines never interleave */
    free(line);
    if (w < 0)
        return -errno;
    return (size_t)w == n ? 0 : -EIO;
}
