/* MSI-X capability, vector table and PBA. */
#include <errno.h>
#include <string.h>

#include "base/le.h"
#include "pci/msix.h"

enum { E_ADDR_LO, E_ADDR_HI, E_DATA, E_CTRL };
#define MSIX_VEC_MASKED 1u

static uint32_t table_size(const struct msix *m)
{
    return m->nvec * MSIX_ENTRY_SIZE;
}

static uint32_t pba_size(const struct msix *m)
{
    return (m->nvec + 63) / 64 * 8;
}

static uint16_t ctrl_get(const struct msix *m)
{
    return le16_load(m->cfg->data + m->cap + 2);
}

static void lock(struct msix *m)
{
    if (m->lock)
        pthread_mutex_lock(m->lock);
}

static void unlock(struct msix *m)
{
    if (m->lock)
        pthread_mutex_unlock(m->lock);
}

static void changed(struct msix *m, unsigned v)
{
    if (m->ops && m->ops->vector_changed)
        m->ops->vector_changed(m->opaque, v);
}

/* After a change: an unmasked v delivers what it kept pending */
static void flush(struct msix *m, unsigned v)
{
    if (msix_vector_masked(m, v) || !msix_pending(m, v))
        return;
    m->pba[v / 64] &= ~(1ULL << (v % 64));
    if (m->ops && m->ops->deliver)
        m->ops->deliver(m->opaque, v);
}

/* Capability hook, entered from a config access under the PCI host's
 * lock, so it takes the owner's lock itself. A write to the control word
 * may flip enable or the function mask: every vector's state changes. */
static void cap_io(void *opaque, struct pci_cfg *c, unsigned off, uint8_t *data, uint32_t len,
                   bool is_write)
{
    struct msix *m = opaque;
    if (!is_write) {
        pci_cfg_default_read(c, off, data, len);
        return;
    }
    lock(m);
    uint16_t old = ctrl_get(m);
    pci_cfg_default_write(c, off, data, len);
    if ((old ^ ctrl_get(m)) & (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK)) {
        for (unsigned v = 0; v < m->nvec; v++)
            changed(m, v);
        for (unsigned v = 0; v < m->nvec; v++)
            flush(m, v);
    }
    unlock(m);
}

int msix_init(struct msix *m, struct pci_cfg *cfg, unsigned nvec, unsigned bar,
              uint32_t table_off, uint32_t pba_off, const struct msix_ops *ops, void *opaque,
              pthread_mutex_t *lock_)
{
    memset(m, 0, sizeof(*m));   /* cfg NULL: msix_bar_io claims nothing */
    if (nvec == 0 || nvec > MSIX_MAX_VECTORS || bar >= PCI_NUM_BARS || !cfg->bar_size[bar] ||
        table_off % 8 || pba_off % 8)
        return -EINVAL;
    uint64_t bsize = cfg->bar_size[bar];
    uint64_t t_end = (uint64_t)table_off + nvec * MSIX_ENTRY_SIZE;
    uint64_t p_end = (uint64_t)pba_off + (nvec + 63) / 64 * 8;
    if (t_end > bsize || p_end > bsize || (table_off < p_end && pba_off < t_end))
        return -EINVAL;
    int cap = pci_cfg_cap_add(cfg, PCI_CAP_ID_MSIX, MSIX_CAP_LEN);
    if (cap < 0)
        return cap;
    m->nvec = nvec;
    m->table_off = table_off;
    m->pba_off = pba_off;
    m->cfg = cfg;
    m->cap = cap;
    m->ops = ops;
    m->opaque = opaque;
    m->lock = lock_;
    le16_store(cfg->data + cap + 2, (uint16_t)(nvec - 1));
    le32_store(cfg->data + cap + 4, table_off | bar);
    le32_store(cfg->data + cap + 8, pba_off | bar);
    cfg->wmask[cap + 3] = (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8;
    msix_reset(m);
    return pci_cfg_cap_set_hook(cfg, (unsigned)cap, cap_io, m);
}

void msix_reset(struct msix *m)
{
    memset(m->table, 0, sizeof(m->table));
    memset(m->pba, 0, sizeof(m->pba));
    for (unsigned v = 0; v < m->nvec; v++)
        m->table[v][E_CTRL] = MSIX_VEC_MASKED;
    if (m->cfg)
        m->cfg->data[m->cap + 3] &= (uint8_t)~((MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8);
}

/* Store dword d of entry v as the guest wrote it */
static void entry_store(struct msix *m, unsigned v, unsigned d, uint32_t val)
{
    if (d == E_ADDR_LO)
        val &= ~3u;
    else if (d == E_CTRL)
        val &= MSIX_VEC_MASKED;
    m->table[v][d] = val;
}

static void table_io(struct msix *m, uint32_t rel, uint8_t *data, uint32_t len, bool is_write)
{
    unsigned v = rel / MSIX_ENTRY_SIZE, d = rel % MSIX_ENTRY_SIZE / 4;
    if (!is_write) {
        le32_store(data, m->table[v][d]);
        if (len == 8)
            le32_store(data + 4, m->table[v][d + 1]);
        return;
    }
    uint32_t before[4];
    memcpy(before, m->table[v], sizeof(before));
    entry_store(m, v, d, le32_load(data));
    if (len == 8)
        entry_store(m, v, d + 1, le32_load(data + 4));
    if (memcmp(before, m->table[v], sizeof(before))) {
        changed(m, v);
        flush(m, v);
    }
}

static void pba_read(struct msix *m, uint32_t rel, uint8_t *data, uint32_t len)
{
    uint64_t q = m->pba[rel / 8];
    if (len == 8)
        le64_store(data, q);
    else
        le32_store(data, (uint32_t)(q >> (rel % 8 * 8)));
}

bool msix_bar_io(struct msix *m, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
    if (!m->cfg)
        return false;
    bool in_table = off >= m->table_off && off - m->table_off < table_size(m);
    bool in_pba = off >= m->pba_off && off - m->pba_off < pba_size(m);
    if (!in_table && !in_pba)
        return false;
    uint32_t rel = (uint32_t)(off - (in_table ? m->table_off : m->pba_off));
    if ((len != 4 && len != 8) || rel % len) {
        if (!is_write)
            memset(data, 0, len);
        return true;
    }
    if (in_table)
        table_io(m, rel, data, len, is_write);
    else if (!is_write)
        pba_read(m, rel, data, len);
    return true;
}

bool msix_enabled(const struct msix *m)
{
    return m->cfg && (ctrl_get(m) & MSIX_CTRL_ENABLE);
}

bool msix_vector_masked(const struct msix *m, unsigned v)
{
    if (v >= m->nvec || !m->cfg)
        return true;
    uint16_t ctrl = ctrl_get(m);
    return !(ctrl & MSIX_CTRL_ENABLE) || (ctrl & MSIX_CTRL_FMASK) ||
           (m->table[v][E_CTRL] & MSIX_VEC_MASKED);
}

int msix_vector(const struct msix *m, unsigned v, uint64_t *addr, uint32_t *data)
{
    if (v >= m->nvec)
        return -EINVAL;
    *addr = (uint64_t)m->table[v][E_ADDR_HI] << 32 | m->table[v][E_ADDR_LO];
    *data = m->table[v][E_DATA];
    return 0;
}

bool msix_notify(struct msix *m, unsigned v, uint64_t *addr, uint32_t *data)
{
    if (v >= m->nvec)
        return false;
    if (msix_vector_masked(m, v)) {
        msix_set_pending(m, v);
        return false;
    }
    return msix_vector(m, v, addr, data) == 0;
}

void msix_set_pending(struct msix *m, unsigned v)
{
    if (v < m->nvec)
        m->pba[v / 64] |= 1ULL << (v % 64);
}

bool msix_pending(const struct msix *m, unsigned v)
{
    return v < m->nvec && (m->pba[v / 64] >> (v % 64) & 1);
}
