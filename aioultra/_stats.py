"""Statistics snapshots: frozen dataclasses built from the core's counters.

Counters are read without stopping the workers, so fields of one snapshot may be a few tasks
apart; each counter on its own only grows.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkerStats:
    """One worker thread.

    ``cpu`` is what ``sched_getcpu()`` returned on the worker after pinning; ``planned_cpu``
    the CPU it was assigned (-1: not pinned). ``steals_local``/``steals_remote`` count tasks
    this worker took from same-node peers / other nodes; ``stolen_from`` tasks others took
    from its deque. ``parks`` counts the times it slept on its futex, ``wakeups`` the times a
    submitter or a peer woke it; ``parked`` is True while it is parked. ``tid`` is its kernel
    thread id (for ``psutil`` or ``top -H``).
    """

    index: int
    node: int
    planned_cpu: int
    cpu: int
    pinned: bool
    executed: int
    steals_local: int
    steals_remote: int
    stolen_from: int
    parks: int
    queue_depth: int
    wakeups: int = 0
    tid: int = 0
    parked: bool = False

    @property
    def steals(self) -> int:
        """Tasks this worker stole, local and remote."""
        return self.steals_local + self.steals_remote


@dataclass(frozen=True)
class NodeStats:
    """One NUMA node: its queued work and what its workers did."""

    index: int
    cpus: tuple[int, ...]
    workers: int
    load: int
    queue_depth: int
    submitted: int
    executed: int
    steals_local: int
    steals_remote: int
    stolen_from: int


@dataclass(frozen=True)
class EngineStats:
    """A snapshot of :meth:`aioultra.Engine.stats`.

    ``tasks_submitted = tasks_completed + tasks_failed + tasks_cancelled + tasks_expired +
    (tasks still running or queued)``. ``queue_size`` is the number of tasks in flight
    (submitted, not yet delivered to their awaiter); ``queue_capacity`` its limit.
    ``throughput`` is finished tasks per second since the engine started.
    """

    tasks_submitted: int
    tasks_completed: int
    tasks_failed: int
    tasks_cancelled: int
    tasks_expired: int
    steals: int
    queue_size: int
    queue_capacity: int
    throughput: float
    uptime_s: float
    workers: tuple[WorkerStats, ...]
    nodes: tuple[NodeStats, ...]

    def average_steal_ratio(self) -> float:
        """Stolen tasks / executed tasks over all workers (0.0 when nothing ran)."""
        executed = sum(w.executed for w in self.workers)
        return self.steals / executed if executed else 0.0

    def total_queue_size(self) -> int:
        """Tasks in flight (same as ``queue_size``)."""
        return self.queue_size

    def total_capacity(self) -> int:
        """Maximum tasks in flight (same as ``queue_capacity``)."""
        return self.queue_capacity
