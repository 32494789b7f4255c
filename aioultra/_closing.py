"""Closing an engine without blocking its event loop.

``aclose()`` drains (or cancels) the work in flight, then stops the workers. Joining them waits
for the tasks they are running, so it happens on a thread of its own (:class:`Stopper`) while
the loop keeps running; the loop is woken through an eventfd of its own (:class:`Wakeup`) when
the join is done and then closes the channels as before. With ``timeout=`` the loop stops
waiting when the time is up: queued work is cancelled, this loop's pending futures fail with
EngineClosed, and the stop thread finishes the shutdown (channels, the core) once the running
tasks end: at the latest at interpreter exit, which joins it (it is not a daemon thread).
"""

from __future__ import annotations

import asyncio
import math
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import _ffi
from ._bridge import Channel
from ._errors import EngineClosed
from ._loops import running_loop, to_thread, wait_done, wait_for

NEW, RUNNING, CLOSING, CLOSED = "new", "running", "closing", "closed"  # the engine's states
RECHECK_S = 0.1  # while aclose waits for the loops to go idle: how often it looks for loops that closed


class Wakeup:
    """A one-shot wake-up of a loop from another thread, through an eventfd of its own: unlike
    ``call_soon_threadsafe`` (a write to the loop's self-pipe, which races the loop closing it)
    the write and the close of this fd are under one lock. Create and close on the loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
        self._lock = threading.Lock()
        self.future: asyncio.Future[None] = loop.create_future()
        loop.add_reader(self._fd, self._fired)

    def set(self) -> None:
        """Wake the loop (any thread; nothing happens once closed)."""
        with self._lock:
            if self._fd >= 0:
                os.eventfd_write(self._fd, 1)

    def _fired(self) -> None:
        self.close()
        if not self.future.done():
            self.future.set_result(None)

    def close(self) -> None:
        """Stop watching and close the fd (on the loop; idempotent)."""
        with self._lock:
            if self._fd < 0:
                return
            if not self._loop.is_closed():
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = -1


class Stopper:
    """Stops and joins the workers on a thread of its own. When the join is done it calls
    ``notify`` (the loop is waiting) or, once :meth:`detach` won, ``finish`` (the loop stopped
    waiting: the thread completes the shutdown itself)."""

    def __init__(self, engine_ptr: Any, notify: Callable[[], None], finish: Callable[[], None]) -> None:
        self._ptr = engine_ptr
        self._notify = notify
        self._finish = finish
        self._lock = threading.Lock()
        self._joined = False
        self._detached = False
        self.thread = threading.Thread(target=self._run, name="aioultra-stop", daemon=False)
        self.thread.start()

    def _run(self) -> None:
        _ffi.engine_stop(self._ptr)  # the GIL is released while it joins
        with self._lock:
            self._joined = True
            detached = self._detached
        if detached:
            self._finish()
        else:
            self._notify()

    def detach(self) -> bool:
        """Leave the rest of the shutdown to the thread: True, or False when the workers are
        already joined (the caller finishes it)."""
        with self._lock:
            if self._joined:
                return False
            self._detached = True
            return True


def check_timeout(timeout: object) -> float | None:
    """``aclose``'s timeout validated: None, or seconds >= 0."""
    if timeout is None:
        return None
    if not isinstance(timeout, int | float) or isinstance(timeout, bool):
        raise TypeError(f"timeout must be a number of seconds or None, got {type(timeout).__name__}")
    if math.isnan(timeout) or timeout < 0:
        raise ValueError(f"timeout must be >= 0 seconds, got {timeout!r}")
    return float(timeout)


class Closing:
    """``aclose`` of :class:`aioultra.Engine` (a mixin: the engine provides the state, the
    channels and the shutdown of the channels after the workers are joined)."""

    _state: str
    _forked: bool
    _ptr: Any
    _channels: dict[asyncio.AbstractEventLoop, Channel]
    _idle_waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None
    _stopper: Stopper | None

    if TYPE_CHECKING:

        def _cancel_all(self) -> None: ...
        def _reap_closed_loops(self) -> bool: ...
        def _has_pending(self) -> bool: ...
        def _shutdown(self, current: asyncio.AbstractEventLoop | None) -> None: ...

    async def aclose(self, cancel_pending: bool = False, timeout: float | None = None) -> None:
        """Stop the engine: wait for (or, with ``cancel_pending``, cancel) the work in flight,
        then join every worker and close every channel; the loop keeps running meanwhile.
        Awaiters of cancelled tasks get EngineClosed. With ``timeout`` (seconds) it returns
        within about that time: what is still queued then is cancelled, this loop's pending
        futures fail with EngineClosed, and tasks still running finish in the background.
        Safe to call more than once."""
        limit = check_timeout(timeout)
        if self._forked or self._state in (NEW, CLOSED):
            self._state = CLOSED
            return
        if self._state == CLOSING and self._stopper is None:
            raise EngineClosed("aclose() is already in progress")
        loop = running_loop()
        if self._stopper is not None:  # an interrupted aclose: its stop thread is finishing
            await to_thread(loop, self._stopper.thread.join)
            return
        self._state = CLOSING
        deadline = None if limit is None else loop.time() + limit
        try:
            if cancel_pending:
                self._cancel_all()
            self._reap_closed_loops()
            if not await self._drained(loop, deadline):
                self._cancel_all()  # out of time: what is still queued does not run
        except BaseException:
            self._cancel_all()  # interrupted while draining: don't run what is still queued
            self._idle_waiter = None
            self._stop_in_background(loop)
            raise
        self._idle_waiter = None
        await self._stop_and_wait(loop, deadline)

    async def _drained(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> bool:
        """Wait until no open loop has tasks in flight or waiting; False when the deadline came
        first. A channel going idle wakes this; a loop that closes does not (nothing runs on it
        any more), so the condition is also re-checked every RECHECK_S."""
        while self._has_pending():
            waiter: asyncio.Future[None] = loop.create_future()
            self._idle_waiter = (loop, waiter)
            if not self._has_pending():
                break
            step = RECHECK_S if deadline is None else min(RECHECK_S, deadline - loop.time())
            if step <= 0:
                return False
            await wait_done(loop, waiter, step)
        return True

    def _stop_in_background(self, loop: asyncio.AbstractEventLoop) -> None:
        """Join the workers on the stop thread and let it finish the shutdown (nothing waits)."""
        if self._ptr is None:
            return
        stopper = self._stopper = Stopper(self._ptr, lambda: None, lambda: self._shutdown(None))
        if not stopper.detach():  # already joined: nothing was running
            self._shutdown(loop)

    async def _stop_and_wait(self, loop: asyncio.AbstractEventLoop, deadline: float | None) -> None:
        """Join the workers on the stop thread while this loop waits (until ``deadline``), then
        finish the shutdown here; past the deadline the stop thread finishes it."""
        if self._ptr is None:
            return
        wake = Wakeup(loop)
        stopper = self._stopper = Stopper(self._ptr, wake.set, lambda: self._shutdown(None))
        remaining = None if deadline is None else max(0.0, deadline - loop.time())
        try:
            await wait_for(loop, wake.future, remaining)
        except TimeoutError:
            wake.close()
            if stopper.detach():
                self._give_up(loop)
                return
        except BaseException:
            wake.close()
            if not stopper.detach():
                self._shutdown(loop)
            raise
        wake.close()
        stopper.thread.join()  # it has joined the workers and woken us: it is returning now
        self._shutdown(loop)

    def _give_up(self, loop: asyncio.AbstractEventLoop) -> None:
        """The time is up while tasks still run: the engine is closed for its users now; this
        loop's pending futures fail; the stop thread closes the channels when the tasks end."""
        self._state = CLOSED
        ch = self._channels.get(loop)
        if ch is not None:
            ch.fail_pending(EngineClosed("aclose() timed out while the task ran; it finishes in the background"))
