#!/usr/bin/env bash
# A fuzzing campaign: every cargo-fuzz target (or those in TARGETS) for DURATION each, one after
# the other, growing fuzz/corpus/<target> from fuzz/seeds/<target>. The smoke run (smoke.sh) is
# seconds per target; some bugs take minutes (issue 20's branch-change handshake: about 10
# million `transport` runs, 9 minutes on one core), so a campaign is minutes to hours.
#
#   fuzz/campaign.sh DURATION            # DURATION: seconds, or with a unit: 30m, 2h
#   TARGETS=transport fuzz/campaign.sh 1h
#   TOOLCHAIN=nightly fuzz/campaign.sh 20m   # with AddressSanitizer
#
# One target at a time, one libFuzzer process (no -jobs/-workers: the machine is shared). Each
# run is bounded by -max_total_time and, as a last resort, by `timeout` (DURATION + SLACK).
# Exits non-zero on the first crash, hang or build failure; the input is in
# fuzz/artifacts/<target>/. Environment: TOOLCHAIN (stable), SANITIZER (none on stable, address
# otherwise), TARGETS (all), CARGO_TARGET_DIR (cargo's default), RSS_LIMIT_MB (2048), SLACK
# (300 s), QUIET (unset: libFuzzer's output as it runs; 1: only its final stats, and the tail
# of its output on a failure; smoke.sh runs this script that way).
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 DURATION   (seconds, or e.g. 30m, 2h)" >&2
    exit 2
fi
case "$1" in
    *h) SECONDS_PER_TARGET=$((${1%h} * 3600)) ;;
    *m) SECONDS_PER_TARGET=$((${1%m} * 60)) ;;
    *s) SECONDS_PER_TARGET=${1%s} ;;
    *) SECONDS_PER_TARGET=$1 ;;
esac
if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [[ "$SECONDS_PER_TARGET" -eq 0 ]]; then
    echo "campaign.sh: bad DURATION '$1'" >&2
    exit 2
fi

TOOLCHAIN="${TOOLCHAIN:-stable}"
if [[ "$TOOLCHAIN" == nightly* ]]; then
    SANITIZER="${SANITIZER:-address}"
else
    SANITIZER="${SANITIZER:-none}"
fi
RSS_LIMIT_MB="${RSS_LIMIT_MB:-2048}"

cd "$(dirname "$0")"
if [[ -z "${TARGETS:-}" ]]; then
    TARGETS="$(cargo +"$TOOLCHAIN" fuzz list)"
fi
cargo +"$TOOLCHAIN" fuzz build --sanitizer "$SANITIZER"

HARD_LIMIT=$((SECONDS_PER_TARGET + ${SLACK:-300}))
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
    timeout --kill-after=30 "$HARD_LIMIT" \
        cargo +"$TOOLCHAIN" fuzz run --sanitizer "$SANITIZER" "$target" "$corpus" "${seeds[@]}" -- \
        -max_total_time="$SECONDS_PER_TARGET" -timeout=10 -rss_limit_mb="$RSS_LIMIT_MB" \
        -print_final_stats=1 2>&1 | if [[ -n "${QUIET:-}" ]]; then cat >"$log"; else tee "$log"; fi \
        || status=${PIPESTATUS[0]}
    if [[ -n "${QUIET:-}" ]]; then
        grep -E '^(Done|stat::number_of_executed_units)' "$log" || true
    fi
    if [[ $status -ne 0 ]]; then
        if [[ -n "${QUIET:-}" ]]; then
            tail -n 60 "$log" >&2
        fi
        if [[ $status -eq 124 || $status -eq 137 ]]; then
            echo "!! $target did not finish within ${HARD_LIMIT}s" >&2
        else
            echo "!! $target failed (exit $status); inputs: fuzz/artifacts/$target/" >&2
        fi
        exit "$status"
    fi
done
echo "campaign: every target ran ${SECONDS_PER_TARGET}s without a crash"
