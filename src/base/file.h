#ifndef ARCVMM_FILE_H
#define ARCVMM_FILE_H
#include <stddef.h>
#include <stdint.h>

/* Read a whole regular file (at most max bytes) into a malloc'd buffer.
 * what names the file's role for the message ("kernel", "initrd").
 * Errors: -ENOENT/-EACCES/... from open, -EISDIR, -EINVAL empty,
 * -EFBIG over max; err gets "<what> <path>: <reason>". */
int file_read_all(const char *what, const char *path, size_t max, uint8_t **buf,
                  size_t *len, char *err, size_t errlen);
/* The same checks as file_read_all without reading: 0 or -errno + err. */
int file_check(const char *what, const char *path, size_t max, char *err, size_t errlen);
#endif
