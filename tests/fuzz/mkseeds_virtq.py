#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/virtq/ (format in
fuzz_common.h). Seeds are small: rings packed at the start of region 0."""
import os
import struct

EVENT_IDX, INDIRECT, RAW_ADDR, NOTIFY = 1, 2, 4, 8
NEXT, WRITE, IND = 1, 2, 4
R1 = 0x10000


class Seed:
    def __init__(self, log2, flags, desc, avail, used, start=0):
        self.size = 1 << log2
        self.hdr = struct.pack('<BBHHHH', log2, flags, desc, avail, used, start)
        self.mem = bytearray(0x200)   # region 0 at gpa 0
        self.r1 = bytearray()         # region 1 at gpa R1
        self.desc_off, self.avail_off, self.used_off = desc, avail, used
        self.idx = start

    def put(self, off, data):
        m = self.mem
        if off >= R1:
            m, off = self.r1, off - R1
        end = off + len(data)
        if end > len(m):
            m.extend(b'\0' * (end - len(m)))
        m[off:end] = data

    def ram(self, gpa, ln):
        """make [gpa, gpa+ln) exist (zero-filled)"""
        self.put(gpa + ln - 1, b'\0')

    def desc(self, table, i, addr, ln, flags=0, nxt=0):
        self.put(table + 16 * i, struct.pack('<QIHH', addr, ln, flags, nxt))

    def avail(self, head):
        self.put(self.avail_off + 4 + 2 * (self.idx % self.size), struct.pack('<H', head))
        self.idx = (self.idx + 1) & 0xffff
        self.put(self.avail_off + 2, struct.pack('<H', self.idx))

    def write(self, path):
        with open(path, 'wb') as f:
            f.write(self.hdr + struct.pack('<H4x', len(self.mem)) + bytes(self.mem) +
                    bytes(self.r1))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'virtq')
    os.makedirs(out, exist_ok=True)
    # size 8: desc 0x000 (128 B), avail 0x080, used 0x0a0, data 0x100..
    s = Seed(3, 0, 0x000, 0x080, 0x0a0)
    s.desc(0, 0, 0x100, 16, NEXT, 1)
    s.desc(0, 1, 0x110, 8, NEXT | WRITE, 2)
    s.desc(0, 2, R1 + 0x10, 32, WRITE)
    s.desc(0, 3, 0x140, 4, WRITE)
    s.avail(0)
    s.avail(3)
    s.ram(R1, 0x100)
    s.write(os.path.join(out, 'chain'))

    s = Seed(3, INDIRECT | NOTIFY, 0x000, 0x080, 0x0a0)
    s.desc(0x180, 0, 0x100, 16, NEXT, 2)
    s.desc(0x180, 2, 0x120, 4, NEXT | WRITE, 1)
    s.desc(0x180, 1, R1, 64, WRITE)
    s.desc(0, 5, 0x100, 16, NEXT, 6)
    s.desc(0, 6, 0x180, 48, IND)
    s.avail(5)
    s.desc(0x1c0, 0, R1 + 0x100, 512, WRITE)
    s.desc(0, 1, 0x1c0, 16, IND)
    s.avail(1)
    s.ram(R1, 0x400)
    s.write(os.path.join(out, 'indirect'))

    s = Seed(2, EVENT_IDX | INDIRECT | NOTIFY, 0x000, 0x040, 0x060)
    for i in range(4):
        s.desc(0, i, 0x100 + 8 * i, 8, WRITE if i & 1 else 0)
    for h in (0, 1, 2, 3):
        s.avail(h)
    s.put(0x040 + 4 + 2 * 4, struct.pack('<H', 2))       # used_event
    s.write(os.path.join(out, 'event_idx'))

    s = Seed(2, 0, 0x000, 0x040, 0x060, start=65534)
    for i in range(4):
        s.desc(0, i, 0x100, 4, WRITE)
    for h in (3, 2, 1, 0):
        s.avail(h)
    s.write(os.path.join(out, 'wrap'))

    s = Seed(3, 0, 0x000, 0x080, 0x0a0)
    s.desc(0, 0, 0x100, 4, NEXT, 1)
    s.desc(0, 1, 0x100, 4, NEXT, 0)
    s.avail(0)
    s.write(os.path.join(out, 'loop'))

    # size 128: desc 0x000..0x800, avail 0x800, used 0xa00..0xe06, table 0xf00
    s = Seed(7, INDIRECT | EVENT_IDX, 0x000, 0x800, 0xa00)
    s.desc(0, 0, 0xf00, 16 * 4, IND)
    for i in range(4):
        s.desc(0xf00, i, 0xe80 + i, 1, WRITE | (NEXT if i < 3 else 0), i + 1)
    s.desc(0, 127, 0xe90, 8, 0)
    s.avail(0)
    s.avail(127)
    s.write(os.path.join(out, 'size128'))

if __name__ == '__main__':
    main()
