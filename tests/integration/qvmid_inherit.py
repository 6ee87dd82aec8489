#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmid in libvirt's place in the monitor path, against a live guest
(issue 13 items 1-3).

QVMI_GUEST_DIR names the guest's directory (guest.env: qmp=, pid=).
- --listen-qmp fd:N and --qmp fd:M: sockets made here and inherited, as a
  libvirt <emulator> shim hands them over; the listening path is left in
  place when qvmid exits;
- --listen-qmp systemd: LISTEN_FDS/LISTEN_PID/LISTEN_FDNAMES;
- --qmp PATH --qmp-wait MS: qvmid first, the socket a second later (a
  relay here, whose pid SO_PEERCRED then names), with and without
  --qemu-pid;
- SCM_RIGHTS through the proxy: getfd with a passed fd, then
  dump-guest-memory to fd:NAME, and the file is an ELF core of the guest.
Prints "N passed, N failed, N skipped"."""
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from qvmid_proxy import QVMID, negotiated, report, results  # noqa: E402


def guest_env():
    d = os.environ.get("QVMI_GUEST_DIR")
    if not d:
        return None
    env = {}
    with open(os.path.join(d, "guest.env")) as f:
        for ln in f:
            k, _, v = ln.strip().partition("=")
            env[k] = v
    return env


def listening(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen(8)
    return s


def qmp_connected(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def wait_proxy(path, timeout=60):
    end = time.time() + timeout
    while True:
        try:
            return negotiated(path)
        except (OSError, EOFError):
            if time.time() > end:
                raise
            time.sleep(0.1)


def stop(p):
    p.send_signal(signal.SIGTERM)
    try:
        return p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        return p.wait()


def query_qvmi(q):
    r = q.cmd("query-qvmi", id_="q")
    return r.get("return", {})


def test_inherited(env, tmp):
    lpath = os.path.join(tmp, "inherited.sock")
    lsock = listening(lpath)
    qsock = qmp_connected(env["qmp"])
    p = subprocess.Popen(
        [QVMID, "--qmp", "fd:%d" % qsock.fileno(), "--listen-qmp",
         "fd:%d" % lsock.fileno()],
        pass_fds=(lsock.fileno(), qsock.fileno()))
    qsock.close()  # qvmid holds its own copies
    try:
        q = wait_proxy(lpath)
        r = query_qvmi(q)
        report("inherit: fd:M attach names QEMU's pid (SO_PEERCRED)",
               r.get("qemu-pid") == int(env["pid"]), json.dumps(r)[:300])
        report("inherit: fd:M attach maps shared RAM",
               "shm" in r.get("sources", []), str(r.get("sources")))
        st = q.cmd("query-status", id_=1)
        report("inherit: fd:N proxy forwards", st.get("id") == 1 and
               "return" in st, str(st))
        q.close()
    finally:
        rc = stop(p)
    report("inherit: qvmid exits 0 on SIGTERM", rc == 0, "rc %s" % rc)
    report("inherit: the inherited socket's path is not removed",
           os.path.exists(lpath))
    lsock.close()
    os.unlink(lpath)


def spawn_systemd(args, fds, names):
    """fork + exec with LISTEN_* for the child's own pid, fds at 3.."""
    pid = os.fork()
    if pid == 0:
        try:
            # Out of the way first: an fd may already sit at 3 + i.
            high = [os.dup2(fd, 100 + i) for i, fd in enumerate(fds)]
            for i, fd in enumerate(high):
                os.dup2(fd, 3 + i, inheritable=True)
            env = dict(os.environ, LISTEN_PID=str(os.getpid()),
                       LISTEN_FDS=str(len(fds)), LISTEN_FDNAMES=names)
            os.execve(args[0], args, env)
        finally:
            os._exit(127)
    return pid


def test_systemd(env, tmp):
    a, b = (os.path.join(tmp, n) for n in ("sd-other.sock", "sd-qmp.sock"))
    sa, sb = listening(a), listening(b)
    pid = spawn_systemd([QVMID, "--qmp", env["qmp"], "--listen-qmp",
                         "systemd"], [sa.fileno(), sb.fileno()], "other:qmp")
    try:
        q = wait_proxy(b)
        r = query_qvmi(q)
        report("systemd: LISTEN_FDNAMES picks the fd named qmp",
               r.get("qemu-pid") == int(env["pid"]), json.dumps(r)[:200])
        q.close()
    finally:
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    report("systemd: exits 0, paths left in place",
           os.WEXITSTATUS(status) == 0 and os.path.exists(a) and
           os.path.exists(b), "status %d" % status)
    sa.close()
    sb.close()
    os.unlink(a)
    os.unlink(b)


def relay(lsock, target, stop_ev):
    """Accept one client and pump bytes both ways to target."""
    c, _ = lsock.accept()
    t = qmp_connected(target)
    pair = {c: t, t: c}
    while not stop_ev.is_set():
        r, _, _ = select.select(list(pair), [], [], 0.2)
        for s in r:
            d = s.recv(65536)
            if not d:
                stop_ev.set()
                break
            pair[s].sendall(d)
    c.close()
    t.close()


def test_qmp_wait(env, tmp, qemu_pid):
    rpath = os.path.join(tmp, "late-qemu.sock")
    ppath = os.path.join(tmp, "proxy-%d.sock" % qemu_pid)
    args = [QVMID, "--qmp", rpath, "--qmp-wait", "20000", "--listen-qmp",
            ppath]
    if qemu_pid:
        args += ["--qemu-pid", str(qemu_pid)]
    p = subprocess.Popen(args)
    time.sleep(1.5)  # qvmid is waiting: nothing listens yet
    alive = p.poll() is None
    stop_ev = threading.Event()
    lsock = listening(rpath)
    th = threading.Thread(target=relay, args=(lsock, env["qmp"], stop_ev))
    th.start()
    name = "qmp-wait%s" % (" --qemu-pid" if qemu_pid else "")
    try:
        report("%s: qvmid waits for QEMU to listen" % name, alive)
        q = wait_proxy(ppath)
        r = query_qvmi(q)
        if qemu_pid:
            report("%s: the given pid is used" % name,
                   r.get("qemu-pid") == qemu_pid and
                   "shm" in r.get("sources", []), json.dumps(r)[:300])
        else:
            # The relay is the peer: not QEMU, so no pid, memory over QMP.
            report("%s: a peer that is not QEMU gives no pid" % name,
                   r.get("qemu-pid") == 0 and
                   "shm" not in r.get("sources", []), json.dumps(r)[:300])
        q.close()
    finally:
        rc = stop(p)
        stop_ev.set()
        th.join(10)
        lsock.close()
        os.unlink(rpath)
    report("%s: exits 0" % name, rc == 0, "rc %s" % rc)


def send_with_fd(sock, data, fd):
    sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                           bytes(memoryview(bytearray(
                               fd.to_bytes(4, sys.byteorder)))))])


def test_getfd_dump(env, tmp):
    """getfd through the proxy with a passed fd, then dump-guest-memory to
    fd:NAME: the file must be an ELF core of the guest's RAM."""
    ppath = os.path.join(tmp, "fdproxy.sock")
    out = os.path.join(tmp, "guest.core")
    p = subprocess.Popen([QVMID, "--qmp", env["qmp"], "--listen-qmp", ppath])
    try:
        q = wait_proxy(ppath)
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        req = json.dumps({"execute": "getfd", "arguments":
                          {"fdname": "dumpfd"}, "id": "g"}).encode() + b"\n"
        send_with_fd(q.s, req, fd)
        os.close(fd)
        r = q.line()
        report("fds: getfd through the proxy", r == {"return": {},
                                                     "id": "g"}, str(r))
        q.s.settimeout(300)  # 512 MiB under TCG on a loaded host
        r = q.cmd("dump-guest-memory", {"paging": False,
                                        "protocol": "fd:dumpfd",
                                        "detach": False}, id_="d")
        report("fds: dump-guest-memory to fd:NAME", r == {"return": {},
                                                          "id": "d"}, str(r))
        with open(out, "rb") as f:
            hdr = f.read(64)
        size = os.path.getsize(out)
        mem = int(env.get("mem_bytes", "0"))
        report("fds: the file is an x86-64 ELF core with the guest's RAM",
               hdr[:4] == b"\x7fELF" and hdr[16] == 4 and
               int.from_bytes(hdr[18:20], "little") == 62 and size >= mem,
               "magic %r type %d size %d" % (hdr[:4], hdr[16], size))
        q.close()
        # The core is the guest's: its process list has the ground
        # truth's kernel threads and init (QVMI-GT ps lines).
        qvmi = os.path.join(os.path.dirname(QVMID), "qvmi")
        ps = subprocess.run([qvmi, "--dump", out, "ps"], capture_output=True,
                            text=True, timeout=120)
        got = {(int(ln.split()[0]), ln.split()[5]) for ln in
               ps.stdout.splitlines()[1:] if len(ln.split()) >= 6}
        names = {n.strip("[]") for _, n in got}
        with open(env["serial"], errors="replace") as f:
            # "QVMI-GT ps PID PPID STATE NAME"; kernel threads: PPID 2
            gt = [ln.split() for ln in f if ln.startswith("QVMI-GT ps ")]
        # kworkers rename themselves as they run (QEMU-FACTS.md)
        # and comm holds 15 bytes (TASK_COMM_LEN)
        kthreads = {w[5][:15] for w in gt if len(w) == 6 and w[3] == "2" and
                    not w[5].startswith("kworker")}
        report("fds: qvmi ps on the core finds init and the kernel threads",
               ps.returncode == 0 and (1, "init") in got and kthreads and
               kthreads <= names,
               "rc %d, %d tasks, missing %s" % (
                   ps.returncode, len(got), sorted(kthreads - names)[:5]))
    finally:
        rc = stop(p)
        if os.path.exists(out):
            os.unlink(out)
    report("fds: exits 0", rc == 0, "rc %s" % rc)


def main():
    env = guest_env()
    if not env or not os.path.exists(QVMID):
        results["skipped"] += 1
        print("SKIP no guest (QVMI_GUEST_DIR) or no qvmid")
    else:
        only = sys.argv[1:]
        with tempfile.TemporaryDirectory(prefix="qvmi-inherit-") as tmp:
            for name, fn in (("inherited", lambda: test_inherited(env, tmp)),
                             ("systemd", lambda: test_systemd(env, tmp)),
                             ("wait", lambda: test_qmp_wait(env, tmp, 0)),
                             ("wait-pid", lambda: test_qmp_wait(
                                 env, tmp, int(env["pid"]))),
                             ("fds", lambda: test_getfd_dump(env, tmp))):
                if only and name not in only:
                    continue
                try:
                    fn()
                except Exception as e:  # one failure must not hide others
                    report(name, False, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed, %d skipped" % (
        results["passed"], results["failed"], results["skipped"]))
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
