#!/bin/bash
# A QMP socket held by another client (issue 18): QEMU 7.2 serves one QMP
# client at a time, so a second one connects (or waits in the listen
# backlog) and hears no greeting.  qvmi must say so within about a second,
# naming the fix (qvmid --listen-qmp), not wait out its 5 s timeout; a
# command that needs no QMP (ps from the layout cache) still works.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=qmpbusy
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
ms() { date +%s%3N; }
export XDG_CACHE_HOME="$TMP/cache"

# the layout and profile cached while QMP is free
check ps_free 'timeout 120 "$QVMI" --qmp "$QMP" ps >/dev/null'
# another client takes QMP and keeps it
python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.recv(4096)
open(sys.argv[2], "w").close()
time.sleep(120)
' "$QMP" "$TMP/held" &
DPID=$! # the holder: killed on exit
for _ in $(seq 100); do [ -e "$TMP/held" ] && break; sleep 0.1; done
check held '[ -e "$TMP/held" ]'
for i in 1 2 3; do
	t0=$(ms)
	timeout 30 "$QVMI" --qmp "$QMP" status >"$TMP/out" 2>"$TMP/err"
	rc=$?
	t=$(($(ms) - t0))
	cat "$TMP/err"
	check "status_fails_$i" '[ $rc -ne 0 ]'
	check "status_fast_$i" '[ $t -lt 3000 ]'
	check "status_names_fix_$i" 'grep -q "qvmid --listen-qmp" "$TMP/err"'
done
t0=$(ms)
check ps_cached_without_qmp 'timeout 30 "$QVMI" --qmp "$QMP" ps | grep -q "init"'
t=$(($(ms) - t0))
check ps_fast '[ $t -lt 3000 ]'
kill "$DPID" 2>/dev/null
wait "$DPID" 2>/dev/null
DPID=
# QEMU drains the clients that gave up, then serves again
for _ in $(seq 50); do
	[ "$(timeout 30 "$QVMI" --qmp "$QMP" status 2>/dev/null)" = running ] && break
	sleep 0.2
done
check status_after_release '[ "$(timeout 30 "$QVMI" --qmp "$QMP" status)" = running ]'
echo "$pass passed, $fail failed, $skip skipped"
