"""The park / wake / search protocol seen from Python: bursts whose tasks wait on each other,
the wake-up policy (which parked worker a submission wakes), late cancels of reused records,
and thread-start failures. The protocol itself is model-checked (model/park_wake.pml) and
stressed in C (csrc/tests/stress_engine.c)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable

import pytest

import aioultra
from aioultra import _ffi, kernels

from .helpers import Gate, gather, loop_thread_on, until, wait_for

two_cpus = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")


def all_parked(engine: aioultra.Engine) -> Callable[[], bool]:
    """True while every worker is parked."""
    return lambda: all(w.parked for w in engine.stats().workers)


class Burst:
    """A burst of ``size`` Python tasks in which every task but the last waits until the last
    has started: it completes only if a free worker is woken for each task. A task that gives
    up (after ``patience`` s) returns False -- the tail was left queued while workers slept."""

    def __init__(self, size: int, patience: float = 2.0) -> None:
        self.size = size
        self.patience = patience
        self.last_started = threading.Event()

    def waiter(self) -> bool:
        return self.last_started.wait(self.patience)

    def last(self) -> bool:
        self.last_started.set()
        return True


@pytest.mark.parametrize("workers_on_one_cpu", [True, False], ids=["one-cpu", "spread"])
async def test_bursts_that_wait_on_their_tail_complete(workers_on_one_cpu: bool) -> None:
    """Review finding 1: with a woken worker not counted as searching, the tail of such a burst
    stayed queued (about 1 s, until a waiter gave up) while two workers were parked."""
    topology = "0" if workers_on_one_cpu else None
    async with aioultra.Engine(workers_per_numa_node=4, topology=topology, spin_us=0) as engine:
        for size in (3, 4) * 10:
            await until(all_parked(engine), 10, "every worker parked")
            burst = Burst(size)
            futures = [engine.submit(burst.waiter) for _ in range(size - 1)] + [engine.submit(burst.last)]
            results = await wait_for(gather(*futures))
            assert all(results), f"a burst of {size}: the last task did not start while workers were idle"


@two_cpus
@pytest.mark.parametrize("cpu", [0, 1])
async def test_local_policy_wakes_the_worker_on_the_submitters_cpu(cpu: int) -> None:
    async with aioultra.Engine(spin_us=0, wake_policy="local") as engine:
        with loop_thread_on(cpu):
            index = next(w.index for w in engine.stats().workers if w.planned_cpu == cpu)
            before = [w.executed for w in engine.stats().workers]
            for _ in range(40):
                await until(all_parked(engine), 10, "every worker parked")
                await wait_for(engine.submit(kernels.noop))
            ran = [w.executed - b for w, b in zip(engine.stats().workers, before, strict=True)]
            assert ran[index] >= 36, f"tasks per worker {ran}: the worker on CPU {cpu} should run them"


@two_cpus
async def test_any_policy_spreads_wakeups() -> None:
    async with aioultra.Engine(spin_us=0, wake_policy="any") as engine:
        with loop_thread_on(0):
            for _ in range(40):
                await until(all_parked(engine), 10, "every worker parked")
                await wait_for(engine.submit(kernels.noop))
            woken = [w.wakeups for w in engine.stats().workers]
            assert all(n >= 10 for n in woken), f"wake-ups per worker {woken}: round robin expected"


async def test_late_cancel_of_a_reused_record_does_nothing() -> None:
    """Review finding 7: aio_task_cancel wrote through a raw pointer to a record that may have
    been recycled; a late cancel then cancelled an unrelated task."""
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=2, spin_us=0) as engine:
        _loop, ch = engine._current_channel()
        first = engine.submit(kernels.noop)  # queued in the call
        (job,) = ch.pending.values()
        stale_task, stale_id = job._task, job._id
        await wait_for(first)
        gate = Gate()
        gated = engine.submit(gate)  # takes the other record
        await gate.wait_started()
        later = engine.submit(kernels.spin, 1000)  # reuses the first record
        (job_later,) = [j for j in ch.pending.values() if j._fn is kernels.spin]
        assert job_later._task == stale_task
        _ffi.task_cancel_at(stale_task, stale_id)  # the old task's cancel arrives late
        gate.release.set()
        assert await wait_for(gated) == "gate"
        assert await wait_for(later) == b""  # ran: the late cancel did not hit it
        assert engine.stats().tasks_cancelled == 0


THREAD_LIMIT_SCRIPT = """
    import asyncio, errno, resource
    import aioultra

    async def main():
        # Each worker thread needs an 8 MiB stack mapping: cap the address space just above what
        # the interpreter uses, so pthread_create fails part-way through starting 64 workers.
        with open("/proc/self/statm") as fh:
            pages = int(fh.read().split()[0])
        used = pages * resource.getpagesize()
        resource.setrlimit(resource.RLIMIT_AS, (used + (24 << 20), resource.RLIM_INFINITY))
        engine = aioultra.Engine(workers_per_numa_node=64, numa_enabled=False)
        try:
            await engine.start()
        except OSError as exc:
            print("errno", exc.errno, errno.errorcode.get(exc.errno), str(exc))
        else:
            print("started")
            await engine.aclose()

    asyncio.run(main())
"""


def test_thread_start_failure_names_the_real_error() -> None:
    """Review finding 4: pthread_create returns its error (errno stays 0): the OSError said
    'Success'."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(THREAD_LIMIT_SCRIPT)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip()
    assert out.startswith("errno "), out
    assert "Success" not in out and not out.startswith("errno 0 "), out
    assert "EAGAIN" in out or "ENOMEM" in out, out
