//! Register access and time: the [`Device`] trait every higher layer talks through.
//!
//! The trait is offset-based, like the Rust-for-Linux `Io` trait: a register is a byte offset
//! ([`Reg`]) into the VF's MMIO BAR, so an embedder whose BAR is mapped at run time needs no
//! struct overlay. It also carries the time source that bounds every wait in the crate.

use core::fmt;

/// A 32-bit register, named by its byte offset from the start of the VF's MMIO BAR.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Reg(pub u32);

impl Reg {
    /// The register's byte offset.
    pub const fn offset(self) -> u32 {
        self.0
    }

    /// The register `4 * n` bytes after this one (the `n`-th of a block of 32-bit registers).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Instant(pub u64);

impl Instant {
    /// Nanoseconds from `earlier` to `self`; zero if the clock appears to have gone backwards.
    pub const fn nanos_since(self, earlier: Instant) -> u64 {
        self.0.saturating_sub(earlier.0)
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
pub trait Device {
    /// Reads the 32-bit register at `reg`.
    ///
    /// An implementation must not panic on an offset it does not map; it returns a value of its
    /// choosing (all ones, like a PCI read that nothing answers, is customary).
    fn read32(&self, reg: Reg) -> u32;

    /// Writes `value` to the 32-bit register at `reg`; writes to unmapped offsets are dropped.
    fn write32(&self, reg: Reg, value: u32);

    /// The current time on a monotonic clock. Every wait in the crate is bounded against this.
    fn now(&self) -> Instant;

    /// Called between two polls of a register while waiting for the GuC. The default is a CPU
    /// spin hint; a kernel may sleep or yield here, and the mock advances its virtual clock.
    fn relax(&self) {
        core::hint::spin_loop();
    }
}

/// Forwards `Device` through a pointer type to the device it points to.
macro_rules! forward_device {
    ($($ptr:ty),+) => {$(
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
#[cfg(feature = "std")]
forward_device!(std::sync::Arc<D>);

/// A monotonic time source, for devices that get register access and time from different places
/// (see [`MmioBar`](crate::mmio::MmioBar)).
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
