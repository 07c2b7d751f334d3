/* testguest: the tier-2 freestanding guest (see guest.mk for the layout).
 *
 * The same file is compiled twice: 64-bit for the bzImage (entered by
 * entry64.S with RSI = boot_params) and 32-bit for the PVH ELF (entered by
 * entry32.S with EBX = hvm_start_info).  Both entries turn their boot
 * structure into a struct boot and call run(), which prints
 * "testguest: start <kind>", runs the first known word of the kernel
 * command line and powers off.  Console is COM1, polled; only msi uses
 * interrupts and HLT.  Commands: hello mem pio=N mmio=N counter[=LOOPS]
 * echo reset fault badport msi, and the virtio-blk ones in virtio.c (blk-info
 * blk-rw blk-id blk-ro blk-bad=KIND blk-multi blk-indirect); anything else:
 * "unknown command".
 * counter ticks every LOOPS (default 20 million) volatile loop iterations;
 * a host /dev/kvm that emulates the guest may need a far smaller LOOPS.
 * msi: the one command that takes interrupts: an IDT for vectors 32..255
 * (exceptions stay fatal), the LAPIC enabled, then "testguest: msi ready
 * apic <id>" and one "testguest: msi vector <v>" line per interrupt, in
 * arrival order, until vector 0x30 arrives: "testguest: msi done <count>".
 * Before "ready" it also masks the PICs and routes IOAPIC pins 10 and 20
 * (edge, to APIC 0) to vectors 0x4a and 0x54, so legacy lines show too.
 */
#include <stddef.h>
#include <stdint.h>

#include "guest.h"

#define COM1            0x3f8   /* RBR/THR, +1 IER, +3 LCR, +4 MCR, +5 LSR */
#define LSR_DR          0x01    /* a received byte is waiting */
#define LSR_THRE        0x20    /* transmit holding register empty */
#define PIO_TEST_PORT   0x510
#define MMIO_TEST_ADDR  0xd0000000u
#define BAD_PORT        0x9999
#define BAD_PORT_READ   0x9998
#define BAD_MMIO_ADDR   0xe0000000u
#define I8042_CMD_PORT  0x64
#define I8042_RESET     0xfe
#define ACPI_SLEEP_PORT 0x600
#define ACPI_S5_SLEEP   ((5 << 2) | (1 << 5))   /* SLP_TYP=5, SLP_EN */
#define TICK_LOOPS      20000000ul

struct boot {
	const char *kind;       /* "bzimage" or "pvh" */
	const char *cmdline;    /* NUL-terminated, or NULL */
	uint64_t ram_bytes;     /* sum of type-1 (RAM) map entries */
};

/* ---- port I/O and the serial console ---- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;
	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static void uart_init(void)
{
	outb(COM1 + 1, 0x00);   /* no interrupts: we poll */
	outb(COM1 + 3, 0x80);   /* DLAB on: divisor 1 (115200 baud) */
	outb(COM1 + 0, 0x01);
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03);   /* DLAB off, 8 data bits, no parity, 1 stop */
	outb(COM1 + 4, 0x03);   /* DTR, RTS */
}

void put_char(char c)
{
	while (!(inb(COM1 + 5) & LSR_THRE))
		;
	outb(COM1, (uint8_t)c);
}

void poll_pause(void)
{
	(void)inb(COM1 + 5);
}

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

void put_hex(uint32_t v)
{
	static const char digits[] = "0123456789abcdef";
	int shift = 28;

	put_str("0x");
	while (shift > 0 && !(v >> shift))  /* skip leading zeros */
		shift -= 4;
	for (; shift >= 0; shift -= 4)
		put_char(digits[(v >> shift) & 0xf]);
}

/* unsigned long, not uint64_t: the 32-bit build has no libgcc for 64-bit
 * division. */
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
	while (!(inb(COM1 + 5) & LSR_DR))
		;
	return (char)inb(COM1);
}

/* ---- ending the run ---- */

static void __attribute__((noreturn)) spin(void)
{
	for (;;)
		__asm__ volatile("pause");
}

static void __attribute__((noreturn)) power_off(void)
{
	outb(ACPI_SLEEP_PORT, ACPI_S5_SLEEP);
	spin();     /* e.g. under QEMU, which has nothing at port 0x600 */
}

static void __attribute__((noreturn)) triple_fault(void)
{
	struct {
		uint16_t limit;
		uintptr_t base;
	} __attribute__((packed)) idt = { 0, 0 };

	/* No usable IDT: the #UD cannot be delivered, nor the #DF -> shutdown. */
	__asm__ volatile("lidt %0\n\tud2" : : "m"(idt));
	spin();
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

/* Print "testguest: <what> <hex>". */
static void put_result(const char *what, uint32_t v)
{
	put_str("testguest: ");
	put_str(what);
	put_str(" ");
	put_hex(v);
	put_str("\n");
}

static void cmd_pio(unsigned long count)
{
	for (unsigned long i = 0; i < count; i++)
		outl(PIO_TEST_PORT, (uint32_t)i);
	put_result("pio-read", inl(PIO_TEST_PORT));
}

static void cmd_mmio(unsigned long count)
{
	volatile uint32_t *reg = (volatile uint32_t *)(uintptr_t)MMIO_TEST_ADDR;

	for (unsigned long i = 0; i < count; i++)
		reg[0] = (uint32_t)i;
	put_result("mmio-read", reg[1]);        /* 0xd0000004 */
}

static void cmd_badport(void)
{
	volatile uint32_t *bad = (volatile uint32_t *)(uintptr_t)BAD_MMIO_ADDR;

	outl(BAD_PORT, 0x12345678);
	(void)bad[0];
	put_result("badport", inl(BAD_PORT_READ));
}

/* ---- interrupts: the msi command ---- */

#define LAPIC_BASE      0xfee00000u
#define LAPIC_ID        0x020
#define LAPIC_TPR       0x080
#define LAPIC_EOI       0x0b0
#define LAPIC_SVR       0x0f0   /* bit 8: software enable; low byte: spurious vector */
#define MSI_STOP_VECTOR 0x30
#define IRQ_LOG         64

static inline uint32_t lapic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg);
}

static inline void lapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v;
}

/* Written by the handler, read by cmd_msi (one CPU, so volatile is enough). */
static volatile uint8_t irq_log[IRQ_LOG];
static volatile unsigned long irq_count;

/* Vectors 32..255 enter through 16-byte stubs (irq_stubs + 16 * (v - 32))
 * that push the vector and call irq_record with it. (Finding the vector
 * in the LAPIC's in-service registers instead does not work on kvm_pvm:
 * they read as zero in the handler.) */
void irq_record(unsigned long vec);
void __attribute__((used)) irq_record(unsigned long vec)
{
	irq_log[irq_count % IRQ_LOG] = (uint8_t)vec;
	irq_count++;
	if (vec != 0xff)        /* the spurious vector takes no EOI */
		lapic_write(LAPIC_EOI, 0);
}

extern const char irq_stubs[];
__asm__(
	"	.pushsection .text\n"
	"	.balign 16\n"
	"irq_stubs:\n"
	"	.set vec, 32\n"
	"	.rept 224\n"
	"	.balign 16\n"
	"	push $vec\n"
	"	jmp irq_common\n"
	"	.set vec, vec + 1\n"
	"	.endr\n"
	"irq_common:\n"
#ifdef __x86_64__
	/* The CPU aligned RSP to 16 and pushed 5 words, the stub one more:
	 * 9 saved registers and 8 bytes of padding realign it for the call. */
	"	push %rax; push %rcx; push %rdx; push %rsi; push %rdi\n"
	"	push %r8; push %r9; push %r10; push %r11\n"
	"	sub $8, %rsp\n"
	"	mov 80(%rsp), %rdi\n"
	"	call irq_record\n"
	"	add $8, %rsp\n"
	"	pop %r11; pop %r10; pop %r9; pop %r8\n"
	"	pop %rdi; pop %rsi; pop %rdx; pop %rcx; pop %rax\n"
	"	add $8, %rsp\n"
	"	iretq\n"
#else
	"	push %eax; push %ecx; push %edx\n"
	"	push 12(%esp)\n"
	"	call irq_record\n"
	"	add $4, %esp\n"
	"	pop %edx; pop %ecx; pop %eax\n"
	"	add $4, %esp\n"
	/* iret by hand: kvm_pvm hangs on a 32-bit iret (the vCPU stays on
	 * it). Same CS, and IF was set where the interrupt hit; sti's
	 * shadow keeps the next interrupt out until ret is done. */
	"	push 8(%esp)\n"
	"	popf\n"
	"	sti\n"
	"	ret $8\n"
#endif
	"	.popsection\n");

#ifdef __x86_64__
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, attr;
	uint16_t off_mid;
	uint32_t off_hi, zero;
};
#else
struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t zero, attr;
	uint16_t off_hi;
};
#endif

static struct idt_gate idt[256];

#define IOAPIC_BASE     0xfec00000u     /* IOREGSEL; IOWIN at +0x10 */
#define PIC1_DATA       0x21            /* 8259 interrupt mask registers */
#define PIC2_DATA       0xa1
#define IOAPIC_REDIR(n) (0x10 + 2 * (n))  /* low word; the high one follows */

static void ioapic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(uintptr_t)IOAPIC_BASE = reg;
	*(volatile uint32_t *)(uintptr_t)(IOAPIC_BASE + 0x10) = v;
}

/* Pin -> vector, fixed delivery, physical destination APIC 0, active high,
 * edge triggered, unmasked. */
static void ioapic_route(unsigned pin, uint8_t vector)
{
	ioapic_write(IOAPIC_REDIR(pin) + 1, 0);
	ioapic_write(IOAPIC_REDIR(pin), vector);
}

static void cmd_msi(void)
{
	struct {
		uint16_t limit;
		uintptr_t base;
	} __attribute__((packed)) idtr = { sizeof(idt) - 1, (uintptr_t)idt };
	uint16_t cs;
	unsigned long seen = 0;

	__asm__ volatile("mov %%cs, %0" : "=r"(cs));
	for (int v = 32; v < 256; v++) {   /* exceptions stay absent: fatal */
		uintptr_t h = (uintptr_t)(irq_stubs + 16 * (v - 32));

		idt[v].off_lo = (uint16_t)h;
		idt[v].sel = cs;
		idt[v].attr = 0x8e;         /* present, DPL 0, interrupt gate */
#ifdef __x86_64__
		idt[v].off_mid = (uint16_t)(h >> 16);
		idt[v].off_hi = (uint32_t)(h >> 32);
#else
		idt[v].off_hi = (uint16_t)(h >> 16);
#endif
	}
	__asm__ volatile("lidt %0" : : "m"(idtr));
	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, 0x100 | 0xff);
	outb(PIC1_DATA, 0xff);      /* mask both 8259s: LINT0 takes their ExtINT */
	outb(PIC2_DATA, 0xff);
	ioapic_route(10, 0x4a);
	ioapic_route(20, 0x54);
	put_result("msi ready apic", lapic_read(LAPIC_ID) >> 24);
	for (;;) {
		__asm__ volatile("cli");
		if (seen == irq_count) {
			__asm__ volatile("sti; hlt");   /* no wakeup lost: sti's shadow */
			continue;
		}
		__asm__ volatile("sti");
		while (seen != irq_count) {
			uint8_t v = irq_log[seen % IRQ_LOG];

			seen++;
			put_result("msi vector", v);
			if (v == MSI_STOP_VECTOR) {
				__asm__ volatile("cli");
				put_str("testguest: msi done ");
				put_dec(seen);
				put_str("\n");
				return;
			}
		}
	}
}

/* ---- command line ---- */

/* Does the word w (n chars) equal s? */
int word_is(const char *w, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] != w[i])   /* also stops at the end of s */
			return 0;
	return s[i] == '\0';
}

/* Is the word "<prefix><decimal>"?  Stores the number in *val. */
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

/* Runs the word as a command; returns 0 if it is not one.  Commands that
 * return have finished and the caller powers off. */
static int run_word(const struct boot *b, const char *w, size_t n)
{
	unsigned long arg;

	if (word_is(w, n, "hello")) {
		put_str("testguest: hello\n");
	} else if (word_is(w, n, "mem")) {
		put_str("testguest: mem ");
		put_dec((unsigned long)(b->ram_bytes >> 10));
		put_str("\n");
	} else if (word_arg(w, n, "pio=", &arg)) {
		cmd_pio(arg);
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
		outb(I8042_CMD_PORT, I8042_RESET);
		spin();
	} else if (word_is(w, n, "fault")) {
		put_str("testguest: fault\n");
		triple_fault();
	} else if (word_is(w, n, "badport")) {
		cmd_badport();
	} else if (word_arg(w, n, "pci-id=", &arg)) {
		/* vendor/device of bus 0 slot N through the 0xCF8/0xCFC ports */
		outl(0xcf8, 0x80000000u | (uint32_t)(arg & 31) << 11);
		put_result("pci-id", inl(0xcfc));
	} else if (word_is(w, n, "msi")) {
		cmd_msi();
	} else if (virtio_run_word(w, n)) {
		/* blk-* commands, see virtio.c */
	} else {
		return 0;
	}
	return 1;
}

/* Runs the first word of the command line that is a command (so options a
 * VMM may add, like console=ttyS0, are skipped). */
static void __attribute__((noreturn)) run(const struct boot *b)
{
	const char *p = b->cmdline ? b->cmdline : "";

	uart_init();
	put_str("testguest: start ");
	put_str(b->kind);
	put_str("\n");
	while (*p) {
		size_t n = 0;

		while (*p == ' ')
			p++;
		while (p[n] && p[n] != ' ')
			n++;
		if (n && run_word(b, p, n))
			power_off();
		p += n;
	}
	put_str("testguest: unknown command\n");
	power_off();
}

/* ---- the two boot protocols ---- */

#ifdef __x86_64__
/* Linux boot_params ("zero page"), only the fields we read. */
#define BP_E820_ENTRIES 0x1e8   /* u8 */
#define BP_CMD_LINE_PTR 0x228   /* u32, in the setup header */
#define BP_E820_TABLE   0x2d0
#define BP_E820_MAX     128

struct e820_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
} __attribute__((packed));

/* 64-bit entry from entry64.S; bp is the zero page. */
void __attribute__((noreturn)) bzimage_main(const uint8_t *bp);
void bzimage_main(const uint8_t *bp)
{
	const struct e820_entry *e820 = (const void *)(bp + BP_E820_TABLE);
	unsigned int entries = bp[BP_E820_ENTRIES];
	uint32_t cmdline = *(const uint32_t *)(bp + BP_CMD_LINE_PTR);
	struct boot b = { "bzimage", NULL, 0 };

	if (cmdline)
		b.cmdline = (const char *)(uintptr_t)cmdline;
	if (entries > BP_E820_MAX)
		entries = BP_E820_MAX;
	for (unsigned int i = 0; i < entries; i++)
		if (e820[i].type == 1)
			b.ram_bytes += e820[i].size;
	run(&b);
}
#else
#define HVM_START_MAGIC 0x336ec578

struct hvm_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;      /* version >= 1 */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* 32-bit entry from entry32.S, paging off; si is hvm_start_info.  Tables
 * above 4 GiB cannot be reached from here and are ignored. */
void __attribute__((noreturn)) pvh_main(const struct hvm_start_info *si);
void pvh_main(const struct hvm_start_info *si)
{
	struct boot b = { "pvh", NULL, 0 };

	if (si->magic != HVM_START_MAGIC) {
		uart_init();
		put_str("testguest: bad hvm_start_info magic\n");
		power_off();
	}
	if (si->cmdline_paddr && si->cmdline_paddr < 0x100000000ull)
		b.cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
	if (si->version >= 1 && si->memmap_paddr < 0x100000000ull) {
		const struct hvm_memmap_entry *map =
			(const void *)(uintptr_t)si->memmap_paddr;

		for (uint32_t i = 0; i < si->memmap_entries && i < 128; i++)
			if (map[i].type == 1)
				b.ram_bytes += map[i].size;
	}
	run(&b);
}
#endif
