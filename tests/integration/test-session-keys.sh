#!/bin/bash
# Per-VM keys on a connect-out listener (docs/PROTOCOL.md "Which VM"):
# `qvmi --session-listen tcp:... --key-dir DIR` against real qvmids that
# dial it, each in front of its own QEMU started with -uuid and -name.
# The QEMUs stay stopped at -S (no kernel, no CPU time): what matters is
# their identity, which qvmid reads over QMP, and their memory, read back
# through the session and compared with a direct QMP attach on a second
# monitor (ground truth).  A qvmid that holds another VM's key, a uuid
# without a key file and a QEMU without -uuid are refused, and the
# refusal names the uuid.  Needs QVMI_BUILD and qemu-system-x86_64; does
# not use the demo guest.  Prints "N passed, N failed, N skipped" last.
set -uo pipefail
BUILD=${QVMI_BUILD:?}
QVMI="$BUILD/qvmi"
QVMID="$BUILD/qvmid"
command -v qemu-system-x86_64 >/dev/null || {
	echo "SKIP session-keys: no qemu-system-x86_64"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
TMP=$(mktemp -d)
QPIDS=() DPID=
cleanup() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	for p in "${QPIDS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$TMP"
}
trap cleanup EXIT
pass=0 fail=0 skip=0
ok() { echo "PASS session-keys::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL session-keys::$1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
newkey() { head -c 32 /dev/urandom >"$1" && chmod 600 "$1"; }

# qemu NAME [UUID]: a stopped QEMU with two QMP sockets (qvmid's, ours).
qemu() {
	local u=()
	[ -n "${2:-}" ] && u=(-uuid "$2")
	qemu-system-x86_64 -S -nodefaults -no-user-config -display none \
		-m 32 -name "$1" "${u[@]}" \
		-qmp "unix:$TMP/$1.qmp,server=on,wait=off" \
		-qmp "unix:$TMP/$1.gt,server=on,wait=off" \
		-pidfile "$TMP/$1.pid" -daemonize || return 1
	QPIDS+=("$(cat "$TMP/$1.pid")")
}
# dial NAME KEY: qvmid for QEMU NAME dials the listener with KEY.
dial() {
	[ -n "$DPID" ] && kill "$DPID" 2>/dev/null && wait "$DPID" 2>/dev/null
	"$QVMID" --qmp "$TMP/$1.qmp" --session-connect "tcp:127.0.0.1:$PORT" \
		--reconnect-interval 200 --session-key "$2" 2>"$TMP/$1.dlog" &
	DPID=$!
}
# listen SECONDS ARGS...: one CLI run on the per-VM-key listener.
listen() {
	timeout "$1" "$QVMI" --session-listen "tcp:127.0.0.1:$PORT" \
		--key-dir "$KD" "${@:2}"
}
hexid() { tr -d - <<<"$1"; }

UA=aaaaaaaa-1111-4222-8333-0000000000aa
UB=bbbbbbbb-1111-4222-8333-0000000000bb
UC=cccccccc-1111-4222-8333-0000000000cc
KD="$TMP/keys"
mkdir -m 700 "$KD"
newkey "$TMP/ka"
newkey "$TMP/kb"
newkey "$TMP/kc"
cp "$TMP/ka" "$KD/$(hexid $UA).key"
cp "$TMP/kb" "$KD/$(hexid $UB).key"
chmod 600 "$KD"/*.key
PORT=$(free_port)
qemu vm-a "$UA" && qemu vm-b "$UB" && qemu vm-c "$UC" && qemu vm-none
check qemus_start '[ ${#QPIDS[@]} -eq 4 ]'

# Each VM with its own key: accepted, and it is itself.
for v in a b; do
	U=$([ $v = a ] && echo $UA || echo $UB)
	dial vm-$v "$TMP/k$v"
	listen 60 --json info >"$TMP/$v.info" 2>"$TMP/$v.err"
	rc=$?
	cat "$TMP/$v.err"
	check vm_${v}_accepted "[ $rc -eq 0 ] && python3 -c 'import json,sys; i=json.load(open(sys.argv[1])); sys.exit(not (i[\"uuid\"] == sys.argv[2] and i[\"name\"] == sys.argv[3] and i[\"backend\"] == \"session\"))' $TMP/$v.info $U vm-$v"
	# Its memory: random bytes written by a direct QMP attach of the
	# same QEMU (its second monitor) are read back through the session.
	head -c 64 /dev/urandom >"$TMP/$v.gt"
	"$QVMI" --qmp "$TMP/vm-$v.gt" write 0x200000 --file "$TMP/$v.gt" \
		>/dev/null
	listen 60 read 0x200000 --len 64 --raw >"$TMP/$v.mem" 2>/dev/null
	check vm_${v}_memory "[ -s $TMP/$v.mem ] && cmp -s $TMP/$v.mem $TMP/$v.gt"
done

# B's QEMU, but A's key: refused, the message names B's uuid.
dial vm-b "$TMP/ka"
listen 3 info >/dev/null 2>"$TMP/imp.err"
rc=$?
head -n 1 "$TMP/imp.err"
check impostor_refused "[ $rc -ne 0 ] && grep -q 'VM $(hexid $UB) did not prove the key' $TMP/imp.err"
check impostor_sees_wrong_key 'grep -q "alert" "$TMP/vm-b.dlog"'

# A uuid with no key file; then its key is added, no restart.
dial vm-c "$TMP/kc"
listen 3 info >/dev/null 2>"$TMP/c.err"
rc=$?
head -n 1 "$TMP/c.err"
check unknown_uuid_refused "[ $rc -ne 0 ] && grep -q 'no usable key for VM $(hexid $UC) .*no such file' $TMP/c.err"
cp "$TMP/kc" "$KD/$(hexid $UC).key"
chmod 644 "$KD/$(hexid $UC).key"
listen 3 info >/dev/null 2>"$TMP/c2.err"
rc=$?
check key_0644_refused "[ $rc -ne 0 ] && grep -q 'VM $(hexid $UC) .*mode 0600' $TMP/c2.err"
chmod 600 "$KD/$(hexid $UC).key"
listen 60 --json info >"$TMP/c.info" 2>"$TMP/c3.err"
rc=$?
check added_key_accepted "[ $rc -eq 0 ] && grep -q '$UC' $TMP/c.info"

# QEMU without -uuid: qvmid names the all-zero uuid, never accepted.
cp "$TMP/kc" "$KD/00000000000000000000000000000000.key"
chmod 600 "$KD/00000000000000000000000000000000.key"
dial vm-none "$TMP/kc"
listen 3 info >/dev/null 2>"$TMP/z.err"
rc=$?
head -n 1 "$TMP/z.err"
check zero_uuid_refused "[ $rc -ne 0 ] && grep -q 'VM 0\{32\} .*all zero' $TMP/z.err"

# The directory's own checks, before anything is accepted.
chmod 755 "$KD"
listen 3 info >/dev/null 2>"$TMP/d.err"
rc=$?
cat "$TMP/d.err"
check dir_0755_refused "[ $rc -ne 0 ] && grep -q 'key directory $KD: must be owned by us with mode 0700' $TMP/d.err"
chmod 700 "$KD"
timeout 3 "$QVMI" --session-listen "$TMP/l.sock" --key-dir "$KD" info \
	>/dev/null 2>"$TMP/u.err"
rc=$?
cat "$TMP/u.err"
check unix_refused "[ $rc -ne 0 ] && grep -q 'key_dir needs a tcp: or vsock: address' $TMP/u.err"

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
