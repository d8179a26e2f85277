//! A real-time `Clock` for the crate: the TSC, calibrated against the local APIC timer (which
//! QEMU runs at 1 GHz / 16 of virtual time, see `apic.rs`).

use core::sync::atomic::{AtomicU64, Ordering};

use xe_sriov_vf::device::{Clock, Instant};

use crate::{apic, rdtsc};

/// TSC cycles per millisecond (0 until calibrated).
static TSC_PER_MS: AtomicU64 = AtomicU64::new(0);

/// Calibrates the TSC over `ms` milliseconds of the APIC timer (polled, masked). Returns cycles
/// per millisecond.
pub fn calibrate(ms: u32) -> u64 {
    let counts = (u64::from(ms) * 1_000_000 / apic::NS_PER_COUNT) as u32;
    let t0 = rdtsc();
    apic::start_masked(counts);
    // Bounded: 2^34 TSC cycles is seconds on any machine this runs on.
    while apic::current_count() != 0 && rdtsc() - t0 < 1 << 34 {
        core::hint::spin_loop();
    }
    let per_ms = ((rdtsc() - t0) / u64::from(ms.max(1))).max(1);
    TSC_PER_MS.store(per_ms, Ordering::Relaxed);
    per_ms
}

/// Nanoseconds on the calibrated TSC.
pub fn now_ns() -> u64 {
    let per_ms = TSC_PER_MS.load(Ordering::Relaxed).max(1);
    (u128::from(rdtsc()) * 1_000_000 / u128::from(per_ms)) as u64
}

/// The crate's clock: [`now_ns`].
#[derive(Clone, Copy, Debug)]
pub struct TscClock;

impl Clock for TscClock {
    fn now(&self) -> Instant {
        Instant(now_ns())
    }
}
