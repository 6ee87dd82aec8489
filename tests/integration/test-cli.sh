#!/bin/bash
# The qvmi CLI against the shared demo guest, checked against what the
# guest printed about itself (serial log ground truth) and against other
# commands.  Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
Q=$(get qmp)
SERIAL=$(get serial)
QVMI="${QVMI_BUILD:?}/qvmi"
TMP=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
pass=0 fail=0
ok() { echo "PASS cli::$1"; pass=$((pass + 1)); }
bad() { echo "FAIL cli::$1${2:+: $2}"; fail=$((fail + 1)); }
check() { local n=$1; shift; if "$@"; then ok "$n"; else bad "$n"; fi; }
gt() { tr -d '\r' <"$SERIAL" | sed -n "s/^QVMI-GT $1 //p"; }

# info: QEMU's pid and the vCPU count, as JSON
"$QVMI" --qmp "$Q" --json info >"$TMP/info.json" 2>"$TMP/err" || bad info "$(cat "$TMP/err")"
check info_pid [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$TMP/info.json")" = "$(get pid)" ]
check info_vcpus [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["vcpus"])' "$TMP/info.json")" = "$(get smp)" ]

# the banner: linux_banner's VA translates to a PA holding the guest's
# own /proc/version line, which find also reports
BANNER=$(gt banner | head -n1)
KVA=$(gt ksym | awk '$3 == "linux_banner" { print $1 }' | head -n1)
PA=$("$QVMI" --qmp "$Q" --json translate "0x$KVA" | python3 -c 'import json,sys; print(hex(json.load(sys.stdin)["pa"]))')
check translate_banner [ -n "$PA" ]
"$QVMI" --qmp "$Q" read "$PA" --len ${#BANNER} --raw >"$TMP/banner" 2>/dev/null
check read_banner_matches_guest [ "$(cat "$TMP/banner")" = "$BANNER" ]
"$QVMI" --qmp "$Q" find "$BANNER" --max 20 >"$TMP/hits"
check find_reports_banner_pa grep -qx "$PA" "$TMP/hits"
check find_no_match_exit1 bash -c "! '$QVMI' --qmp '$Q' find 'qvmi-no-such-string-$$-zz' 2>/dev/null"

# write then read back in the unused tail of a marker's heap buffer
HPA=$(gt marker | head -n1 | sed -n 's/.*heap_pa=\(0x[0-9a-f]*\).*/\1/p')
if [ -n "$HPA" ]; then
	SCR=$(printf '0x%x' $((HPA + 100)))
	ORIG=$("$QVMI" --qmp "$Q" --json read "$SCR" --len 8 | python3 -c 'import json,sys; print(json.load(sys.stdin)["hex"])')
	"$QVMI" --qmp "$Q" write "$SCR" "de ad be ef 01 02 03 04" >/dev/null
	GOT=$("$QVMI" --qmp "$Q" --json read "$SCR" --len 8 | python3 -c 'import json,sys; print(json.load(sys.stdin)["hex"])')
	"$QVMI" --qmp "$Q" write "$SCR" "$ORIG" >/dev/null
	check write_read_back [ "$GOT" = deadbeef01020304 ]
fi

# pause / status / resume
check pause [ "$("$QVMI" --qmp "$Q" pause)" = paused ]
check status_paused [ "$("$QVMI" --qmp "$Q" status)" = paused ]
check resume [ "$("$QVMI" --qmp "$Q" resume)" = running ]

# registers: every vCPU has a kernel-or-user CR3 and RIP
N=$("$QVMI" --qmp "$Q" --json regs | python3 -c 'import json,sys; r=json.load(sys.stdin); print(sum(1 for v in r if v["cr3"] and v["rip"]))')
check regs_all_vcpus [ "$N" = "$(get smp)" ]

# a dump of our own, then the same bytes and registers from it
"$QVMI" --qmp "$Q" pause >/dev/null
"$QVMI" --qmp "$Q" dump "$TMP/vm.elf" >/dev/null 2>&1
CR3=$("$QVMI" --qmp "$Q" --json regs --vcpu 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cr3"])')
"$QVMI" --qmp "$Q" resume >/dev/null
DCR3=$("$QVMI" --dump "$TMP/vm.elf" --json regs --vcpu 0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["cr3"])')
check dump_regs_cr3 [ -n "$CR3" ] && [ "$CR3" = "$DCR3" ]
"$QVMI" --dump "$TMP/vm.elf" read "$PA" --len ${#BANNER} --raw >"$TMP/dbanner" 2>/dev/null
check dump_read_banner [ "$(cat "$TMP/dbanner")" = "$BANNER" ]

# qvmi ps twice in a fresh cache directory: the first attaches through QMP
# and writes the profile and the layout, the second sends no QMP command
# (src/core/layout-cache.c); both list the guest's ground-truth processes
# (pid, ppid, comm: the GT's comm may be longer, a kworker's with its
# workqueue, TASK_COMM_LEN in the kernel), and QMP is free
# for the next client after each.
psgt() { # the GT tasks found in a --json ps listing on stdin
	python3 -c '
import json, sys
gt = {}
for l in open(sys.argv[1], errors="replace"):
    w = l.replace("\r", "").split()
    if len(w) >= 6 and w[:2] == ["QVMI-GT", "ps"]:
        gt[int(w[2])] = (int(w[3]), w[5])
ps = {t["pid"]: (t["ppid"], t["comm"]) for t in json.load(sys.stdin)}
same = [p for p in gt if p in ps and ps[p][0] == gt[p][0] and
        ps[p][1] and gt[p][1].startswith(ps[p][1])]
print("ok" if len(same) >= 10 and len(same) >= len(gt) - 3 else
      "only %d of %d" % (len(same), len(gt)))' "$SERIAL"
}
XDG="$TMP/xdg"
for run in full cached; do
	XDG_CACHE_HOME=$XDG "$QVMI" --qmp "$Q" -v --json ps >"$TMP/ps.$run" 2>"$TMP/ps.$run.err"
	check "ps_${run}_matches_gt" [ "$(psgt <"$TMP/ps.$run")" = ok ]
	check "ps_${run}_then_qmp_free" [ "$("$QVMI" --qmp "$Q" status)" = running ]
done
check ps_full_wrote_layout grep -q "attach: layout cached" "$TMP/ps.full.err"
check ps_cached_used_layout grep -q "from the layout cache" "$TMP/ps.cached.err"
check ps_cached_no_qmp bash -c "! grep -q 'connecting to QMP' '$TMP/ps.cached.err'"
# the state through a lazily connected QMP after a cached attach
check status_after_cached_attach [ "$(XDG_CACHE_HOME=$XDG "$QVMI" --qmp "$Q" status)" = running ]
check ps_opt_out bash -c "QVMI_NO_LAYOUT_CACHE=1 XDG_CACHE_HOME='$XDG' '$QVMI' --qmp '$Q' -v ps 2>&1 >/dev/null | grep -q 'attach: QEMU .* pid [0-9]*\$'"

# ps --long: each task's task_struct and dtb as --json has them, "-" for
# kernel threads (no mm); the default listing's columns are unchanged
XDG_CACHE_HOME=$XDG "$QVMI" --qmp "$Q" ps --long >"$TMP/ps.long"
check ps_long_matches_json python3 - "$TMP/ps.long" "$TMP/ps.cached" <<'PY'
import json, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()]
assert rows[0][-2:] == ["TASK", "DTB"], rows[0]
js = {t["pid"]: t for t in json.load(open(sys.argv[2]))}
n = 0
for r in rows[1:]:
    t = js.get(int(r[0]))
    if t is None or t["comm"] not in r[5]:
        continue  # started or ended between the two listings
    assert int(r[-2], 16) == t["task"], (r, t)
    assert r[-1] == ("-" if not t["dtb"] else "0x%010x" % t["dtb"]), (r, t)
    n += 1
assert n >= 20 and any(r[-1] != "-" for r in rows[1:]), n
PY
check ps_default_columns bash -c "XDG_CACHE_HOME='$XDG' '$QVMI' --qmp '$Q' ps | head -1 | grep -q 'COMM             START\$'"

# errors are clear and exit non-zero
"$QVMI" --qmp "$Q" read 0xfff00000000 --len 16 >/dev/null 2>"$TMP/err"
check read_unmapped_error grep -q "0xfff00000000" "$TMP/err"
check bad_target_error bash -c "! '$QVMI' --qmp /nonexistent/qmp.sock info 2>/dev/null"
check help_exit0 bash -c "'$QVMI' read --help >/dev/null"

# A failing command prints no result: text mode leaves stdout empty, --json
# prints exactly one {"error": {...}} object; both exit 1.  Each view, with
# a failure it really hits here (types that are not the guest's, a pid with
# no such task or no mm, a symbol that is not there, a vCPU that is not).
: >"$TMP/empty.btf"
jerr() { # cmd...: one JSON error object on stdout, exit 1, code $JCODE
	local rc out
	out=$("$QVMI" --qmp "$Q" --json "$@" 2>/dev/null); rc=$?
	[ "$rc" = 1 ] && python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert list(o) == ["error"], o
e = o["error"]
assert e["message"] and e["errno"] > 0 and e["code"].startswith("E"), e
assert not e["message"].startswith(e.get("context", "-") + ":"), e
' "$out"
}
terr() { # cmd...: nothing on stdout, a message on stderr, exit 1
	local rc
	"$QVMI" --qmp "$Q" "$@" >"$TMP/t.out" 2>"$TMP/t.err"; rc=$?
	[ "$rc" = 1 ] && [ ! -s "$TMP/t.out" ] && [ -s "$TMP/t.err" ]
}
for v in ps pstree lsmod dmesg; do
	check "${v}_bad_types_json_error" jerr --btf "$TMP/empty.btf" "$v"
	check "${v}_bad_types_no_output" terr --btf "$TMP/empty.btf" "$v"
done
for v in maps cmdline env; do
	check "${v}_no_such_pid_json_error" jerr "$v" 999999
	check "${v}_no_such_pid_no_output" terr "$v" 999999
done
check maps_kthread_json_error jerr maps 2
check sym_unknown_json_error jerr sym qvmi_no_such_symbol
check sym_unknown_no_output terr sym qvmi_no_such_symbol
check regs_no_vcpu_json_error jerr regs --vcpu 4095
check read_unmapped_json_error jerr read 0xfff00000000 --len 16
check no_target_json_error bash -c "out=\$('$QVMI' --json ps 2>/dev/null); [ \$? = 1 ] && python3 -c 'import json,sys; assert list(json.loads(sys.argv[1]))==[\"error\"]' \"\$out\""
# dmesg's messages are not doubled ("dmesg: dmesg: ...")
"$QVMI" --qmp "$Q" --btf "$TMP/empty.btf" dmesg 2>"$TMP/err" >/dev/null
check dmesg_error_said_once bash -c "! grep -q 'dmesg: dmesg:' '$TMP/err'"

echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
