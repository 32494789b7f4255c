"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


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
