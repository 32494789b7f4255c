"""Replay a recording through the mempool watcher's strategy on an engine or a cluster."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aioultra
from aioultra.cluster import Cluster

from ..mempool_watcher.pools import PoolSet
from ..mempool_watcher.strategy import BatchRunner, Counters, EngineStrategy, Item, Opportunity


class OnCluster:
    """A cluster as the strategy's batch runner: every ``map`` in batches of ``batch_size``."""

    def __init__(self, cluster: Cluster, batch_size: int) -> None:
        self.cluster = cluster
        self.batch_size = batch_size

    async def map(self, target: Any, items: Sequence[Any], /, **options: Any) -> list[Any]:
        """``cluster.map`` with this runner's batch size."""
        return await self.cluster.map(target, items, batch_size=self.batch_size, **options)


@dataclass
class Result:
    """One replay: what the strategy counted and found, and how long it took."""

    counters: Counters
    opportunities: list[Opportunity]
    seconds: float

    @property
    def throughput(self) -> float:
        """Transactions per second."""
        return self.counters.received / self.seconds if self.seconds > 0 else 0.0


async def replay(
    raws: list[bytes], pools: PoolSet, runner: aioultra.Engine | BatchRunner, batch: int, in_flight: int = 2
) -> Result:
    """The strategy over ``raws`` in strategy batches of ``batch`` transactions, up to
    ``in_flight`` of them at once (senders recovered, no signing: a backtest sends nothing)."""
    strategy = EngineStrategy(runner, pools, senders=True)
    found: list[Opportunity] = []
    slots = asyncio.Semaphore(in_flight)

    async def one(part: list[bytes]) -> None:
        try:
            found.extend(await strategy.run_batch([Item(0, raw, {}) for raw in part]))
        finally:
            slots.release()

    started = time.perf_counter()
    tasks = []
    for start in range(0, len(raws), batch):
        await slots.acquire()
        tasks.append(asyncio.create_task(one(raws[start : start + batch])))
    await asyncio.gather(*tasks)
    return Result(strategy.counters, found, time.perf_counter() - started)
