"""Shared fixtures. Every async test runs three times: on asyncio's default loop, on uvloop and
on trio (anyio's pytest plugin runs them; the ``anyio_backend`` fixture below parametrizes
them). A test about asyncio's own interface (``asyncio.Future`` methods, loop callbacks, an
executor of the loop, several loops on threads) is marked ``asyncio_only`` and runs on the two
asyncio loops. Tests wait on events and futures with timeouts, never on sleeps."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvloop

import aioultra

from .helpers import reported_errors

ASYNCIO_BACKENDS = [
    pytest.param(("asyncio", {}), id="asyncio"),
    pytest.param(("asyncio", {"loop_factory": uvloop.new_event_loop}), id="uvloop"),
]
BACKENDS = [*ASYNCIO_BACKENDS, pytest.param(("trio", {}), id="trio")]


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # a parametrize marker (read by pytest's own hook, after this one) overrides the fixture's params
    if "anyio_backend" in metafunc.fixturenames and metafunc.definition.get_closest_marker("asyncio_only"):
        metafunc.definition.add_marker(pytest.mark.parametrize("anyio_backend", ASYNCIO_BACKENDS))


@pytest.fixture(params=BACKENDS)
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    """The async backend of the test (a fresh loop or trio run per test)."""
    return request.param


@pytest.fixture
async def engine() -> AsyncIterator[aioultra.Engine]:
    """A running engine with default settings; fails the test on swallowed loop exceptions."""
    with reported_errors() as errors:
        async with aioultra.Engine(spin_us=20) as eng:
            yield eng
    assert not errors, f"event loop reported errors: {errors}"
