"""The benchmark runs end to end and reports every path (figures are not asserted: the
machine is shared and noisy; targets live in docs/performance.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path


def test_bench_quick_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    paths = {
        "aioultra.submit(noop)",
        "aioultra.submit(python_fn)",
        "run_in_executor",
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
    }
    assert set(report["loops"]) == {"asyncio", "uvloop"}
    for suite in report["loops"].values():
        assert set(suite["latency"]) == paths
        assert set(suite["throughput"]) == paths
        for r in suite["latency"].values():
            assert 0 < r["p50_us"] <= r["p99_us"] <= r["p999_us"]
    assert set(report["micro"]) == {
        "deque push+pop",
        "deque steal",
        "injector push+pop",
        "completion push+drain",
        "pool alloc+free",
    }
    assert all(v > 0 for v in report["micro"].values())
    assert {"aioultra.map(noop)", "aioultra.map(keccak256)"} <= set(report["map"])
    assert "ratios (x) are against run_in_executor" in proc.stdout


def test_bench_rejects_unknown_loop() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--loops", "trio"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "unknown loop 'trio'" in proc.stderr


def test_bench_tune_quick(tmp_path: Path) -> None:
    out = tmp_path / "tune.json"
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--tune", "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = json.loads(out.read_text())["tune"]["rows"]
    assert {r["spin_us"] for r in rows} == {0, 10, 50, 200}
    for r in rows:
        assert 0 < r["p50_us"] <= r["p99_us"] and r["busy_cycle_us"] > 0 and r["map_keccak"] > 0
