#!/bin/bash
# The Linux views through the CLI (--json), on whatever kernel the guest
# runs, against what the guest printed about itself (guest/init's QVMI-GT
# lines): ps, ps --threads, pstree, lsmod (name, size, base, state), maps
# and cmdline of the guest's helpers, dmesg (its first and last lines of
# dmesg -r).  The same script runs on every configuration that claims it
# (configs): types come from guest.env's types_btf/types_map when the
# kernel has no BTF (i386).  Prints "N passed, N failed, N skipped" last.
set -uo pipefail
[ -n "${QVMI_GUEST_DIR:-}" ] || { echo "0 passed, 0 failed, 1 skipped"; exit 0; }
ENV="$QVMI_GUEST_DIR/guest.env"
get() { sed -n "s/^$1=//p" "$ENV"; }
Q=$(get qmp)
SERIAL=$(get serial)
QVMI="${QVMI_BUILD:?}/qvmi"
TMP=$(mktemp -d)
trap '[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"' EXIT
CFG=${QVMI_GUEST_CONFIG:-default}
pass=0 fail=0
ok() { echo "PASS lxcli::$1 ($CFG)"; pass=$((pass + 1)); }
bad() { echo "FAIL lxcli::$1 ($CFG)${2:+: $2}"; fail=$((fail + 1)); }
TYPES=()
[ -n "$(get types_btf)" ] && TYPES+=(--btf "$(get types_btf)")
[ -n "$(get types_map)" ] && TYPES+=(--system-map "$(get types_map)")
tr -d '\r' <"$SERIAL" | grep -a '^QVMI-GT ' >"$TMP/gt"

# run NAME ARGS...: qvmi --json ARGS into $TMP/NAME.json; a failure is a
# FAIL with its message (a view that cannot read says so, never [] )
run() {
	local name=$1
	shift
	if timeout 120 "$QVMI" --qmp "$Q" "${TYPES[@]}" --json "$@" \
		>"$TMP/$name.json" 2>"$TMP/$name.err"; then
		return 0
	fi
	bad "$name" "qvmi $* failed: $(head -c 300 "$TMP/$name.err")"
	return 1
}

# cmp NAME KIND [ARG]: python below, on $TMP/NAME.json and the ground truth
cmp() {
	local name=$1 out
	if out=$(python3 - "$2" "$TMP/$name.json" "$TMP/gt" "${@:3}" 2>&1 <<'PY'
import json, sys
what, path, gtpath = sys.argv[1:4]
args = sys.argv[4:]
got = json.load(open(path))
gt = [l.rstrip("\n").split(" ", 2)[1:] for l in open(gtpath, errors="replace")]
gt = [(k, v[0] if v else "") for k, *v in gt]
def kind(k):
    return [v for kk, v in gt if kk == k]
def fail(msg):
    print(msg)
    sys.exit(1)
ps = {}
for v in kind("ps"):
    w = v.split(" ", 3)
    ps[int(w[0])] = (int(w[1]), w[3])
if what == "ps":
    mine = {t["pid"]: t for t in got}
    same = [p for p in ps if p in mine and mine[p]["ppid"] == ps[p][0]
            and mine[p]["comm"] and ps[p][1].startswith(mine[p]["comm"])]
    gone = [p for p in ps if p not in mine and ps[p][1].startswith("kworker/")]
    if len(same) + len(gone) != len(ps):
        fail("only %d of %d (+%d exited kworkers)" % (len(same), len(ps), len(gone)))
    print("%d of %d tasks" % (len(same), len(ps)))
elif what == "threads":
    want = [v.split(" ", 2) for v in kind("thread")]
    mine = {t["pid"]: t for t in got}
    if sum(1 for w in want if w[0] != w[1]) < 2:
        fail("the guest printed %d threads" % len(want))
    for tid, tgid, comm in want:
        t = mine.get(int(tid))
        if not t or t["tgid"] != int(tgid) or t["comm"] != comm:
            fail("thread %s (%s of %s): %s" % (tid, comm, tgid, t))
    print("%d threads of the helpers: tid, tgid, comm" % len(want))
elif what == "pstree":
    parent = {}
    def walk(nodes, up):
        for n in nodes:
            if n["pid"] in parent:
                fail("pid %d twice in the tree" % n["pid"])
            parent[n["pid"]] = up
            walk(n["children"], n["pid"])
    walk(got, None)
    if parent.get(0, 1) is not None:
        fail("pid 0 is not a root")
    n = 0
    for p, (pp, comm) in ps.items():
        if p not in parent:
            if not comm.startswith("kworker/"):
                fail("pid %d (%s) not in the tree" % (p, comm))
            continue
        if parent[p] != pp:
            fail("pid %d (%s): parent %s, guest says %d" % (p, comm, parent[p], pp))
        n += 1
    print("%d of %d tasks under their parent" % (n, len(ps)))
elif what == "lsmod":
    mods = [v.split() for v in kind("modules")]
    if len(mods) < 2:
        fail("the guest loaded %d modules" % len(mods))
    mine = {m["name"]: m for m in got}
    if len(mine) != len(mods):
        fail("%d modules, guest has %d" % (len(mine), len(mods)))
    for w in mods:
        m = mine.get(w[0])
        if not m or m["size"] != int(w[1]) or m["state"] != w[4] or \
           m["base"] != int(w[5], 16):
            fail("module %s: %s vs %s" % (w[0], m, w))
    print("%d modules: name, size, state, base" % len(mods))
elif what == "maps":
    pid = int(args[0])
    rows = []
    for v in kind("maps"):
        p, line = v.split(" ", 1)
        if int(p) != pid:
            continue
        w = line.split(None, 5)
        a, b = w[0].split("-")
        rows.append((int(a, 16), int(b, 16), w[1], int(w[2], 16),
                     w[5].strip() if len(w) > 5 else ""))
    mine = [(v["start"], v["end"], v["perms"], v["offset"], v["name"]) for v in got]
    if not rows or mine != rows:
        fail("pid %d: %d VMAs, guest %d; first difference %s" % (pid,
             len(mine), len(rows),
             next(((a, b) for a, b in zip(mine, rows) if a != b), None)))
    print("pid %d: %d VMAs" % (pid, len(rows)))
elif what == "cmdline":
    pid = args[0]
    want = [v.split(" ", 1)[1] for v in kind("cmdline") if v.split(" ", 1)[0] == pid]
    if not want or " ".join(got) != want[0]:
        fail("pid %s: %r vs %r" % (pid, " ".join(got), want))
    print("pid %s: %s" % (pid, want[0]))
elif what == "dmesg":
    lines = []
    for r in got:
        pre = "<%d>[%5d.%06d] " % (r["facility"] << 3 | r["level"],
                                   r["ts_nsec"] // 10**9,
                                   r["ts_nsec"] % 10**9 // 1000)
        lines += [pre + t for t in r["text"].split("\n")]
    head, tail = kind("dmesg"), kind("dmesg_tail")
    if not head or lines[:len(head)] != head:
        fail("first lines differ: %s" % next(((a, b) for a, b in
             zip(lines, head) if a != b), (len(lines), len(head))))
    at = [i for i in range(len(lines)) if lines[i:i + len(tail)] == tail]
    if not tail or not at:
        fail("the guest's last %d lines are not a run of ours" % len(tail))
    print("%d lines; first %d and last %d match" % (len(lines), len(head), len(tail)))
PY
	); then
		ok "$name" && echo "    # $out"
	else
		bad "$name" "$out"
	fi
}

run ps ps && cmp ps ps
run threads ps --threads && cmp threads threads
run pstree pstree && cmp pstree pstree
run lsmod lsmod && cmp lsmod lsmod
for comm in qvmi-marker-a qvmi-sleeper; do
	pid=$(awk -v c=$comm '$2 == "ps" && $6 == c { print $3; exit }' "$TMP/gt")
	[ -n "$pid" ] || { bad "maps_$comm" "no $comm in the guest's ps"; continue; }
	run "maps_$comm" maps "$pid" && cmp "maps_$comm" maps "$pid"
	run "cmdline_$comm" cmdline "$pid" && cmp "cmdline_$comm" cmdline "$pid"
done
run dmesg dmesg && cmp dmesg dmesg
echo "$pass passed, $fail failed, 0 skipped"
[ "$fail" -eq 0 ]
