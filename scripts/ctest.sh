#!/usr/bin/env bash
# ctest.sh -- build and run the standalone C tests of the core (csrc/tests/) in four variants:
#   plain        -O2
#   tsan         -O1 -g -fsanitize=thread                (a TSan report exits 66)
#   asan         -O1 -g -fsanitize=address,undefined ... (ASan + gcc's UBSan, halt on first error)
#   ubsan-clang  clang -O1 -g -fsanitize=undefined ...   (clang's UBSan: also misaligned member
#                accesses and arithmetic on NULL, which gcc's does not report); needs clang:
#                installed (Debian) when missing and root, else skipped -- fails under CI=true
#
# Usage: scripts/ctest.sh [quick|full|soak] [plain|tsan|asan|ubsan-clang ...]
#        scripts/ctest.sh seeded
#   mode      quick (default): CI-sized, < 3 min on a 2-core machine
#             full:  1M items everywhere under the sanitizers, 10M plain
#             soak:  10M items under every variant (long)
#             seeded: checks the gate itself: stress_deque built with each seeded bug of
#                    csrc/deque.c must FAIL (AIO_SEED_BUG_NO_LAST_CAS plain: lost/duplicated
#                    items; AIO_SEED_BUG_PUSH_RELAXED under TSan: exit 66) within
#                    CTEST_SEEDED_ATTEMPTS runs (default 10); passes when both are caught
#   variants  default: plain tsan asan ubsan-clang
# Environment: CC (default gcc; ubsan-clang always uses clang), CTEST_TIMEOUT (seconds per
#   program; default by mode), CTEST_ENGINE_SEED (seed of stress_engine, default 1),
#   CTEST_KEEP_GOING=1 (run every step and fail at the end instead of failing fast),
#   CTEST_JOBS (compilers run at once, default nproc).
# Binaries go to build/ctest/<variant>/. Fails fast, with the failing step named.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

CC=${CC:-gcc}
MODE=quick
case "${1:-}" in
    quick | full | soak | seeded) MODE=$1; shift ;;
    -h | --help) sed -n '2,23p' "$0"; exit 0 ;;
esac
VARIANTS=("$@")
if [ ${#VARIANTS[@]} -eq 0 ]; then VARIANTS=(plain tsan asan ubsan-clang); fi
for v in "${VARIANTS[@]}"; do
    case "$v" in
        plain | tsan | asan | ubsan-clang) ;;
        *) echo "ctest.sh: unknown variant or mode '$v' (modes: quick full soak seeded; variants: plain tsan asan ubsan-clang)" >&2; exit 2 ;;
    esac
done

COMMON=(-std=gnu11 -Wall -Wextra -Werror -pthread -Icsrc -Icsrc/kernels)
flags_for() {
    case "$1" in
        plain) echo "-O2" ;;
        tsan) echo "-O1 -g -fsanitize=thread" ;;
        asan) echo "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" ;;
        ubsan-clang) echo "-O1 -g -fsanitize=undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" ;;
    esac
}
cc_for() { # variant
    case "$1" in
        ubsan-clang) echo clang ;;
        *) echo "$CC" ;;
    esac
}
# clang for the ubsan-clang variant: install Debian's when missing and root (as scripts/fuzz.sh
# does); without it the variant fails under CI=true and is skipped (saying so) elsewhere.
have_clang() {
    if ! command -v clang >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "== installing clang (Debian) for the ubsan-clang variant"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null 2>&1 ||
            { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q clang >/dev/null 2>&1; } || true
    fi
    command -v clang >/dev/null 2>&1
}

# Arguments per mode and variant:
#   deque: N THIEVES   ring: N PRODUCERS CONSUMERS   completion: N PRODUCERS   litmus_park: ROUNDS
#   engine: SCALE SEED (SCALE 1000 ~ a few seconds plain when it passes; TSan ~5-10x slower)
args_for() { # mode variant program
    local mode=$1 variant=$2 prog=$3 n
    if [ "$prog" = stress_engine ]; then
        case "$mode/$variant" in
            quick/plain | quick/ubsan-clang) n=1000 ;;
            quick/tsan) n=300 ;;
            quick/asan) n=500 ;;
            full/plain) n=10000 ;;
            full/*) n=3000 ;;
            soak/*) n=30000 ;;
        esac
        echo "$n ${CTEST_ENGINE_SEED:-1}"
        return
    fi
    case "$mode/$variant/$prog" in
        quick/plain/*) n=1000000 ;;
        quick/*/stress_deque) n=1000000 ;;
        quick/*/*) n=500000 ;;
        full/plain/*) n=10000000 ;;
        full/*/*) n=1000000 ;;
        soak/*/*) n=10000000 ;;
    esac
    case "$prog" in
        stress_deque) echo "$n 4" ;;
        stress_ring) echo "$n 4 4" ;;
        stress_completion) echo "$n 4" ;;
        test_keccak | test_eth_kernels) echo "" ;;
        litmus_park) if [ "$variant" = plain ]; then echo 200000; else echo 20000; fi ;;
        replay_steal | test_api | test_histogram) echo "" ;;
    esac
}

# seeded: the stress test must catch each seeded bug of csrc/deque.c (the gate is known to work)
if [ "$MODE" = seeded ]; then
    export TSAN_OPTIONS="halt_on_error=1 exitcode=66${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
    out=build/ctest/seeded
    mkdir -p "$out"
    attempts=${CTEST_SEEDED_ATTEMPTS:-10}
    missed=0
    # bug  variant  items  exit status that means "caught"
    for spec in "AIO_SEED_BUG_NO_LAST_CAS plain 200000 1" "AIO_SEED_BUG_PUSH_RELAXED tsan 20000 66"; do
        read -r bug variant items want <<<"$spec"
        read -r -a vflags <<<"$(flags_for "$variant")"
        exe=$out/stress_deque-$variant-$bug
        echo "== [seeded] build $exe (-D$bug, $variant)"
        "$CC" "${vflags[@]}" "${COMMON[@]}" "-D$bug" csrc/tests/stress_deque.c csrc/deque.c -o "$exe"
        caught=0
        for seed in $(seq 1 "$attempts"); do
            rc=0
            timeout -k 10 "${CTEST_TIMEOUT:-120}" "$exe" "$items" 4 "$seed" >"$exe.out" 2>&1 || rc=$?
            if [ "$rc" -eq "$want" ]; then
                caught=$seed
                break
            fi
        done
        if [ "$caught" -gt 0 ]; then
            echo "== [seeded] $bug caught by the $variant stress test (seed $caught, exit $want): $(grep -m1 -E 'FAILED|WARNING: ThreadSanitizer' "$exe.out")"
        else
            echo "ctest.sh: FAILED: [seeded] $bug was NOT caught in $attempts runs ($variant, $items items)" >&2
            missed=$((missed + 1))
        fi
    done
    if [ "$missed" -gt 0 ]; then exit 1; fi
    echo "ctest.sh: PASSED (mode=seeded): every seeded bug was caught"
    exit 0
fi

case "$MODE" in
    quick) LIMIT=${CTEST_TIMEOUT:-300} ;;
    full) LIMIT=${CTEST_TIMEOUT:-1200} ;;
    soak) LIMIT=${CTEST_TIMEOUT:-7200} ;;
esac

PROGRAMS=(test_keccak test_eth_kernels test_histogram stress_deque stress_ring stress_completion stress_engine litmus_park replay_steal test_api)
sources_for() {
    case "$1" in
        test_keccak) echo "csrc/tests/test_keccak.c csrc/kernels/keccak256.c csrc/kernels/basic.c" ;;
        test_eth_kernels) echo "csrc/tests/test_eth_kernels.c csrc/kernels/tx_decode.c csrc/kernels/rlp_tx.c csrc/kernels/keccak256.c csrc/kernels/univ2.c" ;;
        stress_deque) echo "csrc/tests/stress_deque.c csrc/deque.c" ;;
        stress_ring) echo "csrc/tests/stress_ring.c csrc/ring.c" ;;
        stress_completion) echo "csrc/tests/stress_completion.c csrc/ring.c csrc/pool.c csrc/completion.c csrc/histogram.c" ;;
        litmus_park) echo "csrc/tests/litmus_park.c csrc/deque.c" ;;
        test_histogram) echo "csrc/tests/test_histogram.c csrc/histogram.c" ;;
        test_api) echo "csrc/tests/test_api.c csrc/engine.c csrc/worker.c csrc/injector.c csrc/ring.c csrc/pool.c csrc/completion.c csrc/deque.c csrc/topology.c csrc/histogram.c" ;;
        replay_steal) echo "csrc/tests/replay_steal.c csrc/engine.c csrc/injector.c csrc/ring.c csrc/pool.c csrc/completion.c csrc/deque.c csrc/topology.c csrc/histogram.c" ;;
        stress_engine) echo "csrc/tests/stress_engine.c csrc/engine.c csrc/worker.c csrc/injector.c csrc/ring.c csrc/pool.c csrc/completion.c csrc/deque.c csrc/topology.c csrc/histogram.c csrc/kernels/basic.c" ;;
    esac
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
FAILED=()
fail() {
    echo "ctest.sh: FAILED: $*" >&2
    if [ "${CTEST_KEEP_GOING:-0}" = 1 ]; then
        FAILED+=("$*")
        return 0
    fi
    exit 1
}

export TSAN_OPTIONS="halt_on_error=1 exitcode=66${TSAN_OPTIONS:+ $TSAN_OPTIONS}"
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:exitcode=68${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=67${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

JOBS=${CTEST_JOBS:-$(nproc)}
T_ALL=$(now)
SUMMARY=()
echo "ctest.sh: mode=$MODE variants=${VARIANTS[*]} cc=$($CC --version | head -n1) cpus=$(nproc)"
for variant in "${VARIANTS[@]}"; do
    if [ "$variant" = ubsan-clang ] && ! have_clang; then
        if [ "${CI:-}" = true ]; then
            fail "[$variant] clang is not available (install Debian's clang)"
        else
            echo "ctest.sh: SKIPPED variant $variant: clang is not available (install Debian's clang to run it)"
            SUMMARY+=("$(printf '%-11s %-18s SKIPPED (no clang)' "$variant" "*")")
        fi
        continue
    fi
    out=build/ctest/$variant
    mkdir -p "$out"
    read -r -a vflags <<<"$(flags_for "$variant")"
    vcc=$(cc_for "$variant")
    if [ "$vcc" != "$CC" ]; then echo "== [$variant] cc=$($vcc --version | head -n1)"; fi
    # the variant's programs compile in parallel (JOBS at a time); their output is shown in order
    built=()
    pids=()
    t0=$(now)
    for prog in "${PROGRAMS[@]}"; do
        read -r -a srcs <<<"$(sources_for "$prog")"
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || true; done
        "$vcc" "${vflags[@]}" "${COMMON[@]}" "${srcs[@]}" -o "$out/$prog" >"$out/$prog.build.log" 2>&1 &
        pids+=($!)
    done
    for i in "${!PROGRAMS[@]}"; do
        prog=${PROGRAMS[$i]}
        echo "== [$variant] build $prog"
        rc=0
        wait "${pids[$i]}" || rc=$?
        cat "$out/$prog.build.log"
        if [ "$rc" -ne 0 ]; then
            read -r -a srcs <<<"$(sources_for "$prog")"
            fail "[$variant] build of $prog: $vcc ${vflags[*]} ${COMMON[*]} ${srcs[*]} -o $out/$prog"
            continue
        fi
        built+=("$prog")
    done
    SUMMARY+=("$(printf '%-11s %-18s build %6ss  (%s programs, %s at a time)' "$variant" "*" "$(elapsed "$t0")" "${#PROGRAMS[@]}" "$JOBS")")
    for prog in ${built[@]+"${built[@]}"}; do
        read -r -a pargs <<<"$(args_for "$MODE" "$variant" "$prog")"
        echo "== [$variant] run $out/$prog ${pargs[*]:-}"
        t0=$(now)
        rc=0
        timeout -k 10 "$LIMIT" "$out/$prog" "${pargs[@]}" || rc=$?
        t=$(elapsed "$t0")
        if [ "$rc" -ne 0 ]; then
            case "$rc" in
                66) why="ThreadSanitizer reported a race or misuse (exit 66)" ;;
                67) why="UndefinedBehaviorSanitizer reported undefined behaviour (exit 67; see 'runtime error' above)" ;;
                68) why="AddressSanitizer reported a memory error or leak (exit 68)" ;;
                124 | 137) why="timed out after ${LIMIT}s (hang? raise CTEST_TIMEOUT for slow machines)" ;;
                1) why="the test reported failures (exit 1; see FAIL lines above)" ;;
                *) why="exit status $rc (sanitizer report or crash; see above)" ;;
            esac
            fail "[$variant] $prog ${pargs[*]:-} after ${t}s: $why"
            SUMMARY+=("$(printf '%-11s %-18s run   %6ss  args: %-12s FAILED (exit %s)' "$variant" "$prog" "$t" "${pargs[*]:-}" "$rc")")
            continue
        fi
        echo "== [$variant] $prog ok (${t}s)"
        SUMMARY+=("$(printf '%-11s %-18s run   %6ss  args: %-12s ok' "$variant" "$prog" "$t" "${pargs[*]:-}")")
    done
done
echo "ctest.sh: timings"
printf '  %s\n' "${SUMMARY[@]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "ctest.sh: FAILED (mode=$MODE, variants=${VARIANTS[*]}) in $(elapsed "$T_ALL")s: ${#FAILED[@]} step(s):" >&2
    printf '  %s\n' "${FAILED[@]}" >&2
    exit 1
fi
echo "ctest.sh: PASSED (mode=$MODE, variants=${VARIANTS[*]}) in $(elapsed "$T_ALL")s"
