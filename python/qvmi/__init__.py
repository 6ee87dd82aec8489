# SPDX-License-Identifier: LGPL-2.1-or-later
"""qvmi: virtual machine introspection for QEMU/KVM guests.

A native binding of libqvmi.  Start with qvmi.VM:

    import qvmi
    with qvmi.VM(qmp="/run/vm/qmp.sock") as vm:
        lx = vm.linux()
        for t in lx.tasks():
            print(t.pid, t.comm)

Every failure raises qvmi.Error (an OSError: errno, strerror/message, and
fault_address for EFAULT).  Calls that read the guest release the GIL.
"""
import collections.abc
import errno as _errno
import time as _time

from . import _qvmi
from ._qvmi import (Current, Error, Linux, LogRecord, Module, PageRange,
                    Symbol, Task, TaskList, Vma)

__all__ = ["VM", "Listener", "Linux", "Error", "Task", "TaskList", "Module", "Vma",
           "LogRecord", "Symbol", "Current", "PageRange", "Hit", "Watch"]
__version__ = "%d.%d" % (_qvmi.VERSION_MAJOR, _qvmi.VERSION_MINOR)

collections.abc.Sequence.register(TaskList)

# How long one wait for a breakpoint lasts before the watch looks at
# signals (Ctrl-C) and its deadline again, in ms.
_WAIT_SLICE_MS = 200


class Hit:
    """One breakpoint hit of VM.watch().

    vcpu: the vCPU that hit it; rip: its instruction pointer; symbol:
    "name" or "name+0xoff" ("" without kernel symbols); task: the
    qvmi.Current task on that vCPU (pid, tgid, comm, address, user), or
    None if it could not be read.  While the loop body runs the VM is
    stopped at the breakpoint, so memory reads see that moment.
    """

    __slots__ = ("vcpu", "rip", "symbol", "task")

    def __init__(self, vcpu, rip, symbol, task):
        self.vcpu = vcpu
        self.rip = rip
        self.symbol = symbol
        self.task = task

    def __repr__(self):
        return "Hit(vcpu=%d, rip=0x%x, symbol=%r, task=%r)" % (
            self.vcpu, self.rip, self.symbol, self.task)


class Watch:
    """A breakpoint as an iterator of Hit (made by VM.watch()).

    The breakpoint goes in at the first next() and comes out, with the
    VM left running, when the iteration ends: count hits reached,
    timeout passed, a break out of the for loop, an exception in its
    body, Ctrl-C, close(), or the end of a 'with' block.  Through a qvmid
    session it also ends when qvmid asks to unhook (a management stop,
    reset, migration, quit...: the breakpoint is removed and the unhook
    acknowledged at once) or the guest resets.  Afterwards .reason says
    why: "count", "timeout", "closed", "unhook" or "reset"; .hits how
    many.  Use it from one thread at a time.
    """

    def __init__(self, vm, addr, count, timeout, hardware, vcpu, lx):
        self._vm = vm
        self.address = addr
        self._count = count
        self._timeout = timeout
        self._kind = _qvmi.BP_HW if hardware else _qvmi.BP_SW
        self._vcpu = vcpu
        self._lx = lx
        self._armed = False
        self._stopped = False  # the VM is stopped at our last hit
        self._done = False
        self._deadline = None
        self._unhook = False
        self._reset = False
        self.hits = 0
        self.reason = None

    def __iter__(self):
        return self

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        # A for loop that breaks drops the iterator: the breakpoint
        # must not outlive it (QEMU keeps a gdb client's breakpoints).
        try:
            self.close()
        except Exception:
            pass

    def _arm(self):
        vm = self._vm
        # A watch leaves the VM running, whatever it found (as `qvmi
        # watch` does with --gdb).
        vm.pause()
        try:
            vm._bp_insert(self._kind, self.address)
        except BaseException:
            vm.resume()
            raise
        self._armed = True
        if self._timeout is not None:
            self._deadline = _time.monotonic() + self._timeout
        vm.resume()

    def _hit(self, vcpu, rip):
        sym, task = "", None
        if self._lx is not None:
            try:
                s = self._lx.symbolize(rip)
                sym = s.name if not s.offset else "%s+0x%x" % (s.name,
                                                               s.offset)
            except Error:
                pass
            try:
                task = self._lx.current(vcpu)
            except Error:
                pass
        return Hit(vcpu, rip, sym, task)

    def __next__(self):
        if self._done:
            self.close()
            raise StopIteration
        try:
            return self._next()
        except BaseException:
            self.close()
            raise

    def _next(self):
        vm = self._vm
        if not self._armed:
            self._arm()
        elif self._stopped:
            self._stopped = False
            vm.resume()
        while True:
            self._events()
            if self._unhook or self._reset:
                self._end("unhook" if self._unhook else "reset")
            wait = _WAIT_SLICE_MS
            if self._deadline is not None:
                left = self._deadline - _time.monotonic()
                if left <= 0:
                    self._end("timeout")
                wait = max(1, min(wait, int(left * 1000)))
            stop = vm._wait_stop(wait)
            if stop is None:
                continue  # the slice ran out: look at time again
            vcpu, reason, rip, _ = stop
            if reason == _qvmi.STOP_EXITED:
                raise Error(_errno.EPIPE, "watch: the VM is gone")
            # Other stops (someone else's breakpoint) are not ours.
            if (reason != _qvmi.STOP_BREAKPOINT or rip != self.address or
                    (self._vcpu is not None and vcpu != self._vcpu)):
                vm.resume()
                continue
            self._stopped = True
            self.hits += 1
            hit = self._hit(vcpu, rip)
            if self._count is not None and self.hits >= self._count:
                self._done = True  # closed at the next next()/close()
                self.reason = "count"
            return hit

    def _events(self):
        # A qvmid session's events (None: not a session).
        for kind, _ in self._vm._poll_events() or ():
            if kind == _qvmi.EVENT_UNHOOK:
                self._unhook = True
            elif kind in (_qvmi.EVENT_RESET, _qvmi.EVENT_SHUTDOWN):
                self._reset = True

    def _end(self, reason):
        self.reason = reason
        self.close()
        raise StopIteration

    def close(self):
        """Remove the breakpoint and leave the VM running.  Idempotent."""
        self._done = True
        if self.reason is None:
            self.reason = "closed"
        if not self._armed:
            return
        self._armed = False
        vm = self._vm
        if vm.closed:
            return
        if vm.state == "running":
            vm.pause()
        self._stopped = False
        try:
            vm._bp_remove(self._kind, self.address)
        except Error as e:
            # After a reset qvmid drops a breakpoint it could not put
            # back: it is gone either way.
            if not (self._reset and e.errno == _errno.ENOENT):
                raise
        finally:
            vm.resume()
            if self._unhook:
                # Our breakpoint is out: let the held command through
                # now rather than after qvmid's unhook timeout.
                self._unhook = False
                vm._unhook_ack()


class VM(_qvmi.VM):
    __doc__ = _qvmi.VM.__doc__

    def watch(self, where, count=None, timeout=None, hardware=True,
              vcpu=None, linux=None):
        """watch(where, count=None, timeout=None, hardware=True, vcpu=None,
        linux=None) -> Watch, an iterator of Hit

        A breakpoint on a kernel symbol ("name", "name+0x10") or address,
        one Hit per time a vCPU reaches it, until count hits or timeout
        seconds.  Needs control of the VM: gdb= (with qmp=) or session=.
        hardware=False uses a software breakpoint.  vcpu: only hits
        of that vCPU.  linux: the Linux view for symbols and hit tasks
        (default: a new self.linux()).  Breaking out of the loop, an
        exception or Ctrl-C removes the breakpoint and leaves the VM
        running; while the body runs the VM is stopped at the hit.
        Through a qvmid session the watch also ends when qvmid asks to
        unhook or the guest resets (see Watch; .reason says why).

            for hit in vm.watch("__x64_sys_clock_nanosleep", count=3):
                print(hit.vcpu, hit.task.comm, hit.symbol)
        """
        if count is not None and count < 1:
            raise ValueError("count must be >= 1")
        if timeout is not None and timeout < 0:
            raise ValueError("timeout must be >= 0")
        lx = linux
        if lx is None:
            try:
                lx = self.linux()
            except Error:
                if not isinstance(where, int):
                    raise
        if isinstance(where, int):
            addr = where
        else:
            name, plus, off = where.partition("+")
            addr = lx.symbol(name) + (int(off, 0) if plus else 0)
        return Watch(self, addr, count, timeout, hardware, vcpu, lx)


class Listener(_qvmi.Listener):
    __doc__ = _qvmi.Listener.__doc__ + """

    Each accept() is one VM, as `qvmi --session-listen` attaches; 'with
    Listener(...) as l:' closes it.  Threads: one at a time.
    """

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def accept(self, timeout=None):
        """accept(timeout=None) -> VM

        Wait up to timeout seconds (None: no limit) for a VM to connect
        and pass the handshake; return it as a VM, attached like
        VM(session=...).  qvmi.Error(ETIMEDOUT) when none came; a peer
        that failed the handshake raises its error (EACCES: wrong key)
        and the listener stays usable: call again.
        """
        deadline = None if timeout is None else _time.monotonic() + timeout
        vm = VM.__new__(VM)
        while True:
            wait = _WAIT_SLICE_MS
            if deadline is not None:
                left = deadline - _time.monotonic()
                if left <= 0:
                    raise Error(_errno.ETIMEDOUT, "no VM connected in time")
                wait = max(1, min(wait, int(left * 1000)))
            if self._accept_into(vm, wait):
                return vm
