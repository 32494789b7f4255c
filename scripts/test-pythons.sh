#!/usr/bin/env bash
# The Python suite on the other supported Pythons, 3.12 and 3.13, where they are installed
# (on PATH, or pyenv's newest of each), each in its own virtualenv (.venv-3.12, .venv-3.13).
# The sanitizer builds are left to the main run (they test the C core, the same on every
# Python), and so are the Ray cluster tests (aioultra.cluster is pure Python over Ray; Ray is
# an 80 MB install per virtualenv) and the tests marked main_python (the bench CLI end to end
# and the typing check: the same on every Python, 45 s of a pass; the bench suites themselves
# run here too). A missing Python is reported and skipped. Extra arguments go to pytest.
#
#   scripts/test-pythons.sh --deps   only create the virtualenvs and install the test
#                                    dependencies (not aioultra: installing it compiles the C
#                                    core into the source tree, which must not happen while
#                                    another run has it loaded); the test command runs this in
#                                    the background while its other steps run
set -euo pipefail
cd "$(dirname "$0")/.."
deps_only=false
if [ "${1:-}" = --deps ]; then
    deps_only=true
    shift
fi
python_for() { # version -> the interpreter's path, or nothing
    local v=$1 candidate
    # pyenv's newest $v first, then PATH (a pyenv shim there may exist but not run: try each)
    for candidate in "$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$v".*/bin/"python$v" 2>/dev/null | sort -V | tail -1)" \
        "$(command -v "python$v" || true)"; do
        if [ -n "$candidate" ] && "$candidate" -c "import sys; assert sys.version_info[:2] == (${v/./, })" 2>/dev/null; then
            echo "$candidate"
            return
        fi
    done
}
install_deps() { # venv: aioultra's runtime and test dependencies, from pyproject.toml
    "$1/bin/python" - <<'PY' >"$1/test-requirements.txt"
import tomllib
project = tomllib.load(open("pyproject.toml", "rb"))["project"]
print("\n".join(project["dependencies"] + project["optional-dependencies"]["test"]))
PY
    "$1/bin/python" -m pip install -q --disable-pip-version-check -r "$1/test-requirements.txt"
}
for v in 3.12 3.13; do
    py=$(python_for "$v")
    if [ -z "$py" ]; then
        echo "== python $v: not installed here, skipped"
        continue
    fi
    venv=".venv-$v"
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    install_deps "$venv"
    if [ "$deps_only" = true ]; then
        echo "== python $v: $venv has the test dependencies"
        continue
    fi
    # the C core is built for the stable ABI (_core.abi3.so): one build serves every Python
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
    echo "== pytest on $("$venv/bin/python" -V) (without the sanitizer builds, the Ray cluster and the main_python tests)"
    "$venv/bin/python" -m pytest -q -m "not sanitizer and not ray and not main_python" "$@"
done
