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

"$BUILD/qvmid" --qmp "$QMP" --pmemaccess "$SOCK" 2>"$TMP/qvmid.log" &
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

kill -TERM "$QVMID"
wait "$QVMID"
rc=$?
[ "$rc" -eq 0 ] && ok sigterm_clean_exit || bad "sigterm_clean_exit(rc=$rc)"
[ ! -e "$SOCK" ] && ok socket_removed || bad socket_removed
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
