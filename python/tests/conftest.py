# SPDX-License-Identifier: LGPL-2.1-or-later
"""Fixtures for the binding's tests: the demo guest and its ground truth.

QVMI_GUEST_DIR names a started demo guest (scripts/demo-guest start --dir
DIR; tests/integration/run exports it): DIR/guest.env gives the sockets,
and the serial log's "QVMI-GT" lines what the guest says about itself
(guest/init; tests/lib/guest.c parses the same lines for the C tests).
Without it, the tests that need a guest are skipped.  QVMI_BUILD is the
build directory (qvmi, qvmid), default ROOT/build.
"""
import os
import re
import socket
import subprocess
import sys
import time

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# The in-place build (make python) when nothing earlier on the path (an
# installed qvmi, PYTHONPATH) has one.
sys.path.append(os.path.join(ROOT, "python"))
import qvmi  # noqa: E402
BUILD = os.environ.get("QVMI_BUILD", os.path.join(ROOT, "build"))


class GroundTruth:
    """What the guest printed: QVMI-GT lines of its serial log."""

    def __init__(self, env):
        self.env = env
        self.ps = {}  # pid -> (ppid, state, comm)
        self.ksym = {}  # name -> address
        self.markers = {}  # pid -> dict
        self.maps = {}  # pid -> [(start, end, perms, offset, path)]
        self.cmdline = {}  # pid -> str
        self.modules = {}  # name -> (size, address)
        self.banner = self.uname = None
        with open(env["serial"], "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line.startswith("QVMI-GT "):
                    self._line(line.split(" ", 2)[1:])

    def _line(self, kv):
        kind, rest = kv[0], kv[1] if len(kv) > 1 else ""
        if kind == "ps":
            pid, ppid, state, comm = rest.split(" ", 3)
            self.ps[int(pid)] = (int(ppid), state, comm)
        elif kind == "ksym":
            addr, _, name = rest.split(" ", 2)
            self.ksym[name] = int(addr, 16)
        elif kind == "marker":
            pid, comm, fields = rest.split(" ", 2)
            m = dict(f.split("=", 1) for f in fields.split(" "))
            m["comm"] = comm
            self.markers[int(pid)] = m
        elif kind == "maps":
            pid, rest = rest.split(" ", 1)
            f = rest.split(None, 5)
            start, end = (int(x, 16) for x in f[0].split("-"))
            path = f[5] if len(f) > 5 else ""
            self.maps.setdefault(int(pid), []).append(
                (start, end, f[1], int(f[2], 16), path))
        elif kind == "cmdline":
            pid, args = rest.split(" ", 1)
            self.cmdline[int(pid)] = args
        elif kind == "modules":
            f = rest.split()
            self.modules[f[0]] = (int(f[1]), int(f[5], 16))
        elif kind == "banner":
            self.banner = rest
        elif kind == "uname":
            self.uname = rest

    def pid_of(self, comm):
        for pid, (_, _, c) in sorted(self.ps.items()):
            if c == comm:
                return pid
        raise LookupError(comm)


def _guest_env():
    d = os.environ.get("QVMI_GUEST_DIR")
    if not d or not os.path.exists(os.path.join(d, "guest.env")):
        return None
    env = {}
    with open(os.path.join(d, "guest.env")) as f:
        for line in f:
            k, _, v = line.rstrip("\n").partition("=")
            env[k] = v
    env["dir"] = d
    return env


@pytest.fixture(scope="session")
def guest():
    env = _guest_env()
    if env is None:
        pytest.skip("no demo guest (QVMI_GUEST_DIR)")
    gt = GroundTruth(env)
    assert gt.ps and gt.markers, "the serial log holds no ground truth"
    return gt


@pytest.fixture(scope="module")
def vm(guest):
    """QMP for memory, the gdbstub for registers and breakpoints.  One per
    module: QEMU serves one QMP client at a time, and test_exclusive.py
    needs the socket free."""
    # 30 s per exchange: on a loaded host a gdbstub stop takes seconds.
    with qvmi.VM(qmp=guest.env["qmp"], gdb=guest.env["gdb"],
                 timeout=30) as v:
        yield v
    _leave_running(guest)


@pytest.fixture(scope="module")
def lx(vm):
    return vm.linux()


@pytest.fixture(scope="module")
def dump_path(vm, tmp_path_factory):
    """An ELF core of the guest as `qvmi dump` writes it, taken while the
    VM is paused (the tasks then match the live view at that moment)."""
    path = str(tmp_path_factory.mktemp("dump") / "guest.elf")
    vm.pause()
    try:
        vm.dump(path)
    finally:
        vm.resume()
    yield path
    os.unlink(path)


def _listening(path, seconds=10):
    """The socket accepts connections (qvmid binds it before it listens
    and before it has attached)."""
    for _ in range(int(seconds / 0.02)):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            return True
        except OSError:
            time.sleep(0.02)
        finally:
            s.close()
    return False


def _leave_running(guest):
    """A failed test must not leave the shared guest paused."""
    cli = os.path.join(BUILD, "qvmi")
    st = subprocess.run([cli, "--qmp", guest.env["qmp"], "status"],
                        capture_output=True, text=True, timeout=30)
    if st.stdout.strip() == "paused":
        subprocess.run([cli, "--qmp", guest.env["qmp"], "resume"],
                       timeout=30)


@pytest.fixture
def qvmid_session(guest, tmp_path):
    """qvmid serving a session on the guest (QMP + gdbstub): its socket,
    key file, and QMP proxy for management clients.  qvmid waits 20 s
    for a tool to unhook (its default is 5): the machine may be loaded."""
    qvmid = os.path.join(BUILD, "qvmid")
    if not os.access(qvmid, os.X_OK):
        pytest.skip("no %s" % qvmid)
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    sock = str(tmp_path / "s.sock")
    proxy = str(tmp_path / "qmp.sock")
    p = subprocess.Popen([qvmid, "--qmp", guest.env["qmp"], "--gdb",
                          guest.env["gdb"], "--session", sock,
                          "--session-key", str(key), "--listen-qmp", proxy,
                          "--unhook-timeout", "20000"],
                         stderr=subprocess.DEVNULL)
    try:
        assert _listening(sock) and _listening(proxy), "qvmid did not start"
        yield sock, str(key), proxy
    finally:
        p.terminate()
        p.wait(10)
        _leave_running(guest)


@pytest.fixture
def qvmid_pmem(guest, tmp_path):
    """qvmid serving LibVMI's pmemaccess protocol on the guest."""
    qvmid = os.path.join(BUILD, "qvmid")
    if not os.access(qvmid, os.X_OK):
        pytest.skip("no %s" % qvmid)
    sock = str(tmp_path / "pmem.sock")
    p = subprocess.Popen([qvmid, "--qmp", guest.env["qmp"], "--pmemaccess",
                          sock], stderr=subprocess.DEVNULL)
    try:
        assert _listening(sock), "qvmid did not start"
        yield sock
    finally:
        p.terminate()
        p.wait(10)


def clean_comm(c):
    """kworker names change as they take work ("kworker/0:1-events")."""
    return re.sub(r"-.*", "", c) if c.startswith("kworker") else c


def pytest_terminal_summary(terminalreporter):
    """The repository's harness line, last, for tests/integration/run."""
    st = terminalreporter.stats
    n = lambda k: len([r for r in st.get(k, []) if getattr(r, "when", "call")
                       in ("call", "setup", "teardown")])
    terminalreporter.write_line("%d passed, %d failed, %d skipped" % (
        n("passed"), n("failed") + n("error"), n("skipped")))
