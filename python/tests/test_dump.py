# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmi's Python binding against a dump of the demo guest (an ELF core
written by vm.dump(), i.e. qvmi_dump_write as `qvmi dump`), and a raw
image: the same ground truth as the live guest."""
import errno
import os

import pytest

import qvmi

MARKERS = ("qvmi-marker-a", "qvmi-marker-b")


@pytest.fixture(scope="module")
def dvm(dump_path):
    with qvmi.VM(dump=dump_path) as v:
        yield v


def test_dump_info(dvm, dump_path):
    assert dvm.state == "frozen"
    assert dvm.info()["backend"] == "elf"
    assert dvm.vcpus == 2
    assert os.stat(dump_path).st_mode & 0o777 == 0o600
    assert dvm.regs(0)["cr3"]


def test_dump_tasks_modules(dvm, guest):
    lx = dvm.linux()
    by_pid = {t.pid: t for t in lx.tasks()}
    for m in MARKERS + ("qvmi-sleeper",):
        pid = guest.pid_of(m)
        assert by_pid[pid].comm == m and by_pid[pid].ppid == guest.ps[pid][0]
    mods = {m.name: (m.size, m.base) for m in lx.modules()}
    assert mods == guest.modules


def test_dump_memory(dvm, guest):
    lx = dvm.linux()
    banner = guest.banner.encode()
    assert lx.read_va(lx.symbol("linux_banner"), len(banner)) == banner
    for pid, m in guest.markers.items():
        heap = m["heap"].encode()
        assert lx.read_va(int(m["heap_va"], 16), len(heap), pid=pid) == heap
    assert lx.dmesg()[0].text == guest.banner


def test_dump_read_only(dvm):
    with pytest.raises(qvmi.Error) as e:
        dvm.write_pa(0x1000, b"x")
    assert e.value.errno == errno.EOPNOTSUPP
    with pytest.raises(qvmi.Error) as e:
        dvm.pause()
    assert e.value.errno in (errno.EOPNOTSUPP, errno.EINVAL)


def test_raw_dump(vm, guest, tmp_path):
    path = str(tmp_path / "guest.raw")
    vm.pause()
    try:
        vm.dump(path, format="raw")
    finally:
        vm.resume()
    with qvmi.VM(dump=path, raw_map="0:0x20000000") as v:
        m = next(iter(guest.markers.values()))
        heap = m["heap"].encode()
        assert v.read_pa(int(m["heap_pa"], 16), len(heap)) == heap
        assert v.info()["backend"] == "raw"
    os.unlink(path)


def test_bad_dump(tmp_path):
    p = tmp_path / "bad.elf"
    p.write_bytes(b"\x7fELF" + b"\xff" * 60)
    with pytest.raises(qvmi.Error) as e:
        qvmi.VM(dump=str(p))
    assert e.value.errno == errno.EBADMSG
