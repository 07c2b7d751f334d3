/* The API server on a Unix socket, see server.h.
 *
 * Threads: everything on struct conn and the listening socket belongs to
 * the loop thread ("arcvmm-api"). The mailbox (s->lock: head, tail) is
 * shared with the dispatching thread, which only takes mail out, runs the
 * handler, and hands each mail back with evloop_call. A mail names its
 * connection by slot and generation, so a reply for a connection that has
 * closed meanwhile is dropped, even when the slot has a new connection. */
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server.h"
#include "base/efd.h"
#include "base/evloop.h"
#include "base/log.h"

struct conn {
    struct api_server *s;
    int fd;                 /* -1: the slot is free */
    unsigned gen;           /* bumped at every close */
    char *in;               /* HTTP_MAX_HEAD + max_body bytes */
    size_t inlen;
    char *out;              /* what is still to be written: out[outoff..outlen) */
    size_t outlen, outoff, outcap;
    uint32_t events;        /* what the loop watches now */
    bool busy;              /* a request is with the dispatcher */
    bool continue_sent;     /* 100 Continue already sent for the current request */
    bool closing;           /* close once out is written */
    bool peer_eof;          /* the client shut its side: nothing more to read */
};

struct mail {
    struct mail *next;
    struct api_server *s;
    int slot;
    unsigned gen;
    struct http_request req;    /* req.body points at body */
    char *body;
    int status;
    char *reply;
};

struct api_server {
    struct evloop *loop;
    int lfd, mfd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    dev_t dev;
    ino_t ino;
    size_t max_body;
    api_handler_fn *fn;
    void *opaque;
    pthread_mutex_t lock;
    struct mail *head, **tail;
    struct conn conns[API_MAX_CONNS];
    int nconns;
    struct evloop_timer *relisten;  /* accept failed for want of fds: retry later */
    struct log_limit accept_log;
};

static void conn_process(struct conn *c);

/* ---- connections (loop thread) ---- */

static void conn_close(struct conn *c)
{
    if (c->fd < 0)
        return;
    evloop_del_fd(c->s->loop, c->fd);
    close(c->fd);
    free(c->in);
    free(c->out);
    unsigned gen = c->gen + 1;
    struct api_server *s = c->s;
    memset(c, 0, sizeof(*c));
    c->s = s;
    c->fd = -1;
    c->gen = gen;
    s->nconns--;
}

/* Watch what the connection can use now: input while no request is with
 * the dispatcher and there is room, output while some is pending. */
static void conn_update(struct conn *c)
{
    uint32_t want = 0;
    if (!c->busy && !c->closing && !c->peer_eof && c->outoff == c->outlen &&
        c->inlen < HTTP_MAX_HEAD + c->s->max_body)
        want |= EPOLLIN;
    if (c->outoff < c->outlen)
        want |= EPOLLOUT;
    if (want != c->events && evloop_mod_fd(c->s->loop, c->fd, want) == 0)
        c->events = want;
}

/* Append n bytes to the output. -ENOMEM closes the connection. */
static int conn_queue(struct conn *c, const char *p, size_t n)
{
    if (c->outoff == c->outlen)
        c->outoff = c->outlen = 0;
    if (c->outlen + n > c->outcap) {
        size_t cap = c->outlen + n + 256;
        char *o = realloc(c->out, cap);
        if (!o) {
            conn_close(c);
            return -ENOMEM;
        }
        c->out = o;
        c->outcap = cap;
    }
    memcpy(c->out + c->outlen, p, n);
    c->outlen += n;
    return 0;
}

/* Queue a response; body NULL for none. */
static int conn_respond(struct conn *c, int status, const char *body, bool keep_alive)
{
    size_t cap = (body ? strlen(body) : 0) + 160;
    char *buf = malloc(cap);
    if (!buf) {
        conn_close(c);
        return -ENOMEM;
    }
    int n = http_format_response(buf, cap, status, body, keep_alive);
    int r = n < 0 ? n : conn_queue(c, buf, (size_t)n);
    free(buf);
    return r;
}

/* {"error": msg}, as Firecracker answers what its HTTP layer refuses. */
static char *error_body(const char *msg)
{
    json_t *o = json_pack("{s:s}", "error", msg);
    char *b = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return b;
}

/* Write what is pending. Returns -1 if the connection was closed. */
static int conn_flush(struct conn *c)
{
    while (c->outoff < c->outlen) {
        ssize_t n = send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL);
        if (n > 0) {
            c->outoff += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        conn_close(c);      /* the client is gone */
        return -1;
    }
    if (c->outoff == c->outlen && c->closing) {
        conn_close(c);
        return -1;
    }
    conn_update(c);
    return 0;
}

static void post_mail(struct api_server *s, struct mail *m)
{
    pthread_mutex_lock(&s->lock);
    *s->tail = m;
    s->tail = &m->next;
    pthread_mutex_unlock(&s->lock);
    efd_signal(s->mfd);
}

/* Parse what the buffer holds: hand a whole request to the dispatcher,
 * answer 100-continue or a refused request. One request at a time, and
 * none while an answer is still being written: a client that pipelines
 * and never reads holds at most one answer here, never a growing pile. */
static void conn_process(struct conn *c)
{
    struct api_server *s = c->s;
    if (c->busy || c->closing || c->outoff < c->outlen)
        return;
    if (c->inlen == 0) {
        if (c->peer_eof)
            c->closing = true;
        conn_flush(c);
        return;
    }
    struct http_request req;
    char err[256];
    int r = http_parse(c->in, c->inlen, s->max_body, &req, err, sizeof(err));
    if (r < 0) {
        char *b = error_body(err);
        c->closing = true;
        if (!b || conn_respond(c, 400, b, false) < 0) {
            free(b);
            if (c->fd >= 0)
                conn_close(c);
            return;
        }
        free(b);
        conn_flush(c);
        return;
    }
    if (r == 0) {
        if (req.head_done && req.expect_continue && !c->continue_sent) {
            c->continue_sent = true;
            if (conn_respond(c, 100, NULL, true) < 0)
                return;
        }
        if (c->peer_eof)
            c->closing = true;      /* the rest of the request will never come */
        conn_flush(c);
        return;
    }
    struct mail *m = calloc(1, sizeof(*m));
    char *body = malloc(req.content_length + 1);
    if (!m || !body) {
        free(m);
        free(body);
        conn_close(c);
        return;
    }
    memcpy(body, req.body, req.content_length);
    body[req.content_length] = 0;
    m->s = s;
    m->slot = (int)(c - s->conns);
    m->gen = c->gen;
    m->req = req;
    m->req.body = body;
    m->body = body;
    c->inlen -= (size_t)r;
    memmove(c->in, c->in + r, c->inlen);
    c->busy = true;
    c->continue_sent = false;
    post_mail(s, m);
    conn_flush(c);
}

static void on_conn(void *opaque, int fd, uint32_t revents)
{
    struct conn *c = opaque;
    if (revents & (EPOLLERR | EPOLLHUP)) {
        conn_close(c);      /* both directions gone: no answer can arrive */
        return;
    }
    if (revents & EPOLLOUT) {
        if (conn_flush(c) < 0)
            return;
        if (c->outoff == c->outlen)
            conn_process(c);    /* the answer is out: the next request may go */
        if (c->fd < 0)
            return;
    }
    if (revents & EPOLLIN) {
        size_t cap = HTTP_MAX_HEAD + c->s->max_body;
        while (c->inlen < cap) {
            ssize_t n = read(fd, c->in + c->inlen, cap - c->inlen);
            if (n > 0) {
                c->inlen += (size_t)n;
            } else if (n == 0) {
                c->peer_eof = true;
                break;
            } else if (errno == EINTR) {
                continue;
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                break;
            } else {
                conn_close(c);
                return;
            }
        }
        conn_process(c);
    }
}

/* Refuse a connection over the limit: 503 and close. Best effort: a
 * fresh socket's buffer holds the few bytes. */
static void refuse(int fd)
{
    char buf[256];
    char *b = error_body("too many open connections (at most 10)");
    int n = b ? http_format_response(buf, sizeof(buf), 503, b, false) : -ENOMEM;
    free(b);
    if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("api: could not send 503: %s", strerror(errno));
    close(fd);
}

static void on_accept(void *opaque, int lfd, uint32_t revents)
{
    struct api_server *s = opaque;
    for (;;) {
        int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            log_limited(&s->accept_log, LOG_WARN, "api socket %s: accept: %s", s->path,
                        strerror(errno));
            /* out of fds (or worse): the listener stays readable, so stop
             * watching it for 100 ms instead of spinning */
            if (s->relisten && evloop_mod_fd(s->loop, lfd, 0) == 0)
                evloop_timer_arm_in(s->relisten, 100 * 1000 * 1000);
            return;
        }
        struct conn *c = NULL;
        for (int i = 0; i < API_MAX_CONNS && !c; i++)
            if (s->conns[i].fd < 0)
                c = &s->conns[i];
        if (!c) {
            refuse(fd);
            continue;
        }
        c->in = malloc(HTTP_MAX_HEAD + s->max_body);
        if (!c->in || evloop_add_fd(s->loop, fd, EPOLLIN, on_conn, c) < 0) {
            free(c->in);
            c->in = NULL;
            close(fd);
            continue;
        }
        c->fd = fd;
        c->events = EPOLLIN;
        s->nconns++;
    }
}

static void on_relisten(void *opaque)
{
    struct api_server *s = opaque;
    evloop_mod_fd(s->loop, s->lfd, EPOLLIN);
}

/* A reply from the dispatcher, on the loop thread (or in api_server_destroy
 * while the loop is stopped). */
static void on_reply(void *opaque)
{
    struct mail *m = opaque;
    struct conn *c = &m->s->conns[m->slot];
    if (c->fd >= 0 && c->gen == m->gen && c->busy) {
        c->busy = false;
        if (!m->req.keep_alive)
            c->closing = true;
        if (conn_respond(c, m->status, m->reply, m->req.keep_alive) == 0 && conn_flush(c) == 0)
            conn_process(c);    /* a pipelined request may be waiting */
    }
    free(m->reply);
    free(m->body);
    free(m);
}

/* ---- the dispatcher's side ---- */

int api_server_dispatch(struct api_server *s)
{
    efd_drain(s->mfd);      /* before taking the list: a later post signals again */
    pthread_mutex_lock(&s->lock);
    struct mail *m = s->head;
    s->head = NULL;
    s->tail = &s->head;
    pthread_mutex_unlock(&s->lock);
    int n = 0;
    while (m) {
        struct mail *next = m->next;
        m->next = NULL;
        m->status = 500;
        m->reply = NULL;
        s->fn(s->opaque, &m->req, &m->status, &m->reply);
        if (evloop_call(s->loop, on_reply, m) < 0) {
            log_warn("api: out of memory handing a reply back; the connection stalls");
            free(m->reply);
            free(m->body);
            free(m);
        }
        n++;
        m = next;
    }
    return n;
}

int api_server_fd(const struct api_server *s)
{
    return s->mfd;
}

/* ---- the listening socket ---- */

__attribute__((format(printf, 4, 5)))
static int fail(int r, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return r;
}

/* Is a server answering on addr? 1 yes, 0 no (stale), -errno unknown. */
static int live_server(const struct sockaddr_un *a)
{
    int p = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (p < 0)
        return -errno;
    int r = connect(p, (const struct sockaddr *)a, sizeof(*a));
    int e = errno;
    close(p);
    if (r == 0 || e == EAGAIN || e == EINPROGRESS)   /* EAGAIN: its backlog is full */
        return 1;
    return e == ECONNREFUSED ? 0 : -e;
}

static int listen_at(struct api_server *s, const char *path, char *err, size_t errlen)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (!*path)
        return fail(-EINVAL, err, errlen, "--api-sock: the path is empty");
    if (strlen(path) >= sizeof(a.sun_path))
        return fail(-ENAMETOOLONG, err, errlen, "api socket %s: longer than %zu bytes",
                    path, sizeof(a.sun_path) - 1);
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return fail(-errno, err, errlen, "api socket %s: %s", path, strerror(errno));
    int r = bind(fd, (struct sockaddr *)&a, sizeof(a));
    if (r < 0 && errno == EADDRINUSE) {
        struct stat st;
        if (lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
            close(fd);
            return fail(-EEXIST, err, errlen, "api socket %s: exists and is not a socket", path);
        }
        int live = live_server(&a);
        if (live == 1) {
            close(fd);
            return fail(-EADDRINUSE, err, errlen, "api socket %s: in use by a running server",
                        path);
        }
        if (live == 0 && unlink(path) == 0)     /* stale: nobody listens */
            r = bind(fd, (struct sockaddr *)&a, sizeof(a));
        else
            errno = EADDRINUSE;
    }
    if (r < 0) {
        int e = errno;
        close(fd);
        return fail(-e, err, errlen, "api socket %s: %s", path, strerror(e));
    }
    struct stat st;
    if (listen(fd, 2 * API_MAX_CONNS) < 0 || stat(path, &st) < 0) {
        int e = errno;
        close(fd);
        unlink(path);
        return fail(-e, err, errlen, "api socket %s: %s", path, strerror(e));
    }
    s->lfd = fd;
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    memcpy(s->path, path, strlen(path) + 1);
    return 0;
}

int api_server_create(const char *path, size_t max_body, api_handler_fn *fn, void *opaque,
                      struct api_server **out, char *err, size_t errlen)
{
    *out = NULL;
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s)
        return fail(-ENOMEM, err, errlen, "api socket %s: out of memory", path);
    s->lfd = s->mfd = -1;
    s->max_body = max_body ? max_body : HTTP_DEFAULT_MAX_BODY;
    s->fn = fn;
    s->opaque = opaque;
    s->tail = &s->head;
    pthread_mutex_init(&s->lock, NULL);
    for (int i = 0; i < API_MAX_CONNS; i++) {
        s->conns[i].s = s;
        s->conns[i].fd = -1;
    }
    int r = evloop_create(&s->loop);
    if (r < 0) {
        fail(r, err, errlen, "api socket %s: event loop: %s", path, strerror(-r));
        goto fail;
    }
    s->mfd = efd_new();
    if (s->mfd < 0) {
        r = fail(s->mfd, err, errlen, "api socket %s: eventfd: %s", path, strerror(-s->mfd));
        goto fail;
    }
    r = listen_at(s, path, err, errlen);
    if (r < 0)
        goto fail;
    s->relisten = evloop_timer_new(s->loop, on_relisten, s);
    r = s->relisten ? evloop_add_fd(s->loop, s->lfd, EPOLLIN, on_accept, s) : -ENOMEM;
    if (r < 0) {
        fail(r, err, errlen, "api socket %s: %s", path, strerror(-r));
        goto fail;
    }
    *out = s;
    return 0;
fail:
    api_server_destroy(s);
    return r;
}

int api_server_start(struct api_server *s)
{
    return evloop_start(s->loop, "arcvmm-api");
}

void api_server_destroy(struct api_server *s)
{
    if (!s)
        return;
    if (s->loop)
        evloop_stop(s->loop);   /* replies still queued are written here */
    for (int i = 0; i < API_MAX_CONNS; i++)
        conn_close(&s->conns[i]);
    struct mail *m = s->head;
    while (m) {
        struct mail *next = m->next;
        free(m->body);
        free(m);
        m = next;
    }
    if (s->lfd >= 0) {
        evloop_del_fd(s->loop, s->lfd);
        close(s->lfd);
        struct stat st;     /* remove it only if it is still our socket */
        if (stat(s->path, &st) == 0 && st.st_dev == s->dev && st.st_ino == s->ino)
            unlink(s->path);
    }
    if (s->mfd >= 0)
        close(s->mfd);
    evloop_timer_free(s->relisten);
    evloop_destroy(s->loop);
    pthread_mutex_destroy(&s->lock);
    free(s);
}
