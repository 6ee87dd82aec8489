# SPDX-License-Identifier: LGPL-2.1-or-later
"""Build qvmi._qvmi against the repository's libqvmi.

    python3 -m venv venv && venv/bin/pip install --no-build-isolation ./python

works with Debian 12's packages alone (python3-dev, python3-setuptools,
python3-venv) and no download: there is deliberately no pyproject.toml,
so Debian's pip 23.0 installs with setuptools directly and needs no
'wheel' package (which a venv does not bundle).

The extension links build/libqvmi.a (position-independent objects) with
the library's own dependencies (json-c, libbpf), so the installed module
needs no libqvmi.so at run time.  If the archive is missing, `make
build/libqvmi.a` builds it first.  QVMI_ROOT overrides where the
repository is (default: the parent of this directory); QVMI_BUILD the
build directory (default: QVMI_ROOT/build).  QVMI_SANITIZE=1 builds the
extension with ASan+UBSan (tests only; run under LD_PRELOAD=libasan).
Only include/qvmi.h is used: the binding sees the public API alone.
"""
import os
import shlex
import subprocess

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.environ.get("QVMI_ROOT", os.path.join(HERE, "..")))
BUILD = os.path.abspath(os.environ.get("QVMI_BUILD", os.path.join(ROOT, "build")))
LIB_A = os.path.join(BUILD, "libqvmi.a")


def pkg_libs(name, fallback):
    try:
        out = subprocess.run(["pkg-config", "--libs", name], check=True,
                             capture_output=True, text=True).stdout
        return [f[2:] for f in shlex.split(out) if f.startswith("-l")]
    except (OSError, subprocess.CalledProcessError):
        return [fallback]


def lib_deps():
    """What linking libqvmi.a needs: the Makefile writes it next to the
    archive (json-c, libbpf, the dump compressors, ...)."""
    try:
        with open(os.path.join(BUILD, "libqvmi.libs")) as f:
            return [w[2:] for w in shlex.split(f.read()) if w.startswith("-l")]
    except OSError:
        return pkg_libs("json-c", "json-c") + pkg_libs("libbpf", "bpf")


if not os.path.exists(LIB_A):
    if os.path.exists(os.path.join(ROOT, "Makefile")):
        subprocess.run(["make", "-C", ROOT, "-j2",
                        "BUILD=" + os.path.relpath(BUILD, ROOT),
                        os.path.relpath(LIB_A, ROOT)], check=True)
    else:
        raise SystemExit("qvmi: no %s and no repository at %s (set QVMI_ROOT)"
                         % (LIB_A, ROOT))

cflags = ["-std=gnu11", "-Wall", "-Wextra", "-Werror",
          "-Wno-unused-parameter", "-Wno-missing-field-initializers",
          "-Wno-cast-function-type", "-fvisibility=hidden"]
ldflags = ["-Wl,--exclude-libs,ALL"]
if os.environ.get("QVMI_SANITIZE") == "1":
    cflags += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    ldflags += ["-fsanitize=address,undefined"]

ext = Extension(
    "qvmi._qvmi",
    sources=[os.path.join("src", f) for f in
             ("module.c", "vm.c", "events.c", "scan.c", "listen.c",
              "linux.c", "tasks.c", "views.c")],
    include_dirs=[os.path.join(ROOT, "include")],
    depends=[os.path.join("src", "binding.h"), LIB_A,
             os.path.join(ROOT, "include", "qvmi.h")],
    extra_objects=[LIB_A],
    libraries=lib_deps() + ["pthread"],
    extra_compile_args=cflags,
    extra_link_args=ldflags,
)

setup(
    name="qvmi",
    version="0.1.0",
    description="Virtual machine introspection for QEMU/KVM guests "
    "(libqvmi binding)",
    license="LGPL-2.1-or-later",
    python_requires=">=3.10",  # Py_NewRef, PyModule_AddObjectRef
    packages=["qvmi"],
    ext_modules=[ext],
)
