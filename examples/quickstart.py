"""Quickstart: the three kinds of work aioultra runs, then a latency comparison.

    python -m examples.quickstart

Runs on uvloop when it is installed, else on asyncio's default loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import statistics
import time

import aioultra
from aioultra import kernels


def price(amount_in: int, reserve_in: int, reserve_out: int) -> int:
    """Uniswap V2 getAmountOut: plain Python running on a worker thread."""
    amount_in_with_fee = amount_in * 997
    return amount_in_with_fee * reserve_out // (reserve_in * 1000 + amount_in_with_fee)


class Decode(aioultra.Task[int]):
    """A Task object: execute() runs on a worker; priority and duration steer the scheduler."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw

    def execute(self) -> int:
        return len(self.raw)

    def priority(self) -> int:
        return 10  # high lane

    def estimated_duration_us(self) -> int:
        return 5


async def round_trip(call: object, n: int) -> tuple[float, float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        await call()  # type: ignore[operator]
        samples.append((time.perf_counter_ns() - t0) / 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.99 * len(samples))]


async def main() -> None:
    async with aioultra.Engine() as engine:
        print("callable      ->", await engine.submit(price, 10**18, 5 * 10**21, 10**25))
        print("task object   ->", await engine.submit(Decode(b"\x02" * 120)))
        print("keccak256('') ->", (await engine.submit(kernels.keccak256, b"")).hex())
        digests = await engine.map(kernels.keccak256, [b"a", b"b"])
        print("map           ->", [d.hex()[:16] + "..." for d in digests])

        n = 5000
        loop = asyncio.get_running_loop()
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            ours = await round_trip(lambda: engine.submit(kernels.noop), n)
            theirs = await round_trip(lambda: loop.run_in_executor(pool, int), n)
        print(f"\nawait round trip over {n} sequential calls on {type(loop).__module__.split('.')[0]}:")
        print(f"  aioultra submit(noop)   p50 {ours[0]:6.1f} us   p99 {ours[1]:6.1f} us")
        print(f"  run_in_executor         p50 {theirs[0]:6.1f} us   p99 {theirs[1]:6.1f} us")
        s = engine.stats()
        print(f"\n{s.tasks_completed} tasks completed on {len(s.workers)} workers ({engine.topology})")


if __name__ == "__main__":
    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
