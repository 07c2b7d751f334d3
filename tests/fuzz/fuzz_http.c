/* libFuzzer target for the API's HTTP/1.1 request parser (api/http.c).
 * Input: byte 0 picks a body limit (0..255 KiB-ish scale), the rest is what
 * a client wrote on the socket. Every request in the stream is parsed in
 * turn, as the server does; each result is checked: consumed bytes within
 * the input, the body inside the buffer and within the limit, the path a
 * NUL-terminated string starting with '/', and every strict prefix of a
 * parsed request answered "need more" (no request is seen early). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t max_body = (size_t)data[0] * 256;
    size--;
    /* an exact-size copy so ASan sees any read past the input */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data + 1, size);
    size_t off = 0;
    for (int n = 0; n < 64 && off < size; n++) {
        struct http_request r;
        char err[128];
        int rc = http_parse(buf + off, size - off, max_body, &r, err, sizeof(err));
        if (rc == -EINVAL || rc == -EMSGSIZE) {
            if (!memchr(err, 0, sizeof(err)) || !err[0])
                abort();
            break;
        }
        if (rc < 0)
            abort();
        if (rc == 0)
            break;
        if ((size_t)rc > size - off || r.content_length > max_body ||
            r.head_len + r.content_length != (size_t)rc || r.body != buf + off + r.head_len ||
            r.path[0] != '/' || !memchr(r.path, 0, sizeof(r.path)) ||
            !memchr(r.method_str, 0, sizeof(r.method_str)))
            abort();
        /* a few strict prefixes must not yield a request */
        size_t cuts[3] = { (size_t)rc - 1, r.head_len - 1, (size_t)rc / 2 };
        for (int k = 0; k < 3; k++) {
            struct http_request p;
            int prc = http_parse(buf + off, cuts[k], max_body, &p, err, sizeof(err));
            if (prc > 0)
                abort();
        }
        off += (size_t)rc;
    }
    free(buf);
    return 0;
}
