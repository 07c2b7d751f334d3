/* testguest: what guest.c shares with the other guest sources (virtio.c).
 * Freestanding: no libc, polled console (COM1; the PL011 on arm64). */
#ifndef TESTGUEST_H
#define TESTGUEST_H
#include <stddef.h>
#include <stdint.h>

/* Console output on COM1 (polled). */
void put_char(char c);
void put_str(const char *s);
/* "0x" and the hex digits without leading zeros. */
void put_hex(uint32_t v);
/* Decimal; unsigned long, not uint64_t: the 32-bit build has no libgcc. */
void put_dec(unsigned long v);

/* One exit to the VMM (a console status read): a wait bounded by a count
 * of these is bounded in exits, whatever the CPU speed -- register reads
 * of a virtio window may cost no exit at all. */
void poll_pause(void);

/* Does the word w (n chars) equal s? */
int word_is(const char *w, size_t n, const char *s);
/* Is the word "<prefix><decimal>"? Stores the number in *val. */
int word_arg(const char *w, size_t n, const char *prefix, unsigned long *val);

#ifdef __aarch64__
/* arm64/main.c: the virtio-mmio window of slot (the DTB's "virtio,mmio"
 * nodes in address order), or 0 if there is no such slot. */
uintptr_t virtio_mmio_base(unsigned slot);
#endif

/* virtio.c: runs the word if it is one of its commands (blk-*); returns 0
 * if it is not. A command that returns has finished; the caller powers off. */
int virtio_run_word(const char *w, size_t n);
#endif
