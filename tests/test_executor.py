"""aioultra.Executor: a concurrent.futures executor on the engine, from synchronous code, from
other threads, and as an event loop's default executor (asyncio.to_thread, run_in_executor)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading

import pytest

import aioultra
from aioultra.executor import Executor

from .helpers import Gate, gather, wait_for

TIMEOUT = 30


def worker_tids(ex: Executor) -> set[int]:
    return {w.tid for w in ex.engine.stats().workers}


def test_submit_and_map_from_sync_code() -> None:
    with Executor(max_workers=2) as ex:
        assert ex.submit(pow, 2, 10).result(TIMEOUT) == 1024
        assert ex.submit(dict, a=1).result(TIMEOUT) == {"a": 1}  # keywords reach the call
        assert list(ex.map(abs, [-1, -2, 3], timeout=TIMEOUT)) == [1, 2, 3]
        assert list(ex.map(pow, [2, 3], [3, 2], chunksize=4)) == [8, 9]
        assert ex.submit(threading.get_native_id).result(TIMEOUT) in worker_tids(ex)  # on a worker
        assert len(ex.engine.stats().workers) == 2


def test_exceptions_reach_the_caller() -> None:
    error = ValueError("boom")

    def fail() -> None:
        raise error

    with Executor(max_workers=1) as ex:
        f = ex.submit(fail)
        with pytest.raises(ValueError) as info:
            f.result(TIMEOUT)
        assert info.value is error
        assert f.exception() is error


def test_map_timeout() -> None:
    gate = Gate()
    with Executor(max_workers=1) as ex:
        results = ex.map(lambda _: gate(), [1], timeout=0.2)
        with pytest.raises(TimeoutError):
            list(results)
        gate.release.set()


def test_many_threads_submit_at_once() -> None:
    with Executor(max_workers=2) as ex:
        out: list[list[int]] = []

        def client(k: int) -> None:
            futures = [ex.submit(lambda i=i: i * k) for i in range(300)]
            out.append([f.result(TIMEOUT) for f in futures])

        threads = [threading.Thread(target=client, args=(k,)) for k in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(TIMEOUT)
        assert sorted(sum(r) for r in out) == sorted(sum(i * k for i in range(300)) for k in range(8))


def test_cancel_before_it_starts() -> None:
    gate = Gate()
    ran: list[int] = []
    with Executor(max_workers=1) as ex:
        blocker = ex.submit(gate)
        assert gate.started.wait(TIMEOUT)
        queued = ex.submit(ran.append, 1)
        assert queued.cancel() and queued.cancelled()
        assert not blocker.cancel()  # running
        gate.release.set()
        assert blocker.result(TIMEOUT) == "gate"
        assert ex.submit(ran.append, 2).result(TIMEOUT) is None
    assert ran == [2]


def test_shutdown_cancel_futures_and_after() -> None:
    gate = Gate()
    ex = Executor(max_workers=1)
    blocker = ex.submit(gate)
    assert gate.started.wait(TIMEOUT)
    queued = [ex.submit(int) for _ in range(5)]
    ex.shutdown(wait=False, cancel_futures=True)  # the cancels happen in the call
    assert all(f.cancelled() for f in queued)
    gate.release.set()
    ex.shutdown(wait=True)
    assert blocker.result(TIMEOUT) == "gate"
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(int)
    assert not ex.engine.running
    ex.shutdown()  # again: nothing to do


def test_shutdown_without_waiting_finishes() -> None:
    ex = Executor(max_workers=1)
    futures = [ex.submit(sum, [i, 1]) for i in range(50)]
    ex.shutdown(wait=False)
    assert [f.result(TIMEOUT) for f in futures] == [i + 1 for i in range(50)]
    ex._thread.join(TIMEOUT)
    assert not ex._thread.is_alive() and not ex.engine.running


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        Executor(max_workers=0)
    with pytest.raises(TypeError, match="max_workers"):
        Executor(max_workers="2")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="initializer"):
        Executor(initializer=print)
    with pytest.raises(ValueError, match="queue_capacity"):
        Executor(queue_capacity=3)  # the engine's own validation
    with Executor(max_workers=1) as ex:
        with pytest.raises(TypeError, match="not callable"):
            ex.submit(42)  # type: ignore[arg-type]
        assert ex.submit(int, "7").result(TIMEOUT) == 7  # it keeps serving


@pytest.mark.asyncio_only("an asyncio loop's default executor")
async def test_default_executor_of_the_loop() -> None:
    """asyncio.to_thread and run_in_executor(None, ...) run on the engine's workers."""
    loop = asyncio.get_running_loop()
    ex = Executor(max_workers=2)
    try:
        loop.set_default_executor(ex)  # asyncio accepts only ThreadPoolExecutor: it is one
        tid = await wait_for(asyncio.to_thread(threading.get_native_id), TIMEOUT)
        assert tid in worker_tids(ex)
        assert await wait_for(loop.run_in_executor(None, sum, [1, 2, 3]), TIMEOUT) == 6
        results = await wait_for(gather(*(asyncio.to_thread(pow, i, 2) for i in range(100))), TIMEOUT)
        assert results == [i * i for i in range(100)]
    finally:
        await wait_for(loop.shutdown_default_executor(), TIMEOUT)  # as asyncio.run does
    assert not ex.engine.running


@pytest.mark.asyncio_only("asyncio.wrap_future")
async def test_awaiting_executor_futures(engine: aioultra.Engine) -> None:
    """Its futures wrap into the running loop (next to an engine used directly)."""
    with Executor(max_workers=1) as ex:
        fut = asyncio.wrap_future(ex.submit(pow, 3, 3))
        assert await wait_for(fut, TIMEOUT) == 27
        done, _ = concurrent.futures.wait([ex.submit(int, "1") for _ in range(10)], timeout=TIMEOUT)
        assert len(done) == 10
    assert await wait_for(engine.submit(pow, 2, 2), TIMEOUT) == 4


def test_a_call_the_engine_never_ran_fails() -> None:
    """The engine closed with cancel_pending while a call waited: its future fails with
    EngineClosed instead of staying pending forever."""
    gate = Gate()
    ex = Executor(max_workers=1)
    blocker = ex.submit(gate)
    assert gate.started.wait(TIMEOUT)
    queued = ex.submit(int, "5")
    assert asyncio.run_coroutine_threadsafe(asyncio.sleep(0), ex._loop).result(TIMEOUT) is None  # queued now

    async def close_then_release() -> None:
        closing = asyncio.ensure_future(ex.engine.aclose(cancel_pending=True))
        await asyncio.sleep(0)  # aclose has marked the queued call cancelled
        gate.release.set()
        await closing

    asyncio.run_coroutine_threadsafe(close_then_release(), ex._loop).result(TIMEOUT)
    assert blocker.result(TIMEOUT) == "gate"
    with pytest.raises(aioultra.EngineClosed):
        queued.result(TIMEOUT)
    ex.shutdown()
