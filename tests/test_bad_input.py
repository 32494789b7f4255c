"""Bad input gets a clear exception at submit time, and the engine keeps serving."""

from __future__ import annotations

import math

import pytest

import aioultra
from aioultra import kernels

from .helpers import wait_for


async def _still_serving(engine: aioultra.Engine) -> None:
    assert await wait_for(engine.submit(kernels.keccak256, b"ok")) != b""
    assert await wait_for(engine.submit(lambda: 42)) == 42


@pytest.mark.parametrize(
    ("target", "args", "kwargs", "match"),
    [
        (42, (), {}, "cannot submit 'int'"),
        ("not callable", (), {}, "cannot submit 'str'"),
        (kernels.keccak256, ("text",), {}, "encode the str first"),
        (kernels.keccak256, (123,), {}, "got int"),
        (kernels.keccak256, (b"a", b"b"), {}, "one bytes-like input"),
        (kernels.keccak256, (b"a",), {"x": 1}, "no keyword arguments"),
        (kernels.spin, (b"a",), {}, "one int"),
        (kernels.spin, (-5,), {}, "0..60e9"),
        (kernels.noop, (), {"priority": 256}, "between 0 and 255"),
        (kernels.noop, (), {"priority": -1}, "between 0 and 255"),
        (kernels.noop, (), {"priority": 1.5}, "int 0-255"),
        (kernels.noop, (), {"priority": True}, "int 0-255"),
        (kernels.noop, (), {"deadline_us": -1}, ">= 0"),
        (kernels.noop, (), {"deadline_us": math.nan}, "finite"),
        (kernels.noop, (), {"deadline_us": "soon"}, "number of microseconds"),
        (aioultra.Task(), (1,), {}, "takes no arguments"),
    ],
)
async def test_rejected_at_submit(
    engine: aioultra.Engine, target: object, args: tuple[object, ...], kwargs: dict[str, object], match: str
) -> None:
    before = engine.stats().tasks_submitted
    with pytest.raises(aioultra.InvalidTask, match=match):
        await wait_for(engine.submit(target, *args, **kwargs))
    assert engine.stats().tasks_submitted == before  # nothing was queued
    await _still_serving(engine)


async def test_task_with_bad_priority(engine: aioultra.Engine) -> None:
    class Bad(aioultra.Task):
        def execute(self) -> int:
            return 1

        def priority(self) -> int:
            return 1000

    with pytest.raises(aioultra.InvalidTask, match="between 0 and 255"):
        await wait_for(engine.submit(Bad()))
    await _still_serving(engine)


async def test_map_rejects_bad_items(engine: aioultra.Engine) -> None:
    with pytest.raises(aioultra.InvalidTask, match=r"item 1: .*got str"):
        await wait_for(engine.map(kernels.keccak256, [b"a", "b"]))
    with pytest.raises(aioultra.InvalidTask, match="iterable"):
        await wait_for(engine.map(kernels.keccak256, 5))  # type: ignore[arg-type]
    with pytest.raises(aioultra.InvalidTask, match="Kernel or a callable"):
        await wait_for(engine.map(7, [1]))
    await _still_serving(engine)


@pytest.mark.parametrize(
    ("overrides", "exc", "match"),
    [
        ({"workers_per_numa_node": 0}, ValueError, ">= 1"),
        ({"queue_capacity": 1000}, ValueError, "power of two"),
        ({"queue_capacity": 1}, ValueError, "power of two"),
        ({"load_balance_threshold": 2.0}, ValueError, "between 0.0 and 1.0"),
        ({"topology": "0-1;;2"}, ValueError, "empty"),
        ({"no_such_option": 1}, TypeError, "no_such_option"),
    ],
)
def test_bad_config(overrides: dict[str, object], exc: type[Exception], match: str) -> None:
    with pytest.raises(exc, match=match):
        aioultra.Engine(**overrides)


async def test_submit_before_start_and_after_close() -> None:
    engine = aioultra.Engine(spin_us=0)
    with pytest.raises(aioultra.EngineClosed, match="not started"):
        await wait_for(engine.submit(kernels.noop))
    async with engine:
        assert await wait_for(engine.submit(kernels.noop)) == b""
    with pytest.raises(aioultra.EngineClosed, match="closed"):
        await wait_for(engine.submit(kernels.noop))
    with pytest.raises(aioultra.EngineClosed):
        await wait_for(engine.map(kernels.noop, [b""]))
    with pytest.raises(aioultra.EngineClosed):
        await engine.start()
    await engine.aclose()  # idempotent


async def test_huge_deadline_rejected(engine: aioultra.Engine) -> None:
    with pytest.raises(aioultra.InvalidTask, match="at most"):
        await wait_for(engine.submit(kernels.noop, deadline_us=1e16))
    assert await wait_for(engine.submit(kernels.noop, deadline_us=1e12)) == b""
