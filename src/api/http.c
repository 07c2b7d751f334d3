/* HTTP/1.1 request parser and response formatter, see http.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/http.h"

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* RFC 9110 tchar: the characters of a method or header name. */
static bool is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* The end of the line starting at p (the index of its '\n' in buf), or -1
 * when buf[p..end) holds no '\n'. *text_end is where the line's text ends
 * (before "\r\n" or "\n"). */
static long line_end(const char *buf, size_t p, size_t end, size_t *text_end)
{
    const char *nl = memchr(buf + p, '\n', end - p);
    if (!nl)
        return -1;
    size_t i = (size_t)(nl - buf);
    *text_end = (i > p && buf[i - 1] == '\r') ? i - 1 : i;
    return (long)i;
}

/* Parse the request line buf[0..e): fills method, path, keep_alive default. */
static int parse_request_line(const char *buf, size_t e, struct http_request *req,
                              char *err, size_t errlen)
{
    size_t i = 0;
    while (i < e && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == 0 || i >= sizeof(req->method_str) || i >= e || buf[i] != ' ')
        return fail(err, errlen, "bad request line: invalid method");
    memcpy(req->method_str, buf, i);
    req->method_str[i] = 0;
    if (!strcmp(req->method_str, "GET"))
        req->method = HTTP_GET;
    else if (!strcmp(req->method_str, "PUT"))
        req->method = HTTP_PUT;
    else if (!strcmp(req->method_str, "PATCH"))
        req->method = HTTP_PATCH;
    else
        req->method = HTTP_OTHER;
    size_t t = ++i;
    while (i < e && buf[i] != ' ') {
        unsigned char c = (unsigned char)buf[i];
        if (c <= 0x20 || c >= 0x7f)
            return fail(err, errlen, "bad request line: invalid character in the target");
        i++;
    }
    if (i == t || buf[t] != '/')
        return fail(err, errlen, "bad request line: the target must start with '/'");
    size_t plen = i - t;
    const char *q = memchr(buf + t, '?', plen);
    if (q)
        plen = (size_t)(q - (buf + t));
    if (plen >= sizeof(req->path))
        return fail(err, errlen, "bad request line: the target is longer than %d bytes",
                    HTTP_MAX_PATH - 1);
    memcpy(req->path, buf + t, plen);
    req->path[plen] = 0;
    if (i >= e || buf[i] != ' ')
        return fail(err, errlen, "bad request line: no HTTP version");
    i++;
    if (e - i != 8 || memcmp(buf + i, "HTTP/1.", 7) != 0 ||
        (buf[i + 7] != '0' && buf[i + 7] != '1'))
        return fail(err, errlen, "bad request line: unsupported HTTP version");
    req->keep_alive = buf[i + 7] == '1';
    return 0;
}

/* Does the comma-separated header value v[0..n) hold token tok? */
static bool value_has_token(const char *v, size_t n, const char *tok)
{
    size_t tl = strlen(tok), i = 0;
    while (i < n) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < n && v[i] != ',')
            i++;
        size_t e = i;
        while (e > s && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - s == tl && !strncasecmp(v + s, tok, tl))
            return true;
    }
    return false;
}

/* One header line buf[p..e). seen_cl tracks a Content-Length already seen. */
static int parse_header(const char *buf, size_t p, size_t e, size_t max_body,
                        struct http_request *req, bool *seen_cl, char *err, size_t errlen)
{
    size_t i = p;
    if (buf[p] == ' ' || buf[p] == '\t')
        return fail(err, errlen, "bad header: obsolete line folding");
    while (i < e && is_tchar((unsigned char)buf[i]))
        i++;
    if (i == p || i >= e || buf[i] != ':')
        return fail(err, errlen, "bad header: expected 'name: value'");
    size_t nlen = i - p;
    const char *name = buf + p;
    i++;
    while (i < e && (buf[i] == ' ' || buf[i] == '\t'))
        i++;
    size_t ve = e;
    while (ve > i && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
        ve--;
    const char *v = buf + i;
    size_t vlen = ve - i;
    for (size_t k = 0; k < vlen; k++) {
        unsigned char c = (unsigned char)v[k];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(err, errlen, "bad header: control character in a value");
    }
#define IS(h) (nlen == sizeof(h) - 1 && !strncasecmp(name, h, nlen))
    if (IS("Content-Length")) {
        if (vlen == 0 || vlen > 19)
            return fail(err, errlen, "bad header: invalid Content-Length");
        uint64_t n = 0;
        for (size_t k = 0; k < vlen; k++) {
            if (v[k] < '0' || v[k] > '9')
                return fail(err, errlen, "bad header: invalid Content-Length");
            n = n * 10 + (uint64_t)(v[k] - '0');
        }
        if (*seen_cl && n != req->content_length)
            return fail(err, errlen, "bad header: conflicting Content-Length headers");
        if (n > max_body) {
            fail(err, errlen, "request payload of %llu bytes is larger than the limit of %zu bytes",
                 (unsigned long long)n, max_body);
            return -EMSGSIZE;
        }
        *seen_cl = true;
        req->content_length = (size_t)n;
    } else if (IS("Transfer-Encoding")) {
        return fail(err, errlen, "bad header: Transfer-Encoding is not supported, "
                    "send Content-Length");
    } else if (IS("Expect")) {
        if (vlen == 12 && !strncasecmp(v, "100-continue", 12))
            req->expect_continue = true;
        else
            return fail(err, errlen, "bad header: unsupported Expect value");
    } else if (IS("Connection")) {
        if (value_has_token(v, vlen, "close"))
            req->keep_alive = false;
        else if (value_has_token(v, vlen, "keep-alive"))
            req->keep_alive = true;
    }
#undef IS
    return 0;
}

int http_parse(const char *buf, size_t len, size_t max_body, struct http_request *req,
               char *err, size_t errlen)
{
    memset(req, 0, sizeof(*req));
    size_t scan = len < HTTP_MAX_HEAD ? len : HTTP_MAX_HEAD;
    size_t te;
    long nl = line_end(buf, 0, scan, &te);
    if (nl < 0)
        goto need_more;
    int r = parse_request_line(buf, te, req, err, errlen);
    if (r < 0)
        return r;
    bool seen_cl = false;
    size_t p = (size_t)nl + 1;
    for (;;) {
        if (p >= scan)
            goto need_more;
        nl = line_end(buf, p, scan, &te);
        if (nl < 0)
            goto need_more;
        if (te == p)
            break;          /* the blank line ending the head */
        r = parse_header(buf, p, te, max_body, req, &seen_cl, err, errlen);
        if (r < 0)
            return r;
        p = (size_t)nl + 1;
    }
    req->head_len = (size_t)nl + 1;
    req->head_done = true;
    if (len - req->head_len < req->content_length)
        return 0;
    req->body = buf + req->head_len;
    return (int)(req->head_len + req->content_length);

need_more:
    if (scan == HTTP_MAX_HEAD) {
        fail(err, errlen, "request head is longer than %d bytes", HTTP_MAX_HEAD);
        return -EMSGSIZE;
    }
    memset(req, 0, sizeof(*req));
    return 0;
}

const char *http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
    }
}

int http_format_response(char *out, size_t cap, int status, const char *body, bool keep_alive)
{
    int n;
    if (status == 100)
        n = snprintf(out, cap, "HTTP/1.1 100 Continue\r\n\r\n");
    else if (body && status != 204)
        n = snprintf(out, cap, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n%s\r\n%s", status, http_reason(status),
                     strlen(body), keep_alive ? "" : "Connection: close\r\n", body);
    else
        n = snprintf(out, cap, "HTTP/1.1 %d %s\r\n%s%s\r\n", status, http_reason(status),
                     status == 204 ? "" : "Content-Length: 0\r\n",
                     keep_alive ? "" : "Connection: close\r\n");
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    return n;
}
