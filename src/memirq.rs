//! Memory-based interrupts (memirq): the interrupt path of every VF that can migrate.
//!
//! A VF with graphics IP 12.50 or newer (Meteor Lake, Lunar Lake, Battlemage, Panther Lake: every
//! part on which the kernel supports VF migration) has no GuC interrupt register. Its GuCs report
//! interrupts as bytes in a 4 KiB page of system memory that the VF provides, one page per tile
//! (layout in [`wire::memirq`](crate::wire::memirq)). A GuC writes `0xFF` into the byte of the
//! interrupt in its unit's status vector, then `0xFF` into its unit's source byte, then raises the
//! tile's MSI. Linux 7.0 and later (checked against 7.3) refuse VF migration without memirq.
//!
//! # What the embedder does
//!
//! 1. Allocate a zeroed 4 KiB page of system memory per tile, which the GPU reads and writes
//!    uncached, and map it into the VF's GGTT range (any 4 KiB-aligned GGTT address of the VF).
//! 2. Give the crate its CPU view (a [`MemirqPage`]: [`MemirqMem`](crate::mmio::MemirqMem) over
//!    the real memory, or the mock's page) and its GGTT address: [`Memirq::new`], one per tile.
//! 3. Register it with each GuC of the tile before CTB is enabled: [`Gt::register_memirq`]
//!    (two HOST2GUC_SELF_CFG requests through the GT's mailbox; the kernel's
//!    `xe_memirq_init_guc`). Nothing is re-registered after a migration (as the kernel).
//! 4. Enable it ([`Memirq::enable`]) and route the tile's MSI to a handler that calls
//!    [`Vf::handle_memirq`](crate::recovery::Vf::handle_memirq) (or [`Memirq::handle`]).
//!
//! If the page is not registered, no GuC interrupt ever arrives: a migration then leaves the VF
//! blocked by the GuC and nothing in the crate runs. [`Vf::recovery_pending`] stays `false`
//! and the embedder sees its GPU work stall; the simulator reports such a run as not settled.
//!
//! # The handler, and why "pending" never has a gap
//!
//! [`Memirq::handle`] is wait-free (a bounded number of byte accesses and the migration entry,
//! no lock, no allocation): safe in a hard interrupt handler. In the kernel's order, for each GuC
//! unit of the tile whose source byte is set: clear the source byte; if GUC2HOST is set, clear it
//! and report it (the embedder's CT receive path: the crate does not implement CTB); if SW_INT_0
//! is set, call the migration entry for that GT. The kernel clears the SW_INT_0 byte only
//! *after* the entry returned, so that from the GuC's write until the entry marked the GT's
//! recovery pending the byte itself says "pending". This handler keeps that property and closes
//! the kernel's window: it counts itself into a per-GT "in the entry" count, clears the byte,
//! runs the entry, counts itself out (a count, so that two handlers of the tile at once never
//! end each other's "pending"). [`Memirq::sw_int0_pending`] reads the byte, then the count;
//! the VF's [`recovery_pending`](crate::recovery::Vf::recovery_pending) and
//! [`ggtt_valid`](crate::recovery::Vf::ggtt_valid) read that, then the coordinator: no window in
//! which an observer sees none of them. And a SW_INT_0 the GuC writes while the entry runs (a
//! second migration) is not overwritten by a late clear: it stays in the page, and the handler
//! looks at the unit once more. A byte that is neither 0 nor 0xFF is counted
//! ([`Memirq::garbage_bytes`]) and treated as set.
//!
//! A second deliberate difference: between clearing a unit's source byte and reading its
//! vector the handler makes the clear visible ([`MemirqPage::full_barrier`]; Linux's
//! `memirq_received`, in every version of `xe_memirq.c` we read, the newest included, has a
//! plain store there). Without it the clear can wait in the CPU's store buffer, on x86 too,
//! while the vector is read; a SW_INT_0 that the GuC writes in that moment is read as clear,
//! and the late clear then overwrites the source byte the GuC set after it, so no later look
//! finds the migration. With it, the GuC's source byte comes after the clear and the next look
//! (this handler's second, or the next MSI's) finds the SW_INT_0.
//!
//! Engine units (render, copy, ...) are the embedder's: their unit numbers are the embedder's
//! own, and [`Memirq::take_unit`] scans one (clear the source byte, collect and clear its set
//! status bytes) for them.
//!
//! [`Gt::register_memirq`]: crate::gt::Gt::register_memirq
//! [`Vf::recovery_pending`]: crate::recovery::Vf::recovery_pending

use crate::coordinator::{GtId, Signal};
use crate::sync::{AtomicUsize, Ordering};
use crate::wire::memirq::{self as layout, GucUnit};
use crate::wire::regs::{GtKind, GucIntr};

/// Byte access to one tile's memirq page as the CPU sees it.
///
/// Offsets are bytes from the start of the page; an implementation ignores writes and reads 0
/// at offsets at or beyond [`wire::memirq::PAGE_SIZE`](crate::wire::memirq::PAGE_SIZE). Every
/// access must be a single volatile (or atomic) access of the memory the GPU writes: the crate
/// polls and clears bytes the GuC sets concurrently. Reads must complete in program order (a
/// DMA read barrier after each, Linux's `dma_rmb`, on AArch64 and RISC-V): the GuC writes a
/// status byte before its unit's source byte, and the handler that reads the source byte set
/// relies on then reading the status byte set. [`MemirqMem`](crate::mmio::MemirqMem) does.
pub trait MemirqPage {
    /// Reads the byte at `offset`.
    fn read8(&self, offset: usize) -> u8;
    /// Writes the byte at `offset`.
    fn write8(&self, offset: usize, value: u8);
    /// Writes the 32-bit little-endian word at `offset` (4-byte aligned; the enable mask).
    fn write32(&self, offset: usize, value: u32);
    /// Makes every earlier write through the page visible to the GPU before any later access
    /// (Linux's `dma_mb`; on x86 too, where a store can wait in the CPU's store buffer while
    /// later loads go ahead). The handler calls it between clearing a unit's source byte and
    /// reading the unit's status bytes: without it, a status byte and source byte that the GuC
    /// sets in that moment can be read as clear and then have the source byte overwritten by the
    /// late clear, leaving the interrupt with no source byte pointing to it.
    ///
    /// The default is `fence(SeqCst)`. [`MemirqMem`](crate::mmio::MemirqMem) uses Linux's
    /// instruction; a page whose accesses are `SeqCst` atomics (the mock's) needs nothing.
    fn full_barrier(&self) {
        core::sync::atomic::fence(Ordering::SeqCst);
    }
}

impl<P: MemirqPage + ?Sized> MemirqPage for &P {
    fn read8(&self, offset: usize) -> u8 {
        (**self).read8(offset)
    }
    fn write8(&self, offset: usize, value: u8) {
        (**self).write8(offset, value)
    }
    fn write32(&self, offset: usize, value: u32) {
        (**self).write32(offset, value)
    }
    fn full_barrier(&self) {
        (**self).full_barrier()
    }
}

/// What one run of [`Memirq::handle`] saw, per GT of the tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct MemirqReport {
    /// GTs whose SW_INT_0 was set (the migration entry ran for each).
    pub sw_int0: crate::coordinator::GtSet,
    /// GTs whose GUC2HOST was set (hand these to the CT receive path).
    pub guc2host: crate::coordinator::GtSet,
    /// Bytes seen that were neither 0 nor 0xFF (treated as set).
    pub garbage: u32,
}

/// One tile's memirq page: its CPU view, its GGTT address and the tile's GTs.
pub struct Memirq<P> {
    page: P,
    ggtt_addr: u64,
    primary: GtId,
    media: Option<GtId>,
    garbage: AtomicUsize,
    /// Per GuC of the tile (primary, media): how many handlers are in the migration entry for
    /// it. Counted up before the SW_INT_0 byte is cleared, down after the entry returned, so the
    /// peek sees "pending" without a gap and a SW_INT_0 the GuC writes meanwhile is never
    /// overwritten. A count, not a flag: with two handlers of the tile at once, the one that
    /// finishes first must not end the other's "pending" before its entry reported.
    in_entry: [AtomicUsize; 2],
}

impl<P: core::fmt::Debug> core::fmt::Debug for Memirq<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Memirq")
            .field("page", &self.page)
            .field("ggtt_addr", &format_args!("{:#x}", self.ggtt_addr))
            .field("primary", &self.primary)
            .field("media", &self.media)
            .finish_non_exhaustive()
    }
}

impl<P: MemirqPage> Memirq<P> {
    const_unless_loom! {
        /// The memirq page of a tile whose primary GT is `primary` (GuC unit 25) and media GT,
        /// if any, is `media` (unit 24). `ggtt_addr` is the page's GGTT address, as the GuCs
        /// will be told by [`Gt::register_memirq`](crate::gt::Gt::register_memirq).
        pub fn new(page: P, ggtt_addr: u64, primary: GtId, media: Option<GtId>) -> Self {
            Memirq {
                page,
                ggtt_addr,
                primary,
                media,
                garbage: AtomicUsize::new(0),
                in_entry: [AtomicUsize::new(0), AtomicUsize::new(0)],
            }
        }
    }
}

impl<P: MemirqPage> Memirq<P> {
    /// The page's CPU view.
    pub const fn page(&self) -> &P {
        &self.page
    }

    /// The page's GGTT address.
    pub const fn ggtt_addr(&self) -> u64 {
        self.ggtt_addr
    }

    /// The GuC unit of `gt` on this tile, or `None` if `gt` is not one of the tile's GTs.
    pub fn unit_of(&self, gt: GtId) -> Option<GucUnit> {
        if gt == self.primary {
            Some(GucUnit::for_gt(GtKind::Primary))
        } else if Some(gt) == self.media {
            Some(GucUnit::for_gt(GtKind::Media))
        } else {
            None
        }
    }

    /// The GGTT addresses `gt`'s GuC must be told (source byte, status vector), for
    /// [`Gt::register_memirq`](crate::gt::Gt::register_memirq). `None` if `gt` is not on this
    /// tile or the addresses overflow.
    pub fn registration(&self, gt: GtId) -> Option<(u64, u64)> {
        let unit = self.unit_of(gt)?;
        Some((
            unit.source_addr(self.ggtt_addr)?,
            unit.status_addr(self.ggtt_addr)?,
        ))
    }

    /// Writes the enable mask (0x0000FFFF).
    pub fn enable(&self) {
        self.page.write32(layout::ENABLE_OFFSET, layout::ENABLE);
    }

    /// Writes the disable mask (0).
    pub fn disable(&self) {
        self.page.write32(layout::ENABLE_OFFSET, layout::DISABLE);
    }

    /// Whether `gt`'s SW_INT_0 is pending in the page: its byte is set (read without clearing
    /// it: the kernel's memirq peek), or the handler is inside the migration entry for it.
    /// `false` for a GT not on this tile. Wait-free; fine in interrupt context.
    #[inline(never)]
    pub fn sw_int0_pending(&self, gt: GtId) -> bool {
        let Some((slot, unit)) = self.slot_of(gt) else {
            return false;
        };
        if layout::byte_is_set(self.page.read8(unit.sw_int_0_offset())) {
            return true;
        }
        // The byte read above happens before this load (the handler counts itself in before it
        // clears the byte, with a fence between).
        core::sync::atomic::fence(Ordering::SeqCst);
        self.in_entry[slot].load(Ordering::SeqCst) != 0
    }

    /// `gt`'s slot (0 primary, 1 media) and GuC unit on this tile.
    fn slot_of(&self, gt: GtId) -> Option<(usize, GucUnit)> {
        if gt == self.primary {
            Some((0, GucUnit::for_gt(GtKind::Primary)))
        } else if Some(gt) == self.media {
            Some((1, GucUnit::for_gt(GtKind::Media)))
        } else {
            None
        }
    }

    /// Bytes seen so far that were neither 0 nor 0xFF.
    pub fn garbage_bytes(&self) -> usize {
        self.garbage.load(Ordering::Relaxed)
    }

    /// Clears a unit's source byte before its status bytes are read: the clear is visible
    /// before those reads (see [`MemirqPage::full_barrier`]), so a status byte the GuC sets
    /// after them comes with a source byte set after the clear, for the next look.
    fn clear_source(&self, offset: usize) {
        self.page.write8(offset, layout::CLEAR);
        self.page.full_barrier();
    }

    /// Reads a byte, counting it if it is garbage; returns whether it is set.
    fn check(&self, offset: usize, report: &mut MemirqReport) -> bool {
        let b = self.page.read8(offset);
        if layout::byte_is_garbage(b) {
            report.garbage = report.garbage.saturating_add(1);
            self.garbage.fetch_add(1, Ordering::Relaxed);
        }
        layout::byte_is_set(b)
    }

    /// The tile's interrupt handler for its GuC units, in the kernel's order (see the module
    /// docs): `migrated(gt)` is the migration entry (normally
    /// [`Vf::migrated`](crate::recovery::Vf::migrated)); "pending" has no gap (module docs).
    /// Wait-free; safe in a hard interrupt handler.
    ///
    /// One deliberate difference from the kernel: the kernel clears the SW_INT_0 byte after
    /// the entry returned, which overwrites a SW_INT_0 the GuC wrote while the entry ran (a
    /// second migration in that window is lost when no RESFIX_DONE is left to be refused). Here
    /// a per-GT "in the entry" count goes up before the byte is cleared and down after the
    /// entry returned; [`sw_int0_pending`](Memirq::sw_int0_pending) reads both, so "pending"
    /// still has no gap, and a new SW_INT_0 stays in the page for the next look. Two handlers
    /// of one tile may run at once (an MSI and a poll on two CPUs): each counts itself.
    ///
    /// A tile's MSI handler, with the page written as the media GuC writes it (its source byte,
    /// then its SW_INT_0 byte). [`Vf::handle_memirq`](crate::Vf::handle_memirq) is this with
    /// [`Vf::migrated`](crate::Vf::migrated) as the entry.
    ///
    /// ```
    /// # #[cfg(feature = "mock")] {
    /// use xe_sriov_vf::mock::MockMemirqPage;
    /// use xe_sriov_vf::wire::memirq::{GucUnit, SET};
    /// use xe_sriov_vf::{GtId, GtKind, Memirq, Signal};
    ///
    /// let page = MockMemirqPage::new();
    /// let memirq = Memirq::new(&page, 0x0010_0000, GtId(0), Some(GtId(1)));
    /// let media = GucUnit::for_gt(GtKind::Media);
    /// page.set_byte(media.sw_int_0_offset(), SET);
    /// page.set_byte(media.source_offset(), SET);
    /// assert!(memirq.sw_int0_pending(GtId(1)));
    ///
    /// let mut entered = Vec::new();
    /// let report = memirq.handle(|gt| {
    ///     entered.push(gt); // the migration entry: `Vf::migrated(gt)` in a driver
    ///     Signal::Queued
    /// });
    /// assert_eq!(entered, [GtId(1)]);
    /// assert!(report.sw_int0.contains(GtId(1)) && report.guc2host.is_empty());
    /// assert_eq!(page.byte(media.sw_int_0_offset()), 0, "cleared by the handler");
    /// # }
    /// ```
    pub fn handle(&self, mut migrated: impl FnMut(GtId) -> Signal) -> MemirqReport {
        let mut report = MemirqReport::default();
        for gt in [Some(self.primary), self.media].into_iter().flatten() {
            let Some((slot, unit)) = self.slot_of(gt) else {
                continue;
            };
            // Twice at most (wait-free): once, and once more if the GuC wrote again while the
            // migration entry ran (its source byte is set again).
            for _ in 0..2 {
                if !self.check(unit.source_offset(), &mut report) {
                    break;
                }
                self.clear_source(unit.source_offset());
                if self.check(unit.guc2host_offset(), &mut report) {
                    self.page.write8(unit.guc2host_offset(), layout::CLEAR);
                    report.guc2host.insert(gt);
                }
                if self.check(unit.sw_int_0_offset(), &mut report) {
                    // "Pending" passes from the byte to the count to the coordinator without a
                    // gap: count in first, then clear the byte (so a SW_INT_0 the GuC writes
                    // during the entry stays in the page), then the entry, then count out.
                    self.in_entry[slot].fetch_add(1, Ordering::SeqCst);
                    core::sync::atomic::fence(Ordering::SeqCst);
                    self.page.write8(unit.sw_int_0_offset(), layout::CLEAR);
                    let _ = migrated(gt);
                    self.in_entry[slot].fetch_sub(1, Ordering::SeqCst);
                    report.sw_int0.insert(gt);
                }
            }
        }
        report
    }

    /// Scans an engine unit (one of the embedder's): if its source byte is set, clears it, then
    /// clears every set byte of its status vector and returns them as a bit mask (bit `b` = byte
    /// `b`). `None` when the source byte is clear or `unit` is out of range (>= 64).
    pub fn take_unit(&self, unit: u8) -> Option<u16> {
        if GucUnit::from_unit(unit).is_some() {
            // The GuC units are the handler's: clearing their SW_INT_0 here would lose a
            // migration.
            return None;
        }
        let source = layout::source_offset(unit)?;
        let status = layout::status_offset(unit)?;
        if !layout::byte_is_set(self.page.read8(source)) {
            return None;
        }
        self.clear_source(source);
        let mut bits = 0u16;
        for b in 0..layout::STATUS_BYTES_PER_UNIT {
            let v = self.page.read8(status + b);
            if layout::byte_is_garbage(v) {
                self.garbage.fetch_add(1, Ordering::Relaxed);
            }
            if layout::byte_is_set(v) {
                self.page.write8(status + b, layout::CLEAR);
                bits |= 1 << b;
            }
        }
        Some(bits)
    }

    /// The GuC interrupts set in `gt`'s status vector right now, read without clearing.
    pub fn peek_guc(&self, gt: GtId) -> GucIntr {
        let Some(unit) = self.unit_of(gt) else {
            return GucIntr::empty();
        };
        let mut v = [0u8; layout::STATUS_BYTES_PER_UNIT];
        for (b, slot) in v.iter_mut().enumerate() {
            *slot = self.page.read8(unit.status_offset() + b);
        }
        layout::decode_status(&v).intr
    }
}

/// What the VF reads to learn of a GT's SW_INT_0 before any handler ran: the memirq pages of
/// its tiles, or nothing (the legacy MMIO interrupt path). Implemented by [`NoMemirq`], by one
/// [`Memirq`] (a one-tile VF) and by an array of them (one per tile).
///
/// Not sealed: an embedder whose tile count is known only at run time keeps its pages in a
/// collection of its own (a `Vec`, a slice of a boot-time allocation) and implements it over
/// that, as the crate's simulator does (`sim/src/scenario.rs`). Such an implementation must
/// ask every page and merge what they say, as the array's does: `sw_int0_pending` is `true`
/// if any page has `gt`'s SW_INT_0 pending; `handle` runs [`Memirq::handle`] of every page
/// with the same `migrated` and merges the reports (a `GtSet` union, garbage counts added);
/// `registration` is the first page's answer that is not `None`. Every method must stay
/// wait-free: the VF calls them from interrupt context.
pub trait MemirqSet {
    /// Whether `gt`'s SW_INT_0 byte is set (peek, no clear). Wait-free.
    fn sw_int0_pending(&self, gt: GtId) -> bool;
    /// Runs the handler of every tile (see [`Memirq::handle`]).
    fn handle(&self, migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport;
    /// The GGTT addresses (source byte, status vector) `gt`'s GuC must be told, or `None`
    /// when `gt` has no memirq page here (see [`Memirq::registration`]).
    fn registration(&self, gt: GtId) -> Option<(u64, u64)>;
}

/// No memirq: interrupts come through [`Vf::handle_guc_interrupt`](crate::recovery::Vf::handle_guc_interrupt)
/// from a register (parts before graphics IP 12.50, which cannot migrate under the gate of
/// Linux 7.0 to 7.3).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NoMemirq;

impl MemirqSet for NoMemirq {
    fn sw_int0_pending(&self, _gt: GtId) -> bool {
        false
    }
    fn handle(&self, _migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport {
        MemirqReport::default()
    }
    fn registration(&self, _gt: GtId) -> Option<(u64, u64)> {
        None
    }
}

impl<P: MemirqPage> MemirqSet for Memirq<P> {
    fn sw_int0_pending(&self, gt: GtId) -> bool {
        Memirq::sw_int0_pending(self, gt)
    }
    fn handle(&self, migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport {
        Memirq::handle(self, migrated)
    }
    fn registration(&self, gt: GtId) -> Option<(u64, u64)> {
        Memirq::registration(self, gt)
    }
}

impl<P: MemirqPage, const T: usize> MemirqSet for [Memirq<P>; T] {
    fn sw_int0_pending(&self, gt: GtId) -> bool {
        self.iter().any(|m| m.sw_int0_pending(gt))
    }
    fn handle(&self, migrated: &mut dyn FnMut(GtId) -> Signal) -> MemirqReport {
        let mut all = MemirqReport::default();
        for m in self {
            let r = m.handle(&mut *migrated);
            all.sw_int0 = all.sw_int0.union(r.sw_int0);
            all.guc2host = all.guc2host.union(r.guc2host);
            all.garbage = all.garbage.saturating_add(r.garbage);
        }
        all
    }
    fn registration(&self, gt: GtId) -> Option<(u64, u64)> {
        self.iter().find_map(|m| m.registration(gt))
    }
}
