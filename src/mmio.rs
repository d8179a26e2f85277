//! The real-hardware [`Device`]: 32-bit registers of a mapped MMIO BAR.
//!
//! This is the only module of the crate with `unsafe` code. Each register access goes through a
//! `volatile_register::RW<u32>` placed at the register's offset, after a bounds and alignment
//! check, so that a wrong offset from anywhere in the crate reads all ones (like a PCI read that
//! nothing answers) and drops writes instead of touching memory outside the mapping. The
//! register's pointer is derived from the embedder's base pointer with `add` (its provenance is
//! kept: no integer round trip), and the `&RW<u32>` lives for that one access only.
#![allow(unsafe_code)]

use core::fmt;
use core::ptr::NonNull;

use volatile_register::RW;

use crate::device::{Clock, Device, Instant, Reg};

/// Why a BAR mapping was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum MmioError {
    /// The base pointer is null.
    Null,
    /// The base pointer is not 4-byte aligned.
    Misaligned,
    /// `base + len` overflows the address space, or `len` exceeds `isize::MAX`.
    Overflow,
}

impl fmt::Display for MmioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MmioError::Null => "BAR base pointer is null",
            MmioError::Misaligned => "BAR base pointer is not 4-byte aligned",
            MmioError::Overflow => "BAR mapping wraps around the address space",
        })
    }
}

impl core::error::Error for MmioError {}

/// A VF's MMIO BAR mapped at a run-time address, plus the clock that bounds every wait.
///
/// Register offsets are checked against the mapping's length on every access.
///
/// ```no_run
/// use xe_sriov_vf::device::{Clock, Instant};
/// use xe_sriov_vf::gt::{Gt, GtInfo};
/// use xe_sriov_vf::mailbox::MailboxConfig;
/// use xe_sriov_vf::mmio::MmioBar;
/// use xe_sriov_vf::wire::regs::GtKind;
///
/// /// The kernel's monotonic clock (a TSC or HPET read in a real kernel).
/// struct KernelClock;
/// impl Clock for KernelClock {
///     fn now(&self) -> Instant {
///         Instant(read_monotonic_ns())
///     }
/// }
/// # fn read_monotonic_ns() -> u64 { 0 }
/// # fn map_vf_bar0() -> (*mut u8, usize) { (core::ptr::null_mut(), 0) }
///
/// let (base, len) = map_vf_bar0(); // the kernel's ioremap of the VF's BAR 0 (16 MiB)
/// // SAFETY: `base..base + len` is BAR 0 of our VF, mapped uncached for the driver's lifetime.
/// let bar = unsafe { MmioBar::new(base, len, KernelClock) }.expect("BAR mapping");
/// // A discrete primary GT of graphics IP 20.01 (Battlemage) on tile 0.
/// let info = GtInfo::new(GtKind::Primary, true, 2001);
/// // Both GTs can share the mapping: `&MmioBar` is a `Device`.
/// let mut primary = Gt::new(&bar, info, MailboxConfig::default());
/// let version = primary.bootstrap();
/// ```
pub struct MmioBar<C> {
    // The embedder's pointer itself, not its address: every register pointer is derived from it
    // with `add`, so it keeps the mapping's provenance (no integer round trip).
    base: NonNull<u8>,
    len: usize,
    clock: C,
}

// SAFETY: `MmioBar` owns no Rust data behind `base`; it only performs volatile 32-bit accesses
// inside the mapping, which `new`'s contract makes valid from any thread that uses it (and no
// Rust reference aliases it). Sending it to another thread is then sound whenever the clock is.
unsafe impl<C: Send> Send for MmioBar<C> {}
// SAFETY: as for `Send`: `&MmioBar` allows only volatile register accesses (each through a
// reference that lives for that one access) and `&C`, so sharing it is sound when `C: Sync`.
// These two impls give `MmioBar` the same auto traits the former `usize` base did.
unsafe impl<C: Sync> Sync for MmioBar<C> {}

impl<C> fmt::Debug for MmioBar<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MmioBar")
            .field("base", &self.base)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl<C: Clock> MmioBar<C> {
    /// Wraps the mapping `base..base + len`.
    ///
    /// `base` is kept as given (a [`NonNull`], with its provenance): every register access uses
    /// a pointer derived from it. A caller holding a `NonNull<u8>` passes `ptr.as_ptr()`.
    ///
    /// # Errors
    ///
    /// [`MmioError::Null`] for a null `base`, [`MmioError::Misaligned`] unless `base` is 4-byte
    /// aligned, [`MmioError::Overflow`] if `base + len` wraps around the address space or `len`
    /// exceeds `isize::MAX` (no mapping can be that long).
    ///
    /// # Safety
    ///
    /// For as long as the returned value (or anything that borrows it) lives:
    /// - `base..base + len` must be a mapping of the VF's MMIO BAR (device memory, mapped
    ///   uncached), readable and writable with 32-bit accesses from any thread that uses it,
    ///   and `base` must carry the provenance of that whole mapping (a pointer derived from the
    ///   mapping, not from a smaller object inside it);
    /// - no Rust reference to ordinary data may alias that range;
    /// - the embedder must not unmap it.
    pub unsafe fn new(base: *mut u8, len: usize, clock: C) -> Result<MmioBar<C>, MmioError> {
        let Some(base) = NonNull::new(base) else {
            return Err(MmioError::Null);
        };
        // `addr` reads the address without exposing the provenance (strict-provenance clean).
        let addr = base.addr().get();
        if !addr.is_multiple_of(4) {
            return Err(MmioError::Misaligned);
        }
        if addr.checked_add(len).is_none() || len > isize::MAX as usize {
            return Err(MmioError::Overflow);
        }
        Ok(MmioBar { base, len, clock })
    }

    /// The mapping's length in bytes.
    pub const fn len(&self) -> usize {
        self.len
    }

    /// Whether the mapping is empty (every access then reads all ones).
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The clock.
    pub const fn clock(&self) -> &C {
        &self.clock
    }

    /// Runs `access` on the register at `reg`, if it lies wholly inside the mapping and is
    /// 4-byte aligned; `None` (and no access) otherwise.
    ///
    /// The `&RW<u32>` is created for this one access and dropped when `access` returns: its
    /// lifetime is the closure's own (higher-ranked), so no reference into device memory
    /// outlives the access or escapes through `R`.
    fn with_register<R>(&self, reg: Reg, access: impl FnOnce(&RW<u32>) -> R) -> Option<R> {
        let off = usize::try_from(reg.offset()).ok()?;
        if !off.is_multiple_of(4) || off.checked_add(4)? > self.len {
            return None;
        }
        // SAFETY: `off + 4 <= len`, and `new` checked `len <= isize::MAX` and that `base + len`
        // does not wrap, so `base + off` stays inside the one mapping `base` points into (its
        // provenance, which `add` keeps).
        let ptr = unsafe { self.base.add(off) }.cast::<RW<u32>>();
        // SAFETY: the 4 bytes at `ptr` lie inside the mapping that `new`'s contract keeps
        // valid, readable and writable while `self` lives (and this reference lives only for the
        // call below); `base` and `off` are 4-aligned, matching `RW<u32>`'s alignment; `RW<u32>`
        // is a `#[repr(transparent)]` `UnsafeCell<u32>` wrapper, so a shared reference to it
        // permits the volatile writes through it, and no Rust data aliases device memory.
        let register = unsafe { ptr.as_ref() };
        Some(access(register))
    }
}

impl<C: Clock> Device for MmioBar<C> {
    fn read32(&self, reg: Reg) -> u32 {
        self.with_register(reg, |r| r.read()).unwrap_or(u32::MAX)
    }

    fn write32(&self, reg: Reg, value: u32) {
        self.with_register(reg, |r| {
            // SAFETY: `with_register` checked that the register lies inside the mapped BAR; a
            // volatile 32-bit store to a VF register has no memory-safety effect on Rust data.
            unsafe { r.write(value) }
        });
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }

    fn relax(&self) {
        self.clock.relax()
    }
}

/// One tile's memirq page in real memory: the CPU view of the 4 KiB page the GPU writes (see
/// [`crate::memirq`]). Every access is one volatile access through the pointer given to
/// [`MemirqMem::new`] (its provenance is kept: no integer round trip); offsets at or beyond the
/// page read 0 and drop writes.
pub struct MemirqMem {
    base: NonNull<u8>,
}

// SAFETY: the page is plain memory shared with the GPU; `MemirqMem` only performs volatile
// single-byte and aligned 4-byte accesses inside it, which are sound from any thread (the
// contract of `new` forbids other Rust references to it).
unsafe impl Send for MemirqMem {}
// SAFETY: as for `Send`: concurrent volatile accesses from several CPUs are what the page is for.
unsafe impl Sync for MemirqMem {}

impl fmt::Debug for MemirqMem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemirqMem")
            .field("base", &self.base)
            .finish()
    }
}

impl MemirqMem {
    /// The page at `base`.
    ///
    /// # Safety
    ///
    /// `base` must point to [`PAGE_SIZE`](crate::wire::memirq::PAGE_SIZE) bytes of memory that
    /// stay mapped, readable and writable for as long as the returned value (and anything that
    /// borrows it) lives, and that no Rust reference covers meanwhile (the GPU writes it).
    pub unsafe fn new(base: NonNull<u8>) -> Result<MemirqMem, MmioError> {
        // The address alone (no provenance exposed); unlike `align_offset`, never spuriously
        // "unalignable".
        if !base.addr().get().is_multiple_of(4) {
            return Err(MmioError::Misaligned);
        }
        Ok(MemirqMem { base })
    }
}

impl crate::memirq::MemirqPage for MemirqMem {
    fn read8(&self, offset: usize) -> u8 {
        if offset >= crate::wire::memirq::PAGE_SIZE {
            return 0;
        }
        // SAFETY: `offset` is inside the page that `new`'s contract keeps mapped and readable.
        unsafe { self.base.as_ptr().add(offset).read_volatile() }
    }

    fn write8(&self, offset: usize, value: u8) {
        if offset >= crate::wire::memirq::PAGE_SIZE {
            return;
        }
        // SAFETY: `offset` is inside the page that `new`'s contract keeps mapped and writable.
        unsafe { self.base.as_ptr().add(offset).write_volatile(value) }
    }

    fn write32(&self, offset: usize, value: u32) {
        if !offset.is_multiple_of(4) || offset > crate::wire::memirq::PAGE_SIZE - 4 {
            return;
        }
        // SAFETY: the 4 bytes at `offset` are inside the page, and `base` is 4-byte aligned
        // (checked by `new`), so the `u32` access is aligned.
        unsafe {
            self.base
                .as_ptr()
                .add(offset)
                .cast::<u32>()
                .write_volatile(value.to_le())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct NoClock;

    impl Clock for NoClock {
        fn now(&self) -> Instant {
            Instant(0)
        }
    }

    #[test]
    fn a_register_reference_is_made_only_inside_the_mapping_at_base_plus_offset() {
        const LEN: usize = 16;
        let mut mem = std::vec![0u32; LEN / 4].into_boxed_slice();
        let base = mem.as_mut_ptr().cast::<u8>();
        {
            // SAFETY: a live, 4-aligned, writable LEN-byte allocation that outlives `bar` (this
            // block) and is not touched through `mem` meanwhile.
            let bar = unsafe { MmioBar::new(base, LEN, NoClock) }.unwrap();
            for off in [0u32, 4, 8, 12] {
                let at = bar.with_register(Reg(off), |r| core::ptr::from_ref(r).cast::<u8>());
                assert_eq!(at, Some(base.wrapping_add(off as usize).cast_const()));
            }
            for off in [1u32, 2, 3, 13, 14, 16, 20, u32::MAX - 3, u32::MAX] {
                assert_eq!(bar.with_register(Reg(off), |_| ()), None, "offset {off:#x}");
            }
            bar.write32(Reg(8), 0xA5A5_0F0F);
            assert_eq!(bar.read32(Reg(8)), 0xA5A5_0F0F);
            let debug = std::format!("{bar:?}");
            assert!(debug.contains("len: 16"), "{debug}");
        }
        assert_eq!(&mem[..], &[0, 0, 0xA5A5_0F0F, 0]);
    }
}
