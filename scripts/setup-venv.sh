#!/usr/bin/env bash
# Creates .venv (or $AIOULTRA_VENV) if missing and installs aioultra with its test/bench extras.
# The C core compiles during `pip install`. Prints the venv's python path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${AIOULTRA_VENV:-.venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2
fi
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test,ray]" >&2
echo "$venv/bin/python"
