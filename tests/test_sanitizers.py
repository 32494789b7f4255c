"""The engine stress test under ThreadSanitizer and AddressSanitizer+UBSan.

Each variant compiles an instrumented copy of the core next to a copy of the Python package
(build/sanitized/<variant>/aioultra) and runs tests/engine_stress.py in a subprocess with the
sanitizer runtime preloaded (a sanitized cffi module only loads that way inside CPython).
halt_on_error makes the first report fail the run. Task count: AIOULTRA_SANITIZER_TASKS
(default 1,000,000).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TASKS = int(os.environ.get("AIOULTRA_SANITIZER_TASKS", "1000000"))

VARIANTS = {
    "thread": {
        "preload": ["libtsan.so"],
        "env": {"TSAN_OPTIONS": "halt_on_error=1 exitcode=66 second_deadlock_stack=1"},
        "marker": "ThreadSanitizer",
    },
    "address,undefined": {
        "preload": ["libasan.so", "libubsan.so"],
        "env": {
            "ASAN_OPTIONS": "detect_leaks=0 halt_on_error=1",  # CPython itself leaks a few KB at exit
            "UBSAN_OPTIONS": "halt_on_error=1 print_stacktrace=1",
        },
        "marker": "Sanitizer",
    },
}


def _runtime(name: str) -> str:
    path = subprocess.run(
        ["gcc", f"-print-file-name={name}"], capture_output=True, text=True, check=True
    ).stdout.strip()
    if not os.path.isabs(path):
        pytest.skip(f"gcc has no {name}")
    return path


def build_sanitized(variant: str) -> Path:
    """Compile the instrumented core into build/sanitized/<variant>; returns the PYTHONPATH root."""
    out = ROOT / "build" / "sanitized" / variant.replace(",", "-")
    if out.exists():
        shutil.rmtree(out)
    pkg = out / "aioultra"
    shutil.copytree(ROOT / "aioultra", pkg, ignore=shutil.ignore_patterns("*.so", "__pycache__", "bench"))
    env = dict(os.environ, AIOULTRA_SANITIZE=variant)
    subprocess.run(
        [sys.executable, str(ROOT / "csrc" / "ffi_build.py"), str(out)], env=env, check=True, capture_output=True
    )
    assert list(pkg.glob("_core*.so")), "instrumented core was not built"
    return out


@pytest.mark.sanitizer
@pytest.mark.timeout(900)
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_engine_stress_under_sanitizer(variant: str) -> None:
    spec = VARIANTS[variant]
    preload = " ".join(_runtime(lib) for lib in spec["preload"])
    root = build_sanitized(variant)
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{ROOT / 'tests'}", LD_PRELOAD=preload, **spec["env"])
    probe = subprocess.run(
        [sys.executable, "-c", "import aioultra._core as c; print(c.__file__)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
        timeout=60,
    )
    assert probe.returncode == 0, probe.stderr[-2000:]
    assert probe.stdout.strip().startswith(str(root)), f"the instrumented core was not the one loaded: {probe.stdout}"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tests" / "engine_stress.py"), "--tasks", str(TASKS)],
        env=env,
        capture_output=True,
        text=True,
        cwd=root,
        timeout=900,
    )
    report = proc.stderr[-6000:]
    assert proc.returncode == 0, f"{variant}: rc={proc.returncode}\n{report}"
    assert spec["marker"] + ":" not in proc.stderr, report
    assert "stress ok" in proc.stdout
