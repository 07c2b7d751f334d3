/* i8042 keyboard controller, polled, with no devices attached. See i8042.h. */
#include "dev/i8042.h"

#include <string.h>

enum {
    CMD_READ_RAM = 0x20,      /* ..0x3f */
    CMD_WRITE_RAM = 0x60,     /* ..0x7f */
    CMD_AUX_DISABLE = 0xa7,
    CMD_AUX_ENABLE = 0xa8,
    CMD_AUX_TEST = 0xa9,
    CMD_SELF_TEST = 0xaa,
    CMD_KBD_TEST = 0xab,
    CMD_KBD_DISABLE = 0xad,
    CMD_KBD_ENABLE = 0xae,
    CMD_READ_OUTPORT = 0xd0,
    CMD_WRITE_OUTPORT = 0xd1,
    CMD_KBD_LOOP = 0xd2,
    CMD_AUX_LOOP = 0xd3,
    CMD_AUX_SEND = 0xd4,
    CMD_PULSE = 0xf0,         /* ..0xff: low nibble = bits NOT pulsed */
};

#define SELF_TEST_OK   0x55
#define PORT_TEST_OK   0x00
#define OUTPORT_RESET  0x01   /* 0 = CPU held in reset */

static void put_out(struct i8042 *k, uint8_t v, bool aux)
{
    k->out = v;
    k->out_full = true;
    k->out_aux = aux;
}

static uint8_t status(const struct i8042 *k)
{
    uint8_t s = I8042_STS_UNLOCKED;

    if (k->out_full)
        s |= I8042_STS_OBF | (k->out_aux ? I8042_STS_AUXOBF : 0);
    if (k->ram[0] & I8042_CTR_SYS)
        s |= I8042_STS_SYS;
    if (k->last_was_cmd)
        s |= I8042_STS_CMD;
    return s;
}

/* A command byte written to 0x64. Returns true when it asks for a reset. */
static bool do_command(struct i8042 *k, uint8_t cmd)
{
    k->pending_cmd = 0;
    if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + 0x20) {
        put_out(k, k->ram[cmd & 0x1f], false);
        return false;
    }
    if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
        k->pending_cmd = cmd;
        return false;
    }
    if (cmd >= CMD_PULSE)
        return !(cmd & OUTPORT_RESET);
    switch (cmd) {
    case CMD_AUX_DISABLE:
        k->ram[0] |= I8042_CTR_AUXDIS;
        break;
    case CMD_AUX_ENABLE:
        k->ram[0] &= (uint8_t)~I8042_CTR_AUXDIS;
        break;
    case CMD_AUX_TEST:
    case CMD_KBD_TEST:
        put_out(k, PORT_TEST_OK, false);
        break;
    case CMD_SELF_TEST:
        k->ram[0] |= I8042_CTR_SYS;
        put_out(k, SELF_TEST_OK, false);
        break;
    case CMD_KBD_DISABLE:
        k->ram[0] |= I8042_CTR_KBDDIS;
        break;
    case CMD_KBD_ENABLE:
        k->ram[0] &= (uint8_t)~I8042_CTR_KBDDIS;
        break;
    case CMD_READ_OUTPORT:
        put_out(k, k->outport, false);
        break;
    case CMD_WRITE_OUTPORT:
    case CMD_KBD_LOOP:
    case CMD_AUX_LOOP:
    case CMD_AUX_SEND:
        k->pending_cmd = cmd;
        break;
    default:
        break;  /* unknown: ignored */
    }
    return false;
}

/* A byte written to 0x60. Returns true when it asks for a reset. */
static bool do_data(struct i8042 *k, uint8_t v)
{
    uint8_t cmd = k->pending_cmd;

    k->pending_cmd = 0;
    if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + 0x20) {
        k->ram[cmd & 0x1f] = v;
        return false;
    }
    switch (cmd) {
    case CMD_WRITE_OUTPORT:
        k->outport = v;
        return !(v & OUTPORT_RESET);
    case CMD_KBD_LOOP:
        put_out(k, v, false);
        break;
    case CMD_AUX_LOOP:
        put_out(k, v, true);
        break;
    default:
        break;  /* 0xd4 or no command: to a device that is not there */
    }
    return false;
}

void i8042_init(struct i8042 *k, const struct i8042_ops *ops)
{
    memset(k, 0, sizeof(*k));
    pthread_mutex_init(&k->lock, NULL);
    if (ops)
        k->ops = *ops;
    k->ram[0] = I8042_CTR_KBDINT | I8042_CTR_SYS | I8042_CTR_XLATE;
    k->outport = OUTPORT_RESET | 0x02;
}

void i8042_destroy(struct i8042 *k)
{
    pthread_mutex_destroy(&k->lock);
}

static void port_io(struct i8042 *k, bool cmd_port, uint64_t offset, uint8_t *data,
                    uint32_t len, bool is_write)
{
    bool reset = false;

    if (len != 1 || offset != 0) {
        if (!is_write)
            memset(data, 0xff, len);
        return;
    }
    pthread_mutex_lock(&k->lock);
    if (!is_write) {
        if (cmd_port) {
            data[0] = status(k);
        } else {
            data[0] = k->out;   /* stale value when empty, like the chip */
            k->out_full = false;
        }
    } else {
        k->last_was_cmd = cmd_port;
        reset = cmd_port ? do_command(k, data[0]) : do_data(k, data[0]);
    }
    struct i8042_ops ops = k->ops;
    pthread_mutex_unlock(&k->lock);

    if (reset && ops.reset)
        ops.reset(ops.opaque);
}

void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    port_io(opaque, false, offset, data, len, is_write);
}

void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
    port_io(opaque, true, offset, data, len, is_write);
}
