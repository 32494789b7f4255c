"""The Task protocol: an object with ``execute()`` run on a worker thread."""

from __future__ import annotations

from typing import Generic, TypeVar

R = TypeVar("R", covariant=True)  # only returned: a Task[int] is a Task[object]

DEFAULT_PRIORITY = 5


class Task(Generic[R]):
    """Base class for task objects submitted with ``await engine.submit(task)``.

    Subclasses implement :meth:`execute`; its return value (or exception) is what the awaiter
    gets (``Task[R]``: ``execute`` returns ``R``, and ``submit`` a ``TaskFuture[R]``).
    ``execute`` runs on a native worker thread holding the GIL, so it suits blocking
    calls and C extensions that release the GIL.
    """

    def execute(self) -> R:
        """Do the work; runs on a worker thread. Must be overridden."""
        raise NotImplementedError(f"{type(self).__name__}.execute() is not implemented")

    def priority(self) -> int:
        """Scheduling priority 0-255, higher runs first (>= 8 uses the high lane). Default 5."""
        return DEFAULT_PRIORITY

    def estimated_duration_us(self) -> int:
        """Expected run time in microseconds; weighs the node's load for placement. Default 1."""
        return 1
