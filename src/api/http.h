/* HTTP/1.1 for the API socket: a request parser over a byte buffer and a
 * response formatter. Pure functions, no I/O, no allocation: the server
 * (api/server.c) owns the connection buffers and calls these on the API
 * loop thread. Everything a client sends is hostile input; the parser
 * bounds every length and is fuzzed (tests/fuzz/fuzz_http.c).
 *
 * What is understood: a request line `METHOD SP /target SP HTTP/1.x`, header
 * lines (CRLF or bare LF), Content-Length (the only way to send a body:
 * Transfer-Encoding is refused), `Expect: 100-continue` and `Connection:
 * close|keep-alive`. HTTP/1.1 keeps the connection by default, 1.0 not. */
#ifndef ARCVMM_API_HTTP_H
#define ARCVMM_API_HTTP_H
#include <stdbool.h>
#include <stddef.h>

/* Request line + headers, at most (a client past this gets 400). */
#define HTTP_MAX_HEAD 8192
/* Default body limit (--http-api-max-payload-size), as Firecracker's. */
#define HTTP_DEFAULT_MAX_BODY 51200
#define HTTP_MAX_PATH 1024

enum http_method { HTTP_GET, HTTP_PUT, HTTP_PATCH, HTTP_OTHER };

struct http_request {
    enum http_method method;
    char method_str[16];        /* as sent, NUL-terminated */
    char path[HTTP_MAX_PATH];   /* target up to '?' (query dropped), starts with '/' */
    size_t head_len;            /* bytes of request line + headers + blank line */
    size_t content_length;
    bool head_done;             /* the head is parsed (body may still be missing) */
    bool expect_continue;       /* Expect: 100-continue */
    bool keep_alive;            /* the connection stays open after the answer */
    const char *body;           /* into the parsed buffer; content_length bytes */
};

/* Parse one request from buf[0..len). Returns the bytes the whole request
 * takes (> 0) with *req filled; 0 when more bytes are needed (req->head_done
 * then says whether the head is already complete, e.g. to answer
 * 100-continue); -EINVAL for a malformed request or -EMSGSIZE for a head
 * over HTTP_MAX_HEAD or a Content-Length over max_body, both with a
 * one-line reason in err. Never reads past buf[len - 1]. */
int http_parse(const char *buf, size_t len, size_t max_body, struct http_request *req,
               char *err, size_t errlen);

/* The reason phrase for a status code we send ("OK", "No Content", ...). */
const char *http_reason(int status);

/* Format a response into out[0..cap): status line, Server-less minimal
 * headers, Content-Type: application/json and Content-Length when body is
 * not NULL (204 and 100 never carry one), Connection: close when
 * !keep_alive. Returns the length, or -ENOSPC if it does not fit. */
int http_format_response(char *out, size_t cap, int status, const char *body, bool keep_alive);
#endif
