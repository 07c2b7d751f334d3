/* The library's contract with programs (include/arcvmm.h) where it needs
 * no /dev/kvm: the config travels with its size (older and newer
 * programs), unknown flags are refused, a file error keeps its errno,
 * and the console's last write never raises SIGPIPE in the program. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arcvmm.h"
#include "harness.h"
#include "host/console.h"

/* The first arcvmm_config ends with mem_merge: what a program built
 * against that header passes as its size. */
#define SIZE_V0 (offsetof(struct arcvmm_config, mem_merge) + sizeof(int))

/* A config buffer bigger than any size used here, with guard bytes. */
union cfgbuf {
    struct arcvmm_config c;
    unsigned char b[sizeof(struct arcvmm_config) + 64];
};

static void t_init_full_size(void)
{
    union cfgbuf u;
    memset(&u, 0xa5, sizeof(u));
    arcvmm_config_init(&u.c);
    CHECK_EQ(u.c.size, sizeof(struct arcvmm_config));
    CHECK_EQ(u.c.flags, 0);
    CHECK_EQ(u.c.cpus, 1);
    CHECK_EQ(u.c.memory_mib, 256);
    CHECK_EQ(u.c.console_in_fd, 0);
    CHECK_EQ(u.c.console_out_fd, 1);
    CHECK(u.c.kernel == NULL);
    CHECK_EQ(u.b[sizeof(struct arcvmm_config)], 0xa5);      /* nothing past it */
}

/* An older program's smaller struct: only its bytes are written. */
static void t_init_older_program(void)
{
    union cfgbuf u;
    memset(&u, 0xa5, sizeof(u));
    CHECK_EQ(arcvmm_config_init_size(&u.c, SIZE_V0), 0);
    CHECK_EQ(u.c.size, SIZE_V0);
    CHECK_EQ(u.c.cpus, 1);
    CHECK_EQ(u.c.mem_merge, 0);
    for (size_t i = SIZE_V0; i < sizeof(u.b); i++)
        CHECK_EQ(u.b[i], 0xa5);
}

/* A newer program's bigger struct: the fields this library lacks are 0. */
static void t_init_newer_program(void)
{
    union cfgbuf u;
    memset(&u, 0xa5, sizeof(u));
    size_t size = sizeof(struct arcvmm_config) + 32;
    CHECK_EQ(arcvmm_config_init_size(&u.c, size), 0);
    CHECK_EQ(u.c.size, size);
    for (size_t i = sizeof(struct arcvmm_config); i < size; i++)
        CHECK_EQ(u.b[i], 0);
    CHECK_EQ(u.b[size], 0xa5);
}

static void t_init_too_small(void)
{
    union cfgbuf u;
    memset(&u, 0xa5, sizeof(u));
    CHECK_EQ(arcvmm_config_init_size(&u.c, 4), -EINVAL);
    CHECK_EQ(u.b[0], 0xa5);
}

/* arcvmm_create on cfg: its return, with *out NULL on failure. */
static int create(const struct arcvmm_config *cfg, char *err, size_t errlen)
{
    struct arcvmm *vm = (struct arcvmm *)1;
    int r = arcvmm_create(cfg, &vm, err, errlen);
    if (r < 0 && vm != NULL)
        return -9999;       /* *out must be NULL on failure */
    arcvmm_destroy(vm);
    return r;
}

static void t_create_needs_size(void)
{
    struct arcvmm_config c;
    memset(&c, 0, sizeof(c));       /* not made by arcvmm_config_init */
    c.kernel = "/nonexistent";
    c.cpus = 1;
    c.memory_mib = 64;
    char err[256];
    CHECK_EQ(create(&c, err, sizeof(err)), -EINVAL);
    CHECK(strstr(err, "arcvmm_config_init") != NULL);
}

/* Past the size checks, a missing kernel is what fails: the size was taken. */
static void t_create_older_and_newer(void)
{
    union cfgbuf u;
    char err[256];
    CHECK_EQ(arcvmm_config_init_size(&u.c, SIZE_V0), 0);
    u.c.kernel = "/nonexistent";
    CHECK_EQ(create(&u.c, err, sizeof(err)), -ENOENT);
    CHECK_EQ(arcvmm_config_init_size(&u.c, sizeof(u.c) + 32), 0);
    u.c.kernel = "/nonexistent";
    CHECK_EQ(create(&u.c, err, sizeof(err)), -ENOENT);
    u.b[sizeof(u.c) + 7] = 1;       /* a field this library does not know, set */
    CHECK_EQ(create(&u.c, err, sizeof(err)), -E2BIG);
    CHECK(strstr(err, "does not know") != NULL);
}

static void t_create_unknown_flag(void)
{
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    c.kernel = "/nonexistent";
    c.flags = ARCVMM_F_ALL + 1u + (1u << 31);
    char err[256];
    CHECK_EQ(create(&c, err, sizeof(err)), -EINVAL);
    CHECK(strncmp(err, "flags:", 6) == 0);
}

/* A file error keeps its errno (and the message names the file). */
static void t_create_keeps_errno(void)
{
    struct arcvmm_config c;
    arcvmm_config_init(&c);
    char err[256];
    c.kernel = "/nonexistent/bzImage";
    CHECK_EQ(create(&c, err, sizeof(err)), -ENOENT);
    CHECK(strcmp(err, "kernel /nonexistent/bzImage: No such file or directory") == 0);
    c.kernel = "/";
    CHECK_EQ(create(&c, err, sizeof(err)), -EISDIR);
    c.kernel = "/proc/self/exe";
    c.initrd = "/nonexistent/initrd";
    CHECK_EQ(create(&c, err, sizeof(err)), -ENOENT);
    CHECK(strstr(err, "initrd") != NULL);
}

/* console_stop writes what the ring holds on the caller's thread; with
 * the reader gone that raises no SIGPIPE (whose default action would end
 * this test) and leaves none pending. */
static void t_console_stop_reader_gone(void)
{
    struct sigaction dfl = { .sa_handler = SIG_DFL }, old;
    sigemptyset(&dfl.sa_mask);
    CHECK(sigaction(SIGPIPE, &dfl, &old) == 0);
    int p[2];
    CHECK(pipe2(p, O_CLOEXEC) == 0);
    struct arcvmm_config cfg;
    arcvmm_config_init(&cfg);
    cfg.console_in_fd = -1;
    cfg.console_out_fd = p[1];
    static struct console con;      /* big (its ring): not on the stack */
    char err[256];
    CHECK_EQ(console_open(&con, NULL, &cfg, err, sizeof(err)), 0);
    console_write(&con, (const uint8_t *)"bye\n", 4);
    close(p[0]);
    console_stop(&con);
    sigset_t pending;
    CHECK(sigpending(&pending) == 0);
    CHECK(!sigismember(&pending, SIGPIPE));
    CHECK(con.out_dead);
    console_close(&con);
    close(p[1]);
    CHECK(sigaction(SIGPIPE, &old, NULL) == 0);
}

int main(void)
{
    RUN(t_init_full_size);
    RUN(t_init_older_program);
    RUN(t_init_newer_program);
    RUN(t_init_too_small);
    RUN(t_create_needs_size);
    RUN(t_create_older_and_newer);
    RUN(t_create_unknown_flag);
    RUN(t_create_keeps_errno);
    RUN(t_console_stop_reader_gone);
    return harness_done();
}
