"""aioultra.cluster against one local engine (``--cluster-only``; issue 14's targets; needs Ray).

A local Ray cluster of ``nodes`` one-CPU nodes on 127.0.0.1 (Ray's ``cluster_utils.Cluster``) is
started for the suite and stopped after it. In the same run:

- a bare Ray actor call (``Cluster.ping``: one round trip to an engine's actor, nothing run),
  and one empty batch through the cluster (``map(noop, [b""], batch_size=1)``), p50 of 50 each;
- ``map(tx_sender, txs)`` and ``map(rlp_tx, txs, raw=True)`` over a corpus of real signed
  transactions, on one local engine (a worker per CPU) and on the cluster in batches of
  ``batch`` (>= 10,000 in the full run), best of the rounds.

Both share the same CPUs here: the share of the local engine's throughput the cluster keeps is
the cost of going through Ray (pickling the batches, the object store, the actor calls).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aioultra
from aioultra import kernels

from .common import Progress, p50_ms

STEPS = 3


@dataclass(frozen=True)
class Counts:
    """Corpus size, batch size, rounds and nodes."""

    txs: int
    batch: int
    rounds: int
    nodes: int = 2


FULL = Counts(txs=100_000, batch=10_000, rounds=3)
QUICK = Counts(txs=20_000, batch=10_000, rounds=1)
TINY = Counts(txs=600, batch=200, rounds=1)


async def _rate(run: Callable[[], Awaitable[Any]], n: int, rounds: int) -> float:
    best = 0.0
    for _ in range(rounds):
        t0 = time.perf_counter()
        await run()
        best = max(best, n / (time.perf_counter() - t0))
    return best


async def _corpus(n: int) -> list[bytes]:
    """n signed EIP-1559 transactions (a few thousand distinct ones, repeated)."""
    async with aioultra.Engine() as engine:
        signer = kernels.signer(b"\x5a" * 32)
        distinct = [
            kernels.Eip1559Tx(1, i, 10**9, 3 * 10**10, 21_000 + i, bytes([i % 256]) * 20, i, bytes(i % 100))
            for i in range(min(n, 2000))
        ]
        raws = [s.raw for s in await engine.map(signer, distinct)]
    return [raws[i % len(raws)] for i in range(n)]


async def run_suite(counts: Counts, progress: Progress | None = None) -> dict[str, Any]:
    """The suite on the running loop (starts and stops its own Ray cluster)."""
    import ray
    from ray.cluster_utils import Cluster as RayCluster

    from aioultra.cluster import Cluster  # sets Ray's loopback and no-usage-report variables first

    txs = await _corpus(counts.txs)
    out: dict[str, Any] = {"txs": counts.txs, "batch": counts.batch, "rounds": counts.rounds, "nodes": counts.nodes}
    async with aioultra.Engine() as engine:
        out["local_tx_sender_tx_s"] = await _rate(lambda: engine.map(kernels.tx_sender, txs), len(txs), counts.rounds)
        out["local_rlp_tx_tx_s"] = await _rate(
            lambda: engine.map(kernels.rlp_tx, txs, raw=True), len(txs), counts.rounds
        )
    if progress:
        progress.step("cluster: local engine")
    # Ray starts its node processes from the main thread only (signal handlers): on the loop
    # thread, blocking it for the set-up, which is not measured
    local = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1})
    try:
        for _ in range(counts.nodes - 1):
            local.add_node(num_cpus=1)
        async with await Cluster.connect(local.address) as cluster:
            if progress:
                progress.step("cluster: started")
            await cluster.map(kernels.noop, [b""] * 4, batch_size=1)  # warm every engine
            out["ray_call_ms"] = await p50_ms(cluster.ping, 50)
            out["empty_batch_ms"] = await p50_ms(lambda: cluster.map(kernels.noop, [b""], batch_size=1), 50)
            b = counts.batch
            out["cluster_tx_sender_tx_s"] = await _rate(
                lambda: cluster.map(kernels.tx_sender, txs, batch_size=b), len(txs), counts.rounds
            )
            out["cluster_rlp_tx_tx_s"] = await _rate(
                lambda: cluster.map(kernels.rlp_tx, txs, batch_size=b, raw=True), len(txs), counts.rounds
            )
            out["engines"] = len(cluster.live_engines)
    finally:
        ray.shutdown()
        local.shutdown()
    out["tx_sender_share"] = out["cluster_tx_sender_tx_s"] / out["local_tx_sender_tx_s"]
    out["rlp_tx_share"] = out["cluster_rlp_tx_tx_s"] / out["local_rlp_tx_tx_s"]
    out["empty_batch_x_ray_call"] = out["empty_batch_ms"] / out["ray_call_ms"]
    if progress:
        progress.step("cluster: done")
    return out


def print_suite(s: dict[str, Any]) -> None:
    """The suite's table."""
    print(f"\n== aioultra.cluster ({s['engines']} one-CPU nodes on this machine) vs one local engine ==")
    print(f"a bare Ray actor call p50 {s['ray_call_ms']:.2f} ms; an empty batch through the cluster p50 "
          f"{s['empty_batch_ms']:.2f} ms ({s['empty_batch_x_ray_call']:.2f}x)")  # fmt: skip
    for name in ("tx_sender", "rlp_tx"):
        print(
            f"map({name}) of {s['txs']:,} txs: local {s[f'local_{name}_tx_s']:>10,.0f} tx/s, cluster (batches of "
            f"{s['batch']:,}) {s[f'cluster_{name}_tx_s']:>10,.0f} tx/s = {s[f'{name}_share']:.0%}"
        )
