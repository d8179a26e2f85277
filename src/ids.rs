//! The ids of a VF's parts: [`GtId`], [`TileId`] and [`GtSet`], used crate-wide (re-exported
//! by [`coordinator`](crate::coordinator) and [`tile`](crate::tile), where they used to live).
//! A `TileId` cannot be passed where a `GtId` is wanted. Both are below
//! [`MAX_GTS`]: 13 with a 64-bit `usize` (5 with a 32-bit one), as
//! many GTs as the coordinator's state word can track.

use core::fmt;

use crate::coordinator::MAX_GTS;

/// Index of a GT within its VF, `0..num_gts`. Not a tile: see
/// [`TileId`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GtId(pub u8);

/// An index too large for a [`GtId`] or a [`TileId`]: at least
/// [`MAX_GTS`] (no VF has more GTs, or tiles, than a coordinator can track).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IdOutOfRange {
    /// The index asked for.
    pub index: usize,
}

impl fmt::Display for IdOutOfRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "index {} is not below {}", self.index, MAX_GTS)
    }
}

impl core::error::Error for IdOutOfRange {}

impl GtId {
    /// The GT's index as a `usize`, for indexing per-GT arrays (`0..num_gts`).
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl TryFrom<usize> for GtId {
    type Error = IdOutOfRange;
    /// `GtId(n)` for `n < MAX_GTS`: no `n as u8` cast that could wrap.
    fn try_from(index: usize) -> Result<GtId, IdOutOfRange> {
        if index < MAX_GTS {
            // index < MAX_GTS <= 13.
            Ok(GtId(index as u8))
        } else {
            Err(IdOutOfRange { index })
        }
    }
}

impl From<GtId> for usize {
    fn from(gt: GtId) -> usize {
        usize::from(gt.0)
    }
}

/// A set of GTs, as a bit mask (bit `n` = `GtId(n)`).
///
/// Only bits below [`MAX_GTS`] can be members; constructors drop the others.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct GtSet(pub(crate) usize);

impl GtSet {
    /// The empty set.
    #[must_use]
    pub const fn empty() -> Self {
        GtSet(0)
    }

    /// The set holding `gt` alone (empty if `gt` is not below [`MAX_GTS`]).
    #[must_use]
    pub const fn single(gt: GtId) -> Self {
        GtSet(bit_of(gt))
    }

    /// The set of GTs `0..n` (`n` is clamped to [`MAX_GTS`]).
    #[must_use]
    pub const fn all(n: usize) -> Self {
        GtSet(mask_of(n))
    }

    /// The set whose bit mask is `bits`, without the bits at or above [`MAX_GTS`].
    #[must_use]
    pub const fn from_bits(bits: usize) -> Self {
        GtSet(bits & mask_of(MAX_GTS))
    }

    /// The bit mask (bit `n` = `GtId(n)`).
    #[must_use]
    pub const fn bits(self) -> usize {
        self.0
    }

    /// Whether `gt` is in the set.
    #[must_use]
    pub const fn contains(self, gt: GtId) -> bool {
        let b = bit_of(gt);
        b != 0 && self.0 & b != 0
    }

    /// Adds `gt`; returns whether it was newly added (false if present or out of range).
    pub fn insert(&mut self, gt: GtId) -> bool {
        let b = bit_of(gt);
        let new = b != 0 && self.0 & b == 0;
        self.0 |= b;
        new
    }

    /// Removes `gt`; returns whether it was a member.
    pub fn remove(&mut self, gt: GtId) -> bool {
        let was = self.contains(gt);
        self.0 &= !bit_of(gt);
        was
    }

    /// The GTs in `self` or `other`.
    #[must_use]
    pub const fn union(self, other: GtSet) -> GtSet {
        GtSet(self.0 | other.0)
    }

    /// Number of GTs in the set.
    #[must_use]
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The members in increasing order.
    pub fn iter(self) -> impl Iterator<Item = GtId> {
        // The lowest member first, and each step clears it: the walk ends after one step per
        // member, at most MAX_GTS (<= 13: every constructor masks, so an id fits a u8).
        let mut bits = self.0;
        core::iter::from_fn(move || {
            if bits == 0 {
                return None;
            }
            let n = bits.trailing_zeros() as u8;
            bits &= bits - 1;
            Some(GtId(n))
        })
    }
}

impl fmt::Debug for GtSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter().map(|g| g.0)).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for GtSet {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "GtSet({:#x})", self.0)
    }
}

/// The bit of `gt`, or 0 when `gt` is not below [`MAX_GTS`].
pub(crate) const fn bit_of(gt: GtId) -> usize {
    if (gt.0 as usize) < MAX_GTS {
        1 << gt.0
    } else {
        0
    }
}

/// The bits of GTs `0..n`, `n` clamped to [`MAX_GTS`].
pub(crate) const fn mask_of(n: usize) -> usize {
    let n = if n > MAX_GTS { MAX_GTS } else { n };
    // n <= MAX_GTS <= 13 < usize::BITS, so the shift cannot overflow.
    (1usize << n) - 1
}

/// Index of a tile within its VF, `0..num_tiles`. Not a GT: see [`GtId`].
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TileId(pub u8);

impl TileId {
    /// The tile's index as a `usize`, for indexing per-tile arrays (`0..num_tiles`).
    #[must_use]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

impl TryFrom<usize> for TileId {
    type Error = IdOutOfRange;
    /// `TileId(n)` for `n < MAX_GTS` (a VF has at most as many tiles as GTs).
    fn try_from(index: usize) -> Result<TileId, Self::Error> {
        if index < MAX_GTS {
            // index < MAX_GTS <= 13.
            Ok(TileId(index as u8))
        } else {
            Err(IdOutOfRange { index })
        }
    }
}

impl From<TileId> for usize {
    fn from(tile: TileId) -> usize {
        usize::from(tile.0)
    }
}
