"""The issue's targets for the traffic shapes, checked against one run (``--check-targets``).

Printed only: a missed target never makes the bench exit non-zero (the machine is shared and
noisy; the figures are for reading).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .shapes import LOOP_ALONE, NOOP, PAUSES_US, PYTHON_FN, pause_name


def _suites(loops: dict[str, Any], key: str) -> Iterator[tuple[str, Any]]:
    """(loop, that loop's ``key`` suite) for every loop that ran it."""
    for loop, suite in loops.items():
        if key in suite:
            yield loop, suite[key]


def _target(loop: str, what: str, value: float | None, limit: float, unit: str, strict: bool = False) -> dict[str, Any]:
    met = value is not None and (value < limit if strict else value <= limit)
    return {"loop": loop, "target": what, "value": value, "limit": limit, "unit": unit, "met": met}


def evaluate(loops: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target of every loop that ran the shapes suite, with its figure and met / not met."""
    out: list[dict[str, Any]] = []
    for loop, s in _suites(loops, "shapes"):
        for name, shape in s["shapes"].items():
            noop = shape["paths"][NOOP]
            out.append(_target(loop, f"{name}: submit(noop) p50 <= 0.5x run_in_executor", noop["p50_x_rie"], 0.5, "x"))
            out.append(_target(loop, f"{name}: submit(noop) p99 <= 0.7x run_in_executor", noop["p99_x_rie"], 0.7, "x"))
            out.append(
                _target(loop, f"{name}: submit(noop) p50 <= 2x the same-CPU floor", noop["p50_x_floor"], 2.0, "x")
            )
        for pause_us in PAUSES_US:
            name = pause_name(pause_us)
            fn = s["shapes"][name]["paths"][PYTHON_FN]
            out.append(
                _target(loop, f"{name}: submit(python_fn) p50 <= 0.5x run_in_executor", fn["p50_x_rie"], 0.5, "x")
            )
        b2b = s["shapes"][pause_name(0)]["paths"][NOOP]
        out.append(_target(loop, "back to back: submit(noop) p50 <= 0.1x run_in_executor", b2b["p50_x_rie"], 0.1, "x"))
        for name, cost in s["loop_cost"].items():
            out.append(
                _target(loop, f"{name}: loop thread's own cost per submit p50 <= 3 us", cost[NOOP]["p50_us"], 3.0, "us")
            )
        idle = s["cpu"]["idle"]["workers_pct"]
        out.append(_target(loop, "idle engine from 100 ms after its last task < 1% of one core", idle, 1.0, "%", True))
    return out


def evaluate_submission(loops: dict[str, Any]) -> list[dict[str, Any]]:
    """The submission suite's targets (issue 10), per loop that ran it."""
    out: list[dict[str, Any]] = []
    for loop, s in _suites(loops, "submission"):
        out.append(_target(loop, "gather of 1000 submit(noop) >= 10x run_in_executor", -s["gather.x_rie"], -10, "x"))
        out.append(
            _target(
                loop, "256 coroutines awaiting submit(noop) >= 10x run_in_executor", -s["coroutines.x_rie"], -10, "x"
            )
        )
        out.append(
            _target(loop, "gather of 1000 submit(noop) within 1.5x the asyncio floor", s["gather.x_floor"], 1.5, "x")
        )
        out.append(
            _target(loop, "loop thread's cost of one kernel submit p50 <= 1 us", s["loop_cost.noop_us"], 1.0, "us")
        )
        for key in ("submit_many_noop", "map_noop"):
            out.append(_target(loop, f"{key} >= 8M items/s", -s["items." + key] / 1e6, -8.0, "M/s"))
    return out


def evaluate_metrics(loops: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics suite's targets (issue 11), per loop that ran it."""
    out: list[dict[str, Any]] = []
    for loop, s in _suites(loops, "metrics"):
        out.append(
            _target(loop, "histograms on: submit(noop) p50 within 3% of off", s["submit_p50_on_x_off"], 1.03, "x")
        )
        out.append(_target(loop, "histograms on: map(noop) items/s within 3% of off", s["map_off_x_on"], 1.03, "x"))
        out.append(_target(loop, "stats() with histograms <= 20 us", s["on"]["stats_us"], 20.0, "us"))
    return out


def evaluate_eth(s: dict[str, Any] | None, loop: str) -> list[dict[str, Any]]:
    """The signature kernels' targets (issue 12), when the eth suite ran (on ``loop``)."""
    if s is None:
        return []
    return [
        _target(loop, "tx_sender on 1 worker >= 6x recover_transaction", -s["tx_sender_x_eth_account"], -6, "x"),
        _target(loop, "map(tx_sender) on 2 workers >= 1.8x one worker", -s["tx_sender_2w_speedup"], -1.8, "x"),
        _target(loop, "sign_tx >= 10x Account.sign_transaction", -s["sign_x_eth_account"], -10, "x"),
    ]


def evaluate_cluster(s: dict[str, Any] | None, loop: str) -> list[dict[str, Any]]:
    """aioultra.cluster's target (issue 14), when the cluster suite ran (on ``loop``)."""
    if s is None:
        return []
    return [
        _target(loop, f"cluster map(tx_sender), batches of {s['batch']:,}: >= 70% of one local engine",
                -s["tx_sender_share"], -0.7, "x"),
    ]  # fmt: skip


def python_floor(loops: dict[str, Any]) -> list[str]:
    """Context for the floor targets: per pause, submit(noop) p50 next to the loop alone (the
    loop's own eventfd round trip, no other thread): what Python itself costs at that pause."""
    lines: list[str] = []
    for loop, s in _suites(loops, "shapes"):
        for pause_us in PAUSES_US:
            paths = s["shapes"][pause_name(pause_us)]["paths"]
            noop, alone = paths[NOOP]["p50_us"], paths[LOOP_ALONE]["p50_us"]
            lines.append(
                f"{loop:8} {pause_name(pause_us):12} submit(noop) p50 {noop:7.1f} us = {noop / alone:5.2f}x "
                f"the loop alone ({alone:.1f} us)"
            )
    return lines


def print_targets(targets: list[dict[str, Any]], context: list[str] | None = None) -> None:
    """One line per target: met / NOT met, the figure and the limit."""
    print("\n== targets (issues 9 to 12 and 14) ==")
    for t in targets:
        # "at least" targets are stored negated (so <= works for both kinds); print them as they read
        shown = None if t["value"] is None else abs(t["value"]) if t["limit"] < 0 else t["value"]
        value = "-" if shown is None else f"{shown:.2f}{t['unit']}"
        mark = "met    " if t["met"] else "NOT met"
        print(f"[{mark}] {t['loop']:8} {t['target']:66} {value:>9}  (limit {abs(t['limit']):g}{t['unit']})")
    met = sum(t["met"] for t in targets)
    print(f"{met} of {len(targets)} targets met")
    if context:
        print("\n-- the Python floor: the loop's own eventfd round trip, no other thread --")
        for line in context:
            print(line)
