#ifndef ARCVMM_FILE_H
#define ARCVMM_FILE_H
#include <stddef.h>
#include <stdint.h>

/* Large, short-lived buffers (kernel and initrd images, the DTB and ACPI
 * tables while they are built) come straight from mmap and go back to the
 * kernel on scratch_free.  Through malloc they would raise glibc's dynamic
 * mmap threshold and leave megabytes of touched heap behind for the whole
 * life of the VM.  scratch_alloc returns zeroed memory or NULL. */
void *scratch_alloc(size_t len);
void scratch_free(void *buf, size_t len);

/* Read a whole regular file (at most max bytes) into a scratch buffer
 * (release it with scratch_free(*buf, *len)).
 * what names the file's role for the message ("kernel", "initrd").
 * Never blocks in open(2): a FIFO, device or socket is refused
 * ("not a regular file (a FIFO)") without waiting for a writer.
 * Errors: -ENOENT/-EACCES/... from open, -EISDIR, -EINVAL empty or not a
 * regular file, -EFBIG over max; err gets "<what> <path>: <reason>". */
int file_read_all(const char *what, const char *path, size_t max, uint8_t **buf,
                  size_t *len, char *err, size_t errlen);
/* The same checks as file_read_all without reading: 0 or -errno + err. */
int file_check(const char *what, const char *path, size_t max, char *err, size_t errlen);
#endif
