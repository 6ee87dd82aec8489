#!/bin/bash
# python/tests/asan.sh: the binding's pytest suite with the extension and
# libqvmi under ASan+UBSan (refcounting and memory errors in the binding
# abort the run).  Python's objects go through malloc (PYTHONMALLOC), so a
# use after an early Py_DECREF is a heap-use-after-free; leaks are left to
# test_live.py::test_no_leak (Python itself leaks at exit).
#   QVMI_GUEST_DIR=DIR python/tests/asan.sh [pytest args]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
make --no-print-directory -C "$ROOT" -j2 SANITIZE=1 build-san/libqvmi.a
(cd "$ROOT/python" && QVMI_BUILD="$ROOT/build-san" QVMI_SANITIZE=1 \
	/usr/bin/python3 setup.py -q build_ext --build-lib "$OUT" \
	--build-temp "$OUT/tmp" 2>/dev/null)
cp "$ROOT/python/qvmi/__init__.py" "$OUT/qvmi/"
cd "$ROOT/python/tests"
PYTHONPATH="$OUT" PYTHONMALLOC=malloc \
	LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	QVMI_BUILD="${QVMI_BUILD:-$ROOT/build}" \
	/usr/bin/python3 -m pytest -p no:cacheprovider -q "$@" .
