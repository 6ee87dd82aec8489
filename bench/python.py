#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""The Python side of bench/bench-python.c (qvmi-bench's "python" section).

Run by qvmi-bench with the in-tree binding on PYTHONPATH:
    python3 bench/python.py QMP ITERS ROUNDS PA
Prints one line per figure, "<name> <fastest round>", per call:
    tasks_us       lx.tasks() (the walk and its TaskList)
    tasks_iter_us  lx.tasks() and every task's pid and comm read
    read_pa_ns     vm.read_pa(PA, 4096) -> bytes
    read_into_ns   vm.read_pa_into(PA, buf) into one reused bytearray
    floor_bytes_ns bytes(bytearray(4096)): Python's own cost of making a
                   4 KiB bytes from memory it has (the binding's floor)
    floor_call_ns  d.get(1, None): a 2-argument call of a C method that
                   does almost nothing (the floor of any binding call)
"""
import sys
import time

import qvmi


def fastest(fn, iters, rounds):
    fn()  # warm
    best = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        t = (time.perf_counter() - t0) / iters
        best = t if best is None else min(best, t)
    return best


def main():
    qmp, iters, rounds, pa = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), \
        int(sys.argv[4], 0)
    with qvmi.VM(qmp=qmp) as vm:
        lx = vm.linux()
        tasks = lx.tasks
        read_pa = vm.read_pa
        read_into = vm.read_pa_into
        buf = bytearray(4096)
        rng = range(iters)

        def t_tasks():
            for _ in rng:
                tasks()

        def t_iter():
            for _ in rng:
                for t in tasks():
                    t.pid, t.comm

        def t_read():
            for _ in rng:
                read_pa(pa, 4096)

        def t_into():
            for _ in rng:
                read_into(pa, buf)

        src = bytearray(4096)

        def t_floor():
            for _ in rng:
                bytes(src)

        d = {1: 2}

        def t_call():
            get = d.get
            for _ in rng:
                get(1, None)

        print("ntasks %d" % len(tasks()))
        print("tasks_us %.4f" % (fastest(t_tasks, iters, rounds) * 1e6))
        print("tasks_iter_us %.4f" % (fastest(t_iter, iters, rounds) * 1e6))
        print("read_pa_ns %.2f" % (fastest(t_read, iters, rounds) * 1e9))
        print("read_into_ns %.2f" % (fastest(t_into, iters, rounds) * 1e9))
        print("floor_bytes_ns %.2f" % (fastest(t_floor, iters, rounds) * 1e9))
        print("floor_call_ns %.2f" % (fastest(t_call, iters, rounds) * 1e9))


if __name__ == "__main__":
    main()
