#!/bin/bash
# The Python binding (python/, docs/PYTHON.md) against the shared demo
# guest: its pytest suite (python/tests: live guest, a dump of it, a qvmid
# session, the docs' examples) with Debian's python3-pytest, then the
# install the issue asks for: a fresh venv, `pip install
# --no-build-isolation ./python` with no index (nothing downloaded), and
# a five-line script listing the guest's processes from that venv.
# Prints "N passed, N failed, N skipped" last.
set -uo pipefail
ROOT=${QVMI_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${QVMI_BUILD:-$ROOT/build}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
if [ -z "${QVMI_GUEST_DIR:-}" ]; then
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
if ! "$PY" -c 'import pytest' 2>/dev/null; then
	echo "SKIP python: no pytest (scripts/deps installs python3-pytest)"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
fi
make --no-print-directory -C "$ROOT" python >/dev/null || {
	echo "FAIL python::build"
	echo "0 passed, 1 failed, 0 skipped"
	exit 1
}
TMP=$(mktemp -d)
QMP=$(sed -n 's/^qmp=//p' "$QVMI_GUEST_DIR/guest.env")
# Whatever happens here, the shared guest runs on for the tests after
# this one (a test stopped mid-watch would leave it paused).
trap '"$BUILD/qvmi" --qmp "$QMP" resume >/dev/null 2>&1; rm -rf "$TMP"' EXIT

# pytest prints the harness line itself (python/tests/conftest.py).  Its
# output goes out as it comes (a run the runner kills still shows where it
# was), a test stuck for 120 s gets every thread's traceback
# (faulthandler), and the whole suite at most 300 s.
# A 32-bit guest (configs: i386, i386-q32) runs the 32-bit file only; the
# others are written for the x86_64 demo guest (test_i386.py skips there).
ARCH=$(sed -n 's/^arch=//p' "$QVMI_GUEST_DIR/guest.env")
TESTS=tests
[ "$ARCH" = i386 ] && TESTS=tests/test_i386.py
(cd "$ROOT/python" && QVMI_BUILD="$BUILD" PYTHONPATH="$ROOT/python" \
	timeout 300 "$PY" -m pytest -p no:cacheprovider -q -rs \
	-o faulthandler_timeout=120 $TESTS) 2>&1 | tee "$TMP/pytest.log"
rc=${PIPESTATUS[0]}
line=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' \
	"$TMP/pytest.log" | tail -n 1)
read -r pass _ fail _ skip _ <<<"${line//,/}"
pass=${pass:-0} fail=${fail:-0} skip=${skip:-0}
[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1

# A fresh venv and pip, no index: only what Debian's python3-venv and the
# repository hold.  The build directory pip leaves in python/ is removed.
if [ "$ARCH" = i386 ]; then
	echo "$pass passed, $fail failed, $skip skipped"
	[ "$fail" -eq 0 ]
	exit
fi
venv_ok=0
if "$PY" -m venv "$TMP/venv" >"$TMP/venv.log" 2>&1 &&
	(cd "$ROOT" && "$TMP/venv/bin/pip" install -q --no-index \
		--no-build-isolation ./python) >>"$TMP/venv.log" 2>&1; then
	(cd "$TMP" && "$TMP/venv/bin/python" - "$QMP") >"$TMP/ps.out" \
		2>>"$TMP/venv.log" <<'PYEOF'
import sys, qvmi
with qvmi.VM(qmp=sys.argv[1]) as vm:
    for t in vm.linux().tasks():
        print(t.pid, t.comm)
PYEOF
	grep -qx '1 init' "$TMP/ps.out" && grep -q ' qvmi-sleeper$' \
		"$TMP/ps.out" && venv_ok=1
fi
rm -rf "$ROOT/python/build" "$ROOT/python/qvmi.egg-info"
if [ $venv_ok -eq 1 ]; then
	echo "PASS python::venv_pip_install ($(wc -l <"$TMP/ps.out") tasks)"
	pass=$((pass + 1))
else
	echo "FAIL python::venv_pip_install"
	cat "$TMP/venv.log"
	fail=$((fail + 1))
fi
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
