#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/pci/ (op format in
fuzz_pci.c): what a guest's enumeration does through ECAM and through
ports 0xCF8/0xCFC, then MSI-X programming, masking, pending (set by the
owner or by msix_notify) and PBA reads."""
import os
import struct

ECAM, PORTS, BAR, CFG = 0, 1, 2, 3
LEN = {1: 0, 2: 1, 4: 2, 8: 3, 0: 4, 3: 5, 16: 6}
SLOT = 2
MSIX_CAP = 0x40 + 16 + 16 + 12   # after the three vendor caps (16, 14->16, 12)


def op(space, off, ln, value=0, write=False, pending=False):
    code = 7 if pending else LEN[ln]
    return struct.pack('<BBHI', space | (4 if write else 0) | code << 3,
                       off & 0xff, (off >> 8) & 0xffff, value & 0xffffffff)


def set_pending(v):
    return op(CFG, 0, 0, v, True, pending=True)


def notify(v):
    return op(CFG, 0, 0, v, False, pending=True)


def ecam(reg, ln=4, value=None, dev=SLOT, fn=0, bus=0):
    off = bus << 20 | dev << 15 | fn << 12 | reg
    return op(ECAM, off, ln, value or 0, value is not None)


def cf8(addr):
    return op(PORTS, 0, 4, addr, True)


def cfc(port_off, ln=4, value=None):
    return op(PORTS, 4 + port_off, ln, value or 0, value is not None)


def legacy(reg, ln=4, value=None, dev=SLOT):
    return cf8(0x80000000 | dev << 11 | (reg & 0xfc)) + cfc(reg & 3, ln, value)


def bar(off, ln=4, value=None):
    return op(BAR, off, ln, value or 0, value is not None)


def enumerate_(acc):
    s = acc(0) + acc(8) + acc(0x0e, 1) + acc(0x2c)
    s += acc(4, 2, 0)                                   # decode off while sizing
    for reg in (0x10, 0x14, 0x18):
        s += acc(reg) + acc(reg, 4, 0xffffffff) + acc(reg)
    s += acc(0x10, 4, 0xfe000000) + acc(0x14, 4, 0x8) + acc(0x18, 4, 0xc0000000)
    s += acc(4, 2, 0x6)                                 # memory + bus master
    s += acc(0x34, 1)
    for p in (0x40, 0x50, 0x60, MSIX_CAP):
        s += acc(p) + acc(p + 4) + acc(p + 8)
    s += acc(0x3c, 1, 0x0b)
    return s


def msix_program():
    s = b''
    for v in range(9):
        s += bar(0x4000 + 16 * v, 4, 0xfee00000 + v * 0x1000)
        s += bar(0x4000 + 16 * v + 4, 4, 0)
        s += bar(0x4000 + 16 * v + 8, 4, 0x4020 + v)
    s += ecam(MSIX_CAP + 2, 2, 0xc000)                  # enable, function masked
    s += set_pending(3) + set_pending(8) + notify(5)
    for v in range(9):
        s += bar(0x4000 + 16 * v + 12, 4, 0)            # unmask each vector
    s += ecam(MSIX_CAP + 2, 2, 0x8000)                  # function unmask: deliveries
    s += notify(5) + notify(9)
    s += bar(0x5000, 8) + bar(0x5000, 4) + bar(0x5004, 4)
    return s


def odd():
    s = ecam(1, 2) + ecam(2, 4) + ecam(0xffe, 4) + ecam(0x1000 - 4, 4, 0xffffffff)
    s += ecam(0, 4, dev=3) + ecam(0, 4, fn=1) + ecam(0, 4, bus=1)
    s += cf8(0x7fffffff) + cfc(0) + op(PORTS, 1, 1, 6, True) + op(PORTS, 0, 2, 0, True)
    s += legacy(4, 2) + cf8(0x80000000 | SLOT << 11 | 4) + cfc(1, 2) + cfc(3, 2) + cfc(1, 1, 4)
    s += bar(0x4003, 4, 1) + bar(0x4004, 8, 0) + bar(0x4000, 2, 0) + bar(0x4000, 16)
    s += bar(0x5000, 8, 0xffffffff) + bar(0x4090, 4) + bar(0x7ffc, 4)
    s += op(CFG, 0xfff, 4) + op(CFG, 0x1000, 4, 0, True) + op(CFG, 0x60 + 8, 4, 0x1234, True)
    s += op(CFG, 0x60 + 8, 1) + op(CFG, 0x10, 3, 0xffff, True) + op(CFG, 0x10, 0, 0, True)
    return s


def main():
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'pci')
    os.makedirs(d, exist_ok=True)
    seeds = {
        'enum_ecam': enumerate_(lambda r, ln=4, v=None: ecam(r, ln, v)),
        'enum_legacy': enumerate_(lambda r, ln=4, v=None: legacy(r, ln, v)),
        'msix': enumerate_(lambda r, ln=4, v=None: ecam(r, ln, v)) + msix_program(),
        'odd': odd(),
    }
    for name, data in seeds.items():
        with open(os.path.join(d, name), 'wb') as f:
            f.write(data)


if __name__ == '__main__':
    main()
