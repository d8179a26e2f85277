#!/usr/bin/env bash
# Build the bare-metal guest and boot it under QEMU (TCG is fine; KVM is not needed).
#
#   guests/qemu-x86_64/run.sh [extra qemu args...]      (from any directory)
#
# Exit status: 0 only if the guest exits through isa-debug-exit with the pass code
# (QEMU status 33 = (0x10 << 1) | 1); 1 on a guest failure, timeout or anything else.
# Environment: XE_GUEST_CPU (default qemu64), XE_GUEST_MACHINE (default q35),
#              XE_GUEST_TIMEOUT (seconds, default 60), XE_GUEST_IRQ_DELAY (build time: APIC
#              timer counts before migration 2's MSI lands, default 2000; see README.md).
# Footprint table (sizes, crate share, stack watermarks): ./footprint.sh
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="$dir/target"
elf="$target_dir/release/xe-guest"
log="$target_dir/serial.log"
pass_status=33   # qemu::PASS_STATUS in src/qemu.rs

# --- QEMU -----------------------------------------------------------------------------------
if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    echo "== installing qemu-system-x86"
    sudo=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null 2>&1; then sudo="sudo"; fi
    $sudo apt-get update
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y qemu-system-x86
fi

# --- build ------------------------------------------------------------------------------------
# Host toolchain and host target only. The link flags (linker script, -nostartfiles, -nostdlib,
# -static, -no-pie) come from build.rs via cargo:rustc-link-arg-bins, i.e. they reach the guest
# binary only; -C relocation-model=static (non-PIC code for the guest's own crate) is passed
# through `cargo rustc` for the same reason: in RUSTFLAGS it would also hit build scripts.
echo "== build"
cd "$dir"   # so that cargo picks up no unrelated .cargo/config from the caller's cwd
rm -f "$elf"
env -u CARGO_BUILD_TARGET cargo rustc --release --manifest-path "$dir/Cargo.toml" \
    --target-dir "$target_dir" --bin xe-guest -- -C relocation-model=static
size -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss|stacks)$/ { printf "   %-8s %8d\n", $1, $2 }'

# --- boot -------------------------------------------------------------------------------------
echo "== boot: qemu-system-x86_64 -kernel $elf"
rm -f "$log"
start=$(date +%s%N)
set +e
timeout "${XE_GUEST_TIMEOUT:-60}" qemu-system-x86_64 \
    -machine "${XE_GUEST_MACHINE:-q35}" \
    -cpu "${XE_GUEST_CPU:-qemu64}" \
    -m 128M \
    -smp 1 \
    -display none -vga none \
    -net none \
    -no-reboot \
    -monitor none \
    -serial "file:$log" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$elf" \
    "$@" </dev/null
status=$?
set -e
end=$(date +%s%N)

echo "== serial output"
if [[ -f "$log" ]]; then
    # Drop the firmware's terminal escape sequences; keep the text.
    sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r$//' "$log"
fi
echo "== qemu exit status $status, boot to exit $(( (end - start) / 1000000 )) ms"

if [[ $status -eq $pass_status ]]; then
    echo "== guest: PASS"
    exit 0
fi
case $status in
    35) echo "== guest: FAIL (guest reported failure)" ;;
    124) echo "== guest: FAIL (timeout after ${XE_GUEST_TIMEOUT:-60} s)" ;;
    0) echo "== guest: FAIL (QEMU exited without the debug-exit device: triple fault or power-off)" ;;
    *) echo "== guest: FAIL (unexpected QEMU status $status)" ;;
esac
exit 1
