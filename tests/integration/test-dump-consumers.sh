#!/bin/bash
# qvmi dump's ELF core opened by the real consumers, as a new user would:
# Debian 12's crash 8.0.2, drgn 0.0.22 (python3-drgn), makedumpfile 1.7.2
# and gdb 13, with the kernel's debug vmlinux from its -dbg package
# (scripts/fetch-vmlinux: ~860 MB once, cached in build/dbg/).  No
# -device vmcoreinfo is used: the VMCOREINFO note comes from guest memory.
#
# Each consumer lists the tasks of the dump.  Two checks per consumer:
#  - exactly the tasks (pid, comm) that qvmi itself reads from the same
#    file (the file is frozen, so this is exact);
#  - every task of the guest's own ps (serial log "QVMI-GT ps" lines, comm
#    cut to TASK_COMM_LEN - 1 = 15 characters), kworkers aside: they come,
#    go and rename themselves between the guest's ps and the dump.
# makedumpfile (no -x, no -i) must turn the ELF into a kdump-compressed
# file (-d 31), whose tasks drgn then lists the same way.  qvmi's own
# kdump output (qvmi dump --format kdump) goes to drgn and crash too, and
# qvmi reads QEMU's dump-guest-memory ELF (paging false and true) and
# kdump-zlib, each checked against the guest's ps, and the registers of
# QEMU's and qvmi's kdump against the paused VM's.  qvmi's kdump with the
# guest's free pages left out (--dump-level 17) is checked against the
# buddy allocator's free lists and read by drgn, crash and qvmi.
#
# Debian's crash 8.0.2 cannot walk tasks on kernels with the flex-array
# struct pid (Debian backported it to 6.1.192): its ps and "sys" show two
# tasks on every dump, QEMU's own included.  So crash walks
# init_task.tasks with "list task_struct.tasks", which is what ps would
# list.  gdb knows nothing of KASLR: the symbols are moved by the
# KERNELOFFSET of the dump's VMCOREINFO (symbol-file -o).
#
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=dump_consumers
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
# shellcheck source=dump-tasks.inc
. "$(dirname "${BASH_SOURCE[0]}")/dump-tasks.inc"

# shellcheck disable=SC2119 # no VERSION: the newest /boot/vmlinuz-*
fetch_vmlinux

# Ground truth: the guest's ps, pid and comm (15 characters), no kworkers.
guest_ps_gt

DUMP="$TMP/vm.elf"
timeout 300 "$QVMI" --qmp "$QMP" dump --pause "$DUMP" >"$TMP/dump.out" 2>&1
rc=$?
cat "$TMP/dump.out"
check qvmi_dump_exit_0 '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || finish
check running_after_pause '[ "$(timeout 60 "$QVMI" --qmp "$QMP" status)" = running ]'
check no_layout_warning '! grep -q "no Linux kernel layout" "$TMP/dump.out"'

# qvmi's own reading of the file: the reference for the consumers.
qvmi_tasks --dump "$DUMP" >"$TMP/qvmi"
check qvmi_reads_its_dump '[ "$(wc -l <"$TMP/qvmi")" -ge "$(wc -l <"$TMP/gt")" ]'

# Compare one consumer's "pid comm" list (file $2) with qvmi's and the GT.
compare() {
	local name=$1 f=$2
	sort -u "$f" -o "$f"
	if diff -u "$TMP/qvmi" "$f" >"$TMP/$name.diff"; then
		ok "${name}_same_tasks_as_qvmi"
	else
		head -n 20 "$TMP/$name.diff"
		bad "${name}_same_tasks_as_qvmi"
	fi
	missing=$(comm -23 "$TMP/gt" "$f" | grep -v '^0 ' || true)
	if [ -z "$missing" ]; then
		ok "${name}_has_guest_ps"
	else
		echo "$name misses: $missing" | head -n 5
		bad "${name}_has_guest_ps"
	fi
}

# ---- drgn -----------------------------------------------------------------
cat >"$TMP/tasks.py" <<'EOF'
from drgn.helpers.linux.pid import for_each_task
# for_each_task leaves out init_task (pid 0), which qvmi ps lists; it
# also gives every thread, and qvmi ps (like crash's task list) the
# thread-group leaders: the guest's helpers have threads (qvmi-thr-*)
for t in [prog["init_task"].address_of_()] + list(for_each_task(prog)):
    if t.pid == t.tgid:
        print("task", int(t.pid), t.comm.string_().decode(errors="replace"))
EOF
drgn_tasks() {
	timeout 300 drgn -q -c "$1" -s "$VMLINUX" "$TMP/tasks.py" 2>"$TMP/drgn.err" |
		awk '$1 == "task" { print $2, $3 }' >"$2"
}
if command -v drgn >/dev/null; then
	drgn_tasks "$DUMP" "$TMP/drgn"
	cat "$TMP/drgn.err"
	compare drgn "$TMP/drgn"
else
	skp drgn "drgn not installed (apt-get install python3-drgn)"
fi

# ---- crash ----------------------------------------------------------------
if command -v crash >/dev/null; then
	crash_tasks "$DUMP" "$TMP/crash"
	compare crash "$TMP/crash"
else
	skp crash "crash not installed"
fi

# ---- gdb ------------------------------------------------------------------
if command -v gdb >/dev/null; then
	koff=$(head -c 1048576 "$DUMP" | grep -a -o 'KERNELOFFSET=[0-9a-f]*' |
		head -n 1 | cut -d= -f2)
	check vmcoreinfo_kerneloffset '[ -n "$koff" ]'
	gdb_tasks "$DUMP" "$TMP/gdb" 300
	[ -s "$TMP/gdb" ] || tail -n 20 "$TMP/gdb.out"
	compare gdb "$TMP/gdb"
else
	skp gdb "gdb not installed"
fi

# ---- makedumpfile -----------------------------------------------------------
if command -v makedumpfile >/dev/null; then
	timeout 600 makedumpfile -d 31 "$DUMP" "$TMP/vm.kdump" \
		>"$TMP/md.out" 2>&1
	rc=$?
	check makedumpfile_exit_0 '[ $rc -eq 0 ]'
	[ $rc -eq 0 ] || tail -n 20 "$TMP/md.out"
	if [ $rc -eq 0 ] && command -v drgn >/dev/null; then
		drgn_tasks "$TMP/vm.kdump" "$TMP/mdrgn"
		compare makedumpfile_drgn "$TMP/mdrgn"
	fi
else
	skp makedumpfile "makedumpfile not installed"
fi

# ---- qvmi's kdump output: drgn, crash and makedumpfile ----------------------
# makedumpfile re-filters qvmi's kdump (-c -d 31) and reads its printk ring
# (--dump-dmesg); drgn lists the tasks of the re-filtered file.  Issue 14:
# makedumpfile 1.7.2 failed without a message on a kdump reaching past
# the kernel's last memory section (the BIOS at 0xfffc0000).
mkd_refilter() { # KDUMP NAME: $TMP/qvmi holds qvmi's tasks of KDUMP
	local rc dm="$TMP/$2.dmesg" # check() evals with its own $1 and $2
	timeout 600 makedumpfile -c -d 31 "$1" "$1.d31" >"$TMP/$2.out" 2>&1
	rc=$?
	check "${2}_makedumpfile_d31" '[ $rc -eq 0 ]'
	[ $rc -eq 0 ] || tail -n 20 "$TMP/$2.out"
	timeout 300 makedumpfile --dump-dmesg "$1" "$dm" >"$TMP/$2.out" 2>&1
	check "${2}_makedumpfile_dmesg" 'grep -q "Linux version" "$dm"'
	if [ $rc -eq 0 ] && command -v drgn >/dev/null; then
		drgn_tasks "$1.d31" "$TMP/$2.drgn"
		compare "${2}_d31_drgn" "$TMP/$2.drgn"
	fi
	rm -f "$1.d31" "$dm"
}
KD="$TMP/vm.kdump-qvmi"
timeout 300 "$QVMI" --qmp "$QMP" dump --format kdump --pause "$KD" \
	>"$TMP/kd.out" 2>&1
rc=$?
check qvmi_kdump_exit_0 '[ $rc -eq 0 ]'
if [ $rc -eq 0 ]; then
	qvmi_tasks --dump "$KD" >"$TMP/qvmi"
	check qvmi_reads_its_kdump '[ "$(wc -l <"$TMP/qvmi")" -ge "$(wc -l <"$TMP/gt")" ]'
	if command -v drgn >/dev/null; then
		drgn_tasks "$KD" "$TMP/kdrgn"
		cat "$TMP/drgn.err"
		compare kdump_drgn "$TMP/kdrgn"
	fi
	if command -v crash >/dev/null; then
		crash_tasks "$KD" "$TMP/kcrash"
		compare kdump_crash "$TMP/kcrash"
	fi
	if command -v makedumpfile >/dev/null; then
		mkd_refilter "$KD" kdump
	else
		skp kdump_makedumpfile "makedumpfile not installed"
	fi
fi

# ---- free pages left out (--dump-level 17, makedumpfile -d 16) -------------
# One paused state, three files: the ELF core, kdump level 1 and 17.  The
# ground truth for "free" is the buddy allocator's own free lists, walked
# by drgn in the ELF core (zone->free_area[order].free_list[type]): the
# pages level 17 leaves out must be exactly those of the listed free pages
# that level 1 stores.  Kernel state read through slab, vmalloc and the
# printk ring (tasks, their mm, files and stacks, modules, dmesg) must read
# the same from level 17 as from the ELF core, and the consumers must list
# the guest's tasks from it.
FD="$TMP/free"
mkdir -p "$FD"
free_dumps() {
	timeout 60 "$QVMI" --qmp "$QMP" pause >/dev/null || return 1
	timeout 300 "$QVMI" --qmp "$QMP" dump "$FD/e.elf" >/dev/null &&
		timeout 300 "$QVMI" --qmp "$QMP" dump --format kdump \
			"$FD/k1.kdump" >/dev/null &&
		timeout 300 "$QVMI" -v --qmp "$QMP" dump --format kdump \
			--dump-level 17 "$FD/k17.kdump" >/dev/null 2>"$FD/k17.err"
	local rc=$?
	timeout 60 "$QVMI" --qmp "$QMP" resume >/dev/null || rc=1
	return $rc
}
cat >"$FD/free.py" <<'EOF'
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.mm import page_to_pfn
pgdat = prog["contig_page_data"] if "contig_page_data" in prog else prog["node_data"][0]
out = []
for z in pgdat.node_zones:
    if not z.present_pages:  # an empty zone's lists were never set up
        continue
    for order in range(len(z.free_area)):
        fa = z.free_area[order]
        for mt in range(len(fa.free_list)):
            for page in list_for_each_entry("struct page", fa.free_list[mt].address_of_(), "lru"):
                pfn = int(page_to_pfn(page))
                out.extend(range(pfn, pfn + (1 << order)))
print("\n".join(map(str, out)))
EOF
cat >"$FD/cmp.py" <<'EOF'
import struct, sys
def stored(path):  # the second bitmap: pages in the file
    with open(path, "rb") as f:
        h = f.read(8192)
        bs, sub, bmb = struct.unpack_from("<III", h, 428)
        half = bmb * bs // 2
        f.seek((1 + sub) * bs + half)
        b = f.read(half)
    return {i * 8 + j for i, x in enumerate(b) if x for j in range(8) if x >> j & 1}
k1, k17 = stored(sys.argv[1]), stored(sys.argv[2])
free = {int(x) for x in open(sys.argv[3]) if x.strip()}
dropped = k1 - k17
print("free", len(free), "dropped", len(dropped), "extra", len(k17 - k1),
      "dropped_not_free", len(dropped - free),
      "free_kept", len((free & k1) - dropped))
EOF
cat >"$FD/state.py" <<'EOF'
from drgn.helpers.linux.pid import for_each_task
from drgn.helpers.linux.list import list_for_each_entry
from drgn.helpers.linux.printk import get_printk_records
from drgn.helpers.linux.fs import for_each_file
for t in for_each_task(prog):
    mm = t.mm
    print("task", int(t.pid), t.comm.string_().decode(), int(t.__state),
          int(mm.total_vm) if mm else 0, int(mm.mmap_base) if mm else 0,
          sum(1 for _ in for_each_file(t)),
          bytes(prog.read(int(t.stack), 64)).hex())
for m in list_for_each_entry("struct module", prog["modules"].address_of_(), "list"):
    print("module", m.name.string_().decode())
recs = get_printk_records(prog)
print("printk", len(recs), recs[-1].text.decode(errors="replace"))
EOF
free_drgn() {
	timeout 300 drgn -q -c "$FD/e.elf" -s "$VMLINUX" "$FD/free.py" \
		>"$FD/free.pfns" 2>"$FD/free.err" || cat "$FD/free.err"
	python3 "$FD/cmp.py" "$FD/k1.kdump" "$FD/k17.kdump" "$FD/free.pfns" \
		>"$FD/cmp.out"
	cat "$FD/cmp.out"
	read -r _ nfree _ ndrop _ nextra _ nbad _ nkept <"$FD/cmp.out"
	check free_pages_listed '[ "${nfree:-0}" -gt 1000 ]'
	check free_dropped_are_free '[ "${ndrop:-0}" -gt 0 ] && [ "${nbad:-1}" -eq 0 ] && [ "${nextra:-1}" -eq 0 ]'
	check free_all_dropped '[ "${nkept:-1}" -eq 0 ]'
	timeout 300 drgn -q -c "$FD/e.elf" -s "$VMLINUX" "$FD/state.py" \
		>"$FD/st-e" 2>&1
	timeout 300 drgn -q -c "$FD/k17.kdump" -s "$VMLINUX" "$FD/state.py" \
		>"$FD/st-k17" 2>&1
	echo "kernel state lines: $(wc -l <"$FD/st-e")"
	check free_kernel_state_same 'grep -q "^printk" "$FD/st-e" && cmp -s "$FD/st-e" "$FD/st-k17"'
	drgn_tasks "$FD/k17.kdump" "$TMP/fdrgn"
	compare free_kdump_drgn "$TMP/fdrgn"
}
if free_dumps; then
	ok free_dumps_written
	s1=$(stat -c %s "$FD/k1.kdump") s17=$(stat -c %s "$FD/k17.kdump")
	echo "kdump level 1: $s1 bytes, level 17: $s17 bytes;" \
		"$(grep -o '[0-9]* free pages left out' "$FD/k17.err")"
	check free_level17_smaller '[ "$s17" -lt "$s1" ]'
	check running_after_free '[ "$(timeout 60 "$QVMI" --qmp "$QMP" status)" = running ]'
	# qvmi's kdump carries the vCPUs' notes: the same registers as the ELF
	for f in e.elf k1.kdump k17.kdump; do
		timeout 60 "$QVMI" --dump "$FD/$f" regs >"$FD/regs-$f" 2>&1
	done
	check kdump_regs_as_elf 'grep -q "^vCPU 1:" "$FD/regs-e.elf" && cmp -s "$FD/regs-e.elf" "$FD/regs-k1.kdump" && cmp -s "$FD/regs-e.elf" "$FD/regs-k17.kdump"'
	qvmi_tasks --dump "$FD/k17.kdump" >"$TMP/qvmi"
	check qvmi_reads_free_kdump '[ "$(wc -l <"$TMP/qvmi")" -ge "$(wc -l <"$TMP/gt")" ]'
	if command -v drgn >/dev/null; then
		free_drgn
	fi
	if command -v crash >/dev/null; then
		crash_tasks "$FD/k17.kdump" "$TMP/fcrash"
		compare free_kdump_crash "$TMP/fcrash"
	fi
	if command -v makedumpfile >/dev/null; then
		mkd_refilter "$FD/k17.kdump" free_kdump
	fi
else
	bad free_dumps_written
	timeout 60 "$QVMI" --qmp "$QMP" resume >/dev/null 2>&1
fi
rm -rf "$FD"

# ---- qvmi reads QEMU's own dumps (ELF in both paging modes, kdump-zlib,
# which QEMU 7.2 writes flattened) --------------------------------------------
qmp_dump() { # FILE FORMAT PAGING
	python3 - "$QMP" "$1" "$2" "$3" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(300)
s.connect(sys.argv[1])
f = s.makefile("rw")
def cmd(c, a=None):
    m = {"execute": c}
    if a:
        m["arguments"] = a
    f.write(json.dumps(m) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            return r
json.loads(f.readline())
cmd("qmp_capabilities")
a = {"paging": sys.argv[4] == "1", "protocol": "file:" + sys.argv[2],
     "detach": False}
if sys.argv[3] != "elf":
    a["format"] = sys.argv[3]
r = cmd("dump-guest-memory", a)
sys.exit(0 if "return" in r else 1)
PY
}
# QEMU's kdump-zlib carries NT_PRSTATUS and QEMU notes: with the VM
# paused, its registers must be the vCPUs' own (rip, rsp, cr3 per vCPU)
# and the same as QEMU's ELF core of that state.
regs_key() { # FILE-or-empty: "vcpu rip rsp cr3" lines from qvmi --json regs
	if [ -n "$1" ]; then
		timeout 60 "$QVMI" --json --dump "$1" regs
	else
		timeout 60 "$QVMI" --json --qmp "$QMP" regs
	fi | python3 -c 'import json,sys
for r in json.load(sys.stdin): print(r["vcpu"], r["rip"], r["rsp"], r["cr3"])'
}
if timeout 60 "$QVMI" --qmp "$QMP" pause >/dev/null; then
	regs_key "" >"$TMP/regs-live"
	qmp_dump "$TMP/qk" kdump-zlib 0 && regs_key "$TMP/qk" >"$TMP/regs-qk"
	qmp_dump "$TMP/qe" elf 0 && regs_key "$TMP/qe" >"$TMP/regs-qe"
	timeout 300 "$QVMI" --qmp "$QMP" dump --format lime "$TMP/ql" >/dev/null
	timeout 60 "$QVMI" --qmp "$QMP" resume >/dev/null
	# No LiME reader is packaged for Debian 12 (no Volatility): qvmi's
	# LiME is checked against LiME's own header definition and, byte for
	# byte, against QEMU's ELF core of the same state.
	python3 "$ROOT/tests/integration/helpers/lime_check.py" "$TMP/ql" "$TMP/qe" \
		>"$TMP/lime.out" 2>&1
	cat "$TMP/lime.out"
	check lime_as_qemu_elf 'grep -q "^lime ok" "$TMP/lime.out"'
	cat "$TMP/regs-qk"
	check qemu_kdump_regs_live '[ "$(wc -l <"$TMP/regs-live")" -ge 1 ] && cmp -s "$TMP/regs-live" "$TMP/regs-qk"'
	check qemu_kdump_regs_as_elf 'cmp -s "$TMP/regs-qe" "$TMP/regs-qk"'
	rm -f "$TMP/qk" "$TMP/qe" "$TMP/ql"
else
	bad qemu_kdump_regs_live
fi
for spec in elf:0 elf:1 kdump-zlib:0; do
	fmt=${spec%:*} pg=${spec#*:} f="$TMP/qemu-$fmt-$pg"
	if ! qmp_dump "$f" "$fmt" "$pg"; then
		bad "qemu_${fmt}_paging${pg}_written"
		continue
	fi
	qvmi_tasks --dump "$f" >"$TMP/q"
	missing=$(comm -23 "$TMP/gt" "$TMP/q" | grep -v '^0 ' || true)
	check "qvmi_reads_qemu_${fmt}_paging${pg}" '[ -s "$TMP/q" ] && [ -z "$missing" ]'
	rm -f "$f"
done
finish
