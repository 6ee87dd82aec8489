#!/bin/bash
# The memory map after QEMU's -S (issue 13): QEMU is started stopped
# (scripts/demo-guest start --stopped, status "prelaunch"), so a map read
# now has the BIOS ROM at 0xc0000-0xfffff, where the guest sees RAM once
# the firmware shadowed it (PAM on pc/q35: on QEMU 7.2 + SeaBIOS 18 of
# those 64 pages differ).  qvmid attaches at -S and serves pmemaccess; the
# guest is resumed through its QMP proxy and boots; then the window read
# through qvmid, and through the qvmi CLI (its layout cache must not have
# kept the -S map), must be the bytes QEMU's own pmemsave writes.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
TEST=prelaunch
# shellcheck source=guest-script.inc
. "$(dirname "${BASH_SOURCE[0]}")/guest-script.inc"
done_() { echo "$pass passed, $fail failed, $skip skipped"; exit 0; }

[ "$(get stopped)" = 1 ] || skip_all "the guest was not started with --stopped"
export XDG_CACHE_HOME="$TMP/cache"
# QMP by hand (QEMU's pmemsave is the ground truth): one command.
qmp() {
	python3 - "$1" "$2" "${3:-}" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(60)
s.connect(sys.argv[1])
f = s.makefile("rwb")
json.loads(f.readline())
for cmd, args in (("qmp_capabilities", None), (sys.argv[2], sys.argv[3])):
    m = {"execute": cmd}
    if args:
        m["arguments"] = json.loads(args)
    f.write((json.dumps(m) + "\n").encode())
    f.flush()
    while True:
        r = json.loads(f.readline())
        if "return" in r or "error" in r:
            break
    if "error" in r:
        sys.exit(r["error"]["desc"])
PY
}

check status_prelaunch '[ "$(timeout 60 "$QVMI" --qmp "$QMP" status)" = paused ]'
timeout 60 "$QVMI" --qmp "$QMP" info >/dev/null
check no_layout_cached_at_S '! ls "$TMP/cache/qvmi"/layout-* >/dev/null 2>&1'

"$BUILD/qvmid" --qmp "$QMP" --pmemaccess "$TMP/pmem" \
	--listen-qmp "$TMP/proxy" >"$TMP/qvmid.log" 2>&1 &
DPID=$!
for _ in $(seq 100); do [ -S "$TMP/proxy" ] && [ -S "$TMP/pmem" ] && break; sleep 0.1; done
check qvmid_up '[ -S "$TMP/proxy" ] && [ -S "$TMP/pmem" ]'
check resume 'timeout 60 "$QVMI" --qmp "$TMP/proxy" resume >/dev/null'
for _ in $(seq 600); do grep -q '^QVMI-GT ready' "$SERIAL" 2>/dev/null && break; sleep 0.3; done
check booted 'grep -q "^QVMI-GT ready" "$SERIAL"'

timeout 60 "$QVMI" --pmem "$TMP/pmem" read 0xc0000 --len 0x40000 --raw >"$TMP/pmem.bin"
timeout 60 "$QVMI" --qmp "$TMP/proxy" read 0xc0000 --len 0x40000 --raw >"$TMP/cli.bin"
timeout 60 "$QVMI" --qmp "$TMP/proxy" read 0xc0000 --len 0x40000 --raw >"$TMP/cli2.bin"
qmp "$TMP/proxy" pmemsave "{\"val\": 786432, \"size\": 262144, \"filename\": \"$TMP/truth.bin\"}"
check pmemsave '[ "$(stat -c %s "$TMP/truth.bin" 2>/dev/null)" = 262144 ]'
check qvmid_window_as_qemu 'cmp -s "$TMP/pmem.bin" "$TMP/truth.bin"'
check cli_window_as_qemu 'cmp -s "$TMP/cli.bin" "$TMP/truth.bin"'
check cli_cached_window_as_qemu 'cmp -s "$TMP/cli2.bin" "$TMP/truth.bin"'
# the SMBIOS entry point SeaBIOS puts in the shadowed area
check smbios_entry 'grep -aq "_SM" "$TMP/pmem.bin"'
done_
