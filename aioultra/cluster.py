"""Scale out on Ray: one engine per node, batches spread across the cluster.

``aioultra.cluster`` is optional (``pip install 'aioultra[ray]'``); nothing else in aioultra
imports Ray. ``await Cluster.connect(address)`` places one async Ray actor on every alive node
that has CPUs (node-affinity scheduling, the node's CPUs reserved for it); each actor hosts an
:class:`aioultra.Engine` with one pinned worker per CPU it reserved. ``await cluster.map(target,
items, batch_size=...)`` splits the items into batches and keeps every actor supplied with up to
``batches_per_worker`` batches per worker (the most free first), so faster or larger nodes take
more; results come back in item order.

Targets travel by name, not by pickled code: a built-in kernel of :mod:`aioultra.kernels`
(``kernels.rlp_tx``), or an importable module-level function (the function itself, or
``"package.module:function"``), which every node must be able to import. A ``kernels.signer``
is refused: its key never leaves the process that made it.

Faults: when an actor (or its node) dies during a map, the batches it had not returned are run
again on the others. The contract is **at-least-once per batch, exactly once per item's
result**: a batch whose result was lost may have run twice, but each item's result is taken
from one run only and every item has one. A map fails with :class:`ClusterError` only when no
actor is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import importlib
import os
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from . import kernels as _kernels
from ._engine import Engine
from ._errors import KernelError
from ._kernel import Kernel
from ._stats import EngineStats

__all__ = ["Cluster", "ClusterError", "ClusterStats", "NodeEngine"]

# Ray needs these before it starts or joins a cluster: no usage report (offline machines), and
# on a single machine the loopback address (not the outward interface) for every node.
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")


class ClusterError(RuntimeError):
    """A cluster operation cannot go on: no engine actor is left, or none could be placed."""


@dataclass(frozen=True)
class NodeEngine:
    """One engine actor: the Ray node it runs on, its address, its worker count, its pid and
    the CPUs its workers are pinned to."""

    node_id: str
    address: str
    workers: int
    pid: int
    cpus: tuple[int, ...]


@dataclass(frozen=True)
class ClusterStats:
    """The engines' statistics: per node (``nodes``: node id -> the engine's EngineStats, live
    actors only) and their sums."""

    nodes: dict[str, EngineStats]
    tasks_submitted: int
    tasks_completed: int
    tasks_failed: int
    workers: int


def target_ref(target: object) -> tuple[str, str]:
    """What travels to the nodes for ``target``: ("kernel", name) or ("function", "module:qualname")."""
    if isinstance(target, Kernel):
        name = target.name
        builtin: object = getattr(_kernels, name, None)
        if builtin is not target:
            raise TypeError(
                f"kernel {name!r} is not a built-in of aioultra.kernels: a cluster runs built-in kernels and "
                "importable functions (a signer's key never leaves its process)"
            )
        return "kernel", name
    if isinstance(target, str):
        resolve(("function", target))  # importable here, or a clear error now
        return "function", target
    if callable(target):
        module, qualname = getattr(target, "__module__", None), getattr(target, "__qualname__", "")
        if not module or "<" in qualname or module == "__main__":
            raise TypeError(
                f"{target!r} cannot be shipped: a cluster runs importable module-level functions "
                "(not lambdas, local functions or __main__'s)"
            )
        ref = f"{module}:{qualname}"
        if resolve(("function", ref)) is not target:
            raise TypeError(f"{ref} does not import as the same object")
        return "function", ref
    raise TypeError(f"a cluster runs built-in kernels and importable functions, got {type(target).__name__}")


def resolve(ref: tuple[str, str]) -> Any:
    """The kernel or function named by a target_ref (on the node that runs it)."""
    kind, name = ref
    if kind == "kernel":
        return getattr(_kernels, name)
    module, sep, qualname = name.partition(":")
    if not sep or not module or not qualname:
        raise ValueError(f"a function is named 'package.module:function', got {name!r}")
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{name} is not callable")
    return obj


class EngineHost:
    """The body of the engine actor (wrapped in ``ray.remote`` by :meth:`Cluster.connect`)."""

    def __init__(self, workers: int, cpu_offset: int) -> None:
        self.workers = workers
        self.cpu_offset = cpu_offset
        self.engine: Engine | None = None

    async def start(self) -> tuple[int, tuple[int, ...]]:
        """Start the engine on ``workers`` CPUs from ``cpu_offset`` on among those this process
        may use (so Ray nodes sharing a machine do not pin to the same CPUs); (pid, CPUs)."""
        allowed = sorted(os.sched_getaffinity(0))
        cpus = sorted({allowed[(self.cpu_offset + i) % len(allowed)] for i in range(self.workers)})
        self.engine = Engine(topology=",".join(map(str, cpus)), workers_per_numa_node=self.workers)
        await self.engine.start()
        return os.getpid(), tuple(cpus)

    async def ping(self) -> None:
        """Nothing: a round trip through Ray alone (the bench's reference)."""

    async def run(self, ref: tuple[str, str], items: list[Any], raw: bool, deadline_us: float | None) -> list[Any]:
        """One batch: every item's result or exception, in order."""
        assert self.engine is not None
        target = resolve(ref)
        if isinstance(target, Kernel):
            return await self.engine.map(target, items, return_exceptions=True, raw=raw, deadline_us=deadline_us)
        return await self.engine.map(target, items, return_exceptions=True, deadline_us=deadline_us)

    async def stats(self) -> EngineStats:
        assert self.engine is not None
        return self.engine.stats()

    async def close(self) -> None:
        if self.engine is not None:
            await self.engine.aclose()


# Ray's exceptions that mean the actor (or its node) is gone. ActorUnavailableError may be
# temporary; it is treated as death (the batch runs elsewhere, the engine is not used again):
# results stay right, that node's capacity is lost.
_DIED = ("RayActorError", "ActorDiedError", "ActorUnavailableError", "NodeDiedError", "WorkerCrashedError")
# Ray's exceptions that mean a batch's result was lost (its node died after it returned).
_LOST = ("ObjectLostError", "OwnerDiedError", "ObjectReconstructionFailedError")


@functools.cache
def _ray_errors(names: tuple[str, ...]) -> tuple[type[BaseException], ...]:
    """The classes of ``ray.exceptions`` with these names (those this Ray version has)."""
    from ray import exceptions as rx

    return tuple(getattr(rx, n) for n in names if hasattr(rx, n))


def _abandon(running: dict[asyncio.Future[Any], tuple[int, int, Any]]) -> None:
    """Cancel batches a map no longer waits for (best effort: one already running finishes)."""
    import ray

    for fut, (_actor, _batch, obj) in running.items():
        fut.cancel()
        with contextlib.suppress(Exception):  # an actor that is gone, a task already done: nothing to stop
            ray.cancel(obj)
        # retrieve a result nobody awaits, so asyncio does not report it as never retrieved
        fut.add_done_callback(lambda f: f.cancelled() or f.exception())


class Cluster:
    """Engines on the nodes of a Ray cluster; make one with ``await Cluster.connect()``."""

    def __init__(self, actors: list[Any], engines: list[NodeEngine], batches_per_worker: int) -> None:
        self._actors = actors
        self.engines = engines
        self._live = set(range(len(actors)))
        self._per_worker = batches_per_worker
        self._closed = False
        self.reruns = 0  # batches run again after their actor died

    @classmethod
    async def connect(
        cls, address: str | None = None, *, batches_per_worker: int = 2, start_timeout: float = 120.0
    ) -> Cluster:
        """Join the Ray cluster at ``address`` (None: ``RAY_ADDRESS``, else a local one) and
        place an engine on every alive node with CPUs. ``batches_per_worker``: batches kept
        in flight per worker of a node (at least 1). ``ClusterError`` when an engine is not
        running within ``start_timeout`` seconds (e.g. another job holds a node's CPUs: an
        engine reserves all of them); the actors made so far are ended then."""
        if not isinstance(batches_per_worker, int) or isinstance(batches_per_worker, bool) or batches_per_worker < 1:
            raise ValueError(f"batches_per_worker must be an int >= 1, got {batches_per_worker!r}")
        if isinstance(start_timeout, bool) or not isinstance(start_timeout, int | float) or not start_timeout > 0:
            raise ValueError(f"start_timeout must be a number of seconds > 0, got {start_timeout!r}")
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        if not ray.is_initialized():
            await asyncio.to_thread(ray.init, address=address, logging_level="ERROR", log_to_driver=False)
        nodes = [n for n in ray.nodes() if n["Alive"] and n["Resources"].get("CPU", 0) >= 1]
        if not nodes:
            raise ClusterError("the Ray cluster has no alive node with a CPU")
        host = ray.remote(EngineHost)
        actors = []
        taken: dict[str, int] = {}  # CPUs given out per machine: nodes on one machine get disjoint ones
        for node in nodes:
            cpus = int(node["Resources"]["CPU"])
            offset = taken.get(node["NodeManagerAddress"], 0)
            taken[node["NodeManagerAddress"]] = offset + cpus
            strategy = NodeAffinitySchedulingStrategy(node_id=node["NodeID"], soft=False)
            options = host.options(num_cpus=cpus, scheduling_strategy=strategy, max_concurrency=64)
            actors.append(options.remote(cpus, offset))
        try:
            started = await asyncio.wait_for(asyncio.gather(*(a.start.remote() for a in actors)), start_timeout)
        except (Exception, asyncio.CancelledError) as exc:
            for actor in actors:
                ray.kill(actor)
            if isinstance(exc, asyncio.TimeoutError):
                raise ClusterError(
                    f"the engines did not start within {start_timeout} s: is another job holding a node's CPUs?"
                ) from None
            raise
        engines = [
            NodeEngine(n["NodeID"], n["NodeManagerAddress"], int(n["Resources"]["CPU"]), pid, cpus)
            for n, (pid, cpus) in zip(nodes, started, strict=True)
        ]
        return cls(actors, engines, batches_per_worker)

    @property
    def live_engines(self) -> list[NodeEngine]:
        """The engines whose actors are alive (as far as the last call saw)."""
        return [self.engines[i] for i in sorted(self._live)]

    async def map(
        self,
        target: Kernel[Any] | Callable[..., Any] | str,
        items: Sequence[Any],
        *,
        batch_size: int = 10_000,
        return_exceptions: bool = False,
        raw: bool = False,
        deadline_us: float | None = None,
    ) -> list[Any]:
        """Every item's result, in order, computed on the cluster in batches of ``batch_size``.
        The first failing item's exception is raised (a KernelError's ``index`` is the item's
        index in ``items``) unless ``return_exceptions``; ``raw`` and ``deadline_us`` (each
        chunk on its node) as for ``Engine.map``. The same signature as ``Engine.map`` for the
        options they share, so code written against an engine's ``map`` runs on a cluster."""
        if self._closed:
            raise ClusterError("the cluster is closed")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {batch_size!r}")
        if not isinstance(raw, bool):
            raise TypeError(f"raw must be a bool, got {type(raw).__name__}")
        if deadline_us is not None and (not isinstance(deadline_us, int | float) or not deadline_us >= 0):
            raise ValueError(f"deadline_us must be a number >= 0 or None, got {deadline_us!r}")
        ref = target_ref(target)
        if raw and ref[0] != "kernel":
            raise TypeError("raw=True is for kernels")
        items = list(items)
        batches = [items[i : i + batch_size] for i in range(0, len(items), batch_size)]
        results = await self._run(ref, batches, (raw, deadline_us))
        flat = [r for batch in results for r in batch]
        if not return_exceptions:
            for i, r in enumerate(flat):
                if isinstance(r, BaseException):
                    if isinstance(r, KernelError):
                        raise KernelError(r.kernel, r.code, i) from None
                    raise r
        return flat

    async def _run(
        self, ref: tuple[str, str], batches: list[list[Any]], options: tuple[bool, float | None]
    ) -> list[list[Any]]:
        todo = deque(range(len(batches)))
        done: dict[int, list[Any]] = {}
        running: dict[asyncio.Future[Any], tuple[int, int, Any]] = {}  # -> (actor, batch, its ObjectRef)
        load = dict.fromkeys(self._live, 0)
        try:
            while todo or running:
                while todo:
                    free = [(self.engines[a].workers * self._per_worker - load[a], a) for a in self._live]
                    best = max(free, default=(0, -1))
                    if best[0] <= 0:
                        break
                    actor, batch = best[1], todo.popleft()
                    obj = self._actors[actor].run.remote(ref, batches[batch], *options)
                    running[asyncio.ensure_future(obj)], load[actor] = (actor, batch, obj), load[actor] + 1
                if not running:
                    raise ClusterError(f"no engine actor is left; {len(todo)} of {len(batches)} batches unfinished")
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for fut in finished:
                    actor, batch, _obj = running.pop(fut)
                    load[actor] -= 1
                    try:
                        done[batch] = fut.result()
                    except _ray_errors(_DIED):
                        self._live.discard(actor)  # its unfinished batches run again elsewhere
                        todo.appendleft(batch)
                        self.reruns += 1
                    except _ray_errors(_LOST):  # returned, then lost with its node's object store: run it again
                        todo.appendleft(batch)
                        self.reruns += 1
        finally:
            _abandon(running)  # on an error or a cancellation: stop what is still running
        return [done[i] for i in range(len(batches))]

    async def stats(self) -> ClusterStats:
        """The live engines' statistics and their sums."""
        live = sorted(self._live)
        got = await asyncio.gather(*(self._actors[i].stats.remote() for i in live), return_exceptions=True)
        nodes: dict[str, EngineStats] = {}
        for i, s in zip(live, got, strict=True):
            if isinstance(s, _ray_errors(_DIED)):
                self._live.discard(i)
            elif isinstance(s, BaseException):
                raise s
            else:
                nodes[self.engines[i].node_id] = s
        return ClusterStats(
            nodes=nodes,
            tasks_submitted=sum(s.tasks_submitted for s in nodes.values()),
            tasks_completed=sum(s.tasks_completed for s in nodes.values()),
            tasks_failed=sum(s.tasks_failed for s in nodes.values()),
            workers=sum(len(s.workers) for s in nodes.values()),
        )

    async def ping(self) -> None:
        """One Ray actor round trip to the first live engine's actor, nothing else (the
        reference for a batch's overhead)."""
        if self._closed or not self._live:
            raise ClusterError("the cluster is closed" if self._closed else "no engine actor is left")
        await self._actors[min(self._live)].ping.remote()

    async def close(self) -> None:
        """Close every engine and end the actors (the Ray connection stays for the caller)."""
        if self._closed:
            return
        self._closed = True
        import ray

        live = sorted(self._live)
        await asyncio.gather(*(self._actors[i].close.remote() for i in live), return_exceptions=True)
        for actor in self._actors:
            ray.kill(actor)

    async def __aenter__(self) -> Cluster:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
