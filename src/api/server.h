/* The API server: HTTP/1.1 on a Unix stream socket (--api-sock), served on
 * an event loop thread of its own ("arcvmm-api"). That thread only moves
 * bytes: it accepts, reads, parses (api/http.c), answers `Expect:
 * 100-continue` and protocol errors, and writes replies. Every complete
 * request is queued in a mailbox and the mailbox's eventfd is signalled;
 * the VMM thread (whoever calls api_server_dispatch, in arcvmm the main
 * thread) runs the handler on it, and the reply goes back to the loop
 * with evloop_call. So the API thread never touches the VM and never
 * waits for it: a pause that waits for a slow disk holds up only the
 * request that asked for it.
 *
 * Per connection: one request at a time (pipelined ones wait in the
 * connection's buffer, answered in order), keep-alive unless the client
 * says `Connection: close` or speaks HTTP/1.0, a buffer of HTTP_MAX_HEAD +
 * max_body bytes. At most API_MAX_CONNS connections: another one is
 * answered 503 and closed. A request the parser refuses (bad request
 * line or header, a head over HTTP_MAX_HEAD, a body over max_body) is
 * answered 400 with {"error": "..."}, as Firecracker's server does, and
 * its connection closed (the request's framing is lost). */
#ifndef ARCVMM_API_SERVER_H
#define ARCVMM_API_SERVER_H
#include <stddef.h>

#include "api/http.h"

#define API_MAX_CONNS 10

struct api_server;

/* Runs on the dispatching thread for each request (req->body points at
 * req->content_length bytes, not NUL-terminated). Sets *status (200, 204,
 * 400, ...) and *body (malloc'd JSON, or NULL; the server frees it). */
typedef void api_handler_fn(void *opaque, const struct http_request *req, int *status,
                            char **body);

/* Listen on path: a stale socket file there (nobody answers connect) is
 * replaced; a live server's path, a path that is not a socket, a
 * missing directory or a path too long for sun_path are refused with one
 * line in err naming the path (-EADDRINUSE, -EEXIST, -errno,
 * -ENAMETOOLONG). max_body: body limit in bytes (0: HTTP_DEFAULT_MAX_BODY).
 * The loop thread is not started yet. */
int api_server_create(const char *path, size_t max_body, api_handler_fn *fn, void *opaque,
                      struct api_server **out, char *err, size_t errlen);
/* Start the loop thread. 0 or -errno. */
int api_server_start(struct api_server *s);
/* Readable (an eventfd) while requests wait for api_server_dispatch. */
int api_server_fd(const struct api_server *s);
/* On the VMM thread: run the handler for every queued request, in
 * arrival order, and hand each reply to the loop. Returns how many ran. */
int api_server_dispatch(struct api_server *s);
/* Stop the loop, close every connection, remove the socket file (if it
 * is still ours) and free. Requests never dispatched are dropped. NULL ok. */
void api_server_destroy(struct api_server *s);
#endif
