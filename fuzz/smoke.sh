#!/usr/bin/env bash
# Runs every cargo-fuzz target for a few seconds each: a smoke test, not a campaign (that is
# campaign.sh, which this runs with a short duration, a 60 s slack and quiet output).
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

SLACK=60 QUIET=1 "$(dirname "$0")/campaign.sh" "${1:-10}"
