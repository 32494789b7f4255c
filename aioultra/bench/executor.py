"""The executor suite (issue 13): ``aioultra.Executor`` next to ``ThreadPoolExecutor``, same run.

Round trip of one trivial call, one at a time: ``submit(fn).result()`` from synchronous code,
and ``await asyncio.to_thread(fn)`` with each as the loop's default executor. The paths take
turns in blocks; p50 and p99 of each, in microseconds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import time
from collections.abc import Callable
from typing import Any

from ..executor import Executor
from .common import summary

ROUNDS = 5


def _noop() -> None:
    return None


def _sync_block(ex: concurrent.futures.Executor, n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        ex.submit(_noop).result()
        out.append(clock() - t0)
    return out


async def _async_block(n: int) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        await asyncio.to_thread(_noop)
        out.append(clock() - t0)
    return out


def run(n: int) -> dict[str, Any]:
    """Both executors, ``n`` samples per path (after a tenth as warm-up)."""
    cpus = len(os.sched_getaffinity(0))
    samples: dict[str, list[int]] = {}
    makers: dict[str, Callable[[], concurrent.futures.ThreadPoolExecutor]] = {
        "aioultra.Executor": lambda: Executor(),
        "ThreadPoolExecutor": lambda: concurrent.futures.ThreadPoolExecutor(max_workers=cpus),
    }
    block = max(1, n // ROUNDS)
    for _ in range(ROUNDS):
        for name, make in makers.items():
            with make() as ex:
                _sync_block(ex, block // 10)
                samples.setdefault(f"{name}: submit().result()", []).extend(_sync_block(ex, block))

                async def main(ex: concurrent.futures.ThreadPoolExecutor = ex) -> list[int]:
                    asyncio.get_running_loop().set_default_executor(ex)
                    await _async_block(block // 10)
                    return await _async_block(block)

                loop = asyncio.new_event_loop()
                try:
                    samples.setdefault(f"{name}: asyncio.to_thread", []).extend(loop.run_until_complete(main()))
                finally:
                    loop.close()  # not shutdown_default_executor: the with block shuts it down
    out = {path: summary(s) for path, s in samples.items()}
    for kind in ("submit().result()", "asyncio.to_thread"):
        ours, theirs = out[f"aioultra.Executor: {kind}"], out[f"ThreadPoolExecutor: {kind}"]
        ours["p50_x_tpe"] = ours["p50_us"] / theirs["p50_us"]
    return out


def print_suite(s: dict[str, Any]) -> None:
    """The suite's table."""
    print(f"\n== concurrent.futures executors: one call at a time, round trip (us), {ROUNDS} blocks each ==")
    print(f"{'path':46} {'p50':>8} {'p99':>8} {'p50 x TPE':>10}")
    for path, r in s.items():
        ratio = f"{r['p50_x_tpe']:10.2f}" if "p50_x_tpe" in r else f"{'':10}"
        print(f"{path:46} {r['p50_us']:8.1f} {r['p99_us']:8.1f} {ratio}")
