/* Minimal i8042 keyboard controller: enough for the CPU reset pulse that
 * Linux's reboot=k (and the tier-2 test guest) use, and for Linux's i8042
 * probe to find a sane controller when it does probe (it does not under
 * our hardware-reduced ACPI FADT, which leaves the 8042 flag clear).
 *
 * Two bus handlers, one per port, both taking the struct i8042 as opaque:
 *   bus_register(bus, X86_I8042_DATA_PORT, 1, i8042_data_io, k, "i8042-data");
 *   bus_register(bus, X86_I8042_CMD_PORT,  1, i8042_cmd_io,  k, "i8042-cmd");
 *
 * Model: a PS/2-style controller with no keyboard or mouse attached and no
 * interrupt lines (responses are polled through the status register, which
 * is how Linux's controller commands read them). Bytes sent to the devices
 * (data-port writes outside a command, 0xD4 <byte>) are dropped, so atkbd
 * and psmouse time out quietly. Controller commands:
 *   0x20-0x3f read RAM (0x20: command byte)  0x60-0x7f write RAM (next data byte)
 *   0xa7/0xa8 AUX disable/enable            0xa9 AUX test -> 0x00
 *   0xaa self test -> 0x55                  0xab KBD test -> 0x00
 *   0xad/0xae KBD disable/enable            0xd0 read output port
 *   0xd1 write output port (bit 0 clear = CPU reset)
 *   0xd2/0xd3 next data byte comes back as KBD/AUX data (loopback)
 *   0xd4 next data byte to the mouse (dropped)
 *   0xf0-0xff pulse output port bits: bit 0 pulsed (0xfe etc.) = CPU reset
 * Anything else is ignored.
 *
 * ops->reset is called on the vCPU thread WITHOUT k->lock held; it must
 * not wait for vCPU threads (it runs on one). */
#ifndef ARCVMM_DEV_I8042_H
#define ARCVMM_DEV_I8042_H
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Status register bits. */
enum {
    I8042_STS_OBF = 0x01,      /* output buffer full (read 0x60) */
    I8042_STS_IBF = 0x02,      /* input buffer full: always 0 */
    I8042_STS_SYS = 0x04,      /* system flag: self test passed */
    I8042_STS_CMD = 0x08,      /* last write went to 0x64 */
    I8042_STS_UNLOCKED = 0x10, /* keyboard not inhibited */
    I8042_STS_AUXOBF = 0x20,   /* output buffer holds AUX data */
};

/* Command byte (RAM[0]) bits. */
enum {
    I8042_CTR_KBDINT = 0x01, I8042_CTR_AUXINT = 0x02, I8042_CTR_SYS = 0x04,
    I8042_CTR_KBDDIS = 0x10, I8042_CTR_AUXDIS = 0x20, I8042_CTR_XLATE = 0x40,
};

struct i8042_ops {
    void (*reset)(void *opaque);   /* the guest pulsed the CPU reset line */
    void *opaque;
};

/* Fields are protected by lock; use the functions below. */
struct i8042 {
    pthread_mutex_t lock;
    struct i8042_ops ops;
    uint8_t ram[32];        /* ram[0] = command byte */
    uint8_t outport;        /* output port (bit 0 reset line, bit 1 A20) */
    uint8_t pending_cmd;    /* command waiting for its data byte, or 0 */
    uint8_t out;            /* output buffer */
    bool out_full, out_aux;
    bool last_was_cmd;
};

/* Power-on state: command byte 0x45 (KBD interrupt, SYS, translate),
 * output port 0x03 (not in reset, A20 on). ops may be NULL; it is copied. */
void i8042_init(struct i8042 *k, const struct i8042_ops *ops);
void i8042_destroy(struct i8042 *k);
/* bus_io_fn for the data port (0x60), opaque = struct i8042. Only 1-byte
 * accesses at offset 0 reach the device; other reads return all-ones,
 * other writes are ignored. */
void i8042_data_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
/* bus_io_fn for the command/status port (0x64); same access rules. */
void i8042_cmd_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write);
#endif
