#!/usr/bin/env bash
# Build the bare-metal guest and boot it under QEMU (TCG is fine; KVM is not needed).
#
#   guests/qemu-x86_64/run.sh [extra qemu args...]           (from any directory)
#   guests/qemu-x86_64/run.sh --defmt [extra qemu args...]   the defmt build (see below)
#
# Exit status: 0 only if the guest exits through isa-debug-exit with the pass code
# (QEMU status 33 = (0x10 << 1) | 1); 1 on a guest failure, timeout or anything else.
# Environment: XE_GUEST_CPU (default qemu64), XE_GUEST_MACHINE (default q35),
#              XE_GUEST_TIMEOUT (seconds, default 60), XE_GUEST_IRQ_DELAY (build time: APIC
#              timer counts before migration 2's MSI lands, default 2000; see README.md).
# Footprint table (sizes, crate share, stack watermarks): ./footprint.sh
#
# --defmt: builds the guest with its `defmt` feature (the crate logs through defmt, the guest's
# global logger writes the frames to COM2) twice, at DEFMT_LOG=debug and at DEFMT_LOG=warn;
# boots each with COM2 going to a file (a second -serial), decodes that file on the host with
# `defmt-print` against the ELF (installed with `cargo install defmt-print --locked` when missing;
# XE_GUEST_DECODE_TIMEOUT bounds the decoder, default 30 s), prints the decoded lines and fails
# unless the crate's lines for bootstrap, each recovery pass, the re-queue after the mid-recovery
# migration and the end of recovery are there with their levels and arguments, one per pass and
# in order (debug build), and unless the warn build has its warn line and no trace/debug/info
# line. Build dirs and logs: target/defmt/ (xe-guest-LEVEL, serial-LEVEL.log, com2-LEVEL.bin,
# decoded-LEVEL.txt).
set -euo pipefail

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target_dir="$dir/target"
elf="$target_dir/release/xe-guest"
log="$target_dir/serial.log"
pass_status=33   # qemu::PASS_STATUS in src/qemu.rs

mode=plain
if [[ "${1:-}" == "--defmt" ]]; then
    mode=defmt
    shift
fi

# --- QEMU -----------------------------------------------------------------------------------
# shellcheck source=ensure-qemu.sh
source "$dir/ensure-qemu.sh"

# --- build ------------------------------------------------------------------------------------
# Host toolchain and host target only. The link flags (linker script, -nostartfiles, -nostdlib,
# -static, -no-pie) come from build.rs via cargo:rustc-link-arg-bins, i.e. they reach the guest
# binary only; -C relocation-model=static (non-PIC code for the guest's own crate) is passed
# through `cargo rustc` for the same reason: in RUSTFLAGS it would also hit build scripts.
build() { # $1 = target dir, rest = extra cargo args
    local tdir="$1"; shift
    cd "$dir"   # so that cargo picks up no unrelated .cargo/config from the caller's cwd
    rm -f "$tdir/release/xe-guest"
    env -u CARGO_BUILD_TARGET cargo rustc --release --manifest-path "$dir/Cargo.toml" \
        --target-dir "$tdir" --bin xe-guest "$@" -- -C relocation-model=static
}

# --- boot -------------------------------------------------------------------------------------
# boot ELF COM1-LOG [extra qemu args...]: sets $status (QEMU's exit status) and $boot_ms.
boot() {
    local kernel="$1" com1="$2"; shift 2
    echo "== boot: qemu-system-x86_64 -kernel $kernel"
    rm -f "$com1"
    local start end
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
        -serial "file:$com1" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -kernel "$kernel" \
        "$@" </dev/null
    status=$?
    set -e
    end=$(date +%s%N)
    boot_ms=$(( (end - start) / 1000000 ))
}

# Prints a serial log without the firmware's terminal escape sequences.
print_serial() {
    if [[ -f "$1" ]]; then
        sed -e 's/\x1b\[[0-9;?]*[a-zA-Z]//g' -e 's/\r$//' "$1"
    fi
}

# Prints the verdict for $status; returns 0 on pass.
verdict() {
    if [[ $status -eq $pass_status ]]; then
        echo "== guest: PASS"
        return 0
    fi
    case $status in
        35) echo "== guest: FAIL (guest reported failure)" ;;
        124) echo "== guest: FAIL (timeout after ${XE_GUEST_TIMEOUT:-60} s)" ;;
        0) echo "== guest: FAIL (QEMU exited without the debug-exit device: triple fault or power-off)" ;;
        *) echo "== guest: FAIL (unexpected QEMU status $status)" ;;
    esac
    return 1
}

if [[ $mode == plain ]]; then
    echo "== build"
    build "$target_dir"
    size -A "$elf" | awk '$1 ~ /^\.(text|rodata|data|bss|stacks)$/ { printf "   %-8s %8d\n", $1, $2 }'
    boot "$elf" "$log" "$@"
    echo "== serial output"
    # Drop the firmware's terminal escape sequences; keep the text.
    print_serial "$log"
    echo "== qemu exit status $status, boot to exit $boot_ms ms"
    verdict || exit 1
    exit 0
fi

# --- defmt ------------------------------------------------------------------------------------
defmt_dir="$target_dir/defmt"
decode_timeout="${XE_GUEST_DECODE_TIMEOUT:-30}"
mkdir -p "$defmt_dir"

defmt_print="$(command -v defmt-print || true)"
if [[ -z $defmt_print && -x "${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print" ]]; then
    defmt_print="${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print"
fi
if [[ -z $defmt_print ]]; then
    echo "== installing defmt-print (cargo install defmt-print --locked; one-time)"
    t0=$(date +%s)
    (cd / && timeout "${XE_GUEST_INSTALL_TIMEOUT:-1800}" cargo install defmt-print --locked)
    echo "== defmt-print installed in $(( $(date +%s) - t0 )) s"
    defmt_print="$(command -v defmt-print || echo "${CARGO_HOME:-$HOME/.cargo}/bin/defmt-print")"
fi
echo "== decoder: $("$defmt_print" -V | tr '\n' ' ')"

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# run_level LEVEL: build at DEFMT_LOG=LEVEL, boot with COM2 to a file, decode it. Leaves the
# decoded lines in $defmt_dir/decoded-LEVEL.txt.
run_level() {
    local level="$1"; shift
    local lelf="$defmt_dir/xe-guest-$level" com1="$defmt_dir/serial-$level.log"
    local com2="$defmt_dir/com2-$level.bin" decoded="$defmt_dir/decoded-$level.txt"
    echo "== build: --features defmt, DEFMT_LOG=$level"
    DEFMT_LOG="$level" build "$defmt_dir" --features defmt
    cp "$defmt_dir/release/xe-guest" "$lelf"
    size -A "$lelf" | awk '$1 ~ /^\.(text|rodata|data|bss|stacks|defmt)$/ { printf "   %-8s %8d\n", $1, $2 }'
    rm -f "$com2" "$decoded"
    boot "$lelf" "$com1" -serial "file:$com2" "$@"
    echo "== COM1 (the guest's own output; in full on failure)"
    if [[ $status -eq $pass_status ]]; then
        print_serial "$com1" | grep -E '^(summary:|stack: recovery path)'
    else
        print_serial "$com1"
    fi
    echo "== qemu exit status $status, boot to exit $boot_ms ms"
    verdict || fail "DEFMT_LOG=$level: the guest did not pass"
    echo "== COM2: $(stat -c %s "$com2" 2>/dev/null || echo 0) bytes of defmt frames; decoded by defmt-print:"
    local rc=0
    timeout "$decode_timeout" "$defmt_print" -e "$lelf" --show-skipped-frames \
        --log-format '{t} {L} {s}' stdin <"$com2" >"$decoded" 2>"$decoded.stderr" || rc=$?
    # No colours (the decoder colours only a terminal, but be sure).
    sed -i -e 's/\x1b\[[0-9;]*m//g' "$decoded"
    cat "$decoded"
    if [[ $rc -ne 0 ]]; then
        cat "$decoded.stderr"
        fail "DEFMT_LOG=$level: defmt-print exited $rc$([[ $rc -eq 124 ]] && echo " (timeout after $decode_timeout s)")"
    fi
    if grep -q 'malformed frame' "$decoded"; then
        fail "DEFMT_LOG=$level: malformed frames on COM2"
    fi
}

# want FILE LEVEL REGEX DESCRIPTION: a decoded line at LEVEL whose message matches REGEX.
want() {
    local n
    n=$(grep -cE "^[0-9]+ $2 +$3" "$1" || true)
    if [[ $n -eq 0 ]]; then
        fail "missing $2 line: $4 (/$3/)"
    else
        echo "   ok  $2 x$n  $4"
    fi
}

run_level debug "$@"
d="$defmt_dir/decoded-debug.txt"
echo "== checks (DEFMT_LOG=debug): the crate's lines, their levels and decoded arguments"
# Bootstrap: each GT's VF ABI and GGTT (base + size in hex). The VF ABI is a `Version`, which
# derives defmt::Format (a struct) where Display prints 1.27.0: accept either rendering.
abi='(1\.27\.0|Version \{ branch: 0, major: 1, minor: 27, patch: 0 \})'
want "$d" INFO "GT0: VF ABI $abi, GGTT 0x200000\+0x3fe00000$" "bootstrap of GT0"
want "$d" INFO "GT1: VF ABI $abi, GGTT 0x200000\+0x3fe00000$" "bootstrap of GT1"
want "$d" DEBUG "using GuC VF ABI $abi$" "negotiated VF ABI"
want "$d" DEBUG "GT0: memirq registered \(source 0x[0-9a-f]+, status 0x[0-9a-f]+\)$" "memirq registration of GT0"
# The passes. Migration 2 lands at gt0's hold before RESFIX_DONE; in split phase (the default)
# neither GT's DONE is sent yet, so the GuCs refuse both with VF_MIGRATED: pass 1 (GTs 0, 1)
# re-queues both and pass 2 (GTs 0, 1) ends the recovery. Where migration 2's MSI lands is timing
# (the defmt build's COM2 writes slow the pass down): usually inside pass 1; sometimes after pass
# 2, which then costs a third, redundant pass. The checks hold for either.
want "$d" DEBUG "migration recovery pass begins, GT mask 0x3$" "pass 1 begins (GTs 0, 1)"
want "$d" DEBUG "migration recovery in progress, GT mask 0x3$" "pass 1 in progress"
want "$d" DEBUG "sending RESFIX_START marker 1$" "RESFIX_START, first marker (pass 1)"
want "$d" INFO "tile 0: moving GGTT 0x200000 -> 0x300000$" "GGTT move of migration 1"
# "new pass queued" is false when migration 2's MSI queued the pass before the VF_MIGRATED reply
# (the usual case), true when the reply came first.
want "$d" INFO "VF migrated again during recovery, GT mask 0x1, new pass queued: (true|false)$" "gt0's re-queue after the mid-recovery migration"
want "$d" INFO "VF migrated again during recovery, GT mask 0x2, new pass queued: (true|false)$" "gt1's re-queue after the mid-recovery migration"
want "$d" DEBUG "migration recovery continues: requeued 0x3, deferred 0x0, postponed 0x0$" "pass 1 incomplete (both GTs re-queued)"
want "$d" DEBUG "sending RESFIX_START marker 2$" "RESFIX_START, each GT's next marker (pass 2)"
want "$d" INFO "tile 0: moving GGTT 0x300000 -> 0x600000$" "GGTT move of migration 2"
want "$d" INFO "migration recovery ended$" "end of recovery"
want "$d" DEBUG "guest irq: tile 0 MSI via int, SW_INT_0 on GT mask 0x3, during a pass: false$" "migration 1's MSI, logged from interrupt context"
want "$d" DEBUG "guest irq: tile 0 MSI via APIC timer, SW_INT_0 on GT mask 0x3, during a pass: (true|false)$" "migration 2's MSI, logged from interrupt context"
want "$d" INFO "guest: end of run, [0-9]+ passes, 2 migrations, passed: true$" "the guest's last line (stream complete)"
# The logger masks interrupts around a frame: the APIC timer expired inside a frame begun with
# IF = 1, and its handler's frame comes right after that frame, both intact.
want "$d" INFO "guest: a frame with IF = 1 waits for the APIC timer: timer expired: true, its handler ran inside this frame: false$" "an interrupt during a frame was held off"
probe=$(grep -nE '^[0-9]+ INFO +guest: a frame with IF = 1 waits for the APIC timer: ' "$d" | head -n 1 | cut -d: -f1)
if [[ -n $probe ]] && sed -n "$((probe + 1))p" "$d" | grep -qE '^[0-9]+ INFO +guest irq: APIC timer, logged after the frame that saw it expire$'; then
    echo "   ok  INFO  the timer handler's frame (interrupt context) follows that frame"
else
    fail "the timer handler's frame does not follow the frame it interrupted"
fi
# Counts: every pass the guest ran logged its start and its outcome (ended or continues).
count() { grep -cE "^[0-9]+ $1 +$2" "$d" || true; }
passes=$(sed -nE 's/^[0-9]+ INFO +guest: end of run, ([0-9]+) passes, .*/\1/p' "$d" | head -n 1)
begun=$(count DEBUG 'migration recovery pass begins, GT mask ')
progress=$(count DEBUG 'migration recovery in progress, GT mask ')
ended=$(count INFO 'migration recovery ended$')
continued=$(count DEBUG 'migration recovery continues: ')
if [[ -n $passes && $begun -eq $passes && $progress -eq $passes && $((ended + continued)) -eq $passes ]]; then
    echo "   ok  $passes passes: $passes x begins + in progress, $ended x ended, $continued x continues"
else
    fail "pass lines do not add up: guest ran '${passes}' passes; begins $begun, in progress $progress, ended $ended, continues $continued"
fi
# Order: bootstrap, pass 1, the re-queue, the re-queued pass, the end of recovery.
first() { grep -nE "^[0-9]+ $1 +$2" "$d" | head -n 1 | cut -d: -f1; }
o1=$(first INFO 'GT1: VF ABI '); o2=$(first DEBUG 'migration recovery pass begins, GT mask 0x3$')
o3=$(first INFO 'VF migrated again during recovery')
# Pass 2: the first pass to begin after the re-queue (GTs 0, 1 again).
o4=$(grep -nE '^[0-9]+ DEBUG +migration recovery pass begins, GT mask 0x3$' "$d" | cut -d: -f1 | awk -v after="${o3:-0}" '$1 > after' | head -n 1)
o5=$(first INFO 'migration recovery ended$')
if [[ -n $o1 && -n $o2 && -n $o3 && -n $o4 && -n $o5 && $o1 -lt $o2 && $o2 -lt $o3 && $o3 -lt $o4 && $o4 -lt $o5 ]]; then
    echo "   ok  order: bootstrap < pass 1 < re-queue < pass 2 < recovery ended"
else
    fail "lines out of order (line numbers: bootstrap '$o1', pass 1 '$o2', re-queue '$o3', pass 2 '$o4', ended '$o5')"
fi
if grep -qE '^[0-9]+ DEBUG +guest irq: tile 0 MSI via APIC timer, .*during a pass: true$' "$d"; then
    echo "   --  migration 2's MSI was taken in the middle of pass 1 (its frame logged from IRQ context)"
else
    echo "   --  migration 2's MSI came after the re-queued pass this time (one redundant pass)"
fi
n=$(grep -cE '^[0-9]+ TRACE ' "$d" || true)
[[ $n -eq 0 ]] || fail "DEFMT_LOG=debug: $n TRACE lines"
if ! grep -qE '^[0-9]+ WARN +guest: level probe WARN$' "$d"; then fail "DEFMT_LOG=debug: no WARN probe"; fi
n=$(grep -cE '^[0-9]+ (WARN|ERROR) ' "$d" || true)
[[ $n -eq 1 ]] || fail "DEFMT_LOG=debug: $n WARN/ERROR lines, expected only the probe"

run_level warn "$@"
w="$defmt_dir/decoded-warn.txt"
echo "== checks (DEFMT_LOG=warn): the filter removed every trace/debug/info line"
if grep -qE '^[0-9]+ WARN +guest: level probe WARN$' "$w"; then
    echo "   ok  WARN probe decoded"
else
    fail "DEFMT_LOG=warn: the WARN probe is missing (is the logger working?)"
fi
n=$(grep -cE '^[0-9]+ (TRACE|DEBUG|INFO) ' "$w" || true)
if [[ $n -eq 0 ]]; then
    echo "   ok  no TRACE/DEBUG/INFO lines ($(wc -l <"$w") decoded lines in all)"
else
    fail "DEFMT_LOG=warn: $n TRACE/DEBUG/INFO lines"
fi
printf '   .defmt section: %s B at debug, %s B at warn\n' \
    "$(size -A "$defmt_dir/xe-guest-debug" | awk '$1 == ".defmt" { print $2 }')" \
    "$(size -A "$defmt_dir/xe-guest-warn" | awk '$1 == ".defmt" { print $2 }')"

if [[ $failures -ne 0 ]]; then
    echo "== defmt: FAIL ($failures checks)"
    exit 1
fi
echo "== defmt: PASS"
