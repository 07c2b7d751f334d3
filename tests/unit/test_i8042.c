/* i8042: CPU reset paths and the Linux probe sequence. */
#include <stdint.h>

#include "harness.h"
#include "arch/x86/layout.h"
#include "bus/bus.h"
#include "dev/i8042.h"

static void count_reset(void *opaque)
{
    (*(int *)opaque)++;
}

static void cmd(struct i8042 *k, uint8_t v)
{
    i8042_cmd_io(k, 0, &v, 1, true);
}

static void dat(struct i8042 *k, uint8_t v)
{
    i8042_data_io(k, 0, &v, 1, true);
}

static uint8_t sts(struct i8042 *k)
{
    uint8_t v = 0;
    i8042_cmd_io(k, 0, &v, 1, false);
    return v;
}

static uint8_t rdat(struct i8042 *k)
{
    uint8_t v = 0;
    i8042_data_io(k, 0, &v, 1, false);
    return v;
}

/* What Linux's i8042_command() does for a command with one result byte:
 * wait for IBF clear, write, poll OBF, read. -1 when OBF never comes. */
static int command_result(struct i8042 *k, uint8_t c)
{
    if (sts(k) & I8042_STS_IBF)
        return -1;
    cmd(k, c);
    for (int i = 0; i < 10; i++)
        if (sts(k) & I8042_STS_OBF)
            return rdat(k);
    return -1;
}

static void t_reset_pulse(void)
{
    struct i8042 k;
    int resets = 0;
    struct i8042_ops ops = { count_reset, &resets };
    i8042_init(&k, &ops);
    /* reboot=k: kb_wait() then 0xfe to 0x64 */
    CHECK_EQ(sts(&k) & I8042_STS_IBF, 0);
    cmd(&k, 0xfe);
    CHECK_EQ(resets, 1);
    cmd(&k, 0xf0);                  /* pulse all bits: includes reset */
    CHECK_EQ(resets, 2);
    cmd(&k, 0xff);                  /* pulse nothing */
    cmd(&k, 0xf1);
    CHECK_EQ(resets, 2);
    cmd(&k, 0xd1);                  /* output port write, reset line high */
    dat(&k, 0x03);
    CHECK_EQ(resets, 2);
    cmd(&k, 0xd0);
    CHECK_EQ(rdat(&k), 0x03);
    cmd(&k, 0xd1);                  /* reset line low */
    dat(&k, 0x02);
    CHECK_EQ(resets, 3);
    dat(&k, 0xfe);                  /* data byte 0xfe is not a command */
    CHECK_EQ(resets, 3);
    i8042_destroy(&k);

    i8042_init(&k, NULL);           /* no callback: must not crash */
    cmd(&k, 0xfe);
    i8042_destroy(&k);
}

static void t_status(void)
{
    struct i8042 k;
    i8042_init(&k, NULL);
    uint8_t s = sts(&k);
    CHECK_EQ(s & (I8042_STS_OBF | I8042_STS_IBF), 0);   /* nothing, ready */
    CHECK(s & I8042_STS_UNLOCKED);                      /* no "Keylock active" */
    CHECK(s & I8042_STS_SYS);
    cmd(&k, 0xad);
    CHECK(sts(&k) & I8042_STS_CMD);
    dat(&k, 0x00);
    CHECK_EQ(sts(&k) & I8042_STS_CMD, 0);
    CHECK_EQ(sts(&k) & I8042_STS_OBF, 0);               /* keyboard absent */
    i8042_destroy(&k);
}

/* i8042_controller_check/selftest/init and i8042_check_aux as Linux does. */
static void t_linux_probe(void)
{
    struct i8042 k;
    int resets = 0;
    struct i8042_ops ops = { count_reset, &resets };
    i8042_init(&k, &ops);

    /* i8042_flush: nothing queued */
    CHECK_EQ(sts(&k) & I8042_STS_OBF, 0);
    /* self test */
    CHECK_EQ(command_result(&k, 0xaa), 0x55);
    CHECK_EQ(sts(&k) & I8042_STS_OBF, 0);
    /* CTR read twice must agree */
    int ctr = command_result(&k, 0x20);
    CHECK_EQ(ctr, 0x45);
    CHECK_EQ(command_result(&k, 0x20), ctr);
    /* disable kbd interface and interrupt, write CTR back */
    uint8_t nctr = (uint8_t)((ctr | I8042_CTR_KBDDIS) & ~I8042_CTR_KBDINT);
    cmd(&k, 0x60);
    dat(&k, nctr);
    CHECK_EQ(command_result(&k, 0x20), nctr);
    /* AUX loopback echoes with the AUX flag */
    cmd(&k, 0xd3);
    dat(&k, 0x5a);
    CHECK_EQ(sts(&k) & (I8042_STS_OBF | I8042_STS_AUXOBF), I8042_STS_OBF | I8042_STS_AUXOBF);
    CHECK_EQ(rdat(&k), 0x5a);
    CHECK_EQ(sts(&k) & (I8042_STS_OBF | I8042_STS_AUXOBF), 0);
    CHECK_EQ(command_result(&k, 0xa9), 0x00);
    /* i8042_toggle_aux */
    cmd(&k, 0xa7);
    CHECK(command_result(&k, 0x20) & I8042_CTR_AUXDIS);
    cmd(&k, 0xa8);
    CHECK_EQ(command_result(&k, 0x20) & I8042_CTR_AUXDIS, 0);
    /* kbd enable/disable, kbd test, kbd loopback */
    cmd(&k, 0xae);
    CHECK_EQ(command_result(&k, 0x20) & I8042_CTR_KBDDIS, 0);
    cmd(&k, 0xad);
    CHECK(command_result(&k, 0x20) & I8042_CTR_KBDDIS);
    CHECK_EQ(command_result(&k, 0xab), 0x00);
    cmd(&k, 0xd2);
    dat(&k, 0xa5);
    CHECK_EQ(sts(&k) & (I8042_STS_OBF | I8042_STS_AUXOBF), I8042_STS_OBF);
    CHECK_EQ(rdat(&k), 0xa5);
    /* bytes to absent devices vanish; unknown commands are ignored */
    dat(&k, 0xf2);                  /* atkbd GETID */
    cmd(&k, 0xd4);
    dat(&k, 0xff);                  /* psmouse reset */
    cmd(&k, 0x12);
    cmd(&k, 0xc0);
    CHECK_EQ(sts(&k) & I8042_STS_OBF, 0);
    /* a new command cancels a pending one */
    cmd(&k, 0x60);
    cmd(&k, 0xae);
    dat(&k, 0x00);
    CHECK_EQ(command_result(&k, 0x20) & I8042_CTR_KBDDIS, 0);
    CHECK(command_result(&k, 0x20) != 0);
    /* other internal RAM bytes */
    cmd(&k, 0x61);
    dat(&k, 0x99);
    CHECK_EQ(command_result(&k, 0x21), 0x99);
    CHECK_EQ(resets, 0);
    i8042_destroy(&k);
}

static void t_bad_access(void)
{
    struct i8042 k;
    int resets = 0;
    struct i8042_ops ops = { count_reset, &resets };
    i8042_init(&k, &ops);
    uint8_t d[8] = { 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe, 0xfe };
    i8042_cmd_io(&k, 0, d, 2, true);
    i8042_cmd_io(&k, 1, d, 1, true);
    i8042_cmd_io(&k, UINT64_MAX, d, 8, true);
    CHECK_EQ(resets, 0);
    memset(d, 0, sizeof(d));
    i8042_data_io(&k, 0, d, 4, false);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(d[i], 0xff);
    i8042_cmd_io(&k, 3, d, 1, false);
    CHECK_EQ(d[0], 0xff);
    i8042_destroy(&k);
}

static void t_on_bus(void)
{
    struct i8042 k;
    struct bus b = { 0 };
    int resets = 0;
    struct i8042_ops ops = { count_reset, &resets };
    i8042_init(&k, &ops);
    CHECK_EQ(bus_register(&b, X86_I8042_DATA_PORT, 1, i8042_data_io, &k, "i8042-data"), 0);
    CHECK_EQ(bus_register(&b, X86_I8042_CMD_PORT, 1, i8042_cmd_io, &k, "i8042-cmd"), 0);
    uint8_t v = 0xaa;
    CHECK(bus_access(&b, X86_I8042_CMD_PORT, &v, 1, true));
    CHECK(bus_access(&b, X86_I8042_DATA_PORT, &v, 1, false));
    CHECK_EQ(v, 0x55);
    v = 0xfe;
    CHECK(bus_access(&b, X86_I8042_CMD_PORT, &v, 1, true));
    CHECK_EQ(resets, 1);
    bus_free(&b);
    i8042_destroy(&k);
}

int main(void)
{
    RUN(t_reset_pulse);
    RUN(t_status);
    RUN(t_linux_probe);
    RUN(t_bad_access);
    RUN(t_on_bus);
    return harness_done();
}
