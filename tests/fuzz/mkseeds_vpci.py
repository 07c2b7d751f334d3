#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/vpci/ (op format in
fuzz_vpci.c): a Linux-like bring-up of the virtio-pci function (MSI-X on,
features, two queues with vectors, DRIVER_OK, notifies, device config),
a reset polled to completion, and a driver that writes during a reset."""
import os
import struct

BAR, CFG, CTL = 0, 1, 2
LEN = {1: 0, 2: 1, 4: 2, 8: 3, 0: 4, 3: 5, 16: 6}
COMMON, ISR, DEVICE, NOTIFY, MSIX_TABLE = 0x0, 0x1000, 0x2000, 0x3000, 0x4000
DFSEL, DF, GFSEL, GF, MSIX_CONFIG, NUMQ, STATUS = 0, 4, 8, 12, 16, 18, 20
QSEL, QSIZE, QMSIX, QENABLE, QDESC, QAVAIL, QUSED = 22, 24, 26, 28, 32, 40, 48


def op(space, off, ln, value=0, write=False):
    return struct.pack('<BHBI', space | (4 if write else 0) | LEN[ln] << 3, off & 0xffff, 0,
                       value & 0xffffffff)


def w(off, ln, v):
    return op(BAR, off, ln, v, True)


def r(off, ln):
    return op(BAR, off, ln)


def cfg_w(off, ln, v):
    return op(CFG, off, ln, v, True)


def release():
    return op(CTL, 0, 4, 1, True)


def drain():
    return op(CTL, 0, 4, 2, True)


def msix_on():
    # Find-free variant: the MSI-X capability's control word is the last
    # capability; the seeds set the enable bit at each plausible offset.
    out = b''
    for cap in (0x40, 0x50, 0x60, 0x70, 0x80, 0x84):
        out += cfg_w(cap + 2, 2, 0x8000)
    for v in range(3):
        out += w(MSIX_TABLE + 16 * v, 4, 0xfee00000)
        out += w(MSIX_TABLE + 16 * v + 8, 4, 0x30 + v)
        out += w(MSIX_TABLE + 16 * v + 12, 4, 0)
    return out


def bring_up():
    s = w(COMMON + STATUS, 1, 0) + r(COMMON + STATUS, 1)
    s += w(COMMON + STATUS, 1, 3)
    s += w(COMMON + DFSEL, 4, 1) + r(COMMON + DF, 4)
    s += w(COMMON + GFSEL, 4, 1) + w(COMMON + GF, 4, 1)
    s += w(COMMON + GFSEL, 4, 0) + w(COMMON + GF, 4, 0x30000000)
    s += w(COMMON + STATUS, 1, 0x0b) + r(COMMON + STATUS, 1)
    for q in range(2):
        base = 0x10000 * (q + 1)
        s += w(COMMON + QSEL, 2, q) + r(COMMON + QSIZE, 2) + w(COMMON + QSIZE, 2, 64)
        s += w(COMMON + QMSIX, 2, q + 1)
        s += w(COMMON + QDESC, 4, base) + w(COMMON + QDESC + 4, 4, 0)
        s += w(COMMON + QAVAIL, 4, base + 0x4000) + w(COMMON + QUSED, 4, base + 0x8000)
        s += w(COMMON + QENABLE, 2, 1)
    s += w(COMMON + MSIX_CONFIG, 2, 0)
    s += w(COMMON + STATUS, 1, 0x0f) + r(COMMON + STATUS, 1)
    return s


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'vpci')
    os.makedirs(d, exist_ok=True)
    seeds = {
        'bringup': cfg_w(0x04, 2, 6) + msix_on() + bring_up(),
        'notify-config': bring_up() + w(NOTIFY, 2, 0) + w(NOTIFY + 4, 2, 1) + drain() +
                         r(ISR, 1) + w(DEVICE, 4, 0x12345678) + r(DEVICE + 4, 8) + r(DEVICE + 15, 2),
        'reset-polled': bring_up() + w(COMMON + STATUS, 1, 0) + r(COMMON + STATUS, 1) + release() +
                        r(COMMON + STATUS, 1) + bring_up(),
        'writes-during-reset': bring_up() + w(COMMON + STATUS, 1, 0) + w(COMMON + STATUS, 1, 1) +
                               w(COMMON + QSEL, 2, 0) + w(COMMON + QSIZE, 2, 8) +
                               w(COMMON + QMSIX, 2, 2) + w(DEVICE, 4, 0xffffffff) +
                               w(COMMON + GF, 4, 0xffffffff) + release() + bring_up(),
        'bad-widths': bring_up() + w(COMMON + STATUS, 4, 0x0f) + w(COMMON + QSIZE, 1, 3) +
                      w(COMMON + QDESC + 2, 4, 1) + w(COMMON + QMSIX, 2, 0xfffe) +
                      w(COMMON + MSIX_CONFIG, 2, 99) + r(COMMON + 60, 16),
        'bar-move': cfg_w(0x10, 4, 0xffffffff) + cfg_w(0x14, 4, 0xffffffff) +
                    cfg_w(0x10, 4, 0x0000000c) + cfg_w(0x14, 4, 2) + cfg_w(0x04, 2, 0) +
                    cfg_w(0x04, 2, 6) + bring_up(),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
