"""The submission API's types under ``mypy --strict``: tests/typing_cases/usage_ok.py passes
and infers what its ``reveal_type`` lines name; every line of usage_bad.py marked ``# E`` is
rejected, and no other line is."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# mypy checks against python_version = 3.11 (pyproject.toml) whichever Python runs it: once is enough
pytestmark = pytest.mark.main_python

CASES = Path(__file__).parent / "typing_cases"
ROOT = Path(__file__).parent.parent


def mypy(path: Path) -> list[tuple[int, str, str]]:
    """(line, severity, message) of every mypy report on ``path`` (strict, the project's config)."""
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--no-incremental",
            "--config-file",
            str(ROOT / "pyproject.toml"),
            str(path),
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    reports = []
    for line in proc.stdout.splitlines():
        m = re.match(r".*?:(\d+): (error|note): (.*)", line)
        if m:
            reports.append((int(m.group(1)), m.group(2), m.group(3)))
    if proc.returncode not in (0, 1):
        pytest.fail(f"mypy crashed: {proc.stdout}\n{proc.stderr}")
    return reports


def test_typed_usage_passes_and_infers() -> None:
    path = CASES / "usage_ok.py"
    reports = mypy(path)
    errors = [r for r in reports if r[1] == "error" and "reveal_type" not in r[2]]
    assert not errors, errors
    revealed = {line: msg for line, sev, msg in reports if sev == "note" and msg.startswith("Revealed type is")}
    expected = {
        i: m.group(1).strip()
        for i, text in enumerate(path.read_text().splitlines(), 1)
        if (m := re.search(r"reveal_type\(\w+\)  # R: (.*)", text))
    }
    assert len(expected) >= 10
    for line, want in expected.items():
        assert revealed.get(line) == f'Revealed type is "{want}"', (line, revealed.get(line), want)


def test_misuse_is_rejected() -> None:
    path = CASES / "usage_bad.py"
    marked = {i for i, text in enumerate(path.read_text().splitlines(), 1) if "# E:" in text}
    flagged = {line for line, sev, _ in mypy(path) if sev == "error"}
    assert marked, "no marked lines"
    assert flagged == marked, (sorted(marked - flagged), sorted(flagged - marked))
