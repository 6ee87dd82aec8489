#!/bin/bash
# A kdump of a guest whose kernel knows less RAM than QEMU gives it
# (booted with mem=300M on 512 MiB; configuration "memlimit"): its last
# memory section ends at 384 MiB, and makedumpfile 1.7.2 cuts the dump
# there.  A kdump reaching to 512 MiB made it fail ("read_pfn: Can't get
# the page data"); now the kdump ends at the kernel's max_pfn rounded up
# to a section.  Checked with the real makedumpfile: re-filtering
# (-c -d 31) and --dump-dmesg, against the guest's own banner.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
QMP=$(get qmp)
SERIAL=$(get serial)
QVMI="${QVMI_BUILD:?}/qvmi"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0 fail=0 skip=0
ok() { echo "PASS dump_mem::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL dump_mem::$1"; fail=$((fail + 1)); }
skp() { echo "SKIP dump_mem::$1: $2"; skip=$((skip + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
done_() { echo "$pass passed, $fail failed, $skip skipped"; exit 0; }

if ! tr -d '\r' <"$SERIAL" | grep -q 'Command line:.* mem=300M'; then
	skp all "the guest was not booted with mem=300M (configuration memlimit)"
	done_
fi
export XDG_CACHE_HOME="$TMP/cache"
timeout 300 "$QVMI" --qmp "$QMP" -v dump --format kdump "$TMP/vm.kdump" \
	>"$TMP/dump.out" 2>"$TMP/dump.err"
rc=$?
check kdump_written '[ $rc -eq 0 ] && [ -s "$TMP/vm.kdump" ]'
# 0x18000000: 300 MiB rounded up to a 128 MiB section
check kdump_ends_at_section \
	'grep -q "leaves out 0x18000000-0x1fffffff" "$TMP/dump.err"'
if ! command -v makedumpfile >/dev/null; then
	skp makedumpfile "makedumpfile not installed"
	done_
fi
timeout 600 makedumpfile -c -d 31 "$TMP/vm.kdump" "$TMP/vm.d31" \
	>"$TMP/mkd.out" 2>&1
rc=$?
check makedumpfile_d31 '[ $rc -eq 0 ] && [ -s "$TMP/vm.d31" ]'
[ $rc -eq 0 ] || tr '\r' '\n' <"$TMP/mkd.out" | grep -v '^Copying\|^Excluding' | tail -n 5
timeout 300 makedumpfile --dump-dmesg "$TMP/vm.kdump" "$TMP/dmesg" \
	>"$TMP/mkd2.out" 2>&1
banner=$(tr -d '\r' <"$SERIAL" | grep -o 'Linux version [^ ]* ([^)]*)' | head -n1)
check makedumpfile_dmesg_banner \
	'[ -n "$banner" ] && grep -qF "$banner" "$TMP/dmesg"'
timeout 600 makedumpfile -c -d 31 "$TMP/vm.d31" "$TMP/vm.d31b" \
	>"$TMP/mkd3.out" 2>&1
rc=$?
check makedumpfile_refilter_again '[ $rc -eq 0 ]'
done_
