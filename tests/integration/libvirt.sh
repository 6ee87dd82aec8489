#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# A real libvirtd (Debian's libvirt-daemon-system 9.0) with qvmid in a
# domain's monitor path through the <emulator> shim (docs/LIBVIRT.md).
#
# No systemd: this script starts virtlogd -d and libvirtd -d itself, in a
# private mount namespace where /etc/libvirt, /run/libvirt,
# /var/lib/libvirt, /var/log/libvirt and /var/cache/libvirt are
# directories of its own (a copy of /etc/libvirt with a qemu.conf that runs
# QEMU as root, no security driver, no cgroups, no namespaces), so a host's
# own libvirt is not touched.  virsh talks to it by its socket path.  One
# TCG domain boots the demo guest's kernel and initramfs
# (scripts/demo-guest build) with memfd RAM.
#
# Covered: start through the shim, libvirt's monitor answered through
# qvmid, a pmemaccess client (qvmi --pmem) against the guest's ground
# truth, suspend/resume, virsh dump (getfd over SCM_RIGHTS), NIC hot-plug
# (a tap fd through getfd + netdev_add), a libvirtd restart while the
# domain runs, save/restore, reboot, destroy (qvmid ends with QEMU).
# Then qvmi --domain (issue 13 item 6) on that domain and on a second one
# without the shim (anonymous RAM, a second QMP monitor and a gdbstub of
# its own): ps against the ground truth, again from the layout cache,
# info, pause/status/resume, regs against QEMU's info registers, the BIOS
# window against QEMU's pmemsave, Python's VM(domain=), watch with --gdb,
# the errors (not running, not found, no libvirtd, no libvirt), and the
# bench row (qvmi-bench libvirt) when build/qvmi-bench exists.
# QVMI_LIBVIRT_QUICK=1 skips the lifecycle part (suspend .. destroy).
# Prints "N passed, N failed, N skipped".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TEST=libvirt
# shellcheck source=libvirtd-private.inc
. "$ROOT/tests/integration/libvirtd-private.inc"

check() { # name, then a command that must succeed
	local n=$1
	shift
	if "$@" >/dev/null 2>&1; then ok "$n"; else bad "$n"; fi
}

libvirt_guest
# shellcheck disable=SC2119 # no extra command needed
libvirt_usable || skip_all "needs root, libvirt-daemon-system, $BUILD/qvmi-qemu" \
	"and the demo guest's initramfs (scripts/demo-guest build)"

W=$(mktemp -d /tmp/qvmi-libvirt-XXXXXX)
V=(virsh -q -c "qemu:///system?socket=$W/run/libvirt-sock")
DOM=qvmitest

trap 'libvirt_cleanup $DOM qvmiplain' EXIT

private_libvirtd_files "$W"
shim_emulator "$W/dom"
printf 'qvmid = %s\npmemaccess_dir = %s\n' "$B/qvmid" "$W/dom" \
	>"$W/dom/qvmi-qemu.conf"
dom_xml $DOM "$W/dom/emulator" "$W/dom/$DOM.serial" >"$W/dom/$DOM.xml"
cat >"$W/dom/nic.xml" <<'EOF'
<interface type='ethernet'>
  <model type='virtio'/>
</interface>
EOF

start_private_libvirtd
check "libvirtd answers" "${V[@]}" version

qvmid_of_dom() { pgrep -f "qvmid --qmp fd:.* --pmemaccess $W/dom/$DOM.pmem"; }
qemu_pid() { cat "$W/run/qemu/$DOM.pid" 2>/dev/null; }
wait_ready() { # [DOMAIN]
	for _ in $(seq 120); do
		grep -q "QVMI-GT ready" "$W/dom/${1:-$DOM}.serial" 2>/dev/null &&
			return 0
		sleep 1
	done
	return 1
}
mon() { "${V[@]}" qemu-monitor-command $DOM "$1"; }
# "pid comm" of the guest's kernel threads (PPID 2, not kworkers: they
# rename themselves) from its ground truth, 15 bytes as in task->comm.
gt_kthreads() {
	tr -d '\r' <"$W/dom/gt.log" | awk '$1 == "QVMI-GT" && $2 == "ps" && $4 == 2 &&
		$6 !~ /^kworker/ { print substr($6, 1, 15) }' | sort -u
}
ps_kthreads() { # qvmi ps output on stdin
	awk 'NR > 1 && $3 == 2 && $6 !~ /kworker/ {
		gsub(/^\[|\]$/, "", $6); print $6 }' | sort -u
}
ps_matches() { # $@: qvmi target options
	local got
	[ -n "$(gt_kthreads)" ] || return 1 # never vacuous
	got=$(timeout 120 "$B/qvmi" "$@" ps 2>"$W/ps.err") || return 1
	echo "$got" >"$W/ps.out"
	grep -qE '^ +1 +1 +0 .* init ' <<<"$got" || return 1
	[ -z "$(comm -23 <(gt_kthreads) <(ps_kthreads <<<"$got"))" ]
}


# ---- qvmi --domain (issue 13 item 6) ------------------------------------
URI="qemu:///system?socket=$W/run/libvirt-sock"
dq() { # DOMAIN qvmi-args...: qvmi --domain through this libvirtd
	local d=$1
	shift
	timeout 120 "$B/qvmi" --domain "$d" --connect "$URI" "$@"
}
err_code() { # expected-code qvmi-args...: fails with that JSON error code
	local want=$1 out
	shift
	out=$(timeout 120 "$B/qvmi" --json "$@" 2>/dev/null) && return 1
	[ "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["error"]["code"])' \
		<<<"$out" 2>/dev/null)" = "$want" ]
}
# domain_checks NAME KIND SOURCE: everything the CLI does with --qmp, on a
# running domain: ps against the guest's ground truth, info (QEMU's pid
# as libvirt has it, memory from SOURCE), pause/status/resume as virsh
# sees them, vCPU 0's RIP as QEMU's "info registers" says while paused,
# and the BIOS window 0xc0000-0xfffff as QEMU's pmemsave writes it.
domain_checks() {
	local d=$1 k=$2 src=$3 out rip
	check "$k: qvmi --domain ps matches the guest" \
		ps_matches --domain "$d" --connect "$URI"
	# Again: the layout cache knows this QEMU (pid, start time), so no
	# libvirt until a QMP command is needed.
	out=$(dq "$d" -v ps 2>&1 >"$W/ps.out")
	grep -q "from the layout cache" <<<"$out" &&
		! grep -q "connecting to QMP" <<<"$out" &&
		[ -z "$(comm -23 <(gt_kthreads) <(ps_kthreads <"$W/ps.out"))" ] &&
		ok "$k: --domain ps again: from the layout cache, no QMP" ||
		bad "$k: --domain ps from the layout cache" "${out:0:300}"
	out=$(dq "$d" info 2>&1)
	grep -q "^backend: *libvirt" <<<"$out" &&
		grep -q "(pid $(cat "$W/run/qemu/$d.pid"))" <<<"$out" &&
		grep -q " $src\$" <<<"$out" &&
		ok "$k: info: backend libvirt, QEMU's pid, memory from $src" ||
		bad "$k: info" "${out:0:400}"
	dq "$d" pause >/dev/null 2>&1 &&
		[ "$("${V[@]}" domstate "$d")" = paused ] &&
		[ "$(dq "$d" status 2>&1)" = paused ] &&
		ok "$k: qvmi --domain pause (virsh: paused), status" ||
		bad "$k: pause/status"
	rip=$("${V[@]}" qemu-monitor-command "$d" --hmp "info registers" |
		sed -n 's/^RIP=\([0-9a-f]*\).*/\1/p' | head -1)
	out=$(dq "$d" regs 2>&1)
	[ -n "$rip" ] && grep -qE "(^| )rip +$rip( |\$)" <<<"$out" &&
		ok "$k: regs: vCPU 0's rip as QEMU's info registers" ||
		bad "$k: regs" "rip=$rip ${out:0:200}"
	rm -f "$W/dom/truth.bin"
	"${V[@]}" qemu-monitor-command "$d" "{\"execute\": \"pmemsave\", \"arguments\": {\"val\": 786432, \"size\": 262144, \"filename\": \"$W/dom/truth.bin\"}}" >/dev/null
	dq "$d" read 0xc0000 --len 0x40000 --raw >"$W/dom/window.bin" 2>"$W/err"
	[ "$(stat -c %s "$W/dom/truth.bin" 2>/dev/null)" = 262144 ] &&
		cmp -s "$W/dom/window.bin" "$W/dom/truth.bin" &&
		ok "$k: BIOS window 0xc0000-0xfffff equals QEMU's pmemsave" ||
		bad "$k: BIOS window" "$(cmp "$W/dom/window.bin" "$W/dom/truth.bin" 2>&1 | head -1) $(cat "$W/err")"
	dq "$d" resume >/dev/null 2>&1 &&
		[ "$("${V[@]}" domstate "$d")" = running ] &&
		[ "$(dq "$d" status 2>&1)" = running ] &&
		ok "$k: qvmi --domain resume (virsh: running)" ||
		bad "$k: resume"
	check "$k: Python qvmi.VM(domain=, connect=) lists the guest's kthreads" \
		py_matches "$d"
}
py_matches() { # DOMAIN: Python's tasks() against the ground truth
	local got
	got=$(PYTHONPATH="$ROOT/python" timeout 120 python3 -c '
import sys, qvmi
with qvmi.VM(domain=sys.argv[1], connect=sys.argv[2]) as vm:
    for t in vm.linux().tasks():
        if t.ppid == 2 and not t.comm.startswith("kworker"):
            print(t.comm)
' "$1" "$URI" 2>"$W/py.err" | sort -u) || return 1
	[ -n "$got" ] && [ -z "$(comm -23 <(gt_kthreads) <<<"$got")" ]
}

"${V[@]}" define "$W/dom/$DOM.xml" >/dev/null
check "domain starts through the qvmi-qemu shim" "${V[@]}" start $DOM
check "qvmid runs on libvirt's monitor socket (fd:N)" qvmid_of_dom
check "the guest boots" wait_ready
# Its ground truth: the serial log starts again with each QEMU (restore).
cp "$W/dom/$DOM.serial" "$W/dom/gt.log"
out=$(mon '{"execute":"query-qvmi"}')
if grep -q "\"qemu-pid\":$(qemu_pid)," <<<"$out"; then
	ok "libvirt's monitor is qvmid's proxy (query-qvmi names QEMU's pid)"
else
	bad "libvirt's monitor is qvmid's proxy" "${out:0:200}"
fi
check "pmemaccess client: qvmi --pmem ps matches the guest" \
	ps_matches --pmem "$W/dom/$DOM.pmem"
out=$("$B/qvmi" -v --domain $DOM --connect "$URI" status 2>&1)
grep -q "named by qvmid" <<<"$out" &&
	ok "shim: --domain takes QEMU's pid from qvmid (query-qvmi)" ||
	bad "shim: pid from qvmid" "${out:0:300}"
domain_checks $DOM shim shm

# The lifecycle (QVMI_LIBVIRT_QUICK=1 skips it while developing).
lifecycle() {

"${V[@]}" suspend $DOM >/dev/null
[ "$("${V[@]}" domstate $DOM)" = paused ] && ok "virsh suspend" ||
	bad "virsh suspend"
"${V[@]}" resume $DOM >/dev/null
[ "$("${V[@]}" domstate $DOM)" = running ] && ok "virsh resume" ||
	bad "virsh resume"

if "${V[@]}" dump $DOM "$W/dom/core" --memory-only >/dev/null 2>"$W/err" &&
	[ "$(head -c 4 "$W/dom/core" | od -An -c | tr -d ' ')" = "177ELF" ]; then
	ok "virsh dump (getfd with SCM_RIGHTS through qvmid): an ELF core"
else
	bad "virsh dump" "$(cat "$W/err")"
fi
check "qvmi --dump ps on that core matches the guest" \
	ps_matches --dump "$W/dom/core"
rm -f "$W/dom/core"

if "${V[@]}" attach-device $DOM "$W/dom/nic.xml" --live >/dev/null \
	2>"$W/err" && [ -n "$("${V[@]}" domiflist $DOM)" ]; then
	ok "NIC hot-plug (a tap fd through getfd + netdev_add)"
else
	bad "NIC hot-plug" "$(cat "$W/err")"
fi

old=$(cat "$W/libvirtd.pid")
kill "$old"
for _ in $(seq 50); do
	kill -0 "$old" 2>/dev/null || break
	sleep 0.2
done
nsenter -t "$(cat "$W/virtlogd.pid")" -m libvirtd -d -p "$W/libvirtd.pid"
for _ in $(seq 50); do
	"${V[@]}" version >/dev/null 2>&1 && break
	sleep 0.2
done
out=$(mon '{"execute":"query-status"}')
[ "$(cat "$W/libvirtd.pid")" != "$old" ] &&
	grep -q '"running":true' <<<"$out" &&
	ok "libvirtd restarted while the domain runs: it reconnects" ||
	bad "libvirtd restart" "$out"

"${V[@]}" save $DOM "$W/dom/saved" >/dev/null 2>"$W/err" &&
	[ "$("${V[@]}" domstate $DOM)" = "shut off" ] &&
	ok "virsh save" || bad "virsh save" "$(cat "$W/err")"
for _ in $(seq 50); do qvmid_of_dom >/dev/null || break; sleep 0.2; done
qvmid_of_dom >/dev/null && bad "qvmid ends with QEMU (save)" ||
	ok "qvmid ends with QEMU (save)"
"${V[@]}" restore "$W/dom/saved" >/dev/null 2>"$W/err" &&
	[ "$("${V[@]}" domstate $DOM)" = running ] &&
	ok "virsh restore (a new qvmid)" || bad "virsh restore" "$(cat "$W/err")"
rm -f "$W/dom/saved"
check "pmemaccess after restore: qvmi --pmem ps matches the guest" \
	ps_matches --pmem "$W/dom/$DOM.pmem"

# reboot: ACPI is on, but the initramfs has no acpid: --mode acpi is
# only sent; system_reset goes through qvmid to QEMU.
if "${V[@]}" reset $DOM >/dev/null 2>"$W/err" &&
	sleep 1 && "${V[@]}" domstate $DOM | grep -q running; then
	ok "virsh reset"
else
	bad "virsh reset" "$(cat "$W/err")"
fi
"${V[@]}" reboot $DOM >/dev/null 2>"$W/err" && ok "virsh reboot (sent)" ||
	bad "virsh reboot" "$(cat "$W/err")"

"${V[@]}" destroy $DOM >/dev/null
for _ in $(seq 50); do qvmid_of_dom >/dev/null || break; sleep 0.2; done
qvmid_of_dom >/dev/null && bad "virsh destroy: qvmid ends with QEMU" ||
	ok "virsh destroy: qvmid ends with QEMU"
[ -e "$W/dom/$DOM.pmem" ] && bad "pmemaccess socket removed" ||
	ok "pmemaccess socket removed"
}
if [ -n "${QVMI_LIBVIRT_QUICK:-}" ]; then
	"${V[@]}" destroy $DOM >/dev/null
else
	lifecycle
fi

# Errors, through the CLI's JSON error contract.
check "--domain of a domain that is not running: EHOSTDOWN" \
	err_code EHOSTDOWN --domain $DOM --connect "$URI" ps
check "--domain of no such domain: ENOENT" \
	err_code ENOENT --domain nosuch --connect "$URI" ps
check "--domain with no libvirtd at the URI: ECONNREFUSED" \
	err_code ECONNREFUSED --domain $DOM \
	--connect "qemu:///system?socket=$W/nonexistent" ps
LIBVIRT_SO=$(readlink -f "$(ldconfig -p | awk '$1 == "libvirt.so.0" { print $NF; exit }')")
check "--domain without libvirt installed: ENOPKG" \
	unshare -m sh -c "mount --bind /dev/null '$LIBVIRT_SO' &&
		'$B/qvmi' --json --domain $DOM --connect '$URI' ps |
		grep -q '\"code\":\"ENOPKG\"'"

# A domain without the shim: QEMU's own monitor is libvirt's, and its RAM
# anonymous (process memory, no memfd).
PLAIN=qvmiplain
# A second QMP monitor of its own (libvirt holds the first) for the bench
# row against --qmp on the same VM, and a gdbstub for watch.
dom_xml $PLAIN /usr/bin/qemu-system-x86_64 "$W/dom/$PLAIN.serial" | grep -v memoryBacking |
	sed -e "s|<domain type='qemu'>|<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>|" \
		-e "s|</devices>|</devices><qemu:commandline><qemu:arg value='-qmp'/><qemu:arg value='unix:$W/dom/$PLAIN.qmp,server=on,wait=off'/><qemu:arg value='-gdb'/><qemu:arg value='unix:$W/dom/$PLAIN.gdb,server=on,wait=off'/></qemu:commandline>|" \
		>"$W/dom/$PLAIN.xml"
"${V[@]}" define "$W/dom/$PLAIN.xml" >/dev/null
check "plain: domain starts without the shim" "${V[@]}" start $PLAIN
check "plain: the guest boots" wait_ready $PLAIN
cp "$W/dom/$PLAIN.serial" "$W/dom/gt.log"
domain_checks $PLAIN plain procmem
# watch: --domain for memory and QMP, the domain's gdbstub for the
# breakpoint; three hits of the guest's sleeper, and the VM runs on.
out=$(timeout 120 "$B/qvmi" --domain $PLAIN --connect "$URI" \
	--gdb "$W/dom/$PLAIN.gdb" watch --break __x64_sys_clock_nanosleep \
	--count 3 --seconds 60 2>&1)
[ "$(grep -c " qvmi-sleeper .*__x64_sys_clock_nanosleep" <<<"$out")" = 3 ] &&
	[ "$("${V[@]}" domstate $PLAIN)" = running ] &&
	ok "plain: watch with --domain and --gdb: 3 hits, the VM runs on" ||
	bad "plain: watch with --domain and --gdb" "${out:0:300}"
# The bench row (make bench skips it without a domain): --domain against
# --qmp on the same QEMU, through its second monitor.
if [ -x "$B/qvmi-bench" ] && [ -S "$W/dom/$PLAIN.qmp" ]; then
	QVMI_BENCH_DOMAIN=$PLAIN QVMI_BENCH_CONNECT=$URI \
		QVMI_BENCH_DOMAIN_QMP="$W/dom/$PLAIN.qmp" \
		"$B/qvmi-bench" ${QVMI_BENCH_QUICK:+--quick} libvirt
fi
"${V[@]}" destroy $PLAIN >/dev/null 2>&1
"${V[@]}" undefine $PLAIN >/dev/null 2>&1
finish
