//! The crate's clock: the TSC, scaled to nanoseconds with the frequency OSTD determined at boot
//! (`ostd::arch::tsc_freq`: CPUID leaf 0x15/0x16 or OSTD's calibration against the PIT).

use xe_sriov_vf::device::Instant;

/// TSC cycles per second, never 0 (a failed calibration reads as 1 GHz and the ns are then
/// cycles: still monotonic, so every wait still ends).
fn freq() -> u64 {
    match ostd::arch::tsc_freq() {
        0 => 1_000_000_000,
        f => f,
    }
}

/// Nanoseconds since the TSC's origin.
pub fn now_ns() -> u64 {
    let ns = u128::from(ostd::arch::read_tsc()) * 1_000_000_000 / u128::from(freq());
    ns as u64
}

/// The crate's [`Instant`] now.
pub fn now() -> Instant {
    Instant(now_ns())
}

/// TSC cycles per millisecond (for the log).
pub fn cycles_per_ms() -> u64 {
    freq() / 1000
}
