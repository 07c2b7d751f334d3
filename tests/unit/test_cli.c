/* Command-line parsing into struct arcvmm_config. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "harness.h"

static int parse(struct cli *c, char *err, ...)
{
    char *argv[32];
    int argc = 0;
    va_list ap;
    va_start(ap, err);
    char *a;
    while ((a = va_arg(ap, char *)) != NULL && argc < 31)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    return cli_parse(argc, argv, c, err, 256);
}

static void t_full_run_line(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--initrd", "i", "--cmdline",
                   "console=ttyS0 x", "--cpus", "4", "--memory", "1024", "--console",
                   "file:/tmp/log", "-v", NULL), 0);
    CHECK_EQ(c.cmd, CLI_RUN);
    CHECK(!strcmp(c.cfg.kernel, "k"));
    CHECK(!strcmp(c.cfg.initrd, "i"));
    CHECK(!strcmp(c.cfg.cmdline, "console=ttyS0 x"));
    CHECK_EQ(c.cfg.cpus, 4);
    CHECK_EQ(c.cfg.memory_mib, 1024);
    CHECK_EQ(c.cfg.console, ARCVMM_CONSOLE_FILE);
    CHECK(!strcmp(c.cfg.console_path, "/tmp/log"));
    CHECK(c.verbose);
    CHECK(!c.default_guest);
    CHECK_EQ(c.cfg.mem_merge, 0);       /* KSM merging is opt-in */
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--mem-merge", NULL), 0);
    CHECK_EQ(c.cfg.mem_merge, 1);
    CHECK(strstr(cli_usage(), "--mem-merge"));
}

static void t_defaults_and_forms(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel=k", "--console=none", NULL), 0);
    CHECK_EQ(c.cfg.cpus, 1);
    CHECK_EQ(c.cfg.memory_mib, 256);
    CHECK(c.cfg.cmdline == NULL);       /* the library applies the default */
    CHECK_EQ(c.cfg.console, ARCVMM_CONSOLE_NONE);
    CHECK_EQ(parse(&c, err, "arcvmm", "--version", NULL), 0);
    CHECK_EQ(c.cmd, CLI_VERSION);
    CHECK_EQ(parse(&c, err, "arcvmm", "--help", NULL), 0);
    CHECK_EQ(c.cmd, CLI_HELP);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--help", NULL), 0);
    CHECK_EQ(c.cmd, CLI_HELP);
}

static void t_bad_numbers(void)
{
    struct cli c;
    char err[256];
    const char *bad[] = { "0", "-1", "+2", "2x", "", " 3", "99999999999999999999", "4097" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--cpus", bad[i], NULL), -EINVAL);
        CHECK(strstr(err, "--cpus") != NULL);
    }
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--memory", "0", NULL), -EINVAL);
    CHECK(strstr(err, "--memory: 0 is out of range") != NULL);
}

static void t_usage_errors(void)
{
    struct cli c;
    char err[256];
    CHECK_EQ(parse(&c, err, "arcvmm", NULL), -EINVAL);
    CHECK_EQ(parse(&c, err, "arcvmm", "walk", NULL), -EINVAL);
    CHECK(strstr(err, "unknown command 'walk'") != NULL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", NULL), -EINVAL);
    CHECK(strstr(err, "--kernel needs a value") != NULL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "--console", "file:", NULL), -EINVAL);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", "--kernel", "k", "stray", NULL), -EINVAL);
    CHECK(strstr(err, "unexpected argument 'stray'") != NULL);
}

static void t_default_guest_dir(void)
{
    struct cli c;
    char err[256];
    setenv("ARCVMM_GUEST_DIR", "/nonexistent-dir", 1);
    CHECK_EQ(parse(&c, err, "arcvmm", "run", NULL), -ENOENT);
    CHECK(strstr(err, "no default guest at /nonexistent-dir") != NULL);
    unsetenv("ARCVMM_GUEST_DIR");
}

int main(void)
{
    RUN(t_full_run_line);
    RUN(t_defaults_and_forms);
    RUN(t_bad_numbers);
    RUN(t_usage_errors);
    RUN(t_default_guest_dir);
    return harness_done();
}
