# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmi's Python binding against the live demo guest: every value is
checked against what the guest printed about itself (conftest.py)."""
import errno
import os
import threading
import time
import tracemalloc

import pytest

import qvmi
from conftest import clean_comm

MARKERS = ("qvmi-marker-a", "qvmi-marker-b")


def test_info(vm, guest):
    i = vm.info()
    assert i["backend"] == "qmp" and i["arch"] == "x86_64"
    assert i["vcpus"] == vm.vcpus == 2
    assert i["pid"] == int(guest.env["pid"])
    assert sum(size for _, size in i["ram"]) <= int(guest.env["mem_bytes"])
    assert vm.state == "running"
    assert not vm.closed


def test_tasks(lx, guest):
    ts = lx.tasks()
    assert isinstance(ts, qvmi.TaskList) and len(ts) == len(list(ts))
    t0 = ts[0]
    assert (t0.pid, t0.comm, t0.kthread) == (0, "swapper/0", True)
    by_pid = {t.pid: t for t in ts}
    # Every long-lived process the guest listed, with its parent and
    # name (short-lived ones, like the ps itself, may be gone).
    stable = [p for p, (_, _, c) in guest.ps.items()
              if c in MARKERS + ("qvmi-sleeper", "init", "kthreadd")]
    assert len(stable) == 5
    for pid in stable:
        ppid, _, comm = guest.ps[pid]
        t = by_pid[pid]
        assert (t.tgid, t.ppid, t.comm) == (pid, ppid, comm)
    # All the others too, but kworkers (they come and go) and the sed
    # that listed /proc for the guest; comm holds 15 bytes (TASK_COMM_LEN)
    # where /proc/PID/stat shows a kthread's full name.
    for p, (pp, _, c) in guest.ps.items():
        if c.startswith("kworker") or c == "sed":
            continue
        assert p in by_pid, (p, c)
        assert (by_pid[p].ppid, by_pid[p].comm) == (pp, c[:15])
    kw = [p for p, (_, _, c) in guest.ps.items() if c.startswith("kworker")]
    assert sum(1 for p in kw if p in by_pid and by_pid[p].comm ==
               clean_comm(guest.ps[p][2])[:15]) >= len(kw) // 2
    for m in MARKERS:
        t = by_pid[guest.pid_of(m)]
        assert not t.kthread and t.uid == 0 and t.state in "RS"
        assert t.dtb and t.mm and t.address >= 1 << 63
    assert by_pid[2].kthread and by_pid[2].dtb == 0
    assert ts[-1].pid == list(ts)[-1].pid and ts[-len(ts)].pid == 0
    assert [t.pid for t in ts[1:3]] == [t.pid for t in list(ts)[1:3]]
    with pytest.raises(IndexError):
        ts[len(ts)]


def test_threads_and_task(lx, guest):
    pid = guest.pid_of("qvmi-sleeper")
    assert len(lx.tasks(threads=True)) >= len(lx.tasks())
    t = lx.task(pid)
    assert (t.pid, t.comm) == (pid, "qvmi-sleeper")
    with pytest.raises(qvmi.Error) as e:
        lx.task(999999)
    assert e.value.errno == errno.ENOENT


def test_modules(lx, guest):
    mods = {m.name: m for m in lx.modules()}
    assert set(mods) == set(guest.modules) and mods
    for name, (size, addr) in guest.modules.items():
        m = mods[name]
        assert (m.size, m.base, m.state) == (size, addr, "Live")


def test_symbols_and_read_va(lx, guest):
    for name in ("linux_banner", "init_task", "_text"):
        assert lx.symbol(name) == guest.ksym[name]
    banner = guest.banner.encode()
    addr = lx.symbol("linux_banner")
    assert lx.read_va(addr, len(banner)) == banner
    s = lx.symbolize(addr + 5)
    assert (s.name, s.address, s.offset) == ("linux_banner", addr, 5)
    buf = bytearray(len(banner))
    assert lx.read_va_into(addr, buf) == len(banner) and buf == banner
    assert lx.info()["release"] == guest.uname


def test_btf_types(lx, guest):
    it = lx.symbol("init_task")
    comm = lx.offsetof("task_struct", "comm")
    assert lx.read_va(it + comm, 10) == b"swapper/0\0"
    pid = guest.pid_of("qvmi-marker-a")
    t = lx.task(pid)
    off = lx.offsetof("task_struct", "pid")
    assert int.from_bytes(lx.read_va(t.address + off, 4), "little") == pid
    assert lx.sizeof("task_struct") > comm + 16
    assert lx.sizeof("int") == 4
    with pytest.raises(qvmi.Error) as e:
        lx.offsetof("task_struct", "no_such_member")
    assert e.value.errno == errno.ENOENT


def test_heap_marker(lx, vm, guest):
    for pid, m in guest.markers.items():
        heap = m["heap"].encode()
        va, pa = int(m["heap_va"], 16), int(m["heap_pa"], 16)
        assert lx.read_va(va, len(heap), pid=pid) == heap
        assert lx.translate(va, pid=pid) == pa
        assert vm.read_pa(pa, len(heap)) == heap
        stack = m["stack"].encode()
        assert lx.read_va(int(m["stack_va"], 16), len(stack),
                          pid=pid) == stack


def test_maps_cmdline_environ(lx, guest):
    for pid in guest.markers:
        want = [(s, e, p, o if path else 0, path)
                for s, e, p, o, path in guest.maps[pid]]
        got = [(v.start, v.end, v.perms, v.offset, v.name)
               for v in lx.maps(pid)]
        assert got == want
        assert " ".join(lx.cmdline(pid)) == guest.cmdline[pid]
        # guest/init exports PATH=/bin:/sbin to what it starts
        assert lx.environ(pid)["PATH"] == "/bin:/sbin"
    with pytest.raises(qvmi.Error) as e:
        lx.maps(2)  # kthreadd: no mm
    assert e.value.errno == errno.ESRCH


def test_dmesg(lx, guest):
    log = lx.dmesg()
    assert log[0].text == guest.banner
    assert [r.seq for r in log] == sorted(r.seq for r in log)
    assert all(0 <= r.level <= 7 for r in log)


def test_regs_translate(vm, lx):
    r = vm.regs(0)
    assert list(r)[:3] == ["rax", "rbx", "rcx"] and r["cr3"]
    info = lx.info()
    assert vm.translate(info["text_va"]) == info["text_pa"]
    assert vm.translate(info["text_va"], dtb=lx.kernel_dtb) == info["text_pa"]
    assert lx.translate(info["text_va"]) == info["text_pa"]


def test_read_pa_into_buffers(vm, guest):
    m = next(iter(guest.markers.values()))
    heap = m["heap"].encode()
    pa = int(m["heap_pa"], 16)
    ba = bytearray(len(heap))
    assert vm.read_pa_into(pa, ba) == len(heap) and ba == heap
    big = bytearray(len(heap) + 8)
    mv = memoryview(big)[4:4 + len(heap)]
    vm.read_pa_into(pa, mv)
    assert big[4:4 + len(heap)] == heap and big[:4] == b"\0" * 4
    with pytest.raises(BufferError):
        vm.read_pa_into(pa, b"read-only")


def test_write_pa(vm, guest):
    # A page the guest does not use: the last page of RAM is not reserved
    # by anything in a 512 MiB guest's marker layout, but keep its bytes.
    pa = int(next(iter(guest.markers.values()))["heap_pa"], 16) + 0x800
    old = vm.read_pa(pa, 16)
    try:
        vm.write_pa(pa, b"QVMI-PY-WRITE!!!")
        assert vm.read_pa(pa, 16) == b"QVMI-PY-WRITE!!!"
    finally:
        vm.write_pa(pa, old)
    assert vm.read_pa(pa, 16) == old


def test_errors(vm, lx):
    with pytest.raises(qvmi.Error) as e:
        vm.read_pa(1 << 50, 8)
    err = e.value
    assert isinstance(err, OSError)
    assert err.errno == errno.EFAULT and err.fault_address == 1 << 50
    assert err.message and err.strerror == err.message
    with pytest.raises(qvmi.Error) as e:
        lx.read_va(0xffff800000000000 - 0x1000, 8)  # non-canonical
    assert e.value.errno == errno.EFAULT
    assert e.value.fault_address == 0xffff800000000000 - 0x1000
    with pytest.raises(qvmi.Error) as e:
        lx.symbol("no_such_symbol_qvmi")
    assert e.value.errno == errno.ENOENT and e.value.fault_address is None
    with pytest.raises(OverflowError):
        vm.read_pa(1 << 64, 1)
    with pytest.raises(ValueError):
        vm.read_pa(0, -1)
    with pytest.raises(TypeError):
        qvmi.VM()
    with pytest.raises(TypeError):
        qvmi.VM(qmp="a", dump="b")
    with pytest.raises(qvmi.Error) as e:
        qvmi.VM(qmp="/nonexistent/qmp.sock")
    assert e.value.errno == errno.ENOENT


def test_watch_three_hits(vm, guest):
    pid = guest.pid_of("qvmi-sleeper")
    hits = list(vm.watch("__x64_sys_clock_nanosleep", count=3, timeout=60))
    assert len(hits) == 3
    for h in hits:
        assert h.symbol == "__x64_sys_clock_nanosleep"
        assert h.rip >= 1 << 63 and 0 <= h.vcpu < 2
        assert (h.task.pid, h.task.tgid, h.task.comm) == (pid, pid,
                                                          "qvmi-sleeper")
    assert vm.state == "running"
    time.sleep(0.5)  # a breakpoint left in would stop it within 100 ms
    assert vm.state == "running"


def test_watch_break_and_exception(vm, lx):
    addr = lx.symbol("__x64_sys_clock_nanosleep")
    for hit in vm.watch(addr, timeout=60, linux=lx):
        assert hit.rip == addr
        break
    assert vm.state == "running"
    with pytest.raises(RuntimeError):
        for hit in vm.watch("__x64_sys_clock_nanosleep", hardware=False,
                            timeout=60):
            raise RuntimeError("out of the loop")
    time.sleep(0.5)
    assert vm.state == "running"
    # No count: the timeout ends it (about 3 hits in 0.3 s).
    t0 = time.monotonic()
    hits = list(vm.watch("__x64_sys_clock_nanosleep", timeout=0.3))
    assert time.monotonic() - t0 < 30 and len(hits) <= 10
    time.sleep(0.5)
    assert vm.state == "running"


def test_threads_share_a_vm(vm, lx, guest):
    """Reads from several threads at once: each result is right."""
    m = next(iter(guest.markers.values()))
    heap, pa = m["heap"].encode(), int(m["heap_pa"], 16)
    want = len(lx.tasks())
    errors = []

    def work():
        try:
            for _ in range(200):
                assert vm.read_pa(pa, len(heap)) == heap
                assert abs(len(lx.tasks()) - want) <= 3
        except Exception as e:  # reported below
            errors.append(e)

    th = [threading.Thread(target=work) for _ in range(4)]
    for t in th:
        t.start()
    for t in th:
        t.join(120)
    assert not errors


def test_gil_released(vm):
    """A wait on the guest lets other threads run: 0.5 s in
    _wait_stop (no breakpoint: it times out) while this thread counts."""
    done = threading.Event()

    def wait():
        assert vm._wait_stop(500) is None
        done.set()

    th = threading.Thread(target=wait)
    n = 0
    th.start()
    time.sleep(0.05)
    while not done.is_set():
        n += 1
    th.join()
    assert n > 1000, n


def test_no_leak(vm, lx, guest):
    """Refcounts: many calls leave the Python heap as it was."""
    pid = guest.pid_of("qvmi-marker-a")

    def round_():
        for t in lx.tasks():
            t.comm, t.pid
        lx.modules(), lx.maps(pid), lx.dmesg(), lx.cmdline(pid)
        lx.environ(pid), lx.symbolize(lx.symbol("init_task")), vm.regs(0)
        vm.read_pa(0x1000, 4096), vm.info()
        for call in (lambda: vm.read_pa(1 << 50, 8),
                     lambda: lx.symbol("no_such_symbol")):
            try:
                call()
            except qvmi.Error:
                pass

    for _ in range(5):
        round_()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for _ in range(100):
        round_()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert grown < 64 * 1024, grown


def test_find_pages_step(vm, lx, guest):
    pid, m = next(iter(guest.markers.items()))
    heap = m["heap"].encode()
    va, pa = int(m["heap_va"], 16), int(m["heap_pa"], 16)
    # the marker string is in RAM where the guest said, maybe elsewhere too
    assert pa in vm.find(heap)
    assert len(vm.find(heap, max=1)) == 1
    with pytest.raises(ValueError):
        vm.find(heap, max=0)
    ranges = vm.pages(dtb=lx.task(pid).dtb)
    r = [r for r in ranges if r.va <= va < r.va + r.size]
    assert len(r) == 1 and r[0].user and r[0].writable and r[0].nx
    assert r[0].pa + (va - r[0].va) == pa
    assert [x.va for x in ranges] == sorted(x.va for x in ranges)
    names = {src for _, _, src in vm.info()["map"]}
    assert "shm" in names
    vm.pause()
    try:
        rip = vm.step(0)
        assert rip == vm.regs(0)["rip"] and vm.state != "running"
    finally:
        vm.resume()
    assert vm.state == "running"


def test_watch_ctrl_c(vm):
    """Ctrl-C (KeyboardInterrupt) in a watch with no count: the
    breakpoint goes, the VM runs."""
    import _thread
    timer = threading.Timer(0.5, _thread.interrupt_main)
    w = vm.watch("__x64_sys_clock_nanosleep", timeout=60)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        for _ in w:
            pass
    timer.cancel()
    assert w.reason == "closed" and w.hits >= 1
    time.sleep(0.5)
    assert vm.state == "running"


def test_watch_reason(vm):
    w = vm.watch("__x64_sys_clock_nanosleep", count=2, timeout=60)
    assert len(list(w)) == 2 and (w.reason, w.hits) == ("count", 2)
    w = vm.watch("__x64_sys_clock_nanosleep", timeout=0.3)
    list(w)
    assert w.reason == "timeout"



@pytest.mark.parametrize("call, exc", [
    (lambda vm, lx: vm.read_pa("0", 1), TypeError),
    (lambda vm, lx: vm.read_pa(-1, 1), OverflowError),
    (lambda vm, lx: vm.read_pa(0), TypeError),
    (lambda vm, lx: vm.read_pa_into(0, 5), TypeError),
    (lambda vm, lx: vm.write_pa(0, "str"), TypeError),
    (lambda vm, lx: vm.translate(1 << 70), OverflowError),
    (lambda vm, lx: vm.regs(4096), qvmi.Error),
    (lambda vm, lx: lx.maps(None), TypeError),
    (lambda vm, lx: vm.regs(-1), ValueError),
    (lambda vm, lx: vm.step(5000), ValueError),
    (lambda vm, lx: vm.find(b""), qvmi.Error),
    (lambda vm, lx: vm.find(b"x" * 5000), qvmi.Error),
    (lambda vm, lx: vm.dump("/x", format="zip"), ValueError),
    (lambda vm, lx: vm.watch("no_such_symbol_qvmi"), qvmi.Error),
    (lambda vm, lx: vm.watch("x", count=0), ValueError),
    (lambda vm, lx: vm._bp_insert(9, 0), ValueError),
    (lambda vm, lx: vm._wait_stop(-5), ValueError),
    (lambda vm, lx: lx.read_va(0, 8, pid=-3), ValueError),
    (lambda vm, lx: lx.read_va(0, 8, pid=999999), qvmi.Error),
    (lambda vm, lx: lx.maps(2 ** 40), ValueError),
    (lambda vm, lx: lx.cmdline(None), TypeError),
    (lambda vm, lx: lx.task(None), TypeError),
    (lambda vm, lx: lx.symbol(b"bytes"), TypeError),
    (lambda vm, lx: lx.sizeof("no_such_type_qvmi"), qvmi.Error),
    (lambda vm, lx: lx.offsetof("task_struct", "comm[99999999999]"),
     qvmi.Error),
    (lambda vm, lx: lx.current(4096), qvmi.Error),
    (lambda vm, lx: vm.linux(isf="/nonexistent"), qvmi.Error),
    (lambda vm, lx: lx.tasks(1, 2), TypeError),
])
def test_bad_arguments(vm, lx, call, exc):
    """Bad input raises, never crashes, and leaves the VM usable."""
    with pytest.raises(exc):
        call(vm, lx)
    assert vm.read_pa(0x1000, 8) is not None
