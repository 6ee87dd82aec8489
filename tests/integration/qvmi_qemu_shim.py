#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The libvirt <emulator> shim, build/qvmi-qemu, started the way libvirt
9.0 starts QEMU: a pre-bound listening monitor socket passed as
-chardev socket,id=charmonitor,fd=N,server=on,wait=off, QEMU at -S under
-sandbox spawn=deny, one connection to the monitor.  Needs only QEMU (a
64 MiB pc machine with no kernel: SeaBIOS); no libvirt (see libvirt.sh
for the real libvirtd).  Prints "N passed, N failed, N skipped"."""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "..", os.environ.get("BUILD", "build"))
SHIM = os.path.join(BUILD, "qvmi-qemu")
res = {"passed": 0, "failed": 0, "skipped": 0}


def report(name, ok, why=""):
    res["passed" if ok else "failed"] += 1
    print("%s shim: %s%s" % ("PASS" if ok else "FAIL", name,
                             (": " + why) if why else ""))
    sys.stdout.flush()


class Mon:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(60)
        self.s.connect(path)
        self.f = self.s.makefile("rb")
        self.events = []

    def line(self):
        ln = self.f.readline()
        if not ln:
            raise EOFError("monitor EOF")
        return json.loads(ln)

    def cmd(self, name, args=None, id_=None):
        o = {"execute": name}
        if args is not None:
            o["arguments"] = args
        if id_ is not None:
            o["id"] = id_
        self.s.sendall(json.dumps(o).encode() + b"\n")
        while True:
            m = self.line()
            if "event" in m:
                self.events.append(m["event"])
                continue
            return m


def qvmids(tag):
    out = subprocess.run(["pgrep", "-af", "qvmid --qmp fd:"],
                         capture_output=True, text=True).stdout
    return [ln for ln in out.splitlines() if tag in ln]


def run(tmp):
    conf = os.path.join(tmp, "qvmi-qemu.conf")
    key = os.path.join(tmp, "session.key")
    fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, os.urandom(32))
    os.close(fd)
    with open(conf, "w") as f:
        f.write("# test config\nqvmid = %s\npmemaccess_dir = %s\n"
                "session_dir = %s\nsession_key = %s\ngdb_dir = %s\n" %
                (os.path.join(BUILD, "qvmid"), tmp, tmp, key, tmp))
    mon = os.path.join(tmp, "monitor.sock")
    lsock = socket.socket(socket.AF_UNIX)
    lsock.bind(mon)
    lsock.listen(1)
    # The probe libvirt runs first: no monitor chardev, passed untouched.
    v = subprocess.run([SHIM, "-version"], capture_output=True, text=True,
                       env=dict(os.environ, QVMI_QEMU_CONF=conf))
    report("a command line without libvirt's monitor goes to QEMU as is",
           v.returncode == 0 and "QEMU emulator version" in v.stdout,
           v.stdout[:60])
    args = [SHIM, "-name", "guest=shimtest,debug-threads=on", "-S",
            "-machine", "pc", "-m", "64M", "-nodefaults", "-display", "none",
            "-sandbox", "on,obsolete=deny,elevateprivileges=deny,"
            "spawn=deny,resourcecontrol=deny",
            "-chardev", "socket,id=charmonitor,fd=%d,server=on,wait=off" %
            lsock.fileno(),
            "-mon", "chardev=charmonitor,id=monitor,mode=control"]
    p = subprocess.Popen(args, pass_fds=(lsock.fileno(),),
                         env=dict(os.environ, QVMI_QEMU_CONF=conf))
    lsock.close()
    try:
        m = Mon(mon)
        g = m.line()
        report("libvirt's monitor connection gets QEMU's greeting",
               g.get("QMP", {}).get("version", {}).get("qemu", {})
               .get("major") == 7, str(g)[:80])
        report("qmp_capabilities", m.cmd("qmp_capabilities") ==
               {"return": {}})
        r = m.cmd("query-qvmi", id_=1).get("return", {})
        report("qvmid is in the path, QEMU's pid is the shim's (exec)",
               r.get("qemu-pid") == p.pid and "procmem" in
               r.get("sources", []), json.dumps(r)[:200])
        report("the config's pmemaccess socket is served",
               [x["path"] for x in r.get("pmemaccess", [])] ==
               [os.path.join(tmp, "shimtest.pmem")], str(r.get("pmemaccess")))
        st = m.cmd("query-status", id_=2)
        report("QEMU at -S, under -sandbox spawn=deny",
               st.get("return", {}).get("status") in ("prelaunch", "debug"),
               str(st))
        m.cmd("cont", id_=3)
        st = m.cmd("query-status", id_=5)
        report("cont: the VM runs (the gdbstub qvmid holds does not keep "
               "it)", st.get("return", {}).get("running") is True, str(st))
        # The config's session socket, with the gdbstub behind it.
        ses = os.path.join(tmp, "shimtest.session")
        r = subprocess.run([os.path.join(BUILD, "qvmi"), "--session", ses,
                            "--key", key, "regs"], capture_output=True,
                           text=True, timeout=60)
        report("the config's session socket serves a tool (qvmi regs)",
               r.returncode == 0 and "rip" in r.stdout.lower(),
               (r.stdout + r.stderr)[:200])
        q = m.cmd("quit", id_=4)
        report("quit", q == {"return": {}, "id": 4}, str(q))
        rc = p.wait(30)
        report("QEMU exits 0", rc == 0, "rc %d" % rc)
        for _ in range(50):
            if not qvmids("qvmid"):
                break
            time.sleep(0.1)
        report("qvmid ends with QEMU", not qvmids("shimtest"),
               str(qvmids("shimtest")))
        report("and removes its pmemaccess socket",
               not os.path.exists(os.path.join(tmp, "shimtest.pmem")))
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def main():
    if not os.path.exists(SHIM) or subprocess.run(
            ["which", "qemu-system-x86_64"], capture_output=True).returncode:
        res["skipped"] += 1
        print("SKIP no build/qvmi-qemu or no qemu-system-x86_64")
    else:
        with tempfile.TemporaryDirectory(prefix="qvmi-shim-") as tmp:
            try:
                run(tmp)
            except Exception as e:
                report("run", False, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed, %d skipped" % (
        res["passed"], res["failed"], res["skipped"]))
    sys.exit(1 if res["failed"] else 0)


if __name__ == "__main__":
    main()
