/* testguest: a minimal virtio-mmio (register layout version 2, virtio 1.2
 * section 4.2.2) + virtio-blk (section 5.2) driver, polled, no interrupts.
 *
 * Devices sit at 0xd0000000 + slot * 0x1000 (arm64: where the DTB says,
 * see virtio_mmio_base() in arm64/main.c). One queue (queue 0) of QSZ
 * entries in a static 4 KiB page (descriptors at +0, available ring at
 * +0x400, used ring at +0x800); one request at a time, its header, status
 * byte, indirect table and data buffers in another static page. Guest
 * physical = guest virtual (identity map / paging off), so buffer
 * addresses are plain pointers.
 *
 * Commands (each prints "testguest: ..." lines; the caller powers off):
 *   blk-info       capacity and offered features of the first device
 *   blk-rw         OUT a pattern to sector 1, FLUSH, IN it back, compare;
 *                  then IN sector 0 and print its first 8 bytes
 *   blk-id         GET_ID
 *   blk-ro         OUT to sector 1, print the status byte
 *   blk-bad=KIND   a malformed request (head loop addr jump len nested),
 *                  wait for DEVICE_NEEDS_RESET, reset, do a good cycle
 *   blk-multi      capacities of the first two devices
 *   blk-indirect   the blk-rw cycle through an indirect descriptor table
 *   vmmio-flood=N  N one-byte writes to the Status register of the first
 *                  device (the spec wants 32-bit accesses: each one is a
 *                  guest error for the VMM), then "testguest: vmmio-flood done"
 *   blk-flood=N    N OUT requests to sector 1, one after the other; print
 *                  how many came back IOERR (a read-only disk refuses, and
 *                  the VMM logs, every one: a guest-error flood)
 *   net-bad        virtio-net (device id 1) with VERSION_1, CSUM and
 *                  HOST_TSO4 (not HOST_UFO), TX queue (1) only: one chain
 *                  of each malformed kind (short long gso csum flags
 *                  writable), each followed by a good frame, then a broken
 *                  ring (a head past the queue), a reset and a good frame;
 *                  prints "testguest: net-tx KIND RESULT" for each
 *   vsock-bad      virtio-vsock (device id 19), VERSION_1, TX queue (1)
 *                  only: one packet of each malformed kind (short cid src
 *                  type op len big writable), each followed by a good
 *                  REQUEST to CID 2 port 7000, then a broken ring, a reset
 *                  and a good REQUEST; "testguest: vsock-tx KIND RESULT"
 *   blk-regs       read nine registers REG_ROUNDS times each (no
 *                  poll_pause: reads of a directly readable window cost no
 *                  exit), print their values and how often one changed
 *
 * Waiting is a bounded poll that also reads the Status register and makes
 * one exit (poll_pause) every round, so the bound is at least POLL_MAX
 * exits.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

#define VMMIO_BASE          0xd0000000u
#define VMMIO_STRIDE        0x1000u

/* virtio-mmio registers */
#define R_MAGIC             0x000
#define R_VERSION           0x004
#define R_DEVICE_ID         0x008
#define R_DEV_FEATURES      0x010
#define R_DEV_FEATURES_SEL  0x014
#define R_DRV_FEATURES      0x020
#define R_DRV_FEATURES_SEL  0x024
#define R_QUEUE_SEL         0x030
#define R_QUEUE_NUM_MAX     0x034
#define R_QUEUE_NUM         0x038
#define R_QUEUE_READY       0x044
#define R_QUEUE_NOTIFY      0x050
#define R_INTERRUPT_STATUS  0x060
#define R_STATUS            0x070
#define R_QUEUE_DESC_LO     0x080
#define R_QUEUE_DESC_HI     0x084
#define R_QUEUE_DRIVER_LO   0x090
#define R_QUEUE_DRIVER_HI   0x094
#define R_QUEUE_DEVICE_LO   0x0a0
#define R_QUEUE_DEVICE_HI   0x0a4
#define R_CONFIG            0x100   /* virtio-blk: u64 capacity first */

#define MMIO_MAGIC          0x74726976u     /* "virt" */
#define VIRTIO_ID_BLOCK     2

/* Status bits */
#define S_ACKNOWLEDGE       1
#define S_DRIVER            2
#define S_DRIVER_OK         4
#define S_FEATURES_OK       8
#define S_NEEDS_RESET       64
#define S_FAILED            128

/* Feature bits: low word (select 0) and high word (select 1) */
#define F_LO_BLK_FLUSH      (1u << 9)
#define F_LO_INDIRECT_DESC  (1u << 28)
#define F_HI_VERSION_1      (1u << 0)   /* bit 32 */

/* Descriptor flags */
#define D_NEXT              1
#define D_WRITE             2
#define D_INDIRECT          4

/* virtio-blk request types and status */
#define T_IN                0
#define T_OUT               1
#define T_FLUSH             4
#define T_GET_ID            8
#define ID_BYTES            20

#define QSZ                 8           /* queue size: power of two */
#define AVAIL_OFF           0x400
#define USED_OFF            0x800
#define POLL_MAX            1000000ul   /* rounds, each one exit (poll_pause) */
#define REG_ROUNDS          20000ul

/* Negative results of a request (non-negative: the status byte). */
#define E_TIMEOUT           (-1)
#define E_NEEDS_RESET       (-2)
#define E_BAD_USED          (-3)

struct vdesc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct blk_outhdr {
	uint32_t type;
	uint32_t reserved;
	uint64_t sector;
};

_Static_assert(sizeof(struct vdesc) == 16, "virtq descriptor is 16 bytes");
_Static_assert(sizeof(struct blk_outhdr) == 16, "virtio_blk_outhdr is 16 bytes");

/* The rings of queue 0 (only one device at a time uses a queue). */
static uint8_t ring_page[4096] __attribute__((aligned(4096)));

/* The one request in flight. */
static struct {
	struct blk_outhdr hdr;          /* +0x00 */
	uint8_t status;                 /* +0x10 */
	uint8_t pad[15];
	struct vdesc ind[4];            /* +0x20 indirect table */
	uint8_t id[32];                 /* +0x60 GET_ID answer */
	uint8_t data[512] __attribute__((aligned(512)));
	uint8_t back[512];
} req __attribute__((aligned(4096)));

struct blk {
	uintptr_t base;
	uint32_t feat_lo, feat_hi;      /* offered by the device */
	uint32_t drv_lo, drv_hi;        /* accepted by us */
	uint16_t avail_idx;             /* next avail->idx to publish */
	uint16_t used_idx;              /* used->idx already consumed */
	int indirect;                   /* requests go through req.ind */
};

/* ---- low level ---- */

#ifdef __aarch64__
static inline uint32_t rd(const struct blk *b, uint32_t off)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(b->base + off) : "memory");
	return v;
}

static inline void wr(const struct blk *b, uint32_t off, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(b->base + off) : "memory");
}

static inline void wr8(const struct blk *b, uint32_t off, uint8_t v)
{
	__asm__ volatile("strb %w0, [%1]" : : "r"(v), "r"(b->base + off) : "memory");
}

static inline void mb(void)
{
	__asm__ volatile("dmb sy" : : : "memory");
}
#else
static inline uint32_t rd(const struct blk *b, uint32_t off)
{
	uint32_t v;

	__asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(b->base + off) : "memory");
	return v;
}

static inline void wr(const struct blk *b, uint32_t off, uint32_t v)
{
	__asm__ volatile("movl %0, (%1)" : : "r"(v), "r"(b->base + off) : "memory");
}

static inline void wr8(const struct blk *b, uint32_t off, uint8_t v)
{
	__asm__ volatile("movb %0, (%1)" : : "q"(v), "r"(b->base + off) : "memory");
}

/* Compiler and CPU barrier: ring/buffer writes are visible before what
 * follows, and what follows is read fresh. */
static inline void mb(void)
{
	__asm__ volatile("mfence" : : : "memory");
}
#endif

static inline volatile struct vdesc *ring_desc(void)
{
	return (volatile struct vdesc *)(void *)ring_page;
}

/* avail: [0] flags, [1] idx, [2 + i] ring[i] */
static inline volatile uint16_t *ring_avail(void)
{
	return (volatile uint16_t *)(void *)(ring_page + AVAIL_OFF);
}

/* used: [0] flags | idx << 16, then {id, len} pairs */
static inline volatile uint16_t *used_idx_ptr(void)
{
	return (volatile uint16_t *)(void *)(ring_page + USED_OFF + 2);
}

static inline volatile uint32_t *used_elem(uint16_t i)
{
	return (volatile uint32_t *)(void *)(ring_page + USED_OFF + 4 + 8 * (i & (QSZ - 1)));
}

static uint64_t gpa(const volatile void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void set_desc(volatile struct vdesc *d, uint64_t addr, uint32_t len,
		     uint16_t flags, uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* ---- output ---- */

static void put_hex_fixed(uint32_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";

	for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
		put_char(hex[(v >> shift) & 0xf]);
}

/* "testguest: <what> <n>" for a request result. */
static void put_result(const char *what, int r)
{
	put_str("testguest: ");
	put_str(what);
	put_str(" ");
	if (r == E_TIMEOUT)
		put_str("timeout");
	else if (r == E_NEEDS_RESET)
		put_str("needs-reset");
	else if (r == E_BAD_USED)
		put_str("bad-used-element");
	else
		put_dec((unsigned long)r);
	put_str("\n");
}

static void put_u64(uint32_t hi, uint32_t lo)
{
	if (hi) {
		put_str("0x");
		put_hex_fixed(hi, 8);
		put_str("_");
		put_hex_fixed(lo, 8);
	} else {
		put_dec(lo);
	}
}

/* ---- transport ---- */

/* Is there a virtio-blk device (version 2) in slot? Prints why not. */
static int blk_probe(struct blk *b, unsigned slot)
{
#ifdef __aarch64__
	b->base = virtio_mmio_base(slot);
#else
	b->base = VMMIO_BASE + slot * VMMIO_STRIDE;
#endif
	b->avail_idx = b->used_idx = 0;
	b->indirect = 0;
	if (rd(b, R_MAGIC) != MMIO_MAGIC || rd(b, R_VERSION) != 2 ||
	    rd(b, R_DEVICE_ID) != VIRTIO_ID_BLOCK) {
		put_str("testguest: no virtio-blk at ");
		put_hex((uint32_t)b->base);
		put_str("\n");
		return -1;
	}
	return 0;
}

/* Reset and wait until Status reads 0. */
static int blk_reset(struct blk *b)
{
	wr(b, R_STATUS, 0);
	for (unsigned long i = 0; i < POLL_MAX; i++, poll_pause())
		if (rd(b, R_STATUS) == 0)
			return 0;
	put_str("testguest: reset did not clear status\n");
	return -1;
}

static void init_failed(struct blk *b, const char *why, uint32_t v)
{
	put_str("testguest: blk init failed: ");
	put_str(why);
	put_str(" ");
	put_hex(v);
	put_str("\n");
	wr(b, R_STATUS, rd(b, R_STATUS) | S_FAILED);
}

/* The whole initialisation (virtio 1.2 3.1.1) with queue 0 of QSZ entries.
 * Accepts VERSION_1, FLUSH if offered and, with want_indirect,
 * INDIRECT_DESC if offered. */
static int blk_init(struct blk *b, int want_indirect)
{
	volatile uint32_t *ring = (volatile uint32_t *)(void *)ring_page;
	uint32_t st, max;

	if (blk_reset(b) < 0)
		return -1;
	wr(b, R_STATUS, S_ACKNOWLEDGE);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);

	wr(b, R_DEV_FEATURES_SEL, 0);
	b->feat_lo = rd(b, R_DEV_FEATURES);
	wr(b, R_DEV_FEATURES_SEL, 1);
	b->feat_hi = rd(b, R_DEV_FEATURES);
	if (!(b->feat_hi & F_HI_VERSION_1)) {
		init_failed(b, "no VERSION_1, features hi", b->feat_hi);
		return -1;
	}
	b->drv_lo = b->feat_lo & (F_LO_BLK_FLUSH | (want_indirect ? F_LO_INDIRECT_DESC : 0));
	b->drv_hi = F_HI_VERSION_1;
	wr(b, R_DRV_FEATURES_SEL, 0);
	wr(b, R_DRV_FEATURES, b->drv_lo);
	wr(b, R_DRV_FEATURES_SEL, 1);
	wr(b, R_DRV_FEATURES, b->drv_hi);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	st = rd(b, R_STATUS);
	if (!(st & S_FEATURES_OK)) {
		init_failed(b, "FEATURES_OK did not stick, status", st);
		return -1;
	}

	wr(b, R_QUEUE_SEL, 0);
	if (rd(b, R_QUEUE_READY) != 0) {
		init_failed(b, "queue 0 already ready", 1);
		return -1;
	}
	max = rd(b, R_QUEUE_NUM_MAX);
	if (max < QSZ) {
		init_failed(b, "queue 0 max size", max);
		return -1;
	}
	for (unsigned i = 0; i < sizeof(ring_page) / 4; i++)
		ring[i] = 0;
	b->avail_idx = b->used_idx = 0;
	b->indirect = (b->drv_lo & F_LO_INDIRECT_DESC) != 0;
	mb();
	wr(b, R_QUEUE_NUM, QSZ);
	wr(b, R_QUEUE_DESC_LO, (uint32_t)gpa(ring_page));
	wr(b, R_QUEUE_DESC_HI, (uint32_t)(gpa(ring_page) >> 32));
	wr(b, R_QUEUE_DRIVER_LO, (uint32_t)gpa(ring_page + AVAIL_OFF));
	wr(b, R_QUEUE_DRIVER_HI, (uint32_t)(gpa(ring_page + AVAIL_OFF) >> 32));
	wr(b, R_QUEUE_DEVICE_LO, (uint32_t)gpa(ring_page + USED_OFF));
	wr(b, R_QUEUE_DEVICE_HI, (uint32_t)(gpa(ring_page + USED_OFF) >> 32));
	wr(b, R_QUEUE_READY, 1);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	st = rd(b, R_STATUS);
	if ((st & (S_NEEDS_RESET | S_DRIVER_OK)) != S_DRIVER_OK) {
		init_failed(b, "after DRIVER_OK, status", st);
		return -1;
	}
	return 0;
}

/* Make head available: ring entry, then the index, then the notify. */
static void publish(struct blk *b, uint16_t head, uint16_t advance)
{
	volatile uint16_t *avail = ring_avail();

	avail[2 + (b->avail_idx & (QSZ - 1))] = head;
	b->avail_idx = (uint16_t)(b->avail_idx + advance);
	mb();
	avail[1] = b->avail_idx;
	mb();
	wr(b, R_QUEUE_NOTIFY, 0);
}

/* Make head available on queue q (one entry) and notify it. */
static void publish_on(struct blk *b, unsigned q, uint16_t head)
{
	volatile uint16_t *avail = ring_avail();

	avail[2 + (b->avail_idx & (QSZ - 1))] = head;
	b->avail_idx++;
	mb();
	avail[1] = b->avail_idx;
	mb();
	wr(b, R_QUEUE_NOTIFY, q);
}

/* Wait for the device to use one more buffer, with head 0. */
static int wait_used(struct blk *b)
{
	for (unsigned long i = 0; i < POLL_MAX; i++, poll_pause()) {
		mb();
		if (*used_idx_ptr() != b->used_idx) {
			mb();
			uint32_t id = used_elem(b->used_idx)[0];

			b->used_idx++;
			return id == 0 ? 0 : E_BAD_USED;
		}
		if (rd(b, R_STATUS) & S_NEEDS_RESET)
			return E_NEEDS_RESET;
	}
	return E_TIMEOUT;
}

/* ---- virtio-blk ---- */

/* One request: header, optional data buffer (device-writable unless
 * to_dev), status. Returns the status byte or E_*. */
static int blk_req(struct blk *b, uint32_t type, uint32_t sector, uint8_t *buf,
		   uint32_t len, int to_dev)
{
	volatile struct vdesc *t = b->indirect ? req.ind : ring_desc();
	uint16_t n = 0;
	int r;

	req.hdr.type = type;
	req.hdr.reserved = 0;
	req.hdr.sector = sector;
	req.status = 0xff;
	set_desc(&t[n], gpa(&req.hdr), sizeof(req.hdr), D_NEXT, (uint16_t)(n + 1));
	n++;
	if (len) {
		set_desc(&t[n], gpa(buf), len, (uint16_t)(D_NEXT | (to_dev ? 0 : D_WRITE)),
			 (uint16_t)(n + 1));
		n++;
	}
	set_desc(&t[n], gpa(&req.status), 1, D_WRITE, 0);
	n++;
	if (b->indirect)
		set_desc(&ring_desc()[0], gpa(req.ind), (uint32_t)n * 16, D_INDIRECT, 0);
	publish(b, 0, 1);
	r = wait_used(b);
	if (r < 0)
		return r;
	return req.status;
}

static uint8_t pattern(unsigned i)
{
	return (uint8_t)((i * 7 + 3) & 0xff);
}

/* OUT the pattern to sector 1, FLUSH (if negotiated), IN it back and
 * compare. 0, or -1 after printing what went wrong. */
static int blk_rw_cycle(struct blk *b)
{
	int r;

	for (unsigned i = 0; i < 512; i++) {
		req.data[i] = pattern(i);
		req.back[i] = 0;
	}
	r = blk_req(b, T_OUT, 1, req.data, 512, 1);
	if (r != 0) {
		put_result("blk-rw out status", r);
		return -1;
	}
	if (b->drv_lo & F_LO_BLK_FLUSH) {
		r = blk_req(b, T_FLUSH, 0, NULL, 0, 0);
		if (r != 0) {
			put_result("blk-rw flush status", r);
			return -1;
		}
	}
	r = blk_req(b, T_IN, 1, req.back, 512, 0);
	if (r != 0) {
		put_result("blk-rw in status", r);
		return -1;
	}
	for (unsigned i = 0; i < 512; i++) {
		if (req.back[i] != pattern(i)) {
			put_result("blk-rw mismatch at", (int)i);
			return -1;
		}
	}
	return 0;
}

static void cmd_info(void)
{
	struct blk b;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, 0) < 0)
		return;
	put_str("testguest: blk capacity ");
	put_u64(rd(&b, R_CONFIG + 4), rd(&b, R_CONFIG));
	put_str("\ntestguest: blk features 0x");
	put_hex_fixed(b.feat_hi, 8);
	put_str("_");
	put_hex_fixed(b.feat_lo, 8);
	put_str("\n");
}

static void cmd_regs(void)
{
	static const uint16_t regs[] = {
		R_MAGIC, R_VERSION, R_DEVICE_ID, R_DEV_FEATURES, R_QUEUE_NUM_MAX,
		R_QUEUE_READY, R_INTERRUPT_STATUS, R_STATUS, R_CONFIG,
	};
	enum { NREGS = sizeof(regs) / sizeof(regs[0]) };
	uint32_t first[NREGS];
	unsigned long changed = 0;
	struct blk b;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, 0) < 0)
		return;
	wr(&b, R_DEV_FEATURES_SEL, 1);
	wr(&b, R_QUEUE_SEL, 0);
	for (unsigned long i = 0; i < REG_ROUNDS; i++) {
		for (unsigned k = 0; k < NREGS; k++) {
			uint32_t v = rd(&b, regs[k]);

			if (i == 0)
				first[k] = v;
			else if (v != first[k])
				changed++;
		}
	}
	put_str("testguest: regs");
	for (unsigned k = 0; k < NREGS; k++) {
		put_str(" ");
		put_hex(first[k]);
	}
	put_str(" changed ");
	put_dec(changed);
	put_str("\n");
}

/* The rw cycle, then the first 8 bytes of sector 0. */
static void cmd_rw(int indirect)
{
	struct blk b;
	int r;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, indirect) < 0)
		return;
	if (indirect && !b.indirect) {
		put_str("testguest: blk no indirect\n");
		return;
	}
	if (blk_rw_cycle(&b) < 0)
		return;
	put_str(indirect ? "testguest: blk-indirect ok\n" : "testguest: blk-rw ok\n");
	r = blk_req(&b, T_IN, 0, req.back, 512, 0);
	if (r != 0) {
		put_result("blk sector0 status", r);
		return;
	}
	put_str("testguest: blk sector0 ");
	for (unsigned i = 0; i < 8; i++)
		put_hex_fixed(req.back[i], 2);
	put_str("\n");
}

static void cmd_id(void)
{
	struct blk b;
	int r;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, 0) < 0)
		return;
	for (unsigned i = 0; i < sizeof(req.id); i++)
		req.id[i] = 0;
	r = blk_req(&b, T_GET_ID, 0, req.id, ID_BYTES, 0);
	if (r != 0) {
		put_result("blk id status", r);
		return;
	}
	put_str("testguest: blk id ");
	for (unsigned i = 0; i < ID_BYTES && req.id[i]; i++)
		put_char(req.id[i] >= 0x20 && req.id[i] < 0x7f ? (char)req.id[i] : '?');
	put_str("\n");
}

static void cmd_ro(void)
{
	struct blk b;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, 0) < 0)
		return;
	for (unsigned i = 0; i < 512; i++)
		req.data[i] = pattern(i);
	put_result("blk-ro status", blk_req(&b, T_OUT, 1, req.data, 512, 1));
}

static void cmd_multi(void)
{
	struct blk b0, b1;

	if (blk_probe(&b0, 0) < 0 || blk_probe(&b1, 1) < 0)
		return;
	put_str("testguest: blk2 ");
	put_u64(rd(&b0, R_CONFIG + 4), rd(&b0, R_CONFIG));
	put_str(" ");
	put_u64(rd(&b1, R_CONFIG + 4), rd(&b1, R_CONFIG));
	put_str("\n");
}

/* N OUT requests in a row; "testguest: blk-flood ioerr <count>". */
static void cmd_flood(unsigned long count)
{
	struct blk b;
	unsigned long ioerr = 0;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, 0) < 0)
		return;
	for (unsigned i = 0; i < 512; i++)
		req.data[i] = pattern(i);
	for (unsigned long i = 0; i < count; i++) {
		int r = blk_req(&b, T_OUT, 1, req.data, 512, 1);

		if (r < 0) {
			put_result("blk-flood", r);
			return;
		}
		ioerr += r == 1;        /* VIRTIO_BLK_S_IOERR */
	}
	put_str("testguest: blk-flood ioerr ");
	put_dec(ioerr);
	put_str("\n");
}

static void cmd_mmio_flood(unsigned long count)
{
	struct blk b;

	if (blk_probe(&b, 0) < 0)
		return;
	for (unsigned long i = 0; i < count; i++)
		wr8(&b, R_STATUS, 0);
	put_str("testguest: vmmio-flood done\n");
}

/* ---- malformed rings ---- */

enum bad_kind { BAD_HEAD, BAD_LOOP, BAD_ADDR, BAD_JUMP, BAD_LEN, BAD_NESTED, BAD_NONE };

static const char *const bad_names[] = { "head", "loop", "addr", "jump", "len", "nested" };

/* An IN of sector 0, broken as kind says, made available and notified. */
static void submit_bad(struct blk *b, enum bad_kind kind)
{
	volatile struct vdesc *d = ring_desc();

	req.hdr.type = T_IN;
	req.hdr.reserved = 0;
	req.hdr.sector = 0;
	req.status = 0xff;
	set_desc(&d[0], gpa(&req.hdr), sizeof(req.hdr), D_NEXT, 1);
	set_desc(&d[1], gpa(req.back), 512, D_NEXT | D_WRITE, 2);
	set_desc(&d[2], gpa(&req.status), 1, D_WRITE, 0);
	switch (kind) {
	case BAD_HEAD:          /* an avail entry naming descriptor >= size */
		publish(b, QSZ + 3, 1);
		return;
	case BAD_LOOP:          /* a chain that never ends */
		d[1].next = 1;
		break;
	case BAD_ADDR:          /* a buffer far outside guest RAM */
		d[1].addr = 0xfff0000000000000ull;
		break;
	case BAD_JUMP:          /* avail idx 1000 ahead with one entry written */
		publish(b, 0, 1000);
		return;
	case BAD_LEN:           /* addr + len wraps around 2^64 */
		d[1].addr = 0xffffffffffffff00ull;
		d[1].len = 0x200;
		break;
	case BAD_NESTED:        /* an indirect table holding an indirect descriptor
				 * (or, without INDIRECT_DESC, any indirect one) */
		set_desc(&req.ind[0], gpa(req.ind), 32, D_INDIRECT, 0);
		set_desc(&req.ind[1], gpa(&req.status), 1, D_WRITE, 0);
		set_desc(&d[0], gpa(req.ind), 32, D_INDIRECT, 0);
		break;
	case BAD_NONE:
		break;
	}
	publish(b, 0, 1);
}

static void cmd_bad(enum bad_kind kind)
{
	struct blk b;
	unsigned long i;

	if (blk_probe(&b, 0) < 0 || blk_init(&b, kind == BAD_NESTED) < 0)
		return;
	submit_bad(&b, kind);
	for (i = 0; i < POLL_MAX; i++, poll_pause())
		if (rd(&b, R_STATUS) & S_NEEDS_RESET)
			break;
	put_str(i < POLL_MAX ? "testguest: needs-reset " : "testguest: no-reset ");
	put_str(bad_names[kind]);
	put_str("\n");

	if (blk_init(&b, 0) < 0 || blk_rw_cycle(&b) < 0)
		return;
	put_str("testguest: recovered\n");
}

/* ---- virtio-net: malformed TX chains ---- */

#define VIRTIO_ID_NET       1
#define F_LO_NET_CSUM       (1u << 0)
#define F_LO_NET_HOST_TSO4  (1u << 11)
#define NET_TXQ             1

/* A frame's header and bytes: the host test looks for ethertype 0x88b5
 * and the byte after it ('G' good, 'B' malformed). */
static struct {
	uint8_t hdr[12];
	uint8_t frame[64];
	uint8_t spare[16];
} net_buf __attribute__((aligned(4096)));

/* Bring up the first device as device `id` with the low feature bits in
 * want_lo (those offered) and VERSION_1, TX queue txq only. */
static int tx_probe_init(struct blk *b, uint32_t id, uint32_t want_lo, unsigned txq,
			 const char *none)
{
	uint32_t st;

#ifdef __aarch64__
	b->base = virtio_mmio_base(0);
#else
	b->base = VMMIO_BASE;
#endif
	b->avail_idx = b->used_idx = 0;
	b->indirect = 0;
	if (rd(b, R_MAGIC) != MMIO_MAGIC || rd(b, R_VERSION) != 2 ||
	    rd(b, R_DEVICE_ID) != id) {
		put_str(none);
		return -1;
	}
	if (blk_reset(b) < 0)
		return -1;
	wr(b, R_STATUS, S_ACKNOWLEDGE);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER);
	wr(b, R_DEV_FEATURES_SEL, 0);
	b->feat_lo = rd(b, R_DEV_FEATURES);
	b->drv_lo = b->feat_lo & want_lo;
	b->drv_hi = F_HI_VERSION_1;
	wr(b, R_DRV_FEATURES_SEL, 0);
	wr(b, R_DRV_FEATURES, b->drv_lo);
	wr(b, R_DRV_FEATURES_SEL, 1);
	wr(b, R_DRV_FEATURES, b->drv_hi);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK);
	if (!(rd(b, R_STATUS) & S_FEATURES_OK)) {
		init_failed(b, "net FEATURES_OK did not stick", rd(b, R_STATUS));
		return -1;
	}
	volatile uint32_t *ring = (volatile uint32_t *)(void *)ring_page;
	for (unsigned i = 0; i < sizeof(ring_page) / 4; i++)
		ring[i] = 0;
	mb();
	wr(b, R_QUEUE_SEL, txq);
	if (rd(b, R_QUEUE_NUM_MAX) < QSZ) {
		init_failed(b, "queue 1 max size", rd(b, R_QUEUE_NUM_MAX));
		return -1;
	}
	wr(b, R_QUEUE_NUM, QSZ);
	wr(b, R_QUEUE_DESC_LO, (uint32_t)gpa(ring_page));
	wr(b, R_QUEUE_DESC_HI, (uint32_t)(gpa(ring_page) >> 32));
	wr(b, R_QUEUE_DRIVER_LO, (uint32_t)gpa(ring_page + AVAIL_OFF));
	wr(b, R_QUEUE_DRIVER_HI, (uint32_t)(gpa(ring_page + AVAIL_OFF) >> 32));
	wr(b, R_QUEUE_DEVICE_LO, (uint32_t)gpa(ring_page + USED_OFF));
	wr(b, R_QUEUE_DEVICE_HI, (uint32_t)(gpa(ring_page + USED_OFF) >> 32));
	wr(b, R_QUEUE_READY, 1);
	wr(b, R_STATUS, S_ACKNOWLEDGE | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
	st = rd(b, R_STATUS);
	if ((st & (S_NEEDS_RESET | S_DRIVER_OK)) != S_DRIVER_OK) {
		init_failed(b, "net after DRIVER_OK, status", st);
		return -1;
	}
	return 0;
}

static int net_probe_init(struct blk *b)
{
	return tx_probe_init(b, VIRTIO_ID_NET, F_LO_NET_CSUM | F_LO_NET_HOST_TSO4, NET_TXQ,
			     "testguest: no virtio-net\n");
}

enum net_kind { NK_SHORT, NK_LONG, NK_GSO, NK_CSUM, NK_FLAGS, NK_WRITABLE, NK_GOOD, NK_N };
static const char *const net_kind_names[] = {
	"short", "long", "gso", "csum", "flags", "writable", "good",
};

/* Post one TX chain of the given kind at descriptors 0.. and wait. */
static int net_tx(struct blk *b, enum net_kind k)
{
	volatile struct vdesc *d = ring_desc();
	uint8_t *h = net_buf.hdr, *f = net_buf.frame;

	for (unsigned i = 0; i < sizeof(net_buf.hdr); i++)
		h[i] = 0;
	for (unsigned i = 0; i < 6; i++) {
		f[i] = 0xff;                    /* broadcast */
		f[6 + i] = (uint8_t)(i == 0 ? 0x02 : i);
	}
	f[12] = 0x88;
	f[13] = 0xb5;
	f[14] = k == NK_GOOD ? 'G' : 'B';
	for (unsigned i = 15; i < sizeof(net_buf.frame); i++)
		f[i] = (uint8_t)i;
	switch (k) {
	case NK_GSO:
		h[0] = 1;                       /* NEEDS_CSUM */
		h[1] = 3;                       /* GSO_UDP: HOST_UFO not negotiated */
		h[4] = 0x78; h[5] = 0x05;       /* gso_size 1400 */
		h[6] = 34; h[8] = 6;
		break;
	case NK_CSUM:
		h[0] = 1;
		h[6] = 60;                      /* csum_start 60 + offset 10: past the 64 bytes */
		h[8] = 10;
		break;
	case NK_FLAGS:
		h[0] = 2;                       /* DATA_VALID: RX only */
		break;
	default:
		break;
	}
	mb();
	if (k == NK_SHORT) {
		set_desc(&d[0], gpa(h), 8, 0, 0);
	} else if (k == NK_LONG) {
		/* 12 + 65537 bytes of guest RAM from the buffer on (read-only use) */
		set_desc(&d[0], gpa(h), 12, D_NEXT, 1);
		set_desc(&d[1], gpa(f), 65537, 0, 0);
	} else if (k == NK_WRITABLE) {
		set_desc(&d[0], gpa(h), 12, D_NEXT, 1);
		set_desc(&d[1], gpa(f), sizeof(net_buf.frame), D_NEXT, 2);
		set_desc(&d[2], gpa(net_buf.spare), sizeof(net_buf.spare), D_WRITE, 0);
	} else {
		set_desc(&d[0], gpa(h), 12, D_NEXT, 1);
		set_desc(&d[1], gpa(f), sizeof(net_buf.frame), 0, 0);
	}
	mb();
	publish_on(b, NET_TXQ, 0);
	return wait_used(b);
}

static void tx_result(const char *dev, const char *kind, int r)
{
	put_str("testguest: ");
	put_str(dev);
	put_str("-tx ");
	put_str(kind);
	put_str(r == 0 ? " used\n" : r == E_NEEDS_RESET ? " needs-reset\n" :
		r == E_TIMEOUT ? " timeout\n" : " bad-used\n");
}

static void net_result(const char *kind, int r)
{
	tx_result("net", kind, r);
}

static void cmd_net_bad(void)
{
	struct blk b;

	if (net_probe_init(&b) < 0)
		return;
	for (unsigned k = 0; k < NK_GOOD; k++) {
		net_result(net_kind_names[k], net_tx(&b, (enum net_kind)k));
		net_result("good", net_tx(&b, NK_GOOD));
	}
	/* a broken ring: a head past the queue size */
	publish_on(&b, NET_TXQ, QSZ + 3);
	net_result("ring", wait_used(&b));
	if (net_probe_init(&b) < 0)
		return;
	net_result("good", net_tx(&b, NK_GOOD));
	put_str("testguest: net-bad done\n");
}

/* ---- virtio-vsock: malformed TX packets ---- */

#define VIRTIO_ID_VSOCK     19
#define VSOCK_TXQ           1
#define VSOCK_HDR           44

enum vsock_kind { VK_SHORT, VK_CID, VK_SRC, VK_TYPE, VK_OP, VK_LEN, VK_BIG, VK_WRITABLE,
		  VK_GOOD, VK_N };
static const char *const vsock_kind_names[] = {
	"short", "cid", "src", "type", "op", "len", "big", "writable", "good",
};

static struct {
	uint8_t hdr[VSOCK_HDR];
	uint8_t pad[4];
	uint8_t data[64];
	uint8_t spare[16];
} vs_buf __attribute__((aligned(4096)));

static void le_put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Post one TX packet of the given kind (a good one is a REQUEST to CID 2
 * port 7000 from guest port 1000 + seq) at descriptors 0.. and wait. */
static int vsock_tx(struct blk *b, enum vsock_kind k, unsigned seq)
{
	volatile struct vdesc *d = ring_desc();
	uint8_t *h = vs_buf.hdr;
	uint32_t len = 0;

	for (unsigned i = 0; i < VSOCK_HDR; i++)
		h[i] = 0;
	le_put(h + 0, k == VK_SRC ? 99 : 3, 8);         /* src_cid: ours is 3 */
	le_put(h + 8, k == VK_CID ? 5 : 2, 8);          /* dst_cid: the host is 2 */
	le_put(h + 16, 1000 + seq, 4);
	le_put(h + 20, 7000, 4);
	le_put(h + 28, k == VK_TYPE ? 2 : 1, 2);        /* STREAM; 2 is SEQPACKET */
	le_put(h + 30, k == VK_OP ? 42 : k == VK_LEN || k == VK_BIG ? 5 : 1, 2);
	le_put(h + 36, 65536, 4);                       /* buf_alloc */
	if (k == VK_LEN) {
		len = 100;                              /* but 64 bytes follow */
	} else if (k == VK_BIG) {
		len = 65537;                            /* over VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */
	}
	le_put(h + 24, len, 4);
	for (unsigned i = 0; i < sizeof(vs_buf.data); i++)
		vs_buf.data[i] = (uint8_t)i;
	mb();
	if (k == VK_SHORT) {
		set_desc(&d[0], gpa(h), 20, 0, 0);
	} else if (k == VK_LEN) {
		set_desc(&d[0], gpa(h), VSOCK_HDR, D_NEXT, 1);
		set_desc(&d[1], gpa(vs_buf.data), sizeof(vs_buf.data), 0, 0);
	} else if (k == VK_BIG) {
		/* 65537 bytes of guest RAM from the buffer on (read-only use) */
		set_desc(&d[0], gpa(h), VSOCK_HDR, D_NEXT, 1);
		set_desc(&d[1], gpa(vs_buf.data), 65537, 0, 0);
	} else if (k == VK_WRITABLE) {
		set_desc(&d[0], gpa(h), VSOCK_HDR, D_NEXT, 1);
		set_desc(&d[1], gpa(vs_buf.spare), sizeof(vs_buf.spare), D_WRITE, 0);
	} else {
		set_desc(&d[0], gpa(h), VSOCK_HDR, 0, 0);
	}
	mb();
	publish_on(b, VSOCK_TXQ, 0);
	return wait_used(b);
}

static void vsock_result(const char *kind, int r)
{
	tx_result("vsock", kind, r);
}

/* vsock-bad: each malformed kind followed by a good REQUEST, then a
 * broken ring, a reset and one more good REQUEST. */
static void cmd_vsock_bad(void)
{
	struct blk b;
	unsigned seq = 0;

	if (tx_probe_init(&b, VIRTIO_ID_VSOCK, 0, VSOCK_TXQ, "testguest: no virtio-vsock\n") < 0)
		return;
	for (unsigned k = 0; k < VK_GOOD; k++) {
		vsock_result(vsock_kind_names[k], vsock_tx(&b, (enum vsock_kind)k, seq++));
		vsock_result("good", vsock_tx(&b, VK_GOOD, seq++));
	}
	publish_on(&b, VSOCK_TXQ, QSZ + 3);         /* a broken ring */
	vsock_result("ring", wait_used(&b));
	if (tx_probe_init(&b, VIRTIO_ID_VSOCK, 0, VSOCK_TXQ, "testguest: no virtio-vsock\n") < 0)
		return;
	vsock_result("good", vsock_tx(&b, VK_GOOD, seq++));
	put_str("testguest: vsock-bad done\n");
}

/* ---- dispatch ---- */

int virtio_run_word(const char *w, size_t n)
{
	static const char bad[] = "blk-bad=";
	const size_t nbad = sizeof(bad) - 1;
	unsigned long num;

	if (word_is(w, n, "blk-info")) {
		cmd_info();
	} else if (word_is(w, n, "blk-rw")) {
		cmd_rw(0);
	} else if (word_is(w, n, "blk-indirect")) {
		cmd_rw(1);
	} else if (word_is(w, n, "blk-id")) {
		cmd_id();
	} else if (word_is(w, n, "blk-ro")) {
		cmd_ro();
	} else if (word_is(w, n, "blk-regs")) {
		cmd_regs();
	} else if (word_is(w, n, "net-bad")) {
		cmd_net_bad();
	} else if (word_is(w, n, "vsock-bad")) {
		cmd_vsock_bad();
	} else if (word_is(w, n, "blk-multi")) {
		cmd_multi();
	} else if (word_arg(w, n, "blk-flood=", &num)) {
		cmd_flood(num);
	} else if (word_arg(w, n, "vmmio-flood=", &num)) {
		cmd_mmio_flood(num);
	} else if (n > nbad && word_is(w, nbad, bad)) {
		for (unsigned k = 0; k < BAD_NONE; k++) {
			if (word_is(w + nbad, n - nbad, bad_names[k])) {
				cmd_bad((enum bad_kind)k);
				return 1;
			}
		}
		put_str("testguest: unknown blk-bad kind\n");
	} else {
		return 0;
	}
	return 1;
}
