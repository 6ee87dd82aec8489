# SPDX-License-Identifier: LGPL-2.1-or-later
"""VM(domain=, connect=): the errors, with no guest and no libvirtd.

The live domain (ps against the guest's ground truth through libvirt) is
tests/integration/libvirt.sh's, with its own libvirtd.
"""
import errno

import pytest

import qvmi


def test_no_libvirtd(tmp_path):
    uri = "qemu:///system?socket=%s" % (tmp_path / "nonexistent")
    with pytest.raises(qvmi.Error) as e:
        qvmi.VM(domain="nosuch", connect=uri)
    assert e.value.errno == errno.ECONNREFUSED
    assert "libvirt" in str(e.value)


def test_connect_needs_domain():
    with pytest.raises(TypeError):
        qvmi.VM(qmp="/nonexistent", connect="qemu:///system")


def test_one_target():
    with pytest.raises(TypeError):
        qvmi.VM(qmp="/nonexistent", domain="x")


def test_empty_name():
    with pytest.raises(qvmi.Error) as e:
        qvmi.VM(domain="")
    assert e.value.errno == errno.EINVAL
