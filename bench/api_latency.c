/* API latency: median and p99 of N GET / and of N PATCH /vm pause+resume
 * pairs on one keep-alive connection to a running arcvmm's --api-sock
 * (bench/api.sh starts one). Each request is timed from the first byte
 * written to the last byte of its answer read.
 * Usage: build/bench/api_latency SOCK [N]  (default 1000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Send req and read one whole answer; its status, or -1. */
static int call(int fd, const char *req)
{
    static char buf[65536];
    size_t len = 0, n = strlen(req);
    if (write(fd, req, n) != (ssize_t)n)
        return -1;
    for (;;) {
        ssize_t r = read(fd, buf + len, sizeof(buf) - 1 - len);
        if (r <= 0)
            return -1;
        len += (size_t)r;
        buf[len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (!end)
            continue;
        char *cl = strcasestr(buf, "Content-Length:");
        size_t body = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
        if (len >= (size_t)(end + 4 - buf) + body)
            return atoi(buf + 9);
    }
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
    qsort(t, (size_t)n, sizeof(*t), cmp);
    printf("%-28s median %8.1f us   p99 %8.1f us   (n=%d)\n", what, t[n / 2],
           t[(int)(n * 0.99) < n ? (int)(n * 0.99) : n - 1], n);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s SOCK [N]\n", argv[0]);
        return 2;
    }
    int n = argc > 2 ? atoi(argv[2]) : 1000;
    if (n < 1)
        n = 1;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    snprintf(a.sun_path, sizeof(a.sun_path), "%s", argv[1]);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror(argv[1]);
        return 1;
    }
    double *t = calloc((size_t)n, sizeof(*t));
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (call(fd, "GET / HTTP/1.1\r\n\r\n") != 200) {
            fprintf(stderr, "GET / failed\n");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    report("GET /", t, n);
    static const char pause_req[] = "PATCH /vm HTTP/1.1\r\nContent-Length: 18\r\n\r\n"
                                    "{\"state\":\"Paused\"}";
    static const char resume_req[] = "PATCH /vm HTTP/1.1\r\nContent-Length: 19\r\n\r\n"
                                     "{\"state\":\"Resumed\"}";
    for (int i = 0; i < n; i++) {
        double t0 = now_us();
        if (call(fd, pause_req) != 204 || call(fd, resume_req) != 204) {
            fprintf(stderr, "PATCH /vm failed\n");
            return 1;
        }
        t[i] = now_us() - t0;
    }
    report("PATCH /vm Paused+Resumed", t, n);
    free(t);
    close(fd);
    return 0;
}
