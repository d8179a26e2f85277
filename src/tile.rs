//! Tiles: the owners of the GGTT.
//!
//! A VF has one or more tiles. Each tile has a primary GT and, on parts with a separate media
//! GT (Meteor Lake, Lunar Lake, Battlemage, Panther Lake), a media GT. The two GTs each have their
//! own GuC and mailbox, but they share the tile's **one** GGTT: both GuCs report the same
//! GGTT_START, and a migration moves that GGTT once. So the GGTT's state lives here, per tile,
//! and the embedder's GGTT fixup is called per tile, never per GT.
//!
//! For each tile [`Vf`](crate::Vf) tracks two bases:
//!
//! - the **applied** base: where the embedder's GGTT users (its GGTT nodes: context images, rings,
//!   the memirq page...) are. It is the base found at bootstrap, and it changes only when the
//!   embedder's [`ggtt_fixup`](crate::RecoveryHooks::ggtt_fixup) for the tile returned `Ok`;
//! - the **reported** base: the newest GGTT_START any of the tile's GuCs reported.
//!
//! After a GT's configuration re-query, if the two differ, the fixup runs once with
//! [`GgttMove`] `{ old: applied, new: reported }` and the applied base becomes the reported one.
//! Whatever happens in between (a deferral, a `VF_MIGRATED` re-queue, two more migrations, a pass
//! cancelled by teardown or failed after its query) the next fixup still moves the GGTT from where
//! its users really are to where the GuC says it is: a base that went A -> B -> C before a fixup
//! could run is one call A -> C; a base that did not change is no call at all.
//!
//! At bootstrap both GTs of a tile must report the same GGTT_START and GGTT_SIZE (else
//! [`BootstrapError::GgttMismatch`](crate::recovery::BootstrapError::GgttMismatch), naming both).
//! During a recovery they may legitimately disagree for a while: a second migration can land
//! between the primary GT's re-query and the media GT's, and then the newer report wins (the
//! primary GT is told by its own interrupt or by a `VF_MIGRATED` reply, and re-queries).

use core::fmt;

use crate::coordinator::GtId;
pub use crate::ids::TileId;

/// A move of a tile's GGTT, as handed to [`ggtt_fixup`](crate::RecoveryHooks::ggtt_fixup).
///
/// `Debug` and `Display` print both bases in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct GgttMove {
    /// The base the embedder's GGTT users are at now (the applied base).
    pub old: u64,
    /// The base the GuC reports now: where they must go.
    pub new: u64,
}

impl GgttMove {
    /// `new - old`, the signed distance every GGTT address moves (the `shift` of Linux 7.0;
    /// 7.3 moves the GGTT to the absolute new base instead).
    /// Exact: both bases are below `GUC_GGTT_TOP` (validated), so the difference fits an `i64`.
    #[must_use]
    pub const fn shift(&self) -> i64 {
        self.new as i64 - self.old as i64
    }

    /// Where a GGTT address `addr` of the old layout lies after the move: the same offset from
    /// the new base. `None` if `addr` is below the old base.
    #[must_use]
    pub const fn relocate(&self, addr: u64) -> Option<u64> {
        match addr.checked_sub(self.old) {
            Some(offset) => self.new.checked_add(offset),
            None => None,
        }
    }
}

impl fmt::Debug for GgttMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        debug_variant!(
            f,
            ["GgttMove", "old", "new"],
            &Hex(self.old),
            &Hex(self.new)
        )
    }
}

impl fmt::Display for GgttMove {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x} -> {:#x}", self.old, self.new)
    }
}

/// A tile's GGTT as the VF knows it (a snapshot: see [`Vf::tile_ggtt`](crate::Vf::tile_ggtt)).
///
/// `Debug` prints the size and the bases in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TileGgtt {
    /// GGTT size (the same on both GTs of the tile; never changes).
    pub size: u64,
    /// Where the embedder's GGTT users are: the base of the last fixup that returned `Ok` (or of
    /// bootstrap).
    pub applied: u64,
    /// The newest GGTT_START reported by one of the tile's GuCs.
    pub reported: u64,
    /// How many fixups moved this tile's GGTT (wrapping).
    pub moves: usize,
}

impl fmt::Debug for TileGgtt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        debug_variant!(
            f,
            ["TileGgtt", "size", "applied", "reported", "moves"],
            &Hex(self.size),
            &Hex(self.applied),
            &Hex(self.reported),
            &self.moves
        )
    }
}

impl TileGgtt {
    /// Nothing known yet (all zero): what [`Default`] gives, as a `const`.
    pub const EMPTY: TileGgtt = TileGgtt {
        size: 0,
        applied: 0,
        reported: 0,
        moves: 0,
    };

    /// Whether the embedder's GGTT users sit where the GuC last said the GGTT is.
    #[must_use]
    pub const fn is_current(&self) -> bool {
        self.applied == self.reported
    }

    /// The move still owed to the embedder, if any.
    #[must_use]
    pub const fn pending_move(&self) -> Option<GgttMove> {
        if self.applied == self.reported {
            None
        } else {
            Some(GgttMove {
                old: self.applied,
                new: self.reported,
            })
        }
    }
}

/// Where a VF's GTs sit: per GT, its tile and whether it is the tile's primary or media GT.
/// Built by [`Vf::new`](crate::Vf::new) from each GT's [`GtInfo`](crate::GtInfo) and checked
/// there.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Topology<const N: usize> {
    tile_of: [TileId; N],
    primary_of: [Option<GtId>; N],
    num_tiles: u8,
}

/// Why the GTs given to [`Vf::new`](crate::Vf::new) do not describe a VF.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum TopologyError {
    /// The GT count is 0 or above [`MAX_GTS`](crate::coordinator::MAX_GTS).
    GtCount(usize),
    /// Tile ids must be `0..num_tiles` with no gap: `tile` has no GT although a higher tile has.
    MissingTile {
        /// The tile without GTs.
        tile: TileId,
    },
    /// A tile has no primary GT.
    NoPrimaryGt {
        /// The tile.
        tile: TileId,
    },
    /// A tile has two GTs of the same kind.
    DuplicateGt {
        /// The tile.
        tile: TileId,
        /// The first GT of that kind.
        first: GtId,
        /// The second one.
        second: GtId,
    },
}

impl fmt::Display for TopologyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopologyError::GtCount(n) => write!(f, "a VF cannot have {n} GTs"),
            TopologyError::MissingTile { tile } => write!(f, "tile {} has no GT", tile.0),
            TopologyError::NoPrimaryGt { tile } => write!(f, "tile {} has no primary GT", tile.0),
            TopologyError::DuplicateGt {
                tile,
                first,
                second,
            } => write!(
                f,
                "tile {}: GT{} and GT{} are of the same kind",
                tile.0, first.0, second.0
            ),
        }
    }
}

impl core::error::Error for TopologyError {}

impl<const N: usize> Topology<N> {
    /// The topology of GTs `0..N`, GT `n` on tile `tiles[n].0`, primary when `tiles[n].1`.
    /// `const`, so a topology in a `static` is checked when the program is compiled.
    ///
    /// # Errors
    ///
    /// [`TopologyError::GtCount`] unless `N` is 1 to [`MAX_GTS`](crate::coordinator::MAX_GTS);
    /// [`TopologyError::MissingTile`] when a tile below the highest has no GT;
    /// [`TopologyError::DuplicateGt`] when a tile has two primary or two media GTs;
    /// [`TopologyError::NoPrimaryGt`] when a tile has a media GT only.
    pub const fn new(tiles: [(TileId, bool); N]) -> Result<Self, TopologyError> {
        if N == 0 || N > crate::coordinator::MAX_GTS {
            return Err(TopologyError::GtCount(N));
        }
        let mut tile_of = [TileId(0); N];
        let mut primary_of = [None; N];
        let mut media_of: [Option<GtId>; N] = [None; N];
        let mut num_tiles = 0usize;
        let mut n = 0;
        while n < N {
            let (tile, primary) = tiles[n];
            // n < N <= MAX_GTS < 256.
            let gt = GtId(n as u8);
            let t = tile.0 as usize;
            if t >= N {
                // More tiles than GTs: some tile below it has no GT.
                return Err(TopologyError::MissingTile {
                    tile: TileId(first_gap(&tiles)),
                });
            }
            let first = if primary { primary_of[t] } else { media_of[t] };
            if let Some(first) = first {
                return Err(TopologyError::DuplicateGt {
                    tile,
                    first,
                    second: gt,
                });
            }
            if primary {
                primary_of[t] = Some(gt);
            } else {
                media_of[t] = Some(gt);
            }
            tile_of[n] = tile;
            if t + 1 > num_tiles {
                num_tiles = t + 1;
            }
            n += 1;
        }
        let mut t = 0;
        while t < num_tiles {
            // t < num_tiles <= N < 256.
            let tile = TileId(t as u8);
            match (primary_of[t], media_of[t]) {
                (None, None) => return Err(TopologyError::MissingTile { tile }),
                (None, Some(_)) => return Err(TopologyError::NoPrimaryGt { tile }),
                _ => {}
            }
            t += 1;
        }
        Ok(Topology {
            tile_of,
            primary_of,
            num_tiles: num_tiles as u8,
        })
    }

    /// The number of tiles.
    #[must_use]
    pub const fn num_tiles(&self) -> usize {
        self.num_tiles as usize
    }

    /// The tile of `gt` (`None` for an unknown GT).
    #[must_use]
    pub fn tile_of(&self, gt: GtId) -> Option<TileId> {
        self.tile_of.get(usize::from(gt.0)).copied()
    }

    /// The primary GT of `tile`.
    #[must_use]
    pub fn primary_of(&self, tile: TileId) -> Option<GtId> {
        self.primary_of.get(usize::from(tile.0)).copied().flatten()
    }

    /// The GTs of `tile`, in GT order.
    pub fn gts_of(&self, tile: TileId) -> impl Iterator<Item = GtId> + '_ {
        self.tile_of
            .iter()
            .enumerate()
            .filter(move |(_, &t)| t == tile)
            .map(|(n, _)| GtId(n as u8))
    }
}

/// The lowest tile id with no GT (there is one when some tile id is at least the GT count).
const fn first_gap<const N: usize>(tiles: &[(TileId, bool); N]) -> u8 {
    let mut t = 0;
    while t <= N {
        let mut n = 0;
        while n < N && tiles[n].0 .0 as usize != t {
            n += 1;
        }
        if n == N {
            // t <= N <= MAX_GTS < 256.
            return t as u8;
        }
        t += 1;
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topologies() {
        let t = Topology::new([(TileId(0), true), (TileId(0), false)]).unwrap();
        assert_eq!(t.num_tiles(), 1);
        assert_eq!(t.primary_of(TileId(0)), Some(GtId(0)));
        assert_eq!(t.gts_of(TileId(0)).count(), 2);
        let t = Topology::new([
            (TileId(0), true),
            (TileId(1), true),
            (TileId(1), false),
            (TileId(0), false),
        ])
        .unwrap();
        assert_eq!(t.num_tiles(), 2);
        assert_eq!(t.tile_of(GtId(3)), Some(TileId(0)));
        assert_eq!(t.primary_of(TileId(1)), Some(GtId(1)));
        assert_eq!(t.tile_of(GtId(9)), None);
        assert_eq!(
            Topology::new([(TileId(0), false)]),
            Err(TopologyError::NoPrimaryGt { tile: TileId(0) })
        );
        assert_eq!(
            Topology::new([(TileId(1), true), (TileId(1), false)]),
            Err(TopologyError::MissingTile { tile: TileId(0) })
        );
        assert_eq!(
            Topology::new([(TileId(0), true), (TileId(5), true)]),
            Err(TopologyError::MissingTile { tile: TileId(1) })
        );
        assert_eq!(
            Topology::new([(TileId(0), true), (TileId(0), true)]),
            Err(TopologyError::DuplicateGt {
                tile: TileId(0),
                first: GtId(0),
                second: GtId(1)
            })
        );
        assert_eq!(Topology::<0>::new([]), Err(TopologyError::GtCount(0)));
    }

    #[test]
    fn moves() {
        let m = GgttMove {
            old: 0x20_0000,
            new: 0x120_0000,
        };
        assert_eq!(m.shift(), 0x100_0000);
        assert_eq!(m.relocate(0x20_1000), Some(0x120_1000));
        assert_eq!(m.relocate(0x1000), None);
        let back = GgttMove {
            old: m.new,
            new: m.old,
        };
        assert_eq!(back.shift(), -0x100_0000);
        assert_eq!(std::format!("{m}"), "0x200000 -> 0x1200000");
    }

    #[test]
    fn debug_prints_ggtt_addresses_in_hex_as_display_does() {
        let m = GgttMove {
            old: 0x20_0000,
            new: 0x120_0000,
        };
        assert_eq!(
            std::format!("{m:?}"),
            "GgttMove { old: 0x200000, new: 0x1200000 }"
        );
        let g = TileGgtt {
            size: 0x1000_0000,
            applied: 0x20_0000,
            reported: 0x120_0000,
            moves: 12,
        };
        assert_eq!(
            std::format!("{g:?}"),
            "TileGgtt { size: 0x10000000, applied: 0x200000, reported: 0x1200000, moves: 12 }"
        );
        // `{:#?}` still lays the fields out one per line.
        assert!(std::format!("{g:#?}").contains("\n    applied: 0x200000,\n"));
    }
}
