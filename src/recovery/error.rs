//! How a recovery, a bootstrap or an access to the GTs fails.

use core::fmt;

use super::{HookError, Step};
#[allow(unused_imports)] // the docs' links
use super::{RecoveryConfig, Vf};
use crate::coordinator::GtId;
use crate::gt::VfError;
use crate::tile::{GgttMove, TileId};

/// Why a recovery failed (and the device was wedged).
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum RecoveryError {
    /// A GuC exchange failed.
    Gt {
        /// Which GT.
        gt: GtId,
        /// At which step.
        step: Step,
        /// What went wrong.
        error: VfError,
    },
    /// The tile's GGTT fixup failed; the tile's applied base stays `ggtt.old`.
    GgttFixup {
        /// The tile.
        tile: TileId,
        /// The GT whose recovery ran it.
        gt: GtId,
        /// The move that was asked for.
        ggtt: GgttMove,
        /// The hook's error.
        error: HookError,
    },
    /// Another embedder hook failed.
    Hook {
        /// Which GT.
        gt: GtId,
        /// At which step.
        step: Step,
        /// The hook's error.
        error: HookError,
    },
    /// The GuC answered `VF_MIGRATED` to this GT more than
    /// [`RecoveryConfig::max_requeues`] times in a row without a new `SW_INT_0` from it.
    RequeueLimit {
        /// Which GT.
        gt: GtId,
        /// The re-queues in a row, this one included.
        requeues: u32,
        /// The step whose reply was the last `VF_MIGRATED`.
        step: Step,
    },
}

impl fmt::Display for RecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryError::Gt { gt, step, .. } => write!(f, "GT{}: {} failed", gt.0, step.name()),
            RecoveryError::GgttFixup { tile, gt, ggtt, .. } => write!(
                f,
                "tile {} (GT{}): GGTT fixup {} failed",
                tile.0, gt.0, ggtt
            ),
            RecoveryError::Hook { gt, step, .. } => {
                write!(f, "GT{}: {} hook failed", gt.0, step.name())
            }
            RecoveryError::RequeueLimit { gt, requeues, step } => write!(
                f,
                "GT{}: VF_MIGRATED {} times in a row without a new interrupt (last on {})",
                gt.0,
                requeues,
                step.name()
            ),
        }
    }
}

// As derived, through the one out-of-line writer (see `crate::fmt`).
impl fmt::Debug for RecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryError::Gt { gt, step, error } => {
                debug_variant!(f, ["Gt", "gt", "step", "error"], gt, step, error)
            }
            RecoveryError::GgttFixup {
                tile,
                gt,
                ggtt,
                error,
            } => debug_variant!(
                f,
                ["GgttFixup", "tile", "gt", "ggtt", "error"],
                tile,
                gt,
                ggtt,
                error
            ),
            RecoveryError::Hook { gt, step, error } => {
                debug_variant!(f, ["Hook", "gt", "step", "error"], gt, step, error)
            }
            RecoveryError::RequeueLimit { gt, requeues, step } => debug_variant!(
                f,
                ["RequeueLimit", "gt", "requeues", "step"],
                gt,
                requeues,
                step
            ),
        }
    }
}

impl core::error::Error for RecoveryError {
    // Out of line: `Error::cause` calls it, and would inline a copy of it otherwise.
    #[inline(never)]
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            RecoveryError::Gt { error, .. } => Some(error),
            RecoveryError::GgttFixup { error, .. } | RecoveryError::Hook { error, .. } => {
                Some(error)
            }
            RecoveryError::RequeueLimit { .. } => None,
        }
    }
}

/// Why [`Vf::bootstrap`] failed.
///
/// `Debug` prints the GGTT ranges in hex, as `Display` does.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum BootstrapError {
    /// A GT's bootstrap or first configuration query failed.
    Gt {
        /// Which GT.
        gt: GtId,
        /// What went wrong.
        error: VfError,
    },
    /// The two GTs of a tile report different GGTTs (they share one).
    GgttMismatch {
        /// The tile.
        tile: TileId,
        /// Its primary GT.
        primary: GtId,
        /// GGTT_START and GGTT_SIZE the primary GT reported.
        primary_ggtt: (u64, u64),
        /// Its media GT.
        media: GtId,
        /// GGTT_START and GGTT_SIZE the media GT reported.
        media_ggtt: (u64, u64),
    },
    /// A recovery pass or a [`Vf::with_gt`] closure holds the GTs: nothing was done (the
    /// crate never waits for them).
    Busy,
    /// [`Vf::register_memirq`]: the memirq pages do not give `gt` the GuC unit of its kind
    /// (a primary GT is unit 25 of its tile's page, a media GT unit 24), or give it none while
    /// other GTs have one. Nothing was sent: registered so, a GuC would raise its SW_INT_0
    /// where the handler never looks (or in another GT's byte).
    MemirqMismatch {
        /// The GT.
        gt: GtId,
    },
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootstrapError::Gt { gt, .. } => write!(f, "GT{}: bootstrap failed", gt.0),
            BootstrapError::MemirqMismatch { gt } => write!(
                f,
                "GT{}: the memirq pages do not give it the GuC unit of its kind",
                gt.0
            ),
            BootstrapError::GgttMismatch {
                tile,
                primary,
                primary_ggtt,
                media,
                media_ggtt,
            } => write!(
                f,
                "tile {}: GT{} reports GGTT {:#x}+{:#x} but GT{} reports {:#x}+{:#x}",
                tile.0,
                primary.0,
                primary_ggtt.0,
                primary_ggtt.1,
                media.0,
                media_ggtt.0,
                media_ggtt.1
            ),
            BootstrapError::Busy => f.write_str("the GTs are busy (a pass or with_gt holds them)"),
        }
    }
}

impl fmt::Debug for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::HexPair;
        match self {
            BootstrapError::Gt { gt, error } => debug_variant!(f, ["Gt", "gt", "error"], gt, error),
            BootstrapError::GgttMismatch {
                tile,
                primary,
                primary_ggtt,
                media,
                media_ggtt,
            } => debug_variant!(
                f,
                [
                    "GgttMismatch",
                    "tile",
                    "primary",
                    "primary_ggtt",
                    "media",
                    "media_ggtt",
                ],
                tile,
                primary,
                &HexPair(*primary_ggtt),
                media,
                &HexPair(*media_ggtt)
            ),
            BootstrapError::Busy => f.write_str("Busy"),
            BootstrapError::MemirqMismatch { gt } => {
                debug_variant!(f, ["MemirqMismatch", "gt"], gt)
            }
        }
    }
}

impl core::error::Error for BootstrapError {
    // Out of line: `Error::cause` calls it, and would inline a copy of it otherwise.
    #[inline(never)]
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BootstrapError::Gt { error, .. } => Some(error),
            BootstrapError::GgttMismatch { .. }
            | BootstrapError::Busy
            | BootstrapError::MemirqMismatch { .. } => None,
        }
    }
}

/// Why [`Vf::with_gt`] did not run its closure, or [`Vf::try_gt_view`] /
/// [`Vf::try_tile_ggtt`] returned no copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum GtAccessError {
    /// No such GT.
    UnknownGt,
    /// No such tile.
    UnknownTile,
    /// A recovery pass (or another `with_gt`, or the bootstrap) holds the GTs right now, or
    /// (`try_*` views) the worker is publishing a copy on this or another CPU: try again later.
    /// Returned at once, never waited for.
    Busy,
}

impl fmt::Display for GtAccessError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            GtAccessError::UnknownGt => "no such GT",
            GtAccessError::UnknownTile => "no such tile",
            GtAccessError::Busy => "the GTs are busy (a recovery pass holds them)",
        })
    }
}

impl core::error::Error for GtAccessError {}
