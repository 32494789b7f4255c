"""The submission suite (issue 10): concurrent awaits against ``run_in_executor`` and the asyncio
floor, the loop thread's cost of one ``submit``, and items/s of ``submit_many`` and ``map``.

The paths take turns round by round in one run, so they see the same machine; each figure is
the best over the rounds (the lowest time, the highest items/s: on this shared machine even
the floor varied 1-9 us per future from round to round, for every path alike). The asyncio
floor is futures created and resolved from one ``call_soon`` batch (no threads): what any
engine's futures cost the loop at the least.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import gc
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aioultra
from aioultra import kernels

from .common import Progress, percentile

STEPS = 1


@dataclass(frozen=True)
class Counts:
    """Sizes of one run of the suite."""

    rounds: int
    gather: int  # futures per gather
    coroutines: int  # concurrent coroutines, each awaiting in a loop
    per_coroutine: int
    loop_cost: int  # submit calls timed one at a time
    items: int  # items per submit_many / map


FULL = Counts(rounds=7, gather=1000, coroutines=256, per_coroutine=40, loop_cost=5000, items=200_000)
QUICK = Counts(rounds=3, gather=1000, coroutines=256, per_coroutine=10, loop_cost=2000, items=50_000)
TINY = Counts(rounds=1, gather=50, coroutines=8, per_coroutine=3, loop_cost=50, items=500)

TX = bytes.fromhex(
    "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc"
    "2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
)


def _noop() -> None:
    return None


async def _floor(n: int) -> float:
    """us per future: n futures created and resolved from one call_soon batch, gathered."""
    loop = asyncio.get_running_loop()
    t0 = time.perf_counter()
    futures = [loop.create_future() for _ in range(n)]

    def resolve() -> None:
        for f in futures:
            f.set_result(None)

    loop.call_soon(resolve)
    await asyncio.gather(*futures)
    return (time.perf_counter() - t0) * 1e6 / n


async def _gather(call: Callable[[], Awaitable[Any]], n: int) -> float:
    t0 = time.perf_counter()
    await asyncio.gather(*(call() for _ in range(n)))
    return (time.perf_counter() - t0) * 1e6 / n


async def _coroutines(call: Callable[[], Awaitable[Any]], coroutines: int, each: int) -> float:
    """us per await: ``coroutines`` coroutines each awaiting ``call()`` ``each`` times."""

    async def worker() -> None:
        for _ in range(each):
            await call()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(coroutines)))
    return (time.perf_counter() - t0) * 1e6 / (coroutines * each)


async def _loop_cost(engine: aioultra.Engine, target: Any, n: int) -> float:
    """p50 us of the submit call itself (validate + queue), one at a time, awaited in between."""
    clock = time.perf_counter_ns
    samples = []
    for _ in range(n):
        t0 = clock()
        fut = engine.submit(target)
        samples.append(clock() - t0)
        await fut
    samples.sort()
    return percentile(samples, 0.5)  # us


async def _items_per_s(run: Callable[[], Awaitable[Any]], n: int) -> float:
    t0 = time.perf_counter()
    await run()
    return n / (time.perf_counter() - t0)


async def run_suite(counts: Counts = FULL, progress: Progress | None = None) -> dict[str, Any]:
    """Every figure of the suite on the running loop (see the module docstring)."""
    loop = asyncio.get_running_loop()
    c = counts
    cpus = len(os.sched_getaffinity(0))
    samples: dict[str, list[float]] = {}

    def add(key: str, value: float) -> None:
        samples.setdefault(key, []).append(value)

    amm = [(10**18 + i, 5 * 10**21, 10**25) for i in range(c.items)]
    amm_raw = [b"".join(v.to_bytes(32, "big") for v in t) for t in amm]
    txs = [TX] * c.items
    noops = [b""] * c.items
    spins = [0] * c.items
    # the inputs above are long-lived: keep the cyclic GC from walking them in every timed path
    gc.collect()
    gc.freeze()
    with concurrent.futures.ThreadPoolExecutor(max_workers=cpus) as executor:
        async with aioultra.Engine(on_full="wait") as engine:
            rie: Callable[[], Awaitable[Any]] = lambda: loop.run_in_executor(executor, _noop)  # noqa: E731
            sub: Callable[[], Awaitable[Any]] = lambda: engine.submit(kernels.noop)  # noqa: E731
            for _ in range(c.rounds):
                add("floor_us", await _floor(c.gather))
                add("gather.submit_us", await _gather(sub, c.gather))
                add("gather.rie_us", await _gather(rie, c.gather))
                t0 = time.perf_counter()
                await asyncio.gather(*engine.submit_many(kernels.noop, [b""] * c.gather))
                add("gather.submit_many_us", (time.perf_counter() - t0) * 1e6 / c.gather)
                add("coroutines.submit_us", await _coroutines(sub, c.coroutines, c.per_coroutine))
                add("coroutines.rie_us", await _coroutines(rie, c.coroutines, c.per_coroutine))
                add("loop_cost.noop_us", await _loop_cost(engine, kernels.noop, c.loop_cost))
                add("loop_cost.python_fn_us", await _loop_cost(engine, _noop, c.loop_cost))
                add(
                    "items.submit_many_noop",
                    await _items_per_s(lambda: asyncio.gather(*engine.submit_many(kernels.noop, noops)), c.items),
                )
                add("items.map_noop", await _items_per_s(lambda: engine.map(kernels.noop, noops), c.items))
                add("items.map_spin0", await _items_per_s(lambda: engine.map(kernels.spin, spins), c.items))
                add("items.map_univ2", await _items_per_s(lambda: engine.map(kernels.univ2_amount_out, amm), c.items))
                add(
                    "items.map_univ2_raw",
                    await _items_per_s(lambda: engine.map(kernels.univ2_amount_out, amm_raw, raw=True), c.items),
                )
                add("items.map_rlp_tx", await _items_per_s(lambda: engine.map(kernels.rlp_tx, txs), c.items))
                add(
                    "items.map_rlp_tx_raw",
                    await _items_per_s(lambda: engine.map(kernels.rlp_tx, txs, raw=True), c.items),
                )
            stats = engine.stats()
    gc.unfreeze()
    out: dict[str, Any] = {k: max(v) if k.startswith("items.") else min(v) for k, v in samples.items()}
    out["median"] = {k: statistics.median(v) for k, v in samples.items()}
    out["gather.x_rie"] = out["gather.rie_us"] / out["gather.submit_us"]
    out["gather.x_floor"] = out["gather.submit_us"] / out["floor_us"]
    out["gather.submit_many_x_floor"] = out["gather.submit_many_us"] / out["floor_us"]
    out["coroutines.x_rie"] = out["coroutines.rie_us"] / out["coroutines.submit_us"]
    out["batches_submitted"] = stats.batches_submitted
    out["counts"] = {"rounds": c.rounds, "gather": c.gather, "coroutines": c.coroutines, "items": c.items}
    if progress is not None:
        progress.step("submission suite")
    return out


def print_suite(loop: str, s: dict[str, Any]) -> None:
    """The suite as a table."""
    print(f"\n== submission ({loop}; best of {s['counts']['rounds']} rounds) ==")
    print(f"asyncio floor (futures resolved from one call_soon batch): {s['floor_us']:.2f} us/future")
    print(
        f"gather of {s['counts']['gather']}: submit(noop) {s['gather.submit_us']:.2f} us/task "
        f"({s['gather.x_rie']:.1f}x run_in_executor {s['gather.rie_us']:.2f} us, "
        f"{s['gather.x_floor']:.2f}x the floor); "
        f"submit_many {s['gather.submit_many_us']:.2f} us ({s['gather.submit_many_x_floor']:.2f}x the floor)"
    )
    print(
        f"{s['counts']['coroutines']} coroutines awaiting in a loop: submit(noop) {s['coroutines.submit_us']:.2f} "
        f"us/await ({s['coroutines.x_rie']:.1f}x run_in_executor {s['coroutines.rie_us']:.2f} us)"
    )
    print(
        f"loop thread's cost of one submit call p50: kernel {s['loop_cost.noop_us']:.2f} us, "
        f"python_fn {s['loop_cost.python_fn_us']:.2f} us"
    )
    for key in (
        "submit_many_noop",
        "map_noop",
        "map_spin0",
        "map_univ2",
        "map_univ2_raw",
        "map_rlp_tx",
        "map_rlp_tx_raw",
    ):
        print(f"  {key:18} {s['items.' + key] / 1e6:6.2f} M items/s")
