//! The post-migration recovery pipeline, and [`Vf`]: one VF device with its GTs, its
//! coordinator, its work queue and the embedder's hooks.
//!
//! ## Flow
//!
//! 1. The GuC raises `SW_INT_0` on a GT. The embedder's interrupt handler calls
//!    [`Vf::handle_guc_interrupt`] (or [`Vf::migrated`]): wait-free, no lock, no allocation. It
//!    marks the GT's GGTT stale and signals the [`Coordinator`], which queues the worker on the
//!    [`WorkQueue`] at most once.
//! 2. The embedder's queue runs [`Vf::run_worker`] in thread context. One pass recovers the GTs
//!    it took from the coordinator, in this order, per GT:
//!
//!    | step | what | on error |
//!    |---|---|---|
//!    | 1 | runtime-PM reference ([`RecoveryHooks::pm_get`]), released on every path by a guard | |
//!    | 2 | [`shutdown`](RecoveryHooks::shutdown): pause submission, stop the command transport | |
//!    | 3 | RESFIX_START with a marker (`1 + 8-bit counter`) when the VF ABI is 1.27+ | VF_MIGRATED: re-queue; else wedge |
//!    | 4 | re-query the configuration, validate it, compute the GGTT shift | VF_MIGRATED: re-queue; else wedge |
//!    | 5 | another recovery imminent? then defer: no RESFIX_DONE, the queued pass finishes | |
//!    | 6 | [`fixups`](RecoveryHooks::fixups) with the GGTT shift | wedge |
//!    | 7 | publish "GGTT valid" and bump the fixups-complete counter | |
//!    | 8 | [`rearm`](RecoveryHooks::rearm): interrupts, command transport, pending work | wedge |
//!    | 9 | RESFIX_DONE (with the marker, or legacy without) | VF_MIGRATED: re-queue; else wedge |
//!    | 10 | [`kickstart`](RecoveryHooks::kickstart): unpause submission | |
//!    | 11 | on any error: [`abort`](RecoveryHooks::abort), then wedge exactly once | |
//!
//!    [`RecoveryHooks::hold`] is called before START, the fixups, the rearm and DONE: the
//!    kernel's debug "stoppers", which tests use to land a migration at every step.
//! 3. A wedged device queues nothing more; after [`Vf::teardown`] nothing is queued or started.
//!
//! ## GGTT validity
//!
//! Each GT has a migration sequence number, bumped by the interrupt entry, and a "fixed"
//! sequence number, published by the worker after the fixups hook returned for the migrations it
//! had seen when its pass began. The GGTT of a GT is valid exactly when the two are equal, so a
//! migration that lands during the fixups can never be hidden by a late "valid" store (the
//! kernel once cleared its need-fixes flag too early).

use core::fmt;

use crate::coordinator::{Coordinator, CoordinatorError, GtId, GtSet, Signal, StartPolicy};
use crate::device::{Clock, Device};
use crate::gt::{Gt, VfError};
use crate::sync::{AtomicUsize, Ordering};
use crate::wire::regs::GucIntr;
use crate::wire::{Marker, Version};
use crate::workqueue::WorkQueue;

/// An error reported by an embedder hook: an errno-style code of the embedder's choosing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct HookError(pub i32);

/// A step of the recovery, as named in errors and hold points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Step {
    /// RESFIX_START.
    ResfixStart,
    /// The configuration re-query.
    QueryConfig,
    /// The fixups hook.
    Fixups,
    /// The rearm hook.
    Rearm,
    /// RESFIX_DONE.
    ResfixDone,
}

impl Step {
    /// A short name for logs.
    pub const fn name(self) -> &'static str {
        match self {
            Step::ResfixStart => "RESFIX_START",
            Step::QueryConfig => "config query",
            Step::Fixups => "fixups",
            Step::Rearm => "rearm",
            Step::ResfixDone => "RESFIX_DONE",
        }
    }
}

/// Where [`RecoveryHooks::hold`] is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum HoldPoint {
    /// Before RESFIX_START (also reached, once per GT, on the legacy protocol).
    BeforeStart,
    /// Before the fixups hook.
    BeforeFixups,
    /// Before the rearm hook.
    BeforeRearm,
    /// Before RESFIX_DONE.
    BeforeDone,
}

/// Why a recovery failed (and the device was wedged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// An embedder hook failed.
    Hook {
        /// Which GT.
        gt: GtId,
        /// At which step.
        step: Step,
        /// The hook's error.
        error: HookError,
    },
}

impl fmt::Display for RecoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecoveryError::Gt { gt, step, error } => {
                write!(f, "GT{}: {} failed: {}", gt.0, step.name(), error)
            }
            RecoveryError::Hook { gt, step, error } => {
                write!(f, "GT{}: {} hook failed ({})", gt.0, step.name(), error.0)
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RecoveryError {}

/// What the embedder does at each step. Every method has a default that is safe when the
/// embedder has nothing to do there; a driver with real GGTT nodes, contexts or CCS overrides
/// [`fixups`](RecoveryHooks::fixups) at least.
///
/// Hooks run on the worker (thread context), never from the interrupt entry, and never two
/// passes at once.
pub trait RecoveryHooks {
    /// Takes a runtime-PM reference (the device must stay powered during the pass).
    fn pm_get(&self) {}
    /// Releases the reference from [`pm_get`](RecoveryHooks::pm_get); called exactly once per
    /// `pm_get`, on every path.
    fn pm_put(&self) {}
    /// Pauses submission and stops the command transport of `gt`.
    fn shutdown(&self, gt: GtId) {
        let _ = gt;
    }
    /// Applies the post-migration fixups of `gt`: move every GGTT node by `ggtt_shift` bytes,
    /// rebase context images and rings, restore CCS. Called with shift 0 too (nothing moved,
    /// but the GuC still waits for the fixups to be declared done).
    fn fixups(&self, gt: GtId, ggtt_shift: i64) -> Result<(), HookError> {
        let _ = (gt, ggtt_shift);
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

/// How the VF handles migrations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RecoveryConfig {
    /// When the worker is queued: when every GT has reported, or on the first report.
    pub start: StartPolicy,
    /// Refuse migration when a GT's VF ABI is older than 1.27 (no markers), as the newest kernel
    /// does: the pass is reported as unsupported and the device is not wedged.
    pub require_markers: bool,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig {
            start: StartPolicy::AnyGt,
            require_markers: false,
        }
    }
}

/// What one call of [`Vf::run_worker`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum PassOutcome {
    /// No pass was due (spurious run), or another pass is running, or the device is wedged or
    /// torn down.
    NotStarted,
    /// A pass began but had no GT to recover.
    Empty,
    /// Every GT of the pass got its RESFIX_DONE accepted.
    Recovered(GtSet),
    /// Another recovery was imminent: `deferred` were handed to the next pass without
    /// RESFIX_DONE. In the same pass `recovered` finished and the GuC answered VF_MIGRATED for
    /// `requeued` (also handed on).
    Deferred {
        /// GTs that finished before the deferral.
        recovered: GtSet,
        /// GTs handed on because another recovery is imminent.
        deferred: GtSet,
        /// GTs handed on because of a VF_MIGRATED reply.
        requeued: GtSet,
    },
    /// The GuC answered VF_MIGRATED for `requeued`: a second migration; they go to the next
    /// pass. `recovered` finished.
    Requeued {
        /// GTs that finished.
        recovered: GtSet,
        /// GTs handed to the next pass.
        requeued: GtSet,
    },
    /// Migration was refused: a GT's VF ABI has no markers and the policy requires them.
    Unsupported {
        /// The first such GT.
        gt: GtId,
        /// Its VF ABI.
        version: Option<Version>,
    },
    /// The pass failed; the device is wedged.
    Failed(RecoveryError),
    /// Teardown began during the pass; it stopped early.
    Cancelled,
}

/// Counters the embedder can read at any time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Stats {
    /// Migration interrupts received ([`Vf::migrated`] calls for a valid GT, wrapping).
    pub migrations_signalled: usize,
    /// Passes that had GTs to recover.
    pub recoveries: usize,
    /// Passes that ended with every GT recovered.
    pub completed: usize,
    /// Passes deferred to an imminent one.
    pub deferred: usize,
    /// Passes that handed GTs to another after VF_MIGRATED.
    pub requeued: usize,
    /// Passes that failed (the first one wedged the device).
    pub failed: usize,
    /// Passes refused because migration is unsupported.
    pub unsupported: usize,
    /// Fixups hooks that completed (the kernel's fixups-complete counter).
    pub fixups_completed: usize,
}

struct Counters {
    recoveries: AtomicUsize,
    completed: AtomicUsize,
    deferred: AtomicUsize,
    requeued: AtomicUsize,
    failed: AtomicUsize,
    unsupported: AtomicUsize,
    fixups_completed: AtomicUsize,
    marker: AtomicUsize,
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

/// One VF: `N` GTs, the coordinator, the work queue `Q` and the hooks `H`.
///
/// Share it between the interrupt handler and the worker by reference (`&'static`, or an
/// `Arc` with `std`). The GTs sit behind a spin lock that only the worker (one pass at a time)
/// and the embedder's explicit [`Vf::with_gt`] / [`Vf::bootstrap`] calls take; the interrupt entry
/// never touches it.
pub struct Vf<D, H, Q, const N: usize> {
    coordinator: Coordinator,
    gts: spin::Mutex<[Gt<D>; N]>,
    hooks: H,
    queue: Q,
    config: RecoveryConfig,
    migration_seq: [AtomicUsize; N],
    fixed_seq: [AtomicUsize; N],
    shifts: spin::Mutex<[i64; N]>,
    counters: Counters,
}

impl<D, H, Q, const N: usize> fmt::Debug for Vf<D, H, Q, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Vf")
            .field("gts", &N)
            .field("config", &self.config)
            .field("wedged", &self.coordinator.is_wedged())
            .finish_non_exhaustive()
    }
}

impl<D: Device, H: RecoveryHooks, Q: WorkQueue, const N: usize> Vf<D, H, Q, N> {
    /// A VF over `gts` (index = [`GtId`]). Fails when `N` is 0 or above
    /// [`MAX_GTS`](crate::coordinator::MAX_GTS).
    pub fn new(
        gts: [Gt<D>; N],
        hooks: H,
        queue: Q,
        config: RecoveryConfig,
    ) -> Result<Self, CoordinatorError> {
        Ok(Vf {
            coordinator: Coordinator::new(N, config.start)?,
            gts: spin::Mutex::new(gts),
            hooks,
            queue,
            config,
            migration_seq: core::array::from_fn(|_| AtomicUsize::new(0)),
            fixed_seq: core::array::from_fn(|_| AtomicUsize::new(0)),
            shifts: spin::Mutex::new([0; N]),
            counters: Counters {
                recoveries: AtomicUsize::new(0),
                completed: AtomicUsize::new(0),
                deferred: AtomicUsize::new(0),
                requeued: AtomicUsize::new(0),
                failed: AtomicUsize::new(0),
                unsupported: AtomicUsize::new(0),
                fixups_completed: AtomicUsize::new(0),
                marker: AtomicUsize::new(0),
            },
        })
    }

    /// Bootstraps every GT (VF_RESET, handshake) and queries its configuration. Call once,
    /// before interrupts are enabled.
    pub fn bootstrap(&self) -> Result<(), (GtId, VfError)> {
        let mut gts = self.gts.lock();
        for (i, gt) in gts.iter_mut().enumerate() {
            let id = GtId(i as u8);
            gt.bootstrap().map_err(|e| (id, e))?;
            gt.query_config().map_err(|e| (id, e))?;
            info!("GT{}: VF ABI {}", i, gt.version().unwrap_or_default());
        }
        Ok(())
    }

    /// Runs `f` on GT `gt` (for example to read its configuration). Returns `None` for an
    /// unknown GT. Takes the GT lock: not for interrupt context.
    pub fn with_gt<R>(&self, gt: GtId, f: impl FnOnce(&mut Gt<D>) -> R) -> Option<R> {
        let mut gts = self.gts.lock();
        gts.get_mut(usize::from(gt.0)).map(f)
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

    /// The interrupt entry proper: GT `gt` reported a migration. Marks its GGTT stale and
    /// signals the coordinator (which queues the worker at most once). Wait-free: two atomic
    /// read-modify-writes here plus the coordinator's bounded few; no lock, no allocation.
    pub fn migrated(&self, gt: GtId) -> Signal {
        match self.migration_seq.get(usize::from(gt.0)) {
            Some(seq) => {
                seq.fetch_add(1, Ordering::AcqRel);
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
        let outcome = if gts.is_empty() {
            PassOutcome::Empty
        } else {
            self.counters.recoveries.fetch_add(1, Ordering::Relaxed);
            let _pm = PmGuard::take(&self.hooks);
            self.recover(gts)
        };
        match outcome {
            PassOutcome::Recovered(_) => {
                self.counters.completed.fetch_add(1, Ordering::Relaxed);
                info!("migration recovery ended");
            }
            PassOutcome::Deferred {
                deferred, requeued, ..
            } => {
                self.counters.deferred.fetch_add(1, Ordering::Relaxed);
                self.coordinator.defer(deferred, &self.queue);
                if !requeued.is_empty() {
                    self.counters.requeued.fetch_add(1, Ordering::Relaxed);
                    self.coordinator.requeue(requeued, &self.queue);
                }
                debug!("migration recovery deferred");
            }
            PassOutcome::Requeued { requeued, .. } => {
                self.counters.requeued.fetch_add(1, Ordering::Relaxed);
                self.coordinator.requeue(requeued, &self.queue);
                info!("migrated again during recovery, recovery re-queued");
            }
            PassOutcome::Unsupported { gt, .. } => {
                self.counters.unsupported.fetch_add(1, Ordering::Relaxed);
                error!("GT{}: migration not supported (VF ABI below 1.27)", gt.0);
            }
            PassOutcome::Failed(err) => {
                self.counters.failed.fetch_add(1, Ordering::Relaxed);
                self.hooks.abort(&err);
                if self.coordinator.wedge() {
                    error!("migration recovery failed ({}), device wedged", err);
                    self.hooks.wedged(&err);
                }
            }
            PassOutcome::Cancelled => debug!("migration recovery cancelled by teardown"),
            PassOutcome::NotStarted | PassOutcome::Empty => {}
        }
        self.coordinator.finish(&self.queue);
        outcome
    }

    fn next_marker(&self) -> Marker {
        let counter = self.counters.marker.fetch_add(1, Ordering::Relaxed);
        Marker::from_counter(counter as u8)
    }

    fn recover(&self, gts: GtSet) -> PassOutcome {
        debug!("migration recovery in progress, GT mask {:#x}", gts.bits());
        // Sequence numbers of the migrations this pass answers: read before the re-query, so
        // the configuration we read is at least that new.
        let seen: [usize; N] =
            core::array::from_fn(|i| self.migration_seq[i].load(Ordering::Acquire));
        let mut guard = self.gts.lock();
        let all = &mut *guard;

        if self.config.require_markers {
            for id in gts.iter() {
                let Some(gt) = all.get(usize::from(id.0)) else {
                    continue;
                };
                if !gt.supports_markers() {
                    return PassOutcome::Unsupported {
                        gt: id,
                        version: gt.version(),
                    };
                }
            }
        }

        for id in gts.iter() {
            self.hooks.shutdown(id);
        }

        let marker = self.next_marker();
        let mut shifts = [0i64; N];
        let mut requeue = GtSet::empty();
        for id in gts.iter() {
            let Some(gt) = all.get_mut(usize::from(id.0)) else {
                continue;
            };
            if self.coordinator.is_torn_down() {
                return PassOutcome::Cancelled;
            }
            self.hooks.hold(HoldPoint::BeforeStart, id);
            if gt.supports_markers() {
                if let Err(error) = gt.resfix_start(marker) {
                    if error.is_vf_migrated() {
                        requeue.insert(id);
                        continue;
                    }
                    return fail(id, Step::ResfixStart, error);
                }
            }
            match gt.query_config() {
                Ok(shift) => shifts[usize::from(id.0)] = shift,
                Err(error) if error.is_vf_migrated() => {
                    requeue.insert(id);
                }
                Err(error) => return fail(id, Step::QueryConfig, error),
            }
        }
        let active = GtSet::from_bits(gts.bits() & !requeue.bits());

        if self.coordinator.recovery_imminent() {
            // The queued pass redoes the whole job for these GTs too.
            return PassOutcome::Deferred {
                recovered: GtSet::empty(),
                deferred: active,
                requeued: requeue,
            };
        }

        for id in active.iter() {
            let i = usize::from(id.0);
            if self.coordinator.is_torn_down() {
                return PassOutcome::Cancelled;
            }
            self.hooks.hold(HoldPoint::BeforeFixups, id);
            if let Err(error) = self.hooks.fixups(id, shifts[i]) {
                return PassOutcome::Failed(RecoveryError::Hook {
                    gt: id,
                    step: Step::Fixups,
                    error,
                });
            }
            self.shifts.lock()[i] = shifts[i];
            self.fixed_seq[i].store(seen[i], Ordering::Release);
            self.counters
                .fixups_completed
                .fetch_add(1, Ordering::AcqRel);
        }

        for id in active.iter() {
            if self.coordinator.is_torn_down() {
                return PassOutcome::Cancelled;
            }
            self.hooks.hold(HoldPoint::BeforeRearm, id);
            if let Err(error) = self.hooks.rearm(id) {
                return PassOutcome::Failed(RecoveryError::Hook {
                    gt: id,
                    step: Step::Rearm,
                    error,
                });
            }
        }

        let mut recovered = GtSet::empty();
        let mut deferred = GtSet::empty();
        for id in active.iter() {
            let Some(gt) = all.get_mut(usize::from(id.0)) else {
                continue;
            };
            if self.coordinator.is_torn_down() {
                return PassOutcome::Cancelled;
            }
            self.hooks.hold(HoldPoint::BeforeDone, id);
            // The seed's rule, kept for the legacy protocol where DONE carries no marker: never
            // declare fixups done while another recovery is on its way.
            if self.coordinator.recovery_imminent() {
                deferred.insert(id);
                continue;
            }
            let done_marker = gt.supports_markers().then_some(marker);
            match gt.resfix_done(done_marker) {
                Ok(()) => {
                    recovered.insert(id);
                }
                Err(error) if error.is_vf_migrated() => {
                    requeue.insert(id);
                }
                Err(error) => return fail(id, Step::ResfixDone, error),
            }
        }
        drop(guard);

        for id in recovered.iter() {
            self.hooks.kickstart(id);
        }
        if !deferred.is_empty() {
            return PassOutcome::Deferred {
                recovered,
                deferred,
                requeued: requeue,
            };
        }
        if !requeue.is_empty() {
            return PassOutcome::Requeued {
                recovered,
                requeued: requeue,
            };
        }
        PassOutcome::Recovered(recovered)
    }

    /// Whether GT `gt`'s GGTT is valid: every migration signalled on it has had its fixups
    /// applied. `false` for an unknown GT.
    pub fn ggtt_valid(&self, gt: GtId) -> bool {
        let i = usize::from(gt.0);
        match (self.migration_seq.get(i), self.fixed_seq.get(i)) {
            (Some(seq), Some(fixed)) => {
                fixed.load(Ordering::Acquire) == seq.load(Ordering::Acquire)
            }
            _ => false,
        }
    }

    /// Waits until [`ggtt_valid`](Vf::ggtt_valid) or `timeout_ns` of `clock` time has passed;
    /// returns the final state. The kernel's wait for a valid GGTT, bounded.
    pub fn wait_ggtt_valid<C: Clock>(&self, gt: GtId, clock: &C, timeout_ns: u64) -> bool {
        let start = clock.now();
        loop {
            if self.ggtt_valid(gt) {
                return true;
            }
            if clock.now().nanos_since(start) >= timeout_ns {
                return self.ggtt_valid(gt);
            }
            clock.relax();
        }
    }

    /// How many per-GT fixups have completed so far (monotonic).
    pub fn fixups_completed(&self) -> usize {
        self.counters.fixups_completed.load(Ordering::Acquire)
    }

    /// The GGTT shift of GT `gt`'s last completed fixups (0 before any).
    pub fn last_ggtt_shift(&self, gt: GtId) -> Option<i64> {
        self.shifts.lock().get(usize::from(gt.0)).copied()
    }

    /// A snapshot of the counters.
    pub fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            migrations_signalled: self.migration_seq.iter().fold(0usize, |sum, seq| {
                sum.wrapping_add(seq.load(Ordering::Relaxed))
            }),
            recoveries: c.recoveries.load(Ordering::Relaxed),
            completed: c.completed.load(Ordering::Relaxed),
            deferred: c.deferred.load(Ordering::Relaxed),
            requeued: c.requeued.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            unsupported: c.unsupported.load(Ordering::Relaxed),
            fixups_completed: c.fixups_completed.load(Ordering::Relaxed),
        }
    }

    /// The coordinator.
    pub const fn coordinator(&self) -> &Coordinator {
        &self.coordinator
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
    pub fn teardown(&self, relax: impl FnMut() -> bool) -> bool {
        self.coordinator.teardown();
        self.coordinator.teardown_wait(relax)
    }
}

fn fail(gt: GtId, step: Step, error: VfError) -> PassOutcome {
    PassOutcome::Failed(RecoveryError::Gt { gt, step, error })
}
