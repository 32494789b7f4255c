"""The submission API: queued at the call, awaitable futures that cancel the native task,
on_full back-pressure, submit_many, counters that count items, decoded kernel results."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import anyio
import pytest

import aioultra
from aioultra import kernels

from .helpers import Gate, gather, spawner, start_loop_thread, to_thread, until, wait_for


def one_worker(**overrides: Any) -> aioultra.Engine:
    return aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0, **overrides)


async def test_submit_queues_at_the_call() -> None:
    async with one_worker() as engine:
        gate = Gate()
        fut = engine.submit(gate)  # no await, no task: it runs anyway
        assert isinstance(fut, asyncio.Future) and isinstance(fut, aioultra.TaskFuture)
        await gate.wait_started()
        gate.release.set()
        assert await wait_for(fut) == "gate"


async def test_submit_outside_a_running_loop_is_a_clear_error(engine: aioultra.Engine) -> None:
    errors: list[BaseException] = []

    def from_a_plain_thread() -> None:
        try:
            engine.submit(kernels.noop)
        except BaseException as exc:
            errors.append(exc)

    await to_thread(from_a_plain_thread)
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError) and "running event loop" in str(errors[0])
    assert await wait_for(engine.submit(kernels.noop)) == b""


async def _cancelled_never_runs(cancel: Any) -> None:
    """A task queued behind a gate, cancelled through ``cancel(future)``: it never runs."""
    async with one_worker() as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        ran: list[int] = []
        fut = engine.submit(ran.append, 1)
        await cancel(fut)
        assert fut.cancelled()
        gate.release.set()
        assert await wait_for(running) == "gate"
        assert await wait_for(engine.submit(kernels.noop)) == b""
        assert ran == []
        assert engine.stats().tasks_cancelled == 1


async def test_cancelling_the_future_cancels_the_task() -> None:
    async def cancel(fut: asyncio.Future[Any]) -> None:
        fut.cancel()

    await _cancelled_never_runs(cancel)


async def test_a_timeout_cancels_the_task() -> None:
    async def cancel(fut: asyncio.Future[Any]) -> None:
        with pytest.raises(TimeoutError):
            with anyio.fail_after(0):
                await fut

    await _cancelled_never_runs(cancel)


async def test_an_anyio_cancel_scope_cancels_the_task() -> None:
    async def cancel(fut: asyncio.Future[Any]) -> None:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await fut

    await _cancelled_never_runs(cancel)


@pytest.mark.asyncio_only("asyncio's own timeouts")
@pytest.mark.parametrize("how", ["wait_for", "timeout", "gather"])
async def test_asyncio_timeouts_and_gather_cancel_the_task(how: str) -> None:
    async def cancel(fut: asyncio.Future[Any]) -> None:
        if how == "wait_for":
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(fut, 0)
        elif how == "timeout":
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(0):
                    await fut
        else:  # a cancelled gather cancels its children
            outer = asyncio.gather(fut)
            await asyncio.sleep(0)
            outer.cancel()
            with pytest.raises(asyncio.CancelledError):
                await outer

    await _cancelled_never_runs(cancel)


@pytest.mark.asyncio_only("asyncio's own helpers over TaskFutures")
async def test_task_futures_in_asyncio_helpers(engine: aioultra.Engine) -> None:
    """gather, wait, as_completed and shield take TaskFutures as any asyncio future."""
    assert await asyncio.wait_for(asyncio.gather(*(engine.submit(abs, -i) for i in range(50))), 30) == list(range(50))
    failing = [engine.submit(int, "x"), engine.submit(kernels.noop)]
    got = await asyncio.wait_for(asyncio.gather(*failing, return_exceptions=True), 30)
    assert isinstance(got[0], ValueError) and got[1] == b""
    done, pending = await asyncio.wait([engine.submit(kernels.noop) for _ in range(5)], timeout=30)
    assert len(done) == 5 and not pending
    finished = [await f for f in asyncio.as_completed([engine.submit(abs, -i) for i in range(5)], timeout=30)]
    assert sorted(finished) == list(range(5))
    shielded = engine.submit(abs, -7)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.shield(shielded), 0)  # the shield is cancelled, not the task
    assert await asyncio.wait_for(shielded, 30) == 7


async def test_async_callables_are_rejected_at_the_call(engine: aioultra.Engine) -> None:
    async def coro_fn() -> int:
        return 1

    with pytest.raises(aioultra.InvalidTask, match="async function"):
        engine.submit(coro_fn)
    coro = coro_fn()
    with pytest.raises(aioultra.InvalidTask, match="await it instead"):
        engine.submit(coro)
    coro.close()
    with pytest.raises(aioultra.InvalidTask, match="async function"):
        engine.submit_many(coro_fn, [1])
    # a callable that only returns a coroutine is caught on the worker
    with pytest.raises(aioultra.InvalidTask, match="returned a coroutine"):
        await wait_for(engine.submit(functools.partial(coro_fn)))
    assert await wait_for(engine.submit(kernels.noop)) == b""


async def test_on_full_wait_is_fifo_and_cancellable() -> None:
    async with one_worker(queue_capacity=2) as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        order: list[int] = []
        first = engine.submit(order.append, 0)  # the second slot
        with pytest.raises(aioultra.QueueFull):
            engine.submit(order.append, -1)  # on_full="raise" (the default): refused at the call
        waiting = [engine.submit(order.append, i, on_full="wait") for i in range(1, 8)]
        waiting[2].cancel()  # item 3 never runs
        assert engine.stats().queue_size == 2
        gate.release.set()
        await wait_for(gather(running, first, *waiting, return_exceptions=True))
        assert order == [0, 1, 2, 4, 5, 6, 7]
        assert waiting[2].cancelled()
        with pytest.raises(aioultra.InvalidTask, match="on_full"):
            engine.submit(kernels.noop, on_full="block")


async def test_engine_wide_on_full_wait_and_a_per_call_raise() -> None:
    async with one_worker(queue_capacity=2, on_full="wait") as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        futures = [engine.submit(kernels.spin, 1000) for _ in range(20)]  # 19 wait
        with pytest.raises(aioultra.QueueFull):
            engine.submit(kernels.noop, on_full="raise")
        gate.release.set()
        assert await wait_for(gather(*futures)) == [b""] * 20
        assert await wait_for(running) == "gate"


async def test_a_waiter_on_another_loop_gets_a_slot_freed_here() -> None:
    """Slots are shared: completions drained by this loop wake a submission waiting on
    another loop (through that loop's eventfd)."""
    async with one_worker(queue_capacity=2) as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        mine = engine.submit(kernels.noop)  # the pool is full now
        waiting = threading.Event()
        result: dict[str, Any] = {}

        async def other() -> None:
            fut = engine.submit(kernels.keccak256, b"x", on_full="wait")
            waiting.set()
            result["digest"] = await fut

        thread = start_loop_thread(other)
        assert await to_thread(waiting.wait, 30)
        gate.release.set()
        assert await wait_for(running) == "gate"
        assert await wait_for(mine) == b""
        await to_thread(thread.join, 30)
        assert result["digest"] == await wait_for(engine.submit(kernels.keccak256, b"x"))


async def test_submit_many_returns_futures_in_order(engine: aioultra.Engine) -> None:
    before = engine.stats().tasks_submitted
    items = [bytes([i % 256]) * i for i in range(300)]
    futures = engine.submit_many(kernels.keccak256, items)
    assert len(futures) == 300 and all(isinstance(f, aioultra.TaskFuture) for f in futures)
    assert await wait_for(gather(*futures)) == [await engine.submit(kernels.keccak256, x) for x in items]
    assert engine.stats().tasks_submitted - before == 600
    squares = engine.submit_many(lambda x: x * x, range(10))
    assert await wait_for(gather(*squares)) == [x * x for x in range(10)]
    spins = engine.submit_many(kernels.spin, [100, 200])
    assert await wait_for(gather(*spins)) == [b"", b""]
    assert engine.submit_many(kernels.noop, []) == []


async def test_submit_many_rejects_a_bad_item_before_queueing(engine: aioultra.Engine) -> None:
    before = engine.stats().tasks_submitted
    with pytest.raises(aioultra.InvalidTask, match=r"item 2: .*got str"):
        engine.submit_many(kernels.keccak256, [b"a", b"b", "c"])
    with pytest.raises(aioultra.InvalidTask, match="iterable"):
        engine.submit_many(kernels.keccak256, 5)
    assert engine.stats().tasks_submitted == before


async def test_submit_many_on_full_raise_cancels_what_it_queued() -> None:
    async with one_worker(queue_capacity=4) as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        with pytest.raises(aioultra.QueueFull, match="after 3 of 10"):
            engine.submit_many(kernels.spin, [1000] * 10)
        waited = engine.submit_many(kernels.spin, [1000] * 10, on_full="wait")
        gate.release.set()
        assert await wait_for(gather(*waited)) == [b""] * 10
        assert await wait_for(running) == "gate"
        s = engine.stats()
        assert s.tasks_cancelled == 3 and s.tasks_completed == 11, s


async def test_counters_count_items(engine: aioultra.Engine) -> None:
    s0 = engine.stats()
    good = bytes.fromhex(
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    )
    items = [good] * 4000 + [b"\xc0"] * 6  # 6 malformed
    results = await wait_for(engine.map(kernels.rlp_tx, items, return_exceptions=True))
    assert sum(isinstance(r, aioultra.KernelError) for r in results) == 6
    s1 = engine.stats()
    assert s1.tasks_submitted - s0.tasks_submitted == 4006
    assert s1.tasks_failed - s0.tasks_failed == 6
    assert s1.tasks_completed - s0.tasks_completed == 4000
    assert s1.batches_submitted - s0.batches_submitted == s1.batches_completed - s0.batches_completed > 1

    def maybe(x: int) -> int:
        if x % 10 == 0:
            raise ValueError(x)
        return x

    out = await wait_for(engine.map(maybe, range(100), return_exceptions=True))
    assert [isinstance(r, ValueError) for r in out] == [x % 10 == 0 for x in range(100)]
    s2 = engine.stats()
    assert s2.tasks_submitted - s1.tasks_submitted == 100
    assert (s2.tasks_failed - s1.tasks_failed, s2.tasks_completed - s1.tasks_completed) == (10, 90)
    with pytest.raises(ValueError, match=r"^0$"):  # the first failing item by index
        await wait_for(engine.map(maybe, range(100)))


async def test_kernel_results_are_decoded(engine: aioultra.Engine) -> None:
    raw = bytes.fromhex(
        "f86c098504a817c800825208943535353535353535353535353535353535353535880de0b6b3a76400008025a028ef61340bd939bc2195fe537567866003e1a15d3c71ff63e1590620aa636276a067cbe9d8997f761aecb703304b3800ccf555c9f3dc64214b297fb1966a3b6d83"
    )
    tx = await wait_for(engine.submit(kernels.rlp_tx, raw))
    assert isinstance(tx, kernels.TxRecord) and tx.nonce == 9 and tx.chain_id == 1
    record = await wait_for(engine.submit(kernels.rlp_tx, raw, raw=True))
    assert isinstance(record, bytes) and kernels.TxRecord.from_record(record, raw) == tx
    assert await wait_for(engine.map(kernels.rlp_tx, [raw])) == [tx]
    args = (10**18, 5 * 10**21, 10**25)
    out = kernels.univ2_amount_out_py(*args)
    assert await wait_for(engine.submit(kernels.univ2_amount_out, *args)) == out
    assert await wait_for(engine.submit(kernels.univ2_amount_out, args)) == out
    encoded = b"".join(kernels.encode_u256(v) for v in args)
    assert await wait_for(engine.submit(kernels.univ2_amount_out, encoded)) == out
    assert await wait_for(engine.submit(kernels.univ2_amount_out, *args, raw=True)) == kernels.encode_u256(out)
    assert await wait_for(engine.map(kernels.univ2_amount_in, [args, args])) == [kernels.univ2_amount_in_py(*args)] * 2
    pools = (10**21, 2 * 10**21, 2 * 10**21, 11 * 10**20, 10**20)
    assert await wait_for(engine.submit(kernels.univ2_backrun, *pools)) == kernels.univ2_backrun_py(*pools)
    with pytest.raises(aioultra.InvalidTask, match="takes 3 ints"):
        engine.submit(kernels.univ2_amount_out, 1, 2)
    with pytest.raises(aioultra.InvalidTask, match="raw must be a bool"):
        engine.submit(kernels.noop, raw=1)


async def test_aclose_drains_submissions_waiting_on_another_loop() -> None:
    """A normal close waits for submissions still waiting for a slot, on any loop: they run
    (not EngineClosed) once this loop's tasks free the slots."""
    engine = one_worker(queue_capacity=2)
    await engine.start()
    gate = Gate()
    running = engine.submit(gate)
    await gate.wait_started()
    mine = engine.submit(kernels.noop)  # the pool is full now
    waiting = threading.Event()
    result: dict[str, Any] = {}

    async def other() -> None:
        futures = [engine.submit(kernels.spin, 1000, on_full="wait") for _ in range(3)]
        waiting.set()
        result["out"] = await gather(*futures, return_exceptions=True)

    thread = start_loop_thread(other)
    assert await to_thread(waiting.wait, 30)
    async with spawner() as spawn:
        closing = spawn(engine.aclose())
        await until(lambda: not engine.running, what="aclose to start")
        gate.release.set()
        await wait_for(closing)
    await to_thread(thread.join, 30)
    assert await wait_for(running) == "gate" and await wait_for(mine) == b""
    assert result["out"] == [b""] * 3


# ---- review findings (each failed before its fix) ----


async def test_a_waiter_gets_the_slots_of_a_loop_that_closed() -> None:
    """Slots held by a loop that closed with tasks in flight are reclaimed for a waiter (no
    other completion would ever retry it), and the close does not hang."""
    async with one_worker(queue_capacity=2) as engine:

        async def leave_in_flight() -> None:
            engine.submit(kernels.spin, 30_000_000)
            engine.submit(kernels.spin, 1_000)

        thread = start_loop_thread(leave_in_flight)
        await to_thread(thread.join, 30)
        assert await wait_for(engine.submit(kernels.noop, on_full="wait"), 10) == b""


async def test_submit_many_waiting_does_not_miss_a_slot_freed_meanwhile() -> None:
    """A slot freed by another loop between submit_many's failed attempt and its joining the
    line (that loop saw no waiter to kick) is taken at once."""
    engine = aioultra.Engine(workers_per_numa_node=2, numa_enabled=False, spin_us=0, queue_capacity=2)
    await engine.start()
    gate = Gate()
    held = threading.Event()
    drained = threading.Event()

    async def other() -> None:
        futures = [engine.submit(gate), engine.submit(kernels.noop)]
        held.set()
        await gather(*futures)
        drained.set()

    thread = start_loop_thread(other)
    assert await to_thread(held.wait, 30)
    original = engine._retry_after_full

    def free_the_slots_meanwhile() -> bool:
        gate.release.set()
        assert drained.wait(30)  # the other loop drained both: it kicked nobody
        engine._retry_after_full = original  # type: ignore[method-assign]
        return original()

    engine._retry_after_full = free_the_slots_meanwhile  # type: ignore[method-assign]
    futures = engine.submit_many(kernels.noop, [b""] * 3, on_full="wait")
    assert await wait_for(gather(*futures), 10) == [b""] * 3
    await to_thread(thread.join, 30)
    await wait_for(engine.aclose())


async def test_cancel_pending_fails_the_waiting_submissions() -> None:
    engine = one_worker(queue_capacity=2)
    await engine.start()
    gate = Gate()
    running = engine.submit(gate)
    await gate.wait_started()
    filler = engine.submit(kernels.noop)  # the pool is full
    ran: list[int] = []
    waiting = [engine.submit(ran.append, i, on_full="wait") for i in range(3)]
    async with spawner() as spawn:
        closing = spawn(engine.aclose(cancel_pending=True))
        await until(lambda: not engine.running, what="aclose to start")  # it has failed the waiting ones
        gate.release.set()
        await wait_for(closing)
    assert await wait_for(running) == "gate"
    outcomes = await gather(filler, *waiting, return_exceptions=True)
    assert all(isinstance(o, aioultra.EngineClosed) for o in outcomes), outcomes  # the filler: queued, never run
    assert ran == []


async def test_waiting_python_jobs_of_a_closed_loop_are_forgotten() -> None:
    from aioultra import _bridge

    async with one_worker(queue_capacity=2) as engine:
        gate = Gate()
        running = engine.submit(gate)
        await gate.wait_started()
        engine.submit(kernels.noop)
        ids: list[int] = []

        async def wait_then_leave() -> None:
            ids.extend(f._id for f in (engine.submit(len, b"x", on_full="wait") for _ in range(3)))

        thread = start_loop_thread(wait_then_leave)
        await to_thread(thread.join, 30)
        gate.release.set()
        assert await wait_for(running) == "gate"
    assert len(ids) == 3 and not any(i in _bridge._py_jobs for i in ids)


async def test_map_chunks_queue_behind_earlier_waiters() -> None:
    engine = aioultra.Engine(workers_per_numa_node=2, numa_enabled=False, spin_us=0, queue_capacity=2)
    await engine.start()
    mine, theirs = Gate(), Gate()
    held = threading.Event()
    drained = threading.Event()

    async def other() -> None:
        fut = engine.submit(theirs)
        held.set()
        await fut
        drained.set()

    first = engine.submit(mine)
    thread = start_loop_thread(other)
    assert await to_thread(held.wait, 30)
    order: list[str] = []
    waiter = engine.submit(order.append, "waiting submit", on_full="wait")
    theirs.release.set()
    assert drained.wait(30)  # a slot is free; this loop has not run its drain (the kick) yet
    async with spawner() as spawn:
        # (on trio the drain of the kick may come first: then the waiter is queued first anyway)
        mapped = spawn(engine.map(order.append, ["map item"]))
        await wait_for(gather(waiter, mapped))
    assert order == ["waiting submit", "map item"]
    mine.release.set()
    await wait_for(first)
    await to_thread(thread.join, 30)
    await wait_for(engine.aclose())


async def test_task_ids_never_leave_the_channels_range(engine: aioultra.Engine) -> None:
    _loop, ch = engine._current_channel()
    ch.next_id = ch.last_id
    with pytest.raises(aioultra.UltraEngineError, match="task ids"):
        engine.submit(kernels.noop)
    with pytest.raises(aioultra.UltraEngineError, match="task ids"):
        engine.submit(len, b"")
    with pytest.raises(aioultra.UltraEngineError, match="task ids"):
        engine.submit_many(kernels.noop, [b""])
    assert ch.next_id == ch.last_id
