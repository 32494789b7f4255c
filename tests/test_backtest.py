"""examples.backtest: a reproducible recording, and the replay on one engine and on a local
two-node Ray cluster (the example's own, started and stopped by it) finding the same
opportunities."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import aioultra
from examples.backtest import recording
from examples.backtest.replay import replay
from examples.mempool_watcher.pools import PoolSet

from .helpers import wait_for

pytestmark = pytest.mark.asyncio_only("the backtest example is an asyncio program")

ROOT = Path(__file__).resolve().parent.parent
POOLS = ROOT / "examples" / "mempool_watcher" / "data" / "pools.json"


async def test_recording_is_reproducible_and_replays(engine: aioultra.Engine, tmp_path: Path) -> None:
    pools = json.loads(POOLS.read_text())["pools"]
    first = await wait_for(recording.generate(400, 7, pools, engine), 60)
    assert first == await wait_for(recording.generate(400, 7, pools, engine), 60)
    assert first != await wait_for(recording.generate(400, 8, pools, engine), 60)
    recording.save(tmp_path / "r.bin", first)
    assert recording.load(tmp_path / "r.bin") == first
    senders = await wait_for(engine.map(aioultra.kernels.tx_sender, first))  # every one validly signed
    assert len({s.sender for s in senders}) > 100
    result = await wait_for(replay(first, PoolSet.load(POOLS), engine, batch=100), 60)
    c = result.counters
    assert c.received == c.decoded == 400 and c.swaps > 50 and c.opportunities > 10
    assert c.nonce_gaps == 0 and c.replacements == 0  # consecutive nonces per sender, in order


@pytest.mark.ray
def test_backtest_on_a_local_cluster(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "examples.backtest", "--count", "4000", "--batch", "1000",
            "--recording", str(tmp_path / "rec.bin"), "--json", str(out),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["transactions"] == 4000 and figures["engines"] == 2
    assert figures["same_opportunities"] is True and figures["opportunities"] > 100
    assert figures["local_tx_s"] > 0 and figures["cluster_tx_s"] > 0
    assert figures["empty_batch_ms"] > 0 and figures["ray_call_ms"] > 0
    assert "# same opportunities on both: True" in proc.stdout
