"""``python -m examples.backtest [--count N] [--batch B] [--address ADDR | --nodes K]``.

1. The recording: ``--count`` pending transactions from ``--seed`` (cached in build/backtest/).
2. One local engine (one worker per CPU) replays it through the mempool watcher's strategy.
3. A Ray cluster (``--address``; by default a local one of ``--nodes`` nodes of one CPU each, on
   127.0.0.1) replays it with one engine per node, in batches of ``--batch`` transactions.
4. Printed: throughput, opportunities (the same set on both), the cluster's throughput as a
   share of the local engine's, and the cost of one batch through the cluster (an empty one)
   next to a bare Ray actor call, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aioultra
from aioultra import kernels
from aioultra.bench.common import p50_ms
from aioultra.cluster import Cluster

from ..mempool_watcher.pools import PoolSet
from . import recording
from .replay import OnCluster, Result, replay

ROOT = Path(__file__).resolve().parent.parent.parent
POOLS = ROOT / "examples" / "mempool_watcher" / "data" / "pools.json"


@contextlib.contextmanager
def _ray(address: str | None, nodes: int) -> Iterator[str | None]:
    """Connected to ``address``, or to a local cluster of ``nodes`` one-CPU nodes (stopped after)."""
    import ray

    if address is not None:
        ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        try:
            yield address
        finally:
            ray.shutdown()
        return
    from ray.cluster_utils import Cluster as RayCluster

    local = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1})
    for _ in range(nodes - 1):
        local.add_node(num_cpus=1)
    ray.init(address=local.address, logging_level="ERROR", log_to_driver=False)
    try:
        yield local.address
    finally:
        ray.shutdown()
        local.shutdown()


def _line(name: str, r: Result) -> str:
    c = r.counters
    return (
        f"{name:8} {c.received:>9,} txs in {r.seconds:7.2f} s = {r.throughput:>9,.0f} tx/s; swaps {c.swaps:,}, "
        f"opportunities {c.opportunities:,}, senders {c.senders:,}, malformed {sum(c.malformed.values())}"
    )


async def main(args: argparse.Namespace) -> dict[str, Any]:
    pools = PoolSet.load(POOLS)
    path = args.recording or ROOT / "build" / "backtest" / f"recording-{args.count}-{args.seed}.bin"
    async with aioultra.Engine() as engine:
        if path.exists():
            raws = recording.load(path)
            print(f"# recording: {len(raws):,} transactions from {path}")
        else:
            t0 = time.perf_counter()
            raws = await recording.generate(args.count, args.seed, json.loads(POOLS.read_text())["pools"], engine)
            recording.save(path, raws)
            print(f"# recording: {len(raws):,} transactions generated in {time.perf_counter() - t0:.1f} s -> {path}")
        local = await replay(raws, pools, engine, args.batch)
    print(_line("local", local), flush=True)
    with _ray(args.address, args.nodes):
        async with await Cluster.connect() as cluster:
            on_cluster = await replay(raws, pools, OnCluster(cluster, args.batch), args.batch)
            print(_line("cluster", on_cluster), flush=True)
            ping_ms = await p50_ms(cluster.ping, 50)
            empty_ms = await p50_ms(lambda: cluster.map(kernels.noop, [b""], batch_size=1), 50)
            stats = await cluster.stats()
            engines = len(cluster.live_engines)
    same = {(o.tx_hash, o.pool, o.size, o.profit) for o in local.opportunities} == {
        (o.tx_hash, o.pool, o.size, o.profit) for o in on_cluster.opportunities
    }
    share = on_cluster.throughput / local.throughput if local.throughput else 0.0
    print(f"# same opportunities on both: {same}")
    print(f"# cluster: {engines} engines ({stats.workers} workers): {share:.0%} of the local engine's throughput")
    print(
        f"# one batch through the cluster (empty): p50 {empty_ms:.2f} ms; a bare Ray actor call: p50 {ping_ms:.2f} ms"
    )
    return {
        "transactions": len(raws),
        "local_tx_s": local.throughput,
        "cluster_tx_s": on_cluster.throughput,
        "cluster_share": share,
        "opportunities": local.counters.opportunities,
        "same_opportunities": same,
        "empty_batch_ms": empty_ms,
        "ray_call_ms": ping_ms,
        "engines": engines,
    }


def cli(argv: list[str] | None = None) -> int:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m examples.backtest", description=__doc__)
    parser.add_argument("--count", type=int, default=1_000_000, help="transactions in the recording")
    parser.add_argument("--seed", type=int, default=20261201, help="the recording's seed")
    parser.add_argument("--recording", type=Path, help="the recording file (default: build/backtest/...)")
    parser.add_argument("--batch", type=int, default=10_000, help="transactions per batch")
    parser.add_argument("--address", help="an existing Ray cluster (default: start a local one)")
    parser.add_argument("--nodes", type=int, default=2, help="nodes of the local cluster (one CPU each)")
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.count < 1 or args.batch < 1 or args.nodes < 1:
        parser.error("--count, --batch and --nodes must be >= 1")
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))  # warnings and up
    figures = asyncio.run(main(args))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(cli())
