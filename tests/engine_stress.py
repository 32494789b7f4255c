"""Engine stress: many tasks of every kind from two event loops (asyncio and uvloop) in two
threads, with random cancellations. Verifies every result and that the statistics add up.
Run directly (it is also run under TSan and ASan+UBSan by tests/test_sanitizers.py):

    python tests/engine_stress.py --tasks 200000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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


async def close_while_others_run(rounds: int) -> None:
    """Lifecycle races, for the sanitizers: an engine closed by one loop while another loop (in
    its own thread) is still submitting and draining, and loops that close with tasks in flight
    while a worker may still be completing into their channel. Every future must resolve (a
    result or EngineClosed), nothing may touch freed memory."""

    async def one_round(r: int) -> None:
        engine = aioultra.Engine(spin_us=5, queue_capacity=256)
        await engine.start()
        started = threading.Event()
        outcome: dict[str, object] = {}

        async def busy_other() -> None:
            futures: list[asyncio.Future[object]] = []
            results: list[object] = []
            while engine.running:  # until the other loop closes the engine
                if sum(not f.done() for f in futures) < 100:  # leave room in the queue for the closer
                    try:  # submit queues at the call: a close between the check and here raises
                        futures.append(engine.submit(kernels.spin, 2000))
                    except aioultra.EngineClosed:
                        break
                if len(futures) == 50:
                    started.set()
                if len(futures) >= 1000:  # keep memory bounded however long the closer takes
                    results += await asyncio.gather(*futures, return_exceptions=True)
                    futures.clear()
                await asyncio.sleep(0)
            results += await asyncio.gather(*futures, return_exceptions=True)
            outcome["bad"] = [x for x in results if not (x == b"" or isinstance(x, aioultra.EngineClosed))]

        def run_other() -> None:
            asyncio.run(busy_other())

        def leave_with_tasks_in_flight() -> None:
            async def body() -> None:
                keep = [asyncio.ensure_future(engine.submit(kernels.spin, 1000)) for _ in range(20)]
                await asyncio.sleep(0)
                outcome["left"] = len(keep)

            asyncio.run(body())  # closes its loop with the tasks still in flight

        leaver = threading.Thread(target=leave_with_tasks_in_flight, daemon=True)
        leaver.start()
        await asyncio.to_thread(leaver.join)
        other = threading.Thread(target=run_other, daemon=True)
        other.start()
        await asyncio.to_thread(started.wait, 30)
        for _ in range(20):  # a new channel here reaps the closed loop's
            assert await engine.submit(kernels.noop) == b""
        if r % 2:
            await engine.aclose(cancel_pending=True)
        else:
            closing = asyncio.ensure_future(engine.aclose())
            await asyncio.sleep(0)
            closing.cancel()  # an interrupted close still shuts down cleanly
            with contextlib.suppress(asyncio.CancelledError):
                await closing
        await asyncio.to_thread(other.join, 60)
        assert not other.is_alive(), "the other loop hung"
        assert outcome.get("bad") == [], outcome.get("bad")

    for r in range(rounds):
        await one_round(r)
    print(f"lifecycle races ok: rounds={rounds}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=512)
    parser.add_argument("--lifecycle-rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.tasks, args.window))
    asyncio.run(close_while_others_run(args.lifecycle_rounds))
    sys.exit(0)
