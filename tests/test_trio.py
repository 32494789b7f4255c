"""trio, outside anyio's test runner: ``trio.run`` and ``anyio.run(backend="trio")`` as a user
writes them. The engine's side of a trio run (``aioultra._trio.TrioLoop``): completions wake
trio tasks through the channel's eventfd (trio's ``wait_readable``), cancel scopes cancel the
native task, a run's end closes its channel, and one engine serves a trio run and an asyncio
loop at once."""

from __future__ import annotations

import asyncio
import gc
import os
import threading
import time
from typing import Any

import anyio
import pytest
import structlog.testing
import trio
import trio.testing

import aioultra
from aioultra import _trio, kernels

from .helpers import Gate, reported_errors
from .test_closing import Ticker


def square(x: int) -> int:
    return x * x


class Boom(Exception):
    pass


def boom() -> None:
    raise Boom("from a worker")


def test_trio_run_submit_map_and_errors() -> None:
    async def main() -> dict[str, Any]:
        async with aioultra.Engine(spin_us=0) as engine:
            out: dict[str, Any] = {
                "py": await engine.submit(square, 7),
                "kernel": await engine.submit(kernels.keccak256, b""),
                "map": await engine.map(square, range(100)),
                "kmap": await engine.map(kernels.keccak256, [b"a", b"b"]),
                "many": [await f for f in engine.submit_many(kernels.noop, [b""] * 50)],
            }
            with pytest.raises(Boom, match="from a worker"):
                await engine.submit(boom)
            with pytest.raises(aioultra.KernelError):
                await engine.submit(kernels.rlp_tx, b"\x00")
            out["after"] = await engine.submit(square, 3)  # still serving
            out["loop"] = aioultra._loops.current_loop()
        out["stats"] = engine.stats()
        return out

    out = trio.run(main)
    assert out["py"] == 49 and out["after"] == 9
    assert out["kernel"].hex().startswith("c5d24601")
    assert out["map"] == [i * i for i in range(100)] and len(out["kmap"]) == 2 and out["many"] == [b""] * 50
    assert isinstance(out["loop"], _trio.TrioLoop) and out["loop"].is_closed()  # the run has ended
    s = out["stats"]
    assert s.tasks_submitted == s.tasks_completed + s.tasks_failed and s.tasks_failed == 2


def test_anyio_run_on_trio() -> None:
    async def main() -> list[int]:
        async with aioultra.Engine(spin_us=0) as engine:
            results: list[int] = [0] * 40

            async def one(i: int) -> None:
                results[i] = await engine.submit(square, i)

            async with anyio.create_task_group() as tg:  # a trio nursery underneath
                for i in range(40):
                    tg.start_soon(one, i)
            return results

    assert anyio.run(main, backend="trio") == [i * i for i in range(40)]


def test_a_cancel_scope_cancels_the_native_task() -> None:
    """A trio cancel scope around an await cancels the task behind it: a queued one never runs;
    a running Python job finishes on its worker and its result is dropped."""

    async def main() -> tuple[list[int], aioultra.EngineStats]:
        ran: list[int] = []
        async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0) as engine:
            gate = Gate()
            running = engine.submit(gate)
            await trio.to_thread.run_sync(gate.started.wait, 30)
            with trio.move_on_after(0.01) as scope:
                await engine.submit(ran.append, 1)  # queued behind the gate
            assert scope.cancelled_caught
            with trio.move_on_after(0.01) as scope:
                await running  # running: it cannot be stopped, its await is
            assert scope.cancelled_caught and running.cancelled()
            gate.release.set()
            assert await engine.submit(square, 5) == 25  # one worker, FIFO: the gate has ended
        return ran, engine.stats()

    ran, s = trio.run(main)
    assert ran == []  # the cancelled task never ran
    assert s.tasks_cancelled == 1 and s.tasks_completed == 2  # the gate and square


def test_a_cancelled_nursery_cancels_every_awaited_task() -> None:
    async def main() -> aioultra.EngineStats:
        async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0) as engine:
            gate = Gate()
            engine.submit(gate)  # holds the only worker
            await trio.to_thread.run_sync(gate.started.wait, 30)

            async def one() -> None:
                await engine.submit(kernels.spin, 1000)

            async with trio.open_nursery() as nursery:
                for _ in range(20):
                    nursery.start_soon(one)
                await trio.testing.wait_all_tasks_blocked()  # each has submitted and awaits
                assert engine.stats().queue_size == 21
                nursery.cancel_scope.cancel()
            gate.release.set()
        return engine.stats()

    s = trio.run(main)
    assert s.kernels["spin"].cancelled == 20 and s.kernels["spin"].completed == 0, s.kernels["spin"]


def test_close_with_timeout_on_trio_does_not_block_the_run() -> None:
    """aclose(timeout=) with a 1 s job running returns in time; a trio task ticking every
    10 ms meanwhile never sees a gap of the job's length."""

    def job() -> str:
        time.sleep(1.0)
        return "done"

    async def main() -> tuple[float, float, int]:
        engine = aioultra.Engine(workers_per_numa_node=1, topology="0", spin_us=0)
        await engine.start()
        fut = engine.submit(job)
        await trio.sleep(0.05)  # it runs
        async with Ticker() as ticker:  # test_closing's 10 ms ticker, here on a plain trio.run
            t0 = time.monotonic()
            await engine.aclose(timeout=0.1)
            took = time.monotonic() - t0
        with pytest.raises(aioultra.EngineClosed):
            await fut  # this loop's pending futures fail; the job finishes in the background
        assert engine._stopper is not None
        await trio.to_thread.run_sync(engine._stopper.thread.join, 30)
        return took, ticker.max_gap, ticker.ticks

    took, gap, ticks = trio.run(main)
    assert took < 0.5, took  # returned long before the job's end
    assert ticks > 0 and gap < 0.5, (gap, ticks)


def test_an_engine_outlives_a_trio_run() -> None:
    """An engine started on an asyncio loop serves trio runs on other threads; each run's
    channel is freed after the run ends (its loop reads as closed) and the engine keeps serving."""
    results: list[Any] = []
    errors: list[BaseException] = []

    async def home() -> None:
        async with aioultra.Engine(spin_us=0) as engine:

            async def trio_side() -> list[int]:
                return [await engine.submit(square, i) for i in range(20)] + await engine.map(square, [5, 6])

            def run_trio() -> None:
                try:
                    results.append(trio.run(trio_side))
                except BaseException as exc:
                    errors.append(exc)

            for _ in range(3):
                thread = threading.Thread(target=run_trio)
                thread.start()
                await asyncio.to_thread(thread.join, 30)
            assert await engine.submit(square, 9) == 81
            engine._reap_closed_loops()
            assert len(engine._channels) == 1  # only this loop's: the trio runs' channels were freed
            assert not engine._dead_channels

    asyncio.run(home())
    assert not errors, errors
    assert results == [[i * i for i in range(20)] + [25, 36]] * 3


def test_a_failing_callback_is_reported_not_fatal() -> None:
    """A done-callback that raises on a TrioLoop is reported (as an asyncio loop reports it) and
    the run goes on."""

    async def main() -> list[Any]:
        async with aioultra.Engine(spin_us=0) as engine:
            with reported_errors() as errors:
                fut = engine.submit(square, 2)
                fut.add_done_callback(lambda _f: 1 / 0)
                assert await fut == 4
                await trio.sleep(0.01)  # the callbacks have run
            assert await engine.submit(square, 3) == 9
        return errors

    errors = trio.run(main)
    assert len(errors) == 1 and isinstance(errors[0]["exception"], ZeroDivisionError)


def test_the_trio_loop_logs_a_failing_callback() -> None:
    async def main() -> None:
        loop = _trio.current_loop()
        assert loop is not None and loop is _trio.current_loop()  # one per run
        loop.call_soon(lambda: 1 / 0)
        await trio.sleep(0.01)

    with structlog.testing.capture_logs() as logs:
        trio.run(main)
    assert [e["event"] for e in logs] == ["trio.callback_failed"]


def test_outside_any_loop_the_error_names_the_supported_loops() -> None:
    engine = aioultra.Engine()
    start = engine.start()
    with pytest.raises(RuntimeError, match="asyncio, uvloop or trio"):
        start.send(None)
    start.close()


def raise_keyboard_interrupt() -> None:
    raise KeyboardInterrupt("from a task")


def test_keyboard_interrupt_from_a_task_reaches_the_trio_awaiter() -> None:
    """A task raising KeyboardInterrupt on a worker: the trio task awaiting it gets that
    KeyboardInterrupt (not the run), and the engine keeps serving."""

    async def main() -> tuple[BaseException | None, int]:
        async with aioultra.Engine(spin_us=0) as engine:
            caught: BaseException | None = None
            try:
                await engine.submit(raise_keyboard_interrupt)
            except KeyboardInterrupt as exc:
                caught = exc
            return caught, await engine.submit(square, 6)

    caught, after = trio.run(main)
    assert isinstance(caught, KeyboardInterrupt) and "from a task" in str(caught)
    assert after == 36


def test_a_cancelled_map_leaves_no_unretrieved_error() -> None:
    """A cancel scope around ``map``: its chunks are cancelled and nothing is reported later
    (the gathering future's exception is retrieved though its awaiter has left)."""

    def slow(x: int) -> int:
        time.sleep(0.002)
        return x

    async def main() -> list[Any]:
        async with aioultra.Engine(spin_us=0) as engine:
            with reported_errors() as errors:
                for _ in range(3):
                    with trio.move_on_after(0.005):
                        await engine.map(slow, range(64))
                assert await engine.map(slow, range(4)) == [0, 1, 2, 3]  # serving
                gc.collect()  # an unretrieved exception is reported when its future is collected
                await trio.sleep(0.01)
        return errors

    with structlog.testing.capture_logs() as logs:
        errors = trio.run(main)
    assert errors == [] and [e for e in logs if e["log_level"] == "error"] == []


def test_a_removed_reader_never_runs_its_callback() -> None:
    """remove_reader while trio has already queued the reader's wake-up (the fd was readable):
    as on asyncio, the callback does not run after its removal (the fd may be closed by then)."""
    late: list[int] = []

    async def main() -> int:
        loop = _trio.current_loop()
        assert loop is not None
        ran = 0
        for trial in range(50):
            fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            removed = [False]

            def readable(fd: int = fd, trial: int = trial, removed: list[bool] = removed) -> None:
                nonlocal ran
                ran += 1
                if removed[0]:
                    late.append(trial)
                os.eventfd_read(fd)

            loop.add_reader(fd, readable)
            await trio.testing.wait_all_tasks_blocked()  # the reader waits on the fd
            os.eventfd_write(fd, 1)
            await trio.sleep(0)  # one scheduling pass: the poller sees the fd, the reader is woken
            removed[0] = True
            loop.remove_reader(fd)
            os.close(fd)
            await trio.sleep(0)  # the woken reader (if it had not run yet) runs now
        return ran

    ran = trio.run(main)
    assert late == [], f"callbacks after remove_reader in trials {late} (of 50; {ran} ran in time)"


def test_a_late_cancel_does_not_lose_a_done_result() -> None:
    """The future completes, its wake-up is queued, then the awaiting task's scope is cancelled:
    the task gets the result (trio's rule for an operation that has completed)."""

    async def main() -> tuple[Any, bool]:
        loop = _trio.current_loop()
        assert loop is not None
        fut = loop.create_future()
        got: list[Any] = []
        async with trio.open_nursery() as nursery:
            scope = trio.CancelScope()

            async def waiter() -> None:
                with scope:
                    got.append(await fut)

            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            fut.set_result(7)  # its done-callback (the wake-up) is queued
            scope.cancel()  # before the wake-up ran
        return got, scope.cancelled_caught

    got, caught = trio.run(main)
    assert got == [7] and not caught
