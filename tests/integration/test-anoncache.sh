#!/bin/bash
# Anonymous guest RAM (--backend none: QEMU's own memory, read with
# process_vm_readv; issue 18): the attach layout is cached as for shared
# RAM, so a repeated command sends no QMP command, and answers as a full
# attach does; find skips what QEMU never touched (/proc/PID/pagemap) and
# still finds what a full read finds.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
QMP=$(get qmp)
BUILD=${QVMI_BUILD:?}
QVMI="$BUILD/qvmi"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0 skip=0
ok() { echo "PASS anoncache::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL anoncache::$1"; fail=$((fail + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }

if [ "$(get backend)" != none ]; then
	echo "SKIP anoncache: the guest's RAM is not anonymous (--backend none)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
export XDG_CACHE_HOME="$TMP/cache"
q() { timeout 120 "$QVMI" --qmp "$QMP" "$@"; }
q ps >"$TMP/ps1"
check layout_cached 'ls "$TMP/cache/qvmi"/layout-* >/dev/null 2>&1'
q -v ps >"$TMP/ps2" 2>"$TMP/ps2.err"
check from_cache 'grep -q "from the layout cache" "$TMP/ps2.err"'
check procmem_ram 'q info | grep -q "^  0000000000100000-.* procmem"'
QVMI_NO_LAYOUT_CACHE=1 q ps >"$TMP/ps3"
# the same task list (START of short-lived tasks aside: compare pid+comm)
cut -c1-8,33-50 "$TMP/ps2" >"$TMP/a"
cut -c1-8,33-50 "$TMP/ps3" >"$TMP/b"
check same_tasks 'cmp -s "$TMP/a" "$TMP/b" && [ -s "$TMP/a" ]'
q --json find "Linux version" --max 1000 >"$TMP/f1"
check find_hits '[ "$(grep -c 0x "$TMP/f1")" -gt 0 ] || grep -q "[0-9]" "$TMP/f1"'
# xp reads every byte through QEMU: the hits in the MiB of the first
# one, both ways
q --json find "QVMI" --max 100000 >"$TMP/f2"
BASE=$(python3 -c 'import json,sys; h=json.load(open(sys.argv[1])); print(hex(h[0] & ~0xfffff) if h else "")' "$TMP/f2")
check find_some '[ -n "$BASE" ]'
timeout 300 "$QVMI" --qmp "$QMP" --source xp read "${BASE:-0}" --len 0x100000 \
	--raw >"$TMP/mib.bin" 2>/dev/null
python3 - "$TMP/f2" "$TMP/mib.bin" "${BASE:-0}" >"$TMP/cmp" <<'PY'
import json, sys
base = int(sys.argv[3], 16)
hits = [h - base for h in json.load(open(sys.argv[1]))
        if base <= h < base + 0x100000]
data = open(sys.argv[2], "rb").read()
want, i = [], data.find(b"QVMI")
while i >= 0 and i + 4 <= len(data):
    want.append(i)
    i = data.find(b"QVMI", i + 1)
print(f"same {len(hits)}" if hits == want and hits else f"differ {hits[:5]} {want[:5]}")
PY
cat "$TMP/cmp"
check find_mib_as_xp 'grep -q "^same" "$TMP/cmp"'
echo "$pass passed, $fail failed, $skip skipped"
