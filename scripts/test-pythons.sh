#!/usr/bin/env bash
# The Python suite on the other supported Pythons, 3.12 and 3.13, where they are installed
# (on PATH, or pyenv's newest of each), each in its own virtualenv (.venv-3.12, .venv-3.13).
# The sanitizer builds are left to the main run (they test the C core, the same on every
# Python), and so are the Ray cluster tests (aioultra.cluster is pure Python over Ray; Ray is
# an 80 MB install per virtualenv) and the two end-to-end runs of the bench CLI (marker
# main_python: 35 s of a pass, the same code path on every Python; the bench suites themselves
# run here too). A missing Python is reported and skipped. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
for v in 3.12 3.13; do
    py=""
    # pyenv's newest $v first, then PATH (a pyenv shim there may exist but not run: try each)
    for candidate in "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -V | tail -1)" \
        "$(command -v "python$v" || true)"; do
        if [ -n "$candidate" ] && "$candidate" -c "import sys; assert sys.version_info[:2] == (${v/./, })" 2>/dev/null; then
            py="$candidate"
            break
        fi
    done
    if [ -z "$py" ]; then
        echo "== python $v: not installed here, skipped"
        continue
    fi
    venv=".venv-$v"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    # the C core is built for the stable ABI (_core.abi3.so): one build serves every Python
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
    echo "== pytest on $("$venv/bin/python" -V) (without the sanitizer builds, the Ray cluster and the bench CLI runs)"
    "$venv/bin/python" -m pytest -q -m "not sanitizer and not ray and not main_python" "$@"
done
