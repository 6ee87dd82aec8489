# SPDX-License-Identifier: LGPL-2.1-or-later
"""The binding on a 32-bit guest (tests/integration/configs: i386 and
i386-q32, Debian's 686-pae kernel with a detached BTF and its System.map,
given as linux(btf=, system_map=)): tasks, modules, symbols, the PAE
translation, a process's memory and 32-bit register names, each against
what the guest printed about itself.  Skipped on a 64-bit guest
(test_live.py covers it)."""
import errno

import pytest

import qvmi
from conftest import clean_comm

MARKERS = ("qvmi-marker-a", "qvmi-marker-b")


@pytest.fixture(scope="module")
def lx32(vm, guest):
    if guest.env.get("arch") != "i386":
        pytest.skip("not an i386 guest")
    btf, smap = guest.env.get("types_btf"), guest.env.get("types_map")
    assert btf and smap, "the i386 guest runs with --types"
    return vm.linux(btf=btf, system_map=smap)


def test_info_and_paging(vm, lx32, guest):
    i = vm.info()
    assert i["arch"] == guest.env["arch"] or i["arch"] == "x86_64"
    info = lx32.info()
    assert info["release"] == guest.uname
    # PAGE_OFFSET 0xc0000000: the image is mapped at 0xc0000000 + its PA
    assert info["text_va"] - info["text_pa"] == 0xc0000000
    assert lx32.translate(info["text_va"]) == info["text_pa"]
    assert vm.translate(info["text_va"], dtb=lx32.kernel_dtb) == \
        info["text_pa"]


def test_tasks(lx32, guest):
    by_pid = {t.pid: t for t in lx32.tasks()}
    assert (by_pid[0].comm, by_pid[0].kthread) == ("swapper/0", True)
    for p, (pp, _, c) in guest.ps.items():
        if c.startswith("kworker") or c == "sed":
            continue
        assert p in by_pid, (p, c)
        assert (by_pid[p].ppid, by_pid[p].comm) == (pp, clean_comm(c)[:15])
    for m in MARKERS:
        t = by_pid[guest.pid_of(m)]
        assert not t.kthread and t.dtb and t.mm
        # a kernel pointer of a 32-bit kernel: above PAGE_OFFSET, < 4 GiB
        assert 0xc0000000 <= t.address < 1 << 32


def test_modules(lx32, guest):
    mods = {m.name: m for m in lx32.modules()}
    assert set(mods) == set(guest.modules)
    for name, (size, addr) in guest.modules.items():
        assert (mods[name].size, mods[name].base) == (size, addr)


def test_symbols_and_types(lx32, guest):
    # the guest's /proc/kallsyms has text only (no KALLSYMS_ALL); data
    # symbols such as linux_banner come from the System.map, slid
    for name in ("_text", "entry_SYSENTER_32", "__ia32_sys_clock_nanosleep"):
        assert lx32.symbol(name) == guest.ksym[name]
    banner = guest.banner.encode()
    addr = lx32.symbol("linux_banner")
    assert lx32.read_va(addr, len(banner)) == banner
    s = lx32.symbolize(addr + 3)
    assert (s.name, s.offset) == ("linux_banner", 3)
    # 4-byte pointers: struct list_head is two of them
    assert lx32.sizeof("struct list_head") == 8
    it = lx32.symbol("init_task")
    comm = lx32.offsetof("task_struct", "comm")
    assert lx32.read_va(it + comm, 10) == b"swapper/0\0"


def test_process_memory(lx32, vm, guest):
    for pid, m in guest.markers.items():
        heap = m["heap"].encode()
        va, pa = int(m["heap_va"], 16), int(m["heap_pa"], 16)
        assert lx32.read_va(va, len(heap), pid=pid) == heap
        assert lx32.translate(va, pid=pid) == pa
        assert vm.read_pa(pa, len(heap)) == heap
        assert " ".join(lx32.cmdline(pid)) == guest.cmdline[pid]
        got = [(v.start, v.end, v.perms) for v in lx32.maps(pid)]
        assert got == [(s, e, p) for s, e, p, _, _ in guest.maps[pid]]


def test_regs_32bit_names(vm, lx32, guest):
    r = vm.regs(0)
    names = list(r)
    if guest.env.get("qemu") == "qemu-system-i386":
        # a 32-bit CPU: eax..eip, eflags, and no r8..r15
        assert names[:3] == ["eax", "ebx", "ecx"] and "eip" in names
        assert "eflags" in names and "r8" not in names
        assert "rax" not in names
        pc = r["eip"]
    else:
        # qemu-system-x86_64 running a 32-bit kernel: either set, never
        # both, and no r8..r15 with the 32-bit names
        assert ("eax" in names) != ("rax" in names)
        assert "r8" not in names or "rax" in names
        pc = r["eip"] if "eip" in names else r["rip"]
    # a 32-bit value; CR3 holds the PAE page directory pointer table
    assert pc < 1 << 32 and r["cr3"] and r["cr3"] < 1 << 32


def test_errors(lx32):
    with pytest.raises(qvmi.Error) as e:
        lx32.maps(2)  # kthreadd: no mm
    assert e.value.errno == errno.ESRCH
    with pytest.raises(qvmi.Error) as e:
        lx32.read_va(0x1000, 4)  # nothing mapped there in the kernel
    assert e.value.errno == errno.EFAULT and e.value.fault_address == 0x1000
