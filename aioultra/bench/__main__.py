"""``python -m aioultra.bench [--quick] [--json FILE] [--loops asyncio,uvloop] [--shapes-only] [--submission-only]
[--metrics-only] [--eth-only] [--cluster-only] [--cluster] [--trio-only] [--no-submission] [--no-metrics]
[--no-eth] [--no-trio] [--check-targets] [--plot DIR]``."""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import importlib.util
import json
import os
import platform
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aioultra
from aioultra import kernels

from . import cluster, eth, executor, overhead, shapes, submission, targets
from .common import Progress, percentile


def _noop() -> None:
    return None


async def _latency(call: Callable[[], Awaitable[Any]], n: int, warmup: int) -> dict[str, float]:
    for _ in range(warmup):
        await call()
    samples: list[int] = []
    clock = time.perf_counter_ns
    for _ in range(n):
        t0 = clock()
        await call()
        samples.append(clock() - t0)
    samples.sort()
    return {
        "p50_us": percentile(samples, 0.50),
        "p99_us": percentile(samples, 0.99),
        "p999_us": percentile(samples, 0.999),
        "n": n,
    }


async def _throughput(call: Callable[[], Awaitable[Any]], n: int, concurrency: int) -> float:
    sem_left = n
    t0 = time.perf_counter()

    async def worker() -> None:
        nonlocal sem_left
        while sem_left > 0:
            sem_left -= 1
            await call()

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return n / (time.perf_counter() - t0)


async def _paths(engine: aioultra.Engine, executor: concurrent.futures.ThreadPoolExecutor) -> dict[str, Any]:
    import anyio.to_thread

    loop = asyncio.get_running_loop()
    return {
        "aioultra.submit(noop)": lambda: engine.submit(kernels.noop),
        "aioultra.submit(python_fn)": lambda: engine.submit(_noop),
        "run_in_executor": lambda: loop.run_in_executor(executor, _noop),
        "asyncio.to_thread": lambda: asyncio.to_thread(_noop),
        "anyio.to_thread.run_sync": lambda: anyio.to_thread.run_sync(_noop),
    }


async def _loop_suite(quick: bool, progress: Progress) -> dict[str, Any]:
    n_lat = 2_000 if quick else 20_000
    n_tp = 5_000 if quick else 50_000
    cpus = len(os.sched_getaffinity(0))
    out: dict[str, Any] = {"latency": {}, "throughput": {}}
    with concurrent.futures.ThreadPoolExecutor(max_workers=cpus) as executor:
        async with aioultra.Engine() as engine:
            paths = await _paths(engine, executor)
            for name, call in paths.items():
                out["latency"][name] = await _latency(call, n_lat, n_lat // 10)
                progress.step(f"latency {name}")
            for name, call in paths.items():
                out["throughput"][name] = await _throughput(call, n_tp, 256)
                progress.step(f"throughput {name}")
    return out


async def _map_suite(quick: bool, progress: Progress) -> dict[str, float]:
    from Crypto.Hash import keccak

    n = 100_000 if quick else 1_000_000
    items = [i.to_bytes(8, "little") for i in range(n)]
    out: dict[str, float] = {}
    async with aioultra.Engine() as engine:
        await engine.map(kernels.noop, items[:1000])
        for name, kernel in (("noop", kernels.noop), ("keccak256", kernels.keccak256)):
            t0 = time.perf_counter()
            await engine.map(kernel, items)
            out[f"aioultra.map({name})"] = n / (time.perf_counter() - t0)
            progress.step(f"map {name}")

    def py_keccak(x: bytes) -> bytes:
        return keccak.new(digest_bits=256, data=x).digest()

    t0 = time.perf_counter()
    for x in items:
        py_keccak(x)
    out["python loop (pycryptodome keccak)"] = n / (time.perf_counter() - t0)
    progress.step("python loop keccak")
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(os.sched_getaffinity(0))) as ex:
        t0 = time.perf_counter()
        list(ex.map(py_keccak, items, chunksize=1024))
        out["executor.map (pycryptodome keccak)"] = n / (time.perf_counter() - t0)
    progress.step("executor.map keccak")
    return out


def _micro_suite(quick: bool, progress: Progress) -> dict[str, float]:
    """C-level microbenchmarks timed inside C; best of 5 runs, in ns per operation."""
    from aioultra import _ffi

    n = 200_000 if quick else 2_000_000
    out = {name: min(fn(n) for _ in range(5)) for name, fn in _ffi.MICROBENCHMARKS.items()}
    progress.step("C microbenchmarks")
    return out


def _busy_work(n: int = 20_000) -> int:
    return sum(range(n))


async def _tune_one(workers: int, spin_us: float, quick: bool) -> dict[str, float]:
    n = 1_000 if quick else 5_000
    async with aioultra.Engine(workers_per_numa_node=workers, spin_us=spin_us, numa_enabled=False) as engine:
        lat = await _latency(lambda: engine.submit(kernels.noop), n, n // 5)
        cycles = 100 if quick else 300
        t0 = time.perf_counter()
        for _ in range(cycles):
            _busy_work()
            await engine.submit(kernels.spin, 20_000)
        busy = (time.perf_counter() - t0) / cycles * 1e6
        tp = await _throughput(lambda: engine.submit(kernels.noop), 5 * n, 256)
        items = [b"x" * 64] * (20_000 if quick else 200_000)
        t0 = time.perf_counter()
        await engine.map(kernels.keccak256, items)
        return {
            "p50_us": lat["p50_us"],
            "p99_us": lat["p99_us"],
            "busy_cycle_us": busy,
            "throughput": tp,
            "map_keccak": len(items) / (time.perf_counter() - t0),
        }


async def _tune_suite(quick: bool, progress: Progress) -> dict[str, Any]:
    """Spin budget x worker count with the loop busy (how the defaults were chosen)."""
    cycles = 100 if quick else 300
    t0 = time.perf_counter()
    for _ in range(cycles):
        _busy_work()
    ideal = (time.perf_counter() - t0) / cycles * 1e6 + 20
    rows = []
    cpus = len(os.sched_getaffinity(0))
    for workers in sorted({1, cpus}):
        for spin in (0, 10, 50, 200):
            rows.append({"workers": workers, "spin_us": spin, **await _tune_one(workers, spin, quick)})
            progress.step(f"tune workers={workers} spin_us={spin}")
    return {"ideal_busy_cycle_us": ideal, "rows": rows}


def _print_tune(tune: dict[str, Any]) -> None:
    print(f"\n== defaults: spin budget x workers, loop busy (ideal busy cycle {tune['ideal_busy_cycle_us']:.0f} us) ==")
    print(
        f"{'workers':>7} {'spin_us':>7} {'p50':>7} {'p99':>7} {'busy cycle':>11} {'tasks/s':>10} {'map keccak/s':>13}"
    )
    for r in tune["rows"]:
        print(
            f"{r['workers']:7} {r['spin_us']:7} {r['p50_us']:7.1f} {r['p99_us']:7.1f} {r['busy_cycle_us']:11.0f} "
            f"{r['throughput']:10,.0f} {r['map_keccak']:13,.0f}"
        )


def _run_loop(kind: str, coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    if kind == "uvloop":
        import uvloop

        return uvloop.run(coro_fn())  # type: ignore[arg-type]
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


def _print_report(report: dict[str, Any]) -> None:
    print(f"\naioultra {aioultra.__version__} bench on {report['machine']}")
    for loop_kind, suite in report["loops"].items():
        if "latency" not in suite:
            continue
        base = suite["latency"]["run_in_executor"]
        base_tp = suite["throughput"]["run_in_executor"]
        print(f"\n== {loop_kind}: await round trip (us), sequential ==")
        print(f"{'path':32} {'p50':>8} {'p99':>8} {'p99.9':>8} {'p50 x':>7} {'p99 x':>7}")
        for name, r in suite["latency"].items():
            print(
                f"{name:32} {r['p50_us']:8.1f} {r['p99_us']:8.1f} {r['p999_us']:8.1f} "
                f"{r['p50_us'] / base['p50_us']:7.2f} {r['p99_us'] / base['p99_us']:7.2f}"
            )
        print(f"\n== {loop_kind}: concurrent awaits (tasks/s, 256 in flight) ==")
        for name, tp in suite["throughput"].items():
            print(f"{name:32} {tp:12,.0f}  {tp / base_tp:6.2f}x")
    if "micro" in report:
        print("\n== C microbenchmarks (ns/op, timed inside C, best of 5) ==")
        for name, ns in report["micro"].items():
            print(f"{name:32} {ns:8.1f}")
    if "executor" in report:
        executor.print_suite(report["executor"])
    if "eth" in report:
        eth.print_suite(report["eth"])
    if "cluster" in report:
        cluster.print_suite(report["cluster"])
    if "trio" in report:
        from . import trio_run  # trio is optional: imported only when its suite ran

        trio_run.print_suite(report["trio"])
    if "map" in report:
        print("\n== map throughput (items/s) ==")
        for name, tp in report["map"].items():
            print(f"{name:40} {tp:14,.0f}")
    for loop_kind, suite in report["loops"].items():
        if "submission" in suite:
            submission.print_suite(loop_kind, suite["submission"])
        if "metrics" in suite:
            overhead.print_suite(loop_kind, suite["metrics"])
        if "shapes" in suite:
            shapes.print_suite(loop_kind, suite["shapes"])
    if any(report["loops"].values()):
        print("\nratios (x) are against run_in_executor(ThreadPoolExecutor) measured in the same run")
    if any("shapes" in suite for suite in report["loops"].values()):
        print(
            "shapes: 'x rie' is against run_in_executor with the same work (noop or the same C spin); 'x floor' "
            "against the same-CPU floor of the shape's pause"
        )


ONLY_SUITES = ("shapes", "submission", "metrics", "eth", "cluster", "trio")
"""The suites with an ``--<suite>-only`` flag (at most one may be given)."""


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m aioultra.bench``."""
    parser = argparse.ArgumentParser(prog="python -m aioultra.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (under a minute)")
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--loops", default="asyncio,uvloop", help="comma-separated: asyncio, uvloop")
    parser.add_argument("--no-map", action="store_true", help="skip the map throughput suite")
    parser.add_argument("--no-shapes", action="store_true", help="skip the traffic-shape suite")
    parser.add_argument(
        "--shapes-only", action="store_true", help="only the traffic-shape suite (pauses, bursts, floors, CPU use)"
    )
    parser.add_argument(
        "--submission-only",
        action="store_true",
        help="only the submission suite (concurrent awaits, the asyncio floor, submit cost, items/s)",
    )
    parser.add_argument("--no-submission", action="store_true", help="skip the submission suite")
    parser.add_argument(
        "--metrics-only", action="store_true", help="only the metrics suite (latency histograms on / off, stats())"
    )
    parser.add_argument("--no-metrics", action="store_true", help="skip the metrics suite")
    parser.add_argument(
        "--eth-only",
        action="store_true",
        help="only the signature kernels against eth-account (tx_sender, sign_tx; needs the bench extra)",
    )
    parser.add_argument("--no-eth", action="store_true", help="skip the signature kernels suite")
    parser.add_argument(
        "--cluster-only",
        action="store_true",
        help="only aioultra.cluster on a local 2-node Ray cluster against one local engine (needs Ray)",
    )
    parser.add_argument("--cluster", action="store_true", help="add the cluster suite to the run (needs Ray)")
    parser.add_argument(
        "--trio-only", action="store_true", help="only the trio suite (the engine under trio.run against to_thread)"
    )
    parser.add_argument("--no-trio", action="store_true", help="skip the trio suite")
    parser.add_argument(
        "--plot",
        metavar="DIR",
        help="write PNG figures (matplotlib) of the traffic-shape suite into DIR: latency distributions, p50/p99 "
        "against the pause",
    )
    parser.add_argument(
        "--check-targets", action="store_true", help="print each target (shapes and submission suites) as met / not met"
    )
    parser.add_argument(
        "--tune",
        action="store_true",
        help="only the defaults study: spin budget x worker count with the loop busy (uvloop)",
    )
    args = parser.parse_args(argv)
    loops = [x.strip() for x in args.loops.split(",") if x.strip()]
    if not loops:
        parser.error("--loops names no loop: expected asyncio, uvloop or both")
    for kind in loops:
        if kind not in ("asyncio", "uvloop"):
            hint = " (trio has a suite of its own: --trio-only, also in the default run)" if kind == "trio" else ""
            parser.error(f"unknown loop {kind!r}: expected asyncio or uvloop{hint}")
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    if args.tune:
        progress = Progress(8)
        tune = _run_loop("uvloop", lambda: _tune_suite(args.quick, progress))
        progress.finish()
        _print_tune(tune)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"tune": tune}, fh, indent=2)
        return 0
    chosen = [suite for suite in ONLY_SUITES if getattr(args, f"{suite}_only")]
    if len(chosen) > 1:
        parser.error(f"--{chosen[-1]}-only excludes the other --*-only flags")
    for suite in ("shapes", "submission", "metrics", "eth"):
        if getattr(args, f"{suite}_only") and getattr(args, f"no_{suite}"):
            parser.error(f"--{suite}-only and --no-{suite} exclude each other")
    has_trio = importlib.util.find_spec("trio") is not None
    if args.trio_only and not has_trio:
        parser.error("--trio-only needs trio: pip install 'aioultra[bench]'")
    counts = shapes.QUICK if args.quick else shapes.FULL
    classic = not chosen  # no --*-only flag: the default run
    with_map = classic and not args.no_map
    with_shapes = not args.no_shapes and (classic or chosen == ["shapes"])
    with_submission = not args.no_submission and (classic or chosen == ["submission"])
    with_metrics = not args.no_metrics and (classic or chosen == ["metrics"])
    with_eth = not args.no_eth and (classic or chosen == ["eth"])
    with_cluster = args.cluster or args.cluster_only
    with_trio = (classic and not args.no_trio and has_trio) or args.trio_only
    if args.plot and not with_shapes:
        parser.error("--plot draws the traffic-shape suite: it cannot be combined with skipping it")
    total = (len(loops) * 10 + 2 if classic else 0) + (4 if with_map else 0)
    total += len(loops) * shapes.STEPS if with_shapes else 0
    total += len(loops) * overhead.STEPS if with_metrics else 0
    total += eth.STEPS if with_eth else 0
    total += cluster.STEPS if with_cluster else 0
    if with_trio:
        from . import trio_run  # trio is optional (the bench extra has it)

        total += trio_run.STEPS
    progress = Progress(total + (len(loops) * submission.STEPS if with_submission else 0))
    report: dict[str, Any] = {
        "machine": f"{platform.machine()}, {len(os.sched_getaffinity(0))} CPUs, {platform.platform()}, "
        f"Python {platform.python_version()}",
        "quick": args.quick,
        "loops": {kind: {} for kind in loops},
    }
    if classic:
        report["micro"] = _micro_suite(args.quick, progress)
        for kind in loops:
            report["loops"][kind] = _run_loop(kind, lambda: _loop_suite(args.quick, progress))
    if classic:
        report["executor"] = executor.run(2_000 if args.quick else 20_000)
        progress.step("executors")
    if with_map:
        report["map"] = _run_loop(
            "uvloop" if "uvloop" in loops else "asyncio", lambda: _map_suite(args.quick, progress)
        )
    if with_submission:
        sub_counts = submission.QUICK if args.quick else submission.FULL
        for kind in loops:
            report["loops"][kind]["submission"] = _run_loop(kind, lambda: submission.run_suite(sub_counts, progress))
    if with_metrics:
        metric_counts = overhead.QUICK if args.quick else overhead.FULL
        for kind in loops:
            report["loops"][kind]["metrics"] = _run_loop(kind, lambda: overhead.run_suite(metric_counts, progress))
    if with_shapes:
        for kind in loops:
            report["loops"][kind]["shapes"] = _run_loop(kind, lambda: shapes.run_suite(counts, progress))
    eth_loop = "uvloop" if "uvloop" in loops else loops[0]
    if with_eth:
        report["eth"] = _run_loop(eth_loop, lambda: eth.run_suite(eth.QUICK if args.quick else eth.FULL, progress))
    if with_cluster:
        cluster_counts = cluster.QUICK if args.quick else cluster.FULL
        report["cluster"] = _run_loop(eth_loop, lambda: cluster.run_suite(cluster_counts, progress))
    if with_trio:
        report["trio"] = trio_run.run_suite(trio_run.QUICK if args.quick else trio_run.FULL, progress)
    report["targets"] = (
        targets.evaluate(report["loops"])
        + targets.evaluate_submission(report["loops"])
        + targets.evaluate_metrics(report["loops"])
        + targets.evaluate_eth(report.get("eth"), eth_loop)
        + targets.evaluate_cluster(report.get("cluster"), eth_loop)
    )
    progress.finish()
    _print_report(report)
    if args.plot:
        from . import plot

        for path in plot.write_figures(report, args.plot):
            print(f"wrote {path}")
    if args.check_targets:
        if report["targets"]:
            targets.print_targets(report["targets"], targets.python_floor(report["loops"]))
        else:
            print("\n--check-targets: the targets need the shapes, submission, metrics or eth suite")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
