#!/usr/bin/env bash
# The real accessors keep Linux's order on the weakly ordered targets our users' kernels run on:
# MmioBar's register write has its barrier before the store (`writel`), its register read after
# the load (`readl`), and MemirqMem's page read after the load (`dma_rmb`); see the `barrier`
# module in src/mmio.rs. Builds src/lib.rs (which calls each accessor) for AArch64 and RISC-V
# with the crate's assembly emitted, and reads the three functions' instructions in order.
# Needs the two rustup targets (.ci/run adds them). Run from anywhere.
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$dir"

check() {
    local target="$1" load32="$2" load8="$3" store32="$4" rmb="$5" wmb="$6" dma_rmb="$7"
    local deps="$dir/target/$target/release/deps"
    rm -f "$deps"/*.s
    RUSTFLAGS="--emit=asm" cargo build -q --release --target "$target" --target-dir "$dir/target"
    python3 - "$target" "$deps" "$load32" "$load8" "$store32" "$rmb" "$wmb" "$dma_rmb" <<'PY'
import glob, re, sys

target, deps, load32, load8, store32, rmb, wmb, dma_rmb = sys.argv[1:]

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
fns = instructions(crate)

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

ordered("MmioBar register read", "4mmio13read_register", load32, rmb)
ordered("MmioBar register write", "4mmio14write_register", wmb, store32)
ordered("MemirqMem page read", "MemirqPage$GT$5read8", load8, dma_rmb)

# And the accessors go through them (the probes call MmioBar and MemirqMem as a driver does).
text = open(probe).read()
for part in ("4mmio13read_register", "4mmio14write_register", "MemirqPage$GT$5read8"):
    if part not in text:
        sys.exit(f"FAIL {target}: the probes never reach {part}")
PY
}

check aarch64-unknown-none "ldr w" "ldrb w" "str w" "dmb oshld" "dmb oshst" "dmb oshld"
check riscv64gc-unknown-none-elf "lw " "lbu " "sw " "fence i,ir" "fence w,o" "fence ir,ir"
echo "io-order: ok"
