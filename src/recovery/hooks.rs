//! What the embedder does at each step of a GT's recovery: [`RecoveryHooks`], the steps and hold
//! points that name where, and the runtime-PM guard of a pass.

use core::fmt;

use super::RecoveryError;
#[allow(unused_imports)] // the docs' links
use super::{RecoveryConfig, Vf};
use crate::coordinator::GtId;
use crate::tile::{GgttMove, TileId};

/// An error reported by an embedder hook: an errno-style code of the embedder's choosing.
///
/// The code is the embedder's own: the crate never interprets it, only carries it (in
/// [`RecoveryError::Hook`] or [`RecoveryError::GgttFixup`]) back to the embedder and prints
/// it. By convention it is a negative errno, as the kernel's are: `HookError(-22)` is
/// `-EINVAL`.
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

/// Where [`RecoveryHooks::hold`] is called: at the kernel's four debug "stoppers" of
/// `xe_gt_sriov_vf.c` (Linux 7.3), where its own migration tests hold the recovery. Every point
/// is reached on both schedules and on the legacy protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum HoldPoint {
    /// The stopper RESFIX_START: after the GT's [`shutdown`](RecoveryHooks::shutdown), before
    /// RESFIX_START is sent (legacy: before the GT is marked started).
    BeforeStart,
    /// The stopper FIXUPS: after RESFIX_START was accepted and the GT is no longer queued,
    /// before the configuration re-query (which brings the new GGTT base) and the fixups.
    BeforeFixups,
    /// The stopper RESTART_JOBS: after the fixups, before the [`rearm`](RecoveryHooks::rearm)
    /// hook.
    BeforeRearm,
    /// The stopper RESFIX_DONE: after the rearm, before the legacy "another recovery imminent"
    /// check and RESFIX_DONE.
    BeforeDone,
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
/// [`shutdown`](RecoveryHooks::shutdown), [`hold`](RecoveryHooks::hold)`(BeforeStart)`, then
/// (once its RESFIX_START was accepted) `hold(BeforeFixups)`, and once its re-query was
/// answered its tile's [`ggtt_fixup`](RecoveryHooks::ggtt_fixup) if the base changed, [`gt_fixups`](RecoveryHooks::gt_fixups),
/// `hold(BeforeRearm)`, [`rearm`](RecoveryHooks::rearm), `hold(BeforeDone)`, and once its
/// RESFIX_DONE was accepted [`kickstart`](RecoveryHooks::kickstart) (on the legacy protocol only
/// if the GT was not reported again meanwhile; else the run is deferred); a run that ends early
/// (re-queued, deferred) stops at its step, a failed pass then calls
/// [`abort`](RecoveryHooks::abort) and [`wedged`](RecoveryHooks::wedged). A GT's run lies
/// within one pass, inside that pass's [`pm_get`](RecoveryHooks::pm_get) /
/// [`pm_put`](RecoveryHooks::pm_put), and a GT never has two runs at once: its next run (a
/// report after its RESFIX_START, a re-queue) begins in a later pass, after this run's last hook.
/// A tile's `ggtt_fixup` comes after the `shutdown` of the GT whose run calls it, and moves the
/// tile once per change of base, whichever of its GTs gets there first.
///
/// Across GTs the order is the schedule's (see [the module docs](super#one-machine-two-schedules)):
/// overlapped ([`RecoveryConfig::split_phase`], the default), the GTs' steps interleave as their
/// replies come in and a GT reported during a pass joins it, so its `shutdown` may come after
/// another GT's `kickstart` in the same pass; one after the other, each GT's hooks from
/// `shutdown` to `kickstart` run before the next GT's. Hooks run while the worker holds the
/// GTs: from a hook, [`Vf::with_gt`], [`Vf::bootstrap`] and [`Vf::register_memirq`] answer
/// `Busy` at once (nothing spins), while [`Vf::gt_view`], [`Vf::tile_ggtt`] and the wait-free
/// questions answer normally (see the table on [`Vf`]); everything the fixups need is in their
/// arguments.
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
    /// Takes a runtime-PM reference (the device must stay powered during the pass). The default
    /// does nothing, as Linux 7.3's recovery worker takes no runtime-PM reference at all.
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
    ///
    /// # Errors
    ///
    /// Return the embedder's own [`HookError`] when the move failed: the pass fails with
    /// [`RecoveryError::GgttFixup`] (the tile's applied base stays `ggtt.old`),
    /// [`abort`](RecoveryHooks::abort) is called and the device wedged.
    fn ggtt_fixup(&self, tile: TileId, ggtt: GgttMove) -> Result<(), HookError> {
        let _ = (tile, ggtt);
        Ok(())
    }
    /// GT-local fixups of `gt` after its tile's GGTT is in place: rebase context images and the
    /// HWSP, restore CCS on the primary GT. Called once per recovery run of the GT, also when the
    /// GGTT did not move (the GuC still waits for the fixups to be declared done).
    ///
    /// # Errors
    ///
    /// Return the embedder's own [`HookError`] when a fixup failed: the pass fails with
    /// [`RecoveryError::Hook`] at [`Step::GtFixups`], [`abort`](RecoveryHooks::abort) is called and
    /// the device wedged; RESFIX_DONE is not sent.
    fn gt_fixups(&self, gt: GtId) -> Result<(), HookError> {
        let _ = gt;
        Ok(())
    }
    /// Re-arms `gt`: interrupts, the command transport, re-emitting pending work.
    ///
    /// # Errors
    ///
    /// Return the embedder's own [`HookError`] when re-arming failed: the pass fails with
    /// [`RecoveryError::Hook`] at [`Step::Rearm`], [`abort`](RecoveryHooks::abort) is called and
    /// the device wedged; RESFIX_DONE is not sent.
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

/// Releases the runtime-PM reference when dropped, so every path out of a pass releases it.
pub(super) struct PmGuard<'a, H: RecoveryHooks>(&'a H);

impl<'a, H: RecoveryHooks> PmGuard<'a, H> {
    pub(super) fn take(hooks: &'a H) -> Self {
        hooks.pm_get();
        PmGuard(hooks)
    }
}

impl<H: RecoveryHooks> Drop for PmGuard<'_, H> {
    fn drop(&mut self) {
        self.0.pm_put();
    }
}
