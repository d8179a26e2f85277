//! What a pass reports: its [`PassOutcome`], the [`Stats`] the embedder reads, the answer of
//! a GGTT wait.

use core::fmt;

use super::RecoveryError;
#[allow(unused_imports)] // the docs' links
use super::{RecoveryConfig, Vf};
use crate::coordinator::{GtId, GtSet};
#[allow(unused_imports)] // the docs' links
use crate::device::Stopwatch;
use crate::sync::AtomicUsize;
use crate::wire::Version;

/// Why migration is not supported for a GT (the kernel's `xe_sriov_vf_migration_supported`,
/// Linux 7.0 to 7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Unsupported {
    /// The negotiated VF ABI is below 1.27 (no RESFIX markers).
    NoMarkers,
    /// The GT has no memirq page: its GuC interrupts come from a register.
    NoMemirq,
}

impl fmt::Display for Unsupported {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Unsupported::NoMarkers => "VF ABI below 1.27 (no RESFIX markers)",
            Unsupported::NoMemirq => "no memory-based interrupts",
        })
    }
}

/// What one pass did with the GTs it took, when not all of them were recovered.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct PassReport {
    /// GTs whose RESFIX_DONE the GuC accepted.
    pub recovered: GtSet,
    /// GTs the GuC answered VF_MIGRATED: a second migration; queued again.
    pub requeued: GtSet,
    /// Legacy protocol: GTs whose RESFIX_DONE was skipped because another recovery is imminent;
    /// queued again.
    pub deferred: GtSet,
    /// Media GTs that wait for their tile's primary GT
    /// ([`RecoveryConfig::media_after_primary`]); still queued.
    pub postponed: GtSet,
}

// As derived, through the one out-of-line writer (see `crate::fmt`).
impl fmt::Debug for PassReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        debug_variant!(
            f,
            [
                "PassReport",
                "recovered",
                "requeued",
                "deferred",
                "postponed"
            ],
            &self.recovered,
            &self.requeued,
            &self.deferred,
            &self.postponed,
        )
    }
}

/// What one call of [`Vf::run_worker`] did.
#[derive(Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "a dropped PassOutcome can hide a failed recovery and a wedged device"]
#[non_exhaustive]
pub enum PassOutcome {
    /// No pass was due (spurious run; also the run queued by a report whose GT joined the pass
    /// that was running), or another pass is running, or the device is wedged or torn down.
    NotStarted,
    /// A pass began but had no GT to recover.
    Empty,
    /// Every GT of the pass got its RESFIX_DONE accepted.
    Recovered(GtSet),
    /// Some GTs of the pass were handed on (re-queued, deferred or postponed); the worker is
    /// queued again for them.
    Incomplete(PassReport),
    /// Migration was refused, as Linux 7.0 to 7.3 refuse it: a GT's VF ABI has no markers and
    /// [`RecoveryConfig::legacy`] is off, or the GT has no memirq page and
    /// [`RecoveryConfig::mmio_irq`] is off. Nothing was sent; the GTs stay blocked (recovery
    /// pending, GGTT not valid); not a wedge.
    Unsupported {
        /// The first such GT.
        gt: GtId,
        /// Its VF ABI.
        version: Option<Version>,
        /// Why.
        reason: Unsupported,
    },
    /// The pass failed; the device is wedged.
    Failed(RecoveryError),
    /// Teardown began during the pass; it stopped early.
    Cancelled,
    /// A [`Vf::with_gt`] closure (or [`Vf::bootstrap`], [`Vf::register_memirq`]) held the GTs
    /// when the pass began: nothing was sent, the GTs stay queued, and the holder queues the
    /// worker again when it lets go (a pass neither waits for a task that may have yielded
    /// inside its closure nor spins on it). Not counted in [`Stats::recoveries`].
    Busy(GtSet),
}

// As derived, through the one out-of-line writer (an embedder's log prints it; see `crate::fmt`).
impl fmt::Debug for PassOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::fmt::Opt;
        match self {
            PassOutcome::NotStarted => f.write_str("NotStarted"),
            PassOutcome::Empty => f.write_str("Empty"),
            PassOutcome::Recovered(set) => debug_variant!(f, ["Recovered"], set),
            PassOutcome::Incomplete(report) => debug_variant!(f, ["Incomplete"], report),
            PassOutcome::Unsupported {
                gt,
                version,
                reason,
            } => debug_variant!(
                f,
                ["Unsupported", "gt", "version", "reason"],
                gt,
                &Opt(version.as_ref().map(|v| v as &dyn fmt::Debug)),
                reason
            ),
            PassOutcome::Failed(e) => debug_variant!(f, ["Failed"], e),
            PassOutcome::Cancelled => f.write_str("Cancelled"),
            PassOutcome::Busy(set) => debug_variant!(f, ["Busy"], set),
        }
    }
}

/// Counters the embedder can read at any time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct Stats {
    /// Migration interrupts received ([`Vf::migrated`] calls for a valid GT, wrapping).
    pub migrations_signalled: usize,
    /// Passes that had GTs to recover.
    pub recoveries: usize,
    /// Passes that ended with every GT recovered.
    pub completed: usize,
    /// Passes in which a GT was deferred (legacy protocol).
    pub deferred: usize,
    /// Passes in which a GT was re-queued after a VF_MIGRATED reply.
    pub requeued: usize,
    /// Passes that failed (the device is wedged).
    pub failed: usize,
    /// Passes refused because migration is unsupported.
    pub unsupported: usize,
    /// Per-GT fixups that completed.
    pub fixups_completed: usize,
    /// Tile GGTT fixups that completed (each one a change of a tile's GGTT base).
    pub ggtt_moves: usize,
}

/// Consecutive polls without clock progress after which [`Vf::wait_ggtt_valid`] gives up with
/// [`GgttWait::ClockStalled`] (the mailbox's default bound).
pub const GGTT_WAIT_STALL_POLLS: u32 = 1_000_000;

/// The answer of [`Vf::wait_ggtt_valid`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[must_use = "only GgttWait::Valid means the GGTT may be used"]
#[non_exhaustive]
pub enum GgttWait {
    /// The GT's GGTT is valid.
    Valid,
    /// Still not valid when the timeout passed.
    TimedOut,
    /// The clock made no progress for [`GGTT_WAIT_STALL_POLLS`] consecutive polls (stopped,
    /// running backwards or jittering; see [`Stopwatch`]): the wait cannot be measured.
    ClockStalled,
    /// The device is wedged: the GGTT will not become valid. Returned at once.
    Wedged,
    /// The VF is torn down: no recovery will run. Returned at once.
    TornDown,
    /// No such GT.
    UnknownGt,
}

/// The pass counters behind [`Stats`] (the interrupt counts are the VF's own).
pub(super) struct Counters {
    pub(super) recoveries: AtomicUsize,
    pub(super) completed: AtomicUsize,
    pub(super) deferred: AtomicUsize,
    pub(super) requeued: AtomicUsize,
    pub(super) failed: AtomicUsize,
    pub(super) unsupported: AtomicUsize,
    pub(super) fixups_completed: AtomicUsize,
    pub(super) ggtt_moves: AtomicUsize,
}

impl Counters {
    const_unless_loom! {
        /// Every counter at 0.
        pub(super) fn new() -> Counters {
            Counters {
                recoveries: AtomicUsize::new(0),
                completed: AtomicUsize::new(0),
                deferred: AtomicUsize::new(0),
                requeued: AtomicUsize::new(0),
                failed: AtomicUsize::new(0),
                unsupported: AtomicUsize::new(0),
                fixups_completed: AtomicUsize::new(0),
                ggtt_moves: AtomicUsize::new(0),
            }
        }
    }
}
