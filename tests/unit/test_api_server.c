/* The API server over a real socket in a temp directory, no VM: the
 * handler echoes each request as JSON and runs only when the test calls
 * api_server_dispatch, so the test decides when "the VMM" answers.
 * Keep-alive, Connection: close, 100-continue, pipelining, body limits,
 * malformed requests, the 11th connection, a half-closed client, a client
 * gone before its reply, and the socket path rules (stale, live, not a
 * socket, missing directory, removed at exit). Every read is bounded by
 * SO_RCVTIMEO and every wait by a poll timeout: nothing sleeps. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "harness.h"
#include "api/server.h"

static char dir[64];
static char sock[100];
static int handled;

static void echo_handler(void *opaque, const struct http_request *req, int *status, char **body)
{
    handled++;
    if (!strcmp(req->path, "/huge")) {       /* a 32 KiB answer */
        *status = 200;
        *body = malloc(32768 + 3);
        memset(*body, 'x', 32770);
        (*body)[0] = '"';
        (*body)[32769] = '"';
        (*body)[32770] = 0;
        return;
    }
    if (!strcmp(req->path, "/nobody")) {
        *status = 204;
        *body = NULL;
        return;
    }
    json_t *o = json_pack("{s:s,s:s,s:s%,s:I}", "method", req->method_str, "path", req->path,
                          "body", req->body, req->content_length, "len",
                          (json_int_t)req->content_length);
    *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *status = 200;
}

static struct api_server *mk(size_t max_body)
{
    char err[256];
    struct api_server *s;
    if (api_server_create(sock, max_body, echo_handler, NULL, &s, err, sizeof(err)) < 0) {
        fprintf(stderr, "  api_server_create: %s\n", err);
        return NULL;
    }
    if (api_server_start(s) < 0) {
        api_server_destroy(s);
        return NULL;
    }
    handled = 0;
    return s;
}

static int cl_connect(void)
{
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
    struct timeval tv = { .tv_sec = 5 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool cl_send(int fd, const char *s)
{
    return send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s);
}

/* Run what the server queued (waiting at most 5 s for the first). */
static int dispatch(struct api_server *s)
{
    struct pollfd p = { .fd = api_server_fd(s), .events = POLLIN };
    if (poll(&p, 1, 5000) != 1)
        return 0;
    return api_server_dispatch(s);
}

static bool nothing_queued(struct api_server *s)
{
    struct pollfd p = { .fd = api_server_fd(s), .events = POLLIN };
    return poll(&p, 1, 0) == 0;
}

struct resp {
    int status;
    bool close;             /* Connection: close */
    char body[65536];
};

/* Read one whole response (head + Content-Length body). false on EOF,
 * timeout or garbage. Bytes after it stay in *carry for the next call. */
static char carry[131072];
static size_t carried;

static bool cl_read(int fd, struct resp *r)
{
    memset(r, 0, sizeof(*r));
    for (;;) {
        carry[carried] = 0;
        char *end = strstr(carry, "\r\n\r\n");
        if (end) {
            size_t head = (size_t)(end + 4 - carry), cl = 0;
            char *p = strcasestr(carry, "Content-Length:");
            if (p && p < end)
                cl = strtoul(p + 15, NULL, 10);
            if (carried >= head + cl) {
                if (sscanf(carry, "HTTP/1.1 %d", &r->status) != 1)
                    return false;
                char *c = strcasestr(carry, "Connection: close");
                r->close = c && c < end;
                memcpy(r->body, carry + head, cl < sizeof(r->body) - 1 ? cl : sizeof(r->body) - 1);
                memmove(carry, carry + head + cl, carried - head - cl);
                carried -= head + cl;
                return true;
            }
        }
        if (carried >= sizeof(carry) - 1)
            return false;
        ssize_t n = read(fd, carry + carried, sizeof(carry) - 1 - carried);
        if (n <= 0)
            return false;
        carried += (size_t)n;
    }
}

/* The server closed the connection (read gives EOF, nothing else). */
static bool cl_eof(int fd)
{
    char b;
    return carried == 0 && read(fd, &b, 1) == 0;
}

static void cl_close(int fd)
{
    close(fd);
    carried = 0;
}

static void t_keep_alive(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    int fd = cl_connect();
    struct resp r;
    CHECK(fd >= 0);
    CHECK(cl_send(fd, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 200);
    CHECK(!r.close);
    CHECK(strstr(r.body, "\"path\":\"/a\""));
    CHECK(cl_send(fd, "PUT /b HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.body, "\"path\":\"/b\""));
    CHECK(strstr(r.body, "\"body\":\"{}\""));
    CHECK(cl_send(fd, "GET /nobody HTTP/1.1\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 204);
    /* Connection: close is honoured: answer, then EOF */
    CHECK(cl_send(fd, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK(r.close);
    CHECK(cl_eof(fd));
    cl_close(fd);
    /* HTTP/1.0 closes by default */
    fd = cl_connect();
    CHECK(cl_send(fd, "GET /d HTTP/1.0\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK(r.close);
    CHECK(cl_eof(fd));
    cl_close(fd);
    CHECK_EQ(handled, 5);
    api_server_destroy(s);
}

static void t_continue(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    int fd = cl_connect();
    struct resp r;
    CHECK(cl_send(fd, "PUT /x HTTP/1.1\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
    /* 100 Continue comes before the body, once, without the dispatcher */
    char buf[64] = "";
    const char *want = "HTTP/1.1 100 Continue\r\n\r\n";
    size_t got = 0;
    while (got < strlen(want)) {
        ssize_t n = read(fd, buf + got, strlen(want) - got);
        CHECK(n > 0);
        got += (size_t)n;
    }
    CHECK(!strcmp(buf, want));
    CHECK(nothing_queued(s));
    CHECK(cl_send(fd, "he"));
    CHECK(cl_send(fd, "llo"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 200);        /* not a second 100 */
    CHECK(strstr(r.body, "\"body\":\"hello\""));
    /* the next request on the connection gets its own 100 */
    CHECK(cl_send(fd, "PUT /y HTTP/1.1\r\nContent-Length: 1\r\nExpect: 100-continue\r\n\r\n"));
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 100);
    CHECK(cl_send(fd, "z"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK(strstr(r.body, "\"body\":\"z\""));
    cl_close(fd);
    api_server_destroy(s);
}

static void t_pipelined(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    int fd = cl_connect();
    struct resp r;
    CHECK(cl_send(fd, "GET /1 HTTP/1.1\r\n\r\nPUT /2 HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc"
                      "GET /3 HTTP/1.1\r\nConnection: close\r\n\r\nGET /4 HTTP/1.1\r\n\r\n"));
    /* one at a time: the next is parsed once the previous one is answered */
    for (int i = 1; i <= 3; i++) {
        CHECK_EQ(dispatch(s), 1);
        CHECK(cl_read(fd, &r));
        char want[32];
        snprintf(want, sizeof(want), "\"path\":\"/%d\"", i);
        CHECK(strstr(r.body, want));
    }
    CHECK(r.close);
    CHECK(cl_eof(fd));          /* /4 after Connection: close is not served */
    CHECK(nothing_queued(s));
    CHECK_EQ(handled, 3);
    cl_close(fd);
    api_server_destroy(s);
}

/* A refused request: 400 {"error": ...} naming why, the connection closed,
 * the handler never called, and the server serves the next client. */
static void expect_refused(struct api_server *s, const char *req, const char *why)
{
    int fd = cl_connect();
    struct resp r;
    CHECK(fd >= 0);
    CHECK(cl_send(fd, req));
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 400);
    CHECK(r.close);
    json_t *j = json_loads(r.body, 0, NULL);
    CHECK(j);
    const char *e = json_string_value(json_object_get(j, "error"));
    bool ok = e && strstr(e, why);
    if (!ok)
        fprintf(stderr, "  error body %s, want '%s'\n", r.body, why);
    json_decref(j);
    CHECK(ok);
    CHECK(cl_eof(fd));
    cl_close(fd);
    CHECK_EQ(handled, 0);
    fd = cl_connect();
    CHECK(cl_send(fd, "GET /after HTTP/1.1\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK_EQ(r.status, 200);
    cl_close(fd);
    handled = 0;
}

static void t_body_limit(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    expect_refused(s, "PUT /x HTTP/1.1\r\nContent-Length: 51201\r\n\r\n", "larger than the limit");
    /* exactly the limit is served, the whole body handed over */
    int fd = cl_connect();
    char *big = malloc(51200 + 128);
    int n = sprintf(big, "PUT /big HTTP/1.1\r\nContent-Length: 51200\r\n\r\n");
    memset(big + n, 'a', 51200);
    big[n + 51200] = 0;
    CHECK(cl_send(fd, big));
    free(big);
    CHECK_EQ(dispatch(s), 1);
    struct resp r;
    CHECK(cl_read(fd, &r));
    if (!strstr(r.body, "\"len\":51200"))
        fprintf(stderr, "  status %d body %.100s... %zu bytes\n", r.status, r.body, strlen(r.body));
    CHECK(strstr(r.body, "\"len\":51200"));
    cl_close(fd);
    api_server_destroy(s);
    /* a smaller configured limit */
    s = mk(100);
    CHECK(s);
    expect_refused(s, "PUT /x HTTP/1.1\r\nContent-Length: 101\r\n\r\n", "limit of 100 bytes");
    api_server_destroy(s);
}

static void t_malformed(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    expect_refused(s, "BLAH\r\n\r\n", "bad request line");
    expect_refused(s, "GET nopath HTTP/1.1\r\n\r\n", "must start with '/'");
    expect_refused(s, "GET / HTTP/2.0\r\n\r\n", "unsupported HTTP version");
    expect_refused(s, "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", "Transfer-Encoding");
    expect_refused(s, "GET / HTTP/1.1\r\nno colon\r\n\r\n", "bad header");
    char head[9000] = "GET / HTTP/1.1\r\nX: ";
    memset(head + strlen(head), 'x', 8500);
    head[8800] = 0;
    expect_refused(s, head, "longer than 8192");
    api_server_destroy(s);
}

static void t_eleventh(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    int fds[API_MAX_CONNS];
    struct resp r;
    for (int i = 0; i < API_MAX_CONNS; i++) {
        fds[i] = cl_connect();
        CHECK(fds[i] >= 0);
        CHECK(cl_send(fds[i], "GET / HTTP/1.1\r\n\r\n"));
        CHECK_EQ(dispatch(s), 1);   /* so each is known to be accepted */
        CHECK(cl_read(fds[i], &r));
        CHECK_EQ(r.status, 200);
    }
    int x = cl_connect();
    CHECK(x >= 0);
    CHECK(cl_read(x, &r));
    CHECK_EQ(r.status, 503);
    CHECK(strstr(r.body, "\"error\":\"too many open connections"));
    CHECK(cl_eof(x));
    cl_close(x);
    /* the ten still work; one leaving makes room */
    CHECK(cl_send(fds[3], "GET /3 HTTP/1.1\r\nConnection: close\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fds[3], &r));
    CHECK(cl_eof(fds[3]));
    cl_close(fds[3]);
    fds[3] = cl_connect();
    CHECK(cl_send(fds[3], "GET /new HTTP/1.1\r\n\r\n"));
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fds[3], &r));
    CHECK(strstr(r.body, "/new"));
    for (int i = 0; i < API_MAX_CONNS; i++)
        cl_close(fds[i]);
    api_server_destroy(s);
}

/* The loop keeps serving while the dispatcher (the VMM thread) sits on
 * a request: another client is accepted and gets its 100 Continue. */
static void t_not_blocked_by_dispatcher(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    int a = cl_connect(), b = cl_connect();
    struct resp r;
    CHECK(cl_send(a, "GET /a HTTP/1.1\r\n\r\n"));
    CHECK(cl_send(b, "PUT /b HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n"));
    CHECK(cl_read(b, &r));
    CHECK_EQ(r.status, 100);
    CHECK(cl_send(b, "!"));
    /* wait for both to be queued, then answer them together */
    int n = 0;
    for (int i = 0; i < 2 && n < 2; i++)
        n += dispatch(s);
    CHECK_EQ(n, 2);
    CHECK(cl_read(b, &r));
    CHECK(strstr(r.body, "/b"));
    carried = 0;
    CHECK(cl_read(a, &r));
    CHECK(strstr(r.body, "/a"));
    cl_close(a);
    cl_close(b);
    api_server_destroy(s);
}

static void t_client_leaves(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    struct resp r;
    /* half-closed after the request: still answered, then closed */
    int fd = cl_connect();
    CHECK(cl_send(fd, "GET /half HTTP/1.1\r\n\r\n"));
    shutdown(fd, SHUT_WR);
    CHECK_EQ(dispatch(s), 1);
    CHECK(cl_read(fd, &r));
    CHECK(strstr(r.body, "/half"));
    CHECK(cl_eof(fd));
    cl_close(fd);
    /* half a request, then EOF: closed without an answer */
    fd = cl_connect();
    CHECK(cl_send(fd, "GET /par"));
    shutdown(fd, SHUT_WR);
    CHECK(cl_eof(fd));
    cl_close(fd);
    /* gone before its reply: the reply is dropped, the slot reused */
    fd = cl_connect();
    CHECK(cl_send(fd, "GET /gone HTTP/1.1\r\n\r\n"));
    struct pollfd p = { .fd = api_server_fd(s), .events = POLLIN };
    CHECK_EQ(poll(&p, 1, 5000), 1);
    cl_close(fd);
    int want = handled + 1;     /* /gone, not dispatched yet */
    for (int i = 0; i < API_MAX_CONNS; i++) {
        fd = cl_connect();
        CHECK(cl_send(fd, "GET /next HTTP/1.1\r\nConnection: close\r\n\r\n"));
        want++;
        while (handled < want)
            CHECK(dispatch(s) >= 1);
        CHECK(cl_read(fd, &r));
        CHECK(strstr(r.body, "/next"));
        cl_close(fd);
    }
    api_server_destroy(s);
}

struct reader { int fd, n, got; };

static void *read_all(void *opaque)
{
    struct reader *r = opaque;
    static struct resp rp;
    while (r->got < r->n && cl_read(r->fd, &rp) && rp.status == 200 && strlen(rp.body) == 32770)
        r->got++;
    return NULL;
}

/* A client that pipelines and does not read: the server stops taking its
 * requests once an answer cannot be written, instead of piling answers
 * up; when the client reads again, every request is answered in order. */
static void t_slow_reader(void)
{
    struct api_server *s = mk(0);
    CHECK(s);
    enum { N = 64 };
    int fd = cl_connect();
    for (int i = 0; i < N; i++)
        CHECK(cl_send(fd, "GET /huge HTTP/1.1\r\n\r\n"));
    /* dispatch until the server stops posting (a quiet 300 ms) */
    for (;;) {
        struct pollfd p = { .fd = api_server_fd(s), .events = POLLIN };
        if (poll(&p, 1, 300) != 1)
            break;
        api_server_dispatch(s);
    }
    int stalled = handled;
    CHECK(stalled >= 1 && stalled < N);
    struct reader r = { .fd = fd, .n = N };
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, read_all, &r), 0);
    while (handled < N && dispatch(s) > 0)
        ;
    pthread_join(th, NULL);
    CHECK_EQ(handled, N);
    CHECK_EQ(r.got, N);
    cl_close(fd);
    api_server_destroy(s);
}

static void t_socket_path(void)
{
    char err[256];
    struct api_server *s, *t;
    struct stat st;
    unlink(sock);       /* left by a failed test before */
    /* a stale socket file (bound, nobody listening) is replaced */
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    CHECK_EQ(api_server_create(sock, 0, echo_handler, NULL, &s, err, sizeof(err)), 0);
    /* a live one is not */
    CHECK_EQ(api_server_create(sock, 0, echo_handler, NULL, &t, err, sizeof(err)), -EADDRINUSE);
    CHECK(t == NULL);
    CHECK(strstr(err, sock) && strstr(err, "in use by a running server"));
    /* and the refused attempt left the live socket in place */
    CHECK_EQ(stat(sock, &st), 0);
    api_server_destroy(s);
    CHECK(stat(sock, &st) < 0 && errno == ENOENT);      /* removed at exit */
    /* a regular file is never removed */
    FILE *f = fopen(sock, "w");
    CHECK(f);
    fclose(f);
    CHECK_EQ(api_server_create(sock, 0, echo_handler, NULL, &s, err, sizeof(err)), -EEXIST);
    CHECK(strstr(err, "not a socket"));
    CHECK_EQ(stat(sock, &st), 0);
    unlink(sock);
    char p[300];
    snprintf(p, sizeof(p), "%s/nodir/api.sock", dir);
    CHECK_EQ(api_server_create(p, 0, echo_handler, NULL, &s, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, p) && strstr(err, "No such file or directory"));
    memset(p, 'a', 200);
    p[0] = '/';
    p[200] = 0;
    CHECK_EQ(api_server_create(p, 0, echo_handler, NULL, &s, err, sizeof(err)), -ENAMETOOLONG);
    CHECK(strstr(err, "longer than 107 bytes"));
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/arcvmm-api-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    snprintf(sock, sizeof(sock), "%s/api.sock", dir);
    RUN(t_keep_alive);
    RUN(t_continue);
    RUN(t_pipelined);
    RUN(t_body_limit);
    RUN(t_malformed);
    RUN(t_eleventh);
    RUN(t_not_blocked_by_dispatcher);
    RUN(t_client_leaves);
    RUN(t_slow_reader);
    RUN(t_socket_path);
    unlink(sock);
    rmdir(dir);
    return harness_done();
}
