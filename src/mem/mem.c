#include "mem/mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void *mem_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    if (len == 0 || gpa + len < gpa)
        return NULL;
    for (int i = 0; i < m->n; i++) {
        const struct mem_region *r = &m->r[i];
        if (gpa >= r->gpa && gpa - r->gpa < r->size && len <= r->size - (gpa - r->gpa))
            return r->hva + (gpa - r->gpa);
    }
    return NULL;
}

int mem_write(const struct guest_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = mem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(p, src, len);
    return 0;
}

int mem_read(const struct guest_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
    const void *p = mem_ptr(m, gpa, len);
    if (!p)
        return -EFAULT;
    memcpy(dst, p, len);
    return 0;
}

uint64_t mem_total(const struct guest_mem *m)
{
    uint64_t t = 0;
    for (int i = 0; i < m->n; i++)
        t += m->r[i].size;
    return t;
}

int mem_map(struct guest_mem *m)
{
    for (int i = 0; i < m->n; i++) {
        void *p = mmap(NULL, m->r[i].size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p == MAP_FAILED) {
            int err = -errno;
            mem_unmap(m);
            return err;
        }
        m->r[i].hva = p;
        /* Not merging is said explicitly too: a process in KSM's merge-any
         * mode (prctl PR_SET_MEMORY_MERGE, e.g. systemd's MemoryKSM=) gets
         * every new mapping marked mergeable. A kernel without KSM fails
         * both with EINVAL: nothing to undo then. */
        if (madvise(p, m->r[i].size, m->merge ? MADV_MERGEABLE : MADV_UNMERGEABLE) < 0)
            m->merge = false;
    }
    return 0;
}

void mem_unmap(struct guest_mem *m)
{
    for (int i = 0; i < m->n; i++) {
        if (m->r[i].hva)
            munmap(m->r[i].hva, m->r[i].size);
        m->r[i].hva = NULL;
    }
}
