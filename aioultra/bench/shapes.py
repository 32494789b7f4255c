"""The traffic-shape suite: latency of the offload paths under the traffic users really have.

Shapes (one event loop, one engine, one thread pool):

* ``pause X``: one await at a time, with a pause between the end of one await and the next
  submission, drawn uniformly within +-50% of X (X = 0: back to back). Pauses are the loop
  asleep in epoll until a timerfd fires (:mod:`aioultra.bench.pacer`); the pause actually
  achieved is measured and reported.
* ``burst K``: K submissions started together with ``asyncio.gather`` after a jittered 1 ms
  pause; each task's latency runs from the burst's start to the moment its awaiter resumes
  (the burst's makespan is in the JSON as ``burst_us``).

Paths: ``submit(noop)``, ``submit(python_fn)``, ``run_in_executor(noop)``, ``to_thread(noop)``
(a trivial Python function) and the same with 20 us of CPU work: ``submit(spin 20us)`` against
``run_in_executor`` / ``to_thread`` calling the same C spin kernel through cffi, without the
GIL, so the work is identical. Ratios are against ``run_in_executor`` with the same work.

Next to them, for each pause: the physical floor (:func:`aioultra._ffi.floor_round_trip`), with
the caller on the CPU the loop thread runs on at that moment and the peer on that CPU and on
another; and the loop thread's own cost per submission (the ``submit`` call).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import aioultra
from aioultra import _ffi, kernels

from . import cpu
from .common import Progress, summary
from .pacer import Pacer

T = TypeVar("T")

PAUSES_US = (0, 100, 1000, 5000)
"""Nominal pauses between one-at-a-time submissions (jittered +-50%)."""
BURSTS = (8, 64)
"""Burst sizes; bursts start after a jittered pause of BURST_PAUSE_US."""
BURST_PAUSE_US = 1000
SPIN_NS = 20_000
"""CPU work of the spin paths (20 us)."""

NOOP = "submit(noop)"
PYTHON_FN = "submit(python_fn)"
RIE = "run_in_executor(noop)"
TO_THREAD = "to_thread(noop)"
SPIN = "submit(spin 20us)"
RIE_SPIN = "run_in_executor(spin 20us)"
TO_THREAD_SPIN = "to_thread(spin 20us)"
LOOP_ALONE = "loop alone (eventfd to itself)"
"""The Python floor: the loop thread writes an eventfd it watches itself and awaits a future the
reader callback resolves -- the engine's completion path with no other thread and no wake-up."""
PATHS = (NOOP, PYTHON_FN, RIE, TO_THREAD, SPIN, RIE_SPIN, TO_THREAD_SPIN, LOOP_ALONE)
BASELINE = {
    NOOP: RIE,
    PYTHON_FN: RIE,
    RIE: RIE,
    TO_THREAD: RIE,
    SPIN: RIE_SPIN,
    RIE_SPIN: RIE_SPIN,
    TO_THREAD_SPIN: RIE_SPIN,
    LOOP_ALONE: RIE,
}
"""The run_in_executor path each path's ratio is taken against (same work)."""


def pause_name(pause_us: int) -> str:
    """The shape name of a one-at-a-time pause: ``pause 0``, ``pause 100us``, ``pause 1ms``."""
    if pause_us == 0:
        return "pause 0"
    return f"pause {pause_us // 1000}ms" if pause_us % 1000 == 0 else f"pause {pause_us}us"


def burst_name(size: int) -> str:
    """The shape name of a burst: ``burst 8``."""
    return f"burst {size}"


SHAPES = tuple(pause_name(p) for p in PAUSES_US) + tuple(burst_name(k) for k in BURSTS)


@dataclass(frozen=True)
class Counts:
    """How much to measure: samples per pause (in us), bursts per size, floor round trips and
    loop-cost samples per pause, and the CPU-use windows in seconds."""

    single: dict[int, int]
    bursts: dict[int, int]
    floor: dict[int, int]
    loop_cost: dict[int, int]
    idle_s: float
    serve_s: float


FULL = Counts(
    single={0: 3000, 100: 2000, 1000: 600, 5000: 200},
    bursts={8: 200, 64: 60},
    floor={0: 2000, 100: 2000, 1000: 600, 5000: 200},
    loop_cost={0: 1000, 100: 1000, 1000: 300, 5000: 100},
    idle_s=1.0,
    serve_s=1.5,
)
QUICK = Counts(
    single={0: 500, 100: 300, 1000: 100, 5000: 30},
    bursts={8: 40, 64: 10},
    floor={0: 400, 100: 300, 1000: 100, 5000: 30},
    loop_cost={0: 200, 100: 200, 1000: 60, 5000: 20},
    idle_s=0.5,
    serve_s=0.5,
)
TINY = Counts(  # for the tests: structure, not figures
    single=dict.fromkeys(PAUSES_US, 4),
    bursts=dict.fromkeys(BURSTS, 2),
    floor=dict.fromkeys(PAUSES_US, 4),
    loop_cost=dict.fromkeys(PAUSES_US, 4),
    idle_s=0.05,
    serve_s=0.05,
)


STEPS = len(PAUSES_US) * 3 + len(BURSTS) + 1
"""Progress steps of one loop's run of :func:`run_suite`."""


def _python_fn() -> None:
    return None


clock = time.monotonic_ns  # the timerfd's clock


class LoopAlone:
    """An eventfd the loop writes and watches itself: ``call()`` returns a future its reader
    callback resolves (see LOOP_ALONE). Use as a context manager on the running loop."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self.waiting: asyncio.Future[None] | None = None
        self.loop.add_reader(self.fd, self._ready)

    def _ready(self) -> None:
        try:
            os.eventfd_read(self.fd)
        except BlockingIOError:
            return
        fut, self.waiting = self.waiting, None
        if fut is not None and not fut.done():
            fut.set_result(None)

    def call(self) -> asyncio.Future[None]:
        """Write the eventfd and return the future its reader resolves."""
        fut = self.waiting = self.loop.create_future()
        os.eventfd_write(self.fd, 1)
        return fut

    def __enter__(self) -> LoopAlone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.remove_reader(self.fd)
        os.close(self.fd)


def _paths(
    engine: aioultra.Engine, executor: concurrent.futures.ThreadPoolExecutor, alone: LoopAlone
) -> dict[str, Callable[[], Awaitable[Any]]]:
    loop = asyncio.get_running_loop()
    spin = _ffi.spin_caller(SPIN_NS)
    return {
        NOOP: lambda: engine.submit(kernels.noop),
        PYTHON_FN: lambda: engine.submit(_python_fn),
        RIE: lambda: loop.run_in_executor(executor, _python_fn),
        TO_THREAD: lambda: asyncio.to_thread(_python_fn),
        SPIN: lambda: engine.submit(kernels.spin, SPIN_NS),
        RIE_SPIN: lambda: loop.run_in_executor(executor, spin),
        TO_THREAD_SPIN: lambda: asyncio.to_thread(spin),
        LOOP_ALONE: alone.call,
    }


def _warmup(n: int) -> int:
    return max(3, n // 10)


ROUNDS = 5
"""Blocks per path in the shape measurements (the paths take turns block by block)."""


def _blocks(n: int) -> tuple[int, int]:
    """Samples per block and warm-up samples per block for n samples per path in all."""
    block = max(1, n // ROUNDS)
    return block, max(2, block // 10)


async def _single(
    paths: dict[str, Callable[[], Awaitable[Any]]], pause_ns: int, n: int, pacer: Pacer
) -> tuple[dict[str, Any], list[int], list[int]]:
    """One await at a time, the paths taking turns in ROUNDS blocks each (so a drift of the
    shared machine hits every path alike, while each block keeps its path's own rhythm, e.g.
    back to back; the first samples of a block warm it up and are dropped): each path's
    latencies, the pauses achieved before them and by how much each overran its drawn length
    (ns)."""
    lat: dict[str, list[int]] = {name: [] for name in paths}
    gaps: list[int] = []
    over: list[int] = []
    block, warm = _blocks(n)
    for _round, (name, call) in itertools.product(range(ROUNDS), paths.items()):
        for i in range(warm + block):
            if pause_ns:
                drawn = pacer.jittered(pause_ns)
                t_end = clock()
                await pacer.pause(drawn)
                t0 = clock()
                if i >= warm:
                    gaps.append(t0 - t_end)
                    over.append(t0 - t_end - drawn)
            else:
                t0 = clock()
            await call()
            if i >= warm:
                lat[name].append(clock() - t0)
    return {name: summary(x, cdf=True) for name, x in lat.items()}, gaps, over


async def _timed(call: Callable[[], Awaitable[Any]]) -> int:
    await call()
    return clock()


async def _burst(
    paths: dict[str, Callable[[], Awaitable[Any]]], size: int, n: int, pacer: Pacer
) -> tuple[dict[str, Any], list[int], list[int]]:
    """n bursts of ``size`` concurrent awaits per path (the paths taking turns in blocks, as in
    :func:`_single`), each after a jittered pause: per path the latency of each task from its
    burst's start and the bursts' makespans; the pauses achieved and their overruns (ns)."""
    lat: dict[str, list[int]] = {name: [] for name in paths}
    makespan: dict[str, list[int]] = {name: [] for name in paths}
    gaps: list[int] = []
    over: list[int] = []
    pause_ns = BURST_PAUSE_US * 1000
    block, warm = _blocks(n)
    for _round, (name, call) in itertools.product(range(ROUNDS), paths.items()):
        for i in range(warm + block):
            drawn = pacer.jittered(pause_ns)
            t_end = clock()
            await pacer.pause(drawn)
            t0 = clock()
            ends = await asyncio.gather(*(_timed(call) for _ in range(size)))
            if i >= warm:
                gaps.append(t0 - t_end)
                over.append(t0 - t_end - drawn)
                lat[name].extend(e - t0 for e in ends)
                makespan[name].append(max(ends) - t0)
    return {name: {**summary(lat[name]), "burst_us": summary(makespan[name])} for name in paths}, gaps, over


def _other_cpu(cpu_id: int) -> int | None:
    allowed = sorted(os.sched_getaffinity(0))
    others = [c for c in allowed if c > cpu_id] + [c for c in allowed if c < cpu_id]
    return others[0] if others else None


def measure_floor(pause_us: int, n: int) -> dict[str, Any]:
    """The physical floor for one pause, the caller on the CPU this thread runs on now and the
    peer on that CPU and on the next allowed one (None with a single CPU). Blocks (GIL free)."""
    caller = _ffi.current_cpu()
    other = _other_cpu(caller) if caller >= 0 else None
    gap_ns = pause_us * 1000
    out: dict[str, Any] = {"caller_cpu": caller, "gap_us": pause_us, "jitter": pause_us > 0, "n": n}
    for key, peer in (("same_cpu", caller), ("other_cpu", other)):
        if peer is None:
            out[key] = None
            continue
        p50, p99 = _ffi.floor_round_trip(caller, peer, gap_ns, pause_us > 0, n)
        out[key] = {"peer_cpu": peer, "p50_us": p50, "p99_us": p99}
    return out


LOOP_COST_CPU = "submit(noop) CPU time"
RIE_CALL = "run_in_executor call"


async def _loop_cost(
    engine: aioultra.Engine, executor: concurrent.futures.ThreadPoolExecutor, pause_ns: int, n: int, pacer: Pacer
) -> dict[str, Any]:
    """The loop thread's own time per submission at one pause, in three runs: the
    ``submit(noop)`` call (it validates and queues) in wall-clock time, the same in the loop
    thread's CPU time (the difference is time the loop thread was preempted, e.g. by the worker
    it woke), and the wall-clock time of the ``run_in_executor`` call itself."""
    loop = asyncio.get_running_loop()
    out: dict[str, Any] = {}
    warm = _warmup(n)
    for key, timer in ((NOOP, clock), (LOOP_COST_CPU, time.thread_time_ns)):
        samples: list[int] = []
        for i in range(warm + n):
            if pause_ns:
                await pacer.pause(pacer.jittered(pause_ns))
            t0 = timer()
            fut = engine.submit(kernels.noop)  # validated and queued in the call
            t1 = timer()
            await fut
            if i >= warm:
                samples.append(t1 - t0)
        out[key] = summary(samples)
    samples = []
    for i in range(warm + n):
        if pause_ns:
            await pacer.pause(pacer.jittered(pause_ns))
        t0 = clock()
        rie = loop.run_in_executor(executor, _python_fn)
        t1 = clock()
        await rie
        if i >= warm:
            samples.append(t1 - t0)
    out[RIE_CALL] = summary(samples)
    return out


def ratios(
    shape: dict[str, Any], floor: dict[str, Any] | None, baseline: dict[str, str] = BASELINE, against: str = "rie"
) -> None:
    """Add each path's ratios to its baseline path (``p50_x_<against>``, ``p99_x_<against>``;
    default: run_in_executor with the same work) and to the same-CPU floor."""
    same = floor["same_cpu"] if floor else None
    for name, r in shape["paths"].items():
        base = shape["paths"][baseline[name]]
        r[f"p50_x_{against}"] = r["p50_us"] / base["p50_us"]
        r[f"p99_x_{against}"] = r["p99_us"] / base["p99_us"]
        r["p50_x_floor"] = r["p50_us"] / same["p50_us"] if same else None


async def run_suite(counts: Counts, progress: Progress | None = None) -> dict[str, Any]:
    """Every shape x path, the floors, the loop-thread cost and the CPU use, on the running loop."""

    def step(label: str) -> None:
        if progress is not None:
            progress.step(label)

    n_cpus = len(os.sched_getaffinity(0))
    out: dict[str, Any] = {"shapes": {}, "floors": {}, "loop_cost": {}}
    with concurrent.futures.ThreadPoolExecutor(max_workers=n_cpus) as executor, Pacer() as pacer, LoopAlone() as alone:
        async with aioultra.Engine() as engine:
            paths = _paths(engine, executor, alone)
            bursty = {k: v for k, v in paths.items() if k != LOOP_ALONE}  # one eventfd: one await at a time
            for pause_us in PAUSES_US:
                name = pause_name(pause_us)
                out["floors"][name] = floor = measure_floor(pause_us, counts.floor[pause_us])
                step(f"floor {name}")
                shape: dict[str, Any] = {"kind": "pause", "nominal_pause_us": pause_us, "burst": 1, "floor": name}
                shape["paths"], gaps, over = await _single(paths, pause_us * 1000, counts.single[pause_us], pacer)
                step(f"{name} paths")
                shape["pause_us"] = summary(gaps) if gaps else None
                shape["pause_overrun_us"] = summary(over) if over else None
                ratios(shape, floor)
                out["shapes"][name] = shape
                out["loop_cost"][name] = await _loop_cost(
                    engine, executor, pause_us * 1000, counts.loop_cost[pause_us], pacer
                )
                step(f"loop cost {name}")
            for size in BURSTS:
                name = burst_name(size)
                shape = {"kind": "burst", "nominal_pause_us": BURST_PAUSE_US, "burst": size}
                shape["floor"] = pause_name(BURST_PAUSE_US)
                shape["paths"], gaps, over = await _burst(bursty, size, counts.bursts[size], pacer)
                step(f"{name} paths")
                shape["pause_us"] = summary(gaps)
                shape["pause_overrun_us"] = summary(over)
                ratios(shape, out["floors"][shape["floor"]])
                out["shapes"][name] = shape
            out["cpu"] = await cpu.measure(engine, executor, pacer, counts.idle_s, counts.serve_s)
            step("cpu use")
    return out


# --- printing ----------------------------------------------------------------------------


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def print_suite(kind: str, suite: dict[str, Any]) -> None:
    """The shapes table of one loop, then its floor, loop-cost and CPU lines."""
    print(f"\n== {kind}: traffic shapes (latency in us: submission to the awaiter resuming) ==")
    print(f"{'shape':12} {'path':28} {'p50':>8} {'p99':>8} {'p50 x rie':>10} {'p99 x rie':>10} {'p50 x floor':>12}")
    for name, shape in suite["shapes"].items():
        pause, late = shape["pause_us"], shape["pause_overrun_us"]
        got = (
            ""
            if pause is None
            else f": achieved p50 {pause['p50_us']:.0f} / p99 {pause['p99_us']:.0f} us, "
            f"{late['p50_us']:.0f} us p50 over the drawn pause"
        )
        what = "one await at a time" if shape["kind"] == "pause" else "per task, from the burst's start"
        nominal = shape["nominal_pause_us"]
        gap = f"pause {nominal} us +-50%{got}" if nominal else "back to back"
        print(f"-- {name}: {what}; {gap}; floor of {shape['floor']}")
        for path, r in shape["paths"].items():
            print(
                f"{name:12} {path:28} {r['p50_us']:8.1f} {r['p99_us']:8.1f} {r['p50_x_rie']:10.2f} "
                f"{r['p99_x_rie']:10.2f} {_fmt(r['p50_x_floor'], '12.2f')}"
            )
    print(f"\n-- {kind}: physical floor (C eventfd round trip to a blocked peer, floor.c; us) --")
    head = f"{'pause':12} {'caller cpu':>10} {'same p50':>9} {'same p99':>9} {'other p50':>10} {'other p99':>10}"
    print(f"{head} {'p50 x same':>11} {'p99 x same':>11}")
    for name, f in suite["floors"].items():
        same, other = f["same_cpu"], f["other_cpu"]
        print(
            f"{name:12} {f['caller_cpu']:10} {_fmt(same and same['p50_us'], '9.1f')} "
            f"{_fmt(same and same['p99_us'], '9.1f')} {_fmt(other and other['p50_us'], '10.1f')} "
            f"{_fmt(other and other['p99_us'], '10.1f')} "
            f"{_fmt(other and same and other['p50_us'] / same['p50_us'], '11.2f')} "
            f"{_fmt(other and same and other['p99_us'] / same['p99_us'], '11.2f')}"
        )
    print(
        f"\n-- {kind}: the loop thread's own cost per submission (us; synchronous part until the first suspension) --"
    )
    head = f"{'pause':12} {'submit(noop) p50':>17} {'p99':>8} {'its CPU time p50':>17} {'p99':>8}"
    print(f"{head} {'rie call p50':>13} {'p99':>8}")
    for name, c in suite["loop_cost"].items():
        s, u, r = c[NOOP], c[LOOP_COST_CPU], c[RIE_CALL]
        print(
            f"{name:12} {s['p50_us']:17.2f} {s['p99_us']:8.2f} {u['p50_us']:17.2f} {u['p99_us']:8.2f} "
            f"{r['p50_us']:13.2f} {r['p99_us']:8.2f}"
        )
    print(
        "(wall-clock; 'its CPU time': the loop thread's CPU time over the same step, one ~0.6 us clock read included)"
    )
    cpu.print_lines(kind, suite["cpu"])
