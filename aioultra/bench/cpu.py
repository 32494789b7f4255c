"""CPU use of the engine's worker threads, idle and serving 1 kHz, next to a thread pool's.

Per-thread CPU time comes from ``/proc/self/task/<tid>/schedstat`` (nanoseconds on the CPU,
exact at every context switch) where the kernel has it, else from ``psutil.Process().threads()``
(user + system, in 10 ms clock ticks: too coarse for the idle figure over a second). The
engine's workers are found by ``engine.stats().workers[i].tid``; an old core that reports
tid 0 falls back to the process's CPU time minus the loop thread's. The thread pool's use is
the process's CPU time minus the loop thread's and the engine workers'.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from typing import Any

import psutil

import aioultra
from aioultra import kernels

from .pacer import Pacer

SETTLE_S = 0.1
"""The idle window starts this long after the engine's last task."""
SERVE_PAUSE_NS = 1_000_000
"""Pause between one-at-a-time submissions while serving (jittered +-50%): about 1 kHz."""


def _schedstat(tid: int) -> int | None:
    try:
        with open(f"/proc/self/task/{tid}/schedstat") as fh:
            return int(fh.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def clock_source() -> str:
    """Where per-thread CPU times come from here: ``schedstat`` or ``psutil``."""
    return "schedstat" if _schedstat(threading.get_native_id()) is not None else "psutil"


def threads_cpu_ns(tids: list[int]) -> int:
    """Total CPU time (ns) of the threads ``tids`` of this process (a thread gone counts 0)."""
    if clock_source() == "schedstat":
        return sum(_schedstat(tid) or 0 for tid in tids)
    wanted = set(tids)
    return sum(int((t.user_time + t.system_time) * 1e9) for t in psutil.Process().threads() if t.id in wanted)


class _Snapshot:
    """Wall clock, process CPU, the loop thread's CPU and the engine workers' CPU, now."""

    def __init__(self, worker_tids: list[int]) -> None:
        self.wall = time.monotonic_ns()
        self.process = time.process_time_ns()
        self.loop = time.thread_time_ns()  # called on the loop thread
        self.workers = threads_cpu_ns(worker_tids) if worker_tids else 0


def _pct(ns: int, wall_ns: int) -> float:
    return 100.0 * ns / wall_ns if wall_ns > 0 else 0.0


class _Window:
    """CPU use between two snapshots, as % of one core."""

    def __init__(self, a: _Snapshot, b: _Snapshot, exact_workers: bool) -> None:
        self.wall = b.wall - a.wall
        self.loop_pct = _pct(b.loop - a.loop, self.wall)
        rest = (b.process - a.process) - (b.loop - a.loop)  # every thread but the loop's
        self.workers_pct = _pct(b.workers - a.workers, self.wall) if exact_workers else _pct(rest, self.wall)
        self.others_pct = _pct(rest - (b.workers - a.workers), self.wall) if exact_workers else None


async def _serve(call: Any, seconds: float, pacer: Pacer, tids: list[int], exact: bool) -> dict[str, Any]:
    await call()
    a = _Snapshot(tids)
    end = a.wall + int(seconds * 1e9)
    n = 0
    while time.monotonic_ns() < end:
        await pacer.pause(pacer.jittered(SERVE_PAUSE_NS))
        await call()
        n += 1
    w = _Window(a, _Snapshot(tids), exact)
    return {
        "seconds": w.wall / 1e9,
        "rate_hz": n / (w.wall / 1e9),
        "workers_pct": w.workers_pct,
        "others_pct": w.others_pct,
        "loop_thread_pct": w.loop_pct,
    }


async def measure(
    engine: aioultra.Engine,
    executor: concurrent.futures.ThreadPoolExecutor,
    pacer: Pacer,
    idle_s: float,
    serve_s: float,
) -> dict[str, Any]:
    """The engine idle (from SETTLE_S after its last task, over ``idle_s``), the engine serving
    about 1 kHz of ``submit(noop)`` one at a time, and ``run_in_executor`` serving the same."""
    tids = [w.tid for w in engine.stats().workers]
    exact = all(tids)
    tids = tids if exact else []
    await engine.submit(kernels.noop)  # the last task
    await asyncio.sleep(SETTLE_S)
    a = _Snapshot(tids)
    await asyncio.sleep(idle_s)
    idle = _Window(a, _Snapshot(tids), exact)
    loop = asyncio.get_running_loop()
    served = await _serve(lambda: engine.submit(kernels.noop), serve_s, pacer, tids, exact)
    rie = await _serve(lambda: loop.run_in_executor(executor, _noop), serve_s, pacer, tids, exact)
    return {
        "clock": clock_source(),
        "worker_tids": tids,
        "workers_by_tid": exact,
        "idle": {"settle_s": SETTLE_S, "seconds": idle.wall / 1e9, "workers_pct": idle.workers_pct},
        "engine_1khz": served,
        # the pool's threads: every thread but the loop's and the engine workers'
        "run_in_executor_1khz": {**rie, "executor_pct": rie["others_pct"] if exact else rie["workers_pct"]},
    }


def _noop() -> None:
    return None


def print_lines(kind: str, c: dict[str, Any]) -> None:
    """The CPU-use lines of one loop."""
    how = "by worker tid" if c["workers_by_tid"] else "process minus the loop thread (no worker tids)"
    print(f"\n-- {kind}: CPU use (% of one core; per-thread times from {c['clock']}, engine workers {how}) --")
    idle = c["idle"]
    print(
        f"engine workers, idle from {idle['settle_s'] * 1000:.0f} ms after the last task, over "
        f"{idle['seconds']:.1f} s: {idle['workers_pct']:.2f}%"
    )
    e, r = c["engine_1khz"], c["run_in_executor_1khz"]
    print(
        f"engine workers serving submit(noop) one at a time, {e['rate_hz']:.0f}/s over {e['seconds']:.1f} s: "
        f"{e['workers_pct']:.1f}% (loop thread {e['loop_thread_pct']:.1f}%)"
    )
    print(
        f"run_in_executor threads serving the same, {r['rate_hz']:.0f}/s over {r['seconds']:.1f} s: "
        f"{r['executor_pct']:.1f}% (loop thread {r['loop_thread_pct']:.1f}%)"
    )
