//! Local APIC (xAPIC, MMIO at the address in IA32_APIC_BASE, identity-mapped uncached by the
//! trampoline): enable, one-shot timer, EOI.
//!
//! Under QEMU the APIC timer counts at 1 GHz divided by the divide configuration, in virtual
//! time (TCG or KVM alike), so with divide-by-16 one count is 16 ns.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::interrupts::{SPURIOUS_VECTOR, TIMER_VECTOR};

const IA32_APIC_BASE: u32 = 0x1B;
const APIC_BASE_ENABLE: u64 = 1 << 11;

const REG_ID: usize = 0x020;
const REG_TPR: usize = 0x080;
const REG_EOI: usize = 0x0B0;
const REG_SVR: usize = 0x0F0;
const REG_LVT_TIMER: usize = 0x320;
const REG_LVT_LINT0: usize = 0x350;
const REG_TIMER_INIT: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3E0;

const LVT_MASKED: u32 = 1 << 16;
const SVR_APIC_ENABLE: u32 = 1 << 8;
const DIVIDE_BY_16: u32 = 0b0011;

/// Nanoseconds per timer count with the divide configuration used here.
pub const NS_PER_COUNT: u64 = 16;

static BASE: AtomicUsize = AtomicUsize::new(0);

fn rdmsr(msr: u32) -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: reading an architectural MSR that exists on every x86_64 CPU with an APIC.
    unsafe { core::arch::asm!("rdmsr", in("ecx") msr, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags)) };
    (hi as u64) << 32 | lo as u64
}

fn wrmsr(msr: u32, value: u64) {
    // SAFETY: only called for IA32_APIC_BASE with its current base and the enable bit set.
    unsafe {
        core::arch::asm!("wrmsr", in("ecx") msr, in("eax") value as u32, in("edx") (value >> 32) as u32, options(nostack, preserves_flags))
    };
}

fn read(reg: usize) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    debug_assert!(base != 0);
    // SAFETY: `base` is the APIC's MMIO page (from IA32_APIC_BASE, identity-mapped below 4 GiB);
    // `reg` is one of the 16-byte-aligned xAPIC registers above.
    unsafe { core::ptr::read_volatile((base + reg) as *const u32) }
}

fn write(reg: usize, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    // SAFETY: as in `read`; each constant names a writable xAPIC register.
    unsafe { core::ptr::write_volatile((base + reg) as *mut u32, value) }
}

/// Enables the local APIC with the spurious vector, accepts all priorities, masks LINT0 (the
/// legacy PIC's ExtINT line) and leaves the timer masked. Returns the APIC ID.
pub fn init() -> u32 {
    let msr = rdmsr(IA32_APIC_BASE);
    let base = (msr & 0x000F_FFFF_FFFF_F000) as usize;
    assert!(base < 1 << 32, "APIC above the identity map");
    wrmsr(IA32_APIC_BASE, msr | APIC_BASE_ENABLE);
    BASE.store(base, Ordering::Relaxed);

    write(REG_SVR, SVR_APIC_ENABLE | SPURIOUS_VECTOR as u32);
    write(REG_TPR, 0);
    write(REG_LVT_LINT0, LVT_MASKED);
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
    id()
}

/// Arms the one-shot timer: [`TIMER_VECTOR`] fires once after `counts` (× [`NS_PER_COUNT`] ns).
pub fn arm_oneshot(counts: u32) {
    write(REG_LVT_TIMER, TIMER_VECTOR as u32); // one-shot mode (bits 17-18 = 0), unmasked
    write(REG_TIMER_INIT, counts);
}

/// The timer's current count (0 once a one-shot has expired).
pub fn current_count() -> u32 {
    read(REG_TIMER_CURRENT)
}

/// Signals end of interrupt (for every APIC-delivered vector except the spurious one).
pub fn eoi() {
    write(REG_EOI, 0);
}

/// This CPU's local APIC ID.
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Starts a one-shot count of `counts` with the interrupt masked (poll [`current_count`]).
pub fn start_masked(counts: u32) {
    write(REG_LVT_TIMER, LVT_MASKED | TIMER_VECTOR as u32);
    write(REG_TIMER_INIT, counts);
}

/// Periodic timer: [`TIMER_VECTOR`] every `counts` (× [`NS_PER_COUNT`] ns).
pub fn start_periodic(counts: u32) {
    const PERIODIC: u32 = 1 << 17;
    write(REG_LVT_TIMER, PERIODIC | TIMER_VECTOR as u32);
    write(REG_TIMER_INIT, counts);
}
