#!/usr/bin/env bash
# Builds the xe-ostd kernel (Asterinas OSTD 0.19, cargo-osdk 0.19) and runs its scenarios under
# QEMU (TCG, OVMF):
#
#   1  mock: the crate's unikernel_poll scenario inside the kernel, memirq page on DmaCoherent
#      and GuC interrupt register (`cargo osdk run`; its exit code is the kernel's verdict);
#   2  a real BAR: the kernel drives guests/guc-host's VF through ivshmem-doorbell (bootstrap of
#      both GTs, memirq page in the BAR, a migration played in place by the GuC host process,
#      SW_INT_0 by MSI-X, recovery, GGTT oracle); the GuC process's log must agree with the
#      kernel's trace request for request;
#   3  live: QEMU migrates the kernel A -> B -> C with guests/qemu-x86_64/live-migrate.sh (given
#      this kernel's boot arguments), twice: 3a B -> C starts while the recovery pass holds on B
#      and the pass ends on B while QEMU copies; 3b the VM is frozen inside the pass (the kernel
#      holds until it is on C, `xe.hold=moved`; `--fast`) and the pass goes on, on C; 3c as 3a
#      on ivshmem-plain, where OSTD's timer callback scans the memirq page instead of MSI-X.
#
#   bash guests/ostd/run.sh           (from any directory; all three scenarios)
#   bash guests/ostd/run.sh 1 2       (only those)
#
# Installs what is missing, each step bounded: the Debian packages (apt-get), OSTD's nightly
# (rustup), cargo-osdk 0.19.0 (cargo install --locked). Every QEMU run is under `timeout`.
# Exit status 0 only when every scenario run passed (each GT VF_RUNNING, ggtt=ok).
# Logs: guests/ostd/target/xe-ostd/.
set -euo pipefail
# Checks on a log grep the file itself: `tr ... | grep -q` under pipefail fails at random when
# grep quits at an early match while tr still writes (SIGPIPE, exit 141).

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$dir/../.." && pwd)"
work="$dir/target/xe-ostd"
scenarios=("$@")
[[ ${#scenarios[@]} -gt 0 ]] || scenarios=(1 2 3)
for s in "${scenarios[@]}"; do
    [[ $s == 1 || $s == 2 || $s == 3 ]] || { echo "usage: $0 [1] [2] [3]" >&2; exit 2; }
done
toolchain=nightly-2026-07-21
osdk_version=0.19.0
pass_status=33 # OSTD's ExitCode::Success through isa-debug-exit: (0x10 << 1) | 1
t_start=$(date +%s)
elapsed() { echo "$(($(date +%s) - t_start)) s"; }

# --- what it needs ----------------------------------------------------------------------------
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[[ -f /usr/share/OVMF/OVMF_CODE_4M.fd && -f /usr/share/OVMF/OVMF_VARS_4M.fd ]] || need_pkgs+=(ovmf)
command -v grub-mkrescue >/dev/null || need_pkgs+=(grub2-common)
[[ -d /usr/lib/grub/i386-pc ]] || need_pkgs+=(grub-pc-bin)
[[ -d /usr/lib/grub/x86_64-efi ]] || need_pkgs+=(grub-efi-amd64-bin)
command -v xorriso >/dev/null || need_pkgs+=(xorriso)
command -v mformat >/dev/null || need_pkgs+=(mtools)
if [[ ${#need_pkgs[@]} -gt 0 ]]; then
    echo "== installing ${need_pkgs[*]}"
    sudo=""
    if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then sudo=sudo; fi
    timeout 300 $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive timeout 600 $sudo apt-get install -y -qq "${need_pkgs[@]}"
fi
if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1 ||
    ! rustup +"$toolchain" component list --installed 2>/dev/null | grep -q '^rust-src'; then
    echo "== installing $toolchain (rustup)"
    timeout 600 rustup toolchain install "$toolchain" --profile minimal \
        -c rust-src -c rustc-dev -c llvm-tools-preview
fi
if ! cargo osdk --version 2>/dev/null | grep -q "$osdk_version"; then
    echo "== installing cargo-osdk $osdk_version (cargo install --locked; about 4 minutes on 2 cores)"
    (cd / && timeout 1200 cargo install --locked --version "$osdk_version" cargo-osdk)
fi

# --- build --------------------------------------------------------------------------------------
mkdir -p "$work"
rm -f "$work"/serial-*.log "$work"/guc-*.log "$work"/*.txt "$work"/*.ack "$work"/*.cmd "$work"/*.ready "$work"/image-*
cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/OVMF_VARS.fd"
export XE_OSTD_OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd XE_OSTD_OVMF_VARS="$work/OVMF_VARS.fd"
export XE_OSTD_SERIAL="$work/serial-build.log"

# build_iso NAME [KCMD_ARG...]: `cargo osdk build --release`, the GRUB rescue ISO copied to
# $work/NAME.iso (the kernel command line is in the ISO's grub.cfg).
build_iso() {
    local name=$1 iso kcmd
    shift
    local args=(osdk build --release)
    for kcmd in "$@"; do args+=(--kcmd-args="$kcmd"); done
    if ! (cd "$dir" && timeout 1200 cargo "${args[@]}") >"$work/build-$name.log" 2>&1; then
        tail -n 40 "$work/build-$name.log"
        echo "FAIL: cargo ${args[*]} (log: $work/build-$name.log)"
        exit 1
    fi
    iso=$(find "$dir/target/osdk" -name '*.iso' -newer "$work/OVMF_VARS.fd" -printf '%T@ %p\n' | sort -n | tail -n 1 | cut -d' ' -f2-)
    [[ -n $iso ]] || { echo "FAIL: cargo osdk build left no ISO"; exit 1; }
    cp "$iso" "$work/$name.iso"
}

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

# --- scenario 1 ---------------------------------------------------------------------------------
scenario1() {
    echo "== scenario 1: the unikernel_poll scenario on the mock GuC, inside the OSTD kernel (cargo osdk run)"
    local status=0 log="$work/serial-1.log"
    XE_OSTD_SERIAL="$log" timeout 300 bash -c 'cd "$1" && cargo osdk run --release' _ "$dir" || status=$?
    tr -d '\r' <"$log" | sed -n '/^xe-ostd:/,$p' | sed 's/^/   /'
    [[ $status -eq 0 ]] || fail "scenario 1: cargo osdk run exited $status"
    local n
    n=$(tr -d '\r' <"$log" | grep -cE '^summary: migrations=2 recoveries=2 deferred=0 requeued=1 wedged=no states=VF_RUNNING,VF_RUNNING ggtt=ok$' || true)
    [[ $n -eq 2 ]] || fail "scenario 1: $n of 2 summary lines with VF_RUNNING,VF_RUNNING ggtt=ok"
    grep -q '^memirq page: DmaCoherent' "$log" || fail "scenario 1: the memirq page was not the DmaCoherent one"
    # The same lines as the host example, per path (the kernel adds the line naming its page).
    local path irq kernel host
    for path in Memirq Mmio; do
        irq=memirq
        [[ $path == Mmio ]] && irq=mmio
        kernel=$(tr -d '\r' <"$log" | awk -v p="($path)" 'index($0, "unikernel:") == 1 && index($0, p) { on = 1 }
            on && !/^memirq page: DmaCoherent/ { print } on && /^summary:/ { exit }')
        if ! host=$(cd "$root" && timeout 600 cargo run -q --example unikernel_poll --features mock -- --irq "$irq"); then
            fail "scenario 1: the host example unikernel_poll --irq $irq failed"
        elif [[ -n $kernel && $kernel == "$host" ]]; then
            echo "   ok  scenario 1, $irq path: the kernel printed the same $(wc -l <<<"$kernel") lines as the host example (cargo run --example unikernel_poll --features mock -- --irq $irq)"
        else
            fail "scenario 1, $irq path: the kernel's lines differ from the host example's"
            diff <(echo "$kernel") <(echo "$host") | head -n 20 || true
        fi
    done
    [[ $failures -ne 0 ]] || echo "   ok  scenario 1: both interrupt paths, each GT VF_RUNNING, ggtt=ok ($(elapsed))"
}

# --- scenario 2 ---------------------------------------------------------------------------------
scenario2() {
    echo "== scenario 2: the GuC host process's VF behind ivshmem-doorbell, one migration played in place"
    (cd "$root/guests/guc-host" && timeout 600 cargo build -q --release)
    local guc="$root/guests/guc-host/target/release/xe-guc-host"
    local sock_dir shm="/dev/shm/xe-ostd-$$" log="$work/serial-2.log" qemu_pid guc_pid status=0
    [[ -d /dev/shm ]] || shm="${TMPDIR:-/tmp}/xe-ostd-$$"
    sock_dir=$(mktemp -d /tmp/xe-ostd.XXXXXX)
    cleanup2() {
        kill "${qemu_pid:-}" "${guc_pid:-}" 2>/dev/null || true
        wait 2>/dev/null || true
        rm -rf "$sock_dir" "$shm"
    }
    trap cleanup2 RETURN
    "$guc" serve --name A --shm "$shm" --ctl "$work" --log "$work/guc-2.log" --ggtt-start 0x200000 \
        --server "$sock_dir/A.sock" &
    guc_pid=$!
    local i
    for ((i = 0; i < 1000; i++)); do [[ -e $work/A.ready ]] && break; sleep 0.01; done
    [[ -e $work/A.ready ]] || { fail "scenario 2: the GuC process did not start"; return; }
    cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/OVMF_VARS-2.fd"
    timeout 180 qemu-system-x86_64 -accel tcg -machine q35 -cpu max -m 1G -smp 1 \
        -display none -vga none -net none -no-reboot -monitor none -serial "file:$log" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        -drive "if=pflash,format=raw,unit=0,readonly=on,file=$XE_OSTD_OVMF_CODE" \
        -drive "if=pflash,format=raw,unit=1,file=$work/OVMF_VARS-2.fd" \
        -drive "file=$work/xe-ostd.iso,format=raw,index=2,media=cdrom" \
        -chardev "socket,path=$sock_dir/A.sock,id=ivshmem" \
        -device ivshmem-doorbell,chardev=ivshmem,vectors=1,master=on </dev/null &
    qemu_pid=$!
    # cmd COMMAND...: a command to GuC process A; prints its ack.
    cmd() {
        rm -f "$work/A.ack"
        echo "$*" >"$work/A.cmd.tmp"
        mv "$work/A.cmd.tmp" "$work/A.cmd"
        for ((i = 0; i < 1000; i++)); do [[ -e $work/A.ack ]] && break; sleep 0.01; done
        cat "$work/A.ack" 2>/dev/null || echo "error: no answer"
    }
    for ((i = 0; i < 6000; i++)); do
        grep -qsE '^(ready:|FAIL)' "$log" && break
        kill -0 "$qemu_pid" 2>/dev/null || break
        sleep 0.02
    done
    if ! grep -qs '^ready:' "$log"; then
        tr -d '\r' 2>/dev/null <"$log" | tail -n 20 | sed 's/^/   /'
        fail "scenario 2: the kernel did not report ready"
        return
    fi
    tr -d '\r' <"$log" | grep -E '^(clock|pci|bar|irq: (ivshmem|no MSI))' | sed 's/^/   kernel: /'
    local ack
    ack=$(cmd pause "$work/image-2")
    echo "   GuC A: pause (the PF saves the VF): $ack"
    [[ $ack == ok* ]] || fail "scenario 2: pause: $ack"
    ack=$(cmd restore "$work/image-2" 0x300000)
    echo "   GuC A: restore with GGTT base 0x300000 (SW_INT_0 into the memirq page, MSI-X raised): $ack"
    [[ $ack == ok* ]] || fail "scenario 2: restore: $ack"
    wait "$qemu_pid" || status=$?
    qemu_pid=
    local states
    states=$(cmd exit)
    wait "$guc_pid" 2>/dev/null || true
    guc_pid=
    tr -d '\r' <"$log" | sed -n '/^ready:/,$p' | grep -vE '^(gt[0-9]+ |trace: host )' | sed 's/^/   kernel: /'
    [[ $status -eq $pass_status ]] || fail "scenario 2: QEMU exit status $status, not the kernel's pass ($pass_status)"
    [[ $states == "ok VF_RUNNING VF_RUNNING" ]] || fail "scenario 2: GuC process ends '$states'"
    local summary
    summary=$(tr -d '\r' <"$log" | grep -E '^summary:' | tail -n 1 || true)
    [[ $summary =~ ^summary:\ migrations=1\ .*wedged=no\ states=VF_RUNNING,VF_RUNNING\ ggtt=ok\ blackout_us=[0-9]+$ ]] ||
        fail "scenario 2: summary line '$summary'"
    grep -qE '^irq: MSI-X scan of the memirq page on host A: SW_INT_0 on GTs \{0, 1\}' "$log" ||
        fail "scenario 2: SW_INT_0 of both GTs did not come by MSI-X"
    grep -qE '^oracle: every GGTT user at 0x300000' "$log" || fail "scenario 2: the GGTT oracle"
    # The kernel's trace against the GuC process's log: the same requests, in order, per GT
    # (each GT's mailbox is its own channel; the order between GTs is not the same on both
    # sides), and the same replies.
    tr -d '\r' <"$log" | grep -E '^gt[0-9]+ [<>] ' >"$work/trace-2.txt" || true
    local gt n
    for gt in 0 1; do
        grep -E "^gt$gt > " "$work/trace-2.txt" >"$work/kernel-req-gt$gt.txt" || true
        grep -E "^gt$gt > " "$work/guc-2.log" >"$work/guc-req-gt$gt.txt" || true
        n=$(wc -l <"$work/guc-req-gt$gt.txt")
        if [[ $n -gt 0 ]] && cmp -s "$work/kernel-req-gt$gt.txt" "$work/guc-req-gt$gt.txt"; then
            echo "   ok  gt$gt: the GuC process's log and the kernel's trace have the same $n requests, in order"
        else
            fail "scenario 2 gt$gt: the GuC log's requests differ from the kernel's trace"
            diff "$work/kernel-req-gt$gt.txt" "$work/guc-req-gt$gt.txt" | head -n 20 || true
        fi
        if cmp -s <(grep -E "^gt$gt [<>] " "$work/trace-2.txt") <(grep -E "^gt$gt [<>] " "$work/guc-2.log"); then
            echo "   ok  gt$gt: and the same $(grep -cE "^gt$gt < " "$work/guc-2.log" || true) replies"
        else
            fail "scenario 2 gt$gt: the replies differ"
        fi
    done
    echo "   $summary"
}

# --- scenario 3 ---------------------------------------------------------------------------------
# live_migrate ISO WORK [live-migrate.sh args]: the harness boots this kernel instead of the
# bare-metal guest: OVMF (a VARS copy per host, %H = the host's letter) and the GRUB ISO.
live_migrate() {
    local iso=$1 lm_work=$2 h status=0
    shift 2
    for h in A B C; do cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/OVMF_VARS-$h.fd"; done
    XE_LM_GUEST_ARGS="-accel tcg -cpu max -m 256M \
-drive if=pflash,format=raw,unit=0,readonly=on,file=$XE_OSTD_OVMF_CODE \
-drive if=pflash,format=raw,unit=1,file=$work/OVMF_VARS-%H.fd \
-drive file=$work/$iso.iso,format=raw,index=2,media=cdrom,readonly=on" \
        XE_LM_BOOT_TIMEOUT=120 XE_LM_WORK="$lm_work" \
        timeout 600 bash "$root/guests/qemu-x86_64/live-migrate.sh" "$@" || status=$?
    return $status
}

scenario3() {
    echo "== scenario 3a: QEMU live-migrates the OSTD kernel A -> B -> C; B -> C starts while the pass holds, the pass ends on B while QEMU copies"
    live_migrate xe-ostd-live "$work/live" || fail "scenario 3a: live-migrate.sh exited $?"
    echo "== scenario 3b: the same, but the VM is frozen inside the recovery pass: the kernel holds at BeforeDone of gt0 until it is on C (xe.hold=moved), B -> C unthrottled (--fast)"
    live_migrate xe-ostd-frozen "$work/frozen" --fast || fail "scenario 3b: live-migrate.sh --fast exited $?"
    # Frozen inside the pass: it went on, on C; GuC B never saw the pass end.
    local b="$work/frozen/serial-B.log" c="$work/frozen/serial-C.log"
    grep -qE '^hold: recovery pass at BeforeDone of gt0 on host B' "$b" ||
        fail "scenario 3b: the kernel did not hold on B"
    if grep -qE '^hold: going on' "$b"; then
        fail "scenario 3b: the hold ended on B, not inside the frozen pass"
    fi
    grep -qE '^hold: going on, on host C' "$c" || fail "scenario 3b: the pass did not go on, on C"
    echo "   $(tr -d '\r' <"$c" | grep -E '^hold: going on' | head -n 1) (the VM was frozen inside the pass on B)"
    echo "== scenario 3c: as 3a on ivshmem-plain (no MSI-X): OSTD's timer callback scans the memirq page (--irq timer)"
    live_migrate xe-ostd-live "$work/timer" --irq timer || fail "scenario 3c: live-migrate.sh --irq timer exited $?"
}

echo "== build: the xe-ostd kernel (cargo osdk build --release; the first build takes minutes)"
build_iso xe-ostd
if [[ " ${scenarios[*]} " == *" 3 "* ]]; then
    build_iso xe-ostd-live xe.migrations=2
    build_iso xe-ostd-frozen xe.migrations=2 xe.hold=moved
fi
for s in "${scenarios[@]}"; do
    "scenario$s"
done
if [[ $failures -ne 0 ]]; then
    echo "== xe-ostd: FAIL ($failures checks; logs in $work, $(elapsed))"
    exit 1
fi
echo "== xe-ostd: PASS (scenarios ${scenarios[*]}, $(elapsed))"
