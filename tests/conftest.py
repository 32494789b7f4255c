"""Shared fixtures. Every async test runs twice: on asyncio's default loop and on uvloop
(pytest-asyncio's loop-factory hook parametrizes them). Tests wait on events and futures
with timeouts, never on sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import uvloop

import aioultra


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
async def engine() -> AsyncIterator[aioultra.Engine]:
    """A running engine with default settings; fails the test on swallowed loop exceptions."""
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    async with aioultra.Engine(spin_us=20) as eng:
        yield eng
    loop.set_exception_handler(None)
    assert not errors, f"event loop reported errors: {errors}"
