#!/usr/bin/env bash
# Footprint of xe-sriov-vf in the bare-metal QEMU guest and in the no_std proof binary.
#
#   guests/qemu-x86_64/footprint.sh            print the markdown table
#   guests/qemu-x86_64/footprint.sh --write    also replace the table in guests/qemu-x86_64/README.md
#
# Method (all release builds, host target x86_64-unknown-linux-gnu, same flags as run.sh and
# nostd-proof/check.sh):
#  1. Section sizes with `size -A`.
#  2. The crate's part, by difference: each binary is linked twice, as is and with its `baseline`
#     feature, which leaves out every use of the crate (no Vf, no mock GuC, no scenario). The
#     difference is crate + mock GuC + the integration code that drives them (and, in the guest,
#     the printing of the trace).
#  3. `.text` by source file, from the DWARF line tables (`objdump --dwarf=decodedline`): every
#     instruction is attributed to the file of its line-table row, so code inlined from the crate
#     into the guest still counts as the crate's. Built with line tables only
#     (CARGO_PROFILE_RELEASE_DEBUG=line-tables-only), which adds .debug_* sections but leaves
#     .text/.rodata/.data/.bss byte-identical (checked below).
#  4. Stacks: boot run.sh and read the guest's watermark lines (the stacks are painted; the
#     recovery and bootstrap depths are measured below the scenario's frame, IST1 after a repaint).
#  5. The defmt build (`--features defmt`, as run.sh --defmt builds it) at DEFMT_LOG=debug and
#     at DEFMT_LOG=warn: its sections, including `.defmt` (an INFO section, not loaded: about one byte
#     per interned string, the strings themselves are symbol names), beside the plain build's.
set -euo pipefail

guest="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$guest/../.." && pwd)"
proof="$root/nostd-proof"
work="$guest/target/footprint"
mkdir -p "$work/bin"
write=0
[[ "${1:-}" == "--write" ]] && write=1

log() { echo "== $*" >&2; }

build_guest() { # $1 = output name, rest = extra cargo args
    local out="$1"; shift
    env -u CARGO_BUILD_TARGET CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
        cargo rustc -q --release --manifest-path "$guest/Cargo.toml" --target-dir "$work/guest" \
        --bin xe-guest "$@" -- -C relocation-model=static >&2
    cp "$work/guest/release/xe-guest" "$work/bin/$out"
}

build_proof() { # $1 = output name, rest = extra cargo args
    local out="$1"; shift
    (cd "$proof" && env -u CARGO_BUILD_TARGET CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
        cargo rustc -q --release --target-dir "$work/proof" "$@" -- \
        -C link-arg=-nostartfiles -C link-arg=-nostdlib -C link-arg=-static >&2)
    cp "$work/proof/release/nostd-proof" "$work/bin/$out"
}

log "build: guest, guest baseline, guest defmt (debug, warn), proof, proof baseline (release, line tables only)"
build_guest guest
build_guest guest-baseline --features baseline
DEFMT_LOG=debug build_guest guest-defmt --features defmt
DEFMT_LOG=warn build_guest guest-defmt-warn --features defmt
build_proof proof
build_proof proof-baseline --features baseline
"$work/bin/proof" || { echo "FAIL: the proof binary exited $?" >&2; exit 1; }

# Section size of $2 in ELF $1 (0 if absent).
sec() { size -A "$1" | awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print 0 }'; }

log "boot: run.sh (stack watermarks; it also builds the plain release ELF)"
serial="$("$guest/run.sh" 2>&1)" || { echo "$serial" >&2; echo "FAIL: run.sh" >&2; exit 1; }
log "check: line tables leave the allocated sections unchanged (vs run.sh's build)"
plain="$guest/target/release/xe-guest"
for s in .text .rodata .data .bss; do
    if [[ "$(sec "$plain" "$s")" != "$(sec "$work/bin/guest" "$s")" ]]; then
        echo "FAIL: $s differs between run.sh's build and the line-table build" >&2
        exit 1
    fi
done
stack_line="$(grep -E '^stack: recovery path' <<<"$serial" | tr -d '\r')"
ram_line="$(grep -E '^ram: ' <<<"$serial" | tr -d '\r')"
recovery_stack="$(sed -E 's/.*recovery path ([0-9]+) B.*/\1/' <<<"$stack_line")"
bootstrap_stack="$(sed -E 's/.*bootstrap ([0-9]+) B.*/\1/' <<<"$stack_line")"
irq_stack="$(sed -E 's/.*\(IST1\) ([0-9]+) B.*/\1/' <<<"$stack_line")"
vf_size="$(sed -E 's/.*PollingQueue, 2, Memirq<_>> ([0-9]+) B.*/\1/' <<<"$ram_line")"
mock_size="$(sed -E 's/.*MockGuc ([0-9]+) B each.*/\1/' <<<"$ram_line")"
page_size="$(sed -E 's/.*memirq page ([0-9]+) B.*/\1/' <<<"$ram_line")"
for v in "$recovery_stack" "$bootstrap_stack" "$irq_stack" "$vf_size" "$mock_size" "$page_size"; do
    if ! [[ "$v" =~ ^[0-9]+$ ]]; then
        echo "FAIL: could not read the guest's stack/ram lines:" >&2
        echo "  $stack_line" >&2
        echo "  $ram_line" >&2
        exit 1
    fi
done

log "boot: the defmt build (DEFMT_LOG=debug; stack watermarks on COM1, COM2 discarded)"
defmt_com1="$work/serial-defmt.log"
rm -f "$defmt_com1"
set +e
timeout "${XE_GUEST_TIMEOUT:-60}" qemu-system-x86_64 -machine "${XE_GUEST_MACHINE:-q35}" -cpu "${XE_GUEST_CPU:-qemu64}" \
    -m 128M -smp 1 -display none -vga none -net none -no-reboot -monitor none \
    -serial "file:$defmt_com1" -serial null -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel "$work/bin/guest-defmt" </dev/null
defmt_status=$?
set -e
defmt_stack_line="$(grep -E '^stack: recovery path' "$defmt_com1" 2>/dev/null | tr -d '\r' || true)"
defmt_recovery_stack="$(sed -E 's/.*recovery path ([0-9]+) B.*/\1/' <<<"$defmt_stack_line")"
defmt_bootstrap_stack="$(sed -E 's/.*bootstrap ([0-9]+) B.*/\1/' <<<"$defmt_stack_line")"
defmt_irq_stack="$(sed -E 's/.*\(IST1\) ([0-9]+) B.*/\1/' <<<"$defmt_stack_line")"
if [[ $defmt_status -ne 33 ]] || ! [[ "$defmt_recovery_stack$defmt_bootstrap_stack$defmt_irq_stack" =~ ^[0-9]+$ ]]; then
    echo "FAIL: the defmt build did not pass (QEMU status $defmt_status) or printed no stack line" >&2
    exit 1
fi

# .text bytes by source, from the line tables: the crate (without its mock), the mock, core,
# registry deps, the binary's own code; "none" = .text bytes no line-table row covers.
# shellcheck disable=SC2016
attribute_py='
import os, re, subprocess, sys
elf, own_dir, crate_dir = sys.argv[1], sys.argv[2], sys.argv[3]
def objdump(*args):
    return subprocess.run(["objdump", *args, elf], check=True, capture_output=True, text=True).stdout
for line in objdump("-h").splitlines():
    f = line.split()
    if len(f) > 3 and f[1] == ".text":
        lo = int(f[3], 16)
        hi = lo + int(f[2], 16)
def rs_files(d):
    base = os.path.dirname(d)
    return {os.path.relpath(os.path.join(p, f), base) for p, _, fs in os.walk(d) for f in fs if f.endswith(".rs")}
crate, own = rs_files(crate_dir), rs_files(own_dir)
def bucket(path):
    if "/rustc/" in path or path.startswith("library/"):
        return "core"
    if ".cargo/registry" in path:
        return "defmt" if re.search(r"/defmt(-[a-z]+)?-[0-9]", path) else "deps"
    if path.startswith(crate_dir + "/"):
        rel = os.path.relpath(path, os.path.dirname(crate_dir))
    elif path.startswith(own_dir + "/"):
        return "own"
    elif path in crate and path in own:
        return "ambiguous"
    elif path in crate:
        rel = path
    elif path in own:
        return "own"
    elif "/" not in path:  # a bare file name (the primary file of a unit): match it by name
        in_crate = {os.path.basename(x) for x in crate}
        in_own = {os.path.basename(x) for x in own}
        if path in in_crate and path in in_own:
            return "ambiguous"
        if path in in_own:
            return "own"
        if path not in in_crate:
            return "other"
        rel = next(x for x in sorted(crate) if os.path.basename(x) == path)
    else:
        return "other"
    return "mock" if rel.startswith("src/mock/") else "crate"
rows, cur = [], None
for line in objdump("--dwarf=decodedline").splitlines():
    if not line.strip():
        continue
    if re.fullmatch(r"\S+:", line):
        cur = line[:-1]
        continue
    f = line.split()
    addr = next((int(x, 16) for x in f if x.startswith("0x")), None)
    if addr is None or len(f) < 3 or cur is None:
        continue
    rows.append((addr, f[1] == "-", bucket(cur)))
rows.sort(key=lambda r: (r[0], not r[1]))
sizes = {}
for (a, end, b), (n, _, _) in zip(rows, rows[1:]):
    if end or a < lo or a >= hi:
        continue
    sizes[b] = sizes.get(b, 0) + min(n, hi) - a
sizes["none"] = (hi - lo) - sum(sizes.values())
print(" ".join("%s=%d" % (k, sizes.get(k, 0)) for k in ("crate", "mock", "core", "deps", "defmt", "own", "other", "ambiguous", "none")))
'
by_source() { # $1 = ELF, $2 = the binary's own src dir
    python3 -c "$attribute_py" "$1" "$2" "$root/src"
}

log "attribute .text by source file"
guest_src="$(by_source "$work/bin/guest" "$guest/src")"
proof_src="$(by_source "$work/bin/proof" "$proof/src")"
defmt_src="$(by_source "$work/bin/guest-defmt" "$guest/src")"
get() { sed -E "s/.*(^| )$2=([0-9]+).*/\2/" <<<"$1"; }
for v in "$guest_src" "$proof_src" "$defmt_src"; do
    if [[ "$(get "$v" ambiguous)" != 0 ]]; then
        echo "FAIL: unattributed source files: $v" >&2
        exit 1
    fi
done

row() { # label, ELF
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$(sec "$2" .text)" "$(sec "$2" .rodata)" "$(sec "$2" .data)" "$(sec "$2" .bss)"
}
defrow() { # label, ELF: with .defmt
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(sec "$2" .text)" "$(sec "$2" .rodata)" "$(sec "$2" .data)" "$(sec "$2" .bss)" "$(sec "$2" .defmt)"
}
defdiff() { # label, ELF, ELF subtracted: with .defmt
    local s out=()
    for s in .text .rodata .data .bss .defmt; do out+=("$(( $(sec "$2" "$s") - $(sec "$3" "$s") ))"); done
    printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "${out[@]}"
}
diffrow() { # label, full ELF, baseline ELF
    local s out=()
    for s in .text .rodata .data .bss; do out+=("$(( $(sec "$2" "$s") - $(sec "$3" "$s") ))"); done
    printf '| %s | %s | %s | %s | %s |\n' "$1" "${out[@]}"
}

table="$(
    echo "Sizes in bytes; release builds (guest: opt-level 2, proof: opt-level \"s\"; both LTO, panic=abort), x86_64. Regenerate with \`guests/qemu-x86_64/footprint.sh\`."
    echo
    echo "| binary | .text | .rodata | .data | .bss |"
    echo "|---|---:|---:|---:|---:|"
    row "QEMU guest (\`guests/qemu-x86_64\`)" "$work/bin/guest"
    row "QEMU guest, \`baseline\` feature (no crate)" "$work/bin/guest-baseline"
    diffrow "**difference: crate + mock GuC + scenario + trace printing**" "$work/bin/guest" "$work/bin/guest-baseline"
    row "no_std proof (\`nostd-proof\`)" "$work/bin/proof"
    row "no_std proof, \`baseline\` feature (no crate)" "$work/bin/proof-baseline"
    diffrow "**difference: crate + mock GuC + checks**" "$work/bin/proof" "$work/bin/proof-baseline"
    echo
    echo "| defmt build of the QEMU guest (\`--features defmt\`, \`run.sh --defmt\`) | .text | .rodata | .data | .bss | .defmt |"
    echo "|---|---:|---:|---:|---:|---:|"
    defrow "plain build (no logging backend: the crate's log lines compile to nothing)" "$work/bin/guest"
    defrow "\`defmt\` feature, \`DEFMT_LOG=debug\` (the crate's debug+ lines, the COM2 logger, the guest's probes)" "$work/bin/guest-defmt"
    defrow "\`defmt\` feature, \`DEFMT_LOG=warn\` (warn and error lines only)" "$work/bin/guest-defmt-warn"
    defdiff "**difference: defmt at debug - plain**" "$work/bin/guest-defmt" "$work/bin/guest"
    echo
    echo "\`.defmt\` is an \`(INFO)\` section: in the ELF for the decoder, in no loaded segment; its size is the range of the string indices (about one per interned string: the strings themselves are the names of its symbols, in \`.symtab\`). \`.text\` of the \`DEFMT_LOG=debug\` build by source file: xe-sriov-vf without the mock $(get "$defmt_src" crate), mock $(get "$defmt_src" mock), core $(get "$defmt_src" core), defmt $(get "$defmt_src" defmt), spin/heapless/bitflags $(get "$defmt_src" deps), the guest's own code $(get "$defmt_src" own)."
    echo
    echo "| .text by source file (DWARF line tables) | QEMU guest | no_std proof |"
    echo "|---|---:|---:|"
    echo "| xe-sriov-vf without the mock (\`src/\` minus \`src/mock/\`) | $(get "$guest_src" crate) | $(get "$proof_src" crate) |"
    echo "| xe-sriov-vf mock GuC (\`src/mock/\`) | $(get "$guest_src" mock) | $(get "$proof_src" mock) |"
    echo "| core (fmt, atomics, slices, ...) | $(get "$guest_src" core) | $(get "$proof_src" core) |"
    echo "| spin, heapless, bitflags | $(get "$guest_src" deps) | $(get "$proof_src" deps) |"
    echo "| the binary's own code | $(get "$guest_src" own) | $(get "$proof_src" own) |"
    echo "| no line info (assembly stubs, padding) or unresolved file | $(( $(get "$guest_src" none) + $(get "$guest_src" other) )) | $(( $(get "$proof_src" none) + $(get "$proof_src" other) )) |"
    echo
    echo "| RAM and stack (QEMU guest, measured) | bytes |"
    echo "|---|---:|"
    echo "| \`Vf<_, _, PollingQueue, 2, Memirq<_>>\` (2 GTs, coordinator, counters, the tile's \`Memirq\`; in a \`static spin::Once\`) | $vf_size |"
    echo "| \`MockGuc\` (one per GT; test double, not needed on hardware) | $mock_size |"
    echo "| memirq page (one per tile, 4 KiB-aligned \`MockMemirqPage\` in \`.bss\`; on hardware a page of system memory the GPU writes) | $page_size |"
    echo "| deepest stack, recovery path (main loop → \`run_worker\` → crate → mock → hooks; 2 passes, second migration mid-pass) | $recovery_stack |"
    echo "| deepest stack, bootstrap of 2 GTs and memirq registration (\`Vf::bootstrap\`, \`Vf::register_memirq\`) | $bootstrap_stack |"
    echo "| deepest stack, the tile's MSI path on IST1 (stub + 512 B \`fxsave\` + \`handle_memirq\` + event log) | $irq_stack |"
    echo "| defmt build (\`DEFMT_LOG=debug\`): deepest stack, recovery path (the crate's frames encoded inside its calls) | $defmt_recovery_stack |"
    echo "| defmt build: deepest stack, bootstrap and memirq registration | $defmt_bootstrap_stack |"
    echo "| defmt build: deepest stack, the tile's MSI path on IST1 (the handler logs one frame) | $defmt_irq_stack |"
)"

echo "$table"

if [[ $write -eq 1 ]]; then
    readme="$guest/README.md"
    python3 - "$readme" "$table" <<'EOF'
import sys
path, table = sys.argv[1], sys.argv[2]
text = open(path).read()
begin, end = "<!-- footprint:begin -->", "<!-- footprint:end -->"
if begin not in text or end not in text:
    sys.exit("README.md has no footprint markers")
head, rest = text.split(begin, 1)
_, tail = rest.split(end, 1)
open(path, "w").write(head + begin + "\n" + table + "\n" + end + tail)
EOF
    log "wrote the table into $readme"
fi
