# SPDX-License-Identifier: LGPL-2.1-or-later
"""Tests that need QEMU's QMP socket to themselves (QEMU serves one QMP
client at a time): detaching, a watch without a gdbstub, a qvmid session.
They open their own VMs; the shared one of the other modules is closed
between modules (conftest.py: module scope)."""
import errno
import os
import subprocess
import time

import pytest

import qvmi
from conftest import BUILD


def test_detached(guest):
    v = qvmi.VM(qmp=guest.env["qmp"])
    l = v.linux()
    tasks = l.tasks()
    v.close()
    v.close()  # idempotent
    assert v.closed
    for call in (lambda: v.read_pa(0, 8), lambda: v.vcpus,
                 lambda: l.tasks(), lambda: l.symbol("init_task"),
                 lambda: v.linux()):
        with pytest.raises(qvmi.Error) as e:
            call()
        assert e.value.errno == errno.ENOTCONN
    assert len(tasks) > 10 and tasks[0].comm == "swapper/0"  # a snapshot
    with qvmi.VM(qmp=guest.env["qmp"]) as w:
        assert w.linux().tasks()[0].pid == 0
    assert w.closed


def test_watch_needs_control(guest):
    with qvmi.VM(qmp=guest.env["qmp"]) as v:  # no gdbstub
        with pytest.raises(qvmi.Error) as e:
            next(iter(v.watch("__x64_sys_clock_nanosleep", timeout=5)))
        assert e.value.errno == errno.EOPNOTSUPP
        assert v.state == "running"


def test_session_and_wrong_key(qvmid_session, guest, tmp_path):
    sock, key, _ = qvmid_session
    bad = tmp_path / "bad"
    bad.write_bytes(os.urandom(32))
    bad.chmod(0o600)
    with pytest.raises(qvmi.Error) as e:
        qvmi.VM(session=sock, key=str(bad))
    assert e.value.errno == errno.EACCES
    with qvmi.VM(session=sock, key=key, timeout=30) as v:
        pid = guest.pid_of("qvmi-marker-b")
        assert pid in {t.pid for t in v.linux().tasks()}
        # qvmid has the gdbstub: a watch through the session
        sleeper = guest.pid_of("qvmi-sleeper")
        hits = list(v.watch("__x64_sys_clock_nanosleep", count=3,
                            timeout=60))
        assert [h.task.pid for h in hits] == [sleeper] * 3
        assert v.state == "running"


def test_pmem(qvmid_pmem, guest):
    with qvmi.VM(pmem=qvmid_pmem) as v:
        for m in guest.markers.values():
            heap = m["heap"].encode()
            assert v.read_pa(int(m["heap_pa"], 16), len(heap)) == heap
        with pytest.raises(qvmi.Error) as e:
            v.read_pa(1 << 50, 8)
        assert e.value.errno == errno.EFAULT


def test_cycle_collected(guest):
    """A Linux stored in its VM's __dict__ is a cycle the collector
    frees (and the handle with it)."""
    import gc
    import weakref
    v = qvmi.VM(qmp=guest.env["qmp"])
    v.lx = v.linux()
    ref = weakref.ref(v)
    del v
    gc.collect()
    assert ref() is None


def test_session_unhook(qvmid_session, guest):
    """A management "stop" through qvmid's QMP proxy while a watch is
    hooked: qvmid sends UNHOOK, the watch takes its breakpoint out and
    acknowledges at once (well inside qvmid's unhook timeout), the
    stop goes through."""
    sock, key, proxy = qvmid_session
    cli = os.path.join(BUILD, "qvmi")

    def status():
        return subprocess.run([cli, "--qmp", proxy, "status"], timeout=10,
                              capture_output=True, text=True).stdout.strip()

    # A long session timeout: under load a gdbstub round trip through
    # qvmid can take seconds.  The stop must be answered well before
    # qvmid's 20 s unhook timeout (conftest.py): the watch acknowledged.
    with qvmi.VM(session=sock, key=key, timeout=30) as v:
        w = v.watch("__x64_sys_clock_nanosleep", timeout=60)
        next(w)  # hooked: the breakpoint is in
        t0 = time.monotonic()
        p = subprocess.Popen([cli, "--qmp", proxy, "pause"])
        rest = list(w)  # ends on UNHOOK
        assert w.reason == "unhook" and len(rest) < 100
        assert p.wait(30) == 0 and time.monotonic() - t0 < 15
    assert status() == "paused"
    subprocess.run([cli, "--qmp", proxy, "resume"], timeout=10, check=True)
    time.sleep(0.3)
    assert status() == "running"


def test_listener(guest, tmp_path):
    """qvmid dials in (--session-connect) to a qvmi.Listener: the VM it
    hands over lists the guest's processes; a listener with nobody
    calling times out; a closed one says so."""
    key = tmp_path / "key"
    key.write_bytes(os.urandom(32))
    key.chmod(0o600)
    addr = str(tmp_path / "listen.sock")
    with qvmi.Listener(addr, str(key)) as ln:
        assert ln.port == 0 and ln.fileno() >= 0
        with pytest.raises(qvmi.Error) as e:
            ln.accept(timeout=0.3)
        assert e.value.errno == errno.ETIMEDOUT
        p = subprocess.Popen([os.path.join(BUILD, "qvmid"), "--qmp",
                              guest.env["qmp"], "--session-connect", addr,
                              "--reconnect-interval", "200",
                              "--session-key", str(key)],
                             stderr=subprocess.DEVNULL)
        try:
            with ln.accept(timeout=30) as v:
                pids = {t.pid for t in v.linux().tasks()}
                assert guest.pid_of("qvmi-sleeper") in pids
                m = next(iter(guest.markers.values()))
                heap = m["heap"].encode()
                assert v.read_pa(int(m["heap_pa"], 16), len(heap)) == heap
        finally:
            p.terminate()
            p.wait(10)
    assert not os.path.exists(addr)
    with pytest.raises(qvmi.Error) as e:
        ln.accept(timeout=0.1)
    assert e.value.errno == errno.ENOTCONN
