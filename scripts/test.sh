#!/usr/bin/env bash
# The test command: sets up its own virtualenv, then lint, types, the C tests (plain, TSan,
# ASan+UBSan, clang UBSan) and the Python suite (which includes the engine stress under both sanitizers);
# in CI also the Python suite on Python 3.12 and 3.13 (scripts/test-pythons.sh). Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
python="$(scripts/setup-venv.sh)"
bin="$(dirname "$python")"
start=$SECONDS
# Python 3.12 and 3.13 too: in CI, or with AIOULTRA_PYTHONS=all (AIOULTRA_PYTHONS=default: only this one)
others=$([ "${AIOULTRA_PYTHONS:-$([ "${CI:-}" = true ] && echo all || echo default)}" = all ] && echo yes || echo no)
if [ "$others" = yes ]; then  # their virtualenvs' dependencies install meanwhile
    mkdir -p build
    scripts/test-pythons.sh --deps >build/other-pythons-deps.log 2>&1 &
    deps_pid=$!
fi
step() { echo "== $* (at $((SECONDS - start)) s)"; }
step ruff; "$bin/ruff" check aioultra tests examples csrc/ffi_build.py setup.py
"$bin/ruff" format --check aioultra tests examples csrc/ffi_build.py setup.py
step mypy; "$bin/mypy"
step "C tests (plain, tsan, asan+ubsan, ubsan-clang)"; scripts/ctest.sh quick
step "model check (spin)"; scripts/model.sh
step "fuzz the parsing kernels"; scripts/fuzz.sh "${AIOULTRA_FUZZ_SECONDS:-20}"
step pytest; "$python" -m pytest -q "$@"
if [ "$others" = yes ]; then
    step "the other Pythons"
    if ! wait "$deps_pid"; then
        cat build/other-pythons-deps.log
        echo "test.sh: FAILED: installing the other Pythons' test dependencies (above)" >&2
        exit 1
    fi
    grep "^== " build/other-pythons-deps.log || true
    scripts/test-pythons.sh "$@"
fi
echo "== all tests passed in $((SECONDS - start)) s"
