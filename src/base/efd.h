/* eventfd helpers: every wake-up fd in the tree (notify, irq, stop, exit)
 * is a non-blocking eventfd signalled and drained through these. */
#ifndef ARCVMM_EFD_H
#define ARCVMM_EFD_H
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* A new non-blocking, close-on-exec eventfd, or -errno. */
int efd_new(void);
/* Add 1 to the counter. fd < 0 is ignored; a saturated counter (EAGAIN)
 * means the reader is awake anyway, so nothing is lost. */
void efd_signal(int fd);
/* Reset the counter to 0; returns the value read (0 when none was pending). */
uint64_t efd_drain(int fd);
#endif
