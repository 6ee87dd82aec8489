#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Unmodified LibVMI built with its *legacy* KVM driver (cmake
# -DENABLE_KVM_LEGACY=ON, libvmi/driver/kvm/kvm_legacy.c) against a libvirt
# domain whose only change is <emulator> = qvmi-qemu (issue 13, "Done
# when").  The legacy driver connects to qemu:///system, sends
# {"execute": "pmemaccess", "arguments": {"path": "/tmp/vmiXXXXXX"}} with
# virDomainQemuMonitorCommand on libvirt's monitor connection, then reads
# guest-physical memory over that unix socket (docs/PMEMACCESS.md).  When
# QEMU answers CommandNotFound (stock QEMU, no shim), it falls back to one
# HMP "xp /1024wx" per page through the same libvirt call.
#
# This script starts Debian's libvirtd and virtlogd in a private mount
# namespace as tests/integration/libvirt.sh does and boots the demo guest
# twice as a TCG domain: through the shim (memfd RAM), and with the stock
# /usr/bin/qemu-system-x86_64 (LibVMI's own fallback).  LibVMI's
# vmi-process-list runs inside that namespace (qemu:///system is that
# libvirtd) on each; its pids and names are checked against the guest's
# ground truth (QVMI-GT lines), and the wall time of both runs is printed
# (the ratio is the point of pmemaccess).
#
# LIBVMI_LEGACY_DIR: LibVMI's CMake build directory, configured with
# -DENABLE_KVM_LEGACY=ON (examples/vmi-process-list).  CI cannot fetch it:
# without it this script skips.  docs/LIBVIRT.md says how to build it.
# LibVMI's Linux offsets come from the guest's own BTF (read with
# qvmi --domain, then pahole) and a System.map of run-time addresses
# from the guest's kallsyms, as in tests/integration/libvmi.sh.
# Also checked through the shim: qvmid logs the pmemaccess server LibVMI
# asked for and removes it after; vmi-dump-memory of all 512 MiB equals
# QEMU's pmemsave; a vmi_write_pa (pmemaccess write) lands, per pmemsave.
# QVMI_LEGACY_NO_FALLBACK=1 skips the stock-QEMU run.
# Prints "N passed, N failed, N skipped".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=libvmi-legacy
# shellcheck source=libvirtd-private.inc
. "$ROOT/tests/integration/libvirtd-private.inc"

LV=${LIBVMI_LEGACY_DIR:-}
if [ -z "$LV" ] || [ ! -x "$LV/examples/vmi-process-list" ] ||
	! grep -q '^ENABLE_KVM_LEGACY:BOOL=ON' "$LV/CMakeCache.txt" 2>/dev/null; then
	skip_all "set LIBVMI_LEGACY_DIR to a LibVMI build" \
		"configured with -DENABLE_KVM_LEGACY=ON; see docs/LIBVIRT.md"
fi
libvirt_guest
if ! libvirt_usable pahole || [ ! -x "$B/qvmi" ]; then
	skip_all "needs root, libvirt-daemon-system, pahole," \
		"$BUILD/qvmi-qemu, $BUILD/qvmi and the demo guest's initramfs"
fi

W=$(mktemp -d /tmp/qvmi-legacy-XXXXXX)
URI="qemu:///system?socket=$W/run/libvirt-sock"
V=(virsh -q -c "$URI")
SHIM=qvmilegacy PLAIN=qvmilegacyplain
D=$W/dom

trap 'libvirt_cleanup $SHIM $PLAIN' EXIT

private_libvirtd_files "$W"
# No pmemaccess_dir: LibVMI starts its own server with the QMP command.
shim_emulator "$D"
printf 'qvmid = %s\nqvmid_args = -v\n' "$B/qvmid" >"$D/qvmi-qemu.conf"

start_private_libvirtd

boot() { # NAME EMULATOR
	dom_xml "$1" "$2" "$D/$1.serial" >"$D/$1.xml"
	"${V[@]}" define "$D/$1.xml" >/dev/null
	if ! "${V[@]}" start "$1" >"$W/start.err" 2>&1; then
		bad "$1: the domain starts" "$(head -c 300 "$W/start.err")"
		return 1
	fi
	for _ in $(seq 180); do
		grep -q "QVMI-GT ready" "$D/$1.serial" 2>/dev/null && return 0
		sleep 1
	done
	bad "$1: the guest boots"
	return 1
}

# libvmi_conf NAME: offsets from the guest's BTF and a System.map of its
# run-time addresses (LibVMI then finds a KASLR offset of 0), read with
# qvmi --domain through this libvirtd.
libvmi_conf() {
	local d=$1 bs be tasks mm pid comm pgd
	Q=("$B/qvmi" --domain "$d" --connect "$URI")
	symaddr() { "${Q[@]}" sym "$1" 2>/dev/null | awk '{ print $1; exit }'; }
	bs=$(symaddr __start_BTF) be=$(symaddr __stop_BTF)
	if ! btf_memsave "$d" "$bs" "$be"; then
		bad "$d: the guest's BTF (memsave)" "$bs $be $(head -c 200 "$W/btf.err")"
		return 1
	fi
	if ! btf_offsets; then
		bad "$d: offsets from the guest's BTF" "$tasks/$mm/$pid/$comm/$pgd"
		return 1
	fi
	guest_sysmap "$W/$d.map"
	if ! grep -q ' init_task$' "$W/$d.map"; then
		bad "$d: a System.map from the guest's kallsyms" \
			"$(head -c 300 "$W/$d.map")"
		return 1
	fi
	libvmi_conf_entry "$d" "$W/$d.map" >>"$W/libvmi.conf"
	ok "$d: offsets from the guest's BTF: tasks $tasks mm $mm pid $pid comm $comm pgd $pgd"
}

# LibVMI inside libvirtd's mount namespace (its qemu:///system is this
# libvirtd), in $W where it finds libvmi.conf.
lvmi() { # timeout-seconds program args...
	local t=$1
	shift
	nsenter -m -t "$(cat "$W/libvirtd.pid")" env \
		${LIBVMI_DEBUG:+LIBVMI_DEBUG=1} sh -c 'cd "$0" && exec "$@"' \
		"$W" timeout -s "${SIG:-TERM}" -k 10 "$t" "$@"
}
# "pid comm" of the guest's kernel threads (PPID 2, not kworkers) from
# its ground truth, comm cut to 15 bytes as in task->comm
gt_kthreads() { # NAME
	tr -d '\r' <"$D/$1.serial" | awk '$1 == "QVMI-GT" && $2 == "ps" &&
		$4 == 2 && $6 !~ /^kworker/ { print $3, substr($6, 1, 15) }' |
		sort -u
}
# process_list NAME KIND: vmi-process-list against the ground truth; its
# wall time (ms) in $MS
process_list() {
	local d=$1 k=$2 rc n missing t0 t1
	t0=$(date +%s%N)
	lvmi "${LEGACY_TIMEOUT:-1800}" "$LV/examples/vmi-process-list" -n "$d" \
		>"$W/$d.out" 2>"$W/$d.err"
	rc=$?
	t1=$(date +%s%N)
	MS=$(((t1 - t0) / 1000000))
	sed -n 's/^\[ *\([0-9]*\)\] \([^ ]*\) (struct addr.*/\1 \2/p' \
		"$W/$d.out" | sort -u >"$W/$d.got"
	n=$(wc -l <"$W/$d.got")
	missing=$(comm -23 <(gt_kthreads "$d") "$W/$d.got")
	if [ $rc -eq 0 ] && [ -n "$(gt_kthreads "$d")" ] &&
		[ -z "$missing" ] && grep -q '^1 init$' "$W/$d.got"; then
		ok "$k: vmi-process-list in $MS ms: $n processes; init and all $(gt_kthreads "$d" |
			wc -l) kernel threads match the guest's pids and names"
	else
		bad "$k: vmi-process-list (rc $rc, $n rows, $MS ms)" \
			"missing: $(echo $missing | head -c 200) $(tail -n 3 "$W/$d.err" "$W/$d.out")"
		MS=
	fi
}

# timed_runs NAME KIND: LEGACY_RUNS (default 3) checked runs of
# vmi-process-list; MED is their median wall time in ms (empty if any
# run failed)
timed_runs() {
	local i ms=()
	MED=
	for i in $(seq "${LEGACY_RUNS:-3}"); do
		process_list "$1" "$2, run $i"
		[ -n "$MS" ] && ms+=("$MS")
	done
	[ ${#ms[@]} = "${LEGACY_RUNS:-3}" ] &&
		MED=$(printf '%s\n' "${ms[@]}" | sort -n |
			awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')
}

# ---- through the shim: pmemaccess --------------------------------------
boot $SHIM "$D/emulator" || finish
ok "$SHIM: the guest boots under libvirtd, qvmid in its monitor path"
libvmi_conf $SHIM || finish
timed_runs $SHIM "shim (pmemaccess)"
MS_SHIM=$MED
# The reads went over pmemaccess, not xp: qvmid (-v) logs the server
# LibVMI asked for through libvirt and its end once LibVMI quit (the
# domain log is QEMU's and qvmid's stderr), and the socket is gone.
log=$W/log/qemu/$SHIM.log
sock=$(grep -ao 'pmemaccess started on /tmp/vmi[^ ]* by a client' "$log" |
	awk '{ print $4; exit }')
if [ -n "$sock" ] && [ ! -e "$sock" ] &&
	grep -aqF "pmemaccess $sock: session over" "$log"; then
	ok "shim: LibVMI started pmemaccess on $sock through libvirt; removed after its session"
else
	bad "shim: LibVMI's pmemaccess through libvirt" \
		"$(grep -a pmemaccess "$log" | tail -n 3)"
fi
# Bulk reads: vmi-dump-memory (one 4 KiB vmi_read_pa per frame) of the
# paused guest against QEMU's own pmemsave of [0, 512 MiB) at the same
# moment; --no-pause as the guest is paused here (virsh suspend).
RAM=$((512 << 20))
if "${V[@]}" suspend $SHIM >/dev/null; then
	t0=$(date +%s%N)
	lvmi 900 "$LV/examples/vmi-dump-memory" --no-pause $SHIM "$W/dump.bin" \
		>"$W/dump.out" 2>&1
	rc=$?
	t1=$(date +%s%N)
	"${V[@]}" qemu-monitor-command $SHIM "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": $RAM, \"filename\": \"$W/truth.bin\"}}" >/dev/null
	"${V[@]}" resume $SHIM >/dev/null
	ms=$(((t1 - t0) / 1000000))
	if [ $rc -eq 0 ] && [ "$(stat -c %s "$W/dump.bin")" -ge $RAM ] &&
		[ "$(stat -c %s "$W/truth.bin")" = $RAM ] &&
		cmp -s -n $RAM "$W/dump.bin" "$W/truth.bin"; then
		ok "shim: vmi-dump-memory of 512 MiB in $ms ms ($((RAM / 4096 * 1000 / ms)) pages/s) equals QEMU's pmemsave"
	else
		bad "shim: vmi-dump-memory equals QEMU's pmemsave" \
			"rc $rc, $(cmp -n $RAM "$W/dump.bin" "$W/truth.bin" 2>&1 |
				head -1) $(tail -n 2 "$W/dump.out")"
	fi
	rm -f "$W/dump.bin" "$W/truth.bin"
else
	bad "shim: virsh suspend"
fi
# A write (pmemaccess type 2).  LibVMI's vmi-rwmem needs
# vmi_get_vcpuregs, which the legacy driver does not have, so a 20-line
# client of LibVMI's API (vmi_init on VMI_KVM, vmi_write_pa, built here
# against that build) writes 4 KiB of random bytes at guest-physical PA
# of the paused guest; QEMU's pmemsave must then read them, and the
# page's own bytes go back the same way before the guest resumes.
SRC=$(sed -n 's/^CMAKE_HOME_DIRECTORY:INTERNAL=//p' "$LV/CMakeCache.txt")
cat >"$W/writepa.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <libvmi/libvmi.h>
int main(int argc, char **argv)
{
	vmi_instance_t vmi = NULL;
	char buf[4096];
	size_t done = 0;
	FILE *f;

	if (argc != 4 || !(f = fopen(argv[3], "rb")) ||
	    fread(buf, 1, sizeof(buf), f) != sizeof(buf))
		return 2;
	if (vmi_init(&vmi, VMI_KVM, argv[1], VMI_INIT_DOMAINNAME, NULL,
		     NULL) != VMI_SUCCESS)
		return 3;
	if (vmi_write_pa(vmi, strtoull(argv[2], NULL, 0), sizeof(buf), buf,
			 &done) != VMI_SUCCESS || done != sizeof(buf))
		return 4;
	vmi_destroy(vmi);
	printf("wrote %zu bytes\n", done);
	return 0;
}
EOF
PA=$((256 << 20))
pmemsave() { # PA LEN FILE
	"${V[@]}" qemu-monitor-command $SHIM "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": $1, \"size\": $2, \"filename\": \"$3\"}}" >/dev/null
}
if ! cc -o "$W/writepa" "$W/writepa.c" -I"$SRC" -I"$LV" -I"$LV/libvmi" \
	-L"$LV/libvmi" -Wl,-rpath,"$LV/libvmi" -lvmi $(pkg-config --cflags \
	--libs glib-2.0 json-c 2>/dev/null) >"$W/cc.err" 2>&1; then
	bad "shim: a vmi_write_pa client builds" "$(head -c 300 "$W/cc.err")"
elif "${V[@]}" suspend $SHIM >/dev/null; then
	head -c 4096 /dev/urandom >"$W/pattern.bin"
	pmemsave $PA 4096 "$W/orig.bin"
	lvmi 120 "$W/writepa" $SHIM $PA "$W/pattern.bin" >"$W/rw.out" 2>&1
	rc1=$?
	pmemsave $PA 4096 "$W/after.bin"
	lvmi 120 "$W/writepa" $SHIM $PA "$W/orig.bin" >>"$W/rw.out" 2>&1
	rc2=$?
	pmemsave $PA 4096 "$W/back.bin"
	"${V[@]}" resume $SHIM >/dev/null
	if [ $rc1 = 0 ] && [ $rc2 = 0 ] &&
		cmp -s "$W/pattern.bin" "$W/after.bin" &&
		cmp -s "$W/orig.bin" "$W/back.bin"; then
		ok "shim: vmi_write_pa of 4 KiB at $(printf '%#x' $PA): QEMU's pmemsave reads them; the page's bytes restored"
	else
		bad "shim: vmi_write_pa" "rc $rc1/$rc2 $(head -c 200 "$W/rw.out") $(cmp "$W/pattern.bin" "$W/after.bin" 2>&1)"
	fi
else
	bad "shim: virsh suspend"
fi
# LibVMI killed (SIGKILL) in the middle of a session sends no quit
# request: qvmid must still end that server and remove its socket.
n0=$(grep -ac "session over" "$log")
SIG=KILL lvmi 3 "$LV/examples/vmi-dump-memory" $SHIM "$W/kill.bin" \
	>/dev/null 2>&1
sleep 1
sock=$(grep -ao 'pmemaccess started on /tmp/vmi[^ ]* by a client' "$log" |
	awk '{ s = $4 } END { print s }')
"${V[@]}" resume $SHIM >/dev/null 2>&1 # dump-memory paused it
if [ "$(grep -ac "session over" "$log")" -gt "$n0" ] && [ -n "$sock" ] &&
	[ ! -e "$sock" ] && grep -aqF "pmemaccess $sock: session over" "$log" &&
	[ "$("${V[@]}" domstate $SHIM)" = running ]; then
	ok "shim: LibVMI killed mid-session: qvmid ends its server, removes $sock"
else
	bad "shim: LibVMI killed mid-session" "$(grep -a pmemaccess "$log" | tail -n 2)"
fi
rm -f "$W/kill.bin"
"${V[@]}" destroy $SHIM >/dev/null 2>&1

# ---- stock QEMU: LibVMI's own fallback (HMP xp) -------------------------
if [ -n "${QVMI_LEGACY_NO_FALLBACK:-}" ]; then
	S=$((S + 1))
	echo "SKIP libvmi-legacy: stock-QEMU fallback (QVMI_LEGACY_NO_FALLBACK)"
	finish
fi
boot $PLAIN /usr/bin/qemu-system-x86_64 || finish
ok "$PLAIN: the guest boots with the stock emulator"
libvmi_conf $PLAIN || finish
timed_runs $PLAIN "stock QEMU (xp fallback)"
MS_PLAIN=$MED
# Bulk reads through the fallback: vmi-dump-memory of the paused guest
# for XP_SECS (20) seconds (SIGINT: it stops and closes its file), then
# its prefix against QEMU's pmemsave of the same range.
if "${V[@]}" suspend $PLAIN >/dev/null; then
	t0=$(date +%s%N)
	SIG=INT lvmi "${XP_SECS:-20}" "$LV/examples/vmi-dump-memory" --no-pause \
		$PLAIN "$W/dump.bin" >"$W/dump.out" 2>&1
	t1=$(date +%s%N)
	n=$(($(stat -c %s "$W/dump.bin" 2>/dev/null || echo 0) / 4096 * 4096))
	"${V[@]}" qemu-monitor-command $PLAIN "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 0, \"size\": $((n > 0 ? n : 4096)), \"filename\": \"$W/truth.bin\"}}" >/dev/null
	"${V[@]}" resume $PLAIN >/dev/null
	ms=$(((t1 - t0) / 1000000))
	if [ "$n" -gt 0 ] && cmp -s -n "$n" "$W/dump.bin" "$W/truth.bin"; then
		ok "stock QEMU (xp fallback): vmi-dump-memory read $((n / 4096)) pages in $ms ms ($((n / 4096 * 1000 / ms)) pages/s), equal to QEMU's pmemsave"
	else
		bad "stock QEMU (xp fallback): vmi-dump-memory equals pmemsave" \
			"$n bytes, $(cmp -n "$n" "$W/dump.bin" "$W/truth.bin" 2>&1 |
				head -1) $(tail -n 2 "$W/dump.out")"
	fi
	rm -f "$W/dump.bin" "$W/truth.bin"
else
	bad "$PLAIN: virsh suspend"
fi
if [ -n "$MS_SHIM" ] && [ -n "$MS_PLAIN" ] && [ "$MS_SHIM" -gt 0 ]; then
	echo "libvmi-legacy: vmi-process-list median wall time: pmemaccess $MS_SHIM ms," \
		"xp fallback $MS_PLAIN ms, ratio $(awk -v a="$MS_PLAIN" \
			-v b="$MS_SHIM" 'BEGIN { printf "%.1f", a / b }')x"
fi
finish
