#!/bin/bash
# pmemaccess end to end: a real qvmid next to the shared demo guest, driven
# by tests/tools/pmemaccess_client.py, an independent client written only
# from docs/PMEMACCESS.md, with the guest's RAM file as the oracle.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
QMP=$(get qmp)
SHM=$(get shm)
if [ -z "$SHM" ] || [ "$(get mem_bytes)" -gt $((3 << 30)) ]; then
	echo "SKIP pmem: needs a small guest with a RAM file"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
BUILD=${QVMI_BUILD:?}
ROOT=${QVMI_ROOT:?}
TMP=$(mktemp -d)
SOCK="$TMP/pmem.sock"
pass=0 fail=0

ok() { echo "PASS pmem::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL pmem::$1"; fail=$((fail + 1)); }

SESS="$TMP/session.sock"
KEY="$TMP/key"
head -c 32 /dev/urandom >"$KEY"
chmod 600 "$KEY"
PROXY="$TMP/proxy.sock"
"$BUILD/qvmid" --qmp "$QMP" --pmemaccess "$SOCK" --session "$SESS" \
	--session-key "$KEY" --listen-qmp "$PROXY" 2>"$TMP/qvmid.log" &
QVMID=$!
cleanup() { kill "$QVMID" 2>/dev/null; wait "$QVMID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.1; done
if [ -S "$SOCK" ]; then ok qvmid_listens; else bad qvmid_listens; cat "$TMP/qvmid.log"; fi
[ "$(stat -c %a "$SOCK" 2>/dev/null)" = 600 ] && ok socket_mode_0600 || bad socket_mode_0600

python3 "$ROOT/tests/tools/pmemaccess_client.py" --socket "$SOCK" --shm "$SHM" \
	--reads 500 2>&1 | tee "$TMP/client.out"
line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$TMP/client.out" | tail -n1)
if [ -n "$line" ]; then
	read -r p _ f _ s _ <<<"${line//,/}"
	pass=$((pass + p)) fail=$((fail + f))
else
	bad python_client
fi

# the tool side: the Linux layer over pmemaccess and over a session
MARKERS=$(tr -d '\r' <"$(get serial)" | awk '$1 == "QVMI-GT" && $2 == "ps" && $6 ~ /^qvmi-/ { print $3 " " $6 }' | sort)
"$BUILD/qvmi" --pmem "$SOCK" ps 2>"$TMP/ps.err" | awk '$6 ~ /^qvmi-/ { print $1 " " $6 }' | sort >"$TMP/pmem-ps"
if [ -n "$MARKERS" ] && [ "$MARKERS" = "$(cat "$TMP/pmem-ps")" ]; then ok qvmi_pmem_ps; else bad qvmi_pmem_ps; cat "$TMP/ps.err"; fi
"$BUILD/qvmi" --session "$SESS" --key "$KEY" ps 2>"$TMP/ps.err" | awk '$6 ~ /^qvmi-/ { print $1 " " $6 }' | sort >"$TMP/sess-ps"
if [ -n "$MARKERS" ] && [ "$MARKERS" = "$(cat "$TMP/sess-ps")" ]; then ok qvmi_session_ps; else bad qvmi_session_ps; cat "$TMP/ps.err"; fi
# A tool on the proxy: the socket's peer is qvmid, whose query-qvmi names
# QEMU's pid, so the fast sources (shm) serve the RAM, not xp.
"$BUILD/qvmi" -v --qmp "$PROXY" ps 2>"$TMP/proxy-ps.err" | awk '$6 ~ /^qvmi-/ { print $1 " " $6 }' | sort >"$TMP/proxy-ps"
if [ -n "$MARKERS" ] && [ "$MARKERS" = "$(cat "$TMP/proxy-ps")" ]; then ok qvmi_proxy_ps; else bad qvmi_proxy_ps; cat "$TMP/proxy-ps.err"; fi
if grep -q "is qvmid; QEMU is pid $(get pid)\$" "$TMP/proxy-ps.err" && grep -q "\[0x100000-.*\] shm" "$TMP/proxy-ps.err"; then ok proxy_finds_qemu_pid; else bad proxy_finds_qemu_pid; cat "$TMP/proxy-ps.err"; fi
head -c 32 /dev/urandom >"$TMP/wrongkey"
chmod 600 "$TMP/wrongkey"
if "$BUILD/qvmi" --session "$SESS" --key "$TMP/wrongkey" info >/dev/null 2>"$TMP/auth.err"; then bad session_wrong_key; else ok session_wrong_key; fi

kill -TERM "$QVMID"
wait "$QVMID"
rc=$?
[ "$rc" -eq 0 ] && ok sigterm_clean_exit || bad "sigterm_clean_exit(rc=$rc)"
[ ! -e "$SOCK" ] && [ ! -e "$SESS" ] && ok sockets_removed || bad sockets_removed
# QEMU SIGKILLed while reads stream: a throwaway QEMU (-S, 64 MiB RAM
# file; not the shared guest) and its own qvmid.  The client must get a
# failure status or EOF, and qvmid must exit by itself, removing its socket.
KDIR="$TMP/kill" KRAM="/dev/shm/qvmi-pmem-kill-$$"
mkdir -p "$KDIR"
qemu-system-x86_64 -S -accel tcg -m 64M -nodefaults -no-user-config \
	-display none -object "memory-backend-file,id=ram0,size=64M,mem-path=$KRAM,share=on" \
	-machine pc,memory-backend=ram0 -qmp "unix:$KDIR/qmp.sock,server=on,wait=off" \
	-daemonize -pidfile "$KDIR/qemu.pid" 2>"$KDIR/qemu.err"
KQEMU=$(cat "$KDIR/qemu.pid" 2>/dev/null)
"$BUILD/qvmid" --qmp "$KDIR/qmp.sock" --pmemaccess "$KDIR/pmem.sock" 2>"$KDIR/qvmid.log" &
KQVMID=$!
for _ in $(seq 100); do [ -S "$KDIR/pmem.sock" ] && break; sleep 0.1; done
if [ -n "$KQEMU" ] && [ -S "$KDIR/pmem.sock" ]; then
	timeout 60 python3 "$ROOT/tests/tools/pmemaccess_client.py" --kill-only \
		--socket "$KDIR/pmem.sock" --shm "$KRAM" --kill-qemu "$KQEMU" \
		--qvmid-pid "$KQVMID" 2>&1 | tee "$TMP/kill.out"
	line=$(grep -aE '^[0-9]+ passed, [0-9]+ failed' "$TMP/kill.out" | tail -n1)
	if [ -n "$line" ]; then
		read -r p _ f _ s _ <<<"${line//,/}"
		pass=$((pass + p)) fail=$((fail + f))
	else
		bad qemu_killed_client
	fi
else
	bad qemu_killed_setup
	cat "$KDIR/qemu.err" "$KDIR/qvmid.log"
fi
[ -n "$KQEMU" ] && kill -9 "$KQEMU" 2>/dev/null
kill "$KQVMID" 2>/dev/null
wait "$KQVMID" 2>/dev/null
rm -f "$KRAM"

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
