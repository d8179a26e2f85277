//! Register access and time: the [`Device`] trait every higher layer talks through.
//!
//! The trait is offset-based, like the Rust-for-Linux `Io` trait: a register is a byte offset
//! ([`Reg`]) into the VF's MMIO BAR, so an embedder whose BAR is mapped at run time needs no
//! struct overlay. It also carries the time source that bounds every wait in the crate.

use core::fmt;
use core::time::Duration;

/// A 32-bit register, named by its byte offset from the start of the VF's MMIO BAR.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reg(pub u32);

impl Reg {
    /// The register's byte offset.
    #[must_use]
    pub const fn offset(self) -> u32 {
        self.0
    }

    /// The register `4 * n` bytes after this one (the `n`-th of a block of 32-bit registers).
    #[must_use]
    pub const fn nth(self, n: u32) -> Reg {
        Reg(self.0.wrapping_add(n.wrapping_mul(4)))
    }
}

impl fmt::Debug for Reg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reg({:#08x})", self.0)
    }
}

/// A point on the device's monotonic clock, in nanoseconds since an arbitrary origin.
///
/// Readings are compared modulo 2^64: a clock may wrap past `u64::MAX` back to small values
/// and still count as going forward (see [`nanos_since`](Instant::nanos_since)).
///
/// It has no `Ord`: an order on the raw value would disagree with the wrap-around one; use
/// [`is_after`](Instant::is_after) and [`nanos_since`](Instant::nanos_since).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(pub u64);

/// Half the clock's range: a step of at least this much (modulo 2^64) is "backwards".
const HALF_RANGE: u64 = 1 << 63;

impl Instant {
    /// Nanoseconds from `earlier` to `self`, modulo 2^64: a clock that wrapped past `u64::MAX`
    /// in between still gives the time that passed. Zero if `self` is behind `earlier` (a step
    /// of 2^63 ns or more, about 292 years, counts as going backwards).
    #[must_use]
    pub const fn nanos_since(self, earlier: Instant) -> u64 {
        let d = self.0.wrapping_sub(earlier.0);
        if d < HALF_RANGE {
            d
        } else {
            0
        }
    }

    /// Whether `self` is strictly later than `earlier`, modulo 2^64 (see
    /// [`nanos_since`](Instant::nanos_since)).
    #[must_use]
    pub const fn is_after(self, earlier: Instant) -> bool {
        self.nanos_since(earlier) != 0
    }

    /// The time from `earlier` to `self` (see [`nanos_since`](Instant::nanos_since)).
    #[must_use]
    pub const fn duration_since(self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.nanos_since(earlier))
    }

    /// `self` moved `d` forward, modulo 2^64 (`d` saturated to `u64::MAX` ns, about 584 years).
    #[must_use]
    pub const fn wrapping_add(self, d: Duration) -> Instant {
        Instant(self.0.wrapping_add(nanos(d)))
    }
}

/// `d` in nanoseconds, saturated to `u64::MAX` (the clock's whole range).
pub(crate) const fn nanos(d: Duration) -> u64 {
    // In u64 with saturating steps: the same value as the exact u128 product, saturated.
    d.as_secs()
        .saturating_mul(1_000_000_000)
        .saturating_add(d.subsec_nanos() as u64)
}

/// How the crate measures a wait against a [`Clock`] (or [`Device::now`]) that an embedder
/// wrote, whatever it does: every wait in the crate runs on one of these.
///
/// Feed it every reading with [`observe`](Stopwatch::observe). It keeps two numbers:
///
/// - **elapsed**: the sum of the forward steps between consecutive readings (modulo 2^64, so a
///   wrap past `u64::MAX` is a small forward step). A step backwards adds nothing and the next
///   step is measured from the new reading. So a clock that jumps back and runs on is not
///   under-counted (the wait still ends after about its timeout of real time), and a wrap is
///   not a hang.
/// - **stalled polls**: consecutive readings that are not later than every reading before them
///   in this wait (a stopped clock, one that went backwards and has not caught up, one that
///   jitters between a few values). A wait ends as "clock stalled" once this reaches its
///   bound, so a clock that never makes progress cannot hold a wait for ever.
///
/// | the clock | what a wait does |
/// |---|---|
/// | monotonic | ends at its timeout |
/// | stopped | ends after the stall bound of polls |
/// | jumps backwards once, then monotonic | ends at its timeout (the time before and after the jump both count), or after the stall bound if that comes first |
/// | jitters between values | ends after the stall bound, or earlier at its timeout (the forward steps of the jitter count) |
/// | wraps past `u64::MAX` | ends at its timeout, as if it had not wrapped |
/// | runs backwards all the time | ends after the stall bound |
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stopwatch {
    prev: Instant,
    high: Instant,
    elapsed: u64,
    stalled: u32,
}

impl Stopwatch {
    /// A stopwatch started at the reading `now`.
    #[must_use]
    pub const fn start(now: Instant) -> Stopwatch {
        Stopwatch {
            prev: now,
            high: now,
            elapsed: 0,
            stalled: 0,
        }
    }

    /// Takes the next reading into account.
    #[inline(never)]
    pub fn observe(&mut self, now: Instant) {
        let step = now.nanos_since(self.prev);
        self.prev = now;
        if now.is_after(self.high) {
            // A new maximum counts at least its lead over the old one: a clock that jumps far
            // back and then far past the maximum (each step half the range or more, so
            // "backwards") still makes time.
            let lead = now.nanos_since(self.high);
            self.elapsed = self.elapsed.saturating_add(step.max(lead));
            self.high = now;
            self.stalled = 0;
        } else {
            self.elapsed = self.elapsed.saturating_add(step);
            self.stalled = self.stalled.saturating_add(1);
        }
    }

    /// Nanoseconds elapsed so far (see the type docs).
    #[must_use]
    pub const fn elapsed_ns(&self) -> u64 {
        self.elapsed
    }

    /// Time elapsed so far (see the type docs).
    #[must_use]
    pub const fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.elapsed)
    }

    /// Consecutive readings so far that were not later than every earlier one.
    #[must_use]
    pub const fn stalled_polls(&self) -> u32 {
        self.stalled
    }
}

/// Access to one VF's registers plus a monotonic clock.
///
/// Implementations: [`MmioBar`](crate::mmio::MmioBar) over a real mapped BAR, and the mock GuC
/// (feature `mock`). Any `&D` where `D: Device` is a `Device` too, so several GTs can share one
/// BAR mapping.
///
/// Methods take `&self`: a device that needs state for an access (the mock) keeps it behind its
/// own lock. The crate never issues two mailbox transactions on the same GT at once.
///
/// **Ordering and byte order.** On real hardware `read32` and `write32` must behave like Linux's
/// `readl` and `writel`, not like the `_relaxed` ones: a write only after every earlier write of
/// the CPU to memory is visible to the device (the GPU reads the embedder's fixups once the GuC
/// accepted RESFIX_DONE), a read complete before any later access to memory, and the values in
/// the CPU's byte order (the registers are little-endian). On x86 plain volatile accesses to an
/// uncached mapping do that; on AArch64 and RISC-V they need barriers, and on a big-endian CPU a
/// byte swap, which [`MmioBar`](crate::mmio::MmioBar) has (see its module).
///
/// An embedder whose kernel has its own MMIO accessors implements it over them. Here, a register
/// file in memory with a clock that moves 1 µs per reading, and no GuC behind it: a request gets
/// no reply and ends, after the mailbox's 50 ms, in a typed timeout.
///
/// ```
/// use std::collections::HashMap;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Mutex;
/// use xe_sriov_vf::{Device, GtKind, Instant, Mailbox, MailboxConfig, MailboxError, Reg};
///
/// #[derive(Default)]
/// struct RegisterFile {
///     regs: Mutex<HashMap<u32, u32>>,
///     ns: AtomicU64,
/// }
///
/// impl Device for RegisterFile {
///     fn read32(&self, reg: Reg) -> u32 {
///         self.regs.lock().unwrap().get(&reg.offset()).copied().unwrap_or(0)
///     }
///     fn write32(&self, reg: Reg, value: u32) {
///         self.regs.lock().unwrap().insert(reg.offset(), value);
///     }
///     fn now(&self) -> Instant {
///         Instant(self.ns.fetch_add(1_000, Ordering::Relaxed))
///     }
///     fn relax(&self) {
///         std::hint::spin_loop(); // a kernel might yield or `pause` here
///     }
/// }
///
/// let bar = RegisterFile::default();
/// let mut mailbox = Mailbox::new(&bar, GtKind::Primary.mailbox(), MailboxConfig::DEFAULT);
/// // VF_RESET: written to the scratch registers, doorbell rung, never answered.
/// let reply = mailbox.send_recv(&[0x0000_5507]);
/// assert!(matches!(reply, Err(MailboxError::Timeout { .. })));
/// let ms = bar.now().nanos_since(Instant(0)) / 1_000_000;
/// assert!((50..60).contains(&ms), "gave up after {ms} ms of device time");
/// ```
pub trait Device {
    /// Reads the 32-bit register at `reg`.
    ///
    /// An implementation must not panic on an offset it does not map; it returns a value of its
    /// choosing (all ones, like a PCI read that nothing answers, is customary).
    fn read32(&self, reg: Reg) -> u32;

    /// Writes `value` to the 32-bit register at `reg`; writes to unmapped offsets are dropped.
    fn write32(&self, reg: Reg, value: u32);

    /// The current time on a monotonic clock. Every wait in the crate is bounded against this,
    /// through a [`Stopwatch`]: a clock that stops, jitters, runs backwards or wraps still ends
    /// every wait (the table in the [`Stopwatch`] docs says how).
    fn now(&self) -> Instant;

    /// Called between two polls of a register while waiting for the GuC. The default is a CPU
    /// spin hint; a kernel may sleep or yield here, and the mock advances its virtual clock.
    fn relax(&self) {
        core::hint::spin_loop();
    }
}

/// Forwards `Device` through a pointer type to the device it points to.
macro_rules! forward_device {
    ($($(#[$m:meta])* $ptr:ty),+) => {$(
        $(#[$m])*
        impl<D: Device + ?Sized> Device for $ptr {
            fn read32(&self, reg: Reg) -> u32 {
                (**self).read32(reg)
            }
            fn write32(&self, reg: Reg, value: u32) {
                (**self).write32(reg, value)
            }
            fn now(&self) -> Instant {
                (**self).now()
            }
            fn relax(&self) {
                (**self).relax()
            }
        }
    )+};
}

forward_device!(&D);
#[cfg(feature = "alloc")]
forward_device!(
    /// `Device` through an `Arc` (feature `alloc`, implied by `std`): a `no_std` kernel with
    /// an allocator shares one mapping between GTs this way.
    #[cfg_attr(docsrs, doc(cfg(feature = "alloc")))]
    alloc::sync::Arc<D>
);

/// A monotonic time source, for devices that get register access and time from different places
/// (see [`MmioBar`](crate::mmio::MmioBar)).
///
/// Nanoseconds from any origin; the crate copes with any clock an embedder can write: every wait
/// measured against it runs on a [`Stopwatch`], whose docs say what a wait does with a clock
/// that is monotonic, stopped, backwards, jittering or wrapping. A wait that cannot trust the
/// clock ends with a typed "clock stalled" answer instead of spinning.
///
/// On x86 a kernel usually has a calibrated TSC; the clock is then a multiply. A host test can
/// use `std::time::Instant`:
///
/// ```
/// use core::time::Duration;
/// use xe_sriov_vf::{Clock, Instant, Stopwatch};
///
/// /// Time from the TSC, calibrated at boot (here: 3 ticks a nanosecond, i.e. 3 GHz).
/// struct Tsc {
///     ticks_per_ns: u64,
/// }
/// # fn rdtsc() -> u64 { 42 }
///
/// impl Clock for Tsc {
///     fn now(&self) -> Instant {
///         Instant(rdtsc() / self.ticks_per_ns)
///     }
/// }
///
/// /// The host's monotonic clock, for tests.
/// struct HostClock(std::time::Instant);
///
/// impl Clock for HostClock {
///     fn now(&self) -> Instant {
///         Instant(self.0.elapsed().as_nanos() as u64)
///     }
///     fn relax(&self) {
///         std::thread::yield_now();
///     }
/// }
///
/// // Every wait in the crate measures with a Stopwatch, which copes with any clock: the TSC
/// // stub above never moves, so its waits end as "stalled" rather than never.
/// let tsc = Tsc { ticks_per_ns: 3 };
/// let mut watch = Stopwatch::start(tsc.now());
/// for _ in 0..10 {
///     watch.observe(tsc.now());
/// }
/// assert_eq!((watch.elapsed(), watch.stalled_polls()), (Duration::ZERO, 10));
///
/// let host = HostClock(std::time::Instant::now());
/// let mut watch = Stopwatch::start(host.now());
/// while watch.elapsed() < Duration::from_millis(1) {
///     host.relax();
///     watch.observe(host.now());
/// }
/// ```
pub trait Clock {
    /// The current time.
    fn now(&self) -> Instant;
    /// Called between polls; see [`Device::relax`].
    fn relax(&self) {
        core::hint::spin_loop();
    }
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now(&self) -> Instant {
        (**self).now()
    }
    fn relax(&self) {
        (**self).relax()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nanos_is_the_exact_count_saturated() {
        let exact = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let edge = Duration::from_nanos(u64::MAX);
        for d in [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_millis(256),
            Duration::from_secs(2),
            edge - Duration::from_nanos(1),
            edge,
            edge + Duration::from_nanos(1),
            Duration::new(edge.as_secs(), 999_999_999),
            Duration::new(edge.as_secs() + 1, 0),
            Duration::MAX,
        ] {
            assert_eq!(nanos(d), exact(d), "{d:?}");
        }
    }
}
