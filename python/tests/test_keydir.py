# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmi.Listener(addr, key_dir=DIR): per-VM keys on one connect-out
listener (docs/PROTOCOL.md "Which VM").  Real qvmids dial it, each in
front of its own QEMU stopped at -S with -uuid and -name (no kernel, no
CPU time, not the demo guest); a second QMP monitor of each QEMU is the
ground truth for its memory."""
import errno
import os
import shutil
import subprocess

import pytest

import qvmi
from conftest import BUILD

UA = "aaaaaaaa-2222-4333-8444-0000000000aa"
UB = "bbbbbbbb-2222-4333-8444-0000000000bb"

pytestmark = pytest.mark.skipif(
    not shutil.which("qemu-system-x86_64")
    or not os.access(os.path.join(BUILD, "qvmid"), os.X_OK),
    reason="needs qemu-system-x86_64 and build/qvmid")


@pytest.fixture
def stopped_qemus(tmp_path):
    """Two stopped QEMUs, vm-a and vm-b: name -> (qmp, ground-truth qmp)."""
    pids, vms = [], {}
    for name, uuid in (("vm-a", UA), ("vm-b", UB)):
        qmp, gt = tmp_path / (name + ".qmp"), tmp_path / (name + ".gt")
        pidf = tmp_path / (name + ".pid")
        subprocess.run(
            ["qemu-system-x86_64", "-S", "-nodefaults", "-no-user-config",
             "-display", "none", "-m", "32", "-name", name, "-uuid", uuid,
             "-qmp", "unix:%s,server=on,wait=off" % qmp,
             "-qmp", "unix:%s,server=on,wait=off" % gt,
             "-pidfile", str(pidf), "-daemonize"], check=True, timeout=60)
        pids.append(int(pidf.read_text()))
        vms[name] = (str(qmp), str(gt))
    yield vms
    for pid in pids:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass


def keyfile(path):
    path.write_bytes(os.urandom(32))
    path.chmod(0o600)
    return path


def dial(qmp, port, key):
    return subprocess.Popen(
        [os.path.join(BUILD, "qvmid"), "--qmp", qmp, "--session-connect",
         "tcp:127.0.0.1:%d" % port, "--reconnect-interval", "200",
         "--session-key", str(key)], stderr=subprocess.DEVNULL)


def stop(procs):
    for p in procs:
        p.terminate()
        p.wait(10)


def test_keydir_two_vms_and_impostor(stopped_qemus, tmp_path):
    kd = tmp_path / "keys"
    kd.mkdir(mode=0o700)
    ka, kb = keyfile(tmp_path / "ka"), keyfile(tmp_path / "kb")
    for u, k in ((UA, ka), (UB, kb)):
        shutil.copy(k, kd / (u.replace("-", "") + ".key"))
        (kd / (u.replace("-", "") + ".key")).chmod(0o600)
    truth = {}
    for name, (_, gt) in stopped_qemus.items():
        truth[name] = os.urandom(64)
        with qvmi.VM(qmp=gt) as v:
            v.write_pa(0x300000, truth[name])
    with qvmi.Listener("tcp:127.0.0.1:0", key_dir=str(kd), timeout=30) as ln:
        procs = [dial(stopped_qemus[n][0], ln.port, k)
                 for n, k in (("vm-a", ka), ("vm-b", kb))]
        try:
            vms = [ln.accept(timeout=60) for _ in range(2)]
            seen = {}
            for v in vms:
                info = v.info()
                seen[info["name"]] = info["uuid"]
                assert v.read_pa(0x300000, 64) == truth[info["name"]]
                v.close()
            assert seen == {"vm-a": UA, "vm-b": UB}
        finally:
            stop(procs)
        # vm-b's QEMU with vm-a's key: refused, the uuid named.
        procs = [dial(stopped_qemus["vm-b"][0], ln.port, ka)]
        try:
            with pytest.raises(qvmi.Error) as e:
                ln.accept(timeout=60)
            assert e.value.errno == errno.EACCES
            assert UB.replace("-", "") in str(e.value)
            assert "did not prove the key" in str(e.value)
        finally:
            stop(procs)
        # The listener goes on: the real vm-b again.
        procs = [dial(stopped_qemus["vm-b"][0], ln.port, kb)]
        try:
            # Bounded: the impostor's last dial may still be queued.
            for _ in range(5):
                try:
                    v = ln.accept(timeout=60)
                    break
                except qvmi.Error as err:
                    if err.errno not in (errno.ECONNRESET, errno.EPIPE):
                        raise
            with v:
                assert v.info()["uuid"] == UB
        finally:
            stop(procs)


def test_keydir_options(tmp_path):
    kd = tmp_path / "keys"
    kd.mkdir(mode=0o700)
    key = keyfile(tmp_path / "k")
    with pytest.raises(ValueError):
        qvmi.Listener("tcp:127.0.0.1:0", str(key), key_dir=str(kd))
    with pytest.raises(ValueError):
        qvmi.Listener("tcp:127.0.0.1:0")
    with pytest.raises(qvmi.Error) as e:
        qvmi.Listener(str(tmp_path / "l.sock"), key_dir=str(kd))
    assert e.value.errno == errno.EINVAL
    assert "tcp: or vsock:" in str(e.value)
    kd.chmod(0o755)
    with pytest.raises(qvmi.Error) as e:
        qvmi.Listener("tcp:127.0.0.1:0", key_dir=str(kd))
    assert e.value.errno == errno.EPERM
    assert str(kd) in str(e.value)
    kd.chmod(0o700)
    with qvmi.Listener("tcp:127.0.0.1:0", key_dir=str(kd)) as ln:
        assert ln.port > 0
        with pytest.raises(qvmi.Error) as e:
            ln.accept(timeout=0.2)
        assert e.value.errno == errno.ETIMEDOUT
