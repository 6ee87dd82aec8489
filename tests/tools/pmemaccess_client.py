#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""An independent pmemaccess client, written only from docs/PMEMACCESS.md,
run against a real qvmid next to a real guest whose RAM is a shared
memory-backend-file: the file is the oracle (file offset == GPA for a
512 MiB guest).

  pmemaccess_client.py --socket S --shm /dev/shm/F [--pause-qmp Q]
                       [--banner-gpa A] [--reads N] [--kill-qemu PID
                       --qvmid-pid PID [--kill-only]]

--pause-qmp: a second QMP socket of the same QEMU; the guest is stopped
while the oracle comparisons run, so memory cannot change between the two
reads.  Without it a mismatch is re-read a few times before it counts.
Prints "N passed, N failed, N skipped" last; exit status 1 on failures.
"""
import argparse
import json
import os
import random
import socket
import struct
import sys
import time

READ, WRITE, QUIT = 1, 2, 0
MAX_TRANSFER = 1 << 20


class Pmem:
    def __init__(self, path, timeout=10.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)

    def close(self):
        self.s.close()

    def req(self, typ, addr, length):
        # 24 bytes, native byte order: u64 type, u64 address, u64 length
        self.s.sendall(struct.pack("=QQQ", typ, addr, length))

    def recv_exact(self, n):
        """n bytes, or fewer if the server closed the connection."""
        chunks, got = [], 0
        while got < n:
            b = self.s.recv(min(n - got, 1 << 20))
            if not b:
                break
            chunks.append(b)
            got += len(b)
        return b"".join(chunks)

    def read(self, addr, length):
        """(data, status); status None on EOF."""
        self.req(READ, addr, length)
        r = self.recv_exact(length + 1)
        if len(r) < length + 1:
            return r, None
        return r[:length], r[length]

    def write(self, addr, data):
        self.req(WRITE, addr, len(data))
        self.s.sendall(data)
        r = self.recv_exact(1)
        return r[0] if r else None


class Qmp:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(path)
        self.f = self.s.makefile("rwb")
        self.f.readline()  # greeting
        self.cmd("qmp_capabilities")

    def cmd(self, name):
        self.f.write(json.dumps({"execute": name}).encode() + b"\n")
        self.f.flush()
        while True:
            msg = json.loads(self.f.readline())
            if "return" in msg or "error" in msg:
                return msg


class Results:
    def __init__(self):
        self.passed = self.failed = self.skipped = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failed += 1
            print(f"FAIL {name} {detail}")

    def skip(self, name, why):
        self.skipped += 1
        print(f"SKIP {name}: {why}")


def shm_read(fd, addr, length):
    return os.pread(fd, length, addr)


def find_banner(p, ram_size):
    """Scan guest RAM through pmemaccess in max-size reads."""
    pat = b"Linux version "
    tail = b""
    for base in range(0, ram_size, MAX_TRANSFER):
        data, st = p.read(base, MAX_TRANSFER)
        if st != 1:
            continue
        buf = tail + data
        i = buf.find(pat)
        if i >= 0:
            return base - len(tail) + i
        tail = data[-(len(pat) - 1):]
    return None


def compare(p, fd, addr, length, retries):
    for _ in range(retries):
        data, st = p.read(addr, length)
        if st == 1 and data == shm_read(fd, addr, length):
            return True
    return False


def test_banner(p, fd, args, res, retries):
    gpa = args.banner_gpa
    if gpa is None:
        gpa = find_banner(p, args.ram_size)
    if gpa is None:
        res.check("banner found", False, "no 'Linux version' in RAM")
        return
    data, st = p.read(gpa, 256)
    text = data.split(b"\n")[0].decode(errors="replace")
    print(f"  banner at 0x{gpa:x}: {text[:100]}")
    res.check("banner read", st == 1 and data.startswith(b"Linux version"))
    res.check("banner matches shm", compare(p, fd, gpa, 256, retries))


def find_scratch(p, fd):
    """The last 64 bytes of an all-zero page in low memory.  Linux reserves
    the first 1 MiB of RAM for the firmware (x86 setup since v5.13), so the
    page allocator never hands these pages out; a zero page there is unused
    for the few milliseconds of the test, and is restored afterwards."""
    for page in range(0x90000, 0x10000, -0x1000):
        data, st = p.read(page, 4096)
        if st == 1 and data == bytes(4096) and \
                shm_read(fd, page, 4096) == bytes(4096):
            return page + 4096 - 64
    return None


def test_write(p, fd, res):
    at = find_scratch(p, fd)
    if at is None:
        res.skip("write/readback", "no all-zero low page")
        return
    pat = bytes(random.randrange(256) for _ in range(64))
    res.check("write status", p.write(at, pat) == 1)
    data, st = p.read(at, 64)
    res.check("write read back", st == 1 and data == pat)
    res.check("write visible in shm", shm_read(fd, at, 64) == pat)
    res.check("restore", p.write(at, bytes(64)) == 1)
    res.check("restored in shm", shm_read(fd, at, 64) == bytes(64))


def test_workload(p, fd, args, res, retries):
    sizes = [1, 8, 64, 4096, 4096, 4096, 65536, MAX_TRANSFER]
    bad = 0
    t0 = time.monotonic()
    for _ in range(args.reads):
        n = random.choice(sizes)
        if n == 65536:
            n = random.randrange(1, 65536)
        addr = random.randrange(0x100000, args.ram_size - n)
        if not compare(p, fd, addr, n, retries):
            bad += 1
            print(f"  mismatch at 0x{addr:x}+{n}")
    dt = time.monotonic() - t0
    res.check(f"random reads x{args.reads} ({dt:.2f} s)", bad == 0,
              f"{bad} mismatches")


def test_edges(path, args, res):
    p = Pmem(path)
    data, st = p.read(args.ram_size + 0x1000, 100)
    res.check("beyond RAM: zeros + status 0", st == 0 and data == bytes(100))
    # The IOAPIC's MMIO page (pc and q35): not RAM, never to be read.
    # (0xa0000 is no hole: with -nodefaults there is no VGA, and QEMU 7.2's
    # flat view shows ram0 over [0, 0xc3000).)
    data, st = p.read(0xfec00000, 16)
    res.check("IOAPIC MMIO: zeros + status 0", st == 0 and data == bytes(16))
    data, st = p.read((1 << 64) - 8, 16)
    res.check("wrapping range: status 0", st == 0 and data == bytes(16))
    p.req(7, 0, 16)
    res.check("unknown type: one 0 byte", p.recv_exact(1) == b"\0")
    data, st = p.read(0x1000, 0)
    res.check("length 0: status 1", st == 1 and data == b"")
    p.req(READ, 0, 1 << 63)
    res.check("oversized read: EOF", p.recv_exact(1) == b"")
    p.close()
    p = Pmem(path)  # the server goes on after all that
    p.req(QUIT, 0, 0)
    res.check("quit: EOF", p.recv_exact(1) == b"")
    p.close()


def test_kill(path, args, res):
    """Kill QEMU under a stream of reads: the client must see a failure
    status or EOF (or more successes: shared RAM outlives QEMU) and qvmid
    must exit by itself, removing its socket; nothing may hang."""
    p = Pmem(path, timeout=5.0)
    outcome, killed_at = "none", None
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 10:
            if killed_at is None and time.monotonic() - t0 > 0.2:
                os.kill(args.kill_qemu, 9)
                killed_at = time.monotonic()
            data, st = p.read(0x100000, MAX_TRANSFER)
            if st is None:
                outcome = "eof"
                break
            if st == 0:
                outcome = "fail-status"
                break
    except (ConnectionError, socket.timeout) as e:
        outcome = type(e).__name__
    res.check(f"QEMU killed mid-read: client saw {outcome}",
              outcome in ("eof", "fail-status", "ConnectionResetError",
                          "BrokenPipeError"))
    gone = False
    for _ in range(100):
        try:
            os.kill(args.qvmid_pid, 0)
        except ProcessLookupError:
            gone = True
            break
        time.sleep(0.05)
    res.check("qvmid exited after QEMU died", gone)
    res.check("qvmid removed its socket", not os.path.exists(path))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--socket", required=True)
    ap.add_argument("--shm", required=True)
    ap.add_argument("--ram-size", type=lambda s: int(s, 0), default=512 << 20)
    ap.add_argument("--banner-gpa", type=lambda s: int(s, 0))
    ap.add_argument("--pause-qmp")
    ap.add_argument("--reads", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--kill-qemu", type=int)
    ap.add_argument("--qvmid-pid", type=int)
    ap.add_argument("--kill-only", action="store_true",
                    help="only the QEMU-killed test (a throwaway VM)")
    args = ap.parse_args()
    random.seed(args.seed)
    res = Results()
    if args.kill_only:
        test_kill(args.socket, args, res)
        print(f"{res.passed} passed, {res.failed} failed, "
              f"{res.skipped} skipped")
        return 1 if res.failed else 0
    fd = os.open(args.shm, os.O_RDONLY)
    qmp = Qmp(args.pause_qmp) if args.pause_qmp else None
    retries = 1 if qmp else 5
    p = Pmem(args.socket)
    try:
        if qmp:
            qmp.cmd("stop")
        test_banner(p, fd, args, res, retries)
        test_workload(p, fd, args, res, retries)
    finally:
        if qmp:
            qmp.cmd("cont")
    test_write(p, fd, res)
    p.close()
    test_edges(args.socket, args, res)
    # The kill test ends the VM: test-pmem.sh runs it on a throwaway QEMU
    # (--kill-only), not on the shared guest this run uses.
    if args.kill_qemu and args.qvmid_pid:
        test_kill(args.socket, args, res)
    print(f"{res.passed} passed, {res.failed} failed, {res.skipped} skipped")
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
