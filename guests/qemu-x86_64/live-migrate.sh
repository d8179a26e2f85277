#!/usr/bin/env bash
# A real VM live migration: the bare-metal guest (feature `live`) drives its VF through a PCI
# BAR (ivshmem) whose shared memory a GuC host process (guests/guc-host, the crate's mock
# GuC) serves, and QEMU live-migrates it between three hosts on this machine:
#
#   A (QEMU + GuC process A) boots the guest: bootstrap of both GTs, memirq registered;
#   A -> B while the guest is idle; GuC B plays the GuC restore (new GGTT base 0x300000);
#   B -> C while the guest holds inside the recovery pass (at BeforeDone of gt0): the script sees
#        the hold on B's serial line, starts the migration, tells the guest to go on; GuC C
#        restores with GGTT base 0x600000.
#
# Passes only if QEMU C exits with the guest's pass code, every GuC process ends VF_RUNNING for
# both GTs, the guest's summary says ggtt=ok, and each GuC process's log has the same requests,
# in order on each GT, as the guest's trace of that host. Every wait is bounded; QEMU and GuC processes are
# ended by PID and the shared-memory files removed on exit. Logs: target/live/.
#
#   guests/qemu-x86_64/live-migrate.sh              (from any directory)
#   guests/qemu-x86_64/live-migrate.sh --irq timer  ivshmem-plain, the APIC timer scans memirq
#   guests/qemu-x86_64/live-migrate.sh --fast       B -> C unthrottled: the VM may freeze
#                                                   anywhere in the recovery pass (see below)
#
# Another guest kernel (guests/ostd/run.sh uses this for its OSTD kernel): XE_LM_GUEST_ARGS, the
# QEMU arguments that boot it instead of `-cpu qemu64 -m 128M -kernel <this guest>` (`%H` is
# replaced by the host's letter; this guest is then not built), XE_LM_BOOT_TIMEOUT (seconds
# until `ready:` on host A, default 30) and XE_LM_WORK (the log directory). That kernel must
# print the same serial lines as src/live.rs and exit through isa-debug-exit with status 33.
#
# --irq msix (default): the device is ivshmem-doorbell and each GuC process is its ivshmem
# server (it hands QEMU the shared-memory file and the eventfd of MSI-X vector 0): after writing
# SW_INT_0 into the memirq page the destination's GuC process raises the MSI-X. --irq timer: the
# device is ivshmem-plain over memory-backend-file, no interrupt; the guest's periodic APIC
# timer scans the page.
#
# B -> C, default: the migration starts throttled (64 KiB/s: QEMU sends 6.5 KB per 100 ms
# window) while the guest is held; the guest
# goes on and finishes its recovery pass on B while QEMU copies it; once B's serial line shows
# the pass over, the bandwidth is raised and the migration converges. So every GuC process ends
# VF_RUNNING for both GTs. With --fast the migration runs at full speed from the start and the
# VM usually freezes inside the pass, often with a mailbox request in flight (the GuC on B
# answers after the freeze, the reply is lost, the VF times out on C and sends again), or before
# the guest saw the go (it then goes on, on C: the host letter changed). GuC B then ends
# VF_RESFIX_BLOCKED for the GTs it did not see finish; --fast checks those states against B's
# log instead of requiring VF_RUNNING.
set -euo pipefail
# Checks on a log grep the file itself: `tr ... | grep -q` under pipefail fails at random when
# grep quits at an early match while tr still writes (SIGPIPE, exit 141).
fast=0
irq=msix
while [[ $# -gt 0 ]]; do
    case $1 in
        --fast) fast=1 ;;
        --irq) irq=${2:-}; shift ;;
        *) echo "usage: $0 [--fast] [--irq msix|timer]" >&2; exit 2 ;;
    esac
    shift
done
[[ $irq == msix || $irq == timer ]] || { echo "--irq msix|timer" >&2; exit 2; }

dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$dir/../.." && pwd)"
work="${XE_LM_WORK:-$dir/target/live}"
pass_status=33 # qemu::PASS_STATUS in src/qemu.rs
t_start=$(date +%s%N)
elapsed() { echo "$(( ($(date +%s%N) - t_start) / 1000000 )) ms"; }

# shellcheck source=ensure-qemu.sh
source "$dir/ensure-qemu.sh"

echo "== build: the guest (--features live) and the GuC host process"
# Bounded too (a first build from scratch takes about a minute here).
guest_args=${XE_LM_GUEST_ARGS:-}
if [[ -z $guest_args ]]; then
    (cd "$dir" && env -u CARGO_BUILD_TARGET timeout 600 cargo rustc -q --release --manifest-path "$dir/Cargo.toml" \
        --target-dir "$dir/target/live-build" --bin xe-guest --features live -- -C relocation-model=static)
    guest_args="-cpu qemu64 -m 128M -kernel $dir/target/live-build/release/xe-guest"
fi
(cd "$root/guests/guc-host" && env -u CARGO_BUILD_TARGET timeout 600 cargo build -q --release)
guc="$root/guests/guc-host/target/release/xe-guc-host"

rm -rf "$work"
mkdir -p "$work"
# The ivshmem servers' unix sockets: a short path (a socket path has at most 107 bytes).
sock_dir=$(mktemp -d /tmp/xe-lm.XXXXXX)
tag="xe-lm-$$"
shm_dir=/dev/shm
[[ -d $shm_dir ]] || shm_dir="${TMPDIR:-/tmp}"
port0=$(( 20000 + ($$ % 20000) ))
declare -A qemu_pid guc_pid qmp_port ggtt
ggtt=([A]=0x200000 [B]=0x300000 [C]=0x600000)
qmp_port=([A]=$port0 [B]=$((port0 + 1)) [C]=$((port0 + 2)))
mig_port=$((port0 + 3))

# reap PID [SECONDS]: waits (bounded, default 5 s) for a child to exit, then SIGKILLs it.
reap() {
    local i
    for ((i = 0; i < ${2:-5} * 100; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.01
    done
    kill -9 "$1" 2>/dev/null || true
    wait "$1" 2>/dev/null || true
}

cleanup() {
    local p
    for p in "${qemu_pid[@]}" "${guc_pid[@]}"; do
        kill "$p" 2>/dev/null || true
    done
    for p in "${qemu_pid[@]}" "${guc_pid[@]}"; do
        reap "$p"
    done
    rm -f "$shm_dir/$tag"-?
    rm -rf "$sock_dir"
}
trap cleanup EXIT

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
die() { echo "FAIL: $*"; echo "== live migration: FAIL ($(elapsed))"; exit 1; }

# wait_file FILE SECONDS
wait_file() {
    local i
    for ((i = 0; i < $2 * 100; i++)); do
        [[ -e $1 ]] && return 0
        sleep 0.01
    done
    return 1
}

# wait_serial HOST REGEX SECONDS: until the host's serial log has a matching line.
wait_serial() {
    local i f="$work/serial-$1.log"
    for ((i = 0; i < $3 * 50; i++)); do
        if grep -qsE "$2" "$f"; then return 0; fi
        sleep 0.02
    done
    return 1
}

# start_guc HOST [--incoming]
start_guc() {
    local h=$1; shift
    local server=()
    [[ $irq == timer ]] || server=(--server "$sock_dir/$h.sock")
    "$guc" serve --name "$h" --shm "$shm_dir/$tag-$h" --ctl "$work" --log "$work/guc-$h.log" \
        --ggtt-start "${ggtt[$h]}" "${server[@]}" "$@" &
    guc_pid[$h]=$!
    wait_file "$work/$h.ready" 10 || die "GuC process $h did not start"
}

# start_qemu HOST [extra args]: the same command line on every host but for the backing file,
# the serial log and the QMP port.
start_qemu() {
    local h=$1; shift
    local ivshmem=(-object "memory-backend-file,id=bar,share=on,mem-path=$shm_dir/$tag-$h,size=2M"
        -device ivshmem-plain,memdev=bar,master=on)
    if [[ $irq == msix ]]; then # the GuC process is the ivshmem server: memory and MSI-X eventfd
        ivshmem=(-chardev "socket,path=$sock_dir/$h.sock,id=ivshmem"
            -device ivshmem-doorbell,chardev=ivshmem,vectors=1,master=on)
    fi
    local boot
    read -r -a boot <<<"${guest_args//%H/$h}"
    qemu-system-x86_64 \
        -machine q35 -smp 1 \
        -display none -vga none -net none -no-reboot -monitor none \
        -serial "file:$work/serial-$h.log" \
        -qmp "tcp:127.0.0.1:${qmp_port[$h]},server=on,wait=off" \
        -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
        "${ivshmem[@]}" "${boot[@]}" "$@" </dev/null &
    qemu_pid[$h]=$!
}

# qmp HOST JSON: prints the reply; fails the run on an error.
qmp() {
    local i r
    for ((i = 0; i < 100; i++)); do # the QMP socket may not listen yet
        if r=$("$guc" qmp "${qmp_port[$1]}" "$2" 10 2>&1); then
            echo "$r"
            return 0
        fi
        [[ $r == *"Connection refused"* ]] || break
        sleep 0.05
    done
    die "QMP $1 $2: $r"
}

# cmd HOST COMMAND...: a command to the GuC process; prints its ack ("ok STATES").
cmd() {
    local h=$1; shift
    rm -f "$work/$h.ack"
    echo "$*" >"$work/$h.cmd.tmp"
    mv "$work/$h.cmd.tmp" "$work/$h.cmd"
    wait_file "$work/$h.ack" 10 || die "GuC process $h did not answer '$*'"
    local ack
    ack=$(cat "$work/$h.ack")
    [[ $ack == ok* ]] || die "GuC process $h: '$*': $ack"
    echo "${ack#ok }"
}

# field JSON NAME: a number or string field of a QMP reply.
field() { grep -oE "\"$2\": *(\"[^\"]*\"|[0-9]+)" <<<"$1" | head -n 1 | sed -E 's/.*: *"?([^"]*)"?/\1/'; }

declare -A final_states
# migrate SRC DST [BEFORE_COMPLETION_HOOK]: QMP migrate, bounded wait for completion, the GuC
# restore on DST, then DST resumes the VM.
migrate() {
    local src=$1 dst=$2 hook=${3:-} r status i
    qmp "$src" "{\"execute\":\"migrate-set-parameters\",\"arguments\":{\"max-bandwidth\":${bandwidth:-4294967296},\"downtime-limit\":100}}" >/dev/null
    echo "== migrate $src -> $dst (tcp:127.0.0.1:$mig_port); QEMU $dst: $(field "$(qmp "$dst" '{"execute":"query-status"}')" status)"
    qmp "$src" "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"tcp:127.0.0.1:$mig_port\"}}" >/dev/null
    if [[ -n $hook ]]; then $hook; fi
    for ((i = 0; i < 1500; i++)); do
        r=$(qmp "$src" '{"execute":"query-migrate"}')
        status=$(field "$r" status)
        [[ $status == completed || $status == failed || $status == cancelled ]] && break
        sleep 0.02
    done
    echo "   QMP query-migrate on $src: status $status, total-time $(field "$r" total-time) ms, downtime $(field "$r" downtime) ms, setup-time $(field "$r" setup-time) ms, RAM transferred $(field "$r" transferred) B"
    [[ $status == completed ]] || die "migration $src -> $dst: $status"
    local t_done dst_status
    t_done=$(date +%s%N)
    # The destination may still be loading the last state the source sent (on a loaded host):
    # until it has, its devices are not restored, and the MSI-X the GuC restore raises would
    # find MSI-X disabled and be dropped (QEMU's ivshmem notifies only an enabled MSI-X).
    for ((i = 0; i < 500; i++)); do
        dst_status=$(field "$(qmp "$dst" '{"execute":"query-status"}')" status)
        [[ $dst_status == inmigrate ]] || break
        sleep 0.02
    done
    [[ $dst_status != inmigrate ]] || die "QEMU $dst is still loading the incoming migration after 10 s"
    [[ $i -eq 0 ]] || echo "   QEMU $dst: still loading the incoming state $(( ($(date +%s%N) - t_done) / 1000000 )) ms after the source completed; GuC restore after that"
    final_states[$src]=$(cmd "$src" pause "$work/image-$src")
    echo "   GuC $src paused with the VM; VF states it was left in: ${final_states[$src]}"
    local restored
    restored=$(cmd "$dst" restore "$work/image-$src" "${ggtt[$dst]}") # (a command substitution inside echo would hide a failure)
    echo "   GuC $dst restore: $restored (GGTT base ${ggtt[$dst]}, SW_INT_0 written to the memirq page$([[ $irq == msix ]] && echo ", MSI-X raised"))"
    qmp "$dst" '{"execute":"cont"}' >/dev/null
    echo "   QEMU $dst: cont, $(( ($(date +%s%N) - t_done) / 1000000 )) ms after QMP reported completed (GuC pause, VF image, GuC restore, cont)"
    "$guc" qmp "${qmp_port[$src]}" '{"execute":"quit"}' 5 >/dev/null 2>&1 || true # may close first
    reap "${qemu_pid[$src]}"
    cmd "$src" exit >/dev/null
    reap "${guc_pid[$src]}"
    unset "qemu_pid[$src]" "guc_pid[$src]"
}

echo "== host A: GuC process A (GGTT ${ggtt[A]}), QEMU A boots the guest"
start_guc A
start_qemu A
wait_serial A '^(ready:|FAIL)' "${XE_LM_BOOT_TIMEOUT:-30}" || die "the guest did not report ready on host A"
tr -d '\r' <"$work/serial-A.log" | grep -E '^(clock|pci|bar|irq: (ivshmem|no MSI)|ready)' | sed 's/^/   guest: /'
grep -q '^ready:' "$work/serial-A.log" || die "the guest failed on host A: $(tr -d '\r' <"$work/serial-A.log" | grep FAIL)"

echo "== host B: GuC process B (GGTT ${ggtt[B]}), QEMU B -incoming tcp:127.0.0.1:$mig_port -S"
start_guc B --incoming
start_qemu B -incoming "tcp:127.0.0.1:$mig_port" -S
migrate A B

wait_serial B '^(hold:|FAIL)' 20 || die "the guest did not reach its hold point on host B"
tr -d '\r' <"$work/serial-B.log" | grep -E '^hold:' | sed 's/^/   guest: /'
echo "== host C: GuC process C (GGTT ${ggtt[C]}), QEMU C -incoming tcp:127.0.0.1:$mig_port -S"
start_guc C --incoming
start_qemu C -incoming "tcp:127.0.0.1:$mig_port" -S
# The migration has started: the guest goes on with its recovery pass while QEMU copies it.
go_on() {
    local r i
    for ((i = 0; i < 250; i++)); do # past QEMU's setup phase: RAM is being copied
        r=$(qmp B '{"execute":"query-migrate"}')
        [[ $(field "$r" status) == setup ]] || break
        sleep 0.002
    done
    local went
    went=$(cmd B go)
    echo "   migration B -> C $(field "$r" status): GuC B told the guest to go on ($went)"
    [[ $fast -eq 1 ]] && return 0
    wait_serial B '^(worker: pass 1:|FAIL)' 20 || die "the guest's recovery pass did not end on host B"
    echo "   guest on B: $(tr -d '\r' <"$work/serial-B.log" | grep -E '^worker: pass 1:' | head -n 1)"
    echo "   migration B -> C $(field "$(qmp B '{"execute":"query-migrate"}')" status), $(field "$(qmp B '{"execute":"query-migrate"}')" transferred) B so far at 64 KiB/s: bandwidth raised"
    qmp B '{"execute":"migrate-set-parameters","arguments":{"max-bandwidth":4294967296}}' >/dev/null
}
[[ $fast -eq 1 ]] || bandwidth=65536
migrate B C go_on
bandwidth=

echo "== host C: waiting for the guest to finish"
for ((i = 0; i < 3000; i++)); do kill -0 "${qemu_pid[C]}" 2>/dev/null || break; sleep 0.01; done
status=0
if kill -0 "${qemu_pid[C]}" 2>/dev/null; then
    fail "the guest did not finish on host C within 30 s"
    kill "${qemu_pid[C]}" 2>/dev/null || true
    reap "${qemu_pid[C]}"
else
    wait "${qemu_pid[C]}" || status=$?
fi
unset "qemu_pid[C]"
final_states[C]=$(cmd C exit)
reap "${guc_pid[C]}"
unset "guc_pid[C]"

echo "== the guest on host B and C (serial, trace lines left out)"
for h in B C; do
    tr -d '\r' <"$work/serial-$h.log" | grep -vE '^(gt[0-9]+ |trace: host )' | grep -vE '^\s*$' | sed "s/^/   $h: /"
done
[[ $status -eq $pass_status ]] || fail "QEMU C exit status $status, not the guest's pass ($pass_status)"

# states_from_log LOG: the VF states a destination GuC's log implies: VF_RESFIX_BLOCKED after
# its restore, VF_RUNNING for a GT once a RESFIX_DONE of it was answered SUCCESS.
states_from_log() {
    awk '/GuC restore/ { r = 1; s[0] = s[1] = "VF_RESFIX_BLOCKED"; next }
         r && /^gt[01] > 0x....5508$/ { d[substr($1, 3, 1)] = 1; next }
         r && /^gt[01] < / { g = substr($1, 3, 1); if (d[g] && $3 == "0xf0000000") s[g] = "VF_RUNNING"; d[g] = 0 }
         END { print s[0], s[1] }' "$1"
}

echo "== checks"
for h in A B C; do
    if [[ ${final_states[$h]:-} == "VF_RUNNING VF_RUNNING" ]]; then
        echo "   ok  GuC $h ends VF_RUNNING for both GTs"
    elif [[ $fast -eq 1 && $h == B && ${final_states[B]:-} == "$(states_from_log "$work/guc-B.log")" ]]; then
        echo "   ok  GuC B ends '${final_states[B]}': the VM left B inside the recovery pass (--fast), as B's log says (VF_RUNNING exactly for the GTs whose RESFIX_DONE B accepted after its restore)"
    else
        fail "GuC $h ends '${final_states[$h]:-?}'"
    fi
done
summary=$(cat "$work"/serial-[ABC].log | tr -d '\r' | grep -E '^summary:' | tail -n 1 || true)
echo "   $summary"
if [[ $summary =~ ^summary:\ migrations=2\ .*wedged=no\ states=VF_RUNNING,VF_RUNNING\ ggtt=ok\ blackout_us=[0-9]+$ ]]; then
    echo "   ok  summary: 2 migrations, not wedged, both GTs VF_RUNNING, every GGTT user at the final base, a blackout measured"
else
    fail "summary line"
fi
recovered=$(cat "$work"/serial-[ABC].log | tr -d '\r' | grep -cE '^recovered: ' || true)
oracle=$(cat "$work"/serial-[ABC].log | tr -d '\r' | grep -cE '^oracle: every GGTT user at ' || true)
if [[ $recovered -ge 1 && $oracle -eq $recovered ]]; then
    echo "   ok  the guest's GGTT oracle held after each of its $recovered recoveries"
else
    fail "the GGTT oracle: $oracle good checks after $recovered recoveries"
fi
# The interrupt: with --irq msix, each destination's SW_INT_0 came with the GuC process's MSI-X
# (the guest has no periodic scan then); with --irq timer, the APIC timer's scan found it.
want_irq="MSI-X"
[[ $irq == msix ]] || want_irq="APIC timer"
for h in B C; do
    if grep -qhE "^irq: $want_irq scan of the memirq page on host $h: SW_INT_0 on GTs \{0, 1\}" "$work"/serial-[BC].log; then
        echo "   ok  host $h: SW_INT_0 of both GTs reached the guest through the $want_irq scan of the memirq page"
    else
        fail "host $h: no $want_irq delivery of SW_INT_0 to the guest"
    fi
done
# The guest's trace, split by host (the letter it read from the BAR's control page at each
# doorbell), against each GuC process's own log: the same requests, in order on each GT.
cat "$work"/serial-[ABC].log | tr -d '\r' |
    awk -v dir="$work" '/^trace: host /{h=$3; next} /^gt[0-9]+ [<>] /{print > (dir "/trace-" h ".txt")}'
for h in A B C; do
    touch "$work/trace-$h.txt"
    # Per GT: each GT's mailbox is its own channel, in order on both sides; the order between
    # the GTs is not (the worker posts both GTs' requests before it waits for either reply, and
    # the GuC process looks at the doorbells one after the other).
    for gt in 0 1; do
        grep -E "^gt$gt > " "$work/trace-$h.txt" >"$work/guest-req-$h-gt$gt.txt" || true
        grep -E "^gt$gt > " "$work/guc-$h.log" >"$work/guc-req-$h-gt$gt.txt" || true
        n=$(wc -l <"$work/guc-req-$h-gt$gt.txt")
        if cmp -s "$work/guest-req-$h-gt$gt.txt" "$work/guc-req-$h-gt$gt.txt"; then
            echo "   ok  host $h gt$gt: the GuC process's log and the guest's trace have the same $n requests, in order"
        else
            fail "host $h gt$gt: the GuC log's requests differ from the guest's trace"
            diff "$work/guest-req-$h-gt$gt.txt" "$work/guc-req-$h-gt$gt.txt" | head -n 20 || true
        fi
        if cmp -s <(grep -E "^gt$gt [<>] " "$work/trace-$h.txt") <(grep -E "^gt$gt [<>] " "$work/guc-$h.log"); then
            echo "   --  host $h gt$gt: replies agree too ($(grep -cE "^gt$gt < " "$work/guc-$h.log" || true) replies)"
        else
            echo "   --  host $h gt$gt: replies differ (a reply the migration lost: the GuC answered after the VM froze)"
        fi
    done
done
echo "== timings"
tr -d '\r' <"$work/serial-C.log" | grep -E '^recovered:' | sed 's/^/   guest: /' || true
tr -d '\r' <"$work/serial-B.log" | grep -E '^recovered:' | sed 's/$/ (includes the hold for the migration to C)/; s/^/   guest: /' || true
for h in B C; do # the GuC's view: from its SW_INT_0 (written at the restore, before cont) to its SUCCESS to RESFIX_DONE
    b=$(sed -nE "s/^# $h: (paused|exit).*the last migration's blackout as this GuC saw it: (.*)/\2/p" "$work/guc-$h.log" | tail -n 1)
    echo "   GuC $h: the migration's blackout as it saw it:$([[ -n $b ]] && echo " $b" || echo " ?")"
done
echo "   whole run $(elapsed)"
if [[ $failures -ne 0 ]]; then
    echo "== live migration: FAIL ($failures checks; logs in $work)"
    exit 1
fi
echo "== live migration: PASS"
