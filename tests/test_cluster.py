"""aioultra.cluster on a real local Ray cluster of two nodes (Ray's own cluster_utils.Cluster,
one CPU each, every node on 127.0.0.1): batches spread across the engines, results in order,
targets by name only, and a node killed in the middle of a map (every item's result still
comes back, from one run)."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aioultra
from aioultra import kernels

from . import cluster_jobs
from .helpers import to_thread, wait_for

pytestmark = [pytest.mark.ray, pytest.mark.asyncio_only("aioultra.cluster runs on asyncio (Ray's async API)")]

ROOT = Path(__file__).resolve().parent.parent
RAW = [bytes.fromhex(t["raw"]) for t in json.loads((ROOT / "tests/data/transactions.json").read_text())["transactions"]]


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    """Two Ray nodes on this machine, and this process connected to them as the driver."""
    from aioultra import cluster  # sets Ray's loopback and no-usage-report variables first

    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    import ray
    from ray.cluster_utils import Cluster as RayCluster

    assert cluster.Cluster  # imported for its environment settings
    rc = RayCluster(initialize_head=True, head_node_args={"num_cpus": 1})
    rc.add_node(num_cpus=1)
    ray.init(address=rc.address, logging_level="ERROR", log_to_driver=False)
    try:
        yield rc
    finally:
        ray.shutdown()
        rc.shutdown()


async def test_every_node_is_on_loopback(ray_cluster: Any) -> None:
    import ray

    from aioultra.cluster import Cluster

    nodes = [n for n in ray.nodes() if n["Alive"]]
    assert len(nodes) >= 2 and {n["NodeManagerAddress"] for n in nodes} == {"127.0.0.1"}
    async with await wait_for(Cluster.connect(), 120) as cluster:
        assert len(cluster.engines) == len(nodes)
        assert {e.address for e in cluster.engines} == {"127.0.0.1"}
        assert len({e.pid for e in cluster.engines}) == len(nodes) and all(e.workers == 1 for e in cluster.engines)
        # nodes sharing this machine pin their engines to different CPUs (while it has enough)
        cpus = [c for e in cluster.engines for c in e.cpus]
        assert all(len(e.cpus) == 1 for e in cluster.engines)
        assert len(set(cpus)) == min(len(cpus), len(os.sched_getaffinity(0)))


async def test_map_spreads_batches_and_keeps_order(ray_cluster: Any, engine: aioultra.Engine) -> None:
    from aioultra.cluster import Cluster

    raws = RAW * 500
    local = await wait_for(engine.map(kernels.tx_sender, raws))
    async with await wait_for(Cluster.connect(), 120) as cluster:
        got = await wait_for(cluster.map(kernels.tx_sender, raws, batch_size=100), 120)
        assert got == local
        records = await wait_for(cluster.map(kernels.rlp_tx, raws[:50], batch_size=7, raw=True), 60)
        assert records == await wait_for(engine.map(kernels.rlp_tx, raws[:50], raw=True))
        stats = await wait_for(cluster.stats(), 60)
        assert len(stats.nodes) == 2 and all(s.tasks_completed > 0 for s in stats.nodes.values())  # both worked
        assert stats.tasks_completed >= len(raws) + 50 and stats.workers == 2
        pids = set(await wait_for(cluster.map("tests.cluster_jobs:where", range(40), batch_size=2), 60))
        assert len(pids) == 2  # Python functions run in the engines' processes, on both nodes
        assert await wait_for(cluster.map(cluster_jobs.square, [3, 4]), 60) == [9, 16]  # the function itself
        assert await wait_for(cluster.map(kernels.keccak256, []), 60) == []


async def test_errors_and_bad_targets(ray_cluster: Any) -> None:
    from aioultra.cluster import Cluster

    async with await wait_for(Cluster.connect(), 120) as cluster:
        with pytest.raises(aioultra.KernelError) as info:
            await wait_for(cluster.map(kernels.rlp_tx, [RAW[0]] * 25 + [b"\x05"], batch_size=10), 60)
        assert (info.value.code, info.value.index) == (kernels.ERR_TX_TYPE, 25)  # the index in the whole map
        out = await wait_for(cluster.map("tests.cluster_jobs:fail_on_13", range(20), return_exceptions=True), 60)
        assert isinstance(out[13], ValueError) and [x for i, x in enumerate(out) if i != 13] == [
            i for i in range(20) if i != 13
        ]
        for bad, match in [
            (lambda x: x, "cannot be shipped"),
            (kernels.signer(b"\x01" * 32), "not a built-in"),
            ("tests.cluster_jobs", "package.module:function"),
            ("tests.cluster_jobs:nope", "nope"),
            (3, "built-in kernels and importable functions"),
        ]:
            with pytest.raises((TypeError, ValueError, AttributeError), match=match):
                await cluster.map(bad, [1])  # type: ignore[arg-type]
        for kwargs in ({"batch_size": 0}, {"batch_size": True}, {"raw": "yes"}):
            with pytest.raises((TypeError, ValueError)):
                await cluster.map(kernels.noop, [b""], **kwargs)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="raw=True is for kernels"):
            await cluster.map("tests.cluster_jobs:square", [1], raw=True)
        assert await wait_for(cluster.map(kernels.noop, [b""] * 3), 60) == [b""] * 3  # still serving
    with pytest.raises(aioultra.cluster.ClusterError, match="closed"):
        await cluster.map(kernels.noop, [b""])
    with pytest.raises(ValueError):
        await Cluster.connect(batches_per_worker=0)


async def test_a_node_killed_mid_map_loses_no_item(ray_cluster: Any) -> None:
    """A third node joins, the map starts on three engines, and that node is removed once its
    engine has run something: its unfinished batches run again on the others; every item's
    result is right and comes once."""
    from aioultra.cluster import Cluster

    node = ray_cluster.add_node(num_cpus=1)
    async with await wait_for(Cluster.connect(), 120) as cluster:
        assert len(cluster.engines) == 3
        doomed = next(e for e in cluster.engines if e.node_id == node.node_id)
        items = list(range(600))
        running = asyncio.ensure_future(cluster.map("tests.cluster_jobs:square", items, batch_size=10))
        while True:  # until the doomed engine has finished a task (its stats say so)
            stats = await wait_for(cluster.stats(), 60)
            if stats.nodes.get(doomed.node_id) and stats.nodes[doomed.node_id].tasks_completed > 0:
                break
            assert not running.done()
        await to_thread(ray_cluster.remove_node, node)
        results = await wait_for(running, 120)
        assert results == [x * x for x in items]
        assert cluster.reruns >= 1 and doomed not in cluster.live_engines and len(cluster.live_engines) == 2


async def test_a_failing_batch_stops_the_map_and_the_cluster_serves_on(ray_cluster: Any, tmp_path: Path) -> None:
    """A batch that fails on its node (here: its function imports in the driver but not on the
    nodes) fails the map with that error, the batches still running are given up, and the
    cluster serves the next map; a cancelled map likewise leaves nothing behind."""
    import sys

    from aioultra.cluster import Cluster, ClusterError

    (tmp_path / "driver_only_jobs.py").write_text("def double(x):\n    return 2 * x\n")
    sys.path.insert(0, str(tmp_path))
    try:
        async with await wait_for(Cluster.connect(), 120) as cluster:
            with pytest.raises(Exception, match="driver_only_jobs"):
                await wait_for(cluster.map("driver_only_jobs:double", range(50), batch_size=5), 60)
            assert await wait_for(cluster.map("tests.cluster_jobs:square", range(30), batch_size=3), 60) == [
                x * x for x in range(30)
            ]
            slow = asyncio.ensure_future(cluster.map("tests.cluster_jobs:square", range(3000), batch_size=10))
            await wait_for(cluster.stats(), 60)  # a round trip while the map runs
            slow.cancel()
            with pytest.raises(asyncio.CancelledError):
                await slow
            assert await wait_for(cluster.map(kernels.keccak256, [b"a", b"b"]), 60) == await wait_for(
                cluster.map(kernels.keccak256, [b"a", b"b"], batch_size=1), 60
            )
            await wait_for(cluster.ping(), 60)
        with pytest.raises(ClusterError, match="closed"):
            await cluster.ping()
        for bad in (0, -1.0, True, "5"):
            with pytest.raises(ValueError, match="start_timeout"):
                await Cluster.connect(start_timeout=bad)  # type: ignore[arg-type]
    finally:
        sys.path.remove(str(tmp_path))
