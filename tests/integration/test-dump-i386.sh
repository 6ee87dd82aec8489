#!/bin/bash
# qvmi dump of an i386 guest (Debian's 686-pae kernel) as a kernel dump:
# the VMCOREINFO note from guest memory and the kernel's virtual layout
# (lowmem at PAGE_OFFSET + paddr up to high_memory, the rest at 4 GiB +
# paddr, out of every 32-bit address), read by gdb 13 with the kernel's
# debug vmlinux (scripts/fetch-vmlinux VERSION, ~765 MB once, cached in
# build/dbg/).  The 686-pae kernel has no KALLSYMS_ALL: vmcoreinfo_note
# and high_memory come from its System.map.
#
# gdb lists the tasks (init_task.tasks), compared with the guest's own ps
# (serial log "QVMI-GT ps" lines, kworkers aside), and must list none from
# QEMU's physical-only layout (--no-kernel): the check can fail.  The i386
# kernel is KASLR'd: gdb moves the symbols by VMCOREINFO's
# SYMBOL(init_uts_ns) less the System.map's.  crash is not run: Debian
# 12's crash 8.0.2 is built for X86_64 only ("machine type mismatch").
#
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
QMP=$(get qmp)
SERIAL=$(get serial)
BUILD=${QVMI_BUILD:?}
ROOT=${QVMI_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
QVMI="$BUILD/qvmi"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0 skip=0

ok() { echo "PASS dump_i386::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL dump_i386::$1"; fail=$((fail + 1)); }
skp() { echo "SKIP dump_i386::$1: $2"; skip=$((skip + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
finish() {
	echo "$pass passed, $fail failed, $skip skipped"
	exit 0
}

[ "$(get arch)" = i386 ] || { skp all "not an i386 guest"; finish; }
command -v gdb >/dev/null || { skp all "gdb not installed"; finish; }
ver=$(basename "$(get kernel)")
ver=${ver#vmlinuz-}
VMLINUX=$("$ROOT/scripts/fetch-vmlinux" "$ver" 2>"$TMP/fetch.err") || {
	cat "$TMP/fetch.err"
	skp all "no debug vmlinux for $ver (scripts/fetch-vmlinux failed)"
	finish
}
MAP=$(get types_map)
[ -s "$MAP" ] || MAP="$(dirname "$VMLINUX")/System.map-$ver"
[ -s "$MAP" ] || { skp all "no System.map for $ver"; finish; }

tr -d '\r' <"$SERIAL" |
	awk '$1 == "QVMI-GT" && $2 == "ps" && $6 !~ /^kworker\// {
		print $3, substr($6, 1, 15) }' | sort -u >"$TMP/gt"
[ -s "$TMP/gt" ] || { skp all "no QVMI-GT ps lines in the serial log"; finish; }

DUMP="$TMP/vm32.elf"
timeout 300 "$QVMI" --qmp "$QMP" --system-map "$MAP" dump --pause "$DUMP" \
	>"$TMP/dump.out" 2>&1
rc=$?
cat "$TMP/dump.out"
check qvmi_dump_exit_0 '[ $rc -eq 0 ]'
check no_layout_warning '! grep -q "no Linux kernel layout" "$TMP/dump.out"'
[ $rc -eq 0 ] || finish
# PT_LOAD of paddr 0 at PAGE_OFFSET, all others at 4 GiB + paddr or lowmem
python3 - "$DUMP" >"$TMP/layout" <<'EOF'
import struct, sys
f = open(sys.argv[1], "rb")
eh = f.read(64)
phoff, = struct.unpack_from("<Q", eh, 32)
n, = struct.unpack_from("<H", eh, 56)
ok = struct.unpack_from("<H", eh, 18)[0] == 3
loads = 0
for i in range(n):
    f.seek(phoff + i * 56)
    t, _, off, va, pa, fs, _, _ = struct.unpack("<IIQQQQQQ", f.read(56))
    if t != 1:
        continue
    loads += 1
    print(hex(pa), hex(va), hex(fs))
    ok = ok and (va == 0xc0000000 + pa if va < 1 << 32 else va == (1 << 32) + pa)
    ok = ok and (pa != 0 or va == 0xc0000000)
print("layout", "ok" if ok and loads else "bad")
EOF
cat "$TMP/layout"
check layout_lowmem_at_page_offset 'grep -q "^layout ok" "$TMP/layout"'
koff=$(python3 - "$DUMP" "$MAP" <<'EOF'
import re, sys
head = open(sys.argv[1], "rb").read(1 << 20).decode("latin-1")
m = re.search(r"SYMBOL\(init_uts_ns\)=([0-9a-f]+)", head)
s = [l.split()[0] for l in open(sys.argv[2]) if l.split()[-1:] == ["init_uts_ns"]]
if m and s:
    print("%x" % (int(m.group(1), 16) - int(s[0], 16)))
EOF
)
check vmcoreinfo_note '[ -n "$koff" ]'

cat >"$TMP/tasks-gdb.py" <<'EOF'
import gdb
tt = gdb.lookup_type("struct task_struct").pointer()
off = int(gdb.parse_and_eval("(unsigned long)&((struct task_struct *)0)->tasks"))
head = int(gdb.parse_and_eval("(unsigned long)&init_task.tasks"))
p = int(gdb.parse_and_eval("init_task.tasks.next"))
t = gdb.parse_and_eval("&init_task")
print("task", int(t["pid"]), t["comm"].string())
n = 0
while p != head and n < 65536:
    t = gdb.Value(p - off).cast(tt)
    print("task", int(t["pid"]), t["comm"].string())
    p = int(t["tasks"]["next"])
    n += 1
EOF
gdb_tasks() { # DUMP OUT
	timeout 900 gdb -batch -nx -ex "symbol-file -o 0x${koff:-0} $VMLINUX" \
		-ex "source $TMP/tasks-gdb.py" "$VMLINUX" "$1" >"$2.out" 2>&1
	awk '$1 == "task" { print $2, $3 }' "$2.out" | sort -u >"$2"
}
gdb_tasks "$DUMP" "$TMP/gdb"
[ -s "$TMP/gdb" ] || tail -n 20 "$TMP/gdb.out"
echo "gdb: $(wc -l <"$TMP/gdb") tasks, guest ps: $(wc -l <"$TMP/gt")"
missing=$(comm -23 "$TMP/gt" "$TMP/gdb" | grep -v '^0 ' || true)
[ -z "$missing" ] || echo "gdb misses: $missing" | head -n 5
check gdb_has_guest_ps '[ -s "$TMP/gdb" ] && [ -z "$missing" ]'
if [ -s "$(get types_btf)" ]; then
	timeout 120 "$QVMI" --json --dump "$DUMP" --system-map "$MAP" \
		--btf "$(get types_btf)" ps |
		python3 -c 'import json,sys
for t in json.load(sys.stdin): print(t["pid"], t["comm"][:15])' |
		sort -u >"$TMP/qvmi"
	check gdb_same_tasks_as_qvmi 'diff -u "$TMP/qvmi" "$TMP/gdb"'
else
	skp gdb_same_tasks_as_qvmi "no BTF for qvmi ps (demo-guest --types)"
fi
# QEMU's physical layout: gdb cannot reach the kernel's variables.  It
# may read init_task from the vmlinux file itself (its .data as built, pid
# 0), but not one task of the running guest.
timeout 300 "$QVMI" --qmp "$QMP" dump --pause --no-kernel "$TMP/nk.elf" \
	>/dev/null 2>&1
gdb_tasks "$TMP/nk.elf" "$TMP/gdbnk"
cat "$TMP/gdbnk"
check gdb_none_without_layout '! grep -qv "^0 " "$TMP/gdbnk"'
finish
