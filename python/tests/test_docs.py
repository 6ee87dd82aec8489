# SPDX-License-Identifier: LGPL-2.1-or-later
"""Every ```python block of docs/PYTHON.md runs as it is, in the demo
guest's directory (the examples name its sockets "qmp.sock" and
"gdb.sock"), with the installed or in-place qvmi package, and exits 0
with some output."""
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT

DOC = os.path.join(ROOT, "docs", "PYTHON.md")


def blocks():
    with open(DOC) as f:
        text = f.read()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_doc_has_examples():
    assert len(blocks()) >= 3


@pytest.mark.parametrize("n", range(len(blocks())))
def test_doc_example(n, guest):
    code = blocks()[n]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(ROOT, "python")
    r = subprocess.run([sys.executable, "-c", code], cwd=guest.env["dir"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip(), "example %d printed nothing" % n
