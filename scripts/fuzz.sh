#!/usr/bin/env bash
# fuzz.sh -- run the libFuzzer target csrc/tests/fuzz_kernels.c (rlp_tx, keccak256, univ2 kernels)
# under ASan+UBSan for a bounded time, seeded with the known-answer transactions.
#
# Usage: scripts/fuzz.sh [SECONDS]   (default 20)
# Needs clang (Debian package `clang`); installs it when missing and running as root with apt.
# Without clang it fails under CI=true and skips (saying so) elsewhere.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds=${1:-20}

if ! command -v clang >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== fuzz: installing clang (Debian) for libFuzzer"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null 2>&1 ||
        { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null 2>&1; } || true
fi
if ! command -v clang >/dev/null 2>&1; then
    if [ "${CI:-}" = true ]; then echo "fuzz: FAILED: clang is not available" >&2; exit 1; fi
    echo "fuzz: SKIPPED: clang is not available (install Debian's clang to fuzz the kernels)"
    exit 0
fi

out=build/fuzz
mkdir -p "$out/corpus"
clang -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -Icsrc -Icsrc/kernels \
    csrc/tests/fuzz_kernels.c csrc/kernels/tx_decode.c csrc/kernels/rlp_tx.c csrc/kernels/keccak256.c csrc/kernels/univ2.c \
    -o "$out/fuzz_kernels"
# Seeds: the mainnet transactions of the known-answer vectors, and a few AMM inputs.
python3 - "$out/corpus" <<'PY'
import json, sys, pathlib
out = pathlib.Path(sys.argv[1])
for i, tx in enumerate(json.loads(pathlib.Path("tests/data/transactions.json").read_text())["transactions"]):
    (out / f"tx{i}").write_bytes(bytes.fromhex(tx["raw"]))
for i, case in enumerate(json.loads(pathlib.Path("tests/data/uniswap_v2.json").read_text())["cases"]):
    nums = [case["amount"], case["reserve_in"], case["reserve_out"], case["reserve_out"], case["reserve_in"]]
    (out / f"amm{i}").write_bytes(b"".join(n.to_bytes(32, "big") for n in nums))
PY
echo "== fuzz: $out/fuzz_kernels for ${seconds}s"
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 "$out/fuzz_kernels" -max_total_time="$seconds" \
    -print_final_stats=1 -artifact_prefix="$out/" "$out/corpus" 2>"$out/fuzz.log" || {
    tail -40 "$out/fuzz.log" >&2
    echo "fuzz: FAILED (crash input saved under $out/)" >&2
    exit 1
}
grep -E "^stat::(number_of_executed_units|new_units_added)" "$out/fuzz.log" | tr -s " " | tr "\n" " "
echo
echo "fuzz: PASSED (${seconds}s, no crash)"
