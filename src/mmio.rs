//! The real-hardware [`Device`]: 32-bit registers of a mapped MMIO BAR.
//!
//! This is the only module of the crate with `unsafe` code. Each register access goes through a
//! `volatile_register::RW<u32>` placed at the register's offset, after a bounds and alignment
//! check, so that a wrong offset from anywhere in the crate reads all ones (like a PCI read that
//! nothing answers) and drops writes instead of touching memory outside the mapping. Register
//! accesses and memirq page reads carry the barriers of Linux's `writel`, `readl` and `dma_rmb`
//! on AArch64 and RISC-V (CI reads them in the built code: `.ci/io-order`). The
//! register's pointer is derived from the embedder's base pointer with `add` (its provenance is
//! kept: no integer round trip), and the `&RW<u32>` lives for that one access only.
//!
//! # A VF in a `static`, on real hardware
//!
//! Both types here have a `const` constructor besides the checked one:
//! [`MmioBar::from_raw_parts`] and [`MemirqMem::from_raw`]. With them a whole VF over the real
//! BAR can be a `static`, built when the program is compiled by
//! [`Vf::new_static`](crate::Vf::new_static): no `Once`, no "not yet initialised" branch in the
//! interrupt handler. What the `const` constructors need is a pointer known when the program is
//! compiled: in a kernel, a virtual address range reserved for the BAR (a fixed window in the
//! kernel's address space, like Linux's fixmap) that the PCI probe maps the BAR into before the
//! first register access, or a static page in the kernel image for the memirq page. The checks
//! that [`MmioBar::new`] makes up front (alignment, a mapping that does not wrap) are then made
//! on each access instead, where a failed one reads all ones and drops the write, as a register
//! outside the mapping does; [`MmioBar::validate`] gives the same answer as `new` at run time.
//!
//! Here the "BAR" is a static buffer in memory (no GuC answers, so bootstrap ends in a typed
//! mailbox timeout); on real hardware `BAR0` is the kernel's fixed window
//! (`BAR0_VA as *mut u8`) and the page a `static` in the kernel image:
//!
//! ```
//! use core::cell::UnsafeCell;
//! use core::ptr::NonNull;
//! use core::sync::atomic::{AtomicU64, Ordering};
//! use xe_sriov_vf::{
//!     BootstrapError, Clock, Gt, GtId, GtInfo, GtKind, GpuKind, GraphicsIp, Instant,
//!     MailboxConfig, MailboxError, Memirq, MemirqMem, MmioBar, NoHooks, PollingQueue,
//!     RecoveryConfig, VfError, Vf,
//! };
//!
//! /// The kernel's monotonic clock; here a virtual one that moves 1 µs per poll.
//! struct KernelClock(AtomicU64);
//! impl Clock for KernelClock {
//!     fn now(&self) -> Instant {
//!         Instant(self.0.load(Ordering::Relaxed))
//!     }
//!     fn relax(&self) {
//!         self.0.fetch_add(1_000, Ordering::Relaxed);
//!     }
//! }
//!
//! /// Memory that stands in for BAR 0 here (its first 0x19_1000 bytes cover both GTs'
//! /// mailboxes), and the tile's memirq page. Only the crate touches them, through the pointers.
//! #[repr(C, align(4096))]
//! struct Window<const B: usize>(UnsafeCell<[u8; B]>);
//! // SAFETY: the buffers are only accessed through `MmioBar` / `MemirqMem` (volatile accesses).
//! unsafe impl<const B: usize> Sync for Window<B> {}
//! const BAR0_LEN: usize = 0x19_1000;
//! static BAR0: Window<BAR0_LEN> = Window(UnsafeCell::new([0; BAR0_LEN]));
//! static MEMIRQ_PAGE: Window<4096> = Window(UnsafeCell::new([0; 4096]));
//! const PAGE_GGTT: u64 = 0x0010_0000; // where the embedder maps the page in the VF's GGTT
//!
//! static CLOCK: KernelClock = KernelClock(AtomicU64::new(0));
//! // SAFETY: `BAR0` is BAR 0's mapping for the whole program (a `static`), 4-byte aligned,
//! // `BAR0_LEN` bytes long, and no Rust reference to its contents is ever made.
//! static BAR: MmioBar<&KernelClock> = unsafe {
//!     MmioBar::from_raw_parts(NonNull::new(BAR0.0.get().cast()).unwrap(), BAR0_LEN, &CLOCK)
//! };
//!
//! /// Lunar Lake (graphics IP 20.04, integrated): a primary and a media GT on tile 0.
//! const LNL: GraphicsIp = GraphicsIp::new(20, 4);
//! type MyVf = Vf<&'static MmioBar<&'static KernelClock>, NoHooks, PollingQueue, 2, Memirq<MemirqMem>>;
//! static VF: MyVf = Vf::new_static(
//!     [
//!         Gt::new(&BAR, GtInfo::of(GtKind::Primary, GpuKind::Integrated, LNL), MailboxConfig::DEFAULT),
//!         Gt::new(&BAR, GtInfo::of(GtKind::Media, GpuKind::Integrated, LNL), MailboxConfig::DEFAULT),
//!     ],
//!     NoHooks,
//!     PollingQueue::new(),
//!     RecoveryConfig::DEFAULT,
//!     Memirq::new(
//!         // SAFETY: the page is a 4 KiB-aligned `static`, only ever accessed through this.
//!         unsafe { MemirqMem::from_raw(NonNull::new(MEMIRQ_PAGE.0.get().cast()).unwrap()) },
//!         PAGE_GGTT,
//!         GtId(0),
//!         Some(GtId(1)),
//!     ),
//! );
//!
//! /// The tile's MSI handler: no "initialised yet?" branch.
//! fn memirq_irq() {
//!     let _ = VF.handle_memirq();
//! }
//!
//! // At probe: the BAR is mapped (here: it always is), then the VF bootstraps.
//! assert_eq!(BAR.validate(), Ok(()));
//! memirq_irq(); // nothing pending: a no-op
//! // No GuC behind this memory: VF_RESET is never answered, and bootstrap gives up in time.
//! match VF.bootstrap() {
//!     Err(BootstrapError::Gt { gt: GtId(0), error: VfError::Mailbox(MailboxError::Timeout { .. }) }) => {}
//!     other => panic!("{other:?}"),
//! }
//! ```
#![allow(unsafe_code)]

use core::fmt;
use core::ptr::NonNull;

use volatile_register::RW;

use crate::device::{Clock, Device, Instant, Reg};

/// The barriers that give the real accessors the ordering of Linux's `readl`, `writel` and
/// `dma_rmb`, with the instructions Linux uses (AArch64 since Linux 5.2, RISC-V as in
/// `arch/riscv/include/asm/mmio.h` and `barrier.h`). Device registers and system memory are
/// ordered against each other only on x86; on AArch64 and RISC-V a register access can pass the
/// CPU's accesses to memory unless a barrier says no:
///
/// - before a register write, every earlier write of the CPU to memory is made visible to the
///   device (Linux `__io_bw`: AArch64 `dmb oshst`, RISC-V `fence w,o`), so the GPU sees the
///   embedder's fixups, written before RESFIX_DONE, when the GuC lets the VF run again;
/// - after a register read, the read completes before any later access of the CPU to memory
///   (Linux `__io_ar`: AArch64 `dmb oshld`, RISC-V `fence i,ir`);
/// - after a read of the memirq page, which the GPU writes by DMA, that read completes before
///   every later read (Linux `dma_rmb`: AArch64 `dmb oshld`, RISC-V `fence ir,ir`): the GuC
///   writes a status byte before its unit's source byte, so a handler that reads the source
///   byte set must then read the status byte set too, or it clears the source byte and leaves a
///   SW_INT_0 that no later interrupt points to;
/// - [`MemirqPage::full_barrier`](crate::memirq::MemirqPage::full_barrier), between clearing a
///   source byte and reading the status bytes: every earlier access before every later one
///   (Linux `dma_mb`: AArch64 `dmb osh`, RISC-V `fence iorw,iorw`, and on x86 a fence too).
///
/// On x86 the first three are a compiler barrier only (the CPU keeps those orders for uncached
/// registers and for coherent DMA); any other architecture gets a full `fence(SeqCst)`.
/// (Linux's AArch64 `readl` also makes later instructions depend on the value read, so that a
/// delay loop on the cycle counter starts after the read; here the clock may be read a few
/// cycles before a register read completes, which moves no wait by more than that.)
mod barrier {
    /// A function that runs `$aarch64` on AArch64, `$riscv` on RISC-V, `$x86` (a compiler
    /// barrier or a fence) on x86 and `fence(SeqCst)` elsewhere.
    macro_rules! barrier_fn {
        (
            $(#[$doc:meta])* $name:ident,
            aarch64: $aarch64:literal, riscv: $riscv:literal, x86: $x86:ident
        ) => {
            $(#[$doc])*
            #[inline(always)]
            pub(super) fn $name() {
                #[cfg(target_arch = "aarch64")]
                // SAFETY: one barrier instruction: no operands, no stack, no flags. It only
                // orders memory accesses, and the asm is not `nomem`, so the compiler keeps
                // every memory access on its side of it too.
                unsafe {
                    core::arch::asm!($aarch64, options(nostack, preserves_flags));
                }
                #[cfg(any(target_arch = "riscv32", target_arch = "riscv64"))]
                // SAFETY: as for AArch64 just above.
                unsafe {
                    core::arch::asm!($riscv, options(nostack, preserves_flags));
                }
                #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
                core::sync::atomic::$x86(core::sync::atomic::Ordering::SeqCst);
                #[cfg(not(any(
                    target_arch = "aarch64",
                    target_arch = "riscv32",
                    target_arch = "riscv64",
                    target_arch = "x86",
                    target_arch = "x86_64"
                )))]
                core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
            }
        };
    }

    barrier_fn!(
        /// Before a register write: earlier writes to memory first (Linux `__io_bw`).
        before_io_write, aarch64: "dmb oshst", riscv: "fence w,o", x86: compiler_fence
    );
    barrier_fn!(
        /// After a register read: the read completes before later accesses (Linux `__io_ar`).
        after_io_read, aarch64: "dmb oshld", riscv: "fence i,ir", x86: compiler_fence
    );
    barrier_fn!(
        /// After a read of memory the device writes by DMA: that read before later reads
        /// (Linux `dma_rmb`).
        after_dma_read, aarch64: "dmb oshld", riscv: "fence ir,ir", x86: compiler_fence
    );
    barrier_fn!(
        /// Every earlier access to memory the device shares before every later one, a write
        /// before a later read included (Linux `dma_mb`; on x86 a real fence, as a store can
        /// wait in the store buffer while later loads go ahead).
        dma_full, aarch64: "dmb osh", riscv: "fence iorw,iorw", x86: fence
    );
}

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
/// Register offsets are checked against the mapping's length on every access. Each access is
/// ordered against the CPU's accesses to memory as Linux's `readl` and `writel` order them
/// (barriers on AArch64 and RISC-V, a compiler barrier on x86), and the registers are
/// little-endian whatever the CPU's byte order, as PCI's are.
///
/// ```no_run
/// use xe_sriov_vf::device::{Clock, Instant};
/// use xe_sriov_vf::gt::{GpuKind, GraphicsIp, Gt, GtInfo};
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
/// let info = GtInfo::of(GtKind::Primary, GpuKind::Discrete, GraphicsIp::new(20, 1));
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
// inside the mapping, which the contract of `new` (or `from_raw_parts`) makes valid from any thread that uses it (and no
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

impl<C> MmioBar<C> {
    /// Wraps the mapping `base..base + len`, as a `const fn`: for a BAR at an address known when
    /// the program is compiled, so that a VF over it can be a `static` (see the
    /// [module docs](self)).
    ///
    /// Nothing is checked here (a `const fn` cannot read a pointer's address): a `base` that is
    /// not 4-byte aligned, or a mapping that wraps around the address space or is longer than
    /// `isize::MAX`, makes every access read all ones and drop the write, as an offset outside
    /// the mapping does. [`validate`](MmioBar::validate) tells which, at run time;
    /// [`new`](MmioBar::new) refuses such a mapping up front.
    ///
    /// # Safety
    ///
    /// As for [`new`](MmioBar::new), except that the mapping need only exist from before the
    /// first register access through the returned value (or anything that borrows it) until
    /// the last: until then `base` may point at a reserved window that the embedder maps the BAR
    /// into at probe. [`Device::now`] and [`Device::relax`] touch no register.
    pub const unsafe fn from_raw_parts(base: NonNull<u8>, len: usize, clock: C) -> MmioBar<C> {
        MmioBar { base, len, clock }
    }

    /// What [`new`](MmioBar::new) would say of this mapping: `Ok` if register accesses reach
    /// it, the reason why none does otherwise.
    ///
    /// # Errors
    ///
    /// [`MmioError::Misaligned`] unless the base is 4-byte aligned, [`MmioError::Overflow`] if
    /// the mapping wraps around the address space or is longer than `isize::MAX`.
    pub fn validate(&self) -> Result<(), MmioError> {
        check_mapping(self.base, self.len)
    }
}

/// The checks of [`MmioBar::new`] past the null check (see there).
fn check_mapping(base: NonNull<u8>, len: usize) -> Result<(), MmioError> {
    // `addr` reads the address without exposing the provenance (strict-provenance clean).
    let addr = base.addr().get();
    if !addr.is_multiple_of(4) {
        return Err(MmioError::Misaligned);
    }
    if addr.checked_add(len).is_none() || len > isize::MAX as usize {
        return Err(MmioError::Overflow);
    }
    Ok(())
}

impl<C: Clock> MmioBar<C> {
    /// Wraps the mapping `base..base + len`.
    ///
    /// `base` is kept as given (a [`NonNull`], with its provenance): every register access uses
    /// a pointer derived from it. A caller holding a `NonNull<u8>` passes `ptr.as_ptr()`. For a
    /// BAR in a `static`, see [`from_raw_parts`](MmioBar::from_raw_parts).
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
        check_mapping(base, len)?;
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
        // `new` checked the mapping up front; `from_raw_parts` could not (a `const fn`).
        check_mapping(self.base, self.len).ok()?;
        // SAFETY: `off + 4 <= len`, `len <= isize::MAX` and `base + len` does not wrap (checked
        // just above), so `base + off` stays inside the one mapping `base` points into (its
        // provenance, which `add` keeps).
        let ptr = unsafe { self.base.add(off) }.cast::<RW<u32>>();
        // SAFETY: the 4 bytes at `ptr` lie inside the mapping that the contract of `new` (or
        // `from_raw_parts`) keeps valid, readable and writable for this access (and this
        // reference lives only for the call below); `base` and `off` are 4-aligned, matching `RW<u32>`'s alignment; `RW<u32>`
        // is a `#[repr(transparent)]` `UnsafeCell<u32>` wrapper, so a shared reference to it
        // permits the volatile writes through it, and no Rust data aliases device memory.
        let register = unsafe { ptr.as_ref() };
        Some(access(register))
    }
}

/// One register read with `readl`'s ordering (see [`barrier`]). Not generic, so that it is
/// built once, in this crate (CI finds its barrier in the AArch64 and RISC-V builds).
fn read_register(r: &RW<u32>) -> u32 {
    let value = r.read();
    barrier::after_io_read();
    // PCI registers are little-endian (Linux's `readl` converts too; nothing on a
    // little-endian CPU).
    u32::from_le(value)
}

/// One register write with `writel`'s ordering (see [`barrier`]); not generic, as above.
///
/// # Safety
///
/// `r` is a register of the mapped BAR, as `with_register` hands it out.
unsafe fn write_register(r: &RW<u32>, value: u32) {
    barrier::before_io_write();
    // SAFETY: `r` is a register inside the mapped BAR (this function's contract); a volatile
    // 32-bit store to a VF register has no memory-safety effect on Rust data.
    unsafe { r.write(value.to_le()) }
}

impl<C: Clock> Device for MmioBar<C> {
    /// A volatile 32-bit read, ordered as Linux's `readl`: it completes before any later access
    /// of this CPU to memory. The register is little-endian, as PCI's are.
    fn read32(&self, reg: Reg) -> u32 {
        self.with_register(reg, read_register).unwrap_or(u32::MAX)
    }

    /// A volatile 32-bit write, ordered as Linux's `writel`: every earlier write of this CPU to
    /// memory is visible to the device first. The register is little-endian, as PCI's are.
    fn write32(&self, reg: Reg, value: u32) {
        self.with_register(reg, |r| {
            // SAFETY: `with_register` checked that `r` lies inside the mapped BAR.
            unsafe { write_register(r, value) }
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
/// [`MemirqMem::new`] or [`MemirqMem::from_raw`] (its provenance is kept: no integer round
/// trip), each read followed by a DMA read barrier (Linux's `dma_rmb`; a compiler barrier on
/// x86); offsets at or beyond the page read 0 and drop writes.
pub struct MemirqMem {
    base: NonNull<u8>,
}

// SAFETY: the page is plain memory shared with the GPU; `MemirqMem` only performs volatile
// single-byte and aligned 4-byte accesses inside it, which are sound from any thread (the
// contract of `new` and `from_raw` forbids other Rust references to it).
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
    /// For a page whose address is known when the program is compiled (a `static` VF), see
    /// [`from_raw`](MemirqMem::from_raw).
    ///
    /// # Errors
    ///
    /// [`MmioError::Misaligned`] unless `base` is 4-byte aligned (the enable mask is a 32-bit
    /// store).
    ///
    /// # Safety
    ///
    /// `base` must point to [`PAGE_SIZE`](crate::wire::memirq::PAGE_SIZE) bytes of memory that
    /// stay mapped, readable and writable for as long as the returned value (and anything that
    /// borrows it) lives, and that no Rust reference covers meanwhile (the GPU writes it).
    pub unsafe fn new(base: NonNull<u8>) -> Result<MemirqMem, MmioError> {
        let page = MemirqMem { base };
        page.validate()?;
        Ok(page)
    }

    /// The page at `base`, as a `const fn` (for a VF in a `static`: see the
    /// [module docs](self)).
    ///
    /// The alignment is not checked here (a `const fn` cannot read a pointer's address): with
    /// a `base` that is not 4-byte aligned the 32-bit store of the enable mask is dropped, so
    /// no interrupt is ever enabled; [`validate`](MemirqMem::validate) tells at run time.
    ///
    /// # Safety
    ///
    /// As for [`new`](MemirqMem::new), except that the memory need only be mapped from before
    /// the first access through the returned value until the last.
    pub const unsafe fn from_raw(base: NonNull<u8>) -> MemirqMem {
        MemirqMem { base }
    }

    /// What [`new`](MemirqMem::new) would say of this page.
    ///
    /// # Errors
    ///
    /// [`MmioError::Misaligned`] unless the page's base is 4-byte aligned.
    pub fn validate(&self) -> Result<(), MmioError> {
        // The address alone (no provenance exposed); unlike `align_offset`, never spuriously
        // "unalignable".
        if self.base.addr().get().is_multiple_of(4) {
            Ok(())
        } else {
            Err(MmioError::Misaligned)
        }
    }
}

impl crate::memirq::MemirqPage for MemirqMem {
    fn read8(&self, offset: usize) -> u8 {
        if offset >= crate::wire::memirq::PAGE_SIZE {
            return 0;
        }
        // SAFETY: `offset` is inside the page that the contract of `new` (or `from_raw`)
        // keeps mapped and readable for this access.
        let value = unsafe { self.base.as_ptr().add(offset).read_volatile() };
        // The GPU writes the page by DMA: this read before the next (a set source byte, then
        // its unit's status bytes; see `barrier`).
        barrier::after_dma_read();
        value
    }

    fn write8(&self, offset: usize, value: u8) {
        if offset >= crate::wire::memirq::PAGE_SIZE {
            return;
        }
        // SAFETY: `offset` is inside the page that the contract of `new` (or `from_raw`)
        // keeps mapped and writable for this access.
        unsafe { self.base.as_ptr().add(offset).write_volatile(value) }
    }

    fn full_barrier(&self) {
        barrier::dma_full();
    }

    fn write32(&self, offset: usize, value: u32) {
        if !offset.is_multiple_of(4)
            || offset > crate::wire::memirq::PAGE_SIZE - 4
            || self.validate().is_err()
        {
            return;
        }
        // SAFETY: the 4 bytes at `offset` are inside the page, and `base` is 4-byte aligned
        // (checked just above), so the `u32` access is aligned.
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
            assert!(debug.contains(&std::format!("base: {base:p}")), "{debug}");
            assert!(debug.contains("base: 0x"), "an address in hex: {debug}");
        }
        assert_eq!(&mem[..], &[0, 0, 0xA5A5_0F0F, 0]);
    }

    /// Memory that stands in for a BAR in a `static` (only accessed through the pointers).
    #[repr(C, align(16))]
    struct Window(core::cell::UnsafeCell<[u8; 32]>);
    // SAFETY: only `MmioBar`/`MemirqMem` touch it, with volatile accesses.
    unsafe impl Sync for Window {}

    static WINDOW: Window = Window(core::cell::UnsafeCell::new([0; 32]));
    // Built when the program is compiled: the `const` constructor in a `static`.
    // SAFETY: `WINDOW` lives for the whole program and is only accessed through this.
    static STATIC_BAR: MmioBar<NoClock> = unsafe {
        MmioBar::from_raw_parts(NonNull::new(WINDOW.0.get().cast()).unwrap(), 16, NoClock)
    };

    #[test]
    fn a_bar_built_by_the_const_constructor_in_a_static_reaches_its_registers() {
        assert_eq!(STATIC_BAR.validate(), Ok(()));
        STATIC_BAR.write32(Reg(4), 0x1234_5678);
        assert_eq!(STATIC_BAR.read32(Reg(4)), 0x1234_5678);
        assert_eq!(STATIC_BAR.read32(Reg(16)), u32::MAX, "outside the mapping");
        // SAFETY: the window's second word (16-aligned window), read while no access through
        // `STATIC_BAR` runs (only this test uses it).
        let word = unsafe { WINDOW.0.get().cast::<u32>().add(1).read_volatile() };
        assert_eq!(word, 0x1234_5678, "the register is the window's memory");
    }

    #[test]
    fn a_const_built_bar_that_new_would_refuse_reaches_no_register() {
        let mut mem = std::vec![0u32; 4].into_boxed_slice();
        let base = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: a live allocation of 16 bytes; every access below is refused before it is
        // made (misaligned base), so none reaches past it.
        let misaligned = unsafe { MmioBar::from_raw_parts(base.add(1), 12, NoClock) };
        assert_eq!(misaligned.validate(), Err(MmioError::Misaligned));
        // SAFETY: as above.
        assert_eq!(
            unsafe { MmioBar::new(base.add(1).as_ptr(), 12, NoClock) }.unwrap_err(),
            MmioError::Misaligned,
            "validate says what new says"
        );
        misaligned.write32(Reg(0), 0xFFFF_FFFF);
        assert_eq!(misaligned.read32(Reg(0)), u32::MAX);
        assert_eq!(misaligned.read32(Reg(4)), u32::MAX, "no read either");

        // SAFETY: no access is made (each is refused: the mapping would wrap).
        let wraps = unsafe { MmioBar::from_raw_parts(base, usize::MAX, NoClock) };
        assert_eq!(wraps.validate(), Err(MmioError::Overflow));
        assert_eq!(wraps.read32(Reg(4)), u32::MAX);
        assert_eq!(&mem[..], &[0, 0, 0, 0], "the write was dropped");
    }

    #[test]
    fn a_const_built_memirq_page_drops_the_enable_store_when_misaligned() {
        use crate::memirq::MemirqPage;
        use crate::wire::memirq::{ENABLE, ENABLE_OFFSET, PAGE_SIZE};
        let mut mem = std::vec![0u32; PAGE_SIZE / 4 + 1].into_boxed_slice();
        let whole = |page: &MemirqMem| {
            (0..PAGE_SIZE)
                .map(|o| page.read8(o))
                .collect::<std::vec::Vec<u8>>()
        };
        let base = NonNull::new(mem.as_mut_ptr().cast::<u8>()).unwrap();
        // SAFETY: a live, writable allocation of PAGE_SIZE + 4 bytes: both pages fit in it.
        let (good, bad) = unsafe { (MemirqMem::from_raw(base), MemirqMem::from_raw(base.add(2))) };
        assert_eq!(good.validate(), Ok(()));
        assert_eq!(bad.validate(), Err(MmioError::Misaligned));
        // SAFETY: as above.
        assert_eq!(
            unsafe { MemirqMem::new(base.add(2)) }.unwrap_err(),
            MmioError::Misaligned
        );
        bad.write32(ENABLE_OFFSET, ENABLE);
        assert!(
            whole(&good).iter().all(|&b| b == 0),
            "the misaligned store was dropped"
        );
        good.write32(ENABLE_OFFSET, ENABLE);
        let enabled = whole(&good);
        assert_eq!(
            enabled[ENABLE_OFFSET..ENABLE_OFFSET + 4],
            ENABLE.to_le_bytes()
        );
        let debug = std::format!("{good:?}");
        assert!(debug.contains(&std::format!("base: {:p}", base)), "{debug}");
    }
}
