"""``--plot DIR``: PNG figures of the traffic-shape suite (matplotlib, ``pip install aioultra[bench]``).

Per event loop that ran the suite:

* ``latency_<loop>.png``: the distribution (CDF, log time axis) of each path's round trip, one
  panel per pause between submissions (back to back ... 5 ms);
* ``pause_<loop>.png``: p50 and p99 of ``submit(noop)``, ``submit(python_fn)``,
  ``run_in_executor(noop)`` and ``to_thread(noop)`` against the pause, with the same-CPU
  physical floor of each pause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .shapes import NOOP, PAUSES_US, PYTHON_FN, RIE, SPIN, TO_THREAD, pause_name

CDF_PATHS = (NOOP, PYTHON_FN, SPIN, RIE, TO_THREAD)
PAUSE_PATHS = (NOOP, PYTHON_FN, RIE, TO_THREAD)


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise SystemExit("--plot needs matplotlib: pip install 'aioultra[bench]'") from exc
    matplotlib.use("Agg")  # files only, no display
    import matplotlib.pyplot as plt

    return plt


def write_figures(report: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write the figures of every loop's shapes suite in ``report`` into ``directory``
    (created if missing); returns the files written."""
    plt = _pyplot()
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for loop, suite in report["loops"].items():
        shapes = suite.get("shapes")
        if shapes is None:
            continue
        written.append(_latency_figure(plt, loop, shapes, out_dir / f"latency_{loop}.png"))
        written.append(_pause_figure(plt, loop, shapes, out_dir / f"pause_{loop}.png"))
    return written


def _latency_figure(plt: Any, loop: str, shapes: dict[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(1, len(PAUSES_US), figsize=(4.2 * len(PAUSES_US), 3.6), sharey=True)
    for ax, pause_us in zip(axes, PAUSES_US, strict=True):
        name = pause_name(pause_us)
        paths = shapes["shapes"][name]["paths"]
        for label in CDF_PATHS:
            cdf = paths.get(label, {}).get("cdf_us")
            if not cdf:
                continue
            fractions = [i / (len(cdf) - 1) for i in range(len(cdf))]
            ax.step([max(v, 0.1) for v in cdf], fractions, where="post", label=label)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(plt.NullFormatter())  # decades only: minor labels overlap
        ax.set_title(name)
        ax.set_xlabel("round trip (us)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].set_ylabel("fraction of awaits")
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(f"aioultra bench, {loop}: round-trip distribution per path and pause")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _pause_figure(plt: Any, loop: str, shapes: dict[str, Any], path: Path) -> Path:
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    x = list(range(len(PAUSES_US)))
    for ax, key in zip(axes, ("p50_us", "p99_us"), strict=True):
        for label in PAUSE_PATHS:
            ys = [shapes["shapes"][pause_name(p)]["paths"][label][key] for p in PAUSES_US]
            ax.plot(x, ys, marker="o", label=label)
        floors = [(shapes["floors"][pause_name(p)].get("same_cpu") or {}).get(key) for p in PAUSES_US]
        if all(f is not None for f in floors):
            ax.plot(x, floors, linestyle="--", color="gray", label="floor (same CPU)")
        ax.set_yscale("log")
        ax.set_xticks(x, [pause_name(p) for p in PAUSES_US])
        ax.set_xlabel("pause between submissions")
        ax.set_ylabel(f"{key[:3]} round trip (us)")
        ax.set_title(key[:3])
        ax.grid(True, which="both", alpha=0.3)
    axes[1].legend(fontsize=7)
    fig.suptitle(f"aioultra bench, {loop}: latency against the pause between submissions")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
