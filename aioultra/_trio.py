"""trio support: the engine's event-loop interface over a trio run.

Under ``trio.run`` (or ``anyio.run(..., backend="trio")``) each run gets one :class:`TrioLoop`
(kept in a ``RunVar``), which implements the part of asyncio's loop interface the engine uses:

- ``add_reader``: a system task waiting on the fd with trio's own ``wait_readable`` (the
  channel's eventfd, the closing wake-up), running the callback each time it is readable;
- ``call_soon``: a ready queue run by one ``run_sync_soon`` per batch (not a syscall per
  callback); ``call_soon_threadsafe``: ``run_sync_soon`` from any thread; ``call_later``: a
  system task sleeping; ``time``: trio's clock;
- ``is_closed``: true once the run ends (its system tasks are cancelled then) and its readers
  have left their waits (then another thread may close their fds).

Futures stay asyncio futures bound to this loop (the bridge resolves them exactly as on
asyncio). Awaiting one parks the trio task until the future is done; a cancel scope that
fires meanwhile cancels the future, and so the native task behind a :class:`TrioTaskFuture`.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable, Generator, Sequence
from typing import Any, Generic, TypeVar

import structlog
import trio

from ._bridge import TaskFuture
from ._loops import ForeignLoop

log = structlog.get_logger("aioultra")

T = TypeVar("T")

_LOOP: trio.lowlevel.RunVar[TrioLoop] = trio.lowlevel.RunVar("aioultra_loop")


def current_loop() -> TrioLoop | None:
    """This trio run's loop (made on first use), or None outside a trio run."""
    try:
        return _LOOP.get()
    except LookupError:
        # (asyncio's loop interface has more abstract methods, for signals, sockets and
        # subprocesses: the engine uses none of them and they raise NotImplementedError)
        loop = TrioLoop()  # type: ignore[abstract]
        _LOOP.set(loop)
        return loop
    except RuntimeError:  # not in a trio run
        return None


def _await_done(fut: asyncio.Future[Any], cancel: bool) -> Generator[Any, None, None]:
    """Park the current trio task until ``fut`` is done. A trio cancellation meanwhile cancels
    ``fut`` (when ``cancel``) and raises ``trio.Cancelled``."""
    if fut.done():
        return
    task = trio.lowlevel.current_task()
    parked = True

    def wake(_fut: asyncio.Future[Any]) -> None:
        if parked:  # not aborted meanwhile (this callback may already have been queued)
            trio.lowlevel.reschedule(task)

    def abort(_raise_cancel: Any) -> trio.lowlevel.Abort:
        nonlocal parked
        if fut.done():  # its wake-up is queued: the task gets the result (trio's rule for a done operation)
            return trio.lowlevel.Abort.FAILED
        parked = False
        fut.remove_done_callback(wake)
        if cancel:
            fut.cancel()
        return trio.lowlevel.Abort.SUCCEEDED

    fut.add_done_callback(wake)
    yield from trio.lowlevel.wait_task_rescheduled(abort).__await__()


def _await_result(fut: asyncio.Future[T]) -> Generator[Any, None, T]:
    yield from _await_done(fut, True)
    try:
        return fut.result()
    finally:
        del fut  # a raised exception's traceback holds this frame: no cycle through the future


async def _result(fut: asyncio.Future[T]) -> T:
    return await _Awaiting(fut)


class _Awaiting(Generic[T]):
    """Makes any asyncio future on a TrioLoop awaitable from a trio task."""

    __slots__ = ("fut",)

    def __init__(self, fut: asyncio.Future[T]) -> None:
        self.fut = fut

    def __await__(self) -> Generator[Any, None, T]:
        return _await_result(self.fut)


class _AwaitingDone:
    """Awaits until a future is done without cancelling it on a trio cancellation."""

    __slots__ = ("fut",)

    def __init__(self, fut: asyncio.Future[Any]) -> None:
        self.fut = fut

    def __await__(self) -> Generator[Any, None, None]:
        return _await_done(self.fut, False)


class TrioFuture(asyncio.Future[T]):
    """An asyncio future on a :class:`TrioLoop`, awaitable from trio tasks."""

    def __await__(self) -> Generator[Any, None, T]:
        return _await_result(self)

    __iter__ = __await__


class TrioTaskFuture(TaskFuture[T]):
    """A :class:`aioultra.TaskFuture` under trio: awaiting it parks the trio task; a cancel
    scope that fires meanwhile cancels the native task."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, T]:
        return _await_result(self)

    __iter__ = __await__


class _Later:
    """The handle of a ``call_later``: ``cancel()`` it."""

    __slots__ = ("scope",)

    def __init__(self) -> None:
        self.scope = trio.CancelScope()

    def cancel(self) -> None:
        self.scope.cancel()


class TrioLoop(ForeignLoop):
    """The engine's view of one trio run (see the module docstring). Methods other than
    ``call_soon_threadsafe`` are called on the run's thread."""

    task_future = TrioTaskFuture

    def __init__(self) -> None:
        self._token = trio.lowlevel.current_trio_token()
        self._ready: collections.deque[tuple[Callable[..., Any], tuple[Any, ...], contextvars.Context | None]]
        self._ready = collections.deque()
        self._scheduled = False  # a run_sync_soon of _run_ready is on its way
        self._in_reader = False  # a reader callback runs: the reader runs the ready queue after it
        self._ended = False  # the run is ending: its system tasks have been cancelled
        self._reading = 0  # reader tasks not yet left: until then another thread must not close their fds
        self._readers: dict[int, trio.CancelScope] = {}
        trio.lowlevel.spawn_system_task(self._watch_run_end, name="aioultra.run_end")

    async def _watch_run_end(self) -> None:
        try:
            await trio.sleep_forever()
        finally:  # the run's system tasks are cancelled when its main task returns
            self._ended = True

    # --- asyncio's loop interface -------------------------------------------------------

    def is_closed(self) -> bool:
        # once closed, another thread may destroy this run's channels (closing their eventfds):
        # only after every reader has left its wait_readable
        return self._ended and self._reading == 0

    def is_running(self) -> bool:
        return not self._ended

    def get_debug(self) -> bool:
        return False

    def time(self) -> float:
        return trio.current_time()

    def create_future(self) -> TrioFuture[Any]:
        return TrioFuture(loop=self)

    def call_soon(  # type: ignore[override]
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> None:
        if self._ended:
            raise RuntimeError("the trio run of this loop has ended")
        self._ready.append((callback, args, context))
        if not self._scheduled and not self._in_reader:
            self._scheduled = True
            self._schedule(self._run_ready)

    def call_soon_threadsafe(  # type: ignore[override]
        self, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> None:
        self._schedule(self._run_one, callback, args, context)

    def call_later(  # type: ignore[override]
        self, delay: float, callback: Callable[..., Any], *args: Any, context: contextvars.Context | None = None
    ) -> _Later:
        handle = _Later()
        trio.lowlevel.spawn_system_task(self._later, handle, delay, callback, args, context, name="aioultra.later")
        return handle

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:  # type: ignore[override]
        if fd in self._readers:
            raise RuntimeError(f"fd {fd} already has a reader")
        scope = self._readers[fd] = trio.CancelScope()
        trio.lowlevel.spawn_system_task(self._read, fd, scope, callback, args, name="aioultra.reader")

    def remove_reader(self, fd: Any) -> bool:
        scope = self._readers.pop(fd, None)
        if scope is None:
            return False
        scope.cancel()  # a task waiting on fd is unregistered from the poller now: fd may be closed next
        return True

    def call_exception_handler(self, context: dict[str, Any]) -> None:
        log.error("trio.callback_failed", message=context.get("message"), exc_info=context.get("exception"))

    # --- the awaits asyncio's helpers do on asyncio loops -------------------------------

    async def wait_done(self, fut: asyncio.Future[Any], timeout: float) -> None:
        with trio.move_on_after(timeout):
            await _AwaitingDone(fut)

    async def wait_for(self, fut: asyncio.Future[T], timeout: float | None) -> T:
        if timeout is None:
            return await _result(fut)
        with trio.move_on_after(timeout):
            return await _result(fut)
        raise TimeoutError

    async def gather(self, futures: Sequence[asyncio.Future[T]]) -> list[T]:
        if not futures:
            return []
        outer = asyncio.gather(*futures)
        outer.add_done_callback(_retrieved)  # a cancelled awaiter has left: its failure is not "never retrieved"
        return await _result(outer)

    async def to_thread(self, fn: Callable[[], T]) -> T:
        return await trio.to_thread.run_sync(fn)

    # --- internals ----------------------------------------------------------------------

    def _schedule(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self._token.run_sync_soon(fn, *args)
        except trio.RunFinishedError:
            raise RuntimeError("the trio run of this loop has ended") from None

    def _run_ready(self) -> None:
        self._scheduled = False
        ready, self._ready = self._ready, collections.deque()
        for callback, args, context in ready:
            self._run_one(callback, args, context)

    def _run_one(
        self, callback: Callable[..., Any], args: tuple[Any, ...], context: contextvars.Context | None
    ) -> None:
        try:
            if context is None:
                callback(*args)
            else:
                context.run(callback, *args)
        except Exception as exc:  # as an asyncio loop does: report it, go on
            self.call_exception_handler({"message": f"callback {callback!r} failed", "exception": exc})

    async def _read(
        self, fd: int, scope: trio.CancelScope, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        self._reading += 1
        try:
            with scope:
                await self._read_until_removed(fd, scope, callback, args)
        finally:
            self._reading -= 1

    async def _read_until_removed(
        self, fd: int, scope: trio.CancelScope, callback: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        while not (scope.cancel_called or self._ended):
            await trio.lowlevel.wait_readable(fd)
            # woken by the poller but run after remove_reader (the fd may be closed now) or
            # after the run began to end: as on asyncio, a removed reader's callback never runs
            if scope.cancel_called or self._ended:
                return
            # the futures resolved by the callback wake their tasks here, without a
            # run_sync_soon (a write to trio's wake-up socket) per batch
            self._in_reader = True
            try:
                self._run_one(callback, args, None)
            finally:
                self._in_reader = False
            if self._ready and not self._scheduled:
                self._run_ready()

    async def _later(
        self,
        handle: _Later,
        delay: float,
        callback: Callable[..., Any],
        args: tuple[Any, ...],
        context: contextvars.Context | None,
    ) -> None:
        with handle.scope:
            await trio.sleep(delay)
            self._run_one(callback, args, context)


def _retrieved(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()
