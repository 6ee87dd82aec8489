#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmid's QMP proxy against a live guest.

QVMI_GUEST_DIR names a directory with guest.env holding qmp=PATH (QEMU's
QMP socket) and shm=PATH (the guest's shared RAM file, 512 MiB: file offset
= GPA).  Starts build/qvmid --qmp <qmp> --listen-qmp <tmp>, then plays
LibVMI's sequence through the proxy: greeting, qmp_capabilities,
pmemaccess, page reads compared with the shm file, quit; a second client
after the first; 16 concurrent clients; query-status; stop/cont events to
every client; SIGTERM removes both sockets.  Prints "N passed, N failed,
N skipped"."""
import json
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
QVMID = os.path.join(HERE, "..", "..", os.environ.get("BUILD", "build"), "qvmid")
results = {"passed": 0, "failed": 0, "skipped": 0}


def report(name, ok, why=""):
    results["passed" if ok else "failed"] += 1
    print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + why) if why else ""))
    sys.stdout.flush()


class Qmp:
    def __init__(self, path, timeout=10):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""
        self.events = []

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(65536)
            if not d:
                raise EOFError("QMP EOF")
            self.buf += d
        ln, self.buf = self.buf.split(b"\n", 1)
        return json.loads(ln)

    def greeting(self):
        return self.line()

    def cmd(self, name, args=None, id_=None):
        msg = {"execute": name}
        if args is not None:
            msg["arguments"] = args
        if id_ is not None:
            msg["id"] = id_
        self.s.sendall(json.dumps(msg).encode() + b"\n")
        while True:
            m = self.line()
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def wait_event(self, name, timeout=10):
        end = time.time() + timeout
        while time.time() < end:
            for i, e in enumerate(self.events):
                if e["event"] == name:
                    return self.events.pop(i)
            self.s.settimeout(max(0.1, end - time.time()))
            try:
                m = self.line()
            except socket.timeout:
                break
            if "event" in m:
                self.events.append(m)
        return None

    def close(self):
        self.s.close()


def negotiated(path):
    q = Qmp(path)
    g = q.greeting()
    assert "QMP" in g, g
    r = q.cmd("qmp_capabilities")
    assert r == {"return": {}}, r
    return q


def pmem_read(sock, gpa, n):
    sock.sendall(struct.pack("=QQQ", 1, gpa, n))
    buf = b""
    while len(buf) < n + 1:
        d = sock.recv(n + 1 - len(buf))
        if not d:
            raise EOFError("pmem EOF")
        buf += d
    return buf[:n], buf[n]


def connect(path, timeout=10):
    end = time.time() + timeout
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return s
        except OSError:
            s.close()
            if time.time() > end:
                raise
            time.sleep(0.05)


def libvmi_session(proxy, pm_path, shm, rnd, pages=64):
    """LibVMI's KVM driver: QMP pmemaccess, then reads on the socket."""
    q = negotiated(proxy)
    r = q.cmd("pmemaccess", {"path": pm_path}, id_="libvmi")
    if r.get("return") != {} or r.get("id") != "libvmi":
        raise AssertionError("pmemaccess: %r" % r)
    s = connect(pm_path)
    bad = 0
    with open(shm, "rb") as f:
        for _ in range(pages):
            # The kernel and BIOS areas change little while we compare.
            gpa = rnd.randrange(0x1000000, 0x2000000, 4096)
            data, st = pmem_read(s, gpa, 4096)
            f.seek(gpa)
            want = f.read(4096)
            if st != 1 or (data != want and
                           sum(a != b for a, b in zip(data, want)) > 64):
                bad += 1
    s.sendall(struct.pack("=QQQ", 0, 0, 0))  # quit
    s.close()
    q.close()
    return bad


def main():
    gdir = os.environ.get("QVMI_GUEST_DIR")
    if not gdir or not os.path.exists(os.path.join(gdir, "guest.env")):
        print("SKIP qvmid_proxy: QVMI_GUEST_DIR with guest.env not set")
        results["skipped"] += 1
        return
    env = dict(l.strip().split("=", 1) for l in
               open(os.path.join(gdir, "guest.env")) if "=" in l)
    qmp, shm = env["qmp"], env["shm"]
    tmp = tempfile.mkdtemp(prefix="qvmid-proxy-")
    proxy = os.path.join(tmp, "qmp.sock")
    log = open(os.path.join(tmp, "qvmid.log"), "w")
    d = subprocess.Popen([QVMID, "--qmp", qmp, "--listen-qmp", proxy, "-v"],
                         stdout=log, stderr=subprocess.STDOUT)
    rnd = random.Random(7)
    pm = [os.path.join(tmp, "pm%d.sock" % i) for i in range(20)]
    try:
        end = time.time() + 20
        while not os.path.exists(proxy) and time.time() < end:
            time.sleep(0.05)
        st = os.stat(proxy)
        report("proxy socket 0600", (st.st_mode & 0o777) == 0o600,
               oct(st.st_mode))

        q = Qmp(proxy)
        g = q.greeting()
        report("greeting is QEMU's", g.get("QMP", {}).get("version", {})
               .get("qemu", {}).get("major") is not None, str(g))
        r = q.cmd("query-status", id_=1)
        report("command before negotiation", r == {"id": 1, "error": {
            "class": "CommandNotFound", "desc":
            "Expecting capabilities negotiation with 'qmp_capabilities'"}},
            str(r))
        q.close()

        bad = libvmi_session(proxy, pm[0], shm, rnd)
        report("LibVMI sequence: 64 pages equal the shm file", bad == 0,
               "%d differ" % bad)
        bad = libvmi_session(proxy, pm[1], shm, rnd)
        report("second client after the first quit", bad == 0,
               "%d differ" % bad)

        errs = []

        def worker(i):
            try:
                b = libvmi_session(proxy, pm[2 + i], shm,
                                   random.Random(i), pages=16)
                if b:
                    errs.append("client %d: %d pages differ" % (i, b))
            except Exception as e:  # noqa: BLE001 - reported below
                errs.append("client %d: %r" % (i, e))
        ts = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        report("16 concurrent clients", not errs, "; ".join(errs[:3]))

        a, b = negotiated(proxy), negotiated(proxy)
        r = a.cmd("query-status", id_="s")
        report("query-status running", r.get("return", {}).get("status") ==
               "running" and r.get("id") == "s", str(r))
        r = a.cmd("stop", id_="stop")
        ok = r == {"return": {}, "id": "stop"}
        ea, eb = a.wait_event("STOP"), b.wait_event("STOP")
        report("stop: STOP to every client", ok and ea and eb,
               "%r %r %r" % (r, ea, eb))
        r = b.cmd("query-status", id_=2)
        report("query-status paused", r.get("return", {}).get("status") ==
               "paused", str(r))
        r = b.cmd("cont", id_=[3])
        ea, eb = a.wait_event("RESUME"), b.wait_event("RESUME")
        report("cont: RESUME to every client",
               r == {"return": {}, "id": [3]} and ea and eb, str(r))
        gone = [p for p in pm[:18] if os.path.exists(p)]
        report("each session's pmemaccess socket removed after it",
               not gone, str(gone))
        r = a.cmd("pmemaccess", {"path": pm[18]})
        hold = connect(pm[18])
        data, st = pmem_read(hold, 0x1000000, 4096)
        r = a.cmd("query-qvmi", id_="q")
        ret = r.get("return", {})
        pms = ret.get("pmemaccess", [])
        report("query-qvmi", ret.get("qmp-clients") == 2 and len(pms) == 1
               and pms[0].get("path") == pm[18] and
               pms[0].get("clients") == 1 and pms[0].get("reads") == 1 and
               "shm" in ret.get("sources", []), str(r)[:300])
        hold.close()
        r = a.cmd("query-commands")
        names = [c["name"] for c in r.get("return", [])]
        report("query-commands lists ours and QEMU's",
               "pmemaccess" in names and "query-qvmi" in names and
               "query-status" in names, str(len(names)))
        a.close()
        b.close()
    except Exception as e:  # noqa: BLE001
        report("exception", False, repr(e))
    finally:
        d.send_signal(signal.SIGTERM)
        try:
            rc = d.wait(10)
        except subprocess.TimeoutExpired:
            d.kill()
            rc = -1
        log.close()
        report("SIGTERM: clean exit", rc == 0, "rc %s" % rc)
        left = [p for p in [proxy] + pm if os.path.exists(p)]
        report("sockets removed", not left, str(left))
        if results["failed"]:
            print(open(os.path.join(tmp, "qvmid.log")).read()[-3000:])


if __name__ == "__main__":
    main()
    print("%d passed, %d failed, %d skipped" % (results["passed"],
          results["failed"], results["skipped"]))
    sys.exit(1 if results["failed"] else 0)
