#!/usr/bin/env bash
# Miri, in strict-provenance mode, over the crate's only `unsafe` code (src/mmio.rs): the
# integration tests in tests/mmio.rs (`MmioBar` and `MemirqMem` over heap memory), also on a
# big-endian target, and mmio's own unit tests. Run from anywhere: `bash .ci/miri.sh`.
#
# Where Miri cannot be installed or set up (no rustup, no nightly, no Miri for this nightly, no
# network for the sysroot), it prints "skipped: Miri not installable here" and exits 0. Once Miri
# is set up, any test failure or undefined behaviour Miri reports fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

skip() {
  echo "skipped: Miri not installable here ($*)"
  exit 0
}

command -v rustup >/dev/null 2>&1 || skip "no rustup"
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  rustup toolchain install nightly --profile minimal >/dev/null 2>&1 ||
    skip "the nightly toolchain cannot be installed"
fi
rustup +nightly component add miri rust-src >/dev/null 2>&1 ||
  skip "no miri component for this nightly"
cargo +nightly miri --version >/dev/null 2>&1 || skip "cargo miri does not run"
setup_log=$(mktemp)
cargo +nightly miri setup >"$setup_log" 2>&1 || {
  tail -n 20 "$setup_log" >&2
  rm -f "$setup_log"
  skip "cargo miri setup failed (see above)"
}
rm -f "$setup_log"

# No integer-to-pointer casts: a pointer keeps its provenance or Miri stops.
export MIRIFLAGS="-Zmiri-strict-provenance ${MIRIFLAGS:-}"
echo "MIRIFLAGS=$MIRIFLAGS"
cargo +nightly miri --version

echo "== cargo +nightly miri test --features mock,std --test mmio"
cargo +nightly miri test --features mock,std --test mmio

# Only the mmio module's unit tests (`mmio::tests::…`; the filter keeps other modules' tests
# that merely have "mmio" in their name out).
echo "== cargo +nightly miri test --features mock,std --lib -- mmio::"
cargo +nightly miri test --features mock,std --lib -- mmio::

# The same integration tests on a big-endian CPU (s390x, interpreted: no such machine needed):
# registers are little-endian whatever the CPU's byte order. A dev-dependency's build script
# compiles C for the target; Miri never runs that code, so the host's compiler will do.
echo "== cargo +nightly miri test --target s390x-unknown-linux-gnu --features mock,std --test mmio"
CC_s390x_unknown_linux_gnu=cc AR_s390x_unknown_linux_gnu=ar \
  cargo +nightly miri test --target s390x-unknown-linux-gnu --features mock,std --test mmio

echo "miri: ok"
