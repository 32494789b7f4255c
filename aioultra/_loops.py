"""Which event loop the caller runs on, and the few awaits that differ between loops.

The engine speaks asyncio's event-loop interface (``add_reader``, ``call_soon``, futures bound
to a loop). On asyncio and uvloop that is the running loop itself. Under trio (``trio.run``,
or ``anyio.run(..., backend="trio")``) it is a :class:`ForeignLoop`: the same interface over
the trio run (``aioultra._trio``), which also provides the awaits that asyncio's own helpers
(``asyncio.wait``, ``wait_for``, ``gather``, ``to_thread``) cannot do outside an asyncio loop.
trio is imported only when a trio run is found (it must already be imported then).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ._bridge import TaskFuture

T = TypeVar("T")

_get_running_loop = asyncio._get_running_loop


class ForeignLoop(asyncio.AbstractEventLoop):
    """asyncio's loop interface (the part the engine uses) over another async library's run,
    with the awaits that differ. Subclassed by ``aioultra._trio.TrioLoop``."""

    task_future: type[TaskFuture[Any]]  # the TaskFuture subclass its tasks can await

    async def wait_done(self, fut: asyncio.Future[Any], timeout: float) -> None:
        """Wait until ``fut`` is done or ``timeout`` passed (``fut`` is not cancelled)."""
        raise NotImplementedError

    async def wait_for(self, fut: asyncio.Future[T], timeout: float | None) -> T:
        """``fut``'s result; on ``timeout``, cancel it and raise TimeoutError."""
        raise NotImplementedError

    async def gather(self, futures: Sequence[asyncio.Future[T]]) -> list[T]:
        """Every future's result in order (the first exception is raised)."""
        raise NotImplementedError

    async def to_thread(self, fn: Callable[[], T]) -> T:
        """Run ``fn`` on a thread and await its result."""
        raise NotImplementedError


_trio_loop: Callable[[], asyncio.AbstractEventLoop | None] | None = None  # _trio.current_loop, once trio is in use


def current_loop() -> asyncio.AbstractEventLoop | None:
    """The loop this thread runs: asyncio's (or uvloop's), the trio run's view, or None."""
    global _trio_loop
    loop = _get_running_loop()
    if loop is not None:
        return loop
    if _trio_loop is None:
        if "trio" not in sys.modules:
            return None
        from . import _trio

        _trio_loop = _trio.current_loop
    return _trio_loop()


def running_loop() -> asyncio.AbstractEventLoop:
    """:func:`current_loop`, or RuntimeError when this thread runs none."""
    loop = current_loop()
    if loop is None:
        raise RuntimeError(
            "aioultra needs a running event loop in this thread (asyncio, uvloop or trio): call it from "
            "a coroutine run by asyncio.run, uvloop, trio.run or anyio.run"
        )
    return loop


async def wait_done(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[Any], timeout: float) -> None:
    """Wait until ``fut`` is done or ``timeout`` seconds passed; ``fut`` is left as it is."""
    if isinstance(loop, ForeignLoop):
        await loop.wait_done(fut, timeout)
    else:
        await asyncio.wait({fut}, timeout=timeout)


async def wait_for(loop: asyncio.AbstractEventLoop, fut: asyncio.Future[T], timeout: float | None) -> T:
    """``fut``'s result; past ``timeout`` seconds it is cancelled and TimeoutError raised."""
    if isinstance(loop, ForeignLoop):
        return await loop.wait_for(fut, timeout)
    return await asyncio.wait_for(fut, timeout)


async def gather(loop: asyncio.AbstractEventLoop, futures: Sequence[asyncio.Future[T]]) -> list[T]:
    """Every future's result in order; the first exception is raised."""
    if isinstance(loop, ForeignLoop):
        return await loop.gather(futures)
    return await asyncio.gather(*futures)


async def to_thread(loop: asyncio.AbstractEventLoop, fn: Callable[[], T]) -> T:
    """Run ``fn`` on another thread without blocking the loop."""
    if isinstance(loop, ForeignLoop):
        return await loop.to_thread(fn)
    return await asyncio.to_thread(fn)
