#!/usr/bin/env python3
"""lime_check.py LIME ELF: a LiME file checked against the LiME format as
LiME itself defines it (lime-forensics 1.9.1, src/lime.h:
lime_mem_range_header {u32 magic 0x4C694D45, u32 version 1, u64 s_addr,
u64 e_addr (inclusive), u8 reserved[8]}, packed, then e_addr - s_addr + 1
bytes of the range, header after header to the end of the file; main.c
writes the ranges in ascending order) and, byte for byte, against an ELF
core of the same paused VM written by another tool (QEMU's
dump-guest-memory, paging false): every PT_LOAD with data must be in the
LiME file with the same bytes.  This is what a LiME reader (Volatility's
LimeLayer) relies on.  Prints "lime ok RANGES BYTES" or the first fault,
exit status 0 or 1.
"""
import struct
import sys

MAGIC, VERSION, HDR = 0x4C694D45, 1, 32


def lime_ranges(f, size):
    ranges, off, last_end = [], 0, -1
    while off < size:
        f.seek(off)
        h = f.read(HDR)
        if len(h) != HDR:
            sys.exit(f"lime: header cut at {off:#x}")
        magic, ver, s, e = struct.unpack_from("<IIQQ", h)
        if magic != MAGIC or ver != VERSION:
            sys.exit(f"lime: bad magic/version {magic:#x}/{ver} at {off:#x}")
        if h[24:32] != bytes(8):
            sys.exit(f"lime: reserved bytes not zero at {off:#x}")
        if e < s or s <= last_end:
            sys.exit(f"lime: range {s:#x}-{e:#x} out of order at {off:#x}")
        n = e - s + 1
        if off + HDR + n > size:
            sys.exit(f"lime: range {s:#x}-{e:#x} runs past the file")
        ranges.append((s, n, off + HDR))
        off += HDR + n
        last_end = e
    return ranges


def elf_loads(f):
    eh = f.read(64)
    if eh[:4] != b"\x7fELF" or eh[4] != 2:
        sys.exit("elf: not ELF64")
    phoff, = struct.unpack_from("<Q", eh, 32)
    phentsize, phnum = struct.unpack_from("<HH", eh, 54)
    loads = []
    for i in range(phnum):
        f.seek(phoff + i * phentsize)
        t, _, off, _, pa, filesz, _, _ = struct.unpack("<IIQQQQQQ", f.read(56))
        if t == 1 and filesz:
            loads.append((pa, filesz, off))
    return loads


def main():
    with open(sys.argv[1], "rb") as lf, open(sys.argv[2], "rb") as ef:
        lf.seek(0, 2)
        ranges = lime_ranges(lf, lf.tell())
        compared = 0
        for pa, n, eoff in elf_loads(ef):
            pos = 0
            while pos < n:
                r = [x for x in ranges if x[0] <= pa + pos < x[0] + x[1]]
                if not r:
                    sys.exit(f"lime: {pa + pos:#x} of the ELF core is missing")
                s, rn, roff = r[0]
                chunk = min(n - pos, s + rn - (pa + pos), 1 << 22)
                lf.seek(roff + pa + pos - s)
                ef.seek(eoff + pos)
                if lf.read(chunk) != ef.read(chunk):
                    sys.exit(f"lime: bytes differ in {pa + pos:#x}+{chunk:#x}")
                pos += chunk
                compared += chunk
    print("lime ok", len(ranges), compared)


main()
