/* The log rate limiter (base/log.h) with an injected clock; its lines are
 * read back from stderr, which each test points at a temporary file. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "harness.h"

static _Atomic uint64_t fake_ns;

static uint64_t fake_clock(void)
{
    return fake_ns;
}

#define INTERVAL_NS ((uint64_t)LOG_LIMIT_INTERVAL_MS * 1000000u)

/* stderr into a temporary file between capture_begin and capture_end. */
static FILE *cap;
static int saved_fd = -1;

static void capture_begin(void)
{
    fflush(stderr);
    cap = tmpfile();
    saved_fd = dup(2);
    dup2(fileno(cap), 2);
}

/* The captured text (malloc'd) and its line count in *lines. */
static char *capture_end(int *lines)
{
    fflush(stderr);
    dup2(saved_fd, 2);
    close(saved_fd);
    long n = ftell(cap);
    char *s = calloc(1, (size_t)(n > 0 ? n : 0) + 1);
    rewind(cap);
    size_t got = fread(s, 1, (size_t)(n > 0 ? n : 0), cap);
    s[got] = '\0';
    fclose(cap);
    *lines = 0;
    for (char *p = s; *p; p++)
        *lines += *p == '\n';
    return s;
}

static struct log_limit fresh(void)
{
    struct log_limit l = { 0 };
    l.now_ns = fake_clock;
    return l;
}

/* The first LOG_LIMIT_BURST lines are written, the last says more are
 * limited; then nothing until the interval has passed; then one line with
 * the exact count dropped. */
static void t_burst_then_one_per_interval(void)
{
    fake_ns = 1000;
    struct log_limit l = fresh();
    int written = 0, lines;
    capture_begin();
    for (int i = 0; i < 1000; i++)
        written += log_guest_limited(&l, "dev: bad thing %d", i);
    fake_ns += INTERVAL_NS - 1;
    written += log_guest_limited(&l, "dev: bad thing late");
    char *out = capture_end(&lines);
    CHECK_EQ(written, LOG_LIMIT_BURST);
    CHECK_EQ(lines, LOG_LIMIT_BURST);
    CHECK(strstr(out, "arcvmm: guest error: dev: bad thing 0\n"));
    CHECK(strstr(out, "dev: bad thing 9 [more like this: at most one line per"));
    CHECK(!strstr(out, "bad thing 10"));
    free(out);

    fake_ns += 1;           /* a whole interval after the burst's end */
    capture_begin();
    written = log_guest_limited(&l, "dev: bad thing %d", 1001);
    written += log_guest_limited(&l, "dev: bad thing %d", 1002);
    out = capture_end(&lines);
    CHECK_EQ(written, 1);
    CHECK_EQ(lines, 1);
    CHECK(strstr(out, "dev: bad thing 1001 [991 more like this suppressed]\n"));
    free(out);

    fake_ns += 3 * INTERVAL_NS;     /* quiet for a while: a line, one drop counted */
    capture_begin();
    written = log_guest_limited(&l, "dev: bad thing %d", 1003);
    out = capture_end(&lines);
    CHECK_EQ(written, 1);
    CHECK(strstr(out, "bad thing 1003 [1 more like this suppressed]"));
    free(out);
}

/* Each limiter counts for itself: one reason's flood does not silence
 * another's. */
static void t_limiters_independent(void)
{
    fake_ns = 5;
    struct log_limit a = fresh(), b = fresh();
    int lines;
    capture_begin();
    for (int i = 0; i < 100; i++)
        log_guest_limited(&a, "a %d", i);
    free(capture_end(&lines));
    capture_begin();
    int written = 0;
    for (int i = 0; i < 3; i++)
        written += log_guest_limited(&b, "b %d", i);
    written += log_guest_limited(&a, "a again");
    char *out = capture_end(&lines);
    free(out);
    CHECK_EQ(written, 3);
    CHECK_EQ(lines, 3);
}

/* A filtered level writes nothing and counts nothing. */
static void t_level_filtered(void)
{
    fake_ns = 5;
    struct log_limit l = fresh();
    int lines;
    capture_begin();
    bool w = log_limited(&l, LOG_DEBUG, "debug %d", 1);
    char *out = capture_end(&lines);
    free(out);
    CHECK(!w);
    CHECK_EQ(lines, 0);
    CHECK_EQ(atomic_load(&l.seen), 0);
}

/* Many threads at once on one limiter (vCPUs and workers): exactly the
 * burst gets through, every other call is counted once. */
struct hammer { struct log_limit *l; int n, allowed; };

static void *hammer_run(void *arg)
{
    struct hammer *h = arg;
    for (int i = 0; i < h->n; i++) {
        unsigned s;
        bool last;
        h->allowed += log_limit_allow(h->l, &s, &last);
    }
    return NULL;
}

static void t_concurrent_exact(void)
{
    fake_ns = 77;
    struct log_limit l = fresh();
    enum { NT = 4, N = 50000 };
    struct hammer h[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        h[i] = (struct hammer){ &l, N, 0 };
        CHECK(pthread_create(&th[i], NULL, hammer_run, &h[i]) == 0);
    }
    int allowed = 0;
    for (int i = 0; i < NT; i++) {
        pthread_join(th[i], NULL);
        allowed += h[i].allowed;
    }
    CHECK_EQ(allowed, LOG_LIMIT_BURST);
    fake_ns += INTERVAL_NS;
    unsigned s;
    bool last;
    CHECK(log_limit_allow(&l, &s, &last));
    CHECK_EQ(s, NT * N - LOG_LIMIT_BURST);
    CHECK(!last);
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Without an injected clock the real monotonic one is used: the burst,
 * then at most one more per interval that really passed. */
static void t_real_clock(void)
{
    struct log_limit l = { 0 };
    int allowed = 0;
    uint64_t t0 = real_ns();
    for (int i = 0; i < 100 * LOG_LIMIT_BURST; i++) {
        unsigned s;
        bool last;
        allowed += log_limit_allow(&l, &s, &last);
    }
    uint64_t passed = real_ns() - t0;
    CHECK(allowed >= LOG_LIMIT_BURST);
    CHECK((uint64_t)allowed <= LOG_LIMIT_BURST + passed / INTERVAL_NS);
}

/* A log file instead of stderr (--log-path, PUT /logger): lines appended
 * there, a second file replaces the first, NULL goes back to stderr; the
 * level shown when asked; LOG_OFF writes nothing. */
static void t_log_file(void)
{
    char dir[] = "/tmp/arcvmm-test-log-XXXXXX", a[64], b[64], buf[512];
    CHECK(mkdtemp(dir));
    snprintf(a, sizeof(a), "%s/a.log", dir);
    snprintf(b, sizeof(b), "%s/b.log", dir);
    CHECK_EQ(log_set_path(a), 0);
    capture_begin();
    log_warn("to file a %d", 1);
    log_set_show_level(true);
    log_err("with level");
    log_set_show_level(false);
    CHECK_EQ(log_set_path(b), 0);
    log_warn("to file b");
    log_set_level(LOG_OFF);
    log_err("never written");
    log_set_level(LOG_WARN);
    CHECK_EQ(log_set_path(NULL), 0);
    log_warn("back on stderr");
    int lines;
    char *err = capture_end(&lines);
    bool err_ok = lines == 1 && strstr(err, "arcvmm: back on stderr\n");
    free(err);
    CHECK(err_ok);
    FILE *f = fopen(a, "r");
    CHECK(f);
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    CHECK(!strcmp(buf, "arcvmm: to file a 1\narcvmm: [Error] with level\n"));
    f = fopen(b, "r");
    CHECK(f);
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    CHECK(!strcmp(buf, "arcvmm: to file b\n"));
    CHECK_EQ(log_set_path("/nonexistent-dir/x.log"), -ENOENT);
    unlink(a);
    unlink(b);
    rmdir(dir);
}

int main(void)
{
    RUN(t_burst_then_one_per_interval);
    RUN(t_limiters_independent);
    RUN(t_level_filtered);
    RUN(t_concurrent_exact);
    RUN(t_real_clock);
    RUN(t_log_file);
    return harness_done();
}
