"""Lifecycle: open/close cycles leave no fd or thread behind; atexit stops live engines;
fork() closes the engine in the child; aclose drains or cancels."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from typing import Any

import anyio
import pytest

import aioultra
from aioultra import kernels

from .helpers import Gate, gather, spawner, to_thread, until, wait_for

CYCLES = int(os.environ.get("AIOULTRA_LIFECYCLE_CYCLES", "1000"))


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _engine_threads(worker_tids: set[int]) -> set[str]:
    """The engine threads still alive: workers (by kernel thread id) and stop threads."""
    alive = {int(t) for t in os.listdir("/proc/self/task")}
    return {f"worker {tid}" for tid in worker_tids & alive} | {
        t.name for t in threading.enumerate() if t.name == "aioultra-stop"
    }


async def test_open_close_cycles_leave_nothing() -> None:
    """No fd and no engine thread (its workers, its stop thread) is left after each close.
    Threads are checked by identity, not counted: other libraries' threads (Ray's, trio's
    thread cache, which anyio's trio runner uses for its guest-mode I/O waits) come and go."""
    async with aioultra.Engine(spin_us=0) as warm:  # import-time and first-use allocations
        await wait_for(warm.submit(kernels.noop))
    fds = _fds()
    for i in range(CYCLES):
        async with aioultra.Engine(spin_us=0, queue_capacity=64) as engine:
            tids = {w.tid for w in engine.stats().workers}
            if i % 10 == 0:
                assert await wait_for(engine.submit(lambda: 1)) == 1
                assert await wait_for(engine.submit(kernels.noop)) == b""
        # joined by aclose (a joined thread's /proc entry may lag its exit a little)
        await until(lambda t=tids: not _engine_threads(t), timeout=5, what="the engine's threads to exit")
    assert _fds() == fds


async def test_aclose_drains_queued_work() -> None:
    engine = aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0)
    await engine.start()
    futures = [asyncio.ensure_future(engine.submit(kernels.spin, 100_000)) for _ in range(50)]
    await anyio.sleep(0)
    await wait_for(engine.aclose())
    assert all(f.done() and f.result() == b"" for f in futures)
    assert not engine.running


async def test_aclose_cancel_pending() -> None:
    engine = aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0)
    await engine.start()
    gate = Gate()
    first = asyncio.ensure_future(engine.submit(gate))
    await gate.wait_started()
    queued = [asyncio.ensure_future(engine.submit(kernels.spin, 1_000_000)) for _ in range(100)]
    await anyio.sleep(0)
    async with spawner() as spawn:
        closing = spawn(engine.aclose(cancel_pending=True))
        await until(lambda: not engine.running, what="aclose to start")  # it has cancelled the queue
        gate.release.set()
        await wait_for(closing)
    assert await wait_for(first) == "gate"  # already running: it finished
    results = await gather(*queued, return_exceptions=True)
    assert all(isinstance(r, aioultra.EngineClosed) for r in results), results[:3]


def _run(code: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=timeout
    )


EXIT_SCRIPT = """
    import asyncio, os, sys, time
    import aioultra
    from aioultra import kernels

    def slow(x):
        time.sleep(0.0005)
        return x

    async def main():
        engine = aioultra.Engine(spin_us=5)
        await engine.start()
        for i in range(300):
            asyncio.ensure_future(engine.submit(slow, i))
            asyncio.ensure_future(engine.submit(kernels.spin, 20_000))
        await asyncio.sleep(0.002)
        sys.exit(0)   # leave with tasks in flight and the engine open

    asyncio.run(main())
"""


def test_interpreter_exit_with_tasks_in_flight() -> None:
    runs = int(os.environ.get("AIOULTRA_EXIT_RUNS", "20"))
    for i in range(runs):
        proc = _run(EXIT_SCRIPT)
        assert proc.returncode == 0, f"run {i}: rc={proc.returncode}\n{proc.stderr[-2000:]}"


FORK_SCRIPT = """
    import asyncio, os, signal, sys
    import aioultra
    from aioultra import kernels

    signal.alarm(60)

    async def main():
        async with aioultra.Engine(spin_us=5) as engine:
            for round in range(ROUNDS):
                assert await engine.submit(kernels.noop) == b""
                pid = os.fork()
                if pid == 0:
                    asyncio.events._set_running_loop(None)
                    async def child():
                        try:
                            await engine.submit(kernels.noop)
                        except aioultra.EngineClosed as exc:
                            assert "fork" in str(exc), exc
                            try:
                                engine.stats()
                            except aioultra.EngineClosed:
                                return 0
                            return 4
                        return 3
                    os._exit(asyncio.new_event_loop().run_until_complete(child()))
                _, status = os.waitpid(pid, 0)
                assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status
                assert await engine.submit(lambda: round) == round  # the parent keeps working
        print("forks ok")

    asyncio.run(main())
"""


def test_fork_child_gets_engine_closed() -> None:
    proc = _run(FORK_SCRIPT.replace("ROUNDS", "20"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "forks ok" in proc.stdout


async def test_multiple_loops_share_one_engine(engine: aioultra.Engine) -> None:
    per_thread = 2000
    results: dict[int, list[int]] = {}
    errors: list[BaseException] = []

    def run_loop(index: int) -> None:
        import uvloop

        async def body() -> list[int]:
            loop = asyncio.get_running_loop()

            def tag(i: int) -> int:
                return index * 1_000_000 + i

            out = await gather(*(engine.submit(tag, i) for i in range(per_thread)))
            digests = await engine.map(kernels.keccak256, [bytes([index])] * 100)
            assert len(set(digests)) == 1
            assert asyncio.get_running_loop() is loop
            return list(out)

        factory = uvloop.new_event_loop if index % 2 else asyncio.new_event_loop
        loop = factory()
        try:
            results[index] = loop.run_until_complete(wait_for(body(), 60))
        except BaseException as exc:
            errors.append(exc)
        finally:
            loop.close()

    threads = [threading.Thread(target=run_loop, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    await to_thread(lambda: [t.join(90) for t in threads])
    assert not errors, errors
    for index in range(4):
        assert results[index] == [index * 1_000_000 + i for i in range(per_thread)]
    # this loop's channel still works, and nothing is left in flight
    assert await wait_for(engine.submit(kernels.noop)) == b""
    assert engine.stats().queue_size == 0


@pytest.mark.parametrize("capacity", [2, 64])
async def test_small_capacities_work(capacity: int) -> None:
    async with aioultra.Engine(queue_capacity=capacity, spin_us=0) as engine:
        for _ in range(20):
            assert await wait_for(engine.submit(kernels.noop)) == b""
        assert len(await wait_for(engine.map(kernels.noop, [b""] * 100))) == 100


async def test_aclose_interrupted_fails_awaiters_instead_of_hanging() -> None:
    engine = aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, spin_us=0)
    await engine.start()
    gate = Gate()
    first = asyncio.ensure_future(engine.submit(gate))
    await gate.wait_started()
    queued = [asyncio.ensure_future(engine.submit(kernels.spin, 1_000_000)) for _ in range(50)]
    await anyio.sleep(0)
    async with spawner() as spawn:
        closing = spawn(engine.aclose())
        await until(lambda: not engine.running, what="aclose to start")
        closing.cancel()  # e.g. a timeout around aclose(): the engine still shuts down
        gate.release.set()
        with pytest.raises(asyncio.CancelledError):
            await closing
    assert not engine.running
    assert await wait_for(first) == "gate"
    results = await wait_for(gather(*queued, return_exceptions=True))
    assert all(isinstance(r, aioultra.EngineClosed) or r == b"" for r in results), results
    assert any(isinstance(r, aioultra.EngineClosed) for r in results)


async def test_slots_of_a_closed_loop_are_reclaimed() -> None:
    async with aioultra.Engine(workers_per_numa_node=1, numa_enabled=False, queue_capacity=8, spin_us=0) as engine:
        started = threading.Event()
        release = threading.Event()

        def gate() -> int:
            started.set()
            release.wait(30)
            return 1

        def other_thread() -> None:
            loop = asyncio.new_event_loop()

            abandoned: list[asyncio.Future[int]] = []

            async def submit_and_leave() -> None:
                abandoned.extend(asyncio.ensure_future(engine.submit(gate)) for _ in range(4))
                await anyio.sleep(0)

            loop.run_until_complete(submit_and_leave())
            loop.close()  # leaves with 4 tasks in flight whose completions nobody will drain

        thread = threading.Thread(target=other_thread)
        thread.start()
        await to_thread(thread.join, 30)
        assert await to_thread(started.wait, 30)
        assert engine.stats().queue_size == 4
        release.set()
        # one worker, FIFO: once this completes, the 4 gates have completed into the dead channel
        assert await wait_for(engine.submit(kernels.noop)) == b""
        assert engine.stats().queue_size == 4  # nobody drained them
        # all 8 slots become usable again: the QueueFull path reclaims the closed loop's records
        results = await wait_for(gather(*(engine.submit(kernels.spin, 1000) for _ in range(8))))
        assert results == [b""] * 8
        assert engine.stats().queue_size == 0


class _CountingLoop(asyncio.SelectorEventLoop):
    """An asyncio loop that counts call_soon_threadsafe calls made from other threads (each one
    writes its self-pipe, which races the loop closing that pipe)."""

    foreign_calls = 0

    def call_soon_threadsafe(self, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != self._owner:
            type(self).foreign_calls += 1
        return super().call_soon_threadsafe(*args, **kwargs)


def _other_loop(
    factory: Callable[[], asyncio.AbstractEventLoop], body: Callable[[], Any]
) -> tuple[threading.Thread, dict[str, Any]]:
    out: dict[str, Any] = {}

    def run() -> None:
        loop = factory()
        if isinstance(loop, _CountingLoop):
            loop._owner = threading.get_ident()
        try:
            out["result"] = loop.run_until_complete(wait_for(body(), 60))
        except BaseException as exc:
            out["error"] = exc
        finally:
            out.setdefault("loop", loop)
            if not out.get("keep_open"):
                loop.close()

    return threading.Thread(target=run, daemon=True), out


async def test_close_reaches_other_loops_through_their_eventfd() -> None:
    """Closing the engine on this loop closes another loop's channel on that loop's thread
    (its awaiter gets EngineClosed) without call_soon_threadsafe, whose self-pipe write races
    that loop closing (TSan caught it in tests/engine_stress.py)."""
    engine = aioultra.Engine(queue_capacity=64)
    await engine.start()
    gate = Gate()
    queued = threading.Event()

    async def body() -> BaseException | None:
        running = asyncio.ensure_future(engine.submit(gate))
        waiting = asyncio.ensure_future(engine.submit(kernels.noop))
        await anyio.sleep(0)
        queued.set()
        try:
            await waiting
        except aioultra.EngineClosed as exc:
            await gather(running, return_exceptions=True)
            return exc
        return None

    _CountingLoop.foreign_calls = 0
    thread, out = _other_loop(_CountingLoop, body)
    thread.start()
    assert await to_thread(queued.wait, 30)
    await gate.wait_started()
    async with spawner() as spawn:
        closing = spawn(engine.aclose(cancel_pending=True))
        gate.release.set()
        await wait_for(closing)
    await to_thread(thread.join, 30)
    assert "error" not in out, out.get("error")
    assert isinstance(out["result"], aioultra.EngineClosed) or out["result"] is None
    assert _CountingLoop.foreign_calls == 0
    assert engine._ptr is None  # the core was freed once the other loop closed its channel


async def test_core_freed_when_another_loop_closes_before_its_channel() -> None:
    """A loop that stopped (and then closed) without handling its close request: the closing
    loop reaps its channel and frees the core."""
    engine = aioultra.Engine(queue_capacity=64)
    await engine.start()

    async def body() -> bytes:
        return await engine.submit(kernels.noop)  # opens this loop's channel

    thread, out = _other_loop(asyncio.new_event_loop, body)
    out["keep_open"] = True
    thread.start()
    await to_thread(thread.join, 30)
    assert out["result"] == b""
    await engine.aclose()  # the other loop is stopped: nothing runs its close request
    assert engine._ptr is not None
    out["loop"].close()
    # the closing loop's reaper frees it (a timer of that loop)
    await until(lambda: engine._ptr is None, what="the core freed")
