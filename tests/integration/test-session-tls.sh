#!/bin/bash
# Sessions over TCP on the demo guest are TLS 1.3 (docs/PROTOCOL.md
# "Channel protection"): the static qvmi CLI (libssl dlopen()ed) reads the
# kernel banner through qvmid --session-tcp via a relay that logs every
# byte, and the banner, which qvmi prints, is nowhere in the relay's log,
# nor is a frame's magic.  A wrong key is refused; a breakpoint watch
# runs over TLS; connect-out over TCP names the VM.  Ground truth: the
# serial log.  Needs QVMI_GUEST_DIR (scripts/demo-guest) and QVMI_BUILD.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=session-tls
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
gt() { tr -d '\r' <"$SERIAL" | sed -n "s/^QVMI-GT $1 //p"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

K="$TMP/key" K2="$TMP/key2" L="$TMP/qmp.sock"
head -c 32 /dev/urandom >"$K" && chmod 600 "$K"
head -c 32 /dev/urandom >"$K2" && chmod 600 "$K2"
P=$(free_port)
R=$(free_port)

GDBOPT=()
[ -n "$GDB" ] && [ -S "$GDB" ] && GDBOPT=(--gdb "$GDB")
"$QVMID" --qmp "$QMP" "${GDBOPT[@]}" --session-tcp "127.0.0.1:$P" \
	--session-key "$K" --listen-qmp "$L" --ledger "$TMP/ledger" -v \
	2>"$TMP/d.log" &
DPID=$!
for _ in $(seq 200); do [ -S "$L" ] && break; sleep 0.02; done
check qvmid_starts '[ -S "$L" ] && kill -0 $DPID'

# A relay that logs both directions, one connection at a time.
python3 - "$R" "$P" "$TMP/wire" <<'EOF' &
import socket, sys, threading
lp, up, log = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", lp)); ls.listen(4)
out = open(log, "ab", buffering=0)
def pipe(a, b):
    while True:
        d = a.recv(65536)
        if not d:
            break
        out.write(d); b.sendall(d)
    try: b.shutdown(socket.SHUT_WR)
    except OSError: pass
while True:
    c, _ = ls.accept(); u = socket.create_connection(("127.0.0.1", up))
    for x, y in ((c, u), (u, c)):
        threading.Thread(target=pipe, args=(x, y), daemon=True).start()
EOF
RPID=$!
for _ in $(seq 250); do
	python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))).close()' "$R" 2>/dev/null && break
	sleep 0.02
done
: >"$TMP/wire" # that probe's (empty) connection is not traffic
qs() { timeout 60 "$QVMI" --session "tcp:127.0.0.1:$1" --key "$2" "${@:3}"; }

BANNER=$(gt banner | head -n1)
KVA=$(gt ksym | awk '$3 == "linux_banner" { print $1 }' | head -n1)
PA=$(qs "$R" "$K" --json translate "0x$KVA" 2>"$TMP/t.err" | python3 -c 'import json,sys; print(hex(json.load(sys.stdin)["pa"]))')
cat "$TMP/t.err"
check translate_over_tls '[ -n "$PA" ]'
qs "$R" "$K" read "$PA" --len ${#BANNER} --raw >"$TMP/banner" 2>"$TMP/r.err"
cat "$TMP/r.err"
check banner_matches_guest '[ -n "$BANNER" ] && [ "$(cat "$TMP/banner")" = "$BANNER" ]'
echo "relay saw $(stat -c %s "$TMP/wire") bytes"
check wire_carried_traffic '[ "$(stat -c %s "$TMP/wire")" -gt 1000 ]'
check banner_not_on_wire '! grep -aqF "${BANNER:0:40}" "$TMP/wire"'
check no_frame_magic_on_wire '! grep -aqF QMVS "$TMP/wire"'
check tls_handshakes_logged 'grep -q "client connected (127.0.0.1 port [0-9]*, TLS)" "$TMP/d.log"'

qs "$P" "$K2" info >/dev/null 2>"$TMP/k.err"
rc=$?
cat "$TMP/k.err"
check wrong_key_refused '[ $rc -ne 0 ] && grep -q "refused our key" "$TMP/k.err"'
check qvmid_logs_wrong_key 'grep -q "binder does not verify" "$TMP/d.log"'

if [ ${#GDBOPT[@]} -gt 0 ]; then
	qs "$P" "$K" watch --break __x64_sys_clock_nanosleep --count 3 \
		--seconds 60 >"$TMP/w" 2>"$TMP/w.err"
	rc=$?
	tail -n 3 "$TMP/w"
	check watch_over_tls '[ $rc -eq 0 ] && [ "$(grep -c clock_nanosleep "$TMP/w")" -ge 3 ]'
else
	echo "SKIP session-tls::watch_over_tls (no gdbstub)"
	skip=$((skip + 1))
fi
check qvmid_still_serves 'qs "$P" "$K" info >/dev/null 2>&1'
kill "$DPID" && wait "$DPID" 2>/dev/null
DPID=

# Connect-out over TCP: qvmid dials, TLS client, naming its VM.
C=$(free_port)
"$QVMID" --qmp "$QMP" --session-connect "tcp:127.0.0.1:$C" \
	--reconnect-interval 200 --session-key "$K" -v 2>"$TMP/o.log" &
DPID=$!
timeout 60 "$QVMI" --session-listen "tcp:127.0.0.1:$C" --key "$K" info \
	>"$TMP/info" 2>"$TMP/i.err"
rc=$?
cat "$TMP/i.err"
check connect_out_over_tls '[ $rc -eq 0 ] && grep -q "backend: *session" "$TMP/info"'
timeout 60 "$QVMI" --session-listen "tcp:127.0.0.1:$C" --key "$K2" info \
	>/dev/null 2>"$TMP/i2.err"
rc=$?
check connect_out_wrong_key '[ $rc -ne 0 ]'

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
