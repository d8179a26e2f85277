//! The VF's side of the truth: a model of the embedder's GGTT users, to check that a recovery
//! put them where the GuC's GGTT really is.
//!
//! A test that only looks at the GuC's final [`VfState`](super::VfState) cannot see the bug
//! recovery exists to prevent: GGTT users left at the old base (a lost shift) or moved twice (a
//! per-GT shift applied to a GGTT the tile's two GTs share). [`GgttOracle`] keeps, per tile, a
//! few GGTT nodes at fixed offsets ([`NODE_OFFSETS`]) from the base they were placed at, moves
//! them only through its reference tile fixup ([`GgttOracle::fixup`], what an embedder's
//! [`ggtt_fixup`](crate::RecoveryHooks::ggtt_fixup) does), and checks:
//!
//! - every fixup starts from the base the nodes are really at (a doubled move starts from a base
//!   they already left) and changes the base (a no-op fixup is a wasted or duplicated call);
//! - once the VF settled, every node lies at the tile's current GGTT base plus its offset
//!   ([`GgttOracle::check`]): a lost move leaves them behind.
//!
//! Together these say each change of base was applied exactly once. The oracle is `no_std`,
//! needs no allocation and is `Sync`, so embedders can use it in their own tests: call
//! [`place`](GgttOracle::place) after bootstrap, [`fixup`](GgttOracle::fixup) from the hook, and
//! [`check`](GgttOracle::check) once the VF settled.
//!
//! ```
//! use xe_sriov_vf::mock::{GgttOracle, OracleError};
//! use xe_sriov_vf::{GgttMove, TileId};
//!
//! let oracle: GgttOracle<1> = GgttOracle::new();
//! oracle.place(TileId(0), 0x20_0000);
//! // The GuC moved the GGTT to 0x120_0000; the fixup hook runs once:
//! oracle.fixup(TileId(0), GgttMove { old: 0x20_0000, new: 0x120_0000 }).unwrap();
//! assert_eq!(oracle.check(TileId(0), 0x120_0000), Ok(()));
//! // A second, per-GT, fixup of the same GGTT would start from where the nodes no longer are:
//! let twice = oracle.fixup(TileId(0), GgttMove { old: 0x20_0000, new: 0x120_0000 });
//! assert!(twice.is_err());
//! assert!(matches!(
//!     oracle.check(TileId(0), 0x120_0000),
//!     Err(OracleError::WrongOldBase { .. })
//! ));
//! ```

use core::fmt;

use spin::Mutex;

use crate::recovery::{HookError, RecoveryHooks};
use crate::tile::{GgttMove, TileId};

/// Offsets from the tile's GGTT base of the oracle's GGTT nodes (a context image, a ring, the
/// memirq page, say).
pub const NODE_OFFSETS: [u64; 3] = [0x0, 0x1000, 0x10_0000];

/// What the oracle found wrong (the first thing, kept until [`GgttOracle::clear_error`]).
/// `Debug` prints the GGTT addresses in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum OracleError {
    /// A tile the oracle does not model, or one never placed.
    UnknownTile {
        /// The tile.
        tile: TileId,
    },
    /// A fixup said the users were at `claimed`, but they are at `actual`: a move doubled (or
    /// one the crate lost track of).
    WrongOldBase {
        /// The tile.
        tile: TileId,
        /// Where the nodes are.
        actual: u64,
        /// The fixup's `old`.
        claimed: u64,
    },
    /// A fixup that does not move anything.
    NoOpMove {
        /// The tile.
        tile: TileId,
        /// The base.
        base: u64,
    },
    /// A node is not at the GGTT's current base plus its offset: a move was lost.
    Misplaced {
        /// The tile.
        tile: TileId,
        /// Index into [`NODE_OFFSETS`].
        node: usize,
        /// Where it is.
        at: u64,
        /// Where it should be.
        expected: u64,
    },
}

impl fmt::Display for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OracleError::UnknownTile { tile } => write!(f, "tile {} not modelled", tile.0),
            OracleError::WrongOldBase {
                tile,
                actual,
                claimed,
            } => write!(
                f,
                "tile {}: fixup from {claimed:#x} but the GGTT users are at {actual:#x}",
                tile.0
            ),
            OracleError::NoOpMove { tile, base } => {
                write!(f, "tile {}: fixup that moves nothing ({base:#x})", tile.0)
            }
            OracleError::Misplaced {
                tile,
                node,
                at,
                expected,
            } => write!(
                f,
                "tile {}: GGTT node {node} at {at:#x}, expected {expected:#x}",
                tile.0
            ),
        }
    }
}

impl fmt::Debug for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Hex;
        match *self {
            OracleError::UnknownTile { ref tile } => {
                debug_variant!(f, ["UnknownTile", "tile"], tile)
            }
            OracleError::WrongOldBase {
                ref tile,
                actual,
                claimed,
            } => debug_variant!(
                f,
                ["WrongOldBase", "tile", "actual", "claimed"],
                tile,
                &Hex(actual),
                &Hex(claimed)
            ),
            OracleError::NoOpMove { ref tile, base } => {
                debug_variant!(f, ["NoOpMove", "tile", "base"], tile, &Hex(base))
            }
            OracleError::Misplaced {
                ref tile,
                ref node,
                at,
                expected,
            } => debug_variant!(
                f,
                ["Misplaced", "tile", "node", "at", "expected"],
                tile,
                node,
                &Hex(at),
                &Hex(expected)
            ),
        }
    }
}

impl core::error::Error for OracleError {}

#[derive(Clone, Copy)]
struct TileUsers {
    placed: bool,
    /// The base the nodes were last moved to.
    base: u64,
    /// The nodes' absolute GGTT addresses.
    nodes: [u64; NODE_OFFSETS.len()],
    moves: usize,
    /// Sum of the shifts applied (wrapping as `i64`).
    total_shift: i64,
}

struct State<const T: usize> {
    tiles: [TileUsers; T],
    error: Option<OracleError>,
    fail_next: Option<HookError>,
}

/// A model of the VF's GGTT users on `T` tiles; see the [`mock`](crate::mock) docs.
pub struct GgttOracle<const T: usize> {
    state: Mutex<State<T>>,
}

impl<const T: usize> Default for GgttOracle<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const T: usize> fmt::Debug for GgttOracle<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.state.lock();
        let mut d = f.debug_struct("GgttOracle");
        d.field("error", &s.error);
        for t in &s.tiles {
            d.field("base", &t.base).field("moves", &t.moves);
        }
        d.finish()
    }
}

impl<const T: usize> GgttOracle<T> {
    /// An oracle with no tile placed yet.
    #[must_use]
    pub const fn new() -> Self {
        GgttOracle {
            state: Mutex::new(State {
                tiles: [TileUsers {
                    placed: false,
                    base: 0,
                    nodes: [0; NODE_OFFSETS.len()],
                    moves: 0,
                    total_shift: 0,
                }; T],
                error: None,
                fail_next: None,
            }),
        }
    }

    /// Places `tile`'s nodes at `base` (after bootstrap: where the embedder mapped them).
    pub fn place(&self, tile: TileId, base: u64) {
        let mut s = self.state.lock();
        if let Some(t) = s.tiles.get_mut(usize::from(tile.0)) {
            *t = TileUsers {
                placed: true,
                base,
                nodes: NODE_OFFSETS.map(|o| base + o),
                moves: 0,
                total_shift: 0,
            };
        }
    }

    /// The reference tile fixup: moves `tile`'s nodes by `ggtt` after checking that they are at
    /// `ggtt.old` and that the move moves. A wrong call is recorded (see
    /// [`check`](Self::check)) and answered `Err` so that the crate wedges.
    ///
    /// # Errors
    ///
    /// `HookError(-22)` (`-EINVAL`) for a wrong call (an unknown tile, `ggtt.old` not where the
    /// nodes are, a move that does not move), recorded for [`check`](Self::check); the error given
    /// to [`fail_next_fixup`](Self::fail_next_fixup), once, before any check.
    pub fn fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        let mut s = self.state.lock();
        if let Some(e) = s.fail_next.take() {
            return Err(e);
        }
        let found = match s.tiles.get(usize::from(tile.0)) {
            Some(t) if t.placed => *t,
            _ => return s.record(OracleError::UnknownTile { tile }),
        };
        if found.base != ggtt.old {
            return s.record(OracleError::WrongOldBase {
                tile,
                actual: found.base,
                claimed: ggtt.old,
            });
        }
        if ggtt.old == ggtt.new {
            return s.record(OracleError::NoOpMove {
                tile,
                base: ggtt.old,
            });
        }
        let mut nodes = found.nodes;
        for n in nodes.iter_mut() {
            *n = ggtt.relocate(*n).unwrap_or(u64::MAX);
        }
        s.tiles[usize::from(tile.0)] = TileUsers {
            placed: true,
            base: ggtt.new,
            nodes,
            moves: found.moves + 1,
            total_shift: found.total_shift.wrapping_add(ggtt.shift()),
        };
        Ok(())
    }

    /// Checks `tile` against the GGTT base the GuC reports now (`guc_base`): no wrong fixup was
    /// ever seen, and every node is at `guc_base` plus its offset.
    ///
    /// # Errors
    ///
    /// The first wrong fixup recorded ([`OracleError::UnknownTile`], [`OracleError::WrongOldBase`],
    /// [`OracleError::NoOpMove`]); else [`OracleError::UnknownTile`] for a tile never placed, or
    /// [`OracleError::Misplaced`] for the first node not at `guc_base` plus its offset.
    pub fn check(&self, tile: TileId, guc_base: u64) -> Result<(), OracleError> {
        let s = self.state.lock();
        if let Some(e) = s.error {
            return Err(e);
        }
        let t = match s.tiles.get(usize::from(tile.0)) {
            Some(t) if t.placed => t,
            _ => return Err(OracleError::UnknownTile { tile }),
        };
        for (node, (&at, off)) in t.nodes.iter().zip(NODE_OFFSETS).enumerate() {
            let expected = guc_base.wrapping_add(off);
            if at != expected {
                return Err(OracleError::Misplaced {
                    tile,
                    node,
                    at,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// Where `tile`'s nodes' base is now.
    pub fn base(&self, tile: TileId) -> Option<u64> {
        let s = self.state.lock();
        s.tiles
            .get(usize::from(tile.0))
            .filter(|t| t.placed)
            .map(|t| t.base)
    }

    /// How many fixups moved `tile`.
    pub fn moves(&self, tile: TileId) -> usize {
        let s = self.state.lock();
        s.tiles.get(usize::from(tile.0)).map_or(0, |t| t.moves)
    }

    /// The sum of the shifts applied to `tile` (equals the GuC's total move once settled).
    pub fn total_shift(&self, tile: TileId) -> i64 {
        let s = self.state.lock();
        s.tiles
            .get(usize::from(tile.0))
            .map_or(0, |t| t.total_shift)
    }

    /// The first error recorded, if any.
    pub fn error(&self) -> Option<OracleError> {
        self.state.lock().error
    }

    /// Forgets a recorded error.
    pub fn clear_error(&self) {
        self.state.lock().error = None;
    }

    /// Makes the next [`fixup`](Self::fixup) fail with `error` without moving anything (to test
    /// a failing embedder hook).
    pub fn fail_next_fixup(&self, error: HookError) {
        self.state.lock().fail_next = Some(error);
    }
}

impl<const T: usize> State<T> {
    fn record(&mut self, e: OracleError) -> Result<(), HookError> {
        if self.error.is_none() {
            self.error = Some(e);
        }
        Err(HookError(-22))
    }
}

/// The oracle as the whole set of hooks: its reference GGTT fixup, nothing else.
impl<const T: usize> RecoveryHooks for GgttOracle<T> {
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        self.fixup(tile, ggtt)
    }
}
