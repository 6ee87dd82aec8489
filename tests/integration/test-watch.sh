#!/bin/bash
# qvmi watch / step against the shared demo guest, QMP for memory and the
# gdbstub for control.  Ground truth: the serial log's "QVMI-GT ps <pid>
# <ppid> <state> qvmi-sleeper" line; the sleeper calls clock_nanosleep
# every 100 ms, so every hit of the syscall's entry should be its, or, on a
# guest booted with qvmi_sleep=N (guest/init), busybox sleep's.  The entry
# depends on the kernel: __x64_sys_clock_nanosleep on x86_64; on i386
# __ia32_sys_clock_nanosleep_time32, which both the sleeper (syscall 267)
# and busybox sleep enter (glibc 2.36 uses clock_nanosleep_time64 only for
# times past 2038; checked with the gdbstub on 6.1 686-pae: a breakpoint on
# __ia32_sys_clock_nanosleep never fired, the return addresses above
# hrtimer_nanosleep led to __ia32_sys_clock_nanosleep_time32).  Types come
# from guest.env (types_btf/types_map) when the kernel needs them.
# Afterwards the VM must be running, as before, with no breakpoint left.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=watch
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"

need_gdbstub
PID=$(sleeper_pid <"$SERIAL")
[ -n "$PID" ] || skip_all "no qvmi-sleeper in the serial log"
TYPES=()
[ -n "$(get types_btf)" ] && TYPES+=(--btf "$(get types_btf)")
[ -n "$(get types_map)" ] && TYPES+=(--system-map "$(get types_map)")
if [ "$(get arch)" = i386 ]; then
	SYM=__ia32_sys_clock_nanosleep_time32 IDLE=__ia32_sys_kexec_load
	KMIN=0xc0000000
else
	SYM=__x64_sys_clock_nanosleep IDLE=__x64_sys_kexec_load
	KMIN=0x8000000000000000
fi
# busybox sleep in a loop (qvmi_sleep=N): its hits are allowed, and counted
BUSY=0
[[ " $(get append) " == *" qvmi_sleep="* ]] && BUSY=1
q() { timeout 60 "$QVMI" --qmp "$QMP" "${TYPES[@]}" "$@"; }
qg() { timeout 120 "$QVMI" --qmp "$QMP" --gdb "$GDB" "${TYPES[@]}" "$@"; }
# hits (text lines) that are neither the sleeper's nor, with BUSY, a
# busybox sleep's (pid == tgid, comm sleep)
strangers() {
	awk -v p="$PID" -v b=$BUSY -v s="$SYM" '
		!($4 == p && $6 == p && $8 == "qvmi-sleeper" && $11 == s) &&
		!(b && $4 == $6 && $8 == "sleep" && $11 == s)' "$1" | wc -l
}
status_is() { [ "$(q status 2>/dev/null)" = "$1" ]; }

check running_before 'status_is running'

# 5 hits, all the sleeper's (text)
qg watch --break $SYM --count 5 --seconds 60 --stats \
	>"$TMP/w1" 2>"$TMP/w1.err"
rc=$?
cat "$TMP/w1" "$TMP/w1.err"
check text_exit_0 '[ $rc -eq 0 ]'
check text_5_hits '[ "$(wc -l <"$TMP/w1")" -eq 5 ]'
check text_all_sleeper '[ "$(strangers "$TMP/w1")" -eq 0 ]'
check text_stats_line 'grep -q "hit->running p50" "$TMP/w1.err"'
check running_after_watch 'status_is running'
# a breakpoint left in QEMU would stop the VM within 100 ms
sleep 0.5
check still_running 'status_is running'

# JSON lines, software breakpoint
qg --json watch --break $SYM --count 3 --sw --seconds 60 \
	>"$TMP/w2" 2>&1
rc=$?
check json_exit_0 '[ $rc -eq 0 ]'
check json_3_sleeper_hits "python3 - \"$TMP/w2\" $PID $SYM $KMIN $BUSY <<'EOF'
import json, sys
hits = [json.loads(l) for l in open(sys.argv[1]) if l.startswith('{')]
pid, sym, kmin, busy = int(sys.argv[2]), sys.argv[3], int(sys.argv[4], 16), sys.argv[5] == '1'
ok = len(hits) == 3 and all(
    ((h['pid'] == pid and h['tgid'] == pid and h['comm'] == 'qvmi-sleeper') or
     (busy and h['pid'] == h['tgid'] and h['comm'] == 'sleep'))
    and h['symbol'] == sym and h['task'] >= kmin
    and h['rip'] >= kmin for h in hits)
sys.exit(0 if ok else 1)
EOF"
check running_after_json 'status_is running'

# Ctrl-C ends a watch with no --count; the VM keeps running.  Started
# directly (no wrapper) so that the signal reaches qvmi.
"$QVMI" --qmp "$QMP" --gdb "$GDB" "${TYPES[@]}" watch --break $SYM \
	>"$TMP/w3" 2>&1 &
wpid=$!
sleep 3
kill -INT $wpid
t0=$(date +%s%N)
wait $wpid
rc=$?
t1=$(date +%s%N)
check sigint_exit_0 '[ $rc -eq 0 ]'
check sigint_within_2s '[ $(((t1 - t0) / 1000000)) -lt 2000 ]'
check sigint_had_hits "grep -q 'comm qvmi-sleeper' \"$TMP/w3\""
check running_after_sigint 'status_is running'

# SIGTERM too: the breakpoint must not stay behind in QEMU
"$QVMI" --qmp "$QMP" --gdb "$GDB" "${TYPES[@]}" watch --break $SYM \
	>"$TMP/w3b" 2>&1 &
wpid=$!
sleep 2
kill -TERM $wpid
wait $wpid
rc=$?
check sigterm_exit_0 '[ $rc -eq 0 ]'
sleep 0.5
check running_after_sigterm 'status_is running'

# A paused VM stays paused afterwards
q pause >/dev/null
qg watch --break $SYM --count 1 --seconds 30 >"$TMP/w4" 2>&1
rc=$?
check paused_vm_watch_exit_0 '[ $rc -eq 0 ]'
check paused_stays_paused 'status_is paused'
q resume >/dev/null
check resumed 'status_is running'

# --seconds runs out on a function nobody calls: exit 3, no hit
qg watch --break $IDLE --count 1 --seconds 2 >"$TMP/w5" 2>&1
rc=$?
check timeout_exit_3 '[ $rc -eq 3 ] && ! grep -q "^vcpu" "$TMP/w5"'

# the guest still makes progress: a new watch still sees the sleeper
qg watch --break $SYM --count 3 --seconds 30 >"$TMP/w6" 2>&1
check progress_after_all "grep -q 'pid $PID .*comm qvmi-sleeper' \"$TMP/w6\""

# busybox's sleep applet (qvmi_sleep=1: /init runs `sleep 1` in a loop):
# its hits of the same entry, each a new process, attributed
if [ $BUSY = 1 ]; then
	qg watch --break $SYM --seconds 5 >"$TMP/w7" 2>&1
	check busybox_sleep_hits "[ \"\$(awk '\$8 == \"sleep\" && \$4 == \$6 && \$4 > $PID' \"$TMP/w7\" | wc -l)\" -ge 2 ]"
	check busybox_sleep_only_known '[ "$(strangers "$TMP/w7")" -eq 0 ]'
fi

# step: vCPU 1, 3 steps, RIPs in the kernel with symbols; VM runs after
qg step --vcpu 1 --count 3 >"$TMP/s1" 2>&1
rc=$?
cat "$TMP/s1"
check step_exit_0 '[ $rc -eq 0 ]'
check step_4_lines "[ \"\$(grep -Ec '^[0-3] vcpu 1 [er]ip 0x' \"$TMP/s1\")\" -eq 4 ]"
check step_running_after 'status_is running'
check bad_step_vcpu '! qg step --vcpu 64 >/dev/null 2>&1'
check running_at_end 'status_is running'

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
