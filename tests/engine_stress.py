"""Engine stress: many tasks of every kind from two event loops (asyncio and uvloop) in two
threads, with random cancellations. Verifies every result and that the statistics add up.
Run directly (it is also run under TSan and ASan+UBSan by tests/test_sanitizers.py):

    python tests/engine_stress.py --tasks 200000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import threading

import uvloop
from keccak_ref import keccak256 as _keccak

import aioultra
from aioultra import kernels

INPUTS = [bytes([i]) * (i * 3) for i in range(64)]  # a small set: the plain-Python reference is slow
DIGESTS = [_keccak(x) for x in INPUTS]


def square(x: int) -> int:
    return x * x


async def hammer(engine: aioultra.Engine, seed: int, count: int, window: int) -> tuple[int, int]:
    """Submit `count` tasks, `window` at a time; returns (checked, cancelled)."""
    rng = random.Random(seed)
    checked = cancelled = 0
    done = 0
    while done < count:
        batch = min(window, count - done)
        kinds = [rng.randrange(4) for _ in range(batch)]
        futures: list[asyncio.Future[object]] = []
        expected: list[object] = []
        for i, kind in enumerate(kinds):
            n = done + i
            if kind == 0:
                futures.append(asyncio.ensure_future(engine.submit(kernels.noop)))
                expected.append(b"")
            elif kind == 1:
                futures.append(asyncio.ensure_future(engine.submit(kernels.keccak256, INPUTS[n % 64])))
                expected.append(DIGESTS[n % 64])
            elif kind == 2:
                futures.append(asyncio.ensure_future(engine.submit(square, n)))
                expected.append(n * n)
            else:
                futures.append(asyncio.ensure_future(engine.submit(kernels.spin, 200)))
                expected.append(b"")
        await asyncio.sleep(0)
        for f in futures:
            if rng.random() < 0.1:
                f.cancel()
        results = await asyncio.gather(*futures, return_exceptions=True)
        for r, e in zip(results, expected, strict=True):
            if isinstance(r, asyncio.CancelledError):
                cancelled += 1
            elif r != e:
                raise AssertionError(f"wrong result {r!r} != {e!r}")
            else:
                checked += 1
        assert await engine.map(kernels.keccak256, INPUTS) == DIGESTS
        done += batch
    return checked, cancelled


async def main(tasks: int, window: int) -> None:
    async with aioultra.Engine(queue_capacity=4096, spin_us=20) as engine:
        other: dict[str, tuple[int, int]] = {}

        def second_loop() -> None:
            other["r"] = uvloop.run(hammer(engine, 2, tasks // 2, window))

        t = threading.Thread(target=second_loop)
        t.start()
        mine = await hammer(engine, 1, tasks - tasks // 2, window)
        await asyncio.to_thread(t.join)
        assert "r" in other, "second loop failed"
        s = engine.stats()
        finished = s.tasks_completed + s.tasks_failed + s.tasks_cancelled + s.tasks_expired
        assert s.queue_size == 0, s
        assert s.tasks_submitted == finished, s
        print(
            f"stress ok: checked={mine[0] + other['r'][0]} cancelled={mine[1] + other['r'][1]} "
            f"submitted={s.tasks_submitted} steals={s.steals}",
            flush=True,
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=512)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.window))
    sys.exit(0)
