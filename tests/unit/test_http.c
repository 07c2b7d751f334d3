/* The API's HTTP/1.1 parser and formatter: whole requests, requests split
 * at every byte, Expect: 100-continue, keep-alive rules, body limits, and
 * every malformed-head class answered with -EINVAL/-EMSGSIZE and a reason. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "api/http.h"

static int parse(const char *s, struct http_request *r, char *err)
{
    return http_parse(s, strlen(s), HTTP_DEFAULT_MAX_BODY, r, err, 256);
}

static void t_get(void)
{
    struct http_request r;
    char err[256];
    const char *s = "GET /machine-config?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n";
    CHECK_EQ(parse(s, &r, err), strlen(s));
    CHECK_EQ(r.method, HTTP_GET);
    CHECK(!strcmp(r.path, "/machine-config"));
    CHECK(r.keep_alive);
    CHECK_EQ(r.content_length, 0);
    CHECK(!r.expect_continue);
}

static void t_put_body_and_pipelining(void)
{
    struct http_request r;
    char err[256];
    const char *one = "PUT /boot-source HTTP/1.1\r\ncontent-length:  5 \r\n\r\nhello";
    char two[512];
    snprintf(two, sizeof(two), "%sGET / HTTP/1.1\r\n\r\n", one);
    int n = parse(two, &r, err);
    CHECK_EQ(n, strlen(one));
    CHECK_EQ(r.method, HTTP_PUT);
    CHECK_EQ(r.content_length, 5);
    CHECK(!memcmp(r.body, "hello", 5));
    /* the second request follows in the same buffer */
    CHECK_EQ(parse(two + n, &r, err), strlen(two) - (size_t)n);
    CHECK_EQ(r.method, HTTP_GET);
}

/* Every prefix of a request needs more bytes; the whole one parses. */
static void t_split_everywhere(void)
{
    const char *s = "PATCH /vm HTTP/1.1\nContent-Length: 20\nExpect: 100-continue\n\n"
                    "{\"state\":\"Paused\"}  ";
    size_t len = strlen(s), head = strstr(s, "\n\n") + 2 - s;
    struct http_request r;
    char err[256];
    for (size_t i = 0; i < len; i++) {
        CHECK_EQ(http_parse(s, i, HTTP_DEFAULT_MAX_BODY, &r, err, sizeof(err)), 0);
        CHECK_EQ(r.head_done, i >= head);
        if (r.head_done)
            CHECK(r.expect_continue);
    }
    CHECK_EQ(http_parse(s, len, HTTP_DEFAULT_MAX_BODY, &r, err, sizeof(err)), len);
    CHECK_EQ(r.method, HTTP_PATCH);
    CHECK_EQ(r.content_length, 20);
}

static void t_keep_alive_rules(void)
{
    struct http_request r;
    char err[256];
    CHECK(parse("GET / HTTP/1.0\r\n\r\n", &r, err) > 0);
    CHECK(!r.keep_alive);
    CHECK(parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, err) > 0);
    CHECK(r.keep_alive);
    CHECK(parse("GET / HTTP/1.1\r\nConnection: foo, close\r\n\r\n", &r, err) > 0);
    CHECK(!r.keep_alive);
}

static void t_body_limit(void)
{
    struct http_request r;
    char err[256];
    char s[128];
    snprintf(s, sizeof(s), "PUT /drives/a HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
             HTTP_DEFAULT_MAX_BODY);
    CHECK_EQ(parse(s, &r, err), 0);          /* at the limit: waits for the body */
    CHECK(r.head_done);
    snprintf(s, sizeof(s), "PUT /drives/a HTTP/1.1\r\nContent-Length: %d\r\n\r\n",
             HTTP_DEFAULT_MAX_BODY + 1);
    CHECK_EQ(parse(s, &r, err), -EMSGSIZE);
    CHECK(strstr(err, "larger than the limit"));
    /* a smaller configured limit */
    CHECK_EQ(http_parse(s, strlen(s), 10, &r, err, sizeof(err)), -EMSGSIZE);
    /* a head that never ends */
    char *big = malloc(HTTP_MAX_HEAD + 100);
    CHECK(big);
    memset(big, 'a', HTTP_MAX_HEAD + 100);
    memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
    int rc = http_parse(big, HTTP_MAX_HEAD + 100, HTTP_DEFAULT_MAX_BODY, &r, err, sizeof(err));
    free(big);
    CHECK_EQ(rc, -EMSGSIZE);
    CHECK(strstr(err, "head is longer"));
}

static void t_malformed(void)
{
    static const struct { const char *req, *why; } bad[] = {
        { " GET / HTTP/1.1\r\n\r\n", "invalid method" },
        { "GET\r\n\r\n", "invalid method" },
        { "GET  HTTP/1.1\r\n\r\n", "start with '/'" },
        { "GET http://x/ HTTP/1.1\r\n\r\n", "start with '/'" },
        { "GET /\x01 HTTP/1.1\r\n\r\n", "invalid character" },
        { "GET /\r\n\r\n", "no HTTP version" },
        { "GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version" },
        { "GET / HTTP/1.1x\r\n\r\n", "unsupported HTTP version" },
        { "GET / HTTP/1.1\r\nNoColon\r\n\r\n", "name: value" },
        { "GET / HTTP/1.1\r\nA: b\r\n folded\r\n\r\n", "folding" },
        { "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", "name: value" },
        { "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "Content-Length" },
        { "PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "Content-Length" },
        { "PUT / HTTP/1.1\r\nContent-Length:\r\n\r\n", "Content-Length" },
        { "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "Content-Length" },
        { "PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", "conflicting" },
        { "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding" },
        { "PUT / HTTP/1.1\r\nExpect: 200-ok\r\n\r\n", "Expect" },
        { "PUT / HTTP/1.1\r\nX: a\x7f\r\n\r\n", "control character" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct http_request r;
        char err[256] = "";
        int rc = parse(bad[i].req, &r, err);
        if (rc != -EINVAL || !strstr(err, bad[i].why))
            fprintf(stderr, "  case %zu: rc %d err '%s'\n", i, rc, err);
        CHECK_EQ(rc, -EINVAL);
        CHECK(strstr(err, bad[i].why));
    }
    /* same Content-Length twice is fine */
    struct http_request r;
    char err[256];
    CHECK(parse("PUT / HTTP/1.1\r\nContent-Length: 1\r\nContent-length: 1\r\n\r\nx", &r, err) > 0);
    /* an unknown method parses; the routes answer it */
    CHECK(parse("DELETE /x HTTP/1.1\r\n\r\n", &r, err) > 0);
    CHECK_EQ(r.method, HTTP_OTHER);
    CHECK(!strcmp(r.method_str, "DELETE"));
}

static void t_format(void)
{
    char out[256];
    int n = http_format_response(out, sizeof(out), 204, NULL, true);
    CHECK(n > 0);
    CHECK(!strcmp(out, "HTTP/1.1 204 No Content\r\n\r\n"));
    n = http_format_response(out, sizeof(out), 400, "{\"fault_message\":\"x\"}", false);
    CHECK(n > 0);
    CHECK(!strcmp(out, "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                       "Content-Length: 21\r\nConnection: close\r\n\r\n{\"fault_message\":\"x\"}"));
    n = http_format_response(out, sizeof(out), 100, NULL, true);
    CHECK(!strcmp(out, "HTTP/1.1 100 Continue\r\n\r\n"));
    CHECK_EQ(http_format_response(out, 10, 200, "{}", true), -ENOSPC);
}

int main(void)
{
    RUN(t_get);
    RUN(t_put_body_and_pipelining);
    RUN(t_split_everywhere);
    RUN(t_keep_alive_rules);
    RUN(t_body_limit);
    RUN(t_malformed);
    RUN(t_format);
    return harness_done();
}
