#!/usr/bin/env bash
# Runs every cargo-fuzz target for a few seconds each: a smoke test, not a campaign.
#
#   fuzz/smoke.sh [SECONDS]            # default 10 s per target, stable toolchain, no sanitizer
#   TOOLCHAIN=nightly fuzz/smoke.sh 30 # nightly, AddressSanitizer (cargo-fuzz's default)
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`) and a C++ compiler (libfuzzer-sys builds
# libFuzzer). No extra rustup component: on stable it runs with `--sanitizer none`.
# Environment: TOOLCHAIN (stable), SANITIZER (none on stable, address otherwise), TARGETS (all),
# CARGO_TARGET_DIR (cargo's default). Exits non-zero on the first target that crashes, hangs past
# the `timeout` bound or fails to build; crash inputs land in fuzz/artifacts/<target>/.
set -euo pipefail

SECONDS_PER_TARGET="${1:-10}"
TOOLCHAIN="${TOOLCHAIN:-stable}"
if [[ "$TOOLCHAIN" == nightly* ]]; then
    SANITIZER="${SANITIZER:-address}"
else
    SANITIZER="${SANITIZER:-none}"
fi

cd "$(dirname "$0")"
if [[ -z "${TARGETS:-}" ]]; then
    TARGETS="$(cargo +"$TOOLCHAIN" fuzz list)"
fi

# Build once up front so the run bound below is not eaten by compilation.
cargo +"$TOOLCHAIN" fuzz build --sanitizer "$SANITIZER"

# Hard bound per target: the libFuzzer time limit plus slack for start-up and corpus loading.
HARD_LIMIT=$((SECONDS_PER_TARGET + 60))
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
for target in $TARGETS; do
    corpus="corpus/$target"
    mkdir -p "$corpus"
    seeds=()
    if [[ -d "seeds/$target" ]]; then
        seeds=("seeds/$target")
    fi
    echo "== $target: ${SECONDS_PER_TARGET}s ($TOOLCHAIN, sanitizer $SANITIZER)"
    status=0
    timeout --kill-after=10 "$HARD_LIMIT" \
        cargo +"$TOOLCHAIN" fuzz run --sanitizer "$SANITIZER" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=$?
    grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
    if [[ $status -ne 0 ]]; then
        tail -n 60 "$log" >&2
        if [[ $status -eq 124 || $status -eq 137 ]]; then
            echo "!! $target did not finish within ${HARD_LIMIT}s" >&2
        else
            echo "!! $target failed (exit $status); crash inputs: fuzz/artifacts/$target/" >&2
        fi
        exit "$status"
    fi
done
echo "all targets ran ${SECONDS_PER_TARGET}s without a crash"
