#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Unmodified LibVMI (its KVM driver over libkvmi, built from their master
# sources; neither is vendored nor packaged in Debian 12) against qvmid's
# KVMi front-end (docs/KVMI.md), with the guest run by a real libvirtd.
#
# LibVMI's KVM driver looks the domain up by name in libvirt
# (virConnectOpenAuth("qemu:///system"), virDomainLookupByName), then
# listens on the KVMi socket and waits for the VM side to dial in.  So
# this script starts Debian's libvirtd and virtlogd in a private mount
# namespace as tests/integration/libvirt.sh does, boots the demo guest as
# a TCG domain through the qvmi-qemu shim with kvmi_dir and gdb_dir (qvmid
# --kvmi-connect DIR/<domain>.kvmi --gdb ...), and runs LibVMI's own
# example programs inside that namespace, where qemu:///system is that
# libvirtd.
#
# LIBVMI_DIR: LibVMI's CMake build directory (examples/vmi-process-list,
# examples/breakpoint-recoil-example, examples/breakpoint-emulate-example);
# LIBKVMI_DIR: the directory holding libkvmi.so (LibVMI dlopens it).  CI
# cannot fetch them: without both this script skips.  docs/KVMI.md says
# how to build them.
#
# LibVMI's Linux offsets come from the guest itself: its BTF
# (__start_BTF..__stop_BTF, read through qvmid's pmemaccess server with
# qvmi) through pahole, and the System.map of the kernel booted.
#
# Checks: vmi-process-list's pids and names against the guest's ground
# truth (QVMI-GT lines), breakpoint-recoil-example and
# breakpoint-emulate-example hits on __x64_sys_clock_nanosleep with LibVMI
# checking RIP == the symbol, and after each tool: the guest runs, no
# 0xCC is left at the symbol and the gdbstub holds no breakpoint.
# Prints "N passed, N failed, N skipped".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=libvmi
# shellcheck source=libvirtd-private.inc
. "$ROOT/tests/integration/libvirtd-private.inc"
SYM=__x64_sys_clock_nanosleep

LV=${LIBVMI_DIR:-}
if [ -z "$LV" ] || [ ! -x "$LV/examples/vmi-process-list" ] ||
	[ -z "${LIBKVMI_DIR:-}" ] || [ ! -e "$LIBKVMI_DIR/libkvmi.so" ]; then
	skip_all "set LIBVMI_DIR (LibVMI's build dir) and" \
		"LIBKVMI_DIR (libkvmi.so's dir); see docs/KVMI.md"
fi
libvirt_guest
libvirt_usable pahole || skip_all "needs root, libvirt-daemon-system, pahole," \
	"$BUILD/qvmi-qemu and the demo guest's initramfs"

W=$(mktemp -d /tmp/qvmi-libvmi-XXXXXX)
V=(virsh -q -c "qemu:///system?socket=$W/run/libvirt-sock")
DOM=qvmilibvmi
D=$W/dom

trap 'libvirt_cleanup $DOM' EXIT

private_libvirtd_files "$W"
shim_emulator "$D"
# LibVMI always asks for STAR/LSTAR/CSTAR/SYSENTER_* (no stock source:
# docs/KVMI.md "MSRs"), and its events init enables CR, MSR and PF events.
cat >"$D/qvmi-qemu.conf" <<EOF
qvmid = $B/qvmid
pmemaccess_dir = $D
kvmi_dir = $D
gdb_dir = $D
qvmid_args = -v -v --kvmi-reconnect 200 --kvmi-unknown-msr zero --kvmi-unsupported accept
EOF
dom_xml $DOM "$D/emulator" "$D/serial.log" >"$D/$DOM.xml"

start_private_libvirtd
"${V[@]}" define "$D/$DOM.xml" >/dev/null
if ! "${V[@]}" start $DOM >"$W/start.err" 2>&1; then
	bad "the domain starts through the shim" "$(head -c 300 "$W/start.err")"
	finish
fi
for _ in $(seq 180); do
	grep -q "QVMI-GT ready" "$D/serial.log" 2>/dev/null && break
	sleep 1
done
if ! grep -q "QVMI-GT ready" "$D/serial.log"; then
	bad "the guest boots"
	finish
fi
ok "the guest boots under libvirtd, qvmid --kvmi-connect in its monitor path"

Q=("$B/qvmi" --pmem "$D/$DOM.pmem")
symaddr() { "${Q[@]}" sym "$1" 2>/dev/null | awk '{ print $1; exit }'; }
# The guest's own BTF, for pahole.
bs=$(symaddr __start_BTF) be=$(symaddr __stop_BTF)
hmp() { "${V[@]}" qemu-monitor-command $DOM --hmp "$1" | tr -d '\r'; }
if ! btf_memsave $DOM "$bs" "$be"; then
	bad "the guest's BTF (memsave)" "$bs $be $(head -c 200 "$W/btf.err")"
	finish
fi
if ! btf_offsets; then
	bad "offsets from the guest's BTF" "$tasks/$mm/$pid/$comm/$pgd"
	finish
fi
ok "offsets from the guest's BTF: tasks $tasks mm $mm pid $pid comm $comm pgd $pgd"
# A System.map from the guest's kallsyms as qvmi reads them.
SYSMAP=$W/System.map
guest_sysmap "$SYSMAP" $SYM
if [ "$(grep -c ' init_task$\| '$SYM'$' "$SYSMAP")" != 2 ]; then
	bad "a System.map from the guest's kallsyms" "$(head -c 300 "$SYSMAP")"
	finish
fi
libvmi_conf_entry $DOM "$SYSMAP" >"$W/libvmi.conf"

# LibVMI inside libvirtd's mount namespace (qemu:///system is that
# libvirtd), in $W where it finds libvmi.conf; LibVMI listens on the
# socket and qvmid dials it (LibVMI waits up to 10 s).
lvmi() { # timeout-seconds program args... (SIG: the signal at the end)
	local t=$1
	shift
	nsenter -m -t "$(cat "$W/libvirtd.pid")" env \
		LD_LIBRARY_PATH="$LIBKVMI_DIR" ${LIBVMI_DEBUG:+LIBVMI_DEBUG=1} \
		sh -c 'cd "$0" && exec "$@"' \
		"$W" timeout -s "${SIG:-INT}" -k 10 "$t" stdbuf -oL "$@"
}
KS=$D/$DOM.kvmi

# pid comm of the guest's kernel threads (PPID 2, not kworkers) from its
# ground truth, comm cut to 15 bytes as in task->comm
gt_kthreads() {
	tr -d '\r' <"$D/serial.log" | awk '$1 == "QVMI-GT" && $2 == "ps" &&
		$4 == 2 && $6 !~ /^kworker/ { print $3, substr($6, 1, 15) }' |
		sort -u
}
lvmi 60 "$LV/examples/vmi-process-list" -n $DOM -s "$KS" >"$W/ps.out" \
	2>"$W/ps.err"
rc=$?
# vmi-process-list: "[  PID] NAME (struct addr:...)"
sed -n 's/^\[ *\([0-9]*\)\] \([^ ]*\) (struct addr.*/\1 \2/p' "$W/ps.out" |
	sort -u >"$W/ps.got"
n=$(wc -l <"$W/ps.got")
missing=$(comm -23 <(gt_kthreads) "$W/ps.got")
if [ $rc -eq 0 ] && [ -n "$(gt_kthreads)" ] && [ -z "$missing" ] &&
	grep -q '^1 init$' "$W/ps.got"; then
	ok "vmi-process-list: $n processes; init and all $(gt_kthreads |
		wc -l) kernel threads match the guest's pids and names"
else
	bad "vmi-process-list (rc $rc, $n rows)" \
		"missing: $(echo $missing | head -c 200) $(tail -n 3 "$W/ps.err" "$W/ps.out")"
fi

# gdbstub breakpoints held by qvmid: none once a tool is gone
sym=$(symaddr $SYM)
cc_left() { # prints the first byte at the symbol (vCPU 0's view)
	hmp "x /1bx $sym" | awk '{ sub(/^0x/, "", $2); print $2 }'
}
jif=$(symaddr jiffies_64)
jiffies() {
	printf '%d' "$(hmp "x /1gx $jif" | awk '{ print $2 }')"
}
# qvmid's log (-v): a stop at a breakpoint of its own that no tool
# wants, i.e. a gdbstub breakpoint left behind
stray() { grep -ac "with BREAKPOINT events off" "$W"/log/qemu/$DOM.log; }
after_tool() { # name
	local j0 j1 s0 s1
	sleep 1
	j0=$(jiffies) s0=$(stray)
	sleep 2
	j1=$(jiffies) s1=$(stray)
	if [ "$(cc_left)" != cc ] && [ -n "$j0" ] && [ "${j1:-0}" -gt "$j0" ] &&
		[ "$s0" = "$s1" ] &&
		[ "$("${V[@]}" domstate $DOM)" = running ]; then
		ok "$1: afterwards the guest runs (jiffies $j0 -> $j1), no 0xCC and no breakpoint left"
	else
		bad "$1: afterwards the guest runs, no 0xCC and no breakpoint left" \
			"byte $(cc_left), jiffies $j0 -> $j1, stray stops $s0 -> $s1"
	fi
}
bp_tool() { # name hit-line program args...
	local name=$1 line=$2 hits
	shift 2
	lvmi "${SECS:-20}" "$@" >"$W/$name.out" 2>"$W/$name.err"
	hits=$(grep -c "$line" "$W/$name.out")
	if [ "$hits" -ge 3 ] && ! grep -q "Not our breakpoint" "$W/$name.out"; then
		ok "$name: $hits hits on $SYM, each with RIP = the symbol"
	else
		bad "$name: hits on $SYM" "$hits; $(tail -n 4 "$W/$name.out" \
			"$W/$name.err" | head -c 400)"
	fi
	after_tool "$name"
}
# Each hit checks event RIP == the symbol, else "Not our breakpoint".
bp_tool breakpoint-recoil-example "Breakpoint hit at $SYM" \
	"$LV/examples/breakpoint-recoil-example" $DOM $SYM "$KS"
# Killed (SIGKILL) in the middle: it restores nothing, qvmid's ledger
# takes its breakpoints out and writes the byte back.
SIG=KILL SECS=8 bp_tool breakpoint-recoil-example-SIGKILL \
	"Breakpoint hit at $SYM" \
	"$LV/examples/breakpoint-recoil-example" $DOM $SYM "$KS"
# LibVMI's KVM driver has no SET_EMUL_INSN for int3 events (KVMi has no
# such reply): not reinjecting answers RETRY, so the vCPU meets the same
# int3 again, as on KVM; the hits are what is checked.
bp_tool breakpoint-emulate-example "We hit our breakpoint on $SYM" \
	"$LV/examples/breakpoint-emulate-example" $DOM $SYM 5 "$KS"
finish
