#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/net/ for fuzz_net
(format in fuzz_common.h; bytes 12-13 of the header pick the negotiated
features and max_virtqueue_pairs, see fuzz_net.c). Each seed is a ring of
TX chains or control commands like a Linux driver posts, good ones and
each kind of malformed one."""
import os
import struct

NEXT, WRITE, IND = 1, 2, 4
CSUM, TSO4, TSO6, UFO, MQ = 1, 2, 4, 8, 16


def hdr(flags=0, gso=0, hdr_len=0, gso_size=0, cs=0, co=0, nb=0):
    return struct.pack('<BBHHHHH', flags, gso, hdr_len, gso_size, cs, co, nb)


def frame(n, seed=0):
    return bytes((i * 7 + seed) & 0xff for i in range(n))


class Ring:
    """size-32 ring: desc 0x000, avail 0x200, used 0x280, buffers from 0x400"""

    def __init__(self, feats, max_pairs=4, log2=5):
        self.size = 1 << log2
        self.feats, self.max_pairs = feats, max_pairs
        self.mem = bytearray(0x400)
        self.nd = 0
        self.idx = 0
        self.data = 0x400

    def put(self, off, b):
        end = off + len(b)
        if end > len(self.mem):
            self.mem.extend(b'\0' * (end - len(self.mem)))
        self.mem[off:end] = b

    def buf(self, b):
        a = self.data
        self.put(a, b)
        self.data += (len(b) + 15) & ~15
        return a

    def chain(self, parts):
        """parts: [(bytes, writable)]; one descriptor each"""
        head = self.nd
        for i, (b, w) in enumerate(parts):
            a = self.buf(b if b else b'\0')
            fl = (WRITE if w else 0) | (NEXT if i + 1 < len(parts) else 0)
            self.put(16 * self.nd, struct.pack('<QIHH', a, len(b), fl, self.nd + 1))
            self.nd += 1
        self.put(0x200 + 4 + 2 * (self.idx % self.size), struct.pack('<H', head))
        self.idx += 1
        self.put(0x200 + 2, struct.pack('<H', self.idx))

    def write(self, path):
        h = struct.pack('<BBHHHHHBBBx', 5, 0, 0x000, 0x200, 0x280, 0, len(self.mem),
                        self.feats, self.max_pairs, 0)
        with open(path, 'wb') as f:
            f.write(h + bytes(self.mem))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'net')
    os.makedirs(out, exist_ok=True)
    allf = CSUM | TSO4 | TSO6 | UFO | MQ

    r = Ring(allf)
    r.chain([(hdr(), False), (frame(60), False)])
    r.chain([(hdr(1, 0, 0, 0, 34, 16) + frame(80, 1), False)])
    r.chain([(hdr()[:5], False), (hdr()[5:], False), (frame(20, 2), False), (frame(40, 3), False)])
    r.chain([(hdr(1, 1, 54, 1448, 34, 16), False), (frame(200, 4), False)])
    r.write(os.path.join(out, 'tx_good'))

    r = Ring(CSUM)
    r.chain([(hdr()[:8], False)])                                # shorter than the header
    r.chain([(hdr(), False), (frame(10), False)])                # no Ethernet header
    r.chain([(hdr(1, 4, 0, 1400, 34, 16), False), (frame(100), False)])   # TSO6 not negotiated
    r.chain([(hdr(1, 0x81, 0, 1400, 34, 16), False), (frame(100), False)])  # ECN
    r.chain([(hdr(1, 0, 0, 0, 60, 50), False), (frame(100), False)])        # csum past the end
    r.chain([(hdr(2), False), (frame(60), False)])               # DATA_VALID on TX
    r.chain([(hdr(), False), (frame(60), False), (b'\0' * 8, True)])        # writable part
    r.write(os.path.join(out, 'tx_bad'))

    r = Ring(allf, 4)
    r.chain([(bytes([4, 0]), False), (struct.pack('<H', 2), False), (b'\xee', True)])
    r.chain([(bytes([4, 0]) + struct.pack('<H', 9), False), (b'\xee', True)])
    r.chain([(bytes([0, 0, 1]), False), (b'\xee', True)])
    r.chain([(bytes([4]), False), (b'\xee', True)])
    r.chain([(bytes([4, 0, 1, 0]), False)])
    r.write(os.path.join(out, 'ctrl'))

    # frames of 64 KiB and 64 KiB + 1: descriptors reusing one 0x4000-byte buffer
    r = Ring(allf)
    h = r.buf(hdr())
    big = r.buf(frame(0x4000, 5))
    for n, tail in ((0, 0), (1, 1)):
        head = r.nd
        parts = [(h, 12)] + [(big, 0x4000)] * 4 + ([(big, tail)] if tail else [])
        for i, (a, ln) in enumerate(parts):
            fl = NEXT if i + 1 < len(parts) else 0
            r.put(16 * r.nd, struct.pack('<QIHH', a, ln, fl, r.nd + 1))
            r.nd += 1
        r.put(0x200 + 4 + 2 * (r.idx % r.size), struct.pack('<H', head))
        r.idx += 1
        r.put(0x200 + 2, struct.pack('<H', r.idx))
    r.write(os.path.join(out, 'tx_64k'))


if __name__ == '__main__':
    main()
