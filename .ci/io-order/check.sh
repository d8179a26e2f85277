#!/usr/bin/env bash
# The real accessors keep Linux's order on the weakly ordered targets our users' kernels run on:
# MmioBar's register write has its barrier before the store (`writel`), its register read after
# the load (`readl`), MemirqMem's page read after the load (`dma_rmb`), and MemirqMem's
# full_barrier is Linux's `dma_mb` (on x86 too: a store can wait in the store buffer while later
# loads go ahead); see the `barrier` module in src/mmio.rs. Builds src/lib.rs (which calls each
# accessor) for AArch64, RISC-V and x86-64 with the crate's assembly emitted, and reads the
# functions' instructions in order. Needs the three rustup targets (.ci/run adds them). Run from
# anywhere.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$dir"

# check TARGET LOAD32 LOAD8 STORE32 RMB WMB DMA_RMB DMA_MB; an empty LOAD32 checks only DMA_MB
# (x86, where the other three are compiler barriers and leave nothing to read).
check() {
    local target="$1"
    local deps="$dir/target/$target/release/deps"
    # Both crates built again, so that both write their assembly now.
    rm -f "$deps"/*.s
    cargo clean -q --release --target "$target" --target-dir "$dir/target" \
      -p xe-sriov-vf -p xe-sriov-vf-io-order
    RUSTFLAGS="--emit=asm" cargo build -q --release --target "$target" --target-dir "$dir/target"
    python3 - "$deps" "$@" <<'PY'
import glob, re, sys

deps, target, load32, load8, store32, rmb, wmb, dma_rmb, dma_mb = sys.argv[1:]

def instructions(path):
    """Function label -> its instructions (mnemonic and operands, spaces normalised)."""
    fns, name = {}, None
    for line in open(path):
        if re.match(r"^[^\s.][^\s]*:$", line):
            name = line.rstrip()[:-1]
            fns[name] = []
        elif line.startswith(".Lfunc_end"):
            name = None
        elif name and line.startswith("\t") and not line.lstrip().startswith((".", "//", "#")):
            fns[name].append(" ".join(line.split()).replace(", ", ","))
    return fns

[crate] = glob.glob(f"{deps}/xe_sriov_vf-*.s")
[probe] = glob.glob(f"{deps}/xe_sriov_vf_io_order-*.s")
fns = {**instructions(crate), **instructions(probe)}

def body(part):
    found = [ins for name, ins in fns.items() if part in name]
    if len(found) != 1:
        sys.exit(f"FAIL {target}: {len(found)} functions named like {part!r} in the crate")
    return found[0]

def index(ins, what, fn):
    hits = [i for i, x in enumerate(ins) if x.startswith(what)]
    if len(hits) != 1:
        sys.exit(f"FAIL {target}: {fn} has {len(hits)} of {what!r}: {ins}")
    return hits[0]

def ordered(fn, part, first, then):
    ins = body(part)
    if not index(ins, first, fn) < index(ins, then, fn):
        sys.exit(f"FAIL {target}: {fn} does not do {first!r} before {then!r}: {ins}")
    print(f"ok {target}: {fn}: {first} ... {then}")

parts = ["MemirqPage$GT$12full_barrier"]
if load32:
    ordered("MmioBar register read", "4mmio13read_register", load32, rmb)
    ordered("MmioBar register write", "4mmio14write_register", wmb, store32)
    ordered("MemirqMem page read", "MemirqPage$GT$5read8", load8, dma_rmb)
    parts += ["4mmio13read_register", "4mmio14write_register", "MemirqPage$GT$5read8"]
full = body("MemirqPage$GT$12full_barrier")
if not any(re.match(dma_mb, x) for x in full):
    sys.exit(f"FAIL {target}: MemirqMem full_barrier has no {dma_mb!r}: {full}")
print(f"ok {target}: MemirqMem full barrier: {dma_mb}")

# And the accessors go through them (the probes call MmioBar and MemirqMem as a driver does).
text = open(probe).read()
for part in parts:
    if part not in text:
        sys.exit(f"FAIL {target}: the probes never reach {part}")
PY
}

check aarch64-unknown-none "ldr w" "ldrb w" "str w" "dmb oshld" "dmb oshst" "dmb oshld" "dmb osh$"
# (`fence iorw,iorw` is the full fence, which LLVM prints as a bare `fence`.)
check riscv64gc-unknown-none-elf "lw " "lbu " "sw " "fence i,ir" "fence w,o" "fence ir,ir" \
  "fence( iorw,iorw)?$"
check x86_64-unknown-none "" "" "" "" "" "" "(mfence|lock or)"
echo "io-order: ok"
