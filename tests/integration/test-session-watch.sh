#!/bin/bash
# qvmi watch over a qvmid session: qvmid owns QEMU's QMP and gdbstub, the
# tool only has the session socket and the key.  Ground truth: the serial
# log's "QVMI-GT ps <pid> <ppid> <state> qvmi-sleeper" line (it calls
# clock_nanosleep every 100 ms).  Then qvmid is killed (-9) while a watch
# has a breakpoint in: the VM ends up stopped at it (QEMU 7.2 ignores the
# closed gdbstub connection), and a restarted qvmid must find its ledger,
# remove the breakpoint and have the VM running within 2 s.
# Needs QVMI_GUEST_DIR (scripts/demo-guest) and QVMI_BUILD.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=session-watch
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"

need_gdbstub
PID=$(sleeper_pid <"$SERIAL")
[ -n "$PID" ] || skip_all "no qvmi-sleeper in the serial log"
S="$TMP/s.sock" L="$TMP/qmp.sock" K="$TMP/key" LEDGER="$TMP/s.sock.ledger"
head -c 32 /dev/urandom >"$K" && chmod 600 "$K"

start_qvmid() { # log file
	"$QVMID" --qmp "$QMP" --gdb "$GDB" --session "$S" --session-key "$K" \
		--listen-qmp "$L" -v 2>"$1" &
	DPID=$!
	for _ in $(seq 100); do [ -S "$S" ] && [ -S "$L" ] && return 0; sleep 0.02; done
	return 1
}
qs() { timeout 120 "$QVMI" --session "$S" --key "$K" "$@"; }

check qvmid_starts 'start_qvmid "$TMP/d1.log"'
check running_with_gdb '[ "$(status_via "$L")" = running ]'

check_watch_5 qs
check no_ledger_after_watch '[ ! -e "$LEDGER" ]'

# A management "stop" through the proxy while a watch is hooked: qvmid
# sends UNHOOK, the watch removes its breakpoint and acknowledges at once
# (well inside the 5 s unhook timeout), then the stop goes to QEMU.
qs watch --break __x64_sys_clock_nanosleep --count 100000 --seconds 60 >"$TMP/w3" 2>"$TMP/w3.err" &
WPID=$!
for _ in $(seq 100); do [ -s "$TMP/w3" ] && break; sleep 0.05; done
check unhook_watch_hits '[ -s "$TMP/w3" ]'
t0=$(now_ms)
timeout 10 "$QVMI" --qmp "$L" pause 2>"$TMP/p.err"
prc=$?
t1=$(now_ms)
wait "$WPID"
wrc=$?
WPID=
cat "$TMP/w3.err" "$TMP/p.err"
echo "management stop answered after $((t1 - t0)) ms"
check unhook_stop_answered '[ $prc -eq 0 ] && [ $((t1 - t0)) -lt 4000 ]'
check unhook_watch_exit_3 '[ $wrc -eq 3 ] && grep -q "asked to unhook (a management stop)" "$TMP/w3.err"'
check unhook_paused '[ "$(status_via "$L")" = paused ]'
check unhook_no_ledger '[ ! -e "$LEDGER" ]'
timeout 10 "$QVMI" --qmp "$L" resume
sleep 0.3
check unhook_resumed '[ "$(status_via "$L")" = running ]'

# A watch that keeps its breakpoint in; kill -9 qvmid under it.
qs watch --break __x64_sys_clock_nanosleep --count 100000 --seconds 60 >"$TMP/w2" 2>&1 &
WPID=$!
for _ in $(seq 100); do [ -s "$TMP/w2" ] && break; sleep 0.05; done
check second_watch_hits '[ -s "$TMP/w2" ]'
check ledger_while_watching '[ -f "$LEDGER" ] && grep -q "^bp " "$LEDGER" && [ "$(stat -c %a "$LEDGER")" = 600 ]'
kill -9 "$DPID"
wait "$DPID" 2>/dev/null
DPID=
wait "$WPID" 2>/dev/null
WPID=
sleep 0.5
# qvmid is gone: QEMU's own QMP socket is free again.
st=$(status_via "$QMP")
echo "after kill -9: $st"
check stuck_after_crash '[ "$st" = paused ]'

t0=$(now_ms)
check qvmid_restarts 'start_qvmid "$TMP/d2.log"'
st=
while [ $(($(now_ms) - t0)) -lt 2000 ]; do
	st=$(status_via "$L")
	[ "$st" = running ] && break
	sleep 0.05
done
t1=$(now_ms)
echo "restarted qvmid: VM $st after $((t1 - t0)) ms"
cat "$TMP/d2.log"
check running_within_2s '[ "$st" = running ] && [ $((t1 - t0)) -le 2000 ]'
check ledger_removed '[ ! -e "$LEDGER" ]'
check ledger_logged 'grep -q "removed 1, 0 failed" "$TMP/d2.log"'
sleep 0.5
check still_running '[ "$(status_via "$L")" = running ]'

kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=
sleep 0.2
check running_after_qvmid_exit '[ "$(status_via "$QMP")" = running ]'

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
