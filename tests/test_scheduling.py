"""Placement, pinning and stealing across (fake) NUMA nodes."""

from __future__ import annotations

import asyncio
import os
import threading

import anyio
import pytest

import aioultra
from aioultra import kernels

from .helpers import gather, loop_thread_on, spawner, to_thread, until, wait_for

pytestmark = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 CPUs")


class Gate(aioultra.Task):
    """Blocks its worker until released."""

    def __init__(self) -> None:
        self.started = threading.Event()
        self.release = threading.Event()

    def execute(self) -> int:
        self.tid = threading.get_native_id()
        self.started.set()
        assert self.release.wait(30)
        return self.tid


class Heavy(aioultra.Task):
    """A task whose estimated duration weighs the node's load."""

    def __init__(self, weight: int) -> None:
        self.weight = weight

    def execute(self) -> int:
        return threading.get_native_id()

    def estimated_duration_us(self) -> int:
        return self.weight


async def test_workers_run_on_their_planned_cpus() -> None:
    async with aioultra.Engine(spin_us=0) as engine:
        workers = engine.stats().workers
        assert [w.planned_cpu for w in workers] == sorted(os.sched_getaffinity(0))[: len(workers)]
        for w in workers:
            assert w.pinned
            assert w.cpu == w.planned_cpu


async def test_unpinned_when_affinity_disabled() -> None:
    async with aioultra.Engine(spin_us=0, enable_cpu_affinity=False) as engine:
        assert all(not w.pinned and w.planned_cpu == -1 for w in engine.stats().workers)


async def _gated_node0(engine: aioultra.Engine) -> tuple[Gate, asyncio.Future[int]]:
    gate = Gate()
    fut = asyncio.ensure_future(engine.submit(gate))
    assert await to_thread(gate.started.wait, 30)
    return gate, fut


async def test_no_cross_node_steal_below_threshold() -> None:
    config = aioultra.EngineConfig(
        topology="0;1", workers_per_numa_node=1, queue_capacity=1024, load_balance_threshold=0.5, spin_us=50
    )
    async with aioultra.Engine(config) as engine:
        with loop_thread_on(0):
            gate, gated = await _gated_node0(engine)
            tasks = [asyncio.ensure_future(engine.submit(kernels.spin, 1000)) for _ in range(300)]
            await anyio.sleep(0)
            s = engine.stats()
            assert s.nodes[0].submitted == 301 and s.nodes[1].submitted == 0  # all placed on the caller's node
            # node 1's worker is idle, but 300 load units < 0.5 * 1024: it must not take them
            assert s.nodes[1].steals_remote == 0
            gate.release.set()
            await wait_for(gather(gated, *tasks))
        s = engine.stats()
        assert s.nodes[1].executed == 0
        assert s.nodes[0].executed == 301
        assert sum(w.steals_remote for w in s.workers) == 0


async def test_cross_node_steals_above_threshold() -> None:
    config = aioultra.EngineConfig(
        topology="0;1", workers_per_numa_node=1, queue_capacity=1024, load_balance_threshold=0.05, spin_us=50
    )
    async with aioultra.Engine(config) as engine:
        with loop_thread_on(0):
            gate, gated = await _gated_node0(engine)
            # weight 100 per task > 0.05 * 1024 = 51 units: placement alternates between nodes,
            # and node 1's worker steals node 0's queue while node 0's only worker is blocked
            try:
                tids = await wait_for(gather(*(engine.submit(Heavy(100)) for _ in range(20))))
                assert not gated.done()  # every task completed while node 0 was blocked
                assert len(set(tids)) == 1 and gate.tid not in tids  # all on node 1's only worker
            finally:
                gate.release.set()
            await wait_for(gated)
        s = engine.stats()
        assert s.nodes[0].submitted >= 2 and s.nodes[1].submitted >= 2  # placement moved off node 0
        assert s.nodes[1].steals_remote > 0
        assert s.nodes[0].stolen_from == 0  # taken from node 0's injector, not from a deque
        assert s.average_steal_ratio() > 0


async def test_stealing_disabled_means_no_steals() -> None:
    async with aioultra.Engine(enable_work_stealing=False, spin_us=20) as engine:
        await wait_for(engine.map(kernels.spin, []))
        await wait_for(gather(*(engine.submit(kernels.spin, 2000) for _ in range(2000))))
        await wait_for(engine.map(kernels.keccak256, [b"x"] * 50_000))
        s = engine.stats()
        assert s.steals == 0
        assert all(w.steals_local == 0 and w.stolen_from == 0 for w in s.workers)


async def test_same_node_steals_happen() -> None:
    async with aioultra.Engine(numa_enabled=False, workers_per_numa_node=2, spin_us=1000) as engine:
        # Hold both workers, queue the whole map, release both: the first worker to pop takes a
        # heavy chunk and moves a share of the queue (more heavy chunks) into its deque; the
        # other runs the light chunks and then must steal the heavy ones from that deque.
        release = threading.Event()
        started = [threading.Event(), threading.Event()]

        def hold(i: int) -> None:
            started[i].set()
            assert release.wait(30)

        holds = [engine.submit(hold, i) for i in range(2)]
        async with spawner() as spawn:
            try:
                for ev in started:
                    assert await to_thread(ev.wait, 30)
                # 8 chunks of 8: four heavy (~25 ms each, far longer than a GIL hand-off), then four light
                items = [bytes(1_000_000)] * 32 + [b"x"] * 32
                mapped = spawn(engine.map(kernels.keccak256, items))
                await until(lambda: engine.stats().queue_size == 10, what="the map's chunks queued")
                assert engine.stats().nodes[0].queue_depth == 8
            finally:
                release.set()
            await wait_for(gather(*holds, mapped))
        s = engine.stats()
        assert s.steals > 0, s
        assert s.steals == sum(w.steals_local for w in s.workers)
        assert s.total_queue_size() == 0 and s.total_capacity() == engine.config.queue_capacity
