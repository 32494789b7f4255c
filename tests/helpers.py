"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable, Coroutine, Iterator
from typing import Any


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
    """Await with a timeout so a lost completion fails the test instead of hanging it."""
    return await asyncio.wait_for(awaitable, timeout)


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
        assert await asyncio.to_thread(self.started.wait, 30), "gate never started"


def start_loop_thread(body: Callable[[], Coroutine[Any, Any, Any]], timeout: float = 30.0) -> threading.Thread:
    """Run ``body()`` on a new event loop in a new thread (``asyncio.run``: the loop closes when
    it returns, with a timeout so a hang fails the test); the thread is started."""
    thread = threading.Thread(target=lambda: asyncio.run(asyncio.wait_for(body(), timeout)))
    thread.start()
    return thread
