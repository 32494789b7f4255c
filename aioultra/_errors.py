"""Exceptions raised by aioultra. Every error the engine raises derives from UltraEngineError."""

from __future__ import annotations


class UltraEngineError(Exception):
    """Base class of every aioultra error."""


class QueueFull(UltraEngineError):
    """In-flight tasks reached ``queue_capacity``; raised at once by ``submit`` (nothing was queued)."""


class EngineClosed(UltraEngineError):
    """The engine is not running: not started yet, closing, closed, or inherited across ``fork()``."""


class DeadlineExceeded(UltraEngineError):
    """The task did not start within its ``deadline_us``; it was not run."""


class InvalidTask(UltraEngineError, TypeError, ValueError):
    """A submission was rejected before queueing: wrong target, argument type or option value.

    It is both a TypeError and a ValueError so callers may catch either.
    """


class KernelError(UltraEngineError):
    """A native kernel returned a negative error code."""

    def __init__(self, kernel: str, code: int, index: int | None = None) -> None:
        where = f" on item {index}" if index is not None else ""
        super().__init__(f"kernel {kernel!r} failed{where} with code {code}")
        self.kernel = kernel
        self.code = code
        self.index = index

    def __reduce__(self) -> tuple[type[KernelError], tuple[str, int, int | None]]:
        # pickled (e.g. back from a cluster node) with its fields, not its message
        return (KernelError, (self.kernel, self.code, self.index))
