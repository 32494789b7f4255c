"""Helpers shared by the tests. The async ones work on every backend the suite runs (asyncio,
uvloop, trio): they are written with anyio."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from typing import Any

import anyio


@contextlib.contextmanager
def loop_thread_on(cpu: int) -> Iterator[None]:
    """Pin the calling (event-loop) thread to one CPU, so 'the submitter's CPU' (and its node)
    is known; the previous affinity is restored on exit."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {cpu})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


async def wait_for(awaitable: Any, timeout: float = 30.0) -> Any:
    """Await with a timeout so a lost completion fails the test instead of hanging it (the
    awaited future is cancelled then, as with ``asyncio.wait_for``)."""
    with anyio.fail_after(timeout):
        return await awaitable


async def gather(*awaitables: Awaitable[Any], return_exceptions: bool = False) -> list[Any]:
    """``asyncio.gather`` on any backend: every result in order. Futures (already running) are
    awaited in turn; coroutines run concurrently in a task group. With ``return_exceptions`` an
    exception is its item's result, else the first one (in order) is raised."""
    results: list[Any] = [None] * len(awaitables)

    async def one(i: int, aw: Awaitable[Any]) -> None:
        try:
            results[i] = await aw
        except Exception as exc:
            if not return_exceptions:
                raise
            results[i] = exc
        except asyncio.CancelledError as exc:  # a cancelled future's result, not our own cancellation
            if not (return_exceptions and asyncio.isfuture(aw) and aw.cancelled()):
                raise
            results[i] = exc

    if all(asyncio.isfuture(aw) for aw in awaitables):
        for i, aw in enumerate(awaitables):
            await one(i, aw)
        return results
    errors: list[BaseException] = []

    async def guarded(i: int, aw: Awaitable[Any]) -> None:
        try:
            await one(i, aw)
        except Exception as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        for i, aw in enumerate(awaitables):
            tg.start_soon(guarded, i, aw)
    if errors:
        raise errors[0]
    return results


async def to_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """Run a blocking call on a thread without blocking the loop (any backend)."""
    return await anyio.to_thread.run_sync(fn, *args)


def cancelled_error() -> type[BaseException]:
    """The exception a cancelled task sees on this backend (CancelledError, trio.Cancelled)."""
    return anyio.get_cancelled_exc_class()


class Gate:
    """A Python task that blocks its worker until released; ``started`` tells when it runs.
    Returns "gate"."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self) -> str:
        self.started.set()
        assert self.release.wait(30), "gate never released"
        return "gate"

    async def wait_started(self) -> None:
        """Wait (without blocking the loop) until a worker runs the gate."""
        assert await to_thread(self.started.wait, 30), "gate never started"


def start_loop_thread(body: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30.0) -> threading.Thread:
    """Run ``body()`` on a new event loop in a new thread (``asyncio.run``: the loop closes when
    it returns, with a timeout so a hang fails the test); the thread is started."""
    thread = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(body(), timeout)))
    thread.start()
    return thread


class Spawned:
    """A coroutine running as a task of a :func:`spawner` group: await it for its result (or its
    exception); ``cancel()`` cancels it (its awaiter then gets ``asyncio.CancelledError``, on
    every backend, as an asyncio task's awaiter does)."""

    def __init__(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._coro = coro
        self._done = anyio.Event()
        self._scope = anyio.CancelScope()
        self._result: Any = None
        self._error: BaseException | None = None

    async def _run(self) -> None:
        try:
            with self._scope:
                self._result = await self._coro
                return
            self._error = asyncio.CancelledError()  # cancelled through cancel(): as an asyncio task's awaiter sees it
        except BaseException as exc:  # the awaiter gets it (a cancellation of the group too)
            self._error = exc
            if isinstance(exc, cancelled_error()):
                raise
        finally:
            self._done.set()

    def cancel(self) -> None:
        """Cancel the task."""
        self._scope.cancel()

    def done(self) -> bool:
        """True once the coroutine has returned or raised."""
        return self._done.is_set()

    async def _wait(self) -> Any:
        await self._done.wait()
        if self._error is not None:
            raise self._error
        return self._result

    def __await__(self) -> Any:
        return self._wait().__await__()


@contextlib.asynccontextmanager
async def spawner() -> Any:
    """``async with spawner() as spawn: task = spawn(coro)``: run coroutines concurrently on any
    backend (a task group; leaving the block waits for every task)."""
    async with anyio.create_task_group() as tg:

        def spawn(coro: Coroutine[Any, Any, Any]) -> Spawned:
            task = Spawned(coro)
            tg.start_soon(task._run)
            return task

        yield spawn


@contextlib.contextmanager
def reported_errors(loop: asyncio.AbstractEventLoop | None = None) -> Iterator[list[Any]]:
    """Collect what ``loop`` (default: the running one) reports through its exception handler
    (on trio: what the engine's TrioLoop reports) while the block runs."""
    from aioultra import _loops

    loop = loop or _loops.running_loop()
    errors: list[Any] = []
    if isinstance(loop, _loops.ForeignLoop):
        loop.call_exception_handler = errors.append  # type: ignore[method-assign]
        try:
            yield errors
        finally:
            del loop.call_exception_handler
        return
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    try:
        yield errors
    finally:
        loop.set_exception_handler(None)


async def wait_first(futures: list[Any]) -> None:
    """Wait until at least one of ``futures`` is done (``asyncio.wait(..., FIRST_COMPLETED)`` on
    any backend); nothing is cancelled."""
    if any(f.done() for f in futures):
        return
    event = anyio.Event()

    def fired(_fut: Any) -> None:
        event.set()

    for f in futures:
        f.add_done_callback(fired)
    try:
        await event.wait()
    finally:
        for f in futures:
            f.remove_done_callback(fired)


async def until(predicate: Callable[[], bool], timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``predicate`` every millisecond while letting the loop run (completions and the
    engine's eventfd handlers run meanwhile); fails after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.001)
