"""The C stress gate is known to work: seeded bugs in the deque must make it fail.

csrc/deque.c carries two compile-time seeded bugs, each an ``#ifdef`` around one line:

- ``AIO_SEED_BUG_NO_LAST_CAS``: pop takes the last item without the CAS on ``top``, so a thief
  can take the same item. The plain (-O2) stress test must report duplicated or lost items.
- ``AIO_SEED_BUG_PUSH_RELAXED``: push publishes ``bottom`` with a relaxed store instead of a
  release store. x86 hides this, so the plain build may pass; under ThreadSanitizer the thief's
  read of the item's payload word is a data race, which must exit 66.

Each seeded binary is built into build/seeded/ and run with a short item count, repeated with
new seeds up to ``AIOULTRA_SEEDED_ATTEMPTS`` times (default 10) until it fails; the test asserts
it failed at least once, for the reason expected. The unseeded builds (plain and TSan) must pass
the same runs. ``scripts/ctest.sh seeded`` runs the same check from the shell.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "seeded"
ATTEMPTS = int(os.environ.get("AIOULTRA_SEEDED_ATTEMPTS", "10"))
COMMON = ["-std=gnu11", "-Wall", "-Wextra", "-Werror", "-pthread", "-Icsrc", "-Icsrc/kernels"]
SOURCES = ["csrc/tests/stress_deque.c", "csrc/deque.c"]
FLAGS = {"plain": ["-O2"], "tsan": ["-O1", "-g", "-fsanitize=thread"]}
ENV = {"TSAN_OPTIONS": "halt_on_error=1 exitcode=66"}
# items per run: short, but each section still races thousands of times
ITEMS = {"plain": "200000", "tsan": "20000"}
THIEVES = "4"


def _have_tsan() -> bool:
    if shutil.which("gcc") is None:
        return False
    path = subprocess.run(["gcc", "-print-file-name=libtsan.so"], capture_output=True, text=True).stdout.strip()
    return os.path.isabs(path)


def build(variant: str, bug: str | None) -> Path:
    """Compile stress_deque for `variant` (plain/tsan), with the seeded `bug` macro if given."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    if variant == "tsan" and not _have_tsan():
        pytest.skip("gcc has no ThreadSanitizer runtime")
    OUT.mkdir(parents=True, exist_ok=True)
    exe = OUT / f"stress_deque-{variant}-{(bug or 'unseeded').lower()}"
    defines = [f"-D{bug}"] if bug else []
    cmd = ["gcc", *FLAGS[variant], *COMMON, *defines, *SOURCES, "-o", str(exe)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"build failed: {' '.join(cmd)}\n{proc.stderr}"
    return exe


def run(exe: Path, variant: str, seed: int) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(exe), ITEMS[variant], THIEVES, str(seed)],
        cwd=ROOT,
        env=dict(os.environ, **ENV),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _counts(stdout: str, key: str) -> int:
    return sum(int(m) for m in re.findall(rf"\b{key}=(\d+)", stdout))


@pytest.mark.parametrize("variant", ["plain", "tsan"])
def test_unseeded_build_passes(variant: str) -> None:
    exe = build(variant, None)
    for seed in (1, 2):
        proc = run(exe, variant, seed)
        assert proc.returncode == 0, f"seed {seed}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
        assert "stress_deque: PASSED" in proc.stdout
        assert "ThreadSanitizer" not in proc.stderr


def _fails_within_attempts(
    exe: Path, variant: str, expect: str
) -> tuple[subprocess.CompletedProcess[str] | None, list[str]]:
    """Run up to ATTEMPTS times (seeds 1, 2, ...) until a run fails the way `expect` says.
    Returns (the failing run or None, one note per run)."""
    notes: list[str] = []
    for attempt in range(1, ATTEMPTS + 1):
        proc = run(exe, variant, attempt)
        last = proc.stdout.strip().splitlines()[-1:] or [""]
        notes.append(f"seed {attempt}: rc={proc.returncode} {last[0]}")
        if expect == "tsan":
            caught = proc.returncode == 66 and "WARNING: ThreadSanitizer: data race" in proc.stderr
        else:
            bad = _counts(proc.stdout, "duplicated") + _counts(proc.stdout, "lost")
            caught = proc.returncode == 1 and "stress_deque: FAILED" in proc.stdout and bad > 0
        if caught:
            return proc, notes
        # a crash or a timeout is not the signal this test looks for
        assert proc.returncode in (0, 1), f"seed {attempt}: rc={proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return None, notes


def test_no_last_cas_gives_duplicates() -> None:
    """Pop's last-item CAS removed: the plain stress test sees items taken twice (or lost)."""
    exe = build("plain", "AIO_SEED_BUG_NO_LAST_CAS")
    proc, notes = _fails_within_attempts(exe, "plain", "items")
    assert proc is not None, "the stress test never caught the missing last-item CAS:\n" + "\n".join(notes)
    assert "FAIL" in proc.stderr  # names the first duplicated or lost item


def test_push_relaxed_is_a_tsan_race() -> None:
    """Push's release store of bottom made relaxed: TSan reports the payload race (exit 66)."""
    exe = build("tsan", "AIO_SEED_BUG_PUSH_RELAXED")
    proc, notes = _fails_within_attempts(exe, "tsan", "tsan")
    assert proc is not None, "TSan never caught the relaxed publication in push:\n" + "\n".join(notes)
    # the race is on the item's payload word: the owner's plain write before the push and a
    # taker's plain read after the steal
    assert "push_or_die" in proc.stderr and "take" in proc.stderr, proc.stderr[-3000:]


def _litmus(bug: str | None) -> subprocess.CompletedProcess[str]:
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    OUT.mkdir(parents=True, exist_ok=True)
    exe = OUT / f"litmus_park-{(bug or 'unseeded').lower()}"
    defines = [f"-D{bug}"] if bug else []
    cmd = ["gcc", "-O2", *COMMON, *defines, "csrc/tests/litmus_park.c", "csrc/deque.c", "-o", str(exe)]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, f"build failed: {' '.join(cmd)}\n{proc.stderr}"
    return subprocess.run([str(exe), "200000"], cwd=ROOT, capture_output=True, text=True, timeout=120)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="store buffering needs two CPUs")
def test_park_litmus_catches_a_relaxed_deque_publication() -> None:
    """Review finding 2: the deque publication and a parking peer's re-check must not both miss
    each other. The litmus test passes on the real code and sees the forbidden outcome when
    push publishes `bottom` relaxed (a plain store on x86, as the release store was)."""
    ok = _litmus(None)
    assert ok.returncode == 0 and "litmus_park: ok" in ok.stdout, ok.stdout + ok.stderr
    bad = _litmus("AIO_SEED_BUG_PUSH_RELAXED")
    assert bad.returncode == 1 and "litmus_park: FAIL" in bad.stdout, bad.stdout + bad.stderr
