/* MSI-X: capability, table, PBA, masking, pending delivery, callbacks. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>

#include "base/le.h"
#include "harness.h"
#include "pci/cfg.h"
#include "pci/msix.h"

#define NVEC   9
#define TABLE  0x4000
#define PBA    0x5000

struct rec {
    int changed[NVEC], delivered[NVEC];
    int nchanged, ndelivered;
};

static void on_changed(void *o, unsigned v)
{
    struct rec *r = o;
    r->changed[v]++;
    r->nchanged++;
}

static void on_deliver(void *o, unsigned v)
{
    struct rec *r = o;
    r->delivered[v]++;
    r->ndelivered++;
}

static const struct msix_ops ops = { .vector_changed = on_changed, .deliver = on_deliver };

struct dev {
    struct pci_cfg cfg;
    struct msix m;
    struct rec r;
};

static int dev_init(struct dev *d)
{
    static const struct pci_cfg_ids ids = { .vendor = 0x1af4, .device = 0x1042 };
    memset(d, 0, sizeof(*d));
    int r = pci_cfg_init(&d->cfg, &ids, NULL, NULL);
    if (r == 0)
        r = pci_cfg_bar_init(&d->cfg, 0, 0x8000, PCI_BAR_MEM_TYPE_64);
    if (r == 0)
        r = msix_init(&d->m, &d->cfg, NVEC, 0, TABLE, PBA, &ops, &d->r, NULL);
    return r;
}

static uint64_t bar_rd(struct dev *d, uint64_t off, uint32_t len)
{
    uint8_t b[8];
    memset(b, 0xee, sizeof(b));
    if (!msix_bar_io(&d->m, off, b, len, false))
        return 0xdead;
    return len == 8 ? le64_load(b) : len == 4 ? le32_load(b) : len == 2 ? le16_load(b) : b[0];
}

static void bar_wr(struct dev *d, uint64_t off, uint32_t len, uint64_t v)
{
    uint8_t b[8];
    le64_store(b, v);
    msix_bar_io(&d->m, off, b, len, true);
}

static uint16_t ctrl(struct dev *d)
{
    uint8_t b[2];
    pci_cfg_read(&d->cfg, (unsigned)d->m.cap + 2, b, 2);
    return le16_load(b);
}

static void ctrl_wr(struct dev *d, uint16_t v)
{
    uint8_t b[2];
    le16_store(b, v);
    pci_cfg_write(&d->cfg, (unsigned)d->m.cap + 2, b, 2);
}

#define ENTRY(v, dw) (TABLE + 16 * (v) + 4 * (dw))

static void t_capability(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    CHECK_EQ(d.m.cap, 0x40);
    CHECK_EQ(d.cfg.data[PCI_CAPABILITY_LIST], 0x40);
    CHECK_EQ(d.cfg.data[0x40], PCI_CAP_ID_MSIX);
    CHECK_EQ(ctrl(&d), NVEC - 1);
    CHECK_EQ(le32_load(d.cfg.data + 0x44), TABLE | 0);
    CHECK_EQ(le32_load(d.cfg.data + 0x48), PBA | 0);
    ctrl_wr(&d, 0xffff);                      /* only enable and function mask stick */
    CHECK_EQ(ctrl(&d), 0xc000 | (NVEC - 1));
    uint8_t b[4] = { 0xff, 0xff, 0xff, 0xff };
    pci_cfg_write(&d.cfg, 0x44, b, 4);        /* table/PBA offsets read-only */
    pci_cfg_write(&d.cfg, 0x48, b, 4);
    CHECK_EQ(le32_load(d.cfg.data + 0x44), TABLE);
    CHECK_EQ(le32_load(d.cfg.data + 0x48), PBA);
    b[0] = 0;
    pci_cfg_write(&d.cfg, 0x43, b, 1);        /* byte write to the high half */
    CHECK_EQ(ctrl(&d), NVEC - 1);
    CHECK(!msix_enabled(&d.m));
    /* bad setups */
    static struct msix m2;
    CHECK_EQ(msix_init(&m2, &d.cfg, 0, 0, TABLE, PBA, &ops, NULL, NULL), -EINVAL);
    CHECK_EQ(msix_init(&m2, &d.cfg, MSIX_MAX_VECTORS + 1, 0, 0, 0x7000, &ops, NULL, NULL),
             -EINVAL);
    CHECK_EQ(msix_init(&m2, &d.cfg, 4, 1, TABLE, PBA, &ops, NULL, NULL), -EINVAL); /* no BAR 1 */
    CHECK_EQ(msix_init(&m2, &d.cfg, 4, 0, TABLE + 4, PBA, &ops, NULL, NULL), -EINVAL);
    CHECK_EQ(msix_init(&m2, &d.cfg, 4, 0, 0x7fc0, 0x7000, &ops, NULL, NULL), 0);
    CHECK_EQ(msix_init(&m2, &d.cfg, 5, 0, 0x7fc0, 0x7000, &ops, NULL, NULL), -EINVAL);
    CHECK_EQ(msix_init(&m2, &d.cfg, 4, 0, 0x1000, 0x1038, &ops, NULL, NULL), -EINVAL);
    uint8_t x[4];
    CHECK(!msix_bar_io(&m2, 0x7fc0, x, 4, false));   /* a failed init claims nothing */
}

static void t_starts_masked_and_table_rw(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    for (unsigned v = 0; v < NVEC; v++) {
        CHECK(msix_vector_masked(&d.m, v));
        CHECK_EQ(bar_rd(&d, ENTRY(v, 3), 4), 1);
        CHECK_EQ(bar_rd(&d, ENTRY(v, 0), 8), 0);
    }
    CHECK(msix_vector_masked(&d.m, NVEC));
    bar_wr(&d, ENTRY(2, 0), 4, 0xfee01007);   /* low bits of the address read zero */
    bar_wr(&d, ENTRY(2, 1), 4, 0x1);
    bar_wr(&d, ENTRY(2, 2), 4, 0x4041);
    CHECK_EQ(d.r.changed[2], 3);
    CHECK_EQ(d.r.nchanged, 3);
    bar_wr(&d, ENTRY(2, 2), 4, 0x4041);       /* no change, no callback */
    CHECK_EQ(d.r.nchanged, 3);
    CHECK_EQ(bar_rd(&d, ENTRY(2, 0), 4), 0xfee01004);
    CHECK_EQ(bar_rd(&d, ENTRY(2, 0), 8), 0x1fee01004ULL);
    CHECK_EQ(bar_rd(&d, ENTRY(2, 2), 8), 0x100004041ULL);
    uint64_t a;
    uint32_t data;
    CHECK_EQ(msix_vector(&d.m, 2, &a, &data), 0);
    CHECK_EQ(a, 0x1fee01004ULL);
    CHECK_EQ(data, 0x4041);
    CHECK_EQ(msix_vector(&d.m, NVEC, &a, &data), -EINVAL);
    /* 8-byte writes; vector control keeps only the mask bit */
    bar_wr(&d, ENTRY(5, 0), 8, 0x00000000fee00000ULL);
    bar_wr(&d, ENTRY(5, 2), 8, 0xfffffffe00000030ULL);
    CHECK_EQ(d.r.changed[5], 2);
    CHECK_EQ(bar_rd(&d, ENTRY(5, 3), 4), 0);
    CHECK_EQ(bar_rd(&d, ENTRY(5, 2), 4), 0x30);
    CHECK(msix_vector_masked(&d.m, 5));              /* not enabled yet */
    ctrl_wr(&d, MSIX_CTRL_ENABLE);
    CHECK(msix_enabled(&d.m));
    CHECK(!msix_vector_masked(&d.m, 5));
    CHECK(msix_vector_masked(&d.m, 2));
}

static void t_bad_table_accesses(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    bar_wr(&d, ENTRY(1, 2), 4, 0x1234);
    int n = d.r.nchanged;
    bar_wr(&d, ENTRY(1, 2), 2, 0xffff);       /* 2 bytes */
    bar_wr(&d, ENTRY(1, 2), 1, 0xff);
    bar_wr(&d, ENTRY(1, 2) + 1, 4, 0xffffffff);   /* misaligned */
    bar_wr(&d, ENTRY(1, 1), 8, ~0ULL);        /* 8 bytes, only 4-aligned */
    bar_wr(&d, ENTRY(1, 3), 8, 0);            /* would unmask, misaligned */
    CHECK_EQ(d.r.nchanged, n);
    CHECK_EQ(bar_rd(&d, ENTRY(1, 2), 4), 0x1234);
    CHECK_EQ(bar_rd(&d, ENTRY(1, 3), 4), 1);
    CHECK_EQ(bar_rd(&d, ENTRY(1, 2), 2), 0);  /* odd reads return zero */
    CHECK_EQ(bar_rd(&d, ENTRY(1, 2) + 2, 4), 0);
    CHECK_EQ(bar_rd(&d, ENTRY(1, 1), 8), 0);
    /* past the last entry / the PBA, and between them: not claimed */
    CHECK_EQ(bar_rd(&d, TABLE + 16 * NVEC, 4), 0xdead);
    CHECK_EQ(bar_rd(&d, TABLE - 4, 4), 0xdead);
    CHECK_EQ(bar_rd(&d, PBA + 8, 4), 0xdead);
    CHECK_EQ(bar_rd(&d, 0, 4), 0xdead);
    CHECK_EQ(bar_rd(&d, ~0ULL, 4), 0xdead);
    bar_wr(&d, TABLE + 16 * NVEC, 4, 0);
    CHECK_EQ(d.r.nchanged, n);
    uint8_t big[16];
    CHECK(msix_bar_io(&d.m, TABLE, big, 16, false));   /* len 16: zeros, no overflow */
    CHECK_EQ(big[15], 0);
}

static void t_pending_and_vector_unmask(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    ctrl_wr(&d, MSIX_CTRL_ENABLE);
    CHECK_EQ(d.r.nchanged, NVEC);             /* enable: every vector */
    msix_set_pending(&d.m, 3);
    msix_set_pending(&d.m, 8);
    msix_set_pending(&d.m, NVEC);             /* ignored */
    CHECK(msix_pending(&d.m, 3));
    CHECK(msix_pending(&d.m, 8));
    CHECK(!msix_pending(&d.m, 4));
    CHECK(!msix_pending(&d.m, NVEC));
    CHECK_EQ(bar_rd(&d, PBA, 8), 0x108);
    CHECK_EQ(bar_rd(&d, PBA, 4), 0x108);
    CHECK_EQ(bar_rd(&d, PBA + 4, 4), 0);
    CHECK_EQ(bar_rd(&d, PBA + 1, 1), 0);      /* odd PBA read: zero */
    bar_wr(&d, PBA, 8, 0);                    /* PBA is read-only */
    bar_wr(&d, PBA, 4, 0);
    CHECK(msix_pending(&d.m, 3));
    CHECK_EQ(d.r.ndelivered, 0);
    /* unmask vector 3: pending clears, delivered once, after the change */
    bar_wr(&d, ENTRY(3, 3), 4, 0);
    CHECK_EQ(d.r.changed[3], 2);
    CHECK_EQ(d.r.delivered[3], 1);
    CHECK_EQ(d.r.ndelivered, 1);
    CHECK(!msix_pending(&d.m, 3));
    CHECK_EQ(bar_rd(&d, PBA, 4), 0x100);
    bar_wr(&d, ENTRY(3, 3), 4, 1);
    bar_wr(&d, ENTRY(3, 3), 4, 0);
    CHECK_EQ(d.r.ndelivered, 1);              /* nothing pending any more */
    /* unmasking while the function is masked delivers nothing yet */
    ctrl_wr(&d, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
    bar_wr(&d, ENTRY(8, 3), 4, 0);
    CHECK_EQ(d.r.ndelivered, 1);
    CHECK(msix_pending(&d.m, 8));
    CHECK(msix_vector_masked(&d.m, 8));
}

static void t_function_mask_and_enable(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    for (unsigned v = 0; v < NVEC; v++)
        bar_wr(&d, ENTRY(v, 3), 4, 0);        /* all unmasked, MSI-X still off */
    memset(&d.r, 0, sizeof(d.r));
    msix_set_pending(&d.m, 0);
    msix_set_pending(&d.m, 6);
    ctrl_wr(&d, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
    CHECK_EQ(d.r.nchanged, NVEC);
    CHECK_EQ(d.r.ndelivered, 0);              /* still function-masked */
    CHECK(msix_vector_masked(&d.m, 0));
    ctrl_wr(&d, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);   /* no flip: no callbacks */
    CHECK_EQ(d.r.nchanged, NVEC);
    bar_wr(&d, ENTRY(6, 3), 4, 1);            /* vector 6 masked itself */
    ctrl_wr(&d, MSIX_CTRL_ENABLE);            /* function unmask */
    CHECK_EQ(d.r.nchanged, 2 * NVEC + 1);
    CHECK_EQ(d.r.delivered[0], 1);
    CHECK_EQ(d.r.delivered[6], 0);            /* its own mask still holds it */
    CHECK(msix_pending(&d.m, 6));
    CHECK(!msix_pending(&d.m, 0));
    CHECK(!msix_vector_masked(&d.m, 0));
    /* disable and re-enable: pending delivered on enable */
    ctrl_wr(&d, 0);
    CHECK(msix_vector_masked(&d.m, 0));
    CHECK_EQ(d.r.nchanged, 3 * NVEC + 1);
    msix_set_pending(&d.m, 1);
    ctrl_wr(&d, MSIX_CTRL_ENABLE);
    CHECK_EQ(d.r.nchanged, 4 * NVEC + 1);
    CHECK_EQ(d.r.delivered[1], 1);
    CHECK_EQ(d.r.ndelivered, 2);
    /* reset: masked, cleared, disabled */
    msix_reset(&d.m);
    CHECK(!msix_enabled(&d.m));
    CHECK(!msix_pending(&d.m, 6));
    CHECK_EQ(bar_rd(&d, ENTRY(0, 3), 4), 1);
    CHECK_EQ(ctrl(&d), NVEC - 1);
}

/* The slow path: notify delivers now when unmasked, else keeps it pending
 * for deliver() on unmask. */
static void t_notify(void)
{
    static struct dev d;
    CHECK_EQ(dev_init(&d), 0);
    uint64_t a = 0;
    uint32_t data = 0;
    bar_wr(&d, ENTRY(4, 0), 8, 0xfee00000ULL);
    bar_wr(&d, ENTRY(4, 2), 4, 0x31);
    CHECK(!msix_notify(&d.m, 4, &a, &data));  /* vector masked, MSI-X off */
    CHECK(msix_pending(&d.m, 4));
    CHECK_EQ(a, 0);
    bar_wr(&d, ENTRY(4, 3), 4, 0);            /* MSI-X still off: stays pending */
    CHECK_EQ(d.r.ndelivered, 0);
    ctrl_wr(&d, MSIX_CTRL_ENABLE);
    CHECK_EQ(d.r.delivered[4], 1);
    CHECK(!msix_pending(&d.m, 4));
    CHECK(msix_notify(&d.m, 4, &a, &data));
    CHECK_EQ(a, 0xfee00000ULL);
    CHECK_EQ(data, 0x31);
    CHECK(!msix_pending(&d.m, 4));
    CHECK(!msix_notify(&d.m, NVEC, &a, &data));
    CHECK(!msix_pending(&d.m, NVEC));
    CHECK_EQ(d.r.ndelivered, 1);
}

/* The irqfd model: the owner parks signals while masked and hands them
 * back with msix_set_pending from vector_changed; deliver follows. */
struct irqfd_dev {
    struct dev d;
    bool bound[NVEC];
    int parked[NVEC];          /* the eventfd counter while unbound */
};

static void irqfd_changed(void *o, unsigned v)
{
    struct irqfd_dev *x = o;
    x->d.r.changed[v]++;
    bool masked = msix_vector_masked(&x->d.m, v);
    if (!masked && x->parked[v]) {
        x->parked[v] = 0;
        msix_set_pending(&x->d.m, v);
    }
    x->bound[v] = !masked;
}

static void irqfd_deliver(void *o, unsigned v)
{
    struct irqfd_dev *x = o;
    x->d.r.delivered[v]++;
    CHECK(!msix_pending(&x->d.m, v));
}

static void t_irqfd_model(void)
{
    static const struct msix_ops xops = { .vector_changed = irqfd_changed,
                                          .deliver = irqfd_deliver };
    static struct irqfd_dev x;
    static const struct pci_cfg_ids ids = { .vendor = 0x1af4, .device = 0x1042 };
    memset(&x, 0, sizeof(x));
    CHECK_EQ(pci_cfg_init(&x.d.cfg, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_cfg_bar_init(&x.d.cfg, 0, 0x8000, PCI_BAR_MEM_TYPE_64), 0);
    CHECK_EQ(msix_init(&x.d.m, &x.d.cfg, NVEC, 0, TABLE, PBA, &xops, &x, NULL), 0);
    ctrl_wr(&x.d, MSIX_CTRL_ENABLE);
    bar_wr(&x.d, ENTRY(1, 3), 4, 0);
    CHECK(x.bound[1]);
    bar_wr(&x.d, ENTRY(1, 3), 4, 1);          /* masked: the owner unbinds */
    CHECK(!x.bound[1]);
    x.parked[1] = 1;                          /* the device signalled meanwhile */
    bar_wr(&x.d, ENTRY(1, 3), 4, 0);
    CHECK(x.bound[1]);
    CHECK_EQ(x.d.r.delivered[1], 1);
    CHECK(!msix_pending(&x.d.m, 1));
    /* the same through the function mask */
    ctrl_wr(&x.d, MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK);
    CHECK(!x.bound[1]);
    x.parked[1] = 1;
    ctrl_wr(&x.d, MSIX_CTRL_ENABLE);
    CHECK(x.bound[1]);
    CHECK_EQ(x.d.r.delivered[1], 2);
    /* an address change on an unmasked vector: nothing parked, nothing sent */
    bar_wr(&x.d, ENTRY(1, 0), 4, 0xfee01000);
    CHECK_EQ(x.d.r.delivered[1], 2);
    for (unsigned v = 0; v < NVEC; v++)
        CHECK_EQ(x.d.r.delivered[v], v == 1 ? 2 : 0);
}

static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static int lock_held, lock_free;

static void on_changed_locked(void *o, unsigned v)
{
    if (pthread_mutex_trylock(&t_lock) == 0) {
        lock_free++;
        pthread_mutex_unlock(&t_lock);
    } else {
        lock_held++;
    }
}

/* The capability hook takes the owner's lock around its callbacks. */
static void t_hook_takes_lock(void)
{
    static const struct msix_ops lops = { .vector_changed = on_changed_locked };
    static struct pci_cfg c2;
    static struct msix m2;
    static const struct pci_cfg_ids ids = { .vendor = 1, .device = 2 };
    CHECK_EQ(pci_cfg_init(&c2, &ids, NULL, NULL), 0);
    CHECK_EQ(pci_cfg_bar_init(&c2, 0, 0x2000, 0), 0);
    CHECK_EQ(msix_init(&m2, &c2, 2, 0, 0, 0x1000, &lops, NULL, &t_lock), 0);
    uint8_t b[2];
    le16_store(b, MSIX_CTRL_ENABLE);
    pci_cfg_write(&c2, (unsigned)m2.cap + 2, b, 2);
    CHECK_EQ(lock_held, 2);
    CHECK_EQ(lock_free, 0);
    CHECK(msix_enabled(&m2));
    CHECK_EQ(pthread_mutex_trylock(&t_lock), 0);   /* released afterwards */
    pthread_mutex_unlock(&t_lock);
}

int main(void)
{
    RUN(t_capability);
    RUN(t_starts_masked_and_table_rw);
    RUN(t_bad_table_accesses);
    RUN(t_pending_and_vector_unmask);
    RUN(t_function_mask_and_enable);
    RUN(t_notify);
    RUN(t_irqfd_model);
    RUN(t_hook_takes_lock);
    return harness_done();
}
