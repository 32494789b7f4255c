"""Cancellation, back-pressure, deadlines and priorities."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator

import anyio
import pytest

import aioultra
from aioultra import kernels

from .helpers import Gate, gather, reported_errors, spawner, wait_for


@pytest.fixture
async def one_worker() -> AsyncIterator[aioultra.Engine]:
    """A single-worker engine, so execution order is observable."""
    with reported_errors() as errors:
        async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=1024, spin_us=10) as eng:
            yield eng
    assert not errors, errors


async def test_cancelled_tasks_never_run(one_worker: aioultra.Engine) -> None:
    engine = one_worker
    gate = Gate()
    blocker = asyncio.ensure_future(engine.submit(gate))
    await gate.wait_started()
    ran: list[int] = []
    tasks = [asyncio.ensure_future(engine.submit(ran.append, i)) for i in range(200)]
    await anyio.sleep(0)  # let every submit reach the queue
    rng = random.Random(7)
    cancelled = set(rng.sample(range(200), 100))
    for i in cancelled:
        tasks[i].cancel()
    await anyio.sleep(0)  # let the cancellations reach the engine
    gate.release.set()
    assert await wait_for(blocker) == "gate"
    done = await wait_for(gather(*tasks, return_exceptions=True))
    for i, r in enumerate(done):
        if i in cancelled:
            assert isinstance(r, asyncio.CancelledError)
        else:
            assert r is None
    assert set(ran) == set(range(200)) - cancelled
    s = engine.stats()
    assert s.tasks_cancelled == 100
    assert s.tasks_submitted == s.tasks_completed + s.tasks_failed + s.tasks_cancelled + s.tasks_expired
    assert s.queue_size == 0


async def test_late_completion_of_cancelled_task_is_dropped(one_worker: aioultra.Engine) -> None:
    gate = Gate()
    task = asyncio.ensure_future(one_worker.submit(gate))
    await gate.wait_started()
    task.cancel()  # already running: it completes, and the completion must be dropped silently
    gate.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await wait_for(one_worker.submit(lambda: 1)) == 1  # the drain went on
    assert one_worker.stats().queue_size == 0


async def test_queue_full_then_recovers() -> None:
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=8, spin_us=0) as engine:
        gate = Gate()
        first = asyncio.ensure_future(engine.submit(gate))
        await gate.wait_started()
        rest = [asyncio.ensure_future(engine.submit(kernels.noop)) for _ in range(7)]
        await anyio.sleep(0)
        assert engine.stats().queue_size == 8
        with pytest.raises(aioultra.QueueFull):
            await engine.submit(kernels.noop)
        with pytest.raises(aioultra.QueueFull):
            await engine.submit(lambda: None)
        gate.release.set()
        assert await wait_for(first) == "gate"
        assert await wait_for(gather(*rest)) == [b""] * 7  # nothing dropped
        assert await wait_for(engine.submit(kernels.noop)) == b""
        # map waits for its own chunks instead of failing when the queue is small
        items = [bytes([i % 256]) for i in range(5000)]
        assert len(await wait_for(engine.map(kernels.keccak256, items))) == 5000
        assert len(await wait_for(engine.map(lambda x: x, range(500)))) == 500


async def test_deadline_exceeded(one_worker: aioultra.Engine) -> None:
    blocker = asyncio.ensure_future(one_worker.submit(kernels.spin, 20_000_000))
    late = asyncio.ensure_future(one_worker.submit(kernels.noop, deadline_us=100))
    late_py = asyncio.ensure_future(one_worker.submit(lambda: 1, deadline_us=0))
    assert await wait_for(blocker) == b""
    with pytest.raises(aioultra.DeadlineExceeded):
        await wait_for(late)
    with pytest.raises(aioultra.DeadlineExceeded):
        await wait_for(late_py)
    assert one_worker.stats().tasks_expired == 2
    # a generous deadline is met
    assert await wait_for(one_worker.submit(kernels.noop, deadline_us=10_000_000)) == b""


async def test_high_priority_runs_first_without_starving_normal(one_worker: aioultra.Engine) -> None:
    gate = Gate()
    blocker = asyncio.ensure_future(one_worker.submit(gate))
    await gate.wait_started()
    order: list[str] = []
    normal = [asyncio.ensure_future(one_worker.submit(order.append, f"n{i}", priority=5)) for i in range(10)]
    high = [asyncio.ensure_future(one_worker.submit(order.append, f"h{i}", priority=200)) for i in range(100)]
    await anyio.sleep(0)
    gate.release.set()
    await wait_for(gather(blocker, *normal, *high))
    assert order[0].startswith("h")
    assert all(x.startswith("h") for x in order[:16])
    # starvation rule (injector.h): after 16 consecutive high-lane tasks one normal task runs
    for i in range(5):
        assert order.index(f"n{i}") == 16 + 17 * i, " ".join(order)


async def test_map_deadline(one_worker: aioultra.Engine) -> None:
    blocker = one_worker.submit(kernels.spin, 20_000_000)
    async with spawner() as spawn:
        late = spawn(one_worker.map(kernels.keccak256, [b"a"] * 10, deadline_us=100))
        late_py = spawn(one_worker.map(str, range(10), deadline_us=100, return_exceptions=True))
        assert await wait_for(blocker) == b""
        with pytest.raises(aioultra.DeadlineExceeded):
            await wait_for(late)
        with pytest.raises(aioultra.DeadlineExceeded):
            await wait_for(late_py)
    assert await wait_for(one_worker.map(str, range(3), deadline_us=10_000_000)) == ["0", "1", "2"]
    with pytest.raises(aioultra.InvalidTask):
        await wait_for(one_worker.map(str, range(3), deadline_us=-1))
