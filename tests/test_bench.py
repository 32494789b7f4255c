"""The benchmark runs end to end and reports every path (figures are not asserted: the
machine is shared and noisy; targets live in docs/performance.md)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog

from aioultra import _ffi
from aioultra.bench import shapes, targets
from aioultra.bench.pacer import Pacer


@pytest.mark.main_python  # the bench CLI end to end, 10-20 s: once, in the main Python's pass
def test_bench_quick_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aioultra.bench",
            "--quick",
            "--no-shapes",
            "--no-submission",
            "--no-metrics",
            "--no-eth",
            "--json",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["targets"] == []  # the targets belong to the shapes, submission, metrics and eth suites
    assert "eth" not in report
    paths = {
        "aioultra.submit(noop)",
        "aioultra.submit(python_fn)",
        "run_in_executor",
        "asyncio.to_thread",
        "anyio.to_thread.run_sync",
    }
    assert set(report["loops"]) == {"asyncio", "uvloop"}
    for suite in report["loops"].values():
        assert "shapes" not in suite and "submission" not in suite
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
    assert set(report["executor"]) == {
        f"{ex}: {path}"
        for ex in ("aioultra.Executor", "ThreadPoolExecutor")
        for path in ("submit().result()", "asyncio.to_thread")
    }
    assert all(0 < r["p50_us"] <= r["p99_us"] for r in report["executor"].values())
    assert "ratios (x) are against run_in_executor" in proc.stdout
    # the trio suite is in the default run (trio is in the bench extra)
    assert list(report["trio"]["shapes"]) == ["pause 0", "pause 1ms", "burst 64"]
    assert "trio" in proc.stdout and "'x tt': against trio.to_thread.run_sync" in proc.stdout


def test_bench_rejects_unknown_loop() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--loops", "trio"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "unknown loop 'trio'" in proc.stderr and "--trio-only" in proc.stderr


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


def _positive(r: dict[str, Any]) -> None:
    assert r["n"] > 0
    assert 0 < r["p50_us"] <= r["p99_us"]


def check_shapes_suite(suite: dict[str, Any]) -> None:
    """Structure of one loop's traffic-shape results: every shape x path, floors, loop-thread
    cost and CPU use, with positive figures (never their size: the machine is noisy)."""
    assert set(suite["shapes"]) == set(shapes.SHAPES)
    for name, shape in suite["shapes"].items():
        expected = set(shapes.PATHS) - ({shapes.LOOP_ALONE} if shape["kind"] == "burst" else set())
        assert set(shape["paths"]) == expected, name
        assert shape["floor"] in suite["floors"]
        if name == "pause 0":
            assert shape["pause_us"] is None and shape["pause_overrun_us"] is None
        else:
            _positive(shape["pause_us"])
            assert shape["pause_overrun_us"]["p50_us"] >= 0
        for r in shape["paths"].values():
            _positive(r)
            assert r["p50_x_rie"] > 0 and r["p99_x_rie"] > 0 and r["p50_x_floor"] > 0
            if shape["kind"] == "burst":
                _positive(r["burst_us"])
                assert r["n"] == shape["burst"] * r["burst_us"]["n"]
        assert shape["paths"][shapes.RIE]["p50_x_rie"] == 1.0
    assert set(suite["floors"]) == {shapes.pause_name(p) for p in shapes.PAUSES_US}
    for floor in suite["floors"].values():
        assert floor["caller_cpu"] >= 0
        _positive({**floor["same_cpu"], "n": floor["n"]})
        assert floor["same_cpu"]["peer_cpu"] == floor["caller_cpu"]
        if len(os.sched_getaffinity(0)) > 1:
            _positive({**floor["other_cpu"], "n": floor["n"]})
            assert floor["other_cpu"]["peer_cpu"] != floor["caller_cpu"]
    assert set(suite["loop_cost"]) == set(suite["floors"])
    for cost in suite["loop_cost"].values():
        assert set(cost) == {shapes.NOOP, shapes.LOOP_COST_CPU, shapes.RIE_CALL}
        for r in cost.values():
            _positive(r)
    cpu = suite["cpu"]
    assert cpu["idle"]["workers_pct"] >= 0 and cpu["idle"]["seconds"] > 0
    assert cpu["engine_1khz"]["rate_hz"] > 0 and cpu["engine_1khz"]["workers_pct"] >= 0
    assert cpu["run_in_executor_1khz"]["rate_hz"] > 0 and cpu["run_in_executor_1khz"]["executor_pct"] >= 0
    assert cpu["workers_by_tid"] and all(tid > 0 for tid in cpu["worker_tids"])


@pytest.mark.main_python  # the bench CLI end to end, 10-20 s: once, in the main Python's pass
def test_bench_shapes_quick_json(tmp_path: Path) -> None:
    out = tmp_path / "shapes.json"
    plots = tmp_path / "plots"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aioultra.bench",
            "--quick",
            "--shapes-only",
            "--check-targets",
            "--json",
            str(out),
            "--plot",
            str(plots),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]  # missed targets never fail the run
    report = json.loads(out.read_text())
    assert set(report["loops"]) == {"asyncio", "uvloop"}
    assert "micro" not in report and "map" not in report
    for suite in report["loops"].values():
        assert set(suite) == {"shapes"}
        check_shapes_suite(suite["shapes"])
    assert {t["loop"] for t in report["targets"]} == {"asyncio", "uvloop"}
    assert len(report["targets"]) == 2 * len(targets.evaluate({"x": report["loops"]["uvloop"]}))
    assert all(isinstance(t["met"], bool) and t["value"] is not None for t in report["targets"])
    for kind in ("asyncio", "uvloop"):
        assert f"== {kind}: traffic shapes" in proc.stdout
        assert f"-- {kind}: physical floor" in proc.stdout
        assert f"-- {kind}: CPU use" in proc.stdout
    assert "targets met" in proc.stdout
    # --plot: two figures per loop, real PNG files of some size, drawn from the suite's CDFs
    for kind in ("asyncio", "uvloop"):
        for name in (f"latency_{kind}.png", f"pause_{kind}.png"):
            data = (plots / name).read_bytes()
            assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, name
            assert f"wrote {plots / name}" in proc.stdout
    cdf = report["loops"]["uvloop"]["shapes"]["shapes"]["pause 0"]["paths"]["submit(noop)"]["cdf_us"]
    assert len(cdf) == 101 and cdf == sorted(cdf)


def test_bench_plot_needs_the_shapes_suite() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--submission-only", "--plot", "x"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 2 and "--plot draws the traffic-shape suite" in proc.stderr


def test_bench_metrics_quick_json(tmp_path: Path) -> None:
    out = tmp_path / "metrics.json"
    proc = subprocess.run(
        [
            sys.executable, "-m", "aioultra.bench", "--quick", "--metrics-only", "--loops", "uvloop",
            "--check-targets", "--json", str(out),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    s = report["loops"]["uvloop"]["metrics"]
    assert set(report["loops"]["uvloop"]) == {"metrics"}
    for setting in ("on", "off"):
        assert s[setting]["submit_p50_us"] > 0 and s[setting]["map_items_s"] > 0 and s[setting]["stats_us"] > 0
        assert s[setting]["scrape_us"] > 0  # prometheus_client is installed with the tests
    assert s["submit_p50_on_x_off"] > 0 and s["map_off_x_on"] > 0
    assert len(report["targets"]) == 3
    assert "== uvloop: latency histograms on / off" in proc.stdout


@pytest.mark.asyncio_only("the benchmark harness runs on asyncio loops")
async def test_shapes_suite_tiny() -> None:
    """The suite's internal entry point, on the test's loop (asyncio and uvloop)."""
    suite = await shapes.run_suite(shapes.TINY)
    check_shapes_suite(suite)
    assert len(targets.evaluate({"loop": {"shapes": suite}})) > 0


@pytest.mark.asyncio_only("the benchmark harness runs on asyncio loops")
async def test_pacer_pauses_in_the_loop() -> None:
    with Pacer(seed=3) as pacer:
        draws = [pacer.jittered(1000) for _ in range(200)]
        assert all(500 <= d < 1500 for d in draws)
        for ns in (1, 50_000, 200_000):
            await asyncio.wait_for(pacer.pause(ns), timeout=5)
    assert Pacer(seed=3).jittered(1000) == draws[0]


def test_floor_round_trip() -> None:
    p50, p99 = _ffi.floor_round_trip(-1, -1, 0, False, 50)
    assert 0 < p50 <= p99
    p50, p99 = _ffi.floor_round_trip(-1, -1, 20_000, True, 10)
    assert 0 < p50 <= p99
    for bad in ((-1, -1, 0, False, 0), (-1, -1, -5, False, 10), (-2, -1, 0, False, 10), (-1, 1 << 20, 0, False, 10)):
        with pytest.raises(ValueError):
            _ffi.floor_round_trip(*bad)
    absent = max(os.sched_getaffinity(0)) + 1
    if absent < 1024:  # a CPU this process may not run on: pinning fails with EINVAL
        with pytest.raises(OSError):
            _ffi.floor_round_trip(-1, absent, 0, False, 10)
        with pytest.raises(OSError):
            _ffi.floor_round_trip(absent, -1, 0, False, 10)


@pytest.mark.asyncio_only("the benchmark harness runs on asyncio loops")
async def test_submission_suite_tiny() -> None:
    """The submission suite on the test's loop (asyncio and uvloop): every figure present and
    positive, and its targets evaluated."""
    from aioultra.bench import submission

    s = await submission.run_suite(submission.TINY)
    for key in ("floor_us", "gather.submit_us", "gather.rie_us", "coroutines.submit_us", "loop_cost.noop_us"):
        assert s[key] > 0, key
    for key in ("submit_many_noop", "map_noop", "map_spin0", "map_univ2", "map_rlp_tx", "map_rlp_tx_raw"):
        assert s["items." + key] > 0, key
    assert s["batches_submitted"] > 0  # the maps ran as batch tasks
    found = targets.evaluate_submission({"loop": {"submission": s}})
    assert len(found) == 6 and all(isinstance(t["met"], bool) for t in found)


def test_bench_eth_quick_json(tmp_path: Path) -> None:
    out = tmp_path / "eth.json"
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--quick", "--eth-only", "--check-targets", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    s = report["eth"]
    for key in ("recover_eth_account_us", "recover_coincurve_us", "tx_sender_1w_us", "tx_sender_2w_us"):
        assert s[key] > 0, key
    for key in ("sign_eth_account_us", "sign_coincurve_us", "sign_tx_1w_us"):
        assert s[key] > 0, key
    assert s["tx_sender_x_eth_account"] == pytest.approx(s["recover_eth_account_us"] / s["tx_sender_1w_us"])
    assert len(report["targets"]) == 3 and {t["loop"] for t in report["targets"]} == {"uvloop"}
    assert "== signature kernels vs eth-account" in proc.stdout
    assert all("shapes" not in suite and "metrics" not in suite for suite in report["loops"].values())


@pytest.mark.asyncio_only("the benchmark harness runs on asyncio loops")
async def test_eth_suite_tiny() -> None:
    """The eth suite on the test's loop (asyncio and uvloop): every figure positive."""
    from aioultra.bench import eth

    s = await eth.run_suite(eth.TINY)
    assert s["txs"] == eth.TINY.txs and s["signs"] > 0
    assert all(v > 0 for k, v in s.items() if k.endswith("_us"))
    assert len(targets.evaluate_eth(s, "loop")) == 3


def test_trio_suite_tiny() -> None:
    """The trio suite in its own trio.run: every shape and path, ratios against to_thread with
    the same work (1.0 for to_thread itself), the floor of each pause."""
    from aioultra.bench import trio_run
    from aioultra.bench.common import Progress

    s = trio_run.run_suite(trio_run.TINY, Progress(trio_run.STEPS))
    assert list(s["shapes"]) == ["pause 0", "pause 1ms", f"burst {trio_run.BURST}"]
    for name, shape in s["shapes"].items():
        assert set(shape["paths"]) == set(trio_run.BASELINE), name
        for path, r in shape["paths"].items():
            assert r["p50_us"] > 0 and r["p99_us"] >= r["p50_us"], (name, path)
            if path == trio_run.BASELINE[path]:
                assert r["p50_x_to_thread"] == 1.0
        assert (shape["floor"] is None) == name.startswith("burst")
    assert s["shapes"]["pause 0"]["floor"]["same_cpu"]["p50_us"] > 0
    samples = s["shapes"][f"burst {trio_run.BURST}"]["paths"]["submit(noop)"]["n"]
    assert samples == trio_run.ROUNDS * max(1, trio_run.TINY.bursts // trio_run.ROUNDS) * trio_run.BURST


def test_bench_trio_only_excludes_the_other_only_flags() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--trio-only", "--eth-only"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2 and "--trio-only excludes" in proc.stderr


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--shapes-only", "--submission-only"], "--submission-only excludes the other --*-only flags"),
        (["--metrics-only", "--cluster-only"], "--cluster-only excludes the other --*-only flags"),
        (["--trio-only", "--shapes-only"], "--trio-only excludes the other --*-only flags"),
        (["--shapes-only", "--no-shapes"], "--shapes-only and --no-shapes exclude each other"),
        (["--submission-only", "--no-submission"], "--submission-only and --no-submission exclude each other"),
        (["--metrics-only", "--no-metrics"], "--metrics-only and --no-metrics exclude each other"),
        (["--eth-only", "--no-eth"], "--eth-only and --no-eth exclude each other"),
    ],
)
def test_bench_rejects_flags_that_exclude_each_other(
    flags: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from aioultra.bench.__main__ import main

    config = structlog.get_config()  # main() sets the log level of the whole process: restored after
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(flags)
    finally:
        structlog.configure(**config)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bench_rejects_no_loop() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "aioultra.bench", "--loops", ","], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "names no loop" in proc.stderr


@pytest.mark.ray
def test_cluster_suite_tiny() -> None:
    """The cluster suite with its own local two-node Ray cluster: every figure present, both
    engines used, and its target evaluated."""
    from aioultra.bench import cluster

    s = asyncio.run(cluster.run_suite(cluster.TINY))
    assert s["engines"] == 2
    for key in (
        "ray_call_ms",
        "empty_batch_ms",
        "local_tx_sender_tx_s",
        "cluster_tx_sender_tx_s",
        "cluster_rlp_tx_tx_s",
    ):
        assert s[key] > 0, key
    assert s["tx_sender_share"] == pytest.approx(s["cluster_tx_sender_tx_s"] / s["local_tx_sender_tx_s"])
    found = targets.evaluate_cluster(s, "asyncio")
    assert len(found) == 1 and isinstance(found[0]["met"], bool)
