"""The trio suite (issue 13): the engine under ``trio.run`` next to trio's own way to run work
off its thread, ``trio.to_thread.run_sync``, in the same run.

Shapes: one await at a time back to back (``pause 0``) and with a 1 ms pause between the end of
one await and the next submission (jittered +-50%, ``trio.sleep``: a sparse feed), and bursts
of 64 started together in a nursery after a 1 ms pause (each task's latency runs from the
burst's start to its own resumption). Paths: ``submit(noop)``, ``submit(python_fn)`` and
``submit(spin 20us)`` against ``to_thread`` with the same work (a trivial Python function; the
same C spin through cffi without the GIL). Next to them the physical floor of each pause
(:func:`aioultra.bench.shapes.measure_floor`, caller on the trio thread's CPU). The paths take
turns in blocks; p50 and p99 in microseconds.
"""

from __future__ import annotations

import itertools
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import trio

import aioultra
from aioultra import _ffi, kernels

from .common import Progress, summary
from .shapes import measure_floor, ratios

NOOP = "submit(noop)"
PYTHON_FN = "submit(python_fn)"
SPIN = "submit(spin 20us)"
TO_THREAD = "to_thread(python_fn)"
TO_THREAD_SPIN = "to_thread(spin 20us)"
BASELINE = {
    NOOP: TO_THREAD,
    PYTHON_FN: TO_THREAD,
    SPIN: TO_THREAD_SPIN,
    TO_THREAD: TO_THREAD,
    TO_THREAD_SPIN: TO_THREAD_SPIN,
}
"""The to_thread path each path's ratio is taken against (same work)."""
SPIN_NS = 20_000
PAUSES_US = (0, 1000)
BURST = 64
ROUNDS = 5


@dataclass(frozen=True)
class Counts:
    """Samples per path for each pause, bursts, floor round trips per pause."""

    single: dict[int, int]
    bursts: int
    floor: int


FULL = Counts(single={0: 3000, 1000: 600}, bursts=60, floor=600)
QUICK = Counts(single={0: 500, 1000: 100}, bursts=10, floor=100)
TINY = Counts(single={0: 10, 1000: 5}, bursts=2, floor=4)  # for the tests: structure, not figures
STEPS = len(PAUSES_US) * 2 + 1
"""Progress steps of :func:`run_suite`."""

clock = time.perf_counter_ns


def _python_fn() -> int:
    return 1


def _paths(engine: aioultra.Engine) -> dict[str, Callable[[], Awaitable[Any]]]:
    spin = _ffi.spin_caller(SPIN_NS)
    return {
        NOOP: lambda: engine.submit(kernels.noop),
        PYTHON_FN: lambda: engine.submit(_python_fn),
        SPIN: lambda: engine.submit(kernels.spin, SPIN_NS),
        TO_THREAD: lambda: trio.to_thread.run_sync(_python_fn),
        TO_THREAD_SPIN: lambda: trio.to_thread.run_sync(spin),
    }


async def _single(paths: dict[str, Callable[[], Awaitable[Any]]], pause_us: int, n: int, rng: random.Random) -> Any:
    lat: dict[str, list[int]] = {name: [] for name in paths}
    block = max(1, n // ROUNDS)
    warm = max(2, block // 10)
    for _round, (name, call) in itertools.product(range(ROUNDS), paths.items()):
        for i in range(warm + block):
            if pause_us:
                await trio.sleep(pause_us * (0.5 + rng.random()) / 1e6)
            t0 = clock()
            await call()
            if i >= warm:
                lat[name].append(clock() - t0)
    return {name: summary(x) for name, x in lat.items()}


async def _bursts(paths: dict[str, Callable[[], Awaitable[Any]]], n: int, rng: random.Random) -> Any:
    lat: dict[str, list[int]] = {name: [] for name in paths}
    for _round, (name, call) in itertools.product(range(ROUNDS), paths.items()):
        for _ in range(max(1, n // ROUNDS)):
            await trio.sleep(1000 * (0.5 + rng.random()) / 1e6)
            t0 = clock()

            async def one(call: Callable[[], Awaitable[Any]] = call, t0: int = t0, name: str = name) -> None:
                await call()
                lat[name].append(clock() - t0)

            async with trio.open_nursery() as nursery:
                for _ in range(BURST):
                    nursery.start_soon(one)
    return {name: summary(x) for name, x in lat.items()}


async def _suite(counts: Counts, progress: Progress) -> dict[str, Any]:
    rng = random.Random(13)
    out: dict[str, Any] = {"trio": trio.__version__, "shapes": {}}
    async with aioultra.Engine() as engine:
        paths = _paths(engine)
        for pause_us in PAUSES_US:
            name = "pause 0" if pause_us == 0 else f"pause {pause_us // 1000}ms"
            floor = await trio.to_thread.run_sync(measure_floor, pause_us, counts.floor)
            progress.step(f"trio floor {name}")
            shape = {"floor": floor, "paths": await _single(paths, pause_us, counts.single[pause_us], rng)}
            ratios(shape, floor, BASELINE, "to_thread")
            out["shapes"][name] = shape
            progress.step(f"trio {name}")
        shape = {"floor": None, "paths": await _bursts(paths, counts.bursts, rng)}
        ratios(shape, None, BASELINE, "to_thread")
        out["shapes"][f"burst {BURST}"] = shape
        progress.step(f"trio burst {BURST}")
    return out


def run_suite(counts: Counts, progress: Progress) -> dict[str, Any]:
    """The whole suite in one ``trio.run`` (needs trio installed)."""
    result: dict[str, Any] = trio.run(_suite, counts, progress)
    return result


def print_suite(s: dict[str, Any]) -> None:
    """The suite's tables."""
    print(f"\n== trio {s['trio']}: round trip (us) under trio.run, {ROUNDS} blocks per path ==")
    print(f"{'shape':10} {'path':24} {'p50':>8} {'p99':>8} {'p50 x tt':>9} {'p99 x tt':>9} {'p50 x floor':>12}")
    for shape_name, shape in s["shapes"].items():
        for path, r in shape["paths"].items():
            floor = f"{r['p50_x_floor']:12.2f}" if r["p50_x_floor"] is not None else f"{'':12}"
            print(
                f"{shape_name:10} {path:24} {r['p50_us']:8.1f} {r['p99_us']:8.1f} "
                f"{r['p50_x_to_thread']:9.2f} {r['p99_x_to_thread']:9.2f} {floor}"
            )
        floor = shape["floor"]
        if floor and floor["same_cpu"]:
            other = floor["other_cpu"]
            other_txt = f", other CPU {other['p50_us']:.1f} / {other['p99_us']:.1f}" if other else ""
            print(
                f"{shape_name:10} {'floor (C, eventfd)':24} same CPU {floor['same_cpu']['p50_us']:.1f} / "
                f"{floor['same_cpu']['p99_us']:.1f}{other_txt}"
            )
    print("'x tt': against trio.to_thread.run_sync with the same work, same run; 'x floor': the same-CPU floor")
