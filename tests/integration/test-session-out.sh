#!/bin/bash
# Connect-out sessions on the demo guest: qvmid --session-connect dials a
# tool that listens (qvmi --session-listen); each qvmi run accepts the
# next dial.  Ground truth: the serial log (banner, linux_banner's VA, the
# qvmi-sleeper's pid).  A wrong-key tool makes qvmid retry once per
# --reconnect-interval, not in a loop.  On the "reboot" configuration (or with QVMI_SESSION_OUT_RESET=1 and
# a guest started without -no-reboot) the guest is also reset under a
# hooked tool (off by default: it reboots the guest the other suites
# share, and demo-guest's -no-reboot turns a reset into an exit) and
# qvmid must dial again.
# Needs QVMI_GUEST_DIR (scripts/demo-guest) and QVMI_BUILD.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=session-out
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
# The ground truth of the guest's current boot: the lines after the
# previous boot's "QVMI-GT ready" (on the "reboot" configuration an earlier
# suite, kvmi_life::reset_redial, resets the guest: another KASLR slide,
# other pids).
boot_gt() {
	tr -d '\r' <"$SERIAL" | awk '{ l[NR] = $0 }
		/^QVMI-GT ready/ { prev = last; last = NR }
		END { for (i = prev + 1; i <= NR; i++) print l[i] }'
}
gt() { boot_gt | sed -n "s/^QVMI-GT $1 //p"; }

need_gdbstub
PID=$(boot_gt | awk '$1 == "QVMI-GT" && $2 == "ps" && $6 == "qvmi-sleeper" { print $3; exit }')
T="$TMP/tool.sock" L="$TMP/qmp.sock" K="$TMP/key" K2="$TMP/key2"
head -c 32 /dev/urandom >"$K" && chmod 600 "$K"
head -c 32 /dev/urandom >"$K2" && chmod 600 "$K2"

"$QVMID" --qmp "$QMP" --gdb "$GDB" --session-connect "$T" \
	--reconnect-interval 200 --session-key "$K" --listen-qmp "$L" -v \
	2>"$TMP/d.log" &
DPID=$!
for _ in $(seq 100); do [ -S "$L" ] && break; sleep 0.02; done
check qvmid_starts '[ -S "$L" ] && kill -0 $DPID'
ql() { timeout 120 "$QVMI" --session-listen "$T" --key "$K" "$@"; }

# The kernel banner through the dialled session: linux_banner's VA,
# translated with vCPU 0's CR3 over the session, holds /proc/version.
BANNER=$(gt banner | head -n1)
KVA=$(gt ksym | awk '$3 == "linux_banner" { print $1 }' | head -n1)
t0=$(now_ms)
PA=$(ql --json translate "0x$KVA" 2>"$TMP/t.err" | python3 -c 'import json,sys; print(hex(json.load(sys.stdin)["pa"]))')
echo "first dial-in + translate: $(($(now_ms) - t0)) ms"
cat "$TMP/t.err"
check translate_banner '[ -n "$PA" ]'
ql read "$PA" --len ${#BANNER} --raw >"$TMP/banner" 2>"$TMP/r.err"
check banner_matches_guest '[ "$(cat "$TMP/banner")" = "$BANNER" ]'
check listener_gone_after_run '[ ! -e "$T" ]'

# Registers of every vCPU (the session's GET_REGS over the gdbstub).
N=$(ql --json regs 2>/dev/null | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for v in r if v["cr3"] and v["rip"]))')
check regs_all_vcpus '[ "$N" = "$(get smp)" ]'

# A breakpoint watch through the dialled session.
if [ -n "$PID" ]; then
	check_watch_5 ql
else
	echo "SKIP session-out::watch: no qvmi-sleeper in the serial log"
	skip=$((skip + 1))
fi

# A tool with another key: every dial fails auth, one per 200 ms.
timeout 2 "$QVMI" --session-listen "$T" --key "$K2" info >/dev/null 2>"$TMP/k.err"
n=$(grep -c "refused our key" "$TMP/k.err")
echo "wrong key: $n refusals in 2 s at a 200 ms interval"
check wrong_key_refused '[ "$n" -ge 4 ]'
check wrong_key_no_spin '[ "$n" -le 12 ]'
check qvmid_logged_auth_failures 'grep -q "authentication failed" "$TMP/d.log"'
# ... and the right key works again at once.
check right_key_after '[ -n "$(ql --json translate "0x$KVA" 2>/dev/null)" ]'

# A reset ends a QEMU started with -no-reboot (SHUTDOWN, no RESET), as
# scripts/demo-guest starts it: the reset part needs a guest without it.
# tests/integration/configs boots such a guest ("reboot": demo-guest
# --reboot) for this part alone.
if { [ "${QVMI_SESSION_OUT_RESET:-0}" = 1 ] || [ "${QVMI_GUEST_CONFIG:-}" = reboot ]; } && [ -n "$PID" ] &&
	! grep -q -- -no-reboot "$QVMI_GUEST_DIR/qemu.cmd" 2>/dev/null; then
	# A hooked tool (its watch has a breakpoint in) and a management
	# system_reset through qvmid's proxy: EV_UNHOOK, the reset once the
	# tool unhooked or the unhook timeout passed, EV_RESET, then qvmid
	# closes the session and dials again.
	ql watch --break __x64_sys_clock_nanosleep --count 100000 --seconds 90 >"$TMP/w2" 2>&1 &
	WPID=$!
	for _ in $(seq 200); do [ -s "$TMP/w2" ] && break; sleep 0.05; done
	check reset_watch_hits '[ -s "$TMP/w2" ]'
	python3 - "$L" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
s.settimeout(30)
for cmd in ("qmp_capabilities", "system_reset"):
    f.write(json.dumps({"execute": cmd}) + "\n"); f.flush()
    for _ in range(1000):  # events may come first
        line = f.readline()
        if not line or "return" in line or "error" in line:
            break
    print(cmd, line.strip())
EOF
	wait "$WPID"
	rc=$?
	WPID=
	cat "$TMP/w2" | tail -3
	# The watch unhooks at once (EV_UNHOOK, reason system_reset), so the
	# reset goes through without waiting out the unhook timeout.
	check reset_watch_unhooked 'grep -q "asked to unhook (a system_reset)" "$TMP/w2"'
	check reset_seen 'grep -q "event RESET" "$TMP/d.log"'
	t0=$(now_ms)
	check reset_redial '[ -n "$(ql info 2>/dev/null)" ]'
	echo "after the reset: a new session in $(($(now_ms) - t0)) ms"
	sleep 0.5
	check reset_no_breakpoint_left '[ "$(status_via "$L")" = running ]'
else
	echo "SKIP session-out::reset (runs on the 'reboot' guest configuration, or with QVMI_SESSION_OUT_RESET=1 on a guest without -no-reboot; reboots it)"
	skip=$((skip + 1))
fi

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=
sleep 0.2
check running_after_qvmid_exit '[ "$(status_via "$QMP")" = running ]'
grep -c "connected to the tool" "$TMP/d.log" | sed 's/^/dial-ins: /'

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
