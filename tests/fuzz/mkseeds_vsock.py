#!/usr/bin/env python3
"""Regenerate the committed seed corpus tests/fuzz/corpus/vsock/ for
fuzz_vsock (format in fuzz_common.h; header byte 12 bit 0 runs the device,
bit 1 EVENT_IDX, bytes 14-15 the RX ring, see fuzz_vsock.c). Each seed is a
TX ring of packets as Linux's virtio-vsock driver sends them (guest CID 3),
good conversations and each kind of malformed packet, with RX buffers of
4 KiB + header posted; one carries CONNECT lines for the line parser."""
import os
import struct

NEXT, WRITE = 1, 2
REQUEST, RESPONSE, RST, SHUTDOWN, RW, CREDIT_UPDATE, CREDIT_REQUEST = 1, 2, 3, 4, 5, 6, 7


def pkt(op, sport=1234, dport=1, ln=0, flags=0, buf_alloc=262144, fwd=0, src=3, dst=2, typ=1):
    return struct.pack('<QQIIIHHIII', src, dst, sport, dport, ln, typ, op, flags, buf_alloc, fwd)


class Ring:
    """TX ring of `size`: desc at 0, avail at 16*size, used 0x400 after it;
    the RX ring (same size, as fuzz_vsock lays it out) 0x800 after the
    available ring; buffers after both"""

    def __init__(self, flags=1, nrx=8, log2=5):
        self.log2 = log2
        self.size = size = 1 << log2
        self.flags = flags
        self.avail = 16 * size
        self.used = self.avail + 0x400
        self.rx = self.avail + 0x800
        self.mem = bytearray(0)
        self.nd = 0
        self.idx = 0
        self.data = (self.rx + 26 * size + 0x100) & ~15
        rx_avail = self.rx + 16 * size
        for i in range(nrx):        # RX buffers: one writable descriptor each
            a = self.buf(b'\0' * (4096 + 44))
            self.put(self.rx + 16 * i, struct.pack('<QIHH', a, 4096 + 44, WRITE, 0))
            self.put(rx_avail + 4 + 2 * i, struct.pack('<H', i))
        self.put(rx_avail + 2, struct.pack('<H', nrx))

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
        self.put(self.avail + 4 + 2 * (self.idx % self.size), struct.pack('<H', head))
        self.idx += 1
        self.put(self.avail + 2, struct.pack('<H', self.idx))

    def chain_at(self, parts):
        """parts: [(gpa, len)] already in memory, device-readable"""
        head = self.nd
        for i, (a, ln) in enumerate(parts):
            fl = NEXT if i + 1 < len(parts) else 0
            self.put(16 * self.nd, struct.pack('<QIHH', a, ln, fl, self.nd + 1))
            self.nd += 1
        self.put(self.avail + 4 + 2 * (self.idx % self.size), struct.pack('<H', head))
        self.idx += 1
        self.put(self.avail + 2, struct.pack('<H', self.idx))

    def send(self, *a, data=b'', **k):
        if data:
            self.chain([(pkt(*a, ln=len(data), **k), False), (data, False)])
        else:
            self.chain([(pkt(*a, **k), False)])

    def write(self, path):
        assert len(self.mem) <= 0xfff0
        h = struct.pack('<BBHHHHHBBH', self.log2, 0, 0, self.avail, self.used, 0,
                        len(self.mem), self.flags, 0, self.rx)
        with open(path, 'wb') as f:
            f.write(h + bytes(self.mem))


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'vsock')
    os.makedirs(out, exist_ok=True)

    # a guest connect to the listener at <uds>_1: data, credit, shutdown, reset
    r = Ring(flags=3)
    r.send(REQUEST, 1234, 1)
    r.send(RW, 1234, 1, data=bytes(range(200)))
    r.chain([(pkt(RW, 1234, 1, ln=100)[:20], False), (pkt(RW, 1234, 1, ln=100)[20:], False),
             (bytes(60), False), (bytes(40), False)])       # header split, payload in two
    r.send(CREDIT_REQUEST, 1234, 1)
    r.send(CREDIT_UPDATE, 1234, 1, fwd=300)
    r.send(SHUTDOWN, 1234, 1, flags=2)
    r.send(SHUTDOWN, 1234, 1, flags=3)
    r.send(REQUEST, 1235, 1)
    r.send(RST, 1235, 1)
    r.send(REQUEST, 1236, 2)                               # nobody at <uds>_2: RST
    r.write(os.path.join(out, 'guest_connect'))

    # each kind of bad packet
    r = Ring(flags=1)
    r.chain([(pkt(RW)[:30], False)])                        # shorter than the header
    r.send(REQUEST, dst=7)                                  # another CID
    r.send(REQUEST, src=4)                                  # spoofed source
    r.send(RW, 1, 1, data=b'x' * 10, typ=2)                 # seqpacket
    r.send(42)                                              # unknown op
    r.send(0)
    r.chain([(pkt(RW, ln=100), False), (b'abc', False)])    # len mismatch
    r.chain([(pkt(RW, ln=0xffffffff), False)])              # len huge
    r.send(REQUEST, data=b'payload')                        # payload on a control op
    r.chain([(pkt(REQUEST), False), (b'\0' * 8, True)])     # writable buffer
    r.send(RW, 999, 999, data=b'no such connection')
    r.send(RESPONSE, 5, 1 << 30)                            # RESPONSE for nothing
    r.write(os.path.join(out, 'bad_packets'))

    # a credit overrun on one connection: more than buf_alloc in flight
    r = Ring(flags=1, nrx=2, log2=8)
    r.send(REQUEST, 77, 1)
    blob = r.buf(bytes(range(256)) * 16)                    # 4 KiB, each payload 16 times
    for _ in range(8):
        r.chain_at([(r.buf(pkt(RW, 77, 1, ln=65536)), 44)] + [(blob, 4096)] * 16)
    r.write(os.path.join(out, 'credit_overrun'))

    # rings laid over each other: the TX used ring's flags are the available
    # ring's index, so the device's own NO_NOTIFY write makes a buffer
    # "arrive" that is never there (this looped for ever once)
    with open(os.path.join(out, 'ring_overlap'), 'wb') as f:
        f.write(struct.pack('<BBHHHHHBBH', 7, 0, 0, 0x0e, 0x10, 0x14, 0xc00, 1, 0, 0x800))
        f.write(bytes(0xc00))

    # CONNECT lines in first buffers (the line parser), no device
    r = Ring(flags=0, nrx=0)
    for line in (b'CONNECT 5000\n', b'connect 1\nrest', b'CONNECT  42\n', b'CONNECT 5000',
                 b'GET / HTTP/1.1\r\n', b'CONNECT ' + b'1' * 30 + b'\n', b'CONNECT 4294967295\n'):
        r.chain([(line, False)])
    r.write(os.path.join(out, 'connect_lines'))


if __name__ == '__main__':
    main()
