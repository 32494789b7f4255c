"""submit(): Python callables, Task objects and kernels; results and exceptions come back unchanged."""

from __future__ import annotations

import asyncio
import threading
import traceback

import pytest
from Crypto.Hash import keccak

import aioultra
from aioultra import kernels

from .helpers import gather, wait_for


def add(a: int, b: int, *, scale: int = 1) -> int:
    return (a + b) * scale


class Custom(Exception):
    pass


def fails() -> None:
    raise Custom("from the worker")


def keccak_ref(data: bytes) -> bytes:
    return keccak.new(digest_bits=256, data=data).digest()


async def test_callable_args_kwargs(engine: aioultra.Engine) -> None:
    assert await wait_for(engine.submit(add, 1, 2)) == 3
    assert await wait_for(engine.submit(add, 1, 2, scale=10)) == 30


async def test_runs_on_a_worker_thread(engine: aioultra.Engine) -> None:
    name = await wait_for(engine.submit(lambda: threading.current_thread().ident))
    assert name != threading.get_ident()


async def test_exception_type_and_traceback_kept(engine: aioultra.Engine) -> None:
    with pytest.raises(Custom, match="from the worker") as info:
        await wait_for(engine.submit(fails))
    frames = "".join(traceback.format_tb(info.value.__traceback__))
    assert "fails" in frames, frames
    # the engine keeps serving after a failure
    assert await wait_for(engine.submit(add, 2, 2)) == 4


async def test_task_protocol(engine: aioultra.Engine) -> None:
    class Square(aioultra.Task):
        def __init__(self, x: int) -> None:
            self.x = x

        def execute(self) -> int:
            return self.x * self.x

        def priority(self) -> int:
            return 200

        def estimated_duration_us(self) -> int:
            return 50

    assert await wait_for(engine.submit(Square(7))) == 49
    base = aioultra.Task()
    assert base.priority() == 5
    with pytest.raises(NotImplementedError):
        await wait_for(engine.submit(base))


async def test_keccak_kernel(engine: aioultra.Engine) -> None:
    assert (await wait_for(engine.submit(kernels.keccak256, b""))).hex() == (
        "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"
    )
    for data in (b"abc", bytearray(b"x" * 300), memoryview(b"0123456789")[2:8]):
        assert await wait_for(engine.submit(kernels.keccak256, data)) == keccak_ref(bytes(data))


async def test_noop_and_spin(engine: aioultra.Engine) -> None:
    assert await wait_for(engine.submit(kernels.noop)) == b""
    assert await wait_for(engine.submit(kernels.spin, 10_000)) == b""


async def test_many_concurrent_in_order_results(engine: aioultra.Engine) -> None:
    inputs = [bytes([i % 256]) * (i % 200) for i in range(3000)]
    results = await wait_for(gather(*(engine.submit(kernels.keccak256, d) for d in inputs)))
    assert results == [keccak_ref(d) for d in inputs]
    stats = engine.stats()
    assert stats.tasks_submitted == stats.tasks_completed + stats.tasks_failed
    assert stats.queue_size == 0


async def test_map_kernel_in_order(engine: aioultra.Engine) -> None:
    assert await wait_for(engine.map(kernels.keccak256, [b"a", b"b"])) == [keccak_ref(b"a"), keccak_ref(b"b")]
    items = [i.to_bytes(4, "little") * (i % 50) for i in range(20_000)]
    assert await wait_for(engine.map(kernels.keccak256, items)) == [keccak_ref(x) for x in items]
    assert await wait_for(engine.map(kernels.noop, [b""] * 1000)) == [b""] * 1000
    assert await wait_for(engine.map(kernels.keccak256, [])) == []


async def test_map_callable_in_order(engine: aioultra.Engine) -> None:
    assert await wait_for(engine.map(lambda x: x * 3, range(10_000))) == [x * 3 for x in range(10_000)]


async def test_map_callable_error_propagates(engine: aioultra.Engine) -> None:
    def maybe(x: int) -> int:
        if x == 777:
            raise Custom(x)
        return x

    with pytest.raises(Custom):
        await wait_for(engine.map(maybe, range(1000)))
    assert await wait_for(engine.submit(add, 1, 1)) == 2


async def test_stats_fields(engine: aioultra.Engine) -> None:
    await wait_for(engine.map(lambda x: x, range(100)))
    s = engine.stats()
    assert s.tasks_completed >= 1
    assert s.queue_capacity == engine.config.queue_capacity
    assert s.throughput > 0
    assert len(s.workers) == sum(len(n) for n in engine.topology.nodes) or engine.config.workers_per_numa_node
    assert s.steals == sum(w.steals for w in s.workers)
    with pytest.raises(AttributeError):
        s.tasks_completed = 0  # type: ignore[misc]


async def test_stop_iteration_is_delivered_as_runtime_error(engine: aioultra.Engine) -> None:
    # a future cannot hold StopIteration; the bridge must not choke on it (and must go on draining)
    others = [asyncio.ensure_future(engine.submit(add, i, 0)) for i in range(50)]
    with pytest.raises(RuntimeError, match="StopIteration") as info:
        await wait_for(engine.submit(next, iter([])))
    assert isinstance(info.value.__cause__, StopIteration)
    assert await wait_for(gather(*others)) == list(range(50))
    assert await wait_for(engine.submit(add, 1, 1)) == 2


async def test_map_return_exceptions(engine: aioultra.Engine) -> None:
    def half(x: int) -> int:
        if x % 3 == 0:
            raise Custom(x)
        return x // 2

    results = await wait_for(engine.map(half, range(30), return_exceptions=True))
    for x, r in enumerate(results):
        if x % 3 == 0:
            assert isinstance(r, Custom) and r.args == (x,)
        else:
            assert r == x // 2
    digests = await wait_for(engine.map(kernels.spin, [], return_exceptions=True))
    assert digests == []
