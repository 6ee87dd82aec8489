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
TEST=dump_i386
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
# shellcheck source=dump-tasks.inc
. "$(dirname "${BASH_SOURCE[0]}")/dump-tasks.inc"

[ "$(get arch)" = i386 ] || { skp all "not an i386 guest"; finish; }
command -v gdb >/dev/null || { skp all "gdb not installed"; finish; }
ver=$(basename "$(get kernel)")
ver=${ver#vmlinuz-}
fetch_vmlinux "$ver"
MAP=$(get types_map)
[ -s "$MAP" ] || MAP="$(dirname "$VMLINUX")/System.map-$ver"
[ -s "$MAP" ] || { skp all "no System.map for $ver"; finish; }

guest_ps_gt

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

gdb_tasks "$DUMP" "$TMP/gdb" 900
[ -s "$TMP/gdb" ] || tail -n 20 "$TMP/gdb.out"
echo "gdb: $(wc -l <"$TMP/gdb") tasks, guest ps: $(wc -l <"$TMP/gt")"
missing=$(comm -23 "$TMP/gt" "$TMP/gdb" | grep -v '^0 ' || true)
[ -z "$missing" ] || echo "gdb misses: $missing" | head -n 5
check gdb_has_guest_ps '[ -s "$TMP/gdb" ] && [ -z "$missing" ]'
if [ -s "$(get types_btf)" ]; then
	qvmi_tasks --dump "$DUMP" --system-map "$MAP" --btf "$(get types_btf)" \
		>"$TMP/qvmi"
	check gdb_same_tasks_as_qvmi 'diff -u "$TMP/qvmi" "$TMP/gdb"'
else
	skp gdb_same_tasks_as_qvmi "no BTF for qvmi ps (demo-guest --types)"
fi
# QEMU's physical layout: gdb cannot reach the kernel's variables.  It
# may read init_task from the vmlinux file itself (its .data as built, pid
# 0), but not one task of the running guest.
timeout 300 "$QVMI" --qmp "$QMP" dump --pause --no-kernel "$TMP/nk.elf" \
	>/dev/null 2>&1
gdb_tasks "$TMP/nk.elf" "$TMP/gdbnk" 900
cat "$TMP/gdbnk"
check gdb_none_without_layout '! grep -qv "^0 " "$TMP/gdbnk"'
finish
