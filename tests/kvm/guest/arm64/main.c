/* testguest for arm64: the tier-2 freestanding guest (see guest.mk).
 *
 * head.S enters arm64_main() at EL1 with the MMU off and x0 = the DTB.  The
 * DTB gives everything: the command line (/chosen bootargs), the RAM
 * (/memory reg), the console (the "arm,pl011" node's reg), the PSCI conduit
 * (/psci method) and the virtio-mmio windows ("virtio,mmio" nodes, in
 * address order = slot order).  Then the MMU is turned on with an identity
 * map (RAM normal write-back, everything else device memory) so that ring
 * and buffer accesses are cacheable and coherent with the VMM's view.
 *
 * Output: "testguest: start arm64", then the first known word of the
 * command line runs and the guest powers off (PSCI SYSTEM_OFF).  Console
 * is the PL011, polled; nothing takes interrupts.  Commands, as on x86 where
 * they make sense:
 *   hello          "testguest: hello"
 *   mem            "testguest: mem <KiB of RAM in the DTB>"
 *   mmio=N         N 32-bit writes (0..N-1) to MMIO_TEST_ADDR, then a read
 *                  of MMIO_TEST_ADDR + 4: "testguest: mmio-read <hex>"
 *   counter[=L]    "testguest: tick <n>" every L (default 20 million)
 *                  loop iterations, forever
 *   echo           reads a console line: "testguest: echo <line>"
 *   reset          "testguest: reset", PSCI SYSTEM_RESET
 *   fault          "testguest: fault", then a load pair from unbacked
 *                  MMIO (no instruction syndrome: KVM cannot emulate it),
 *                  which the VMM must turn into a fatal exit
 *   badaccess      a write and a read of unclaimed MMIO (BAD_MMIO_ADDR):
 *                  "testguest: badaccess <value read>" (all-ones expected)
 *   lpi            sets up LPIs and the ITS at arcvmm's fixed addresses
 *                  (device 8's events 0..3 -> LPIs 0x2000..0x2003),
 *                  and SPI 40 (INTID 0x48, edge), "testguest: lpi ready",
 *                  then polls the CPU interface (no exception): "testguest:
 *                  lpi <intid>" per interrupt, and "testguest: lpi done
 *                  <count>" after LPI 0x2003
 *   blk-*          virtio-blk, see ../virtio.c
 * Anything else: "testguest: unknown command".  An unexpected exception
 * prints "testguest: exception <vector> esr <hex> elr <hex> far <hex>" and
 * powers off.
 */
#include <stddef.h>
#include <stdint.h>

#include "../guest.h"

/* Addresses tier-2 tests register on the VMM's MMIO bus (tests/kvm/
 * kvmtest.h has the same numbers): a free page below the arm64 RAM base,
 * and an address nothing claims. */
#define MMIO_TEST_ADDR  0x3f000000ul
#define BAD_MMIO_ADDR   0x3f100000ul

#define PSCI_SYSTEM_OFF   0x84000008ul
#define PSCI_SYSTEM_RESET 0x84000009ul

#define UART_DR         0x00
#define UART_FR         0x18
#define FR_RXFE         (1u << 4)
#define FR_TXFF         (1u << 5)
#define UART_LCRH       0x2c
#define LCRH_8N1_FIFO   0x70
#define UART_CR         0x30
#define CR_EN_TX_RX     0x301

#define TICK_LOOPS      20000000ul
#define MAX_RAM         8
#define MAX_VIRTIO      32

static struct {
	uintptr_t uart;                 /* PL011 base; 0: none found */
	const char *cmdline;
	struct { uint64_t base, size; } ram[MAX_RAM];
	unsigned nram;
	uint64_t ram_bytes;
	uintptr_t virtio[MAX_VIRTIO];   /* sorted by address */
	unsigned nvirtio;
	int psci_smc;                   /* conduit: SMC instead of HVC */
} g;

/* gcc may emit calls to these even in freestanding code. */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;

	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;

	while (n--)
		*p++ = *q++;
	return d;
}

/* ---- MMIO, the PL011, PSCI ---- */

static inline void w32(uintptr_t a, uint32_t v)
{
	__asm__ volatile("str %w0, [%1]" : : "r"(v), "r"(a) : "memory");
}

static inline uint32_t r32(uintptr_t a)
{
	uint32_t v;

	__asm__ volatile("ldr %w0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static void uart_init(void)
{
	if (!g.uart)
		return;
	w32(g.uart + UART_LCRH, LCRH_8N1_FIFO);
	w32(g.uart + UART_CR, CR_EN_TX_RX);
}

void put_char(char c)
{
	if (!g.uart)
		return;
	while (r32(g.uart + UART_FR) & FR_TXFF)
		;
	w32(g.uart + UART_DR, (uint8_t)c);
}

void poll_pause(void)
{
	if (g.uart)
		(void)r32(g.uart + UART_FR);
}

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

static void put_hex64(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 60;

	put_str("0x");
	while (shift > 0 && !(v >> shift))
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		put_char(digits[(v >> shift) & 0xf]);
}

void put_hex(uint32_t v)
{
	put_hex64(v);
}

void put_dec(unsigned long v)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		put_char(buf[--n]);
}

static char get_char(void)
{
	while (r32(g.uart + UART_FR) & FR_RXFE)
		;
	return (char)(r32(g.uart + UART_DR) & 0xff);
}

static uint64_t psci_call(uint64_t fn)
{
	register uint64_t x0 __asm__("x0") = fn;

	if (g.psci_smc)
		__asm__ volatile("smc #0" : "+r"(x0) : : "x1", "x2", "x3", "x4", "x5", "x6",
				 "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
				 "x16", "x17", "memory");
	else
		__asm__ volatile("hvc #0" : "+r"(x0) : : "x1", "x2", "x3", "x4", "x5", "x6",
				 "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14", "x15",
				 "x16", "x17", "memory");
	return x0;
}

static void __attribute__((noreturn)) spin(void)
{
	for (;;)
		__asm__ volatile("wfi");
}

static void __attribute__((noreturn)) power_off(void)
{
	psci_call(PSCI_SYSTEM_OFF);
	put_str("testguest: PSCI SYSTEM_OFF returned\n");
	spin();
}

/* From head.S's vectors: vector number (0-15), ESR, ELR, FAR. */
void __attribute__((noreturn)) guest_exception(uint64_t vec, uint64_t esr, uint64_t elr,
					       uint64_t far);
void guest_exception(uint64_t vec, uint64_t esr, uint64_t elr, uint64_t far)
{
	put_str("testguest: exception ");
	put_dec((unsigned long)vec);
	put_str(" esr ");
	put_hex64(esr);
	put_str(" elr ");
	put_hex64(elr);
	put_str(" far ");
	put_hex64(far);
	put_str("\n");
	power_off();
}

/* ---- the device tree ---- */

#define FDT_MAGIC       0xd00dfeedu
#define FDT_BEGIN_NODE  1
#define FDT_END_NODE    2
#define FDT_PROP        3
#define FDT_NOP         4
#define FDT_END         9
#define FDT_MAX_DEPTH   16

enum node_kind { N_OTHER, N_MEMORY, N_PL011, N_VIRTIO, N_PSCI };

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* n big-endian cells (n <= 2 is meaningful) as a number. */
static uint64_t cells(const uint8_t *p, uint32_t n)
{
	uint64_t v = 0;

	for (uint32_t i = 0; i < n; i++)
		v = v << 32 | be32(p + 4 * i);
	return v;
}

static int str_eq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int str_prefix(const char *s, const char *prefix)
{
	while (*prefix)
		if (*s++ != *prefix++)
			return 0;
	return 1;
}

/* Does the string list (len bytes of NUL-terminated strings) hold one
 * starting with prefix? */
static int strlist_has(const char *list, uint32_t len, const char *prefix)
{
	uint32_t i = 0;

	while (i < len) {
		if (str_prefix(list + i, prefix))
			return 1;
		while (i < len && list[i])
			i++;
		i++;
	}
	return 0;
}

struct fdt_node {
	const char *name;
	enum node_kind kind;
	const uint8_t *reg;
	uint32_t reglen;
	uint32_t acells, scells;        /* for its children */
};

/* A finished node: record what it describes; parent has its #cells. */
static void fdt_node_done(const struct fdt_node *n, const struct fdt_node *parent)
{
	uint32_t ac = parent->acells, sc = parent->scells, step = 4 * (ac + sc);

	if (!n->reg || ac == 0 || ac > 2 || sc > 2)
		return;
	switch (n->kind) {
	case N_MEMORY:
		for (uint32_t off = 0; off + step <= n->reglen && g.nram < MAX_RAM; off += step) {
			g.ram[g.nram].base = cells(n->reg + off, ac);
			g.ram[g.nram].size = cells(n->reg + off + 4 * ac, sc);
			g.ram_bytes += g.ram[g.nram].size;
			g.nram++;
		}
		break;
	case N_PL011:
		if (!g.uart && n->reglen >= 4 * ac)
			g.uart = (uintptr_t)cells(n->reg, ac);
		break;
	case N_VIRTIO:
		if (n->reglen >= 4 * ac && g.nvirtio < MAX_VIRTIO) {
			uintptr_t base = (uintptr_t)cells(n->reg, ac);
			unsigned i = g.nvirtio++;

			while (i > 0 && g.virtio[i - 1] > base) {   /* insertion sort */
				g.virtio[i] = g.virtio[i - 1];
				i--;
			}
			g.virtio[i] = base;
		}
		break;
	default:
		break;
	}
}

static void fdt_prop(struct fdt_node *n, int depth, const char *name, const uint8_t *val,
		     uint32_t len)
{
	if (str_eq(name, "#address-cells") && len == 4)
		n->acells = be32(val);
	else if (str_eq(name, "#size-cells") && len == 4)
		n->scells = be32(val);
	else if (str_eq(name, "reg")) {
		n->reg = val;
		n->reglen = len;
	} else if (str_eq(name, "device_type") && strlist_has((const char *)val, len, "memory"))
		n->kind = N_MEMORY;
	else if (str_eq(name, "compatible")) {
		if (strlist_has((const char *)val, len, "arm,pl011"))
			n->kind = N_PL011;
		else if (strlist_has((const char *)val, len, "virtio,mmio"))
			n->kind = N_VIRTIO;
		else if (strlist_has((const char *)val, len, "arm,psci"))
			n->kind = N_PSCI;
	} else if (str_eq(name, "method") && n->kind == N_PSCI) {
		g.psci_smc = strlist_has((const char *)val, len, "smc");
	} else if (depth == 2 && str_eq(name, "bootargs") && str_eq(n->name, "chosen") &&
		   len > 0 && val[len - 1] == '\0') {
		g.cmdline = (const char *)val;
	}
}

/* Walks the flattened device tree at fdt (bounded by its own sizes). */
static void fdt_scan(const uint8_t *fdt)
{
	struct fdt_node stack[FDT_MAX_DEPTH];
	int depth = 0;

	if (!fdt || be32(fdt) != FDT_MAGIC || be32(fdt + 20) < 17)
		return;
	const uint8_t *p = fdt + be32(fdt + 8);
	const uint8_t *end = p + be32(fdt + 36);
	const char *strings = (const char *)fdt + be32(fdt + 12);

	stack[0] = (struct fdt_node){ "", N_OTHER, NULL, 0, 2, 1 };
	while (p + 4 <= end) {
		uint32_t tok = be32(p);

		p += 4;
		if (tok == FDT_BEGIN_NODE) {
			const char *name = (const char *)p;
			uint32_t n = 0;

			while (p + n < end && p[n])
				n++;
			p += (n + 1 + 3) & ~3u;
			if (++depth < FDT_MAX_DEPTH) {
				stack[depth] = (struct fdt_node){ name, N_OTHER, NULL, 0, 2, 1 };
				if (str_prefix(name, "memory"))
					stack[depth].kind = N_MEMORY;
			}
		} else if (tok == FDT_END_NODE) {
			if (depth <= 0)
				return;
			if (depth < FDT_MAX_DEPTH)
				fdt_node_done(&stack[depth], &stack[depth - 1]);
			depth--;
		} else if (tok == FDT_PROP) {
			if (p + 8 > end)
				return;
			uint32_t len = be32(p), nameoff = be32(p + 4);

			p += 8;
			if (p + len > end)
				return;
			if (depth > 0 && depth < FDT_MAX_DEPTH)
				fdt_prop(&stack[depth], depth, strings + nameoff, p, len);
			p += (len + 3) & ~3u;
		} else if (tok == FDT_END) {
			return;
		} else if (tok != FDT_NOP) {
			return;
		}
	}
}

/* virtio.c: the virtio-mmio window of slot, or 0: the windows in address
 * order, skipping empty ones (DeviceID 0: QEMU's virt machine has 32
 * windows whatever is plugged in). */
uintptr_t virtio_mmio_base(unsigned slot)
{
	for (unsigned i = 0; i < g.nvirtio; i++)
		if (r32(g.virtio[i] + 8) != 0 && slot-- == 0)
			return g.virtio[i];
	return 0;
}

/* ---- MMU: identity map, RAM normal write-back, the rest device ---- */

#define PTE_TABLE       3ul
#define PTE_BLOCK       1ul
#define PTE_ATTR(i)     ((uint64_t)(i) << 2)
#define PTE_SH_INNER    (3ul << 8)
#define PTE_AF          (1ul << 10)
#define PTE_XN          (3ul << 53)     /* PXN | UXN */
#define ATTR_DEVICE     1               /* MAIR index: Device-nGnRE */
#define ATTR_NORMAL     2               /* MAIR index: Normal write-back */
#define MAIR_VALUE      (0x00ul | 0x04ul << 8 | 0xfful << 16)
#define GIB             (1ul << 30)
#define MIB2            (1ul << 21)

static uint64_t pt_l1[512] __attribute__((aligned(4096)));
static uint64_t pt_l2[4][512] __attribute__((aligned(4096)));   /* the first 4 GiB */

extern char _text[], _end[];

static int overlaps_ram(uint64_t base, uint64_t size)
{
	for (unsigned i = 0; i < g.nram; i++)
		if (base < g.ram[i].base + g.ram[i].size && g.ram[i].base < base + size)
			return 1;
	return 0;
}

static uint64_t block(uint64_t addr, uint64_t size)
{
	if (overlaps_ram(addr, size))
		return addr | PTE_BLOCK | PTE_ATTR(ATTR_NORMAL) | PTE_SH_INNER | PTE_AF;
	return addr | PTE_BLOCK | PTE_ATTR(ATTR_DEVICE) | PTE_AF | PTE_XN;
}

/* Invalidates the data cache lines of [start, end): written with the MMU
 * (and so the cache) off, memory is newer than any line there. */
static void dcache_inval(uintptr_t start, uintptr_t end)
{
	uint64_t ctr;

	__asm__ volatile("mrs %0, ctr_el0" : "=r"(ctr));
	uintptr_t line = 4ul << ((ctr >> 16) & 0xf);
	for (uintptr_t a = start & ~(line - 1); a < end; a += line)
		__asm__ volatile("dc ivac, %0" : : "r"(a) : "memory");
	__asm__ volatile("dsb sy" : : : "memory");
}

static void mmu_on(void)
{
	uint64_t mmfr0, tcr, sctlr;

	for (unsigned i = 0; i < 512; i++) {
		if (i < 4) {
			for (unsigned j = 0; j < 512; j++) {
				uint64_t a = (uint64_t)i * GIB + (uint64_t)j * MIB2;

				pt_l2[i][j] = block(a, MIB2);
			}
			pt_l1[i] = (uint64_t)(uintptr_t)pt_l2[i] | PTE_TABLE;
		} else {
			pt_l1[i] = block((uint64_t)i * GIB, GIB);
		}
	}
	dcache_inval((uintptr_t)_text, (uintptr_t)_end);

	__asm__ volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
	uint64_t ips = mmfr0 & 7;       /* PARange -> TCR.IPS, same encoding */
	if (ips > 5)
		ips = 5;
	tcr = 25                        /* T0SZ: 39-bit VAs, walks start at level 1 */
	    | 1ul << 8 | 1ul << 10      /* IRGN0, ORGN0: write-back write-allocate */
	    | 3ul << 12                 /* SH0: inner shareable */
	    | 0ul << 14                 /* TG0: 4 KiB */
	    | 1ul << 23                 /* EPD1: no TTBR1 walks */
	    | ips << 32;
	__asm__ volatile("msr mair_el1, %0" : : "r"(MAIR_VALUE));
	__asm__ volatile("msr tcr_el1, %0" : : "r"(tcr));
	__asm__ volatile("msr ttbr0_el1, %0" : : "r"((uint64_t)(uintptr_t)pt_l1));
	__asm__ volatile("isb; tlbi vmalle1; dsb nsh; isb" : : : "memory");
	__asm__ volatile("mrs %0, sctlr_el1" : "=r"(sctlr));
	sctlr |= 1ul << 0 | 1ul << 2 | 1ul << 12;       /* M, C, I */
	sctlr &= ~(1ul << 1);                           /* A: no alignment faults */
	__asm__ volatile("msr sctlr_el1, %0; isb" : : "r"(sctlr) : "memory");
}

/* ---- commands ---- */

static void cmd_counter(unsigned long loops_per_tick)
{
	unsigned long ticks = 0;

	for (;;) {
		for (volatile unsigned long i = 0; i < loops_per_tick; i++)
			;
		put_str("testguest: tick ");
		put_dec(++ticks);
		put_str("\n");
	}
}

static void cmd_echo(void)
{
	char line[128];
	size_t n = 0;
	char c;

	while ((c = get_char()) != '\n' && c != '\r')
		if (n < sizeof(line) - 1)
			line[n++] = c;
	line[n] = '\0';
	put_str("testguest: echo ");
	put_str(line);
	put_str("\n");
}

static void put_result(const char *what, uint32_t v)
{
	put_str("testguest: ");
	put_str(what);
	put_str(" ");
	put_hex(v);
	put_str("\n");
}

static void cmd_mmio(unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		w32(MMIO_TEST_ADDR, (uint32_t)i);
	put_result("mmio-read", r32(MMIO_TEST_ADDR + 4));
}

static void cmd_badaccess(void)
{
	w32(BAD_MMIO_ADDR, 0x12345678);
	put_result("badaccess", r32(BAD_MMIO_ADDR));
}

static void __attribute__((noreturn)) cmd_fault(void)
{
	uint64_t a, b;

	put_str("testguest: fault\n");
	/* A load pair has no instruction syndrome (ESR.ISV = 0). */
	__asm__ volatile("ldp %0, %1, [%2]" : "=&r"(a), "=&r"(b) : "r"(BAD_MMIO_ADDR) : "memory");
	put_str("testguest: fault survived ");
	put_hex64(a);
	put_str(" ");
	put_hex64(b);
	put_str("\n");
	power_off();
}

/* ---- the lpi command: MSIs through the GICv3 ITS, polled ---- */

/* arcvmm's arm64 layout (src/arch/arm64/layout.h). The FDT has no ITS
 * node until the board creates one, so the addresses are fixed here. */
#define GICD_BASE       0x08000000ul
#define GITS_BASE       0x08080000ul
#define GICR_BASE       0x10000000ul    /* vCPU 0's RD_base */
#define GICD_CTLR       0x0000
#define GICD_CTLR_G1    (1u << 1)
#define GICD_CTLR_ARE   (1u << 4)
#define GICR_CTLR       0x0000
#define GICR_TYPER      0x0008
#define GICR_WAKER      0x0014
#define GICR_PROPBASER  0x0070
#define GICR_PENDBASER  0x0078
#define GITS_CTLR       0x0000
#define GITS_CBASER     0x0080
#define GITS_CWRITER    0x0088
#define GITS_CREADR     0x0090
#define GITS_BASER(n)   (0x0100 + 8 * (n))
#define BASER_VALID     (1ul << 63)
#define BASER_TYPE(v)   (((v) >> 56) & 7)   /* 1: devices, 4: collections */
#define LPI_IDBITS      14                  /* INTIDs below 16384 */
#define LPI_BASE        8192
#define LPI_DEVID       8                   /* tests/kvm/test_msi.c: 00:01.0 */
#define LPI_EVENTS      4                   /* events e -> LPI 8192 + e */
#define LPI_STOP        (LPI_BASE + LPI_EVENTS - 1)
#define SPURIOUS        1023
#define TEST_SPI_INTID  72                  /* SPI 40: no board device uses it */
#define GICD_ISENABLER(n) (0x0100 + 4 * (n))
#define GICD_ICFGR(n)   (0x0c00 + 4 * (n))

static uint8_t lpi_prop[(1 << LPI_IDBITS) - LPI_BASE] __attribute__((aligned(4096)));
static uint8_t lpi_pend[(1 << LPI_IDBITS) / 8] __attribute__((aligned(65536)));
static uint64_t its_cmdq[512] __attribute__((aligned(65536)));  /* 4 KiB: 128 commands */
static uint8_t its_devt[4096] __attribute__((aligned(65536)));
static uint8_t its_collt[4096] __attribute__((aligned(65536)));
static uint8_t its_itt[256] __attribute__((aligned(256)));

static inline void w64(uintptr_t a, uint64_t v)
{
	__asm__ volatile("str %0, [%1]" : : "r"(v), "r"(a) : "memory");
}

static inline uint64_t r64(uintptr_t a)
{
	uint64_t v;

	__asm__ volatile("ldr %0, [%1]" : "=r"(v) : "r"(a) : "memory");
	return v;
}

static unsigned its_cmds;       /* commands queued so far */

static void its_cmd(uint64_t d0, uint64_t d1, uint64_t d2)
{
	uint64_t *c = &its_cmdq[4 * (its_cmds++ % 128)];

	c[0] = d0;
	c[1] = d1;
	c[2] = d2;
	c[3] = 0;
	__asm__ volatile("dsb sy" : : : "memory");
	w64(GITS_BASE + GITS_CWRITER, (uint64_t)(its_cmds % 128) * 32);
}

static void cmd_lpi(void)
{
	uint64_t cpu = (r64(GICR_BASE + GICR_TYPER) >> 8) & 0xffff;    /* processor number */
	unsigned long seen = 0;

	if (!(r64(GICR_BASE + GICR_TYPER) & 1)) {               /* PLPIS */
		put_str("testguest: lpi unsupported\n");
		return;
	}
	/* CPU interface: group 1 on, every priority let through. */
	__asm__ volatile("msr S3_0_C4_C6_0, %0" : : "r"(0xfful));     /* ICC_PMR_EL1 */
	__asm__ volatile("msr S3_0_C12_C12_7, %0" : : "r"(1ul));      /* ICC_IGRPEN1_EL1 */
	__asm__ volatile("isb");
	w32(GICD_BASE + GICD_CTLR, GICD_CTLR_ARE | GICD_CTLR_G1);
	/* One SPI too, edge-triggered (a pulse latches it), to the boot CPU
	 * as it is by default: it shows the irqchip routes still work. */
	w32(GICD_BASE + GICD_ICFGR(TEST_SPI_INTID / 16),
	    r32(GICD_BASE + GICD_ICFGR(TEST_SPI_INTID / 16)) | 2u << 2 * (TEST_SPI_INTID % 16));
	w32(GICD_BASE + GICD_ISENABLER(TEST_SPI_INTID / 32), 1u << TEST_SPI_INTID % 32);
	w32(GICR_BASE + GICR_WAKER, 0);

	/* Redistributor: LPI configuration (priority 0xa0, enabled) and
	 * pending tables, then LPIs on. */
	for (unsigned i = 0; i < sizeof(lpi_prop); i++)
		lpi_prop[i] = 0xa0 | 1;
	__asm__ volatile("dsb sy" : : : "memory");
	w64(GICR_BASE + GICR_PROPBASER, (uintptr_t)lpi_prop | (LPI_IDBITS - 1));
	w64(GICR_BASE + GICR_PENDBASER, (uintptr_t)lpi_pend);
	w32(GICR_BASE + GICR_CTLR, 1);                          /* EnableLPIs */

	/* ITS: its device and collection tables, the command queue, on. */
	for (int n = 0; n < 8; n++) {
		uint64_t v = r64(GITS_BASE + GITS_BASER(n));

		if (BASER_TYPE(v) == 1)
			w64(GITS_BASE + GITS_BASER(n), BASER_VALID | (uintptr_t)its_devt);
		else if (BASER_TYPE(v) == 4)
			w64(GITS_BASE + GITS_BASER(n), BASER_VALID | (uintptr_t)its_collt);
	}
	w64(GITS_BASE + GITS_CBASER, BASER_VALID | (uintptr_t)its_cmdq);
	w64(GITS_BASE + GITS_CWRITER, 0);
	w32(GITS_BASE + GITS_CTLR, 1);

	/* MAPD (ITT for 2^5 events), MAPC (collection 0 -> this CPU),
	 * MAPTI per event, SYNC. */
	its_cmd(0x08 | (uint64_t)LPI_DEVID << 32, 5 - 1, 1ul << 63 | (uintptr_t)its_itt);
	its_cmd(0x09, 0, 1ul << 63 | cpu << 16 | 0);
	for (uint64_t e = 0; e < LPI_EVENTS; e++)
		its_cmd(0x0a | (uint64_t)LPI_DEVID << 32, e | (LPI_BASE + e) << 32, 0);
	its_cmd(0x05, 0, cpu << 16);
	for (unsigned long i = 0; r64(GITS_BASE + GITS_CREADR) != (its_cmds % 128) * 32; i++)
		if (i == 1000000) {
			put_str("testguest: lpi its commands stuck\n");
			return;
		}
	put_str("testguest: lpi ready\n");

	/* Interrupts stay masked (PSTATE.I): acknowledge by polling. */
	for (;;) {
		uint64_t intid;

		__asm__ volatile("mrs %0, S3_0_C12_C12_0" : "=r"(intid));   /* ICC_IAR1_EL1 */
		intid &= 0xffffff;
		if (intid == SPURIOUS)
			continue;
		__asm__ volatile("msr S3_0_C12_C12_1, %0" : : "r"(intid));  /* ICC_EOIR1_EL1 */
		seen++;
		put_result("lpi", (uint32_t)intid);
		if (intid == LPI_STOP) {
			put_str("testguest: lpi done ");
			put_dec(seen);
			put_str("\n");
			return;
		}
	}
}

/* ---- command line ---- */

int word_is(const char *w, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != w[i])
			return 0;
	return s[i] == '\0';
}

int word_arg(const char *w, size_t n, const char *prefix, unsigned long *val)
{
	size_t i = 0;

	for (; prefix[i]; i++)
		if (i >= n || w[i] != prefix[i])
			return 0;
	if (i == n)
		return 0;
	*val = 0;
	for (; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return 0;
		*val = *val * 10 + (unsigned long)(w[i] - '0');
	}
	return 1;
}

static int run_word(const char *w, size_t n)
{
	unsigned long arg;

	if (word_is(w, n, "hello")) {
		put_str("testguest: hello\n");
	} else if (word_is(w, n, "mem")) {
		put_str("testguest: mem ");
		put_dec((unsigned long)(g.ram_bytes >> 10));
		put_str("\n");
	} else if (word_arg(w, n, "mmio=", &arg)) {
		cmd_mmio(arg);
	} else if (word_is(w, n, "counter")) {
		cmd_counter(TICK_LOOPS);
	} else if (word_arg(w, n, "counter=", &arg)) {
		cmd_counter(arg);
	} else if (word_is(w, n, "echo")) {
		cmd_echo();
	} else if (word_is(w, n, "reset")) {
		put_str("testguest: reset\n");
		psci_call(PSCI_SYSTEM_RESET);
		put_str("testguest: PSCI SYSTEM_RESET returned\n");
		spin();
	} else if (word_is(w, n, "fault")) {
		cmd_fault();
	} else if (word_is(w, n, "badaccess")) {
		cmd_badaccess();
	} else if (word_is(w, n, "lpi")) {
		cmd_lpi();
	} else if (virtio_run_word(w, n)) {
		/* blk-* commands, see virtio.c */
	} else {
		return 0;
	}
	return 1;
}

/* From head.S: MMU off, relocated, .bss zeroed, on our stack. */
void __attribute__((noreturn)) arm64_main(const uint8_t *dtb, uintptr_t load_addr);
void arm64_main(const uint8_t *dtb, uintptr_t load_addr)
{
	fdt_scan(dtb);
	if (!overlaps_ram(load_addr, 1)) {      /* no usable /memory: map all we run in */
		g.nram = 0;
		g.ram[g.nram].base = load_addr & ~(GIB - 1);
		g.ram[g.nram++].size = GIB;
	}
	mmu_on();
	uart_init();
	put_str("testguest: start arm64\n");

	const char *p = g.cmdline ? g.cmdline : "";
	while (*p) {
		size_t n = 0;

		while (*p == ' ')
			p++;
		while (p[n] && p[n] != ' ')
			n++;
		if (n && run_word(p, n))
			power_off();
		p += n;
	}
	put_str("testguest: unknown command\n");
	power_off();
}
