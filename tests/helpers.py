"""Helpers shared by the tests."""

from __future__ import annotations

import asyncio
from typing import Any


async def wait_for(awaitable: Any, timeout: float = 30.0) -> Any:
    """Await with a timeout so a lost completion fails the test instead of hanging it."""
    return await asyncio.wait_for(awaitable, timeout)
