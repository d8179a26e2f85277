//! The post-migration recovery pipeline, and [`Vf`]: one VF with its tiles and GTs, its
//! coordinator, its work queue and the embedder's hooks.
//!
//! ## Flow
//!
//! 1. The GuC raises `SW_INT_0` on a GT. The embedder's interrupt handler calls
//!    [`Vf::handle_guc_interrupt`] (or [`Vf::migrated`]): wait-free, no lock, no allocation. It
//!    marks that GT queued, in progress and its GGTT in need of fixes, and queues the worker on
//!    the [`WorkQueue`] (at most once).
//! 2. The embedder's queue runs [`Vf::run_worker`] in thread context. A pass recovers each GT
//!    that is queued when it begins, all of them side by side, their mailbox exchanges
//!    overlapped ([`RecoveryConfig::split_phase`], the default: each GT advances on its own
//!    replies, and a GT reported while the pass runs joins it at once; without it one GT after
//!    the other), each with kernel 7.0's
//!    per-GT sequence (`vf_post_migration_recovery` in `xe_gt_sriov_vf.c`):
//!
//!    | step | what | on error |
//!    |---|---|---|
//!    | 0 | runtime-PM reference ([`RecoveryHooks::pm_get`]) for the pass, released after everything else, `abort` and `wedged` included | |
//!    | 1 | migration gate: without markers (VF ABI below 1.27) migration is unsupported unless [`RecoveryConfig::legacy`] | reported as [`PassOutcome::Unsupported`], never a wedge |
//!    | 2 | [`RecoveryConfig::media_after_primary`]: a media GT whose tile's primary GT has a recovery pending waits for a later pass | |
//!    | 3 | [`shutdown`](RecoveryHooks::shutdown): pause submission, stop the command transport | |
//!    | 4 | RESFIX_START with the GT's next marker (`1 + 8-bit counter`); legacy: nothing sent | VF_MIGRATED: re-queue (*); else wedge |
//!    | 5 | the GT is no longer queued (only now: a report before this point causes no second run) | |
//!    | 6 | re-query the configuration and validate it; the tile's reported GGTT base is updated | VF_MIGRATED: re-queue (*); else wedge |
//!    | 7 | the tile's GGTT fixup ([`ggtt_fixup`](RecoveryHooks::ggtt_fixup)) if the reported base differs from the applied one: exactly once per change of base | wedge, applied base unchanged |
//!    | 8 | the GT's own fixups ([`gt_fixups`](RecoveryHooks::gt_fixups)) | wedge |
//!    | 9 | the GT's GGTT is valid again (unless it was reported again since step 5), fixups-complete counter | |
//!    | 10 | [`rearm`](RecoveryHooks::rearm): interrupts, command transport | wedge |
//!    | 11 | RESFIX_DONE with the marker, always sent; legacy: without a marker, and skipped (deferred) if another recovery is imminent | VF_MIGRATED: re-queue; else wedge |
//!    | 12 | accepted: recovery no longer pending (unless reported again since step 5: the queued run follows) | |
//!    | 13 | [`kickstart`](RecoveryHooks::kickstart): unpause submission | |
//!    | - | on any error: [`abort`](RecoveryHooks::abort), then wedge exactly once ([`wedged`](RecoveryHooks::wedged)) | |
//!
//!    [`RecoveryHooks::hold`] is called before steps 3 (start), 7 (fixups), 10 (rearm) and 11
//!    (done): the kernel's debug "stoppers", which tests use to land a migration at every step.
//! 3. A wedged device queues nothing more; after [`Vf::teardown`] nothing is queued or started.
//!
//! ## Where this differs from kernel 7.0, on purpose
//!
//! | kernel 7.0 | here | why |
//! |---|---|---|
//! | one worker per GT | one worker for the VF, recovering the queued GTs side by side ([`RecoveryConfig::split_phase`], the default: every GT's mailbox request in flight at once, each GT on to its next step as soon as its reply is in, a GT reported during the pass taken in at once, as its own worker would start), each with the per-GT sequence; or, with `split_phase = false`, one after the other | the users' unikernels have one thread; one GT's report still never re-runs or defers another GT; split phase gives one worker the kernel's blackout, also when the GTs' interrupts are not simultaneous |
//! | `recovery_queued` is cleared right after the GT's RESFIX_START | split phase: cleared for every GT whose RESFIX_START was accepted in one round of polling the pass's mailboxes, at the end of that round, in one atomic step ([`Coordinator::started_gts`](crate::coordinator::Coordinator::started_gts)); `split_phase = false` and legacy: per GT, as the kernel | one read-modify-write per round instead of per GT; a report in the extra window (the other GTs' register reads) is covered by the run in progress, as one in the kernel's window between RESFIX_START and the clear is, and a real second migration there is refused at RESFIX_DONE (`VF_MIGRATED`) and re-queued, at the same round-trip cost |
//! | (*) VF_MIGRATED on RESFIX_START or during the re-query wedges | re-queues the GT | both mean the VF moved again under the recovery; a new pass is the recovery for that, a wedge is not |
//! | `recovery_inprogress` is cleared just before RESFIX_DONE is sent | cleared once the GuC accepted RESFIX_DONE | "recovery pending" must not read false while DONE can still be refused with VF_MIGRATED |
//! | `ggtt_need_fixes` is cleared after the fixups even if the GT was reported again meanwhile | stays set until the queued run's fixups | a report after RESFIX_START may mean the GGTT moved again |
//! | migration unsupported: decided once at probe, interrupts ignored | decided per pass from each GT's negotiated VF ABI, reported as [`PassOutcome::Unsupported`] and counted | the crate cannot see the probe; the embedder sees every refused migration |
//! | the per-tile GGTT base is updated by the query and the relative shift applied under the GGTT lock | the tile's applied base moves only when the embedder's fixup returned `Ok`; the hook gets both absolute bases | a failed, cancelled or deferred fixup can never lose or double a move |
//! | no legacy recovery | the seed's legacy recovery (no markers) as an opt-in ([`RecoveryConfig::legacy`]) | for VF ABI 1.26 and older GuCs that cannot detect a second migration; see below |
//!
//! The legacy protocol (opt-in) has no marker, so the GuC cannot refuse a RESFIX_DONE sent for
//! an older migration. So it keeps the seed's rule: RESFIX_DONE is skipped (the GT deferred to
//! the queued run) when another recovery is imminent: under [`StartPolicy::AnyGt`] when the GT
//! was reported again since its recovery began, under [`StartPolicy::AllGts`] when any GT
//! reported since the pass began, or the worker is queued (the seed's device-wide
//! `vf_post_migration_imminent`: `gt_flags != 0 || work_pending`).
//!
//! ## Under [`StartPolicy::AllGts`] (the seed's policy)
//!
//! The worker is queued once every GT has reported, and a pass is device-wide, as the seed's:
//! it recovers every GT, reported or not (each with the per-GT sequence above). That is what
//! makes the policy lossless: a report absorbed by a GT's queued recovery, or consumed by the
//! pass that began after it, is always followed by a RESFIX_START of *every* GT. A GT handed
//! back (re-queued, deferred, postponed) is owed a pass that does not wait for reports. What the
//! policy cannot do is tell a lost or late interrupt from a slow one: a GT that reported waits
//! for the others, see [`Vf::awaiting_reports`] and [`Vf::start_now`].
//!
//! ## GGTT validity
//!
//! [`Vf::ggtt_valid`] is false from the moment the GT's `SW_INT_0` is signalled (or a
//! `VF_MIGRATED` reply is seen) until its tile's GGTT fixup for the newest reported base and the
//! GT's own fixups returned in a run that began after the last report. See
//! [`crate::coordinator`] for how that is kept without a lock.

use core::fmt;

use crate::coordinator::{Coordinator, CoordinatorView, GtId, GtSet, Signal, StartPolicy};
use crate::device::{nanos, Clock, Device, Stopwatch};
use crate::gt::{Gt, GtInfo, GtOp, VfConfig, VfError};
use crate::memirq::{MemirqReport, MemirqSet, NoMemirq};
use crate::sync::{fence, AtomicBool, AtomicUsize, Ordering};
use crate::tile::{GgttMove, TileGgtt, TileId, Topology, TopologyError};
use crate::wire::memirq::GucUnit;
use crate::wire::regs::{GtKind, GucIntr};
use crate::wire::{Marker, Version};
use crate::workqueue::WorkQueue;
use core::task::Poll;
use core::time::Duration;

/// An error reported by an embedder hook: an errno-style code of the embedder's choosing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HookError(pub i32);

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "hook error {}", self.0)
    }
}

impl core::error::Error for HookError {}

/// A step of the recovery, as named in errors and hold points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Step {
    /// RESFIX_START.
    ResfixStart,
    /// The configuration re-query.
    QueryConfig,
    /// The tile's GGTT fixup hook.
    GgttFixup,
    /// The GT's own fixups hook.
    GtFixups,
    /// The rearm hook.
    Rearm,
    /// RESFIX_DONE.
    ResfixDone,
}

impl Step {
    /// A short name for logs.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Step::ResfixStart => "RESFIX_START",
            Step::QueryConfig => "config query",
            Step::GgttFixup => "GGTT fixup",
            Step::GtFixups => "GT fixups",
            Step::Rearm => "rearm",
            Step::ResfixDone => "RESFIX_DONE",
        }
    }
}

/// Where [`RecoveryHooks::hold`] is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HoldPoint {
    /// Before the GT's shutdown and RESFIX_START (also reached on the legacy protocol).
    BeforeStart,
    /// After the re-query, before the GGTT and GT fixups.
    BeforeFixups,
    /// Before the rearm hook.
    BeforeRearm,
    /// Before RESFIX_DONE.
    BeforeDone,
}

/// Why a recovery failed (and the device was wedged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl core::error::Error for RecoveryError {
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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

impl core::error::Error for BootstrapError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            BootstrapError::Gt { error, .. } => Some(error),
            BootstrapError::GgttMismatch { .. }
            | BootstrapError::Busy
            | BootstrapError::MemirqMismatch { .. } => None,
        }
    }
}

/// What the embedder does at each step. Every method has a default that is right when the
/// embedder has nothing to do there; a driver with GGTT users overrides
/// [`ggtt_fixup`](RecoveryHooks::ggtt_fixup) at least.
///
/// Hooks run on the worker (thread context), never from the interrupt entry, and never two
/// passes at once.
///
/// # Order
///
/// Per GT, every run of its recovery calls, in this order and each at most once:
/// [`hold`](RecoveryHooks::hold)`(BeforeStart)`, [`shutdown`](RecoveryHooks::shutdown), then
/// (once its RESFIX_START was accepted and its re-query answered) `hold(BeforeFixups)`, its
/// tile's [`ggtt_fixup`](RecoveryHooks::ggtt_fixup) if the base changed, [`gt_fixups`](RecoveryHooks::gt_fixups),
/// `hold(BeforeRearm)`, [`rearm`](RecoveryHooks::rearm), `hold(BeforeDone)`, and once its
/// RESFIX_DONE was accepted [`kickstart`](RecoveryHooks::kickstart); a run that ends early
/// (re-queued, deferred) stops at its step, a failed pass then calls
/// [`abort`](RecoveryHooks::abort) and [`wedged`](RecoveryHooks::wedged). A GT's run lies
/// within one pass, inside that pass's [`pm_get`](RecoveryHooks::pm_get) /
/// [`pm_put`](RecoveryHooks::pm_put), and a GT never has two runs at once: its next run (a
/// report after its RESFIX_START, a re-queue) begins in a later pass, after this run's last hook.
/// A tile's `ggtt_fixup` comes after the `shutdown` of the GT whose run calls it, and moves the
/// tile once per change of base, whichever of its GTs gets there first.
///
/// Across GTs there is no order with [`RecoveryConfig::split_phase`] (the default): the GTs'
/// steps interleave as their replies come in, and a GT reported while a pass runs joins it, so
/// its `shutdown` may come after another GT's `kickstart` in the same pass (what used to be a
/// pass boundary). With `split_phase = false`, each GT's hooks from `shutdown` to `kickstart`
/// run before the next GT's. They run while the worker holds the GTs: from a hook, [`Vf::with_gt`],
/// [`Vf::bootstrap`] and [`Vf::register_memirq`] answer `Busy` at once (nothing spins), while
/// [`Vf::gt_view`], [`Vf::tile_ggtt`] and the wait-free questions answer normally (see the table
/// on [`Vf`]); everything the fixups need is in their arguments.
///
/// # The GGTT contract
///
/// The GGTT belongs to the tile. [`ggtt_fixup`](RecoveryHooks::ggtt_fixup) is called once per
/// change of a tile's GGTT base, with the absolute base the embedder's GGTT users are at now and
/// the base they must move to, whatever happened in between (deferrals, re-queues, more
/// migrations, a cancelled or failed pass): the crate remembers the base of the last fixup that
/// returned `Ok`. A base that did not change gets no call. If the hook fails, the device is
/// wedged and the crate still believes the users are at `ggtt.old`.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use xe_sriov_vf::{GgttMove, GtId, HookError, RecoveryHooks, TileId};
///
/// /// A driver with one GGTT node per tile: a ring at a fixed offset from the GGTT base.
/// struct Driver {
///     ring_ggtt_addr: [AtomicU64; 2],
/// }
///
/// impl RecoveryHooks for Driver {
///     fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
///         let node = &self.ring_ggtt_addr[usize::from(tile.0)];
///         // Same offset from the new base; `ggtt.shift()` gives the signed distance too.
///         let moved = ggtt.relocate(node.load(Ordering::Relaxed)).ok_or(HookError(-22))?;
///         node.store(moved, Ordering::Relaxed);
///         Ok(())
///     }
///     fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
///         // Rebase this GT's context images and HWSP, reset its CT state...
///         let _ = gt;
///         Ok(())
///     }
/// }
/// # let d = Driver { ring_ggtt_addr: [AtomicU64::new(0x20_1000), AtomicU64::new(0)] };
/// # d.ggtt_fixup(TileId(0), GgttMove { old: 0x20_0000, new: 0x120_0000 }).unwrap();
/// # assert_eq!(d.ring_ggtt_addr[0].load(Ordering::Relaxed), 0x120_1000);
/// ```
pub trait RecoveryHooks {
    /// Takes a runtime-PM reference (the device must stay powered during the pass).
    fn pm_get(&self) {}
    /// Releases the reference from [`pm_get`](RecoveryHooks::pm_get); called exactly once per
    /// `pm_get`, on every path, after [`abort`](RecoveryHooks::abort) and
    /// [`wedged`](RecoveryHooks::wedged).
    fn pm_put(&self) {}
    /// Pauses submission and stops the command transport of `gt`.
    fn shutdown(&self, gt: GtId) {
        let _ = gt;
    }
    /// Moves every GGTT user of `tile` from `ggtt.old` to `ggtt.new` (same offset from the
    /// base). Called exactly once per change of the tile's GGTT base; see the trait docs.
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        let _ = (tile, ggtt);
        Ok(())
    }
    /// GT-local fixups of `gt` after its tile's GGTT is in place: rebase context images and the
    /// HWSP, restore CCS on the primary GT. Called once per recovery run of the GT, also when the
    /// GGTT did not move (the GuC still waits for the fixups to be declared done).
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        let _ = gt;
        Ok(())
    }
    /// Re-arms `gt`: interrupts, the command transport, re-emitting pending work.
    fn rearm(&self, gt: GtId) -> Result<(), HookError> {
        let _ = gt;
        Ok(())
    }
    /// Unpauses submission on `gt` once the GuC accepted RESFIX_DONE.
    fn kickstart(&self, gt: GtId) {
        let _ = gt;
    }
    /// The pass failed with `error`; undo what [`shutdown`](RecoveryHooks::shutdown) began.
    fn abort(&self, error: &RecoveryError) {
        let _ = error;
    }
    /// The device has just been wedged because of `error` (called exactly once).
    fn wedged(&self, error: &RecoveryError) {
        let _ = error;
    }
    /// A debug hold point (the kernel's "resfix stoppers"); tests block or inject here.
    fn hold(&self, point: HoldPoint, gt: GtId) {
        let _ = (point, gt);
    }
}

/// Hooks that do nothing: for embedders whose GGTT users are not moved by a migration.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoHooks;

impl RecoveryHooks for NoHooks {}

/// How the VF handles migrations. [`Default`] is kernel 7.0's behaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct RecoveryConfig {
    /// When the worker is queued: on any GT's report (default), or when every GT has reported
    /// (the seed).
    pub start: StartPolicy,
    /// Opt in to the seed's legacy recovery for GTs whose VF ABI is below 1.27 (no RESFIX_START,
    /// RESFIX_DONE without a marker, skipped when another recovery is imminent). Off by default:
    /// as in kernel 7.0, migration without markers is then unsupported
    /// ([`PassOutcome::Unsupported`], counted, never a wedge).
    pub legacy: bool,
    /// The kernel's `needs_shared_vf_gt_wq` (Panther Lake): a tile's media GT does not start its
    /// recovery while the primary GT's recovery is pending (the primary GT restores CCS first).
    /// Off by default.
    pub media_after_primary: bool,
    /// How many times in a row one GT may be re-queued by a `VF_MIGRATED` reply without a new
    /// `SW_INT_0` from that GT in between, before the recovery gives up and wedges with
    /// [`RecoveryError::RequeueLimit`]. Default [`RecoveryConfig::DEFAULT_MAX_REQUEUES`];
    /// `u32::MAX` is "no bound" (kernel 7.0 has none).
    ///
    /// A real second migration also raises `SW_INT_0`, which starts the count again, so the
    /// bound only ends a loop in which the GuC refuses every RESFIX_START or RESFIX_DONE with
    /// `VF_MIGRATED` and nothing else happens: a broken GuC or marker path, which would
    /// otherwise keep the VF blocked and the worker busy for ever with no error.
    pub max_requeues: u32,
    /// Opt in to migration with GuC interrupts from the interrupt register
    /// ([`Vf::handle_guc_interrupt`]) for GTs without a memirq page: parts before graphics IP
    /// 12.50, or an embedder that delivers SW_INT_0 its own way. Off by default: kernel 7.0
    /// refuses VF migration without memirq, and a migration of such a GT is then
    /// [`PassOutcome::Unsupported`] ([`Unsupported::NoMemirq`]).
    pub mmio_irq: bool,
    /// Overlap the GTs' mailbox exchanges (split phase): a pass posts RESFIX_START on every GT
    /// it recovers before it waits for any reply, then polls them all in one loop, each GT its
    /// own state machine: the moment a GT's reply is in, that GT goes on (its re-query, each
    /// key in the kernel's order, one request at a time per GT; then its fixups, and its
    /// RESFIX_DONE posted), whatever the other GTs wait for. Between rounds of polls the pass
    /// takes in every GT reported since it began ([`StartPolicy::AnyGt`]; under
    /// [`StartPolicy::AllGts`] it holds every GT already) and starts its sequence at once
    /// beside the others, as kernel 7.0's worker for that GT would start at its interrupt (a GT
    /// whose migration is unsupported is left to the next pass, which refuses it). One worker
    /// so keeps every GuC busy, and a pass over several GTs costs the blackout of about one, as
    /// kernel 7.0's one worker per GT does, also when the interrupts come at different times;
    /// each GT still sends exactly the requests of the one-at-a-time pass. With
    /// [`media_after_primary`](RecoveryConfig::media_after_primary), a media GT whose primary GT
    /// is in the same pass starts once the primary's RESFIX_DONE was accepted, in the same pass.
    /// On by default, since 0.1 (kernel 7.0's blackout with one worker); `false` recovers the
    /// GTs one after the other, each GT's hooks from `shutdown` to `kickstart` before the next
    /// GT's (with split phase each GT's hooks keep their order, but the GTs' steps interleave
    /// in any order, a joining GT's `shutdown` possibly after another GT's `kickstart`, as
    /// kernel 7.0's per-GT workers may run them; see [`RecoveryHooks`]). The waits of a pass share one time base: the
    /// worker relaxes once per round of polls, through the device of the first GT still
    /// waiting, so the GTs' devices should read one clock (as on hardware, one CPU; with the
    /// mock, share a `mock::MockClock`). A pass that stops early (teardown, a failure that
    /// wedges) does not wait for the other GTs' requests still in flight: nothing is sent on
    /// the mailbox after it, and a later request overwrites them, as after any abandoned one.
    pub split_phase: bool,
}

impl RecoveryConfig {
    /// The default of [`max_requeues`](RecoveryConfig::max_requeues): 8. A VM is migrated at most
    /// a few times within one recovery, and each real migration resets the count with its
    /// interrupt; 8 re-queues without an interrupt cost a few milliseconds of mailbox time at the
    /// GuC's real turnaround, and then the embedder learns of the loop.
    pub const DEFAULT_MAX_REQUEUES: u32 = 8;

    /// Kernel 7.0's behaviour: any-GT start, markers and memirq required, no media ordering,
    /// the GTs' recoveries overlapped as its per-GT workers overlap them
    /// ([`split_phase`](RecoveryConfig::split_phase)); plus the re-queue bound (kernel 7.0 has
    /// none, see [`max_requeues`](RecoveryConfig::max_requeues)).
    pub const KERNEL: RecoveryConfig = RecoveryConfig {
        start: StartPolicy::AnyGt,
        legacy: false,
        media_after_primary: false,
        max_requeues: RecoveryConfig::DEFAULT_MAX_REQUEUES,
        mmio_irq: false,
        split_phase: true,
    };

    /// The default: [`KERNEL`](RecoveryConfig::KERNEL). The struct is `#[non_exhaustive]`, so
    /// that a new setting is not a breaking change: start from this and assign the fields to
    /// change, also in a `const`:
    ///
    /// ```
    /// use xe_sriov_vf::{RecoveryConfig, StartPolicy};
    ///
    /// const SEED_LIKE: RecoveryConfig = {
    ///     let mut c = RecoveryConfig::DEFAULT;
    ///     c.start = StartPolicy::AllGts;
    ///     c.legacy = true;
    ///     c
    /// };
    /// assert!(!SEED_LIKE.media_after_primary);
    /// ```
    pub const DEFAULT: RecoveryConfig = RecoveryConfig::KERNEL;

    /// `self` with [`mmio_irq`](RecoveryConfig::mmio_irq) on.
    #[must_use]
    pub const fn with_mmio_irq(self) -> RecoveryConfig {
        RecoveryConfig {
            mmio_irq: true,
            ..self
        }
    }

    /// `self` with [`split_phase`](RecoveryConfig::split_phase) set to `on` (it is on by
    /// default; `false` recovers the GTs one after the other).
    #[must_use]
    pub const fn with_split_phase(self, on: bool) -> RecoveryConfig {
        RecoveryConfig {
            split_phase: on,
            ..self
        }
    }
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig::KERNEL
    }
}

/// Why migration is not supported for a GT (kernel 7.0's `xe_sriov_vf_migration_supported`).
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
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
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

/// What one call of [`Vf::run_worker`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    /// Migration was refused, as kernel 7.0 refuses it: a GT's VF ABI has no markers and
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

struct Counters {
    recoveries: AtomicUsize,
    completed: AtomicUsize,
    deferred: AtomicUsize,
    requeued: AtomicUsize,
    failed: AtomicUsize,
    unsupported: AtomicUsize,
    fixups_completed: AtomicUsize,
    ggtt_moves: AtomicUsize,
}

/// Releases the runtime-PM reference when dropped, so every path out of a pass releases it.
struct PmGuard<'a, H: RecoveryHooks>(&'a H);

impl<'a, H: RecoveryHooks> PmGuard<'a, H> {
    fn take(hooks: &'a H) -> Self {
        hooks.pm_get();
        PmGuard(hooks)
    }
}

impl<H: RecoveryHooks> Drop for PmGuard<'_, H> {
    fn drop(&mut self) {
        self.0.pm_put();
    }
}

/// The state only the worker and bootstrap touch, under one lock.
struct Inner<D, const N: usize> {
    gts: [Gt<D>; N],
    /// Per tile (index = [`TileId`]; only `0..num_tiles` used).
    tiles: [TileGgtt; N],
    /// Per GT: re-queues in a row without a new interrupt, and the GT's interrupt count at the
    /// last re-queue.
    requeue_streak: [(u32, usize); N],
    /// Re-queries sent so far (wrapping is out of reach: 2^64 queries).
    queries: u64,
    /// Per GT: the number ([`Inner::queries`]) of its last re-query, taken as it was sent.
    query_stamp: [u64; N],
    /// Per tile: the number of the re-query whose GGTT_START is the tile's `reported` base (0:
    /// the bootstrap's). A re-query sent earlier than that one, answered later (split phase:
    /// the GTs' queries overlap), holds an older GGTT_START and must not move the GGTT back.
    tile_stamp: [u64; N],
}

impl<D, const N: usize> Inner<D, N> {
    /// GT `i` sends its re-query now: number it.
    fn stamp_query(&mut self, i: usize) {
        self.queries = self.queries.wrapping_add(1);
        self.query_stamp[i] = self.queries;
    }
}

/// How one GT's run in a pass ended, when it did not end the pass.
#[derive(Clone, Copy)]
enum GtRun {
    Recovered,
    /// VF_MIGRATED on this step.
    Requeued(Step),
    Deferred,
    Postponed,
}

/// Where one GT is in a split-phase pass ([`RecoveryConfig::split_phase`]); the operation of
/// `Start`, `Query` and `Done` is in flight.
#[derive(Clone, Copy)]
enum Stage {
    /// Waits for its tile's primary GT ([`RecoveryConfig::media_after_primary`]).
    Postponed,
    /// RESFIX_START posted.
    Start,
    /// RESFIX_START accepted in this round of polls, not yet published to the coordinator.
    Started,
    /// The configuration re-query posted.
    Query,
    /// RESFIX_DONE posted.
    Done,
    /// The GT's run in this pass is over.
    Ended(GtRun),
}

/// The per-GT state of a split-phase pass (index = [`GtId`]; only the pass's GTs are used).
struct SplitPass<const N: usize> {
    stages: [Stage; N],
    markers: [Option<Marker>; N],
    ops: [Option<Result<GtOp, VfError>>; N],
}

impl<const N: usize> SplitPass<N> {
    fn new() -> Self {
        SplitPass {
            stages: [Stage::Postponed; N],
            markers: [None; N],
            ops: core::array::from_fn(|_| None),
        }
    }

    /// How GT `id`'s run in this pass ended; a GT that never began is postponed.
    fn run(&self, id: GtId) -> GtRun {
        match self.stages[usize::from(id.0)] {
            Stage::Ended(run) => run,
            _ => GtRun::Postponed,
        }
    }
}

/// A pass ends early with this outcome (failure or teardown).
type PassResult<T> = Result<T, PassOutcome>;

/// Hands the reason a pass stops, for `?`.
fn gt_error(gt: GtId, step: Step, error: VfError) -> PassOutcome {
    PassOutcome::Failed(RecoveryError::Gt { gt, step, error })
}

/// A GuC exchange's outcome at `step` of GT `gt`'s recovery: the value; a VF_MIGRATED
/// reply re-queues the GT (`Ok(Err(run))`); any other error fails the pass.
fn step<T>(gt: GtId, step: Step, result: Result<T, VfError>) -> PassResult<Result<T, GtRun>> {
    match result {
        Ok(value) => Ok(Ok(value)),
        Err(e) if e.is_vf_migrated() => Ok(Err(GtRun::Requeued(step))),
        Err(e) => Err(gt_error(gt, step, e)),
    }
}

/// What the VF last learned of one GT, as [`Vf::gt_view`] shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub struct GtView {
    /// Where the GT sits.
    pub info: GtInfo,
    /// The VF ABI version negotiated at bootstrap.
    pub version: Option<Version>,
    /// The configuration of the last successful query (bootstrap or a recovery's re-query).
    pub config: Option<VfConfig>,
}

impl GtView {
    /// Whether the negotiated VF ABI has RESFIX markers (1.27+), as [`Gt::supports_markers`].
    #[must_use]
    pub fn supports_markers(&self) -> bool {
        self.version
            .is_some_and(|v| v.at_least(crate::gt::MARKERS_ABI.major, crate::gt::MARKERS_ABI.minor))
    }
}

/// The copies [`Vf::gt_view`] and [`Vf::tile_ggtt`] read: updated by the worker at each step,
/// under a lock held only for the copy (never across a wait or a hook).
struct Views<const N: usize> {
    gts: [GtView; N],
    tiles: [TileGgtt; N],
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

/// One VF: `N` GTs over one or more tiles, the coordinator, the work queue `Q` and the hooks `H`.
///
/// Share it between the interrupt handler and the worker by reference (`&'static`, or an
/// `Arc` with `std`). The GTs and the tiles' GGTT state belong to the worker while a pass runs
/// (behind a lock that nobody but the worker ever waits for: [`Vf::with_gt`] answers
/// [`GtAccessError::Busy`] at once instead). What the embedder reads ([`Vf::gt_view`],
/// [`Vf::tile_ggtt`]) are copies the worker publishes as it goes, readable from any thread and
/// from every hook. The interrupt entry touches neither.
///
/// | call | interrupt context | thread context | from a hook |
/// |---|---|---|---|
/// | [`Vf::migrated`], [`Vf::handle_guc_interrupt`], [`Vf::recovery_pending`], [`Vf::ggtt_valid`], [`Vf::awaiting_reports`], [`Vf::stats`] | yes (wait-free) | yes | yes |
/// | [`Vf::gt_view`], [`Vf::tile_ggtt`] | no (a short lock) | yes | yes |
/// | [`Vf::try_gt_view`], [`Vf::try_tile_ggtt`] | yes (never waits: `Busy` while a copy is being published) | yes | yes |
/// | [`Vf::with_gt`] | no | yes (never waits: `Busy` during a pass) | answers `Busy` |
/// | [`Vf::wait_ggtt_valid`] | no | yes | no: the GGTT becomes valid only after the hook returns |
/// | [`Vf::run_worker`], [`Vf::bootstrap`], [`Vf::start_now`], [`Vf::teardown`] | no | yes | no |
///
/// A one-GT VF on a part without memirq (the GuC interrupt register; the crate-level example
/// shows the memirq path): built at run time, migrated, recovered by one worker pass. The hooks
/// are the embedder's GGTT fixup, here counting the moves.
///
/// ```
/// # #[cfg(feature = "mock")] {
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use xe_sriov_vf::mock::{MockGuc, Provisioning, VfState};
/// use xe_sriov_vf::{
///     GgttMove, Gt, GtId, GtInfo, GtKind, HookError, MailboxConfig, PassOutcome, PollingQueue,
///     RecoveryConfig, RecoveryHooks, TileId, Version, Vf,
/// };
///
/// #[derive(Default)]
/// struct Fixups {
///     shifted: AtomicU64,
/// }
///
/// impl RecoveryHooks for Fixups {
///     fn ggtt_fixup(&self, _tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
///         // Move every GGTT node of the tile by the shift (once per change of base).
///         self.shifted.fetch_add(ggtt.new - ggtt.old, Ordering::Relaxed);
///         Ok(())
///     }
/// }
///
/// let guc = MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::DEFAULT);
/// let gt = Gt::new(&guc, GtInfo::new(GtKind::Primary, false, 1255), MailboxConfig::DEFAULT);
/// // Graphics IP 12.55 without memirq: opt in to the register path kernel 7.0 refuses.
/// let config = RecoveryConfig::DEFAULT.with_mmio_irq();
/// let vf = Vf::new([gt], Fixups::default(), PollingQueue::new(), config).unwrap();
/// vf.bootstrap().unwrap();
///
/// let before = vf.tile_ggtt(TileId(0)).unwrap().applied;
/// guc.migrate(before + 0x0100_0000);
/// // The GuC interrupt handler: read the vector, hand it over (wait-free).
/// let _ = vf.handle_guc_interrupt(GtId(0), guc.take_interrupts());
/// // The worker, in thread context.
/// while vf.queue().take() {
///     assert!(matches!(vf.run_worker(), PassOutcome::Recovered(_)));
/// }
/// assert_eq!(guc.state(), VfState::Running);
/// assert_eq!(vf.hooks().shifted.load(Ordering::Relaxed), 0x0100_0000);
/// assert!(vf.ggtt_valid(GtId(0)));
/// # }
/// ```
pub struct Vf<D, H, Q, const N: usize, M = NoMemirq> {
    coordinator: Coordinator,
    topology: Topology<N>,
    inner: spin::Mutex<Inner<D, N>>,
    views: spin::Mutex<Views<N>>,
    hooks: H,
    queue: Q,
    config: RecoveryConfig,
    signals: [AtomicUsize; N],
    counters: Counters,
    memirq: M,
    /// A pass found the GTs held and left it to the holder to queue it again.
    busy_refused: AtomicBool,
}

impl<D, H, Q, const N: usize, M> fmt::Debug for Vf<D, H, Q, N, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vf")
            .field("gts", &N)
            .field("tiles", &self.topology.num_tiles())
            .field("config", &self.config)
            .field("coordinator", &self.coordinator)
            .finish_non_exhaustive()
    }
}

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize> Vf<D, H, Q, N> {
    /// A VF over `gts` (index = [`GtId`]) whose GuC interrupts come from a register (no memirq;
    /// see [`Vf::with_memirq`]); each GT's [`GtInfo`] names its tile and kind. Fails when `N` is
    /// 0 or above [`MAX_GTS`](crate::coordinator::MAX_GTS), or when the GTs do not form tiles
    /// `0..T` each with one primary GT and at most one media GT.
    pub fn new(
        gts: [Gt<D>; N],
        hooks: H,
        queue: Q,
        config: RecoveryConfig,
    ) -> Result<Self, TopologyError> {
        Vf::with_memirq(gts, hooks, queue, config, NoMemirq)
    }
}

/// Defines `Vf::new_static` and `Vf::assemble`, `const` where the atomics allow it (not under
/// loom).
macro_rules! define_vf_new {
    ($($const:ident)?) => {
        impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet>
            Vf<D, H, Q, N, M>
        {
            /// [`Vf::with_memirq`] as a `const fn`, for a VF in a `static` (no `Once`, no "not
            /// yet initialised" branch in the interrupt handler). The GT count is checked when
            /// the program is compiled (1 to [`MAX_GTS`](crate::coordinator::MAX_GTS)); a
            /// topology error panics, which in a `static`'s initialiser is a compile error that
            /// names it. Use [`Vf::with_memirq`] where the GTs are only known at run time.
            ///
            /// ```
            /// # #[cfg(feature = "mock")] {
            /// use xe_sriov_vf::mock::{MockGuc, MockMemirqPage, Provisioning};
            /// use xe_sriov_vf::{
            ///     Gt, GtId, GtInfo, GtKind, MailboxConfig, Memirq, NoHooks, PollingQueue,
            ///     RecoveryConfig, Version, Vf,
            /// };
            ///
            /// static GUCS: [MockGuc; 2] = [
            ///     MockGuc::new(GtKind::Primary, Version::new(1, 27), Provisioning::DEFAULT),
            ///     MockGuc::new(GtKind::Media, Version::new(1, 27), Provisioning::DEFAULT),
            /// ];
            /// static PAGE: MockMemirqPage = MockMemirqPage::new();
            /// const PAGE_GGTT: u64 = 0x0030_0000;
            ///
            /// type MyVf = Vf<&'static MockGuc, NoHooks, PollingQueue, 2, Memirq<&'static MockMemirqPage>>;
            /// static VF: MyVf = Vf::new_static(
            ///     [
            ///         Gt::new(&GUCS[0], GtInfo::new(GtKind::Primary, false, 2004), MailboxConfig::DEFAULT),
            ///         Gt::new(&GUCS[1], GtInfo::new(GtKind::Media, false, 2004), MailboxConfig::DEFAULT),
            ///     ],
            ///     NoHooks,
            ///     PollingQueue::new(),
            ///     RecoveryConfig::DEFAULT,
            ///     Memirq::new(&PAGE, PAGE_GGTT, GtId(0), Some(GtId(1))),
            /// );
            ///
            /// // The interrupt handler needs no "initialised yet?" check:
            /// fn memirq_irq() {
            ///     let _ = VF.handle_memirq();
            /// }
            ///
            /// GUCS[0].attach_memirq(&PAGE, PAGE_GGTT);
            /// GUCS[1].attach_memirq(&PAGE, PAGE_GGTT);
            /// VF.bootstrap().unwrap();
            /// VF.register_memirq().unwrap();
            /// GUCS[0].migrate(0x0080_0000);
            /// GUCS[1].migrate(0x0080_0000);
            /// memirq_irq();
            /// while VF.queue().take() {
            ///     let _ = VF.run_worker();
            /// }
            /// assert!(VF.ggtt_valid(GtId(0)) && VF.ggtt_valid(GtId(1)));
            /// assert_eq!(VF.tile_ggtt(xe_sriov_vf::TileId(0)).unwrap().applied, 0x0080_0000);
            /// # }
            /// ```
            ///
            /// Where the BAR is only known at run time (the kernel maps it when it probes the
            /// device), the VF cannot be built in a `const`: build it then with [`Vf::new`] or
            /// [`Vf::with_memirq`] and publish it once (a `spin::Once` with spin's `once` feature
            /// in a `no_std` kernel; `std::sync::OnceLock` on a host, as here); the interrupt
            /// handler then needs its "not yet" branch:
            ///
            /// ```no_run
            /// use xe_sriov_vf::{
            ///     Clock, Gt, GtId, GtInfo, GtKind, GucIntr, Instant, MailboxConfig, MmioBar,
            ///     NoHooks, PollingQueue, RecoveryConfig, Vf,
            /// };
            /// # fn monotonic_ns() -> u64 { 0 }
            ///
            /// struct KernelClock;
            /// impl Clock for KernelClock {
            ///     fn now(&self) -> Instant {
            ///         Instant(monotonic_ns())
            ///     }
            /// }
            ///
            /// type BarVf = Vf<MmioBar<KernelClock>, NoHooks, PollingQueue, 1>;
            /// static VF: std::sync::OnceLock<BarVf> = std::sync::OnceLock::new();
            ///
            /// fn probe(bar0: *mut u8, len: usize) {
            ///     // SAFETY: `bar0..bar0 + len` is the VF's BAR 0, mapped uncached for good.
            ///     let bar = unsafe { MmioBar::new(bar0, len, KernelClock) }.expect("BAR 0");
            ///     let info = GtInfo::new(GtKind::Primary, true, 2001);
            ///     let gt = Gt::new(bar, info, MailboxConfig::DEFAULT);
            ///     let config = RecoveryConfig::DEFAULT.with_mmio_irq();
            ///     let vf = VF.get_or_init(|| {
            ///         Vf::new([gt], NoHooks, PollingQueue::new(), config).expect("one GT")
            ///     });
            ///     vf.bootstrap().expect("bootstrap");
            /// }
            ///
            /// fn guc_irq(vector: GucIntr) {
            ///     if let Some(vf) = VF.get() {
            ///         let _ = vf.handle_guc_interrupt(GtId(0), vector);
            ///     }
            /// }
            /// ```
            ///
            /// A topology that is not one (two primary GTs on tile 0) does not compile:
            ///
            /// ```compile_fail,E0080
            /// # use xe_sriov_vf::{Device, Instant, Reg};
            /// # struct Bar;
            /// # impl Device for Bar {
            /// #     fn read32(&self, _: Reg) -> u32 { 0 }
            /// #     fn write32(&self, _: Reg, _: u32) {}
            /// #     fn now(&self) -> Instant { Instant(0) }
            /// # }
            /// # static BAR: Bar = Bar;
            /// use xe_sriov_vf::{Gt, GtInfo, GtKind, MailboxConfig, NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf};
            /// const PRIMARY: GtInfo = GtInfo::new(GtKind::Primary, false, 2004);
            /// static VF: Vf<&'static Bar, NoHooks, PollingQueue, 2> = Vf::new_static(
            ///     [Gt::new(&BAR, PRIMARY, MailboxConfig::DEFAULT), Gt::new(&BAR, PRIMARY, MailboxConfig::DEFAULT)],
            ///     NoHooks, PollingQueue::new(), RecoveryConfig::DEFAULT, NoMemirq,
            /// );
            /// ```
            ///
            /// Nor does a VF without GTs:
            ///
            /// ```compile_fail,E0080
            /// # use xe_sriov_vf::{Device, Instant, Reg};
            /// # struct Bar;
            /// # impl Device for Bar {
            /// #     fn read32(&self, _: Reg) -> u32 { 0 }
            /// #     fn write32(&self, _: Reg, _: u32) {}
            /// #     fn now(&self) -> Instant { Instant(0) }
            /// # }
            /// use xe_sriov_vf::{NoHooks, NoMemirq, PollingQueue, RecoveryConfig, Vf};
            /// static VF: Vf<&'static Bar, NoHooks, PollingQueue, 0> =
            ///     Vf::new_static([], NoHooks, PollingQueue::new(), RecoveryConfig::DEFAULT, NoMemirq);
            /// ```
            pub $($const)? fn new_static(
                gts: [Gt<D>; N],
                hooks: H,
                queue: Q,
                config: RecoveryConfig,
                memirq: M,
            ) -> Self {
                const {
                    assert!(
                        N >= 1 && N <= crate::coordinator::MAX_GTS,
                        "a VF has 1 to MAX_GTS GTs"
                    )
                };
                if let Err(e) = Self::topology_of(&gts) {
                    match e {
                        TopologyError::MissingTile { .. } => {
                            panic!("VF topology: a tile id below the highest has no GT")
                        }
                        TopologyError::NoPrimaryGt { .. } => {
                            panic!("VF topology: a tile has a media GT but no primary GT")
                        }
                        TopologyError::DuplicateGt { .. } => {
                            panic!("VF topology: a tile has two GTs of the same kind")
                        }
                        _ => panic!("VF topology: invalid"),
                    }
                }
                Self::assemble(gts, hooks, queue, config, memirq)
            }

            /// The VF over `gts`, whose topology the caller checked.
            $($const)? fn assemble(
                gts: [Gt<D>; N],
                hooks: H,
                queue: Q,
                config: RecoveryConfig,
                memirq: M,
            ) -> Self {
                let topology = match Self::topology_of(&gts) {
                    Ok(t) => t,
                    Err(_) => panic!("assemble: topology not checked"),
                };
                let coordinator = match Coordinator::new(N, config.start) {
                    Ok(c) => c,
                    // N is in range: the topology check passed.
                    Err(_) => panic!("assemble: GT count not checked"),
                };
                let mut views = [GtView {
                    info: GtInfo::new(GtKind::Primary, false, 0),
                    version: None,
                    config: None,
                }; N];
                let mut n = 0;
                while n < N {
                    views[n].info = *gts[n].info();
                    n += 1;
                }
                Vf {
                    coordinator,
                    topology,
                    views: spin::Mutex::new(Views {
                        gts: views,
                        tiles: [TileGgtt::EMPTY; N],
                    }),
                    inner: spin::Mutex::new(Inner {
                        gts,
                        tiles: [TileGgtt::EMPTY; N],
                        requeue_streak: [(0, 0); N],
                        queries: 0,
                        query_stamp: [0; N],
                        tile_stamp: [0; N],
                    }),
                    hooks,
                    queue,
                    config,
                    signals: zeroed_counters(),
                    counters: Counters {
                        recoveries: AtomicUsize::new(0),
                        completed: AtomicUsize::new(0),
                        deferred: AtomicUsize::new(0),
                        requeued: AtomicUsize::new(0),
                        failed: AtomicUsize::new(0),
                        unsupported: AtomicUsize::new(0),
                        fixups_completed: AtomicUsize::new(0),
                        ggtt_moves: AtomicUsize::new(0),
                    },
                    memirq,
                    busy_refused: AtomicBool::new(false),
                }
            }
        }
    };
}

/// `N` counters at 0.
#[cfg(not(loom))]
const fn zeroed_counters<const N: usize>() -> [AtomicUsize; N] {
    [const { AtomicUsize::new(0) }; N]
}
#[cfg(loom)]
fn zeroed_counters<const N: usize>() -> [AtomicUsize; N] {
    core::array::from_fn(|_| AtomicUsize::new(0))
}

#[cfg(not(loom))]
define_vf_new!(const);
#[cfg(loom)]
define_vf_new!();

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize, M: MemirqSet> Vf<D, H, Q, N, M> {
    /// A VF whose GuC interrupts arrive in memirq pages (`memirq`: one [`Memirq`](crate::memirq::Memirq)
    /// for a one-tile VF, an array of them, one per tile, otherwise): every VF that can migrate.
    /// [`recovery_pending`](Vf::recovery_pending) and [`ggtt_valid`](Vf::ggtt_valid) then also
    /// read each GT's SW_INT_0 byte, and [`handle_memirq`](Vf::handle_memirq) is the interrupt
    /// handler. Fails as [`Vf::new`]; [`Vf::new_static`] is the `const` form for a `static`.
    pub fn with_memirq(
        gts: [Gt<D>; N],
        hooks: H,
        queue: Q,
        config: RecoveryConfig,
        memirq: M,
    ) -> Result<Self, TopologyError> {
        Self::topology_of(&gts)?;
        Ok(Self::assemble(gts, hooks, queue, config, memirq))
    }

    /// The GTs' topology, checked (see [`Topology::new`]).
    const fn topology_of(gts: &[Gt<D>; N]) -> Result<Topology<N>, TopologyError> {
        let mut tiles = [(crate::tile::TileId(0), false); N];
        let mut n = 0;
        while n < N {
            let info = gts[n].info();
            tiles[n] = (info.tile, matches!(info.kind, GtKind::Primary));
            n += 1;
        }
        Topology::new(tiles)
    }

    /// Registers the memirq pages with every GT's GuC (two HOST2GUC_SELF_CFG each, see
    /// [`Gt::register_memirq`]), after [`bootstrap`](Vf::bootstrap) and before CTB is enabled.
    /// A GT without a page in `M` is skipped. Until this succeeded no GuC interrupt reaches a
    /// memirq VF: a migration would leave it blocked with nothing in the crate running.
    pub fn register_memirq(&self) -> Result<(), BootstrapError> {
        let result = self.register_memirq_locked();
        self.requeue_refused_pass();
        result
    }

    fn register_memirq_locked(&self) -> Result<(), BootstrapError> {
        let mut inner = self.inner.try_lock().ok_or(BootstrapError::Busy)?;
        // All or nothing: every GT on the unit of its kind, or (no memirq) none at all.
        let any = (0..N).any(|n| self.memirq.registration(GtId(n as u8)).is_some());
        for (n, gt) in inner.gts.iter().enumerate() {
            let id = GtId(n as u8);
            let unit = GucUnit::for_gt(gt.info().kind);
            let fits = match self.memirq.registration(id) {
                // The page address the source byte implies must also give the status vector.
                Some((source, status)) => {
                    source
                        .checked_sub(unit.source_offset() as u64)
                        .and_then(|page| unit.status_addr(page))
                        == Some(status)
                }
                None => !any,
            };
            if !fits {
                return Err(BootstrapError::MemirqMismatch { gt: id });
            }
        }
        for (i, gt) in inner.gts.iter_mut().enumerate() {
            let id = GtId(i as u8);
            if let Some((source, status)) = self.memirq.registration(id) {
                gt.register_memirq(source, status)
                    .map_err(|error| BootstrapError::Gt { gt: id, error })?;
                debug!(
                    "GT{}: memirq registered (source {:#x}, status {:#x})",
                    i, source, status
                );
            }
        }
        Ok(())
    }

    /// The memirq pages.
    pub const fn memirq(&self) -> &M {
        &self.memirq
    }

    /// The interrupt handler of the VF's memirq pages (the tiles' MSI): for each GuC whose
    /// SW_INT_0 byte is set, calls [`migrated`](Vf::migrated) and clears the byte after it
    /// returned; reports GUC2HOST for the embedder's CT path. Wait-free; safe in a hard
    /// interrupt handler. See [`crate::memirq`].
    pub fn handle_memirq(&self) -> MemirqReport {
        self.memirq.handle(&mut |gt| self.migrated(gt))
    }

    /// Bootstraps every GT (VF_RESET, handshake), queries its configuration and records each
    /// tile's GGTT (both GTs of a tile must agree). Call once, before interrupts are enabled; the
    /// embedder's GGTT users are taken to be at the bootstrap base.
    pub fn bootstrap(&self) -> Result<(), BootstrapError> {
        let result = self.bootstrap_locked();
        self.requeue_refused_pass();
        result
    }

    fn bootstrap_locked(&self) -> Result<(), BootstrapError> {
        let mut inner = self.inner.try_lock().ok_or(BootstrapError::Busy)?;
        let inner = &mut *inner;
        let mut configs = [(0u64, 0u64); N];
        for (i, gt) in inner.gts.iter_mut().enumerate() {
            let id = GtId(i as u8);
            let result = gt.bootstrap().and_then(|_| gt.query_config());
            let config = result.map_err(|error| BootstrapError::Gt { gt: id, error })?;
            configs[i] = (config.ggtt_start, config.ggtt_size);
            info!(
                "GT{}: VF ABI {}, GGTT {:#x}+{:#x}",
                i,
                gt.version().unwrap_or_default(),
                config.ggtt_start,
                config.ggtt_size
            );
        }
        for t in 0..self.topology.num_tiles() {
            let tile = TileId(t as u8);
            let Some(primary) = self.topology.primary_of(tile) else {
                continue;
            };
            let primary_ggtt = configs[usize::from(primary.0)];
            for gt in self.topology.gts_of(tile) {
                let ggtt = configs[usize::from(gt.0)];
                if ggtt != primary_ggtt {
                    error!("tile {}: GTs disagree on the GGTT", t);
                    return Err(BootstrapError::GgttMismatch {
                        tile,
                        primary,
                        primary_ggtt,
                        media: gt,
                        media_ggtt: ggtt,
                    });
                }
            }
            inner.tiles[t] = TileGgtt {
                size: primary_ggtt.1,
                applied: primary_ggtt.0,
                reported: primary_ggtt.0,
                moves: 0,
            };
            // Newer than every re-query sent before this bootstrap.
            inner.tile_stamp[t] = inner.queries;
        }
        let mut views = self.views.lock();
        for (i, gt) in inner.gts.iter().enumerate() {
            views.gts[i].version = gt.version();
            views.gts[i].config = gt.config().copied();
        }
        views.tiles = inner.tiles;
        Ok(())
    }

    /// Publishes GT `i`'s configuration and its tile's GGTT state for the readers.
    fn publish(&self, inner: &Inner<D, N>, i: usize, t: usize) {
        let mut views = self.views.lock();
        views.gts[i].config = inner.gts[i].config().copied();
        views.tiles[t] = inner.tiles[t];
    }

    /// Runs `f` on GT `gt` with exclusive access (for example to send a request of the
    /// embedder's own through its mailbox). Never waits: while a recovery pass (or the bootstrap,
    /// or another `with_gt`) holds the GTs it answers [`GtAccessError::Busy`] at once, so a task
    /// cannot spin behind a worker that yielded; from a hook it is always `Busy`. To read what the
    /// VF knows of a GT, [`gt_view`](Vf::gt_view) never fails. `f` runs with the GTs held: a pass
    /// that begins meanwhile answers [`PassOutcome::Busy`] and is queued again when `f` returned.
    pub fn with_gt<R>(
        &self,
        gt: GtId,
        f: impl FnOnce(&mut Gt<D>) -> R,
    ) -> Result<R, GtAccessError> {
        if usize::from(gt.0) >= N {
            return Err(GtAccessError::UnknownGt);
        }
        let mut inner = self.inner.try_lock().ok_or(GtAccessError::Busy)?;
        let r = f(&mut inner.gts[usize::from(gt.0)]);
        drop(inner);
        self.requeue_refused_pass();
        Ok(r)
    }

    /// A pass found the GTs held ([`PassOutcome::Busy`]) while we held them: queue it again now
    /// that we let go.
    fn requeue_refused_pass(&self) {
        // The holder's half of a store-buffering handshake (the worker raises the flag, then
        // looks at the lock again; we let go of the lock, then look at the flag): a full fence
        // between each side's write and read, so that at least one of the two sees the other's
        // write. The unlock is only a Release store, so the flag's SeqCst alone would not do.
        fence(Ordering::SeqCst);
        if self.busy_refused.swap(false, Ordering::SeqCst) {
            let _ = self.coordinator.start_now(&self.queue);
        }
    }

    /// What the VF last learned of GT `gt`: its place, VF ABI version and the configuration of
    /// the last successful query (published by the worker right after each re-query). `None`
    /// for an unknown GT. Thread context, and from any hook (the lock behind it is held only
    /// to copy, never across a wait or a hook); not from interrupt context.
    pub fn gt_view(&self, gt: GtId) -> Option<GtView> {
        self.views.lock().gts.get(usize::from(gt.0)).copied()
    }

    /// The GGTT of `tile` as the VF knows it: where the embedder's GGTT users are (`applied`) and
    /// where the GuC last said the GGTT is (`reported`), as published by the worker (`applied`
    /// right after an accepted GGTT fixup). `None` for an unknown tile. Thread context and any
    /// hook, as [`gt_view`](Vf::gt_view).
    pub fn tile_ggtt(&self, tile: TileId) -> Option<TileGgtt> {
        if usize::from(tile.0) >= self.topology.num_tiles() {
            return None;
        }
        Some(self.views.lock().tiles[usize::from(tile.0)])
    }

    /// [`gt_view`](Vf::gt_view) for interrupt context: never waits. If the worker is
    /// publishing a copy right now (on another CPU, or on this one, interrupted), answers
    /// [`GtAccessError::Busy`] at once instead of spinning on a lock that the interrupted code
    /// may hold; [`GtAccessError::UnknownGt`] for an unknown GT. Wait-free.
    pub fn try_gt_view(&self, gt: GtId) -> Result<GtView, GtAccessError> {
        let i = usize::from(gt.0);
        if i >= N {
            return Err(GtAccessError::UnknownGt);
        }
        let views = self.views.try_lock().ok_or(GtAccessError::Busy)?;
        Ok(views.gts[i])
    }

    /// [`tile_ggtt`](Vf::tile_ggtt) for interrupt context, as [`try_gt_view`](Vf::try_gt_view):
    /// [`GtAccessError::Busy`] while a copy is being published, [`GtAccessError::UnknownTile`]
    /// for an unknown tile. Wait-free.
    pub fn try_tile_ggtt(&self, tile: TileId) -> Result<TileGgtt, GtAccessError> {
        let t = usize::from(tile.0);
        if t >= self.topology.num_tiles() {
            return Err(GtAccessError::UnknownTile);
        }
        let views = self.views.try_lock().ok_or(GtAccessError::Busy)?;
        Ok(views.tiles[t])
    }

    /// Where the GTs sit.
    pub const fn topology(&self) -> &Topology<N> {
        &self.topology
    }

    /// The interrupt entry for a GuC interrupt vector read on `gt`: acts on `SW_INT_0` and
    /// ignores the rest. Wait-free; safe from interrupt context.
    pub fn handle_guc_interrupt(&self, gt: GtId, intr: GucIntr) -> Signal {
        if intr.contains(GucIntr::SW_INT_0) {
            self.migrated(gt)
        } else {
            Signal::Ignored
        }
    }

    /// The interrupt entry proper: GT `gt` reported a migration. Marks its recovery pending and
    /// its GGTT invalid and queues the worker (at most once). Wait-free: one counter increment
    /// plus the coordinator's bounded few read-modify-writes; no lock, no allocation.
    pub fn migrated(&self, gt: GtId) -> Signal {
        match self.signals.get(usize::from(gt.0)) {
            Some(count) => {
                count.fetch_add(1, Ordering::Relaxed);
                self.coordinator.signal(gt, &self.queue)
            }
            None => Signal::InvalidGt,
        }
    }

    /// One worker pass. Call it from the work queue's context whenever the queue says the work is
    /// due; a call when nothing is due returns [`PassOutcome::NotStarted`] and does nothing.
    pub fn run_worker(&self) -> PassOutcome {
        let Some(gts) = self.coordinator.begin() else {
            return PassOutcome::NotStarted;
        };
        if gts.is_empty() {
            self.coordinator.finish(&self.queue);
            return PassOutcome::Empty;
        }
        // Never wait for the GTs: whoever holds them (a `with_gt` closure) may have yielded.
        // Nor spin on them: the GTs stay queued, and the holder queues the worker when it lets
        // go. One more look after raising the flag catches a holder that let go in between.
        let inner = match self.inner.try_lock() {
            Some(inner) => inner,
            None => {
                self.busy_refused.store(true, Ordering::SeqCst);
                // See `requeue_refused_pass`: our write, a full fence, then our read.
                fence(Ordering::SeqCst);
                match self.inner.try_lock() {
                    Some(inner) => {
                        self.busy_refused.store(false, Ordering::SeqCst);
                        inner
                    }
                    None => {
                        self.coordinator.finish(&self.queue);
                        debug!("GTs busy, pass left to their holder to queue again");
                        return PassOutcome::Busy(gts);
                    }
                }
            }
        };
        self.counters.recoveries.fetch_add(1, Ordering::Relaxed);
        let outcome = {
            // Released after abort and wedged too (the kernel puts it after the abort).
            let _pm = PmGuard::take(&self.hooks);
            let outcome = self.recover(inner, gts).unwrap_or_else(|stop| stop);
            self.account(&outcome);
            outcome
        };
        self.coordinator.finish(&self.queue);
        outcome
    }

    /// Counts and logs a pass's outcome; on failure runs abort and the wedge.
    fn account(&self, outcome: &PassOutcome) {
        let c = &self.counters;
        match outcome {
            PassOutcome::Recovered(_) => {
                c.completed.fetch_add(1, Ordering::Relaxed);
                info!("migration recovery ended");
            }
            PassOutcome::Incomplete(report) => {
                if !report.deferred.is_empty() {
                    c.deferred.fetch_add(1, Ordering::Relaxed);
                }
                if !report.requeued.is_empty() {
                    c.requeued.fetch_add(1, Ordering::Relaxed);
                }
                debug!(
                    "migration recovery continues: requeued {:#x}, deferred {:#x}, postponed {:#x}",
                    report.requeued.bits(),
                    report.deferred.bits(),
                    report.postponed.bits()
                );
            }
            PassOutcome::Unsupported { gt, reason, .. } => {
                c.unsupported.fetch_add(1, Ordering::Relaxed);
                match reason {
                    Unsupported::NoMarkers => {
                        error!("GT{}: migration not supported (VF ABI below 1.27)", gt.0)
                    }
                    Unsupported::NoMemirq => {
                        error!("GT{}: migration not supported (no memirq)", gt.0)
                    }
                }
            }
            PassOutcome::Failed(err) => {
                c.failed.fetch_add(1, Ordering::Relaxed);
                self.hooks.abort(err);
                if self.coordinator.wedge() {
                    error!("migration recovery failed ({}), device wedged", err);
                    self.hooks.wedged(err);
                }
            }
            PassOutcome::Cancelled => debug!("migration recovery cancelled by teardown"),
            PassOutcome::Busy(_) => {}
            PassOutcome::NotStarted | PassOutcome::Empty => {}
        }
    }

    fn recover(
        &self,
        mut inner: spin::MutexGuard<'_, Inner<D, N>>,
        gts: GtSet,
    ) -> PassResult<PassOutcome> {
        debug!("migration recovery in progress, GT mask {:#x}", gts.bits());
        let inner = &mut *inner;

        for id in gts.iter() {
            if let Some(reason) = self.unsupported(inner, id) {
                self.coordinator.refuse(gts);
                return Ok(PassOutcome::Unsupported {
                    gt: id,
                    version: inner.gts[usize::from(id.0)].version(),
                    reason,
                });
            }
        }

        let mut report = PassReport::default();
        let gts = self.run_pass(inner, gts, &mut report)?;
        Ok(if report.recovered == gts {
            PassOutcome::Recovered(gts)
        } else {
            PassOutcome::Incomplete(report)
        })
    }

    /// Why migration is not supported for GT `id`, if it is not (step 1).
    fn unsupported(&self, inner: &Inner<D, N>, id: GtId) -> Option<Unsupported> {
        if !self.config.legacy && !inner.gts[usize::from(id.0)].supports_markers() {
            Some(Unsupported::NoMarkers)
        } else if !self.config.mmio_irq && self.memirq.registration(id).is_none() {
            Some(Unsupported::NoMemirq)
        } else {
            None
        }
    }

    /// Takes one GT's run into the pass's report and hands the GT on where it must go on.
    fn account_run(
        &self,
        inner: &mut Inner<D, N>,
        id: GtId,
        run: GtRun,
        report: &mut PassReport,
    ) -> PassResult<()> {
        let set = GtSet::single(id);
        let i = usize::from(id.0);
        {
            match run {
                GtRun::Recovered => {
                    inner.requeue_streak[i].0 = 0;
                    report.recovered = report.recovered.union(set);
                }
                GtRun::Requeued(step) => {
                    let signals = self.signals[i].load(Ordering::Relaxed);
                    let (streak, seen) = &mut inner.requeue_streak[i];
                    *streak = if *seen == signals {
                        streak.saturating_add(1)
                    } else {
                        1
                    };
                    *seen = signals;
                    if *streak > self.config.max_requeues {
                        return Err(PassOutcome::Failed(RecoveryError::RequeueLimit {
                            gt: id,
                            requeues: *streak,
                            step,
                        }));
                    }
                    report.requeued = report.requeued.union(set);
                    self.coordinator.requeue(set, &self.queue);
                }
                GtRun::Deferred => {
                    report.deferred = report.deferred.union(set);
                    self.coordinator.defer(set, &self.queue);
                }
                GtRun::Postponed => {
                    report.postponed = report.postponed.union(set);
                    self.coordinator.postpone(set, &self.queue);
                }
            }
        }
        Ok(())
    }

    /// Stops the pass if teardown began.
    fn check_teardown(&self) -> PassResult<()> {
        if self.coordinator.is_torn_down() {
            Err(PassOutcome::Cancelled)
        } else {
            Ok(())
        }
    }

    /// Steps 1-3 of a GT's recovery: up to its shutdown. `true`: the media GT waits for its
    /// tile's primary GT (step 2).
    fn prepare_gt(&self, inner: &Inner<D, N>, id: GtId) -> PassResult<bool> {
        self.check_teardown()?;

        // PTL: the media GT waits while the primary GT's recovery is pending.
        if let Some(primary) = self.waits_for_primary(inner, id) {
            debug!("GT{}: waiting for GT{}'s recovery", id.0, primary.0);
            return Ok(true);
        }

        self.hooks.hold(HoldPoint::BeforeStart, id);
        self.check_teardown()?;
        self.hooks.shutdown(id);
        Ok(false)
    }

    /// Step 2, PTL ([`RecoveryConfig::media_after_primary`]): the primary GT that media GT `id`
    /// waits for, while that GT's recovery is pending.
    fn waits_for_primary(&self, inner: &Inner<D, N>, id: GtId) -> Option<GtId> {
        if !self.config.media_after_primary
            || inner.gts[usize::from(id.0)].info().kind != GtKind::Media
        {
            return None;
        }
        let tile = self.topology.tile_of(id).unwrap_or(TileId(0));
        // The coordinator's view only, not the memirq peek: a primary whose SW_INT_0 byte is set
        // but not yet handled would otherwise postpone the media GT pass after pass with nothing
        // to end it.
        self.topology
            .primary_of(tile)
            .filter(|&primary| primary != id && self.coordinator.recovery_pending(primary))
    }

    /// Step 6's end: the tile's reported GGTT base from the re-query, published; unless the
    /// tile's base came from a re-query sent after this one (the other GT of the tile, its
    /// query overlapping this one in a split-phase pass): then this GGTT_START is older, from
    /// before a migration the newer query saw, and the tile keeps the newer base. (This GT's
    /// own RESFIX_DONE is then refused, `VF_MIGRATED`, and its next run re-queries.)
    fn take_config(&self, inner: &mut Inner<D, N>, id: GtId, config: &VfConfig) {
        let tile = self.topology.tile_of(id).unwrap_or(TileId(0));
        let t = usize::from(tile.0);
        let stamp = inner.query_stamp[usize::from(id.0)];
        if stamp >= inner.tile_stamp[t] {
            inner.tiles[t].reported = config.ggtt_start;
            inner.tile_stamp[t] = stamp;
        } else {
            debug!(
                "GT{}: GGTT_START {:#x} is older than the tile's, not taken",
                id.0, config.ggtt_start
            );
        }
        self.publish(inner, usize::from(id.0), t);
    }

    /// Steps 7-10 and the legacy deferral of step 11: everything between the re-query and
    /// RESFIX_DONE. `Some(Deferred)`: no RESFIX_DONE now.
    fn fix_gt(
        &self,
        inner: &mut Inner<D, N>,
        id: GtId,
        marker: Option<Marker>,
    ) -> PassResult<Option<GtRun>> {
        let i = usize::from(id.0);
        let tile = self.topology.tile_of(id).unwrap_or(TileId(0));
        let t = usize::from(tile.0);
        self.hooks.hold(HoldPoint::BeforeFixups, id);
        self.check_teardown()?;
        if let Some(ggtt) = inner.tiles[t].pending_move() {
            info!(
                "tile {}: moving GGTT {:#x} -> {:#x}",
                tile.0, ggtt.old, ggtt.new
            );
            self.hooks.ggtt_fixup(tile, ggtt).map_err(|error| {
                PassOutcome::Failed(RecoveryError::GgttFixup {
                    tile,
                    gt: id,
                    ggtt,
                    error,
                })
            })?;
            let state = &mut inner.tiles[t];
            state.applied = ggtt.new;
            state.moves = state.moves.wrapping_add(1);
            self.counters.ggtt_moves.fetch_add(1, Ordering::Relaxed);
            self.publish(inner, i, t);
        }
        self.hooks.gt_fixups(id).map_err(|error| {
            PassOutcome::Failed(RecoveryError::Hook {
                gt: id,
                step: Step::GtFixups,
                error,
            })
        })?;
        self.coordinator.fixed(id);
        self.counters
            .fixups_completed
            .fetch_add(1, Ordering::AcqRel);

        self.hooks.hold(HoldPoint::BeforeRearm, id);
        self.check_teardown()?;
        self.hooks.rearm(id).map_err(|error| {
            PassOutcome::Failed(RecoveryError::Hook {
                gt: id,
                step: Step::Rearm,
                error,
            })
        })?;

        self.hooks.hold(HoldPoint::BeforeDone, id);
        self.check_teardown()?;
        if marker.is_none() && self.legacy_imminent(id) {
            // The seed's rule, for the legacy protocol only: a DONE without a marker cannot be
            // refused for an older migration, so never send it while another one is on its way.
            debug!(
                "GT{}: another recovery imminent, RESFIX_DONE deferred",
                id.0
            );
            return Ok(Some(GtRun::Deferred));
        }
        Ok(None)
    }

    /// Steps 12-13: RESFIX_DONE accepted.
    fn gt_done(&self, id: GtId) {
        if !self.coordinator.done(id) {
            debug!("GT{}: another recovery imminent", id.0);
        }
        self.hooks.kickstart(id);
    }

    /// The pass driver: every GT of the pass runs the same state machine ([`Stage`]), and the
    /// schedule only decides when a GT begins. Overlapped ([`RecoveryConfig::split_phase`]):
    /// every GT begins at once, one poll loop drives them all (a GT's next step runs the moment
    /// its reply is in), a GT reported during the pass joins it and a postponed media GT
    /// begins once its primary GT is done ([`join`](Vf::join)); the runs are accounted at the
    /// end. One after the other (`split_phase = false`): one GT in flight, driven to the end of
    /// its run and accounted before the next begins, no join. Returns every GT the pass took.
    fn run_pass(
        &self,
        inner: &mut Inner<D, N>,
        gts: GtSet,
        report: &mut PassReport,
    ) -> PassResult<GtSet> {
        let mut pass = SplitPass::new();
        if !self.config.split_phase {
            for id in gts.iter() {
                self.begin_gt(inner, id, &mut pass)?;
                self.drive(inner, gts, &mut pass, false)?;
                self.account_run(inner, id, pass.run(id), report)?;
            }
            return Ok(gts);
        }
        for id in gts.iter() {
            self.begin_gt(inner, id, &mut pass)?;
        }
        let taken = self.drive(inner, gts, &mut pass, true)?;
        for id in taken.iter() {
            self.account_run(inner, id, pass.run(id), report)?;
        }
        if taken != gts {
            // The joined GTs' reports left WORK set: no pass is owed for them any more.
            let _ = self.coordinator.drop_idle_work();
        }
        Ok(taken)
    }

    /// Polls every operation in flight until none is left, each GT advancing on its own
    /// reply; with `join`, takes in the GTs reported meanwhile between rounds. The worker
    /// relaxes once per round, through the device of the first GT still waiting. Bounded: a
    /// GT joins at most once and leaves `Postponed` at most once, and every poll of an
    /// operation in flight is bounded by that operation's own Stopwatch.
    fn drive(
        &self,
        inner: &mut Inner<D, N>,
        gts: GtSet,
        pass: &mut SplitPass<N>,
        join: bool,
    ) -> PassResult<GtSet> {
        let mut taken = gts;
        loop {
            if join {
                taken = self.join(inner, taken, pass)?;
            }
            let mut in_flight = false;
            let mut waiting = None;
            for i in 0..N {
                let Some(slot) = pass.ops[i].as_mut() else {
                    continue;
                };
                in_flight = true;
                let polled = match slot {
                    Err(e) => Poll::Ready(Err(*e)),
                    Ok(op) => inner.gts[i].poll_op(op),
                };
                match polled {
                    Poll::Pending => {
                        waiting.get_or_insert(i);
                    }
                    Poll::Ready(result) => {
                        pass.ops[i] = None;
                        self.advance(inner, GtId(i as u8), result, pass)?;
                    }
                }
            }
            if !in_flight {
                return Ok(taken);
            }
            self.publish_starts(inner, pass);
            if let Some(i) = waiting {
                inner.gts[i].device().relax();
            }
        }
    }

    /// The end of a round of polls: the RESFIX_STARTs accepted in it published in one step
    /// (only now: a report from here on is a new migration for those GTs), then their
    /// re-queries posted.
    fn publish_starts(&self, inner: &mut Inner<D, N>, pass: &mut SplitPass<N>) {
        let mut started = GtSet::empty();
        for (i, stage) in pass.stages.iter_mut().enumerate() {
            if matches!(stage, Stage::Started) {
                // i < N <= MAX_GTS < 256.
                let _ = started.insert(GtId(i as u8));
                *stage = Stage::Query;
            }
        }
        self.coordinator.started_gts(started);
        for id in started.iter() {
            let i = usize::from(id.0);
            inner.stamp_query(i);
            pass.ops[i] = Some(inner.gts[i].post_query_config());
        }
    }

    /// Takes into the split-phase pass the GTs reported since it began that it does not hold
    /// yet (the coordinator's queued GTs, a plain load; under [`StartPolicy::AllGts`] the pass
    /// holds every GT already), and starts them; starts the postponed media GTs whose primary
    /// GT's recovery is no longer pending. A GT whose migration is unsupported is left queued
    /// for the next pass, which refuses it. Returns the GTs the pass now holds.
    fn join(
        &self,
        inner: &mut Inner<D, N>,
        taken: GtSet,
        pass: &mut SplitPass<N>,
    ) -> PassResult<GtSet> {
        let mut taken = taken;
        for id in self.coordinator.pending_gts().iter() {
            if !taken.contains(id) && self.unsupported(inner, id).is_none() {
                debug!("GT{}: reported during the pass, joins it", id.0);
                let _ = taken.insert(id);
                self.begin_gt(inner, id, pass)?;
            }
        }
        for id in taken.iter() {
            if matches!(pass.stages[usize::from(id.0)], Stage::Postponed)
                && self.waits_for_primary(inner, id).is_none()
            {
                self.begin_gt(inner, id, pass)?;
            }
        }
        Ok(taken)
    }

    /// Steps 1-4 of GT `id` in a split-phase pass: its shutdown and RESFIX_START posted (legacy:
    /// started, its re-query posted), or postponed.
    fn begin_gt(
        &self,
        inner: &mut Inner<D, N>,
        id: GtId,
        pass: &mut SplitPass<N>,
    ) -> PassResult<()> {
        let i = usize::from(id.0);
        if self.prepare_gt(inner, id)? {
            pass.stages[i] = Stage::Postponed;
            return Ok(());
        }
        let gt = &mut inner.gts[i];
        if gt.supports_markers() {
            let marker = gt.next_marker();
            pass.markers[i] = Some(marker);
            pass.ops[i] = Some(gt.post_resfix_start(marker));
            pass.stages[i] = Stage::Start;
        } else {
            self.coordinator.started(id);
            inner.stamp_query(i);
            pass.ops[i] = Some(inner.gts[i].post_query_config());
            pass.stages[i] = Stage::Query;
        }
        Ok(())
    }

    /// GT `id`'s operation of its current stage is over with `result`: its next steps, up to
    /// its next mailbox request posted or the end of its run.
    fn advance(
        &self,
        inner: &mut Inner<D, N>,
        id: GtId,
        result: Result<Option<VfConfig>, VfError>,
        pass: &mut SplitPass<N>,
    ) -> PassResult<()> {
        let i = usize::from(id.0);
        let marker = pass.markers[i];
        let next = match pass.stages[i] {
            // The round's end publishes it (`started_gts`) and posts its re-query.
            Stage::Start => match step(id, Step::ResfixStart, result)? {
                Ok(_) => Stage::Started,
                Err(run) => Stage::Ended(run),
            },
            Stage::Query => match step(id, Step::QueryConfig, result)? {
                Ok(config) => {
                    self.take_config(inner, id, &config.unwrap_or_default());
                    match self.fix_gt(inner, id, marker)? {
                        Some(run) => Stage::Ended(run),
                        None => {
                            pass.ops[i] = Some(inner.gts[i].post_resfix_done(marker));
                            Stage::Done
                        }
                    }
                }
                Err(run) => Stage::Ended(run),
            },
            Stage::Done => match step(id, Step::ResfixDone, result)? {
                Ok(_) => {
                    self.gt_done(id);
                    Stage::Ended(GtRun::Recovered)
                }
                Err(run) => Stage::Ended(run),
            },
            // No operation in flight in these stages: nothing to advance.
            stage @ (Stage::Postponed | Stage::Started | Stage::Ended(_)) => stage,
        };
        pass.stages[i] = next;
        Ok(())
    }

    /// Legacy protocol: is another recovery imminent for `gt`? See the module docs.
    fn legacy_imminent(&self, gt: GtId) -> bool {
        match self.config.start {
            StartPolicy::AnyGt => {
                self.coordinator.recovery_imminent_for(gt) || self.memirq.sw_int0_pending(gt)
            }
            StartPolicy::AllGts => {
                self.coordinator.recovery_imminent()
                    || (0..N).any(|g| self.memirq.sw_int0_pending(GtId(g as u8)))
            }
        }
    }

    /// Whether GT `gt`'s GGTT is valid: no report (or VF_MIGRATED reply) since its tile's GGTT
    /// fixup and its own fixups last returned. `false` for an unknown GT. Wait-free.
    pub fn ggtt_valid(&self, gt: GtId) -> bool {
        usize::from(gt.0) < N
            && !self.memirq.sw_int0_pending(gt)
            && !self.coordinator.needs_fixes(gt)
    }

    /// Whether GT `gt`'s recovery is pending: reported and not yet followed by an accepted
    /// RESFIX_DONE, or in progress. `false` for an unknown GT and once wedged. Wait-free; fine
    /// in interrupt context.
    pub fn recovery_pending(&self, gt: GtId) -> bool {
        usize::from(gt.0) < N
            && !self.coordinator.is_wedged()
            && (self.memirq.sw_int0_pending(gt) || self.coordinator.recovery_pending(gt))
    }

    /// Waits until [`ggtt_valid`](Vf::ggtt_valid), for at most `timeout` of `clock` time
    /// (the kernel's wait for a valid GGTT, bounded). Returns at once with
    /// [`GgttWait::Wedged`], [`GgttWait::TornDown`] or [`GgttWait::UnknownGt`] when the GGTT
    /// can no longer become valid. The wait runs on a [`Stopwatch`]: a clock that makes no
    /// progress for [`GGTT_WAIT_STALL_POLLS`] polls ends it as [`GgttWait::ClockStalled`], one
    /// that wraps past `u64::MAX` times out as if it had not.
    pub fn wait_ggtt_valid<C: Clock>(&self, gt: GtId, clock: &C, timeout: Duration) -> GgttWait {
        let timeout_ns = nanos(timeout);
        if usize::from(gt.0) >= N {
            return GgttWait::UnknownGt;
        }
        let mut watch = Stopwatch::start(clock.now());
        loop {
            if self.ggtt_valid(gt) {
                return GgttWait::Valid;
            }
            if self.coordinator.is_wedged() {
                return GgttWait::Wedged;
            }
            if self.coordinator.is_torn_down() {
                return GgttWait::TornDown;
            }
            watch.observe(clock.now());
            if watch.elapsed_ns() >= timeout_ns {
                return GgttWait::TimedOut;
            }
            if watch.stalled_polls() >= GGTT_WAIT_STALL_POLLS {
                return GgttWait::ClockStalled;
            }
            clock.relax();
        }
    }

    /// How many per-GT fixups have completed so far (monotonic).
    pub fn fixups_completed(&self) -> usize {
        self.counters.fixups_completed.load(Ordering::Acquire)
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            migrations_signalled: self
                .signals
                .iter()
                .fold(0usize, |sum, n| sum.wrapping_add(n.load(Ordering::Relaxed))),
            recoveries: c.recoveries.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            deferred: c.deferred.load(Ordering::Relaxed),
            requeued: c.requeued.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            unsupported: c.unsupported.load(Ordering::Relaxed),
            fixups_completed: c.fixups_completed.load(Ordering::Relaxed),
            ggtt_moves: c.ggtt_moves.load(Ordering::Relaxed),
        }
    }

    /// [`StartPolicy::AllGts`]: the GTs whose report the VF is waiting for before it starts the
    /// device-wide pass (see [`Coordinator::awaiting_reports`]). Non-empty means some GT reported
    /// a migration and nothing is queued or running: if the missing report does not come (a
    /// lost interrupt, or a late one for a migration a pass already covered), call
    /// [`start_now`](Vf::start_now). Always empty under [`StartPolicy::AnyGt`]. Wait-free.
    pub fn awaiting_reports(&self) -> GtSet {
        self.coordinator.awaiting_reports()
    }

    /// [`StartPolicy::AllGts`]: queues the device-wide pass now, without waiting for the GTs in
    /// [`awaiting_reports`](Vf::awaiting_reports); returns whether this call queued it. The pass
    /// recovers every GT, so a GT whose interrupt was lost is recovered too. Thread context.
    #[must_use]
    pub fn start_now(&self) -> bool {
        self.coordinator.start_now(&self.queue)
    }

    /// A read-only view of the coordinator (the calls that drive it are the VF's own; to end a
    /// wait or tear down, use [`start_now`](Vf::start_now) and [`teardown`](Vf::teardown)).
    pub const fn coordinator(&self) -> CoordinatorView<'_> {
        CoordinatorView::new(&self.coordinator)
    }

    /// The work queue.
    pub const fn queue(&self) -> &Q {
        &self.queue
    }

    /// The hooks.
    pub const fn hooks(&self) -> &H {
        &self.hooks
    }

    /// The migration policy.
    pub const fn config(&self) -> &RecoveryConfig {
        &self.config
    }

    /// Whether a failed recovery wedged the device.
    pub fn is_wedged(&self) -> bool {
        self.coordinator.is_wedged()
    }

    /// Stops migration handling: after this returns nothing is queued or started, and a running
    /// pass stops at its next step. Then waits, calling `relax` between checks, until no pass
    /// runs or `relax` returns `false` (the caller's bound). Returns whether the VF is idle.
    #[must_use = "false means a pass or a queue() call may still be running"]
    pub fn teardown(&self, relax: impl FnMut() -> bool) -> bool {
        self.coordinator.teardown();
        self.coordinator.teardown_wait(relax)
    }
}

#[cfg(all(test, feature = "mock", feature = "std", not(loom)))]
mod tests {
    use super::*;
    use crate::gt::GtInfo;
    use crate::mailbox::MailboxConfig;
    use crate::mock::GgttOracle;
    use crate::mock::{Latency, MockClock, MockGuc, Provisioning};
    use crate::wire::regs::GtKind;
    use crate::wire::Version;
    use crate::workqueue::Polled;
    use core::time::Duration;

    const MOVED: u64 = 0x0120_0000;

    /// Hooks that only keep the VF's GGTT users (the oracle).
    struct Oracle(GgttOracle<1>);

    impl RecoveryHooks for Oracle {
        fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
            self.0.fixup(tile, ggtt)
        }
    }

    /// A split-phase pass of 2 GTs whose RESFIX_START replies come back in the same round of
    /// polling publishes both starts in one read-modify-write: the pass makes three on the
    /// coordinator's state word (`begin`, `started_gts`, `finish`), where one `started` per GT
    /// made four.
    type TestVf = Vf<&'static MockGuc, Oracle, Polled, 2>;

    /// A 2-GT VF on one tile (register interrupts), mocks answering after 20 us of one clock.
    fn two_gt_vf() -> (TestVf, [&'static MockGuc; 2]) {
        let clock: &'static MockClock = std::boxed::Box::leak(std::boxed::Box::default());
        let gucs =
            [GtKind::Primary, GtKind::Media].map(|kind| {
                let guc: &'static MockGuc = std::boxed::Box::leak(std::boxed::Box::new(
                    MockGuc::new(kind, Version::new(1, 27), Provisioning::integrated()),
                ));
                guc.use_clock(clock);
                guc.set_latency(Latency::fixed(Duration::from_micros(20)));
                guc
            });
        let gts = [0, 1].map(|i| {
            Gt::new(
                gucs[i],
                GtInfo::new(gucs[i].kind(), false, 2004),
                MailboxConfig::DEFAULT,
            )
        });
        let config = RecoveryConfig::DEFAULT.with_mmio_irq();
        (
            Vf::new(gts, Oracle(GgttOracle::new()), Polled, config).unwrap(),
            gucs,
        )
    }

    #[test]
    fn split_phase_pass_publishes_the_starts_of_one_round_at_once() {
        let (vf, gucs) = two_gt_vf();
        vf.bootstrap().unwrap();
        vf.hooks()
            .0
            .place(TileId(0), Provisioning::integrated().ggtt_start);
        for g in &gucs {
            g.migrate(MOVED);
        }
        for (i, g) in gucs.iter().enumerate() {
            let _ = vf.handle_guc_interrupt(GtId(i as u8), g.take_interrupts());
        }
        let before = vf.coordinator.state_rmws();
        assert_eq!(vf.run_worker(), PassOutcome::Recovered(GtSet::all(2)));
        assert_eq!(vf.coordinator.state_rmws() - before, 3);
        assert_eq!(vf.run_worker(), PassOutcome::NotStarted);
        // The VF's view: its GGTT users moved once, to where the GuC now puts the GGTT.
        assert_eq!(vf.hooks().0.check(TileId(0), MOVED), Ok(()));
        assert_eq!(vf.hooks().0.moves(TileId(0)), 1);
    }

    /// The `try_` views never wait: `Busy` while the copies are being written (here: the
    /// lock held by the test, as by a worker this interrupt interrupted), else the same copy
    /// as the waiting readers; unknown GTs and tiles are errors of their own.
    #[test]
    fn try_views_answer_busy_instead_of_spinning() {
        let (vf, _gucs) = two_gt_vf();
        vf.bootstrap().unwrap();
        assert_eq!(vf.try_gt_view(GtId(1)), Ok(vf.gt_view(GtId(1)).unwrap()));
        assert_eq!(
            vf.try_tile_ggtt(TileId(0)),
            Ok(vf.tile_ggtt(TileId(0)).unwrap())
        );
        assert_eq!(vf.try_gt_view(GtId(2)), Err(GtAccessError::UnknownGt));
        assert_eq!(vf.try_tile_ggtt(TileId(1)), Err(GtAccessError::UnknownTile));
        let held = vf.views.lock();
        assert_eq!(vf.try_gt_view(GtId(0)), Err(GtAccessError::Busy));
        assert_eq!(vf.try_tile_ggtt(TileId(0)), Err(GtAccessError::Busy));
        drop(held);
        assert!(vf.try_gt_view(GtId(0)).unwrap().config.is_some());
    }
}
