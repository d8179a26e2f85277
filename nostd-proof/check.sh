#!/usr/bin/env bash
# no_std link proof for xe-sriov-vf. Run from anywhere: nostd-proof/check.sh
#
# 1. Positive: build a freestanding binary (no std, no libc, no crt) that links the crate with
#    `default-features = false, features = ["mock"]`, check that only core/compiler_builtins
#    reach the linker, run it (exit status 0 = the crate calls returned the expected values),
#    and print the sizes of .text/.rodata/.data/.bss.
# 2. Negative: the same build with the crate's `std` feature must FAIL with E0152
#    "duplicate lang item" — this shows the proof can actually fail when std sneaks in.
#
# The -nostartfiles/-nostdlib/-static link args are passed after `--` to `cargo rustc`, so they
# reach only this final crate; in RUSTFLAGS they would also break build scripts.
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$dir"
target_dir="$dir/target"
bin="$target_dir/release/nostd-proof"
link_args=(-C link-arg=-nostartfiles -C link-arg=-nostdlib -C link-arg=-static)

echo "== positive: build (no_std, features = [\"mock\"])"
rm -f "$bin"
cargo rustc --release --target-dir "$target_dir" -- "${link_args[@]}"

echo "== linker inputs (must be core/compiler_builtins only, no std)"
# Re-run rustc for the final crate only to print its link line (cheap: deps are cached).
touch src/main.rs
link_line="$(cargo rustc --release --target-dir "$target_dir" -q -- "${link_args[@]}" --print link-args 2>/dev/null)"
rlibs="$(tr ' ' '\n' <<<"$link_line" | grep -oE 'lib[a-z_0-9]+-[0-9a-f]+\.rlib' | sed -E 's/-[0-9a-f]+\.rlib$//' | sort -u || true)"
echo "${rlibs:-<none: everything LTO-merged into the object>}"
if grep -qE '^lib(std|alloc|libc|unwind|panic_unwind)$' <<<"$rlibs"; then
    echo "FAIL: std/alloc/libc/unwind on the link line" >&2
    exit 1
fi
if grep -qE -- '-lc( |$)|-lgcc_s' <<<"$link_line"; then
    echo "FAIL: libc / libgcc_s on the link line" >&2
    exit 1
fi
file "$bin"

echo "== run"
set +e
"$bin"
rc=$?
set -e
if [[ $rc -ne 0 ]]; then
    echo "FAIL: proof binary exited with $rc (see the check numbers in src/main.rs)" >&2
    exit 1
fi
echo "proof binary exited 0"

echo "== sizes (bytes)"
size -A "$bin" | awk '
    $1 == ".text" || $1 == ".rodata" || $1 == ".data" || $1 == ".bss" { s[$1] = $2 }
    END { n = split(".text .rodata .data .bss", k, " ");
          for (i = 1; i <= n; i++) printf "%-8s %8d\n", k[i], s[k[i]] + 0 }'

echo "== negative: the same build with xe-sriov-vf/std must fail with \"duplicate lang item\""
set +e
neg_out="$(cargo rustc --release --target-dir "$target_dir" --features xe-sriov-vf/std \
    -- "${link_args[@]}" 2>&1)"
neg_rc=$?
set -e
if [[ $neg_rc -eq 0 ]]; then
    echo "FAIL: build with std succeeded; the proof cannot detect std" >&2
    exit 1
fi
if ! grep -q "duplicate lang item" <<<"$neg_out"; then
    echo "FAIL: build with std failed, but not with \"duplicate lang item\":" >&2
    echo "$neg_out" | grep -E '^error' >&2 || echo "$neg_out" | tail -20 >&2
    exit 1
fi
grep -E "duplicate lang item|first defined in crate" <<<"$neg_out" | sed 's/^/    /'
echo "negative check OK (std in the graph is rejected)"

# The negative build leaves no binary behind (it fails before linking), but make sure the
# positive binary is the one left in target/.
[[ -x "$bin" ]]
echo "== nostd-proof: PASS"
