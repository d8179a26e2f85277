//! Memory-based interrupts (memirq): the page layout through which the GuC reports interrupts,
//! `SW_INT_0` ("you were migrated") above all, to a VF that has no GuC interrupt register to read.
//!
//! Every VF on graphics IP 12.50 and later uses memirq (the kernel: `xe_device_uses_memirq`),
//! and the kernel refuses VF migration without it. There is one memirq object per tile, shared by
//! its primary GuC, media GuC and engines: a zeroed 4 KiB page of system memory, mapped into the
//! VF's GGTT, uncached for the GPU. Layout of the page (kernel `xe_memirq.c`,
//! `XE_MEMIRQ_*_OFFSET`):
//!
//! | offset | size | content |
//! |---|---|---|
//! | 0x000 | 64 x 16 bytes | Interrupt Status Report: unit `u`'s 16-bit interrupt vector as 16 bytes at `u * 16`; byte `b` = 0xFF when bit `b` fired |
//! | 0x400 | 64 bytes | Interrupt Source Report: byte `u` = 0xFF when unit `u` has something in its status vector |
//! | 0x440 | u32 | Interrupt Enable Mask (loaded by the engines; the GuC does not read it) |
//!
//! A unit is a bit of the `GT_INTR_DWx` registers: the primary GuC is unit 25 (`INTR_GUC`), the
//! media GuC unit 24 (`INTR_MGUC`). A GuC's vector uses the
//! [`GucIntr`](crate::wire::regs::GucIntr) bit positions: `SW_INT_0` is byte 0, `GUC2HOST`
//! byte 15.
//!
//! | GuC | source byte | status vector | `SW_INT_0` byte | `GUC2HOST` byte |
//! |---|---|---|---|---|
//! | primary (unit 25) | 0x419 | 0x190..=0x19F | 0x190 | 0x19F |
//! | media (unit 24) | 0x418 | 0x180..=0x18F | 0x180 | 0x18F |
//!
//! The driver acknowledges a byte by writing 0 to it (there is no MMIO ack). A value other than
//! 0 or 0xFF is not expected; the kernel logs it and still treats the byte as set, and so does
//! [`decode_status`](crate::wire::memirq::decode_status), which also reports such "garbage"
//! bytes. The kernel's handler, per GuC whose source byte is set: clear the source byte; run the
//! CT receive (`GUC2HOST`; the newest kernel runs it unconditionally, as the programming note
//! says to assume the bit set, and reads and clears the `GUC2HOST` byte only in debug builds);
//! then, if the `SW_INT_0` byte is set, call the migration handler first and clear the byte only
//! after it returns, so that a peek at the byte ("recovery pending?") never reads false in
//! between.
//!
//! Everything here is pure arithmetic on offsets and byte vectors: no I/O, no panics.
//!
//! ```
//! use xe_sriov_vf::wire::memirq::{self, GucUnit};
//! use xe_sriov_vf::wire::regs::{GtKind, GucIntr};
//!
//! let guc = GucUnit::for_gt(GtKind::Primary);
//! assert_eq!(guc.source_offset(), 0x419);
//! assert_eq!(guc.status_byte_offset(GucIntr::SW_INT_0), Some(0x190));
//!
//! let mut page = [0u8; memirq::PAGE_SIZE];
//! page[0x190] = 0xFF; // SW_INT_0 fired
//! page[0x19F] = 0x01; // GUC2HOST, with an unexpected value
//! let status = memirq::decode_status(guc.status_vector(&page).unwrap());
//! assert_eq!(status.intr, GucIntr::SW_INT_0 | GucIntr::GUC2HOST);
//! assert_eq!(status.garbage_count(), 1);
//! ```

use super::regs::{GtKind, GucIntr};

/// Size of the memirq page, in bytes.
pub const PAGE_SIZE: usize = 4096;

/// Offset of the Interrupt Status Report in the page.
pub const STATUS_OFFSET: usize = 0x000;

/// Bytes of one unit's status vector (one byte per bit of a 16-bit interrupt vector).
pub const STATUS_BYTES_PER_UNIT: usize = 16;

/// Offset of the Interrupt Source Report in the page (one byte per unit).
pub const SOURCE_OFFSET: usize = 0x400;

/// Offset of the Interrupt Enable Mask (a little-endian `u32`) in the page.
pub const ENABLE_OFFSET: usize = 0x440;

/// Number of units: one per bit of a `GT_INTR_DWx` register pair (64 source bytes, 64 status
/// vectors, 1024 bytes of status report).
pub const UNITS: u8 = 64;

/// The enable mask with all 16 vector bits enabled (`GENMASK(15, 0)`): what the kernel wrote
/// until it narrowed the mask to [`ENABLE_USER_INTERRUPT`]. Only the engines load the mask; the
/// GuC does not read it, so either value serves GuC interrupts.
pub const ENABLE: u32 = 0x0000_FFFF;

/// The enable mask the newest kernel writes: only `GT_MI_USER_INTERRUPT` (bit 0), the one engine
/// interrupt it handles.
pub const ENABLE_USER_INTERRUPT: u32 = 0x0000_0001;

/// The enable mask with every interrupt disabled.
pub const DISABLE: u32 = 0;

/// The byte value hardware and firmware write for a bit that fired.
pub const SET: u8 = 0xFF;

/// The byte value of a bit that has not fired, or was acknowledged.
pub const CLEAR: u8 = 0x00;

/// Unit numbers (bit positions in `GT_INTR_DWx`) of the GuCs.
pub mod unit {
    /// The primary GuC: `INTR_GUC`, bit 25.
    pub const GUC: u8 = 25;
    /// The media GuC: `INTR_MGUC`, bit 24.
    pub const MGUC: u8 = 24;
}

// The three regions do not overlap and fit the page; both GuC units are units.
const _: () = assert!(STATUS_OFFSET + UNITS as usize * STATUS_BYTES_PER_UNIT <= SOURCE_OFFSET);
const _: () = assert!(SOURCE_OFFSET + UNITS as usize <= ENABLE_OFFSET);
const _: () = assert!(ENABLE_OFFSET + 4 <= PAGE_SIZE);
const _: () = assert!(unit::GUC < UNITS && unit::MGUC < UNITS);

/// Byte index, in a GuC's 16-byte status vector, of `SW_INT_0` (`GUC_INTR_SW_INT_0`, bit 0).
pub const SW_INT_0_BYTE: u8 = GucIntr::SW_INT_0.bits().trailing_zeros() as u8;

/// Byte index, in a GuC's 16-byte status vector, of `GUC2HOST` (`GUC_INTR_GUC2HOST`, bit 15).
pub const GUC2HOST_BYTE: u8 = GucIntr::GUC2HOST.bits().trailing_zeros() as u8;

/// Offset in the page of unit `unit`'s status vector (`unit * 16`); `None` for `unit >= 64`.
#[must_use]
pub const fn status_offset(unit: u8) -> Option<usize> {
    if unit >= UNITS {
        None
    } else {
        Some(STATUS_OFFSET + unit as usize * STATUS_BYTES_PER_UNIT)
    }
}

/// Offset in the page of bit `bit` of unit `unit`'s status vector; `None` for `unit >= 64` or
/// `bit >= 16`.
#[must_use]
pub const fn status_byte_offset(unit: u8, bit: u8) -> Option<usize> {
    if bit as usize >= STATUS_BYTES_PER_UNIT {
        return None;
    }
    match status_offset(unit) {
        Some(off) => Some(off + bit as usize),
        None => None,
    }
}

/// Offset in the page of unit `unit`'s source byte (`0x400 + unit`); `None` for `unit >= 64`.
#[must_use]
pub const fn source_offset(unit: u8) -> Option<usize> {
    if unit >= UNITS {
        None
    } else {
        Some(SOURCE_OFFSET + unit as usize)
    }
}

/// The memirq unit of a GuC: which slot of the page the primary or the media GuC reports in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum GucUnit {
    /// The primary GT's GuC, unit 25.
    Primary,
    /// The media GT's GuC, unit 24.
    Media,
}

impl GucUnit {
    /// The GuC unit of a GT.
    #[must_use]
    pub const fn for_gt(gt: GtKind) -> GucUnit {
        match gt {
            GtKind::Primary => GucUnit::Primary,
            GtKind::Media => GucUnit::Media,
        }
    }

    /// The GT whose GuC this is.
    #[must_use]
    pub const fn gt(self) -> GtKind {
        match self {
            GucUnit::Primary => GtKind::Primary,
            GucUnit::Media => GtKind::Media,
        }
    }

    /// The unit number: 25 ([`unit::GUC`]) or 24 ([`unit::MGUC`]).
    #[must_use]
    pub const fn unit(self) -> u8 {
        match self {
            GucUnit::Primary => unit::GUC,
            GucUnit::Media => unit::MGUC,
        }
    }

    /// The GuC unit with unit number `unit`, if it is one.
    #[must_use]
    pub const fn from_unit(unit: u8) -> Option<GucUnit> {
        match unit {
            unit::GUC => Some(GucUnit::Primary),
            unit::MGUC => Some(GucUnit::Media),
            _ => None,
        }
    }

    /// Offset in the page of this GuC's status vector: 0x190 (primary) or 0x180 (media).
    #[must_use]
    pub const fn status_offset(self) -> usize {
        STATUS_OFFSET + self.unit() as usize * STATUS_BYTES_PER_UNIT
    }

    /// Offset in the page of this GuC's source byte: 0x419 (primary) or 0x418 (media).
    #[must_use]
    pub const fn source_offset(self) -> usize {
        SOURCE_OFFSET + self.unit() as usize
    }

    /// Offset in the page of the status byte of `intr`, which must be exactly one bit; `None`
    /// for an empty or multi-bit set.
    #[must_use]
    pub const fn status_byte_offset(self, intr: GucIntr) -> Option<usize> {
        let bits = intr.bits();
        if bits.count_ones() != 1 {
            return None;
        }
        Some(self.status_offset() + bits.trailing_zeros() as usize)
    }

    /// Offset in the page of this GuC's `SW_INT_0` byte: 0x190 (primary) or 0x180 (media).
    #[must_use]
    pub const fn sw_int_0_offset(self) -> usize {
        self.status_offset() + SW_INT_0_BYTE as usize
    }

    /// Offset in the page of this GuC's `GUC2HOST` byte: 0x19F (primary) or 0x18F (media).
    #[must_use]
    pub const fn guc2host_offset(self) -> usize {
        self.status_offset() + GUC2HOST_BYTE as usize
    }

    /// The GGTT address to register as `MEMIRQ_SOURCE_ADDR` for a page at GGTT address `page`:
    /// `page + 0x400 + unit`. `None` if the sum overflows.
    #[must_use]
    pub const fn source_addr(self, page: u64) -> Option<u64> {
        page.checked_add(self.source_offset() as u64)
    }

    /// The GGTT address to register as `MEMIRQ_STATUS_ADDR` for a page at GGTT address `page`:
    /// `page + unit * 16`. `None` if the sum overflows.
    #[must_use]
    pub const fn status_addr(self, page: u64) -> Option<u64> {
        page.checked_add(self.status_offset() as u64)
    }

    /// This GuC's 16-byte status vector in `page`; `None` if `page` is too short to hold it.
    #[must_use]
    pub fn status_vector(self, page: &[u8]) -> Option<&[u8; STATUS_BYTES_PER_UNIT]> {
        status_vector(page, self.unit())
    }

    /// This GuC's source byte in `page`; `None` if `page` is too short to hold it.
    #[must_use]
    pub fn source_byte(self, page: &[u8]) -> Option<u8> {
        page.get(self.source_offset()).copied()
    }
}

/// Unit `unit`'s 16-byte status vector in `page`; `None` for `unit >= 64` or a page too short to
/// hold it.
#[must_use]
pub fn status_vector(page: &[u8], unit: u8) -> Option<&[u8; STATUS_BYTES_PER_UNIT]> {
    let start = status_offset(unit)?;
    let end = start.checked_add(STATUS_BYTES_PER_UNIT)?;
    page.get(start..end)?.try_into().ok()
}

/// Whether a status or source byte counts as set: any non-zero value (as the kernel reads it).
#[must_use]
pub const fn byte_is_set(byte: u8) -> bool {
    byte != CLEAR
}

/// Whether a byte is neither [`CLEAR`] nor [`SET`]: a value the hardware should not write.
#[must_use]
pub const fn byte_is_garbage(byte: u8) -> bool {
    byte != CLEAR && byte != SET
}

/// A decoded GuC status vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Status {
    /// The bits whose byte is non-zero (set, garbage included).
    pub intr: GucIntr,
    /// The bits whose byte is neither 0 nor 0xFF (a subset of `intr`).
    pub garbage: GucIntr,
}

impl Status {
    /// How many bytes were neither 0 nor 0xFF.
    #[must_use]
    pub const fn garbage_count(&self) -> u32 {
        self.garbage.bits().count_ones()
    }

    /// Whether every byte was exactly 0 or 0xFF.
    #[must_use]
    pub const fn is_clean(&self) -> bool {
        self.garbage.is_empty()
    }
}

/// Decodes a 16-byte status vector: byte `b` non-zero sets bit `b`. Total.
#[must_use]
pub const fn decode_status(vector: &[u8; STATUS_BYTES_PER_UNIT]) -> Status {
    let mut intr = 0u16;
    let mut garbage = 0u16;
    let mut b = 0;
    while b < STATUS_BYTES_PER_UNIT {
        let byte = vector[b];
        if byte_is_set(byte) {
            intr |= 1 << b;
        }
        if byte_is_garbage(byte) {
            garbage |= 1 << b;
        }
        b += 1;
    }
    Status {
        intr: GucIntr::from_bits_retain(intr),
        garbage: GucIntr::from_bits_retain(garbage),
    }
}

/// Encodes interrupt bits as a 16-byte status vector: 0xFF for every set bit, 0 elsewhere.
/// Total; [`decode_status`] of the result gives back `intr` with no garbage.
#[must_use]
pub const fn encode_status(intr: GucIntr) -> [u8; STATUS_BYTES_PER_UNIT] {
    let bits = intr.bits();
    let mut vector = [CLEAR; STATUS_BYTES_PER_UNIT];
    let mut b = 0;
    while b < STATUS_BYTES_PER_UNIT {
        if bits & (1 << b) != 0 {
            vector[b] = SET;
        }
        b += 1;
    }
    vector
}

/// Peek: whether `SW_INT_0` is pending in a GuC's status vector (byte 0 non-zero), as the
/// kernel's recovery-pending and GGTT-validity checks read it, without clearing anything.
#[must_use]
pub const fn sw_int_0_pending(vector: &[u8; STATUS_BYTES_PER_UNIT]) -> bool {
    byte_is_set(vector[SW_INT_0_BYTE as usize])
}

/// Peek: whether `GUC2HOST` is pending in a GuC's status vector (byte 15 non-zero).
#[must_use]
pub const fn guc2host_pending(vector: &[u8; STATUS_BYTES_PER_UNIT]) -> bool {
    byte_is_set(vector[GUC2HOST_BYTE as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn abi_sheet_offsets() {
        let p = GucUnit::Primary;
        let m = GucUnit::Media;
        assert_eq!(p.sw_int_0_offset(), 0x190);
        assert_eq!(p.guc2host_offset(), 0x19F);
        assert_eq!(p.source_offset(), 0x419);
        assert_eq!(m.source_offset(), 0x418);
        assert_eq!(m.sw_int_0_offset(), 0x180);
        assert_eq!(m.guc2host_offset(), 0x18F);
        assert_eq!(p.status_offset(), 0x190);
        assert_eq!(m.status_offset(), 0x180);
        assert_eq!(p.status_byte_offset(GucIntr::SW_INT_0), Some(0x190));
        assert_eq!(p.status_byte_offset(GucIntr::GUC2HOST), Some(0x19F));
        assert_eq!(m.status_byte_offset(GucIntr::GUC2HOST), Some(0x18F));
        assert_eq!(status_byte_offset(unit::GUC, SW_INT_0_BYTE), Some(0x190));
        assert_eq!(status_byte_offset(unit::GUC, GUC2HOST_BYTE), Some(0x19F));
        assert_eq!(status_byte_offset(unit::MGUC, SW_INT_0_BYTE), Some(0x180));
        assert_eq!(status_byte_offset(unit::MGUC, GUC2HOST_BYTE), Some(0x18F));
        assert_eq!(source_offset(unit::GUC), Some(0x419));
        assert_eq!(source_offset(unit::MGUC), Some(0x418));
    }

    #[test]
    fn units_and_gts() {
        assert_eq!(GucUnit::for_gt(GtKind::Primary).unit(), 25);
        assert_eq!(GucUnit::for_gt(GtKind::Media).unit(), 24);
        for g in [GucUnit::Primary, GucUnit::Media] {
            assert_eq!(GucUnit::for_gt(g.gt()), g);
            assert_eq!(GucUnit::from_unit(g.unit()), Some(g));
            assert_eq!(status_offset(g.unit()), Some(g.status_offset()));
            assert_eq!(source_offset(g.unit()), Some(g.source_offset()));
        }
        assert_eq!(GucUnit::from_unit(0), None);
        assert_eq!(SW_INT_0_BYTE, 0);
        assert_eq!(GUC2HOST_BYTE, 15);
    }

    #[test]
    fn layout_bounds() {
        assert_eq!(status_offset(0), Some(0));
        assert_eq!(status_offset(63), Some(0x3F0));
        assert_eq!(status_offset(64), None);
        assert_eq!(status_offset(u8::MAX), None);
        assert_eq!(source_offset(63), Some(0x43F));
        assert_eq!(source_offset(64), None);
        assert_eq!(status_byte_offset(63, 15), Some(0x3FF));
        assert_eq!(status_byte_offset(0, 16), None);
        assert_eq!(status_byte_offset(64, 0), None);
        assert_eq!(GucUnit::Primary.status_byte_offset(GucIntr::empty()), None);
        assert_eq!(
            GucUnit::Primary.status_byte_offset(GucIntr::SW_INT_0 | GucIntr::SW_INT_1),
            None
        );
    }

    #[test]
    fn registration_addresses() {
        assert_eq!(GucUnit::Primary.source_addr(0x1234_5000), Some(0x1234_5419));
        assert_eq!(GucUnit::Primary.status_addr(0x1234_5000), Some(0x1234_5190));
        assert_eq!(GucUnit::Media.source_addr(0x1234_5000), Some(0x1234_5418));
        assert_eq!(GucUnit::Media.status_addr(0x1234_5000), Some(0x1234_5180));
        assert_eq!(GucUnit::Primary.source_addr(u64::MAX), None);
        assert_eq!(GucUnit::Media.status_addr(u64::MAX - 0x17F), None);
    }

    #[test]
    fn status_vectors() {
        let v = encode_status(GucIntr::SW_INT_0 | GucIntr::GUC2HOST);
        assert_eq!(v[0], 0xFF);
        assert_eq!(v[15], 0xFF);
        assert!(v[1..15].iter().all(|&b| b == 0));
        let s = decode_status(&v);
        assert_eq!(s.intr, GucIntr::SW_INT_0 | GucIntr::GUC2HOST);
        assert!(s.is_clean());
        assert!(sw_int_0_pending(&v) && guc2host_pending(&v));

        let mut g = [0u8; 16];
        g[0] = 0x01;
        g[3] = 0x80;
        g[7] = 0xFF;
        let s = decode_status(&g);
        assert_eq!(
            s.intr,
            GucIntr::SW_INT_0 | GucIntr::SW_INT_3 | GucIntr::NOTIF_ERROR
        );
        assert_eq!(s.garbage, GucIntr::SW_INT_0 | GucIntr::SW_INT_3);
        assert_eq!(s.garbage_count(), 2);
        assert!(sw_int_0_pending(&g) && !guc2host_pending(&g));
        assert_eq!(decode_status(&[0; 16]).intr, GucIntr::empty());
        assert_eq!(decode_status(&[0xFF; 16]).intr, GucIntr::all());
    }

    #[test]
    fn vectors_in_a_page() {
        let mut page = [0u8; PAGE_SIZE];
        page[0x180] = 0xFF;
        page[0x418] = 0xFF;
        let v = GucUnit::Media.status_vector(&page).unwrap();
        assert!(sw_int_0_pending(v));
        assert_eq!(GucUnit::Media.source_byte(&page), Some(0xFF));
        assert_eq!(GucUnit::Primary.source_byte(&page), Some(0));
        assert_eq!(GucUnit::Primary.status_vector(&page[..0x19F]), None);
        assert!(GucUnit::Primary.status_vector(&page[..0x1A0]).is_some());
        assert_eq!(GucUnit::Primary.source_byte(&page[..0x419]), None);
        assert_eq!(status_vector(&page, 64), None);
        assert_eq!(status_vector(&[], 0), None);
    }
}
